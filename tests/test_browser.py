"""Each lesson in a real browser, as a learner uses it: JupyterLab and headless Chromium.

For every notebook in notebooks/: open it in JupyterLab, wait for the kernel, clear the stored outputs
(notebook:clear-all-cell-outputs, what Edit → Clear Outputs of All Cells runs), run all cells (notebook:run-all-cells,
what Run → Run All Cells runs), and check that the run went through to the last cell with no traceback and every
widget rendered, and that every output nbval compares is the stored one: the kernels run on another CPU kernel path
than nbval's (CPU_PATH: AVX2, oneDNN and MKL held to AVX2, two threads), so this run is also the test that a
lesson prints the same numbers on another CPU (the README's numerical policy). Then move every widget control once (slider: arrow key; dropdown: next option; checkbox: click; …)
and check that what its output shows changes, with no traceback and no "Error displaying widget". nbval cannot see
any of this: an exception inside a widget callback only ever shows in the browser. Every wait is on a condition
(the kernel idle, every message a control sent run to its end, the display changed), bounded by a generous
timeout that only runs out when something is wrong.

One JupyterLab server (over a temporary copy of notebooks/, with temporary settings, data, runtime and home dirs)
and one Chromium for the whole module. A screenshot per lesson goes to test-artifacts/browser-<lesson>.png
(browser-<lesson>-FAILED.png on failure, with a Playwright trace beside it, browser-<lesson>-FAILED-trace.zip:
open it with `playwright show-trace FILE` or at trace.playwright.dev; BROWSER_TEST_TRACE_SNAPSHOTS=1 adds a DOM
snapshot at each action to it, at about twice the test's time).

Needs the Python package playwright and a Chromium binary (/usr/bin/chromium or `chromium` on PATH; never
`playwright install`). Without them the test is skipped, except under CI=true/1, where it fails.
BROWSER_TEST_NOTEBOOKS=DIR tests the notebooks in DIR instead of notebooks/ (e.g. a deliberately broken copy).
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import browser_support as bs
import nbformat
import pytest
from conftest import CPU_PATHS, IN_CI, ROOT, cpu_has_avx2
from output_compare import differences

NOTEBOOK_DIR = Path(os.environ.get("BROWSER_TEST_NOTEBOOKS") or ROOT / "notebooks").resolve()
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
ARTIFACTS = ROOT / "test-artifacts"
# The kernels run on this CPU kernel path (conftest.CPU_PATHS), not nbval's: after Run All, every output nbval
# compares must equal the stored one (ci/output_compare.py), so the browser run is also the "another CPU path" run.
CPU_PATH = "avx2-2-threads"
CAPABILITY = "import torch; print(torch.backends.cpu.get_cpu_capability())"
# BROWSER_TEST_TRACE_SNAPSHOTS=1: the failure trace also holds a DOM snapshot at each action (slower; for debugging).
TRACE_SNAPSHOTS = os.environ.get("BROWSER_TEST_TRACE_SNAPSHOTS", "") == "1"


def cpu_path_env() -> dict:
    """The environment of the CPU path, where this CPU has it (without AVX2 the kernels take their default path)."""
    return CPU_PATHS[CPU_PATH] if cpu_has_avx2() else {}


def model_cells(nb: dict) -> list:
    """The cells of JupyterLab's notebook model (toJSON), multi-line strings joined, as ci/output_compare.py reads
    them (only what it compares: cell type, source, outputs)."""
    def joined(v):
        return "".join(v) if isinstance(v, list) else v

    cells = []
    for c in nb["cells"]:
        outputs = []
        for o in c.get("outputs") or []:
            o = {**o, **({"text": joined(o["text"])} if "text" in o else {})}
            if isinstance(o.get("data"), dict):
                o["data"] = {k: joined(v) for k, v in o["data"].items()}
            outputs.append(o)
        cells.append(nbformat.from_dict({"cell_type": c["cell_type"], "source": joined(c["source"]),
                                         "metadata": c.get("metadata") or {}, "outputs": outputs}))
    return cells


def require_browser() -> None:
    reason = bs.browser_unavailable()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(
            f"{reason}. CI={os.environ.get('CI')!r}: the browser test must run in CI, not be skipped.", pytrace=False
        )
    pytest.skip(reason)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, request):
    """A JupyterLab server over a temporary copy of the notebooks, shut down (kernels included) after the module."""
    require_browser()
    server = bs.start_lab(NOTEBOOK_DIR, tmp_path_factory.mktemp("jupyterlab"), cpu_path_env())
    request.addfinalizer(server.stop)
    return server


@pytest.fixture(scope="module")
def browser(tmp_path_factory, request):
    """Headless Chromium with a fresh profile (and HOME) in a temporary dir."""
    require_browser()
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("chromium")
    (tmp / "home").mkdir()
    pw = sync_playwright().start()
    request.addfinalizer(pw.stop)
    context = pw.chromium.launch_persistent_context(
        str(tmp / "profile"),
        executable_path=bs.chromium_path(),
        headless=True,
        args=bs.CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 1000},
        env={**os.environ, "HOME": str(tmp / "home")},
        timeout=60_000,
    )
    request.addfinalizer(context.close)
    context.set_default_timeout(bs.UI_S * 1000)
    context.add_init_script(bs.page_helpers())
    # One trace for the module, one chunk per lesson: kept (beside the screenshot) only when the lesson fails. It
    # holds every action with its timing, the console and the page's errors; no screencast (~2 s of CPU a lesson),
    # the failure screenshot is saved apart. DOM snapshots at each action only with TRACE_SNAPSHOTS: a snapshot of a
    # whole rendered lesson costs ~50 ms, and a lesson takes ~10 of them per control moved (11 controls: 17 s vs 9 s).
    context.tracing.start(screenshots=False, snapshots=TRACE_SNAPSHOTS)
    request.addfinalizer(lambda: context.tracing.stop())
    return context


class LabPage:
    """One JupyterLab page for the whole module: the first lesson loads the app (~4 s), the next ones are opened
    in it with the app's own "open" command and disposed of afterwards, as a learner opens one lesson after
    another. After a failed lesson the page is thrown away and the next lesson loads a fresh one."""

    def __init__(self, browser, lab):
        self.browser, self.lab, self.page, self.console = browser, lab, None, []

    def open(self, name: str):
        self.console.clear()
        if self.page is None:
            self.page = self.browser.new_page()
            self.page.on("console", lambda m: self.console.append(f"console.{m.type}: {m.text[:300]}")
                         if m.type == "error" else None)
            self.page.on("pageerror", lambda e: self.console.append(f"page error: {str(e)[:300]}"))
            self.page.goto(self.lab.notebook_url(name), wait_until="domcontentloaded",
                           timeout=bs.KERNEL_READY_S * 1000)
        else:
            self.page.evaluate("([p]) => { window.jupyterapp.commands.execute('docmanager:open', "
                               "{path: p, factory: 'Notebook'}); }", [name])
        return self.page

    def close(self, name: str, ok: bool) -> None:
        if self.page is not None and ok:
            try:  # dispose of the panel directly: no "unsaved changes" dialog (Run All changed the outputs)
                self.page.evaluate("([p]) => { for (const w of [...window.jupyterapp.shell.widgets('main')]) "
                                   "if (w.context && w.context.path === p) w.dispose(); }", [name])
            except Exception:  # noqa: BLE001 - a page that cannot do this is replaced below
                ok = False
        if self.page is not None and not ok:
            self.page.close()
            self.page = None
        self.lab.shutdown_sessions(name)


@pytest.fixture(scope="module")
def lab_page(browser, lab, request):
    holder = LabPage(browser, lab)
    request.addfinalizer(lambda: holder.page and holder.page.close())
    return holder


def check_control(page, name: str, c: dict) -> str | None:
    """Move one control; return None if its output changed cleanly, else what went wrong."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    where = f"{name}, cell {c['cell']}, {c['kind']} {c['label']!r}"
    state = bs.js(page, "beforeMove", name, c["id"])  # what it shows, the kernel's busy count, errors on the page
    before, busy_before, shown_before = state["snapshot"], state["busy"], set(state["problems"])
    if before["n"] == 0:
        return f"{where}: no output it could change (no Output/HTML/Image widget in its interact box, cell or notebook)"
    try:
        action = bs.move_control(page, c)
    except bs.ControlError as err:
        return f"{where}: cannot be moved: {err}"
    args = [name, c["id"], before["key"], busy_before]
    try:  # the display changed, or the kernel ran the callback; then everything the move sent has run, its
        # outputs arrived; then the display must have changed (given a moment to render)
        bs.wait_js(page, "bt.changed(a[0], a[1], a[2]) || bt.busyCount(a[0]) > a[3]", args, bs.CONTROL_S)
        bs.wait_settled(page, name, bs.CONTROL_S)
        after = bs.js(page, "afterMove", name, c["id"], before["key"])
        if not after["changed"]:
            bs.wait_js(page, "bt.changed(a[0], a[1], a[2])", args, bs.CONTROL_GRACE_S)
            after = bs.js(page, "afterMove", name, c["id"], before["key"])
    except PlaywrightTimeout:
        idle = bs.js(page, "kernelIdle", name)
        if any(p.startswith(f"cell {c['cell']}:") for p in shown_before):
            return f"{where}: {action}, but what it shows did not change: it still shows the error reported above"
        after = bs.js(page, "snapshot", name, c["id"])
        return (
            f"{where}: {action}, but what it shows did not change (kernel idle: {idle}, messages still running: "
            f"{bs.js(page, 'pendingCount', name)}). Its output ({after['scope']}) still reads:\n{after['text']}"
        )
    new = [p for p in after["problems"] if p not in shown_before]
    if new:
        return f"{where}: {action}, and the page now shows an error:\n" + "\n".join(new)
    return None


def lesson_class(path: Path):
    """One test class per lesson, so that `--dist loadscope` spreads the lessons over the xdist workers (each worker
    starts its own JupyterLab server and Chromium, the module's fixtures, once)."""

    class Lesson:
        def test_lesson_in_jupyterlab(self, lab, lab_page, record_property):
            check_lesson_in_jupyterlab(path, lab, lab_page, record_property)

    Lesson.__name__ = Lesson.__qualname__ = f"TestLesson{path.name.split('_')[0]}"
    return Lesson


def check_lesson_in_jupyterlab(path, lab, lab_page, record_property):
    from playwright.sync_api import Error as PlaywrightError

    name = path.name
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"browser-{path.stem}-FAILED.png"
    trace = ARTIFACTS / f"browser-{path.stem}-FAILED-trace.zip"
    shot.unlink(missing_ok=True)  # from an earlier run
    trace.unlink(missing_ok=True)
    console = lab_page.console
    passed, page = False, None
    tracing = lab_page.browser.tracing
    tracing.start_chunk(title=name)

    def diagnostics() -> str:
        parts = []
        if page is None:
            return f"(the page did not open)\n--- JupyterLab log (last lines):\n{lab.log_tail(15)}"
        for label, call in [
            ("errors in outputs", "problems"),
            ("errors in the notebook model", "modelErrors"),
            ("widgets not rendered", "widgetRender"),
            ("dialogs", "dialogs"),
        ]:
            try:
                found = bs.js(page, call, name) if call != "dialogs" else bs.js(page, call)
                if call == "widgetRender":
                    found = found["bad"]
            except PlaywrightError as err:
                found = [f"(could not read: {err.message.splitlines()[0]})"]
            if found:
                parts.append(f"--- {label}:\n" + "\n".join(found))
        try:
            parts.append(f"--- run state: {bs.js(page, 'runState', name)}")
        except PlaywrightError:
            pass
        if console:
            parts.append("--- browser console (last 10):\n" + "\n".join(console[-10:]))
        parts.append(f"--- JupyterLab log (last lines):\n{lab.log_tail(15)}")
        return "\n".join(parts)

    def fail(message: str):
        try:
            if page is not None:
                page.screenshot(path=str(shot), full_page=True)
        except PlaywrightError:
            pass
        pytest.fail(f"{name}: {message}\n(screenshot: {shot}; Playwright trace: {trace})\n{diagnostics()}",
                    pytrace=False)

    @contextmanager
    def step(what: str):
        error = None
        try:
            yield
        except PlaywrightError as err:
            error = err.message.splitlines()[0]
        if error is not None:  # outside the except block: no "during handling of the above exception" noise
            fail(f"{what}: {error}")

    t0 = time.monotonic()
    try:
        with step(f"opening the notebook and waiting for an idle kernel (≤ {bs.KERNEL_READY_S} s)"):
            page = lab_page.open(name)
            bs.wait_js(page, "bt.kernelIdle(a[0])", [name], bs.KERNEL_READY_S, polling=200)
            bs.js(page, "watchKernel", name)
        t_kernel = time.monotonic() - t0
        kernel_cmd = lab.kernel_command(name)
        if not bs.same_environment(kernel_cmd[0], sys.executable):
            fail(f"the kernel runs {kernel_cmd[0]!r}, not this environment's {sys.executable!r}: {kernel_cmd}")

        with step("clearing every output (notebook:clear-all-cell-outputs)"):
            bs.run_command(page, name, "notebook:clear-all-cell-outputs")
            bs.wait_js(page, "bt.allCleared(a[0])", [name], bs.UI_S)
        with step(f"running all cells (notebook:run-all-cells), waiting for the run to finish (≤ {bs.RUN_ALL_S} s)"):
            t_run0 = time.monotonic()
            bs.run_command(page, name, "notebook:run-all-cells")
            bs.wait_js(page, "bt.runDone(a[0])", [name], bs.RUN_ALL_S, polling=250)
            bs.wait_settled(page, name, bs.RUN_ALL_S)
        t_run = time.monotonic() - t_run0

        state = bs.js(page, "runState", name)
        counts = state["counts"]
        executed = sum(c is not None for c in counts)
        if counts != list(range(1, len(counts) + 1)):
            fail(f"Run All did not go through: {executed} of {len(counts)} code cells ran (execution counts {counts})")
        with step(f"waiting for every widget view to render (≤ {bs.WIDGETS_RENDER_S} s)"):
            bs.wait_js(page, "bt.widgetRender(a[0]).loading === 0", [name], bs.WIDGETS_RENDER_S, polling=200)
        rendered = bs.js(page, "widgetRender", name)
        if bs.js(page, "modelErrors", name) or bs.js(page, "problems", name) or rendered["bad"]:
            fail("Run All went through, but the page shows an error")
        with step("reading the notebook's outputs and the kernel's CPU path"):
            fresh = model_cells(bs.js(page, "notebookJSON", name))
            capability = bs.js(page, "kernelPrint", name, CAPABILITY).strip()
        want = cpu_path_env().get("ATEN_CPU_CAPABILITY", capability).upper()
        if capability != want:
            fail(f"the kernel was sent on the CPU path {CPU_PATH} ({want}) but torch runs {capability!r}")
        diffs = differences(nbformat.read(path, as_version=4).cells, fresh)
        if diffs:
            fail(f"on the CPU path {CPU_PATH} ({cpu_path_env()}), after Run All, these outputs differ from the "
                 "stored ones (the numerical policy in the README: float64 for exactness, no float32 bitwise claims "
                 "across kernels, training runs in float64 or output-ignored):\n  " + "\n  ".join(diffs))

        found = bs.js(page, "discover", name)
        controls = [c for c in found["controls"] if not c["disabled"]]
        failures = [f"{name}: a widget control this test cannot move: {u}" for u in found["unsupported"]]
        for c in found["controls"]:
            if c["disabled"]:
                print(f"{name}: skipped disabled {c['kind']} {c['label']!r} (cell {c['cell']})")
        last = None
        for c in controls:
            t_c = time.monotonic()
            with step(f"moving {c['kind']} {c['label']!r} (cell {c['cell']})"):
                problem = check_control(page, name, c)
            print(
                f"  {c['kind']} {c['label']!r} (cell {c['cell']}): {'FAILED' if problem else 'output changed'} "
                f"in {time.monotonic() - t_c:.1f} s"
            )
            if problem:
                failures.append(problem)
            last = c
        seconds = time.monotonic() - t0

        if last is not None:  # the screenshot shows the last widget moved, with its output, every image loaded
            bs.wait_settled(page, name, bs.CONTROL_S)
            page.wait_for_function("[...document.images].every(i => i.complete && i.naturalHeight > 0)",
                                   timeout=5000)
            page.locator(f'[data-bt-control="{last["id"]}"]').evaluate(
                "e => e.closest('.jp-Cell').scrollIntoView({block: 'start'})"
            )
        page.screenshot(path=str(ARTIFACTS / f"browser-{path.stem}.png"), full_page=True)

        record_property("seconds_to_last_widget", round(seconds, 1))
        record_property("seconds_to_kernel_idle", round(t_kernel, 1))
        record_property("seconds_run_all", round(t_run, 1))
        record_property("controls", len(controls))
        print(
            f"{name}: kernel idle after {t_kernel:.1f} s, Run All {t_run:.1f} s ({len(counts)} code cells), "
            f"{rendered['expected']} widget view(s) rendered, {len(controls)} control(s) moved; "
            f"opening → last widget responding: {seconds:.1f} s"
        )
        if failures:
            fail(f"{len(failures)} widget problem(s):\n" + "\n\n".join(failures))
        passed = True
    finally:
        try:  # the trace of this lesson: kept beside the screenshot when it failed
            tracing.stop_chunk(path=None if passed else str(trace))
        except PlaywrightError:
            pass
        lab_page.close(name, passed)


for _path in NOTEBOOKS:
    globals()[f"TestLesson{_path.name.split('_')[0]}"] = lesson_class(_path)
