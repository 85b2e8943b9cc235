"""A generated collection of ESM repos on disk, in the format hf-dataset-selector publishes (config.json,
model.safetensors, README.md model card with `base_model:` and the tags `embedding_space_map`, `BaseLM:<model>`), for
the Hub stand-in (tests/hub_server.py) to serve at the scale of the real Hub: `generate_collection` writes it,
`load_collection` gives the `Repo`s that serve it from disk."""
import json
from pathlib import Path
import numpy as np
from hub_server import Repo, card_data, card_tags

ORGS = ['stanfordnlp', 'SetFit', 'cardiffnlp', 'dair-ai', 'fancyzhx', 'mteb', 'nyu-mll', 'google', 'allenai',
        'financial_phrasebank', 'tweet_eval', 'rotten_tomatoes', 'lex_glue', 'climatebert', 'ought']
TOPICS = ['sentiment', 'emotion', 'news', 'topics', 'spam', 'intent', 'hate', 'irony', 'reviews', 'questions',
          'stance', 'sarcasm', 'toxicity', 'offense', 'claims', 'nli', 'paraphrase', 'genre', 'domain', 'urgency']
LANGUAGES = ['en'] * 6 + ['de', 'fr', 'es', 'zh', 'multilingual', None]


def _task(i: int, rng) -> tuple[str, str | None]:
    "Task id and subset of repo `i`: varied owners and names, unique over the collection."
    org, topic = ORGS[i % len(ORGS)], TOPICS[(i // len(ORGS)) % len(TOPICS)]
    subset = ['default', 'v2', 'balanced'][i % 3] if rng.random() < 0.25 else None
    return f'{org}/{topic}_{i}', subset


def esm_weights(dim: int, rng, pool: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A linear map near identity, float32: I + small noise + a few low-rank directions; a small bias. The noise is
    drawn from `rng`, or (faster: normal draws are most of the time) a window of `pool`, a long array of standard
    normal draws, at a random offset, with rows permuted and signs flipped at random."""
    if pool is None or len(pool) < dim * dim: g = rng.standard_normal((dim, dim), dtype=np.float32)
    else:
        start = int(rng.integers(len(pool) - dim * dim + 1))
        g = pool[start:start + dim * dim].reshape(dim, dim)[rng.permutation(dim)]
        g *= rng.choice(np.array([-1, 1], dtype=np.float32), size=(dim, 1))
    g *= np.float32(rng.uniform(0.02, 0.2) / np.sqrt(dim))
    k = min(4, dim)
    u = rng.standard_normal((dim, k), dtype=np.float32)
    v = rng.standard_normal((dim, k), dtype=np.float32) * np.float32(rng.uniform(0.1, 0.5) / dim)
    w = g + u @ v.T
    w[np.diag_indices(dim)] += 1
    return w, rng.standard_normal(dim, dtype=np.float32) * np.float32(0.01)


def generate_collection(folder, n: int, dim: int = 768, base_model: str = 'bert-base-uncased', seed: int = 0,
                        owner: str = 'esm-collection', via_esm: bool = False) -> Path:
    """Write `n` ESM repos for `base_model` under `folder`/`owner`/ESM_<task>, each as `ESM.save_pretrained` writes it
    (with `via_esm` it is that which writes them; by default the same bytes are written directly, about ten times
    faster). Repo `i` is the same whatever `n`. Returns `folder`."""
    from safetensors.numpy import save_file
    from esm_nb.esm import ESM, ESMConfig, ESM_VERSION, model_card
    folder = Path(folder)
    pool = np.random.default_rng([seed, dim]).standard_normal(dim * dim + 2**16, dtype=np.float32)
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        task, subset = _task(i, rng)
        config = ESMConfig(base_model, task, task_subset=subset, text_column='text', label_column='label',
                           task_split='train', num_examples=int(rng.choice([100, 500, 1000, 2000, 5000, 10000])),
                           seed=int(rng.integers(0, 100)), language=LANGUAGES[int(rng.integers(len(LANGUAGES)))],
                           esm_embedding_dim=dim, developers=owner, version=ESM_VERSION).validate()
        w, b = esm_weights(dim, rng, pool)
        path = folder / owner / config.repo_name
        if via_esm:
            import torch
            with torch.device('meta'): esm = ESM(config)
            esm.load_state_dict({'model.weight': torch.from_numpy(w), 'model.bias': torch.from_numpy(b)}, assign=True)
            esm.save_pretrained(path)
            continue
        path.mkdir(parents=True, exist_ok=True)
        (path / 'config.json').write_text(json.dumps(config.to_dict(), indent=2) + '\n')
        save_file({'model.weight': w, 'model.bias': b}, str(path / 'model.safetensors'))
        (path / 'README.md').write_text(model_card(config))
    return folder


def load_collection(folder, aliases: dict | None = None) -> dict[str, Repo]:
    """The repos under `folder` (laid out `<owner>/<name>/<files>`, as `generate_collection` writes them) as
    `Repo`s whose files are Paths, read only when served; tags and card data from each README.md as the Hub derives
    them (`aliases` resolves the card's base_model, e.g. {'bert-base-uncased': 'google-bert/bert-base-uncased'})."""
    repos = {}
    for d in sorted(p for p in Path(folder).glob('*/*') if p.is_dir()):
        files = {f.relative_to(d).as_posix(): f for f in sorted(d.rglob('*')) if f.is_file()}
        card = files['README.md'].read_text() if 'README.md' in files else ''
        repos[f'{d.parent.name}/{d.name}'] = Repo(files, card_tags(card, aliases), card_data(card))
    return repos
