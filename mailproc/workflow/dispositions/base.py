"""The shape every disposition shares: the message it is given and the outcome it returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Protocol

from sqlalchemy.orm import Session

from mailproc.analysis.parsing import ParsedMail
from mailproc.analysis.pool import Analysis
from mailproc.core.context import Context
from mailproc.store.models import Ticket
from mailproc.vocabulary import InboundStatus, Outcome
from mailproc.workflow.batch import BatchState, Claimed, find_ticket


@dataclass
class Mail:
    """One claimed inbound row with its analysis, as the dispositions see it."""

    row: Claimed
    analysis: Analysis
    state: BatchState  # the batch's lookups

    @property
    def parsed(self) -> ParsedMail:
        assert self.analysis.parsed is not None, "only the quarantine disposition sees unparsed mail"
        return self.analysis.parsed

    @cached_property
    def ticket(self) -> Ticket | None:
        """The ticket the message belongs to, if any (by tag, In-Reply-To/References, body tag)."""
        return find_ticket(self.state, self.analysis) if self.analysis.parsed is not None else None


@dataclass(frozen=True)
class Disposed:
    """What became of a message: the outcome counted, the inbound row's status, the note kept
    on the row (``inbound_messages.outcome``), the ticket it went to and any error."""

    outcome: Outcome
    status: InboundStatus
    note: str
    ticket: Ticket | None = None
    error: str | None = None


class Disposition(Protocol):
    def __call__(self, session: Session, ctx: Context, state: BatchState, mail: Mail,
                 now: datetime) -> Disposed | None: ...
