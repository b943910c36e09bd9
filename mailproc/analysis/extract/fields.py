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
from mailproc.analysis.extract.address import bounded_address, prose_address, signature_address
from mailproc.analysis.extract.choice import SUPERSEDED, Candidate, choose
from mailproc.analysis.extract.labels import label_hits, labelled
from mailproc.analysis.extract.layout import layout as find_layout
from mailproc.analysis.extract.names import fuller_name, name_line, prose_name, signature_name
from mailproc.analysis.extract.names import sender_name as name_from_sender
from mailproc.analysis.extract.shapes import amount_spans, prose_email, shape_cards
from mailproc.analysis.extract.shapes import category as find_category
from mailproc.analysis.extract.text import (
    Doc,
    fold_aligned,
    lines,
    masked,
    normalize_and_fold,
    patterns,
    plain_lookalikes,
    title_view,
)
from mailproc.config import ExtractConfig

__all__ = ["FIELDS", "JSON_KEYS", "PLACE_KEYS", "Extracted", "extract", "fold_aligned"]

_TAIL_LINES = 4  # a signature with no sign-off: the text's last lines
_FULL_NAME_WORDS = 3  # fewer words may be a name cut short ("Hùng", "Mai Anh")
_NUMBER_FIELDS = ("phone", "smartcard", "decoder")  # several may be given: one is chosen
FIELDS = ("name", "address", "phone", "email", "smartcard", "decoder", "incident_date")
JSON_KEYS = (*FIELDS, "category")
PLACE_KEYS = ("province", "province_code", "ward", "ward_code")


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
    # What the address names, in the 2025 units (gazetteer); not part of the 8-key contract.
    province: str | None = None
    province_code: int | None = None
    ward: str | None = None
    ward_code: int | None = None

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
        if "address" in filled:  # the place the new address names comes with it
            filled.update({name: getattr(newer, name) for name in PLACE_KEYS})
        return dataclasses.replace(self, **filled, category=category, confidence=confidence)

    def record(self) -> dict[str, object]:
        """The contract's eight keys and what the address names (province, ward and their
        codes, 2025 units): what a ticket stores."""
        return {**self.as_json(), **{name: getattr(self, name) for name in PLACE_KEYS}}


def extract(text: str, *, subject: str = "", sender_address: str | None = None,
            sender_name: str | None = None, mail_date: date | None = None,
            config: ExtractConfig) -> Extracted:
    """Extract the customer's identifiers from the complaint's own text (see the module doc).

    ``text`` is the customer's own text plus any forwarded complaint, quotes removed;
    ``mail_date`` is the complaint's date (year of "05/10", "not after the mail").
    """
    full, folded, slotted = normalize_and_fold(
        plain_lookalikes(f"{subject}\n\n{text}" if subject else text))
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
    best, claimed, every = labelled(doc, hits)
    for name, (found, hit) in best.items():
        if name not in _NUMBER_FIELDS:
            put(name, found.value, "prose" if hit.prose else "label")
    labelled_numbers = {name: [Candidate(str(found.value), found.start, found.end, hit.label.rank,
                                         "prose" if hit.prose else "label")
                               for field_name, found, hit in every if field_name == name]
                        for name in _NUMBER_FIELDS}

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
    phone_candidates = list(labelled_numbers["phone"])
    for start, end, kind, e164 in extract_phone.find_numbers(
            scanned, region=doc.pats.region, company_numbers=doc.pats.company_numbers,
            shape=shape):
        phones.append((start, end))
        if kind == extract_phone.CUSTOMER and e164 is not None:
            phone_candidates.append(Candidate(e164, start, end, -1, "shape"))
    bounds = [*claimed, *phones]
    chosen_phone = choose(doc, phone_candidates, bounds)
    if chosen_phone is not None:
        put("phone", chosen_phone[0].value, chosen_phone[0].how)
    claimed += phones
    for number_field in ("smartcard", "decoder"):
        picked = choose(doc, labelled_numbers[number_field], bounds)
        if picked is not None and picked[1].standing != SUPERSEDED:
            put(number_field, picked[0].value, picked[0].how)

    category = find_category(doc)
    not_dates = [*phones, *((s, e) for s, _, e in layout.signatures), *layout.datelines]
    undated = masked(unclaimed, not_dates)
    prefer = extract_dates.PAYMENT if category == "fee" else extract_dates.INCIDENT
    # "hôm qua" in a forwarded mail is the day before *its* date: relative dates are read
    # only in the text above the first forward marker.
    forwarded_from = min((s for s, _, _ in layout.headers), default=len(undated))
    dated, chosen = extract_dates.find_and_choose(undated, mail_date=mail_date, prefer=prefer,
                                                  shape=doc.shape(undated), text=doc.text,
                                                  until=forwarded_from)
    claimed += dated
    if chosen is not None:
        put("incident_date", chosen.value, "prose" if chosen.tag else "shape")

    # The steps below only fill a field still empty (their spans feed nothing but the card
    # by shape), and they are pure: skip each once its field is filled.
    if "smartcard" not in values:
        # No labelled card, or only one the customer says is wrong or old: the card written
        # after it by shape ("… nhầm, đúng là 8401 2345 6798") may be the right one.
        unclaimed = masked(unclaimed, [*phones, *dated])
        claimed += amount_spans(unclaimed, doc.shape(unclaimed))
        cards = [*labelled_numbers["smartcard"],
                 *(Candidate(value, start, end, -1, "shape")
                   for value, start, end in shape_cards(doc, claimed))]
        picked = choose(doc, cards, bounds)
        if picked is not None:
            put("smartcard", picked[0].value, picked[0].how)
    if "decoder" not in values:
        picked = choose(doc, labelled_numbers["decoder"], bounds)
        if picked is not None:
            put("decoder", picked[0].value, picked[0].how)
    name_candidates: dict[str, str | None] = {}
    if "name" not in values:
        put("name", name_candidates.setdefault("prose", prose_name(doc)), "prose")
    if "name" not in values or len(values["name"].split()) < _FULL_NAME_WORDS:
        # A name cut short (the given name only, as in "Họ tên: Hùng" or a sign-off "Tuan")
        # is completed from the prose, the signature or the From header that holds it whole.
        if "prose" not in name_candidates:
            name_candidates["prose"] = prose_name(doc)
        name_candidates["signature"] = signature_name(doc, layout)
        if name_candidates["signature"] is None:
            name_candidates["signature"] = name_line(doc, layout, len(doc.text))
        name_candidates["sender"] = name_from_sender(plain_lookalikes(sender_name or ""))
        for how in ("signature", "sender"):
            put("name", name_candidates[how], how)
        short = values.get("name")
        if short is not None:
            fuller = fuller_name(short, list(name_candidates.values()))
            if fuller is not None:
                how = next(h for h, v in name_candidates.items() if v == fuller)
                values["name"], confidence["name"] = fuller, how
    if "address" not in values:
        put("address", prose_address(doc, [h.start for h in hits]), "prose")
    if "address" not in values:
        # After each sign-off, else the text's last lines (a name, a phone, an address).
        zones = [(end, seg_end) for _, end, seg_end in reversed(layout.signatures)]
        tail = [s for s, _ in lines(doc.text, 0, len(doc.text)) if doc.text[s:s + 1].strip()]
        zones.append((tail[-_TAIL_LINES] if len(tail) >= _TAIL_LINES else 0, len(doc.text)))
        put("address", signature_address(doc, zones), "signature")
    sender = (sender_address or "").strip().lower()
    if "@" in sender and not doc.is_company_email(sender):
        put("email", sender, "sender")
    if "address" in values:
        values["address"], place = bounded_address(values["address"])
        if place is not None:
            values.update(province=place.province, province_code=place.province_code,
                          ward=place.ward, ward_code=place.ward_code)
    return Extracted(**values, category=category, confidence=confidence)
