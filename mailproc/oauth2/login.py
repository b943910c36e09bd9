"""``mailproc oauth login``: sign the mailbox's user in once, interactively, for delegated
access, and keep the refresh token in the state directory (mailproc renews it from then on).

* microsoft: the device-code flow (MSAL): open the printed address on any device, type the
  code, sign in as the mailbox's user;
* google: the installed-app loopback flow (google-auth-oauthlib): open the printed address in
  a browser on this machine (or through an SSH tunnel to the printed port), allow access.
  (Google's device flow does not allow the mail scope.)
"""

from __future__ import annotations

import time
from collections.abc import Callable

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


def microsoft_device_login(cfg: OAuth2Config, *, say: Callable[[str], None],
                           clock: Callable[[], float] = time.time) -> Grant:
    import msal

    authority = cfg.authority.rstrip("/") or MICROSOFT_AUTHORITY + cfg.tenant_id
    options = {"instance_discovery": False} if cfg.authority else {}
    app = msal.PublicClientApplication(cfg.client_id, authority=authority, http_client=http_session(cfg),
                                       timeout=cfg.timeout, **options)
    scopes = cfg.scope.split() if cfg.scope else list(MICROSOFT_DELEGATED_SCOPES)
    flow = app.initiate_device_flow(scopes=scopes)
    if "user_code" not in flow:
        raise OAuthError(f"device code refused: {flow.get('error')}: {flow.get('error_description', '')}"[:300],
                         permanent=True)
    say(str(flow["message"]))
    result = app.acquire_token_by_device_flow(flow)
    if "access_token" not in result or not result.get("refresh_token"):
        raise OAuthError(f"sign-in failed: {result.get('error')}: {result.get('error_description', '')}"[:300],
                         permanent=True)
    claims = result.get("id_token_claims") or {}
    return Grant(access_token=result["access_token"], expires_at=clock() + float(result.get("expires_in", 3600)),
                 refresh_token=result["refresh_token"], identity=str(claims.get("preferred_username") or ""))


def google_installed_app_login(cfg: OAuth2Config, *, say: Callable[[str], None], port: int = 0) -> Grant:
    from google_auth_oauthlib.flow import InstalledAppFlow

    client = {"installed": {"client_id": cfg.client_id, "client_secret": cfg.client_secret,
                            "auth_uri": GOOGLE_AUTH_URI, "token_uri": cfg.token_url or GOOGLE_TOKEN_URL}}
    flow = InstalledAppFlow.from_client_config(client, scopes=cfg.scope.split() if cfg.scope else [GOOGLE_SCOPE])
    creds = flow.run_local_server(port=port, open_browser=False, access_type="offline", prompt="consent",
                                  authorization_prompt_message="Open this address in a browser and allow access:\n"
                                  "{url}", success_message="mailproc: signed in; you may close this window.")
    if not creds.refresh_token:
        raise OAuthError("Google returned no refresh token (was offline access refused?)", permanent=True)
    say("signed in")
    expiry = creds.expiry.timestamp() if creds.expiry else time.time() + 3600
    return Grant(access_token=creds.token, expires_at=expiry, refresh_token=creds.refresh_token, identity="")
