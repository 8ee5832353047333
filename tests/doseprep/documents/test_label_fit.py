"""Every bag label kind — fresh (usable, blocked, draft), aliquot (frozen bag), thawed — laid out
with the example values and with the longest values its fields accept, on the default, the
smallest and the largest label stock a lab file may name, as a PDF and in ZPL at 203, 300 and
600 dpi, and checked from what is drawn (:mod:`label_checks`): every line of text inside its
quadrant or the bottom band, no rule, frame or barcode crossed, no line over another, every value
printed whole, every barcode decoded; or, where the stock is too small, a settings error naming
the label key before anything is drawn.

Issue 21: the thawed label's storage instruction was cut mid-sentence ("infuse within 60 min
of"), "Volume 24 mL · DMSO 10 % (2.64 g)" ran across the aliquot label's quadrant rule, and a lab
file with ``label_height_mm = 30`` silently dropped the expiry and the recipient.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from reportlab.lib.units import mm

from doseprep.documents import labels as labels_module
from doseprep.documents.cryo import aliquot_labels, thawed_label
from doseprep.documents.labels import (
    STATEMENTS,
    LabelData,
    LabelStock,
    label_data,
    label_pages,
    label_size,
)
from doseprep.documents.style import draft_reason
from doseprep.documents.zpl import label_zpl, plain
from doseprep.errors import SettingsError
from doseprep.manifest import RecordInfo
from doseprep.plans.freeze import freeze_plan, parse_freeze_request
from doseprep.plans.fresh import plan as fresh_plan
from doseprep.plans.thaw import parse_thaw_request, thaw_plan
from doseprep.protocol import LabSettings, load_lab, load_protocol
from doseprep.protocol._base import LABEL_MAX_MM, LABEL_MIN_HEIGHT_MM, LABEL_MIN_WIDTH_MM
from doseprep.request import MAX_TEXT, parse_request
from doseprep.resources import resource_path
from doseprep.units.instants import show
from tests.conftest import load_case
from tests.doseprep.documents.conftest import VERIFIED, decode_barcodes, page_texts
from tests.doseprep.documents.label_checks import (
    RecordingCanvas,
    pdf_drawn,
    zpl_drawn,
    zpl_labels,
    zpl_problems,
)

EXAMPLES = resource_path("examples")
PROTOCOL = load_protocol("hmct-blinatumomab")
STOCKS = {"default": (100, 100), "smallest": (LABEL_MIN_WIDTH_MM, LABEL_MIN_HEIGHT_MM),
          "largest": (LABEL_MAX_MM, LABEL_MAX_MM)}
KINDS = ("fresh", "fresh blocked", "fresh draft", "aliquot", "thawed")
WRITERS = ("pdf", 203, 300, 600)

#: The widest capital letter, so that a value as long as its field accepts is also as wide as a
#: name, an MRN or a lab's text can be in Latin script.
WIDE = "W"
MRN_LIMIT = 64  # the request's patient.id
#: The longest a date and time prints (instants.show): a zone with no letter abbreviation prints
#: its offset whole (``UTC−09:30``).
LATEST = show(datetime(2999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=9, minutes=30))),
              "Pacific/Marquesas")
#: A record as long as its id, version and state can print: superseded, and a 999th reprint.
LONGEST_RECORD = RecordInfo(record_id="PREP-2999-999999", version=999, state="released",
                            record_hash="0" * 64, superseded_by="PREP-2999-999999/v1000",
                            reprint_at=datetime(2999, 12, 31, tzinfo=UTC), reprint=999)
#: Every code that blocks a plan, all at once (found in the calculation's source).
BLOCK_CODES = sorted(set(re.findall(
    r'"([A-Z][A-Z_]+)",\s*Severity\.BLOCK',
    "".join(p.read_text(encoding="utf-8")
            for p in Path(labels_module.__file__).parents[1].rglob("*.py")))))


def lab_file(tmp_path: Path, stock: tuple[float, float], maximal: bool) -> Path:
    """The bundled lab file on ``stock``; ``maximal``: every text a label prints as long as the
    lab loader accepts it (the lab's name, six address lines, the facility and cryo texts)."""
    text = resource_path("lab.toml").read_text(encoding="utf-8")
    changes = {r"label_width_mm = \d+": f"label_width_mm = {stock[0]}",
               r"label_height_mm = \d+": f"label_height_mm = {stock[1]}"}
    if maximal:
        line = f'"{WIDE * 200}"'
        changes |= {
            r'(?m)^name = ".*"': f"name = {line}",
            r"(?m)^address = \[.*\]": f"address = [{', '.join([line] * 6)}]",
            r'proper_name = ".*"': f'proper_name = "{WIDE * 40}"',
            r'(?m)^product_description = ".*fresh"': f'product_description = "{WIDE * 120}"',
            r'(?m)^storage = ".*"': f'storage = "{WIDE * 120}"',
            r'investigational_statement = ".*"': f"investigational_statement = {line}",
            r"thawed_infusion_expiry_minutes = \d+": "thawed_infusion_expiry_minutes = 1440",
            r'storage_statement = ".*"': f'storage_statement = "{WIDE * 120}"',
            r'(?m)^product_description = ".*cryopreserved"':
                f'product_description = "{WIDE * 120}"',
            r'thawed_product_description = ".*"': f'thawed_product_description = "{WIDE * 120}"',
        }
    for pattern, value in changes.items():
        text, count = re.subn(pattern, lambda _m, v=value: v, text)
        assert count == 1, pattern
    path = tmp_path / f"lab-{stock[0]}x{stock[1]}{'-max' if maximal else ''}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _patient(data: dict, maximal: bool) -> dict:
    if maximal:  # as long as the request parser accepts
        data["patient"] |= {"name": WIDE * MAX_TEXT, "id": WIDE * MRN_LIMIT}
    return data


def labels_for(kind: str, lab: LabSettings, maximal: bool) -> list[LabelData]:
    """The labels of ``kind`` made through the real parsers, plans and label builders; with
    ``maximal``, the values computed from numbers replaced by the longest their formats print."""
    record = LONGEST_RECORD if maximal else VERIFIED
    if kind.startswith("fresh"):
        source = (load_case("v06-low-viability-blocks")["request"] if kind == "fresh blocked"
                  else json.loads((EXAMPLES / "request-dl3.json").read_text("utf-8")))
        request = parse_request(_patient(source, maximal) | {"product": source["product"] | {
            "abo_rh": "AB NEG"}})
        p = fresh_plan(request, PROTOCOL, lab)
        assert p.blocked == (kind == "fresh blocked")
        made = [label_data(p, None if kind == "fresh draft" else record)]
    elif kind == "aliquot":
        data = _patient(json.loads((EXAMPLES / "freeze-dl3-dl4.json").read_text("utf-8")),
                        maximal)
        p = freeze_plan(parse_freeze_request(data, zone=lab.time_zone, protocol=PROTOCOL),
                        PROTOCOL, lab)
        made = aliquot_labels(p, record)
    else:
        data = _patient(json.loads((EXAMPLES / "thaw-b0.json").read_text("utf-8")), maximal)
        made = [thawed_label(thaw_plan(parse_thaw_request(data, zone=lab.time_zone), PROTOCOL,
                                       lab), record)]
    if not maximal:
        return made
    longest = {"collected": LATEST, "expires": LATEST,
               "cells": "9.99 × 10¹⁵ viable CD3+ cells",
               "dose": "9.99 × 10¹⁵ CD3+ cells/kg"}
    if kind == "aliquot":  # cycle and infusion: 6 digits; a dose level: 16 characters
        longest |= {"volume": "5000 mL · DMSO 99.9999 % (5500.00 g)",
                    "cells": f"Cycle 999999 · infusion 999999 · {WIDE * 16}: "
                             "9.99 × 10¹⁵ viable CD3+ frozen",
                    "dose": "9.99 × 10¹⁵ CD3+ cells/kg expected after thaw, for 500.0 kg"}
    elif kind == "thawed":
        longest |= {"volume": "5000 mL · DMSO 99.9999 %"}
    else:
        longest |= {"volume": "99999.9 mL"}
    if kind == "fresh blocked":
        longest["blocked_reason"] = "; ".join(BLOCK_CODES)
    if kind == "fresh draft":
        longest["draft"] = draft_reason(replace(LONGEST_RECORD, state="prepared"))
    return [replace(d, **longest) for d in made]


def printed_values(d: LabelData) -> list[str]:
    """Everything the label must print whole."""
    name, mrn, dob = d.recipient
    values = [d.din_text, d.flags, d.check_character, d.collected, d.abo_rh_text, d.proper_name,
              d.description, d.volume, d.cells, d.dose, d.expires_caption, d.expires, d.storage,
              name, mrn, dob, *STATEMENTS, d.investigational, *d.lab_lines, d.document_id,
              d.state]
    values += [v for v in (d.product_code, d.expiration, d.reprint) if v]
    if not d.product_code:
        values.append(d.blocked_reason or d.draft or "")
    return values


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def check_pdf(labels: list[LabelData], stock: LabelStock,
              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labels_module, "Canvas", RecordingCanvas)
    RecordingCanvas.last = None
    try:
        pdf = label_pages(labels, stock)
    except SettingsError:
        assert RecordingCanvas.last is None  # refused before anything was drawn
        raise
    pages = RecordingCanvas.last.pages
    for d, ops, codes in zip(labels, pages, decode_barcodes(pdf), strict=False):
        drawn = pdf_drawn(ops, stock.width, stock.height)
        assert drawn.problems() == [], d.document_id
        printed = drawn.text()
        for value in printed_values(d):
            assert _compact(value) in printed, value
        wanted = {v for v in (d.din_structure, d.abo_rh, d.product_code, d.expiration) if v}
        assert set(codes) == wanted, d.document_id


def check_zpl(labels: list[LabelData], stock: LabelStock, dpi: int) -> None:
    zpl = "".join(label_zpl(d, stock, dpi) for d in labels)
    blocks = zpl_labels(zpl)
    assert len(blocks) == len(labels)
    for d, block in zip(labels, blocks, strict=True):
        assert zpl_problems(block, dpi) == [], d.document_id
        printed = zpl_drawn(block).text()
        for value in printed_values(d):
            assert _compact(plain(value)) in printed, value
        fields = set(re.findall(r"\^BCN,\d+,N,N,N,A\^FD([^\^]*)\^FS", block))
        assert fields == {v for v in (d.din_structure, d.abo_rh, d.product_code, d.expiration)
                          if v}


@pytest.mark.parametrize("stock_name", list(STOCKS))
@pytest.mark.parametrize("maximal", [False, True], ids=["example", "maximal"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_label_fits_its_quadrants_or_its_stock_is_refused(
        kind: str, maximal: bool, stock_name: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    lab = load_lab(lab_file(tmp_path, STOCKS[stock_name], maximal))
    labels = labels_for(kind, lab, maximal)
    stock = LabelStock(STOCKS[stock_name][0] * mm, STOCKS[stock_name][1] * mm, lab.source)
    assert label_size(SimpleNamespace(lab=lab)) == stock  # the lab file's stock is used
    outcome: dict[object, str] = {}
    for writer in WRITERS:
        refusal: SettingsError | None = None
        try:
            if writer == "pdf":
                check_pdf(labels, stock, monkeypatch)
            else:
                check_zpl(labels, stock, writer)
        except SettingsError as exc:
            refusal = exc
        outcome[writer] = "fits" if refusal is None else "refused"
        if refusal is not None:
            # Too small: the lab file and its key are named, with the size that would do.
            assert refusal.source == lab.source
            assert refusal.key in ("facility.label_height_mm", "facility.label_width_mm")
            least = int(re.search(r"at least (\d+)\.", refusal.message).group(1))
            dimension = 1 if refusal.key.endswith("height_mm") else 0
            assert least > STOCKS[stock_name][dimension], refusal.message
    if not maximal or stock_name == "largest":
        # The example labels fit every stock a lab file may name; the longest values the
        # fields accept fit the largest.
        assert set(outcome.values()) == {"fits"}, outcome


def test_the_thawed_label_prints_its_whole_instruction(tmp_path: Path) -> None:
    """Issue 21: "infuse within 60 min of" — the end of the sentence was cut."""
    lab = load_lab(lab_file(tmp_path, STOCKS["default"], False))
    (d,) = labels_for("thawed", lab, False)
    instruction = ("Thawed product: keep at room temperature, do not refreeze; infuse within "
                   "60 min of thawing.")
    assert d.storage == instruction
    (text,) = page_texts(label_pages([d], label_size(SimpleNamespace(lab=lab))))
    assert instruction in text
    zpl_text = " ".join(t for _, t in zpl_drawn(label_zpl(d, LabelStock(100 * mm, 100 * mm))).texts)
    assert plain(instruction) in zpl_text


def test_the_aliquot_volume_and_dmso_stay_on_the_label_side_of_every_rule(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 21: "Volume 24 mL · DMSO 10 % (2.64 g)" ran across the quadrant rule."""
    lab = load_lab(lab_file(tmp_path, STOCKS["default"], False))
    labels = labels_for("aliquot", lab, False)
    monkeypatch.setattr(labels_module, "Canvas", RecordingCanvas)
    label_pages(labels, LabelStock(100 * mm, 100 * mm))
    drawn = pdf_drawn(RecordingCanvas.last.pages[1], 100 * mm, 100 * mm)
    (volume,) = [box for box, text in drawn.texts if "DMSO" in text]
    assert [text for box, text in drawn.texts if "DMSO" in text] == [
        "Volume 24 mL · DMSO 10 % (2.64 g)"]
    assert any(volume.inside(region) for region in drawn.regions().values())
    assert not any(volume.overlaps(rule) for rule in drawn.rules)


@pytest.mark.parametrize(("line", "key"), [
    ("label_height_mm = 30", "facility.label_height_mm"),
    (f"label_height_mm = {LABEL_MIN_HEIGHT_MM - 1}", "facility.label_height_mm"),
    ("label_width_mm = 80", "facility.label_width_mm"),
    ("label_width_mm = 1000", "facility.label_width_mm"),
    ('label_height_mm = "100"', "facility.label_height_mm"),
    ("label_heigth_mm = 100", "facility.label_heigth_mm"),
    ("storage = 5", "facility.storage"),
    (f'storage = "{"x" * 121}"', "facility.storage"),
    ('proper_name = ""', "facility.proper_name"),
])
def test_a_lab_file_whose_labels_cannot_fit_is_refused_naming_the_key(
        tmp_path: Path, line: str, key: str) -> None:
    """A tired administrator's slip or a 30 mm label stock: refused when the lab file is
    loaded, by the command line too (exit 2, no traceback, no file)."""
    text = resource_path("lab.toml").read_text(encoding="utf-8")
    name = line.split(" =")[0]
    pattern = rf"(?m)^{'label_height_mm' if name == 'label_heigth_mm' else name} = .*$"
    text, count = re.subn(pattern, lambda _m: line, text)
    assert count == 1
    path = tmp_path / "lab.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as refused:
        load_lab(path)
    assert refused.value.key == key
    request = tmp_path / "request.json"
    request.write_text((EXAMPLES / "request-dl3.json").read_text("utf-8"), encoding="utf-8")
    out = tmp_path / "label.pdf"
    done = subprocess.run([sys.executable, "-m", "doseprep", "labels", str(request), "-o",
                           str(out), "--lab", str(path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert key in done.stderr and not out.exists()


def test_a_label_too_long_for_its_stock_is_refused_when_made_and_fits_larger_stock(
        tmp_path: Path) -> None:
    """The longest name and MRN the request accepts do not fit the smallest stock: the label
    is refused naming label_height_mm and the size that would do (exit 2, nothing written);
    on stock that large every character of the name is printed."""
    data = json.loads((EXAMPLES / "request-dl3.json").read_text("utf-8"))
    data["patient"] |= {"name": WIDE * MAX_TEXT, "id": WIDE * MRN_LIMIT}
    request = tmp_path / "request.json"
    request.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "label.pdf"

    def labels(lab: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "doseprep", "labels", str(request), "-o",
                               str(out), "--zpl", str(tmp_path / "label.zpl"), "--lab",
                               str(lab)], capture_output=True, text=True, timeout=60)

    small = labels(lab_file(tmp_path, STOCKS["smallest"], False))
    assert small.returncode == 2 and "Traceback" not in small.stderr, small.stderr
    assert "facility.label_height_mm" in small.stderr and "at least" in small.stderr
    assert not out.exists() and not (tmp_path / "label.zpl").exists()
    least = int(re.search(r"at least (\d+)\.", small.stderr).group(1))
    done = labels(lab_file(tmp_path, (LABEL_MIN_WIDTH_MM, least + 10), False))
    assert done.returncode == 0, done.stderr
    (text,) = page_texts(out.read_bytes())
    assert WIDE * MAX_TEXT in text.replace(" ", "")


def test_the_smallest_stock_is_the_narrowest_that_keeps_every_barcode_whole(
        tmp_path: Path) -> None:
    """One millimetre narrower, the DIN's barcode loses its quiet zone at 300 dpi: the width a
    lab file may name is not an arbitrary number."""
    lab = load_lab(lab_file(tmp_path, STOCKS["smallest"], False))
    (d,) = labels_for("fresh", lab, False)
    narrower = LabelStock((LABEL_MIN_WIDTH_MM - 1) * mm, LABEL_MIN_HEIGHT_MM * mm, lab.source)
    with pytest.raises(SettingsError) as refused:
        label_zpl(d, narrower, 300)
    assert refused.value.key == "facility.label_width_mm"
    assert "DIN barcode" in refused.value.message
    assert f"at least {LABEL_MIN_WIDTH_MM}" in refused.value.message


def test_a_label_that_fits_as_pdf_but_not_in_zpl_leaves_no_file(tmp_path: Path) -> None:
    """A long name of narrow letters fits the PDF label but not the printer's wider cells: both
    are made before either is written, so neither file is left behind (exit 2)."""
    data = json.loads((EXAMPLES / "request-dl3.json").read_text("utf-8"))
    data["patient"] |= {"name": "i" * MAX_TEXT, "id": "i" * MRN_LIMIT}
    request = tmp_path / "request.json"
    request.write_text(json.dumps(data), encoding="utf-8")
    lab = lab_file(tmp_path, STOCKS["smallest"], False)
    pdf, zpl = tmp_path / "label.pdf", tmp_path / "label.zpl"
    command = [sys.executable, "-m", "doseprep", "labels", str(request), "-o", str(pdf),
               "--lab", str(lab)]
    alone = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert alone.returncode == 0 and pdf.exists(), alone.stderr
    pdf.unlink()
    both = subprocess.run([*command, "--zpl", str(zpl)], capture_output=True, text=True,
                          timeout=60)
    assert both.returncode == 2 and "facility.label_height_mm" in both.stderr, both.stderr
    assert not pdf.exists() and not zpl.exists()
