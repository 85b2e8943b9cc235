"""Where the CPU's ESM-LogME time goes, per ESM and core: one `LinearScorer` step at a time, single-threaded BLAS.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python bench/profile_cpu_scorer.py [--d 768] [--repeat 5]

Target and map as in bench/device_check.py (bench/synthetic.py: n=1,000, 8 classes, one random near-identity map).
Prints milliseconds per step; the steps are those of `LinearScorer.__call__` (esm_nb/logme.py), called the same way.
"""
import argparse, time
import numpy as np
from synthetic import target, maps


def timed(fn, repeat):
    fn()
    t = time.perf_counter()
    for _ in range(repeat): out = fn()
    return (time.perf_counter() - t) / repeat * 1e3, out


def main():
    from scipy.linalg import lapack
    from esm_nb.logme import target_stats, LinearScorer, evidence_tridiagonal
    ap = argparse.ArgumentParser()
    ap.add_argument('--d', type=int, default=768)
    ap.add_argument('--repeat', type=int, default=5)
    a = ap.parse_args()
    X, y = target(d=a.d)
    s = LinearScorer(target_stats(X, y))
    W, b = (t[0].numpy() for t in maps(1, d=a.d))
    f, D = s.f, a.d
    Wa = np.empty((D + 1, D), order='F')
    Wa[:D], Wa[D] = W.T, b
    rows = {}
    rows['M = R·Wa (trmm)'], M = timed(lambda: f['trmm'](1.0, s.R, Wa, lower=0), a.repeat)
    rows['FᵀF = MᵀM (syrk)'], A = timed(lambda: f['syrk'](1.0, M, trans=1, lower=1), a.repeat)
    rows['Fᵀy (gemm)'], B = timed(lambda: f['gemm'](1.0, Wa, s.XtY, trans_a=1), a.repeat)
    rows['tridiagonal form (sytrd)'], (q, d, e, tau, _) = timed(
        lambda: f['sytrd'](A.copy(order='F'), lower=1, lwork=s.lwork), a.repeat)
    rows['reflectors on Fᵀy (ormqr)'], _ = timed(
        lambda: f['ormqr']('L', 'T', q[1:, :-1], tau, B[1:].copy(order='F'), lwork=B.size), a.repeat)
    rows['eigenvalues of T (sterf)'], _ = timed(lambda: lapack.dsterf(d.copy(), e.copy()), a.repeat)
    ev, _ = timed(lambda: evidence_tridiagonal(d, e, B, s.yty, s.stats.n), a.repeat)
    rows['LogME iteration (evidence_tridiagonal less sterf)'] = ev - rows['eigenvalues of T (sterf)']
    rows['whole LinearScorer call'], _ = timed(lambda: s(W, b), a.repeat)
    import torch
    At = torch.from_numpy(np.tril(A) + np.tril(A, -1).T)
    rows['for comparison: torch.linalg.eigvalsh of FᵀF (MKL)'], _ = timed(lambda: torch.linalg.eigvalsh(At), a.repeat)
    print(f'| step (d={a.d}, one core) | ms per ESM |\n|---|---|')
    for k, v in rows.items(): print(f'| {k} | {v:.1f} |')


if __name__ == '__main__':
    main()
