"""``mailproc oauth login``: sign the mailbox's user in once, interactively, for delegated
access, and keep the refresh token in the state directory (mailproc renews it from then on).

* microsoft: the device-code flow (MSAL): open the printed address on any device, type the
  code, sign in as the mailbox's user;
* google: the installed-app loopback flow (google-auth-oauthlib): open the printed address in
  a browser on this machine (or through an SSH tunnel to the printed port), allow access.
  (Google's device flow does not allow the mail scope.)

Every way a sign-in can fail (declined, expired, refused, unreachable) is an
:class:`~mailproc.errors.OAuthError` that says what to do next; nothing is stored then.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC
from typing import Any

import requests

from mailproc.config import OAuth2Config
from mailproc.errors import OAuthError
from mailproc.oauth2.providers import (
    GOOGLE_SCOPE,
    GOOGLE_TOKEN_URL,
    MICROSOFT_AUTHORITY,
    MICROSOFT_DELEGATED_SCOPES,
    Grant,
    http_session,
)

GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
GOOGLE_LOGIN_TIMEOUT = 600.0  # seconds the loopback listener waits for the browser
AGAIN = "run 'mailproc oauth login' again"
# What the identity platform's answer means for the operator (RFC 8628 section 3.5 and
# Microsoft's names for the same). MSAL stops polling when the code expires by its own clock,
# and then returns the last answer it had, authorization_pending.
SIGN_IN_ERRORS = {
    "authorization_declined": "the sign-in was declined at the verification page",
    "access_denied": "the sign-in was declined",
    "expired_token": f"the code expired before anyone signed in with it: {AGAIN}",
    "authorization_pending": f"the code expired before anyone signed in with it: {AGAIN}",
    "bad_verification_code": f"the identity platform does not know this code (any more): {AGAIN}",
    "invalid_grant": f"the identity platform refused the code: {AGAIN}",
}


def sign_in_error(error: str | None, description: str | None) -> OAuthError:
    first_line = (description or "").strip().splitlines()[:1]
    detail = f"{error}: {first_line[0]}" if error and first_line else error or "no answer"
    meaning = SIGN_IN_ERRORS.get(error or "")
    return OAuthError(f"sign-in failed: {meaning} ({detail})"[:400] if meaning else f"sign-in failed: {detail}"[:400],
                      permanent=True)


def microsoft_device_login(cfg: OAuth2Config, *, say: Callable[[str], None],
                           clock: Callable[[], float] = time.time) -> Grant:
    import msal

    authority = cfg.authority.rstrip("/") or MICROSOFT_AUTHORITY + cfg.tenant_id
    options = {"instance_discovery": False} if cfg.authority else {}
    scopes = cfg.scope.split() if cfg.scope else list(MICROSOFT_DELEGATED_SCOPES)
    try:
        app = msal.PublicClientApplication(cfg.client_id, authority=authority, http_client=http_session(cfg),
                                           timeout=cfg.timeout, **options)
        flow = app.initiate_device_flow(scopes=scopes)
        if "user_code" not in flow:
            raise OAuthError(f"device code refused: {flow.get('error')}: {flow.get('error_description', '')}"[:300],
                             permanent=True)
        say(str(flow["message"]))
        result = app.acquire_token_by_device_flow(flow)  # polls until signed in, declined or expired
    except (ValueError, requests.RequestException) as exc:  # discovery failed, unreachable, 5xx
        raise OAuthError(f"authority {authority}: {type(exc).__name__}: {exc}"[:300]) from exc
    if "access_token" not in result:
        raise sign_in_error(result.get("error"), result.get("error_description"))
    if not result.get("refresh_token"):
        raise OAuthError("signed in, but no refresh token came back (offline_access refused?)", permanent=True)
    claims = result.get("id_token_claims") or {}
    return Grant(access_token=result["access_token"], expires_at=clock() + float(result.get("expires_in", 3600)),
                 refresh_token=result["refresh_token"], identity=str(claims.get("preferred_username") or ""))


def google_installed_app_login(cfg: OAuth2Config, *, say: Callable[[str], None], port: int = 0,
                               timeout: float = GOOGLE_LOGIN_TIMEOUT) -> Grant:
    from google_auth_oauthlib.flow import InstalledAppFlow, WSGITimeoutError
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error

    class Flow(InstalledAppFlow):  # type: ignore[misc]
        """The token request verifies TLS with [oauth2] ca_file, as every other token request
        of mailproc does (an explicit ``verify``: a session's loses to $REQUESTS_CA_BUNDLE)."""

        def fetch_token(self, **kwargs: Any) -> Any:
            if cfg.ca_file:
                kwargs.setdefault("verify", cfg.ca_file)
            return super().fetch_token(**kwargs)

    token_uri = cfg.token_url or GOOGLE_TOKEN_URL
    client = {"installed": {"client_id": cfg.client_id, "client_secret": cfg.client_secret,
                            "auth_uri": cfg.auth_url or GOOGLE_AUTH_URI, "token_uri": token_uri}}
    flow = Flow.from_client_config(client, scopes=cfg.scope.split() if cfg.scope else [GOOGLE_SCOPE])
    try:
        creds = flow.run_local_server(port=port, open_browser=False, access_type="offline", prompt="consent",
                                      timeout_seconds=timeout,
                                      authorization_prompt_message="Open this address in a browser and allow "
                                      "access:\n{url}", success_message="mailproc: signed in; you may close this "
                                      "window.")
    except WSGITimeoutError as exc:
        raise OAuthError(f"nobody came back from the browser within {timeout:.0f} s: {AGAIN}", permanent=True) from exc
    except OAuth2Error as exc:  # the redirect said error=…, or the token endpoint refused the code
        raise sign_in_error(exc.error, exc.description) from exc
    except requests.RequestException as exc:
        raise OAuthError(f"{token_uri}: {type(exc).__name__}") from exc
    except OSError as exc:  # the loopback port is taken
        raise OAuthError(f"cannot listen on localhost:{port} for the browser: {exc}", permanent=True) from exc
    if not creds.refresh_token:
        raise OAuthError("Google returned no refresh token (was offline access refused?)", permanent=True)
    say("signed in")
    # google-auth keeps expiry as a naive datetime in UTC.
    expiry = creds.expiry.replace(tzinfo=UTC).timestamp() if creds.expiry else time.time() + 3600
    return Grant(access_token=creds.token, expires_at=expiry, refresh_token=creds.refresh_token, identity="")
