"""mailproc's own DKIM check of agents' mail (dkimpy; DNS answered by the test with the
signing key it made), on a database only: no receiving server is trusted ([auth] has no
authserv-id), so only a valid, aligned signature on mail addressed to us makes an agent."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.helpers import Clock
from tests.helpers.mail import message
from tests.workflow.test_agent_mail_db import CUSTOMER, L2, REF, SHARED, Desk, build_desk

SELECTOR = b"k1"


@dataclasses.dataclass(frozen=True)
class Keys:
    private_pem: bytes
    txt: bytes  # the selector's DNS TXT record


def _keys() -> Keys:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return Keys(private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public))


@pytest.fixture(scope="module")
def keys() -> Keys:
    return _keys()


@pytest.fixture
def desk(database_url: str, tmp_path: Path, clock: Clock, keys: Keys) -> Iterator[Desk]:
    built = build_desk(database_url, tmp_path, clock, auth={"trusted_authserv_ids": [], "verify_dkim": True})
    zone = {b"k1._domainkey.kplus.example.": keys.txt, b"k1._domainkey.evil.example.": keys.txt}

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return zone.get(name if name.endswith(b".") else name + b".")

    built.app.__dict__["ctx"] = dataclasses.replace(built.app.ctx, dns=dns)
    yield built
    built.app.close()


def _signed(desk: Desk, keys: Keys, body: str, *, to: str = SHARED, domain: bytes = b"kplus.example",
            sender: str = L2, age: timedelta = timedelta(minutes=10), extra_from: str | None = None,
            tamper: bool = False) -> bytes:
    msg = message(sender=sender, to=to, subject=f"Re: [{REF}] Mất sóng K+ từ 3 ngày nay", body=body,
                  date=desk.clock() - age)
    raw = msg.as_bytes()
    signature = dkim.sign(raw, SELECTOR, domain, keys.private_pem,
                          include_headers=[b"From", b"To", b"Subject", b"Date", b"Message-ID"])
    signed = signature + raw
    if extra_from:
        signed = f"From: {extra_from}\r\n".encode() + signed
    if tamper:
        signed = signed.replace(b"accept", b"reject")
    return signed


def _escalated(desk: Desk) -> None:
    desk.complain()
    desk.store(message(sender=CUSTOMER, to=SHARED, subject=f"Re: [{REF}] x", body="Vẫn chưa xem được.").as_bytes())
    desk.app.process_once()
    with desk.app.sessions() as session:
        from mailproc.store.models import Ticket

        ticket = session.query(Ticket).one()
        ticket.status, ticket.queue = "l2", "L2"
        session.commit()


def test_a_valid_aligned_signature_on_mail_to_us_makes_an_agent(desk: Desk, keys: Keys) -> None:
    _escalated(desk)
    desk.store(_signed(desk, keys, "#accept\nChúng tôi tiếp nhận khiếu nại."))
    report = desk.app.process_once()
    assert report.agent_mail == 1
    assert desk.ticket().status == "accepted"


@pytest.mark.parametrize(("case", "options", "reason"), [
    ("sent to a customer, replayed to us", {"to": CUSTOMER}, "not addressed to a complaints mailbox"),
    ("signed by another domain", {"domain": b"evil.example"}, "is not the From domain"),
    ("body changed after signing", {"tamper": True}, "does not verify"),
    ("our signed mail with an agent's From added on top",
     {"sender": "thongbao@kplus.example", "extra_from": L2}, "2 From headers"),
    ("written long ago", {"age": timedelta(days=30)}, "not within 7 days"),
])
def test_anything_less_is_any_other_sender(desk: Desk, keys: Keys, case: str, options: dict[str, object],
                                          reason: str, caplog: pytest.LogCaptureFixture) -> None:
    _escalated(desk)
    desk.store(_signed(desk, keys, "#accept\nChúng tôi tiếp nhận khiếu nại.", **options))  # type: ignore[arg-type]
    report = desk.app.process_once()
    assert report.agent_mail == 0, case
    assert desk.ticket().status == "l2"
    assert reason in caplog.text


def test_a_mail_without_signature_is_not_an_agent(desk: Desk) -> None:
    _escalated(desk)
    desk.store(message(sender=L2, to=SHARED, subject=f"Re: [{REF}] x", body="#accept", date=desk.clock()).as_bytes())
    assert desk.app.process_once().agent_mail == 0
    assert desk.ticket().status == "l2"
