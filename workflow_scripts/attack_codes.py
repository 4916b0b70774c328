"""Rule attack_codes (issue 27, the attack suite's kind ``codes``): identity attackers on the code
sequences a coded representation is a function of (logistic regression, MLP, GRU; records counted in
plr_worst), and on the estimated landmarks the code is computed from (``landmarks``: the one of the
three best on the validation slice; reported beside, not counted). Trained on the train split minus
the suite's validation slice, scored per test clip (ppfer_core.bottleneck.suite_attacks)."""

import numpy as np
import pandas as pd

from ppfer_core.arrays import identity_labels
from ppfer_core.attacks import Convergence
from ppfer_core.bottleneck.suite_attacks import (
    CodeAttackSettings,
    Sequences,
    attack_sequences,
    best_on_validation,
)
from ppfer_core.runtime import Job, write_json

job = Job.from_snakemake(snakemake)
p, inp, rep = snakemake.params, snakemake.input, snakemake.wildcards.rep
index = pd.read_parquet(inp.index)
(y_train, _), (y_test, _) = identity_labels(index, "train"), identity_labels(index, "test")
conv = Convergence.from_config(p.convergence)
settings = CodeAttackSettings.from_config(p.codes)
records = {}
for name in ("codes", "inputs"):
    data = Sequences.of(
        np.load(inp[f"{name}_train"]), y_train, np.load(inp[f"{name}_test"]), y_test, conv, job.seed
    )
    records[name] = attack_sequences(data, settings, conv, job.run(f"{name}_gru_{rep}"))
    for attacker, r in records[name].items():
        job.log(
            f"{rep} {name} {attacker}: PLR {r['plr']:.2f}% ({r['correct']}/{r['n']}), validation "
            f"{r['val_correct']}/{r['val_n']}, train accuracy {r['train_acc']:.4f}, {r['status']}"
        )
write_json(
    snakemake.output.metrics,
    {"rep": rep, **records["codes"], "landmarks": best_on_validation(records["inputs"])},
)
