"""What the ``doseprep record`` commands print and read besides the record itself: the summary a
signer reads before the password, an exceptional release's reason and physician, and the settings
files a record keeps (issue 22)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from doseprep.errors import InputError

if TYPE_CHECKING:
    from doseprep.store import StoredRecord


def exceptional_texts(args: argparse.Namespace) -> dict[str, str] | None:
    """The reason and physician of ``record release --exceptional`` (both required there, and
    nowhere else)."""
    if not getattr(args, "exceptional", False):
        for option in ("reason", "physician"):
            if getattr(args, option, None):
                raise InputError(option, f"--{option} belongs to an exceptional release; add "
                                          "--exceptional (the medical director's release of a "
                                          "blocked record), or leave it out.")
        return None
    for option, words in (("reason", "why the product is released although it does not meet "
                                     "its release criteria"),
                          ("physician", "the recipient's physician who was told")):
        if not (getattr(args, option, None) or "").strip():
            raise InputError(option, f"An exceptional release needs --{option}: {words}.")
    return {"reason": args.reason.strip(), "physician": args.physician.strip()}


def signing_summary(record: StoredRecord, meaning: str, record_hash: str,
                     exceptional: dict[str, str] | None = None) -> str:
    """What a signature binds, shown before the password is asked (issue 10): the signature
    covers exactly this content, and the store refuses it if the record changed meanwhile."""
    stored = record.plan
    codes = ", ".join(f"{f['code']} ({f['severity']})" for f in stored.get("findings", []))
    lines = [f"You are signing \"{meaning}\" for {record.ref} ({record.state.value.upper()}):",
             f"  Patient     {record.patient_name}  MRN {record.patient_mrn}",
             f"  Product     DIN {record.din}   dose level {record.dose_level}",
             f"  Instruction {stored.get('instruction', '')}",
             f"  Plan        {str(stored.get('status', '')).upper()}"
             + (f" — {codes}" if codes else ""),
             f"  Saved by    {record.created_by} at {record.created_at}"
             + (f"; last changed by {record.updated_by} at {record.updated_at}"
                if record.updated_by != record.created_by or record.updated_at
                != record.created_at else ""),
             f"  Record SHA-256 {record_hash}"]
    if exceptional is not None:
        from doseprep.release import blocking_codes

        lines += [f"  EXCEPTIONAL RELEASE of {', '.join(blocking_codes(stored))}",
                  f"  Reason      {exceptional['reason']}",
                  f"  Physician   {exceptional['physician']} (told)"]
    return "\n".join(lines) + "\n"


def settings_kept(store: Any, record: StoredRecord) -> dict[str, Any]:
    """The protocol and lab files a record was computed with: fingerprint, the text kept with it
    (issue 22) and the store's approval of that fingerprint now."""
    from doseprep.store import lab_approval, protocol_approval

    out: dict[str, Any] = {}
    for kind, fingerprint, sha, text, look_up in (
            ("protocol", record.protocol_fingerprint, record.protocol_text_sha256,
             record.protocol_text, protocol_approval),
            ("lab", record.lab_fingerprint, record.lab_text_sha256, record.lab_text,
             lab_approval)):
        approval = look_up(store, fingerprint)
        out[kind] = {"fingerprint": fingerprint, "text_sha256": sha, "text": text,
                     "approved": approval is not None,
                     "approval": None if approval is None else {
                         "approved_by": approval.approved_by,
                         "printed_name": approval.printed_name,
                         "approved_at": approval.approved_at}}
    return out


def settings_lines(settings: dict[str, Any], record: StoredRecord) -> list[str]:
    lines = []
    for kind, caption, name in (("protocol", "Protocol", f"{record.protocol_id} version "
                                                         f"{record.protocol_version}"),
                                ("lab", "Lab file", "")):
        entry = settings[kind]
        a = entry["approval"]
        approval = (f"approved by {a['printed_name']} ({a['approved_by']}) at "
                    f"{a['approved_at'][:16].replace('T', ' ')} UTC" if a else "NOT APPROVED")
        if entry["text_sha256"] is not None:
            kept = f"text kept with the record (SHA-256 {entry['text_sha256'][:16]}…)"
        elif entry["text"] is not None:
            kept = ("saved before texts were kept; the file of that fingerprint doseprep "
                    "bundled then is kept")
        else:
            kept = "saved before texts were kept: reprinted from the file named"
        if entry["text"] is None and entry["text_sha256"] is not None:
            kept = "its kept text is MISSING or altered (run doseprep audit verify)"
        lines.append(f"{caption:<10}{name + ', ' if name else ''}fingerprint "
                     f"{entry['fingerprint'][:16]}…, {approval}; {kept}")
    return lines
