"""redact and RedactingFilter: card and phone numbers never reach a log line in full.

A masked number keeps only its last 3 digits (the rest become ``*``, one per digit);
dates, amounts, short numbers and ticket references stay as they are.
"""

from __future__ import annotations

import io
import logging
import sys

import pytest

from mailproc.ops.logs import RedactingFilter, redact, setup_logging


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # smart-card numbers, grouped in any way
        ("card 012345678901", "card *********901"),
        ("card 0123 4567 8901", "card *********901"),
        ("card 0123-4567-8901", "card *********901"),
        ("card 0123.4567.8901", "card *********901"),
        ("card 0123 4567-8901.2345", "card *************345"),
        ("Số thẻ: 0123 4567 8901.", "Số thẻ: *********901."),
        ("thẻ 12345678", "thẻ *****678"),  # 8 digits: the shortest card
        # phone numbers
        ("SĐT 0912345678", "SĐT *******678"),
        ("SĐT 0912.345.678", "SĐT *******678"),
        ("SĐT 0912 345 678", "SĐT *******678"),
        ("SĐT 0912-345-678", "SĐT *******678"),
        ("tel +84912345678", "tel ********678"),
        ("tel +84 912 345 678", "tel ********678"),
        ("tel +84-912-345-678", "tel ********678"),
        ("(028) 38212345", "(028) *****345"),
        ("gọi 0912345678, 0987654321", "gọi *******678, *******321"),
        ("phone=0912345678;", "phone=*******678;"),
        ("SĐT:0912345678", "SĐT:*******678"),
        ("SĐT-0912345678", "SĐT-*******678"),
        ("<receipt.KP-2026-000123.0f9a@kplus.example>", "<receipt.KP-2026-000123.0f9a@kplus.example>"),
        ("2026-11-02 0912345678", "2026-11-02 *******678"),
        # several numbers in one record, text around them untouched
        ("thẻ 0123 4567 8901 / ĐT 0912.345.678 / mã KP-2026-000123",
         "thẻ *********901 / ĐT *******678 / mã KP-2026-000123"),
        # left alone: ticket references
        ("KP-2026-000123", "KP-2026-000123"),
        ("ticket [KP-2026-000123] created", "ticket [KP-2026-000123] created"),
        ("kp-2026-1234567", "kp-2026-1234567"),
        ("ref=KP-2026-000123;", "ref=KP-2026-000123;"),
        # left alone: dates and times
        ("received 28/10/2026", "received 28/10/2026"),
        ("due 2026-11-09", "due 2026-11-09"),
        ("due 09-11-2026", "due 09-11-2026"),
        ("due 2026-11-09.", "due 2026-11-09."),
        ("(2026-11-09)", "(2026-11-09)"),
        ("ngày 28.10.2026", "ngày 28.10.2026"),
        ("at 2026-11-02 09:00:00+07:00", "at 2026-11-02 09:00:00+07:00"),
        ("at 2026-11-02T09:00:00", "at 2026-11-02T09:00:00"),
        # left alone: short numbers, amounts, identifiers with letters
        ("uid 1234567", "uid 1234567"),
        ("lỗi E48, 3 ngày", "lỗi E48, 3 ngày"),
        ("phí 175.000đ", "phí 175.000đ"),
        ("UIDVALIDITY 1700000 uid 42", "UIDVALIDITY 1700000 uid 42"),
        ("<CAF1x2y3456789@mail.gmail.com>", "<CAF1x2y3456789@mail.gmail.com>"),
        ("sha256 ab12345678cd", "sha256 ab12345678cd"),
        ("", ""),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("mailproc.test", logging.INFO, __file__, 1, msg, args, exc_info)


def test_filter_masks_the_formatted_message() -> None:
    record = _record("ticket %s: phone %s card %s", "KP-2026-000123", "0912.345.678", "0123 4567 8901")
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == "ticket KP-2026-000123: phone *******678 card *********901"


def test_filter_leaves_clean_records_alone() -> None:
    record = _record("processed %d messages for %s", 3, "KP-2026-000123")
    assert RedactingFilter().filter(record) is True
    assert (record.msg, record.args) == ("processed %d messages for %s", (3, "KP-2026-000123"))


def test_filter_masks_exception_text() -> None:
    try:
        raise ValueError("bad card 0123 4567 8901")
    except ValueError as exc:
        record = _record("failed", exc=exc)
    assert RedactingFilter().filter(record) is True
    text = logging.Formatter("%(message)s").format(record)
    assert "0123 4567 8901" not in text
    assert "*********901" in text
    assert "ValueError" in text


def test_setup_logging_installs_the_filter_once() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        setup_logging("info", stream=stream)
        setup_logging("INFO", stream=stream)
        ours = [h for h in root.handlers if getattr(h, "_mailproc", False)]
        assert len(ours) == 1
        logging.getLogger("mailproc.test").info("phone %s", "0912345678")
        assert "*******678" in stream.getvalue()
        assert "0912345678" not in stream.getvalue()
    finally:
        for handler in root.handlers[:]:
            if handler not in saved[0]:
                root.removeHandler(handler)
        root.setLevel(saved[1])
    assert sys.stderr is not None


# --- e-mail addresses, JSON lines, APScheduler's normal notes (issue 12) -------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("550 5.1.1 <an.nguyen@gmail.com>: Recipient address rejected",
     "550 5.1.1 <a***@gmail.com>: Recipient address rejected"),
    ("to binh+kplus@yahoo.com.vn failed", "to b***@yahoo.com.vn failed"),
    # kept: Message-IDs (named as such, or with a long left part), ticket refs, times
    ("sent outbox 12 (receipt) message-id <kp.a1b2@kplus.example>",
     "sent outbox 12 (receipt) message-id <kp.a1b2@kplus.example>"),
    ("<CAF3x9fG8q7H2mZ0p1kLwQ@mail.gmail.com>", "<CAF3x9fG8q7H2mZ0p1kLwQ@mail.gmail.com>"),
    ("ticket KP-2026-000123 at 2026-11-02 10:00:01", "ticket KP-2026-000123 at 2026-11-02 10:00:01"),
])
def test_customers_addresses_are_masked_ids_and_times_are_not(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_json_lines_carry_the_ticket_ref_and_ids_and_are_masked() -> None:
    import json

    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        setup_logging("INFO", stream, fmt="json")
        logging.getLogger("mailproc.test").warning("outbox %d for %s (%s) failed: 550 <%s>", 7, "KP-2026-000042",
                                                   "0912345678", "an.nguyen@gmail.com")
        logging.getLogger("apscheduler.scheduler").warning(
            'Execution of job "send" skipped: maximum number of running instances reached (1)')
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
        logging.captureWarnings(False)
    (line,) = stream.getvalue().splitlines()  # the skipped run is not a warning
    record = json.loads(line)
    assert record["level"] == "WARNING" and record["logger"] == "mailproc.test"
    assert record["message"] == "outbox 7 for KP-2026-000042 (*******678) failed: 550 <a***@gmail.com>"
    assert (record["ticket"], record["outbox_id"]) == ("KP-2026-000042", 7)
    assert record["time"].endswith("+00:00")
