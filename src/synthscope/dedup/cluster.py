"""Finalize of dedup: exact groups, candidate pairs from band collisions on disk, clusters.

Memory stays bounded by a row budget, not by the corpus: exact hashes and band keys are grouped
in memory up to `partition_rows` rows; beyond that they are first rewritten (one streaming pass)
into hash-partitioned Parquet and grouped one partition at a time. Only
the documents that take part in an exact group or a verified candidate pair (the "members", usually
a small share) are held in memory. Every other document is a cluster of its own, kept, with its
own index as cluster id; `document_frames` expands that implicitly, one part at a time.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from synthscope.dedup.components import connected_components
from synthscope.dedup.layout import DocLayout
from synthscope.dedup.spill import Part, band_dir

KEEP_RULES = ("first", "longest")
PARTITION_ROWS = 250_000  # rows of one in-memory group-by pass over exact hashes or band keys
PARTITIONS_DIR = "partitions"  # finalize's temporary hash partitions, under the spill folder
MEMBER_COLUMNS = ["doc_id", "source", "file", "_row", "n_chars"]
_EDGES = {"u": pl.Int64, "v": pl.Int64}


@dataclass
class ClusterStats:
    """Counts of the clustering stage, reported in the summary."""

    candidate_pairs: int = 0
    verified_pairs: int = 0
    rejected_pairs: int = 0
    band_rows: int = 0
    spill_bytes: int = 0
    extra: dict[str, int] = field(default_factory=dict)


@dataclass
class Clusters:
    """Outcome of clustering: the member documents (in a cluster of two or more) and where the
    rest are. `members` columns: idx, doc_id, source, file, _row, n_chars, rank, exact_root,
    exact_duplicate, exact_within, cluster_id, cluster_size, kept, is_duplicate, near_within."""

    layout: DocLayout
    members: pl.DataFrame
    stats: ClusterStats

    @property
    def documents(self) -> int:
        return self.layout.documents


def partitions_for(rows: int, budget: int) -> int:
    """Number of hash partitions so that one partition holds about `budget` rows."""
    return max(1, -(-rows // max(1, budget)))


def duplicated_rows(scan: pl.LazyFrame, column: str, partitions: int, folder: Path) -> Iterator[pl.DataFrame]:
    """Rows of `scan` whose `column` (a uniform 64-bit hash) occurs more than once.

    With one partition the scan is grouped in memory. Otherwise it is written once, streaming,
    to `folder` partitioned by `column % partitions` (Parquet, hive layout), and each partition
    is grouped on its own; the folder is removed afterwards."""
    if partitions == 1:
        rows = scan.collect(engine="streaming")
        yield rows.filter(pl.col(column).is_duplicated())
        return
    shutil.rmtree(folder, ignore_errors=True)
    try:
        scan.with_columns((pl.col(column) % partitions).alias("_p")).sink_parquet(
            pl.PartitionBy(folder, key="_p", include_key=False), mkdir=True, engine="streaming", compression="zstd", compression_level=1
        )
        for p in range(partitions):
            files = sorted((folder / f"_p={p}").glob("*.parquet"))
            if files:
                rows = pl.read_parquet(files)
                yield rows.filter(pl.col(column).is_duplicated())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def exact_groups(layout: DocLayout, budget: int) -> pl.DataFrame:
    """idx, exact_root of the documents whose normalised text occurs more than once."""
    folder = layout.root / PARTITIONS_DIR / "exact"
    frames = list(duplicated_rows(layout.scan(["exact"]), "exact", partitions_for(layout.documents, budget), folder))
    rows = pl.concat(frames) if frames else pl.DataFrame(schema={"idx": pl.Int64, "exact": pl.UInt64})
    return rows.select("idx", pl.col("idx").min().over("exact").alias("exact_root")).sort("idx")


def band_edges(root: Path, band: int, offsets: pl.DataFrame, copies: pl.DataFrame, budget: int) -> tuple[pl.DataFrame, int]:
    """Candidate pairs of one band among exact representatives (documents not in `copies`): every
    member of a (band, key) group paired with the group's smallest index and with its predecessor
    in the group. Returns (edges u < v, rows in the band's files)."""
    files = sorted(band_dir(root, band).glob("part-*.parquet"))
    if not files:
        return pl.DataFrame(schema=_EDGES), 0
    scanned = int(pl.scan_parquet(files).select(pl.len()).collect().item())
    rows = (
        pl.scan_parquet(files)
        .join(offsets.lazy(), on="part")
        .select((pl.col("i").cast(pl.Int64) + pl.col("offset")).alias("idx"), "key")
        .join(copies.lazy(), on="idx", how="anti")
    )
    frames = list(duplicated_rows(rows, "key", partitions_for(scanned, budget), root / PARTITIONS_DIR / f"band={band:03d}"))
    colliding = pl.concat(frames) if frames else pl.DataFrame(schema={"idx": pl.Int64, "key": pl.UInt64})
    groups = colliding.group_by("key").agg(pl.col("idx").sort().alias("members")).filter(pl.col("members").list.len() > 1)
    if groups.height == 0:
        return pl.DataFrame(schema=_EDGES), scanned
    exploded = groups.select("members").with_row_index("g").explode("members").with_columns(
        pl.col("members").first().over("g").alias("root"),
        pl.col("members").shift(1).over("g").alias("prev"),
    )
    star = exploded.filter(pl.col("members") != pl.col("root")).select(pl.col("root").alias("u"), pl.col("members").alias("v"))
    chain = exploded.filter(pl.col("prev").is_not_null() & (pl.col("prev") != pl.col("root"))).select(
        pl.col("prev").alias("u"), pl.col("members").alias("v")
    )
    return pl.concat([star, chain]).unique(), scanned


def verify_edges(edges: pl.DataFrame, layout: DocLayout, num_perm: int, threshold: float) -> pl.DataFrame:
    """Keep the candidate pairs whose estimated Jaccard (share of equal signature values) >= threshold."""
    if edges.height == 0:
        return edges
    u = edges["u"].to_numpy()
    v = edges["v"].to_numpy()
    wanted = np.unique(np.concatenate([u, v]))
    idx, sigs = layout.signatures(wanted, num_perm)
    pu = np.searchsorted(idx, u)
    pv = np.searchsorted(idx, v)
    keep = np.empty(len(u), dtype=bool)
    step = max(1, (1 << 20) // num_perm)  # 4 MiB of compared values per step
    for lo in range(0, len(u), step):
        same = sigs[pu[lo : lo + step]] == sigs[pv[lo : lo + step]]
        keep[lo : lo + step] = same.mean(axis=1) >= threshold
    return edges.filter(pl.Series(keep))


def member_table(layout: DocLayout, exact: pl.DataFrame, links: pl.DataFrame, keep: str) -> pl.DataFrame:
    """The documents of clusters of two or more, with their cluster facts (see `Clusters`)."""
    u = links["u"].to_numpy()
    v = links["v"].to_numpy()
    nodes = np.unique(np.concatenate([u, v]))
    labels = connected_components(len(nodes), np.searchsorted(nodes, u), np.searchsorted(nodes, v))
    members = layout.take(nodes, MEMBER_COLUMNS).with_columns(pl.Series("cluster_id", nodes[labels], dtype=pl.Int64))
    if keep == "first":
        members = members.with_columns(pl.col("idx").alias("rank"))
    else:  # order inside any group only: longest first, then input order
        members = members.sort(["n_chars", "idx"], descending=[True, False]).with_row_index("rank").with_columns(pl.col("rank").cast(pl.Int64))
    members = members.join(exact, on="idx", how="left", maintain_order="left")
    in_exact = pl.col("exact_root").is_not_null()
    members = members.with_columns(
        pl.col("exact_root").fill_null(pl.col("idx")),
        (in_exact & (pl.col("rank") != pl.col("rank").min().over("exact_root"))).alias("exact_duplicate"),
        (in_exact & (pl.col("rank") != pl.col("rank").min().over("exact_root", "source"))).alias("exact_within"),
        pl.len().over("cluster_id").cast(pl.Int64).alias("cluster_size"),
        (pl.col("rank") == pl.col("rank").min().over("cluster_id")).alias("kept"),
        (pl.col("rank") != pl.col("rank").min().over("cluster_id", "source")).alias("near_within"),
        pl.lit(True).alias("is_duplicate"),
    )
    return members.sort("idx")


def find_clusters(
    root: Path,
    parts: list[Part],
    *,
    bands: int,
    num_perm: int,
    threshold: float,
    verify: bool,
    keep: str,
    partition_rows: int = PARTITION_ROWS,
) -> Clusters:
    """Exact groups and near-duplicate clusters of the documents mapped into `parts` (bounded memory).

    Cluster ids are the smallest input index of the cluster (which contains each member's exact
    group); `kept` is the first document of its cluster in keep order (`first`: input order,
    `longest`: most characters, then input order)."""
    if keep not in KEEP_RULES:
        raise ValueError(f"keep must be one of {', '.join(KEEP_RULES)}, got {keep!r}")
    stats = ClusterStats()
    layout = DocLayout.of(root, parts)
    if layout.documents == 0:
        return Clusters(layout, pl.DataFrame(), stats)
    exact = exact_groups(layout, partition_rows)
    copies = exact.filter(pl.col("idx") != pl.col("exact_root"))
    offsets = layout.offsets_frame()
    edge_frames = []
    for band in range(bands):
        edges, scanned = band_edges(root, band, offsets, copies.select("idx"), partition_rows)
        stats.band_rows += scanned
        edge_frames.append(edges)
    edges = pl.concat(edge_frames).unique() if edge_frames else pl.DataFrame(schema=_EDGES)
    stats.candidate_pairs = edges.height
    if verify:
        edges = verify_edges(edges, layout, num_perm, threshold)
    stats.verified_pairs = edges.height
    stats.rejected_pairs = stats.candidate_pairs - stats.verified_pairs
    links = pl.concat([edges, copies.select(pl.col("exact_root").alias("u"), pl.col("idx").alias("v"))])
    members = member_table(layout, exact, links, keep)
    stats.spill_bytes = sum(f.stat().st_size for f in root.rglob("*.parquet"))
    return Clusters(layout, members, stats)


def keep_outside(clusters: Clusters, sources: set[str]) -> Clusters:
    """The same clusters with each kept copy chosen first among documents outside `sources` (in keep
    order), so that dropping those sources whole does not also lose a copy kept elsewhere; `kept` and
    `exact_duplicate` are recomputed, a cluster wholly inside `sources` keeps its first document."""
    members = clusters.members
    if not sources or members.height == 0:
        return clusters
    top = int(members["rank"].max()) + 1
    rank = pl.col("source").is_in(list(sources)).cast(pl.Int64) * top + pl.col("rank")
    members = members.with_columns(rank.alias("_rank")).with_columns(
        (pl.col("_rank") == pl.col("_rank").min().over("cluster_id")).alias("kept"),
        ((pl.len().over("exact_root") > 1) & (pl.col("_rank") != pl.col("_rank").min().over("exact_root"))).alias("exact_duplicate"),
    ).drop("_rank")
    return Clusters(clusters.layout, members, clusters.stats)


def document_frames(clusters: Clusters, columns: list[str] = MEMBER_COLUMNS) -> Iterator[pl.DataFrame]:
    """Every document with its cluster facts, one part (input order) at a time: documents outside
    `members` are their own cluster (cluster_id = idx, kept, not a duplicate)."""
    members = clusters.members
    m_idx = members["idx"].to_numpy() if members.height else np.zeros(0, dtype=np.int64)
    facts = {
        "exact_root": None, "exact_duplicate": False, "exact_within": False, "cluster_id": None,
        "cluster_size": 1, "kept": True, "is_duplicate": False, "near_within": False,
    }  # fmt: skip
    for offset, frame in clusters.layout.parts(columns):
        idx = np.arange(offset, offset + frame.height, dtype=np.int64)
        lo, hi = np.searchsorted(m_idx, [offset, offset + frame.height])
        local = m_idx[lo:hi] - offset
        out = {"idx": idx}
        for name, default in facts.items():
            values = idx.copy() if default is None else np.full(frame.height, default)
            if hi > lo:
                values[local] = members[name].slice(lo, hi - lo).to_numpy()
            out[name] = values
        yield pl.concat([frame, pl.DataFrame(out)], how="horizontal").select("idx", *columns, *facts)


def document_table(clusters: Clusters) -> pl.DataFrame:
    """All documents with their cluster facts in one frame (small corpora and tests)."""
    frames = list(document_frames(clusters))
    return pl.concat(frames) if frames else pl.DataFrame()


def cluster(
    root: Path,
    parts: list[Part],
    *,
    bands: int,
    num_perm: int,
    threshold: float,
    verify: bool,
    keep: str,
    partition_rows: int = PARTITION_ROWS,
) -> tuple[pl.DataFrame, ClusterStats]:
    """One row per document (in memory: for small corpora and tests; see `find_clusters`)."""
    found = find_clusters(
        root, parts, bands=bands, num_perm=num_perm, threshold=threshold, verify=verify, keep=keep, partition_rows=partition_rows
    )
    return document_table(found), found.stats


def previews(layout: DocLayout, indices: list[int]) -> dict[int, str]:
    """The stored preview text of a few documents by global index."""
    if not indices:
        return {}
    rows = layout.take(np.array(sorted(set(indices)), dtype=np.int64), ["preview"])
    return {int(i): str(p) for i, p in rows.iter_rows()}
