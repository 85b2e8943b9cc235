"""Runs in hf-dataset-selector 0.2.1's own environment (bench/setup_peer.sh); used by tests/test_interop.py.

    python peer_interop.py write DIR      an ESM made and saved by hfselect (weights also saved as DIR.npz)
    python peer_interop.py score DIR X.npy y.npy   load DIR with hfselect and print its LogME score as JSON
"""
import json, sys
import numpy as np, torch
from hfselect import ESM, ESMConfig
from hfselect.logme import LogME

cmd, folder = sys.argv[1], sys.argv[2]
if cmd == 'write':
    esm = ESM(config=ESMConfig(base_model_name='m', task_id='peer/task', task_subset='s', esm_architecture='linear',
                               esm_embedding_dim=16, num_examples=100))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        esm.model.weight.copy_(torch.eye(16) + 0.2 * torch.randn(16, 16, generator=g))
        esm.model.bias.copy_(torch.randn(16, generator=g))
    esm.save_pretrained(folder)
    np.savez(folder + '.npz', weight=esm.model.weight.detach().numpy(), bias=esm.model.bias.detach().numpy())
else:
    esm = ESM.from_pretrained(folder)
    X, y = np.load(sys.argv[3]), np.load(sys.argv[4])
    with torch.no_grad(): F = esm(torch.tensor(X)).numpy()
    score = float(LogME(regression=False).fit(F.astype(np.float64), y))
    print(json.dumps({'score': score, 'task_id': esm.config.get('task_id')}))
