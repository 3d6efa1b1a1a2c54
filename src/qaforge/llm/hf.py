"""``--backend transformers``: Hugging Face models run in-process (optional extra).

Install with ``pip install 'qaforge[transformers]'``. The model is a hub id (default
``microsoft/Phi-3-mini-4k-instruct``), a local directory, or a GGUF file (``--model
file.gguf``, or a directory plus ``gguf_file``; transformers dequantizes it, so it needs
about 4x the file size in RAM). Prompts go through the tokenizer's chat template; requests
run as real left-padded batches of ``batch_size``; decoding is greedy unless a request asks
for a temperature; a GPU is used in bf16 when present. When ``lm-format-enforcer`` is
installed, ``ChatRequest.schema`` constrains decoding; otherwise ``supports_schema`` is False
and callers rely on their tolerant parser.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from qaforge.config import LLMSettings
from qaforge.llm import reasoning
from qaforge.llm.base import BackendUnavailable, ChatRequest, Completion, LLMClient, LLMError
from qaforge.llm.catalogue import is_demo_model

DEFAULT_MODEL = "microsoft/Phi-3-mini-4k-instruct"
INSTALL_HINT = "pip install 'qaforge[transformers]'"
LOG_ENV = "QAFORGE_ENGINE_LOG"


def _import_stack() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise BackendUnavailable(f"the transformers backend needs the optional extra "
                                 f"({exc.name} is missing): {INSTALL_HINT}") from None
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return torch, transformers


def _schema_support() -> bool:
    """True when lm-format-enforcer's core is importable.

    Its ``integrations.transformers`` module does not import under transformers 5, so the
    small glue (tokenizer data, prefix function) lives in :class:`_SchemaEnforcer`."""
    try:
        import lmformatenforcer  # noqa: F401
    except ImportError:
        return False
    return True


class _SchemaEnforcer:
    """Builds ``prefix_allowed_tokens_fn`` callables that keep generation inside a schema."""

    def __init__(self, tokenizer: Any) -> None:
        from lmformatenforcer import TokenEnforcerTokenizerData

        vocab_size = len(tokenizer)
        special = set(tokenizer.all_special_ids)
        token_0 = tokenizer.encode("0", add_special_tokens=False)[-1]
        regular = []
        for token in range(vocab_size):
            if token in special:
                continue
            # decoding after "0" keeps the leading space of word-start tokens
            after_0 = tokenizer.decode([token_0, token])[1:]
            alone = tokenizer.decode([token])
            regular.append((token, after_0, len(after_0) > len(alone)))

        def decode(tokens: list[int]) -> str:
            return str(tokenizer.decode(tokens)).rstrip("\ufffd")

        self._data = TokenEnforcerTokenizerData(regular, decode, tokenizer.eos_token_id,
                                                False, vocab_size)

    def prefix_fn(self, schema: dict[str, Any]) -> Any:
        from lmformatenforcer import JsonSchemaParser, TokenEnforcer

        enforcer = TokenEnforcer(self._data, JsonSchemaParser(schema))

        def allowed(_batch_id: int, tokens: Any) -> list[int]:
            return list(enforcer.get_allowed_tokens(tokens.tolist()).allowed_tokens)

        return allowed


def split_model_spec(model: str, gguf_file: str = "") -> tuple[str, str]:
    """``(source, gguf_file)`` for ``from_pretrained``: a ``.gguf`` path becomes its folder
    plus file name; anything else passes through."""
    spec = model or DEFAULT_MODEL
    path = Path(spec).expanduser()
    if not gguf_file and path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise BackendUnavailable(f"{path}: model file not found")
        return str(path.parent), path.name
    return (str(path) if path.exists() else spec), gguf_file


def adapter_base(model: str) -> str | None:
    """The base model a LoRA adapter folder names (its ``adapter_config.json``), or None
    when ``model`` is not an adapter folder."""
    config = Path(model).expanduser() / "adapter_config.json" if model else None
    if config is None or not config.is_file():
        return None
    try:
        base = json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path")
    except (OSError, ValueError, AttributeError) as exc:
        raise BackendUnavailable(f"{config}: not a readable adapter config ({exc})") from None
    if not isinstance(base, str) or not base:
        raise BackendUnavailable(f"{config}: names no base_model_name_or_path")
    return base


def _merged(model: Any, adapter: str) -> Any:
    """``model`` with the LoRA adapter in ``adapter`` merged into its weights."""
    try:
        from peft import PeftModel
    except ImportError:
        raise BackendUnavailable(f"{adapter}: a LoRA adapter needs peft: {INSTALL_HINT}"
                                 ) from None
    return PeftModel.from_pretrained(model, adapter).merge_and_unload()


class TransformersBackend(LLMClient):
    """A causal LM from ``transformers`` with batched, greedy generation; ``model`` may
    also be a LoRA adapter folder (PEFT), merged into the base model it names."""

    backend = "transformers"

    def __init__(self, model: str = "", *, gguf_file: str = "", device: str = "",
                 batch_size: int = 8, threads: int = 0, schema: bool = True,
                 reasoning_tokens: int = 0) -> None:
        super().__init__()
        torch, transformers = _import_stack()
        self._torch = torch
        adapter = model if adapter_base(model) else ""
        source, gguf = split_model_spec(adapter_base(model) or model, gguf_file)
        self.model = f"{source}/{gguf}" if gguf else source
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if threads and self.device == "cpu":
            torch.set_num_threads(threads)
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        extra = {"gguf_file": gguf} if gguf else {}
        quiet = os.environ.get(LOG_ENV, "") in ("", "0")
        try:
            # the GGUF loader draws a tqdm bar on stderr with no switch to turn it off
            with contextlib.redirect_stderr(io.StringIO()) if quiet else contextlib.nullcontext():
                self.tokenizer = transformers.AutoTokenizer.from_pretrained(source, **extra)
                self._model = transformers.AutoModelForCausalLM.from_pretrained(
                    source, dtype=dtype, **extra).to(self.device)
                if adapter:
                    self._model = _merged(self._model, adapter)
                    self.model = f"{self.model}+{adapter}"
        except (OSError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BackendUnavailable(f"{self.model}: transformers could not load it: "
                                     f"{first}") from exc
        self._model.eval()
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.max_concurrency = batch_size
        self.reasoning_tokens = reasoning_tokens
        self.context_length = reasoning.usable_context(
            getattr(self._model.config, "max_position_embeddings", None), reasoning_tokens)
        self.is_demo_model = is_demo_model(gguf or source)
        self.supports_schema = schema and _schema_support()
        self._enforcer: _SchemaEnforcer | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ prompts

    def render(self, messages: list[dict[str, str]]) -> str:
        """The prompt text for ``messages`` (chat template, or a plain fallback)."""
        if getattr(self.tokenizer, "chat_template", None):
            text: str = self.tokenizer.apply_chat_template(messages, tokenize=False,
                                                           add_generation_prompt=True)
            return text
        lines = [f"{m.get('role', 'user')}: {m.get('content', '')}" for m in messages]
        return "\n".join([*lines, "assistant:"])

    def count_tokens(self, text: str) -> int:
        """Tokens under the model's own tokenizer."""
        if not text:
            return 0
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    # ------------------------------------------------------------------ generation

    def _prefix_fn(self, schema: dict[str, Any] | None) -> Any:
        if schema is None or not self.supports_schema:
            return None
        if self._enforcer is None:
            self._enforcer = _SchemaEnforcer(self.tokenizer)
        return self._enforcer.prefix_fn(schema)

    def generate_batch(self, batch: Sequence[ChatRequest]) -> list[Completion]:
        """One left-padded ``generate`` call; all requests share the first one's schema."""
        torch = self._torch
        first = batch[0]
        prompts = [self.render(r.messages) for r in batch]
        inputs = self.tokenizer(prompts, return_tensors="pt", padding=True,
                                add_special_tokens=False).to(self.device)
        budgets = [reasoning.with_budget(r.max_tokens, self.reasoning_tokens) for r in batch]
        options: dict[str, Any] = {"max_new_tokens": max(budgets),
                                   "pad_token_id": self.tokenizer.pad_token_id}
        if first.temperature > 0:
            options.update(do_sample=True, temperature=first.temperature)
            if first.seed is not None:
                torch.manual_seed(first.seed)
        else:
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        prefix_fn = self._prefix_fn(first.schema)
        if prefix_fn is not None:
            options["prefix_allowed_tokens_fn"] = prefix_fn
        with self._lock, torch.inference_mode():
            output = self._model.generate(**inputs, **options)
        prompt_len = inputs["input_ids"].shape[1]
        eos = self.tokenizer.eos_token_id
        results = []
        for row, budget in enumerate(budgets):
            new = output[row, prompt_len:].tolist()
            stop = new.index(eos) if eos in new else len(new)
            tokens = new[:min(stop, budget)]
            text = self.tokenizer.decode(tokens, skip_special_tokens=True)
            results.append(Completion(
                text=reasoning.reopen(prompts[row], text),
                prompt_tokens=int(inputs["attention_mask"][row].sum()),
                completion_tokens=len(tokens),
                finish_reason="stop" if stop < len(new) and stop <= budget else "length"))
        return results

    def _complete(self, request: ChatRequest, cancel: threading.Event | None) -> Completion:
        """One request as a batch of one."""
        try:
            return self.generate_batch([request])[0]
        except (RuntimeError, ValueError) as exc:
            raise LLMError(f"transformers generation failed: {exc}") from exc

    def stream(self, requests: Sequence[ChatRequest]
               ) -> Iterator[tuple[int, Completion | LLMError]]:
        """Real batches of ``batch_size``, grouped by schema and sampling settings."""
        groups: dict[str, list[int]] = {}
        for index, request in enumerate(requests):
            key = json.dumps([request.schema, request.temperature, request.seed],
                             sort_keys=True, default=str)
            groups.setdefault(key, []).append(index)
        for indices in groups.values():
            for start in range(0, len(indices), self.max_concurrency):
                chunk = indices[start:start + self.max_concurrency]
                try:
                    results: list[Completion | LLMError] = list(
                        self.generate_batch([requests[i] for i in chunk]))
                except (RuntimeError, ValueError) as exc:
                    results = [LLMError(f"transformers generation failed: {exc}")] * len(chunk)
                for index, result in zip(chunk, results, strict=True):
                    self.usage.add(result)
                    yield index, result

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model, "device": self.device,
                "batch_size": self.max_concurrency}

    def close(self) -> None:
        self.__dict__.pop("_model", None)
        gc.collect()
        if self.device.startswith("cuda"):
            self._torch.cuda.empty_cache()


def from_settings(settings: LLMSettings) -> TransformersBackend:
    """``--backend transformers`` from ``[llm]`` settings."""
    return TransformersBackend(settings.model, gguf_file=settings.gguf_file,
                               device=settings.device, batch_size=settings.batch_size,
                               threads=settings.threads,
                               reasoning_tokens=settings.reasoning_tokens)
