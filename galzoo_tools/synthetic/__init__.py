"""A synthetic galaxy universe: the offline default data of every galzoo notebook.

Galaxies get latent morphology (:mod:`.morphology`), are drawn as colour cut-outs the way a
survey shows them (:mod:`.render`, with the presets of :mod:`.surveys`: ``decals`` by default,
``sdss``) and are classified by simulated volunteers walking the GZ DECaLS
DR5 decision tree (:mod:`.volunteers`); :mod:`.universe` puts it together and writes it to
disk in the galaxy-datasets layout, and :mod:`.cache` keeps universes for reuse. Because the truth is known, notebooks can measure
themselves against it.

>>> images, catalog = simulate(8, size=64, seed=0)
>>> images.shape
(8, 64, 64, 3)
"""

from .cache import cached_universe, trained_universe, universe_description, universe_folder
from .morphology import KINDS, Morphology, sample_morphology
from .render import render, render_flux
from .surveys import SURVEYS, Survey, get_survey
from .universe import MIXED, SIMULATOR_VERSION, TAGS, make_tags, simulate, simulate_catalog, write_universe
from .volunteers import draw_n_volunteers, expected_fractions, simulate_votes, true_fractions

__all__ = [
    "simulate",
    "simulate_catalog",
    "write_universe",
    "cached_universe",
    "universe_folder",
    "universe_description",
    "trained_universe",
    "sample_morphology",
    "Morphology",
    "KINDS",
    "render",
    "render_flux",
    "true_fractions",
    "expected_fractions",
    "simulate_votes",
    "draw_n_volunteers",
    "make_tags",
    "TAGS",
    "SURVEYS",
    "Survey",
    "get_survey",
    "MIXED",
    "SIMULATOR_VERSION",
]
