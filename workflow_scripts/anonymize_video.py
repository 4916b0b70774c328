"""Rule anonymize_video: one video of anonymize.input_dir anonymised with the DAG's bundle
(as `ppfer anonymize`): results/anonymized/{name}.mp4 and its JSON sidecar."""
from pathlib import Path

from ppfer_core.anonymize import Anonymizer, Options
from ppfer_core.bundle import load_bundle
from ppfer_core.runtime import job_logger
from ppfer_core.training import select_device

log = job_logger(snakemake.log[0])
p = snakemake.params
options = Options(**p.options, device=str(select_device(p.device)))
anonymizer = Anonymizer(load_bundle(snakemake.input.bundle), options)
r = anonymizer.process(Path(snakemake.input.video), Path(snakemake.output.video).parent, progress=False)
log(f"{r.input} -> {r.output}: {r.frames} frames ({r.frames_written} written), {r.faces} faces in {r.tracks} tracks, "
    f"{r.no_face_frames} frames without a face; {r.seconds:.1f} s ({r.timings})")
