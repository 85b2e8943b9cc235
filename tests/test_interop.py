"""Interoperability with hf-dataset-selector 0.2.1, both ways, run in its own virtual environment
(bench/setup_peer.sh)."""
import json, subprocess
from pathlib import Path
import numpy as np, pytest, torch
from safetensors.torch import save_file
from esm_nb.esm import ESM, ESMConfig, fit_esm
from esm_nb.rank import rank_embeddings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope='module')
def peer():
    out = subprocess.run(['bash', str(ROOT / 'bench' / 'setup_peer.sh')], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    py = out.stdout.strip().splitlines()[-1]
    return lambda *args: subprocess.run([py, str(ROOT / 'tests' / 'peer_interop.py'), *map(str, args)],
                                        capture_output=True, text=True, cwd='/tmp')


@pytest.fixture(scope='module')
def target(tmp_path_factory):
    d = tmp_path_factory.mktemp('target')
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    X = (rng.normal(size=(200, 16)) + y[:, None] * 0.5).astype(np.float32)
    np.save(d / 'X.npy', X)
    np.save(d / 'y.npy', y)
    return d / 'X.npy', d / 'y.npy', X, y


def test_esm_nb_esm_loads_in_hfselect_with_the_same_score(peer, target, tmp_path):
    xf, yf, X, y = target
    rng = np.random.default_rng(1)
    esm = fit_esm(X, X @ (np.eye(16) + 0.3 * rng.normal(size=(16, 16))).T.astype(np.float32) + 1.0,
                  ESMConfig('m', 'esm_nb/task', task_subset='s', num_examples=200), 'ridge')
    esm.save_pretrained(tmp_path / 'ours')
    out = peer('score', tmp_path / 'ours', xf, yf)
    assert out.returncode == 0, out.stderr[-2000:]
    theirs = json.loads(out.stdout.strip().splitlines()[-1])
    ours = rank_embeddings(X, y, model_name='m', esms=[esm], method='esm_logme', progress=False)[0]['Score']
    assert theirs['task_id'] == 'esm_nb/task' and abs(theirs['score'] - ours) < 1e-6 * abs(ours)


def test_hfselect_esm_loads_in_esm_nb_with_the_same_score(peer, target, tmp_path):
    xf, yf, X, y = target
    out = peer('write', tmp_path / 'theirs')
    assert out.returncode == 0, out.stderr[-2000:]
    esm = ESM.from_pretrained(tmp_path / 'theirs')
    ref = np.load(str(tmp_path / 'theirs') + '.npz')
    np.testing.assert_array_equal(esm.model.weight.detach().numpy(), ref['weight'])
    assert esm.config.task_id == 'peer/task' and esm.dim == 16
    theirs = json.loads(peer('score', tmp_path / 'theirs', xf, yf).stdout.strip().splitlines()[-1])['score']
    ours = rank_embeddings(X, y, model_name='m', esms=[esm], method='esm_logme', progress=False)[0]['Score']
    assert abs(theirs - ours) < 1e-6 * abs(ours)


def legacy_folder(path: Path, W: torch.Tensor, b: torch.Tensor, config: dict) -> Path:
    "An ESM folder as published before hf-dataset-selector 0.2 (`sequential.0.*` keys), or with other config quirks."
    path.mkdir(parents=True)
    prefix = 'sequential.0' if config.get('version') == '0.1.0' else 'model'
    save_file({f'{prefix}.weight': W.contiguous(), f'{prefix}.bias': b.contiguous()}, str(path / 'model.safetensors'))
    (path / 'config.json').write_text(json.dumps({'base_model_name': 'm', 'task_id': 'old/task',
                                                  'esm_architecture': 'linear', 'num_examples': 100, **config}))
    return path


@pytest.mark.parametrize('config', [{'version': '0.1.0', 'esm_embedding_dim': 16},  # legacy keys and version
                                    {'version': '0.2.0', 'esm_embedding_dim': None}],  # a published quirk: null dim.
                         ids=['legacy-v0.1.0', 'null-dimension'])
def test_esm_resaved_by_esm_nb_scores_the_same_in_hfselect(peer, target, tmp_path, config):
    """Load with esm_nb, save again: hf-dataset-selector must read the written files as the same map (not its untrained
    weights)."""
    xf, yf, X, y = target
    g = torch.Generator().manual_seed(3)
    W, b = torch.eye(16) + 0.3 * torch.randn(16, 16, generator=g), torch.randn(16, generator=g)
    original = legacy_folder(tmp_path / 'original', W, b, config)
    esm = ESM.from_pretrained(original)
    esm.save_pretrained(tmp_path / 'resaved')
    ours = rank_embeddings(X, y, model_name='m', esms=[esm], method='esm_logme', progress=False)[0]['Score']
    out = peer('score', tmp_path / 'resaved', xf, yf)
    assert out.returncode == 0, out.stderr[-2000:]
    theirs = json.loads(out.stdout.strip().splitlines()[-1])['score']
    assert abs(theirs - ours) < 1e-6 * abs(ours), (theirs, ours)
    if config['esm_embedding_dim'] is not None:  # hf-dataset-selector reads the original legacy folder too: same score
        before = json.loads(peer('score', original, xf, yf).stdout.strip().splitlines()[-1])['score']
        assert abs(before - ours) < 1e-6 * abs(ours), (before, ours)
