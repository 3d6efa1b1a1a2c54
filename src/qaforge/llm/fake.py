"""A scripted fake backend for deterministic tests and dry runs.

    >>> from qaforge.llm.fake import FakeBackend
    >>> llm = FakeBackend(['{"pairs": [{"question": "Why?", "answer": "Because."}]}'])
    >>> llm.complete(ChatRequest(messages=[{"role": "user", "content": "x"}])).text
    '{"pairs": [{"question": "Why?", "answer": "Because."}]}'

Replies come from a list (consumed in order, the last one repeats), or from a function of
the request. A reply that is an exception instance is raised instead, to script failures; a
:class:`Completion` is returned as it is (to script a finish reason or server-side
reasoning). With no script at all, :func:`echo_pairs` answers from the request's
structured fields and schema (grounded pairs from its passage). Replies may start with
``<think>...</think>`` like a reasoning model's: the :class:`Completion` separates it, as
for every backend.

``--backend fake`` (:func:`from_settings`) reads two environment variables, so tests can
drive the real CLI in a subprocess: ``QAFORGE_FAKE_DELAY`` (seconds each reply takes) and
``QAFORGE_FAKE_LOG`` (a file that gets one JSON line per request, to count model calls);
``QAFORGE_FAKE_THINK`` puts that text in a ``<think>`` block before every reply.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, MutableSequence, Sequence
from typing import Any

from qaforge.llm.base import ChatRequest, Completion, LLMClient, LLMError
from qaforge.text import sentences

Reply = str | BaseException | Completion
Script = Sequence[Reply] | Callable[[ChatRequest], Reply]

_MIN_SENTENCE = 20


def echo_pairs(request: ChatRequest) -> str:
    """A deterministic reply that fits the request's schema well enough for logic tests.

    It reads what the request is about from its structured fields (``passage``, ``pair``)
    and what to answer from its schema, never from the prompt's wording, so any prompt
    template gets the same answers (see :func:`_unstructured_passage` for requests without
    one). Pairs (``pairs``) and quiz items (``items``) come from the
    passage's sentences, and so do the question forms' items (:mod:`qaforge.forms`, told
    apart by their fields); a judge schema (``label``) gets ``Clear``; a correction schema
    (``question``/``answer``) gets the pair back; the judge's answer check (``answer``
    alone) gets the pair's answer, its cite check (``sentences``) the numbers of the
    passage's sentences that share words with it; a grade (``correct``) says "yes" when the
    reference (the grade's passage) is inside the answer; an eval answer (tag
    ``eval-answer:``, free text) is the passage, or "I do not know." without one.
    """
    props = (request.schema or {}).get("properties", {})
    passage = request.passage or _unstructured_passage(request)
    question, answer = request.pair or ("", "")
    if request.tag.startswith("eval-answer:"):
        return f"Yes. {' '.join(request.passage.split())[:1500]}" if request.passage \
            else "I do not know."
    if "items" in props:
        return json.dumps({"items": _quiz_items(request.passage)})
    if "correct" in props:
        known = bool(request.passage.strip()) and \
            request.passage.strip().lower() in answer.lower()
        return json.dumps({"correct": "yes" if known else "no", "reason": "fake grade"})
    if "label" in props:
        return json.dumps({"reason": "The answer is supported by the passage.", "clarity": 5,
                           "coherence": 5, "relevance": 5, "groundedness": 5, "label": "Clear"})
    if set(props) == {"answer"}:  # the judge's answer check: the pair's answer, so it agrees
        return json.dumps({"answer": answer or "not stated"})
    if set(props) == {"sentences"}:  # the judge's cite check: where the pair's answer is
        return json.dumps({"sentences": _sentences_holding(answer, passage)})
    if "question" in props and "answer" in props:
        return json.dumps({"question": question or "What is described?",
                           "answer": answer or "It is described in the text."})
    sentences = _sentences(passage)[:3] or [passage.strip()[:200] or "-"]
    item = (props.get("pairs") or {}).get("items", {}).get("properties", {})
    if "conversations" in props or set(item) - {"question", "answer"}:
        return json.dumps(_form_reply("conversations" in props, set(item), sentences))
    pairs = [{"question": f"What is known about {' '.join(s.split()[:4])}?",
              "answer": s} for s in sentences]
    return json.dumps({"pairs": pairs})


def _form_reply(conversation: bool, fields: set[str], sentences: list[str]) -> dict[str, Any]:
    """A reply in one of the question forms' schemas (:mod:`qaforge.forms`), told apart by
    their item fields, from the passage's ``sentences``."""
    def about(sentence: str) -> str:
        return " ".join(sentence.split()[:4])

    if conversation:
        follow = sentences[1] if len(sentences) > 1 else sentences[0]
        return {"conversations": [{"exchanges": [
            {"user": f"What is known about {about(sentences[0])}?", "assistant": sentences[0]},
            {"user": f"And what about {about(follow)}?", "assistant": follow}]}]}
    items: list[dict[str, Any]] = []
    for sentence in sentences:
        words = sentence.rstrip(".!?").split()
        if "steps" in fields:
            items.append({"question": f"Why is it that {' '.join(words)}?",
                          "steps": [sentence, *sentences[:1]], "conclusion": sentence})
        elif "instruction" in fields:
            items.append({"instruction": f"Summarise what is said about {about(sentence)}.",
                          "summary": " ".join(sentences)})
        elif "verdict" in fields:
            items.append({"question": f"Is it true that {' '.join(words)}?", "verdict": "yes",
                          "explanation": sentence})
        elif "cloze" in fields:
            items.append({"cloze": " ".join([*words[:-1], "____."]), "missing": words[-1]})
    return {"pairs": items}


def _unstructured_passage(request: ChatRequest) -> str:
    """A request without a ``passage`` (built by hand, or received over HTTP by the testing
    server, where only the text travels): its last message, inside ``<passage>`` tags when
    it has them."""
    text = request.messages[-1]["content"] if request.messages else ""
    return text.split("<passage>")[-1].split("</passage>")[0] if "<passage>" in text else text


def _sentences(text: str) -> list[str]:
    """The passage's sentences long enough to ask about."""
    return [s for s in sentences(text) if len(s) > _MIN_SENTENCE]


def _sentences_holding(answer: str, passage: str) -> list[int]:
    """1-based numbers of the (at most 3) sentences of ``passage`` that share two or more
    words of four letters or more with ``answer``."""
    wanted = {w for w in answer.lower().split() if len(w) > 3}
    return [n for n, s in enumerate(sentences(passage), 1)
            if len(wanted & set(s.lower().split())) >= 2][:3]


def _quiz_items(passage: str) -> list[dict[str, str]]:
    """``qaforge quiz`` items from the passage's sentences: yes/no, fill-in, short."""
    items = []
    for i, sentence in enumerate(_sentences(passage)[:3]):
        words = sentence.rstrip(".!?").split()
        if i % 3 == 0:
            items.append({"form": "yesno", "answer": "Yes", "evidence": sentence,
                          "question": f"Is it true that {' '.join(words)}?"})
        elif i % 3 == 1:
            items.append({"form": "fill", "answer": words[-1], "evidence": sentence,
                          "question": " ".join([*words[:-1], "____."])})
        else:
            items.append({"form": "short", "answer": " ".join(words[-3:]),
                          "evidence": sentence,
                          "question": f"What completes: {' '.join(words[:-3])} ...?"})
    return items


class FakeBackend(LLMClient):
    """Answers from a script; records every request in :attr:`history` (only the latest
    ``history_limit`` when given)."""

    backend = "fake"

    def __init__(self, script: Script | None = None, *, model: str = "fake-model",
                 max_concurrency: int = 4, supports_schema: bool = True,
                 delay: float = 0.0, context_length: int = 4096,
                 is_demo_model: bool = False, history_limit: int | None = None) -> None:
        super().__init__()
        self.model = model
        self.max_concurrency = max_concurrency
        self.supports_schema = supports_schema
        self.context_length = context_length
        self.is_demo_model = is_demo_model
        self.delay = delay
        # the CLI's fake keeps only the latest requests: a million-pair run must not hold
        # a million prompts
        self.history: MutableSequence[ChatRequest] = (
            deque(maxlen=history_limit) if history_limit else [])
        self._script = script
        self._next = 0
        self._lock = threading.Lock()

    def _reply_for(self, request: ChatRequest) -> Reply:
        with self._lock:
            self.history.append(request)
            script = self._script
            if script is None:
                return echo_pairs(request)
            if callable(script):
                return script(request)
            if not script:
                raise LLMError("fake backend: script is empty")
            reply = script[min(self._next, len(script) - 1)]
            self._next += 1
            return reply

    def _complete(self, request: ChatRequest, cancel: threading.Event | None) -> Completion:
        reply = self._reply_for(request)
        if self.delay:
            time.sleep(self.delay)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, Completion):
            return reply
        prompt = sum(self.count_tokens(m.get("content", "")) for m in request.messages)
        return Completion(text=reply, prompt_tokens=prompt,
                          completion_tokens=self.count_tokens(reply), finish_reason="stop")

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model}


#: requests a ``--backend fake`` client remembers (the latest ones)
CLI_HISTORY = 1_000
DELAY_ENV = "QAFORGE_FAKE_DELAY"
LOG_ENV = "QAFORGE_FAKE_LOG"
THINK_ENV = "QAFORGE_FAKE_THINK"


def logging_echo(log_path: str) -> Callable[[ChatRequest], Reply]:
    """:func:`echo_pairs` that first appends the request to ``log_path`` as one JSON line."""

    def reply(request: ChatRequest) -> Reply:
        line = json.dumps({"tag": request.tag, "messages": request.messages,
                           "schema": request.schema, "max_tokens": request.max_tokens,
                           "temperature": request.temperature}, ensure_ascii=True)
        with open(log_path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        return echo_pairs(request)

    return reply


def thinking(script: Callable[[ChatRequest], Reply], thought: str
             ) -> Callable[[ChatRequest], Reply]:
    """``script`` with a reasoning model's ``<think>`` block (``thought``) before each reply."""

    def reply(request: ChatRequest) -> Reply:
        answer = script(request)
        return f"<think>\n{thought}\n</think>\n{answer}" if isinstance(answer, str) else answer

    return reply


def from_settings(settings: Any) -> FakeBackend:
    """``--backend fake``: the echo script, for dry runs of the pipeline without a model
    (slowed, logged and made to think through ``QAFORGE_FAKE_DELAY`` / ``QAFORGE_FAKE_LOG``
    / ``QAFORGE_FAKE_THINK``, see above)."""
    log_path = os.environ.get(LOG_ENV, "")
    script: Callable[[ChatRequest], Reply] = logging_echo(log_path) if log_path else echo_pairs
    if os.environ.get(THINK_ENV):
        script = thinking(script, os.environ[THINK_ENV])
    return FakeBackend(script,
                       model=settings.model or "fake-model", max_concurrency=settings.concurrency,
                       delay=float(os.environ.get(DELAY_ENV, "") or 0.0),
                       history_limit=CLI_HISTORY)
