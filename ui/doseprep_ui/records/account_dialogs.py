"""Log-in and accounts: log in, create the first administrator, add a user.

Each is an :class:`~doseprep_ui.widgets.action_dialog.ActionDialog`; the window gives it the store
call to make (``authenticate(..., purpose="login")``, ``add_user``), so these dialogs hold no rule
of their own beyond "type the new password twice": who may log in, the password policy and the
lockout after wrong passwords are the store's, and its message is shown as it says it — a refused
log-in never says whether the user id or the password was wrong."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QLabel, QWidget

from doseprep_ui.widgets.action_dialog import ActionDialog
from doseprep_ui.widgets.icons import padlock_pixmap
from doseprep_ui.widgets.style import set_role

#: The roles an administrator can give, as (store value, what the list shows).
ROLES = (("technician", "Technician — prepares and signs “Prepared by”"),
         ("supervisor", "Supervisor (verifier) — verifies and releases"),
         ("medical_director", "Medical director — authorises exceptional releases"),
         ("administrator", "Administrator — manages accounts, signs nothing"))
MIN_PASSWORD_HINT = "at least 8 characters"


class LoginDialog(ActionDialog):
    """User id and password; the action authenticates them."""

    def __init__(self, parent: QWidget | None = None, *, user_id: str = "") -> None:
        super().__init__("Log in to doseprep", "&Log in", parent)
        self.setObjectName("login-dialog")
        self.set_icon(padlock_pixmap(40))
        self.add_text("Patient data and records are shown only to a person who has logged in "
                      "with their own user id and password. Never use someone else's.")
        self.user_id = self.add_field("&User id", hint="e.g. jdoe", name="user-id")
        self.password = self.add_field("&Password", password=True, name="password")
        self.user_id.setText(user_id)
        (self.password if user_id else self.user_id).setFocus()

    def check(self) -> str:
        if not self.user_id.text().strip():
            return "Type your user id."
        if not self.password.text():
            return "Type your password."
        return ""


class _NewAccountDialog(ActionDialog):
    """User id, printed name and a new password typed twice."""

    def __init__(self, title: str, button: str, parent: QWidget | None) -> None:
        super().__init__(title, button, parent)
        self.user_id = self.add_field("&User id", hint="1 to 64 characters, no spaces, e.g. jdoe",
                                      name="user-id")
        self.printed_name = self.add_field(
            "Printed &name", hint="as on signed records, e.g. DOE, JANE", name="printed-name")

    def _add_passwords(self) -> None:
        self.password = self.add_field("&Password", hint=MIN_PASSWORD_HINT, password=True,
                                       name="password")
        self.password_again = self.add_field("Password &again", password=True,
                                             name="password-again")

    def check(self) -> str:
        if not self.user_id.text().strip():
            return "Type the user id."
        if not self.printed_name.text().strip():
            return "Type the printed name, as it must appear on signed records."
        if self.password.text() != self.password_again.text():
            self.password.clear()
            self.password_again.clear()
            self.password.setFocus()
            return "The two passwords differ; type the new password twice again."
        return ""


class FirstAdministratorDialog(_NewAccountDialog):
    """The first account of a new record database: an administrator, no credentials needed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Create the first administrator", "&Create administrator", parent)
        self.setObjectName("first-administrator-dialog")
        self.set_icon(padlock_pixmap(40))
        self.add_text("This record database has no administrator yet. Create the administrator "
                      "account now: the administrator adds the technicians and supervisors who "
                      "save and sign records, and signs no records. Then log in.")
        self._add_passwords()
        self.user_id.setFocus()


class AddUserDialog(_NewAccountDialog):
    """A new account, created by the logged-in administrator (who types their password)."""

    def __init__(self, administrator: str, parent: QWidget | None = None) -> None:
        super().__init__("Add a user", "&Add user", parent)
        self.setObjectName("add-user-dialog")
        self.role = QComboBox(self)
        self.role.setObjectName("role")
        for value, label in ROLES:
            self.role.addItem(label, value)
        self.role.setAccessibleName("Role")
        caption = set_role(QLabel("&Role", self), "caption")
        caption.setBuddy(self.role)
        self.fields.addRow(caption, self.role)
        self._add_passwords()
        self.admin_password = self.add_field(f"Password of {administrator}", password=True,
                                             name="admin-password")
        self.add_text("Give the new person their password in private; five wrong passwords in "
                      "a row lock an account until an administrator resets it.")
        self.user_id.setFocus()

    def check(self) -> str:
        problem = super().check()
        if not problem and not self.admin_password.text():
            return "Type your own (administrator) password to confirm."
        return problem
