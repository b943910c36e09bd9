"""OAuth 2.0 end to end: mailproc's own clients (generic RFC 6749, MSAL, google-auth) get
tokens from a stand-in identity provider on loopback that speaks the real protocols; Dovecot's
oauth2 passdb and the SMTP server check every token against it (RFC 7662 introspection).
Expiry during a run, rotation, revocation and an outage of the provider are each tested.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailproc.app import App
from mailproc.config import Config, from_mapping
from mailproc.oauth2.tokens import Tokens, token_file_name
from mailproc.ops.checks import run_checks
from mailproc.store.migrate import upgrade
from mailproc.testing.devstack import MailStack, SmtpAuth
from mailproc.testing.idp import GRANT_CLIENT_CREDENTIALS, GRANT_JWT_BEARER, GRANT_REFRESH_TOKEN, IdentityProvider
from tests.helpers import Clock
from tests.helpers.mail import complaint

CLIENT, SECRET = "mailproc-app", "s3cret-value"


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    with IdentityProvider(tls=True, token_lifetime=3600) as provider:
        yield provider


@pytest.fixture(scope="module")
def stack(idp: IdentityProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailStack]:
    with MailStack(base_dir=tmp_path_factory.mktemp("oauth-stack"), oauth2=idp) as mail:
        yield mail


@pytest.fixture
def mailbox(idp: IdentityProvider) -> str:
    user = f"cskh.{uuid.uuid4().hex[:10]}@kplus.example"
    idp.add_client(f"{CLIENT}-{user}", SECRET, user=user)
    return user


def _config(stack: MailStack, mailbox: str, database_url: str, tmp_path: Path, **oauth2: Any) -> Config:
    return from_mapping({
        "imap": {"host": stack.host, "port": stack.imap_port, "username": mailbox, "timeout": 10.0,
                 "auth": "oauth2"},
        "smtp": {"host": stack.host, "port": stack.smtp_port, "username": mailbox, "from_address": mailbox,
                 "timeout": 10.0, "auth": "oauth2"},
        "database": {"url": database_url},
        "paths": {"state_dir": str(tmp_path / "state")},
        "oauth2": oauth2,
    }, env={}, source="<test>")


def _app(config: Config) -> App:
    app = App.build(config, now=Clock())
    upgrade(app.engine)
    return app


def _generic(idp: IdentityProvider, mailbox: str, **extra: Any) -> dict[str, Any]:
    return {"provider": "generic", "token_url": idp.token_url, "client_id": f"{CLIENT}-{mailbox}",
            "client_secret": SECRET, **extra}


def _receipt_for(stack: MailStack, customer: str) -> list[bytes]:
    return stack.messages(customer)


def test_client_credentials_poll_and_send_with_one_token(idp: IdentityProvider, stack: MailStack, mailbox: str,
                                                         database_url: str, tmp_path: Path) -> None:
    app = _app(_config(stack, mailbox, database_url, tmp_path, **_generic(idp, mailbox)))
    customer = f"khach.{uuid.uuid4().hex[:8]}@example.vn"
    before = idp.grant_count(GRANT_CLIENT_CREDENTIALS)
    stack.deliver(complaint(sender=f"An <{customer}>", to=mailbox), mailbox)

    polled, processed = app.intake_once()
    sent = app.send_once()
    again, _ = app.intake_once()
    app.close()

    assert (polled.error, polled.stored, processed.created, sent.sent) == (None, 1, 1, 1)
    assert again.error is None
    assert len(_receipt_for(stack, customer)) == 1
    assert stack.smtp_transactions()[-1].auth == SmtpAuth("XOAUTH2", mailbox, True)
    assert idp.grant_count(GRANT_CLIENT_CREDENTIALS) - before == 1  # one token for every login since
    token_file = tmp_path / "state" / token_file_name(mailbox)
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"


def test_a_token_that_expires_during_a_long_run_is_renewed(idp: IdentityProvider, stack: MailStack, mailbox: str,
                                                          database_url: str, tmp_path: Path) -> None:
    app = _app(_config(stack, mailbox, database_url, tmp_path, **_generic(idp, mailbox), refresh_margin=0.0))
    idp.token_lifetime = 1.0
    try:
        assert app.poll_once().error is None
        first = app.ctx.tokens.manager(mailbox).status().access_token  # type: ignore[union-attr]
        time.sleep(1.2)  # the token has expired, at the provider and by its expires_in
        report = app.poll_once(ignore_backoff=True)
        second = app.ctx.tokens.manager(mailbox).status().access_token  # type: ignore[union-attr]
    finally:
        idp.token_lifetime = 3600
        app.close()
    assert report.error is None
    assert first != second and idp.introspect(first)["active"] is False


def test_a_rotated_refresh_token_survives_a_restart(idp: IdentityProvider, stack: MailStack, database_url: str,
                                                   tmp_path: Path) -> None:
    user = f"agent.{uuid.uuid4().hex[:8]}@kplus.example"
    idp.add_client(f"public-{user}", None, user=user)
    first_refresh = idp.issue_refresh_token(f"public-{user}", user)
    config = _config(stack, user, database_url, tmp_path, provider="generic", token_url=idp.token_url,
                     client_id=f"public-{user}", refresh_token=first_refresh, refresh_margin=0.0)
    idp.rotate_refresh_tokens = True
    try:
        app = _app(config)
        assert app.poll_once().error is None
        app.close()
        stored = json.loads((tmp_path / "state" / token_file_name(user)).read_text())
        assert stored["refresh_token"] != first_refresh  # rotated, and on disk
        # The configured token is dead now: only the stored one can renew.
        idp.revoke(stored["access_token"])
        restarted = _app(config)
        restarted.ctx.tokens.manager(user).invalidate()  # type: ignore[union-attr]
        assert restarted.poll_once().error is None
        restarted.close()
    finally:
        idp.rotate_refresh_tokens = False
    requests = [r for r in idp.token_requests() if r.client_id == f"public-{user}"]
    assert [r.grant_type for r in requests] == [GRANT_REFRESH_TOKEN, GRANT_REFRESH_TOKEN]
    assert all(r.error is None for r in requests)


def test_a_revoked_token_is_dropped_and_renewed(idp: IdentityProvider, stack: MailStack, mailbox: str,
                                                database_url: str, tmp_path: Path) -> None:
    app = _app(_config(stack, mailbox, database_url, tmp_path, **_generic(idp, mailbox)))
    clock = app.now
    assert isinstance(clock, Clock)
    assert app.poll_once().error is None
    manager = app.ctx.tokens.manager(mailbox)  # type: ignore[union-attr]
    idp.revoke(manager.status().access_token)

    refused = app.poll_once(ignore_backoff=True)  # the server refuses it: forgotten
    renewed = app.poll_once(ignore_backoff=True)
    customer = f"khach.{uuid.uuid4().hex[:8]}@example.vn"
    stack.deliver(complaint(sender=f"An <{customer}>", to=mailbox), mailbox)
    app.intake_once(ignore_backoff=True)
    idp.revoke(manager.status().access_token)
    failed_send = app.send_once()  # SMTP refuses the token: the notice fails nothing, token forgotten
    clock.advance(minutes=2)  # past the retry's backoff
    sent = app.send_once()
    app.close()

    assert refused.error is not None and "login" in refused.error
    assert renewed.error is None
    assert (failed_send.sent, failed_send.failed, sent.sent) == (0, 0, 1)


def test_an_outage_of_the_provider_never_stops_mailproc(idp: IdentityProvider, stack: MailStack, mailbox: str,
                                                        database_url: str, tmp_path: Path) -> None:
    config = _config(stack, mailbox, database_url, tmp_path, **_generic(idp, mailbox), refresh_margin=0.0)
    app = _app(config)
    clock = [1_900_000_000.0]
    app.__dict__["tokens"] = Tokens(config.oauth2, state_dir=Path(config.paths.state_dir), clock=lambda: clock[0])
    idp.outage(True)
    try:
        down = app.poll_once()
        checks = {name: (ok, detail) for name, ok, detail in run_checks(config)}
    finally:
        idp.outage(False)
    in_backoff = app.poll_once(ignore_backoff=True)
    clock[0] += 6
    back = app.poll_once(ignore_backoff=True)
    app.close()

    assert down.error is not None and "temporarily_unavailable" in down.error
    assert checks["oauth2"][0] is False and "temporarily_unavailable" in checks["oauth2"][1]
    assert in_backoff.error is not None and "again in" in in_backoff.error
    assert back.error is None


def test_check_config_says_who_logged_in_and_until_when(idp: IdentityProvider, stack: MailStack, mailbox: str,
                                                        database_url: str, tmp_path: Path) -> None:
    config = _config(stack, mailbox, database_url, tmp_path, **_generic(idp, mailbox))
    _app(config).close()
    checks = {name: (ok, detail) for name, ok, detail in run_checks(config)}
    assert checks["oauth2"][0], checks
    assert f"logged in as {mailbox}" in checks["oauth2"][1] and "valid until" in checks["oauth2"][1]
    assert checks["imap"][0] and checks["smtp"][0], checks
    assert f"XOAUTH2 as {mailbox}" in checks["smtp"][1]
    assert SECRET not in repr(checks)


def test_microsoft_app_only_through_msal(idp: IdentityProvider, stack: MailStack, mailbox: str,
                                         database_url: str, tmp_path: Path) -> None:
    config = _config(stack, mailbox, database_url, tmp_path, provider="microsoft", tenant_id="kplus",
                     authority=f"{idp.https_url}/kplus", client_id=f"{CLIENT}-{mailbox}", client_secret=SECRET,
                     ca_file=idp.ca_file)
    app = _app(config)
    customer = f"khach.{uuid.uuid4().hex[:8]}@example.vn"
    stack.deliver(complaint(sender=f"An <{customer}>", to=mailbox), mailbox)
    polled, processed = app.intake_once()
    sent = app.send_once()
    identity = app.ctx.tokens.manager(mailbox).status().identity  # type: ignore[union-attr]
    app.close()
    assert (polled.error, processed.created, sent.sent) == (None, 1, 1)
    assert identity == f"{mailbox} (app {CLIENT}-{mailbox})"
    [request] = [r for r in idp.token_requests() if r.client_id == f"{CLIENT}-{mailbox}"]
    assert request.grant_type == GRANT_CLIENT_CREDENTIALS


def test_google_service_account_through_google_auth(idp: IdentityProvider, stack: MailStack, mailbox: str,
                                                    database_url: str, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    account = f"mailproc-{uuid.uuid4().hex[:6]}@kplus-project.iam.gserviceaccount.com"
    idp.add_client(account, None, signing_key=public)
    key_file = tmp_path / "service-account.json"
    key_file.write_text(json.dumps({"type": "service_account", "project_id": "kplus-project",
                                    "private_key_id": "k1", "private_key": pem, "client_email": account,
                                    "client_id": "1234567890", "token_uri": idp.token_url}))
    app = _app(_config(stack, mailbox, database_url, tmp_path, provider="google",
                       service_account_file=str(key_file)))
    customer = f"khach.{uuid.uuid4().hex[:8]}@example.vn"
    stack.deliver(complaint(sender=f"An <{customer}>", to=mailbox), mailbox)
    polled, processed = app.intake_once()
    sent = app.send_once()
    app.close()
    assert (polled.error, processed.created, sent.sent) == (None, 1, 1)
    assert stack.smtp_transactions()[-1].auth == SmtpAuth("XOAUTH2", mailbox, True)
    [request] = [r for r in idp.token_requests() if r.client_id == account]
    assert (request.grant_type, request.user, request.error) == (GRANT_JWT_BEARER, mailbox, None)
