"""Similarity search: the galaxies nearest a query in representation space, and how good they are (notebook 04).

* :mod:`.index` — :class:`SimilarityIndex`, an exact (or FAISS) nearest-neighbour search;
* :mod:`.evaluate` — :func:`precision_at_k_per_tag` and :func:`compare_encoders`, the paper's measure;
* :mod:`.plots` — neighbour grids, precision per tag, and an interactive query picker.

>>> index = SimilarityIndex(features, metric="cosine")
>>> rows, distances = index.search(features[:3], k=10)   # (3, 10) each
>>> table = precision_at_k_per_tag(features, catalog["tags"], k=(7, 10, 50))
"""

from .evaluate import compare_encoders, precision_at_k_per_tag, tag_matrix, typical_galaxy
from .index import Metric, SimilarityIndex, cosine_similarity, faiss_available
from .plots import explore_neighbours, plot_neighbours, plot_precision_per_tag

__all__ = [
    "Metric",
    "SimilarityIndex",
    "cosine_similarity",
    "faiss_available",
    "tag_matrix",
    "typical_galaxy",
    "precision_at_k_per_tag",
    "compare_encoders",
    "plot_neighbours",
    "plot_precision_per_tag",
    "explore_neighbours",
]
