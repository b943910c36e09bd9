"""Extract a complaint's identifiers: name, address, phone, e-mail, card, decoder, date, category.

Pure: text in, :class:`Extracted` out; no I/O, no logging. Labels are matched on the folded,
length-aligned text (offsets stay valid in the original, so values keep case and diacritics).
The label table is data; the steps in :func:`extract` run in a fixed order, and every number,
e-mail or date found *claims* its span so that no later step can read it as something else
(names and addresses are free text and claim nothing: a phone written inside still counts):

1. labelled values ("Số thẻ: …", "SĐT: …") in text order: a label decides what its value is;
2. e-mail addresses; 3. phone-like numbers (customer's, hotline, foreign: all claimed);
4. dates; 5. amounts of money; 6. a card number by shape only, from what is left;
7. names and addresses from prose, then the signature, then the From header.

Phone-versus-card rule: a value right after a card label is a card even when it is also a
valid mobile ("Số thẻ: 0912345678"); a value after a phone label is never a card, even when it
is not a valid phone; an unlabelled number that is a valid Vietnamese phone (old 01xx forms
included), a 1900/1800 number, or any 10-11 digit group starting with 0 is never a card.

The steps live in their own modules: ``extract_text`` (normalising, folding, masking),
``extract_layout``, ``extract_labels``, ``extract_shapes`` (e-mail, amounts, card by shape,
category), ``extract_phone``, ``extract_dates``, ``extract_names`` and ``extract_address``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mailproc.analysis.extract import dates as extract_dates
from mailproc.analysis.extract import phone as extract_phone
from mailproc.analysis.extract.address import prose_address
from mailproc.analysis.extract.labels import label_hits, labelled
from mailproc.analysis.extract.layout import layout as find_layout
from mailproc.analysis.extract.names import prose_name, signature_name
from mailproc.analysis.extract.names import sender_name as name_from_sender
from mailproc.analysis.extract.shapes import amount_spans, prose_email, shape_card
from mailproc.analysis.extract.shapes import category as find_category
from mailproc.analysis.extract.text import (
    Doc,
    fold_aligned,
    masked,
    normalize_and_fold,
    patterns,
    title_view,
)
from mailproc.config import ExtractConfig

__all__ = ["FIELDS", "JSON_KEYS", "Extracted", "extract", "fold_aligned"]

FIELDS = ("name", "address", "phone", "email", "smartcard", "decoder", "incident_date")
JSON_KEYS = (*FIELDS, "category")


@dataclass(frozen=True)
class Extracted:
    name: str | None = None
    address: str | None = None
    phone: str | None = None  # E.164, e.g. "+84912345678"
    email: str | None = None  # lower-case
    smartcard: str | None = None  # digits only
    decoder: str | None = None  # upper case, no spaces
    incident_date: date | None = None
    category: str = "other"  # "fee" | "other"
    # field -> "label" | "prose" | "signature" | "shape" | "sender"
    confidence: Mapping[str, str] = field(default_factory=dict, hash=False)

    def as_json(self) -> dict[str, str | None]:
        """Exactly the contract's eight keys; the date as YYYY-MM-DD."""
        out: dict[str, str | None] = {key: getattr(self, key) for key in JSON_KEYS}
        out["incident_date"] = self.incident_date.isoformat() if self.incident_date else None
        return out

    def merged_with(self, newer: Extracted) -> Extracted:
        """Fill only the fields missing here from ``newer`` (a customer's reply filling gaps)."""
        filled = {name: getattr(newer, name) for name in FIELDS
                  if getattr(self, name) is None and getattr(newer, name) is not None}
        confidence = dict(self.confidence)
        confidence.update((name, newer.confidence[name]) for name in filled
                          if name in newer.confidence)
        category = "fee" if "fee" in (self.category, newer.category) else "other"
        return dataclasses.replace(self, **filled, category=category, confidence=confidence)


def extract(text: str, *, subject: str = "", sender_address: str | None = None,
            sender_name: str | None = None, mail_date: date | None = None,
            config: ExtractConfig) -> Extracted:
    """Extract the customer's identifiers from the complaint's own text (see the module doc).

    ``text`` is the customer's own text plus any forwarded complaint, quotes removed;
    ``mail_date`` is the complaint's date (year of "05/10", "not after the mail").
    """
    full, folded, slotted = normalize_and_fold(f"{subject}\n\n{text}" if subject else text)
    layout = find_layout(folded)
    not_content = layout.spans("other", "from")  # forwarded headers, except their Subject
    doc_folded = masked(folded, not_content)
    doc = Doc(masked(full, not_content), doc_folded, title_view(doc_folded), patterns(config),
              slotted)
    values: dict[str, Any] = {}
    confidence: dict[str, str] = {}

    def put(name: str, value: object, how: str) -> None:
        if value is not None and name not in values:
            values[name], confidence[name] = value, how

    hits = label_hits(doc)
    best, claimed = labelled(doc, hits)
    for name, (found, hit) in best.items():
        put(name, found.value, "prose" if hit.prose else "label")

    if "@" in full:  # (an address holds one)
        email, spans = prose_email(doc, masked(full, layout.spans("other")))  # From: lines count
        put("email", email, "prose")
        claimed += spans

    # Masks only blank: masking a masked text again with more spans blanks the union.
    unclaimed = masked(doc.folded, claimed)
    # A phone is made of digits, blanks and "+().-", which fold to themselves: in a text of
    # slot characters, the fold has the same runs and the same numbers as the text.
    scanned = unclaimed if doc.slotted else masked(doc.text, claimed)
    shape = doc.shape(unclaimed)
    phones = []
    for start, end, kind, e164 in extract_phone.find_numbers(
            scanned, region=doc.pats.region, company_numbers=doc.pats.company_numbers,
            shape=shape):
        phones.append((start, end))
        if kind == extract_phone.CUSTOMER:
            put("phone", e164, "shape")
    claimed += phones

    category = find_category(doc)
    not_dates = [*phones, *((s, e) for s, _, e in layout.signatures), *layout.datelines]
    undated = masked(unclaimed, not_dates)
    prefer = extract_dates.PAYMENT if category == "fee" else extract_dates.INCIDENT
    dated, chosen = extract_dates.find_and_choose(undated, mail_date=mail_date, prefer=prefer,
                                                  shape=doc.shape(undated))
    claimed += dated
    if chosen is not None:
        put("incident_date", chosen.value, "prose" if chosen.tag else "shape")

    # The steps below only fill a field still empty (their spans feed nothing but the card
    # by shape), and they are pure: skip each once its field is filled.
    if "smartcard" not in values:
        unclaimed = masked(unclaimed, [*phones, *dated])
        claimed += amount_spans(unclaimed, doc.shape(unclaimed))
        put("smartcard", shape_card(doc, claimed), "shape")
    if "name" not in values:
        put("name", prose_name(doc), "prose")
    if "name" not in values:
        put("name", signature_name(doc, layout), "signature")
    if "name" not in values:
        put("name", name_from_sender(sender_name), "sender")
    if "address" not in values:
        put("address", prose_address(doc, [h.start for h in hits]), "prose")
    sender = (sender_address or "").strip().lower()
    if "@" in sender and not doc.is_company_email(sender):
        put("email", sender, "sender")
    return Extracted(**values, category=category, confidence=confidence)
