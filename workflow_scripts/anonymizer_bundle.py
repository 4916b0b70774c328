"""Rule anonymizer_bundle: pack the configured methods' weights and settings into the one
weights-only file ``ppfer anonymize`` reads (ppfer_core.bundle); the bottleneck method packs its
basis and template face instead (ppfer_core.anonymize.bottleneck)."""

from ppfer_core.anonymize.bottleneck import BottleneckParts
from ppfer_core.bottleneck.realface import TemplateSettings
from ppfer_core.bundle import load_bundle, settings_from_config, write_bundle
from ppfer_core.design import BOTTLENECK_METHOD
from ppfer_core.runtime import end_job, job_logger

log = job_logger(snakemake.log[0])
p = snakemake.params
settings = settings_from_config(p.bundle_config)
methods = {
    m: BottleneckParts(parts["basis"], TemplateSettings(**parts["template"]))
    if m == BOTTLENECK_METHOD
    else parts
    for m, parts in p.methods.items()
}
write_bundle(snakemake.output.bundle, settings, methods)
bundle = load_bundle(snakemake.output.bundle)
log(
    f"wrote {snakemake.output.bundle}: methods {', '.join(bundle.methods)} (default {bundle.default_method}); {settings}"
)
end_job()
