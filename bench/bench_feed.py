"""How fast the ranking process can feed its scoring workers: the ceiling on `workers=` scaling, whatever the cores.

    python bench/bench_feed.py [--esms 600] [--d 768] [--workers 2]

A ranking's own process reads each candidate, checks it, stacks a batch and writes it to the workers' pipes; with
many cores that, not the workers, can bound the speed. This times `score_candidates` (ESM-LogME, `workers=N`) over
in-memory maps: with workers that answer at once without computing (the feed alone), and with the real workers.
Each is run on all the maps and on a quarter of them; the rate is the difference (steady state, without the workers'
start, which is reported apart). Feed rate far above the real rate means the workers bound the scoring; close to it,
the feeding process does. The timing is bench/feed_rate.py's, which bench/device_check.py runs too; the target and the
maps are bench/synthetic.py's.
"""
import argparse, json
from synthetic import target, maps
from feed_rate import timed_run, rate


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
