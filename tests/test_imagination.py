"""Imagined episodes on a world whose dynamics we know: the frame's brightness is the state, each
action's first component adds to it, and the judge calls a frame successful once it is bright. The
stride tests follow the predicted states (``reencode=False``: exact arithmetic); one test checks the
suites' default, re-encoding the decoded frames."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lawm_eval.bundle import ModelBundle
from lawm_eval.errors import ModelError
from lawm_eval.suites.imagination import Imagination


class BrightnessWorld:
    """encode: mean brightness (1,T,1); latent: the sum of the transition's first action components;
    step: brightness + latent; decode: a uniform frame of that brightness."""

    def __init__(self, needs_states: bool = False):
        self.needs_states = needs_states
        self.seen_states: list[torch.Tensor] = []
        self.encoded: list[torch.Tensor] = []

    def encode(self, frames):  # (1,T,3,h,w) uint8 -> (1,T,1)
        self.encoded.append(frames.clone())
        return frames.float().mean((2, 3, 4))[..., None] / 255.0

    def to_latent(self, actions, states):  # (1,H,k*7) -> (1,H,1)
        if self.needs_states:
            self.seen_states.append(states)
        return actions.view(actions.shape[0], actions.shape[1], -1, 7)[..., 0].sum(-1, keepdim=True)

    def step(self, context, latent):
        return context[:, -1:] + latent

    def rollout(self, context, latent):
        return context[:, -1:] + torch.cumsum(latent, dim=1)

    def decode(self, states):  # (1,T,1) -> (1,T,3,8,8)
        return states[..., None, None].expand(*states.shape[:2], 3, 8, 8)


class BrightJudge:
    threshold = 0.5

    def probabilities(self, frames, instructions):
        assert len(frames) == len(instructions) and set(instructions) == {"brighten"}
        return (frames.reshape(len(frames), -1).mean(1) / 255.0 > 0.8).astype(np.float32)


class Proprio:
    def step(self, state, actions):
        return np.asarray(state) + np.cumsum(np.asarray(actions)[:, :1].repeat(8, 1), axis=0)


class Push:
    """Returns a chunk of 4 actions whose first component is ``dx``; records what it saw."""

    def __init__(self, dx):
        self.dx, self.seen = dx, []

    def act(self, obs):
        self.seen.append(obs)
        chunk = np.zeros((4, 7))
        chunk[:, 0] = self.dx
        return chunk


def imagine(policy, stride=1, needs_states=False, max_steps=40, reencode=False):
    world = BrightnessWorld(needs_states)
    bundle = ModelBundle("bright", encoder=world, controller=world, world_model=world, decoder=world)
    imagination = Imagination(bundle, BrightJudge(), Proprio(), action_stride=stride, reencode=reencode)
    first = np.full((8, 8, 3), 51, np.uint8)  # brightness 0.2
    episode = imagination.run(policy, first, np.zeros(8), "brighten", max_steps=max_steps, executed=lambda c: c,
                              observe=lambda frame, state: {"image": frame, "state": state})
    return episode, world


@pytest.mark.parametrize("stride, needs_states", [(1, False), (2, False), (3, False), (1, True), (4, True)])
def test_the_episode_succeeds_when_the_judge_first_sees_the_goal(stride, needs_states):
    episode, world = imagine(Push(0.1), stride, needs_states)
    # brightness 0.2 + 0.1 per action passes 0.8 after 7 actions: the transition holding action 7 ends it
    expected_steps = -(-7 // stride) * stride
    assert episode.success and episode.steps == expected_steps
    assert type(episode.steps) is int  # records and reports serialise it as JSON
    assert episode.queries == -(-expected_steps // 4)
    assert len(episode.frames) == len(episode.scores) == len(episode.states) == 1 + expected_steps // stride
    assert episode.scores[-1] == 1.0 and not episode.scores[:-1].any()
    assert episode.frames[-1].mean() / 255 == pytest.approx(min(1.0, 0.2 + 0.1 * expected_steps), abs=0.01)
    assert episode.states[-1][0] == pytest.approx(0.1 * expected_steps)  # the proprio model's state
    if needs_states:  # the controller read the state each transition starts from
        assert [float(s) for s in torch.cat(world.seen_states).flatten()][:2] == pytest.approx([0.2, 0.2 + 0.1 * stride])


class OneAtATime(Push):
    """A closed-loop policy: one action per call."""

    def act(self, obs):
        return super().act(obs)[:1]


def test_a_policy_returning_fewer_actions_than_a_transition_is_asked_again_on_the_same_frame():
    policy = OneAtATime(0.1)
    episode, _ = imagine(policy, stride=4)
    # the world moves 4 actions at a time: the transitions after actions 4 and 8; 0.2 + 0.8 passes 0.8
    assert episode.success and episode.steps == 8 and episode.queries == 8 and len(episode.frames) == 3
    assert all(np.array_equal(obs["image"], policy.seen[0]["image"]) for obs in policy.seen[:4])
    assert np.array_equal(policy.seen[4]["image"], episode.frames[1])


def test_the_policy_sees_the_imagined_frame_and_state():
    policy = Push(0.05)
    episode, _ = imagine(policy)
    assert np.array_equal(policy.seen[1]["image"], episode.frames[4]) and policy.seen[1]["state"][0] == pytest.approx(0.2)


def test_a_policy_that_never_reaches_the_goal_runs_to_max_steps():
    episode, _ = imagine(Push(-0.1), stride=4, max_steps=10)
    assert not episode.success and episode.steps == 10 and episode.queries == 3
    assert len(episode.frames) == 1 + 3  # chunks of 4, 4 and the last 2 (padded to the stride)
    assert episode.states[-1][0] == pytest.approx(-1.2)  # the padding repeats the last action


def test_a_world_model_without_a_controller_is_refused():
    world = BrightnessWorld()
    with pytest.raises(ModelError, match="lacks controller"):
        Imagination(ModelBundle("x", encoder=world, world_model=world, decoder=world), BrightJudge(), Proprio())


@pytest.mark.parametrize("policy_traits, camera, fragment", [
    ({"privileged": True, "needs_images": False}, None, "reads the simulator"),
    ({"needs_images": True}, None, "does not declare inputs.camera: agentview"),
])
def test_the_imagined_suite_refuses_what_imagination_cannot_serve(policy_traits, camera, fragment):
    from lawm_eval.catalog import registries
    from lawm_eval.inputs import ModelInputs
    from lawm_eval.suites.libero_imagined import ImaginedLiberoSuite

    suite = ImaginedLiberoSuite(registries()["suite"].get("libero_imagined"), {"simulator": "inprocess"})
    policy = type("Policy", (), {**policy_traits, "reset": lambda self, seed: None, "act": lambda self, obs: None})()
    with pytest.raises(ModelError, match=fragment):
        suite.check_inputs(ModelBundle("p", policy=policy, inputs=ModelInputs(camera=camera)))


def test_a_world_model_whose_actions_are_no_whole_number_of_libero_actions_is_refused():
    from lawm_eval.catalog import registries
    from lawm_eval.inputs import ModelInputs
    from lawm_eval.suites.libero_imagined import ImaginedLiberoSuite

    suite = ImaginedLiberoSuite(registries()["suite"].get("libero_imagined"), {"simulator": "inprocess"})
    world = BrightnessWorld()
    suite._live_world = ModelBundle("w", encoder=world, controller=world, world_model=world, decoder=world,
                                    inputs=ModelInputs(action_dim=10))
    with pytest.raises(ModelError, match="takes 10-D actions"):
        suite.imagination()


@pytest.mark.parametrize("reencode", [True, False])
def test_each_transition_starts_from_the_frames_the_policy_saw_encoded_again(reencode):
    """With ``reencode`` every transition (two per chunk here) goes on from the previous one's decoded
    frame, encoded again (a frame cannot be darker than black: pushing below 0 and back up shows it);
    without, the world model rolls its own states out."""

    class DownThenUp(Push):
        def act(self, obs):
            self.dx = -0.3 if len(self.seen) < 2 else 0.3
            return super().act(obs)

    episode, world = imagine(DownThenUp(0.0), stride=2, max_steps=12, reencode=reencode)
    # transitions of -0.6, -0.6 | -0.6, -0.6 | +0.6, +0.6 from 0.2: from the black frames the last
    # reaches 1.0 (clipped) and the judge ends the episode; from the states it is back at -1.0 (black)
    assert episode.success is reencode and len(episode.frames) == 1 + 6
    assert episode.frames[-1].mean() / 255 == pytest.approx(1.0 if reencode else 0.0, abs=0.01)
    # re-encoded: each of the 6 transitions starts from the frame before it (the first, then the
    # decoded ones), encoded once; rolled: only the first frame is ever encoded
    assert len(world.encoded) == (6 if reencode else 1)
    assert all(np.array_equal(seen[0].permute(0, 2, 3, 1).numpy(), episode.frames[i:i + 1])
               for i, seen in enumerate(world.encoded))


def test_episodes_imagined_in_one_batch_get_the_frames_each_gets_alone():
    """``frames_after`` batches episodes with the same context and action count (rows independent);
    others go in their own batch, and every answer comes back in its request's place."""
    world = BrightnessWorld()
    bundle = ModelBundle("bright", encoder=world, controller=world, world_model=world, decoder=world)
    imagination = Imagination(bundle, BrightJudge(), Proprio(), action_stride=2, context=2)
    rng = np.random.default_rng(0)
    contexts = [rng.integers(0, 256, (length, 8, 8, 3), dtype=np.uint8) for length in (2, 2, 1, 2)]
    actions = [rng.uniform(-0.2, 0.2, (n, 7)) for n in (4, 4, 4, 2)]
    together = imagination.frames_after(contexts, actions)
    alone = [imagination.frames_after([c], [a])[0] for c, a in zip(contexts, actions)]
    assert [f.shape for f in together] == [(2, 8, 8, 3), (2, 8, 8, 3), (2, 8, 8, 3), (1, 8, 8, 3)]
    assert all(np.array_equal(t, a) for t, a in zip(together, alone))
    batch_sizes = [len(frames) for frames in world.encoded[: 3]]
    assert batch_sizes[0] == 2  # the two episodes with 2 context frames and 4 actions went together


def test_side_by_side_episodes_share_one_world_model_through_a_batcher():
    """Three imagined episodes in three threads, their world-model requests answered by one
    ``ImaginationService`` behind a PolicyBatcher: the same episodes as imagined alone, in fewer calls."""
    import threading

    from lawm_eval.runner.batching import PolicyBatcher, SharedPolicy
    from lawm_eval.suites.imagination import ImaginationService

    def episode(dx, frames_after=None, imagination=None):
        world = BrightnessWorld()
        imagination = imagination or Imagination(ModelBundle("bright", encoder=world, controller=world,
                                                             world_model=world, decoder=world),
                                                 BrightJudge(), Proprio(), action_stride=2)
        first = np.full((8, 8, 3), 51, np.uint8)
        return imagination.run(Push(dx), first, np.zeros(8), "brighten", max_steps=40, executed=lambda c: c,
                               observe=lambda frame, state: {"image": frame, "state": state},
                               frames_after=frames_after)

    pushes = (0.1, 0.05, -0.05)
    alone = [episode(dx) for dx in pushes]
    world = BrightnessWorld()
    shared = Imagination(ModelBundle("bright", encoder=world, controller=world, world_model=world, decoder=world),
                         BrightJudge(), Proprio(), action_stride=2)
    batcher = PolicyBatcher(ImaginationService(shared), max_batch=3, max_wait_s=2.0)
    sessions = [SharedPolicy(batcher, {}) for _ in pushes]
    together: list = [None] * len(pushes)

    def run(i):
        sessions[i].reset(0)
        try:
            together[i] = episode(pushes[i], lambda c, a: sessions[i].act({"context": c, "actions": a}), shared)
        finally:
            sessions[i].finish()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(pushes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    batcher.shutdown()
    for a, b in zip(alone, together):
        assert (a.success, a.steps, a.queries) == (b.success, b.steps, b.queries)
        assert np.array_equal(a.frames, b.frames)
    assert batcher.stats.largest == 3 and batcher.stats.calls < sum(e.queries for e in alone)


def test_only_reencoded_imagination_can_be_batched():
    from lawm_eval.errors import ConfigError
    from lawm_eval.suites.imagination import ImaginationService

    world = BrightnessWorld()
    bundle = ModelBundle("bright", encoder=world, controller=world, world_model=world, decoder=world)
    with pytest.raises(ConfigError, match="reencode"):
        ImaginationService(Imagination(bundle, BrightJudge(), Proprio(), reencode=False))
