"The README's demo figures are what the demo command produces."
import re
from pathlib import Path
import matplotlib
matplotlib.use('Agg')
from esm_nb.zoo import run_demo

README = Path(__file__).resolve().parent.parent / 'README.md'


def _rows(markdown: str):
    "(task id, subset, score) of each row of a ranking table in Markdown."
    rows = []
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) in (9, 11) and re.fullmatch(r'\d+', cells[0]):  # 11: with the ESM and its commit
            rows.append((cells[1], cells[2], float(cells[8])))
    return rows


def test_readme_demo_table_is_reproduced(tmp_path):
    logged = []
    ranking = run_demo(tmp_path, progress=False, log=logged.append)
    produced = _rows(ranking[:10].to_markdown(floatfmt='.4f'))
    documented = _rows(README.read_text())
    assert len(produced) == 10 and [r[:2] for r in documented[:10]] == [r[:2] for r in produced]
    for (_, _, a), (_, _, b) in zip(documented, produced): assert abs(a - b) < 2e-4
    assert (tmp_path / 'ranking.png').stat().st_size > 5000 and (tmp_path / 'ranking.csv').exists()
    assert ranking.skipped.empty
