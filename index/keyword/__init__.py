"""The BM25 keyword index (bm25s), kept next to the store and derived from it.

The index is a cache of the Chroma collection: it records what it was built from (its `Stamp`)
and is rebuilt whenever that no longer matches the store (another process ingested, an ingest
was interrupted), so the two cannot drift apart (`sync`).

It follows the store without rebuilding from Chroma on every ingest:
- every chunk's tokens are cached, as ids into a vocabulary, so a rebuild needs neither Chroma
  nor the tokenizer (`tokens`, `base`);
- up to `DELTA_MIN_TOKENS` cached tokens, an update rebuilds BM25 from them, which at that size
  is quick (`index`);
- above it, new chunks go to a small *delta* scored at query time with the same BM25 formula and
  the corpus statistics of base + delta, and deleted reports are masked out of the base index
  immediately; the delta is folded into the base index once it exceeds `DELTA_SHARE` of it or
  `DELTA_MAX_TOKENS` (`delta`, `index`);
- the delta is kept as token ids in flat arrays, like the base index's cache, so that it is
  scored with numpy rather than word by word, and saved as an array file of its own rather than
  inside the state's JSON (`format`);
- a loaded index memory-maps its bm25s matrices and cached tokens (`format`).
"""

from index.keyword.format import Stamp
from index.keyword.index import KeywordIndex

__all__ = ["KeywordIndex", "Stamp"]
