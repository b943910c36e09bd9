"""Roster look-ups and authenticate(): is a message really from an agent?

The Authentication-Results values are written the way each receiving server writes them
(Gmail, Exchange Online, Postfix with OpenDKIM/OpenDMARC, Rspamd, Amavis), folded over
several lines as they arrive, with the comments, quoted strings and versions those servers
use. Headers are given top-down, as ParsedMail.headers holds them. Each expected outcome
is worked out from the rule in mailproc/agents.py: only the topmost header whose
authserv-id is trusted counts; in it, a DKIM pass signed by the sender's domain or a parent,
a DMARC pass for the sender's domain or an SPF pass for its envelope domain.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mailproc.core.roster import Agent, AuthResult, Roster, authenticate
from mailproc.vocabulary import Role

MX = ("mx.kplus.example",)
L2 = "l2.le@kplus.example"

# --- Real formats ---------------------------------------------------------------------------
GMAIL = (
    "mx.google.com;\r\n"
    "       dkim=pass header.i=@kplus.example header.s=google header.b=\"kR/3x+Tz\";\r\n"
    "       spf=pass (google.com: domain of l2.le@kplus.example designates 209.85.220.41 as permitted\r\n"
    " sender) smtp.mailfrom=l2.le@kplus.example;\r\n"
    "       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=kplus.example"
)
# Google Workspace without a DKIM key of its own: only the gappssmtp.com signature passes.
GMAIL_GAPPS = (
    "mx.google.com;\r\n"
    "       dkim=pass header.i=@kplus-example.20230601.gappssmtp.com header.s=20230601 header.b=Qm9vZ2xl;\r\n"
    "       spf=pass (google.com: domain of l2.le@kplus.example designates 209.85.220.41 as permitted\r\n"
    " sender) smtp.mailfrom=l2.le@kplus.example"
)
GMAIL_SOFTFAIL = (
    "mx.google.com;\r\n"
    "       spf=softfail (google.com: domain of transitioning l2.le@kplus.example does not designate\r\n"
    " 198.51.100.7 as permitted sender) smtp.mailfrom=l2.le@kplus.example;\r\n"
    "       dmarc=fail (p=NONE sp=NONE dis=NONE) header.from=kplus.example"
)
# Exchange Online writes no authserv-id.
M365 = (
    "spf=pass (sender IP is 1.2.3.4)\r\n"
    " smtp.mailfrom=kplus.example; dkim=pass (signature was verified)\r\n"
    " header.d=kplus.example;dmarc=pass action=none\r\n"
    " header.from=kplus.example;compauth=pass reason=100"
)
# The same syntax (no space after ';', action=, compauth) behind a trusted relay with a version.
M365_STYLE_TRUSTED = "mx.kplus.example 1;\r\n " + M365
M365_STYLE_UNSIGNED = (
    "mx.kplus.example 1; spf=pass (sender IP is 1.2.3.4)\r\n"
    " smtp.mailfrom=kplus.example; dkim=none (message not signed)\r\n"
    " header.d=none;dmarc=pass action=none header.from=kplus.example;compauth=pass\r\n"
    " reason=100"
)
M365_STYLE_SPF_ONLY = (
    "mx.kplus.example 1; spf=pass (sender IP is 1.2.3.4)\r\n"
    " smtp.mailfrom=kplus.example; dkim=none (message not signed)\r\n"
    " header.d=none;dmarc=none action=none header.from=kplus.example;compauth=softpass\r\n"
    " reason=201"
)
OPENDKIM = (
    "mx.kplus.example;\n"
    "\tdkim=pass (2048-bit key; unprotected) header.d=kplus.example header.i=@kplus.example\n"
    " header.a=rsa-sha256 header.s=mail header.b=Zm9vYmFy"
)
OPENDKIM_MULTI = (
    "mx.kplus.example;\n"
    "\tdkim=pass (1024-bit key; unprotected) header.d=mailgun.org header.i=@mailgun.org\n"
    " header.a=rsa-sha256 header.s=mg header.b=QWxhZGRp;\n"
    "\tdkim=pass (2048-bit key; secure) header.d=kplus.example header.i=@kplus.example\n"
    " header.a=rsa-sha256 header.s=mail header.b=b3BlbiBz"
)
OPENDKIM_FAIL = (
    "mx.kplus.example;\n"
    '\tdkim=fail reason="signature verification failed" (2048-bit key; unprotected)\n'
    " header.d=kplus.example header.i=@kplus.example header.b=Zm9vYmFy"
)
OPENDKIM_NEUTRAL = "mx.kplus.example;\n\tdkim=neutral (body hash did not verify) header.d=kplus.example header.b=Zm9v"
OPENDKIM_TEMPERROR = (
    "mx.kplus.example;\n"
    "\tdkim=temperror (0-bit key; unprotected) header.d=kplus.example header.i=@kplus.example header.b=Zm9v"
)
OPENDMARC = "mx.kplus.example; dmarc=pass (p=none dis=none) header.from=kplus.example"
OPENDMARC_FAIL = "mx.kplus.example; dmarc=fail (p=reject dis=none) header.from=kplus.example"
OPENDMARC_SPF = "mx.kplus.example; spf=pass smtp.mailfrom=kplus.example"
RSPAMD = (
    "mx.kplus.example;\n"
    "\tdkim=pass header.d=kplus.example header.s=dkim header.b=Xy7aB1cD;\n"
    "\tspf=pass (mx.kplus.example: domain of \"l2.le@kplus.example\" designates 203.0.113.5 as\n"
    " permitted sender) smtp.mailfrom=l2.le@kplus.example;\n"
    '\tdmarc=pass reason="SPF not aligned (relaxed)" header.from=kplus.example (policy=none)'
)
RSPAMD_FAIL = (
    "mx.kplus.example;\n"
    '\tdkim=fail ("headers rsa verify failed") header.d=kplus.example header.s=dkim header.b=Xy7aB1cD;\n'
    "\tspf=softfail (mx.kplus.example: domain of l2.le@kplus.example is neither permitted nor\n"
    " denied by domain of kplus.example) smtp.mailfrom=l2.le@kplus.example;\n"
    '\tdmarc=fail reason="No valid SPF, No valid DKIM" header.from=kplus.example (policy=reject)'
)
RSPAMD_SPF_ONLY = (
    "mx.kplus.example;\n"
    "\tdkim=none;\n"
    "\tspf=pass (mx.kplus.example: domain of l2.le@kplus.example designates 203.0.113.5 as\n"
    " permitted sender) smtp.mailfrom=l2.le@kplus.example"
)
AMAVIS = (
    "amavis.kplus.example (amavisd-new);\n"
    '\tdkim=pass (2048-bit key) reason="pass (just generated, assumed good)"\n'
    " header.d=kplus.example"
)

# --- Hostile and odd values -------------------------------------------------------------------
FORGED_PASS = "mx.kplus.example; dkim=pass header.d=kplus.example header.i=@kplus.example"
REAL_NONE = (
    "mx.kplus.example; dkim=none; spf=softfail smtp.mailfrom=kplus.example; dmarc=none header.from=kplus.example"
)
COMMENT_INJECTION = (
    "mx.kplus.example; spf=softfail (note: dkim=pass header.d=kplus.example; ) smtp.mailfrom=evil.example"
)
QUOTED_INJECTION = 'mx.kplus.example; dkim=fail reason="x; dkim=pass header.d=kplus.example" header.d=evil.example'
# A sender address with a ')' quoted back inside a comment, closing it early in a naive parser.
REFLECTED_LOCAL_PART = (
    'mx.kplus.example; spf=pass (mx.kplus.example: domain of "x);dkim=pass header.d=kplus.example;(y"'
    '@evil.example designates 1.2.3.4 as permitted sender) smtp.mailfrom="x);dkim=pass'
    ' header.d=kplus.example;(y"@evil.example'
)
UNCLOSED_COMMENT = "mx.kplus.example; spf=fail (unclosed; dkim=pass header.d=kplus.example"


def _cut_at_stored_cap(last: str) -> str:
    """A 998-character value (ParsedMail's cap) that ends with ``last``, as a cut header would."""
    head = "mx.kplus.example; dkim=pass header.d=mailer.example header.s="
    value = head + "s" * (998 - len(head) - len(f"; {last}")) + f"; {last}"
    assert len(value) == 998
    return value


CUT = _cut_at_stored_cap("dkim=pass header.d=kplus.example")  # was header.d=kplus.example.evil.example


def ar(*values: str) -> dict[str, tuple[str, ...]]:
    return {"authentication-results": values}


def with_from(headers: dict[str, tuple[str, ...]], sender: str | None) -> dict[str, tuple[str, ...]]:
    """The one From header every real message has (authenticate() requires exactly one)."""
    return {"from": (sender,), **headers} if sender else headers


# (id, headers, sender, trusted ids, ok, reason)
AUTH_CASES: list[tuple[str, dict[str, tuple[str, ...]], str | None, tuple[str, ...], bool, str]] = [
    # Real formats that pass
    ("gmail: header.i=@domain", ar(GMAIL), L2, ("mx.google.com",), True,
     "dkim=pass header.i=@kplus.example by mx.google.com"),
    ("gmail as ParsedMail stores it (unfolded)", ar(" ".join(GMAIL.split())), L2, ("mx.google.com",), True,
     "dkim=pass header.i=@kplus.example by mx.google.com"),
    ("gmail: gappssmtp signature only, SPF aligned", ar(GMAIL_GAPPS), L2, ("mx.google.com",), True,
     "spf=pass smtp.mailfrom=l2.le@kplus.example by mx.google.com"),
    ("M365 syntax behind a trusted relay with version", ar(M365_STYLE_TRUSTED), L2, MX, True,
     "dkim=pass header.d=kplus.example by mx.kplus.example"),
    ("M365 syntax: unsigned, DMARC pass by SPF", ar(M365_STYLE_UNSIGNED), L2, MX, True,
     "dmarc=pass header.from=kplus.example by mx.kplus.example"),
    ("M365 syntax: SPF only", ar(M365_STYLE_SPF_ONLY), L2, MX, True,
     "spf=pass smtp.mailfrom=kplus.example by mx.kplus.example"),
    ("opendkim: comment with ';'", ar(OPENDKIM), L2, MX, True,
     "dkim=pass header.d=kplus.example by mx.kplus.example"),
    ("opendkim: two signatures, the second aligned", ar(OPENDKIM_MULTI), L2, MX, True,
     "dkim=pass header.d=kplus.example by mx.kplus.example"),
    ("postfix: OpenDMARC header on top of OpenDKIM's", ar(OPENDMARC, OPENDKIM_FAIL), L2, MX, True,
     "dmarc=pass header.from=kplus.example by mx.kplus.example"),
    ("postfix: OpenDKIM header on top of OpenDMARC's", ar(OPENDKIM, OPENDMARC_FAIL), L2, MX, True,
     "dkim=pass header.d=kplus.example by mx.kplus.example"),
    ("opendmarc: SPF result", ar(OPENDMARC_SPF), L2, MX, True,
     "spf=pass smtp.mailfrom=kplus.example by mx.kplus.example"),
    ("rspamd: quoted reason with parentheses", ar(RSPAMD), L2, MX, True,
     "dkim=pass header.d=kplus.example by mx.kplus.example"),
    ("rspamd: dkim=none, SPF pass", ar(RSPAMD_SPF_ONLY), L2, MX, True,
     "spf=pass smtp.mailfrom=l2.le@kplus.example by mx.kplus.example"),
    ("amavis: comment after the authserv-id", ar(AMAVIS), L2, ("amavis.kplus.example",), True,
     "dkim=pass header.d=kplus.example by amavis.kplus.example"),
    ("quoted authserv-id", ar('"mx.kplus.example"; dkim=pass header.d=kplus.example'), L2, MX, True,
     "dkim=pass header.d=kplus.example by mx.kplus.example"),
    ("method version dkim/1", ar("mx.kplus.example; dkim/1=pass header.d=kplus.example"), L2, MX, True,
     "dkim=pass header.d=kplus.example by mx.kplus.example"),
    ("second of two trusted ids", ar(OPENDKIM), L2, ("mx1.kplus.example", "mx.kplus.example"), True,
     "dkim=pass header.d=kplus.example by mx.kplus.example"),
    ("case-insensitive everywhere", ar("MX.KPLUS.Example; DKIM=Pass Header.D=KPLUS.EXAMPLE"), "L2.Le@KPlus.Example",
     ("mx.kplus.EXAMPLE",), True, "dkim=pass header.d=KPLUS.EXAMPLE by MX.KPLUS.Example"),
    ("authentication is not the roster: a customer passes too", ar(GMAIL.replace("kplus.example", "gmail.com")),
     "an.nguyen@gmail.com", ("mx.google.com",), True, "dkim=pass header.i=@gmail.com by mx.google.com"),
    # Subdomain alignment
    ("dkim parent domain signs for a subdomain sender", ar(FORGED_PASS), "l2@cskh.kplus.example", MX, True,
     "dkim=pass header.d=kplus.example by mx.kplus.example"),
    ("dkim subdomain does not sign for the parent", ar("mx.kplus.example; dkim=pass header.d=cskh.kplus.example"),
     "a@kplus.example", MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: dkim=pass header.d=cskh.kplus.example"),
    ("header.i of a subdomain, sender at the parent",
     ar("mx.kplus.example; dkim=pass header.i=@cskh.kplus.example"), "a@kplus.example", MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: dkim=pass header.i=@cskh.kplus.example"),
    ("header.i of a subdomain, sender in it",
     ar("mx.kplus.example; dkim=pass header.i=l2@cskh.kplus.example"), "x@cskh.kplus.example", MX, True,
     "dkim=pass header.i=l2@cskh.kplus.example by mx.kplus.example"),
    ("dmarc needs the exact domain", ar(OPENDMARC), "l2@cskh.kplus.example", MX, False,
     "no dkim, dmarc or spf pass for cskh.kplus.example by mx.kplus.example: dmarc=pass header.from=kplus.example"),
    ("spf needs the exact domain", ar("mx.kplus.example; spf=pass smtp.mailfrom=bounce@bounce.kplus.example"),
     L2, MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: spf=pass"
     " smtp.mailfrom=bounce@bounce.kplus.example"),
    ("a bare top-level label never aligns", ar("mx.kplus.example; dkim=pass header.d=example"), L2, MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: dkim=pass header.d=example"),
    ("suffix without a dot is another domain", ar("mx.kplus.example; dkim=pass header.d=plus.example"), L2, MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: dkim=pass header.d=plus.example"),
    # Results that are not a pass
    ("dkim pass for another domain", ar("mx.kplus.example; dkim=pass header.d=evil.example"), L2, MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: dkim=pass header.d=evil.example"),
    ("dkim pass for a lookalike under evil.example",
     ar("mx.kplus.example; dkim=pass header.d=kplus.example.evil.example"), L2, MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: dkim=pass"
     " header.d=kplus.example.evil.example"),
    ("dkim=fail", ar(OPENDKIM_FAIL), L2, MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: dkim=fail header.d=kplus.example"
     " header.i=@kplus.example"),
    ("dkim=neutral", ar(OPENDKIM_NEUTRAL), L2, MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: dkim=neutral header.d=kplus.example"),
    ("dkim=temperror", ar(OPENDKIM_TEMPERROR), L2, MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: dkim=temperror header.d=kplus.example"
     " header.i=@kplus.example"),
    ("spf=softfail, dmarc=fail (gmail)", ar(GMAIL_SOFTFAIL), L2, ("mx.google.com",), False,
     "dmarc=fail by mx.google.com: dmarc=fail header.from=kplus.example"),
    ("rspamd: all failing", ar(RSPAMD_FAIL), L2, MX, False,
     "dmarc=fail by mx.kplus.example: dmarc=fail header.from=kplus.example"),
    ("dkim pass beside dmarc fail: a replayed, re-signed message", ar(
        "mx.kplus.example; dkim=pass header.d=kplus.example; dmarc=fail header.from=kplus.example"), L2, MX, False,
     "dmarc=fail by mx.kplus.example: dmarc=fail header.from=kplus.example"),
    ("dkim pass without header.d or header.i", ar("mx.kplus.example; dkim=pass header.s=mail header.b=Zm9v"),
     L2, MX, False, "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: dkim=pass"),
    ("spf pass for the HELO name only", ar("mx.kplus.example; spf=pass smtp.helo=mail.kplus.example"), L2, MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: spf=pass"),
    ("RFC 8601 none", ar("mx.kplus.example 1; none"), L2, MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: none"),
    # Which header counts
    ("no Authentication-Results at all", {"from": (L2,)}, L2, MX, False,
     "no Authentication-Results from a trusted server"),
    ("only an untrusted server's header", ar(GMAIL), L2, MX, False,
     "no Authentication-Results from a trusted server (1 from other servers ignored)"),
    ("Exchange Online header has no authserv-id", ar(M365), L2, MX, False,
     "no Authentication-Results from a trusted server (1 from other servers ignored)"),
    ("no authserv-id is never trusted, whatever the config", ar(M365), L2, ("protection.outlook.com",), False,
     "no Authentication-Results from a trusted server (1 from other servers ignored)"),
    # The documented limit: mail that reached the mailbox around the trusted server (here through
    # an untrusted one) is believed if it carries a header with a trusted id. Hence the rule that
    # every server delivering into the mailbox is trusted or strips such headers.
    ("limit: trusted header absent, forged trusted one below an untrusted one", ar(GMAIL_SOFTFAIL, FORGED_PASS),
     L2, MX, True, "dkim=pass header.d=kplus.example by mx.kplus.example"),
    ("forged pass below the trusted header is ignored", ar(REAL_NONE, FORGED_PASS), L2, MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: dkim=none; spf=softfail"
     " smtp.mailfrom=kplus.example; dmarc=none header.from=kplus.example"),
    ("a failing header below the trusted pass does not matter", ar(OPENDKIM, REAL_NONE), L2, MX, True,
     "dkim=pass header.d=kplus.example by mx.kplus.example"),
    ("untrusted on top, first trusted below it counts", ar(GMAIL_SOFTFAIL, OPENDKIM, REAL_NONE), L2, MX, True,
     "dkim=pass header.d=kplus.example by mx.kplus.example"),
    ("untrusted pass on top, trusted fail below", ar(GMAIL, REAL_NONE), L2, MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: dkim=none; spf=softfail"
     " smtp.mailfrom=kplus.example; dmarc=none header.from=kplus.example"),
    ("lookalike authserv-id", ar(FORGED_PASS.replace("mx.kplus.example;", "mx.kplus.example.evil.example;")),
     L2, MX, False, "no Authentication-Results from a trusted server (1 from other servers ignored)"),
    ("parent of the trusted id is another id", ar(FORGED_PASS.replace("mx.kplus.example;", "kplus.example;")),
     L2, MX, False, "no Authentication-Results from a trusted server (1 from other servers ignored)"),
    # Parsing attacks
    ("a pass inside a comment", ar(COMMENT_INJECTION), L2, MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: spf=softfail smtp.mailfrom=evil.example"),
    ("a pass inside a quoted reason", ar(QUOTED_INJECTION), L2, MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: dkim=fail header.d=evil.example"),
    ("a ')' in a sender address quoted back in a comment", ar(REFLECTED_LOCAL_PART), L2, MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: spf=pass"
     " smtp.mailfrom=x);dkim=pass header.d=kplus.example;(y@evil.example"),
    ("an unclosed comment hides the rest", ar(UNCLOSED_COMMENT), L2, MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: spf=fail"),
    ("a value cut at ParsedMail's cap loses its last result", ar(CUT), L2, MX, False,
     "no dkim, dmarc or spf pass for kplus.example by mx.kplus.example: dkim=pass header.d=mailer.example"),
    # Sender and configuration
    ("sender None", ar(OPENDKIM), None, MX, False, "no sender address"),
    ("sender empty", ar(OPENDKIM), "", MX, False, "no sender address"),
    ("sender without a domain", ar(OPENDKIM), "l2.le@", MX, False, "no sender address"),
    ("sender not an address", ar(OPENDKIM), "kplus.example", MX, False, "no sender address"),
    ("no trusted ids configured", ar(OPENDKIM), L2, (), False, "no trusted authserv-id configured"),
    ("only blank trusted ids", ar(OPENDKIM), L2, ("", "  "), False, "no trusted authserv-id configured"),
]


@pytest.mark.parametrize(
    ("headers", "sender", "trusted", "ok", "reason"), [c[1:] for c in AUTH_CASES], ids=[c[0] for c in AUTH_CASES]
)
def test_authenticate(
    headers: dict[str, tuple[str, ...]], sender: str | None, trusted: tuple[str, ...], ok: bool, reason: str
) -> None:
    assert authenticate(with_from(headers, sender), sender, trusted) == AuthResult(ok, reason)


def test_short_value_of_the_cut_case_passes() -> None:
    """The control for the cut case: the same last result in a short header does pass."""
    short = "mx.kplus.example; dkim=pass header.d=mailer.example; dkim=pass header.d=kplus.example"
    assert authenticate(with_from(ar(short), L2), L2, MX).ok
    assert not authenticate(with_from(ar(CUT), L2), L2, MX).ok


def test_long_values_are_shortened_in_the_reason() -> None:
    domain = "a" * 80 + ".example"
    result = authenticate(with_from(ar(f"mx.kplus.example; dkim=pass header.d={domain}"), L2), L2, MX)
    assert result.reason.endswith("dkim=pass header.d=" + "a" * 64 + "…")


# --- Roster -----------------------------------------------------------------------------------
AGENTS = [
    Agent("l1.an@kplus.example", "l1", name="An"),
    Agent("Store.HN@KPlus.example", "l1", name="K+ Store Hà Nội"),
    Agent(L2, "l2", name="Lê Hoa"),
    Agent("kt@kplus.example", "department", department="Kỹ thuật"),
    Agent("kt2@kplus.example", "department", department="Kỹ Thuật"),
    Agent("ketoan@kplus.example", "department", department="Kế toán"),
    Agent("sup@kplus.example", "SUPERVISOR"),
]
ROSTER = Roster(AGENTS)

# (id, address, expected e-mail or None)
GET_CASES: list[tuple[str, str | None, str | None]] = [
    ("exact", L2, L2),
    ("upper case", "L2.LE@KPLUS.EXAMPLE", L2),
    ("stored lower-case", "store.hn@kplus.example", "store.hn@kplus.example"),
    ("spaces and brackets", " <l1.an@kplus.example> ", "l1.an@kplus.example"),
    ("not in the roster", "an.nguyen@gmail.com", None),
    ("same local part, other domain", "l2.le@kplus.example.evil.example", None),
    ("None", None, None),
    ("empty", "", None),
]


@pytest.mark.parametrize(("address", "expected"), [c[1:] for c in GET_CASES], ids=[c[0] for c in GET_CASES])
def test_roster_get(address: str | None, expected: str | None) -> None:
    agent = ROSTER.get(address)
    assert (agent.email if agent else None) == expected


# (id, department asked for, expected e-mails)
DEPARTMENT_CASES: list[tuple[str, str, list[str]]] = [
    ("as written", "Kỹ thuật", ["kt@kplus.example", "kt2@kplus.example"]),
    ("without diacritics, hyphenated", "ky-thuat", ["kt@kplus.example", "kt2@kplus.example"]),
    ("upper case, joined", "KYTHUAT", ["kt@kplus.example", "kt2@kplus.example"]),
    ("with 'Phòng'", "Phòng Kỹ thuật", ["kt@kplus.example", "kt2@kplus.example"]),
    ("with 'bộ phận'", "bộ phận kế toán", ["ketoan@kplus.example"]),
    ("underscores", "ke_toan", ["ketoan@kplus.example"]),
    ("unknown", "Pháp chế", []),
    ("a prefix of a name is not the name", "Kỹ", []),
    ("empty", "", []),
    ("only 'Phòng'", "Phòng ", []),
]


@pytest.mark.parametrize(("name", "expected"), [c[1:] for c in DEPARTMENT_CASES], ids=[c[0] for c in DEPARTMENT_CASES])
def test_roster_department(name: str, expected: list[str]) -> None:
    assert [agent.email for agent in ROSTER.department(name)] == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("l1", ["l1.an@kplus.example", "store.hn@kplus.example"]),
        ("L2", [L2]),
        ("department", ["kt@kplus.example", "kt2@kplus.example", "ketoan@kplus.example"]),
        ("supervisor", ["sup@kplus.example"]),
        ("admin", []),
    ],
)
def test_roster_by_role(role: str, expected: list[str]) -> None:
    assert [agent.email for agent in ROSTER.by_role(role)] == expected


def test_roster_supervisors_and_iteration() -> None:
    assert ROSTER.supervisors() == [Agent("sup@kplus.example", "supervisor")]
    assert list(ROSTER) == AGENTS
    assert len(ROSTER) == 7
    assert tuple(Role) == ("l1", "l2", "department", "supervisor")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Agent("x@kplus.example", "admin"), "role 'admin' is not one of"),
        (lambda: Agent("kplus.example", "l1"), "is not an address"),
        (lambda: Roster([Agent("a@kplus.example", "l1"), Agent("A@kplus.example", "l2")]), "listed twice"),
    ],
)
def test_invalid_roster(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_exactly_one_from_header_with_one_address() -> None:
    good = "mx.kplus.example; dkim=pass header.d=kplus.example"
    two_headers = {"from": ("attacker@evil.example", L2), "authentication-results": (good,)}
    two_addresses = {"from": (f"{L2}, attacker@evil.example",), "authentication-results": (good,)}
    assert authenticate(two_headers, L2, MX) == AuthResult(False, "2 From headers (exactly one is required)")
    assert authenticate(two_addresses, L2, MX) == AuthResult(False, "2 addresses in From (exactly one is required)")
    assert authenticate({"authentication-results": (good,)}, L2, MX).reason.startswith("0 From headers")
    assert authenticate({"from": (f"Lê Thị Hoa <{L2}>",), "authentication-results": (good,)}, L2, MX).ok


def test_exchange_online_organisation_headers_vouch_only_when_configured() -> None:
    internal = {"from": (L2,), "x-ms-exchange-organization-authas": ("Internal",),
                "x-ms-exchange-organization-authsource": ("SG2PR01MB1234.apcprd01.prod.exchangelabs.com",),
                "x-ms-exchange-organization-authmechanism": ("04",)}
    assert not authenticate(internal, L2, ()).ok  # not configured: not believed
    assert authenticate(internal, L2, (), exchange_online=True).ok
    anonymous = {**internal, "x-ms-exchange-organization-authas": ("Anonymous",)}
    doubled = {**internal, "x-ms-exchange-organization-authas": ("Internal", "Internal")}
    bare = {"from": (L2,), "x-ms-exchange-organization-authas": ("Internal",)}
    for headers in (anonymous, doubled, bare):
        assert not authenticate(headers, L2, (), exchange_online=True).ok
    two_froms = {**internal, "from": (L2, "x@evil.example")}
    assert not authenticate(two_froms, L2, (), exchange_online=True).ok
