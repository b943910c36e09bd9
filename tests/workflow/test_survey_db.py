"""The customer-satisfaction survey on a database only (issue 15, item 3): queued by the sweep
``delay_hours`` after a ticket is closed, once per customer and period, never to automatic
senders; the customer's answer (a digit or words, with or without diacritics) is kept on the
ticket when it answers our survey; a dissatisfied answer is flagged to the supervisors; the
digest counts the answers per queue and per agent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from mailproc.app import App
from mailproc.notices.digest import SatisfactionStats
from mailproc.notices.outbox import load_context
from mailproc.store.models import Event, Ticket
from mailproc.workflow.deadlines import sweep_once
from mailproc.workflow.digest import digest_once
from mailproc.workflow.survey import parse_answer
from tests.helpers import Clock
from tests.helpers.desk import BaseDesk, desk_app
from tests.helpers.mail import complaint, message, new_id

SHARED = "cskh@kplus.example"
CUSTOMER = "an.nguyen@gmail.com"
L1, SUP = "l1.tran@kplus.example", "sup.pham@kplus.example"
TRUSTED = "mx.kplus.example"
AUTH = {"Authentication-Results": f"{TRUSTED}; dkim=pass header.d=kplus.example; dmarc=pass"}


class Desk(BaseDesk):
    def complain(self, sender: str = CUSTOMER) -> str:
        self.clock.advance(minutes=5)
        self.store(complaint(sender=sender, message_id=new_id(), date=self.clock()))
        assert self.app.process_once().created == 1
        with self.app.sessions() as session:
            return session.scalars(select(Ticket.ref).order_by(Ticket.id.desc())).first() or ""

    def resolve(self, ref: str) -> None:
        self.clock.advance(minutes=10)
        self.store(message(sender=L1, to=SHARED, subject=f"Re: [{ref}] Mất sóng", headers=AUTH, date=self.clock(),
                           body="#resolve\nĐã kích hoạt lại thẻ.").as_bytes())
        assert self.app.process_once().agent_mail == 1
        assert self.ticket(ref).status == "closed"

    def sweep(self, hours: float) -> int:
        self.clock.advance(hours=hours)
        return sweep_once(self.app.sessions, self.app.context(), now=self.app.now).surveys

    def reply(self, ref: str, body: str, *, to_survey: bool = True) -> None:
        (survey,) = [o for o in self.outbox("survey") if o.ticket_id == self.ticket(ref).id]
        notice = survey if to_survey else self.outbox("resolution")[0]
        self.clock.advance(hours=2)
        self.store(message(sender=CUSTOMER, to=SHARED, subject=f"Re: [{ref}] Khảo sát", body=body,
                           date=self.clock(), headers={"In-Reply-To": f"<{notice.message_id}>"}).as_bytes())
        assert self.app.process_once().replies == 1

    def ticket(self, ref: str) -> Ticket:
        with self.app.sessions() as session:
            found = session.scalar(select(Ticket).where(Ticket.ref == ref))
            assert found is not None
            return found

    def events(self, ref: str) -> list[Event]:
        with self.app.sessions() as session:
            return list(session.scalars(select(Event).join(Ticket).where(Ticket.ref == ref).order_by(Event.id)))


@pytest.fixture
def desk(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[Desk]:
    app: App = desk_app(database_url, tmp_path, clock, {
        "smtp": {"from_address": SHARED}, "auth": {"trusted_authserv_ids": [TRUSTED]}, "routing": {"rules": []},
        "agents": [{"email": L1, "role": "l1"}, {"email": SUP, "role": "supervisor"}],
    })
    try:
        yield Desk(app, clock)
    finally:
        app.close()


@pytest.mark.parametrize(("text", "score"), [
    ("5", 5), ("hai long", 4), ("Không hài lòng, vẫn mất sóng", 2), ("2 không hài lòng", 2),
    ("Rất hài lòng!", 5), ("rat khong hai long", 1), ("4/5, nhân viên nhiệt tình", 4), ("Bình thường", 3),
])
def test_answers_in_digits_and_words_with_or_without_diacritics(text: str, score: int) -> None:
    answer = parse_answer(text)
    assert answer is not None and (answer.score, answer.comment) == (score, text)


@pytest.mark.parametrize("text", ["10 ngày rồi vẫn mất sóng", "Cảm ơn", ""])
def test_no_score_no_answer(text: str) -> None:
    assert parse_answer(text) is None


def test_the_survey_goes_after_the_delay_once_per_ticket_and_once_per_customer_and_period(desk: Desk) -> None:
    ref = desk.complain()
    desk.resolve(ref)

    assert desk.sweep(23.5) == 0                    # before delay_hours (24)
    assert desk.sweep(1) == 1
    (survey,) = desk.outbox("survey")
    assert (survey.to_address, survey.ticket_id) == (CUSTOMER, desk.ticket(ref).id)
    assert survey.subject.startswith(f"[{ref}] Khảo sát mức độ hài lòng")
    assert load_context(survey.context)["status"] == "closed"  # type: ignore[index]
    assert desk.sweep(1) == 0                       # once per ticket

    second = desk.complain()                        # the same customer again, within once_per_days
    desk.resolve(second)
    assert desk.sweep(25) == 0
    assert len(desk.outbox("survey")) == 1


def test_never_to_automatic_senders_nor_our_own_people(desk: Desk) -> None:
    refs = [desk.complain(sender=f"khach{i}@example.vn") for i in range(3)]
    for ref in refs:
        desk.resolve(ref)
    with desk.app.sessions() as session:  # as a ticket logged for such an address would have it
        session.execute(update(Ticket).where(Ticket.ref == refs[0]).values(customer_address="no-reply@bank.example"))
        session.execute(update(Ticket).where(Ticket.ref == refs[1]).values(customer_address=SUP))
        session.commit()

    assert desk.sweep(25) == 1
    assert [o.to_address for o in desk.outbox("survey")] == ["khach2@example.vn"]


def test_the_survey_counts_against_the_per_person_cap(database_url: str, tmp_path: Path, clock: Clock) -> None:
    app = desk_app(database_url, tmp_path, clock, {
        "smtp": {"from_address": SHARED}, "auth": {"trusted_authserv_ids": [TRUSTED]}, "routing": {"rules": []},
        "agents": [{"email": L1, "role": "l1"}], "notices": {"max_per_sender_per_day": 2}, "survey": {"delay_hours": 1},
    })
    try:
        desk = Desk(app, clock)
        ref = desk.complain()   # the receipt (1) ...
        desk.resolve(ref)       # ... and the resolution (2): the cap of the day is reached
        assert desk.sweep(1) == 0
        assert desk.outbox("survey") == []
        assert desk.sweep(24) == 1  # a day after the notices: it goes
    finally:
        app.close()


def test_a_satisfied_answer_is_kept_and_reopens_nothing(desk: Desk) -> None:
    ref = desk.complain()
    desk.resolve(ref)
    desk.sweep(24)

    desk.reply(ref, "5\nCảm ơn K+ đã xử lý nhanh.")

    ticket = desk.ticket(ref)
    assert (ticket.status, ticket.satisfaction, ticket.satisfaction_at) == ("closed", 5, desk.clock())
    assert ticket.satisfaction_comment == "5\nCảm ơn K+ đã xử lý nhanh."
    assert [e.detail["score"] for e in desk.events(ref) if e.kind == "satisfaction"] == [5]
    assert not [o for o in desk.outbox("agent_notice") if o.to_address == SUP]


def test_a_dissatisfied_answer_is_flagged_to_the_supervisors(desk: Desk) -> None:
    ref = desk.complain()
    desk.resolve(ref)
    desk.sweep(24)

    desk.reply(ref, "Không hài lòng, vẫn mất sóng")

    ticket = desk.ticket(ref)
    assert (ticket.status, ticket.satisfaction) == ("closed", 2)
    (flag,) = [o for o in desk.outbox("agent_notice") if o.to_address == SUP]
    assert ref in flag.subject
    assert "2/5" in (flag.body_text or load_context(flag.context)["message"])  # type: ignore[index]
    assert "dissatisfaction_flagged" in [e.kind for e in desk.events(ref)]


def test_a_dissatisfied_answer_after_reopen_days_is_kept_not_flagged(
        database_url: str, tmp_path: Path, clock: Clock) -> None:
    app = desk_app(database_url, tmp_path, clock, {
        "smtp": {"from_address": SHARED}, "auth": {"trusted_authserv_ids": [TRUSTED]}, "routing": {"rules": []},
        "agents": [{"email": L1, "role": "l1"}, {"email": SUP, "role": "supervisor"}],
        "survey": {"reopen_days": 1},
    })
    try:
        desk = Desk(app, clock)
        ref = desk.complain()
        desk.resolve(ref)
        desk.sweep(24)
        desk.clock.advance(days=1)
        desk.reply(ref, "1")
        assert desk.ticket(ref).satisfaction == 1
        assert not [o for o in desk.outbox("agent_notice") if o.to_address == SUP]
    finally:
        app.close()


def test_only_a_reply_to_the_survey_counts(desk: Desk) -> None:
    ref = desk.complain()
    desk.resolve(ref)
    desk.sweep(24)

    desk.reply(ref, "5", to_survey=False)  # a "5" in reply to the resolution notice: not an answer

    assert desk.ticket(ref).satisfaction is None


def test_the_digest_shows_satisfaction_per_queue_and_per_agent(desk: Desk) -> None:
    ref = desk.complain()
    desk.resolve(ref)
    with desk.app.sessions() as session:
        session.execute(update(Ticket).where(Ticket.ref == ref).values(assignee=L1))
        session.commit()
    desk.sweep(24)
    desk.reply(ref, "2 không hài lòng")

    run = digest_once(desk.app.sessions, desk.app.context(), now=desk.app.now)

    assert run.digest.satisfaction_queues == (SatisfactionStats("L1", 1, 2.0, 1),)
    assert run.digest.satisfaction_agents == (SatisfactionStats(L1, 1, 2.0, 1),)
    assert "MỨC ĐỘ HÀI LÒNG" in run.text and "Hàng đợi L1" in run.text
    later = digest_once(desk.app.sessions, desk.app.context(), now=lambda: desk.clock() + timedelta(days=31))
    assert later.digest.satisfaction_queues == ()
    assert "Chưa có khách hàng nào trả lời khảo sát." in later.text


def test_surveys_can_be_turned_off(database_url: str, tmp_path: Path, clock: Clock) -> None:
    app = desk_app(database_url, tmp_path, clock, {
        "smtp": {"from_address": SHARED}, "auth": {"trusted_authserv_ids": [TRUSTED]}, "routing": {"rules": []},
        "agents": [{"email": L1, "role": "l1"}], "survey": {"enabled": False},
    })
    try:
        desk = Desk(app, clock)
        desk.resolve(desk.complain())
        assert desk.sweep(25) == 0
        assert desk.outbox("survey") == []
    finally:
        app.close()
