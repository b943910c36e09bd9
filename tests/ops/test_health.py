"""judge: the reasons 'mailproc health' gives, from the facts alone (a pure function)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from mailproc.config import HealthConfig
from mailproc.ops.health import Facts, MailboxFact, judge

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
CFG = HealthConfig()


def healthy(**changes: Any) -> Facts:
    facts = Facts(now=NOW, mailboxes=[MailboxFact("", "INBOX", NOW - timedelta(minutes=1), 0, None, True)],
                  last_send_ok_at=NOW - timedelta(minutes=2), oldest_queued_at=None, oldest_queued_error=None,
                  queued=0, failed_24h=0, quarantined=3, quarantined_24h=1, breached=0,
                  scheduler={"held": True, "holder": "pid 1 on here since …", "alive": True, "heartbeat_age_s": 10.0})
    return replace(facts, **changes)


def test_a_service_doing_its_job_is_healthy() -> None:
    facts = healthy()
    assert judge(facts, CFG) == []
    assert facts.last_poll_ok_at == NOW - timedelta(minutes=1)
    assert facts.oldest_queued_age_s is None


def test_a_stale_or_never_successful_poll_names_the_mailbox_and_its_error() -> None:
    stale = healthy(mailboxes=[MailboxFact("", "INBOX", NOW - timedelta(minutes=40), 3, "LOGIN failed", True),
                               MailboxFact("hn", "INBOX", None, 2, "timeout", True)])
    reasons = judge(stale, CFG)
    assert reasons == ["mailbox INBOX: last good poll 40 min ago (last error: LOGIN failed)",
                       "mailbox hn/INBOX: never polled successfully (last error: timeout)"]
    assert stale.last_poll_ok_at is None  # one mailbox never polled: no "last good poll" overall


def test_a_stuck_outbox_failures_quarantine_and_breaches_are_reasons() -> None:
    facts = healthy(oldest_queued_at=NOW - timedelta(minutes=90), oldest_queued_error="421 try later", queued=7,
                    failed_24h=5, quarantined_24h=20, breached=2)
    assert facts.oldest_queued_age_s == 5400.0
    assert judge(facts, CFG) == [
        "outbox stuck: 7 notice(s) waiting, the oldest queued 90 min ago (last error: 421 try later)",
        "outbox failing: 5 notice(s) failed in the last 24 hours",
        "quarantine growing: 20 message(s) quarantined in the last 24 hours",
        "deadlines breached: 2 open ticket(s) past a due date",
    ]
    assert judge(healthy(oldest_queued_at=NOW - timedelta(minutes=59), failed_24h=4, quarantined_24h=19), CFG) == []


def test_a_token_is_a_problem_only_when_it_expires_soon_and_cannot_be_renewed() -> None:
    expiring = {"identity": "cskh@kplus.vn", "expires_at": NOW.timestamp() + 600, "failures": 3,
                "last_error": "invalid_grant"}
    assert judge(healthy(token=expiring), CFG) == [
        "oauth2 token for cskh@kplus.vn: expired or expiring soon, last renewal failed: invalid_grant"]
    assert judge(healthy(token={**expiring, "last_error": None}), CFG) == []  # renewed in time, as usual
    assert judge(healthy(token={**expiring, "expires_at": NOW.timestamp() + 7200}), CFG) == []


def test_no_daemon_or_a_hung_one_is_a_reason() -> None:
    assert judge(healthy(scheduler={"held": None, "holder": None}), CFG) == [
        "no mailproc daemon holds the scheduler lock"]
    dead = {"held": False, "holder": "pid 4242 on here since 2026-11-25T02:00:00+00:00", "alive": False}
    assert judge(healthy(scheduler=dead), CFG) == [
        "no mailproc daemon holds the scheduler lock (the holder file names pid 4242 on here since "
        "2026-11-25T02:00:00+00:00, not running)"]
    hung = {"held": True, "holder": "pid 1 on here", "alive": True, "heartbeat_age_s": 900.0}
    assert judge(healthy(scheduler=hung), CFG) == ["the scheduler's heartbeat is 900 s old (pid 1 on here): hung?"]
