"""What every stage is given besides its sessions: the config and what is built from it once.

``X_once(sessions, ctx, *, now)`` is the one shape of every stage; ``ctx`` is a
:class:`Context`, built once per process by :class:`mailproc.app.App` (or a test).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from imap_tools import BaseMailBox
from jinja2 import Environment

from mailproc.config import Config
from mailproc.core.roster import Agent, Roster
from mailproc.core.workdays import WorkCalendar
from mailproc.oauth2.tokens import Tokens

MailboxFactory = Callable[[], AbstractContextManager[BaseMailBox]]


@dataclass(frozen=True)
class Context:
    config: Config
    env: Environment          # the notice templates
    calendar: WorkCalendar    # working days for the deadlines
    tz: ZoneInfo              # the company's time zone (Asia/Ho_Chi_Minh)
    roster: Roster            # the agents
    mailbox: MailboxFactory | None = None  # opens the complaints mailbox (intake only)
    tokens: Tokens | None = None           # OAuth 2.0 access tokens, when IMAP or SMTP uses them
    dns: Callable[..., bytes | None] | None = None  # TXT look-ups for DKIM (None: the system's resolver)
    # What the stages keep between runs of this process (e.g. recent automatic notices, for
    # the caps), by name; nothing in it is needed for correctness after a restart.
    caches: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def build(cls, config: Config, env: Environment, calendar: WorkCalendar, *,
              mailbox: MailboxFactory | None = None, tokens: Tokens | None = None) -> Context:
        roster = Roster(Agent(email=a.email.lower(), role=a.role, name=a.name, department=a.department)
                        for a in config.agents)
        return cls(config=config, env=env, calendar=calendar, tz=ZoneInfo(config.calendar.timezone),
                   roster=roster, mailbox=mailbox, tokens=tokens)
