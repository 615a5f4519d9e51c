"""The index layer (load, chunk, embed, store, retrieve), seen from above through this face.

The layers above (`assistant/`, `eval/`, `bench/`, `ui/`) import these names from `index` and
nothing else of it but `index.common` (errors, dates, text, types, knobs); import-linter's
contracts in pyproject.toml hold them to it. Grouped by what they are for:

- reports: `ReportIndex` (the store, both keyword indexes, ingestion and retrieval behind one
  object), `Query`, `check_text`, `IngestProgress`, `StoredChunk`, the loaders' `load_file`,
  `SUPPORTED_SUFFIXES` and `unsupported_reason`, `headline_passage`, `embedded_text`, and
  `DuplicateFinder` with its `DUPLICATE_THRESHOLD` (near-copies of reports: wire stories);
- tuning: `ChunkingPolicy`, `RetrievalTuning`, `RETRIEVAL_MODES`, and the time preferences
  `RECENCY_PRIOR`, `time_factor`, `time_strength` (which eval/fit_time.py fits);
- models: the embedder (`Embedder`, `shared_embedder`, `model_path`, `default_threads`,
  `MODEL_WINDOW`, `PRECISIONS`, `openvino_available`) and the reader (`Reader`, `Reading`,
  `Short`, `shared_reader`, `READER_DIR`, and for its training `META_FILE`, `MODEL_FILE`,
  `TOKENIZER_FILE`, `pair_text`).

Each name is imported from its module on first use (PEP 562): importing any part of the index,
`index.common.errors` included, runs this file, and an eager face would load Chroma, the
tokenizers and numpy's linear algebra for a module that needs none of them.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "index.report_index": ("ReportIndex",),
    "index.query": ("Query", "check_text"),
    "index.progress": ("IngestProgress",),
    "index.records": ("StoredChunk",),
    "index.loaders": ("load_file", "SUPPORTED_SUFFIXES", "unsupported_reason"),
    "index.headlines": ("headline_passage",),
    "index.dedup": ("DuplicateFinder", "DUPLICATE_THRESHOLD"),
    "index.ingest": ("embedded_text",),
    "index.chunking": ("ChunkingPolicy",),
    "index.retrieval": ("RetrievalTuning", "RETRIEVAL_MODES", "RECENCY_PRIOR", "time_factor", "time_strength"),
    "index.embedding": ("Embedder", "shared_embedder", "model_path", "default_threads", "MODEL_WINDOW",
                        "PRECISIONS"),
    "index.embedding_backends": ("openvino_available",),
    "index.reader": ("Reader", "Reading", "Short", "shared_reader", "READER_DIR", "META_FILE", "MODEL_FILE",
                     "TOKENIZER_FILE", "pair_text"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}
__all__ = sorted(_HOME_OF)


def __getattr__(name: str) -> Any:
    """A name of the face, imported from its module the first time it is asked for."""
    if name not in _HOME_OF:
        raise AttributeError(f"module 'index' has no attribute {name!r}")
    value = getattr(import_module(_HOME_OF[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
