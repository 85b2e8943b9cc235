"""The interactive tutorial in JupyterLab 4 with ipywidgets 8, served from this venv on 127.0.0.1 and opened in Debian's
Chromium (Playwright, which downloads no browser). The page runs the tutorial's cells up to `ui.selected` (Run All
Cells, through `window.jupyterapp`); then the browser checks what only a browser shows: each 'From' label shares a row
with its buttons, 'No-intermediate score' is not cut short, and no broken-image icon shows before anything is plotted.
It clicks Run, sees Run disabled and the bar counting texts and ESMs while the ranking runs, checks the rows and scores
against a ranking computed here, ticks two rows, re-runs the `ui.selected` cell (empty after Run All, as the tutorial
says) and checks it lists them.

Screenshot: test_artifacts/tutorial_lab.png (copied to nbs/images/widget_lab.png for the README)."""
import json, os, re, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest
from test_browser import (CHROMIUM, ROOT, TUTORIAL, check_table_and_tick_two, expected_ranking, free_port,
                          interactive_part)

TOKEN = 'esm-nb-lab-test'
# user settings: no news or update prompts over the page, and every cell rendered (no windowing of long notebooks)
SETTINGS = {'@jupyterlab/apputils-extension/notification': {'fetchNews': 'false', 'checkForUpdates': False},
            '@jupyterlab/notebook-extension/tracker': {'windowingMode': 'none'}}
pytestmark = pytest.mark.skipif(subprocess.run([sys.executable, '-c', 'import jupyterlab'],
                                               capture_output=True).returncode != 0,
                                reason='no JupyterLab: tools/setup.sh installs it (the dev extras)')


@pytest.fixture
def jupyter_lab(tmp_path):
    "JupyterLab on 127.0.0.1 with this venv's kernel (esm_nb installed); all its state under tmp_path."
    nb = interactive_part(TUTORIAL, tmp_path/'tutorial.ipynb', upto_selected=True)
    for name, values in SETTINGS.items():
        f = tmp_path/'settings'/f'{name}.jupyterlab-settings'
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(values))
    port = free_port()
    env = {**os.environ, 'PATH': f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           'HF_HUB_OFFLINE': '1', 'TRANSFORMERS_OFFLINE': '1', 'HF_DATASETS_OFFLINE': '1',
           'JUPYTER_CONFIG_DIR': str(tmp_path/'.jconfig'), 'JUPYTER_DATA_DIR': str(tmp_path/'.jdata'),
           'JUPYTER_RUNTIME_DIR': str(tmp_path/'.jruntime'), 'IPYTHONDIR': str(tmp_path/'.ipython')}
    cmd = [sys.executable, '-m', 'jupyterlab', '--ip=127.0.0.1', f'--port={port}', '--ServerApp.open_browser=False',
           f'--IdentityProvider.token={TOKEN}', f'--ServerApp.root_dir={tmp_path}',
           '--LabApp.expose_app_in_browser=True',  # window.jupyterapp: run the cells as the Run menu does
           f'--LabApp.workspaces_dir={tmp_path/"workspaces"}', f'--LabApp.user_settings_dir={tmp_path/"settings"}']
    if os.geteuid() == 0: cmd.append('--allow-root')
    log = open(tmp_path/'lab.log', 'w')
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(240):
        try:
            urllib.request.urlopen(f'http://127.0.0.1:{port}/api/status?token={TOKEN}', timeout=1)
            break
        except Exception:
            if proc.poll() is not None: break
            time.sleep(0.25)
    if proc.poll() is not None: raise AssertionError('JupyterLab did not start:\n' + (tmp_path/'lab.log').read_text())
    yield f'http://127.0.0.1:{port}/lab/tree/{nb.name}?token={TOKEN}', tmp_path/'lab.log'
    proc.terminate()
    proc.wait(20)


NOTEBOOK = 'window.jupyterapp.shell.currentWidget'
KERNEL_IDLE = f"""() => {{ const nb = {NOTEBOOK}; const k = nb && nb.sessionContext && nb.sessionContext.session
    && nb.sessionContext.session.kernel; return !!k && k.status === 'idle'; }}"""


def run_all(page):
    "Run all cells as the Run menu's 'Run All Cells' does, and wait until the kernel is done with them."
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(f"""() => {NOTEBOOK}.content.widgets.every(c => c.model.type !== 'code'
        || typeof c.model.executionCount === 'number')""", timeout=240_000)
    page.wait_for_function(KERNEL_IDLE, timeout=240_000)


def run_cell(page, i: int):
    "Run cell `i` again, as Shift+Enter on it does, and wait for its new output."
    before = page.evaluate(f"() => {NOTEBOOK}.content.widgets[{i}].model.executionCount")
    page.evaluate(f"""() => {{ {NOTEBOOK}.content.activeCellIndex = {i};
        return window.jupyterapp.commands.execute('notebook:run-cell'); }}""")
    page.wait_for_function(f"() => {NOTEBOOK}.content.widgets[{i}].model.executionCount > {before}", timeout=60_000)
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)


def boxes(selector: str, within):
    "Bounding boxes of the visible elements of `within` that match `selector`."
    return within.evaluate(f"""root => Array.from(root.querySelectorAll({selector!r}))
        .filter(e => e.offsetParent !== null)
        .map(e => {{ const r = e.getBoundingClientRect(); return {{x: r.x, y: r.y, w: r.width, h: r.height,
                     text: e.innerText, scroll: e.scrollWidth, client: e.clientWidth}}; }})""")


def check_layout_before_run(page, widget):
    "What item 4 of the widget's review fixed, as the browser lays it out."
    groups = widget.locator('.widget-toggle-buttons', has_text='From').all()
    assert len(groups) == 2, len(groups)  # the target's and the ESMs'
    for group in groups:
        label = boxes('.widget-label', group)[0]
        first = boxes('.widget-toggle-button', group)[0]
        assert label['text'].strip() == 'From', label
        # one row: the label is left of its first button, their vertical middles level
        assert label['x'] + label['w'] <= first['x'] + 1, (label, first)
        assert abs((label['y'] + label['h'] / 2) - (first['y'] + first['h'] / 2)) < first['h'] / 2, (label, first)
    tabs = widget.locator('.lm-TabBar-tab')
    tabs.filter(has_text='Measured results').click()
    baseline = widget.locator('.widget-text', has_text='No-intermediate score').first
    baseline.wait_for(timeout=10_000)
    label = boxes('.widget-label', baseline)[0]
    assert label['text'].strip() == 'No-intermediate score' and label['scroll'] <= label['client'], label
    for tab in ('Measured results', 'Chart'):  # nothing plotted yet: no image, so no broken-image icon
        tabs.filter(has_text=tab).click()
        page.wait_for_timeout(200)
        assert boxes('img', widget) == [], f"an empty image is visible in the {tab} tab"
    tabs.filter(has_text='Ranking').click()
    # the style that dims stale results while a ranking runs is in force here (the HTML widget keeps its <style>)
    dimmed = widget.evaluate("""root => { const d = document.createElement('div'); d.className = 'esm-nb-stale';
        root.appendChild(d); const o = getComputedStyle(d).opacity; d.remove(); return parseFloat(o); }""")
    assert dimmed < 0.5, dimmed


# Records the stage label's texts while a ranking runs: it counts texts while embedding and ESMs while scoring.
WATCH_STAGES = """root => { window.esmStages = new Set(); const seen = () => root.querySelectorAll('.widget-label')
    .forEach(l => { if (/^(Embedding texts|Scoring ESMs):/.test(l.innerText)) window.esmStages.add(l.innerText); });
    new MutationObserver(seen).observe(root, {subtree: true, childList: true, characterData: true}); }"""


def test_tutorial_in_jupyterlab(jupyter_lab):
    from playwright.sync_api import expect, sync_playwright
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run tools/setup.sh (it installs it)."
    url, log = jupyter_lab
    expected = expected_ranking()  # while JupyterLab starts
    shot = ROOT/'test_artifacts'/'tutorial_lab.png'
    shot.parent.mkdir(parents=True, exist_ok=True)
    console = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                                           '--disable-background-networking', '--disable-component-update',
                                           '--disable-sync', '--no-first-run'])
        page = browser.new_page(viewport={'width': 1280, 'height': 2000})
        page.on('console', lambda m: console.append(f'[{m.type}] {m.text}'))
        page.on('pageerror', lambda e: console.append(f'[pageerror] {e}'))
        try:
            page.goto(url, timeout=120_000)
            page.wait_for_function(KERNEL_IDLE, timeout=120_000)
            run_all(page)
            cells = page.evaluate(f"() => {NOTEBOOK}.content.widgets.map(c => c.model.sharedModel.getSource())")
            selected_cell = next(i for i, s in enumerate(cells) if s.strip() == 'ui.selected')
            errors = page.evaluate(f"""() => {NOTEBOOK}.content.widgets.filter(c => c.model.type === 'code')
                .flatMap(c => c.model.outputs.toJSON()).filter(o => o.output_type === 'error')""")
            assert errors == [], errors
            widget = page.locator('.widget-vbox', has_text='which intermediate datasets').first
            widget.wait_for(timeout=60_000)
            check_layout_before_run(page, widget)
            selected = page.locator('.jp-Cell').nth(selected_cell).locator('.jp-OutputArea')
            assert expected.labels[0] not in selected.inner_text()  # run before anything was ticked: empty

            widget.evaluate(WATCH_STAGES)
            run = widget.get_by_role('button', name=re.compile(r'^\W*Run$'))  # the label follows a play icon
            run.click()
            expect(run).to_be_disabled(timeout=30_000)  # no second ranking queued up by impatient clicks
            widget.get_by_text('Ranked 13 intermediate tasks', exact=False).wait_for(timeout=300_000)
            expect(run).to_be_enabled(timeout=10_000)
            stages = page.evaluate('() => Array.from(window.esmStages)')
            assert any(s.startswith('Embedding texts:') for s in stages), stages  # progress within the steps
            assert any(s.startswith('Scoring ESMs:') for s in stages), stages
            check_table_and_tick_two(widget.locator('.widget-gridbox').first, widget, expected)
            widget.screenshot(path=str(shot))
            widget.locator('.lm-TabBar-tab', has_text='Chart').click()
            chart = widget.locator('img.widget-image').first
            chart.wait_for(timeout=60_000)
            page.wait_for_function('img => img.complete && img.naturalWidth > 400', arg=chart.element_handle(),
                                   timeout=60_000)
            readout = widget.locator('.widget-hslider', has_text='Bars').locator('.widget-readout')
            assert readout.inner_text().strip() == str(len(expected)), readout.inner_text()  # not 15 of 13
            widget.locator('.lm-TabBar-tab', has_text='Ranking').click()

            run_cell(page, selected_cell)  # the tutorial says: tick rows, then run `ui.selected` again
            listed = selected.inner_text()
            assert expected.table['Task ID'][0] in listed and expected.table['Task ID'][1] in listed, listed
            bad = [c for c in console if c.startswith(('[error]', '[pageerror]')) and 'ERR_NAME_NOT_RESOLVED' not in c
                   and 'ERR_INTERNET_DISCONNECTED' not in c]
            assert not bad, bad
        except Exception:
            page.screenshot(path=str(shot.with_name(shot.stem + '-failed.png')), full_page=True)
            print(log.read_text()[-4000:])
            print('\n'.join(console[-40:]))
            raise
        finally: browser.close()
    assert shot.stat().st_size > 20_000
