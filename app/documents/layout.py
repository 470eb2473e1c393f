"""The page every paper is printed on: A4, margins, the host city's letterhead at the
top of each page, page numbers at the foot, and the embedded DejaVu Sans (Latin,
Cyrillic, Turkmen ý ň ž ş ä), so no paper depends on the system's fonts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from app.documents import texts

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"
MARGIN = 18.0
LINE = 5.5
GREY = (90, 90, 90)


@dataclass(frozen=True)
class Letterhead:
    """What the top of the page says: the office, and how to reach it."""

    office_name: str
    address_lines: tuple[str, ...]
    contacts: tuple[str, ...]
    signatory_name: str | None
    signatory_title: str | None


class Paper(FPDF):
    """One document; ``lang`` words its page numbers."""

    def __init__(self, letterhead: Letterhead, title: str, lang: texts.Lang,
                 orientation: Literal["portrait", "landscape"] = "portrait") -> None:
        super().__init__(orientation=orientation, unit="mm", format="A4")
        self.letterhead = letterhead
        self.words_lang = lang
        self.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN + 4)
        self.set_title(title)
        self.set_author(letterhead.office_name)
        self.set_creator("Twinplan")
        self.add_page()

    def header(self) -> None:
        head = self.letterhead
        self.set_font(FAMILY, "B", 12)
        self.multi_cell(0, 6, head.office_name, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FAMILY, "", 8.5)
        self.set_text_color(*GREY)
        for line in (*head.address_lines, " · ".join(head.contacts)):
            if line:
                self.cell(0, 4.2, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)
        self.ln(2)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(6)

    def footer(self) -> None:
        self.set_y(-MARGIN)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(*GREY)
        self.cell(0, 5, texts.word(self.words_lang, "page", page=self.page_no(), pages="{nb}"),
                  align="C")
        self.set_text_color(0, 0, 0)

    # Building blocks -------------------------------------------------------------

    def title_line(self, text: str, size: float = 14) -> None:
        self.set_font(FAMILY, "B", size)
        self.multi_cell(0, size * 0.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(3)

    def heading(self, text: str) -> None:
        self.ln(1)
        self.set_font(FAMILY, "B", 10.5)
        self.multi_cell(0, LINE, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(0.5)

    def paragraph(self, text: str, size: float = 10) -> None:
        self.set_font(FAMILY, "", size)
        self.multi_cell(0, LINE, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)

    def signature_line(self, label: str, date_label: str, name: str | None = None,
                       title: str | None = None) -> None:
        """A line to sign on, with who signs under it; kept together on one page."""
        if self.will_page_break(24):
            self.add_page()
        self.ln(8)
        self.set_font(FAMILY, "", 10)
        self.cell(70, LINE, "_" * 34, new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.cell(10, LINE, "")
        self.cell(0, LINE, "_" * 18, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FAMILY, "", 8.5)
        self.set_text_color(*GREY)
        self.cell(80, 4.5, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.cell(0, 4.5, date_label, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)
        for line in (name, title):
            if line:
                self.set_font(FAMILY, "", 10)
                self.cell(0, LINE, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def rule(self) -> None:
        self.ln(2)
        self.set_draw_color(180, 180, 180)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_draw_color(0, 0, 0)
        self.ln(4)

    def pdf_bytes(self) -> bytes:
        return bytes(self.output())
