"""Chunks fit the model's window (counted with its own tokenizer) and keep exact offsets."""

from __future__ import annotations

import pytest

from index.chunking import ChunkingPolicy, chunk_text
from index.embedding import MODEL_WINDOW, SPECIAL_TOKENS, shared_embedder
from index.sentences import sentence_spans
from tests.conftest import SAMPLE_REPORT


@pytest.fixture(scope="module")
def embedder():
    return shared_embedder()


def _chunks(embedder, text: str, policy: ChunkingPolicy):
    return chunk_text(text, embedder.count_tokens, embedder.split_by_tokens, policy)


def test_offsets_are_exact_and_chunks_fit(embedder) -> None:
    text = SAMPLE_REPORT.read_text()
    policy = ChunkingPolicy(max_tokens=120, overlap_tokens=30)
    chunks = _chunks(embedder, text, policy)
    assert len(chunks) > 2
    for chunk in chunks:
        assert text[chunk.start:chunk.end] == chunk.text
        assert embedder.count_tokens([chunk.text])[0] <= policy.max_tokens
        assert embedder.count_tokens([chunk.text])[0] + SPECIAL_TOKENS <= MODEL_WINDOW


def test_every_sentence_is_inside_some_chunk_whole(embedder) -> None:
    text = SAMPLE_REPORT.read_text()
    chunks = _chunks(embedder, text, ChunkingPolicy(max_tokens=100, overlap_tokens=20))
    for s, e in sentence_spans(text):
        assert any(c.start <= s and e <= c.end for c in chunks), text[s:e]


def test_consecutive_chunks_overlap_and_advance(embedder) -> None:
    text = SAMPLE_REPORT.read_text()
    chunks = _chunks(embedder, text, ChunkingPolicy(max_tokens=160, overlap_tokens=80))
    for before, after in zip(chunks, chunks[1:]):
        assert after.start > before.start
        assert after.start < before.end  # shares at least one sentence


def test_a_sentence_longer_than_the_window_is_cut_by_word_pieces(embedder) -> None:
    text = "Intro sentence. " + " ".join(f"word{i}" for i in range(400)) + ". Outro sentence."
    policy = ChunkingPolicy(max_tokens=64, overlap_tokens=0)
    chunks = _chunks(embedder, text, policy)
    assert all(embedder.count_tokens([c.text])[0] <= policy.max_tokens for c in chunks)
    assert all(text[c.start:c.end] == c.text for c in chunks)
    covered = "".join(c.text for c in chunks).replace(" ", "")
    assert "word399" in covered and "Outro" in covered


def test_sentences_split_after_closing_quotes() -> None:
    text = "He said attacks are “typical.” He added more. Line without stop\nNext line."
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "He said attacks are “typical.”", "He added more.", "Line without stop", "Next line.",
    ]
