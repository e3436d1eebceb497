"""How much a bundled Franka world model's predictions follow the real actions (a droid_planning diagnosis).

On the held-out windows of the `franka` recipe, the one-step token MSE of the world model fed the
controller's latent of each window's own actions, of another window's actions (the window half the split
away: another episode's) and of zero actions, against copy-last. `sensitivity` = (shuffled − own) / own: how
much worse the prediction gets when the actions are wrong. A model that plans well must tell the actions
apart; docs/protocols/droid_planning.md sets it beside each model's planning error.

    python scripts/action_sensitivity.py eac_wm lac_wm lam_noisy lawm law cola_world
"""

from __future__ import annotations

import torch

from lawm_eval.errors import OneLineParser
from lawm_eval.models.train.data import transitions
from lawm_eval.models.zoo import build_bundled, load_autoencoder


def mse(prediction: torch.Tensor, target: torch.Tensor) -> float:
    return float(((prediction - target) ** 2).mean())


@torch.no_grad()
def sensitivity(name: str, x: torch.Tensor, actions: torch.Tensor, permutation: torch.Tensor) -> dict[str, float]:
    """One-step errors of ``name`` on windows x (N,2,16,32) with actions (N,1,7), own / shuffled / zero."""
    bundle = build_bundled(name)

    def error(acts: torch.Tensor) -> float:
        latents = bundle.controller.to_latent(acts, x[:, :1])
        return mse(bundle.world_model.rollout(x[:, :1], latents), x[:, 1:])

    own, shuffled, zero = error(actions), error(actions[permutation]), error(torch.zeros_like(actions))
    return {"copy_last": mse(x[:, :1], x[:, 1:]), "own": own, "shuffled": shuffled, "zero": zero,
            "sensitivity": (shuffled - own) / own}


def main() -> None:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="bundled Franka world models (lawm-eval ls models)")
    args = parser.parse_args()
    held = transitions("franka", load_autoencoder(), window=1, split="held_out")
    permutation = torch.roll(torch.arange(len(held)), len(held) // 2)  # actions of a window half the split away
    print("| model | copy last | own actions | shuffled actions | zero actions | sensitivity |")
    print("|---|---|---|---|---|---|")
    for name in args.models:
        r = sensitivity(name, held.x, held.a, permutation)
        print(f"| `{name}` | {r['copy_last']:.5f} | {r['own']:.5f} | {r['shuffled']:.5f} | {r['zero']:.5f} | "
              f"{r['sensitivity']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
