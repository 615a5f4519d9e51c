"""A keyword index on disk: the files of its folder, written so that a reader or an interrupted
write always finds one whole index, and read back memory-mapped."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from index.keyword.delta import _Delta
from index.keyword.base import _Base, _Rows

STATE_FILE = "state.json"  # stamp, delta and deleted reports: small, rewritten on every update
MAIN_FILE = "main.json"  # the base index's chunk ids, report facts and vocabulary
ROWS_FILE = "rows.npy"  # each main row's entry in main.json's table of report facts
TOKENS_FILE = "tokens.npy"  # the base index's token ids, flat, with offsets
OFFSETS_FILE = "offsets.npy"
DELTA_PREFIX = "delta-"  # the delta's token ids: DELTA_PREFIX + a unique name + ".npz"
DF_FILE = "df.npy"  # each vocabulary token's document frequency, so loading need not count it
BM25_DIR = "bm25"  # bm25s' own files: the score matrix and its vocabulary


@dataclass(frozen=True)
class Stamp:
    """What a keyword index was built from: the store's row count at the index's level (chunks,
    or reports) and its change count (`Store.changes`), which every write by any process raises.

    Both are cheap to read, so the index can be checked against the store on every report
    added or deleted; anything derived from the report ids would mean listing every one."""

    rows: int
    changes: int


def read(folder: Path) -> tuple[_Base, _Delta, set[str], Stamp]:
    """The base index, delta, deleted reports and stamp saved in `folder`. Raises OSError,
    ValueError, KeyError or TypeError when they are missing, damaged or of an older layout."""
    state = json.loads((folder / STATE_FILE).read_text())
    main_state = json.loads((folder / MAIN_FILE).read_text())
    rows = _Rows.from_table(main_state["rows"], np.load(folder / ROWS_FILE))
    retriever, tokens = _mapped(folder, bool(rows.ids))
    offsets = np.load(folder / OFFSETS_FILE)
    vocab = main_state["vocab"]
    df = np.load(folder / DF_FILE)
    if len(df) != len(vocab):
        raise ValueError("document frequencies do not match the vocabulary")
    main = _Base(rows, vocab, tokens, offsets, retriever, df, int(len(tokens)))
    delta = _Delta.empty()
    if state["delta"]["file"]:
        arrays = np.load(folder / state["delta"]["file"])
        delta = _Delta(_Rows(**state["delta"]["rows"]), arrays["tokens"], arrays["offsets"],
                       state["delta"]["extra"])
    stamp = Stamp(**state["stamp"])
    return main, delta, set(state.get("deleted", [])), stamp


def write(folder: Path, main: _Base, stamp: Stamp) -> _Base:
    """Write `main`, with an empty delta, to a new folder beside `folder`, for `swap_in`.

    Returns `main` reading the saved files, mapped as a loading process maps them: the built
    arrays are dropped, or a process that updates the index again and again would hold every
    fold's copies."""
    tmp = _new(folder)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if main.retriever is not None:
        main.retriever.save(str(tmp / BM25_DIR))
    np.save(tmp / TOKENS_FILE, main.tokens)
    np.save(tmp / OFFSETS_FILE, main.offsets)
    np.save(tmp / DF_FILE, main.df)
    table, row_entry = main.rows.table()
    np.save(tmp / ROWS_FILE, row_entry)
    (tmp / MAIN_FILE).write_text(json.dumps({"rows": table, "vocab": main.vocab}))
    (tmp / STATE_FILE).write_text(_state(_Delta.empty(), None, set(), stamp))
    retriever, tokens = _mapped(tmp, main.retriever is not None)
    return replace(main, retriever=retriever, tokens=tokens)


def swap_in(folder: Path) -> None:
    """Replace `folder` by the one `write` wrote: readers see the old or the new, never a mix."""
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    _new(folder).rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def write_state(folder: Path, delta: _Delta, deleted: set[str], stamp: Stamp) -> None:
    """Write the delta's arrays to a file of their own, then the state naming it (atomically),
    then drop older delta files: an interrupted update leaves the previous state whole."""
    delta_file = None
    if delta.rows.ids:
        delta_file = f"{DELTA_PREFIX}{uuid.uuid4().hex}.npz"
        with (folder / delta_file).open("wb") as out:
            np.savez(out, tokens=delta.tokens, offsets=delta.offsets)
    tmp = folder / (STATE_FILE + ".tmp")
    tmp.write_text(_state(delta, delta_file, deleted, stamp))
    os.replace(tmp, folder / STATE_FILE)
    for old in folder.glob(f"{DELTA_PREFIX}*.npz"):
        if old.name != delta_file:
            old.unlink(missing_ok=True)


def _new(folder: Path) -> Path:
    """Where `write` puts the next version of `folder`."""
    return folder.with_name(folder.name + ".tmp")


def _state(delta: _Delta, delta_file: str | None, deleted: set[str], stamp: Stamp) -> str:
    return json.dumps({
        "stamp": {"rows": stamp.rows, "changes": stamp.changes},
        "delta": {"rows": delta.rows.to_dict(), "extra": delta.extra, "file": delta_file},
        "deleted": sorted(deleted),
    })


def _mapped(folder: Path, has_rows: bool) -> tuple[object | None, np.ndarray]:
    """The bm25s index (None without rows) and the cached token ids saved in `folder`,
    memory-mapped: only searches, updates and `best_chunks` read them, and they are most of
    the index, which a process need not hold. The mappings outlive the folder's renaming."""
    retriever = None
    if has_rows:
        import bm25s

        retriever = bm25s.BM25.load(str(folder / BM25_DIR), mmap=True, show_progress=False)
    return retriever, np.load(folder / TOKENS_FILE, mmap_mode="r")
