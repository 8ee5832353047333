"""The record store: preparation records, users and roles, electronic signatures, the audit trail.

One API over SQLite (one workstation, the default) and PostgreSQL (a lab; set
``DOSEPREP_DATABASE_URL``). Open it with :func:`open_store`; every function takes the
:class:`Store`. Documents get a record's :class:`~doseprep.manifest.RecordInfo` from
:func:`record_info` or, when printing, :func:`register_print` (which audits the print and marks
reprints). Importing this package imports SQLAlchemy and argon2; the command line does so only in
the handlers that need it.
"""

from doseprep.store.accounts import add_user, disable_user, reset_password
from doseprep.store.audit import AuditEvent, events, export_csv
from doseprep.store.audit import head_of as audit_head
from doseprep.store.engine import Store, database_url, open_store
from doseprep.store.errors import (
    AccountDisabledError,
    AccountLockedError,
    ImmutableRecordError,
    InfusionExpiredError,
    PermissionDeniedError,
    RecordNotFoundError,
    ReentryMismatchError,
    SignatureRefusedError,
    StaleRecordError,
    StoreError,
    StoreUnavailableError,
    UserError,
    WorkflowError,
)
from doseprep.store.history import (
    earlier_print,
    earlier_prints,
    list_records,
    print_history,
    print_words,
    register_print,
)
from doseprep.store.protocols import (
    approve_lab,
    approve_protocol,
    lab_approval,
    list_approvals,
    list_lab_approvals,
    protocol_approval,
    with_approval,
    with_lab_approval,
)
from doseprep.store.records import (
    PrintEvent,
    RecordSummary,
    Signature,
    State,
    StoredRecord,
    correct_record,
    edit_draft,
    get_record,
    record_info,
    save_draft,
)
from doseprep.store.reentry import compare_reentry
from doseprep.store.sign import (
    prepare_record,
    release_exceptionally,
    release_record,
    sign_record,
    verify_record,
)
from doseprep.store.users import Role, User, administrator_exists, authenticate, list_users
from doseprep.store.verify import VerifyReport, verify_store

__all__ = [
    "AccountDisabledError",
    "AccountLockedError",
    "AuditEvent",
    "ImmutableRecordError",
    "InfusionExpiredError",
    "PermissionDeniedError",
    "PrintEvent",
    "RecordNotFoundError",
    "RecordSummary",
    "ReentryMismatchError",
    "Role",
    "Signature",
    "SignatureRefusedError",
    "StaleRecordError",
    "State",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "StoredRecord",
    "User",
    "UserError",
    "VerifyReport",
    "WorkflowError",
    "add_user",
    "administrator_exists",
    "approve_lab",
    "approve_protocol",
    "audit_head",
    "authenticate",
    "compare_reentry",
    "correct_record",
    "database_url",
    "disable_user",
    "earlier_print",
    "earlier_prints",
    "edit_draft",
    "events",
    "export_csv",
    "get_record",
    "lab_approval",
    "list_approvals",
    "list_lab_approvals",
    "list_records",
    "list_users",
    "open_store",
    "prepare_record",
    "print_history",
    "print_words",
    "protocol_approval",
    "record_info",
    "register_print",
    "release_exceptionally",
    "release_record",
    "reset_password",
    "save_draft",
    "sign_record",
    "verify_record",
    "verify_store",
    "with_approval",
    "with_lab_approval",
]
