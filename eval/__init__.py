"""The evaluation harness: `assistant eval` (SPEC.md: Evaluation).

- `eval.testset`: loading and validating a JSONL test set;
- `eval.metrics`: the metrics, pure functions of questions and result rows;
- `eval.runner`: indexing, asking with resume, `run_from_cli`;
- `eval.report`: report.md and its plots.
"""
