"""Benchmark ingestion: fetch-and-parse alone versus ``mailproc poll --once``, in the same run.

One command, run from the project root with the project's venv::

    .venv/bin/python bench/ingest.py [--n 5000] [--sizes 1000,5000,20000] [--db sqlite|URL]
                                     [--repeat 1] [--seed 1] [--profile PATH] [--keep]

It starts its own MailStack (a real Dovecot on loopback) in a temp dir, generates varied,
deterministic Vietnamese complaint e-mails (UTF-8 quoted-printable and base64, Gmail-style
multipart/alternative, HTML only, Outlook windows-1258 with decomposed tone marks, small
attachments, replies quoting an earlier complaint; 2-20 KB) and loads them with IMAP
MULTIAPPEND (not timed). For each size it then measures, each phase in its own subprocess so
that each has its own peak memory: the larger of its peak RSS (``os.wait4``) and the peak
summed PSS of its whole process tree (``poll --once`` analyses big batches in worker
processes; PSS counts their shared pages once), sampled while it runs (RSS every 20 ms, PSS
every 100 ms and after each 2 MB of RSS growth; see ``_LAUNCHER``):

* baseline, in mailbox A: stock imap-tools ``fetch(mark_seen=False, bulk=100)`` plus
  ``mailparser.MailParser(msg.obj)`` per message, no database;
* end to end, in a fresh mailbox B: the real CLI, ``mailproc --config <toml> poll --once``,
  against a fresh database migrated with ``mailproc.store.migrate.upgrade``.

Rates are messages divided by the wall time of the whole subprocess (interpreter start and
imports included, for both). Afterwards it checks the database (every inbound row
processed, one ticket per complaint, replies joined, nothing quarantined) and the mailbox
(everything moved to Processed). Missing a speed or memory target prints FAIL but exits 0;
only a correctness failure exits non-zero.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import quopri
import random
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import encode_rfc2231, format_datetime
from pathlib import Path
from typing import Any, BinaryIO

TARGET_E2E_RATE = 1000.0  # messages/s, end to end, at --n
TARGET_RATIO = 0.5  # end-to-end rate / baseline rate, at --n
TARGET_RSS_MB = 200.0  # peak RSS of `mailproc poll --once`, at every size
# "Flat" memory: the end-to-end peak RSS at the largest size may exceed the peak at the
# smallest by at most this fraction (a few MB of allocator noise, no per-message growth).
FLAT_TOLERANCE = 0.10
APPEND_CHUNK = 500  # messages per MULTIAPPEND command while loading
MAX_MESSAGE_BYTES = 20 * 1024
ICT = timezone(timedelta(hours=7))
BASE_DATE = datetime(2026, 11, 1, 7, 30, tzinfo=ICT)  # fixed: the corpus must not depend on today
SHARED_ADDRESS = "cskh@kplus.example"
ROOT = Path(__file__).resolve().parent.parent

# --- corpus: realistic Vietnamese complaints ------------------------------------------------

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
            "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Trịnh", "Đinh", "Mai", "Tô"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quốc", "Thu", "Hoài", "Xuân",
          "Kim", "Gia", "Bảo", "Thế", "Diệu", "Khánh", "Anh"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng",
         "Hương", "Khánh", "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Phúc", "Phương",
         "Quang", "Sơn", "Tâm", "Thảo", "Thắng", "Trang", "Trung", "Tú", "Tuấn", "Vy", "Yến",
         "Đạt", "Huệ", "Lộc", "Nhung", "Quyên", "Thủy", "Việt", "Ánh"]
DOMAINS = ["gmail.com"] * 6 + ["yahoo.com.vn", "yahoo.com", "outlook.com", "hotmail.com",
                               "fpt.vn", "vnpt.vn", "icloud.com"]
PHONE_PREFIXES = ["090", "091", "093", "094", "096", "097", "098", "032", "033", "034", "035",
                  "036", "037", "038", "039", "070", "076", "077", "078", "079", "081", "083",
                  "084", "085", "086", "088", "089"]
STREETS = ["Nguyễn Trãi", "Lê Lợi", "Trần Hưng Đạo", "Hai Bà Trưng", "Điện Biên Phủ",
           "Cách Mạng Tháng Tám", "Lý Thường Kiệt", "Phan Đình Phùng", "Võ Văn Tần",
           "Nguyễn Văn Cừ", "Hoàng Quốc Việt", "Láng Hạ", "Kim Mã", "Tôn Đức Thắng"]
PLACES = [("Thanh Xuân", "Hà Nội"), ("Cầu Giấy", "Hà Nội"), ("Hoàng Mai", "Hà Nội"),
          ("Quận 3", "TP. Hồ Chí Minh"), ("Bình Thạnh", "TP. Hồ Chí Minh"),
          ("Gò Vấp", "TP. Hồ Chí Minh"), ("Hải Châu", "Đà Nẵng"), ("Ninh Kiều", "Cần Thơ"),
          ("Lê Chân", "Hải Phòng"), ("TP. Thủ Dầu Một", "Bình Dương"), ("TP. Vinh", "Nghệ An")]
TOPICS: dict[str, tuple[list[str], list[str]]] = {
    "signal": (
        ["Mất sóng K+ từ {days} ngày nay", "Đầu thu báo lỗi {error}, không xem được",
         "Không có tín hiệu K+ từ ngày {date}", "Khiếu nại: mất tín hiệu kênh {channel}"],
        ["Từ ngày {date} nhà tôi bị mất sóng K+, màn hình báo lỗi {error}.",
         "Đầu thu nhà tôi báo lỗi {error} từ tối {date}, tất cả các kênh đều không xem được.",
         "Kênh {channel} bị mất tín hiệu liên tục từ ngày {date}, các kênh khác chập chờn."]),
    "billing": (
        ["Bị trừ tiền hai lần khi gia hạn gói", "Khiếu nại cước thuê bao tháng {month}",
         "Đã thanh toán {amount} nhưng chưa được kích hoạt", "Hóa đơn tháng {month} sai số tiền"],
        ["Ngày {date} tôi đã gia hạn gói Premium {amount} qua ví điện tử nhưng bị trừ tiền hai lần.",
         "Tôi đã thanh toán {amount} ngày {date} nhưng đến nay thuê bao vẫn chưa được kích hoạt.",
         "Hóa đơn tháng {month} ghi {amount}, cao hơn nhiều so với gói tôi đang dùng."]),
    "device": (
        ["Đầu thu K+ không lên nguồn", "Đầu giải mã báo lỗi {error}",
         "Yêu cầu đổi đầu thu bị hỏng"],
        ["Đầu thu không lên nguồn từ ngày {date}, đèn báo không sáng dù đã thay ổ cắm.",
         "Từ {date} đầu giải mã liên tục khởi động lại và báo lỗi {error}.",
         "Remote và đầu thu đều không hoạt động từ ngày {date}, tôi đã thay pin remote."]),
    "service": (
        ["Kỹ thuật viên hẹn nhưng không đến", "Phản ánh về tổng đài chăm sóc khách hàng",
         "Đã yêu cầu hủy dịch vụ nhưng vẫn bị tính cước"],
        ["Ngày {date} tổng đài hẹn kỹ thuật viên đến kiểm tra nhưng không ai đến.",
         "Tôi đã yêu cầu hủy dịch vụ từ ngày {date} nhưng tháng này vẫn bị trừ {amount}.",
         "Tôi gọi tổng đài ngày {date} ba lần nhưng đều bị ngắt máy giữa chừng."]),
    "content": (
        ["Kênh {channel} bị khóa dù đã đóng tiền", "Không xem được trận Ngoại hạng Anh tối {date}"],
        ["Kênh {channel} bị khóa từ ngày {date} dù tôi đã đóng tiền đầy đủ.",
         "Tối {date} tôi không xem được trận đấu trên {channel}, màn hình báo chưa đăng ký gói."]),
}
ERRORS = ["E48", "E16", "E30", "E106", "E19-4", "E04"]
CHANNELS = ["K+ Sport 1", "K+ Sport 2", "K+ Cine", "K+ Life", "K+ Kids"]
FILLERS = [
    "Tôi đã gọi tổng đài {hotline} nhiều lần nhưng không gặp được nhân viên.",
    "Gia đình tôi dùng K+ đã hơn {years} năm, trước giờ chưa gặp sự cố nào như thế này.",
    "Tôi đã thử rút điện đầu thu, khởi động lại và kiểm tra dây cáp nhưng vẫn không được.",
    "Kỹ thuật viên có đến chỉnh lại chảo ngày {date2} nhưng chỉ được hai hôm lại bị lỗi.",
    "Tôi đề nghị K+ hoàn lại tiền cho những ngày không xem được hoặc cộng thêm ngày sử dụng.",
    "Bố mẹ tôi ở nhà chủ yếu xem K+ nên việc mất sóng ảnh hưởng rất nhiều.",
    "Tôi đã chụp ảnh màn hình báo lỗi, nếu cần tôi có thể gửi thêm.",
    "Trên ứng dụng K+ vẫn hiển thị thuê bao còn hạn đến ngày {date2}.",
    "Nhân viên tổng đài nói sẽ gọi lại trong 24 giờ nhưng đến nay vẫn chưa thấy.",
    "Tôi ở chung cư tầng {floor}, các nhà hàng xóm dùng K+ vẫn xem bình thường.",
    "Mã giao dịch thanh toán của tôi là {txn}, thanh toán qua {wallet}.",
    "Tôi mong K+ xem xét trường hợp của tôi một cách thỏa đáng và phản hồi bằng văn bản.",
]
GREETINGS = ["Kính gửi K+,", "Chào anh/chị CSKH K+,", "Gửi bộ phận Chăm sóc Khách hàng K+,",
             "Xin chào,", "Kính gửi Phòng Chăm sóc Khách hàng,"]
CLOSINGS = ["Mong K+ kiểm tra và phản hồi sớm.", "Rất mong nhận được phản hồi của quý công ty.",
            "Xin cảm ơn.", "Đề nghị K+ giải quyết sớm cho tôi."]
# (kind, weight): how often each shape of message occurs.
KINDS = [("plain_qp", 36), ("plain_b64", 12), ("alternative", 16), ("cp1258", 8),
         ("html_only", 8), ("attachment", 10), ("reply", 10)]
_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def to_cp1258(text: str) -> bytes:
    """Encode as Windows Vietnamese does: base letter precomposed, tone as a combining mark."""
    out = []
    for char in unicodedata.normalize("NFC", text):
        try:
            out.append(char.encode("cp1258"))
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONE_MARKS))
        out.append((base + "".join(c for c in parts if c in _TONE_MARKS)).encode("cp1258"))
    return b"".join(out)


def encoded_word(text: str, charset: str = "windows-1258") -> str:
    """RFC 2047 Q encoded words (each under 76 characters), folded one per line."""
    words, chunk = [], ""
    for char in text:
        if len(to_cp1258(chunk + char)) > 16:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    out = []
    for word in words:
        q = quopri.encodestring(to_cp1258(word), header=True).decode("ascii")
        out.append(f"=?{charset}?Q?{q.replace('?', '=3F')}?=")
    return "\r\n ".join(out)


@dataclass(frozen=True)
class Customer:
    name: str
    address: str  # e-mail
    phone: str
    card: str
    decoder: str
    street_address: str


@dataclass(frozen=True)
class Sent:
    """What a reply needs to know about an earlier complaint."""

    customer: Customer
    subject: str
    message_id: str
    date: datetime
    text: str


@dataclass
class Corpus:
    messages: list[bytes] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    def replies(self, n: int) -> int:
        return self.kinds[:n].count("reply")

    def describe(self, n: int) -> str:
        counts = Counter(self.kinds[:n])
        sizes = [len(m) for m in self.messages[:n]]
        mix = ", ".join(f"{k} {counts[k]}" for k, _ in KINDS)
        return (f"{n} messages, {sum(sizes) / 1e6:.1f} MB, {min(sizes)}-{max(sizes)} bytes "
                f"(median {int(statistics.median(sizes))}); {mix}")


class Generator:
    """Deterministic complaint e-mails: the same seed gives the same bytes, and the first n
    messages of a longer corpus are exactly the corpus of size n."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.sent: list[Sent] = []
        self.clock = BASE_DATE
        self.ratio: dict[str, float] = {}  # encoded bytes per byte of filler text, per kind

    def corpus(self, n: int) -> Corpus:
        corpus = Corpus()
        for index in range(n):
            kind = self.rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
            if kind == "reply" and not self.sent:
                kind = "plain_qp"
            corpus.messages.append(self.message(index, kind))
            corpus.kinds.append(kind)
        return corpus

    # -- values ----------------------------------------------------------------------------

    def customer(self) -> Customer:
        r = self.rng
        surname, middle, given = r.choice(SURNAMES), r.choice(MIDDLE), r.choice(GIVEN)
        ascii_name = fold(f"{given}.{surname}" if r.random() < 0.5 else f"{surname}{given}")
        local = f"{ascii_name}{r.randint(1, 9999)}".lower()
        digits = r.choice(PHONE_PREFIXES)[1:] + "".join(r.choices("0123456789", k=7))
        phone = r.choice([
            f"0{digits[:3]}.{digits[3:6]}.{digits[6:]}", f"0{digits[:3]} {digits[3:6]} {digits[6:]}",
            f"0{digits}", f"+84 {digits[:2]} {digits[2:5]} {digits[5:]}",
            f"0{digits[:2]}-{digits[2:5]}-{digits[5:]}",
        ])
        card_digits = "".join(r.choices("0123456789", k=12))
        card = r.choice([" ".join(card_digits[i:i + 4] for i in (0, 4, 8)), card_digits,
                         "-".join(card_digits[i:i + 4] for i in (0, 4, 8))])
        decoder = r.choice(["HD", "DSB", "KP", "SD"]) + "".join(r.choices("0123456789", k=8))
        district, city = r.choice(PLACES)
        street = f"{r.randint(1, 299)} {r.choice(STREETS)}, {district}, {city}"
        return Customer(f"{surname} {middle} {given}", f"{local}@{r.choice(DOMAINS)}",
                        phone, card, decoder, street)

    def fields(self, when: datetime) -> dict[str, Any]:
        r = self.rng
        incident = when - timedelta(days=r.randint(1, 40))
        return {
            "date": incident.strftime(r.choice(["%d/%m/%Y", "%d/%m", "%d-%m-%Y"])),
            "date2": (when - timedelta(days=r.randint(1, 90))).strftime("%d/%m/%Y"),
            "days": r.randint(2, 9), "error": r.choice(ERRORS), "channel": r.choice(CHANNELS),
            "month": incident.month, "amount": f"{r.choice([125, 175, 225, 350, 700])}.000đ",
            "hotline": "1900 1592", "years": r.randint(2, 12), "floor": r.randint(2, 30),
            "txn": "".join(r.choices("0123456789ABCDEF", k=12)),
            "wallet": r.choice(["MoMo", "ZaloPay", "VNPay", "thẻ ATM Vietcombank"]),
        }

    def complaint_text(self, who: Customer, topic: str, values: dict[str, Any]) -> list[str]:
        """Paragraphs of a new complaint (identifiers sometimes incomplete, as in real mail)."""
        r = self.rng
        intro = r.choice([f"Tôi tên là {who.name}, thuê bao K+ tại {who.street_address}.",
                          f"Tôi là {who.name}, chủ thuê bao K+ ở {who.street_address}.",
                          f"Em tên {who.name} ạ, nhà em ở {who.street_address}."])
        problem = r.choice(TOPICS[topic][1]).format(**values)
        ids = []
        if r.random() < 0.9:
            ids.append(r.choice([f"Số thẻ giải mã: {who.card}", f"Số thẻ K+: {who.card}",
                                 f"Smartcard: {who.card}"]))
        if r.random() < 0.25:
            ids.append(f"Mã đầu thu: {who.decoder}")
        if r.random() < 0.9:
            ids.append(r.choice([f"Số điện thoại: {who.phone}", f"SĐT liên hệ: {who.phone}",
                                 f"Điện thoại: {who.phone}"]))
        if r.random() < 0.5:
            ids.append(f"Địa chỉ: {who.street_address}")
        return [r.choice(GREETINGS), f"{intro}\n{problem}", "\n".join(ids), r.choice(CLOSINGS)]

    def filler(self, values: dict[str, Any]) -> str:
        r = self.rng
        return " ".join(f.format(**values) for f in r.sample(FILLERS, r.randint(2, 4)))

    def signature(self, who: Customer) -> str:
        return self.rng.choice([f"Trân trọng,\n{who.name}\n{who.phone}", f"Cảm ơn,\n{who.name}",
                                f"Trân trọng,\n{who.name}\n\n--\nSent from my iPhone",
                                f"{who.name}\nĐT: {who.phone}"])

    def target_size(self) -> int:
        roll = self.rng.random()
        low, high = (2000, 6000) if roll < 0.6 else (6000, 12000) if roll < 0.9 else (12000, 19500)
        return self.rng.randint(low, high)

    # -- messages --------------------------------------------------------------------------

    def message(self, index: int, kind: str) -> bytes:
        r = self.rng
        self.clock += timedelta(seconds=r.randint(5, 55))
        when = self.clock
        values = self.fields(when)
        message_id = f"<{r.randbytes(12).hex()}.{index}@mail.{r.choice(DOMAINS)}>"
        original: Sent | None = None
        if kind == "reply":
            original = r.choice(self.sent[-300:])
            who, subject = original.customer, f"Re: {original.subject}"
            body = self.reply_text(original, when)
        else:
            who = self.customer()
            topic = r.choice(list(TOPICS))
            subject = r.choice(TOPICS[topic][0]).format(**values)
            body = self.complaint_text(who, topic, values)
        tail = [self.signature(who)]
        target = self.target_size()
        attachment = self.attachment(target) if kind == "attachment" else None

        def build(extra: list[str]) -> bytes:  # the customer's story, padded before the closing
            paragraphs = [*body[:-1], *extra, body[-1], *tail]
            return self.render(kind, who, subject, message_id, when, paragraphs, original, attachment)

        raw = build([])
        if len(raw) < target:  # pad up to the drawn size; self.ratio learns the encoding overhead
            per_byte = self.ratio.get(kind, 1.5)
            extra: list[str] = []
            while len(raw) + per_byte * len("\n\n".join(extra).encode()) < target:
                extra.append(self.filler(values))
            padded = build(extra)
            self.ratio[kind] = max(1.0, (len(padded) - len(raw)) / len("\n\n".join(extra).encode()))
            while len(padded) > MAX_MESSAGE_BYTES and extra:
                extra.pop()
                padded = build(extra)
            raw = padded
        if kind != "reply":
            self.sent.append(Sent(who, subject, message_id, when, "\n\n".join(body)))
        return raw

    def reply_text(self, original: Sent, when: datetime) -> list[str]:
        who, r = original.customer, self.rng
        supplement = r.choice([
            f"Dạ em gửi bổ sung thông tin:\nSố thẻ: {who.card}\nSĐT: {who.phone}",
            f"Tôi bổ sung mã đầu thu: {who.decoder}. Số điện thoại của tôi là {who.phone}.",
            "Đến hôm nay tôi vẫn chưa nhận được phản hồi, đề nghị K+ xử lý sớm.",
            f"Tình trạng vẫn như cũ, số thẻ của tôi là {who.card}.",
        ])
        stamp = original.date.strftime("%H:%M, %d/%m/%Y")
        quoted = "\n".join(f"> {line}" if line else ">" for line in original.text.split("\n"))
        return [supplement, self.signature(who),
                f"Vào {stamp}, {who.name} <{who.address}> đã viết:\n{quoted}"]

    def attachment(self, target: int) -> tuple[str, str, str, bytes]:
        r = self.rng
        size = r.randint(1500, max(1600, min(8000, target // 2)))
        if r.random() < 0.6:
            name = r.choice(["anh_loi_E48.jpg", "màn hình lỗi.jpg", "IMG_2026.jpg"])
            return name, "image", "jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + r.randbytes(size)
        name = r.choice(["hóa đơn tháng 10.pdf", "bien_lai_thanh_toan.pdf"])
        return name, "application", "pdf", b"%PDF-1.4\n" + r.randbytes(size)

    def render(self, kind: str, who: Customer, subject: str, message_id: str, when: datetime,
               paragraphs: list[str], original: Sent | None,
               attachment: tuple[str, str, str, bytes] | None) -> bytes:
        text = "\n\n".join(paragraphs) + "\n"
        if kind == "cp1258":
            return outlook_cp1258(who, subject, message_id, when, text, self.trace(who, when))
        headers = [*self.trace(who, when),
                   ("From", f"{b_encode(who.name)} <{who.address}>"), ("To", SHARED_ADDRESS),
                   ("Subject", b_encode(subject)), ("Date", format_datetime(when)),
                   ("Message-ID", message_id)]
        if original is not None:
            headers += [("In-Reply-To", original.message_id), ("References", original.message_id)]
        headers += [("MIME-Version", "1.0"), ("Content-Language", "vi")]
        plain = 'text/plain; charset="UTF-8"'
        html = 'text/html; charset="UTF-8"'
        # Gmail-style boundaries, drawn from our RNG so that the bytes are reproducible.
        boundary = f"000000000000{self.rng.randbytes(8).hex()}"
        if kind == "plain_b64":
            body = mime_part(plain, "base64", text.encode())
        elif kind == "html_only":
            body = mime_part(html, "base64", to_html(paragraphs).encode())
        elif kind in ("alternative", "reply"):
            body = multipart("alternative", boundary, [
                mime_part(plain, "quoted-printable", text.encode()),
                mime_part(html, "quoted-printable", to_html(paragraphs).encode())])
        elif attachment is not None:
            filename, maintype, subtype, data = attachment
            name = encode_rfc2231(filename, "utf-8") if not filename.isascii() else f'"{filename}"'
            star = "*" if not filename.isascii() else ""
            body = multipart("mixed", boundary, [
                mime_part(plain, "quoted-printable", text.encode()),
                mime_part(f"{maintype}/{subtype}; name{star}={name}", "base64", data,
                          [("Content-Disposition", f"attachment; filename{star}={name}")])])
        else:
            body = mime_part(plain, "quoted-printable", text.encode())
        return header_block(headers) + body

    def trace(self, who: Customer, when: datetime) -> list[tuple[str, str]]:
        r = self.rng
        domain = who.address.split("@")[1]
        relay = f"mail-{r.choice(['ej1', 'pf1', 'qt1', 'yw1'])}-f{r.randint(10, 250)}.{domain}"
        ip = f"209.85.{r.randint(128, 255)}.{r.randint(1, 254)}"
        hops = [
            ("Received", f"from {relay} ({relay} [{ip}]) by mx.kplus.example with ESMTPS id "
                         f"{r.randbytes(6).hex().upper()} for <{SHARED_ADDRESS}>; "
                         f"{format_datetime(when + timedelta(seconds=3))}"),
            ("Received", f"by {relay} with SMTP id {r.randbytes(8).hex()}; {format_datetime(when)}"),
        ]
        if domain == "gmail.com":
            body_hash = base64.b64encode(r.randbytes(32)).decode()
            hops.append(("DKIM-Signature", "v=1; a=rsa-sha256; c=relaxed/relaxed; d=gmail.com; "
                         "s=20230601; h=to:subject:message-id:date:from:mime-version:from:to:cc:"
                         f"subject:date:message-id:reply-to; bh={body_hash}; "
                         f"b={base64.b64encode(r.randbytes(192)).decode()}"))
        return hops


# Built by hand rather than with email.message.EmailMessage: the stdlib's header machinery
# made generating 20,000 messages take over a minute, and its MIME boundaries come from the
# global RNG (the corpus must be reproducible byte for byte).

def crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def fold_header(name: str, value: str) -> str:
    """``Name: value`` folded at whitespace (long tokens split) to lines of at most 78."""
    lines, line = [], f"{name}:"
    for token in value.split(" "):
        while len(token) > 70:  # DKIM's b= tag: folding whitespace inside is allowed
            lines.append(line)
            line, token = f"\t{token[:70]}", token[70:]
        if len(line) + 1 + len(token) > 78 and line.strip():
            lines.append(line)
            line = f"\t{token}"
        else:
            line = f"{line} {token}"
    lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def header_block(headers: list[tuple[str, str]]) -> bytes:
    return "".join(fold_header(n, v) if "\r\n" not in v else f"{n}: {v}\r\n"
                   for n, v in headers).encode("ascii")


def b_encode(text: str) -> str:
    """RFC 2047 B encoded words in UTF-8, as Gmail writes them (never splitting a character)."""
    if text.isascii():
        return text
    words, chunk = [], b""
    for char in text:
        data = char.encode()
        if len(chunk) + len(data) > 42:
            words.append(chunk)
            chunk = b""
        chunk += data
    words.append(chunk)
    return "\r\n ".join(f"=?UTF-8?B?{base64.b64encode(w).decode()}?=" for w in words)


def mime_part(ctype: str, cte: str, payload: bytes,
              extra: list[tuple[str, str]] | None = None) -> bytes:
    encoded = base64.encodebytes(payload) if cte == "base64" else quopri.encodestring(payload)
    head = [("Content-Type", ctype), ("Content-Transfer-Encoding", cte), *(extra or [])]
    return header_block(head) + b"\r\n" + crlf(encoded)


def multipart(subtype: str, boundary: str, parts: list[bytes]) -> bytes:
    mark = boundary.encode()
    body = b"".join(b"--" + mark + b"\r\n" + part + b"\r\n" for part in parts)
    head = header_block([("Content-Type", f'multipart/{subtype}; boundary="{boundary}"')])
    return head + b"\r\n" + body + b"--" + mark + b"--\r\n"


def fold(text: str) -> str:
    plain = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in plain if c.isascii() and (c.isalnum() or c == "."))


def to_html(paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p.replace('&', '&amp;').replace('<', '&lt;').replace(chr(10), '<br>')}</p>"
                   for p in paragraphs)
    return ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
            f'</head><body><div dir="ltr" style="font-family:Arial,sans-serif">{body}</div>'
            "</body></html>\n")


def outlook_cp1258(who: Customer, subject: str, message_id: str, when: datetime, text: str,
                   trace: list[tuple[str, str]]) -> bytes:
    """A windows-1258 quoted-printable message as Outlook writes it (tones decomposed)."""
    headers = [*trace,
               ("From", f"{encoded_word(who.name)} <{who.address}>"),
               ("To", SHARED_ADDRESS), ("Subject", encoded_word(subject)),
               ("Date", format_datetime(when)), ("Message-ID", message_id),
               ("MIME-Version", "1.0"), ("X-Mailer", "Microsoft Outlook 16.0")]
    body = mime_part('text/plain; charset="windows-1258"', "quoted-printable", to_cp1258(text))
    return header_block(headers) + body


# --- loading: MULTIAPPEND over one connection (not timed) ------------------------------------

def _read_tagged(reader: BinaryIO, tag: bytes) -> bytes:
    while True:
        line = reader.readline()
        if not line:
            raise BenchError("IMAP server closed the connection while loading")
        if line.startswith(tag + b" "):
            if line.split(b" ", 2)[1] != b"OK":
                raise BenchError(f"IMAP {tag.decode()} failed: {line!r}")
            return line


def load_mailbox(host: str, port: int, user: str, password: str, messages: list[bytes]) -> float:
    """APPEND ``messages`` to the user's INBOX, APPEND_CHUNK at a time (RFC 3502 MULTIAPPEND
    with LITERAL+: one command and one Dovecot transaction per chunk); return the seconds."""
    start = time.perf_counter()
    with socket.create_connection((host, port), timeout=120) as sock, sock.makefile("rb") as reader:
        reader.readline()  # greeting
        sock.sendall(b'L LOGIN "%s" "%s"\r\n' % (user.encode(), password.encode()))
        caps = _read_tagged(reader, b"L")
        if b"MULTIAPPEND" not in caps or b"LITERAL+" not in caps:
            raise BenchError(f"the IMAP server lacks MULTIAPPEND or LITERAL+: {caps!r}")
        for number, first in enumerate(range(0, len(messages), APPEND_CHUNK)):
            tag = b"A%d" % number
            parts = [tag + b" APPEND INBOX"]
            for raw in messages[first:first + APPEND_CHUNK]:
                parts += [b" {%d+}\r\n" % len(raw), raw]
            sock.sendall(b"".join(parts) + b"\r\n")
            _read_tagged(reader, tag)
        sock.sendall(b"Z LOGOUT\r\n")
    return time.perf_counter() - start


# --- measured phases, each in its own subprocess ---------------------------------------------

class BenchError(Exception):
    """The benchmark could not run or the run produced wrong results."""


@dataclass(frozen=True)
class Phase:
    seconds: float  # wall time of the whole subprocess
    rss_mb: float  # its peak memory: max(own peak RSS, summed PSS of its process tree)
    count: int  # messages it handled
    split: tuple[float, float, float] | None = None  # poll --once: startup, IMAP poll, process

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


# The measured command is started by this small launcher, not by the benchmark itself: a
# child's ru_maxrss also counts the memory it shared with its parent between fork and exec,
# and the benchmark holds the whole corpus (100+ MB). The launcher is a fresh interpreter of
# about 10 MB, so its child's peak is the child's own.
# It also samples the summed PSS of the child's whole process tree (worker processes
# included; shared pages counted once, split between the sharers). Reading smaps_rollup
# costs about 1 ms of CPU per process, so taking it every 20 ms would take a fifth of a core
# from the measured run on a 2-core machine. Instead the tree (from /proc/PID/task/*/children)
# and its RSS (statm: microseconds) are read every 20 ms, and the PSS every 100 ms and
# whenever the tree's RSS has grown 2 MB since the last PSS reading: PSS only exceeds its last
# reading when RSS grows or shared pages are copied, which the two triggers catch.
_LAUNCHER = """
import json, os, subprocess, sys, threading, time

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
RSS_STEP_KB = 2048  # RSS this far above its level at the last PSS reading: read PSS now

def tree(root):
    todo, found = [root], []
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    todo.extend(int(child) for child in f.read().split())
        except (OSError, ValueError):
            continue
    return found

def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_KB
    except (OSError, ValueError, IndexError):
        return 0

def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0

start, started = time.perf_counter(), time.time()
child = subprocess.Popen(sys.argv[2:])
peak = {"pss": 0, "procs": 1, "samples": 0}
stop = threading.Event()

def sample():
    last_time, last_rss = 0.0, 0
    while not stop.wait(0.02):
        pids = tree(child.pid)
        rss = sum(rss_kb(p) for p in pids)
        now = time.perf_counter()
        if rss >= last_rss + RSS_STEP_KB or now - last_time >= 0.1:
            total = sum(pss_kb(p) for p in pids)
            last_time, last_rss, peak["samples"] = now, rss, peak["samples"] + 1
            if total > peak["pss"]:
                peak["pss"], peak["procs"] = total, len(pids)

sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
_, status, usage = os.wait4(child.pid, 0)
seconds = time.perf_counter() - start
stop.set()
sampler.join()
with open(sys.argv[1], "w") as out:
    json.dump({"seconds": seconds, "started": started, "maxrss_kb": usage.ru_maxrss,
               "tree_pss_kb": peak["pss"], "tree_procs": peak["procs"], "pss_samples": peak["samples"],
               "code": os.waitstatus_to_exitcode(status)}, out)
"""


def run_measured(command: list[str], log: Path) -> tuple[float, float, int]:
    """Run ``command``; return (wall seconds, peak memory in MB, exit code) of that child alone.

    Also leaves the launcher's figures, including the start time, in ``<log>.measure.json``.
    """
    result = log.with_suffix(".measure.json")
    with log.open("wb") as out:
        launcher = subprocess.run([sys.executable, "-c", _LAUNCHER, str(result), *command],
                                  stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, check=False)
    if launcher.returncode != 0 or not result.exists():
        raise BenchError(f"the measuring launcher failed ({launcher.returncode}):\n{_tail(log)}")
    data = json.loads(result.read_text())
    # With worker processes, one process's RSS is not the run's memory: take the larger of
    # the biggest process's peak RSS and the whole tree's peak summed PSS.
    peak_kb = max(data["maxrss_kb"], data.get("tree_pss_kb", 0))
    return float(data["seconds"]), peak_kb / 1024, int(data["code"])


def baseline_child(params: dict[str, Any]) -> None:
    """Stock fetch-and-parse, no database (runs in the measured subprocess)."""
    import mailparser
    from imap_tools import MailBoxUnencrypted

    count = size = attachments = 0
    with MailBoxUnencrypted(params["host"], params["port"], timeout=30).login(
            params["user"], params["password"], initial_folder="INBOX") as box:
        for msg in box.fetch(mark_seen=False, bulk=100):
            parsed = mailparser.MailParser(msg.obj)
            count += 1
            size += len(parsed.body)
            attachments += len(parsed.attachments)
    print(json.dumps({"count": count, "body_chars": size, "attachments": attachments}))


def run_baseline(stack: Any, user: str, workdir: Path) -> Phase:
    params = {"host": stack.host, "port": stack.imap_port, "user": user, "password": stack.password}
    log = workdir / f"{user.split('@')[0]}.log"
    seconds, rss, code = run_measured(
        [sys.executable, str(Path(__file__).resolve()), "_baseline", json.dumps(params)], log)
    if code != 0:
        raise BenchError(f"baseline failed with exit code {code}:\n{_tail(log)}")
    return Phase(seconds, rss, json.loads(log.read_text().strip().splitlines()[-1])["count"])


def mailproc_command() -> str:
    script = Path(sys.executable).parent / "mailproc"
    found = str(script) if script.exists() else shutil.which("mailproc")
    if not found:
        raise BenchError("the mailproc command is not installed in this venv: pip install -e .")
    return found


def write_config(path: Path, stack: Any, user: str, database_url: str) -> None:
    text = f"""# Generated by bench/ingest.py
[imap]
host = {json.dumps(stack.host)}
port = {stack.imap_port}
username = {json.dumps(user)}
password = {json.dumps(stack.password)}
timeout = 60.0

[smtp]
host = {json.dumps(stack.host)}
port = {stack.smtp_port}
from_address = {json.dumps(SHARED_ADDRESS)}

[database]
url = {json.dumps(database_url)}

[scheduler]
lock_file = {json.dumps(str(path.with_suffix(".lock")))}
"""
    path.write_text(text, encoding="utf-8")


class Databases:
    """Fresh, migrated databases: SQLite files, or fresh schemas on a PostgreSQL server."""

    def __init__(self, spec: str, workdir: Path) -> None:
        self.spec, self.workdir = spec, workdir
        self.schemas: list[str] = []
        if spec != "sqlite" and not spec.startswith("postgresql"):
            raise BenchError(f"--db must be 'sqlite' or a postgresql URL, not {spec!r}")

    def fresh(self, label: str) -> str:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        from mailproc.store.db import make_engine
        from mailproc.store.migrate import upgrade

        if self.spec == "sqlite":
            url = f"sqlite:///{self.workdir / label}.sqlite3"
        else:
            schema = f"bench_{label.replace('-', '_')}_{os.getpid()}"
            admin = create_engine(self.spec, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            admin.dispose()
            self.schemas.append(schema)
            url = make_url(self.spec).update_query_dict(
                {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        return url

    def drop_all(self) -> None:
        if not self.schemas:
            return
        from sqlalchemy import create_engine, text

        admin = create_engine(self.spec, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for schema in self.schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def run_end_to_end(stack: Any, user: str, database_url: str, workdir: Path,
                   profile: Path | None = None) -> tuple[Phase, list[str]]:
    label = user.split("@")[0]
    config = workdir / f"{label}.toml"
    write_config(config, stack, user, database_url)
    cli = ["--config", str(config), "poll", "--once"]
    if profile is None:
        command = [mailproc_command(), *cli]
    else:
        command = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "mailproc.cli", *cli]
    log = workdir / f"{label}.log"
    seconds, rss, code = run_measured(command, log)
    if code != 0:
        raise BenchError(f"`{shlex.join(command)}` failed with exit code {code}:\n{_tail(log)}")
    lines = log.read_text(errors="replace").splitlines()
    stored = sum(int(part.split("=")[1]) for line in lines
                 for part in line.split() if line.startswith("poll ") and part.startswith("stored="))
    started = json.loads(log.with_suffix(".measure.json").read_text())["started"]
    return Phase(seconds, rss, stored, split_times(lines, started)), command


_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) \w+ ([\w.]+): (\w+)")


def split_times(lines: list[str], started: float) -> tuple[float, float, float] | None:
    """(startup, IMAP poll, processing) seconds from the CLI's own INFO log lines.

    Startup runs to the first log line; each ``poll`` line (mailproc.intake.poll) ends a poll and
    each ``process`` line (mailproc.workflow.process) ends a processing round. Best effort: None when
    the log format or level does not show them.
    """
    startup = poll = process = 0.0
    previous: float | None = None
    for line in lines:
        match = _LOG_TIME.match(line)
        if not match:
            continue
        when = time.mktime(time.strptime(match[1], "%Y-%m-%d %H:%M:%S")) + int(match[2]) / 1000
        if previous is None:
            startup, previous = when - started, when
        if (match[3], match[4]) == ("mailproc.intake.poll", "poll"):
            poll, previous = poll + when - previous, when
        elif (match[3], match[4]) == ("mailproc.workflow.process", "process"):
            process, previous = process + when - previous, when
    return (startup, poll, process) if process else None


# --- correctness -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    inbound: dict[str, int]
    tickets: int
    joined: int
    outbox: int
    inbox_left: int
    moved: int
    problems: tuple[str, ...]


def check_run(stack: Any, user: str, database_url: str, n: int, replies: int) -> Check:
    """Every message stored once, processed, one ticket per complaint, moved on IMAP."""
    from imap_tools import MailBoxUnencrypted
    from sqlalchemy import text

    from mailproc.store.db import make_engine

    engine = make_engine(database_url)
    with engine.connect() as conn:
        inbound = {row[0]: row[1] for row in conn.execute(
            text("SELECT status, count(*) FROM inbound_messages GROUP BY status"))}
        tickets = conn.execute(text("SELECT count(*) FROM tickets")).scalar_one()
        joined = conn.execute(text(
            "SELECT count(*) FROM inbound_messages WHERE outcome LIKE 'joined %'")).scalar_one()
        outbox = conn.execute(text("SELECT count(*) FROM outbox")).scalar_one()
    engine.dispose()
    with MailBoxUnencrypted(stack.host, stack.imap_port, timeout=30).login(
            user, stack.password, initial_folder=None) as box:
        inbox_left = int(box.folder.status("INBOX", ["MESSAGES"])["MESSAGES"])
        moved = int(box.folder.status("Processed", ["MESSAGES"])["MESSAGES"])
    problems = []
    if sum(inbound.values()) != n:
        problems.append(f"{sum(inbound.values())} inbound rows, expected {n}")
    if inbound.get("processed", 0) != n:
        problems.append(f"inbound by status {inbound}, expected processed={n}")
    if inbound.get("quarantined", 0):
        problems.append(f"{inbound['quarantined']} quarantined, expected 0")
    if tickets != n - replies:
        problems.append(f"{tickets} tickets, expected {n - replies} ({n} mails - {replies} replies)")
    if joined != replies:
        problems.append(f"{joined} mails joined an existing ticket, expected {replies} replies")
    if inbox_left or moved != n:
        problems.append(f"IMAP: {inbox_left} left in INBOX and {moved} in Processed, expected 0/{n}")
    return Check(inbound, tickets, joined, outbox, inbox_left, moved, tuple(problems))


# --- the run -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Result:
    n: int
    repeat: int
    replies: int
    baseline: Phase
    e2e: Phase
    check: Check

    @property
    def ratio(self) -> float:
        return self.e2e.rate / self.baseline.rate if self.baseline.rate else 0.0


def _tail(path: Path, lines: int = 25) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def measure(stack: Any, corpus: Corpus, n: int, repeat: int, workdir: Path, dbs: Databases) -> Result:
    messages = corpus.messages[:n]
    base_user, e2e_user = f"base-{n}-{repeat}@kplus.example", f"e2e-{n}-{repeat}@kplus.example"
    for user in (base_user, e2e_user):
        load_mailbox(stack.host, stack.imap_port, user, stack.password, messages)
    baseline = run_baseline(stack, base_user, workdir)
    if baseline.count != n:
        raise BenchError(f"baseline fetched {baseline.count} messages, expected {n}")
    database_url = dbs.fresh(f"e2e-{n}-{repeat}")
    e2e, _ = run_end_to_end(stack, e2e_user, database_url, workdir)
    check = check_run(stack, e2e_user, database_url, n, corpus.replies(n))
    return Result(n, repeat, corpus.replies(n), baseline, e2e, check)


def _split(phase: Phase) -> str:
    if phase.split is None:
        return "-"
    return "/".join(f"{x:.2f}" for x in phase.split)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(results: list[Result], n: int, empty: Phase) -> bool:
    """Print the tables and the target verdicts; return False on a correctness failure."""
    print("\nper run (rates = messages / wall time of the whole subprocess):")
    header = (f"{'N':>6} {'rep':>3} {'replies':>7} {'base msg/s':>10} {'e2e msg/s':>9} "
              f"{'ratio':>5} {'base RSS MB':>11} {'e2e RSS MB':>10} {'base s':>6} {'e2e s':>6} "
              f"{'tickets':>7} {'quar':>4} {'e2e start/poll/process s':>24} check")
    print(header)
    print("-" * len(header))
    correct = True
    for r in results:
        ok = not r.check.problems
        correct &= ok
        print(f"{r.n:>6} {r.repeat:>3} {r.replies:>7} {r.baseline.rate:>10.0f} {r.e2e.rate:>9.0f} "
              f"{r.ratio:>5.2f} {r.baseline.rss_mb:>11.1f} {r.e2e.rss_mb:>10.1f} "
              f"{r.baseline.seconds:>6.2f} {r.e2e.seconds:>6.2f} {r.check.tickets:>7} "
              f"{r.check.inbound.get('quarantined', 0):>4} {_split(r.e2e):>24} "
              f"{'OK' if ok else 'WRONG'}")
        for problem in r.check.problems:
            print(f"{'':>8}CORRECTNESS FAILURE: {problem}")
    print(f"\n`mailproc poll --once` on an empty mailbox (fixed cost): {empty.seconds:.2f} s, "
          f"peak RSS {empty.rss_mb:.1f} MB")

    sizes = sorted({r.n for r in results})
    peak = {s: max(r.e2e.rss_mb for r in results if r.n == s) for s in sizes}
    base_peak = {s: max(r.baseline.rss_mb for r in results if r.n == s) for s in sizes}
    print("\npeak RSS by size (MB):  " + "  ".join(
        f"N={s}: e2e {peak[s]:.1f} / baseline {base_peak[s]:.1f}" for s in sizes))

    at_n = [r for r in results if r.n == n]
    e2e_rate = statistics.median(r.e2e.rate for r in at_n)
    base_rate = statistics.median(r.baseline.rate for r in at_n)
    ratio = statistics.median(r.ratio for r in at_n)
    print(f"\ntargets (median over {len(at_n)} run(s) at N={n} where per-N):")
    print(f"  {_verdict(e2e_rate >= TARGET_E2E_RATE)}  end to end {e2e_rate:.0f} msg/s "
          f">= {TARGET_E2E_RATE:.0f}  (baseline {base_rate:.0f} msg/s)")
    print(f"  {_verdict(ratio >= TARGET_RATIO)}  ratio e2e/baseline {ratio:.2f} >= {TARGET_RATIO}")
    worst = max(peak.values())
    print(f"  {_verdict(worst < TARGET_RSS_MB)}  peak RSS of poll --once {worst:.1f} MB "
          f"< {TARGET_RSS_MB:.0f} MB (largest over all sizes)")
    if len(sizes) > 1:
        growth = peak[sizes[-1]] - peak[sizes[0]]
        allowed = FLAT_TOLERANCE * peak[sizes[0]]
        print(f"  {_verdict(growth <= allowed)}  flat memory: N={sizes[0]} -> N={sizes[-1]} "
              f"grows {growth:+.1f} MB (allowed +{allowed:.1f} MB, {FLAT_TOLERANCE:.0%})")
    else:
        print("  ----  flat memory: needs --sizes with two or more sizes")
    print(f"  {_verdict(correct)}  correctness: every message processed, tickets = mails - "
          "replies, 0 quarantined, all moved")
    return correct


def print_profile(path: Path, top: int = 30) -> None:
    import pstats

    stats = pstats.Stats(str(path))
    print(f"\nprofile of poll --once: mailproc functions by cumulative time ({path}):")
    stats.sort_stats("cumulative").print_stats("mailproc/", top)
    print(f"\nprofile of poll --once: top {top} by own time:")
    stats.sort_stats("tottime").print_stats(top)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="size the speed targets apply to")
    parser.add_argument("--sizes", default="", help="comma-separated sizes to run (default: N)")
    parser.add_argument("--db", default="sqlite", help="'sqlite' or a PostgreSQL URL")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (median reported)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed")
    parser.add_argument("--profile", type=Path, default=None,
                        help="also run poll --once at N under cProfile, save and summarise it")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, configs, DBs)")
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()} | {args.n})
    if min(sizes) < 1 or args.repeat < 1:
        parser.error("sizes and --repeat must be positive")
    args.size_list = sizes
    return args


def reproduce(args: argparse.Namespace) -> str:
    parts = ["--n", str(args.n), "--sizes", ",".join(map(str, args.size_list)), "--db", args.db,
             "--repeat", str(args.repeat), "--seed", str(args.seed)]
    if args.profile:
        parts += ["--profile", str(args.profile)]
    python = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) \
        else sys.executable
    return f"cd {shlex.quote(str(ROOT))} && {python} bench/ingest.py {shlex.join(parts)}"


@dataclass
class Workdir:
    path: Path
    keep: bool

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self.keep or exc_type is not None:  # keep the evidence of a failed run
            print(f"\nwork dir kept: {self.path}")
        else:
            shutil.rmtree(self.path, ignore_errors=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["_baseline"]:
        baseline_child(json.loads(argv[1]))
        return 0
    args = parse_args(argv)
    try:
        from mailproc.testing.devstack import MailStack
    except ModuleNotFoundError as exc:
        raise BenchError(f"{exc}: run it with the project's venv, .venv/bin/python") from exc

    print(f"reproduce: {reproduce(args)}")
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"started {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    started = time.perf_counter()
    corpus = Generator(args.seed).corpus(max(args.size_list))
    print(f"corpus (seed {args.seed}): {corpus.describe(max(args.size_list))} "
          f"[generated in {time.perf_counter() - started:.1f} s]")
    # Short path: Dovecot's socket paths under base_dir must fit in 108 bytes.
    workdir = Path(tempfile.mkdtemp(prefix="mpbench-", dir="/tmp"))
    results: list[Result] = []
    kept = Workdir(workdir, args.keep)
    with kept, MailStack(base_dir=workdir / "stack", dedupe_by_message_id=False) as stack:
        dbs = Databases(args.db, workdir)
        try:
            empty, _ = run_end_to_end(stack, "e2e-empty@kplus.example", dbs.fresh("empty"), workdir)
            for n in args.size_list:
                for repeat in range(1, args.repeat + 1):
                    result = measure(stack, corpus, n, repeat, workdir, dbs)
                    results.append(result)
                    print(f"  N={n} run {repeat}: baseline {result.baseline.rate:.0f} msg/s, "
                          f"e2e {result.e2e.rate:.0f} msg/s, ratio {result.ratio:.2f}, "
                          f"RSS {result.baseline.rss_mb:.0f}/{result.e2e.rss_mb:.0f} MB", flush=True)
            correct = report(results, args.n, empty)
            kept.keep |= not correct
            if args.profile:
                user = f"prof-{args.n}@kplus.example"
                load_mailbox(stack.host, stack.imap_port, user, stack.password,
                             corpus.messages[:args.n])
                phase, command = run_end_to_end(stack, user, dbs.fresh("profile"), workdir,
                                                profile=args.profile.resolve())
                print(f"\nprofiled run (cProfile overhead included): {phase.rate:.0f} msg/s; "
                      f"command: {shlex.join(command)}")
                print_profile(args.profile.resolve())
        finally:
            dbs.drop_all()
    print(f"\ntotal bench time {time.perf_counter() - started:.0f} s")
    print(f"reproduce: {reproduce(args)}")
    return 0 if correct else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BenchError as exc:
        print(f"bench/ingest.py: {exc}", file=sys.stderr)
        sys.exit(2)
