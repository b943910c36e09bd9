"""Crash script: kill -9 the sender in the middle of its work, again and again, and count the
receipts that reached the SMTP server twice (issue 16, item 1).

One command, run from the project root with the project's venv::

    .venv/bin/python bench/crash.py [--kills 20] [--complaints 200]

For each of two servers, each a real Dovecot and SMTP server on loopback started here:

* ``sent copy``: the SMTP server files a copy of every message it accepted in the sender's
  Sent folder before it answers 250, as Gmail does; mailproc is configured to look there
  (``smtp.sent_copy_folder``);
* ``no copy``: a server that keeps nothing, where a notice in doubt can only be sent again;

``--complaints`` complaints are polled into as many queued receipts, then ``mailproc send
--once`` is started and killed with SIGKILL at a random moment while it is sending (after
the server has accepted at least one message of that run), ``--kills`` times; a last run
finishes the outbox. Every receipt must then have been accepted, and the duplicates (the same
Message-ID accepted more than once) are counted.

Targets: 0 duplicates with the sent copy; at most one per kill without it. Missing a target
prints FAIL and exits 1.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from email import message_from_bytes
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailproc.testing.devstack import MailStack  # noqa: E402
from tests.helpers.cli import toml_text  # noqa: E402
from tests.helpers.mail import complaint  # noqa: E402

SHARED = "cskh@kplus.example"
LEASE_SECONDS = 0.5  # a killed sender's notices are in doubt this soon after


def _config(stack: MailStack, work: Path, label: str, *, sent_copy: bool) -> list[str]:
    mailbox = f"{label}.{SHARED}"
    config = work / f"{label}.toml"
    config.write_text(toml_text({
        "imap": {"host": stack.host, "port": stack.imap_port, "username": mailbox, "password": stack.password,
                 "timeout": 10.0, "sent_folder": ""},
        "smtp": {"host": stack.host, "port": stack.smtp_port, "from_address": mailbox, "timeout": 10.0,
                 "lease_seconds": LEASE_SECONDS, "batch_size": 10,
                 "sent_copy_folder": "Sent" if sent_copy else "", "sent_copy_wait_seconds": 0.0},
        "database": {"url": f"sqlite:///{work / label}.sqlite3"},
        "scheduler": {"lock_file": str(work / f"{label}.lock")},
        "notices": {"max_per_sender_per_hour": 1000, "max_per_sender_per_day": 1000,
                    "max_per_domain_per_hour": 100000, "max_automatic_per_hour": 100000},
        "logging": {"level": "WARNING"},
    }), encoding="utf-8")
    return [sys.executable, "-m", "mailproc.cli", "--config", str(config)]


def _accepted(stack: MailStack) -> Counter[str]:
    return Counter(str(message_from_bytes(data)["Message-ID"]) for _, _, data in stack.smtp_log())


def _run(label: str, work: Path, kills: int, complaints: int, *, sent_copy: bool, rng: random.Random) -> tuple[
        int, int, int, int]:
    """(receipts, accepted once at least, duplicates, kills landed) for one server kind."""
    with MailStack(base_dir=work / f"stack-{label}", sent_copy_folder="Sent" if sent_copy else None) as stack:
        cli = _config(stack, work, label, sent_copy=sent_copy)
        mailbox = f"{label}.{SHARED}"
        subprocess.run([*cli, "db", "upgrade"], check=True, capture_output=True, cwd=work)
        for i in range(complaints):
            stack.deliver(complaint(sender=f"Khách {i} <k{i}.{label}@example.vn>", to=mailbox), mailbox)
        subprocess.run([*cli, "poll", "--once"], check=True, capture_output=True, cwd=work)
        landed = 0
        for _ in range(kills):
            before = len(stack.smtp_log())
            proc = subprocess.Popen([*cli, "send", "--once"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    cwd=work)
            deadline = time.monotonic() + 30
            while len(stack.smtp_log()) == before and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            time.sleep(rng.uniform(0.0, 0.15))  # somewhere in the middle of a transaction, or between two
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                landed += 1
            proc.wait()
            time.sleep(LEASE_SECONDS + 0.1)  # the killed sender's lease runs out: its notices are in doubt
        for _ in range(3):  # finish: whatever is left (in doubt, queued) is settled and sent
            subprocess.run([*cli, "send", "--once"], check=True, capture_output=True, cwd=work)
            time.sleep(LEASE_SECONDS + 0.1)
        accepted = _accepted(stack)
        receipts = sum(1 for mid in accepted if mid)
        duplicates = sum(n - 1 for n in accepted.values())
        return complaints, receipts, duplicates, landed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--complaints", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    ok = True
    print(f"crash script: {args.kills} kill -9 of `mailproc send --once` while sending {args.complaints} receipts "
          f"(seed {seed})")
    with tempfile.TemporaryDirectory(prefix="mailproc-crash-") as tmp:
        for label, sent_copy in (("copy", True), ("nocopy", False)):
            receipts, accepted, duplicates, landed = _run(label, Path(tmp), args.kills, args.complaints,
                                                          sent_copy=sent_copy, rng=rng)
            limit = 0 if sent_copy else landed
            verdict = "ok" if accepted == receipts and duplicates <= limit else "FAIL"
            ok = ok and verdict == "ok"
            name = "server keeps a Sent copy" if sent_copy else "server keeps no copy  "
            print(f"  {name}: kills landed {landed:2d}, receipts {receipts}, delivered {accepted}, "
                  f"duplicates {duplicates} (target <= {limit}) {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
