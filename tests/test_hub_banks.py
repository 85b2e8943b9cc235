"""ESM banks on the Hub, end to end against the local Hub stand-in (tests/hub_server.py): build a bank from the
published ESMs, publish it, find it, fetch it, and rank with it; a stale bank completed; fetches under the Hub's rate
limits, interrupted and resumed, with shard downloads that fail; an unreachable Hub reported at once."""
import time
from itertools import islice
import numpy as np, pytest
from esm_nb import hub, hub_banks
from esm_nb.rank import rank_embeddings
from hub_server import HubServer, Repo
from test_hub import BASE, esm_files, tags

N = 24  # published ESMs
X = np.random.default_rng(5).normal(size=(60, 8))
Y = np.arange(60) % 3


def esm_repo(i: int, seed: int | None = None) -> Repo:
    r = Repo(esm_files(f'org/task{i:02d}', seed=i if seed is None else seed), tags(),
             {'language': ['en'], 'datasets': [f'org/task{i:02d}']})
    r.recompute_sha()  # a commit of its contents: other weights, another commit
    return r


@pytest.fixture
def hub_at(tmp_path, monkeypatch):
    "A fresh stand-in Hub with N ESMs for bert-base-uncased and a fresh cache, for each test."
    srv = HubServer({f'u/ESM_org__task{i:02d}': esm_repo(i) for i in range(N)},
                    aliases={'bert-base-uncased': BASE, BASE: BASE})
    srv.repos[BASE] = Repo({'config.json': b'{}'}, [])
    srv.point_clients(monkeypatch, tmp_path / 'hf-cache')
    monkeypatch.setenv('HF_TOKEN', 'hf_test_token')
    yield srv
    srv.close()


def rank(**kw):
    return rank_embeddings(X, Y, model_name='bert-base-uncased', progress=False, **kw)


def same_ranking(a, b):
    "The same ESMs at the same commits with the same scores (ties may be listed in another order)."
    ta, tb = (r.to_pandas().set_index('ESM').sort_index() for r in (a, b))
    assert ta.index.tolist() == tb.index.tolist() and ta['Revision'].tolist() == tb['Revision'].tolist()
    np.testing.assert_allclose(ta['Score'], tb['Score'], rtol=1e-9)
    assert a.to_pandas()['Score'].is_monotonic_decreasing


def test_bank_round_trip_ranks_like_the_repos(hub_at, tmp_path):
    "build → push → find → fetch → rank gives the per-repo ranking; the bank is not listed as an ESM."
    bank = hub_banks.build_bank('bert-base-uncased', tmp_path / 'bank', progress=False)
    assert len(bank) == N and bank.about['base_model'] == BASE and bank.entries[0].revision
    url = hub_banks.push_bank(bank, 'tester/esm-bank-bert')
    assert url.endswith('tester/esm-bank-bert')
    card = hub_at.repos['tester/esm-bank-bert'].read('README.md').decode()
    assert f'base_model: {BASE}' in card and f'- {hub_banks.BANK_TAG}' in card and 'esm-nb bank --from-hub' in card
    found = hub_banks.find_banks('bert-base-uncased')
    assert found.repo_id.tolist() == ['tester/esm-bank-bert'] and found.esms[0] == N
    assert 'tester/esm-bank-bert' not in set(hub.find_esms('bert-base-uncased').repo_id)
    by_repo, by_bank = rank(fetch='repos'), rank()
    assert len(by_repo) == N and 'one by one: as asked' in by_repo.note
    assert by_bank.note.startswith(f'{N} ESMs from the bank tester/esm-bank-bert')
    same_ranking(by_bank, by_repo)
    same_ranking(rank(banks='hf://tester/esm-bank-bert'), by_repo)
    assert rank(fetch='bank').note == by_bank.note


def test_stale_bank_is_completed_one_by_one(hub_at, tmp_path):
    hub_banks.push_bank(hub_banks.build_bank('bert-base-uncased', tmp_path / 'bank', progress=False), 'tester/bank')
    hub_at.repos['u/ESM_org__task03'] = esm_repo(3, seed=99)  # changed since the bank was built: a new commit
    for i in (N, N + 1): hub_at.repos[f'u/ESM_org__task{i:02d}'] = esm_repo(i)  # published since
    del hub_at.repos['u/ESM_org__task05']  # no longer published
    ranked = rank()
    assert f'{N - 2} ESMs from the bank tester/bank' in ranked.note
    assert '3 fetched one by one' in ranked.note and '1 no longer published' in ranked.note
    same_ranking(ranked, rank(fetch='repos'))
    assert 'u/ESM_org__task05' not in set(ranked.to_pandas()['ESM']) and len(ranked) == N + 1


def test_no_bank_published(hub_at):
    ranked = rank()
    assert len(ranked) == N and 'no bank is published' in ranked.note
    with pytest.raises(ValueError, match='No ESM bank is published'): rank(fetch='bank')


def test_rate_limited_fetch_completes(hub_at):
    "Under a budget of 12 downloads a second, every one of the N ESMs is fetched and ranked, none skipped."
    hub_at.limit('resolvers', requests=12, window=1.0)
    t0 = time.monotonic()
    ranked = rank(fetch='repos')
    assert len(ranked) == N and len(ranked.skipped) == 0
    assert hub_at.stats['rate_limited'] > 0  # the limit was met, and waited out
    assert time.monotonic() - t0 < 60


def test_interrupted_fetch_resumes_without_fetching_again(hub_at):
    repos = hub.find_esms('bert-base-uncased')
    got = list(islice(hub.iter_esms(repos.repo_id.tolist(), repos.revision.tolist(), progress=False), 10))
    assert all(not isinstance(x, str) for _, x in got)
    fetched = {r for r, _ in got}
    before = dict(hub_at.hits)
    ranked = rank(fetch='repos')
    assert len(ranked) == N
    again = [p for p, n in hub_at.hits.items() if n > before.get(p, 0) and '/resolve/' in p
             and p.split('/resolve/')[0].lstrip('/') in fetched]
    assert again == [], again  # what was fetched before the interruption is read from the cache


def test_shard_failures_are_retried_and_cost_only_their_esms(hub_at, tmp_path):
    bank = hub_banks.build_bank('bert-base-uncased', tmp_path / 'bank', progress=False,
                                shard_bytes=8 * (8 * 8 * 4 + 8 * 4))  # shards of 8 ESMs
    hub_banks.push_bank(bank, 'tester/sharded')
    assert len(bank.shards) == N // 8
    hub_at.fault(r'/resolve/.*/shard-00001\.safetensors', 'drop', times=1)  # dropped once: retried, all there
    hub_at.fault(r'/resolve/.*/shard-00002\.safetensors', 404, times=1000)  # gone for good: its ESMs skipped
    ranked = rank(banks='hf://tester/sharded')
    assert len(ranked) == N - 8 and len(ranked.skipped) == 8
    assert all('its bank shard could not be downloaded' in r for r in ranked.skipped.Reason)


def test_unreachable_hub_is_reported_at_once(monkeypatch, tmp_path):
    import huggingface_hub.constants as c
    monkeypatch.setattr(c, 'ENDPOINT', 'http://127.0.0.1:9')
    monkeypatch.setattr(c, 'HF_HUB_OFFLINE', False)
    t0 = time.monotonic()
    with pytest.raises(ValueError, match='cannot be reached') as e: rank()
    assert time.monotonic() - t0 < 5 and 'bundled zoo' in str(e.value)


def test_cli_builds_and_pushes_a_float16_bank(hub_at, tmp_path, capsys):
    from esm_nb.cli import main
    out = tmp_path / 'b16'
    assert main(['bank', '--from-hub', 'bert-base-uncased', '--dtype', 'float16', '--out', str(out), '-q']) == 0
    assert f'{N} ESMs of dimension 8 as float16' in capsys.readouterr().out
    assert main(['bank', 'push', str(out), 'tester/b16']) == 0
    half = rank(banks='hf://tester/b16', method='esm_logme').to_pandas()  # kNN's score is a step: see FLOAT16_CONTRACT
    full = rank(fetch='repos', method='esm_logme').to_pandas().set_index('ESM').loc[half['ESM']]
    np.testing.assert_allclose(half['Score'], full['Score'], rtol=1e-3)
