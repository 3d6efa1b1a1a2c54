"""Benchmark: does a fine-tune on a qaforge dataset learn the documents? End to end, on real PDFs.

For each recipe a dataset is built from the same PDFs (timed), a LoRA is trained on it with
TRL's ``SFTTrainer`` once per training seed (timed), and the base model and every fine-tune
answer one shared held-out quiz through ``qaforge eval`` (built once, before any model is
asked; timed). Recipes:

default  ``qaforge run`` (generate + refine) then ``qaforge export --format prompt-completion``
forms    the same with several question forms per chunk (``--forms``, default qa, yes_no and
         fill_in, 6 pairs per chunk: 2 of each): several phrasings per fact
multi    (not run unless named) 6 qa pairs per chunk: several pairs per fact, the same count
seed     the seed's pipeline on the default recipe's chunks: its free-text ``**Question 1:**``
         prompt through a transformers pipeline, parsed with ``parse_pairs``
         (``bench_generate.py`` mode (a)), as prompt-completion rows
raw      the chunks' text as plain rows: continued pretraining, no questions

Prompt-completion rows put the loss on the answers only; plain-text rows on every token.
The quiz comes from ``quiz/v2`` (never the prompts of the training data), its yes/no items
balanced between Yes and No, and drops items near any recipe's training question. Prints
one line per recipe: rows, generation and training time, closed-book accuracy (mean ±
standard deviation over the training seeds) and its gain over the base model, open-book
accuracy, control-set change; writes ``WORKDIR/teach.json``. Recipe and its reasons:
``docs/training-recipe.md``.

    python bench/teach.py [--pdfs ../shared/pdfs] [--files a.pdf,b.pdf] [--seeds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import benchlib
from bench_e2e import SUBSET
from bench_generate import SEED_MAX_NEW_TOKENS, seed_messages, seed_pipeline, seed_reply

RECIPES = ("default", "forms", "seed", "raw", "multi")
DEFAULT_RECIPES = ("default", "forms", "seed", "raw")
CLI = "import sys; from qaforge.cli import main; sys.argv[0] = 'qaforge'; main()"


@dataclass
class Dataset:
    """One recipe's training rows and what building them cost."""

    recipe: str
    path: Path
    rows: int
    seconds: float
    text: bool = False  # plain-text rows (continued pretraining), not prompt-completion
    train_seconds: list[float] = field(default_factory=list)
    adapters: list[Path] = field(default_factory=list)


def qaforge(*args: str, ok: tuple[int, ...] = (0,)) -> tuple[float, str]:
    """Run one ``qaforge`` command; (wall seconds, stdout). Anything else than ``ok`` stops."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in ok:
        sys.exit(f"qaforge {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def count_rows(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


# ------------------------------------------------------------------ datasets

def builder_args(args: argparse.Namespace, model: str = "") -> list[str]:
    out = ["--backend", args.backend, "--threads", str(args.threads)]
    model = model or args.generator_model
    return out + (["--model", model] if model else [])


def judge_args(args: argparse.Namespace) -> list[str]:
    out = ["--judge-backend", args.judge_backend or args.backend]
    judge = args.judge_model or args.generator_model
    return out + (["--judge-model", judge] if judge else [])


def build_qaforge(recipe: str, pairs: int, inputs: Path, work: Path,
                  args: argparse.Namespace, forms: str = "qa") -> tuple[Dataset, float]:
    """``qaforge run`` + ``export --format prompt-completion``; (dataset, extract seconds)."""
    workdir = work / recipe
    run_s, out = qaforge("run", str(inputs), "-o", str(workdir), "--pairs", str(pairs),
                         "--forms", forms, *builder_args(args), *judge_args(args), "--json",
                         "-q")
    export_s, _ = qaforge("export", str(workdir), "--format", "prompt-completion",
                          "-o", str(workdir / "export"), "-q", ok=(0, 2))
    rows = workdir / "export" / "train.jsonl"
    if not rows.is_file():  # refine kept nothing: an empty dataset, reported as such
        write_rows(rows, [])
    extract_s = float(json.loads(out)["generate"]["extract_seconds"])
    return Dataset(recipe, rows, count_rows(rows), run_s + export_s), extract_s


def chunk_texts(workdir: Path) -> list[str]:
    """The text of every chunk the default recipe drafted from (the quiz's chunks too)."""
    from qaforge.quiz.make import source_chunks

    warnings: list[str] = []
    return [source.chunk.text for source in source_chunks(workdir, warnings)]


def seed_rows(reply: str) -> list[dict[str, Any]]:
    """The seed's free-text ``reply`` as prompt-completion rows, one per pair the seed's
    parser finds (both parts non-empty)."""
    from qaforge.export.formats import Conversation, export_row
    from qaforge.qa_parsing import parse_pairs

    return [export_row(Conversation(turns=[pair]), "prompt-completion")
            for pair in parse_pairs(reply).pairs]


def build_seed(texts: list[str], extract_s: float, work: Path,
               args: argparse.Namespace) -> Dataset:
    """The seed's pipeline over ``texts``: free-text replies parsed with ``parse_pairs``."""
    started = time.perf_counter()
    pipe, tokenizer, _ = seed_pipeline(Path(args.generator_model or args.model), args.threads)
    rows = []
    for text in texts:
        reply = seed_reply(pipe, tokenizer, seed_messages(text, args.seed_pairs),
                           args.seed_max_new_tokens)
        rows += seed_rows(reply)
    path = work / "seed" / "train.jsonl"
    write_rows(path, rows)
    return Dataset("seed", path, len(rows), extract_s + time.perf_counter() - started)


def build_raw(texts: list[str], extract_s: float, work: Path) -> Dataset:
    path = work / "raw" / "train.jsonl"
    write_rows(path, [{"text": text} for text in texts])
    return Dataset("raw", path, len(texts), extract_s, text=True)


def build_quiz(source: Path, datasets: list[Dataset], work: Path,
               args: argparse.Namespace) -> float:
    """One quiz over the default recipe's chunks, checked against every recipe's questions."""
    quiz = work / "quiz"
    shutil.copytree(source / "output_json", quiz / "output_json")
    questions = []
    for dataset in datasets:
        for line in dataset.path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            if "prompt" in row:  # the near-duplicate check reads messages rows
                questions.append({"messages": row["prompt"] + row["completion"]})
    write_rows(quiz / "cleaned_finetune.jsonl", questions)
    control = [] if args.control is None else ["--control", str(args.control)]
    seconds, _ = qaforge("quiz", str(quiz), "--max-chunks", str(args.quiz_chunks), *control,
                         *builder_args(args, args.quiz_model), "-q")
    return seconds


# ------------------------------------------------------------------ training

def train(dataset: Dataset, seed: int, out: Path, args: argparse.Namespace) -> float:
    """A LoRA on ``dataset`` with TRL's SFTTrainer; saves the adapter in ``out`` (its config
    names the base model as ``qaforge eval`` loads it). Returns the training seconds."""
    import datasets as hf_datasets
    import peft
    import torch
    import transformers
    import trl

    from qaforge.fileio import atomic_write_json
    from qaforge.llm.hf import split_model_spec

    transformers.utils.logging.set_verbosity_error()
    hf_datasets.disable_progress_bars()
    cuda = torch.cuda.is_available()
    if not cuda and args.threads:
        torch.set_num_threads(args.threads)
    transformers.set_seed(seed)  # before the LoRA weights are drawn
    source, gguf = split_model_spec(args.model)
    extra = {"gguf_file": gguf} if gguf else {}
    with contextlib.redirect_stderr(io.StringIO()):  # the GGUF loader's progress bars
        tokenizer = transformers.AutoTokenizer.from_pretrained(source, **extra)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            source, dtype=torch.bfloat16 if cuda else torch.float32, **extra)
    quantizer: Any = getattr(model, "hf_quantizer", None)
    if quantizer is not None and gguf:
        # a GGUF is dequantized to plain weights on load, but keeps the quantizer's marker,
        # which makes the Trainer refuse to train a LoRA on top
        quantizer.remove_quantization_config(model)
    columns = ["text"] if dataset.text else ["prompt", "completion"]
    rows = hf_datasets.load_dataset("json", data_files=str(dataset.path), split="train")
    config = trl.SFTConfig(
        output_dir=str(out / "trainer"), seed=seed, num_train_epochs=args.epochs,
        max_steps=args.max_steps or -1, learning_rate=args.lr,
        per_device_train_batch_size=args.batch, lr_scheduler_type="cosine", warmup_steps=0.05,
        max_length=args.max_length, completion_only_loss=None if dataset.text else True,
        logging_steps=10, save_strategy="no", report_to=[], disable_tqdm=True,
        use_cpu=not cuda, bf16=cuda)
    lora = peft.LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=0.05,
                           target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = trl.SFTTrainer(model=model, processing_class=tokenizer, args=config,
                             train_dataset=rows.select_columns(columns), peft_config=lora)
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    adapted: Any = trainer.model
    adapted.save_pretrained(str(out))
    settings = out / "adapter_config.json"
    written = json.loads(settings.read_text(encoding="utf-8"))
    base = str(Path(args.model).resolve()) if Path(args.model).exists() else args.model
    atomic_write_json(settings, {**written, "base_model_name_or_path": base})
    shutil.rmtree(out / "trainer", ignore_errors=True)
    del trainer, model
    return seconds


# ------------------------------------------------------------------ eval and the table

def evaluate(datasets: list[Dataset], work: Path, args: argparse.Namespace
             ) -> tuple[float, dict[str, dict[str, Any]]]:
    """``qaforge eval`` of the base model and every adapter; (seconds, summary per label)."""
    base = str(Path(args.model).resolve()) if Path(args.model).exists() else args.model
    specs = ["-m", f"base=transformers:{base}"]
    for dataset in datasets:
        for adapter in dataset.adapters:  # none for a recipe that had no rows
            specs += ["-m", f"{adapter.name}=transformers:{adapter}"]
    judge = ["--judge-backend", args.judge_backend or args.backend]
    judge += ["--judge-model",
              args.grade_model or args.judge_model or args.generator_model or args.model]
    limit = ["--limit", str(args.eval_limit)] if args.eval_limit else []
    seconds, _ = qaforge("eval", str(work / "quiz"), *specs, "--threads", str(args.threads),
                         *limit, *judge, "-q", ok=(0, 1))
    document = json.loads((work / "quiz" / "eval.json").read_text(encoding="utf-8"))
    return seconds, {m["label"]: m["summary"] for m in document["models"]}


def accuracy(summary: dict[str, Any], key: str, measure: str = "accuracy") -> float | None:
    """The judge's accuracy (or ``measure``: ``recall``, ``f1``) of one mode of a summary."""
    value = summary.get(key, {}).get(measure)
    return None if value is None else float(value)


def spread(values: list[float]) -> str:
    """``mean ± sd (n)`` in percent; sd over the seeds (0 with one seed)."""
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):6.1%} ± {sd:4.1%} ({len(values)})"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def points(value: float | None, base: float | None) -> str:
    return "-" if value is None or base is None else f"{(value - base) * 100:+5.1f} pts"


def table(datasets: list[Dataset], summaries: dict[str, dict[str, Any]]
          ) -> list[dict[str, Any]]:
    """Print one line per recipe (and the base); return the same figures as records."""
    base = summaries["base"]
    base_closed, base_control = accuracy(base, "closed"), accuracy(base, "control")
    print(f"{'recipe':8} {'rows':>5} {'gen s':>7} {'train s':>8}  {'closed-book (sd, seeds)':24} "
          f"{'gain':>9}  {'recall':>6}  {'open-book':>9}  {'control':>9}  (recall: closed-book "
          "token recall of the reference, no judge; base: control accuracy; recipes: change)")
    print(f"{'base':8} {'-':>5} {'-':>7} {'-':>8}  {percent(base_closed):24} "
          f"{'-':>9}  {percent(accuracy(base, 'closed', 'recall')):>6}  "
          f"{percent(accuracy(base, 'open')):>9}  {percent(base_control):>9}")
    records = []
    for dataset in datasets:
        runs = [summaries.get(adapter.name, {}) for adapter in dataset.adapters]
        closed = [a for a in (accuracy(r, "closed") for r in runs) if a is not None]
        opened = [a for a in (accuracy(r, "open") for r in runs) if a is not None]
        control = [a for a in (accuracy(r, "control") for r in runs) if a is not None]
        recall = [a for a in (accuracy(r, "closed", "recall") for r in runs) if a is not None]
        mean = statistics.mean(closed) if closed else None
        control_mean = statistics.mean(control) if control else None
        train_s = statistics.mean(dataset.train_seconds) if dataset.train_seconds else 0.0
        trained = "not trained: no rows" if not dataset.adapters else ""
        print(f"{dataset.recipe:8} {dataset.rows:5d} {dataset.seconds:7.1f} {train_s:8.1f}  "
              f"{trained or spread(closed):24} {points(mean, base_closed):>9}  "
              f"{percent(statistics.mean(recall) if recall else None):>6}  "
              f"{percent(statistics.mean(opened) if opened else None):>9}  "
              f"{points(control_mean, base_control):>9}")
        records.append({**asdict(dataset), "path": str(dataset.path),
                        "adapters": [str(a) for a in dataset.adapters],
                        "closed": closed, "open": opened, "control": control,
                        "closed_recall": recall,
                        "closed_gain": None if mean is None or base_closed is None
                        else mean - base_closed,
                        "control_change": None if control_mean is None or base_control is None
                        else control_mean - base_control})
    return records


# ------------------------------------------------------------------ main

class Steps:
    """The steps a run finished and what they measured, in ``steps.json``: ``--resume``
    goes on from there (a two-hour benchmark should not lose an hour to one bug)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: dict[str, Any] = (json.loads(path.read_text(encoding="utf-8"))
                                     if path.is_file() else {})

    def once(self, step: str, measure: Callable[[], Any]) -> Any:
        """What ``step`` measured in an earlier run, else ``measure()``'s (JSON) value,
        recorded."""
        from qaforge.fileio import atomic_write_json

        if step not in self.done:
            self.done[step] = measure()
            atomic_write_json(self.path, self.done)
        return self.done[step]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pdfs", type=Path, default=benchlib.DEFAULT_CORPUS)
    parser.add_argument("--files", default=",".join(SUBSET),
                        help="PDFs of --pdfs to use, comma-separated, or 'all'")
    parser.add_argument("--recipes", default=",".join(DEFAULT_RECIPES),
                        help=f"comma list of {', '.join(RECIPES)}")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per recipe")
    parser.add_argument("--epochs", type=float, default=10.0,
                        help="10: at 3 the 135M model learned nothing (docs/training-recipe.md)")
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--lora-alpha", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=1024, help="tokens per row")
    parser.add_argument("--resume", action="store_true",
                        help="go on in --workdir with the steps a stopped run did not finish")
    parser.add_argument("--max-steps", type=int, default=0, help="stop after N steps (smoke)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where everything goes (must be new or empty; default: a temp dir)")
    parser.add_argument("--model", default="", help="base model: GGUF file, folder or hub id "
                        "(default: the bundled model)")
    parser.add_argument("--generator-model", default="",
                        help="model that builds the datasets and the quiz (default: --model)")
    parser.add_argument("--backend", default="llamacpp", help="backend building datasets/quiz")
    parser.add_argument("--judge-backend", default="", help="refine's and eval's judge")
    parser.add_argument("--judge-model", default="")
    parser.add_argument("--quiz-model", default="",
                        help="model that writes the quiz (default: --generator-model)")
    parser.add_argument("--grade-model", default="",
                        help="eval's judge grading the answers (default: --judge-model)")
    parser.add_argument("--pairs", type=int, default=3, help="pairs per chunk, default recipe")
    parser.add_argument("--multi-pairs", type=int, default=6,
                        help="pairs per chunk, forms and multi")
    parser.add_argument("--forms", default="qa,yes_no,fill_in", help="forms of the forms recipe")
    parser.add_argument("--seed-pairs", type=int, default=3)
    parser.add_argument("--seed-max-new-tokens", type=int, default=SEED_MAX_NEW_TOKENS)
    parser.add_argument("--quiz-chunks", type=int, default=0, help="0: every chunk")
    parser.add_argument("--control", type=int, default=None,
                        help="control questions (default: all 30)")
    parser.add_argument("--eval-limit", type=int, default=0,
                        help="ask only the first N quiz items (smoke; default 0: all)")
    parser.add_argument("--threads", type=int, default=0, help="0: auto (1 on a busy machine)")
    args = parser.parse_args()
    found = benchlib.find_model(args.model)
    args.model = str(found) if found is not None else args.model
    if not args.generator_model and args.backend != "fake":
        args.generator_model = args.model
    args.seed_list = list(range(1, args.seeds + 1))
    return args


def main() -> int:
    args = parse_args()
    recipes = [r.strip() for r in args.recipes.split(",") if r.strip()]
    unknown = sorted(set(recipes) - set(RECIPES))
    if unknown or not args.model:
        print(f"nothing to measure: unknown recipes {unknown} (known: {', '.join(RECIPES)})"
              if unknown else "nothing to measure: no base model found (--model)")
        return 0
    names = ([p.name for p in benchlib.text_files(args.pdfs)] if args.files == "all"
             else [n.strip() for n in args.files.split(",") if n.strip()])
    missing = [n for n in names if not (args.pdfs / n).is_file()]
    if missing or not names:
        print(f"nothing to measure: not found in {args.pdfs}: {missing or 'no files'}")
        return 0
    args.threads, machine = benchlib.pick_threads(args.threads)
    print(machine)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="qaforge-teach-"))
    if work.exists() and any(work.iterdir()) and not args.resume:
        sys.exit(f"{work}: not empty; teach.py measures from scratch in a new folder "
                 "(--resume goes on with the steps a stopped run finished)")
    steps = Steps(work / "steps.json")
    inputs = work / "input"
    inputs.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy2(args.pdfs / name, inputs / name)
    print(f"{len(names)} PDFs, base model {args.model}, work dir {work}", flush=True)

    def build(recipe: str, make: Callable[[], Dataset]) -> Dataset:
        def measure() -> dict[str, Any]:
            dataset = make()
            return {"path": str(dataset.path), "rows": dataset.rows,
                    "seconds": dataset.seconds, "text": dataset.text}

        done = steps.once(f"dataset {recipe}", measure)
        return Dataset(recipe, Path(done["path"]), done["rows"], done["seconds"],
                       text=done["text"])

    def build_default() -> Dataset:
        dataset, extract_s = build_qaforge("default", args.pairs, inputs, work, args)
        steps.once("extract seconds", lambda: extract_s)
        return dataset

    built = {"default": build("default", build_default)}
    extract = float(steps.done["extract seconds"])  # recorded with the default dataset
    if "forms" in recipes:
        built["forms"] = build("forms", lambda: build_qaforge(
            "forms", args.multi_pairs, inputs, work, args, forms=args.forms)[0])
    if "multi" in recipes:
        built["multi"] = build("multi", lambda: build_qaforge(
            "multi", args.multi_pairs, inputs, work, args)[0])
    texts = chunk_texts(work / "default")
    if "seed" in recipes:
        built["seed"] = build("seed", lambda: build_seed(texts, extract, work, args))
    if "raw" in recipes:
        built["raw"] = build("raw", lambda: build_raw(texts, extract, work))
    datasets = [built[r] for r in recipes]
    for dataset in datasets:
        print(f"dataset {dataset.recipe}: {dataset.rows} rows in {dataset.seconds:.1f} s",
              flush=True)
    quiz_s = steps.once("quiz seconds", lambda: build_quiz(work / "default", datasets, work,
                                                           args))
    print(f"quiz built once in {quiz_s:.1f} s: "
          f"{count_rows(work / 'quiz' / 'quiz.jsonl')} items", flush=True)
    for dataset in datasets:
        if not dataset.rows:
            continue
        for seed in args.seed_list:
            out = work / "adapters" / f"{dataset.recipe}-s{seed}"
            dataset.train_seconds.append(steps.once(
                f"train {out.name}",
                lambda: train(dataset, seed, out, args)))  # noqa: B023 (called at once)
            dataset.adapters.append(out)
            print(f"trained {dataset.recipe} seed {seed} in {dataset.train_seconds[-1]:.1f} s",
                  flush=True)
    eval_s, summaries = evaluate(datasets, work, args)
    print(f"eval: base + {sum(len(d.adapters) for d in datasets)} fine-tunes in {eval_s:.1f} s "
          f"(closed-book, open-book, control; {work / 'quiz' / 'eval.json'})")
    records = table(datasets, summaries)
    (work / "teach.json").write_text(json.dumps(
        {"args": {k: str(v) for k, v in vars(args).items()}, "quiz_seconds": quiz_s,
         "eval_seconds": eval_s, "base": summaries["base"], "recipes": records},
        indent=2), encoding="utf-8")
    print(f"figures: {work / 'teach.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
