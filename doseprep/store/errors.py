"""The errors the record store raises for a person to read.

Each is a :class:`~doseprep.errors.DoseprepError` carrying one sentence in the lab's words that says
what is wrong and what to do. The command line prints it on one line and exits with status 2
(:class:`StoreUnavailableError`: 69); the window shows it in a dialog. Nothing here touches a
screen.
"""

from __future__ import annotations

from doseprep.errors import DoseprepError


class StoreError(DoseprepError):
    """Base of the record store's errors."""


class StoreUnavailableError(StoreError):
    """The record database cannot be opened or reached."""


class RecordNotFoundError(StoreError):
    """No record has the id that was given."""


class StaleRecordError(StoreError):
    """Someone else saved the record since it was opened (optimistic locking)."""


class WorkflowError(StoreError):
    """The step asked for is not allowed in the record's state, or not for this person."""


class ImmutableRecordError(WorkflowError):
    """A signed record cannot be changed; it can only be corrected by a new version."""


class SignatureRefusedError(StoreError):
    """Wrong user id or password (the message never says which)."""


class AccountLockedError(SignatureRefusedError):
    """Too many consecutive wrong passwords; an administrator must reset the password."""


class AccountDisabledError(SignatureRefusedError):
    """The account was disabled by an administrator."""


class PermissionDeniedError(StoreError):
    """The user's role does not allow this step."""


class InfusionExpiredError(WorkflowError):
    """INFUSION_EXPIRED: the infusion's expiry has passed; signing, releasing and printing labels
    are refused (issue 9: a form left open showed OK for an infusion that had expired)."""

    code = "INFUSION_EXPIRED"


class TrailRolledBackError(StoreError):
    """The audit trail is behind what it was: its head moved back, or this workstation saw
    later rows (issue 25); nothing is written until the lab looks into it."""


class ValueRefusedError(StoreError):
    """The database refused a value (too long, too large, a NUL character); nothing was written."""


class UserError(StoreError):
    """A user account cannot be created or changed as asked."""


class ReentryMismatchError(WorkflowError):
    """The verifier's blind re-entry differs from what the preparer entered."""

    def __init__(self, fields: tuple[str, ...]) -> None:
        super().__init__(
            "verification stopped: the re-entered value of " + ", ".join(fields)
            + (" does" if len(fields) == 1 else " do")
            + " not match what the preparer entered; check the source documents with the "
            "preparer before verifying.")
        self.fields = fields


#: Longest reason a person may give (a correction, a discard, disabling an account): it is kept
#: with the record and the audit trail and printed; longer is a paste gone wrong.
MAX_REASON = 500


def checked_reason(reason: str | None, missing: str | None) -> str | None:
    """A reason as typed, stripped; ``missing`` is the refusal when none is given (None: the
    reason is optional). Too long, or holding a NUL character, is refused before anything is
    written (SQLite would keep 10 000 characters where PostgreSQL refuses them)."""
    text = (reason or "").strip()
    if not text:
        if missing is not None:
            raise WorkflowError(missing)
        return None
    if len(text) > MAX_REASON:
        raise WorkflowError(f"the reason is {len(text)} characters long; give it in at most "
                            f"{MAX_REASON} (it is kept with the record and printed).")
    if "\x00" in text:
        raise WorkflowError("the reason holds a NUL character; type it again.")
    return text
