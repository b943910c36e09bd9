"""Where access tokens come from: one :class:`Provider` per kind of identity platform.

* ``generic``: any RFC 6749 token endpoint, with the client-credentials grant or a refresh
  token (section 6);
* ``microsoft``: MSAL — app-only access (client credentials with a secret or a certificate)
  to a shared mailbox, as Exchange Online intends a daemon to work, or delegated access with
  a refresh token from ``mailproc oauth login`` (device-code flow);
* ``google``: google-auth — a service account with domain-wide delegation acting as the
  mailbox, or an installed-app refresh token from ``mailproc oauth login``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any, Protocol

import requests

from mailproc.config import OAuth2Config
from mailproc.errors import OAuthError

MICROSOFT_AUTHORITY = "https://login.microsoftonline.com/"
# App-only access to Exchange Online's IMAP and SMTP: the resource's .default scope.
MICROSOFT_APP_SCOPE = "https://outlook.office365.com/.default"
# Delegated access (a user signed in once with the device code): IMAP and SMTP, renewable.
MICROSOFT_DELEGATED_SCOPES = ("https://outlook.office.com/IMAP.AccessAsUser.All",
                              "https://outlook.office.com/SMTP.Send")
GOOGLE_SCOPE = "https://mail.google.com/"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
# RFC 6749 errors that no retry will cure: the operator must fix the client or log in again.
PERMANENT_ERRORS = frozenset({"invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
                              "invalid_scope", "access_denied"})


@dataclass(frozen=True)
class Grant:
    access_token: str
    expires_at: float                # seconds since the epoch
    refresh_token: str | None        # a new refresh token, when the provider rotated it
    identity: str                    # who the token acts as (for check-config and the logs)


class Provider(Protocol):
    name: str

    def fetch(self, refresh_token: str | None) -> Grant:
        """A fresh access token: by the refresh token when there is one, else by the
        provider's grant for a daemon. Raises OAuthError."""
        ...


class _PinnedCaSession(requests.Session):
    """A session that verifies TLS with ``ca_file`` on every request. (``Session.verify`` alone
    loses to $REQUESTS_CA_BUNDLE for requests made without an explicit ``verify``, as MSAL and
    google-auth make theirs.)"""

    def __init__(self, ca_file: str) -> None:
        super().__init__()
        self.ca_file = ca_file

    def request(self, method: str | bytes, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        kwargs.setdefault("verify", self.ca_file)
        return super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]


def http_session(cfg: OAuth2Config) -> requests.Session:
    return _PinnedCaSession(cfg.ca_file) if cfg.ca_file else requests.Session()


def _expires_at(expires_in: Any, clock: Callable[[], float]) -> float:
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        seconds = 3600.0  # RFC 6749 makes expires_in optional; an hour is what providers give
    return clock() + max(seconds, 0.0)


def _oauth_error(payload: dict[str, Any], fallback: str) -> OAuthError:
    code = str(payload.get("error") or "")
    text = str(payload.get("error_description") or "").splitlines()[0:1]
    detail = f"{code}: {text[0]}" if code and text else code or fallback
    return OAuthError(detail[:300], permanent=code in PERMANENT_ERRORS)


class GenericProvider:
    """RFC 6749 section 4.4 (client credentials) and section 6 (refresh token), form-encoded
    POSTs to ``token_url`` with the client authenticated in the body (section 2.3.1)."""

    name = "generic"

    def __init__(self, cfg: OAuth2Config, *, user: str, clock: Callable[[], float] = time.time) -> None:
        self.cfg, self.user, self.clock = cfg, user, clock
        self.session = http_session(cfg)

    def fetch(self, refresh_token: str | None) -> Grant:
        cfg = self.cfg
        form = {"client_id": cfg.client_id}
        if cfg.client_secret:
            form["client_secret"] = cfg.client_secret
        if refresh_token:
            form.update(grant_type="refresh_token", refresh_token=refresh_token)
        elif cfg.client_secret:
            form["grant_type"] = "client_credentials"
        else:
            raise OAuthError("no refresh token and no client secret: nothing to ask a token with", permanent=True)
        if cfg.scope:
            form["scope"] = cfg.scope
        try:
            response = self.session.post(cfg.token_url, data=form, timeout=cfg.timeout,
                                         headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            raise OAuthError(f"{cfg.token_url}: {type(exc).__name__}") from exc
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if response.status_code != 200 or not payload.get("access_token"):
            raise _oauth_error(payload if isinstance(payload, dict) else {}, f"HTTP {response.status_code}")
        return Grant(access_token=str(payload["access_token"]),
                     expires_at=_expires_at(payload.get("expires_in"), self.clock),
                     refresh_token=str(payload["refresh_token"]) if payload.get("refresh_token") else None,
                     identity=self.user)


class MicrosoftProvider:
    """Microsoft Entra ID through MSAL: app-only (client credentials) unless a refresh token
    was given, then delegated."""

    name = "microsoft"

    def __init__(self, cfg: OAuth2Config, *, user: str, clock: Callable[[], float] = time.time) -> None:
        import msal

        self.cfg, self.user, self.clock = cfg, user, clock
        authority = cfg.authority.rstrip("/") or MICROSOFT_AUTHORITY + cfg.tenant_id
        options: dict[str, Any] = {"authority": authority, "http_client": http_session(cfg), "timeout": cfg.timeout}
        if cfg.authority:  # a sovereign cloud or a stand-in: no instance discovery at Microsoft
            options["instance_discovery"] = False
        credential: Any = None
        if cfg.certificate_file:
            credential = {"private_key": Path(cfg.certificate_file).read_text(encoding="utf-8"),
                          "thumbprint": cfg.certificate_thumbprint}
        elif cfg.client_secret:
            credential = cfg.client_secret
        try:
            self.app: Any = (msal.ConfidentialClientApplication(cfg.client_id, client_credential=credential, **options)
                             if credential is not None else msal.PublicClientApplication(cfg.client_id, **options))
        except (ValueError, requests.RequestException) as exc:
            raise OAuthError(f"authority {authority}: {exc}"[:300]) from exc

    def fetch(self, refresh_token: str | None) -> Grant:
        try:
            if refresh_token:
                scopes = self.cfg.scope.split() if self.cfg.scope else list(MICROSOFT_DELEGATED_SCOPES)
                result = self.app.acquire_token_by_refresh_token(refresh_token, scopes=scopes)
            else:
                if not hasattr(self.app, "acquire_token_for_client"):
                    raise OAuthError("app-only access needs a client secret or a certificate", permanent=True)
                scopes = self.cfg.scope.split() if self.cfg.scope else [MICROSOFT_APP_SCOPE]
                result = self.app.acquire_token_for_client(scopes=scopes)
        except requests.RequestException as exc:
            raise OAuthError(f"Microsoft identity platform: {type(exc).__name__}") from exc
        if not isinstance(result, dict) or "access_token" not in result:
            raise _oauth_error(result if isinstance(result, dict) else {}, "no token")
        claims = result.get("id_token_claims") or {}
        identity = str(claims.get("preferred_username") or self.user)
        if not refresh_token:
            identity = f"{self.user} (app {self.cfg.client_id})"
        return Grant(access_token=str(result["access_token"]),
                     expires_at=_expires_at(result.get("expires_in"), self.clock),
                     refresh_token=result.get("refresh_token") or None, identity=identity)


class GoogleProvider:
    """Google through google-auth: a service account acting as the mailbox (domain-wide
    delegation), or an installed-app refresh token."""

    name = "google"

    def __init__(self, cfg: OAuth2Config, *, user: str, clock: Callable[[], float] = time.time) -> None:
        self.cfg, self.user, self.clock = cfg, user, clock
        self.session = http_session(cfg)

    def fetch(self, refresh_token: str | None) -> Grant:
        import google.auth.exceptions
        import google.auth.transport.requests
        from google.oauth2 import credentials as user_credentials
        from google.oauth2 import service_account

        cfg = self.cfg
        scopes = cfg.scope.split() if cfg.scope else [GOOGLE_SCOPE]
        creds: Any
        if refresh_token:
            creds = user_credentials.Credentials(  # type: ignore[no-untyped-call]
                None, refresh_token=refresh_token,
                                                 token_uri=cfg.token_url or GOOGLE_TOKEN_URL,
                                                 client_id=cfg.client_id, client_secret=cfg.client_secret or None,
                                                 scopes=scopes)
            identity = self.user
        else:
            try:
                creds = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                    cfg.service_account_file, scopes=scopes, subject=self.user)
            except (OSError, ValueError) as exc:
                raise OAuthError(f"service account key {cfg.service_account_file}: {exc}"[:300],
                                 permanent=True) from exc
            identity = f"{self.user} (service account {creds.service_account_email})"
        try:
            creds.refresh(google.auth.transport.requests.Request(session=self.session))
        except google.auth.exceptions.RefreshError as exc:
            payload = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
            raise _oauth_error(payload, str(exc.args[0])[:200] if exc.args else "refused") from exc
        except google.auth.exceptions.TransportError as exc:
            raise OAuthError(f"Google token endpoint: {type(exc).__name__}") from exc
        expiry = creds.expiry.replace(tzinfo=UTC).timestamp() if creds.expiry else None
        new_refresh = getattr(creds, "refresh_token", None)
        return Grant(access_token=str(creds.token),
                     expires_at=expiry if expiry is not None else _expires_at(None, self.clock),
                     refresh_token=new_refresh if refresh_token and new_refresh != refresh_token else None,
                     identity=identity)


def build_provider(cfg: OAuth2Config, *, user: str, clock: Callable[[], float] = time.time) -> Provider:
    kinds: dict[str, Callable[..., Provider]] = {"generic": GenericProvider, "microsoft": MicrosoftProvider,
                                                 "google": GoogleProvider}
    return kinds[cfg.provider](cfg, user=user, clock=clock)
