"""Who signs a worksheet PDF, and with what (issue 25).

A released record's worksheet is signed with the releasing person's own key — unsealed now with
their password — and the X.509 certificate the lab key issued for it, the lab's certificate
beside it, so ``doseprep verify`` names that person and no one holding the workstation's files can
make one. Any other worksheet is signed by the installation and is a draft
(:mod:`doseprep.signatures.worksheets`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from doseprep.signoff import State
from doseprep.store.engine import Store
from doseprep.store.errors import SignatureRefusedError, WorkflowError
from doseprep.store.keys import current_key, unseal

if TYPE_CHECKING:
    from doseprep.signatures.pades import SigningMaterial
    from doseprep.store.records import StoredRecord


def releaser_of(record: StoredRecord) -> tuple[str, str] | None:
    """Who signed "Released by" on ``record`` (user id, printed name), or None."""
    return next(((s.user_id, s.printed_name) for s in record.signatures
                 if s.state is State.RELEASED), None)


def worksheet_signer(store: Store, record: StoredRecord,
                     password: str | None) -> SigningMaterial | None:
    """The key and certificates that sign ``record``'s worksheet: for a released record the
    releaser's own, unsealed with ``password`` — theirs, typed by them whoever prints (checked
    and counted like any sign-in; refused without it); None (the installation's) for any
    other."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from doseprep.signatures.pades import SigningMaterial
    from doseprep.store.labca import key_certificate_pem, load_certificate, trusted_lab_certificate

    releaser = releaser_of(record)
    if releaser is None:
        return None
    user_id = releaser[0]
    if not password:
        raise WorkflowError(f"{record.ref} is released: its worksheet is signed by the person "
                            f"who released it, {releaser[1]} ({user_id}), with their own key; "
                            "they type their password to print it.")
    from doseprep.store.users import authenticate

    authenticate(store, user_id, password, purpose="signing the released worksheet")
    with store.read() as conn:
        found = current_key(conn, user_id)
        lab_certificate, problem = trusted_lab_certificate(conn)
        pem = (key_certificate_pem(conn, found[0], lab_certificate)
               if found is not None and lab_certificate is not None else None)
    if found is None or lab_certificate is None or pem is None:
        raise SignatureRefusedError(
            f"{user_id}'s key has no certificate from the lab key to sign the released "
            f"worksheet with{' (' + problem + ')' if problem else ''}; an administrator "
            f"certifies it: doseprep users certify {user_id} --admin ID.")
    private = unseal(found[1], password, user_id)
    return SigningMaterial(private, load_certificate(pem).public_bytes(Encoding.DER),
                           (lab_certificate.public_bytes(Encoding.DER),))
