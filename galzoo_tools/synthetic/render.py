"""Pixels for synthetic galaxies: DECaLS-like grz colour cutouts, rendered in batches.

A batch of galaxies is drawn as float32 surface brightness on a ``(B, 3, S, S)`` grid (R, G,
B channels standing for z, r, g), component by component (bulge, disk, bar, arms, ring,
clumps, companion, tails, lens arcs, stars), convolved with a per-galaxy PSF by FFT, given
sky + photon noise, and mapped to uint8 with a colour-preserving asinh stretch (as the
Legacy Survey / Galaxy Zoo DECaLS images are). Loops run over components, never over pixels.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from scipy.special import gammaln

from .morphology import ARTIFACTS, KINDS, Morphology

__all__ = ["render", "render_flux", "stretch", "SKY_SIGMA"]

SKY_SIGMA = 1.0
"""Sky noise per pixel and channel, in the surface-brightness units of :func:`render_flux`."""

# colours as (R, G, B) = (z, r, g) weights per unit flux
_RED = np.array([1.15, 0.9, 0.62], np.float32)
_DISK = np.array([0.95, 0.95, 0.95], np.float32)
_BLUE = np.array([0.6, 0.9, 1.35], np.float32)
_ARC = np.array([0.4, 0.85, 1.6], np.float32)
_DUST_EXTINCTION = np.array([0.55, 0.8, 1.0], np.float32)

_STRETCH_SOFTENING = 2.5  # asinh softening, in sky sigmas
_STRETCH_WHITE = 300.0  # surface brightness mapped to full scale
_PHOTON_GAIN = 25.0  # photon noise variance = flux / gain


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
    """Add a (b, S, S) component in colour (3,) or (b, 3) to the galaxies ``idx``."""
    colour = np.asarray(colour, np.float32)
    if colour.ndim == 1:
        colour = np.broadcast_to(colour, (len(idx), 3))
    flux[idx] += image[:, None, :, :] * colour[:, :, None, None]


def _splat(flux: np.ndarray, x: np.ndarray, y: np.ndarray, f: np.ndarray, colour: np.ndarray) -> None:
    """Add point sources (B, K) at frame coords x, y with flux f and colour (B, K, 3)."""
    bsz, _, s, _ = flux.shape
    px, py = (x + 0.5) * s - 0.5, (y + 0.5) * s - 0.5
    x0, y0 = np.floor(px).astype(np.int64), np.floor(py).astype(np.int64)
    fx, fy = px - x0, py - y0
    b = np.broadcast_to(np.arange(bsz)[:, None], x.shape)
    flat = flux.reshape(-1)
    for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        ok = (xi >= 0) & (xi < s) & (yi >= 0) & (yi < s) & (f > 0)
        for c in range(3):
            index = ((b[ok] * 3 + c) * s + yi[ok]) * s + xi[ok]
            np.add.at(flat, index, (f * w * colour[..., c])[ok] * s * s)


FFT_WORKERS = -1
"""Threads for the PSF's FFTs (-1: every core). Rendering processes set it to 1."""


def _psf(flux: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Convolve with a core + wing Gaussian PSF of per-galaxy width (frame units), by FFT."""
    s = flux.shape[-1]
    fy = np.fft.fftfreq(s).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(s).astype(np.float32)[None, :]
    k2 = (2 * np.pi**2) * (fx**2 + fy**2)
    sig2 = _col(sigma * s) ** 2
    otf = 0.85 * np.exp(-sig2 * k2) + 0.15 * np.exp(-9.0 * sig2 * k2)
    spectrum = scipy.fft.rfft2(flux, workers=FFT_WORKERS)
    spectrum *= otf[:, None]
    return scipy.fft.irfft2(spectrum, s=(s, s), workers=FFT_WORKERS).astype(np.float32, copy=False)


def render_flux(m: Morphology, size: int) -> np.ndarray:
    """Noise-free, PSF-convolved surface brightness, float32 ``(B, 3, S, S)``.

    Units: multiples of the sky noise per pixel, so a galaxy looks the same at any size.
    """
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
            r_in = _col(np.maximum(m.bar_length[i][j] * (m.bar_strength[i][j] > 0), 0.6 * h[i][j]))
            env = np.exp(-rd[j] / (1.15 * hh[j])) * (1 - np.exp(-((rd[j] / r_in) ** 2)))
            norm = 2 * np.pi * (1.15 * h[i][j]) ** 2 * 0.375 * 0.75 * q_disk[i][j]
            _add(body, i[j], _col(Li[j] * m.arm_strength[i][j] / norm) * env * wave, _BLUE * 0.7 + _DISK * 0.3)

        j = np.flatnonzero(m.ring_type[i] > 0)
        if len(j):
            R = _col(m.ring_radius[i][j])
            w = 0.07 * R + 0.5 * _col(m.psf_sigma[i][j])
            prof = np.exp(-0.5 * ((rd[j] - R) / w) ** 2) / (2 * np.pi * R * w * 2.5066 * q[j])
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
    star_colour = np.stack(
        [0.7 + 0.6 * m.star_color, 0.9 + 0.0 * m.star_color, 1.3 - 0.7 * m.star_color], axis=-1
    )
    saturated = m.artifact == ARTIFACTS.index("saturated-star")
    sat_x = np.where(saturated, m.artifact_offset, 2.0)[:, None]
    sat_y = np.where(saturated, 0.3 * np.sign(m.artifact_offset + 1e-9), 2.0)[:, None]
    px = np.concatenate([cx, m.star_x, sat_x], axis=1)
    py = np.concatenate([cy, m.star_y, sat_y], axis=1)
    pf = np.concatenate([m.clump_flux * L[:, None], m.star_flux, np.where(saturated, 60.0, 0.0)[:, None]], axis=1)
    pc = np.concatenate([clump_colour, star_colour, np.ones((bsz, 1, 3))], axis=1)
    _splat(flux, px, py, pf, pc)

    flux = _psf(flux, m.psf_sigma)

    # saturated stars: a broad halo and a bleed trail along the columns
    i = np.flatnonzero(saturated)
    if len(i):
        dx = grid[None, None, :] - _col(sat_x[i, 0])
        dy = grid[None, :, None] - _col(sat_y[i, 0])
        halo = 1500.0 * np.exp(-0.5 * (dx * dx + dy * dy) / 0.03**2)
        bleed = 3000.0 * np.exp(-0.5 * (dx / 0.006) ** 2) * (np.abs(dy) < 0.12)
        _add(flux, i, halo + bleed, np.ones(3, np.float32))

    # satellite trails: a straight line in one band
    i = np.flatnonzero(m.artifact == ARTIFACTS.index("satellite-trail"))
    if len(i):
        d = X0[i] * _col(np.cos(m.artifact_angle[i])) + Y0[i] * _col(np.sin(m.artifact_angle[i])) - _col(m.artifact_offset[i])
        line = 60.0 * np.exp(-0.5 * (d / 0.004) ** 2)
        colour = np.eye(3, dtype=np.float32)[m.artifact_channel[i]]
        _add(flux, i, line, colour)
    return flux


def stretch(flux: np.ndarray) -> np.ndarray:
    """Colour-preserving asinh stretch of ``(B, 3, S, S)`` flux to uint8 ``(B, S, S, 3)``."""
    intensity = flux.mean(axis=1, keepdims=True)
    a = np.float32(_STRETCH_SOFTENING * SKY_SIGMA)
    pos = np.maximum(intensity, np.float32(1e-3) * a)
    scale = np.arcsinh(pos / a) / (pos * np.float32(np.arcsinh(_STRETCH_WHITE / _STRETCH_SOFTENING)))
    rgb = flux * scale
    np.clip(rgb * 255.0 + 0.5, 0, 255, out=rgb)
    return rgb.astype(np.uint8).transpose(0, 2, 3, 1)


def _add_noise(flux: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Sky + photon noise, from one generator per galaxy (so batching does not matter)."""
    import torch

    shape = flux.shape[1:]
    noise = np.empty_like(flux)
    for b, seed in enumerate(seeds):
        gen = torch.Generator().manual_seed(int(seed))
        noise[b] = torch.randn(shape, generator=gen, dtype=torch.float32).numpy()
    sigma = np.sqrt(SKY_SIGMA**2 + np.maximum(flux, 0.0) / _PHOTON_GAIN)
    return flux + noise * sigma


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


def render(m: Morphology, size: int = 128, noise: bool = True) -> np.ndarray:
    """uint8 RGB images ``(B, S, S, 3)`` of the galaxies in ``m`` (``noise=False`` for tests)."""
    if not 32 <= size <= 512:
        raise ValueError(f"size must be between 32 and 512 pixels, got {size}")
    flux = render_flux(m, size)
    if noise:
        flux = _add_noise(flux, m.noise_seed)
    images = stretch(flux)
    _bad_pixels(images, m)
    return images
