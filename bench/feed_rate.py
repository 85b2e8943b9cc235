"""How fast one ranking process feeds its scoring workers: the timing that bench/bench_feed.py prints and that
bench/device_check.py records (its `cpu_feed` line). A module, not a script: both import it as a sibling.

`score_candidates` (ESM-LogME, `workers=N`) over in-memory maps, with workers that answer at once without computing
(`idle`: the feed alone) or with the real workers; `rate` runs it on all the maps and on a quarter of them and takes
the difference (steady state, without the workers' start, which it reports apart).
"""
import sys, time

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
    from esm_nb.rank import score_candidates, scoring_options
    W, b = esms
    config = ESMConfig('bench/random-base', 'task', esm_embedding_dim=X.shape[1])
    stream = ((f'esm{i}', config, (W[i], b[i])) for i in range(len(W)))
    options = scoring_options('esm_logme', progress=False, workers=workers)
    saved = methods.WORKER_COMMAND
    if idle: methods.WORKER_COMMAND = [sys.executable, '-c', IDLE_WORKER]
    try:
        t = time.perf_counter()
        _, scores, skipped = score_candidates(stream, X, y, False, model_name='bench/random-base', total=len(W),
                                              options=options)
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
