"""The access token in use: cached, renewed ``refresh_margin`` seconds before it expires, and
kept in one file in the state directory with the refresh token it was last renewed with.

A provider that rotates refresh tokens invalidates the old one as it hands out the new one; a
new refresh token that is not on disk before it is used is lost at the next crash, and the
mailbox with it (the most reported OAuth failure of peer helpdesks). So the file is replaced
atomically (write, fsync, rename, fsync the directory) before the access token is handed out.
Processes sharing the state directory renew one at a time (a lock file), so two never spend
the same refresh token.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from mailproc.config import OAuth2Config
from mailproc.errors import OAuthError
from mailproc.oauth2.providers import Grant, Provider, build_provider

log = logging.getLogger(__name__)
TOKEN_FILE = "oauth2-token.json"
BACKOFF_INITIAL = 5.0
BACKOFF_MAX = 300.0


@dataclass
class TokenState:
    """What the token file holds (and ``status()`` reports)."""

    key: str = ""                     # which provider, client and mailbox the tokens are for
    seed: str = ""                    # fingerprint of the configured refresh token this chain started from
    access_token: str = field(default="", repr=False)
    expires_at: float = 0.0
    refresh_token: str = field(default="", repr=False)
    identity: str = ""
    renewed_at: float = 0.0
    failures: int = 0
    last_error: str = ""
    next_attempt_at: float = 0.0


def token_file_name(user: str) -> str:
    """``oauth2-token.json`` for the first mailbox's tokens; one file per mailbox user."""
    return TOKEN_FILE.replace(".json", f"-{hashlib.sha256(user.lower().encode()).hexdigest()[:10]}.json")


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16] if secret else ""


class TokenStore:
    """The token file: read whole, replaced atomically, private to mailproc's user."""

    def __init__(self, directory: Path, name: str = TOKEN_FILE) -> None:
        self.path = directory / name
        self.lock = FileLock(str(directory / (name + ".lock")))

    def load(self) -> TokenState:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return TokenState()
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable %s: %s", self.path, type(exc).__name__)
            return TokenState()
        known = {k: v for k, v in data.items() if k in TokenState.__dataclass_fields__}
        return TokenState(**known)

    def save(self, state: TokenState) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(asdict(state), out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self.lock:
            yield


class TokenManager:
    """Hands out a valid access token for ``user``; renews it through the provider when it
    is missing or about to expire. Thread-safe, and safe across processes sharing the state
    directory. Every failure is an OAuthError; after one, the provider is asked again only
    after a backoff (5 s doubling to 5 min), so a broken identity platform is not hammered."""

    def __init__(self, cfg: OAuth2Config, *, user: str, state_dir: Path, provider: Provider | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.cfg, self.user, self.clock = cfg, user, clock
        self._provider = provider
        self._lock = threading.Lock()
        self._cached: TokenState | None = None
        self.key = f"{cfg.provider}:{cfg.client_id or cfg.service_account_file}:{user}:{cfg.scope}"
        self.store = TokenStore(state_dir, token_file_name(user))
        self.seed = _fingerprint(cfg.refresh_token)

    @property
    def provider(self) -> Provider:
        if self._provider is None:
            self._provider = build_provider(self.cfg, user=self.user, clock=self.clock)
        return self._provider

    def _usable(self, state: TokenState | None) -> bool:
        return (state is not None and state.key == self.key and state.seed == self.seed
                and bool(state.access_token) and state.expires_at - self.cfg.refresh_margin > self.clock())

    def access_token(self) -> str:
        with self._lock:
            if self._usable(self._cached):
                assert self._cached is not None
                return self._cached.access_token
            with self.store.locked():
                state = self.store.load()
                if not self._usable(state):  # (another process may have renewed it meanwhile)
                    try:
                        state = self._renew(state)
                    except OAuthError:
                        if (state.key == self.key and state.seed == self.seed and state.access_token
                                and state.expires_at > self.clock() + 30):
                            return state.access_token  # still valid for a while: renewal is retried later
                        raise
                self._cached = state
                return state.access_token

    def _renew(self, state: TokenState) -> TokenState:
        now = self.clock()
        if state.key == self.key and state.seed == self.seed and state.next_attempt_at > now:
            raise OAuthError(f"{state.last_error} (again in {state.next_attempt_at - now:.0f} s)",
                             permanent=False)
        if state.key != self.key or state.seed != self.seed:
            # New configuration, or a new refresh token from the operator: start from it.
            state = TokenState(key=self.key, seed=self.seed, refresh_token=self.cfg.refresh_token)
        try:
            grant = self.provider.fetch(state.refresh_token or None)
        except OAuthError as exc:
            state.failures += 1
            state.last_error = exc.detail[:300]
            state.next_attempt_at = now + min(BACKOFF_INITIAL * 2 ** (state.failures - 1), BACKOFF_MAX)
            self.store.save(state)
            log.warning("OAuth 2.0 token for %s: %s (attempt %d)", self.user, exc.detail, state.failures)
            raise
        rotated = bool(grant.refresh_token and grant.refresh_token != state.refresh_token)
        state.access_token, state.expires_at, state.identity = grant.access_token, grant.expires_at, grant.identity
        if grant.refresh_token:
            state.refresh_token = grant.refresh_token
        if state.failures:
            log.info("OAuth 2.0 token for %s renewed after %d failed attempt(s)", self.user, state.failures)
        state.renewed_at, state.failures, state.last_error, state.next_attempt_at = now, 0, "", 0.0
        self.store.save(state)  # before the token is used: a rotated refresh token is never lost
        log.info("OAuth 2.0 token for %s renewed (%s), valid until %s%s", grant.identity, self.cfg.provider,
                 time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(grant.expires_at)),
                 "; refresh token rotated" if rotated else "")
        return state

    def adopt(self, grant: Grant) -> TokenState:
        """Keep what an interactive sign-in (``mailproc oauth login``) returned: from now on
        mailproc renews from its refresh token."""
        with self._lock, self.store.locked():
            state = TokenState(key=self.key, seed=self.seed, access_token=grant.access_token,
                               expires_at=grant.expires_at, refresh_token=grant.refresh_token or "",
                               identity=grant.identity or self.user, renewed_at=self.clock())
            self.store.save(state)
            self._cached = state
            return state

    def invalidate(self) -> None:
        """The server refused the token (revoked, or expired early): forget it, so the next
        call renews it (the refresh token is kept)."""
        with self._lock, self.store.locked():
            self._cached = None
            state = self.store.load()
            if state.key == self.key and state.access_token:
                state.access_token, state.expires_at = "", 0.0
                self.store.save(state)

    def status(self) -> TokenState:
        """What the token file says now (no network)."""
        state = self.store.load()
        return state if state.key == self.key else TokenState(key=self.key)

    def describe(self) -> dict[str, Any]:
        state = self.status()
        return {"identity": state.identity or self.user, "expires_at": state.expires_at or None,
                "failures": state.failures, "last_error": state.last_error or None}


class Tokens:
    """One :class:`TokenManager` per mailbox user (IMAP and SMTP of one mailbox share it)."""

    def __init__(self, cfg: OAuth2Config, *, state_dir: Path, clock: Callable[[], float] = time.time) -> None:
        self.cfg, self.state_dir, self.clock = cfg, state_dir, clock
        self._managers: dict[str, TokenManager] = {}
        self._lock = threading.Lock()

    def manager(self, user: str) -> TokenManager:
        user = self.cfg.user or user
        with self._lock:
            if user.lower() not in self._managers:
                self._managers[user.lower()] = TokenManager(self.cfg, user=user, state_dir=self.state_dir,
                                                            clock=self.clock)
            return self._managers[user.lower()]
