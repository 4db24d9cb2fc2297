"""Representations: the pooled encoder features of galaxies, and what to do with them (notebook 03).

* :mod:`.embed` — :func:`embed` (features of images or a catalog, for any model),
  :func:`catalog_embeddings` (the same with ids and run info), and storing them
  (:func:`save_embeddings`, :func:`load_embeddings`, :func:`align_embeddings`);
* :mod:`.pca` — :func:`fit_pca` and 2-D maps (:func:`map_2d`);
* :mod:`.baselines` — pixel and random features a representation must beat;
* :mod:`.plots` — maps with thumbnails and explained variance.

>>> features = embed("reference", "data/synthetic_sample/catalog.parquet")   # (400, 1280) float32
>>> coords = map_2d(features, "tsne")
"""

from .baselines import pixel_features, random_features
from .embed import (
    EMBEDDINGS_FILE,
    Embeddings,
    ImagesOrCatalog,
    ModelLike,
    align_embeddings,
    catalog_embeddings,
    embed,
    embed_catalog,
    embed_images,
    load_embeddings,
    load_encoder_model,
    save_embeddings,
)
from .pca import INCREMENTAL_PCA_ELEMENTS, fit_pca, map_2d, map_methods
from .plots import plot_explained_variance, plot_map_with_thumbnails, thumbnail

__all__ = [
    "Embeddings",
    "EMBEDDINGS_FILE",
    "ImagesOrCatalog",
    "INCREMENTAL_PCA_ELEMENTS",
    "ModelLike",
    "embed",
    "catalog_embeddings",
    "load_encoder_model",
    "save_embeddings",
    "load_embeddings",
    "align_embeddings",
    "fit_pca",
    "map_2d",
    "map_methods",
    "pixel_features",
    "random_features",
    "thumbnail",
    "plot_map_with_thumbnails",
    "plot_explained_variance",
    "embed_images",
    "embed_catalog",
]
