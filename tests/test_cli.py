"""The ``mailproc`` command line, driven as an operator drives it: a TOML file and CliRunner.

The end-to-end tests run against the session's real Dovecot + SMTP stack and both database
backends; the JSON outputs are contracts, so their keys are compared exactly and their values
against what the delivered mails contained.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from mailproc import shipped
from mailproc.cli import hoist_options, main
from mailproc.config import CalendarConfig
from mailproc.core.workdays import WorkCalendar
from mailproc.store.migrate import head_revision
from mailproc.store.models import OutboxItem
from mailproc.testing.devstack import MailStack
from tests.helpers.cli import (
    EXTRACT_KEYS,
    MAILPROC_VARS,
    OUTBOX_KEYS,
    REF_PATTERN,
    STATS_KEYS,
    TICKET_KEYS,
    Workspace,
    customer,
    free_port,
    invoke,
    toml_text,
)
from tests.helpers.mail import complaint, message

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
SUBJECT = "Mất sóng K+ từ 3 ngày nay"
NO_CARD_BODY = """Chào K+,

Tôi tên là Trần Thị Bình, đầu thu nhà tôi không vào được kênh nào từ hôm qua.
Số điện thoại: 0987 654 321

Cảm ơn.
"""


def _shipped_templates() -> int:
    """Every notice kind's subject, text and HTML template, as shipped."""
    from mailproc.shipped import templates_dir

    return sum(1 for path in templates_dir().glob("*/*") if path.is_file() and not path.parent.name.startswith("_"))


@pytest.fixture
def ws(mailstack: MailStack, shared_mailbox: str, database_url: str, tmp_path: Path) -> Workspace:
    workspace = Workspace(mailstack, shared_mailbox, database_url, tmp_path)
    workspace.configure()
    return workspace


@pytest.fixture
def migrated(ws: Workspace) -> Workspace:
    ws.cli("db", "upgrade")
    return ws


# stats --json's times (issue 12), beside the counts.
STATS_TIMES = {"last_poll_ok_at", "last_send_ok_at", "oldest_queued_age_s"}


def _zero_stats() -> dict[str, int]:
    return dict.fromkeys(STATS_KEYS, 0)


def _counts(stats: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in stats.items() if k not in STATS_TIMES}


# --- configuration file errors (no servers needed) ---------------------------------------------

@pytest.mark.parametrize(("section", "key", "value"), [
    ("imap", "port", "143"),             # a string where a number belongs
    ("smtp", "port", 70000),             # not a TCP port
    ("imap", "batch_size", 0),
    ("imap", "prot", 143),               # a typo: unknown option
    ("smtp", "from_address", "cskh"),
    ("database", "url", "mailproc.sqlite3"),
    ("calendar", "timezone", "Asia/Hanoi_City"),
    ("calendar", "extra_days_off", ["2026-02-30"]),
    ("filters", "rules", ["no_such_rule"]),
    # Values that once got through the loader and broke a stage when the CLI ran with them:
    ("logging", "level", "LOUD"),
    ("scheduler", "process_batch", 0),
    ("imap", "max_per_poll", 0),
    ("imap", "timeout", -1.0),
    ("smtp", "timeout", -1.0),
    ("calendar", "accept_days", -1),
    ("parsing", "max_message_bytes", 0),
    ("notices", "templates_dir", "/nonexistent"),
    ("notices", "ref_prefix", ""),
])
def test_a_bad_config_value_exits_nonzero_naming_the_key(tmp_path: Path, section: str, key: str,
                                                         value: object) -> None:
    sections: dict[str, dict[str, object]] = {section: {key: value}}
    if section != "database":  # never the default ./var/mailproc.sqlite3 under the work tree
        sections["database"] = {"url": f"sqlite:///{tmp_path}/mailproc.sqlite3"}
    path = tmp_path / "bad.toml"
    path.write_text(toml_text(sections), encoding="utf-8")
    for command in (["check-config"], ["tickets", "list", "--json"]):
        result = invoke(path, *command, quiet_leaks=True)  # an accepted bad value may crash
        assert result.exit_code != 0
        assert isinstance(result.exception, SystemExit)  # a message, not a traceback
        assert f"{section}.{key}" in result.stderr
        assert result.stdout == ""


def test_a_missing_config_file_is_an_error(tmp_path: Path) -> None:
    result = invoke(tmp_path / "nope.toml", "check-config")
    assert result.exit_code == 1
    assert "does not exist" in result.stderr


def test_extract_json_prints_exactly_the_eight_keys(tmp_path: Path) -> None:
    eml = tmp_path / "khieu-nai.eml"
    eml.write_bytes(complaint(sender="Lê Thị Hoa <hoa.le@example.vn>", name="Lê Thị Hoa",
                              card="7012 3456 7890", phone="0903 123 456"))
    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")

    result = invoke(config, "extract", str(eml), "--json")

    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip().splitlines()) == 1
    data = json.loads(result.stdout)
    assert set(data) == EXTRACT_KEYS
    assert data == {
        "name": "Lê Thị Hoa",
        "address": "12 Nguyễn Trãi, Thanh Xuân, Hà Nội",
        "phone": "+84903123456",
        "email": "hoa.le@example.vn",
        "smartcard": "701234567890",
        "decoder": None,
        "incident_date": "2026-10-28",
        "category": "other",
    }
    human = invoke(config, "extract", str(eml))
    assert human.exit_code == 0
    assert human.stdout.splitlines()[0].split() == ["field", "value", "found", "by"]
    assert "701234567890" in human.stdout


# --- database and connectivity checks ----------------------------------------------------------

@pytest.mark.e2e
def test_db_upgrade_then_check_config_passes(ws: Workspace) -> None:
    before = ws.cli("check-config", expect=1)
    lines = before.stdout.splitlines()
    assert lines[0] == f"config: {ws.config_path}: OK"
    assert lines[1] == "sections: OK: [imap], [smtp], [database]"
    assert lines[2].startswith(f"templates: OK: {_shipped_templates()} templates compile")
    assert lines[3].startswith("imap: OK")
    assert lines[4].startswith("smtp: OK")
    assert lines[5].startswith("database: FAILED: database.url:")
    assert "mailproc db upgrade" in lines[5]
    # Nothing that needs the schema runs before it exists.
    assert "db upgrade" in ws.cli("poll", "--once", expect=1).stderr
    assert "db upgrade" in ws.cli("send", "--once", expect=1).stderr

    head = head_revision()
    assert ws.cli("db", "upgrade").stdout.strip() == f"database at revision {head}"
    assert ws.cli("db", "upgrade").stdout.strip() == f"database at revision {head}"  # idempotent

    after = ws.cli("check-config")
    assert [line.split(":")[0] for line in after.stdout.splitlines()] == [
        "config", "sections", "templates", "imap", "smtp", "database"]
    assert all(": OK" in line for line in after.stdout.splitlines())
    assert f"revision {head}" in after.stdout


@pytest.mark.e2e
def test_check_config_wants_every_required_section_blames_the_environment_and_compiles_templates(
        migrated: Workspace, tmp_path: Path) -> None:
    ws = migrated
    text = ws.config_path.read_text(encoding="utf-8")
    without = re.sub(r"\[imap\][^\[]*", "", text)
    without = re.sub(r"\[database\][^\[]*", "", without)
    ws.config_path.write_text(without, encoding="utf-8")
    result = ws.cli("check-config", expect=1)
    assert "sections: FAILED: missing: [imap] section, [database] section" in result.stdout

    ws.configure()  # the whole file again
    port = free_port()
    runner = CliRunner(env={**dict.fromkeys(MAILPROC_VARS),
                            "MAILPROC_DATABASE_URL": f"postgresql+psycopg://u:s3cret@127.0.0.1:{port}/x"})
    result = runner.invoke(main, ["check-config", "--config", str(ws.config_path)])
    assert result.exit_code == 1
    assert "database: FAILED: MAILPROC_DATABASE_URL:" in result.output and "s3cret" not in result.output
    for bad in ("postgres://u:s3cret@db/x", "postgresql+psycopg://u:s3cret@db:port/x"):
        result = CliRunner(env={**dict.fromkeys(MAILPROC_VARS), "MAILPROC_DATABASE_URL": bad}).invoke(
            main, ["check-config", "--config", str(ws.config_path)])
        assert result.exit_code == 1 and "MAILPROC_DATABASE_URL" in result.output, result.output
        assert "s3cret" not in result.output and "Traceback" not in result.output

    templates = tmp_path / "templates"
    shutil.copytree(shipped.templates_dir(), templates)
    (templates / "receipt" / "body.txt").write_text("{% if %}broken", encoding="utf-8")
    (templates / "alert" / "subject.txt").unlink()
    ws.configure(notices={"templates_dir": str(templates)})
    status = {line.split(":")[0]: line for line in ws.cli("check-config", expect=1).stdout.splitlines()}
    assert status["templates"].startswith("templates: FAILED: notices.templates_dir:")
    assert "receipt/body.txt: TemplateSyntaxError" in status["templates"]
    assert "alert/subject.txt: TemplateNotFound" in status["templates"]



def test_check_config_renders_every_template_with_sample_data_and_names_the_failing_one(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(shipped.templates_dir(), templates)
    config = tmp_path / "mailproc.toml"
    config.write_text(toml_text({"paths": {"state_dir": str(tmp_path)},
                                 "notices": {"templates_dir": str(templates)}}), encoding="utf-8")

    def templates_line() -> str:
        result = invoke(config, "check-config")
        return next(line for line in result.stdout.splitlines() if line.startswith("templates:"))

    assert templates_line() == (f"templates: OK: {_shipped_templates()} templates compile and render with "
                                "sample data (notices.templates_dir)")
    receipt = templates / "receipt" / "body.txt"
    receipt.write_text(receipt.read_text(encoding="utf-8") + "Hoàn tiền: {{ refund_amount }}\n",
                       encoding="utf-8")
    breach = templates / "breach" / "subject.txt"
    breach.write_text("[{{ ref }}] {{ due.strftime('%d/%m') }} {{ deadline.label }}", encoding="utf-8")
    signature = templates / "_partials" / "signature.html"
    signature.write_text(signature.read_text(encoding="utf-8").replace("{{ hotline }}", "{{ hot_line }}"),
                         encoding="utf-8")
    line = templates_line()
    assert line.startswith("templates: FAILED: notices.templates_dir: ")
    assert "receipt/body.txt (line " in line and "UndefinedError: 'refund_amount' is undefined" in line
    assert "breach/subject.txt (line 1) (sample: accept): UndefinedError: 'str object' has no attribute 'label'" \
        in line
    assert "(in _partials/signature.html, line " in line and "'hot_line' is undefined" in line
    assert line.count("_partials/signature.html") == line.count("/body.html (in _partials/signature.html")


FREE = "<a port nobody listens on>"


def _resolve(overrides: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    """Put a port that is free now wherever a test case says FREE."""
    port = free_port()

    def fill(value: object) -> object:
        if value == FREE:
            return port
        return value.replace(FREE, str(port)) if isinstance(value, str) else value

    return {section: {key: fill(value) for key, value in values.items()} for section, values in overrides.items()}


@pytest.mark.e2e
@pytest.mark.parametrize(("overrides", "check", "named"), [
    ({"imap": {"port": FREE}}, "imap", "imap.host/imap.port"),
    ({"imap": {"password": "not-the-password"}}, "imap", "imap.username/imap.password"),
    ({"imap": {"folder": "Khong-Co"}}, "imap", "imap.folder"),
    ({"smtp": {"port": FREE}}, "smtp", "smtp.host/smtp.port"),
    ({"smtp": {"username": "mailproc", "password": "not-the-password"}}, "smtp", "smtp.username/smtp.password"),
    ({"database": {"url": f"postgresql+psycopg://postgres@127.0.0.1:{FREE}/mailproc"}}, "database", "database.url"),
], ids=["imap-port", "imap-password", "imap-folder", "smtp-port", "smtp-password", "database-unreachable"])
def test_check_config_fails_naming_the_key(migrated: Workspace, overrides: dict[str, dict[str, object]],
                                           check: str, named: str) -> None:
    migrated.configure(**_resolve(overrides))

    result = migrated.cli("check-config", expect=1)

    status = {line.split(":")[0]: line for line in result.stdout.splitlines()}
    assert status[check].startswith(f"{check}: FAILED: {named}:"), status[check]
    for other in {"sections", "templates", "imap", "smtp", "database"} - {check}:
        assert status[other].startswith(f"{other}: OK"), status[other]
    assert "not-the-password" not in result.output  # a secret is never echoed


@pytest.mark.e2e
def test_poll_once_reports_an_imap_failure_and_recovers(migrated: Workspace) -> None:
    ws = migrated
    (mid,) = ws.deliver(complaint(sender=f"An <{customer('an')}>", to=ws.mailbox))
    ws.configure(imap={"port": free_port()})

    failed = ws.cli("poll", "--once", expect=1)

    assert "IMAP poll failed" in failed.stderr and "connect" in failed.stderr
    assert ws.json("stats", "--json")["messages_stored"] == 0
    ws.configure(imap={"port": ws.stack.imap_port})
    ws.cli("poll", "--once")  # --once ignores the backoff the failure set
    assert ws.json("stats", "--json")["tickets"] == 1
    assert ws.folder_ids("Processed") == [mid]


@pytest.mark.e2e
def test_poll_once_drains_a_backlog_larger_than_max_per_poll(migrated: Workspace) -> None:
    ws = migrated
    ws.configure(imap={"max_per_poll": 2, "batch_size": 1})
    ids = ws.deliver(*[complaint(sender=f"K{i} <{customer()}>", to=ws.mailbox) for i in range(5)])

    ws.cli("poll", "--once")

    assert ws.folder_ids("INBOX") == [] and ws.folder_ids("Processed") == ids
    stats = ws.json("stats", "--json")
    assert (stats["messages_stored"], stats["tickets"], stats["outbox_queued"]) == (5, 5, 5)


@pytest.mark.e2e
def test_poll_once_without_once_is_a_usage_error(migrated: Workspace) -> None:
    assert "poll --once" in migrated.cli("poll", expect=2).stderr


@pytest.mark.e2e
@pytest.mark.parametrize("command", [
    ["stats", "--json"], ["tickets", "list", "--json"], ["tickets", "show", "KP-2026-000001"],
    ["outbox", "list", "--json"], ["quarantine", "list", "--json"], ["quarantine", "retry", "1"],
], ids=lambda c: " ".join(c))
def test_read_commands_on_an_unmigrated_database_say_to_upgrade(ws: Workspace, command: list[str]) -> None:
    result = ws.cli(*command, expect=1)
    assert isinstance(result.exception, SystemExit), result.exception  # a message, not a traceback
    assert "mailproc db upgrade" in result.stderr


# --- poll, process, send and the JSON contracts ------------------------------------------------

@dataclass
class Scenario:
    ws: Workspace
    complete: str  # customer address of a complaint with every identifier
    incomplete: str  # customer address of one without a card or decoder number
    robot: str  # sender of an auto-reply
    message_ids: list[str]
    polled_from: datetime
    polled_to: datetime


@pytest.fixture
def scenario(migrated: Workspace) -> Iterator[Scenario]:
    """Two complaints and one out-of-office reply, delivered and polled with ``poll --once``."""
    ws = migrated
    complete, incomplete, robot = customer("an"), customer("binh"), customer("vang")
    ids = ws.deliver(
        complaint(sender=f"Nguyễn Văn An <{complete}>", to=ws.mailbox),
        complaint(sender=f"Trần Thị Bình <{incomplete}>", to=ws.mailbox, body=NO_CARD_BODY),
        message(sender=robot, to=ws.mailbox, subject="Trả lời tự động: đang nghỉ phép",
                body="Tôi đang nghỉ phép đến hết tuần.", headers={"Auto-Submitted": "auto-replied"}).as_bytes(),
    )
    start = datetime.now(UTC)
    result = ws.cli("poll", "--once")
    end = datetime.now(UTC)
    assert "stored=3" in result.stderr
    assert "new_tickets=2" in result.stderr and "ignored=1" in result.stderr
    yield Scenario(ws, complete, incomplete, robot, ids, start, end)


def _by_email(items: list[dict]) -> dict[str, dict]:
    return {item["email"]: item for item in items}


@pytest.mark.e2e
def test_poll_once_moves_every_message_to_processed(scenario: Scenario) -> None:
    ws = scenario.ws
    assert ws.folder_ids("INBOX") == []
    assert ws.folder_ids("Processed") == scenario.message_ids
    again = ws.cli("poll", "--once")  # nothing new: nothing stored twice
    assert "stored=0" in again.stderr
    assert ws.json("stats", "--json")["messages_stored"] == 3


@pytest.mark.e2e
def test_tickets_list_json_contract(scenario: Scenario) -> None:
    ws = scenario.ws
    items = ws.json("tickets", "list", "--json")

    assert len(items) == 2
    for item in items:
        assert set(item) == TICKET_KEYS
        assert re.fullmatch(REF_PATTERN, item["ref"])
        assert item["queue"] in ("L1", "L2", None)
        assert isinstance(item["messages"], int) and item["messages"] == 1
        assert isinstance(item["flags"], list)
        received = datetime.fromisoformat(item["received_at"])
        assert received.utcoffset() is not None and received.utcoffset().total_seconds() == 7 * 3600
        assert scenario.polled_from <= received <= scenario.polled_to
        received_day = received.astimezone(HANOI).date()
        calendar = WorkCalendar.from_config(CalendarConfig())
        assert date.fromisoformat(item["accept_due"]) == calendar.add_working_days(received_day, 5)
        assert date.fromisoformat(item["reply_due"]) == calendar.add_working_days(received_day, 20)
        assert item["ref"].startswith(f"KP-{received_day.year}-")
    # Newest first; refs follow arrival order, gap-free.
    year = items[0]["ref"].split("-")[1]
    assert [i["ref"] for i in items] == [f"KP-{year}-000002", f"KP-{year}-000001"]

    found = _by_email(items)
    an = found[scenario.complete]
    assert an["ref"] == f"KP-{year}-000001"
    assert (an["status"], an["queue"]) == ("l1", "L1")
    assert an["name"] == "Nguyễn Văn An"
    assert an["address"] == "12 Nguyễn Trãi, Thanh Xuân, Hà Nội"
    assert an["phone"] == "+84912345678"
    assert an["smartcard"] == "012345678901"
    assert an["decoder"] is None
    assert an["category"] == "other"
    assert an["incident_date"] == "2026-10-28"
    assert "missing_info" not in an["flags"]

    binh = found[scenario.incomplete]
    assert (binh["status"], binh["queue"]) == ("assessing", None)
    assert binh["name"] == "Trần Thị Bình"
    assert binh["phone"] == "+84987654321"
    assert binh["smartcard"] is None and binh["decoder"] is None
    assert "missing_info" in binh["flags"]

    assert ws.json("tickets", "list", "--json", "--status", "assessing") == [binh]
    assert ws.json("tickets", "list", "--json", "--limit", "1") == [binh]
    assert ws.json("tickets", "list", "--json", "--limit", "1", "--offset", "1") == [an]
    assert ws.json("tickets", "list", "--json", "--offset", "5") == []
    # The table says how much of the list it is; a negative limit is a usage error (PostgreSQL
    # would refuse LIMIT -1 with a traceback).
    assert ws.cli("tickets", "list").stdout.splitlines()[-1] == "showing 2 of 2"
    assert ws.cli("tickets", "list", "--limit", "1").stdout.splitlines()[-1] == (
        "showing 1 of 2; more with --limit/--offset")
    assert ws.cli("tickets", "list", "--limit", "1", "--offset", "1").stdout.splitlines()[-1] == (
        "showing 1 of 2 (from #2)")
    for bad in (["--limit", "-1"], ["--offset", "-1"]):
        refused = ws.cli("tickets", "list", *bad, expect=2)
        assert "Invalid value" in refused.stderr and "Traceback" not in refused.stderr
        ws.cli("outbox", "list", "--json", *bad, expect=2)


@pytest.mark.e2e
def test_tickets_show_json_has_the_same_contract(scenario: Scenario) -> None:
    ws = scenario.ws
    listed = _by_email(ws.json("tickets", "list", "--json"))[scenario.complete]

    shown = ws.json("tickets", "show", listed["ref"], "--json")
    assert set(shown) == TICKET_KEYS | {"thread", "events"}  # the list's keys, plus texts and events
    assert {k: shown[k] for k in TICKET_KEYS} == listed
    assert ws.json("tickets", "show", listed["ref"].lower(), "--json") == shown
    (first,) = shown["thread"]
    assert shown["messages"] == 1  # still the count
    assert set(first) == {"direction", "at", "from", "subject", "text", "quoted_text"}
    assert first["direction"] == "in" and first["from"] == scenario.complete and "0123 4567 8901" in first["text"]
    kinds = [e["kind"] for e in shown["events"]]
    assert kinds[:2] == ["received", "assessed"] and "notice_queued" in kinds
    assert ws.json("tickets", "show", listed["ref"], "--json", "--history") == shown  # old scripts

    human = ws.cli("tickets", "show", listed["ref"]).stdout
    assert listed["ref"] in human and "Nguyễn Văn An" in human

    missing = ws.cli("tickets", "show", "KP-1999-000001", "--json", expect=1)
    assert "no ticket KP-1999-000001" in missing.stderr and missing.stdout == ""


@pytest.mark.e2e
def test_replies_join_their_tickets_and_complete_missing_information(scenario: Scenario) -> None:
    ws = scenario.ws
    refs = {t["email"]: t["ref"] for t in ws.json("tickets", "list", "--json")}
    an, binh = refs[scenario.complete], refs[scenario.incomplete]
    with ws.session() as session:  # what their mail clients put in In-Reply-To: our notices' Message-IDs
        ours = {item.to_address: item.message_id for item in session.scalars(select(OutboxItem))}
    ws.deliver(
        message(sender=f"Nguyễn Văn An <{scenario.complete}>", to=ws.mailbox,
                subject=f"Re: [{an}] V/v Tiếp nhận khiếu nại: {SUBJECT}", body="Cảm ơn K+, tôi chờ kết quả.",
                headers={"In-Reply-To": f"<{ours[scenario.complete]}>"}).as_bytes(),
        message(sender=f"Trần Thị Bình <{scenario.incomplete}>", to=ws.mailbox,
                subject=f"Re: [{binh}] V/v Đề nghị bổ sung thông tin khiếu nại: {SUBJECT}",
                body="Số thẻ giải mã: 0987 1234 5678\n",
                headers={"In-Reply-To": f"<{ours[scenario.incomplete]}>"}).as_bytes(),
    )

    ws.cli("poll", "--once")

    assert ws.json("tickets", "show", an, "--json")["messages"] == 2
    completed = ws.json("tickets", "show", binh, "--json")
    assert completed["messages"] == 2
    assert (completed["status"], completed["queue"], completed["smartcard"]) == ("l1", "L1", "098712345678")
    assert "missing_info" not in completed["flags"]
    kinds = [(i["kind"], i["status"]) for i in ws.json("outbox", "list", "--json") if i["ticket_ref"] == binh]
    assert kinds == [("receipt", "queued"), ("need_info", "queued")]  # newest first
    stats = ws.json("stats", "--json")
    assert (stats["messages_stored"], stats["tickets"], stats["outbox_queued"]) == (5, 2, 3)


@pytest.mark.e2e
def test_outbox_json_contract_and_send_once(scenario: Scenario) -> None:
    ws = scenario.ws
    refs = {t["email"]: t["ref"] for t in ws.json("tickets", "list", "--json")}

    queued = ws.json("outbox", "list", "--json")
    assert len(queued) == 2
    for item in queued:
        assert set(item) == OUTBOX_KEYS | {"bounced_at", "bounce_reason"}
        assert isinstance(item["id"], int)
        assert (item["status"], item["attempts"], item["last_error"]) == ("queued", 0, None)
    by_to = {item["to"]: item for item in queued}
    assert set(by_to) == {scenario.complete, scenario.incomplete}  # nothing for the auto-reply
    receipt, need_info = by_to[scenario.complete], by_to[scenario.incomplete]
    assert (receipt["kind"], receipt["ticket_ref"]) == ("receipt", refs[scenario.complete])
    assert (need_info["kind"], need_info["ticket_ref"]) == ("need_info", refs[scenario.incomplete])
    for item in (receipt, need_info):
        assert item["subject"].startswith(f"[{item['ticket_ref']}] ")
        assert item["subject"].endswith(SUBJECT)
    assert ws.json("outbox", "list", "--json", "--status", "sent") == []

    result = ws.cli("send", "--once")
    assert "claimed=2 sent=2" in result.stderr

    sent = {item["to"]: item for item in ws.json("outbox", "list", "--json")}
    for to, before in by_to.items():
        assert sent[to] == {**before, "status": "sent", "attempts": 1}
    assert ws.json("outbox", "list", "--json", "--status", "queued") == []
    for to, item in sent.items():
        delivered = ws.stack.messages(to)
        assert len(delivered) == 1
        assert item["ticket_ref"].encode() in delivered[0]
    assert "claimed=0" in ws.cli("send", "--once").stderr  # nothing is sent twice


def _dsn(to: str, original_id: str, rcpt: str) -> bytes:
    """A delivery status notification (RFC 3464) saying ``original_id`` to ``rcpt`` bounced."""
    boundary = "dsn-boundary-1"
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.example.vn>\r\nTo: {to}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <{uuid.uuid4().hex}@mx.example.vn>\r\n"
        "Date: Mon, 02 Nov 2026 10:00:00 +0700\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.vn\r\n\r\n"
        f"Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        f"\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{original_id}>\r\nSubject: receipt\r\n\r\n--{boundary}--\r\n"
    ).encode()


@pytest.mark.e2e
def test_a_bounced_receipt_shows_as_bounced_with_its_reason(scenario: Scenario) -> None:
    ws = scenario.ws
    ws.cli("send", "--once")
    receipt = next(i for i in ws.json("outbox", "list", "--json") if i["to"] == scenario.complete)
    with ws.session() as session:
        message_id = session.get(OutboxItem, receipt["id"]).message_id
    ws.deliver(_dsn(ws.mailbox, message_id, scenario.complete))
    ws.cli("poll", "--once")

    bounced = next(i for i in ws.json("outbox", "list", "--json") if i["id"] == receipt["id"])
    assert bounced["status"] == "bounced" and "5.1.1" in bounced["bounce_reason"]
    datetime.fromisoformat(bounced["bounced_at"])
    assert [i["id"] for i in ws.json("outbox", "list", "--json", "--status", "bounced")] == [receipt["id"]]
    assert receipt["id"] not in [i["id"] for i in ws.json("outbox", "list", "--json", "--status", "sent")]
    row = next(line for line in ws.cli("outbox", "list").stdout.splitlines() if line.startswith(f"{receipt['id']} "))
    assert " bounced " in row and "5.1.1" in row


@pytest.mark.e2e
def test_tickets_show_marks_a_cut_text_and_the_json_has_it_whole(migrated: Workspace) -> None:
    ws = migrated
    sender = customer("dai")
    body = COMPLAINT_LONG_LINE * 60
    ws.deliver(complaint(sender=f"Nguyễn Văn Dài <{sender}>", to=ws.mailbox,
                         body=f"Họ tên: Nguyễn Văn Dài\nSố thẻ: 0123 4567 8901\nSĐT: 0912 345 678\n{body}"))
    ws.cli("poll", "--once")
    (ticket,) = ws.json("tickets", "list", "--json")
    text = ws.json("tickets", "show", ticket["ref"], "--json")["thread"][0]["text"]
    assert len(text) > 2000
    human = ws.cli("tickets", "show", ticket["ref"]).stdout
    assert f"… [cut, {len(text) - 2000} more characters]" in human
    assert "[cut," not in ws.cli("tickets", "show", ticket["ref"], "--full").stdout


COMPLAINT_LONG_LINE = "Đầu thu báo lỗi E48-32 mỗi tối, tôi đã khởi động lại nhiều lần mà không được.\n"


def invoke_raw(*args: str) -> Result:
    """The CLI exactly as typed (no --config put in front), without the MAILPROC_* environment."""
    return CliRunner(env=dict.fromkeys(MAILPROC_VARS)).invoke(main, list(args))


def test_global_options_come_before_or_after_the_subcommand(tmp_path: Path) -> None:
    config = tmp_path / "mailproc.toml"
    config.write_text(f'[paths]\nstate_dir = "{tmp_path}"\n[calendar]\nreply_days = 1\n', encoding="utf-8")
    for args in (["--config", str(config), "check-config"], ["check-config", "--config", str(config)],
                 ["check-config", f"--config={config}"]):
        result = invoke_raw(*args)
        assert "calendar.reply_days" in result.output, (args, result.output)
    assert hoist_options(["tickets", "list", "--config", "x", "--", "--config"], ("--config",)) == [
        "--config", "x", "tickets", "list", "--", "--config"]


def _commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")


def test_every_command_and_option_has_help_text() -> None:
    missing = []
    for name, command in _commands(main):
        if not (command.help or "").strip():
            missing.append(name)
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip():
                missing.append(f"{name} {param.opts[0]}")
    assert missing == []


@pytest.mark.e2e
def test_stats_json_counts_what_happened(scenario: Scenario) -> None:
    ws = scenario.ws
    stats = ws.json("stats", "--json")
    assert set(stats) == STATS_KEYS | STATS_TIMES
    assert _counts(stats) == {**_zero_stats(), "messages_stored": 3, "tickets": 2, "ignored": 1, "outbox_queued": 2}
    polled = datetime.fromisoformat(stats["last_poll_ok_at"])
    assert scenario.polled_from <= polled <= scenario.polled_to and polled.utcoffset() == HANOI.utcoffset(polled)
    assert stats["last_send_ok_at"] is None
    assert isinstance(stats["oldest_queued_age_s"], float) and stats["oldest_queued_age_s"] >= 0
    later = ws.json("stats", "--json", "--now", (polled + timedelta(hours=1)).isoformat())
    assert later["oldest_queued_age_s"] >= 3600 - 60

    ws.cli("send", "--once")

    after = ws.json("stats", "--json")
    assert _counts(after) == {**_zero_stats(), "messages_stored": 3, "tickets": 2, "ignored": 1, "outbox_sent": 2}
    assert after["oldest_queued_age_s"] is None and after["last_send_ok_at"] >= stats["last_poll_ok_at"]
    human = ws.cli("stats").stdout.splitlines()
    assert human[0].split() == ["what", "value"]
    assert "outbox_sent" in human[-2] or any(line.split() == ["outbox_sent", "2"] for line in human)


@pytest.mark.e2e
def test_empty_database_gives_empty_json(migrated: Workspace) -> None:
    assert migrated.json("tickets", "list", "--json") == []
    assert migrated.json("outbox", "list", "--json") == []
    assert migrated.json("quarantine", "list", "--json") == []
    assert migrated.json("stats", "--json") == {**_zero_stats(), **dict.fromkeys(STATS_TIMES)}
    assert "claimed=0" in migrated.cli("send", "--once").stderr


@pytest.mark.e2e
def test_tickets_list_human_output_is_a_table(scenario: Scenario) -> None:
    ws = scenario.ws
    tickets = ws.json("tickets", "list", "--json")

    lines = ws.cli("tickets", "list").stdout.splitlines()

    assert lines[0].split()[:4] == ["ref", "status", "queue", "received"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert len(lines) == 2 + len(tickets) + 1
    assert lines[-1] == f"showing {len(tickets)} of {len(tickets)}"
    lines = lines[:-1]
    for line, ticket in zip(lines[2:], tickets, strict=True):
        assert line.startswith(ticket["ref"] + " ")
        assert ticket["name"] in line
        assert (ticket["queue"] or "-") in line.split()
    # Columns line up: every row's second column starts where the header's does.
    status_column = lines[0].index("status")
    assert all(line[status_column:].startswith(t["status"]) for line, t in zip(lines[2:], tickets, strict=True))


@pytest.mark.e2e
def test_send_once_records_transient_and_permanent_failures(migrated: Workspace) -> None:
    ws = migrated
    ws.configure(smtp={"backoff_initial": 0.0})  # a retry is due at once, in the next run
    first, second = customer("an"), customer("chi")
    ws.deliver(complaint(sender=f"An <{first}>", to=ws.mailbox),
               complaint(sender=f"Chi <{second}>", to=ws.mailbox, name="Phạm Minh Chi"))
    ws.cli("poll", "--once")

    ws.stack.fail_smtp(451, "4.3.2 try again later", times=2)
    assert "claimed=2 sent=0 retry=2 failed=0" in ws.cli("send", "--once").stderr

    items = ws.json("outbox", "list", "--json")
    assert [(i["status"], i["attempts"], i["last_error"]) for i in items] == [
        ("queued", 1, "451 4.3.2 try again later")] * 2
    stats = ws.json("stats", "--json")
    assert (stats["outbox_queued"], stats["outbox_sent"], stats["outbox_failed"]) == (2, 0, 0)

    ws.stack.fail_smtp(550, "5.1.1 mailbox unavailable")  # the older row gets it
    assert "claimed=2 sent=1 retry=0 failed=1" in ws.cli("send", "--once").stderr

    by_to = {item["to"]: item for item in ws.json("outbox", "list", "--json")}
    failed, sent = by_to[first], by_to[second]
    assert (failed["status"], failed["attempts"]) == ("failed", 2)
    assert failed["last_error"] == "550 5.1.1 mailbox unavailable"
    assert (sent["status"], sent["attempts"], sent["last_error"]) == ("sent", 2, None)
    stats = ws.json("stats", "--json")
    assert (stats["outbox_queued"], stats["outbox_sent"], stats["outbox_failed"]) == (0, 1, 1)
    assert [i["to"] for i in ws.json("outbox", "list", "--json", "--status", "failed")] == [first]
    assert "claimed=0" in ws.cli("send", "--once").stderr  # a permanent failure is final
    assert len(ws.stack.messages(second)) == 1
    assert not [rcpts for _, rcpts, _ in ws.stack.smtp_log() if first in rcpts]


# --- quarantine --------------------------------------------------------------------------------

@pytest.mark.e2e
def test_quarantine_list_and_retry_after_raising_the_limit(migrated: Workspace) -> None:
    ws = migrated
    # (A message over max_message_bytes is no longer quarantined: its headers make a ticket.
    # The limit on MIME parts still quarantines.)
    ws.configure(parsing={"max_mime_parts": 3})
    big_sender = customer("dung")
    big = _many_parts(f"Đỗ Văn Dũng <{big_sender}>", ws.mailbox, parts=6)
    small_sender = customer("an")
    big_id, _ = ws.deliver(big, complaint(sender=f"An <{small_sender}>", to=ws.mailbox))

    assert "quarantined=1" in ws.cli("poll", "--once").stderr

    stats = ws.json("stats", "--json")
    assert (stats["messages_stored"], stats["tickets"], stats["quarantined"]) == (2, 1, 1)
    assert ws.folder_ids("INBOX") == []  # stored, so moved: quarantine is ours, not the server's
    (entry,) = ws.json("quarantine", "list", "--json")
    assert set(entry) == {"id", "message_id", "size", "fetched_at", "error", "from", "subject", "date"}
    assert entry["message_id"] == big_id
    assert entry["size"] == len(big)
    assert "more than 3 MIME parts" in entry["error"]
    assert entry["from"] == f"Đỗ Văn Dũng <{big_sender}>" and entry["subject"] and entry["date"]
    datetime.fromisoformat(entry["fetched_at"])
    table = ws.cli("quarantine", "list").stdout.splitlines()
    assert table[0].split()[:4] == ["id", "from", "subject", "date"]
    assert table[2].startswith(f"{entry['id']} ") and "Đỗ Văn Dũng" in table[2]
    assert table[-1] == "showing 1 of 1"

    # Retrying with the limit unchanged quarantines it again, with the same reason.
    again = ws.cli("quarantine", "retry", str(entry["id"])).stdout
    assert f"message {entry['id']}: quarantined" in again and "more than 3 MIME parts" in again

    ws.configure(parsing={"max_mime_parts": 500})
    retried = ws.cli("quarantine", "retry", str(entry["id"])).stdout

    ref = re.search(rf"message {entry['id']}: processed \(created ({REF_PATTERN})\)", retried)
    assert ref, retried
    assert ws.json("quarantine", "list", "--json") == []
    ticket = ws.json("tickets", "show", ref.group(1), "--json")
    assert (ticket["email"], ticket["name"], ticket["smartcard"]) == (big_sender, "Đỗ Văn Dũng", "012345678901")
    stats = ws.json("stats", "--json")
    assert (stats["messages_stored"], stats["tickets"], stats["quarantined"], stats["outbox_queued"]) == (2, 2, 0, 2)
    # Only a quarantined message can be retried.
    assert "not in quarantine" in ws.cli("quarantine", "retry", str(entry["id"]), expect=1).stderr
    assert "not in quarantine" in ws.cli("quarantine", "retry", "9999", expect=1).stderr


def _many_parts(sender: str, to: str, *, parts: int) -> bytes:
    """A complaint (name, card, phone in its first part) in a multipart/mixed of ``parts`` parts."""
    text = "Tôi tên là Đỗ Văn Dũng.\r\nSố thẻ: 0123 4567 8901\r\nSố điện thoại: 0912 345 678\r\n"
    body = "".join(f"--p\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text if i == 0 else 'Ảnh ' + str(i)}\r\n"
                   for i in range(parts))
    head = (f"From: {sender}\r\nTo: {to}\r\nSubject: Mất sóng\r\nMessage-ID: <many.parts@example.vn>\r\n"
            "Date: Mon, 2 Nov 2026 08:30:00 +0700\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n")
    return (head + body + "--p--\r\n").encode()
