"""Runs inside the peer's environment (hf-dataset-selector 0.2.1); prints one JSON line.

score: hfselect's own transform-then-LogME loop (esm_logme.compute_scores after its embedding step): every ESM
       maps the base embeddings in batches of 128, all mapped matrices are kept, then LogME(...).fit per ESM.
embed: hfselect's embedding step: its tokenization (padding='max_length', max_length=128) and get_pooled_output.
"""
import json, sys, time
from pathlib import Path
import numpy as np, torch


def score(esm_dir, x_path, y_path, regression):
    from hfselect import ESM
    from hfselect.logme import LogME
    X, y = torch.tensor(np.load(x_path)), np.load(y_path)
    dirs = sorted(p for p in Path(esm_dir).iterdir() if p.is_dir())
    t0 = time.perf_counter()
    esms = [ESM.from_pretrained(str(p)) for p in dirs]
    t1 = time.perf_counter()
    mapped = [[] for _ in esms]
    with torch.no_grad():
        for start in range(0, len(X), 128):
            batch = X[start:start + 128]
            for i, esm in enumerate(esms): mapped[i].append(esm(batch).cpu().numpy())
    scores = [float(LogME(regression=regression).fit(np.vstack(m), y, add_intercept=False)) for m in mapped]
    t2 = time.perf_counter()
    return dict(names=[p.name for p in dirs], scores=scores, load_s=t1 - t0, score_s=t2 - t1)


def embed(model_dir, texts_path, batch_size=128):
    from transformers import AutoModel, AutoTokenizer
    from hfselect.model_utils import get_pooled_output
    texts = json.loads(Path(texts_path).read_text())
    tok, model = AutoTokenizer.from_pretrained(model_dir), AutoModel.from_pretrained(model_dir).eval()
    out = []
    t0 = time.perf_counter()
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            enc = tok(texts[start:start + batch_size], padding='max_length', truncation=True, max_length=128,
                      return_tensors='pt')
            out.append(get_pooled_output(model, enc['input_ids'], enc['attention_mask']).numpy())
    t1 = time.perf_counter()
    np.save(Path(texts_path).with_suffix('.peer.npy'), np.vstack(out))
    return dict(embed_s=t1 - t0, n=len(texts))


if __name__ == '__main__':
    cmd, *args = sys.argv[1:]
    res = score(args[0], args[1], args[2], args[3] == 'regression') if cmd == 'score' else embed(*args)
    res['peak_rss_mb'] = next(int(line.split()[1]) / 1024 for line in open('/proc/self/status')
                              if line.startswith('VmHWM:'))
    print(json.dumps(res))
