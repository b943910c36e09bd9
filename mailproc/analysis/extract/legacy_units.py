"""The pre-2025 administrative units and the 2025 units they became: the table the gazetteer
ships as ``legacy_units.json``, and how it is made.

Customers still write the old three-level addresses ("Phường 12, Quận 3, TP.HCM", "xã Nghĩa
Hưng, huyện Vĩnh Tường, Vĩnh Phúc"). The reform of 1 July 2025 merged the 63 provinces into
34 and removed the districts; the converter package ``vietnam-address-converter`` maps every
old ward to the new one (10,358 rows). Importing it costs about 0.3 s and 70 MB (its table is
one Python string), too much for every analysis worker, so its mapping is reduced here to the
keys the gazetteer looks up — folded names, unit types dropped — and written once:

    python -m mailproc.analysis.extract.legacy_units      # needs the dev extra

``tests/analysis/test_gazetteer.py`` checks the shipped file against the package when it is
installed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mailproc.core.textnorm import fold

PATH = Path(__file__).with_name("legacy_units.json")


def _key(name: str) -> str:
    return " ".join(fold(name).replace("-", " ").split())


def build() -> dict[str, Any]:
    """The table, from the installed converter package (a dev dependency)."""
    import vietnam_address_converter
    from vietnam_address_converter.data import DEFAULT_DATA

    mapping = DEFAULT_DATA["mapping"]
    provinces: dict[str, str] = {}
    districts: dict[str, dict[str, str]] = {}
    wards: dict[str, set[str]] = {}
    old_districts = DEFAULT_DATA["oldDistricts"]
    for row in mapping["rows"]:
        keys, old = row["keys"], row["old"]
        old_province, new_province = keys["old_province_name"], keys["new_province_name"]
        provinces[old_province] = new_province
        district = old_districts.get(old["district_code"], {})
        districts.setdefault(old_province, {})[keys["old_district_name"]] = district.get("type", "")
        path = f"{old_province}|{keys['old_district_name']}|{keys['old_ward_name']}"
        wards.setdefault(path, set()).add(keys["new_ward_name"])
    return {
        "source": f"vietnam-address-converter {vietnam_address_converter.__version__} "
                  f"(mapping {mapping['meta']['version']}, {mapping['meta']['row_count']} rows)",
        "provinces": dict(sorted(provinces.items())),
        "districts": {p: dict(sorted(d.items())) for p, d in sorted(districts.items())},
        # An old ward split between several new ones maps to none (the street would decide).
        "wards": {path: (next(iter(new)) if len(new) == 1 else None)
                  for path, new in sorted(wards.items())},
    }


def main() -> None:
    table = build()
    PATH.write_text(json.dumps(table, ensure_ascii=False, separators=(",", ":")) + "\n",
                    encoding="utf-8")
    print(f"wrote {PATH} ({len(table['wards'])} old wards)", file=sys.stderr)


if __name__ == "__main__":
    main()
