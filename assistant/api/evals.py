"""The /v1/evals routes of docs/interface.md: evaluate the current index on an uploaded test set.

The work is the registered `Evaluations` (assistant/plugins.py), shared with the UI's Evaluate
tab: a run started here shows there, and one runs at a time across both (409 otherwise).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse

from assistant import plugins
from assistant.api.auth import request_user
from assistant.api.schemas import ErrorOut, EvalOut, EvalsOut
from assistant.core import Assistant
from assistant.users import User
from index.common.errors import NotFoundError


def add_eval_routes(router: APIRouter, assistant: Assistant) -> None:
    """Add `POST/GET /evals`, `GET /evals/{id}`, `/evals/{id}/questions` and `/report` to the
    /v1 `router`."""

    def runs() -> plugins.Evaluations:
        return plugins.evaluations(assistant)

    def visible(request: Request, run_id: str | None = None) -> User:
        """The caller, allowed to read evaluations, and to read run `run_id` (an evaluator reads
        the runs it started, an admin every run: another's is a 404, as an unknown one)."""
        user = request_user(request)
        user.require("evaluations", "run or read evaluations")
        if run_id is not None and not user.may("evaluations.all") and runs().status(run_id, results=False).get("by") != user.name:
            raise NotFoundError(f"no evaluation {run_id!r}")
        return user

    @router.post("/evals", response_model=EvalOut, response_model_exclude_none=True, tags=["evaluation"],
                 responses={409: {"model": ErrorOut}, 413: {"model": ErrorOut}})
    def start(
        request: Request,
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
        user = visible(request)
        return runs().start(file.file.read(), file.filename, k=k, llm=llm, by=user.name)

    @router.get("/evals", response_model=EvalsOut, response_model_exclude_none=True, tags=["evaluation"])
    def listing(request: Request) -> dict[str, Any]:
        """The runs you may read (an admin: every run), newest first, without results."""
        user = visible(request)
        return {"evals": [r for r in runs().runs() if user.may("evaluations.all") or r.get("by") == user.name]}

    @router.get("/evals/{run_id}", response_model=EvalOut, response_model_exclude_none=True,
                tags=["evaluation"], responses={404: {"model": ErrorOut}})
    def status(request: Request, run_id: str) -> dict[str, Any]:
        """A run's progress (`done` of `total` questions), and its `results` (as results.json)
        once `status` is `done`."""
        visible(request, run_id)
        return runs().status(run_id)

    @router.get("/evals/{run_id}/questions", tags=["evaluation"], response_class=FileResponse,
                responses={200: {"content": {"application/x-ndjson": {}}}, 404: {"model": ErrorOut}})
    def questions(request: Request, run_id: str) -> FileResponse:
        """The run's questions.jsonl: one row per question answered so far."""
        visible(request, run_id)
        return FileResponse(runs().file(run_id, "questions.jsonl"), media_type="application/x-ndjson",
                            filename=f"{run_id}-questions.jsonl")

    @router.get("/evals/{run_id}/report", tags=["evaluation"], response_class=FileResponse,
                responses={200: {"content": {"text/markdown": {}}}, 404: {"model": ErrorOut}})
    def report(request: Request, run_id: str) -> FileResponse:
        """The run's report.md (once done); its plots are at `/v1/evals/{id}/files/NAME.png`."""
        visible(request, run_id)
        return FileResponse(runs().file(run_id, "report.md"), media_type="text/markdown",
                            filename=f"{run_id}-report.md")

    @router.get("/evals/{run_id}/files/{name}", tags=["evaluation"], response_class=FileResponse,
                responses={404: {"model": ErrorOut}})
    def plot(request: Request, run_id: str, name: str) -> FileResponse:
        """A plot of the run's report (`metrics.png`, ...)."""
        visible(request, run_id)
        return FileResponse(runs().file(run_id, name))
