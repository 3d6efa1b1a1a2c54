"""Per-server quirks of OpenAI-compatible endpoints, kept as data.

The client never asks "is this vLLM?"; it asks its :class:`ServerProfile` how to send a
schema, where to count tokens, whether ``seed`` is welcome and how many requests to keep in
flight. A profile comes from ``LLMSettings.server_profile`` or is detected from the URL and
the server's ``/v1/models`` answer (:func:`detect_profile`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

SchemaStyle = Literal["json_schema", "json_object", "none"]
TokenizeStyle = Literal["none", "llamacpp", "vllm"]

_SCHEMA_NAME = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class ServerProfile:
    """What differs between OpenAI-compatible servers."""

    name: str
    #: how ``ChatRequest.schema`` goes on the wire: OpenAI's nested ``json_schema``, the
    #: llama-cpp-python style ``{"type": "json_object", "schema": ...}``, or not at all
    schema_style: SchemaStyle = "json_schema"
    #: True when the server constrains decoding to the schema (not merely reads it)
    enforces_schema: bool = True
    #: token counting endpoint, relative to the server root (the URL without ``/v1``)
    tokenize_style: TokenizeStyle = "none"
    tokenize_path: str = "/tokenize"
    default_concurrency: int = 4
    accepts_seed: bool = True
    #: name of the output-length field (OpenAI's newer models want ``max_completion_tokens``)
    max_tokens_field: str = "max_tokens"
    #: fields added to every chat request (e.g. llama.cpp's prompt cache switch)
    extra_body: dict[str, Any] = field(default_factory=dict)
    #: True when the server needs ``model`` set (it serves several, or it is a hosted API)
    needs_model: bool = False
    #: server-info endpoint (relative to the root) that reports the per-slot context
    props_path: str = ""

    def response_format(self, schema: dict[str, Any], name: str) -> dict[str, Any] | None:
        """The ``response_format`` field asking for JSON that fits ``schema``."""
        if self.schema_style == "json_schema":
            clean = _SCHEMA_NAME.sub("_", name)[:64] or "output"
            return {"type": "json_schema",
                    "json_schema": {"name": clean, "schema": schema, "strict": True}}
        if self.schema_style == "json_object":
            return {"type": "json_object", "schema": schema}
        return None

    def tokenize_body(self, text: str, model: str) -> dict[str, Any]:
        if self.tokenize_style == "vllm":
            body: dict[str, Any] = {"prompt": text, "add_special_tokens": False}
            if model:
                body["model"] = model
            return body
        return {"content": text, "add_special": False}

    @staticmethod
    def token_count(payload: Any) -> int | None:
        """Tokens in a ``/tokenize`` answer (llama.cpp: ``tokens``; vLLM: ``count``)."""
        if not isinstance(payload, dict):
            return None
        if isinstance(payload.get("count"), int):
            return int(payload["count"])
        tokens = payload.get("tokens")
        return len(tokens) if isinstance(tokens, list) else None

    @staticmethod
    def context_length(models_payload: Any, props_payload: Any = None) -> int | None:
        """Per-request context window: llama.cpp ``/props`` (per slot) or vLLM ``max_model_len``."""
        if isinstance(props_payload, dict):
            settings = props_payload.get("default_generation_settings") or {}
            if isinstance(settings, dict) and isinstance(settings.get("n_ctx"), int):
                return int(settings["n_ctx"])
        entries = models_payload.get("data") if isinstance(models_payload, dict) else None
        if isinstance(entries, list) and entries and isinstance(entries[0], dict):
            value = entries[0].get("max_model_len")
            if isinstance(value, int) and value > 0:
                return value
        return None


GENERIC = ServerProfile("generic")
LLAMACPP = ServerProfile("llamacpp", tokenize_style="llamacpp", default_concurrency=4,
                         extra_body={"cache_prompt": True}, props_path="/props")
VLLM = ServerProfile("vllm", tokenize_style="vllm", default_concurrency=32, needs_model=True)
OLLAMA = ServerProfile("ollama", default_concurrency=4, needs_model=True)
OPENAI = ServerProfile("openai", default_concurrency=8, needs_model=True,
                       max_tokens_field="max_completion_tokens")
LMSTUDIO = ServerProfile("lmstudio", default_concurrency=2, needs_model=True)
#: llama-cpp-python's server silently ignores the nested json_schema form
LLAMA_CPP_PYTHON = ServerProfile("llama-cpp-python", schema_style="json_object",
                                 default_concurrency=1)

PROFILES: dict[str, ServerProfile] = {p.name: p for p in (
    GENERIC, LLAMACPP, VLLM, OLLAMA, OPENAI, LMSTUDIO, LLAMA_CPP_PYTHON)}

# owned_by values seen in /v1/models answers
_OWNED_BY = {"llamacpp": LLAMACPP, "vllm": VLLM, "library": OLLAMA, "openai": OPENAI,
             "system": OPENAI, "llama_cpp_python": LLAMA_CPP_PYTHON, "me": LLAMA_CPP_PYTHON,
             "organization_owner": LMSTUDIO}
_DEFAULT_PORTS = {11434: OLLAMA, 1234: LMSTUDIO}


def get_profile(name: str) -> ServerProfile:
    """The profile called ``name``; raises ``KeyError`` naming the known ones."""
    try:
        return PROFILES[name.strip().lower()]
    except KeyError:
        raise KeyError(f"unknown server profile {name!r}; known: "
                       f"{', '.join(sorted(PROFILES))}") from None


def detect_profile(base_url: str, models_payload: Any = None) -> ServerProfile:
    """Best guess from the URL and (when given) the server's ``/v1/models`` answer."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if host == "api.openai.com" or host.endswith(".openai.azure.com"):
        return OPENAI
    if isinstance(models_payload, dict):
        entries = models_payload.get("data")
        if isinstance(entries, list) and entries and isinstance(entries[0], dict):
            owner = str(entries[0].get("owned_by", "")).lower()
            if owner in _OWNED_BY:
                return _OWNED_BY[owner]
        if "models" in models_payload and isinstance(models_payload.get("models"), list):
            return LLAMACPP  # llama.cpp's server adds an Ollama-style "models" list
    if parts.port in _DEFAULT_PORTS:
        return _DEFAULT_PORTS[parts.port]
    return GENERIC
