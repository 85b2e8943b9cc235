"""GPU and many-core figures for esm_nb, in one run that fits a short lease of a GPU machine.

    python bench/device_check.py [--out bench/results/results_device.jsonl] [--esms 1500] [--budget 200]

Prints one JSON line per measurement as it goes (and appends it to --out, by default
bench/results/results_device.jsonl), so a run cut short keeps what it measured. Targets and maps: bench/synthetic.py.
No network and no files beyond the repository are needed, except a tokenizer for the embedding part: the packaged
MiniLM's (BERT's uncased vocabulary), found through `esm_nb.embed.model_path`, or --tokenizer DIR.

1. Scoring 1,500 random near-identity ESMs (d=768) against n=1,000 embeddings with 8 classes on the GPU: ESM-LogME
   in float64, float32 and 'mixed' precision, with 1 or 4 CUDA streams; each variant's largest relative
   difference from the CPU's float64 LinearScorer on the first 64 ESMs, and whether the ranking agrees. Then ESM-kNN
   (part 'knn'; with --device cpu it runs on the CPU).
2. ESM-LogME on the CPU with 1, 2, 4, 8 and 16 worker processes (`ParallelCPUScorer`), against the one-process scorer;
   then how fast one ranking process can feed workers on all cores (bench/feed_rate.py, as bench/bench_feed.py).
3. Embedding 20,000 texts of mixed length with a BERT-base-sized encoder (random weights: the speed is the point):
   padded to 128 in batches of 128, esm_nb's previous per-batch padding, and `Embedder` (batches of 64 and 256;
   float32, float16, bfloat16 with the largest difference from float32).
"""
import argparse, json, os, sys, time
from importlib.util import find_spec
from pathlib import Path
import numpy as np, torch
from synthetic import target, maps
from feed_rate import rate

HERE = Path(__file__).resolve().parent
# The GPU machine runs this from a copy of the repository where esm_nb need not be installed (and there is no network
# to install it): then the package is imported from the repository itself. The one path insertion among the benchmarks.
if find_spec('esm_nb') is None: sys.path.insert(0, str(HERE.parent))
OUT = None
T0 = time.time()


def emit(**row):
    row['t'] = round(time.time() - T0, 1)
    line = json.dumps(row)
    print(line, flush=True)
    if OUT:
        with open(OUT, 'a') as f: f.write(line + '\n')


def sync():
    if torch.cuda.is_available(): torch.cuda.synchronize()


def gpu_scoring(a):
    from esm_nb.logme import target_stats, LinearScorer
    from esm_nb.methods import BatchedScorer
    X, y = target()
    W, b = maps(a.esms, device='cpu')
    ref_k = 64
    cpu = LinearScorer(target_stats(X, y))
    t = time.time()
    ref = np.array([cpu(w.numpy(), v.numpy()) for w, v in zip(W[:ref_k], b[:ref_k])])
    emit(part='reference', what='CPU float64 LinearScorer', esms=ref_k, s_per_esm=(time.time() - t) / ref_k)
    dev = torch.device(a.device)
    stats = target_stats(X, y, device=dev)
    Wd, bd = W.to(dev), b.to(dev)
    variants = [('float64', 128, 1), ('float64', 128, 4), ('float32', 128, 1), ('float32', 128, 4),
                ('mixed', 128, 1), ('mixed', 128, 4), ('mixed', 32, 4), ('mixed', 256, 8)]
    for precision, chunk, streams in variants:
        if time.time() - T0 > a.budget * 0.45: break
        try:
            scorer = BatchedScorer(stats, precision, dev, streams=streams)
            scorer(Wd[:chunk], bd[:chunk])  # warm-up
            sync()
            k = min(a.esms, 512 if precision == 'float64' else a.esms)
            t = time.time()
            scores = []
            for i in range(0, k, chunk): scores += scorer(Wd[i:i + chunk], bd[i:i + chunk])
            sync()
            dt = time.time() - t
            s = np.array(scores[:ref_k])
            rel = float(np.max(np.abs(s - ref) / np.abs(ref)))
            same = bool((np.argsort(-s, kind='stable') == np.argsort(-ref, kind='stable')).all())
            emit(part='gpu_logme', precision=precision, chunk=chunk, streams=streams, esms=k, seconds=dt,
                 ms_per_esm=1000 * dt / k, max_rel_diff=rel, same_ranking_64=same)
        except Exception as e:
            emit(part='gpu_logme', precision=precision, chunk=chunk, streams=streams, error=repr(e)[:300])


def knn_scoring(a):
    "ESM-kNN, the default ranking method, on the chosen device: mapping the target's embeddings, then distances."
    from esm_nb.methods import KNNScorer
    X, y = target()
    dev = torch.device(a.device)
    W, b = maps(min(a.esms, a.knn_esms), device=dev)
    for precision in ('float32', 'float64'):
        try:
            knn = KNNScorer(X, y, False, precision, dev)
            knn(W[:2], b[:2])
            sync()
            t = time.time()
            for i in range(0, len(W), 64): knn(W[i:i + 64], b[i:i + 64])
            sync()
            per = 1000 * (time.time() - t) / len(W)
            emit(part='knn', device=str(dev), precision=precision, esms=len(W), ms_per_esm=per)
        except Exception as e:
            emit(part='knn', precision=precision, error=repr(e)[:300])


def cpu_scaling(a):
    from esm_nb.logme import target_stats
    from esm_nb.methods import CPUScorer, ParallelCPUScorer, usable_cores
    X, y = target()
    stats = target_stats(X, y)
    W, b = maps(a.cpu_esms)
    t = time.time()
    base = CPUScorer(stats)(W, b)
    one_process = (time.time() - t) / len(W)
    emit(part='cpu', workers='in-process (multi-threaded BLAS)', esms=len(W), ms_per_esm=1000 * one_process,
         cores=usable_cores())
    single = None
    for workers in (1, 2, 4, 8, 16):
        if workers > usable_cores() or time.time() - T0 > a.budget * 0.75: break
        t = time.time()
        p = ParallelCPUScorer(stats, workers=workers)
        start = time.time() - t
        try:
            p(W[:workers], b[:workers])  # warm each worker
            t = time.time()
            got = []
            for i in range(0, len(W), 8 * workers): got += p(W[i:i + 8 * workers], b[i:i + 8 * workers])
            per = (time.time() - t) / len(W)
        finally: p.close()
        single = single or per
        emit(part='cpu', workers=workers, esms=len(W), ms_per_esm=1000 * per, start_s=start,
             speedup_vs_1_worker=single / per, efficiency=single / per / workers,
             max_rel_diff_vs_in_process=float(np.max(np.abs(np.array(got) - base) / np.abs(base))))
    # can one ranking process feed all the cores? (bench/bench_feed.py: idle workers, then real ones)
    if time.time() - T0 < a.budget * 0.85:
        workers, esms = usable_cores(), maps(min(4 * a.cpu_esms, 600))
        (feed, _), (scoring, start) = (rate(esms, X, y, workers, idle) for idle in (True, False))
        emit(part='cpu_feed', workers=workers, esms=len(esms[0]), feed_esms_per_s=feed, scoring_esms_per_s=scoring,
             start_s=start)


def embedding(a):
    from transformers import AutoTokenizer, BertConfig, BertModel
    from esm_nb.embed import Embedder, model_path, pool, encode
    import pandas as pd
    tok_dir = a.tokenizer or model_path('sentence-transformers/all-MiniLM-L6-v2')
    tok = AutoTokenizer.from_pretrained(tok_dir)
    texts = []
    for f in sorted(Path(a.texts).glob('*.parquet')):
        texts += [t for t in pd.read_parquet(f).text if isinstance(t, str)]
    texts = (texts * (1 + a.texts_n // max(1, len(texts))))[:a.texts_n]
    lens = [len(ids) for ids in encode(tok, texts, 128)['input_ids']]
    emit(part='embed_texts', n=len(texts), mean_tokens=float(np.mean(lens)),
         share_at_128=float(np.mean(np.array(lens) == 128)))
    torch.manual_seed(0)
    model = BertModel(BertConfig()).eval()  # BERT-base sized: 12 layers, hidden 768
    dev = torch.device(a.device)
    model = model.to(dev)

    def pad_to_128(texts, batch_size=128):
        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                enc = tok(texts[i:i + batch_size], padding='max_length', truncation=True, max_length=128,
                          return_tensors='pt')
                enc = {k: v.to(dev) for k, v in enc.items()}
                out.append(pool(model(**enc), enc['attention_mask'], 'pooler').float().cpu().numpy())
        return np.concatenate(out)

    def previous(texts, batch_size=64):
        "esm_nb's embedder before this change: tokenizer.pad per batch, a synchronising copy per batch."
        enc = encode(tok, texts, 128)
        order = np.argsort([-len(ids) for ids in enc['input_ids']], kind='stable')
        out = np.empty((len(texts), 768), dtype=np.float32)
        with torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                idx = order[i:i + batch_size]
                batch = tok.pad({k: [enc[k][j] for j in idx] for k in enc.keys()}, return_tensors='pt')
                batch = {k: v.to(dev) for k, v in batch.items()}
                out[idx] = pool(model(**batch), batch['attention_mask'], 'pooler').float().cpu().numpy()
        return out

    def timed(name, fn, **kw):
        fn(texts[:512])  # warm-up
        sync()
        t = time.time()
        X = fn(texts)
        sync()
        dt = time.time() - t
        emit(part='embed', path=name, texts_per_s=len(texts) / dt, seconds=dt, **kw)
        return X

    ref = timed('pad to 128, batches of 128', pad_to_128)
    timed('previous esm_nb (tokenizer.pad per batch), batch 64', previous)
    for bs in (64, 256):
        e = Embedder('bench/bert-base-random', model=model, tokenizer=tok, pooling='pooler', batch_size=bs, device=dev,
                     progress=False)
        X = timed(f'Embedder, batch {bs}', e)
        emit(part='embed_check', path=f'Embedder, batch {bs}', max_abs_diff_vs_pad128=float(np.abs(X - ref).max()))
    for dtype in (torch.float16, torch.bfloat16):
        m = BertModel(BertConfig()).eval()
        m.load_state_dict(model.state_dict())
        e = Embedder('bench/bert-base-random', model=m, tokenizer=tok, pooling='pooler', batch_size=256, device=dev,
                     progress=False, dtype=dtype)
        X = timed(f'Embedder, batch 256, {dtype}', e)
        rel = np.abs(X - ref).max(1) / np.linalg.norm(ref, axis=1)
        emit(part='embed_check', path=f'Embedder, batch 256, {dtype}',
             max_abs_diff_vs_float32=float(np.abs(X - ref).max()), max_rel_diff_per_vector=float(rel.max()))


def main():
    global OUT
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default=str(HERE / 'results' / 'results_device.jsonl'))
    p.add_argument('--esms', type=int, default=1500)
    p.add_argument('--cpu-esms', type=int, default=96)
    p.add_argument('--knn-esms', type=int, default=500)
    p.add_argument('--budget', type=float, default=200, help='seconds; later parts are skipped when it runs out')
    p.add_argument('--texts', default='.dev/data', help='folder of Parquet files with a text column')
    p.add_argument('--tokenizer')
    p.add_argument('--parts', nargs='+', default=['gpu', 'knn', 'cpu', 'embed'])
    p.add_argument('--texts-n', type=int, default=20000)
    p.add_argument('--device', default='cuda', help="'cpu' for a quick trial of the GPU parts' code")
    a = p.parse_args()
    OUT = a.out
    name = torch.cuda.get_device_name() if torch.cuda.is_available() else 'no GPU'
    from esm_nb.logme import float32_products_exact
    # whether float32 products stay float32 there: NVIDIA's containers impose TensorFloat-32 on them
    env = {k: os.environ.get(k) for k in ('TORCH_ALLOW_TF32_CUBLAS_OVERRIDE', 'NVIDIA_TF32_OVERRIDE')}
    emit(part='machine', gpu=name, cores=os.cpu_count(), torch=torch.__version__, tf32_env=env,
         float32_products_exact=float32_products_exact(a.device if a.device != 'cuda' or torch.cuda.is_available()
                                                       else 'cpu'))
    for part, fn in (('gpu', gpu_scoring), ('knn', knn_scoring), ('cpu', cpu_scaling), ('embed', embedding)):
        if part not in a.parts: continue
        if part in ('gpu', 'knn', 'embed') and a.device == 'cuda' and not torch.cuda.is_available():
            emit(part=part, skipped='no GPU')
            continue
        try: fn(a)
        except Exception as e: emit(part=part, error=repr(e)[:500])


if __name__ == '__main__':
    main()
