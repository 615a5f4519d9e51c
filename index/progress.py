"""How far an ingest got, and showing it on stderr: a bar on a terminal, else a line now and then."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from index.common.types import IndexingInfo

PLAIN_EVERY_S = 10.0  # without a terminal, a progress line at most this often


@dataclass(frozen=True)
class IngestProgress:
    """Files done of those given, chunks stored by this ingest, and the long report being
    indexed (how far into its text), if one is."""

    files_done: int
    files: int
    chunks: int
    current: IndexingInfo | None = None

    def fraction(self) -> float:
        """How much of the files is done, the report being indexed counted by its text done."""
        within = self.current.indexed_chars / max(self.current.chars, 1) if self.current else 0.0
        return min(1.0, (self.files_done + within) / max(self.files, 1))

    def describe(self) -> str:
        """One line: `2/3 files, 1,536 chunks; jack.txt 12%`."""
        line = f"{self.files_done}/{self.files} files, {self.chunks:,} chunks"
        if self.current is not None:
            share = self.current.indexed_chars / max(self.current.chars, 1)
            line += f"; {Path(self.current.source).name} {share:.0%}"
        return line


class ProgressDisplay:
    """Shows `IngestProgress` on `stream`: a tqdm bar of files when it is a terminal, else a plain
    line at most every `PLAIN_EVERY_S` (a log or a pipe gets no carriage returns), the first one
    after that long (a short ingest prints none), and a last one when any was printed."""

    def __init__(self, files: int, stream: TextIO | None = None) -> None:
        from tqdm import tqdm

        self.stream = stream or sys.stderr
        self.bar = tqdm(total=files, unit="file", file=self.stream) if self.stream.isatty() else None
        self._since = time.monotonic()  # the start, then the last line printed
        self._lines = 0
        self._last: IngestProgress | None = None
        self._printed: IngestProgress | None = None

    def __call__(self, progress: IngestProgress) -> None:
        """Show `progress`: on a terminal at once, otherwise when the last line is old enough."""
        self._last = progress
        if self.bar is not None:
            self.bar.n = progress.files_done
            self.bar.set_postfix_str(progress.describe().split(", ", 1)[1])  # also redraws
        elif time.monotonic() - self._since >= PLAIN_EVERY_S:
            self._print(progress)

    def close(self) -> None:
        """End the bar, or print where the ingest ended if a line was printed before."""
        if self.bar is not None:
            self.bar.close()
        elif self._lines and self._last is not None and self._last != self._printed:
            self._print(self._last)

    def _print(self, progress: IngestProgress) -> None:
        print(f"ingest: {progress.describe()}", file=self.stream, flush=True)
        self._since = time.monotonic()
        self._lines += 1
        self._printed = progress
