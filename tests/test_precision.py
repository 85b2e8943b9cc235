"""The contracts of the faster scoring paths, on realistic sizes (d=384, n=1,000, 8 classes, 27 ESMs).

- 'mixed' (single-precision eigendecompositions refined in double, the GPU default) and 'float32' against float64:
  scores within 1e-5 relative ('mixed') and 1e-3 ('float32'); the ranking identical to float64's except among ESMs
  whose float64 scores lie within that tolerance of each other.
- Worker processes (`ParallelCPUScorer`): the same scores bit for bit whatever the number of workers, and equal to
  the in-process scorer to rounding; they start from a plain script with no `if __name__ == '__main__':` guard.
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
    # and ill-conditioned maps (condition numbers 1e3 to 1e5, as strong random maps of d=768 reach): in single
    # precision, forming Waᵀ(XᵀX)Wa and dividing by eigenvalues below its rounding error put scores off by 19%
    ill = [np.linalg.qr(rng.normal(size=(d, d)))[0] * np.logspace(0, -e, d) @ np.linalg.qr(rng.normal(size=(d, d)))[0]
           for e in (3, 4, 5)]
    W = np.concatenate([W, np.stack(ill)])
    b = 0.1 * rng.normal(size=(len(W), d))
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


SCRIPT = '''
import json, sys, numpy as np, torch
from esm_nb.esm import ESM, ESMConfig
from esm_nb.bank import save_bank
from esm_nb.rank import rank_embeddings
rng = np.random.default_rng(3)
y = rng.integers(0, 3, 300)
X = rng.normal(size=(300, 16)) + y[:, None]
esms = []
for i in range(12):
    e = ESM(ESMConfig('some/base-model', f'task_{i}', esm_embedding_dim=16))
    with torch.no_grad(): e.model.weight.copy_(torch.eye(16) + 0.3 * torch.randn(16, 16))
    esms.append(e)
bank = save_bank(esms, sys.argv[1])
ranked = [rank_embeddings(X, y, False, 'some/base-model', banks=bank, method='esm_logme', progress=False,
                          workers=w).to_pandas() for w in (1, 2)]
print(json.dumps([[r['Task ID'].tolist(), r['Score'].tolist()] for r in ranked]))
'''


def test_workers_start_from_a_script_without_a_main_guard(tmp_path):
    "A plain script, as users write them: worker processes must not re-run it (multiprocessing's spawn did)."
    import json, subprocess, sys
    script = tmp_path / 'rank_it.py'
    script.write_text(SCRIPT)
    out = subprocess.run([sys.executable, str(script), str(tmp_path / 'bank.safetensors')], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    (names1, scores1), (names2, scores2) = json.loads(out.stdout.strip().splitlines()[-1])
    assert names1 == names2 and len(names1) == 12
    assert np.allclose(scores1, scores2, rtol=1e-12, atol=0)
