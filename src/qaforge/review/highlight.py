"""Find where a pair's answer is supported in its chunk, so the review page can highlight it.

The answer is looked for verbatim first (case and spacing ignored). Model answers are
usually paraphrases, so when that fails the sentences of the chunk that share most of the
answer's content words are marked instead. Offsets are returned in UTF-16 code units
because that is how the browser indexes strings.
"""

from __future__ import annotations

from qaforge.languages import content_words, stem
from qaforge.refine.checks import normalise
from qaforge.text import Span, sentence_spans

#: the share of the answer's content words a sentence must contain to count as support
MIN_OVERLAP = 0.5
MAX_SENTENCES = 3


def support_spans(answer: str, text: str) -> list[Span]:
    """Spans of ``text`` (Python string offsets) that support ``answer``; empty when none."""
    exact = _exact_span(answer, text)
    if exact is not None:
        return [exact]
    return _sentence_spans(answer, text)


def to_utf16_spans(spans: list[Span], text: str) -> list[Span]:
    """Convert Python string offsets to the UTF-16 offsets JavaScript uses."""
    if text.isascii():
        return spans
    out = []
    for start, end in spans:
        prefix = len(text[:start].encode("utf-16-le", "surrogatepass")) // 2
        length = len(text[start:end].encode("utf-16-le", "surrogatepass")) // 2
        out.append((prefix, prefix + length))
    return out


def _exact_span(answer: str, text: str) -> Span | None:
    """Case- and whitespace-insensitive verbatim match of the answer (trailing dot optional)."""
    needle = " ".join(answer.split()).rstrip(".").lower()
    if len(needle) < 3:
        return None
    collapsed, origin = _collapse_whitespace(text)
    index = collapsed.lower().find(needle)
    if index < 0:
        return None
    return origin[index], origin[index + len(needle) - 1] + 1


def _collapse_whitespace(text: str) -> tuple[str, list[int]]:
    """``text`` with runs of whitespace turned into one space, plus each char's origin."""
    chars: list[str] = []
    origin: list[int] = []
    previous_space = False
    for position, char in enumerate(text):
        if char.isspace():
            if previous_space:
                continue
            char, previous_space = " ", True
        else:
            previous_space = False
        chars.append(char)
        origin.append(position)
    return "".join(chars), origin


def _content_words(text: str) -> set[str]:
    # stemmed, so that "measured" supports "measurement"
    return {stem(w) for w in content_words(normalise(text), None)}


def _sentence_spans(answer: str, text: str) -> list[Span]:
    wanted = _content_words(answer)
    if not wanted:
        return []
    needed_shared = 1 if len(wanted) == 1 else 2
    scored: list[tuple[float, Span]] = []
    for start, end in sentence_spans(text):
        shared = wanted & _content_words(text[start:end])
        score = len(shared) / len(wanted)
        if len(shared) >= needed_shared and score >= MIN_OVERLAP:
            scored.append((score, (start, end)))
    best = sorted(scored, key=lambda item: -item[0])[:MAX_SENTENCES]
    return sorted(span for _, span in best)
