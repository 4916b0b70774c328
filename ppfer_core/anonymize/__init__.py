"""``ppfer anonymize``: a person's own videos and photographs anonymised with a trained PPFER bundle
(or, without a model, blurred, blacked out or pixelated).

- :mod:`ppfer_core.anonymize.options`   settings (:class:`Options`), per-input :class:`Result`, the choices offered
- :mod:`ppfer_core.anonymize.media`     inputs found and opened, photographs read and written
- :mod:`ppfer_core.anonymize.decode`    video frames upright with their timestamps, damage detected
- :mod:`ppfer_core.anonymize.encode`    H.264 MP4 at the input's timestamps and rotation, audio only on request
- :mod:`ppfer_core.anonymize.tracking`  face tracks from YuNet detections (every k-th frame, smoothed, held, interpolated)
- :mod:`ppfer_core.anonymize.apply`     crop as ingest does, paste back feathered, blur/solid/mosaic replacements
- :mod:`ppfer_core.anonymize.bottleneck` ``--method bottleneck``: its bundle entry, per-track codes, the template pasted
- :mod:`ppfer_core.anonymize.run`       one input end to end: two checked passes, nothing partial left behind
- :mod:`ppfer_core.anonymize.sidecar`   the JSON sidecar (boxes, tracks and their expression, damage) and the Result
- :mod:`ppfer_core.anonymize.demo`      a real-face test video (scikit-image's astronaut, panned and zoomed, with a tone)
"""

from ppfer_core.anonymize.media import BadInput
from ppfer_core.anonymize.options import AUDIO, NO_FACE, ON_ERROR, Options, Result, Timings
from ppfer_core.anonymize.run import Anonymizer

__all__ = ["AUDIO", "Anonymizer", "BadInput", "NO_FACE", "ON_ERROR", "Options", "Result", "Timings"]
