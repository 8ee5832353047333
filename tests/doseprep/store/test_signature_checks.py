"""Every Ed25519 signature is checked on every ``audit verify`` (issue 25), in worker processes
when there are many: the first one that does not verify, in the order of the record pass, is the
one reported, however the batches finish."""

from __future__ import annotations

import pytest

import doseprep.store.signature_checks as checks_module
from doseprep.store import prepare_record, save_draft, verify_store
from doseprep.store.canonical import content_hash
from doseprep.store.keys import sign_hash
from doseprep.store.signature_checks import SignatureChecks, check_batch
from doseprep.workflow import compute_plan
from tests.doseprep.store.helpers import People, with_din
from tests.doseprep.store.test_red_team import _drop_all_guards


def _signed(count: int):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw).hex()
    return [(public, content_hash(n), sign_hash(private, content_hash(n))) for n in range(count)]


def test_a_batch_names_the_signatures_that_do_not_verify() -> None:
    items = _signed(6)
    items[2] = (items[2][0], items[2][1], items[3][2])  # another signature's value
    items[4] = (items[4][0], items[4][1], "not hex")
    items[5] = (items[5][0], items[5][1], items[5][2].upper())  # the same bytes, other text
    assert check_batch(items) == [2, 4, 5]


@pytest.mark.parametrize("parallel", [False, True])
def test_the_first_failure_in_order_is_reported(monkeypatch, parallel: bool) -> None:
    monkeypatch.setattr(checks_module, "BATCH", 3)
    monkeypatch.setattr(checks_module, "PARALLEL_FROM", 1 if parallel else 10**9)
    items = _signed(10)
    checks = SignatureChecks(len(items))
    for number, (public, signature_hash, signature) in enumerate(items):
        if number in (4, 8):
            signature = items[0][2]
        checks.add(f"row {number}", "bad", public, signature_hash, signature)
    assert checks.first_failure() == ("row 4", "bad")


def test_audit_verify_checks_in_worker_processes(store, people, base_request,
                                                 monkeypatch) -> None:
    pw = People.password
    for n in range(3):  # three products: one collection has one ledger
        record = save_draft(store, compute_plan(with_din(base_request, n)), people.tech)
        prepare_record(store, record.record_id, people.tech, pw(people.tech))
    monkeypatch.setattr(checks_module, "BATCH", 1)
    monkeypatch.setattr(checks_module, "PARALLEL_FROM", 1)
    assert verify_store(store).ok
    with store.write() as conn:
        _drop_all_guards(conn)
        conn.exec_driver_sql("UPDATE signatures SET digital_signature = (SELECT "
                             "digital_signature FROM signatures WHERE id = 1) WHERE id = 2")
    report = verify_store(store)
    assert not report.ok and report.problem.table == "signatures"
    assert report.problem.row.startswith("2 ") and "does not verify" in report.problem.message
