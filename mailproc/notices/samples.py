"""Sample contexts for every notice kind, as the workflow fills them: for check-config to
render each template once before any real mail needs it.

Each sample has the keys the workflow's context of that kind has (``workflow.steps``'
``base_context``/``agent_context`` plus the extras each call adds; a test compares them with
contexts the workflow really stored), filled with realistic values; a kind whose templates
branch on a value (an agent notice's ``event``, a reminder's ``deadline``) has one sample per
branch. Pure: the config gives the company's words and the calendar, nothing is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mailproc.config import Config
from mailproc.core.roster import Agent
from mailproc.core.workdays import WorkCalendar
from mailproc.notices.digest import DigestTicket, build_digest, digest_context
from mailproc.notices.letters import Letter, letter_text
from mailproc.vocabulary import NoticeKind

Sample = tuple[str, str, dict[str, Any]]  # kind, which variant, context

CUSTOMER_TEXT = ("Chào K+,\n\nNhà tôi mất sóng kênh K+ Sport 1 từ tối 30/10/2026, đầu thu báo lỗi E48-32.\n"
                 "Số thẻ: ••••••••5678. Điện thoại: •••••••4321.\n\nTrần Thị Bình")
# Agent notice events, each with the extras the workflow passes with it.
AGENT_EVENTS: dict[str, dict[str, Any]] = {
    "new": {},
    "escalated": {},
    "reopened": {},
    "assigned": {},
    "consult_answer": {"message": "Kỹ thuật: đã kiểm tra, tín hiệu khu vực bình thường.", "department": "Kỹ thuật"},
    "customer_reply": {"message": "Tôi bổ sung số đầu thu: 0123456789."},
    "unverified_message": {"message": "Xin hỏi khiếu nại của tôi thế nào rồi?", "sender": "nguoi.khac@example.vn"},
    "oversize": {"message": "Thư 31,457,280 byte, vượt giới hạn 26,214,400 byte: nội dung và tệp đính kèm "
                            "không được tải về; thư vẫn nằm trong hộp thư chung."},
    "flood": {"sender": "binh.tran@example.vn"},
    "logged": {"message": "Khách hàng không có e-mail: biên nhận đính kèm (PDF) để in hoặc giao cho khách hàng."},
    "customer_reply_after_close": {"message": "Kênh lại mất sóng từ hôm qua."},
}


def _received(config: Config, now: datetime) -> tuple[datetime, date, date]:
    tz = ZoneInfo(config.calendar.timezone)
    received = datetime.combine(now.astimezone(tz).date(), time(9, 12), tz)
    cal = WorkCalendar.from_config(config.calendar)
    return (received, cal.add_working_days(received.date(), config.calendar.accept_days),
            cal.add_working_days(received.date(), config.calendar.reply_days))


def base_sample(config: Config, now: datetime) -> dict[str, Any]:
    """A ticket as customers' notices show it (``base_context``: card and phone masked)."""
    received, accept_due, reply_due = _received(config, now)
    notices = config.notices
    return {
        "ref": "KP-2026-000123", "name": "Trần Thị Bình", "subject": "Mất sóng K+ Sport 1 từ 3 ngày nay",
        "received_at": received, "received_date": received.date(), "accept_due": accept_due, "reply_due": reply_due,
        "accept_days": config.calendar.accept_days, "reply_days": config.calendar.reply_days,
        "missing": ["Số thẻ giải mã hoặc số đầu thu"],
        "identifiers": [("Họ và tên chủ thuê bao", "Trần Thị Bình"), ("Số điện thoại liên hệ", "•••••••4321"),
                        ("Số thẻ giải mã", "••••••••5678")],
        "excerpt": "", "late": False, "company": notices.company_name, "department": notices.department,
        "hotline": notices.hotline, "city": notices.city, "status": "l1", "queue": "L1",
    }


def agent_sample(config: Config, now: datetime, agent: Agent) -> dict[str, Any]:
    """A ticket as agents' notices show it (``agent_context``), addressed to ``agent``."""
    return {
        **base_sample(config, now),
        "identifiers": [("Họ và tên chủ thuê bao", "Trần Thị Bình"), ("Số điện thoại liên hệ", "0987654321"),
                        ("Số thẻ giải mã", "8401234567895678")],
        "customer_text": CUSTOMER_TEXT, "flags": ["vip"], "rules": ["signal_loss"], "assignee": agent.email,
        "priority": "high", "category": "signal", "customer_address": "binh.tran@example.vn", "agent": agent,
    }


def _digest(config: Config, now: datetime) -> dict[str, Any]:
    tz = ZoneInfo(config.calendar.timezone)
    cal = WorkCalendar.from_config(config.calendar)
    received, accept_due, reply_due = _received(config, now)
    tickets = [
        DigestTicket(ref="KP-2026-000121", status="l2", queue="L2", assignee="an.le@kplus.vn", name="Lê Văn An",
                     received_at=received - timedelta(days=9), closed_at=None,
                     accept_due=(received - timedelta(days=2)).date(), reply_due=reply_due - timedelta(days=9),
                     accepted=False, answered=False),
        DigestTicket(ref="KP-2026-000123", status="l1", queue="L1", assignee=None, name="Trần Thị Bình",
                     received_at=received - timedelta(hours=5), closed_at=None, accept_due=accept_due,
                     reply_due=reply_due, accepted=False, answered=False),
        DigestTicket(ref="KP-2026-000120", status="closed", queue="L1", assignee="an.le@kplus.vn", name=None,
                     received_at=received - timedelta(days=1), closed_at=received - timedelta(hours=2),
                     accept_due=accept_due, reply_due=reply_due, accepted=False, answered=False,
                     satisfaction=2, satisfaction_at=received - timedelta(hours=1)),
    ]
    digest = build_digest(tickets, now=now, tz=tz, working_days_after=cal.add_working_days)
    return {**digest_context(digest), "company": config.notices.company_name,
            "department": config.notices.department}


def _final_reply(config: Config, now: datetime) -> dict[str, Any]:
    base = base_sample(config, now)
    n = config.notices
    letter = Letter(ref=base["ref"], customer_name=base["name"],
                    customer_address="Số 12 ngõ 34 Láng Hạ, Đống Đa, Hà Nội",
                    subject=base["subject"], body="K+ đã kiểm tra và khắc phục tín hiệu.\n\nK+ xin lỗi Quý khách.",
                    city=n.city, date=now.astimezone(ZoneInfo(config.calendar.timezone)).date(),
                    department=n.department, company=n.company_name, hotline=n.hotline, received=base["received_date"])
    return {**base, "letter_text": letter_text(letter)}


def _agent_answer(config: Config, now: datetime, agent: Agent) -> dict[str, Any]:
    """An answer to ``#list`` and ``#show`` (``workflow.agentmail.answer_queries``): a table
    section (its rows as ``workflow.queries.TableRow``) and a ticket section."""
    tz = ZoneInfo(config.calendar.timezone)
    received, accept_due, _ = _received(config, now)
    late = {"ref": "KP-2026-000121", "status": "l2", "queue": "L2", "assignee": agent.email, "name": "Lê Văn An",
            "received": (received - timedelta(days=9)).date(), "deadline": "Chấp nhận",
            "due": (received - timedelta(days=2)).date(), "state": "breached", "days_over": 2}
    fresh = {"ref": "KP-2026-000123", "status": "l1", "queue": "L1", "assignee": None, "name": "Trần Thị Bình",
             "received": received.date(), "deadline": "Chấp nhận", "due": accept_due, "state": "", "days_over": 0}
    table = {"kind": "table", "title": f"Khiếu nại đang mở giao cho {agent.email} / your open tickets",
             "rows": [late, fresh], "more": 3, "total": 5, "breached": 1, "due_soon": 0}
    at = now.astimezone(tz)
    ticket = {**base_sample(config, now), "kind": "ticket", "assignee": agent.email, "row": fresh,
              "messages": [{"at": at - timedelta(hours=3), "who": "khách hàng / customer",
                            "excerpt": CUSTOMER_TEXT[:300]},
                           {"at": at - timedelta(hours=1), "who": agent.email, "excerpt": "#note Đã gọi khách."}],
              "events": [{"at": at - timedelta(hours=3), "kind": "created", "who": "mailproc"},
                         {"at": at - timedelta(hours=1), "kind": "note", "who": agent.email}]}
    return {"agent": agent, "subject": "#list", "sections": [table, ticket], "today": at.date(),
            "company": config.notices.company_name}


def sample_contexts(config: Config, now: datetime) -> Iterator[Sample]:
    """Every notice kind's sample contexts, with the variants its templates branch on."""
    agent = Agent(email="an.le@kplus.vn", role="l2", name="Lê Văn An")
    customer = base_sample(config, now)
    staff = agent_sample(config, now, agent)
    yield NoticeKind.RECEIPT, "", {**customer, "excerpt": CUSTOMER_TEXT[:600]}
    yield NoticeKind.RECEIPT, "late", {**customer, "excerpt": CUSTOMER_TEXT[:600], "late": True}
    yield NoticeKind.NEED_INFO, "", {**customer, "excerpt": CUSTOMER_TEXT[:600], "status": "assessing", "queue": None}
    # The customer's notices a step sends (workflow.steps.run_step): message, reason, when_where.
    step = {"message": "K+ đã gửi kỹ thuật viên kiểm tra đầu thu của Quý khách.", "reason": "", "when_where": ""}
    yield NoticeKind.RESOLUTION, "", {**customer, **step, "status": "closed", "queue": None}
    yield NoticeKind.ACCEPTANCE, "", {**customer, **step, "status": "accepted", "queue": "L2"}
    yield NoticeKind.REJECTION, "", {**customer, **step, "reason": "gửi sau thời hạn khiếu nại", "status": "rejected",
                                     "queue": None}
    when_where = "9:00 ngày 10/11/2026 tại 23 Lạc Trung, Hà Nội"
    yield NoticeKind.MEETING, "", {**customer, **step, "reason": when_where, "when_where": when_where}
    yield NoticeKind.RELAY, "", {**customer, **step}
    yield NoticeKind.FINAL_REPLY, "", _final_reply(config, now)
    yield NoticeKind.SURVEY, "", {**customer, "status": "closed", "queue": None}
    for event, extra in AGENT_EVENTS.items():
        yield NoticeKind.AGENT_NOTICE, event, {**staff, "event": event, **extra}
    yield NoticeKind.CONSULT, "", {**staff, "agent": Agent(email="kythuat@kplus.vn", role="department",
                                                           department="Kỹ thuật"),
                                   "message": "Đề nghị kiểm tra tín hiệu khu vực Đống Đa.", "department": "Kỹ thuật"}
    for deadline in ("accept", "reply"):
        due = staff["accept_due"] if deadline == "accept" else staff["reply_due"]
        yield NoticeKind.REMINDER, deadline, {**staff, "deadline": deadline, "due": due, "days_left": 1}
        yield NoticeKind.BREACH, deadline, {**staff, "deadline": deadline, "due": due}
    yield NoticeKind.DIGEST, "", _digest(config, now)
    since = now.astimezone(ZoneInfo(config.calendar.timezone))
    yield NoticeKind.ALERT, "problem", {"alert": "mailbox_stale", "state": "problem", "since": since,
                                        "detail": "mailbox INBOX last polled successfully: never; last error: LOGIN",
                                        "company": config.notices.company_name}
    yield NoticeKind.ALERT, "recovered", {"alert": "outbox_stuck", "state": "recovered", "since": since,
                                          "detail": "0 outgoing e-mail(s) failed or waiting longer than 30 minutes",
                                          "company": config.notices.company_name}
    refused = {"ref": staff["ref"], "reasons": ["#accept: only at level 2"], "agent": agent, "status": "l1",
               "allowed": ["#resolve / #đã-giải-quyết / #daxuly", "#escalate / #chuyển-cấp-2 / #chuyencap2"],
               "company": config.notices.company_name}
    yield NoticeKind.COMMAND_REFUSED, "", refused
    answer = _agent_answer(config, now, agent)
    yield NoticeKind.AGENT_ANSWER, "", answer
    yield NoticeKind.AGENT_ANSWER, "empty", {**answer, "subject": "", "sections": [
        {**answer["sections"][0], "rows": [], "more": 0, "total": 0, "breached": 0}]}
    yield NoticeKind.COMMAND_REFUSED, "no ticket", {**refused, "ref": None, "status": None, "allowed": [],
                                                    "reasons": ["no ticket [KP-2026-999999]"]}
