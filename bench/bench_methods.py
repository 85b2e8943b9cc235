"""How fast each ESM method scores linear ESMs in a ranking, per ESM, and the memory it takes.

    python bench/bench_methods.py [--esms 1500] [--n 1000] [--d 768] [--methods esm_knn esm_logme esm_hscore]

For each method, a fresh process runs `score_candidates` (esm_nb.rank) as a ranking does: the target's embeddings,
the candidates' maps streamed in, the ranking's choice of worker processes (every usable core from `PARALLEL_FROM`
candidates) and of chunk size. The target and the maps are bench/synthetic.py's (n Gaussian embeddings with 8 classes,
random near-identity maps); `--pool` distinct maps are made once and streamed over and over, so that the maps take
the memory of a ranking reading a bank, and their making is not timed. `--noise` adds Gaussian noise of that standard
deviation to the embeddings: a harder target, whose kNN accuracies are not all 1, to compare scores on.

Prints one row per method: seconds per ESM over the whole ranking (the workers' start included); the CPU time it
took per ESM, the ranking process and its workers together (on a machine shared with other work, this divided by
the cores is what the ranking would take alone); and the peak resident memory (VmHWM) of the ranking process, of its
largest worker process (if any), and of them all together (the sum of their peaks: an upper bound). Appends the rows
to bench/results/results_methods.jsonl. `--save-scores DIR` keeps each method's scores
(`DIR/<method>_<precision>_<task>_<esms>.npy`) to compare two runs.
"""
import argparse, json, resource, subprocess, sys, threading, time
from pathlib import Path
import numpy as np
from synthetic import target, maps

RESULTS = Path(__file__).resolve().parent / 'results' / 'results_methods.jsonl'


def peak_rss_mb(pid='self') -> float:
    "Peak resident memory (VmHWM) of a process, in MB."
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmHWM:'): return int(line.split()[1]) / 1024
    return float('nan')


def children() -> list[int]:
    "Process ids of this process's children (its scoring workers)."
    return [int(p) for f in Path('/proc/self/task').glob('*/children') for p in f.read_text().split()]


def watch_workers(peaks: dict, stop: threading.Event):
    "Keep each child's peak resident memory in `peaks` until `stop` is set (read while it lives, after its exec)."
    while not stop.wait(0.2):
        for pid in children():
            try: peaks[pid] = max(peaks.get(pid, 0.0), peak_rss_mb(pid))
            except (FileNotFoundError, ProcessLookupError): pass


def cpu_seconds() -> float:
    "CPU time of this process and of its children that have ended (the workers, once the ranking has closed them)."
    use = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(r.ru_utime + r.ru_stime for r in use)


def run_one(a) -> dict:
    "Score `a.esms` ESMs with the method `a.one` in this process and its workers; the row of the table."
    import torch
    from esm_nb.esm import ESMConfig
    from esm_nb.methods import usable_cores
    from esm_nb.rank import score_candidates, scoring_options, PARALLEL_FROM
    X, y = target(n=a.n, d=a.d)
    X = X + a.noise * np.random.default_rng(4).normal(size=X.shape).astype(np.float32)
    if a.regression: y = X[:, :3].sum(1) + np.random.default_rng(2).normal(size=len(X))
    W, b = (t.numpy() for t in maps(min(a.pool, a.esms), d=a.d))
    config = ESMConfig('bench/random-base', 'task', esm_embedding_dim=a.d)
    stream = ((f'esm{i}', config, (W[i % len(W)], b[i % len(W)])) for i in range(a.esms))
    workers = a.workers or (usable_cores() if a.esms >= PARALLEL_FROM else 1)  # as `score_candidates` chooses
    options = scoring_options(a.one, precision=a.precision, device='cpu', workers=workers, progress=False)
    peaks, stop = {}, threading.Event()
    threading.Thread(target=watch_workers, args=(peaks, stop), daemon=True).start()
    t, cpu = time.perf_counter(), cpu_seconds()
    _, scores, skipped = score_candidates(stream, X, y, a.regression, model_name='bench/random-base',
                                          total=a.esms, options=options)
    seconds, cpu = time.perf_counter() - t, cpu_seconds() - cpu
    stop.set()
    assert len(scores) == a.esms and not skipped, skipped[:3]
    task = 'regression' if a.regression else 'classification'
    if a.save_scores:
        Path(a.save_scores).mkdir(parents=True, exist_ok=True)
        np.save(Path(a.save_scores) / f'{a.one}_{a.precision}_{task}_{a.esms}.npy', np.asarray(scores))
    return dict(method=a.one, precision=a.precision, task=task, noise=a.noise, esms=a.esms, n=a.n, d=a.d,
                workers=workers, torch_threads=torch.get_num_threads(), seconds=seconds, s_per_esm=seconds / a.esms,
                cpu_s_per_esm=cpu / a.esms,
                peak_rss_mb=peak_rss_mb(), worker_peak_rss_mb=max(peaks.values(), default=0.0),
                total_peak_rss_mb=peak_rss_mb() + sum(peaks.values()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--methods', nargs='+', default=['esm_knn', 'esm_logme', 'esm_hscore'])
    ap.add_argument('--esms', type=int, default=1500)
    ap.add_argument('--n', type=int, default=1000)
    ap.add_argument('--d', type=int, default=768)
    ap.add_argument('--precision', default='float64')
    ap.add_argument('--workers', type=int, default=None, help='as a ranking chooses when not given')
    ap.add_argument('--regression', action='store_true', help='a regression target instead of 8 classes')
    ap.add_argument('--noise', type=float, default=0.0, help='standard deviation of noise added to the embeddings')
    ap.add_argument('--pool', type=int, default=64, help='distinct maps, streamed over and over')
    ap.add_argument('--save-scores', default=None, help="folder for each method's scores (.npy)")
    ap.add_argument('--one', default=None, help=argparse.SUPPRESS)  # the child process: one method
    a = ap.parse_args()
    if a.one:
        print(json.dumps(run_one(a)))
        return
    rows = []
    for m in a.methods:
        out = subprocess.run([sys.executable, __file__, '--one', m, *sys.argv[1:]], check=True, capture_output=True,
                             text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open('a') as f:
        for r in rows: f.write(json.dumps({**r, 'when': time.strftime('%Y-%m-%d %H:%M')}) + '\n')
    print('| method | precision | task | ESMs | N | d | workers | s/ESM | CPU s/ESM '
          '| peak RSS (MB): ranking / a worker / all |\n|---|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        worker = f"{r['worker_peak_rss_mb']:.0f}" if r['worker_peak_rss_mb'] else '—'
        print(f"| {r['method']} | {r['precision']} | {r['task']} | {r['esms']} | {r['n']} | {r['d']} | "
              f"{r['workers']} | {r['s_per_esm']:.4f} | {r['cpu_s_per_esm']:.4f} | {r['peak_rss_mb']:.0f} / {worker} / "
              f"{r['total_peak_rss_mb']:.0f} |")


if __name__ == '__main__':
    main()
