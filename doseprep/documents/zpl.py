"""The bag label in ZPL II, for a Zebra thermal printer: the same content as the PDF label
(:func:`doseprep.documents.labels.label_data`), Code 128 barcode fields, at 203, 300 or 600 dpi."""

from __future__ import annotations

from reportlab.lib.units import mm

from doseprep.documents.labels import STATEMENTS, LabelData, label_data, label_size
from doseprep.manifest import RecordInfo
from doseprep.plan import PreparationPlan
from doseprep.units import sci

#: Characters the printer's resident font may lack, written the way a keyboard would.
_ZPL_PLAIN = str.maketrans({"−": "-", "×": "x", "—": "-", "·": "-", "µ": "u"})


def _zpl_text(text: str) -> str:
    """Field data safe for ^FH: the ZPL control characters written as hex escapes."""
    text = text.translate(_ZPL_PLAIN)
    return text.replace("_", "_5F").replace("^", "_5E").replace("~", "_7E")


def _ascii_sci(value: float) -> str:
    return sci(value).replace(" × 10", " x10^").translate(
        str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-"))


def render_zpl(plan: PreparationPlan, record: RecordInfo | None = None, dpi: int = 203) -> str:
    """The same label in ZPL II for a Zebra thermal printer (Code 128 barcode fields)."""
    cells = () if plan.insufficient else (
        f"{_ascii_sci(plan.delivered_cells.magnitude)} viable CD3+ cells",
        f"{_ascii_sci(plan.delivered_dose.magnitude)} CD3+ cells/kg recipient weight")
    return label_zpl(label_data(plan, record), label_size(plan), dpi, cells)


def label_zpl(d: LabelData, size: tuple[float, float], dpi: int = 203,
              cells: tuple[str, ...] | None = None) -> str:
    """One label in ZPL II; ``cells``: the lines under the volume (the label's own by default)."""
    dots = dpi / 25.4  # dots per mm
    width, height = size
    if cells is None:
        cells = (d.cells, f"{d.dose}{d.dose_suffix}" if d.dose else "")

    def at(x_mm: float, y_mm: float) -> str:
        return f"^FO{round(x_mm * dots)},{round(y_mm * dots)}"

    def text(x_mm: float, y_mm: float, size_mm: float, value: str) -> str:
        h = max(10, round(size_mm * dots))
        return f"{at(x_mm, y_mm)}^A0N,{h},{h}^FH^FD{_zpl_text(value)}^FS"

    def barcode(x_mm: float, y_mm: float, value: str) -> str:
        module = max(2, round(0.25 * dots))
        return (f"{at(x_mm, y_mm)}^BY{module}^BCN,{round(8 * dots)},N,N,N,A"
                f"^FD{_zpl_text(value)}^FS")

    lines = ["^XA", "^CI28", f"^PW{round(width / mm * dots)}", f"^LL{round(height / mm * dots)}"]
    lines.append(barcode(3, 3, d.din_structure))
    lines.append(text(3, 13, 3.5, f"{d.din_text} {d.flags} [{d.check_character}]"))
    lines.append(text(3, 18, 2.2, f"{d.collected_caption} {d.collected}"))
    if d.abo_rh:
        lines.append(barcode(53, 3, d.abo_rh))
        lines.append(text(53, 13, 6, d.abo_rh_text))
    if d.product_code:
        lines.append(barcode(3, 33, d.product_code))
    else:
        lines.append(text(3, 33, 2.5, f"NO BARCODE - NOT FOR CLINICAL USE ({d.blocked_reason})"))
    lines.append(text(3, 43, 3.2, d.proper_name))
    lines.append(text(3, 48, 2.5, f"Volume {d.volume}"))
    for n, line in enumerate(c for c in cells if c):
        lines.append(text(3, 52 + 3.5 * n, 2.2, line))
    if d.expiration:
        lines.append(barcode(53, 33, d.expiration))
    lines.append(text(53, 43, 2.8, d.expires_caption))
    lines.append(text(53, 47, 2.8, d.expires))
    lines.append(text(53, 52, 2, d.storage[:60]))
    name, mrn, dob = d.recipient
    lines.append(f"{at(3, 63)}^GB{round(94 * dots)},{round(10 * dots)},3^FS")
    lines.append(text(4.5, 64.5, 2, f"INTENDED RECIPIENT   MRN {mrn}   DOB {dob}"))
    # The name alone on the second line, at a size that fits 91 mm (about 0.55 of the character
    # height per character in the printer's font), never below 2.2 mm; abbreviated beyond.
    height = max(2.2, min(3.2, 91 / max(len(name), 1) / 0.55))
    shown = name if len(name) * height * 0.55 <= 91 else name[:int(91 / (height * 0.55)) - 1] + "…"
    lines.append(text(4.5, 68, height, shown))
    y = 76.0
    for statement in (*STATEMENTS, d.investigational, " / ".join(d.lab_lines)):
        lines.append(text(3, y, 1.9, statement))
        y += 2.6
    if d.exceptional:  # the medical director's exceptional release, above the recipient
        lines.append(text(3, 59.5, 1.9, d.exceptional[:110]))
    if d.draft:
        lines.append(text(3, 97, 2.2, "DRAFT - NOT FOR USE"))
    elif d.watermark:
        lines.append(text(3, 97, 2.2, "NOT FOR CLINICAL USE"))
    lines.append("^XZ")
    return "\n".join(lines) + "\n"
