"""Helpers for tests/test_browser.py: a throw-away JupyterLab server and the page-side checks.

Nothing here knows a lesson or a widget by name: notebooks are whatever lies in the folder, controls are whatever
ipywidgets 8 renders (found by their CSS classes).

The server runs with ``--LabApp.expose_app_in_browser`` (as JupyterLab's own UI tests, galata, do), so the page can
read ``window.jupyterapp``: the kernel status and each cell's execution count come from JupyterLab's models (the
DOM shows no prompt for a collapsed cell), and JupyterLab's commands are run by their ids (notebook:run-all-cells is
what Run → Run All Cells runs; an id, unlike a menu label, does not change with the language or a redesign). The
controls are moved as a learner moves them (keyboard, mouse) and checked on the rendered outputs. The page-side
helpers are JavaScript in tests/browser_helpers.js.
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
import threading
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
CONTROL_GRACE_S = 3  # the callback ran and every output arrived, yet the display has not changed: wait this long
# for it to render before calling it unchanged (a bound on a condition: it only runs out when the test fails)
SETTLED_POLLS, SETTLED_POLL_MS = 3, 50  # "settled" (nothing pending in the kernel) seen this many times in a row
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
    shutdowns: list[threading.Thread] = field(default_factory=list)

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
        """Stop the kernel of a notebook's session (closing its browser tab leaves the kernel running). The server
        answers once the kernel has exited (~1.5 s: the kernel tears torch down): that wait runs on a thread of its
        own, while the next lesson opens; stop() waits for it."""
        def shutdown() -> None:
            try:
                for s in self.api("GET", "/api/sessions"):
                    if s.get("path") == notebook_name:
                        self.api("DELETE", f"/api/sessions/{s['id']}", timeout=30)
            except (OSError, urllib.error.URLError):
                pass

        thread = threading.Thread(target=shutdown, name=f"shutdown {notebook_name}", daemon=True)
        thread.start()
        self.shutdowns.append(thread)

    def stop(self) -> None:
        for thread in self.shutdowns:  # the kernels' own shutdowns first, then the server's
            thread.join(timeout=SERVER_STOP_S)
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


def start_lab(notebooks_dir: Path, tmp: Path, extra_env: dict | None = None) -> LabServer:
    """Start JupyterLab on 127.0.0.1 over a copy of notebooks_dir; every Jupyter/IPython/matplotlib dir is under tmp.
    extra_env goes to the server's environment, and so to its kernels' (e.g. a CPU kernel path)."""
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
    env.update(extra_env or {})
    # Kernels with two OpenMP threads on a 2-core machine that runs other tests too: idle threads sleep instead of
    # spinning (a scheduling setting; the numbers are the same). Measured with one core busy elsewhere: lessons 09
    # and 10 in 51 s instead of 63 s, 41 s of CPU instead of 52 s.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
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

PAGE_HELPERS_FILE = Path(__file__).resolve().parent / "browser_helpers.js"


def page_helpers() -> str:
    """The page-side helpers (tests/browser_helpers.js), read at run time."""
    return PAGE_HELPERS_FILE.read_text(encoding="utf-8")


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


def run_command(page, path: str, command_id: str, args: dict | None = None) -> None:
    """Run JupyterLab command `command_id` (e.g. notebook:run-all-cells, the command behind Run → Run All Cells)
    on the notebook at `path`; fails clearly if JupyterLab has no such command."""
    js(page, "command", path, command_id, args or {})


def wait_settled(page, path: str, timeout_s: float, polls: int = SETTLED_POLLS) -> None:
    """Wait until everything the page sent the kernel has run and its outputs have arrived (browser_helpers.js
    settled()), seen on `polls` polls in a row SETTLED_POLL_MS apart: a widget that queued a second update while
    the first ran sends it only when the first is done."""
    page.evaluate("() => { window.__btSettled = 0; }")
    page.wait_for_function(
        "(a) => { const bt = window.__bt; const ok = !!(bt && bt.settled(a[0]));"
        " window.__btSettled = ok ? (window.__btSettled || 0) + 1 : 0; return window.__btSettled >= a[1]; }",
        arg=[path, polls],
        timeout=timeout_s * 1000,
        polling=SETTLED_POLL_MS,
    )


def move_control(page, control: dict) -> str:
    """Change one control the way a learner would; return what was done."""
    el = page.locator(f'[data-bt-control="{control["id"]}"]')
    kind = control["kind"]
    el.scroll_into_view_if_needed(timeout=UI_S * 1000)
    if kind == "slider":
        handles = el.locator(".noUi-handle")
        values = handles.evaluate_all(  # [now, min, max] of every handle, in one round trip
            "hs => hs.map(h => ['aria-valuenow', 'aria-valuemin', 'aria-valuemax'].map(a => +h.getAttribute(a)))")
        for i in reversed(range(len(values))):
            h = handles.nth(i)
            now, lo, hi = values[i]
            if now < hi:
                h.press("ArrowRight")
                return f"ArrowRight on the slider handle at {now:g} (max {hi:g})"
            if now > lo:
                h.press("ArrowLeft")
                return f"ArrowLeft on the slider handle at its max {now:g}"
        raise ControlError("the slider cannot move (min == max)")
    if kind == "dropdown":
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
        inp.fill(old + "x")
        inp.press("Enter")
        inp.blur()
        return f"typed {old + 'x'!r} (was {old!r})"
    raise ControlError(f"no way to move a {kind}")
