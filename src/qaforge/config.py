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
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qaforge.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_NAME = "qaforge.toml"
BackendName = Literal["llamacpp", "openai", "transformers", "fake"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LLMSettings(_Section):
    """How to reach a model. Used for the generator (``[llm]``) and the judge (``[judge]``)."""

    backend: BackendName = "llamacpp"
    model: str = ""
    base_url: str = ""
    base_urls: list[str] = Field(default_factory=list)
    api_key: str = ""
    api_key_env: str = "OPENAI_API_KEY"
    server_profile: str = ""  # "", "vllm", "ollama", "llamacpp", "openai", "lmstudio"
    concurrency: int = Field(default=4, ge=1, le=512)
    threads: int = Field(default=0, ge=0,
                         description="engine CPU threads; 0 = the cores not busy at start")
    context: int = Field(default=2048, ge=256, description="tokens per request slot")
    gpu_layers: int = -1
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=768, ge=16)
    timeout: float = Field(default=120.0, gt=0)
    retries: int = Field(default=3, ge=0)
    batch_size: int = Field(default=8, ge=1, description="transformers batch size")
    device: str = ""  # transformers: "", "cpu", "cuda", "cuda:1"
    gguf_file: str = ""  # transformers: GGUF file inside a model dir


class GenerateSettings(_Section):
    pairs_per_chunk: int = Field(default=3, ge=1, le=20)
    chunk_tokens: int = Field(default=0, ge=0, description="token budget per chunk; 0 = auto")
    min_chunk_tokens: int = Field(default=48, ge=1)
    password: str = ""
    ocr: bool = False
    prompt: str = "qa/v1"
    prompt_file: str = ""
    retry_failed: bool = False


class RefineSettings(_Section):
    system_prompt: str = ""
    correct_reviewed: bool = False
    accept_threshold: float = Field(default=4.0, ge=1.0, le=5.0)
    min_grounding: float = Field(default=0.5, ge=0.0, le=1.0)
    near_duplicate_threshold: float = Field(default=0.85, ge=0.0, le=1.0)
    correct: bool = True


class ReviewSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    open_browser: bool = False


class RunnerSettings(_Section):
    runner: Literal["local", "ray"] = "local"
    ray_address: str = ""


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
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: config file not found")
        return explicit
    for folder in (Path.cwd(), *search_dirs):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


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
    """Defaults < ``qaforge.toml`` < ``overrides`` (flags, nested like the file; None = unset)."""
    data: dict[str, Any] = {}
    path = find_config(config, *search_dirs)
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
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
