"""Render nbs/index.ipynb to README.md: what `nbdev-readme` does, without Quarto.

nbdev-readme renders through Quarto, which installs from GitHub, out of reach on our build machines.
Markdown cells are copied; code cells become ```python blocks (cells marked `#| hide` are left out);
their text outputs follow, as a code block, or as Markdown for cells marked `#| output: asis`.
Image links are made relative to the repository root.

    python tools/readme.py            # render the saved outputs
    python tools/readme.py --execute  # first run every cell of index.ipynb (in nbs/) and save the outputs
"""
import json, os, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
nb_path = root / 'nbs' / 'index.ipynb'
if '--execute' in sys.argv:
    from execnb.shell import CaptureShell
    os.chdir(root / 'nbs')
    CaptureShell().execute(nb_path, nb_path, exc_stop=True)
nb = json.loads(nb_path.read_text())
out = []
for cell in nb['cells']:
    src = ''.join(cell['source'])
    if cell['cell_type'] == 'markdown':
        out.append(src.replace('](images/', '](nbs/images/').replace('](../', ']('))
        continue
    lines = src.splitlines()
    flags = [line.strip() for line in lines if line.startswith('#|')]
    if '#| hide' in flags: continue
    code = '\n'.join(line for line in lines if not line.startswith('#|'))
    texts = [''.join(o.get('text', '')) or ''.join(o.get('data', {}).get('text/plain', ''))
             for o in cell.get('outputs', [])]
    if '#| output: asis' in flags:
        out += [t.strip() for t in texts if t.strip()]
        continue
    out.append(f'```python\n{code}\n```')
    out += ['```\n' + t.rstrip() + '\n```' for t in texts if t.strip()]
(root / 'README.md').write_text('\n\n'.join(out).strip() + '\n')
print(f"wrote {root / 'README.md'}")
