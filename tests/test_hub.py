"""Hub discovery and fetching against a local HTTP server that serves the Hub's endpoints.

huggingface_hub is not mocked: HF_ENDPOINT points at the server (huggingface_hub reads it at import, so the
constant is set too) and its own HTTP code runs. The cache is a fresh folder per test module."""
import json, os, pickle, subprocess, sys, warnings
import numpy as np, pytest, torch
import huggingface_hub.constants as hf_constants
from huggingface_hub import HfApi
from huggingface_hub.utils import HfHubHTTPError
from safetensors.torch import save
from esm_nb.esm import ESM, ESMConfig
from esm_nb import hub
from hub_server import HubServer, Repo

BASE = 'google-bert/bert-base-uncased'


def esm_files(task, dim=8, n=1000, lang='en', weight=None, cfg=None, seed=0):
    e = ESM(ESMConfig('bert-base-uncased', task, esm_embedding_dim=dim, num_examples=n, language=lang))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad(): e.model.weight.copy_(torch.eye(dim) + 0.1 * torch.randn(dim, dim, generator=g))
    sd = {'model.weight': e.model.weight.detach().clone() if weight is None else weight,
          'model.bias': e.model.bias.detach().clone()}
    config = {**e.config.to_dict(), **(cfg or {})}
    return {'config.json': json.dumps(config).encode(), 'model.safetensors': save(sd), 'README.md': b'card'}


def tags(legacy=False):
    return ['embedding_space_map', 'BaseLM:bert-base-uncased' if legacy else f'base_model:{BASE}']


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    good = esm_files('org/news')
    repos = {
        'u/ESM_org__news': Repo(good, tags(), {'language': ['en'], 'datasets': ['org/news']}),
        'u/ESM_org__reviews': Repo(esm_files('org/reviews', n=50, seed=1), tags(),
                                   {'language': 'de', 'datasets': ['org/reviews']}),
        'old/ESM_legacy': Repo(esm_files('org/legacy', seed=2), tags(legacy=True), {'datasets': ['org/legacy']}),
        'u/ESM_nulldim': Repo(esm_files('org/nulldim', cfg={'esm_embedding_dim': None}, seed=3), tags()),
        'u/ESM_ratelimited': Repo(esm_files('org/busy', seed=4), tags(), fail_first=2),
        'u/ESM_noconfig': Repo({'model.safetensors': good['model.safetensors']}, tags()),
        'u/ESM_badconfig': Repo(esm_files('org/bad', cfg={'task_id': ''}), tags()),
        'u/ESM_shapes': Repo(esm_files('org/shapes', weight=torch.zeros(4, 4)), tags()),
        'u/ESM_nan': Repo(esm_files('org/nan', weight=torch.full((8, 8), float('nan'))), tags()),
        'u/ESM_pickle': Repo({'config.json': good['config.json'], 'pytorch_model.bin': pickle.dumps({'x': 1})}, tags()),
        'u/ESM_gone': Repo(good, tags(), missing=True),
        # found by no search, so only the test that fetches it by id waits for it: huggingface_hub retries a download
        # that stalls for about 14 s before it gives up
        'u/ESM_slow': Repo(good, [], delay=3.0),
        'other/ESM_for_roberta': Repo(esm_files('org/x'),
                                      ['embedding_space_map', 'base_model:FacebookAI/roberta-base']),
        'u/not-an-esm': Repo(good, [f'base_model:{BASE}']),
    }
    srv = HubServer(repos, aliases={'bert-base-uncased': BASE, BASE: BASE})
    srv.repos[BASE] = Repo({'config.json': b'{}'}, [])
    cache = tmp_path_factory.mktemp('hf-cache')
    mp = pytest.MonkeyPatch()
    srv.point_clients(mp, cache)  # the test command runs offline (HF_HUB_OFFLINE=1); these tests talk to the server
    mp.setenv('HF_HUB_DOWNLOAD_TIMEOUT', '1')
    mp.setattr(hf_constants, 'HF_HUB_DOWNLOAD_TIMEOUT', 1)
    yield srv
    mp.undo()
    srv.close()


def test_discovery_by_both_tags_and_alias(server):
    found = hub.find_esms('bert-base-uncased')
    ids = set(found.repo_id)
    assert 'u/ESM_org__news' in ids and 'old/ESM_legacy' in ids
    assert 'other/ESM_for_roberta' not in ids and 'u/not-an-esm' not in ids
    assert len(ids) == len(found)


def test_filters_before_weights(server):
    before = sum(v for k, v in server.hits.items() if k.endswith('model.safetensors'))
    assert hub.find_esms('bert-base-uncased', language='de').repo_id.tolist() == ['u/ESM_org__reviews']
    assert hub.find_esms('bert-base-uncased', task='news').repo_id.tolist() == ['u/ESM_org__news']
    big = set(hub.find_esms('bert-base-uncased', min_examples=500).repo_id)
    assert 'u/ESM_org__news' in big and 'u/ESM_org__reviews' not in big
    assert sum(v for k, v in server.hits.items() if k.endswith('model.safetensors')) == before


def test_fetch_skips_every_broken_repo_with_its_reason(server):
    ids = ['u/ESM_org__news', 'old/ESM_legacy', 'u/ESM_nulldim', 'u/ESM_ratelimited', 'u/ESM_noconfig',
           'u/ESM_badconfig', 'u/ESM_shapes', 'u/ESM_nan', 'u/ESM_pickle', 'u/ESM_gone', 'u/ESM_slow']
    esms, skipped = hub.fetch_esms(ids, progress=False)
    assert [e.config.task_id for e in esms] == ['org/news', 'org/legacy', 'org/nulldim', 'org/busy']
    assert esms[2].dim == 8
    why = dict(skipped)
    assert set(why) == set(ids[4:])
    assert 'config.json or model.safetensors missing' in why['u/ESM_noconfig']
    assert "'task_id' must be a non-empty string" in why['u/ESM_badconfig']
    assert 'config says dimension 8' in why['u/ESM_shapes']
    assert 'NaN or Inf' in why['u/ESM_nan']
    assert 'safetensors' in why['u/ESM_pickle'] and not any(k.endswith('.bin') for k in server.hits)
    assert 'not found (404)' in why['u/ESM_gone']
    assert 'did not answer in time' in why['u/ESM_slow']


def test_fetch_configs_warns_with_the_reason_of_each_config_it_cannot_read(server):
    ids = ['u/ESM_org__news', 'u/ESM_noconfig', 'u/ESM_badconfig', 'u/ESM_gone']
    with pytest.warns(UserWarning, match='3 of 4 ESM configs could not be read') as caught:
        configs = hub.fetch_configs(ids)
    assert configs['u/ESM_org__news'].task_id == 'org/news' and [configs[r] for r in ids[1:]] == [None] * 3
    why = next(str(w.message) for w in caught if 'ESM configs' in str(w.message))
    assert 'u/ESM_noconfig: config.json or model.safetensors missing' in why
    assert "u/ESM_badconfig: Invalid ESM config: 'task_id' must be a non-empty string" in why
    assert 'u/ESM_gone: repository not found (404)' in why


def test_fetch_configs_raises_what_is_not_a_failure_of_the_repo(server, monkeypatch):
    "An invalid repo id is a reason like any other; an error in esm_nb or on this machine is raised, not made None."
    with pytest.warns(UserWarning, match='not a repo id'):
        assert hub.fetch_configs(['not a repo id']) == {'not a repo id': None}
    def broken(*args, **kwargs): raise RuntimeError('a bug, not the Hub')
    monkeypatch.setattr(hub, 'hf_hub_download', broken)
    with pytest.raises(RuntimeError, match='a bug, not the Hub'):
        hub.fetch_configs(['u/ESM_org__news'])


def test_resolve_model_id_warns_of_a_name_the_hub_does_not_know(server):
    with pytest.warns(UserWarning, match="the Hub knows no model 'bert-base-uncasd'.*check the spelling"):
        assert hub.resolve_model_id('bert-base-uncasd') == 'bert-base-uncasd'
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert hub.resolve_model_id('bert-base-uncased') == BASE  # an alias the Hub knows: resolved, no warning


def test_resolve_model_id_raises_a_refused_token(server):
    server.refused_tokens.add('hf_refused')
    try:
        with pytest.raises(HfHubHTTPError, match='Invalid credentials'):
            hub.resolve_model_id('bert-base-uncased', api=HfApi(token='hf_refused'))
    finally: server.refused_tokens.discard('hf_refused')


def test_fetched_esm_scores_like_the_local_one(server, tmp_path):
    from esm_nb.logme import logme
    from esm_nb.rank import rank_embeddings
    (esm,), _ = hub.fetch_esms(['u/ESM_org__news'], progress=False)
    X = np.random.default_rng(0).normal(size=(60, 8))
    y = np.arange(60) % 3
    r = rank_embeddings(X, y, model_name='bert-base-uncased', esms=[esm], method='esm_logme', progress=False)
    assert abs(r[0]['Score'] - logme(esm.transform(X).astype(np.float64), y)) < 1e-6


def test_coverage(server):
    cov = hub.get_esm_coverage()
    assert cov[BASE] >= 10 and cov['bert-base-uncased'] == 1 and cov['FacebookAI/roberta-base'] == 1


def test_offline_serves_cache_and_names_what_is_missing(server):
    hub.fetch_esms(['u/ESM_org__news'], progress=False)
    code = ("from esm_nb import hub; e, s = hub.fetch_esms(['u/ESM_org__news', 'u/ESM_org__reviews'], progress=False); "
            "print(len(e), s[0][1])")
    env = {**__import__('os').environ, 'HF_HUB_OFFLINE': '1', 'HF_HUB_CACHE': hf_constants.HF_HUB_CACHE,
           'HF_ENDPOINT': server.url}
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    n, reason = out.stdout.strip().split(' ', 1)
    assert n == '1' and 'not in the local cache' in reason


def test_ranking_without_esms_uses_the_hub(server):
    from esm_nb.rank import rank_embeddings
    X = np.random.default_rng(1).normal(size=(40, 8))
    y = np.arange(40) % 2
    r = rank_embeddings(X, y, model_name='bert-base-uncased', progress=False)
    assert {'org/news', 'org/legacy', 'org/busy', 'org/reviews'} <= set(r.to_pandas()['Task ID'])
    assert {'u/ESM_nan', 'u/ESM_pickle', 'u/ESM_gone'} <= set(r.skipped['ESM'])


def test_publish_then_discover_and_fetch(server, tmp_path, monkeypatch):
    monkeypatch.setenv('HF_TOKEN', 'hf_test_token')
    e = ESM(ESMConfig('bert-base-uncased', 'acme/tickets', task_subset='v1', esm_embedding_dim=8, num_examples=300,
                      language='en'))
    url = e.push_to_hub(private=True)
    assert url.endswith('/tester/ESM_acme__tickets_v1') and server.repos['tester/ESM_acme__tickets_v1'].private
    assert set(server.repos['tester/ESM_acme__tickets_v1'].files) == {'config.json', 'model.safetensors', 'README.md'}
    assert 'tester/ESM_acme__tickets_v1' in set(hub.find_esms('bert-base-uncased', task='tickets').repo_id)
    (back,), _ = hub.fetch_esms(['tester/ESM_acme__tickets_v1'], progress=False)
    assert torch.equal(back.model.weight, e.model.weight) and back.config.task_subset == 'v1'
    for i in range(3):
        esm = ESM(ESMConfig('bert-base-uncased', f'acme/t{i}', esm_embedding_dim=8))
        esm.save_pretrained(tmp_path / 'zoo' / f'e{i}')
    (tmp_path / 'zoo' / 'broken').mkdir()
    table = hub.publish_folder(tmp_path / 'zoo', 'acme-org', progress=False)
    assert table.repo_id.dropna().tolist() == [f'acme-org/ESM_acme__t{i}' for i in range(3)]
    assert table.set_index('folder').loc['broken', 'error'].endswith('no config.json, so this is not an ESM folder.')


def test_cli_publish_and_rank_from_the_hub(server, tmp_path, monkeypatch, capsys):
    from esm_nb.cli import main
    monkeypatch.setenv('HF_TOKEN', 'hf_test_token')
    ESM(ESMConfig('bert-base-uncased', 'cli/one', esm_embedding_dim=8)).save_pretrained(tmp_path / 'zoo' / 'one')
    assert main(['publish', str(tmp_path / 'zoo'), '--namespace', 'cli-org']) == 0
    assert 'cli-org/ESM_cli__one' in server.repos
    X = np.random.default_rng(2).normal(size=(30, 8))
    np.save(tmp_path / 'X.npy', X)
    np.save(tmp_path / 'y.npy', np.arange(30) % 2)
    assert main(['rank', '--embeddings', str(tmp_path / 'X.npy'), '--labels', str(tmp_path / 'y.npy'),
                 '--model', 'bert-base-uncased', '--hub', '--csv', str(tmp_path / 'r.csv')]) == 0
    import pandas as pd
    assert 'cli/one' in set(pd.read_csv(tmp_path / 'r.csv')['Task ID'])


def test_push_to_hub_without_importing_the_hub_module(server, tmp_path):
    "A reader who builds an ESM and pushes it has imported `esm_nb.esm` only: `push_to_hub` must be there."
    code = ("import sys; from esm_nb.esm import ESM, ESMConfig\n"
            "print(ESM(ESMConfig('bert-base-uncased', 'acme/fresh', esm_embedding_dim=8)).push_to_hub())\n"
            "assert 'esm_nb.hub' not in sys.modules")
    env = {**os.environ, 'HF_ENDPOINT': server.url, 'HF_TOKEN': 'hf_test_token', 'HF_HUB_OFFLINE': '0',
           'HF_HOME': str(tmp_path)}
    r = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().endswith('/tester/ESM_acme__fresh') and 'tester/ESM_acme__fresh' in server.repos
