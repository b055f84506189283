"""The 本人開示 report as a PDF (fpdf2), in IPAex Gothic from Debian's fonts-ipaexfont-gothic
(installed by ops/setup.sh); the font is embedded, so any reader shows the Japanese."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from hub.errors import ConfigurationError
from projections.audit.subject import SubjectReport

FONT_FILES = (
    Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"),
    Path("/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf"),
)
FONT = "IPAexGothic"


def font_file() -> Path:
    for path in FONT_FILES:
        if path.is_file():
            return path
    raise ConfigurationError(
        "the Japanese font for the PDF is missing: apt-get install fonts-ipaexfont-gothic "
        "(ops/setup.sh installs it)"
    )


def render(report: SubjectReport) -> bytes:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(report.title)
    pdf.set_creator("kitakyushu-hub")
    pdf.add_font(FONT, "", str(font_file()))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font(FONT, size=16)
    pdf.multi_cell(0, 10, report.title, new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font(FONT, size=9)
    for line in report.preamble:
        pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    for section in report.sections:
        pdf.ln(4)
        pdf.set_font(FONT, size=12)
        pdf.multi_cell(0, 7, section.title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, size=9)
        if not section.rows:
            pdf.multi_cell(0, 5, section.empty, new_x="LMARGIN", new_y="NEXT")
        for values in section.rows:
            # One block per row, one line per column: a person reads it top to bottom, and
            # nothing is squeezed into narrow cells.
            pdf.set_draw_color(190, 190, 200)
            pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.w - pdf.r_margin, pdf.get_y() + 1)
            pdf.ln(2)
            for line in section.lines(values):
                pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
