"""Pixels for synthetic galaxies: survey-like colour cut-outs, rendered in batches.

A batch of galaxies is drawn as float32 surface brightness on a ``(B, 3, S, S)`` grid, one
layer per stellar population (old/red, disk, young/blue), component by component (bulge, disk,
bar, arms, ring, clumps, companion, tails, shells, lens arcs, stars, the faint stars and
background galaxies around it), convolved with a per-galaxy Moffat PSF by FFT, mixed into the
survey's three bands (:mod:`.surveys`), given sky + photon noise at the image's depth, and
mapped to uint8 with a colour-preserving asinh stretch over the sky level the survey's images
have. Loops run over components and galaxies, never over pixels.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft
from scipy.special import gamma, gammaln, kv

from .morphology import ARTIFACTS, KINDS, MAX_SOURCES, Morphology
from .surveys import SURVEYS

__all__ = ["render", "render_flux", "stretch", "moffat_otf", "use_one_thread", "SKY_SIGMA"]

SKY_SIGMA = 1.0
"""Sky noise per pixel and channel, in the surface-brightness units of :func:`render_flux`."""

# weights of the three stellar-population layers: (old/red, disk, young/blue)
_RED = np.array([1.0, 0.0, 0.0], np.float32)
_DISK = np.array([0.0, 1.0, 0.0], np.float32)
_BLUE = np.array([0.0, 0.0, 1.0], np.float32)
_ARC = np.array([0.0, -0.2, 1.2], np.float32)
_DUST_EXTINCTION = np.array([0.6, 0.8, 1.0], np.float32)

_STRETCH_WHITE = 42.0  # 0-255 units per unit of asinh: sets how soon bright cores flatten
_PHOTON_GAIN = 25.0  # photon noise variance = flux / gain
_SOURCE_SLOPE = 0.8  # faint sources: N(> flux) ~ flux ** -slope
_SOURCE_FAINTEST = 1.6  # their faintest peak, in sky sigmas
_SOURCE_BRIGHTEST = 4000.0  # and their brightest, in units of the faintest


def _col(a: np.ndarray) -> np.ndarray:
    """Per-galaxy parameters as float32 (B, 1, 1) for broadcasting over pixels."""
    return np.asarray(a, np.float32)[:, None, None]


def _sersic(r: np.ndarray, re: np.ndarray, n: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Sersic profile of unit total flux (``re``, ``n``, ``q`` per galaxy, shape (B,))."""
    b = 2.0 * n - 1.0 / 3.0 + 0.009876 / n
    log_norm = np.log(2 * np.pi * re**2 * q * n) + b - 2 * n * np.log(b) + gammaln(2 * n)
    inv_n = _col(1.0 / n)
    x = np.power(r / _col(re), inv_n)
    return np.exp(_col(b) * (1.0 - x) - _col(log_norm))


def _add(flux: np.ndarray, idx: np.ndarray, image: np.ndarray, colour: np.ndarray) -> None:
    """Add a (b, S, S) component with layer weights (3,) or (b, 3) to the galaxies ``idx``."""
    colour = np.asarray(colour, np.float32)
    if colour.ndim == 1:  # one weight per layer: touch only the layers it uses
        for k in np.flatnonzero(colour):
            flux[idx, k] += image * colour[k] if colour[k] != 1 else image
        return
    flux[idx] += image[:, None, :, :] * colour[:, :, None, None]


def _splat(flux: np.ndarray, x: np.ndarray, y: np.ndarray, f: np.ndarray, colour: np.ndarray) -> None:
    """Add point sources (B, K) at frame coords x, y with flux f and layer weights (B, K, 3)."""
    bsz, _, s, _ = flux.shape
    px, py = (x + 0.5) * s - 0.5, (y + 0.5) * s - 0.5
    x0, y0 = np.floor(px).astype(np.int64), np.floor(py).astype(np.int64)
    fx, fy = px - x0, py - y0
    b = np.broadcast_to(np.arange(bsz)[:, None], x.shape)
    index, weight = [], []
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        ok = (xi >= 0) & (xi < s) & (yi >= 0) & (yi < s) & (f != 0)
        for c in range(3):
            index.append(((b[ok] * 3 + c) * s + yi[ok]) * s + xi[ok])
            weight.append((f * w * colour[..., c])[ok] * s * s)
    np.add.at(flux.reshape(-1), np.concatenate(index), np.concatenate(weight).astype(np.float32))


FFT_WORKERS = -1
"""Threads for the PSF's FFTs (-1: every core). Rendering processes set it to 1 (:func:`use_one_thread`)."""


def use_one_thread() -> None:
    """Render on one thread (FFTs and noise), for processes that each take one core."""
    global FFT_WORKERS
    import torch

    FFT_WORKERS = 1
    torch.set_num_threads(1)


@lru_cache(maxsize=8)
def _moffat_table(beta: float) -> tuple[np.ndarray, np.ndarray]:
    """The Moffat OTF against x = 2 pi alpha k, tabulated once per wing slope ``beta``."""
    nu = beta - 1.0
    x = np.linspace(1e-6, 40.0, 4000)
    otf = 2.0 ** (1.0 - nu) / gamma(nu) * x**nu * kv(nu, x)
    return x, np.concatenate([[1.0], otf[1:]]).astype(np.float32)


def moffat_otf(k: np.ndarray, fwhm: np.ndarray, beta: float) -> np.ndarray:
    """Optical transfer function of a Moffat PSF at spatial frequencies ``k`` (cycles per pixel).

    ``fwhm`` (pixels) is one value per galaxy; the result has shape ``(len(fwhm),) + k.shape``.
    A Moffat profile (1 + r²/α²)^-β has a Fourier transform proportional to x^(β-1) K_{β-1}(x)
    with x = 2π α k, which is tabulated once and interpolated per galaxy.
    """
    alpha = np.asarray(fwhm, np.float32) / (2.0 * np.sqrt(2.0 ** (1.0 / beta) - 1.0))
    x_table, otf_table = _moffat_table(float(beta))
    radii, where = np.unique(k, return_inverse=True)  # the OTF is round: each radius once
    x = (2 * np.pi) * alpha[:, None] * radii[None, :]
    otf = np.interp(x, x_table, otf_table, right=0.0).astype(np.float32)
    return otf[:, where.reshape(-1)].reshape((len(alpha),) + k.shape)


def _psf(flux: np.ndarray, m: Morphology) -> np.ndarray:
    """Convolve every layer with the galaxy's Moffat PSF (its survey's wing slope), by FFT."""
    s = flux.shape[-1]
    k = np.hypot(np.fft.fftfreq(s)[:, None], np.fft.rfftfreq(s)[None, :]).astype(np.float32)
    otf = np.empty((len(m),) + k.shape, np.float32)
    fwhm = m.psf_sigma * 2.3548 * s
    for code, survey in enumerate(SURVEYS.values()):
        i = np.flatnonzero(m.survey == code)
        if len(i):
            otf[i] = moffat_otf(k, fwhm[i], survey.moffat_beta)
    spectrum = scipy.fft.rfft2(flux, workers=FFT_WORKERS)
    spectrum *= otf[:, None]
    return scipy.fft.irfft2(spectrum, s=(s, s), workers=FFT_WORKERS, overwrite_x=True).astype(np.float32, copy=False)


def _field_sources(m: Morphology) -> tuple[np.ndarray, ...]:
    """Faint stars and background galaxies around each galaxy: x, y, flux, layer weights (B, 2K[, 3]).

    Drawn from each galaxy's own ``field_seed`` (so batching does not matter). A background
    galaxy is two close points along a random axis, a star one point; fluxes follow a
    power-law number count whose faint end sits just below what the image can show.
    """
    u = np.stack([np.random.default_rng(int(seed)).random((MAX_SOURCES, 6)) for seed in m.field_seed])
    used = np.arange(MAX_SOURCES)[None, :] < m.n_sources[:, None]
    faintest = _SOURCE_FAINTEST * 2 * np.pi * (m.psf_sigma[:, None] * 1.2) ** 2
    flux = faintest * np.minimum(u[..., 2] ** (-1 / _SOURCE_SLOPE), _SOURCE_BRIGHTEST) * used
    x, y = u[..., 0] - 0.5, u[..., 1] - 0.5
    star = u[..., 3] < 0.35
    red = np.where(star, u[..., 4], 0.4 + 0.6 * u[..., 4])
    weights = np.stack([red, 0.3 + 0 * red, 1 - red], -1)
    weights /= weights.sum(-1, keepdims=True)
    angle = np.pi * u[..., 5]
    offset = np.where(star, 0.0, (0.4 + 1.2 * u[..., 4]) * m.psf_sigma[:, None])
    dx, dy = offset * np.cos(angle), offset * np.sin(angle)
    half = np.where(star, 1.0, 0.5) * flux
    return (np.concatenate([x + dx, x - dx], 1), np.concatenate([y + dy, y - dy], 1),
            np.concatenate([half, np.where(star, 0.0, half)], 1), np.concatenate([weights, weights], 1))


def render_flux(m: Morphology, size: int) -> np.ndarray:
    """Noise-free, PSF-convolved surface brightness in the survey's bands, float32 ``(B, 3, S, S)``.

    Units: multiples of the sky noise per pixel, so a galaxy looks the same at any size.
    """
    return _render_bands(m, size)


def _render_bands(m: Morphology, size: int) -> np.ndarray:
    """:func:`render_flux` itself: every component, the PSF, the bands, then the artefacts on top."""
    bsz, s = len(m), size
    grid = ((np.arange(s, dtype=np.float32) + 0.5) / s - 0.5).astype(np.float32)
    X = grid[None, None, :] - _col(m.center_x)
    Y = grid[None, :, None] - _col(m.center_y)
    kind = m.kind
    irr = kind == KINDS.index("irregular")
    radius = m.radius.astype(np.float32)

    # lopsided warp for disturbed and irregular galaxies: outer isophotes pushed one way
    X0, Y0 = X, Y
    warp = np.maximum(m.disturbance, np.where(irr, 0.4, 0.0))
    R2 = X * X + Y * Y
    shift = _col(warp) * R2 / (_col(radius) + np.sqrt(R2))  # never folds: slope < warp < 1
    X = X - shift * _col(np.cos(m.tidal_angle))
    Y = Y - shift * _col(np.sin(m.tidal_angle))
    c, sn = _col(np.cos(m.position_angle)), _col(np.sin(m.position_angle))
    xr, yr = X * c + Y * sn, Y * c - X * sn

    body = np.zeros((bsz, 3, s, s), np.float32)
    eps = np.float32(0.3 / s)
    L = m.brightness
    bf = m.bulge_fraction
    ell_like = ~m.is_disk
    q_disk = np.clip(m.axis_ratio, 0.05, 1.0)

    # bulge / elliptical body
    has_bulge = bf > 0.005
    i = np.flatnonzero(has_bulge)
    if len(i):
        re_b = np.where(ell_like[i], radius[i], radius[i] * (0.2 + 0.25 * bf[i]))
        q_b = np.where(ell_like[i], m.axis_ratio[i], np.maximum(m.axis_ratio[i], 0.55))
        q_b = np.where(m.edge_on[i] & (m.edge_on_bulge[i] == 2), 0.55, q_b)
        yq = yr[i] / _col(q_b)
        boxy = _col(np.where(m.edge_on[i] & (m.edge_on_bulge[i] == 2), 3.0, 2.0))
        r = np.power(np.abs(xr[i]) ** boxy + np.abs(yq) ** boxy + eps**2, 1.0 / boxy)
        _add(body, i, _col(L[i] * bf[i]) * _sersic(r, re_b, m.bulge_sersic[i], q_b), _RED)

    # disk (and the bodies of irregular and diffuse galaxies)
    i = np.flatnonzero(bf < 0.995)
    h = radius / 1.68
    disk_share = (
        (1 - bf) * (1 - m.arm_strength - m.ring_strength - 0.6 * m.bar_strength)
        - m.clump_flux.sum(1)
    )
    disk_share = np.maximum(disk_share, 0.1 * (1 - bf))
    if len(i):
        q = q_disk[i]
        rd = np.sqrt(xr[i] ** 2 + (yr[i] / _col(q)) ** 2 + eps**2)
        prof = np.exp(-rd / _col(h[i])) / _col(2 * np.pi * h[i] ** 2 * q)
        colour = np.where(irr[i, None] | m.diffuse[i, None], _BLUE * 0.6 + _DISK * 0.4, _DISK)
        _add(body, i, _col(L[i] * disk_share[i]) * prof, colour)

    # disk-plane coordinates for bars, arms and rings
    i = np.flatnonzero((m.bar_strength > 0) | (m.n_arms > 0) | (m.ring_type > 0))
    if len(i):
        q = _col(q_disk[i])
        xd, yd = xr[i], yr[i] / q
        rd = np.sqrt(xd * xd + yd * yd + eps**2)
        hh = _col(h[i])
        Li = L[i] * (1 - bf[i])

        j = np.flatnonzero(m.bar_strength[i] > 0)
        if len(j):
            a = _col(m.bar_length[i][j])
            cb, sb = _col(np.cos(m.bar_angle[i][j])), _col(np.sin(m.bar_angle[i][j]))
            xb = (xd[j] * cb + yd[j] * sb) / a
            yb = (yd[j] * cb - xd[j] * sb) / (0.26 * a)
            t = xb * xb
            prof = np.exp(-(t * t + yb * yb)) / (0.26 * a * a * 3.2 * q[j])
            _add(body, i[j], _col(Li[j] * 0.6 * m.bar_strength[i][j]) * prof, _RED * 0.5 + _DISK * 0.5)

        j = np.flatnonzero(m.n_arms[i] > 0)
        if len(j):
            mm = _col(m.n_arms[i][j])
            theta = np.arctan2(yd[j], xd[j])
            tan_p = _col(np.tan(np.radians(m.pitch_angle[i][j])))
            psi = mm * (theta - np.log(rd[j] / hh[j]) / tan_p) - _col(m.arm_phase[i][j])
            wave = 0.5 + 0.5 * np.cos(psi)
            wave = wave * wave * (1.0 + 0.45 * np.sin(5.0 * theta + 3.0 * np.log(rd[j] / hh[j]) + _col(m.arm_phase[i][j])))
            # flocculent arms break into patches; lopsided ones are brighter on one side
            ph = m.clump_theta[i][j]
            lr = np.log(rd[j] / hh[j])
            patches = (np.sin(7.0 * theta + 5.0 * lr + _col(ph[:, 0])) * np.sin(4.0 * theta - 8.0 * lr + _col(ph[:, 1]))
                       + 0.6 * np.sin(11.0 * theta + 13.0 * lr + _col(ph[:, 2])))
            wave = wave * np.maximum(1.0 + _col(m.flocculence[i][j]) * 1.2 * patches, 0.0)
            wave = wave * (1.0 + _col(m.arm_asymmetry[i][j]) * np.cos(theta - _col(ph[:, 3])))
            r_in = _col(np.maximum(m.bar_length[i][j] * (m.bar_strength[i][j] > 0), 0.6 * h[i][j]))
            env = np.exp(-rd[j] / (1.15 * hh[j])) * (1 - np.exp(-((rd[j] / r_in) ** 2)))
            norm = 2 * np.pi * (1.15 * h[i][j]) ** 2 * 0.375 * 0.75 * q_disk[i][j]
            _add(body, i[j], _col(Li[j] * m.arm_strength[i][j] / norm) * env * wave, _BLUE * 0.7 + _DISK * 0.3)

        j = np.flatnonzero(m.ring_type[i] > 0)
        if len(j):
            R = _col(m.ring_radius[i][j])
            w = 0.07 * R + 0.5 * _col(m.psf_sigma[i][j])
            prof = np.exp(-0.5 * ((rd[j] - R) / w) ** 2) / (2 * np.pi * R * w * 2.5066 * q[j])
            # partial rings: brightness falls off towards one side (to nothing at asymmetry 1)
            theta = np.arctan2(yd[j], xd[j])
            prof = prof * (1.0 + _col(m.ring_asymmetry[i][j]) * np.cos(theta - _col(m.clump_theta[i][j][:, 4])))
            _add(body, i[j], _col(Li[j] * m.ring_strength[i][j]) * prof, _BLUE * 0.6 + _DISK * 0.4)

    # dust lane across edge-on disks: attenuates the body, more in blue
    i = np.flatnonzero(m.dust_lane)
    if len(i):
        w = _col(np.maximum(0.3 * h[i] * q_disk[i], 0.8 / s))
        tau = _col(m.dust_strength[i]) * np.exp(-0.5 * ((yr[i] - 0.4 * w) / w) ** 2)
        tau = tau * np.exp(-np.abs(xr[i]) / _col(2.5 * h[i]))
        body[i] *= np.exp(-tau[:, None] * _DUST_EXTINCTION[None, :, None, None])

    flux = body
    # irregular galaxies: a few large blobs on top of the lopsided disk
    i = np.flatnonzero(irr)
    for k in range(3):
        if not len(i):
            break
        rk = m.clump_r[i, k] * radius[i] * 0.6
        cx = m.center_x[i] + rk * np.cos(m.clump_theta[i, k])
        cy = m.center_y[i] + rk * np.sin(m.clump_theta[i, k])
        sig = 0.35 * radius[i]
        d2 = (grid[None, None, :] - _col(cx)) ** 2 + (grid[None, :, None] - _col(cy)) ** 2
        prof = np.exp(-0.5 * d2 / _col(sig**2)) / _col(2 * np.pi * sig**2)
        _add(flux, i, _col(0.12 * L[i]) * prof, _BLUE * 0.7 + _DISK * 0.3)

    # companion galaxy
    i = np.flatnonzero(m.companion)
    if len(i):
        d = np.sqrt((X0[i] - _col(m.companion_dx[i])) ** 2 + (Y0[i] - _col(m.companion_dy[i])) ** 2 + eps**2)
        ones = np.ones(len(i))
        prof = _sersic(d, m.companion_radius[i], 2.5 * ones, ones)
        _add(flux, i, _col(L[i] * m.companion_flux[i]) * prof, _RED * 0.8 + _DISK * 0.2)

    # tidal tails: two curved streams leaving the galaxy in opposite directions
    i = np.flatnonzero(m.tidal)
    if len(i):
        ca, sa = _col(np.cos(m.tidal_angle[i])), _col(np.sin(m.tidal_angle[i]))
        xt, yt = X0[i] * ca + Y0[i] * sa, Y0[i] * ca - X0[i] * sa
        rr = _col(radius[i])
        kappa = _col(m.tidal_curvature[i])
        tails = np.zeros_like(xt)
        for sign in (1.0, -1.0):
            xs, ys = sign * xt, sign * yt
            xp = np.maximum(xs, 0.0)
            width = 0.1 * rr + 0.3 * xp
            d = ys - kappa * xp * xp / (4.0 * rr)
            tails += np.exp(-0.5 * (d / width) ** 2 - xp / (1.3 * rr)) * (1 - np.exp(-((xp / rr) ** 2))) * (xs > 0)
        norm = _col(2 * 2.5066 * (1.3 * radius[i]) * (0.1 * radius[i] + 0.4 * radius[i]))
        _add(flux, i, _col(L[i] * m.tidal_strength[i]) * tails / norm, _DISK * 0.7 + _BLUE * 0.3)

    # shells: three faint arcs at growing radii, alternating sides, around merged ellipticals
    i = np.flatnonzero(m.shells)
    if len(i):
        rho = np.sqrt(X0[i] ** 2 + Y0[i] ** 2 + eps**2)
        phi = np.arctan2(Y0[i], X0[i])
        arcs = np.zeros_like(rho)
        for k, scale in enumerate((1.6, 2.4, 3.3)):
            R = _col(scale * radius[i])
            side = np.cos(phi - _col(m.tidal_angle[i] + k * np.pi))
            arcs += np.exp(-0.5 * ((rho - R) / (0.12 * R)) ** 2) * np.maximum(side, 0.0) ** 2 / (scale * scale)
        norm = _col(2.5066 * 0.12 * radius[i] ** 2 * 3.0)
        _add(flux, i, _col(L[i] * m.shell_strength[i]) * arcs / norm, _RED * 0.6 + _DISK * 0.4)

    # strong lensing: a thin blue arc and a fainter counter-image at the Einstein radius
    i = np.flatnonzero(m.lens)
    if len(i):
        rho = np.sqrt(X0[i] ** 2 + Y0[i] ** 2 + eps**2)
        phi = np.arctan2(Y0[i], X0[i])
        thE = _col(m.lens_radius[i])
        w = _col(m.psf_sigma[i] * 0.8)
        dphi = np.angle(np.exp(1j * (phi - _col(m.lens_angle[i])))).astype(np.float32)
        radial = np.exp(-0.5 * ((rho - thE) / w) ** 2)
        arcs = radial * (np.exp(-0.5 * (dphi / 0.55) ** 2) + 0.4 * np.exp(-0.5 * ((np.abs(dphi) - np.pi) / 0.22) ** 2))
        _add(flux, i, _col(L[i] * 0.25 / (2.5066 * m.lens_radius[i] * m.psf_sigma[i] * 0.8 * 1.6)) * arcs, _ARC)

    # point sources: clumps (along the arms of spirals) and foreground stars
    k = np.arange(m.clump_r.shape[1])
    spiral = m.n_arms > 0
    n_arm = np.maximum(m.n_arms, 1)[:, None]
    r_k = m.clump_r * radius[:, None] * np.where(spiral, 1.0, 0.7)[:, None]
    r_k = np.maximum(r_k, 0.3 * radius[:, None])
    tan_p = np.tan(np.radians(np.where(spiral, m.pitch_angle, 20.0)))[:, None]
    on_arm = np.log(r_k / h[:, None]) / tan_p + (2 * np.pi * (k[None, :] % n_arm) + m.arm_phase[:, None]) / n_arm
    th = np.where(spiral[:, None], on_arm + 0.1 * np.sin(7 * m.clump_theta), m.clump_theta)
    xd, yd = r_k * np.cos(th), r_k * np.sin(th) * q_disk[:, None]
    c1, s1 = np.cos(m.position_angle)[:, None], np.sin(m.position_angle)[:, None]
    cx = m.center_x[:, None] + xd * c1 - yd * s1
    cy = m.center_y[:, None] + xd * s1 + yd * c1
    clump_colour = np.broadcast_to(_BLUE, cx.shape + (3,))
    star_colour = np.stack([m.star_color, 0.3 + 0.0 * m.star_color, 1.0 - m.star_color], axis=-1) / 1.3
    saturated = m.artifact == ARTIFACTS.index("saturated-star")
    sat_x = np.where(saturated, m.artifact_offset, 2.0)[:, None]
    sat_y = np.where(saturated, 0.3 * np.sign(m.artifact_offset + 1e-9), 2.0)[:, None]
    sx, sy, sf, sc = _field_sources(m)
    px = np.concatenate([cx, m.star_x, sat_x, sx], axis=1)
    py = np.concatenate([cy, m.star_y, sat_y, sy], axis=1)
    pf = np.concatenate([m.clump_flux * L[:, None], m.star_flux, np.where(saturated, 60.0, 0.0)[:, None], sf], axis=1)
    pc = np.concatenate([clump_colour, star_colour, np.ones((bsz, 1, 3)) / 3, sc], axis=1)
    _splat(flux, px, py, pf, pc)

    rgb = _to_bands(_psf(flux, m), m)

    # saturated stars: a broad halo and a bleed trail along the columns
    i = np.flatnonzero(saturated)
    if len(i):
        dx = grid[None, None, :] - _col(sat_x[i, 0])
        dy = grid[None, :, None] - _col(sat_y[i, 0])
        halo = 1500.0 * np.exp(-0.5 * (dx * dx + dy * dy) / 0.03**2)
        bleed = 3000.0 * np.exp(-0.5 * (dx / 0.006) ** 2) * (np.abs(dy) < 0.12)
        rgb[i] += (halo + bleed)[:, None]

    # satellite trails: a straight line in one band
    i = np.flatnonzero(m.artifact == ARTIFACTS.index("satellite-trail"))
    if len(i):
        d = X0[i] * _col(np.cos(m.artifact_angle[i])) + Y0[i] * _col(np.sin(m.artifact_angle[i])) - _col(m.artifact_offset[i])
        line = 60.0 * np.exp(-0.5 * (d / 0.004) ** 2)
        rgb[i] += line[:, None] * np.eye(3, dtype=np.float32)[m.artifact_channel[i]][:, :, None, None]
    return rgb


def _to_bands(layers: np.ndarray, m: Morphology) -> np.ndarray:
    """Mix the population layers (B, 3, S, S) into the survey's bands (B, 3, S, S)."""
    basis = np.stack([survey.colour_basis() for survey in SURVEYS.values()])[m.survey]  # (B, layer, band)
    colour = (basis * m.colour_tint[:, None, :].astype(np.float32))[:, :, :, None, None]
    bands = np.empty_like(layers)
    for band in range(3):
        np.multiply(layers[:, 0], colour[:, 0, band], out=bands[:, band])
        bands[:, band] += layers[:, 1] * colour[:, 1, band]
        bands[:, band] += layers[:, 2] * colour[:, 2, band]
    return bands


def stretch(flux: np.ndarray, noise_level: np.ndarray, sky_level: np.ndarray) -> np.ndarray:
    """Colour-preserving asinh stretch of ``(B, 3, S, S)`` flux (sky sigmas) to uint8 ``(B, S, S, 3)`` images.

    Faint light maps linearly, so the sky noise becomes ``noise_level`` (0-255, per galaxy:
    deeper images look smoother); bright light is compressed by asinh of the mean of the
    bands, which keeps each pixel's colour; ``sky_level`` (B, 3) is added on top, as in the
    published cut-outs, whose sky is not black.
    """
    soft = (np.asarray(noise_level, np.float32) / np.float32(3 * _STRETCH_WHITE))[:, None, None]
    x = flux[:, 0] + flux[:, 1]
    x += flux[:, 2]
    x *= soft  # the mean of the bands in units of the softening
    x[np.abs(x) < 1e-4] = 1e-4
    scale = np.arcsinh(x)
    scale /= x
    scale *= np.asarray(noise_level, np.float32)[:, None, None]
    rgb = flux * scale[:, None]
    rgb += np.asarray(sky_level, np.float32)[:, :, None, None] + np.float32(0.5)
    np.clip(rgb, 0, 255, out=rgb)
    return rgb.astype(np.uint8).transpose(0, 2, 3, 1)


def _add_noise(flux: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Sky + photon noise, from one generator per galaxy (so batching does not matter)."""
    import torch

    noise = np.empty_like(flux)
    out = torch.from_numpy(noise)
    gen = torch.Generator()
    for b, seed in enumerate(seeds):
        torch.randn(flux.shape[1:], generator=gen.manual_seed(int(seed)), out=out[b])
    sigma = np.maximum(flux, 0.0)
    sigma *= np.float32(1.0 / _PHOTON_GAIN)
    sigma += np.float32(SKY_SIGMA**2)
    np.sqrt(sigma, out=sigma)
    noise *= sigma
    noise += flux
    return noise


def _bad_pixels(images: np.ndarray, m: Morphology) -> None:
    """Hot columns in one channel (in place, on the uint8 images)."""
    i = np.flatnonzero(m.artifact == ARTIFACTS.index("bad-pixels"))
    if not len(i):
        return
    s = images.shape[1]
    col = np.clip(((m.artifact_offset[i] + 0.5) * s).astype(np.int64), 0, s - 2)
    rows = np.arange(s)
    for dx in (0, 1):
        images[i[:, None], rows[None, :], (col + dx)[:, None], m.artifact_channel[i][:, None]] = 255


def _edge_gaps(images: np.ndarray, m: Morphology) -> None:
    """Missing data at the edge of the survey's footprint: a black strip along one side (in place)."""
    s = images.shape[1]
    for b in np.flatnonzero(m.artifact == ARTIFACTS.index("edge-gap")):
        width = int(round((0.1 + abs(m.artifact_offset[b])) * s))
        side = int(m.artifact_angle[b] / np.pi * 4) % 4
        strip = (slice(None, width), slice(None)) if side < 2 else (slice(None), slice(None, width))
        view = images[b] if side % 2 == 0 else images[b, ::-1, ::-1]
        view[strip] = 0


def render(m: Morphology, size: int = 128, noise: bool = True) -> np.ndarray:
    """uint8 RGB images ``(B, S, S, 3)`` of the galaxies in ``m`` (``noise=False`` for tests)."""
    if not 32 <= size <= 512:
        raise ValueError(f"size must be between 32 and 512 pixels, got {size}")
    flux = _render_bands(m, size)
    if noise:
        flux = _add_noise(flux, m.noise_seed)
    images = stretch(flux, m.noise_level, m.sky_level)
    _bad_pixels(images, m)
    _edge_gaps(images, m)
    return images
