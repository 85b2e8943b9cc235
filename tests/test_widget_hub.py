"""The widget's Hugging Face Hub path end to end against the local Hub stand-in: the base model itself and its ESMs are
downloaded by transformers and huggingface_hub from 127.0.0.1, filtered, ranked; broken repos are listed, not fatal."""
import json
from pathlib import Path
import pandas as pd, pytest, torch
from safetensors.torch import save
from esm_nb.esm import ESM, ESMConfig
from esm_nb.widget import TaskSelector
from hub_server import HubServer, Repo

MODEL = 'test-org/tiny-bert'


def esm_repo(task, scale, lang='en', n=500, weight=None):
    e = ESM(ESMConfig(MODEL, task, esm_embedding_dim=32, num_examples=n, language=lang))
    w = torch.eye(32) * scale if weight is None else weight
    files = {'config.json': json.dumps(e.config.to_dict()).encode(),
             'model.safetensors': save({'model.weight': w, 'model.bias': torch.zeros(32)})}
    return Repo(files, ['embedding_space_map', f'base_model:{MODEL}'], {'language': [lang], 'datasets': [task]})


@pytest.fixture
def hub_with_model(tiny_bert, tmp_path):
    model_files = {p.name: p.read_bytes() for p in Path(tiny_bert).iterdir() if p.is_file()}
    repos = {MODEL: Repo(model_files, []),
             'u/ESM_org__news': esm_repo('org/news', 1.0),
             'u/ESM_org__tweets': esm_repo('org/tweets', 0.5),
             'u/ESM_org__german': esm_repo('org/german', 1.0, lang='de'),
             'u/ESM_org__broken': esm_repo('org/broken', 1.0, weight=torch.zeros(4, 4))}
    srv = HubServer(repos)
    mp = pytest.MonkeyPatch()
    srv.point_clients(mp, tmp_path/'cache')
    yield srv
    mp.undo()
    srv.close()


def test_widget_ranks_hub_esms_with_filters(hub_with_model):
    df = pd.DataFrame({'text': ['good film', 'great game', 'bad news', 'the vote'] * 10,
                       'label': ['a', 'a', 'b', 'b'] * 10})
    ui = TaskSelector(df, model_name=MODEL)
    ui.esm_source.value = 'Hugging Face Hub'
    ui.hub_language.value = 'en'
    ui.run_button.click()
    assert 'b42318' not in ui.status.value, ui.status.value
    assert set(ui.ranking.labels) == {'org/news', 'org/tweets'}           # the German ESM was filtered out
    assert list(ui.ranking.skipped.ESM) == ['u/ESM_org__broken']          # listed with its reason, the rest ranked
    assert 'skipped' in ui.status.value
    hits = hub_with_model.hits
    assert any(k.startswith(f'/{MODEL}/resolve/') and k.endswith('model.safetensors') for k in hits), hits
    assert hits.get('/u/ESM_org__german/resolve/main/model.safetensors', 0) == 0  # filtered before download
    ui.hub_task.value = 'nothing-like-this'
    ui.run_button.click()
    assert 'No ESMs on the Hub' in ui.status.value and ui.progress.bar_style == 'danger'
