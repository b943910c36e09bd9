# ruff: noqa: E501 -- mail bodies below are verbatim customer text; their lines are as long as they are.
"""Golden cases for the miss classes of issue 14 (055-093), registered by ``_make_corpus.py``.

Each class the issue lists has cases of its own, written as the clients customers use write
them (iPhone and Android mail apps, Gmail, Outlook desktop and web, Yahoo, Vietnamese webmail
HTML); a third are replies or forwards with quoted history. The expected values are written
by hand, as a careful agent reads the mail; nothing here computes them.
"""

from __future__ import annotations

import hashlib
import html
from types import ModuleType


def register(m: ModuleType) -> None:  # one long list of cases
    case, E, T, message, when, msgid, mailbox, subject = (
        m.case, m.E, m.T, m.message, m.when, m.msgid, m.mailbox, m.subject)
    text_part, multipart = m.text_part, m.multipart

    def gmail(text: str) -> object:
        return multipart("alternative", [text_part(text, cte="quoted-printable"),
                                         text_part(m.gmail_html(text), subtype="html", cte="quoted-printable")],
                         boundary="000000000000" + hashlib.sha256(text.encode()).hexdigest()[:12])

    def outlook_html(text: str) -> str:
        rows = []
        for line in text.rstrip("\n").split("\n"):
            body = html.escape(line, quote=False) if line else "&nbsp;"
            rows.append(f'<p class="MsoNormal">{body}<o:p></o:p></p>')
        return ('<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>'
                '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
                '<style><!-- p.MsoNormal {margin:0in; font-size:11.0pt; font-family:"Calibri",sans-serif;} --></style>'
                '</head><body lang="VI"><div class="WordSection1">\n' + "\n".join(rows) + "\n</div></body></html>\n")

    def outlook(text: str, charset: str = "utf-8") -> object:
        return multipart("alternative", [text_part(text, charset=charset, cte="quoted-printable"),
                                         text_part(outlook_html(text), subtype="html", charset=charset,
                                                   cte="quoted-printable")],
                         boundary="_000_SG2PR06MB" + hashlib.sha256(text.encode()).hexdigest()[:10].upper() + "_")

    def iphone(text: str) -> object:
        return text_part(text + "\n\nGửi từ iPhone của tôi\n", cte="quoted-printable")

    def android(text: str) -> object:
        return text_part(text + "\n\nGửi từ điện thoại Samsung Galaxy của tôi.\n", cte="base64")

    def webmail_html(inner: str) -> str:
        return ('<html><head><meta charset="utf-8"></head><body style="font-family: Arial; font-size: 13px">'
                + inner + "</body></html>\n")

    # --- invisible and look-alike characters ---------------------------------------------

    @case("055-iphone-nbsp-narrow-nbsp",
          "iPhone Mail: no-break spaces after the labels, a narrow no-break space (U+202F) grouping the card and the phone; 'tối qua' resolved against the Date (Thu 12/11 → 11/11); signal loss (other)",
          E(name="Đinh Thị Thu Hà", address=None, phone="+84904123987", email="thuha.dinh@icloud.com",
            smartcard="840155667788", decoder=None, incident_date="2026-11-11", category="other"))
    def _055() -> bytes:
        text = T("""
Chào K+,

Tối qua nhà em bị mất sóng toàn bộ kênh K+, tivi báo không có tín hiệu. Em đã rút điện đầu thu mà vẫn vậy.

Họ tên:\u00a0Đinh Thị Thu Hà
Số thẻ:\u00a08401\u202f5566\u202f7788
SĐT:\u00a00904\u202f123\u202f987""")
        return message(date=when(11, 12, 7, 42, 5), from_=mailbox("Thu Hà", "thuha.dinh@icloud.com"),
                       subj=subject("Mất sóng K+"), msgid=msgid("055", "icloud.com"), body=iphone(text),
                       extra=("X-Mailer: iPhone Mail (22B91)",))

    @case("056-android-zwsp-soft-hyphen",
          "Samsung Email (base64): a BOM before the text, zero-width spaces inside the card, soft hyphens inside the phone; fee (charged twice on 03/11/2026)",
          E(name="Lưu Văn Khánh", address=None, phone="+84903112233", email="khanh.luu82@gmail.com",
            smartcard="771233445566", decoder=None, incident_date="2026-11-03", category="fee"))
    def _056() -> bytes:
        text = T("""
\ufeffK+ kiểm tra giúp em: ngày 03/11/2026 em gia hạn gói 1 tháng qua ngân hàng mà bị trừ tiền 2 lần.
Số thẻ: 7712\u200b3344\u200b5566
SĐT: 0903\u00ad112\u00ad233
Lưu Văn Khánh""")
        return message(date=when(11, 4, 12, 5, 40), from_=mailbox(None, "khanh.luu82@gmail.com"),
                       subj=subject("Bị trừ tiền 2 lần"), msgid=msgid("056", "gmail"), body=android(text))

    @case("057-yahoo-fullwidth-digits",
          "Yahoo Mail: full-width digits and a full-width colon after 'Mã thẻ' and 'SĐT' (an East Asian keyboard layout); 'ngày 1/11/2026'; decoder model only; picture freezing (other)",
          E(name="Hồ Thị Mỹ Linh", address="Tổ 12, phường Hòa Khánh, TP Đà Nẵng", phone="+84935667001",
            email="mylinh_ho@yahoo.com", smartcard="840566778899", decoder=None, incident_date="2026-11-01",
            category="other"))
    def _057() -> bytes:
        text = T("""
Kính gửi K+,

Từ ngày 1/11/2026 đầu thu nhà tôi xem được vài phút là đứng hình, phải tắt mở lại.

Mã thẻ：８４０５ ６６７７ ８８９９
SĐT：０９３５ ６６７ ００１
Địa chỉ: Tổ 12, phường Hòa Khánh, TP Đà Nẵng

Hồ Thị Mỹ Linh""")
        return message(date=when(11, 9, 19, 2, 11), from_=mailbox("My Linh", "mylinh_ho@yahoo.com"),
                       subj=subject("Đầu thu bị đứng hình"), msgid=msgid("057", "yahoo"),
                       body=multipart("alternative", [text_part(text, cte="quoted-printable"),
                                                      text_part(webmail_html(html.escape(text).replace("\n", "<br>")),
                                                                subtype="html", cte="quoted-printable")],
                                      boundary="----=_Part_1187_902113.1762689731"),
                       extra=("X-Mailer: WebService/1.1.24562 YMailNorrin",))

    @case("058-outlook-en-em-dash",
          "Outlook desktop (alternative): en dashes inside the phone, em dashes with blanks inside the card, an en dash inside the decoder code; 'Chủ thuê bao:'; E48 (other)",
          E(name="Trịnh Quang Vinh", address="Số 7 ngõ 41 Thái Hà, Đống Đa, Hà Nội", phone="+84912345078",
            email="vinh.tq@vietcombank-partner.vn", smartcard="840122334455", decoder="STB-2024-00123",
            incident_date="2026-11-08", category="other"))
    def _058() -> bytes:
        text = T("""
Kính gửi Phòng CSKH K+,

Từ ngày 08/11/2026 đầu thu nhà tôi báo lỗi E48, không xem được kênh nào.

Chủ thuê bao: Trịnh Quang Vinh
Số thẻ: 8401 — 2233 — 4455
Số đầu thu: STB–2024–00123
Điện thoại: 0912–345–078
Địa chỉ: Số 7 ngõ 41 Thái Hà, Đống Đa, Hà Nội

Trân trọng,
Trịnh Quang Vinh""")
        return message(date=when(11, 10, 8, 31, 0), from_=mailbox("Trinh Quang Vinh", "vinh.tq@vietcombank-partner.vn"),
                       subj=subject("Đầu thu báo lỗi E48"), msgid=msgid("058", "outlook"), body=outlook(text),
                       extra=("X-Mailer: Microsoft Outlook 16.0",))

    @case("059-gmail-reply-nbhyphen-zwj",
          "Gmail reply (Vietnamese attribution, '>' quote) to K+'s need-info mail: non-breaking hyphens in the decoder serial, zero-width joiners in the phone; the quote holds the hotline and a ticket ref",
          E(name="Phan Thị Ngọc", address=None, phone="+84987001122", email="ngocphan.hn@gmail.com",
            smartcard=None, decoder="VST-2107-4512", incident_date=None, category="other"))
    def _059() -> bytes:
        text = T("""
Dạ em gửi bổ sung thông tin ạ:
S/N đầu thu: VST\u20112107\u20114512
SĐT: 0987\u200d001\u200d122

Phan Thị Ngọc

Vào Th 5, 12 thg 11, 2026 lúc 09:10 CSKH K+ <cskh@kplus.example> đã viết:
> Kính gửi Quý khách,
> Để xử lý khiếu nại KP-2026-00871, đề nghị Quý khách cung cấp số đầu thu và số điện thoại.
> Hotline 1900 1592.
> Trân trọng,
> Phòng Chăm sóc Khách hàng""")
        return message(date=when(11, 12, 10, 2, 44), from_=mailbox("Ngọc Phan", "ngocphan.hn@gmail.com"),
                       subj=subject("Re: [KP-2026-00871] Yêu cầu bổ sung thông tin"), msgid=msgid("059", "gmail"),
                       body=gmail(text), extra=("In-Reply-To: <kp-871-needinfo@kplus.example>",))

    @case("060-webmail-html-nbsp-entities",
          "Vietnamese webmail, HTML only: '&nbsp;' between each label and its value and inside the card, '&#8203;' inside the phone; labels in a <table>; card-not-recognised (other)",
          E(name="Võ Minh Trí", address="ấp Mỹ Hòa, xã Mỹ Hội, huyện Cao Lãnh, tỉnh Đồng Tháp", phone="+84918223344",
            email="vominhtri@vnpt.vn", smartcard="840177665544", decoder=None, incident_date="2026-11-06",
            category="other"))
    def _060() -> bytes:
        page = webmail_html(T("""
<p>Kính gửi K+,</p>
<p>Ngày 06/11/2026 đầu thu nhà tôi báo &quot;Thẻ không hợp lệ&quot;, không xem được.</p>
<table border="0" cellpadding="2">
<tr><td>Họ tên:</td><td>&nbsp;Võ Minh Trí</td></tr>
<tr><td>Số thẻ:</td><td>&nbsp;8401&nbsp;7766&nbsp;5544</td></tr>
<tr><td>Điện thoại:</td><td>&nbsp;0918&#8203;223&#8203;344</td></tr>
<tr><td>Địa chỉ:</td><td>&nbsp;ấp Mỹ Hòa, xã Mỹ Hội, huyện Cao Lãnh, tỉnh Đồng Tháp</td></tr>
</table>
<p>Xin cảm ơn.</p>
"""))
        return message(date=when(11, 7, 14, 20, 3), from_=mailbox("vominhtri", "vominhtri@vnpt.vn"),
                       subj=subject("Thẻ không hợp lệ"), msgid=msgid("060", "vnpt.vn"),
                       body=text_part(page, subtype="html", cte="base64"), extra=("X-Mailer: Zimbra 8.8.15_GA",))

    # --- multipart/alternative with a stub plain part ------------------------------------

    def stub_alternative(stub: str, page: str, boundary: str) -> object:
        return multipart("alternative", [text_part(stub, cte="7bit" if stub.isascii() else "quoted-printable"),
                                         text_part(page, subtype="html", cte="quoted-printable")], boundary=boundary)

    @case("061-stub-plain-english",
          "multipart/alternative whose text/plain only says 'This message is in HTML format' (a mailing tool a shop uses): the HTML part holds the complaint; fee (package price changed without notice)",
          E(name="Nguyễn Thị Kim Oanh", address="88 Trần Hưng Đạo, phường Cầu Ông Lãnh, TP.HCM", phone="+84908556677",
            email="oanh.nguyen@saigonmart.vn", smartcard="840199887766", decoder=None, incident_date="2026-11-02",
            category="fee"))
    def _061() -> bytes:
        page = webmail_html(T("""
<div>Kính gửi K+,</div><div><br></div>
<div>Ngày 02/11/2026 cửa hàng tôi bị tính cước gói Premium 220.000đ thay vì 175.000đ mà không được báo trước.</div>
<div><br></div>
<div>Họ và tên: Nguyễn Thị Kim Oanh</div>
<div>Số thẻ giải mã: 8401 9988 7766</div>
<div>Số điện thoại: 0908 556 677</div>
<div>Địa chỉ: 88 Trần Hưng Đạo, phường Cầu Ông Lãnh, TP.HCM</div>
"""))
        stub = "This message is in HTML format. Please use an HTML-capable mail client to view it.\n"
        return message(date=when(11, 5, 9, 0, 12), from_=mailbox("Saigon Mart", "oanh.nguyen@saigonmart.vn"),
                       subj=subject("Khiếu nại cước gói Premium"), msgid=msgid("061", "saigonmart.vn"),
                       body=stub_alternative(stub, page, "b1_4f0c2a9d1e7b"))

    @case("062-stub-plain-vietnamese",
          "multipart/alternative from a Vietnamese webmail whose text/plain is 'Thư này được soạn ở định dạng HTML…': the HTML part holds the complaint, details in a table; 'hôm 5-11'; signal loss (other)",
          E(name="Lê Văn Toàn", address="thôn Phú Mỹ, xã Phú Xuân, tỉnh Thái Bình", phone="+84363221144",
            email="levantoan.tb@vnn.vn", smartcard="840133221100", decoder="ODS1400-2256871", incident_date="2026-11-05",
            category="other"))
    def _062() -> bytes:
        page = webmail_html(T("""
<p>Chào K+,</p>
<p>Hôm 5-11 nhà tôi bị mất sóng, đến nay vẫn chưa xem được.</p>
<table><tr><td><b>Họ tên</b></td><td>Lê Văn Toàn</td></tr>
<tr><td><b>Số thẻ</b></td><td>8401 3322 1100</td></tr>
<tr><td><b>Số đầu thu</b></td><td>ODS1400-2256871</td></tr>
<tr><td><b>Điện thoại</b></td><td>0363 221 144</td></tr>
<tr><td><b>Địa chỉ</b></td><td>thôn Phú Mỹ, xã Phú Xuân, tỉnh Thái Bình</td></tr></table>
"""))
        stub = "Thư này được soạn ở định dạng HTML. Vui lòng xem bằng trình duyệt hoặc ứng dụng thư có hỗ trợ HTML.\n"
        return message(date=when(11, 9, 16, 45, 9), from_=mailbox("Lê Văn Toàn", "levantoan.tb@vnn.vn"),
                       subj=subject("Mất sóng"), msgid=msgid("062", "vnn.vn"),
                       body=stub_alternative(stub, page, "=_vnn_mail_5a1b"))

    @case("063-stub-empty-plain-outlook-web-reply",
          "Outlook on the web reply whose text/plain is empty: the HTML part holds the reply and the quoted K+ mail ('Từ:/Đã gửi:/Đến:/Chủ đề:'), which carries another phone; the customer's phone and card are in her own text",
          E(name="Bùi Thanh Hương", address=None, phone="+84396554433", email="huong.bui@outlook.com",
            smartcard="840144556677", decoder=None, incident_date=None, category="other"))
    def _063() -> bytes:
        page = webmail_html(T("""
<div>Chào anh chị,</div>
<div>Em bổ sung số thẻ 8401 4455 6677, SĐT 0396 554 433. Mong K+ sớm cử kỹ thuật.</div>
<div>Bùi Thanh Hương</div>
<hr>
<div><b>Từ:</b> CSKH K+ &lt;cskh@kplus.example&gt;<br>
<b>Đã gửi:</b> Thứ Tư, 11 tháng 11, 2026 16:05<br>
<b>Đến:</b> huong.bui@outlook.com<br>
<b>Chủ đề:</b> Yêu cầu bổ sung thông tin</div>
<div>Kính gửi Quý khách, vui lòng cung cấp số thẻ. Mọi thắc mắc xin gọi 0283 9100 100.</div>
"""))
        return message(date=when(11, 12, 8, 15, 0), from_=mailbox("Bùi Thanh Hương", "huong.bui@outlook.com"),
                       subj=subject("RE: Yêu cầu bổ sung thông tin"), msgid=msgid("063", "outlook"),
                       body=stub_alternative("\n", page, "_000_PSAPR06MB4410_"))

    # --- addresses -----------------------------------------------------------------------

    @case("064-address-two-lines-hcm",
          "Gmail: the labelled address goes on to a second line ('P. Bến Thành, Q.1, TP.HCM'); joined with a comma",
          E(name="Trần Gia Bảo", address="45/12 Nguyễn Thị Minh Khai, P. Bến Thành, Q.1, TP.HCM", phone="+84938120456",
            email="giabao.tran@gmail.com", smartcard="840100223344", decoder=None, incident_date="2026-11-10",
            category="other"))
    def _064() -> bytes:
        text = T("""
Chào K+,
Từ ngày 10/11/2026 nhà em mất kênh K+ Sport 1.

Họ tên: Trần Gia Bảo
Địa chỉ: 45/12 Nguyễn Thị Minh Khai
P. Bến Thành, Q.1, TP.HCM
Số thẻ: 8401 0022 3344
SĐT: 0938 120 456
""")
        return message(date=when(11, 11, 21, 5, 30), from_=mailbox("Gia Bao Tran", "giabao.tran@gmail.com"),
                       subj=subject("Mất kênh K+ Sport 1"), msgid=msgid("064", "gmail"), body=gmail(text))

    @case("065-address-signature-unlabelled",
          "Outlook desktop: name, phone and the address in the signature block, the address line with no label; card by 'số thẻ' in prose; picture breaking up (other)",
          E(name="Đỗ Quang Huy", address="Số 12 ngõ 34 Nguyễn Lương Bằng, Đống Đa, Hà Nội", phone="+84913556677",
            email="huy.doquang@fpt.vn", smartcard="840188990011", decoder=None, incident_date=None, category="other"))
    def _065() -> bytes:
        text = T("""
Kính gửi K+,

Mấy hôm nay kênh K+ Cine nhà tôi bị vỡ hình liên tục. Nhờ K+ kiểm tra giúp thuê bao số thẻ 8401 8899 0011.

Trân trọng,
Đỗ Quang Huy
0913 556 677
Số 12 ngõ 34 Nguyễn Lương Bằng, Đống Đa, Hà Nội""")
        return message(date=when(11, 6, 10, 11, 52), from_=mailbox("Do Quang Huy", "huy.doquang@fpt.vn"),
                       subj=subject("Kênh K+ Cine vỡ hình"), msgid=msgid("065", "outlook"), body=outlook(text),
                       extra=("X-Mailer: Microsoft Outlook 16.0",))

    @case("066-address-prose-hem-south",
          "Android Gmail: the address in prose 'nhà em ở hẻm …, phường 12, quận Bình Thạnh ạ' (Southern form, sentence particle dropped); 'SĐT em'; no signal (other)",
          E(name=None, address="hẻm 128 Bùi Đình Túy, phường 12, quận Bình Thạnh", phone="+84977300411",
            email="kimngan.tran1995@gmail.com", smartcard="840127272727", decoder=None, incident_date="2026-11-11",
            category="other"))
    def _066() -> bytes:
        text = T("""
Dạ chào K+, nhà em ở hẻm 128 Bùi Đình Túy, phường 12, quận Bình Thạnh ạ. Từ tối qua nhà em không xem được K+, báo mất tín hiệu.
Thẻ của em là 8401 2727 2727, SĐT em 0977 300 411.""")
        return message(date=when(11, 12, 6, 58, 1), from_=mailbox(None, "kimngan.tran1995@gmail.com"),
                       subj=subject("Không xem được K+"), msgid=msgid("066", "gmail"), body=android(text))

    @case("067-address-kiet-central-reply",
          "Yahoo reply (English attribution, '>' quote holding K+'s address and hotline): the customer's address in prose 'Nhà mình ở kiệt 45 Hùng Vương, …' (Central form); the name alone on the last line",
          E(name="Châu Ngọc Hân", address="kiệt 45 Hùng Vương, phường Hải Châu, TP Đà Nẵng", phone="+84905778899",
            email="hanchau.dn@yahoo.com.vn", smartcard="840155443322", decoder=None, incident_date=None, category="other"))
    def _067() -> bytes:
        text = T("""
Nhà mình ở kiệt 45 Hùng Vương, phường Hải Châu, TP Đà Nẵng. Số thẻ 8401 5544 3322, số điện thoại 0905 778 899. Mong K+ cho kỹ thuật qua sớm.
Châu Ngọc Hân

On Wednesday, November 11, 2026 at 03:12:40 PM GMT+7, CSKH K+ <cskh@kplus.example> wrote:
> Kính gửi Quý khách,
> Đề nghị Quý khách cung cấp địa chỉ lắp đặt. Cửa hàng K+ gần nhất: 12 Lê Duẩn, Đà Nẵng.
> Hotline 1900 1592.""")
        return message(date=when(11, 12, 9, 30, 0), from_=mailbox("Han Chau", "hanchau.dn@yahoo.com.vn"),
                       subj=subject("Re: Yêu cầu bổ sung thông tin"), msgid=msgid("067", "yahoo"),
                       body=text_part(text, cte="quoted-printable"), extra=("X-Mailer: YahooMailAndroidMobile",))

    @case("068-address-ngach-ngo-north",
          "Northern form 'số 6 ngách 15/2 ngõ 92 …, Cầu Giấy, HN' after 'Địa chỉ:'; the ngách number with a slash is no date; 'mùng 3' date",
          E(name="Nghiêm Xuân Tùng", address="số 6 ngách 15/2 ngõ 92 Nguyễn Khánh Toàn, Cầu Giấy, HN", phone="+84966888120",
            email="tungnx@vnu.edu.vn", smartcard="840166112233", decoder=None, incident_date="2026-11-03", category="other"))
    def _068() -> bytes:
        text = T("""
K+ thân mến,
Từ mùng 3/11 nhà tôi bị mất kênh HBO và Cinemax.
Họ tên: Nghiêm Xuân Tùng
Địa chỉ: số 6 ngách 15/2 ngõ 92 Nguyễn Khánh Toàn, Cầu Giấy, HN
Số thẻ: 8401 6611 2233
Điện thoại: 0966 888 120""")
        return message(date=when(11, 8, 20, 10, 0), from_=mailbox("Nghiem Xuan Tung", "tungnx@vnu.edu.vn"),
                       subj=subject("Mất kênh HBO"), msgid=msgid("068", "vnu.edu.vn"), body=gmail(text))

    @case("069-address-xom-thon-abbrev",
          "Rural Northern address with abbreviations 'H.' (huyện) and pre-2025 province after 'Đ/c:'; 'sdt' lower case; fee (top-up not credited, 'nạp tiền ngày')",
          E(name="Kiều Văn Hải", address="xóm 4, thôn Trung, xã Nghĩa Hưng, H. Vĩnh Tường, Vĩnh Phúc", phone="+84344556677",
            email="kieuvanhai.vp@gmail.com", smartcard="840144001122", decoder=None, incident_date="2026-11-07",
            category="fee"))
    def _069() -> bytes:
        text = T("""
Em nạp tiền 175.000đ ngày 07/11/2026 qua thẻ cào mà K+ chưa cộng vào tài khoản.
Kiều Văn Hải
Đ/c: xóm 4, thôn Trung, xã Nghĩa Hưng, H. Vĩnh Tường, Vĩnh Phúc
sdt 0344 556 677
Số thẻ 8401 4400 1122""")
        return message(date=when(11, 9, 7, 15, 0), from_=mailbox(None, "kieuvanhai.vp@gmail.com"),
                       subj=subject("Nạp tiền chưa được cộng"), msgid=msgid("069", "gmail"), body=android(text))

    @case("070-address-ap-tx-fwd",
          "Gmail forward by a daughter of her father's complaint ('---------- Forwarded message ---------'): Southern 'ấp …, Tx. Kiến Tường'; the identifiers are in the forwarded mail; 'hôm qua' there is not resolved (its own date)",
          E(name="Lâm Văn Sáu", address="ấp Tân Hòa, xã Tân Thạnh, Tx. Kiến Tường, Long An", phone="+84919334455",
            email="lamvansau1960@gmail.com", smartcard="840113579246", decoder=None, incident_date=None, category="other"))
    def _070() -> bytes:
        text = T("""
Em chuyển thư của ba em, nhờ K+ hỗ trợ giúp ạ.

---------- Forwarded message ---------
From: Lâm Văn Sáu <lamvansau1960@gmail.com>
Date: Th 3, 10 thg 11, 2026 lúc 19:20
Subject: Mất sóng K+
To: Lâm Thị Mai <maithilam@gmail.com>

Hôm qua nhà tôi mất sóng K+.
Họ tên: Lâm Văn Sáu
Địa chỉ: ấp Tân Hòa, xã Tân Thạnh, Tx. Kiến Tường, Long An
Số thẻ: 8401 1357 9246
ĐT: 0919 334 455""")
        return message(date=when(11, 12, 11, 0, 0), from_=mailbox("Lâm Thị Mai", "maithilam@gmail.com"),
                       subj=subject("Fwd: Mất sóng K+"), msgid=msgid("070", "gmail"), body=gmail(text))

    @case("071-address-2025-two-level",
          "The 2025 two-level form: ward directly under the province ('phường Sài Gòn, Thành phố Hồ Chí Minh'), no district; 'Địa chỉ lắp đặt:'; subscription billed after cancelling (fee)",
          E(name="Phạm Hoàng Long", address="18 Lê Duẩn, phường Sài Gòn, Thành phố Hồ Chí Minh", phone="+84903880011",
            email="long.pham@lawfirm.com.vn", smartcard="840102030405", decoder=None, incident_date="2026-11-01",
            category="fee"))
    def _071() -> bytes:
        text = T("""
Kính gửi K+,

Tôi đã yêu cầu cắt thuê bao từ tháng 10 nhưng hóa đơn ngày 01/11/2026 vẫn tính cước tháng 11.

Họ tên: Phạm Hoàng Long
Địa chỉ lắp đặt: 18 Lê Duẩn, phường Sài Gòn, Thành phố Hồ Chí Minh
Số thẻ: 8401 0203 0405
Điện thoại: 0903 880 011

Trân trọng,
Phạm Hoàng Long""")
        return message(date=when(11, 3, 15, 40, 0), from_=mailbox("Pham Hoang Long", "long.pham@lawfirm.com.vn"),
                       subj=subject("Bị tính cước sau khi cắt thuê bao"), msgid=msgid("071", "outlook"), body=outlook(text),
                       extra=("X-Mailer: Microsoft Outlook 16.0",))

    @case("072-address-to-dan-pho-2025",
          "'Tổ dân phố 7, phường Phan Đình Phùng, tỉnh Thái Nguyên' (2025 form) in prose after 'Nhà tôi ở'; decoder by 'Mã đầu thu:'; no date",
          E(name="Ma Văn Thắng", address="Tổ dân phố 7, phường Phan Đình Phùng, tỉnh Thái Nguyên", phone="+84985001234",
            email="thangmv.tn@gmail.com", smartcard=None, decoder="K23A0087712", incident_date=None, category="other"))
    def _072() -> bytes:
        text = T("""
Nhà tôi ở Tổ dân phố 7, phường Phan Đình Phùng, tỉnh Thái Nguyên. Đầu thu cứ khởi động lại liên tục.
Mã đầu thu: K23A0087712
Liên hệ: 0985 001 234
Ma Văn Thắng""")
        return message(date=when(11, 10, 17, 17, 17), from_=mailbox("Thang Ma", "thangmv.tn@gmail.com"),
                       subj=subject("Đầu thu tự khởi động lại"), msgid=msgid("072", "gmail"), body=gmail(text))

    # --- names cut short ---------------------------------------------------------------

    @case("073-name-given-label-full-signature",
          "'Tên: Hùng' (given name only) with the full name in the signature: the full name; Outlook reply with a 'From:/Sent:' quoted block holding an agent's name",
          E(name="Nguyễn Mạnh Hùng", address=None, phone="+84912009988", email="hungnm@vinasoft.vn",
            smartcard="840190807060", decoder=None, incident_date=None, category="other"))
    def _073() -> bytes:
        text = T("""
Chào chị,
Em gửi lại thông tin:
Tên: Hùng
Số thẻ: 8401 9080 7060
SĐT: 0912 009 988

Trân trọng,
Nguyễn Mạnh Hùng

From: Trần Thu Trang <cskh@kplus.example>
Sent: Wednesday, November 11, 2026 2:10 PM
To: hungnm@vinasoft.vn
Subject: Bổ sung thông tin

Kính gửi anh Hùng, đề nghị anh cung cấp số thẻ và số điện thoại.
Trần Thu Trang""")
        return message(date=when(11, 12, 8, 5, 0), from_=mailbox("HungNM", "hungnm@vinasoft.vn"),
                       subj=subject("RE: Bổ sung thông tin"), msgid=msgid("073", "outlook"), body=outlook(text),
                       extra=("X-Mailer: Microsoft Outlook 16.0",))

    @case("074-name-signoff-given-display-full",
          "iPhone: sign-off with the given name only ('Tuấn'); the From display name holds the whole name: the whole name",
          E(name="Nguyễn Minh Tuấn", address=None, phone="+84706112233", email="tuan.nguyenminh@gmail.com",
            smartcard="840175757575", decoder=None, incident_date="2026-11-12", category="other"))
    def _074() -> bytes:
        text = T("""
K+ ơi sáng nay đầu thu nhà em không lên hình, chỉ có tiếng. Thẻ 8401 7575 7575, sđt 0706 112 233.
Tuấn""")
        return message(date=when(11, 12, 11, 30, 0), from_=mailbox("Nguyễn Minh Tuấn", "tuan.nguyenminh@gmail.com"),
                       subj=subject("Không lên hình"), msgid=msgid("074", "gmail"), body=iphone(text),
                       extra=("X-Mailer: iPhone Mail (22B91)",))

    @case("075-name-english-signature-family-last",
          "English-style signature 'Hoa Tran' (family name last) and the From display name 'Tran Thi Hoa': the fuller name; 'Best regards,'; fee (invoice)",
          E(name="Tran Thi Hoa", address=None, phone="+84936402040", email="hoa.tran@pwc-partner.com.vn",
            smartcard="840136402040", decoder=None, incident_date="2026-11-01", category="fee"))
    def _075() -> bytes:
        text = T("""
Dear K+,

The invoice dated 01/11/2026 for smart card 8401 3640 2040 charges two months instead of one. Please check and refund.

Best regards,
Hoa Tran
Mobile: 0936 402 040""")
        return message(date=when(11, 4, 9, 9, 9), from_=mailbox("Tran Thi Hoa", "hoa.tran@pwc-partner.com.vn"),
                       subj=subject("Wrong invoice"), msgid=msgid("075", "outlook"), body=outlook(text),
                       extra=("X-Mailer: Microsoft Outlook 16.0",))

    @case("076-name-english-prose",
          "Complaint written in English: 'My name is …', 'Card number:', 'Phone:', 'since yesterday' resolved against the Date; no signal (other)",
          E(name="Nguyen Van Long", address="12 Ton Duc Thang, Ben Nghe Ward, District 1, HCMC", phone="+84903111999",
            email="long.nguyen@expat-mail.com", smartcard="840111333555", decoder=None, incident_date="2026-11-08",
            category="other"))
    def _076() -> bytes:
        text = T("""
Hello,

My name is Nguyen Van Long. Since yesterday my K+ decoder shows "No signal" on every channel.

Card number: 8401 1133 3555
Phone: 0903 111 999
Address: 12 Ton Duc Thang, Ben Nghe Ward, District 1, HCMC

Thanks""")
        return message(date=when(11, 9, 8, 0, 0), from_=mailbox("Long", "long.nguyen@expat-mail.com"),
                       subj=subject("No signal on K+"), msgid=msgid("076", "expat-mail.com"), body=gmail(text))

    # --- informal dates ----------------------------------------------------------------

    @case("077-date-toi-qua-gmail-reply",
          "Gmail reply: 'từ tối qua' resolved against the Date (12/11 → 11/11); the '>' quote holds K+'s own dates and the hotline",
          E(name="Mạc Văn Đông", address=None, phone="+84984556123", email="dongmac.hp@gmail.com",
            smartcard="840148484848", decoder=None, incident_date="2026-11-11", category="other"))
    def _077() -> bytes:
        text = T("""
Dạ K+ ơi, từ tối qua nhà em lại mất sóng tiếp rồi. Thẻ 8401 4848 4848, sđt 0984 556 123.
Mạc Văn Đông

Vào Th 2, 2 thg 11, 2026 lúc 10:00 CSKH K+ <cskh@kplus.example> đã viết:
> Kính gửi Quý khách, sự cố ngày 30/10/2026 đã được khắc phục ngày 01/11/2026.
> Hotline 1900 1592.""")
        return message(date=when(11, 12, 7, 5, 0), from_=mailbox("Đông Mạc", "dongmac.hp@gmail.com"),
                       subj=subject("Re: Thông báo khắc phục sự cố"), msgid=msgid("077", "gmail"), body=gmail(text))

    @case("078-date-sang-nay-android",
          "Android: 'Sáng nay … báo lỗi' is the mail's own day; 'Tôi qua' (I went) is no date; E48 (other)",
          E(name="Thạch Thị Sa Rin", address="ấp Trà Canh, xã Lịch Hội Thượng, TP Cần Thơ", phone="+84868220311",
            email="sarin.thach@gmail.com", smartcard="840161616161", decoder=None, incident_date="2026-11-10",
            category="other"))
    def _078() -> bytes:
        text = T("""
Sáng nay đầu thu nhà tôi báo lỗi E48. Tôi qua cửa hàng gần nhà hỏi thì họ bảo gửi mail cho K+.
Họ tên: Thạch Thị Sa Rin
Số thẻ: 8401 6161 6161
SĐT: 0868 220 311
Địa chỉ: ấp Trà Canh, xã Lịch Hội Thượng, TP Cần Thơ""")
        return message(date=when(11, 10, 10, 30, 0), from_=mailbox(None, "sarin.thach@gmail.com"),
                       subj=subject("Lỗi E48"), msgid=msgid("078", "gmail"), body=android(text))

    @case("079-date-hom-5-11-fee",
          "'hôm 5-11' (day-month with a dash, no year) after 'hôm': the payment date; fee (charged twice)",
          E(name="Tạ Thị Lan Anh", address=None, phone="+84989123321", email="lananh.ta@gmail.com",
            smartcard="840109090909", decoder=None, incident_date="2026-11-05", category="fee"))
    def _079() -> bytes:
        text = T("""
Hôm 5-11 em thanh toán gia hạn qua MoMo thì bị trừ tiền 2 lần, mỗi lần 175.000đ. Nhờ K+ hoàn lại giúp em.
Số thẻ: 8401 0909 0909
SĐT: 0989 123 321
Tạ Thị Lan Anh""")
        return message(date=when(11, 8, 22, 0, 0), from_=mailbox("Lan Anh", "lananh.ta@gmail.com"),
                       subj=subject("Bị trừ tiền 2 lần"), msgid=msgid("079", "gmail"), body=gmail(text))

    @case("080-date-ngay-thang-words-yahoo",
          "'Từ ngày 5 tháng 11' (words, no year) → the Date's year; Yahoo; 'Tên tôi là …'",
          E(name="Đoàn Thị Thanh Tâm", address=None, phone="+84829664411", email="tamdoan_76@yahoo.com",
            smartcard="840177001100", decoder=None, incident_date="2026-11-05", category="other"))
    def _080() -> bytes:
        text = T("""
Tên tôi là Đoàn Thị Thanh Tâm. Từ ngày 5 tháng 11 đầu thu nhà tôi mất hết kênh thể thao.
Số thẻ: 8401 7700 1100
SĐT: 0829 664 411""")
        return message(date=when(11, 9, 13, 0, 0), from_=mailbox("Tam Doan", "tamdoan_76@yahoo.com"),
                       subj=subject("Mất kênh thể thao"), msgid=msgid("080", "yahoo"),
                       body=text_part(text, cte="quoted-printable"), extra=("X-Mailer: YahooMailAndroidMobile",))

    @case("081-date-weekday-tuan-truoc",
          "'Từ thứ 7 tuần trước' with the Date a Thursday (12/11/2026) → Saturday 07/11/2026; 'lần thứ 2' is no date",
          E(name="Cao Văn Bình", address=None, phone="+84917224466", email="binhcv.hue@gmail.com",
            smartcard="840152525252", decoder=None, incident_date="2026-11-07", category="other"))
    def _081() -> bytes:
        text = T("""
Đây là lần thứ 2 tôi gửi thư. Từ thứ 7 tuần trước nhà tôi bị mất sóng, gọi tổng đài mãi không được.
Số thẻ: 8401 5252 5252
ĐT: 0917 224 466
Cao Văn Bình""")
        return message(date=when(11, 12, 14, 0, 0), from_=mailbox("Cao Van Binh", "binhcv.hue@gmail.com"),
                       subj=subject("Lần 2: mất sóng"), msgid=msgid("081", "gmail"), body=gmail(text))

    @case("082-date-ambiguous-null",
          "Only vague dates ('mấy hôm nay', 'tuần trước', 'hôm trước'): the incident date stays null",
          E(name="Lý Thị Hồng", address=None, phone="+84356778899", email="hongly.bg@gmail.com",
            smartcard="840133335555", decoder=None, incident_date=None, category="other"))
    def _082() -> bytes:
        text = T("""
Mấy hôm nay tivi nhà em cứ chập chờn, tuần trước thợ đến xem rồi mà hôm trước lại bị tiếp.
Số thẻ: 8401 3333 5555
SĐT: 0356 778 899
Lý Thị Hồng""")
        return message(date=when(11, 12, 20, 0, 0), from_=mailbox(None, "hongly.bg@gmail.com"),
                       subj=subject("Tivi chập chờn"), msgid=msgid("082", "gmail"), body=iphone(text),
                       extra=("X-Mailer: iPhone Mail (22B91)",))

    @case("083-date-chu-nhat-vua-roi-outlook-fwd",
          "Outlook forward of her own earlier mail ('FW:', a '____' line and a 'From:/Sent:' header block; the card is in the forwarded mail): 'chủ nhật vừa rồi' in the new text, Date Thu 12/11 → Sun 08/11",
          E(name="Vương Thị Bích", address=None, phone="+84388112299", email="bichvt@hanoitelecom.vn",
            smartcard="840100998877", decoder=None, incident_date="2026-11-08", category="other"))
    def _083() -> bytes:
        text = T("""
Gửi lại K+: từ chủ nhật vừa rồi nhà tôi lại mất sóng, như thư tôi gửi trước đây.
SĐT: 0388 112 299
Vương Thị Bích

________________________________
From: Vương Thị Bích <bichvt@hanoitelecom.vn>
Sent: Monday, October 5, 2026 9:00 AM
To: cskh@kplus.example
Subject: Mất sóng

Số thẻ: 8401 0099 8877. Nhà tôi hay bị mất sóng khi trời mưa.""")
        return message(date=when(11, 12, 9, 45, 0), from_=mailbox("Vương Thị Bích", "bichvt@hanoitelecom.vn"),
                       subj=subject("FW: Mất sóng"), msgid=msgid("083", "outlook"), body=outlook(text),
                       extra=("X-Mailer: Microsoft Outlook 16.0",))

    # --- the right one of two candidates -----------------------------------------------

    @case("084-phone-old-and-new",
          "An old phone ('SĐT cũ … em không dùng nữa') and the new one ('số mới:'): the new one",
          E(name="Hà Thị Nguyệt", address=None, phone="+84988333444", email="nguyetha88@gmail.com",
            smartcard="840126262626", decoder=None, incident_date=None, category="other"))
    def _084() -> bytes:
        text = T("""
Chào K+, em đổi số điện thoại, nhờ K+ cập nhật giúp em và cho kỹ thuật gọi số mới.
SĐT cũ 0912 111 222 em không dùng nữa, số mới: 0988 333 444.
Số thẻ: 8401 2626 2626
Hà Thị Nguyệt""")
        return message(date=when(11, 6, 9, 0, 0), from_=mailbox(None, "nguyetha88@gmail.com"),
                       subj=subject("Đổi số điện thoại"), msgid=msgid("084", "gmail"), body=gmail(text))

    @case("085-card-mistyped-then-corrected",
          "A mistyped card followed by the correction ('em gõ nhầm, số đúng là …'): the corrected card; renewal not applied (fee)",
          E(name="Lò Văn Pản", address=None, phone="+84399001122", email="lovanpan.sl@gmail.com",
            smartcard="840123456798", decoder=None, incident_date=None, category="fee"))
    def _085() -> bytes:
        text = T("""
Thẻ nhà em báo hết hạn dù đã gia hạn rồi.
Số thẻ: 8401 2345 6789 (em gõ nhầm, số đúng là 8401 2345 6798)
SĐT: 0399 001 122
Lò Văn Pản""")
        return message(date=when(11, 7, 18, 0, 0), from_=mailbox(None, "lovanpan.sl@gmail.com"),
                       subj=subject("Thẻ báo hết hạn"), msgid=msgid("085", "gmail"), body=android(text))

    @case("086-relative-number-beside-own",
          "The customer's own number and a son's number to call if she is out ('gọi cho con trai tôi …'): her own; Outlook web reply quote",
          E(name="Quách Thị Liên", address=None, phone="+84903456789", email="lien.quach@hotmail.com",
            smartcard="840155001122", decoder=None, incident_date=None, category="other"))
    def _086() -> bytes:
        text = T("""
Số điện thoại của tôi 0903 456 789, nếu không liên lạc được thì gọi cho con trai tôi 0977 222 333.
Số thẻ: 8401 5500 1122
Quách Thị Liên

Từ: CSKH K+ <cskh@kplus.example>
Đã gửi: Thứ Ba, 10 tháng 11, 2026 11:00
Đến: lien.quach@hotmail.com
Chủ đề: Xác nhận thông tin

Đề nghị Quý khách cung cấp số điện thoại liên hệ.""")
        return message(date=when(11, 10, 15, 0, 0), from_=mailbox("Quach Lien", "lien.quach@hotmail.com"),
                       subj=subject("RE: Xác nhận thông tin"), msgid=msgid("086", "outlook"), body=outlook(text))

    @case("087-technician-number-in-text",
          "The technician's number in the customer's story ('kỹ thuật viên tên Tùng (0988 777 666)') is not the customer's; her own is after 'SĐT em'; 'hôm qua' dates the visit, not the fault → null",
          E(name="Mai Thị Hạnh", address=None, phone="+84912707070", email="hanhmai.qn@gmail.com",
            smartcard="840170707070", decoder=None, incident_date=None, category="other"))
    def _087() -> bytes:
        text = T("""
Hôm qua kỹ thuật viên tên Tùng (0988 777 666) đến nhà nhưng không sửa được, đầu thu vẫn mất sóng.
SĐT em 0912 707 070, số thẻ 8401 7070 7070.
Mai Thị Hạnh""")
        return message(date=when(11, 12, 19, 0, 0), from_=mailbox("Mai Hanh", "hanhmai.qn@gmail.com"),
                       subj=subject("Kỹ thuật không sửa được"), msgid=msgid("087", "gmail"), body=gmail(text))

    @case("088-salesman-number-only",
          "The only phone in the mail is the salesman's ('nhân viên bán hàng anh Phong sđt …'): phone null; 'miễn phí' is no charge → other",
          E(name="Hoàng Văn Sơn", address=None, phone=None, email="sonhv.dl@gmail.com",
            smartcard="840108080808", decoder=None, incident_date=None, category="other"))
    def _088() -> bytes:
        text = T("""
Nhân viên bán hàng anh Phong sđt 0935 111 222 tư vấn cho tôi gói xem miễn phí 3 tháng, nhưng giờ tôi không xem được kênh nào.
Số thẻ: 8401 0808 0808
Hoàng Văn Sơn""")
        return message(date=when(11, 11, 10, 0, 0), from_=mailbox(None, "sonhv.dl@gmail.com"),
                       subj=subject("Không xem được"), msgid=msgid("088", "gmail"), body=gmail(text))

    @case("089-decoder-old-and-new",
          "An old decoder and the new one after a swap ('Số đầu thu cũ:' / 'Số đầu thu mới:'): the new one",
          E(name="Đặng Thị Xuân", address=None, phone="+84974112244", email="xuandang.nd@gmail.com",
            smartcard="840181818181", decoder="K24B0099123", incident_date=None, category="other"))
    def _089() -> bytes:
        text = T("""
Cửa hàng đã đổi đầu thu cho tôi nhưng đầu thu mới chưa kích hoạt được.
Số đầu thu cũ: K23A0045871
Số đầu thu mới: K24B0099123
Số thẻ: 8401 8181 8181
SĐT: 0974 112 244
Đặng Thị Xuân""")
        return message(date=when(11, 9, 9, 0, 0), from_=mailbox(None, "xuandang.nd@gmail.com"),
                       subj=subject("Đầu thu mới chưa kích hoạt"), msgid=msgid("089", "gmail"), body=gmail(text))

    # --- category traps ------------------------------------------------------------------

    @case("090-mien-phi-not-fee",
          "'miễn phí' (free) names no charge: a signal complaint about a free trial package → other",
          E(name="Tôn Nữ Minh Thư", address=None, phone="+84935224488", email="minhthu.tonnu@gmail.com",
            smartcard="840193939393", decoder=None, incident_date="2026-11-11", category="other"))
    def _090() -> bytes:
        text = T("""
Nhà em đăng ký gói xem thử miễn phí 1 tháng, từ tối qua thì không xem được kênh nào.
Số thẻ: 8401 9393 9393
SĐT: 0935 224 488
Tôn Nữ Minh Thư""")
        return message(date=when(11, 12, 8, 0, 0), from_=mailbox(None, "minhthu.tonnu@gmail.com"),
                       subj=subject("Gói miễn phí không xem được"), msgid=msgid("090", "gmail"), body=iphone(text),
                       extra=("X-Mailer: iPhone Mail (22B91)",))

    @case("091-khuyen-mai-not-fee-reply",
          "A promotion ('khuyến mãi tặng 1 tháng', 'ưu đãi giá') is an offer, not a charge: the question is about a missing channel → other; Gmail reply with quoted promotion",
          E(name="Lê Quốc Khánh", address=None, phone="+84901223344", email="khanhlq.vt@gmail.com",
            smartcard="840137373737", decoder=None, incident_date=None, category="other"))
    def _091() -> bytes:
        text = T("""
K+ đang có khuyến mãi tặng 1 tháng xem kênh Cinemax với giá ưu đãi, nhưng nhà em vẫn chưa thấy kênh này.
Số thẻ: 8401 3737 3737, SĐT 0901 223 344.
Lê Quốc Khánh

Vào Th 4, 11 thg 11, 2026 lúc 08:00 K+ <khuyenmai@kplus.example> đã viết:
> Ưu đãi tháng 11: tặng 1 tháng Cinemax cho thuê bao gia hạn 6 tháng, giá chỉ 990.000đ.""")
        return message(date=when(11, 12, 12, 0, 0), from_=mailbox("Khanh Le", "khanhlq.vt@gmail.com"),
                       subj=subject("Re: Ưu đãi tháng 11"), msgid=msgid("091", "gmail"), body=gmail(text))

    @case("092-english-fee",
          "Complaint in English: 'charged twice', 'Smart card no.', 'Mobile:'; 'on 03/11/2026' is the payment date → fee",
          E(name="Daniel Pham", address=None, phone="+84903567890", email="daniel.pham@outlook.com",
            smartcard="840155556666", decoder=None, incident_date="2026-11-03", category="fee"))
    def _092() -> bytes:
        text = T("""
Hi K+ team,

I renewed my subscription on 03/11/2026 through the app and was charged twice (2 x 175,000 VND). Please refund the duplicate payment.

Smart card no.: 8401 5555 6666
Mobile: 0903 567 890

Kind regards,
Daniel Pham""")
        return message(date=when(11, 5, 10, 0, 0), from_=mailbox("Daniel Pham", "daniel.pham@outlook.com"),
                       subj=subject("Charged twice for renewal"), msgid=msgid("092", "outlook"), body=outlook(text))

    @case("093-english-signal-forward",
          "English complaint forwarded from Gmail by the customer himself: 'decoder number', 'no signal since 06/11/2026', signature with family name last",
          E(name="Minh Tran", address="25 Hai Ba Trung, Hoan Kiem, Hanoi", phone="+84904998877", email="minh.tran.work@gmail.com",
            smartcard=None, decoder="VST2107004599", incident_date="2026-11-06", category="other"))
    def _093() -> bytes:
        text = T("""
Forwarding my complaint again, no answer yet.

---------- Forwarded message ---------
From: Minh Tran <minh.tran.work@gmail.com>
Date: Sat, Nov 7, 2026 at 9:12 AM
Subject: No signal
To: <cskh@kplus.example>

Hello, my K+ has had no signal since 06/11/2026.
Decoder number: VST2107004599
Address: 25 Hai Ba Trung, Hoan Kiem, Hanoi
Phone: 0904 998 877

Regards,
Minh Tran""")
        return message(date=when(11, 10, 9, 0, 0), from_=mailbox("Minh Tran", "minh.tran.work@gmail.com"),
                       subj=subject("Fwd: No signal"), msgid=msgid("093", "gmail"), body=gmail(text))
