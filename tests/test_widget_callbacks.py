"""Each lesson alone in an empty folder, then every widget callback over the settings its controls allow.

Alone: the notebook runs in a fresh kernel in an empty folder (as Colab opens it) with no error, within its
30 s budget (DEVELOPERS.md rule 9, kernel start included), and writes no file. The widget check below then runs
in that same kernel, so the lesson is executed once for both checks.

Widgets: no exception, always a readable output. nbval runs the widget cell, but the callback runs inside
`interactive.update`, which catches any exception and shows it in the widget's output area: nbval never sees it,
and a learner who moves a slider to its end gets a traceback instead of a picture. So, for each lesson, this test
runs the whole notebook in one fresh kernel of this Python, in an empty folder (see run_in_fresh_kernel for why
not with nbclient), and then, in that same kernel, one extra cell (CHECKER below) that

  * finds every `ipywidgets.interactive` (also those made by `interact`), wherever it is kept, and reads its
    callback (`w.f`) and its controls (`w.kwargs_widgets`: each control's `_kwarg`, value, range or options);
  * derives the values each control allows: an IntSlider every int from min to max (on its step); a FloatSlider
    min, max and points between on its step; a Dropdown/RadioButtons/ToggleButtons every option's value; a
    Checkbox False and True; a range slider (lo, hi) pairs; a text box its value and cleared; ...; a control
    with more than DENSE_MAX values both ends and an even sample; and its edge values (min, min + one step,
    max; every option of a short list, else the first and last);
  * calls the callback on the full grid of values when it has at most FULL_GRID_MAX combinations; otherwise on
    the widget's starting settings, every value of each control with the others at their starting values, the
    grid of edge values (when it has at most EDGE_GRID_MAX combinations; else its 2^k corners and rows that
    hold every pair of edge values), and RANDOM_COMBOS seeded random combinations;
  * captures, for each call, stdout, stderr, warnings and rich displays; draws every matplotlib figure the call
    leaves open or shows (the inline backend would, so an error at draw time counts) and closes it; reseeds
    random, torch and numpy before each call, so a run is reproducible;
  * prints one line: a JSON summary with the calls per widget, how many returned a dict or None, the slowest
    call, and the failures with their arguments.

A call fails when it raises (or runs longer than CALL_TIMEOUT_S); prints and displays nothing; returns None
without a message (no word in what it printed); prints a traceback; writes to stderr or warns; returns something
other than a dict or None. The widget's starting settings must be valid (return a dict).

Two tests show that the check can fail: one plants `raise` in a lesson's callback for one value of one control
(found by parsing the widget cell, so it follows the lesson) and expects exactly those calls reported; one runs
a made-up notebook with a callback for each kind of problem and expects each reported as its kind.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import queue
import re
import tempfile
import time

import nbformat
import pytest
from conftest import CPU_PATHS, NOTEBOOK_PATHS
from output_compare import differences

FULL_GRID_MAX = 300      # a grid up to this many calls is called in full
RANDOM_COMBOS = 40       # otherwise: sweep + edge grid + this many seeded random combinations
EDGE_GRID_MAX = 100      # a bigger edge grid gives way to its 2^k corners + a pairwise covering
DENSE_MAX = 64           # a control with more values than this is sampled (its ends always kept)
CALL_TIMEOUT_S = 10.0    # one call (render included) stopped after this: a widget that slow is broken anyway
ALONE_BUDGET_S = 30.0    # the lesson alone, kernel start included, on the 2-core CI machine (DEVELOPERS.md rule 9)
ALONE_PATH = "generic"    # the alone run takes this CPU kernel path (conftest.CPU_PATHS), not nbval's
LESSON_BUDGET_S = 60.0   # notebook run + every call, per lesson (8 s for lesson 01, 13 s for 02 on 2 CPU cores)
MARK = "WIDGET_CHECK_JSON "

# A widget in the source, `interactive(callback, ...)` or `interact(callback, ...)`: the callback's name.
WIDGET_RE = re.compile(r"\binteractive\(\s*(\w+)\s*[,)]|\binteract(?:_manual)?\(\s*(\w+)\s*[,)]")

# Runs as the last cell of the notebook, in the notebook's kernel. Its only output is one line: MARK + JSON.
CHECKER = r'''
def _widget_check(P):
    import contextlib, gc, io, itertools, json, math, random, re, signal, sys, threading, time, traceback, warnings
    from IPython import get_ipython
    import ipywidgets
    from ipywidgets import interactive, fixed

    ip = get_ipython()
    ns = ip.user_ns

    # ---- 1. find the widgets: the notebook's globals first, then the widget registry, then anything alive
    found, seen, names = [], set(), {}
    for k, v in list(ns.items()):
        if k.startswith("_"):
            continue
        for cand in (v, getattr(v, "widget", None) if callable(v) else None):
            if isinstance(cand, interactive):
                names.setdefault(id(cand), k)
                if id(cand) not in seen:
                    seen.add(id(cand)); found.append(cand)
    registry = getattr(getattr(ipywidgets.widgets, "widget", None), "_instances", None)
    for w in list(registry.values()) if isinstance(registry, dict) else []:
        if isinstance(w, interactive) and id(w) not in seen:
            seen.add(id(w)); found.append(w)
    rest = [o for o in gc.get_objects() if isinstance(o, interactive) and id(o) not in seen]
    found += sorted(rest, key=lambda w: (getattr(w.f, "__qualname__", ""), [getattr(c, "_kwarg", "") for c in w.kwargs_widgets]))

    # ---- 2. the values each control allows
    def uniq(seq):
        out, keys = [], set()
        for x in seq:
            k = repr(x)
            if k not in keys:
                keys.add(k); out.append(x)
        return out

    def dense(vals, default):
        vals = list(vals)
        if len(vals) <= P["DENSE_MAX"]:
            return vals
        n = len(vals)
        idx = list(range(4)) + list(range(n - 4, n)) + [round(i * (n - 1) / (P["DENSE_MAX"] - 10)) for i in range(P["DENSE_MAX"] - 9)]
        return uniq([vals[i] for i in sorted(set(idx))] + [default])

    def float_points(lo, hi, step, default, k=8):
        pts = [lo, hi, default]
        for i in range(1, k):
            x = lo + (hi - lo) * i / k
            if step:
                x = lo + round((x - lo) / step) * step
            pts.append(round(min(max(x, lo), hi), 10))
        return uniq(sorted(pts))

    def values_of(c):
        """(kind, all values, edge values) of one control."""
        d = c.get_interact_value() if hasattr(c, "get_interact_value") else c.value
        W = ipywidgets
        if isinstance(c, fixed):
            return "fixed", [d], [d]
        if isinstance(c, getattr(W, "SelectionRangeSlider", ())):
            o = list(c._options_values)
            v = uniq([(o[0], o[-1]), (o[0], o[0]), (o[-1], o[-1]), tuple(d)] + [(o[0], x) for x in o] + [(x, o[-1]) for x in o])
            return type(c).__name__, dense(v, tuple(d)), v[:3]
        if isinstance(c, getattr(W, "SelectMultiple", ())):
            o = list(c._options_values)
            v = uniq([(), tuple(o), tuple(d)] + [(x,) for x in o])
            return type(c).__name__, dense(v, tuple(d)), v[:2]
        if hasattr(c, "_options_values"):  # Dropdown, RadioButtons, ToggleButtons, Select, SelectionSlider
            o = uniq(list(c._options_values) + ([d] if d is not None else []))
            return type(c).__name__, dense(o, d), o if len(o) <= 4 else [o[0], o[-1]]
        if isinstance(d, bool):  # Checkbox, ToggleButton, Valid
            return type(c).__name__, [False, True], [False, True]
        lo, hi, step = getattr(c, "min", None), getattr(c, "max", None), getattr(c, "step", None)
        if isinstance(d, tuple) and len(d) == 2 and lo is not None:  # IntRangeSlider, FloatRangeSlider
            if isinstance(lo, int) and isinstance(d[0], int):
                pts = list(range(lo, hi + 1, step or 1)) + [hi]
            else:
                pts = float_points(lo, hi, step, d[0], k=4)
            pts = uniq(pts)
            v = uniq([(lo, hi), (lo, lo), (hi, hi), tuple(d)] + [(a, b) for a in pts for b in pts if a <= b])
            return type(c).__name__, dense(v, tuple(d)), v[:3]
        if isinstance(c, getattr(W, "FloatLogSlider", ())):
            b = c.base
            v = uniq([b ** e for e in float_points(lo, hi, step, math.log(d, b), k=8)] + [d])
            return type(c).__name__, v, [b ** lo, b ** hi]
        if lo is not None and hi is not None and isinstance(d, int):  # IntSlider, BoundedIntText, Play
            s = step or 1
            v = uniq(list(range(lo, hi + 1, s)) + [hi, d])
            return type(c).__name__, dense(sorted(v), d), uniq([lo, min(lo + s, hi), hi])
        if lo is not None and hi is not None and isinstance(d, float):  # FloatSlider, BoundedFloatText
            return type(c).__name__, float_points(lo, hi, step, d), [lo, hi]
        if isinstance(d, int):  # IntText: anything can be typed
            v = uniq([d, 0, 1, -1, d + 1, 10 * d + 10])
            return type(c).__name__, v, [0, -1, 10 * d + 10]
        if isinstance(d, float):  # FloatText
            v = uniq([d, 0.0, 1.0, -1.0, 10 * d + 10.0])
            return type(c).__name__, v, [0.0, -1.0, 10 * d + 10.0]
        if isinstance(d, str):  # Text, Textarea, Combobox: the default, and cleared
            v = uniq([d, "", " "] + list(getattr(c, "options", ()) or ()))
            return type(c).__name__, dense(v, d), ["", d]
        return type(c).__name__, [d], [d]   # anything else: its current value only

    # ---- 3. the calls to make
    def plan(controls):
        names_ = [c["name"] for c in controls]
        vals = [c["values"] for c in controls]
        edges = [c["edges"] for c in controls]
        default = tuple(c["default"] for c in controls)
        combos, keys = [], set()
        def push(combo):
            k = repr(combo)
            if k not in keys:
                keys.add(k); combos.append(tuple(combo))
        push(default)
        total = math.prod(len(v) for v in vals)
        if total <= P["FULL_GRID_MAX"]:
            for combo in itertools.product(*vals):
                push(combo)
            return combos, f"full grid ({total})"
        for i, v in enumerate(vals):  # one control at a time, the others at their defaults
            for x in v:
                push(default[:i] + (x,) + default[i + 1:])
        n_edges = math.prod(len(e) for e in edges)
        if n_edges <= P["EDGE_GRID_MAX"]:  # every combination of edge values
            for combo in itertools.product(*edges):
                push(combo)
            how = "edge grid (%d)" % n_edges
        else:  # the 2^k corners (min/max, first/last) and every pair of edge values at least once
            corners = [[e[0], e[-1]] if len(e) > 1 else e for e in edges]
            n_corners = math.prod(len(e) for e in corners)
            if n_corners <= P["EDGE_GRID_MAX"]:
                for combo in itertools.product(*corners):
                    push(combo)
            pairs = pairwise(edges)
            for combo in pairs:
                push(combo)
            how = "%scorners + %d rows covering every pair of edge values" % (
                "%d " % n_corners if n_corners <= P["EDGE_GRID_MAX"] else "no ", len(pairs))
        rng = random.Random("random " + " ".join(names_))
        for _ in range(P["RANDOM_COMBOS"]):
            push(tuple(rng.choice(v) for v in vals))
        return combos, "defaults + one-at-a-time sweep + %s + %d random" % (how, P["RANDOM_COMBOS"])

    def pairwise(levels):
        """Rows that together hold every pair of values of any two controls (a greedy covering array)."""
        k = len(levels)
        todo = {(i, a, j, b) for i in range(k) for j in range(i + 1, k)
                for a in range(len(levels[i])) for b in range(len(levels[j]))}
        rows = []
        while todo:
            i, a, j, b = min(todo)
            row = [None] * k
            row[i], row[j] = a, b
            for x in range(k):
                if row[x] is None:
                    row[x] = max(range(len(levels[x])), key=lambda v: (sum(
                        ((y, row[y], x, v) if y < x else (x, v, y, row[y])) in todo
                        for y in range(k) if row[y] is not None), -v))
            todo -= {(x, row[x], y, row[y]) for x in range(k) for y in range(x + 1, k)}
            rows.append(tuple(levels[x][row[x]] for x in range(k)))
        return rows

    # ---- 4. one call, everything it shows captured
    plt = sys.modules.get("matplotlib.pyplot")

    def render_and_close():
        if plt is None:
            return
        try:
            for n in plt.get_fignums():  # the inline backend draws every figure a call leaves: so do we
                plt.figure(n).canvas.draw()
        finally:
            plt.close("all")

    class CallTimeout(BaseException):
        pass

    def on_alarm(signum, frame):
        raise CallTimeout()

    use_alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    shown = []
    pub = ip.display_pub
    saved = {"publish": pub.publish, "clear_output": pub.clear_output, "show": getattr(plt, "show", None)}

    def call(f, kwargs, seed):
        random.seed(seed)
        if "torch" in sys.modules:
            sys.modules["torch"].manual_seed(seed)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed(seed)
        out, err = io.StringIO(), io.StringIO()
        del shown[:]
        rec = {"exc": None, "result": None}
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, P["CALL_TIMEOUT_S"])
            stage = ""
            try:
                rec["result"] = f(**kwargs)
                stage = "drawing the figure it left open: "
                render_and_close()
            except CallTimeout:
                rec["exc"] = ("Timeout", "stopped after %.0f s" % P["CALL_TIMEOUT_S"], "")
            except Exception as e:
                tb = traceback.extract_tb(e.__traceback__)[1:]  # the first frame is call() itself
                mine = [fr for fr in tb if "ipykernel_" in fr.filename or "<ipython-input" in fr.filename]
                where = "; ".join("%s line %s: %s" % (fr.name, fr.lineno, (fr.line or "").strip())
                                  for fr in (mine[-1:] + tb[-1:] if mine and mine[-1] is not tb[-1] else tb[-1:]))
                rec["exc"] = (stage + type(e).__name__, str(e)[:300], where)
            finally:
                if use_alarm:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                if plt is not None:
                    plt.close("all")
        rec["seconds"] = time.perf_counter() - t0
        rec["stdout"], rec["stderr"] = out.getvalue(), err.getvalue()
        rec["warnings"] = ["%s: %s" % (w.category.__name__, w.message) for w in caught]
        rec["displayed"] = list(shown)
        return rec

    def problems(rec):
        """The failures of one call, as (kind, detail)."""
        if rec["exc"]:
            name, msg, where = rec["exc"]
            return [("exception", "%s: %s%s" % (name, msg, "   [" + where + "]" if where else ""))]
        text = rec["stdout"].strip()
        found_ = []
        res = rec["result"]
        if "Traceback (most recent call last)" in rec["stdout"]:
            found_.append(("traceback printed", text[-300:]))
        if not text and not rec["displayed"]:
            found_.append(("no output", "printed nothing and displayed nothing"))
        if res is None and not re.search(r"[^\W\d_]{3,}", text + " ".join(rec["displayed"])):
            found_.append(("None without a message", "returned None; printed %r" % text[:200]))
        if res is not None and not isinstance(res, dict):
            found_.append(("bad return", "returned %s, expected a dict (valid) or None (invalid)" % type(res).__name__))
        if rec["stderr"].strip():
            found_.append(("stderr", rec["stderr"].strip()[:300]))
        for w in rec["warnings"]:
            found_.append(("warning", w[:300]))
        return found_

    summary = {"widgets": [], "failures": [], "n_failures": 0}
    try:
        pub.publish = lambda data, metadata=None, *a, **k: shown.append(str((data or {}).get("text/plain", "")) if not any(m.startswith("image/") for m in (data or {})) else "")
        pub.clear_output = lambda *a, **k: None
        if plt is not None:
            plt.show = lambda *a, **k: render_and_close()
        if use_alarm:
            saved["alarm"] = signal.signal(signal.SIGALRM, on_alarm)
        seed = 0
        for w in found:
            f = w.f
            fname = getattr(f, "__name__", repr(f))
            controls = []
            for c in w.kwargs_widgets:
                kind, vals, edges = values_of(c)
                d = c.get_interact_value() if hasattr(c, "get_interact_value") else c.value
                controls.append({"name": c._kwarg, "kind": kind, "default": d, "values": vals, "edges": edges})
            combos, strategy = plan(controls)
            label = "%s = interactive(%s)" % (names[id(w)], fname) if id(w) in names else "interactive(%s)" % fname
            info = {"label": label, "callback": fname, "strategy": strategy, "calls": 0, "dict": 0, "none": 0,
                    "failing_calls": 0, "seconds": 0.0, "slowest": None,
                    "controls": [{"name": c["name"], "kind": c["kind"], "n_values": len(c["values"]),
                                  "default": repr(c["default"]), "edges": [repr(e) for e in c["edges"]]} for c in controls]}
            t_widget = time.perf_counter()
            for combo in combos:
                kwargs = {c["name"]: x for c, x in zip(controls, combo)}
                shown_call = "%s(%s)" % (fname, ", ".join("%s=%r" % kv for kv in kwargs.items()))
                seed += 1
                rec = call(f, kwargs, seed)
                info["calls"] += 1
                info["dict"] += isinstance(rec["result"], dict)
                info["none"] += rec["result"] is None and rec["exc"] is None
                if info["slowest"] is None or rec["seconds"] > info["slowest"][1]:
                    info["slowest"] = [shown_call, round(rec["seconds"], 3)]
                probs = problems(rec)
                if combo is combos[0] and rec["exc"] is None and not isinstance(rec["result"], dict):
                    probs.append(("defaults invalid", "the widget's starting settings return %r: a learner opens it on a message" % (rec["result"],)))
                if probs:
                    info["failing_calls"] += 1
                for kind, detail in probs:
                    summary["n_failures"] += 1
                    if len(summary["failures"]) < P["MAX_REPORTED"]:
                        summary["failures"].append({"widget": label, "call": shown_call, "kwargs": {k: repr(v) for k, v in kwargs.items()},
                                                    "kind": kind, "detail": detail})
            info["seconds"] = round(time.perf_counter() - t_widget, 2)
            summary["widgets"].append(info)
    finally:
        pub.publish, pub.clear_output = saved["publish"], saved["clear_output"]
        if use_alarm:
            signal.signal(signal.SIGALRM, saved["alarm"] if saved.get("alarm") is not None else signal.SIG_DFL)
        if plt is not None:
            plt.show = saved["show"]
            plt.close("all")
    print(P["MARK"] + json.dumps(summary))


_widget_check(PARAMS)
del _widget_check
'''


def checker_cell(**overrides) -> nbformat.NotebookNode:
    params = {"FULL_GRID_MAX": FULL_GRID_MAX, "RANDOM_COMBOS": RANDOM_COMBOS, "EDGE_GRID_MAX": EDGE_GRID_MAX,
              "DENSE_MAX": DENSE_MAX, "CALL_TIMEOUT_S": CALL_TIMEOUT_S, "MARK": MARK, "MAX_REPORTED": 500}
    params.update(overrides)
    return nbformat.v4.new_code_cell(CHECKER.replace("_widget_check(PARAMS)", f"_widget_check({params!r})"))


def run_cell(km, kc, source: str, timeout: float) -> list:
    """Execute one cell's source; return its outputs (nbformat output nodes) once the kernel is idle again."""
    msg_id = kc.execute(source, store_history=True, allow_stdin=False, stop_on_error=False)
    deadline = time.monotonic() + timeout
    outputs: list = []
    for channel, done in ((kc.get_iopub_msg, "idle"), (kc.get_shell_msg, "reply")):
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"cell still running after {timeout:.0f} s:\n{source[:500]}")
            try:
                msg = channel(timeout=min(left, 2.0))
            except queue.Empty:
                if not km.is_alive():
                    raise RuntimeError(f"the kernel died while running:\n{source[:500]}") from None
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if done == "reply":
                break
            if kind == "status" and msg["content"]["execution_state"] == "idle":
                break
            if kind == "clear_output":
                outputs = []
            elif kind in ("stream", "display_data", "execute_result", "error"):
                outputs.append(nbformat.v4.output_from_msg(msg))
    return outputs


def run_in_fresh_kernel(nb: nbformat.NotebookNode, cell_timeout: float = 600, allow_errors: bool = False,
                        lesson_cells: int | None = None, env: dict | None = None) -> dict:
    """Execute nb's code cells in order (outputs stored in nb) in a fresh kernel of this very Python (nbval's
    current-env kernelspec, as nbtools.execute uses), in an empty temporary folder. Return how long the first
    `lesson_cells` cells took (the lesson itself, kernel start included) and what files were in the folder then,
    and the CPU kernel path torch took ("cpu_capability"). `env`: variables added to the kernel's environment
    (e.g. one of conftest.CPU_PATHS).

    Why not nbtools.execute (nbclient): its asyncio polling sometimes misses the reply to a cell that builds many
    widgets and then waits out the whole cell timeout before going on (jupyter/nbclient#312; seen here on a loaded
    machine: a widget cell of 0.2 s took 60 s, or 600 s). jupyter_client's blocking client polls the sockets
    directly, as nbval does, and has no such stall."""
    from jupyter_client.manager import KernelManager
    from nbval.kernel import CURRENT_ENV_KERNEL_NAME, NbvalKernelspecManager

    with tempfile.TemporaryDirectory(prefix="rnn-widgets-") as tmp:
        t0 = time.perf_counter()
        km = KernelManager(kernel_name=CURRENT_ENV_KERNEL_NAME, kernel_spec_manager=NbvalKernelspecManager())
        km.start_kernel(cwd=tmp, extra_arguments=["--HistoryManager.hist_file=:memory:"],
                        env={**os.environ, **(env or {})})
        kc = km.blocking_client()
        lesson = {"seconds": None, "files": None}
        try:
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
            for i, cell in enumerate(nb.cells):
                if i == lesson_cells:
                    lesson = {"seconds": time.perf_counter() - t0, "files": sorted(os.listdir(tmp))}
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                cell.outputs = run_cell(km, kc, cell.source, cell_timeout)
                errors = [o for o in cell.outputs if o.output_type == "error"]
                if errors and not allow_errors:
                    raise AssertionError(f"cell {i} raised {errors[0].ename}: {errors[0].evalue}\n{cell.source[:500]}")
            probe = run_cell(km, kc, "import torch; print(torch.backends.cpu.get_cpu_capability())", 60)
            lesson["cpu_capability"] = "".join(o.get("text", "") for o in probe).strip()
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    return lesson


def run_checker(nb: nbformat.NotebookNode, allow_errors: bool = False, env: dict | None = None,
                **overrides) -> tuple[dict, float, dict]:
    """Run nb in a fresh kernel, then CHECKER in the same kernel; return (its summary, seconds in all, the lesson's
    own run: seconds, files it left in its empty folder, the CPU path torch took, and the notebook as run)."""
    nb = copy.deepcopy(nb)
    nb.cells.append(checker_cell(**overrides))
    t0 = time.perf_counter()
    lesson = run_in_fresh_kernel(nb, allow_errors=allow_errors, lesson_cells=len(nb.cells) - 1, env=env)
    lesson["notebook"] = nb
    seconds = time.perf_counter() - t0
    outputs = nb.cells[-1].outputs
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, "the widget checker itself failed:\n" + "\n".join(
        f"{o.ename}: {o.evalue}\n" + "\n".join(o.traceback[-3:]) for o in errors)
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream" and o.name == "stdout")
    lines = [ln for ln in text.splitlines() if ln.startswith(MARK)]
    assert len(lines) == 1, f"the widget checker printed no summary; its output was:\n{text[-2000:]}"
    return json.loads(lines[0][len(MARK):]), seconds, lesson


def widget_callbacks_in_source(nb: nbformat.NotebookNode) -> list[str]:
    return [m.group(1) or m.group(2) for c in nb.cells if c.cell_type == "code" for m in WIDGET_RE.finditer(c.source)]


def describe(summary: dict) -> str:
    lines = []
    for w in summary["widgets"]:
        controls = ", ".join(f"{c['name']} ({c['kind']}, {c['n_values']} values)" for c in w["controls"])
        lines.append(f"  {w['label']}: {w['calls']} calls [{w['strategy']}] in {w['seconds']:.1f} s; "
                     f"{w['dict']} returned a dict, {w['none']} None, {w['failing_calls']} failed; "
                     f"slowest {w['slowest'][1]:.2f} s: {w['slowest'][0]}\n    controls: {controls}")
    return "\n".join(lines)


def check_cpu_path(path, stored: nbformat.NotebookNode, run: dict, cpu_path: str) -> None:
    """The run took the CPU path it was sent on, and every output nbval compares is the stored one."""
    want = CPU_PATHS[cpu_path]["ATEN_CPU_CAPABILITY"].upper()
    assert run["cpu_capability"] == want, \
        f"{path.name}: asked torch for the {want} kernels, it ran {run['cpu_capability']!r}"
    diffs = differences(stored.cells, run["notebook"].cells)
    assert not diffs, (
        f"{path.name}: on the CPU path {cpu_path} ({CPU_PATHS[cpu_path]}) these outputs differ from the stored "
        "ones (the numerical policy in the README: float64 for exactness, no float32 bitwise claims across "
        "kernels, training runs in float64 or output-ignored):\n  " + "\n  ".join(diffs))


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=[p.name for p in NOTEBOOK_PATHS])
def test_runs_alone_then_every_widget_callback_survives_every_setting(path, record_property):
    """The lesson alone in an empty folder (as Colab opens it): no error, within its budget, no file written;
    then, in the same kernel, every widget callback over every setting."""
    nb = nbformat.read(path, as_version=4)
    summary, seconds, lesson = run_checker(nb, env=CPU_PATHS[ALONE_PATH])
    print(f"{path.name}: {lesson['seconds']:.1f} s alone in an empty folder (kernel start included), "
          f"CPU path {ALONE_PATH} ({lesson['cpu_capability']})")
    record_property("seconds_alone", round(lesson["seconds"], 1))
    assert lesson["seconds"] <= ALONE_BUDGET_S, \
        f"{path.name} took {lesson['seconds']:.1f} s alone, over its {ALONE_BUDGET_S:.0f} s budget"
    assert lesson["files"] == [], f"{path.name} wrote files: {lesson['files']}"
    # The same kernel ran the lesson on another CPU kernel path than nbval's: its outputs must be nbval's too.
    check_cpu_path(path, nb, lesson, ALONE_PATH)
    report = describe(summary)
    print(f"{path.name}: {sum(w['calls'] for w in summary['widgets'])} callback calls, {seconds:.1f} s "
          f"(notebook run included)\n{report}")
    record_property("seconds", round(seconds, 1))
    record_property("calls", {w["label"]: w["calls"] for w in summary["widgets"]})

    assert summary["widgets"], f"{path.name}: no ipywidgets.interactive found after running the notebook"
    tested = {w["callback"] for w in summary["widgets"]}
    missing = sorted(set(widget_callbacks_in_source(nb)) - tested)
    assert not missing, f"{path.name}: widget callback(s) {missing} in the source, but no live interactive uses them"

    if summary["n_failures"]:
        by_kind: dict[str, list[dict]] = {}
        for f in summary["failures"]:
            by_kind.setdefault(f["kind"], []).append(f)
        msg = [(f"{path.name}: {summary['n_failures']} problem(s) in widget callbacks (an error inside a widget "
                f"never reaches nbval; a learner sees it when moving the control):")]
        for kind, fs in by_kind.items():
            msg.append(f"  {kind}: {len(fs)} reported, e.g.")
            msg += [f"    {f['call']}\n      → {f['detail']}" for f in fs[:5]]
        pytest.fail("\n".join(msg) + "\n" + report, pytrace=False)

    assert seconds <= LESSON_BUDGET_S, f"{path.name}: the widget check took {seconds:.1f} s (budget {LESSON_BUDGET_S:.0f} s)"


# ---- the check can fail --------------------------------------------------------------------------------------

def literal(node: ast.AST):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def trigger_value(control: ast.AST):
    """A value the control can take: its max, or its last option, or the other of a bool (None: cannot tell)."""
    if not isinstance(control, ast.Call):  # an abbreviation: (min, max[, step]), [options], True/False
        value = literal(control)
        if isinstance(value, tuple) and len(value) in (2, 3) and all(isinstance(v, int) for v in value):
            return value[1]
        if isinstance(value, list) and value:
            return value[-1][1] if isinstance(value[-1], tuple) and len(value[-1]) == 2 else value[-1]
        return (not value) if isinstance(value, bool) else None
    kw = {k.arg: k.value for k in control.keywords if k.arg}
    if "max" in kw and isinstance(literal(kw["max"]), (int, float)):
        return literal(kw["max"])
    options = literal(kw["options"]) if "options" in kw else None
    if options:
        last = list(options.values())[-1] if isinstance(options, dict) else list(options)[-1]
        return last[1] if isinstance(last, tuple) and len(last) == 2 else last
    if "value" in kw and isinstance(literal(kw["value"]), bool):
        return not literal(kw["value"])
    return None


def plant_failure(nb: nbformat.NotebookNode) -> tuple[str, str, object]:
    """In nb (in place): at the top of the first widget callback, raise for one value of one control.

    The widget call `widgets.interactive(callback, name=Control(...), ...)` gives the callback and its controls;
    the first control whose range or options can be read gives (name, value). Returns (callback, name, value)."""
    for cell in nb.cells:
        if cell.cell_type != "code" or not WIDGET_RE.search(cell.source):
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Name)
                    and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) == "interactive"):
                continue
            callback = node.args[0].id
            for k in node.keywords:
                value = trigger_value(k.value)
                if k.arg and value is not None:
                    break
            else:
                continue
            for target in nb.cells:
                if target.cell_type != "code":
                    continue
                defs = [d for d in ast.parse(target.source).body if isinstance(d, ast.FunctionDef) and d.name == callback]
                if not defs:
                    continue
                body = defs[0].body
                first = body[1] if (len(body) > 1 and isinstance(body[0], ast.Expr)
                                    and isinstance(literal(body[0].value), str)) else body[0]
                lines = target.source.split("\n")
                indent = " " * first.col_offset
                lines.insert(first.lineno - 1,
                             f"{indent}if {k.arg} == {value!r}:  # planted by test_widget_callbacks.py\n"
                             f"{indent}    raise RuntimeError('boom: planted failure')")
                target.source = "\n".join(lines)
                return callback, k.arg, value
    raise LookupError("no `widgets.interactive(callback, name=Control(...))` with a readable control")


def test_the_check_catches_a_failing_setting():
    for path in NOTEBOOK_PATHS:  # the first lesson whose widget call can be read
        nb = nbformat.read(path, as_version=4)
        try:
            callback, name, value = plant_failure(nb)
            break
        except LookupError:
            continue
    else:
        pytest.fail("no lesson has a `widgets.interactive(callback, name=Control(...))` whose values can be read")
    # The plain cells that call the callback with that value now fail too: carry on to the check.
    summary, _, _ = run_checker(nb, allow_errors=True)
    widgets_ = [w for w in summary["widgets"] if w["callback"] == callback]
    assert widgets_, f"{callback} not found by the checker"
    failures = [f for f in summary["failures"] if f["widget"] in {w["label"] for w in widgets_}]
    planted = [f for f in failures if f["kind"] == "exception" and "boom: planted failure" in f["detail"]]
    assert planted, f"{path.name}: planting `raise` in {callback} when {name} == {value!r} was not reported:\n" \
        + describe(summary)
    assert all(f["kwargs"][name] == repr(value) for f in planted), \
        f"the planted failure was reported for other values of {name}: {[f['call'] for f in planted][:5]}"
    assert {f["kind"] for f in failures} == {"exception"} and len(planted) == len(failures), \
        f"besides the planted failure, the check reported: {[f for f in failures if f not in planted][:5]}"
    print(f"{path.name}: `raise` planted in {callback} for {name} == {value!r} → "
          f"{len(planted)} failing call(s) reported, e.g. {planted[0]['call']}")


# A made-up lesson with one callback per kind of problem (and two sound widgets, one made by @interact):
# the check must report each problem, as its kind, for exactly the setting that causes it.
SYNTHETIC = [
    """import sys, time, traceback, warnings
import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch""",
    """def sound(n=2, x=0.5, flag=False, word="hi", span=(1, 3), kind="a", c=3):
    if n == 0:
        print("⚠ n = 0: choose at least 1.")
        return None
    print(f"n={n} x={x} flag={flag} word={word!r} span={span} kind={kind} c={c}")
    plt.plot(torch.randn(n))
    plt.title(f"$x_{{{n}}}$")
    plt.show()
    return {"n": n}


def broken(n=1):
    if n == 0:
        return None                                   # None, silently
    if n == 2:
        raise ValueError("two is wrong")              # an exception
    if n == 3:
        try:
            1 / 0
        except ZeroDivisionError:
            traceback.print_exc(file=sys.stdout)      # a traceback printed as if it were a message
        return None
    if n == 4:
        warnings.warn("careful")                      # a warning
    if n == 5:
        print("a list")
        return [n]                                    # neither a dict nor None
    if n == 6:
        plt.figure()
        plt.title(r"$\\frac{$")                        # fails only when the figure is drawn
    if n == 7:
        print("oops", file=sys.stderr)                # stderr
    if n == 8:
        print("1 2 3")                                # None with no words
        return None
    if n == 9:
        time.sleep(30)                                # hangs
    print("shapes")
    return {}


def starts_invalid(p=0):
    if p == 0:
        print("⚠ p must be at least 1")
        return None
    print("p =", p)
    return {"p": p}""",
    """# NBVAL_IGNORE_OUTPUT
sound_ui = widgets.interactive(
    sound, n=widgets.IntSlider(value=2, min=0, max=5), x=widgets.FloatSlider(value=0.5, min=0, max=1, step=0.1),
    flag=widgets.Checkbox(value=False), word=widgets.Text(value="hi"),
    span=widgets.IntRangeSlider(value=(1, 3), min=0, max=4), kind=widgets.Dropdown(options={"A": "a", "B": "b"}),
    c=widgets.fixed(3))
broken_ui = widgets.interactive(broken, n=widgets.IntSlider(value=1, min=0, max=9))
invalid_ui = widgets.interactive(starts_invalid, p=widgets.IntSlider(value=0, min=0, max=3))


@widgets.interact(m=(0, 2))
def via_interact(m=0):
    print("m =", m)
    return {"m": m}""",
]


def test_the_check_reports_each_kind_of_problem():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in SYNTHETIC]
    summary, _, _ = run_checker(nb, CALL_TIMEOUT_S=2.0, RANDOM_COMBOS=10)
    calls = {w["callback"]: w["calls"] for w in summary["widgets"]}
    assert calls.keys() == {"sound", "broken", "starts_invalid", "via_interact"}, calls
    assert calls["broken"] == 10 and calls["starts_invalid"] == 4 and calls["via_interact"] == 3, calls
    assert calls["sound"] > 60, calls  # sweep + corners + pairwise + random
    got: dict[str, set[str]] = {}
    for f in summary["failures"]:
        got.setdefault(f["call"], set()).add(f["kind"])
    assert got == {
        "broken(n=0)": {"no output", "None without a message"},
        "broken(n=2)": {"exception"},
        "broken(n=3)": {"traceback printed"},
        "broken(n=4)": {"warning"},
        "broken(n=5)": {"bad return"},
        "broken(n=6)": {"exception"},
        "broken(n=7)": {"stderr"},
        "broken(n=8)": {"None without a message"},
        "broken(n=9)": {"exception"},
        "starts_invalid(p=0)": {"defaults invalid"},
    }, json.dumps(summary["failures"], indent=1, ensure_ascii=False)
    details = {f["call"]: f["detail"] for f in summary["failures"]}
    assert "ValueError: two is wrong" in details["broken(n=2)"] and "broken line" in details["broken(n=2)"]
    assert details["broken(n=6)"].startswith("drawing the figure it left open: ValueError"), details["broken(n=6)"]
    assert details["broken(n=9)"].startswith("Timeout")
