"""The supervisors' daily digest: per queue new, closed and open tickets, deadlines, load per agent,
and the customers' satisfaction per queue and per agent.

Pure: tickets (as :class:`DigestTicket` values), ``now``, the time zone and the working-day
calendar in; a :class:`Digest` out. :func:`digest_csv` makes the attachment (the open tickets)
and :func:`digest_context` what ``templates/digest/*`` render, the text tables already aligned.

Each ticket has one deadline at a time: the acceptance notice (``accept_due``) until that notice
went out, then the written reply (``reply_due``) until that went out. A deadline is *breached*
when its date is before today's local date and *due soon* when it falls between today and two
working days ahead, both inclusive. Day counts shown (age, days overdue) are calendar days.

Satisfaction counts the survey answers received in the last ``SATISFACTION_DAYS`` (a day's
answers are too few to say anything): per queue the ticket was finished in (closed: L1;
answered: L2) and per assignee, with the average score and how many were dissatisfied (1-2).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mailproc.notices.render import vn_date
from mailproc.vocabulary import Queue

DONE_STATUSES = frozenset({"closed", "rejected", "answered"})
QUEUE_L1, QUEUE_L2, QUEUE_WAITING = Queue.L1.value, Queue.L2.value, "Chờ bổ sung"
QUEUES = (QUEUE_L1, QUEUE_L2, QUEUE_WAITING)
UNASSIGNED = "(chưa giao)"
DUE_SOON_WORKING_DAYS = 2
WINDOW = timedelta(hours=24)
SATISFACTION_DAYS = 30
DISSATISFIED = 2  # a score at or below this (workflow.survey)
# Where a ticket counts when its queue field is empty: waiting for the customer's information,
# or done. "closed" is reached from L1 (resolved there); rejected and answered only from L2.
_QUEUE_BY_STATUS = {"assessing": QUEUE_WAITING, "l1": QUEUE_L1, "closed": QUEUE_L1,
                    "l2": QUEUE_L2, "accepted": QUEUE_L2, "rejected": QUEUE_L2, "answered": QUEUE_L2}
DEADLINE_LABELS = {"accept": "Chấp nhận", "reply": "Trả lời"}
COLOR_BREACHED, COLOR_DUE_SOON, COLOR_OPEN = "#c62828", "#f9a825", "#1f6feb"
CSV_HEADER = (
    "Mã khiếu nại (Ref)", "Trạng thái (Status)", "Hàng đợi (Queue)", "Người xử lý (Assignee)",
    "Khách hàng (Customer)", "Ngày tiếp nhận (Received)", "Hạn chấp nhận (Accept by)",
    "Hạn trả lời (Reply by)", "Hạn kế tiếp (Next deadline)", "Loại hạn (Deadline kind)",
    "Tình trạng hạn (Deadline state)", "Số ngày (Age, days)",
)


@dataclass(frozen=True)
class DigestTicket:
    ref: str
    status: str                  # workflow status: assessing, l1, l2, accepted, rejected, answered, closed
    queue: str | None            # "L1", "L2", or None; a done ticket may keep the queue it was last in
    assignee: str | None
    name: str | None             # the customer's name
    received_at: datetime        # aware
    closed_at: datetime | None   # aware; when it reached a done status (None while open)
    accept_due: date
    reply_due: date
    accepted: bool               # the acceptance (or rejection) notice was sent
    answered: bool               # the written reply was sent
    satisfaction: int | None = None          # the customer's survey answer, 1-5
    satisfaction_at: datetime | None = None  # aware; when it came


@dataclass(frozen=True)
class QueueStats:
    queue: str
    new: int
    closed: int
    open: int
    due_soon: int
    breached: int
    oldest_ref: str | None
    oldest_age_days: int | None


@dataclass(frozen=True)
class SatisfactionStats:
    name: str            # a queue, or an agent (UNASSIGNED when none)
    answers: int
    average: float       # of the scores, 1-5
    dissatisfied: int    # answers of 1 or 2


@dataclass(frozen=True)
class Digest:
    day: date
    period_start: datetime
    period_end: datetime
    queues: tuple[QueueStats, ...]           # L1, L2, Chờ bổ sung: always all three, in that order
    due_soon: tuple[DigestTicket, ...]       # by deadline, then arrival
    breached: tuple[DigestTicket, ...]       # by deadline (the longest overdue first), then arrival
    load: tuple[tuple[str, int], ...]        # open tickets per assignee, largest first
    open_tickets: tuple[DigestTicket, ...]   # by arrival
    due_soon_until: date                     # the last day counted as "due soon"
    satisfaction_queues: tuple[SatisfactionStats, ...] = ()  # L1, L2: those with answers
    satisfaction_agents: tuple[SatisfactionStats, ...] = ()  # by name


def is_open(ticket: DigestTicket) -> bool:
    return ticket.status not in DONE_STATUSES


def queue_of(ticket: DigestTicket) -> str:
    """The digest row a ticket counts in: its queue, else where its status puts it (L1 if unknown)."""
    if ticket.status == "assessing":
        return QUEUE_WAITING
    if ticket.queue in (QUEUE_L1, QUEUE_L2):
        return ticket.queue
    return _QUEUE_BY_STATUS.get(ticket.status, QUEUE_L1)


def deadline_of(ticket: DigestTicket) -> tuple[str, date] | None:
    """The deadline an open ticket runs against now: ("accept" | "reply", date), or None."""
    if not is_open(ticket):
        return None
    if not ticket.accepted:
        return "accept", ticket.accept_due
    if not ticket.answered:
        return "reply", ticket.reply_due
    return None


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} has no time zone")
    return value


def build_digest(
    tickets: Sequence[DigestTicket],
    *,
    now: datetime,
    tz: ZoneInfo,
    working_days_after: Callable[[date, int], date],
) -> Digest:
    """The digest as of ``now``; tickets received after ``now`` (a backfill) are left out."""
    end = _aware(now, "now").astimezone(tz)
    start = end - WINDOW
    today = end.date()
    until = working_days_after(today, DUE_SOON_WORKING_DAYS)
    known = [t for t in tickets if _aware(t.received_at, f"{t.ref}: received_at") <= end]

    def by_arrival(t: DigestTicket) -> tuple[datetime, str]:
        return t.received_at, t.ref

    def by_deadline(t: DigestTicket) -> tuple[date, datetime, str]:
        return _deadline_date(t), t.received_at, t.ref

    open_tickets = sorted((t for t in known if is_open(t)), key=by_arrival)
    with_deadline = [t for t in open_tickets if deadline_of(t) is not None]
    breached = sorted((t for t in with_deadline if _deadline_date(t) < today), key=by_deadline)
    due_soon = sorted((t for t in with_deadline if today <= _deadline_date(t) <= until), key=by_deadline)

    stats = []
    for queue in QUEUES:
        mine = [t for t in known if queue_of(t) == queue]
        opened = [t for t in open_tickets if queue_of(t) == queue]
        oldest = opened[0] if opened else None
        stats.append(QueueStats(
            queue=queue,
            new=sum(start < t.received_at <= end for t in mine),
            closed=sum(t.closed_at is not None and start < _aware(t.closed_at, f"{t.ref}: closed_at") <= end
                       for t in mine),
            open=len(opened),
            due_soon=sum(queue_of(t) == queue for t in due_soon),
            breached=sum(queue_of(t) == queue for t in breached),
            oldest_ref=oldest.ref if oldest else None,
            oldest_age_days=(today - oldest.received_at.astimezone(tz).date()).days if oldest else None,
        ))

    load = Counter((t.assignee or "").strip() or UNASSIGNED for t in open_tickets)
    answered = [t for t in known if t.satisfaction is not None and t.satisfaction_at is not None
                and end - timedelta(days=SATISFACTION_DAYS) < _aware(t.satisfaction_at, f"{t.ref}: satisfaction_at")
                <= end]
    return Digest(
        day=today, period_start=start, period_end=end, queues=tuple(stats),
        due_soon=tuple(due_soon), breached=tuple(breached),
        load=tuple(sorted(load.items(), key=lambda item: (-item[1], item[0]))),
        open_tickets=tuple(open_tickets), due_soon_until=until,
        satisfaction_queues=_satisfaction(answered, queue_of),
        satisfaction_agents=_satisfaction(answered, lambda t: (t.assignee or "").strip() or UNASSIGNED),
    )


def _satisfaction(tickets: Sequence[DigestTicket], key: Callable[[DigestTicket], str]) -> tuple[SatisfactionStats, ...]:
    scores: dict[str, list[int]] = {}
    for t in tickets:
        assert t.satisfaction is not None
        scores.setdefault(key(t), []).append(t.satisfaction)
    return tuple(SatisfactionStats(name=name, answers=len(given), average=round(sum(given) / len(given), 1),
                                   dissatisfied=sum(score <= DISSATISFIED for score in given))
                 for name, given in sorted(scores.items()))


def _deadline_date(ticket: DigestTicket) -> date:
    deadline = deadline_of(ticket)
    assert deadline is not None
    return deadline[1]


# -- CSV -------------------------------------------------------------------------------------------

def _csv_safe(value: str) -> str:
    """Neutralise spreadsheet formulas in text that came from outside (a customer's name)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _state(ticket: DigestTicket, digest: Digest) -> str:
    deadline = deadline_of(ticket)
    if deadline is None:
        return ""
    if deadline[1] < digest.day:
        return "Quá hạn"
    return "Sắp đến hạn" if deadline[1] <= digest.due_soon_until else "Trong hạn"


def digest_csv(digest: Digest, *, delimiter: str = ",") -> bytes:
    """The open tickets, one row each: UTF-8 with a BOM so that Excel reads the diacritics.

    Excel opens a double-clicked CSV with the list separator of the machine's regional settings:
    pass ``delimiter=";"`` where that is a semicolon.
    """
    tz = digest.period_end.tzinfo
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for t in digest.open_tickets:
        deadline = deadline_of(t)
        received = t.received_at.astimezone(tz)
        writer.writerow([
            _csv_safe(t.ref), t.status, queue_of(t), _csv_safe((t.assignee or "").strip() or UNASSIGNED),
            _csv_safe(t.name or ""), received.strftime("%d/%m/%Y %H:%M"), vn_date(t.accept_due),
            vn_date(t.reply_due), vn_date(deadline[1]) if deadline else "",
            DEADLINE_LABELS[deadline[0]] if deadline else "", _state(t, digest),
            (digest.day - received.date()).days,
        ])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def csv_filename(digest: Digest) -> str:
    return f"khieu-nai-dang-mo-{digest.day.isoformat()}.csv"


# -- what the templates need -------------------------------------------------------------------------

def _percentages(parts: Sequence[int], total: int) -> list[int]:
    """Integer shares of 100 that add up to exactly 100 (largest remainder)."""
    if total <= 0:
        return [0 for _ in parts]
    exact = [p * 100 / total for p in parts]
    shares = [int(x) for x in exact]
    by_remainder = sorted(range(len(parts)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[: 100 - sum(shares)]:
        shares[i] += 1
    return shares


def _bar(value: int, largest: int) -> int:
    """A bar's width in percent of the largest; a non-zero value stays visible."""
    if value <= 0 or largest <= 0:
        return 0
    return max(2, round(value * 100 / largest))


def _segments(q: QueueStats) -> list[dict[str, Any]]:
    parts = [(q.breached, COLOR_BREACHED, "quá hạn"), (q.due_soon, COLOR_DUE_SOON, "sắp đến hạn"),
             (q.open - q.breached - q.due_soon, COLOR_OPEN, "khác")]
    widths = _percentages([n for n, _, _ in parts], q.open)
    return [{"width": w, "color": color, "label": label, "count": n}
            for (n, color, label), w in zip(parts, widths, strict=True) if n > 0 and w > 0]


def _width(text: str) -> int:
    """Columns a string takes in a terminal: combining marks take none, wide characters two."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if _width(text) <= limit else text[: limit - 1] + "…"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[int] = ()) -> str:
    """An aligned plain-text table; columns listed in ``right`` are right-aligned (numbers)."""
    cells = [[unicodedata.normalize("NFC", str(c)) for c in row] for row in [headers, *rows]]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]

    def fmt(row: list[str]) -> str:
        padded = [(" " * (w - _width(c)) + c) if i in right else (c + " " * (w - _width(c)))
                  for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * w if cells[0][i] else " " * w for i, w in enumerate(widths)).rstrip()
    return "\n".join([fmt(cells[0]), rule, *(fmt(r) for r in cells[1:])])


def _ticket_row(t: DigestTicket, today: date) -> dict[str, Any]:
    deadline = deadline_of(t)
    assert deadline is not None
    kind, due = deadline
    days = (due - today).days
    return {
        "ref": t.ref, "name": t.name or "", "queue": queue_of(t), "status": t.status,
        "assignee": (t.assignee or "").strip() or UNASSIGNED,
        "deadline_kind": DEADLINE_LABELS[kind], "deadline": due,
        "days": days, "when": f"quá {-days} ngày" if days < 0 else "hôm nay" if days == 0 else f"còn {days} ngày",
    }


def _text_tables(queues: list[dict[str, Any]], totals: dict[str, int], load: list[dict[str, Any]],
                 due_soon: list[dict[str, Any]], breached: list[dict[str, Any]],
                 satisfaction: list[dict[str, Any]]) -> dict[str, str]:
    """The aligned tables of the text part (bars of up to 20 "█")."""
    def oldest(q: dict[str, Any]) -> str:
        return f"{q['oldest_ref']} ({q['oldest_age_days']} ngày)" if q["oldest_ref"] else "-"

    queue_rows: list[list[Any]] = [
        [q["queue"], q["new"], q["closed"], q["open"], q["due_soon"], q["breached"], oldest(q),
         "█" * round(q["bar"] / 5)] for q in queues]
    queue_rows.append(["Tổng cộng", *totals.values(), "", ""])
    ticket_headers = ["Mã", "Khách hàng", "Hàng đợi", "Người xử lý", "Hạn", "Ngày", ""]

    def ticket_lines(rows: list[dict[str, Any]]) -> str:
        return text_table(ticket_headers, [[r["ref"], _cut(r["name"], 28), r["queue"], _cut(r["assignee"], 32),
                                             r["deadline_kind"], vn_date(r["deadline"]), r["when"]] for r in rows])

    return {
        "text_satisfaction": text_table(
            ["Hàng đợi / Người xử lý", "Trả lời", "Điểm TB", "Không hài lòng"],
            [[_cut(r["name"], 40), r["answers"], f"{r['average']:.1f}", r["dissatisfied"]] for r in satisfaction],
            right=(1, 2, 3)),
        "text_queues": text_table(["Hàng đợi", "Mới", "Đã đóng", "Đang mở", "Sắp đến hạn", "Quá hạn", "Cũ nhất", ""],
                                  queue_rows, right=(1, 2, 3, 4, 5)),
        "text_due_soon": ticket_lines(due_soon),
        "text_breached": ticket_lines(breached),
        "text_load": text_table(["Người xử lý", "Đang mở", ""],
                                [[_cut(r["name"], 40), r["count"], "█" * round(r["bar"] / 5)] for r in load],
                                right=(1,)),
    }


def digest_context(digest: Digest, *, max_rows: int = 50) -> dict[str, Any]:
    """The values ``templates/digest/*`` render; the ticket lists are cut at ``max_rows``.

    Bars: ``queues[i]["bar"]`` is the width (0-100) of a queue's open tickets relative to the
    fullest queue, split into ``segments`` (breached, due soon, other: widths adding up to 100);
    ``load[i]["bar"]`` is an agent's open tickets relative to the busiest agent.
    """
    largest_open = max((q.open for q in digest.queues), default=0)
    queues = [{**asdict(q), "bar": _bar(q.open, largest_open), "segments": _segments(q)} for q in digest.queues]
    totals = {key: sum(getattr(q, key) for q in digest.queues)
              for key in ("new", "closed", "open", "due_soon", "breached")}
    largest_load = max((n for _, n in digest.load), default=0)
    load: list[dict[str, Any]] = [{"name": name, "count": n, "bar": _bar(n, largest_load)} for name, n in digest.load]
    due_soon = [_ticket_row(t, digest.day) for t in digest.due_soon[:max_rows]]
    breached = [_ticket_row(t, digest.day) for t in digest.breached[:max_rows]]
    satisfaction = [{**asdict(s), "name": f"Hàng đợi {s.name}"} for s in digest.satisfaction_queues]
    satisfaction += [asdict(s) for s in digest.satisfaction_agents]
    return {
        "day": digest.day, "period_start": digest.period_start, "period_end": digest.period_end,
        "due_soon_until": digest.due_soon_until,
        "queues": queues, "totals": totals, "load": load,
        "due_soon": due_soon, "due_soon_more": len(digest.due_soon) - len(due_soon),
        "breached": breached, "breached_more": len(digest.breached) - len(breached),
        "open_count": len(digest.open_tickets), "csv_filename": csv_filename(digest),
        "colors": {"breached": COLOR_BREACHED, "due_soon": COLOR_DUE_SOON, "open": COLOR_OPEN},
        "satisfaction_days": SATISFACTION_DAYS,
        "satisfaction_queues": [asdict(s) for s in digest.satisfaction_queues],
        "satisfaction_agents": [asdict(s) for s in digest.satisfaction_agents],
        **_text_tables(queues, totals, load, due_soon, breached, satisfaction),
    }
