"""One ingestion pipeline in its own process: `python -m bench.ingest_run PHASE PIPELINE CORPUS WORK`.

PIPELINE is `project` (this project's Ingestor) or `llamaindex` (llama-index's default:
SimpleDirectoryReader, SentenceSplitter of 1024 tokens, HuggingFaceEmbedding, ChromaVectorStore).
PHASE `ingest` does the ingestion and nothing else (the process is timed whole) and prints its
phase timings and peak RSS; PHASE `measure`, run afterwards and not timed, reads what was stored
and prints chunk and token counts and text coverage (the share of each report's characters
that lies inside an embedded model window). Each prints one JSON line.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

STARTED = time.perf_counter()


def _covered(spans: list[tuple[int, int]], length: int) -> int:
    """Characters of [0, length) inside the union of `spans`."""
    total, reach = 0, 0
    for s, e in sorted(spans):
        s, e = max(s, reach), min(e, length)
        if e > s:
            total += e - s
            reach = e
    return total


def _visible_chars(tokenizer, embed_text: str, text_offset: int, text_len: int, window: int) -> int:
    """How many characters of the chunk text (at `text_offset` in `embed_text`) the model sees."""
    offsets = tokenizer(embed_text, add_special_tokens=False, return_offsets_mapping=True,
                        truncation=False)["offset_mapping"]
    seen = offsets[: window - 2]
    if not seen:
        return 0
    return max(0, min(text_len, seen[-1][1] - text_offset))


def _coverage(per_doc: dict[str, tuple[int, list[tuple[int, int]]]]) -> dict[str, float]:
    shares = [_covered(spans, n) / n for n, spans in per_doc.values() if n]
    return {
        "mean": round(sum(shares) / len(shares), 4) if shares else 0.0,
        "min": round(min(shares), 4) if shares else 0.0,
        "full_docs": round(sum(s > 0.995 for s in shares) / len(shares), 4) if shares else 0.0,
    }


def _project(work: Path):
    from assistant.config import Settings
    from assistant.core import Assistant

    return Assistant.open(Settings.load({"home": work / "home"}, environ={}))


def ingest_project(corpus: Path, work: Path) -> dict:
    t = time.perf_counter()
    assistant = _project(work)
    opened = time.perf_counter() - t
    t = time.perf_counter()
    report = assistant.ingest([corpus], progress=False)
    ingest_s = time.perf_counter() - t
    assert not report.failed, report.failed
    return {"open_s": opened, "ingest_s": ingest_s, "documents": report.documents,
            "chunks": report.chunks, "precision": assistant.index.embedder.precision,
            "backend": assistant.index.embedder.backend}


def measure_project(corpus: Path, work: Path) -> dict:
    from transformers import AutoTokenizer

    from index import MODEL_WINDOW, embedded_text, model_path

    assistant = _project(work)
    tok = AutoTokenizer.from_pretrained(str(model_path()))
    per_doc: dict[str, tuple[int, list[tuple[int, int]]]] = {}
    tokens = 0
    texts = {d.doc_id: assistant.document_text(d.doc_id) for d in assistant.documents()}
    for chunk in assistant.index.chunks():
        text = texts[chunk.doc_id]
        embed = embedded_text(chunk.title, chunk.text)
        offset = len(embed) - len(chunk.text)
        tokens += min(len(tok(embed, add_special_tokens=False)["input_ids"]), MODEL_WINDOW - 2) + 2
        seen = _visible_chars(tok, embed, offset, len(chunk.text), MODEL_WINDOW)
        per_doc.setdefault(chunk.doc_id, (len(text), []))[1].append((chunk.start, chunk.start + seen))
    return {
        "embedded_tokens": tokens,
        "doc_tokens": sum(len(x) for x in tok(list(texts.values()), add_special_tokens=False)["input_ids"]),
        "coverage": _coverage(per_doc),
    }


def _llamaindex_collection(work: Path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(path=str(work / "chroma"),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    return client.get_or_create_collection("bench")


def _llamaindex_embedding():
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from index import model_path

    return HuggingFaceEmbedding(model_name=str(model_path()), device="cpu")


def ingest_llamaindex(corpus: Path, work: Path) -> dict:
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    t = time.perf_counter()
    embed_model = _llamaindex_embedding()
    collection = _llamaindex_collection(work)
    opened = time.perf_counter() - t
    t = time.perf_counter()
    docs = SimpleDirectoryReader(str(corpus)).load_data()
    VectorStoreIndex.from_documents(
        docs,
        storage_context=StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection)),
        embed_model=embed_model,
    )
    ingest_s = time.perf_counter() - t
    return {"open_s": opened, "ingest_s": ingest_s, "documents": len(docs),
            "chunks": collection.count()}


def measure_llamaindex(corpus: Path, work: Path) -> dict:
    # The same reader and default splitter again (deterministic), outside the timed process.
    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.schema import MetadataMode

    embed_model = _llamaindex_embedding()
    docs = SimpleDirectoryReader(str(corpus)).load_data()
    tok = embed_model._model.tokenizer
    window = int(embed_model._model.max_seq_length)
    nodes = SentenceSplitter()(docs)
    per_doc: dict[str, tuple[int, list[tuple[int, int]]]] = {
        d.doc_id: (len(d.text), []) for d in docs
    }
    tokens = 0
    for node in nodes:
        embed = node.get_content(metadata_mode=MetadataMode.EMBED)
        offset = max(embed.find(node.text), 0)
        tokens += min(len(tok(embed, add_special_tokens=False)["input_ids"]), window - 2) + 2
        seen = _visible_chars(tok, embed, offset, len(node.text), window)
        start = node.start_char_idx or 0
        per_doc[node.ref_doc_id][1].append((start, start + seen))
    return {
        "embedded_tokens": tokens, "stored_chunks": _llamaindex_collection(work).count(),
        "doc_tokens": sum(len(x) for x in tok([d.text for d in docs], add_special_tokens=False)["input_ids"]),
        "coverage": _coverage(per_doc), "window": window,
    }


PHASES = {
    ("ingest", "project"): ingest_project, ("ingest", "llamaindex"): ingest_llamaindex,
    ("measure", "project"): measure_project, ("measure", "llamaindex"): measure_llamaindex,
}


def main() -> None:
    phase, pipeline, corpus, work = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    result = PHASES[phase, pipeline](corpus, work)
    if phase == "ingest":
        result["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        result["in_process_s"] = time.perf_counter() - STARTED
    print(json.dumps(result), flush=True)
    sys.stdout.flush()
    os._exit(0)  # skip slow interpreter teardown; both pipelines have persisted their writes


if __name__ == "__main__":
    main()
