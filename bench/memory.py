"""Benchmark: the daemon's memory when 20 mails of 25 MB arrive in one poll, and after.

One command, run from the project root with the project's venv::

    .venv/bin/python bench/memory.py [--mails 20] [--mb 25] [--after 60]

It starts its own MailStack (a real Dovecot and SMTP server on loopback) and the real daemon
(``mailproc run``, the shipped defaults except IMAP IDLE off, so that every mail is there for
one poll). The daemon's whole process tree (the daemon and its analysis workers) is sampled
every 100 ms (summed PSS, from /proc):

* idle, the baseline of the same run: after the first (empty) poll, for 15 s;
* burst: ``--mails`` complaints of ``--mb`` MB each (half with a large photo or video
  attached, half a large HTML body: the two ways a mail gets that big) are delivered while
  the daemon waits, and it is woken for one poll; the peak until every one is processed and
  its receipt accepted by the SMTP server;
* after: ``--after`` seconds later, the tree's memory again.

Targets: peak under 300 MB; after, within 20 % of idle. Missing one prints FAIL (exit 0); a
mail that gets no outcome exits 1.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from latency import SHARED, _stop, _tree  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from mailproc.testing.devstack import MailStack  # noqa: E402
from tests.helpers.cli import toml_text  # noqa: E402


def pss(pid: int, *, alone: bool = False) -> int:
    total = 0
    for member in [pid] if alone else _tree(pid):
        try:
            with open(f"/proc/{member}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


class Sampler:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.samples, self.main_peak = pid, 0, [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            value = pss(self.pid)
            self.main_peak = max(self.main_peak, pss(self.pid, alone=True))
            self.samples.append(value)
            self.peak = max(self.peak, value)
            time.sleep(0.1)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def _big_mail(to: str, i: int, size: int) -> bytes:
    head = (f"From: Khách {i} <big{i}@example.vn>\r\nTo: {to}\r\nSubject: Mất sóng K+, ảnh màn hình lỗi {i}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@example.vn>\r\nDate: Wed, 02 Dec 2026 09:00:00 +0700\r\n"
            "MIME-Version: 1.0\r\n")
    text_part = (f"Tôi tên là Khách {i}, nhà tôi bị mất sóng K+ từ hôm qua, màn hình báo lỗi E48.\r\n"
                 f"Số thẻ: 0123 4567 {8900 + i}\r\nSố điện thoại: 0912 345 {600 + i:03d}\r\n"
                 "Địa chỉ: 12 Nguyễn Trãi, Thanh Xuân, Hà Nội\r\n")
    if i % 2 == 0:  # a phone video of the screen, attached
        blob = base64.encodebytes(os.urandom(size * 3 // 4 - 4096)).replace(b"\n", b"\r\n")
        return (head + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                + text_part + '--b\r\nContent-Type: video/mp4; name="loi.mp4"\r\nContent-Transfer-Encoding: base64\r\n'
                'Content-Disposition: attachment; filename="loi.mp4"\r\n\r\n').encode() + blob + b"\r\n--b--\r\n"
    # a web mail's HTML body, bloated with inline styles (as some editors write it)
    row = '<div style="font-family:Arial;color:#222;margin:0"><span style="font-size:14px">K+</span></div>\r\n'
    html = "<html><body><p>" + text_part.replace("\r\n", "<br>") + "</p>" + row * (size // len(row)) + "</body></html>"
    return (head + "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n").encode() + \
        html.encode()


def _daemon(stack: MailStack, work: Path, mailbox: str) -> tuple[subprocess.Popen[bytes], str]:
    config = work / "memory.toml"
    url = f"sqlite:///{work}/memory.sqlite3"
    config.write_text(toml_text({
        "imap": {"host": stack.host, "port": stack.imap_port, "username": mailbox, "password": stack.password,
                 "timeout": 60.0, "idle": False},
        "smtp": {"host": stack.host, "port": stack.smtp_port, "from_address": mailbox, "timeout": 30.0},
        "database": {"url": url},
        "scheduler": {"lock_file": str(work / "memory.lock")},
        "logging": {"level": "WARNING"},
    }), encoding="utf-8")
    cli = [sys.executable, "-m", "mailproc.cli", "--config", str(config)]
    subprocess.run([*cli, "db", "upgrade"], check=True, capture_output=True, cwd=work)
    log = (work / "memory.log").open("wb")
    return subprocess.Popen([*cli, "run"], stdout=log, stderr=subprocess.STDOUT, cwd=work), url


def _done(url: str) -> tuple[int, int, int]:
    """(messages with an outcome, notices sent, notices waiting)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            handled = conn.execute(text("SELECT count(*) FROM inbound_messages WHERE status != 'new'")).scalar()
            sent = conn.execute(text("SELECT count(*) FROM outbox WHERE status = 'sent'")).scalar()
            waiting = conn.execute(text("SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending')")).scalar()
            return int(handled or 0), int(sent or 0), int(waiting or 0)
    except Exception:
        return 0, 0, 1
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=20)
    parser.add_argument("--mb", type=float, default=25.0)
    parser.add_argument("--after", type=float, default=60.0)
    args = parser.parse_args()
    size = int(args.mb * 1_000_000)
    with tempfile.TemporaryDirectory(prefix="mailproc-memory-") as tmp, \
            MailStack(base_dir=Path(tmp) / "stack") as stack:
        work = Path(tmp)
        mailbox = f"memory.{SHARED}"
        mails = [_big_mail(mailbox, i, size) for i in range(args.mails)]
        proc, url = _daemon(stack, work, mailbox)
        try:
            time.sleep(5)  # started, the first (empty) poll done
            idle_samples, idle_alone_samples = [], []
            for _ in range(30):
                idle_samples.append(pss(proc.pid))
                idle_alone_samples.append(pss(proc.pid, alone=True))
                time.sleep(0.5)
            idle = sorted(idle_samples)[len(idle_samples) // 2]
            for raw in mails:
                stack.deliver(raw, mailbox)
            del mails
            sampler = Sampler(proc.pid)
            started = time.monotonic()
            deadline = started + 600
            handled = sent = waiting = 0
            while time.monotonic() < deadline:
                handled, sent, waiting = _done(url)
                if handled >= args.mails and not waiting:
                    break
                time.sleep(1)
            took = time.monotonic() - started
            peak = sampler.stop()
            time.sleep(args.after)
            after_samples = []
            for _ in range(10):
                after_samples.append(pss(proc.pid))
                time.sleep(0.5)
            after = sorted(after_samples)[len(after_samples) // 2]
            after_alone = pss(proc.pid, alone=True)
            idle_alone = idle_alone_samples[len(idle_alone_samples) // 2]
        finally:
            _stop(proc)
            log_tail = (work / "memory.log").read_text(errors="replace")[-3000:]
    if sent < args.mails:
        print(f"not every mail got its receipt; the daemon's log ends:\n{log_tail}")
    print(f"memory: {args.mails} mails of {args.mb:g} MB in one poll, the daemon's process tree (summed PSS)")
    print(f"  idle (baseline)        {idle / 1e6:7.1f} MB")
    print(f"  peak, the daemon alone {sampler.main_peak / 1e6:7.1f} MB  (without its analysis workers)")
    print(f"  peak during the burst  {peak / 1e6:7.1f} MB  (handled {handled}/{args.mails}, receipts {sent}, "
          f"{took:.0f} s incl. waiting for the next poll)")
    print(f"  {args.after:.0f} s after            {after / 1e6:7.1f} MB  ({(after / idle - 1) * 100:+.0f} % of idle; "
          f"the daemon alone {idle_alone / 1e6:.1f} MB idle, {after_alone / 1e6:.1f} MB after)")
    checks = [("peak under 300 MB", peak < 300e6), ("after within 20 % of idle", after <= idle * 1.2)]
    for name, ok in checks:
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    return 0 if handled >= args.mails else 1


if __name__ == "__main__":
    sys.exit(main())
