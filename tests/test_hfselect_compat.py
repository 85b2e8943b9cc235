"""hf-dataset-selector's own example code runs on `esm_nb.hfselect` with only its import line changed.

The README's quickstart and tutorials 1-4 run as written (tutorial 4's optuna and scikit-learn, which esm_nb does not
need, are replaced by minimal stand-ins; its hf-dataset-selector calls are unchanged) against the local Hub stand-in
(tests/hub_server.py): tiny BERTs under the models' Hub names, published-style ESM repos, and the datasets as Parquet
files. Each ranking must equal the one esm_nb's native API gives on the same inputs. huggingface_hub, transformers and
datasets are not mocked: their endpoint, cache and offline constants are patched as well as the environment, and the
offline flags of the test command are undone for this module only."""
import json, logging, subprocess
from pathlib import Path
from types import SimpleNamespace
import numpy as np, pandas as pd, pytest, torch
from safetensors.torch import save
from esm_nb import esm as native_esm, hub as native_hub, rank as native_rank
from esm_nb.data import TaskDataset
from esm_nb.embed import Embedder, make_tiny_bert
from hub_server import HubServer, Repo

ROOT = Path(__file__).resolve().parent.parent
MBERT, BERT = 'google-bert/bert-base-multilingual-uncased', 'google-bert/bert-base-uncased'
SPAM_BERT, SPAM_DATA = 'prithivMLmods/Spam-Bert-Uncased', 'prithivMLmods/Spam-Text-Detect-Analysis'
PUBLISHED = 'davidschulte/ESM__prithivMLmods_Spam-Text-Detect-Analysis'

# hf-dataset-selector 0.2.1's README quickstart, only the import line changed
README = '''\
from esm_nb.hfselect import Dataset, compute_task_ranking

# Load target dataset from the Hugging Face Hub
dataset = Dataset.from_hugging_face(
    name="stanfordnlp/imdb",
    split="train",
    text_col="text",
    label_col="label",
    is_regression=False,
    num_examples=1000,
    seed=42
)

# Fetch ESMs and rank tasks
task_ranking = compute_task_ranking(
    dataset=dataset,
    model_name="bert-base-multilingual-uncased"
)

# Display top 5 recommendations
print(task_ranking[:5])
'''

# the code cells of hf-dataset-selector's tutorials/01_find_datasets.ipynb, only the import line changed
TUTORIAL_1 = '''\
from esm_nb.hfselect import Dataset, compute_task_ranking
MODEL_NAME = "bert-base-multilingual-uncased"

dataset = Dataset.from_hugging_face(
    name="imdb",
    split="train",
    text_col="text",
    label_col="label",
    is_regression=False,
    num_examples=1000,
    seed=42
)
task_ranking = compute_task_ranking(dataset, model_name=MODEL_NAME)
print(len(task_ranking))
print(f"The task ranking consists of {len(task_ranking)} intermediate datasets.\\n")
print(task_ranking)
df = task_ranking.to_pandas()
df.head(10)
'''

# tutorials/02_filter_esms.ipynb, only the import lines changed
TUTORIAL_2 = '''\
from esm_nb.hfselect import find_esm_repo_ids, fetch_esm_configs, Dataset
repo_ids = find_esm_repo_ids("bert-base-multilingual-uncased")
print(f"Found {len(repo_ids)} ESM repo IDs.")
esm_configs = fetch_esm_configs(repo_ids)
filtered_repo_ids = []
for repo_id, esm_config in zip(repo_ids, esm_configs):
    if esm_config.num_examples >= 500 and "review" in esm_config.task_id:
        filtered_repo_ids.append(repo_id)

print(f"Found {len(filtered_repo_ids)} ESMs that satisfy the conditions.\\n")
print("\\n".join(filtered_repo_ids))
from esm_nb.hfselect import fetch_esms
esms = fetch_esms(filtered_repo_ids)
esms[0].config
from esm_nb.hfselect import Dataset, compute_task_ranking

MODEL_NAME = "bert-base-multilingual-uncased"

dataset = Dataset.from_hugging_face(
    name="imdb",
    split="train",
    text_col="text",
    label_col="label",
    is_regression=False,
    num_examples=1000,
    seed=42
)
task_ranking = compute_task_ranking(dataset, model_name=MODEL_NAME, esm_repo_ids=filtered_repo_ids)
task_ranking.to_pandas()
'''

# tutorials/03_train_esm.ipynb, only the import line changed
TUTORIAL_3 = '''\
from esm_nb.hfselect import ESMTrainer, Dataset
from transformers import BertModel, BertTokenizer
base_model = BertModel.from_pretrained("google-bert/bert-base-uncased")
tuned_model = BertModel.from_pretrained("prithivMLmods/Spam-Bert-Uncased")

tokenizer = BertTokenizer.from_pretrained("google-bert/bert-base-uncased")
dataset = Dataset.from_hugging_face(
    name="prithivMLmods/Spam-Text-Detect-Analysis",
    split="train",
    text_col="Message",
    label_col="Category",
    is_regression=False,
    num_examples=1000
)
device_name = "cpu" #Change this to cuda if you want to use a GPU

trainer = ESMTrainer(device_name=device_name)

esm = trainer.train_with_models(dataset=dataset, base_model=base_model, tuned_model=tuned_model, tokenizer=tokenizer)
esm
esm.config
tokenized_input = tokenizer(
    dataset[0]["Message"],
    padding='max_length',
    truncation=True,
    max_length=128,
    return_tensors='pt',
    return_token_type_ids=False
)

base_embedding = base_model(**tokenized_input)[1]
transformed_embedding = esm(base_embedding)

print(transformed_embedding.shape)
esm.save_pretrained("esm_spam_text_detect_analysis")
esm.publish("davidschulte/ESM__prithivMLmods_Spam-Text-Detect-Analysis")
'''

# tutorials/04_advanced_esm_training.ipynb: its cells in order, only the hfselect import changed; `!pip install optuna
# scikit-learn`, their imports and the optuna study cells are left out (stand-ins below); the commented-out
# `EmbeddingDataset.from_disk` line runs
TUTORIAL_4 = '''\
from esm_nb.hfselect import Dataset, create_embedding_dataset, ESMTrainer, EmbeddingDataset
from transformers import BertModel, BertTokenizer
import torch
from torch.utils.data import SequentialSampler, DataLoader
device_name = "cpu"

base_model = BertModel.from_pretrained("google-bert/bert-base-uncased")
tuned_model = BertModel.from_pretrained("prithivMLmods/Spam-Bert-Uncased")

tokenizer = BertTokenizer.from_pretrained("google-bert/bert-base-uncased")
dataset = Dataset.from_hugging_face(
    name="prithivMLmods/Spam-Text-Detect-Analysis",
    split="train",
    text_col="Message",
    label_col="Category",
    is_regression=False,
    num_examples=1000
)
embedding_dataset = create_embedding_dataset(
    dataset=dataset,
    base_model=base_model,
    tuned_model=tuned_model,
    tokenizer=tokenizer,
    device_name=device_name
)
embedding_dataset.save("./embedding_dataset_test.npz")
embedding_dataset = EmbeddingDataset.from_disk("./embedding_dataset_test.npz")
def objective(trial, k_folds=5):
    num_epochs = trial.suggest_int("num_epochs", 3, 20)
    learning_rate = trial.suggest_float('learning_rate', 1e-5, 1, log=True)
    weight_decay = trial.suggest_float('weight_decay', 1e-5, 1, log=True)
    batch_size = trial.suggest_int('batch_size', 8, 32)

    trainer = ESMTrainer(weight_decay=weight_decay, learning_rate=learning_rate, device_name=device_name)

    kfold = KFold(n_splits=k_folds, shuffle=True)
    fold_results = []

    # Start print
    print('--------------------------------')

    # K-fold Cross Validation model evaluation
    for fold, (train_ids, test_ids) in enumerate(kfold.split(dataset)):
        train_split = embedding_dataset[train_ids]
        test_split = embedding_dataset[test_ids]
        test_split_x, test_split_y = test_split.x, test_split

        esm = trainer.train_with_embeddings(
            embedding_dataset=train_split,
            num_epochs=num_epochs,
            batch_size=batch_size,
            verbose=0
        )

        sampler = SequentialSampler(test_split)
        test_loader = DataLoader(
            test_split,
            sampler=sampler,
            batch_size=128
        )

        fold_mse = 0
        for batch in test_loader:
            batch_base_embeddings, batch_transformed_embeddings = batch
            with torch.no_grad():
                transformed_embeddings = esm(batch_base_embeddings).detach().numpy()
            batch_mse = mean_squared_error(transformed_embeddings, batch_transformed_embeddings)
            fold_mse += batch_mse * len(batch) / len(test_loader)

        fold_results.append(fold_mse)

    return sum(fold_results) / len(fold_results)

fold_mse = objective(trial)
trainer = ESMTrainer(
    weight_decay=study.best_params["weight_decay"],
    learning_rate=study.best_params["learning_rate"],
    device_name=device_name
)

esm = trainer.train_with_embeddings(
    embedding_dataset=embedding_dataset,
    num_epochs=study.best_params["num_epochs"],
    batch_size=study.best_params["batch_size"]
)

esm
esm.config
'''


class KFold:
    "Stand-in for sklearn's KFold: shuffled folds of `range(len(X))`."
    def __init__(self, n_splits=5, shuffle=False, random_state=0):
        self.n, self.rng = n_splits, np.random.default_rng(random_state)
    def split(self, X):
        idx = self.rng.permutation(len(X))
        for test in np.array_split(idx, self.n): yield np.setdiff1d(idx, test), test


class FixedTrial:
    "Stand-in for an optuna trial that suggests fixed values."
    def __init__(self, params): self.params = params
    def suggest_int(self, name, *a, **k): return self.params[name]
    def suggest_float(self, name, *a, **k): return self.params[name]


BEST = {'num_epochs': 5, 'learning_rate': 0.01, 'weight_decay': 0.01, 'batch_size': 16}
def mean_squared_error(a, b): return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))
TUTORIAL_4_STAND_INS = dict(KFold=KFold, mean_squared_error=mean_squared_error, trial=FixedTrial(BEST),
                            study=SimpleNamespace(best_params=BEST))


def esm_repo(task: str, seed: int, n: int, weight=None) -> Repo:
    "An mBERT ESM repo as hf-dataset-selector publishes them: config, weights, a card; tagged for discovery."
    g = torch.Generator().manual_seed(seed)
    w = torch.eye(32) + 0.3 * torch.randn(32, 32, generator=g) if weight is None else weight
    config = native_esm.ESMConfig(MBERT, task, task_split='train', num_examples=n, text_column='text',
                                  label_column='label', language='en', esm_embedding_dim=32)
    files = {'config.json': json.dumps(config.to_dict()).encode(),
             'model.safetensors': save({'model.weight': w, 'model.bias': 0.1 * torch.randn(32, generator=g)}),
             'README.md': b'---\nlicense: apache-2.0\n---\nESM'}
    return Repo(files, ['embedding_space_map', f'base_model:{MBERT}'], {'language': ['en'], 'datasets': [task]})


ESM_TASKS = [('stanfordnlp/imdb', 25000), ('fancyzhx/amazon_polarity', 10000), ('Yelp/yelp_review_full', 10000),
             ('SetFit/amazon_reviews_multi_en', 5000), ('SetFit/amazon_reviews_multi_de', 300),
             ('fancyzhx/ag_news', 10000), ('nyu-mll/glue_sst2', 10000)]


def model_files(path: str) -> dict:
    return {p.name: p.read_bytes() for p in Path(path).iterdir() if p.is_file()}


def parquet(df: pd.DataFrame, tmp: Path, name: str) -> bytes:
    df.to_parquet(tmp/name, index=False)
    return (tmp/name).read_bytes()


@pytest.fixture(scope='module')
def hub(tmp_path_factory):
    "The Hub as hf-dataset-selector's README and tutorials meet it, on 127.0.0.1."
    from esm_nb.corpora import read_vader
    tmp = tmp_path_factory.mktemp('hub')
    repos = {MBERT: Repo(model_files(make_tiny_bert(tmp/'mbert')), []),
             BERT: Repo(model_files(make_tiny_bert(tmp/'bert')), []),
             SPAM_BERT: Repo(model_files(make_tiny_bert(tmp/'spam-bert', seed=1)), [])}
    for i, (task, n) in enumerate(ESM_TASKS): repos[f'esm-hub/ESM_{task.replace("/", "__")}'] = esm_repo(task, i, n)
    repos['esm-hub/ESM_broken_reviews'] = esm_repo('org/broken_reviews', 99, 1000,
                                                   weight=torch.full((32, 32), float('nan')))
    srv = HubServer(repos, aliases={'bert-base-multilingual-uncased': MBERT, 'bert-base-uncased': BERT,
                                    'imdb': 'stanfordnlp/imdb'})
    reviews = read_vader('movie_reviews')  # real labelled movie-review snippets (rating > 0: positive)
    imdb = pd.DataFrame({'text': reviews.text, 'label': (reviews.rating > 0).astype(int)})
    srv.add_dataset('stanfordnlp/imdb', {'plain_text/train-00000-of-00001.parquet': parquet(imdb, tmp, 'imdb.parquet')})
    spam = pd.DataFrame({'Category': ['spam' if i % 4 == 0 else 'ham' for i in range(120)],
                         'Message': [f'win money now, call {i}' if i % 4 == 0
                                     else f'see you at the game {i}, the team is good' for i in range(120)]})
    srv.add_dataset(SPAM_DATA, {'data/train-00000-of-00001.parquet': parquet(spam, tmp, 'spam.parquet')})
    hub_cache, ds_cache = tmp/'hf-hub', tmp/'hf-datasets'
    mp = pytest.MonkeyPatch()
    srv.point_clients(mp, hub_cache, ds_cache)
    mp.setenv('HF_TOKEN', 'hf_stand_in_token')
    yield srv
    mp.undo()
    srv.close()


def run(code: str, **names) -> dict:
    "Run example code as a script does; return its variables."
    ns = {'__name__': '__main__', **names}
    exec(compile(code, '<hfselect example>', 'exec'), ns)
    return ns


def native_ranking(name: str, esms=None):
    """The ranking of esm_nb's native API for the README's target (1000 examples, seed 42) of dataset `name`, indexed
    by rank."""
    target = TaskDataset.from_hugging_face(name, None, 'train', 'text', 'label', is_regression=False, num_examples=1000,
                                           seed=42)
    r = native_rank.compute_task_ranking(target, 'bert-base-multilingual-uncased', esms=esms, method='esm_logme',
                                         batch_size=128, device='cpu', progress=False)  # hfselect scores by ESM-LogME
    return target, r


def assert_same_ranking(ours, native):
    pd.testing.assert_frame_equal(ours.to_pandas(), native.to_pandas().set_index('Rank'), check_exact=False, rtol=1e-12)


SIGNATURES = ['Dataset.__init__', 'Dataset.from_hugging_face', 'compute_task_ranking', 'compute_scores',
              'find_esm_repo_ids', 'find_esm_model_infos', 'fetch_esms', 'fetch_esm_configs', 'get_esm_coverage',
              'ESMConfig.__init__', 'ESM.__init__', 'ESM.publish', 'ESM.save_pretrained', 'EmbeddingDataset.__init__',
              'EmbeddingDataset.save', 'EmbeddingDataset.from_disk', 'create_embedding_dataset', 'ESMTrainer.__init__',
              'ESMTrainer.train_with_embeddings', 'ESMTrainer.train_with_models']
DUMP = """
import inspect, json, sys, importlib
m = importlib.import_module(sys.argv[1])
def params(path):
    obj = m
    for part in path.split('.'): obj = getattr(obj, part)
    return [(p.name, p.kind.name, 'REQUIRED' if p.default is p.empty else repr(p.default))
            for p in inspect.signature(obj).parameters.values() if p.name not in ('self', 'cls')]
print(json.dumps({path: params(path) for path in sys.argv[2:]}))
"""


def peer_python() -> Path:
    "hf-dataset-selector 0.2.1 in its own environment, built by bench/setup_peer.sh (once; it prints the Python)."
    out = subprocess.run(['bash', str(ROOT/'bench'/'setup_peer.sh')], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    return Path(out.stdout.strip().splitlines()[-1])


def test_readme_is_hfselects_own():
    "The README text above is hf-dataset-selector 0.2.1's, where its package is installed (bench/setup_peer.sh)."
    site = peer_python().parent.parent
    meta = next(site.glob('lib/python*/site-packages/hf_dataset_selector-0.2.1.dist-info/METADATA'))
    text = meta.read_text()
    section = text.split('### How to find suitable datasets for your problem')[1]
    quickstart = section.split('```python\n')[1].split('```')[0]
    assert quickstart.replace('from hfselect import', 'from esm_nb.hfselect import', 1) == README


def test_signatures_are_hfselects(tmp_path):
    "Every public callable takes hfselect's parameters, in its order, with its defaults (extra ones only keyword-only)."
    import sys
    def dump(py, module):  # run in tmp_path: hfselect logs to ./hfselect_logs.log
        return json.loads(subprocess.run([str(py), '-c', DUMP, module, *SIGNATURES], cwd=tmp_path, check=True,
                                         capture_output=True, text=True).stdout)
    theirs, ours = dump(peer_python(), 'hfselect'), dump(sys.executable, 'esm_nb.hfselect')
    for path in SIGNATURES:
        mine = [p for p in ours[path] if not (p[1] == 'KEYWORD_ONLY' and p[0] not in {q[0] for q in theirs[path]})]
        if path == 'ESMConfig.__init__':  # the format version esm_nb writes, not hfselect's package version
            mine = [p for p in mine if p[0] != 'version']
            theirs[path] = [p for p in theirs[path] if p[0] != 'version']
        assert mine == theirs[path], path


def test_readme_example(hub, capsys):
    ns = run(README)
    printed = capsys.readouterr().out.splitlines()
    target, native = native_ranking('stanfordnlp/imdb')
    assert ns['dataset'].texts == target.texts and (ns['dataset'].labels == target.labels).all()
    assert_same_ranking(ns['task_ranking'], native)
    ranking = ns['task_ranking']
    # every ESM is ranked but the broken one and, as esm_nb does unless told otherwise, the target's own
    assert len(ranking) == len(ESM_TASKS) - 1 and 'stanfordnlp/imdb' not in set(ranking.to_pandas()['Task ID'])
    assert ranking.skipped['ESM'].tolist() == ['esm-hub/ESM_broken_reviews', 'esm-hub/ESM_stanfordnlp__imdb']
    assert 'NaN or Inf' in ranking.skipped['Reason'][0] and 'keep_target_copies=True' in ranking.skipped['Reason'][1]
    assert len(printed) == 6 and printed[1].startswith('  1. ') and 'Score: ' in printed[5]   # a header and the top 5
    assert printed[1].split()[1] == ranking.to_pandas()['Task ID'].iloc[0]


def test_readme_example_keeping_the_target_copy(hub):
    ns = run(README.replace('model_name="bert-base-multilingual-uncased"',
                            'model_name="bert-base-multilingual-uncased", keep_target_copies=True'))
    target, _ = native_ranking('stanfordnlp/imdb')
    native = native_rank.compute_task_ranking(target, 'bert-base-multilingual-uncased', method='esm_logme',
                                              batch_size=128, device='cpu', progress=False, keep_target_copies=True)
    assert_same_ranking(ns['task_ranking'], native)
    assert len(ns['task_ranking']) == len(ESM_TASKS)
    assert 'stanfordnlp/imdb' in set(ns['task_ranking'].to_pandas()['Task ID'])


def test_tutorial_1_find_datasets(hub, capsys):
    ns = run(TUTORIAL_1)
    out = capsys.readouterr().out
    assert f'The task ranking consists of {len(ESM_TASKS) - 1} intermediate datasets.' in out and '...' not in out
    target, native = native_ranking('stanfordnlp/imdb')  # the Hub's id for the tutorial's 'imdb'
    assert ns['dataset'].task_id == 'stanfordnlp/imdb' and ns['dataset'].texts == target.texts
    assert_same_ranking(ns['task_ranking'], native)
    assert ns['df'].index.name == 'Rank' and list(ns['df'].columns) == native_rank.COLUMNS[1:]


def test_tutorial_2_filter_esms(hub, capsys, caplog):
    with caplog.at_level(logging.WARNING, logger='esm_nb.hfselect'): ns = run(TUTORIAL_2)
    expected = sorted(f'esm-hub/ESM_{t.replace("/", "__")}' for t, n in ESM_TASKS if n >= 500 and 'review' in t)
    assert sorted(ns['filtered_repo_ids']) == sorted(expected + ['esm-hub/ESM_broken_reviews'])
    assert sorted(e.config.task_id for e in ns['esms']) == sorted(t for t, n in ESM_TASKS if n >= 500 and 'review' in t)
    # the broken repo, logged and left out
    assert 'Fetching ESMs failed for 1 of' in caplog.text and 'NaN or Inf' in caplog.text
    esms, failed = native_hub.fetch_esms(ns['filtered_repo_ids'], progress=False)
    _, native = native_ranking('stanfordnlp/imdb', esms=esms)
    ranking = ns['task_ranking']
    assert_same_ranking(ranking, native)
    assert ranking.skipped['ESM'].tolist() == [r for r, _ in failed] == ['esm-hub/ESM_broken_reviews']


def test_tutorial_3_train_and_publish_esm(hub, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ns = run(TUTORIAL_3)
    assert capsys.readouterr().out.strip().endswith('torch.Size([1, 32])')
    esm, dataset = ns['esm'], ns['dataset']
    assert dataset.classes == ['ham', 'spam'] and len(dataset) == 120
    c = esm.config
    assert ((c.base_model_name, c.task_id, c.text_column, c.label_column, c.task_split)
            == (BERT, SPAM_DATA, 'Message', 'Category', 'train'))
    assert (c.esm_num_epochs, c.esm_batch_size, c.esm_learning_rate, c.esm_weight_decay) == (10, 32, 0.01, 0.01)
    # esm_nb's own API on the same inputs fits the same map
    X = Embedder(BERT, model=ns['base_model'], tokenizer=ns['tokenizer'], batch_size=128, device='cpu',
                 progress=False)(dataset.texts)
    Y = Embedder(BERT, model=ns['tuned_model'], tokenizer=ns['tokenizer'], pooling='pooler', batch_size=128,
                 device='cpu', progress=False)(dataset.texts)
    config = native_esm.ESMConfig(BERT, SPAM_DATA, esm_num_epochs=10, esm_batch_size=32, esm_learning_rate=0.01,
                                  esm_weight_decay=0.01)
    native = native_esm.fit_esm(X, Y, config, 'adamw', progress=False)
    assert torch.equal(esm.linear_weights()[0], native.linear_weights()[0])
    # saved, and published in the format (and with the tags) that discovery finds
    saved = native_esm.ESM.from_pretrained(tmp_path/'esm_spam_text_detect_analysis')
    assert torch.equal(saved.linear_weights()[0], native.linear_weights()[0])
    repo = hub.repos[PUBLISHED]
    assert {'config.json', 'model.safetensors', 'README.md'} <= set(repo.files) and 'embedding_space_map' in repo.tags
    from esm_nb.hfselect import find_esm_repo_ids, fetch_esms
    assert find_esm_repo_ids('bert-base-uncased') == [PUBLISHED]
    assert torch.equal(fetch_esms([PUBLISHED])[0].linear_weights()[0], native.linear_weights()[0])


def test_tutorial_4_advanced_esm_training(hub, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ns = run(TUTORIAL_4, **TUTORIAL_4_STAND_INS)
    pairs = ns['embedding_dataset']
    assert (len(pairs), pairs.embedding_dim, pairs.metadata['task_id']) == (120, 32, SPAM_DATA)
    assert capsys.readouterr().out.splitlines() == ['-' * 32] and 0 < ns['fold_mse'] < np.mean((pairs.x - pairs.y) ** 2)
    c = ns['esm'].config
    assert (c.esm_num_epochs, c.esm_batch_size, c.esm_learning_rate, c.base_model_name) == (5, 16, 0.01, BERT)
    config = native_esm.ESMConfig(BERT, SPAM_DATA, esm_num_epochs=5, esm_batch_size=16, esm_learning_rate=0.01,
                                  esm_weight_decay=0.01)
    native = native_esm.fit_esm(pairs.x, pairs.y, config, 'adamw', progress=False)
    assert torch.equal(ns['esm'].linear_weights()[0], native.linear_weights()[0])


def test_hub_options_esm_nb_cannot_honour_raise(hub):
    from esm_nb.hfselect import Dataset, compute_task_ranking, find_esm_repo_ids, get_esm_coverage, NoESMsFoundError
    assert get_esm_coverage()[MBERT] == len(ESM_TASKS) + 1
    with pytest.raises(NotImplementedError, match='Pass model_name'): find_esm_repo_ids()
    with pytest.raises(NotImplementedError, match='tag filters'):
        find_esm_repo_ids('bert-base-multilingual-uncased', filters=['language:en'])
    with pytest.raises(NotImplementedError, match='Leave streaming out'):
        Dataset.from_hugging_face('imdb', 'train', 'text', 'label', False, streaming=True)
    target = Dataset.from_hugging_face('imdb', 'train', 'text', 'label', False, num_examples=50, seed=0)
    with pytest.raises(NoESMsFoundError, match='repository not found'):
        compute_task_ranking(target, 'bert-base-multilingual-uncased', esm_repo_ids=['esm-hub/ESM_nothing_here'])
