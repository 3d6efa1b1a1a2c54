"""Build ``examples/pdfs/home-composting.pdf``, the small example the README runs on.

The text is original to this project (CC0). Run: ``python examples/make_example_pdf.py``
(needs ``fpdf2``, part of the ``dev`` extra). The PDF is committed, so users need not run it.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

SECTIONS = [
    ("1 What composting is", [
        "Composting is the controlled decomposition of organic material such as kitchen "
        "scraps, leaves and grass clippings. Bacteria, fungi and small animals such as "
        "worms break the material down into a dark, crumbly substance called humus, which "
        "improves the structure of garden soil and feeds plants slowly over many months.",
        "A well-managed heap reaches temperatures between 55 and 65 degrees Celsius in its "
        "core within a few days of being built. This heat comes from the metabolism of "
        "thermophilic bacteria and kills most weed seeds and plant diseases.",
    ]),
    ("2 Greens and browns", [
        "Compost needs a balance of nitrogen-rich material, called greens, and carbon-rich "
        "material, called browns. Greens include vegetable peelings, coffee grounds and fresh "
        "grass clippings. Browns include dry leaves, straw, shredded cardboard and wood chips.",
        "A common rule of thumb is to add roughly three parts browns to one part greens by "
        "volume. Too many greens make the heap wet and smelly because it runs short of "
        "oxygen; too many browns make it dry and slow to break down.",
        "Meat, dairy products and cooked food with oil should be kept out of a home heap. "
        "They attract rats and flies and decompose with strong odours at the moderate "
        "temperatures most garden heaps reach.",
    ]),
    ("3 Air and water", [
        "The microbes that make compost quickly need oxygen. Turning the heap with a fork "
        "every one to two weeks lets air into the centre and moves cooler material from the "
        "edges into the hot core. A heap that is never turned still decomposes, but it can "
        "take a year or more instead of two to three months.",
        "The material should feel as damp as a wrung-out sponge. If a handful drips when it "
        "is squeezed, add browns; if it crumbles apart and feels dusty, sprinkle it with "
        "water while turning.",
    ]),
    ("4 When the compost is ready", [
        "Finished compost is dark brown, smells of earth and no longer contains recognisable "
        "pieces of the original material, except perhaps some woody stems. Its temperature "
        "stays close to that of the surrounding air even after turning.",
        "Before use, finished compost is often left to cure for four weeks. Curing lets the "
        "remaining organic acids break down, which protects seedlings that are sensitive to "
        "fresh compost. It can then be spread on beds as a mulch five to eight centimetres "
        "thick or mixed into potting soil at up to one third of the volume.",
    ]),
]


class Guide(FPDF):
    def header(self) -> None:
        self.set_font("Helvetica", "I", 8)
        self.cell(0, 8, "Home Composting - a short guide", align="R")
        self.ln(12)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "", 8)
        self.cell(0, 10, f"Page {self.page_no()}", align="C")


def build(path: Path) -> None:
    pdf = Guide()
    pdf.set_title("Home Composting - a short guide")
    pdf.set_author("qaforge examples")
    pdf.set_auto_page_break(auto=True, margin=20)
    for title, paragraphs in SECTIONS:
        pdf.add_page()
        pdf.start_section(title)
        pdf.set_font("Helvetica", "B", 15)
        pdf.multi_cell(0, 9, title)
        pdf.ln(2)
        pdf.set_font("Helvetica", "", 11)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph)
            pdf.ln(3)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))


if __name__ == "__main__":
    build(Path(__file__).resolve().parent / "pdfs" / "home-composting.pdf")
