"""Named filter rules: which messages never create a ticket or get an automatic reply.

Messages are built as raw bytes, parsed with the real parser, then run through the rules in
the configured order. Expected rule names follow RFC 3834 / 3464 / 2369 and PITFALLS.md.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP

import pytest

from mailproc.analysis.filters import RULES, FilterContext, Rule, Verdict, first_match
from mailproc.analysis.parsing import ParsedMail, parse_message
from mailproc.config import FilterConfig, ParsingConfig
from mailproc.vocabulary import FilterRule
from tests.helpers.mail import complaint

CTX = FilterContext(
    own_addresses=frozenset({"cskh@kplus.example"}),
    own_message_id_domain="kplus.example",
    robot_localparts=frozenset(FilterConfig().robot_localparts),
)
ORDER = FilterConfig().rules
CUSTOMER = "Nguyễn Văn An <an.nguyen@gmail.com>"


def parse(raw: bytes) -> ParsedMail:
    return parse_message(raw, ParsingConfig())


def mail(*, sender: str = CUSTOMER, subject: str = "Mất sóng K+ từ 3 ngày nay",
         headers: dict[str, str] | None = None, body: str | None = None) -> ParsedMail:
    return parse(complaint(sender=sender, subject=subject, headers=headers, body=body))


def dsn(*, sender: str = "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        subject: str = "Delivery Status Notification (Failure)", auto_submitted: bool = True,
        rfc822_headers_only: bool = False) -> bytes:
    """An RFC 3464 bounce of one of our receipts."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = "cskh@kplus.example"
    msg["Subject"] = subject
    msg["Message-ID"] = "<bounce.1@mx.google.com>"
    msg["Date"] = "Mon, 02 Nov 2026 09:00:05 +0700"
    if auto_submitted:
        msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("Địa chỉ khach.sai@gmail.com không tồn tại.\n")
    msg.make_mixed()
    msg.replace_header("Content-Type", 'multipart/report; report-type=delivery-status; boundary="BOUND"')
    status = EmailMessage(policy=SMTP)
    status["Content-Type"] = "message/delivery-status"
    status.set_payload(
        "Reporting-MTA: dns; mx.google.com\n"
        "Arrival-Date: Mon, 02 Nov 2026 09:00:01 +0700\n"
        "\n"
        "Final-Recipient: rfc822; khach.sai@gmail.com\n"
        "Action: failed\n"
        "Status: 5.1.1\n"
        "Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.\n"
    )
    original = (
        "From: K+ <cskh@kplus.example>\n"
        "To: khach.sai@gmail.com\n"
        "Subject: [KP-2026-000123] V/v Tiếp nhận khiếu nại\n"
        "Message-ID: <receipt.KP-2026-000123.0a1b2c3d@kplus.example>\n"
        "Auto-Submitted: auto-replied\n"
        "\n"
        "Kính gửi Quý khách\n"
    )
    raw = msg.as_bytes().decode()
    head, _, _ = raw.rpartition("--BOUND--")
    parts = [head.rstrip("\r\n"), "", "--BOUND", "Content-Type: message/delivery-status", "",
             status.get_payload().strip("\n"), ""]
    if rfc822_headers_only:
        header_part = original.split("\n\n")[0]
        parts += ["--BOUND", "Content-Type: text/rfc822-headers", "", header_part, ""]
    else:
        parts += ["--BOUND", "Content-Type: message/rfc822", "", original]
    parts += ["--BOUND--", ""]
    return "\r\n".join("\r\n".join(parts).splitlines()).encode("utf-8") + b"\r\n"


# (id, parsed mail, expected rule or None)
CASES: list[tuple[str, ParsedMail, str | None]] = [
    ("ordinary complaint", mail(), None),
    ("ordinary reply", mail(subject="Re: [KP-2026-000123] V/v Đề nghị bổ sung thông tin"), None),
    ("Auto-Submitted: no", mail(headers={"Auto-Submitted": "no"}), None),
    ("Auto-Submitted: No (upper case)", mail(headers={"Auto-Submitted": "No"}), None),
    ("complaint about an automatic charge", mail(subject="Tự động trừ tiền khi chưa gia hạn"), None),
    ("complaint about being away", mail(subject="Vắng mặt 2 tháng vẫn bị trừ tiền thuê bao"), None),
    ("complaint while on leave", mail(subject="Đang nghỉ phép thì bị cắt sóng"), None),
    ("complaint that mentions an office", mail(subject="Văn phòng K+ không nghe máy"), None),
    ("X-Auto-Response-Suppress without All/OOF/AutoReply",
     mail(headers={"X-Auto-Response-Suppress": "DR, RN, NRN"}), None),
    ("Auto-Submitted: auto-replied", mail(headers={"Auto-Submitted": "auto-replied"}), "auto_submitted"),
    ("Auto-Submitted: auto-generated", mail(headers={"Auto-Submitted": "auto-generated"}), "auto_submitted"),
    ("Auto-Submitted: auto-notified with parameter",
     mail(headers={"Auto-Submitted": "auto-notified; owner-email=x@y.z"}), "auto_submitted"),
    ("Precedence: bulk", mail(headers={"Precedence": "bulk"}), "precedence"),
    ("Precedence: junk", mail(headers={"Precedence": "junk"}), "precedence"),
    ("Precedence: list", mail(headers={"Precedence": "list"}), "precedence"),
    ("Precedence: BULK", mail(headers={"Precedence": "BULK"}), "precedence"),
    ("X-Autoreply", mail(headers={"X-Autoreply": "yes"}), "autoreply_headers"),
    ("X-Autorespond", mail(headers={"X-Autorespond": "Mất sóng"}), "autoreply_headers"),
    ("X-Auto-Response-Suppress: All", mail(headers={"X-Auto-Response-Suppress": "All"}),
     "autoreply_headers"),
    ("X-Auto-Response-Suppress: OOF", mail(headers={"X-Auto-Response-Suppress": "OOF"}),
     "autoreply_headers"),
    ("X-Auto-Response-Suppress: DR, AutoReply",
     mail(headers={"X-Auto-Response-Suppress": "DR, AutoReply"}), "autoreply_headers"),
    ("Return-Path: <>", mail(headers={"Return-Path": "<>"}), "autoreply_headers"),
    ("List-Id", mail(headers={"List-Id": "Khuyen mai <promo.shop.example>"}), "mailing_list"),
    ("List-Unsubscribe", mail(headers={"List-Unsubscribe": "<mailto:unsub@shop.example>"}),
     "mailing_list"),
    ("no-reply sender", mail(sender="Shop <no-reply@shop.example>"), "robot_sender"),
    ("noreply sender", mail(sender="noreply@shop.example"), "robot_sender"),
    ("MAILER-DAEMON sender without a bounce subject", mail(sender="MAILER-DAEMON@mx.example"),
     "robot_sender"),
    ("postmaster sender", mail(sender="postmaster@mx.example", subject="Thông báo"), "robot_sender"),
    ("our own address", mail(sender="K+ <cskh@kplus.example>"), "own_mail"),
    ("our own address, upper case", mail(sender="CSKH@KPLUS.EXAMPLE"), "own_mail"),
    ("our own notice came back",
     parse(complaint(sender="forwarder@gmail.com", message_id="<receipt.KP-2026-000123.ab@kplus.example>",
                     headers={"X-Mailproc-Ref": "KP-2026-000123"})),
     "own_mail"),
    ("DSN multipart/report", parse(dsn()), FilterRule.BOUNCE),
    ("Exchange bounce: multipart/report without Auto-Submitted",
     parse(dsn(sender="Microsoft Outlook <postmaster@contoso.onmicrosoft.com>",
               subject="Undeliverable: [KP-2026-000123] V/v Tiếp nhận khiếu nại",
               auto_submitted=False, rfc822_headers_only=True)),
     FilterRule.BOUNCE),
    ("mailer-daemon failure notice without a report part",
     mail(sender="MAILER-DAEMON@mx.example", subject="Undelivered Mail Returned to Sender"), FilterRule.BOUNCE),
    ("postmaster failure notice in vietnamese",
     mail(sender="postmaster@mx.example", subject="Không gửi được: V/v Tiếp nhận khiếu nại"), FilterRule.BOUNCE),
    ("Out of Office subject", mail(subject="Out of Office: Mất sóng"), "out_of_office_subject"),
    ("Automatic reply subject", mail(subject="Automatic reply: Mất sóng"), "out_of_office_subject"),
    ("Auto-Reply subject", mail(subject="Auto-Reply: Mất sóng"), "out_of_office_subject"),
    ("Trả lời tự động subject", mail(subject="Trả lời tự động: Mất sóng"), "out_of_office_subject"),
    ("Trả lời Tự động (Outlook VI) subject", mail(subject="Trả lời Tự động: [KP-2026-000123] V/v"),
     "out_of_office_subject"),
    ("Thư trả lời tự động subject", mail(subject="Thư trả lời tự động"), "out_of_office_subject"),
    ("Vắng mặt: label subject", mail(subject="Vắng mặt: Mất sóng"), "out_of_office_subject"),
    ("Đang nghỉ phép as the whole subject", mail(subject="Đang nghỉ phép"), "out_of_office_subject"),
    ("Re: Out of office subject", mail(subject="Re: Out of office"), "out_of_office_subject"),
    ("decomposed Vietnamese out-of-office subject",
     mail(subject="Tra\u0309 lo\u031b\u0300i tu\u031b\u0323 đo\u0302\u0323ng: Mất sóng"),
     "out_of_office_subject"),
]


@pytest.mark.parametrize(("parsed", "expected"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_first_match_default_order(parsed: ParsedMail, expected: str | None) -> None:
    verdict = first_match(parsed, CTX, ORDER)
    if expected is None:
        assert verdict is None
    else:
        assert isinstance(verdict, Verdict)
        assert verdict.rule == expected
        assert verdict.reason


@pytest.mark.parametrize(("parsed", "expected"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_each_rule_alone(parsed: ParsedMail, expected: str | None) -> None:
    """The expected rule matches on its own (it does not depend on an earlier one)."""
    if expected is None:
        for name in ORDER:
            assert RULES[name].check(parsed, CTX) is None, name
    else:
        assert first_match(parsed, CTX, [expected]) == first_match(parsed, CTX, ORDER)


def test_delivery_report_fields() -> None:
    parsed = parse(dsn())
    assert parsed.content_type == "multipart/report"
    assert parsed.report is not None
    assert parsed.report.original_message_id == "receipt.KP-2026-000123.0a1b2c3d@kplus.example"
    assert parsed.report.status == "5.1.1"
    assert parsed.report.diagnostic is not None
    assert parsed.report.diagnostic.startswith("smtp; 550-5.1.1 The email account")
    assert parsed.report.recipient is not None
    assert "khach.sai@gmail.com" in parsed.report.recipient
    verdict = first_match(parsed, CTX, ORDER)
    assert verdict is not None
    assert "5.1.1" in verdict.reason


def test_delivery_report_with_rfc822_headers_only() -> None:
    parsed = parse(dsn(auto_submitted=False, rfc822_headers_only=True))
    assert parsed.report is not None
    assert parsed.report.original_message_id == "receipt.KP-2026-000123.0a1b2c3d@kplus.example"
    assert parsed.report.status == "5.1.1"


def test_ordinary_mail_has_no_report() -> None:
    assert mail().report is None


# A message that several rules match: the configured order alone decides which is reported.
MANY = mail(
    sender="no-reply@shop.example",
    subject="Out of Office: khuyến mãi",
    headers={
        "Auto-Submitted": "auto-generated",
        "Precedence": "list",
        "List-Id": "<promo.shop.example>",
        "X-Autoreply": "yes",
    },
)


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (ORDER, "auto_submitted"),
        (["precedence", "mailing_list", "auto_submitted"], "precedence"),
        (["mailing_list", "precedence"], "mailing_list"),
        (["robot_sender", "mailing_list"], "robot_sender"),
        (["out_of_office_subject", "robot_sender"], "out_of_office_subject"),
        (["autoreply_headers", "auto_submitted"], "autoreply_headers"),
        (["own_mail", "bounce", "mailing_list"], "mailing_list"),  # non-matching rules skipped
        (["own_mail", "bounce"], None),
        ([], None),
    ],
)
def test_order_from_config_decides(order: list[str], expected: str | None) -> None:
    verdict = first_match(MANY, CTX, order)
    assert (verdict.rule if verdict else None) == expected


def test_rules_registry_matches_config_default() -> None:
    assert list(RULES) == ORDER
    for name, rule in RULES.items():
        assert isinstance(rule, Rule)
        assert rule.name == name
        assert rule.description


def test_unknown_rule_name_is_an_error() -> None:
    with pytest.raises(KeyError):
        first_match(mail(), CTX, ["no_such_rule"])


def test_every_filter_rule_of_the_vocabulary_has_one_check() -> None:
    assert list(RULES) == list(FilterRule)
