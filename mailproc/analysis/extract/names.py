"""Find the customer's name: plausibility rules, prose ("tôi tên là …"), sign-off, From header.

A name is kept as written (original case and diacritics), honorifics dropped ("Chị Mai Anh" ->
"Mai Anh"); role names ("K+ Support", "Phòng CSKH") and sentences are never names.
"""

from __future__ import annotations

import re

from mailproc.analysis.extract.gazetteer import is_province
from mailproc.analysis.extract.layout import CLOSER_RE, Layout
from mailproc.analysis.extract.text import Doc, capped, fold_aligned, last_lines, lines

_HONORIFICS = {"anh", "chi", "ong", "ba", "em", "co", "bac", "mr", "mrs", "ms", "miss", "dr", "kh"}
_ROLE_WORDS = {"admin", "support", "cskh", "k+", "kplus", "team", "info", "service", "customer",
               "care", "hotline", "noreply", "sales", "helpdesk", "ltd", "jsc", "corp", "company",
               "shop", "store"}
_ROLE_PHRASES = ("cong ty", "khach hang", "phong cham soc", "phong cskh", "phong kinh doanh",
                 "bo phan", "tong dai", "cham soc", "quy khach", "thue bao", "dich vu",
                 "ban quan ly")
# A lower-case name after a label counts only when it starts with a common surname.
_SURNAMES = {"nguyen", "tran", "le", "pham", "hoang", "huynh", "phan", "vu", "vo", "dang", "bui",
             "do", "ho", "ngo", "duong", "ly", "dinh", "truong", "lam", "mai", "trinh", "doan",
             "luong", "cao", "ha", "ta", "quach", "luu", "kieu", "thai", "tong", "vuong", "dao",
             "trieu", "mac", "lai", "diep", "thach", "giang", "tang", "nghiem", "phung", "ung",
             "nong", "chu", "au"}
_NOT_NAME_WORDS = {"khong", "duoc", "bi", "toi", "da", "cua", "nhung", "xem", "mat", "song", "roi",
                   "cho", "voi", "nay", "thi", "se", "can", "muon", "la", "va", "co"}
_MAX_NAME_WORDS = 6
WORD_RUN_RE = re.compile(r"[^\W\d_]{1,20}(?:[ \t]{1,2}[^\W\d_]{1,20}){0,7}")


# Found somewhere exactly when one of the phrases is in the text.
_ROLE_PHRASE_RE = re.compile("|".join(map(re.escape, _ROLE_PHRASES)))


def _is_role(words: list[str]) -> bool:
    folded = fold_aligned(" ".join(words))
    return (any(w.strip(".,") in _ROLE_WORDS for w in folded.split())
            or _ROLE_PHRASE_RE.search(folded) is not None)


def plausible_name(raw: str, *, min_words: int, labelled: bool = False) -> str | None:
    """A personal name as written (original case), honorifics dropped; None if implausible."""
    words = raw.replace("\u00a0", " ").split()
    while len(words) > 1 and fold_aligned(words[0]).rstrip(".") in _HONORIFICS:
        words = words[1:]
    if len(words) >= 3 and fold_aligned(" ".join(words[:2])) in ("khach hang", "chu thue bao"):
        words = words[2:]
    if not min_words <= len(words) <= _MAX_NAME_WORDS:
        return None
    # (Words are never empty: isalpha() on them joined is isalpha() on each.)
    if not "".join(words).isalpha() or max(map(len, words)) > 20 or _is_role(words):
        return None
    if not all(w[0].isupper() for w in words):
        folded = fold_aligned(" ".join(words)).split()
        if not labelled or folded[0] not in _SURNAMES or _NOT_NAME_WORDS.intersection(folded):
            return None
    return " ".join(words)


def capitalised_prefix(text: str, pos: int) -> str:
    """The capitalised words at ``pos`` ("Nguyễn Văn An, ở Hà Nội" -> "Nguyễn Văn An")."""
    m = WORD_RUN_RE.match(text, pos)
    words = m.group().split() if m else []
    while len(words) > 1 and fold_aligned(words[0]) in _HONORIFICS:
        words = words[1:]
    capitalised = []
    for word in words[:_MAX_NAME_WORDS]:
        if not word[0].isupper():
            break
        capitalised.append(word)
    return " ".join(capitalised)


# "tôi tên là", "em là", "tên của tôi là" (+ "khách hàng"), on the fold: the plain form, kept
# as the reference that the title form below must equal (tests compare them) ...
_PROSE_NAME_RE = re.compile(
    r"(?<![a-z])(?:(?:toi|em|minh|tui)[ \t]{1,3}(?:ten(?:[ \t]{1,3}la)?|(?P<is>la))|"
    r"ten[ \t]{1,3}(?:cua[ \t]{1,3})?(?:toi|em|minh|tui)[ \t]{1,3}la)[ \t]{1,3}"
    r"(?:(?:khach hang|chu thue bao)[ \t]{1,3})?")
# ... and the same on the title view (see extract_text.title_view), each branch starting with
# its own capital so that `re` can skip ahead. "(?:toi|em|minh)" is spelt out per pronoun, so
# "is" cannot be a group: it is the "tôi là" branch, the one whose second word is "la".
_PRONOUN_NAME = r"[ \t]{1,3}(?:Ten(?:[ \t]{1,3}La)?|La)"
_PROSE_NAME_TITLE_RE = re.compile((
    r"(?:Toi" + _PRONOUN_NAME + "|Em" + _PRONOUN_NAME + "|Minh" + _PRONOUN_NAME + "|Tui" + _PRONOUN_NAME
    + r"|Ten[ \t]{1,3}(?:Cua[ \t]{1,3})?(?:Toi|Em|Minh|Tui)[ \t]{1,3}La)[ \t]{1,3}"
    r"(?:(?:Khach Hang|Chu Thue Bao)[ \t]{1,3})?").encode())  # the view is bytes
_SIGNATURE_PART_RE = re.compile(r"\s[-–|]\s|[,.:;(|\t]")
_TITLE_RE = re.compile(r"^\s*(?:mr|mrs|ms|miss|dr|a|c)\.\s*", re.I)


# English: "My name is Nguyen Van Long", "I am …", "I'm …", "This is …" (two words at least).
_ENGLISH_NAME_RE = re.compile(rb"(?:My[ \t]{1,3}Name[ \t]{1,3}Is|I[ \t]{1,3}Am|I'M|This[ \t]{1,3}Is)[ \t]{1,3}")


def prose_name(doc: Doc) -> str | None:
    for m in capped(_PROSE_NAME_TITLE_RE.finditer(doc.title)):
        # "tôi là X" needs two words: "tôi là Khách…" is not a name; "em tên Hùng" is.
        min_words = 2 if m.group().split(None, 2)[1] == b"La" else 1
        name = plausible_name(capitalised_prefix(doc.text, m.end()), min_words=min_words)
        if name:
            return name
    if b"Name Is" in doc.title or b"I Am" in doc.title or b"I'M" in doc.title or b"This Is" in doc.title:
        for m in capped(_ENGLISH_NAME_RE.finditer(doc.title)):
            name = plausible_name(capitalised_prefix(doc.text, m.end()), min_words=2)
            if name:
                return name
    return None


def signature_name(doc: Doc, layout: Layout) -> str | None:
    for start, end, seg_end in reversed(layout.signatures):
        closer = CLOSER_RE.match(doc.folded, start, end)
        tail = closer.start("tail") if closer else end
        candidates = []
        if doc.folded[tail:end].lstrip()[:1] in (",", ":", "-"):  # "Trân trọng, Nguyễn Văn A"
            candidates.append(doc.text[tail:end].lstrip(" \t,:-"))
        after = [ln for ln in lines(doc.text, end + 1, seg_end) if doc.text[ln[0]:ln[1]].strip()]
        # "Trần Quốc Bảo - 0977 888 999": the name is the line's first part ("Mr. Tuan
        # Nguyen": after a title with a dot).
        candidates += [_SIGNATURE_PART_RE.split(_TITLE_RE.sub("", doc.text[s:e]))[0].strip()
                       for s, e in after[:3]]
        for raw in candidates:
            name = plausible_name(raw, min_words=1)
            if name:
                return name
    return None


_NAME_LINE_RE = re.compile(r"[^\W\d_]{1,20}(?:[ \t]{1,2}[^\W\d_]{1,20}){1,4}")
# First words of lines that are no names even when every word is capitalised.
# (Not "tran": "Trần" is a surname; "Trân trọng" is a sign-off, which CLOSER_RE knows.)
_NOT_NAME_LINE_STARTS = {"chao", "kinh", "gui", "xin", "dear", "hi", "hello", "cam", "than", "mong",
                         "rat", "best", "thanks", "thank", "regards", "sent"}
_NAME_THEN_MORE_RE = re.compile(r"\s[-–|]\s")
_NAME_LINES = 30  # a name alone on a line is near the end of the mail


def name_line(doc: Doc, layout: Layout, end: int) -> str | None:
    """The last line of ``doc.text[:end]`` that holds a full name and nothing else: customers
    often end with their name alone, with no sign-off before it ("…\nLưu Văn Khánh")."""
    for start, stop in last_lines(doc.text, end, _NAME_LINES):
        # "Đinh Công Tráng - 0397 112 233", "Linh Nguyen | Store Manager": the first part.
        raw = _NAME_THEN_MORE_RE.split(doc.text[start:stop], 1)[0].strip().rstrip(".,")
        if not raw or _NAME_LINE_RE.fullmatch(raw) is None:
            continue
        folded = doc.folded[start:stop].split()
        if folded[0] in _NOT_NAME_LINE_STARTS or CLOSER_RE.match(doc.folded, start, stop):
            continue
        name = plausible_name(raw, min_words=2)
        if name and not is_province(name):  # "Hà Nội" alone on a line is a place
            return name
    return None


def sender_name(name: str | None) -> str | None:
    if not name or "@" in name:
        return None
    return plausible_name(name.strip().strip("\"'"), min_words=2, labelled=True)


def _runs(words: list[str], short: list[str]) -> bool:
    """True when ``short`` is a run of ``words`` that holds the given name: at the end
    (Vietnamese order, "Hùng" in "Nguyễn Mạnh Hùng") or at the start (family name last,
    "Tuan" in "Tuan Nguyen", "Mai Anh" in "Mai Anh Pham")."""
    n = len(short)
    return (words[-n:] == short or words[:n] == short
            # "Hoa Tran" from "Tran Thi Hoa": the same words, the given name first
            or (set(short) <= set(words) and short[0] == words[-1]))


def fuller_name(name: str, others: list[str | None]) -> str | None:
    """A longer name among ``others`` that ``name`` is cut from (folded words compared, so
    "Hùng" is cut from "Nguyen Manh Hung"), the longest; None if there is none."""
    short = fold_aligned(name).split()
    best: str | None = None
    for other in others:
        if not other:
            continue
        words = fold_aligned(other).split()
        if len(words) > len(short) and _runs(words, short) and (
                best is None or len(words) > len(best.split())):
            best = other
    return best
