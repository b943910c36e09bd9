"""Logging set-up: one format, and a filter that masks card and phone numbers in any record.

mailproc never logs identifiers on purpose; the filter is defence in depth for text that
reaches a log line through an exception message or a third-party library.
"""

from __future__ import annotations

import logging
import re
import sys

# Kept although they have 8+ grouped digits: dates (2026-11-09, 09-11-2026, 28.10.2026,
# optionally with a time) and ticket references (KP-2026-000123).
_DATE = r"(?:\d{4}-\d{2}-\d{2}|\d{1,2}[./\-]\d{1,2}[./\-]\d{4})(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?"
_KEEP = rf"{_DATE}(?!\d|[.\-]\d)|[^\W\d_]\w*-\d{{4}}-\d{{6,}}(?!\w)"
# 8+ digits, optionally grouped by spaces, dots or dashes, optionally with +: cards and phones.
_LONG_NUMBER = re.compile(rf"(?<![\w.])(?:(?P<keep>{_KEEP})|\+?\d(?:[ .\-]?\d){{7,}}(?![\w]))")


def redact(text: str) -> str:
    def _mask(match: re.Match[str]) -> str:
        if match.group("keep"):
            return match.group(0)
        digits = re.sub(r"\D", "", match.group(0))
        return "*" * (len(digits) - 3) + digits[-3:]

    return _LONG_NUMBER.sub(_mask, text)


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


def setup_logging(level: str = "INFO", stream: object = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
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
