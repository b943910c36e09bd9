"""The customer-satisfaction survey end to end on the real Dovecot and SMTP server (issue 15,
item 3): an agent resolves a ticket, the sweep past ``delay_hours`` sends the survey, the
customer answers it by replying, the ticket keeps the answer and the supervisor is told."""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from mailproc.app import App
from mailproc.ops.views import ticket_json
from mailproc.store.migrate import upgrade
from mailproc.store.models import TicketMessage
from mailproc.testing.devstack import MailStack
from tests.e2e.test_workflow import TRUSTED, Desk, _with_agents, at
from tests.helpers import Clock, make_config
from tests.helpers.mail import message


@pytest.fixture
def desk(mailstack: MailStack, shared_mailbox: str, database_url: str, tmp_path: Path, clock: Clock) -> Iterator[Desk]:
    tag = uuid.uuid4().hex[:8]
    agents = [{"email": f"l1.{tag}@kplus.example", "role": "l1"}, {"email": f"l2.{tag}@kplus.example", "role": "l2"},
              {"email": f"sup.{tag}@kplus.example", "role": "supervisor"}]
    config = make_config(mailstack, shared_mailbox, database_url, tmp_path, auth={"trusted_authserv_ids": [TRUSTED]},
                         routing={"rules": []})
    config = _with_agents(config, agents)
    clock.value = at(2026, 11, 2)
    app = App.build(config, now=clock)
    upgrade(app.engine)
    yield Desk(app, mailstack, shared_mailbox, clock, tag)
    app.close()


def _inbox(desk: Desk, user: str) -> list[EmailMessage]:
    return [email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
            for raw in desk.stack.messages(user)]


def _text(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()  # type: ignore[union-attr, no-any-return]


def test_resolved_surveyed_answered_dissatisfied_and_flagged(desk: Desk) -> None:
    ref = desk.complain()
    desk.clock.advance(hours=1)
    desk.agent(desk.l1, ref, "#resolve\nĐã kích hoạt lại thẻ cho Quý khách.")
    assert desk.ticket(ref).status == "closed"

    desk.clock.advance(hours=23)
    assert desk.sweep().surveys == 0  # before delay_hours
    assert not [m for m in _inbox(desk, desk.customer) if "Khảo sát" in m["Subject"]]
    desk.clock.advance(hours=1, minutes=1)
    assert desk.sweep().surveys == 1
    assert [o.status for o in desk.outbox("survey")] == ["sent"]
    (survey,) = [m for m in _inbox(desk, desk.customer) if "Khảo sát mức độ" in m["Subject"]]
    assert f"[{ref}]" in survey["Subject"]
    assert "5 - Rất hài lòng" in _text(survey) and "1 - Rất không hài lòng" in _text(survey)
    assert desk.sweep().surveys == 0  # once

    desk.clock.advance(hours=3)
    reply = message(sender=desk.customer, to=desk.shared, subject=f"Re: {survey['Subject']}",
                    body="2 không hài lòng, tối qua lại mất sóng.\n\n> " + _text(survey).splitlines()[0],
                    date=desk.clock(),
                    headers={"In-Reply-To": survey["Message-ID"], "References": survey["Message-ID"]})
    desk.stack.deliver(reply.as_bytes(), desk.shared)
    desk.run()

    ticket = desk.ticket(ref)
    with desk.app.sessions() as session:
        count = session.scalar(select(func.count(TicketMessage.id)).where(TicketMessage.ticket_id == ticket.id))
    shown = ticket_json(ticket, count or 0, ZoneInfo("Asia/Ho_Chi_Minh"))
    assert shown["status"] == "closed"  # an answer to the survey reopens nothing by itself
    assert shown["satisfaction"] == 2
    assert str(shown["satisfaction_comment"]).startswith("2 không hài lòng, tối qua lại mất sóng.")
    assert "satisfaction" in desk.events(ref) and "dissatisfaction_flagged" in desk.events(ref)
    (flag,) = [m for m in _inbox(desk, desk.sup) if f"[{ref}]" in m["Subject"]]
    assert "2/5" in _text(flag) and "tối qua lại mất sóng" in _text(flag)
