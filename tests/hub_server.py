"A local stand-in for the Hugging Face Hub's endpoints: model listing, model info, file resolve, whoami, repo creation, upload."
import base64, hashlib, json, re, threading, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from urllib.parse import urlparse, parse_qs, unquote


class Repo:
    def __init__(self, files, tags=(), card=None, fail_first=0, delay=0.0, missing=False, private=False):
        self.files, self.tags, self.card, self.private = dict(files), list(tags), card or {}, private
        self.fail_first, self.delay, self.missing = fail_first, delay, missing
        self.sha = hashlib.sha1(json.dumps(sorted(self.files)).encode()).hexdigest()


class HubServer:
    "Serve `repos` (repo_id -> Repo) and `aliases` (name -> canonical id) on 127.0.0.1; count requests per path."
    user = 'tester'

    def tags_from_card(self, card: str) -> list:
        "What the Hub derives from a model card's YAML header: its tags, and base_model:<resolved id>."
        head = card.split('---')[1] if card.startswith('---') else ''
        tags = re.findall(r'^- (\S+)$', head.split('tags:')[1], re.M) if 'tags:' in head else []
        base = re.search(r'^base_model: (\S+)$', head, re.M)
        if base: tags.append('base_model:' + self.aliases.get(base.group(1), base.group(1)))
        return tags

    def __init__(self, repos, aliases=None):
        self.repos, self.aliases, self.hits = repos, aliases or {}, {}
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a): pass

            def send(self, code, body=b'', headers=None):
                self.send_response(code)
                for k, v in (headers or {}).items(): self.send_header(k, v)
                self.send_header('Content-Length', str(len(body))); self.end_headers()
                if self.command != 'HEAD': self.wfile.write(body)

            def do_GET(self):
                url = urlparse(self.path); path = unquote(url.path)
                hub.hits[path] = hub.hits.get(path, 0) + 1
                if path == '/api/models':
                    tags = parse_qs(url.query).get('filter', [])
                    out = [dict(id=r, modelId=r, sha=repo.sha, tags=repo.tags, cardData=repo.card)
                           for r, repo in hub.repos.items() if all(t in repo.tags for t in tags)]
                    return self.send(200, json.dumps(out).encode(), {'Content-Type': 'application/json'})
                if path == '/api/whoami-v2':
                    return self.send(200, json.dumps({'name': hub.user, 'type': 'user'}).encode(), {'Content-Type': 'application/json'})
                if path.startswith('/api/models/') and '/tree/' in path:
                    # list a folder of a repo (transformers asks for optional folders, e.g. additional_chat_templates)
                    name, rest = path[len('/api/models/'):].split('/tree/', 1)
                    folder = rest.split('/', 1)[1] if '/' in rest else ''
                    repo = hub.repos.get(hub.aliases.get(name, name))
                    if repo is None: return self.send(404, b'{}', {'X-Error-Code': 'RepoNotFound'})
                    entries = [dict(type='file', path=f, size=len(b), oid=hashlib.sha1(b).hexdigest())
                               for f, b in repo.files.items() if f.startswith(folder + '/') or not folder]
                    return self.send(200, json.dumps(entries).encode(), {'Content-Type': 'application/json'})
                if path.startswith('/api/models/'):
                    name = path[len('/api/models/'):].split('/revision/')[0]
                    name = hub.aliases.get(name, name)
                    if name not in hub.repos: return self.send(404, b'{}', {'X-Error-Code': 'RepoNotFound'})
                    repo = hub.repos[name]
                    info = dict(id=name, sha=repo.sha, tags=repo.tags, cardData=repo.card, siblings=[{'rfilename': f} for f in repo.files])
                    return self.send(200, json.dumps(info).encode(), {'Content-Type': 'application/json'})
                if '/resolve/' in path:
                    name, rest = path.lstrip('/').split('/resolve/', 1)
                    fname = rest.split('/', 1)[1]
                    repo = hub.repos.get(name)
                    if repo is None or repo.missing: return self.send(404, b'', {'X-Error-Code': 'RepoNotFound'})
                    if repo.fail_first > 0:
                        repo.fail_first -= 1; return self.send(429, b'rate limited', {'Retry-After': '0'})
                    if repo.delay: time.sleep(repo.delay)
                    if fname not in repo.files: return self.send(404, b'', {'X-Error-Code': 'EntryNotFound'})
                    body = repo.files[fname]
                    return self.send(200, body, {'ETag': '"' + hashlib.sha1(body).hexdigest() + '"', 'X-Repo-Commit': repo.sha})
                self.send(404)
            do_HEAD = do_GET

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
                path = urlparse(self.path).path
                hub.hits[path] = hub.hits.get(path, 0) + 1
                js = {'Content-Type': 'application/json'}
                if path == '/api/validate-yaml':
                    return self.send(200, json.dumps({'errors': [], 'warnings': []}).encode(), js)
                if path == '/api/repos/create':
                    req = json.loads(body); rid = f"{req.get('organization') or hub.user}/{req['name']}"
                    if rid not in hub.repos: hub.repos[rid] = Repo({}, [], private=req.get('visibility') == 'private')
                    return self.send(200, json.dumps({'url': f'{hub.url}/{rid}', 'name': rid, 'id': rid}).encode(), js)
                m = re.match(r'/api/models/(.+)/(preupload|commit)/([^/]+)$', path)
                if m and m.group(1) in hub.repos:
                    rid, repo = m.group(1), hub.repos[m.group(1)]
                    if m.group(2) == 'preupload':
                        files = [{'path': f['path'], 'uploadMode': 'regular', 'shouldIgnore': False} for f in json.loads(body)['files']]
                        return self.send(200, json.dumps({'files': files}).encode(), js)
                    for line in body.decode().splitlines():
                        item = json.loads(line)
                        if item['key'] == 'file': repo.files[item['value']['path']] = base64.b64decode(item['value']['content'])
                    repo.tags = hub.tags_from_card(repo.files.get('README.md', b'').decode())
                    repo.sha = hashlib.sha1(json.dumps(sorted((k, hashlib.sha1(v).hexdigest()) for k, v in repo.files.items())).encode()).hexdigest()
                    return self.send(200, json.dumps({'commitUrl': f'{hub.url}/{rid}/commit/{repo.sha}', 'commitOid': repo.sha}).encode(), js)
                self.send(404, b'{}', {'X-Error-Code': 'RepoNotFound'})

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_port}'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self): self.server.shutdown()
