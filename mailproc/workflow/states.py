"""The K+ complaint process as a state machine: which step may happen now, and what it does.

Pure: a ticket's state, a step, the actor's role and ``now`` in; a :class:`Decision` out
(refused with a reason and no change, or the new status and queue plus the effects to carry
out — notices to send, fields to set). The database half lives in :mod:`mailproc.workflow.steps`.

States: ``assessing`` (waiting for the customer's information) → ``l1`` → ``closed``
(resolved at level 1) or ``l2`` (escalated) → ``accepted`` or ``rejected`` → ``answered``
(the written reply went out). A customer who says a closed or answered ticket is not
resolved, within ``reopen_days``, reopens it at level 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mailproc.vocabulary import DONE_STATUSES, OPEN_STATUSES, QUEUE_OF, Actor, Queue, Role, Status

AGENT_ROLES = (Role.L1, Role.L2, Role.SUPERVISOR)  # roles that may act on tickets
SYSTEM = Actor.SYSTEM  # the role of the scheduler's and the pipeline's own steps


@dataclass(frozen=True)
class TicketState:
    status: Status
    time_limit: str            # "in_time" | "late" | "unknown"
    final_ready: bool          # the written answer is prepared (waiting to be sent)
    closed_at: datetime | None
    has_assignee: bool = False


@dataclass(frozen=True)
class Policy:
    reject_late: bool = False  # company policy: may a late complaint be rejected? default: good faith
    reopen_days: int = 30


@dataclass(frozen=True)
class Step:
    name: str                  # a command name (resolve, escalate, ...) or a system step
    arg: str = ""
    role: str = SYSTEM         # the actor's role; SYSTEM for the scheduler and the pipeline


@dataclass(frozen=True)
class Decision:
    ok: bool
    reason: str                # why refused, or a short description of what happens
    status: Status             # the new status (the old one when refused)
    notices: tuple[str, ...] = ()   # notice kinds to send because of this step

    @property
    def queue(self) -> Queue | None:
        return QUEUE_OF.get(self.status)


@dataclass(frozen=True)
class Rule:
    """One step: from which states, by which roles, to which state, with which notices."""

    sources: frozenset[Status]
    target: Status | None         # None: the status does not change
    roles: frozenset[str]
    notices: tuple[str, ...] = ()
    needs_arg: str = ""        # non-empty: what the argument must be (for the error message)
    help: str = ""
    queue_only: bool = False   # of the agents, only those of the ticket's queue (and supervisors)


_ANY_AGENT = frozenset(AGENT_ROLES)
_L2 = frozenset({Role.L2, Role.SUPERVISOR})
_WORKING = frozenset({Status.L1, Status.L2, Status.ACCEPTED})
RULES: dict[str, Rule] = {
    # Agents' commands.
    "resolve": Rule(frozenset({Status.L1}), Status.CLOSED, frozenset({Role.L1, Role.SUPERVISOR}), ("resolution",),
                    help="resolved at level 1: the text of the reply goes to the customer"),
    "escalate": Rule(frozenset({Status.ASSESSING, Status.L1}), Status.L2, frozenset({Role.L1, Role.SUPERVISOR}), (),
                     help="to level 2 (Customer Care Department)"),
    "accept": Rule(frozenset({Status.L2}), Status.ACCEPTED, _L2, ("acceptance",), help="send the acceptance notice"),
    "reject": Rule(frozenset({Status.L2}), Status.REJECTED, _L2, ("rejection",), needs_arg="a reason",
                   help="send the rejection notice (only for a complaint sent after the time limit)"),
    "final": Rule(frozenset({Status.ACCEPTED}), None, _L2, (),
                  help="the written reply (step 5): sent as a formal letter"),
    "meeting": Rule(frozenset({Status.ACCEPTED}), None, _L2, ("meeting",), needs_arg="a date/time and a place",
                    help="invite the customer to a meeting"),
    "minutes": Rule(frozenset({Status.ACCEPTED}), None, _L2, (), help="file the attached signed minutes (biên bản)"),
    "consult": Rule(frozenset({Status.L2, Status.ACCEPTED}), None, _L2, ("consult",), needs_arg="a department",
                    help="ask another department; its answer comes back on the ticket"),
    "assign": Rule(OPEN_STATUSES, None, _ANY_AGENT, (), needs_arg="an agent's e-mail address",
                   help="give the ticket to an agent"),
    "note": Rule(OPEN_STATUSES | DONE_STATUSES, None, frozenset({*AGENT_ROLES, Role.DEPARTMENT}), (),
                 help="an internal note, never shown to the customer"),
    "relay": Rule(_WORKING, None, _ANY_AGENT, ("relay",), help="the text goes to the customer"),
    "set": Rule(OPEN_STATUSES, None, _ANY_AGENT, (), needs_arg="a field and a value", queue_only=True,
                help="correct an identifier (FIELD VALUE): name, address, phone, email, smartcard, decoder, "
                     "incident_date, category"),
    # System steps.
    "info_complete": Rule(frozenset({Status.ASSESSING}), Status.L1, frozenset({SYSTEM}), ("receipt",)),
    "auto_escalate": Rule(frozenset({Status.L1}), Status.L2, frozenset({SYSTEM})),
    "auto_accept": Rule(frozenset({Status.L2}), Status.ACCEPTED, frozenset({SYSTEM}), ("acceptance",)),
    "answered": Rule(frozenset({Status.ACCEPTED}), Status.ANSWERED, frozenset({SYSTEM})),
    "reopen": Rule(DONE_STATUSES - {Status.REJECTED}, Status.L2, frozenset({SYSTEM})),
}
COMMANDS = ("resolve", "escalate", "accept", "reject", "note", "assign", "meeting", "minutes", "consult", "final",
            "set")
# Who works a ticket in each open status: the queue's role (a ticket being assessed is level 1's).
_QUEUE_ROLE = {Status.ASSESSING: Role.L1, Status.L1: Role.L1, Status.L2: Role.L2, Status.ACCEPTED: Role.L2}


def _may(rule: Rule, status: Status, role: str) -> bool:
    """May ``role`` take this rule's step on a ticket in ``status``, by role alone."""
    if role not in rule.roles:
        return False
    return not rule.queue_only or role == Role.SUPERVISOR or _QUEUE_ROLE.get(status) == role


def allowed(state: TicketState, role: str) -> list[str]:
    """The commands this role may give on this ticket now (for the help in refusals)."""
    return [name for name in COMMANDS if state.status in RULES[name].sources and _may(RULES[name], state.status, role)]


def decide(state: TicketState, step: Step, *, now: datetime, policy: Policy) -> Decision:
    """Check one step against the process; never changes anything itself."""
    rule = RULES.get(step.name)
    if rule is None:
        return Decision(False, f"unknown step {step.name!r}", state.status)
    if step.role not in rule.roles:
        return Decision(False, f"#{step.name} is not allowed for role {step.role}", state.status)
    if state.status not in rule.sources:
        return Decision(False, f"#{step.name} is not possible while the ticket is {state.status}", state.status)
    if not _may(rule, state.status, step.role):
        return Decision(False, f"#{step.name} is not allowed for role {step.role} while the ticket is "
                               f"{state.status}: only its queue's agents and supervisors", state.status)
    if rule.needs_arg and not step.arg.strip():
        return Decision(False, f"#{step.name} needs {rule.needs_arg}", state.status)
    refusal = _special_checks(state, step, now=now, policy=policy)
    if refusal:
        return Decision(False, refusal, state.status)
    target = rule.target or state.status
    return Decision(True, rule.help or f"{state.status} -> {target}", target, rule.notices)


def _special_checks(state: TicketState, step: Step, *, now: datetime, policy: Policy) -> str | None:
    if step.name == "reject":
        if state.time_limit != "late":
            return "a complaint may be rejected only when it was sent after the complaint time limit"
        if not policy.reject_late:
            return "company policy accepts late complaints in good faith ([workflow] reject_late = false)"
    if step.name == "reopen" and (
            state.closed_at is None or now - state.closed_at > timedelta(days=policy.reopen_days)):
        return f"closed more than {policy.reopen_days} days ago"
    if step.name == "final" and state.final_ready:
        return "the written reply is already prepared and waiting to be sent"
    return None
