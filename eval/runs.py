"""Evaluations of the current index, kept under `ASSISTANT_HOME/evals/<id>/`: started from the
app (`/v1/evals`, the UI's Evaluate tab) or by `assistant eval TESTSET --index`, one code path.

A run's folder holds what `assistant eval --out` writes (results.json, questions.jsonl,
report.md and its plots), the uploaded test set, and `run.json`: its status. The app and the
CLI reach this module through the `report_assistant.evaluations` entry point
(assistant/plugins.py), never by import.

One run at a time per process, in a background thread: a second start is refused (BusyError,
HTTP 409) while one runs. A run left `running` by a process that is gone (a restart, a crash)
is marked failed when the next EvalRuns opens the folder.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from assistant.config import MAX_K
from assistant.core import Assistant
from eval.metrics import OUTCOMES, Row, outcome
from eval.report import write_report
from eval.runner import DEFAULT, RunConfig, evaluate_with, read_rows, write_json
from eval.testset import IndexedSources, Testset, load_indexed_testset
from index.common.errors import AssistantError, BusyError, ConfigError, InputError, NotFoundError

log = logging.getLogger(__name__)

STATUS_FILE = "run.json"
QUESTIONS_FILE = "questions.jsonl"
RESULTS_FILE = "results.json"
REPORT_FILE = "report.md"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_RUN_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")
# Runs this process is executing, by id, across every EvalRuns over any folder: another
# instance must not mark them interrupted.
_EXECUTING: set[str] = set()


class EvalRuns:
    """The evaluations of one assistant's index: start one, follow it, read what it wrote."""

    def __init__(self, assistant: Assistant, root: Path | None = None) -> None:
        self.assistant = assistant
        self.root = root or assistant.settings.evals_path
        self._lock = threading.Lock()
        self._active: str | None = None
        self._done: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._mark_interrupted()
        # A daemon thread killed inside native code at exit can abort the interpreter.
        atexit.register(self.close)

    # --- starting -------------------------------------------------------------------------

    def start(
        self, data: bytes, filename: str | None, k: int | None = None, llm: str | None = None,
        wait: bool = False, progress: bool | None = False, by: str | None = None,
    ) -> dict[str, Any]:
        """Check the test set `data` (named `filename`) against the index and start a run on it
        with `k` passages and the answerer `llm` (default: the assistant's). Returns the run's
        status at once, or when it is finished with `wait` (the CLI). InputError names the line
        and field of a malformed test set, or the bad `k` or `llm`; BusyError while a run is
        going on. `by` names who started it (kept in its status)."""
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K):
            raise InputError(f"k must be a whole number from 1 to {MAX_K}, got {k!r}")
        try:
            answering = self.assistant.with_llm(llm or None)
        except ConfigError as exc:
            raise InputError(f"llm: {exc}") from None
        config = RunConfig.of(answering.settings, k)
        run_id, folder = self._new_folder()
        try:
            testset, warnings, sources = self._checked_testset(folder, data, filename)
            with self._lock:
                if self._active is not None:
                    raise BusyError(f"evaluation {self._active} is running "
                                    f"({self._done.get(self._active, 0)} questions done); "
                                    "start another when it has finished")
                self._active = run_id
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self._done[run_id] = 0
        _EXECUTING.add(run_id)
        write_json(folder / STATUS_FILE, {
            "id": run_id, "status": "running", "done": 0, "total": len(testset.questions),
            "testset": testset.path.name, "k": config.k, "llm": config.llm,
            "created": _now(), "by": by, "finished": None, "error": None, "warnings": warnings,
            "pid": os.getpid(),
        })
        self._stop.clear()
        job = (run_id, folder, testset, config, sources, answering, progress)
        if wait:
            self._run(*job)
            return self.status(run_id)
        self._thread = threading.Thread(target=self._run, args=job, name=f"eval-{run_id}", daemon=True)
        self._thread.start()
        return self.status(run_id, results=False)

    def close(self, timeout: float = 30.0) -> None:
        """Stop the run going on after its current question (it is marked failed, with how far
        it got) and wait for it: the process is about to exit."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _new_folder(self) -> tuple[str, Path]:
        self.root.mkdir(parents=True, exist_ok=True)
        while True:
            run_id = f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
            with contextlib.suppress(FileExistsError):
                (self.root / run_id).mkdir()
                return run_id, self.root / run_id

    def _checked_testset(self, folder: Path, data: bytes, filename: str | None
                         ) -> tuple[Testset, list[str], IndexedSources]:
        name = _SAFE_NAME.sub("_", Path(filename or "").name).strip("._") or "testset.jsonl"
        if name in (STATUS_FILE, QUESTIONS_FILE, RESULTS_FILE, REPORT_FILE):
            name = "testset-" + name
        path = folder / name
        path.write_bytes(data)
        documents = self.assistant.documents()
        sources = IndexedSources((d.source for d in documents),
                                 {alias: d.source for d in documents for alias in d.aliases})
        testset, warnings = load_indexed_testset(path, sources)
        return testset, warnings, sources

    def _run(self, run_id: str, folder: Path, testset: Testset, config: RunConfig,
             sources: IndexedSources, answering: Assistant, progress: bool | None) -> None:
        update: dict[str, Any] = {"status": "failed"}
        try:
            extra = {"testset": testset.path.name, "index": self._index_description()}
            result, rows = evaluate_with(
                lambda: answering, testset, config, folder, extra, progress,
                on_question=lambda done: self._answered(run_id, done),
                name_of=sources.name_of)
            write_report(folder, testset, {DEFAULT: result}, {DEFAULT: rows})
            update = {"status": "done"}
        except AssistantError as exc:
            update["error"] = str(exc)
        except Exception as exc:  # a run must end with a status, whatever went wrong
            log.exception("evaluation %s failed", run_id)
            update["error"] = f"internal error ({type(exc).__name__}); see the server log"
        finally:
            status = self._read_status(folder)
            status.update(update, done=len(read_rows(folder / QUESTIONS_FILE)), finished=_now())
            write_json(folder / STATUS_FILE, status)
            with self._lock:
                self._active = None
                self._done.pop(run_id, None)
                _EXECUTING.discard(run_id)

    def _answered(self, run_id: str, done: int) -> None:
        self._done[run_id] = done
        if self._stop.is_set():
            raise RunStopped(f"stopped after {done} questions: the process running it exited; "
                             "start it again")

    def _index_description(self) -> dict[str, Any]:
        settings = self.assistant.settings
        where = settings.chroma_url or str(settings.home.resolve())
        return {"store": where, "collection": settings.collection, **self.assistant.health()}

    # --- reading --------------------------------------------------------------------------

    def status(self, run_id: str, results: bool = True) -> dict[str, Any]:
        """`{"id", "status", "done", "total", ...}` of a run, with `results` (results.json's
        object) once it is done and `results` is asked for; NotFoundError for an unknown id."""
        folder = self._folder(run_id)
        status = self._read_status(folder)
        if status["status"] == "running":
            done = self._done.get(run_id)
            status["done"] = done if done is not None else len(read_rows(folder / QUESTIONS_FILE))
        end = _seconds(status["finished"]) if status.get("finished") else time.time()
        status["elapsed_s"] = round(end - _seconds(status["created"]), 1)
        status.pop("pid", None)
        if results and status["status"] == "done" and (folder / RESULTS_FILE).exists():
            status["results"] = json.loads((folder / RESULTS_FILE).read_text(encoding="utf-8"))
        return status

    def runs(self) -> list[dict[str, Any]]:
        """Every run's status without its results, newest first."""
        if not self.root.is_dir():
            return []
        ids = sorted((p.name for p in self.root.iterdir()
                      if _RUN_ID.fullmatch(p.name) and (p / STATUS_FILE).exists()), reverse=True)
        return [self.status(run_id, results=False) for run_id in ids]

    def file(self, run_id: str, name: str) -> Path:
        """A file the run wrote: questions.jsonl, results.json, report.md or one of its plots
        (`*.png`); NotFoundError when it is not there (yet)."""
        folder = self._folder(run_id)
        if name not in (QUESTIONS_FILE, RESULTS_FILE, REPORT_FILE) and not (
                name.endswith(".png") and _SAFE_NAME.sub("", name) == name):
            raise NotFoundError(f"evaluation {run_id} has no file {name!r}")
        path = folder / name
        if not path.is_file():
            raise NotFoundError(f"evaluation {run_id} has not written {name} yet")
        return path

    def plots(self, run_id: str) -> list[Path]:
        """The plots of a finished run's report, overview first."""
        return sorted(self._folder(run_id).glob("*.png"), key=lambda p: (p.name != "metrics.png", p.name))

    def examples(self, run_id: str) -> dict[str, list[dict[str, Any]]]:
        """The answered questions of a run by outcome (`right`, `not_chosen`, ...): for each, the
        question, its gold answers and its row of questions.jsonl."""
        folder = self._folder(run_id)
        testset, _ = load_indexed_testset(folder / self._read_status(folder)["testset"],
                                          _AnyName())
        rows = read_rows(folder / QUESTIONS_FILE)
        found: dict[str, list[dict[str, Any]]] = {name: [] for name in OUTCOMES}
        for question in testset.questions:
            row: Row | None = rows.get(question.id)
            if row is not None:
                found[outcome(question, row)].append(
                    {"id": question.id, "question": question.question,
                     "answers": list(question.answers), "row": dict(row)})
        return found

    def _folder(self, run_id: str) -> Path:
        folder = self.root / run_id
        if not _RUN_ID.fullmatch(run_id) or not (folder / STATUS_FILE).is_file():
            raise NotFoundError(f"no evaluation {run_id!r}; GET /v1/evals lists them")
        return folder

    @staticmethod
    def _read_status(folder: Path) -> dict[str, Any]:
        return json.loads((folder / STATUS_FILE).read_text(encoding="utf-8"))

    def _mark_interrupted(self) -> None:
        """Runs left `running` by a process that is gone can never finish: mark them failed."""
        for folder in self.root.glob("*/") if self.root.is_dir() else ():
            with contextlib.suppress(OSError, ValueError, KeyError):
                status = self._read_status(folder)
                if status["status"] != "running" or folder.name in _EXECUTING \
                        or (status["pid"] != os.getpid() and _alive(status["pid"])):
                    continue
                done = len(read_rows(folder / QUESTIONS_FILE))
                status.update(status="failed", done=done, finished=_now(),
                              error=f"interrupted after {done} of {status['total']} questions: "
                                    "the process running it stopped; start it again")
                write_json(folder / STATUS_FILE, status)


class RunStopped(AssistantError):
    """A run stopped before its end because its process is exiting."""


class _AnyName(IndexedSources):
    """Reading back a run's own test set: its evidence names were checked when it started."""

    def __init__(self) -> None:
        super().__init__(())

    def evidence_name(self, doc: str) -> str | None:
        return self.normalized(doc)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()

