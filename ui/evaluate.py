"""The Evaluate tab: runs of the registered `Evaluations` on an uploaded test set, followed
while they run, their metrics, plots, example questions and downloads."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import gradio as gr

from assistant import plugins
from assistant.config import MAX_K
from assistant.core import Assistant
from index.common.errors import AssistantError
from ui.identity import user_of
from ui.render import escape_markdown, marked_passage

EVAL_POLL_SECONDS = 1.0
EXAMPLES_SHOWN = 5  # per outcome, in the Evaluate tab's example list


def render_eval_status(status: dict[str, Any] | None) -> str:
    """A run's progress bar (questions done of all, elapsed, estimated time left) or outcome."""
    if not status:
        return '<p class="meta">Upload a test set (JSONL, one question per line) to evaluate the index.</p>'
    done, total, elapsed = status["done"], status["total"], status["elapsed_s"]
    line = f"{done} / {total} questions · {elapsed:.0f} s elapsed"
    if status["status"] == "running" and done:
        line += f" · about {elapsed / done * (total - done):.0f} s left"
    state = {"running": "Running", "done": "Done", "failed": "Failed"}[status["status"]]
    parts = [f'<div data-status="{status["status"]}"><strong>{state}</strong>: evaluation '
             f'{html.escape(status["id"])} of {html.escape(status["testset"])} (k {status["k"]}, '
             f'{html.escape(status["llm"])})</div>',
             f'<progress value="{done}" max="{max(total, 1)}"></progress>',
             f'<div class="meta" id="eval-progress">{line}</div>']
    if status.get("error"):
        parts.append(f'<div class="meta">{html.escape(status["error"])}</div>')
    parts += [f'<div class="meta">{html.escape(w)}</div>' for w in status.get("warnings", [])]
    return "".join(parts)


def render_eval_example(example: dict[str, Any] | None) -> str:
    """One evaluated question: the gold answers, the answer with its markers, and each cited
    passage with the quote marked."""
    if not example:
        return ""
    row = example["row"]
    parts = [f"<p><strong>{html.escape(example['question'])}</strong></p>",
             f'<p class="meta">Expected: {html.escape(" | ".join(example["answers"]) or "a refusal")}</p>',
             f"<p>{html.escape(row['answer'])}</p>"]
    for c in row.get("citations", []):
        shown = marked_passage(c["doc_id"], c["start"], c["end"], c["quote"],
                               ((p["doc_id"], p["start"], p["end"], p["text"])
                                for p in row.get("retrieved", []) if "text" in p))
        parts.append(f'<div class="meta">[{c["n"]}] {html.escape(c["title"])} · '
                     f'{html.escape(c["source"])}</div><div class="passage">{shown}</div>')
    return "".join(parts)


class EvalUI:
    """The Evaluate tab's handlers: runs of the registered `Evaluations` of one assistant."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant

    @property
    def runs(self) -> plugins.Evaluations:
        return plugins.evaluations(self.assistant)

    def start(self, path: str | None, k: float | None, request: gr.Request = None) -> tuple[Any, ...]:
        """Start a run on the uploaded test set (if the user's role may): its id, a message (why
        it did not start), the timer switched on, and the tab showing the new run."""
        if not path:
            return (gr.skip(), "Choose a test set first.", *([gr.skip()] * 8))
        try:
            user = user_of(self.assistant, request)
            user.require("evaluations", "run evaluations")
            data = Path(path).read_bytes()
            status = self.runs.start(data, Path(path).name, k=int(k) if k else None, by=user.name)
        except (AssistantError, OSError) as exc:
            return (gr.skip(), escape_markdown(f"Could not start: {exc}"), *([gr.skip()] * 8))
        return (status["id"], "", gr.Timer(active=True), *self.open(status["id"], request))

    def _readable(self, request: gr.Request | None) -> list[dict[str, Any]]:
        """The runs the user may read (an admin: every run; an evaluator: their own)."""
        user = user_of(self.assistant, request)
        if not user.may("evaluations"):
            return []
        return [r for r in self.runs.runs() if user.may("evaluations.all") or r.get("by") == user.name]

    def listing(self, request: gr.Request = None) -> Any:
        """The list of runs the user may open (on page load)."""
        return self.open(None, request)[-1]

    def poll(self, run_id: str | None, request: gr.Request = None) -> tuple[Any, ...]:
        """The run's progress; once it has ended, its results too, and the timer off."""
        if not run_id:
            return (gr.Timer(active=False), *([gr.skip()] * 7))
        status = self.runs.status(run_id, results=False)
        if status["status"] == "running":
            return (gr.skip(), render_eval_status(status), *([gr.skip()] * 6))
        return (gr.Timer(active=False), *self.open(run_id, request))

    def open(self, run_id: str | None, request: gr.Request = None) -> tuple[Any, ...]:
        """Everything the tab shows of a run: status, metrics, outcomes, plots, examples,
        downloads, and the list of runs (those the user may read)."""
        runs = self._readable(request)
        choices = [(f"{r['id']} · {r['testset']} · {r['status']} {r['done']}/{r['total']}", r["id"])
                   for r in runs]
        if run_id not in {r["id"] for r in runs}:
            run_id = None
        if not run_id:
            return ("", [], [], [], gr.update(choices=[], value=None), None,
                    gr.update(choices=choices, value=None))
        try:
            status = self.runs.status(run_id)
        except AssistantError as exc:
            return (escape_markdown(str(exc)), [], [], [], gr.update(choices=[], value=None), None,
                    gr.update(choices=choices, value=None))
        results = status.get("results") or {}
        metrics = [[name, "n/a" if v is None else (f"{v:.0f}" if name.endswith("_ms") else f"{v:.3f}")]
                   for name, v in results.get("metrics", {}).items()]
        breakdown = results.get("breakdown", {})
        count = sum(breakdown.values()) or 1
        outcomes = [[name, n, f"{n / count:.1%}"] for name, n in breakdown.items()]
        examples = [(f"{outcome} · {e['id']} · {e['question']}", f"{outcome}\t{e['id']}")
                    for outcome, found in self.runs.examples(run_id).items()
                    for e in found[:EXAMPLES_SHOWN]] if status["status"] != "running" else []
        files = [str(self.runs.file(run_id, name)) for name in ("report.md", "questions.jsonl")
                 if status["status"] == "done"]
        plots = [str(p) for p in self.runs.plots(run_id)]
        return (render_eval_status(status), metrics, outcomes, plots,
                gr.update(choices=examples, value=None), files or None,
                gr.update(choices=choices, value=run_id))

    def choose(self, run_id: str | None, request: gr.Request = None) -> tuple[Any, ...]:
        """An earlier run opened from the list: it is followed (the timer on) while it runs."""
        running = bool(run_id) and self.runs.status(run_id, results=False)["status"] == "running"
        return (run_id, gr.Timer(active=running), *self.open(run_id, request))

    def example(self, run_id: str | None, choice: str | None) -> str:
        """The chosen example question's answer and cited passages."""
        if not run_id or not choice:
            return ""
        outcome, _, question_id = choice.partition("\t")
        found = self.runs.examples(run_id).get(outcome, [])
        return render_eval_example(next((e for e in found if e["id"] == question_id), None))


def build_evaluate_tab(assistant: Assistant, blocks: gr.Blocks) -> tuple[gr.Column, gr.Markdown]:
    """The Evaluate tab and its events; loading the page lists the earlier runs the user may
    read. Returns its controls (shown only to roles that may evaluate) and the note shown to
    the others instead."""
    settings = assistant.settings
    with gr.Tab("Evaluate", elem_id="evaluate-tab"):
        note = gr.Markdown("Evaluations are run by evaluators and admins.", visible=False, elem_id="evaluate-note")
        with gr.Column(elem_id="evaluate-controls") as controls:
            eval_run = gr.State(None)
            with gr.Row():
                eval_file = gr.File(label="Test set (JSONL: docs/interface.md, Evaluation)", elem_id="eval-upload",
                                    file_types=[".jsonl"], type="filepath", scale=4)
                with gr.Column(scale=1):
                    eval_k = gr.Number(value=settings.k, precision=0, minimum=1, maximum=MAX_K,
                                       label="Passages to use (k)", elem_id="eval-k")
                    eval_start = gr.Button("Evaluate the index", elem_id="eval-start", variant="primary")
            eval_message = gr.Markdown(elem_id="eval-message")
            eval_status = gr.HTML(render_eval_status(None), elem_id="eval-status")
            eval_timer = gr.Timer(EVAL_POLL_SECONDS, active=False)
            with gr.Row():
                eval_metrics = gr.Dataframe(headers=["metric", "value"], elem_id="eval-metrics",
                                            label="Metrics", interactive=False)
                eval_outcomes = gr.Dataframe(headers=["outcome", "questions", "share"],
                                             elem_id="eval-outcomes", label="How questions ended",
                                             interactive=False)
            eval_plots = gr.Gallery(label="Plots", elem_id="eval-plots", columns=3, height=420,
                                    object_fit="contain")
            eval_example = gr.Dropdown(label="Example questions by outcome", elem_id="eval-example",
                                       choices=[])
            eval_answer = gr.HTML(elem_id="eval-answer")
            with gr.Row():
                eval_runs = gr.Dropdown(label="Runs (open one)", elem_id="eval-runs", choices=[], scale=3)
                eval_files = gr.File(label="Download", elem_id="eval-files", file_count="multiple",
                                     interactive=False, scale=2)

    evals = EvalUI(assistant)
    shown = [eval_status, eval_metrics, eval_outcomes, eval_plots, eval_example, eval_files, eval_runs]
    eval_start.click(evals.start, inputs=[eval_file, eval_k],
                     outputs=[eval_run, eval_message, eval_timer, *shown])
    eval_timer.tick(evals.poll, inputs=[eval_run], outputs=[eval_timer, *shown])
    eval_runs.input(evals.choose, inputs=[eval_runs], outputs=[eval_run, eval_timer, *shown])
    eval_example.input(evals.example, inputs=[eval_run, eval_example], outputs=[eval_answer])
    blocks.load(evals.listing, outputs=[eval_runs])
    return controls, note
