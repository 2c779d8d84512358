"""Finalize of dedup: exact groups, candidate pairs from band collisions on disk, clusters.

Everything is read back from the spill files: band keys one band at a time (a lazy polars scan
and group-by on the key), signatures only for documents that take part in a candidate pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from synthscope.dedup.components import connected_components
from synthscope.dedup.spill import Part, band_dir, docs_path, signatures_from_column

KEEP_RULES = ("first", "longest")
_DOC_COLUMNS = ["i", "doc_id", "source", "file", "_row", "exact", "n_chars", "n_shingles"]


@dataclass
class ClusterStats:
    """Counts of the clustering stage, reported in the summary."""

    candidate_pairs: int = 0
    verified_pairs: int = 0
    rejected_pairs: int = 0
    band_rows: int = 0
    spill_bytes: int = 0
    extra: dict[str, int] = field(default_factory=dict)


def part_offsets(parts: list[Part]) -> pl.DataFrame:
    """Global index of each part's first document, parts in input order."""
    ordered = sorted(parts)
    starts = np.zeros(len(ordered), dtype=np.int64)
    if ordered:
        np.cumsum([p.documents for p in ordered[:-1]], out=starts[1:])
    return pl.DataFrame(
        {"part": [p.part_id for p in ordered], "uid": [p.uid for p in ordered], "offset": starts},
        schema={"part": pl.UInt64, "uid": pl.String, "offset": pl.Int64},
    )


def load_documents(root: Path, parts: list[Part], keep: str) -> pl.DataFrame:
    """All documents with a global `idx` (input order) and a `rank` (0 = the one to keep first)."""
    if keep not in KEEP_RULES:
        raise ValueError(f"keep must be one of {', '.join(KEEP_RULES)}, got {keep!r}")
    offsets = part_offsets(parts)
    frames = [
        pl.read_parquet(docs_path(root, uid), columns=_DOC_COLUMNS).with_columns(
            (pl.col("i").cast(pl.Int64) + offset).alias("idx")
        )
        for uid, offset in zip(offsets["uid"], offsets["offset"])
    ]
    if not frames:
        return pl.DataFrame()
    docs = pl.concat(frames).drop("i").sort("idx")
    if keep == "first":
        return docs.with_columns(pl.col("idx").alias("rank"))
    ranked = docs.sort(["n_chars", "idx"], descending=[True, False]).with_row_index("rank")
    return ranked.with_columns(pl.col("rank").cast(pl.Int64)).sort("idx")


def band_edges(root: Path, band: int, offsets: pl.DataFrame, representatives: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Candidate pairs of one band: every member of a (band, key) group paired with the group's
    smallest index and with its predecessor in the group. Returns (edges u < v, rows scanned)."""
    folder = band_dir(root, band)
    files = sorted(folder.glob("part-*.parquet"))
    if not files:
        return pl.DataFrame(schema={"u": pl.Int64, "v": pl.Int64}), 0
    rows = (
        pl.scan_parquet(files)
        .join(offsets.lazy().select("part", "offset"), on="part")
        .select((pl.col("i").cast(pl.Int64) + pl.col("offset")).alias("idx"), "key")
        .join(representatives.lazy(), on="idx", how="semi")
    )
    groups = (
        rows.group_by("key")
        .agg(pl.col("idx").sort().alias("members"))
        .filter(pl.col("members").list.len() > 1)
        .select(pl.col("members"))
        .collect()
    )
    scanned = int(pl.scan_parquet(files).select(pl.len()).collect().item())
    if groups.height == 0:
        return pl.DataFrame(schema={"u": pl.Int64, "v": pl.Int64}), scanned
    exploded = groups.with_row_index("g").explode("members").with_columns(
        pl.col("members").first().over("g").alias("root"),
        pl.col("members").shift(1).over("g").alias("prev"),
    )
    star = exploded.filter(pl.col("members") != pl.col("root")).select(pl.col("root").alias("u"), pl.col("members").alias("v"))
    chain = exploded.filter(pl.col("prev").is_not_null() & (pl.col("prev") != pl.col("root"))).select(
        pl.col("prev").alias("u"), pl.col("members").alias("v")
    )
    return pl.concat([star, chain]).unique(), scanned


def load_signatures(root: Path, offsets: pl.DataFrame, wanted: np.ndarray, num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """Signatures of the documents with global indices `wanted` (sorted): (indices, matrix)."""
    idx_parts: list[np.ndarray] = []
    sig_parts: list[np.ndarray] = []
    starts = offsets["offset"].to_numpy()
    uids = offsets["uid"].to_list()
    for k, uid in enumerate(uids):
        lo = starts[k]
        hi = starts[k + 1] if k + 1 < len(uids) else np.iinfo(np.int64).max
        mine = wanted[(wanted >= lo) & (wanted < hi)]
        if len(mine) == 0:
            continue
        table = pq.read_table(docs_path(root, uid), columns=["sig"])
        local = (mine - lo).astype(np.int64)
        sigs = signatures_from_column(table.column("sig").take(local), num_perm)
        idx_parts.append(mine)
        sig_parts.append(sigs)
    if not idx_parts:
        return np.zeros(0, dtype=np.int64), np.zeros((0, num_perm), dtype=np.uint32)
    return np.concatenate(idx_parts), np.concatenate(sig_parts)


def verify_edges(edges: pl.DataFrame, root: Path, offsets: pl.DataFrame, num_perm: int, threshold: float) -> pl.DataFrame:
    """Keep the candidate pairs whose estimated Jaccard (share of equal signature values) >= threshold."""
    if edges.height == 0:
        return edges
    u = edges["u"].to_numpy()
    v = edges["v"].to_numpy()
    wanted = np.unique(np.concatenate([u, v]))
    idx, sigs = load_signatures(root, offsets, wanted, num_perm)
    pu = np.searchsorted(idx, u)
    pv = np.searchsorted(idx, v)
    keep = np.empty(len(u), dtype=bool)
    step = max(1, (1 << 22) // num_perm)
    for lo in range(0, len(u), step):
        same = sigs[pu[lo : lo + step]] == sigs[pv[lo : lo + step]]
        keep[lo : lo + step] = same.mean(axis=1) >= threshold
    return edges.filter(pl.Series(keep))


def cluster(
    root: Path,
    parts: list[Part],
    *,
    bands: int,
    num_perm: int,
    threshold: float,
    verify: bool,
    keep: str,
) -> tuple[pl.DataFrame, ClusterStats]:
    """One row per document: idx, doc_id, source, file, _row, n_chars, exact/near cluster facts.

    Columns added: `exact_root` (smallest idx with the same normalised text), `exact_duplicate`
    (an identical document ranks before it), `exact_within` (one of those is in its own source),
    `cluster_id` (smallest idx of its near-duplicate cluster, which contains its exact group),
    `cluster_size`, `kept` (first in keep order within the cluster), `is_duplicate` (cluster of
    two or more), `near_within` (not kept, and another document of its source ranks before it).
    """
    stats = ClusterStats()
    docs = load_documents(root, parts, keep)
    if docs.height == 0:
        return docs, stats
    docs = docs.with_columns(
        pl.col("idx").min().over("exact").alias("exact_root"),
        (pl.col("rank") != pl.col("rank").min().over("exact")).alias("exact_duplicate"),
        (pl.col("rank") != pl.col("rank").min().over("exact", "source")).alias("exact_within"),
    )
    offsets = part_offsets(parts)
    representatives = docs.filter((pl.col("idx") == pl.col("exact_root")) & (pl.col("n_shingles") > 0)).select("idx")
    edge_frames = []
    for band in range(bands):
        edges, scanned = band_edges(root, band, offsets, representatives)
        stats.band_rows += scanned
        edge_frames.append(edges)
    edges = pl.concat(edge_frames).unique() if edge_frames else pl.DataFrame(schema={"u": pl.Int64, "v": pl.Int64})
    stats.candidate_pairs = edges.height
    if verify:
        edges = verify_edges(edges, root, offsets, num_perm, threshold)
    stats.verified_pairs = edges.height
    stats.rejected_pairs = stats.candidate_pairs - stats.verified_pairs
    exact_links = docs.filter(pl.col("idx") != pl.col("exact_root")).select(pl.col("exact_root").alias("u"), pl.col("idx").alias("v"))
    links = pl.concat([edges, exact_links])
    n = int(docs["idx"].max()) + 1
    labels = connected_components(n, links["u"].to_numpy(), links["v"].to_numpy())
    docs = docs.with_columns(pl.Series("cluster_id", labels[docs["idx"].to_numpy()], dtype=pl.Int64))
    docs = docs.with_columns(
        pl.len().over("cluster_id").cast(pl.Int64).alias("cluster_size"),
        (pl.col("rank") == pl.col("rank").min().over("cluster_id")).alias("kept"),
        (pl.col("rank") != pl.col("rank").min().over("cluster_id", "source")).alias("near_within"),
    ).with_columns((pl.col("cluster_size") > 1).alias("is_duplicate"))
    stats.spill_bytes = sum(f.stat().st_size for f in root.rglob("*.parquet"))
    return docs.sort("idx"), stats


def previews(root: Path, parts: list[Part], indices: list[int]) -> dict[int, str]:
    """The stored preview text of a few documents by global index."""
    if not indices:
        return {}
    offsets = part_offsets(parts)
    starts = offsets["offset"].to_numpy()
    out: dict[int, str] = {}
    for idx in indices:
        k = int(np.searchsorted(starts, idx, side="right")) - 1
        table = pq.read_table(docs_path(root, offsets["uid"][k]), columns=["preview"])
        out[idx] = str(table.column("preview")[idx - int(starts[k])].as_py())
    return out
