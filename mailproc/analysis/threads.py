"""Ticket references and subjects: make the ``[KP-2026-000123]`` tag, find it, strip prefixes.

Pure functions. Reply and forward prefixes are recognised in the forms English and
Vietnamese mail clients write them (Re, RE, Fwd, FW, TL, Trả lời, Chuyển tiếp, AW, SV, …).
"""

from __future__ import annotations

import re
from functools import lru_cache

_PREFIX_RE = re.compile(
    r"^\s*(?:(?:re|fwd?|tl|ct|aw|sv|antw|wg|tr|rv|vs|trả lời|tra loi|chuyển tiếp|chuyen tiep|phản hồi|phan hoi)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)


@lru_cache(maxsize=16)
def _ref_re(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"\[?\b({re.escape(prefix)}-\d{{4}}-\d{{6,}})\b\]?", re.IGNORECASE)


@lru_cache(maxsize=16)
def _lower_ref_re(prefix: str) -> re.Pattern[str]:
    # Case-sensitive on lower-cased text: the engine can skip ahead to the literal prefix.
    return re.compile(rf"(?<![0-9a-z_])({re.escape(prefix.lower())}-\d{{4}}-\d{{6,}})(?![0-9a-z_])")


def format_ref(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year:04d}-{number:06d}"


def find_ref(prefix: str, *texts: str) -> str | None:
    """The first ticket reference found in the given texts (subject first, then bodies)."""
    pattern = _lower_ref_re(prefix)
    needle = prefix.lower() + "-"
    for text in texts:
        if text:
            lowered = text.lower()
            if needle in lowered:
                match = pattern.search(lowered)
                if match:
                    return match.group(1).upper()
    return None


def strip_prefixes(subject: str) -> str:
    """Remove leading reply/forward prefixes (any number, any language listed)."""
    return _PREFIX_RE.sub("", subject).strip()


def clean_subject(prefix: str, subject: str) -> str:
    """The complaint's own subject: prefixes and our tag removed."""
    text = strip_prefixes(subject)
    text = _ref_re(prefix).sub("", text)
    return strip_prefixes(" ".join(text.split()))


