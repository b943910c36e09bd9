"""The durable rows where mailproc's stages meet: inbound mail, tickets, events, outbox.

Stage boundaries (STYLE.md principle 1):
- ingest writes :class:`InboundMessage` (raw bytes) and :class:`MailboxState`;
- the pipeline turns an inbound row into a :class:`Ticket`, :class:`TicketMessage`,
  :class:`Event` rows and :class:`OutboxItem` rows in one transaction;
- the sender delivers outbox rows.
Schema changes go through Alembic migrations in ``mailproc/migrations``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from mailproc.vocabulary import InboundStatus, OutboxStatus

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The status columns hold mailproc.vocabulary's InboundStatus and OutboxStatus values.


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC; SQLite returns them aware too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Any) -> Any:
        """On SQLite, one step from an aware datetime to the text SQLite's DATETIME stores
        ("YYYY-MM-DD HH:MM:SS.ffffff", in UTC), instead of this type's step then DATETIME's:
        the writer binds a dozen of these a message."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTCDateTime column")
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class MailboxState(Base):
    """Where the poller is in one IMAP folder, and how its last polls went."""

    __tablename__ = "mailbox_state"

    mailbox: Mapped[str] = mapped_column(String(64), primary_key=True, default="", server_default="")
    folder: Mapped[str] = mapped_column(String(255), primary_key=True)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)


class InboundMessage(Base):
    """One stored e-mail (its bytes in :class:`InboundRaw`); processing gives it exactly one
    outcome."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    mailbox: Mapped[str] = mapped_column(String(64), default="", server_default="")  # '' = [imap]
    sha256: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(998))
    folder: Mapped[str] = mapped_column(String(255))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(Integer)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=InboundStatus.NEW)
    outcome: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))

    ticket: Mapped[Ticket | None] = relationship()

    __table_args__ = (Index("ix_inbound_status_id", "status", "id"),)


class InboundRaw(Base):
    """The bytes of a stored e-mail, exactly as fetched, written once with its row.

    A table of their own: SQLite rewrites a whole row when one of its values changes size,
    so with the bytes in the row every status change would write the mail again (all of it,
    attachments included)."""

    __tablename__ = "inbound_raw"

    id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"), primary_key=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class Counter(Base):
    """Named sequences (ticket references per year)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    mailbox: Mapped[str] = mapped_column(String(64), default="", server_default="")  # it came in on ('' = [imap])
    status: Mapped[str] = mapped_column(String(24))
    queue: Mapped[str | None] = mapped_column(String(8))
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    subject: Mapped[str] = mapped_column(String(255), default="")
    customer_address: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(255))
    address: Mapped[str | None] = mapped_column(String(500))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(320))
    smartcard: Mapped[str | None] = mapped_column(String(24))
    decoder: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(16), default="other")
    incident_date: Mapped[date | None] = mapped_column(Date)
    # What the address names, in the 2025 units (the gazetteer; pre-2025 units mapped), for
    # routing and reports; the address itself stays as the customer wrote it.
    province: Mapped[str | None] = mapped_column(String(64))
    province_code: Mapped[int | None] = mapped_column(Integer)
    ward: Mapped[str | None] = mapped_column(String(128))
    ward_code: Mapped[int | None] = mapped_column(Integer)
    # Per identifier: where its value came from ("label", "prose", "signature", "header",
    # "shape", "agent") and how sure it is ("high", "medium", "low"); a field not listed
    # counts as sure (set before these were kept).
    identifier_provenance: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    identifier_confidence: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accept_due: Mapped[date] = mapped_column(Date)
    reply_due: Mapped[date] = mapped_column(Date)
    time_limit: Mapped[str] = mapped_column(String(16), default="unknown")
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    missing: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The workflow (issue: five-step process).
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)  # routing rules that fired
    assignee: Mapped[str | None] = mapped_column(String(320))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # acceptance / rejection queued
    decision_reason: Mapped[str | None] = mapped_column(Text)
    final_text: Mapped[str | None] = mapped_column(Text)
    final_ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    # Where the complaint was received when not by e-mail to the complaints mailbox (the
    # contact point a bulk import names: "hotline", "store", ...; None: by e-mail, so that
    # the tickets the pipeline inserts by Core need not name it) and, for an imported one,
    # its id in the call centre's system (unique: importing the same file again creates nothing).
    channel: Mapped[str | None] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(64))
    # The customer's answer to the satisfaction survey (issue 15): 1 (very dissatisfied) to 5,
    # their words as written, and when it came (None: no answer, or never asked).
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    satisfaction_comment: Mapped[str | None] = mapped_column(Text)
    satisfaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    messages: Mapped[list[TicketMessage]] = relationship(
        back_populates="ticket", order_by="TicketMessage.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[Event]] = relationship(
        back_populates="ticket", order_by="Event.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_tickets_status", "status"),
        Index("ix_tickets_smartcard", "smartcard"),
        Index("ix_tickets_customer", "customer_address"),
        Index("ix_tickets_external_id", "external_id", unique=True,
              sqlite_where=text("external_id IS NOT NULL"), postgresql_where=text("external_id IS NOT NULL")),
    )


class TicketMessage(Base):
    """Every e-mail on a ticket, in or out, with the customer's new text kept apart."""

    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    direction: Mapped[str] = mapped_column(String(8))  # "in" | "out"
    message_id: Mapped[str | None] = mapped_column(String(998))
    from_address: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(255), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    quoted_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    ticket: Mapped[Ticket] = relationship(back_populates="messages")
    attachments: Mapped[list[Attachment]] = relationship(cascade="all, delete-orphan")

    __table_args__ = (
        Index("ix_ticket_messages_message_id", "message_id"),
        Index("ix_ticket_messages_ticket", "ticket_id"),
    )


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_message_id: Mapped[int] = mapped_column(ForeignKey("ticket_messages.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes | None] = mapped_column(LargeBinary)  # None when over the size limit
    note: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (Index("ix_attachments_message", "ticket_message_id"),)


class Event(Base):
    """The ticket's log: what happened, who did it, and why."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="events")

    __table_args__ = (Index("ix_events_ticket", "ticket_id"),)


class OutboxItem(Base):
    """One outgoing e-mail: rendered when queued, with its Message-ID fixed then.

    The MIME bytes are built from these fields at the first delivery attempt and stored in
    ``raw``; every later attempt sends exactly those bytes.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(24))
    # Makes a notice idempotent: e.g. "receipt:KP-2026-000001"; a second insert is refused.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    to_address: Mapped[str] = mapped_column(String(320))
    from_address: Mapped[str | None] = mapped_column(String(320))  # None = smtp.from_address
    subject: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[str] = mapped_column(Text, default="")  # space-separated Message-IDs
    # The template context (JSON) while the bodies are not rendered yet; see notices.outbox.
    context: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bounce_reason: Mapped[str | None] = mapped_column(Text)

    ticket: Mapped[Ticket | None] = relationship()
    attachments: Mapped[list[OutboxAttachment]] = relationship(cascade="all, delete-orphan",
                                                               order_by="OutboxAttachment.id")

    __table_args__ = (
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_outbox_to_created", "to_address", "created_at"),
        Index("ix_outbox_ticket", "ticket_id"),
    )


class OutboxAttachment(Base):
    """A file sent with a notice (e.g. the written reply as PDF)."""

    __tablename__ = "outbox_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_outbox_attachments_outbox", "outbox_id"),)


class Alert(Base):
    """An operational condition supervisors are told about once when it starts and once when it ends."""

    __tablename__ = "alerts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    active: Mapped[bool] = mapped_column(default=False)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    detail: Mapped[str | None] = mapped_column(Text)
