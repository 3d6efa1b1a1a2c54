"""The one-retry rule both model stages share (qaforge.llm.retry)."""

from __future__ import annotations

from qaforge.llm.base import ChatRequest, Completion, LLMError
from qaforge.llm.fake import FakeBackend
from qaforge.llm.retry import stream_with_retry


def _ask(text: str) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": text}], tag=text)


def test_unusable_replies_are_asked_once_more_after_the_first_round() -> None:
    def reply(request: ChatRequest) -> str | BaseException:
        content = request.messages[-1]["content"]
        if content == "down":
            return LLMError("server down")
        return "ok" if content in ("good", "bad again:fixed") else "???"

    client = FakeBackend(reply, max_concurrency=1)
    seen: list[tuple[int, str | None]] = []

    def read(index: int, result: Completion | LLMError, first: str | None
             ) -> tuple[str, ChatRequest | None]:
        seen.append((index, first))
        text = result.text if isinstance(result, Completion) else f"error: {result}"
        if text == "ok" or first is not None or isinstance(result, LLMError):
            return text, None
        again = _ask(f"{requests[index].messages[-1]['content']} again:fixed"
                     if index == 1 else "still bad")
        return text, again

    requests = [_ask("good"), _ask("bad"), _ask("down"), _ask("worse")]
    out = list(stream_with_retry(client, requests, read))

    # first-round outcomes come as they finish; the retries after, with the first outcome
    assert out == [(0, "ok"), (2, "error: server down"), (1, "ok"), (3, "???")]
    assert seen[-2:] == [(1, "???"), (3, "???")]
    assert [r.messages[-1]["content"] for r in client.history][-2:] == [
        "bad again:fixed", "still bad"]
    assert len(client.history) == 6  # four first tries, two retries, no third try


def test_nothing_to_retry_sends_nothing_more() -> None:
    client = FakeBackend(["ok"])
    out = list(stream_with_retry(client, [_ask("a"), _ask("b")],
                                 lambda i, r, first: ("done", None)))
    assert sorted(out) == [(0, "done"), (1, "done")] and len(client.history) == 2
