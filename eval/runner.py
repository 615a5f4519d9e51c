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

import json
import re
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from assistant.config import MAX_K, Settings
from eval.metrics import RANKING_DEPTH, Row, compute_breakdown, compute_metrics
from eval.testset import Question, Testset, load_testset
from index import PRECISIONS, RETRIEVAL_MODES, ChunkingPolicy, RetrievalTuning
from index.common.errors import InputError
from index.common.knobs import SWITCH_WORDS, checked, describe, knobs, number, switch

DEFAULT = "default"
_OWN_KEYS = ("retrieval", "k", "llm", "precision", "reader")
COMPARE_KEYS = (*_OWN_KEYS, *knobs(ChunkingPolicy), *knobs(RetrievalTuning))
COMPARE_HELP = (
    "also run these configurations side by side, each NAME=KEY:VALUE[,KEY:VALUE...] with keys "
    "retrieval (hybrid|dense|bm25), k (1-50), llm (an ASSISTANT_LLM spec), precision (auto|fp32|bf16|int8: "
    "of the embedding model), reader (on|off|DIR: the extractive answerer's cross-encoder, or the reader "
    f"model in DIR); how reports are chunked: {describe(ChunkingPolicy)}; how passages are ranked and "
    f"chosen: {describe(RetrievalTuning)}. E.g. dense=retrieval:dense k3=k:3 "
    "small=max_tokens:128,overlap_tokens:20 bf16=precision:bf16 qwen=llm:llamacpp:/models/q.gguf; unset "
    "keys keep the default configuration's values; max_tokens, overlap_tokens, title and precision "
    "index the documents again"
)
_NAME = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class RunConfig:
    """One configuration to evaluate: how reports are chunked, how passages are retrieved and
    chosen, how many, and by which answerer."""

    name: str
    retrieval: str
    k: int
    llm: str
    precision: str = "auto"  # of the embedding model (ASSISTANT_EMBED_PRECISION)
    reader: str = "on"  # the extractive answerer's cross-encoder (ASSISTANT_READER): on, off or DIR
    chunking: ChunkingPolicy = ChunkingPolicy()
    tuning: RetrievalTuning = RetrievalTuning()

    @classmethod
    def of(cls, settings: Settings, k: int | None = None) -> "RunConfig":
        """The default configuration: what `settings` ask with (answerer, embedding precision,
        reader), with `k` passages (default: the settings')."""
        return cls(DEFAULT, "hybrid", k or settings.k, settings.llm,
                   precision=settings.embed_precision, reader=settings.reader)

    def to_dict(self) -> dict[str, Any]:
        """The `config` object of results.json (without the paths, which the run adds): every
        key by the name `--compare` sets it with."""
        own = {name: getattr(self, name) for name in ("name", *_OWN_KEYS)}
        # Through JSON and back (tuples become lists), so a resumed run compares like with like.
        return json.loads(json.dumps({**own, **asdict(self.chunking), **asdict(self.tuning)}))


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
        configs.append(checked_config(_with(base, name, values), spec))
    return configs


def _with(base: RunConfig, name: str, values: Mapping[str, Any]) -> RunConfig:
    """`base` renamed, with `values` set wherever their keys belong (unchecked)."""
    def part(policy: Any) -> Any:
        return replace(policy, **{k: v for k, v in values.items() if k in knobs(type(policy))})

    return replace(base, name=name, chunking=part(base.chunking), tuning=part(base.tuning),
                   **{k: v for k, v in values.items() if k in _OWN_KEYS})


def checked_config(config: RunConfig, spec: str) -> RunConfig:
    """`config` checked, values as numbers and switches; InputError naming the spec and the key
    when a value is wrong."""
    if config.retrieval not in RETRIEVAL_MODES:
        raise InputError(f"{spec}: retrieval must be one of {', '.join(RETRIEVAL_MODES)}, "
                         f"got {config.retrieval!r}")
    if config.precision not in PRECISIONS:
        raise InputError(f"{spec}: precision must be one of {', '.join(PRECISIONS)}, got {config.precision!r}")
    chunking, tuning = (replace(p, **{name: checked(f, getattr(p, name), spec) for name, f in knobs(type(p)).items()})
                        for p in (config.chunking, config.tuning))
    if chunking.overlap_tokens >= chunking.max_tokens:
        raise InputError(f"{spec}: overlap_tokens must be below max_tokens ({chunking.max_tokens}), "
                         f"got {chunking.overlap_tokens}")
    k = number(config.k, int, "k", spec, 1, MAX_K)
    return replace(config, k=k, chunking=chunking, tuning=tuning, reader=_reader(config.reader, spec))


def _reader(value: str, spec: str) -> str:
    """on, off (or another switch word) or the absolute path of a folder holding a reader model."""
    if str(value).lower() in SWITCH_WORDS:
        return "on" if switch(value, "reader", spec) else "off"
    if not (Path(value) / "model.xml").is_file():
        raise InputError(f"{spec}: reader must be on, off or a folder holding a reader model (model.xml), "
                         f"got {value!r}")
    return str(Path(value).resolve())


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
    indexes: dict[tuple[ChunkingPolicy, str], tuple[Settings, Testset]] = {}
    results: dict[str, dict[str, Any]] = {}
    rows: dict[str, dict[str, Row]] = {}
    for config in configs:
        key = (config.chunking, config.precision)
        if key not in indexes:  # one index per way of chunking and embedding, shared by the configs
            index_settings, aliases = _index(replace(settings, embed_precision=config.precision), docs,
                                             out, progress, key[0], key[1] != configs[0].precision)
            indexes[key] = index_settings, testset.aliased(aliases)
        folder = out if config.name == DEFAULT else out / config.name
        extra = {"testset": str(testset_path.resolve()), "docs": str(docs.resolve())}
        results[config.name], rows[config.name] = evaluate(indexes[key][0], indexes[key][1], config,
                                                           folder, extra, progress)
    comparison = {name: r["metrics"] for name, r in results.items()}
    if len(configs) > 1:
        breakdowns = {name: r["breakdown"] for name, r in results.items()}
        write_json(out / "results.json",
                    {**results[DEFAULT], "comparison": comparison, "breakdowns": breakdowns})
    write_report(out, testset, results, rows)
    return comparison


def _index(
    settings: Settings, docs: Path, out: Path, progress: bool | None,
    chunking: ChunkingPolicy = ChunkingPolicy(), own_precision: bool = False,
) -> tuple[Settings, dict[str, str]]:
    """Index `docs` into an embedded store under OUT/.index (OUT/.index-CHUNK-OVERLAP[-notitle]
    for other chunking, with -PRECISION when `own_precision`: the embedding precision differs
    from the default configuration's); the settings to open it with, and the source of the
    report each alias (a file with exactly another's text) is indexed as.

    A rerun reuses the store: unchanged files are skipped, and reports no longer under `docs`
    are dropped so that the index holds exactly the folder's files.
    """
    from assistant.core import Assistant

    # Always embedded and private to this OUT: the run never touches the user's own collection.
    home = out / ".index"
    if chunking != ChunkingPolicy():
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
    present = {*report.added, *report.updated, *report.unchanged, *(d["path"] for d in report.duplicates)}
    aliases: dict[str, str] = {}
    for info in assistant.documents():
        if not present & {info.source, *info.aliases}:
            assistant.delete(info.doc_id)
        aliases.update((alias, info.source) for alias in info.aliases if alias in present)
    if not present:
        raise InputError(f"--docs {str(docs)!r} holds no file that could be indexed")
    return index_settings, aliases


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
                              tuning=config.tuning, chunking=config.chunking)

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
        # The answerer's scores and probabilities (best_score, p_answerable, p_reader, ...):
        # what a refusal rule can be fitted on from this file alone.
        "stats": dict(answer.stats),
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
