"""Push: IMAP IDLE on the real Dovecot announces new mail, and the daemon's jobs run at once
when woken, never losing a wake that arrives while they run."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest

from mailproc.app import App
from mailproc.intake.idle import IdleWatcher, announces_new_mail
from mailproc.ops.scheduler import Waker
from mailproc.store.migrate import upgrade
from mailproc.testing.devstack import MailStack
from tests.helpers import Clock, make_config
from tests.helpers.mail import complaint


def _app(stack: MailStack, tmp_path: Path, **imap: object) -> tuple[App, str]:
    user = f"cskh.{uuid.uuid4().hex[:10]}@kplus.example"
    app = App.build(make_config(stack, user, f"sqlite:///{tmp_path}/m.sqlite3", tmp_path, imap=imap), now=Clock())
    upgrade(app.engine)
    return app, user


def test_idle_announces_new_mail_within_a_second(mailstack: MailStack, tmp_path: Path) -> None:
    app, user = _app(mailstack, tmp_path)
    mailstack.deliver(complaint(), user)  # make the folder exist
    watcher = IdleWatcher(app.ctx, on_change=lambda: None)
    assert watcher.connect() and watcher.supported
    delivered: list[float] = []

    def deliver_soon() -> None:
        watcher.connected.wait(5)
        time.sleep(0.2)
        delivered.append(time.monotonic())
        mailstack.deliver(complaint(phone="0987654321"), user)

    thread = threading.Thread(target=deliver_soon)
    thread.start()
    assert watcher.wait_once(timeout=10)
    announced = time.monotonic()
    thread.join()
    watcher.close()
    app.close()
    assert announced - delivered[0] < 1.0


def test_an_idle_wait_without_mail_times_out_quietly(mailstack: MailStack, tmp_path: Path) -> None:
    app, user = _app(mailstack, tmp_path)
    mailstack.deliver(complaint(), user)
    watcher = IdleWatcher(app.ctx, on_change=lambda: None)
    started = time.monotonic()
    assert watcher.wait_once(timeout=0.5) is False
    assert 0.4 < time.monotonic() - started < 3
    watcher.close()
    app.close()


def test_the_watcher_thread_wakes_on_mail_and_stops_at_once(mailstack: MailStack, tmp_path: Path) -> None:
    app, user = _app(mailstack, tmp_path, idle_seconds=60.0)
    mailstack.deliver(complaint(), user)
    woken = threading.Event()
    watcher = IdleWatcher(app.ctx, on_change=woken.set)
    watcher.start()
    assert watcher.connected.wait(5)
    mailstack.deliver(complaint(phone="0987654322"), user)
    assert woken.wait(5)
    started = time.monotonic()
    watcher.stop()
    assert time.monotonic() - started < 2  # the blocked read is interrupted, not waited out
    app.close()


def test_a_server_without_idle_is_left_to_the_poll(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    caps = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ NAMESPACE UIDPLUS MOVE"
    with MailStack(base_dir=tmp_path_factory.mktemp("noidle"), imap_capability=caps) as stack:
        app, user = _app(stack, tmp_path)
        stack.deliver(complaint(), user)
        watcher = IdleWatcher(app.ctx, on_change=lambda: None)
        assert watcher.wait_once(timeout=1) is False
        assert watcher.supported is False
        app.close()


def test_announcements_that_count() -> None:
    assert announces_new_mail([b"* 3 EXISTS"]) and announces_new_mail([b"* 1 RECENT"])
    assert not announces_new_mail([b"* 2 EXPUNGE", b"* 4 FETCH (FLAGS (\\Seen))", b"+ idling"])


def test_a_wake_during_a_run_runs_the_job_again() -> None:
    waker = Waker()
    runs: list[int] = []
    entered = threading.Event()
    release = threading.Event()

    def body() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            entered.set()
            release.wait(5)

    job = waker.run("intake", body)
    thread = threading.Thread(target=job)
    thread.start()
    assert entered.wait(5)
    waker.wake("intake")  # arrives while the first run is still working
    release.set()
    thread.join(5)
    assert runs == [0, 1]
    job()  # no wake pending: one run only
    assert runs == [0, 1, 2]
