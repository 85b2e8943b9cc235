"""A local stand-in for the Hugging Face Hub, at scale and under its limits, for huggingface_hub, transformers and
datasets to talk to over real HTTP on 127.0.0.1 (point them at it with `HubServer.point_clients`).

It serves what those clients ask of the Hub: model and dataset listing (`/api/models`, `/api/datasets`: filter, search,
author, limit, expand, pages linked by a `Link: <...>; rel="next"` header), repo info, tree listing, file resolve
(HEAD and GET, Range requests, renamed repos redirected), whoami, repo creation, uploads (`preupload` and `commit`:
small files inline in base64, large ones through the LFS batch API, stored on disk).

Every knob is off by default, so a plain `HubServer(repos)` answers at once and never fails:

- files on disk: a `Repo`'s file may be a `pathlib.Path` instead of bytes; it is streamed in chunks, its size is
  stat'ed, its ETag is a cheap id of path, size and mtime (the file is never read to answer a HEAD). A generated
  collection of ESM repos on disk: `hub_collection.generate_collection` / `load_collection`.
- per-repo misbehaviour (as before): `Repo(fail_first=n)` answers n file requests with 429, `delay` seconds before
  each file, `missing` answers 404, `gated` answers 403 GatedRepo.
- rate limits, like the Hub's: requests are metered in buckets, 'api' (`/api/...`, `.git/info/lfs`), 'resolvers'
  (`/.../resolve/...`, file downloads) and 'pages' (anything else), in fixed windows. `limit(bucket, requests, window)`
  (or `HubServer(limits={'resolvers': (100, 300)})`) caps a bucket; each answer in a capped bucket then carries the
  IETF headers the Hub sends, `RateLimit: "resolvers";r=<remaining>;t=<seconds to reset>` and
  `RateLimit-Policy: "fixed window";"resolvers";q=<limit>;w=<window>`; over the cap the answer is 429 with those
  headers (r=0) and `Retry-After: <t>`. Seconds are whole numbers, rounded up, as huggingface_hub parses only digits.
- faults, for paths matching a regex, switchable at run time: `fault(pattern, 503, times=2)` answers 5xx,
  `fault(pattern, 'reset')` closes the connection before answering, `fault(pattern, 'drop', after=0)` closes it after
  the headers (and `after` bytes of the body), `fault(pattern, 'truncate')` promises the whole body (Content-Length)
  and sends half of it (or `after` bytes) before closing. `clear_faults()`.
- `latency`: seconds added to every request; `bandwidth`: bytes/s for all response bodies together (one token bucket
  shared by every connection); both plain attributes, settable at any time (None or 0: off).
- `page_size`: listing page length (the Hub's is 1000; each page is one request in the 'api' bucket).
- uploads: `lfs_threshold` (bytes; files above it are 'lfs' in the preupload answer, as the Hub does above 10 MiB),
  `lfs_part_size` (when set, LFS uploads larger than it use the multipart transfer, parts of that size), `storage`
  (folder for uploaded LFS objects; a temporary one by default). huggingface_hub 2.4 uploads LFS files through Xet
  whenever hf_xet is installed, decided on the client: `point_clients` sets HF_HUB_DISABLE_XET, and the Xet token
  endpoint answers 501 saying so. The LFS batch answer offers the 'basic' (or 'multipart') transfer only.
- `keep_alive`: HTTP/1.1 persistent connections (default HTTP/1.0, one connection per request).
- counters: `hits` (requests per path, as before), `stats` (requests per bucket, answers per status, bytes sent and
  received, 429s sent, faults served per kind, range answers; `reset_stats()`), `log` (the last 100,000 answers as
  (method, path, status, Range header)), `refused_tokens` (a token there is answered 401).

The server is a ThreadingHTTPServer (daemon threads, listen backlog 1024), so hundreds of concurrent downloads work.

What huggingface_hub 2.4 does with these (tests/test_hub_server.py pins it down): `hf_hub_download` retries its
metadata HEAD on 429 and 5xx (the first HEAD fails fast, a second one retries up to 5 times, waiting 1, 2, 4, 8, 8 s,
or RateLimit's t+1 s on a 429 with r=0, or Retry-After+1 s), but not on a connection closed before the answer; its GET
retries 429 only (a 5xx raises), and resumes a body cut short after 1 s, up to 5 times, from the last whole 10 MiB
chunk it received (with `Range`), so a smaller file starts again from 0. `list_models` pages retry 429 and 5xx alike.
"""
import base64, hashlib, json, math, os, re, shutil, socket, sys, tempfile, threading, time
from collections import Counter, deque
from datetime import datetime, timezone
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlparse, parse_qs, parse_qsl, unquote, urlencode

BUCKETS = ('api', 'resolvers', 'pages')
FAULT_KINDS = ('reset', 'drop', 'truncate')
SERVER_ERROR = b'{"error": "Internal Error - We\'re working hard to fix this as soon as possible!"}'


def _now() -> str: return datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.000Z')


def card_tags(card: str, aliases: dict | None = None) -> list:
    "What the Hub derives from a model card's YAML header: its tags, and base_model:<resolved id>."
    aliases = aliases or {}
    head = card.split('---')[1] if card.startswith('---') else ''
    tags = re.findall(r'^- (\S+)$', head.split('tags:')[1], re.M) if 'tags:' in head else []
    base = re.search(r'^base_model: (\S+)$', head, re.M)
    if base: tags.append('base_model:' + aliases.get(base.group(1), base.group(1)))
    return tags


def card_data(card: str) -> dict:
    "The YAML header of a model or dataset card as a dict (the Hub's `cardData`); {} without one."
    if not card.startswith('---') or card.count('---') < 2: return {}
    import yaml
    try: data = yaml.load(card.split('---')[1], Loader=getattr(yaml, 'CSafeLoader', yaml.SafeLoader))
    except yaml.YAMLError: return {}
    return json.loads(json.dumps(data, default=str)) if isinstance(data, dict) else {}


class Repo:
    """A repo's files (path in repo -> bytes, or a `pathlib.Path` read when asked), tags and card data, and how its
    file requests misbehave: `fail_first` 429s, `delay` seconds each, `missing` (404), `gated` (403 GatedRepo, as the
    Hub answers a user who has not been granted access)."""
    def __init__(self, files, tags=(), card=None, fail_first=0, delay=0.0, missing=False, private=False, gated=False):
        self.files, self.tags, self.card, self.private = dict(files), list(tags), card or {}, private
        self.gated = gated
        self.fail_first, self.delay, self.missing = fail_first, delay, missing
        self.sha = hashlib.sha1(json.dumps(sorted(self.files)).encode()).hexdigest()
        self.lfs = {}  # path -> sha256 of the files uploaded through LFS
        self.created = self.modified = _now()
        self._oids = {}

    def size(self, f) -> int:
        v = self.files[f]
        return len(v) if isinstance(v, (bytes, bytearray)) else os.stat(v).st_size

    def read(self, f) -> bytes:
        v = self.files[f]
        return bytes(v) if isinstance(v, (bytes, bytearray)) else Path(v).read_bytes()

    def oid(self, f) -> str:
        """The file's id, its ETag: the LFS sha256 of an uploaded large file, sha1 of the bytes of one in memory, and
        for one on disk sha1 of its path, size and mtime (cheap, stable while the file is), remembered."""
        if f in self.lfs: return self.lfs[f]
        v = self.files[f]
        if isinstance(v, (bytes, bytearray)):
            key = id(v)
            make = lambda: hashlib.sha1(v).hexdigest()
        else:
            st = os.stat(v)
            key = (str(v), st.st_size, st.st_mtime_ns)
            make = lambda: hashlib.sha1('\0'.join(map(str, key)).encode()).hexdigest()
        held = self._oids.get(f)
        if held is None or held[0] != key or (isinstance(v, (bytes, bytearray)) and held[2] is not v):
            held = self._oids[f] = (key, make(), v)
        return held[1]

    def entry(self, f) -> dict:
        e = dict(type='file', path=f, size=self.size(f), oid=self.oid(f))
        if f in self.lfs: e['lfs'] = dict(oid=self.lfs[f], size=e['size'], pointerSize=134)
        return e

    def entries(self, folder='', recursive=True):
        "Tree entries under `folder`: files and the folders that hold them (only the first level unless `recursive`)."
        out, prefix = {}, folder.strip('/') + '/' if folder.strip('/') else ''
        for f in sorted(self.files):
            if not f.startswith(prefix): continue
            parts = f[len(prefix):].split('/')
            for i in range(1, len(parts) if recursive else min(len(parts), 2)):
                d = prefix + '/'.join(parts[:i])
                out[d] = dict(type='directory', path=d, size=0, oid=hashlib.sha1(d.encode()).hexdigest())
            if recursive or len(parts) == 1: out[f] = self.entry(f)
        return list(out.values())

    def recompute_sha(self):
        hashes = sorted((f, self.oid(f)) for f in self.files)
        self.sha = hashlib.sha1(json.dumps(hashes).encode()).hexdigest()
        self.modified = _now()


class Fault:
    "`times` more answers to requests whose path matches `pattern` (and method is in `methods`) go wrong as `kind`."
    def __init__(self, pattern, kind, times=1, after=None, methods=None):
        if isinstance(kind, str) and kind.isdigit(): kind = int(kind)
        if not (kind in FAULT_KINDS or isinstance(kind, int) and 400 <= kind < 600):
            raise ValueError(f"fault kind {kind!r}: an HTTP status (e.g. 503) or one of {FAULT_KINDS}")
        self.pattern, self.kind, self.left, self.after = re.compile(pattern), kind, times, after
        self.methods = {m.upper() for m in ([methods] if isinstance(methods, str) else methods or ())}
        self.served = 0

    @property
    def on_body(self) -> bool: return self.kind in ('drop', 'truncate')

    def __repr__(self): return f'Fault({self.pattern.pattern!r}, {self.kind!r}, left={self.left}, served={self.served})'


class TokenBucket:
    "Bytes per second shared by all who `take` from it: a taker sleeps until its bytes are due (in turn)."
    def __init__(self, rate):
        self.rate, self.lock, self.level, self.last = rate, threading.Lock(), 0.0, time.monotonic()

    def take(self, n):
        with self.lock:
            now = time.monotonic()
            burst = max(self.rate * 0.05, 1.0)
            self.level = min(burst, self.level + (now - self.last) * self.rate) - n
            self.last = now
            wait = -self.level / self.rate if self.level < 0 else 0.0
        if wait > 0: time.sleep(wait)


class _Server(ThreadingHTTPServer):
    daemon_threads, request_queue_size, allow_reuse_address = True, 1024, True

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], OSError): return  # a client that went away, or close() cutting a connection
        super().handle_error(request, client_address)


class HubServer:
    """Serve `repos` (model id -> Repo), `datasets` (dataset id -> Repo) and `aliases` (old name -> canonical id, for
    both kinds) on 127.0.0.1; count requests per path in `hits`; answer requests that bring a token in `refused_tokens`
    with 401, as the Hub answers an invalid token. The other knobs are described in the module's docstring."""
    user = 'tester'

    def tags_from_card(self, card: str) -> list:
        "What the Hub derives from a model card's YAML header: its tags, and base_model:<resolved id>."
        return card_tags(card, self.aliases)

    def find(self, kind, name):
        "(canonical id, Repo or None) for a 'models' or 'datasets' name."
        name = self.aliases.get(name, name)
        return name, (self.repos if kind == 'models' else self.datasets).get(name)

    def add_dataset(self, repo_id, files, **kw) -> Repo:
        "Serve `files` (path -> bytes or Path) as dataset repo `repo_id`; `kw` as for `Repo`."
        self.datasets[repo_id] = Repo(files, **kw)
        return self.datasets[repo_id]

    # ---- knobs switchable at run time
    def limit(self, bucket: str, requests: int | None = None, window: float = 300.0):
        "Allow `requests` per fixed `window` seconds in `bucket` ('api', 'resolvers', 'pages'); None lifts the limit."
        if bucket not in BUCKETS: raise ValueError(f"bucket {bucket!r}: one of {BUCKETS}")
        with self._lock:
            if requests is None: self.limits.pop(bucket, None)
            else: self.limits[bucket] = dict(q=int(requests), w=float(window), t0=time.monotonic(), n=0, i=0)

    def fault(self, pattern: str, kind, times: int = 1, after: int | None = None, methods=None) -> Fault:
        """Make the next `times` requests whose path matches regex `pattern` fail as `kind`: an HTTP status (500, 502,
        503, 504, ...), 'reset' (connection closed before answering), 'drop' (closed after the headers and `after`
        bytes of the body, default 0) or 'truncate' (full Content-Length, `after` bytes sent, default half, closed).
        Body faults fire on answers with a body only (not HEAD). `methods`: e.g. 'GET' or ('HEAD',); default all."""
        f = Fault(pattern, kind, times, after, methods)
        with self._lock: self.faults.append(f)
        return f

    def clear_faults(self):
        with self._lock: self.faults.clear()

    @property
    def bandwidth(self): return self._bucket.rate if self._bucket else None
    @bandwidth.setter
    def bandwidth(self, rate):
        "Bytes per second for all response bodies together; None or 0: unlimited."
        self._bucket = TokenBucket(float(rate)) if rate else None

    def reset_stats(self):
        with self._lock:
            self.stats = dict(requests=Counter(), status=Counter(), bytes_sent=0, bytes_received=0, rate_limited=0,
                              faults=Counter(), ranges=0)

    def _count(self, key, n=1, sub=None):
        with self._lock:
            if sub is None: self.stats[key] += n
            else: self.stats[key][sub] += n

    def _meter(self, bucket):
        "(allowed, headers) for one more request in `bucket`."
        with self._lock:
            self.stats['requests'][bucket] += 1
            lim = self.limits.get(bucket)
            if lim is None: return True, {}
            now = time.monotonic()
            i = int((now - lim['t0']) // lim['w'])
            if i != lim['i']: lim['i'], lim['n'] = i, 0
            allowed = lim['n'] < lim['q']
            lim['n'] += allowed
            reset = max(1, math.ceil(lim['t0'] + (i + 1) * lim['w'] - now))
            headers = {'RateLimit': f'"{bucket}";r={lim["q"] - lim["n"]};t={reset}',
                       'RateLimit-Policy': f'"fixed window";"{bucket}";q={lim["q"]};w={max(1, math.ceil(lim["w"]))}'}
            if not allowed:
                self.stats['rate_limited'] += 1
                headers['Retry-After'] = str(reset)
            return allowed, headers

    def _take_fault(self, path, method, body):
        with self._lock:
            for f in self.faults:
                if f.left > 0 and f.on_body == body and (not f.methods or method in f.methods) \
                        and f.pattern.search(path):
                    f.left -= 1
                    f.served += 1
                    self.stats['faults'][str(f.kind)] += 1
                    return f

    @property
    def storage(self) -> Path:
        "The folder of uploaded LFS objects (named by their sha256)."
        if self._storage is None:
            self._storage, self._own_storage = Path(tempfile.mkdtemp(prefix='hub-lfs-')), True
        return self._storage

    def __init__(self, repos, aliases=None, datasets=None, *, limits=None, latency=0.0, bandwidth=None,
                 page_size=1000, storage=None, lfs_threshold=10 * 2**20, lfs_part_size=None, keep_alive=False):
        self.repos, self.datasets, self.aliases, self.hits = repos, datasets or {}, aliases or {}, {}
        self.refused_tokens = set()
        self._lock, self.limits, self.faults = threading.Lock(), {}, []
        self.latency, self.bandwidth, self.page_size = latency, bandwidth, page_size
        self.lfs_threshold, self.lfs_part_size = lfs_threshold, lfs_part_size
        self._storage, self._own_storage = (Path(storage) if storage else None), False
        if self._storage: self._storage.mkdir(parents=True, exist_ok=True)
        self._parts = {}  # oid -> expected size, of LFS uploads announced by a batch request
        self._conns, self.log = set(), deque(maxlen=100_000)  # log: (method, path, status, Range header)
        self.reset_stats()
        for b, lim in (limits or {}).items():
            self.limit(b, **lim) if isinstance(lim, dict) else self.limit(b, *lim)
        self.server = _Server(('127.0.0.1', 0), _handler(self, keep_alive))
        self.url = f'http://127.0.0.1:{self.server.server_port}'
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()  # close() in 0.05 s

    # ---- the answers' contents
    def listing(self, kind, q: dict, raw_query: str):
        "(page of items, url of the next page or None) for GET /api/models or /api/datasets with query `q`."
        repos = self.repos if kind == 'models' else self.datasets
        tags, search, author = q.get('filter', []), q.get('search', [''])[0].lower(), q.get('author', [None])[0]
        ids = [r for r, repo in list(repos.items()) if all(t in repo.tags for t in tags)
               and search in r.lower() and (author is None or r.split('/')[0] == author)]
        start = int(base64.urlsafe_b64decode(q['cursor'][0]).decode()) if 'cursor' in q else 0
        n = min(int(q['limit'][0]), self.page_size) if 'limit' in q else self.page_size
        expand = q.get('expand', []) + q.get('expand[]', [])
        page = [self.info(kind, r, repos[r], expand, full='full' in q, card='cardData' in q)
                for r in ids[start:start + n]]
        if start + n >= len(ids): return page, None
        params = [(k, v) for k, v in parse_qsl(raw_query, keep_blank_values=True) if k != 'cursor']
        params.append(('cursor', base64.urlsafe_b64encode(str(start + n).encode()).decode()))
        return page, f'{self.url}/api/{kind}?{urlencode(params)}'

    def info(self, kind, rid, repo, expand=(), full=True, card=True) -> dict:
        "A repo as the Hub lists it: the `expand`ed fields, else the default ones (all of them when `full`)."
        every = dict(_id=lambda: hashlib.sha1(f'{kind}/{rid}'.encode()).hexdigest()[:24], id=lambda: rid,
                     author=lambda: rid.split('/')[0], sha=lambda: repo.sha, tags=lambda: repo.tags,
                     cardData=lambda: repo.card, lastModified=lambda: repo.modified, createdAt=lambda: repo.created,
                     private=lambda: repo.private, gated=lambda: 'auto' if repo.gated else False,
                     disabled=lambda: False, downloads=lambda: 0, likes=lambda: 0, trendingScore=lambda: 0,
                     siblings=lambda: [{'rfilename': f, 'size': repo.size(f)} for f in list(repo.files)])
        if kind == 'models':
            every.update(modelId=lambda: rid, library_name=lambda: repo.card.get('library_name'),
                         pipeline_tag=lambda: None)
            default = ['_id', 'id', 'likes', 'trendingScore', 'private', 'downloads', 'tags', 'pipeline_tag',
                       'library_name', 'createdAt', 'modelId']
        else: default = ['_id', 'id', 'author', 'sha', 'lastModified', 'private', 'gated', 'disabled', 'tags',
                         'downloads', 'likes', 'createdAt']
        if expand: keys = ['_id', 'id', *expand]
        elif full: keys = list(every) if card else [k for k in every if k != 'cardData']
        else: keys = default + ['cardData'] * card
        return {k: every[k]() for k in keys if k in every}

    def point_clients(self, mp, hub_cache, datasets_cache=None):
        """Point huggingface_hub and transformers (and `datasets`, given its cache) at this server, through `mp`, a
        pytest MonkeyPatch: the environment for subprocesses, the libraries' constants for this process. Xet is
        switched off (huggingface_hub would upload LFS files through Xet, which this server does not speak)."""
        from huggingface_hub import constants as hf
        import transformers.utils.hub as tf_hub
        for k, v in dict(HF_ENDPOINT=self.url, HF_HUB_CACHE=str(hub_cache), HF_HUB_OFFLINE='0',
                         TRANSFORMERS_OFFLINE='0', HF_HUB_DISABLE_XET='1').items(): mp.setenv(k, v)
        mp.setattr(hf, 'ENDPOINT', self.url)
        mp.setattr(hf, 'HF_HUB_CACHE', str(hub_cache))
        mp.setattr(hf, 'HUGGINGFACE_CO_URL_TEMPLATE', self.url + '/{repo_id}/resolve/{revision}/{filename}')
        mp.setattr(hf, 'HF_HUB_OFFLINE', False)  # transformers asks huggingface_hub whether it is offline
        mp.setattr(hf, 'HF_HUB_DISABLE_XET', True)
        # transformers keeps one HfApi with the endpoint of its first use: start with a fresh one
        mp.setattr(tf_hub, '_hf_api', None, raising=False)
        if datasets_cache is None: return
        import datasets
        c = datasets.config
        mp.setenv('HF_DATASETS_CACHE', str(datasets_cache))
        mp.setenv('HF_DATASETS_OFFLINE', '0')
        mp.setattr(c, 'HF_ENDPOINT', self.url)
        mp.setattr(c, 'HUB_DATASETS_URL', self.url + '/datasets/{repo_id}/resolve/{revision}/{path}')
        mp.setattr(c, 'HF_HUB_OFFLINE', False)
        mp.setattr(c, 'HF_DATASETS_OFFLINE', False)
        mp.setattr(c, 'HF_DATASETS_CACHE', datasets_cache)
        mp.setattr(c, 'DOWNLOADED_DATASETS_PATH', datasets_cache/'downloads')
        mp.setattr(c, 'EXTRACTED_DATASETS_PATH', datasets_cache/'downloads'/'extracted')
        # load_dataset also asks the dataset viewer, at http://datasets-server.127.0.0.1:<port>, which nothing
        # serves: the DNS lookup fails fast and datasets goes on, but the tests should not depend on the resolver
        mp.setattr(c, 'USE_PARQUET_EXPORT', False)

    def close(self):
        self.server.shutdown()
        self.server.server_close()  # closed, so a stale client is refused instead of left waiting
        for c in list(self._conns):  # and so are kept-alive connections, and answers still under way
            try: c.shutdown(socket.SHUT_RDWR)
            except OSError: pass
        if self._own_storage: shutil.rmtree(self._storage, ignore_errors=True)


def _bucket(path: str) -> str | None:
    "The rate-limit bucket of a request path (None: the LFS object store, which stands in for S3, is not metered)."
    if path.startswith('/lfs/'): return None
    if path.startswith('/api/') or '.git/info/lfs/' in path: return 'api'
    if '/resolve/' in path: return 'resolvers'
    return 'pages'


def _range(header: str | None, size: int):
    "(start, end) inclusive of a single `bytes=` range, None to answer the whole file, 'bad' when unsatisfiable."
    m = re.fullmatch(r'\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*', header or '')
    if not m or not (m[1] or m[2]): return None
    if m[1]: start, end = int(m[1]), min(int(m[2]) if m[2] else size - 1, size - 1)
    else: start, end = max(size - int(m[2]), 0), size - 1
    return 'bad' if start > end or start >= size or (not m[1] and int(m[2]) == 0) else (start, end)


def _handler(hub: HubServer, keep_alive: bool):
    js = {'Content-Type': 'application/json'}
    lfs_js = {'Content-Type': 'application/vnd.git-lfs+json'}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1' if keep_alive else 'HTTP/1.0'

        def log_message(self, *a): pass

        def setup(self):
            super().setup()
            hub._conns.add(self.connection)

        def finish(self):
            hub._conns.discard(self.connection)
            try: super().finish()
            except OSError: pass

        # ---- answering
        def head(self, code, length, headers=None):
            hub._count('status', sub=code)  # counted before the client can see the answer
            hub.log.append((self.command, self.route, code, self.headers.get('Range')))
            self.send_response(code)
            for k, v in {**self.extra, **(headers or {})}.items(): self.send_header(k, v)
            self.send_header('Content-Length', str(length))
            self.end_headers()

        def send(self, code, body=b'', headers=None):
            self.body(code, body, 0, len(body), headers)

        def body(self, code, src, start, length, headers=None):
            "Answer `length` bytes of `src` (bytes or a file path) from `start`, through faults and the bandwidth cap."
            fault = hub._take_fault(self.route, self.command, True) if self.command != 'HEAD' and length else None
            self.head(code, length, headers)
            if self.command == 'HEAD': return
            cut = length
            if fault:
                default = 0 if fault.kind == 'drop' else length // 2
                cut = min(length, default if fault.after is None else fault.after)
                self.close_connection = True
            step = (max(1024, min(64 * 1024, int(hub.bandwidth / 20))) if hub.bandwidth else 1 << 20)
            f = open(src, 'rb') if not isinstance(src, (bytes, bytearray)) else None
            try:
                if f: f.seek(start)
                sent = 0
                while sent < cut:
                    n = min(step, cut - sent)
                    chunk = f.read(n) if f else src[start + sent:start + sent + n]
                    if not chunk: break
                    if (bucket := hub._bucket): bucket.take(len(chunk))
                    hub._count('bytes_sent', len(chunk))  # before the client can have it
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except OSError: self.close_connection = True  # the client went away
            finally:
                if f: f.close()

        def json(self, obj, headers=None): return self.send(200, json.dumps(obj).encode(), {**js, **(headers or {})})
        def not_found(self, code='RepoNotFound'): return self.send(404, b'{}', {'X-Error-Code': code})
        def error(self, code, msg, headers=None):
            body = json.dumps({'error': msg}).encode()
            return self.send(code, body, {**js, 'X-Error-Message': msg, **(headers or {})})

        def at(self, kind, name, rev):
            "The repo `name` at revision `rev`, or None after answering 404."
            name, repo = hub.find(kind, name)
            if repo is None: return self.not_found()
            if rev not in (None, 'main', repo.sha): return self.not_found('RevisionNotFound')
            return repo

        # ---- what every request goes through
        def begin(self):
            "Count, delay, meter and fault the request; False when it has been answered (or dropped) already."
            url = urlparse(self.path)
            self.url, self.route, self.q, self.extra = url, unquote(url.path), parse_qs(url.query), {}
            with hub._lock: hub.hits[self.route] = hub.hits.get(self.route, 0) + 1
            if hub.latency: time.sleep(hub.latency)
            bucket = _bucket(self.route)
            if bucket is None: hub._count('requests', sub='storage')
            else:
                allowed, self.extra = hub._meter(bucket)
                if not allowed:
                    self.drain()
                    self.error(429, f"You have been rate-limited: too many requests in the '{bucket}' bucket; "
                                    "retry after the time in the RateLimit header.")
                    return False
            fault = hub._take_fault(self.route, self.command, False)
            if fault:
                self.drain()
                if fault.kind == 'reset': self.close_connection = True
                else: self.send(fault.kind, SERVER_ERROR, js)
                return False
            if self.headers.get('Authorization', '').removeprefix('Bearer ') in hub.refused_tokens:
                self.drain()
                self.error(401, 'Invalid credentials in Authorization header')
                return False
            return True

        def exactly(self, n, size):
            "`n` bytes of the request body, in pieces of at most `size`."
            while n:
                b = self.rfile.read(min(size, n))
                if not b: raise ConnectionError('request body cut short')
                n -= len(b)
                hub._count('bytes_received', len(b))
                yield b

        def chunks(self, size=1 << 20):
            "The request body, streamed (Content-Length or chunked)."
            if 'chunked' in self.headers.get('Transfer-Encoding', '').lower():
                while n := int(self.rfile.readline().split(b';')[0].strip() or b'0', 16):
                    yield from self.exactly(n, size)
                    self.rfile.readline()
                while self.rfile.readline().strip(): pass  # trailers
                return
            yield from self.exactly(int(self.headers.get('Content-Length') or 0), size)

        def read_body(self) -> bytes: return b''.join(self.chunks())
        def drain(self):
            for _ in self.chunks(): pass

        # ---- GET and HEAD
        def do_GET(self):
            if not self.begin(): return
            url, path, q = self.url, self.route, self.q
            # routes match the raw path: huggingface_hub quotes a revision such as refs/pr/1 into one segment
            if m := re.fullmatch(r'/api/(models|datasets)', path):
                page, nxt = hub.listing(m[1], q, url.query)
                return self.json(page, {'Link': f'<{nxt}>; rel="next"'} if nxt else None)
            if path == '/api/whoami-v2': return self.json({'name': hub.user, 'type': 'user'})
            # huggingface_hub 2.4 fetches this registry once a day (telemetry): nobody is an agent here
            if path == '/api/agent-harnesses': return self.json({'standardEnvVars': [], 'harnesses': {}})
            if re.fullmatch(r'/api/(models|datasets)/(.+)/xet-(write|read)-token/([^/]+)', path): return self.no_xet()
            if m := re.fullmatch(r'/api/(models|datasets)/(.+?)/tree/([^/]+)(?:/(.*))?', url.path):
                repo = self.at(m[1], m[2], unquote(m[3]))
                if repo is None: return
                # transformers lists optional folders (e.g. additional_chat_templates): a missing one is empty
                recursive = q.get('recursive', ['false'])[0].lower() == 'true'
                return self.json(repo.entries(unquote(m[4] or ''), recursive))
            if m := re.fullmatch(r'/api/(models|datasets)/(.+?)(?:/revision/([^/]+))?', url.path):
                repo = self.at(m[1], m[2], m[3] and unquote(m[3]))
                if repo is None: return
                return self.json(hub.info(m[1], hub.find(m[1], m[2])[0], repo))
            if m := re.fullmatch(r'/(datasets/)?(.+?)/resolve/([^/]+)/(.+)', url.path):
                return self.resolve('datasets' if m[1] else 'models', m[1] or '', m[2], m[3], unquote(m[4]), m[4])
            self.send(404)
        do_HEAD = do_GET

        def resolve(self, kind, prefix, name, rev, fname, raw_fname):
            canonical = hub.find(kind, name)[0]
            if canonical != name:  # the Hub redirects a renamed repo's files to its new name
                return self.send(307, b'', {'Location': f"/{prefix}{canonical}/resolve/{rev}/{raw_fname}"})
            repo = self.at(kind, name, unquote(rev))
            if repo is None: return
            if repo.missing: return self.not_found()
            if repo.gated:
                return self.error(403, f"Access to {kind[:-1]} {name} is restricted and you are not in the authorized "
                                       f"list. Visit {hub.url}/{prefix}{name} to ask for access.",
                                  {'X-Error-Code': 'GatedRepo'})
            if repo.fail_first > 0:
                repo.fail_first -= 1
                return self.send(429, b'rate limited', {'Retry-After': '0'})
            if repo.delay: time.sleep(repo.delay)
            if fname not in repo.files: return self.not_found('EntryNotFound')
            src, size = repo.files[fname], repo.size(fname)
            headers = {'ETag': f'"{repo.oid(fname)}"', 'X-Repo-Commit': repo.sha, 'Accept-Ranges': 'bytes'}
            r = _range(self.headers.get('Range'), size)
            if r == 'bad': return self.send(416, b'', {**headers, 'Content-Range': f'bytes */{size}'})
            if r is None: return self.body(200, src, 0, size, headers)
            hub._count('ranges')
            start, end = r
            headers['Content-Range'] = f'bytes {start}-{end}/{size}'
            self.body(206, src, start, end - start + 1, headers)

        # ---- POST and PUT
        def do_POST(self):
            if not self.begin(): return
            path = self.url.path
            if path == '/api/validate-yaml':
                self.drain()
                return self.json({'errors': [], 'warnings': []})
            if path == '/api/repos/create':
                req = json.loads(self.read_body())
                rid = f"{req.get('organization') or hub.user}/{req['name']}"
                repos = hub.datasets if req.get('type') == 'dataset' else hub.repos
                if rid not in repos: repos[rid] = Repo({}, [], private=req.get('visibility') == 'private')
                return self.json({'url': f"{hub.url}/{'datasets/' * (repos is hub.datasets)}{rid}", 'name': rid,
                                  'id': rid})
            if m := re.fullmatch(r'/api/(models|datasets)/(.+)/(preupload|commit)/([^/]+)', path):
                repos = hub.repos if m[1] == 'models' else hub.datasets
                if m[2] not in repos:
                    self.drain()
                    return self.not_found()
                return self.preupload(json.loads(self.read_body())) if m[3] == 'preupload' else \
                    self.commit(m[1], m[2], repos[m[2]], self.read_body())
            if re.fullmatch(r'/api/(models|datasets)/(.+)/xet-(write|read)-token/([^/]+)', path): return self.no_xet()
            if m := re.fullmatch(r'/(datasets/)?(.+)\.git/info/lfs/objects/(batch|verify)', path):
                repos = hub.datasets if m[1] else hub.repos
                if m[2] not in repos:
                    self.drain()
                    return self.not_found()
                return self.lfs_batch(m[1] or '', m[2]) if m[3] == 'batch' else self.lfs_verify()
            if m := re.fullmatch(r'/lfs/([0-9a-f]{64})/complete', path): return self.lfs_complete(m[1])
            self.drain()
            self.not_found()

        def do_PUT(self):
            if not self.begin(): return
            if m := re.fullmatch(r'/lfs/([0-9a-f]{64})(?:/part/(\d+))?', self.url.path):
                return self.lfs_put(m[1], m[2] and int(m[2]))
            self.drain()
            self.not_found()

        def no_xet(self):
            self.drain()
            self.error(501, 'This Hub stand-in does not speak Xet: set HF_HUB_DISABLE_XET=1 '
                            '(HubServer.point_clients does) to upload through LFS.')

        def preupload(self, req):
            "Regular (inline base64) up to `lfs_threshold` bytes, LFS above, as the Hub answers."
            return self.json({'files': [{'path': f['path'], 'shouldIgnore': False, 'oid': None,
                                         'uploadMode': 'lfs' if f.get('size', 0) > hub.lfs_threshold else 'regular'}
                                        for f in req['files']]})

        def commit(self, kind, rid, repo, body):
            lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
            files, lfs, gone = {}, {}, []
            for item in lines:
                key, v = item['key'], item.get('value', {})
                if key == 'file': files[v['path']] = base64.b64decode(v['content'])
                elif key == 'lfsFile':
                    obj = hub.storage / v['oid']
                    if not obj.exists() or ('size' in v and obj.stat().st_size != v['size']):
                        return self.error(400, f"LFS object {v['oid']} of {v['path']} was not uploaded")
                    files[v['path']], lfs[v['path']] = obj, v['oid']
                elif key in ('deletedFile', 'deletedFolder'): gone.append((key, v['path'].rstrip('/')))
            for key, p in gone:
                for f in [f for f in repo.files if f == p or key == 'deletedFolder' and f.startswith(p + '/')]:
                    repo.files.pop(f)
                    repo.lfs.pop(f, None)
            for f in files: repo.lfs.pop(f, None)
            repo.files.update(files)
            repo.lfs.update(lfs)
            readme = repo.read('README.md').decode() if 'README.md' in repo.files else ''
            repo.tags = hub.tags_from_card(readme)
            if card_data(readme): repo.card = card_data(readme)
            repo.recompute_sha()
            prefix = 'datasets/' if kind == 'datasets' else ''
            return self.json({'commitUrl': f'{hub.url}/{prefix}{rid}/commit/{repo.sha}', 'commitOid': repo.sha})

        # ---- LFS: the batch API, and an object store standing in for S3
        def lfs_batch(self, prefix, rid):
            req = json.loads(self.read_body())
            if req.get('operation') != 'upload': return self.error(501, 'only LFS uploads are served')
            objects, multipart = [], False
            for o in req['objects']:
                oid, size = o['oid'], o['size']
                if (hub.storage / oid).exists() and (hub.storage / oid).stat().st_size == size:
                    objects.append({'oid': oid, 'size': size})  # already stored: no actions, nothing to upload
                    continue
                hub._parts[oid] = size
                verify = {'href': f'{hub.url}/{prefix}{rid}.git/info/lfs/objects/verify', 'header': {}}
                part = hub.lfs_part_size
                if part and size > part and 'multipart' in req.get('transfers', ['basic']):
                    multipart = True
                    header = {'chunk_size': str(part), **{str(i + 1): f'{hub.url}/lfs/{oid}/part/{i + 1}'
                                                          for i in range(math.ceil(size / part))}}
                    upload = {'href': f'{hub.url}/lfs/{oid}/complete', 'header': header}
                else: upload = {'href': f'{hub.url}/lfs/{oid}', 'header': {}}
                objects.append({'oid': oid, 'size': size, 'authenticated': True,
                                'actions': {'upload': upload, 'verify': verify}})
            self.send(200, json.dumps({'transfer': 'multipart' if multipart else 'basic', 'objects': objects,
                                       'hash_algo': 'sha256'}).encode(), lfs_js)

        def lfs_put(self, oid, part):
            "Store the body as object `oid` (checked against its sha256 and size), or as part `part` of it."
            store = hub.storage
            tmp = store / f'.{oid}.{"part" + str(part) if part else "upload"}.{threading.get_ident()}'
            h, n = hashlib.sha256(), 0
            try:
                with open(tmp, 'wb') as out:
                    for b in self.chunks():
                        out.write(b)
                        h.update(b)
                        n += len(b)
            except ConnectionError:
                tmp.unlink(missing_ok=True)
                self.close_connection = True
                return
            if part:
                tmp.replace(store / f'.{oid}.part{part}')
                return self.send(200, b'', {'ETag': f'"{h.hexdigest()}"'})
            if h.hexdigest() != oid or n != hub._parts.get(oid, n):
                tmp.unlink()
                return self.error(400, f'the uploaded body has sha256 {h.hexdigest()} and {n} bytes, not {oid}')
            tmp.replace(store / oid)
            self.send(200)

        def lfs_complete(self, oid):
            "Join the parts of a multipart upload, in the order of the completion payload."
            req = json.loads(self.read_body())
            store, h, n = hub.storage, hashlib.sha256(), 0
            tmp = store / f'.{oid}.joined'
            with open(tmp, 'wb') as out:
                for p in sorted(req['parts'], key=lambda p: p['partNumber']):
                    with open(store / f".{oid}.part{p['partNumber']}", 'rb') as src:
                        while b := src.read(1 << 20):
                            out.write(b)
                            h.update(b)
                            n += len(b)
            for p in req['parts']: (store / f".{oid}.part{p['partNumber']}").unlink(missing_ok=True)
            if h.hexdigest() != oid or n != hub._parts.get(oid, n):
                tmp.unlink()
                return self.error(400, f'the joined parts have sha256 {h.hexdigest()} and {n} bytes, not {oid}')
            tmp.replace(store / oid)
            self.json({'oid': oid})

        def lfs_verify(self):
            req = json.loads(self.read_body())
            obj = hub.storage / req['oid']
            if obj.exists() and obj.stat().st_size == req['size']: return self.json({'oid': req['oid']})
            self.error(404, f"LFS object {req['oid']} not found")

    return Handler
