"""Parse raw e-mail bytes into a :class:`ParsedMail` value: headers, clean text, attachments.

Identity headers (From, Message-ID, In-Reply-To, References, Date) come from the standard
library's modern parser; bodies and attachments from mail-parser; every text is decoded with
the fallback chain of :mod:`mailproc.core.textnorm`. Size and MIME structure are checked before
and during parsing; anything unparseable raises :class:`MessageRejected` (the caller
quarantines it). Pure: bytes in, value out.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

import mailparser
from inscriptis import get_text
from inscriptis.model.config import ParserConfig

from mailproc.analysis.quoting import split_body
from mailproc.analysis.slim import SLIM_ABOVE, omitted, slim
from mailproc.config import ParsingConfig
from mailproc.core.textnorm import CONTROL_RE, decode_bytes, fold, normalize
from mailproc.errors import MessageRejected

_MSGID_RE = re.compile(r"<([^<>\s]{1,900})>")
_UNSAFE_HEADER_RE = re.compile(r"[\x00-\x1f\x7f]+")
# Controls (C0, DEL, C1), path and shell characters, and the invisible format characters that
# can disguise a name: bidi overrides and isolates ("invoice\u202Efdp.exe" shows as
# "invoiceexe.pdf"), zero-width characters, the BOM.
_UNSAFE_FILENAME_RE = re.compile('[\x00-\x1f\x7f-\x9f/\\\\:*?"<>|\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]+')
_INSCRIPTIS = ParserConfig(display_links=False, display_images=False)
MAX_SUBJECT = 255
# The first header of what the poller stores for a message over the size limit (its headers
# only): "X-Mailproc-Oversize: <bytes>". Only a first line counts: a receiving server always
# puts its own trace headers above anything a sender wrote.
OVERSIZE_HEADER = b"X-Mailproc-Oversize"


def oversize_of(raw: bytes) -> int | None:
    """The real size of a message stored without its body, else None."""
    if not raw.startswith(OVERSIZE_HEADER + b":"):
        return None
    value = raw[len(OVERSIZE_HEADER) + 1:raw.find(b"\n")].strip()
    return int(value) if value.isdigit() else None


@dataclass(frozen=True)
class AttachmentInfo:
    filename: str
    content_type: str
    size: int
    sha256: str
    data: bytes | None  # None when over the configured size limit
    note: str | None = None


@dataclass(frozen=True)
class DeliveryReport:
    """What a bounce (RFC 3464 DSN) says about one of our messages."""

    original_message_id: str | None
    status: str | None
    diagnostic: str | None
    recipient: str | None


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_address: str | None
    from_name: str | None
    to: tuple[str, ...]
    date: datetime | None
    content_type: str
    headers: dict[str, tuple[str, ...]]  # lower-cased name -> sanitised values
    text: str
    new_text: str
    quoted_text: str
    forwarded_text: str
    attachments: tuple[AttachmentInfo, ...] = ()
    defects: tuple[str, ...] = ()
    report: DeliveryReport | None = None
    charsets: tuple[str, ...] = field(default=())

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def customer_text(self) -> str:
        """What identifiers are read from: the new text plus any forwarded complaint."""
        if self.forwarded_text:
            return f"{self.new_text}\n\n{self.forwarded_text}".strip()
        return self.new_text


def clean_header(value: object, limit: int = 998) -> str:
    """A header value safe to log, store or reuse: no CR, LF, NUL or controls; capped."""
    text = str(value) if value is not None else ""
    if text.isascii() and not CONTROL_RE.search(text):
        # Most headers: nothing to repair or drop, only folded white space to join (the
        # same result as below, at a fraction of the cost).
        return " ".join(text.split())[:limit]
    text = normalize(text)
    text = _UNSAFE_HEADER_RE.sub(" ", text)
    return " ".join(text.split())[:limit]


def message_ids(value: str | None) -> tuple[str, ...]:
    """The ``<id>`` tokens of a Message-ID, In-Reply-To or References header, without brackets."""
    if not value:
        return ()
    return tuple(dict.fromkeys(_MSGID_RE.findall(value)))


def safe_filename(name: str | None, index: int, content_type: str) -> str:
    """A file name safe on any disk: no path, no controls, NFC, at most 150 characters."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").split("/")[-1]
    text = _UNSAFE_FILENAME_RE.sub("_", text).strip(" ._")
    if not text:
        ext = content_type.split("/")[-1][:10] if "/" in content_type else "bin"
        text = f"attachment-{index}.{ext}"
    if len(text) > 150:
        stem, dot, ext = text.rpartition(".")
        text = (stem[: 140] + dot + ext[:9]) if dot and len(ext) < 10 else text[:150]
    return text


def _check_structure(msg: Message, cfg: ParsingConfig) -> None:
    parts = 0
    stack: list[tuple[Message, int]] = [(msg, 1)]
    while stack:
        part, depth = stack.pop()
        parts += 1
        if parts > cfg.max_mime_parts:
            raise MessageRejected(f"more than {cfg.max_mime_parts} MIME parts")
        if depth > cfg.max_mime_depth:
            raise MessageRejected(f"MIME nesting deeper than {cfg.max_mime_depth}")
        payload = part.get_payload()
        if part.is_multipart() and isinstance(payload, list):
            stack.extend((p, depth + 1) for p in payload if isinstance(p, Message))


# Headers whose values need RFC 2047 decoding or address parsing by the modern policy;
# everything else (Message-ID, Auto-Submitted, List-*, ...) is ASCII and read as is.
# Headers that may carry RFC 2047 encoded words or raw 8-bit text and are decoded for use.
_DECODED_HEADERS = frozenset({"from", "sender", "to", "cc", "reply-to", "subject"})
MAX_DECODED_HEADER = 16_384  # characters of one such header that are decoded at all
_SURROGATE_RE = re.compile("[\udc80-\udcff]")


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words and raw 8-bit bytes in a header value."""
    text = value
    if "=?" in value:
        try:
            text = str(make_header(decode_header(value)))
        except (HeaderParseError, LookupError, UnicodeError, ValueError):
            text = value
    if _SURROGATE_RE.search(text):  # raw 8-bit bytes, kept by the parser as surrogates
        text = decode_bytes(text.encode("utf-8", "surrogateescape"))[0]
    return text


def _headers(msg: Message) -> tuple[dict[str, tuple[str, ...]], dict[str, list[str]]]:
    """Sanitised, decoded header values by lower-cased name, and the raw address headers."""
    headers: dict[str, list[str]] = {}
    raw_addresses: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        key = name.lower()
        value = str(value)
        if key in _DECODED_HEADERS:
            # Cut before decoding: the standard library's encoded-word decoder is quadratic,
            # and one megabyte of encoded words in a Subject took a minute.
            value = value[:MAX_DECODED_HEADER]
            if key != "subject":
                raw_addresses.setdefault(key, []).append(value)
            value = decode_words(value)
        # Authentication-Results is kept whole: cutting it could cut "header.d=kplus.example.evil.example".
        headers.setdefault(key, []).append(clean_header(value, 16_000 if key == "authentication-results" else 998))
    return {k: tuple(v) for k, v in headers.items()}, raw_addresses


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs, parsed from the *raw* header values.

    Parsing before decoding keeps an encoded comma in a display name from splitting one
    address into two (mail-parser #105); the names are decoded afterwards.
    """
    try:
        pairs = getaddresses(values, strict=True)
    except TypeError:  # a Python without the strict flag (CVE-2023-27043 fix missing)
        pairs = getaddresses(values)
    return [(decode_words(name), addr.lower()) for name, addr in pairs
            if addr and "@" in addr and not _SURROGATE_RE.search(addr)]


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else None


def _leaves(msg: Message) -> tuple[list[tuple[str, Message]], bool]:
    """One walk of the MIME tree: the inline text parts as (subtype, part), in order, and
    whether some leaf is anything else (a file, an image, a report, a named text part, ...)."""
    texts: list[tuple[str, Message]] = []
    others = False
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html"):
            others = True
            continue
        disposition = str(part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        if disposition == "attachment" or part.get_param("filename", header="content-disposition") \
                or part.get_param("name"):
            others = True
        if disposition == "attachment" or (part.get_filename() and disposition != "inline"):
            continue
        texts.append((ctype[5:], part))
    return texts, others


def _decoded(parts: list[tuple[str, Message]], subtype: str, cfg: ParsingConfig) -> list[tuple[str, str]]:
    """(text, charset used) of the ``subtype`` parts among ``parts``."""
    found = []
    for kind, part in parts:
        if kind != subtype:
            continue
        try:
            payload = part.get_payload(decode=True)
        except Exception:
            payload = None
        if isinstance(payload, bytes):
            found.append(decode_bytes(payload[: cfg.max_text_chars * 4], part.get_content_charset()))
    return found


def html_to_text(html: str) -> str:
    """Readable text from HTML (tables laid out, scripts and styles dropped)."""
    try:
        return normalize(get_text(html, _INSCRIPTIS))
    except Exception:  # lxml chokes on some hostile markup: fall back to tag stripping
        return normalize(re.sub(r"<[^>]{0,2000}>", " ", html))


_BLANK_LINES_RE = re.compile(r"\n{3,}")


# A plain part that only says "this message is in HTML" (webmail, marketing tools, some phone
# apps; in Vietnamese too: "Thư này ở định dạng HTML", "Vui lòng xem bằng trình duyệt hỗ trợ
# HTML"): short, names HTML, and says nothing else. Checked on the folded text.
_STUB_MAX_CHARS = 400
_STUB_RE = re.compile(r"html|mime|trinh duyet|browser|dinh dang|phien ban|version|"
                      r"khong ho tro|does ?n[o']t support|not support|unable to display|cannot display")


def _is_stub(plain: str) -> bool:
    """True when a plain part holds nothing but a pointer to its HTML alternative (or nothing)."""
    stripped = plain.strip()
    if not stripped:
        return True
    if len(stripped) > _STUB_MAX_CHARS:
        return False
    folded = fold(stripped)
    return "html" in folded and len(_STUB_RE.findall(folded)) >= 2


def _bodies(texts: list[tuple[str, Message]], cfg: ParsingConfig) -> tuple[str, tuple[str, ...]]:
    """The body text: the plain parts, else the HTML ones made readable (an HTML alternative
    to a plain part is not decoded at all, unless the plain part is only a stub that points
    to it); and the charsets the decoded parts were read in."""
    decoded = _decoded(texts, "plain", cfg)
    body = "\n\n".join(text for text, _ in decoded)
    if not decoded or (any(kind == "html" for kind, _ in texts) and all(_is_stub(t) for t, _ in decoded)):
        html_decoded = _decoded(texts, "html", cfg)
        html_body = "\n\n".join(html_to_text(text) for text, _ in html_decoded)
        if not decoded or html_body.strip():
            body, decoded = html_body, html_decoded
    body = _BLANK_LINES_RE.sub("\n\n", "\n".join(line.rstrip() for line in body.split("\n")))
    return body[: cfg.max_text_chars], tuple(used for _, used in decoded)


def _attachments(parser: mailparser.MailParser, cfg: ParsingConfig) -> tuple[AttachmentInfo, ...]:
    found: list[AttachmentInfo] = []
    for index, item in enumerate(parser.attachments, start=1):
        if index > cfg.max_attachments:
            found.append(AttachmentInfo("(omitted)", "application/octet-stream", 0, "", None,
                                        f"more than {cfg.max_attachments} attachments"))
            break
        payload = item.get("payload") or ""
        try:
            data = base64.b64decode(payload) if item.get("binary") else str(payload).encode("utf-8")
        except (ValueError, TypeError):
            data = str(payload).encode("utf-8", "replace")
        ctype = clean_header(item.get("mail_content_type") or "application/octet-stream", 127)
        name = safe_filename(clean_header(item.get("filename") or "", 255), index, ctype)
        left_out = omitted(data)
        if left_out is not None:  # too large to keep: measured, then left out before parsing
            found.append(AttachmentInfo(name, ctype, left_out.size, left_out.sha256, None,
                                        f"larger than {cfg.max_attachment_bytes} bytes: not kept"))
            continue
        too_big = len(data) > cfg.max_attachment_bytes
        found.append(AttachmentInfo(
            filename=name,
            content_type=ctype,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            data=None if too_big else data,
            note=f"larger than {cfg.max_attachment_bytes} bytes: not kept" if too_big else None,
        ))
    return tuple(found)


def _delivery_report(msg: Message) -> DeliveryReport | None:
    if msg.get_content_type() != "multipart/report":
        return None
    original = status = diagnostic = recipient = None
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            fields: dict[str, str] = {}
            payload = part.get_payload()
            blocks = [b for b in payload if isinstance(b, Message)] if isinstance(payload, list) else []
            for block in blocks:
                for key, value in block.items():
                    fields.setdefault(key.lower(), clean_header(value, 500))
            status = fields.get("status")
            diagnostic = fields.get("diagnostic-code")
            recipient = fields.get("final-recipient") or fields.get("original-recipient")
        elif ctype in ("message/rfc822", "text/rfc822-headers", "message/global"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                original = (message_ids(str(inner[0].get("Message-ID", ""))) or (None,))[0]
            elif isinstance(inner, str):
                match = re.search(r"(?im)^message-id:\s*(<[^>]+>)", inner)
                original = message_ids(match.group(1))[0] if match else None
    return DeliveryReport(original, status, diagnostic, recipient)


def parse_message(raw: bytes, cfg: ParsingConfig) -> ParsedMail:
    """Parse one raw message. Raises MessageRejected for what cannot be processed."""
    if len(raw) > cfg.max_message_bytes:
        raise MessageRejected(f"message of {len(raw)} bytes exceeds {cfg.max_message_bytes}")
    if raw.count(b"boundary=") > cfg.max_mime_parts:
        raise MessageRejected(f"more than {cfg.max_mime_parts} MIME boundaries declared")
    if len(raw) > SLIM_ABOVE:  # parse what is kept of it, not all of it (analysis.slim)
        raw = slim(raw, keep_text=cfg.max_text_chars * 6, keep_other=cfg.max_attachment_bytes)
    try:
        msg = email.message_from_bytes(raw)
        _check_structure(msg, cfg)
        # mail-parser finds and decodes attachments; a message with none does not need it.
        texts, others = _leaves(msg)
        parser = mailparser.MailParser(msg) if others else None
        headers, raw_addresses = _headers(msg)
    except MessageRejected:
        raise
    except RecursionError as exc:
        raise MessageRejected("MIME nesting too deep to parse") from exc
    except Exception as exc:
        raise MessageRejected(f"unparseable message: {type(exc).__name__}: {exc}") from exc

    try:
        return _build(msg, texts, parser, headers, raw_addresses, cfg)
    except Exception as exc:  # CPython's email package raises many types on hostile input
        raise MessageRejected(f"unparseable message: {type(exc).__name__}: {exc}") from exc


def _build(msg: Message, texts: list[tuple[str, Message]], parser: mailparser.MailParser | None,
           headers: dict[str, tuple[str, ...]], raw_addresses: dict[str, list[str]], cfg: ParsingConfig) -> ParsedMail:
    froms = _addresses(raw_addresses.get("from", []) or raw_addresses.get("sender", []))
    subject = clean_header(headers.get("subject", ("",))[0], MAX_SUBJECT)
    text, charsets = _bodies(texts, cfg)
    split = split_body(text, subject=subject)
    message_id = (message_ids(headers.get("message-id", ("",))[0]) or (None,))[0]
    return ParsedMail(
        message_id=message_id,
        in_reply_to=message_ids(" ".join(headers.get("in-reply-to", ()))),
        references=message_ids(" ".join(headers.get("references", ()))),
        subject=subject,
        from_address=froms[0][1] if froms else None,
        from_name=clean_header(froms[0][0], 200) or None if froms else None,
        to=tuple(addr for _, addr in _addresses(raw_addresses.get("to", []) + raw_addresses.get("cc", []))),
        date=_date(headers.get("date", (None,))[0]),
        content_type=msg.get_content_type(),
        headers=headers,
        text=text,
        new_text=split.new_text,
        quoted_text=split.quoted_text,
        forwarded_text=split.forwarded_text,
        attachments=_attachments(parser, cfg) if parser is not None else (),
        defects=tuple(str(d) for d in (parser.defects_categories or ())) if parser is not None else (),
        report=_delivery_report(msg),
        charsets=charsets,
    )
