"""PPFER core library: the components of the paper's Figure 2, each in a module.

- :mod:`ppfer_core.synthetic`   embedded talking-face corpora (CREMA-D and DFEW layouts)
- :mod:`ppfer_core.ingest`      decoding, sampling, splitting (CREMA-D / DFEW adapters)
- :mod:`ppfer_core.wavelet`     high/low-frequency split and its inverse
- :mod:`ppfer_core.nets`        model builders (U-Net, U-ViT, image and video classifiers)
- :mod:`ppfer_core.training`    the one supervised and one adversarial training loop
- :mod:`ppfer_core.enhancer`    privacy enhancers F_lpr / F_hpr and their objectives
- :mod:`ppfer_core.compensator` feature compensator F_fc
- :mod:`ppfer_core.evaluation`  privacy leakage validator (PLR) and utility task (ACC)
- :mod:`ppfer_core.stats`       confidence intervals of the reported rates (Wilson)
"""

EMOTIONS: tuple[str, ...] = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
"""CREMA-D's six emotion codes; class index = position in this tuple."""

__version__ = "0.1.0"
