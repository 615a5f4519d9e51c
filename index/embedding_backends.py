"""The two ways of running all-MiniLM-L6-v2: OpenVINO (default where installed) and PyTorch.

Both take texts and give unit vectors (mean-pooled, as the model was trained). `Embedder`
(index/embedding.py) does the batching, threads and caching around them.

Why OpenVINO beside sentence-transformers: on this project's CPUs OpenVINO runs the model
faster than PyTorch (sentence-transformers) in the same precision, with the same vectors
(docs/benchmarks.md); and a process that finds the converted model in its cache never imports
torch, sentence-transformers or scikit-learn (seconds of start-up). sentence-transformers' own
OpenVINO backend needs optimum-intel, which pins another torch (with CUDA) and transformers.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import io
import shutil
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from index.common.errors import ConfigError
from index.cpu import RUNTIME_CACHE_SHAPES

BACKENDS = ("auto", "openvino", "torch")
CALIBRATION = Path(__file__).with_name("calibration.txt")
# Batches are padded to a multiple of this many word pieces (and `Embedder` sizes them to a full
# bucket or a power of two texts). OpenVINO compiles and keeps kernels per input shape: with each
# batch padded to its own longest text, memory grows with every new shape through a large
# ingest; with these few shapes it stays flat, and is no slower (docs/benchmarks.md: The number
# of files).
LENGTH_STEP = 32
CALIBRATION_WINDOW = 256  # word pieces: the model's window (MODEL_WINDOW in index/embedding.py)


@dataclass(frozen=True)
class TokenBatch:
    """Texts embedded together, with their word-piece ids ([CLS] and [SEP] included, cut at the
    model window) as `Embedder` counted them: a backend that can take ids does not tokenize the
    texts a second time (on 2 cores each pass over an ingest's text costs seconds)."""

    texts: Sequence[str]
    ids: Sequence[Sequence[int]]


class EmbeddingBackend(Protocol):
    """Runs the model on batches of texts; safe to call from several threads at once."""

    name: str

    def encode(self, batches: Sequence[TokenBatch], threads: int) -> list[np.ndarray]:
        """For each batch, unit vectors, one row per text, each cut to the model window."""

    def prepare(self, threads: int) -> None:
        """Do now what the first `encode` on `threads` threads would do first (compile)."""


def openvino_available() -> bool:
    """True when the `openvino` package can be imported."""
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


def resolve_backend(backend: str) -> str:
    """`openvino` or `torch`: `auto` means OpenVINO where it is installed."""
    if backend not in BACKENDS:
        raise ConfigError(f"embedding backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "auto":
        return "openvino" if openvino_available() else "torch"
    if backend == "openvino" and not openvino_available():
        raise ConfigError("embedding backend 'openvino' needs the openvino package (pip install openvino)")
    return backend


class TorchBackend:
    """sentence-transformers on PyTorch; in bf16 the weights are bf16 under bf16 autocast."""

    name = "torch"

    def __init__(self, model_dir: Path, precision: str, window: int) -> None:
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar on every start
        self._model = SentenceTransformer(str(model_dir), device="cpu")
        self._model.max_seq_length = window
        self.bf16 = precision == "bf16"
        if self.bf16:
            self._model.to(torch.bfloat16)
        self._lock = threading.Lock()

    def prepare(self, threads: int) -> None:
        """Nothing to compile: PyTorch runs the model as loaded."""

    def encode(self, batches: Sequence[TokenBatch], threads: int) -> list[np.ndarray]:
        """See `EmbeddingBackend.encode` (sentence-transformers tokenizes the texts itself)."""
        import torch

        out = []
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            for batch in batches:
                # PyTorch's thread count is global: held per batch, so a question waits for
                # one batch of another caller's passages at most.
                with self._lock:
                    torch.set_num_threads(threads)
                    vectors = self._model.encode(
                        list(batch.texts), batch_size=len(batch.texts), normalize_embeddings=True,
                        convert_to_numpy=True, show_progress_bar=False,
                    )
                out.append(np.asarray(vectors, dtype=np.float32))
        return out


class OpenVINOBackend:
    """The model converted once to OpenVINO IR (cached), compiled per thread count."""

    name = "openvino"

    def __init__(self, model_dir: Path, precision: str, cache: Path) -> None:
        import openvino as ov

        self._core = ov.Core()
        xml = quantized_model(model_dir, cache) if precision == "int8" else converted_model(model_dir, cache)
        self._model = self._core.read_model(str(xml))
        # int8 covers the matrix products; what stays in floating point runs in fp32. In bf16 it
        # is a little faster, but the CPU plugin computes some inputs padded to 32 positions
        # wrong: many more real texts come out well away from the fp32 model's vectors than in
        # fp32 (docs/benchmarks.md: The number of files).
        self._precision = {"fp32": "f32", "bf16": "bf16", "int8": "f32"}[precision]
        self._compiled: dict[int, object] = {}
        self._compile_lock = threading.Lock()
        # Released while the interpreter still runs: left to its teardown, the compiled models'
        # threads were destroyed in arbitrary order, and about one `assistant chat` in three
        # aborted at exit ("terminate called without an active exception").
        atexit.register(self.release)

    def release(self) -> None:
        """Free the compiled models and the OpenVINO core (at exit; the backend is unusable after)."""
        with self._compile_lock:
            self._compiled.clear()
            self._model = None
            self._core = None

    def _compiled_for(self, threads: int):
        """One thread: a single stream for the lowest latency. More: one stream per thread, each
        running its own batch, which on 2 cores embeds faster than both threads on one batch
        (the more so when other work, loading and chunking the next files, takes a core now and
        then: a stream that loses its core does not hold the other up)."""
        with self._compile_lock:
            if threads not in self._compiled:
                streams = {"PERFORMANCE_HINT": "LATENCY"} if threads == 1 else {
                    "PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": str(threads)}
                self._compiled[threads] = self._core.compile_model(self._model, "CPU", {
                    "INFERENCE_PRECISION_HINT": self._precision,
                    "INFERENCE_NUM_THREADS": threads,
                    # Kernels are cached per input shape, and passages come in thousands of
                    # shapes: at the default capacity a large ingest's memory grows by
                    # gigabytes. A few dozen keep it flat, as fast (docs/benchmarks.md: The
                    # number of files).
                    "CPU_RUNTIME_CACHE_CAPACITY": RUNTIME_CACHE_SHAPES,
                    **streams,
                })
            return self._compiled[threads]

    def prepare(self, threads: int) -> None:
        """Compile the model for `threads` threads (a second or so), if not yet."""
        self._compiled_for(threads)

    @staticmethod
    def inputs(batch: TokenBatch) -> dict[str, np.ndarray]:
        """The model's inputs for a batch: its ids padded with [PAD] (0) to the batch's length
        bucket, a multiple of `LENGTH_STEP` (`Embedder` batches by bucket: few shapes to compile)."""
        width = -(-max(len(ids) for ids in batch.ids) // LENGTH_STEP) * LENGTH_STEP
        input_ids = np.zeros((len(batch.ids), width), dtype=np.int64)
        mask = np.zeros((len(batch.ids), width), dtype=np.int64)
        for row, ids in enumerate(batch.ids):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        return {"input_ids": input_ids, "attention_mask": mask}

    def encode(self, batches: Sequence[TokenBatch], threads: int) -> list[np.ndarray]:
        """See `EmbeddingBackend.encode`. The batches run `threads` at a time, and the next
        batch's inputs are built while the current ones run."""
        import openvino as ov

        compiled = self._compiled_for(threads)
        out: list[np.ndarray] = [np.empty(0)] * len(batches)
        # Requests belong to this call: compiled models are shared by threads, requests are not.
        queue = ov.AsyncInferQueue(compiled, threads)
        queue.set_callback(lambda request, i: out.__setitem__(
            i, np.array(request.get_output_tensor(0).data, dtype=np.float32)))
        for i, batch in enumerate(batches):
            queue.start_async(self.inputs(batch), i)
        queue.wait_all()
        return out


def make_backend(
    backend: str, model_dir: Path, precision: str, window: int, cache: Path
) -> EmbeddingBackend:
    """The backend that `backend` (see `resolve_backend`) names; `cache` keeps converted models."""
    if resolve_backend(backend) == "openvino":
        return OpenVINOBackend(model_dir, precision, cache)
    return TorchBackend(model_dir, precision, window)


# --- conversion -----------------------------------------------------------------------------

def _model_key(model_dir: Path) -> str:
    """Changes with the model files and the OpenVINO and transformers versions."""
    import openvino

    digest = hashlib.sha256(openvino.__version__.encode())
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        stat = (model_dir / name).stat()
        digest.update(f"{name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return digest.hexdigest()[:16]


def converted_model(model_dir: Path, cache: Path) -> Path:
    """The OpenVINO IR of the model with mean pooling and normalization built in.

    Converted from the PyTorch model on first use (seconds, with the imports), then read from
    the cache.
    """
    return _cached(cache / f"minilm-openvino-{_model_key(model_dir)}",
                   lambda xml: _convert(model_dir, xml))


def quantized_model(model_dir: Path, cache: Path) -> Path:
    """The IR quantized to int8 (weights and activations of the matrix products), cached.

    NNCF's post-training quantization, calibrated on `calibration.txt` (general news and
    encyclopedic text shipped with the project, not any evaluation or benchmark text); seconds,
    on first use only. Retrieval is unchanged on the development sets and the vectors stay
    within a cosine of 0.99 of the published model's (docs/benchmarks.md).
    """
    from importlib.metadata import version

    source = converted_model(model_dir, cache)
    # The version from the package's metadata: importing NNCF costs seconds, needed only to build.
    digest = hashlib.sha256(f"{source.parent.name}:{version('nncf')}".encode())
    digest.update(CALIBRATION.read_bytes())
    return _cached(cache / f"minilm-openvino-int8-{digest.hexdigest()[:16]}",
                   lambda xml: _quantize(model_dir, source, xml))


def _cached(target: Path, build: Callable[[Path], None]) -> Path:
    """`target/model.xml`, built by `build(xml)` if missing.

    Built in a temporary folder and renamed, so processes starting together never read half a
    model.
    """
    xml = target / "model.xml"
    if xml.exists():
        return xml
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(
            f"cannot write the model cache {target.parent} ({error.strerror}); "
            "set ASSISTANT_CACHE_DIR to a writable folder or ASSISTANT_EMBED_BACKEND=torch"
        ) from None
    scratch = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        build(scratch / "model.xml")
        try:
            scratch.rename(target)
        except OSError:  # another process finished first; its copy is the same
            if not xml.exists():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return xml


def calibration_texts() -> list[str]:
    """Calibration inputs of every length the model sees: each sentence (questions, answer
    candidates), each paragraph, and runs of 2 and 3 paragraphs (chunk-sized; the model cuts
    them at its window)."""
    from index.common.text import sentence_spans

    paragraphs = [p.strip() for p in CALIBRATION.read_text("utf-8").split("\n\n") if p.strip()]
    sentences = [p[s:e] for p in paragraphs for s, e in sentence_spans(p)]
    runs = [" ".join(paragraphs[i : i + n]) for n in (2, 3) for i in range(0, len(paragraphs) - n + 1)]
    return sentences + paragraphs + runs


def _quantize(model_dir: Path, source: Path, xml: Path) -> None:
    import logging

    import nncf
    import openvino as ov
    from tokenizers import Tokenizer

    logging.getLogger("nncf").setLevel(logging.ERROR)
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(CALIBRATION_WINDOW)
    samples = []
    for text in calibration_texts():
        encoding = tokenizer.encode(text)
        samples.append({"input_ids": np.array([encoding.ids], dtype=np.int64),
                        "attention_mask": np.array([encoding.attention_mask], dtype=np.int64)})
    # NNCF draws progress bars on standard output, which `--json` commands keep for their JSON.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        model = nncf.quantize(
            ov.Core().read_model(str(source)), nncf.Dataset(samples),
            model_type=nncf.ModelType.TRANSFORMER, subset_size=len(samples),
        )
    ov.save_model(model, str(xml), compress_to_fp16=False)


def _convert(model_dir: Path, xml: Path) -> None:
    import openvino as ov
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(model_dir)).eval()

    class Pooled(torch.nn.Module):
        """BERT, then the mean of the unmasked token vectors, unit length (as sentence-transformers)."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    # Tracing needs an example with padding, so that the mask's path is the one recorded.
    example = {"input_ids": torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]]),
               "attention_mask": torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])}
    dynamic = ov.PartialShape([-1, -1])
    with torch.no_grad(), warnings.catch_warnings():
        # Tracing warns of Python branches frozen as constants; none depends on the input here.
        warnings.simplefilter("ignore")
        model = ov.convert_model(Pooled(), example_input=example,
                                 input=[("input_ids", dynamic, ov.Type.i64),
                                        ("attention_mask", dynamic, ov.Type.i64)])
    ov.save_model(model, str(xml), compress_to_fp16=False)
