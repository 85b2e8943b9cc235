"""How fast the ranking process can feed its scoring workers: the ceiling on `workers=` scaling, whatever the cores.

    python bench/bench_feed.py [--esms 600] [--d 768] [--workers 2]

A ranking's own process reads each candidate, checks it, stacks a batch and writes it to the workers' pipes; with
many cores that, not the workers, can bound the speed. This times `score_candidates` (ESM-LogME, `workers=N`) over
in-memory maps: with workers that answer at once without computing (the feed alone), and with the real workers.
Each is run on all the maps and on a quarter of them; the rate is the difference (steady state, without the workers'
start, which is reported apart). Feed rate far above the real rate means the workers bound the scoring; close to it,
the feeding process does.
"""
import argparse, json, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from device_check import target, maps  # noqa: E402

IDLE_WORKER = '''
from esm_nb.logme import read_arrays, send_arrays, SharedArrays
import os, sys
out = os.fdopen(os.dup(1), 'wb')
inp = sys.stdin.buffer
read_arrays(inp)
shared = SharedArrays()
while True:
    try: head, arrays = read_arrays(inp)
    except EOFError: break
    W, b = shared.read(head) if 'shared' in head else arrays
    k = len(W)
    del W, b
    send_arrays(out, {'scores': [0.0] * k})
'''


def timed_run(esms, X, y, workers, idle) -> float:
    import esm_nb.methods as methods
    from esm_nb.esm import ESMConfig
    from esm_nb.rank import score_candidates
    W, b = esms
    config = ESMConfig('bench/random-base', 'task', esm_embedding_dim=X.shape[1])
    stream = ((f'esm{i}', config, (W[i], b[i])) for i in range(len(W)))
    saved = methods.WORKER_COMMAND
    if idle: methods.WORKER_COMMAND = [sys.executable, '-c', IDLE_WORKER]
    try:
        t = time.perf_counter()
        _, scores, skipped = score_candidates(stream, X, y, False, 'bench/random-base', method='esm_logme',
                                              total=len(W), progress=False, workers=workers)
        dt = time.perf_counter() - t
    finally: methods.WORKER_COMMAND = saved
    assert len(scores) == len(W) and not skipped
    return dt


def rate(esms, X, y, workers, idle) -> tuple[float, float]:
    "`(ESMs per second in steady state, seconds of fixed cost)` from runs over all the maps and a quarter of them."
    k = len(esms[0])
    full = timed_run(esms, X, y, workers, idle)
    part = timed_run(tuple(t[:k // 4] for t in esms), X, y, workers, idle)
    per = (full - part) / (k - k // 4)
    return 1 / per, full - k * per


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--esms', type=int, default=600)
    ap.add_argument('--d', type=int, default=768)
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--small', type=int, default=100, help='also time this many ESMs with 1 and with --workers workers')
    a = ap.parse_args()
    X, y = target(d=a.d)
    esms = maps(a.esms, d=a.d)
    (feed, feed_start), (scoring, scoring_start) = (rate(esms, X, y, a.workers, idle) for idle in (True, False))
    res = dict(d=a.d, esms=a.esms, workers=a.workers, feed_esms_per_s=feed, scoring_esms_per_s=scoring,
               start_s=scoring_start)
    few = tuple(t[:a.small] for t in esms)
    res.update(small=a.small, small_one_process_s=timed_run(few, X, y, 1, False),
               small_workers_s=timed_run(few, X, y, a.workers, False))
    print(json.dumps(res))
    print(f"| d | workers | feed alone (ESMs/s) | scoring (ESMs/s) | fixed cost (start) |\n|---|---|---|---|---|\n"
          f"| {a.d} | {a.workers} | {feed:.0f} | {scoring:.1f} | {scoring_start:.1f} s |")
    print(f"\n{a.small} ESMs: {res['small_one_process_s']:.1f} s in one process, "
          f"{res['small_workers_s']:.1f} s with {a.workers} workers")


if __name__ == '__main__':
    main()
