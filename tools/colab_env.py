"""A virtual environment pinned to Google Colab's preinstalled packages, and the check that installing esm_nb changes
none of them.

Colab publishes what its runtime has installed (tools/colab/pip-freeze-*.txt, from googlecolab/backend-info).
Upgrading a package Colab has already imported (ipywidgets, for one) means "restart the runtime" before anything
works, so esm_nb must install beside those versions without moving them.

    python tools/colab_env.py build   # .venv-colab: esm_nb's dependencies (and a kernel) at Colab's versions;
                                      # esm_nb itself not installed
    python tools/colab_env.py check   # what `pip install esm_nb` would install there; exit 1 if it would change a
                                      # Colab package

Python is the one running this script (3.11 on our build machines; Colab's is 3.13) and torch is 2.13.0, the CPU
build that lies on those machines (Colab's torch is 2.11.0 from PyTorch's own index, which they cannot reach; on
other Pythons PyPI's CUDA build comes instead): so the comparison leaves out torch and what its build brings along,
and `floors_above_colab` checks esm_nb's torch requirement against Colab's 2.11.0 instead.
"""
import hashlib, json, re, subprocess, sys, tempfile, tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FREEZE = ROOT/'tools'/'colab'/'pip-freeze-2026-08-19.txt'  # the CPU runtime; the venv is built from this one
FREEZES = [FREEZE, ROOT/'tools'/'colab'/'pip-freeze-gpu-2026-08-19.txt']  # both runtimes are checked
VENV = ROOT/'.venv-colab'
TORCH = 'torch==2.13.0'  # stands in for Colab's torch 2.11.0+cpu on these machines
# a kernel, a notebook runner, and the classic Notebook (ipywidgets 7's front end)
RUNTIME = ['ipykernel', 'nbclient', 'nbformat', 'notebook']

def canon(name: str) -> str: return re.sub(r'[-_.]+', '-', name).lower()

def torch_own(name: str) -> bool:
    """torch and what its build brings along (a CUDA build's nvidia-*/cuda-*/triton): the stand-in torch decides those,
    not esm_nb."""
    name = canon(name)
    return name in ('torch', 'pip', 'setuptools', 'wheel') or name.startswith(('nvidia-', 'cuda-', 'triton'))

def colab_versions(freeze: Path = FREEZE) -> dict[str, str]:
    "Package → version of every `name==version` line of the snapshot (URL installs such as torch's are left out)."
    pins = (re.match(r'^([A-Za-z0-9_.\-]+)==(\S+)$', line.strip()) for line in freeze.read_text().splitlines())
    return {canon(m[1]): m[2] for m in pins if m}

def url_versions(freeze: Path = FREEZE) -> dict[str, str]:
    "Package → version of the snapshot's URL installs (`torch @ https://…/torch-2.11.0%2Bcpu-…whl`)."
    urls = (re.match(r'^([A-Za-z0-9_.\-]+) @ \S+/([A-Za-z0-9_.]+)-([0-9][^-]*?)-', line.strip())
            for line in freeze.read_text().splitlines())
    return {canon(m[1]): m[3].replace('%2B', '+') for m in urls if m}

def requirements() -> list[str]:
    "esm_nb's declared dependencies, as written in pyproject.toml."
    return tomllib.loads((ROOT/'pyproject.toml').read_text())['project']['dependencies']

def dependencies() -> list[str]:
    "esm_nb's declared dependencies, names only."
    return [re.match(r'[A-Za-z0-9_.\-]+', d)[0] for d in requirements()]

def floors_above_colab(freeze: Path = FREEZE) -> list[str]:
    """Declared requirements that Colab's preinstalled version does not meet (torch included, which the pinned venv
    cannot hold)."""
    from packaging.requirements import Requirement
    colab = {**colab_versions(freeze), **url_versions(freeze)}
    reqs = [Requirement(r) for r in requirements()]
    return [f"{r} (Colab has {colab[canon(r.name)]}; {freeze.name})" for r in reqs
            if canon(r.name) in colab and not r.specifier.contains(colab[canon(r.name)], prereleases=True)]

def pip(*args, capture=False):
    return subprocess.run([str(VENV/'bin'/'python'), '-m', 'pip', *args], check=True, text=True,
                          capture_output=capture).stdout

def build():
    """Create .venv-colab with esm_nb's dependencies and the notebook runtime at Colab's versions (once per snapshot and
    dependency list)."""
    inputs = FREEZE.read_text() + json.dumps(dependencies()) + Path(__file__).read_text()
    stamp = VENV/('.colab-' + hashlib.sha1(inputs.encode()).hexdigest()[:12])
    if stamp.exists(): return
    if not (VENV/'bin'/'python').exists(): subprocess.run([sys.executable, '-m', 'venv', str(VENV)], check=True)
    print(f"Colab-pinned environment: installing into {VENV} (a minute or two, once)", file=sys.stderr)
    with tempfile.NamedTemporaryFile('w', suffix='.txt', delete=False) as f:
        f.write('\n'.join(f'{n}=={v}' for n, v in colab_versions().items() if not torch_own(n)))
        f.write(f'\n{TORCH}\n')
    pip('install', '-q', '-c', f.name, *dependencies(), *RUNTIME)
    stamp.touch()

def would_change(target: str = str(ROOT)) -> list[str]:
    "Colab packages that `pip install target` into .venv-colab would install at another version than Colab's."
    with tempfile.TemporaryDirectory() as d:
        pip('install', '-q', '--dry-run', '--report', f'{d}/report.json', target)
        report = json.loads(Path(f'{d}/report.json').read_text())
    planned = {canon(i['metadata']['name']): i['metadata']['version'] for i in report['install']}
    return sorted({f"{n} {colab[n]} -> {v}" for colab in map(colab_versions, FREEZES)
                   for n, v in planned.items() if n in colab and v != colab[n] and not torch_own(n)})

def changed_since_build() -> list[str]:
    "Colab packages in .venv-colab whose installed version is no longer Colab's (after a real install)."
    colab = colab_versions()
    installed = {canon(p['name']): p['version'] for p in json.loads(pip('list', '--format=json', capture=True))}
    return sorted(f"{n} {colab[n]} -> {v}" for n, v in installed.items()
                  if n in colab and v != colab[n] and not torch_own(n))

if __name__ == '__main__':
    cmd = sys.argv[1] if len(sys.argv) > 1 else 'check'
    if cmd == 'build': build()
    elif cmd == 'check':
        build()
        target = sys.argv[2] if len(sys.argv) > 2 else str(ROOT)
        changes = [c for f in FREEZES for c in floors_above_colab(f)] + would_change(target)
        if changes: sys.exit("Installing esm_nb on Colab would change preinstalled packages "
                             "(runtime restart needed):\n  " + '\n  '.join(changes))
        print("Installing esm_nb changes none of Colab's preinstalled packages.")
    else: sys.exit(__doc__)
