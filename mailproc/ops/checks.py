"""Connectivity checks for ``mailproc check-config``: IMAP, SMTP and the database.

Each check returns (name, ok, detail) and never raises: the operator sees every problem at
once, each with the config key to look at.
"""

from __future__ import annotations

import asyncio

import aiosmtplib
from sqlalchemy import text

from mailproc.config import Config
from mailproc.intake.imap import TRANSIENT_ERRORS, MoveMethod, move_method, open_mailbox
from mailproc.store.db import make_engine
from mailproc.store.migrate import current_revision, head_revision

Check = tuple[str, bool, str]


def check_imap(cfg: Config) -> Check:
    imap = cfg.imap
    try:
        with open_mailbox(imap) as box:
            if not box.folder.exists(imap.folder):
                return "imap", False, f"imap.folder: folder {imap.folder!r} does not exist"
            method = move_method(box.client.capabilities)  # as the server lists them after login
            note = "" if method is MoveMethod.MOVE else f" (server lacks MOVE: stored mail is moved by {method})"
            return "imap", True, f"{imap.username}@{imap.host}:{imap.port}, folder {imap.folder!r}{note}"
    except TRANSIENT_ERRORS as exc:
        key = "imap.username/imap.password" if "login" in str(exc) else "imap.host/imap.port"
        return "imap", False, f"{key}: {exc}"


async def _smtp(cfg: Config) -> str:
    smtp = cfg.smtp
    client = aiosmtplib.SMTP(hostname=smtp.host, port=smtp.port, use_tls=smtp.ssl, start_tls=smtp.starttls,
                             timeout=smtp.timeout, username=smtp.username or None, password=smtp.password or None)
    await client.connect()
    try:
        code, _ = await client.noop()
        return f"{smtp.host}:{smtp.port} answered {code}"
    finally:
        await client.quit()


def check_smtp(cfg: Config) -> Check:
    try:
        return "smtp", True, asyncio.run(_smtp(cfg))
    except aiosmtplib.SMTPAuthenticationError as exc:
        return "smtp", False, f"smtp.username/smtp.password: {exc}"
    except (aiosmtplib.SMTPException, OSError) as exc:
        return "smtp", False, f"smtp.host/smtp.port: {exc}"


def check_database(cfg: Config) -> Check:
    engine = make_engine(cfg.database)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current, head = current_revision(engine), head_revision()
        if current != head:
            problem = f"schema at {current or 'nothing'}, newest is {head}: run 'mailproc db upgrade'"
            return "database", False, f"database.url: {problem}"
        return "database", True, f"{engine.url.render_as_string(hide_password=True)} at revision {current}"
    except Exception as exc:
        return "database", False, f"database.url: {type(exc).__name__}: {exc}"
    finally:
        engine.dispose()


def run_checks(cfg: Config) -> list[Check]:
    return [check_imap(cfg), check_smtp(cfg), check_database(cfg)]
