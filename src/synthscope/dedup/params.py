"""LSH banding parameters: bands x rows minimising false positives plus false negatives.

The same grid search and integrals as datasketch's `MinHashLSH` (`_optimal_param`), so a
threshold and num_perm give the same (bands, rows) in both tools.
"""

from __future__ import annotations

from functools import lru_cache

DEFAULT_THRESHOLD = 0.8
# Recall first: candidate pairs are verified by estimated Jaccard afterwards, so a false positive of
# the banding only costs a comparison while a false negative is a missed duplicate. (0.05, 0.95)
# gives 16 bands x 8 rows for threshold 0.8 and 128 permutations (datasketch's (0.5, 0.5): 9 x 13,
# which finds a pair of Jaccard 0.85 only 69% of the time).
DEFAULT_WEIGHTS = (0.05, 0.95)


def _false_positive(threshold: float, bands: int, rows: int) -> float:
    from scipy.integrate import quad  # here: scipy takes a while to import, and only the driver needs this

    return quad(lambda s: 1 - (1 - s ** float(rows)) ** float(bands), 0.0, threshold)[0]


def _false_negative(threshold: float, bands: int, rows: int) -> float:
    from scipy.integrate import quad

    return quad(lambda s: 1 - (1 - (1 - s ** float(rows)) ** float(bands)), threshold, 1.0)[0]


@lru_cache(maxsize=64)
def optimal_bands(threshold: float, num_perm: int, fp_weight: float = DEFAULT_WEIGHTS[0], fn_weight: float = DEFAULT_WEIGHTS[1]) -> tuple[int, int]:
    """(bands, rows) with bands x rows <= num_perm minimising the weighted FP + FN probability."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be between 0 and 1 (exclusive), got {threshold}")
    if num_perm < 2:
        raise ValueError(f"num_perm must be at least 2 for banding, got {num_perm}")
    best = (float("inf"), (0, 0))
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            error = fp_weight * _false_positive(threshold, bands, rows) + fn_weight * _false_negative(threshold, bands, rows)
            if error < best[0]:
                best = (error, (bands, rows))
    return best[1]
