"""Split a message body into the sender's new text, quoted history and forwarded content.

Pure functions. The markers cover the forms Gmail, Outlook, Thunderbird, Apple Mail, Yahoo
and Zalo-era Vietnamese clients write, in English and Vietnamese. (mail-parser-reply and
email-reply-parser know no Vietnamese markers, hence this module.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailproc.core.textnorm import fold

_FORWARD_LINE = re.compile(
    r"^\s*-{2,}\s*(?:forwarded message|begin forwarded message|thu da chuyen tiep|"
    r"tin nhan da chuyen tiep|thu chuyen tiep|message transfere|weitergeleitete nachricht)\s*-{0,}\s*$"
)
_ORIGINAL_LINE = re.compile(r"^\s*-{2,}\s*(?:original message|thu goc|tin nhan goc)\s*-{2,}\s*$")
_BEGIN_FWD = re.compile(r"^\s*(?:begin forwarded message|bat dau thu chuyen tiep)\s*:\s*$")
# "On Mon, 5 Oct 2026 at 08:15, Nguyen <a@b> wrote:" / "Vào Th 2, 5 thg 10, 2026 ... đã viết:"
_ATTRIBUTION = re.compile(r"^\s*(?:on|vao|luc|vao luc|le|am)\b.{0,300}\b(?:wrote|da viet|viet|a ecrit|schrieb)\s*:\s*$")
_ATTRIBUTION_END = re.compile(r"\b(?:wrote|da viet)\s*:\s*$")
_ATTRIBUTION_START = re.compile(r"^\s*(?:on|vao|vao luc)\b")
# Outlook header block: "From:"/"Từ:" followed within a few lines by "Sent:"/"Đã gửi:"/"Date:"/"Ngày:".
_HEADER_FROM = re.compile(r"^\s*\*?(?:from|tu|nguoi gui)\s*:\*?\s*\S")
_HEADER_NEXT = re.compile(r"^\s*\*?(?:sent|date|da gui|ngay|ngay gui|to|toi|den|subject|chu de|tieu de)\s*:")
_QUOTE_PREFIX = re.compile(r"^\s*>")
_FWD_SUBJECT = re.compile(r"^\s*(?:fwd?|chuyen tiep|ct)\s*:")
_REPLY_SUBJECT = re.compile(r"^\s*(?:re|tl|tra loi|aw|sv|antw)\s*:\s*")


@dataclass(frozen=True)
class SplitBody:
    new_text: str
    quoted_text: str
    forwarded_text: str


def is_forward_subject(subject: str) -> bool:
    """True when the subject, after any reply prefixes, starts with a forward prefix."""
    folded = fold(subject)
    while (stripped := _REPLY_SUBJECT.sub("", folded, count=1)) != folded:
        folded = stripped
    return bool(_FWD_SUBJECT.match(folded))


def _quote_follows(lines: list[str], start: int) -> bool:
    """True when the first non-blank line from ``start`` on is a '>' line."""
    for line in lines[start:]:
        if line.strip():
            return bool(_QUOTE_PREFIX.match(line))
    return False


def _find_marker(lines: list[str], folded: list[str]) -> tuple[int, str] | None:
    """Return (line index, kind) of the first history marker: kind is 'forward' or 'quote'."""
    for i, line in enumerate(folded):
        if _FORWARD_LINE.match(line) or _BEGIN_FWD.match(line):
            return i, "forward"
        if _ORIGINAL_LINE.match(line):
            return i, "quote"
        # An attribution above a '>' block: the reply may be inline, so split by prefix.
        if _ATTRIBUTION.match(line):
            return i, "prefix" if _quote_follows(lines, i + 1) else "quote"
        # An attribution wrapped over two lines by the client.
        if (_ATTRIBUTION_START.match(line) and i + 1 < len(folded) and _ATTRIBUTION_END.search(folded[i + 1])
                and len(line) + len(folded[i + 1]) < 400):
            return i, "prefix" if _quote_follows(lines, i + 2) else "quote"
        if _HEADER_FROM.match(line):
            window = folded[i + 1 : i + 5]
            if sum(1 for w in window if _HEADER_NEXT.match(w)) >= 2:
                return i, "header"
        if _QUOTE_PREFIX.match(lines[i]):
            # A block of '>' lines; the new text may continue after it (inline replies).
            return i, "prefix"
    return None


def _fold_candidates(lines: list[str]) -> list[str]:
    """Folded lines, but only where a marker could be: every marker line has a ':' or starts
    with '-' or '>', or (a wrapped attribution) is followed by a line with a ':'. Others fold
    to "" and match nothing. Folding every line of a long mail costs more than the rest."""
    folded = []
    last = len(lines) - 1
    for i, line in enumerate(lines):
        head = line.lstrip()[:1]
        if ":" in line or head in ("-", ">") or (i < last and ":" in lines[i + 1]):
            folded.append(fold(line))
        else:
            folded.append("")
    return folded


def split_body(text: str, *, subject: str = "") -> SplitBody:
    """Split ``text`` (NFC, ``\\n`` line ends) into new, quoted and forwarded parts."""
    lines = text.split("\n")
    folded = _fold_candidates(lines)
    forward_subject = is_forward_subject(subject)
    marker = _find_marker(lines, folded)
    if marker is None:
        return SplitBody(text.strip(), "", "")
    index, kind = marker
    if kind == "prefix":
        # Drop the attribution (and blank lines) between the marker and the '>' block.
        first_quote = next(j for j in range(index, len(lines)) if _QUOTE_PREFIX.match(lines[j]))
        lines = lines[:index] + lines[first_quote:]
        new_lines = [ln for ln in lines if not _QUOTE_PREFIX.match(ln)]
        quoted = [re.sub(r"^\s*>\s?", "", ln) for ln in lines if _QUOTE_PREFIX.match(ln)]
        new = "\n".join(new_lines)
        # Drop a dangling attribution line just above the quote block.
        new = re.sub(r"(?m)^.{0,300}(?:wrote|đã viết|viết):\s*$", "", new)
        return SplitBody(new.strip(), "\n".join(quoted).strip(), "")
    head = "\n".join(lines[:index]).strip()
    tail = "\n".join(lines[index:]).strip()
    if kind == "forward" or (kind == "header" and forward_subject):
        return SplitBody(head, "", tail)
    return SplitBody(head, tail, "")
