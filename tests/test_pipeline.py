"The whole pipeline on a tiny random BERT and real corpus samples: build, save, load, rank, export."
import subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd, pytest
from esm_nb.corpora import load_corpus
from esm_nb.embed import Embedder
from esm_nb.esm import ESM, load_esm_folder
from esm_nb.finetune import FineTuneBudget, build_esm
from esm_nb.logme import logme
from esm_nb.rank import compute_task_ranking, COLUMNS, SOURCE_COLUMNS
from esm_nb.cli import main

SOURCES = ['vader_tweets', 'slo_topic', 'election_author']


@pytest.fixture(scope='module')
def esm_dir(tiny_bert, tmp_path_factory):
    out = tmp_path_factory.mktemp('esms')
    for name in SOURCES:
        ds = load_corpus(name, 'train', num_examples=48, seed=1)
        budget = FineTuneBudget(epochs=1, batch_size=16, learning_rate=1e-3)
        esm = build_esm(ds, tiny_bert, budget=budget, progress=False)
        esm.save_pretrained(out / name)
    return out


def test_build_save_load(esm_dir, tiny_bert):
    esms, skipped = load_esm_folder(esm_dir)
    assert skipped == [] and len(esms) == 3
    by_task = {e.config.task_id + '/' + str(e.config.task_subset): e for e in esms}
    tweets = by_task['vaderSentiment/hutto_ICWSM_2014/tweets']
    assert tweets.config.num_examples == 48 and tweets.config.base_model_name == tiny_bert
    assert tweets.config.language == 'en' and tweets.dim == 32 and tweets.config.esm_mse >= 0
    card = (esm_dir / 'vader_tweets' / 'README.md').read_text()
    assert 'embedding_space_map' in card and 'vaderSentiment/hutto_ICWSM_2014' in card and 'MSE: ' in card


def test_rank_table(esm_dir, tiny_bert, tmp_path):
    target = load_corpus('fortunes_en', 'train', num_examples=60, seed=3)
    ranking = compute_task_ranking(target, tiny_bert, esm_dir=esm_dir, method='esm_logme', progress=False)
    t = ranking.to_pandas()
    assert list(t.columns) == COLUMNS + SOURCE_COLUMNS and len(t) == 3 and t['Rank'].tolist() == [1, 2, 3]
    # local: no commit
    assert sorted(t['ESM']) == sorted(p.name for p in esm_dir.iterdir()) and t['Revision'].isna().all()
    assert t['Score'].is_monotonic_decreasing and np.isfinite(t['Score']).all()
    assert set(t['Task Subset']) == {'tweets', 'topic', 'author'} and set(t['Num Examples']) == {48}
    # each score equals LogME on the explicitly mapped embeddings
    X = Embedder(tiny_bert, progress=False)(target.texts)
    esms = {e.config.task_subset: e for e in load_esm_folder(esm_dir)[0]}
    for _, row in t.iterrows():
        expect = logme(esms[row['Task Subset']].transform(X).astype(np.float64), target.labels)
        assert abs(row['Score'] - expect) < 1e-4 * abs(expect)
    ranking.to_csv(tmp_path / 'r.csv')
    assert pd.read_csv(tmp_path / 'r.csv')['Task ID'].tolist() == t['Task ID'].tolist()
    md = ranking.to_markdown().splitlines()
    assert len(md) == 5 and [c.strip() for c in md[0].strip('|').split('|')] == COLUMNS + SOURCE_COLUMNS
    fig = ranking.plot()
    fig.savefig(tmp_path / 'r.png')
    assert (tmp_path / 'r.png').stat().st_size > 1000


def test_regression_target(esm_dir, tiny_bert):
    target = load_corpus('vader_movie_reviews', 'test', num_examples=40, seed=0)
    ranking = compute_task_ranking(target, tiny_bert, esm_dir=esm_dir, progress=False)
    assert len(ranking) == 3 and np.isfinite(ranking.to_pandas()['Score']).all()


def test_cli_rank_and_build(esm_dir, tiny_bert, tmp_path, capsys):
    assert main(['build', '--corpus', 'slo_sentiment', '--num-examples', '32', '--model', tiny_bert,
                 '--out', str(tmp_path / 'new'), '--lm-epochs', '1', '--method', 'ridge']) == 0
    assert ESM.from_pretrained(tmp_path / 'new').config.task_subset == 'sentiment'
    assert main(['rank', '--corpus', 'reuters_r8', '--num-examples', '40', '--model', tiny_bert,
                 '--esm-dir', str(esm_dir), '--csv', str(tmp_path / 'r.csv'), '--plot', str(tmp_path / 'r.png')]) == 0
    assert len(pd.read_csv(tmp_path / 'r.csv')) == 3 and (tmp_path / 'r.png').exists()


def test_console_script():
    exe = subprocess.run([str(Path(sys.executable).parent / 'esm-nb'), 'corpora'], capture_output=True, text=True)
    assert exe.returncode == 0 and 'bbc_news' in exe.stdout
