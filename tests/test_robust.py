""" "Ours (robust)" (ppfer_core.robust, issue 29): joint enhancers through the inverse wavelet transform,
re-trained adversaries, the non-saturating objective and the fresh-attacker stop. Tiny tensors, one thread."""

import numpy as np
import pytest
import torch
from test_threat import one_thread  # noqa: F401  (autouse: tiny models, one thread)
from torch import nn
from torch.utils.data import TensorDataset

from ppfer_core import wavelet
from ppfer_core.attacks import build_small_cnn
from ppfer_core.enhancer import fit_enhancer
from ppfer_core.nets import UNet
from ppfer_core.robust import (
    AdversarySettings,
    BandClips,
    Ensemble,
    JointEnhancer,
    RobustSettings,
    StopSettings,
    fit_robust,
    holdout_clips,
    privacy_value,
)
from ppfer_core.robust.adversaries import aggregate
from ppfer_core.training import Run

CPU = torch.device("cpu")
N_IDS, T, SIZE = 4, 2, 16


def QUIET(_: str) -> None:
    """A log function that drops its message."""


def _state(m: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in m.state_dict().items()}


def _moved(a: dict, b: dict) -> bool:
    return any(not torch.equal(a[k], b[k]) for k in a)


class RecordingClips(BandClips):
    """Band clips that record every clip row read."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.read: set[int] = set()

    def take(self, rows, device):
        self.read.update(int(r) for r in rows)
        return super().take(rows, device)

    def item(self, row):
        self.read.add(int(row))
        return super().item(row)


def band_clips(n_per_id: int = 6, seed: int = 0, cls=BandClips) -> BandClips:
    """Clips of ``N_IDS`` identities (one colour each, plus noise), as haar level-1 bands."""
    g = torch.Generator().manual_seed(seed)
    ids = np.repeat(np.arange(N_IDS), n_per_id)
    base = torch.tensor([[0.8, 0.2, 0.2], [0.2, 0.8, 0.2], [0.2, 0.2, 0.8], [0.8, 0.8, 0.2]])
    frames = base[ids][:, None, :, None, None] + 0.05 * torch.randn(len(ids), T, 3, SIZE, SIZE, generator=g)
    low, highs = wavelet.dwt(frames.clamp(0, 1).flatten(0, 1), "haar", 1)
    unflat = [x.unflatten(0, (len(ids), T)).numpy() for x in (low, *highs)]
    return cls(unflat[0], unflat[1:], ids)


def joint(compensator: nn.Module | None = None) -> JointEnhancer:
    torch.manual_seed(0)
    return JointEnhancer(
        UNet(base_width=4, depth=1), UNet(base_width=4, depth=1), "haar", (SIZE, SIZE), compensator
    )


TRAIN = {
    "epochs": 2,
    "batch_size": 4,
    "lr": 1e-3,
    "optimizer": "adam",
}  # 20 fit clips (4 held out): 5 steps per round
ADV = AdversarySettings(
    steps=2, scratch=2, width=4, lr=0.01, batch_clips=2, replay=8, replay_clips=2,
    restart_every=3, restart_steps=1, warmup_steps=2,
)  # fmt: skip
STOP = StopSettings(holdout=0.25, fit_clips=8, steps=3, batch_size=8, width=4, patience=5, target=0.0)


def settings(**kw) -> RobustSettings:
    return RobustSettings(**{"l1_weight": 0.5, "adversaries": ADV, "stop": STOP, **kw})


def validator() -> nn.Module:
    torch.manual_seed(1)
    return build_small_cnn(N_IDS, 4)  # stands in for the frame controller (BatchNorm, batch statistics)


# --------------------------------------------------------------------------------------------- joint path


def test_enhancer_gradient_reaches_both_bands_through_the_inverse_transform():
    torch.manual_seed(0)
    low, highs = wavelet.dwt(torch.rand(1, 3, 4, 4), "haar", 1)  # one 4x4 frame
    low, high = low[None], highs[0][None]  # (clip, frame) leading shape
    # 1x1 enhancers near the identity: a numerical gradient check of bands -> enhancers -> inverse DWT
    # (apply_enhancers computes in float32, hence the tolerance)
    lo_net, hi_net = nn.Conv2d(3, 3, 1).double(), nn.Conv2d(3, 3, 1).double()
    for net in (lo_net, hi_net):
        nn.init.eye_(net.weight.data[:, :, 0, 0])
        net.bias.data.zero_()
        net.weight.data += 0.01
    j = JointEnhancer(lo_net, hi_net, "haar", (4, 4))
    ok = torch.autograd.gradcheck(
        lambda lo, hi: j.frames(lo, [hi]) * 0.5,
        (low.double().requires_grad_(), high.double().requires_grad_()),
        eps=1e-3,
        atol=1e-3,
        rtol=0.02,
    )
    assert ok
    j.frames(low.double(), [high.double()]).square().sum().backward()
    for net in (lo_net, hi_net):
        assert net.weight.grad is not None and net.weight.grad.abs().sum() > 0
    # the U-Nets of the workflow: every parameter of both receives gradient from the frame
    low, highs, _ = band_clips(1).take([0, 1], CPU)
    u = joint()
    u.frames(low, highs).square().sum().backward()
    for part in (u.low, u.high):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters())


def test_the_adversaries_can_see_the_compensator_output_which_stays_frozen():
    comp = nn.Conv2d(3, 3, 3, padding=1)
    frozen = _state(comp)
    u = joint(comp)
    low, highs, _ = band_clips(1).take([0], CPU)
    out = u.frames(low, highs)
    assert out.shape == (1, T, 3, SIZE, SIZE)
    u.train()
    assert not comp.training and not any(p.requires_grad for p in comp.parameters())
    out.sum().backward()
    assert not _moved(frozen, comp.state_dict()) and "compensator.weight" not in u.enhancer_state()


# --------------------------------------------------------------------------------------------- objective


def test_the_objective_does_not_saturate_where_the_adversary_is_right_and_sure():
    y = torch.tensor([0])

    def grad(logit: float, objective: str) -> float:
        z = torch.tensor([[logit, 0.0, 0.0, 0.0]], requires_grad=True)
        privacy_value(z, y, objective).backward()
        return float(z.grad.abs().sum())

    sure = grad(8.0, "complement")  # p_true ~ 0.999
    assert sure > 1.0 and sure > grad(2.0, "complement")  # the surer the adversary, the larger the push
    assert grad(-3.0, "complement") == 0.0  # below chance: no push (no label flipping)
    assert grad(-3.0, "capped_ce") == 0.0 and grad(2.0, "capped_ce") > 0
    with pytest.raises(ValueError, match="robust.objective"):
        privacy_value(torch.zeros(1, 4), y, "entropy")


# --------------------------------------------------------------------------------------------- adversaries


def test_restarts_are_round_robin_over_the_scratch_members_on_schedule():
    ens = Ensemble(
        N_IDS,
        AdversarySettings(scratch=3, width=4, restart_every=4, replay=0),
        (T, SIZE, SIZE),
        0,
        validator(),
    )
    opt = torch.optim.Adam(ens.parameters())
    before = [_state(m) for m in ens.members]
    hits = [ens.tick(opt) for _ in range(12)]
    assert hits == [None, None, None, 0, None, None, None, 1, None, None, None, 2]
    assert all(_moved(before[i], ens.members[i].state_dict()) for i in range(3))
    assert not _moved(before[3], ens.members[3].state_dict())  # the validator's fine-tune is never reset
    assert not any(isinstance(m, nn.BatchNorm2d) for i in (0, 1, 2, 4) for m in ens.members[i].modules())


def _bias_towards(model: nn.Module, cls: int, logit: float) -> None:
    """Add ``logit`` to class ``cls``'s bias of ``model``'s last linear layer (how sure the member is)."""
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        last.bias[cls] += logit


def _enhancer_side_grad(how: str, nudge_weak: bool) -> torch.Tensor:
    """The gradient of the enhancer's loss on the frames, against two scratch members and a validator
    member: the validator sure of the true identity (the strongest), scratch member 0 above chance
    (weaker), and, with ``nudge_weak``, scratch member 0's first convolution changed."""
    adv = AdversarySettings(scratch=2, width=4, clip=False, replay=0, aggregate=how)
    ens = Ensemble(N_IDS, adv, (T, SIZE, SIZE), 0, validator())
    _bias_towards(ens.members[2], 0, 8.0)
    _bias_towards(ens.members[0], 0, 2.0)
    if nudge_weak:
        conv = next(m for m in ens.members[0].modules() if isinstance(m, nn.Conv2d))
        with torch.no_grad():
            conv.weight.add_(0.5 * torch.randn(conv.weight.shape, generator=torch.Generator().manual_seed(3)))
    frames = torch.rand(2, T, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(2)).requires_grad_()
    y = torch.zeros(2, dtype=torch.long)
    values = torch.stack([privacy_value(lg, t, "complement") for lg, t in ens.logits(frames, y)])
    assert int(values.argmax()) == 2 and values[0] > values[1]  # the validator leads, member 0 is second
    ens.privacy_loss(frames, y, "complement")[0].backward()
    return frames.grad


def test_under_the_default_aggregate_a_weaker_member_reaches_the_enhancers_gradient():
    assert AdversarySettings().aggregate == "softmax"
    for how in ("softmax", "mean"):
        assert not torch.allclose(_enhancer_side_grad(how, False), _enhancer_side_grad(how, True))
    # max: only the most confident member counts, so the ensemble size is inert when one member leads
    assert torch.equal(_enhancer_side_grad("max", False), _enhancer_side_grad("max", True))


def test_the_softmax_aggregate_lies_between_max_and_mean_and_tends_to_each():
    v = torch.tensor([2.0, 0.5, 0.1], requires_grad=True)
    assert aggregate(v, "mean") < aggregate(v, "softmax", 1.0) < aggregate(v, "max")
    assert aggregate(v, "softmax", 1e-3).item() == pytest.approx(2.0)
    assert aggregate(v, "softmax", 1e3).item() == pytest.approx(v.mean().item(), rel=1e-3)
    aggregate(v, "softmax", 1.0).backward()  # the gradient of the smooth max: the softmax weights
    assert torch.allclose(v.grad, torch.softmax(v.detach(), 0)) and bool((v.grad > 0).all())
    with pytest.raises(ValueError, match="aggregate"):
        aggregate(v, "median")


_KNOB_RUNS: dict[str, dict[str, torch.Tensor]] = {}


def _enhancer_after_one_round(**adv) -> dict[str, torch.Tensor]:
    key = repr(sorted(adv.items()))
    if key not in _KNOB_RUNS:
        u = joint()
        s = settings(adversaries=AdversarySettings(**{**ADV.__dict__, **adv}))
        fit_robust(u, band_clips(), {**TRAIN, "epochs": 1}, s, Run(CPU, 0, None, QUIET, "t"), validator())
        _KNOB_RUNS[key] = _state(u)
    return _KNOB_RUNS[key]


@pytest.mark.parametrize(
    "knob",
    [
        {"steps": 1},  # adversary steps per enhancer step
        {"scratch": 1},  # ensemble size
        {"restart_every": 0},  # restarts
        {"replay_clips": 0},  # replay
        {"aggregate": "max"},
    ],
    ids=lambda k: next(iter(k)),
)
def test_every_adversary_knob_of_the_sweep_changes_the_trained_enhancers(knob):
    assert _moved(_enhancer_after_one_round(), _enhancer_after_one_round(**knob))


def test_adversaries_move_warm_up_once_restart_on_schedule_and_replay(tmp_path):
    clips = band_clips()
    v = validator()
    v_init = _state(v)
    u = joint()
    before = _state(u)
    result, ens = fit_robust(u, clips, TRAIN, settings(), Run(CPU, 0, None, QUIET, "t"), v)
    steps = int(ens.step)
    assert steps == 10 and int(ens.restarts) == 3  # 2 rounds x 5 steps; restarts at steps 3, 6 and 9
    assert bool(ens.warmed)
    # every draw remembers batch_clips clips: the warm-up once, steps per enhancer step, catch-ups
    draws = ADV.warmup_steps + ADV.steps * steps + ADV.restart_steps * int(ens.restarts)
    assert int(ens.replay_count) == ADV.batch_clips * draws
    fresh = Ensemble(N_IDS, ADV, (T, SIZE, SIZE), 0, validator())
    assert all(_moved(fresh.members[i].state_dict(), m.state_dict()) for i, m in enumerate(ens.members))
    assert _moved(v_init, ens.members[2].state_dict())  # the validator member is fine-tuned
    assert sum(row["restarts"] for row in result.history) == pytest.approx(3 / 5)  # per-round means
    assert {"adversary_acc", "adversary_train_acc", "l1", "fresh_leak", "fresh_train_acc"} <= set(
        result.history[0]
    )
    assert _moved(before, u.state_dict())


def test_training_resumes_to_the_same_weights_without_a_second_warm_up(tmp_path):
    def run(epochs, state):
        u = joint()
        _, ens = fit_robust(
            u,
            band_clips(),
            {**TRAIN, "epochs": epochs},
            settings(),
            Run(CPU, 0, state, QUIET, "t"),
            validator(),
        )
        return u, ens

    whole, whole_ens = run(2, None)
    state = tmp_path / "s.pt"
    run(1, state)  # "preempted" after round 1: its state file stays
    resumed, ens = run(2, state)
    assert int(ens.replay_count) == int(whole_ens.replay_count)  # warmed up once, as the whole run
    assert not _moved(whole.state_dict(), resumed.state_dict())


# --------------------------------------------------------------------------------------------- the stop


def test_the_fresh_attacker_stop_reads_only_train_clips_and_never_trains_on_the_held_out():
    clips = band_clips(cls=RecordingClips)
    fit_rows, held = holdout_clips(clips, STOP.holdout, 0)
    assert len(held) == N_IDS and set(fit_rows).isdisjoint(held)
    u = joint()
    result, _ = fit_robust(u, clips, TRAIN, settings(), Run(CPU, 0, None, QUIET, "t"), validator())
    assert set(result.heldout_rows) == set(held)
    assert clips.read <= set(range(len(clips)))  # the train split is all it is given
    # the enhancer's and the adversaries' batches never hold a held-out clip; only the stop reads them
    training = RecordingClips(clips.low, clips.highs, clips.ids)
    s = settings(stop=StopSettings(**{**STOP.__dict__, "fit_clips": 1, "steps": 1}))
    fit_robust(joint(), training, {**TRAIN, "epochs": 1}, s, Run(CPU, 0, None, QUIET, "t"), validator())
    assert set(held) <= training.read
    stop_free = RecordingClips(clips.low, clips.highs, clips.ids)
    from ppfer_core.robust.train import AdversaryBatches, ClipBandDataset

    ens = Ensemble(N_IDS, ADV, (T, SIZE, SIZE), 0, validator())
    draw = AdversaryBatches(joint(), ens, stop_free, fit_rows, 0, CPU)
    for call in range(20):
        draw(call)
    data = ClipBandDataset(stop_free, fit_rows)
    for i in range(len(data)):
        data[i]
    assert stop_free.read.isdisjoint(held)


def test_the_stop_keeps_the_best_round_and_ends_at_the_target():
    u = joint()
    reach = settings(
        stop=StopSettings(**{**STOP.__dict__, "target": float(N_IDS)})
    )  # any leakage <= 4 x chance
    result, _ = fit_robust(
        u, band_clips(), {**TRAIN, "epochs": 3}, reach, Run(CPU, 0, None, QUIET, "t"), validator()
    )
    assert (
        len(result.history) == 1 and result.stopped.startswith("fresh attacker at") and result.best_round == 1
    )
    patient = settings(
        stop=StopSettings(**{**STOP.__dict__, "patience": 1, "max_l1": 0.0})
    )  # no round eligible
    u = joint()
    before = _state(u)
    result, _ = fit_robust(
        u, band_clips(), {**TRAIN, "epochs": 3}, patient, Run(CPU, 0, None, QUIET, "t"), validator()
    )
    assert len(result.history) == 1 and result.best_round == -1 and "not improved" in result.stopped
    assert _moved(before, u.state_dict())  # nothing kept: the last weights stay


# --------------------------------------------------------------------------------------------- frozen mode, settings


def test_frozen_mode_is_the_paper_and_leaves_the_controller_unchanged():
    torch.manual_seed(0)
    data = TensorDataset(torch.rand(24, 3, SIZE, SIZE), torch.arange(N_IDS).repeat(6))  # band images
    controller = build_small_cnn(N_IDS, 4)
    frozen = _state(controller)
    objective = {"objective": "ce", "l1_weight": 0.0, "identity_budget": None}
    result = fit_enhancer(
        UNet(base_width=4, depth=1), controller, data, TRAIN, objective, Run(CPU, 0, None, QUIET, "t")
    )
    assert not _moved(frozen, controller.state_dict()) and "controller_acc" in result.history[0]


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match=r"robust.adversaries: unknown keys \['stesp'\]"):
        RobustSettings.from_config({"adversaries": {"stesp": 3}})
    with pytest.raises(ValueError, match="robust.adversaries"):
        RobustSettings.from_config({"adversaries": {"steps": 0}})
    with pytest.raises(ValueError, match="ensemble is empty"):
        AdversarySettings.from_config({"scratch": 0, "validator": False, "clip": False})
    with pytest.raises(ValueError, match="robust.stop.holdout"):
        RobustSettings.from_config({"stop": {"holdout": 0}})
    with pytest.raises(ValueError, match="robust.objective"):
        RobustSettings.from_config({"objective": "entropy", "train": {}, "sweep": {}})
    with pytest.raises(ValueError, match="robust.adversaries.temperature"):
        AdversarySettings.from_config({"temperature": 0})
    with pytest.raises(ValueError, match="robust.adversaries.aggregate"):
        AdversarySettings.from_config({"aggregate": "median"})
    with pytest.raises(ValueError, match="needs the frame controller"):
        Ensemble(N_IDS, AdversarySettings(width=4), (T, SIZE, SIZE), 0, None)
