"""Ticket references and subjects: find_ref, strip_prefixes, clean_subject, tagged_subject."""

from __future__ import annotations

import pytest

from mailproc.analysis.threads import clean_subject, find_ref, format_ref, strip_prefixes

REF = "KP-2026-000123"


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: Mất sóng", "Mất sóng"),
        ("RE: Mất sóng", "Mất sóng"),
        ("re: Mất sóng", "Mất sóng"),
        ("Fwd: Mất sóng", "Mất sóng"),
        ("FWD: Mất sóng", "Mất sóng"),
        ("FW: Mất sóng", "Mất sóng"),
        ("Fw: Mất sóng", "Mất sóng"),
        ("TL: Mất sóng", "Mất sóng"),
        ("Trả lời: Mất sóng", "Mất sóng"),
        ("TRẢ LỜI: Mất sóng", "Mất sóng"),
        ("Tra loi: Mat song", "Mat song"),
        ("Chuyển tiếp: Mất sóng", "Mất sóng"),
        ("Chuyen tiep: Mat song", "Mat song"),
        ("AW: Mất sóng", "Mất sóng"),  # German reply
        ("SV: Mất sóng", "Mất sóng"),  # Scandinavian reply
        ("WG: Mất sóng", "Mất sóng"),  # German forward
        ("Re[2]: Mất sóng", "Mất sóng"),
        ("RE[12]: Mất sóng", "Mất sóng"),
        ("Re(3): Mất sóng", "Mất sóng"),
        ("Re : Mất sóng", "Mất sóng"),  # French spacing
        ("Re：Mất sóng", "Mất sóng"),  # full-width colon
        ("Re: Re: Re: Mất sóng", "Mất sóng"),
        ("RE: FW: TL: Mất sóng", "Mất sóng"),
        ("Trả lời: Chuyển tiếp: Re: Mất sóng", "Mất sóng"),
        ("  Re:Fwd:AW:  Mất sóng  ", "Mất sóng"),
        ("Mất sóng", "Mất sóng"),
        ("", ""),
        ("Re:", ""),
        # Words that start like a prefix but are not one stay.
        ("Report: mất sóng", "Report: mất sóng"),
        ("Refund phí tháng 10", "Refund phí tháng 10"),
        ("Trả lời giúp tôi: mất sóng", "Trả lời giúp tôi: mất sóng"),
        ("Mất sóng, Re: lỗi E48", "Mất sóng, Re: lỗi E48"),  # only leading prefixes
    ],
)
def test_strip_prefixes(subject: str, expected: str) -> None:
    assert strip_prefixes(subject) == expected


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (("[KP-2026-000123] Mất sóng",), REF),
        (("Re: [KP-2026-000123] V/v Tiếp nhận khiếu nại: Mất sóng",), REF),
        (("Re: KP-2026-000123 Mất sóng",), REF),  # brackets lost
        (("Re: kp-2026-000123 mất sóng",), REF),  # lower case
        (("Re: [kp-2026-000123]",), REF),
        (("Mã khiếu nại KP-2026-000123.",), REF),
        (("(KP-2026-000123)",), REF),
        (("KP-2026-1234567",), "KP-2026-1234567"),  # more than 999 999 tickets a year
        (("Mất sóng",), None),
        (("",), None),
        ((), None),
        (("KP-2026-00012",), None),  # 5 digits: not one of ours
        (("KP-26-000123",), None),  # 2-digit year
        (("XKP-2026-000123",), None),  # another system's prefix ending in KP
        (("AB-2026-000123",), None),
        # Subject first, then bodies: a forward that lost our subject still carries the tag.
        (("Fwd: Mất sóng", "---------- Forwarded message ---------\n"
          "Subject: [KP-2026-000123] V/v Tiếp nhận khiếu nại\n"), REF),
        (("Fwd: Mất sóng", "", "Mã khiếu nại: KP-2026-000456"), "KP-2026-000456"),
        # The subject's tag wins over one quoted in the body.
        (("Re: [KP-2026-000123] Mất sóng", "Xem KP-2026-000999"), REF),
        # First reference in a text wins.
        (("KP-2026-000124 và KP-2026-000123",), "KP-2026-000124"),
    ],
)
def test_find_ref(texts: tuple[str, ...], expected: str | None) -> None:
    assert find_ref("KP", *texts) == expected


def test_find_ref_uses_the_configured_prefix() -> None:
    assert find_ref("CSKH", "Re: [CSKH-2026-000001] x") == "CSKH-2026-000001"
    assert find_ref("CSKH", "Re: [KP-2026-000001] x") is None
    assert find_ref("K.P", "KXP-2026-000001") is None  # the prefix is literal, not a pattern


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: [KP-2026-000123] Mất sóng", "Mất sóng"),
        ("[KP-2026-000123] Re: Mất sóng", "Mất sóng"),
        ("RE: TL: [kp-2026-000123] Mất   sóng ", "Mất sóng"),
        ("Re: KP-2026-000123 Mất sóng", "Mất sóng"),
        ("Mất sóng [KP-2026-000123]", "Mất sóng"),
        ("Fwd: Mất sóng", "Mất sóng"),
        ("[KP-2026-000123]", ""),
        ("Mất sóng", "Mất sóng"),
        ("Mất sóng KP-2026", "Mất sóng KP-2026"),  # not a full reference
    ],
)
def test_clean_subject(subject: str, expected: str) -> None:
    assert clean_subject("KP", subject) == expected


@pytest.mark.parametrize(
    ("prefix", "year", "number", "expected"),
    [
        ("KP", 2026, 123, "KP-2026-000123"),
        ("KP", 2026, 1, "KP-2026-000001"),
        ("KP", 2027, 1234567, "KP-2027-1234567"),
    ],
)
def test_format_ref(prefix: str, year: int, number: int, expected: str) -> None:
    assert format_ref(prefix, year, number) == expected
    assert find_ref(prefix, expected) == expected
