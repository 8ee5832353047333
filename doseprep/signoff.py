"""The signing table: the record states, the user roles and the three signatures between them.

One table, used by the store (which enforces it), the use cases (which say what a user may do
now), the documents (which print a signature block per step) and both shells. Nothing outside
this module compares a state or a role with a string: they compare these enums.

    DRAFT --prepare--> PREPARED --verify--> VERIFIED --release--> RELEASED
          technician or       supervisor,           supervisor,
          supervisor          not the preparer      not the preparer

A record blocked only by findings its protocol lists for exceptional release (doseprep.release)
is prepared and verified the same way; its release is signed by the **medical director** (not the
preparer) with a reason and the name of the recipient's physician who was told — an
*exceptional release* (FACT-JACIE D11).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    """Where a record version is in its life; only DRAFT can change."""

    DRAFT = "draft"
    PREPARED = "prepared"
    VERIFIED = "verified"
    RELEASED = "released"

    @property
    def signed(self) -> bool:
        return self is not State.DRAFT

    @property
    def words(self) -> str:
        """As a strip, a document or a table writes it: DRAFT, PREPARED, ..."""
        return self.value.upper()


class Role(StrEnum):
    """What an account may do."""

    TECHNICIAN = "technician"
    SUPERVISOR = "supervisor"
    ADMINISTRATOR = "administrator"
    #: Authorises the release of a product that does not meet its release criteria; signs
    #: nothing else.
    MEDICAL_DIRECTOR = "medical_director"


class Step(StrEnum):
    """A signature of the workflow, as the command line and the window name it."""

    PREPARE = "prepare"
    VERIFY = "verify"
    RELEASE = "release"


@dataclass(frozen=True)
class SigningStep:
    """One signature: from which state to which, its meaning and who may sign."""

    name: Step
    before: State
    after: State
    meaning: str
    roles: frozenset[Role]
    #: The signer must not be the person who signed "Prepared by" (a second person).
    not_the_preparer: bool
    #: The signer re-types key values from the source documents without seeing the record's.
    blind: bool


STEPS: dict[Step, SigningStep] = {
    Step.PREPARE: SigningStep(Step.PREPARE, State.DRAFT, State.PREPARED, "Prepared by",
                              frozenset({Role.TECHNICIAN, Role.SUPERVISOR}), False, False),
    Step.VERIFY: SigningStep(Step.VERIFY, State.PREPARED, State.VERIFIED, "Verified by",
                             frozenset({Role.SUPERVISOR}), True, True),
    Step.RELEASE: SigningStep(Step.RELEASE, State.VERIFIED, State.RELEASED, "Released by",
                              frozenset({Role.SUPERVISOR}), True, False),
}

#: The signature meanings in the order they are signed (a worksheet's signature block).
MEANINGS: tuple[str, ...] = tuple(step.meaning for step in STEPS.values())

#: Who may create, edit and correct records.
EDITORS = frozenset({Role.TECHNICIAN, Role.SUPERVISOR})

#: Who manages accounts (and signs nothing).
ACCOUNT_MANAGERS = frozenset({Role.ADMINISTRATOR})

#: Who signs an exceptional release (and nothing else).
EXCEPTIONAL_RELEASERS = frozenset({Role.MEDICAL_DIRECTOR})

#: States in which a record's bag label is a product label (scannable, no watermark).
USABLE_STATES = frozenset({State.VERIFIED, State.RELEASED})


def step_into(state: State | str) -> SigningStep | None:
    """The step whose signature puts a record in ``state`` (None for DRAFT)."""
    state = State(state)
    return next((step for step in STEPS.values() if step.after is state), None)


def step_from(state: State | str) -> SigningStep | None:
    """The step that a record in ``state`` waits for (None when RELEASED)."""
    state = State(state)
    return next((step for step in STEPS.values() if step.before is state), None)


def step_named(name: str) -> SigningStep:
    """The step called ``name`` ("prepare", "verify", "release"); ValueError otherwise."""
    return STEPS[Step(name)]
