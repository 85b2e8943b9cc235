"""hf-dataset-selector's own example code and tests run on `esm_nb.hfselect` with only the import prefix changed.

The README's quickstart, tutorials 1-4 and hf-dataset-selector's own test files (tests/*.py of its 0.2.1 sdist) run as
written, `hfselect` replaced by `esm_nb.hfselect` in the imports, submodule imports included (tutorial 4's optuna and
scikit-learn, which esm_nb does not need, are replaced by minimal stand-ins; its hf-dataset-selector calls are
unchanged). They run against the local Hub stand-in (tests/hub_server.py): tiny BERTs under the models' Hub names,
published-style ESM repos, and the datasets as Parquet files. Each ranking must have hf-dataset-selector's rows (ESMs of
the target dataset itself included) and equal the one esm_nb's native API gives on the same inputs. Every module of the
package must hold the public names hf-dataset-selector's module of that path has, and every public callable its
parameters. huggingface_hub, transformers and datasets are not mocked: their endpoint, cache and offline constants are
patched as well as the environment, and the offline flags of the test command are undone for this module only."""
import importlib, inspect, json, logging, os, subprocess, warnings
from pathlib import Path
from types import SimpleNamespace
import numpy as np, pandas as pd, pytest, torch
from safetensors.torch import save
from esm_nb import esm as native_esm, hub as native_hub, rank as native_rank
from esm_nb.esm import ESMError
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

PEER_SDIST = ('hf-dataset-selector', 'hf_dataset_selector-0.2.1.tar.gz',
              '3424fb7a0c4ed424eeec7264288bda94fa5a2c4dd6ade2b1e8bbbe54faa147fe')


def peer_test_files() -> dict[str, str]:
    """hf-dataset-selector 0.2.1's own test files (tests/*.py of its sdist, from PyPI once, checked), with only the
    import prefix changed. Its sdist does not ship the conftest.py that provides their fixtures; the fixtures of the
    same names below give them the Hub stand-in's models and the README's IMDB sample."""
    import re, tarfile
    from esm_nb.corpora import fetch_sdist
    with tarfile.open(fetch_sdist(*PEER_SDIST)) as tar:
        files = {Path(m.name).name: tar.extractfile(m).read().decode() for m in tar.getmembers()
                 if re.fullmatch(r'[^/]+/tests/test_\w+\.py', m.name)}
    return {name: re.sub(r'^(from|import) hfselect\b', r'\1 esm_nb.hfselect', text, flags=re.M)
            for name, text in files.items()}


@pytest.fixture(scope='module')
def peer_tests(): return peer_test_files()


def test_peer_test_files_are_all_run(peer_tests):
    "Every test file of the sdist is run below, and its only change is the import prefix."
    assert sorted(peer_tests) == ['test_embedding_dataset.py', 'test_esm_training.py', 'test_ranking.py']
    for text in peer_tests.values():
        assert 'esm_nb.hfselect' in text and not any(line.split()[1].startswith('hfselect') for line in
                                                     text.splitlines() if line.startswith(('from ', 'import ')))


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


# 12 ESMs, the first of them of the README's target (IMDB) itself: hf-dataset-selector's own test ranks the first 12
# ESMs the Hub lists and expects 12 rows, the target's own ESM among them
ESM_TASKS = [('stanfordnlp/imdb', 25000), ('fancyzhx/amazon_polarity', 10000), ('Yelp/yelp_review_full', 10000),
             ('SetFit/amazon_reviews_multi_en', 5000), ('SetFit/amazon_reviews_multi_de', 300),
             ('fancyzhx/ag_news', 10000), ('nyu-mll/glue_sst2', 10000), ('dair-ai/emotion', 16000),
             ('cornell-movie-review-data/rotten_tomatoes', 8530), ('SetFit/sst5', 8544),
             ('mteb/tweet_sentiment_extraction', 10000), ('google-research-datasets/poem_sentiment', 892)]


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


def native_ranking(target: TaskDataset, esms=None, keep_target_copies: bool = True):
    """The ranking esm_nb's native API gives for `target` with the README's base model; by default with the target's
    own ESMs, as hf-dataset-selector ranks them."""
    return native_rank.compute_task_ranking(dataset=target, model_name='bert-base-multilingual-uncased', esms=esms,
                                            method='esm_logme', batch_size=128, device='cpu', progress=False,
                                            keep_target_copies=keep_target_copies)  # hfselect scores by ESM-LogME


def hfselect_sample(n: int = 1000, seed: int = 42) -> list[str]:
    "The IMDB texts hf-dataset-selector's README draws: the train split shuffled by `datasets` (seed 42), the first n."
    import datasets
    return list(datasets.load_dataset('stanfordnlp/imdb', split='train').shuffle(seed=seed).select(range(n))['text'])


def assert_same_ranking(ours, native):
    "The same rows as esm_nb's native ranking, less the columns naming each ESM's source (hfselect has none)."
    mine = native.to_pandas().drop(columns=native_rank.SOURCE_COLUMNS).set_index('Rank')
    pd.testing.assert_frame_equal(ours.to_pandas(), mine, check_exact=False, rtol=1e-12)


def copy_warning(caught) -> str:
    "The one warning about copies of the target among `caught`."
    found = [str(w.message) for w in caught if 'keep_target_copies=False' in str(w.message)]
    assert len(found) == 1, [str(w.message) for w in caught]
    return found[0]


# public callables whose parameters must be hfselect's: 'module:path', the module relative to the package
SIGNATURES = [':Dataset.__init__', ':Dataset.from_hugging_face', ':compute_task_ranking', ':compute_scores',
              ':find_esm_repo_ids', ':find_esm_model_infos', ':fetch_esms', ':fetch_esm_configs', ':get_esm_coverage',
              ':ESMConfig.__init__', ':ESM.__init__', ':ESM.publish', ':ESM.save_pretrained',
              ':EmbeddingDataset.__init__', ':EmbeddingDataset.save', ':EmbeddingDataset.from_disk',
              ':create_embedding_dataset',
              ':ESMTrainer.__init__', ':ESMTrainer.train_with_embeddings', ':ESMTrainer.train_with_models',
              'task_ranking:TaskRanking.__init__', 'task_ranking:InvalidTaskRankingError.__init__',
              'dataset:EmptyDatasetError.__init__', 'trainers:Trainer.__init__', 'logme:LogME.__init__',
              'logme:LogME.fit', 'model_utils:get_pooled_output']
# hf-dataset-selector's modules; logme_self_implemented is left out: hf-dataset-selector's own copy cannot be imported
# (it imports a top-level module `logme`, which hf-dataset-selector does not install)
MODULES = ['', 'setup_logger', 'version', 'esmconfig', 'esm', 'dataset', 'model_utils', 'embedding_dataset',
           'task_ranking', 'logme', 'esm_logme', 'utils', 'trainers']
# run in hf-dataset-selector's environment, and here (`facts(...)`)
FACTS = """
import inspect, json, logging, sys, importlib, types
def facts(package, signatures, modules):
    "Parameters of the `signatures` ('module:path') and public names of the `modules` of `package`."
    def module(rel): return importlib.import_module(package + ('.' + rel if rel else ''))
    def params(entry):
        rel, path = entry.split(':')
        obj = module(rel)
        for part in path.split('.'): obj = getattr(obj, part)
        return [[p.name, p.kind.name, 'REQUIRED' if p.default is p.empty else repr(p.default)]
                for p in inspect.signature(obj).parameters.values() if p.name not in ('self', 'cls')]
    def own(v):
        "A name a module offers as the package's own: a class or function of the package, a constant, a logger."
        if v is None or isinstance(v, types.ModuleType): return False  # @patch leaves the method's name None
        if callable(v): return (getattr(v, '__module__', '') or '').startswith(package)
        return type(v).__module__ == 'builtins' or isinstance(v, logging.Logger)
    def names(rel): return sorted(n for n, v in vars(module(rel)).items() if not n.startswith('_') and own(v))
    return {'signatures': {e: params(e) for e in signatures}, 'names': {rel: names(rel) for rel in modules},
            'version': module('version').__version__}
if __name__ == '__main__':
    print(json.dumps(facts(sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]))))
"""


def peer_python() -> Path:
    "hf-dataset-selector 0.2.1 in its own environment, built by bench/setup_peer.sh (once; it prints the Python)."
    out = subprocess.run(['bash', str(ROOT/'bench'/'setup_peer.sh')], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    return Path(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope='module')
def facts(tmp_path_factory):
    "Signatures and module names of hf-dataset-selector 0.2.1 (in its environment) and of esm_nb.hfselect."
    # in a temporary folder: hfselect logs to ./hfselect_logs.log
    out = subprocess.run([str(peer_python()), '-c', FACTS, 'hfselect', json.dumps(SIGNATURES), json.dumps(MODULES)],
                         cwd=tmp_path_factory.mktemp('facts'), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    ns = {}
    exec(FACTS, ns)
    return json.loads(out.stdout), ns['facts']('esm_nb.hfselect', SIGNATURES, MODULES)


def test_readme_is_hfselects_own():
    "The README text above is hf-dataset-selector 0.2.1's, where its package is installed (bench/setup_peer.sh)."
    site = peer_python().parent.parent
    meta = next(site.glob('lib/python*/site-packages/hf_dataset_selector-0.2.1.dist-info/METADATA'))
    text = meta.read_text()
    section = text.split('### How to find suitable datasets for your problem')[1]
    quickstart = section.split('```python\n')[1].split('```')[0]
    assert quickstart.replace('from hfselect import', 'from esm_nb.hfselect import', 1) == README


def test_signatures_are_hfselects(facts):
    "Every public callable takes hfselect's parameters, in its order, with its defaults (extra ones only keyword-only)."
    theirs, ours = facts[0]['signatures'], facts[1]['signatures']
    for path in SIGNATURES:
        mine = [p for p in ours[path] if not (p[1] == 'KEYWORD_ONLY' and p[0] not in {q[0] for q in theirs[path]})]
        if path == ':ESMConfig.__init__':  # the format version esm_nb writes, not hfselect's package version
            mine = [p for p in mine if p[0] != 'version']
            theirs[path] = [p for p in theirs[path] if p[0] != 'version']
        assert mine == theirs[path], path


@pytest.mark.parametrize('rel', MODULES)
def test_modules_have_hfselects_names(facts, rel):
    """`from esm_nb.hfselect.<module> import <name>` works for every public name hfselect's module of that path has
    (classes and functions of hfselect, constants, the logger), and `import *` gives exactly those names."""
    theirs = facts[0]['names'][rel]
    ours = importlib.import_module('esm_nb.hfselect' + ('.' + rel if rel else ''))
    for name in theirs: getattr(ours, name)
    assert sorted(ours.__all__) == theirs
    assert set(facts[1]['names'][rel]) <= set(theirs)  # nothing of the package's own is public beyond them
    assert facts[1]['version'] == facts[0]['version'] == '0.2.1'


def test_readme_example(hub, capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        ns = run(README)
    printed = capsys.readouterr().out.splitlines()
    assert ns['dataset'].texts == hfselect_sample()  # the texts hfselect ranks for, in its order
    native = native_ranking(ns['dataset'])
    ranking = ns['task_ranking']
    assert_same_ranking(ranking, native)
    # hfselect's rows: every ESM but the broken one, the target's own (IMDB) included, named in a warning
    assert len(ranking) == len(ESM_TASKS) and 'stanfordnlp/imdb' in set(ranking.to_pandas()['Task ID'])
    assert ranking.skipped['ESM'].tolist() == ['esm-hub/ESM_broken_reviews']
    assert 'NaN or Inf' in ranking.skipped['Reason'][0]
    imdb_rank = ranking.to_pandas().reset_index().set_index('Task ID').loc['stanfordnlp/imdb', 'Rank']
    message = copy_warning(caught)
    assert f"{imdb_rank}. stanfordnlp/imdb" in message and message.startswith('1 of the 12 ranked tasks')
    # a header (scored by ESM-LogME, as the ranking was) and the top 5
    assert len(printed) == 6 and 'by ESM-LogME' in printed[0] and printed[1].startswith('  1. ')
    assert 'Score: ' in printed[5] and printed[1].split()[1] == ranking.to_pandas()['Task ID'].iloc[0]


PEER_README_ROWS = README.replace('from esm_nb.hfselect import', 'from hfselect import', 1) + """
import json
rows = task_ranking.to_pandas()
print(json.dumps({'texts': list(dataset.dataset['text']), 'tasks': rows['Task ID'].tolist(),
                  'scores': rows['Score'].tolist()}))
"""


def test_readme_rows_are_hfselects(hub, tmp_path):
    """hf-dataset-selector 0.2.1 itself (in its environment) runs its README against the same Hub stand-in: the same
    1000 texts, and the same rows in the same order, scores equal to 1e-8. The broken ESM is set aside for this run:
    hf-dataset-selector fails on it (its LogME raises on the NaN features; it catches errors only while mapping)."""
    broken = hub.repos.pop('esm-hub/ESM_broken_reviews')
    try:
        env = {**os.environ, 'HF_HUB_CACHE': str(tmp_path/'hub'), 'HF_DATASETS_CACHE': str(tmp_path/'ds')}
        out = subprocess.run([str(peer_python()), '-c', PEER_README_ROWS], env=env, cwd=tmp_path, capture_output=True,
                             text=True)
        assert out.returncode == 0, out.stderr[-3000:]
        theirs = json.loads(out.stdout.strip().splitlines()[-1])
        with pytest.warns(UserWarning, match='keep_target_copies=False'): ns = run(README)
    finally: hub.repos['esm-hub/ESM_broken_reviews'] = broken
    ours = ns['task_ranking'].to_pandas()
    assert ns['dataset'].texts == theirs['texts']
    assert ours['Task ID'].tolist() == theirs['tasks'] and len(theirs['tasks']) == len(ESM_TASKS)
    np.testing.assert_allclose(ours['Score'], theirs['scores'], rtol=1e-8)


def test_readme_example_leaving_out_the_target_copy(hub):
    "`keep_target_copies=False`, the one argument the warning names, gives esm_nb's native ranking."
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        ns = run(README.replace('model_name="bert-base-multilingual-uncased"',
                                'model_name="bert-base-multilingual-uncased", keep_target_copies=False'))
    assert not [w for w in caught if 'keep_target_copies' in str(w.message)]
    native = native_ranking(ns['dataset'], keep_target_copies=False)
    ranking = ns['task_ranking']
    assert_same_ranking(ranking, native)
    assert len(ranking) == len(ESM_TASKS) - 1 and 'stanfordnlp/imdb' not in set(ranking.to_pandas()['Task ID'])
    skipped = sorted(ranking.skipped['ESM'])  # in the order the Hub listed them
    assert skipped == ['esm-hub/ESM_broken_reviews', 'esm-hub/ESM_stanfordnlp__imdb']


def test_tutorial_1_find_datasets(hub, capsys):
    with pytest.warns(UserWarning, match='keep_target_copies=False'): ns = run(TUTORIAL_1)
    out = capsys.readouterr().out
    assert f'The task ranking consists of {len(ESM_TASKS)} intermediate datasets.' in out
    assert out.count('by ESM-LogME') == 1 and out.rstrip().endswith('...')  # the first ten of twelve, as hfselect
    # the Hub's id for the tutorial's 'imdb', and hfselect's sample of it
    assert ns['dataset'].task_id == 'stanfordnlp/imdb' and ns['dataset'].texts == hfselect_sample()
    assert_same_ranking(ns['task_ranking'], native_ranking(ns['dataset']))
    assert ns['df'].index.name == 'Rank' and list(ns['df'].columns) == native_rank.COLUMNS[1:]


def test_tutorial_2_filter_esms(hub, capsys, caplog):
    with caplog.at_level(logging.WARNING, logger='esm_nb.hfselect'): ns = run(TUTORIAL_2)
    expected = sorted(f'esm-hub/ESM_{t.replace("/", "__")}' for t, n in ESM_TASKS if n >= 500 and 'review' in t)
    assert sorted(ns['filtered_repo_ids']) == sorted(expected + ['esm-hub/ESM_broken_reviews'])
    assert sorted(e.config.task_id for e in ns['esms']) == sorted(t for t, n in ESM_TASKS if n >= 500 and 'review' in t)
    # the broken repo, logged and left out
    assert 'Fetching ESMs failed for 1 of' in caplog.text and 'NaN or Inf' in caplog.text
    esms, failed = native_hub.fetch_esms(ns['filtered_repo_ids'], progress=False)
    native = native_ranking(ns['dataset'], esms=esms)
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
    from esm_nb.hfselect import Dataset, compute_task_ranking, find_esm_repo_ids, get_esm_coverage
    from esm_nb.hfselect.esm_logme import NoESMsFoundError
    assert get_esm_coverage()[MBERT] == len(ESM_TASKS) + 1
    with pytest.raises(NotImplementedError, match='Pass model_name'): find_esm_repo_ids()
    with pytest.raises(NotImplementedError, match='tag filters'):
        find_esm_repo_ids('bert-base-multilingual-uncased', filters=['language:en'])
    with pytest.raises(NotImplementedError, match='Leave streaming out'):
        Dataset.from_hugging_face('imdb', 'train', 'text', 'label', False, streaming=True)
    target = Dataset.from_hugging_face('imdb', 'train', 'text', 'label', False, num_examples=50, seed=0)
    with pytest.raises(NoESMsFoundError, match='repository not found'):
        compute_task_ranking(target, 'bert-base-multilingual-uncased', esm_repo_ids=['esm-hub/ESM_nothing_here'])


def test_tutorial_2_with_submodule_imports(hub):
    """Tutorial 2 importing each name from the module hfselect defines it in (as users' code may), prefix changed:
    the same repos, ESMs and ranking."""
    code = (TUTORIAL_2.replace('from esm_nb.hfselect import find_esm_repo_ids, fetch_esm_configs, Dataset',
                               'from esm_nb.hfselect.utils import find_esm_repo_ids, fetch_esm_configs\n'
                               'from esm_nb.hfselect.dataset import Dataset')
            .replace('from esm_nb.hfselect import fetch_esms', 'from esm_nb.hfselect.utils import fetch_esms')
            .replace('from esm_nb.hfselect import Dataset, compute_task_ranking',
                     'from esm_nb.hfselect.dataset import Dataset\n'
                     'from esm_nb.hfselect.esm_logme import compute_task_ranking'))
    assert 'from esm_nb.hfselect import' not in code
    ns, top = run(code), run(TUTORIAL_2)
    assert ns['filtered_repo_ids'] == top['filtered_repo_ids']
    assert [e.config.task_id for e in ns['esms']] == [e.config.task_id for e in top['esms']]
    pd.testing.assert_frame_equal(ns['task_ranking'].to_pandas(), top['task_ranking'].to_pandas())


@pytest.fixture(scope='module')
def bert_model_name(hub): return 'bert-base-multilingual-uncased'


@pytest.fixture(scope='module')
def bert_model(bert_model_name):
    from transformers import BertModel
    return BertModel.from_pretrained(bert_model_name)


@pytest.fixture(scope='module')
def bert_tokenizer(bert_model_name):
    from transformers import BertTokenizer
    return BertTokenizer.from_pretrained(bert_model_name)


@pytest.fixture(scope='module')
def imdb_dataset(hub):
    "The README's target: 1000 examples of IMDB's train split, seed 42."
    from esm_nb.hfselect import Dataset
    return Dataset.from_hugging_face(name='imdb', split='train', text_col='text', label_col='label',
                                     is_regression=False, num_examples=1000, seed=42)


def run_peer_test(code: str, fixtures: dict):
    "Run the test functions of one of hf-dataset-selector's own test files, its fixtures given by name."
    ns = run(code)
    tests = [f for name, f in ns.items() if name.startswith('test_') and callable(f)]
    assert tests, code
    for test in tests: test(**{name: fixtures[name] for name in inspect.signature(test).parameters})
    return ns


def test_hfselects_test_embedding_dataset(peer_tests, bert_model, bert_tokenizer, imdb_dataset, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # it writes ./test_embedding_dataset.npz
    run_peer_test(peer_tests['test_embedding_dataset.py'], dict(bert_model=bert_model, bert_tokenizer=bert_tokenizer,
                                                    imdb_dataset=imdb_dataset))
    assert (tmp_path/'test_embedding_dataset.npz').is_file()


def test_hfselects_test_esm_training(peer_tests, bert_model, bert_tokenizer, imdb_dataset):
    run_peer_test(peer_tests['test_esm_training.py'], dict(bert_model=bert_model, bert_tokenizer=bert_tokenizer,
                                               imdb_dataset=imdb_dataset))


def test_hfselects_test_ranking(peer_tests, bert_model_name, imdb_dataset, caplog):
    """hf-dataset-selector's ranking test: the first 12 ESMs the Hub lists (the target's own among them) plus 202 repo
    ids that fail (one that does not exist, a model that is not an ESM, 'a' * i for i < 200: the empty id, ids not on
    the Hub, ids too long to be valid) rank as 12 rows, with a warning naming the target's copy."""
    with pytest.warns(UserWarning, match=r"stanfordnlp/imdb.*keep_target_copies=False"):
        run_peer_test(peer_tests['test_ranking.py'], dict(bert_model_name=bert_model_name, imdb_dataset=imdb_dataset))
    assert 'Fetching ESMs failed for 202 of 214 repo IDs' in caplog.text and 'An empty name' in caplog.text


def test_empty_repo_id_is_refused_not_read_as_the_working_folder(hub, tmp_path, monkeypatch, caplog):
    "Even where the working folder holds an ESM, '' is no repo id: esm_nb and esm_nb.hfselect refuse it."
    from esm_nb.hfselect import ESM, fetch_esms, fetch_esm_configs
    from esm_nb.hfselect.esm_logme import NoESMsFoundError, compute_task_ranking
    here = native_esm.ESM(native_esm.ESMConfig(MBERT, 'org/working-folder', esm_embedding_dim=32))
    here.save_pretrained(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert native_esm.ESM.from_pretrained('.').config.task_id == 'org/working-folder'  # named, it loads
    for load in (native_esm.ESM.from_pretrained, ESM.from_pretrained):
        for empty in ('', '  '):
            with pytest.raises(ESMError, match="An empty name is neither an ESM folder nor a Hub repo id"): load(empty)
    esms, failed = native_hub.fetch_esms(['', 'esm-hub/ESM_fancyzhx__ag_news'], progress=False)
    assert [e.config.task_id for e in esms] == ['fancyzhx/ag_news'] and failed[0][0] == ''
    assert 'empty name' in failed[0][1]
    with caplog.at_level(logging.WARNING, logger='esm_nb.hfselect'):
        assert fetch_esms(['']) == [] and fetch_esm_configs(['', 'esm-hub/ESM_fancyzhx__ag_news'])[0].num_examples
    assert 'An empty name' in caplog.text and "'': an empty name is not a Hub repo id" in caplog.text
    target = TaskDataset.from_lists(['good film', 'bad film'] * 5, [1, 0] * 5)
    with pytest.raises(NoESMsFoundError, match='An empty name'):
        compute_task_ranking(target, 'bert-base-multilingual-uncased', esm_repo_ids=[''])
