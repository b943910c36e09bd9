"""SMTP with a bearer token (mailproc.notices.sender.make_client): SASL OAUTHBEARER (RFC 7628)
when the server's EHLO offers it, as Gmail's does, else XOAUTH2, as Exchange Online's SMTP
offers alone. The devstack's SMTP server checks every token with the stand-in provider."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiosmtplib
import pytest

from mailproc.config import OAuth2Config, SmtpConfig
from mailproc.notices.sender import OAuth2SMTP, SmtpLogin, make_client
from mailproc.oauth2.tokens import Tokens
from mailproc.testing.devstack import MailStack, SmtpAuth
from mailproc.testing.idp import IdentityProvider
from tests.helpers.mail import complaint

APP, SECRET = "mailproc-app", "app-secret"
GMAIL_LIKE, EXCHANGE_LIKE = ("XOAUTH2", "OAUTHBEARER"), ("XOAUTH2",)


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    with IdentityProvider() as provider:
        yield provider


@pytest.fixture(scope="module", params=[GMAIL_LIKE, EXCHANGE_LIKE], ids=["gmail-like", "exchange-like"])
def stack(request: pytest.FixtureRequest, idp: IdentityProvider,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailStack]:
    with MailStack(base_dir=tmp_path_factory.mktemp("smtp-oauth"), oauth2=idp,
                   smtp_oauth_mechanisms=request.param) as mail:
        yield mail


@pytest.fixture
def login(idp: IdentityProvider, tmp_path: Path) -> SmtpLogin:
    user = f"cskh.{uuid.uuid4().hex[:8]}@kplus.example"
    idp.add_client(f"{APP}-{user}", SECRET, user=user)
    cfg = OAuth2Config(provider="generic", token_url=idp.token_url, client_id=f"{APP}-{user}", client_secret=SECRET)
    manager = Tokens(cfg, state_dir=tmp_path / "state").manager(user)
    return SmtpLogin(user=user, manager=manager)


def _smtp(stack: MailStack) -> SmtpConfig:
    return SmtpConfig(host=stack.host, port=stack.smtp_port, timeout=10.0, auth="oauth2")


async def _send(client: aiosmtplib.SMTP, sender: str, to: str) -> str | None:
    """Connect (and log in), send one message, quit; the mechanism used."""
    await client.connect()
    try:
        await client.sendmail(sender, [to], complaint(sender=f"CSKH <{sender}>", to=to))
    finally:
        await client.quit()
    return client.mechanism if isinstance(client, OAuth2SMTP) else None


def test_oauthbearer_where_offered_else_xoauth2(stack: MailStack, login: SmtpLogin) -> None:
    expected = "OAUTHBEARER" if "OAUTHBEARER" in stack.smtp_oauth_mechanisms else "XOAUTH2"
    customer = f"khach.{uuid.uuid4().hex[:8]}@example.vn"
    used = asyncio.run(_send(make_client(_smtp(stack), login), login.user, customer))
    assert used == expected
    assert stack.smtp_transactions()[-1].auth == SmtpAuth(expected, login.user, True)
    assert len(stack.messages(customer)) == 1


def test_a_refused_token_is_an_authentication_error_with_either_mechanism(
        stack: MailStack, idp: IdentityProvider, login: SmtpLogin) -> None:
    idp.revoke(login.manager.access_token())  # cached by mailproc, dead at the provider
    client = make_client(_smtp(stack), login)
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as refused:
        asyncio.run(client.connect())
    expected = "OAUTHBEARER" if "OAUTHBEARER" in stack.smtp_oauth_mechanisms else "XOAUTH2"
    # The JSON challenge was answered (^A or an empty line) and the server ended with 535.
    assert refused.value.code == 535 and refused.value.message.startswith(f"{expected} as {login.user}")
    assert not client.is_connected
    assert stack.smtp_auths()[-1] == SmtpAuth(expected, login.user, False)


def test_a_server_without_token_logins_is_refused_before_any_token_is_asked(
        mailstack: MailStack, idp: IdentityProvider, login: SmtpLogin) -> None:
    before = len(idp.token_requests())
    client = make_client(_smtp(mailstack), login)  # the password-only stack: AUTH LOGIN PLAIN
    with pytest.raises(aiosmtplib.SMTPException, match="offers neither OAUTHBEARER nor XOAUTH2"):
        asyncio.run(client.connect())
    assert not client.is_connected
    assert len(idp.token_requests()) == before
