"""Agents' queries by mail on a database only: ``#list``, ``#queue``, ``#show``, ``#report`` (and
``#danh-sách``, ``#hàng-đợi``, ``#xem``, ``#báo-cáo``) need no ticket tag, change no ticket and
are answered to the agent at once, threaded under their mail; who may ask what."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mailproc.notices.digest import DigestTicket
from mailproc.notices.outbox import load_context
from mailproc.workflow.queries import MAX_ROWS, ticket_table
from tests.helpers.mail import message
from tests.workflow.test_agent_mail_db import CUSTOMER, DEPT, L1, L2, REF, SHARED, SUP, Desk


def _answer(desk: Desk, kind: str = "agent_answer") -> dict[str, Any]:
    item = desk.outbox(kind)[-1]
    assert item.context is not None
    return load_context(item.context)


def _refusal(desk: Desk) -> str:
    item = desk.outbox("command_refused")[-1]
    return str(item.context)


def _refs(section: dict[str, Any]) -> list[str]:
    return [row["ref"] for row in section["rows"]]


@pytest.mark.parametrize("spelling", ["#list", "#danh-sách", "#danh sách", "#DANHSACH"])
def test_list_answers_the_agents_open_tickets_and_changes_nothing(desk: Desk, spelling: str) -> None:
    desk.complain()
    desk.complain()
    desk.agent(L1, f"#assign {L1}")  # the first ticket is L1's; the second has no assignee
    before = desk.snapshot()

    report = desk.agent(L1, spelling, ref="")

    assert report.processed == 1 and desk.last_row().outcome == "agent_query"
    answer = desk.outbox("agent_answer")[-1]
    assert answer.to_address == L1 and answer.ticket_id is None
    assert answer.in_reply_to == desk.last_row().message_id
    assert answer.subject == "Re: Hỏi về khiếu nại"
    section = _answer(desk)["sections"][0]
    assert (_refs(section), section["total"], section["more"]) == ([REF], 1, 0)
    assert section["rows"][0]["deadline"] == "Chấp nhận" and section["rows"][0]["state"] == ""
    tickets, events, outbox = desk.snapshot()
    assert (tickets, events, outbox[:-1]) == before  # only the answer is new
    assert [m.subject for m in desk.filed()].count("Hỏi về khiếu nại") == 0


def test_a_query_replying_to_a_ticket_is_answered_and_not_filed_on_it(desk: Desk) -> None:
    desk.complain()
    filed = len(desk.filed())

    desk.agent(L1, "#xem " + REF)  # the ticket's tag in the subject too

    assert len(desk.filed()) == filed and desk.last_row().outcome == "agent_query"
    assert _answer(desk)["sections"][0]["ref"] == REF


@pytest.mark.parametrize("spelling", ["#queue L1", "#hàng-đợi l1", "#hang doi 1", "#queue"])
def test_an_l1_agent_sees_the_l1_queue(desk: Desk, spelling: str) -> None:
    desk.complain()
    desk.complain()
    desk.agent(L1, "#escalate")  # the first goes to L2

    desk.agent(L1, spelling, ref="")

    section = _answer(desk)["sections"][0]
    assert _refs(section) == ["KP-2026-000002"] and "L1" in section["title"]


@pytest.mark.parametrize(("sender", "query"), [(L1, "#queue L2"), (L2, "#hàng-đợi L1"), (DEPT, "#list"),
                                               (L1, "#report"), (L2, "#báo-cáo"), (SUP, "#queue"),
                                               (L1, "#queue L3"), (L1, "#show"), (L1, "#xem KP-2026-999999")])
def test_queries_an_agent_may_not_ask_are_refused(desk: Desk, sender: str, query: str) -> None:
    desk.complain()

    desk.agent(sender, query, ref="")

    assert desk.sent_to("command_refused") == [sender] and desk.outbox("agent_answer") == []
    assert desk.outbox("digest") == [] and desk.last_row().outcome == "agent_refused"


def test_a_supervisor_sees_any_queue(desk: Desk) -> None:
    desk.complain()
    desk.agent(L1, "#escalate")

    desk.agent(SUP, "#queue L2\n#hàng-đợi L1", ref="")

    first, second = _answer(desk)["sections"]
    assert (_refs(first), _refs(second)) == ([REF], [])


def test_queries_and_ticket_commands_do_not_mix(desk: Desk) -> None:
    desk.complain()
    before = desk.snapshot()

    desk.agent(L1, "#list\n#escalate")

    assert desk.ticket().status == "l1" and desk.outbox("agent_answer") == []
    assert "stand alone" in _refusal(desk)
    assert desk.snapshot()[0] == before[0]


def test_show_masks_the_identifiers_as_the_notices_do(desk: Desk) -> None:
    desk.complain()
    desk.agent(L1, "#note khách gọi lại, SĐT 0912345678")

    desk.agent(L1, f"#show {REF.lower()}", ref="")

    stored = desk.outbox("agent_answer")[-1].context or ""
    assert "0912345678" not in stored and "345678" not in stored and "8901" in stored
    shown = _answer(desk)["sections"][0]
    assert (shown["kind"], shown["ref"], shown["status"]) == ("ticket", REF, "l1")
    assert dict(shown["identifiers"])["Số điện thoại liên hệ"].endswith("5678")
    assert [m["who"] for m in shown["messages"]] == ["khách hàng / customer", L1]
    assert "note" in [e["kind"] for e in shown["events"]]
    assert shown["row"]["due"] == desk.ticket().accept_due


def test_breached_tickets_are_shown_breached(desk: Desk) -> None:
    desk.complain()
    desk.agent(L1, f"#assign {L1}")
    desk.clock.advance(days=20)

    desk.agent(L1, "#list", ref="")

    row = _answer(desk)["sections"][0]["rows"][0]
    assert row["state"] == "breached" and row["days_over"] > 0


@pytest.mark.parametrize("spelling", ["#report", "#báo-cáo", "#baocao"])
def test_report_sends_the_digest_now_to_the_supervisor_only(desk: Desk, spelling: str) -> None:
    desk.complain()

    desk.agent(SUP, spelling, ref="")

    assert desk.sent_to("digest") == [SUP] and desk.outbox("agent_answer") == []
    digest = desk.outbox("digest")[-1]
    assert digest.in_reply_to == desk.last_row().message_id
    assert _answer(desk, "digest")["totals"]["open"] == 1


def test_a_customer_writing_list_files_a_complaint(desk: Desk) -> None:
    desk.store(message(sender=CUSTOMER, to=SHARED, subject="hỏi", body="#list\nTôi mất sóng K+, SĐT 0912345678.")
               .as_bytes())
    report = desk.app.process_once()

    assert report.created == 1 and desk.outbox("agent_answer") == []


def test_an_unauthenticated_agent_gets_no_answer(desk: Desk) -> None:
    desk.agent(L1, "#list", ref="", auth=None)

    assert desk.outbox("agent_answer") == [] and desk.last_row().outcome != "agent_query"


def _ticket(n: int, due: date) -> DigestTicket:
    received = datetime(2026, 11, 2, 2, tzinfo=UTC) + timedelta(minutes=n)
    return DigestTicket(ref=f"KP-2026-{n:06d}", status="l1", queue="L1", assignee=None, name=None,
                        received_at=received, closed_at=None, accept_due=due, reply_due=due + timedelta(days=30),
                        accepted=False, answered=False)


def test_the_table_is_bounded_breached_first() -> None:
    today = date(2026, 11, 20)
    tickets = [_ticket(n, date(2026, 11, 25)) for n in range(1, MAX_ROWS + 6)] + [_ticket(999, date(2026, 11, 10))]

    table = ticket_table(tickets, today=today, due_soon_until=date(2026, 11, 24), tz=ZoneInfo("Asia/Ho_Chi_Minh"))

    assert (len(table.rows), table.total, table.more, table.breached) == (MAX_ROWS, MAX_ROWS + 6, 6, 1)
    assert (table.rows[0].ref, table.rows[0].days_over) == ("KP-2026-000999", 10)
