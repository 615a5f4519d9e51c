"""The Python API: `Assistant.open()`, then `.ingest()`, `.retrieve()`, `.ask()`."""

from __future__ import annotations

import time
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from assistant.answerers import Answerer, make_answerer
from assistant.config import MAX_K, TIMELINE_K, Settings
from assistant.conversations import Conversations
from assistant.models import Answer, Turn
from assistant.streaming import AnswerStream
from assistant.summary import Summaries, Summary
from assistant.timeline import Timeline, Timelines, make_judge
from assistant.timeline_chat import span_filters, timeline_answer, timeline_topic
from assistant.users import Users
from index import (
    ChunkingPolicy,
    IngestProgress,
    Query,
    ReportIndex,
    RetrievalTuning,
    check_text,
    shared_embedder,
)
from index.common.errors import InputError
from index.common.types import DocumentInfo, IndexingInfo, IngestReport, Passage


class Assistant:
    """Question answering over the reports in one collection: a `ReportIndex` and an
    `Answerer`, composed."""

    def __init__(self, settings: Settings, index: ReportIndex, answerer: Answerer,
                 timelines: Timelines | None = None) -> None:
        """The chain over the index and answerer it is handed (`open` builds them from
        settings; the fast tests hand in an index over small fakes, and `timelines` judged
        without the reader)."""
        self.settings = settings
        self.index = index
        self.answerer = answerer
        if timelines is not None:
            self.timelines = timelines

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        retrieval_mode: str = "hybrid",
        tuning: RetrievalTuning = RetrievalTuning(),
        chunking: ChunkingPolicy = ChunkingPolicy(),
        **overrides: Any,
    ) -> "Assistant":
        """An assistant over the configured store, model and answerer; `overrides` are settings
        such as home="..."; `retrieval_mode`, `tuning` and `chunking` are the index's, which the
        evaluation's `--compare` sets."""
        settings = (settings or Settings.load()).with_overrides(**overrides)
        embedder = shared_embedder(
            settings.embed_precision, settings.embed_threads, settings.embed_backend,
            cache=settings.model_cache_path,
        )
        index = ReportIndex.open(
            embedder, settings.chroma_path, settings.collection, settings.keyword_path,
            settings.document_keyword_path, chroma_url=settings.chroma_url,
            retrieval_mode=retrieval_mode, tuning=tuning, chunking=chunking,
            max_file_bytes=settings.max_file_bytes,
        )
        return cls(settings, index, make_answerer(settings, embedder))

    @cached_property
    def conversations(self) -> Conversations:
        """The saved conversations under this assistant's home (opened on first use)."""
        return Conversations(self.settings.conversations_path)

    @cached_property
    def users(self) -> Users:
        """Who may do what (the users file and the API token of the settings)."""
        return Users(self.settings.users, self.settings.api_token)

    @cached_property
    def timelines(self) -> Timelines:
        """Timelines over this index, judged by the reader the settings name (built on first
        use, unless handed in)."""
        return Timelines(self.index, make_judge(self.settings))

    @cached_property
    def summaries(self) -> Summaries:
        """Summaries of this index's reports (written by the answerer where it is an LLM)."""
        return Summaries(self.index, self.answerer)

    def with_llm(self, llm: str | None) -> "Assistant":
        """This assistant answering with another answerer (an `ASSISTANT_LLM` spec), over the
        same index. Itself when `llm` is None or its own; ConfigError when the spec is wrong."""
        if llm is None or llm.strip() == self.settings.llm:
            return self
        settings = self.settings.with_overrides(llm=llm.strip())
        return Assistant(settings, self.index, make_answerer(settings, self.index.embedder))

    def warm_up(self) -> None:
        """Load now what the first question would otherwise wait for: the sentence splitter
        (NLTK's import, about a second), the question model compiled for one thread, and the
        stores (Chroma reads its vector index from disk on the first query: seconds in a large
        store; the keyword index builds its report-to-rows map)."""
        from index.common.text import sentence_spans

        sentence_spans("Warm up. Now.")
        self.index.embedder.embed(["warm up"])
        self.retrieve("warm up")

    # --- documents -----------------------------------------------------------------------

    def ingest(
        self,
        paths: Iterable[str | Path],
        progress: bool | None = None,
        source_of: Callable[[Path], str] | None = None,
        date: str | None = None,
        on_progress: Callable[[IngestProgress], None] | None = None,
    ) -> IngestReport:
        """Index files and folders; unchanged files are skipped, changed ones replaced.

        `date` (YYYY-MM-DD) is the publication date of every file of this call; a file's sidecar
        (`NAME.EXT.meta.json`) date beats it. An unchanged file whose date changes is updated
        without being embedded again. `progress` shows progress on stderr (None: on a terminal
        only); `on_progress` gets files and chunks done after every batch.
        """
        return self.index.ingest(paths, progress=progress, source_of=source_of, date=date,
                                 on_progress=on_progress)

    def documents(self) -> list[DocumentInfo]:
        """Every indexed report."""
        return self.index.documents()

    def indexing(self) -> list[IndexingInfo]:
        """Reports being indexed now, by this process or another, and how far each got: their
        chunks so far are stored, their records (`documents`) not yet."""
        return self.index.indexing()

    def document_text(self, doc_id: str) -> str:
        """The extracted text of a report: what every `start`/`end` points into."""
        return self.index.document_text(doc_id)

    def delete(self, doc_id: str) -> DocumentInfo:
        """Remove a report everywhere (vectors and keyword index)."""
        return self.index.delete(doc_id)

    def health(self) -> dict[str, Any]:
        """`{"status": "ok", "documents": N, "chunks": M}`."""
        return {
            "status": "ok",
            "documents": self.index.count_documents(),
            "chunks": self.index.count_chunks(),
        }

    # --- questions -----------------------------------------------------------------------

    def query(self, text: str, as_of: str | None = None, field: str = "query", **filters: Any) -> Query:
        """`text` as retrieval and the answerer see it: checked, its relative time phrase
        resolved against `as_of` (default: today) and left out of the words searched, embedded
        once, with the `filters` (`sources`, `doc_ids`, `date_from`, `date_to`). Raises
        InputError naming the bad field (`field` for the text)."""
        return self.index.query(text, as_of=as_of, field=field, **filters)

    def retrieve(
        self,
        query: str | Query,
        k: int | None = None,
        as_of: str | None = None,
        **filters: Any,
    ) -> list[Passage]:
        """The `k` passages most relevant to `query`, best first.

        `as_of` drops reports published after it and prefers those close to it. A relative date
        in the query ("last week", "on Monday", "in May") is resolved against `as_of` (default:
        today) and prefers reports of that time; its words are left out of the search.
        `filters` are those of `query`. A `Query`
        already built is used as it is.
        """
        k = self._check_k(k)  # before the question is embedded
        if not isinstance(query, Query):
            query = self.query(query, as_of=as_of, **filters)
        return self.index.retrieve(query, k)

    def ask(
        self,
        question: str,
        history: Sequence[Turn | dict[str, Any]] | None = None,
        k: int | None = None,
        as_of: str | None = None,
        **filters: Any,
    ) -> Answer:
        """An answer whose every claim cites the passage that supports it, or a refusal."""
        return self.ask_stream(question, history, k=k, as_of=as_of, **filters).result()

    def ask_stream(
        self,
        question: str,
        history: Sequence[Turn | dict[str, Any]] | None = None,
        k: int | None = None,
        as_of: str | None = None,
        **filters: Any,
    ) -> AnswerStream[Answer]:
        """Text deltas of the answer as they are produced (iterate), then the whole Answer
        (`.result()`). Nothing runs until the first delta is asked for."""
        return AnswerStream(self._answer_events(question, history, k, as_of, filters), Answer)

    def _answer_events(
        self,
        question: str,
        history: Sequence[Turn | dict[str, Any]] | None,
        k: int | None,
        as_of: str | None,
        filters: dict[str, Any],
    ) -> Iterator[str | Answer]:
        question = check_text(question, "question")
        turns = _turns(history)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        standalone = self.answerer.condense(question, turns)
        timings["condense"] = _ms(started)
        t = time.perf_counter()
        topic = timeline_topic(standalone)
        if topic is not None:  # a course of events: its timeline, one dated sentence a line
            timeline = self.timeline(topic, as_of=as_of, **span_filters(standalone, as_of, filters))
            timings["timeline"] = _ms(t)
            # With no dated event (undated reports: "What happened to the rate of deforestation
            # between 2004 and 2014?" over encyclopedia text) it is answered as any question is.
            if timeline.events:
                answer = timeline_answer(timeline)
                yield answer.answer
                yield replace(answer, timings_ms={**timings, "total": _ms(started)}, standalone=standalone)
                return
            t = time.perf_counter()
        query = self.query(standalone, as_of=as_of, field="question", **filters)
        found = self.index.gather(query, self._check_k(k))
        timings["retrieve"] = _ms(t)
        t = time.perf_counter()
        replies = self.answerer.stream(query, found)
        yield from replies
        reply = replies.result()
        timings["answer"] = _ms(t)
        timings["total"] = _ms(started)
        timings.update(reply.timings)
        yield Answer(
            answer=reply.answer, refused=reply.refused, citations=reply.citations,
            passages=list(found.passages), timings_ms=timings, stats=dict(reply.stats), short=reply.short,
            standalone=standalone,
        )

    # --- timelines and summaries -----------------------------------------------------------

    def timeline(
        self,
        topic: str,
        date_from: str | None = None,
        date_to: str | None = None,
        as_of: str | None = None,
        k: int | None = None,
        **filters: Any,
    ) -> Timeline:
        """The reports about `topic` (a name, an event, a question), oldest first: each with its
        date and the sentence that says what it adds, cited; near-copies folded into `also_in`;
        at most `k` (default TIMELINE_K). `date_from`, `date_to` and `as_of` bound the reports;
        `filters` are those of `query`. Undated reports about it are counted, not listed.
        InputError names a bad field."""
        k = self._check_k(k, TIMELINE_K)
        query = self.query(topic, as_of=as_of, field="topic", date_from=date_from, date_to=date_to, **filters)
        return self.timelines.build(query, k)

    def summary(self, doc_id: str) -> Summary:
        """The report's summary: its few key sentences, each cited (written by the answerer and
        checked sentence by sentence where it is an LLM); NotFoundError for an unknown id."""
        return self.summaries.of(doc_id)

    def condense(self, question: str, history: Sequence[Turn | dict[str, Any]] | None = None) -> str:
        """The question rewritten to stand alone, as `ask` retrieves with it."""
        return self.answerer.condense(check_text(question, "question"), _turns(history))

    def _check_k(self, k: int | None, default: int | None = None) -> int:
        if k is None:
            return default or self.settings.k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise InputError(f"k must be a whole number from 1 to {MAX_K}, got {k!r}")
        return k


def _turns(history: Sequence[Turn | dict[str, Any]] | None) -> list[Turn]:
    return [t if isinstance(t, Turn) else Turn.from_dict(t) for t in (history or [])]


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
