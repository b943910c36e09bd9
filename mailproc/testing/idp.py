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
* ``POST /revoke`` (RFC 7009) and ``GET /.well-known/openid-configuration`` (discovery; also
  under any prefix, e.g. ``/tenant/v2.0/.well-known/openid-configuration``).

There is no authorization endpoint: a user's consent is :meth:`IdentityProvider.issue_refresh_token`.
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote_plus

from mailproc.errors import MailprocError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
GRANT_CLIENT_CREDENTIALS = "client_credentials"
GRANT_REFRESH_TOKEN = "refresh_token"
GRANT_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_SCOPE = "https://mail.google.com/"
MAX_BODY = 64 * 1024
POLL_INTERVAL = 0.05  # how soon stop() is noticed by the serving thread
MAX_ASSERTION_LIFETIME = 3600  # Google refuses a service-account JWT valid for longer
CLOCK_SKEW = 60  # seconds an assertion's iat may lie in the future


# google-auth always signs its JWT for Google's own token endpoint, whatever token_uri says.
GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"


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


class OAuthProblem(Exception):
    """An RFC 6749 error answer: raised inside a request, turned into JSON by the handler."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error, self.description, self.status = error, description, status


class IdentityProvider:
    """An OAuth 2.0 authorization server on ``127.0.0.1:port`` (0 = a free port).

    ``token_lifetime`` (seconds, may be fractional) and ``rotate_refresh_tokens`` (each refresh
    grant returns a new refresh token and invalidates the old one; without it the same one is
    returned) are plain attributes: tests may change them while it runs.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        token_lifetime: float = 3600.0,
        rotate_refresh_tokens: bool = False,
        default_scope: str = DEFAULT_SCOPE,
        tls: bool = False,
    ) -> None:
        if token_lifetime <= 0:
            raise ValueError("token_lifetime must be positive")
        self.port = port
        self.token_lifetime = token_lifetime
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.default_scope = default_scope
        self._lock = threading.Lock()
        self._clients: dict[str, _Client] = {}
        self._tokens: dict[str, _Token] = {}
        self._requests: list[TokenRequest] = []
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

    def _token_endpoint(self, form: Mapping[str, str], authorization: str | None) -> dict[str, Any]:
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
                answer = self._refresh_grant(client_id, secret, form)
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

    def _refresh_grant(self, client_id: str | None, secret: str | None, form: Mapping[str, str]) -> dict[str, Any]:
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
            return self._grant(client, found.user, found.scope, refresh=refresh)

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

    def _discovery(self, base: str | None = None) -> dict[str, Any]:
        if self._down:
            raise OAuthProblem("temporarily_unavailable", "the identity provider is down", status=503)
        base = base or self.url
        return {
            "issuer": base,
            "token_endpoint": f"{base}/token",
            "introspection_endpoint": f"{base}/introspect",
            "revocation_endpoint": f"{base}/revoke",
            # Not served (there is no browser here); MSAL insists that discovery names one.
            "authorization_endpoint": f"{base}/authorize",
            "grant_types_supported": [GRANT_CLIENT_CREDENTIALS, GRANT_REFRESH_TOKEN, GRANT_JWT_BEARER],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "scopes_supported": [self.default_scope],
        }


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


class _Server(ThreadingHTTPServer):
    provider: IdentityProvider
    scheme: str  # "http" or "https": discovery names the endpoints of the listener asked


class _Handler(BaseHTTPRequestHandler):
    """One HTTP/1.0 exchange per connection: nothing lingers after the answer."""

    server: _Server
    timeout = 10  # a client that sends nothing does not hold a thread for long
    server_version = "mailproc-devstack-idp/1"

    def do_GET(self) -> None:
        if self.path.split("?")[0].endswith("/.well-known/openid-configuration"):
            provider = self.server.provider
            base = provider.https_url if self.server.scheme == "https" else provider.url
            self._answer(lambda: provider._discovery(base))
        else:
            self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:
        provider = self.server.provider
        path = self.path.split("?")[0]
        if path == "/token":
            authorization = self.headers.get("Authorization")
            self._answer(lambda: provider._token_endpoint(self._form(), authorization))
        elif path == "/introspect":
            self._answer(lambda: provider._introspection_endpoint(self._form()))
        elif path == "/revoke":
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
            pairs = parse_qsl(self.rfile.read(length).decode(), strict_parsing=False, max_num_fields=50)
        except (UnicodeDecodeError, ValueError) as error:
            raise OAuthProblem("invalid_request", "malformed form body") from error
        form: dict[str, str] = {}
        for name, value in pairs:
            if name in form:  # RFC 6749 section 3.2: parameters must not be repeated
                raise OAuthProblem("invalid_request", f"{name} is repeated")
            form[name] = value
        return form

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
    "GRANT_CLIENT_CREDENTIALS",
    "GRANT_JWT_BEARER",
    "GRANT_REFRESH_TOKEN",
    "IdentityProvider",
    "IdentityProviderError",
    "TokenRequest",
]
