"""``ppfer anonymize``: a person's own videos and photographs anonymised with a trained PPFER bundle.

- :mod:`ppfer_core.anonymize.media`     decoding any container PyAV reads, photographs, H.264 MP4 output with the audio
- :mod:`ppfer_core.anonymize.tracking`  face tracks from YuNet detections (every k-th frame, smoothed, interpolated)
- :mod:`ppfer_core.anonymize.apply`     crop as ingest does, paste back feathered, blur/solid/mosaic replacements
- :mod:`ppfer_core.anonymize.run`       one input end to end: two passes, JSON sidecar, nothing partial left behind
- :mod:`ppfer_core.anonymize.demo`      a real-face test video (scikit-image's astronaut, panned and zoomed, with a tone)
"""

from ppfer_core.anonymize.media import BadInput
from ppfer_core.anonymize.run import NO_FACE, Anonymizer, Options, Result, Timings

__all__ = ["Anonymizer", "BadInput", "NO_FACE", "Options", "Result", "Timings"]
