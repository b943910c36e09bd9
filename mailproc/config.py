"""Load and validate mailproc's one configuration: TOML file, defaults, environment secrets.

Every option is declared once here, as a dataclass field with its default; the shipped
``config/mailproc.toml`` lists the same options with comments (a test keeps them in step).
The loaded :class:`Config` is passed down explicitly; there is no global settings object.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailproc.errors import ConfigError
from mailproc.vocabulary import FilterRule, Queue, Role

DEFAULT_CONFIG_PATH = Path("/etc/mailproc/mailproc.toml")
ENV_CONFIG = "MAILPROC_CONFIG"
ENV_STATE_DIR = "MAILPROC_STATE_DIR"
SQLITE_FILE = "mailproc.sqlite3"
LOCK_FILE = "mailproc.lock"
# Secrets (and the database URL) may come from the environment instead of the file.
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "MAILPROC_IMAP_PASSWORD": ("imap", "password"),
    "MAILPROC_SMTP_PASSWORD": ("smtp", "password"),
    "MAILPROC_DATABASE_URL": ("database", "url"),
    "MAILPROC_OAUTH2_CLIENT_SECRET": ("oauth2", "client_secret"),
    "MAILPROC_OAUTH2_REFRESH_TOKEN": ("oauth2", "refresh_token"),
}
AUTH_METHODS = ("password", "oauth2")
OAUTH2_PROVIDERS = ("microsoft", "google", "generic")


@dataclass(frozen=True)
class ImapConfig:
    host: str = "127.0.0.1"
    port: int = 143
    username: str = ""
    password: str = field(default="", repr=False)
    ssl: bool = False
    starttls: bool = False
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    sent_folder: str = "Sent"
    timeout: float = 30.0
    batch_size: int = 100
    max_per_poll: int = 5000
    batch_bytes: int = 32 * 1024 * 1024
    backoff_initial: float = 30.0
    backoff_max: float = 900.0
    auth: str = "password"  # password | oauth2
    idle: bool = True
    idle_seconds: float = 1500.0


@dataclass(frozen=True)
class MailboxConfig(ImapConfig):
    """Another complaints mailbox ([[mailboxes]]): its IMAP settings, as [imap]'s, plus a name
    recorded on its tickets and the address their notices come from."""

    name: str = ""
    from_address: str = ""  # "" = smtp.from_address
    from_name: str = ""     # "" = smtp.from_name


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "127.0.0.1"
    port: int = 25
    username: str = ""
    password: str = field(default="", repr=False)
    ssl: bool = False
    starttls: bool = False
    from_address: str = "cskh@kplus.example"
    from_name: str = "K+ Chăm sóc Khách hàng"
    timeout: float = 30.0
    batch_size: int = 50
    max_attempts: int = 8
    backoff_initial: float = 60.0
    backoff_max: float = 3600.0
    lease_seconds: float = 300.0
    auth: str = "password"  # password | oauth2
    # Where the platform files a copy of every message its SMTP server accepted, in the [imap]
    # account (Gmail: "[Gmail]/Sent Mail"; see the README): a notice whose send is in doubt is
    # looked up there by Message-ID before it is sent again. "" = no copy exists: one resend.
    sent_copy_folder: str = ""
    sent_copy_wait_seconds: float = 60.0  # how long a copy may take to appear before "absent"
    # A notice whose tries keep getting temporary refusals fails only after this long (an
    # outage, where nothing reaches the server, never fails a notice).
    give_up_hours: float = 120.0


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = field(default="", repr=False)  # may hold a password; "" = SQLite in the state directory
    echo: bool = False


@dataclass(frozen=True)
class ParsingConfig:
    max_message_bytes: int = 25 * 1024 * 1024
    max_mime_parts: int = 500
    max_mime_depth: int = 20
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_attachments: int = 20
    max_text_chars: int = 200_000
    max_analysis_seconds: float = 5.0    # per message; past it the analysis is stopped and the message quarantined
    max_analysis_memory_mb: int = 256    # per analysis worker, above what it shares with the daemon


@dataclass(frozen=True)
class ExtractConfig:
    region: str = "VN"
    card_pattern: str = r"\d(?:[ .\-]?\d){7,19}"
    decoder_pattern: str = r"[A-Z0-9](?:[A-Z0-9\-]){5,23}"
    decoder_min_digits: int = 4
    company_numbers: list[str] = field(default_factory=lambda: ["19001592", "18001592"])
    company_domains: list[str] = field(default_factory=lambda: ["kplus.example", "kplus.vn"])


@dataclass(frozen=True)
class AssessConfig:
    required: list[str] = field(default_factory=lambda: ["phone", "card_or_decoder"])
    fee_window_months: int = 1
    other_window_months: int = 3


@dataclass(frozen=True)
class CalendarConfig:
    timezone: str = "Asia/Ho_Chi_Minh"
    extra_days_off: list[str] = field(default_factory=list)
    extra_working_days: list[str] = field(default_factory=list)
    saturday_working: bool = False
    accept_days: int = 5
    reply_days: int = 20


@dataclass(frozen=True)
class NoticesConfig:
    ref_prefix: str = "KP"
    company_name: str = "K+"
    department: str = "Phòng Chăm sóc Khách hàng"
    hotline: str = "1900 1592"
    city: str = "Hà Nội"
    message_id_domain: str = "kplus.example"
    max_per_sender_per_hour: int = 5
    max_per_sender_per_day: int = 20
    max_per_domain_per_hour: int = 1000
    max_automatic_per_hour: int = 10000
    templates_dir: str = ""


@dataclass(frozen=True)
class FilterConfig:
    rules: list[str] = field(
        default_factory=lambda: [
            "own_mail",
            "bounce",
            "auto_submitted",
            "precedence",
            "autoreply_headers",
            "mailing_list",
            "robot_sender",
            "out_of_office_subject",
        ]
    )
    robot_localparts: list[str] = field(
        default_factory=lambda: ["mailer-daemon", "postmaster", "no-reply", "noreply", "do-not-reply", "donotreply"]
    )


@dataclass(frozen=True)
class SchedulerConfig:
    poll_seconds: float = 60.0
    process_seconds: float = 30.0
    send_seconds: float = 30.0
    lock_file: str = ""  # "" = mailproc.lock in the state directory
    process_batch: int = 200
    analysis_workers: int = 0
    stop_seconds: float = 20.0  # on SIGTERM, how long running jobs may take to finish (below TimeoutStopSec)


@dataclass(frozen=True)
class PathsConfig:
    state_dir: str = ""  # "" = $MAILPROC_STATE_DIR, systemd's $STATE_DIRECTORY, or the platform's default


@dataclass(frozen=True)
class OAuth2Config:
    provider: str = "generic"      # microsoft | google | generic
    tenant_id: str = ""            # microsoft: the directory (tenant) id or domain
    client_id: str = ""
    client_secret: str = field(default="", repr=False)  # or MAILPROC_OAUTH2_CLIENT_SECRET
    certificate_file: str = ""     # microsoft app-only with a certificate: PEM with the private key
    certificate_thumbprint: str = ""  # ... and the certificate's SHA-1 thumbprint (hex)
    token_url: str = ""            # generic: the token endpoint; google: "" = Google's
    auth_url: str = ""             # google, 'mailproc oauth login': the authorization endpoint ("" = Google's)
    scope: str = ""                # "" = the provider's default for IMAP and SMTP
    refresh_token: str = field(default="", repr=False)  # or MAILPROC_OAUTH2_REFRESH_TOKEN; kept current by mailproc
    service_account_file: str = ""  # google: the service account's JSON key (domain-wide delegation)
    user: str = ""                 # the mailbox to act as, when it is not the login name
    authority: str = ""            # microsoft: "" = https://login.microsoftonline.com/TENANT
    ca_file: str = ""              # a CA bundle for the token endpoint's TLS ("" = the system's)
    refresh_margin: float = 300.0  # seconds before expiry a token is renewed
    timeout: float = 30.0          # seconds per token request


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "INFO"
    format: str = "text"  # text | json (one object a line)


@dataclass(frozen=True)
class MetricsConfig:
    listen: str = ""  # "HOST:PORT" of the Prometheus endpoint ("" = none), e.g. "127.0.0.1:9464"


@dataclass(frozen=True)
class HealthConfig:
    poll_stale_minutes: float = 15.0    # unhealthy when no poll succeeded for this long
    queued_stale_minutes: float = 60.0  # ... when a due notice has waited this long
    failed_per_day: int = 5             # ... when this many notices failed in the last 24 hours
    quarantined_per_day: int = 20       # ... when this many messages were quarantined in the last 24 hours
    token_margin_minutes: float = 60.0  # ... when the OAuth token expires this soon and cannot be renewed


@dataclass(frozen=True)
class AgentConfig:
    email: str = ""
    role: str = "l1"
    name: str = ""
    department: str = ""


@dataclass(frozen=True)
class AuthConfig:
    trusted_authserv_ids: list[str] = field(default_factory=list)
    exchange_online: bool = False
    verify_dkim: bool = False
    dkim_max_age_days: int = 7


@dataclass(frozen=True)
class WorkflowConfig:
    reject_late: bool = False
    reopen_days: int = 30
    auto_accept_hour: int = 8
    reminder_offsets: list[int] = field(default_factory=lambda: [2, 1])
    mailbox_stale_minutes: int = 30
    outbox_stuck_minutes: int = 60
    sweep_seconds: float = 300.0


@dataclass(frozen=True)
class RoutingRuleConfig:
    name: str = ""
    description: str = ""
    keywords: list[str] = field(default_factory=list)
    repeat_card_days: int = 0
    category: str = ""
    queue: str = Queue.L2.value
    priority: str = "high"


@dataclass(frozen=True)
class RoutingConfig:
    rules: list[RoutingRuleConfig] = field(default_factory=lambda: [
        RoutingRuleConfig(name="repeat_card", description="the same smart card complained about within 30 days",
                          repeat_card_days=30),
        RoutingRuleConfig(name="legal_threat", description="the customer mentions the press, a lawyer or a lawsuit",
                          keywords=["luật sư", "kiện", "báo chí", "lawyer", "lawsuit", "press"]),
    ])


@dataclass(frozen=True)
class DigestConfig:
    hour: int = 7
    minute: int = 30


@dataclass(frozen=True)
class RetentionConfig:
    """How long customers' mail is kept (Decree 13/2023/ND-CP: no longer than needed)."""
    raw_days: int = 730                # raw mail and attachments of tickets closed longer ago are purged; 0 = never
    processed_folder_days: int = 0     # mail older than this is deleted from the IMAP processed folder; 0 = never


@dataclass(frozen=True)
class SurveyConfig:
    """The customer-satisfaction survey sent after a ticket is answered or closed (issue 15)."""
    enabled: bool = True
    delay_hours: int = 24        # how long after the answer or closing the survey goes out
    once_per_days: int = 90      # at most one survey per customer in this many days
    reopen_days: int = 7         # a dissatisfied answer this soon after closing is flagged to the supervisors


@dataclass(frozen=True)
class Config:
    imap: ImapConfig = field(default_factory=ImapConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    parsing: ParsingConfig = field(default_factory=ParsingConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    assess: AssessConfig = field(default_factory=AssessConfig)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    notices: NoticesConfig = field(default_factory=NoticesConfig)
    filters: FilterConfig = field(default_factory=FilterConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    agents: list[AgentConfig] = field(default_factory=list)
    auth: AuthConfig = field(default_factory=AuthConfig)
    workflow: WorkflowConfig = field(default_factory=WorkflowConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    survey: SurveyConfig = field(default_factory=SurveyConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    oauth2: OAuth2Config = field(default_factory=OAuth2Config)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    mailboxes: list[MailboxConfig] = field(default_factory=list)
    source: str = field(default="<defaults>", compare=False)

    def uses_oauth2(self) -> bool:
        return self.smtp.auth == "oauth2" or any(box.auth == "oauth2" for box in (self.imap, *self.mailboxes))

    def all_mailboxes(self) -> list[MailboxConfig]:
        """Every complaints mailbox, [imap] first (its name is "")."""
        main = MailboxConfig(**{f.name: getattr(self.imap, f.name) for f in dataclasses.fields(ImapConfig)},
                             name="", from_address=self.smtp.from_address, from_name=self.smtp.from_name)
        return [main, *self.mailboxes]

    def mailbox(self, name: str) -> MailboxConfig:
        """The mailbox a ticket or inbound row names ("" or an unknown name: the first)."""
        for box in self.mailboxes:
            if box.name == name:
                return box
        return self.all_mailboxes()[0]

    def sender_for(self, name: str) -> tuple[str, str]:
        """(address, display name) notices about a ticket of mailbox ``name`` come from."""
        box = self.mailbox(name)
        return box.from_address or self.smtp.from_address, box.from_name or self.smtp.from_name

    def sender_by_address(self, address: str | None) -> tuple[str, str]:
        """(address, display name) for an outgoing e-mail sent from ``address`` (None: [smtp]'s)."""
        if address:
            for box in self.mailboxes:
                if (box.from_address or "").lower() == address.lower():
                    return box.from_address, box.from_name or self.smtp.from_name
            return address, self.smtp.from_name
        return self.smtp.from_address, self.smtp.from_name

    def replace(self, section: str, **changes: Any) -> Config:
        """Return a copy with some options of one section changed (tests, the demo)."""
        current = getattr(self, section)
        return dataclasses.replace(self, **{section: dataclasses.replace(current, **changes)})


SECTIONS: dict[str, type] = {
    f.name: typing.get_type_hints(Config)[f.name] for f in dataclasses.fields(Config) if f.name != "source"
}
_EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def _coerce(key: str, expected: Any, value: Any) -> Any:
    origin = typing.get_origin(expected)
    if origin is list:
        (item_type,) = typing.get_args(expected)
        if not isinstance(value, list):
            raise ConfigError(key, f"expected a list, got {type(value).__name__}")
        if isinstance(item_type, type) and dataclasses.is_dataclass(item_type):
            return [_build_section(f"{key}[{i}]", item_type, v) for i, v in enumerate(value)]
        return [_coerce(f"{key}[{i}]", item_type, v) for i, v in enumerate(value)]
    if origin in (typing.Union, types.UnionType):
        raise ConfigError(key, "unsupported option type")  # pragma: no cover - not declared
    if expected is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"expected true or false, got {value!r}")
        return value
    if expected is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"expected a whole number, got {value!r}")
        return value
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key, f"expected a number, got {value!r}")
        return float(value)
    if expected is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {value!r}")
        return value
    raise ConfigError(key, f"unsupported option type {expected!r}")  # pragma: no cover


def _build_section(name: str, cls: type, data: Any) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(name, "expected a table")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"{name}.{key}", f"unknown option (known: {', '.join(sorted(known))})")
        kwargs[key] = _coerce(f"{name}.{key}", hints[key], value)
    return cls(**kwargs)


# Options that must be at least this value (ints and floats alike).
_MINIMUMS: dict[str, float] = {
    "imap.timeout": 0.1, "imap.batch_size": 1, "imap.batch_bytes": 1024, "imap.max_per_poll": 1,
    "imap.backoff_initial": 0,
    "imap.backoff_max": 0, "smtp.timeout": 0.1, "smtp.batch_size": 1, "smtp.max_attempts": 1,
    "smtp.backoff_initial": 0, "smtp.backoff_max": 0, "smtp.lease_seconds": 0, "smtp.sent_copy_wait_seconds": 0,
    "smtp.give_up_hours": 0, "retention.raw_days": 0, "retention.processed_folder_days": 0,
    "survey.delay_hours": 0, "survey.once_per_days": 0, "survey.reopen_days": 0,
    "parsing.max_message_bytes": 1024, "parsing.max_mime_parts": 1, "parsing.max_mime_depth": 1,
    "parsing.max_attachment_bytes": 0, "parsing.max_attachments": 0, "parsing.max_text_chars": 100,
    "extract.decoder_min_digits": 0, "assess.fee_window_months": 1, "assess.other_window_months": 1,
    "calendar.accept_days": 1, "calendar.reply_days": 1, "notices.max_per_sender_per_hour": 0,
    "notices.max_per_sender_per_day": 0, "notices.max_per_domain_per_hour": 0,
    "notices.max_automatic_per_hour": 0, "scheduler.poll_seconds": 1, "scheduler.process_seconds": 1,
    "scheduler.send_seconds": 1, "scheduler.process_batch": 1, "scheduler.analysis_workers": 0,
    "auth.dkim_max_age_days": 1, "oauth2.refresh_margin": 0, "oauth2.timeout": 0.1, "imap.idle_seconds": 1,
    "parsing.max_analysis_seconds": 0.1, "parsing.max_analysis_memory_mb": 64,
    "scheduler.stop_seconds": 1, "health.poll_stale_minutes": 1, "health.queued_stale_minutes": 1,
    "health.failed_per_day": 1, "health.quarantined_per_day": 1, "health.token_margin_minutes": 0,
}
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _check_minimums(config: Config) -> None:
    for key, minimum in _MINIMUMS.items():
        section, name = key.split(".")
        value = getattr(getattr(config, section), name)
        if value < minimum:
            raise ConfigError(key, f"must be at least {minimum:g}, got {value!r}")


def validate(config: Config) -> None:
    """Check values that are well-typed but meaningless; raise ConfigError naming the key."""
    _check_minimums(config)
    if config.logging.level.upper() not in _LOG_LEVELS:
        raise ConfigError("logging.level", f"{config.logging.level!r} is not one of {', '.join(_LOG_LEVELS)}")
    if config.logging.format not in ("text", "json"):
        raise ConfigError("logging.format", f"{config.logging.format!r} is not one of text, json")
    if config.metrics.listen and not re.fullmatch(r"\[?[^\s\]]*\]?:\d{1,5}", config.metrics.listen):
        raise ConfigError("metrics.listen", f"{config.metrics.listen!r} is not HOST:PORT (e.g. 127.0.0.1:9464)")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,9}", config.notices.ref_prefix):
        raise ConfigError("notices.ref_prefix", "must be 1-10 letters or digits, starting with a letter")
    if config.notices.templates_dir and not Path(config.notices.templates_dir).is_dir():
        raise ConfigError("notices.templates_dir", f"{config.notices.templates_dir!r} is not a directory")
    if config.calendar.reply_days < config.calendar.accept_days:
        raise ConfigError("calendar.reply_days", "must not be shorter than calendar.accept_days")
    for section in ("imap", "smtp"):
        if section == "imap" and config.imap.idle_seconds > 29 * 60:
            raise ConfigError("imap.idle_seconds", "RFC 2177: IDLE must be renewed within 29 minutes (1740 s)")
        if getattr(config, section).auth not in AUTH_METHODS:
            raise ConfigError(f"{section}.auth", f"{getattr(config, section).auth!r} is not one of "
                              f"{', '.join(AUTH_METHODS)}")
    _validate_oauth2(config)
    _validate_mailboxes(config)
    for section in ("imap", "smtp"):
        port = getattr(config, section).port
        if not 0 < port < 65536:
            raise ConfigError(f"{section}.port", f"{port} is not a TCP port")
        sec = getattr(config, section)
        if sec.ssl and sec.starttls:
            raise ConfigError(f"{section}.starttls", "ssl and starttls cannot both be true")
    if not _EMAIL_RE.match(config.smtp.from_address):
        raise ConfigError("smtp.from_address", f"{config.smtp.from_address!r} is not an e-mail address")
    if not config.imap.folder:
        raise ConfigError("imap.folder", "must not be empty")
    if config.imap.processed_folder == config.imap.folder:
        raise ConfigError("imap.processed_folder", "must differ from imap.folder")
    if config.imap.batch_size < 1:
        raise ConfigError("imap.batch_size", "must be at least 1")
    allowed = {"phone", "smartcard", "decoder", "card_or_decoder", "name", "address", "email"}
    for item in config.assess.required:
        if item not in allowed:
            raise ConfigError("assess.required", f"{item!r} is not one of {sorted(allowed)}")
    for key in ("card_pattern", "decoder_pattern"):
        try:
            re.compile(getattr(config.extract, key))
        except re.error as exc:
            raise ConfigError(f"extract.{key}", f"invalid regular expression: {exc}") from exc
    from datetime import date

    for key in ("extra_days_off", "extra_working_days"):
        for value in getattr(config.calendar, key):
            try:
                date.fromisoformat(value)
            except ValueError as exc:
                raise ConfigError(f"calendar.{key}", f"{value!r} is not a YYYY-MM-DD date") from exc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(config.calendar.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError("calendar.timezone", f"unknown time zone {config.calendar.timezone!r}") from exc
    _validate_workflow(config)
    known = [rule.value for rule in FilterRule]
    for rule in config.filters.rules:
        if rule not in known:
            raise ConfigError("filters.rules", f"unknown rule {rule!r} (known: {', '.join(known)})")


def _validate_oauth2(config: Config) -> None:
    """The OAuth 2.0 settings, checked only when IMAP or SMTP logs in with them."""
    o = config.oauth2
    if o.provider not in OAUTH2_PROVIDERS:
        raise ConfigError("oauth2.provider", f"{o.provider!r} is not one of {', '.join(OAUTH2_PROVIDERS)}")
    if not config.uses_oauth2():
        return
    if o.provider == "google":
        if not (o.service_account_file or o.client_id):
            raise ConfigError("oauth2.service_account_file", "google needs a service account key file, or the "
                              "client id of an installed app (then 'mailproc oauth login')")
        if o.service_account_file and not Path(o.service_account_file).is_file():
            raise ConfigError("oauth2.service_account_file", f"{o.service_account_file!r} is not a file")
    elif not o.client_id:
        raise ConfigError("oauth2.client_id", f"the {o.provider} provider needs the application's client id")
    if o.provider == "microsoft":
        if not (o.tenant_id or o.authority):
            raise ConfigError("oauth2.tenant_id", "microsoft needs the tenant id (or oauth2.authority)")
        if o.certificate_file and not o.certificate_thumbprint:
            raise ConfigError("oauth2.certificate_thumbprint", "a certificate needs its thumbprint")
    if o.provider == "generic":
        if not o.token_url.startswith(("https://", "http://")):
            raise ConfigError("oauth2.token_url", "the generic provider needs the token endpoint's URL")
        if o.token_url.startswith("http://") and not _is_loopback_url(o.token_url):
            raise ConfigError("oauth2.token_url", "must be https:// (plain http only on loopback)")
    if o.ca_file and not Path(o.ca_file).is_file():
        raise ConfigError("oauth2.ca_file", f"{o.ca_file!r} is not a file")


def _validate_mailboxes(config: Config) -> None:
    names: set[str] = set()
    logins = {(config.imap.host, config.imap.username.lower(), config.imap.folder)}
    for i, box in enumerate(config.mailboxes):
        key = f"mailboxes[{i}]"
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", box.name):
            raise ConfigError(f"{key}.name", "every further mailbox needs a short name: a-z, 0-9, - or _ (32 at most)")
        if box.name in names:
            raise ConfigError(f"{key}.name", f"{box.name!r} is used twice")
        names.add(box.name)
        if box.from_address and not _EMAIL_RE.match(box.from_address):
            raise ConfigError(f"{key}.from_address", f"{box.from_address!r} is not an e-mail address")
        if not box.username:
            raise ConfigError(f"{key}.username", "the mailbox's login is needed")
        if not box.folder:
            raise ConfigError(f"{key}.folder", "must not be empty")
        if box.processed_folder == box.folder:
            raise ConfigError(f"{key}.processed_folder", "must differ from the folder")
        if not 0 < box.port < 65536:
            raise ConfigError(f"{key}.port", f"{box.port} is not a TCP port")
        if box.auth not in AUTH_METHODS:
            raise ConfigError(f"{key}.auth", f"{box.auth!r} is not one of {', '.join(AUTH_METHODS)}")
        login = (box.host, box.username.lower(), box.folder)
        if login in logins:
            raise ConfigError(f"{key}", "the same folder of the same mailbox is configured twice")
        logins.add(login)


def _is_loopback_url(url: str) -> bool:
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


def _validate_workflow(config: Config) -> None:
    seen: set[str] = set()
    for i, agent in enumerate(config.agents):
        key = f"agents[{i}]"
        if not _EMAIL_RE.match(agent.email):
            raise ConfigError(f"{key}.email", f"{agent.email!r} is not an e-mail address")
        if agent.email.lower() in seen:
            raise ConfigError(f"{key}.email", f"{agent.email} is listed twice")
        seen.add(agent.email.lower())
        if agent.role not in tuple(Role):
            raise ConfigError(f"{key}.role", f"{agent.role!r} is not one of {', '.join(Role)}")
        if agent.role == Role.DEPARTMENT and not agent.department:
            raise ConfigError(f"{key}.department", "an agent with role department needs the department's name")
    wf = config.workflow
    if not 0 <= wf.auto_accept_hour <= 23:
        raise ConfigError("workflow.auto_accept_hour", "must be an hour from 0 to 23")
    if any(o < 0 for o in wf.reminder_offsets):
        raise ConfigError("workflow.reminder_offsets", "offsets are working days before a deadline (>= 0)")
    for key, minimum in (("reopen_days", 0), ("mailbox_stale_minutes", 1), ("outbox_stuck_minutes", 1),
                         ("sweep_seconds", 1)):
        if getattr(wf, key) < minimum:
            raise ConfigError(f"workflow.{key}", f"must be at least {minimum}")
    names: set[str] = set()
    for i, rule in enumerate(config.routing.rules):
        key = f"routing.rules[{i}]"
        if not rule.name or rule.name in names:
            raise ConfigError(f"{key}.name", "every routing rule needs a unique name")
        names.add(rule.name)
        if rule.queue not in tuple(Queue):
            raise ConfigError(f"{key}.queue", f"{rule.queue!r} is not L1 or L2")
        if rule.priority not in ("low", "normal", "high", "urgent"):
            raise ConfigError(f"{key}.priority", f"{rule.priority!r} is not low, normal, high or urgent")
        if rule.category not in ("", "fee", "other"):
            raise ConfigError(f"{key}.category", f"{rule.category!r} is not fee or other")
        if not (rule.keywords or rule.repeat_card_days or rule.category):
            raise ConfigError(f"{key}", "a rule needs keywords, repeat_card_days or category")
    if not (0 <= config.digest.hour <= 23 and 0 <= config.digest.minute <= 59):
        raise ConfigError("digest.hour", "digest.hour/minute must be a time of day")


def from_mapping(data: dict[str, Any], *, env: typing.Mapping[str, str] | None = None,
                 source: str = "<mapping>") -> Config:
    """Build a Config from parsed TOML data plus environment overrides."""
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    url_origin = "database.url"
    for var, (section, key) in ENV_OVERRIDES.items():
        value = (env or {}).get(var)
        if value:
            data.setdefault(section, {})[key] = value
            if (section, key) == ("database", "url"):
                url_origin = var
    if isinstance(data.get("database"), dict) and isinstance(data["database"].get("url"), str):
        check_database_url(data["database"]["url"], url_origin)
    sections: dict[str, Any] = {}
    for name, value in data.items():
        if name not in SECTIONS:
            raise ConfigError(name, f"unknown section (known: {', '.join(SECTIONS)})")
        if typing.get_origin(SECTIONS[name]) is list:  # an array of tables, e.g. [[agents]]
            sections[name] = _coerce(name, SECTIONS[name], value)
        else:
            sections[name] = _build_section(name, SECTIONS[name], value)
    config = Config(**sections, source=source)
    config = resolve_paths(config, env or {})
    validate(config)
    return config


def check_database_url(url: str, origin: str = "database.url") -> None:
    """A database URL mistake is a configuration error naming where the URL came from (the key
    or the environment variable), never a traceback, and never repeating the URL: it may hold
    a password."""
    if not url:
        return  # "" = SQLite in the state directory
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - a port that is not a number raises only when read
    except (ArgumentError, ValueError):
        raise ConfigError(origin, "is not a database URL (e.g. postgresql+psycopg://user@host/db or "
                                  "sqlite:////var/lib/mailproc/mailproc.sqlite3); the value is not shown: "
                                  "it may hold a password") from None
    backend = parsed.get_backend_name()
    if backend == "postgres":
        raise ConfigError(origin, "use postgresql+psycopg:// (SQLAlchemy does not know postgres://)")
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(origin, f"database {backend!r} is not supported (sqlite or postgresql)")
    if backend == "postgresql" and parsed.get_driver_name() not in ("psycopg", "psycopg2"):
        raise ConfigError(origin, "use the psycopg driver: postgresql+psycopg://…")


def default_state_dir(env: typing.Mapping[str, str]) -> Path:
    """Where mailproc keeps its state when ``paths.state_dir`` is not set: the environment's
    word first (``$MAILPROC_STATE_DIR``, then systemd's ``$STATE_DIRECTORY``), else
    ``/var/lib/mailproc`` for root and the XDG state folder for anyone else. Never the
    current directory."""
    for var in (ENV_STATE_DIR, "STATE_DIRECTORY"):
        value = env.get(var, "").split(":")[0]
        if value:
            return Path(value)
    if os.geteuid() == 0:
        return Path("/var/lib/mailproc")
    xdg = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "mailproc"


def resolve_paths(config: Config, env: typing.Mapping[str, str]) -> Config:
    """Make every path in the config absolute, under the one state directory: the SQLite
    database and the scheduler lock by default, and any relative path given for them."""
    state = Path(config.paths.state_dir) if config.paths.state_dir else default_state_dir(env)
    if not state.is_absolute():
        raise ConfigError("paths.state_dir", f"{str(state)!r} must be an absolute path")
    url = config.database.url or f"sqlite:///{state / SQLITE_FILE}"
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        rest = url[len(prefix):]
        if rest and not rest.startswith(":memory:") and not rest.startswith("?"):
            url = prefix + str(state / rest)  # relative to the state directory, never the current one
    lock = Path(config.scheduler.lock_file or LOCK_FILE)
    return dataclasses.replace(
        config,
        paths=dataclasses.replace(config.paths, state_dir=str(state)),
        database=dataclasses.replace(config.database, url=url),
        scheduler=dataclasses.replace(config.scheduler, lock_file=str(lock if lock.is_absolute() else state / lock)),
    )


def load(path: str | os.PathLike[str] | None = None, *, env: typing.Mapping[str, str] | None = None) -> Config:
    """Load the config file named by ``path``, ``$MAILPROC_CONFIG`` or the default path.

    A missing default file is not an error (defaults apply); a missing named file is.
    """
    env = os.environ if env is None else env
    named = path or env.get(ENV_CONFIG)
    file = Path(named) if named else DEFAULT_CONFIG_PATH
    if not file.exists():
        if named:
            raise ConfigError("config", f"file {str(file)!r} does not exist")
        return from_mapping({}, env=env, source="<defaults>")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", f"{file}: invalid TOML: {exc}") from exc
    return from_mapping(data, env=env, source=str(file))
