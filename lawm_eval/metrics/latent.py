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
def standardised(z: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``z`` with each dimension centred and scaled by ``reference``'s mean and standard deviation."""
    mean, std = reference.mean(0), reference.std(0) + 1e-8
    return (z - mean) / std


def equal_draws(sizes: dict[str, int], seed: int) -> dict[str, np.ndarray]:
    """As many indices into each set as the smallest has: a seeded draw without replacement, sorted."""
    n = min(sizes.values())
    rng = np.random.default_rng(seed)
    return {name: np.sort(rng.choice(size, size=n, replace=False)) for name, size in sizes.items()}


def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Each sample's fold (0..folds-1): every label spread over the folds in a seeded order, fold sizes within
    one of each other (each label starts where the previous one stopped)."""
    counts = np.bincount(labels)
    if counts[counts > 0].min() < folds:
        raise ValueError(f"every label needs at least {folds} samples for {folds} folds (smallest: "
                         f"{counts[counts > 0].min()})")
    rng = np.random.default_rng(seed)
    fold = np.empty(len(labels), dtype=np.int64)
    start = 0
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        fold[members] = (start + np.arange(len(members))) % folds
        start += len(members)
    return fold


def logistic_regression(z: np.ndarray, y: np.ndarray, classes: int, c: float) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression with scikit-learn's objective (C · Σ log-loss + ½‖W‖², the bias unpenalised), solved by
    L-BFGS: multinomial over ``classes`` ≥ 3 (weights (D, K), bias (K,)); for 2 classes one weight vector, the first
    class's logit fixed at 0 (weights (D, 2) with a zero first column), as scikit-learn's binary model."""
    import torch
    import torch.nn.functional as F

    x, target = torch.from_numpy(z.astype(np.float64)), torch.from_numpy(y)
    free = 1 if classes == 2 else classes
    weight = torch.zeros(x.shape[1], free, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(free, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=1000, tolerance_grad=1e-10, tolerance_change=1e-14,
                                  history_size=20, line_search_fn="strong_wolfe")

    def logits() -> torch.Tensor:
        out = x @ weight + bias  # (N, free)
        return torch.cat([torch.zeros_like(out), out], 1) if classes == 2 else out

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = c * F.cross_entropy(logits(), target, reduction="sum") + 0.5 * (weight**2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    w, b = weight.detach().numpy(), bias.detach().numpy()
    if classes == 2:
        w, b = np.concatenate([np.zeros_like(w), w], 1), np.concatenate([np.zeros_like(b), b])
    return w, b


def embodiment_identification(z: np.ndarray, labels: np.ndarray, folds: int = 5, c: float = 1.0,
                              seed: int = 0) -> dict[str, float]:
    """How well a linear classifier tells which embodiment an action embedding came from: held-out accuracy of a
    logistic regression (inverse regularisation ``c``, scikit-learn's C) over ``folds`` stratified folds,
    embeddings standardised with each training split's statistics. ``chance``: the largest label's share.
    One shared action space reads near chance; embeddings apart by embodiment read near 1."""
    z = np.asarray(z, np.float64).reshape(len(z), -1)  # (N, D)
    names, y = np.unique(np.asarray(labels), return_inverse=True)
    if len(names) < 2:
        raise ValueError("embodiment_identification needs at least two labels")
    fold = stratified_folds(y, folds, seed)
    correct = 0
    for k in range(folds):
        train, test = fold != k, fold == k
        weight, bias = logistic_regression(standardised(z[train], z[train]), y[train], len(names), c)
        predicted = (standardised(z[test], z[train]) @ weight + bias).argmax(1)
        correct += int((predicted == y[test]).sum())
    return {"accuracy": correct / len(y), "chance": float(np.bincount(y).max() / len(y))}


def neighbour_purity(z: np.ndarray, labels: np.ndarray, k: int = 10, chunk: int = 256) -> dict[str, float]:
    """Mean share of each embedding's ``k`` nearest neighbours (Euclidean, standardised embeddings, itself
    excluded) that carry its label, the local picture a UMAP plot shows. Neighbours tied at the k-th distance
    (repeated codes of a discrete latent) share the remaining places in proportion, so the result does not
    depend on the order of the input. ``chance``: its expectation when labels are independent of the
    embeddings, Σ_c n_c (n_c − 1) / (N (N − 1))."""
    z = np.asarray(z, np.float64).reshape(len(z), -1)
    n = len(z)
    if not 0 < k < n:
        raise ValueError(f"neighbour_purity: k must be in 1..{n - 1} for {n} embeddings (got {k})")
    z = standardised(z, z)
    _, y = np.unique(np.asarray(labels), return_inverse=True)
    shares = np.empty(n)
    for first in range(0, n, chunk):
        rows = np.arange(first, min(first + chunk, n))
        distance = ((z[rows, None, :] - z[None, :, :]) ** 2).sum(-1)  # (R, N), exact: repeats tie at 0
        distance[np.arange(len(rows)), rows] = np.inf  # itself
        kth = np.partition(distance, k - 1, axis=1)[:, k - 1 : k]  # (R, 1)
        same = y[None, :] == y[rows, None]  # (R, N)
        closer, tied = distance < kth, distance == kth
        places = k - closer.sum(1)  # (R,) left for the tied neighbours
        same_tied = (same & tied).sum(1) / tied.sum(1)
        shares[rows] = ((same & closer).sum(1) + places * same_tied) / k
    counts = np.bincount(y).astype(np.float64)
    return {"purity": float(shares.mean()), "chance": float((counts * (counts - 1)).sum() / (n * (n - 1)))}
