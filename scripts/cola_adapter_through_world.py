"""CoLA-World's frozen world model driven by an adapter trained through it (a droid_planning diagnosis).

The paper's adapter classifies each real action's GT-LAM code (App. C.2; the bundled ``cola_world``) or,
for the continuous variant, regresses the IDM's μ (``cola_world_vae``). Here a fresh 2-layer MLP maps the
real action straight to the world model's conditioning latent (not snapped to a code) and trains on the
one-step next-frame MSE through the frozen world model, as LAC-WM's stage 2 trains its projector through
its frozen FDM. Everything but the adapter is the bundled checkpoint's. Not bundled:
docs/protocols/droid_planning.md sets its planning beside the paper's adapter.

    python scripts/cola_adapter_through_world.py cola_world cola_world_vae
    lawm-eval run suite=droid_planning model=cola_world model.checkpoint=<the path it prints>
    python scripts/cola_adapter_through_world.py cola_world --checkpoint <a cola_lr_study --save checkpoint>
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import torch
from torch.nn.functional import mse_loss

from lawm_eval.bundle import load_checkpoint
from lawm_eval.errors import ConfigError, LawmEvalError, OneLineParser
from lawm_eval.models.checkpoint import save_model
from lawm_eval.models.cola_world import CoLAWorld
from lawm_eval.models.train.cola_world import ADAPTER_BATCH, ADAPTER_SEED, ADAPTER_STEPS
from lawm_eval.models.train.data import Transitions, transitions
from lawm_eval.models.train.evaluate import lam_errors, mse
from lawm_eval.models.train.loop import step_count, train
from lawm_eval.models.train.losses import pairs
from lawm_eval.models.zoo import load_autoencoder, load_bundled
from lawm_eval.paths import cache_dir

MODELS = ("cola_world", "cola_two_stage", "cola_world_vae", "cola_two_stage_vae")  # one-frame world models
STEPS = 2 * ADAPTER_STEPS  # the bundled adapters' batch, seed and learning rate; twice their steps


def checkpoint_file(name: str, source: Path | None = None) -> Path:
    """Where the adapted model goes: named after the bundled model, and after ``source`` when one was given."""
    stem = name if source is None else f"{name}_{source.stem}"
    return cache_dir() / "checkpoints" / "cola_adapter_through_world" / f"{stem}.pt"


def with_fresh_adapter(name: str, checkpoint: Path | None = None) -> tuple[CoLAWorld, dict]:
    """The bundled ``name`` (or its ``checkpoint``, e.g. one of ``cola_lr_study --save``) with a fresh regressing,
    unsnapped adapter; (model, its constructor config)."""
    if name not in MODELS:
        raise ConfigError(f"'{name}' is not a one-frame CoLA-World model; choose from {', '.join(MODELS)}")
    bundled, path, _ = load_bundled(name, checkpoint)  # the format, the method and every weight checked
    config = {**load_checkpoint(path)["config"], "adapter": "regress", "snap_adapter": False}
    with torch.random.fork_rng():  # the fresh adapter starts the same whatever the global generator drew
        torch.manual_seed(ADAPTER_SEED)
        model = CoLAWorld(**config)
    kept = {k: v for k, v in bundled.state_dict().items() if not k.startswith("adapter.")}
    model.load_state_dict(kept, strict=False)  # every weight the bundled checkpoint and its config share
    return model.eval(), config


def adapter_loss(model: CoLAWorld, data: Transitions, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
    """Real action → adapter latent → frozen world model → next frame: one-step token MSE."""
    x, a, _, _ = data.batch(ADAPTER_BATCH, generator)  # (B, W + 1, 16, 32), (B, W, A)
    x_t, x_next = pairs(x)  # (B·W, 16, 32) each
    return mse_loss(model.predict_next(x_t, model.control(a.flatten(0, 1), None)), x_next), {}


def train_through_world(model: CoLAWorld, data: Transitions, steps: int = STEPS) -> list[dict]:
    """Train the adapter alone through the frozen IDM and world model."""
    model.requires_grad_(False)
    model.adapter.requires_grad_(True)
    return train(model.adapter.parameters(), partial(adapter_loss, model, data), steps, lr=1e-3, seed=ADAPTER_SEED)


@torch.no_grad()
def held_out_errors(model: CoLAWorld, held: Transitions) -> dict[str, float]:
    """``lam_errors``' one-step token MSEs on held-out transitions (copy-last, the IDM's latent, the adapter's from
    the real actions), the adapter's from zero actions, and the mean norm of the adapter's and the IDM's latents (how
    far the adapter leaves the IDM's range)."""
    x, a = held.x, held.a[:, 0]  # (N, 2, 16, 32), (N, A)
    adapter, idm = model.control(a, None), model.idm_latent(x[:, 0], x[:, 1])  # (N, L) each
    zero = model.predict_next(x[:, 0], model.control(torch.zeros_like(a), None))
    return {**lam_errors(model, held.x, held.a), "zero_action_mse": mse(zero, x[:, 1]),
            "adapter_latent_norm": adapter.norm(dim=1).mean().item(), "idm_latent_norm": idm.norm(dim=1).mean().item()}


def main() -> None:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", choices=MODELS)
    parser.add_argument("--steps", type=step_count, default=STEPS)
    parser.add_argument("--checkpoint", type=Path, help="a checkpoint of the one model named, instead of the bundled")
    args = parser.parse_args()
    if args.checkpoint is not None and len(args.models) > 1:
        parser.error("--checkpoint holds one model: name only that one")
    try:  # every model loads before any trains: a bad checkpoint is one line, exit 2
        models = {name: with_fresh_adapter(name, args.checkpoint) for name in args.models}
    except LawmEvalError as exc:
        parser.error(str(exc))
    autoencoder = load_autoencoder()
    data = transitions("franka", autoencoder, window=1)
    held = transitions("franka", autoencoder, window=1, split="held_out")
    print("| model | adapter | GT-LAM | zero action | copy last | latent norm: adapter / IDM | checkpoint |")
    print("|---|---|---|---|---|---|---|")
    for name, (model, config) in models.items():
        train_through_world(model, data, args.steps)
        errors = held_out_errors(model, held)
        path = save_model(checkpoint_file(name, args.checkpoint), name, model, config,
                          {"metrics": errors, "adapter": f"trained through the frozen world model, {args.steps} steps"})
        print(f"| `{name}` | {errors['controller_mse']:.5f} | {errors['gt_latent_mse']:.5f} | "
              f"{errors['zero_action_mse']:.5f} | {errors['copy_last_mse']:.5f} | "
              f"{errors['adapter_latent_norm']:.1f} / {errors['idm_latent_norm']:.1f} | {path} |", flush=True)

if __name__ == "__main__":
    main()
