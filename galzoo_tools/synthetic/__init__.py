"""A synthetic galaxy universe: the offline default data of every galzoo notebook.

Galaxies get latent morphology (:mod:`.morphology`), are drawn as DECaLS-like colour
cutouts (:mod:`.render`) and are classified by simulated volunteers walking the GZ DECaLS
DR5 decision tree (:mod:`.volunteers`); :mod:`.universe` puts it together and writes it to
disk in the galaxy-datasets layout. Because the truth is known, notebooks can measure
themselves against it.

>>> images, catalog = simulate(8, size=64, seed=0)
>>> images.shape
(8, 64, 64, 3)
"""

from .morphology import KINDS, Morphology, sample_morphology
from .render import render, render_flux
from .universe import TAGS, make_tags, simulate, simulate_catalog, write_universe
from .volunteers import draw_n_volunteers, expected_fractions, simulate_votes, true_fractions

__all__ = [
    "simulate",
    "simulate_catalog",
    "write_universe",
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
]
