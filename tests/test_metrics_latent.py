"""Linear probing, CCA against scikit-learn, codebook statistics; merges."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lawm_eval.metrics.latent import CCA, Codebook, canonical_correlations, codebook_stats, linear_probe


def correlated(seed=0, n=2000):
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(n, 2))
    x = np.concatenate([shared, rng.normal(size=(n, 3))], 1) @ rng.normal(size=(5, 5))
    y = np.concatenate([shared[:, :1] + 0.5 * rng.normal(size=(n, 1)), rng.normal(size=(n, 2))], 1)
    return x, y


def test_first_canonical_correlation_equals_scikit_learn():
    from sklearn.cross_decomposition import CCA as SkCCA

    x, y = correlated()
    sk = SkCCA(n_components=1, max_iter=5000, tol=1e-10).fit(x, y)
    xs, ys = sk.transform(x, y)
    expected = np.corrcoef(xs[:, 0], ys[:, 0])[0, 1]
    assert canonical_correlations(x, y)[0] == pytest.approx(expected, abs=1e-3)
    # closed form: y0 = s + 0.5 e with s inside span(x) -> rho = 1/sqrt(1.25)
    assert canonical_correlations(x, y)[0] == pytest.approx(1 / math.sqrt(1.25), abs=0.02)


def test_cca_metric_merges_and_perfect_correlation():
    x, y = correlated(1)
    whole, a, b = CCA(), CCA(), CCA()
    whole.update(x, y)
    a.update(x[:700], y[:700])
    b.update(x[700:], y[700:])
    assert a.merge(b).compute()["value"] == pytest.approx(whole.compute()["value"], rel=1e-9)
    perfect = CCA()
    perfect.update(x, x[:, :2] @ np.array([[1.0], [2.0]]))
    assert perfect.compute()["value"] == pytest.approx(1.0, abs=1e-9)


def test_linear_probe_recovers_a_linear_map_and_not_noise():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(1200, 8))
    actions = z @ rng.normal(size=(8, 3)) + 0.01 * rng.normal(size=(1200, 3))
    probe = linear_probe(z[:1000], actions[:1000], z[1000:], actions[1000:], steps=1000)
    assert probe["test_l1"] < 0.05 * probe["median_baseline_l1"]
    noise = linear_probe(rng.normal(size=(1000, 8)), actions[:1000], rng.normal(size=(200, 8)), actions[1000:])
    assert noise["test_l1"] > 0.8 * noise["median_baseline_l1"]
    again = linear_probe(z[:1000], actions[:1000], z[1000:], actions[1000:], steps=1000)
    assert again == probe  # deterministic for a seed


def test_linear_probe_does_not_depend_on_the_action_units():
    # small actions (DROID-style metres per step) must not be drowned in the optimiser's step noise
    rng = np.random.default_rng(1)
    z = rng.normal(size=(600, 8))
    actions = np.tanh(z[:, :2]) + 0.3 * rng.normal(size=(600, 2))
    big = linear_probe(z[:500], actions[:500], z[500:], actions[500:], steps=500)
    small = linear_probe(z[:500], 0.01 * actions[:500], z[500:], 0.01 * actions[500:], steps=500)
    assert small["test_l1"] == pytest.approx(0.01 * big["test_l1"], rel=1e-3)
    # uninformative latents: the fitted layer is no worse than the constant median on its own data
    noise = linear_probe(rng.normal(size=(500, 8)), 0.01 * actions[:500], rng.normal(size=(100, 8)),
                         0.01 * actions[500:], steps=500)
    train_median = float(np.abs(0.01 * actions[:500] - np.median(0.01 * actions[:500], axis=0)).mean())
    assert noise["train_l1"] <= 1.02 * train_median


def test_codebook_closed_forms_and_merge():
    uniform = codebook_stats(np.full(32, 10))
    assert uniform["utilisation"] == 1.0 and uniform["max_usage"] == pytest.approx(1 / 32)
    assert uniform["entropy"] == pytest.approx(math.log(32)) and uniform["perplexity"] == pytest.approx(32)
    collapsed = codebook_stats(np.array([100] + [0] * 31))
    assert collapsed["utilisation"] == 1 / 32 and collapsed["entropy"] == 0.0 and collapsed["max_usage"] == 1.0
    a, b, whole = Codebook(8), Codebook(8), Codebook(8)
    idx = np.random.default_rng(0).integers(0, 5, size=100)
    whole.update(idx)
    a.update(idx[:30])
    b.update(idx[30:])
    assert a.merge(b).compute() == whole.compute()
    with pytest.raises(ValueError, match="0..7"):
        whole.update(np.array([8]))


# -- one action space across embodiments (LAC-WM §5) -------------------------------------------------
def three_embodiments(separation: float, n: int = 300, seed: int = 0):
    """Three labelled Gaussian clouds in 6-D whose means sit ``separation`` apart along their own axis."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(3 * n, 6))
    labels = np.repeat(np.array(["bfa", "navigation", "robodesk"]), n)
    for i, name in enumerate(("bfa", "navigation", "robodesk")):
        z[labels == name, i] += separation
    return z, labels


@pytest.mark.parametrize("classes", [3, 2])
def test_logistic_regression_is_scikit_learns(classes):
    """The same optimum as scikit-learn's LogisticRegression (multinomial for 3 classes, binary for 2), at a C
    where the penalty matters."""
    from sklearn.linear_model import LogisticRegression

    from lawm_eval.metrics.latent import logistic_regression, standardised

    z, labels = three_embodiments(1.0)
    keep = np.isin(labels, ["bfa", "navigation", "robodesk"][:classes])
    z, labels = standardised(z[keep], z[keep]), labels[keep]
    _, y = np.unique(labels, return_inverse=True)
    weight, bias = logistic_regression(z, y, classes, c=0.05)
    sk = LogisticRegression(C=0.05, max_iter=10_000, tol=1e-12).fit(z, y)
    if classes == 2:  # scikit-learn's binary model: one weight vector for the second class, the first's logit 0
        assert np.allclose(weight[:, 0], 0) and bias[0] == 0
        assert np.allclose(weight[:, 1], sk.coef_[0], atol=1e-5) and bias[1] == pytest.approx(sk.intercept_[0], abs=1e-5)
    else:
        assert np.allclose(weight.T, sk.coef_, atol=1e-5) and np.allclose(bias, sk.intercept_, atol=1e-5)
    assert ((z @ weight + bias).argmax(1) == sk.predict(z)).all()


def test_embodiment_identification_is_scikit_learns_classifier_on_its_folds():
    from sklearn.linear_model import LogisticRegression

    from lawm_eval.metrics.latent import embodiment_identification, stratified_folds

    z, labels = three_embodiments(1.0)
    _, y = np.unique(labels, return_inverse=True)
    fold = stratified_folds(y, 5, seed=3)
    correct = 0
    for k in range(5):
        train, test = fold != k, fold == k
        mean, std = z[train].mean(0), z[train].std(0) + 1e-8
        sk = LogisticRegression(C=0.5, max_iter=5000, tol=1e-10).fit((z[train] - mean) / std, y[train])
        correct += int((sk.predict((z[test] - mean) / std) == y[test]).sum())
    ours = embodiment_identification(z, labels, folds=5, c=0.5, seed=3)
    assert 0.6 < ours["accuracy"] < 0.95  # overlapping clouds: neither chance nor perfect
    assert ours["accuracy"] == pytest.approx(correct / len(y), abs=1 / len(y))
    assert ours["chance"] == pytest.approx(1 / 3)


def test_stratified_folds_spread_every_label_evenly_and_are_seeded():
    from lawm_eval.metrics.latent import stratified_folds

    y = np.repeat([0, 1, 2], [7, 7, 9])
    fold = stratified_folds(y, 5, seed=0)
    per_label = np.array([[np.sum((y == c) & (fold == k)) for k in range(5)] for c in range(3)])
    assert (per_label.max(1) - per_label.min(1) <= 1).all()  # each label as even as it can be
    sizes = np.bincount(fold, minlength=5)
    assert sizes.max() - sizes.min() <= 1  # and so the folds
    assert (stratified_folds(y, 5, seed=0) == fold).all() and not (stratified_folds(y, 5, seed=1) == fold).all()
    with pytest.raises(ValueError, match="at least 5 samples"):
        stratified_folds(np.repeat([0, 1], [3, 10]), 5, seed=0)


def test_embodiment_identification_reads_separate_spaces_and_one_shared_space():
    from lawm_eval.metrics.latent import embodiment_identification

    assert embodiment_identification(*three_embodiments(12.0))["accuracy"] == 1.0
    shared = embodiment_identification(*three_embodiments(0.0))  # labels independent of the embeddings
    assert abs(shared["accuracy"] - 1 / 3) < 0.07
    z, labels = three_embodiments(0.0)
    uneven = embodiment_identification(z[:700], labels[:700])  # 300 / 300 / 100: chance is the largest share
    assert uneven["chance"] == pytest.approx(300 / 700)


def test_neighbour_purity_against_scikit_learn_and_its_chance_level():
    from sklearn.neighbors import NearestNeighbors

    from lawm_eval.metrics.latent import neighbour_purity

    z, labels = three_embodiments(1.5, n=200)
    standard = (z - z.mean(0)) / z.std(0)
    _, index = NearestNeighbors(n_neighbors=11).fit(standard).kneighbors(standard)  # itself first
    expected = (labels[index[:, 1:]] == labels[:, None]).mean()
    ours = neighbour_purity(z, labels, k=10)
    assert ours["purity"] == pytest.approx(expected, abs=1e-3)
    assert ours["chance"] == pytest.approx(3 * 200 * 199 / (600 * 599))
    assert neighbour_purity(*three_embodiments(12.0), k=10)["purity"] == 1.0
    shared = neighbour_purity(*three_embodiments(0.0, n=400), k=10)
    assert abs(shared["purity"] - shared["chance"]) < 0.03


def test_neighbour_purity_does_not_depend_on_the_order_of_repeated_codes():
    """A discrete latent repeats its codes: ties at the k-th distance share the places, whatever the order."""
    from lawm_eval.metrics.latent import neighbour_purity

    rng = np.random.default_rng(0)
    codes = rng.normal(size=(6, 4))
    first = codes[rng.choice(6, size=300, p=[0.3, 0.3, 0.1, 0.1, 0.1, 0.1])]  # each dataset its own mix of codes
    second = codes[rng.choice(6, size=300, p=[0.1, 0.1, 0.1, 0.1, 0.3, 0.3])]
    z, labels = np.concatenate([first, second]), np.repeat(["a", "b"], 300)
    forward = neighbour_purity(z, labels, k=10)["purity"]
    order = rng.permutation(600)
    assert neighbour_purity(z[order], labels[order], k=10)["purity"] == pytest.approx(forward, abs=1e-12)
    assert neighbour_purity(z[::-1], labels[::-1], k=10)["purity"] == pytest.approx(forward, abs=1e-12)
    # closed form: a point of code c sees its code's other copies (far more than 10): the share of them from its set
    n = {name: np.array([(np.all(part == c, 1)).sum() for c in codes]) for name, part in (("a", first), ("b", second))}
    own = sum((n[x] * (n[x] - 1) / (n["a"] + n["b"] - 1)).sum() for x in ("a", "b")) / 600
    assert forward == pytest.approx(own, abs=1e-9)


def test_neighbour_purity_needs_more_embeddings_than_neighbours():
    from lawm_eval.metrics.latent import neighbour_purity

    with pytest.raises(ValueError, match="k must be in 1..5"):
        neighbour_purity(np.random.default_rng(0).normal(size=(6, 2)), np.array([0, 0, 0, 1, 1, 1]), k=10)
