"""Rule anonymizer_bundle: pack the configured methods' weights and settings into the one
weights-only file ``ppfer anonymize`` reads (ppfer_core.bundle)."""

from ppfer_core.bundle import load_bundle, settings_from_config, write_bundle
from ppfer_core.runtime import job_logger

log = job_logger(snakemake.log[0])
p = snakemake.params
settings = settings_from_config(p.bundle_config)
write_bundle(snakemake.output.bundle, settings, dict(p.methods))
bundle = load_bundle(snakemake.output.bundle)
log(
    f"wrote {snakemake.output.bundle}: methods {', '.join(bundle.methods)} (default {bundle.default_method}); {settings}"
)
