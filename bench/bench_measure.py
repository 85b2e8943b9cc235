"""Wall time of measuring the transfer gain of 3 bundled sources × 2 seeds with MiniLM on this machine, and what that
means on a Colab T4 by arithmetic.

    python bench/bench_measure.py [--examples 500] [--sources 3] [--seeds 0 1]

Target: `--examples` BBC News articles (seed 0; a quarter held out as the test part, stratified). Sources: the top
`--sources` of the bundled zoo's ranking for it (ESM-kNN, the default method). Budgets: `esm_nb.measure`'s defaults
(intermediate: ≤ 2,000 examples, 1 epoch; target: 3 epochs; batch 16, 128 tokens). Base model: the packaged
sentence-transformers/all-MiniLM-L6-v2. A fresh work folder, so every step runs. hf-dataset-selector has no
counterpart (it stops at the ranking), so there is no peer figure.

Prints the wall time, each step's time, training throughput (examples/s and tokens/s), the floating-point work done
(6 × non-embedding parameters × trained tokens, + 2 × for each evaluated token) and the rate this CPU reached; then
the same work on a T4 at an assumed effective fp32 rate, for MiniLM and for BERT-base (the Hub's ESMs' base model).
Writes bench/results/results_measure.json.
"""
import argparse, json, os, tempfile, time, warnings
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / 'results' / 'results_measure.json'
T4_FP32_TFLOPS, T4_UTILISATION = 8.1, 0.35  # NVIDIA's peak fp32 figure; a typical share of it reached by fine-tuning
BERT_BASE_NON_EMBEDDING = 85.0e6  # 12 layers × 7.1M parameters (the embeddings cost no multiply-adds)


def non_embedding_params(model_name: str) -> int:
    from transformers import AutoModel
    from esm_nb.embed import model_path
    m = AutoModel.from_pretrained(model_path(model_name))
    return sum(p.numel() for n, p in m.named_parameters() if 'embeddings' not in n)


def token_counts(ds, model_name: str, max_length: int) -> int:
    from transformers import AutoTokenizer
    from esm_nb.embed import model_path
    tok = AutoTokenizer.from_pretrained(model_path(model_name))
    return int(sum(min(len(ids), max_length) for ids in tok(list(ds.texts), truncation=True)['input_ids']))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--examples', type=int, default=500)
    p.add_argument('--sources', type=int, default=3)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    a = p.parse_args()
    import torch
    from esm_nb.corpora import load_corpus
    from esm_nb.embed import DEFAULT_MODEL
    from esm_nb.measure import INTERMEDIATE_BUDGET, TARGET_BUDGET, measure_transfer, split_target, intermediates
    from esm_nb.rank import compute_task_ranking
    from esm_nb.zoo import bundled_zoo_dir
    warnings.simplefilter('ignore')
    target = load_corpus('bbc_news', 'train', num_examples=a.examples, seed=0)
    ranking = compute_task_ranking(target, esm_dir=bundled_zoo_dir(), progress=False)
    picked = ranking[:a.sources]
    stamps = []
    t0 = time.time()
    with tempfile.TemporaryDirectory() as work:
        gains = measure_transfer(target, picked, work_dir=work, progress=False,
                                 seeds=tuple(a.seeds), on_update=lambda s, g: stamps.append((time.time(), str(s))))
    wall = time.time() - t0
    train, test = split_target(target)
    found, _ = intermediates(picked)
    L = TARGET_BUDGET.max_length
    tokens_inter = sum(token_counts(f.data, DEFAULT_MODEL, L) for f in found) * INTERMEDIATE_BUDGET.epochs
    runs = (len(found) + 1) * len(a.seeds)
    tokens_target = token_counts(train, DEFAULT_MODEL, L) * TARGET_BUDGET.epochs * runs
    tokens_eval = token_counts(test, DEFAULT_MODEL, L) * runs
    examples = sum(len(f.data) for f in found) * INTERMEDIATE_BUDGET.epochs + len(train) * TARGET_BUDGET.epochs * runs
    params = non_embedding_params(DEFAULT_MODEL)
    flops = 6 * params * (tokens_inter + tokens_target) + 2 * params * tokens_eval
    t4 = T4_FP32_TFLOPS * T4_UTILISATION * 1e12
    scale_bert = BERT_BASE_NON_EMBEDDING / params
    steps = [(b - a_, s) for (a_, s), (b, _) in zip(stamps, stamps[1:])]
    out = dict(when=time.strftime('%Y-%m-%d %H:%M'), cpu_cores=os.cpu_count(), torch_threads=torch.get_num_threads(),
               target_examples=a.examples, train=len(train), test=len(test), sources=[f.name for f in found],
               intermediate_examples=[len(f.data) for f in found], seeds=a.seeds, wall_seconds=round(wall, 1),
               trained_examples=examples, trained_tokens=tokens_inter + tokens_target, evaluated_tokens=tokens_eval,
               non_embedding_params=params, flops=flops, cpu_gflops=round(flops / wall / 1e9, 1),
               t4_minilm_seconds=round(flops / t4, 1), t4_bert_base_seconds=round(flops * scale_bert / t4, 1),
               gains=gains.to_pandas().to_dict('records'), baseline=gains.baseline)
    print(f"Measured {len(found)} sources × {len(a.seeds)} seeds (+ baseline) for {a.examples} BBC News articles "
          f"({len(train)} train / {len(test)} test) with MiniLM on {os.cpu_count()} CPU cores: {wall:.0f} s "
          f"({wall / 60:.1f} min)")
    for secs, s in steps: print(f"  {secs:7.1f} s  {s.split(' · ')[1]}")
    print(f"Trained {examples:,} examples ({out['trained_tokens']:,} tokens): {examples / wall:.1f} examples/s, "
          f"{out['trained_tokens'] / wall:,.0f} tokens/s; work {flops / 1e12:.1f} TFLOP → this CPU reached "
          f"{out['cpu_gflops']} GFLOP/s")
    print(f"On a T4 at {T4_UTILISATION:.0%} of its {T4_FP32_TFLOPS} TFLOP/s fp32: "
          f"MiniLM ≈ {out['t4_minilm_seconds']} s, "
          f"BERT-base (×{scale_bert:.1f} the work) ≈ {out['t4_bert_base_seconds']} s, plus model loading")
    print(gains)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1, default=float) + '\n')


if __name__ == '__main__':
    main()
