"""`lawm-eval validate` stops a broken user model before any episode, in seconds, with one line that
names what is wrong: a wrong output shape, numpy instead of torch, a missing method, a policy
without `reset`, a factory that raises. Each case is a user package written to a temporary folder,
run through the command line (`lawm_eval.cli.main`) as a user would.

The protocol asks for ≤ 5 s per check; the tests allow 20 s, since CI machines are shared."""

from __future__ import annotations

import textwrap
import time
import uuid

import pytest

from lawm_eval.cli import main

LIMIT_S = 20.0  # loose: the check itself takes 1-3 s in-process (≤ 5 s as a fresh `lawm-eval` process)

USER_MODULE = '''
import numpy as np
import torch


class Encoder:
    """(B,T,3,H,W) uint8 images -> their mean colour (B,T,3); (B,T,D) vectors pass through."""

    def encode(self, observations):
        if observations.dim() == 5:
            return observations.float().mean(dim=(-1, -2)) / 255
        return observations.float()


class Controller:
    def to_latent(self, actions, states):
        return actions


class WorldModel:
    """s' = s + the latent action cut or zero-padded to the state size."""

    def step(self, context, latent_actions):
        return self.rollout(context, latent_actions)

    def rollout(self, context, latent_actions):
        state, dim, out = context[:, -1], context.shape[-1], []
        for t in range(latent_actions.shape[1]):
            z = latent_actions[:, t, :dim]
            state = state + torch.nn.functional.pad(z, (0, dim - z.shape[-1]))
            out.append(state)
        return torch.stack(out, dim=1)


class WrongShape(WorldModel):
    def rollout(self, context, latent_actions):
        return super().rollout(context, latent_actions)[..., :-1]  # one state dimension short


class ReturnsNumpy(WorldModel):
    def rollout(self, context, latent_actions):
        return super().rollout(context, latent_actions).numpy()


class MyWM:
    """encode, to_latent and step, but no rollout."""

    def encode(self, observations):
        return Encoder().encode(observations)

    def to_latent(self, actions, states):
        return actions

    def step(self, context, latent_actions):
        return context[:, -1:]


class P:
    """act, but no reset."""

    def act(self, obs):
        return np.zeros((8, 7))


class Policy(P):
    def reset(self, seed):
        pass


class SixDimPolicy(Policy):
    def act(self, obs):
        return np.zeros((8, 6))


class ReadsPrompt(Policy):
    def act(self, obs):
        return np.zeros((8, 7)) + len(obs["prompt"])


def parts(world_model):
    return {"encoder": Encoder(), "controller": Controller(), "world_model": world_model}


def good():
    return parts(WorldModel())


def wrong_shape():
    return parts(WrongShape())


def numpy_output():
    return parts(ReturnsNumpy())


def missing_rollout():
    return MyWM()


def policy_without_reset():
    return P()


def policy(kind="good"):
    return {"good": Policy, "six": SixDimPolicy, "prompt": ReadsPrompt}[kind]()


def raises(width=3):
    raise TypeError(f"unsupported operand type(s) for +: 'int' and 'str' (width {width})")
'''


@pytest.fixture
def user_pkg(tmp_path, monkeypatch):
    """The name of a fresh importable package holding USER_MODULE as ``<name>.lawm``."""
    name = f"user_pkg_{uuid.uuid4().hex[:8]}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / name / "lawm.py").write_text(textwrap.dedent(USER_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def validate(capsys, *overrides: str) -> tuple[int, list[str], str, float]:
    """(exit code, stderr lines, stdout, seconds) of ``lawm-eval validate <overrides>``."""
    start = time.perf_counter()
    code = main(["validate", *overrides])
    seconds = time.perf_counter() - start
    captured = capsys.readouterr()
    return code, captured.err.strip().splitlines(), captured.out, seconds


def assert_one_line_error(capsys, overrides: list[str], *expected: str) -> str:
    code, err, out, seconds = validate(capsys, *overrides)
    print(f"validate {' '.join(overrides)}: {seconds:.2f} s")  # shown with -s / on failure
    assert code == 2, (code, err, out)
    assert len(err) == 1, err
    assert err[0].startswith("lawm-eval: error: ")
    for text in expected:
        assert text in err[0], err[0]
    assert seconds < LIMIT_S, f"validate took {seconds:.1f} s"
    return err[0]


def libero_ready():
    """Skip (a failure under CI) unless the LIBERO extra and its scene files are installed."""
    from lawm_eval import assets
    from lawm_eval.errors import LawmEvalError
    from lawm_eval.extras import require_extra

    try:
        require_extra("libero", "the LIBERO validate tests")
        assets.require("libero_assets")
    except LawmEvalError as exc:
        pytest.skip(str(exc))


PLANNING_SUITES = [
    pytest.param(["suite=point_mass"], "(2, 1, 4)", id="point_mass"),
    pytest.param(["suite=droid_planning", "suite.references=[]"], "(2, 3, 3)", id="droid_planning",
                 marks=pytest.mark.extra("data")),
]


@pytest.mark.parametrize("suite, expected_shape", PLANNING_SUITES)
def test_a_good_model_validates(capsys, user_pkg, suite, expected_shape):
    code, err, out, seconds = validate(capsys, *suite, "model=custom", f"model.factory={user_pkg}.lawm:good")
    assert code == 0, err
    assert out.startswith("ok: suite ") and seconds < LIMIT_S


@pytest.mark.parametrize("suite, expected_shape", PLANNING_SUITES)
def test_a_wrong_output_shape_is_named(capsys, user_pkg, suite, expected_shape):
    line = assert_one_line_error(capsys, [*suite, "model=custom", f"model.factory={user_pkg}.lawm:wrong_shape"],
                                 "cannot serve suite", "world_model.rollout returned shape")
    assert line.endswith(f"expected {expected_shape}")


@pytest.mark.parametrize("suite, expected_shape", PLANNING_SUITES)
def test_numpy_instead_of_torch_is_named(capsys, user_pkg, suite, expected_shape):
    assert_one_line_error(capsys, [*suite, "model=custom", f"model.factory={user_pkg}.lawm:numpy_output"],
                          "world_model.rollout returned a numpy.ndarray, expected a torch.Tensor")


@pytest.mark.parametrize("suite", [["suite=point_mass"], pytest.param(["suite=droid_planning"],
                                                                       marks=pytest.mark.extra("data"))])
def test_a_missing_method_is_named(capsys, user_pkg, suite):
    line = assert_one_line_error(capsys, [*suite, "model=custom", f"model.factory={user_pkg}.lawm:missing_rollout"])
    assert line == ("lawm-eval: error: model 'custom': its MyWM has step but lacks rollout "
                    "(a world_model needs step, rollout)")


@pytest.mark.extra("libero")
def test_a_policy_without_reset_is_named(capsys, user_pkg):
    libero_ready()
    line = assert_one_line_error(capsys, ["suite=libero_spatial", "model=custom",
                                          f"model.factory={user_pkg}.lawm:policy_without_reset"])
    assert line == "lawm-eval: error: model 'custom': its P has act but lacks reset (a policy needs act, reset)"


def test_a_factory_exception_is_named(capsys, user_pkg):
    line = assert_one_line_error(capsys, ["suite=point_mass", "model=custom", f"model.factory={user_pkg}.lawm:raises",
                                          "+model.width=5"])
    assert line.startswith(f"lawm-eval: error: model 'custom': its factory {user_pkg}.lawm:raises raised "
                           "TypeError: unsupported operand type(s) for +: 'int' and 'str' (width 5) (at ")
    assert f"{user_pkg}/lawm.py:" in line


# -- the LIBERO probe: the policy is called once on a stand-in observation, without a simulator ------

@pytest.mark.extra("libero")
@pytest.mark.parametrize("kind, expected", [
    ("six", "policy.act returned shape (8, 6), expected (Hc, 7)"),
    ("prompt", "KeyError: 'prompt'"),
])
def test_the_libero_probe_calls_the_policy(capsys, user_pkg, kind, expected):
    libero_ready()
    line = assert_one_line_error(capsys, ["suite=libero_spatial", "model=custom", f"model.factory={user_pkg}.lawm:policy",
                                          f"+model.kind={kind}"], "cannot serve suite 'libero_spatial'")
    assert line.endswith(expected), line


@pytest.mark.extra("libero")
@pytest.mark.parametrize("model", ["noop", "oracle", "custom"])
def test_working_libero_policies_validate(capsys, user_pkg, model):
    """The oracle reads obs['sim'] (needs_simulator): it is not probed, so it validates without a simulator."""
    libero_ready()
    extra = [f"model.factory={user_pkg}.lawm:policy"] if model == "custom" else []
    code, err, out, seconds = validate(capsys, "suite=libero_spatial", f"model={model}", *extra)
    assert code == 0, err
    assert out.startswith("ok: suite libero_spatial") and seconds < LIMIT_S


def test_the_libero_stand_in_observation_has_the_keys_shapes_and_dtypes_of_a_real_one():
    """What ``observation`` builds from the stand-in: the keys a policy reads (a real episode checks the
    same against the simulator in tests/test_libero.py)."""
    import numpy as np

    from lawm_eval.catalog import registries
    from lawm_eval.suites.libero import LiberoSuite

    suite = LiberoSuite(registries()["suite"].get("libero_spatial"))
    spec = suite.spec("task", 0, 7, params={"init_state": 0, "language": "pick up the bowl"})

    class Cameras:
        needs_images = True

    obs = suite.observation(suite.probe_raw(("agentview", "robot0_eye_in_hand")), None, spec, Cameras())
    assert set(obs) == {"state", "task", "raw", "image", "wrist_image"}
    assert obs["state"].shape == (8,) and obs["state"].dtype == np.float32
    assert obs["image"].shape == obs["wrist_image"].shape == (256, 256, 3) and obs["image"].dtype == np.uint8
    assert obs["task"] == "pick up the bowl"
    assert obs["raw"]["robot0_proprio-state"].shape == (39,)
    blind = suite.observation(suite.probe_raw(()), None, spec, object())
    assert set(blind) == {"state", "task", "raw"}
