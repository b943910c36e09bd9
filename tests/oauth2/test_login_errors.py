"""The pure parts of signing in: which bearer mechanism a server's list leads to, and what an
identity platform's refusal tells the operator. (The flows themselves run against the stand-in
provider in tests/e2e/test_oauth_login.py.)"""

from __future__ import annotations

import pytest

from mailproc.oauth2 import sasl
from mailproc.oauth2.login import sign_in_error


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [(["login", "plain", "xoauth2", "oauthbearer"], "OAUTHBEARER"),  # Gmail's SMTP, as aiosmtplib lists it
     (["LOGIN", "XOAUTH2"], "XOAUTH2"),  # Exchange Online's SMTP
     (["OAUTHBEARER"], "OAUTHBEARER"),
     (["PLAIN", "LOGIN"], None), ([], None)],
)
def test_oauthbearer_is_preferred_when_offered(offered: list[str], chosen: str | None) -> None:
    assert sasl.preferred_mechanism(offered) == chosen


@pytest.mark.parametrize(
    ("error", "says"),
    [("authorization_declined", "the sign-in was declined at the verification page"),
     ("access_denied", "the sign-in was declined"),
     ("expired_token", "the code expired before anyone signed in with it: run 'mailproc oauth login' again"),
     ("authorization_pending", "the code expired before anyone signed in with it"),  # MSAL gave up polling
     ("bad_verification_code", "does not know this code")],
)
def test_a_refused_sign_in_says_what_happened_and_what_to_do(error: str, says: str) -> None:
    failure = sign_in_error(error, "AADSTS70016: details\r\nTrace ID: 1234")
    assert says in failure.detail and failure.detail.endswith(f"({error}: AADSTS70016: details)")
    assert failure.permanent


def test_an_unknown_refusal_is_passed_on() -> None:
    assert sign_in_error("invalid_scope", None).detail == "sign-in failed: invalid_scope"
    assert sign_in_error(None, None).detail == "sign-in failed: no answer"
