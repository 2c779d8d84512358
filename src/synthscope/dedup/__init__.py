"""Exact and MinHash near-duplicate detection, interoperable with datasketch."""

from synthscope.dedup.hashing import shingle_hash, shingles
from synthscope.dedup.minhash import minhash_signatures, to_datasketch

__all__ = ["minhash_signatures", "shingle_hash", "shingles", "to_datasketch"]
