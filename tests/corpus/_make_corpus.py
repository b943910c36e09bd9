# ruff: noqa: E501 -- mail bodies below are verbatim customer text; their lines are as long as they are.
"""Regenerate the golden corpus: ``NNN-name.eml`` + ``NNN-name.json`` + ``README.md``.

Run from anywhere:  ``python tests/corpus/_make_corpus.py``

Each case below is one complaint e-mail built byte by byte (so odd charsets and transfer
encodings are exactly what real clients send) and the extraction a careful K+ agent makes
by reading it, following /tmp/specs/extract_semantics.md.  The expected values are written
by hand next to the mail text; nothing here computes them.  The ``.eml`` files are committed
output: review a change to this script by reviewing the diff of the files it writes.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import quopri
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import policy
from email.parser import BytesParser
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
TO = "cskh@kplus.example"
ICT = timezone(timedelta(hours=7))
KEYS = ("name", "address", "phone", "email", "smartcard", "decoder", "incident_date", "category")


# --------------------------------------------------------------------------- encoders


# Tone marks cp1258 only has as combining characters; the vowel modifiers (circumflex,
# breve, horn) exist precomposed (â ê ô ă ơ ư), so they stay on the base letter.
_CP1258_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")


def cp1258_encode(text: str) -> bytes:
    """Encode text the way Vietnamese Windows/Outlook does: precomposed base + combining tone."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", ch)
        base, marks = decomposed[0], decomposed[1:]
        modifiers = "".join(m for m in marks if m not in _CP1258_TONES)
        tones = [m for m in marks if m in _CP1258_TONES]
        out += unicodedata.normalize("NFC", base + modifiers).encode("cp1258")
        for tone in tones:
            out += tone.encode("cp1258")
    return bytes(out)


def mojibake(text: str) -> str:
    """UTF-8 bytes read as windows-1252 (undefined bytes kept as C1 controls, like browsers do)."""
    chars = []
    for byte in text.encode("utf-8"):
        try:
            chars.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            chars.append(chr(byte))
    return "".join(chars)


def encode_text(text: str, charset: str) -> bytes:
    if charset == "windows-1258":
        return cp1258_encode(text)
    return text.encode(charset)


def _q_word_bytes(data: bytes) -> str:
    """RFC 2047 'Q' encoding of one encoded-word's bytes."""
    out = []
    for byte in data:
        ch = chr(byte)
        if byte == 0x20:
            out.append("_")
        elif ch.isascii() and (ch.isalnum() or ch in "!*+-/"):
            out.append(ch)
        else:
            out.append(f"={byte:02X}")
    return "".join(out)


def ew(text: str, charset: str = "utf-8", mode: str = "B") -> str:
    """RFC 2047 encoded-words for ``text``, split on character boundaries, folded."""
    label = {"utf-8": "UTF-8", "windows-1258": "windows-1258"}.get(charset, charset)
    words: list[str] = []
    chunk = b""

    def wrap(data: bytes) -> str:
        payload = base64.b64encode(data).decode() if mode == "B" else _q_word_bytes(data)
        return f"=?{label}?{mode}?{payload}?="

    for ch in text:
        piece = encode_text(ch, charset)
        if chunk and len(wrap(chunk + piece)) > 75:
            words.append(wrap(chunk))
            chunk = b""
        chunk += piece
    if chunk:
        words.append(wrap(chunk))
    return "\n ".join(words)


def subject(text: str, charset: str = "utf-8", mode: str = "B") -> str:
    return text if text.isascii() else ew(text, charset, mode)


def mailbox(name: str | None, addr: str, charset: str = "utf-8", mode: str = "B") -> str:
    if name is None:
        return addr
    if name.isascii():
        return (
            f'"{name}" <{addr}>' if any(c in name for c in '.,()<>@:;"[]') else f"{name} <{addr}>"
        )
    return f"{ew(name, charset, mode)} <{addr}>"


def apply_cte(raw: bytes, cte: str) -> bytes:
    if cte == "base64":
        return base64.encodebytes(raw)
    if cte == "quoted-printable":
        return quopri.encodestring(raw)
    if cte == "7bit" and not raw.isascii():
        raise ValueError("7bit body with 8-bit bytes")
    return raw if raw.endswith(b"\n") else raw + b"\n"


# --------------------------------------------------------------------------- MIME building


@dataclass
class Part:
    headers: list[str]
    body: bytes

    def render(self) -> bytes:
        return "\n".join(self.headers).encode("ascii") + b"\n\n" + self.body


def text_part(
    text: str,
    *,
    subtype: str = "plain",
    charset: str = "utf-8",
    cte: str = "8bit",
    declared: str | None = None,
    raw: bytes | None = None,
    quote_charset: bool = False,
    extra: tuple[str, ...] = (),
) -> Part:
    """A text/* leaf.  ``declared`` is the label when it is not the real charset; ``raw`` the bytes."""
    data = raw if raw is not None else encode_text(text, charset)
    label = declared or charset
    label = f'"{label}"' if quote_charset else label
    return Part(
        [
            f"Content-Type: text/{subtype}; charset={label}",
            f"Content-Transfer-Encoding: {cte}",
            *extra,
        ],
        apply_cte(data, cte),
    )


def binary_part(content_type: str, disposition: str, data: bytes) -> Part:
    return Part(
        [
            f"Content-Type: {content_type}",
            f"Content-Disposition: {disposition}",
            "Content-Transfer-Encoding: base64",
        ],
        base64.encodebytes(data),
    )


def multipart(subtype: str, parts: list[Part], boundary: str, preamble: str = "") -> Part:
    b = boundary.encode("ascii")
    body = preamble.encode("ascii")
    for part in parts:
        body += b"--" + b + b"\n" + part.render() + b"\n"
    body += b"--" + b + b"--\n"
    return Part([f'Content-Type: multipart/{subtype}; boundary="{boundary}"'], body)


def message(
    *,
    date: str,
    from_: str,
    subj: str,
    msgid: str,
    body: Part,
    to: str = TO,
    extra: tuple[str, ...] = (),
    crlf: bool = False,
) -> bytes:
    head = [
        f"Date: {date}",
        f"From: {from_}",
        f"To: {to}",
        f"Subject: {subj}",
        f"Message-ID: {msgid}",
        *extra,
        "MIME-Version: 1.0",
    ]
    data = "\n".join(head).encode("ascii") + b"\n" + body.render()
    return data.replace(b"\n", b"\r\n") if crlf else data


def when(month: int, day: int, hour: int, minute: int, second: int = 0) -> str:
    return format_datetime(datetime(2026, month, day, hour, minute, second, tzinfo=ICT))


def msgid(slug: str, style: str) -> str:
    h = hashlib.sha256(slug.encode()).hexdigest()
    if style == "gmail":
        token = base64.b64encode(bytes.fromhex(h[:36]), altchars=b"+_").decode()
        return f"<CA{token}@mail.gmail.com>"
    if style == "yahoo":
        return f"<{int(h[:12], 16)}.{int(h[12:20], 16)}.JavaMail.yahoo@mail.yahoo.com>"
    if style == "outlook":
        return f"<SG2PR06MB{h[:4].upper()}{h[4:36].upper()}@SG2PR06MB{h[36:40].upper()}.apcprd06.prod.outlook.com>"
    return f"<{h[:24]}.{h[24:32]}@{style}>"


def gmail_html(text: str) -> str:
    """The text/html alternative Gmail sends for a plain text body."""
    rows = []
    for line in text.rstrip("\n").split("\n"):
        rows.append(f"<div>{html.escape(line, quote=False)}</div>" if line else "<div><br></div>")
    return '<div dir="ltr">' + "\n".join(rows) + "</div>\n"


def T(text: str) -> str:
    """Mail text written flush-left in a triple-quoted string: drop the first newline."""
    return text[1:] if text.startswith("\n") else text


def fake_pdf() -> bytes:
    rng = random.Random(14)
    stream = b"BT /F1 14 Tf 72 720 Td (Hoa don dien tu K+) Tj ET"
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
        b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>\nendobj\n"
        b"4 0 obj\n<< /Length "
        + str(len(stream)).encode()
        + b" >>\nstream\n"
        + stream
        + b"\nendstream\nendobj\n"
        b"5 0 obj\n<< /Filter /FlateDecode /Length 256 >>\nstream\n"
        + rng.randbytes(256)
        + b"\nendstream\nendobj\n"
        b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def fake_jpeg() -> bytes:
    rng = random.Random(15)
    return (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00"
        b"\xff\xdb\x00\x43\x00"
        + rng.randbytes(64)
        + b"\xff\xc0\x00\x11\x08\x01\xe0\x02\x80\x03"
        + rng.randbytes(1500)
        + b"\xff\xd9"
    )


# --------------------------------------------------------------------------- cases


@dataclass
class Case:
    slug: str
    covers: str
    build: Callable[[], bytes]
    expected: dict[str, str | None] = field(default_factory=dict)


CASES: list[Case] = []


def case(
    slug: str, covers: str, expected: dict[str, str | None]
) -> Callable[[Callable[[], bytes]], Callable[[], bytes]]:
    def register(build: Callable[[], bytes]) -> Callable[[], bytes]:
        CASES.append(Case(slug, covers, build, expected))
        return build

    return register


def E(
    *,
    name: str | None,
    address: str | None,
    phone: str | None,
    email: str,
    smartcard: str | None,
    decoder: str | None,
    incident_date: str | None,
    category: str,
) -> dict[str, str | None]:
    return {
        "name": name,
        "address": address,
        "phone": phone,
        "email": email,
        "smartcard": smartcard,
        "decoder": decoder,
        "incident_date": incident_date,
        "category": category,
    }


# 001 ------------------------------------------------------------------------------------
@case(
    "001-utf8-double-charge",
    "UTF-8 8bit plain text with diacritics; fee (double charge); labelled card/phone/address; amounts 175.000đ and transaction codes near the card; name by prose and signature; B-encoded Subject/From",
    E(
        name="Nguyễn Văn Hải",
        address="Số 18 ngõ 64 phố Vọng, phường Đồng Tâm, quận Hai Bà Trưng, Hà Nội",
        phone="+84912345678",
        email="nguyenvanhai1985@gmail.com",
        smartcard="840123456789",
        decoder=None,
        incident_date="2026-09-02",
        category="fee",
    ),
)
def _001() -> bytes:
    text = T("""
Kính gửi Phòng Chăm sóc Khách hàng K+,

Tôi tên là Nguyễn Văn Hải, đang sử dụng dịch vụ K+ tại nhà. Ngày 02/09/2026 tôi thanh toán gia hạn gói K+ Premium 1 tháng qua ví MoMo, số tiền 175.000đ, nhưng tài khoản của tôi bị trừ hai lần (tổng cộng 350.000đ). Mã giao dịch: 48213379051 và 48213379107.

Thông tin thuê bao:
Số thẻ giải mã: 8401 2345 6789
Số điện thoại: 0912 345 678
Địa chỉ: Số 18 ngõ 64 phố Vọng, phường Đồng Tâm, quận Hai Bà Trưng, Hà Nội

Đề nghị K+ kiểm tra và hoàn lại 175.000đ bị trừ thừa cho tôi.

Trân trọng,
Nguyễn Văn Hải
""")
    return message(
        date=when(9, 7, 8, 42, 10),
        from_=mailbox("Nguyễn Văn Hải", "nguyenvanhai1985@gmail.com"),
        subj=subject("Khiếu nại bị trừ tiền 2 lần"),
        msgid=msgid("001", "gmail"),
        body=text_part(text, cte="8bit"),
    )


# 002 ------------------------------------------------------------------------------------
@case(
    "002-ascii-no-diacritics",
    "Pure ASCII 7bit, no diacritics at all (ho ten, so the giai ma, so dau thu, sdt, dia chi); d/m/yyyy date; lower-case decoder; card grouped by spaces; sign-off nickname loses to the label",
    E(
        name="Tran Van Binh",
        address="thon Dong Lao, xa Dong La, huyen Hoai Duc, Ha Noi",
        phone="+84983456721",
        email="tran.binh88@yahoo.com.vn",
        smartcard="75200418339126",
        decoder="2107VST004512",
        incident_date="2026-09-05",
        category="other",
    ),
)
def _002() -> bytes:
    text = T("""
Chao K+,

Nha toi bi mat song K+ tu ngay 5/9/2026 den nay, tivi chi bao "Khong co tin hieu". Toi da rut dien khoi dong lai dau thu nhieu lan nhung van khong xem duoc.

ho ten: Tran Van Binh
so the giai ma: 7520 0418 3391 26
so dau thu: 2107vst004512
sdt: 0983.456.721
dia chi: thon Dong Lao, xa Dong La, huyen Hoai Duc, Ha Noi

Mong K+ cho ky thuat xuong kiem tra som.
Binh
""")
    return message(
        date=when(9, 8, 21, 15, 33),
        from_=mailbox("Tran Binh", "tran.binh88@yahoo.com.vn"),
        subj="khieu nai mat song K+",
        msgid=msgid("002", "yahoo"),
        body=text_part(text, charset="us-ascii", cte="7bit"),
        extra=("X-Mailer: YahooMailAndroidMobile",),
    )


# 003 ------------------------------------------------------------------------------------
@case(
    "003-nfd-decomposed-utf8",
    "NFD-decomposed UTF-8 body and Q-encoded NFD Subject; 'ngày 12 tháng 9 năm 2026'; +84 (0) phone; card grouped by dashes; 'Địa chỉ lắp đặt:' with TP.HCM; channel loss (other)",
    E(
        name="Lê Thị Thu Trang",
        address="215/7 Nguyễn Đình Chiểu, Phường 5, Quận 3, TP.HCM",
        phone="+84903118274",
        email="thutrang.le@outlook.com",
        smartcard="100233445566",
        decoder="VST1911023456",
        incident_date="2026-09-12",
        category="other",
    ),
)
def _003() -> bytes:
    text = T("""
Chào anh/chị,

Từ ngày 12 tháng 9 năm 2026, đầu thu nhà tôi không còn thu được kênh VTV3 HD và K+ Sport 1, các kênh khác vẫn xem bình thường. Tôi đã dò lại kênh theo hướng dẫn trên website nhưng không được.

Họ và tên: Lê Thị Thu Trang
Địa chỉ lắp đặt: 215/7 Nguyễn Đình Chiểu, Phường 5, Quận 3, TP.HCM
Điện thoại: +84 (0) 903 118 274
Số thẻ: 1002-3344-5566
Số đầu thu: VST1911023456

Xin cảm ơn.
""")
    nfd = unicodedata.normalize("NFD", text)
    return message(
        date=when(9, 14, 19, 3, 41),
        from_=mailbox("Lê Thị Thu Trang", "thutrang.le@outlook.com"),
        subj=ew(unicodedata.normalize("NFD", "Mất kênh VTV3 HD và K+ Sport 1"), "utf-8", "Q"),
        msgid=msgid("003", "outlook"),
        body=text_part(nfd, raw=nfd.encode("utf-8"), cte="8bit"),
        extra=("X-Mailer: Apple Mail (2.3826.500.181)",),
    )


# 004 ------------------------------------------------------------------------------------
@case(
    "004-cp1258-qp-renewal",
    "windows-1258 (decomposed tones) quoted-printable body; windows-1258 Q Subject and B From; fee (renewal not applied); 'Mã thẻ:' grouped by dots; Đà Nẵng",
    E(
        name="Phạm Quốc Việt",
        address="56 Lê Duẩn, phường Hải Châu 1, quận Hải Châu, TP Đà Nẵng",
        phone="+84905246813",
        email="phamquocviet@vnn.vn",
        smartcard="600211874432",
        decoder=None,
        incident_date="2026-10-01",
        category="fee",
    ),
)
def _004() -> bytes:
    text = T("""
Kính gửi Phòng CSKH K+,

Tôi đã gia hạn gói K+ Premium 6 tháng ngày 01/10/2026 tại đại lý K+ trên đường Nguyễn Văn Linh, đã thanh toán 1.050.000đ và có hóa đơn. Tuy nhiên đến nay đầu thu vẫn báo thuê bao hết hạn, không xem được kênh nào của K+.

Mã thẻ: 6002.1187.4432
Điện thoại: 0905 246 813
Địa chỉ: 56 Lê Duẩn, phường Hải Châu 1, quận Hải Châu, TP Đà Nẵng

Đề nghị K+ kích hoạt lại gói cước cho tôi sớm.

Trân trọng,
Phạm Quốc Việt
""")
    return message(
        date=when(10, 2, 14, 20, 5),
        from_=mailbox("Phạm Quốc Việt", "phamquocviet@vnn.vn", "windows-1258", "B"),
        subj=ew("Gia hạn thuê bao nhưng chưa được kích hoạt", "windows-1258", "Q"),
        msgid=msgid("004", "vnn.vn"),
        body=text_part(text, charset="windows-1258", cte="quoted-printable"),
        extra=(
            "X-Mailer: Microsoft Outlook 16.0",
            "Thread-Index: AdtUa3kq8mJ2rTn0QyS1c0bq4pX1vA==",
        ),
    )


# 005 ------------------------------------------------------------------------------------
@case(
    "005-cp1258-8bit-e48",
    "windows-1258 8bit body; windows-1258 B Subject, Q From; lỗi E48 (other); dd-mm-yyyy; 'S/N:' decoder lower case with dashes; 'Khách hàng:' and 'Di động:' labels; 'Số thẻ K+:'; Cần Thơ address containing '30 Tháng 4'",
    E(
        name="Huỳnh Thanh Tâm",
        address="88/12 đường 30 Tháng 4, phường Xuân Khánh, quận Ninh Kiều, TP Cần Thơ",
        phone="+84939512604",
        email="thanhtam.ct@yahoo.com.vn",
        smartcard="3501778900214",
        decoder="ODS-1400-782265",
        incident_date="2026-10-14",
        category="other",
    ),
)
def _005() -> bytes:
    text = T("""
Chào K+,

Từ ngày 14-10-2026 đầu thu nhà tôi liên tục báo lỗi E48 "Không có tín hiệu", mặc dù trời không mưa và chảo vẫn để nguyên vị trí cũ.

Khách hàng: Huỳnh Thanh Tâm
Địa chỉ: 88/12 đường 30 Tháng 4, phường Xuân Khánh, quận Ninh Kiều, TP Cần Thơ
Di động: 0939 512 604
Số thẻ K+: 3501 7789 0021 4
S/N: ods-1400-782265

Nhờ K+ hướng dẫn hoặc cử kỹ thuật đến kiểm tra giúp.
Cảm ơn.
""")
    return message(
        date=when(10, 16, 9, 11, 52),
        from_=mailbox("Huỳnh Thanh Tâm", "thanhtam.ct@yahoo.com.vn", "windows-1258", "Q"),
        subj=ew("Đầu thu báo lỗi E48", "windows-1258", "B"),
        msgid=msgid("005", "yahoo"),
        body=text_part(text, charset="windows-1258", cte="8bit"),
    )


# 006 ------------------------------------------------------------------------------------
@case(
    "006-utf8-labelled-latin1",
    "UTF-8 bytes mislabelled charset=iso-8859-1 (8bit); fee (invoice); 'ĐT:' phone as 84xxxxxxxxx; unspaced 10-digit card; name and 'Đ/c:' address in the signature",
    E(
        name="Đặng Thu Hà",
        address="P1204 tòa HH2, khu đô thị Dương Nội, Hà Đông, Hà Nội",
        phone="+84978123456",
        email="dangthuha.hn@fpt.vn",
        smartcard="4211897730",
        decoder=None,
        incident_date="2026-09-20",
        category="fee",
    ),
)
def _006() -> bytes:
    text = T("""
Kính gửi K+,

Hóa đơn ngày 20/09/2026 của tôi tính tiền cả gói K+ Premium và gói K+ Sport Plus, trong khi tôi chỉ đăng ký một gói Premium từ đầu năm. Tôi đề nghị K+ kiểm tra và hoàn tiền gói Sport Plus.

Số thẻ: 4211897730
ĐT: 84978123456

Trân trọng,
Đặng Thu Hà
Đ/c: P1204 tòa HH2, khu đô thị Dương Nội, Hà Đông, Hà Nội
""")
    return message(
        date=when(9, 22, 10, 47, 18),
        from_=mailbox("Dang Thu Ha", "dangthuha.hn@fpt.vn"),
        subj="Hoa don thang 9 bi tinh tien 2 goi",
        msgid=msgid("006", "fpt.vn"),
        body=text_part(text, declared="iso-8859-1", raw=text.encode("utf-8"), cte="8bit"),
        extra=("User-Agent: Roundcube Webmail/1.4.13",),
    )


# 007 ------------------------------------------------------------------------------------
@case(
    "007-mojibake-installer",
    "Mojibake body (UTF-8 read as windows-1252, re-encoded as UTF-8) in quoted-printable; staff/installation complaint (other); old 11-digit 0168 mobile → 038; 'Đ/c:' label; Huế",
    E(
        name="Đỗ Minh Khoa",
        address="27 Phan Chu Trinh, phường Phước Vĩnh, TP Huế",
        phone="+84382345678",
        email="dominhkhoa.hue@gmail.com",
        smartcard="22904417660385",
        decoder=None,
        incident_date="2026-09-28",
        category="other",
    ),
)
def _007() -> bytes:
    text = T("""
Kính gửi K+,

Ngày 28/09/2026 nhân viên lắp đặt của đại lý K+ đến nhà tôi lắp đầu thu mới. Nhân viên đến trễ 3 tiếng so với giờ hẹn, thái độ cáu gắt, khoan tường xong không dọn dẹp và để dây cáp lòng thòng ngoài hiên. Tôi đề nghị K+ xem xét và nhắc nhở.

Họ tên: Đỗ Minh Khoa
Đ/c: 27 Phan Chu Trinh, phường Phước Vĩnh, TP Huế
SĐT: 0168 234 5678
Số thẻ giải mã: 2290 4417 6603 85
""")
    garbled = mojibake(text)
    return message(
        date=when(9, 30, 16, 5, 2),
        from_=mailbox("Đỗ Minh Khoa", "dominhkhoa.hue@gmail.com"),
        subj=subject("Phản ánh nhân viên lắp đặt"),
        msgid=msgid("007", "gmail"),
        body=text_part(garbled, raw=garbled.encode("utf-8"), cte="quoted-printable"),
    )


# 008 ------------------------------------------------------------------------------------
@case(
    "008-base64-rural-prose",
    "UTF-8 base64 body; name by prose 'Tôi là …,'; address by prose 'Nhà tôi ở …' (rural ấp/xã/huyện/tỉnh); 'số liên hệ' and 'Thẻ giải mã' without colon; 'chăm sóc khách hàng' in the greeting is not a label",
    E(
        name="Võ Thị Ngọc Hân",
        address="ấp Phú Hòa, xã An Phú Thuận, huyện Châu Thành, tỉnh Đồng Tháp",
        phone="+84357889102",
        email="ngochan.vo92@gmail.com",
        smartcard="501602347781",
        decoder=None,
        incident_date="2026-10-03",
        category="other",
    ),
)
def _008() -> bytes:
    text = T("""
Chào bộ phận chăm sóc khách hàng K+,

Tôi là Võ Thị Ngọc Hân, thuê bao K+ ở Đồng Tháp. Từ ngày 03/10/2026 đầu thu nhà tôi mất sóng hoàn toàn, màn hình chỉ hiện "Không có tín hiệu". Nhà tôi ở ấp Phú Hòa, xã An Phú Thuận, huyện Châu Thành, tỉnh Đồng Tháp. Sau trận mưa lớn tôi đã kiểm tra dây cáp nhưng không thấy đứt.

Thẻ giải mã 5016 0234 7781, số liên hệ 0357 889 102.

Mong K+ sớm cử người xuống kiểm tra.
""")
    return message(
        date=when(10, 6, 7, 58, 27),
        from_=mailbox("Võ Thị Ngọc Hân", "ngochan.vo92@gmail.com"),
        subj=subject("Mất sóng K+ nhiều ngày"),
        msgid=msgid("008", "gmail"),
        body=text_part(text, cte="base64"),
    )


# 009 ------------------------------------------------------------------------------------
@case(
    "009-qp-autorenew-dotted-date",
    "UTF-8 quoted-printable; fee (auto-renewal charged after cancelling); dd.mm.yyyy date; 'Smart card:' 16 digits; 'Chủ thuê bao:'; +84 phone without (0); An Giang",
    E(
        name="Bùi Thị Thanh Hương",
        address="102 Trần Hưng Đạo, phường Mỹ Bình, TP Long Xuyên, tỉnh An Giang",
        phone="+84988765432",
        email="huongbui.ag@yahoo.com.vn",
        smartcard="8000112233445566",
        decoder=None,
        incident_date="2026-10-15",
        category="fee",
    ),
)
def _009() -> bytes:
    text = T("""
Kính gửi K+,

Tôi đã yêu cầu hủy gia hạn tự động từ tháng 8. Nhưng ngày 15.10.2026 tài khoản ngân hàng liên kết của tôi vẫn bị trừ 175.000đ để gia hạn gói K+ Premium. Đề nghị K+ hoàn tiền cho tôi.

Chủ thuê bao: Bùi Thị Thanh Hương
Smart card: 8000 1122 3344 5566
Điện thoại: +84 988 765 432
Địa chỉ: 102 Trần Hưng Đạo, phường Mỹ Bình, TP Long Xuyên, tỉnh An Giang

Trân trọng.
""")
    return message(
        date=when(10, 19, 11, 30, 0),
        from_=mailbox("Bùi Thanh Hương", "huongbui.ag@yahoo.com.vn", "utf-8", "Q"),
        subj=subject("Bị trừ tiền gia hạn tự động khi đã hủy", "utf-8", "Q"),
        msgid=msgid("009", "yahoo"),
        body=text_part(text, cte="quoted-printable", quote_charset=True),
    )


# 010 ------------------------------------------------------------------------------------
@case(
    "010-html-only-table",
    "HTML-only (text/html, QP) with the details in a two-column <table>; lỗi E48 (other); 'Ngày xảy ra sự cố:' cell; TP Thủ Đức",
    E(
        name="Trần Minh Quân",
        address="Số 9 đường Lê Văn Việt, phường Hiệp Phú, TP Thủ Đức, TP.HCM",
        phone="+84909876543",
        email="tmquan.dev@gmail.com",
        smartcard="508822110583",
        decoder="K23A0045871",
        incident_date="2026-10-09",
        category="other",
    ),
)
def _010() -> bytes:
    page = T("""
<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body>
<p>Kính gửi K+,</p>
<p>Đầu thu nhà tôi báo lỗi <b>E48</b> liên tục, không xem được kênh nào. Thông tin của tôi như sau:</p>
<table border="1" cellpadding="4" style="border-collapse:collapse">
<tr><td>Họ và tên:</td><td>Trần Minh Quân</td></tr>
<tr><td>Địa chỉ:</td><td>Số 9 đường Lê Văn Việt, phường Hiệp Phú, TP Thủ Đức, TP.HCM</td></tr>
<tr><td>Số điện thoại:</td><td>0909 876 543</td></tr>
<tr><td>Số thẻ giải mã:</td><td>5088 2211 0583</td></tr>
<tr><td>Số đầu thu:</td><td>K23A0045871</td></tr>
<tr><td>Ngày xảy ra sự cố:</td><td>09/10/2026</td></tr>
</table>
<p>Xin cảm ơn.</p>
</body></html>
""")
    return message(
        date=when(10, 11, 20, 12, 44),
        from_=mailbox("Trần Minh Quân", "tmquan.dev@gmail.com"),
        subj=subject("Lỗi E48 trên đầu thu K+"),
        msgid=msgid("010", "gmail"),
        body=text_part(page, subtype="html", cte="quoted-printable"),
    )


# 011 ------------------------------------------------------------------------------------
@case(
    "011-html-br-entities",
    "HTML-only base64 with <br>, <p>, <b>, inline styles and entities (&nbsp; inside the phone, &amp;, &quot;); fee (top-up not credited, 'nạp tiền … ngày'); signature name in a styled <span>; Đắk Lắk",
    E(
        name="Hoàng Gia Bảo",
        address="Thôn 4, xã Hòa Thắng, TP Buôn Ma Thuột, tỉnh Đắk Lắk",
        phone="+84862135790",
        email="giabao.hoang@outlook.com",
        smartcard="731600982245",
        decoder=None,
        incident_date="2026-10-03",
        category="fee",
    ),
)
def _011() -> bytes:
    page = T("""
<div style="font-family: Arial, sans-serif; font-size: 14px; color: #222222">
Kính gửi K+,<br><br>
Tôi nạp tiền gia hạn gói K+ Premium qua ứng dụng MyK+ ngày 03/10/2026, số tiền 175.000&nbsp;đ, ứng dụng báo <i>&quot;thành công&quot;</i> nhưng đến nay thuê bao vẫn chưa được cộng ngày sử dụng.<br>
Tôi đã liên hệ tổng đài nhưng chờ máy quá lâu &amp; không ai nghe.<br><br>
<b>Số thẻ:</b>&nbsp;7316 0098 2245<br>
<b>SĐT:</b>&nbsp;0862&nbsp;135&nbsp;790<br>
<b>Địa chỉ:</b>&nbsp;Thôn 4, xã Hòa Thắng, TP Buôn Ma Thuột, tỉnh Đắk Lắk<br><br>
<p style="margin:0">Trân trọng,</p>
<p style="margin:0"><span style="color:#1f497d">Hoàng Gia Bảo</span></p>
</div>
""")
    return message(
        date=when(10, 8, 22, 40, 9),
        from_=mailbox("Bao Hoang", "giabao.hoang@outlook.com"),
        subj=subject("Khiếu nại cước tháng 10"),
        msgid=msgid("011", "outlook"),
        body=text_part(page, subtype="html", cte="base64"),
    )


# 012 ------------------------------------------------------------------------------------
_012_TEXT = T("""
Kính gửi Phòng Chăm sóc Khách hàng K+,

Từ tối 20/10/2026 gói của tôi mất hết các kênh K+ Sport 1 và K+ Sport 2, trong khi các kênh K+ Cine và K+ Kids vẫn xem được. Đây là lần thứ hai trong tháng.

Chủ thuê bao: Lý Văn Phúc
Địa chỉ lắp đặt: Tổ 7, phường Quang Trung, TP Thái Nguyên, tỉnh Thái Nguyên
Số điện thoại: 0975 300 112
Số thẻ giải mã: 1220 3344 9087 6

Trân trọng,
Lý Văn Phúc
""")
_012_HTML = T("""
<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" xmlns="http://www.w3.org/TR/REC-html40">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=windows-1258">
<meta name="Generator" content="Microsoft Word 15 (filtered medium)">
<style><!--
/* Font Definitions */
@font-face
	{font-family:"Cambria Math";
	panose-1:2 4 5 3 5 4 6 3 2 4;}
@font-face
	{font-family:Calibri;
	panose-1:2 15 5 2 2 2 4 3 2 4;}
/* Style Definitions */
p.MsoNormal, li.MsoNormal, div.MsoNormal
	{margin:0in;
	font-size:11.0pt;
	font-family:"Calibri",sans-serif;}
span.EmailStyle17
	{mso-style-type:personal-compose;
	font-family:"Calibri",sans-serif;
	color:windowtext;}
@page WordSection1
	{size:8.5in 11.0in;
	margin:1.0in 1.0in 1.0in 1.0in;}
div.WordSection1
	{page:WordSection1;}
--></style><!--[if gte mso 9]><xml>
<o:shapedefaults v:ext="edit" spidmax="1026" />
</xml><![endif]--><!--[if gte mso 9]><xml>
<o:shapelayout v:ext="edit">
<o:idmap v:ext="edit" data="1" />
</o:shapelayout></xml><![endif]-->
</head>
<body lang="VI" link="#0563C1" vlink="#954F72" style="word-wrap:break-word">
<div class="WordSection1">
<p class="MsoNormal">Kính gửi Phòng Chăm sóc Khách hàng K+,<o:p></o:p></p>
<p class="MsoNormal"><o:p>&nbsp;</o:p></p>
<p class="MsoNormal">Từ tối 20/10/2026 gói của tôi mất hết các kênh K+ Sport 1 và K+ Sport 2, trong khi các kênh K+ Cine và K+ Kids vẫn xem được. Đây là lần thứ hai trong tháng.<o:p></o:p></p>
<p class="MsoNormal"><o:p>&nbsp;</o:p></p>
<p class="MsoNormal">Chủ thuê bao: Lý Văn Phúc<o:p></o:p></p>
<p class="MsoNormal">Địa chỉ lắp đặt: Tổ 7, phường Quang Trung, TP Thái Nguyên, tỉnh Thái Nguyên<o:p></o:p></p>
<p class="MsoNormal">Số điện thoại: 0975 300 112<o:p></o:p></p>
<p class="MsoNormal">Số thẻ giải mã: 1220 3344 9087 6<o:p></o:p></p>
<p class="MsoNormal"><o:p>&nbsp;</o:p></p>
<p class="MsoNormal">Trân trọng,<o:p></o:p></p>
<p class="MsoNormal"><b><span style="color:#1F3864">Lý Văn Phúc<o:p></o:p></span></b></p>
</div>
</body>
</html>
""")


@case(
    "012-outlook-cp1258-alternative",
    "multipart/alternative from Outlook: windows-1258 QP text/plain + Outlook-style windows-1258 HTML (MsoNormal, <o:p>, mso conditional comments, panose digits in CSS); channel loss (other); 'Chủ thuê bao:'; Thái Nguyên",
    E(
        name="Lý Văn Phúc",
        address="Tổ 7, phường Quang Trung, TP Thái Nguyên, tỉnh Thái Nguyên",
        phone="+84975300112",
        email="lyvanphuc@vnn.vn",
        smartcard="1220334490876",
        decoder=None,
        incident_date="2026-10-20",
        category="other",
    ),
)
def _012() -> bytes:
    body = multipart(
        "alternative",
        [
            text_part(_012_TEXT, charset="windows-1258", cte="quoted-printable"),
            text_part(_012_HTML, subtype="html", charset="windows-1258", cte="quoted-printable"),
        ],
        "_000_SG2PR06MB5310A1B2C3D4E5F6SG2PR06MB5310apcp_",
    )
    return message(
        date=when(10, 22, 8, 55, 31),
        from_=mailbox("Lý Văn Phúc", "lyvanphuc@vnn.vn", "windows-1258", "Q"),
        subj=ew("Khiếu nại mất kênh K+ Sport", "windows-1258", "B"),
        msgid=msgid("012", "outlook"),
        body=body,
        extra=(
            "X-Mailer: Microsoft Outlook 16.0",
            "Content-Language: vi-VN",
            "Thread-Index: AdtkPq0bV3m8o7bpTDWm2jv8Y1e0zA==",
        ),
    )


# 013 ------------------------------------------------------------------------------------
_013_TEXT = T("""
Chào K+,

Tôi là Phan Văn Lộc, thuê bao ở Đà Nẵng. Đầu thu của tôi mất sóng từ ngày 25/10/2026, các kênh đều báo "Mất tín hiệu". Tôi đã thử khởi động lại nhiều lần.

Địa chỉ: K34/12 Hà Huy Tập, phường Thanh Khê, TP Đà Nẵng
Số điện thoại: 0236 3812 479
Mã thẻ: 0051 2298 7634
Mã đầu thu: HD24-118405

Cảm ơn anh/chị.
""")


@case(
    "013-gmail-alternative",
    "multipart/alternative from Gmail (UTF-8 text/plain 8bit + <div dir=ltr> HTML, QP); signal loss (other); Đà Nẵng landline 0236; 'Mã thẻ:' with leading zeros; 'Mã đầu thu:' with a dash",
    E(
        name="Phan Văn Lộc",
        address="K34/12 Hà Huy Tập, phường Thanh Khê, TP Đà Nẵng",
        phone="+842363812479",
        email="phanvanloc.dn@gmail.com",
        smartcard="005122987634",
        decoder="HD24-118405",
        incident_date="2026-10-25",
        category="other",
    ),
)
def _013() -> bytes:
    body = multipart(
        "alternative",
        [
            text_part(_013_TEXT, cte="8bit", quote_charset=True),
            text_part(
                gmail_html(_013_TEXT), subtype="html", cte="quoted-printable", quote_charset=True
            ),
        ],
        "000000000000a41c2b0623f1d7e5",
    )
    return message(
        date=when(10, 27, 13, 25, 4),
        from_=mailbox("Phan Văn Lộc", "phanvanloc.dn@gmail.com"),
        subj=subject("Mất sóng K+"),
        msgid=msgid("013", "gmail"),
        body=body,
    )


# 014 ------------------------------------------------------------------------------------
_014_TEXT = T("""
Kính gửi K+,

Hóa đơn ngày 05/10/2026 tính cho tôi 350.000đ trong khi gói K+ Premium chỉ 175.000đ/tháng. Tôi gửi kèm hóa đơn để K+ kiểm tra và điều chỉnh lại cước.

Họ tên: Trịnh Thị Mỹ Duyên
Số thẻ: 3388 0217 6450
Số điện thoại: 0394 226 118
Địa chỉ: 45/3 Lý Thường Kiệt, phường 7, quận 10, TP.HCM

Trân trọng,
Mỹ Duyên
""")


@case(
    "014-mixed-pdf-rfc2231",
    "multipart/mixed: Gmail alternative body + binary PDF attachment whose Vietnamese filename is RFC 2231-encoded (and RFC 2047 in name=); fee (invoice); labelled full name beats the short signature name",
    E(
        name="Trịnh Thị Mỹ Duyên",
        address="45/3 Lý Thường Kiệt, phường 7, quận 10, TP.HCM",
        phone="+84394226118",
        email="myduyen.trinh@gmail.com",
        smartcard="338802176450",
        decoder=None,
        incident_date="2026-10-05",
        category="fee",
    ),
)
def _014() -> bytes:
    fname = "Hóa đơn tháng 10.pdf"
    pdf = binary_part(
        f'application/pdf; name="{ew(fname)}"',
        f"attachment; filename*=utf-8''{quote(fname.encode('utf-8'))}",
        fake_pdf(),
    )
    alt = multipart(
        "alternative",
        [
            text_part(_014_TEXT, cte="quoted-printable"),
            text_part(gmail_html(_014_TEXT), subtype="html", cte="quoted-printable"),
        ],
        "000000000000c5d2e80623f5a112",
    )
    body = multipart("mixed", [alt, pdf], "000000000000c5d2ea0623f5a114")
    return message(
        date=when(10, 9, 15, 2, 47),
        from_=mailbox("Trịnh Thị Mỹ Duyên", "myduyen.trinh@gmail.com"),
        subj=subject("Hóa đơn tháng 10 bị tính sai"),
        msgid=msgid("014", "gmail"),
        body=body,
    )


# 015 ------------------------------------------------------------------------------------
@case(
    "015-mixed-hostile-filenames",
    "multipart/mixed: UTF-8 text + JPEG attachment named '../../etc/passwd' + text attachment named 'a\\x00b.txt' (RFC 2231 %00); attachments carry no identifiers; lỗi E48 (other); card grouped by dashes",
    E(
        name="Lâm Quốc Thịnh",
        address="17 Nguyễn Văn Cừ, phường An Hòa, quận Ninh Kiều, TP Cần Thơ",
        phone="+84913007455",
        email="lqthinh@fpt.vn",
        smartcard="66442081335709",
        decoder="ODS2210447812",
        incident_date="2026-11-02",
        category="other",
    ),
)
def _015() -> bytes:
    text = T("""
Chào anh chị,

Đầu thu báo lỗi E48 từ sáng ngày 02/11/2026, tôi gửi kèm ảnh chụp màn hình và file log.

Họ tên: Lâm Quốc Thịnh
Số thẻ: 6644-2081-3357-09
Số đầu thu: ODS2210447812
Điện thoại: 0913 007 455
Địa chỉ: 17 Nguyễn Văn Cừ, phường An Hòa, quận Ninh Kiều, TP Cần Thơ
""")
    log = (
        b"[boot] tuner init ok\n[dvb] lock failed, retry\n[dvb] lock failed, retry\n[ui] show E48\n"
    )
    body = multipart(
        "mixed",
        [
            text_part(text, cte="8bit"),
            binary_part(
                'image/jpeg; name="../../etc/passwd"',
                'attachment; filename="../../etc/passwd"',
                fake_jpeg(),
            ),
            binary_part(
                "text/plain; charset=us-ascii", "attachment; filename*=utf-8''a%00b.txt", log
            ),
        ],
        "----=_Part_2318_1077.1793612345678",
    )
    return message(
        date=when(11, 2, 14, 44, 12),
        from_=mailbox("Lam Quoc Thinh", "lqthinh@fpt.vn"),
        subj="Man hinh bao loi E48 - gui anh chup",
        msgid=msgid("015", "fpt.vn"),
        body=body,
        extra=("User-Agent: Mozilla Thunderbird",),
    )


# 016 ------------------------------------------------------------------------------------
@case(
    "016-card-in-subject-q",
    "Card number only in the Q-encoded UTF-8 Subject; short body; 'Số điện thoại của tôi …' without colon; 'ZaloPay' is not a zalo label; the 'Cảm ơn,' signature 'Mai Anh' is cut from the From display name 'Mai Anh Pham' (family name last): the fuller name; no address",
    E(
        name="Mai Anh Pham",
        address=None,
        phone="+84886442019",
        email="maianh.pham@yahoo.com",
        smartcard="334455667788",
        decoder=None,
        incident_date="2026-11-07",
        category="fee",
    ),
)
def _016() -> bytes:
    text = T("""
K+ ơi, sáng nay 07/11/2026 tôi thanh toán qua ZaloPay thì bị trừ tiền hai lần, mỗi lần 175.000đ. Kiểm tra giúp tôi với. Số điện thoại của tôi 0886 442 019.

Cảm ơn,
Mai Anh
""")
    return message(
        date=when(11, 7, 9, 37, 55),
        from_=mailbox("Mai Anh Pham", "maianh.pham@yahoo.com"),
        subj=ew("Thẻ giải mã 3344 5566 7788 bị trừ tiền 2 lần", "utf-8", "Q"),
        msgid=msgid("016", "yahoo"),
        body=text_part(text, cte="8bit"),
    )


# 017 ------------------------------------------------------------------------------------
@case(
    "017-fwd-gmail-resend",
    "Gmail forward 'Fwd:' with '---------- Forwarded message ---------' (Vietnamese Gmail header dates); all identifiers only in the forwarded complaint; 'Serial đầu thu:'; rural Nghệ An",
    E(
        name="Đinh Công Tráng",
        address="Xóm 3, xã Nghi Phong, huyện Nghi Lộc, tỉnh Nghệ An",
        phone="+84376554218",
        email="dinhcongtrang@gmail.com",
        smartcard="261104578893",
        decoder="NA19K0773521",
        incident_date="2026-10-07",
        category="other",
    ),
)
def _017() -> bytes:
    text = T("""
Gửi K+ lần thứ hai, đã một tuần chưa thấy ai liên hệ lại.

---------- Forwarded message ---------
From: Đinh Công Tráng <dinhcongtrang@gmail.com>
Date: Th 5, 8 thg 10, 2026 lúc 19:42
Subject: Khiếu nại đầu thu không lên nguồn
To: <cskh@kplus.example>


Kính gửi K+,

Đầu thu K+ nhà tôi không lên nguồn từ ngày 07/10/2026, đèn báo không sáng dù đã thay ổ cắm khác.

Họ tên: Đinh Công Tráng
Địa chỉ: Xóm 3, xã Nghi Phong, huyện Nghi Lộc, tỉnh Nghệ An
SĐT: 0376 554 218
Số thẻ: 2611 0457 8893
Serial đầu thu: NA19K0773521

Trân trọng,
Đinh Công Tráng
""")
    body = multipart(
        "alternative",
        [
            text_part(text, cte="quoted-printable"),
            text_part(gmail_html(text), subtype="html", cte="quoted-printable"),
        ],
        "0000000000007b3f1e0624a0c9d1",
    )
    return message(
        date=when(10, 15, 20, 18, 36),
        from_=mailbox("Đinh Công Tráng", "dinhcongtrang@gmail.com"),
        subj=subject("Fwd: Khiếu nại đầu thu không lên nguồn"),
        msgid=msgid("017", "gmail"),
        body=body,
    )


# 018 ------------------------------------------------------------------------------------
@case(
    "018-fwd-vi-by-kplus-store",
    "A K+ store (sender at kplus.example) forwards a customer's mail: 'Chuyển tiếp:' Subject, '---------- Thư đã chuyển tiếp ----------'; e-mail = the customer's address in the forwarded header (K+ addresses never count); 'khách hàng' in prose is not a label",
    E(
        name="Trần Thị Mai",
        address="Số 6 ngách 12/3 phố Trần Quốc Hoàn, phường Cầu Giấy, Hà Nội",
        phone="+84971228364",
        email="tranthimai88@gmail.com",
        smartcard="441009325517",
        decoder=None,
        incident_date="2026-10-18",
        category="other",
    ),
)
def _018() -> bytes:
    text = T("""
Chuyển phòng CSKH xử lý giúp khiếu nại khách hàng gửi tới cửa hàng.

---------- Thư đã chuyển tiếp ----------
Từ: Trần Thị Mai <tranthimai88@gmail.com>
Ngày: Th 3, 20 thg 10, 2026 lúc 10:05
Tiêu đề: Phản ánh mất sóng
Đến: <cuahang.caugiay@kplus.example>


Chào cửa hàng,

Nhà tôi bị mất sóng K+ từ ngày 18/10/2026, tất cả các kênh đều đen màn hình.
Họ tên: Trần Thị Mai
Địa chỉ: Số 6 ngách 12/3 phố Trần Quốc Hoàn, phường Cầu Giấy, Hà Nội
ĐT: 0971 228 364
Số thẻ giải mã: 4410 0932 5517

Cảm ơn cửa hàng.
""")
    return message(
        date=when(10, 21, 9, 10, 20),
        from_=mailbox("Cửa hàng K+ Cầu Giấy", "cuahang.caugiay@kplus.example"),
        subj=subject("Chuyển tiếp: Phản ánh mất sóng"),
        msgid=msgid("018", "kplus.example"),
        body=text_part(text, cte="quoted-printable"),
    )


# 019 ------------------------------------------------------------------------------------
@case(
    "019-fw-outlook-from-sent",
    "Outlook forward 'FW:' with a '____' line and 'From:/Sent:/To:/Subject:' block; identifiers only in the forwarded part; fee (wrong package price, 'gia hạn'); Huế landline 0234; decoder with dashes",
    E(
        name="Lê Văn Hùng",
        address="12 Hùng Vương, phường Phú Hội, TP Huế",
        phone="+842343826517",
        email="hunglv@outlook.com",
        smartcard="910533276648",
        decoder="HUE-2610-00481",
        incident_date="2026-10-24",
        category="fee",
    ),
)
def _019() -> bytes:
    text = T("""
Gửi lại khiếu nại, mong K+ phản hồi sớm.

Hùng

________________________________
From: Lê Văn Hùng <hunglv@outlook.com>
Sent: Tuesday, October 27, 2026 8:14 PM
To: cskh@kplus.example <cskh@kplus.example>
Subject: Khiếu nại tính sai cước

Kính gửi K+,

Ngày 24/10/2026 tôi gia hạn thuê bao tại quầy thì bị thu 175.000đ theo giá gói Premium, trong khi tôi đã chuyển xuống gói Lite 99.000đ từ tháng trước. Đề nghị K+ kiểm tra và hoàn lại tiền chênh lệch.

Họ và tên: Lê Văn Hùng
Địa chỉ: 12 Hùng Vương, phường Phú Hội, TP Huế
Điện thoại: 0234 3826 517
Số thẻ: 9105 3327 6648
Số đầu thu: HUE-2610-00481

Trân trọng,
Lê Văn Hùng
""")
    return message(
        date=when(11, 3, 8, 6, 59),
        from_=mailbox("Lê Văn Hùng", "hunglv@outlook.com"),
        subj=subject("FW: Khiếu nại tính sai cước"),
        msgid=msgid("019", "outlook"),
        body=text_part(text, cte="base64"),
        extra=(
            f"Thread-Topic: {ew('Khiếu nại tính sai cước')}",
            "X-MS-Has-Attach:",
            "X-MS-TNEF-Correlator:",
        ),
    )


# 020 ------------------------------------------------------------------------------------
@case(
    "020-tl-subject-thu-da-chuyen-tiep",
    "'TL:' Subject with a '---------- Thư đã chuyển tiếp ----------' body marker (customer re-sends her own mail); 'Tên:' label; channel missing (other); Nha Trang",
    E(
        name="Nguyễn Thị Thanh Xuân",
        address="3A Trần Phú, phường Lộc Thọ, TP Nha Trang, Khánh Hòa",
        phone="+84914663208",
        email="thanhxuan.nguyen77@yahoo.com.vn",
        smartcard="778122004139",
        decoder=None,
        incident_date="2026-10-24",
        category="other",
    ),
)
def _020() -> bytes:
    text = T("""
Tôi chuyển tiếp lại thư đã gửi tuần trước, đến giờ vẫn chưa được xử lý.

---------- Thư đã chuyển tiếp ----------
Từ: Nguyễn Thị Thanh Xuân <thanhxuan.nguyen77@yahoo.com.vn>
Ngày: Th 2, 26 thg 10, 2026 lúc 21:10
Tiêu đề: Mất kênh K+ Cine
Đến: <cskh@kplus.example>

Kính gửi K+,

Từ ngày 24/10/2026 tôi không xem được các kênh K+ Cine và K+ Kids, màn hình báo "Kênh chưa được đăng ký" dù gói của tôi vẫn còn hạn.

Tên: Nguyễn Thị Thanh Xuân
Địa chỉ: 3A Trần Phú, phường Lộc Thọ, TP Nha Trang, Khánh Hòa
SĐT: 0914 663 208
Mã thẻ: 7781 2200 4139
""")
    return message(
        date=when(11, 2, 7, 45, 3),
        from_=mailbox("Nguyễn Thị Thanh Xuân", "thanhxuan.nguyen77@yahoo.com.vn", "utf-8", "Q"),
        subj=subject("TL: Mất kênh K+ Cine"),
        msgid=msgid("020", "yahoo"),
        body=text_part(text, cte="8bit"),
    )


# 021 ------------------------------------------------------------------------------------
@case(
    "021-reply-vao-da-viet",
    "Gmail reply 'Vào Th 2, 5 thg 10, 2026 lúc 08:15 … đã viết:' with '> ' quoted K+ message holding a wrong phone, an address, a date and the hotline — none extracted (address null, date from own text); the Subject's ticket ref 'KN-2026-10-0412' is not a card; name falls back to From",
    E(
        name="Dương Văn Khánh",
        address=None,
        phone="+84978654321",
        email="khanhduong.hp@gmail.com",
        smartcard=None,
        decoder=None,
        incident_date="2026-10-01",
        category="other",
    ),
)
def _021() -> bytes:
    text = T("""
Chào K+,

Số mà kỹ thuật viên gọi không phải của tôi, chắc nhân viên ghi nhầm. Nhờ K+ gọi lại số dưới đây để hẹn lịch.
Số điện thoại: 0978 654 321

Đầu thu nhà tôi vẫn mất sóng từ hôm 01/10/2026 đến giờ.

Vào Th 2, 5 thg 10, 2026 lúc 08:15 Chăm sóc Khách hàng K+ <cskh@kplus.example> đã viết:

> Kính gửi Quý khách,
>
> K+ đã tiếp nhận khiếu nại của Quý khách ngày 02/10/2026 (mã KN-2026-10-0412).
> Kỹ thuật viên đã gọi đến số 0912 000 111 theo thông tin đăng ký nhưng không
> liên lạc được.
> Địa chỉ lắp đặt: 22 Lạch Tray, phường Lạch Tray, quận Ngô Quyền, Hải Phòng
> Quý khách vui lòng liên hệ hotline 1900 1592 để được hỗ trợ.
>
> Trân trọng,
> Phòng Chăm sóc Khách hàng K+
>
""")
    return message(
        date=when(10, 5, 10, 31, 40),
        from_=mailbox("Dương Văn Khánh", "khanhduong.hp@gmail.com"),
        subj=subject("Re: [K+ #KN-2026-10-0412] Phản hồi khiếu nại mất sóng"),
        msgid=msgid("021", "gmail"),
        body=text_part(text, cte="quoted-printable"),
        extra=(
            "In-Reply-To: <kn-2026-10-0412.1@kplus.example>",
            "References: <kn-2026-10-0412.1@kplus.example>",
        ),
    )


# 022 ------------------------------------------------------------------------------------
@case(
    "022-reply-on-wrote",
    "English 'On Tue, Oct 13, 2026 at 9:20 AM … wrote:' reply; the '> ' quote holds a different (mistyped) card and the hotline; fee (renewal charged twice); 'Thanks,' signature; no address",
    E(
        name="Nguyễn Hoàng Long",
        address=None,
        phone="+84328716450",
        email="long.nguyenhoang@outlook.com",
        smartcard="552019873346",
        decoder=None,
        incident_date="2026-10-10",
        category="fee",
    ),
)
def _022() -> bytes:
    text = T("""
Chào K+,

Số thẻ K+ ghi bên dưới bị sai, số đúng là:
Số thẻ giải mã: 5520 1987 3346
Tôi vẫn bị trừ tiền gia hạn hai lần vào ngày 10/10/2026.

SĐT: 0328 716 450

Thanks,
Nguyễn Hoàng Long

On Tue, Oct 13, 2026 at 9:20 AM K+ CSKH <cskh@kplus.example> wrote:
> Kính gửi Quý khách,
>
> Theo kiểm tra, thẻ giải mã số 5520 1987 3364 không phát sinh giao dịch trùng.
> Mọi thắc mắc xin gọi 1900 1592.
>
> Trân trọng,
> K+
""")
    return message(
        date=when(10, 14, 12, 2, 17),
        from_=mailbox("Nguyễn Hoàng Long", "long.nguyenhoang@outlook.com"),
        subj=subject("Re: Phản hồi khiếu nại cước"),
        msgid=msgid("022", "outlook"),
        body=text_part(text, cte="quoted-printable"),
        extra=("In-Reply-To: <reply-7731@kplus.example>", "References: <reply-7731@kplus.example>"),
    )


# 023 ------------------------------------------------------------------------------------
@case(
    "023-reply-original-message",
    "Outlook 'RE:' reply with '-----Original Message-----' (unprefixed quote) holding a different decoder number, a date and the hotline; own text gives the right decoder after 'Số đầu thu đúng:' (a word between label and colon); no date in own text → null",
    E(
        name="Tạ Thị Kim Oanh",
        address=None,
        phone="+84946380155",
        email="kimoanh.ta@fpt.vn",
        smartcard=None,
        decoder="KP-5530-29177",
        incident_date=None,
        category="other",
    ),
)
def _023() -> bytes:
    text = T("""
Kính gửi K+,

Tôi đã làm theo hướng dẫn nhưng đầu thu vẫn báo lỗi E48. Số đầu thu trong thư của K+ bị ghi sai.
Số đầu thu đúng: KP-5530-29177

Họ tên: Tạ Thị Kim Oanh
Điện thoại: 0946 380 155

-----Original Message-----
From: Cham soc Khach hang K+ [mailto:cskh@kplus.example]
Sent: Tuesday, October 20, 2026 4:30 PM
To: kimoanh.ta@fpt.vn
Subject: V/v lỗi đầu thu

Kính gửi Quý khách,

Về lỗi E48 trên đầu thu số KP-5530-29771 ngày 18/10/2026, Quý khách vui lòng kiểm tra lại dây cáp tín hiệu từ chảo vào đầu thu và khởi động lại thiết bị.
Hotline: 1900 1592

Trân trọng,
Phòng Chăm sóc Khách hàng K+
""")
    return message(
        date=when(10, 21, 8, 30, 45),
        from_=mailbox("Tạ Thị Kim Oanh", "kimoanh.ta@fpt.vn", "utf-8", "Q"),
        subj=subject("RE: V/v lỗi đầu thu"),
        msgid=msgid("023", "fpt.vn"),
        body=text_part(text, cte="8bit"),
        extra=("X-Mailer: Microsoft Outlook 15.0",),
    )


# 024 ------------------------------------------------------------------------------------
@case(
    "024-reply-outlook-from-sent",
    "Outlook 'RE:' reply with a 'From: … Sent: …' quoted block (no '>'), which holds another phone, the hotline, '24/7' and the agent's signature name; fee ('thanh toán ngày'); 'Tel:' label; 'Thanks & best regards,' signature",
    E(
        name="Vũ Đức Thắng",
        address=None,
        phone="+84333802664",
        email="thangvd@outlook.com",
        smartcard="200455771189",
        decoder=None,
        incident_date="2026-09-28",
        category="fee",
    ),
)
def _024() -> bytes:
    text = T("""
Chào chị,

Tôi xác nhận lại thông tin: tôi thanh toán ngày 28/09/2026 qua chuyển khoản, số tiền 175.000đ, nhưng hệ thống chưa ghi nhận.

Số thẻ: 2004 5577 1189
Tel: 0333 802 664

Thanks & best regards,
Vũ Đức Thắng

From: Nguyen Thu Trang - CSKH K+ <trang.nt@kplus.example>
Sent: Thursday, October 1, 2026 3:12 PM
To: thangvd@outlook.com
Subject: RE: Khiếu nại cước tháng 9

Chào anh Thắng,
Em đã gọi số 0904 111 222 nhưng không liên lạc được. Anh vui lòng cung cấp số thẻ và ngày thanh toán giúp em ạ.
Tổng đài 1900 1592 hỗ trợ 24/7.
Trân trọng,
Nguyễn Thu Trang
""")
    return message(
        date=when(10, 2, 9, 12, 8),
        from_=mailbox("Vũ Đức Thắng", "thangvd@outlook.com"),
        subj=subject("RE: Khiếu nại cước tháng 9"),
        msgid=msgid("024", "outlook"),
        body=text_part(text, cte="base64"),
    )


# 025 ------------------------------------------------------------------------------------
@case(
    "025-signature-block",
    "Name, 'ĐT:' phone and 'Đ/c:' address only in the signature block after 'Trân trọng,'; From display name is a login ('thuyhang.kt'); signal loss after a storm (other); thị trấn address",
    E(
        name="Nguyễn Thị Thúy Hằng",
        address="Số 45 tổ 2, thị trấn Đông Anh, huyện Đông Anh, Hà Nội",
        phone="+84912884306",
        email="thuyhang.kt@vnn.vn",
        smartcard="6318220477153",
        decoder=None,
        incident_date="2026-09-27",
        category="other",
    ),
)
def _025() -> bytes:
    text = T("""
Kính gửi K+,

Sau cơn bão hôm 27/09/2026, đầu thu nhà tôi mất sóng, màn hình báo "Không có tín hiệu vệ tinh". Tôi đã nhờ người kiểm tra chảo thu nhưng không thấy hư hỏng.
Số thẻ giải mã: 6318 2204 7715 3

Trân trọng,
Nguyễn Thị Thúy Hằng
ĐT: 0912 884 306
Đ/c: Số 45 tổ 2, thị trấn Đông Anh, huyện Đông Anh, Hà Nội
""")
    return message(
        date=when(9, 29, 18, 20, 51),
        from_=mailbox("thuyhang.kt", "thuyhang.kt@vnn.vn"),
        subj=subject("Mất sóng sau mưa bão"),
        msgid=msgid("025", "vnn.vn"),
        body=text_part(text, cte="8bit"),
    )


# 026 ------------------------------------------------------------------------------------
@case(
    "026-dashdash-signature",
    "'-- ' signature with name and 'Mobile:' 070 number; card after 'thẻ số' (no listed label, taken by shape); app/account problem (other)",
    E(
        name="Hồ Sỹ Nguyên",
        address=None,
        phone="+84707318924",
        email="hosynguyen@gmail.com",
        smartcard="882011074356",
        decoder=None,
        incident_date="2026-11-06",
        category="other",
    ),
)
def _026() -> bytes:
    text = T("""
Chào K+,

Tài khoản ứng dụng K+ của tôi gắn với thẻ số 8820 1107 4356 bị đăng xuất liên tục từ ngày 06/11/2026, đăng nhập lại thì báo lỗi "Thiết bị vượt quá giới hạn".

--\x20
Hồ Sỹ Nguyên
Mobile: 0707 318 924
""")
    return message(
        date=when(11, 9, 21, 5, 30),
        from_=mailbox("Ho Sy Nguyen", "hosynguyen@gmail.com"),
        subj=subject("Không xem được K+ trên ứng dụng"),
        msgid=msgid("026", "gmail"),
        body=text_part(text, cte="quoted-printable"),
    )


# 027 ------------------------------------------------------------------------------------
@case(
    "027-hotline-quoted-back",
    "Hotlines 1900 1592 and 1800 1592 quoted back by the customer; the customer's phone is an unlabelled mobile; name from From (lone closing line); missing channel (other)",
    E(
        name="Châu Ngọc Trâm",
        address=None,
        phone="+84856721043",
        email="chaungoctram@yahoo.com.vn",
        smartcard="310766502291",
        decoder=None,
        incident_date="2026-10-10",
        category="other",
    ),
)
def _027() -> bytes:
    text = T("""
Kính gửi K+,

Tôi gọi tổng đài 1900 1592 từ sáng đến giờ không ai nghe máy, gọi cả 1800 1592 cũng vậy. Đầu thu nhà tôi bị mất kênh K+ Sport 1 từ ngày 10/10/2026.

Nhờ K+ gọi lại cho tôi theo số 0856 721 043 trong giờ hành chính.
Số thẻ: 3107 6650 2291

Châu Ngọc Trâm
""")
    return message(
        date=when(10, 12, 15, 33, 9),
        from_=mailbox("Châu Ngọc Trâm", "chaungoctram@yahoo.com.vn"),
        subj=subject("Gọi tổng đài không được"),
        msgid=msgid("027", "yahoo"),
        body=text_part(text, cte="base64"),
    )


# 028 ------------------------------------------------------------------------------------
@case(
    "028-old-mobile-0126",
    "Old 11-digit mobile 01263 456 789 → 076; 'Tôi tên là …' prose name; fee (unwanted auto-renewal in MyK+); rural Đồng Tháp address",
    E(
        name="Quách Văn Đạt",
        address="Ấp Tân Lập, xã Tân Thành, huyện Lai Vung, tỉnh Đồng Tháp",
        phone="+84763456789",
        email="quachvandat79@gmail.com",
        smartcard="409033187762",
        decoder=None,
        incident_date="2026-10-19",
        category="fee",
    ),
)
def _028() -> bytes:
    text = T("""
Chào K+,

Tôi tên là Quách Văn Đạt. Ngày 19/10/2026 tài khoản MyK+ của tôi tự trừ 99.000đ gia hạn gói Lite dù tôi không bấm gia hạn.

SĐT: 01263 456 789
Số thẻ: 4090 3318 7762
Địa chỉ: Ấp Tân Lập, xã Tân Thành, huyện Lai Vung, tỉnh Đồng Tháp
""")
    return message(
        date=when(10, 20, 19, 48, 22),
        from_=mailbox(None, "quachvandat79@gmail.com"),
        subj=subject("Bị trừ tiền khi chưa gia hạn"),
        msgid=msgid("028", "gmail"),
        body=text_part(text, cte="8bit"),
    )


# 029 ------------------------------------------------------------------------------------
@case(
    "029-old-mobile-0199-signature",
    "Old 0199 mobile with dots in a 'Cảm ơn,' signature ('ĐTDĐ:') → 059; no date ('mấy hôm nay') → null; picture breaking up (other); no address",
    E(
        name="Tô Hoài Nam",
        address=None,
        phone="+84598881234",
        email="tohoainam.vp@gmail.com",
        smartcard="271828182845",
        decoder=None,
        incident_date=None,
        category="other",
    ),
)
def _029() -> bytes:
    text = T("""
Chào anh chị CSKH,

Mấy hôm nay kênh K+ Cine nhà tôi bị vỡ hình, giật liên tục, nhất là buổi tối. Các kênh VTV vẫn xem bình thường. Số thẻ giải mã: 2718 2818 2845.

Cảm ơn,
Tô Hoài Nam
ĐTDĐ: 0199.888.1234
""")
    return message(
        date=when(9, 17, 20, 30, 14),
        from_=mailbox("Tô Hoài Nam", "tohoainam.vp@gmail.com"),
        subj=subject("Kênh K+ Cine bị vỡ hình"),
        msgid=msgid("029", "gmail"),
        body=text_part(text, cte="8bit"),
    )


# 030 ------------------------------------------------------------------------------------
@case(
    "030-landline-028-staff",
    "TP.HCM landline '(028) 38212345' after 'Điện thoại nhà:'; complaint about call-centre staff behaviour (other); 14-digit card; address 'TP. Hồ Chí Minh' on Cách Mạng Tháng Tám street",
    E(
        name="Mạc Thị Ngọc Lan",
        address="128/4 Cách Mạng Tháng Tám, phường 10, quận 3, TP. Hồ Chí Minh",
        phone="+842838212345",
        email="ngoclan.mac@gmail.com",
        smartcard="11882299330044",
        decoder=None,
        incident_date="2026-10-15",
        category="other",
    ),
)
def _030() -> bytes:
    text = T("""
Kính gửi Ban Giám đốc K+,

Ngày 15/10/2026 tôi gọi lên tổng đài để hỏi về lỗi mất kênh thì nhân viên trả lời cộc lốc, cúp máy ngang khi tôi đang nói. Tôi rất bức xúc và mong K+ chấn chỉnh.

Họ tên: Mạc Thị Ngọc Lan
Số thẻ: 1188 2299 3300 44
Điện thoại nhà: (028) 38212345
Địa chỉ: 128/4 Cách Mạng Tháng Tám, phường 10, quận 3, TP. Hồ Chí Minh
""")
    return message(
        date=when(10, 16, 10, 5, 56),
        from_=mailbox("Mạc Thị Ngọc Lan", "ngoclan.mac@gmail.com"),
        subj=subject("Khiếu nại thái độ nhân viên tổng đài"),
        msgid=msgid("030", "gmail"),
        body=text_part(text, cte="quoted-printable"),
    )


# 031 ------------------------------------------------------------------------------------
@case(
    "031-landline-024-son-sends",
    "Hà Nội landline '024 3823 4567'; prose 'Tôi là ông …,' (honorific dropped); mail sent from the son's account (e-mail = sender's, name = the text's); decoder with letters after the digits",
    E(
        name="Đoàn Văn Thạch",
        address="Số 7 Hàng Bông, phường Hoàn Kiếm, Hà Nội",
        phone="+842438234567",
        email="doanminhtri@gmail.com",
        smartcard="302011445678",
        decoder="OTL-88412-HN",
        incident_date="2026-10-20",
        category="other",
    ),
)
def _031() -> bytes:
    text = T("""
Kính gửi K+,

Tôi là ông Đoàn Văn Thạch, 72 tuổi, dùng K+ đã 8 năm. Từ ngày 20/10/2026 đầu thu cứ tự khởi động lại sau vài phút xem.

Số đầu thu: OTL-88412-HN
Số thẻ giải mã: 3020 1144 5678
Điện thoại: 024 3823 4567
Địa chỉ: Số 7 Hàng Bông, phường Hoàn Kiếm, Hà Nội

Con trai tôi gửi thư hộ. Xin cảm ơn.
""")
    return message(
        date=when(10, 23, 17, 12, 3),
        from_=mailbox("Đoàn Minh Trí", "doanminhtri@gmail.com"),
        subj=subject("Đầu thu tự khởi động lại"),
        msgid=msgid("031", "gmail"),
        body=text_part(text, cte="8bit"),
    )


# 032 ------------------------------------------------------------------------------------
@case(
    "032-phone-card-same-line",
    "Card, phone and 'đ/c:' address on one line ('số thẻ: …, sđt: …, đ/c: …' — the address is the rest of the line); dd-mm-yyyy; name from the ASCII From display name; Bình Chánh (TP.HCM outskirts)",
    E(
        name="Vo Thanh Tung",
        address="14 đường số 7, KDC Vĩnh Lộc, xã Vĩnh Lộc A, huyện Bình Chánh, TP.HCM",
        phone="+84932468135",
        email="tungvo.bc@gmail.com",
        smartcard="701234567890",
        decoder=None,
        incident_date="2026-11-03",
        category="other",
    ),
)
def _032() -> bytes:
    text = T("""
Chào K+,
Nhà em mất sóng từ ngày 03-11-2026, em thử khởi động lại rồi mà không được. Thông tin: số thẻ: 7012 3456 7890, sđt: 0932 468 135, đ/c: 14 đường số 7, KDC Vĩnh Lộc, xã Vĩnh Lộc A, huyện Bình Chánh, TP.HCM
Em cảm ơn.
""")
    return message(
        date=when(11, 4, 6, 52, 38),
        from_=mailbox("Vo Thanh Tung", "tungvo.bc@gmail.com"),
        subj=subject("Mất sóng"),
        msgid=msgid("032", "gmail"),
        body=text_part(text, cte="8bit"),
    )


# 033 ------------------------------------------------------------------------------------
@case(
    "033-amount-next-to-card",
    "Amount '175.000đ' right after the card number; bank transaction code 'FT…' digits; 'thẻ ATM' is not the K+ card; 'Zalo:' phone label; fee (double charge)",
    E(
        name="Lưu Thị Hồng Nhung",
        address=None,
        phone="+84886224517",
        email="hongnhung.luu@yahoo.com.vn",
        smartcard="902144556017",
        decoder=None,
        incident_date="2026-11-01",
        category="fee",
    ),
)
def _033() -> bytes:
    text = T("""
Kính gửi K+,

Số thẻ 9021 4455 6017, bị trừ 175.000đ hai lần ngày 01/11/2026 khi tôi gia hạn qua thẻ ATM Vietcombank. Mã giao dịch: FT26305829174561.

Đề nghị hoàn lại 175.000đ.

Họ tên: Lưu Thị Hồng Nhung
Zalo: 0886 224 517
""")
    return message(
        date=when(11, 2, 11, 20, 0),
        from_=mailbox("Lưu Hồng Nhung", "hongnhung.luu@yahoo.com.vn"),
        subj=subject("Trừ tiền 2 lần"),
        msgid=msgid("033", "yahoo"),
        body=text_part(text, cte="quoted-printable"),
    )


# 034 ------------------------------------------------------------------------------------
@case(
    "034-model-and-serial",
    "'đầu thu model ODS1400NA, số serial 0123ABC4567' (serial is the decoder, model is not); card grouped by dashes; card-not-recognised fault (other); rural Nam Định",
    E(
        name="Hà Thị Yến",
        address="Thôn Trung, xã Yên Trung, huyện Ý Yên, tỉnh Nam Định",
        phone="+84977215680",
        email="hathiyen.nd@gmail.com",
        smartcard="556677889900",
        decoder="0123ABC4567",
        incident_date="2026-10-30",
        category="other",
    ),
)
def _034() -> bytes:
    text = T("""
Chào K+,

Tôi dùng đầu thu model ODS1400NA, số serial 0123ABC4567. Từ ngày 30/10/2026 đầu thu không nhận thẻ, báo "Vui lòng cắm thẻ".

Số thẻ: 5566-7788-9900
Họ và tên: Hà Thị Yến
SĐT: 0977 215 680
Địa chỉ: Thôn Trung, xã Yên Trung, huyện Ý Yên, tỉnh Nam Định
""")
    return message(
        date=when(11, 1, 16, 40, 26),
        from_=mailbox("Hà Yến", "hathiyen.nd@gmail.com"),
        subj=subject("Đầu thu không nhận thẻ"),
        msgid=msgid("034", "gmail"),
        body=text_part(text, cte="base64"),
    )


# 035 ------------------------------------------------------------------------------------
@case(
    "035-model-only-no-serial",
    "Only a decoder MODEL is given ('đầu thu Opentel-ODS1400NA') → decoder null; 'Ngày 5 tháng 11 năm 2026'; warranty question (other); Điện Biên",
    E(
        name="Lò Văn Sướng",
        address="Bản Noong Bua, phường Điện Biên Phủ, tỉnh Điện Biên",
        phone="+84384909117",
        email="lovansuong.db@gmail.com",
        smartcard="220066771133",
        decoder=None,
        incident_date="2026-11-05",
        category="other",
    ),
)
def _035() -> bytes:
    text = T("""
Kính gửi K+,

Tôi dùng đầu thu Opentel-ODS1400NA. Ngày 5 tháng 11 năm 2026 đầu thu bị cháy nguồn sau khi cúp điện. Tôi muốn hỏi đầu thu còn bảo hành không và thủ tục đổi như thế nào.

Họ tên: Lò Văn Sướng
Địa chỉ: Bản Noong Bua, phường Điện Biên Phủ, tỉnh Điện Biên
SĐT: 0384 909 117
Số thẻ: 2200 6677 1133
""")
    return message(
        date=when(11, 6, 8, 14, 50),
        from_=mailbox("Lò Văn Sướng", "lovansuong.db@gmail.com"),
        subj=subject("Đầu thu cháy nguồn, hỏi bảo hành"),
        msgid=msgid("035", "gmail"),
        body=text_part(text, cte="8bit"),
    )


# 036 ------------------------------------------------------------------------------------
@case(
    "036-other-email-stated",
    "Customer states another e-mail ('Email liên hệ: Hoa.Pham.1990@Outlook.com', mixed case) than the company sender address; fee (unsubscribed package billed, 'hóa đơn ngày')",
    E(
        name="Phạm Thị Hoa",
        address=None,
        phone="+84868552190",
        email="hoa.pham.1990@outlook.com",
        smartcard="661020458833",
        decoder=None,
        incident_date="2026-10-12",
        category="fee",
    ),
)
def _036() -> bytes:
    text = T("""
Chào K+,

Tôi muốn khiếu nại việc bị tính phí gói K+ Sport Plus từ hóa đơn ngày 12/10/2026 mà tôi không hề đăng ký.
Chủ thuê bao: Phạm Thị Hoa
Số thẻ giải mã: 6610 2045 8833
Số điện thoại: 0868 552 190
Email liên hệ: Hoa.Pham.1990@Outlook.com (xin phản hồi qua email này, email công ty tôi không đọc thường xuyên)
""")
    return message(
        date=when(10, 14, 15, 50, 11),
        from_=mailbox("Phạm Thị Hoa", "hoa.pham@tanphat-logistics.vn"),
        subj=subject("Khiếu nại tính phí gói không đăng ký"),
        msgid=msgid("036", "tanphat-logistics.vn"),
        body=text_part(text, cte="quoted-printable"),
    )


# 037 ------------------------------------------------------------------------------------
@case(
    "037-kplus-addresses-in-prose",
    "K+'s own addresses (cskh@kplus.example, hotro@kplus.vn) in the text are not the customer's e-mail → sender's address; 'Thẻ K+:' label; missing channel (other)",
    E(
        name="Cao Minh Trí",
        address=None,
        phone="+84915404272",
        email="caominhtri@gmail.com",
        smartcard="889900112233",
        decoder=None,
        incident_date="2026-10-01",
        category="other",
    ),
)
def _037() -> bytes:
    text = T("""
Kính gửi K+,

Kênh K+ Life nhà tôi bị mất từ ngày 01/10/2026. Tôi đã gửi thư đến cskh@kplus.example và hotro@kplus.vn nhưng chưa nhận được trả lời.
Họ tên: Cao Minh Trí
SĐT: 0915 404 272
Thẻ K+: 8899 0011 2233
""")
    return message(
        date=when(10, 13, 9, 27, 44),
        from_=mailbox("Cao Minh Trí", "caominhtri@gmail.com"),
        subj=subject("Lần 3: mất kênh K+ Life"),
        msgid=msgid("037", "gmail"),
        body=text_part(text, cte="8bit"),
    )


# 038 ------------------------------------------------------------------------------------
@case(
    "038-ngay-thang-nam-prose-address",
    "'vào ngày 5 tháng 10 năm 2026' payment date; prose address 'Địa chỉ nhà tôi là … .' ending at the sentence, with card and Cần Thơ landline '0292 3 861 204' in the same paragraph; fee",
    E(
        name="Trương Văn Lợi",
        address="ấp Thới Hòa, xã Thới Lai, huyện Thới Lai, TP Cần Thơ",
        phone="+842923861204",
        email="truongvanloi.ct@gmail.com",
        smartcard="714022589936",
        decoder=None,
        incident_date="2026-10-05",
        category="fee",
    ),
)
def _038() -> bytes:
    text = T("""
Kính gửi K+,

Tôi thanh toán cước 6 tháng vào ngày 5 tháng 10 năm 2026 tại cửa hàng K+ Ninh Kiều nhưng nhân viên chỉ gia hạn cho tôi 3 tháng. Biên lai tôi vẫn giữ.

Địa chỉ nhà tôi là ấp Thới Hòa, xã Thới Lai, huyện Thới Lai, TP Cần Thơ. Số thẻ của tôi: 7140 2258 9936. Điện thoại: 0292 3 861 204.

Trân trọng,
Trương Văn Lợi
""")
    return message(
        date=when(10, 9, 10, 10, 10),
        from_=mailbox("Truong Van Loi", "truongvanloi.ct@gmail.com"),
        subj=subject("Gia hạn thiếu tháng"),
        msgid=msgid("038", "gmail"),
        body=text_part(text, cte="8bit"),
    )


# 039 ------------------------------------------------------------------------------------
@case(
    "039-date-without-year",
    "'Từ ngày 05/10' without a year → the year of the Date header (2026); address on 'đường 3 Tháng 2'; 'Tên:' and 'Mã đầu thu:' labels; invalid-card fault (other)",
    E(
        name="Kiều Thị Phương",
        address="56 đường 3 Tháng 2, phường Hưng Lợi, quận Ninh Kiều, TP Cần Thơ",
        phone="+84822604317",
        email="kieuphuong.ct@yahoo.com.vn",
        smartcard="334400217789",
        decoder="KPH2023081176",
        incident_date="2026-10-05",
        category="other",
    ),
)
def _039() -> bytes:
    text = T("""
Chào K+,
Từ ngày 05/10 đến nay nhà tôi không xem được kênh nào, đầu thu báo "Thẻ không hợp lệ". Tôi đã rút thẻ ra lau và cắm lại nhưng vẫn vậy.
Tên: Kiều Thị Phương
Số thẻ: 3344-0021-7789
Mã đầu thu: KPH2023081176
Số điện thoại: 0822 604 317
Địa chỉ: 56 đường 3 Tháng 2, phường Hưng Lợi, quận Ninh Kiều, TP Cần Thơ
""")
    return message(
        date=when(10, 7, 19, 22, 15),
        from_=mailbox("Kiều Phương", "kieuphuong.ct@yahoo.com.vn"),
        subj=subject("Thẻ không hợp lệ"),
        msgid=msgid("039", "yahoo"),
        body=text_part(text, cte="quoted-printable"),
    )


# 040 ------------------------------------------------------------------------------------
@case(
    "040-several-dates-payment-wins",
    "Three dates: contract 15/03/2024 (earliest), 'thanh toán ngày 02/11/2026' (wins), expiry 01/05/2027 (future); amount 1.980.000đ; fee; Biên Hòa",
    E(
        name="Đặng Hữu Phước",
        address="34 Phạm Văn Thuận, phường Tam Hiệp, TP Biên Hòa, Đồng Nai",
        phone="+84939120884",
        email="danghuuphuoc@outlook.com",
        smartcard="800633124590",
        decoder=None,
        incident_date="2026-11-02",
        category="fee",
    ),
)
def _040() -> bytes:
    text = T("""
Kính gửi K+,

Tôi ký hợp đồng thuê bao K+ ngày 15/03/2024 tại đại lý ở Biên Hòa. Tôi thanh toán ngày 02/11/2026 gói 12 tháng số tiền 1.980.000đ nhưng hệ thống chỉ cộng 6 tháng, hạn sử dụng hiển thị đến 01/05/2027.

Họ tên: Đặng Hữu Phước
Số thẻ giải mã: 8006 3312 4590
Số điện thoại: 0939 120 884
Địa chỉ: 34 Phạm Văn Thuận, phường Tam Hiệp, TP Biên Hòa, Đồng Nai
""")
    return message(
        date=when(11, 4, 14, 2, 33),
        from_=mailbox("Đặng Hữu Phước", "danghuuphuoc@outlook.com"),
        subj=subject("Thanh toán 12 tháng chỉ được cộng 6 tháng"),
        msgid=msgid("040", "outlook"),
        body=text_part(text, cte="8bit"),
    )


# 041 ------------------------------------------------------------------------------------
@case(
    "041-missing-fields-from-name",
    "Most fields missing: no name in text (From display name, Q-encoded, is used), no phone, address, decoder or date; card after 'Số thẻ của tôi là'; question about replacing a hanging decoder (other)",
    E(
        name="Thái Bảo Ngọc",
        address=None,
        phone=None,
        email="baongoc.thai@gmail.com",
        smartcard="120044997610",
        decoder=None,
        incident_date=None,
        category="other",
    ),
)
def _041() -> bytes:
    text = T("""
Chào K+,

Đầu thu của tôi hay bị treo, bấm điều khiển không ăn. Cho tôi hỏi muốn đổi đầu thu mới thì làm thế nào? Số thẻ của tôi là 1200 4499 7610.

Cảm ơn.
""")
    return message(
        date=when(9, 24, 21, 45, 7),
        from_=mailbox("Thái Bảo Ngọc", "baongoc.thai@gmail.com", "utf-8", "Q"),
        subj=subject("Hỏi về việc đổi đầu thu"),
        msgid=msgid("041", "gmail"),
        body=text_part(text, cte="8bit"),
    )


# 042 ------------------------------------------------------------------------------------
@case(
    "042-very-short-ascii",
    "Very short one-line ASCII mail; From without display name → name null; card after bare 'the' (shape only); 'sdt' phone; 'tu sang' is no date",
    E(
        name=None,
        address=None,
        phone="+84977001122",
        email="ductrung1990@gmail.com",
        smartcard="1029384756",
        decoder=None,
        incident_date=None,
        category="other",
    ),
)
def _042() -> bytes:
    text = "K+ nha minh mat song tu sang, the 1029384756 sdt 0977001122\n"
    return message(
        date=when(11, 10, 7, 3, 19),
        from_=mailbox(None, "ductrung1990@gmail.com"),
        subj="mat song",
        msgid=msgid("042", "gmail"),
        body=text_part(text, charset="us-ascii", cte="7bit"),
    )


# 043 ------------------------------------------------------------------------------------
@case(
    "043-long-rambling",
    "Long rambling fee complaint (charged three times); 'Tôi là khách hàng …' is not a name (the label is); dates 28/10 (renewal) and 03/11 (statement read) → renewal date; hotline in prose; many amounts; 13-digit card; decoder with a dash",
    E(
        name="Nguyễn Thị Kim Cúc",
        address="9/2 Nguyễn Thị Minh Khai, phường Bến Nghé, quận 1, TP.HCM",
        phone="+84903765118",
        email="kimcuc.nguyen56@gmail.com",
        smartcard="4400127633901",
        decoder="DTH1507-22934",
        incident_date="2026-10-28",
        category="fee",
    ),
)
def _043() -> bytes:
    text = T("""
Kính gửi quý công ty K+,

Tôi là khách hàng đã sử dụng K+ từ năm 2015, hồi đó còn phải lắp chảo to, mấy lần chuyển nhà tôi đều mang theo vì cả nhà rất thích xem bóng đá, nhất là Ngoại hạng Anh. Ông nhà tôi thì mê phim trên K+ Cine, còn hai đứa cháu nội cuối tuần sang chơi là đòi xem K+ Kids. Nói chung là gia đình tôi gắn bó với K+ lâu rồi nên tôi rất buồn khi phải viết thư này.

Chuyện là thế này. Tháng trước con trai tôi cài giúp ứng dụng MyK+ trên điện thoại để tôi tự gia hạn cho tiện, khỏi phải ra cửa hàng. Ngày 28/10/2026 tôi gia hạn gói Premium 175.000đ bằng thẻ ngân hàng, ứng dụng báo thành công. Đến ngày 03/11/2026 tôi xem sao kê thì thấy ngân hàng trừ tiền ba lần, mỗi lần 175.000đ, tổng cộng 525.000đ. Tôi có gọi lên tổng đài 1900 1592 mấy lần, lần thì chờ lâu quá tôi bỏ, lần thì bạn nhân viên bảo để ghi nhận rồi báo lại, nhưng đến hôm nay đã hơn một tuần vẫn chưa thấy ai gọi.

Tôi tuổi đã cao, không rành mấy chuyện công nghệ, nên mong K+ kiểm tra kỹ giúp tôi và hoàn lại 350.000đ bị trừ thừa. Nếu cần giấy tờ gì thì cứ gọi cho tôi hoặc con trai tôi.

Thông tin của tôi:
Họ và tên: Nguyễn Thị Kim Cúc
Địa chỉ: 9/2 Nguyễn Thị Minh Khai, phường Bến Nghé, quận 1, TP.HCM
Số điện thoại: 0903 765 118
Số thẻ giải mã: 4400 1276 3390 1
Số đầu thu: DTH1507-22934

Một lần nữa cảm ơn K+ đã đọc thư của tôi. Chúc K+ ngày càng phát triển.

Trân trọng,
Nguyễn Thị Kim Cúc
""")
    return message(
        date=when(11, 10, 22, 17, 48),
        from_=mailbox("Nguyễn Thị Kim Cúc", "kimcuc.nguyen56@gmail.com"),
        subj=subject("Thư khiếu nại về việc bị trừ tiền gia hạn ba lần"),
        msgid=msgid("043", "gmail"),
        body=text_part(text, cte="quoted-printable"),
    )


# 044 ------------------------------------------------------------------------------------
@case(
    "044-from-name-fallback-prose-address",
    "No name in the text → ASCII From display name 'Minh Tuan Nguyen'; address by prose 'Tôi ở …' running to the end of the line (contains 'TP.HCM'); 089 mobile; missing VTV channels (other)",
    E(
        name="Minh Tuan Nguyen",
        address="chung cư Ehome 3, đường Hồ Học Lãm, phường An Lạc, TP.HCM",
        phone="+84899401726",
        email="tuan.nguyen.minh@outlook.com",
        smartcard="602088147735",
        decoder=None,
        incident_date="2026-11-09",
        category="other",
    ),
)
def _044() -> bytes:
    text = T("""
Chào K+,

Nhà tôi bị mất kênh VTV1, VTV3 trên đầu thu K+ từ ngày 09/11/2026. Các kênh K+ vẫn xem được bình thường.
Số thẻ: 6020 8814 7735
SĐT: 0899 401 726
Tôi ở chung cư Ehome 3, đường Hồ Học Lãm, phường An Lạc, TP.HCM
""")
    return message(
        date=when(11, 11, 18, 0, 5),
        from_=mailbox("Minh Tuan Nguyen", "tuan.nguyen.minh@outlook.com"),
        subj=subject("Mất kênh VTV"),
        msgid=msgid("044", "outlook"),
        body=text_part(text, cte="8bit"),
    )


# 045 ------------------------------------------------------------------------------------
@case(
    "045-no-name-invoice",
    "No name anywhere (From has no display name); unlabelled Hà Nội landline after 'Liên hệ:'; 'tên công ty' is not a name label; fee (invoice correction, 'hóa đơn ngày')",
    E(
        name=None,
        address=None,
        phone="+842439361188",
        email="kt.thanhdat@vnn.vn",
        smartcard="145033618827",
        decoder=None,
        incident_date="2026-09-30",
        category="fee",
    ),
)
def _045() -> bytes:
    text = T("""
Kính gửi K+,

Tôi đề nghị K+ xuất hóa đơn điều chỉnh cho kỳ cước tháng 9, hóa đơn ngày 30/09/2026 ghi sai tên công ty.
Số thẻ: 1450 3361 8827
Liên hệ: 024 3936 1188
""")
    return message(
        date=when(10, 5, 8, 30, 0),
        from_=mailbox(None, "kt.thanhdat@vnn.vn"),
        subj=subject("Đề nghị điều chỉnh hóa đơn"),
        msgid=msgid("045", "vnn.vn"),
        body=text_part(text, cte="8bit"),
    )


# 046 ------------------------------------------------------------------------------------
@case(
    "046-khach-hang-label-ba",
    "'Khách hàng: Bà …' (honorific dropped); labels before the story; Đồng Nai landline '0251 3 991 245'; technician no-show (other)",
    E(
        name="Trương Thị Lệ",
        address="Tổ 5, khu phố Long Bình, phường Long Bình, TP Biên Hòa, Đồng Nai",
        phone="+842513991245",
        email="truongthile62@yahoo.com",
        smartcard="300122233344",
        decoder="KD-7782-1029",
        incident_date="2026-10-22",
        category="other",
    ),
)
def _046() -> bytes:
    text = T("""
Kính gửi K+,

Khách hàng: Bà Trương Thị Lệ
Địa chỉ lắp đặt: Tổ 5, khu phố Long Bình, phường Long Bình, TP Biên Hòa, Đồng Nai
Số điện thoại: 0251 3 991 245
Số thẻ giải mã: 3001 2223 3344
Số đầu thu: KD-7782-1029

Nội dung: Nhân viên lắp đặt hẹn đến sửa đầu thu vào ngày 22/10/2026 nhưng không đến, cũng không gọi báo. Tôi đã nghỉ làm cả ngày để chờ.
""")
    return message(
        date=when(10, 23, 12, 45, 17),
        from_=mailbox(None, "truongthile62@yahoo.com"),
        subj=subject("Nhân viên hẹn sửa nhưng không đến"),
        msgid=msgid("046", "yahoo"),
        body=text_part(text, cte="base64"),
    )


# 047 ------------------------------------------------------------------------------------
@case(
    "047-em-ten-la",
    "Prose 'Em tên là …,'; 'nhà em ở Quảng Ngãi' is not an address (the label is); date in parentheses; 'Sđt:' label; all channels lost (other)",
    E(
        name="Ngô Thị Bích Ngọc",
        address="Thôn Phú Lộc, xã Tịnh Hà, huyện Sơn Tịnh, tỉnh Quảng Ngãi",
        phone="+84355217903",
        email="bichngoc.ngo2001@gmail.com",
        smartcard="661209834471",
        decoder=None,
        incident_date="2026-10-27",
        category="other",
    ),
)
def _047() -> bytes:
    text = T("""
Dạ em chào anh chị,

Em tên là Ngô Thị Bích Ngọc, nhà em ở Quảng Ngãi. Hôm qua (ngày 27/10/2026) đầu thu nhà em tự nhiên mất hết kênh, chỉ còn màn hình xanh ạ.
Số thẻ giải mã: 6612 0983 4471
Sđt: 0355 217 903
Địa chỉ: Thôn Phú Lộc, xã Tịnh Hà, huyện Sơn Tịnh, tỉnh Quảng Ngãi

Em cảm ơn ạ.
""")
    return message(
        date=when(10, 28, 20, 20, 20),
        from_=mailbox("Bích Ngọc", "bichngoc.ngo2001@gmail.com"),
        subj=subject("Đầu thu mất hết kênh"),
        msgid=msgid("047", "gmail"),
        body=text_part(text, cte="8bit"),
    )


# 048 ------------------------------------------------------------------------------------
@case(
    "048-cuoc-goi-is-not-cuoc",
    "Category trap: 'cuộc gọi' / '10 cuộc' (phone calls) fold to 'cuoc' but this is an E48 signal complaint → other; Sóc Trăng",
    E(
        name="Kim Văn Sơn",
        address="Số 3 Nguyễn Trãi, phường 2, TP Sóc Trăng, tỉnh Sóc Trăng",
        phone="+84367118425",
        email="kimvanson.st@gmail.com",
        smartcard="250077190384",
        decoder=None,
        incident_date="2026-10-16",
        category="other",
    ),
)
def _048() -> bytes:
    text = T("""
Kính gửi K+,

Tôi đã gọi hơn 10 cuộc lên tổng đài trong hai ngày nhưng không ai bắt máy. Đầu thu nhà tôi báo lỗi E48 từ ngày 16/10/2026, cuộc gọi nào cũng chỉ nghe nhạc chờ rồi tự ngắt.

Họ tên: Kim Văn Sơn
Địa chỉ: Số 3 Nguyễn Trãi, phường 2, TP Sóc Trăng, tỉnh Sóc Trăng
SĐT: 0367 118 425
Số thẻ: 2500 7719 0384
""")
    return message(
        date=when(10, 18, 10, 15, 42),
        from_=mailbox("Kim Văn Sơn", "kimvanson.st@gmail.com"),
        subj=subject("Gọi tổng đài không được, đầu thu lỗi E48"),
        msgid=msgid("048", "gmail"),
        body=text_part(text, cte="8bit"),
    )


# 049 ------------------------------------------------------------------------------------
@case(
    "049-dong-cuoc-but-signal-loss",
    "Category judgement: 'vẫn đóng cước đầy đủ' is context, the complaint is signal loss → other; Ê Đê name 'Y Bhin Niê'; buôn/xã address in Đắk Lắk",
    E(
        name="Y Bhin Niê",
        address="Buôn Ko Tam, xã Ea Tu, TP Buôn Ma Thuột, tỉnh Đắk Lắk",
        phone="+84905778231",
        email="ybhin.nie@gmail.com",
        smartcard="177633409925",
        decoder=None,
        incident_date="2026-11-01",
        category="other",
    ),
)
def _049() -> bytes:
    text = T("""
Chào K+,

Tôi vẫn đóng cước đầy đủ hàng tháng mà từ ngày 01/11/2026 đến nay đầu thu mất sóng liên tục, mỗi ngày chỉ xem được vài tiếng. Đề nghị K+ cử kỹ thuật xuống kiểm tra chảo và đầu thu.

Họ tên: Y Bhin Niê
Địa chỉ: Buôn Ko Tam, xã Ea Tu, TP Buôn Ma Thuột, tỉnh Đắk Lắk
SĐT: 0905 778 231
Số thẻ: 1776 3340 9925
""")
    return message(
        date=when(11, 5, 19, 40, 2),
        from_=mailbox("Y Bhin Niê", "ybhin.nie@gmail.com"),
        subj=subject("Mất sóng liên tục"),
        msgid=msgid("049", "gmail"),
        body=text_part(text, cte="8bit"),
    )


# 050 ------------------------------------------------------------------------------------
@case(
    "050-ascii-fee-plus84-zero",
    "ASCII without diacritics, fee ('tinh phi', 'cuoc', 'hoa don ngay 1/11/2026'); '+84 (0) 965 443 280'; labels 'Ho va ten', 'So the', 'Dien thoai', 'Dia chi'; Thanh Hóa",
    E(
        name="Lai Van Quyet",
        address="so 21 ngo 8 duong Tran Phu, phuong Ba Dinh, TP Thanh Hoa, Thanh Hoa",
        phone="+84965443280",
        email="quyetlv.th@gmail.com",
        smartcard="930012745518",
        decoder=None,
        incident_date="2026-11-01",
        category="fee",
    ),
)
def _050() -> bytes:
    text = T("""
Chao CSKH K+,

Thang nay toi bi tinh phi 2 lan cho goi K+ Premium, hoa don ngay 1/11/2026 ghi 350.000d thay vi 175.000d. Nho K+ kiem tra lai cuoc giup toi.

Ho va ten: Lai Van Quyet
So the: 9300 1274 5518
Dien thoai: +84 (0) 965 443 280
Dia chi: so 21 ngo 8 duong Tran Phu, phuong Ba Dinh, TP Thanh Hoa, Thanh Hoa

Cam on.
""")
    return message(
        date=when(11, 5, 9, 9, 9),
        from_=mailbox("Quyet Lai", "quyetlv.th@gmail.com"),
        subj="Khieu nai tinh phi 2 lan",
        msgid=msgid("050", "gmail"),
        body=text_part(text, charset="us-ascii", cte="7bit"),
    )


# 051 ------------------------------------------------------------------------------------
@case(
    "051-all-caps-crlf",
    "CRLF line endings throughout; ALL-CAPS labels and values (name and address kept in their original case); 'NỘI DUNG:' line with 'TỪ NGÀY'; Vĩnh Long",
    E(
        name="NGUYỄN THỊ LAN",
        address="72 TRẦN PHÚ, PHƯỜNG 4, TP VĨNH LONG, TỈNH VĨNH LONG",
        phone="+84917336452",
        email="nguyenthilan1958@yahoo.com.vn",
        smartcard="881123450076",
        decoder=None,
        incident_date="2026-10-13",
        category="other",
    ),
)
def _051() -> bytes:
    text = T("""
Kính gửi K+

HỌ TÊN: NGUYỄN THỊ LAN
ĐỊA CHỈ: 72 TRẦN PHÚ, PHƯỜNG 4, TP VĨNH LONG, TỈNH VĨNH LONG
SĐT: 0917 336 452
SỐ THẺ: 8811 2345 0076
NỘI DUNG: ĐẦU THU BÁO LỖI E48 TỪ NGÀY 13/10/2026, ĐÃ KHỞI ĐỘNG LẠI NHƯNG KHÔNG ĐƯỢC.
""")
    return message(
        date=when(10, 15, 7, 30, 41),
        from_=mailbox(None, "nguyenthilan1958@yahoo.com.vn"),
        subj=subject("KHIẾU NẠI ĐẦU THU"),
        msgid=msgid("051", "yahoo"),
        body=text_part(text, cte="quoted-printable"),
        crlf=True,
    )


# 052 ------------------------------------------------------------------------------------
@case(
    "052-sn-lowercase-set-top-box",
    "'SN:' decoder in lower case; '(set-top box)' mention without a value; boot-loop fault (other); Phú Thọ",
    E(
        name="Phùng Thị Minh Nguyệt",
        address="Số 15 đường Hùng Vương, phường Tân Dân, TP Việt Trì, tỉnh Phú Thọ",
        phone="+84943206771",
        email="minhnguyet.pt@gmail.com",
        smartcard="401788236650",
        decoder="KP2206B118840",
        incident_date="2026-11-08",
        category="other",
    ),
)
def _052() -> bytes:
    text = T("""
Chào K+,

Đầu thu (set-top box) nhà tôi bị treo logo K+ khi khởi động từ ngày 08/11/2026, rút điện cắm lại vẫn vậy.
SN: kp2206b118840
Số thẻ: 4017 8823 6650
Họ tên: Phùng Thị Minh Nguyệt
Số điện thoại: 0943 206 771
Địa chỉ: Số 15 đường Hùng Vương, phường Tân Dân, TP Việt Trì, tỉnh Phú Thọ
""")
    return message(
        date=when(11, 10, 10, 48, 0),
        from_=mailbox("Minh Nguyệt", "minhnguyet.pt@gmail.com"),
        subj=subject("Đầu thu treo logo"),
        msgid=msgid("052", "gmail"),
        body=text_part(text, cte="8bit"),
    )


# 053 ------------------------------------------------------------------------------------
@case(
    "053-outlook-html-only-company",
    "Outlook HTML-only (UTF-8 base64) from a company; name, title, 'Mobile:' and 'Địa chỉ:' in the signature after 'Trân trọng,'; card after 'có số thẻ'; fee (billed for a cancelled subscriber)",
    E(
        name="Lương Thế Hiển",
        address="Tầng 5, tòa nhà 68 Nguyễn Huệ, phường Sài Gòn, TP.HCM",
        phone="+84912606384",
        email="hien.lt@hoangphat-trading.vn",
        smartcard="665011234478",
        decoder=None,
        incident_date="2026-10-08",
        category="fee",
    ),
)
def _053() -> bytes:
    page = T("""
<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns="http://www.w3.org/TR/REC-html40">
<head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<style><!--
p.MsoNormal {margin:0in; font-size:11.0pt; font-family:"Calibri",sans-serif;}
--></style></head>
<body lang="EN-US" style="word-wrap:break-word">
<div class="WordSection1">
<p class="MsoNormal">Kính gửi K+,<o:p></o:p></p>
<p class="MsoNormal"><o:p>&nbsp;</o:p></p>
<p class="MsoNormal">Công ty tôi đăng ký 3 thuê bao K+ cho văn phòng. Hóa đơn ngày 08/10/2026 tính phí cả thuê bao có số thẻ 6650 1123 4478 đã cắt từ tháng 8. Đề nghị K+ hoàn tiền tháng 10 cho thuê bao này.<o:p></o:p></p>
<p class="MsoNormal"><o:p>&nbsp;</o:p></p>
<p class="MsoNormal">Trân trọng,<o:p></o:p></p>
<p class="MsoNormal"><b><span style="font-size:10.0pt;color:#2F5496">Lương Thế Hiển</span></b><o:p></o:p></p>
<p class="MsoNormal"><span style="font-size:10.0pt;color:#595959">Trưởng phòng Hành chính<o:p></o:p></span></p>
<p class="MsoNormal"><span style="font-size:10.0pt;color:#595959">Công ty TNHH Thương mại Hoàng Phát<o:p></o:p></span></p>
<p class="MsoNormal"><span style="font-size:10.0pt;color:#595959">Mobile: 0912 606 384<o:p></o:p></span></p>
<p class="MsoNormal"><span style="font-size:10.0pt;color:#595959">Địa chỉ: Tầng 5, tòa nhà 68 Nguyễn Huệ, phường Sài Gòn, TP.HCM<o:p></o:p></span></p>
</div>
</body>
</html>
""")
    return message(
        date=when(10, 12, 16, 25, 37),
        from_=mailbox("Lương Thế Hiển", "hien.lt@hoangphat-trading.vn"),
        subj=subject("Đề nghị hoàn tiền thuê bao đã cắt"),
        msgid=msgid("053", "outlook"),
        body=text_part(page, subtype="html", cte="base64"),
        extra=("X-Mailer: Microsoft Outlook 16.0",),
    )


# 054 ------------------------------------------------------------------------------------
@case(
    "054-cp1258-base64-from-name",
    "windows-1258 base64 body; name only in the windows-1258 Q-encoded From display name; 'từ ngày' cancellation date is the only date; 'Số thẻ cũ:'; fee (charged after cancelling)",
    E(
        name="Lã Thị Thu Huyền",
        address=None,
        phone="+84392515660",
        email="thuhuyen.la@vnn.vn",
        smartcard="390022174486",
        decoder=None,
        incident_date="2026-09-30",
        category="fee",
    ),
)
def _054() -> bytes:
    text = T("""
Chào K+,

Tôi đã hủy dịch vụ từ ngày 30/09/2026 và trả lại đầu thu tại cửa hàng, nhưng tháng 10 vẫn bị trừ tiền thuê bao 175.000đ từ tài khoản liên kết. Đề nghị K+ hoàn tiền.

Số thẻ cũ: 3900 2217 4486
SĐT: 0392 515 660
""")
    return message(
        date=when(10, 20, 13, 13, 13),
        from_=mailbox("Lã Thị Thu Huyền", "thuhuyen.la@vnn.vn", "windows-1258", "Q"),
        subj=ew("Đã hủy dịch vụ vẫn bị trừ tiền", "windows-1258", "Q"),
        msgid=msgid("054", "vnn.vn"),
        body=text_part(text, charset="windows-1258", cte="base64"),
        extra=("X-Mailer: Microsoft Outlook Express 6.00.2900.5931",),
    )


# 055-093: the miss classes of issue 14 (tests/corpus/_cases_classes.py).
import sys  # noqa: E402

sys.path.insert(0, str(HERE))
import _cases_classes  # noqa: E402

_cases_classes.register(sys.modules[__name__])
# 094-122: replies and forwards as the clients write them, and more of the same classes.
import _cases_threads  # noqa: E402

_cases_threads.register(sys.modules[__name__])


# --------------------------------------------------------------------------- output


def _check(raw: bytes, slug: str) -> None:
    """Guard the generator: every file parses as MIME without defects."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    for part in msg.walk():
        if part.defects:
            raise AssertionError(f"{slug}: MIME defects {part.defects}")
    for header in ("Date", "From", "To", "Subject", "Message-ID", "MIME-Version", "Content-Type"):
        if msg[header] is None:
            raise AssertionError(f"{slug}: missing {header}")


def main() -> None:
    slugs = [c.slug for c in CASES]
    if len(set(slugs)) != len(slugs):
        raise SystemExit("duplicate case slug")
    for stale in list(HERE.glob("*.eml")) + list(HERE.glob("*.json")):
        if stale.stem not in slugs:
            stale.unlink()
    msgids: set[str] = set()
    lines = [
        "# Golden corpus for `mailproc extract FILE.eml --json`",
        "",
        "Each `NNN-name.eml` is a complaint to K+; `NNN-name.json` is what a careful K+ agent",
        "extracts from it by reading it, following the extraction contract. Generated by",
        "`python tests/corpus/_make_corpus.py` (the expected values are written by hand in that",
        "script, next to each mail); checked by `tests/test_corpus.py`. Every bug found adds a pair.",
        "",
        "| file | covers |",
        "|---|---|",
    ]
    for c in CASES:
        if tuple(c.expected) != KEYS:
            raise SystemExit(f"{c.slug}: expected keys {tuple(c.expected)}")
        raw = c.build()
        _check(raw, c.slug)
        mid = BytesParser(policy=policy.default).parsebytes(raw)["Message-ID"]
        if mid in msgids:
            raise SystemExit(f"{c.slug}: duplicate Message-ID")
        msgids.add(mid)
        (HERE / f"{c.slug}.eml").write_bytes(raw)
        (HERE / f"{c.slug}.json").write_text(
            json.dumps(c.expected, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        lines.append(f"| `{c.slug}` | {c.covers} |")
    (HERE / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(CASES)} pairs to {HERE}")


if __name__ == "__main__":
    main()
