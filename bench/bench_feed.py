"""How fast the ranking process can feed its scoring workers: the ceiling on `workers=` scaling, whatever the cores.

    python bench/bench_feed.py [--esms 600] [--d 768] [--workers 2]

A ranking's own process reads each candidate, checks it, stacks a batch and writes it to the workers' pipes; with
many cores that, not the workers, can bound the speed. This times `score_candidates` (ESM-LogME, `workers=N`) over
in-memory maps twice: once with workers that answer at once without computing (the feed alone), once with the real
workers. Feed rate far above the real rate means the workers bound the scoring; close to it, the feeding process does.
"""
import argparse, json, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from device_check import target, maps  # noqa: E402

IDLE_WORKER = '''
from esm_nb.logme import read_arrays, send_arrays
import os, sys
out = os.fdopen(os.dup(1), 'wb')
inp = sys.stdin.buffer
read_arrays(inp)
while True:
    try: _, (W, b) = read_arrays(inp)
    except EOFError: break
    send_arrays(out, {'scores': [0.0] * len(W)})
'''


def rate(esms, X, y, workers, idle):
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
    return len(W) / dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--esms', type=int, default=600)
    ap.add_argument('--d', type=int, default=768)
    ap.add_argument('--workers', type=int, default=2)
    a = ap.parse_args()
    X, y = target(d=a.d)
    esms = maps(a.esms, d=a.d)
    res = dict(d=a.d, esms=a.esms, workers=a.workers,
               feed_esms_per_s=rate(esms, X, y, a.workers, idle=True),
               scoring_esms_per_s=rate(esms, X, y, a.workers, idle=False))
    print(json.dumps(res))
    print(f"| d | workers | feed alone (ESMs/s) | scoring (ESMs/s) |\n|---|---|---|---|\n"
          f"| {a.d} | {a.workers} | {res['feed_esms_per_s']:.0f} | {res['scoring_esms_per_s']:.1f} |")


if __name__ == '__main__':
    main()
