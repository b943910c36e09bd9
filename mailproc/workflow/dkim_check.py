"""mailproc's own DKIM check of an agent's mail (dkimpy), trusting no receiving server.

An agent's command counts only if the message carries a valid DKIM signature (RFC 6376) whose
domain is the From domain or a parent of it, that signs the From header and the To or Cc that
names one of our complaints mailboxes, on a message written within ``dkim_max_age_days``. A
signed message the agent sent to someone else (a customer who forwards it back to us, or an
attacker who replays it) does not name our mailbox in its signed recipients and is refused.

DNS is the only network this needs; it runs before the batch's write transaction, never
inside it, and the TXT look-up function is injectable (tests serve the keys themselves).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from email.headerregistry import HeaderRegistry
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime

from mailproc.core.roster import AuthResult, single_from

log = logging.getLogger(__name__)
TxtLookup = Callable[..., bytes | None]
_HEADERS = HeaderRegistry()
_SIGNED_LIST = re.compile(rb"\s*:\s*")


def _addresses(values: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for value in values:
        try:
            found.update(a.addr_spec.lower() for a in _HEADERS("to", value).addresses)  # type: ignore[attr-defined]
        except Exception:  # a hostile value: it names nobody
            continue
    return found


def _aligned(signer: str, domain: str) -> bool:
    return "." in signer and (domain == signer or domain.endswith("." + signer))


def verify_agent_dkim(raw: bytes, sender: str, mailboxes: Iterable[str], now: datetime, *,
                      max_age: timedelta, dnsfunc: TxtLookup | None = None) -> AuthResult:
    """Whether a valid, aligned DKIM signature vouches for ``sender``'s message to us."""
    import dkim

    head = BytesHeaderParser().parsebytes(raw)
    values = {"from": tuple(str(v) for v in head.get_all("From", []))}
    problem = single_from(values)
    if problem:
        return AuthResult(False, problem)
    domain = sender.rsplit("@", 1)[-1].lower()
    ours = {m.lower() for m in mailboxes}
    if not ours & _addresses([*map(str, head.get_all("To", [])), *map(str, head.get_all("Cc", []))]):
        return AuthResult(False, "DKIM: not addressed to a complaints mailbox")
    try:
        written = parsedate_to_datetime(str(head.get("Date", "")))
    except (TypeError, ValueError):
        written = None
    if written is None or written.tzinfo is None or not (now - max_age <= written <= now + timedelta(hours=1)):
        return AuthResult(False, f"DKIM: the message's Date is missing or not within {max_age.days} days")
    checker = dkim.DKIM(raw, minkey=1024)
    count = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    reasons: list[str] = []
    for idx in range(min(count, 5)):
        try:
            ok = checker.verify(idx=idx, dnsfunc=dnsfunc) if dnsfunc else checker.verify(idx=idx)
        except Exception as exc:  # dkimpy raises its own and dnspython's errors
            reasons.append(f"signature {idx + 1} does not verify ({type(exc).__name__})")
            continue
        signer = (checker.domain or b"").decode("ascii", "replace").lower()
        signed = {h.lower() for h in _SIGNED_LIST.split(checker.signature_fields.get(b"h", b""))}
        if not ok:
            reasons.append(f"signature {idx + 1} (d={signer}) does not verify")
        elif not _aligned(signer, domain):
            reasons.append(f"signature {idx + 1}: d={signer} is not the From domain {domain}")
        elif b"from" not in signed or not ({b"to", b"cc"} & signed):
            reasons.append(f"signature {idx + 1}: From and To/Cc are not all signed")
        else:
            return AuthResult(True, f"dkim=pass d={signer} (checked by mailproc)")
    return AuthResult(False, "DKIM: " + ("; ".join(reasons) if reasons else "no signature"))
