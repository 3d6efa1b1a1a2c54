"""Korean extraction spacing (issue 18 part 1): Korean lines wrap between syllables, so a
line break is a word break only where the PDF's text stream has a space before it."""

from __future__ import annotations

import re
from pathlib import Path

from qaforge.extract import extract_pdf

_SYLLABLE_SPLIT = re.compile(r"(?<![\uac00-\ud7af])[\uac00-\ud7af] [\uac00-\ud7af]")


def test_korean_words_broken_at_line_ends_are_whole(shared_pdfs: Path) -> None:
    doc = extract_pdf(shared_pdfs / "korean-insurance-report-4p.pdf")
    text = "\n".join(e.text for e in doc.elements)
    # every one of these was split at a line end ("보 험금의", "향 후", "돌 입하였음을")
    for word in ("보험금의 경우", "향후 유사", "돌입하였음을", "질병보험금에", "재해라고",
                 "이미 판매했거나", "이에 대하여"):
        assert word in text, word
    for broken in ("보 험금", "향 후", "돌 입하", "김 창 호"):
        assert broken not in text, broken
    assert "김창호" in text  # the author's name, spaced out for looks in the PDF
    # a short line that ends a field is not glued to the next: "2일" / "발행처"
    assert "2일 발행처" in text
    # real word spaces stay: text keeps many one-syllable words ("전 세계적", "수 있다")
    assert len(_SYLLABLE_SPLIT.findall(text)) > 50
