"""Benchmark: hostile mail mixed into a stream of ordinary complaints must not delay the
ordinary receipts nor blow up the daemon's memory.

One command, run from the project root with the project's venv::

    .venv/bin/python bench/hostile.py [--rate 5] [--seconds 40] [--hostile 6]

It starts its own MailStack (a real Dovecot and SMTP server on loopback) and runs the real
daemon (``mailproc run``, the shipped defaults) twice, each on a fresh mailbox and database:

* baseline: ``--rate`` ordinary complaints a second for ``--seconds``;
* hostile: the same stream with ``--hostile`` crafted messages APPENDed among them, in turn:
  many large HTML parts (slow to turn into text), a megabyte of encoded words in the Subject
  (the standard library's decoder is quadratic), and 30 MB messages (over the size limit).

For each ordinary complaint it times APPEND -> receipt accepted by the SMTP server (as
``bench/latency.py``), and it samples the daemon's whole process tree's memory (summed PSS,
every 100 ms). Targets: no ordinary receipt later than the baseline's slowest + 5 s; peak
memory under 300 MB; every hostile message gets an outcome. Missing one prints FAIL (exit 0);
a missing ordinary receipt exits 1.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from imap_tools import MailBoxUnencrypted

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from latency import SHARED, Receipts, _daemon, _percentile, _stop, _tree, _wait_for  # noqa: E402

from mailproc.testing.devstack import MailStack  # noqa: E402
from tests.helpers.mail import complaint  # noqa: E402


def _many_html_parts(to: str) -> bytes:
    chunk = ("<div><p>Mất sóng <b>K+</b> " + "<span>x</span>" * 40 + "</p></div>\n") * 100
    body = "".join(f"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>{chunk}</body></html>\r\n"
                   for _ in range(400))
    return (f"From: Spam <spam.{uuid.uuid4().hex[:6]}@evil.example>\r\nTo: {to}\r\nSubject: html\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@evil.example>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n{body}--b--\r\n").encode()


def _encoded_words(to: str) -> bytes:
    words = " ".join(["=?utf-8?B?" + base64.b64encode("Mất sóng K+ ".encode()).decode() + "?="] * 60_000)
    return (f"From: Spam <spam.{uuid.uuid4().hex[:6]}@evil.example>\r\nTo: {to}\r\nSubject: {words}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@evil.example>\r\n\r\nx\r\n").encode()


def _oversize(to: str) -> bytes:
    blob = base64.encodebytes(os.urandom(22 * 1024 * 1024))
    return (f"From: Spam <spam.{uuid.uuid4().hex[:6]}@evil.example>\r\nTo: {to}\r\nSubject: big\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@evil.example>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n").encode() + blob


HOSTILE = (_many_html_parts, _encoded_words, _oversize)


class Memory:
    """Peak summed PSS of a process tree, sampled every 100 ms."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for member in _tree(self.pid):
                try:
                    with open(f"/proc/{member}/smaps_rollup") as f:
                        for line in f:
                            if line.startswith("Pss:"):
                                total += int(line.split()[1]) * 1024
                                break
                except OSError:
                    continue
            self.peak = max(self.peak, total)
            time.sleep(0.1)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def _run(stack: MailStack, work: Path, label: str, rate: float, seconds: float, hostile: int,
         receipts: Receipts) -> tuple[list[float], int, int]:
    proc, _ = _daemon(stack, work, label, idle=True)
    memory = Memory(proc.pid)
    mailbox = f"{label}.{SHARED}"
    sent: dict[str, float] = {}
    try:
        if not _wait_for(receipts, f"warmup.{label}@example.vn", 60):
            raise SystemExit(f"FAIL  the {label} daemon did not answer the warm-up complaint")
        count = int(rate * seconds)
        every = max(1, count // (hostile + 1)) if hostile else 0
        with MailBoxUnencrypted(stack.host, stack.imap_port, timeout=60).login(mailbox, stack.password) as box:
            start = time.monotonic()
            made = 0
            for i in range(count):
                time.sleep(max(0.0, start + i / rate - time.monotonic()))
                customer = f"k{i}.{label}@example.vn"
                box.append(complaint(sender=f"Khách {i} <{customer}>", to=mailbox, phone=f"0913{i:06d}"), "INBOX")
                sent[customer] = time.monotonic()
                if every and i % every == every // 2 and made < hostile:
                    box.append(HOSTILE[made % len(HOSTILE)](mailbox), "INBOX")
                    made += 1
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not all(c in receipts.accepted for c in sent):
            time.sleep(0.05)
        time.sleep(5)  # let the hostile ones get their outcomes
    finally:
        peak = memory.stop()
        _stop(proc)
    latencies = [receipts.accepted[c] - t for c, t in sent.items() if c in receipts.accepted]
    return latencies, len(sent) - len(latencies), peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--hostile", type=int, default=6)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"reproduce: cd {ROOT} && .venv/bin/python bench/hostile.py --rate {args.rate:g} --seconds {args.seconds:g} "
          f"--hostile {args.hostile}")
    with tempfile.TemporaryDirectory(prefix="mailproc-hostile-") as tmp:
        work = Path(tmp)
        with MailStack(base_dir=work / "stack") as stack:
            receipts = Receipts(stack)
            base, base_missing, base_peak = _run(stack, work, "base", args.rate, args.seconds, 0, receipts)
            hostile, missing, peak = _run(stack, work, "hostile", args.rate, args.seconds, args.hostile, receipts)
            receipts.stop()
    for name, values, lost, mem in (("baseline", base, base_missing, base_peak), ("hostile", hostile, missing, peak)):
        print(f"{name}: n={len(values)} p50={_percentile(values, 50):.3f} s p99={_percentile(values, 99):.3f} s "
              f"max={max(values):.3f} s missing={lost} peak memory={mem / 1e6:.1f} MB")
    if missing or base_missing:
        print("FAIL  ordinary receipts missing")
        return 1
    checks = [(f"no ordinary receipt later than the baseline's slowest + 5 s ({max(base) + 5:.2f} s)",
               max(hostile) <= max(base) + 5.0),
              ("peak memory under 300 MB", peak < 300e6)]
    for name, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
