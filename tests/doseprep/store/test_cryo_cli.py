"""Cycle 2's whole life through the real commands (issue 12), on SQLite and PostgreSQL: a freeze
plan saved, signed and released; its labels printed and their barcodes decoded; bag B0 located,
scanned, thawed for cycle 2 infusion 2, signed and infused; a second thaw of B0 refused; the
inventory, the history and the audit trail showing every step; ``audit verify`` passing."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

from tests.doseprep.documents.conftest import decode_barcodes, page_texts
from tests.doseprep.store.helpers import (
    People,
    current_freeze,
    reentry_of,
    run_cli,
    thaw_now,
)

pw = People.password
EXAMPLES = Path(__file__).parents[3] / "resources" / "examples"


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def refused(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    return line


def sign(ref: str, step: str, user: str, *extra: str) -> str:
    return ok(run_cli("record", step, ref, *extra, user=user))


def test_freeze_thaw_and_infuse_from_the_command_line(people, tmp_path):
    freeze = current_freeze(json.loads((EXAMPLES / "freeze-dl3-dl4.json").read_text("utf-8")))
    request = tmp_path / "freeze.json"
    request.write_text(json.dumps(freeze), encoding="utf-8")
    record_id = ok(run_cli("record", "save", str(request), user=people.tech)).strip()
    reentry = tmp_path / "reentry.json"
    stored = json.loads(ok(run_cli("record", "show", record_id, "--json", user=people.tech)))
    assert stored["kind"] == "freeze" and stored["plan"]["status"] == "ok"
    reentry.write_text(json.dumps(reentry_of(stored["request"])), encoding="utf-8")
    sign(record_id, "prepare", people.tech)
    sign(record_id, "verify", people.sup, "--reentry", str(reentry))
    sign(record_id, "release", people.sup2)
    ref = f"{record_id}/v1"

    # The freezing worksheet and one label per bag, decoded back.
    worksheet, labels, zpl = tmp_path / "w.pdf", tmp_path / "l.pdf", tmp_path / "l.zpl"
    # sup prints; sup2 released it and types their password to sign it (issue 25).
    ok(run_cli("record", "print", record_id, "-o", str(worksheet), "--labels", str(labels),
               "--zpl", str(zpl), user=people.sup, stdin=people.password(people.sup2) + "\n"))
    text = " ".join(page_texts(worksheet.read_bytes()))
    for value in ("HMCT freezing worksheet", "RELEASED", "Prepared by", "Verified by",
                  "Released by", "A0", "B0", "Frozen expiry", "Store at or below"):
        assert value in text, value
    pages = decode_barcodes(labels.read_bytes())
    assert len(pages) == 2
    assert "=<S12352A0" in pages[0] and "=<S12352B0" in pages[1]
    assert all("=G12341765432100" in page for page in pages)
    assert all(any(code.startswith("&>") for code in page) for page in pages)  # frozen expiry
    label_text = page_texts(labels.read_bytes())[1]
    for value in ("division B0", "Cycle 2 · infusion 2 · DL4", "DMSO 10 %", "Store at or below",
                  "EXPIRES"):
        assert value in label_text, value
    assert zpl.read_text("utf-8").count("^XA") == 2
    checked = ok(run_cli("verify", str(worksheet), "--json"))
    assert json.loads(checked)["document_id"] == ref

    # The inventory: both bags frozen; B0 put in the tank.
    bags = json.loads(ok(run_cli("inventory", "list", "--mrn", "MRN-000123", "--json",
                                 user=people.tech)))
    assert [(b["ref"], b["state"]) for b in bags] == [(f"{ref}:A0", "frozen"),
                                                      (f"{ref}:B0", "frozen")]
    ok(run_cli("inventory", "locate", f"{ref}:B0", "--location", "LN2 tank 2, rack C, box 4",
               user=people.tech))

    # Thaw B0 for cycle 2 infusion 2: the bag is chosen by scanning its label.
    thaw = tmp_path / "thaw.json"
    thaw.write_text(json.dumps(thaw_now(freeze["patient"], post_thaw={
        "wbc": "43 x10^3/uL", "sample_dilution": 1, "cd3_percent": 40,
        "viability_percent": 85, "sample_volume": "1 mL"})), encoding="utf-8")
    planned = json.loads(ok(run_cli("thaw", str(thaw), "--scan", "=G12341765432100",
                                    "=<S12352B0", "--json")))
    assert planned["division"] == "B0" and planned["status"] == "ok"
    thaw_id = ok(run_cli("record", "save", str(thaw), "--scan", "=G12341765432100",
                         "=<S12352B0", user=people.tech)).strip()
    thawed = json.loads(ok(run_cli("record", "show", thaw_id, "--json", user=people.tech)))
    assert thawed["kind"] == "thaw" and thawed["request"]["aliquot_ref"] == f"{ref}:B0"
    reentry.write_text(json.dumps(reentry_of(thawed["request"])), encoding="utf-8")
    sign(thaw_id, "prepare", people.tech)
    line = refused(run_cli("inventory", "infuse", f"{ref}:B0", user=people.tech))
    assert "must be released before the bag is infused" in line
    sign(thaw_id, "verify", people.sup, "--reentry", str(reentry))
    sign(thaw_id, "release", people.sup2)
    thaw_labels = tmp_path / "thawed.pdf"
    ok(run_cli("record", "print", thaw_id, "-o", str(tmp_path / "tw.pdf"), "--labels",
               str(thaw_labels), user=people.sup, stdin=people.password(people.sup2) + "\n"))
    [codes] = decode_barcodes(thaw_labels.read_bytes())
    assert "=<S12362B0" in codes  # the thawed product's code, with the division
    assert "INFUSE BY" in page_texts(thaw_labels.read_bytes())[0]
    ok(run_cli("inventory", "infuse", f"{ref}:B0", user=people.tech))

    # A second thaw of B0 is refused, by reference and by scan.
    line = refused(run_cli("record", "save", str(thaw), "--aliquot", f"{ref}:B0",
                           user=people.tech))
    assert line == (f"doseprep: {ref}:B0 was already thawed and infused (thaw record "
                    f"{thaw_id}/v1); it cannot be thawed. Choose another bag.")
    refused(run_cli("thaw", str(thaw), "--scan", "=G12341765432100", "=<S12352B0"))

    # The inventory, the history and the audit trail show every step.
    bags = {b["ref"]: b for b in json.loads(ok(run_cli("inventory", "--json",
                                                       user=people.sup)))}
    assert bags[f"{ref}:B0"]["state"] == "infused"
    assert bags[f"{ref}:B0"]["thaw_record"] == f"{thaw_id}/v1"
    assert bags[f"{ref}:A0"]["state"] == "frozen"
    history = json.loads(ok(run_cli("record", "list", "--json", user=people.sup)))
    assert {(h["record_id"], h["kind"], h["state"]) for h in history} == {
        (record_id, "freeze", "released"), (thaw_id, "thaw", "released")}
    export = tmp_path / "audit.csv"
    ok(run_cli("audit", "export", "-o", str(export), user=people.sup))
    rows = list(csv.reader(export.read_text("utf-8").splitlines()))
    header = rows[0]
    action, target = header.index("action"), header.index("record_ref")
    bag_events = [r[action] for r in rows if r[target] == f"{ref}:B0"]
    assert bag_events == ["aliquot_store", "aliquot_locate", "aliquot_thaw", "aliquot_infuse"]
    assert "audit trail OK" in ok(run_cli("audit", "verify"))


def test_thaw_commands_refuse_what_a_tired_person_types(people, tmp_path):
    thaw = tmp_path / "thaw.json"
    thaw.write_text(json.dumps(thaw_now({"id": "MRN-000123", "name": "DOE, JANE",
                                         "birth_date": "1980-02-29", "weight": "70 kg"})),
                    encoding="utf-8")
    line = refused(run_cli("record", "save", str(thaw), user=people.tech))
    assert "name the frozen bag" in line
    line = refused(run_cli("record", "save", str(thaw), "--aliquot", "B0", user=people.tech))
    assert "is not a bag of the inventory" in line
    line = refused(run_cli("thaw", str(thaw), "--aliquot", "PREP-2026-000001/v1:B0"))
    assert "there is no bag PREP-2026-000001/v1:B0 in the inventory" in line
    line = refused(run_cli("thaw", str(thaw), "--scan", "=G12341765432100", "=G12341765432100"))
    assert "not a product code barcode" in line
    line = refused(run_cli("inventory", "discard", "PREP-2026-000001/v1:B0", "--reason", "x",
                           user=people.tech))
    assert "there is no bag" in line
