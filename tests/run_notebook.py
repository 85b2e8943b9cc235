"""Run a notebook top to bottom in a kernel of the Python that runs this script, as a reader does: every cell, in order,
whatever nbdev flags it carries. Used by tests/test_colab.py with the Colab-pinned environment's Python.

    python tests/run_notebook.py NOTEBOOK [--cwd DIR] [--replace OLD NEW]... [--out EXECUTED.ipynb]"""
import argparse, sys, time
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

p = argparse.ArgumentParser()
p.add_argument('notebook')
p.add_argument('--cwd', default='.')
p.add_argument('--out')
p.add_argument('--replace', nargs=2, action='append', default=[], metavar=('OLD', 'NEW'),
               help='rewrite cell sources first')
p.add_argument('--timeout', type=int, default=900, help='seconds per cell')
a = p.parse_args()
nb = nbformat.read(a.notebook, as_version=4)
for old, new in a.replace:
    if not any(old in c.source for c in nb.cells): sys.exit(f"{a.notebook}: nothing to replace, {old!r} is in no cell")
    for c in nb.cells: c.source = c.source.replace(old, new)
start = time.time()
client = NotebookClient(nb, timeout=a.timeout, kernel_name='python3', resources={'metadata': {'path': a.cwd}})
try: client.execute()
except CellExecutionError as e:
    sys.exit(f"{a.notebook}: a cell failed\n{e}")
finally:
    if a.out: nbformat.write(nb, a.out)
print(f"{a.notebook}: {sum(c.cell_type == 'code' for c in nb.cells)} code cells ran in {time.time() - start:.0f} s")
