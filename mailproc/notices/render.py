"""Render a notice from the Jinja2 templates into a complete, safe e-mail message.

Each notice kind has a folder in ``templates/`` with ``subject.txt``, ``body.txt`` and
``body.html``. HTML is autoescaped; the subject is rendered as text and then stripped of
anything that could break the header. Every message is built with
``EmailMessage(policy=SMTP)`` from parsed addresses, so header injection is impossible.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from mailproc import shipped
from mailproc.analysis.parsing import clean_header
from mailproc.config import Config


class InvalidAddress(ValueError):
    """An address that cannot be put in a header safely."""


def vn_date(value: date | datetime | None) -> str:
    """dd/mm/yyyy with leading zeros, as K+ writes dates."""
    return value.strftime("%d/%m/%Y") if value else ""


def vn_long_date(value: date) -> str:
    """'ngày 05 tháng 01 năm 2026' for formal letters."""
    return f"ngày {value.day:02d} tháng {value.month:02d} năm {value.year}"


def vn_amount(value: int) -> str:
    """175000 -> '175.000đ'."""
    return f"{value:,}".replace(",", ".") + "đ"


def mask(value: str | None, keep: int = 4) -> str:
    """Show only the last ``keep`` characters: card and phone numbers in e-mails and logs."""
    if not value:
        return ""
    visible = value[-keep:]
    return "•" * max(len(value) - keep, 0) + visible


def make_environment(templates_dir: str | Path | None = None) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir or shipped.templates_dir())),
        autoescape=select_autoescape(
            enabled_extensions=("html", "htm"), disabled_extensions=("txt",), default_for_string=True, default=True,
        ),
        undefined=StrictUndefined,
        auto_reload=False,  # templates are read once per process: no stat() per render
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(vn_date=vn_date, vn_long_date=vn_long_date, vn_amount=vn_amount, mask=mask)
    return env


_LONG_NUMBER_RE = re.compile(r"(?<![\w])(?:\+?\d[\d .\-()]{6,}\d)(?![\w])")


def mask_numbers(text: str) -> str:
    """Every run of 8 or more digits (card, decoder, phone numbers, with their separators)
    masked but its last 4 digits: for text of the customer's that goes back out (a subject)."""
    def hide(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return mask(digits) if len(digits) >= 8 else match.group()
    return _LONG_NUMBER_RE.sub(hide, text)


_LINKISH_RE = re.compile(r"(?i)\b(https?|ftp)://|\bwww\.")


def defang(text: str) -> str:
    """Customer text that goes back out, made so that no mail client turns it into a link
    (``http://x`` -> ``http[:]//x``, ``www.x`` -> ``www[.]x``)."""
    return _LINKISH_RE.sub(lambda m: f"{m.group(1)}[:]//" if m.group(1) else "www[.]", text)


def parse_address(value: str) -> Address:
    """Parse one bare address strictly; raise InvalidAddress for anything else."""
    text = (value or "").strip()
    if not text or any(c in text for c in "\r\n\x00<>,;\"() ") or text.count("@") != 1:
        raise InvalidAddress(f"not a single plain address: {text[:80]!r}")
    local, domain = text.rsplit("@", 1)
    if not local or "." not in domain:
        raise InvalidAddress(f"not a plain address: {text[:80]!r}")
    try:
        return Address(username=local, domain=domain)
    except (ValueError, IndexError) as exc:
        raise InvalidAddress(str(exc)) from exc


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render_subject(env: Environment, kind: str, context: dict[str, Any]) -> str:
    # The subject is text: render it without HTML escaping, then make it header-safe.
    return clean_header(env.get_template(f"{kind}/subject.txt").render(**context), 200)


def render(env: Environment, kind: str, context: dict[str, Any]) -> Rendered:
    subject = render_subject(env, kind, context)
    text = env.get_template(f"{kind}/body.txt").render(**context)
    html = env.get_template(f"{kind}/body.html").render(**context)
    return Rendered(subject=subject, text=text, html=html)


def new_message_id(kind: str, ref: str | None, domain: str) -> str:
    """A Message-ID fixed at queue time and reused on every retry."""
    tag = f"{kind}.{ref}" if ref else kind
    return f"<{tag}.{secrets.token_hex(16)}@{domain}>".replace(" ", "")  # 128 bits: replies prove themselves by it


# What goes on the wire: headers folded only past RFC 5322's hard limit of 998 characters.
# Python 3.11's folding at 78 drops the space between two encoded words when a fold falls on
# it ("hài lòng của" arrived as "hài lòngcủa"); a notice's headers stay far below 998.
WIRE = SMTP.clone(max_line_length=998)


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as sent (bodies were encoded with ``SMTP``'s 78-character lines)."""
    return msg.as_bytes(policy=WIRE)


def build_message(
    config: Config,
    rendered: Rendered,
    *,
    to: str,
    message_id: str,
    now: datetime,
    ref: str | None = None,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    attachments: tuple[tuple[str, str, bytes], ...] = (),
    sender: tuple[str, str] | None = None,
) -> EmailMessage:
    """Assemble the MIME message; ``attachments`` are (filename, mime type, data); ``sender``
    is (address, display name), by default [smtp]'s."""
    address, display = sender or (config.smtp.from_address, config.smtp.from_name)
    sender_address = parse_address(address)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address(display_name=clean_header(display, 100),
                          username=sender_address.username, domain=sender_address.domain)
    msg["To"] = parse_address(to)
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(now.astimezone(ZoneInfo(config.calendar.timezone)))
    msg["Message-ID"] = message_id
    msg["Reply-To"] = sender_address
    # RFC 3834: tells well-behaved auto-responders (vacation replies) not to answer us.
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    if ref:
        msg["X-Mailproc-Ref"] = ref
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
        chain = [*references[-8:], in_reply_to]
        msg["References"] = " ".join(f"<{r}>" for r in dict.fromkeys(chain))
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    for filename, mimetype, data in attachments:
        maintype, _, subtype = mimetype.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream",
                           filename=clean_header(filename, 150))
    return msg
