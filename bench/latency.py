"""Benchmark push delivery: from a complaint appended to the mailbox to its receipt accepted by
the SMTP server, with the real daemon running; and what an idle daemon costs.

One command, run from the project root with the project's venv::

    .venv/bin/python bench/latency.py [--rate 5] [--seconds 60] [--idle-seconds 30] [--baseline-seconds 20]

It starts its own MailStack (a real Dovecot and an SMTP server on loopback) and SQLite in a
temp dir, then runs ``mailproc --config <toml> run`` as a subprocess:

* idle: the daemon's CPU time (its whole process tree, from /proc) over ``--idle-seconds``
  with no mail, as a share of one core;
* push (the daemon as shipped, IMAP IDLE on): a steady stream of ``--rate`` complaints a
  second for ``--seconds``, each APPENDed over IMAP from its own customer address; the time
  from the APPEND's completion to the moment the SMTP server accepted the receipt to that
  customer (the SMTP server runs in this process: its log is watched every 2 ms);
* baseline, in the same run: the same stream for ``--baseline-seconds`` against a daemon
  with ``imap.idle = false`` — the timer-only behaviour (poll every 60 s, send every 30 s).

Targets (push): p50 <= 1 s, p99 <= 3 s; idle under 1 % of a core. Missing a target prints
FAIL and exits 0; a receipt that never arrives exits 1.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from imap_tools import MailBoxUnencrypted

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailproc.testing.devstack import MailStack  # noqa: E402
from tests.helpers.cli import toml_text  # noqa: E402
from tests.helpers.mail import complaint  # noqa: E402

SHARED = "cskh@kplus.example"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for tid in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return found


def _cpu_seconds(pid: int) -> float:
    total = 0
    for member in _tree(pid):
        try:
            with open(f"/proc/{member}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            continue
    return total / CLK_TCK


class Receipts:
    """Watches the SMTP server's log and notes when each customer's receipt was accepted."""

    def __init__(self, stack: MailStack) -> None:
        self.stack, self.seen = stack, 0
        self.accepted: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            log = self.stack.smtp_log()
            now = time.monotonic()
            for _sender, rcpts, _raw in log[self.seen:]:
                for rcpt in rcpts:
                    self.accepted.setdefault(rcpt.lower(), now)
            self.seen = len(log)
            time.sleep(0.002)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _daemon(stack: MailStack, work: Path, label: str, *, idle: bool) -> tuple[subprocess.Popen[bytes], Path]:
    mailbox = f"{label}.{SHARED}"
    config = work / f"{label}.toml"
    config.write_text(toml_text({
        "imap": {"host": stack.host, "port": stack.imap_port, "username": mailbox, "password": stack.password,
                 "timeout": 10.0, "idle": idle},
        "smtp": {"host": stack.host, "port": stack.smtp_port, "from_address": mailbox, "timeout": 10.0},
        "database": {"url": f"sqlite:///{work / label}.sqlite3"},
        "scheduler": {"lock_file": str(work / f"{label}.lock")},
        "notices": {"max_per_sender_per_hour": 1000, "max_per_sender_per_day": 1000,
                    "max_per_domain_per_hour": 100000, "max_automatic_per_hour": 100000},
        "logging": {"level": "WARNING"},
    }), encoding="utf-8")
    cli = [sys.executable, "-m", "mailproc.cli", "--config", str(config)]
    subprocess.run([*cli, "db", "upgrade"], check=True, capture_output=True, cwd=work)
    stack.deliver(complaint(sender=f"warm-up <warmup.{label}@example.vn>", to=mailbox), mailbox)
    log = (work / f"{label}.log").open("wb")
    proc = subprocess.Popen([*cli, "run"], stdout=log, stderr=subprocess.STDOUT, cwd=work)
    return proc, config


def _wait_for(receipts: Receipts, address: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if address in receipts.accepted:
            return True
        time.sleep(0.01)
    return False


def _stream(stack: MailStack, receipts: Receipts, label: str, rate: float, seconds: float,
            grace: float) -> tuple[list[float], int]:
    mailbox = f"{label}.{SHARED}"
    sent: dict[str, float] = {}
    count = int(rate * seconds)
    with MailBoxUnencrypted(stack.host, stack.imap_port, timeout=10).login(mailbox, stack.password) as box:
        start = time.monotonic()
        for i in range(count):
            due = start + i / rate
            time.sleep(max(0.0, due - time.monotonic()))
            customer = f"k{i}.{label}@example.vn"
            box.append(complaint(sender=f"Khách {i} <{customer}>", to=mailbox, phone=f"0912{i:06d}"), "INBOX")
            sent[customer] = time.monotonic()
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and not all(c in receipts.accepted for c in sent):
        time.sleep(0.05)
    latencies = [receipts.accepted[c] - t for c, t in sent.items() if c in receipts.accepted]
    return latencies, count - len(latencies)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def _line(name: str, values: list[float], missing: int) -> str:
    if not values:
        return f"{name}: no receipt arrived ({missing} missing)"
    return (f"{name}: n={len(values)} p50={_percentile(values, 50):.3f} s p99={_percentile(values, 99):.3f} s "
            f"max={max(values):.3f} s mean={statistics.fmean(values):.3f} s missing={missing}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=5.0, help="complaints per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the push stream")
    parser.add_argument("--idle-seconds", type=float, default=30.0, help="how long the idle daemon is measured")
    parser.add_argument("--baseline-seconds", type=float, default=20.0, help="length of the timer-only stream")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"reproduce: cd {ROOT} && .venv/bin/python bench/latency.py --rate {args.rate:g} "
          f"--seconds {args.seconds:g} --idle-seconds {args.idle_seconds:g} "
          f"--baseline-seconds {args.baseline_seconds:g}")
    failed = False
    with tempfile.TemporaryDirectory(prefix="mailproc-latency-") as tmp:
        work = Path(tmp)
        with MailStack(base_dir=work / "stack") as stack:
            receipts = Receipts(stack)
            push, _ = _daemon(stack, work, "push", idle=True)
            try:
                if not _wait_for(receipts, "warmup.push@example.vn", 60):
                    print("FAIL  the daemon did not answer the warm-up complaint within 60 s")
                    return 1
                time.sleep(2)  # the first poll's jobs settle
                before, t0 = _cpu_seconds(push.pid), time.monotonic()
                time.sleep(args.idle_seconds)
                idle_share = (_cpu_seconds(push.pid) - before) / (time.monotonic() - t0)
                latencies, missing = _stream(stack, receipts, "push", args.rate, args.seconds, grace=30)
            finally:
                _stop(push)
            base, _ = _daemon(stack, work, "base", idle=False)
            try:
                _wait_for(receipts, "warmup.base@example.vn", 90)
                base_latencies, base_missing = _stream(stack, receipts, "base", args.rate, args.baseline_seconds,
                                                       grace=90)
            finally:
                _stop(base)
            receipts.stop()
    print(f"stream: {args.rate:g} complaints/s for {args.seconds:g} s (baseline {args.baseline_seconds:g} s)")
    print(_line("push (IMAP IDLE, send at once)", latencies, missing))
    print(_line("baseline (timer only: poll 60 s, send 30 s)", base_latencies, base_missing))
    print(f"idle daemon: {idle_share * 100:.2f} % of one core over {args.idle_seconds:g} s")
    if missing or not latencies:
        print("FAIL  receipts missing")
        return 1
    checks = [("p50 <= 1 s", _percentile(latencies, 50) <= 1.0), ("p99 <= 3 s", _percentile(latencies, 99) <= 3.0),
              ("idle < 1 % of a core", idle_share < 0.01)]
    for name, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
        failed |= not ok
    return 0


if __name__ == "__main__":
    sys.exit(main())
