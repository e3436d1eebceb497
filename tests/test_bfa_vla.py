"""The BFA VLA: chunks are represented exactly at their keyframes and interpolate from the current state,
unknown words share one embedding, different noise seeds give different candidates, and flow matching
learns a conditional chunk on a toy problem."""

from __future__ import annotations

import pytest
import torch

from lawm_eval.models.bfa_vla import KEY_EVERY, UNKNOWN, BFAFlowVLA, vocabulary


def test_keyframes_round_trip_and_interpolate_from_the_state():
    vla = BFAFlowVLA(vocabulary(["pick up the can"]), horizon=20)
    generator = torch.Generator().manual_seed(0)
    state = torch.randn(3, 25, generator=generator)
    chunk = state[:, None] + torch.randn(3, 20, 25, generator=generator).cumsum(1) * 0.1  # (B, p, A)
    back = vla.actions(vla.keyframes(chunk, state), state)
    assert torch.allclose(back[:, KEY_EVERY - 1::KEY_EVERY], chunk[:, KEY_EVERY - 1::KEY_EVERY], atol=1e-5)
    first_key = chunk[:, KEY_EVERY - 1]
    assert torch.allclose(back[:, 0], state + (first_key - state) / KEY_EVERY, atol=1e-5)  # linear from the state


def test_unknown_words_share_one_index():
    vla = BFAFlowVLA(vocabulary(["pick up the can", "pick up the milk"]), horizon=10)
    ids, offsets = vla.tokens(["pick up the donut", "Pick up the CAN!"])
    assert vla.vocab[0] == UNKNOWN
    assert ids[offsets[0] + 3] == 0 and ids[offsets[1] + 3] == vla.index["can"]


def test_noise_seeds_give_different_candidates_and_training_learns_the_condition():
    torch.manual_seed(0)
    vla = BFAFlowVLA(vocabulary(["go left", "go right"]), horizon=10, dim=32, hidden=64)
    generator = torch.Generator().manual_seed(1)
    frames, state = torch.zeros(1, 3, 64, 64), torch.zeros(1, 25)
    draws = vla.sample(frames, ["go left"], state, 6, generator)  # (6, p, A)
    assert draws.shape == (6, 10, 25) and draws.std(0).mean() > 0.05
    # toy data: the chunk moves +1 or -1 along the first action dimension depending on the instruction
    target = {"go left": 1.0, "go right": -1.0}

    def batch(n):
        texts = ["go left" if i % 2 == 0 else "go right" for i in range(n)]
        chunk = torch.zeros(n, 10, 25)
        chunk[:, :, 0] = torch.tensor([target[t] for t in texts])[:, None] * torch.linspace(0.1, 1.0, 10)
        return torch.zeros(n, 3, 64, 64), texts, torch.zeros(n, 25), chunk

    optimizer = torch.optim.Adam(vla.parameters(), lr=3e-3)
    for _ in range(300):
        loss = vla.loss(*batch(32), generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    vla.eval()
    final = {text: float(vla.sample(frames, [text], state, 16, generator)[:, -1, 0].mean()) for text in target}
    assert final["go left"] > 0.5 and final["go right"] < -0.5, final  # the instruction picks the direction


def test_bundled_vla_bfa_matches_its_golden():
    import numpy as np

    from lawm_eval.models.train.artifacts import load_golden
    from lawm_eval.models.train.bfa_vla import vla_golden
    from lawm_eval.models.zoo import build_bundled

    bundle = build_bundled("vla_bfa")
    assert bundle.policy is bundle.sampler and bundle.sampler.network.horizon == 100
    golden = load_golden("vla_bfa")
    assert np.allclose(vla_golden(bundle.sampler.network)["first_keyframe"], golden["first_keyframe"], rtol=1e-4,
                       atol=1e-5)


@pytest.mark.xfail(strict=True, reason=(
    "on the bfa_v2 fixture's 8 windows (the first 15 actions from steps 20-125 of held-out rollouts) the mean of 8 "
    "samples is 0.049 from the recorded actions vs 0.039 for holding still; over whole 100-action chunks of the 22 "
    "held-out rollouts it is 0.104 vs 0.167 (baselines/vla_bfa/metrics.json, docs/protocols/bfa.md)"))
def test_bundled_vla_bfa_follows_the_next_actions_better_than_holding_still():
    import numpy as np

    from lawm_eval.models.train.bfa_vla import GOLDEN_INSTRUCTION
    from lawm_eval.models.train.evaluate import load_fixture
    from lawm_eval.models.zoo import build_bundled

    bundle = build_bundled("vla_bfa")
    # on the 8 held-out fixture windows: the mean of 8 candidates follows the next 15 recorded actions more
    # closely than holding the current pose and hand does
    fixture = load_fixture("bfa")
    vla_error, hold_error = [], []
    for frames, states, actions in zip(fixture["frames"], fixture["states"], fixture["actions"]):
        obs = {"image": frames[0], "state": states[0], "task": GOLDEN_INSTRUCTION}
        draws = bundle.sampler.sample(obs, 8, torch.Generator().manual_seed(0))  # (8, 100, 25)
        recorded = actions.reshape(-1, 25)  # (15, 25)
        vla_error.append(np.abs(draws.mean(0)[: len(recorded)] - recorded).mean())
        hold_error.append(np.abs(states[0] - recorded).mean())
        assert draws.shape == (8, 100, 25) and draws.std(0).mean() > 1e-3  # distinct candidates
    assert np.mean(vla_error) < np.mean(hold_error)
