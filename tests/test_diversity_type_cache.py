"""The per-process cache of per-word-type values (diversity/type_cache.py)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from synthscope.diversity.type_cache import TypeCache
from synthscope.hashes import xxh3_64_strings


def _values(words: pa.Array) -> dict[str, np.ndarray]:
    calls.append(len(words))
    strings = words.to_pylist()
    return {"hash": xxh3_64_strings(strings), "pair": np.asarray([[len(w), ord(w[0])] for w in strings], dtype=np.int64)}


calls: list[int] = []


def _check(cache: TypeCache, vocab: list[str]) -> None:
    rows, columns = cache.rows(np.asarray(vocab, dtype=object))
    expected = _values(pa.array(vocab, pa.large_string()))
    calls.pop()
    for name, column in expected.items():
        assert np.array_equal(columns[name][rows], column)


def test_rows_give_the_values_of_each_word_computed_once() -> None:
    calls.clear()
    cache = TypeCache(_values, max_types=100)
    _check(cache, ["the", "cat", "sat"])
    _check(cache, ["on", "the", "mat", "cat"])
    _check(cache, ["mat", "the"])
    assert calls == [3, 2]  # only new words computed: none the third time
    assert cache.size == 5


def test_a_full_cache_starts_again_and_a_larger_vocabulary_is_not_kept() -> None:
    calls.clear()
    cache = TypeCache(_values, max_types=4)
    _check(cache, ["a", "b", "c"])
    _check(cache, ["c", "d", "e"])  # two new words do not fit: started again with these three
    assert calls == [3, 3] and cache.size == 3
    _check(cache, [f"w{i}" for i in range(9)])  # larger than the cache: computed on its own
    assert cache.size == 3
    _check(cache, ["e", "d"])
    assert calls == [3, 3, 9]
