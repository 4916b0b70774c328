"""Rule attack_codes (issue 27, the attack suite's kind ``codes``; the one code-attacker path): identity
attackers on the code sequences a coded representation is a function of (logistic regression, MLP, GRU;
records counted in plr_worst), on the estimated landmarks the code is computed from (``landmarks``:
the one of the three best on the validation slice; reported beside, not counted) and, for reference,
on the test clips' raw true landmarks (``raw_landmarks``, same selection; what the code removes).
Trained on the train split minus the suite's validation slice, scored per test clip
(ppfer_core.bottleneck.suite_attacks). Evaluation only, beside them (``coding``): the codes' error
against the true landmarks' codes and an emotion probe on the codes (the metrics-only reader of the
test clips' true landmarks)."""

import numpy as np
import pandas as pd

from ppfer_core.arrays import emotion_labels, identity_labels
from ppfer_core.attacks import Convergence
from ppfer_core.bottleneck import ExpressionBasis
from ppfer_core.bottleneck.attacks import coding_figures
from ppfer_core.bottleneck.suite_attacks import (
    CodeAttackSettings,
    Sequences,
    attack_sequences,
    best_on_validation,
)
from ppfer_core.runtime import Job, end_job, write_json

job = Job.from_snakemake(snakemake)
p, inp, rep = snakemake.params, snakemake.input, snakemake.wildcards.rep
index = pd.read_parquet(inp.index)
(y_train, _), (y_test, _) = identity_labels(index, "train"), identity_labels(index, "test")
conv = Convergence.from_config(p.convergence)
settings = CodeAttackSettings.from_config(p.codes)
arrays = {
    f"{name}_{split}": np.load(inp[f"{name}_{split}"])
    for name in ("codes", "inputs")
    for split in ("train", "test")
}
truth = dict(zip(("train", "test"), (np.load(path) for path in p.true_landmarks), strict=True))
arrays |= {f"raw_{split}": truth[split] for split in ("train", "test")}
records = {}
for name in ("codes", "inputs", "raw"):
    data = Sequences.of(arrays[f"{name}_train"], y_train, arrays[f"{name}_test"], y_test, conv, job.seed)
    records[name] = attack_sequences(data, settings, conv, job.run(f"{name}_gru_{rep}"))
    for attacker, r in records[name].items():
        job.log(
            f"{rep} {name} {attacker}: PLR {r['plr']:.2f}% ({r['correct']}/{r['n']}), validation "
            f"{r['val_correct']}/{r['val_n']}, train accuracy {r['train_acc']:.4f}, {r['status']}"
        )
coding = (
    coding_figures(
        arrays["codes_train"],
        arrays["codes_test"],
        truth["test"],
        ExpressionBasis.load(inp.basis),
        emotion_labels(index, "train"),
        emotion_labels(index, "test"),
    )
    if "basis" in inp.keys()
    else None  # a coding without a basis (design.yaml): no code error, no probe
)
job.log(f"{rep} coding (evaluation only): {coding}")
write_json(
    snakemake.output.metrics,
    {
        "rep": rep,
        **records["codes"],
        "landmarks": best_on_validation(records["inputs"]),
        "raw_landmarks": best_on_validation(records["raw"]),
        # every attacker on the estimated and on the true landmarks (plr, validation counts)
        "inputs_attackers": records["inputs"],
        "raw_landmarks_attackers": records["raw"],
        "coding": coding,
    },
)
end_job()
