"""Table-driven tests of mailproc.extract: every expected value was read off the text by hand."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from mailproc.config import ExtractConfig
from mailproc.extract import JSON_KEYS, Extracted, extract, fold_aligned
from mailproc.extract_phone import OLD_MOBILE_PREFIXES, upgrade_old_mobile
from mailproc.textnorm import fold_keep_length

CONFIG = ExtractConfig()
MAIL_DATE = date(2026, 10, 20)


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    expect: dict[str, str | None]  # keys not given must be null ("other" for category)
    subject: str = ""
    sender_address: str | None = None
    sender_name: str | None = None
    mail_date: date | None = MAIL_DATE
    confidence: dict[str, str] = field(default_factory=dict)  # checked when given


CASES = [
    # --- label blocks, with and without diacritics, NFD ------------------------------------
    Case("labels-diacritics",
         "Họ tên: Nguyễn Văn An\nĐịa chỉ: 12 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội.\n"
         "SĐT: 0912.345.678\nSố thẻ: 1234 5678 9012\nSố đầu thu: abc-12345\n"
         "Từ ngày 05/10/2026 bị mất sóng.",
         {"name": "Nguyễn Văn An", "address": "12 Lý Thường Kiệt, Hoàn Kiếm, Hà Nội",
          "phone": "+84912345678", "smartcard": "123456789012", "decoder": "ABC-12345",
          "incident_date": "2026-10-05"},
         confidence={"name": "label", "address": "label", "phone": "label", "smartcard": "label",
                     "decoder": "label", "incident_date": "prose"}),
    Case("labels-no-diacritics",
         "Ho ten: Nguyen Van An\nDia chi: 12 Ly Thuong Kiet, Hoan Kiem, Ha Noi\nSDT: 0912 345 678\n"
         "So the: 1234.5678.9012\nSo dau thu: ABC12345\nMat song tu ngay 5/10/2026",
         {"name": "Nguyen Van An", "address": "12 Ly Thuong Kiet, Hoan Kiem, Ha Noi",
          "phone": "+84912345678", "smartcard": "123456789012", "decoder": "ABC12345",
          "incident_date": "2026-10-05"}),
    Case("nfd-input",
         unicodedata.normalize("NFD", "Họ và tên: Phạm Thị Hoà\nSố điện thoại: 0987654321"),
         {"name": "Phạm Thị Hoà", "phone": "+84987654321"}),
    Case("labels-one-line",
         "Họ tên: Vũ Thị Lan, SĐT: 0356 123 456, Địa chỉ: 8 Trần Phú, Hà Đông; "
         "Mã thẻ: 1234-5678-9012-3456",
         {"name": "Vũ Thị Lan", "phone": "+84356123456", "address": "8 Trần Phú, Hà Đông",
          "smartcard": "1234567890123456"}),
    Case("lowercase-label-name", "ho ten: nguyen van tu\nsdt: 0912345678",
         {"name": "nguyen van tu", "phone": "+84912345678"}),
    Case("name-label-other-thing", "Tên Kênh: HBO bị mất", {}),
    Case("label-name-not-a-name", "Khách hàng: tôi không xem được kênh nào", {}),
    Case("label-honorific", "Khách hàng: Anh Nguyễn Văn Tú", {"name": "Nguyễn Văn Tú"}),
    Case("label-name-then-more", "Họ tên: Nguyễn Văn Phong sinh năm 1980",
         {"name": "Nguyễn Văn Phong"}),
    Case("label-no-space-after-colon", "Khiếu nại: đầu thu lỗi\nHọ và tên:Bùi Thị Thu\nSĐT:0912345678",
         {"name": "Bùi Thị Thu", "phone": "+84912345678"}),
    Case("label-line-holds-more", "Họ tên: Nguyễn Văn An 0912345678\n"
         "Địa chỉ: 12 Lý Thường Kiệt, mất sóng từ ngày 05/10/2026",
         {"name": "Nguyễn Văn An", "phone": "+84912345678",
          "address": "12 Lý Thường Kiệt, mất sóng từ ngày 05/10/2026", "incident_date": "2026-10-05"}),
    Case("label-columns-aligned", "Số đầu thu:         K23A0045871\nSố thẻ giải mã:     5088 2211 0583",
         {"decoder": "K23A0045871", "smartcard": "508822110583"}),
    Case("label-word-before-colon", "Số đầu thu đúng: KP-5530-29177",
         {"decoder": "KP-5530-29177"}),
    Case("label-bank-card-not-card", "Số thẻ ATM: 9704 1234 5678 9012", {}),
    Case("label-capital-la-is-value", "Họ tên: La Văn Cầu\nĐịa chỉ: La Khê, Hà Đông",
         {"name": "La Văn Cầu", "address": "La Khê, Hà Đông"}),
    Case("label-ban-is-value", "Địa chỉ: Bản Noong Bua, tỉnh Điện Biên",
         {"address": "Bản Noong Bua, tỉnh Điện Biên"}),
    Case("label-all-caps", "ĐỊA CHỈ NHÀ TÔI LÀ: 12 LÝ THƯỜNG KIỆT", {"address": "12 LÝ THƯỜNG KIỆT"}),
    Case("label-value-next-line", "Địa chỉ:\n12 Lý Thường Kiệt, Hà Nội",
         {"address": "12 Lý Thường Kiệt, Hà Nội"}),
    # --- prose and signatures -------------------------------------------------------------
    Case("prose-name-phone-fee",
         "Tôi tên là Trần Thị Bình, số điện thoại của tôi là 01662345678. Thẻ K+ 8401234567890. "
         "Ngày 5 tháng 10 năm 2026 tôi bị trừ cước 175.000đ.",
         {"name": "Trần Thị Bình", "phone": "+84362345678", "smartcard": "8401234567890",
          "incident_date": "2026-10-05", "category": "fee"},
         confidence={"name": "prose", "phone": "prose", "smartcard": "label"}),
    Case("prose-em-ten", "Em tên Hùng, nhà em mất sóng mấy hôm nay.", {"name": "Hùng"}),
    Case("prose-toi-la-khach-hang", "Tôi là khách hàng Nguyễn Văn Nam, thẻ của tôi bị khóa.",
         {"name": "Nguyễn Văn Nam"}),
    Case("prose-toi-la-not-name", "tôi là người dùng K+ lâu năm, rất thất vọng.", {}),
    Case("signature-name-and-phone",
         "Nhà tôi mất sóng kênh K+1.\n\nTrân trọng,\nLê Văn Cường\n0912345678",
         {"name": "Lê Văn Cường", "phone": "+84912345678"},
         confidence={"name": "signature", "phone": "shape"}),
    Case("signature-name-dash-phone", "Xin cảm ơn!\nTrần Quốc Bảo - 0977 888 999",
         {"name": "Trần Quốc Bảo", "phone": "+84977888999"}),
    Case("signature-honorific", "Xem giúp em với ạ.\nCảm ơn anh chị!\nChị Mai Anh",
         {"name": "Mai Anh"}),
    Case("signature-same-line", "Đầu thu không lên hình.\nTrân trọng, Đặng Quốc Huy",
         {"name": "Đặng Quốc Huy"}),
    Case("signature-dashes", "Cảm ơn anh chị nhiều.\n\n--\nVõ Thanh Tâm\nKỹ sư phần mềm",
         {"name": "Võ Thanh Tâm"}),
    Case("sender-name-fallback", "Đầu thu báo lỗi E48.", {"name": "Đỗ Minh Quân"},
         sender_name="Đỗ Minh Quân", confidence={"name": "sender"}),
    Case("sender-role-name", "Đầu thu báo lỗi E48.", {}, sender_name="K+ Support"),
    Case("sender-single-word", "Đầu thu báo lỗi E48.", {}, sender_name="admin"),
    # --- e-mail -------------------------------------------------------------------------------
    Case("email-label-beats-sender", "Email: Nguyen.An@Gmail.com", {"email": "nguyen.an@gmail.com"},
         sender_address="other@yahoo.com", confidence={"email": "label"}),
    Case("email-company-ignored", "Tôi đã gửi thư tới cskh@kplus.vn mà chưa thấy trả lời.",
         {"email": "khach@yahoo.com"}, sender_address="Khach@Yahoo.com",
         confidence={"email": "sender"}),
    Case("email-company-subdomain", "Email: support@mail.kplus.vn", {}),
    Case("email-digits-not-phone", "Email: 0912345678@gmail.com",
         {"email": "0912345678@gmail.com"}),
    Case("email-address-label-not-address", "Địa chỉ email: lan.vu@outlook.com",
         {"email": "lan.vu@outlook.com"}),
    # --- phones -------------------------------------------------------------------------------
    Case("old-mobile-label", "SĐT 0168 234 5678", {"phone": "+84382345678"}),
    Case("old-mobile-prose", "Anh chị gọi cho tôi theo số 0121 456 7890 nhé",
         {"phone": "+84794567890"}),
    Case("old-mobile-plus84", "SĐT: +84 166 234 5678", {"phone": "+84362345678"}),
    Case("plus84-zero", "Liên hệ: +84 (0) 912 345 678", {"phone": "+84912345678"}),
    Case("bare-84", "gọi em 84912345678", {"phone": "+84912345678"}),
    Case("landline-label", "Điện thoại: (028) 3821 2345", {"phone": "+842838212345"}),
    Case("landline-prose", "Nhà tôi số máy bàn 024 3823 4567 ạ", {"phone": "+842438234567"}),
    Case("hotline-quoted-back",
         "Tôi đã gọi tổng đài 1900 1592 nhiều lần, số của tôi là 0903 123 456",
         {"phone": "+84903123456"}),
    Case("hotline-only", "Gọi 1900 1592 và 1800 1592 không ai nghe máy", {}),
    Case("two-phones-in-a-row", "SĐT: 0912 345 678 0987 654 321", {"phone": "+84912345678"}),
    Case("invalid-labelled-phone-not-card", "SĐT: 12345678901", {}),
    # --- cards and decoders ---------------------------------------------------------------------
    Case("card-value-next-line", "Số thẻ:\n1234 5678 9012", {"smartcard": "123456789012"}),
    Case("card-too-long-rejected", "Số thẻ: 1234 5678 9012 3456 7890 1234", {}),
    Case("card-by-shape", "Thẻ của tôi 8012 3456 7890 bị khóa", {"smartcard": "801234567890"},
         confidence={"smartcard": "shape"}),
    Case("phone-and-shape-card", "Em dùng số 0912345678 và thẻ 12345678901",
         {"phone": "+84912345678", "smartcard": "12345678901"}),
    Case("card-label-wins-over-mobile", "Số thẻ: 0912345678\nĐT: 0987654321",
         {"smartcard": "0912345678", "phone": "+84987654321"}),
    Case("unlabelled-mobile-is-phone", "0912345678", {"phone": "+84912345678"}),
    Case("card-then-phone-adjacent", "Số thẻ 12345678 0912345678",
         {"smartcard": "12345678", "phone": "+84912345678"}),
    Case("amounts-not-cards",
         "Tôi bị trừ 175.000đ rồi 12.500.000 đồng, mã giao dịch 987654321012", {"category": "fee"}),
    Case("amount-after-money-word-not-card", "Tôi bị trừ 15000000 không rõ lý do",
         {"category": "fee"}),
    Case("amount-with-unit-not-card", "Em nạp 25000000 VNĐ vào tài khoản", {"category": "fee"}),
    Case("id-card-not-card-nor-date", "CCCD số 001234567890 cấp ngày 12/03/2021", {}),
    Case("decoder-lower-dashes", "s/n: stb-2024-00123", {"decoder": "STB-2024-00123"}),
    Case("decoder-serial-after-model", "dau thu model ODS1400NA, so serial 0123ABC4567",
         {"decoder": "0123ABC4567"}),
    Case("decoder-model-only", "STB 111-VST-MTC01 bị lỗi, đầu thu Opentel-ODS1400NA không lên", {}),
    Case("decoder-generic-colon", "Đầu thu: 8712-3456-78", {"decoder": "8712-3456-78"}),
    Case("dt-as-decoder", "ĐT: XK12345678", {"decoder": "XK12345678"}),
    Case("dt-as-phone", "Tên: Hà\nĐT: 0912345678", {"name": "Hà", "phone": "+84912345678"}),
    Case("subject-card", "Như tiêu đề.", {"smartcard": "12345678"},
         subject="Số thẻ 12345678 mất sóng"),
    Case("ticket-ref-not-card", "Cảm ơn K+.", {"category": "other"},
         subject="Re: [K+ #KN-2026-10-0412] Phản hồi khiếu nại"),
    Case("customer-id-not-card", "Mã KH: 12345678, em bị mất sóng", {}),
    Case("decoder-sn-after-word", "Đầu thu SN: 4455ZX7788", {"decoder": "4455ZX7788"}),
    # --- addresses --------------------------------------------------------------------------------
    Case("dc-is-duoc", "Em gọi mãi ko đc: tổng đài bận suốt", {}),
    Case("dc-label", "Đ/c: 45 Trần Phú, Hà Đông", {"address": "45 Trần Phú, Hà Đông"}),
    Case("dc-label-ascii", "d/c: so 7 ngo 12 Kim Ma", {"address": "so 7 ngo 12 Kim Ma"}),
    Case("address-install-no-colon", "Địa chỉ lắp đặt số 5 ngõ 10 Kim Mã",
         {"address": "số 5 ngõ 10 Kim Mã"}),
    Case("address-prose", "Nhà tôi ở số 5 ngõ 10 Kim Mã, Ba Đình. Từ hôm qua mất sóng",
         {"address": "số 5 ngõ 10 Kim Mã, Ba Đình"}, confidence={"address": "prose"}),
    Case("address-prose-ascii", "toi o so 5 ngo 10 pho Hue, Ha Noi. Cam on",
         {"address": "so 5 ngo 10 pho Hue, Ha Noi"}),
    # --- dates and category --------------------------------------------------------------------
    Case("date-dashes", "ngày 05-10-2026 bị mất sóng", {"incident_date": "2026-10-05"}),
    Case("date-dots-payment", "Ngày 7.9.2026 tôi thanh toán gói cước",
         {"incident_date": "2026-09-07", "category": "fee"}),
    Case("date-words", "Mất sóng từ ngày 5 tháng 10 năm 2026", {"incident_date": "2026-10-05"}),
    Case("date-yearless", "Nhà tôi mất sóng ngày 05/10", {"incident_date": "2026-10-05"}),
    Case("date-yearless-previous-year", "Ngày 25/12 tôi bị mất sóng",
         {"incident_date": "2025-12-25"}, mail_date=date(2026, 1, 10)),
    Case("date-yearless-no-mail-date", "Ngày 25/12 tôi bị mất sóng", {}, mail_date=None),
    Case("date-two-digit-year", "Mất sóng từ 05/10/26", {"incident_date": "2026-10-05"}),
    Case("date-tied-beats-earliest", "Tôi lắp đặt ngày 01/01/2026, từ ngày 03/10/2026 bị mất sóng",
         {"incident_date": "2026-10-03"}, confidence={"incident_date": "prose"}),
    Case("date-earliest-untied", "Ngày 10/10/2026 và ngày 02/10/2026 tôi có gọi lên",
         {"incident_date": "2026-10-02"}, confidence={"incident_date": "shape"}),
    Case("date-future-ignored", "Thuê bao hết hạn ngày 30/11/2026, đầu thu vẫn báo lỗi", {}),
    Case("date-fee-prefers-payment",
         "Tôi gia hạn gói ngày 01/10/2026 nhưng từ ngày 03/10/2026 vẫn mất sóng",
         {"incident_date": "2026-10-01", "category": "fee"}),
    Case("date-in-signature-ignored",
         "Mất sóng kênh thể thao.\nTrân trọng,\nNguyễn Văn Hải\n15/10/2026",
         {"name": "Nguyễn Văn Hải"}),
    Case("dateline-ignored",
         "Hà Nội, ngày 18 tháng 10 năm 2026\nKính gửi K+, nhà tôi bị mất sóng.", {}),
    Case("category-subject-fee", "Mong được giải quyết sớm.", {"category": "fee"},
         subject="Khiếu nại cước tháng 10"),
    Case("category-cuoc-goi-other", "Tôi đã thực hiện nhiều cuộc gọi nhưng không được", {}),
    Case("category-cuoc-ascii-fee", "Cuoc thue bao thang 10 bi tinh sai", {"category": "fee"}),
    Case("category-paid-up-is-context", "Tôi vẫn đóng cước đầy đủ hàng tháng mà vẫn mất sóng", {}),
    Case("category-phi", "Sao lại thu phí lắp đặt?", {"category": "fee"}),
    Case("category-other", "Mất sóng kênh K+1 từ tối qua", {}),
    # --- forwarded complaint --------------------------------------------------------------------
    Case("forwarded",
         "Chuyển tiếp giúp em.\n\n---------- Forwarded message ---------\n"
         "From: Nguyễn Văn Bảo <nvb@gmail.com>\nDate: 05/10/2026\nSubject: Mất sóng\n"
         "To: cskh@kplus.vn\n\n"
         "Tôi bị mất sóng từ ngày 03/10/2026. Số thẻ 12345678\nTrân trọng,\nNguyễn Văn Bảo",
         {"email": "nvb@gmail.com", "incident_date": "2026-10-03", "smartcard": "12345678",
          "name": "Nguyễn Văn Bảo"},
         sender_address="agent@kplus.vn"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_extract(case: Case) -> None:
    result = extract(case.text, subject=case.subject, sender_address=case.sender_address,
                     sender_name=case.sender_name, mail_date=case.mail_date, config=CONFIG)
    expected: dict[str, Any] = {key: None for key in JSON_KEYS} | {"category": "other"}
    expected |= case.expect
    assert result.as_json() == expected
    for name, how in case.confidence.items():
        assert result.confidence.get(name) == how, name


def test_cases_are_many_and_unique() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


def test_as_json_has_exactly_the_contract_keys() -> None:
    out = Extracted(incident_date=date(2026, 1, 2)).as_json()
    assert list(out) == ["name", "address", "phone", "email", "smartcard", "decoder",
                         "incident_date", "category"]
    assert out["incident_date"] == "2026-01-02"
    assert out["category"] == "other"


def test_merged_with_fills_only_gaps_and_keeps_fee() -> None:
    first = Extracted(name="Lê Văn A", phone="+84912345678", category="fee",
                      confidence={"name": "label", "phone": "shape"})
    reply = Extracted(name="Nguyễn B", smartcard="12345678", phone="+84987654321",
                      confidence={"name": "sender", "smartcard": "label", "phone": "label"})
    merged = first.merged_with(reply)
    assert (merged.name, merged.phone, merged.smartcard) == ("Lê Văn A", "+84912345678", "12345678")
    assert merged.category == "fee"
    assert dict(merged.confidence) == {"name": "label", "phone": "shape", "smartcard": "label"}
    assert Extracted().merged_with(Extracted(category="fee")).category == "fee"
    assert Extracted().merged_with(Extracted()).category == "other"


def test_fold_aligned_matches_textnorm() -> None:
    text = "Số ĐIỆN thoại: Ðặng Hoà/Hòa — ß İstanbul ﬁ 0912"
    assert fold_aligned(text) == fold_keep_length(text)
    assert len(fold_aligned(text)) == len(text)


def test_old_prefix_table() -> None:
    assert len(OLD_MOBILE_PREFIXES) == 21
    assert upgrade_old_mobile("01662345678") == "0362345678"
    assert upgrade_old_mobile("01992345678") == "0592345678"
    assert upgrade_old_mobile("0912345678") == "0912345678"


def test_company_numbers_from_config() -> None:
    config = ExtractConfig(company_numbers=["0912345678"])
    assert extract("Gọi 0912345678 hoặc 0987654321", config=config).phone == "+84987654321"


def test_hostile_megabyte_returns() -> None:
    chunk = ("SĐT: 0912 345 678 số thẻ 1234-5678-9012 ngày 05/10/2026 a@b.c Tôi là Ấn "
             + "9" * 60 + " " + "1 " * 40 + "a" * 70 + "@" + "đ/c: " + "(" * 30
             + "ngày " * 10 + "\n")
    text = (chunk * (1_000_000 // len(chunk) + 1))[:1_000_000]
    result = extract(text, subject="x" * 1000, mail_date=MAIL_DATE, config=CONFIG)
    assert result.phone == "+84912345678"
    digits = "0" * 500_000 + "." * 500_000
    assert extract(digits, config=CONFIG).smartcard is None
