"""The ``mailproc`` command line: the one place that loads the config and builds the app.

Every daemon loop has a one-shot command here (``poll --once``, ``process --once``,
``send --once``); ``run`` only puts the same calls on a timer.
"""

from __future__ import annotations

import atexit
import gc
import io
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select

from mailproc import config as config_mod
from mailproc.app import App
from mailproc.errors import ConfigError, MailprocError
from mailproc.ops.logs import setup_logging
from mailproc.ops.views import (
    cut,
    event_json,
    list_outbox,
    list_quarantine,
    list_tickets,
    message_json,
    outbox_json,
    stats,
    table,
    ticket_json,
)
from mailproc.store.models import Event, InboundMessage, Ticket, TicketMessage
from mailproc.vocabulary import Status

if TYPE_CHECKING:
    from mailproc.analysis.extract import evaluate as evaluate_mod


class Obj:
    """Holds the config path until a command needs the app (extract does not)."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._app: App | None = None

    def config(self) -> config_mod.Config:
        try:
            return config_mod.load(self.config_path)
        except ConfigError as exc:
            raise click.ClickException(f"configuration error: {exc}") from exc

    def app(self) -> App:
        if self._app is None:
            cfg = self.config()
            setup_logging(cfg.logging.level, fmt=cfg.logging.format)
            self._app = App.build(cfg)
            click.get_current_context().call_on_close(self._app.close)
        return self._app


def _app(ctx: click.Context, *, schema: bool = True, now: datetime | None = None) -> App:
    """Every command's one preamble: the app, built once from the config; unless ``schema`` is
    False, refuse to go on with a missing or out-of-date schema; with ``now`` (``--now``), its
    clock stands still at that moment (dry runs, backfills, tests)."""
    obj: Obj = ctx.obj
    app = obj.app()
    if schema:
        _require_schema(app)
    if now is not None:
        moment = _at(now, app)
        app.now = lambda: moment
    return app


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _require_schema(app: App) -> None:
    from mailproc.store.db import is_outage, outage_summary, sqlite_file
    from mailproc.store.migrate import is_up_to_date

    missing = sqlite_file(app.config.database.url)
    if missing is not None and not missing.exists():  # do not create an empty database by looking
        raise click.ClickException(f"no database at {missing}: run 'mailproc db upgrade' first "
                                   "(or point database.url / paths.state_dir at the right place)")
    try:
        with app.engine.connect() as conn:  # a database that cannot be used is not "out of date"
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:
        if not is_outage(exc):
            raise
        raise click.ClickException(f"the database cannot be used: {outage_summary(exc)}") from None
    if not is_up_to_date(app.engine):
        raise click.ClickException("the database schema is not up to date: run 'mailproc db upgrade' first")


def _at(now: datetime | None, app: App) -> datetime:
    """--now as an aware datetime (a naive value is read in the configured time zone)."""
    if now is None:
        return app.now()
    return now if now.tzinfo else now.replace(tzinfo=ZoneInfo(app.config.calendar.timezone))


def _parse_now(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date-time, e.g. 2026-11-25T08:30+07:00") from exc


NOW_OPTION = click.option("--now", "now", callback=_parse_now,
                          help="Act as of this ISO 8601 date-time (dry runs, backfills).")
DEFAULT_PAGE = 100
JSON_LIST_OPTION = click.option("--json", "as_json", is_flag=True,
                                help="Print a JSON list of every match (or of --limit of them).")
LIMIT_OPTION = click.option("--limit", type=click.IntRange(min=0), default=None,
                            help=f"Show at most this many (default: {DEFAULT_PAGE} in the table, all with --json).")
OFFSET_OPTION = click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True,
                             help="Skip this many first (with --limit: the next page).")


def _page_size(limit: int | None, as_json: bool) -> int | None:
    return limit if limit is not None else None if as_json else DEFAULT_PAGE


def _showing(shown: int, total: int, offset: int) -> None:
    """The line under every list: how much of it this is."""
    where = f" (from #{offset + 1})" if offset and shown else ""
    more = "; more with --limit/--offset" if offset + shown < total else ""
    click.echo(f"showing {shown} of {total}{where}{more}")


class MailprocGroup(click.Group):
    """The top-level group: its global options may also come after the subcommand
    (``mailproc stats --json --config FILE``), as operators type them."""

    global_options = ("--config",)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_options(args, self.global_options))


def hoist_options(args: list[str], names: tuple[str, ...]) -> list[str]:
    """Move ``--name VALUE`` / ``--name=VALUE`` for the given names to the front (not after ``--``)."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        if arg.split("=", 1)[0] in names:
            step = 1 if "=" in arg else 2
            front += args[i:i + step]
            i += step
            continue
        rest.append(arg)
        i += 1
    return front + rest


@click.group(cls=MailprocGroup)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="MAILPROC_CONFIG",
              help="Config file (default: $MAILPROC_CONFIG or /etc/mailproc/mailproc.toml).")
@click.version_option(package_name="mailproc")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """mailproc: K+ complaint e-mails in, tickets and notices out."""
    ctx.obj = Obj(config_path)
    # At exit the interpreter runs one last full collection over every object a long run
    # left (caches, compiled SQL and templates, tables): up to 0.2 s on one core for
    # nothing, as the process is going. Freezing them first skips it; what needs closing
    # (database, files, log handlers) is closed explicitly or by the later atexit handlers.
    atexit.register(gc.freeze)


# --- one-shot stages -----------------------------------------------------------------------

@main.command()
@click.option("--once", is_flag=True, help="Fetch and process what is there, then exit.")
@NOW_OPTION
@click.pass_context
def poll(ctx: click.Context, once: bool, now: datetime | None) -> None:
    """Fetch new mail from IMAP, store it and process it into tickets."""
    if not once:
        raise click.UsageError("use 'mailproc run' for the daemon, or 'mailproc poll --once'")
    app = _app(ctx, now=now)
    app.start_workers()
    failed = False
    while True:
        report, processed = app.intake_once(ignore_backoff=True)
        click.echo(str(report), err=True)
        click.echo(str(processed), err=True)
        if report.error:
            failed = True
            break
        if report.left_behind == 0 or report.stored + report.duplicates == 0:
            break
    if failed:
        raise click.ClickException(f"IMAP poll failed: {report.error}")


@main.command()
@click.option("--once", is_flag=True, required=True, help="Process stored messages, then exit.")
@NOW_OPTION
@click.pass_context
def process(ctx: click.Context, once: bool, now: datetime | None) -> None:
    """Turn stored messages into tickets (no IMAP access)."""
    app = _app(ctx, now=now)
    click.echo(str(app.process_once()), err=True)


@main.command()
@click.option("--once", is_flag=True, required=True, help="Deliver what is due in the outbox, then exit.")
@NOW_OPTION
@click.pass_context
def send(ctx: click.Context, once: bool, now: datetime | None) -> None:
    """Deliver due outbox e-mails over SMTP."""
    app = _app(ctx, now=now)
    report = app.send_once()
    click.echo(f"send: {report}", err=True)


@main.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Run the daemon: poll, process and send on a timer until interrupted."""
    from mailproc.ops.scheduler import run_daemon

    app = _app(ctx)
    app.start_workers()
    run_daemon(app)


# --- extraction ----------------------------------------------------------------------------

@main.command()
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--eval", "eval_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Score a folder of labelled NAME.eml + NAME.json pairs instead.")
@click.pass_context
def extract(ctx: click.Context, file: Path | None, as_json: bool, eval_dir: Path | None) -> None:
    """Extract the customer's identifiers from an .eml file, or score a labelled folder."""
    from mailproc.analysis.extract import evaluate

    cfg = ctx.obj.config()
    tz = ZoneInfo(cfg.calendar.timezone)
    if eval_dir is not None:
        report = _evaluate(eval_dir, cfg, tz)
        click.echo(json.dumps(report.as_json(), ensure_ascii=False) if as_json else "\n".join(report.lines()))
        return
    if file is None:
        raise click.UsageError("give an .eml FILE, or --eval DIR")
    try:
        found = evaluate.extract_message(file.read_bytes(), parsing=cfg.parsing, config=cfg.extract, tz=tz,
                                         today=evaluate.today_in(tz))
    except MailprocError as exc:
        raise click.ClickException(f"{file}: {exc}") from exc
    data = found.as_json()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    # "found by": where, and how sure ("label, high"); then what the address names.
    rows = [(k, v, ", ".join(filter(None, (found.provenance.get(k), found.confidence.get(k)))))
            for k, v in data.items()]
    rows += [(k, v, "gazetteer") for k, v in (("province", found.province), ("ward", found.ward)) if v]
    click.echo(table(["field", "value", "found by"], rows, max_width=80))


def _evaluate(folder: Path, cfg: config_mod.Config, tz: ZoneInfo) -> evaluate_mod.Report:
    """``extract --eval``: every NAME.eml of ``folder`` beside its NAME.json, scored."""
    from mailproc.analysis.extract import evaluate

    results: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    errors: list[tuple[str, str]] = []
    today = evaluate.today_in(tz)
    for eml in sorted(folder.glob("*.eml")):
        label = eml.with_suffix(".json")
        try:
            expected = json.loads(label.read_text(encoding="utf-8"))
            found = evaluate.extract_message(eml.read_bytes(), parsing=cfg.parsing, config=cfg.extract,
                                             tz=tz, today=today)
        except FileNotFoundError:
            errors.append((eml.name, f"no label {label.name}"))
            continue
        except (ValueError, MailprocError) as exc:
            errors.append((eml.name, str(exc)))
            continue
        results.append((eml.stem, expected, evaluate.record_of(found)))
    report = evaluate.score(results)
    report.errors += errors
    return report


# --- configuration and database ------------------------------------------------------------

@main.command("check-config")
@click.pass_context
def check_config(ctx: click.Context) -> None:
    """Validate the config file and connect to IMAP, SMTP and the database."""
    from mailproc.ops.checks import run_checks, trust_warnings

    cfg = ctx.obj.config()
    click.echo(f"config: {cfg.source}: OK")
    ok = True
    for name, success, detail in run_checks(cfg):
        ok &= success
        click.echo(f"{name}: {'OK' if success else 'FAILED'}: {detail}")
    for warning in trust_warnings(cfg):
        click.echo(f"warning: {warning}")
    if not ok:
        sys.exit(1)


@main.group("config")
def config_group() -> None:
    """The configuration file."""


@config_group.command("init")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
def config_init(path: Path, force: bool) -> None:
    """Write the commented default configuration (every option with its default) to PATH."""
    from mailproc.shipped import default_config_file

    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; use --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(default_config_file().read_text(encoding="utf-8"), encoding="utf-8")
    path.chmod(0o640)  # it will hold passwords
    click.echo(f"wrote {path}: edit [imap], [smtp], [database], [notices], then 'mailproc check-config'")


@main.group("oauth")
def oauth_group() -> None:
    """OAuth 2.0 sign-in for Microsoft 365 and Google Workspace mailboxes."""


@oauth_group.command("login")
@click.option("--port", default=0, show_default=True, help="google: the loopback port for the browser's redirect.")
@click.option("--timeout", default=600.0, show_default=True, type=click.FloatRange(min=1),
              help="google: seconds to wait for the browser to come back.")
@click.pass_context
def oauth_login(ctx: click.Context, port: int, timeout: float) -> None:
    """Sign the mailbox's user in once (delegated access); the refresh token is kept in the
    state directory and renewed by mailproc from then on. A declined or expired sign-in exits
    with status 1 and stores nothing."""
    from mailproc.errors import OAuthError
    from mailproc.oauth2.login import google_installed_app_login, microsoft_device_login
    from mailproc.oauth2.tokens import Tokens

    cfg = ctx.obj.config()
    o = cfg.oauth2
    if isinstance(sys.stdout, io.TextIOWrapper):
        # The address to open must show at once, even through a pipe or a log (google-auth
        # prints it with print()), or nobody can sign in while the command waits.
        sys.stdout.reconfigure(line_buffering=True)
    say = click.echo
    try:
        if o.provider == "microsoft":
            grant = microsoft_device_login(o, say=say)
        elif o.provider == "google":
            grant = google_installed_app_login(o, say=say, port=port, timeout=timeout)
        else:
            raise click.ClickException("oauth login is for provider = microsoft or google; the generic provider "
                                       "takes a client secret or a refresh token in [oauth2]")
    except OAuthError as exc:
        raise click.ClickException(f"{exc}; nothing was stored") from exc
    user = cfg.imap.username if cfg.imap.auth == "oauth2" else cfg.smtp.username or cfg.imap.username
    manager = Tokens(o, state_dir=Path(cfg.paths.state_dir)).manager(user)
    state = manager.adopt(grant)
    click.echo(f"signed in as {state.identity}; the refresh token is kept in {manager.store.path}")


@oauth_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def oauth_status(ctx: click.Context, as_json: bool) -> None:
    """Which identity the cached token acts as, until when, and the last error (no network)."""
    from mailproc.oauth2.tokens import Tokens

    cfg = ctx.obj.config()
    user = cfg.imap.username if cfg.imap.auth == "oauth2" else cfg.smtp.username or cfg.imap.username
    manager = Tokens(cfg.oauth2, state_dir=Path(cfg.paths.state_dir)).manager(user)
    info = {"provider": cfg.oauth2.provider, **manager.describe()}
    if as_json:
        _echo_json(info)
        return
    for key, value in info.items():
        click.echo(f"{key}: {value if value is not None else '-'}")


@main.group()
def db() -> None:
    """Database schema and backup commands."""


NO_BACKUP_OPTION = click.option("--no-backup", is_flag=True,
                                help="SQLite: skip the backup to STATE_DIR/backups taken before migrating.")


def _backup_before(app: App, revision: str, no_backup: bool) -> None:
    """The copy of a SQLite database taken before its schema changes (unless --no-backup)."""
    from mailproc.store.backup import BackupError, backup_before_migration

    if app.engine.dialect.name != "sqlite":
        click.echo("PostgreSQL: no automatic backup; take one first with 'mailproc db backup PATH' (pg_dump)",
                   err=True)
        return
    if no_backup:
        return
    local = app.now().astimezone(ZoneInfo(app.config.calendar.timezone))
    try:
        taken = backup_before_migration(app.engine, Path(app.config.paths.state_dir), revision, local)
    except BackupError as exc:
        raise click.ClickException(f"{exc}; the schema was not changed (--no-backup to go on without one)") from exc
    if taken is not None:
        click.echo(f"backup: {taken.path} ({taken.size:,} bytes, {taken.check})")


@db.command("upgrade")
@NO_BACKUP_OPTION
@click.pass_context
def db_upgrade(ctx: click.Context, no_backup: bool) -> None:
    """Create or migrate the schema to the newest revision (SQLite: backed up first when
    there is a schema to migrate)."""
    from mailproc.store.db import sqlite_file
    from mailproc.store.migrate import current_revision, head_revision, upgrade

    app = _app(ctx, schema=False)
    head = head_revision() or "head"
    path = sqlite_file(app.config.database.url)
    new = path is not None and not path.exists()  # (looking would create the file)
    if not new and current_revision(app.engine) not in (None, head):
        _backup_before(app, head, no_backup)
    upgrade(app.engine)
    click.echo(f"database at revision {current_revision(app.engine)}")


@db.command("downgrade")
@click.argument("revision")
@NO_BACKUP_OPTION
@click.pass_context
def db_downgrade(ctx: click.Context, revision: str, no_backup: bool) -> None:
    """Take the schema back to REVISION (e.g. 0004, or base), before installing an older
    mailproc; what a newer revision added may be lost (SQLite: backed up first)."""
    from mailproc.store.db import sqlite_file
    from mailproc.store.migrate import current_revision, downgrade, downgrade_steps

    app = _app(ctx, schema=False)
    path = sqlite_file(app.config.database.url)
    if path is not None and not path.exists():
        raise click.ClickException(f"no database at {path}")
    try:
        steps = downgrade_steps(current_revision(app.engine), revision)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    _backup_before(app, revision, no_backup)
    downgrade(app.engine, revision)
    click.echo(f"undid {', '.join(steps)}; database at revision {current_revision(app.engine) or 'base (empty)'}")


@db.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@click.pass_context
def db_backup(ctx: click.Context, path: Path, force: bool) -> None:
    """Back the database up to PATH while mailproc runs. SQLite: an online copy, checked
    (PRAGMA integrity_check), restored by copying it back in place with the daemon stopped.
    PostgreSQL: a pg_dump archive (--format=custom; restore with pg_restore)."""
    from mailproc.store.backup import BackupError, backup_database

    cfg = ctx.obj.config()
    setup_logging(cfg.logging.level, fmt=cfg.logging.format)
    try:
        taken = backup_database(cfg.database.url, path.absolute(), overwrite=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup: {taken.path} ({taken.size:,} bytes, {taken.check})")


# --- quarantine ----------------------------------------------------------------------------

@main.group()
def quarantine() -> None:
    """Messages that could not be processed."""


@quarantine.command("list")
@JSON_LIST_OPTION
@LIMIT_OPTION
@OFFSET_OPTION
@click.pass_context
def quarantine_list(ctx: click.Context, as_json: bool, limit: int | None, offset: int) -> None:
    """Quarantined messages, oldest first: sender, subject, date and why (retry with 'quarantine retry ID')."""
    app = _app(ctx)
    tz = ZoneInfo(app.config.calendar.timezone)
    with app.sessions() as session:
        rows, total = list_quarantine(session, limit=_page_size(limit, as_json), offset=offset)
    for r in rows:
        r["fetched_at"] = r["fetched_at"].astimezone(tz).isoformat()
    if as_json:
        _echo_json(rows)
        return
    click.echo(table(["id", "from", "subject", "date", "fetched", "bytes", "error"],
                     [(r["id"], r["from"], r["subject"], r["date"], r["fetched_at"][:16].replace("T", " "), r["size"],
                       r["error"]) for r in rows],
                     max_width=40))
    _showing(len(rows), total, offset)


@quarantine.command("retry")
@click.argument("inbound_id", type=click.IntRange(min=1))
@click.pass_context
def quarantine_retry(ctx: click.Context, inbound_id: int) -> None:
    """Queue a quarantined message again and process it now."""
    from mailproc.workflow.process import retry_quarantined

    app = _app(ctx)
    if not retry_quarantined(app.sessions, inbound_id):
        raise click.ClickException(f"message {inbound_id} is not in quarantine")
    report = app.process_once()
    click.echo(str(report))
    with app.sessions() as session:
        row = session.get(InboundMessage, inbound_id)
        assert row is not None
        click.echo(f"message {inbound_id}: {row.status}" + (f" ({row.error})" if row.error else f" ({row.outcome})"))


# --- tickets, outbox, stats ----------------------------------------------------------------

@main.group()
def tickets() -> None:
    """Look at tickets."""


@tickets.command("list")
@JSON_LIST_OPTION
@click.option("--status", type=click.Choice([s.value for s in Status]), default=None,
              help="Only tickets in this status.")
@LIMIT_OPTION
@OFFSET_OPTION
@click.pass_context
def tickets_list(ctx: click.Context, as_json: bool, status: str | None, limit: int | None, offset: int) -> None:
    """Tickets, newest first."""
    app = _app(ctx)
    tz = ZoneInfo(app.config.calendar.timezone)
    with app.sessions() as session:
        rows, total = list_tickets(session, status=status, limit=_page_size(limit, as_json), offset=offset)
        data = [ticket_json(t, n, tz) for t, n in rows]
    if as_json:
        _echo_json(data)
        return
    click.echo(table(
        ["ref", "status", "queue", "received", "name", "phone", "card", "decoder", "accept by", "reply by", "flags"],
        [(d["ref"], d["status"], d["queue"] or "-", d["received_at"][:16].replace("T", " "), d["name"],
          d["phone"], d["smartcard"], d["decoder"], d["accept_due"], d["reply_due"], ",".join(d["flags"]))
         for d in data]))
    _showing(len(data), total, offset)


@tickets.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: the ticket, its messages' texts ('thread') and its events.")
@click.option("--history", is_flag=True, hidden=True, help="(Kept for old scripts: the events are always there.)")
@click.option("--full", is_flag=True, help="Print whole message texts (by default each is cut, marked).")
@click.pass_context
def tickets_show(ctx: click.Context, ref: str, as_json: bool, history: bool, full: bool) -> None:
    """One ticket: its fields, its messages in and out, and its event log."""
    app = _app(ctx)
    tz = ZoneInfo(app.config.calendar.timezone)
    with app.sessions() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.ref == ref.upper()))
        if ticket is None:
            raise click.ClickException(f"no ticket {ref}")
        messages = list(session.scalars(select(TicketMessage).where(TicketMessage.ticket_id == ticket.id)
                                        .order_by(TicketMessage.id)))
        events = list(session.scalars(select(Event).where(Event.ticket_id == ticket.id).order_by(Event.id)))
        data = ticket_json(ticket, len(messages), tz)
        if as_json:
            data["thread"] = [message_json(m, tz) for m in messages]  # "messages" stays the count
            data["events"] = [event_json(e, tz) for e in events]
            _echo_json(data)
            return
        click.echo(table(["field", "value"], list(data.items()), max_width=90))
        click.echo(f"\nmissing: {', '.join(ticket.missing) or '-'}   time limit: {ticket.time_limit}")
        sources = [f"{name} {ticket.identifier_provenance.get(name) or '?'}/{level}"
                   for name, level in (ticket.identifier_confidence or {}).items()]
        click.echo(f"found by: {', '.join(sources) or '-'}")
        click.echo("\nmessages:")
        for m in messages:
            click.echo(f"  [{m.direction}] {m.created_at.astimezone(tz):%d/%m/%Y %H:%M} {m.from_address} "
                       f"{m.subject!r}")
            for line in (m.body_text if full else cut(m.body_text)).splitlines():
                click.echo(f"      {line}")
        click.echo("\nevents:")
        for e in events:
            detail = json.dumps(e.detail, ensure_ascii=False)
            click.echo(f"  {e.at.astimezone(tz):%d/%m/%Y %H:%M} {e.actor}: {e.kind} {detail}")


@tickets.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and count what it would import; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@NOW_OPTION
@click.pass_context
def tickets_import(ctx: click.Context, file: Path, dry_run: bool, as_json: bool, now: datetime | None) -> None:
    """Import complaints logged in the call centre's own system from a CSV file (see the README):
    a ticket and its receipt for each new line; nothing at all when any line is bad (each listed, exit 1)."""
    from mailproc.workflow.bulk_import import import_tickets

    app = _app(ctx, now=now)
    report = import_tickets(app.sessions, app.context(), file.read_bytes(), source=file.name, now=app.now(),
                            dry_run=dry_run)
    if as_json:
        _echo_json(report.as_json())
    else:
        click.echo(str(report))
    if not report.ok:
        ctx.exit(1)


@main.group()
def corrections() -> None:
    """What agents corrected with #set, for measuring extraction."""


@corrections.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def corrections_export(ctx: click.Context, folder: Path) -> None:
    """Write each corrected ticket's original mail (REF.eml) and its corrected fields (REF.json)
    into FOLDER: a labelled set for 'mailproc extract --eval FOLDER'."""
    from mailproc.ops.corrections import export_corrections

    app = _app(ctx)
    with app.sessions() as session:
        report = export_corrections(session, folder)
    for item in report.written:
        click.echo(f"{item.ref}: {', '.join(item.fields)}")
    for ref, why in report.skipped:
        click.echo(f"not exported: {ref}: {why}", err=True)
    click.echo(f"{len(report.written)} corrected mails written to {folder}")


def _identifier_options(fn: Any) -> Any:
    for name, what in (("card", "smart-card number (digits)"), ("phone", "phone number (any format)"),
                       ("email", "e-mail address (any case)")):
        fn = click.option(f"--{name}", name, default=None, help=f"The customer's {what}.")(fn)
    return fn


def _selector(app: App, email: str | None, phone: str | None, card: str | None) -> Any:
    from mailproc.ops.privacy import PrivacyError, selector

    given = [(kind, value) for kind, value in (("email", email), ("phone", phone), ("card", card)) if value]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --email, --phone, --card")
    try:
        return selector(*given[0], app.config.extract)
    except PrivacyError as exc:
        raise click.BadParameter(str(exc)) from None


@main.group()
def customer() -> None:
    """A customer's personal data: export it, erase it (Decree 13/2023/NĐ-CP)."""


@customer.command("export")
@_identifier_options
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Write under this folder (a sub-folder named without personal data).")
@click.pass_context
def customer_export(ctx: click.Context, email: str | None, phone: str | None, card: str | None, out: Path) -> None:
    """Write everything held about one customer (tickets, messages, raw mail, attachments,
    events, notices) as customer.json plus files, readable by the owner only."""
    from mailproc.ops.privacy import export_person

    app = _app(ctx)
    who = _selector(app, email, phone, card)
    with app.sessions() as session:
        report = export_person(session, who, out, now=app.now())
    click.echo(f"{len(report.tickets)} ticket(s) ({', '.join(report.tickets) or '-'}), "
               f"{report.files} file(s) written to {report.folder}")


@customer.command("erase")
@_identifier_options
@click.option("--yes", is_flag=True, help="Really erase (irreversible); without it, show what would be erased.")
@click.pass_context
def customer_erase(ctx: click.Context, email: str | None, phone: str | None, card: str | None, yes: bool) -> None:
    """Anonymise one customer's tickets irreversibly: identifiers, texts, raw mail, attachments
    and notices removed; statuses, dates, deadlines and counts kept; an 'erased' event added."""
    from mailproc.ops.privacy import erase_person
    from mailproc.store.db import transaction

    app = _app(ctx)
    who = _selector(app, email, phone, card)
    with transaction(app.sessions) as session:
        report = erase_person(session, who, now=app.now(), actor="operator", dry_run=not yes)
    if not report.tickets:
        click.echo("no ticket of this customer")
        return
    if not yes:
        click.echo(f"would erase: {report}")
        click.echo("nothing changed: add --yes to erase (irreversible)")
        ctx.exit(1)
    click.echo(f"erased: {report}")


@main.group()
def retention() -> None:
    """The [retention] purge of old raw mail and attachments."""


@retention.command("purge")
@click.option("--dry-run", is_flag=True, help="Show what would be purged; change nothing.")
@NOW_OPTION
@click.pass_context
def retention_purge(ctx: click.Context, dry_run: bool, now: datetime | None) -> None:
    """Purge the raw mail and attachments of tickets done more than retention.raw_days days ago
    (the deadline sweep does it once a day)."""
    from mailproc.workflow.retention import purge_once

    app = _app(ctx, now=now)
    report = purge_once(app.sessions, app.ctx, now=app.now, dry_run=dry_run)
    click.echo(str(report))
    for ref in report.tickets:
        click.echo(f"  {ref}")


@main.group()
def outbox() -> None:
    """Look at outgoing e-mail."""


@outbox.command("list")
@JSON_LIST_OPTION
@click.option("--status", type=click.Choice(["queued", "in_doubt", "sent", "bounced", "failed"]), default=None,
              help="Only these (bounced: sent, then a bounce came back).")
@LIMIT_OPTION
@OFFSET_OPTION
@click.pass_context
def outbox_list(ctx: click.Context, as_json: bool, status: str | None, limit: int | None, offset: int) -> None:
    """Outgoing e-mail, newest first, with its status, tries and last error or bounce."""
    app = _app(ctx)
    with app.sessions() as session:
        rows, total = list_outbox(session, status=status, limit=_page_size(limit, as_json), offset=offset)
        data = [outbox_json(item, ref) for item, ref in rows]
    if as_json:
        _echo_json(data)
        return
    click.echo(table(["id", "ticket", "kind", "to", "status", "tries", "subject", "last error or bounce"],
                     [(d["id"], d["ticket_ref"], d["kind"], d["to"], d["status"], d["attempts"], d["subject"],
                       d["bounce_reason"] or d["last_error"]) for d in data]))
    _showing(len(data), total, offset)


@outbox.command("retry")
@click.argument("ids", nargs=-1, type=click.IntRange(min=1))
@click.option("--failed", is_flag=True, help="Every failed notice (with --since: created since then).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%d %H:%M"]), default=None,
              help="With --failed: only notices created at or after this local date/time.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: requeued and refused.")
@click.pass_context
def outbox_retry(ctx: click.Context, ids: tuple[int, ...], failed: bool, since: datetime | None,
                 as_json: bool) -> None:
    """Queue failed (or in-doubt) notices again: IDS, or --failed [--since DATE].

    Attempts start over; each keeps its Message-ID and bytes. An in-doubt notice named by its
    ID is sent without first looking for the platform's copy."""
    from mailproc.notices.outbox import requeue

    if not ids and not failed:
        raise click.UsageError("name notices by ID, or give --failed")
    if since is not None and not failed:
        raise click.UsageError("--since goes with --failed")
    app = _app(ctx)
    moment = _at(since, app) if since is not None else None
    with app.sessions() as session:
        result = requeue(session, now=app.now(), ids=ids, failed=failed, since=moment)
        session.commit()
    if as_json:
        _echo_json({"requeued": list(result.ids), "refused": [{"id": i, "reason": r} for i, r in result.refused]})
    else:
        click.echo(f"queued again: {len(result.ids)}" + (f" ({', '.join(map(str, result.ids))})" if result.ids else ""))
        for row_id, reason in result.refused:
            click.echo(f"not queued: {row_id}: {reason}", err=True)
    if result.refused:
        ctx.exit(1)


@main.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@NOW_OPTION
@click.pass_context
def stats_cmd(ctx: click.Context, as_json: bool, now: datetime | None) -> None:
    """Counts of stored messages, tickets, quarantine and outbox; the last good poll and send,
    and the age of the oldest waiting notice."""
    app = _app(ctx, now=now)
    with app.sessions() as session:
        data = stats(session, app.config, app.now())
    if as_json:
        _echo_json(data)
        return
    click.echo(table(["what", "value"], [(k, "-" if v is None else v) for k, v in data.items()]))


@main.command("metrics")
@NOW_OPTION
@click.pass_context
def metrics_cmd(ctx: click.Context, now: datetime | None) -> None:
    """Print the Prometheus metrics once, as the daemon serves them on [metrics] listen
    (read from the database: no daemon needed)."""
    from mailproc.ops.metrics import exposition

    click.echo(exposition(_app(ctx, now=now)), nl=False)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: healthy, reasons, facts.")
@NOW_OPTION
@click.pass_context
def health(ctx: click.Context, as_json: bool, now: datetime | None) -> None:
    """Exit 0 if the service is doing its job, 1 with the reasons if not (for monitoring
    systems and container probes). Judged from the database, the token cache and the
    scheduler lock only: it never connects to IMAP or SMTP. Thresholds: [health]."""
    from mailproc.ops.health import gather, judge

    try:
        app = _app(ctx, now=now)
        with app.sessions() as session:
            facts = gather(session, app.config, app.now())
    except click.ClickException:
        raise
    except Exception as exc:  # an unreachable database is an answer, not a traceback
        raise click.ClickException(f"unhealthy: database: {type(exc).__name__}") from None
    reasons = judge(facts, app.config.health)
    data = facts.as_json(ZoneInfo(app.config.calendar.timezone))
    if as_json:
        _echo_json({"healthy": not reasons, "reasons": reasons, "facts": data})
    else:
        click.echo("healthy" if not reasons else "unhealthy:")
        for reason in reasons:
            click.echo(f"  - {reason}")
        click.echo(table(["fact", "value"], [(k, "-" if v is None else v) for k, v in data.items()
                                             if k not in ("mailboxes", "oauth2", "scheduler", "now")]))
        holder = data["scheduler"].get("holder")
        click.echo(f"scheduler lock: {'held' if data['scheduler'].get('held') else 'not held'}"
                   + (f" by {holder}" if holder else ""))
    if reasons:
        sys.exit(1)


@main.command()
@NOW_OPTION
@click.pass_context
def sweep(ctx: click.Context, now: datetime | None) -> None:
    """Deadline notices, automatic acceptances, written replies, reminders and alerts due now."""
    app = _app(ctx, now=now)
    click.echo(str(app.sweep_once()))


@main.command()
@click.option("--now", "now", callback=_parse_now, help="The digest as of this ISO date-time.")
@click.option("--send", is_flag=True, help="Also queue it to the supervisors (once per day).")
@click.pass_context
def digest(ctx: click.Context, now: datetime | None, send: bool) -> None:
    """The supervisors' digest: printed here, and with --send e-mailed."""
    app = _app(ctx, now=now)
    run = app.digest_once(send=send)
    click.echo(run.text)
    if send:
        click.echo(f"queued for {run.queued} supervisor(s)", err=True)


@main.group()
def calendar() -> None:
    """The working-day calendar (Vietnamese public holidays plus the company's lists)."""


@calendar.command("due")
@click.option("--from", "start", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--days", required=True, type=click.IntRange(min=0), help="Working days.")
@click.pass_context
def calendar_due(ctx: click.Context, start: datetime, days: int) -> None:
    """The day N working days after --from (that day not counted), and the days skipped."""
    from mailproc.core.workdays import WorkCalendar

    cal = WorkCalendar.from_config(ctx.obj.config().calendar)
    due = cal.add_working_days(start.date(), days)
    click.echo(f"due: {due.isoformat()} ({due:%d/%m/%Y})")
    for day, reason in cal.skipped_days(start.date(), due):
        click.echo(f"  skipped {day.isoformat()} ({day:%d/%m/%Y}): {reason}")


@main.command()
@click.option("--dir", "workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to keep the throwaway mail stack and database (default: a temp dir).")
@click.option("--keep", is_flag=True, help="Keep the mail stack running until Ctrl-C at the end.")
def demo(workdir: Path | None, keep: bool) -> None:
    """Run mailproc end to end on a throwaway local mail stack (Dovecot + SMTP) and SQLite."""
    try:
        from mailproc.ops.demo import run_demo
    except ModuleNotFoundError as exc:  # the SMTP server of the throwaway stack
        raise click.ClickException(f"the demo needs the 'demo' extra ({exc.name} is missing): "
                                   "pip install 'mailproc[demo]'") from exc
    run_demo(workdir, keep=keep)


if __name__ == "__main__":  # pragma: no cover
    main()
