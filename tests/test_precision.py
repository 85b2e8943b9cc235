"""The contracts of the faster scoring paths, on realistic sizes (d=384, n=1,000, 8 classes, 27 ESMs).

- 'mixed' (single-precision eigendecompositions refined in double, the GPU default) and 'float32' against float64:
  scores within 1e-5 relative ('mixed') and 1e-3 ('float32'); the ranking identical to float64's except among ESMs
  whose float64 scores lie within that tolerance of each other.
- 'float32' where the products lose precision (TensorFloat-32 imposed by NVIDIA's containers, simulated with
  bfloat16 products on a CPU that has them): the same contracts, because 'float32' then builds `FᵀF` in double
  precision, as 'mixed' always does.
- A float16 bank (`esm_nb.bank`, weights stored as float16) against a float32 one: ESM-LogME and ESM-H-score within
  `FLOAT16_CONTRACT` relative, and the same ranking except among ESMs within that tolerance of each other.
- Worker processes (`ParallelCPUScorer`): the same scores bit for bit whatever the number of workers, and equal to
  the in-process scorer to rounding; they start from a plain script with no `if __name__ == '__main__':` guard.
Run on the CPU here; `bench/device_check.py` runs the same checks on a GPU."""
import numpy as np, pytest, torch
from esm_nb.logme import target_stats, score_linear_maps
from esm_nb.methods import CPUScorer, ParallelCPUScorer


@pytest.fixture(scope='module')
def data():
    "Target embeddings and labels, and the maps: `(X, y, W, b)`."
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
    return X, y, W.astype(np.float32), b.astype(np.float32)


@pytest.fixture(scope='module')
def case(data):
    X, y, W, b = data
    return target_stats(X, y), torch.tensor(W), torch.tensor(b)


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


def test_float16_bank_contract(case, data, tmp_path):
    from esm_nb.bank import FLOAT16_CONTRACT, BankEntry, BankWriter, ESMBank
    from esm_nb.esm import ESMConfig
    from esm_nb.methods import hscore_linear_maps
    stats, _, _ = case
    X, y, W, b = data
    banks = {}
    for dtype in ('float32', 'float16'):
        w = BankWriter(tmp_path / dtype, W.shape[1], dtype)
        for i in range(len(W)):
            assert w.add(BankEntry(ESMConfig('m', f't{i}', esm_embedding_dim=W.shape[1])), W[i], b[i]) is None
        Wb, bb = zip(*(x for _, _, x in ESMBank(w.close()).items()))
        banks[dtype] = torch.stack(Wb).double(), torch.stack(bb).double()
    assert not torch.equal(banks['float16'][0], banks['float32'][0])  # stored as float16: rounded
    for score in (lambda W, b: score_linear_maps(stats, W, b), lambda W, b: hscore_linear_maps(stats, W, b)):
        exact, half = (score(*banks[k]).numpy() for k in ('float32', 'float16'))
        rel = np.abs(half - exact) / np.abs(exact)
        assert rel.max() < FLOAT16_CONTRACT, rel.max()
        assert agrees_on_ranking(half, exact, FLOAT16_CONTRACT)


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
ranked = [rank_embeddings(X, y, False, model_name='some/base-model', banks=bank, method='esm_logme', progress=False,
                          workers=w).to_pandas() for w in (1, 2)]
print(json.dumps([[r['Task ID'].tolist(), r['Score'].tolist()] for r in ranked]))
'''


def test_workers_start_from_a_script_without_a_main_guard(tmp_path):
    "A plain script, as users write them: worker processes must not re-run it (multiprocessing's spawn did)."
    import json, subprocess, sys
    script = tmp_path / 'rank_it.py'
    script.write_text(SCRIPT)
    out = subprocess.run([sys.executable, str(script), str(tmp_path / 'bank')], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    (names1, scores1), (names2, scores2) = json.loads(out.stdout.strip().splitlines()[-1])
    assert names1 == names2 and len(names1) == 12
    assert np.allclose(scores1, scores2, rtol=1e-12, atol=0)


FORCED = '''
import json, sys, numpy as np, torch
import esm_nb.logme as L
# what TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 (set in NVIDIA's containers) does to a GPU's float32 products, on a CPU
# with bfloat16 units: single-precision matrix products lose 13 bits, whatever else asks for
torch.backends.mkldnn.matmul.fp32_precision = 'bf16'
X, y, W, b = (np.load(f'{sys.argv[1]}/{k}.npy') for k in 'XyWb')
stats = L.target_stats(X, y)
W, b = torch.tensor(W), torch.tensor(b)
exact = L.score_linear_maps(stats, W, b).numpy()
rel = lambda s: float(np.max(np.abs(s.numpy() - exact) / np.abs(exact)))
probe = L.float32_products_exact('cpu')
fast = L.score_linear_maps(stats, W, b, 'float32')
L.float32_products_exact = lambda device: True  # as if products were trusted
print(json.dumps(dict(probe=probe, rel=rel(fast), fast=fast.tolist(), exact=exact.tolist(),
                      mixed_rel=rel(L.score_linear_maps(stats, W, b, 'mixed')),
                      trusted_rel=rel(L.score_linear_maps(stats, W, b, 'float32')))))
'''


def test_float32_when_products_lose_precision(data, tmp_path):
    "Where the environment imposes reduced-precision products, 'float32' notices and keeps its contract."
    import json, subprocess, sys
    for k, v in zip('XyWb', data): np.save(tmp_path / f'{k}.npy', v)
    out = subprocess.run([sys.executable, '-c', FORCED, str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    if r['probe']: pytest.skip("this CPU computes float32 products in full precision even when asked for bfloat16")
    assert r['trusted_rel'] > 1e-3  # the simulation bites: trusting the products breaks the contract
    assert r['rel'] < 1e-3, r['rel']
    assert agrees_on_ranking(np.array(r['fast']), np.array(r['exact']), 1e-3)
    assert r['mixed_rel'] < 1e-5, r['mixed_rel']  # 'mixed' builds FᵀF in double precision anyway
