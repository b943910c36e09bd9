"""The one configuration: the shipped file matches the code, errors name the key, env wins."""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from pathlib import Path
from typing import Any

import pytest

from mailproc.config import (
    ENV_OVERRIDES,
    SECTIONS,
    Config,
    DatabaseConfig,
    ImapConfig,
    SmtpConfig,
    from_mapping,
    load,
    resolve_paths,
)
from mailproc.errors import ConfigError

SHIPPED = Path(__file__).resolve().parent.parent / "config" / "mailproc.toml"


def _defaults(cls: type) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            values[f.name] = f.default
        else:
            assert f.default_factory is not dataclasses.MISSING, f.name
            values[f.name] = f.default_factory()
    return values


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    return tomllib.loads(SHIPPED.read_text(encoding="utf-8"))


# Arrays of tables ([[agents]]) have no default entries: the file documents them in comments.
TABLE_SECTIONS = [f.name for f in dataclasses.fields(Config)
                  if f.name != "source" and typing.get_origin(SECTIONS[f.name]) is not list]


def test_shipped_file_lists_exactly_the_sections(shipped: dict[str, Any]) -> None:
    code_sections = [f.name for f in dataclasses.fields(Config) if f.name != "source"]
    assert list(shipped) == TABLE_SECTIONS  # same names, same order
    assert set(SECTIONS) == set(code_sections)


@pytest.mark.parametrize("section", TABLE_SECTIONS)
def test_shipped_section_lists_every_option_with_its_default(shipped: dict[str, Any], section: str) -> None:
    cls = SECTIONS[section]
    defaults = {key: [dataclasses.asdict(v) for v in value]
                if isinstance(value, list) and value and dataclasses.is_dataclass(value[0]) else value
                for key, value in _defaults(cls).items()}
    documented = shipped[section]
    assert list(documented) == list(defaults), f"[{section}] options differ from {cls.__name__}"
    for key, value in defaults.items():
        assert documented[key] == value, f"{section}.{key}: file has {documented[key]!r}, code {value!r}"
        # The same TOML type as the field's: 30.0 not 30 for a float, true not "true".
        assert type(documented[key]) is type(value), f"{section}.{key}"


def test_shipped_file_loads_to_the_defaults() -> None:
    assert load(SHIPPED, env={}) == resolve_paths(Config(), {})
    assert load(SHIPPED, env={}).source == str(SHIPPED)


def test_defaults_are_valid() -> None:
    assert from_mapping({}, env={}) == resolve_paths(Config(), {})


def test_every_path_lives_in_the_one_absolute_state_directory(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = from_mapping({"paths": {"state_dir": str(state)}}, env={})
    assert config.database.url == f"sqlite:///{state}/mailproc.sqlite3"
    assert config.scheduler.lock_file == str(state / "mailproc.lock")
    relative = from_mapping({"paths": {"state_dir": str(state)}, "database": {"url": "sqlite:///k.db"},
                             "scheduler": {"lock_file": "run/x.lock"}}, env={})
    assert relative.database.url == f"sqlite:///{state}/k.db"
    assert relative.scheduler.lock_file == str(state / "run" / "x.lock")
    assert from_mapping({}, env={"MAILPROC_STATE_DIR": str(state)}).paths.state_dir == str(state)
    assert from_mapping({}, env={"STATE_DIRECTORY": f"{state}:/other"}).paths.state_dir == str(state)
    absolute = from_mapping({"database": {"url": "sqlite:////srv/m.db"}}, env={})
    assert absolute.database.url == "sqlite:////srv/m.db"
    with pytest.raises(ConfigError, match=r"paths\.state_dir"):
        from_mapping({"paths": {"state_dir": "var"}}, env={})


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"imap": {"port": 70000}}, "imap.port"),
        ({"imap": {"port": 0}}, "imap.port"),
        ({"smtp": {"port": -1}}, "smtp.port"),
        ({"imap": {"port": "143"}}, "imap.port"),  # wrong type
        ({"imap": {"port": 143.0}}, "imap.port"),
        ({"imap": {"port": True}}, "imap.port"),  # a bool is not a number
        ({"imap": {"ssl": "yes"}}, "imap.ssl"),
        ({"imap": {"ssl": 1}}, "imap.ssl"),
        ({"imap": {"timeout": "30"}}, "imap.timeout"),
        ({"imap": {"timeout": False}}, "imap.timeout"),
        ({"imap": {"host": 127}}, "imap.host"),
        ({"imap": {"hots": "x"}}, "imap.hots"),  # unknown option
        ({"imapp": {"host": "x"}}, "imapp"),  # unknown section
        ({"imap": "127.0.0.1"}, "imap"),  # a section must be a table
        ({"imap": {"ssl": True, "starttls": True}}, "imap.starttls"),
        ({"smtp": {"ssl": True, "starttls": True}}, "smtp.starttls"),
        ({"imap": {"folder": ""}}, "imap.folder"),
        ({"imap": {"processed_folder": "INBOX"}}, "imap.processed_folder"),
        ({"imap": {"batch_size": 0}}, "imap.batch_size"),
        ({"smtp": {"from_address": "not an address"}}, "smtp.from_address"),
        ({"database": {"url": "var/mailproc.sqlite3"}}, "database.url"),
        ({"assess": {"required": ["phone", "shoe_size"]}}, "assess.required"),
        ({"assess": {"required": "phone"}}, "assess.required"),  # a list is required
        ({"assess": {"required": ["phone", 3]}}, "assess.required[1]"),
        ({"extract": {"card_pattern": r"\d(?:[ .\-]?\d{7,19}"}}, "extract.card_pattern"),  # bad regex
        ({"extract": {"decoder_pattern": "[A-Z"}}, "extract.decoder_pattern"),
        ({"calendar": {"extra_days_off": ["2026-02-30"]}}, "calendar.extra_days_off"),  # bad date
        ({"calendar": {"extra_working_days": ["10/01/2026"]}}, "calendar.extra_working_days"),
        ({"calendar": {"timezone": "Asia/Hanoi_City"}}, "calendar.timezone"),
        ({"filters": {"rules": ["own_mail", "spam_score"]}}, "filters.rules"),
    ],
)
def test_errors_name_the_key(data: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_mapping(data, env={})
    assert info.value.key == key
    assert str(info.value).startswith(f"{key}: ")


def test_unknown_option_error_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        from_mapping({"smtp": {"pasword": "x"}}, env={})
    assert "password" in info.value.problem


@pytest.mark.parametrize(
    ("data", "section", "key", "expected"),
    [
        ({"imap": {"timeout": 10}}, "imap", "timeout", 10.0),  # an int is accepted for a float
        ({"imap": {"ssl": True, "port": 993}}, "imap", "port", 993),
        ({"calendar": {"extra_days_off": ["2026-01-02"]}}, "calendar", "extra_days_off", ["2026-01-02"]),
        ({"assess": {"required": []}}, "assess", "required", []),
        ({"filters": {"rules": ["mailing_list", "own_mail"]}}, "filters", "rules", ["mailing_list", "own_mail"]),
    ],
)
def test_valid_values(data: dict[str, Any], section: str, key: str, expected: object) -> None:
    value = getattr(getattr(from_mapping(data, env={}), section), key)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(("var", "target"), list(ENV_OVERRIDES.items()))
def test_environment_wins_over_the_file(var: str, target: tuple[str, str], tmp_path: Path) -> None:
    section, key = target
    value = "postgresql+psycopg://mailproc@db/mailproc" if key == "url" else "from-env-s3cret"
    file_value = "sqlite:////srv/file.sqlite3" if key == "url" else "from-file"
    path = tmp_path / "mailproc.toml"
    path.write_text(f'[{section}]\n{key} = "{file_value}"\n', encoding="utf-8")
    assert getattr(getattr(load(path, env={}), section), key) == file_value
    assert getattr(getattr(load(path, env={var: value}), section), key) == value
    assert getattr(getattr(from_mapping({}, env={var: value}), section), key) == value


def test_environment_overrides_are_exactly_these() -> None:
    assert ENV_OVERRIDES == {
        "MAILPROC_IMAP_PASSWORD": ("imap", "password"),
        "MAILPROC_SMTP_PASSWORD": ("smtp", "password"),
        "MAILPROC_DATABASE_URL": ("database", "url"),
        "MAILPROC_OAUTH2_CLIENT_SECRET": ("oauth2", "client_secret"),
        "MAILPROC_OAUTH2_REFRESH_TOKEN": ("oauth2", "refresh_token"),
    }


def test_empty_environment_value_does_not_blank_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mailproc.toml"
    path.write_text('[imap]\npassword = "from-file"\n', encoding="utf-8")
    assert load(path, env={"MAILPROC_IMAP_PASSWORD": ""}).imap.password == "from-file"


def test_environment_value_is_still_validated() -> None:
    with pytest.raises(ConfigError) as info:
        from_mapping({}, env={"MAILPROC_DATABASE_URL": "not-a-url"})
    assert info.value.key == "MAILPROC_DATABASE_URL"  # where the bad value came from


def test_input_mapping_is_not_modified() -> None:
    data: dict[str, Any] = {"imap": {"host": "mail.example"}}
    from_mapping(data, env={"MAILPROC_IMAP_PASSWORD": "x"})
    assert data == {"imap": {"host": "mail.example"}}


def test_load_missing_named_file_raises(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path / "nope.toml", env={})
    assert info.value.key == "config"
    assert "nope.toml" in str(info.value)


def test_load_missing_file_named_by_environment_raises(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load(env={"MAILPROC_CONFIG": str(tmp_path / "nope.toml")})


def test_load_file_named_by_environment(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text('[imap]\nhost = "mail.kplus.example"\n', encoding="utf-8")
    config = load(env={"MAILPROC_CONFIG": str(path)})
    assert config.imap.host == "mail.kplus.example"
    assert config.source == str(path)


def test_load_without_a_default_file_gives_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("mailproc.config.DEFAULT_CONFIG_PATH", tmp_path / "absent.toml")
    assert load(env={}) == resolve_paths(Config(), {})


def test_load_invalid_toml_raises(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[imap\nhost = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path, env={})
    assert info.value.key == "config"


def test_load_reports_the_key_of_a_bad_value(tmp_path: Path) -> None:
    path = tmp_path / "mailproc.toml"
    path.write_text("[imap]\nport = 99999\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path, env={})
    assert info.value.key == "imap.port"


@pytest.mark.parametrize(
    "config",
    [
        from_mapping({"imap": {"password": "imap-s3cret"}, "smtp": {"password": "smtp-s3cret"}}, env={}),
        from_mapping({}, env={"MAILPROC_IMAP_PASSWORD": "imap-s3cret", "MAILPROC_SMTP_PASSWORD": "smtp-s3cret"}),
    ],
)
def test_passwords_not_in_repr(config: Config) -> None:
    assert config.imap.password == "imap-s3cret"
    for text in (repr(config), str(config), repr(config.imap), repr(config.smtp)):
        assert "imap-s3cret" not in text
        assert "smtp-s3cret" not in text
    assert "s3cret" not in repr(ImapConfig(password="s3cret"))
    assert "s3cret" not in repr(SmtpConfig(password="s3cret"))


def test_database_password_not_in_repr() -> None:
    config = from_mapping({}, env={"MAILPROC_DATABASE_URL": "postgresql+psycopg://mailproc:db-s3cret@db/mailproc"})
    assert config.database.url.endswith("@db/mailproc")
    assert "db-s3cret" not in repr(config)
    assert "db-s3cret" not in repr(DatabaseConfig(url="postgresql://u:db-s3cret@h/d"))


def test_replace_changes_one_section() -> None:
    config = Config().replace("imap", port=993, ssl=True)
    assert (config.imap.port, config.imap.ssl) == (993, True)
    assert config.smtp == Config().smtp


def test_check_config_names_every_trust_assumption_it_cannot_verify() -> None:
    from mailproc.ops.checks import trust_warnings

    agents = [{"email": "l2@kplus.example", "role": "l2"}]
    assert trust_warnings(from_mapping({}, env={})) == []  # no agents: nothing to trust
    [none] = trust_warnings(from_mapping({"agents": agents}, env={}))
    assert "no way to authenticate" in none
    every = trust_warnings(from_mapping({"agents": agents, "auth": {
        "trusted_authserv_ids": ["mx.kplus.example"], "exchange_online": True, "verify_dkim": True}}, env={}))
    assert [w.split(":")[0] for w in every] == ["auth.trusted_authserv_ids", "auth.exchange_online", "auth.verify_dkim"]


@pytest.mark.parametrize(("url", "says"), [
    ("postgres://kplus:s3cr3t-pw@db/mailproc", "use postgresql+psycopg://"),
    ("postgresql+psycopg://kplus:s3cr3t-pw@db:port/mailproc", "is not a database URL"),
    ("kplus:s3cr3t-pw at db", "is not a database URL"),
    ("mysql://kplus:s3cr3t-pw@db/mailproc", "is not supported"),
])
def test_a_database_url_mistake_names_its_source_and_never_the_password(url: str, says: str) -> None:
    with pytest.raises(ConfigError) as in_file:
        from_mapping({"database": {"url": url}}, env={})
    with pytest.raises(ConfigError) as in_env:
        from_mapping({}, env={"MAILPROC_DATABASE_URL": url})
    assert in_file.value.key == "database.url" and in_env.value.key == "MAILPROC_DATABASE_URL"
    for error in (in_file.value, in_env.value):
        assert says in str(error) and "s3cr3t-pw" not in str(error)
