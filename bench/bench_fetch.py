"""Fetching ESMs from a Hub: parallel (bounded thread pool) vs sequential, against the local Hub server of the tests.

    python bench/bench_fetch.py [--n 200] [--latency 0.05] [--workers 8]

The server (tests/hub_server.py) serves n ESM repos of d=384 (config.json + model.safetensors, ~0.6 MB) and waits
`latency` seconds before each file response, standing in for the round trip to huggingface.co that localhost lacks.
Each run downloads into a fresh, empty Hugging Face cache with huggingface_hub's own HTTP code. Prints wall times;
writes bench/results/results_fetch.json.
"""
import argparse, importlib.util, json, tempfile, time
from pathlib import Path
import torch

HERE = Path(__file__).resolve().parent
RESULTS = HERE / 'results'


def tests_hub_server():
    "The tests' Hub stand-in, tests/hub_server.py, loaded from its file (tests/ is not a package): sys.path unchanged."
    spec = importlib.util.spec_from_file_location('hub_server', HERE.parent / 'tests' / 'hub_server.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--n', type=int, default=200)
    ap.add_argument('--latency', type=float, default=0.05)
    ap.add_argument('--workers', type=int, default=8)
    a = ap.parse_args()
    import huggingface_hub.constants as C
    from safetensors.torch import save
    hub_server = tests_hub_server()
    from esm_nb.esm import ESMConfig
    from esm_nb import hub
    repos = {}
    for i in range(a.n):
        cfg = ESMConfig('bench/base', f'bench/task{i}', esm_embedding_dim=384, num_examples=1000).to_dict()
        files = {'config.json': json.dumps(cfg).encode(),
                 'model.safetensors': save({'model.weight': torch.eye(384) + 0.01 * torch.randn(384, 384),
                                            'model.bias': torch.zeros(384)})}
        repos[f'bench/ESM_task{i}'] = hub_server.Repo(files, ['embedding_space_map', 'base_model:bench/base'],
                                                      delay=a.latency)
    srv = hub_server.HubServer(repos)
    C.ENDPOINT, C.HF_HUB_OFFLINE = srv.url, False
    C.HUGGINGFACE_CO_URL_TEMPLATE = srv.url + '/{repo_id}/resolve/{revision}/{filename}'
    ids = list(repos)
    res = {}
    for workers in (1, a.workers):
        with tempfile.TemporaryDirectory() as cache:
            C.HF_HUB_CACHE = cache
            t0 = time.perf_counter()
            esms, skipped = hub.fetch_esms(ids, max_workers=workers, progress=False)
            dt = time.perf_counter() - t0
        assert len(esms) == a.n and not skipped, skipped[:3]
        res[workers] = dt
        print(f"{a.n} ESMs, {workers} worker(s): {dt:.1f} s", flush=True)
    srv.close()
    out = dict(n=a.n, latency_s=a.latency, sequential_s=res[1], parallel_s=res[a.workers], workers=a.workers,
               speedup=res[1] / res[a.workers])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / 'results_fetch.json').write_text(json.dumps(out, indent=1))
    print(f"| ESMs | latency per file | sequential | {a.workers} workers | speed-up |\n|---|---|---|---|---|\n"
          f"| {a.n} | {a.latency * 1000:.0f} ms | {res[1]:.1f} s | {res[a.workers]:.1f} s | {out['speedup']:.1f}× |")


if __name__ == '__main__':
    main()
