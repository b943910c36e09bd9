"""Vietnam's administrative units: which province and ward an address names, and where it ends.

The current units (34 provinces and their 3,321 wards after the reform of 1 July 2025) come
from the ``vietnam-provinces`` package, read once from its JSON and indexed by folded name;
the pre-2025 units (63 provinces, their districts and wards) and what each became come from
``legacy_units.json`` (see :mod:`mailproc.analysis.extract.legacy_units`). Both forms are
recognised:

* the 2025 two-level form, the ward directly under the province: "18 Lê Duẩn, phường Sài
  Gòn, Thành phố Hồ Chí Minh";
* the old three-level form, a district between: "45/12 Nguyễn Thị Minh Khai, P. Bến Thành,
  Q.1, TP.HCM", "xã Nghĩa Hưng, H. Vĩnh Tường, Vĩnh Phúc" (mapped to the 2025 units: a
  merged province to the one it joined, an old ward to the new ward it became; an old ward
  split between several new ones gives no ward).

Abbreviations are read (P., Q., TP., Tx., H., X., TT.; "TP.HCM", "HN", "SG"), and so are
English forms ("Ben Nghe Ward, District 1, HCMC"). The address is kept as the customer wrote
it; :func:`recognise` only says what it names. Pure; the tables load on first use (about 30 ms,
a few MB) and every lookup after that is a few dictionary reads on the address's comma parts.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from mailproc.analysis.extract.legacy_units import PATH as LEGACY_PATH
from mailproc.analysis.extract.text import fold_aligned
from mailproc.core.textnorm import fold


@dataclass(frozen=True)
class Place:
    province: str  # the current (2025) province, as the package names it: "Thành phố Hồ Chí Minh"
    province_code: int
    ward: str | None  # the current ward ("Phường Bàn Cờ"), None when not named or not sure
    ward_code: int | None
    legacy: bool  # the address names pre-2025 units (a district, a merged province)
    end: int  # where the province's name ends in the address (what follows is not the address)


class _Ward(NamedTuple):
    name: str
    code: int
    kind: str  # "phuong" | "xa" | "dac khu"


_NON_ALNUM_RE = re.compile(r"[^a-z0-9]+")


def key(name: str) -> str:
    """A unit's name as the tables index it: folded, punctuation and unit type dropped."""
    return " ".join(_NON_ALNUM_RE.sub(" ", fold(name)).split())


_PROVINCE_TYPE_RE = re.compile(r"^(?:thanh pho|tinh)\s+")
_WARD_TYPE_RE = re.compile(r"^(?:phuong|xa|dac khu)\s+")
# Names customers write for a province beside its own (folded): abbreviations, English, the
# former names of merged provinces are added from the legacy table.
_ALIASES = {
    "ho chi minh": ("hcm", "tp hcm", "tphcm", "hcmc", "tp ho chi minh", "ho chi minh city",
                    "sai gon", "saigon", "sg", "tp sg", "tp sai gon"),
    "ha noi": ("hn", "hanoi", "tp hn", "tphn", "ha noi city"),
    "hue": ("thua thien hue", "tt hue", "thua thien", "hue city"),
    "da nang": ("danang", "tp dn", "tpdn"),
    "hai phong": ("haiphong", "hp"),
    "can tho": ("cantho",),
    "dak lak": ("daklak", "dac lac", "dak lac", "daclac"),
    "khanh hoa": ("nha trang",),
}
_EXTRA_OLD = {"dak nong": ("daknong", "dac nong"), "ba ria vung tau": ("brvt", "ba ria", "vung tau")}


class Gazetteer:
    """The indexed tables (build once: :func:`gazetteer`)."""

    def __init__(self, current: list[dict[str, Any]], legacy: dict[str, Any]) -> None:
        self.provinces: dict[str, tuple[str, int]] = {}
        self.wards: dict[str, dict[str, list[_Ward]]] = {}
        for province in current:
            pkey = _PROVINCE_TYPE_RE.sub("", key(province["name"]))
            self.provinces[pkey] = (province["name"], int(province["code"]))
            index: dict[str, list[_Ward]] = {}
            for ward in province["wards"]:
                wkey = key(ward["name"])
                kind = _WARD_TYPE_RE.match(wkey)
                name = _WARD_TYPE_RE.sub("", wkey)
                index.setdefault(name, []).append(
                    _Ward(ward["name"], int(ward["code"]), kind.group().strip() if kind else ""))
            self.wards[pkey] = index
        self.new_of_old: dict[str, str] = legacy["provinces"]
        self.districts: dict[str, dict[str, str]] = legacy["districts"]
        # (The same new ward's name comes back for many old wards: one string for all.)
        self.legacy_wards: dict[str, str | None] = {
            path: sys.intern(new) if new else None for path, new in legacy["wards"].items()}
        # (old province, old ward) -> the new ward, when the ward's name is unique there
        # ("xã Phú Xuân, tỉnh Thái Bình": no district written).
        by_ward: dict[str, set[str | None]] = {}
        for path, new_ward in self.legacy_wards.items():
            old_province, _, old_ward = path.split("|")
            by_ward.setdefault(f"{old_province}|{old_ward}", set()).add(new_ward)
        self.legacy_by_ward: dict[str, str] = {
            k: new_ward for k, v in by_ward.items() if len(v) == 1 and (new_ward := next(iter(v)))}
        self.olds_of: dict[str, list[str]] = {}
        for old, new in self.new_of_old.items():
            self.olds_of.setdefault(new, []).append(old)
        # alias -> (current province, the old province it names or None)
        self.aliases: dict[str, tuple[str, str | None]] = {}
        for old, new in self.new_of_old.items():
            self._alias(old, new, old)
            for extra in _EXTRA_OLD.get(old, ()):
                self._alias(extra, new, old)
        for pkey in self.provinces:
            self._alias(pkey, pkey, pkey if pkey in self.new_of_old else None)
            for extra in _ALIASES.get(pkey, ()):
                self._alias(extra, pkey, pkey if pkey in self.new_of_old else None)

    def _alias(self, alias: str, new: str, old: str | None) -> None:
        self.aliases.setdefault(alias, (new, old))
        self.aliases.setdefault(alias.replace(" ", ""), (new, old))


def _package_json() -> Path:
    """vietnam-provinces' data file, found without importing the package (its enums of every
    ward code take longer to build than the whole table takes to read)."""
    spec = importlib.util.find_spec("vietnam_provinces")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the vietnam-provinces package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "nested-divisions.json"


@functools.cache
def gazetteer() -> Gazetteer:
    current = json.loads(_package_json().read_text(encoding="utf-8"))
    legacy = json.loads(LEGACY_PATH.read_text(encoding="utf-8"))
    return Gazetteer(current, legacy)


# --- reading an address ---------------------------------------------------------------------

_PART_RE = re.compile(r"[^,;\n]+|(?<=\s)[-–](?=\s)")
_COUNTRY = frozenset({"viet nam", "vietnam", "vn", "viet nam vn"})
_PROVINCE_PREFIX_RE = re.compile(r"^(?:thanh pho|tp|tinh|t|city of)\s+")
_PROVINCE_SUFFIX_RE = re.compile(r"\s+(?:city|province)$")
# A unit written with its type, full or abbreviated ("P. Bến Thành", "Q.1", "H. Vĩnh Tường",
# "Tx. Kiến Tường", "P12"), or in English ("Ben Nghe Ward", "District 1").
_WARD_RE = re.compile(r"^(?:phuong|xa|thi tran|dac khu|p|x|tt)\s*(?P<name>.+)$|^(?P<en>.+?)\s+ward$"
                      r"|^ward\s+(?P<en2>.+)$")
_DISTRICT_RE = re.compile(r"^(?:quan|huyen|thi xa|thanh pho|q|h|tx|tp)\s*(?P<name>.+)$"
                          r"|^district\s+(?P<en>.+)$|^(?P<en2>.+?)\s+district$")
_LEADING_ZEROS_RE = re.compile(r"\b0+(?=\d)")
_MAX_UNIT_PARTS = 3  # parts before the province a ward or district is looked for in


def _part_key(folded: str) -> str:
    return _LEADING_ZEROS_RE.sub("", " ".join(_NON_ALNUM_RE.sub(" ", folded).split()))


def _province_of(g: Gazetteer, part: str) -> tuple[str, str | None] | None:
    name = _PROVINCE_SUFFIX_RE.sub("", part)
    found = g.aliases.get(name) or g.aliases.get(_PROVINCE_PREFIX_RE.sub("", name))
    if found is None and " " in name:  # "Q.1 TP.HCM", "Hai Bà Trưng Hà Nội": the last words
        words = name.split()
        for size in range(min(4, len(words) - 1), 0, -1):
            tail = " ".join(words[-size:])
            if size > 1 or len(tail) >= 4:
                found = g.aliases.get(tail)
                if found is not None:
                    break
    return found


def _typed(pattern: re.Pattern[str], part: str) -> str | None:
    m = pattern.match(part)
    if m is None:
        return None
    return next(v for v in m.groups() if v).strip()


def _current_ward(g: Gazetteer, province: str, name: str, kind: str | None) -> _Ward | None:
    found = g.wards[province].get(name, [])
    if kind is not None and len(found) > 1:
        found = [w for w in found if w.kind == kind]
    return found[0] if len(found) == 1 else None


def _ward_kind(part: str) -> str | None:
    if part.startswith(("phuong", "p")):
        return "phuong"
    if part.startswith(("xa", "x")):
        return "xa"
    return None


@functools.lru_cache(maxsize=1024)  # pure, and the same customers write again
def recognise(address: str) -> Place | None:
    """The current province and ward ``address`` names, or None when it names no province."""
    g = gazetteer()
    folded = fold_aligned(address)  # (one character per character: the offsets hold)
    parts = [(m.start(), m.end(), _part_key(m.group())) for m in _PART_RE.finditer(folded)]
    parts = [p for p in parts if p[2]]
    province = None
    at = len(parts)
    for i in range(len(parts) - 1, max(-1, len(parts) - 4), -1):
        if parts[i][2] in _COUNTRY:
            continue
        province = _province_of(g, parts[i][2])
        if province is not None:
            at = i
            break
    if province is None:
        return None
    new, named_old = province
    name, code = g.provinces[new]
    olds = [named_old] if named_old else g.olds_of.get(new, [])
    district = ward_name = ward_kind = None
    for _, _, part in reversed(parts[max(0, at - _MAX_UNIT_PARTS):at]):
        typed_district = _typed(_DISTRICT_RE, part)
        typed_ward = _typed(_WARD_RE, part)
        if typed_ward is not None and ward_name is None and typed_district is None:
            ward_name, ward_kind = typed_ward, _ward_kind(part)
        elif typed_district is not None and district is None and (
                typed_ward is None or any(typed_district in g.districts.get(o, {}) for o in olds)):
            district = typed_district
        elif district is None and any(part in g.districts.get(o, {}) for o in olds):
            district = part  # "Đống Đa, Hà Nội": an old district, written bare
        elif ward_name is None and typed_ward is not None:
            ward_name, ward_kind = typed_ward, _ward_kind(part)
    ward: _Ward | None = None
    legacy = named_old is not None and named_old != new
    if district is not None:
        legacy = True
        if ward_name is not None:
            for old in olds:
                path = f"{old}|{district}|{ward_name}"
                if path in g.legacy_wards:
                    new_key = g.legacy_wards[path]
                    ward = _current_ward(g, new, new_key, None) if new_key else None
                    break
    elif ward_name is not None:
        ward = _current_ward(g, new, ward_name, ward_kind)
        if ward is None and named_old is not None:
            new_key = g.legacy_by_ward.get(f"{named_old}|{ward_name}")
            ward = _current_ward(g, new, new_key, None) if new_key else None
            legacy = legacy or ward is not None
    end = parts[at][1]
    return Place(name, code, ward.name if ward else None, ward.code if ward else None, legacy, end)


def is_province(name: str) -> bool:
    """True when ``name`` is a province's name (current or former), or one of its usual forms."""
    g, part = gazetteer(), _part_key(fold_aligned(name))
    return part in g.aliases or _PROVINCE_PREFIX_RE.sub("", part) in g.aliases
