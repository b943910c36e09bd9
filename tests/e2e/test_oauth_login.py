"""``mailproc oauth login`` end to end: the real CLI in a subprocess signs a user in at the
stand-in identity provider (Microsoft's device-code flow through MSAL, Google's installed-app
loopback flow through google-auth-oauthlib), while the test plays the user's browser over HTTP:
it opens the printed address, fills in the page's form and submits it.

Then the refresh token must be on disk, ``oauth status`` must name the identity, and fresh
processes must read and answer the mailbox with it: IMAP (Dovecot's oauth2 passdb) and SMTP
(which offers OAUTHBEARER here, as Gmail's does) check every token with the provider, and a
renewal goes through the stored refresh token. A declined or expired sign-in exits 1 and
stores nothing.
"""

from __future__ import annotations

import json
import queue
import re
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from mailproc.oauth2.tokens import token_file_name
from mailproc.testing.devstack import MailStack, SmtpAuth
from mailproc.testing.idp import GRANT_AUTHORIZATION_CODE, GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN, IdentityProvider
from tests.helpers.cli import SUBPROCESS_TIMEOUT, customer, subprocess_env, toml_text
from tests.helpers.mail import complaint

TENANT = "kplus"
MS_CLIENT = "mailproc-cli"  # a public client ("Allow public client flows"): no secret
GOOGLE_CLIENT, GOOGLE_SECRET = "123-desk.apps.googleusercontent.com", "GOCSPX-desk-secret"
WAIT = 30.0  # seconds any one step of a sign-in may take


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    with IdentityProvider(tls=True, device_poll_interval=1) as provider:
        provider.add_client(MS_CLIENT)
        provider.add_client(GOOGLE_CLIENT, GOOGLE_SECRET)
        yield provider


@pytest.fixture(scope="module")
def stack(idp: IdentityProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailStack]:
    with MailStack(base_dir=tmp_path_factory.mktemp("login-stack"), oauth2=idp,
                   smtp_oauth_mechanisms=("XOAUTH2", "OAUTHBEARER")) as mail:
        yield mail


@pytest.fixture
def mailbox() -> str:
    return f"cskh.{uuid.uuid4().hex[:10]}@kplus.example"


# -- the operator's side: a config file and the real CLI ------------------------------------


class Install:
    """One operator's installation: a config file, a state directory, the CLI in subprocesses."""

    def __init__(self, tmp_path: Path, stack: MailStack, mailbox: str, oauth2: dict[str, Any]) -> None:
        self.dir, self.stack, self.mailbox = tmp_path, stack, mailbox
        self.state_dir = tmp_path / "state"
        self.oauth2 = oauth2
        self.write()

    @property
    def config_path(self) -> Path:
        return self.dir / "mailproc.toml"

    @property
    def token_file(self) -> Path:
        return self.state_dir / token_file_name(self.mailbox)

    def write(self, **oauth2: Any) -> None:
        self.oauth2.update(oauth2)
        self.config_path.write_text(toml_text({
            "imap": {"host": self.stack.host, "port": self.stack.imap_port, "username": self.mailbox,
                     "auth": "oauth2", "timeout": 10.0},
            "smtp": {"host": self.stack.host, "port": self.stack.smtp_port, "username": self.mailbox,
                     "from_address": self.mailbox, "auth": "oauth2", "timeout": 10.0},
            "database": {"url": f"sqlite:///{self.dir}/mailproc.sqlite3"},
            "paths": {"state_dir": str(self.state_dir)},
            "scheduler": {"lock_file": str(self.dir / "mailproc.lock")},
            "oauth2": self.oauth2,
        }), encoding="utf-8")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mailproc.cli", "--config", str(self.config_path), *args],
                              env=subprocess_env(), cwd=self.dir, capture_output=True, text=True,
                              timeout=SUBPROCESS_TIMEOUT, check=False)

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, f"mailproc {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def status(self) -> dict[str, Any]:
        return dict(json.loads(self.ok("oauth", "status", "--json")))

    def login(self, *args: str) -> Terminal:
        return Terminal([sys.executable, "-m", "mailproc.cli", "--config", str(self.config_path), "oauth", "login",
                         *args], cwd=self.dir)


class Terminal:
    """A command running in a subprocess, its output read line by line as it comes (as the
    person at the terminal reads it): the address to open shows before the command ends."""

    def __init__(self, argv: list[str], *, cwd: Path) -> None:
        self._stderr = (cwd / f"stderr-{uuid.uuid4().hex[:6]}.txt").open("w+", encoding="utf-8")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                     env=subprocess_env(), cwd=cwd)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def expect(self, pattern: str, timeout: float = WAIT) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"the command ended before {pattern!r}:\n{''.join(self.lines)}{self.stderr()}")
            self.lines.append(line)
            if found := re.search(pattern, line):
                return found
        raise AssertionError(f"no {pattern!r} within {timeout} s:\n{''.join(self.lines)}")

    def finish(self, timeout: float = WAIT) -> tuple[int, str, str]:
        """(exit status, all of stdout, stderr) once the command has ended."""
        code = self.proc.wait(timeout)
        self._reader.join(timeout)
        while not self._queue.empty():
            line = self._queue.get_nowait()
            if line is not None:
                self.lines.append(line)
        return code, "".join(self.lines), self.stderr()

    def stderr(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self._stderr.close()

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the user's side: a browser, as far as these pages need one ----------------------------


class _Form(HTMLParser):
    """The page's one form: where it posts and the values it already holds."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.values: dict[str, str] = {}
        self.buttons: dict[str, set[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.action = found.get("action", "")
        elif tag == "input" and "name" in found:
            self.values[found["name"]] = found.get("value", "")
        elif tag == "button" and "name" in found:
            self.buttons.setdefault(found["name"], set()).add(found.get("value", ""))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 302 comes back as the answer: the test looks at where it points


class Browser:
    """GETs a page, fills in its form and presses a button (a form POST), and hands back where
    a redirect points. It trusts the provider's own CA, as the user's browser trusts Microsoft's."""

    def __init__(self, ca_file: str) -> None:
        context = ssl.create_default_context(cafile=ca_file)
        self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoRedirects)

    def open(self, url: str, form: dict[str, str] | None = None) -> tuple[int, str, str | None]:
        """(status, body, Location) of a GET, or of a POST of ``form``."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self._opener.open(url, data, timeout=WAIT) as response:
                return response.status, response.read().decode(), response.headers.get("Location")
        except urllib.error.HTTPError as answer:
            with answer:
                return answer.code, answer.read().decode(), answer.headers.get("Location")

    def submit(self, url: str, *, press: tuple[str, str], **fields: str) -> tuple[int, str, str | None]:
        """Open ``url``, fill ``fields`` into its form, press the button ``press`` (name, value)."""
        status, page, _ = self.open(url)
        assert status == 200, page
        form = _Form()
        form.feed(page)
        assert form.action is not None and press[1] in form.buttons.get(press[0], set()), page
        unknown = set(fields) - set(form.values)
        assert not unknown, f"the page has no field {unknown}: {page}"
        return self.open(urllib.parse.urljoin(url, form.action), {**form.values, **fields, press[0]: press[1]})


ALLOW, DECLINE = ("consent", "allow"), ("consent", "deny")
DEVICE_MESSAGE = r"open the page (https://\S+) and enter the code (\w+) to authenticate"


# -- Microsoft: the device-code flow through MSAL --------------------------------------------


def _microsoft(tmp_path: Path, stack: MailStack, idp: IdentityProvider, mailbox: str) -> Install:
    return Install(tmp_path, stack, mailbox, {"provider": "microsoft", "tenant_id": TENANT,
                                               "authority": idp.microsoft_authority(TENANT),
                                               "client_id": MS_CLIENT, "ca_file": idp.ca_file})


def _device_sign_in(install: Install, idp: IdentityProvider, *, as_user: str,
                    press: tuple[str, str] = ALLOW) -> tuple[int, str, str]:
    with install.login() as terminal:
        uri, code = terminal.expect(DEVICE_MESSAGE).groups()
        status, page, _ = Browser(idp.ca_file).submit(uri, press=press, otc=code, login=as_user)
        assert status == 200, page
        return terminal.finish()


def _answer_a_complaint(install: Install, stack: MailStack) -> str:
    """A complaint in, a ticket and its receipt out, by fresh processes; the customer's address."""
    who = customer()
    stack.deliver(complaint(sender=f"An <{who}>", to=install.mailbox), install.mailbox)
    install.ok("db", "upgrade")
    install.ok("poll", "--once")
    install.ok("send", "--once")
    assert len(stack.messages(who)) == 1
    return who


def _assert_renewed(idp: IdentityProvider, client_id: str, user: str, *, after: int) -> None:
    """The token endpoint was asked since request number ``after``, only with the refresh
    token the sign-in stored, and gave a token each time. (With a margin longer than a token's
    life every login renews: check-config logs in three times.)"""
    since = [(r.grant_type, r.client_id, r.user, r.error) for r in idp.token_requests()[after:]]
    assert since and set(since) == {(GRANT_REFRESH_TOKEN, client_id, user, None)}


def test_microsoft_device_login_signs_in_and_the_daemon_uses_it(tmp_path: Path, stack: MailStack,
                                                                idp: IdentityProvider, mailbox: str) -> None:
    install = _microsoft(tmp_path, stack, idp, mailbox)
    code, out, err = _device_sign_in(install, idp, as_user=mailbox)
    assert code == 0, f"{out}\n{err}"
    assert f"signed in as {mailbox}" in out

    # Durable: the file a fresh process reads, private to mailproc's user.
    stored = json.loads(install.token_file.read_text())
    assert stored["refresh_token"] and stored["identity"] == mailbox
    assert oct(install.token_file.stat().st_mode & 0o777) == "0o600"
    status = install.status()
    assert (status["provider"], status["identity"], status["failures"]) == ("microsoft", mailbox, 0)
    assert status["expires_at"] > time.time()
    polls = [r for r in idp.token_requests() if r.grant_type == GRANT_DEVICE_CODE and r.client_id == MS_CLIENT]
    assert [r.error for r in polls][-1] is None and polls[-1].user == mailbox
    assert {r.error for r in polls[:-1]} <= {"authorization_pending"}

    # The daemon logs in with it: IMAP (Dovecot's oauth2 passdb) and SMTP, both OAUTHBEARER.
    _answer_a_complaint(install, stack)
    assert stack.smtp_transactions()[-1].auth == SmtpAuth("OAUTHBEARER", mailbox, True)

    # Renewed from the stored refresh token (through MSAL at the tenant's token endpoint) when
    # the access token is due: a margin longer than its lifetime makes it due now.
    before = len(idp.token_requests())
    install.write(refresh_margin=7200.0)
    checked = install.run("check-config")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"logged in as {mailbox}" in checked.stdout
    _assert_renewed(idp, MS_CLIENT, mailbox, after=before)
    assert json.loads(install.token_file.read_text())["access_token"] != stored["access_token"]


def test_a_declined_device_sign_in_fails_clearly_and_stores_nothing(tmp_path: Path, stack: MailStack,
                                                                    idp: IdentityProvider, mailbox: str) -> None:
    install = _microsoft(tmp_path, stack, idp, mailbox)
    code, out, err = _device_sign_in(install, idp, as_user=mailbox, press=DECLINE)
    assert code == 1, out + err
    assert "sign-in failed: the sign-in was declined" in err and "authorization_declined" in err
    assert "nothing was stored" in err
    assert not install.token_file.exists()
    assert install.status()["expires_at"] is None


def test_an_expired_device_code_fails_clearly_and_stores_nothing(tmp_path: Path, stack: MailStack,
                                                                 idp: IdentityProvider, mailbox: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idp, "device_code_lifetime", 2.0)
    install = _microsoft(tmp_path, stack, idp, mailbox)
    with install.login() as terminal:
        uri, user_code = terminal.expect(DEVICE_MESSAGE).groups()
        code, out, err = terminal.finish()  # nobody comes
    assert code == 1, out + err
    assert "the code expired before anyone signed in with it: run 'mailproc oauth login' again" in err
    assert not install.token_file.exists()
    # The user who comes too late is told so by the verification page.
    status, page, _ = Browser(idp.ca_file).submit(uri, press=ALLOW, otc=user_code, login=mailbox)
    assert status == 400 and "Check the code and try again" in page


# -- Google: the installed-app loopback flow through google-auth-oauthlib ---------------------


def _google(tmp_path: Path, stack: MailStack, idp: IdentityProvider, mailbox: str) -> Install:
    return Install(tmp_path, stack, mailbox, {"provider": "google", "client_id": GOOGLE_CLIENT,
                                               "client_secret": GOOGLE_SECRET, "token_url": f"{idp.https_url}/token",
                                               "auth_url": f"{idp.https_url}/authorize", "ca_file": idp.ca_file})


def _browser_sign_in(install: Install, idp: IdentityProvider, *, as_user: str,
                     press: tuple[str, str] = ALLOW) -> tuple[int, str, str, str]:
    """(exit status, stdout, stderr, where the provider sent the browser back)."""
    browser = Browser(idp.ca_file)
    with install.login("--timeout", str(WAIT)) as terminal:
        url = terminal.expect(r"^(https://\S+/authorize\?\S+)$")[1]
        status, page, back = browser.submit(url, press=press, login=as_user)
        assert status == 302 and back is not None, page
        arrived, text, _ = browser.open(back)  # the loopback listener of `mailproc oauth login`
        assert arrived == 200, text
        code, out, err = terminal.finish()
    return code, out, err, back


def test_google_installed_app_login_signs_in_and_the_daemon_uses_it(tmp_path: Path, stack: MailStack,
                                                                    idp: IdentityProvider, mailbox: str) -> None:
    install = _google(tmp_path, stack, idp, mailbox)
    code, out, err, back = _browser_sign_in(install, idp, as_user=mailbox)
    assert code == 0, f"{out}\n{err}"
    assert f"signed in as {mailbox}" in out
    redirect = urllib.parse.urlsplit(back)
    assert (redirect.scheme, redirect.hostname) == ("http", "localhost")
    assert {"code", "state"} <= set(urllib.parse.parse_qs(redirect.query))
    [request] = [r for r in idp.token_requests() if r.grant_type == GRANT_AUTHORIZATION_CODE and r.user == mailbox]
    assert (request.client_id, request.error) == (GOOGLE_CLIENT, None)
    assert json.loads(install.token_file.read_text())["refresh_token"]
    assert install.status()["identity"] == mailbox

    _answer_a_complaint(install, stack)
    assert stack.smtp_transactions()[-1].auth == SmtpAuth("OAUTHBEARER", mailbox, True)

    before = len(idp.token_requests())
    install.write(refresh_margin=7200.0)  # renewed now, by google-auth with the stored refresh token
    checked = install.run("check-config")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    _assert_renewed(idp, GOOGLE_CLIENT, mailbox, after=before)


def test_a_google_sign_in_cancelled_in_the_browser_fails_clearly(tmp_path: Path, stack: MailStack,
                                                                 idp: IdentityProvider, mailbox: str) -> None:
    install = _google(tmp_path, stack, idp, mailbox)
    code, out, err, back = _browser_sign_in(install, idp, as_user=mailbox, press=DECLINE)
    assert "error=access_denied" in back
    assert code == 1, out + err
    assert "sign-in failed: the sign-in was declined (access_denied" in err and "nothing was stored" in err
    assert not install.token_file.exists()


def test_a_google_sign_in_nobody_finishes_times_out(tmp_path: Path, stack: MailStack, idp: IdentityProvider,
                                                    mailbox: str) -> None:
    install = _google(tmp_path, stack, idp, mailbox)
    with install.login("--timeout", "1") as terminal:
        terminal.expect(r"^https://\S+/authorize\?")
        code, out, err = terminal.finish()
    assert code == 1, out + err
    assert "nobody came back from the browser within 1 s: run 'mailproc oauth login' again" in err
    assert not install.token_file.exists()
