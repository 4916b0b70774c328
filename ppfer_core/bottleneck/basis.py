"""The expression basis: learned label-free from within-clip shape deviations of the train split.

Every frame's 68 landmarks are similarity-aligned (:func:`~ppfer_core.bottleneck.shapes.procrustes`)
to the canonical shape (the template face's, so that sites share it without exchanging data). Within
a clip the person is constant, so what varies is expression and speech:

1. round 1 -- the deviations of each frame from its clip's mean give a first basis ``B0`` (PCA) and
   the global mean face ``mu``;
2. each clip's **neutral reference** is the mean of its least expressive frames (smallest energy
   ``|B0^T (x - mu)|``; a clip's median is not neutral when the expression is sustained);
3. round 2 -- the (uncentred) second moment of the deviations from the neutral reference gives the
   basis ``B`` (its top ``k`` eigenvectors).

Both rounds only need sums over frames (:class:`ShapeStats`), so federated sites send their sums and
:func:`fit_basis_federated` equals :func:`fit_basis` on the pooled clips. No identity label and no
test clip enters: the fit reads train landmarks ``[N_clips, T, 68, 2]`` (the first axis is the clip
boundary) and the settings, nothing else.

The code of a frame is ``B^T (x - r)``: ``r`` the clip's neutral reference (``relative``) or ``mu``
(``absolute``, the only option for a single photograph), optionally amplitude-normalised per clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ppfer_core.bottleneck.settings import BasisSettings
from ppfer_core.bottleneck.shapes import N_POINTS, procrustes

DIM = 2 * N_POINTS
_AMP_FLOOR = 0.25  # a clip's code RMS is divided by at least this share of the population's


@dataclass(frozen=True)
class ShapeStats:
    """Sums over frames that a site shares: frame count, sum of aligned shapes and second moment of
    the deviations (round 1: from the clip mean; round 2: from the clip's neutral reference)."""

    n: int
    total: np.ndarray  # [136]
    moment: np.ndarray  # [136, 136]

    def __add__(self, other: ShapeStats) -> ShapeStats:
        return ShapeStats(self.n + other.n, self.total + other.total, self.moment + other.moment)


@dataclass(frozen=True)
class ExpressionBasis:
    """A fitted basis: canonical shape [68, 2], mean face ``mu`` [136], first-round basis ``b0``
    [136, k] (neutral-frame selection), basis [136, k], eigenvalues [k], the population RMS of a
    relative code (amplitude normalisation's target), and the settings it was fitted with."""

    canonical: np.ndarray
    mu: np.ndarray
    b0: np.ndarray
    basis: np.ndarray
    eigenvalues: np.ndarray
    code_rms: float
    settings: BasisSettings

    def save(self, path: str) -> None:
        """Write the basis as an .npz (arrays plus the settings)."""
        s = self.settings
        np.savez(
            path, canonical=self.canonical, mu=self.mu, b0=self.b0, basis=self.basis,
            eigenvalues=self.eigenvalues, code_rms=self.code_rms, k=s.k, reference=s.reference,
            neutral_fraction=s.neutral_fraction, amplitude_norm=s.amplitude_norm,
        )  # fmt: skip

    @classmethod
    def load(cls, path: str) -> ExpressionBasis:
        """Read a basis written by :meth:`save`."""
        z = np.load(path)
        s = BasisSettings(
            int(z["k"]), str(z["reference"]), float(z["neutral_fraction"]), bool(z["amplitude_norm"])
        )
        return cls(z["canonical"], z["mu"], z["b0"], z["basis"], z["eigenvalues"], float(z["code_rms"]), s)


def align(landmarks: np.ndarray, canonical: np.ndarray) -> np.ndarray:
    """Aligned shapes flattened: [N, T, 68, 2] -> [N, T, 136] (NaN frames stay NaN)."""
    aligned, _ = procrustes(landmarks, canonical)
    return aligned.reshape(*aligned.shape[:-2], DIM)


def _top(moment: np.ndarray, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k eigenvectors [136, k] (sign fixed: largest |entry| positive) and eigenvalues of moment / n."""
    w, v = np.linalg.eigh(moment / max(n, 1))
    order = np.argsort(w)[::-1][:k]
    v = v[:, order]
    v = v * np.sign(v[np.abs(v).argmax(0), np.arange(k)])
    return v, w[order]


def _valid(x: np.ndarray) -> np.ndarray:
    """[N, T] mask of complete frames."""
    return np.isfinite(x).all(-1)


def round1_stats(x: np.ndarray) -> ShapeStats:
    """Round-1 sums of aligned shapes [N, T, 136]: deviations from each clip's mean."""
    ok = _valid(x)
    xs = np.where(ok[..., None], x, 0.0)
    cnt = ok.sum(1, keepdims=True)
    mean = xs.sum(1) / np.maximum(cnt, 1)
    d = np.where(ok[..., None], x - mean[:, None], 0.0).reshape(-1, DIM)
    return ShapeStats(int(ok.sum()), xs.reshape(-1, DIM).sum(0), d.T @ d)


def neutral_reference(x: np.ndarray, mu: np.ndarray, b0: np.ndarray, fraction: float) -> np.ndarray:
    """Each clip's neutral reference [N, 136]: the mean of its ``fraction`` least expressive complete
    frames (at least one), expressiveness being the energy of ``b0^T (x - mu)``."""
    ok = _valid(x)
    energy = np.where(ok, (np.nan_to_num(x - mu) @ b0).__pow__(2).sum(-1), np.inf)
    ref = np.full((x.shape[0], DIM), np.nan)
    for i in range(x.shape[0]):
        m = int(ok[i].sum())
        if m == 0:
            continue
        keep = np.argsort(energy[i])[: max(1, int(round(fraction * m)))]
        ref[i] = x[i, keep].mean(0)
    return ref


def _raw_codes(x: np.ndarray, basis: ExpressionBasis) -> np.ndarray:
    """Codes before amplitude normalisation [N, T, k] (NaN for incomplete frames)."""
    s = basis.settings
    if s.reference == "relative":
        ref = neutral_reference(x, basis.mu, basis.b0, s.neutral_fraction)[:, None]
    else:
        ref = basis.mu
    return (x - ref) @ basis.basis


def clip_rms(codes: np.ndarray) -> np.ndarray:
    """RMS norm over the complete frames of each clip's codes [N, T, k] -> [N]."""
    return np.sqrt(np.nanmean((codes**2).sum(-1), axis=1))


def round2_stats(x: np.ndarray, mu: np.ndarray, b0: np.ndarray, s: BasisSettings) -> ShapeStats:
    """Round-2 sums: second moment of the deviations from each clip's neutral reference."""
    ok = _valid(x)
    ref = neutral_reference(x, mu, b0, s.neutral_fraction)
    d = np.where(ok[..., None], x - ref[:, None], 0.0).reshape(-1, DIM)
    return ShapeStats(int(ok.sum()), np.zeros(DIM), d.T @ d)


def first_round(r1: ShapeStats, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean face ``mu`` [136] and first-round basis ``b0`` [136, k] of round-1 statistics (what
    round 2 needs at every site to pick its clips' neutral frames)."""
    return r1.total / max(r1.n, 1), _top(r1.moment, r1.n, k)[0]


def basis_from_stats(
    canonical: np.ndarray, r1: ShapeStats, r2: ShapeStats, s: BasisSettings
) -> ExpressionBasis:
    """The basis from the two rounds' (pooled or summed) statistics."""
    basis, eig = _top(r2.moment, r2.n, s.k)
    mu, b0 = first_round(r1, s.k)
    # population RMS of a relative code: the root of the retained eigenvalues' sum
    return ExpressionBasis(canonical, mu, b0, basis, eig, float(np.sqrt(max(eig.sum(), 0.0))), s)


def fit_basis(train_landmarks: np.ndarray, canonical: np.ndarray, settings: BasisSettings) -> ExpressionBasis:
    """Fit the basis on the train split's landmarks [N_clips, T, 68, 2] (NaN: missing frames), aligned
    to ``canonical`` [68, 2] (centred, unit RMS). Label-free: no identity, no emotion, no test clip."""
    x = align(train_landmarks, canonical)
    r1 = round1_stats(x)
    mu, b0 = first_round(r1, settings.k)
    return basis_from_stats(canonical, r1, round2_stats(x, mu, b0, settings), settings)


def fit_basis_federated(
    site_landmarks: list[np.ndarray], canonical: np.ndarray, settings: BasisSettings
) -> ExpressionBasis:
    """The same fit from the sites' summed statistics: every site aligns its own clips and sends
    :class:`ShapeStats` (two rounds); only sums leave a site. Equal to :func:`fit_basis` on the pool."""
    xs = [align(lm, canonical) for lm in site_landmarks]
    r1 = sum((round1_stats(x) for x in xs[1:]), round1_stats(xs[0]))
    mu, b0 = first_round(r1, settings.k)
    r2s = [round2_stats(x, mu, b0, settings) for x in xs]
    return basis_from_stats(canonical, r1, sum(r2s[1:], r2s[0]), settings)


def encode(landmarks: np.ndarray, basis: ExpressionBasis) -> np.ndarray:
    """Codes [N, T, k] float32 of landmarks [N, T, 68, 2]; incomplete frames get the zero code."""
    codes = _raw_codes(align(landmarks, basis.canonical), basis)
    if basis.settings.amplitude_norm:
        rms = np.nan_to_num(clip_rms(codes))
        codes = codes * (basis.code_rms / np.maximum(rms, _AMP_FLOOR * basis.code_rms))[:, None, None]
    return np.nan_to_num(codes).astype(np.float32)
