"""Diversity analyzer: lexical diversity, self-BLEU and embedding spread per source on a fixed budget."""

from synthscope.diversity.analyzer import DiversityAnalyzer

__all__ = ["DiversityAnalyzer"]
