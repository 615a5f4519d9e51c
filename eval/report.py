"""OUT/report.md: the metric table of every configuration, the definitions, and bar plots."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from eval.metrics import GROUNDED_RECALL, METRIC_NAMES, RANKING_DEPTH
from eval.testset import Testset

OVERVIEW_PLOT = "metrics.png"

DEFINITIONS: dict[str, str] = {
    "retrieval_hit@N": "answerable: an evidence document is among the documents of the top N "
                       f"passages (one ranking of max(k, {RANKING_DEPTH}) passages per question, "
                       "retrieved with the same standalone query `ask` used)",
    "retrieval_mrr": "answerable: mean reciprocal rank of the first passage from an evidence "
                     f"document in that ranking (0 when none of the top max(k, {RANKING_DEPTH}) is)",
    "answer_contains": "answerable: the answer is not refused and, with `[n]` markers removed, "
                       "contains a gold answer; both normalized (lower case, punctuation and "
                       "a/an/the removed, spaces collapsed) and matched on whole words",
    "answer_f1": "answerable: best SQuAD token F1 against the gold answers, markers removed; "
                 "a refusal scores 0",
    "citation_precision": "citations in answers to answerable questions whose passage (the "
                          "retrieved passage holding the cited span) is from an evidence document "
                          "and, where the evidence gives a quote, contains it (normalized, whole words)",
    "citation_recall": "answerable, not refused: at least one correct citation",
    "groundedness": "sentences of non-refused answers (all questions) supported by a quote that "
                    "the sentence cites. A sentence is a stretch of the answer closed by its `[n]` "
                    "markers (uncited text after the last marker is split at sentence ends and "
                    "counts as unsupported). It is supported when, after normalization, at least "
                    f"{GROUNDED_RECALL:.0%} of its words (counted with repeats) occur in the quote "
                    "of one citation it cites",
    "refusal_accuracy": "unanswerable: refused",
    "false_refusal_rate": "answerable: refused",
    "latency_p50_ms, latency_p95_ms": "time of each `ask` call (linear interpolation between ranks)",
}


def format_value(metric: str, value: float | None) -> str:
    """A metric for a table: milliseconds as whole numbers, shares with three decimals."""
    if value is None:
        return "n/a"
    return f"{value:.0f}" if metric.endswith("_ms") else f"{value:.3f}"


def plot_file(metric: str) -> str:
    """The PNG name of one metric's bar plot (no `@` in file names)."""
    return "plot-" + re.sub(r"[^A-Za-z0-9_]+", "-", metric) + ".png"


def write_report(out: Path, testset: Testset, results: Mapping[str, Mapping[str, Any]]) -> Path:
    """Write OUT/report.md and its plots for `results` ({config name: results.json object})."""
    names = list(results)
    metrics = {name: results[name]["metrics"] for name in names}
    plots = [OVERVIEW_PLOT]
    _overview_plot(out / OVERVIEW_PLOT, metrics)
    if len(names) > 1:
        for metric in METRIC_NAMES:
            _metric_plot(out / plot_file(metric), metric, metrics)
            plots.append(plot_file(metric))

    counts = testset.counts
    lines = [
        "# Evaluation report",
        "",
        f"Test set `{testset.path.name}`: {counts['questions']} questions, "
        f"{counts['answerable']} answerable, {counts['unanswerable']} unanswerable.",
        "",
        "## Configurations",
        "",
        "| name | retrieval | k | llm | results |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in names:
        c = results[name]["config"]
        where = "results.json" if name == names[0] else f"{name}/results.json"
        lines.append(f"| {name} | {c['retrieval']} | {c['k']} | `{c['llm']}` | [{where}]({where}) |")
    lines += [
        "",
        "## Metrics",
        "",
        "| metric | " + " | ".join(names) + " |",
        "| --- |" + " ---: |" * len(names),
    ]
    for metric in METRIC_NAMES:
        lines.append(f"| {metric} | "
                     + " | ".join(format_value(metric, metrics[n][metric]) for n in names) + " |")
    lines += ["", "n/a: nothing to count (e.g. no unanswerable question).", "", "## Plots", ""]
    lines += [f"![{plot}]({plot})" for plot in plots]
    lines += ["", "## Definitions", ""]
    lines += [f"- `{name}`: {text}." for name, text in DEFINITIONS.items()]
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return report


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, no GUI toolkit
    import matplotlib.pyplot as plt

    return plt


def _overview_plot(path: Path, metrics: Mapping[str, Mapping[str, float | None]]) -> None:
    """Grouped horizontal bars of every 0-1 metric, one colour per configuration."""
    plt = _pyplot()
    shares = [m for m in METRIC_NAMES if not m.endswith("_ms")]
    names = list(metrics)
    height = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(shares) + 1.5))
    for i, name in enumerate(names):
        ys = [row + i * height for row in range(len(shares))]
        ax.barh(ys, [metrics[name][m] or 0.0 for m in shares], height=height, label=name)
    ax.set_yticks([row + 0.4 - height / 2 for row in range(len(shares))], shares)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share (n/a shown as 0)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _metric_plot(path: Path, metric: str, metrics: Mapping[str, Mapping[str, float | None]]) -> None:
    """One metric across configurations."""
    plt = _pyplot()
    names = list(metrics)
    values = [metrics[name][metric] or 0.0 for name in names]
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 2, 3))
    bars = ax.bar(names, values, color="tab:blue")
    ax.bar_label(bars, labels=[format_value(metric, metrics[n][metric]) for n in names])
    ax.set_title(metric)
    if not metric.endswith("_ms"):
        ax.set_ylim(0, 1.1)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
