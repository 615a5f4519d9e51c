"""Scale-out: two ingest processes at once into one Chroma server, a third client reads both."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import Settings
from bench.corpus import write_corpus
from tests.index.test_chroma_server import chroma_url  # noqa: F401  (the module-scoped server fixture)

ASSISTANT = Path(sys.executable).parent / "assistant"

pytestmark = pytest.mark.server


def test_two_ingest_processes_share_one_chroma_server(chroma_url: str, tmp_path: Path) -> None:  # noqa: F811
    from assistant.core import Assistant

    collection = "scaleout"
    folders = [tmp_path / "east", tmp_path / "west"]
    write_corpus(folders[0], 6, first_seed=100)
    write_corpus(folders[1], 6, first_seed=200)
    env = {**os.environ, "ASSISTANT_CHROMA_URL": chroma_url, "ASSISTANT_COLLECTION": collection,
           "HF_HUB_OFFLINE": "1"}
    processes = [
        subprocess.Popen(
            [str(ASSISTANT), "--home", str(tmp_path / f"home{i}"), "ingest", str(folder), "--json"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for i, folder in enumerate(folders)
    ]
    outputs = [p.communicate(timeout=600) for p in processes]
    for p, (out, err) in zip(processes, outputs):
        assert p.returncode == 0, err[-2000:]

    settings = Settings.load({"home": tmp_path / "home3", "chroma_url": chroma_url,
                              "collection": collection}, environ={})
    reader = Assistant.open(settings)
    docs = reader.documents()
    sources = sorted(Path(d.source).name for d in docs)
    expected = sorted(p.name for f in folders for p in f.glob("*.txt"))
    assert sources == expected  # every report exactly once
    assert reader.index._store.count_chunks() == sum(d.chunks for d in docs)  # no orphans, no duplicates
    found = set()
    for folder in folders:
        first = sorted(folder.glob("*.txt"))[0]
        query = first.read_text().split("\n\n")[2][:200]
        passages = reader.retrieve(query, k=3)
        found |= {Path(p.source).parent.name for p in passages}
        assert Path(passages[0].source).name == first.name
    assert found >= {"east", "west"}
    # The reader's keyword index was built from both processes' writes.
    assert len(reader.index._keyword) == reader.index._store.count_chunks()
