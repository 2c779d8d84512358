"""Connected components of an edge list by vectorised union-find (hooking + pointer jumping)."""

from __future__ import annotations

import numpy as np


def connected_components(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Label of every node 0..n-1: the smallest node index of its component.

    Each round hooks the larger root of every edge onto the smaller one (`np.minimum.at`), then
    compresses paths by pointer jumping until every node points at a root. Parents only ever
    decrease, so the rounds terminate with each component labelled by its minimum.
    """
    parent = np.arange(n, dtype=np.int64)
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    if len(u) == 0:
        return parent
    while True:
        pu, pv = parent[u], parent[v]
        differ = pu != pv
        if not differ.any():
            return parent
        pu, pv = pu[differ], pv[differ]
        np.minimum.at(parent, np.maximum(pu, pv), np.minimum(pu, pv))
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
        u, v = u[differ], v[differ]
