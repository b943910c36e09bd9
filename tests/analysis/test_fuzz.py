"""Fuzzing the analysis: every input — generated MIME trees, hostile headers, odd charsets and
encodings, and byte-level mutations of the golden corpus — gets an outcome (an analysis or a
quarantine reason), never an exception, within the time bound.

The suite runs a bounded campaign (``MAILPROC_FUZZ_EXAMPLES``, default 60 a test); a longer
one is one command::

    MAILPROC_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/analysis/test_fuzz.py

Every crasher found is added below as an ``@example`` (a regression case), as the corpus is
for extraction.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mailproc.analysis.pool import AnalysisSettings, RawInbound, analyse
from mailproc.config import Config

CORPUS = sorted((Path(__file__).parent.parent / "corpus").glob("*.eml"))
SETTINGS = AnalysisSettings.from_config(Config())
FETCHED = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
EXAMPLES = int(os.environ.get("MAILPROC_FUZZ_EXAMPLES", "60"))
BUDGET = settings(max_examples=EXAMPLES, deadline=5000, derandomize=not os.environ.get("MAILPROC_FUZZ_RANDOM"),
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CHARSETS = ["utf-8", "windows-1258", "iso-8859-1", "iso-8859-8-i", "iso-2022-jp", "gb2312", "koi8-r", "utf-16",
            "x-unknown", "", "utf-8\"; x=\"", "us-ascii"]
ENCODINGS = ["7bit", "8bit", "quoted-printable", "base64", "x-uuencode", "binary", "bogus"]
HEADER_NAMES = ["From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References", "Date", "Reply-To",
                "Content-Type", "Content-Disposition", "Auto-Submitted", "List-Id", "Authentication-Results",
                "X-Mailproc-Oversize", "Return-Path", "Precedence"]
hostile_text = st.text(st.characters(codec="utf-8"), max_size=300) | st.sampled_from([
    "=?utf-8?B?" + "QQ==" * 50 + "?=", "=?x-bogus?Q?=FF=FE?=", "\x00\r\nBcc: x@evil.example", "<" * 200,
    "a@b, c@d, \"e,f\" <g@h>", "\u202eexe.pdf", "Mon, 99 Foo 2026 25:61:61 +9999", "=?utf-8?q?\\u?=",
])


@st.composite
def mime(draw: st.DrawFn, depth: int = 0) -> bytes:
    """A message from generated parts: nested multiparts, charsets, encodings, hostile headers."""
    if depth < 3 and draw(st.booleans()):
        boundary = draw(st.sampled_from(["b", "=_x", "a" * 70, "--", "b\"c"]))
        parts = draw(st.lists(mime(depth + 1), min_size=0, max_size=4))
        body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
        subtype = draw(st.sampled_from(["mixed", "alternative", "related", "report", "digest"]))
        head = f"Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\r\n".encode()
        return head + b"\r\n" + body + b"--" + boundary.encode() + b"--\r\n"
    kind = draw(st.sampled_from(["text/plain", "text/html", "message/rfc822", "application/pdf",
                                 "message/delivery-status", "text/calendar"]))
    charset = draw(st.sampled_from(CHARSETS))
    encoding = draw(st.sampled_from(ENCODINGS))
    payload = draw(st.binary(max_size=400) | hostile_text.map(lambda t: t.encode("utf-8", "surrogatepass")))
    name = draw(st.none() | hostile_text)
    head = f"Content-Type: {kind}; charset=\"{charset}\"\r\nContent-Transfer-Encoding: {encoding}\r\n"
    if name is not None:
        head += f"Content-Disposition: attachment; filename=\"{name.replace(chr(10), ' ')}\"\r\n"
    return head.encode("utf-8", "surrogateescape") + b"\r\n" + payload


@st.composite
def message(draw: st.DrawFn) -> bytes:
    headers = draw(st.lists(st.tuples(st.sampled_from(HEADER_NAMES), hostile_text), max_size=12))
    top = b"".join(f"{n}: {v}".encode("utf-8", "surrogatepass").replace(b"\n", b" ") + b"\r\n" for n, v in headers)
    return top + draw(mime())


def _outcome(raw: bytes) -> None:
    analysis = analyse(RawInbound(1, raw, FETCHED), SETTINGS)
    assert analysis.inbound_id == 1
    assert (analysis.parsed is not None) != (analysis.error is not None) or analysis.verdict is not None


@BUDGET
@given(message())
@example(b"Subject: =?utf-8?B?" + b"4bqh" * 20000 + b"?=\r\n\r\nx")  # a huge encoded word
@example(b"Content-Type: multipart/mixed; boundary=x\r\n\r\n" + b"--x\r\n" * 3000)  # many empty parts
def test_any_generated_message_gets_an_outcome(raw: bytes) -> None:
    _outcome(raw)


@BUDGET
@given(st.sampled_from(CORPUS), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=20),
       st.integers(0, 10**6) | st.none())
def test_any_mutation_of_the_corpus_gets_an_outcome(path: Path, flips: list[tuple[int, int]],
                                                   cut: int | None) -> None:
    raw = bytearray(path.read_bytes())
    for position, value in flips:
        raw[position % len(raw)] = value
    _outcome(bytes(raw[:cut] if cut is not None else raw))


@BUDGET
@given(st.binary(max_size=2000))
def test_any_bytes_get_an_outcome(raw: bytes) -> None:
    _outcome(raw)


def test_a_message_built_by_the_standard_library_is_analysed() -> None:
    msg = EmailMessage(policy=SMTP)
    msg["From"], msg["To"], msg["Subject"] = "An <an@example.vn>", "cskh@kplus.example", "Mất sóng"
    msg.set_content("Số thẻ 0123 4567 8901, SĐT 0912345678")
    analysis = analyse(RawInbound(1, msg.as_bytes(), FETCHED), SETTINGS)
    assert analysis.error is None and analysis.found is not None and analysis.found.smartcard == "012345678901"
