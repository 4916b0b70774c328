"""Drawing primitives of the synthetic corpora: seeded generators, splines, polygon fills and a
supersampled canvas."""

from __future__ import annotations

import numpy as np


def _rng(*keys: int) -> np.random.Generator:
    """A NumPy generator seeded by a tuple of non-negative integers."""
    return np.random.default_rng([int(k) & 0xFFFFFFFF for k in keys])


def _catmull(pts: np.ndarray, k: int, closed: bool) -> np.ndarray:
    """Catmull-Rom spline through ``pts`` [n,2] with ``k`` samples per segment."""
    p = np.asarray(pts, dtype=np.float64)
    if closed:
        ext = np.concatenate([p[-1:], p, p[:2]])
        nseg = len(p)
    else:
        ext = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
        nseg = len(p) - 1
    p0, p1, p2, p3 = (ext[i : i + nseg, None, :] for i in range(4))
    t = np.linspace(0.0, 1.0, k, endpoint=False)[None, :, None]
    out = 0.5 * (
        (2 * p1)
        + (p2 - p0) * t
        + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t * t
        + (3 * p1 - p0 - 3 * p2 + p3) * t * t * t
    )
    out = out.reshape(-1, 2)
    return out if closed else np.concatenate([out, p[-1:]])


def _poly_mask(poly: np.ndarray | list[np.ndarray], shape: tuple[int, int]) -> tuple[int, int, np.ndarray]:
    """Even-odd scanline fill of one polygon or a list of rings (x, y vertices; pixel centres at
    integers) clipped to ``shape``: returns (row0, col0, mask) with mask the bounding-box crop."""
    rings = poly if isinstance(poly, list) else [poly]
    p0 = np.concatenate(rings)
    p1 = np.concatenate([x for r in rings for x in (r[1:], r[:1])])
    x0, y0, x1, y1 = p0[:, 0], p0[:, 1], p1[:, 0], p1[:, 1]
    H, W = shape
    lo, hi = p0.min(0), p0.max(0)
    r0, r1 = max(int(np.ceil(lo[1])), 0), min(int(np.floor(hi[1])), H - 1)
    c0, c1 = max(int(np.ceil(lo[0])), 0), min(int(np.floor(hi[0])), W - 1)
    if r1 < r0 or c1 < c0:
        return 0, 0, np.zeros((0, 0), dtype=bool)
    rc = np.arange(r0, r1 + 1, dtype=np.float64)[:, None]
    cross = (y0 <= rc) != (y1 <= rc)
    dy = y1 - y0
    dy[dy == 0] = 1.0
    xc = np.where(cross, x0 + (rc - y0) * ((x1 - x0) / dy), np.inf)
    kmax = int(cross.sum(1).max())
    R, Wb = r1 - r0 + 1, c1 - c0 + 1
    if kmax < 2:
        return r0, c0, np.zeros((R, Wb), dtype=bool)
    xc.sort(axis=1)
    xc = xc[:, : kmax - kmax % 2]
    cs = np.ceil(xc[:, 0::2]) - c0
    ce = np.floor(xc[:, 1::2]) - c0
    ok = np.isfinite(ce)
    cs = np.clip(np.where(ok, cs, 0), 0, Wb).astype(np.int64)
    ce = np.clip(np.where(ok, ce, -1), -1, Wb - 1).astype(np.int64)
    ok &= cs <= ce
    ri = np.broadcast_to(np.arange(R)[:, None] * (Wb + 1), cs.shape)[ok]
    n = R * (Wb + 1)
    d = np.bincount(ri + cs[ok], minlength=n) - np.bincount(ri + ce[ok] + 1, minlength=n)
    return r0, c0, np.cumsum(d.reshape(R, Wb + 1), axis=1)[:, :Wb] > 0


def _thick(line: np.ndarray, width: np.ndarray | float) -> np.ndarray:
    """Polygon [2n,2] of a polyline [n,2] widened to ``width`` (scalar or per point)."""
    d = np.empty_like(line)
    d[1:-1] = line[2:] - line[:-2]
    d[0], d[-1] = line[1] - line[0], line[-1] - line[-2]
    nrm = d[:, ::-1] * (-1.0, 1.0)
    nrm /= np.sqrt((nrm * nrm).sum(1))[:, None] + 1e-9
    nrm *= np.asarray(width, dtype=np.float64).reshape(-1, 1) / 2
    return np.concatenate([line + nrm, (line - nrm)[::-1]])


_UNIT_CIRCLES: dict[int, np.ndarray] = {}


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 20) -> np.ndarray:
    """Closed polygon [n,2] approximating an axis-aligned ellipse."""
    u = _UNIT_CIRCLES.get(n)
    if u is None:
        a = np.linspace(0, 2 * np.pi, n, endpoint=False)
        u = _UNIT_CIRCLES[n] = np.stack([np.cos(a), np.sin(a)], 1)
    return u * (rx, ry) + (cx, cy)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    """Cubic smoothstep on [0, 1]."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _smooth_noise(
    rng: np.random.Generator, n: int, n_waves: int = 3, period: tuple[float, float] = (12, 60)
) -> np.ndarray:
    """A smooth zero-mean unit-ish random signal of length ``n`` (sum of random sinusoids)."""
    t = np.arange(n, dtype=np.float64)[:, None]
    per = rng.uniform(*period, size=n_waves)
    ph = rng.uniform(0, 2 * np.pi, size=n_waves)
    amp = rng.uniform(0.5, 1.0, size=n_waves)
    s = (amp * np.sin(2 * np.pi * t / per + ph)).sum(1)
    return s / np.sqrt((amp**2).sum() / 2)


class _Canvas:
    """A supersampled float RGB canvas with polygon fills (alpha-blended, optionally clipped)."""

    def __init__(self, bg: np.ndarray):
        self.img = bg.copy()
        self.shape = bg.shape[:2]

    def fill(
        self,
        poly: np.ndarray,
        col: np.ndarray,
        alpha: float = 1.0,
        clip: np.ndarray | None = None,
        shade: tuple | None = None,
    ) -> None:
        """Fill a polygon given in canvas (x, y) coordinates, optionally clipped to a full-canvas mask
        and multiplied by a radial shade ``(cx, cy, angle, rx, ry)``."""
        r0, c0, m = _poly_mask(poly, self.shape)
        h, w = m.shape
        if clip is not None and m.size:
            m = m & clip[r0 : r0 + h, c0 : c0 + w]
        if not m.any():
            return
        reg = self.img[r0 : r0 + h, c0 : c0 + w]
        c = np.asarray(col, dtype=np.float32)
        if shade is not None:
            cx, cy, ang, rx, ry = shade
            yy, xx = np.mgrid[r0 : r0 + h, c0 : c0 + w].astype(np.float32)
            u = np.cos(ang) * (xx - cx) + np.sin(ang) * (yy - cy)
            v = -np.sin(ang) * (xx - cx) + np.cos(ang) * (yy - cy)
            sh = np.clip(1.04 - 0.2 * ((u / rx) ** 2 + (v / ry) ** 2), 0.7, 1.04)
            c = c[None, :] * sh[m][:, None]
        if alpha >= 1.0:
            reg[m] = c
        else:
            reg[m] = reg[m] * (1 - alpha) + c * alpha

    def mask_of(self, poly: np.ndarray) -> np.ndarray:
        """Full-canvas boolean mask of a polygon."""
        full = np.zeros(self.shape, dtype=bool)
        r0, c0, m = _poly_mask(poly, self.shape)
        full[r0 : r0 + m.shape[0], c0 : c0 + m.shape[1]] = m
        return full
