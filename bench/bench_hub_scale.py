"""Ranking against every ESM published for a base model, from nothing to the ranking, on the Hub stand-in at scale.

    python bench/bench_hub_scale.py [--esms 1500] [--d 768] [--texts 1000] [--latency 0.05] [--mbps 100]
                                    [--budget 1000 --window 60] [--dtype float16] [--method esm_knn] [--no-peer]

The stand-in (tests/hub_server.py) serves a generated collection (tests/hub_collection.py: `--esms` repos of d×d
float32 maps, in hf-dataset-selector's published format) from disk, adding `--latency` seconds to every request, with
one bandwidth cap (`--mbps` MB/s) for all downloads together, and the Hub's rate limits: `--budget` requests per
`--window` seconds in each bucket (the Hub meters 'api', 'resolvers' and 'pages' separately), answered with 429 and
the Hub's RateLimit headers beyond it. The default budget, 1,000 per 60 s, is the rate of 5,000 per 5 minutes.

Stages, each in a fresh process (its peak memory is its own):
- embedding: `--texts` texts of the offline corpus Reuters-R8 embedded by a random BERT-base-sized encoder (12
  layers, d=768, 12 heads, 3,072 wide; 128 tokens a text): its cost, not its quality, is measured here. Done once.
- per repo, cold cache and warm cache: `hub_candidates(fetch='repos')` (discovery), then `rank_embeddings` on it
  (downloads and scoring overlap: ESMs are scored as they arrive), `--method`.
- the bank: built from the warm cache (`build_bank`), pushed to the stand-in (`push_bank`, LFS upload), then ranked
  with a cold and a warm cache (`fetch='auto'` finds it).
- the peer, hf-dataset-selector 0.2.1 (bench/.peer-venv), on the same stand-in: its discovery, then its
  `ESM.from_pretrained` and LogME one ESM after another for as long as our cold per-repo ranking took.
Prints a table; writes bench/results/results_hub_scale.json. Needs about 4×(esms × d² × 4) bytes of disk.
"""
import argparse, json, os, resource, shutil, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / 'results'
MODEL = 'bert-base-uncased'


def peak_gb() -> float:
    me, kids = (resource.getrusage(w).ru_maxrss for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return round(max(me, kids) / 2**20, 2)  # kB -> GB; the scoring workers are children


def child(a):
    "One stage, in this process: prints one JSON line."
    import numpy as np
    from esm_nb.hub_banks import build_bank, hub_candidates, push_bank
    from esm_nb.rank import rank_embeddings
    X, y = np.load(a.work / 'X.npy'), np.load(a.work / 'y.npy')
    out = dict(stage=a.child)
    t0 = time.perf_counter()
    if a.child == 'build':
        bank = build_bank(MODEL, a.work / f'bank-{a.dtype}', a.dtype, progress=False)
        out['build_s'] = round(time.perf_counter() - t0, 1)
        t1 = time.perf_counter()
        push_bank(bank, f'tester/esm-bank-{a.dtype}')
        out.update(push_s=round(time.perf_counter() - t1, 1), esms=len(bank), shards=len(bank.shards))
    else:
        cands = hub_candidates(MODEL, fetch='repos' if a.child.startswith('repos') else 'auto', progress=False)
        t1 = time.perf_counter()
        r = rank_embeddings(X, y, model_name=MODEL, banks=[cands], method=a.method, progress=False)
        t2 = time.perf_counter()
        out.update(discovery_s=round(t1 - t0, 1), fetch_and_score_s=round(t2 - t1, 1), ranked=len(r),
                   skipped=len(r.skipped), note=r.note, top=r.to_pandas()['ESM'].head(3).tolist())
    out['total_s'] = round(time.perf_counter() - t0, 1)
    out['peak_rss_gb'] = peak_gb()
    print(json.dumps(out), flush=True)


def embed(a):
    "Embed the texts once with a BERT-base-sized random encoder; save X.npy and y.npy; print the timing."
    import numpy as np
    from esm_nb.corpora import load_corpus
    from esm_nb.embed import Embedder, make_tiny_bert
    ds = load_corpus('reuters_r8', 'train', num_examples=a.texts, seed=0)
    from transformers import BertConfig, BertModel
    model = make_tiny_bert(a.work / 'bert-base-random')  # its tokenizer; the model replaced by a BERT-base-sized one
    BertModel(BertConfig(vocab_size=len(Path(model, 'vocab.txt').read_text().split()), hidden_size=a.d,
                         num_hidden_layers=12, num_attention_heads=12, intermediate_size=4 * a.d,
                         max_position_embeddings=512)).save_pretrained(model)
    t0 = time.perf_counter()
    X = Embedder(model, progress=False)(ds.texts)
    np.save(a.work / 'X.npy', X)
    np.save(a.work / 'y.npy', np.asarray(ds.labels))
    print(json.dumps(dict(stage='embedding', texts=len(ds), d=X.shape[1], total_s=round(time.perf_counter() - t0, 1),
                          peak_rss_gb=peak_gb())), flush=True)


PEER = r'''
import json, sys, time, numpy as np, torch
from hfselect import ESM, find_esm_repo_ids
from hfselect.logme import LogME
X, y, budget = torch.tensor(np.load(sys.argv[1])), np.load(sys.argv[2]), float(sys.argv[3])
t0 = time.perf_counter()
ids = find_esm_repo_ids(sys.argv[4])
t1 = time.perf_counter()
done, failed = 0, 0
while done + failed < len(ids) and time.perf_counter() - t1 < budget:
    try:
        esm = ESM.from_pretrained(ids[done + failed])
        with torch.no_grad(): F = esm(X).numpy()
        LogME(regression=False).fit(F, y, add_intercept=False)
        done += 1
    except Exception: failed += 1
t2 = time.perf_counter()
print(json.dumps(dict(stage='peer', discovery_s=round(t1 - t0, 1), ranked=done, failed=failed, listed=len(ids),
                      fetch_and_score_s=round(t2 - t1, 1), s_per_esm=round((t2 - t1) / max(done, 1), 3))))
'''


def run(a, env, stage, cmd=None, timeout=7200):
    cmd = cmd or [sys.executable, __file__, '--child', stage, '--work', str(a.work), '--dtype', a.dtype,
                  '--method', a.method, '--texts', str(a.texts), '--d', str(a.d)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith('{')]
    if p.returncode or not lines: raise RuntimeError(f"{stage} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    row = json.loads(lines[-1])
    print(json.dumps(row), flush=True)
    return row


def du_gb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in Path(path).rglob('*') if f.is_file() and not f.is_symlink())
                 / 1e9, 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--esms', type=int, default=1500)
    ap.add_argument('--d', type=int, default=768)
    ap.add_argument('--texts', type=int, default=1000)
    ap.add_argument('--latency', type=float, default=0.05)
    ap.add_argument('--mbps', type=float, default=100)
    ap.add_argument('--budget', type=int, default=1000)
    ap.add_argument('--window', type=float, default=60)
    ap.add_argument('--dtype', default='float16')
    ap.add_argument('--method', default='esm_knn')
    ap.add_argument('--no-peer', action='store_true')
    ap.add_argument('--work', type=Path)
    ap.add_argument('--child')
    a = ap.parse_args()
    if a.child: return embed(a) if a.child == 'embed' else child(a)
    sys.path.insert(0, str(HERE.parent / 'tests'))  # the Hub stand-in lives with the tests
    from hub_server import HubServer, Repo
    from hub_collection import generate_collection, load_collection
    a.work = Path(a.work or tempfile.mkdtemp(prefix='hub-scale-'))
    collection = a.work / f'collection-{a.esms}-{a.d}'
    if not collection.exists():
        t = time.perf_counter()
        generate_collection(collection, a.esms, a.d, MODEL)
        print(f"generated {a.esms} ESMs of d={a.d} in {time.perf_counter() - t:.0f} s", flush=True)
    base = 'google-bert/bert-base-uncased'
    repos = load_collection(collection, aliases={MODEL: base})
    srv = HubServer(repos, aliases={MODEL: base, base: base}, latency=a.latency, bandwidth=a.mbps * 1e6,
                    storage=a.work / 'lfs')
    srv.repos[base] = Repo({'config.json': b'{}'}, [])
    for bucket in ('api', 'resolvers', 'pages'): srv.limit(bucket, a.budget, a.window)
    env = {**os.environ, 'HF_ENDPOINT': srv.url, 'HF_HUB_OFFLINE': '0', 'TRANSFORMERS_OFFLINE': '1',
           'HF_HUB_DISABLE_XET': '1', 'HF_HUB_DISABLE_TELEMETRY': '1', 'HF_TOKEN': 'hf_bench'}
    rows = [run(a, env, 'embed')]
    for cache, stages in (('cache-repos', ['repos-cold', 'repos-warm', 'build']),
                          ('cache-bank', ['bank-cold', 'bank-warm'])):
        shutil.rmtree(a.work / cache, ignore_errors=True)
        env['HF_HUB_CACHE'] = str(a.work / cache)
        for stage in stages:
            srv.reset_stats()
            row = run(a, env, stage)
            row.update(requests=dict(srv.stats['requests']), rate_limited=srv.stats['rate_limited'],
                       mb_sent=round(srv.stats['bytes_sent'] / 1e6))
            if stage.endswith('cold'): row['cache_gb'] = du_gb(a.work / cache)
            rows.append(row)
    if not a.no_peer:
        peer = subprocess.run(['bash', str(HERE / 'setup_peer.sh')], capture_output=True, text=True).stdout.strip()
        env['HF_HUB_CACHE'] = str(a.work / 'cache-peer')
        shutil.rmtree(a.work / 'cache-peer', ignore_errors=True)
        budget = next(r for r in rows if r['stage'] == 'repos-cold')['fetch_and_score_s']
        srv.reset_stats()
        rows.append(run(a, env, 'peer', [peer, '-c', PEER, str(a.work / 'X.npy'), str(a.work / 'y.npy'), str(budget),
                                         MODEL], timeout=int(budget * 3 + 600)))
    srv.close()
    setup = dict(esms=a.esms, d=a.d, texts=a.texts, latency=a.latency, mbps=a.mbps, budget=a.budget, window=a.window,
                 dtype=a.dtype, method=a.method, cores=os.cpu_count())
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / 'results_hub_scale.json').write_text(json.dumps(dict(setup=setup, rows=rows), indent=1))
    print(f"\n{a.esms} ESMs of d={a.d}, {a.texts} texts, {a.latency * 1e3:.0f} ms latency, {a.mbps:g} MB/s, "
          f"{a.budget} requests per {a.window:g} s per bucket, {a.method}, bank as {a.dtype}, {os.cpu_count()} cores")
    print('\n| stage | discovery s | fetch + scoring s | total s | ranked | 429s | peak RSS GB | cache GB |')
    print('|---|---|---|---|---|---|---|---|')
    for r in rows:
        print(f"| {r['stage']} | {r.get('discovery_s', '')} | {r.get('fetch_and_score_s', r.get('build_s', ''))} | "
              f"{r.get('total_s', '')} | {r.get('ranked', r.get('esms', ''))} | {r.get('rate_limited', '')} | "
              f"{r.get('peak_rss_gb', '')} | {r.get('cache_gb', '')} |")


if __name__ == '__main__':
    main()
