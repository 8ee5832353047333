"""Exceptional release, and the thaw as the physical event (issue 22, items 3 and 4).

FACT-JACIE (D11) has the medical director authorise the release of a product that does not meet
its release criteria, the recipient's physician told. A record blocked only by findings its
protocol lists (``exceptional_release``) is prepared and verified as usual and released by the
medical director with a reason and the physician's name; every document and ``record show`` say
EXCEPTIONAL RELEASE with the findings, the reason and the physician; the audit trail has it. A thaw
record can always be signed "Prepared by" — the bag was thawed — and the bag then leaves the
inventory only by infusion after a release, ordinary or exceptional, or by discard with a reason.

Every refusal is a test: the wrong role (technician, supervisor, administrator), an unlisted
finding, a record that is not blocked, no reason, no physician, an ordinary release of a blocked
record, the exception altered in the database.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from doseprep import workflow
from doseprep.store import (
    PermissionDeniedError,
    WorkflowError,
    add_user,
    events,
    get_record,
    release_exceptionally,
    save_draft,
    sign_record,
    verify_store,
)
from doseprep.store.inventory import AliquotState, discard, get_aliquot, infuse
from tests.conftest import load_case
from tests.doseprep.documents.conftest import decode_barcodes, page_texts
from tests.doseprep.store.helpers import People, current, reentry_of, run_cli
from tests.doseprep.store.test_inventory import PATIENT, released_freeze, thaw_request

pw = People.password
MD = "drdan"
REASON = "No other donor; the attending accepts 60 % viability for this infusion."
PHYSICIAN = "Dr. Paula Ortiz (attending)"
LOW = load_case("v01-basic-dl3")["request"]
LOW = LOW | {"product": LOW["product"] | {"viability_percent": 60}}


@pytest.fixture
def director(store, people) -> str:
    add_user(store, MD, "DIRECTOR, DAN", "medical_director", pw(MD), admin_id=people.admin,
             admin_password=pw(people.admin))
    return MD


def verified(store, people, request: dict) -> str:
    record = save_draft(store, workflow.compute_plan(request, store=store), people.tech)
    sign_record(store, record.ref, "prepare", people.tech, pw(people.tech))
    sign_record(store, record.ref, "verify", people.sup, pw(people.sup),
                reentry=reentry_of(record.request))
    return record.ref


def release(store, ref: str, user: str, **texts):
    return release_exceptionally(store, ref, user, pw(user),
                                 **({"reason": REASON, "physician": PHYSICIAN} | texts))


def test_a_fresh_record_blocked_by_low_viability_is_released_by_the_medical_director(
        store, people, director) -> None:
    ref = verified(store, people, LOW)
    assert get_record(store, ref).plan_status == "blocked"
    with pytest.raises(WorkflowError, match="only the medical director can release it"):
        sign_record(store, ref, "release", people.sup2, pw(people.sup2))
    with pytest.raises(PermissionDeniedError, match="a record is released by a supervisor"):
        sign_record(store, ref, "release", director, pw(director))  # not without --exceptional
    for who in (people.sup2, people.tech2, people.admin):
        with pytest.raises(PermissionDeniedError, match="only the medical director"):
            release(store, ref, who)
    for missing in ("reason", "physician"):
        with pytest.raises(WorkflowError, match=f"--{missing}"):
            release(store, ref, director, **{missing: "  "})
    released = release(store, ref, director)
    assert released.state.value == "released"
    sig = released.signatures[-1]
    assert (sig.user_id, sig.role, sig.meaning) == (director, "medical_director", "Released by")
    assert sig.exception["reason"] == REASON and sig.exception["physician"] == PHYSICIAN
    assert [f["code"] for f in sig.exception["findings"]] == ["LOW_VIABILITY"]
    event = [e for e in events(store) if e.action == "record_sign"][-1]
    assert event.new_value["exceptional_release"]["physician"] == PHYSICIAN
    assert event.reason.startswith("EXCEPTIONAL RELEASE")
    assert verify_store(store).ok


def test_its_documents_say_exceptional_release_and_scan_as_a_product(store, people, director):
    from doseprep.protocol import load_lab, load_protocol
    from doseprep.store import approve_lab, approve_protocol

    # Documents are for clinical use only with both files approved.
    approve_protocol(store, load_protocol(), people.admin, pw(people.admin))
    approve_lab(store, load_lab(), people.admin, pw(people.admin))
    ref = verified(store, people, LOW)
    release(store, ref, director)
    printed = workflow.render_record(store, ref, people.sup, releaser_password=pw(director))
    text = " ".join(" ".join(page_texts(printed.worksheet)).split())
    for words in ("EXCEPTIONAL RELEASE", "authorised by DIRECTOR, DAN (drdan), medical director",
                  "LOW_VIABILITY: Viability 60", REASON, f"physician told: {PHYSICIAN}"):
        assert words in text, words
    assert "NOT FOR CLINICAL USE" not in text  # released: both files approved
    label = " ".join(" ".join(page_texts(printed.labels)).split())
    assert "EXCEPTIONAL RELEASE of LOW_VIABILITY" in label and "Ortiz" in label
    assert "NOT FOR CLINICAL USE" not in label
    (codes,) = decode_barcodes(printed.labels)
    assert any(code.startswith("=<") for code in codes)  # the product code scans
    assert "EXCEPTIONAL RELEASE" in printed.zpl


def test_a_blocked_record_before_the_exceptional_release_has_no_product_label(
        store, people, director) -> None:
    ref = verified(store, people, LOW)
    printed = workflow.render_record(store, ref, people.sup)
    (codes,) = decode_barcodes(printed.labels)
    assert not any(code.startswith("=<") for code in codes)
    assert "NOT FOR CLINICAL USE" in " ".join(page_texts(printed.worksheet))


def test_an_unlisted_finding_blocks_every_signature(store, people, director) -> None:
    slip = LOW | {"product": LOW["product"] | {"viability_percent": 98, "cd3_percent": 0.4}}
    record = save_draft(store, workflow.compute_plan(slip, store=store), people.tech)
    with pytest.raises(WorkflowError, match="IMPLAUSIBLE_INPUT, which the protocol does not"):
        sign_record(store, record.ref, "prepare", people.tech, pw(people.tech))


def test_a_protocol_listing_nothing_releases_nothing(store, people, director, tmp_path) -> None:
    from doseprep.resources import resource_path

    path = tmp_path / "strict.toml"
    path.write_text(resource_path("protocols", "hmct-blinatumomab.toml").read_text("utf-8")
                    .replace('exceptional_release = ["DOSE_OUT_OF_TOLERANCE", "LOW_VIABILITY", '
                             '"PRODUCT_EXPIRED"]', "exceptional_release = []"), encoding="utf-8")
    record = save_draft(store, workflow.compute_plan(LOW | {"protocol": str(path)},
                                                     store=store), people.tech)
    with pytest.raises(WorkflowError, match="LOW_VIABILITY, which the protocol does not"):
        sign_record(store, record.ref, "prepare", people.tech, pw(people.tech))


def test_a_record_that_is_not_blocked_is_not_released_by_exception(store, people,
                                                                   director) -> None:
    ref = verified(store, people, load_case("v01-basic-dl3")["request"])
    with pytest.raises(WorkflowError, match="not blocked; release it as usual"):
        release(store, ref, director)


def test_the_medical_director_signs_nothing_else(store, people, director) -> None:
    record = save_draft(store, workflow.compute_plan(LOW, store=store), people.tech)
    with pytest.raises(PermissionDeniedError):
        sign_record(store, record.ref, "prepare", director, pw(director))
    sign_record(store, record.ref, "prepare", people.tech, pw(people.tech))
    with pytest.raises(PermissionDeniedError):
        sign_record(store, record.ref, "verify", director, pw(director),
                    reentry=reentry_of(record.request))


def test_the_exception_altered_in_the_database_is_found(store, people, director,
                                                        backend) -> None:
    ref = verified(store, people, LOW)
    release(store, ref, director)
    with store.write() as conn:
        if backend == "postgresql":
            conn.exec_driver_sql("ALTER TABLE signatures DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER signatures_no_update")
        conn.exec_driver_sql("UPDATE signatures SET exception_json = "
                             "replace(exception_json, 'Ortiz', 'Smith') "
                             "WHERE exception_json IS NOT NULL")
    report = verify_store(store)
    assert not report.ok and report.problem.table == "signatures"


# --- thaw records: the physical event --------------------------------------------------------

def test_a_thaw_blocked_by_low_viability_thaws_the_bag_and_is_released_by_exception(
        store, people, director) -> None:
    bag = f"{released_freeze(store, people)}:B0"
    request = thaw_request(store, bag, post_thaw={"wbc": "43 x10^3/uL", "sample_dilution": 1,
                                                  "cd3_percent": 40, "viability_percent": 40,
                                                  "sample_volume": "1 mL"})
    thaw = save_draft(store, workflow.compute_plan(request, store=store), people.tech)
    assert "LOW_VIABILITY" in {f["code"] for f in thaw.plan["findings"]}
    sign_record(store, thaw.ref, "prepare", people.tech, pw(people.tech))
    assert get_aliquot(store, bag).state is AliquotState.THAWED  # the thaw happened
    sign_record(store, thaw.ref, "verify", people.sup, pw(people.sup),
                reentry=reentry_of(thaw.request))
    with pytest.raises(WorkflowError, match="must be released before the bag is infused"):
        infuse(store, bag, people.tech)
    with pytest.raises(WorkflowError, match="only the medical director"):
        sign_record(store, thaw.ref, "release", people.sup2, pw(people.sup2))
    release(store, thaw.ref, director)
    assert infuse(store, bag, people.tech).state is AliquotState.INFUSED
    printed = workflow.render_record(store, thaw.ref, people.sup,
                                     releaser_password=pw(director))
    text = " ".join(" ".join(page_texts(printed.worksheet)).split())
    assert "EXCEPTIONAL RELEASE" in text and "DO NOT INFUSE" not in text
    assert "EXCEPTIONAL RELEASE" in " ".join(page_texts(printed.labels))
    assert verify_store(store).ok


def test_a_thaw_blocked_by_an_unlisted_finding_thaws_the_bag_which_is_only_discarded(
        store, people, director) -> None:
    """DMSO above the limit for today's 2 kg (unlisted): the bag was thawed all the same; the
    record is prepared (the physical event), never verified or released, and the bag leaves the
    inventory only by discard with a reason."""
    bag = f"{released_freeze(store, people)}:B0"
    request = thaw_request(store, bag, patient=PATIENT | {"weight": "2 kg"})
    thaw = save_draft(store, workflow.compute_plan(request, store=store), people.tech)
    assert "DMSO_LIMIT_EXCEEDED" in {f["code"] for f in thaw.plan["findings"]}
    sign_record(store, thaw.ref, "prepare", people.tech, pw(people.tech))
    assert get_aliquot(store, bag).state is AliquotState.THAWED
    with pytest.raises(WorkflowError, match="can never be released — discard the bag"):
        sign_record(store, thaw.ref, "verify", people.sup, pw(people.sup),
                    reentry=reentry_of(thaw.request))
    with pytest.raises(WorkflowError, match="must be released"):
        infuse(store, bag, people.tech)
    with pytest.raises(WorkflowError, match="needs a reason"):
        discard(store, bag, people.tech, " ")
    assert discard(store, bag, people.tech, "DMSO over the limit for 2 kg").state \
        is AliquotState.DISCARDED
    assert verify_store(store).ok


# --- the command line ------------------------------------------------------------------------

def test_the_exceptional_release_through_the_command_line(people, tmp_path: Path) -> None:
    done = run_cli("users", "add", MD, "--name", "DIRECTOR, DAN", "--role", "medical_director",
                   "--admin", people.admin, "--password-stdin",
                   stdin=f"{pw(people.admin)}\n{pw(MD)}\n")
    assert done.returncode == 0, done.stderr
    request = current(LOW)
    path = tmp_path / "low.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    reentry = tmp_path / "reentry.json"
    reentry.write_text(json.dumps(reentry_of(request)), encoding="utf-8")
    record_id = run_cli("record", "save", str(path), user=people.tech).stdout.strip()
    assert run_cli("record", "prepare", record_id, user=people.tech).returncode == 0
    assert run_cli("record", "verify", record_id, "--reentry", str(reentry),
                   user=people.sup).returncode == 0

    def refused(*args: str, user: str) -> str:
        done = run_cli("record", "release", record_id, *args, user=user)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        return done.stderr

    both = ("--exceptional", "--reason", REASON, "--physician", PHYSICIAN)
    assert "only the medical director can release it" in refused(user=people.sup2)
    assert "only the medical director signs an exceptional release" in refused(*both,
                                                                               user=people.sup2)
    assert "--reason" in refused("--exceptional", "--physician", PHYSICIAN, user=MD)
    assert "--physician" in refused("--exceptional", "--reason", REASON, user=MD)
    assert "--exceptional" in refused("--reason", REASON, user=MD)
    done = run_cli("record", "release", record_id, *both, user=MD)
    assert done.returncode == 0, done.stderr
    assert "EXCEPTIONAL RELEASE of LOW_VIABILITY" in done.stdout
    shown = run_cli("record", "show", record_id, user=people.sup).stdout
    for words in ("EXCEPTIONAL RELEASE of LOW_VIABILITY", REASON, PHYSICIAN, "medical director",
                  "LOW_VIABILITY: Viability 60"):
        assert words in shown, words
    data = json.loads(run_cli("record", "show", record_id, "--json", user=people.sup).stdout)
    assert data["signatures"][-1]["exceptional_release"]["reason"] == REASON
    out = tmp_path / "w.pdf"
    # The worksheet of a released record is signed by its releaser, who types their password.
    assert run_cli("record", "print", record_id, "-o", str(out), user=people.sup,
                   stdin=pw(MD) + "\n").returncode == 0
    assert "EXCEPTIONAL RELEASE" in " ".join(page_texts(out.read_bytes()))
    trail = tmp_path / "audit.csv"
    assert run_cli("audit", "export", "-o", str(trail), user=people.sup).returncode == 0
    assert "EXCEPTIONAL RELEASE" in trail.read_text("utf-8")
    assert run_cli("audit", "verify").returncode == 0


def test_a_store_row_for_a_medical_director_is_a_role_of_its_own(store, people) -> None:
    from doseprep.store.schema import users

    add_user(store, MD, "DIRECTOR, DAN", "medical director", pw(MD), admin_id=people.admin,
             admin_password=pw(people.admin))
    with store.read() as conn:
        assert conn.execute(sa.select(users.c.role).where(users.c.user_id == MD)).scalar() \
            == "medical_director"
