"""mailproc's words, named once: the values stored in the database and shown in JSON.

Each is a ``StrEnum``: a member *is* its string (``Status.L1 == "l1"``), so rows, JSON and
templates keep exactly the values they had, while the code names them and the type checker
knows the set. Imports nothing of mailproc.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where a ticket is in the K+ process (``tickets.status``)."""

    ASSESSING = "assessing"  # step 2: waiting for the customer's missing identifiers
    L1 = "l1"                # step 3: call centre and K+ Stores
    L2 = "l2"                # step 4: Customer Care Department, not decided yet
    ACCEPTED = "accepted"    # step 4: acceptance notice sent; the written reply is being prepared
    REJECTED = "rejected"    # step 4: rejection notice sent (late complaint, if policy allows)
    ANSWERED = "answered"    # step 5: the written reply went out
    CLOSED = "closed"        # resolved at level 1


OPEN_STATUSES = frozenset({Status.ASSESSING, Status.L1, Status.L2, Status.ACCEPTED})
DONE_STATUSES = frozenset({Status.REJECTED, Status.ANSWERED, Status.CLOSED})


class Queue(StrEnum):
    """Which level works a ticket (``tickets.queue``; NULL while assessing or when done)."""

    L1 = "L1"
    L2 = "L2"


QUEUE_OF: dict[Status, Queue | None] = {
    Status.ASSESSING: None, Status.L1: Queue.L1, Status.L2: Queue.L2, Status.ACCEPTED: Queue.L2,
    Status.REJECTED: None, Status.ANSWERED: None, Status.CLOSED: None,
}


class Role(StrEnum):
    """An agent's role (``[[agents]] role``)."""

    L1 = "l1"
    L2 = "l2"
    DEPARTMENT = "department"
    SUPERVISOR = "supervisor"


ROLE_OF_QUEUE: dict[Queue, Role] = {Queue.L1: Role.L1, Queue.L2: Role.L2}


class Actor(StrEnum):
    """Who did something, when it was not a person (``events.actor``; a person is an address)."""

    PIPELINE = "mailproc"    # processing of inbound mail
    SCHEDULER = "scheduler"  # the deadline sweep
    SYSTEM = "system"        # the role of system steps in the state machine


class InboundStatus(StrEnum):
    """What became of a stored e-mail (``inbound_messages.status``)."""

    NEW = "new"
    PROCESSED = "processed"
    IGNORED = "ignored"
    QUARANTINED = "quarantined"


class OutboxStatus(StrEnum):
    """Where an outgoing e-mail is (``outbox.status``)."""

    QUEUED = "queued"
    SENDING = "sending"  # claimed by a sender; lease_until says until when
    # Handed to the SMTP server with no answer heard (killed after DATA, connection lost after
    # the final dot, lease expired while sending): settled by looking for the platform's copy
    # of what it accepted before it is ever sent again (notices.doubt).
    IN_DOUBT = "in_doubt"
    SENT = "sent"
    FAILED = "failed"


class Outcome(StrEnum):
    """What processing did with one inbound message (counted in the process report)."""

    CREATED = "created"          # a new ticket
    REPLY = "reply"              # filed on an existing ticket
    AGENT = "agent"              # an authenticated agent's mail: commands carried out or refused
    IGNORED = "ignored"          # an auto-reply, list mail, robot, or a copy with no ticket
    BOUNCE = "bounce"            # a delivery report about one of our notices
    QUARANTINED = "quarantined"  # could not be processed; raw bytes and error kept


class NoticeKind(StrEnum):
    """The kinds of outgoing e-mail (``outbox.kind``; each has a folder in ``templates/``)."""

    RECEIPT = "receipt"
    NEED_INFO = "need_info"
    AGENT_NOTICE = "agent_notice"
    RESOLUTION = "resolution"
    ACCEPTANCE = "acceptance"
    REJECTION = "rejection"
    MEETING = "meeting"
    CONSULT = "consult"
    REMINDER = "reminder"
    BREACH = "breach"
    FINAL_REPLY = "final_reply"
    DIGEST = "digest"
    RELAY = "relay"
    ALERT = "alert"
    COMMAND_REFUSED = "command_refused"
    AGENT_ANSWER = "agent_answer"  # the answer to an agent's #list, #queue, #show (workflow.queries)
    SURVEY = "survey"  # the satisfaction survey after a ticket is answered or closed (workflow.survey)


# Sent to the customer (their address is not repeated in events).
CUSTOMER_KINDS = frozenset({NoticeKind.RECEIPT, NoticeKind.NEED_INFO, NoticeKind.RESOLUTION, NoticeKind.ACCEPTANCE,
                            NoticeKind.REJECTION, NoticeKind.MEETING, NoticeKind.RELAY, NoticeKind.FINAL_REPLY,
                            NoticeKind.SURVEY})


class FilterRule(StrEnum):
    """The rules that keep a message from becoming a ticket (``[filters] rules``)."""

    OWN_MAIL = "own_mail"
    BOUNCE = "bounce"
    AUTO_SUBMITTED = "auto_submitted"
    PRECEDENCE = "precedence"
    AUTOREPLY_HEADERS = "autoreply_headers"
    MAILING_LIST = "mailing_list"
    ROBOT_SENDER = "robot_sender"
    OUT_OF_OFFICE_SUBJECT = "out_of_office_subject"


class Flag(StrEnum):
    """Marks on a ticket (``tickets.flags``)."""

    MISSING_INFO = "missing_info"
    LATE = "late"
    TIME_LIMIT_UNKNOWN = "time_limit_unknown"
    RATE_LIMITED = "rate_limited"
    OVERSIZE = "oversize"  # a message over the size limit was stored without its body
