"""Helpers for tests/test_browser.py: a throw-away JupyterLab server and the page-side checks.

Nothing here knows a lesson or a widget by name: notebooks are whatever lies in the folder, controls are whatever
ipywidgets 8 renders (found by their CSS classes).

The server runs with ``--LabApp.expose_app_in_browser`` (as JupyterLab's own UI tests, galata, do), so the page can
read ``window.jupyterapp``: the kernel status and each cell's execution count come from JupyterLab's models (the
DOM shows no prompt for a collapsed cell). Everything else is done and checked as a learner would: menus, keyboard,
mouse, and the rendered outputs.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Bounded waits (seconds). Generous: they only run out when something is wrong.
SERVER_START_S = 60
SERVER_STOP_S = 20
KERNEL_READY_S = 90  # page load + kernel start
RUN_ALL_S = 180  # a lesson must run in 30 s (README rule 9); nbval allows 120 s per cell
WIDGETS_RENDER_S = 30
CONTROL_S = 30  # one widget callback (each draws a figure in well under a second here)
CONTROL_GRACE_S = 3  # after the kernel went busy and idle with no change, wait this long for a late update
UI_S = 15  # menus, clicks, clearing outputs

# User settings written into the temporary JUPYTERLAB_SETTINGS_DIR.
LAB_SETTINGS = {
    # Render every cell: JupyterLab 4 otherwise leaves offscreen cells out of the DOM ("windowing").
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # No news/update toasts over the notebook, no network access from the page.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"checkForUpdates": False, "fetchNews": "false"},
    # The server's copy of the lessons is temporary, but saving is not what this test checks.
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


def chromium_path() -> str | None:
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def browser_unavailable() -> str | None:
    """Why the browser test cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package 'playwright' is not installed (pip install playwright; never `playwright install`)"
    if chromium_path() is None:
        return "no Chromium: neither /usr/bin/chromium nor `chromium` on PATH (Debian/Ubuntu: apt-get install chromium)"
    return None


def same_environment(executable: str, reference: str) -> bool:
    """Is `executable` this environment's Python? (`python -m jupyter lab` runs the jupyter-lab script, whose
    shebang may say python3 where sys.executable says python: same folder and same file, not the same string.)"""
    a, b = Path(executable), Path(reference)
    return a.is_absolute() and a.parent == b.parent and a.exists() and os.path.samefile(a, b)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    """A JupyterLab server started by start_lab(); stop() is safe to call more than once."""

    proc: subprocess.Popen
    port: int
    token: str
    root: Path
    log_path: Path
    kernel_pids: set[int] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str) -> str:
        return f"{self.base_url}/lab/tree/{urllib.parse.quote(name)}?reset&token={self.token}"

    def api(self, method: str, path: str, timeout: float = 10):
        req = urllib.request.Request(
            self.base_url + path,
            method=method,
            headers={"Authorization": f"token {self.token}"},
            data=b"" if method in ("POST", "PUT", "PATCH") else None,
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no server log)"

    def kernel_command(self, notebook_name: str) -> list[str]:
        """Command line of the kernel process serving this notebook's session (found among the server's children)."""
        import psutil  # a dependency of ipykernel

        kernel_ids = [s["kernel"]["id"] for s in self.api("GET", "/api/sessions") if s.get("path") == notebook_name]
        assert kernel_ids, f"the server has no session for {notebook_name}"
        for child in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                cmd = child.cmdline()
            except psutil.Error:
                continue
            if any(f"kernel-{kernel_ids[0]}.json" in part for part in cmd):
                self.kernel_pids.add(child.pid)
                return cmd
        raise AssertionError(f"no kernel process for {notebook_name} (kernel {kernel_ids[0]}) under the server")

    def shutdown_sessions(self, notebook_name: str) -> None:
        """Stop the kernel of a notebook's session (closing its browser tab leaves the kernel running)."""
        try:
            for s in self.api("GET", "/api/sessions"):
                if s.get("path") == notebook_name:
                    self.api("DELETE", f"/api/sessions/{s['id']}", timeout=30)
        except (OSError, urllib.error.URLError):
            pass

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.api("POST", "/api/shutdown", timeout=SERVER_STOP_S)
            except (OSError, urllib.error.URLError):
                pass
            try:
                self.proc.wait(timeout=SERVER_STOP_S)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
        for pid in self.kernel_pids:  # kernels run in their own session: make sure none outlives the server
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def start_lab(notebooks_dir: Path, tmp: Path) -> LabServer:
    """Start JupyterLab on 127.0.0.1 over a copy of notebooks_dir; every Jupyter/IPython/matplotlib dir is under tmp."""
    root = tmp / "root"
    shutil.copytree(notebooks_dir, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    dirs = {name: tmp / name for name in ("config", "data", "path", "runtime", "settings", "workspaces", "home")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    for rel, settings in LAB_SETTINGS.items():
        f = dirs["settings"] / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(settings), encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON", "MPL"))}
    home = dirs["home"]
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        IPYTHONDIR=str(home / ".ipython"),
        MPLCONFIGDIR=str(home / ".matplotlib"),
        JUPYTER_CONFIG_DIR=str(dirs["config"]),
        # JUPYTER_PATH and the user data dir are searched for kernelspecs before sys.prefix: both empty, so a stale
        # user-level "python3" cannot win over this environment's (ipykernel's, whose "python" means sys.executable).
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_PATH=str(dirs["path"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
        PYTHONUNBUFFERED="1",
    )
    port, token = free_port(), secrets.token_hex(24)
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.expose_app_in_browser=True",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log_path = tmp / "jupyterlab.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = LabServer(proc=proc, port=port, token=token, root=root, log_path=log_path)
    deadline = time.monotonic() + SERVER_START_S
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with code {proc.returncode} while starting:\n{server.log_tail()}"
                )
            try:
                server.api("GET", "/api/status", timeout=2)
                return server
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not answer within {SERVER_START_S} s:\n{server.log_tail()}")
            time.sleep(0.2)
    except BaseException:
        server.stop()
        raise


# --------------------------------------------------------------------------------------------------------------------
# Page side. Installed with context.add_init_script(); every function takes the notebook's path in the server.
# --------------------------------------------------------------------------------------------------------------------

PAGE_HELPERS = r"""
window.__bt = (() => {
  const WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json';
  // What a callback can change: Output widgets (interact's output), HTML/Label/Image/progress displays.
  const DISPLAY = '.widget-output, .widget-html, .widget-htmlmath, .widget-image, .jupyter-widgets.widget-label, '
                + '.widget-hprogress, .widget-vprogress, .widget-valid';
  // ipywidgets 8 controls, by the class on the view's root element. Order matters: a container claims what it holds.
  const KINDS = [
    ['slider', '.widget-slider, .widget-hslider, .widget-vslider'],
    ['dropdown', '.widget-dropdown'],
    ['select', '.widget-select, .widget-select-multiple'],
    ['checkbox', '.widget-checkbox'],
    ['toggle-buttons', '.widget-toggle-buttons'],
    ['toggle-button', '.widget-toggle-button'],
    ['radio-buttons', '.widget-radio'],
    ['textarea', '.widget-textarea'],
    ['text', '.widget-text'],
    ['button', '.widget-button'],
  ];
  const INTERACTIVE = 'input, select, textarea, button, [role="slider"], [contenteditable="true"]';
  const busy = {};

  function panel(path) {
    const app = window.jupyterapp;
    if (!app || !app.shell) return null;
    for (const w of app.shell.widgets('main')) {
      if (w && w.context && w.context.path === path && w.content && w.sessionContext) return w;
    }
    return null;
  }
  function kernel(path) {
    const p = panel(path);
    return p && p.sessionContext.session ? p.sessionContext.session.kernel : null;
  }
  function kernelIdle(path) {
    const p = panel(path), k = kernel(path);
    if (!p || !k || !p.sessionContext.isReady) return false;
    if (k.status !== 'idle' || k.connectionStatus !== 'connected') return false;
    const ind = p.node.querySelector('.jp-Notebook-ExecutionIndicator');
    return !ind || ind.dataset.status === 'idle';
  }
  function watchKernel(path) {  // count the kernel's busy periods, to tell "callback ran and changed nothing"
    const k = kernel(path);
    if (!k) return false;
    if (!k.__btWatched) {
      k.__btWatched = true;
      k.statusChanged.connect((_, s) => { if (s === 'busy') busy[path] = (busy[path] || 0) + 1; });
    }
    return true;
  }
  function busyCount(path) { return busy[path] || 0; }
  function cells(path) {  // [{index, type, model, node}] for every cell; index counts from 1, as "Cell N/M" in
    const p = panel(path);  // JupyterLab's status bar
    const models = [...p.content.model.cells];
    return models.map((m, i) => ({index: i + 1, type: m.type, model: m, node: p.content.widgets[i].node}));
  }
  function runState(path) {
    const code = cells(path).filter(c => c.type === 'code');
    return {
      n: code.length,
      counts: code.map(c => c.model.executionCount),
      running: code.filter(c => c.model.executionState === 'running').length,
      idle: kernelIdle(path),
    };
  }
  function allCleared(path) { return runState(path).counts.every(c => c === null); }
  function runDone(path) {
    const s = runState(path);  // (a notebook without code cells has nothing to run)
    return s.idle && s.running === 0 && (s.n === 0 || s.counts.some(c => c !== null));
  }
  function outputsJSON(c) {
    const out = [];
    for (let i = 0; i < c.model.outputs.length; i++) out.push(c.model.outputs.get(i).toJSON());
    return out;
  }
  function modelErrors(path) {
    const errors = [];
    for (const c of cells(path).filter(c => c.type === 'code')) {
      for (const o of outputsJSON(c)) {
        if (o.output_type === 'error') errors.push(`cell ${c.index}: ${o.ename}: ${o.evalue}`);
      }
    }
    return errors;
  }
  // Every widget-view output of a cell must show a rendered view: not "Loading widget...", not an error.
  // Output i of a cell's model is child i of its output area.
  function widgetRender(path) {
    let expected = 0, rendered = 0, loading = 0;
    const bad = [];
    for (const c of cells(path).filter(c => c.type === 'code')) {
      const area = c.node.querySelector('.jp-Cell-outputArea');
      const nodes = area ? [...area.querySelectorAll(':scope > .jp-OutputArea-child > .jp-OutputArea-output')] : [];
      outputsJSON(c).forEach((o, i) => {
        if (!(o.data && o.data[WIDGET_VIEW] && o.data[WIDGET_VIEW].model_id)) return;
        expected++;
        const n = nodes[i];
        if (n && (n.querySelector('.jupyter-widgets-error-widget') ||
                  (n.classList.contains('jupyter-widgets') && /Error displaying widget/.test(n.textContent)))) {
          bad.push(`cell ${c.index}, output ${i}: ${n.textContent.replace(/\s+/g, ' ').trim().slice(0, 200)}`);
        } else if (n && n.querySelector(':scope > .jupyter-widgets')) {
          rendered++;
        } else {
          loading++;
          const shows = n ? JSON.stringify(n.textContent.slice(0, 100)) : 'no output node';
          bad.push(`cell ${c.index}, output ${i}: not rendered (${shows})`);
        }
      });
    }
    return {expected, rendered, loading, bad};
  }
  // What a learner would see as an error: tracebacks and widget errors in any output.
  function problems(path) {
    const found = [];
    for (const c of cells(path)) {
      const area = c.node.querySelector('.jp-Cell-outputArea');
      if (!area) continue;
      // innermost outputs only (an interact's own output node holds its Output widget's outputs)
      for (const o of area.querySelectorAll('.jp-OutputArea-output')) {
        if (o.querySelector('.jp-OutputArea-output')) continue;
        const t = o.innerText || o.textContent;
        if (/Traceback/.test(t)) {
          found.push(`cell ${c.index}: traceback shown (${o.dataset.mimeType || 'widget'}):\n${tail(t, 12)}`);
        }
      }
      const t = area.textContent;
      const i = t.indexOf('Error displaying widget');
      if (i >= 0) found.push(`cell ${c.index}: ${t.slice(i, i + 300)}`);
      if (area.querySelector('.jupyter-widgets-error-widget'))  // ipywidgets' broken-view icon
        found.push(`cell ${c.index}: a widget view failed to render (ipywidgets' error icon; see the browser console)`);
    }
    return [...new Set(found)];
  }
  function tail(text, n) {  // the end of a traceback says what went wrong
    const lines = text.replace(/\s+$/, '').split('\n');
    if (lines.length <= n + 2) return lines.join('\n');
    return [lines[0], `  … (${lines.length - n - 1} lines)`, ...lines.slice(-n)].join('\n');
  }
  function labelOf(el, kind, i) {
    const clean = s => (s || '').replace(/\u200b/g, '').trim();
    const direct = [...el.children].find(ch => ch.matches('label.widget-label'));
    const basic = el.querySelector('.widget-label-basic');  // a checkbox's description
    for (const s of [direct && direct.textContent, basic && basic.textContent,
                     (kind === 'button' || kind === 'toggle-button') && el.textContent, el.getAttribute('title')]) {
      if (clean(s)) return clean(s);
    }
    return `${kind} #${i}`;
  }
  // Tag every control in the notebook with data-bt-control=N and describe it.
  function discover(path) {
    const root = panel(path).content.node;
    root.querySelectorAll('[data-bt-control]').forEach(e => e.removeAttribute('data-bt-control'));
    const claimed = [], found = [];
    const all = cells(path);
    const cellIndex = el => all.findIndex(c => c.node === el.closest('.jp-Cell')) + 1;
    for (const [kind, sel] of KINDS) {
      for (const el of root.querySelectorAll(sel)) {
        if (claimed.some(c => c.contains(el) || el.contains(c))) continue;
        claimed.push(el);
        // interact_manual's "Run Interact" button is pressed after each change, not tested on its own
        if (kind === 'button' && el.parentElement && el.parentElement.classList.contains('widget-interact')) continue;
        found.push({el, kind});
      }
    }
    found.sort((a, b) => (a.el.compareDocumentPosition(b.el) & Node.DOCUMENT_POSITION_FOLLOWING) ? -1 : 1);
    const controls = found.map(({el, kind}, id) => {  // in page order
      el.setAttribute('data-bt-control', String(id));
      const disabled = !!(el.querySelector('[disabled]') || el.matches('[disabled], :disabled'));
      return {id, kind, label: labelOf(el, kind, id), cell: cellIndex(el), disabled};
    });
    const unsupported = new Set();  // anything else a learner could operate in a widget view
    for (const x of root.querySelectorAll(INTERACTIVE)) {
      const view = x.closest('.jupyter-widgets');
      if (!view || claimed.some(c => c.contains(x))) continue;
      if (x.matches('input[type="file"]') || x.closest('.jp-InputArea')) continue;
      const output = x.closest('.jp-OutputArea-output');  // plain HTML output shown inside an Output widget
      if (output && view.contains(output)) continue;
      unsupported.add(`cell ${cellIndex(x)}: <${x.tagName.toLowerCase()}> in a widget view of class "${view.className}"`);
    }
    return {controls, unsupported: [...unsupported]};
  }
  function control(id) { return document.querySelector(`[data-bt-control="${id}"]`); }
  function manualButton(id) {  // interact_manual: the button that applies the change
    const box = control(id).closest('.widget-interact');
    return !!(box && [...box.children].some(ch => ch.classList.contains('widget-button')));
  }
  function hash(s) {
    let h = 2166136261;
    for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
    return (h >>> 0).toString(16) + ':' + s.length;
  }
  // What this control's output shows now: its interact box's displays, else its cell's, else the notebook's.
  function snapshot(path, id) {
    const el = control(id);
    const pick = root => [...root.querySelectorAll(DISPLAY)].filter(d => !d.contains(el));
    let scope = 'interact', shown = [];
    const box = el.closest('.widget-interact');
    if (box) shown = pick(box);
    if (!shown.length) { scope = 'cell'; shown = pick(el.closest('.jp-Cell')); }
    if (!shown.length) { scope = 'notebook'; shown = pick(panel(path).content.node); }
    const parts = shown.map(d => [d.innerText, ...[...d.querySelectorAll('img')].map(i => i.src),
                                  ...[...d.querySelectorAll('svg')].map(s => s.outerHTML)].join('\n'));
    const text = shown.map(d => d.innerText).join('\n---\n');
    return {scope, n: shown.length, key: hash(parts.join('\n===\n')), text: tail(text, 10).slice(-1200),
            images: shown.reduce((k, d) => k + d.querySelectorAll('img, svg').length, 0)};
  }
  function changed(path, id, key) { return snapshot(path, id).key !== key; }
  function dialogs() {
    return [...document.querySelectorAll('.jp-Dialog')].map(d => d.innerText.slice(0, 500));
  }
  return {kernelIdle, watchKernel, busyCount, runState, allCleared, runDone, modelErrors, widgetRender,
          problems, discover, manualButton, snapshot, changed, dialogs};
})();
"""


# --------------------------------------------------------------------------------------------------------------------
# Driving the page (Python side).
# --------------------------------------------------------------------------------------------------------------------


class ControlError(Exception):
    """A control that cannot be moved at all (one option, min == max, …)."""


def js(page, call: str, *args):
    """Call window.__bt.<call>(*args) in the page."""
    return page.evaluate(f"(a) => window.__bt.{call}(...a)", list(args))


def wait_js(page, condition: str, args: list, timeout_s: float, polling: int = 100) -> None:
    """Wait until window.__bt-based JS `condition` (a function body over `a`, the args) is true."""
    page.wait_for_function(
        f"(a) => {{ const bt = window.__bt; return !!(bt && ({condition})); }}",
        arg=args,
        timeout=timeout_s * 1000,
        polling=polling,
    )


def use_menu(page, menu: str, item: str) -> None:
    """Click menu-bar `menu`, then its item `item` (exact labels), as a learner does."""
    import re

    page.locator(".lm-MenuBar-itemLabel").filter(has_text=re.compile(f"^{re.escape(menu)}$")).click(timeout=UI_S * 1000)
    entry = page.locator(".lm-Menu .lm-Menu-itemLabel").filter(has_text=re.compile(f"^{re.escape(item)}$"))
    entry.click(timeout=UI_S * 1000)


def _number(x: float, integral: bool) -> str:
    return str(round(x)) if integral else repr(round(x, 10))


def move_control(page, control: dict) -> str:
    """Change one control the way a learner would; return what was done."""
    el = page.locator(f'[data-bt-control="{control["id"]}"]')
    kind = control["kind"]
    el.scroll_into_view_if_needed(timeout=UI_S * 1000)
    if kind == "slider":
        handles = el.locator(".noUi-handle")
        for i in reversed(range(handles.count())):
            h = handles.nth(i)
            now, lo, hi = (float(h.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemin", "aria-valuemax"))
            if now < hi:
                h.press("ArrowRight")
                return f"ArrowRight on the slider handle at {now:g} (max {hi:g})"
            if now > lo:
                h.press("ArrowLeft")
                return f"ArrowLeft on the slider handle at its max {now:g}"
        raise ControlError("the slider cannot move (min == max)")
    if kind in ("dropdown", "select"):
        sel = el.locator("select")
        options = sel.locator("option")
        n = options.count()
        if n < 2:
            raise ControlError(f"it has {n} option(s): nothing else to select")
        cur = sel.evaluate("s => s.selectedIndex")
        new = (cur + 1) % n if cur >= 0 else 0
        sel.select_option(index=new)
        return f"selected {options.nth(new).text_content()!r} (was {options.nth(cur).text_content()!r})"
    if kind == "checkbox":
        box = el.locator('input[type="checkbox"]')
        was = box.is_checked()
        box.click()
        return f"clicked the checkbox (was {'checked' if was else 'unchecked'})"
    if kind in ("toggle-button", "button"):
        el.click()
        return "clicked"
    if kind == "toggle-buttons":
        b = el.locator("button:not(.mod-active):not([disabled])").first
        label = b.text_content()
        b.click()
        return f"clicked {label!r}"
    if kind == "radio-buttons":
        r = el.locator('input[type="radio"]:not(:checked):not([disabled])').first
        r.click()
        return f"chose {r.evaluate('e => e.parentElement.textContent')!r}"
    if kind == "text":
        inp = el.locator("input").first
        old = inp.input_value()
        if inp.get_attribute("type") == "number":
            step_attr = inp.get_attribute("step")
            step = float(step_attr) if step_attr not in (None, "", "any") else 1.0
            value = float(old or 0)
            hi = inp.get_attribute("max")
            new = value + step if hi in (None, "") or value + step <= float(hi) else value - step
            text = _number(new, float(step).is_integer() and float(value).is_integer())
        else:
            text = old + "x"
        inp.fill(text)
        inp.press("Enter")
        inp.blur()
        return f"typed {text!r} (was {old!r})"
    if kind == "textarea":
        ta = el.locator("textarea")
        old = ta.input_value()
        ta.fill(old + "x")
        ta.blur()
        return "appended 'x'"
    raise ControlError(f"no way to move a {kind}")


def press_manual_button(page, control: dict) -> None:
    if js(page, "manualButton", control["id"]):
        page.locator(f'[data-bt-control="{control["id"]}"]').locator(
            "xpath=ancestor::*[contains(concat(' ', @class, ' '), ' widget-interact ')][1]"
        ).locator(":scope > .widget-button").click()
