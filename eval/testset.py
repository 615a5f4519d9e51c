"""Loading and validating a test set (SPEC.md: Evaluation).

Every problem is reported with the file name and line number, so a hand-written test set
can be fixed without guessing: `testset.jsonl line 7: duplicate id 'q3'`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class Evidence:
    """Where a gold answer is found: `source` is the file's path relative to `--docs`."""

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
    path, docs = Path(path), Path(docs)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidTestsetError(path, None, f"cannot read the test set ({exc})") from None
    questions: list[Question] = []
    first_line: dict[str, int] = {}
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue  # blank lines are harmless, e.g. a trailing newline
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidTestsetError(path, number, f"not valid JSON ({exc.msg})") from None
        try:
            question = _parse(data, number, docs)
        except ValueError as exc:
            raise InvalidTestsetError(path, number, str(exc)) from None
        if question.id in first_line:
            raise InvalidTestsetError(
                path, number,
                f"duplicate id {question.id!r} (first used on line {first_line[question.id]})",
            )
        first_line[question.id] = number
        questions.append(question)
    if not questions:
        raise InvalidTestsetError(path, None, "the test set has no questions")
    return Testset(path=path, questions=tuple(questions))


def _parse(data: Any, line: int, docs: Path) -> Question:
    """One line's object as a Question; ValueError names the field that is wrong."""
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
    evidence = _parse_evidence(data["evidence"], docs)
    if data["answerable"] and not evidence:
        raise ValueError("an answerable question needs at least one 'evidence' document")
    return Question(
        id=qid, question=text, answers=tuple(answers), answerable=data["answerable"],
        evidence=evidence, history=_parse_history(data.get("history")),
        as_of=_parse_date(data.get("as_of")), line=line,
    )


def _parse_evidence(value: Any, docs: Path) -> tuple[Evidence, ...]:
    if not isinstance(value, list):
        raise ValueError("'evidence' must be a list of {\"doc\", \"quote\"?} objects")
    evidence = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("doc"), str) or not item["doc"]:
            raise ValueError("each evidence item must be an object with a string 'doc'")
        quote = item.get("quote")
        if quote is not None and (not isinstance(quote, str) or not quote.strip()):
            raise ValueError("an evidence 'quote' must be a non-empty string")
        evidence.append(Evidence(source=source_under(docs, item["doc"]), quote=quote))
    return tuple(evidence)


def source_under(docs: Path, doc: str) -> str:
    """The `source` the eval index gives `doc`: its path relative to `docs`, with `/`.

    ValueError when `doc` is not a file under `docs` (a typo, or `../` escaping the folder).
    """
    root = docs.resolve()
    target = (root / doc).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise ValueError(f"evidence file {doc!r} is not a file under {str(docs)!r}")
    return target.relative_to(root).as_posix()


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


def _parse_date(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise ValueError(f"'as_of' must be a date YYYY-MM-DD, got {value!r}") from None
