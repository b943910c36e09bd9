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

Several values for one number field are weighed by :mod:`~mailproc.analysis.extract.choice`
(old and new, mistyped and corrected, the customer's and a relative's or a technician's).
Every value carries its *provenance* (``label``, ``prose``, ``signature``, ``header``,
``shape``) and a *confidence* (``high``, ``medium``, ``low``; see :func:`_confidence`): a
required identifier found with low confidence is asked for again (workflow.assess).

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
from mailproc.analysis.extract.choice import CURRENT, RELATIVE, SUPERSEDED, Candidate, Judged, choose
from mailproc.analysis.extract.gazetteer import gazetteer
from mailproc.analysis.extract.labels import decoders_in, label_hits, labelled
from mailproc.analysis.extract.layout import Layout
from mailproc.analysis.extract.layout import layout as find_layout
from mailproc.analysis.extract.names import fuller_name, name_line, prose_name, signature_name
from mailproc.analysis.extract.names import sender_name as name_from_sender
from mailproc.analysis.extract.shapes import amount_spans, prose_email, shape_cards
from mailproc.analysis.extract.shapes import category as find_category
from mailproc.analysis.extract.text import (
    Doc,
    fold_aligned,
    last_lines,
    line_end,
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
PROVENANCES = ("label", "prose", "signature", "header", "shape")
HIGH, MEDIUM, LOW = "high", "medium", "low"
_RANK = {LOW: 0, MEDIUM: 1, HIGH: 2}


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
    # field -> where it was found: "label" | "prose" | "signature" | "header" | "shape"
    provenance: Mapping[str, str] = field(default_factory=dict, hash=False)
    # field -> how sure: "high" | "medium" | "low" (a field missing here counts as sure: values
    # set by hand, or read back from a ticket)
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

    def unsure(self) -> tuple[str, ...]:
        """The fields found with low confidence, in contract order."""
        return tuple(name for name in FIELDS
                     if getattr(self, name) is not None and self.confidence.get(name) == LOW)

    def merged_with(self, newer: Extracted) -> Extracted:
        """Fill the fields missing here from ``newer`` (a customer's reply filling gaps), and
        replace a field found with low confidence by a surer value from ``newer``."""
        def better(name: str) -> bool:
            if getattr(newer, name) is None:
                return False
            if getattr(self, name) is None:
                return True
            mine, theirs = self.confidence.get(name), newer.confidence.get(name, HIGH)
            return mine == LOW and _RANK[theirs] > _RANK[LOW]

        filled = {name: getattr(newer, name) for name in FIELDS if better(name)}
        provenance, confidence = dict(self.provenance), dict(self.confidence)
        for name in filled:
            for mine, theirs in ((provenance, newer.provenance), (confidence, newer.confidence)):
                mine.pop(name, None)
                if name in theirs:
                    mine[name] = theirs[name]
        category = "fee" if "fee" in (self.category, newer.category) else "other"
        if "address" in filled:  # the place the new address names comes with it
            filled.update({name: getattr(newer, name) for name in PLACE_KEYS})
        return dataclasses.replace(self, **filled, category=category, provenance=provenance,
                                   confidence=confidence)

    def record(self) -> dict[str, object]:
        """The contract's eight keys, what the address names (province, ward and their codes,
        2025 units), and each field's provenance and confidence: what a ticket stores."""
        return {**self.as_json(), **{name: getattr(self, name) for name in PLACE_KEYS},
                "provenance": dict(self.provenance), "confidence": dict(self.confidence)}


class _Found:
    """The values found so far, each with its provenance and confidence; first come, first kept."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.provenance: dict[str, str] = {}
        self.confidence: dict[str, str] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def put(self, name: str, value: object, how: str, level: str | None = None) -> bool:
        if value is None or name in self.values:
            return False
        self.values[name], self.provenance[name] = value, how
        self.confidence[name] = level or _confidence(name, how, value)
        return True

    def replace(self, name: str, value: object, how: str, level: str) -> None:
        self.values[name], self.provenance[name], self.confidence[name] = value, how, level


def _confidence(name: str, how: str, value: object) -> str:
    """How sure a value is, from where it was found.

    A labelled value is sure, and so is the e-mail of the From header; a name or an address
    from prose, a signature or the From header is fairly sure (the mail may come from a
    relative's account); a value found by its shape alone is unsure, except a phone (a valid
    Vietnamese number is rarely anything else) and a date the wording ties to the complaint.
    A one-word name (a given name only) is never more than fairly sure.
    """
    if name == "name" and isinstance(value, str) and len(value.split()) < 2:
        return MEDIUM if how in ("label", "prose") else LOW
    if how == "label" or (how == "header" and name == "email"):
        return HIGH
    if how == "prose":
        return HIGH if name in ("email", "phone", "incident_date") else MEDIUM
    if how in ("signature", "header"):
        return MEDIUM
    return MEDIUM if name == "phone" else LOW  # by shape


def extract(text: str, *, subject: str = "", sender_address: str | None = None,
            sender_name: str | None = None, mail_date: date | None = None,
            config: ExtractConfig) -> Extracted:
    """Extract the customer's identifiers from the complaint's own text (see the module doc).

    ``text`` is the customer's own text plus any forwarded complaint, quotes removed;
    ``mail_date`` is the complaint's date (year of "05/10", "not after the mail"; the day
    "hôm qua" is counted from).
    """
    # Loaded on the first call, whatever the mail: the analysis warm-up then loads it in the
    # main process, before the workers fork, and they share it.
    gazetteer()
    full, folded, slotted = normalize_and_fold(
        plain_lookalikes(f"{subject}\n\n{text}" if subject else text))
    layout = find_layout(folded)
    not_content = layout.spans("other", "from")  # forwarded headers, except their Subject
    doc_folded = masked(folded, not_content)
    doc = Doc(masked(full, not_content), doc_folded, title_view(doc_folded), patterns(config),
              slotted)
    found = _Found()

    hits = label_hits(doc)
    best, claimed, every = labelled(doc, hits)
    for name, (value, hit) in best.items():
        if name not in _NUMBER_FIELDS:
            found.put(name, value.value, "prose" if hit.prose else "label")
    labelled_numbers = {name: [Candidate(str(value.value), value.start, value.end, hit.label.rank,
                                         "prose" if hit.prose else "label")
                               for field_name, value, hit in every if field_name == name]
                        for name in _NUMBER_FIELDS}

    if "@" in full:  # (an address holds one)
        email, spans = prose_email(doc, masked(full, layout.spans("other")))  # From: lines count
        found.put("email", email, "prose")
        claimed += spans

    # Masks only blank: masking a masked text again with more spans blanks the union.
    unclaimed = masked(doc.folded, claimed)
    # A phone is made of digits, blanks and "+().-", which fold to themselves: in a text of
    # slot characters, the fold has the same runs and the same numbers as the text.
    scanned = unclaimed if doc.slotted else masked(doc.text, claimed)
    phones = []
    phone_candidates = list(labelled_numbers["phone"])
    for start, end, kind, e164 in extract_phone.find_numbers(
            scanned, region=doc.pats.region, company_numbers=doc.pats.company_numbers,
            shape=doc.shape(unclaimed)):
        phones.append((start, end))
        if kind == extract_phone.CUSTOMER and e164 is not None:
            phone_candidates.append(Candidate(e164, start, end, -1, "shape"))
    bounds = [*claimed, *phones]
    _put_chosen(found, "phone", choose(doc, phone_candidates, bounds))
    claimed += phones
    for name in ("smartcard", "decoder"):
        picked = choose(doc, labelled_numbers[name], bounds)
        if picked is not None and picked[1].standing != SUPERSEDED:
            _put_chosen(found, name, picked)
        elif picked is not None and name == "decoder":
            # The customer says the labelled decoder is wrong or old: the one written after
            # it on its line, with no label, may be the right one.
            after = picked[0].end
            more = [Candidate(str(v.value), v.start, v.end, -1, "shape")
                    for v in decoders_in(doc, after, line_end(doc.text, after))]
            _put_chosen(found, name, choose(doc, [*labelled_numbers[name], *more], bounds))

    category = find_category(doc)
    not_dates = [*phones, *((s, e) for s, _, e in layout.signatures), *layout.datelines]
    undated = masked(unclaimed, not_dates)
    prefer = extract_dates.PAYMENT if category == "fee" else extract_dates.INCIDENT
    # "hôm qua" in a forwarded mail is the day before *its* date: relative dates are read
    # only in the text above the first forward marker.
    forwarded_from = min((s for s, _, _ in layout.headers), default=len(undated))
    dated, chosen = extract_dates.find_and_choose(undated, mail_date=mail_date, prefer=prefer,
                                                  shape=doc.shape(undated), text=doc.text,
                                                  until=forwarded_from, title=doc.title)
    claimed += dated
    if chosen is not None:
        found.put("incident_date", chosen.value, "prose" if chosen.tag else "shape",
                  MEDIUM if chosen.relative else None)

    # The steps below only fill a field still empty (their spans feed nothing but the card
    # by shape), and they are pure: skip each once its field is filled.
    if "smartcard" not in found:
        # No labelled card, or only one the customer says is wrong or old: the card written
        # after it by shape ("… nhầm, đúng là 8401 2345 6798") may be the right one.
        unclaimed = masked(unclaimed, [*phones, *dated])
        claimed += amount_spans(unclaimed, doc.shape(unclaimed))
        cards = [*labelled_numbers["smartcard"],
                 *(Candidate(value, start, end, -1, "shape")
                   for value, start, end in shape_cards(doc, claimed))]
        _put_chosen(found, "smartcard", choose(doc, cards, bounds))
    if "decoder" not in found:
        _put_chosen(found, "decoder", choose(doc, labelled_numbers["decoder"], bounds))
    _find_name(found, doc, layout, sender_name)
    _find_address(found, doc, layout, [h.start for h in hits])
    sender = (sender_address or "").strip().lower()
    if "@" in sender and not doc.is_company_email(sender):
        found.put("email", sender, "header")
    return Extracted(**found.values, category=category, provenance=found.provenance,
                     confidence=found.confidence)


def _put_chosen(found: _Found, name: str, chosen: tuple[Candidate, Judged] | None) -> None:
    """A number chosen among candidates: a relative's is unsure (the customer may not answer
    it), and so is one the customer calls old or mistyped, kept for want of another."""
    if chosen is None:
        return
    candidate, judged = chosen
    level = None
    if judged.owner == RELATIVE or judged.standing == SUPERSEDED:
        level = LOW
    elif candidate.how == "shape" and name != "phone" and judged.standing == CURRENT:
        level = MEDIUM  # "… nhầm, đúng là 8401 2345 6798": the customer says which
    found.put(name, candidate.value, candidate.how, level)


def _find_name(found: _Found, doc: Doc, layout: Layout, sender_name: str | None) -> None:
    """The name from prose, else the sign-off, a name alone on a line, the From header; a
    name cut short (the given name only, as in "Họ tên: Hùng" or a sign-off "Tuan") is
    completed from whichever of these holds it whole."""
    candidates: dict[str, str | None] = {}
    if "name" not in found:
        found.put("name", candidates.setdefault("prose", prose_name(doc)), "prose")
    if "name" in found and len(found.values["name"].split()) >= _FULL_NAME_WORDS:
        return
    if "prose" not in candidates:
        candidates["prose"] = prose_name(doc)
    candidates["signature"] = signature_name(doc, layout) or name_line(doc, layout, len(doc.text))
    candidates["header"] = name_from_sender(plain_lookalikes(sender_name or ""))
    for how in ("signature", "header"):
        found.put("name", candidates[how], how)
    short = found.values.get("name")
    if short is None:
        return
    fuller = fuller_name(short, list(candidates.values()))
    if fuller is not None:
        how = next(h for h, v in candidates.items() if v == fuller)
        # Two sources agree on the given name: sure.
        found.replace("name", fuller, how, HIGH)
    elif sum(1 for v in candidates.values() if v and fold_aligned(v) == fold_aligned(short)) >= 2:
        found.confidence["name"] = HIGH


def _find_address(found: _Found, doc: Doc, layout: Layout, label_starts: list[int]) -> None:
    """The address from prose, else a line of a signature; bounded after the province it
    names, whose 2025 province and ward are kept beside it. An address whose province the
    gazetteer knows is surer."""
    if "address" not in found:
        found.put("address", prose_address(doc, label_starts), "prose")
    if "address" not in found:
        # After each sign-off, else the text's last lines (a name, a phone, an address).
        zones = [(end, seg_end) for _, end, seg_end in reversed(layout.signatures)]
        tail = [s for s, e in last_lines(doc.text, len(doc.text), 3 * _TAIL_LINES)
                if doc.text[s:e].strip()][:_TAIL_LINES]
        zones.append((tail[-1] if tail else 0, len(doc.text)))
        found.put("address", signature_address(doc, zones), "signature")
    if "address" not in found:
        return
    address, place = bounded_address(found.values["address"])
    found.values["address"] = address
    if place is not None:
        found.values.update(province=place.province, province_code=place.province_code,
                            ward=place.ward, ward_code=place.ward_code)
        if found.confidence["address"] == MEDIUM and found.provenance["address"] == "prose":
            found.confidence["address"] = HIGH
