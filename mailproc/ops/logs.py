"""Logging set-up: text or JSON lines, and a filter that masks card and phone numbers and
customers' e-mail addresses in any record.

mailproc never logs identifiers on purpose; the filter is defence in depth for text that
reaches a log line through an exception message or a third-party library (an SMTP server's
"550 <an.nguyen@gmail.com>: no such user"). Ticket refs, dates and times, ids and Message-IDs
stay as they are, so a log can be searched for them. Python warnings go through logging too,
and APScheduler's "skipped: still running" (normal for a long send) is not a warning.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

# Kept although they have 8+ grouped digits: dates (2026-11-09, 09-11-2026, 28.10.2026,
# optionally with a time) and ticket references (KP-2026-000123).
_DATE = r"(?:\d{4}-\d{2}-\d{2}|\d{1,2}[./\-]\d{1,2}[./\-]\d{4})(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?"
_KEEP = rf"{_DATE}(?!\d|[.\-]\d)|[^\W\d_]\w*-\d{{4}}-\d{{6,}}(?!\w)"
# 8+ digits, optionally grouped by spaces, dots or dashes, optionally with +: cards and phones.
# (A reference is kept after a dot too: inside our Message-IDs, receipt.KP-2026-000123.…)
_LONG_NUMBER = re.compile(rf"(?<!\w)(?P<keep>{_KEEP})|(?<![\w.])\+?\d(?:[ .\-]?\d){{7,}}(?!\w)")


# An address: masked to its first character and its domain (a***@gmail.com). A Message-ID has
# the same shape: kept when the text calls it one, or when its left part is long (ours carry
# 128 random bits) or mixes upper and lower case and digits (mail clients').
_ADDRESS = re.compile(r"(?P<local>[\w.+\-=]+)@(?P<domain>[\w\-]+(?:\.[\w\-]+)+)")
_MESSAGE_ID_BEFORE = re.compile(r"(?i)message[-_ ]?id\W{0,4}<?$")
_ID_LENGTH = 20


def _mask_addresses(text: str) -> str:
    def _mask(match: re.Match[str]) -> str:
        local = match.group("local")
        before = text[max(0, match.start() - 16):match.start()]
        generated = any(c.isupper() for c in local) and any(c.islower() for c in local) and any(
            c.isdigit() for c in local)  # CAF1x2y3…@mail.gmail.com: people's addresses are not like that
        if len(local) >= _ID_LENGTH or generated or _MESSAGE_ID_BEFORE.search(before):
            return match.group(0)
        return f"{local[0]}***@{match.group('domain')}"

    return _ADDRESS.sub(_mask, text)


def redact(text: str) -> str:
    def _mask(match: re.Match[str]) -> str:
        if match.group("keep"):
            return match.group(0)
        digits = re.sub(r"\D", "", match.group(0))
        return "*" * (len(digits) - 3) + digits[-3:]

    return _LONG_NUMBER.sub(_mask, _mask_addresses(text) if "@" in text else text)


_REF = re.compile(r"\b[A-Za-z][A-Za-z0-9]{0,9}-\d{4}-\d{6,}\b")
_IDS = {"outbox_id": re.compile(r"\boutbox (\d+)"), "inbound_id": re.compile(r"\binbound (\d+)")}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the ticket ref and the inbound or
    outbox id when the message names them, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": message,
        }
        if ref := _REF.search(message):
            data["ticket"] = ref.group(0)
        for key, pattern in _IDS.items():
            if found := pattern.search(message):
                data[key] = int(found.group(1))
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data, ensure_ascii=False)


class _Demote(logging.Filter):
    """APScheduler's own notes that are normal here, at DEBUG instead of WARNING: a run skipped
    because the job is still running (``max_instances = 1``, a long send) or coalesced."""

    NORMAL = ("maximum number of running instances reached", "was missed by")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and any(n in str(record.msg) for n in self.NORMAL):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def setup_logging(level: str = "INFO", stream: object = None, fmt: str = "text") -> None:
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(JsonFormatter() if fmt == "json"
                         else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_mailproc", False):
            root.removeHandler(old)
    handler._mailproc = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("imap_tools", "mailparser", "apscheduler.executors.default", "aiosmtplib", "mail.log"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _Demote) for f in scheduler_log.filters):
        scheduler_log.addFilter(_Demote())
    logging.captureWarnings(True)  # third-party warnings: one log line each, masked like the rest
