"""Run the transfer experiment on one GPU machine with several worker processes, from a packed experiment.

    # here: pack the corpora (no network is needed on the GPU machine), then there:
    python -m esm_nb transfer --work-dir unused --pack .dev/data
    python experiments/transfer/device_run.py --data .dev/data --work /tmp/work --workers 4 --seeds 42 43 44 \
        --deadline 420 --out "$OUT"

Workers share the GPU; each takes every n-th source to prepare, then every n-th target to run, one seed stage at a
time (all targets with the first seeds before any target gets the next), so a run cut short by `--deadline` still
has every target at the earlier seeds. Every finished step is a file in the work folder, as with
`esm-nb transfer`: the same command resumes. At the end the work folder, without the tuned encoders, is packed into
`<out>/work.tar.gz` with a log, and read back here by `esm-nb transfer --work-dir ... --report-only`.
"""
import argparse, json, os, subprocess, sys, tarfile, time
from pathlib import Path


def runner(a, seeds):
    from esm_nb.transfer import TransferRunner, TransferBudget, unpack_experiment
    from esm_nb.finetune import FineTuneBudget
    src, tgt, sizes = unpack_experiment(a.data)
    spec = json.loads(Path(a.budget).read_text()) if a.budget else None
    budget = TransferBudget.from_dict({**spec, 'seeds': seeds}) if spec else TransferBudget(
        FineTuneBudget(epochs=2, batch_size=16, learning_rate=1e-4, max_length=a.max_length),
        FineTuneBudget(epochs=3, batch_size=16, learning_rate=1e-4, max_length=a.max_length), tuple(seeds))
    return TransferRunner(a.work, src, tgt, a.model, budget, source_sizes=sizes, progress=False,
                          log=lambda m: print(m, flush=True))


def worker(a):
    "One worker: its share of the sources, or of the targets' runs at `--seeds`, or of the predictions."
    r = runner(a, a.seeds)
    mine = lambda names: [n for i, n in enumerate(names) if i % a.workers == a.index]
    if a.role == 'prepare':
        for s in mine(list(r.sources)):
            info = r.prepare_source(s)
            print(f"source {s}: {info['finetune_seconds']}s fine-tuning", flush=True)
    elif a.role == 'runs':
        for t in mine(list(r.targets)):
            for seed in a.seeds:
                for s in [None] + r.pool(t)[0]:
                    res = r.run_pair(t, s, seed)
                    print(f"{t} <- {s} seed {seed}: {res['score']:.4f} ({res['seconds']}s)", flush=True)
    else:
        for t in mine(list(r.targets)):
            r.predict(t)
            print(f"predicted {t}", flush=True)


def stage(a, role, seeds, deadline):
    "Run `role` in `--workers` processes; stop them at `deadline` (seconds since the epoch)."
    base = [sys.executable, __file__, '--worker', role, '--data', a.data, '--work', a.work, '--model', a.model,
            '--workers', str(a.workers), '--max-length', str(a.max_length), '--seeds', *map(str, seeds)]
    if a.budget: base += ['--budget', a.budget]
    env = {**os.environ, 'OMP_NUM_THREADS': str(max(1, (os.cpu_count() or 2) // a.workers)), 'PYTHONUNBUFFERED': '1'}
    procs = [subprocess.Popen(base + ['--index', str(i)], env=env) for i in range(a.workers)]
    for p in procs:
        try: p.wait(timeout=max(1, deadline - time.time()))
        except subprocess.TimeoutExpired: pass
    late = [p for p in procs if p.poll() is None]
    for p in late: p.kill()
    return not late


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', required=True, help='folder written by `esm-nb transfer --pack`')
    p.add_argument('--work', required=True)
    p.add_argument('--model', default='sentence-transformers/all-MiniLM-L6-v2')
    p.add_argument('--workers', type=int, default=4)
    p.add_argument('--seeds', type=int, nargs='+', default=[42, 43, 44])
    p.add_argument('--seed-stages', type=int, default=2, help='seeds of the first stage; the rest follow one by one')
    p.add_argument('--max-length', type=int, default=128)
    p.add_argument('--budget', help="JSON file: {'source': {...}, 'target': {...}} (default: the CLI's budget)")
    p.add_argument('--deadline', type=float, default=540, help='seconds for the whole run; leaves time to pack')
    p.add_argument('--out', help='folder for work.tar.gz and the log')
    p.add_argument('--worker', help=argparse.SUPPRESS)
    p.add_argument('--index', type=int, default=0, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        a.role = a.worker
        return worker(a)
    t0 = time.time()
    end = t0 + a.deadline
    runner(a, a.seeds)  # writes experiment.json once, and refuses a work folder of another budget
    stage(a, 'prepare', a.seeds, end)
    print(f"sources prepared at {time.time() - t0:.0f}s", flush=True)
    stages = [a.seeds[:a.seed_stages]] + [[s] for s in a.seeds[a.seed_stages:]]
    done = []
    for seeds in stages:
        if time.time() > end - 60: break
        if stage(a, 'runs', seeds, end - 45): done += seeds
        state = 'done' if set(seeds) <= set(done) else 'cut short'
        print(f"seeds {seeds} {state} at {time.time() - t0:.0f}s", flush=True)
    stage(a, 'predict', a.seeds, end + 30)
    print(f"predictions at {time.time() - t0:.0f}s; finished seeds {done}", flush=True)
    if a.out:
        with tarfile.open(Path(a.out)/'work.tar.gz', 'w:gz') as tar:
            tar.add(a.work, arcname='work', filter=lambda ti: None if '/encoder' in ti.name else ti)
        print(f"packed at {time.time() - t0:.0f}s", flush=True)


if __name__ == '__main__':
    main()
