"""The contracts of the faster scoring paths, on realistic sizes (d=384, n=1,000, 8 classes, 24 ESMs).

- 'mixed' (single-precision eigendecompositions refined in double, the GPU default) and 'float32' against float64:
  scores within 1e-5 relative ('mixed') and 1e-3 ('float32'); the ranking identical to float64's except among ESMs
  whose float64 scores lie within that tolerance of each other.
- Worker processes (`ParallelCPUScorer`): the same scores bit for bit whatever the number of workers, and equal to
  the in-process scorer to rounding.
Run on the CPU here; `bench/device_check.py` runs the same checks on a GPU."""
import numpy as np, pytest, torch
from esm_nb.logme import target_stats, score_linear_maps
from esm_nb.methods import CPUScorer, ParallelCPUScorer


@pytest.fixture(scope='module')
def case():
    rng = np.random.default_rng(7)
    n, d, k = 1000, 384, 24
    y = rng.integers(0, 8, n)
    X = (rng.normal(size=(n, d)) + 0.5 * rng.normal(size=(8, d))[y]).astype(np.float32)
    # near-identity maps of spread strength, as bench/bench_scoring.py makes them, plus near-ties: pairs of maps
    # that differ by a tiny perturbation
    W = np.stack([np.eye(d) + rng.uniform(0.05, 2) * rng.normal(size=(d, d)) / np.sqrt(d) for _ in range(k // 2)])
    W = np.concatenate([W, W + 1e-7 * rng.normal(size=W.shape)])
    b = 0.1 * rng.normal(size=(k, d))
    return target_stats(X, y), torch.tensor(W, dtype=torch.float32), torch.tensor(b, dtype=torch.float32)


def agrees_on_ranking(fast: np.ndarray, exact: np.ndarray, tol: float) -> bool:
    "Same order as `exact`, except among ESMs whose exact scores lie within `tol` (relative) of each other."
    for i in range(len(exact)):
        for j in range(len(exact)):
            if exact[i] > exact[j] and fast[i] < fast[j]:
                if abs(exact[i] - exact[j]) > tol * max(abs(exact[i]), abs(exact[j])): return False
    return True


@pytest.mark.parametrize('precision, tol', [('mixed', 1e-5), ('float32', 1e-3)])
def test_reduced_precision_contract(case, precision, tol):
    stats, W, b = case
    exact = score_linear_maps(stats, W, b).numpy()
    fast = torch.cat([score_linear_maps(stats, W[i:i + 8], b[i:i + 8], precision) for i in range(0, len(W), 8)]).numpy()
    rel = np.abs(fast - exact) / np.abs(exact)
    assert rel.max() < tol, rel.max()
    assert agrees_on_ranking(fast, exact, tol)


def test_worker_processes_give_the_same_scores(case):
    stats, W, b = case
    W, b = W[:12], b[:12]
    one, two = ParallelCPUScorer(stats, workers=1), ParallelCPUScorer(stats, workers=2)
    try: by_one, by_two = one(W, b), two(W, b)
    finally:
        one.close()
        two.close()
    assert by_one == by_two  # bit for bit
    here = CPUScorer(stats)(W, b)
    assert np.allclose(by_one, here, rtol=1e-12, atol=0)
