"""The /v1/evals routes of docs/interface.md: evaluate the current index on an uploaded test set.

The work is the registered `Evaluations` (assistant/plugins.py), shared with the UI's Evaluate
tab: a run started here shows there, and one runs at a time across both (409 otherwise).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import FileResponse

from assistant import plugins
from assistant.api.schemas import ErrorOut, EvalOut, EvalsOut
from assistant.core import Assistant


def add_eval_routes(router: APIRouter, assistant: Assistant) -> None:
    """Add `POST/GET /evals`, `GET /evals/{id}`, `/evals/{id}/questions` and `/report` to the
    /v1 `router`."""

    def runs() -> plugins.Evaluations:
        return plugins.evaluations(assistant)

    @router.post("/evals", response_model=EvalOut, response_model_exclude_none=True, tags=["evaluation"],
                 responses={409: {"model": ErrorOut}, 413: {"model": ErrorOut}})
    def start(
        file: Annotated[UploadFile, File(description="a test set (JSONL, docs/interface.md: Evaluation)")],
        k: Annotated[int | None, Form(description="passages handed to the answerer")] = None,
        llm: Annotated[str | None, Form(description="answerer to evaluate (an ASSISTANT_LLM spec); "
                                                    "default: the server's")] = None,
    ) -> dict[str, Any]:
        """Start evaluating the current index on a test set; returns at once with its id.

        Every line is checked first: a malformed one (not JSON, a missing field, a duplicate id)
        is a 400 naming the line and field, and nothing runs. An evidence file the index lacks is
        a warning in the status, and the run goes on without it. 409 while a run is going on.
        """
        return runs().start(file.file.read(), file.filename, k=k, llm=llm)

    @router.get("/evals", response_model=EvalsOut, response_model_exclude_none=True, tags=["evaluation"])
    def listing() -> dict[str, Any]:
        """Every run, newest first, without results."""
        return {"evals": runs().runs()}

    @router.get("/evals/{run_id}", response_model=EvalOut, response_model_exclude_none=True,
                tags=["evaluation"], responses={404: {"model": ErrorOut}})
    def status(run_id: str) -> dict[str, Any]:
        """A run's progress (`done` of `total` questions), and its `results` (as results.json)
        once `status` is `done`."""
        return runs().status(run_id)

    @router.get("/evals/{run_id}/questions", tags=["evaluation"], response_class=FileResponse,
                responses={200: {"content": {"application/x-ndjson": {}}}, 404: {"model": ErrorOut}})
    def questions(run_id: str) -> FileResponse:
        """The run's questions.jsonl: one row per question answered so far."""
        return FileResponse(runs().file(run_id, "questions.jsonl"), media_type="application/x-ndjson",
                            filename=f"{run_id}-questions.jsonl")

    @router.get("/evals/{run_id}/report", tags=["evaluation"], response_class=FileResponse,
                responses={200: {"content": {"text/markdown": {}}}, 404: {"model": ErrorOut}})
    def report(run_id: str) -> FileResponse:
        """The run's report.md (once done); its plots are at `/v1/evals/{id}/files/NAME.png`."""
        return FileResponse(runs().file(run_id, "report.md"), media_type="text/markdown",
                            filename=f"{run_id}-report.md")

    @router.get("/evals/{run_id}/files/{name}", tags=["evaluation"], response_class=FileResponse,
                responses={404: {"model": ErrorOut}})
    def plot(run_id: str, name: str) -> FileResponse:
        """A plot of the run's report (`metrics.png`, ...)."""
        return FileResponse(runs().file(run_id, name))
