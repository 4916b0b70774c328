"""PPFER core library: the components of the paper's Figure 2, each in a module, and what goes beyond it.

Data
- :mod:`ppfer_core.synthetic`     embedded talking-face corpora (CREMA-D and DFEW layouts): a subpackage
  (traits, dynamics, geometry, render, shapes, corpora)
- :mod:`ppfer_core.datasets`      CREMA-D / DFEW layouts and label codes
- :mod:`ppfer_core.ingest`        decoding, sampling, splitting (CREMA-D / DFEW adapters): a subpackage
  (settings, decode, geometry, clips, splits, store with INDEX_SCHEMA, run)
- :mod:`ppfer_core.faces`         offline face detection (YuNet) and landmarks (dlib)
- :mod:`ppfer_core.arrays`        clip arrays, datasets over them, batched inference
- :mod:`ppfer_core.npyfiles`      `npy_output`: the one `.npy` output helper (temporary name, renamed when complete)
The method
- :mod:`ppfer_core.wavelet`       high/low-frequency split and its inverse
- :mod:`ppfer_core.registry`      models registered and built by name (`register_model` / `create_model`), torch-free
- :mod:`ppfer_core.nets`          model builders (U-Net, image and video classifiers), registered in the registry
- :mod:`ppfer_core.uvit`          the U-ViT of the feature compensator (timm.layers) and its builder
- :mod:`ppfer_core.weights`       weight loading from local files, reporting what it loaded
- :mod:`ppfer_core.video_nets`    small video classifiers of the embedded default (frame_cnn)
- :mod:`ppfer_core.training`      the one supervised and one adversarial training loop
- :mod:`ppfer_core.classifiers`   classifier training and batched prediction
- :mod:`ppfer_core.enhancer`      privacy enhancers F_lpr / F_hpr and their objectives
- :mod:`ppfer_core.holdout`       the identity-budget stop on a held-out train slice
- :mod:`ppfer_core.compensator`   feature compensator F_fc
- :mod:`ppfer_core.pipeline`      the one privacy pipeline (enhancers -> inverse wavelet -> F_fc) of the DAG and the anonymiser
Evaluation, baselines, threats
- :mod:`ppfer_core.evaluation`    privacy leakage validator (PLR) and utility task (ACC)
- :mod:`ppfer_core.baselines`     blur sweep, optical flow, image swapping
- :mod:`ppfer_core.tradeoff`      SPAct-style trade-off framework
- :mod:`ppfer_core.threat`        recovery attack and the adaptive attacker
- :mod:`ppfer_core.attacks`       the attack suite (from-scratch, clip-level, voting)
- :mod:`ppfer_core.suite`         the attacker registry, the suite's worst case (plr_worst) and its table columns, torch-free
- :mod:`ppfer_core.design`        the plan: config/design.yaml and the config expanded and checked once, torch-free
- :mod:`ppfer_core.robust`        enhancers against re-trained adversaries ("Ours (robust)")
- :mod:`ppfer_core.sweep`         the robust variant's privacy/utility sweep
- :mod:`ppfer_core.stats`         intervals of the reported rates (Wilson; clustered by actor) and paired tests (McNemar)
- :mod:`ppfer_core.tables`        Tables 1-5 from metric files (torch-free)
- :mod:`ppfer_core.report`        figures of the report
Beyond the paper
- :mod:`ppfer_core.openset`       identity-disjoint split, label-free video-prior embedder and enhancers
- :mod:`ppfer_core.falsification` label-free privacy validation (retrieval metrics, Table 5)
- :mod:`ppfer_core.federated`     federated F_u on Flower (sites, ClientApp/ServerApp, Table 6)
- :mod:`ppfer_core.bundle`        the anonymiser model bundle
- :mod:`ppfer_core.anonymize`     `ppfer anonymize`: tracking, crop, paste-back, media I/O
- :mod:`ppfer_core.cli`           the `ppfer` console command
Workflow plumbing
- :mod:`ppfer_core.runtime`       `Job` (a rule script's log, device, seed, workers, resumable state), JSON artifacts
(the planning-time helpers -- GPU scheduling, the blur sweep, wiring checks -- are rules/planning.py)
"""

import os

os.environ.setdefault(
    "HF_HUB_OFFLINE", "1"
)  # nothing downloads: set before any timm / huggingface_hub import

EMOTIONS: tuple[str, ...] = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
"""CREMA-D's six emotion codes; class index = position in this tuple."""

__version__ = "0.1.0"
