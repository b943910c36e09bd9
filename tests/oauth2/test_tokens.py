"""The token cache: renewed before expiry, a rotated refresh token on disk before the access
token is used, one renewal across processes, backoff after a failure. The provider here is a
scripted stand-in at our own seam (the provider protocol); the real token endpoints are
tested end to end in tests/e2e/test_oauth2.py."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from mailproc.config import OAuth2Config
from mailproc.errors import OAuthError
from mailproc.oauth2 import sasl
from mailproc.oauth2.providers import Grant
from mailproc.oauth2.tokens import TokenManager, Tokens, token_file_name

USER = "cskh@kplus.example"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class ScriptedProvider:
    """Answers from a list: a Grant, or an OAuthError to raise. Records the refresh tokens used."""

    name = "scripted"

    def __init__(self, *answers: Grant | OAuthError) -> None:
        self.answers = list(answers)
        self.used: list[str | None] = []
        self.on_fetch: list[object] = []

    def fetch(self, refresh_token: str | None) -> Grant:
        self.used.append(refresh_token)
        for hook in self.on_fetch:
            hook()  # type: ignore[operator]
        answer = self.answers.pop(0)
        if isinstance(answer, OAuthError):
            raise answer
        return answer


def _grant(token: str, clock: Clock, *, lifetime: float = 3600, refresh: str | None = None) -> Grant:
    return Grant(access_token=token, expires_at=clock() + lifetime, refresh_token=refresh, identity=USER)


def _manager(tmp_path: Path, provider: ScriptedProvider, clock: Clock, **cfg: object) -> TokenManager:
    config = OAuth2Config(provider="generic", client_id="app", token_url="http://127.0.0.1:9/token",
                          **cfg)  # type: ignore[arg-type]
    return TokenManager(config, user=USER, state_dir=tmp_path, provider=provider, clock=clock)


def test_a_token_is_reused_until_the_margin_then_renewed(tmp_path: Path) -> None:
    clock = Clock()
    provider = ScriptedProvider(_grant("a1", clock), _grant("a2", clock))
    tokens = _manager(tmp_path, provider, clock)
    assert tokens.access_token() == "a1"
    clock.now += 3600 - 301
    assert tokens.access_token() == "a1"  # more than refresh_margin (300 s) left
    clock.now += 2
    assert tokens.access_token() == "a2"
    assert provider.used == [None, None]


def test_a_rotated_refresh_token_is_on_disk_before_the_token_is_used(tmp_path: Path) -> None:
    clock = Clock()
    provider = ScriptedProvider(_grant("a1", clock, lifetime=10, refresh="r2"), _grant("a2", clock, refresh="r3"))
    tokens = _manager(tmp_path, provider, clock, refresh_token="r1", refresh_margin=0)
    assert tokens.access_token() == "a1"
    on_disk = json.loads((tmp_path / token_file_name(USER)).read_text())
    assert on_disk["refresh_token"] == "r2" and on_disk["access_token"] == "a1"
    assert stat.S_IMODE(os.stat(tmp_path / token_file_name(USER)).st_mode) == 0o600
    clock.now += 11
    # A new process (a restart) continues from the rotated token, not the configured one.
    again = _manager(tmp_path, provider, clock, refresh_token="r1", refresh_margin=0)
    assert again.access_token() == "a2"
    assert provider.used == ["r1", "r2"]
    assert json.loads((tmp_path / token_file_name(USER)).read_text())["refresh_token"] == "r3"


def test_a_new_refresh_token_from_the_operator_starts_a_new_chain(tmp_path: Path) -> None:
    clock = Clock()
    provider = ScriptedProvider(_grant("a1", clock, refresh="r2"), _grant("b1", clock))
    assert _manager(tmp_path, provider, clock, refresh_token="r1").access_token() == "a1"
    assert _manager(tmp_path, provider, clock, refresh_token="new").access_token() == "b1"
    assert provider.used == ["r1", "new"]


def test_another_process_renewal_is_picked_up_not_repeated(tmp_path: Path) -> None:
    clock = Clock()
    provider = ScriptedProvider(_grant("a1", clock, refresh="r2"))
    first = _manager(tmp_path, provider, clock, refresh_token="r1")
    second = _manager(tmp_path, provider, clock, refresh_token="r1")
    assert first.access_token() == "a1"
    assert second.access_token() == "a1"  # read from the shared file: the provider is asked once
    assert provider.used == ["r1"]


def test_a_failure_backs_off_and_a_still_valid_token_keeps_working(tmp_path: Path) -> None:
    clock = Clock()
    provider = ScriptedProvider(_grant("a1", clock, lifetime=600), OAuthError("temporarily_unavailable"),
                                _grant("a2", clock))
    tokens = _manager(tmp_path, provider, clock)
    assert tokens.access_token() == "a1"
    clock.now += 400  # inside the margin: renewal is due but fails; a1 is valid for 200 s more
    assert tokens.access_token() == "a1"
    assert tokens.status().failures == 1 and "temporarily_unavailable" in tokens.status().last_error
    clock.now += 1
    assert tokens.access_token() == "a1"  # in backoff: the provider is not asked again
    assert len(provider.used) == 2
    clock.now += 10
    assert tokens.access_token() == "a2"
    assert tokens.status().failures == 0


def test_no_token_at_all_raises_and_backs_off(tmp_path: Path) -> None:
    clock = Clock()
    provider = ScriptedProvider(OAuthError("invalid_client", permanent=True), _grant("a1", clock))
    tokens = _manager(tmp_path, provider, clock)
    with pytest.raises(OAuthError, match="invalid_client"):
        tokens.access_token()
    with pytest.raises(OAuthError, match="again in"):
        tokens.access_token()
    clock.now += 5
    assert tokens.access_token() == "a1"


def test_invalidate_forgets_the_access_token_but_keeps_the_refresh_token(tmp_path: Path) -> None:
    clock = Clock()
    provider = ScriptedProvider(_grant("a1", clock, refresh="r2"), _grant("a2", clock))
    tokens = _manager(tmp_path, provider, clock, refresh_token="r1")
    assert tokens.access_token() == "a1"
    tokens.invalidate()
    assert tokens.access_token() == "a2"
    assert provider.used == ["r1", "r2"]


def test_adopt_keeps_an_interactive_sign_in(tmp_path: Path) -> None:
    clock = Clock()
    provider = ScriptedProvider(_grant("a2", clock))
    tokens = _manager(tmp_path, provider, clock, refresh_margin=0)
    tokens.adopt(Grant("a1", clock() + 5, "r-login", "agent@kplus.example"))
    assert tokens.access_token() == "a1"
    clock.now += 6
    assert tokens.access_token() == "a2"
    assert provider.used == ["r-login"]
    assert tokens.describe()["identity"] == USER


def test_one_manager_per_mailbox_user(tmp_path: Path) -> None:
    cfg = OAuth2Config(provider="generic", client_id="app", token_url="http://127.0.0.1:9/token")
    tokens = Tokens(cfg, state_dir=tmp_path)
    assert tokens.manager("A@kplus.example") is tokens.manager("a@kplus.example")
    assert tokens.manager("a@kplus.example") is not tokens.manager("b@kplus.example")
    pinned = Tokens(OAuth2Config(provider="generic", client_id="app", user="shared@kplus.example"), state_dir=tmp_path)
    assert pinned.manager("login@kplus.example").user == "shared@kplus.example"


def test_sasl_strings() -> None:
    assert sasl.xoauth2("a@b.c", "T") == b"user=a@b.c\x01auth=Bearer T\x01\x01"
    assert sasl.oauthbearer("a=b,c@d", "T", host="h", port=993) == (
        b"n,a=a=3Db=2Cc@d,\x01host=h\x01port=993\x01auth=Bearer T\x01\x01")
    answer = sasl.responder(b"first")
    assert answer(b"") == b"first"
    assert answer(b'{"status":"invalid_token"}') == b"\x01"
