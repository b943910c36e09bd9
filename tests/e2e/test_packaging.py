"""The wheel as an operator installs it: built from this tree, installed in a fresh virtual
environment with the pinned runtime dependencies only (no dev extra), then run against the
real Dovecot and SMTP servers: a complaint becomes a ticket and its receipt arrives.
"""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailproc.testing.devstack import MailStack
from tests.helpers.cli import MAILPROC_VARS, toml_text
from tests.helpers.mail import complaint

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent.parent
INSTALL_TIMEOUT = 600


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
                    "-w", str(out), str(ROOT)], check=True, timeout=INSTALL_TIMEOUT, capture_output=True)
    [built] = out.glob("mailproc-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtual environment with the wheel and its runtime dependencies, pinned."""
    where = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=INSTALL_TIMEOUT)
    subprocess.run([str(where / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                    "-c", str(ROOT / "constraints.txt"), str(wheel)],
                   check=True, timeout=INSTALL_TIMEOUT, capture_output=True)
    yield where


def _run(venv: Path, *args: str, cwd: Path, env_extra: dict[str, str], expect: int = 0) -> str:
    env = {k: v for k, v in os.environ.items() if k not in MAILPROC_VARS and k != "PYTHONPATH"}
    env.update(env_extra)
    done = subprocess.run([str(venv / "bin" / "mailproc"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == expect, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def test_the_wheel_carries_templates_and_the_default_config(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped_templates = {p.relative_to(ROOT / "templates").as_posix()
                         for p in (ROOT / "templates").rglob("*") if p.is_file()}
    assert shipped_templates
    assert {f"mailproc/_shipped/templates/{name}" for name in shipped_templates} <= names
    assert "mailproc/_shipped/mailproc.toml" in names
    assert any(n.startswith("mailproc/store/migrations/versions/") for n in names)
    assert not any(n.startswith("tests/") for n in names)


def test_installed_wheel_turns_a_complaint_into_a_ticket_and_a_receipt(
        venv: Path, mailstack: MailStack, tmp_path: Path) -> None:
    # Only runtime dependencies: the dev tools and the demo's SMTP server are not there.
    site = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import importlib.util as u; print([m for m in ('pytest', 'aiosmtpd', 'hypothesis') "
                           "if u.find_spec(m)])"], capture_output=True, text=True, check=True)
    assert site.stdout.strip() == "[]"
    shared = f"cskh.{uuid.uuid4().hex[:10]}@kplus.example"
    customer = f"khach.{uuid.uuid4().hex[:8]}@example.vn"
    state, elsewhere = tmp_path / "state", tmp_path / "cwd"
    elsewhere.mkdir()
    env = {"MAILPROC_STATE_DIR": str(state), "MAILPROC_CONFIG": str(tmp_path / "mailproc.toml")}

    _run(venv, "config", "init", str(tmp_path / "mailproc.toml"), cwd=elsewhere, env_extra=env)
    written = (tmp_path / "mailproc.toml").read_text(encoding="utf-8")
    assert written == (ROOT / "config" / "mailproc.toml").read_text(encoding="utf-8")
    # A read-only command creates no database, here or anywhere.
    refused = _run(venv, "tickets", "list", cwd=elsewhere, env_extra=env, expect=1)
    assert "no database at" in refused and "db upgrade" in refused
    assert not state.exists() and list(elsewhere.iterdir()) == []

    (tmp_path / "mailproc.toml").write_text(toml_text({
        "imap": {"host": mailstack.host, "port": mailstack.imap_port, "username": shared,
                 "password": mailstack.password, "timeout": 10.0},
        "smtp": {"host": mailstack.host, "port": mailstack.smtp_port, "from_address": shared, "timeout": 10.0},
        "scheduler": {"analysis_workers": 1},
    }), encoding="utf-8")
    _run(venv, "db", "upgrade", cwd=elsewhere, env_extra=env)
    assert (state / "mailproc.sqlite3").is_file()  # in the one state directory
    mailstack.deliver(complaint(sender=f"Nguyễn Văn An <{customer}>", to=shared), shared)

    _run(venv, "poll", "--once", cwd=elsewhere, env_extra=env)
    _run(venv, "send", "--once", cwd=elsewhere, env_extra=env)

    assert list(elsewhere.iterdir()) == []
    [receipt] = mailstack.messages(customer)
    parsed = email.message_from_bytes(receipt, policy=email.policy.default)
    assert "KP-" in str(parsed["Subject"])
    body = parsed.get_body(("plain",))
    assert body is not None and "Nguyễn Văn An" in body.get_content()


def test_the_demo_without_its_extra_says_how_to_get_it(venv: Path, tmp_path: Path) -> None:
    out = _run(venv, "demo", "--dir", str(tmp_path / "demo"), cwd=tmp_path, env_extra={}, expect=1)
    assert "pip install 'mailproc[demo]'" in out
