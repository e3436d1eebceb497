"""Latent-action analysis (suites/latent_analysis/v2.yaml): one episode per analysis.

- ``probe``: one linear layer from frozen latent actions to real actions, L1 loss, fixed steps,
  trained on transitions of ``train_dataset`` and evaluated on ``test_dataset`` (CoLA-World Tab. 1).
- ``cca``: first canonical correlation between latent and real actions, per task group (LAW Tab. III).
- ``codebook``: utilisation, entropy, max usage of a VQ model's codes (CoLA-World Fig. 2/5).
- ``leakage``: the world model's error when the IDM sees an artificial scene cut (x_{t+1} from
  another episode) over its error on real transitions; a high ratio means the latent action cannot
  carry the future frame (Garrido et al. Tab. 1).
- ``cycle``: infer z on A, apply it to B, re-infer on B's prediction, apply to A: error of that
  cycle over the direct error (Garrido et al. Tab. 2).
- ``controller``: rollout error with the controller's latents over the error with the IDM's
  (Garrido et al. Tabs. S1/S2).
- ``pca``: latent actions of both datasets projected on their first two principal components (PNG).
- ``alignment`` (not in the default list): do the latent actions of several embodiments share one space
  (LAC-WM §5, Fig. 2)? On as many transitions of each of ``alignment_datasets`` as the smallest has: how well a
  linear classifier tells the dataset from the latent (5 folds), and the share of each latent's 10 nearest
  neighbours from its own dataset; both near chance for one shared space, near 1 for spaces apart.
"""

from __future__ import annotations

import io

import numpy as np
import torch

from lawm_eval.bundle import ModelBundle
from lawm_eval.errors import ConfigError, ModelError
from lawm_eval.inputs import adapt_images, images_tensor
from lawm_eval.interfaces import Planner
from lawm_eval.rollouts import rollout_actions
from lawm_eval.suites.base import EpisodeOutcome, Suite
from lawm_eval.types import EpisodeSpec

ANALYSES = ("probe", "cca", "codebook", "leakage", "cycle", "controller", "pca", "alignment")
Tensor = torch.Tensor


class Transitions:
    """Encoded (x_t, x_{t+1}, a_t) of a dataset, at most ``limit`` of them chosen with a seed."""

    def __init__(self, spec: str, model: ModelBundle, limit: int, seed: int, window: int = 1,
                 camera: str | None = None):
        dataset = open_analysis_dataset(spec, camera)
        inputs = model.inputs
        xs, acts, tasks, episode_ids = [], [], [], []
        for e in range(len(dataset)):
            episode = dataset.episode(e)
            frames = adapt_images(episode.frames, inputs.image_size, inputs.resize)  # (T,h,w,3) as the model reads
            states = model.encoder.encode(images_tensor(frames))[0]  # (T,*S)
            for t in range(len(episode) - window):
                xs.append(states[t : t + window + 1])
                acts.append(torch.as_tensor(episode.actions[t : t + window], dtype=torch.float32))
                tasks.append(episode.task)
                episode_ids.append(e)
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(len(xs), size=min(limit, len(xs)), replace=False))
        self.x = torch.stack([xs[i] for i in keep])  # (N,W+1,*S)
        self.a = torch.stack([acts[i] for i in keep])  # (N,W,A)
        self.tasks = [tasks[i] for i in keep]
        self.episodes = np.asarray([episode_ids[i] for i in keep])


def open_analysis_dataset(spec: str, camera: str | None = None):
    from lawm_eval.data.formats import open_dataset
    from lawm_eval.data.recipes import resolve_dataset

    return open_dataset(resolve_dataset(spec), camera=camera)


class LatentAnalysisSuite(Suite):
    def __init__(self, manifest, params=None):
        super().__init__(manifest, params)
        unknown = set(self.params["analyses"]) - set(ANALYSES)
        if unknown:
            raise ConfigError(f"suite.analyses: unknown {', '.join(sorted(unknown))} (choose from {', '.join(ANALYSES)})")
        if "alignment" in self.params["analyses"] and len(set(self.params["alignment_datasets"])) < 2:
            raise ConfigError("suite.alignment_datasets: name at least two datasets (embodiments) to compare")

    def check_model(self, model: ModelBundle) -> None:
        parts = ["encoder", "lam", "world_model"]
        if "controller" in self.params["analyses"]:
            parts.append("controller")
        model.require(parts, self.name)

    def datasets(self) -> list[str]:
        """Every dataset the enabled analyses read."""
        names = [self.params["test_dataset"]]
        names += [self.params["train_dataset"]] if "probe" in self.params["analyses"] else []
        names += list(self.params["pca_datasets"]) if "pca" in self.params["analyses"] else []
        names += list(self.params["alignment_datasets"]) if "alignment" in self.params["analyses"] else []
        return list(dict.fromkeys(names))

    def pending_generation(self) -> str | None:
        from lawm_eval.data.recipes import dataset_path, is_generated

        pending = [name for name in self.datasets() if not is_generated(name)]
        if not pending:
            return None
        return "dataset(s) " + ", ".join(f"'{n}' (into {dataset_path(n)})" for n in pending) + " generated by the first run"

    def opened(self, name: str):
        """Dataset ``name`` with the run's camera, opened once per suite object."""
        cache = self.__dict__.setdefault("_live_datasets", {})
        if name not in cache:
            cache[name] = open_analysis_dataset(name, self.params.get("camera"))
        return cache[name]

    def first_test_episode(self):
        cache = self.__dict__.setdefault("_live_datasets", {})
        if "_first_test_episode" not in cache:
            cache["_first_test_episode"] = self.opened(self.params["test_dataset"]).episode(0)
        return cache["_first_test_episode"]

    def offered_inputs(self) -> dict:
        offered: dict = {"observation": "image", "context_frames": 1}
        if "controller" in self.params["analyses"] and not self.pending_generation():
            episode = self.first_test_episode()
            offered["action_dim"] = int(episode.actions.shape[1])
        return offered

    def evaluation_contract(self, model: ModelBundle) -> dict:
        """The IDM sees both frames of each transition; the controller gets the recorded actions."""
        contract = super().evaluation_contract(model)
        if self.pending_generation():
            return contract
        test = self.opened(self.params["test_dataset"])
        recorded = tuple(self.first_test_episode().frames.shape[1:3])
        delivered = model.inputs.delivered_size(recorded)
        contract.update(camera=test.camera, recorded_resolution=list(recorded), resolution=list(delivered),
                        resize=model.inputs.resize if tuple(delivered) != recorded else "none",
                        idm_sees="both frames of each transition (x_t, x_t+1)",
                        ground_truth_actions="given to the controller analysis; the probe/CCA compare with them",
                        datasets={name: self.opened(name).describe()
                                  for name in self.datasets()})
        return contract

    def deviations(self) -> list[str]:
        """Standing deviations (the data one only on generated recipes), changed parameters except the
        datasets, and what each user dataset is, computed from it."""
        from lawm_eval.data.recipes import RECIPES

        keys = ("train_dataset=", "test_dataset=", "pca_datasets=", "alignment_datasets=", "camera=")
        texts = [d for d in super().deviations() if not d.startswith(keys)]
        reference = self.manifest.sources.get("data", "not named in the manifest")
        for name in self.datasets():
            if name not in RECIPES:
                texts.append(f"data: {self.opened(name).describe()} "
                             f"(the protocol's data: {reference})")
        return texts

    def episodes(self) -> list[EpisodeSpec]:
        """One episode per analysis; the datasets are generated here if they are recipes not generated yet
        (before the run's parts record their fingerprints)."""
        from lawm_eval.data.recipes import resolve_dataset

        for name in self.datasets():
            resolve_dataset(name)
        seed = self.params["seed"]
        return [self.spec(name, 0, seed, group=self.name, task_index=i) for i, name in enumerate(self.params["analyses"])]

    def transitions(self, model: ModelBundle, which: str, window: int = 1) -> Transitions:
        key = (which, window)
        cache = self.__dict__.setdefault("_live_transitions", {})
        if key not in cache:
            spec = self.params["train_dataset" if which == "train" else "test_dataset"]
            cache[key] = Transitions(spec, model, self.params["max_transitions"], self.params["seed"], window,
                                     self.params.get("camera"))
        return cache[key]

    @torch.no_grad()
    def latents(self, model: ModelBundle, x: Tensor) -> Tensor:
        z = model.lam.infer(x[:, :2])[:, 0]  # (N,L)
        if not bool(torch.isfinite(z).all()):
            raise ModelError("lam.infer returned NaN/inf latent actions")
        return z.flatten(1)

    def run_episode(self, spec: EpisodeSpec, model: ModelBundle, planner: Planner | None, *,
                    frames: bool = False) -> EpisodeOutcome:
        analysis = getattr(self, f"analyse_{spec.task}")
        metrics, info, artifacts = analysis(model)
        return EpisodeOutcome(success=None, metrics=metrics, steps=0, info=info, artifacts=artifacts)

    # -- the analyses --------------------------------------------------------------------------
    def analyse_probe(self, model: ModelBundle):
        from lawm_eval.metrics.latent import linear_probe

        train, test = self.transitions(model, "train"), self.transitions(model, "test")
        result = linear_probe(self.latents(model, train.x).numpy(), train.a[:, 0].numpy(),
                              self.latents(model, test.x).numpy(), test.a[:, 0].numpy(),
                              steps=self.params["probe_steps"], seed=self.params["seed"])
        metrics = {"probe_test_l1": result["test_l1"], "probe_train_l1": result["train_l1"],
                   "probe_median_baseline_l1": result["median_baseline_l1"]}
        return metrics, {"train": len(train.x), "test": len(test.x)}, {}

    def analyse_cca(self, model: ModelBundle):
        from lawm_eval.metrics.latent import canonical_correlations

        data = self.transitions(model, "test")
        z, a = self.latents(model, data.x).numpy(), data.a[:, 0].numpy()
        metrics = {"cca_all": float(canonical_correlations(z, a)[0])}
        groups = {}
        for i, task in enumerate(sorted(set(data.tasks))):
            mask = np.asarray([t == task for t in data.tasks])
            if mask.sum() > z.shape[1] + a.shape[1] + 2:
                metrics[f"cca_group{i}"] = float(canonical_correlations(z[mask], a[mask])[0])
                groups[f"cca_group{i}"] = task
        return metrics, {"groups": groups, "n": len(z)}, {}

    def analyse_codebook(self, model: ModelBundle):
        from lawm_eval.metrics.latent import Codebook

        lam = model.lam
        if not hasattr(lam, "codes") or getattr(lam, "vq", None) is None:
            return {}, {"skipped": "the model's latent actions are not quantised (no codes())"}, {}
        data = self.transitions(model, "test")
        with torch.no_grad():
            codes = lam.codes(data.x[:, 0], data.x[:, 1])
        metric = Codebook(int(lam.vq.codebook.weight.shape[0]))
        metric.update(codes.numpy())
        stats = metric.compute()
        return {f"codebook_{k}": float(v) for k, v in stats.items()}, {"codes": int(stats["codes"])}, {}

    def analyse_leakage(self, model: ModelBundle):
        data = self.transitions(model, "test")
        x_t, x_next = data.x[:, 0], data.x[:, 1]
        rng = np.random.default_rng(self.params["seed"])
        other = np.array([rng.choice(np.flatnonzero(data.episodes != e)) for e in data.episodes])
        cut = x_next[torch.as_tensor(other)]  # a frame of another episode
        normal = self.one_step_error(model, x_t, x_next, x_next)
        scene_cut = self.one_step_error(model, x_t, cut, cut)
        copy_cut = float((x_t - cut).pow(2).mean())
        return {"leakage_ratio": scene_cut / normal, "error_real": normal, "error_scene_cut": scene_cut,
                "error_scene_cut_copy_last": copy_cut}, {"n": len(x_t)}, {}

    def analyse_cycle(self, model: ModelBundle):
        data = self.transitions(model, "test")
        n = len(data.x) // 2
        a_t, a_next, b_t = data.x[:n, 0], data.x[:n, 1], data.x[n : 2 * n, 0]
        with torch.no_grad():
            z_a = self.latents(model, torch.stack([a_t, a_next], dim=1))
            b_pred = model.world_model.step(b_t[:, None], z_a[:, None])[:, 0]
            z_back = self.latents(model, torch.stack([b_t, b_pred], dim=1))
            a_cycle = model.world_model.step(a_t[:, None], z_back[:, None])[:, 0]
            a_direct = model.world_model.step(a_t[:, None], z_a[:, None])[:, 0]
        cycle = float((a_cycle - a_next).pow(2).mean())
        direct = float((a_direct - a_next).pow(2).mean())
        return {"cycle_ratio": cycle / direct, "error_cycle": cycle, "error_direct": direct}, {"pairs": n}, {}

    def analyse_controller(self, model: ModelBundle):
        horizon = self.params["rollout_steps"]
        data = self.transitions(model, "test", window=horizon)
        with torch.no_grad():
            idm = model.lam.infer(data.x)
            with_idm = model.world_model.rollout(data.x[:, :1], idm)
            with_controller = rollout_actions(model.world_model, model.controller, data.x[:, :1], data.a)
        target = data.x[:, 1:]
        e_idm = float((with_idm - target).pow(2).mean())
        e_ctrl = float((with_controller - target).pow(2).mean())
        return {"controller_ratio": e_ctrl / e_idm, "rollout_error_idm": e_idm,
                "rollout_error_controller": e_ctrl}, {"steps": horizon, "n": len(target)}, {}

    def analyse_pca(self, model: ModelBundle):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        sets = {}
        for spec in self.params["pca_datasets"]:
            data = Transitions(spec, model, self.params["max_transitions"], self.params["seed"],
                               camera=self.params.get("camera"))
            sets[spec] = self.latents(model, data.x).numpy()
        stacked = np.concatenate(list(sets.values()))
        mean = stacked.mean(0)
        _, singular, vt = np.linalg.svd(stacked - mean, full_matrices=False)
        explained = singular**2 / (singular**2).sum()
        fig, ax = plt.subplots(figsize=(4.5, 4))
        for name, z in sets.items():
            points = (z - mean) @ vt[:2].T
            ax.scatter(points[:, 0], points[:, 1], s=4, alpha=0.5, label=name)
        ax.set_xlabel(f"PC1 ({explained[0]:.0%})")
        ax.set_ylabel(f"PC2 ({explained[1]:.0%})")
        ax.set_title(f"latent actions: {model.model_id}")
        ax.legend(markerscale=3, fontsize=7)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        plt.close(fig)
        metrics = {"pca_explained_2": float(explained[:2].sum())}
        return metrics, {"datasets": list(sets)}, {"pca.png": buffer.getvalue()}

    def analyse_alignment(self, model: ModelBundle):
        from lawm_eval.metrics.latent import embodiment_identification, equal_draws, neighbour_purity

        names = list(dict.fromkeys(self.params["alignment_datasets"]))
        sets = {name: self.latents(model, Transitions(name, model, self.params["max_transitions"], self.params["seed"],
                                                      camera=self.params.get("camera")).x).numpy()
                for name in names}
        draws = equal_draws({name: len(z) for name, z in sets.items()}, self.params["seed"])
        sets = {name: z[draws[name]] for name, z in sets.items()}
        per_dataset = len(draws[names[0]])
        stacked = np.concatenate(list(sets.values()))  # (D·n, L)
        labels = np.repeat(names, per_dataset)
        identified = embodiment_identification(stacked, labels, seed=self.params["seed"])
        purity = neighbour_purity(stacked, labels, k=10)
        metrics = {"alignment_identification": identified["accuracy"], "alignment_neighbour_purity": purity["purity"]}
        info = {"datasets": names, "per_dataset": per_dataset,
                "chance": {"identification": identified["chance"], "neighbour_purity": purity["chance"]}}
        return metrics, info, {}

    @staticmethod
    @torch.no_grad()
    def one_step_error(model: ModelBundle, x_t: Tensor, idm_next: Tensor, target: Tensor) -> float:
        z = model.lam.infer(torch.stack([x_t, idm_next], dim=1))
        predicted = model.world_model.step(x_t[:, None], z)[:, 0]
        return float((predicted - target).pow(2).mean())

