"""Settings: defaults, then an optional ``qaforge.toml``, then command-line flags.

    [llm]                      # the generator
    backend = "llamacpp"       # llamacpp | openai | transformers | fake
    model = ""                 # GGUF path, hub id or server model name; "" = bundled demo model
    base_url = ""              # openai backend; several servers: base_urls = ["...", "..."]
    concurrency = 4

    [judge]                    # same keys; anything left out falls back to [llm]
    model = "/models/qwen2.5-1.5b-instruct-q4_k_m.gguf"

    [generate]
    pairs_per_chunk = 3

    [refine]
    system_prompt = "You are a helpful assistant."

Trust: a ``qaforge.toml`` found in the work dir may have come from someone else (a shared
folder, a downloaded dataset), so it may tune the job but not set :data:`UNTRUSTED_KEYS`,
the keys that decide where data is sent, which model or file is loaded and which secret is
read. Those come only from flags, ``--config FILE`` or ``./qaforge.toml`` when the current
directory is not the work dir.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from qaforge.errors import ConfigError
from qaforge.languages import resolve_language
from qaforge.prompts import DEFAULT_QA_PROMPT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_NAME = "qaforge.toml"
_LLM_UNTRUSTED = frozenset({"backend", "model", "base_url", "base_urls", "api_key",
                            "api_key_env", "server_profile", "gguf_file"})
#: section -> keys a work dir's config may not set (unless they hold the default value)
UNTRUSTED_KEYS: dict[str, frozenset[str]] = {
    "llm": _LLM_UNTRUSTED,
    "judge": _LLM_UNTRUSTED,
    "generate": frozenset({"prompt_file"}),
    "review": frozenset({"host"}),
    "runner": frozenset({"runner", "ray_address"}),
}
BackendName = Literal["llamacpp", "openai", "transformers", "fake"]
#: how refine's judge decides (qaforge.refine.judge)
JudgeMethod = Literal["checks", "cite", "strict", "rubric"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LLMSettings(_Section):
    """How to reach a model. Used for the generator (``[llm]``) and the judge (``[judge]``)."""

    backend: BackendName = Field(default="llamacpp", description="which engine answers: "
                                 "embedded llama.cpp, an OpenAI-compatible server, "
                                 "transformers, or the scripted fake (tests)")
    model: str = Field(default="", description="GGUF path, hub id or server model name; "
                       "empty = the bundled demo model")
    base_url: str = Field(default="", description="openai backend: the server's /v1 URL")
    base_urls: list[str] = Field(default_factory=list,
                                 description="openai backend: several servers, requests "
                                 "spread over them")
    api_key: str = Field(default="", description="openai backend: the key itself (prefer "
                         "api_key_env)")
    api_key_env: str = Field(default="OPENAI_API_KEY", description="openai backend: the "
                             "environment variable that holds the key")
    server_profile: str = Field(default="", description="server quirks: vllm, ollama, "
                                "llamacpp, openai, lmstudio; empty = detect")
    concurrency: int = Field(default=4, ge=1, le=512, description="requests in flight")
    threads: int = Field(default=0, ge=0,
                         description="engine CPU threads; 0 = the cores not busy at start")
    context: int = Field(default=2048, ge=256, description="tokens per request slot")
    gpu_layers: int = Field(default=-1, description="llamacpp: layers offloaded to the GPU; "
                            "-1 = the engine's default")
    prompt_cache_mib: int = Field(default=1024, ge=0, description="llamacpp: RAM (MiB) "
                                  "for prompts read earlier, so a judge call does not read "
                                  "again the chunk its draft read (~30 MB a chunk with a "
                                  "1.5B model); 0 = off")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="sampling "
                               "temperature of every request (0 = greedy)")
    max_tokens: int = Field(default=0, ge=0, description="most tokens per reply: 0 = each "
                            "stage's own budget (generate: sized for pairs_per_chunk, judge "
                            "160, correct 320, quiz and eval their own); 16 or more caps "
                            "those budgets")
    reasoning_tokens: int = Field(default=0, ge=0, description="reasoning models: extra "
                                  "tokens per reply to think before answering")
    reasoning: Literal["strip", "keep"] = Field(default="strip", description="reasoning "
                                                "models: keep their thinking in the dataset "
                                                "(a separate field) or strip it")
    timeout: float = Field(default=120.0, gt=0, description="seconds per request")
    retries: int = Field(default=3, ge=0, description="retries of a failed request, "
                         "with backoff")
    batch_size: int = Field(default=8, ge=1, description="transformers batch size")
    device: str = Field(default="", description="transformers: cpu, cuda, cuda:1; "
                        "empty = GPU when present")
    gguf_file: str = Field(default="", description="transformers: GGUF file inside the "
                           "model dir")

    @field_validator("max_tokens")
    @classmethod
    def _cap_or_auto(cls, value: int) -> int:
        if 0 < value < 16:
            raise ValueError("must be 0 (each stage's own budget) or at least 16")
        return value


class GenerateSettings(_Section):
    pairs_per_chunk: int = Field(default=3, ge=1, le=20,
                                 description="question/answer pairs asked per chunk")
    chunk_tokens: int = Field(default=0, ge=0, description="token budget per chunk; 0 = auto")
    min_chunk_tokens: int = Field(default=48, ge=1, description="smaller snippets are "
                                  "merged with their neighbours")
    password: str = Field(default="", description="password of encrypted PDFs")
    ocr: bool = Field(default=False, description="OCR pages without a text layer "
                      "(needs tesseract)")
    prompt: str = Field(default=DEFAULT_QA_PROMPT, description="packaged Q&A prompt template")
    prompt_file: str = Field(default="", description="your own prompt template file "
                             "(overrides prompt)")
    retry_failed: bool = Field(default=False, description="re-ask chunks whose output "
                               "could not be parsed")
    coverage: float = Field(default=0.0, ge=0.0, le=1.0, description="share of each chunk's "
                            "informative sentences its pairs should rest on: chunks below "
                            "it are asked again about the uncovered sentences only (0 = off)")
    coverage_rounds: int = Field(default=2, ge=0, le=10, description="extra requests per "
                                 "chunk at most, for coverage")
    skip_boilerplate: bool = Field(default=True, description="do not send chunks with nothing "
                                   "to learn (table of contents, index, bibliography, front "
                                   "matter, blank pages, tables of numbers alone); each is "
                                   "marked skipped with the reason in its file")
    language: str = Field(default="auto", description="language of the pairs: auto (each "
                          "chunk's own) or a code or name such as de or German")
    forms: dict[str, float] = Field(
        default_factory=lambda: {"qa": 1.0}, description="question forms and their share of "
        "each chunk's pairs: qa, reasoning, summary, multi_turn, yes_no, fill_in (a table such "
        "as {qa = 0.6, yes_no = 0.2, fill_in = 0.2}, or a comma list for equal shares)")

    @field_validator("forms", mode="before")
    @classmethod
    def _known_forms(cls, value: Any) -> dict[str, float]:
        from qaforge.forms import parse_forms

        if not isinstance(value, str | dict):
            raise ValueError("give a table of form = share, or a comma list of forms")
        try:
            return parse_forms(value)
        except (ConfigError, TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from None

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        try:
            resolve_language(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return value
    extract_memory_mb: int = Field(default=2048, ge=0, description="memory cap per PDF "
                                   "while extracting, MB (0 = none, extract in-process)")


class RefineSettings(_Section):
    system_prompt: str = Field(default="", description="system message first in every "
                               "dataset row")
    correct_reviewed: bool = Field(default=False, description="also rewrite flagged "
                                   "pairs a person accepted or edited")
    judge_method: JudgeMethod = Field(
        default="checks", description="how the judge decides: checks (it answers each "
        "question from the passage and the answers are compared; measured best with small "
        "models), cite (it names the passage's sentences that answer each question and the "
        "answer must rest on them), strict (both: Clear only when both are) or rubric (it "
        "scores the pair 1-5)")
    accept_threshold: float = Field(default=4.0, ge=1.0, le=5.0, description="lowest "
                                    "judge score (1-5) that counts as Clear (rubric method)")
    min_grounding: float = Field(default=0.5, ge=0.0, le=1.0, description="answers less "
                                 "grounded in their chunk are flagged")
    near_duplicate_threshold: float = Field(default=0.85, ge=0.0, le=1.0, description=
                                            "question similarity that counts as a "
                                            "near-duplicate")
    correct: bool = Field(default=True, description="rewrite flagged drafts (else "
                          "skip them)")
    correct_trial: int = Field(default=8, ge=0, description="stop correcting for the rest "
                               "of a run when too few of its first this many rewrites passed "
                               "(0 = never stop)")
    correct_trial_pass: float = Field(default=0.25, ge=0.0, le=1.0, description="the share "
                                      "of the trial's rewrites that must pass for correcting "
                                      "to go on (at least one always must)")


class ReviewSettings(_Section):
    host: str = Field(default="127.0.0.1", description="address the review app binds to")
    port: int = Field(default=8765, ge=0, le=65535, description="review app port (the next "
                      "free one when taken; 0 = any free port)")
    open_browser: bool = Field(default=False, description="open the review app in a "
                               "browser")


class RunnerSettings(_Section):
    runner: Literal["local", "ray"] = Field(default="local", description="in-process or "
                                           "a Ray cluster")
    ray_address: str = Field(default="", description="Ray cluster to join; empty = "
                             "$RAY_ADDRESS or a local one")


class Settings(_Section):
    llm: LLMSettings = Field(default_factory=LLMSettings)
    judge: dict[str, Any] = Field(default_factory=dict)
    generate: GenerateSettings = Field(default_factory=GenerateSettings)
    refine: RefineSettings = Field(default_factory=RefineSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    runner: RunnerSettings = Field(default_factory=RunnerSettings)

    def judge_llm(self) -> LLMSettings:
        """The judge's settings: ``[judge]`` over ``[llm]``."""
        try:
            return LLMSettings.model_validate({**self.llm.model_dump(), **self.judge})
        except ValidationError as exc:
            raise ConfigError(f"[judge]: {_first_error(exc)}") from exc

    @property
    def judge_is_generator(self) -> bool:
        return self.judge_llm() == self.llm


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}"


def find_config(explicit: Path | None, *search_dirs: Path) -> Path | None:
    """``--config`` wins; otherwise the first ``qaforge.toml`` in the cwd or the given dirs."""
    return locate_config(explicit, *search_dirs)[0]


def locate_config(explicit: Path | None, *search_dirs: Path) -> tuple[Path | None, bool]:
    """The config file to read and whether it is trusted: ``--config`` is, and so is
    ``./qaforge.toml`` unless the current directory is one of ``search_dirs`` (the work dir);
    a file found in a work dir is not."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: config file not found")
        return explicit, True
    cwd = Path.cwd()
    untrusted_dirs = {_resolved(d) for d in search_dirs}
    for folder in (cwd, *search_dirs):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate, _resolved(folder) not in untrusted_dirs
    return None, False


def _resolved(folder: Path) -> Path:
    try:
        return folder.resolve()
    except OSError:
        return folder.absolute()


def untrusted_settings(data: dict[str, Any]) -> list[str]:
    """``[section] key`` for every :data:`UNTRUSTED_KEYS` entry ``data`` sets to something
    other than its default."""
    defaults = Settings().model_dump()
    found: list[str] = []
    for section, keys in UNTRUSTED_KEYS.items():
        values = data.get(section)
        if not isinstance(values, dict):
            continue
        base = defaults["llm"] if section == "judge" else defaults[section]
        found += [f"[{section}] {key}" for key in sorted(keys)
                  if key in values and values[key] != base.get(key)]
    return found


def _refuse_untrusted(path: Path, data: dict[str, Any]) -> None:
    refused = untrusted_settings(data)
    if refused:
        raise ConfigError(
            f"{path}: {', '.join(refused)} not taken from a config found in the work dir, "
            "which may come from someone else (these decide where data is sent and what is "
            f"loaded or read); if you trust this file, pass it with --config {path}, or give "
            "the setting as a flag")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings(config: Path | None = None, overrides: dict[str, Any] | None = None,
                  search_dirs: tuple[Path, ...] = ()) -> Settings:
    """Defaults < ``qaforge.toml`` < ``overrides`` (flags, nested like the file; None = unset).

    A config found in one of ``search_dirs`` (the work dir) that sets an
    :data:`UNTRUSTED_KEYS` entry is refused with a :class:`ConfigError`."""
    data: dict[str, Any] = {}
    path, trusted = locate_config(config, *search_dirs)
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        except OSError as exc:
            raise ConfigError(f"{path}: {exc.strerror or exc}") from exc
        if not trusted:
            _refuse_untrusted(path, data)
    clean = {section: {k: v for k, v in values.items() if v is not None}
             for section, values in (overrides or {}).items()}
    data = _merge(data, clean)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        source = f"{path}" if path else "settings"
        raise ConfigError(f"{source}: {_first_error(exc)}") from exc
    settings.judge_llm()  # validate [judge] early
    return settings
