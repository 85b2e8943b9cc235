"""`datasets.load_dataset` against the local Hub stand-in (tests/hub_server.py): dataset info, tree listing, file
resolve.

Neither datasets nor huggingface_hub is mocked. Both read HF_ENDPOINT, the offline flags and the caches at import, so
their module constants are patched as well as the environment. The test command runs offline (HF_HUB_OFFLINE=1
HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1); these tests undo that for themselves."""
import io
from pathlib import Path
import pyarrow as pa, pyarrow.parquet as pq, pytest
import huggingface_hub
from esm_nb.data import TaskDataset
from hub_server import HubServer, Repo

MBERT = 'google-bert/bert-base-multilingual-uncased'
ROWS = [{'text': f'review {i}: ' + ('loved it' if i % 3 else 'awful'), 'label': int(i % 3 > 0)} for i in range(60)]
CARD = b"""---
configs:
- config_name: plain_text
  default: true
  data_files:
  - split: train
    path: plain_text/train-*
  - split: test
    path: plain_text/test-*
- config_name: small
  data_files:
  - split: train
    path: small/train-*
dataset_info:
  config_name: plain_text
  features:
  - name: text
    dtype: string
  - name: label
    dtype:
      class_label:
        names:
          '0': neg
          '1': pos
---
# IMDB (stand-in)
"""


def parquet(rows) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    return buf.getvalue()


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    srv = HubServer({MBERT: Repo({'config.json': b'{"model_type": "bert"}'})},
                    aliases={'bert-base-multilingual-uncased': MBERT})
    srv.add_dataset('stanfordnlp/imdb', {'README.md': CARD, 'plain_text/train-00000-of-00001.parquet': parquet(ROWS),
                                         'plain_text/test-00000-of-00001.parquet': parquet(ROWS[:10]),
                                         'small/train-00000-of-00001.parquet': parquet(ROWS[:5])})
    # no card: the standard layout
    srv.add_dataset('org/plain', {'data/train-00000-of-00001.parquet': parquet(ROWS[:7])})
    hub_cache, ds_cache = tmp_path_factory.mktemp('hf-hub'), tmp_path_factory.mktemp('hf-datasets')
    mp = pytest.MonkeyPatch()
    srv.point_clients(mp, hub_cache, ds_cache)
    yield srv
    mp.undo()
    srv.close()


def test_load_dataset_default_config(server):
    import datasets
    train = datasets.load_dataset('stanfordnlp/imdb', split='train')
    assert train.column_names == ['text', 'label'] and train.features['label'].names == ['neg', 'pos']
    assert train.to_list() == ROWS
    assert datasets.load_dataset('stanfordnlp/imdb', split='test').to_list() == ROWS[:10]
    assert any(p.startswith('/api/datasets/stanfordnlp/imdb/tree/') for p in server.hits)


def test_load_dataset_subset_and_plain_layout(server):
    import datasets
    assert datasets.load_dataset('stanfordnlp/imdb', 'small', split='train').to_list() == ROWS[:5]
    assert datasets.load_dataset('org/plain', split='train').to_list() == ROWS[:7]


def test_task_dataset_from_hugging_face(server):
    ds = TaskDataset.from_hugging_face('stanfordnlp/imdb', split='train', text_column='text', label_column='label',
                                       num_examples=20)
    assert len(ds) == 20 and ds.task_id == 'stanfordnlp/imdb' and ds.task_split == 'train'
    assert ds.classes == ['neg', 'pos']
    label_of = {r['text']: ['neg', 'pos'][r['label']] for r in ROWS}
    assert [label_of[t] for t in ds.texts] == [ds.classes[i] for i in ds.labels]


def test_missing_dataset_and_revision(server):
    import datasets
    with pytest.raises(datasets.exceptions.DatasetNotFoundError):
        datasets.load_dataset('org/missing', split='train')
    with pytest.raises(datasets.exceptions.DatasetNotFoundError):
        datasets.load_dataset('stanfordnlp/imdb', split='train', revision='no-such-branch')


def test_model_file_of_renamed_repo_redirects(server):
    path = huggingface_hub.hf_hub_download('bert-base-multilingual-uncased', 'config.json')
    assert Path(path).read_bytes() == b'{"model_type": "bert"}'
    assert server.hits['/bert-base-multilingual-uncased/resolve/main/config.json'] >= 1
    assert server.hits[f'/{MBERT}/resolve/main/config.json'] >= 1
