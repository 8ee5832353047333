"""The canonical content of a record version and of a signature: what their hashes cover.

A signature's ``record_hash`` is the SHA-256 of :func:`record_content` in the state it moves the
record to, after the earlier signatures; a draft's audited ``content_hash`` is the same in DRAFT.
:class:`RecordHasher` computes those hashes from the stored text for ``audit verify``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from doseprep import __version__
from doseprep.jsonread import load_stored
from doseprep.store.canonical import canonical_json, content_hash

if TYPE_CHECKING:
    from doseprep.plans.freeze import FreezePlan
    from doseprep.plans.fresh import PreparationPlan
    from doseprep.plans.thaw import ThawPlan

    AnyPlan = PreparationPlan | FreezePlan | ThawPlan


SIGNATURE_FIELDS = ("seq", "meaning", "state", "user_id", "printed_name", "role", "signed_at_utc",
                    "time_zone", "utc_offset", "record_hash")


def signature_content(values: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical content of a signature (what its ``signature_hash`` covers): an exceptional
    release's findings, reason and physician too (revision 0006; every other signature's content,
    and hash, is unchanged)."""
    out = {name: values[name] for name in SIGNATURE_FIELDS}
    out["state"] = str(out["state"])
    exception = values.get("exception_json")
    if exception is not None:
        out["exception"] = exception
    return out


def record_content(row: Mapping[str, Any], supersedes: str | None, state: str,
                   prior_signatures: Sequence[Mapping[str, Any]], *,
                   request: Any = None, plan: Any = None) -> dict[str, Any]:
    """The canonical content of a record version in ``state`` after ``prior_signatures``.

    This is what a signature's ``record_hash`` covers (with ``state`` the state the signature
    moves the record to) and, for a draft, what the audit trail's ``content_hash`` covers.
    """
    content = {
        "record_id": row["record_id"], "version": row["version"], "supersedes": supersedes,
        "correction_reason": row["correction_reason"], "state": state,
        "request": load_stored(row["request_json"]) if request is None else request,
        "plan": load_stored(row["plan_json"]) if plan is None else plan,
        "patient_mrn": row["patient_mrn"], "patient_name": row["patient_name"],
        "din": row["din"], "dose_level": row["dose_level"], "plan_status": row["plan_status"],
        "protocol_id": row["protocol_id"], "protocol_version": row["protocol_version"],
        "protocol_fingerprint": row["protocol_fingerprint"],
        "lab_fingerprint": row["lab_fingerprint"], "program_version": row["program_version"],
        "created_at": row["created_at"], "created_by": row["created_by"],
        "signatures": [signature_content(s) for s in prior_signatures],
    }
    kind = row.get("kind") or "fresh"
    if kind != "fresh":  # fresh records' content (and every hash signed before 0004) unchanged
        content["kind"] = kind
    # The exact settings files the plan was computed with (revision 0006); records saved before
    # keep the content, and the hashes, they were signed with.
    protocol_text, lab_text = row.get("protocol_text_sha256"), row.get("lab_text_sha256")
    if protocol_text is not None or lab_text is not None:
        content["settings"] = {"protocol_text_sha256": protocol_text,
                               "lab_text_sha256": lab_text}
    return content


# Placeholders for the request and plan in a record's content, replaced by their stored canonical
# text: hashing a record then costs no JSON parsing or writing of its (large) request and plan.
_REQUEST_SLOT = "\x00doseprep:request\x00"
_PLAN_SLOT = "\x00doseprep:plan\x00"
_REQUEST_TEXT = canonical_json(_REQUEST_SLOT)
_PLAN_TEXT = canonical_json(_PLAN_SLOT)


class RecordHasher:
    """Hashes of one stored record version's content in its successive states (what each of its
    signatures binds), as :func:`record_content` and ``content_hash`` give, for ``audit verify``.

    The stored ``request_json`` and ``plan_json`` text is placed into the content instead of
    being parsed and written again, and the part of the content that is the same in every state
    (everything up to the request, the bulk of it) is hashed once per record. Equal to
    ``content_hash(record_content(row, ...))`` when the stored text is canonical, as saved; for
    any other text it differs (the signer hashed canonical text), so an altered row still fails.
    """

    def __init__(self, row: Mapping[str, Any], supersedes: str | None) -> None:
        self.row = row
        self.supersedes = supersedes
        self._prefix: str | None = None
        self._base: Any = None

    def __call__(self, state: str, prior_signatures: Sequence[Mapping[str, Any]]) -> str:
        row = self.row
        text = canonical_json(record_content(row, self.supersedes, state, prior_signatures,
                                             request=_REQUEST_SLOT, plan=_PLAN_SLOT))
        plan_at, request_at = text.find(_PLAN_TEXT), text.find(_REQUEST_TEXT)
        if (text.count(_REQUEST_TEXT) != 1 or text.count(_PLAN_TEXT) != 1
                or not 0 <= plan_at < request_at or not isinstance(row["request_json"], str)
                or not isinstance(row["plan_json"], str)):
            return self._in_full(state, prior_signatures)
        cut = request_at + len(_REQUEST_TEXT)
        prefix, suffix = text[:cut], text[cut:]
        if prefix != self._prefix:
            self._prefix = prefix
            self._base = hashlib.sha256(
                (text[:plan_at] + row["plan_json"] + text[plan_at + len(_PLAN_TEXT):request_at]
                 + row["request_json"]).encode("utf-8"))
        digest = self._base.copy()
        digest.update(suffix.encode("utf-8"))
        return digest.hexdigest()

    def _in_full(self, state: str, prior_signatures: Sequence[Mapping[str, Any]]) -> str:
        try:
            request = load_stored(self.row["request_json"])
            plan = load_stored(self.row["plan_json"])
        except (TypeError, ValueError):
            return ""
        return content_hash(record_content(self.row, self.supersedes, state, prior_signatures,
                                           request=request, plan=plan))


def text_sha256(text: str) -> str:
    """The key of a settings file's exact text in ``settings_texts``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def settings_texts(plan: AnyPlan) -> list[dict[str, str]]:
    """The rows of ``settings_texts`` a plan's record points at: its protocol's and its lab
    file's exact text (none for settings made without a file's text)."""
    return [{"sha256": text_sha256(settings.text), "kind": kind,
             "fingerprint": settings.fingerprint, "text": settings.text}
            for kind, settings in (("protocol", plan.protocol), ("lab", plan.lab))
            if settings.text]


def content_columns(plan: AnyPlan) -> dict[str, Any]:
    """The stored columns of a plan of any kind: fresh, freeze or thaw."""
    from doseprep.plans.freeze import FreezePlan
    from doseprep.plans.thaw import ThawPlan

    if isinstance(plan, FreezePlan):
        return _freeze_columns(plan)
    if isinstance(plan, ThawPlan):
        return _thaw_columns(plan)
    return _fresh_columns(plan)


def _common_columns(plan: AnyPlan, request: dict[str, Any], plan_dict: dict[str, Any]
                    ) -> dict[str, Any]:
    return {
        "request_json": canonical_json(request),
        "plan_json": canonical_json(plan_dict),
        "patient_mrn": plan.request.patient.id,
        "patient_name": plan.request.patient.name,
        "plan_status": str(plan.status),
        "protocol_id": plan.protocol.id,
        "protocol_version": plan.protocol.version,
        "protocol_fingerprint": plan.protocol.fingerprint,
        "lab_fingerprint": plan.lab.fingerprint,
        "program_version": __version__,
        "kind": "fresh",
        "protocol_text_sha256": text_sha256(plan.protocol.text) if plan.protocol.text else None,
        "lab_text_sha256": text_sha256(plan.lab.text) if plan.lab.text else None,
    }


def _freeze_columns(plan: FreezePlan) -> dict[str, Any]:
    from doseprep.plans.freeze import freeze_request_to_dict, freeze_to_dict

    levels = "/".join(a.dose_level for a in plan.request.aliquots)
    if len(levels) > 16:
        levels = f"{len(plan.request.aliquots)} aliquots"
    return {**_common_columns(plan, freeze_request_to_dict(plan.request), freeze_to_dict(plan)),
            "din": plan.request.product.din, "dose_level": levels, "kind": "freeze"}


def _thaw_columns(plan: ThawPlan) -> dict[str, Any]:
    from doseprep.plans.thaw import thaw_request_to_dict, thaw_to_dict

    return {**_common_columns(plan, thaw_request_to_dict(plan.request), thaw_to_dict(plan)),
            "din": plan.request.aliquot.din, "dose_level": plan.request.aliquot.dose_level,
            "kind": "thaw"}


def _fresh_columns(plan: PreparationPlan) -> dict[str, Any]:
    from doseprep.plans.fresh_report import plan_to_dict
    from doseprep.request import request_to_dict

    return {**_common_columns(plan, request_to_dict(plan.request), plan_to_dict(plan)),
            "din": plan.request.product.din, "dose_level": plan.request.order.dose_level,
            "kind": "fresh"}
