"""Rule anonymize_video: one video of anonymize.input_dir anonymised with the DAG's bundle
(as `ppfer anonymize`): results/anonymized/{name}.mp4 and its JSON sidecar."""

from pathlib import Path

from ppfer_core.anonymize import Anonymizer, Options
from ppfer_core.bundle import load_bundle
from ppfer_core.runtime import Job, end_job

job = Job.from_snakemake(snakemake)
options = Options(**snakemake.params.options, device=str(job.device))
anonymizer = Anonymizer(load_bundle(snakemake.input.bundle), options)
r = anonymizer.process(Path(snakemake.input.video), Path(snakemake.output.video).parent, progress=False)
job.log(
    f"{r.input} -> {r.output}: {r.frames} frames ({r.frames_written} written), {r.faces} faces in {r.tracks} tracks, "
    f"{r.fallback_frames} frames with a face given the fallback, {r.no_face_frames} frames without a face; "
    f"audio {options.audio}; {r.seconds:.1f} s ({r.timings})"
)
end_job()
