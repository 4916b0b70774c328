"""Privacy by construction (issue 27): an expression-code bottleneck re-rendered onto a face that
belongs to nobody.

Pipeline: on the embedded corpus the code straight from pixels (:mod:`~ppfer_core.bottleneck.estimator`:
a CNN trained on the train split against the codes of its true landmarks); on real faces landmarks
(:mod:`~ppfer_core.bottleneck.landmarks`: dlib; a landmark CNN regressor for comparison) -> similarity-Procrustes alignment to the template's canonical
shape (:mod:`~ppfer_core.bottleneck.shapes`) -> a k-dimensional expression code on a basis learned
label-free from within-clip deviations of the train split (:mod:`~ppfer_core.bottleneck.basis`) ->
a piecewise-affine warp of the fixed template frame to ``template neutral + basis x code``
(:mod:`~ppfer_core.bottleneck.render`). The output is a function of the code alone, so no attacker
learns more identity from it than from the code; :mod:`~ppfer_core.bottleneck.attacks` measures that
on the codes (and on the raw landmarks for comparison). Settings: :mod:`~ppfer_core.bottleneck.settings`.
Real faces (``ppfer anonymize --method bottleneck``): :mod:`~ppfer_core.bottleneck.realface` (dlib's
landmarks from a face box, codes against a track's reference, the 256-px template pasted into frames).
"""

from ppfer_core.bottleneck.attacks import AttackScore, AttackSettings, clip_features, code_attacks
from ppfer_core.bottleneck.basis import (
    ExpressionBasis,
    ShapeStats,
    align,
    encode,
    fit_basis,
    fit_basis_federated,
    neutral_reference,
)
from ppfer_core.bottleneck.estimator import (
    CodeEstimator,
    code_point_errors,
    code_targets,
    load_estimator,
    predict_codes,
    relative_codes,
    save_estimator,
    train_code_estimator,
    write_codes,
)
from ppfer_core.bottleneck.landmarks import (
    LandmarkRegressor,
    dlib_landmarks,
    load_regressor,
    predict_landmarks,
    save_regressor,
    train_regressor,
)
from ppfer_core.bottleneck.render import (
    Template,
    coded_shape,
    face_template,
    render_codes,
    synthetic_template,
    warp_template,
)
from ppfer_core.bottleneck.settings import (
    INPUTS,
    REFERENCES,
    BasisSettings,
    BottleneckSettings,
    EstimatorSettings,
    RegressorSettings,
)
from ppfer_core.bottleneck.shapes import Similarity, normalise, point_errors, procrustes

__all__ = [
    "INPUTS",
    "REFERENCES",
    "AttackScore",
    "AttackSettings",
    "BasisSettings",
    "BottleneckSettings",
    "CodeEstimator",
    "EstimatorSettings",
    "ExpressionBasis",
    "LandmarkRegressor",
    "RegressorSettings",
    "ShapeStats",
    "Similarity",
    "Template",
    "align",
    "clip_features",
    "code_attacks",
    "code_point_errors",
    "code_targets",
    "coded_shape",
    "dlib_landmarks",
    "encode",
    "face_template",
    "fit_basis",
    "fit_basis_federated",
    "load_estimator",
    "load_regressor",
    "neutral_reference",
    "normalise",
    "point_errors",
    "predict_codes",
    "predict_landmarks",
    "procrustes",
    "relative_codes",
    "write_codes",
    "render_codes",
    "save_estimator",
    "save_regressor",
    "synthetic_template",
    "train_code_estimator",
    "train_regressor",
    "warp_template",
]
