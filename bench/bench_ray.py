"""Building ESMs one after another in this process against Ray tasks on a local cluster of this machine's cores.

    .venv/bin/python bench/bench_ray.py [--tasks vader_tweets slo_topic fortunes_en election_author] [--examples 200]

Both build the same ESMs for the packaged MiniLM (a seeded sample of --examples training texts per corpus, 1 epoch,
batch 16, learning rate 1e-4) into fresh folders; the serial build runs torch on every core, each Ray task on one
core (`num_cpus=1`). Prints the seconds of each and writes bench/results/results_ray.json. Not a comparison with the
peer, which has no parallel build."""
import argparse, json, os, tempfile, time
from pathlib import Path
from esm_nb.finetune import FineTuneBudget
from esm_nb.zoo import build_zoo

RESULTS = Path(__file__).resolve().parent / 'results'


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--tasks', nargs='+', default=['vader_tweets', 'slo_topic', 'fortunes_en', 'election_author'])
    p.add_argument('--examples', type=int, default=200)
    a = p.parse_args()
    budget = FineTuneBudget(epochs=1, batch_size=16, learning_rate=1e-4)
    kw = dict(num_examples=a.examples, budget=budget, progress=False, log=lambda m: None)
    out = Path(tempfile.mkdtemp())
    t = time.perf_counter()
    build_zoo(out/'serial', a.tasks, **kw)
    serial = time.perf_counter() - t
    import ray
    cores = len(os.sched_getaffinity(0))
    t = time.perf_counter()
    ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
    start = time.perf_counter() - t
    t = time.perf_counter()
    build_zoo(out/'ray', a.tasks, executor='ray', **kw)
    by_ray = time.perf_counter() - t
    ray.shutdown()
    row = dict(cores=cores, esms=len(a.tasks), examples=a.examples, serial_s=round(serial, 1),
               ray_s=round(by_ray, 1), ray_start_s=round(start, 1), speedup=round(serial / by_ray, 2))
    print(f"| cores | ESMs | serial (torch on {cores} threads) | Ray tasks (1 core each) | cluster start | speed-up |")
    print("|---|---|---|---|---|---|")
    print(f"| {cores} | {len(a.tasks)} | {serial:.1f} s | {by_ray:.1f} s | {start:.1f} s | {serial / by_ray:.2f}× |")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS/'results_ray.json').write_text(json.dumps(row, indent=1))


if __name__ == '__main__':
    main()
