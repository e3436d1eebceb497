"""LAC-WM's first research question (§5): do latent actions put several embodiments in one action space, where
explicit action encoders keep them apart? The paper's Fig. 2 (UMAP of the IDM's and the explicit encoders'
embeddings) and Fig. 3 (one embodiment's latent actions driving another's frames), measured.

The three models pretrained on navigation, RoboDesk and BFA (``franka_held_out``'s pretraining, the Franka arm held
out; ``STEPS`` = 3,600 steps, the bundled recipe's until 2026-12-05 (it pretrains 32,400 since), cached in
``$LAWM_EVAL_CACHE/checkpoints/franka_held_out/``, trained here when missing):
- ``lac``: LAC-WM, the IDM's latent actions (motion decoder on motion labels, cross-augmentation; Fig. 2 left);
- ``lac_mdca``: the same without motion decoder and cross-augmentation (Fig. 2 middle is without the decoder);
- ``eac``: EAC-WM, each embodiment's explicit action encoder on its real actions (Fig. 2 right).

On the same held-out transitions of each embodiment, as many of each as the smallest set has:
- identification: held-out accuracy of a linear classifier telling the embodiment from the embedding (5 folds);
- neighbour purity: the share of an embedding's 10 nearest neighbours from its own embodiment;
  both about 1/3 for one shared space and 1 for embodiments apart;
- transfer (Fig. 3): the FDM reads frames of embodiment B with the embeddings of embodiment A; how much the
  embeddings move its prediction (variance across them), relative to B's own embeddings (1: as much as its own;
  near 0: a static frame, the paper's "nearly static poses"; far above 1: conditioning the FDM never saw), and
  the factor by which that is off from 1, max(r, 1/r), as a geometric mean over the pairs of two embodiments;
- a 2-D t-SNE map of the embeddings (the paper's UMAP is not installed here; both keep neighbourhoods).

``--bundled`` repeats it on a second, independent pretraining: the bundled BFA models (``lac_wm_bfa``,
``lac_wm_mdca_bfa``, ``eac_wm_bfa``), pretrained on Franka, navigation and RoboDesk and then adapted to BFA (their
IDM carries the BFA adaptation's rank-2 LoRA), on those three embodiments.

``--curve`` pretrains the three afresh (the cached recipe, bit for bit) and measures identification and neighbour
purity every ``--every`` steps: how the spaces come together or apart over training. ``--seed S`` and
``--embodiments`` pretrain the same recipe from another seed or on other embodiments (not cached; outputs named
after them).

    python scripts/embodiment_alignment.py             # results/embodiment_alignment/, docs/training/embodiment_alignment.png
    python scripts/embodiment_alignment.py --bundled   # the same, *_bundled
    python scripts/embodiment_alignment.py --curve [--families lac]   # curve_<family>.json, embodiment_alignment_curve.png
    python scripts/embodiment_alignment.py --seed 1 [--embodiments franka navigation robodesk] [--curve]
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lawm_eval.errors import OneLineParser
from lawm_eval.metrics.latent import embodiment_identification, equal_draws, neighbour_purity, standardised
from lawm_eval.models.train import bfa_world_models, franka_held_out
from lawm_eval.models.train.data import Transitions
from lawm_eval.models.zoo import load_autoencoder, load_bundled

OUT = Path("results/embodiment_alignment")
STEPS = 3600  # the study's pretraining (results/embodiment_alignment/), the bundled *_to_franka recipe's until 2026-12-05
FIGURE = Path("docs/training/embodiment_alignment.png")
MODELS = {"lac": "LAC-WM: IDM", "lac_mdca": "LAC-WM without MD and CA: IDM", "eac": "EAC-WM: explicit encoders"}
BUNDLED = {"lac": "lac_wm_bfa", "lac_mdca": "lac_wm_mdca_bfa", "eac": "eac_wm_bfa"}  # --bundled
TRANSFER_FRAMES, TRANSFER_EMBEDDINGS = 32, 64


def training(embodiments: tuple[str, ...], autoencoder: nn.Module) -> dict[str, Transitions]:
    """The embodiments' training transitions, read as the pretraining reads them."""
    return {e: franka_held_out.embodiment_transitions(e, autoencoder) for e in embodiments}


def balanced(data: dict[str, Transitions], seed: int = 0) -> dict[str, Transitions]:
    """As many transitions of each embodiment as the smallest set has, a seeded draw of the larger ones."""
    draws = equal_draws({name: len(d) for name, d in data.items()}, seed)
    out = {}
    for name, d in data.items():
        keep = torch.from_numpy(draws[name])
        out[name] = Transitions(d.x[keep], d.a[keep], d.s[keep], d.task[keep], d.embodiment)
    return out


def stacked(z: dict[str, torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
    """The embeddings of every embodiment in one array, and each one's embodiment. (N, L), (N,)"""
    return torch.cat(list(z.values())).numpy(), np.repeat(list(z), [len(v) for v in z.values()])


@torch.no_grad()
def embeddings(model: nn.Module, family: str, data: Transitions) -> torch.Tensor:
    """The action embedding of each transition: the IDM's latent from the frame pair, or the embodiment's explicit
    action encoder on its real action. (N, L)"""
    if family == "eac":
        return model.encode_action(data.a[:, 0], data.embodiment)
    return model.idm(data.x[:, 0], data.x[:, 1])


@torch.no_grad()
def imagined(model: nn.Module, frames: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
    """The FDM's next frame for every (frame, embedding) pair: (F,16,32), (E,L) -> (F,E,16,32)."""
    f, e = len(frames), len(latents)
    return model.predict_next(frames.repeat_interleave(e, 0), latents.repeat(f, 1)).view(f, e, *frames.shape[1:])


def response(predictions: torch.Tensor) -> float:
    """How much the embeddings move the prediction: the variance across them, averaged over frames and tokens."""
    return float(predictions.var(dim=1).mean())


def transfer(model: nn.Module, data: dict[str, Transitions], z: dict[str, torch.Tensor],
             seed: int = 0) -> dict[str, dict]:
    """For every source embodiment A and target B: the FDM on B's frames with A's embeddings, against B's own
    (``TRANSFER_FRAMES`` frames and ``TRANSFER_EMBEDDINGS`` embeddings of each, a seeded draw)."""
    generator = torch.Generator().manual_seed(seed)
    frames = {name: d.x[torch.randperm(len(d), generator=generator)[:TRANSFER_FRAMES], 0] for name, d in data.items()}
    latents = {name: v[torch.randperm(len(v), generator=generator)[:TRANSFER_EMBEDDINGS]] for name, v in z.items()}
    out: dict[str, dict] = {}
    for target in data:
        own = response(imagined(model, frames[target], latents[target]))
        for source in data:
            moved = response(imagined(model, frames[target], latents[source]))
            out[f"{source}->{target}"] = {"response": moved,  # nan: an FDM that ignores its latent
                                          "relative_response": moved / own if own else float("nan")}
    return out


def cross_ratios(transfers: dict[str, dict]) -> list[float]:
    """The relative responses of the pairs of two different embodiments."""
    return [cell["relative_response"] for pair, cell in transfers.items()
            if pair.split("->")[0] != pair.split("->")[1]]


def off_by(transfers: dict[str, dict]) -> float:
    """How far another embodiment's embeddings act on the FDM from how its own do: the geometric mean, over the
    pairs of two different embodiments, of max(r, 1/r) for the relative response r (1: alike)."""
    return float(np.exp(np.mean(np.abs(np.log(cross_ratios(transfers))))))


def analyse(model: nn.Module, family: str, data: dict[str, Transitions]) -> tuple[dict, np.ndarray, np.ndarray]:
    """Identification, neighbour purity and transfer of one model's embeddings; the embeddings and their labels."""
    z = {name: embeddings(model, family, d) for name, d in data.items()}
    points, labels = stacked(z)
    result = {"identification": embodiment_identification(points, labels),
              "neighbour_purity": neighbour_purity(points, labels, k=10),
              "transfer": transfer(model, data, z)}
    result["transfer_off_by"] = off_by(result["transfer"])
    return result, points, labels


def markdown(results: dict[str, dict], per_embodiment: int) -> str:
    """The results as the Markdown table docs/models.md quotes."""
    lines = [f"{per_embodiment} held-out transitions of each of {', '.join(results['embodiments'])}; chance: "
             f"identification {results['chance']['identification']:.2f}, neighbour purity "
             f"{results['chance']['neighbour_purity']:.2f}", "",
             "| embeddings | embodiment identified (linear, 5 folds) | own embodiment among 10 nearest | "
             "another embodiment's embeddings move the FDM's prediction, relative to its own: range | "
             "off from its own by (geometric mean of max(r, 1/r)) |",
             "|---|---|---|---|---|"]
    for family, label in MODELS.items():
        r = results["models"][family]
        ratios = cross_ratios(r["transfer"])
        lines.append(f"| {label} | {r['identification']['accuracy']:.2f} | {r['neighbour_purity']['purity']:.2f} | "
                     f"{min(ratios):.3g} – {max(ratios):.3g} | {r['transfer_off_by']:.1f}× |")
    return "\n".join(lines) + "\n"


def plot(maps: dict[str, tuple[np.ndarray, np.ndarray]], path: Path) -> None:
    """One t-SNE map of the embeddings per model, coloured by embodiment."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    figure, axes = plt.subplots(1, len(maps), figsize=(4.2 * len(maps), 4))
    for axis, (family, (z, labels)) in zip(axes, maps.items()):
        points = TSNE(n_components=2, perplexity=30, init="pca", random_state=0).fit_transform(standardised(z, z))
        for name in dict.fromkeys(labels):
            mine = labels == name
            axis.scatter(points[mine, 0], points[mine, 1], s=5, alpha=0.6, label=name)
        axis.set_title(MODELS[family], fontsize=10)
        axis.set_xticks([])
        axis.set_yticks([])
    axes[0].legend(fontsize=8, markerscale=3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def follow(family: str, data: dict[str, Transitions], train: dict[str, Transitions], steps: int,
           every: int, seed: int = 0) -> list[dict]:
    """Pretrain ``family`` afresh on ``train``'s embodiments, measuring identification and neighbour purity every
    ``every`` steps."""
    points: list[dict] = []

    def measure(model, step: int) -> None:
        if step % every:
            return
        model.eval()
        z = {name: embeddings(model, family, d) for name, d in data.items()}
        embedded, labels = stacked(z)
        points.append({"step": step, "identification": embodiment_identification(embedded, labels)["accuracy"],
                       "neighbour_purity": neighbour_purity(embedded, labels)["purity"]})
        model.train()

    franka_held_out.pretrain(family, train, steps, action_dim=7, on_step=measure, seed=seed, embodiments=tuple(train))
    return points


def plot_curves(curves: dict[str, list[dict]], chance: float, path: Path) -> None:
    """Identification and neighbour purity against the pretraining step, one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for axis, key, title in zip(axes, ("identification", "neighbour_purity"),
                                ("embodiment identified (linear, 5 folds)", "own embodiment among 10 nearest")):
        for family, points in curves.items():
            axis.plot([p["step"] for p in points], [p[key] for p in points], marker="o", label=MODELS[family])
        axis.axhline(chance, color="grey", linestyle="--", label="chance (one shared space)")
        axis.set_ylim(0, 1.05)
        axis.set_xlabel("pretraining step")
        axis.set_title(title, fontsize=10)
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def output_suffix(bundled: bool, seed: int, embodiments: tuple[str, ...], steps: int) -> str:
    """What the output files' names add for a run other than the default one."""
    if bundled:
        return "_bundled"
    return "".join([f"_seed{seed}" if seed else "",
                    f"_{'_'.join(embodiments)}" if embodiments != franka_held_out.PRETRAINING else "",
                    f"_{steps}steps" if steps != STEPS else ""])


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=STEPS, help=f"pretraining steps (default {STEPS})")
    parser.add_argument("--bundled", action="store_true",
                        help="the bundled BFA models on their pretraining embodiments (Franka, navigation, RoboDesk)")
    parser.add_argument("--curve", action="store_true", help="follow the measures over a fresh pretraining")
    parser.add_argument("--every", type=int, default=300, help="--curve: measure every N steps")
    parser.add_argument("--families", nargs="+", choices=list(MODELS), default=list(MODELS),
                        help="--curve: these models only (one process each, to share the cores)")
    parser.add_argument("--seed", type=int, default=0, help="pretraining seed (0: the cached recipe's)")
    parser.add_argument("--embodiments", nargs="+", choices=list(bfa_world_models.EMBODIMENTS) + ["bfa"],
                        default=list(franka_held_out.PRETRAINING), help="pretraining embodiments")
    args = parser.parse_args(argv)
    if args.bundled and (args.curve or args.seed or args.embodiments != list(franka_held_out.PRETRAINING)):
        parser.error("--bundled reads the bundled checkpoints: no --curve, --seed or --embodiments")
    torch.set_num_threads(1)
    autoencoder = load_autoencoder(franka_held_out.AUTOENCODER)
    embodiments = bfa_world_models.PRETRAINING[3] if args.bundled else tuple(args.embodiments)
    cached = not args.bundled and args.seed == 0 and embodiments == franka_held_out.PRETRAINING
    suffix = output_suffix(args.bundled, args.seed, embodiments, args.steps)
    data = balanced({e: franka_held_out.embodiment_transitions(e, autoencoder, "held_out") for e in embodiments})
    per_embodiment = len(next(iter(data.values())))
    train = None if args.bundled else training(embodiments, autoencoder)  # read once for every model
    if args.curve:
        OUT.mkdir(parents=True, exist_ok=True)
        for family in args.families:
            points = follow(family, data, train, args.steps, args.every, args.seed)
            (OUT / f"curve_{family}{suffix}.json").write_text(json.dumps(points, indent=2) + "\n")
        curves = {f: json.loads((OUT / f"curve_{f}{suffix}.json").read_text()) for f in MODELS
                  if (OUT / f"curve_{f}{suffix}.json").exists()}
        plot_curves(curves, 1 / len(data), FIGURE.with_name(f"{FIGURE.stem}_curve{suffix}.png"))
        print(json.dumps(curves))
        return 0
    results: dict = {"embodiments": list(data), "per_embodiment": per_embodiment, "models": {},
                     **({"checkpoints": BUNDLED} if args.bundled else {"pretrain_steps": args.steps, "seed": args.seed})}
    maps = {}
    for family in MODELS:
        if args.bundled:
            model = load_bundled(BUNDLED[family])[0]
        elif cached:
            model = franka_held_out.pretrained(family, train, args.steps, action_dim=7)[0]
        else:
            model = franka_held_out.pretrain(family, train, args.steps, action_dim=7, seed=args.seed,
                                             embodiments=embodiments)[0]
        results["models"][family], z, labels = analyse(model.eval(), family, data)
        maps[family] = (z, labels)
    first = results["models"][next(iter(MODELS))]  # the same labels for every model, so the same chance
    results["chance"] = {"identification": first["identification"]["chance"],
                         "neighbour_purity": first["neighbour_purity"]["chance"]}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"alignment{suffix}.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results, per_embodiment)
    (OUT / f"alignment{suffix}.md").write_text(table)
    plot(maps, FIGURE.with_name(f"{FIGURE.stem}{suffix}.png"))
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
