"""The benchmarks' shared inputs: targets (embeddings and labels) and ESMs' linear maps, made in one place so that the
figures of different scripts are measured on the same things.

A module, not a script: the scripts in bench/ import it as a sibling (`from synthetic import target, maps`; Python
puts a script's own folder on its path), and it imports no bench script.

In memory, seeded (bench/device_check.py, bench_feed.py, bench_precision.py --case device, profile_cpu_scorer.py):
- `target`: n=1,000 Gaussian embeddings (d=768) with 8 balanced random classes and class-dependent means;
- `maps`: k random near-identity maps W = I + s·N(0, 1/d), s ~ U(0.05, 2), b ~ 0.1·N(0, 1), as torch tensors.

Cached under bench/.cache (bench/bench_scoring.py, bench_precision.py --case scoring):
- `scoring_target`: n Reuters-R8 test labels with the packaged MiniLM's embeddings of the texts (d=384) or Gaussian
  embeddings with class-dependent means (any other d);
- `scoring_zoo`, `zoo_subset`: ESMs with maps of the same law (drawn with numpy, `near_identity_map`) in the
  published folder format, and the first k of them as a folder of links and as one esm_nb bank file.
"""
from pathlib import Path
import numpy as np

CACHE = Path(__file__).resolve().parent / '.cache'


def class_embeddings(y, classes, d, rng) -> np.ndarray:
    "Embeddings of labels `y`: N(0, 1) noise plus a class mean drawn from 0.5·N(0, 1), float32."
    return (rng.normal(size=(len(y), d)) + 0.5 * rng.normal(size=(classes, d))[y]).astype(np.float32)


def target(n=1000, d=768, classes=8, seed=0):
    "`(X, y)`: n embeddings of dimension d with balanced random labels of `classes` classes."
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    return class_embeddings(y, classes, d, rng), y


def maps(k, d=768, seed=1, device='cpu'):
    "k random near-identity maps W = I + s·N(0, 1/d), s ~ U(0.05, 2), b ~ 0.1·N(0, 1), as `(W, b)` tensors."
    import torch
    g = torch.Generator(device='cpu').manual_seed(seed)
    s = torch.rand(k, 1, 1, generator=g) * 1.95 + 0.05
    W = torch.eye(d) + s * torch.randn(k, d, d, generator=g) / d ** 0.5
    return W.to(device), (0.1 * torch.randn(k, d, generator=g)).to(device)


def near_identity_map(rng, d):
    "One map of the law of `maps`, drawn from the numpy generator `rng`: `(W, b)` in float64."
    W = np.eye(d) + rng.uniform(0.05, 2) * rng.normal(size=(d, d)) / np.sqrt(d)
    return W, 0.1 * rng.normal(size=d)


def scoring_target(d, n):
    "Paths of the cached `X` (n×d) and `y` of n Reuters-R8 test texts: MiniLM's embeddings for d=384, else Gaussian."
    x_path, y_path = CACHE / f'X_{d}_{n}.npy', CACHE / f'y_{n}.npy'
    if not x_path.exists():
        from esm_nb.corpora import load_corpus
        CACHE.mkdir(parents=True, exist_ok=True)
        ds = load_corpus('reuters_r8', 'test', num_examples=n, seed=0)
        np.save(y_path, ds.labels)
        if d == 384:
            from esm_nb.embed import Embedder
            X = Embedder(progress=False)(ds.texts)
        else:
            X = class_embeddings(ds.labels, ds.num_classes, d, np.random.default_rng(d))
        np.save(x_path, X)
    return x_path, y_path


def scoring_zoo(d, k_max):
    "Folders esm_0000… (published format) of k_max ESMs of dimension d, under the returned root's 'all' folder."
    import torch
    from esm_nb.esm import ESM, ESMConfig
    root = CACHE / f'zoo2_{d}'
    rng = np.random.default_rng(1000 + d)
    for i in range(k_max):
        p = root / 'all' / f'esm_{i:04d}'
        if (p / 'model.safetensors').exists(): continue
        e = ESM(ESMConfig('bench/random-base', f'esm_{i:04d}', esm_embedding_dim=d, task_split='train',
                          num_examples=1000))
        # spread the strength of the maps so that scores differ by more than float noise
        W, b = near_identity_map(rng, d)
        with torch.no_grad():
            e.model.weight.copy_(torch.tensor(W))
            e.model.bias.copy_(torch.tensor(b))
        e.save_pretrained(p)
    return root


def zoo_subset(root, k):
    "`(folder, bank)`: a folder of links to the first k ESMs of `scoring_zoo`'s `root`, and a bank of them."
    from esm_nb.esm import ESM
    from esm_nb.bank import save_bank
    folder, bank = root / f'k{k}', root / f'bank{k}'
    if not folder.exists():
        folder.mkdir()
        for i in range(k): (folder / f'esm_{i:04d}').symlink_to(root / 'all' / f'esm_{i:04d}')
    if not (bank / 'bank.json').exists():
        save_bank([ESM.from_pretrained(folder / f'esm_{i:04d}') for i in range(k)], bank)
    return folder, bank
