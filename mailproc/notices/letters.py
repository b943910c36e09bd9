"""The written reply of step 5 as a formal letter: the same letter as plain text and as an A4 PDF.

The text goes in the e-mail (``templates/final_reply``); the PDF goes with it as an attachment
the customer can keep. Both are built from one :class:`Letter` value and the same cleaned
paragraphs, so they say the same thing. Everything that comes from outside (the agent's answer,
the customer's name and address) is cleaned first: NFC, no control or format characters, at
most one blank line between paragraphs; in the PDF, characters the font cannot draw become "?".

The PDF embeds a subset of DejaVu Serif (Debian's ``fonts-dejavu-core``), which covers every
Vietnamese letter. Its creation date is fixed from the letter's date, so the same letter gives
the same bytes.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import TTFFont

from mailproc.errors import MailprocError
from mailproc.notices.render import vn_date, vn_long_date

DEFAULT_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_REGULAR = "DejaVuSerif.ttf"
FONT_BOLD = "DejaVuSerif-Bold.ttf"
TITLE = "THƯ TRẢ LỜI KHIẾU NẠI"
# Vietnam has no daylight saving time: a fixed offset gives the same bytes on every machine.
_VN_TZ = timezone(timedelta(hours=7), "ICT")
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})  # control, format, surrogate, private, unassigned
_BLANK_LINES = re.compile(r"\n{3,}")
_SPACES = re.compile(r"\s+")


class LetterError(MailprocError):
    """The letter cannot be made (e.g. its font is not installed)."""


@dataclass(frozen=True)
class Letter:
    ref: str
    customer_name: str | None
    customer_address: str | None
    subject: str           # the complaint's subject
    body: str              # the L2 agent's written answer: plain text, paragraphs separated by blank lines
    city: str
    date: dt.date          # the letter's date (``date`` is a field here: hence ``dt.date``)
    department: str
    company: str
    hotline: str
    received: dt.date      # the day the complaint was received


# -- cleaning ------------------------------------------------------------------------------------

def clean_block(text: str) -> str:
    """Multi-line text made safe: NFC, \\n line ends, no control/format characters, tabs as spaces,
    no trailing spaces, at most one blank line in a row, no blank lines at either end."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = unicodedata.normalize("NFC", text.replace("\t", "    "))
    text = "".join(c for c in text if c == "\n" or unicodedata.category(c) not in _DROP_CATEGORIES)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip("\n")


def clean_line(text: str | None) -> str:
    """One header-like line (a name, an address): cleaned and with all whitespace runs as one space."""
    return _SPACES.sub(" ", clean_block(text or "")).strip()


def body_paragraphs(body: str) -> list[str]:
    """The answer's paragraphs (separated by blank lines); a paragraph may keep single line breaks."""
    return [p for p in clean_block(body).split("\n\n") if p.strip()]


# -- the letter's parts, shared by the text and the PDF ---------------------------------------------

def _dateline(letter: Letter) -> str:
    return f"{clean_line(letter.city)}, {vn_long_date(letter.date)}"


def _addressee(letter: Letter) -> list[str]:
    name = clean_line(letter.customer_name)
    lines = [f"Kính gửi: Quý khách {name}" if name else "Kính gửi: Quý khách"]
    address = clean_line(letter.customer_address)
    if address:
        lines.append(f"Địa chỉ: {address}")
    return lines


def _about(letter: Letter) -> str:
    return f"V/v: Trả lời khiếu nại số {clean_line(letter.ref)} ngày {vn_date(letter.received)}"


def _closing(letter: Letter) -> list[str]:
    return ["Trân trọng,", clean_line(letter.department), clean_line(letter.company),
            f"Tổng đài: {clean_line(letter.hotline)}"]


def letter_text(letter: Letter) -> str:
    """The letter as plain text, ending with a newline."""
    blocks = [
        _dateline(letter),
        "\n".join([*_addressee(letter), _about(letter)]),
        *body_paragraphs(letter.body),
        "\n".join(_closing(letter)),
    ]
    return "\n\n".join(blocks) + "\n"


# -- PDF ------------------------------------------------------------------------------------------

_FAMILY = "letter"
_BODY_PT = 12
_LINE_MM = 6.0
_PARA_GAP_MM = 3.0


class _LetterPDF(FPDF):
    """A4 portrait with the letter's font; the footer shows "Khiếu nại số … · Trang i/n" when ``numbered``."""

    def __init__(self, ref: str, regular: Path, bold: Path, *, numbered: bool) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self._ref = ref
        self._numbered = numbered
        self.add_font(_FAMILY, "", str(regular))
        self.add_font(_FAMILY, "B", str(bold))
        # Only characters both faces can draw: anything else would come out as an empty box.
        faces = [self.fonts[_FAMILY], self.fonts[_FAMILY + "B"]]
        self._drawable = set.intersection(*(set(f.cmap) for f in faces if isinstance(f, TTFFont)))

    def fit(self, text: str) -> str:
        return "".join(c if c == "\n" or ord(c) in self._drawable else "?" for c in text)

    def write_block(self, text: str, *, style: str = "", size: float = _BODY_PT, align: Align = Align.L,
                    w: float = 0, line: float = _LINE_MM) -> None:
        self.set_font(_FAMILY, style, size)
        self.multi_cell(w, line, self.fit(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def footer(self) -> None:
        if not self._numbered:
            return
        self.set_y(-15)
        self.set_font(_FAMILY, "", 9)
        self.cell(0, 5, self.fit(f"Khiếu nại số {self._ref} · Trang {self.page_no()}/{{nb}}"), align=Align.C)

    def close_fonts(self) -> None:
        # fpdf2 keeps the TTF files open until garbage collection: close them now (no ResourceWarning).
        for font in self.fonts.values():
            close = getattr(font, "close", None)
            if close is not None:
                close()


def _font_paths(font_dir: Path) -> tuple[Path, Path]:
    regular, bold = font_dir / FONT_REGULAR, font_dir / FONT_BOLD
    for path in (regular, bold):
        if not path.is_file():
            raise LetterError(f"font {path} not found: install Debian's fonts-dejavu-core or pass font_dir")
    return regular, bold


def _title_block(pdf: _LetterPDF, letter: Letter) -> None:
    """The letterhead on the left, the place and date on the right, a rule, the title."""
    half = pdf.epw / 2
    top = pdf.get_y()
    pdf.write_block(clean_line(letter.company), style="B", size=13, w=half)
    pdf.write_block(clean_line(letter.department), size=11, w=half, line=5)
    pdf.write_block(f"Tổng đài: {clean_line(letter.hotline)}", size=11, w=half, line=5)
    head_bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + half, top)
    pdf.set_font(_FAMILY, "", 11)
    pdf.multi_cell(half, 5, pdf.fit(_dateline(letter)), align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(head_bottom, pdf.get_y()) + 2)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + pdf.epw, pdf.get_y())
    pdf.ln(8)
    pdf.write_block(TITLE, style="B", size=14, align=Align.C, line=7)
    pdf.ln(4)


def _closing_block(pdf: _LetterPDF, letter: Letter) -> None:
    """"Trân trọng," and the signature in the right half, kept together on one page."""
    closing = _closing(letter)
    if pdf.get_y() + (len(closing) + 1) * _LINE_MM > pdf.page_break_trigger:
        pdf.add_page()
    pdf.ln(_PARA_GAP_MM)
    half = pdf.epw / 2
    for i, line_text in enumerate(closing):
        pdf.set_x(pdf.l_margin + half)
        pdf.set_font(_FAMILY, "B" if i == 1 else "", _BODY_PT)
        pdf.multi_cell(half, _LINE_MM, pdf.fit(line_text), align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _lay_out(pdf: _LetterPDF, letter: Letter) -> None:
    ref = clean_line(letter.ref)
    pdf.set_creation_date(datetime.combine(letter.date, time(0, 0), tzinfo=_VN_TZ))
    pdf.set_creator("mailproc")
    pdf.set_author(pdf.fit(clean_line(letter.company)))
    pdf.set_title(pdf.fit(f"Trả lời khiếu nại số {ref}"))
    pdf.set_subject(pdf.fit(clean_line(letter.subject)))
    pdf.set_lang("vi")
    pdf.set_margins(left=30, top=20, right=20)  # the wider left margin is for filing, as in Vietnamese letters
    pdf.set_auto_page_break(auto=True, margin=22)
    pdf.add_page()
    _title_block(pdf, letter)
    for line_text in _addressee(letter):
        pdf.write_block(line_text, style="B" if line_text.startswith("Kính gửi") else "")
    pdf.write_block(_about(letter))
    pdf.ln(_PARA_GAP_MM + 2)
    for paragraph in body_paragraphs(letter.body):
        pdf.write_block(paragraph, align=Align.J)
        pdf.ln(_PARA_GAP_MM)
    _closing_block(pdf, letter)


def _build_pdf(letter: Letter, regular: Path, bold: Path, *, numbered: bool) -> _LetterPDF:
    pdf = _LetterPDF(clean_line(letter.ref), regular, bold, numbered=numbered)
    try:
        _lay_out(pdf, letter)
    except BaseException:
        pdf.close_fonts()
        raise
    return pdf


def letter_pdf(letter: Letter, *, font_dir: str | Path | None = None) -> bytes:
    """The letter as an A4 PDF with its font embedded; page numbers when it runs to 2+ pages.

    Raises :class:`LetterError` when the font files are missing.
    """
    regular, bold = _font_paths(Path(font_dir) if font_dir else DEFAULT_FONT_DIR)
    pdf = _build_pdf(letter, regular, bold, numbered=False)
    try:
        if pdf.pages_count > 1:
            # The footer cannot know in advance whether more pages follow: lay out again, numbered.
            pdf.close_fonts()
            pdf = _build_pdf(letter, regular, bold, numbered=True)
        return bytes(pdf.output())
    finally:
        pdf.close_fonts()
