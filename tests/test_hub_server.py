"""The Hub stand-in (tests/hub_server.py) at scale and under its limits, each knob exercised through the real
huggingface_hub client (2.4, on httpx2): files on disk, a generated ESM collection, rate limits and their headers,
5xx / dropped / truncated answers, latency and a shared bandwidth cap, Range requests, paginated listing, LFS uploads.

What these tests pin down about huggingface_hub 2.4 itself (see the report of each test):
- the metadata HEAD of `hf_hub_download` is retried on 5xx and 429 (up to 6 more times, waits 1, 2, 4, 8, 8 s; on a 429
  that carries `RateLimit: ...;r=0;t=T` it waits T+1 s, else Retry-After+1 s), but a connection closed before the
  answer (httpx2.RemoteProtocolError) is raised at once;
- the GET is retried on 429 only: a 5xx on the download itself raises HfHubHTTPError;
- a body cut short is retried after 1 s up to 5 times (the count starts again whenever data came), from the last whole
  10 MiB chunk (DOWNLOAD_CHUNK_SIZE) with `Range: bytes=<n>-`: a file under 10 MiB starts again from 0;
- partial `<etag>.incomplete` files are per process and deleted on failure: nothing resumes across calls."""
import hashlib, os, threading, time, tracemalloc
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import httpx2, pytest, torch
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
import huggingface_hub.constants as hf_constants
from huggingface_hub.utils import HfHubHTTPError, get_session, hf_raise_for_status, parse_ratelimit_headers
import hub_server
from hub_server import HubServer, Repo
from hub_collection import generate_collection, load_collection

BASE = 'google-bert/bert-base-uncased'
MB = 1 << 20


@pytest.fixture
def hub(tmp_path, monkeypatch):
    "Make HubServers that huggingface_hub talks to (each with a fresh cache); closed after the test."
    servers = []

    def make(repos=None, **kw) -> HubServer:
        srv = HubServer({} if repos is None else repos, **kw)
        srv.point_clients(monkeypatch, tmp_path / f'hub-cache-{len(servers)}')
        servers.append(srv)
        return srv
    yield make
    for srv in servers: srv.close()


def download(repo_id, filename, **kw) -> bytes: return Path(hf_hub_download(repo_id, filename, **kw)).read_bytes()
def answers(srv, pattern='') -> list: return [(m, code, rng) for m, path, code, rng in srv.log if pattern in path]


def test_files_on_disk_are_streamed_and_their_etag_is_cheap(hub, tmp_path, monkeypatch):
    weights = tmp_path / 'model.safetensors'
    weights.write_bytes(os.urandom(3 * MB))
    srv = hub({'u/disk': Repo({'model.safetensors': weights, 'config.json': b'{}'})})
    opened = []
    monkeypatch.setattr(hub_server, 'open', lambda *a, **k: opened.append(a[0]) or open(*a, **k), raising=False)
    url = f'{srv.url}/u/disk/resolve/main/model.safetensors'
    heads = [get_session().head(url) for _ in range(3)]
    st = weights.stat()
    cheap = hashlib.sha1(f'{weights}\0{st.st_size}\0{st.st_mtime_ns}'.encode()).hexdigest()
    assert {h.headers['ETag'] for h in heads} == {f'"{cheap}"'} and heads[0].headers['Content-Length'] == str(3 * MB)
    assert opened == []  # answering HEAD neither reads nor opens the file
    assert download('u/disk', 'model.safetensors') == weights.read_bytes() and opened == [weights]
    tree = get_session().get(f'{srv.url}/api/models/u/disk/tree/main').json()
    assert {e['path']: e['size'] for e in tree} == {'config.json': 2, 'model.safetensors': 3 * MB}
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the file changed: a new ETag
    assert get_session().head(url).headers['ETag'] != f'"{cheap}"'


def test_generated_collection_matches_save_pretrained_and_loads_through_the_hub(hub, tmp_path):
    from esm_nb.esm import ESM
    t = time.monotonic()
    folder = generate_collection(tmp_path / 'esms', 20, dim=8)
    took = time.monotonic() - t
    ref = generate_collection(tmp_path / 'ref', 3, dim=8, via_esm=True)  # written by ESM.save_pretrained itself
    written = sorted(p.relative_to(ref) for p in ref.rglob('*') if p.is_file())
    assert len(written) == 9 and all((folder / p).read_bytes() == (ref / p).read_bytes() for p in written)
    repos = load_collection(folder, aliases={'bert-base-uncased': BASE})
    assert len(repos) == 20 and all(isinstance(f, Path) for r in repos.values() for f in r.files.values())
    some = next(iter(repos.values()))
    assert {'embedding_space_map', 'BaseLM:bert-base-uncased', f'base_model:{BASE}'} <= set(some.tags)
    assert some.card['base_model'] == 'bert-base-uncased' and some.card['library_name'] == 'esm_nb'
    srv = hub(repos, aliases={'bert-base-uncased': BASE})
    listed = HfApi().list_models(filter=['embedding_space_map', f'base_model:{BASE}'], expand=['cardData'])
    ids = [m.id for m in listed]
    assert sorted(ids) == sorted(repos)
    tasks = set()
    for rid in ids[:6]:
        hubbed, local = ESM.from_pretrained(rid), ESM.from_pretrained(folder / rid)
        assert hubbed.config == local.config and hubbed.dim == 8
        W = hubbed.model.weight
        assert torch.equal(W, local.model.weight) and W.dtype == torch.float32
        assert 0 < (W - torch.eye(8)).abs().max() < 0.5  # near identity, not identity
        tasks.add(hubbed.config.task_id)
    assert len(tasks) == 6 and srv.stats['requests']['resolvers'] == 6 * 4  # HEAD and GET of config and weights
    assert took < 5


def test_collection_at_scale_lists_in_pages_and_serves_concurrent_downloads(hub, tmp_path):
    repos = load_collection(generate_collection(tmp_path / 'esms', 1500, dim=4), aliases={'bert-base-uncased': BASE})
    srv = hub(repos, aliases={'bert-base-uncased': BASE})
    ids = [m.id for m in HfApi().list_models(filter='embedding_space_map', expand=['sha'])]
    assert len(ids) == 1500 == len(set(ids)) and len(answers(srv, '/api/models')) == 2  # pages of 1000
    with ThreadPoolExecutor(32) as ex:
        got = list(ex.map(lambda r: download(r, 'config.json'), ids[:300]))
    assert all(g == (tmp_path / 'esms' / r / 'config.json').read_bytes() for r, g in zip(ids, got))


def test_5xx_resets_drops_and_truncations_through_hf_hub_download(hub):
    files = {f'{k}.safetensors': os.urandom(MB) for k in 'abcde'}
    srv = hub({'u/r': Repo(files)})
    # a 5xx on the metadata HEAD is retried (the first HEAD does not retry; the second one does, after 1 s)
    f = srv.fault(r'/a\.safetensors$', 503, times=2, methods='HEAD')
    assert download('u/r', 'a.safetensors') == files['a.safetensors'] and f.served == 2
    assert answers(srv, 'a.safetensors') == [('HEAD', 503, None)] * 2 + [('HEAD', 200, None), ('GET', 200, None)]
    # a 5xx on the GET is not: hf_hub_download raises
    srv.fault(r'/b\.safetensors$', 502, methods='GET')
    with pytest.raises(HfHubHTTPError) as e: download('u/r', 'b.safetensors')
    assert e.value.response.status_code == 502 and download('u/r', 'b.safetensors') == files['b.safetensors']
    # a connection closed after the headers, and a body cut short, are retried after 1 s: from 0, under 10 MiB
    srv.fault(r'/c\.safetensors$', 'drop')
    srv.fault(r'/d\.safetensors$', 'truncate')
    assert download('u/r', 'c.safetensors') == files['c.safetensors']
    assert download('u/r', 'd.safetensors') == files['d.safetensors']
    assert answers(srv, 'd.safetensors') == [('HEAD', 200, None), ('GET', 200, None), ('GET', 200, None)]
    # a connection closed before any answer to the HEAD is raised, not retried
    srv.fault(r'/e\.safetensors$', 'reset', methods='HEAD')
    with pytest.raises(httpx2.RemoteProtocolError): download('u/r', 'e.safetensors')
    assert download('u/r', 'e.safetensors') == files['e.safetensors']
    assert srv.stats['faults'] == Counter({'503': 2, '502': 1, 'drop': 1, 'truncate': 1, 'reset': 1})
    assert srv.stats['bytes_sent'] >= 5 * MB + MB // 2  # the five files, and half of d before the cut
    assert all(f.left == 0 for f in srv.faults)


def test_range_requests_and_resume_after_a_cut_from_the_last_whole_chunk(hub):
    big = os.urandom(12 * MB)  # above huggingface_hub's DOWNLOAD_CHUNK_SIZE (10 MiB): a cut keeps the first chunk
    srv = hub({'u/r': Repo({'big.safetensors': big})})
    url, s = f'{srv.url}/u/r/resolve/main/big.safetensors', get_session()
    r = s.get(url, headers={'Range': 'bytes=10-19'})
    assert (r.status_code, r.content, r.headers['Content-Range']) == (206, big[10:20], f'bytes 10-19/{len(big)}')
    assert s.get(url, headers={'Range': 'bytes=-5'}).content == big[-5:]
    assert s.get(url, headers={'Range': f'bytes={len(big) - 3}-'}).content == big[-3:]
    r = s.get(url, headers={'Range': f'bytes={len(big)}-'})
    assert r.status_code == 416 and r.headers['Content-Range'] == f'bytes */{len(big)}'
    assert s.get(url).headers['Accept-Ranges'] == 'bytes'
    srv.log.clear()
    srv.fault(r'big\.safetensors$', 'truncate', after=11 * MB)
    assert download('u/r', 'big.safetensors') == big
    assert answers(srv) == [('HEAD', 200, None), ('GET', 200, None), ('GET', 206, f'bytes={10 * MB}-')]
    assert srv.stats['ranges'] == 4  # the 206 answers


def test_rate_limit_headers_parse_and_the_client_waits_for_the_window(hub):
    srv = hub({'u/r': Repo({'a.bin': b'a' * 100, 'b.bin': b'b' * 100})}, limits={'api': (5, 300)})
    s = get_session()
    r = s.get(f'{srv.url}/api/whoami-v2')
    assert r.headers['RateLimit'] == '"api";r=4;t=300' and r.headers['RateLimit-Policy'] == \
        '"fixed window";"api";q=5;w=300'
    info = parse_ratelimit_headers(r.headers)
    assert (info.resource_type, info.remaining, info.reset_in_seconds, info.limit, info.window_seconds) == \
        ('api', 4, 300, 5, 300)
    assert 'RateLimit' not in s.head(f'{srv.url}/u/r/resolve/main/a.bin').headers  # 'resolvers' is not limited
    srv.limit('resolvers', requests=3, window=1.0)
    url = f'{srv.url}/u/r/resolve/main/a.bin'
    got = [s.head(url) for _ in range(4)]
    assert [g.status_code for g in got] == [200, 200, 200, 429]
    assert [parse_ratelimit_headers(g.headers).remaining for g in got] == [2, 1, 0, 0]
    assert got[3].headers['Retry-After'] == '1' and parse_ratelimit_headers(got[3].headers).reset_in_seconds == 1
    with pytest.raises(HfHubHTTPError, match="(?s)reached your 'resolvers' rate limit.*Retry after 1 seconds"):
        hf_raise_for_status(got[3])
    # hf_hub_download: the first HEAD is not retried, the second one waits t+1 s for the next window
    srv.limit('resolvers', requests=2, window=1.0)
    srv.log.clear()
    t = time.monotonic()
    assert download('u/r', 'a.bin') == b'a' * 100 and download('u/r', 'b.bin') == b'b' * 100
    assert time.monotonic() - t > 1.5
    assert [a[:2] for a in answers(srv, 'b.bin')] == [('HEAD', 429), ('HEAD', 429), ('HEAD', 200), ('GET', 200)]
    assert srv.stats['rate_limited'] == 3 and srv.stats['requests']['api'] >= 1
    srv.limit('resolvers', None)
    assert 'RateLimit' not in s.head(url).headers


def test_list_models_follows_pages_through_faults_and_rate_limits(hub):
    repos = {f'org{i % 3}/model-{i}': Repo({'config.json': b'{}'}, ['embedding_space_map'] + ['odd'] * (i % 2))
             for i in range(250)}
    srv = hub(repos, page_size=100)
    api = HfApi()
    got = list(api.list_models(filter='embedding_space_map', expand=['sha']))
    assert [m.id for m in got] == list(repos) and all(m.sha == repos[m.id].sha for m in got)
    assert got[0].tags is None and got[0].card_data is None  # only what was asked for
    assert len(answers(srv, '/api/models')) == 3
    first = get_session().get(f'{srv.url}/api/models', params={'filter': 'odd'})
    assert len(first.json()) == 100 and first.links['next']['url'].startswith(f'{srv.url}/api/models?filter=odd&')
    assert len(list(api.list_models(filter=['embedding_space_map', 'odd']))) == 125
    assert [m.id for m in api.list_models(author='org1', search='MODEL-1')] == \
        [r for r in repos if r.startswith('org1/') and 'model-1' in r]
    srv.log.clear()
    assert len(list(api.list_models(limit=5))) == 5 and len(srv.log) == 1
    m = next(iter(api.list_models(expand=['createdAt', 'lastModified', 'cardData', 'tags'], limit=1)))
    assert m.created_at.year >= 2024 and m.last_modified is not None and m.tags == ['embedding_space_map']
    bracketed = get_session().get(f'{srv.url}/api/models', params=[('expand[]', 'sha'), ('expand[]', 'author')])
    assert set(bracketed.json()[0]) == {'_id', 'id', 'sha', 'author'}  # the Hub's own spelling, as browsers send it
    plain = get_session().get(f'{srv.url}/api/models', params={'limit': 1}).json()[0]
    assert set(plain) == {'_id', 'id', 'likes', 'trendingScore', 'private', 'downloads', 'tags', 'pipeline_tag',
                          'library_name', 'createdAt', 'modelId'}
    # a 503 on the first page is retried after 1 s; a 429 on the third after t+1 s
    srv.limit('api', requests=2, window=1.0)
    srv.fault(r'^/api/models$', 503)
    t = time.monotonic()
    assert len(list(api.list_models(expand=['sha']))) == 250
    assert time.monotonic() - t > 2 and srv.stats['rate_limited'] >= 1 and srv.stats['faults']['503'] == 1


def test_latency_and_a_bandwidth_cap_shared_by_all_downloads(hub):
    srv = hub({'u/r': Repo({'a.bin': os.urandom(2 * MB), 'b.bin': os.urandom(2 * MB)})})
    s = get_session()

    def timed(*paths):
        t = time.monotonic()
        with ThreadPoolExecutor(len(paths)) as ex: bodies = list(ex.map(lambda p: s.get(srv.url + p).content, paths))
        return time.monotonic() - t, bodies
    srv.latency = 0.3
    took, _ = timed(*['/api/whoami-v2'] * 8)
    assert 0.3 <= took < 1.2  # every request waits, side by side
    srv.latency, srv.bandwidth = 0, 4e6
    one, (a,) = timed('/u/r/resolve/main/a.bin')
    two, (a2, b) = timed('/u/r/resolve/main/a.bin', '/u/r/resolve/main/b.bin')
    assert a == a2 == srv.repos['u/r'].files['a.bin'] and len(b) == 2 * MB
    assert 0.4 < one < 0.9 and 0.9 < two < 1.8  # 2 MB alone, then 4 MB through the same 4 MB/s
    srv.bandwidth = None
    assert timed('/u/r/resolve/main/a.bin', '/u/r/resolve/main/b.bin')[0] < 0.4


@pytest.mark.parametrize('keep_alive', [False, True])
def test_hundreds_of_concurrent_connections(hub, keep_alive):
    srv = hub({f'u/r{i}': Repo({'config.json': f'{{"i": {i}}}'.encode()}) for i in range(50)}, keep_alive=keep_alive)
    with httpx2.Client(limits=httpx2.Limits(max_connections=200), timeout=20) as c:
        def get(i): return c.get(f'{srv.url}/u/r{i % 50}/resolve/main/config.json')
        with ThreadPoolExecutor(128) as ex: got = list(ex.map(get, range(600)))
        assert [r.json()['i'] for r in got] == [i % 50 for i in range(600)]
        assert srv.stats['requests']['resolvers'] == 600 == srv.stats['status'][200]
        srv.close()  # kept-alive connections are cut too: the next request fails at once instead of hanging
        t = time.monotonic()
        with pytest.raises(httpx2.TransportError): get(0)
        assert time.monotonic() - t < 2


def test_lfs_upload_then_download(hub, tmp_path):
    srv = hub(lfs_threshold=MB, storage=tmp_path / 'lfs')
    api = HfApi(token='hf_test_token')
    api.create_repo('tester/big')
    big = tmp_path / 'big.bin'
    big.write_bytes(os.urandom(3 * MB))
    oid = hashlib.sha256(big.read_bytes()).hexdigest()
    srv.reset_stats()
    srv.log.clear()
    srv.fault(r'^/lfs/', 503, methods='PUT')  # the object store fails once: the PUT is retried after 1 s
    api.create_commit('tester/big', [CommitOperationAdd('weights/big.bin', big),
                                     CommitOperationAdd('README.md', b'---\ntags:\n- huge\n---\n# big\n')],
                      commit_message='add big')
    calls = [(m, p, code) for m, p, code, _ in srv.log]
    assert calls == [('POST', '/api/validate-yaml', 200), ('POST', '/api/models/tester/big/preupload/main', 200),
                     ('POST', '/tester/big.git/info/lfs/objects/batch', 200), ('PUT', f'/lfs/{oid}', 503),
                     ('PUT', f'/lfs/{oid}', 200),
                     ('POST', '/tester/big.git/info/lfs/objects/verify', 200),
                     ('POST', '/api/models/tester/big/commit/main', 200)]
    assert srv.stats['bytes_received'] < 2 * 3 * MB + 20_000  # the file twice, raw: no base64 in the commit
    repo = srv.repos['tester/big']
    assert repo.lfs == {'weights/big.bin': oid} and (tmp_path / 'lfs' / oid).read_bytes() == big.read_bytes()
    assert isinstance(repo.files['README.md'], bytes) and repo.tags == ['huge'] and repo.card == {'tags': ['huge']}
    assert download('tester/big', 'weights/big.bin') == big.read_bytes()
    assert get_session().head(f'{srv.url}/tester/big/resolve/main/weights/big.bin').headers['ETag'] == f'"{oid}"'
    entry = get_session().get(f'{srv.url}/api/models/tester/big/tree/main/weights').json()[0]
    assert entry['lfs'] == {'oid': oid, 'size': 3 * MB, 'pointerSize': 134}
    # the same content under another name: the batch answer has no actions, nothing is uploaded again
    api.upload_file(path_or_fileobj=str(big), path_in_repo='copy.bin', repo_id='tester/big')
    assert [m for m, *_ in srv.log].count('PUT') == 2 and repo.lfs['copy.bin'] == oid  # the 503 and the upload


def test_lfs_multipart_upload_to_a_dataset_repo(hub, tmp_path):
    srv = hub(lfs_threshold=MB, lfs_part_size=MB)
    api = HfApi(token='hf_test_token')
    api.create_repo('tester/data', repo_type='dataset')
    data = os.urandom(5 * MB // 2)
    api.upload_file(path_or_fileobj=data, path_in_repo='train.bin', repo_id='tester/data', repo_type='dataset')
    oid = hashlib.sha256(data).hexdigest()
    puts = [p for m, p, code, _ in srv.log if m == 'PUT' and code == 200]
    assert puts == [f'/lfs/{oid}/part/{i}' for i in (1, 2, 3)] and srv.hits[f'/lfs/{oid}/complete'] == 1
    assert srv.hits['/datasets/tester/data.git/info/lfs/objects/batch'] == 1
    assert download('tester/data', 'train.bin', repo_type='dataset') == data
    assert not list(srv.storage.glob('.*'))  # no parts left behind


def test_lfs_upload_of_300_mb_streams_through_disk(hub, tmp_path):
    srv = hub(storage=tmp_path / 'lfs')  # the Hub's threshold: 10 MiB
    api = HfApi(token='hf_test_token')
    api.create_repo('tester/huge')
    huge = tmp_path / 'huge.bin'
    with open(huge, 'wb') as f:  # sparse in the middle: quick to write
        f.write(os.urandom(MB))
        f.truncate(300 * MB)
        f.seek(0, 2)
        f.write(os.urandom(MB))
    tracemalloc.start()
    try:
        api.upload_file(path_or_fileobj=str(huge), path_in_repo='huge.bin', repo_id='tester/huge')
        peak = tracemalloc.get_traced_memory()[1]
    finally: tracemalloc.stop()
    assert peak < 32 * MB  # client and server both stream: neither holds the file (nor its base64) in memory
    assert srv.repos['tester/huge'].lfs['huge.bin'] and srv.stats['bytes_received'] < 302 * MB
    got = hf_hub_download('tester/huge', 'huge.bin')
    assert os.path.getsize(got) == 301 * MB and open(got, 'rb').read(MB) == huge.open('rb').read(MB)


def test_xet_uploads_are_refused_and_point_clients_switches_xet_off(hub, tmp_path, monkeypatch):
    srv = hub(lfs_threshold=MB)
    assert os.environ['HF_HUB_DISABLE_XET'] == '1' and hf_constants.HF_HUB_DISABLE_XET is True
    api = HfApi(token='hf_test_token')
    api.create_repo('tester/xet')
    monkeypatch.setattr(hf_constants, 'HF_HUB_DISABLE_XET', False)  # huggingface_hub 2.4 then uploads through Xet
    with pytest.raises(Exception, match='501'):
        api.upload_file(path_or_fileobj=os.urandom(2 * MB), path_in_repo='x.bin', repo_id='tester/xet')
    assert ('GET', '/api/models/tester/xet/xet-write-token/main', 501, None) in srv.log
    r = get_session().get(f'{srv.url}/api/models/tester/xet/xet-write-token/main')
    assert 'HF_HUB_DISABLE_XET=1' in r.headers['X-Error-Message']


def test_stats_count_buckets_and_the_old_api_still_works(hub):
    srv = hub({'u/r': Repo({'config.json': b'{}'}, ['t'], fail_first=1)}, aliases={'old/r': 'u/r'})
    s = get_session()
    assert s.get(f'{srv.url}/').status_code == 404 and s.get(f'{srv.url}/api/models').status_code == 200
    assert download('old/r', 'config.json') == b'{}'  # redirected, after a 429 (Retry-After: 0, so waits 1 s)
    st = srv.stats
    assert st['requests']['pages'] == 1 and st['requests']['api'] >= 1 and st['requests']['resolvers'] >= 3
    assert st['status'][307] >= 1 and st['status'][429] == 1 and st['rate_limited'] == 0  # not a metered limit
    assert srv.hits['/u/r/resolve/main/config.json'] >= 2
    srv.refused_tokens.add('hf_bad')
    assert s.get(f'{srv.url}/api/whoami-v2', headers={'Authorization': 'Bearer hf_bad'}).status_code == 401
    srv.add_dataset('u/d', {'a.txt': b'a'})
    assert download('u/d', 'a.txt', repo_type='dataset') == b'a'
    assert threading.active_count() < 100
