"""Rule anonymizer_bundle: pack the configured methods' weights and settings into the one
weights-only file ``ppfer anonymize`` reads (ppfer_core.bundle)."""
from ppfer_core.bundle import BundleSettings, load_bundle, write_bundle
from ppfer_core.runtime import job_logger

log = job_logger(snakemake.log[0])
p = snakemake.params
settings = BundleSettings.from_dict(p.settings)
write_bundle(snakemake.output.bundle, settings, dict(p.methods))
bundle = load_bundle(snakemake.output.bundle)
log(f"wrote {snakemake.output.bundle}: methods {', '.join(bundle.methods)} (default {bundle.default_method}); {settings}")
