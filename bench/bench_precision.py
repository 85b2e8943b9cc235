"""Reduced precision against float64 on the CPU: the GPU's code paths ('float32', 'mixed') and the CPU's float32.

    python bench/bench_precision.py [--esms 200] [--d 768] [--case device|scoring|bank]

Random near-identity maps W = I + s·N(0, 1/d), s ~ U(0.05, 2) (the strong ones have condition numbers of 1e3 to 1e4),
and n=1,000 target embeddings with 8 classes, from bench/synthetic.py. `--case device` (the default): the maps and
target of bench/device_check.py (balanced random labels), so the figures compare with its GPU run; `--case scoring`:
those of bench/bench_scoring.py (its cached bank, Reuters-R8's unbalanced labels), where float32 once went 19% wrong.

`--case bank`: a float16 bank against a float32 one (esm_nb.bank.FLOAT16_CONTRACT): every ESM method scores the
device case's maps as float32 weights and as float16-stored weights read back, in float64.

Reference: the CPU's float64 `LinearScorer`. For each path: the largest and median relative
difference, whether the ranking keeps the contract (identical except among ESMs whose float64 scores lie within the
tolerance of each other: 1e-5 for 'mixed', 1e-3 for 'float32'), and the time per ESM in this process. Writes
bench/results/results_precision_<case>.json.
"""
import argparse, json, time
from pathlib import Path
import numpy as np, torch
from synthetic import target, maps, scoring_target, scoring_zoo, zoo_subset

RESULTS = Path(__file__).resolve().parent / 'results'


def keeps_order(fast: np.ndarray, exact: np.ndarray, tol: float) -> bool:
    "Same order as `exact`, except among ESMs whose exact scores lie within `tol` (relative) of each other."
    i, j = np.where((exact[:, None] > exact[None, :]) & (fast[:, None] < fast[None, :]))
    gap = np.abs(exact[i] - exact[j]) / np.maximum(np.abs(exact[i]), np.abs(exact[j]))
    return bool((gap <= tol).all())


def bank_case(a):
    "Each ESM method on float32 weights and on the same weights stored as float16 (a float16 bank), in float64."
    from esm_nb.bank import FLOAT16_CONTRACT
    from esm_nb.logme import target_stats, LinearScorer
    from esm_nb.methods import hscore_linear_maps, knn_score
    X, y = target(d=a.d)
    W, b = maps(a.esms, d=a.d)
    stats = target_stats(X, y)
    lin = LinearScorer(stats, 'float64')
    methods = {'esm_logme': lambda W: [lin(w.numpy(), v.numpy()) for w, v in zip(W, b)],
               'esm_hscore': lambda W: torch.cat([hscore_linear_maps(stats, W[i:i + 16].double(), b[i:i + 16].double())
                                                  for i in range(0, len(W), 16)]).tolist(),
               'esm_knn': lambda W: [knn_score(X @ w.double().numpy().T, y) for w in W]}
    rows = []
    for name, score in methods.items():
        t = time.perf_counter()
        full, half = np.array(score(W)), np.array(score(W.half().float()))
        rel = np.abs(half - full) / np.abs(full)
        row = dict(case='bank', method=name, d=a.d, n=len(X), esms=len(W), max_rel=float(rel.max()),
                   median_rel=float(np.median(rel)), changed=int((half != full).sum()),
                   max_abs=float(np.abs(half - full).max()), tolerance=FLOAT16_CONTRACT,
                   keeps_order=keeps_order(half, full, FLOAT16_CONTRACT),
                   same_order=bool((np.argsort(-half, kind='stable') == np.argsort(-full, kind='stable')).all()),
                   seconds=round(time.perf_counter() - t, 1))
        rows.append(row)
        print(json.dumps(row), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / 'results_precision_bank.json').write_text(json.dumps(rows, indent=1))
    print('\n| method | max rel. diff | median rel. diff | scores changed | max abs. diff | '
          f'order kept within {FLOAT16_CONTRACT:g} | identical order |')
    print('|---|---|---|---|---|---|---|')
    for r in rows:
        print(f"| {r['method']} | {r['max_rel']:.1e} | {r['median_rel']:.1e} | {r['changed']} of {r['esms']} | "
              f"{r['max_abs']:.1e} | {'yes' if r['keeps_order'] else 'no'} | {'yes' if r['same_order'] else 'no'} |")


def main():
    from esm_nb.logme import target_stats, score_linear_maps, LinearScorer
    ap = argparse.ArgumentParser()
    ap.add_argument('--esms', type=int, default=200)
    ap.add_argument('--d', type=int, default=768)
    ap.add_argument('--case', choices=['device', 'scoring', 'bank'], default='device')
    a = ap.parse_args()
    if a.case == 'bank': return bank_case(a)
    if a.case == 'device':
        X, y = target(d=a.d)
        W, b = maps(a.esms, d=a.d)
    else:
        from esm_nb.bank import ESMBank
        x_path, y_path = scoring_target(a.d, 1000)
        X, y = np.load(x_path), np.load(y_path)
        bank = ESMBank(zoo_subset(scoring_zoo(a.d, a.esms), a.esms)[1])
        W, b = (torch.cat(t) for t in zip(*((w, v) for _, w, v in bank.chunks(100))))
    stats = target_stats(X, y)

    def one_by_one(precision):
        s = LinearScorer(stats, precision)
        return [s(w.numpy(), v.numpy()) for w, v in zip(W, b)]

    def batched(precision):
        return torch.cat([score_linear_maps(stats, W[i:i + 16], b[i:i + 16], precision)
                          for i in range(0, len(W), 16)]).tolist()

    paths = {'LinearScorer float64 (CPU default)': lambda: one_by_one('float64'),
             'score_linear_maps float64 (GPU float64)': lambda: batched('float64'),
             "score_linear_maps 'mixed' (GPU default)": lambda: batched('mixed'),
             "score_linear_maps 'float32'": lambda: batched('float32'),
             'LinearScorer float32 (CPU float32)': lambda: one_by_one('float32')}
    rows, exact = [], None
    for name, run in paths.items():
        t = time.perf_counter()
        got = np.array(run())
        ms = (time.perf_counter() - t) / len(got) * 1e3
        if exact is None: exact = got
        rel = np.abs(got - exact) / np.abs(exact)
        tol = 1e-5 if 'mixed' in name or 'float64' in name else 1e-3
        row = dict(path=name, case=a.case, d=a.d, esms=len(got), ms_per_esm=round(ms, 1), max_rel=float(rel.max()),
                   median_rel=float(np.median(rel)), tolerance=tol, keeps_order=keeps_order(got, exact, tol),
                   same_order=bool((np.argsort(-got) == np.argsort(-exact)).all()))
        rows.append(row)
        print(json.dumps(row), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f'results_precision_{a.case}.json').write_text(json.dumps(rows, indent=1))
    print('\n| path | ms per ESM (CPU) | max rel. diff | median rel. diff | contract (tolerance) | identical order |')
    print('|---|---|---|---|---|---|')
    for r in rows:
        kept, same = 'kept' if r['keeps_order'] else 'broken', 'yes' if r['same_order'] else 'no'
        print(f"| {r['path']} | {r['ms_per_esm']} | {r['max_rel']:.1e} | {r['median_rel']:.1e} | "
              f"{kept} ({r['tolerance']:g}) | {same} |")


if __name__ == '__main__':
    main()
