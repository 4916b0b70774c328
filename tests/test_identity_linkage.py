"""Identity-level open-set metrics (issue 26): the probe's source clip left out of the gallery, and
same-actor / different-clip pairs against different-actor pairs, so that hiding the clip (or keeping
it) is not mistaken for hiding (or keeping) the person."""

import numpy as np
import pytest

from ppfer_core.falsification import identity_linkage, source_retrieval

ACTORS, CLIPS, DIM = 12, 6, 64


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def corpus():
    """Gallery embeddings = an identity component per actor + a background component per clip."""
    rng = np.random.default_rng(0)
    actors = np.repeat(np.arange(ACTORS), CLIPS)
    identity = rng.normal(size=(ACTORS, DIM))[actors]
    background = 0.5 * rng.normal(size=(len(actors), DIM))
    return rng, actors, identity, background, unit(identity + background)


def test_identity_kept_background_changed_source_retrieval_falls_identity_stays(corpus):
    rng, actors, identity, _, gallery = corpus
    query = unit(identity + 0.5 * rng.normal(size=identity.shape))  # same person, a new background
    r = source_retrieval(query, gallery, seed=0, actors=actors)
    # the source clip is no closer than the actor's other clips: clip linkage falls to about 1 / CLIPS
    assert r.rank1 < 40.0
    # ...while the person is still found among the *other* clips of the gallery
    o = r.openset
    assert o.n == len(actors) and o.rank1 >= 95.0 and o.rank5 == 100.0 and o.auc > 0.99 and o.eer < 5.0
    assert o.chance == pytest.approx(100.0 * (CLIPS - 1) / (len(actors) - 1))


def test_no_identity_signal_is_at_chance(corpus):
    rng, actors, _, _, gallery = corpus
    query = unit(rng.normal(size=gallery.shape))
    o = source_retrieval(query, gallery, seed=0, actors=actors).openset
    assert abs(o.rank1 - o.chance) < 15.0 and abs(o.rank5 - o.chance5) < 25.0
    assert abs(o.auc - 0.5) < 0.1


def test_keeping_the_clip_but_not_the_person_is_not_identity_linkage(corpus):
    # the clip-linkage trap the other way round: a representation that keeps each clip's background but
    # drops the identity is matched to its source clip (and so scored by the source-kept identity rank-1)
    rng, actors, _, background, _ = corpus
    gallery = unit(background)
    query = unit(background + 0.1 * rng.normal(size=background.shape))
    r = source_retrieval(query, gallery, seed=0, actors=actors)
    assert r.rank1 > 95.0 and r.identity_rank1 > 95.0
    assert abs(r.openset.rank1 - r.openset.chance) < 15.0 and abs(r.openset.auc - 0.5) < 0.1


def test_identity_linkage_hand_computed():
    actors = np.array([0, 0, 1, 1])
    # probe 0: best other clip 2 (wrong), probe 1: 0 (right), probe 2: 3 (right), probe 3: 0 (wrong);
    # the diagonal (source) is highest everywhere and must not count
    sim = np.array(
        [
            [1.0, 0.2, 0.5, 0.1],
            [0.6, 1.0, 0.3, 0.0],
            [0.1, 0.2, 1.0, 0.4],
            [0.7, 0.3, 0.35, 1.0],
        ]
    )
    o = identity_linkage(sim, actors, seed=0)
    assert (o.n, o.rank1_correct) == (4, 2) and o.rank1 == 50.0
    assert o.chance == pytest.approx(100 / 3) and o.rank5 == 100.0 and o.chance5 == 100.0
    # off-diagonal pairs: positives 0.2, 0.6, 0.4, 0.35; negatives 0.5, 0.1, 0.3, 0.0, 0.1, 0.2, 0.7, 0.3
    # positive > negative in 3 (+ a tie at 0.2, half) + 7 + 6 + 6 = 22.5 of 32 pairs
    assert o.auc == pytest.approx(22.5 / 32)


def test_identity_linkage_needs_two_actors_and_a_repeated_actor():
    with pytest.raises(ValueError, match="two clips of one actor"):
        identity_linkage(np.eye(3), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="does not match"):
        identity_linkage(np.eye(3), np.array([0, 0]))
