"""Latent-action analysis metrics: linear probing, canonical correlation, codebook health, how far action
embeddings of several embodiments share one space."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lawm_eval.metrics.base import Metric


# -- linear probing (CoLA-World Table 1) -----------------------------------------------------------
def linear_probe(train_z: np.ndarray, train_a: np.ndarray, test_z: np.ndarray, test_a: np.ndarray,
                 steps: int = 1000, lr: float = 1e-2, seed: int = 0) -> dict[str, float]:
    """Fit one linear layer z → a with an L1 loss (Adam, full batch, ``steps`` steps, learning rate
    decayed linearly to 0) on the training split; report the L1 error on both splits. Latents and
    actions are standardised with the training statistics (the layer could learn that scaling, but
    it makes the step size independent of the units: small actions are not drowned in Adam's step
    noise); errors are reported in the actions' own units."""
    import torch

    zs = [np.asarray(z, np.float32).reshape(len(z), -1) for z in (train_z, test_z)]
    acts = [np.asarray(a, np.float32).reshape(len(a), -1) for a in (train_a, test_a)]
    mean, std = zs[0].mean(0), zs[0].std(0) + 1e-6
    a_mean, a_std = acts[0].mean(0), acts[0].std(0) + 1e-8
    z_train, z_test = (torch.from_numpy((z - mean) / std) for z in zs)
    a_train, a_test = (torch.from_numpy(a) for a in acts)
    target = (a_train - torch.from_numpy(a_mean)) / torch.from_numpy(a_std)  # (N, A) standardised
    generator = torch.Generator().manual_seed(seed)
    layer = torch.nn.Linear(z_train.shape[1], a_train.shape[1])
    with torch.no_grad():
        bound = 1 / math.sqrt(z_train.shape[1])
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.zero_()
    optimizer = torch.optim.Adam(layer.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / steps)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = (layer(z_train) - target).abs().mean()
        loss.backward()
        optimizer.step()
        schedule.step()

    def predict(z: torch.Tensor) -> torch.Tensor:
        return layer(z) * torch.from_numpy(a_std) + torch.from_numpy(a_mean)

    with torch.no_grad():
        train_l1 = float((predict(z_train) - a_train).abs().mean())
        test_l1 = float((predict(z_test) - a_test).abs().mean())
        baseline = float((a_test - a_train.median(0).values).abs().mean())  # predict the median action
    return {"train_l1": train_l1, "test_l1": test_l1, "median_baseline_l1": baseline}


# -- canonical correlation (LAW Table III) -----------------------------------------------------------
def _inv_sqrt(c: np.ndarray, eps: float) -> np.ndarray:
    w, v = np.linalg.eigh((c + c.T) / 2)
    return (v / np.sqrt(np.clip(w, eps, None))) @ v.T


def canonical_correlations(x: np.ndarray, y: np.ndarray, eps: float = 1e-10) -> np.ndarray:
    """All canonical correlations of x (N,p) and y (N,q), largest first (closed form)."""
    stats = CrossStats()
    stats.update(x, y)
    return stats.correlations(eps)


class CrossStats:
    """Mergeable (n, mean, M2) of the concatenated [x, y] vectors: enough for CCA."""

    def __init__(self) -> None:
        from lawm_eval.metrics.frechet import FeatureStats

        self.joint = FeatureStats()
        self.p = 0

    def update(self, x: np.ndarray, y: np.ndarray) -> None:
        x = np.asarray(x, np.float64).reshape(len(x), -1)
        y = np.asarray(y, np.float64).reshape(len(y), -1)
        if len(x) != len(y):
            raise ValueError(f"x and y must pair up: {len(x)} vs {len(y)} rows")
        self.p = x.shape[1]
        self.joint.update(np.concatenate([x, y], axis=1))

    def merge(self, other: CrossStats) -> CrossStats:
        self.p = self.p or other.p
        self.joint.merge(other.joint)
        return self

    def correlations(self, eps: float = 1e-10) -> np.ndarray:
        c = self.joint.covariance()
        p = self.p
        cxx, cyy, cxy = c[:p, :p], c[p:, p:], c[:p, p:]
        m = _inv_sqrt(cxx, eps) @ cxy @ _inv_sqrt(cyy, eps)
        return np.clip(np.linalg.svd(m, compute_uv=False), 0.0, 1.0)


class CCA(Metric):
    """First canonical correlation between latent actions and real actions (mergeable)."""

    name = "cca"

    def reset(self) -> None:
        self.stats = CrossStats()

    def update(self, latent: np.ndarray, actions: np.ndarray) -> None:
        self.stats.update(latent, actions)

    def compute(self) -> dict[str, Any]:
        return {"value": float(self.stats.correlations()[0]), "n": self.stats.joint.n}

    def state_dict(self) -> dict[str, Any]:
        return {"p": self.stats.p, **self.stats.joint.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stats.p = int(state["p"])
        self.stats.joint.load_state_dict(state)

    def merge(self, other: CCA) -> CCA:
        self.stats.merge(other.stats)
        return self


# -- codebook health (CoLA-World Fig. 2/5) ----------------------------------------------------------
def codebook_stats(counts: np.ndarray) -> dict[str, float]:
    """Utilisation (share of codes used), usage entropy (nats, and normalised by log K),
    perplexity (exp entropy) and max usage (share of the most used code)."""
    counts = np.asarray(counts, dtype=np.float64)
    total, k = counts.sum(), len(counts)
    if total == 0:
        return {"utilisation": 0.0, "entropy": 0.0, "normalised_entropy": 0.0, "perplexity": 0.0,
                "max_usage": 0.0, "codes": k}
    p = counts / total
    nz = p[p > 0]
    entropy = float(-(nz * np.log(nz)).sum())
    return {
        "utilisation": float((counts > 0).mean()),
        "entropy": entropy,
        "normalised_entropy": entropy / math.log(k) if k > 1 else 0.0,
        "perplexity": math.exp(entropy),
        "max_usage": float(p.max()),
        "codes": k,
    }


class Codebook(Metric):
    """Code usage counts (fixed size K), mergeable by addition."""

    name = "codebook"

    def __init__(self, codebook_size: int):
        self.codebook_size = codebook_size
        super().__init__()

    def init_kwargs(self) -> dict[str, Any]:
        return {"codebook_size": self.codebook_size}

    def reset(self) -> None:
        self.counts = np.zeros(self.codebook_size, dtype=np.int64)

    def update(self, indices: np.ndarray) -> None:
        idx = np.asarray(indices).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.codebook_size):
            raise ValueError(f"code indices must be in 0..{self.codebook_size - 1}")
        self.counts += np.bincount(idx, minlength=self.codebook_size)

    def compute(self) -> dict[str, Any]:
        return codebook_stats(self.counts)

    def state_dict(self) -> dict[str, Any]:
        return {"counts": self.counts.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.counts = np.asarray(state["counts"], dtype=np.int64)

    def merge(self, other: Codebook) -> Codebook:
        self.counts += other.counts
        return self


# -- one action space across embodiments (LAC-WM §5, Fig. 2) -------------------------------------------
def _standardised(z: np.ndarray, reference: np.ndarray) -> np.ndarray:
    mean, std = reference.mean(0), reference.std(0) + 1e-8
    return (z - mean) / std


def _stratified_folds(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Each sample's fold (0..folds-1): every label spread evenly over the folds, in a seeded order."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(labels), dtype=np.int64)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        fold[members] = np.arange(len(members)) % folds
    return fold


def _logistic_regression(z: np.ndarray, y: np.ndarray, classes: int, c: float):
    """Multinomial logistic regression with scikit-learn's objective (C · Σ cross-entropy + ½‖W‖², the bias
    unpenalised), solved by L-BFGS; returns a function giving the predicted class."""
    import torch
    import torch.nn.functional as F

    x, target = torch.from_numpy(z.astype(np.float64)), torch.from_numpy(y)
    weight = torch.zeros(x.shape[1], classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=500, tolerance_grad=1e-10, tolerance_change=1e-12,
                                  history_size=20, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = c * F.cross_entropy(x @ weight + bias, target, reduction="sum") + 0.5 * (weight**2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return lambda test: (torch.from_numpy(test.astype(np.float64)) @ weight + bias).argmax(1).numpy()


def embodiment_identification(z: np.ndarray, labels: np.ndarray, folds: int = 5, c: float = 1.0,
                              seed: int = 0) -> dict[str, float]:
    """How well a linear classifier tells which embodiment an action embedding came from: held-out accuracy of a
    multinomial logistic regression (inverse regularisation ``c``, as scikit-learn's C) over ``folds`` stratified
    folds, embeddings standardised with each training split's statistics. ``chance``: the largest label's share.
    One shared action space reads near chance; embeddings apart by embodiment read near 1."""
    z = np.asarray(z, np.float64).reshape(len(z), -1)  # (N, D)
    names, y = np.unique(np.asarray(labels), return_inverse=True)
    fold = _stratified_folds(y, folds, seed)
    correct = 0
    for k in range(folds):
        train, test = fold != k, fold == k
        predict = _logistic_regression(_standardised(z[train], z[train]), y[train], len(names), c)
        correct += int((predict(_standardised(z[test], z[train])) == y[test]).sum())
    return {"accuracy": correct / len(y), "chance": float(np.bincount(y).max() / len(y))}


def neighbour_purity(z: np.ndarray, labels: np.ndarray, k: int = 10) -> dict[str, float]:
    """Mean share of each embedding's ``k`` nearest neighbours (Euclidean, standardised embeddings, itself
    excluded) that carry its label, the local picture a UMAP plot shows. ``chance``: its expectation when labels
    are independent of the embeddings, Σ_c n_c (n_c − 1) / (N (N − 1))."""
    z = np.asarray(z, np.float64).reshape(len(z), -1)
    z = _standardised(z, z)
    _, y = np.unique(np.asarray(labels), return_inverse=True)
    squared = (z**2).sum(1)
    distance = squared[:, None] + squared[None, :] - 2 * z @ z.T  # (N, N)
    np.fill_diagonal(distance, np.inf)
    neighbours = np.argsort(distance, axis=1, kind="stable")[:, :k]  # (N, k)
    counts = np.bincount(y).astype(np.float64)
    n = len(y)
    return {"purity": float((y[neighbours] == y[:, None]).mean()),
            "chance": float((counts * (counts - 1)).sum() / (n * (n - 1)))}
