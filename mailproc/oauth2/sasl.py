"""The SASL initial responses for bearer tokens: XOAUTH2 (Google's and Microsoft's) and
OAUTHBEARER (RFC 7628). Both carry the token in the clear: use them over TLS (or loopback)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

# The bearer-token mechanisms, best first: OAUTHBEARER is the standard (RFC 7628); XOAUTH2 is
# what Google and Microsoft offered first (Exchange Online's SMTP offers only XOAUTH2).
BEARER_MECHANISMS = ("OAUTHBEARER", "XOAUTH2")


def preferred_mechanism(offered: Iterable[str]) -> str | None:
    """The mechanism to log in with, of those a server offers (any case): OAUTHBEARER when
    offered, else XOAUTH2; None when it offers neither."""
    names = {name.upper() for name in offered}
    return next((mechanism for mechanism in BEARER_MECHANISMS if mechanism in names), None)


def xoauth2(user: str, token: str) -> bytes:
    """``user=…^Aauth=Bearer …^A^A`` (the client base64-encodes it)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def oauthbearer(user: str, token: str, *, host: str, port: int) -> bytes:
    """RFC 7628 section 3.1: the GS2 header with the authorization identity, then key=value
    pairs separated by ^A. (``,`` and ``=`` in the user name are escaped as the RFC says.)"""
    authzid = user.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={authzid},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01".encode()


def responder(initial: bytes) -> Callable[[bytes], bytes]:
    """An imaplib ``authenticate`` callback: the initial response to the first (empty)
    challenge; to an error challenge (RFC 7628 3.2.2: a JSON status) the dummy ``^A`` that
    lets the server finish with NO."""
    sent = False

    def answer(challenge: bytes) -> bytes:
        nonlocal sent
        if not sent:
            sent = True
            return initial
        return b"\x01"

    return answer
