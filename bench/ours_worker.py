"""Runs esm_nb's ranking in a fresh process (so its peak memory is its own); prints one JSON line."""
import json, sys, time
import numpy as np


def peak_rss_mb() -> float:
    "This process's peak resident memory (VmHWM; ru_maxrss would include the parent's, as it survives exec)."
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'): return int(line.split()[1]) / 1024

def score(source, x_path, y_path, task, precision='float64'):
    from esm_nb.rank import rank_embeddings
    regression = task == 'regression'
    X, y = np.load(x_path), np.load(y_path)
    kw = dict(banks=source) if source.endswith('.safetensors') else dict(esm_dir=source)
    t0 = time.perf_counter()
    r = rank_embeddings(X, y, regression, model_name='bench/random-base', method='esm_logme', precision=precision,
                        progress=False, **kw)
    t1 = time.perf_counter()
    t = r.to_pandas()
    return dict(names=t['Task ID'].tolist(), scores=t['Score'].tolist(), rank_s=t1 - t0, skipped=len(r.skipped))


if __name__ == '__main__':
    res = score(*sys.argv[2:6], *(sys.argv[6:7] or []))
    res['peak_rss_mb'] = peak_rss_mb()
    print(json.dumps(res))
