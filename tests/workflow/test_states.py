"""The K+ complaint process as a table: mailproc.workflow.states.decide() and allowed().

Statuses and roles are written as plain strings: they are what the database and the agents'
mail carry (StrEnum members compare equal to them).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from mailproc.workflow.states import RULES, Decision, Policy, Step, TicketState, allowed, decide

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)

STATUSES = ("assessing", "l1", "l2", "accepted", "rejected", "answered", "closed")
ROLES = ("l1", "l2", "supervisor", "department", "system")
# What an agent can type (#resolve ...). Relaying (the mail's text goes to the customer) is not one of them:
# it is what happens to an agent's mail that carries no command.
COMMANDS = ("resolve", "escalate", "accept", "reject", "note", "assign", "meeting", "minutes", "consult", "final",
            "set")

# A few words of the reason a refusal must give, by cause.
BECAUSE = {
    "unknown": "unknown step",
    "role": "role",
    "status": "not possible",
    "arg": "needs",
    "in time": "time limit",       # reject: only a late complaint
    "policy": "reject_late",       # reject: only when the company's policy allows it
    "too old": "days ago",         # reopen: only within reopen_days
    "prepared": "already prepared",  # final: the written reply is already waiting to be sent
}


@dataclass(frozen=True)
class Row:
    """One case: a step by a role on a ticket in ``source``, and what must come of it."""

    source: str
    step: str
    role: str
    ok: bool
    status: str                      # the expected status afterwards (the old one when refused)
    notices: tuple[str, ...] = ()    # the expected notices
    arg: str = ""
    because: str = ""                # refused: a key of BECAUSE
    time_limit: str = "in_time"
    final_ready: bool = False
    closed_days_ago: float | None = None
    reject_late: bool = False
    reopen_days: int = 30

    @property
    def id(self) -> str:
        extra = [f"arg={self.arg!r}" if self.arg else "",
                 self.time_limit if self.time_limit != "in_time" else "",
                 "final_ready" if self.final_ready else "",
                 f"closed {self.closed_days_ago}d ago" if self.closed_days_ago is not None else "",
                 "reject_late" if self.reject_late else "",
                 f"reopen_days={self.reopen_days}" if self.reopen_days != 30 else ""]
        verdict = f"ok->{self.status}" if self.ok else f"refused({self.because})"
        return " ".join(part for part in (f"{self.step or '<empty>'} by {self.role} from {self.source}",
                                          *extra, verdict) if part)


def ok(source: str, step: str, role: str, status: str, notices: tuple[str, ...] = (), **extra: object) -> Row:
    return Row(source, step, role, True, status, notices, **extra)  # type: ignore[arg-type]


def no(source: str, step: str, role: str, because: str, **extra: object) -> Row:
    """Refused: the status stays ``source`` and no notice goes out."""
    assert because in BECAUSE
    return Row(source, step, role, False, source, (), because=because, **extra)  # type: ignore[arg-type]


LATE = {"time_limit": "late", "reject_late": True}   # the only case a rejection is possible

TABLE = [
    # --- resolve: l1 -> closed, by l1 or a supervisor; the reply goes to the customer.
    ok("l1", "resolve", "l1", "closed", ("resolution",)),
    ok("l1", "resolve", "supervisor", "closed", ("resolution",)),
    no("l1", "resolve", "l2", "role"),
    no("l1", "resolve", "department", "role"),
    no("l1", "resolve", "system", "role"),
    no("assessing", "resolve", "l1", "status"),
    no("l2", "resolve", "l1", "status"),
    no("l2", "resolve", "supervisor", "status"),
    no("closed", "resolve", "l1", "status"),
    # --- escalate: assessing or l1 -> l2, by l1 or a supervisor; no notice.
    ok("l1", "escalate", "l1", "l2"),
    ok("assessing", "escalate", "l1", "l2"),
    ok("l1", "escalate", "supervisor", "l2"),
    ok("assessing", "escalate", "supervisor", "l2"),
    no("l1", "escalate", "l2", "role"),
    no("l1", "escalate", "department", "role"),
    no("l1", "escalate", "system", "role"),
    no("l2", "escalate", "l1", "status"),
    no("accepted", "escalate", "supervisor", "status"),
    no("closed", "escalate", "l1", "status"),
    # --- accept: l2 -> accepted, by l2 or a supervisor; the acceptance notice.
    ok("l2", "accept", "l2", "accepted", ("acceptance",)),
    ok("l2", "accept", "supervisor", "accepted", ("acceptance",)),
    no("l2", "accept", "l1", "role"),
    no("l2", "accept", "department", "role"),
    no("l2", "accept", "system", "role"),
    no("l1", "accept", "l2", "status"),
    no("accepted", "accept", "l2", "status"),
    no("rejected", "accept", "supervisor", "status"),
    # --- reject: l2 -> rejected, by l2 or a supervisor, with a reason, only for a late complaint and only when
    # the company's policy allows rejecting late complaints.
    ok("l2", "reject", "l2", "rejected", ("rejection",), arg="sent after 90 days", **LATE),
    ok("l2", "reject", "supervisor", "rejected", ("rejection",), arg="too late", **LATE),
    no("l2", "reject", "l2", "arg", **LATE),
    no("l2", "reject", "l2", "arg", arg="   ", **LATE),
    no("l2", "reject", "l2", "in time", arg="too late", reject_late=True),
    no("l2", "reject", "l2", "in time", arg="too late", time_limit="unknown", reject_late=True),
    no("l2", "reject", "l2", "policy", arg="too late", time_limit="late"),
    no("l2", "reject", "l1", "role", arg="too late", **LATE),
    no("l2", "reject", "department", "role", arg="too late", **LATE),
    no("l2", "reject", "system", "role", arg="too late", **LATE),
    no("l1", "reject", "l2", "status", arg="too late", **LATE),
    no("accepted", "reject", "l2", "status", arg="too late", **LATE),
    no("rejected", "reject", "supervisor", "status", arg="too late", **LATE),
    # --- final: the written reply, on an accepted ticket, by l2 or a supervisor; once.
    ok("accepted", "final", "l2", "accepted"),
    ok("accepted", "final", "supervisor", "accepted"),
    no("accepted", "final", "l2", "prepared", final_ready=True),
    no("accepted", "final", "l1", "role"),
    no("accepted", "final", "department", "role"),
    no("accepted", "final", "system", "role"),
    no("l2", "final", "l2", "status"),
    no("answered", "final", "l2", "status"),
    # --- meeting: on an accepted ticket, by l2 or a supervisor, with a date/time and a place.
    ok("accepted", "meeting", "l2", "accepted", ("meeting",), arg="05/06 9:00, 12 Nguyen Hue"),
    ok("accepted", "meeting", "supervisor", "accepted", ("meeting",), arg="tomorrow at the store"),
    no("accepted", "meeting", "l2", "arg"),
    no("accepted", "meeting", "l2", "arg", arg=" \t"),
    no("accepted", "meeting", "l1", "role", arg="tomorrow"),
    no("accepted", "meeting", "department", "role", arg="tomorrow"),
    no("accepted", "meeting", "system", "role", arg="tomorrow"),
    no("l2", "meeting", "l2", "status", arg="tomorrow"),
    no("answered", "meeting", "supervisor", "status", arg="tomorrow"),
    # --- minutes: file the signed minutes of an accepted ticket, by l2 or a supervisor.
    ok("accepted", "minutes", "l2", "accepted"),
    ok("accepted", "minutes", "supervisor", "accepted"),
    no("accepted", "minutes", "l1", "role"),
    no("accepted", "minutes", "department", "role"),
    no("accepted", "minutes", "system", "role"),
    no("l2", "minutes", "l2", "status"),
    no("answered", "minutes", "l2", "status"),
    # --- consult: ask a department, on l2 or accepted, by l2 or a supervisor.
    ok("l2", "consult", "l2", "l2", ("consult",), arg="billing"),
    ok("accepted", "consult", "l2", "accepted", ("consult",), arg="billing"),
    ok("l2", "consult", "supervisor", "l2", ("consult",), arg="technical"),
    no("l2", "consult", "l2", "arg"),
    no("l2", "consult", "l1", "role", arg="billing"),
    no("l2", "consult", "department", "role", arg="billing"),
    no("l2", "consult", "system", "role", arg="billing"),
    no("l1", "consult", "l2", "status", arg="billing"),
    no("closed", "consult", "supervisor", "status", arg="billing"),
    # --- assign: give an open ticket to an agent, by any agent, with an e-mail address.
    ok("assessing", "assign", "l1", "assessing", arg="an@kplus.vn"),
    ok("l1", "assign", "l1", "l1", arg="an@kplus.vn"),
    ok("l2", "assign", "l2", "l2", arg="binh@kplus.vn"),
    ok("accepted", "assign", "supervisor", "accepted", arg="binh@kplus.vn"),
    no("l1", "assign", "l1", "arg"),
    no("l1", "assign", "department", "role", arg="an@kplus.vn"),
    no("l1", "assign", "system", "role", arg="an@kplus.vn"),
    no("rejected", "assign", "supervisor", "status", arg="an@kplus.vn"),
    no("answered", "assign", "l2", "status", arg="an@kplus.vn"),
    no("closed", "assign", "l1", "status", arg="an@kplus.vn"),
    # --- note: an internal note, on any ticket, by any agent or a department.
    ok("assessing", "note", "l1", "assessing"),
    ok("l1", "note", "l1", "l1"),
    ok("l2", "note", "department", "l2"),
    ok("accepted", "note", "l2", "accepted"),
    ok("rejected", "note", "supervisor", "rejected"),
    ok("answered", "note", "department", "answered"),
    ok("closed", "note", "l2", "closed"),
    no("l1", "note", "system", "role"),
    no("l1", "note", "customer", "role"),
    # --- set: an agent corrects an identifier, on any open ticket, by its queue's agents and supervisors
    # (a ticket being assessed is level 1's); the status stays (completing it is info_complete's).
    ok("assessing", "set", "l1", "assessing", arg="phone 0912345678"),
    ok("assessing", "set", "supervisor", "assessing", arg="phone 0912345678"),
    ok("l1", "set", "l1", "l1", arg="phone 0912345678"),
    ok("l2", "set", "l2", "l2", arg="phone 0912345678"),
    ok("accepted", "set", "l2", "accepted", arg="phone 0912345678"),
    ok("accepted", "set", "supervisor", "accepted", arg="phone 0912345678"),
    no("l1", "set", "l1", "arg"),
    no("assessing", "set", "l2", "role", arg="phone 0912345678"),
    no("l1", "set", "l2", "role", arg="phone 0912345678"),
    no("l2", "set", "l1", "role", arg="phone 0912345678"),
    no("accepted", "set", "l1", "role", arg="phone 0912345678"),
    no("l1", "set", "department", "role", arg="phone 0912345678"),
    no("l1", "set", "system", "role", arg="phone 0912345678"),
    no("closed", "set", "l1", "status", arg="phone 0912345678"),
    no("answered", "set", "supervisor", "status", arg="phone 0912345678"),
    no("rejected", "set", "l2", "status", arg="phone 0912345678"),
    # --- relay: an agent's text goes to the customer, on a ticket being worked, by any agent.
    ok("l1", "relay", "l1", "l1", ("relay",)),
    ok("l2", "relay", "l2", "l2", ("relay",)),
    ok("accepted", "relay", "supervisor", "accepted", ("relay",)),
    no("l1", "relay", "department", "role"),
    no("l1", "relay", "system", "role"),
    no("assessing", "relay", "l1", "status"),
    no("closed", "relay", "l1", "status"),
    no("rejected", "relay", "l2", "status"),
    # --- system steps: only the scheduler and the pipeline (role system) take them.
    ok("assessing", "info_complete", "system", "l1", ("receipt",)),
    no("assessing", "info_complete", "supervisor", "role"),
    no("l1", "info_complete", "system", "status"),
    ok("l1", "auto_escalate", "system", "l2"),
    no("l1", "auto_escalate", "l1", "role"),
    no("assessing", "auto_escalate", "system", "status"),
    no("l2", "auto_escalate", "system", "status"),
    ok("l2", "auto_accept", "system", "accepted", ("acceptance",)),
    no("l2", "auto_accept", "l2", "role"),
    no("accepted", "auto_accept", "system", "status"),
    ok("accepted", "answered", "system", "answered"),
    no("accepted", "answered", "supervisor", "role"),
    no("l2", "answered", "system", "status"),
    no("answered", "answered", "system", "status"),
    # --- reopen: a closed or answered ticket back to l2, within reopen_days of its closing; never a rejected one.
    ok("closed", "reopen", "system", "l2", closed_days_ago=1),
    ok("answered", "reopen", "system", "l2", closed_days_ago=10),
    ok("closed", "reopen", "system", "l2", closed_days_ago=30),
    ok("answered", "reopen", "system", "l2", closed_days_ago=5, reopen_days=7),
    no("closed", "reopen", "system", "too old", closed_days_ago=31),
    no("answered", "reopen", "system", "too old", closed_days_ago=30.001),
    no("closed", "reopen", "system", "too old", closed_days_ago=10, reopen_days=7),
    no("closed", "reopen", "system", "too old"),  # closed_at unknown
    no("rejected", "reopen", "system", "status", closed_days_ago=1),
    no("l2", "reopen", "system", "status", closed_days_ago=1),
    no("closed", "reopen", "supervisor", "role", closed_days_ago=1),
    no("closed", "reopen", "l2", "role", closed_days_ago=1),
    # --- unknown steps
    no("l1", "frobnicate", "l1", "unknown"),
    no("l2", "", "system", "unknown"),
    no("closed", "close", "supervisor", "unknown"),
]


def state_of(row: Row) -> TicketState:
    closed_at = None if row.closed_days_ago is None else NOW - timedelta(days=row.closed_days_ago)
    return TicketState(row.source, row.time_limit, row.final_ready, closed_at)  # type: ignore[arg-type]


def test_table_rows_are_distinct() -> None:
    ids = [row.id for row in TABLE]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


@pytest.mark.parametrize("row", TABLE, ids=[row.id for row in TABLE])
def test_decide(row: Row) -> None:
    decision = decide(state_of(row), Step(row.step, row.arg, row.role),
                      now=NOW, policy=Policy(reject_late=row.reject_late, reopen_days=row.reopen_days))
    assert isinstance(decision, Decision)
    assert (decision.ok, decision.status, tuple(decision.notices)) == (row.ok, row.status, row.notices), \
        decision.reason
    assert decision.reason
    if not row.ok:
        assert BECAUSE[row.because] in decision.reason, decision.reason


def test_the_table_covers_every_step() -> None:
    """Each command by every role; each step from every status it starts from, from one it does not start from,
    and by a role that may not take it."""
    missing = []
    for name, rule in RULES.items():
        rows = [row for row in TABLE if row.step == name]
        if name in (*COMMANDS, "relay"):
            missing += [f"{name} by {role}" for role in ROLES if not any(row.role == role for row in rows)]
        missing += [f"{name} from {source} (allowed)" for source in sorted(rule.sources)
                    if not any(row.source == source and row.ok for row in rows)]
        refusals = ("status", "role") if set(rule.sources) != set(STATUSES) else ("role",)  # note: any status
        missing += [f"{name} refused for its {because}" for because in refusals
                    if not any(row.because == because for row in rows)]
    assert not missing, missing


# --- every status x every step x every role ---------------------------------------------------------------------------


def test_decide_is_total_and_consistent() -> None:
    steps = (*RULES, "frobnicate", "")
    roles = (*ROLES, "customer")
    variants = itertools.product(
        ("", "x"),                                              # arg
        ("in_time", "late", "unknown"),                         # time_limit
        (False, True),                                          # final_ready
        (None, NOW - timedelta(days=1), NOW - timedelta(days=100)),  # closed_at
        (Policy(), Policy(reject_late=True)),
    )
    problems = []
    for (arg, time_limit, final_ready, closed_at, policy), status, step, role in itertools.product(
            variants, STATUSES, steps, roles):
        case = f"{step!r} by {role} from {status} (arg={arg!r}, {time_limit}, final_ready={final_ready}, " \
               f"closed_at={closed_at}, {policy})"
        try:
            decision = decide(TicketState(status, time_limit, final_ready, closed_at),  # type: ignore[arg-type]
                              Step(step, arg, role), now=NOW, policy=policy)
        except Exception as exc:
            problems.append(f"{case}: raised {exc!r}")
            continue
        if not decision.reason:
            problems.append(f"{case}: no reason")
        if not decision.ok:
            if decision.status != status or decision.notices:
                problems.append(f"{case}: refused but status {decision.status}, notices {decision.notices}")
            continue
        rule = RULES.get(step)
        if rule is None:
            problems.append(f"{case}: an unknown step was accepted")
            continue
        expected = status if rule.target is None else rule.target
        if decision.status not in STATUSES or decision.status != expected:
            problems.append(f"{case}: status {decision.status!r}, expected {expected!r}")
        if tuple(decision.notices) != tuple(rule.notices):
            problems.append(f"{case}: notices {decision.notices}, the rule says {rule.notices}")
        if status not in rule.sources or role not in rule.roles:
            problems.append(f"{case}: accepted outside its rule's sources/roles")
    assert not problems, f"{len(problems)} problems, the first ones:\n" + "\n".join(problems[:40])


# --- allowed(): the commands offered in a refusal's help ------------------------------------------------------------


@pytest.mark.parametrize(("status", "role", "expected"), [
    ("assessing", "l1", {"escalate", "note", "assign", "set"}),
    ("assessing", "supervisor", {"escalate", "note", "assign", "set"}),
    ("assessing", "l2", {"note", "assign"}),
    ("l1", "l1", {"resolve", "escalate", "note", "assign", "set"}),
    ("l1", "supervisor", {"resolve", "escalate", "note", "assign", "set"}),
    ("l1", "l2", {"note", "assign"}),
    ("l2", "l2", {"accept", "reject", "note", "assign", "consult", "set"}),
    ("l2", "supervisor", {"accept", "reject", "note", "assign", "consult", "set"}),
    ("l2", "l1", {"note", "assign"}),
    ("accepted", "l2", {"note", "assign", "meeting", "minutes", "consult", "final", "set"}),
    ("accepted", "supervisor", {"note", "assign", "meeting", "minutes", "consult", "final", "set"}),
    ("accepted", "l1", {"note", "assign"}),
    ("rejected", "l2", {"note"}),
    ("answered", "supervisor", {"note"}),
    ("closed", "l1", {"note"}),
    ("l2", "department", {"note"}),
    ("closed", "department", {"note"}),
    ("l1", "system", set()),
    ("closed", "system", set()),
    ("l2", "customer", set()),
])
def test_allowed(status: str, role: str, expected: set[str]) -> None:
    got = allowed(TicketState(status, "in_time", False, None), role)  # type: ignore[arg-type]
    assert len(got) == len(set(got)), got
    assert set(got) == expected


@pytest.mark.parametrize("role", [*ROLES, "customer"])
@pytest.mark.parametrize("status", STATUSES)
def test_allowed_agrees_with_decide(status: str, role: str) -> None:
    """allowed() lists exactly the commands decide() accepts, given an argument and no special obstacle."""
    state = TicketState(status, "late", False, NOW - timedelta(days=1))  # type: ignore[arg-type]
    policy = Policy(reject_late=True)
    accepted = {name for name in COMMANDS if decide(state, Step(name, "x", role), now=NOW, policy=policy).ok}
    assert set(allowed(state, role)) == accepted
