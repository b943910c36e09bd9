"""Reading a bulk import (``mailproc tickets import``): complaints logged in the call centre's
own system, as a CSV file, checked line by line. Pure: bytes in, rows and bad lines out (no
database, no clock: ``now`` is given).

The file is UTF-8 with or without a BOM, its cells separated by commas or by semicolons (as
Excel writes it in a Vietnamese locale); the first line names the columns (:data:`COLUMNS`,
in any order; :data:`REQUIRED_COLUMNS` must be there). Identifiers are checked and normalised
by the same rules as an agent's ``#set`` (phone to E.164, card digits, decoder upper case, a
known category, dd/mm/yyyy dates), so an imported ticket holds what an e-mailed one would.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from mailproc.analysis.extract.fields import HIGH, Extracted
from mailproc.analysis.extract.gazetteer import recognise
from mailproc.config import ExtractConfig
from mailproc.workflow.commands import SET_FIELDS, CorrectionError, parse_correction

COLUMNS = ("external_id", "received_at", "channel", "name", "address", "phone", "email", "smartcard", "decoder",
           "category", "incident_date", "text")
REQUIRED_COLUMNS = ("external_id", "received_at", "channel", "text")  # each a column and a value on every line
IDENTIFIER_COLUMNS = ("name", "address", "phone", "email", "smartcard", "decoder", "incident_date", "category")
PROVENANCE = "import"  # where an imported identifier came from (sure: the call centre typed it in)
EXTERNAL_ID_MAX = 64
TEXT_MAX = 20_000
CHANNEL_RE = re.compile(r"[a-z0-9][a-z0-9_\-]{0,31}")  # a contact point's name (here and in #channel)
DAY_FIRST_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y")  # as people write a date (and #received)
_RECEIVED_FORMATS = (*DAY_FIRST_FORMATS, "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


@dataclass(frozen=True)
class ImportRow:
    """One complaint of the file, checked: its values normalised."""

    line: int  # where its record starts in the file (1: the header)
    external_id: str
    received_at: datetime  # aware
    channel: str
    found: Extracted  # the identifiers, as extraction gives them (from the import: sure)
    text: str


@dataclass(frozen=True)
class BadLine:
    """Why a line cannot be imported."""

    line: int
    column: str | None  # None: the line as a whole
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}" + (f", {self.column}" if self.column else "") + f": {self.reason}"


@dataclass(frozen=True)
class ImportFile:
    rows: tuple[ImportRow, ...]
    errors: tuple[BadLine, ...]  # any at all: nothing of the file is imported


def read_import(data: bytes, *, config: ExtractConfig, tz: ZoneInfo, now: datetime) -> ImportFile:
    """Every complaint of the CSV file ``data``, or every line that is wrong and why."""
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return ImportFile((), (BadLine(data[:exc.start].count(b"\n") + 1, None, "not UTF-8 text"),))
    if not content.strip():
        return ImportFile((), (BadLine(1, None, "the file is empty"),))
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=_delimiter(content))
    header = [cell.strip().lower() for cell in next(reader)]
    errors = _check_header(header)
    if errors:
        return ImportFile((), tuple(errors))
    rows: list[ImportRow] = []
    first_line: dict[str, int] = {}
    start = reader.line_num + 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in cells):  # a blank line, or Excel's ";;;;"
            continue
        if len(cells) > len(header):
            errors.append(BadLine(line, None, f"{len(cells)} cells, the header names {len(header)}"))
            continue
        values = dict(zip(header, (cell.strip() for cell in cells), strict=False))
        row = _check_row(line, values, config, tz, now, errors)
        if row is None:
            continue
        if row.external_id in first_line:
            errors.append(BadLine(line, "external_id", f"{row.external_id!r} is also on line "
                                                       f"{first_line[row.external_id]}"))
            continue
        first_line[row.external_id] = line
        rows.append(row)
    return ImportFile(tuple(rows), tuple(errors))


def _delimiter(content: str) -> str:
    """Comma or semicolon, sniffed from the header line (the column names hold neither)."""
    header = content.splitlines()[0]
    try:
        return csv.Sniffer().sniff(header, delimiters=",;").delimiter
    except csv.Error:  # one column only, or nothing to tell: count
        return ";" if header.count(";") > header.count(",") else ","


def _check_header(header: list[str]) -> list[BadLine]:
    errors = [BadLine(1, name or None, f"unknown column {name!r} (the columns: {', '.join(COLUMNS)})")
              for name in header if name not in COLUMNS]
    errors += [BadLine(1, name, "named twice") for name in dict.fromkeys(header) if header.count(name) > 1]
    errors += [BadLine(1, name, "required column missing") for name in REQUIRED_COLUMNS if name not in header]
    return errors


def _check_row(line: int, values: dict[str, str], config: ExtractConfig, tz: ZoneInfo, now: datetime,
               errors: list[BadLine]) -> ImportRow | None:
    """The line's values checked; each thing wrong with it appended to ``errors``."""
    before = len(errors)

    def bad(column: str, reason: str) -> None:
        errors.append(BadLine(line, column, reason))

    for name in REQUIRED_COLUMNS:
        if not values.get(name):
            bad(name, "required, empty")
    external_id, text = values.get("external_id", ""), values.get("text", "")
    channel = values.get("channel", "").lower()
    if len(external_id) > EXTERNAL_ID_MAX:
        bad("external_id", f"longer than {EXTERNAL_ID_MAX} characters")
    if channel and not CHANNEL_RE.fullmatch(channel):
        bad("channel", f"{channel!r} is not a channel name (letters, digits, '-' or '_', e.g. hotline, store)")
    if len(text) > TEXT_MAX:
        bad("text", f"longer than {TEXT_MAX} characters")
    received = _received_at(values.get("received_at", ""), tz)
    if values.get("received_at") and received is None:
        bad("received_at", f"bad date {values['received_at']!r} (write it as dd/mm/yyyy hh:mm or yyyy-mm-dd hh:mm)")
    elif received is not None and received > now:
        bad("received_at", f"{values['received_at']!r} is in the future")
    found: dict[str, str] = {}
    for name in IDENTIFIER_COLUMNS:
        if values.get(name):
            try:  # as an agent's '#set' reads it (SET_FIELDS[name][0]: the field's own name)
                found[name] = parse_correction(f"{SET_FIELDS[name][0]}: {values[name]}", config).value
            except CorrectionError as exc:
                bad(name, str(exc))
    incident = date.fromisoformat(found["incident_date"]) if "incident_date" in found else None
    if incident is not None and received is not None and incident > received.astimezone(tz).date():
        bad("incident_date", "after the complaint was received")
    if len(errors) > before or received is None:
        return None
    place = recognise(found["address"]) if "address" in found else None
    sure = {name: HIGH for name in found if name != "category"}
    extracted = Extracted(
        name=found.get("name"), address=found.get("address"), phone=found.get("phone"), email=found.get("email"),
        smartcard=found.get("smartcard"), decoder=found.get("decoder"), incident_date=incident,
        category=found.get("category", "other"), provenance=dict.fromkeys(sure, PROVENANCE), confidence=sure,
        province=place.province if place else None, province_code=place.province_code if place else None,
        ward=place.ward if place else None, ward_code=place.ward_code if place else None)
    return ImportRow(line, external_id, received, channel, extracted, text)


def local_time(value: str, tz: ZoneInfo, formats: tuple[str, ...] = DAY_FIRST_FORMATS) -> datetime | None:
    """``value`` in the first of ``formats`` it fits, in the company's time zone (a day alone:
    its first minute); None if none fits."""
    value = " ".join(value.split())
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=tz)
        except ValueError:
            pass
    return None


def _received_at(value: str, tz: ZoneInfo) -> datetime | None:
    """When it was received: ISO 8601 (with or without an offset) or dd/mm/yyyy [hh:mm[:ss]];
    without an offset, in the company's time zone; a day alone is its first minute."""
    found = local_time(value, tz, _RECEIVED_FORMATS)
    if found is not None:
        return found
    value = " ".join(value.split())
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
