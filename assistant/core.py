"""The Python API: `Assistant.open()`, then `.ingest()`, `.retrieve()`, `.ask()`."""

from __future__ import annotations

import copy
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from assistant import timeframe
from assistant.answerers import Answerer, make_answerer
from assistant.config import MAX_K, Settings
from assistant.models import Answer, Turn
from assistant.streaming import AnswerStream
from index.chunking import ChunkingPolicy
from index.common.errors import InputError
from index.common.types import DocumentInfo, IndexingInfo, IngestReport, Passage
from index.embedding import Embedder, shared_embedder
from index.ingest import CHUNKS, DOCUMENTS, Ingestor, sync_keyword_indexes
from index.keyword import KeywordIndex
from index.progress import IngestProgress
from index.query import Query
from index.records import ChunkFilter
from index.retrieval import RetrievalTuning, Retriever, make_retriever
from index.store import ChromaStore, Store, make_client

MAX_QUESTION_CHARS = 2000


class Assistant:
    """Question answering over the reports in one collection."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        store: Store,
        keyword: KeywordIndex,
        document_keyword: KeywordIndex,
        answerer: Answerer,
        retrieval_mode: str = "hybrid",
        tuning: RetrievalTuning = RetrievalTuning(),
        chunking: ChunkingPolicy = ChunkingPolicy(),
    ) -> None:
        """The chain over the parts it is handed (`open` builds the real ones from settings;
        the fast tests hand in small fakes)."""
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.keyword = keyword
        self.document_keyword = document_keyword
        sync_keyword_indexes(self.store, ((keyword, CHUNKS), (document_keyword, DOCUMENTS)))
        self.retriever: Retriever = make_retriever(
            retrieval_mode, self.store, self.keyword, self.document_keyword, self.embedder, tuning
        )
        self.answerer = answerer
        self._ingestor = Ingestor(
            self.store, self.keyword, self.document_keyword, self.embedder, chunking,
            max_file_bytes=settings.max_file_bytes,
        )
        # Writes are serialized; reads go on while one runs (the keyword index swaps atomically).
        self._write_lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings | None = None, **overrides: Any) -> "Assistant":
        """An assistant over the configured store, model and answerer; `overrides` are settings
        such as home="...", plus `retrieval_mode`, `tuning` (RetrievalTuning) and `chunking`
        (ChunkingPolicy), which the evaluation's `--compare` sets."""
        mode = overrides.pop("retrieval_mode", "hybrid")
        tuning = overrides.pop("tuning", RetrievalTuning())
        chunking = overrides.pop("chunking", ChunkingPolicy())
        settings = (settings or Settings.load()).with_overrides(**overrides)
        embedder = shared_embedder(
            settings.embed_precision, settings.embed_threads, settings.embed_backend,
            cache=settings.model_cache_path,
        )
        store = ChromaStore(make_client(settings.chroma_path, settings.chroma_url), settings.collection)
        return cls(
            settings, embedder, store, KeywordIndex(settings.keyword_path),
            KeywordIndex(settings.document_keyword_path),
            make_answerer(settings, embedder, store), mode, tuning, chunking,
        )

    def with_llm(self, llm: str | None) -> "Assistant":
        """This assistant answering with another answerer (an `ASSISTANT_LLM` spec), over the
        same index: store, keyword indexes, retriever and write lock are shared, not opened
        again. Itself when `llm` is None or its own; ConfigError when the spec is wrong."""
        if llm is None or llm.strip() == self.settings.llm:
            return self
        twin = copy.copy(self)
        twin.settings = self.settings.with_overrides(llm=llm.strip())
        twin.answerer = make_answerer(twin.settings, self.embedder, self.store)
        return twin

    def warm_up(self) -> None:
        """Load now what the first question would otherwise wait for: the sentence splitter
        (NLTK's import, about 1 s), the question model compiled for one thread, and the stores
        (Chroma reads its vector index from disk on the first query: seconds at 1,000,000
        chunks; the keyword index builds its report-to-rows map)."""
        from index.common.text import sentence_spans

        sentence_spans("Warm up. Now.")
        self.embedder.embed(["warm up"])
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
        date = check_date(date, "date")
        with self._write_lock:
            return self._ingestor.ingest(paths, progress=progress, source_of=source_of, date=date,
                                         on_progress=on_progress)

    def documents(self) -> list[DocumentInfo]:
        """Every indexed report."""
        return self.store.documents()

    def indexing(self) -> list[IndexingInfo]:
        """Reports being indexed now, by this process or another, and how far each got: their
        chunks so far are stored, their records (`documents`) not yet."""
        return self.store.indexing()

    def document_text(self, doc_id: str) -> str:
        """The extracted text of a report: what every `start`/`end` points into."""
        return self.store.document_text(doc_id)

    def delete(self, doc_id: str) -> DocumentInfo:
        """Remove a report everywhere (vectors and keyword index)."""
        with self._write_lock:
            return self._ingestor.delete(doc_id)

    def health(self) -> dict[str, Any]:
        """`{"status": "ok", "documents": N, "chunks": M}`."""
        return {
            "status": "ok",
            "documents": self.store.count_documents(),
            "chunks": self.store.count_chunks(),
        }

    # --- questions -----------------------------------------------------------------------

    def query(
        self,
        text: str,
        as_of: str | None = None,
        sources: Sequence[str] = (),
        doc_ids: Sequence[str] = (),
        date_from: str | None = None,
        date_to: str | None = None,
        field: str = "query",
    ) -> Query:
        """`text` as retrieval and the answerer see it: checked, its relative time phrase
        resolved against `as_of` (default: today) and left out of the words searched, embedded
        once, with the filters. Raises InputError naming the bad field."""
        text = _check_text(text, field)
        as_of = check_date(as_of, "as_of")
        latest = min(filter(None, (as_of, check_date(date_to, "date_to"))), default=None)
        chunk_filter = ChunkFilter(
            date_to=latest, date_from=check_date(date_from, "date_from"),
            sources=tuple(sources), doc_ids=tuple(doc_ids),
        )
        as_of_day = date.fromisoformat(as_of) if as_of else None
        reference = as_of_day or date.today()
        frame = timeframe.find(text, reference)
        search_text = timeframe.strip(text, reference) if frame else text
        return Query(
            text=text, search_text=search_text, vector=self.embedder.embed_query(search_text),
            as_of=as_of_day, window_start=frame[0].start if frame else None,
            window_end=frame[0].end if frame else None, chunk_filter=chunk_filter,
        )

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
        `filters` are `sources`, `doc_ids`, `date_from` and `date_to` (see `query`). A `Query`
        already built is used as it is.
        """
        k = self._check_k(k)  # before the question is embedded
        if not isinstance(query, Query):
            query = self.query(query, as_of=as_of, **filters)
        return self.retriever.retrieve(query, k)

    def ask(
        self,
        question: str,
        history: Sequence[Turn | dict[str, Any]] | None = None,
        k: int | None = None,
        as_of: str | None = None,
        standalone: str | None = None,
        **filters: Any,
    ) -> Answer:
        """An answer whose every claim cites the passage that supports it, or a refusal."""
        return self.ask_stream(
            question, history, k=k, as_of=as_of, standalone=standalone, **filters
        ).result()

    def ask_stream(
        self,
        question: str,
        history: Sequence[Turn | dict[str, Any]] | None = None,
        k: int | None = None,
        as_of: str | None = None,
        standalone: str | None = None,
        **filters: Any,
    ) -> AnswerStream[Answer]:
        """Text deltas of the answer as they are produced (iterate), then the whole Answer
        (`.result()`). Nothing runs until the first delta is asked for.

        `standalone` is the question as `condense` already rewrote it, for a caller that needs
        it too (the eval's deeper ranking): the rewrite, an LLM call with LLM answerers, then
        happens once.
        """
        return AnswerStream(
            self._answer_events(question, history, k, as_of, standalone, filters), Answer
        )

    def _answer_events(
        self,
        question: str,
        history: Sequence[Turn | dict[str, Any]] | None,
        k: int | None,
        as_of: str | None,
        standalone: str | None,
        filters: dict[str, Any],
    ) -> Iterator[str | Answer]:
        question = _check_text(question, "question")
        turns = _turns(history)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        if standalone is None:
            standalone = self.answerer.condense(question, turns)
        timings["condense"] = _ms(started)
        t = time.perf_counter()
        query = self.query(standalone, as_of=as_of, field="question", **filters)
        passages = self.retrieve(query, k=k)
        timings["retrieve"] = _ms(t)
        t = time.perf_counter()
        replies = self.answerer.stream(query, passages)
        yield from replies
        reply = replies.result()
        timings["answer"] = _ms(t)
        timings["total"] = _ms(started)
        timings.update(reply.timings)
        yield Answer(
            answer=reply.answer, refused=reply.refused, citations=reply.citations,
            passages=passages, timings_ms=timings, stats=dict(reply.stats),
        )

    def condense(self, question: str, history: Sequence[Turn | dict[str, Any]] | None = None) -> str:
        """The question rewritten to stand alone, as `ask` retrieves with it."""
        return self.answerer.condense(_check_text(question, "question"), _turns(history))

    def _check_k(self, k: int | None) -> int:
        if k is None:
            return self.settings.k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise InputError(f"k must be a whole number from 1 to {MAX_K}, got {k!r}")
        return k


def _turns(history: Sequence[Turn | dict[str, Any]] | None) -> list[Turn]:
    return [t if isinstance(t, Turn) else Turn.from_dict(t) for t in (history or [])]


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def _check_text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{field} must be a non-empty string")
    if len(value) > MAX_QUESTION_CHARS:
        raise InputError(f"{field} is {len(value)} characters; the limit is {MAX_QUESTION_CHARS}")
    return value.strip()


def check_date(value: str | None, field: str) -> str | None:
    """`value` as YYYY-MM-DD (None when empty); InputError naming `field` when it is not a date."""
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise InputError(f"{field} must be a date YYYY-MM-DD, got {value!r}") from None
