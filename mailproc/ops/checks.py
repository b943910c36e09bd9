"""Connectivity checks for ``mailproc check-config``: IMAP, SMTP and the database.

Each check returns (name, ok, detail) and never raises: the operator sees every problem at
once, each with the config key to look at.
"""

from __future__ import annotations

import asyncio
import os
import tomllib
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import aiosmtplib
from jinja2 import Environment
from sqlalchemy import text

from mailproc.config import ENV_OVERRIDES, Config
from mailproc.errors import OAuthError
from mailproc.intake.imap import TRANSIENT_ERRORS, MoveMethod, move_method, open_mailbox
from mailproc.notices.sender import make_client, smtp_login_for
from mailproc.oauth2.tokens import Tokens
from mailproc.store.db import make_engine
from mailproc.store.migrate import current_revision, head_revision

Check = tuple[str, bool, str]


def _tokens(cfg: Config) -> Tokens | None:
    if not cfg.uses_oauth2():
        return None
    return Tokens(cfg.oauth2, state_dir=Path(cfg.paths.state_dir))


def check_oauth2(cfg: Config, tokens: Tokens) -> Check:
    """Which identity the token acts as and until when (renewing it now if needed)."""
    manager = tokens.manager(cfg.imap.username if cfg.imap.auth == "oauth2" else cfg.smtp.username)
    try:
        manager.access_token()
    except OAuthError as exc:
        key = "oauth2.refresh_token" if exc.permanent and cfg.oauth2.refresh_token else "oauth2"
        return "oauth2", False, f"{key}: {exc}"
    state = manager.status()
    until = datetime.fromtimestamp(state.expires_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    renewed = datetime.fromtimestamp(state.renewed_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return "oauth2", True, (f"{cfg.oauth2.provider}: logged in as {state.identity}; token valid until {until} "
                            f"(renewed {renewed}; {manager.store.path})")


def check_imap(cfg: Config, tokens: Tokens | None = None) -> Check:
    imap = cfg.imap
    try:
        with open_mailbox(imap, tokens) as box:
            if not box.folder.exists(imap.folder):
                return "imap", False, f"imap.folder: folder {imap.folder!r} does not exist"
            method = move_method(box.client.capabilities)  # as the server lists them after login
            note = "" if method is MoveMethod.MOVE else f" (server lacks MOVE: stored mail is moved by {method})"
            return "imap", True, f"{imap.username}@{imap.host}:{imap.port}, folder {imap.folder!r}{note}"
    except TRANSIENT_ERRORS as exc:
        key = "imap.username/imap.password" if "login" in str(exc) else "imap.host/imap.port"
        return "imap", False, f"{key}: {exc}"


async def _smtp(cfg: Config, tokens: Tokens | None) -> str:
    smtp = cfg.smtp
    login = smtp_login_for(cfg, tokens)
    client = make_client(smtp, login)
    await client.connect()
    try:
        code, _ = await client.noop()
        mechanism = getattr(client, "mechanism", None) or "XOAUTH2"  # the SASL mechanism the login used
        who = f" ({mechanism} as {login.user})" if login else f" (as {smtp.username})" if smtp.username else ""
        return f"{smtp.host}:{smtp.port} answered {code}{who}"
    finally:
        await client.quit()


def check_smtp(cfg: Config, tokens: Tokens | None = None) -> Check:
    try:
        return "smtp", True, asyncio.run(_smtp(cfg, tokens))
    except aiosmtplib.SMTPAuthenticationError as exc:
        keys = "smtp.username/[oauth2]" if cfg.smtp.auth == "oauth2" else "smtp.username/smtp.password"
        return "smtp", False, f"{keys}: {exc}"
    except OAuthError as exc:
        return "smtp", False, f"oauth2: {exc}"
    except (aiosmtplib.SMTPException, OSError) as exc:
        return "smtp", False, f"smtp.host/smtp.port: {exc}"


REQUIRED: dict[str, tuple[str, ...]] = {"imap": ("host", "username"), "smtp": ("host", "from_address"),
                                        "database": ()}


def check_required(cfg: Config, env: Mapping[str, str] | None = None) -> Check:
    """Every section the service needs is in the file, with the keys that have no useful
    default (a value from the environment counts)."""
    env = os.environ if env is None else env
    try:
        data = tomllib.loads(Path(cfg.source).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "sections", False, f"config: no config file read ({cfg.source}): [imap], [smtp], [database] needed"
    overridden = {spec for var, spec in ENV_OVERRIDES.items() if env.get(var)}
    missing = []
    for section, keys in REQUIRED.items():
        if section not in data and not any(s == section for s, _ in overridden):
            missing.append(f"[{section}] section")
            continue
        missing += [f"{section}.{key}" for key in keys
                    if not data.get(section, {}).get(key) and (section, key) not in overridden]
    if missing:
        return "sections", False, "missing: " + ", ".join(missing)
    return "sections", True, ", ".join(f"[{name}]" for name in REQUIRED)


def check_templates(cfg: Config, now: datetime | None = None) -> Check:
    """Every notice kind's three templates exist, compile, and render with a realistic sample
    of the context the workflow gives them (every branch they take on an event or deadline),
    as StrictUndefined renders them: a missing, broken or mistaken template is found here,
    not by the first complaint that needs it."""
    from jinja2 import TemplateError

    from mailproc.notices.render import make_environment
    from mailproc.vocabulary import NoticeKind

    key = "notices.templates_dir" if cfg.notices.templates_dir else "the installed templates"
    try:
        env = make_environment(cfg.notices.templates_dir or None)
    except Exception as exc:
        return "templates", False, f"{key}: {type(exc).__name__}: {exc}"
    problems = []
    for kind in NoticeKind:
        for part in TEMPLATE_PARTS:
            try:
                env.get_template(f"{kind}/{part}")
            except TemplateError as exc:
                problems.append(f"{kind}/{part}: {type(exc).__name__}: {exc}")
    if problems:
        return "templates", False, f"{key}: " + "; ".join(problems)
    problems = render_samples(env, cfg, now or datetime.now(UTC))
    if problems:
        return "templates", False, f"{key}: " + "; ".join(problems)
    return "templates", True, f"{len(NoticeKind) * 3} templates compile and render with sample data ({key})"


TEMPLATE_PARTS = ("subject.txt", "body.txt", "body.html")


def render_samples(env: Environment, cfg: Config, now: datetime) -> list[str]:
    """Each problem met rendering the sample contexts, naming the template (and the partial
    it includes, where the error is) once."""
    from mailproc.notices.outbox import dump_context, load_context
    from mailproc.notices.samples import sample_contexts

    problems: dict[str, str] = {}
    for kind, variant, context in sample_contexts(cfg, now):
        # The subject is rendered when a notice is queued; the bodies later, from the context
        # as the outbox stored it (JSON: an agent becomes a dict, a tuple a list).
        stored = load_context(dump_context(context))
        for part in TEMPLATE_PARTS:
            name = f"{kind}/{part}"
            if name in problems:
                continue
            try:
                env.get_template(name).render(**(context if part == "subject.txt" else stored))
            except Exception as exc:
                case = f" (sample: {variant})" if variant else ""
                problems[name] = f"{name}{_inner(exc, name)}{case}: {type(exc).__name__}: {exc}"
    return list(problems.values())


def _inner(exc: BaseException, name: str) -> str:
    """Where in the templates the error was raised, when in another template than ``name``
    (Jinja puts the template's file and line in the traceback)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith((".txt", ".html")):
            path = Path(frame.filename)
            inner = f"{path.parent.name}/{path.name}"
            return f" (in {inner}, line {frame.lineno})" if inner != name else f" (line {frame.lineno})"
    return ""


def check_database(cfg: Config, env: Mapping[str, str] | None = None) -> Check:
    env = os.environ if env is None else env
    origin = "MAILPROC_DATABASE_URL" if env.get("MAILPROC_DATABASE_URL") else "database.url"
    engine = make_engine(cfg.database)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current, head = current_revision(engine), head_revision()
        if current != head:
            problem = f"schema at {current or 'nothing'}, newest is {head}: run 'mailproc db upgrade'"
            return "database", False, f"{origin}: {problem}"
        return "database", True, f"{engine.url.render_as_string(hide_password=True)} at revision {current}"
    except Exception as exc:
        return "database", False, f"{origin}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
    finally:
        engine.dispose()


def trust_warnings(cfg: Config) -> list[str]:
    """What the agents' authentication relies on that mailproc cannot check from here."""
    auth, warnings = cfg.auth, list[str]()
    if not cfg.agents:
        return warnings
    if not (auth.trusted_authserv_ids or auth.exchange_online or auth.verify_dkim):
        warnings.append("[[agents]] are listed but no way to authenticate them is configured ([auth]): agents' "
                        "commands will be refused; only replies from the Sent folder are filed")
    if auth.trusted_authserv_ids:
        warnings.append(f"auth.trusted_authserv_ids: relies on {', '.join(auth.trusted_authserv_ids)} adding its own "
                        "Authentication-Results to every message and removing forged ones carrying its id "
                        "(check it does: OpenDKIM adds none to unsigned mail by default)")
    if auth.exchange_online:
        warnings.append("auth.exchange_online: relies on the mailbox being in Exchange Online and mail reaching it "
                        "only through Exchange Online (its header firewall removes X-MS-Exchange-Organization-* "
                        "from outside mail)")
    if auth.verify_dkim:
        warnings.append("auth.verify_dkim: relies on this machine's DNS resolver and on the agents' domain "
                        "DKIM-signing their mail; a stolen signing key would make anyone an agent")
    return warnings


def run_checks(cfg: Config) -> list[Check]:
    tokens = _tokens(cfg)
    checks = [check_oauth2(cfg, tokens)] if tokens is not None else []
    return [check_required(cfg), check_templates(cfg), *checks, check_imap(cfg, tokens), check_smtp(cfg, tokens),
            check_database(cfg)]
