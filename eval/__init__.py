"""The evaluation harness: `assistant eval` (docs/interface.md: Evaluation).

- `eval.testset`: loading and validating a JSONL test set;
- `eval.metrics`: the metrics, pure functions of questions and result rows;
- `eval.command`: the `assistant eval` command (`run_from_cli`);
- `eval.runner`: configurations, indexing, asking with resume;
- `eval.runs`: the app's evaluations (`--index`, `/v1/evals`, the Evaluate tab);
- `eval.report`: report.md and its plots.
"""
