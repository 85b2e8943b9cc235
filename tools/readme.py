"""Render nbs/index.ipynb to README.md: what `nbdev-readme` does, without Quarto.

nbdev-readme renders through Quarto, which installs from GitHub, out of reach on our build machines.
Markdown cells are copied; code cells become ```python blocks (cells marked `#| hide` are left out);
text outputs follow their cell. Run: python tools/readme.py
"""
import json
from pathlib import Path

root = Path(__file__).resolve().parent.parent
nb = json.loads((root / 'nbs' / 'index.ipynb').read_text())
out = []
for cell in nb['cells']:
    src = ''.join(cell['source'])
    if cell['cell_type'] == 'markdown':
        out.append(src); continue
    lines = src.splitlines()
    if any(l.strip().startswith('#| hide') for l in lines): continue
    code = '\n'.join(l for l in lines if not l.startswith('#|'))
    out.append(f'```python\n{code}\n```')
    for o in cell.get('outputs', []):
        text = ''.join(o.get('text', '')) or ''.join(o.get('data', {}).get('text/plain', ''))
        if text.strip(): out.append('    ' + text.rstrip().replace('\n', '\n    '))
(root / 'README.md').write_text('\n\n'.join(out).strip() + '\n')
print(f"wrote {root / 'README.md'}")
