"""Helpers shared by the bench scripts: corpus and model lookup, machine load, chunk sets,
and the raw (no qaforge code) client used for the engine's own peak figures.

The bench scripts are programs, not tests: each prints one summary line per figure and
exits 0. They live beside this module, so ``import benchlib`` works when run as scripts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO / "../shared/pdfs"
FALLBACK_MODEL = Path("/tmp/models/SmolLM2-135M-Instruct.Q4_1.gguf")
#: files of the shared corpus without a usable text layer (see its MANIFEST.md)
NOT_TEXT = frozenset({
    "huckfinn-scanned-multipage.pdf", "pdfminer-175-scanned.pdf",
    "doclaynet-pg3-encrypted-userpw.pdf", "layoutparser-copy-protected.pdf",
    "zen_of_python_corrupted.pdf", "R-data_truncated.pdf",
})


def text_files(corpus: Path) -> list[Path]:
    """The text-layer PDFs of the shared corpus, sorted by name."""
    return sorted(p for p in corpus.glob("*.pdf") if p.name not in NOT_TEXT)


def find_model(explicit: str = "") -> Path | None:
    """The GGUF to benchmark: ``explicit``, else the bundled demo model, else
    ``$QAFORGE_TEST_MODEL``, else the /tmp copy; None when none exists."""
    if explicit:
        return Path(explicit)
    from qaforge.llm.catalogue import find_bundled_model

    candidates = [find_bundled_model(), os.environ.get("QAFORGE_TEST_MODEL"), FALLBACK_MODEL]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def cores() -> int:
    return max(1, len(os.sched_getaffinity(0)))


def busy_percent(seconds: float = 1.0) -> float:
    """Share of all cores busy over ``seconds`` (this process sleeps meanwhile)."""
    return float(psutil.cpu_percent(interval=seconds))


def pick_threads(requested: int) -> tuple[int, str]:
    """Engine threads for a fair comparison, and a line saying why.

    0 means auto: all cores on a quiet machine, 1 when other processes keep more than a
    quarter of the cores busy over a 2-second sample (llama.cpp's threads spin-wait for a
    descheduled peer, so 2 threads on 2 busy cores crawl).
    """
    load1 = os.getloadavg()[0]
    busy = busy_percent(2.0)
    state = f"{cores()} cores, load average {load1:.1f}, {busy:.0f}% busy before start"
    if requested > 0:
        return requested, f"machine: {state}; threads={requested} (as asked)"
    # the load average lags by minutes (and counts our own finished runs): trust the sample
    threads = 1 if busy > 25 else cores()
    return threads, f"machine: {state}; threads={threads} (auto)"


def child_parser(doc: str, command: str) -> argparse.ArgumentParser:
    """A parser for a script that runs ``qaforge COMMAND`` children: ``--corpus``,
    ``--model``, ``--threads`` and ``--workdir`` (what follows ``--`` goes to the child)."""
    parser = argparse.ArgumentParser(
        description=doc.splitlines()[0],
        epilog=f"Arguments after -- go to qaforge {command} (e.g. -- --backend fake).")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--model", default="", help="GGUF file (default: the bundled model)")
    parser.add_argument("--threads", type=int, default=0,
                        help="engine threads (default 0: all cores when quiet, else 1)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the cut PDFs and work dirs here (default: a temporary dir)")
    return parser


def split_child_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """``argv`` cut at ``--``: the script's own arguments, and those for the qaforge child."""
    split = argv.index("--") if "--" in argv else len(argv)
    return argv[:split], argv[split + 1:]


def backend_of(child_args: list[str]) -> str:
    """The ``--backend`` among a qaforge command's arguments (default llamacpp)."""
    backend = "llamacpp"
    for index, arg in enumerate(child_args):
        if arg == "--backend" and index + 1 < len(child_args):
            backend = child_args[index + 1]
        elif arg.startswith("--backend="):
            backend = arg.split("=", 1)[1]
    return backend


def child_model_args(model: str, threads: int, child_args: list[str]
                     ) -> tuple[list[str], str] | None:
    """``--model``/``--threads`` (then ``child_args``) for a qaforge child, and how to name
    its machine (:func:`pick_threads`) and model in a report; ``None``, after saying so,
    when the embedded engine has no model here."""
    backend = backend_of(child_args)
    found = find_model(model) if backend == "llamacpp" else None
    if backend == "llamacpp" and found is None:
        print("nothing to measure: no model (qaforge models pull, or --model FILE)")
        return None
    picked, machine = pick_threads(threads)
    out = ["--threads", str(picked), *child_args]
    if found is not None or model:
        out[:0] = ["--model", str(found or model)]
    shown = f"model {found.name}" if found else f"backend {backend} {model}".rstrip()
    return out, f"{machine}; {shown}"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class LoadMonitor:
    """How much CPU other processes took while a measured block ran.

    ``others`` is the share of the machine's cores used by everything except this process
    (and the children it waited for) between :meth:`start` and :meth:`stop`.
    """

    def __init__(self) -> None:
        self._me = psutil.Process()
        self.others = 0.0
        self.mine = 0.0
        self.wall = 0.0
        self.cpu_seconds = 0.0

    def _mine(self) -> float:
        t = self._me.cpu_times()
        return float(t.user + t.system + t.children_user + t.children_system)

    def start(self) -> LoadMonitor:
        self._sys = psutil.cpu_times()
        self._proc = self._mine()
        self._t = time.perf_counter()
        return self

    def stop(self) -> LoadMonitor:
        now = psutil.cpu_times()
        busy = sum(getattr(now, f) - getattr(self._sys, f) for f in
                   ("user", "nice", "system", "irq", "softirq", "steal"))
        self.wall = time.perf_counter() - self._t
        mine = self._mine() - self._proc
        self.cpu_seconds = mine
        capacity = max(self.wall * cores(), 1e-9)
        self.mine = mine / capacity
        self.others = max(0.0, busy - mine) / capacity
        return self

    def __enter__(self) -> LoadMonitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def describe(self) -> str:
        return f"other processes used {self.others:.0%} of the machine meanwhile"


def ratio_line(name: str, value: float, target: float, unit: str = "x") -> str:
    """``name = 6.1x (target >= 5x): met``."""
    shown = f"{value:.0%}" if unit == "%" else f"{value:.2f}x"
    wanted = f"{target:.0%}" if unit == "%" else f"{target:g}x"
    verdict = "met" if value >= target else "MISSED"
    return f"{name} = {shown} (target >= {wanted}): {verdict}"


# ------------------------------------------------------------------ raw engine client

@dataclass
class RawResult:
    """One reply from the raw client: text and the server's own token counts."""

    text: str
    completion_tokens: int
    prompt_tokens: int
    prompt_processed: int  # prompt tokens the server evaluated (the rest came from its cache)
    finish_reason: str | None
    prompt_ms: float = 0.0  # the server's own timers for this request
    predicted_ms: float = 0.0


@dataclass
class RawRun:
    results: list[RawResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def completion_tokens(self) -> int:
        return sum(r.completion_tokens for r in self.results)


def start_raw_server(model: Path, *, parallel: int, context: int, threads: int) -> Any:
    """An ``xllamacpp.Server`` set up like qaforge's engine, started without qaforge code."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.port = 0
    params.hostnames = ["127.0.0.1"]
    params.n_parallel = parallel
    params.n_ctx = parallel * context
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.cache_prompt = True
    params.verbosity = 0
    return xllamacpp.Server(params)


def chat_body(messages: list[dict[str, str]], schema: dict[str, Any] | None, name: str,
              max_tokens: int, seed: int | None = 0) -> dict[str, Any]:
    """The request body an OpenAI-compatible client sends to llama.cpp's server."""
    body: dict[str, Any] = {"messages": messages, "max_tokens": max_tokens,
                            "temperature": 0.0, "cache_prompt": True}
    if seed is not None:
        body["seed"] = seed
    if schema is not None:
        body["response_format"] = {"type": "json_schema", "json_schema": {
            "name": name, "schema": schema, "strict": True}}
    return body


def post_all(base_url: str, bodies: Sequence[dict[str, Any]], concurrency: int) -> RawRun:
    """POST every body to ``/v1/chat/completions`` with ``concurrency`` in flight (plain
    httpx from a thread pool); results come back in input order."""
    import httpx

    payloads = [json.dumps(b).encode() for b in bodies]  # serialised before the clock starts
    local = threading.local()
    url = base_url.rstrip("/") + "/v1/chat/completions"

    def send(payload: bytes) -> RawResult:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=3600)
        response = client.post(url, content=payload,
                               headers={"Content-Type": "application/json"})
        response.raise_for_status()
        data = response.json()
        usage = data.get("usage") or {}
        timings = data.get("timings") or {}
        choice = data["choices"][0]
        prompt = int(usage.get("prompt_tokens") or 0)
        return RawResult(text=choice["message"].get("content") or "",
                         completion_tokens=int(usage.get("completion_tokens") or 0),
                         prompt_tokens=prompt,
                         prompt_processed=int(timings.get("prompt_n", prompt)),
                         finish_reason=choice.get("finish_reason"),
                         prompt_ms=float(timings.get("prompt_ms", 0.0)),
                         predicted_ms=float(timings.get("predicted_ms", 0.0)))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(send, payloads))
    return RawRun(results=results, seconds=time.perf_counter() - started)


def post_grouped(base_url: str, groups: Sequence[Sequence[dict[str, Any]]],
                 concurrency: int) -> RawRun:
    """Like :func:`post_all`, but each worker sends a whole group one request after another
    (so requests sharing a long prompt prefix follow each other into the same slot)."""
    flat = [body for group in groups for body in group]
    order: list[int] = []
    start = 0
    for group in groups:
        order.append(start)
        start += len(group)
    results: list[RawResult | None] = [None] * len(flat)
    started = time.perf_counter()

    def run_group(index: int) -> None:
        first = order[index]
        run = post_all(base_url, groups[index], 1)
        for offset, result in enumerate(run.results):
            results[first + offset] = result

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(run_group, range(len(groups))))
    done = [r for r in results if r is not None]
    return RawRun(results=done, seconds=time.perf_counter() - started)


def server_url(server: Any) -> str:
    address = str(server.listening_address)
    return address if address.startswith("http") else f"http://{address}"


# ------------------------------------------------------------------ observing qaforge's client

class CompletionTap:
    """Wraps an :class:`~qaforge.llm.base.LLMClient`'s ``stream`` to note what the server
    reported for every reply (prompt tokens evaluated vs cached); the requests and replies
    pass through untouched."""

    def __init__(self, client: Any) -> None:
        self.prompt_processed: list[int] = []
        self.prompt_tokens: list[int] = []
        self.completion_tokens: list[int] = []
        self.prompt_ms = 0.0  # the server's timers, summed over replies
        self.predicted_ms = 0.0
        self.first_round: list[Any] = []
        self.requests: list[list[Any]] = []  # the requests of every ``stream`` call, in order
        self._inner = client.stream
        client.stream = self._stream

    def _stream(self, requests: Sequence[Any]) -> Any:
        self.requests.append(list(requests))
        first = len(self.requests) == 1
        for index, result in self._inner(requests):
            extra = getattr(result, "extra", None)
            if isinstance(extra, dict):
                timings = extra.get("timings") or {}
                self.prompt_tokens.append(result.prompt_tokens)
                self.prompt_processed.append(int(timings.get("prompt_n", result.prompt_tokens)))
                self.completion_tokens.append(result.completion_tokens)
                self.prompt_ms += float(timings.get("prompt_ms", 0.0))
                self.predicted_ms += float(timings.get("predicted_ms", 0.0))
            if first:
                self.first_round.append(result)
            yield index, result
