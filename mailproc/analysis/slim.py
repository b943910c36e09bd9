"""Slim a large message before it is parsed, so that analysing it takes memory in proportion to
what is kept of it, not to its size.

The standard library's parser holds a message several times over while it parses it (the
bytes, a decoded copy, its lines, each part's payload); for a 25 MB mail that is a few hundred
megabytes. Yet of such a mail the analysis keeps only the first ``max_text_chars`` of its text
and, of an attachment over ``max_attachment_bytes``, its name, type, size and SHA-256. So a
message over :data:`SLIM_ABOVE` bytes is first walked as bytes (its MIME tree, boundary by
boundary, without decoding it as a whole) and rewritten with

* the text parts' bodies cut, at a line end, once they add up to more than the parser would
  read of them anyway (many small parts as well as one large one);
* each attachment too large to be kept replaced by a marker carrying its decoded size and
  SHA-256, computed by decoding it a megabyte at a time (base64, quoted-printable, or as is).

The rewritten message parses like the original (same headers, structure and text); the parser
turns a marker back into the attachment's record (:func:`omitted`). The marker carries a
random nonce of this process, so no mail can forge one. Smaller messages are parsed untouched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import quopri
import re
import secrets
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

SLIM_ABOVE = 4 * 1024 * 1024  # smaller messages are parsed as they are
CHUNK = 1024 * 1024
MAX_DEPTH = 50  # deeper than the parser's own limit ever lets through
_NONCE = secrets.token_hex(12).encode()
_MARKER = b"mailproc-omitted-" + _NONCE
_MARKER_RE = re.compile(rb"\A" + re.escape(_MARKER) + rb" size=(\d+) sha256=([0-9a-f]{64})\Z")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_WHITESPACE = b" \t\r\n"


@dataclass(frozen=True)
class Omitted:
    size: int
    sha256: str


def omitted(data: bytes) -> Omitted | None:
    """The record of an attachment that :func:`slim` replaced, from its decoded payload."""
    if not data.startswith(_MARKER):
        return None
    match = _MARKER_RE.match(data.strip())
    return Omitted(int(match[1]), match[2].decode()) if match else None


def slim(raw: bytes, *, keep_text: int, keep_other: int) -> bytes:
    """``raw`` with large text bodies cut after ``keep_text`` bytes and attachments over
    ``keep_other`` decoded bytes replaced by markers (see the module doc). The walk works on
    offsets into ``raw``: only what is kept is ever copied."""
    budget = [keep_text]  # text bytes left to keep, over all the text parts together
    return b"".join(_entity(raw, 0, len(raw), budget, keep_other, 0))


def _head_end(raw: bytes, start: int, end: int) -> int:
    """Where the entity's body starts (just after the blank line ending its header)."""
    if raw.startswith(b"\r\n", start, end):
        return start + 2
    if raw.startswith(b"\n", start, end):
        return start + 1
    match = _HEAD_END.search(raw, start, end)
    return end if match is None else match.end()


def _entity(raw: bytes, start: int, end: int, budget: list[int], keep_other: int, depth: int) -> list[bytes]:
    body = _head_end(raw, start, end)
    head = raw[start:body]
    if body >= end or depth > MAX_DEPTH:
        return [raw[start:end]]
    headers = BytesHeaderParser(policy=compat32).parsebytes(head)
    if headers.get_content_maintype() == "multipart":
        boundary = headers.get_param("boundary")
        if isinstance(boundary, str) and boundary:
            return [head, *_multipart(raw, body, end, boundary.encode("ascii", "replace"), budget, keep_other,
                                      depth)]
        return [raw[start:end]]
    if headers.get_content_type() in ("message/rfc822", "message/global"):
        return [head, *_entity(raw, body, end, budget, keep_other, depth + 1)]  # a forwarded mail, in turn
    if headers.get_content_maintype() == "message":
        return [raw[start:end]]
    return [head, _leaf(headers, raw, body, end, budget, keep_other)]


def _multipart(raw: bytes, start: int, end: int, boundary: bytes, budget: list[int], keep_other: int,
               depth: int) -> list[bytes]:
    delimiter = re.compile(rb"(?m)^--" + re.escape(boundary) + rb"(--)?[ \t]*\r?$")
    found = list(delimiter.finditer(raw, start, end))
    if not found:
        return [raw[start:end]]
    pieces = [raw[start:found[0].start()]]  # the preamble
    for here, after in zip(found, [*found[1:], None], strict=True):
        line_end = raw.find(b"\n", here.end(), end)
        line_end = end if line_end < 0 else line_end + 1
        pieces.append(raw[here.start():line_end])  # the delimiter line itself
        stop = after.start() if after is not None else end
        if here.group(1) or after is None:  # the close delimiter: the epilogue follows as it is
            pieces.append(raw[line_end:stop])
            continue
        inner_end = stop
        if raw.startswith(b"\r\n", stop - 2, stop) and stop - 2 >= line_end:
            inner_end = stop - 2  # the line break before a delimiter belongs to the delimiter
        elif raw.startswith(b"\n", stop - 1, stop) and stop - 1 >= line_end:
            inner_end = stop - 1
        pieces += _entity(raw, line_end, inner_end, budget, keep_other, depth + 1)
        pieces.append(raw[inner_end:stop])
    return pieces


def _leaf(headers: Message, raw: bytes, start: int, end: int, budget: list[int], keep_other: int) -> bytes:
    encoding = str(headers.get("Content-Transfer-Encoding", "7bit")).strip().lower()
    disposition = str(headers.get("Content-Disposition", "")).split(";")[0].strip().lower()
    if headers.get_content_maintype() == "text" and disposition != "attachment":
        # The text parts share one budget: many parts of a few kilobytes each add up as well.
        keep = max(budget[0], 0)
        if end - start <= keep:
            budget[0] -= end - start
            return raw[start:end]
        cut = raw.rfind(b"\n", start, start + keep)
        stop = cut + 1 if cut > start else start + keep
        budget[0] = 0
        return raw[start:stop]
    if end - start <= keep_other:  # even undecoded it is small enough to keep
        return raw[start:end]
    size, digest = _measure(raw, start, end, encoding)
    if size <= keep_other:
        return raw[start:end]
    marker = _MARKER + b" size=%d sha256=%s" % (size, digest.encode())
    return base64.encodebytes(marker) if encoding == "base64" else marker + b"\r\n"


def _measure(raw: bytes, start: int, end: int, encoding: str) -> tuple[int, str]:
    """Decoded size and SHA-256 of ``raw[start:end]``, a chunk at a time."""
    digest, size = hashlib.sha256(), 0
    if encoding == "base64":
        carry = b""
        for at in range(start, end, CHUNK):
            chunk = carry + raw[at:min(at + CHUNK, end)].translate(None, _WHITESPACE)
            whole = len(chunk) - len(chunk) % 4
            carry = chunk[whole:]
            try:
                data = binascii.a2b_base64(chunk[:whole])
            except binascii.Error:
                data = b""
            digest.update(data)
            size += len(data)
        return size, digest.hexdigest()
    if encoding == "quoted-printable":
        at = start
        while at < end:
            stop = raw.find(b"\n", min(at + CHUNK, end), end)
            stop = end if stop < 0 else stop + 1
            data = quopri.decodestring(raw[at:stop])
            digest.update(data)
            size += len(data)
            at = stop
        return size, digest.hexdigest()
    for at in range(start, end, CHUNK):
        digest.update(raw[at:min(at + CHUNK, end)])
    return end - start, digest.hexdigest()
