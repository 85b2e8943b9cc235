"""Zoos and transfer experiments as Ray tasks, on a real local Ray cluster this module starts (2 CPUs, 127.0.0.1).

Ray gives each task one CPU, and torch then runs on one thread; the serial runs compared with them here do too, so
that the two paths do the same arithmetic and must give the same ESMs and the same scores."""
import json
import numpy as np, pytest, torch
from esm_nb.corpora import load_corpus
from esm_nb.esm import ESM
from esm_nb.executors import Unit, run_units
from esm_nb.finetune import FineTuneBudget
from esm_nb.transfer import TransferRunner, TransferBudget, NO_SOURCE
from esm_nb.zoo import build_zoo, esm_files, zoo_folder_name

QUICK = FineTuneBudget(epochs=1, batch_size=8, max_length=24)
TASKS = ['vader_tweets', 'slo_topic', 'fortunes_en']


@pytest.fixture(scope='module')
def cluster():
    import ray
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address='127.0.0.1')
    yield ray
    ray.shutdown()


@pytest.fixture
def one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def weights(folder):
    W, b = ESM.from_pretrained(folder).linear_weights()
    return W.numpy(), b.numpy()


def test_zoo_built_by_ray_tasks_equals_the_serial_build(cluster, tiny_bert, tmp_path, one_thread):
    serial = build_zoo(tmp_path/'serial', TASKS, tiny_bert, num_examples=24, budget=QUICK, progress=False,
                       log=lambda m: None)
    logs = []
    by_ray = build_zoo(tmp_path/'ray', TASKS, tiny_bert, num_examples=24, budget=QUICK, executor='ray',
                       progress=False, log=logs.append)
    assert [p.name for p in by_ray] == [zoo_folder_name(t) for t in TASKS]
    for a, b in zip(serial, by_ray):
        (Wa, ba), (Wb, bb) = weights(a), weights(b)
        np.testing.assert_allclose(Wa, Wb, rtol=0, atol=1e-6)
        np.testing.assert_allclose(ba, bb, rtol=0, atol=1e-6)
        ca, cb = (json.loads((p/'config.json').read_text()) for p in (a, b))
        timeless = lambda c: {k: v for k, v in c.items() if 'seconds' not in k}
        assert timeless(ca) == timeless(cb)
    assert sum('built in' in m for m in logs) == 3


def test_an_interrupted_ray_build_resumes_without_redoing_finished_esms(cluster, tiny_bert, tmp_path):
    logs = []
    build_zoo(tmp_path/'zoo', TASKS[:2], tiny_bert, num_examples=24, budget=QUICK, executor='ray', progress=False,
              log=logs.append)
    first = {t: (tmp_path/'zoo'/zoo_folder_name(t)/'model.safetensors').stat().st_mtime_ns for t in TASKS[:2]}
    logs.clear()
    build_zoo(tmp_path/'zoo', TASKS, tiny_bert, num_examples=24, budget=QUICK, executor='ray', progress=False,
              log=logs.append)
    assert sorted(m for m in logs if 'skipped' in m) == sorted(f'{t}: already built, skipped' for t in TASKS[:2])
    assert [m.split(':')[0] for m in logs if 'built in' in m] == [TASKS[2]]
    assert all((tmp_path/'zoo'/zoo_folder_name(t)/'model.safetensors').stat().st_mtime_ns == first[t] for t in first)


def test_a_failing_task_is_listed_and_the_others_finish(cluster, tiny_bert, tmp_path):
    ds = load_corpus('vader_tweets', 'train', 24, 42)
    got, logs = {}, []
    units = [Unit('good', esm_files, (ds, tiny_bert, 'ridge', QUICK, 42, 'test')),
             Unit('bad', esm_files, (ds, str(tmp_path/'no-such-model'), 'ridge', QUICK, 42, 'test')),
             Unit('good too', esm_files, (ds, tiny_bert, 'adamw', QUICK, 43, 'test'))]
    failed = run_units(units, got.__setitem__, executor='ray', progress=False, log=logs.append)
    assert sorted(got) == ['good', 'good too'] and all('model.safetensors' in r['files'] for r in got.values())
    assert list(failed) == ['bad'] and 'no-such-model' in failed['bad']
    assert logs == [f"bad: failed ({failed['bad']})"]


def experiment():
    sources = {n: load_corpus(n, 'train', 24, 42) for n in ('fortunes_en', 'vader_amazon_reviews')}
    targets = {n: (load_corpus(n, 'train', 24, 42), load_corpus(n, 'test', 20, 42))
               for n in ('slo_sentiment', 'vader_tweets')}
    return sources, targets


def test_a_transfer_experiment_through_ray_equals_the_serial_one(cluster, tiny_bert, tmp_path, one_thread):
    sources, targets = experiment()
    budget = TransferBudget(QUICK, QUICK, seeds=(1, 2))
    quiet = dict(device='cpu', progress=False, log=lambda m: None)
    serial = TransferRunner(tmp_path/'serial', sources, targets, tiny_bert, budget, **quiet).run()
    runner = TransferRunner(tmp_path/'ray', sources, targets, tiny_bert, budget, **quiet)
    by_ray = runner.run(executor='ray')
    assert runner.failures == {}
    assert len(by_ray) == len(serial) == 2 * (1 + 2) and set(by_ray.num_seeds) == {2}
    key = ['target', 'source']
    a, b = serial.sort_values(key).reset_index(drop=True), by_ray.sort_values(key).reset_index(drop=True)
    assert a[key].equals(b[key])
    np.testing.assert_allclose(a.score, b.score, rtol=0, atol=1e-6)
    assert (b.source == NO_SOURCE).sum() == 2
    # the ranking methods, scored here from what the tasks sent back, agree too
    ea = runner.evaluation().set_index(['target', 'method'])
    eb = TransferRunner(tmp_path/'serial', sources, targets, tiny_bert, budget, **quiet).evaluation()
    np.testing.assert_allclose(ea.spearman.sort_index(), eb.set_index(['target', 'method']).spearman.sort_index(),
                               rtol=0, atol=1e-6)
