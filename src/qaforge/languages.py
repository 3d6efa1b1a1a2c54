"""What qaforge knows per language: detection, names, question forms, content words and
token estimates.

Detection is ``py3langid`` (the langid.py model, shipped inside the package, ~4.5 MB, no
download; numpy only): on 40-char snippets of the corpus's English, German and Korean
text it was as accurate as lingua and fastText's lite model, at 1.5 ms a call (lingua:
25 ms and a 96 MB install). Scripts that name their language outright (Hangul, kana) are
decided before the model is asked.

Everything else here is small per-language data: the words that open an instruction
("Explain", "Erklären Sie", Korean "...하시오"), phrases that point at a passage the reader
will not see ("laut dem Text", "이 글에서"), stopwords and particles for content words.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from qaforge.errors import ConfigError


def _items(text: str) -> list[str]:
    return text.split()


#: ISO 639-1 code -> English name, for the prompt ("Write ... in German.")
LANGUAGE_NAMES: dict[str, str] = dict(item.split(":") for item in _items("""
af:Afrikaans am:Amharic an:Aragonese ar:Arabic as:Assamese az:Azerbaijani be:Belarusian
bg:Bulgarian bn:Bengali br:Breton bs:Bosnian ca:Catalan cs:Czech cy:Welsh da:Danish de:German
el:Greek en:English eo:Esperanto es:Spanish et:Estonian eu:Basque fa:Persian fi:Finnish
fo:Faroese fr:French fy:Frisian ga:Irish gd:Gaelic gl:Galician gu:Gujarati ha:Hausa he:Hebrew
hi:Hindi hr:Croatian ht:Haitian hu:Hungarian hy:Armenian id:Indonesian ig:Igbo is:Icelandic
it:Italian ja:Japanese jv:Javanese ka:Georgian kk:Kazakh km:Khmer kn:Kannada ko:Korean
ku:Kurdish ky:Kyrgyz la:Latin lb:Luxembourgish lg:Ganda ln:Lingala lo:Lao lt:Lithuanian
lv:Latvian mg:Malagasy mk:Macedonian ml:Malayalam mn:Mongolian mr:Marathi ms:Malay mt:Maltese
my:Burmese ne:Nepali nl:Dutch nn:Norwegian no:Norwegian oc:Occitan om:Oromo or:Odia
pa:Punjabi pl:Polish ps:Pashto pt:Portuguese qu:Quechua ro:Romanian ru:Russian rw:Kinyarwanda
sa:Sanskrit se:Sami si:Sinhala sk:Slovak sl:Slovenian sn:Shona so:Somali sq:Albanian
sr:Serbian st:Sotho sv:Swedish sw:Swahili ta:Tamil te:Telugu tg:Tajik th:Thai tk:Turkmen
tl:Tagalog tr:Turkish tt:Tatar ug:Uyghur uk:Ukrainian ur:Urdu uz:Uzbek vi:Vietnamese
wa:Walloon xh:Xhosa yo:Yoruba zh:Chinese zu:Zulu"""))

#: fewer letters than this say nothing reliable about a language
MIN_LETTERS = 20
MIN_SCRIPT_LETTERS = 5
#: texts of a document asked for its language (1.5 ms each)
MAX_VOTES = 60
#: the model's probability below which a text's language counts as unknown
MIN_CONFIDENCE = 0.5
#: characters of a text the model reads (a chunk's first few paragraphs decide)
SAMPLE_CHARS = 2_000

_HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_KANA = re.compile("[\u3040-\u30ff]")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
#: scripts written without spaces between words
UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f]")
_UNSPACED_GAP = re.compile(f"(?<={UNSPACED.pattern})\\s+(?={UNSPACED.pattern})")

_identifier: Any = None
_identifier_lock = threading.Lock()


def _model() -> Any:
    global _identifier
    with _identifier_lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier
            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return _identifier


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of ``text``'s language, or ``None`` when it is too short or unclear."""
    sample = text[:SAMPLE_CHARS]
    letters = sum(1 for ch in sample if ch.isalpha())
    # a syllable or ideogram carries as much as a word: a few of them decide
    if letters >= MIN_SCRIPT_LETTERS:
        if len(_HANGUL.findall(sample)) > 0.3 * letters:
            return "ko"
        if len(_KANA.findall(sample)) > 0.05 * letters:
            return "ja"
        if len(_HAN.findall(sample)) > 0.3 * letters:
            return "zh"
    if letters < MIN_LETTERS:
        return None
    code, probability = _model().classify(sample)
    code = str(code)
    return code if probability >= MIN_CONFIDENCE and code in LANGUAGE_NAMES else None


@lru_cache(maxsize=256)
def passage_language(text: str) -> str | None:
    """:func:`detect_language`, remembered: one passage is asked about once per pair of its
    chunk (grounding, evidence, sentence spans)."""
    return detect_language(text)


def detect_document_language(texts: Iterable[str]) -> str | None:
    """The language most of ``texts`` (a document's chunks) are written in, by letters
    (of at most :data:`MAX_VOTES` of them, spread over the document)."""
    texts = list(texts)
    votes: Counter[str] = Counter()
    for text in texts[:: max(1, len(texts) // MAX_VOTES)]:
        code = detect_language(text)
        if code:
            votes[code] += min(len(text), SAMPLE_CHARS)
    return votes.most_common(1)[0][0] if votes else None


def language_name(code: str | None) -> str:
    """``"German"`` for ``"de"``; an unknown code is returned as it is."""
    return LANGUAGE_NAMES.get(code or "", code or "")


def resolve_language(value: str) -> str | None:
    """A ``--language`` value as an ISO 639-1 code: ``"de"``, ``"German"`` or ``"auto"``
    (``None``: detect per document). Raises :class:`ConfigError` for anything else."""
    wanted = value.strip().casefold()
    if wanted in ("", "auto"):
        return None
    if wanted in LANGUAGE_NAMES:
        return wanted
    by_name = {name.casefold(): code for code, name in LANGUAGE_NAMES.items()}
    if wanted in by_name:
        return by_name[wanted]
    raise ConfigError(f"unknown language {value!r}: give an ISO 639-1 code such as 'de' or "
                      "a name such as 'German', or 'auto'")


def sentence_language(code: str | None) -> str:
    """The language the sentence splitter should use (its rules for English otherwise)."""
    return code if code in LANGUAGE_NAMES else "en"


# ---------------------------------------------------------------- question forms

#: first words of an instruction that is a fine prompt without a question mark
_INSTRUCTION_TEXT = """
explain describe list name give define compare contrast summarize summarise outline identify
state discuss calculate find show write provide
erkläre erklären erläutere erläutern beschreibe beschreiben nenne nennen gib geben definiere
definieren vergleiche vergleichen fasse skizziere skizzieren bestimme bestimmen berechne
berechnen zeige zeigen beweise beweisen begründe begründen schildere schildern charakterisiere
charakterisieren diskutiere diskutieren stelle formuliere formulieren gebe zähle zählen
expliquez explique décrivez décris citez cite donnez donne définissez définis comparez
résumez indiquez calculez montrez nommez présentez
explica explique describe describa enumera enumere define defina compara compare resume
resuma indica indique calcula calcule muestra muestre menciona mencione
spiega spieghi descrivi descriva elenca definisci confronta riassumi indica calcola
verklaar beschrijf noem geef definieer vergelijk vat bereken
"""
INSTRUCTION_WORDS = frozenset(_INSTRUCTION_TEXT.split())
# polite openers that may come before the instruction ("Bitte erklären Sie ...")
_POLITE = frozenset({"please", "bitte", "veuillez", "por", "favor", "per", "favore", "graag"})
# Korean and Japanese put the instruction or the question at the end: "...설명하시오.",
# "...무엇입니까", "...述べよ。", "...説明してください"; Chinese opens a request with 请
_FINAL_FORMS = re.compile(
    r"(?:시오|십시오|세요|하라|보라|쓰라|까|니까|는가|인가|나요|가요|ください|なさい|せよ|"
    r"述べよ|か|吗|呢)[.。!！\s]*$")
_OPENING_FORMS = re.compile(r"^(?:请|請|简述|簡述|说明|說明|解释|解釋|列举|列舉|描述|比较|"
                            r"什么|为什么|為什麼|如何|怎样|怎樣|哪)")
_WORDS = re.compile(r"\w+")


def opens_with_instruction(question: str) -> bool:
    """Whether ``question`` is an instruction (in any language qaforge knows) rather than a
    statement: "Explain ...", "Erklären Sie ...", "...설명하시오.", "请说明..."."""
    q = unicodedata.normalize("NFKC", question).strip()
    words = [w for w in _WORDS.findall(q.casefold()) if w not in _POLITE][:1]
    return bool((words and words[0] in INSTRUCTION_WORDS) or _FINAL_FORMS.search(q)
                or _OPENING_FORMS.match(q))


# phrases that only make sense next to the passage (English is in refine/checks.py)
CONTEXT_BOUND = re.compile(
    r"\b(?:(?:im|in dem|laut|gemäß|nach|aus dem|in diesem|im vorliegenden|im obigen) "
    r"(?:text|textabschnitt|abschnitt|absatz|auszug|dokument|artikel|passage|kontext)\b"
    r"|(?:der|die|dieser|diese|des|dem|den) (?:text|textes|textabschnitt|passage|auszug|"
    r"autor|autorin|autoren|verfasser) (?:sagt|sagen|beschreibt|erwähnt|nennt|erklärt|meint|"
    r"behauptet|zeigt|schreibt|über)"
    r"|(?:des|dem) (?:textes|text|autors|verfassers)\b"
    r"|(?:der autor|die autorin)\b(?! (?:von|des|der)\b)"  # "der Autor von Faust" is fine
    r"|(?:dans|selon|d'après) (?:le|ce|cet|la|l')\s?(?:texte|passage|extrait|document|article)"
    r"|l'auteur\b(?! (?:de|du|des)\b)|ce texte\b|ce passage\b"
    r"|(?:en|según|de acuerdo con) (?:el|este|la|esta) (?:texto|pasaje|fragmento|documento)"
    r"|el autor\b(?! (?:de|del)\b)|este texto\b"
    r")|(?:이|위|본|다음|주어진|제시된)\s?(?:글(?!자|씨|꼴)|지문|본문|텍스트|문단|단락|발췌문|자료|"
    r"문서)|(?<!의 )저자|필자|글쓴이|本文|この文章|上記の|这段|本段|上文|文中",
    re.IGNORECASE)


def context_bound_phrase(question: str) -> str | None:
    """A phrase of a non-English ``question`` that points at a passage, or ``None``."""
    match = CONTEXT_BOUND.search(question)
    return match.group(0) if match else None


# ---------------------------------------------------------------- content words

_STOPWORD_TEXT = {
    "en": """the a an and or but if then than that this these those there their they them with
from into onto for of on in at by to as is are was were be been being has have had do does did
not no yes it its it's which who whom whose what when where why how also such can could should
would will may might must shall about over under more most less very just only other some any
each both all per via using used use""",
    "de": """der die das den dem des ein eine einer eines einem einen und oder aber wenn dann als
dass daß dies diese dieser dieses diesem diesen jene es er sie wir ihr ist sind war waren wird
werden wurde wurden sein hat haben hatte nicht kein keine mit von vom zu zum zur bei auf aus
für über unter nach vor durch um an am im in ins auch noch nur sehr mehr wie was wer wo warum
welche welcher welches kann können muss müssen soll sollen darf man sich so""",
    "fr": """le la les un une des du de et ou mais si que qui quoi dont ce cet cette ces il elle
ils elles est sont était être avoir a ont pas ne dans sur pour par avec sans aux au plus""",
    "es": """el la los las un una unos unas y o pero si que quien cual este esta estos estas es
son era ser estar ha han no en con por para sin del al como más muy""",
}
_STOPWORDS = {code: frozenset(text.split()) for code, text in _STOPWORD_TEXT.items()}
# Korean glues particles to the word before ("보험금의", "재해보험금을"): strip the longest
_KO_PARTICLES = sorted(_items("""은 는 이 가 을 를 의 에 에서 에게 께 와 과
로 으로 도 만 까지 부터 보다 처럼 이나 나 이며 며 과의 와의 에는 에서는
으로는 로는 에도 이다 였다 이었다 하였다 했다 한다 된다 되었다 하는 되는
하고 하여 해서 적 적인 적으로 들"""), key=len, reverse=True)
#: a content word's prefix that counts as the same word ("defined"/"defines")
STEM_CHARS = 6
_HANGUL_STEM_CHARS = 2


def stopwords(code: str | None) -> frozenset[str]:
    """Function words of ``code``'s language (English's for a language without a list)."""
    return _STOPWORDS.get(code or "en", _STOPWORDS["en"])


def content_words(normalised: str, code: str | None) -> list[str]:
    """The words of an already normalised text that carry meaning: stopwords out, Korean
    particles cut off. Empty for scripts without spaces (there a word is a whole phrase)."""
    if code in ("zh", "ja", "th"):
        return []
    if code == "ko":
        return [w for w in (_strip_particle(w) for w in normalised.split()) if w]
    stop = stopwords(code)
    return [w for w in normalised.split() if len(w) > 2 and w not in stop]


def _strip_particle(word: str) -> str:
    for particle in _KO_PARTICLES:
        if word.endswith(particle) and len(word) > len(particle):
            return word[: -len(particle)]
    return word


def stem(word: str) -> str:
    """A crude, language-neutral stem: the first few characters (fewer for Hangul, whose
    syllables each carry a morpheme)."""
    return word[:_HANGUL_STEM_CHARS] if _HANGUL.match(word) else word[:STEM_CHARS]


def join_unspaced(text: str) -> str:
    """``text`` without the spaces between characters of scripts written without them
    (a PDF's or a model's stray spaces inside Chinese or Japanese)."""
    return _UNSPACED_GAP.sub("", text)


# ---------------------------------------------------------------- token estimates

# what a byte-level BPE tokenizer (SmolLM2, Llama, Qwen, GPT) never merges across: a run of
# Latin letters (~3+ characters a token), a digit (split one by one), a line break, a space
# before a digit or another space (table cells), a non-ASCII character (at most one token
# per UTF-8 byte: 2 for "ü", 3 for a Hangul syllable or a math sign), punctuation
_TOKEN_PIECE = re.compile(r"[A-Za-z]+|\d|\n| (?=[\d ])|[^\x00-\x7f]|[^\w\s]|\t")
LETTERS_PER_TOKEN = 3
#: headroom over the pieces' count. With it, no chunk of 8 corpus PDFs (English prose, code,
#: tables, German math, Korean) measured more than 0.96 of the estimate under SmolLM2's
#: tokenizer (chars/4: up to 7.9x too few for Korean, 1.5x for tables); prose is
#: overestimated ~1.7x, the price of never overflowing a context
ESTIMATE_FACTOR = 1.1


def estimate_tokens(text: str) -> int:
    """A conservative token count for ``text`` where no tokenizer is at hand (see above)."""
    if not text:
        return 0
    count = 0
    for match in _TOKEN_PIECE.finditer(text):
        piece = match.group(0)
        first = piece[0]
        if first.isascii() and first.isalpha():
            count += -(-len(piece) // LETTERS_PER_TOKEN)
        elif first.isascii():
            count += 1
        else:
            count += len(first.encode("utf-8", "surrogatepass"))
    return max(1, int(count * ESTIMATE_FACTOR + 0.999))
