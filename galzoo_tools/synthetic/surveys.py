"""Survey presets: how a sky survey's cut-outs look, from its published parameters.

A preset says what a survey does to a galaxy before a volunteer (or a network) sees it: how
the cut-out is scaled to the galaxy (so how big the galaxy and the seeing look in the frame),
the seeing and the shape of the PSF (Moffat), the depth (sky noise after the colour stretch,
which varies from image to image), the sky level the stretch leaves, the colours its bands
give old and young stars, and how crowded its skies are (faint stars and background
galaxies). Numbers come from the surveys' papers and from aggregate statistics of real
cut-outs resized to 128 px (median and 10-90 % range of sky level, noise, peak S/N, size,
crowding and colour; see ``galzoo_tools.image_stats``).

- ``decals`` (default): Galaxy Zoo DECaLS DR5 (Walmsley et al. 2022). g, r, z at 0.262"/px;
  cut-outs of 424 px at ``max(0.04 * petroR50, 0.1)`` arcsec per pixel, so most galaxies fill
  the same share of the frame and small ones sit smaller inside a 42" field; median seeing
  about 1.3" (Dey et al. 2019); a colour stretch that leaves galaxies nearly grey on a
  brightish sky.
- ``sdss``: Galaxy Zoo 2 (Willett et al. 2013). g, r, i at 0.396"/px; cut-outs of 424 px at
  ``0.02 * petroR90`` arcsec per pixel; median seeing about 1.4"; shallower, a dark sky and
  more saturated colours (yellow bulges, blue disks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Survey", "SURVEYS", "DECALS", "SDSS", "get_survey", "survey_names"]


@dataclass(frozen=True)
class Survey:
    """One survey's look. Angles in arcsec; 0-255 levels as in the published cut-outs."""

    name: str
    bands: tuple[str, str, str]  # what the R, G, B channels show
    cutout_per_r50: float  # cut-out width / half-light radius for galaxies above the floor
    cutout_floor: float  # smallest cut-out width, arcsec (0: none)
    r50_median: float  # median half-light radius of the sample, arcsec
    r50_scatter: float  # its log-normal scatter
    seeing_median: float  # PSF FWHM, arcsec
    seeing_scatter: float  # log-normal scatter from night to night
    moffat_beta: float  # PSF wing slope (smaller: heavier wings)
    noise_median: float  # sky noise after the stretch, 0-255
    noise_scatter: float  # its log-normal scatter (depth varies across the survey)
    sky_level: tuple[float, float, float]  # sky left by the stretch per channel, 0-255
    sky_scatter: float  # image-to-image spread of that level, 0-255
    brightness_scatter: float  # log-normal scatter of galaxy flux at fixed size
    sources_per_field: float  # median faint stars + background galaxies in a 60" field
    sources_scatter: float  # log-normal scatter of that density across the sky
    colour_red: tuple[float, float, float]  # old stars (bulges, ellipticals), per channel
    colour_disk: tuple[float, float, float]  # a disk's mix of stars
    colour_blue: tuple[float, float, float]  # young stars (arms, clumps, rings)
    colour_jitter: float  # per-galaxy log-normal scatter of R/G and G/B (redder or bluer)

    def colour_basis(self) -> np.ndarray:
        """(3 components: red, disk, blue) x (3 channels) float32."""
        return np.array([self.colour_red, self.colour_disk, self.colour_blue], np.float32)


DECALS = Survey(
    name="decals",
    bands=("z", "r", "g"),
    cutout_per_r50=424 * 0.04,
    cutout_floor=424 * 0.1,
    r50_median=3.2,
    r50_scatter=0.45,
    seeing_median=1.3,
    seeing_scatter=0.18,
    moffat_beta=2.8,
    noise_median=5.6,
    noise_scatter=0.3,
    sky_level=(16.4, 15.6, 15.6),
    sky_scatter=0.8,
    brightness_scatter=0.55,
    sources_per_field=42.0,
    sources_scatter=0.6,
    colour_red=(1.1, 1.0, 0.92),
    colour_disk=(1.05, 1.0, 0.96),
    colour_blue=(0.95, 1.0, 1.06),
    colour_jitter=0.025,
)

SDSS = Survey(
    name="sdss",
    bands=("i", "r", "g"),
    cutout_per_r50=424 * 0.02 * 2.3,  # petroR90 is 2.2-2.9 petroR50 (disks to ellipticals)
    cutout_floor=0.0,
    r50_median=3.0,
    r50_scatter=0.35,
    seeing_median=1.45,
    seeing_scatter=0.15,
    moffat_beta=3.5,
    noise_median=4.0,
    noise_scatter=0.35,
    sky_level=(3.2, 3.2, 1.5),
    sky_scatter=1.0,
    brightness_scatter=0.45,
    sources_per_field=30.0,
    sources_scatter=0.55,
    colour_red=(1.3, 1.0, 0.68),
    colour_disk=(1.12, 1.0, 0.92),
    colour_blue=(0.9, 1.0, 1.35),
    colour_jitter=0.035,
)

SURVEYS: dict[str, Survey] = {s.name: s for s in (DECALS, SDSS)}
"""Every preset by name; a galaxy's ``survey`` code indexes ``list(SURVEYS)``."""


def survey_names() -> list[str]:
    """The preset names, in code order."""
    return list(SURVEYS)


def get_survey(survey: str | Survey) -> Survey:
    """The preset called ``survey`` (or ``survey`` itself), with a clear error for unknown names."""
    if isinstance(survey, Survey):
        return survey
    if survey not in SURVEYS:
        raise ValueError(f"unknown survey preset {survey!r}; choose one of {', '.join(SURVEYS)}")
    return SURVEYS[survey]
