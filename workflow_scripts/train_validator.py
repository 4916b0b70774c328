"""Rule train_validator: the independent validator (ppfer_core.validator) on the original train frames,
from scratch with its own seed, stopped on a validation slice of train; it reads the paper's PLR column."""

import pandas as pd

from ppfer_core.arrays import identity_labels, load_clips
from ppfer_core.attacks import Convergence
from ppfer_core.registry import create_model
from ppfer_core.runtime import Job, end_job, write_json
from ppfer_core.training import save_weights
from ppfer_core.validator import train_validator

job = Job.from_snakemake(snakemake)
p, inp = snakemake.params, snakemake.input
index = pd.read_parquet(inp.index)
y_train, actors = identity_labels(index, "train")
y_test, _ = identity_labels(index, "test")
model = create_model("image", p.model["arch"], num_classes=len(actors), weights=p.model["weights"])
with job.resumable(snakemake.output.model) as state:
    result = train_validator(
        model,
        (load_clips(inp.train), y_train),
        (load_clips(inp.test), y_test),
        job.train_settings(),
        Convergence.from_config(p.train["convergence"]),
        job.run("validator", state),
    )
    save_weights(model, snakemake.output.model)
job.log(
    f"independent validator {p.model['arch']} test accuracy (all test frames): {result['test_acc']:.2f}% over "
    f"{len(actors)} identities; {result['status']} after {result['epochs']} epochs ({result['stopped']})"
)
write_json(
    snakemake.output.metrics,
    {"arch": p.model["arch"], "seed": job.seed, "n_identities": len(actors), **result},
)
end_job()
