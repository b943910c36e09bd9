# ruff: noqa: E501 -- mail bodies below are verbatim customer text; their lines are as long as they are.
"""Golden cases 094-122, registered by ``_make_corpus.py``: mostly replies and forwards as the
clients customers use write them (Gmail, Outlook desktop and web, iPhone, Android, Yahoo,
Vietnamese webmail), so that a third of the corpus has quoted history; with more of the
regional forms, candidates and traps of issue 14. Expected values are written by hand.
"""

from __future__ import annotations

import hashlib
import html
from types import ModuleType


def register(m: ModuleType) -> None:  # one long list of cases
    case, E, T, message, when, msgid, mailbox, subject = (
        m.case, m.E, m.T, m.message, m.when, m.msgid, m.mailbox, m.subject)
    text_part, multipart = m.text_part, m.multipart

    def tag(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    def gmail(text: str) -> object:
        return multipart("alternative", [text_part(text, cte="quoted-printable"),
                                         text_part(m.gmail_html(text), subtype="html", cte="quoted-printable")],
                         boundary="000000000000" + tag(text)[:12])

    def outlook(text: str, charset: str = "utf-8") -> object:
        rows = "\n".join(f'<p class="MsoNormal">{html.escape(line, quote=False) or "&nbsp;"}<o:p></o:p></p>'
                         for line in text.rstrip("\n").split("\n"))
        page = ('<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta http-equiv="Content-Type" '
                'content="text/html; charset=utf-8"></head><body lang="VI"><div class="WordSection1">\n'
                + rows + "\n</div></body></html>\n")
        return multipart("alternative", [text_part(text, charset=charset, cte="quoted-printable"),
                                         text_part(page, subtype="html", charset=charset, cte="quoted-printable")],
                         boundary="_000_KL1PR0401MB" + tag(text)[:10].upper() + "_")

    def iphone(text: str) -> object:
        return text_part(text, cte="quoted-printable")

    def plain(text: str, cte: str = "8bit") -> object:
        return text_part(text, cte=cte)

    def html_only(inner: str) -> object:
        return text_part('<html><head><meta charset="utf-8"></head><body>' + inner + "</body></html>\n",
                         subtype="html", cte="base64")

    IPHONE = ("X-Mailer: iPhone Mail (22B91)",)
    OUTLOOK = ("X-Mailer: Microsoft Outlook 16.0",)
    YAHOO = ("X-Mailer: WebService/1.1.24562 YMailNorrin",)

    @case("094-gmail-reply-card-decoder",
          "Gmail reply (Vietnamese attribution, '>' quote) giving the card and decoder K+ asked for; the quote holds a sample card number and the hotline",
          E(name="Trương Thị Mỹ Duyên", address=None, phone="+84933445566", email="myduyen.truong@gmail.com",
            smartcard="840162626262", decoder="K23A0061234", incident_date=None, category="other"))
    def _094() -> bytes:
        text = T("""
Dạ em gửi K+:
Số thẻ: 8401 6262 6262
Số đầu thu: K23A0061234
SĐT: 0933 445 566
Trương Thị Mỹ Duyên

Vào Th 6, 13 thg 11, 2026 lúc 08:10 CSKH K+ <cskh@kplus.example> đã viết:
> Kính gửi Quý khách,
> Vui lòng cung cấp số thẻ (ví dụ: 8401 0000 1111) và số đầu thu.
> Hotline 1900 1592.""")
        return message(date=when(11, 13, 9, 0, 0), from_=mailbox("Duyên Trương", "myduyen.truong@gmail.com"),
                       subj=subject("Re: [KP-2026-00912] Bổ sung thông tin"), msgid=msgid("094", "gmail"), body=gmail(text))

    @case("095-outlook-reply-new-phone-quoted-old",
          "Outlook reply ('From:/Sent:' block, English) giving a new number ('số mới của tôi là …'); the quoted K+ mail repeats the old number",
          E(name="Võ Thị Kim Chi", address=None, phone="+84786123456", email="kimchi.vo@saigontourist.vn",
            smartcard=None, decoder=None, incident_date=None, category="other"))
    def _095() -> bytes:
        text = T("""
Chào anh/chị,
Số 0903 777 888 tôi không dùng nữa, số mới của tôi là 0786 123 456. Kỹ thuật gọi số này giúp tôi.

Trân trọng,
Võ Thị Kim Chi

From: CSKH K+ <cskh@kplus.example>
Sent: Thursday, November 12, 2026 3:00 PM
To: Vo Thi Kim Chi <kimchi.vo@saigontourist.vn>
Subject: Lịch hẹn kỹ thuật

Kỹ thuật viên sẽ liên hệ Quý khách qua số 0903 777 888.""")
        return message(date=when(11, 13, 8, 20, 0), from_=mailbox("Vo Thi Kim Chi", "kimchi.vo@saigontourist.vn"),
                       subj=subject("RE: Lịch hẹn kỹ thuật"), msgid=msgid("095", "outlook"), body=outlook(text), extra=OUTLOOK)

    @case("096-iphone-reply-short-card",
          "iPhone reply, one line ('Dạ số thẻ em là …') above the iOS attribution and '>' quote; name from the From display name",
          E(name="Lê Thị Thảo", address=None, phone=None, email="thaole.dn@icloud.com",
            smartcard="840156781234", decoder=None, incident_date=None, category="other"))
    def _096() -> bytes:
        text = T("""
Dạ số thẻ em là 8401 5678 1234 ạ

Gửi từ iPhone của tôi

> Vào 08:10, 13 thg 11, 2026, CSKH K+ <cskh@kplus.example> đã viết:
>
> Kính gửi Quý khách, vui lòng cho biết số thẻ giải mã.""")
        return message(date=when(11, 13, 8, 40, 0), from_=mailbox("Lê Thị Thảo", "thaole.dn@icloud.com"),
                       subj=subject("Re: Yêu cầu bổ sung"), msgid=msgid("096", "icloud.com"), body=iphone(text), extra=IPHONE)

    @case("097-yahoo-reply-2025-address",
          "Yahoo reply (Vietnamese attribution with GMT+7) giving the installation address in the 2025 form ('xã Hòa Vang, TP Đà Nẵng') after 'Đ/c:'",
          E(name="Phan Văn Lực", address="thôn Phước Thuận, xã Hòa Vang, TP Đà Nẵng", phone="+84905121314",
            email="phanvanluc@yahoo.com", smartcard=None, decoder=None, incident_date=None, category="other"))
    def _097() -> bytes:
        text = T("""
Đ/c: thôn Phước Thuận, xã Hòa Vang, TP Đà Nẵng
ĐT: 0905 121 314
Phan Văn Lực

Vào Thứ Năm, 12 tháng 11, 2026 lúc 16:20:11 GMT+7, CSKH K+ <cskh@kplus.example> đã viết:
> Đề nghị Quý khách cung cấp địa chỉ lắp đặt và số điện thoại.""")
        return message(date=when(11, 13, 7, 0, 0), from_=mailbox("Phan Luc", "phanvanluc@yahoo.com"),
                       subj=subject("Re: Đề nghị cung cấp thông tin"), msgid=msgid("097", "yahoo"), body=plain(text, "quoted-printable"), extra=YAHOO)

    @case("098-android-gmail-reply-hom-kia",
          "Android Gmail reply with an English attribution: 'từ hôm kia' resolved against the Date (13/11 → 11/11); phone by shape in the sign-off",
          E(name="Đinh Công Tráng", address=None, phone="+84397112233", email="dinhcongtrang@gmail.com",
            smartcard="840124242424", decoder=None, incident_date="2026-11-11", category="other"))
    def _098() -> bytes:
        text = T("""
Nhà em vẫn mất sóng từ hôm kia đến giờ, thẻ 8401 2424 2424.
Đinh Công Tráng - 0397 112 233

On Thu, Nov 12, 2026 at 10:00 AM CSKH K+ <cskh@kplus.example> wrote:
> Chúng tôi đã ghi nhận khiếu nại của Quý khách.""")
        return message(date=when(11, 13, 18, 0, 0), from_=mailbox(None, "dinhcongtrang@gmail.com"),
                       subj=subject("Re: Ghi nhận khiếu nại"), msgid=msgid("098", "gmail"), body=gmail(text))

    @case("099-outlook-original-message-new-phone",
          "Outlook reply with '-----Original Message-----': the own text only gives 'SĐT mới:'; the quoted original holds the old phone, the card and a date, none taken",
          E(name="Trần Đức Thịnh", address=None, phone="+84865003300", email="thinh.tran@hoaphat-steel.vn",
            smartcard=None, decoder=None, incident_date=None, category="other"))
    def _099() -> bytes:
        text = T("""
Bổ sung: SĐT mới: 0865 003 300

Trần Đức Thịnh

-----Original Message-----
From: Trần Đức Thịnh <thinh.tran@hoaphat-steel.vn>
Sent: Tuesday, November 10, 2026 9:00 AM
To: cskh@kplus.example
Subject: Mất sóng

Số thẻ 8401 1212 3434, SĐT 0912 000 111. Mất sóng từ ngày 09/11/2026.""")
        return message(date=when(11, 11, 9, 0, 0), from_=mailbox("Tran Duc Thinh", "thinh.tran@hoaphat-steel.vn"),
                       subj=subject("RE: Mất sóng"), msgid=msgid("099", "outlook"), body=outlook(text), extra=OUTLOOK)

    @case("100-gmail-fwd-vi-son-for-mother",
          "Gmail (Vietnamese UI) forward '---------- Thư đã chuyển tiếp ----------' by a son for his mother: her identifiers in the forwarded mail, her e-mail from its From line",
          E(name="Nguyễn Thị Lài", address="xóm Đông, xã Quỳnh Lưu, tỉnh Nghệ An", phone="+84383556677", email="nguyenthilai1958@gmail.com",
            smartcard="840138383838", decoder=None, incident_date="2026-11-08", category="other"))
    def _100() -> bytes:
        text = T("""
Con gửi giúp mẹ, mong K+ xử lý sớm.

---------- Thư đã chuyển tiếp ----------
Từ: Nguyễn Thị Lài <nguyenthilai1958@gmail.com>
Ngày: Th 2, 9 thg 11, 2026 lúc 07:30
Tiêu đề: Mất sóng
Tới: Hồ Văn Nam <namho.hn@gmail.com>

Họ tên: Nguyễn Thị Lài
Địa chỉ: xóm Đông, xã Quỳnh Lưu, tỉnh Nghệ An
Số thẻ: 8401 3838 3838
SĐT: 0383 556 677
Mất sóng từ ngày 08/11/2026.""")
        return message(date=when(11, 10, 20, 0, 0), from_=mailbox("Hồ Văn Nam", "namho.hn@gmail.com"),
                       subj=subject("Fwd: Mất sóng"), msgid=msgid("100", "gmail"), body=gmail(text))

    @case("101-outlook-fw-store-staff",
          "A K+ store forwards a walk-in customer's mail ('FW:', '____' line, 'From:/Sent:' block): the store's own signature and phone are not the customer's; e-mail from the forwarded From; fee",
          E(name="Đoàn Văn Hậu", address=None, phone="+84902334455", email="doanvanhau.ct@gmail.com",
            smartcard="840177778888", decoder=None, incident_date="2026-11-02", category="fee"))
    def _101() -> bytes:
        text = T("""
Chuyển CSKH xử lý giúp cửa hàng.
Nguyễn Thu Hà
Cửa hàng K+ Ninh Kiều

________________________________
From: Đoàn Văn Hậu <doanvanhau.ct@gmail.com>
Sent: Monday, November 9, 2026 8:00 AM
To: cuahang.ninhkieu@kplus.example
Subject: Bị trừ tiền sai

Tôi thanh toán ngày 02/11/2026 gói 6 tháng nhưng bị trừ tiền gói 12 tháng.
Họ tên: Đoàn Văn Hậu
Số thẻ: 8401 7777 8888
Điện thoại: 0902 334 455""")
        return message(date=when(11, 9, 10, 0, 0), from_=mailbox("Cửa hàng K+ Ninh Kiều", "cuahang.ninhkieu@kplus.example"),
                       subj=subject("FW: Bị trừ tiền sai"), msgid=msgid("101", "outlook"), body=outlook(text), extra=OUTLOOK)

    @case("102-iphone-begin-forwarded",
          "iPhone forward ('Begin forwarded message:' and From/Subject/Date/To lines) of a mail the customer wrote from another account; the forwarded text is hers",
          E(name="Hoàng Thị Yến", address="12 kiệt 45 Phan Đình Phùng, P. Phú Nhuận, TP Huế", phone="+84914223344", email="yenhoang.hue@gmail.com",
            smartcard="840145454545", decoder=None, incident_date=None, category="other"))
    def _102() -> bytes:
        text = T("""
Gửi lại thư em đã gửi tuần trước.

Begin forwarded message:

From: Hoàng Thị Yến <yenhoang.hue@gmail.com>
Subject: Đầu thu không lên hình
Date: 5 November 2026 at 20:12:44 GMT+7
To: cskh@kplus.example

Đầu thu nhà em không lên hình.
Họ tên: Hoàng Thị Yến
Địa chỉ: 12 kiệt 45 Phan Đình Phùng, P. Phú Nhuận, TP Huế
Số thẻ: 8401 4545 4545
SĐT: 0914 223 344""")
        return message(date=when(11, 12, 21, 0, 0), from_=mailbox("Yến Hoàng", "yen.hoang.work@icloud.com"),
                       subj=subject("Fwd: Đầu thu không lên hình"), msgid=msgid("102", "icloud.com"), body=iphone(text), extra=IPHONE)

    @case("103-gmail-inline-reply",
          "Gmail inline reply: the customer answers under each quoted question ('> Số thẻ giải mã:' then the number on its own line); card by shape",
          E(name="Phùng Văn Kiên", address="Số 8 ngõ 3 phố Chùa Láng, Đống Đa, Hà Nội", phone="+84982300400", email="kienpv.dev@gmail.com",
            smartcard="840122223333", decoder=None, incident_date=None, category="other"))
    def _103() -> bytes:
        text = T("""
Em trả lời bên dưới ạ.

Vào Th 5, 12 thg 11, 2026 lúc 14:00 CSKH K+ <cskh@kplus.example> đã viết:
> Số thẻ giải mã:
8401 2222 3333
> Địa chỉ lắp đặt:
Số 8 ngõ 3 phố Chùa Láng, Đống Đa, Hà Nội
> Số điện thoại liên hệ:
0982 300 400

Phùng Văn Kiên""")
        return message(date=when(11, 12, 20, 0, 0), from_=mailbox("Kien Phung", "kienpv.dev@gmail.com"),
                       subj=subject("Re: Bổ sung thông tin"), msgid=msgid("103", "gmail"), body=gmail(text))

    @case("104-outlook-web-reply-vi-html",
          "Outlook on the web, HTML only, Vietnamese quote block ('Từ:/Đã gửi:/Đến:/Chủ đề:'): 'Thẻ K+ số …' and 'Sđt' in the new text",
          E(name="Lạc Thị Thanh", address=None, phone="+84889776655", email="thanhlac@outlook.com.vn",
            smartcard="840111117777", decoder=None, incident_date=None, category="other"))
    def _104() -> bytes:
        inner = T("""
<div>Thẻ K+ số 8401 1111 7777, Sđt 0889 776 655.</div>
<div>Lạc Thị Thanh</div>
<div id="appendonsend"></div><hr style="display:inline-block;width:98%">
<div id="divRplyFwdMsg"><b>Từ:</b> CSKH K+ &lt;cskh@kplus.example&gt;<br>
<b>Đã gửi:</b> Thứ Năm, 12 tháng 11, 2026 10:00<br>
<b>Đến:</b> thanhlac@outlook.com.vn<br>
<b>Chủ đề:</b> Yêu cầu thông tin</div>
<div>Quý khách vui lòng cho biết số thẻ và số điện thoại.</div>
""")
        return message(date=when(11, 12, 19, 0, 0), from_=mailbox("Lạc Thị Thanh", "thanhlac@outlook.com.vn"),
                       subj=subject("TL: Yêu cầu thông tin"), msgid=msgid("104", "outlook"), body=html_only(inner))

    @case("105-gmail-reply-nested-quotes",
          "Gmail reply whose quote nests an earlier exchange ('>>'); the customer's own text has a weekday date ('thứ 2 vừa rồi', Date Fri 13/11 → 09/11)",
          E(name="Khúc Thị Hoa", address=None, phone="+84913888999", email="hoakhuc.hp@gmail.com",
            smartcard="840188881111", decoder=None, incident_date="2026-11-09", category="other"))
    def _105() -> bytes:
        text = T("""
Từ thứ 2 vừa rồi lại mất sóng tiếp ạ. Thẻ 8401 8888 1111, sđt 0913 888 999.
Khúc Thị Hoa

Vào Th 3, 3 thg 11, 2026 lúc 09:00 CSKH K+ <cskh@kplus.example> đã viết:
> Sự cố đã được khắc phục.
>
> Vào Th 2, 2 thg 11, 2026 lúc 08:00 Khúc Thị Hoa <hoakhuc.hp@gmail.com> đã viết:
>> Nhà tôi mất sóng từ ngày 01/11/2026, thẻ 8401 8888 1111.""")
        return message(date=when(11, 13, 9, 0, 0), from_=mailbox("Khúc Thị Hoa", "hoakhuc.hp@gmail.com"),
                       subj=subject("Re: Thông báo khắc phục"), msgid=msgid("105", "gmail"), body=gmail(text))

    @case("106-webmail-reply-html-attribution",
          "Vietnamese webmail reply in HTML: the attribution 'Vào … đã viết:' and the quoted mail in a <blockquote>; the new text gives card and decoder with 'Seri đầu thu:'",
          E(name="Nông Văn Dũng", address=None, phone="+84976543210", email="nongvandung@vnpt.vn",
            smartcard="840133337777", decoder="ODS1400-3311220", incident_date=None, category="other"))
    def _106() -> bytes:
        inner = T("""
<p>Số thẻ: 8401 3333 7777<br>Seri đầu thu: ODS1400-3311220<br>Điện thoại: 0976 543 210</p>
<p>Nông Văn Dũng</p>
<p>Vào Thứ Năm, 12/11/2026 lúc 15:00, CSKH K+ &lt;cskh@kplus.example&gt; đã viết:</p>
<blockquote style="border-left:1px solid #ccc;padding-left:8px">Quý khách vui lòng cung cấp số thẻ, số seri đầu thu. Ví dụ số thẻ: 8401 0000 2222.</blockquote>
""")
        return message(date=when(11, 13, 8, 0, 0), from_=mailbox("nongvandung", "nongvandung@vnpt.vn"),
                       subj=subject("Re: Yêu cầu cung cấp thông tin"), msgid=msgid("106", "vnpt.vn"), body=html_only(inner),
                       extra=("X-Mailer: Zimbra 8.8.15_GA",))

    @case("107-yahoo-fwd-english-header",
          "Yahoo forward ('----- Forwarded Message -----', English header lines) of a complaint written in English; 'Phone no.:' label; 'since last Sunday' in the forwarded mail is counted from its own date, not this one's → null",
          E(name="Peter Nguyen", address="Apt 12B, Vinhomes Central Park, 208 Nguyen Huu Canh, Binh Thanh, HCMC", phone="+84938765432",
            email="peter.nguyen@yahoo.com", smartcard="840199990000", decoder=None, incident_date=None, category="other"))
    def _107() -> bytes:
        text = T("""
Resending, please help.

----- Forwarded Message -----
From: Peter Nguyen <peter.nguyen@yahoo.com>
To: cskh@kplus.example
Sent: Wednesday, November 11, 2026, 08:00:00 AM GMT+7
Subject: No signal

My K+ has had no signal since last Sunday.
Card number: 8401 9999 0000
Phone no.: 0938 765 432
Address: Apt 12B, Vinhomes Central Park, 208 Nguyen Huu Canh, Binh Thanh, HCMC

Peter Nguyen""")
        return message(date=when(11, 13, 10, 0, 0), from_=mailbox("Peter Nguyen", "peter.nguyen@yahoo.com"),
                       subj=subject("Fw: No signal"), msgid=msgid("107", "yahoo"), body=plain(text, "quoted-printable"), extra=YAHOO)

    @case("108-outlook-reply-signature-address",
          "Outlook reply: name, mobile and an unlabelled address line in the signature under 'Trân trọng,'; the quoted K+ mail holds a store address",
          E(name="Mai Xuân Thưởng", address="Số 25 đường Trần Phú, phường Lộc Thọ, TP Nha Trang, Khánh Hòa", phone="+84905661122",
            email="thuongmx@khatoco.vn", smartcard="840146464646", decoder=None, incident_date=None, category="other"))
    def _108() -> bytes:
        text = T("""
Chào CSKH,
Thẻ nhà tôi là 8401 4646 4646, đề nghị K+ cử kỹ thuật đến.

Trân trọng,
Mai Xuân Thưởng
Mobile: 0905 661 122
Số 25 đường Trần Phú, phường Lộc Thọ, TP Nha Trang, Khánh Hòa

From: CSKH K+ <cskh@kplus.example>
Sent: Wednesday, November 11, 2026 4:00 PM
To: thuongmx@khatoco.vn
Subject: Xác nhận

Cửa hàng gần nhất: 10 Lê Thánh Tôn, Nha Trang.""")
        return message(date=when(11, 12, 9, 0, 0), from_=mailbox("Mai Xuan Thuong", "thuongmx@khatoco.vn"),
                       subj=subject("RE: Xác nhận"), msgid=msgid("108", "outlook"), body=outlook(text), extra=OUTLOOK)

    @case("109-gmail-reply-husband-number",
          "Gmail reply: her own number and her husband's ('số chồng em …') to call in working hours: her own",
          E(name="Vũ Thị Hằng", address=None, phone="+84346112299", email="hangvu.nd@gmail.com",
            smartcard="840157575757", decoder=None, incident_date=None, category="other"))
    def _109() -> bytes:
        text = T("""
Dạ số em 0346 112 299, giờ hành chính em đi làm thì anh chị gọi số chồng em 0989 556 677 ạ.
Thẻ 8401 5757 5757.
Vũ Thị Hằng

Vào Th 5, 12 thg 11, 2026 lúc 09:00 CSKH K+ <cskh@kplus.example> đã viết:
> Đề nghị Quý khách cho số điện thoại liên hệ.""")
        return message(date=when(11, 12, 12, 0, 0), from_=mailbox(None, "hangvu.nd@gmail.com"),
                       subj=subject("Re: Số điện thoại liên hệ"), msgid=msgid("109", "gmail"), body=gmail(text))

    @case("110-iphone-reply-ngay-mai",
          "iPhone reply: 'ngày mai' (tomorrow) and 'chiều nay' for the appointment are no incident date (untagged); no date",
          E(name="Lữ Thị Bích Ngọc", address=None, phone="+84768001122", email="bichngoc.lu@icloud.com",
            smartcard=None, decoder=None, incident_date=None, category="other"))
    def _110() -> bytes:
        text = T("""
Chiều nay em không ở nhà, ngày mai kỹ thuật qua được không ạ? Gọi em số 0768 001 122.
Lữ Thị Bích Ngọc

> Vào 10:00, 12 thg 11, 2026, CSKH K+ <cskh@kplus.example> đã viết:
> Kỹ thuật viên sẽ đến chiều nay.""")
        return message(date=when(11, 12, 11, 0, 0), from_=mailbox("Bích Ngọc", "bichngoc.lu@icloud.com"),
                       subj=subject("Re: Lịch hẹn"), msgid=msgid("110", "icloud.com"), body=iphone(text), extra=IPHONE)

    @case("111-gmail-reply-card-corrected",
          "Gmail reply correcting the card sent before ('số thẻ em gửi hôm trước bị sai, đúng là …'); the quote holds the wrong one",
          E(name="Tạ Quang Minh", address=None, phone=None, email="taquangminh@gmail.com",
            smartcard="840102020303", decoder=None, incident_date=None, category="other"))
    def _111() -> bytes:
        text = T("""
Số thẻ em gửi hôm trước bị sai, số đúng là 8401 0202 0303 ạ.
Tạ Quang Minh

Vào Th 3, 10 thg 11, 2026 lúc 08:00 Tạ Quang Minh <taquangminh@gmail.com> đã viết:
> Số thẻ: 8401 0202 0330, mất sóng.""")
        return message(date=when(11, 11, 8, 0, 0), from_=mailbox("Tạ Quang Minh", "taquangminh@gmail.com"),
                       subj=subject("Re: Mất sóng"), msgid=msgid("111", "gmail"), body=gmail(text))

    @case("112-southern-prose-tui",
          "Southern speech: 'nhà tui ở ấp 3, xã Long Hưng, huyện Châu Thành, Tiền Giang' (tui = I); 'Tui tên …'; the fee trap 'miễn phí lắp đặt' with a real double charge → fee",
          E(name="Huỳnh Văn Út", address="ấp 3, xã Long Hưng, huyện Châu Thành, Tiền Giang", phone="+84939445566",
            email="huynhvanut1970@gmail.com", smartcard="840163636363", decoder=None, incident_date="2026-11-05", category="fee"))
    def _112() -> bytes:
        text = T("""
Tui tên Huỳnh Văn Út, nhà tui ở ấp 3, xã Long Hưng, huyện Châu Thành, Tiền Giang. Hồi lắp thì nói miễn phí lắp đặt, vậy mà ngày 05/11/2026 tui bị trừ tiền 2 lần.
Thẻ 8401 6363 6363, điện thoại 0939 445 566.""")
        return message(date=when(11, 7, 15, 0, 0), from_=mailbox(None, "huynhvanut1970@gmail.com"),
                       subj=subject("Bị trừ tiền 2 lần"), msgid=msgid("112", "gmail"), body=plain(text, "base64"))

    @case("113-outlook-central-kiet-label",
          "Outlook (windows-1258 QP): Central address 'kiệt' after 'Địa chỉ:' with 'P.' and 'TP Huế'; 'Chủ thuê bao:'; card with dots",
          E(name="Tôn Thất Bảo", address="20 kiệt 7 Nguyễn Trường Tộ, P. Vĩnh Ninh, TP Huế", phone="+84905339933",
            email="tonthatbao@hueuni.edu.vn", smartcard="840174747474", decoder=None, incident_date="2026-11-04", category="other"))
    def _113() -> bytes:
        text = T("""
Kính gửi K+,
Từ ngày 04/11/2026 tivi báo "Không có tín hiệu".
Chủ thuê bao: Tôn Thất Bảo
Địa chỉ: 20 kiệt 7 Nguyễn Trường Tộ, P. Vĩnh Ninh, TP Huế
Số thẻ: 8401.7474.7474
ĐT: 0905 339 933
Trân trọng.""")
        return message(date=when(11, 6, 10, 0, 0), from_=mailbox("Tôn Thất Bảo", "tonthatbao@hueuni.edu.vn", "windows-1258", "Q"),
                       subj=m.ew("Mất tín hiệu", "windows-1258", "Q"), msgid=msgid("113", "outlook"),
                       body=outlook(text, charset="windows-1258"), extra=OUTLOOK)

    @case("114-bank-transfer-not-card",
          "Fee complaint with a bank account number ('STK') and a transaction code: neither is the card; 'chuyển khoản ngày 02/11'",
          E(name="Lưu Thị Bình", address=None, phone="+84912876543", email="binhluu@techcombank-partner.vn",
            smartcard="840129292929", decoder=None, incident_date="2026-11-02", category="fee"))
    def _114() -> bytes:
        text = T("""
Tôi chuyển khoản ngày 02/11 từ STK 19033445566011 (Techcombank), mã GD FT26306123456, nhưng thẻ 8401 2929 2929 chưa được gia hạn.
Liên hệ: 0912 876 543
Lưu Thị Bình""")
        return message(date=when(11, 4, 11, 0, 0), from_=mailbox("Luu Thi Binh", "binhluu@techcombank-partner.vn"),
                       subj=subject("Chuyển khoản chưa được gia hạn"), msgid=msgid("114", "outlook"), body=outlook(text), extra=OUTLOOK)

    @case("115-english-store-manager-signature",
          "English complaint from a café: signature 'Linh Nguyen | Store Manager' (family name last), From display 'Nguyen Thuy Linh': the fuller name; labelled address with 'Ward' and 'District'",
          E(name="Nguyen Thuy Linh", address="45 Le Loi, Ben Thanh Ward, District 1, Ho Chi Minh City", phone="+842873000111",
            email="linh.nguyen@thecoffeecorner.vn", smartcard="840155550000", decoder=None, incident_date="2026-11-10", category="other"))
    def _115() -> bytes:
        text = T("""
Dear K+ Customer Care,

Our café lost all K+ sports channels on 10/11/2026, right before the football season.

Smart card: 8401 5555 0000
Address: 45 Le Loi, Ben Thanh Ward, District 1, Ho Chi Minh City
Tel: (028) 7300 0111

Regards,
Linh Nguyen | Store Manager
The Coffee Corner""")
        return message(date=when(11, 11, 9, 0, 0), from_=mailbox("Nguyen Thuy Linh", "linh.nguyen@thecoffeecorner.vn"),
                       subj=subject("Lost sports channels"), msgid=msgid("115", "outlook"), body=outlook(text), extra=OUTLOOK)

    @case("116-gmail-reply-decoder-corrected",
          "Gmail reply correcting the decoder ('em ghi nhầm số đầu thu, đúng là …') after repeating the mistyped one",
          E(name="Đỗ Thị Mơ", address=None, phone=None, email="dothimo.tb@gmail.com",
            smartcard=None, decoder="K24B0012399", incident_date=None, category="other"))
    def _116() -> bytes:
        text = T("""
Dạ em ghi nhầm số đầu thu K24B0012933, đúng là K24B0012399 ạ.
Đỗ Thị Mơ

Vào Th 4, 11 thg 11, 2026 lúc 10:00 Đỗ Thị Mơ <dothimo.tb@gmail.com> đã viết:
> Số đầu thu: K24B0012933""")
        return message(date=when(11, 11, 20, 0, 0), from_=mailbox(None, "dothimo.tb@gmail.com"),
                       subj=subject("Re: Đầu thu báo lỗi"), msgid=msgid("116", "gmail"), body=gmail(text))

    @case("117-outlook-fw-husband-for-wife",
          "Outlook forward by a husband for his wife ('FW:', From/Sent block): her labelled phone in the forwarded mail, not his unlabelled one in the note; her name",
          E(name="Cao Thị Nhung", address=None, phone="+84355667788", email="nhungcao.bn@gmail.com",
            smartcard="840136363636", decoder=None, incident_date="2026-11-09", category="other"))
    def _117() -> bytes:
        text = T("""
Anh chuyển giúp vợ, cần gì gọi anh 0977 665 544.

________________________________
From: Cao Thị Nhung <nhungcao.bn@gmail.com>
Sent: Tuesday, November 10, 2026 7:00 AM
To: Đặng Văn Hưng <hungdv@viglacera.vn>
Subject: Mất sóng

Họ tên: Cao Thị Nhung
Số thẻ: 8401 3636 3636
SĐT: 0355 667 788
Mất sóng từ ngày 09/11/2026.""")
        return message(date=when(11, 10, 9, 0, 0), from_=mailbox("Đặng Văn Hưng", "hungdv@viglacera.vn"),
                       subj=subject("FW: Mất sóng"), msgid=msgid("117", "outlook"), body=outlook(text), extra=OUTLOOK)

    @case("118-android-reply-sang-nay-weekday",
          "Android Gmail reply: 'sáng nay lại báo lỗi E48' resolved to the Date; 'thứ 6' without a word of time is no date",
          E(name="Lê Hoàng Phúc", address=None, phone="+84935002244", email="phuclh.qn@gmail.com",
            smartcard="840168686868", decoder=None, incident_date="2026-11-13", category="other"))
    def _118() -> bytes:
        text = T("""
Sáng nay đầu thu lại báo lỗi E48. Kỹ thuật hẹn thứ 6 mà chưa thấy. Thẻ 8401 6868 6868, sđt 0935 002 244.
Lê Hoàng Phúc

On Wed, Nov 11, 2026 at 3:00 PM CSKH K+ <cskh@kplus.example> wrote:
> Kỹ thuật viên sẽ đến trong tuần.""")
        return message(date=when(11, 13, 8, 30, 0), from_=mailbox("Phuc Le", "phuclh.qn@gmail.com"),
                       subj=subject("Re: Lịch kỹ thuật"), msgid=msgid("118", "gmail"), body=gmail(text))

    @case("119-gmail-reply-thang-truoc",
          "Gmail reply: 'cước tháng trước bị tính 2 lần' (last month, no day) → fee with no date",
          E(name="Bạch Văn Tài", address=None, phone="+84948223311", email="bachvantai@gmail.com",
            smartcard="840181812121", decoder=None, incident_date=None, category="fee"))
    def _119() -> bytes:
        text = T("""
Cước tháng trước của tôi bị tính 2 lần, đề nghị hoàn lại. Thẻ 8401 8181 2121, ĐT 0948 223 311.
Bạch Văn Tài

Vào Th 2, 9 thg 11, 2026 lúc 09:00 CSKH K+ <cskh@kplus.example> đã viết:
> Quý khách vui lòng mô tả khiếu nại.""")
        return message(date=when(11, 10, 9, 0, 0), from_=mailbox("Bach Van Tai", "bachvantai@gmail.com"),
                       subj=subject("Re: Mô tả khiếu nại"), msgid=msgid("119", "gmail"), body=gmail(text))

    @case("120-outlook-web-html-install-date",
          "Outlook on the web, HTML only: 'Ngày lắp đặt: 01/10/2025' is no incident; 'từ ngày 10/11/2026 mất sóng' is; 'Số ĐT:' label",
          E(name="Dương Thị Mai", address="Lô 12, khu đô thị Phú Mỹ Hưng, phường Tân Mỹ, TP.HCM", phone="+84918336699",
            email="maiduong@outlook.com", smartcard="840171717171", decoder=None, incident_date="2026-11-10", category="other"))
    def _120() -> bytes:
        inner = T("""
<div>Kính gửi K+,</div>
<div>Từ ngày 10/11/2026 nhà tôi mất sóng.</div>
<div>Họ tên: Dương Thị Mai</div>
<div>Số thẻ: 8401 7171 7171</div>
<div>Số ĐT: 0918 336 699</div>
<div>Địa chỉ: Lô 12, khu đô thị Phú Mỹ Hưng, phường Tân Mỹ, TP.HCM</div>
<div>Ngày lắp đặt: 01/10/2025</div>
""")
        return message(date=when(11, 12, 10, 0, 0), from_=mailbox("Dương Thị Mai", "maiduong@outlook.com"),
                       subj=subject("Mất sóng"), msgid=msgid("120", "outlook"), body=html_only(inner))

    @case("121-gmail-reply-landline-hotline",
          "Gmail reply: the hotline quoted back in the new text and a Đà Nẵng landline '(0236) 3 822 456' after 'máy bàn'; the quote holds another landline",
          E(name="Hà Văn Thu", address=None, phone="+842363822456", email="havanthu.dn@gmail.com",
            smartcard="840149494949", decoder=None, incident_date=None, category="other"))
    def _121() -> bytes:
        text = T("""
Tôi gọi 1900 1592 mãi không được. Số máy bàn nhà tôi (0236) 3 822 456, thẻ 8401 4949 4949.
Hà Văn Thu

Vào Th 4, 11 thg 11, 2026 lúc 16:00 CSKH K+ <cskh@kplus.example> đã viết:
> Quý khách có thể liên hệ cửa hàng K+ Đà Nẵng: (0236) 3 500 500.""")
        return message(date=when(11, 12, 8, 0, 0), from_=mailbox("Ha Van Thu", "havanthu.dn@gmail.com"),
                       subj=subject("Re: Hướng dẫn"), msgid=msgid("121", "gmail"), body=gmail(text))

    @case("122-gmail-reply-english-signature",
          "Gmail reply in English with 'Thanks, Quang Pham' and the From display 'Pham Quang' (the same two words): the signature as written",
          E(name="Quang Pham", address=None, phone="+84903223344", email="quang.pham.dev@gmail.com",
            smartcard="840112341234", decoder=None, incident_date=None, category="other"))
    def _122() -> bytes:
        text = T("""
Hi, my card number is 8401 1234 1234 and my phone is 0903 223 344.

Thanks,
Quang Pham

On Thu, Nov 12, 2026 at 11:00 AM CSKH K+ <cskh@kplus.example> wrote:
> Please provide your card number.""")
        return message(date=when(11, 12, 13, 0, 0), from_=mailbox("Pham Quang", "quang.pham.dev@gmail.com"),
                       subj=subject("Re: Card number"), msgid=msgid("122", "gmail"), body=gmail(text))
