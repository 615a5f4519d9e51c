"""News-aware retrieval: metadata filters, as_of recency, relative dates, diversity, near-duplicates.

A small corpus of dated reports is indexed once per module with the real model and store.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from assistant.config import Settings
from index.dedup import DuplicateFinder, jaccard, shingles
from index.query import Query
from index.records import ChunkFilter, StoredChunk
from index.retrieval import RECENCY_PRIOR, RetrievalTuning, recency_factor, select, time_factor, time_strength
from index.store import chroma_where

FIRE = ("A fire tore through a warehouse on Mill Lane in Dunmore, injuring {n} people. About 40 "
        "firefighters fought the blaze for three hours. Fire chief Nadia Okafor said faulty wiring "
        "was the probable cause.")
REPORTS = {
    # the same wire story in two outlets, a day apart
    "wire-ledger.txt": "Apex Energy names Priya Patel chief executive\n\nHALFORD, March 4, 2024 (Daily Ledger) - "
                       "Apex Energy has appointed Priya Patel as its chief executive, the Halford-based company "
                       "said. Patel replaces Omar Haddad, who led the company for twelve years. The company "
                       "employs about 9,000 people worldwide. Shares rose slightly after the announcement.",
    "wire-courier.txt": "UPDATE 1-Apex Energy names Priya Patel chief executive\n\nHALFORD, March 5, 2024 (Morning "
                        "Courier) - Apex Energy has appointed Priya Patel as its chief executive, the Halford-based "
                        "company said. Patel replaces Omar Haddad, who led the company for twelve years. The "
                        "company employs about 9,000 people worldwide. Shares rose slightly after the announcement. "
                        "Reporting by Lars Novak.",
    # one story twice a year apart: as_of and relative dates decide which
    "fire-2023.txt": "Warehouse fire in Dunmore\n\nDUNMORE, May 10, 2023 (Daily Ledger) - " + FIRE.format(n=12),
    "fire-2024.txt": "Warehouse fire in Dunmore\n\nDUNMORE, May 13, 2024 (Daily Ledger) - " + FIRE.format(n=31),
    "undated-note.txt": "Notes on warehouse safety\n\nWarehouse fires in Dunmore are often caused by faulty "
                        "wiring, inspectors say. Sprinklers save lives.",
    "flood.txt": "Floods in Redwater\n\nREDWATER, May 12, 2024 (Coastal Gazette) - Flash floods in Redwater "
                 "killed four people and forced 2,300 residents from their homes.",
}


def _assistant_over(tmp_path_factory: pytest.TempPathFactory, name: str, reports: dict[str, str]):
    """An assistant over its own store holding `reports` (file name -> text)."""
    from assistant.core import Assistant

    root = tmp_path_factory.mktemp(name)
    docs = root / "docs"
    docs.mkdir()
    for file_name, text in reports.items():
        (docs / file_name).write_text(text, encoding="utf-8")
    assistant = Assistant.open(Settings.load({"home": root / "home"}, environ={}))
    assistant.ingest([docs], progress=False, source_of=lambda p: p.name)
    return assistant


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory):
    return _assistant_over(tmp_path_factory, "news", REPORTS)


def sources(passages) -> list[str]:
    return [p.source for p in passages]


def test_filter_by_sources(news) -> None:
    found = news.retrieve("warehouse fire", k=5, sources=["fire-2023.txt", "flood.txt"])
    assert found and set(sources(found)) <= {"fire-2023.txt", "flood.txt"}


def test_filter_by_doc_ids(news) -> None:
    wanted = next(d.doc_id for d in news.documents() if d.source == "flood.txt")
    found = news.retrieve("warehouse fire", k=5, doc_ids=[wanted])
    assert found and {p.doc_id for p in found} == {wanted}


def test_filter_by_date_range_drops_undated_only_with_date_from(news) -> None:
    found = news.retrieve("warehouse fire Dunmore", k=5, date_from="2024-01-01", date_to="2024-05-12")
    assert found and all(p.date and "2024-01-01" <= p.date <= "2024-05-12" for p in found)
    upto = sources(news.retrieve("warehouse fire Dunmore", k=5, date_to="2023-12-31"))
    assert "fire-2023.txt" in upto and "undated-note.txt" in upto and "fire-2024.txt" not in upto


def test_as_of_excludes_later_reports_and_prefers_recent_ones(news) -> None:
    before = sources(news.retrieve("How many people were injured in the Dunmore warehouse fire?",
                                   k=3, as_of="2023-06-01"))
    assert "fire-2024.txt" not in before and "fire-2023.txt" in before
    recent = sources(news.retrieve("How many people were injured in the Dunmore warehouse fire?",
                                   k=3, as_of="2024-05-14"))
    assert recent[0] == "fire-2024.txt"


def test_relative_date_prefers_reports_of_that_time(news) -> None:
    question = "How many people were injured in the Dunmore warehouse fire in May 2023?"
    assert sources(news.retrieve(question, k=3, as_of="2024-05-20"))[0] == "fire-2023.txt"
    question = "How many people were injured in the Dunmore warehouse fire last year?"
    assert sources(news.retrieve(question, k=3, as_of="2024-05-20"))[0] == "fire-2023.txt"


def test_wire_copies_are_cited_once(news) -> None:
    found = sources(news.retrieve("Who did Apex Energy appoint as chief executive?", k=5))
    assert len({"wire-ledger.txt", "wire-courier.txt"} & set(found)) == 1
    answer = news.ask("Who did Apex Energy appoint as chief executive?")
    assert not answer.refused and "Priya Patel" in answer.answer
    assert len({c.source for c in answer.citations}) == 1


# A report whose question words stand paragraphs apart, among reports holding some of them.
def _filler(topic: str, detail: str) -> str:
    return " ".join(f"Note {i} on {topic}: {detail} changed {i} times." for i in range(40))


SPREAD = {
    "spread.txt": "Harbour report\n\nThe Kestrel lighthouse keeper retired this spring. "
                  + _filler("the weather", "rainfall over the bay")
                  + "\n\nHer successor was named Ilse Marquardt by the port authority.",
    "keeper.txt": "Lighthouses\n\nA lighthouse keeper tends the lamp. "
                  + _filler("lamp oil", "the price of paraffin"),
    "port.txt": "Ports\n\nThe port authority named a new harbour master. "
                + _filler("shipping", "container traffic at the quay"),
}


@pytest.fixture(scope="module")
def spread(tmp_path_factory: pytest.TempPathFactory):
    return _assistant_over(tmp_path_factory, "spread", SPREAD)


def test_a_report_ranks_by_all_its_words_and_shows_its_best_chunk(spread) -> None:
    question = "Who succeeded the Kestrel lighthouse keeper, named by the port authority?"
    found = spread.retrieve(question, k=3)
    assert found[0].source == "spread.txt" and len({p.doc_id for p in found}) == 3
    assert "Ilse Marquardt" in found[0].text  # the chunk with most of the words, not the first
    text = spread.document_text(found[0].doc_id)
    assert all(spread.document_text(p.doc_id)[p.start:p.end] == p.text for p in found)
    assert found[0].start > len(text) // 2


def test_best_chunks_scores_only_the_reports_asked_for(spread) -> None:
    ids = {d.source: d.doc_id for d in spread.documents()}
    best = spread.index._keyword.best_chunks("Ilse Marquardt port authority", [ids["spread.txt"], ids["keeper.txt"]])
    assert set(best) == {ids["spread.txt"]}  # keeper.txt holds none of the words
    chunk_id, score = best[ids["spread.txt"]]
    assert score > 0 and chunk_id == spread.index._keyword.search("Ilse Marquardt port authority", 1)[0][0]


def test_passages_widen_to_neighbouring_chunks(spread) -> None:
    from dataclasses import replace as copy

    from index.retrieval import RetrievalTuning, make_retriever

    question = spread.query("Ilse Marquardt")
    narrow = spread.index.retrieve(question, 1)[0]
    tuning = copy(RetrievalTuning(), passage_chunks=3)
    wide = make_retriever("hybrid", spread.index._store, spread.index._keyword, spread.index._document_keyword,
                          spread.index.embedder, tuning).retrieve(question, 1)[0]
    assert wide.chunk_id == narrow.chunk_id and wide.start < narrow.start and wide.end >= narrow.end
    assert spread.document_text(wide.doc_id)[wide.start:wide.end] == wide.text


def test_a_filtered_search_matches_chromas_own_filter(news) -> None:
    vector = news.index.embedder.embed_query("warehouse fire in Dunmore")
    for chunk_filter in (ChunkFilter(date_to="2023-12-31"), ChunkFilter(date_from="2024-01-01"),
                         ChunkFilter(sources=("flood.txt",))):
        ours = [c.chunk_id for c, _ in news.index._store.search(vector, 2, chunk_filter)]
        chromas = [c.chunk_id for c, _ in news.index._store._query(vector, 2, chroma_where(chunk_filter))]
        assert ours == chromas and ours


def test_time_preferences_grow_with_the_share_of_dated_candidates() -> None:
    dated = [(_chunk(doc, 0, "2024-01-01"), 1.0) for doc in "abcd"]
    undated = [(_chunk(doc, 0), 1.0) for doc in "wxyz"]
    assert time_strength(dated[:2] + undated, 0.5) == 0.0  # a third dated
    assert time_strength(dated + undated, 0.5) == 0.0  # half
    assert time_strength(dated[:3] + undated[:1], 0.5) == pytest.approx(0.5)  # three quarters
    assert time_strength(dated + [(_chunk("a", 1, "2024-01-01"), 0.9)], 0.5) == 1.0  # reports, not chunks
    assert time_strength([], 0.5) == 0.0 and time_strength(dated, 1.0) == 0.0


def test_an_undated_report_keeps_its_score_when_dated_ones_lose_theirs(news) -> None:
    question = "What causes warehouse fires in Dunmore, according to inspectors?"
    plain, later = ({p.source: p.score for p in reversed(news.retrieve(question, k=6, as_of=as_of))}
                    for as_of in (None, "2025-05-14"))  # reversed: each report's best passage
    assert later["undated-note.txt"] == pytest.approx(plain["undated-note.txt"])
    dated = (set(plain) & set(later)) - {"undated-note.txt"}
    assert "fire-2023.txt" in dated and all(later[source] < plain[source] for source in dated)
    assert sorted(later, key=later.get).index("undated-note.txt") >= sorted(plain, key=plain.get).index(
        "undated-note.txt")


# --- selection without a store: diversity and duplicates ----------------------------------


class _FakeStore:
    """The one store method selection reads: report texts by id."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts

    def document_texts(self, doc_ids):
        return {i: self.texts[i] for i in doc_ids if i in self.texts}


def _chunk(doc: str, i: int, day: str | None = None) -> StoredChunk:
    return StoredChunk(f"{doc}-{i}", doc, doc, f"{doc}.txt", day, i * 10, i * 10 + 5, "text")


def test_passages_are_not_all_slices_of_one_article() -> None:
    texts = {"a": "alpha story " * 20, "b": "bravo report about something else entirely " * 5}
    candidates = [(_chunk("a", i), 1.0 - i * 0.01) for i in range(5)] + [(_chunk("b", 0), 0.6)]
    chosen = select(candidates, 3, _FakeStore(texts))
    assert [c.doc_id for c, _ in chosen] == ["a", "b", "a"]
    # with nothing else to offer, more slices of the one article are still handed over
    assert len(select(candidates[:5], 4, _FakeStore(texts))) == 4


def test_near_duplicates_keep_the_best_ranked_copy() -> None:
    story = "Apex Energy has appointed Priya Patel as its chief executive, the company said on Monday. "
    texts = {"orig": "LEDGER - " + story * 2, "copy": "COURIER - " + story * 2 + "Reporting by X.",
             "other": "Floods in Redwater killed four people and forced thousands from their homes."}
    candidates = [(_chunk("copy", 0), 0.9), (_chunk("orig", 0), 0.8), (_chunk("other", 0), 0.5)]
    chosen = [c.doc_id for c, _ in select(candidates, 3, _FakeStore(texts))]
    assert chosen == ["copy", "other"]
    off = RetrievalTuning(duplicate_threshold=2.0)
    assert len(select(candidates, 3, _FakeStore(texts), off)) == 3


def test_shingles_separate_copies_from_stories_of_the_same_mould() -> None:
    one = FIRE.format(n=12) + " The blaze started in Dunmore's Mill Lane depot on Monday."
    copy = FIRE.format(n=12) + " The blaze started in Dunmore's Mill Lane depot on Monday, police said."
    other = FIRE.replace("Mill Lane", "Harbour Road").replace("Dunmore", "Carrow").replace(
        "Nadia Okafor", "Lars Novak").format(n=31)
    assert jaccard(shingles(one), shingles(copy)) > 0.7
    assert jaccard(shingles(one), shingles(other)) < 0.5
    finder = DuplicateFinder({"one": one, "copy": copy, "other": other})
    assert finder.is_duplicate("copy", ["one"]) == "one"
    assert finder.is_duplicate("other", ["one"]) is None


def test_the_recency_prior_falls_with_age_and_is_flat_beyond_its_last_knot() -> None:
    ages = [0, 1, 3, 5, 7, 10, 14, 30, 60, 90, 200, 365, 1000, 10_000]
    factors = [recency_factor(age, RECENCY_PRIOR) for age in ages]
    assert factors[0] == 1.0 and all(a >= b for a, b in zip(factors, factors[1:]))
    assert factors[-1] == factors[-3] == RECENCY_PRIOR[-1][1] < 1.0
    assert recency_factor(-3, RECENCY_PRIOR) == 1.0  # dated after as_of (a clock skew): not above 1
    assert recency_factor(10, ((0, 1.0), (100, 0.5))) == pytest.approx(1 - 0.5 * (2.3979 / 4.6151), abs=1e-3)


def test_time_preference_lowers_old_and_out_of_frame_reports_never_undated_ones() -> None:
    tuning = RetrievalTuning()
    plain = Query.plain("q")
    prefer = replace(plain, as_of=date(2024, 5, 15))
    factor = lambda q, day, strength=1.0: time_factor(q, day, tuning, strength)  # noqa: E731
    assert factor(prefer, None) == 1.0  # undated: never below a dated report of the right time
    assert factor(prefer, "2024-05-15") == 1.0
    assert 1.0 > factor(prefer, "2024-04-15") > factor(prefer, "2020-01-01") > 0
    assert factor(prefer, "2020-01-01") < factor(prefer, "2020-01-01", 0.5) < factor(prefer, "2020-01-01", 0.0) == 1
    assert factor(prefer, "2020-01-01", 0.5) == pytest.approx(factor(prefer, "2020-01-01") ** 0.5)
    framed = replace(prefer, window_start=date(2024, 5, 6), window_end=date(2024, 5, 12))
    assert factor(framed, None) >= factor(framed, "2024-05-08") > factor(framed, "2024-05-01")
    assert factor(framed, "2024-05-13") == 1.0  # the day after the frame still covers it
    assert factor(framed, "2024-05-14") <= 1 / (1 + tuning.window_boost)
    assert factor(plain, "1999-01-01") == 1.0  # no as_of, no frame: no preference
    off = replace(tuning, recency_weight=0.0)
    assert time_factor(prefer, "2020-01-01", off) == 1.0


@pytest.mark.parametrize("query, as_of", [
    ("What happened in the past 5000 years?", None),
    ("What happened last week?", "0001-01-03"),
    ("What happened today?", "9999-12-31"),
    ("What happened yesterday?", "0001-01-01"),
])
def test_retrieval_survives_time_frames_at_the_calendar_edges(
    sample_assistant, query: str, as_of: str | None
) -> None:
    passages = sample_assistant.retrieve(query, as_of=as_of)
    answer = sample_assistant.ask(query, as_of=as_of)
    assert isinstance(passages, list) and isinstance(answer.refused, bool)
