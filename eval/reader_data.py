"""Training pairs for the reader (`index/reader.py`): from question-answering corpora
(`corpus_examples`) and from a development-set build (`build_examples`).

A corpus is a file of `../shared/devsets/qa_corpora.py` (SQuAD, SelQA, TrecQA, RealTimeQA 2020-21):
each question with the sentences of its paragraph, labelled. A build is a folder with `testset.jsonl` and `docs/` (`../shared/devsets/realtimeqa.py`). For
each answerable question, every sentence of its evidence reports is a candidate: labelled 1 when
it holds a gold answer (normalized, whole words, as `answer_contains` scores), else 0. The pairs
kept per question are its positives, mostly random negatives of its own reports with a few that
share most of its words, the best-matching sentences of reports BM25 ranks high that hold no
answer (what retrieval hands the answerer), and the question itself (a restatement is never an
answer: digests print the quiz). `absent_examples` gives refusal groups: what the answerer reads
when no report holds the answer.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from eval.metrics import contains_words
from index import load_file
from index.common.text import sentence_spans, tokenize


@dataclass(frozen=True)
class Example:
    """One question and sentence, labelled."""

    group: str  # the question's id
    question: str
    sentence: str
    title: str
    label: float
    # Where the answer lies in `" ".join(sentence.split())` (characters), for the span head;
    # None where the sentence holds none or the answer could not be found as written.
    span: tuple[int, int] | None = None


@dataclass(frozen=True)
class Sampling:
    """How many pairs of each kind a question gives."""

    positives: int = 4
    # Mostly random negatives: when most are chosen by the question's words, the reader learns
    # that overlap with the question means "no answer" and ranks a report's sentences worse
    # than overlap alone (docs/evaluation.md: The reader, v2).
    hard_negatives: int = 2
    random_negatives: int = 12
    retrieved_reports: int = 2
    per_retrieved_report: int = 1


@dataclass(frozen=True)
class Report:
    """A report's title and sentences."""

    title: str
    sentences: tuple[str, ...]


def load_reports(docs: Path, names: Sequence[str]) -> dict[str, Report]:
    """The named reports of `docs`, split into sentences as the answerer splits them."""
    reports = {}
    for name in names:
        loaded = load_file(docs / name, name)
        sentences = tuple(loaded.text[s:e] for s, e in sentence_spans(loaded.text) if e - s > 1)
        reports[name] = Report(loaded.title, sentences)
    return reports


@dataclass(frozen=True)
class TrainQuestion:
    """An answerable question of a build and the reports that hold its answer."""

    id: str
    question: str
    answers: tuple[str, ...]
    evidence_sources: frozenset[str]


def held_out_weeks(ids: Sequence[str], every: int) -> set[str]:
    """Every `every`-th quiz week of each year, counting from the first (RealTimeQA ids start
    with the week's YYYYMMDD): the weeks a development split keeps out of training."""
    weeks: dict[str, set[str]] = {}
    for qid in ids:
        weeks.setdefault(qid[:4], set()).add(qid[:8])
    return {w for year in weeks.values() for j, w in enumerate(sorted(year)) if j % every == 0}


def questions_of(build: Path, hold_out_every: int = 0, unanswerable: bool = False) -> list[TrainQuestion]:
    """The answerable questions of a build (follow-ups with history left out), and its
    unanswerable ones (no answers, no evidence) when `unanswerable` is set, less those of
    `held_out_weeks` (of all its questions, as `eval.dev_split` counts them) when
    `hold_out_every` is set. Read leniently, not with `load_testset`: a quiz id that recurs in
    another week is kept, under a new id."""
    found: dict[str, TrainQuestion] = {}
    ids: list[str] = []
    for line in (build / "testset.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        ids.append(row["id"])
        answerable = row.get("answerable", True) and row.get("answers")
        if (not answerable and not unanswerable) or row.get("history"):
            continue
        qid = row["id"] if row["id"] not in found else f"{row['id']}#{len(found)}"
        found[qid] = TrainQuestion(qid, row["question"], tuple(row["answers"]) if answerable else (),
                                   frozenset(e["doc"] for e in row.get("evidence", [])))
    if hold_out_every:
        held = held_out_weeks(ids, hold_out_every)
        return [q for q in found.values() if q.id[:8] not in held]
    return list(found.values())


def answer_span(sentence: str, answers: Sequence[str]) -> tuple[int, int] | None:
    """The first place a gold answer occurs in the whitespace-normalized sentence: as written,
    else ignoring case, on word boundaries; the longest answer that occurs wins."""
    text = " ".join(sentence.split())
    lowered = text.lower()
    for answer in sorted({" ".join(a.split()).strip(" .,;:") for a in answers}, key=len, reverse=True):
        if not answer:
            continue
        for haystack, needle in ((text, answer), (lowered, answer.lower())):
            at = haystack.find(needle)
            while at >= 0:
                end = at + len(needle)
                if (at == 0 or not haystack[at - 1].isalnum()) and (end == len(haystack) or not haystack[end].isalnum()):
                    return at, end
                at = haystack.find(needle, at + 1)
    return None


def corpus_examples(path: Path, rng: random.Random, negatives: int = 3,
                    restated_every: int = 4) -> list[Example]:
    """The pairs of a `qa_corpora.py` file: for each question with no doubtful label, up to two
    sentences holding the answer and `negatives` other sentences of its paragraph (the hardest
    negatives there are: same topic, same words); an unanswerable question gives only
    negatives. Every `restated_every`-th question is also paired with itself (a restatement is
    never an answer). Titles are the page's (SQuAD's `Super_Bowl_50` read as words)."""
    examples: list[Example] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            row = json.loads(line)
            if row.get("flags"):
                continue
            group = f"{row['source']}/{row['qid']}"
            title = row.get("title", "").replace("_", " ")
            pairs = list(zip(row["sentences"], row["labels"]))
            positives = [s for s, label in pairs if label]
            others = [s for s, label in pairs if not label]
            if row["answerable"] and not positives:
                continue
            rng.shuffle(positives)
            chosen = [(s, 1.0) for s in positives[:2]]
            chosen += [(s, 0.0) for s in rng.sample(others, min(negatives, len(others)))]
            if number % restated_every == 0:
                chosen.append((row["question"], 0.0))
            answers = row.get("answers", [])
            examples.extend(
                Example(group, row["question"], s, title if s != row["question"] else "", label,
                        answer_span(s, answers) if label else None)
                for s, label in chosen)
    return examples


def _overlap(question_terms: set[str], sentences: Sequence[str]) -> list[float]:
    tokens = tokenize(list(sentences))
    return [len(question_terms & set(t)) / (1 + len(question_terms)) for t in tokens]


def _holds(sentence: str, answers: Sequence[str]) -> bool:
    return any(contains_words(sentence, a) for a in answers)


class BuildSearcher:
    """A build's reports, split into sentences, and a BM25 index over them (each report's title
    and text): what ranks the reports a question's retrieval would hand the answerer."""

    def __init__(self, build: Path) -> None:
        import bm25s

        docs = build / "docs"
        self.names = sorted(p.name for p in docs.iterdir() if p.is_file())
        self.reports = load_reports(docs, self.names)
        self._bm25 = bm25s.BM25()
        self._bm25.index(tokenize([" ".join((self.reports[n].title, *self.reports[n].sentences))
                                   for n in self.names]), show_progress=False)

    def unanswering(self, question: TrainQuestion, terms: set[str], reports: int,
                    per_report: int) -> list[tuple[str, str]]:
        """The `per_report` sentences sharing most of the question's words of each of the
        `reports` reports BM25 ranks highest that hold no answer anywhere (and are not evidence)."""
        found, _ = self._bm25.retrieve([list(terms)], k=min(len(self.names), 4 * reports + 10),
                                       show_progress=False)
        others = [self.names[int(i)] for i in found[0] if self.names[int(i)] not in question.evidence_sources]
        others = [n for n in others
                  if not _holds(" ".join((self.reports[n].title, *self.reports[n].sentences)), question.answers)]
        chosen = []
        for name in others[:reports]:
            report = self.reports[name]
            scores = _overlap(terms, report.sentences)
            best = sorted(range(len(scores)), key=lambda i: -scores[i])[:per_report]
            chosen.extend((report.sentences[i], report.title) for i in best)
        return chosen


def build_examples(build: Path, sampling: Sampling = Sampling(), seed: int = 0,
                   hold_out_every: int = 0, searcher: BuildSearcher | None = None) -> list[Example]:
    """The labelled pairs of every answerable question of `build` (see the module docstring),
    less the held-out weeks' (`questions_of`); `searcher`: the build's, when already made."""
    rng = random.Random(seed)
    searcher = searcher or BuildSearcher(build)
    examples: list[Example] = []
    for question in questions_of(build, hold_out_every):
        examples.extend(_question_examples(question, searcher, sampling, rng))
    return examples


def absent_examples(build: Path, reports: int = 4, per_report: int = 3, hold_out_every: int = 0,
                    searcher: BuildSearcher | None = None) -> list[Example]:
    """Refusal pairs: for every question of `build` (an `--absent` build's unanswerable ones
    too), what the answerer reads when no report holds its answer: the best-matching sentences
    of the `reports` reports BM25 ranks highest that hold no answer, each labelled 0, as a group
    of its own (no sentence answers, so only the answers head learns from it). The same story's
    other articles stay in such a group: they are what makes an absent news answer look present."""
    searcher = searcher or BuildSearcher(build)
    examples: list[Example] = []
    for question in questions_of(build, hold_out_every, unanswerable=True):
        terms = set(tokenize([question.question])[0])
        examples.extend(Example(f"{question.id}/absent", question.question, sentence, title, 0.0)
                        for sentence, title in searcher.unanswering(question, terms, reports, per_report))
    return examples


def _question_examples(question: TrainQuestion, searcher: BuildSearcher, sampling: Sampling,
                       rng: random.Random) -> Iterator[Example]:
    answers = question.answers
    terms = set(tokenize([question.question])[0])
    positives, negatives = [], []
    for source in sorted(question.evidence_sources):
        report = searcher.reports[source]
        for sentence in report.sentences:
            (positives if _holds(sentence, answers) else negatives).append((sentence, report.title))
    if not positives:
        return
    rng.shuffle(positives)
    for sentence, title in positives[: sampling.positives]:
        yield Example(question.id, question.question, sentence, title, 1.0, answer_span(sentence, answers))
    overlap = _overlap(terms, [s for s, _ in negatives])
    ranked = [negatives[i] for i in sorted(range(len(negatives)), key=lambda i: -overlap[i])]
    hard, rest = ranked[: sampling.hard_negatives], ranked[sampling.hard_negatives :]
    chosen = hard + rng.sample(rest, min(sampling.random_negatives, len(rest)))
    # Reports ranked high for the question that hold no answer anywhere.
    chosen += searcher.unanswering(question, terms, sampling.retrieved_reports, sampling.per_retrieved_report)
    chosen.append((question.question, ""))
    for sentence, title in chosen:
        yield Example(question.id, question.question, sentence, title, 0.0)
