"""The supervisors' digest: numbers from a hand-built ticket list, its CSV, and its text and HTML."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mailproc.core.workdays import WorkCalendar
from mailproc.notices.digest import (
    CSV_HEADER,
    UNASSIGNED,
    Digest,
    DigestTicket,
    QueueStats,
    build_digest,
    deadline_of,
    digest_context,
    digest_csv,
    text_table,
)
from mailproc.notices.render import make_environment, render

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 1, 8, 1, 0, tzinfo=UTC)  # Thu 08/01/2026 08:00 in Hà Nội
CALENDAR = WorkCalendar()  # Thu + 2 working days = Mon 12/01/2026
L1_AN, L2_LE, L2_BINH = "l1.an@kplus.example", "l2.le@kplus.example", "l2.binh@kplus.example"
FORMULA = '=HYPERLINK("x","y")'


def hn(y: int, m: int, d: int, hh: int = 9, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=HANOI)


def ticket(ref: str, status: str, queue: str | None, received: datetime, *, assignee: str | None = None,
           name: str | None = None, closed: datetime | None = None, accept_due: date = date(2026, 1, 14),
           reply_due: date = date(2026, 2, 4), accepted: bool = False, answered: bool = False) -> DigestTicket:
    return DigestTicket(ref=ref, status=status, queue=queue, assignee=assignee, name=name, received_at=received,
                        closed_at=closed, accept_due=accept_due, reply_due=reply_due, accepted=accepted,
                        answered=answered)


# The 24-hour window is (07/01 08:00, 08/01 08:00]; today is 08/01; "due soon" runs to Mon 12/01.
TICKETS = [
    # L1
    ticket("T01", "l1", "L1", hn(2026, 1, 7, 10), assignee=L1_AN, name=FORMULA),           # new
    ticket("T02", "l1", "L1", hn(2025, 12, 30), name="Trần Thị Bình", accept_due=date(2026, 1, 8)),  # due today
    ticket("T03", "closed", None, hn(2026, 1, 6), closed=hn(2026, 1, 7, 15), accepted=True),  # closed in window
    ticket("T12", "l1", "L1", hn(2026, 1, 7, 8), assignee=L1_AN),                       # at the window start: not new
    ticket("T14", "closed", "L1", hn(2026, 1, 5), closed=hn(2026, 1, 7, 8)),            # closed at the start: no
    # L2
    ticket("T04", "l2", "L2", hn(2025, 12, 29), assignee=L2_LE, name="Lê Văn Cường",
           accept_due=date(2026, 1, 7)),                                                    # breached (acceptance)
    ticket("T05", "accepted", "L2", hn(2025, 12, 10), assignee=L2_LE, name="Phạm Dũng", accepted=True,
           accept_due=date(2025, 12, 17), reply_due=date(2026, 1, 12)),                      # due soon (last day)
    ticket("T06", "accepted", "L2", hn(2025, 12, 15), assignee=L2_LE, accepted=True,
           accept_due=date(2025, 12, 22), reply_due=date(2026, 1, 13)),                      # one day past "soon"
    ticket("T07", "answered", "L2", hn(2025, 12, 1), closed=hn(2026, 1, 8, 7, 59), accepted=True,
           answered=True),                                                                   # closed in window
    ticket("T08", "rejected", None, hn(2025, 12, 2), closed=hn(2026, 1, 6), accepted=True),  # closed before
    ticket("T13", "l2", "L2", hn(2026, 1, 7, 8, 0, 1), assignee=f"  {L2_LE} "),            # new
    ticket("T15", "accepted", "L2", hn(2025, 12, 20), assignee=L2_BINH, accepted=True, answered=True,
           accept_due=date(2025, 12, 26), reply_due=date(2026, 1, 5)),                       # no deadline left
    # Waiting for the customer's information
    ticket("T09", "assessing", None, hn(2026, 1, 8, 7), name="<b>Tèo</b>", accept_due=date(2026, 1, 15)),  # new
    ticket("T10", "assessing", None, hn(2025, 12, 25), name="Hoàng Yến", accept_due=date(2026, 1, 2)),  # breached
    # Received after "now" (a backfill): not in the digest at all.
    ticket("T11", "l1", "L1", hn(2026, 1, 8, 9), assignee=L1_AN),
]
EXPECTED_QUEUES = (
    QueueStats("L1", new=1, closed=1, open=3, due_soon=1, breached=0, oldest_ref="T02", oldest_age_days=9),
    QueueStats("L2", new=1, closed=1, open=5, due_soon=1, breached=1, oldest_ref="T05", oldest_age_days=29),
    QueueStats("Chờ bổ sung", new=1, closed=0, open=2, due_soon=0, breached=1, oldest_ref="T10", oldest_age_days=14),
)
EXPECTED_TOTALS = {"new": 3, "closed": 2, "open": 10, "due_soon": 2, "breached": 2}


@pytest.fixture(scope="module")
def digest() -> Digest:
    return build_digest(TICKETS, now=NOW, tz=HANOI, working_days_after=CALENDAR.add_working_days)


def refs(tickets: tuple[DigestTicket, ...]) -> list[str]:
    return [t.ref for t in tickets]


# -- numbers ---------------------------------------------------------------------------------------

def test_period(digest: Digest) -> None:
    assert digest.day == date(2026, 1, 8)
    assert digest.period_end == hn(2026, 1, 8, 8)
    assert digest.period_start == hn(2026, 1, 7, 8)
    assert digest.period_end.utcoffset() == timedelta(hours=7)
    assert digest.due_soon_until == date(2026, 1, 12)


def test_queue_numbers(digest: Digest) -> None:
    assert digest.queues == EXPECTED_QUEUES


def test_deadline_lists(digest: Digest) -> None:
    assert refs(digest.due_soon) == ["T02", "T05"]
    assert refs(digest.breached) == ["T10", "T04"]  # the longest overdue first
    assert deadline_of(digest.breached[1]) == ("accept", date(2026, 1, 7))
    assert deadline_of(digest.due_soon[1]) == ("reply", date(2026, 1, 12))


def test_load_and_open_tickets(digest: Digest) -> None:
    assert digest.load == ((L2_LE, 4), (UNASSIGNED, 3), (L1_AN, 2), (L2_BINH, 1))
    assert refs(digest.open_tickets) == ["T05", "T06", "T15", "T10", "T04", "T02", "T12", "T13", "T01", "T09"]


def test_empty_digest_has_all_queues() -> None:
    empty = build_digest([], now=NOW, tz=HANOI, working_days_after=CALENDAR.add_working_days)
    assert [q.queue for q in empty.queues] == ["L1", "L2", "Chờ bổ sung"]
    assert all(q.open == q.new == 0 and q.oldest_ref is None for q in empty.queues)
    out = render(make_environment(), "digest", digest_context(empty))
    assert "Không có khiếu nại nào quá hạn." in out.text
    assert "Không có khiếu nại nào đang mở." in out.html


def test_due_soon_spans_a_holiday() -> None:
    # Tue 30/12/2025: 31/12 is a working day, 01/01/2026 is New Year's Day, so two working days end on Fri 02/01.
    now = hn(2025, 12, 30, 8)
    items = [ticket("A", "l2", "L2", hn(2025, 12, 20), accept_due=date(2026, 1, 2)),
             ticket("B", "l2", "L2", hn(2025, 12, 20), accept_due=date(2026, 1, 5))]
    result = build_digest(items, now=now, tz=HANOI, working_days_after=CALENDAR.add_working_days)
    assert result.due_soon_until == date(2026, 1, 2)
    assert refs(result.due_soon) == ["A"]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="now"):
        build_digest([], now=datetime(2026, 1, 8, 8), tz=HANOI, working_days_after=CALENDAR.add_working_days)
    naive = ticket("N1", "l1", "L1", datetime(2026, 1, 7, 9))
    with pytest.raises(ValueError, match="N1"):
        build_digest([naive], now=NOW, tz=HANOI, working_days_after=CALENDAR.add_working_days)


# -- CSV -------------------------------------------------------------------------------------------

def test_csv_round_trips(digest: Digest) -> None:
    data = digest_csv(digest)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert tuple(rows[0]) == CSV_HEADER
    assert "Mã khiếu nại (Ref)" in rows[0]
    body = rows[1:]
    assert [r[0] for r in body] == refs(digest.open_tickets)
    by_ref = {r[0]: dict(zip(CSV_HEADER, r, strict=True)) for r in body}
    assert by_ref["T04"] == {
        "Mã khiếu nại (Ref)": "T04", "Trạng thái (Status)": "l2", "Hàng đợi (Queue)": "L2",
        "Người xử lý (Assignee)": L2_LE, "Khách hàng (Customer)": "Lê Văn Cường",
        "Ngày tiếp nhận (Received)": "29/12/2025 09:00", "Hạn chấp nhận (Accept by)": "07/01/2026",
        "Hạn trả lời (Reply by)": "04/02/2026", "Hạn kế tiếp (Next deadline)": "07/01/2026",
        "Loại hạn (Deadline kind)": "Chấp nhận", "Tình trạng hạn (Deadline state)": "Quá hạn",
        "Số ngày (Age, days)": "10",
    }
    assert by_ref["T05"]["Tình trạng hạn (Deadline state)"] == "Sắp đến hạn"
    assert by_ref["T06"]["Tình trạng hạn (Deadline state)"] == "Trong hạn"
    assert by_ref["T15"]["Hạn kế tiếp (Next deadline)"] == ""
    assert by_ref["T09"]["Hàng đợi (Queue)"] == "Chờ bổ sung"
    assert by_ref["T09"]["Khách hàng (Customer)"] == "<b>Tèo</b>"
    assert by_ref["T10"]["Người xử lý (Assignee)"] == UNASSIGNED
    # A formula in a customer's name stays text in a spreadsheet.
    assert by_ref["T01"]["Khách hàng (Customer)"] == "'" + FORMULA


def test_csv_semicolon(digest: Digest) -> None:
    data = digest_csv(digest, delimiter=";").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(data, newline=""), delimiter=";"))
    assert len(rows) == 1 + len(digest.open_tickets)


# -- text and HTML ---------------------------------------------------------------------------------

class _Cells(HTMLParser):
    """The text of every table row, cell by cell; a nested table (a bar) is a row of its own."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._rows: list[list[str]] = []          # open rows, innermost last
        self._cells: list[list[str] | None] = []  # the open cell of each open row

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self._rows.append([])
            self._cells.append(None)
        elif tag == "td" and self._rows:
            self._cells[-1] = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._rows and self._cells[-1] is not None:
            self._rows[-1].append(" ".join("".join(self._cells[-1]).split()))
            self._cells[-1] = None
        elif tag == "tr" and self._rows:
            self.rows.append(self._rows.pop())
            self._cells.pop()

    def handle_data(self, data: str) -> None:
        if self._cells and self._cells[-1] is not None:
            self._cells[-1].append(data)


def html_rows(html: str) -> list[list[str]]:
    parser = _Cells()
    parser.feed(html)
    return parser.rows


@pytest.fixture(scope="module")
def rendered(digest: Digest) -> Any:
    return render(make_environment(), "digest", digest_context(digest))


def test_subject(rendered: Any) -> None:
    assert rendered.subject == "Báo cáo khiếu nại ngày 08/01/2026"


def _queue_numbers_text(text: str) -> dict[str, list[int]]:
    found = {}
    for name in ("L1", "L2", "Chờ bổ sung", "Tổng cộng"):
        line = next(line for line in text.splitlines() if line.startswith(name + " "))
        found[name] = [int(n) for n in line[len(name):].split()[:5]]
    return found


def _queue_numbers_html(html: str) -> dict[str, list[int]]:
    found = {}
    for row in html_rows(html):
        if row and row[0] in ("L1", "L2", "Chờ bổ sung", "Tổng cộng") and len(row) >= 6:
            found[row[0]] = [int(n) for n in row[1:6]]
    return found


def test_text_and_html_show_the_same_numbers(rendered: Any) -> None:
    expected = {q.queue: [q.new, q.closed, q.open, q.due_soon, q.breached] for q in EXPECTED_QUEUES}
    expected["Tổng cộng"] = list(EXPECTED_TOTALS.values())
    assert _queue_numbers_text(rendered.text) == expected
    assert _queue_numbers_html(rendered.html) == expected
    summary = "Tổng quan: 3 mới, 2 đã đóng, 10 đang mở, 2 sắp đến hạn, 2 quá hạn."
    assert summary in rendered.text
    for label, value in (("Mới", 3), ("Đã đóng", 2), ("Đang mở", 10), ("Sắp đến hạn", 2), ("Quá hạn", 2)):
        assert re.search(rf">{value}</div>\s*<div[^>]*>{label}</div>", rendered.html), label
    for html_or_text in (rendered.text, rendered.html):
        assert "T02 (9 ngày)" in html_or_text and "T05 (29 ngày)" in html_or_text
        assert "quá hạn: 2" in html_or_text.casefold()  # the text part's headings are in capitals
        assert "sắp đến hạn (đến hết ngày 12/01/2026): 2" in html_or_text.casefold()


def test_text_columns_are_aligned(rendered: Any) -> None:
    lines = rendered.text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Hàng đợi "))
    table = lines[header:header + 6]  # header, rule, three queues, total
    column_ends = [m.end() for m in re.finditer(r"-+", table[1])]
    for line in table[2:]:
        for end in column_ends[1:6]:  # the five numbers are right-aligned under their rule
            assert line[end - 1].isdigit(), (line, end)
    breached = lines[lines.index("QUÁ HẠN: 2") + 1:]
    assert breached[2].startswith("T10") and breached[3].startswith("T04")
    assert "quá 6 ngày" in breached[2] and "quá 1 ngày" in breached[3]


def test_lists_and_load_in_both(rendered: Any) -> None:
    rows = html_rows(rendered.html)
    ticket_rows = [r for r in rows if r and r[0] in ("T10", "T04", "T02", "T05")]
    assert [r[0] for r in ticket_rows] == ["T10", "T04", "T02", "T05"]
    assert ticket_rows[1] == ["T04", "Lê Văn Cường", "L2", L2_LE, "Chấp nhận", "07/01/2026", "quá 1 ngày"]
    assert ticket_rows[2][-1] == "hôm nay" and ticket_rows[3][-1] == "còn 4 ngày"
    load = [r[:2] for r in rows if r and r[0] in (L2_LE, UNASSIGNED, L1_AN, L2_BINH)]
    assert load == [[L2_LE, "4"], [UNASSIGNED, "3"], [L1_AN, "2"], [L2_BINH, "1"]]
    for name, count in ((L2_LE, 4), (UNASSIGNED, 3), (L1_AN, 2), (L2_BINH, 1)):
        assert re.search(rf"^{re.escape(name)} +{count} +█+$", rendered.text, re.M), name


def test_bars(digest: Digest) -> None:
    ctx = digest_context(digest)
    bars = {q["queue"]: q["bar"] for q in ctx["queues"]}
    assert bars == {"L1": 60, "L2": 100, "Chờ bổ sung": 40}
    segments = {q["queue"]: [(s["width"], s["color"]) for s in q["segments"]] for q in ctx["queues"]}
    assert segments["L2"] == [(20, "#c62828"), (20, "#f9a825"), (60, "#1f6feb")]
    assert segments["L1"] == [(33, "#f9a825"), (67, "#1f6feb")]
    assert segments["Chờ bổ sung"] == [(50, "#c62828"), (50, "#1f6feb")]
    assert [r["bar"] for r in ctx["load"]] == [100, 75, 50, 25]


def test_html_is_safe_for_mail_clients(rendered: Any) -> None:
    html = rendered.html
    assert "<script" not in html.lower()
    assert not re.search(r"""src\s*=\s*["']?\s*(https?:|//)""", html, re.I)
    assert "<style" not in html.lower() and "class=" not in html.lower()
    assert "url(" not in html.lower()
    assert "<b>Tèo</b>" not in html
    assert "&lt;b&gt;Tèo&lt;/b&gt;" not in html  # T09 is in no list: names appear only in the lists
    # Breached: red.
    assert 'color:#c62828">Quá hạn: 2</h2>' in html
    assert 'width="20%" height="14" bgcolor="#c62828"' in html


def test_html_escapes_names(digest: Digest) -> None:
    hostile = [ticket("X1", "l2", "L2", hn(2026, 1, 1), name="<b>Tèo</b><script>x</script>",
                      assignee='"><img src=http://evil.example/x>', accept_due=date(2026, 1, 2))]
    out = render(make_environment(), "digest",
                 digest_context(build_digest(hostile, now=NOW, tz=HANOI, working_days_after=CALENDAR.add_working_days)))
    assert "&lt;b&gt;Tèo&lt;/b&gt;&lt;script&gt;x&lt;/script&gt;" in out.html
    assert "<script" not in out.html and "<img" not in out.html
    assert "<b>Tèo</b><script>x</script>" in out.text


def test_long_lists_are_cut() -> None:
    many = [ticket(f"M{i:03d}", "l2", "L2", hn(2025, 12, 1) + timedelta(minutes=i), accept_due=date(2026, 1, 2))
            for i in range(60)]
    result = build_digest(many, now=NOW, tz=HANOI, working_days_after=CALENDAR.add_working_days)
    ctx = digest_context(result, max_rows=50)
    assert len(ctx["breached"]) == 50 and ctx["breached_more"] == 10
    out = render(make_environment(), "digest", ctx)
    assert "và 10 khiếu nại khác" in out.text and "và 10 khiếu nại khác" in out.html
    assert len(digest_csv(result).decode("utf-8-sig").splitlines()) == 61


def test_text_table_width_ignores_combining_marks() -> None:
    table = text_table(["A", "N"], [["Nguye\u0302\u0303n", 1], ["Xy", 22]], right=(1,))
    assert table.splitlines() == ["A        N", "------  --", "Nguyễn   1", "Xy      22"]
