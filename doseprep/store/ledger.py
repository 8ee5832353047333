"""One ledger per collection (DESIGN.md, Revision 3): what came in under a DIN and what left it.

A fresh record and then a freeze record for the same DIN each assumed the whole 200 mL (issue 22).
The ledger of a DIN is read from the records themselves, so it can never disagree with them:

- **received**: the product volume of the first record saved for the DIN (its newest version);
- **draws**: every fresh or freeze record of the DIN, its newest version only — a correction
  *replaces* its predecessor's draw, never adds to it — with the product it uses (the volume
  drawn, or the dilution aliquot; a freeze record's aliquots together), the viable CD3+ in it,
  when and by whom it was saved and prepared;
- **QC samples** taken from the bag (``product_samples``, audited);
- **remaining** = received − draws − samples.

**When a draw enters the ledger: when the record is saved.** A draft reserves its product at once,
so two drafts typed at two workstations cannot both claim the same millilitres (the store's writer
lock serialises the check and the save). A record whose plan can never be prepared — blocked by
a finding the protocol does not allow to be released by exception (too little product, a slip not
confirmed …) — draws nothing, since nothing can be drawn under it. Thaw records draw from a bag,
not from the collection, and are in the inventory instead.

A record is refused, naming ``product.volume``, when the volume it says the bag holds is more than
the ledger has left for it (received, less the draws of the records saved before it and the QC
samples taken before it), or when its draw would take the ledger below zero; the message says what
is left and which records used it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from doseprep.errors import InputError
from doseprep.jsonread import load_stored
from doseprep.release import preparable
from doseprep.signoff import EDITORS, State
from doseprep.store import audit
from doseprep.store.canonical import content_hash, utc_now, utc_text
from doseprep.store.engine import Store
from doseprep.store.errors import WorkflowError
from doseprep.store.refs import version_ref
from doseprep.store.schema import product_samples, records, signatures
from doseprep.store.users import require_active_user

#: Millilitres are compared to the micro-litre: the plans' volumes are exact to far below that.
_QUANTUM = Decimal("0.000001")
#: The kinds of record that draw from the collection.
DRAWING_KINDS = ("fresh", "freeze")
#: The columns a QC sample's hash covers.
SAMPLE_FIELDS = ("din", "volume_ml", "purpose", "taken_at", "created_by")


def _ml(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(_QUANTUM)


def _text(value: Decimal) -> str:
    return f"{value.normalize():f}" if value else "0"


@dataclass(frozen=True)
class Draw:
    """One record's use of the collection (its newest version)."""

    ref: str
    kind: str
    state: str
    product_volume_ml: Decimal  # what the record says the bag held
    used_ml: Decimal  # what it takes from the bag (0 when it can never be prepared)
    cells: Decimal  # viable CD3+ in what it takes
    saved_at: str
    saved_by: str
    prepared_at: str | None
    prepared_by: str | None
    counted: bool  # False: its plan can never be prepared, it draws nothing


@dataclass(frozen=True)
class Sample:
    """One QC sample taken from the bag."""

    volume_ml: Decimal
    purpose: str
    taken_at: str
    taken_by: str


@dataclass(frozen=True)
class Ledger:
    """The ledger of one DIN; ``received_ml`` is None when no record names it yet."""

    din: str
    received_ml: Decimal | None
    received_ref: str | None
    draws: tuple[Draw, ...]
    samples: tuple[Sample, ...]

    @property
    def drawn_ml(self) -> Decimal:
        return sum((d.used_ml for d in self.draws), Decimal(0))

    @property
    def sampled_ml(self) -> Decimal:
        return sum((s.volume_ml for s in self.samples), Decimal(0))

    @property
    def remaining_ml(self) -> Decimal | None:
        if self.received_ml is None:
            return None
        return self.received_ml - self.drawn_ml - self.sampled_ml

    def to_dict(self) -> dict[str, Any]:
        """The ledger as ``doseprep product show --json`` prints it (mL as numbers)."""
        return {
            "din": self.din,
            "received_mL": None if self.received_ml is None else float(self.received_ml),
            "received_with": self.received_ref,
            "draws": [{"record": d.ref, "kind": d.kind, "state": d.state,
                       "product_volume_mL": float(d.product_volume_ml),
                       "used_mL": float(d.used_ml), "viable_cd3": float(d.cells),
                       "saved_at": d.saved_at, "saved_by": d.saved_by,
                       "prepared_at": d.prepared_at, "prepared_by": d.prepared_by,
                       "counted": d.counted} for d in self.draws],
            "qc_samples": [{"volume_mL": float(s.volume_ml), "purpose": s.purpose,
                            "taken_at": s.taken_at, "taken_by": s.taken_by}
                           for s in self.samples],
            "drawn_mL": float(self.drawn_ml), "sampled_mL": float(self.sampled_ml),
            "remaining_mL": None if self.remaining_ml is None else float(self.remaining_ml),
        }


# --- reading ---------------------------------------------------------------------------------

def _use_of(plan: Mapping[str, Any], kind: str) -> tuple[Decimal, Decimal, Decimal]:
    """(product volume, product used, viable CD3+ used) of a stored plan."""
    volume = _ml(plan.get("product_volume_mL", 0))
    if kind == "freeze":
        used = _ml(plan.get("product_used_mL", 0))
    elif plan.get("remaining_product_mL") is not None:
        used = volume - _ml(plan["remaining_product_mL"])
    else:  # blocked by too little product: nothing is drawn
        used = Decimal(0)
    cells = Decimal(str(plan.get("viable_cd3_per_mL", 0))) * used
    return volume, used, cells


def _rows(conn: Connection, din: str) -> list[Mapping[str, Any]]:
    """The newest version of every drawing record of ``din``, in the order the records were
    first saved."""
    first = sa.select(records.c.record_id, sa.func.min(records.c.id).label("first_id"),
                      sa.func.max(records.c.version).label("newest")) \
        .where(records.c.din == din, records.c.kind.in_(DRAWING_KINDS)) \
        .group_by(records.c.record_id).subquery()
    query = (sa.select(records, first.c.first_id)
             .join(first, sa.and_(first.c.record_id == records.c.record_id,
                                  first.c.newest == records.c.version))
             .order_by(first.c.first_id))
    return list(conn.execute(query).mappings())


def _prepared(conn: Connection, pks: Sequence[int]) -> dict[int, tuple[str, str]]:
    if not pks:
        return {}
    rows = conn.execute(sa.select(signatures.c.record_pk, signatures.c.signed_at_utc,
                                  signatures.c.user_id)
                        .where(signatures.c.record_pk.in_(pks),
                               signatures.c.state == State.PREPARED.value))
    return {row.record_pk: (row.signed_at_utc, row.user_id) for row in rows}


def _draw(row: Mapping[str, Any], prepared: tuple[str, str] | None) -> Draw:
    plan = load_stored(row["plan_json"])
    volume, used, cells = _use_of(plan, row["kind"])
    counted = preparable(plan, row["kind"])
    return Draw(ref=version_ref(row["record_id"], row["version"]), kind=row["kind"],
                state=row["state"], product_volume_ml=volume,
                used_ml=used if counted else Decimal(0), cells=cells if counted else Decimal(0),
                saved_at=row["created_at"], saved_by=row["created_by"],
                prepared_at=prepared[0] if prepared else None,
                prepared_by=prepared[1] if prepared else None, counted=counted)


def _samples(conn: Connection, din: str) -> tuple[Sample, ...]:
    rows = conn.execute(sa.select(product_samples).where(product_samples.c.din == din)
                        .order_by(product_samples.c.id))
    return tuple(Sample(_ml(r.volume_ml), r.purpose, r.taken_at, r.created_by) for r in rows)


def ledger_of(conn: Connection, din: str) -> Ledger:
    """The ledger of ``din`` as the database holds it now (in the caller's transaction)."""
    din = din.strip().upper()
    rows = _rows(conn, din)
    prepared = _prepared(conn, [row["id"] for row in rows])
    draws = tuple(_draw(row, prepared.get(row["id"])) for row in rows)
    received = draws[0] if draws else None
    return Ledger(din=din, received_ml=received.product_volume_ml if received else None,
                  received_ref=received.ref if received else None, draws=draws,
                  samples=_samples(conn, din))


def product_ledger(store: Store, din: str) -> Ledger:
    """The ledger of ``din`` (``doseprep product show``)."""
    with store.read() as conn:
        return ledger_of(conn, din)


def ledger_line(ledger: Ledger, ref: str) -> str | None:
    """The ledger as one line for the worksheet of record version ``ref`` (what came in, what
    the records before it took, what it takes, what is left after it); None when ``ref`` is not
    a draw of this ledger."""
    if ledger.received_ml is None:
        return None
    before: list[Draw] = []
    this = None
    for draw in ledger.draws:
        if draw.ref.split("/")[0] == ref.split("/")[0]:
            this = draw
            break
        before.append(draw)
    if this is None:
        return None
    left = ledger.received_ml - sum((d.used_ml for d in before), Decimal(0))
    earlier = "; ".join(f"{d.ref} {_text(d.used_ml)} mL" for d in before if d.counted)
    samples = (f"; QC samples {_text(ledger.sampled_ml)} mL" if ledger.samples else "")
    return (f"DIN {ledger.din}: received {_text(ledger.received_ml)} mL "
            f"({ledger.received_ref}); drawn before this record: {earlier or 'none'}"
            f"{samples}; this record {_text(this.used_ml)} mL of {_text(left)} mL; "
            f"remaining in the ledger now {_text(ledger.remaining_ml or Decimal(0))} mL.")


# --- the check at saving ----------------------------------------------------------------------

def check_claim(conn: Connection, columns: Mapping[str, Any], record_id: str | None) -> None:
    """Refuse a fresh or freeze record (``columns`` about to be saved as ``record_id``, or a new
    record when None) whose product volume is more than the ledger of its DIN has left for it,
    or whose draw would take the ledger below zero: :class:`InputError` naming
    ``product.volume``, with what is left and which records used it."""
    if columns["kind"] not in DRAWING_KINDS:
        return
    others_exist = sa.select(records.c.id).where(
        records.c.din == columns["din"], records.c.kind.in_(DRAWING_KINDS))
    if record_id is not None:
        others_exist = others_exist.where(records.c.record_id != record_id)
    if conn.execute(others_exist.limit(1)).first() is None:
        return  # the first record of this DIN: it says what was received
    plan = load_stored(columns["plan_json"])
    volume, used, _ = _use_of(plan, columns["kind"])
    if not preparable(plan, columns["kind"]):
        used = Decimal(0)
    current = ledger_of(conn, columns["din"])
    others = [d for d in current.draws if d.ref.split("/")[0] != record_id]
    position = next((n for n, d in enumerate(current.draws)
                     if d.ref.split("/")[0] == record_id), len(current.draws))
    if not others:
        return  # the first record of this DIN: it says what was received
    first_is_this = position == 0
    received = volume if first_is_this else current.received_ml
    assert received is not None
    before = [d for d in current.draws[:position] if d.ref.split("/")[0] != record_id]
    sampled = current.sampled_ml
    left_for_it = received - sum((d.used_ml for d in before), Decimal(0)) - sampled
    total = sum((d.used_ml for d in others), Decimal(0)) + used + sampled
    used_by = "; ".join(f"{d.ref} ({d.kind}, {d.state}) {_text(d.used_ml)} mL"
                        for d in others if d.counted and d.used_ml) or "no draws yet"
    samples = f"; QC samples {_text(sampled)} mL" if sampled else ""
    if not first_is_this and volume > left_for_it:
        raise InputError("product.volume", (
            f"The product volume {_text(volume)} mL is more than the ledger of DIN "
            f"{current.din} has left: {_text(max(left_for_it, Decimal(0)))} mL of the "
            f"{_text(received)} mL received ({current.received_ref}); used by {used_by}"
            f"{samples}. Enter the volume left in the bag (at most "
            f"{_text(max(left_for_it, Decimal(0)))} mL), or correct the earlier record."))
    if total > received:
        raise InputError("product.volume", (
            f"With this record the draws from DIN {current.din} would total {_text(total)} "
            f"mL, more than the {_text(received)} mL received ({current.received_ref}); used "
            f"by {used_by}{samples}. Check the volume and the records that used it."))


# --- QC samples ------------------------------------------------------------------------------

def sample_hash(row: Mapping[str, Any]) -> str:
    values = row._mapping if hasattr(row, "_mapping") else row
    return content_hash({name: values[name] for name in SAMPLE_FIELDS})


def take_sample(store: Store, din: str, volume_ml: Decimal, purpose: str, user_id: str,
                now: datetime | None = None) -> Ledger:
    """Record a QC sample taken from the bag of ``din`` (audited ``product_sample``); refused
    for a DIN no record names, a volume that is not positive, or more than is left."""
    purpose = (purpose or "").strip()
    if not purpose or len(purpose) > 200 or "\n" in purpose:
        raise InputError("purpose", "Say on one line what the sample is for (e.g. \"sterility "
                                    "culture\", \"flow cytometry\").")
    if not volume_ml > 0 or volume_ml > 2000:
        raise InputError("volume", "The sample volume must be more than 0 and at most 2000 mL.")
    volume_ml = _ml(volume_ml)
    with store.write() as conn:
        require_active_user(conn, user_id, EDITORS, "record a QC sample")
        current = ledger_of(conn, din)
        if current.received_ml is None:
            raise WorkflowError(f"no record names DIN {current.din}: its ledger opens with the "
                                "first record saved for it.")
        remaining = current.remaining_ml
        assert remaining is not None
        if volume_ml > remaining:
            raise InputError("volume", f"The ledger of DIN {current.din} has {_text(remaining)} "
                                       f"mL left; a sample of {_text(volume_ml)} mL cannot be "
                                       "taken from it.")
        row = {"din": current.din, "volume_ml": _text(volume_ml), "purpose": purpose,
               "taken_at": utc_text(now or utc_now()), "created_by": user_id}
        row["sample_hash"] = sample_hash(row)
        conn.execute(product_samples.insert().values(**row))
        audit.append(conn, "product_sample", user_id, record_ref=current.din,
                     new={"sample_hash": row["sample_hash"], "volume_ml": row["volume_ml"],
                          "purpose": purpose})
        return ledger_of(conn, current.din)


def sample_problems(conn: Connection) -> list[str]:
    """QC sample rows that do not match their hash or their audit event."""
    from doseprep.store.schema import audit_log

    audited = set()
    for value in conn.execute(sa.select(audit_log.c.new_value)
                              .where(audit_log.c.action == "product_sample")).scalars():
        try:
            audited.add(load_stored(value or "{}").get("sample_hash"))
        except (ValueError, AttributeError):
            continue
    problems = []
    for row in conn.execute(sa.select(product_samples).order_by(product_samples.c.id)):
        if sample_hash(row) != row.sample_hash:
            problems.append(f"QC sample {row.id} (DIN {row.din}) does not match its hash: it "
                            "was altered")
        elif row.sample_hash not in audited:
            problems.append(f"QC sample {row.id} (DIN {row.din}) has no product_sample event in "
                            "the audit trail: it was not recorded by doseprep")
    return problems
