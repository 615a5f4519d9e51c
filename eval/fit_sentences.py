"""Choose how many sentences the extractive answerer shows (`further_margin`, `max_sentences`) on
eval runs, and say how the choice does on questions it was not chosen on.

    python -m eval.fit_sentences RUN_DIR... [--margins 0 0.03 0.05 0.07 0.1 0.15]
        [--max-sentences 3 4] [--min-citation-precision RUN_NAME=FLOOR ...]
        [--reader [DIR] --reader-weights 0.1 0.2 --reader-vouch 0.5 0.7 --reader-floors 0 0.02
         --reader-terms answers choice --reader-further 0 0.5 --short-floors 0.3 0.5 0.7 [--min-short-em 0.6] [--write DIR/reader.json]]
        [--max-false-refusals 0.1]

Each RUN_DIR is an `assistant eval` output folder: its questions.jsonl holds the passages the
answerer saw, its config.json the test set and documents. Every question is answered again by
the current answerer on those passages (embedded from their text, the title in front as the
store does; each report's headline read from its file), once per setting, and scored with
the eval's own metrics; follow-ups (with history) are left out, as the run does not keep the
question they became. Questions whose crc32(id) is
even choose: the setting with the highest mean answer_contains over the runs' even halves among
those keeping the citation_precision of the runs named in `--min-citation-precision` (by folder
name) at their floor or more there: more sentences show the answer more often and cite more
passages that do not hold it. The odd halves are held out. Prints one line per run, setting
and half.

With `--reader` (the shipped model, or the one in DIR) the reader's weight, the probability at
which it vouches for an answer and the one below which the answer is refused are chosen too:
the setting with the highest mean answer_contains plus mean refusal_accuracy (over runs with
unanswerable questions) among those keeping the floors and `--max-false-refusals` on every
run's fitting half; with it, the probability a further sentence needs (`reader_further`). Then,
at that setting, the span probability from which a short answer is given: the one giving short
answers most often while every run's fitting half keeps `--min-short-em`. `--write` stores the
chosen settings in a reader model's reader.json, which the answerer reads them from.
"""

from __future__ import annotations

import argparse
import itertools
import json
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence, cast

import numpy as np

from assistant.answerers.extractive import ExtractiveAnswerer, ExtractiveTuning
from assistant.config import Settings
from eval.metrics import compute_metrics
from eval.runner import read_rows
from eval.testset import Question, load_testset
from index import (
    READER_DIR,
    Embedder,
    Query,
    Reader,
    Reading,
    Short,
    StoredChunk,
    embedded_text,
    headline_passage,
    load_file,
    shared_embedder,
)
from index.common.dates import to_date
from index.common.types import Passage, Retrieved


class CachedReader:
    """A reader's judgments kept by question and sentence: each setting reads the same pairs."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.read_pairs: dict[tuple[str, str, str], tuple[float, float, Short | None]] = {}

    def read(self, question: str, sentences: Sequence[str], titles: Sequence[str]) -> Reading:
        """The reader's judgment, each pair read once."""
        keys = [(question, s, t) for s, t in zip(sentences, titles)]
        missing = list(dict.fromkeys(k for k in keys if k not in self.read_pairs))
        if missing:
            found = self.reader.read(question, [k[1] for k in missing], [k[2] for k in missing])
            self.read_pairs.update(zip(missing, zip(map(float, found.choice), map(float, found.answers),
                                                    found.shorts)))
        judged = [self.read_pairs[k] for k in keys]
        return Reading(np.array([j[0] for j in judged], dtype=np.float32),
                       np.array([j[1] for j in judged], dtype=np.float32), tuple(j[2] for j in judged))


class CachedEmbedder:
    """The shared embedder with every text's vector kept: each margin asks the same questions."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.vectors: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of `texts`, each computed once."""
        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if missing:
            self.vectors.update(zip(missing, self.embedder.embed(missing)))
        if not texts:
            return np.zeros((0, self.embedder.dimension), dtype=np.float32)
        return np.array([self.vectors[t] for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        """The unit vector of one question."""
        return self.embed([text])[0]


Replay = tuple[Question, Query, Retrieved, dict[str, Any]]


def load_run(run: Path, embedder: CachedEmbedder) -> list[Replay]:
    """The questions of eval run `run` (without follow-ups), each with its query, what the
    answerer saw (the passages, titled as indexed, their reports' headlines and vectors) and
    its row."""
    config = json.loads((run / "config.json").read_text(encoding="utf-8"))
    docs = Path(config["docs"])
    questions = {q.id: q for q in load_testset(config["testset"], docs).questions}
    titles: dict[str, str] = {}
    heads: dict[str, Passage] = {}
    found = []
    for qid, row in read_rows(run / "questions.jsonl").items():
        question = questions[qid]
        if question.history:
            continue
        passages = []
        for p in row["retrieved"]:
            if p["source"] not in titles:
                loaded = load_file(docs / p["source"], p["source"])
                titles[p["source"]] = loaded.title
                # The whole report as its first chunk: the headline as the store would give it.
                headline = headline_passage(StoredChunk(f"{p['doc_id']}:0", p["doc_id"], loaded.title, p["source"],
                                                        None, 0, len(loaded.text), loaded.text))
                if headline is not None:
                    heads[p["doc_id"]] = headline
            passages.append(Passage(p["doc_id"], titles[p["source"]], p["source"], None,
                                    f"{p['doc_id']}:{p['start']}", p["start"], p["end"], p["text"], p["score"]))
        as_of = to_date(question.as_of, "as_of") if question.as_of else None
        query = Query.build(question.question, embedder.embed_query, as_of=as_of)
        vectors = embedder.embed([embedded_text(p.title, p.text) for p in passages])
        retrieved = Retrieved(
            passages=tuple(passages),
            headlines={p.doc_id: heads[p.doc_id] for p in passages if p.doc_id in heads},
            vectors=dict(zip((p.chunk_id for p in passages), vectors)),
        )
        found.append((question, query, retrieved, row))
    return found


def held_out(question: Question) -> bool:
    """Odd crc32 of the id: not chosen on."""
    return zlib.crc32(question.id.encode()) % 2 == 1


def main(argv: Sequence[str] | None = None) -> int:
    """Answer every run's questions at each setting; print the metrics and the setting chosen."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="assistant eval output folders")
    parser.add_argument("--margins", nargs="+", type=float, default=[0.0, 0.03, 0.05, 0.07, 0.1, 0.15])
    parser.add_argument("--max-sentences", nargs="+", type=int, default=[3, 4])
    parser.add_argument("--min-citation-precision", nargs="*", default=[], metavar="RUN_NAME=FLOOR",
                        help="citation_precision floors on the fitting half of these runs")
    parser.add_argument("--reader", nargs="?", type=Path, const=READER_DIR,
                        help="answer with the reader (the shipped one, or the model in this folder)")
    parser.add_argument("--reader-weights", nargs="+", type=float, default=[ExtractiveTuning().reader_weight])
    parser.add_argument("--reader-vouch", nargs="+", type=float, default=[ExtractiveTuning().reader_vouch])
    parser.add_argument("--reader-floors", nargs="+", type=float,
                        default=[ExtractiveTuning().reader_min_probability])
    parser.add_argument("--reader-further", nargs="+", type=float, default=[ExtractiveTuning().reader_further])
    parser.add_argument("--reader-terms", nargs="+", choices=("answers", "choice"),
                        default=[ExtractiveTuning().reader_term])
    parser.add_argument("--short-floors", nargs="+", type=float, default=[],
                        help="span probabilities to choose short_min_probability from (at the chosen setting)")
    parser.add_argument("--min-short-em", type=float, default=0.6,
                        help="short_answer_em each fitting half must keep; the highest rate that does wins")
    parser.add_argument("--max-false-refusals", type=float, default=1.0,
                        help="the most false refusals on any run's fitting half")
    parser.add_argument("--write", type=Path, metavar="READER_JSON",
                        help="store the chosen settings as the `answerer` of this reader.json")
    args = parser.parse_args(argv)

    floors = {name: float(value) for name, _, value in (f.partition("=") for f in args.min_citation_precision)}
    embedder = CachedEmbedder(shared_embedder(cache=Settings.load().model_cache_path))
    runs = {run.name: load_run(run, embedder) for run in args.runs}
    reader = CachedReader(Reader(args.reader)).read if args.reader else None
    grid = {"further_margin": args.margins, "max_sentences": args.max_sentences}
    if reader:
        grid.update(reader_term=args.reader_terms, reader_weight=args.reader_weights, reader_vouch=args.reader_vouch,
                    reader_min_probability=args.reader_floors, reader_further=args.reader_further)
    chosen, best = None, -1.0
    for values in itertools.product(*grid.values()):
        setting = dict(zip(grid, values))
        answerer = ExtractiveAnswerer(cast(Embedder, embedder), replace(ExtractiveTuning(), **setting), reader)
        label = " ".join(f"{k}={v}" for k, v in setting.items())
        mean, within_floors, _ = _score(runs, answerer, label, floors, args.max_false_refusals)
        if within_floors and mean > best:
            chosen, best = setting, mean
    print(f"{chosen}  # objective {best:.3f} on the fitting halves")
    if chosen is not None and reader and args.short_floors:
        best_rate = -1.0
        for floor in args.short_floors:
            setting = {**chosen, "short_min_probability": floor}
            answerer = ExtractiveAnswerer(cast(Embedder, embedder), replace(ExtractiveTuning(), **setting), reader)
            _, _, shorts = _score(runs, answerer, f"short_min_probability={floor}", floors, 1.0)
            rates, ems = zip(*shorts)
            if min(ems) >= args.min_short_em and float(np.mean(rates)) > best_rate:
                chosen, best_rate = setting, float(np.mean(rates))
        print(f"{chosen}  # with the short answers' floor")
    if args.write and chosen is not None:
        meta = json.loads(args.write.read_text(encoding="utf-8"))
        meta["answerer"] = chosen
        args.write.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return 0


def _score(runs: dict[str, list[Replay]], answerer: ExtractiveAnswerer, label: str, floors: dict[str, float],
           max_false_refusals: float = 1.0) -> tuple[float, bool, list[tuple[float, float]]]:
    """Answer every run's questions; print each half's metrics. The mean answer_contains of the
    fitting halves plus the mean refusal_accuracy of those that have unanswerable questions,
    whether their citation precision and false refusals keep every floor, and each fitting
    half's short_answer_rate and short_answer_em."""
    fitting_contains, refusals, within_floors, shorts = [], [], True, []
    for name, items in runs.items():
        rows = {}
        for question, query, retrieved, row in items:
            reply = answerer.answer(query, retrieved)
            rows[question.id] = {**row, "answer": reply.answer, "refused": reply.refused,
                                 "short": reply.short.to_dict() if reply.short else None,
                                 "citations": [c.to_dict() for c in reply.citations]}
        for half in (False, True):
            part = [q for q, _, _, _ in items if held_out(q) == half]
            m = compute_metrics(part, rows)
            print(f"{name} {label} {'held_out' if half else 'fitted'} ({len(part)}): "
                  + " ".join(f"{k}={m[k]:.3f}" for k in ("answer_contains", "answer_in_passages",
                             "citation_precision", "false_refusal_rate", "refusal_accuracy",
                             "short_answer_rate", "short_answer_em")
                             if m[k] is not None), flush=True)
            if not half:
                fitting_contains.append(m["answer_contains"] or 0.0)
                if m["refusal_accuracy"] is not None:
                    refusals.append(m["refusal_accuracy"])
                within_floors &= (m["citation_precision"] or 0.0) >= floors.get(name, 0.0)
                within_floors &= (m["false_refusal_rate"] or 0.0) <= max_false_refusals
                shorts.append((m["short_answer_rate"] or 0.0, m["short_answer_em"] or 0.0))
    return (float(np.mean(fitting_contains) + (np.mean(refusals) if refusals else 0.0)), within_floors, shorts)

if __name__ == "__main__":
    raise SystemExit(main())
