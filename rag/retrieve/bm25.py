"""Okapi BM25 over the catalog's chunks, persisted beside the catalog in segments and updated incrementally.

The index is a list of immutable segments plus a set of deleted document numbers. A segment holds term
frequencies as CSR arrays (numpy, no scipy): for term t, `doc[indptr[t]:indptr[t+1]]` are its documents and `tf[...]`
the counts (uint16). On load, each posting's BM25 weight is computed from the live documents' statistics (document
count, length, document frequency), in blocks, so scores equal a fresh build's exactly whatever the segments are, and
a query is a handful of vectorised scatter-adds; the loaded index then keeps the weights, not the counts (8 bytes a
posting; 200k synthetic chunks: 136 MiB over the interpreter's, search p50 ~2 ms). Common terms' long postings are
skipped once they can no longer change the top k (`BM25Index.search`: MaxScore), which is what keeps a query cheap
at a million chunks.

An index run changes a few files: `load_or_build` compares the catalog's files with the ones the index was built
from and writes one new segment for the changed files' chunks (and marks their old chunks deleted), instead of
re-tokenising every chunk. When deleted documents pass MERGE_DEAD_FRACTION, or there are more than MAX_SEGMENTS
segments, everything is rebuilt into one segment.

Files, next to `<stem>` (`IndexLayout.bm25`): `<stem>.json`, a small header naming the generation, the segments and
the deletions (checking the generation reads only this); `<stem>.seg-<tag>.npz` segments; `<stem>.files-<tag>.json`
the source -> version map used for updates. Every file is written to a temp name and renamed; the header goes last.
A missing, torn or foreign file makes `load` return None, and `load_or_build` rebuilds from the catalog (with a warning
unless the files are simply of another format). An update reads the header and the files map, never the segments.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import secrets
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.retrieve.text import TOKENIZER_VERSION, index_text, tokenize

K1 = 1.2
B = 0.75
STEM = True  # SciFact train nDCG@10 0.668 -> 0.686 with the plural stemmer
STOPWORDS = False  # measured on SciFact train: stopword removal changes nDCG@10 by -0.002; idf handles them
HEADINGS = False
"""Index each chunk's heading path with its text (rag.text.index_text). Off: it lost on SQuAD2 (BENCHMARKS.md
"## Retrieval": hit@6 -0.002, MRR -0.005) while it won on CMRC2018 (+0.001 / +0.002)."""
MAX_SEGMENTS = 8
MERGE_DEAD_FRACTION = 0.2
PRUNE_POSTINGS = 4096
"""A term with more postings than this is where `search` first checks whether the rest can be looked up per document."""
LOOKUP_COST = 16
"""A candidate's lookup in a term's postings (a binary search) costs about this many postings scanned."""
TF_MAX = 65535
"""Term frequencies are kept as uint16; a larger count (a term 65,536 times in one chunk) is stored as this, which
BM25's saturation makes indistinguishable anyway."""
WEIGHT_BLOCK = 1 << 20
"""Postings weighed per step on load: bounds the temporary arrays to a few MiB whatever the index size."""
_FORMAT = 4
_NO_TF = np.zeros(0, dtype=np.uint16)

log = logging.getLogger(__name__)


class _ChunkSource(Protocol):
    def iter_chunks(self) -> Iterable[tuple[str, str, str]]: ...

    def generation(self) -> int: ...


def bm25_tokens(text: str) -> list[str]:
    """The tokens BM25 indexes and queries with (one place, so index and query always agree)."""
    return tokenize(text, stem=STEM, stopwords=STOPWORDS)


def _signature() -> dict[str, Any]:
    return {
        "format": _FORMAT,
        "tokenizer": TOKENIZER_VERSION,
        "stem": STEM,
        "stopwords": STOPWORDS,
        "headings": HEADINGS,
    }


@dataclass(frozen=True, eq=False)
class Segment:
    """Term frequencies of some documents (immutable)."""

    ids: tuple[str, ...]
    sources: tuple[str, ...]
    vocab: dict[str, int]
    indptr: np.ndarray
    doc: np.ndarray
    """Document number within the segment, per posting."""
    tf: np.ndarray
    """Term frequency per posting (uint16, saturated at TF_MAX); empty once a loaded index holds the weights."""
    doc_len: np.ndarray
    tag: str = ""


def segment(rows: Iterable[tuple[str, str, str]], tag: str = "") -> Segment:
    """A segment from (id, text, source) rows; the text is tokenised with `bm25_tokens`."""
    ids: list[str] = []
    sources: list[str] = []
    lengths: list[int] = []
    vocab: dict[str, int] = {}
    term_docs: list[list[int]] = []
    term_tfs: list[list[int]] = []
    for n, (cid, text, source) in enumerate(rows):
        ids.append(cid)
        sources.append(source)
        counts = Counter(bm25_tokens(text))
        lengths.append(sum(counts.values()))
        for term, tf in counts.items():
            row = vocab.get(term)
            if row is None:
                row = vocab[term] = len(term_docs)
                term_docs.append([])
                term_tfs.append([])
            term_docs[row].append(n)
            term_tfs[row].append(tf)
    sizes = np.fromiter((len(d) for d in term_docs), dtype=np.int64, count=len(term_docs))
    indptr = np.zeros(len(term_docs) + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    doc = np.fromiter((d for docs in term_docs for d in docs), dtype=np.int32, count=int(indptr[-1]))
    tfs = np.fromiter((min(t, TF_MAX) for tfs in term_tfs for t in tfs), dtype=np.uint16, count=int(indptr[-1]))
    doc_len = np.asarray(lengths, dtype=np.float32)
    return Segment(tuple(ids), tuple(sources), vocab, indptr, doc, tfs, doc_len, tag)


def _terms_in(indptr: np.ndarray, lo: int, hi: int) -> tuple[int, np.ndarray]:
    """The postings lo:hi (hi > lo) by term: the first term they reach, and where each term's share starts, counted
    from lo (strictly increasing: every term has at least one posting)."""
    first, last = (int(t) for t in np.searchsorted(indptr, [lo, hi - 1], side="right") - 1)
    return first, np.maximum(indptr[first : last + 1], lo) - lo


def _live_postings(seg: Segment, live: np.ndarray) -> np.ndarray:
    """Per term of `seg`, how many of its postings are live documents (`live`: per document of the segment)."""
    counts = np.zeros(len(seg.indptr) - 1, dtype=np.int64)
    for lo in range(0, len(seg.doc), WEIGHT_BLOCK):
        hi = min(lo + WEIGHT_BLOCK, len(seg.doc))
        first, starts = _terms_in(seg.indptr, lo, hi)
        counts[first : first + len(starts)] += np.add.reduceat(live[seg.doc[lo:hi]].astype(np.int32), starts)
    return counts


class BM25Index:
    """BM25 over segments with deletions. `search()` is the query method; build with `build()` or `load_or_build()`.

    Args:
        segments: in document-number order (segment i's documents follow segment i-1's).
        dead: global document numbers that are deleted.
        generation: the catalog generation the index is up to date with.
    """

    def __init__(self, segments: Sequence[Segment], dead: Iterable[int] = (), generation: int = 0) -> None:
        self.segments = tuple(segments)
        self.generation = generation
        self.ids: tuple[str, ...] = tuple(i for s in self.segments for i in s.ids)
        """Chunk id per global document number (deleted ones included: see `live_ids`)."""
        self.sources: tuple[str, ...] = tuple(x for s in self.segments for x in s.sources)
        self.offsets = np.cumsum([0] + [len(s.ids) for s in self.segments])
        self.live = np.ones(len(self.ids), dtype=bool)
        dead_arr = np.fromiter(dead, dtype=np.int64)
        self.live[dead_arr[(dead_arr >= 0) & (dead_arr < len(self.ids))]] = False
        lengths = np.concatenate([s.doc_len for s in self.segments]) if self.segments else np.zeros(0, np.float32)
        self._doc_len = lengths
        self.n_live = int(self.live.sum())
        self.avgdl = float(lengths[self.live].mean()) if self.n_live else 1.0
        self._lookup: dict[str, int] | None = None
        self._df = self._document_frequencies()
        self._weights = [
            self._segment_weights(offset, seg) for offset, seg in zip(self.offsets, self.segments, strict=False)
        ]
        self._max_weights = [
            np.maximum.reduceat(w, seg.indptr[:-1]) if len(w) else w
            for seg, w in zip(self.segments, self._weights, strict=False)
        ]
        """Per segment, each term's largest posting weight: the bound that lets `search` skip long postings."""

    def _document_frequencies(self) -> dict[str, int]:
        """Live documents per term, over all segments."""
        df: dict[str, int] = {}
        for offset, seg in zip(self.offsets, self.segments, strict=False):
            if not len(seg.doc):
                continue
            if self.live[offset : offset + len(seg.ids)].all():
                counts = np.diff(seg.indptr).tolist()
            else:
                counts = _live_postings(seg, self.live[offset : offset + len(seg.ids)]).tolist()
            for term, row in seg.vocab.items():
                df[term] = df.get(term, 0) + counts[row]
        return df

    def _segment_weights(self, offset: int, seg: Segment) -> np.ndarray:
        """BM25 weight per posting from the live statistics (0 for a deleted document), float32 throughout, worked
        out WEIGHT_BLOCK postings at a time so that loading a big index needs no posting-sized temporaries."""
        weight = np.empty(len(seg.doc), dtype=np.float32)
        if not len(seg.doc):
            return weight
        terms = sorted(seg.vocab, key=seg.vocab.__getitem__)
        df = np.fromiter((self._df[t] for t in terms), dtype=np.float32, count=len(terms))
        idf = np.log1p((self.n_live - df + 0.5) / (df + 0.5)).astype(np.float32)  # Lucene's non-negative idf
        k = np.float32(K1) * (np.float32(1.0 - B) + np.float32(B / max(self.avgdl, 1e-9)) * seg.doc_len)
        live = self.live[offset : offset + len(seg.ids)]
        everyone = bool(live.all())
        for lo in range(0, len(seg.doc), WEIGHT_BLOCK):
            hi = min(lo + WEIGHT_BLOCK, len(seg.doc))
            docs = seg.doc[lo:hi]
            tf = seg.tf[lo:hi].astype(np.float32)
            block = tf * np.float32(K1 + 1.0)
            block /= tf + k[docs]
            first, starts = _terms_in(seg.indptr, lo, hi)
            block *= np.repeat(idf[first : first + len(starts)], np.diff(starts, append=hi - lo))
            if not everyone:
                block[~live[docs]] = 0.0
            weight[lo:hi] = block
        return weight

    def __len__(self) -> int:
        return self.n_live

    @property
    def dead(self) -> np.ndarray:
        """Global numbers of the deleted documents."""
        return np.flatnonzero(~self.live)

    def live_ids(self) -> list[str]:
        """The ids of the documents not deleted, in document order."""
        return [cid for cid, alive in zip(self.ids, self.live, strict=False) if alive]

    def document_frequency(self, term: str) -> int:
        """How many live documents contain `term` (a token as `bm25_tokens` makes them)."""
        return self._df.get(term, 0)

    def search(self, query: str, k: int, allowed_ids: Iterable[str] | None = None) -> list[tuple[str, float]]:
        """The top `k` chunk ids by BM25 score (> 0), best first, ties by document order; `allowed_ids` restricts the
        candidates.

        Terms are scored in order of their largest possible contribution (MaxScore): once the k-th best score so far
        beats what every term not yet scored could add together, a document no scored term reached cannot enter the
        top k, so the remaining (long, low-idf) postings are only looked up for the documents still in reach. The
        result is the exhaustive one; only the work on common terms shrinks.
        """
        if k <= 0 or not self.n_live:
            return []
        counts = Counter(t for t in bm25_tokens(query) if self._df.get(t))
        if not counts:
            return []
        # a repeated query term counts again, as in Okapi's query-term frequency
        plan = sorted(((self._bound(t) * m, t, m) for t, m in counts.items()), key=lambda x: (-x[0], x[1]))
        scores = np.zeros(len(self.ids), dtype=np.float32)
        reached: list[np.ndarray] | None = []  # None once so many documents are reached that listing them costs more
        left = sum(bound for bound, _, _ in plan)
        for n, (bound, term, times) in enumerate(plan):
            postings = self._postings(term)
            if allowed_ids is None and n and postings > PRUNE_POSTINGS:
                candidates = self._in_reach(scores, reached, k, left)
                if candidates is not None:
                    for rest_bound, rest, m in plan[n:]:
                        if len(candidates) * LOOKUP_COST < self._postings(rest):
                            self._add_for(scores, candidates, rest, m)
                        else:  # so many candidates that scanning the postings is cheaper than looking each one up
                            self._add(scores, rest, m, listed=False)
                        left -= rest_bound
                        narrowed = self._in_reach(scores, [candidates], k, left, sorted_docs=True)
                        candidates = candidates if narrowed is None else narrowed  # more candidates: still exact
                    return self._top(scores, candidates, k)
            if reached is not None and sum(map(len, reached)) + postings > len(scores) // 8:
                reached = None
            docs = self._add(scores, term, times, listed=reached is not None)
            if reached is not None:
                reached.append(docs)
            left -= bound
        if allowed_ids is not None:
            allowed = self._doc_numbers(allowed_ids)
            masked = np.zeros_like(scores)
            masked[allowed] = scores[allowed]
            scores = masked
        return self._top(scores, np.flatnonzero(scores > 0), k)

    def _bound(self, term: str) -> float:
        """The largest weight `term` has in any document."""
        best = 0.0
        for seg, top in zip(self.segments, self._max_weights, strict=False):
            row = seg.vocab.get(term)
            if row is not None:
                best = max(best, float(top[row]))
        return best

    def _postings(self, term: str) -> int:
        return sum(
            int(seg.indptr[row + 1] - seg.indptr[row])
            for seg in self.segments
            if (row := seg.vocab.get(term)) is not None
        )

    def _add(self, scores: np.ndarray, term: str, times: int, *, listed: bool) -> np.ndarray:
        """Add `term`'s weights (x `times`) to every document that has it; returns those documents' numbers when
        `listed` (else an empty array)."""
        touched = []
        for offset, seg, weight in zip(self.offsets, self.segments, self._weights, strict=False):
            row = seg.vocab.get(term)
            if row is not None:
                lo, hi = seg.indptr[row], seg.indptr[row + 1]
                docs = seg.doc[lo:hi]
                view = scores[offset : offset + len(seg.ids)]  # a view: the add lands in scores
                view[docs] += weight[lo:hi] if times == 1 else weight[lo:hi] * np.float32(times)
                if listed:
                    touched.append(docs.astype(np.int64) + offset)
        return np.concatenate(touched) if touched else np.zeros(0, dtype=np.int64)

    def _add_for(self, scores: np.ndarray, candidates: np.ndarray, term: str, times: int) -> None:
        """Add `term`'s weights (x `times`) to those of `candidates` (sorted document numbers) that have it."""
        for offset, seg, weight in zip(self.offsets, self.segments, self._weights, strict=False):
            row = seg.vocab.get(term)
            if row is None:
                continue
            lo, hi = seg.indptr[row], seg.indptr[row + 1]
            mine = candidates[(candidates >= offset) & (candidates < offset + len(seg.ids))]
            if not len(mine):
                continue
            docs = seg.doc[lo:hi]
            at = np.searchsorted(docs, mine - offset)
            inside = at < len(docs)
            hit = inside.copy()
            hit[inside] = docs[at[inside]] == (mine[inside] - offset)
            add = weight[lo:hi][at[hit]]
            scores[mine[hit]] += add if times == 1 else add * np.float32(times)

    @staticmethod
    def _in_reach(
        scores: np.ndarray, reached: list[np.ndarray] | None, k: int, left: float, *, sorted_docs: bool = False
    ) -> np.ndarray | None:
        """The documents that could still make the top `k` when the unscored terms can add at most `left`, or None
        when documents no scored term reached could too (then every posting must be scored). `reached`: the
        documents the scored terms have (None: read them off the scores; `sorted_docs`: one sorted unique array)."""
        if reached is None:
            seen = np.flatnonzero(scores > 0)
        elif sorted_docs:
            seen = reached[0]
        else:
            seen = np.unique(np.concatenate(reached)) if reached else np.zeros(0, dtype=np.int64)
        if len(seen) < k:
            return None
        kth = float(np.partition(scores[seen], len(seen) - k)[len(seen) - k])
        reach = left * (1 + 1e-4) + 1e-6  # float32 sums may round past the exact bound; stay on the safe side
        if kth <= reach:
            return None
        return seen[scores[seen] >= np.float32(kth - reach)]

    def _top(self, scores: np.ndarray, candidates: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The `k` best of `candidates` by score (> 0), ties by document number: the same ids whichever path ran."""
        positive = candidates[scores[candidates] > 0]
        if positive.size > k:
            kth = np.partition(scores[positive], positive.size - k)[positive.size - k]
            positive = positive[scores[positive] >= kth]  # every document tied with the k-th, then cut by number
        order = positive[np.lexsort((positive, -scores[positive]))][:k]
        return [(self.ids[i], float(scores[i])) for i in order]

    def _doc_numbers(self, ids: Iterable[str]) -> np.ndarray:
        if self._lookup is None:
            self._lookup = {cid: n for n, cid in enumerate(self.ids) if self.live[n]}
        lookup = self._lookup
        return np.fromiter((lookup[i] for i in ids if i in lookup), dtype=np.int64)


def build(rows: Iterable[tuple[str, str, str]], generation: int = 0) -> BM25Index:
    """Build a one-segment index from (id, text, source) rows."""
    return BM25Index([segment(rows, _tag())], (), generation)


# -- persistence ---------------------------------------------------------------------------------------------------


def _tag() -> str:
    return secrets.token_hex(6)


def _header_path(stem: Path) -> Path:
    return stem.with_name(stem.name + ".json")


def _segment_path(stem: Path, tag: str) -> Path:
    return stem.with_name(f"{stem.name}.seg-{tag}.npz")


def _files_path(stem: Path, tag: str) -> Path:
    return stem.with_name(f"{stem.name}.files-{tag}.json")


def _atomic(path: Path, write: Callable[[Any], None], binary: bool = True) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(tmp, "wb") if binary else open(tmp, "w", encoding="utf-8") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _save_segment(stem: Path, seg: Segment) -> None:
    if len(seg.tf) != len(seg.doc):
        raise ValueError(f"segment {seg.tag} was loaded without its term frequencies: save it from a fresh build")
    terms = sorted(seg.vocab, key=seg.vocab.__getitem__)
    arrays: dict[str, Any] = {
        "ids": _utf8(seg.ids),
        "sources": _utf8(seg.sources),
        "terms": _utf8(terms),
        "indptr": seg.indptr,
        "doc": seg.doc,
        "tf": seg.tf,
        "doc_len": seg.doc_len,
        "tag": np.array(seg.tag),
    }
    _atomic(_segment_path(stem, seg.tag), lambda fh: np.savez(fh, **arrays))


def _utf8(texts: Sequence[str]) -> np.ndarray:
    """Strings as a fixed-width bytes array of their UTF-8 (a quarter of numpy's str width for ASCII ids)."""
    return np.array([t.encode("utf-8") for t in texts], dtype=bytes)


def _text(array: np.ndarray) -> list[str]:
    if array.dtype.kind != "S":
        raise ValueError(f"expected UTF-8 bytes, found {array.dtype}")
    return [b.decode("utf-8") for b in array.tolist()]


def _load_segment(stem: Path, tag: str, docs: int) -> Segment:
    with np.load(_segment_path(stem, tag), allow_pickle=False) as a:
        if str(a["tag"]) != tag:
            raise ValueError("segment tag mismatch")
        ids, terms = _text(a["ids"]), _text(a["terms"])
        names, which = np.unique(a["sources"], return_inverse=True)  # one str per file, not one per chunk
        named = _text(names)
        sources = [named[i] for i in which.tolist()]
        seg = Segment(
            tuple(ids),
            tuple(sources),
            {t: i for i, t in enumerate(terms)},
            a["indptr"],
            a["doc"],
            a["tf"],
            a["doc_len"],
            tag,
        )
    if len(ids) != docs or len(sources) != docs or len(seg.doc_len) != docs or len(seg.indptr) != len(terms) + 1:
        raise ValueError("segment sizes disagree")
    if int(seg.indptr[-1]) != len(seg.doc) or len(seg.doc) != len(seg.tf) or (len(seg.doc) and seg.doc.max() >= docs):
        raise ValueError("segment postings disagree")
    return seg


def _foreign(stem: Path) -> bool:
    """True when the header is readable JSON written by another format or tokenizer (rebuilt without a warning)."""
    try:
        body = json.loads(_header_path(stem).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(body, dict) and any(body.get(k) != v for k, v in _signature().items())


def read_header(path: str | Path) -> dict[str, Any] | None:
    """The small header (generation, segments) or None when absent, unreadable or of another format/tokenizer."""
    try:
        body = json.loads(_header_path(Path(path)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(body, dict) or any(body.get(k) != v for k, v in _signature().items()):
        return None
    return body


def _ranges(index: BM25Index, versions: dict[str, str] | None) -> tuple[dict[str, list[Any]], list[list[Any]]]:
    """(source -> [version, segment tag, start, count] of its live documents, dead [tag, start, count] ranges)."""
    files: dict[str, list[Any]] = {}
    dead: list[list[Any]] = []
    for offset, seg in zip(index.offsets, index.segments, strict=False):
        start = 0
        while start < len(seg.ids):
            end = start
            while end < len(seg.ids) and seg.sources[end] == seg.sources[start]:
                end += 1
            if index.live[offset + start]:
                version = (versions or {}).get(seg.sources[start], "")
                files[seg.sources[start]] = [version, seg.tag, start, end - start]
            else:
                dead.append([seg.tag, start, end - start])
            start = end
    return files, dead


def save(index: BM25Index, path: str | Path, files: dict[str, str] | None = None) -> None:
    """Write the index: new segment files first, then the header that names them (atomic); old files are removed.

    A source's documents are contiguous and all live or all dead (how `build` and `load_or_build` make them).

    Args:
        files: source -> version of the files the index holds (what the next incremental update compares).
    """
    stem = Path(path)
    stem.parent.mkdir(parents=True, exist_ok=True)
    old = read_header(stem)
    existing = {s["tag"]: s.get("bytes") for s in (old or {}).get("segments", ())}
    sizes = {}
    for seg in index.segments:
        target = _segment_path(stem, seg.tag)
        if seg.tag not in existing or not target.exists() or target.stat().st_size != existing[seg.tag]:
            _save_segment(stem, seg)
        sizes[seg.tag] = target.stat().st_size
    ranges, dead = _ranges(index, files)
    segments = [{"tag": s.tag, "docs": len(s.ids), "bytes": sizes[s.tag]} for s in index.segments]
    _write_tables(stem, index.generation, segments, dead, ranges)


def _write_tables(
    stem: Path, generation: int, segments: list[dict[str, Any]], dead: list[list[Any]], files: dict[str, list[Any]]
) -> None:
    """Write the files map, then the header naming it and the segments (the commit point); drop unnamed files."""
    files_tag = _tag()
    _atomic(_files_path(stem, files_tag), lambda fh: json.dump(files, fh, ensure_ascii=False), binary=False)
    docs = sum(int(s["docs"]) for s in segments)
    header = _signature() | {
        "generation": generation,
        "docs": docs,
        "live": docs - sum(int(d[2]) for d in dead),
        "segments": segments,
        "dead": dead,
        "files": files_tag,
    }
    _atomic(_header_path(stem), lambda fh: json.dump(header, fh), binary=False)
    _remove_unreferenced(stem, {str(s["tag"]) for s in segments}, files_tag)


def _remove_unreferenced(stem: Path, segments: set[str], files_tag: str) -> None:
    keep = {_segment_path(stem, t).name for t in segments}
    keep |= {_files_path(stem, files_tag).name, _header_path(stem).name}
    legacy = {stem.name + ".npz"}  # format 1
    for p in stem.parent.glob(stem.name + ".*"):
        name = p.name
        ours = name.startswith((f"{stem.name}.seg-", f"{stem.name}.files-")) or name in legacy
        if ours and name not in keep and not name.endswith(".tmp"):
            try:
                p.unlink()
            except OSError:
                pass


def load(path: str | Path) -> BM25Index | None:
    """The persisted index, or None when absent, unreadable, torn, or written by another tokenizer/format."""
    stem = Path(path)
    header = read_header(stem)
    if header is None:
        return None
    try:
        segments = [_load_segment(stem, s["tag"], int(s["docs"])) for s in header["segments"]]
        offsets = dict(zip((s.tag for s in segments), np.cumsum([0] + [len(s.ids) for s in segments]), strict=False))
        dead = [int(offsets[tag]) + i for tag, start, n in header.get("dead", ()) for i in range(start, start + n)]
        index = BM25Index(segments, dead, int(header["generation"]))
        index.segments = tuple(dataclasses.replace(s, tf=_NO_TF) for s in index.segments)  # on disk; weights kept
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return None
    if len(index.ids) != header.get("docs") or index.n_live != header.get("live"):
        return None
    return index


def _load_files(stem: Path, header: dict[str, Any]) -> dict[str, list[Any]] | None:
    try:
        files = json.loads(_files_path(stem, str(header.get("files"))).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return files if isinstance(files, dict) else None


# -- keeping it in step with the catalog --------------------------------------------------------------------------


def _versions(catalog: Any) -> dict[str, str] | None:
    """source -> version string of every file in the catalog (None: the catalog cannot list its files)."""
    files = getattr(catalog, "files", None)
    if files is None or getattr(catalog, "chunks_of", None) is None:
        return None
    return {src: f"{r.sha256}:{r.chunks}:{r.indexed_at!r}" for src, r in files().items()}


def _rows_of(catalog: Any, sources: Iterable[str]) -> Iterator[tuple[str, str, str]]:
    for source in sources:
        for c in catalog.chunks_of(source):
            yield c.id, index_text(c.text, c.heading_path) if HEADINGS else c.text, c.source


def _all_rows(catalog: Any, versions: dict[str, str] | None) -> Iterable[tuple[str, str, str]]:
    if versions is None:
        return catalog.iter_chunks()
    return _rows_of(catalog, sorted(versions))


def _segments_intact(stem: Path, header: dict[str, Any]) -> bool:
    try:
        return all(_segment_path(stem, s["tag"]).stat().st_size == s["bytes"] for s in header["segments"])
    except (OSError, KeyError, TypeError):
        return False


def _update_on_disk(
    stem: Path, header: dict[str, Any], catalog: Any, versions: dict[str, str], generation: int
) -> bool:
    """Add one segment for the files whose version changed and mark their old documents dead, without reading
    the existing segments. False when that is not possible or not worth it (then rebuild)."""
    old = _load_files(stem, header)
    if old is None or not _segments_intact(stem, header):
        return False
    try:
        changed = {s for s in old.keys() | versions.keys() if (old[s][0] if s in old else None) != versions.get(s)}
        dead = [list(d) for d in header["dead"]] + [old[s][1:4] for s in changed if s in old]
        segments = [dict(s) for s in header["segments"]]
    except (KeyError, TypeError, IndexError):
        return False
    files = {s: v for s, v in old.items() if s not in changed}
    added = [s for s in sorted(changed) if s in versions]
    new = segment(_rows_of(catalog, added), _tag()) if added else None
    docs = sum(int(s["docs"]) for s in segments) + (len(new.ids) if new else 0)
    if len(segments) + 1 > MAX_SEGMENTS or sum(int(d[2]) for d in dead) > MERGE_DEAD_FRACTION * max(docs, 1):
        return False
    if new is not None:
        _save_segment(stem, new)
        segments.append({"tag": new.tag, "docs": len(new.ids), "bytes": _segment_path(stem, new.tag).stat().st_size})
        one = BM25Index([new])
        ranges, _ = _ranges(one, versions)
        files.update(ranges)
    _write_tables(stem, generation, segments, dead, files)
    return True


def _sync(catalog: _ChunkSource, stem: Path, warn: Callable[[str], None] | None, *, want: bool) -> BM25Index | None:
    """Bring the persisted index to the catalog's generation; the index itself when `want` (else None)."""
    generation = catalog.generation()
    header = read_header(stem)
    if header is not None and header.get("generation") == generation and _segments_intact(stem, header):
        index = load(stem) if want else None
        if index is not None or not want:
            return index
    versions = _versions(catalog)
    if header is not None and versions is not None:
        try:
            if _update_on_disk(stem, header, catalog, versions, generation):
                index = load(stem) if want else None
                if index is not None or not want:
                    return index
        except OSError:
            pass  # read-only folder, disk full: fall through to an in-memory build
    if _header_path(stem).exists() and not _foreign(stem) and (header is None or load(stem) is None):
        (warn or log.warning)(
            f"The BM25 side index at {_header_path(stem)} was unreadable (torn or corrupt); "
            "rebuilt it from the catalog."
        )
    index = build(_all_rows(catalog, versions), generation)
    if catalog.generation() == generation:  # don't persist a build that raced a writer
        try:
            save(index, stem, versions)
        except OSError:
            pass  # read-only index folder: keep the in-memory index
    return index


def load_or_build(catalog: _ChunkSource, path: str | Path, *, warn: Callable[[str], None] | None = None) -> BM25Index:
    """The index for the catalog's current generation.

    Loaded when the header's generation matches; else updated on disk with one new segment for the files that
    changed (when the catalog can list its files) and loaded, else rebuilt; saved unless a writer raced the build.
    A side index that exists but cannot be read is rebuilt, and `warn` (default: the module logger) is told.
    """
    index = _sync(catalog, Path(path), warn, want=True)
    assert index is not None
    return index


def stored_files(path: str | Path) -> list[Path]:
    """Every file the persisted index at `path` consists of (header, segments, file table); [] when there is none."""
    stem = Path(path)
    header = read_header(stem)
    if header is None:
        return []
    try:
        parts = [_segment_path(stem, str(s["tag"])) for s in header["segments"]]
    except (KeyError, TypeError):
        return []
    return [_header_path(stem), *parts, *([_files_path(stem, str(header["files"]))] if header.get("files") else [])]


def is_current(path: str | Path, generation: int) -> bool:
    """True when the persisted index is at `generation` and its files are all there at their recorded sizes.

    Reads the header and stats the files it names: the no-op check an index run makes."""
    stem = Path(path)
    header = read_header(stem)
    if header is None or header.get("generation") != generation:
        return False
    try:
        sizes_ok = all(_segment_path(stem, s["tag"]).stat().st_size == s["bytes"] for s in header["segments"])
        return sizes_ok and _files_path(stem, str(header["files"])).is_file()
    except (OSError, KeyError, TypeError):
        return False


def refresh(catalog: _ChunkSource, path: str | Path, *, warn: Callable[[str], None] | None = None) -> bool:
    """Bring the persisted index up to the catalog's generation (incrementally when it can); False when it was
    already current (see `is_current`: nothing but the header was read)."""
    if is_current(path, catalog.generation()):
        return False
    _sync(catalog, Path(path), warn, want=False)
    return True


__all__ = [
    "HEADINGS",
    "K1",
    "B",
    "BM25Index",
    "Segment",
    "bm25_tokens",
    "build",
    "is_current",
    "load",
    "load_or_build",
    "read_header",
    "refresh",
    "save",
    "segment",
]
