"""Rule recover (paper §4.5): the recovery attack on a method. A U-Net learns, with L1, to map the
method's train outputs back to the original train frames, in full passes until the L1 of a validation
slice of the train clips plateaus (status converged, else budget), keeping its best-validation weights; its recovery of the method's test outputs
is the representation recovered-{rep}, with SSIM / PSNR against the original test frames, its PLR by the
independent validator and V_pl (metrics/leakage/recovered-{rep}) and V_pl's one-frame and voting record
(metrics/attacks/recovered/{rep}: the suite's attacker "recovered")."""

from ppfer_core.arrays import load_clips, npy_output
from ppfer_core.attack_jobs import recovered_records
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, end_job, write_json
from ppfer_core.threat import RecoveryStop, fit_recovery, frame_quality, recover_clips
from ppfer_core.training import load_weights, save_weights

job = Job.from_snakemake(snakemake)
p, rep = snakemake.params, snakemake.wildcards.rep
model = create_model("unet", "unet", settings=p.unet)
if p.init == "identity":
    load_weights(model, snakemake.input.init)
    job.log(f"recovery U-Net starts from the enhancers' identity-map initialisation {snakemake.input.init}")
with job.resumable(snakemake.output.model) as state:
    result = fit_recovery(
        model,
        load_clips(snakemake.input.train),
        load_clips(snakemake.input.original_train),
        job.train_settings(),
        job.run(f"recovery_{rep}", state),
        RecoveryStop.from_config(p.train),
    )
    save_weights(model, snakemake.output.model)
test = load_clips(snakemake.input.test)
with npy_output(snakemake.output.clips, test.shape) as out:
    recover_clips(model, test, out, job.device)
quality = frame_quality(load_clips(snakemake.output.clips), load_clips(snakemake.input.original_test))
baseline = frame_quality(test, load_clips(snakemake.input.original_test))
job.log(
    f"{rep}: recovered SSIM {quality['ssim']:.3f} PSNR {quality['psnr']:.2f} dB "
    f"(the method's own outputs: SSIM {baseline['ssim']:.3f} PSNR {baseline['psnr']:.2f} dB)"
)
write_json(
    snakemake.output.metrics,
    {
        "rep": rep,
        **quality,
        "unrecovered_ssim": baseline["ssim"],
        "unrecovered_psnr": baseline["psnr"],
        "unet": p.unet,
        "init": p.init,
        **result.record,
        "history": result.history,
    },
)
leakage, attack = recovered_records(
    job,
    rep,
    load_clips(snakemake.output.clips),
    snakemake.input.index,
    p.leakage,
    snakemake.input.validator,
    snakemake.input.vpl,
)
write_json(snakemake.output.leakage, leakage)
write_json(snakemake.output.attack, attack)
end_job()
