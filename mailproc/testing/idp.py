"""A throwaway OAuth 2.0 identity provider on loopback, for the tests of mailproc's OAuth2 logins.

It speaks the real protocols over real HTTP (``http.server`` in a thread, 127.0.0.1 only):

* ``POST /token`` (RFC 6749): ``client_credentials`` (client authenticated by ``client_id`` and
  ``client_secret`` in the form or by HTTP Basic, section 2.3.1), ``refresh_token`` (section 6;
  ``client_id`` required, ``client_secret`` checked when given) and RFC 7523's
  ``urn:ietf:params:oauth:grant-type:jwt-bearer``, as Google service accounts use it: the
  ``assertion`` is an RS256 JWT signed with the service account's key (``iss`` = the client,
  ``aud`` = this token endpoint, ``exp`` in the future, at most an hour after ``iat``; ``sub`` =
  the user to act as). The signature is checked with the standard library alone (RSASSA-PKCS1-v1_5
  with SHA-256 is one modular exponentiation): ``cryptography`` is not among our dependencies.
  Answers and errors are RFC 6749 JSON (``invalid_request``, ``invalid_client`` with 401,
  ``invalid_grant``, ``unauthorized_client``, ``unsupported_grant_type`` with 400).
* ``POST /introspect`` (RFC 7662), which Dovecot's oauth2 passdb and the devstack's SMTP server
  call: ``{"active": true, "username": …, "scope": …, "exp": …}`` for a live access token,
  ``{"active": false}`` for anything else. It plays the mail provider's own token check, so it
  knows access tokens only (a refresh token is not a bearer token) and keeps answering during
  an :meth:`IdentityProvider.outage`.
* ``POST /revoke`` (RFC 7009) and ``GET /.well-known/openid-configuration`` (discovery).
* A user's sign-in, with a browser page the tests drive as a browser would (a form POST):

  - the device authorization grant (RFC 8628) as the Microsoft identity platform serves it:
    ``POST /{tenant}/oauth2/v2.0/devicecode`` answers ``device_code, user_code,
    verification_uri, expires_in, interval, message``; the user opens ``verification_uri``
    (``/devicelogin``), types the code and a user name and allows or declines; meanwhile the
    client polls the token endpoint with ``grant_type=urn:ietf:params:oauth:grant-type:device_code``
    and hears ``authorization_pending`` (``slow_down`` if it polls faster than ``interval``),
    then the tokens, or ``authorization_declined`` / ``expired_token`` / ``bad_verification_code``
    (Microsoft's names). ``POST /device_authorization`` is the plain RFC 8628 endpoint, whose
    codes hear RFC 8628's ``access_denied`` and RFC 6749's ``invalid_grant`` instead.
  - the authorization-code grant (RFC 6749 section 4.1) with PKCE (RFC 7636) for installed
    apps, as Google serves it: ``GET /authorize`` shows the consent page for a loopback
    ``redirect_uri`` (RFC 8252 section 7.3); allowing it redirects there with ``code`` and
    ``state`` (``error=access_denied`` when declined); the token endpoint's
    ``authorization_code`` grant checks the client, ``redirect_uri`` and ``code_verifier``,
    and spends the code once.

  A refresh token comes with a user's tokens when offline access was asked for (``offline_access``
  in the scope, or Google's ``access_type=offline``), an OpenID Connect ``id_token`` (RS256,
  its key at ``jwks_uri``) when ``openid`` was, and MSAL's ``client_info`` when it sent
  ``client_info=1``.
* Microsoft's layout under a tenant: ``/{tenant}/v2.0/.well-known/openid-configuration`` names
  ``/{tenant}/oauth2/v2.0/token``, ``…/devicecode`` and ``…/authorize``, as MSAL expects.

:meth:`IdentityProvider.issue_refresh_token` is a user's consent without the browser.
Tokens are random (``secrets.token_urlsafe``); expiry is checked against ``time.time()``.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import re
import secrets
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from mailproc.errors import MailprocError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
GRANT_CLIENT_CREDENTIALS = "client_credentials"
GRANT_REFRESH_TOKEN = "refresh_token"
GRANT_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GRANT_DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_AUTHORIZATION_CODE = "authorization_code"
DEFAULT_SCOPE = "https://mail.google.com/"
MAX_BODY = 64 * 1024
POLL_INTERVAL = 0.05  # how soon stop() is noticed by the serving thread
MAX_ASSERTION_LIFETIME = 3600  # Google refuses a service-account JWT valid for longer
CLOCK_SKEW = 60  # seconds an assertion's iat may lie in the future


# google-auth always signs its JWT for Google's own token endpoint, whatever token_uri says.
GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"
DEVICE_CODE_LIFETIME = 900.0  # Microsoft: "the user has 15 minutes to sign in"
DEVICE_POLL_INTERVAL = 5  # seconds, as Microsoft answers
AUTHORIZATION_CODE_LIFETIME = 600.0  # RFC 6749 section 4.1.2: ten minutes at most
# RFC 8628 section 6.1: user codes from 20 consonants (no vowels: no words; nothing easily
# misread); Microsoft's are nine characters without a dash.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 9
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})  # not a resource's scopes
PKCE_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 section 4.1
_MICROSOFT_PATH = re.compile(r"/([^/]+)/oauth2/v2\.0/(token|devicecode|authorize)")
_Flavor = Literal["microsoft", "rfc"]  # whose error names a device code hears
ID_TOKEN_KEY_ID = "devstack-idp-1"


class IdentityProviderError(MailprocError):
    """The stand-in identity provider could not be started or was misused."""


@dataclass(frozen=True)
class TokenRequest:
    """One call of the token endpoint: ``error`` is None when a token was issued."""

    grant_type: str
    client_id: str | None
    user: str | None
    error: str | None
    at: float


@dataclass(frozen=True)
class _RsaKey:
    n: int
    e: int


@dataclass
class _Client:
    client_id: str
    secret: str | None
    user: str | None
    key: _RsaKey | None


@dataclass
class _Token:
    kind: Literal["access", "refresh"]
    client_id: str
    user: str
    scope: str
    issued_at: float
    expires_at: float | None  # None: no expiry (refresh tokens)

    def live(self, now: float) -> bool:
        return self.expires_at is None or now < self.expires_at


@dataclass
class _DeviceCode:
    """One device authorization (RFC 8628), from the request until its tokens are issued."""

    device_code: str
    user_code: str
    client_id: str
    scope: str
    flavor: _Flavor
    tenant: str | None
    expires_at: float
    interval: float
    last_poll: float = 0.0
    user: str | None = None  # who allowed it at the verification page
    declined: bool = False
    spent: bool = False


@dataclass
class _AuthorizationCode:
    """One authorization code (RFC 6749 section 4.1), with what its request said."""

    client_id: str
    user: str
    scope: str
    redirect_uri: str
    challenge: str | None
    challenge_method: str
    offline: bool
    expires_at: float
    nonce: str | None = None
    spent: bool = False
    issued: tuple[str, ...] = ()  # tokens issued for it: revoked if it is presented again


class OAuthProblem(Exception):
    """An RFC 6749 error answer: raised inside a request, turned into JSON by the handler."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error, self.description, self.status = error, description, status


class _PageProblem(Exception):
    """What a browser page says instead of going on (a bad request, an unknown code): an HTML
    page with this status. (RFC 6749 section 4.1.2.1: never a redirect to an unchecked URI.)"""

    def __init__(self, text: str, *, status: int = 400) -> None:
        super().__init__(text)
        self.text, self.status = text, status


class IdentityProvider:
    """An OAuth 2.0 authorization server on ``127.0.0.1:port`` (0 = a free port).

    ``token_lifetime`` (seconds, may be fractional) and ``rotate_refresh_tokens`` (each refresh
    grant returns a new refresh token and invalidates the old one; without it the same one is
    returned) are plain attributes: tests may change them while it runs; so are
    ``device_code_lifetime`` and ``device_poll_interval`` (whole seconds, at least 1: MSAL
    sleeps that many one-second steps between polls).
    """

    def __init__(
        self,
        *,
        port: int = 0,
        token_lifetime: float = 3600.0,
        rotate_refresh_tokens: bool = False,
        default_scope: str = DEFAULT_SCOPE,
        tls: bool = False,
        device_code_lifetime: float = DEVICE_CODE_LIFETIME,
        device_poll_interval: int = DEVICE_POLL_INTERVAL,
    ) -> None:
        if token_lifetime <= 0 or device_code_lifetime <= 0:
            raise ValueError("token_lifetime and device_code_lifetime must be positive")
        if device_poll_interval < 1:
            raise ValueError("device_poll_interval must be a whole number of seconds, at least 1")
        self.port = port
        self.token_lifetime = token_lifetime
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.default_scope = default_scope
        self.device_code_lifetime = device_code_lifetime
        self.device_poll_interval = device_poll_interval
        self._lock = threading.Lock()
        self._clients: dict[str, _Client] = {}
        self._tokens: dict[str, _Token] = {}
        self._requests: list[TokenRequest] = []
        self._device_codes: dict[str, _DeviceCode] = {}  # by device_code
        self._user_codes: dict[str, str] = {}  # user_code -> device_code
        self._codes: dict[str, _AuthorizationCode] = {}
        self._signing_key: Any = None  # the id_token key (cryptography's RSA key), made when first needed
        self._introspections = 0
        self._down = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # Also HTTPS, on a second port, with a self-signed certificate for 127.0.0.1 (MSAL
        # accepts only https authorities); clients trust it through ``ca_file``.
        self.tls = tls
        self.tls_port = 0
        self._tls_dir: tempfile.TemporaryDirectory[str] | None = None
        self._tls_server: _Server | None = None
        self._tls_thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> IdentityProvider:
        if self._server is not None:
            raise IdentityProviderError("this IdentityProvider is already running")
        server = _Server((HOST, self.port), _Handler)
        server.provider, server.scheme = self, "http"
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL}, name=f"idp-{self.port}", daemon=True
        )
        self._thread.start()
        if self.tls:  # the same provider over HTTPS too, on a port of its own
            self._tls_dir = tempfile.TemporaryDirectory(prefix="idp-tls-")
            cert, key = _self_signed(Path(self._tls_dir.name))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            secure = _Server((HOST, 0), _Handler)
            secure.provider, secure.scheme = self, "https"
            secure.socket = context.wrap_socket(secure.socket, server_side=True)
            self.tls_port = int(secure.server_address[1])
            self._tls_server = secure
            self._tls_thread = threading.Thread(target=secure.serve_forever, kwargs={"poll_interval": POLL_INTERVAL},
                                                name=f"idp-tls-{self.tls_port}", daemon=True)
            self._tls_thread.start()
        log.info("identity provider up: %s", self.url)
        return self

    def stop(self) -> None:
        if self._tls_server is not None:
            self._tls_server.shutdown()
            self._tls_server.server_close()
            self._tls_server = None
        if self._tls_thread is not None:
            self._tls_thread.join()
            self._tls_thread = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._tls_dir is not None:
            self._tls_dir.cleanup()
            self._tls_dir = None

    def __enter__(self) -> IdentityProvider:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        """The issuer: ``http://127.0.0.1:PORT`` (the port is known once started; after stop()
        the URLs stay, and refuse connections)."""
        if self.port == 0:
            raise IdentityProviderError("the IdentityProvider has no port yet: start() it first")
        return f"http://{HOST}:{self.port}"

    @property
    def https_url(self) -> str:
        """The same provider over HTTPS (``tls=True``): MSAL accepts only https authorities."""
        if not self.tls_port:
            raise IdentityProviderError("https_url: start() the IdentityProvider with tls=True first")
        return f"https://{HOST}:{self.tls_port}"

    @property
    def ca_file(self) -> str:
        """The certificate to trust (``tls=True`` only; it is its own CA)."""
        if self._tls_dir is None:
            raise IdentityProviderError("ca_file: the IdentityProvider runs without TLS, or is not started")
        return str(Path(self._tls_dir.name) / "cert.pem")

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    @property
    def introspection_url(self) -> str:
        return f"{self.url}/introspect"

    @property
    def revocation_url(self) -> str:
        return f"{self.url}/revoke"

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    @property
    def device_authorization_url(self) -> str:
        """RFC 8628's endpoint (Microsoft's is under its authority: :meth:`microsoft_authority`)."""
        return f"{self.url}/device_authorization"

    @property
    def authorization_url(self) -> str:
        return f"{self.url}/authorize"

    def microsoft_authority(self, tenant: str) -> str:
        """An MSAL ``authority`` for ``tenant`` on the HTTPS listener (``tls=True``); MSAL finds
        ``/{tenant}/oauth2/v2.0/token`` and ``…/devicecode`` by discovery."""
        return f"{self.https_url}/{tenant}"

    # -- what tests set up -------------------------------------------------------------

    def add_client(
        self,
        client_id: str,
        secret: str | None = None,
        *,
        user: str | None = None,
        signing_key: str | bytes | None = None,
    ) -> None:
        """Register (or replace) a client.

        ``secret``: for client authentication (None: a public client, refresh grants only).
        ``user``: the mailbox an app-only token (client credentials) acts for, and the default
        ``sub`` of a JWT assertion. ``signing_key``: PEM of the service account's RSA key, public
        (``PUBLIC KEY``, ``RSA PUBLIC KEY``) or private (``PRIVATE KEY``, ``RSA PRIVATE KEY``; only
        its public half is kept); needed for the JWT-bearer grant.
        """
        key = _rsa_key_from_pem(signing_key) if signing_key is not None else None
        with self._lock:
            self._clients[client_id] = _Client(client_id, secret, user, key)

    def issue_refresh_token(self, client_id: str, user: str, *, scope: str | None = None) -> str:
        """A refresh token of ``client_id`` for ``user``, as if the user had just consented."""
        with self._lock:
            if client_id not in self._clients:
                raise IdentityProviderError(f"no client {client_id!r}: add_client() it first")
            return self._issue("refresh", client_id, user, scope or self.default_scope, time.time())

    def revoke(self, token: str) -> bool:
        """Invalidate an access or refresh token; whether it was known and still live."""
        with self._lock:
            found = self._tokens.pop(token, None)
        return found is not None and found.live(time.time())

    def outage(self, down: bool = True) -> None:
        """While down, the token endpoint (and discovery) answers 503 temporarily_unavailable
        with Retry-After. The port stays open and introspection keeps working: a provider's
        sign-in service failing does not stop its mail servers accepting live tokens."""
        self._down = down

    # -- what tests assert -------------------------------------------------------------

    def token_requests(self) -> list[TokenRequest]:
        """Every call of the token endpoint so far, failed ones included, oldest first."""
        with self._lock:
            return list(self._requests)

    def grant_count(self, grant_type: str | None = None) -> int:
        """How many tokens the token endpoint issued (of ``grant_type``, or of every type)."""
        with self._lock:
            return sum(
                1 for r in self._requests if r.error is None and grant_type in (None, r.grant_type)
            )

    @property
    def introspection_count(self) -> int:
        """How many times the introspection endpoint was asked (by Dovecot, by the SMTP server)."""
        with self._lock:
            return self._introspections

    def introspect(self, token: str) -> dict[str, Any]:
        """The RFC 7662 answer for ``token``, as ``POST /introspect`` gives it (not counted)."""
        with self._lock:
            found = self._tokens.get(token)
        if found is None or found.kind != "access" or not found.live(time.time()):
            return {"active": False}
        assert found.expires_at is not None
        return {
            "active": True,
            "username": found.user,
            "sub": found.user,
            "scope": found.scope,
            "client_id": found.client_id,
            "token_type": "Bearer",
            "iat": int(found.issued_at),
            "exp": math.ceil(found.expires_at),
            "iss": self.url,
        }

    # -- the endpoints (called from the server's threads) --------------------------------

    def _token_endpoint(self, form: Mapping[str, str], authorization: str | None, site: _Site) -> dict[str, Any]:
        grant_type = form.get("grant_type", "")
        client_id: str | None = form.get("client_id")
        user: str | None = None
        try:
            if self._down:
                raise OAuthProblem("temporarily_unavailable", "the identity provider is down", status=503)
            client_id, secret = _client_credentials(form, authorization)
            if grant_type == GRANT_CLIENT_CREDENTIALS:
                answer = self._client_credentials_grant(client_id, secret, form)
            elif grant_type == GRANT_REFRESH_TOKEN:
                answer = self._refresh_grant(client_id, secret, form, site)
            elif grant_type == GRANT_DEVICE_CODE:
                answer = self._device_code_grant(client_id, secret, form, site)
            elif grant_type == GRANT_AUTHORIZATION_CODE:
                answer = self._authorization_code_grant(client_id, secret, form, site)
            elif grant_type == GRANT_JWT_BEARER:
                answer = self._jwt_bearer_grant(form)
                client_id = answer.pop("_client_id")
            elif not grant_type:
                raise OAuthProblem("invalid_request", "grant_type is missing")
            else:
                raise OAuthProblem("unsupported_grant_type", f"{grant_type!r} is not supported")
            user = answer.pop("_user")
        except OAuthProblem as problem:
            self._record(TokenRequest(grant_type, client_id, user, problem.error, time.time()))
            raise
        self._record(TokenRequest(grant_type, client_id, user, None, time.time()))
        return answer

    def _client_credentials_grant(
        self, client_id: str | None, secret: str | None, form: Mapping[str, str]
    ) -> dict[str, Any]:
        client = self._authenticate(client_id, secret, required=True)
        if client.user is None:
            raise OAuthProblem("unauthorized_client", f"{client.client_id} has no mailbox to act for")
        with self._lock:
            return self._grant(client, client.user, form.get("scope") or self.default_scope, refresh=None)

    def _refresh_grant(
        self, client_id: str | None, secret: str | None, form: Mapping[str, str], site: _Site
    ) -> dict[str, Any]:
        client = self._authenticate(client_id, secret, required=False)
        presented = form.get("refresh_token", "")
        if not presented:
            raise OAuthProblem("invalid_request", "refresh_token is missing")
        now = time.time()
        with self._lock:
            found = self._tokens.get(presented)
            if found is None or found.kind != "refresh" or not found.live(now):
                raise OAuthProblem("invalid_grant", "the refresh token is invalid, expired or revoked")
            if found.client_id != client.client_id:
                raise OAuthProblem("invalid_grant", "the refresh token was issued to another client")
            refresh = presented
            if self.rotate_refresh_tokens:
                del self._tokens[presented]
                refresh = self._issue("refresh", client.client_id, found.user, found.scope, now)
            answer = self._grant(client, found.user, found.scope, refresh=refresh)
        return self._with_identity(answer, client, found.user, form.get("scope", ""), form, site)

    def _device_code_grant(
        self, client_id: str | None, secret: str | None, form: Mapping[str, str], site: _Site
    ) -> dict[str, Any]:
        """RFC 8628 section 3.4: the tokens once the user has allowed it; until then an error
        that tells the client to poll again, stop, or slow down (section 3.5)."""
        client = self._authenticate(client_id, secret, required=self._has_secret(client_id))
        presented = form.get("device_code", "")
        if not presented:
            raise OAuthProblem("invalid_request", "device_code is missing")
        now = time.time()
        with self._lock:
            found = self._device_codes.get(presented)
            if found is None or found.spent or found.client_id != client.client_id or found.tenant != site.tenant:
                error = "bad_verification_code" if site.tenant is not None else "invalid_grant"
                raise OAuthProblem(error, "the device_code is unknown, spent, or another client's or tenant's")
            if now >= found.expires_at:
                raise OAuthProblem("expired_token", "the device_code has expired: start again")
            too_soon = now - found.last_poll < found.interval
            found.last_poll = now
            if too_soon:
                found.interval += 5  # RFC 8628 section 3.5: every later poll waits 5 s more
                raise OAuthProblem("slow_down", f"poll at most every {found.interval:.0f} s")
            if found.declined:
                error = "authorization_declined" if found.flavor == "microsoft" else "access_denied"
                raise OAuthProblem(error, "the user declined the sign-in")
            if found.user is None:
                raise OAuthProblem("authorization_pending", "the user has not signed in yet")
            found.spent = True
            user, scopes = found.user, found.scope.split()
            refresh = self._issue("refresh", client.client_id, user, found.scope, now) if "offline_access" in scopes \
                else None
            answer = self._grant(client, user, _resource_scope(scopes, self.default_scope), refresh=refresh)
        return self._with_identity(answer, client, user, found.scope, form, site)

    def _authorization_code_grant(
        self, client_id: str | None, secret: str | None, form: Mapping[str, str], site: _Site
    ) -> dict[str, Any]:
        """RFC 6749 section 4.1.3 with RFC 7636 section 4.6: the code, once, by the client it
        was issued to, with the same ``redirect_uri`` and the verifier of its challenge."""
        client = self._authenticate(client_id, secret, required=self._has_secret(client_id))
        presented = form.get("code", "")
        if not presented:
            raise OAuthProblem("invalid_request", "code is missing")
        now = time.time()
        with self._lock:
            found = self._codes.get(presented)
            if found is None or now >= found.expires_at or found.client_id != client.client_id:
                raise OAuthProblem("invalid_grant", "the code is unknown, expired or another client's")
            if found.spent:  # RFC 6749 section 4.1.2: a code used twice revokes what it gave
                for token in found.issued:
                    self._tokens.pop(token, None)
                raise OAuthProblem("invalid_grant", "the code was used already")
            found.spent = True
            if form.get("redirect_uri") != found.redirect_uri:
                raise OAuthProblem("invalid_grant", "redirect_uri differs from the authorization request's")
            _check_pkce(found, form.get("code_verifier"))
            refresh = self._issue("refresh", client.client_id, found.user, found.scope, now) if found.offline \
                else None
            answer = self._grant(client, found.user, found.scope, refresh=refresh)
            found.issued = tuple(t for t in (answer["access_token"], refresh) if t)
        return self._with_identity(answer, client, found.user, found.scope, form, site, nonce=found.nonce)

    def _has_secret(self, client_id: str | None) -> bool:
        """A confidential client must authenticate; a public one (no secret) need not."""
        with self._lock:
            client = self._clients.get(client_id or "")
        return client is not None and client.secret is not None

    def _with_identity(self, answer: dict[str, Any], client: _Client, user: str, scope: str,
                       form: Mapping[str, str], site: _Site, *, nonce: str | None = None) -> dict[str, Any]:
        """A user's token answer, plus OpenID Connect's ``id_token`` when ``openid`` was asked
        for and MSAL's ``client_info`` when it sent ``client_info=1``."""
        if "openid" in scope.split():
            answer["id_token"] = self._id_token(client.client_id, user, site, nonce)
        if form.get("client_info") == "1":
            info = {"uid": _object_id(user), "utid": _object_id(site.tenant or "")}
            answer["client_info"] = _b64url_encode(json.dumps(info).encode())
        return answer

    def _jwt_bearer_grant(self, form: Mapping[str, str]) -> dict[str, Any]:
        assertion = form.get("assertion", "")
        if not assertion:
            raise OAuthProblem("invalid_request", "assertion is missing")
        header, claims, signed, signature = _parse_jwt(assertion)
        with self._lock:
            client = self._clients.get(str(claims.get("iss", "")))
        if client is None or client.key is None:
            raise OAuthProblem("invalid_grant", f"no service account {claims.get('iss')!r} with a key")
        if header.get("alg") != "RS256" or not _rs256_valid(client.key, signed, signature):
            raise OAuthProblem("invalid_grant", "invalid JWT signature")
        self._check_claims(claims)
        user = claims.get("sub") or client.user
        if not isinstance(user, str) or not user:
            raise OAuthProblem("invalid_grant", "the assertion names no user (sub) to act as")
        scope = claims.get("scope") or form.get("scope") or self.default_scope
        with self._lock:
            answer = self._grant(client, user, str(scope), refresh=None)
        answer["_client_id"] = client.client_id
        return answer

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        accepted = {self.token_url, GOOGLE_AUDIENCE} | ({self.https_url + "/token"} if self.tls_port else set())
        if not accepted.intersection(a for a in audiences if isinstance(a, str)):
            raise OAuthProblem("invalid_grant", f"aud must be {self.token_url}")
        now = time.time()
        exp, iat = claims.get("exp"), claims.get("iat", now)
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise OAuthProblem("invalid_grant", "exp (and iat) must be numbers")
        if exp <= now:
            raise OAuthProblem("invalid_grant", "the assertion has expired")
        if iat > now + CLOCK_SKEW or exp - iat > MAX_ASSERTION_LIFETIME:
            raise OAuthProblem("invalid_grant", "iat is in the future or the assertion lives too long")

    def _authenticate(self, client_id: str | None, secret: str | None, *, required: bool) -> _Client:
        """The client, if it exists and ``secret`` is right; a secret is optional for refresh."""
        with self._lock:
            client = self._clients.get(client_id or "")
        if client is None:
            raise OAuthProblem("invalid_client", f"unknown client {client_id!r}", status=401)
        if secret is None and not required:
            return client
        if client.secret is None or secret is None or not hmac.compare_digest(client.secret, secret):
            raise OAuthProblem("invalid_client", "client authentication failed", status=401)
        return client

    def _grant(self, client: _Client, user: str, scope: str, *, refresh: str | None) -> dict[str, Any]:
        """A token answer (the caller holds the lock); ``_user`` is taken out before it is sent."""
        now = time.time()
        answer: dict[str, Any] = {
            "access_token": self._issue("access", client.client_id, user, scope, now),
            "token_type": "Bearer",
            "expires_in": math.ceil(self.token_lifetime),
            "scope": scope,
            "_user": user,
        }
        if refresh is not None:
            answer["refresh_token"] = refresh
        return answer

    def _issue(self, kind: Literal["access", "refresh"], client_id: str, user: str, scope: str, now: float) -> str:
        token = secrets.token_urlsafe(32)
        expires_at = now + self.token_lifetime if kind == "access" else None
        self._tokens[token] = _Token(kind, client_id, user, scope, now, expires_at)
        return token

    def _record(self, request: TokenRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _introspection_endpoint(self, form: Mapping[str, str]) -> dict[str, Any]:
        with self._lock:
            self._introspections += 1
        return self.introspect(form.get("token", ""))

    def _revocation_endpoint(self, form: Mapping[str, str]) -> dict[str, Any]:
        self.revoke(form.get("token", ""))
        return {}  # RFC 7009: 200 whether or not the token was known

    def _discovery(self, site: _Site) -> dict[str, Any]:
        if self._down:
            raise OAuthProblem("temporarily_unavailable", "the identity provider is down", status=503)
        common = {
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": sorted({self.default_scope, *OIDC_SCOPES}),
            "code_challenge_methods_supported": ["S256", "plain"],
        }
        if site.tenant is not None:  # Microsoft's layout, as MSAL reads it
            prefix = f"{site.base}/{site.tenant}"
            return {
                "issuer": site.issuer,
                "token_endpoint": f"{prefix}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{prefix}/oauth2/v2.0/devicecode",
                "authorization_endpoint": f"{prefix}/oauth2/v2.0/authorize",
                "jwks_uri": f"{prefix}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                          "client_secret_basic"],
                "subject_types_supported": ["pairwise"],
                **common,
            }
        return {
            "issuer": site.base,
            "token_endpoint": f"{site.base}/token",
            "device_authorization_endpoint": f"{site.base}/device_authorization",
            "authorization_endpoint": f"{site.base}/authorize",
            "introspection_endpoint": f"{site.base}/introspect",
            "revocation_endpoint": f"{site.base}/revoke",
            "jwks_uri": f"{site.base}/jwks",
            "grant_types_supported": [GRANT_CLIENT_CREDENTIALS, GRANT_REFRESH_TOKEN, GRANT_JWT_BEARER,
                                      GRANT_DEVICE_CODE, GRANT_AUTHORIZATION_CODE],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "subject_types_supported": ["public"],
            **common,
        }

    # -- ID tokens ------------------------------------------------------------------------

    def _key(self) -> Any:
        from cryptography.hazmat.primitives.asymmetric import rsa

        with self._lock:
            if self._signing_key is None:
                self._signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return self._signing_key

    def _id_token(self, client_id: str, user: str, site: _Site, nonce: str | None = None) -> str:
        """An OpenID Connect ID token for ``user``, signed RS256 with the key at ``jwks_uri``."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        now = int(time.time())
        claims: dict[str, Any] = {"iss": site.issuer, "sub": _object_id(f"{client_id} {user}"), "aud": client_id,
                                  "iat": now, "nbf": now, "exp": now + 3600, "name": user.split("@")[0],
                                  "preferred_username": user, "email": user, "oid": _object_id(user), "ver": "2.0"}
        if site.tenant is not None:
            claims["tid"] = _object_id(site.tenant)
        if nonce:
            claims["nonce"] = nonce
        header = {"alg": "RS256", "typ": "JWT", "kid": ID_TOKEN_KEY_ID}
        signed = f"{_b64url_encode(json.dumps(header).encode())}.{_b64url_encode(json.dumps(claims).encode())}"
        signature = self._key().sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signed}.{_b64url_encode(signature)}"

    def _jwks(self) -> dict[str, Any]:
        numbers = self._key().public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": ID_TOKEN_KEY_ID,
                          "n": _b64url_encode(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
                          "e": _b64url_encode(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big"))}]}

    # -- the device authorization grant (RFC 8628) ----------------------------------------

    def _device_authorization_endpoint(self, form: Mapping[str, str], site: _Site) -> dict[str, Any]:
        if self._down:
            raise OAuthProblem("temporarily_unavailable", "the identity provider is down", status=503)
        client_id = form.get("client_id", "")
        with self._lock:
            known = client_id in self._clients
        if not known:
            raise OAuthProblem("invalid_client", f"unknown client {client_id!r}", status=401)
        scope = form.get("scope", "").strip()
        if not scope and site.tenant is not None:
            raise OAuthProblem("invalid_request", "scope is missing")
        device_code, now = secrets.token_urlsafe(32), time.time()
        with self._lock:
            user_code = self._new_user_code()
            self._device_codes[device_code] = _DeviceCode(
                device_code, user_code, client_id, scope or self.default_scope, "microsoft" if site.tenant else "rfc",
                site.tenant, now + self.device_code_lifetime, float(self.device_poll_interval))
            self._user_codes[user_code] = device_code
        verification = f"{site.base}/devicelogin"
        answer: dict[str, Any] = {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verification,
            "expires_in": math.ceil(self.device_code_lifetime),
            "interval": self.device_poll_interval,
            "message": f"To sign in, use a web browser to open the page {verification} and enter the code "
                       f"{user_code} to authenticate.",
        }
        if site.tenant is None:  # RFC 8628's optional field, which Microsoft does not send
            answer["verification_uri_complete"] = f"{verification}?{urlencode({'user_code': user_code})}"
        return answer

    def _new_user_code(self) -> str:
        """A user code no live device authorization has (the caller holds the lock)."""
        while True:
            code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
            if code not in self._user_codes:
                return code

    def _device_page(self, query: Mapping[str, str]) -> _Page:
        """The verification page: the code (filled in from ``verification_uri_complete``), the
        user name, Allow or Decline."""
        if self._down:
            raise _PageProblem("The sign-in service is unavailable; try again later.", status=503)
        code = escape(query.get("user_code", ""))
        return _Page(_html("Enter code", f"""<p>Enter the code displayed on your device.</p>
<form method="post" action="/devicelogin">
<p><label>Code <input name="otc" value="{code}" autocomplete="off" required></label></p>
<p><label>User name <input name="login" type="email" autocomplete="username"></label></p>
<p><button name="consent" value="allow">Allow</button> <button name="consent" value="deny">Decline</button></p>
</form>"""))

    def _device_login(self, form: Mapping[str, str]) -> _Page:
        """The user's answer at the verification page, for the device code's poller to hear."""
        if self._down:
            raise _PageProblem("The sign-in service is unavailable; try again later.", status=503)
        user_code = re.sub(r"[\s-]", "", form.get("otc", "")).upper()
        login, consent = form.get("login", "").strip(), form.get("consent", "")
        if consent not in ("allow", "deny"):
            raise _PageProblem("Choose Allow or Decline.")
        if consent == "allow" and not login:
            raise _PageProblem("Enter your user name to sign in.")
        with self._lock:
            found = self._device_codes.get(self._user_codes.get(user_code, ""))
            if (found is None or found.spent or found.user is not None or found.declined
                    or time.time() >= found.expires_at):
                raise _PageProblem("That code didn't work. Check the code and try again, or start the sign-in "
                                   "again on your device.")
            if consent == "deny":
                found.declined = True
            else:
                found.user = login
            client_id = found.client_id
        if consent == "deny":
            return _Page(_html("Sign-in declined", "<p>You declined the sign-in. You may close this window.</p>"))
        return _Page(_html("Signed in", f"<p>You have signed in to {escape(client_id)} as {escape(login)} on your "
                                        "device. You may now close this window.</p>"))

    # -- the authorization-code grant (RFC 6749 section 4.1, PKCE) ------------------------

    def _authorization_page(self, query: Mapping[str, str], path: str) -> _Page:
        """The consent page for a sound request; an error redirect or an error page otherwise."""
        if self._down:
            raise _PageProblem("The sign-in service is unavailable; try again later.", status=503)
        client_id, redirect_uri = self._check_authorization_client(query)
        error = _authorization_request_error(query)
        if error is not None:
            return _Page(location=_with_query(redirect_uri, _state(query) | {"error": error}))
        hidden = "\n".join(f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
                           for name, value in query.items() if name not in ("login", "consent"))
        return _Page(_html("Sign in", f"""<p>{escape(client_id)} wants to access your account:
{escape(query.get("scope", ""))}</p>
<form method="post" action="{escape(path)}">
{hidden}
<p><label>User name <input name="login" type="email" autocomplete="username"></label></p>
<p><button name="consent" value="allow">Allow</button> <button name="consent" value="deny">Cancel</button></p>
</form>"""))

    def _authorization_decision(self, form: Mapping[str, str]) -> _Page:
        """The consent form's answer: back to the client's loopback ``redirect_uri`` with
        ``code`` and ``state`` (and ``scope``, as Google adds), or ``error=access_denied``."""
        if self._down:
            raise _PageProblem("The sign-in service is unavailable; try again later.", status=503)
        client_id, redirect_uri = self._check_authorization_client(form)
        error = _authorization_request_error(form)
        consent, login = form.get("consent", ""), form.get("login", "").strip()
        if error is None and consent == "deny":
            error = "access_denied"
        if error is not None:
            return _Page(location=_with_query(redirect_uri, _state(form) | {"error": error}))
        if consent != "allow" or not login:
            raise _PageProblem("Enter your user name and choose Allow or Cancel.")
        scope = form["scope"]
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _AuthorizationCode(
                client_id, login, scope, redirect_uri, form.get("code_challenge") or None,
                form.get("code_challenge_method") or "plain",
                form.get("access_type") == "offline" or "offline_access" in scope.split(),
                time.time() + AUTHORIZATION_CODE_LIFETIME, nonce=form.get("nonce") or None)
        return _Page(location=_with_query(redirect_uri, _state(form) | {"code": code, "scope": scope}))

    def _check_authorization_client(self, params: Mapping[str, str]) -> tuple[str, str]:
        """(client_id, redirect_uri) when both can be trusted with a redirect: a known client
        and a loopback ``redirect_uri`` (RFC 8252 section 7.3: any port); else an error page."""
        client_id, redirect_uri = params.get("client_id", ""), params.get("redirect_uri", "")
        with self._lock:
            known = client_id in self._clients
        if not known:
            raise _PageProblem(f"Error 401: invalid_client. The OAuth client {client_id!r} was not found.",
                               status=401)
        if not _loopback_redirect(redirect_uri):
            raise _PageProblem(f"Error 400: redirect_uri_mismatch. {redirect_uri!r} is not a loopback "
                               "address (http://127.0.0.1:PORT/, http://localhost:PORT/).")
        return client_id, redirect_uri


def _client_credentials(form: Mapping[str, str], authorization: str | None) -> tuple[str | None, str | None]:
    """(client_id, client_secret) from HTTP Basic or the form body (RFC 6749 section 2.3.1)."""
    if authorization is None or not authorization.lower().startswith("basic "):
        return form.get("client_id"), form.get("client_secret")
    if "client_secret" in form:
        raise OAuthProblem("invalid_request", "use one client authentication method, not two")
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        client_id, secret = decoded.split(":", 1)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise OAuthProblem("invalid_client", "malformed Basic credentials", status=401) from error
    return unquote_plus(client_id), unquote_plus(secret)


# -- sign-in helpers -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Site:
    """Where a request came in: the listener's base URL, and the tenant under Microsoft's
    layout (``/{tenant}/oauth2/v2.0/…``; None at the root)."""

    base: str
    tenant: str | None = None

    @property
    def issuer(self) -> str:
        return f"{self.base}/{self.tenant}/v2.0" if self.tenant is not None else self.base


@dataclass(frozen=True)
class _Page:
    """A browser page (HTML), or a 302 to ``location``."""

    body: str = ""
    status: int = 200
    location: str | None = None


def _html(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title></head>\n'
            f"<body><h1>{escape(title)}</h1>\n{body}\n</body></html>\n")


def _state(params: Mapping[str, str]) -> dict[str, str]:
    """The request's ``state``, to be sent back verbatim (RFC 6749 section 4.1.2)."""
    return {"state": params["state"]} if "state" in params else {}


def _with_query(uri: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(query="&".join(q for q in (parts.query, urlencode(params)) if q)))


def _loopback_redirect(uri: str) -> bool:
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - a malformed port raises ValueError
    except ValueError:
        return False
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1") and not parts.fragment


def _authorization_request_error(params: Mapping[str, str]) -> str | None:
    """The RFC 6749 section 4.1.2.1 error of an authorization request (None: it is sound)."""
    if params.get("response_type") != "code":
        return "unsupported_response_type"
    if not params.get("scope", "").strip():
        return "invalid_scope"
    challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
    if (method and not challenge) or (method or "plain") not in ("S256", "plain"):
        return "invalid_request"  # RFC 7636 section 4.4.1
    if challenge is not None and not PKCE_VERIFIER.fullmatch(challenge):
        return "invalid_request"
    return None


def _check_pkce(code: _AuthorizationCode, verifier: str | None) -> None:
    """RFC 7636 section 4.6: the verifier must turn into the request's challenge."""
    if code.challenge is None:
        return
    if not verifier or not PKCE_VERIFIER.fullmatch(verifier):
        raise OAuthProblem("invalid_grant", "code_verifier is missing or malformed")
    expected = _b64url_encode(hashlib.sha256(verifier.encode()).digest()) if code.challenge_method == "S256" \
        else verifier
    if not hmac.compare_digest(expected, code.challenge):
        raise OAuthProblem("invalid_grant", "code_verifier does not match the code_challenge")


def _resource_scope(scopes: list[str], default: str) -> str:
    """The scopes an access token is for: the requested ones without OpenID Connect's."""
    return " ".join(scope for scope in scopes if scope not in OIDC_SCOPES) or default


def _object_id(name: str) -> str:
    """A stable GUID for a user or tenant name, as Microsoft's ``oid`` and ``tid`` are GUIDs."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mailproc-devstack:{name.lower()}"))


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- JWT and RS256 with the standard library ------------------------------------------------


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parse_jwt(assertion: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """(header, claims, signed bytes, signature) of a compact JWS, or invalid_grant."""
    parts = assertion.split(".")
    try:
        if len(parts) != 3 or not all(re.fullmatch(r"[A-Za-z0-9_-]+", p) for p in parts):
            raise ValueError("not three base64url parts")
        header, claims = json.loads(_b64url(parts[0])), json.loads(_b64url(parts[1]))
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise ValueError("header and claims must be JSON objects")
        return header, claims, f"{parts[0]}.{parts[1]}".encode(), _b64url(parts[2])
    except (ValueError, binascii.Error) as error:
        raise OAuthProblem("invalid_grant", f"malformed JWT: {error}") from error


# DER of DigestInfo{sha256} (RFC 8017 section 9.2, note 1), which precedes the hash.
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
_RSA_ENCRYPTION_OID = bytes.fromhex("2a864886f70d010101")


def _rs256_valid(key: _RsaKey, signed: bytes, signature: bytes) -> bool:
    """RSASSA-PKCS1-v1_5 verification with SHA-256 (RFC 8017 section 8.2.2)."""
    size = (key.n.bit_length() + 7) // 8
    if len(signature) != size:
        return False
    value = int.from_bytes(signature, "big")
    if value >= key.n:
        return False
    encoded = pow(value, key.e, key.n).to_bytes(size, "big")
    suffix = _SHA256_DIGEST_INFO + hashlib.sha256(signed).digest()
    expected = b"\x00\x01" + b"\xff" * (size - len(suffix) - 3) + b"\x00" + suffix
    return hmac.compare_digest(encoded, expected)


def _der(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, contents, position after) of the DER element at ``pos``."""
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, data[pos : pos + length], pos + length


def _der_items(data: bytes) -> list[tuple[int, bytes]]:
    items, pos = [], 0
    while pos < len(data):
        tag, contents, pos = _der(data, pos)
        items.append((tag, contents))
    return items


def _rsa_key_from_pem(pem: str | bytes) -> _RsaKey:
    """The public half (n, e) of an RSA key in PEM: SPKI, PKCS#1 public or private, PKCS#8."""
    text = pem.decode() if isinstance(pem, bytes) else pem
    match = re.search(r"-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----", text, re.S)
    if match is None:
        raise ValueError("not a PEM key")
    label, der = match[1], base64.b64decode("".join(match[2].split()))
    try:
        items = _der_items(_der(der, 0)[1])
        if label == "PUBLIC KEY":  # SubjectPublicKeyInfo: {algorithm, BIT STRING {n, e}}
            _check_rsa_algorithm(items[0][1])
            items = _der_items(_der(items[1][1][1:], 0)[1])
        elif label == "PRIVATE KEY":  # PKCS#8: {version, algorithm, OCTET STRING {RSAPrivateKey}}
            _check_rsa_algorithm(items[1][1])
            items = _der_items(_der(items[2][1], 0)[1])[1:]
        elif label == "RSA PRIVATE KEY":  # PKCS#1: {version, n, e, d, …}
            items = items[1:]
        elif label != "RSA PUBLIC KEY":
            raise ValueError(f"unsupported PEM label {label!r}")
        return _RsaKey(int.from_bytes(items[0][1], "big"), int.from_bytes(items[1][1], "big"))
    except IndexError as error:
        raise ValueError("malformed RSA key") from error


def _check_rsa_algorithm(algorithm: bytes) -> None:
    if _der_items(algorithm)[0][1] != _RSA_ENCRYPTION_OID:
        raise ValueError("not an RSA key")


# -- HTTP ----------------------------------------------------------------------------------


def _self_signed(directory: Path) -> tuple[str, str]:
    """A throwaway certificate for 127.0.0.1 (IP and DNS names), valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST)),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def _pairs(text: str) -> dict[str, str]:
    """A form body or query string; a repeated parameter is an error (RFC 6749 section 3.2)."""
    try:
        pairs = parse_qsl(text, strict_parsing=False, max_num_fields=50)
    except ValueError as error:
        raise OAuthProblem("invalid_request", "malformed form") from error
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise OAuthProblem("invalid_request", f"{name} is repeated")
        form[name] = value
    return form


class _Server(ThreadingHTTPServer):
    provider: IdentityProvider
    scheme: str  # "http" or "https": discovery names the endpoints of the listener asked


class _Handler(BaseHTTPRequestHandler):
    """One HTTP/1.0 exchange per connection: nothing lingers after the answer."""

    server: _Server
    timeout = 10  # a client that sends nothing does not hold a thread for long
    server_version = "mailproc-devstack-idp/1"

    def _route(self) -> tuple[str, str, _Site]:
        """(the endpoint's name, the query string, the site): Microsoft's paths under a tenant
        (``/{tenant}/oauth2/v2.0/token``) name the same endpoints as the root's."""
        path, _, query = self.path.partition("?")
        provider = self.server.provider
        base = provider.https_url if self.server.scheme == "https" else provider.url
        match = _MICROSOFT_PATH.fullmatch(path)
        if match is not None:
            return match[2], query, _Site(base, match[1])
        if path.endswith("/.well-known/openid-configuration"):
            tenant = re.fullmatch(r"/([^/]+)/v2\.0/\.well-known/openid-configuration", path)
            return "discovery", query, _Site(base, tenant[1] if tenant else None)
        if path.endswith("/discovery/v2.0/keys"):
            return "jwks", query, _Site(base)
        names = {"/token": "token", "/device_authorization": "devicecode", "/authorize": "authorize",
                 "/devicelogin": "devicelogin", "/introspect": "introspect", "/revoke": "revoke", "/jwks": "jwks"}
        return names.get(path, ""), query, _Site(base)

    def do_GET(self) -> None:
        provider = self.server.provider
        name, query, site = self._route()
        path = self.path.partition("?")[0]
        if name == "discovery":
            self._answer(lambda: provider._discovery(site))
        elif name == "jwks":
            self._answer(provider._jwks)
        elif name == "authorize":
            self._page(lambda: provider._authorization_page(_pairs(query), path))
        elif name == "devicelogin":
            self._page(lambda: provider._device_page(_pairs(query)))
        else:
            self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:
        provider = self.server.provider
        name, _, site = self._route()
        if name == "token":
            authorization = self.headers.get("Authorization")
            self._answer(lambda: provider._token_endpoint(self._form(), authorization, site))
        elif name == "devicecode":
            self._answer(lambda: provider._device_authorization_endpoint(self._form(), site))
        elif name == "devicelogin":
            self._page(lambda: provider._device_login(self._form()))
        elif name == "authorize":
            self._page(lambda: provider._authorization_decision(self._form()))
        elif name == "introspect":
            self._answer(lambda: provider._introspection_endpoint(self._form()))
        elif name == "revoke":
            self._answer(lambda: provider._revocation_endpoint(self._form()))
        else:
            self._send(404, {"error": "not_found"})

    def _form(self) -> dict[str, str]:
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise OAuthProblem("invalid_request", "the body must be application/x-www-form-urlencoded")
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= MAX_BODY:
            raise OAuthProblem("invalid_request", "body too large")
        try:
            return _pairs(self.rfile.read(length).decode())
        except UnicodeDecodeError as error:
            raise OAuthProblem("invalid_request", "malformed form body") from error

    def _page(self, endpoint: Callable[[], _Page]) -> None:
        """A browser page: HTML, or a redirect; a problem is a page too, never JSON."""
        try:
            page = endpoint()
        except _PageProblem as problem:
            page = _Page(_html("Sign-in error", f"<p>{escape(problem.text)}</p>"), problem.status)
        except OAuthProblem as problem:
            page = _Page(_html("Sign-in error", f"<p>{escape(problem.description)}</p>"), problem.status)
        data = page.body.encode()
        self.send_response(302 if page.location else page.status)
        if page.location:
            self.send_header("Location", page.location)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Frame-Options", "DENY")  # a consent page is never framed (clickjacking)
        self.end_headers()
        self.wfile.write(data)

    def _answer(self, endpoint: Callable[[], Mapping[str, Any]]) -> None:
        try:
            body = endpoint()
        except OAuthProblem as problem:
            extra = {"Retry-After": "1"} if problem.status == 503 else {}
            if problem.status == 401:
                extra["WWW-Authenticate"] = 'Basic realm="devstack"'
            self._send(problem.status, {"error": problem.error, "error_description": problem.description}, extra)
            return
        self._send(200, body)

    def _send(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Pragma", "no-cache")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("idp %s: " + format, self.address_string(), *args)


__all__ = [
    "GRANT_AUTHORIZATION_CODE",
    "GRANT_CLIENT_CREDENTIALS",
    "GRANT_DEVICE_CODE",
    "GRANT_JWT_BEARER",
    "GRANT_REFRESH_TOKEN",
    "IdentityProvider",
    "IdentityProviderError",
    "TokenRequest",
]
