"""The use cases: what a technician or a supervisor does with a preparation, for both shells.

The command line and the window call these (the store is imported when first needed, so the
window starts without loading the database layer); neither computes a plan, hashes a record or
decides what may be done on its own. Below this layer the store stores (and enforces the signing
table again, whatever the caller) and the documents render from values.

- :func:`compute_plan` — a request (JSON shape) to a plan, as ``doseprep plan`` does;
- :func:`stored_plan` — a saved record's plan as it was signed, for its documents;
- :func:`signing_hash` — the record hash a signer is shown and binds;
- :func:`why_not_sign` and :func:`allowed_actions` — what the store would refuse, said before any
  typing, so a button is disabled with the reason as its tooltip;
- :func:`plan_deadlines` and :func:`record_deadlines` — when what a screen shows expires, and what
  it must say then (a screen left open is read later than it was computed);
- :func:`render_record` — the documents of a print of a saved record (audited by the caller once
  the print is real: :func:`doseprep.store.register_print`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from doseprep.deadlines import Deadline, deadlines, product_age_limit
from doseprep.signoff import ACCOUNT_MANAGERS, EDITORS, STEPS, State, Step, step_named

if TYPE_CHECKING:
    from doseprep.manifest import RecordInfo
    from doseprep.signatures.pades import SigningMaterial
    from doseprep.store import Store, StoredRecord, User
    from doseprep.store.content import AnyPlan


# --- plans -----------------------------------------------------------------------------------

def compute_plan(request: Mapping[str, Any], protocol: str | None = None,
                 lab: str | None = None, *, store: Store | None = None,
                 keyboard: bool = False) -> AnyPlan:
    """Parse a request (JSON shape) and compute its plan with the domain, as ``doseprep plan``
    (or ``freeze`` / ``thaw`` when the request says ``"kind"``); with ``store``, the protocol
    and the lab file carry the store's approvals of their fingerprints. ``keyboard``: the request
    was typed in a form, so a typed DIN needs its check character (a request file or a record may
    omit it)."""
    from doseprep.protocol import load_lab, load_protocol
    from doseprep.request import DEFAULT_PROTOCOL, protocol_reference

    named = (protocol_reference(request) if isinstance(request, Mapping)
             and request.get("protocol") is not None else None)  # checked before it is opened
    chosen = load_protocol(protocol or named or DEFAULT_PROTOCOL)
    return plan_with(request, chosen, load_lab(lab), store=store, keyboard=keyboard)


def plan_with(request: Mapping[str, Any], protocol: Any, lab: Any, *,
              store: Store | None = None, keyboard: bool = False) -> AnyPlan:
    """The plan of a request with these loaded settings (a :class:`~doseprep.protocol.Protocol`
    and :class:`~doseprep.protocol.LabSettings`), with the store's approvals when given."""
    from doseprep.plans.freeze import freeze_plan, parse_freeze_request
    from doseprep.plans.fresh import plan
    from doseprep.plans.thaw import parse_thaw_request, thaw_plan
    from doseprep.request import parse_request

    if store is not None:
        from doseprep.store.protocols import with_approval, with_lab_approval

        protocol = with_approval(store, protocol)
        lab = with_lab_approval(store, lab)
    kind = request_kind(request)
    if kind == "freeze":
        return freeze_plan(parse_freeze_request(request, zone=lab.time_zone,
                                                protocol=protocol, keyboard=keyboard),
                           protocol, lab)
    if kind == "thaw":
        return thaw_plan(parse_thaw_request(request, zone=lab.time_zone), protocol, lab)
    return plan(parse_request(request, zone=lab.time_zone, keyboard=keyboard), protocol, lab)


def kept_settings(record: StoredRecord) -> tuple[Any, Any] | None:
    """The protocol and lab settings a record was computed with, from the exact texts it keeps
    (None for a record saved before they were kept: its files are read from disk)."""
    if record.protocol_text is None or record.lab_text is None:
        return None
    from doseprep.protocol import lab_from_text, protocol_from_text

    return (protocol_from_text(record.protocol_text, f"the protocol kept with {record.ref}"),
            lab_from_text(record.lab_text, f"the lab settings kept with {record.ref}",
                          kept_before_r3=record.lab_text_sha256 is None))


def request_kind(request: Any) -> str:
    """``fresh``, ``freeze`` or ``thaw``: which plan a request (JSON shape) asks for."""
    kind = request.get("kind") if isinstance(request, Mapping) else None
    return kind if kind in ("freeze", "thaw") else "fresh"


def plan_to_json(plan: AnyPlan) -> dict[str, Any]:
    """A plan of any kind as its JSON (what a record stores)."""
    from doseprep.plans.freeze import FreezePlan, freeze_to_dict
    from doseprep.plans.fresh_report import plan_to_dict
    from doseprep.plans.thaw import ThawPlan, thaw_to_dict

    if isinstance(plan, FreezePlan):
        return freeze_to_dict(plan)
    if isinstance(plan, ThawPlan):
        return thaw_to_dict(plan)
    return plan_to_dict(plan)


def thaw_request_from_store(store: Store, request: Mapping[str, Any], *,
                            aliquot: str | None = None,
                            scan: tuple[str, str] | None = None) -> dict[str, Any]:
    """A thaw request with its bag's data filled from the inventory: the bag named by
    ``aliquot`` (``PREP-2026-000001/v1:B0``), by the scanned DIN and product code of its label
    (``scan``), or by the request's ``aliquot_ref``. Refused (:class:`WorkflowError`) for a bag
    that is not frozen, of another patient, expired frozen, or whose typed data differ."""
    from doseprep.errors import InputError
    from doseprep.request.fields import _timestamp
    from doseprep.store.errors import WorkflowError
    from doseprep.store.inventory import _normal, aliquot_by_scan, thaw_source

    data = dict(request)
    if scan is not None:
        aliquot = aliquot_by_scan(store, *scan).ref
    ref = aliquot or data.get("aliquot_ref")
    if not isinstance(ref, str) or not ref.strip():
        raise WorkflowError("name the frozen bag: --aliquot PREP-2026-000001/v1:B0, or scan "
                            "its label (--scan DIN PRODUCT_CODE).")
    patient = data.get("patient")
    mrn = patient.get("id") if isinstance(patient, Mapping) else None
    if not isinstance(mrn, str) or not mrn.strip():
        raise InputError("patient.id", "Give the patient's MRN: the bag is checked against it.")
    try:
        thawed_at = _timestamp(data.get("thawed_at"), "thawed_at", "thawing date and time",
                               None, [])
    except InputError:
        thawed_at = None  # reported with every other field when the request is parsed
    with store.read() as conn:
        section = thaw_source(conn, ref, mrn=mrn, thawed_at=thawed_at)
    if "aliquot" in data and _normal(data["aliquot"]) != _normal(section):
        raise InputError("aliquot", f"The bag data typed here are not what the freeze record of "
                                    f"{ref} says; leave \"aliquot\" out and doseprep fills it.")
    data["aliquot"] = section
    data["aliquot_ref"] = ref.strip() if aliquot is None else aliquot
    return data


def stored_plan(record: StoredRecord, protocol: str | None = None,
                lab: str | None = None, *, store: Store | None = None) -> AnyPlan:
    """The record's plan as it was signed, for documents.

    The stored request is computed again — with the exact protocol and lab file texts the record
    keeps (issue 22; ``protocol`` and ``lab`` only for a record saved before they were kept) —
    and every number, the status, the dose level and the finding codes must equal the stored
    plan's (else :class:`WorkflowError`: other protocol or lab settings, or another calculation
    — a document never prints numbers that are not the record's). Wording is not compared: the
    instruction, findings and steps printed are the stored ones, as signed, so a later release
    that rewords a message never makes an old record unprintable (issues 9 and 11).
    """
    from doseprep.calc.checks import APPROVAL_NOTES
    from doseprep.plans.fresh import Finding, PreparationPlan, Severity
    from doseprep.plans.fresh import Step as PlanStep
    from doseprep.store.errors import WorkflowError

    kept = kept_settings(record)
    if kept is not None:  # the exact files it was signed with, whatever is on disk now
        plan = plan_with(record.request, *kept, store=store)
    else:
        plan = compute_plan(record.request, protocol, lab, store=store)
    now, saved = signed_content(plan_to_json(plan)), signed_content(record.plan)
    if now != saved:
        differing = sorted(k for k in now.keys() | saved.keys() if now.get(k) != saved.get(k))
        raise WorkflowError(f"the plan computed now for {record.ref} differs from the one saved "
                            f"in {', '.join(differing)} (different protocol or lab settings, or "
                            "a changed calculation); use the protocol and lab files the record "
                            "names, or correct it.")
    stored = record.plan
    findings = tuple(Finding(f["code"], Severity(f["severity"]), f["message"])
                     for f in stored["findings"] if f["code"] not in APPROVAL_NOTES)
    # The approval notes follow the store's approvals now, not at saving (see signed_content).
    findings += tuple(f for f in plan.findings if f.code in APPROVAL_NOTES)
    steps = tuple(PlanStep(s["name"], s["formula"], s["substituted"], s["result"])
                  for s in stored["steps"])
    if isinstance(plan, PreparationPlan):
        return replace(plan, findings=findings, steps=steps,
                       signed_instruction=stored["instruction"])
    return replace(plan, findings=findings, steps=steps)


# What a reprint must match: the plan's numbers and codes, not its wording.
_WORDING = frozenset({"instruction", "steps", "doseprep_version"})


def signed_content(plan: Mapping[str, Any]) -> dict[str, Any]:
    """A plan's JSON reduced to what a document must reproduce exactly: every number, the
    status, the dose level, the protocol and lab identities, and the finding codes with their
    severities. Left out: wording (instruction, messages, step texts), the program version, and
    the protocol's and lab file's approval states with the PROTOCOL_NOT_APPROVED and
    LAB_NOT_APPROVED notes that follow them (an approval may be granted after saving)."""
    from doseprep.calc.checks import APPROVAL_NOTES

    out = {k: v for k, v in plan.items() if k not in _WORDING}
    if isinstance(out.get("protocol"), dict):
        out["protocol"] = {k: v for k, v in out["protocol"].items()
                           if k in ("id", "version", "fingerprint")}
    if isinstance(out.get("lab"), dict):
        out["lab"] = {k: v for k, v in out["lab"].items() if k == "fingerprint"}
    if isinstance(out.get("findings"), list):
        out["findings"] = [(f.get("code"), f.get("severity")) for f in out["findings"]
                           if isinstance(f, dict) and f.get("code") not in APPROVAL_NOTES]
    return out


# --- expiry at an instant --------------------------------------------------------------------

def plan_deadlines(plan: AnyPlan, *, done: bool = False) -> tuple[Deadline, ...]:
    """When a computed plan (a form's, a tab's) stops being usable, and what to say then:
    a fresh plan's infusion expiry and its product's maximum age, a freeze plan's product age and
    frozen expiry, a thaw plan's frozen expiry and infuse-by time (see
    :func:`doseprep.deadlines.deadlines`; ``done``: the product was acted on under it)."""
    from doseprep.plans.fresh import PreparationPlan

    zone = plan.lab.time_zone
    if isinstance(plan, PreparationPlan):  # the cryo modules load only with a cryo plan
        return deadlines("fresh", done=done, zone=zone, infusion=plan.expires_at,
                         product=_product_limit(plan))
    from doseprep.plans.thaw import ThawPlan

    if isinstance(plan, ThawPlan):
        return deadlines("thaw", done=done, zone=zone, infusion=plan.infuse_by,
                         frozen=plan.request.aliquot.frozen_expires_at)
    return deadlines("freeze", done=done, zone=zone, product=_product_limit(plan),
                     frozen=plan.frozen_expires_at)


def _product_limit(plan: Any) -> datetime:
    return product_age_limit(plan.request.product.collected_at, plan.protocol.max_product_age)


def record_deadlines(record: StoredRecord, zone: str | None = None) -> tuple[Deadline, ...]:
    """The deadlines of a saved record, from what it stores (the expiry its plan was signed
    with): a signed record's product was acted on. ``zone``: the site's, for the words."""

    def instant(value: Any) -> datetime | None:
        return datetime.fromisoformat(value) if isinstance(value, str) and value else None

    plan, done = record.plan, record.state.signed
    if record.kind == "thaw":
        aliquot = record.request.get("aliquot")
        frozen = aliquot.get("frozen_expires_at") if isinstance(aliquot, Mapping) else None
        return deadlines("thaw", done=done, zone=zone, infusion=instant(plan.get("infuse_by")),
                         frozen=instant(frozen))
    if record.kind == "freeze":
        return deadlines("freeze", done=done, zone=zone,
                         frozen=instant(plan.get("frozen_expires_at")))
    return deadlines("fresh", done=done, zone=zone, infusion=instant(plan.get("expires_at")))


# --- signing ---------------------------------------------------------------------------------

def signing_hash(record: StoredRecord, step: Step | str) -> str:
    """The SHA-256 that signing ``step`` on ``record`` binds: show it to the signer and pass it
    to :func:`doseprep.store.sign_record` as ``expected_hash`` (the store refuses the signature
    if the record is another by then)."""
    from doseprep.store.sign import hash_to_sign

    return hash_to_sign(record, step_named(step).after.value)


def why_not_sign(record: StoredRecord, step: Step | str, user: User | None,
                 now: datetime | None = None) -> str | None:
    """Why the store would refuse ``user`` the signature ``step`` on ``record`` now, in words for
    a tooltip; None when it would not (the password aside). Pure: the window disables what the
    store would refuse only after all the typing (issue 9)."""
    from doseprep.store.expiry import infusion_expired_at

    spec = step_named(step)
    if user is None:
        return "Log in first."
    if record.state is not spec.before:
        return (f"{record.ref} is {record.state.words}; \"{spec.meaning}\" signs a "
                f"{spec.before.words} record.")
    if user.role not in spec.roles:
        allowed = " or ".join(sorted(r.value for r in spec.roles))
        return f"You are a {user.role.value}; \"{spec.meaning}\" is signed by a {allowed}."
    if spec.not_the_preparer:
        preparer = preparer_of(record)
        if preparer == user.user_id:
            return (f"You prepared {record.ref}; a different person must sign "
                    f"\"{spec.meaning}\".")
    refusal = _blocked_refusal(record, spec, exceptional=False)
    if refusal is not None:
        return refusal
    expired = infusion_expired_at(record.plan, now)
    if expired is not None:
        return (f"INFUSION_EXPIRED: the infusion expired at {expired:%Y-%m-%d %H:%M}; it cannot "
                "be signed.")
    return None


def _blocked_refusal(record: StoredRecord, spec: Any, *, exceptional: bool) -> str | None:
    from doseprep.release import blocked_refusal

    refusal = blocked_refusal(record.plan, record.kind, spec, exceptional)
    return None if refusal is None else refusal[0].upper() + refusal[1:]


def why_not_release_exceptionally(record: StoredRecord | None, user: User | None,
                                  now: datetime | None = None) -> str | None:
    """Why the store would refuse ``user`` an exceptional release of ``record`` now (None when
    it would not): the medical director's, for a verified record blocked only by findings its
    protocol lists, by someone other than its preparer, before its infusion expires."""
    from doseprep.signoff import EXCEPTIONAL_RELEASERS
    from doseprep.store.expiry import infusion_expired_at

    spec = step_named(Step.RELEASE)
    if user is None:
        return "Log in first."
    if record is None:
        return "Open a record first."
    if record.state is not spec.before or record.superseded_by is not None:
        return (f"{record.ref} is {record.state.words}; an exceptional release signs a newest "
                "VERIFIED record.")
    if user.role not in EXCEPTIONAL_RELEASERS:
        return f"You are a {user.role.value}; only the medical director releases by exception."
    if preparer_of(record) == user.user_id:
        return f"You prepared {record.ref}; a different person must release it."
    refusal = _blocked_refusal(record, spec, exceptional=True)
    if refusal is not None:
        return refusal
    expired = infusion_expired_at(record.plan, now)
    if expired is not None:
        return (f"INFUSION_EXPIRED: the infusion expired at {expired:%Y-%m-%d %H:%M}; it cannot "
                "be signed.")
    return None


def preparer_of(record: StoredRecord) -> str | None:
    """Who signed "Prepared by" on ``record`` (None before it is prepared)."""
    return next((s.user_id for s in record.signatures if s.state is State.PREPARED), None)


def blind_for(record: StoredRecord | None, user: User | None) -> bool:
    """Whether ``user`` must not see ``record``'s values: it waits for a blind verification and
    they are not its preparer (a verifier re-types the key values without seeing them)."""
    if record is None or record.superseded_by is not None:
        return False
    waiting = next((s for s in STEPS.values() if s.before is record.state), None)
    if waiting is None or not waiting.blind:
        return False
    return user is None or preparer_of(record) != user.user_id


@dataclass(frozen=True)
class Actions:
    """What the user may do now with what is on screen; ``reasons`` says why a signature is not
    available (for its button's tooltip) when the store would refuse it."""

    save: bool
    sign: Mapping[Step, bool]
    reasons: Mapping[Step, str]
    correct: bool
    print: bool
    manage_accounts: bool


def allowed_actions(record: StoredRecord | None, user: User | None, *, has_plan: bool,
                    dirty: bool, correcting: bool, now: datetime | None = None) -> Actions:
    """What ``user`` may do with ``record`` (None: a form not saved yet) now.

    ``has_plan``: the form computes a plan; ``dirty``: the form differs from the record;
    ``correcting``: a correction of the record is being typed. Pure: the window enables its
    buttons from this and the store refuses the rest anyway."""
    active = user is not None
    latest = record is not None and record.superseded_by is None
    draft = record is not None and record.state is State.DRAFT
    editor = active and user.role in EDITORS
    sign: dict[Step, bool] = {}
    reasons: dict[Step, str] = {}
    for step, spec in STEPS.items():
        ready = (record is not None and latest and not correcting and not dirty
                 and record.state is spec.before)
        reason = why_not_sign(record, step, user, now) if ready else None
        if reason is not None:
            reasons[step] = reason
        sign[step] = active and ready and reason is None
    return Actions(
        save=editor and has_plan and (record is None or correcting or (draft and latest
                                                                       and dirty)),
        sign=sign, reasons=reasons,
        correct=editor and record is not None and record.state.signed and latest
        and not correcting,
        # A Draft has nothing signed to print (its documents come from the form's preview,
        # marked DRAFT — NOT FOR USE); a Prepared record prints for the verifier, marked so.
        print=(active and record is not None and record.state.signed and not dirty
               and not correcting),
        manage_accounts=active and user.role in ACCOUNT_MANAGERS)


# --- printing --------------------------------------------------------------------------------

def worksheet_signer_for(store: Store, ref: str, password: str) -> SigningMaterial | None:
    """The releaser's key for record ``ref``'s worksheets, unsealed with their ``password`` (the
    window keeps it for the session, so that printing right after releasing asks nothing more);
    None when ``ref`` is not released."""
    from doseprep.store import get_record
    from doseprep.store.worksheet_signer import worksheet_signer

    return worksheet_signer(store, get_record(store, ref), password)


def released_by(store: Store, ref: str) -> tuple[str, str] | None:
    """Who released record ``ref`` (user id, printed name) — whose password signs its worksheet
    — or None when it is not released."""
    from doseprep.store import get_record
    from doseprep.store.worksheet_signer import releaser_of

    return releaser_of(get_record(store, ref))
def _ledger_line(store: Store, record: StoredRecord) -> str | None:
    """The ledger line a fresh or freeze record's worksheet prints."""
    from doseprep.store.ledger import DRAWING_KINDS, ledger_line, product_ledger

    if record.kind not in DRAWING_KINDS:
        return None
    return ledger_line(product_ledger(store, record.din), record.ref)


@dataclass(frozen=True)
class PrintedRecord:
    """The documents of one print of a record version (not yet registered as printed)."""

    info: RecordInfo  # as the worksheet carries it (its REPRINT)
    plan: AnyPlan  # as signed (its findings and protocol say whether it is for clinical use)
    worksheet: bytes  # digitally signed PDF
    labels: bytes
    zpl: str
    labels_info: RecordInfo | None = None  # as the labels carry it (their own REPRINT)

    @property
    def marks(self) -> dict[str, int]:
        """The earlier prints each document was rendered with (what its paper says), for
        :func:`doseprep.store.register_print`'s ``marked``."""
        return {"worksheet": self.info.reprint,
                "labels": (self.labels_info or self.info).reprint}


def render_record(store: Store, ref: str, user_id: str, *, page_size: str = "letter",
                  protocol: str | None = None, lab: str | None = None,
                  zpl_dpi: int = 203, labels: bool = True,
                  releaser_password: str | None = None,
                  signer: SigningMaterial | None = None) -> PrintedRecord:
    """Render the documents of a print of record ``ref`` by ``user_id`` (who must be allowed to
    print); each document (worksheet, labels) says REPRINT when it was really printed before for
    this version in the same signed state. Nothing is audited here: the caller writes the files
    (or sends the print job) and only then calls :func:`doseprep.store.register_print` — a
    preview that is closed, or a write that fails, is never a print, and REPRINT means a real
    earlier print (issue 9) of the same document in the same state (issue 21).

    A released record's worksheet is signed by the person who released it, with their own key:
    ``releaser_password`` is theirs, typed by them at print time, whoever prints
    (:func:`doseprep.store.worksheet_signer.worksheet_signer`, issue 25; :func:`released_by`
    names them) — or ``signer``, their key unsealed earlier in this session
    (:func:`worksheet_signer_for`). Any other worksheet is signed by the installation, a draft.

    With ``labels``, an expired infusion is refused (INFUSION_EXPIRED): its worksheet can still
    be printed for the file, never a bag label. Without, no labels are made (empty)."""
    from doseprep.documents.record_print import render_documents
    from doseprep.store import audit_head
    from doseprep.store.canonical import utc_now
    from doseprep.store.expiry import check_not_expired
    from doseprep.store.history import check_can_print, earlier_prints
    from doseprep.store.worksheet_signer import releaser_of, worksheet_signer

    record = check_can_print(store, ref, user_id)
    if signer is None or releaser_of(record) is None:
        signer = worksheet_signer(store, record, releaser_password)
    if labels:
        check_not_expired(record.plan, record.ref, "get a bag label")
    plan = stored_plan(record, protocol, lab, store=store)
    info = replace(record.info(), audit_checkpoint=audit_head(store),
                   ledger_line=_ledger_line(store, record))
    documents = render_documents(plan, info, page_size=page_size, zpl_dpi=zpl_dpi,
                                 earlier=earlier_prints(store, record.ref), now=utc_now(),
                                 labels=labels, signer=signer)
    return PrintedRecord(info=documents.worksheet_info, plan=plan,
                         worksheet=documents.worksheet, labels=documents.labels,
                         zpl=documents.zpl, labels_info=documents.labels_info)
