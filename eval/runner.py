"""`assistant eval`: index `--docs` once, ask every question under each configuration, score.

Layout of OUT:
- `.index/`: the embedded store the documents are indexed into (reused on a rerun);
- `results.json`, `questions.jsonl`: the default configuration;
- `<name>/results.json`, `<name>/questions.jsonl`: each `--compare` configuration;
- `report.md` and its PNG plots.

Rows are appended to `questions.jsonl` as each question is answered, so an interrupted run
resumes where it stopped when rerun with the same OUT.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from assistant.config import MAX_K, Settings
from assistant.plugins import Command
from eval.metrics import METRIC_NAMES, RANKING_DEPTH, Row, compute_breakdown, compute_metrics
from eval.testset import Question, Testset, load_testset
from index.chunking import ChunkingPolicy
from index.common.errors import AssistantError, InputError
from index.embedding import MODEL_WINDOW, PRECISIONS, SPECIAL_TOKENS
from index.retrieval import RetrievalTuning

DEFAULT = "default"
RETRIEVAL_MODES = ("hybrid", "dense", "bm25")
COMPARE_KEYS = ("retrieval", "k", "llm", "chunk", "overlap", "title", "fusion", "diversity",
                "dedup", "recency", "timeframe", "dated", "precision", "reports", "passage", "reader")
COMPARE_HELP = (
    "also run these configurations side by side, each NAME=KEY:VALUE[,KEY:VALUE...] with keys "
    "retrieval (hybrid|dense|bm25), k (1-50), llm (an ASSISTANT_LLM spec), chunk (word pieces "
    "per chunk, 32-254), overlap (word pieces), title (on|off: the title embedded with each "
    "chunk), fusion (weight of the dense ranking in hybrid fusion; BM25's is 1), diversity "
    "(worth of each further passage of one report, 0-1; 1 = off), dedup (on|off: near-copies "
    "cited once), recency (strength of the fitted recency prior against as_of: 1 = as fitted, 2 = twice its "
    "log factor, 0 = off), timeframe (how "
    "much reports outside the question's time frame lose; 0 = off), dated (share of dated "
    "candidates above which time preferences start, growing to full when all are; 1 = never), precision (auto|fp32|bf16|int8: of the "
    "embedding model), reports (weight of the whole-report BM25 ranking in hybrid fusion; 0 = "
    "off), passage (consecutive chunks per passage, 1-3) and reader (on|off|DIR: the extractive answerer's "
    "cross-encoder, or the reader model in DIR), e.g. dense=retrieval:dense k3=k:3 small=chunk:128,overlap:20 "
    "bf16=precision:bf16 qwen=llm:llamacpp:/models/q.gguf; unset keys keep the default "
    "configuration's values; chunk, overlap, title and precision index the documents again"
)
_CHUNKING = ChunkingPolicy()
_TUNING = RetrievalTuning()
_SWITCH = {"on": True, "off": False, "true": True, "false": False, "yes": True, "no": False}
_NAME = re.compile(r"[A-Za-z0-9_-]+")
EXIT_OK, EXIT_FATAL = 0, 1


@dataclass(frozen=True)
class RunConfig:
    """One configuration to evaluate: how passages are retrieved, how many, and by which answerer."""

    name: str
    retrieval: str
    k: int
    llm: str
    chunk: int = _CHUNKING.max_tokens
    overlap: int = _CHUNKING.overlap_tokens
    title: bool = _CHUNKING.title
    fusion: float = _TUNING.dense_weight
    diversity: float = _TUNING.same_doc_decay
    dedup: bool = True
    recency: float = _TUNING.recency_weight
    timeframe: float = _TUNING.window_boost
    dated: float = _TUNING.min_dated_share
    precision: str = "auto"  # of the embedding model (ASSISTANT_EMBED_PRECISION)
    reports: float = _TUNING.document_weight
    passage: int = _TUNING.passage_chunks
    reader: str = "on"  # the extractive answerer's cross-encoder (ASSISTANT_READER): on, off or DIR

    @classmethod
    def of(cls, settings: Settings, k: int | None = None) -> "RunConfig":
        """The default configuration: what `settings` ask with (answerer, embedding precision,
        reader), with `k` passages (default: the settings')."""
        return cls(DEFAULT, "hybrid", k or settings.k, settings.llm,
                   precision=settings.embed_precision, reader=settings.reader)

    def to_dict(self) -> dict[str, Any]:
        """The `config` object of results.json (without the paths, which the run adds)."""
        return asdict(self)

    def chunking(self) -> ChunkingPolicy:
        """How the documents are chunked for this configuration."""
        return ChunkingPolicy(max_tokens=self.chunk, overlap_tokens=self.overlap, title=self.title)

    def tuning(self) -> RetrievalTuning:
        """How passages are ranked and selected for this configuration."""
        return replace(
            _TUNING, dense_weight=self.fusion, same_doc_decay=self.diversity,
            duplicate_threshold=_TUNING.duplicate_threshold if self.dedup else 2.0,
            recency_weight=self.recency, window_boost=self.timeframe, min_dated_share=self.dated,
            document_weight=self.reports, passage_chunks=self.passage,
        )


def parse_compare(specs: Sequence[str], base: RunConfig) -> list[RunConfig]:
    """The configurations named by `--compare NAME=KEY:VALUE[,KEY:VALUE]`, each based on `base`.

    Raises InputError with the offending spec and the accepted syntax.
    """
    configs: list[RunConfig] = []
    for spec in specs:
        name, sep, body = spec.partition("=")
        if not sep or not _NAME.fullmatch(name) or not body:
            raise InputError(f"--compare {spec!r}: expected NAME=KEY:VALUE[,KEY:VALUE], "
                             "e.g. dense=retrieval:dense")
        if name == DEFAULT or name in (c.name for c in configs):
            raise InputError(f"--compare {spec!r}: the name {name!r} is already used")
        values: dict[str, Any] = {}
        # An llm spec contains colons itself (llamacpp:/path): split each item at its first one.
        for item in body.split(","):
            key, sep, value = item.partition(":")
            if not sep or key not in COMPARE_KEYS or not value:
                raise InputError(f"--compare {spec!r}: {item!r} is not KEY:VALUE with KEY one of "
                                 f"{', '.join(COMPARE_KEYS)}")
            values[key] = value
        configs.append(_checked(replace(base, name=name, **values), spec))
    return configs


def _checked(config: RunConfig, spec: str) -> RunConfig:
    """`config` checked, values as numbers and switches; InputError naming the spec and the key
    when a value is wrong."""
    _choice(config.retrieval, "retrieval", spec, RETRIEVAL_MODES)
    k = _number(config.k, int, "k", spec, 1, MAX_K)
    chunk = _number(config.chunk, int, "chunk", spec, 32, MODEL_WINDOW - SPECIAL_TOKENS)
    return replace(
        config, k=k, chunk=chunk,
        overlap=_number(config.overlap, int, "overlap", spec, 0, chunk - 1),
        title=_switch(config.title, "title", spec), dedup=_switch(config.dedup, "dedup", spec),
        fusion=_number(config.fusion, float, "fusion", spec, 0.0, 100.0),
        diversity=_number(config.diversity, float, "diversity", spec, 0.01, 1.0),
        recency=_number(config.recency, float, "recency", spec, 0.0, 100.0),
        timeframe=_number(config.timeframe, float, "timeframe", spec, 0.0, 100.0),
        dated=_number(config.dated, float, "dated", spec, 0.0, 1.0),
        reports=_number(config.reports, float, "reports", spec, 0.0, 100.0),
        passage=_number(config.passage, int, "passage", spec, 1, 3),
        precision=_choice(config.precision, "precision", spec, PRECISIONS),
        reader=_reader(config.reader, spec),
    )


def _reader(value: str, spec: str) -> str:
    """on, off (or another switch word) or the absolute path of a folder holding a reader model."""
    if str(value).lower() in _SWITCH:
        return "on" if _SWITCH[str(value).lower()] else "off"
    if not (Path(value) / "model.xml").is_file():
        raise InputError(f"{spec}: reader must be on, off or a folder holding a reader model (model.xml), "
                         f"got {value!r}")
    return str(Path(value).resolve())


def _choice(value: str, key: str, spec: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise InputError(f"{spec}: {key} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _number(value: Any, kind: type, key: str, spec: str, low: float, high: float) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise InputError(f"{spec}: {key} must be {what}, got {value!r}") from None
    if not low <= number <= high:
        raise InputError(f"{spec}: {key} must be from {low:g} to {high:g}, got {value}")
    return number


def _switch(value: Any, key: str, spec: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() not in _SWITCH:
        raise InputError(f"{spec}: {key} must be on or off, got {value!r}")
    return _SWITCH[str(value).lower()]


def run_from_cli(settings: Settings, args: argparse.Namespace) -> int:
    """The `assistant eval` command; returns the exit code (1 with a message on bad input)."""
    if args.index:
        return _run_on_index(settings, args)
    if not args.out:
        print("error: --out is required with --docs", file=sys.stderr)
        return EXIT_FATAL
    try:
        # `eval --llm` reaches `settings.llm` through the CLI's flag handling.
        base = _checked(RunConfig.of(settings, args.k), "--k")
        configs = [base, *parse_compare(args.compare or [], base)]
        summary = run(settings, Path(args.testset), Path(args.docs), Path(args.out), configs)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    _print_summary(summary, Path(args.out))
    return EXIT_OK


def _run_on_index(settings: Settings, args: argparse.Namespace) -> int:
    """`assistant eval TESTSET --index`: a run of the app's kind (eval/runs.py) against the
    configured collection, kept under ASSISTANT_HOME/evals/<id>/ (and copied to `--out`)."""
    import shutil

    from assistant.core import Assistant
    from eval.runs import EvalRuns

    if args.compare:
        print("error: --compare needs --docs (a configuration may index the reports again)",
              file=sys.stderr)
        return EXIT_FATAL
    path = Path(args.testset)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"error: {path}: cannot read the test set ({exc.strerror or exc})", file=sys.stderr)
        return EXIT_FATAL
    try:
        runs = EvalRuns(Assistant.open(settings))
        status = runs.start(data, path.name, k=args.k, wait=True, progress=None)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    for warning in status["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    if status["status"] != "done":
        print(f"error: evaluation {status['id']} failed: {status['error']}", file=sys.stderr)
        return EXIT_FATAL
    folder = runs.file(status["id"], "results.json").parent
    if args.out:
        shutil.copytree(folder, args.out, dirs_exist_ok=True)
        folder = Path(args.out)
    _print_summary({DEFAULT: status["results"]["metrics"]}, folder)
    return EXIT_OK


def run(
    settings: Settings,
    testset_path: Path,
    docs: Path,
    out: Path,
    configs: Sequence[RunConfig],
    progress: bool | None = None,
) -> dict[str, dict[str, float | None]]:
    """Evaluate each configuration (the first is the default) and write OUT; returns
    `{config name: metrics}`."""
    from eval.report import write_report

    if not docs.is_dir():
        raise InputError(f"--docs {str(docs)!r} is not a folder")
    testset = load_testset(testset_path, docs)
    out.mkdir(parents=True, exist_ok=True)
    indexes: dict[tuple[ChunkingPolicy, str], Settings] = {}
    results: dict[str, dict[str, Any]] = {}
    rows: dict[str, dict[str, Row]] = {}
    for config in configs:
        key = (config.chunking(), config.precision)
        if key not in indexes:  # one index per way of chunking and embedding, shared by the configs
            indexes[key] = _index(replace(settings, embed_precision=config.precision), docs, out,
                                  progress, key[0], key[1] != configs[0].precision)
        folder = out if config.name == DEFAULT else out / config.name
        extra = {"testset": str(testset_path.resolve()), "docs": str(docs.resolve())}
        results[config.name], rows[config.name] = evaluate(indexes[key], testset, config, folder,
                                                           extra, progress)
    comparison = {name: r["metrics"] for name, r in results.items()}
    if len(configs) > 1:
        breakdowns = {name: r["breakdown"] for name, r in results.items()}
        write_json(out / "results.json",
                    {**results[DEFAULT], "comparison": comparison, "breakdowns": breakdowns})
    write_report(out, testset, results, rows)
    return comparison


def _index(
    settings: Settings, docs: Path, out: Path, progress: bool | None,
    chunking: ChunkingPolicy = _CHUNKING, own_precision: bool = False,
) -> Settings:
    """Index `docs` into an embedded store under OUT/.index (OUT/.index-CHUNK-OVERLAP[-notitle]
    for other chunking, with -PRECISION when `own_precision`: the embedding precision differs
    from the default configuration's); the settings to open it with.

    A rerun reuses the store: unchanged files are skipped, and reports no longer under `docs`
    are dropped so that the index holds exactly the folder's files.
    """
    from assistant.core import Assistant

    # Always embedded and private to this OUT: the run never touches the user's own collection.
    home = out / ".index"
    if chunking != _CHUNKING:
        home = out / f".index-{chunking.max_tokens}-{chunking.overlap_tokens}"
        home = home.with_name(home.name + ("" if chunking.title else "-notitle"))
    if own_precision:
        home = home.with_name(f"{home.name}-{settings.embed_precision}")
    index_settings = replace(settings, home=home, chroma_url=None, collection="eval")
    root = docs.resolve()
    assistant = Assistant.open(index_settings, chunking=chunking)
    report = assistant.ingest(
        [root], progress=progress, source_of=lambda p: p.resolve().relative_to(root).as_posix()
    )
    for failure in report.failed:
        print(f"warning: not indexed: {failure['path']}: {failure['error']}", file=sys.stderr)
    present = {*report.added, *report.updated, *report.unchanged}
    for info in assistant.documents():
        if info.source not in present:
            assistant.delete(info.doc_id)
    if not present:
        raise InputError(f"--docs {str(docs)!r} holds no file that could be indexed")
    return index_settings


def evaluate(
    index_settings: Settings,
    testset: Testset,
    config: RunConfig,
    folder: Path,
    extra_config: Mapping[str, Any],
    progress: bool | None = None,
) -> tuple[dict[str, Any], dict[str, Row]]:
    """Ask the questions not yet in `folder/questions.jsonl` of an assistant opened on
    `index_settings` for `config`, and score them all (see `evaluate_with`)."""
    from assistant.core import Assistant

    def open_assistant() -> Any:
        return Assistant.open(index_settings, retrieval_mode=config.retrieval, llm=config.llm,
                              reader=config.reader,
                              tuning=config.tuning(), chunking=config.chunking())

    return evaluate_with(open_assistant, testset, config, folder, extra_config, progress)


def evaluate_with(
    open_assistant: Callable[[], Any],
    testset: Testset,
    config: RunConfig,
    folder: Path,
    extra_config: Mapping[str, Any],
    progress: bool | None = None,
    on_question: Callable[[int], None] | None = None,
    name_of: Callable[[str], str] = str,
) -> tuple[dict[str, Any], dict[str, Row]]:
    """Ask the questions not yet in `folder/questions.jsonl` of the assistant `open_assistant`
    gives (called only when one is left) and score them all; writes results.json and returns
    its object with the rows it scored, by question id.

    `on_question` gets the number of questions answered after each one; `name_of` names each
    passage's report as the test set does (its `source` as it is, by default).
    """
    from tqdm import tqdm

    folder.mkdir(parents=True, exist_ok=True)
    config_dict = {**config.to_dict(), **extra_config}
    _check_same_config(folder, config_dict)
    path = folder / "questions.jsonl"
    rows = read_rows(path)
    todo = [q for q in testset.questions if q.id not in rows]
    if todo:
        assistant = open_assistant()
        bar = tqdm(total=len(testset.questions), initial=len(testset.questions) - len(todo),
                   desc=config.name, unit="q", file=sys.stderr,
                   disable=not sys.stderr.isatty() if progress is None else not progress)
        try:
            with path.open("a", encoding="utf-8") as sink:
                for question in todo:
                    row = ask_one(assistant, question, config.k, name_of)
                    sink.write(json.dumps(row, ensure_ascii=False) + "\n")
                    sink.flush()  # what is on disk survives an interruption
                    rows[question.id] = row
                    bar.update(1)
                    if on_question is not None:
                        on_question(len(rows))
        finally:
            bar.close()
    result = {
        "config": config_dict,
        "counts": testset.counts,
        "metrics": compute_metrics(testset.questions, rows),
        "breakdown": compute_breakdown(testset.questions, rows),
    }
    write_json(folder / "results.json", result)
    return result, rows


def ask_one(assistant: Any, question: Question, k: int,
            name_of: Callable[[str], str] = str) -> dict[str, Any]:
    """One row of questions.jsonl: the answer, its citations, the passages the answerer saw,
    and the sources of the top `max(k, 10)` passages for the retrieval metrics, each report
    named by `name_of`."""
    history = [dict(turn) for turn in question.history]
    started = time.perf_counter()
    # The follow-up is rewritten once, and the question that stands alone is asked with no
    # history (which `ask` leaves as it is): the hit@10 ranking below then retrieves with
    # exactly what `ask` retrieved with.
    standalone = assistant.condense(question.question, history)
    answer = assistant.ask(standalone, k=k, as_of=question.as_of)
    latency = (time.perf_counter() - started) * 1000
    # Fetched after timing, so that latency stays the time of `ask` alone.
    ranking = assistant.retrieve(standalone, k=max(k, RANKING_DEPTH), as_of=question.as_of)
    return {
        "id": question.id,
        "answer": answer.answer,
        "refused": answer.refused,
        "short": answer.short.to_dict() if answer.short else None,
        "citations": [{**c.to_dict(), "source": name_of(c.source)} for c in answer.citations],
        "retrieved": [
            {"source": name_of(p.source), "doc_id": p.doc_id, "start": p.start, "end": p.end,
             "score": p.score, "text": p.text}
            for p in answer.passages
        ],
        "ranked_sources": [name_of(p.source) for p in ranking],
        "latency_ms": round(latency, 2),
    }


def read_rows(path: Path) -> dict[str, Row]:
    """The rows already written to `path`, by id; a truncated last line (an interrupted
    write) is cut off the file so that new rows start on a line of their own."""
    if not path.exists():
        return {}
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        path.write_bytes(data)
    rows: dict[str, Row] = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a damaged line: its question is asked again
        if isinstance(row, dict) and isinstance(row.get("id"), str):
            rows[row["id"]] = row
    return rows


def _check_same_config(folder: Path, config: Mapping[str, Any]) -> None:
    """Refuse to resume a run made with another configuration: its rows would be mixed in."""
    marker = folder / "config.json"
    if marker.exists() and (folder / "questions.jsonl").exists():
        previous = json.loads(marker.read_text(encoding="utf-8"))
        changed = sorted(key for key in {*previous, *config} if previous.get(key) != config.get(key))
        if changed:
            raise InputError(
                f"{folder} holds a run with another configuration ({', '.join(changed)} differ); "
                "use another --out, or delete the folder to start again"
            )
    write_json(marker, dict(config))


def write_json(path: Path, data: Any) -> None:
    """Write JSON through a temporary file, so a reader never sees half a file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def _print_summary(comparison: Mapping[str, Mapping[str, float | None]], out: Path) -> None:
    """The metric table on stdout, one column per configuration."""
    from eval.report import format_value

    names = list(comparison)
    width = max(len(m) for m in METRIC_NAMES)
    print(f"{'metric':<{width}}  " + "  ".join(f"{n:>10}" for n in names))
    for metric in METRIC_NAMES:
        print(f"{metric:<{width}}  "
              + "  ".join(f"{format_value(metric, comparison[n][metric]):>10}" for n in names))
    print(f"\nwrote {out / 'results.json'}, {out / 'questions.jsonl'}, {out / 'report.md'}")


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("testset")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--docs", help="folder of the reports the test set refers to, indexed "
                                      "into a fresh collection under OUT")
    where.add_argument("--index", action="store_true",
                       help="run against the configured collection as it is (as the app's "
                            "Evaluate tab does); kept under ASSISTANT_HOME/evals/<id>/")
    parser.add_argument("--out", help="folder for the results (required with --docs; with "
                                      "--index, a copy)")
    parser.add_argument("--k", type=int, help="passages handed to the answerer (default 5)")
    # SUPPRESS: `assistant --llm X eval ...` and `assistant eval ... --llm X` both work.
    parser.add_argument("--llm", default=argparse.SUPPRESS, help="answerer to evaluate (ASSISTANT_LLM)")
    parser.add_argument("--compare", nargs="*", metavar="NAME=KEY:VALUE", help=COMPARE_HELP)


COMMAND = Command(
    help="run a test set and write results.json, questions.jsonl, report.md",
    add_arguments=_add_arguments, run=run_from_cli,
)
