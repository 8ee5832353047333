"""The freezer inventory: the bags of a released freeze record, from freezing to infusion.

When a freeze record is released its aliquots enter the inventory as FROZEN, one row each, named
``PREP-2026-000001/v1:B0`` (the freeze record version and the bag's ISBT 128 division). A bag
then moves only forward:

    FROZEN --a thaw record is signed "Prepared by"--> THAWED --infused--> INFUSED
    FROZEN or THAWED --discarded, with a reason--> DISCARDED

A thaw record names its bag (``aliquot_ref``) and takes the bag's data from the freeze record,
never as typed; it is refused for a bag that is not frozen, that belongs to another patient or
donor, or that expired frozen before the thaw. Each change is audited with a hash of the whole row
(``aliquot_hash``), which ``audit verify`` compares with the table, so a bag set back to FROZEN
in the database is found. The database refuses deleting a bag or changing its identity.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from doseprep.jsonread import load_stored
from doseprep.signoff import EDITORS, State
from doseprep.store import audit
from doseprep.store.canonical import content_hash, utc_now, utc_text
from doseprep.store.engine import Store
from doseprep.store.errors import (
    RecordNotFoundError,
    StaleRecordError,
    WorkflowError,
    checked_reason,
)
from doseprep.store.expiry import check_not_expired
from doseprep.store.refs import find_row, parse_ref, version_ref
from doseprep.store.schema import aliquots, records
from doseprep.store.users import require_active_user

_REF = re.compile(r"^\s*(PREP-\d{4}-\d{6,}(?:\s*/\s*[vV]\d+)?)\s*:\s*([A-Za-z][0-9A-Za-z])\s*$",
                  re.IGNORECASE)


class AliquotState(StrEnum):
    """Where a frozen bag is in its life."""

    FROZEN = "frozen"
    THAWED = "thawed"
    INFUSED = "infused"
    DISCARDED = "discarded"


#: The columns an audited change's ``aliquot_hash`` covers: all but the surrogate key.
ALIQUOT_FIELDS = (
    "aliquot_ref", "division", "din", "product_code", "patient_mrn", "patient_name", "cycle",
    "infusion", "dose_level", "frozen_at", "frozen_expires_at", "state", "location",
    "thaw_record", "reason", "created_at", "created_by", "updated_at", "updated_by",
    "row_version",
)
#: Audit actions whose new value carries the bag's ``aliquot_hash`` after the change.
ALIQUOT_ACTIONS = frozenset({"aliquot_store", "aliquot_locate", "aliquot_thaw",
                             "aliquot_infuse", "aliquot_discard"})


@dataclass(frozen=True)
class StoredAliquot:
    """One bag of the inventory."""

    ref: str
    freeze_record: str
    division: str
    din: str
    product_code: str
    patient_mrn: str
    patient_name: str
    cycle: int
    infusion: int
    dose_level: str
    frozen_at: str
    frozen_expires_at: str
    state: AliquotState
    location: str | None
    thaw_record: str | None
    reason: str | None
    updated_at: str
    updated_by: str
    row_version: int


def aliquot_hash(row: Mapping[str, Any]) -> str:
    """The hash of an inventory row's audited columns."""
    values = row._mapping if hasattr(row, "_mapping") else row
    return content_hash({name: values[name] for name in ALIQUOT_FIELDS})


def aliquot_ref(record_ref: str, division: str) -> str:
    return f"{record_ref}:{division}"


def parse_aliquot_ref(text: str) -> tuple[str, str]:
    """``PREP-2026-000001/v1:B0`` (or without ``/v1``) → (record reference, division)."""
    match = _REF.match(text or "")
    if not match:
        raise RecordNotFoundError(f"\"{text}\" is not a bag of the inventory; bags are named "
                                  "by their freeze record and division, like "
                                  "PREP-2026-000001/v1:B0 (doseprep inventory lists them).")
    record_id, version = parse_ref(match.group(1))
    return (record_id if version is None else version_ref(record_id, version),
            match.group(2).upper())


def _stored(row: Mapping[str, Any]) -> StoredAliquot:
    return StoredAliquot(
        ref=row["aliquot_ref"], freeze_record=row["aliquot_ref"].rsplit(":", 1)[0],
        division=row["division"], din=row["din"], product_code=row["product_code"],
        patient_mrn=row["patient_mrn"], patient_name=row["patient_name"], cycle=row["cycle"],
        infusion=row["infusion"], dose_level=row["dose_level"], frozen_at=row["frozen_at"],
        frozen_expires_at=row["frozen_expires_at"], state=AliquotState(row["state"]),
        location=row["location"], thaw_record=row["thaw_record"], reason=row["reason"],
        updated_at=row["updated_at"], updated_by=row["updated_by"],
        row_version=row["row_version"])


def find_aliquot(conn: Connection, ref: str) -> Mapping[str, Any]:
    record_ref, division = parse_aliquot_ref(ref)
    record_id, version = parse_ref(record_ref)
    query = sa.select(aliquots).where(aliquots.c.division == division)
    if version is None:
        query = query.where(aliquots.c.aliquot_ref.like(f"{record_id}/v%:{division}"))
    else:
        query = query.where(aliquots.c.aliquot_ref == aliquot_ref(version_ref(record_id, version),
                                                                    division))
    row = conn.execute(query).mappings().first()
    if row is None:
        raise RecordNotFoundError(f"there is no bag {ref.strip()} in the inventory: a freeze "
                                  "record's bags enter it when the record is released "
                                  "(doseprep inventory lists them).")
    return row


def get_aliquot(store: Store, ref: str) -> StoredAliquot:
    """One bag by its reference."""
    with store.read() as conn:
        return _stored(find_aliquot(conn, ref))


def aliquot_by_scan(store: Store, din_scan: str, product_scan: str) -> StoredAliquot:
    """The bag whose label was scanned: its DIN barcode (or the DIN typed) and its product code
    barcode, which carries the division (``=<S12352B0``)."""
    from doseprep.isbt128 import din_from_scan_or_entry, parse_structure
    from doseprep.isbt128.scan import ProductCodeScan

    din = din_from_scan_or_entry(din_scan, "scan.din", keyboard=True)[0].code
    product = parse_structure(product_scan, "scan.product_code")
    if not isinstance(product, ProductCodeScan):
        raise WorkflowError("the second scan is not a product code barcode (=<…); scan the "
                            "product code of the bag label.")
    code = product.description_code + product.donation_type + product.division
    with store.read() as conn:
        row = conn.execute(sa.select(aliquots).where(
            aliquots.c.din == din, aliquots.c.division == product.division)).mappings().first()
    if row is None:
        raise RecordNotFoundError(f"no bag of DIN {din} with division {product.division} is in "
                                  "the inventory; check the bag and scan again.")
    if row["product_code"] != code:
        raise WorkflowError(f"the scanned product code {code} is not the code of "
                            f"{row['aliquot_ref']} ({row['product_code']}): this is not that "
                            "bag's label. Check the bag.")
    return _stored(row)


def list_aliquots(store: Store, *, mrn: str | None = None, state: str | None = None,
                  din: str | None = None) -> tuple[StoredAliquot, ...]:
    """The inventory by patient and state (oldest freeze first)."""
    query = sa.select(aliquots)
    if mrn:
        query = query.where(aliquots.c.patient_mrn == mrn.strip())
    if din:
        query = query.where(aliquots.c.din == din.strip().upper())
    if state:
        try:
            query = query.where(aliquots.c.state == AliquotState(state.strip().lower()).value)
        except ValueError:
            raise WorkflowError(f"\"{state}\" is not a bag state (frozen, thawed, infused, "
                                "discarded).") from None
    query = query.order_by(aliquots.c.patient_mrn, aliquots.c.id)
    with store.read() as conn:
        return tuple(_stored(row) for row in conn.execute(query).mappings())


# --- changes ---------------------------------------------------------------------------------

def _audit(conn: Connection, action: str, user_id: str, ref: str, old: Mapping[str, Any] | None,
           reason: str | None, now: datetime) -> None:
    row = conn.execute(sa.select(aliquots).where(aliquots.c.aliquot_ref == ref)).mappings().one()
    new = {"aliquot_hash": aliquot_hash(row), "state": row["state"],
           "location": row["location"], "thaw_record": row["thaw_record"]}
    before = None if old is None else {"state": old["state"], "location": old["location"],
                                       "thaw_record": old["thaw_record"]}
    audit.append(conn, action, user_id, record_ref=ref, old=before, new=new, reason=reason,
                 at=now)


def _update(conn: Connection, row: Mapping[str, Any], user_id: str, now: datetime,
            **values: Any) -> None:
    result = conn.execute(aliquots.update().where(
        aliquots.c.id == row["id"], aliquots.c.row_version == row["row_version"]).values(
            **values, updated_at=utc_text(now), updated_by=user_id,
            row_version=row["row_version"] + 1))
    if result.rowcount != 1:  # pragma: no cover - writers are serialized
        raise StaleRecordError("the bag changed while it was being saved; look again.")


def _change(conn: Connection, row: Mapping[str, Any], user_id: str, action: str,
            why: str | None = None, **values: Any) -> StoredAliquot:
    """Change a bag's row (``values``), audit it as ``action`` (with ``why``) and return the
    bag as it is now."""
    now = utc_now()
    _update(conn, row, user_id, now, **values)
    _audit(conn, action, user_id, row["aliquot_ref"], row, why, now)
    return _stored(find_aliquot(conn, row["aliquot_ref"]))


def stock(conn: Connection, row: Mapping[str, Any], user_id: str, now: datetime) -> None:
    """Put a freeze record's bags into the inventory (on its release), in the writer's
    transaction."""
    plan = load_stored(row["plan_json"])
    request = load_stored(row["request_json"])
    ref = version_ref(row["record_id"], row["version"])
    stamp = utc_text(now)
    for bag in plan["aliquots"]:
        values = {
            "freeze_record_pk": row["id"], "aliquot_ref": aliquot_ref(ref, bag["division"]),
            "division": bag["division"], "din": row["din"], "product_code": bag["product_code"],
            "patient_mrn": row["patient_mrn"], "patient_name": row["patient_name"],
            "cycle": bag["cycle"], "infusion": bag["infusion"], "dose_level": bag["dose_level"],
            "frozen_at": request["frozen_at"], "frozen_expires_at": plan["frozen_expires_at"],
            "state": AliquotState.FROZEN.value, "location": None, "thaw_record": None,
            "reason": None, "created_at": stamp, "created_by": user_id, "updated_at": stamp,
            "updated_by": user_id, "row_version": 1,
        }
        conn.execute(aliquots.insert().values(**values))
        _audit(conn, "aliquot_store", user_id, values["aliquot_ref"], None,
               f"released with {ref}", now)


def in_stock(conn: Connection, record_pk: int) -> int:
    """How many bags of the freeze record version ``record_pk`` are in the inventory."""
    return conn.execute(sa.select(sa.func.count()).select_from(aliquots)
                        .where(aliquots.c.freeze_record_pk == record_pk)).scalar_one()


def locate(store: Store, ref: str, user_id: str, location: str) -> StoredAliquot:
    """Record where a frozen bag is kept (freezer, rack, box, position), audited."""
    location = (location or "").strip()
    if not location or len(location) > 200 or "\n" in location:
        raise WorkflowError("say where the bag is, on one line (e.g. \"LN2 tank 2, rack C, box "
                            "4, position 17\").")
    with store.write() as conn:
        require_active_user(conn, user_id, EDITORS, "record where a bag is")
        row = find_aliquot(conn, ref)
        if row["state"] != AliquotState.FROZEN.value:
            raise WorkflowError(f"{row['aliquot_ref']} is {row['state']}; only a frozen bag has "
                                "a freezer location.")
        return _change(conn, row, user_id, "aliquot_locate", location=location)


def discard(store: Store, ref: str, user_id: str, reason: str) -> StoredAliquot:
    """Discard a frozen or thawed bag; the reason is mandatory and audited."""
    reason = checked_reason(reason, "discarding a bag needs a reason (--reason): say why it is "
                                    "not used.")
    with store.write() as conn:
        require_active_user(conn, user_id, EDITORS, "discard a bag")
        row = find_aliquot(conn, ref)
        if row["state"] not in (AliquotState.FROZEN.value, AliquotState.THAWED.value):
            raise WorkflowError(f"{row['aliquot_ref']} is already {row['state']}.")
        return _change(conn, row, user_id, "aliquot_discard", reason,
                       state=AliquotState.DISCARDED.value, reason=reason)


def infuse(store: Store, ref: str, user_id: str, now: datetime | None = None) -> StoredAliquot:
    """Record that a thawed bag was infused: its thaw record must be released and its infuse-by
    time not passed (INFUSION_EXPIRED: discard it instead)."""
    with store.write() as conn:
        require_active_user(conn, user_id, EDITORS, "record an infusion")
        row = find_aliquot(conn, ref)
        if row["state"] != AliquotState.THAWED.value:
            raise WorkflowError(f"{row['aliquot_ref']} is {row['state']}; only a thawed bag, "
                                "with its thaw record released, is infused.")
        thaw = find_row(conn, row["thaw_record"].split("/")[0])
        thaw_ref = version_ref(thaw["record_id"], thaw["version"])
        if thaw["state"] != State.RELEASED.value:
            raise WorkflowError(f"the thaw record {thaw_ref} is {thaw['state']}; it must be "
                                "released before the bag is infused.")
        check_not_expired(load_stored(thaw["plan_json"]), thaw_ref, "be infused", now)
        return _change(conn, row, user_id, "aliquot_infuse", state=AliquotState.INFUSED.value)


def mark_thawed(conn: Connection, thaw_row: Mapping[str, Any], user_id: str,
                now: datetime) -> None:
    """The bag of a thaw record that was just signed "Prepared by" is thawed (in the signer's
    transaction); refused if it is no longer frozen."""
    request = load_stored(thaw_row["request_json"])
    row = find_aliquot(conn, request["aliquot_ref"])
    thaw_ref = version_ref(thaw_row["record_id"], thaw_row["version"])
    if row["state"] == AliquotState.THAWED.value and (row["thaw_record"] or "").split("/")[0] \
            == thaw_row["record_id"]:
        _update(conn, row, user_id, now, thaw_record=thaw_ref)  # a corrected thaw record
    elif row["state"] != AliquotState.FROZEN.value:
        raise WorkflowError(_not_frozen(row))
    else:
        _update(conn, row, user_id, now, state=AliquotState.THAWED.value, thaw_record=thaw_ref)
    _audit(conn, "aliquot_thaw", user_id, row["aliquot_ref"], row, None, now)


def _not_frozen(row: Mapping[str, Any]) -> str:
    what = {"thawed": f"was already thawed (thaw record {row['thaw_record']})",
            "infused": f"was already thawed and infused (thaw record {row['thaw_record']})",
            "discarded": f"was discarded ({row['reason']})"}.get(row["state"], row["state"])
    return f"{row['aliquot_ref']} {what}; it cannot be thawed. Choose another bag."


def thaw_source(conn: Connection, ref: str, *, mrn: str, thawed_at: datetime | None,
                thaw_record_id: str | None = None) -> dict[str, Any]:
    """The ``aliquot`` section of a thaw request for bag ``ref``, from its freeze record, after
    the refusals: a bag not frozen (unless thawed by the same thaw record, being corrected), of
    another patient, or expired frozen before ``thawed_at``."""
    row = find_aliquot(conn, ref)
    same = (thaw_record_id is not None and row["state"] == AliquotState.THAWED.value
            and (row["thaw_record"] or "").split("/")[0] == thaw_record_id)
    if row["state"] != AliquotState.FROZEN.value and not same:
        raise WorkflowError(_not_frozen(row))
    if row["patient_mrn"] != (mrn or "").strip():
        raise WorkflowError(f"{row['aliquot_ref']} was frozen for patient MRN "
                            f"{row['patient_mrn']}, not {mrn}: wrong patient or wrong bag. Do "
                            "not thaw it.")
    expires = datetime.fromisoformat(row["frozen_expires_at"])
    if thawed_at is not None and thawed_at > expires:
        raise WorkflowError(f"{row['aliquot_ref']} expired frozen at "
                            f"{expires:%Y-%m-%d %H:%M}, before the thaw at "
                            f"{thawed_at:%Y-%m-%d %H:%M}; it cannot be thawed for infusion. "
                            "Discard it (doseprep inventory discard).")
    freeze = conn.execute(sa.select(records.c.request_json, records.c.plan_json)
                          .where(records.c.id == row["freeze_record_pk"])).one()
    plan = load_stored(freeze.plan_json)
    request = load_stored(freeze.request_json)
    bag = next(b for b in plan["aliquots"] if b["division"] == row["division"])
    return {"din": row["din"], "division": row["division"],
            "frozen_viable_cd3": bag["frozen_viable_cd3"],
            "final_volume": f"{bag['final_volume_mL']:g} mL",
            "final_dmso_percent": _number(plan["final_dmso_percent"]),
            "dose_level": row["dose_level"], "planned_weight": request["patient"]["weight"],
            "frozen_expires_at": row["frozen_expires_at"]}


def check_thaw_request(conn: Connection, request: Mapping[str, Any],
                       thaw_record_id: str | None = None) -> None:
    """A thaw record's request must name a bag of the inventory and carry exactly that bag's
    data (never typed): refused otherwise, naming the field."""
    ref = request.get("aliquot_ref")
    if not ref:
        raise WorkflowError("a thaw record names its bag (aliquot_ref, e.g. "
                            "PREP-2026-000001/v1:B0, or scan its label): the bag's data comes "
                            "from its freeze record, never typed.")
    thawed_at = datetime.fromisoformat(request["thawed_at"])
    expected = thaw_source(conn, ref, mrn=request["patient"]["id"], thawed_at=thawed_at,
                           thaw_record_id=thaw_record_id)
    given = request.get("aliquot")
    if _normal(given) != _normal(expected):
        raise WorkflowError(f"the bag data in the request (aliquot) is not what the freeze "
                            f"record of {ref} says; leave it out and let doseprep fill it.")


def _normal(section: Any) -> Any:
    if not isinstance(section, Mapping):
        return section
    out = dict(section)
    for key in ("frozen_viable_cd3", "final_dmso_percent"):
        if isinstance(out.get(key), int | float):
            out[key] = float(out[key])
    return out


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
