"""What the records controller needs of the window, and nothing more.

:class:`~doseprep_ui.records.controller.RecordWorkflow` works on whatever has these members — the
main window in the program, which satisfies this protocol — so the records room never imports
the window that contains it (no import cycle; issue 11), and the list below is the whole of their
contract.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from PySide6.QtWidgets import QStatusBar, QWidget

    from doseprep.plans.fresh import PreparationPlan
    from doseprep_ui.form.evaluation import Evaluation
    from doseprep_ui.form.form import RequestForm
    from doseprep_ui.plan.plan_view import PlanView
    from doseprep_ui.widgets.clock import WindowClock


class WindowPort(Protocol):
    """The window as the records controller sees it."""

    #: "" while the form is shown; "signed-out", "locked" or "blind" while it is covered.
    cover_mode: str
    #: The lab settings file in use ("" for the bundled one).
    lab_path: str
    #: The form's last evaluation (None before the first).
    evaluation: Evaluation | None
    content_ready: bool
    form: RequestForm
    plan_view: PlanView
    #: The one clock every status on screen is read at.
    clock: WindowClock

    def statusBar(self) -> QStatusBar: ...

    def site_zone(self) -> str | None: ...

    @property
    def current_plan(self) -> PreparationPlan | None: ...

    def flush(self) -> None: ...

    def show_cover(self, mode: str) -> None: ...

    def hide_cover(self) -> None: ...

    def set_read_only(self, read_only: bool) -> None: ...

    def load_request(self, data: dict[str, Any]) -> None: ...

    def show_cryo_record(self, record: Any, *, blind: bool) -> None: ...

    def clear_for_blind(self) -> None: ...

    def update_bag_actions(self) -> None: ...

    def show_fresh_mode(self) -> None: ...

    def may_replace_form(self, question: str) -> bool: ...

    def reload_approvals(self) -> None: ...

    def offer_draft(self) -> bool: ...

    def discard_draft(self) -> None: ...

    def show_document(self, pdf: bytes, title: str, stem: str, *, reasons: tuple[str, ...],
                      companions: tuple[tuple[str, bytes, str], ...] = (),
                      **options: Any) -> QWidget: ...

    def findChildren(self, kind: Any) -> list[Any]: ...

    def close(self) -> bool: ...
