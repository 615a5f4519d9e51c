"""Chunks fit the model's window (counted with its own tokenizer) and keep exact offsets."""

from __future__ import annotations

import pytest

from index.chunking import ChunkingPolicy, chunk_text
from index.common.text import sentence_spans
from index.embedding import MODEL_WINDOW, SPECIAL_TOKENS, shared_embedder
from tests.conftest import MODEL_CACHE, SAMPLE_REPORT


@pytest.fixture(scope="module")
def embedder():
    return shared_embedder(cache=MODEL_CACHE)


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


JACK = "All work and no play makes Jack a dull boy. "


def test_a_very_long_line_is_split_into_its_sentences() -> None:
    # 17.6 MB on one line: Punkt over the whole line ran into NLTK's 5 s regex limit.
    text = "Report\n" + JACK * 400_000
    spans = sentence_spans(text)
    assert len(spans) == 400_001
    assert spans[0] == (0, 6)
    assert {text[s:e] for s, e in spans[1:]} == {JACK.strip()}
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))  # in order, never overlapping


def test_a_long_line_without_sentence_ends_keeps_every_character(embedder) -> None:
    text = ("word " * 5_000) + "x" * 25_000  # no full stop anywhere, then no space either
    spans = sentence_spans(text)
    assert "".join(text[s:e] for s, e in spans).replace(" ", "") == text.replace(" ", "")
    chunks = _chunks(embedder, text, ChunkingPolicy())
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    assert all(text[c.start:c.end] == c.text for c in chunks)


def test_ingest_indexes_a_long_single_line_file_beside_a_good_one(assistant, tmp_path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "jack.txt").write_text(JACK * 2_000)
    (folder / "harbor.txt").write_text("Harbor report. The harbor master of Port Vale is Ada Okafor.\n")
    report = assistant.ingest([folder], progress=False)
    assert report.failed == [] and len(report.added) == 2
    jack = next(d for d in assistant.documents() if d.source.endswith("jack.txt"))
    assert jack.chunks > 1
    passages = assistant.retrieve("dull boy", k=3, doc_ids=[jack.doc_id])
    text = assistant.document_text(jack.doc_id)
    assert passages and all(text[p.start:p.end] == p.text for p in passages)
