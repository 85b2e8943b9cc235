"""A real browser runs the interactive tutorial: Voilà serves it on 127.0.0.1, Debian's Chromium (driven by
Playwright, which downloads no browser) opens it, clicks Run, waits for the ranking table, checks its rows
against a ranking computed here, ticks a task, opens the chart and saves a screenshot.

The screenshots go to test_artifacts/tutorial_interactive.png and ..._chart.png (or $ESM_NB_SCREENSHOT)."""
import json, os, re, socket, subprocess, sys, time, urllib.error, urllib.request
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT/'nbs'/'22_tutorial_interactive.ipynb'
CHROMIUM = '/usr/bin/chromium'

def interactive_part(nb_path: Path, out: Path, upto_selected: bool = False) -> Path:
    """The tutorial up to the cell that shows the widget (or the one after, `ui.selected`): what a reader runs before
    the later cells click for them."""
    nb = json.loads(nb_path.read_text())
    cells, stop = [], 'ui.selected' if upto_selected else '\nui'
    for c in nb['cells']:
        src = ''.join(c['source'])
        cells.append(c)  # the install cell too: it installs nothing where esm_nb is present
        if c['cell_type'] == 'code' and src.strip().endswith(stop): break
    else: raise AssertionError(f"{nb_path.name} has no cell that ends with {stop!r}")
    out.write_text(json.dumps({**nb, 'cells': cells}))
    return out

def free_port() -> int:
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port

@pytest.fixture
def voila(tmp_path):
    nb = interactive_part(TUTORIAL, tmp_path/'tutorial.ipynb')
    port = free_port()
    env = {**os.environ, 'PATH': f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           'HF_HUB_OFFLINE': '1', 'TRANSFORMERS_OFFLINE': '1', 'HF_DATASETS_OFFLINE': '1'}
    log = open(tmp_path/'voila.log', 'w')
    proc = subprocess.Popen([sys.executable, '-m', 'voila', str(nb), '--no-browser', f'--port={port}',
                             '--Voila.ip=127.0.0.1', '--show_tracebacks=True'],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    url = f'http://127.0.0.1:{port}/'
    for _ in range(120):
        try:
            urllib.request.urlopen(url + 'voila/files/ready', timeout=2)  # not '/': that would start a kernel
            break
        except urllib.error.HTTPError: break  # it answers: it is up
        except Exception:
            if proc.poll() is not None: break
            time.sleep(0.5)
    if proc.poll() is not None: raise AssertionError('Voilà did not start:\n' + (tmp_path/'voila.log').read_text())
    yield url, tmp_path/'voila.log'
    proc.terminate()
    proc.wait(20)

def expected_ranking():
    "What the widget must show after Run in the tutorial: the same ranking, computed here."
    from esm_nb.corpora import load_corpus
    from esm_nb.data import TaskDataset
    from esm_nb.rank import compute_task_ranking
    from esm_nb.zoo import bundled_zoo_dir
    news = load_corpus('bbc_news', 'train', num_examples=300, seed=0).to_pandas()
    target = TaskDataset.from_pandas(news, 'text', 'category', num_examples=300, seed=42, task_id='news')
    return compute_task_ranking(target, esm_dir=bundled_zoo_dir(), progress=False)

def test_tutorial_in_a_real_browser(voila):
    from playwright.sync_api import sync_playwright
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run tools/setup.sh (it installs it)."
    expected = expected_ranking()
    url, log = voila
    shot = Path(os.environ.get('ESM_NB_SCREENSHOT', ROOT/'test_artifacts'/'tutorial_interactive.png'))
    shot.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'])
        page = browser.new_page(viewport={'width': 1100, 'height': 2400})
        try:
            page.goto(url, timeout=240_000, wait_until='load')
            run = page.get_by_role('button', name=re.compile(r'^\W*Run$'))  # the label follows a play icon
            run.wait_for(timeout=240_000)
            assert page.get_by_text('Text', exact=True).count() >= 1
            run.click()
            page.get_by_text('Ranked 13 intermediate tasks', exact=False).wait_for(timeout=300_000)
            grid = page.locator('.widget-gridbox').first
            # the views render after the message
            grid.get_by_text(expected.labels[-1], exact=True).wait_for(timeout=60_000)
            cells = [t.strip() for t in grid.locator('.widget-label').all_inner_texts()]
            shown = [c for c in cells if c in expected.labels]
            assert shown == expected.labels, (shown, expected.labels)
            scores = [float(c) for c in cells if c.replace('.', '', 1).replace('-', '', 1).isdigit() and '.' in c]
            assert [round(s, 4) for s in scores] == [round(s, 4) for s in expected.table['Score']], scores
            # tick the two best, look at the chart, come back to the table
            boxes = grid.locator('input[type=checkbox]')
            boxes.nth(0).check()
            boxes.nth(1).check()
            page.get_by_text('2 ticked').wait_for(timeout=30_000)
            widget = page.locator('.widget-vbox', has_text='which intermediate datasets').first
            assert page.locator('text=Error').count() == 0 and 'b42318' not in page.content()
            widget.screenshot(path=str(shot))
            page.locator('.lm-TabBar-tabLabel', has_text='Chart').click()
            chart = page.locator('img.widget-image').first
            chart.wait_for(timeout=60_000)
            page.wait_for_function('img => img.complete && img.naturalWidth > 400', arg=chart.element_handle(),
                                   timeout=60_000)
            widget.screenshot(path=str(shot.with_name(shot.stem + '_chart.png')))
            assert page.locator('text=Error').count() == 0
        except Exception:
            page.screenshot(path=str(shot.with_name(shot.stem + '-failed.png')), full_page=True)
            print(log.read_text()[-4000:])
            raise
        finally: browser.close()
    assert shot.stat().st_size > 20_000
