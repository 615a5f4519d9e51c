"""Keeping keyword indexes in step with the store: each is a cache of it, compared by `Stamp`,
updated in place after this process's own writes and rebuilt after anyone else's."""

from __future__ import annotations

from dataclasses import dataclass
from operator import methodcaller
from typing import Callable, Iterable, NamedTuple, Sequence

from index.keyword.format import Stamp
from index.keyword.index import KeywordIndex
from index.records import StoredChunk
from index.store import Store


@dataclass(frozen=True)
class Level:
    """What one keyword index holds a row of: a chunk, or a whole report (`whole_document`)."""

    name: str
    count: Callable[[Store], int]
    rows: Callable[[Store], Iterable[StoredChunk]]


CHUNKS = Level("chunks", methodcaller("count_chunks"), methodcaller("iter_chunks"))
DOCUMENTS = Level("documents", methodcaller("count_documents"), methodcaller("iter_documents"))


# A keyword index and what it holds a row of.
Indexed = tuple[KeywordIndex, Level]


class KeywordChange(NamedTuple):
    """What this process wrote to the store, for one keyword index: the store's stamp at the
    index's level before (`store_stamps`), the rows added and the row counts of reports removed."""

    keyword: KeywordIndex
    level: Level
    before: Stamp
    added: Sequence[StoredChunk]
    removed: dict[str, int]


def store_stamps(store: Store, levels: Sequence[Level]) -> list[Stamp]:
    """The store's stamp at each of `levels`: its row count there and its change count."""
    changes = store.changes()
    return [Stamp(level.count(store), changes) for level in levels]


def rebuild_if_stale(store: Store, keyword: KeywordIndex, level: Level, stamp: Stamp) -> bool:
    """Rebuild `keyword` from the store's rows of `level` unless it was built at `stamp`;
    whether it was rebuilt."""
    if keyword.stamp == stamp:
        return False
    keyword.rebuild(level.rows(store), stamp)
    return True


def sync_keyword_indexes(store: Store, indexes: Sequence[Indexed]) -> list[bool]:
    """Rebuild each keyword index that no longer matches the store; which ones were rebuilt."""
    stamps = store_stamps(store, [level for _, level in indexes])
    return [rebuild_if_stale(store, keyword, level, stamp)
            for (keyword, level), stamp in zip(indexes, stamps)]


def update_keyword_indexes(store: Store, changes: Sequence[KeywordChange], writes: int) -> None:
    """Bring keyword indexes in step after this process changed the store with `writes` writes
    (the rise of its change count that this process caused).

    When an index matched the store before and the store now holds exactly that plus our
    change (its row count moved by our rows, its change count by our writes alone), the index
    is updated in place, if only to take the new stamp (an index none of whose rows changed,
    while the other's did); otherwise (another process wrote meanwhile, an interrupted run) it
    is rebuilt from the store.
    """
    nows = store_stamps(store, [change.level for change in changes])
    for change, now in zip(changes, nows):
        expected = Stamp(change.before.rows + len(change.added) - sum(change.removed.values()),
                         change.before.changes + writes)
        if change.keyword.stamp == change.before and now == expected:
            if change.added or change.removed or change.keyword.stamp != now:
                change.keyword.update(change.added, change.removed, now)
        else:
            rebuild_if_stale(store, change.keyword, change.level, now)
