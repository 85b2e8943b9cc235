"""A real browser runs the interactive tutorial: Voilà serves it on 127.0.0.1, Debian's Chromium (driven by
Playwright, which downloads no browser) opens it, clicks Run, waits for the ranking table, checks its rows
against a ranking computed here, ticks two tasks, opens the chart, then measures the two ticked tasks in the Measure
tab with tiny budgets typed into its boxes (the packaged MiniLM, on the CPU: under half a minute), and saves
screenshots.

The screenshots go to test_artifacts/tutorial_interactive.png, ..._chart.png and ..._measure.png (or
$ESM_NB_SCREENSHOT); measurements go to a fresh $ESM_NB_DATA under the test's tmp_path."""
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
    data = tmp_path/'esm_nb_data'  # measure_transfer keeps its steps under $ESM_NB_DATA/transfer: start clean
    env = {**os.environ, 'PATH': f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           'HF_HUB_OFFLINE': '1', 'TRANSFORMERS_OFFLINE': '1', 'HF_DATASETS_OFFLINE': '1', 'ESM_NB_DATA': str(data)}
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
    yield url, tmp_path/'voila.log', data
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

# The Measure tab's boxes, by description, and what the test types into them: a tiny but real measurement of two tasks
# with the packaged MiniLM on a CPU (16 examples of each task, a fifth of an epoch on the 225 training articles)
MEASURE_BUDGETS = {'Intermediate examples (at most)': '16', 'Target epochs': '0.2', 'Intermediate epochs': '1',
                   'Tokens per text': '32', 'Seeds': '2'}
VERDICTS = ('gain', 'loss', 'no measurable difference')


def number_box(widget, description: str):
    "The input of the widget's number box with this description (ipywidgets 7 and 8)."
    label = widget.page.locator('.widget-label', has_text=re.compile(f'^{re.escape(description)}$'))
    return widget.locator('.widget-text', has=label).locator('input')


def visible_image(page, widget):
    "The one image shown in the widget's open tab, once it has loaded (a chart: 10 inches at 90 dpi)."
    image = widget.locator('img.widget-image:visible')
    image.wait_for(timeout=60_000)
    assert image.count() == 1, image.count()
    page.wait_for_function('img => img.complete && img.naturalWidth > 400', arg=image.element_handle(), timeout=60_000)
    return image


def check_table_and_tick_two(grid, widget, expected):
    """The ranking table shows `expected`'s rows in its order with its scores (to 4 places); tick the two best rows and
    see the count; no error shown in the widget."""
    grid.get_by_text(expected.labels[-1], exact=True).wait_for(timeout=60_000)  # the views render after the message
    texts = [t.strip() for t in grid.locator('.widget-label').all_inner_texts()]
    assert [t for t in texts if t in expected.labels] == expected.labels, texts
    scores = [float(t) for t in texts if re.fullmatch(r'-?\d+\.\d{4}', t)]
    assert [round(s, 4) for s in scores] == [round(s, 4) for s in expected.table['Score']], scores
    boxes = grid.locator('input[type=checkbox]')
    boxes.nth(0).check()
    boxes.nth(1).check()
    widget.get_by_text('2 ticked', exact=False).wait_for(timeout=30_000)
    assert 'b42318' not in widget.inner_html()  # the widget's error colour


def measure_ticked(page, widget, run, tab, data: Path, labels: list, shot: Path) -> float:
    """In the Measure tab: type the budgets into its boxes, measure the two ticked tasks (`labels`), check what it shows
    while it runs and after, and what it kept under `data` ($ESM_NB_DATA); screenshot the widget to `shot`. `tab(name)`
    is the tab's header. Returns the seconds it took."""
    from playwright.sync_api import expect
    start = time.monotonic()
    tab('Measure').click()
    for description, value in MEASURE_BUDGETS.items():
        box = number_box(widget, description)
        box.fill(value)
        box.press('Enter')  # a number box sends its value to the kernel on Enter (or when it loses the focus)
    measure = widget.get_by_role('button', name=re.compile(r'^\W*Measure the ticked tasks$'))  # after a flask icon
    measure.click()
    expect(widget.get_by_role('button', name=re.compile(r'^\W*Stop$'))).to_be_visible(timeout=30_000)
    expect(run).to_be_disabled(timeout=10_000)  # no ranking while it measures
    expect(number_box(widget, 'Seeds')).to_be_disabled()  # the budgets are fixed meanwhile
    expect(measure).to_be_enabled(timeout=300_000)  # back when the measurement ends, however it ends
    expect(run).to_be_enabled(timeout=10_000)
    status = widget.get_by_text('Measured 2 task(s)', exact=False)
    assert status.count() == 1, '\n'.join(widget.locator('.widget-html:visible').all_inner_texts())
    assert 'over 2 seed(s)' in status.inner_text() and 'plotted against the prediction' in status.inner_text()
    # the boxes still show what was typed, and the kernel measured with it: its work folder says so
    for description, value in MEASURE_BUDGETS.items():
        assert float(number_box(widget, description).input_value()) == float(value), description
    work = list((data/'transfer').glob('*/experiment.json'))
    assert len(work) == 1, work  # a fresh $ESM_NB_DATA: this run's folder only
    budget = json.loads(work[0].read_text())['budget']
    assert (budget['source']['epochs'], budget['target']['epochs']) == (1, 0.2), budget
    assert budget['source']['max_length'] == budget['target']['max_length'] == 32, budget
    sources = [json.loads(f.read_text()) for f in work[0].parent.glob('sources/*/source.json')]
    assert [s['num_examples'] for s in sources] == [16, 16], sources
    runs = sorted(f.name for f in work[0].parent.glob('runs/*/*/seed*.json'))
    assert runs == ['seed0.json'] * 3 + ['seed1.json'] * 3, runs  # no intermediate step and each task, 2 seeds
    # the gains table: one row per ticked task, with a verdict
    table = widget.locator('table:visible')
    assert table.count() == 1, table.count()
    head = [t.strip() for t in table.locator('thead th').all_inner_texts()]
    rows = [[t.strip() for t in r.locator('td').all_inner_texts()] for r in table.locator('tbody tr').all()]
    rows = [dict(zip(head, r)) for r in rows]
    assert [r['Task'] for r in rows] == labels, rows
    assert all(r['Verdict'] in VERDICTS and r['Seeds'] == '2' for r in rows), rows
    visible_image(page, widget)
    assert 'b42318' not in widget.inner_html()  # no error shown in the widget
    widget.screenshot(path=str(shot))
    took = time.monotonic() - start
    # the gains went to the Measured results tab too, plotted against the prediction
    tab('Measured results').click()
    listed = widget.locator('textarea:visible').input_value()
    assert [line.split(',')[0] for line in listed.splitlines()] == labels, listed
    visible_image(page, widget)
    tab('Ranking').click()
    return took


def test_tutorial_in_a_real_browser(voila):
    from playwright.sync_api import sync_playwright
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run tools/setup.sh (it installs it)."
    expected = expected_ranking()
    url, log, data = voila
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
            widget = page.locator('.widget-vbox', has_text='which intermediate datasets').first
            check_table_and_tick_two(grid, widget, expected)  # then look at the chart, come back to the table
            assert page.locator('text=Error').count() == 0
            widget.screenshot(path=str(shot))
            page.locator('.lm-TabBar-tabLabel', has_text='Chart').click()
            chart = page.locator('img.widget-image').first
            chart.wait_for(timeout=60_000)
            page.wait_for_function('img => img.complete && img.naturalWidth > 400', arg=chart.element_handle(),
                                   timeout=60_000)
            widget.screenshot(path=str(shot.with_name(shot.stem + '_chart.png')))
            assert page.locator('text=Error').count() == 0
            took = measure_ticked(page, widget, run, lambda name: widget.locator(
                '.lm-TabBar-tab', has_text=re.compile(f'^{name}$')), data, expected.labels[:2],
                shot.with_name(shot.stem + '_measure.png'))
            print(f'measured in the browser in {took:.0f} s')
            assert page.locator('text=Error').count() == 0
        except Exception:
            page.screenshot(path=str(shot.with_name(shot.stem + '-failed.png')), full_page=True)
            print(log.read_text()[-4000:])
            raise
        finally: browser.close()
    assert shot.stat().st_size > 20_000
