"""``mailproc extract --eval DIR``: the golden corpus scores at least 0.98 per field with no
false value (issue 14's target), and a wrong label is reported as a mismatch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from mailproc.analysis.extract.evaluate import Mismatch, score
from mailproc.cli import main

CORPUS = Path(__file__).parent.parent / "corpus"
TARGET = 0.98


def _eval(folder: Path, *more: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["extract", "--eval", str(folder), "--json", *more])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_corpus_meets_the_target() -> None:
    report = _eval(CORPUS)
    assert report["mails"] == len(list(CORPUS.glob("*.eml")))
    assert report["errors"] == []
    low = {name: s["accuracy"] for name, s in report["fields"].items() if s["accuracy"] < TARGET}
    assert low == {}, report["mismatches"]
    assert report["false_values"] == 0, report["mismatches"]


def test_a_wrong_label_is_a_mismatch(tmp_path: Path) -> None:
    for stem in ("001-utf8-double-charge", "042-very-short-ascii"):
        for suffix in (".eml", ".json"):
            shutil.copy(CORPUS / f"{stem}{suffix}", tmp_path / f"{stem}{suffix}")
    label = tmp_path / "001-utf8-double-charge.json"
    expected = json.loads(label.read_text(encoding="utf-8"))
    expected["phone"] = "+84987654321"  # deliberately wrong
    expected["decoder"] = None  # (right: the mail has none)
    label.write_text(json.dumps(expected, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "999-no-label.eml").write_bytes((CORPUS / "042-very-short-ascii.eml").read_bytes())

    report = _eval(tmp_path)
    assert report["mails"] == 2
    assert report["mismatches"] == [{"mail": "001-utf8-double-charge", "field": "phone", "kind": "wrong",
                                     "expected": "+84987654321", "got": "+84912345678"}]
    assert report["fields"]["phone"] == {"accuracy": 0.5, "correct": 1, "total": 2, "false_values": 0,
                                         "missed": 0, "wrong": 1}
    assert report["errors"] == [{"mail": "999-no-label.eml", "error": "no label 999-no-label.json"}]

    text = CliRunner().invoke(main, ["extract", "--eval", str(tmp_path)]).stdout
    assert "001-utf8-double-charge  phone (wrong): expected '+84987654321', got '+84912345678'" in text
    assert "false values: 0" in text


def test_score_counts_false_values_and_misses() -> None:
    report = score([
        ("a", {"name": None, "phone": "+84912345678"}, {"name": "Lê Văn A", "phone": None}),
        ("b", {"name": "B", "phone": "+84912345678", "province": "Thành phố Hà Nội"},
         {"name": "B", "phone": "+84912345678", "province": "Thành phố Hà Nội"}),
    ])
    assert report.false_values == 1
    assert (report.fields["name"].false_values, report.fields["phone"].missed) == (1, 1)
    assert report.fields["province"].accuracy == 1.0 and report.fields["email"].total == 0
    assert [m.kind for m in report.mismatches] == ["false value", "missed"]
    assert Mismatch("x", "card", "1", "2").kind == "wrong"


def test_extract_needs_a_file_or_a_folder() -> None:
    result = CliRunner().invoke(main, ["extract"])
    assert result.exit_code != 0 and "--eval DIR" in result.output
