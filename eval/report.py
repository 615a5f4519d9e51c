"""OUT/report.md: the metric and outcome tables of every configuration, the definitions, bar
plots, and example questions of each outcome."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from eval.metrics import (
    GROUNDED_RECALL,
    METRIC_NAMES,
    OUTCOMES,
    RANKING_DEPTH,
    Row,
    answer_in_passages,
    outcome,
)
from eval.testset import Question, Testset

OVERVIEW_PLOT = "metrics.png"
EXAMPLES_PER_OUTCOME = 3
ANSWER_CHARS = 200  # of an example's answer: enough to see what it said, short enough to scan

DEFINITIONS: dict[str, str] = {
    "retrieval_hit@N": "answerable: an evidence document is among the documents of the top N "
                       "passages handed to the answerer (all of them when N is more than k)",
    "retrieval_mrr": "answerable: mean reciprocal rank of the first passage handed to the answerer "
                     "that is from an evidence document (0 when none is)",
    "report_hit@N": "answerable: an evidence document is among the documents of the top N passages "
                    f"of a second, deeper ranking (max(k, {RANKING_DEPTH}) passages, retrieved with the "
                    "same standalone query `ask` used); its first stage is deeper, so its top k can "
                    "differ from the passages handed",
    "report_mrr": "answerable: mean reciprocal rank of the first passage from an evidence document "
                  f"in that ranking (0 when none of its top max(k, {RANKING_DEPTH}) is)",
    "answer_contains": "answerable: the answer is not refused and, with `[n]` markers removed, "
                       "contains a gold answer; both normalized (lower case, punctuation and "
                       "a/an/the removed, spaces collapsed) and matched on whole words",
    "answer_f1": "answerable: best SQuAD token F1 against the gold answers, markers removed; "
                 "a refusal scores 0",
    "answer_in_passages": "answerable: a gold answer occurs in one of the passages handed to the "
                          "answerer (their text; normalized and matched on whole words as for "
                          "answer_contains), whatever the answer says",
    "short_answer_rate": "answerable: a short answer (`short`, at most 10 words, an exact span of a "
                         "cited quote) was given",
    "short_answer_em": "answerable with a short answer: it equals a gold answer, both normalized as "
                       "for answer_contains",
    "short_answer_f1": "answerable with a short answer: best SQuAD token F1 against the gold answers",
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

OUTCOME_DEFINITIONS: dict[str, str] = {
    "right": "answerable, answer_contains",
    "false_refusal": "answerable, refused",
    "retrieval_miss": "answerable, answered wrong, no passage handed to the answerer is from an "
                      "evidence document",
    "not_chosen": "answerable, answered wrong, a passage from an evidence document was handed to "
                  "the answerer",
    "refused_right": "unanswerable, refused",
    "answered_unanswerable": "unanswerable, answered",
}


def format_value(metric: str, value: float | None) -> str:
    """A metric for a table: milliseconds as whole numbers, shares with three decimals."""
    if value is None:
        return "n/a"
    return f"{value:.0f}" if metric.endswith("_ms") else f"{value:.3f}"


def plot_file(metric: str) -> str:
    """The PNG name of one metric's bar plot (no `@` in file names)."""
    return "plot-" + re.sub(r"[^A-Za-z0-9_]+", "-", metric) + ".png"


def write_report(
    out: Path,
    testset: Testset,
    results: Mapping[str, Mapping[str, Any]],
    rows: Mapping[str, Mapping[str, Row]],
) -> Path:
    """Write OUT/report.md and its plots for `results` ({config name: results.json object}),
    with example questions drawn from `rows` ({config name: {question id: row}})."""
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
    lines += ["", "## Metrics", ""]
    lines += _per_config_table("metric", names, [
        (metric, [format_value(metric, metrics[n][metric]) for n in names]) for metric in METRIC_NAMES
    ])
    lines += ["", "n/a: nothing to count (e.g. no unanswerable question).", ""]
    lines += _outcome_table(results)
    lines += ["", "## Plots", ""]
    lines += [f"![{plot}]({plot})" for plot in plots]
    lines += ["", "## Definitions", ""]
    lines += [f"- `{name}`: {text}." for name, text in DEFINITIONS.items()]
    lines += ["", "## Examples", "",
              f"Up to {EXAMPLES_PER_OUTCOME} questions of each outcome per configuration, in test-set "
              f"order; answers shortened to {ANSWER_CHARS} characters."]
    for name in names:
        lines += ["", f"### {name}"]
        lines += _examples(testset.questions, rows[name])
    report = out / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return report


def _per_config_table(label: str, names: Sequence[str],
                      body: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """A Markdown table with one column per configuration: `body` holds each row's name and
    cells (no pipes in them: names and numbers only)."""
    lines = [f"| {label} | " + " | ".join(names) + " |", "| --- |" + " ---: |" * len(names)]
    return lines + [f"| {row} | " + " | ".join(cells) + " |" for row, cells in body]


def _outcome_table(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The `## Outcomes` section: one row per outcome, one column per configuration."""
    names = list(results)
    counts = {n: results[n]["breakdown"] for n in names}
    lines = [
        "## Outcomes",
        "",
        "How each question ended (results.json `breakdown`); every question is in exactly one row.",
        "",
    ]
    lines += _per_config_table("outcome", names, [
        *((name, [str(counts[n][name]) for n in names]) for name in OUTCOMES),
        ("total", [str(sum(counts[n].values())) for n in names]),
    ])
    lines += [""] + [f"- `{name}`: {text}." for name, text in OUTCOME_DEFINITIONS.items()]
    return lines


def _examples(questions: Sequence[Question], rows: Mapping[str, Row]) -> list[str]:
    """Up to EXAMPLES_PER_OUTCOME questions of each outcome of one configuration, as lists."""
    by_outcome: dict[str, list[Question]] = {name: [] for name in OUTCOMES}
    for q in questions:
        if q.id in rows:
            by_outcome[outcome(q, rows[q.id])].append(q)
    lines: list[str] = []
    for name, found in by_outcome.items():
        if not found:
            continue
        lines += ["", f"**{name}** ({len(found)})", ""]
        lines += [_example(q, rows[q.id]) for q in found[:EXAMPLES_PER_OUTCOME]]
    return lines


def _example(question: Question, row: Row) -> str:
    """One list item: id, question, gold answers, the answer given, and whether a gold
    answer was in the passages (answerable questions only: an unanswerable one has none)."""
    item = f"- `{question.id}` {_one_line(question.question)}"
    if question.answerable:
        gold = " / ".join(f'"{_one_line(a)}"' for a in question.answers)
        found = "yes" if answer_in_passages(row, question.answers) else "no"
        item += f" — gold: {gold}; gold in passages: {found}"
    given = "refused: " if row["refused"] else ""
    return item + f" — {given}\"{_one_line(row['answer'], ANSWER_CHARS)}\""


def _one_line(text: str, limit: int | None = None) -> str:
    """`text` on one line (a newline would end the list item), cut to `limit` characters."""
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


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
