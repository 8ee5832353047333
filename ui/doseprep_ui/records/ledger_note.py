"""What remains of a collection, beside the form's volume field (issue 22, item 6).

Once the DIN typed or scanned is known and someone is logged in, the volume field's note says what
the product ledger of that DIN has left (:mod:`doseprep.store.ledger`): "ledger: 198.2 mL left of
200 mL (PREP-2026-000001/v1)", and MORE THAN IS LEFT when the volume typed is. The ledger is read
once per DIN and kept for a short while, so typing costs no database round trip; saving a record
forgets it. The store refuses a record that claims more anyway; this only says so before the save.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from doseprep.store.ledger import Ledger
    from doseprep_ui.form.evaluation import Evaluation

log = logging.getLogger(__name__)

#: How long a ledger read is shown without reading it again (seconds).
KEEP_SECONDS = 30.0


class LedgerNotes:
    """The ledger notes of one window session (``session`` is the records' :class:`Session`)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self._read: dict[str, tuple[float, Ledger | None]] = {}

    def forget(self) -> None:
        """A record was saved or signed: read the ledgers again."""
        self._read.clear()

    def _ledger(self, din: str) -> Ledger | None:
        now = time.monotonic()
        kept = self._read.get(din)
        if kept is not None and now - kept[0] < KEEP_SECONDS:
            return kept[1]
        from doseprep.errors import DoseprepError
        from doseprep.store.ledger import product_ledger

        try:
            ledger = product_ledger(self.session.store, din)
        except DoseprepError as exc:  # the note is a help; the store checks at saving
            log.warning("product ledger not read: %s", exc)
            ledger = None
        self._read[din] = (now, ledger)
        return ledger

    def note(self, raw_din: str, record_id: str | None, volume_ml: Decimal | None = None) -> str:
        """The volume field's ledger note for the DIN typed (empty when there is none to say);
        ``record_id``: the open record, whose own draw is not counted against it;
        ``volume_ml``: the volume the form says, pointed out when it is more than is left."""
        if not self.session.is_open or not raw_din.strip():
            return ""
        from doseprep.errors import InputError
        from doseprep.isbt128 import din_from_scan_or_entry

        try:
            din = din_from_scan_or_entry(raw_din)[0].code
        except InputError:
            return ""
        ledger = self._ledger(din)
        if ledger is None or ledger.received_ml is None or ledger.remaining_ml is None:
            return ""
        own = sum((d.used_ml for d in ledger.draws if d.ref.split("/")[0] == record_id),
                  start=Decimal(0))
        left = ledger.remaining_ml + own
        note = f"ledger: {_ml(left)} left of {_ml(ledger.received_ml)} ({ledger.received_ref})"
        if volume_ml is not None and volume_ml > left:
            note += " — MORE THAN IS LEFT: saving is refused"
        return note

    def with_note(self, evaluation: Evaluation, record_id: str | None) -> Evaluation:
        """``evaluation`` with the ledger note beside the volume."""
        plan = evaluation.plan
        volume = None if plan is None else Decimal(str(plan.product_volume.to("mL").magnitude))
        note = self.note(evaluation.raw.get("product.din", ""), record_id, volume)
        if not note:
            return evaluation
        volume = evaluation.notes.get("product.volume", "")
        return replace(evaluation, notes={**evaluation.notes,
                                          "product.volume": f"{volume} · {note}" if volume
                                          else note})


def _ml(value: Any) -> str:
    return f"{value.normalize():f} mL"
