"""Detect's columnar state: the same sums as per-source addition, in any grouping, and cheap to pickle."""

from __future__ import annotations

import pickle
import random

import numpy as np

from synthscope.detect.states import SourceScores, SourceTable, merge_tables


def _part(rng: random.Random, names: list[str], topics: bool = True) -> dict[str, SourceScores]:
    chosen = rng.sample(names, rng.randrange(1, len(names)))
    return {
        n: SourceScores(np.array([rng.random() for _ in range(4)]), np.array([rng.choice([-0.0, 0.0, rng.random() - 0.5]) for _ in range(3)]),
                        rng.randrange(3), np.array([rng.random() for _ in range(5)], dtype=np.float32) if topics else None)
        for n in chosen
    }


def _per_source(parts: list[dict[str, SourceScores]]) -> dict[str, SourceScores]:
    """The previous state: a dict merged one source at a time (a's + b's)."""
    out: dict[str, SourceScores] = {}
    for part in parts:
        for name, s in part.items():
            out[name] = out[name] + s if name in out else s
    return out


def _same(a: SourceScores, b: SourceScores) -> bool:
    arrays = [(a.counts, b.counts), (a.z_sum, b.z_sum)] + ([(a.topic_sum, b.topic_sum)] if a.topic_sum is not None else [])
    bits = all(x.dtype == y.dtype and x.tobytes() == y.tobytes() for x, y in arrays)  # bit for bit, the sign of zero included
    return bits and a.unsupported == b.unsupported and (a.topic_sum is None) == (b.topic_sum is None)


def test_merged_table_equals_per_source_addition_bit_for_bit() -> None:
    rng = random.Random(4)
    names = [f"s{i}" for i in range(40)]
    parts = [_part(rng, names) for _ in range(12)]
    expected = _per_source(parts)
    state: object = {}
    for part in parts:
        table = SourceTable.of(part)
        state = merge_tables(state, pickle.loads(pickle.dumps(table)))  # type: ignore[arg-type]
    assert isinstance(state, SourceTable)
    assert set(state) == set(expected) and len(state) == len(expected)
    assert all(_same(state[n], expected[n]) for n in expected)
    assert "nope" not in state and all(n in state for n in expected)
    # a tree of merges sums in another order: equal up to rounding
    pairs = [merge_tables(SourceTable.of(a), SourceTable.of(b)) for a, b in zip(parts[::2], parts[1::2])]
    tree = merge_tables(merge_tables(pairs[0], pairs[1]), merge_tables(merge_tables(pairs[2], pairs[3]), merge_tables(pairs[4], pairs[5])))
    assert all(np.allclose(tree[n].z_sum, expected[n].z_sum) and tree[n].unsupported == expected[n].unsupported for n in expected)


def test_merge_leaves_its_inputs_alone_and_keeps_missing_topics_missing() -> None:
    rng = random.Random(5)
    names = [f"s{i}" for i in range(10)]
    a, b = SourceTable.of(_part(rng, names)), SourceTable.of(_part(rng, names))
    before = {n: (a[n].counts.copy(), a[n].z_sum.copy()) for n in a}
    merge_tables(a, b)
    assert all(np.array_equal(a[n].counts, c) and np.array_equal(a[n].z_sum, z) for n, (c, z) in before.items())
    no_topics = SourceTable.of(_part(rng, names, topics=False))
    assert merge_tables(a, no_topics).topic_sum is None
    assert merge_tables({}, b) is b and merge_tables(a, {}) is a
