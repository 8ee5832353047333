"""Documents from the window: preview, Save PDF and Print give the domain's document, and a
document that is not for clinical use says so before anything is printed."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
from doseprep_ui.documents.print_preview import DocumentPreview, load_pdf, print_pdf
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QFileDialog

from doseprep.plans.fresh import instruction, not_for_clinical_use
from doseprep.resources import resource_path
from tests.conftest import approve_in_store, load_case
from tests.ui.conftest import SHOWS_WINDOW, DialogStub, type_request

pytestmark = SHOWS_WINDOW


def pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def save_to(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Answer the Save PDF file dialog with a path in tmp_path."""
    asked: list[str] = []

    def answer(name: str):
        def get_save_file_name(parent, caption, directory, name_filter):
            asked.append(directory)
            return str(tmp_path / name), name_filter
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(get_save_file_name))
        return asked

    return answer


@pytest.fixture
def print_to(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Make the system print dialog "choose" a PDF file as the printer, and accept."""
    target = tmp_path / "printed.pdf"
    shown: list[QPrinter] = []

    def exec_(dialog: QPrintDialog) -> int:
        printer = dialog.printer()
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(target))
        shown.append(printer)
        return QDialog.DialogCode.Accepted.value

    monkeypatch.setattr(QPrintDialog, "exec", exec_)
    return target, shown


def test_save_pdf_writes_the_worksheet_with_the_instruction(qtbot, window, save_to,
                                                            tmp_path: Path) -> None:
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    preview = window.preview_worksheet()
    qtbot.addWidget(preview)
    assert isinstance(preview, DocumentPreview)
    assert preview.document.pageCount() >= 1
    asked = save_to("worksheet")  # no suffix typed: .pdf is added
    saved = preview.save_pdf()
    assert saved == tmp_path / "worksheet.pdf"
    assert asked[0].endswith("worksheet-MRN-000123-G123417654321.pdf")
    assert saved.read_bytes() == preview.pdf
    text = pdf_text(saved.read_bytes())
    assert words(instruction(window.current_plan)) in text
    assert "NOT FOR CLINICAL USE" in text  # the bundled protocol is not approved


def test_the_labels_are_previewed_and_saved(qtbot, window, save_to, tmp_path: Path) -> None:
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    preview = window.print_labels()
    qtbot.addWidget(preview)
    save_to("labels.pdf")
    saved = preview.save_pdf()
    assert "G1234 17 654321" in pdf_text(saved.read_bytes())
    assert not preview.paper.isVisibleTo(preview), "labels have their own size"


def test_printing_renders_every_page_to_the_printer(qtbot, window, print_to,
                                                    dialog_stub: DialogStub) -> None:
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    preview = window.preview_worksheet()
    qtbot.addWidget(preview)
    target, shown = print_to
    dialog_stub.answers.append("print")  # confirm: printed marked NOT FOR CLINICAL USE
    assert preview.print_document() is True
    (question,) = dialog_stub.questions
    assert "NOT FOR CLINICAL USE" in question["text"]
    assert "not approved" in question["informative"]
    assert question["default"] == "cancel"
    printed = pypdf.PdfReader(target)
    assert len(printed.pages) == preview.document.pageCount()
    assert shown[0].resolution() == 300


def test_a_blocked_plan_is_previewed_but_says_why_it_is_not_for_clinical_use(
        qtbot, window, monkeypatch: pytest.MonkeyPatch, dialog_stub: DialogStub) -> None:
    type_request(qtbot, window, load_case("v06-low-viability-blocks")["request"])
    plan = window.current_plan
    assert window.preview_button.isEnabled()
    assert "LOW_VIABILITY" in window.print_note.text()
    preview = window.preview_worksheet()
    qtbot.addWidget(preview)
    assert preview.reasons == not_for_clinical_use(plan)
    assert preview.reasons_label.isVisibleTo(preview)
    assert "LOW_VIABILITY" in preview.reasons_label.text()
    assert preview.print_button.text() == "&Print — NOT FOR CLINICAL USE…"

    def never(dialog) -> int:
        raise AssertionError("the print dialog must not open after Cancel")

    monkeypatch.setattr(QPrintDialog, "exec", never)
    dialog_stub.answers.append("cancel")
    assert preview.print_document() is False


def test_an_approved_protocol_prints_without_a_warning(qtbot, window, print_to, tmp_path: Path,
                                                       dialog_stub: DialogStub) -> None:
    approved = tmp_path / "approved.toml"
    text = resource_path("protocols", "hmct-blinatumomab.toml").read_text(encoding="utf-8")
    approved.write_text(text.replace('version = "0.1-example"', 'version = "1.0"'),
                        encoding="utf-8")
    approve_in_store(approved)  # an administrator's approval in the record store
    assert window.records.session.store is not None  # opened, as a log-in opens it
    window.reload_approvals()
    dialog_stub.open_paths.append(approved)
    window.open_protocol()
    request = load_case("v01-basic-dl3")["request"] | {"protocol": str(approved)}
    type_request(qtbot, window, request)
    assert window.current_plan.protocol.approved
    assert not window.print_note.isVisibleTo(window)
    preview = window.preview_worksheet()
    qtbot.addWidget(preview)
    assert not preview.reasons and not preview.reasons_label.isVisibleTo(preview)
    assert preview.print_button.text() == "&Print…"
    assert preview.print_document() is True
    assert dialog_stub.questions == []
    assert "NOT FOR CLINICAL USE" not in pdf_text(preview.pdf)


def test_a_file_that_says_it_is_approved_is_still_not_for_clinical_use(
        qtbot, window, tmp_path: Path, dialog_stub: DialogStub) -> None:
    claims = tmp_path / "claims-approval.toml"
    text = resource_path("protocols", "hmct-blinatumomab.toml").read_text(encoding="utf-8")
    claims.write_text(text.replace("approved = false", "approved = true"), encoding="utf-8")
    assert window.records.session.store is not None
    window.reload_approvals()
    dialog_stub.open_paths.append(claims)
    window.open_protocol()
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"] | {"protocol": str(claims)})
    assert window.current_plan.protocol.author_approved
    assert not window.current_plan.protocol.approved
    assert window.print_note.isVisibleTo(window)


def test_without_a_plan_nothing_can_be_printed(qtbot, window) -> None:
    window.flush()
    assert not window.preview_button.isEnabled() and not window.labels_action.isEnabled()
    assert window.preview_worksheet() is None and window.print_labels() is None
    assert "no valid plan" in window.print_note.text()


def test_the_paper_size_can_be_changed(qtbot, window) -> None:
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    preview = window.preview_worksheet()
    qtbot.addWidget(preview)
    preview.paper.setCurrentIndex(preview.paper.findData("a4"))
    size = preview.document.pagePointSize(0)
    assert (round(size.width()), round(size.height())) == (595, 842)
    preview.paper.setCurrentIndex(preview.paper.findData("letter"))
    size = preview.document.pagePointSize(0)
    assert (round(size.width()), round(size.height())) == (612, 792)


def test_print_pdf_draws_each_page(qtbot, tmp_path: Path) -> None:
    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    for page in range(3):
        canvas.drawString(72, 720, f"page {page + 1}")
        canvas.showPage()
    canvas.save()
    document, _keep = load_pdf(buffer.getvalue())
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setResolution(150)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "out.pdf"))
    assert print_pdf(document, printer) == 3
    assert len(pypdf.PdfReader(tmp_path / "out.pdf").pages) == 3


def test_a_preview_never_outlives_the_plan_it_shows(qtbot, window) -> None:
    type_request(qtbot, window, load_case("v01-basic-dl3")["request"])
    preview = window.preview_worksheet()
    qtbot.addWidget(preview)
    assert preview.isVisible() and preview.isModal()
    qtbot.keyClicks(window.form.fields["patient.weight"].editor, "0")  # 70 kg -> 70 kg0
    assert not preview.isVisible()


def test_a_label_too_long_for_the_lab_s_label_stock_is_refused_with_the_reason(
        qtbot, make_window, dialog_stub: DialogStub, tmp_path: Path) -> None:
    """Issue 21: the longest name and MRN a form accepts do not fit the smallest label stock a
    lab file may name; Print labels says so, naming label_height_mm — no crash, nothing cut."""
    import os

    from doseprep.protocol import default_lab_path

    lab = tmp_path / "small-labels.toml"
    lab.write_text(default_lab_path().read_text(encoding="utf-8")
                   .replace("label_width_mm = 100", "label_width_mm = 90"), encoding="utf-8")
    folder = Path(os.environ["DOSEPREP_CONFIG_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.toml").write_text(f'lab_file = "{lab}"\n', encoding="utf-8")
    window = make_window()
    request = load_case("v01-basic-dl3")["request"]
    request["patient"] |= {"name": "W" * 200, "id": "W" * 64}
    type_request(qtbot, window, request)
    window.flush()
    assert window.current_plan is not None
    dialog_stub.allow_messages = True
    assert window.print_labels() is None
    (message,) = dialog_stub.messages
    assert message["title"] == "Labels not made"
    assert "label_height_mm" in message["informative"] and "at least" in message["text"]
