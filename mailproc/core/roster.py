"""Recognise agents: the roster of agent addresses and roles, and the check that mail is really theirs.

A message acts on a ticket only if its sender is in the :class:`Roster` **and**
:func:`authenticate` passes: a trusted receiving server vouched for the sender's domain in an
``Authentication-Results`` header (RFC 8601).

Which header counts. A receiving server adds its header on *top* of whatever the message
already carried, so anything below it may have been written by the sender. Only the topmost
header whose authserv-id is trusted counts; headers below it are ignored even when they name
a trusted server. A header from an untrusted server *above* it (a later internal hop) is
skipped. This is safe only if every server that can deliver into the shared mailbox is
trusted, or strips incoming headers that claim a trusted authserv-id (RFC 8601 section 5):
mail that reached the mailbox around the trusted server could otherwise carry a forged header
that is then the topmost trusted one. A header without an authserv-id (Exchange Online writes
them so) is never trusted: nothing distinguishes it from a forged one.

What passes, in that header: ``dkim=pass`` whose ``header.d`` (or, without it, ``header.i``'s
domain) is the sender's domain or a parent of it; ``dmarc=pass`` whose ``header.from`` is the
sender's domain; ``spf=pass`` whose ``smtp.mailfrom`` domain is the sender's domain.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.headerregistry import HeaderRegistry
from typing import NamedTuple

from mailproc.core.textnorm import fold
from mailproc.vocabulary import Role


@dataclass(frozen=True)
class Agent:
    email: str  # lower-case
    role: str
    name: str = ""
    department: str = ""  # for role "department": its name, e.g. "Kỹ thuật" (matched folded)

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", _address(self.email))
        object.__setattr__(self, "role", self.role.strip().lower())
        if "@" not in self.email:
            raise ValueError(f"agent e-mail {self.email!r} is not an address")
        if self.role not in tuple(Role):
            raise ValueError(f"agent {self.email}: role {self.role!r} is not one of {', '.join(Role)}")


class Roster:
    """The configured agents, found by address, role or department."""

    def __init__(self, agents: Iterable[Agent]) -> None:
        self._agents = tuple(agents)
        self._by_email: dict[str, Agent] = {}
        for agent in self._agents:
            if agent.email in self._by_email:
                raise ValueError(f"agent {agent.email} is listed twice")
            self._by_email[agent.email] = agent

    def __iter__(self) -> Iterator[Agent]:
        return iter(self._agents)

    def __len__(self) -> int:
        return len(self._agents)

    def get(self, email: str | None) -> Agent | None:
        """The agent with this address (any case), or None."""
        return self._by_email.get(_address(email)) if email else None

    def by_role(self, role: str) -> list[Agent]:
        """The agents with this role, in roster order."""
        role = role.strip().lower()
        return [agent for agent in self._agents if agent.role == role]

    def department(self, name: str) -> list[Agent]:
        """The agents whose department is ``name``: "Kỹ thuật", "ky-thuat", "Phòng Kỹ Thuật" are one."""
        key = _department_key(name)
        if not key:
            return []
        return [agent for agent in self._agents if agent.department and _department_key(agent.department) == key]

    def supervisors(self) -> list[Agent]:
        return self.by_role(Role.SUPERVISOR)


def _address(value: str) -> str:
    """An address compared as the roster stores it: trimmed, without <>, lower-case."""
    return value.strip().strip("<>").strip().lower()


# "Phòng Kỹ thuật" and "Bộ phận Kỹ thuật" name the department "Kỹ thuật".
_DEPARTMENT_PREFIX_RE = re.compile(r"(?:phong|bo phan)\s{1,8}")
_DEPARTMENT_NOISE_RE = re.compile(r"[\s\-_.]")


def _department_key(name: str) -> str:
    return _DEPARTMENT_NOISE_RE.sub("", _DEPARTMENT_PREFIX_RE.sub("", fold(name.strip()), count=1))


@dataclass(frozen=True)
class AuthResult:
    ok: bool
    reason: str  # e.g. "dkim=pass header.d=kplus.example by mx.kplus.example"


class _Resinfo(NamedTuple):
    """One ``method=result property=value ...`` of an Authentication-Results header."""

    method: str  # lower-case, without a version: "dkim", "spf", "dmarc", ...
    result: str  # lower-case: "pass", "fail", "softfail", ...
    props: dict[str, str]  # lower-case name ("header.d", "smtp.mailfrom", "reason") -> value


class _AuthHeader(NamedTuple):
    authserv_id: str  # as written; "" when the header has none
    results: tuple[_Resinfo, ...]


_HEADER = "authentication-results"
_MAX_HEADERS = 50  # the receiving server's header is on top; a trusted one deeper than this is not believed
_MAX_VALUE = 16_384
_MAX_RESULTS = 64
# ParsedMail caps header values at this length (parsing.clean_header). A value that long may
# have been cut: its last result is dropped, since "header.d=kplus.example.evil.example" cut
# after "kplus.example" would otherwise pass.
_STORED_HEADER_CAP = 998
_SHOWN_VALUE = 64  # longest property value quoted in a reason

# Tokens of a header value once its comments are removed: "local part"@domain, a quoted
# string, ';' or '=', a run of other characters, and a stray character (an unclosed quote).
_TOKEN_RE = re.compile(
    r'"(?P<local>(?:[^"\\]|\\.){0,16384})"@(?P<domain>[^\s;="]{1,255})'
    r'|"(?P<quoted>(?:[^"\\]|\\.){0,16384})"'
    r"|(?P<sep>[;=])"
    r'|(?P<word>[^\s;="]{1,16384})'
    r"|(?P<stray>\S)",
    re.DOTALL,
)
_QUOTED_PAIR_RE = re.compile(r"\\(.)")
_METHOD_RE = re.compile(r"[a-z0-9][a-z0-9\-]{0,63}(?:/[0-9]{1,9})?")


class _Token(NamedTuple):
    kind: str  # "word", "quoted", ";", "=" or "stray"
    text: str


_HEADERS = HeaderRegistry()


def single_from(headers: Mapping[str, tuple[str, ...]]) -> str | None:
    """Why the mail does not have exactly one ``From:`` header with exactly one address, if it
    does not. (DKIM signs the last From while most readers take the first: two From headers,
    or two addresses in one, must never authenticate anyone.)"""
    values = headers.get("from", ())
    if len(values) != 1:
        return f"{len(values)} From headers (exactly one is required)"
    try:
        parsed = _HEADERS("from", values[0])
        addresses = [a.addr_spec for a in parsed.addresses if a.addr_spec]  # type: ignore[attr-defined]
    except Exception:  # the standard library's parser fails in its own ways on hostile values
        addresses = []
    if len(addresses) != 1:
        return f"{len(addresses)} addresses in From (exactly one is required)"
    return None


def exchange_internal(headers: Mapping[str, tuple[str, ...]]) -> AuthResult:
    """Exchange Online's own word that the sender authenticated as a user of the organisation:
    exactly one ``X-MS-Exchange-Organization-AuthAs: Internal`` with its ``AuthSource`` and
    ``AuthMechanism``. Exchange's header firewall strips ``X-MS-Exchange-Organization-*`` from
    mail arriving from outside the organisation (see the README for what must hold)."""
    auth_as = headers.get("x-ms-exchange-organization-authas", ())
    source = headers.get("x-ms-exchange-organization-authsource", ())
    mechanism = headers.get("x-ms-exchange-organization-authmechanism", ())
    if len(auth_as) == 1 and auth_as[0].strip().lower() == "internal" and len(source) == 1 and len(mechanism) == 1:
        return AuthResult(True, f"Exchange Online: AuthAs=Internal, AuthSource={_shown(source[0].strip())}")
    return AuthResult(False, "no X-MS-Exchange-Organization-AuthAs: Internal (one, with AuthSource and "
                             "AuthMechanism)")


def authenticate(
    headers: Mapping[str, tuple[str, ...]], sender: str | None, trusted_authserv_ids: Sequence[str], *,
    exchange_online: bool = False,
) -> AuthResult:
    """Whether a trusted receiving server vouched for ``sender``'s domain (see the module docstring).

    ``headers`` is ``ParsedMail.headers``: lower-case name -> values, top-down. With
    ``exchange_online``, Exchange Online's organisation headers vouch as well.
    """
    domain = _domain(_address(sender)) if sender and "@" in sender else ""
    if not domain:
        return AuthResult(False, "no sender address")
    problem = single_from(headers)
    if problem:
        return AuthResult(False, problem)
    trusted = {_host(authserv_id) for authserv_id in trusted_authserv_ids} - {""}
    if exchange_online:
        internal = exchange_internal(headers)
        if internal.ok or not trusted:
            return internal
    if not trusted:
        return AuthResult(False, "no trusted authserv-id configured")
    values = headers.get(_HEADER, ())[:_MAX_HEADERS]
    header = next((h for h in map(_parse, values) if _host(h.authserv_id) in trusted), None)
    if header is None:
        ignored = f" ({len(values)} from other servers ignored)" if values else ""
        return AuthResult(False, f"no Authentication-Results from a trusted server{ignored}")
    failed = next((info for info in header.results if info.method == "dmarc" and info.result == "fail"), None)
    if failed is not None:  # a DKIM pass beside it is a replayed or re-signed message
        return AuthResult(False, f"dmarc=fail by {header.authserv_id}: {_describe(failed)}")
    for check in _CHECKS:
        for info in header.results:
            evidence = check(info, domain)
            if evidence:
                return AuthResult(True, f"{info.method}=pass {evidence} by {header.authserv_id}")
    found = "; ".join(_describe(info) for info in header.results[:8]) or "none"
    return AuthResult(False, f"no dkim, dmarc or spf pass for {domain} by {header.authserv_id}: {found}")


def dmarc_failed(headers: Mapping[str, tuple[str, ...]], trusted_authserv_ids: Sequence[str]) -> bool:
    """Whether a trusted receiving server says the From domain failed DMARC (a forged sender)."""
    trusted = {_host(authserv_id) for authserv_id in trusted_authserv_ids} - {""}
    if not trusted:
        return False
    values = headers.get(_HEADER, ())[:_MAX_HEADERS]
    header = next((h for h in map(_parse, values) if _host(h.authserv_id) in trusted), None)
    return header is not None and any(i.method == "dmarc" and i.result == "fail" for i in header.results)


def _dkim_evidence(info: _Resinfo, domain: str) -> str | None:
    """``header.d=...`` of a DKIM pass signed by the sender's domain or a parent of it."""
    if info.method != "dkim" or info.result != "pass":
        return None
    # header.i must lie within header.d (RFC 6376), so header.d decides when both are given.
    name = "header.d" if "header.d" in info.props else "header.i"
    value = info.props.get(name, "")
    signer = _domain(value)
    aligned = "." in signer and (domain == signer or domain.endswith("." + signer))
    return f"{name}={_shown(value)}" if aligned else None


def _dmarc_evidence(info: _Resinfo, domain: str) -> str | None:
    """``header.from=...`` of a DMARC pass for exactly the sender's domain."""
    value = info.props.get("header.from", "")
    if info.method == "dmarc" and info.result == "pass" and _domain(value) == domain:
        return f"header.from={_shown(value)}"
    return None


def _spf_evidence(info: _Resinfo, domain: str) -> str | None:
    """``smtp.mailfrom=...`` of an SPF pass for exactly the sender's domain."""
    value = info.props.get("smtp.mailfrom", "")
    if info.method == "spf" and info.result == "pass" and _domain(value) == domain:
        return f"smtp.mailfrom={_shown(value)}"
    return None


# Tried in this order; the first passing one names the reason.
_CHECKS: tuple[Callable[[_Resinfo, str], str | None], ...] = (_dkim_evidence, _dmarc_evidence, _spf_evidence)
_DESCRIBED_PROPS = ("header.d", "header.i", "header.from", "smtp.mailfrom")


def _describe(info: _Resinfo) -> str:
    props = [f"{name}={_shown(info.props[name])}" for name in _DESCRIBED_PROPS if name in info.props]
    return " ".join([f"{info.method}={info.result}", *props])


def _shown(value: str) -> str:
    """A property value fit for a log line or a reply: one line, at most _SHOWN_VALUE characters."""
    value = " ".join(value.split())
    return value if len(value) <= _SHOWN_VALUE else value[:_SHOWN_VALUE] + "…"


def _host(value: str) -> str:
    return value.strip().rstrip(".").lower()


def _domain(value: str) -> str:
    """The domain of "l2@kplus.example", "@kplus.example" or "kplus.example"."""
    return _host(value.rpartition("@")[2]).strip("<>")


def _parse(value: str) -> _AuthHeader:
    """An Authentication-Results value: its authserv-id and its results (RFC 8601 section 2.2)."""
    maybe_cut = len(value) >= _STORED_HEADER_CAP
    segments = _segments(_tokens(_strip_comments(value[:_MAX_VALUE])))
    first = segments[0]
    if len(first) >= 2 and first[1].kind == "=":
        authserv_id = ""  # no authserv-id: the header starts with a result (Exchange Online)
    else:
        authserv_id = first[0].text if first and first[0].kind in ("word", "quoted") else ""
        segments = segments[1:]  # the rest of the first segment is a version, or "none"
    if maybe_cut:
        segments = segments[:-1]
    results = (_resinfo(segment) for segment in segments[:_MAX_RESULTS])
    return _AuthHeader(authserv_id, tuple(info for info in results if info is not None))


def _strip_comments(value: str) -> str:
    """The value with each (comment) replaced by a space; quoted strings kept as they are.

    Unlike RFC 5322, a quote inside a comment also hides parentheses until its closing quote:
    servers quote the sender's address in comments (``(domain of "x)y"@evil.example ...)``),
    and a ')' there must not end the comment and let the rest pass for results. An unclosed
    comment or quote hides the rest of the value, which can only lose results.
    """
    out: list[str] = []
    depth = 0
    quoted = escaped = False
    for char in value:
        if escaped or (char == "\\" and (quoted or depth)):
            escaped = not escaped
        elif char == '"':
            quoted = not quoted
        elif quoted:
            pass
        elif char == "(":
            depth += 1
            if depth == 1:
                out.append(" ")
            continue
        elif char == ")" and depth:
            depth -= 1
            continue
        if not depth:
            out.append(char)
    return "".join(out)


def _tokens(value: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _TOKEN_RE.finditer(value):
        if match["domain"] is not None:
            tokens.append(_Token("word", f"{_unquote(match['local'])}@{match['domain']}"))
        elif match["quoted"] is not None:
            tokens.append(_Token("quoted", _unquote(match["quoted"])))
        elif match["sep"] is not None:
            tokens.append(_Token(match["sep"], match["sep"]))
        elif match["word"] is not None:
            tokens.append(_Token("word", match["word"]))
        else:
            tokens.append(_Token("stray", match["stray"]))
    return tokens


def _unquote(text: str) -> str:
    return _QUOTED_PAIR_RE.sub(r"\1", text)


def _segments(tokens: list[_Token]) -> list[list[_Token]]:
    """The tokens between semicolons; always at least one (possibly empty) segment."""
    segments: list[list[_Token]] = [[]]
    for token in tokens:
        if token.kind == ";":
            segments.append([])
        else:
            segments[-1].append(token)
    return segments


def _resinfo(segment: list[_Token]) -> _Resinfo | None:
    """``method[/version]=result`` then ``name=value`` pairs; None if it does not start so."""
    pairs = _pairs(segment)
    if not pairs or pairs[0][2] != 0:
        return None
    method, result, _ = pairs[0]
    if not _METHOD_RE.fullmatch(method):
        return None
    props: dict[str, str] = {}
    for name, value, _ in pairs[1:]:
        props.setdefault(name, value)  # the first wins if a server repeats a property
    return _Resinfo(method.partition("/")[0], result.lower(), props)


def _pairs(segment: list[_Token]) -> list[tuple[str, str, int]]:
    """The ``name=value`` pairs of a segment: (lower-case name, value, index of the name)."""
    pairs: list[tuple[str, str, int]] = []
    index = 0
    while index + 2 < len(segment):
        name, equals, value = segment[index], segment[index + 1], segment[index + 2]
        if name.kind == "word" and equals.kind == "=" and value.kind in ("word", "quoted"):
            pairs.append((name.text.lower(), value.text, index))
            index += 3
        else:
            index += 1
    return pairs
