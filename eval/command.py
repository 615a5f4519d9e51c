"""`assistant eval`: the command. With `--docs`, a run of its own (eval/runner.py: index the
folder once, ask every question under each configuration, score); with `--index`, a run of the
app's kind (eval/runs.py) against the configured collection."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Mapping

from assistant.config import Settings
from assistant.core import Assistant
from assistant.plugins import Command
from eval.metrics import METRIC_NAMES
from eval.report import format_value
from eval.runner import COMPARE_HELP, DEFAULT, RunConfig, checked_config, parse_compare, run
from eval.runs import EvalRuns
from index.common.errors import AssistantError

EXIT_OK, EXIT_FATAL = 0, 1


def run_from_cli(settings: Settings, args: argparse.Namespace) -> int:
    """The `assistant eval` command; returns the exit code (1 with a message on bad input)."""
    if args.index:
        return _run_on_index(settings, args)
    if not args.out:
        print("error: --out is required with --docs", file=sys.stderr)
        return EXIT_FATAL
    try:
        # `eval --llm` reaches `settings.llm` through the CLI's flag handling.
        base = checked_config(RunConfig.of(settings, args.k), "--k")
        configs = [base, *parse_compare(args.compare or [], base)]
        summary = run(settings, Path(args.testset), Path(args.docs), Path(args.out), configs)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    _print_summary(summary, Path(args.out))
    return EXIT_OK


def _run_on_index(settings: Settings, args: argparse.Namespace) -> int:
    """`assistant eval TESTSET --index`: a run of the app's kind (eval/runs.py) against the
    configured collection, kept under ASSISTANT_HOME/evals/<id>/ (and copied to `--out`)."""
    if args.compare:
        print("error: --compare needs --docs (a configuration may index the reports again)",
              file=sys.stderr)
        return EXIT_FATAL
    path = Path(args.testset)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"error: {path}: cannot read the test set ({exc.strerror or exc})", file=sys.stderr)
        return EXIT_FATAL
    try:
        runs = EvalRuns(Assistant.open(settings))
        status = runs.start(data, path.name, k=args.k, wait=True, progress=None)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FATAL
    for warning in status["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    if status["status"] != "done":
        print(f"error: evaluation {status['id']} failed: {status['error']}", file=sys.stderr)
        return EXIT_FATAL
    folder = runs.file(status["id"], "results.json").parent
    if args.out:
        shutil.copytree(folder, args.out, dirs_exist_ok=True)
        folder = Path(args.out)
    _print_summary({DEFAULT: status["results"]["metrics"]}, folder)
    return EXIT_OK


def _print_summary(comparison: Mapping[str, Mapping[str, float | None]], out: Path) -> None:
    """The metric table on stdout, one column per configuration."""
    names = list(comparison)
    width = max(len(m) for m in METRIC_NAMES)
    print(f"{'metric':<{width}}  " + "  ".join(f"{n:>10}" for n in names))
    for metric in METRIC_NAMES:
        print(f"{metric:<{width}}  "
              + "  ".join(f"{format_value(metric, comparison[n][metric]):>10}" for n in names))
    print(f"\nwrote {out / 'results.json'}, {out / 'questions.jsonl'}, {out / 'report.md'}")


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("testset")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--docs", help="folder of the reports the test set refers to, indexed "
                                      "into a fresh collection under OUT")
    where.add_argument("--index", action="store_true",
                       help="run against the configured collection as it is (as the app's "
                            "Evaluate tab does); kept under ASSISTANT_HOME/evals/<id>/")
    parser.add_argument("--out", help="folder for the results (required with --docs; with "
                                      "--index, a copy)")
    parser.add_argument("--k", type=int, help="passages handed to the answerer (default 5)")
    # SUPPRESS: `assistant --llm X eval ...` and `assistant eval ... --llm X` both work.
    parser.add_argument("--llm", default=argparse.SUPPRESS, help="answerer to evaluate (ASSISTANT_LLM)")
    parser.add_argument("--compare", nargs="*", metavar="NAME=KEY:VALUE", help=COMPARE_HELP)


COMMAND = Command(
    help="run a test set and write results.json, questions.jsonl, report.md",
    add_arguments=_add_arguments, run=run_from_cli,
)
