"""LLM backends behind one interface (:class:`~qaforge.llm.base.LLMClient`).

Backends register a factory under a short name. Built-ins: ``llamacpp`` (the embedded
llama.cpp engine, default), ``openai`` (any OpenAI-compatible server), ``transformers``
(Hugging Face, optional extra) and ``fake`` (scripted, for tests). Third-party packages add
more through the ``qaforge.backends`` entry-point group: a callable taking
:class:`~qaforge.config.LLMSettings` and returning an ``LLMClient``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from importlib.metadata import entry_points

from qaforge.config import LLMSettings
from qaforge.llm.base import (
    BackendUnavailable,
    ChatRequest,
    Completion,
    LLMClient,
    LLMError,
    Sampling,
)

Factory = Callable[[LLMSettings], LLMClient]

# name -> "module:function"; imported lazily so heavy backends cost nothing until used
_BUILTINS: dict[str, str] = {
    "llamacpp": "qaforge.llm.engine:from_settings",
    "openai": "qaforge.llm.openai:from_settings",
    "transformers": "qaforge.llm.hf:from_settings",
    "fake": "qaforge.llm.fake:from_settings",
}


def available_backends() -> list[str]:
    names = set(_BUILTINS)
    names.update(ep.name for ep in entry_points(group="qaforge.backends"))
    return sorted(names)


def _factory(name: str) -> Factory:
    target = _BUILTINS.get(name)
    if target is not None:
        module, attr = target.split(":")
        factory: Factory = getattr(import_module(module), attr)
        return factory
    for ep in entry_points(group="qaforge.backends"):
        if ep.name == name:
            loaded: Factory = ep.load()
            return loaded
    raise BackendUnavailable(
        f"unknown backend {name!r}; available: {', '.join(available_backends())}")


def make_client(settings: LLMSettings) -> LLMClient:
    """Build (and start, for the embedded engine) the backend ``settings`` names; its
    requests use the settings' ``temperature`` and ``max_tokens`` (:class:`Sampling`), and
    generate keeps reasoning with ``reasoning = "keep"``."""
    client = _factory(settings.backend)(settings)
    client.sampling = Sampling(temperature=settings.temperature, max_tokens=settings.max_tokens,
                               keep_reasoning=settings.reasoning == "keep")
    return client


__all__ = [
    "BackendUnavailable",
    "ChatRequest",
    "Completion",
    "LLMClient",
    "LLMError",
    "Sampling",
    "available_backends",
    "make_client",
]
