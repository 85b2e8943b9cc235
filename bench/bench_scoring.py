"""Per-ESM scoring: esm_nb vs hf-dataset-selector 0.2.1, same inputs, same run.

    python bench/bench_scoring.py [--dims 384 768] [--sizes 20 100 500 1500] [--peer-max 500] [--n 1000]

Target (n texts): d=384 — MiniLM embeddings of n Reuters-R8 test texts (8 classes), computed with esm_nb;
d=768 — no 768-d encoder is available offline, so Gaussian embeddings with class-dependent means, same labels.
ESMs: random near-identity linear maps W = I + s·N(0, 1/d), s ~ U(0.05, 2) per ESM, b ~ 0.1·N(0, 1), saved in the
published folder format (and as one esm_nb bank file); both made and cached by bench/synthetic.py. Each scorer runs
in its own process, so peak RSS is its own; the peer runs its own ESM class and LogME on the same embeddings
(bench/peer_worker.py). Prints a Markdown table; writes bench/results/results_scoring.json.
"""
import argparse, json, subprocess, sys
from pathlib import Path
import numpy as np
from scipy.stats import kendalltau
from synthetic import CACHE, scoring_target, scoring_zoo, zoo_subset

HERE = Path(__file__).resolve().parent
RESULTS = HERE / 'results'


def run_json(cmd, env=None):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=HERE.parent)
    if out.returncode != 0: raise RuntimeError(f"{cmd[:3]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(ours, peer):
    a = dict(zip(ours['names'], ours['scores']))
    b = dict(zip(peer['names'], peer['scores']))
    names = sorted(b)
    x, y = np.array([a[k] for k in names]), np.array([b[k] for k in names])
    rel = float(np.max(np.abs(x - y) / np.abs(y)))
    same = [n for n in ours['names']] == sorted(names, key=lambda k: -b[k])
    return rel, same, float(kendalltau(x, y).statistic)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dims', type=int, nargs='+', default=[384, 768])
    ap.add_argument('--sizes', type=int, nargs='+', default=[20, 100, 500, 1500])
    ap.add_argument('--peer-max', type=int, default=500,
                    help='largest zoo the peer scores (it needs ~0.4 s and ~3 MB per ESM)')
    ap.add_argument('--n', type=int, default=1000)
    a = ap.parse_args()
    CACHE.mkdir(exist_ok=True)
    peer_py = subprocess.run(['bash', str(HERE / 'setup_peer.sh')], capture_output=True, text=True,
                             check=True).stdout.strip()
    ours_py = sys.executable
    rows = []
    for d in a.dims:
        x, y = scoring_target(d, a.n)
        root = scoring_zoo(d, max(a.sizes))
        for k in a.sizes:
            folder, bank = zoo_subset(root, k)
            args = [str(x), str(y), 'classification']
            r_dir = run_json([ours_py, str(HERE / 'ours_worker.py'), 'score', str(folder), *args])
            r_bank = run_json([ours_py, str(HERE / 'ours_worker.py'), 'score', str(bank), *args])
            r_f32 = run_json([ours_py, str(HERE / 'ours_worker.py'), 'score', str(bank), *args, 'float32'])
            f32, f64 = np.array(r_f32['scores']), np.array(r_bank['scores'])
            row = dict(d=d, k=k, n=a.n, ours_folder_s=r_dir['rank_s'], ours_bank_s=r_bank['rank_s'],
                       ours_f32_s=r_f32['rank_s'], ours_folder_rss=r_dir['peak_rss_mb'],
                       ours_bank_rss=r_bank['peak_rss_mb'], f32_same_ranking=r_f32['names'] == r_bank['names'],
                       f32_max_rel=float(np.max(np.abs(f32 - f64) / np.abs(f64))))
            if k <= a.peer_max:
                p = run_json([peer_py, str(HERE / 'peer_worker.py'), 'score', str(folder), *args])
                rel, same, tau = compare(r_bank, p)
                row.update(peer_s=p['score_s'], peer_load_s=p['load_s'], peer_rss=p['peak_rss_mb'], max_rel_diff=rel,
                           same_ranking=same, kendall_tau=tau)
            rows.append(row)
            print(json.dumps(row), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / 'results_scoring.json').write_text(json.dumps(rows, indent=1))
    print(table(rows))


def table(rows):
    out = ['| d | ESMs | peer s/ESM | esm_nb s/ESM (folders) | esm_nb s/ESM (bank) | speed-up (bank) '
           '| esm_nb total (bank) | float32 total | peak RSS peer / esm_nb folders / bank (MB) | max rel. score diff '
           '| same ranking | float32: same ranking, max rel. diff |',
           '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        peer, k = r.get('peer_s'), r['k']
        dash = '—'
        cells = [r['d'], k, f"{peer / k:.3f}" if peer else dash, f"{r['ours_folder_s'] / k:.4f}",
                 f"{r['ours_bank_s'] / k:.4f}", f"{peer / r['ours_bank_s']:.1f}×" if peer else dash,
                 f"{r['ours_bank_s']:.1f} s", f"{r['ours_f32_s']:.1f} s",
                 (f"{r['peer_rss']:.0f}" if peer else dash)
                 + f" / {r['ours_folder_rss']:.0f} / {r['ours_bank_rss']:.0f}",
                 f"{r['max_rel_diff']:.1e}" if peer else dash, r.get('same_ranking', dash),
                 f"{r['f32_same_ranking']}, {r['f32_max_rel']:.1e}"]
        out.append('| ' + ' | '.join(map(str, cells)) + ' |')
    return '\n'.join(out)


if __name__ == '__main__':
    main()
