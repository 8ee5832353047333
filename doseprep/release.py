"""Which blocked plans may go on: the protocol's exceptional release (DESIGN.md, Revision 3).

FACT-JACIE has the medical director authorise the release of a product that does not meet its
release criteria, the recipient's physician told. The protocol lists the blocking findings that
may be released this way (``exceptional_release``; never an unconfirmed slip, too little product,
a volume that cannot be measured or a bag that cannot hold the aliquot). A record blocked only by
listed findings can be prepared and verified as usual and released by the medical director with
a reason and the physician's name; a thaw record is a physical event — the bag was thawed — and
may always be signed "Prepared by".

These functions read a plan's JSON as a record stores it (the protocol's list travels in it), so
the store, the use cases and both shells decide alike without loading the calculation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from doseprep.signoff import SigningStep, Step


def blocking_codes(plan: Mapping[str, Any]) -> tuple[str, ...]:
    """The codes of the plan's blocking findings, in order, each once."""
    codes: list[str] = []
    for finding in plan.get("findings", ()):
        if isinstance(finding, Mapping) and finding.get("severity") == "block" \
                and finding.get("code") not in codes:
            codes.append(str(finding.get("code")))
    return tuple(codes)


def releasable_codes(plan: Mapping[str, Any]) -> tuple[str, ...]:
    """The blocking findings the plan's protocol lets the medical director release (none for a
    plan saved before protocols listed them)."""
    protocol = plan.get("protocol")
    listed = protocol.get("exceptional_release") if isinstance(protocol, Mapping) else None
    return tuple(str(c) for c in listed) if isinstance(listed, list) else ()


def unreleasable(plan: Mapping[str, Any]) -> tuple[str, ...]:
    """The plan's blocking findings that no one may release."""
    listed = set(releasable_codes(plan))
    return tuple(code for code in blocking_codes(plan) if code not in listed)


def exceptional_only(plan: Mapping[str, Any]) -> bool:
    """Blocked, and only by findings the protocol lists for exceptional release."""
    return bool(blocking_codes(plan)) and not unreleasable(plan)


def preparable(plan: Mapping[str, Any], kind: str) -> bool:
    """Whether a record with this plan may be signed "Prepared by": its plan is not blocked, or
    blocked only by listed findings; a thaw record always (the thaw has happened)."""
    return kind == "thaw" or not blocking_codes(plan) or exceptional_only(plan)


def why_not_prepared(plan: Mapping[str, Any], kind: str) -> str | None:
    """Why a record with this plan cannot be signed "Prepared by" (None when it can)."""
    if preparable(plan, kind):
        return None
    return (f"its plan is blocked by {', '.join(unreleasable(plan))}, which the protocol does "
            "not allow to be released by exception; do not prepare — correct the request or "
            "the product.")


def blocked_refusal(plan: Mapping[str, Any], kind: str, spec: SigningStep,
                    exceptional: bool) -> str | None:
    """Why a signature ``spec`` (``exceptional``: an exceptional release) cannot be signed for a
    record with this plan because of its findings; None when it can (issue 22)."""
    blocked = bool(blocking_codes(plan))
    if spec.name is Step.PREPARE:
        return why_not_prepared(plan, kind)
    if blocked and not exceptional_only(plan):
        return (f"its plan is blocked by {', '.join(unreleasable(plan))}, which the protocol "
                "does not allow to be released by exception; it can never be released"
                + (" — discard the bag (doseprep inventory discard) with the reason."
                   if kind == "thaw" else "; correct the request or the product."))
    if spec.name is not Step.RELEASE:
        return None
    if exceptional and not blocked:
        return ("its plan is not blocked; release it as usual (a supervisor, without "
                "--exceptional).")
    if blocked and not exceptional:
        return (f"its plan is blocked by {', '.join(blocking_codes(plan))}; only the medical "
                "director can release it, by exception, with the reason and the recipient's "
                "physician (doseprep record release ID --exceptional --reason TEXT --physician "
                "NAME).")
    return None
