"""What processing does to a ticket from a customer's mail: its identifiers, its route, and
the automatic notice to the customer (capped per sender).

Every status change goes through the state machine (:func:`mailproc.workflow.steps.transition`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from mailproc.analysis.extract.fields import FIELDS, HIGH, PLACE_KEYS, Extracted
from mailproc.analysis.extract.gazetteer import recognise
from mailproc.analysis.parsing import ParsedMail
from mailproc.analysis.pool import local_date
from mailproc.analysis.routing import route
from mailproc.core.context import Context
from mailproc.core.people import domain_of, person
from mailproc.core.roster import dmarc_failed
from mailproc.notices.render import defang, mask_numbers
from mailproc.store.models import Ticket
from mailproc.vocabulary import Flag, NoticeKind, Queue, Status
from mailproc.workflow.assess import missing_fields
from mailproc.workflow.batch import BatchState
from mailproc.workflow.steps import (
    IDENTIFIER_FIELDS,
    base_context,
    notify_agents,
    queue_agents,
    queue_notice,
    transition,
)
from mailproc.workflow.timelimit import LATE, UNKNOWN, TimeLimitResult, assess_time_limit

AGENT = "agent"  # the provenance of a value an agent set (#set): sure


def ticket_identifiers(ticket: Ticket) -> Extracted:
    """The ticket's identifiers as extraction gives them, with where each came from and how
    sure it is (so a customer's surer reply can replace an unsure value) and the place the
    address names."""
    return Extracted(
        name=ticket.name, address=ticket.address, phone=ticket.phone, email=ticket.email,
        smartcard=ticket.smartcard, decoder=ticket.decoder, incident_date=ticket.incident_date,
        category=ticket.category, provenance=dict(ticket.identifier_provenance or {}),
        confidence=dict(ticket.identifier_confidence or {}), province=ticket.province,
        province_code=ticket.province_code, ward=ticket.ward, ward_code=ticket.ward_code,
    )


def apply_identifiers(ticket: Ticket, found: Extracted) -> list[str]:
    """Copy identifiers onto the ticket, with their provenance and confidence and the place
    the address names; return the names of the fields that changed."""
    changed = []
    provenance, confidence = dict(ticket.identifier_provenance or {}), dict(ticket.identifier_confidence or {})
    for name in (*IDENTIFIER_FIELDS, "incident_date", "category"):
        value = getattr(found, name)
        if value is None:
            continue
        if getattr(ticket, name) != value:
            setattr(ticket, name, value)
            changed.append(name)
        if name in FIELDS:  # the value now on the ticket is found's: so are its sources
            for kept, given in ((provenance, found.provenance), (confidence, found.confidence)):
                kept.pop(name, None)
                if name in given:
                    kept[name] = given[name]
    ticket.identifier_provenance, ticket.identifier_confidence = provenance, confidence
    if found.address is not None:
        for name in PLACE_KEYS:
            setattr(ticket, name, getattr(found, name))
    return changed


def correct_identifier(ticket: Ticket, field: str, value: str) -> str | None:
    """Set one identifier as an agent corrected it (``#set``): from the agent, sure; a new
    address brings the place it names. ``value`` is as :class:`~mailproc.workflow.commands.
    Correction` holds it (the date as YYYY-MM-DD). Returns the old value, as text."""
    old = getattr(ticket, field)
    setattr(ticket, field, date.fromisoformat(value) if field == "incident_date" else value)
    if field in FIELDS:
        ticket.identifier_provenance = {**(ticket.identifier_provenance or {}), field: AGENT}
        ticket.identifier_confidence = {**(ticket.identifier_confidence or {}), field: HIGH}
    if field == "address":
        place = recognise(value)
        ticket.province, ticket.province_code, ticket.ward, ticket.ward_code = (
            (place.province, place.province_code, place.ward, place.ward_code) if place else (None, None, None, None))
    return old.isoformat() if isinstance(old, date) else old


def reassess_time_limit(ctx: Context, ticket: Ticket) -> TimeLimitResult:
    """The complaint time limit again, after its date or category changed; the flags follow."""
    limit = assess_time_limit(ticket.category, ticket.incident_date, local_date(ticket.received_at, ctx.tz),
                              ctx.config.assess, ctx.calendar)
    flags = [f for f in ticket.flags if f not in (Flag.LATE, Flag.TIME_LIMIT_UNKNOWN)]
    flags += [Flag.LATE] if limit.status == LATE else [Flag.TIME_LIMIT_UNKNOWN] if limit.status == UNKNOWN else []
    ticket.time_limit, ticket.flags = limit.status, flags
    return limit


def complete_if_known(session: Session, ctx: Context, state: BatchState, ticket: Ticket, text: str,
                      now: datetime, *, fields: list[str]) -> bool:
    """An assessing ticket whose identifiers changed (a customer's reply, an agent's ``#set``):
    what is still missing; when nothing is, it goes to level 1 by the state machine's
    ``info_complete`` and is routed. True when it did (the caller sends the receipt)."""
    missing = missing_fields(ticket_identifiers(ticket), ctx.config.assess.required)
    ticket.missing = list(missing)
    if missing:
        return False
    ticket.flags = [f for f in ticket.flags if f != Flag.MISSING_INFO]
    state.event(ticket, "info_complete", now, fields=fields)
    transition(ctx, ticket, "info_complete", now)
    route_ticket(session, ctx, state, ticket, text, now)
    return True


def sources_of(found: Extracted, names: list[str]) -> dict[str, dict[str, str | None]]:
    """Where each of ``names`` was found and how sure it is, as events record it."""
    return {name: {"provenance": found.provenance.get(name), "confidence": found.confidence.get(name)}
            for name in names if name in FIELDS}


def notice_context(ctx: Context, ticket: Ticket, parsed: ParsedMail | None = None) -> dict[str, Any]:
    """What the customer-facing templates may show (card and phone masked, no links). To a
    sender whose domain failed DMARC (a forged From, by the trusted receiving server) nothing
    of the message's text goes back: the receipt must not carry a stranger's words to a victim."""
    context = {**base_context(ctx, ticket), "excerpt": defang(mask_numbers((parsed.new_text if parsed else "")[:600]))}
    if parsed is not None and dmarc_failed(parsed.headers, ctx.config.auth.trusted_authserv_ids):
        context.update(subject="Khiếu nại của Quý khách", excerpt="", name=None, identifiers=[])
    return context


FLOOD_KEY = "agent_notice:flood:"


def over_cap(ctx: Context, state: BatchState, address: str, now: datetime) -> str | None:
    """Why no more automatic mail may go to ``address`` now, if it may not: the caps count the
    person (case, +tag and Gmail's dots folded), the domain, and everyone together."""
    cfg, tally = ctx.config.notices, state.recent
    key, domain, hour = person(address), domain_of(address), now - timedelta(hours=1)
    recent = [*state.recent_auto.get(key, []), *(tally.by_person.get(key, []) if tally else [])]
    caps = ((timedelta(hours=1), cfg.max_per_sender_per_hour, "hour"),
            (timedelta(days=1), cfg.max_per_sender_per_day, "day"))
    for window, cap, label in caps:
        count = sum(1 for created in recent if created > now - window)
        if count >= cap:
            return f"{count} automatic notices to this person in the last {label} (cap {cap})"
    in_domain = sum(1 for created in state.recent_domain.get(domain, []) if created > hour)
    in_domain += tally.since(tally.by_domain.get(domain, []), hour) if tally else 0
    if in_domain >= cfg.max_per_domain_per_hour:
        return f"{in_domain} automatic notices to {domain} in the last hour (cap {cfg.max_per_domain_per_hour})"
    total = state.automatic_last_hour + (tally.since(tally.all, hour) if tally else 0)
    if total >= cfg.max_automatic_per_hour:
        return f"{total} automatic notices in the last hour (cap {cfg.max_automatic_per_hour})"
    return None


def queue_customer_notice(ctx: Context, state: BatchState, ticket: Ticket,
                           parsed: ParsedMail, kind: str, dedupe_key: str, now: datetime) -> str:
    """Queue a receipt or a request for information to the customer; return what happened."""
    to = parsed.from_address or ""
    if dedupe_key in state.dedupe_keys:
        return "duplicate"
    limited = over_cap(ctx, state, to, now)
    if limited:
        state.event(ticket, "notice_suppressed", now, notice=kind, reason=limited)
        if Flag.RATE_LIMITED not in ticket.flags:
            ticket.flags = [*ticket.flags, Flag.RATE_LIMITED]
        return "rate_limited"
    outcome = queue_notice(ctx, state, ticket, kind=kind, to=to, dedupe_key=dedupe_key,
                           context=notice_context(ctx, ticket, parsed), now=now,
                           in_reply_to=parsed.message_id, references=parsed.references)
    if outcome == "queued":
        state.recent_auto.setdefault(person(to), []).append(now)
        state.recent_domain.setdefault(domain_of(to), []).append(now)
        state.automatic_last_hour += 1
    return outcome


def route_ticket(session: Session, ctx: Context, state: BatchState, ticket: Ticket, text: str, now: datetime,
           keyword_hits: dict[str, str] | None = None) -> None:
    """Queue and priority from the routing rules; the queue's agents are told."""
    history = [t for t in state.card_history.get(ticket.smartcard or "", []) if t != ticket.received_at]
    decided = route(text, ticket.category, rules=ctx.config.routing.rules, card_history=history,
                    received_at=ticket.received_at, keyword_hits=keyword_hits)
    if decided.queue == Queue.L2 and ticket.status == Status.L1:
        transition(ctx, ticket, "auto_escalate", now)
    ticket.priority, ticket.rules = decided.priority, list(decided.fired)
    state.event(ticket, "routed", now, queue=decided.queue, priority=decided.priority, rules=list(decided.fired),
                reasons=list(decided.reasons))
    if over_cap(ctx, state, ticket.customer_address, now):
        # A flooding sender: one notice to the agents per person and hour, not one per ticket.
        key = f"{FLOOD_KEY}{person(ticket.customer_address)}:{now:%Y%m%d%H}"
        notify_agents(session, ctx, state, ticket, queue_agents(ctx, ticket), "agent_notice", key, now,
                      event="flood", sender=ticket.customer_address)
        return
    notify_agents(session, ctx, state, ticket, queue_agents(ctx, ticket), "agent_notice",
                  f"agent_notice:{ticket.ref}:new:{ticket.queue}", now, event="new")


def note_oversize(session: Session, ctx: Context, state: BatchState, ticket: Ticket, inbound_id: int, size: int,
                  now: datetime) -> None:
    """A message over the size limit was stored without its body: the ticket says so and the
    supervisors are told (the message itself stays in the mailbox for them to read)."""
    if Flag.OVERSIZE not in ticket.flags:
        ticket.flags = [*ticket.flags, Flag.OVERSIZE]
    state.event(ticket, "oversize_not_fetched", now, inbound_id=inbound_id, size=size,
                limit=ctx.config.parsing.max_message_bytes)
    notify_agents(session, ctx, state, ticket, ctx.roster.supervisors(), NoticeKind.AGENT_NOTICE,
                  f"agent_notice:{ticket.ref}:oversize:{inbound_id}", now, event="oversize",
                  message=f"Thư {size:,} byte, vượt giới hạn {ctx.config.parsing.max_message_bytes:,} byte: "
                          "nội dung và tệp đính kèm không được tải về; thư vẫn nằm trong hộp thư chung.")
