"""The OAuth 2.0 stand-in (mailproc.testing.idp) over real HTTP, and the XOAUTH2 and OAUTHBEARER
logins it backs on the real Dovecot and SMTP servers of a MailStack started with ``oauth2=``.

Every client here is a real one (urllib, imap-tools, imaplib, aiosmtplib, smtplib); signatures
of JWT assertions are made by the ``openssl`` command, independently of the verifier under test.
A user's sign-in (device code, authorization code with PKCE) is driven as a browser drives it:
GET the page, POST its form, read where the redirect points.
"""

from __future__ import annotations

import asyncio
import base64
import email
import hashlib
import html
import imaplib
import json
import re
import secrets
import shutil
import smtplib
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from imap_tools import MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError

from mailproc.testing.devstack import DevStackError, MailStack, SmtpAuth
from mailproc.testing.idp import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_DEVICE_CODE,
    GRANT_JWT_BEARER,
    GRANT_REFRESH_TOKEN,
    IdentityProvider,
)

CSKH = "cskh@kplus.example"
AGENT = "agent.lan@kplus.example"
APP, APP_SECRET = "mailproc-app", "app-secret/with:odd+chars"
PUBLIC_APP = "mailproc-cli"  # a public client: refresh tokens only, no secret
SERVICE_ACCOUNT = "mailproc@project.iam.example"
SHORT = 0.5  # seconds: an access-token lifetime short enough to wait out

Form = dict[str, str]


# -- helpers --------------------------------------------------------------------------------


def _post(url: str, form: Form, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any], Any]:
    """(status, JSON body, headers) of a form POST; error statuses are answers too."""
    request = urllib.request.Request(url, urllib.parse.urlencode(form).encode(), headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response), response.headers
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error), error.headers


def _basic(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 section 2.3.1: both parts form-urlencoded, then Basic."""
    pair = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(secret)}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


def _app_token(idp: IdentityProvider) -> str:
    status, body, _ = _post(
        idp.token_url, {"grant_type": "client_credentials", "client_id": APP, "client_secret": APP_SECRET}
    )
    assert status == 200, body
    return str(body["access_token"])


def _refresh(idp: IdentityProvider, refresh_token: str, client_id: str = PUBLIC_APP) -> tuple[int, dict[str, Any]]:
    form = {"grant_type": "refresh_token", "client_id": client_id, "refresh_token": refresh_token}
    status, body, _ = _post(idp.token_url, form)
    return status, body


def _introspect(idp: IdentityProvider, token: str) -> dict[str, Any]:
    status, body, _ = _post(idp.introspection_url, {"token": token})
    assert status == 200
    return body


def _register(idp: IdentityProvider) -> IdentityProvider:
    idp.add_client(APP, APP_SECRET, user=CSKH)
    idp.add_client(PUBLIC_APP)
    return idp


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    """A provider of its own for each HTTP-only test (it starts in milliseconds)."""
    with IdentityProvider() as provider:
        yield _register(provider)


# -- token endpoint -------------------------------------------------------------------------


def test_client_credentials_in_the_form_or_by_basic_give_an_app_only_token(idp: IdentityProvider) -> None:
    form = {"grant_type": "client_credentials", "client_id": APP, "client_secret": APP_SECRET}
    status, body, headers = _post(idp.token_url, form)
    assert status == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and "refresh_token" not in body
    assert headers["Cache-Control"] == "no-store"
    status, by_basic, _ = _post(
        idp.token_url, {"grant_type": "client_credentials", "scope": "https://outlook.office365.com/.default"},
        _basic(APP, APP_SECRET),
    )
    assert status == 200 and by_basic["scope"] == "https://outlook.office365.com/.default"
    assert by_basic["access_token"] != body["access_token"]
    info = _introspect(idp, body["access_token"])
    assert info["active"] is True and info["username"] == CSKH and info["client_id"] == APP
    assert time.time() < info["exp"] <= time.time() + 3601


@pytest.mark.parametrize(
    ("form", "headers", "status", "error"),
    [
        ({"client_id": APP, "client_secret": "wrong"}, None, 401, "invalid_client"),
        ({"client_id": "nobody", "client_secret": APP_SECRET}, None, 401, "invalid_client"),
        ({"client_id": APP}, None, 401, "invalid_client"),
        ({}, _basic(APP, "wrong"), 401, "invalid_client"),
        ({"client_secret": APP_SECRET}, _basic(APP, APP_SECRET), 400, "invalid_request"),  # two methods
        ({"client_id": PUBLIC_APP}, None, 401, "invalid_client"),  # a public client cannot use it
    ],
)
def test_client_credentials_refused(
    idp: IdentityProvider, form: Form, headers: dict[str, str] | None, status: int, error: str
) -> None:
    got, body, answer_headers = _post(idp.token_url, {"grant_type": "client_credentials", **form}, headers)
    assert (got, body["error"]) == (status, error)
    assert "access_token" not in body
    if status == 401:
        assert answer_headers["WWW-Authenticate"].startswith("Basic")
    assert idp.grant_count() == 0 and idp.token_requests()[-1].error == error


def test_a_client_without_a_mailbox_gets_no_app_only_token(idp: IdentityProvider) -> None:
    idp.add_client("no-mailbox", "s")
    status, body, _ = _post(idp.token_url, {"grant_type": "client_credentials", "client_id": "no-mailbox",
                                            "client_secret": "s"})
    assert (status, body["error"]) == (400, "unauthorized_client")


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password", "username": CSKH, "password": "x"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "code": "x", "client_id": PUBLIC_APP}, "invalid_grant"),
        ({"grant_type": GRANT_DEVICE_CODE, "client_id": PUBLIC_APP}, "invalid_request"),
        ({"client_id": APP, "client_secret": APP_SECRET}, "invalid_request"),
        ({"grant_type": GRANT_REFRESH_TOKEN, "client_id": PUBLIC_APP}, "invalid_request"),
    ],
)
def test_bad_requests_get_rfc6749_errors(idp: IdentityProvider, form: Form, error: str) -> None:
    status, body, _ = _post(idp.token_url, form)
    assert (status, body["error"]) == (400, error) and body["error_description"]


def test_the_token_endpoint_takes_form_bodies_only(idp: IdentityProvider) -> None:
    request = urllib.request.Request(idp.token_url, b'{"grant_type": "client_credentials"}',
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)
    with raised.value as error:
        assert error.code == 400 and json.load(error)["error"] == "invalid_request"


def test_refresh_grant_without_rotation_keeps_the_refresh_token(idp: IdentityProvider) -> None:
    refresh_token = idp.issue_refresh_token(PUBLIC_APP, AGENT)
    first = _refresh(idp, refresh_token)
    second = _refresh(idp, refresh_token)
    assert first[0] == second[0] == 200
    assert first[1]["refresh_token"] == second[1]["refresh_token"] == refresh_token
    assert first[1]["access_token"] != second[1]["access_token"]
    assert _introspect(idp, first[1]["access_token"])["username"] == AGENT
    assert _introspect(idp, refresh_token) == {"active": False}  # not a bearer token
    assert idp.grant_count(GRANT_REFRESH_TOKEN) == 2 and idp.grant_count(GRANT_CLIENT_CREDENTIALS) == 0


def test_refresh_grant_checks_the_client(idp: IdentityProvider) -> None:
    refresh_token = idp.issue_refresh_token(APP, AGENT)
    assert _refresh(idp, refresh_token, client_id=PUBLIC_APP)[1]["error"] == "invalid_grant"  # not its token
    assert _refresh(idp, refresh_token, client_id="nobody")[0] == 401
    wrong = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": APP, "client_secret": "x"}
    assert _post(idp.token_url, wrong)[1]["error"] == "invalid_client"
    right = {**wrong, "client_secret": APP_SECRET}
    assert _post(idp.token_url, right)[0] == 200
    assert _refresh(idp, refresh_token, client_id=APP)[0] == 200  # the secret is optional here


def test_rotation_gives_a_new_refresh_token_and_invalidates_the_old(idp: IdentityProvider) -> None:
    idp.rotate_refresh_tokens = True
    old = idp.issue_refresh_token(PUBLIC_APP, AGENT)
    status, body = _refresh(idp, old)
    assert status == 200 and body["refresh_token"] != old
    status, again = _refresh(idp, old)
    assert (status, again["error"]) == (400, "invalid_grant")
    status, third = _refresh(idp, body["refresh_token"])
    assert status == 200 and third["refresh_token"] not in (old, body["refresh_token"])
    assert _introspect(idp, body["access_token"])["active"] is True  # access tokens stay valid
    assert [r.error for r in idp.token_requests()] == [None, "invalid_grant", None]


def test_revoked_tokens_are_dead(idp: IdentityProvider) -> None:
    access, refresh_token = _app_token(idp), idp.issue_refresh_token(PUBLIC_APP, AGENT)
    assert idp.revoke(access) and idp.revoke(refresh_token)
    assert not idp.revoke(access)  # already gone
    assert _introspect(idp, access) == {"active": False}
    assert _refresh(idp, refresh_token)[1]["error"] == "invalid_grant"
    other = _app_token(idp)
    assert _post(idp.revocation_url, {"token": other})[0] == 200  # RFC 7009 over HTTP
    assert _post(idp.revocation_url, {"token": "never-issued"})[0] == 200
    assert _introspect(idp, other) == {"active": False}


def test_outage_answers_503_and_live_tokens_keep_working(idp: IdentityProvider) -> None:
    access, refresh_token = _app_token(idp), idp.issue_refresh_token(PUBLIC_APP, AGENT)
    idp.outage(True)
    status, body, headers = _post(idp.token_url, {"grant_type": "client_credentials", "client_id": APP,
                                                  "client_secret": APP_SECRET})
    assert (status, body["error"], headers["Retry-After"]) == (503, "temporarily_unavailable", "1")
    assert _refresh(idp, refresh_token)[0] == 503
    assert _introspect(idp, access)["active"] is True
    idp.outage(False)
    assert _refresh(idp, refresh_token)[0] == 200
    assert idp.grant_count() == 2
    assert [r.error for r in idp.token_requests()] == [None, "temporarily_unavailable", "temporarily_unavailable", None]


def test_access_tokens_expire_after_their_lifetime(idp: IdentityProvider) -> None:
    idp.token_lifetime = SHORT
    refresh_token = idp.issue_refresh_token(PUBLIC_APP, AGENT)
    status, body = _refresh(idp, refresh_token)
    assert status == 200 and body["expires_in"] == 1  # whole seconds, rounded up
    assert _introspect(idp, body["access_token"])["active"] is True
    time.sleep(SHORT + 0.05)
    assert _introspect(idp, body["access_token"]) == {"active": False}
    assert _refresh(idp, refresh_token)[0] == 200  # refresh tokens do not expire


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return dict(json.load(response))


def test_discovery_names_the_endpoints(idp: IdentityProvider) -> None:
    config = _get_json(idp.discovery_url)
    assert config["issuer"] == idp.url
    assert config["token_endpoint"] == idp.token_url
    assert config["introspection_endpoint"] == idp.introspection_url
    assert config["device_authorization_endpoint"] == idp.device_authorization_url
    assert config["authorization_endpoint"] == idp.authorization_url
    assert {GRANT_JWT_BEARER, GRANT_DEVICE_CODE, GRANT_AUTHORIZATION_CODE} <= set(config["grant_types_supported"])
    assert _get_json(config["jwks_uri"])["keys"][0]["kty"] == "RSA"


def test_discovery_under_a_tenant_has_microsofts_layout(idp: IdentityProvider) -> None:
    """What MSAL reads from ``{authority}/v2.0/.well-known/openid-configuration``."""
    config = _get_json(f"{idp.url}/kplus/v2.0/.well-known/openid-configuration")
    tenant = f"{idp.url}/kplus"
    assert config["issuer"] == f"{tenant}/v2.0"
    assert config["token_endpoint"] == f"{tenant}/oauth2/v2.0/token"
    assert config["device_authorization_endpoint"] == f"{tenant}/oauth2/v2.0/devicecode"
    assert config["authorization_endpoint"] == f"{tenant}/oauth2/v2.0/authorize"
    assert config["jwks_uri"] == f"{tenant}/discovery/v2.0/keys"
    assert _get_json(config["jwks_uri"]) == _get_json(f"{idp.url}/jwks")
    # The tenant's token endpoint is the provider's token endpoint.
    status, body, _ = _post(config["token_endpoint"], {"grant_type": "client_credentials", "client_id": APP,
                                                       "client_secret": APP_SECRET})
    assert status == 200 and _introspect(idp, body["access_token"])["username"] == CSKH


def test_the_provider_listens_on_loopback_only_and_stops_cleanly() -> None:
    provider = IdentityProvider().start()
    assert provider.url.startswith("http://127.0.0.1:") and provider.port > 0
    provider.stop()
    assert not provider.running
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{provider.port}/.well-known/openid-configuration", timeout=2)


# -- RFC 7523 JWT bearer (Google service accounts) ------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def rsa_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the service account's private key, another private key), made by openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to sign JWT assertions")
    folder = tmp_path_factory.mktemp("keys")
    paths = (folder / "service-account.pem", folder / "stranger.pem")
    for path in paths:
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024",
                        "-out", str(path)], check=True, capture_output=True)
    return paths


def _assertion(key: Path, claims: dict[str, Any], *, alg: str = "RS256") -> str:
    signed = f"{_b64url(json.dumps({'alg': alg, 'typ': 'JWT'}).encode())}.{_b64url(json.dumps(claims).encode())}"
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key)], input=signed.encode(),
                               check=True, capture_output=True).stdout
    return f"{signed}.{_b64url(signature)}"


def _claims(idp: IdentityProvider, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": SERVICE_ACCOUNT, "aud": idp.token_url, "iat": now, "exp": now + 3600,
              "scope": "https://mail.google.com/", "sub": CSKH}
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _jwt_grant(idp: IdentityProvider, assertion: str) -> tuple[int, dict[str, Any]]:
    status, body, _ = _post(idp.token_url, {"grant_type": GRANT_JWT_BEARER, "assertion": assertion})
    return status, body


@pytest.mark.parametrize("key_form", ["private", "public"])
def test_jwt_bearer_acts_as_the_subject(idp: IdentityProvider, rsa_keys: tuple[Path, Path], key_form: str) -> None:
    private = rsa_keys[0]
    pem = private.read_text() if key_form == "private" else subprocess.run(
        ["openssl", "pkey", "-in", str(private), "-pubout"], check=True, capture_output=True, text=True).stdout
    idp.add_client(SERVICE_ACCOUNT, signing_key=pem)
    status, body = _jwt_grant(idp, _assertion(private, _claims(idp, sub=AGENT)))
    assert status == 200, body
    assert body["token_type"] == "Bearer" and "refresh_token" not in body
    assert body["scope"] == "https://mail.google.com/"
    assert _introspect(idp, body["access_token"])["username"] == AGENT
    assert idp.token_requests()[-1].client_id == SERVICE_ACCOUNT and idp.grant_count(GRANT_JWT_BEARER) == 1


def test_jwt_bearer_without_sub_acts_for_the_accounts_mailbox(
    idp: IdentityProvider, rsa_keys: tuple[Path, Path]
) -> None:
    idp.add_client(SERVICE_ACCOUNT, signing_key=rsa_keys[0].read_text(), user=CSKH)
    status, body = _jwt_grant(idp, _assertion(rsa_keys[0], _claims(idp, sub=None)))
    assert status == 200 and _introspect(idp, body["access_token"])["username"] == CSKH


def test_jwt_bearer_refuses_bad_assertions(idp: IdentityProvider, rsa_keys: tuple[Path, Path]) -> None:
    own, stranger = rsa_keys
    idp.add_client(SERVICE_ACCOUNT, signing_key=own.read_text())
    now = int(time.time())
    valid = _assertion(own, _claims(idp))
    header, claims, _signature = valid.split(".")
    unsigned = _b64url(json.dumps({"alg": "none"}).encode())
    bad = {
        "another key": _assertion(stranger, _claims(idp)),
        "tampered claims": f"{header}.{_b64url(json.dumps(_claims(idp, sub=AGENT)).encode())}.{_signature}",
        "alg none": f"{unsigned}.{claims}.",
        "unknown issuer": _assertion(own, _claims(idp, iss="someone@else.example")),
        "wrong audience": _assertion(own, _claims(idp, aud="https://elsewhere.example/token")),
        "expired": _assertion(own, _claims(idp, iat=now - 3700, exp=now - 100)),
        "lives too long": _assertion(own, _claims(idp, exp=now + 7200)),
        "no exp": _assertion(own, _claims(idp, exp=None)),
        "no subject": _assertion(own, _claims(idp, sub=None)),
        "not a JWT": "garbage",
    }
    answers = {name: _jwt_grant(idp, assertion) for name, assertion in bad.items()}
    assert {name: (status, body["error"]) for name, (status, body) in answers.items()} == {
        name: (400, "invalid_grant") for name in bad
    }
    assert _jwt_grant(idp, valid)[0] == 200


# -- sign-in by a user: the device authorization grant (RFC 8628, Microsoft's endpoint) --------

MS_SCOPE = "https://outlook.office.com/IMAP.AccessAsUser.All offline_access openid profile"
DEVICE_FIELDS = {"device_code", "user_code", "verification_uri", "expires_in", "interval", "message"}


@pytest.fixture
def devices() -> Iterator[IdentityProvider]:
    """A provider whose device codes may be polled every second (Microsoft says 5)."""
    with IdentityProvider(device_poll_interval=1) as provider:
        yield _register(provider)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _browse(url: str, form: Form | None = None) -> tuple[int, str, str | None]:
    """(status, HTML, Location) of a page, as a browser sees it (a redirect is not followed)."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    try:
        with urllib.request.build_opener(_NoRedirects).open(url, data, timeout=5) as response:
            return response.status, response.read().decode(), response.headers.get("Location")
    except urllib.error.HTTPError as answer:
        with answer:
            return answer.code, answer.read().decode(), answer.headers.get("Location")


def _device_code(idp: IdentityProvider, *, tenant: str | None = "kplus", scope: str = MS_SCOPE,
                 client_id: str = PUBLIC_APP) -> dict[str, Any]:
    url = f"{idp.url}/{tenant}/oauth2/v2.0/devicecode" if tenant else idp.device_authorization_url
    status, body, _ = _post(url, {"client_id": client_id, "scope": scope})
    assert status == 200, body
    return body


def _poll(idp: IdentityProvider, device_code: str, *, tenant: str | None = "kplus", client_id: str = PUBLIC_APP,
          **extra: str) -> tuple[int, dict[str, Any]]:
    url = f"{idp.url}/{tenant}/oauth2/v2.0/token" if tenant else idp.token_url
    status, body, _ = _post(url, {"grant_type": GRANT_DEVICE_CODE, "client_id": client_id,
                                  "device_code": device_code, **extra})
    return status, body


def _approve(flow: dict[str, Any], user: str = CSKH, consent: str = "allow", otc: str | None = None) -> int:
    """The user at the verification page: the code, the user name, Allow (or Decline)."""
    status, page, _ = _browse(flow["verification_uri"])
    assert status == 200 and 'name="otc"' in page and 'name="login"' in page
    status, page, _ = _browse(flow["verification_uri"], {"otc": otc or flow["user_code"], "login": user,
                                                          "consent": consent})
    return status


def _claims_of(idp: IdentityProvider, id_token: str) -> dict[str, Any]:
    """The ID token's claims, once its RS256 signature checks out with the key at jwks_uri."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    header, claims, signature = id_token.split(".")
    [key] = _get_json(f"{idp.url}/jwks")["keys"]
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "RS256", "typ": "JWT", "kid": key["kid"]}
    number = lambda text: int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")  # noqa: E731
    public = rsa.RSAPublicNumbers(number(key["e"]), number(key["n"])).public_key()
    public.verify(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
                  f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return dict(json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4))))


def test_the_device_code_answer_has_microsofts_fields(devices: IdentityProvider) -> None:
    flow = _device_code(devices)
    assert set(flow) == DEVICE_FIELDS  # Microsoft sends no verification_uri_complete
    assert flow["verification_uri"] == f"{devices.url}/devicelogin"
    assert (flow["expires_in"], flow["interval"]) == (900, 1)
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{9}", flow["user_code"])
    assert f"open the page {flow['verification_uri']} and enter the code {flow['user_code']}" in flow["message"]


def test_a_device_code_gives_tokens_once_the_user_allows_it(devices: IdentityProvider) -> None:
    flow = _device_code(devices)
    status, body = _poll(devices, flow["device_code"], client_info="1")
    assert (status, body["error"]) == (400, "authorization_pending")
    # Typed as people type it: lower case, with a dash.
    assert _approve(flow, otc=f"{flow['user_code'][:4].lower()}-{flow['user_code'][4:]}") == 200
    time.sleep(1.05)  # the interval
    status, body = _poll(devices, flow["device_code"], client_info="1")
    assert status == 200, body
    assert {"access_token", "refresh_token", "id_token", "client_info", "expires_in"} <= set(body)
    assert body["scope"] == "https://outlook.office.com/IMAP.AccessAsUser.All"  # OpenID scopes are not a resource's
    assert _introspect(devices, body["access_token"])["username"] == CSKH
    claims = _claims_of(devices, body["id_token"])
    assert (claims["preferred_username"], claims["aud"], claims["iss"]) == (CSKH, PUBLIC_APP,
                                                                            f"{devices.url}/kplus/v2.0")
    info = json.loads(base64.urlsafe_b64decode(body["client_info"] + "=" * (-len(body["client_info"]) % 4)))
    assert info == {"uid": claims["oid"], "utid": claims["tid"]}
    assert _refresh(devices, body["refresh_token"])[0] == 200
    time.sleep(1.05)
    assert _poll(devices, flow["device_code"])[1]["error"] == "bad_verification_code"  # spent


def test_rfc8628s_own_endpoint_and_offline_access(devices: IdentityProvider) -> None:
    flow = _device_code(devices, tenant=None, scope="https://mail.google.com/")
    assert flow["verification_uri_complete"] == f"{flow['verification_uri']}?user_code={flow['user_code']}"
    status, page, _ = _browse(flow["verification_uri_complete"])
    assert status == 200 and f'value="{flow["user_code"]}"' in page  # filled in
    assert _approve(flow) == 200
    status, body = _poll(devices, flow["device_code"], tenant=None)
    assert status == 200, body
    assert "refresh_token" not in body and "id_token" not in body  # neither offline_access nor openid


def test_polling_faster_than_the_interval_is_told_to_slow_down(devices: IdentityProvider) -> None:
    flow = _device_code(devices)
    assert _poll(devices, flow["device_code"])[1]["error"] == "authorization_pending"
    status, body = _poll(devices, flow["device_code"])
    assert (status, body["error"]) == (400, "slow_down")


@pytest.mark.parametrize(("tenant", "error"), [("kplus", "authorization_declined"), (None, "access_denied")])
def test_a_declined_device_code_says_so_until_it_expires(devices: IdentityProvider, tenant: str | None,
                                                         error: str) -> None:
    flow = _device_code(devices, tenant=tenant)
    assert _approve(flow, consent="deny") == 200
    assert _poll(devices, flow["device_code"], tenant=tenant)[1]["error"] == error
    assert _approve(flow) == 400  # the page does not take it again


def test_an_expired_device_code(devices: IdentityProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "device_code_lifetime", 0.3)
    flow = _device_code(devices)
    time.sleep(0.4)
    assert _poll(devices, flow["device_code"])[1]["error"] == "expired_token"
    assert _approve(flow) == 400


def test_unknown_and_foreign_device_codes(devices: IdentityProvider) -> None:
    assert _poll(devices, "no-such-code")[1]["error"] == "bad_verification_code"
    assert _poll(devices, "no-such-code", tenant=None)[1]["error"] == "invalid_grant"
    flow = _device_code(devices)
    assert _poll(devices, flow["device_code"], client_id=APP, client_secret=APP_SECRET)[1]["error"] == \
        "bad_verification_code"
    status, body, _ = _post(f"{devices.url}/kplus/oauth2/v2.0/devicecode", {"client_id": "nobody", "scope": MS_SCOPE})
    assert (status, body["error"]) == (401, "invalid_client")
    status, body, _ = _post(f"{devices.url}/kplus/oauth2/v2.0/devicecode", {"client_id": PUBLIC_APP})
    assert (status, body["error"]) == (400, "invalid_request")  # Microsoft requires the scope


# -- sign-in by a user: the authorization-code grant with PKCE (Google's installed apps) -----

DESKTOP, DESKTOP_SECRET = "desk.apps.googleusercontent.com", "GOCSPX-desk"
LOOPBACK = "http://localhost:8765/"


@pytest.fixture
def consent(idp: IdentityProvider) -> IdentityProvider:
    idp.add_client(DESKTOP, DESKTOP_SECRET)
    return idp


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _authorization_request(challenge: str, **changes: str | None) -> Form:
    request = {"response_type": "code", "client_id": DESKTOP, "redirect_uri": LOOPBACK,
               "scope": "https://mail.google.com/", "state": "st-123", "code_challenge": challenge,
               "code_challenge_method": "S256", "access_type": "offline", "prompt": "consent"}
    request.update(changes)  # type: ignore[arg-type]
    return {name: value for name, value in request.items() if value is not None}


def _sign_in(idp: IdentityProvider, request: Form, *, consent: str = "allow") -> dict[str, list[str]]:
    """GET the consent page, POST its form back; the query the browser is redirected with."""
    status, page, _ = _browse(f"{idp.authorization_url}?{urllib.parse.urlencode(request)}")
    assert status == 200, page
    for name, value in request.items():
        assert f'name="{name}" value="{html.escape(value)}"' in page  # carried by hidden fields
    status, _, location = _browse(idp.authorization_url, {**request, "login": CSKH, "consent": consent})
    assert status == 302 and location is not None and location.startswith(LOOPBACK + "?")
    return urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)


def _exchange(idp: IdentityProvider, code: str, verifier: str | None, *, redirect_uri: str = LOOPBACK,
              secret: str | None = DESKTOP_SECRET) -> tuple[int, dict[str, Any]]:
    """As requests-oauthlib sends it: the client in HTTP Basic, the rest in the form."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if secret is None:
        form["client_id"] = DESKTOP  # named, but not authenticated
    if verifier is not None:
        form["code_verifier"] = verifier
    status, body, _ = _post(idp.token_url, form, _basic(DESKTOP, secret) if secret else None)
    return status, body


def test_an_authorization_code_with_pkce_gives_tokens_once(consent: IdentityProvider) -> None:
    verifier, challenge = _pkce()
    back = _sign_in(consent, _authorization_request(challenge))
    assert back["state"] == ["st-123"] and back["scope"] == ["https://mail.google.com/"]
    status, body = _exchange(consent, back["code"][0], verifier)
    assert status == 200, body
    assert body["refresh_token"] and body["scope"] == "https://mail.google.com/"  # access_type=offline
    assert _introspect(consent, body["access_token"])["username"] == CSKH
    # A code presented twice is refused, and what it gave is revoked (RFC 6749 section 4.1.2).
    status, again = _exchange(consent, back["code"][0], verifier)
    assert (status, again["error"]) == (400, "invalid_grant")
    assert _introspect(consent, body["access_token"]) == {"active": False}
    assert _refresh(consent, body["refresh_token"], DESKTOP)[1]["error"] == "invalid_grant"


@pytest.mark.parametrize("mistake", ["wrong verifier", "no verifier", "other redirect_uri", "no secret"])
def test_the_code_exchange_checks_verifier_redirect_and_client(consent: IdentityProvider, mistake: str) -> None:
    verifier, challenge = _pkce()
    code = _sign_in(consent, _authorization_request(challenge))["code"][0]
    status, body = _exchange(consent, code, {"wrong verifier": _pkce()[0], "no verifier": None}.get(mistake, verifier),
                             redirect_uri="http://localhost:9999/" if mistake == "other redirect_uri" else LOOPBACK,
                             secret=None if mistake == "no secret" else DESKTOP_SECRET)
    expected = (401, "invalid_client") if mistake == "no secret" else (400, "invalid_grant")
    assert (status, body["error"]) == expected


def test_an_expired_code_and_no_offline_access(consent: IdentityProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    verifier, challenge = _pkce()
    status, body = _exchange(consent, _sign_in(consent, _authorization_request(challenge, access_type=None))["code"][0],
                             verifier)
    assert status == 200 and "refresh_token" not in body
    monkeypatch.setattr("mailproc.testing.idp.AUTHORIZATION_CODE_LIFETIME", 0.2)
    code = _sign_in(consent, _authorization_request(challenge))["code"][0]
    time.sleep(0.3)
    assert _exchange(consent, code, verifier)[1]["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("changes", "error"),
    [({"response_type": "token"}, "unsupported_response_type"), ({"scope": None}, "invalid_scope"),
     ({"code_challenge_method": "S512"}, "invalid_request"), ({"code_challenge": None}, "invalid_request")],
)
def test_a_bad_authorization_request_goes_back_with_its_error(consent: IdentityProvider, changes: dict[str, Any],
                                                             error: str) -> None:
    request = _authorization_request(_pkce()[1], **changes)
    status, _, location = _browse(f"{consent.authorization_url}?{urllib.parse.urlencode(request)}")
    assert status == 302 and location is not None
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(location).query) == {"error": [error], "state": ["st-123"]}


def test_a_declined_consent_goes_back_with_access_denied(consent: IdentityProvider) -> None:
    back = _sign_in(consent, _authorization_request(_pkce()[1]), consent="deny")
    assert back == {"error": ["access_denied"], "state": ["st-123"]}


@pytest.mark.parametrize(("changes", "status"), [({"client_id": "nobody"}, 401),
                                                 ({"redirect_uri": "https://attacker.example/cb"}, 400),
                                                 ({"redirect_uri": "http://127.0.0.1.attacker.example/"}, 400)])
def test_an_unchecked_redirect_uri_never_gets_a_redirect(consent: IdentityProvider, changes: Form,
                                                         status: int) -> None:
    request = _authorization_request(_pkce()[1], **changes)
    for form in (None, {**request, "login": CSKH, "consent": "allow"}):
        answer, page, location = _browse(f"{consent.authorization_url}?{urllib.parse.urlencode(request)}"
                                         if form is None else consent.authorization_url, form)
        assert (answer, location) == (status, None) and "<html" in page


# -- the mail servers: Dovecot and the SMTP server check tokens with the provider -----------


@pytest.fixture(scope="module")
def provider() -> Iterator[IdentityProvider]:
    with IdentityProvider() as started:
        yield _register(started)


@pytest.fixture(scope="module")
def stack(provider: IdentityProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailStack]:
    with MailStack(base_dir=tmp_path_factory.mktemp("oauthstack"), oauth2=provider,
                   smtp_oauth_mechanisms=("XOAUTH2", "OAUTHBEARER")) as started:
        yield started


@pytest.fixture
def short_lived(provider: IdentityProvider, monkeypatch: pytest.MonkeyPatch) -> IdentityProvider:
    monkeypatch.setattr(provider, "token_lifetime", SHORT)
    return provider


def _message(to: str = CSKH) -> tuple[str, bytes]:
    message_id = f"<{uuid.uuid4().hex}@kplus.example>"
    raw = (f"From: <{CSKH}>\r\nTo: <{to}>\r\nSubject: Phieu khieu nai\r\nMessage-ID: {message_id}\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDa tiep nhan.\r\n").encode()
    return message_id, raw


def _xoauth2_login(stack: MailStack, user: str, token: str) -> None:
    """Log in with imap-tools' xoauth2() and out again. On a refusal it raises imaplib's
    IMAP4.error, since xoauth2() goes through imaplib's authenticate(), which raises on NO
    (imap-tools' MailboxLoginError comes from login() only)."""
    mailbox = MailBoxUnencrypted(stack.host, stack.imap_port, timeout=5)
    try:
        mailbox.xoauth2(user, token)
    except BaseException:
        mailbox.client.shutdown()
        raise
    with mailbox:
        assert mailbox.folder.get() == "INBOX"


def test_imap_xoauth2_with_a_valid_token(stack: MailStack, provider: IdentityProvider) -> None:
    message_id, raw = _message()
    stack.deliver(raw, CSKH)
    asked = provider.introspection_count
    token = _app_token(provider)
    with MailBoxUnencrypted(stack.host, stack.imap_port, timeout=5).xoauth2(CSKH, token) as mailbox:
        ids = [m.headers["message-id"][0] for m in mailbox.fetch(mark_seen=False, headers_only=True)]
    assert message_id in ids
    _xoauth2_login(stack, CSKH, token)  # the same token, reused
    assert provider.introspection_count == asked + 2  # Dovecot asked at each login
    assert provider.grant_count(GRANT_CLIENT_CREDENTIALS) >= 1


def _refused_tokens(provider: IdentityProvider, stack: MailStack) -> dict[str, tuple[str, str]]:
    """name -> (user, token) that no token login may accept (expired ones: see below)."""
    revoked = _app_token(provider)
    provider.revoke(revoked)
    refresh_token = provider.issue_refresh_token(PUBLIC_APP, CSKH)
    return {
        "garbage": (CSKH, "not-a-token"),
        "the password": (CSKH, stack.password),  # the oauth2 passdb takes no password
        "revoked": (CSKH, revoked),
        "another user's": (AGENT, _app_token(provider)),
        "a refresh token": (CSKH, refresh_token),
    }


def _imap_refusal(stack: MailStack, user: str, token: str) -> str:
    try:
        _xoauth2_login(stack, user, token)
    except imaplib.IMAP4.error as error:
        return str(error)
    return "accepted"


def test_imap_xoauth2_refuses_dead_and_foreign_tokens(stack: MailStack, provider: IdentityProvider) -> None:
    cases = _refused_tokens(provider, stack)
    # In parallel: Dovecot answers a failed login only at its next 0.5 s failure tick.
    with ThreadPoolExecutor(len(cases)) as pool:
        answers = dict(zip(cases, pool.map(lambda case: _imap_refusal(stack, *case), cases.values()), strict=True))
    assert answers == {name: "[AUTHENTICATIONFAILED] Authentication failed." for name in cases}


def test_imap_passwords_and_tokens_do_not_mix(stack: MailStack, provider: IdentityProvider) -> None:
    token = _app_token(provider)
    mailbox = MailBoxUnencrypted(stack.host, stack.imap_port, timeout=5)
    with pytest.raises(MailboxLoginError):  # LOGIN with a token: the password passdb says no
        mailbox.login(CSKH, token)
    mailbox.logout()
    with MailBoxUnencrypted(stack.host, stack.imap_port, timeout=5).login(CSKH, stack.password) as mailbox:
        assert mailbox.folder.get() == "INBOX"  # the password still works


def _oauthbearer(user: str, token: str, host: str, port: int) -> Callable[[bytes], bytes]:
    """imaplib's callback: the RFC 7628 initial response, then ^A to the error challenge."""
    initial = f"n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01".encode()
    answers = iter([initial])
    return lambda _challenge: next(answers, b"\x01")


def test_imap_oauthbearer(stack: MailStack, provider: IdentityProvider) -> None:
    client = imaplib.IMAP4(stack.host, stack.imap_port, timeout=5)
    try:
        assert "AUTH=OAUTHBEARER" in client.capabilities and "AUTH=XOAUTH2" in client.capabilities
        status, _ = client.authenticate("OAUTHBEARER", _oauthbearer(CSKH, _app_token(provider), stack.host,
                                                                    stack.imap_port))
        assert status == "OK"
        assert client.select("INBOX")[0] == "OK"
    finally:
        client.logout()
    client = imaplib.IMAP4(stack.host, stack.imap_port, timeout=5)
    try:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            client.authenticate("OAUTHBEARER", _oauthbearer(CSKH, "not-a-token", stack.host, stack.imap_port))
    finally:
        client.shutdown()


def test_a_stack_without_oauth2_offers_no_token_logins(mailstack: MailStack) -> None:
    client = imaplib.IMAP4(mailstack.host, mailstack.imap_port, timeout=5)
    try:
        assert "AUTH=PLAIN" in client.capabilities and "AUTH=XOAUTH2" not in client.capabilities
    finally:
        client.logout()
    with smtplib.SMTP(mailstack.host, mailstack.smtp_port, local_hostname="client.test", timeout=5) as smtp:
        smtp.ehlo()
        assert "XOAUTH2" not in smtp.esmtp_features.get("auth", "")


def test_a_stack_needs_its_provider_started(tmp_path: Path) -> None:
    with pytest.raises(DevStackError, match="start the IdentityProvider"):
        MailStack(base_dir=tmp_path, oauth2=IdentityProvider()).start()


# -- SMTP --------------------------------------------------------------------------------


def _send_xoauth2(stack: MailStack, user: str, token: str, raw: bytes, to: str = CSKH) -> None:
    async def token_generator() -> str:
        return token

    async def send() -> None:
        async with aiosmtplib.SMTP(hostname=stack.host, port=stack.smtp_port, username=user,
                                   oauth_token_generator=token_generator, start_tls=False, timeout=5,
                                   local_hostname="client.test") as smtp:
            await smtp.sendmail(user, [to], raw)

    asyncio.run(send())


def _message_ids(stack: MailStack, user: str) -> set[str]:
    return {str(email.message_from_bytes(raw)["Message-ID"]) for raw in stack.messages(user)}


def test_smtp_xoauth2_sends_and_records_who_sent(stack: MailStack, provider: IdentityProvider) -> None:
    message_id, raw = _message(to=AGENT)
    _send_xoauth2(stack, CSKH, _app_token(provider), raw, to=AGENT)
    sent = stack.smtp_transactions()[-1]
    assert sent.auth == SmtpAuth("XOAUTH2", CSKH, True)
    assert sent.mail_from == CSKH and sent.rcpt_tos == (AGENT,)
    assert stack.smtp_auths()[-1] == SmtpAuth("XOAUTH2", CSKH, True)
    assert message_id in _message_ids(stack, AGENT)


def test_smtp_xoauth2_refuses_dead_and_foreign_tokens(stack: MailStack, provider: IdentityProvider) -> None:
    delivered = len(stack.smtp_transactions())
    for name, (user, token) in _refused_tokens(provider, stack).items():
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as raised:
            _send_xoauth2(stack, user, token, _message()[1])
        assert raised.value.code == 535, name
        assert stack.smtp_auths()[-1] == SmtpAuth("XOAUTH2", user, False)
    assert len(stack.smtp_transactions()) == delivered


def test_an_expired_token_is_refused_by_imap_and_smtp(stack: MailStack, short_lived: IdentityProvider) -> None:
    token = _app_token(short_lived)
    _xoauth2_login(stack, CSKH, token)
    _send_xoauth2(stack, CSKH, token, _message()[1])
    time.sleep(SHORT + 0.05)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        _xoauth2_login(stack, CSKH, token)
    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        _send_xoauth2(stack, CSKH, token, _message()[1])


class _Sasl:
    """smtplib's authobject: ``initial`` to the first call, ``after`` to any later challenge."""

    def __init__(self, initial: str, after: str) -> None:
        self.initial, self.after, self.calls = initial, after, 0

    def __call__(self, challenge: bytes | None = None) -> str:
        self.calls += 1
        return self.initial if self.calls == 1 else self.after


@pytest.mark.parametrize("initial_response_ok", [True, False])
def test_smtp_oauthbearer(stack: MailStack, provider: IdentityProvider, initial_response_ok: bool) -> None:
    token = _app_token(provider)
    gs2 = f"n,a={CSKH},\x01host={stack.host}\x01port={stack.smtp_port}\x01auth=Bearer {{}}\x01\x01"
    with smtplib.SMTP(stack.host, stack.smtp_port, local_hostname="client.test", timeout=5) as smtp:
        smtp.ehlo()
        assert {"OAUTHBEARER", "XOAUTH2", "PLAIN", "LOGIN"} <= set(smtp.esmtp_features["auth"].split())
        with pytest.raises(smtplib.SMTPAuthenticationError) as raised:
            smtp.auth("OAUTHBEARER", _Sasl(gs2.format("not-a-token"), "\x01"), initial_response_ok=initial_response_ok)
        assert raised.value.smtp_code == 535
        code, _ = smtp.auth("OAUTHBEARER", _Sasl(gs2.format(token), "\x01"), initial_response_ok=initial_response_ok)
        assert code == 235
        message_id, raw = _message()
        smtp.sendmail(CSKH, [CSKH], raw)
    assert stack.smtp_transactions()[-1].auth == SmtpAuth("OAUTHBEARER", CSKH, True)
    assert message_id in _message_ids(stack, CSKH)


def test_smtp_xoauth2_without_initial_response(stack: MailStack, provider: IdentityProvider) -> None:
    initial = f"user={CSKH}\x01auth=Bearer {_app_token(provider)}\x01\x01"
    with smtplib.SMTP(stack.host, stack.smtp_port, local_hostname="client.test", timeout=5) as smtp:
        smtp.ehlo()
        assert smtp.auth("XOAUTH2", _Sasl(initial, ""), initial_response_ok=False)[0] == 235


def test_smtp_passwords_still_work_and_are_recorded(stack: MailStack) -> None:
    with smtplib.SMTP(stack.host, stack.smtp_port, local_hostname="client.test", timeout=5) as smtp:
        smtp.login(AGENT, stack.password)
        smtp.sendmail(AGENT, [CSKH], _message()[1])
    assert stack.smtp_transactions()[-1].auth == SmtpAuth("PLAIN", AGENT, True)
    assert stack.smtp_log()[-1][:2] == (AGENT, [CSKH])


def test_idp_outage_does_not_stop_logins_with_a_cached_token(stack: MailStack, provider: IdentityProvider) -> None:
    token = _app_token(provider)
    provider.outage(True)
    try:
        status, _, _ = _post(provider.token_url, {"grant_type": "client_credentials", "client_id": APP,
                                                  "client_secret": APP_SECRET})
        assert status == 503
        _xoauth2_login(stack, CSKH, token)
        _send_xoauth2(stack, CSKH, token, _message()[1])
    finally:
        provider.outage(False)


def test_a_stopped_provider_is_a_temporary_failure_for_imap_and_smtp(tmp_path: Path) -> None:
    provider = _register(IdentityProvider().start())
    with MailStack(base_dir=tmp_path, oauth2=provider, dedupe_by_message_id=False) as stack:
        token = _app_token(provider)
        provider.stop()
        client = imaplib.IMAP4(stack.host, stack.imap_port, timeout=5)
        try:
            with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
                client.authenticate("XOAUTH2", lambda _: f"user={CSKH}\x01auth=Bearer {token}\x01\x01".encode())
        finally:
            client.shutdown()
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as raised:
            _send_xoauth2(stack, CSKH, token, _message()[1])
        assert raised.value.code == 454
