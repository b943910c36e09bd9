"""Score extraction on a labelled set of mails: ``mailproc extract --eval DIR``.

A labelled set is a folder of ``NAME.eml`` files, each beside a ``NAME.json`` holding what a
careful agent reads in it (the eight keys of ``extract --json``; ``province`` and ``ward`` are
scored too when a label gives them). Per field it counts the mails whose value is right, the
*false values* (a value extracted where the label has none: the worst error, a wrong
identifier trusted), the misses (none extracted where the label has one) and the wrong values,
and it lists every mismatch. Pure: mails in, a :class:`Report` out; the CLI reads the folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from mailproc.analysis.extract.fields import JSON_KEYS, PLACE_KEYS, Extracted, extract
from mailproc.analysis.parsing import parse_message
from mailproc.config import ExtractConfig, ParsingConfig

_SCORED_EXTRAS = ("province", "ward")  # scored when a label has them


def extract_message(raw: bytes, *, parsing: ParsingConfig, config: ExtractConfig, tz: ZoneInfo,
                    today: date) -> Extracted:
    """What ``mailproc extract`` reads in one stored message: the customer's own text, dates
    counted from the message's Date header (in ``tz``; ``today`` without one). Raises
    :class:`~mailproc.errors.MessageRejected` for a message that cannot be parsed."""
    parsed = parse_message(raw, parsing)
    mail_date = parsed.date.astimezone(tz).date() if parsed.date else today
    return extract(parsed.customer_text, subject=parsed.subject, sender_address=parsed.from_address,
                   sender_name=parsed.from_name, mail_date=mail_date, config=config)


@dataclass(frozen=True)
class Mismatch:
    mail: str
    field: str
    expected: Any
    got: Any

    @property
    def kind(self) -> str:
        """"false value" (none expected), "missed" (none found) or "wrong"."""
        if self.expected is None:
            return "false value"
        return "missed" if self.got is None else "wrong"


@dataclass
class FieldScore:
    total: int = 0
    correct: int = 0
    false_values: int = 0
    missed: int = 0
    wrong: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 1.0


@dataclass
class Report:
    fields: dict[str, FieldScore] = field(default_factory=dict)
    mismatches: list[Mismatch] = field(default_factory=list)
    mails: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (mail, why it was not scored)

    @property
    def false_values(self) -> int:
        return sum(score.false_values for score in self.fields.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "mails": self.mails,
            "fields": {name: {"accuracy": round(s.accuracy, 4), "correct": s.correct, "total": s.total,
                              "false_values": s.false_values, "missed": s.missed, "wrong": s.wrong}
                       for name, s in self.fields.items()},
            "false_values": self.false_values,
            "mismatches": [{"mail": m.mail, "field": m.field, "kind": m.kind, "expected": m.expected,
                            "got": m.got} for m in self.mismatches],
            "errors": [{"mail": mail, "error": why} for mail, why in self.errors],
        }

    def lines(self) -> list[str]:
        """The report as text: a table of the fields, then every mismatch."""
        out = [f"{self.mails} mails",
               f"{'field':<15}{'accuracy':>9}{'correct':>9}{'false':>7}{'missed':>8}{'wrong':>7}"]
        for name, s in self.fields.items():
            out.append(f"{name:<15}{s.accuracy:>9.3f}{s.correct:>5}/{s.total:<3}{s.false_values:>7}"
                       f"{s.missed:>8}{s.wrong:>7}")
        out.append(f"false values: {self.false_values}")
        if self.mismatches:
            out.append("mismatches:")
            out += [f"  {m.mail}  {m.field} ({m.kind}): expected {m.expected!r}, got {m.got!r}"
                    for m in self.mismatches]
        out += [f"not scored: {mail}: {why}" for mail, why in self.errors]
        return out


def score(results: Iterable[tuple[str, Mapping[str, Any], Mapping[str, Any]]]) -> Report:
    """Score ``(mail, expected, got)`` triples: ``expected`` is a label (the eight keys, maybe
    province and ward), ``got`` what extraction gave (:meth:`Extracted.record`)."""
    report = Report({name: FieldScore() for name in JSON_KEYS})
    for mail, expected, got in results:
        report.mails += 1
        for name in (*JSON_KEYS, *(k for k in _SCORED_EXTRAS if k in expected)):
            if name not in expected:
                continue
            want, have = expected[name], got.get(name)
            s = report.fields.setdefault(name, FieldScore())
            s.total += 1
            if want == have:
                s.correct += 1
                continue
            mismatch = Mismatch(mail, name, want, have)
            report.mismatches.append(mismatch)
            if mismatch.kind == "false value":
                s.false_values += 1
            elif mismatch.kind == "missed":
                s.missed += 1
            else:
                s.wrong += 1
    return report


def record_of(found: Extracted) -> dict[str, Any]:
    """What is compared with a label: the contract's keys and the place keys."""
    record = found.record()
    return {name: record[name] for name in (*JSON_KEYS, *PLACE_KEYS)}


def today_in(tz: ZoneInfo) -> date:
    return datetime.now(tz).date()
