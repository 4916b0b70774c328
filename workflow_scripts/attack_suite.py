"""Rule attack_suite (the attack suite, beyond the paper): every scoring of one attacked representation
in one process, its clips read once, one metrics file per record (ppfer_core.attack_jobs): the PLR by
the independent validator and V_pl (metrics/leakage), the adaptive attacker (metrics/adaptive), V_pl by
voting and the scratch CNN (metrics/attacks/frames), and the video attacker (metrics/attacks/clips).
V_pl on the recovery attack's output is rule recover's."""

from ppfer_core.attack_jobs import (
    AdaptiveSettings,
    AttackData,
    ClipSettings,
    adaptive_record,
    clip_record,
    frames_record,
)
from ppfer_core.evaluation import LeakageScorers, leakage_record
from ppfer_core.runtime import Job, end_job, write_json

job = Job.from_snakemake(snakemake)
p, inp, out = snakemake.params, snakemake.input, snakemake.output
data = AttackData.load(snakemake.wildcards.rep, inp.train, inp.test, inp.index)
leakage = p.leakage
# the PLR column's two readers: the independent validator and V_pl (inp.vpl, which the attackers start from)
scorers = LeakageScorers.load(
    (leakage["validator_model"], inp.validator), (leakage["model"], inp.vpl), len(data.actors)
)
write_json(out.leakage, leakage_record(job, data.rep, scorers, data.test, inp.index, leakage["seed"]))
with job.resumable(out.adaptive) as state:
    adaptive = adaptive_record(
        job,
        data,
        AdaptiveSettings(**p.adaptive),
        leakage["model"],
        inp.vpl,
        state,
        leakage["seed"],
    )
write_json(out.adaptive, adaptive)
with job.resumable(out.frames) as state:
    frames = frames_record(
        job,
        data,
        leakage["model"],
        inp.vpl,
        p.frames["scratch"],
        p.frames["convergence"],
        state,
        leakage["seed"],
    )
write_json(out.frames, frames)
with job.resumable(out.clips) as state:
    clips = clip_record(job, data, ClipSettings(**p.clip), state)
write_json(out.clips, clips)
end_job()
