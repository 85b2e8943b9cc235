"""A local stand-in for the Hugging Face Hub's endpoints: model and dataset listing/info/tree/resolve, whoami, repo
creation, upload."""
import base64, hashlib, json, re, threading, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from urllib.parse import urlparse, parse_qs, unquote


class Repo:
    def __init__(self, files, tags=(), card=None, fail_first=0, delay=0.0, missing=False, private=False):
        self.files, self.tags, self.card, self.private = dict(files), list(tags), card or {}, private
        self.fail_first, self.delay, self.missing = fail_first, delay, missing
        self.sha = hashlib.sha1(json.dumps(sorted(self.files)).encode()).hexdigest()

    def entries(self, folder='', recursive=True):
        "Tree entries under `folder`: files and the folders that hold them (only the first level unless `recursive`)."
        out, prefix = {}, folder.strip('/') + '/' if folder.strip('/') else ''
        for f, body in sorted(self.files.items()):
            if not f.startswith(prefix): continue
            parts = f[len(prefix):].split('/')
            for i in range(1, len(parts) if recursive else min(len(parts), 2)):
                d = prefix + '/'.join(parts[:i])
                out[d] = dict(type='directory', path=d, size=0, oid=hashlib.sha1(d.encode()).hexdigest())
            if recursive or len(parts) == 1:
                out[f] = dict(type='file', path=f, size=len(body), oid=hashlib.sha1(body).hexdigest())
        return list(out.values())


class HubServer:
    """Serve `repos` (model id -> Repo), `datasets` (dataset id -> Repo) and `aliases` (old name -> canonical id, for
    both kinds) on 127.0.0.1; count requests per path in `hits`; answer requests that bring a token in `refused_tokens`
    with 401, as the Hub answers an invalid token."""
    user = 'tester'

    def tags_from_card(self, card: str) -> list:
        "What the Hub derives from a model card's YAML header: its tags, and base_model:<resolved id>."
        head = card.split('---')[1] if card.startswith('---') else ''
        tags = re.findall(r'^- (\S+)$', head.split('tags:')[1], re.M) if 'tags:' in head else []
        base = re.search(r'^base_model: (\S+)$', head, re.M)
        if base: tags.append('base_model:' + self.aliases.get(base.group(1), base.group(1)))
        return tags

    def find(self, kind, name):
        "(canonical id, Repo or None) for a 'models' or 'datasets' name."
        name = self.aliases.get(name, name)
        return name, (self.repos if kind == 'models' else self.datasets).get(name)

    def add_dataset(self, repo_id, files, **kw) -> Repo:
        "Serve `files` (path -> bytes) as dataset repo `repo_id`; `kw` as for `Repo`."
        self.datasets[repo_id] = Repo(files, **kw)
        return self.datasets[repo_id]

    def __init__(self, repos, aliases=None, datasets=None):
        self.repos, self.datasets, self.aliases, self.hits = repos, datasets or {}, aliases or {}, {}
        self.refused_tokens = set()
        hub = self
        js = {'Content-Type': 'application/json'}

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a): pass

            def send(self, code, body=b'', headers=None):
                self.send_response(code)
                for k, v in (headers or {}).items(): self.send_header(k, v)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                if self.command != 'HEAD': self.wfile.write(body)

            def json(self, obj): return self.send(200, json.dumps(obj).encode(), js)
            def not_found(self, code='RepoNotFound'): return self.send(404, b'{}', {'X-Error-Code': code})

            def at(self, kind, name, rev):
                "The repo `name` at revision `rev`, or None after answering 404."
                name, repo = hub.find(kind, name)
                if repo is None: return self.not_found()
                if rev not in (None, 'main', repo.sha): return self.not_found('RevisionNotFound')
                return repo

            def do_GET(self):
                # routes match the raw path: huggingface_hub quotes a revision such as refs/pr/1 into one segment
                url = urlparse(self.path)
                path, q = unquote(url.path), parse_qs(url.query)
                hub.hits[path] = hub.hits.get(path, 0) + 1
                if self.headers.get('Authorization', '').removeprefix('Bearer ') in hub.refused_tokens:
                    msg = 'Invalid credentials in Authorization header'
                    return self.send(401, json.dumps({'error': msg}).encode(), {**js, 'X-Error-Message': msg})
                if m := re.fullmatch(r'/api/(models|datasets)', path):
                    tags, repos = q.get('filter', []), hub.repos if m[1] == 'models' else hub.datasets
                    return self.json([dict(id=r, modelId=r, sha=repo.sha, tags=repo.tags, cardData=repo.card)
                                      for r, repo in repos.items() if all(t in repo.tags for t in tags)])
                if path == '/api/whoami-v2': return self.json({'name': hub.user, 'type': 'user'})
                if m := re.fullmatch(r'/api/(models|datasets)/(.+?)/tree/([^/]+)(?:/(.*))?', url.path):
                    repo = self.at(m[1], m[2], unquote(m[3]))
                    if repo is None: return
                    # transformers lists optional folders (e.g. additional_chat_templates): a missing one is empty
                    recursive = q.get('recursive', ['false'])[0].lower() == 'true'
                    return self.json(repo.entries(unquote(m[4] or ''), recursive))
                if m := re.fullmatch(r'/api/(models|datasets)/(.+?)(?:/revision/([^/]+))?', url.path):
                    repo = self.at(m[1], m[2], m[3] and unquote(m[3]))
                    if repo is None: return
                    siblings = [{'rfilename': f, 'size': len(b)} for f, b in repo.files.items()]
                    return self.json(dict(id=hub.find(m[1], m[2])[0], sha=repo.sha, private=repo.private,
                                          tags=repo.tags, cardData=repo.card, siblings=siblings))
                if m := re.fullmatch(r'/(datasets/)?(.+?)/resolve/([^/]+)/(.+)', url.path):
                    kind, name, fname = 'datasets' if m[1] else 'models', m[2], unquote(m[4])
                    canonical = hub.find(kind, name)[0]
                    if canonical != name:  # the Hub redirects a renamed repo's files to its new name
                        return self.send(307, b'', {'Location': f"/{m[1] or ''}{canonical}/resolve/{m[3]}/{m[4]}"})
                    repo = self.at(kind, name, unquote(m[3]))
                    if repo is None: return
                    if repo.missing: return self.not_found()
                    if repo.fail_first > 0:
                        repo.fail_first -= 1
                        return self.send(429, b'rate limited', {'Retry-After': '0'})
                    if repo.delay: time.sleep(repo.delay)
                    if fname not in repo.files: return self.not_found('EntryNotFound')
                    body = repo.files[fname]
                    etag = '"' + hashlib.sha1(body).hexdigest() + '"'
                    return self.send(200, body, {'ETag': etag, 'X-Repo-Commit': repo.sha})
                self.send(404)
            do_HEAD = do_GET

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                path = urlparse(self.path).path
                hub.hits[unquote(path)] = hub.hits.get(unquote(path), 0) + 1
                if path == '/api/validate-yaml': return self.json({'errors': [], 'warnings': []})
                if path == '/api/repos/create':
                    req = json.loads(body)
                    rid = f"{req.get('organization') or hub.user}/{req['name']}"
                    repos = hub.datasets if req.get('type') == 'dataset' else hub.repos
                    if rid not in repos: repos[rid] = Repo({}, [], private=req.get('visibility') == 'private')
                    return self.json({'url': f'{hub.url}/{rid}', 'name': rid, 'id': rid})
                m = re.fullmatch(r'/api/models/(.+)/(preupload|commit)/([^/]+)', path)
                if m and m[1] in hub.repos:
                    rid, repo = m[1], hub.repos[m[1]]
                    if m[2] == 'preupload':
                        return self.json({'files': [{'path': f['path'], 'uploadMode': 'regular', 'shouldIgnore': False}
                                                    for f in json.loads(body)['files']]})
                    for line in body.decode().splitlines():
                        item = json.loads(line)
                        if item['key'] == 'file':
                            repo.files[item['value']['path']] = base64.b64decode(item['value']['content'])
                    repo.tags = hub.tags_from_card(repo.files.get('README.md', b'').decode())
                    hashes = sorted((k, hashlib.sha1(v).hexdigest()) for k, v in repo.files.items())
                    repo.sha = hashlib.sha1(json.dumps(hashes).encode()).hexdigest()
                    return self.json({'commitUrl': f'{hub.url}/{rid}/commit/{repo.sha}', 'commitOid': repo.sha})
                self.not_found()

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_port}'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def point_clients(self, mp, hub_cache, datasets_cache=None):
        """Point huggingface_hub and transformers (and `datasets`, given its cache) at this server, through `mp`, a
        pytest MonkeyPatch: the environment for subprocesses, the libraries' constants for this process."""
        from huggingface_hub import constants as hf
        import transformers.utils.hub as tf_hub
        for k, v in dict(HF_ENDPOINT=self.url, HF_HUB_CACHE=str(hub_cache), HF_HUB_OFFLINE='0',
                         TRANSFORMERS_OFFLINE='0').items(): mp.setenv(k, v)
        mp.setattr(hf, 'ENDPOINT', self.url)
        mp.setattr(hf, 'HF_HUB_CACHE', str(hub_cache))
        mp.setattr(hf, 'HUGGINGFACE_CO_URL_TEMPLATE', self.url + '/{repo_id}/resolve/{revision}/{filename}')
        mp.setattr(hf, 'HF_HUB_OFFLINE', False)  # transformers asks huggingface_hub whether it is offline
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
