"Bad input gets a clear error that names the problem; broken ESMs are skipped with their reason; nothing is unpickled."
import json, pickle
import numpy as np, pandas as pd, pytest, torch
from safetensors.torch import save_file
from esm_nb.data import TaskDataset
from esm_nb.esm import ESM, ESMConfig, ESMError
from esm_nb.rank import compute_task_ranking

DF = pd.DataFrame({'text': ['good film', 'bad news', 'great game', 'the vote'], 'label': [1, 0, 1, 0]})


def test_empty_dataset():
    with pytest.raises(ValueError, match='empty'): TaskDataset.from_pandas(DF.iloc[:0])
    with pytest.raises(ValueError, match='empty'): TaskDataset.from_lists([], [])


def test_missing_or_misspelled_column():
    with pytest.raises(ValueError, match=r"Column 'txt' is not in the data\. Did you mean 'text'\?"
                                         r".*Available columns: \['text', 'label'\]"):
        TaskDataset.from_pandas(DF, 'txt')
    with pytest.raises(ValueError, match=r"Column 'answer' is not in the data\. Available columns"):
        TaskDataset.from_pandas(DF, 'text', 'answer')


def test_single_class():
    with pytest.raises(ValueError, match='at least 2 classes'):
        TaskDataset.from_pandas(DF.assign(label=1))


def test_missing_labels_error_or_counted_drop():
    df = DF.assign(label=[1, None, 0, np.nan])
    with pytest.raises(ValueError, match=r"2 of 4 labels in column 'label' are missing"): TaskDataset.from_pandas(df)
    with pytest.warns(UserWarning, match='Dropped 2 of 4 rows'):
        ds = TaskDataset.from_pandas(df, drop_missing=True)
    assert len(ds) == 2 and ds.num_dropped == 2 and not ds.is_regression


def test_non_numeric_regression_labels():
    with pytest.raises(ValueError, match='non-numeric'):
        TaskDataset.from_pandas(DF.assign(label=['1.5', 'high', '2', '3']), is_regression=True)


def test_non_string_texts():
    with pytest.raises(ValueError, match=r"row 2: 3\.5 \(float\)"):
        TaskDataset.from_pandas(DF.assign(text=['a', 'b', 3.5, 'd']))
    with pytest.raises(ValueError, match='not strings'):
        TaskDataset.from_pandas(DF.assign(text=['a', None, 'c', 'd']))


def _esm(base, dim, task='org/task'):
    return ESM(ESMConfig(base, task, esm_embedding_dim=dim))


def test_esm_of_other_dimension_or_base_model_is_skipped(tiny_bert):
    target = TaskDataset.from_pandas(DF)
    ranking = compute_task_ranking(target, tiny_bert, progress=False,
                                   esms=[_esm(tiny_bert, 32, 'org/ok'), _esm(tiny_bert, 16, 'org/small'),
                                         _esm('bert-base-uncased', 32, 'org/bert')])
    assert ranking.to_pandas()['Task ID'].tolist() == ['org/ok']
    reasons = ' '.join(ranking.skipped['Reason'])
    assert 'embedding dimension 16' in reasons and "base model 'bert-base-uncased'" in reasons


def _folder(tmp_path, name, weights=None, cfg=None, files=None):
    p = tmp_path / name
    p.mkdir()
    (p / 'config.json').write_text(json.dumps(cfg or {'base_model_name': 'm', 'task_id': 't', 'esm_embedding_dim': 4}))
    if weights is not None: save_file(weights, str(p / 'model.safetensors'))
    for f, data in (files or {}).items(): (p / f).write_bytes(data)
    return p


def test_folder_without_weights(tmp_path):
    with pytest.raises(ESMError, match='no model.safetensors'): ESM.from_pretrained(_folder(tmp_path, 'a'))


def test_weights_with_nan_or_inf(tmp_path):
    for bad in (float('nan'), float('inf')):
        w = torch.eye(4)
        w[1, 2] = bad
        with pytest.raises(ESMError, match='NaN or Inf'):
            ESM.from_pretrained(_folder(tmp_path, f'w{bad}', {'model.weight': w, 'model.bias': torch.zeros(4)}))


class _Boom:
    "Unpickling this would create a marker file."
    def __init__(self, marker): self.marker = marker
    def __reduce__(self): return (open, (self.marker, 'w'))


def test_pickle_bin_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / 'UNPICKLED'
    p = _folder(tmp_path, 'pickled', files={'pytorch_model.bin': pickle.dumps(_Boom(str(marker)))})
    with pytest.raises(ESMError, match='never unpickles'): ESM.from_pretrained(p)
    assert not marker.exists()


def test_broken_folders_listed_not_fatal(tmp_path, tiny_bert):
    _esm(tiny_bert, 32, 'org/good').save_pretrained(tmp_path / 'esms' / 'good')
    _folder(tmp_path / 'esms', 'noweights')
    _folder(tmp_path / 'esms', 'badcfg', {'model.weight': torch.eye(4), 'model.bias': torch.zeros(4)},
            cfg={'task_id': ''})
    (tmp_path / 'esms' / 'garbage').mkdir()
    (tmp_path / 'esms' / 'garbage' / 'config.json').write_text('{not json')
    ranking = compute_task_ranking(TaskDataset.from_pandas(DF), tiny_bert, esm_dir=tmp_path / 'esms', progress=False)
    assert ranking.to_pandas()['Task ID'].tolist() == ['org/good']
    assert sorted(ranking.skipped['ESM']) == ['badcfg', 'garbage', 'noweights']


def test_nan_embeddings_refused(tiny_bert):
    target = TaskDataset.from_pandas(DF)
    X = np.ones((4, 32))
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match='NaN or Inf'):
        compute_task_ranking(target, tiny_bert, esms=[_esm(tiny_bert, 32)], embeddings=X, progress=False)


# --- precomputed inputs, folders and banks (issue 3) ---
from esm_nb.bank import save_bank, ESMBank
from esm_nb.rank import rank_embeddings


def test_labels_of_other_length(tiny_bert):
    X = np.random.default_rng(0).normal(size=(6, 32))
    with pytest.raises(ValueError, match='6 embeddings but 5 labels'):
        rank_embeddings(X, [0, 1, 0, 1, 0], esms=[_esm(tiny_bert, 32)], model_name=tiny_bert, progress=False)


def test_empty_esm_folder(tmp_path, tiny_bert):
    (tmp_path / 'none').mkdir()
    with pytest.raises(ESMError, match='holds no ESM folders'):
        rank_embeddings(np.ones((4, 32)), [0, 1, 0, 1], esm_dir=tmp_path / 'none', model_name=tiny_bert, progress=False)


def test_mixed_dimensions_in_one_folder(tmp_path, tiny_bert):
    _esm(tiny_bert, 32, 'org/d32').save_pretrained(tmp_path / 'esms' / 'a')
    _esm(tiny_bert, 16, 'org/d16').save_pretrained(tmp_path / 'esms' / 'b')
    X = np.random.default_rng(1).normal(size=(20, 32))
    r = rank_embeddings(X, [0, 1] * 10, esm_dir=tmp_path / 'esms', model_name=tiny_bert, progress=False)
    assert r.to_pandas()['Task ID'].tolist() == ['org/d32']
    assert r.skipped.values.tolist() == [['b', 'embedding dimension 16, but the target embeddings have 32']]


def test_truncated_bank_shard_skips_its_esms(tmp_path, tiny_bert):
    "A bank shard cut short is named as truncated; its ESMs are listed as skipped, the other shards' ranked."
    esms = [_esm(tiny_bert, 32, f'org/{n}') for n in 'abcd']
    folder = save_bank(esms, tmp_path / 'bank', shard_bytes=2 * (32 * 32 * 4 + 32 * 4))
    shard = folder / 'shard-00002.safetensors'
    data = shard.read_bytes()
    X, y = np.random.default_rng(0).normal(size=(8, 32)), [0, 1] * 4
    for cut in (len(data) // 2, 40):
        shard.write_bytes(data[:cut])
        r = rank_embeddings(X, y, banks=folder, model_name=tiny_bert, progress=False)
        assert sorted(r.to_pandas()['Task ID']) == ['org/a', 'org/b']
        assert ([n for n, _ in r.skipped.values] == ['org/c', 'org/d']
                and 'not a readable ESM bank shard' in r.skipped.values[0][1])
    (folder / 'bank.json').write_text((folder / 'bank.json').read_text()[:50])
    with pytest.raises(ESMError, match='not a readable bank manifest'):
        rank_embeddings(X, y, banks=folder, model_name=tiny_bert, progress=False)
    assert len(ESMBank(save_bank(esms, tmp_path / 'again'))) == 4


def test_constant_regression_target_refused(tmp_path, tiny_bert, capsys):
    from esm_nb.cli import main
    pd.DataFrame({'text': ['a film', 'a game'] * 5, 'score': [2.5] * 10}).to_csv(tmp_path / 'flat.csv', index=False)
    ESM(ESMConfig(tiny_bert, 'org/x', esm_embedding_dim=32)).save_pretrained(tmp_path / 'esms' / 'x')
    assert main(['rank', str(tmp_path / 'flat.csv'), '--label-column', 'score', '--model', tiny_bert,
                 '--esm-dir', str(tmp_path / 'esms'), '-q']) == 2
    assert 'nothing to predict' in capsys.readouterr().err


def test_python_dash_m_runs_the_command_line(tmp_path):
    import subprocess, sys
    r = subprocess.run([sys.executable, '-m', 'esm_nb', 'corpora'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and 'bbc_news' in r.stdout, r.stderr[-2000:]
    r = subprocess.run([sys.executable, '-m', 'esm_nb', 'rank', str(tmp_path / 'missing.csv'), '-q'],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and r.stderr.strip(), (r.returncode, r.stderr[-2000:])


def test_bank_with_a_broken_esm_skips_only_that_one(tmp_path):
    "One ESM of a bank with NaN weights is listed as skipped; the rest of the bank is still ranked."
    from esm_nb.bank import BankShard, save_bank
    from esm_nb.esm import ESMConfig
    from esm_nb.rank import rank_embeddings
    esms = [ESM(ESMConfig('m', f'org/task{i}', esm_embedding_dim=4)) for i in range(3)]
    with pytest.raises(ValueError, match='org/task1'):  # a bank is never written with NaN weights...
        with torch.no_grad(): esms[1].model.weight[0, 0] = float('nan')
        save_bank(esms, tmp_path / 'refused')
    with torch.no_grad(): esms[1].model.weight[0, 0] = 1.0
    bank = save_bank(esms, tmp_path / 'bank')
    shard = BankShard(bank / 'shard-00001.safetensors', None, None)
    with open(shard.path, 'r+b') as f:  # ...but a file can be damaged afterwards
        f.seek(shard.w_at + 4 * 4 * 4)
        f.write(np.float32('nan').tobytes())
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    r = rank_embeddings(rng.normal(size=(60, 4)) + y[:, None], y, False, model_name='m', banks=bank, method='esm_logme',
                        progress=False)
    assert sorted(r.to_pandas()['Task ID']) == ['org/task0', 'org/task2']
    assert list(r.skipped['Reason']) == ['weights contain NaN or Inf']


def test_ranking_options_are_checked_once_at_the_entry():
    "`method` is looked up and `precision` checked once per ranking, then passed down as checked objects."
    from unittest import mock
    import esm_nb.logme as logme_module
    import esm_nb.rank as rank
    esms = [ESM(ESMConfig('m', f'org/task{i}', esm_embedding_dim=4)) for i in range(3)]
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40)
    target = TaskDataset.from_lists([f'text {i}' for i in range(40)], list(y), task_id='t')
    X = rng.normal(size=(40, 4)) + y[:, None]
    post_init = logme_module.Precision.__post_init__
    for call in (lambda **kw: rank.compute_task_ranking(target, 'm', esms=esms, embeddings=X, **kw),
                 lambda **kw: rank.rank_embeddings(X, y, model_name='m', esms=esms, **kw)):
        for method in ('esm_logme', 'esm_knn', 'esm_hscore'):
            with mock.patch.object(rank, 'get_method', wraps=rank.get_method) as looked_up, \
                 mock.patch.object(logme_module.Precision, '__post_init__', autospec=True,
                                   side_effect=post_init) as checked:
                r = call(method=method, precision='float64', progress=False)
            assert (len(r), r.method, looked_up.call_count, checked.call_count) == (3, method, 1, 1)
    with pytest.raises(ValueError, match="precision must be one of float64, float32, mixed"):
        rank.compute_task_ranking(target, 'm', esms=esms, embeddings=X, precision='float16')
    with pytest.raises(TypeError, match="positional"):
        rank.compute_task_ranking(target, 'm', esms)  # everything after the data and the model is keyword-only
