"""Loading and validating a test set (docs/interface.md: Evaluation).

Every problem is reported with the file name and line number, so a hand-written test set
can be fixed without guessing: `testset.jsonl line 7: duplicate id 'q3'`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Mapping

from index.common.dates import to_date
from index.common.errors import InputError


class InvalidTestsetError(InputError):
    """A test set line is not valid JSON, misses a field, has a wrong type or a duplicate id,
    or names an evidence file that is not under `--docs`."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        where = f"{path.name} line {line}" if line is not None else path.name
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


# An evidence `doc` to the source it is scored as; None when missing (the run goes on without
# it), ValueError when it can never be right.
Resolver = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Evidence:
    """Where a gold answer is found: `source` is the file's path relative to `--docs` (against
    an index: the test set's `doc`, normalized; see `IndexedSources`)."""

    source: str
    quote: str | None = None


@dataclass(frozen=True)
class Question:
    """One validated test-set question."""

    id: str
    question: str
    answers: tuple[str, ...]
    answerable: bool
    evidence: tuple[Evidence, ...] = ()
    history: tuple[dict[str, str], ...] = ()
    as_of: str | None = None
    line: int = 0

    @property
    def evidence_sources(self) -> frozenset[str]:
        """The documents that hold the answer."""
        return frozenset(e.source for e in self.evidence)


@dataclass(frozen=True)
class Testset:
    """The questions of one test set, in file order."""

    path: Path
    questions: tuple[Question, ...] = field(default_factory=tuple)

    def aliased(self, aliases: Mapping[str, str]) -> "Testset":
        """The test set with evidence files the index holds as another report's alias (the
        same text under another name) scored as that report's source."""
        def moved(q: Question) -> Question:
            return replace(q, evidence=tuple(replace(e, source=aliases.get(e.source, e.source)) for e in q.evidence))

        return replace(self, questions=tuple(moved(q) for q in self.questions)) if aliases else self

    @property
    def counts(self) -> dict[str, int]:
        """`{"questions", "answerable", "unanswerable"}` as in results.json."""
        answerable = sum(q.answerable for q in self.questions)
        return {
            "questions": len(self.questions),
            "answerable": answerable,
            "unanswerable": len(self.questions) - answerable,
        }


def load_testset(path: str | Path, docs: str | Path) -> Testset:
    """Read and validate a JSONL test set whose evidence files live under `docs`.

    Raises InvalidTestsetError naming the line of the first problem.
    """
    docs = Path(docs)
    testset, _ = _load(Path(path), lambda doc: source_under(docs, doc))
    return testset


def load_indexed_testset(path: str | Path, sources: IndexedSources) -> tuple[Testset, list[str]]:
    """Read and validate a test set run against an index: each evidence `doc` is matched
    against the indexed reports' `sources` (see `IndexedSources`).

    An evidence file the index lacks is not an error: it is left out, and a warning naming the
    line says so; an answerable question left with no evidence is skipped, with a warning.
    Raises InvalidTestsetError naming the line of the first malformed question.
    """
    return _load(Path(path), sources.evidence_name)


def _load(path: Path, resolve: Resolver) -> tuple[Testset, list[str]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidTestsetError(path, None, f"cannot read the test set ({exc})") from None
    questions: list[Question] = []
    warnings: list[str] = []
    first_line: dict[str, int] = {}
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue  # blank lines are harmless, e.g. a trailing newline
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidTestsetError(path, number, f"not valid JSON ({exc.msg})") from None
        try:
            question, missing = _parse(data, number, resolve)
        except ValueError as exc:
            raise InvalidTestsetError(path, number, str(exc)) from None
        if question.id in first_line:
            raise InvalidTestsetError(
                path, number,
                f"duplicate id {question.id!r} (first used on line {first_line[question.id]})",
            )
        first_line[question.id] = number
        where = f"{path.name} line {number}"
        warnings += [f"{where}: evidence file {doc!r} is not in the index" for doc in missing]
        if question.answerable and not question.evidence:
            warnings.append(f"{where}: skipped: none of its evidence files is in the index")
            continue
        questions.append(question)
    if not questions:
        raise InvalidTestsetError(path, None, "the test set has no questions"
                                  + (" whose evidence is in the index" if warnings else ""))
    return Testset(path=path, questions=tuple(questions)), warnings


def _parse(data: Any, line: int, resolve: Resolver) -> tuple[Question, list[str]]:
    """One line's object as a Question, with the evidence files `resolve` did not find;
    ValueError names the field that is wrong."""
    if not isinstance(data, dict):
        raise ValueError("each line must be a JSON object")
    for name in ("id", "question", "answers", "answerable", "evidence"):
        if name not in data:
            raise ValueError(f"missing required field {name!r}")
    qid, text, answers = data["id"], data["question"], data["answers"]
    if not isinstance(qid, str) or not qid.strip():
        raise ValueError("'id' must be a non-empty string")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("'question' must be a non-empty string")
    if not isinstance(data["answerable"], bool):
        raise ValueError("'answerable' must be true or false")
    if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
        raise ValueError("'answers' must be a list of non-empty strings")
    if data["answerable"] and not answers:
        raise ValueError("an answerable question needs at least one answer in 'answers'")
    if not data["answerable"] and answers:
        raise ValueError("an unanswerable question must have \"answers\": []")
    evidence, missing = _parse_evidence(data["evidence"], resolve)
    if data["answerable"] and not evidence and not missing:
        raise ValueError("an answerable question needs at least one 'evidence' document")
    return Question(
        id=qid, question=text, answers=tuple(answers), answerable=data["answerable"],
        evidence=evidence, history=_parse_history(data.get("history")),
        as_of=_parse_as_of(data.get("as_of")), line=line,
    ), missing


def _parse_evidence(value: Any, resolve: Resolver) -> tuple[tuple[Evidence, ...], list[str]]:
    if not isinstance(value, list):
        raise ValueError("'evidence' must be a list of {\"doc\", \"quote\"?} objects")
    evidence, missing = [], []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("doc"), str) or not item["doc"]:
            raise ValueError("each evidence item must be an object with a string 'doc'")
        quote = item.get("quote")
        if quote is not None and (not isinstance(quote, str) or not quote.strip()):
            raise ValueError("an evidence 'quote' must be a non-empty string")
        source = resolve(item["doc"])
        if source is None:
            missing.append(item["doc"])
        else:
            evidence.append(Evidence(source=source, quote=quote))
    return tuple(evidence), missing


def source_under(docs: Path, doc: str) -> str:
    """The `source` the eval index gives `doc`: its path relative to `docs`, with `/`.

    ValueError when `doc` is not a file under `docs` (a typo, or `../` escaping the folder).
    """
    root = docs.resolve()
    target = (root / doc).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise ValueError(f"evidence file {doc!r} is not a file under {str(docs)!r}")
    return target.relative_to(root).as_posix()


class IndexedSources:
    """Evidence `doc` names matched against the `source` of each indexed report: a report
    matches a name when its source is the name, or ends with `/` and the name (a file name,
    or a path relative to the folder it was ingested from: the CLI records absolute paths,
    uploads their file name). A name matching an alias (a file indexed as another report: the
    same text) matches that report."""

    def __init__(self, sources: Iterable[str], aliases: Mapping[str, str] | None = None) -> None:
        self._canonical = dict(aliases or {})  # alias: the source of the report it is indexed as
        self._by_file: dict[str, list[str]] = {}
        for source in [*sources, *self._canonical]:
            self._by_file.setdefault(PurePosixPath(source).name, []).append(source)
        self._names: dict[str, str] = {}

    def evidence_name(self, doc: str) -> str | None:
        """`doc` as the test set's name for its reports (normalized), or None when no indexed
        report matches it; ValueError when it is not a relative path."""
        text = self.normalized(doc)
        found = [self._canonical.get(s, s) for s in self._by_file.get(PurePosixPath(text).name, ())
                 if s == text or s.endswith("/" + text)]
        for source in found:  # the longest name wins: it says most about which report
            if len(text) > len(self._names.get(source, "")):
                self._names[source] = text
        return text if found else None

    @staticmethod
    def normalized(doc: str) -> str:
        """`doc` with `/` separators and no `./`; ValueError when it is not a relative path
        inside the folder (absolute, or with `..`)."""
        name = PurePosixPath(doc.replace("\\", "/"))
        if name.is_absolute() or ".." in name.parts or not name.parts:
            raise ValueError(f"evidence file {doc!r} must be a relative path without '..'")
        return name.as_posix()

    def name_of(self, source: str) -> str:
        """The evidence name of an indexed report's `source` (itself when no evidence named it),
        so that rows are scored, and read, in the test set's names."""
        return self._names.get(source, source)


def _parse_history(value: Any) -> tuple[dict[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError("'history' must be a list of {\"role\", \"content\"} objects")
    turns = []
    for turn in value:
        if (not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant")
                or not isinstance(turn.get("content"), str)):
            raise ValueError(
                "each 'history' turn must be {\"role\": \"user\"|\"assistant\", \"content\": str}"
            )
        turns.append({"role": turn["role"], "content": turn["content"]})
    return tuple(turns)


def _parse_as_of(value: Any) -> str | None:
    """A question's optional `as_of` day; ValueError (reported with its line) when it is given
    but not a day written YYYY-MM-DD, an empty string included."""
    if value is None:
        return None
    try:
        return to_date(value, "'as_of'").isoformat()
    except InputError as exc:
        raise ValueError(str(exc)) from None
