"""Golden corpus: `mailproc extract FILE.eml --json` must return each mail's hand-checked JSON.

The pairs live in tests/corpus/ (see its README.md; regenerate with _make_corpus.py). Every
extraction bug found adds a pair there, not a new test here.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

CORPUS = Path(__file__).parent.parent / "corpus"
EMLS = sorted(CORPUS.glob("*.eml"))
JSONS = sorted(CORPUS.glob("*.json"))
KEYS = {"name", "address", "phone", "email", "smartcard", "decoder", "incident_date", "category"}
MIN_PAIRS = 40

# Shapes the contract promises, so a typo in an expected file fails here, not as a CLI mismatch.
SHAPES = {
    "phone": re.compile(r"\+84\d{9,10}"),
    "email": re.compile(r"[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}"),
    "smartcard": re.compile(r"\d{8,20}"),
    "decoder": re.compile(r"(?=(?:[^0-9]*[0-9]){4})[A-Z0-9-]{6,24}"),
    "incident_date": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "category": re.compile(r"fee|other"),
}


def _expected(eml_path: Path) -> dict[str, str | None]:
    text = eml_path.with_suffix(".json").read_text(encoding="utf-8")
    data: dict[str, str | None] = json.loads(text)
    return data


def test_corpus_is_paired_and_large_enough() -> None:
    eml_stems = {p.stem for p in EMLS}
    json_stems = {p.stem for p in JSONS}
    assert eml_stems - json_stems == set(), "an .eml without its .json"
    assert json_stems - eml_stems == set(), "a .json without its .eml"
    assert len(EMLS) >= MIN_PAIRS


@pytest.mark.parametrize("eml_path", EMLS, ids=[p.stem for p in EMLS])
def test_expected_values_are_well_formed(eml_path: Path) -> None:
    expected = _expected(eml_path)
    assert set(expected) == KEYS
    assert expected["category"] is not None
    for key, shape in SHAPES.items():
        value = expected[key]
        assert value is None or shape.fullmatch(value), f"{key}={value!r}"
    name, address = expected["name"], expected["address"]
    for value in (name, address):
        assert value is None or (value == value.strip() and unicodedata.is_normalized("NFC", value))


@pytest.mark.parametrize("eml_path", EMLS, ids=[p.stem for p in EMLS])
def test_extract_matches_golden(eml_path: Path) -> None:
    from mailproc.cli import main  # imported here so the pairing checks run even if the CLI breaks

    result = CliRunner().invoke(main, ["extract", str(eml_path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == _expected(eml_path)
