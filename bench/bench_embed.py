"""Embedding throughput: esm_nb's length-sorted dynamic padding vs hf-dataset-selector 0.2.1's pad-to-128, same run.

    python bench/bench_embed.py [--n 1000]

Texts: a seeded mix of real corpus texts of very different lengths — tweets (VADER), Debian fortunes, movie-review
snippets, BBC News articles and 20 Newsgroups posts — n in all. Model: the packaged
sentence-transformers/all-MiniLM-L6-v2 (mean pooling). The peer embeds with its own tokenization
(padding='max_length', max_length=128, batches of 128) and its own get_pooled_output, in its own environment
(bench/peer_worker.py); esm_nb with `Embedder` (batches of 64). Both run on the same CPU, one after the other.
Prints texts/s for each, the speed-up, and the largest absolute difference between the two embedding matrices.
Then esm_nb in bfloat16 (`dtype=torch.bfloat16`): texts/s, and how far its vectors are from float32's (largest
absolute difference, largest relative difference per vector, lowest cosine similarity); and whether that changes a
ranking: three labelled corpora as targets (500 test texts each), the bundled zoo ranked from float32 and from
bfloat16 embeddings with ESM-kNN (the default) and ESM-LogME, compared by Kendall τ and by their top 3.
"""
import argparse, json, subprocess, time
from pathlib import Path
import numpy as np

HERE = Path(__file__).resolve().parent
CACHE = HERE / '.cache'
RESULTS = HERE / 'results'
SOURCES = ['vader_tweets', 'fortunes_en', 'vader_movie_reviews', 'bbc_news', '20newsgroups']


def texts(n):
    from esm_nb.corpora import load_corpus
    per = -(-n // len(SOURCES))
    out = [t for s in SOURCES for t in load_corpus(s, 'test', num_examples=per, seed=0).texts][:n]
    return [out[i] for i in np.random.default_rng(0).permutation(len(out))]


def model_dir():
    """The packaged MiniLM under a path that names it: the peer picks mean pooling from 'sentence-transformers' in
    the path."""
    from esm_nb.embed import model_path, DEFAULT_MODEL
    link = CACHE / 'sentence-transformers' / 'all-MiniLM-L6-v2'
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(model_path(DEFAULT_MODEL))
    return link


def rankings_compared(full, half, targets=('bbc_news', 'reuters_r8', 'vader_movie_reviews'), n=500):
    "For each target and method: Kendall τ between the zoo's scores from float32 and bfloat16 embeddings, same top 3."
    from scipy.stats import kendalltau
    from esm_nb.corpora import load_corpus
    from esm_nb.rank import rank_embeddings
    from esm_nb.zoo import ZOO_DIR
    out = []
    for name in targets:
        ds = load_corpus(name, 'test', num_examples=n, seed=0)
        X = {k: e(ds.texts) for k, e in (('float32', full), ('bfloat16', half))}
        for method in ('esm_knn', 'esm_logme'):
            r = {k: rank_embeddings(x, ds.labels, ds.is_regression, esm_dir=ZOO_DIR, method=method, progress=False,
                                    target=ds.task_id, target_subset=ds.task_subset).to_pandas()
                 for k, x in X.items()}
            a, b = (dict(zip(t['Task ID'] + '/' + t['Task Subset'].fillna(''), t['Score'])) for t in r.values())
            keys = sorted(a)
            out.append(dict(target=name, method=method, esms=len(keys),
                            kendall_tau=float(kendalltau([a[k] for k in keys], [b[k] for k in keys]).statistic),
                            same_top3=list(r['float32']['Task ID'][:3]) == list(r['bfloat16']['Task ID'][:3])))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--n', type=int, default=1000)
    a = ap.parse_args()
    CACHE.mkdir(exist_ok=True)
    peer_py = subprocess.run(['bash', str(HERE / 'setup_peer.sh')], capture_output=True, text=True,
                             check=True).stdout.strip()
    T = texts(a.n)
    f = CACHE / f'embed_texts_{a.n}.json'
    f.write_text(json.dumps(T))
    from esm_nb.embed import Embedder, DEFAULT_MODEL
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir()))
    lengths = [len(ids) for ids in tokenizer(T, truncation=True, max_length=128)['input_ids']]
    emb = Embedder(DEFAULT_MODEL, progress=False)
    emb(T[:64])  # warm-up
    t0 = time.perf_counter()
    X = emb(T)
    ours_s = time.perf_counter() - t0
    out = subprocess.run([peer_py, str(HERE / 'peer_worker.py'), 'embed', str(model_dir()), str(f)],
                         capture_output=True, text=True)
    if out.returncode: raise RuntimeError(out.stderr[-3000:])
    peer = json.loads(out.stdout.strip().splitlines()[-1])
    P = np.load(f.with_suffix('.peer.npy'))
    res = dict(n=a.n, median_tokens=float(np.median(lengths)), share_truncated=float(np.mean(np.array(lengths) == 128)),
               ours_texts_per_s=a.n / ours_s, peer_texts_per_s=a.n / peer['embed_s'], speedup=peer['embed_s'] / ours_s,
               max_abs_diff=float(np.abs(X - P).max()))
    import torch
    half = Embedder(DEFAULT_MODEL, progress=False, dtype=torch.bfloat16)
    half(T[:64])
    t0 = time.perf_counter()
    H = half(T)
    half_s = time.perf_counter() - t0
    norms = np.linalg.norm(X, axis=1)
    res.update(bf16_texts_per_s=a.n / half_s, bf16_speedup_vs_float32=ours_s / half_s,
               bf16_max_abs_diff=float(np.abs(H - X).max()),
               bf16_max_rel_diff=float((np.linalg.norm(H - X, axis=1) / norms).max()),
               bf16_min_cosine=float(((H * X).sum(1) / (np.linalg.norm(H, axis=1) * norms)).min()))
    res['bf16_rankings'] = rankings_compared(emb, half)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / 'results_embed.json').write_text(json.dumps(res, indent=1))
    print(json.dumps(res))
    print("| texts | median tokens | truncated at 128 | peer texts/s | esm_nb texts/s | speed-up | max abs. diff |\n"
          "|---|---|---|---|---|---|---|\n"
          f"| {a.n} | {res['median_tokens']:.0f} | {res['share_truncated']:.0%} | {res['peer_texts_per_s']:.1f} | "
          f"{res['ours_texts_per_s']:.1f} | {res['speedup']:.2f}× | {res['max_abs_diff']:.1e} |")
    print("\n| esm_nb in bfloat16: texts/s | vs float32 | max abs. diff | max rel. diff per vector | min cosine |\n"
          "|---|---|---|---|---|\n"
          f"| {res['bf16_texts_per_s']:.1f} | {res['bf16_speedup_vs_float32']:.2f}× | {res['bf16_max_abs_diff']:.1e} | "
          f"{res['bf16_max_rel_diff']:.1e} | {res['bf16_min_cosine']:.5f} |")
    print("\n| target | method | ESMs | Kendall τ, float32 vs bfloat16 scores | same top 3 |\n|---|---|---|---|---|")
    for r in res['bf16_rankings']:
        print(f"| {r['target']} | {r['method']} | {r['esms']} | {r['kendall_tau']:.3f} | {r['same_top3']} |")


if __name__ == '__main__':
    main()
