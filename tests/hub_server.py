"A local stand-in for the Hugging Face Hub's read endpoints: model listing, model info, file resolve (HEAD and GET)."
import hashlib, json, threading, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from urllib.parse import urlparse, parse_qs, unquote


class Repo:
    def __init__(self, files, tags=(), card=None, fail_first=0, delay=0.0, missing=False):
        self.files, self.tags, self.card = dict(files), list(tags), card or {}
        self.fail_first, self.delay, self.missing = fail_first, delay, missing
        self.sha = hashlib.sha1(json.dumps(sorted(self.files)).encode()).hexdigest()


class HubServer:
    "Serve `repos` (repo_id -> Repo) and `aliases` (name -> canonical id) on 127.0.0.1; count requests per path."
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

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_port}'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self): self.server.shutdown()
