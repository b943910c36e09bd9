"""The gazetteer: the 2025 province and ward an address names, in the new two-level form and
the old three-level one (mapped), with abbreviations; and the shipped legacy table."""

from __future__ import annotations

import json
from datetime import date

import pytest

from mailproc.analysis.extract import gazetteer as gz
from mailproc.analysis.extract import legacy_units
from mailproc.analysis.extract.address import bounded_address
from mailproc.analysis.extract.fields import extract
from mailproc.config import ExtractConfig

HCM, HN = "Thành phố Hồ Chí Minh", "Thành phố Hà Nội"


@pytest.mark.parametrize(("address", "province", "ward", "legacy"), [
    # 2025 two-level form
    ("18 Lê Duẩn, phường Sài Gòn, Thành phố Hồ Chí Minh", HCM, "Phường Sài Gòn", False),
    ("Tổ dân phố 7, phường Phan Đình Phùng, tỉnh Thái Nguyên", "Thái Nguyên", "Phường Phan Đình Phùng", False),
    ("kiệt 45 Hùng Vương, phường Hải Châu, TP Đà Nẵng", "Thành phố Đà Nẵng", "Phường Hải Châu", False),
    # old three-level form, abbreviations, mapped to the 2025 units
    ("45/12 Nguyễn Thị Minh Khai, P. Bến Thành, Q.1, TP.HCM", HCM, "Phường Bến Thành", True),
    ("215/7 Nguyễn Đình Chiểu, Phường 5, Quận 3, TP.HCM", HCM, "Phường Bàn Cờ", True),
    ("215/7 Nguyễn Đình Chiểu, P.05, Q.3, tp hcm", HCM, "Phường Bàn Cờ", True),
    ("12 Ton Duc Thang, Ben Nghe Ward, District 1, HCMC", HCM, "Phường Sài Gòn", True),
    ("Số 12 ngõ 34 Nguyễn Lương Bằng, Đống Đa, Hà Nội", HN, None, True),
    # merged provinces: the one they joined
    ("xóm 4, thôn Trung, xã Nghĩa Hưng, H. Vĩnh Tường, Vĩnh Phúc", "Phú Thọ", "Xã Vĩnh Hưng", True),
    ("ấp Tân Hòa, xã Tân Thạnh, Tx. Kiến Tường, Long An", "Tây Ninh", None, True),
    ("123 Lê Lợi, Vũng Tàu", HCM, None, True),
    ("5 Hai Bà Trưng, Hà Nội, Việt Nam", HN, None, False),
])
def test_recognise(address: str, province: str, ward: str | None, legacy: bool) -> None:
    place = gz.recognise(address)
    assert place is not None
    assert (place.province, place.ward, place.legacy) == (province, ward, legacy)
    assert isinstance(place.province_code, int)


@pytest.mark.parametrize("address", [
    "12 Lý Thường Kiệt, mất sóng từ ngày 05/10/2026", "hẻm 128 Bùi Đình Túy, phường 12, quận Bình Thạnh", "",
])
def test_no_province_no_place(address: str) -> None:
    assert gz.recognise(address) is None


def test_bounded_after_the_province() -> None:
    assert bounded_address("12 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội, mất sóng từ 05/10")[0] == \
        "12 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội"
    assert bounded_address("5 Lê Lợi, Hà Nội – Việt Nam")[0] == "5 Lê Lợi, Hà Nội – Việt Nam"


def test_is_province_only_for_whole_names() -> None:
    assert gz.is_province("Hà Nội") and gz.is_province("TP.HCM") and gz.is_province("tỉnh Vĩnh Phúc")
    assert not gz.is_province("Lê Văn Thái Bình")


def test_extract_stores_province_and_ward_outside_the_contract() -> None:
    found = extract("Địa chỉ: 18 Lê Duẩn, phường Sài Gòn, TP.HCM", mail_date=date(2026, 11, 1),
                    config=ExtractConfig())
    assert (found.province, found.ward) == (HCM, "Phường Sài Gòn")
    assert "province" not in found.as_json()
    assert found.record()["ward_code"] == found.ward_code


def test_every_current_province_has_wards() -> None:
    g = gz.gazetteer()
    assert len(g.provinces) == 34
    assert sum(len(v) for index in g.wards.values() for v in index.values()) > 3000
    assert len(g.new_of_old) == 63 and set(g.new_of_old.values()) == set(g.provinces)


def test_shipped_legacy_table_is_the_converters() -> None:
    pytest.importorskip("vietnam_address_converter")
    shipped = json.loads(legacy_units.PATH.read_text(encoding="utf-8"))
    assert shipped == json.loads(json.dumps(legacy_units.build(), ensure_ascii=False))
