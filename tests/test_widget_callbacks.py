"""Every widget callback of every lesson over the settings its controls allow: no exception, always a readable output.

nbval runs the widget cell, but the callback runs inside `interactive.update`, which catches any exception and shows
it in the widget's output area: nbval never sees it, and a learner who moves a slider to its end gets a traceback
instead of a picture. So, after each lesson has run, tests/probes/widget_probe.py runs as one more cell in the same
process: it calls every widget callback over the values of its controls (the full grid when small, else a sweep,
the edge grid or its corners, and seeded random settings) and reports every call that raises, prints nothing,
returns None without a message, prints a traceback, writes to stderr or warns (its docstring says how values are
chosen). That cell is part of the lesson's unmutated run in tests/test_mutations.py (a fork of a warm process, in
an empty folder: the lesson is run once there for everything it checks), whose
TestLessonNN::test_every_widget_callback_survives_every_setting calls check_widgets() below.

Two tests here show that the check can fail: one plants `raise` in a lesson's callback for one value of one control
(found by parsing the widget cell, so it follows the lesson) and expects exactly those calls reported; one runs a
made-up notebook with a callback for each kind of problem and expects each reported as its kind.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest
from conftest import NOTEBOOK_PATHS

FULL_GRID_MAX = 300      # a grid up to this many calls is called in full
RANDOM_COMBOS = 12       # otherwise: sweep + edge grid + this many seeded random combinations (the sweep and the
                         # edge grid find what breaks at an extreme; these, what breaks in between)
EDGE_GRID_MAX = 100      # a bigger edge grid gives way to its 2^k corners
DENSE_MAX = 64           # a control with more values than this is sampled (its ends always kept)
CALL_TIMEOUT_S = 10.0    # one call (render included) stopped after this: a widget that slow is broken anyway
SWEEP_BUDGET_S = 45.0    # every call of a lesson's widgets (lesson 11's, the slowest: ~15 s on 2 CPU cores)

# A widget in the source, `interactive(callback, ...)` or `interact(callback, ...)`: the callback's name.
WIDGET_RE = re.compile(r"\binteractive\(\s*(\w+)\s*[,)]|\binteract(?:_manual)?\(\s*(\w+)\s*[,)]")

PROBE = Path(__file__).resolve().parent / "probes" / "widget_probe.py"
REPORT = "widget_report"


def probe_cell(**overrides) -> str:
    """One more cell for a lesson's run: the source of tests/probes/widget_probe.py, compiled under the module's
    file name (a traceback in it points at the module's lines) into a namespace of its own, then widget_check().
    It leaves `widget_report`: the summary as JSON, or "FAILED: <traceback>" if the probe itself broke."""
    params = {"FULL_GRID_MAX": FULL_GRID_MAX, "RANDOM_COMBOS": RANDOM_COMBOS, "EDGE_GRID_MAX": EDGE_GRID_MAX,
              "DENSE_MAX": DENSE_MAX, "CALL_TIMEOUT_S": CALL_TIMEOUT_S, "MAX_REPORTED": 500}
    params.update(overrides)
    return (
        "try:\n"
        "    _widget_probe = {}\n"
        f"    exec(compile({PROBE.read_text()!r}, {str(PROBE)!r}, 'exec'), _widget_probe)\n"
        f"    {REPORT} = __import__('json').dumps(_widget_probe['widget_check']({params!r}))\n"
        "except Exception:\n"
        f"    {REPORT} = 'FAILED: ' + __import__('traceback').format_exc()\n"
        "finally:\n"
        "    _widget_probe = None\n")


def summary_of(report: str | None) -> dict:
    assert report is not None, "the widget probe never ran (the lesson's run stopped before it)"
    assert not report.startswith("FAILED: "), "the widget probe itself failed:\n" + report[len("FAILED: "):]
    return json.loads(report)


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


def check_widgets(name: str, nb: nbformat.NotebookNode, report: str | None, record_property=None) -> None:
    """The widget probe's verdict on a lesson (its report, from the lesson's run): every widget in the source was
    found live and checked, no call failed, the calls within SWEEP_BUDGET_S."""
    summary = summary_of(report)
    text = describe(summary)
    seconds = sum(w["seconds"] for w in summary["widgets"])
    print(f"{name}: {sum(w['calls'] for w in summary['widgets'])} callback calls in {seconds:.1f} s\n{text}")
    if record_property is not None:
        record_property("seconds", round(seconds, 1))
        record_property("calls", {w["label"]: w["calls"] for w in summary["widgets"]})

    assert summary["widgets"], f"{name}: no ipywidgets.interactive found after running the notebook"
    tested = {w["callback"] for w in summary["widgets"]}
    missing = sorted(set(widget_callbacks_in_source(nb)) - tested)
    assert not missing, f"{name}: widget callback(s) {missing} in the source, but no live interactive uses them"

    if summary["n_failures"]:
        by_kind: dict[str, list[dict]] = {}
        for f in summary["failures"]:
            by_kind.setdefault(f["kind"], []).append(f)
        msg = [(f"{name}: {summary['n_failures']} problem(s) in widget callbacks (an error inside a widget "
                f"never reaches nbval; a learner sees it when moving the control):")]
        for kind, fs in by_kind.items():
            msg.append(f"  {kind}: {len(fs)} reported, e.g.")
            msg += [f"    {f['call']}\n      → {f['detail']}" for f in fs[:5]]
        pytest.fail("\n".join(msg) + "\n" + text, pytrace=False)

    assert seconds <= SWEEP_BUDGET_S, f"{name}: the widget calls took {seconds:.1f} s (budget {SWEEP_BUDGET_S:.0f} s)"


def run_probe(forks, cells: list[str], keep_going: bool = False, **overrides) -> dict:
    """The cells, then the widget probe, in a fork of the warm process (conftest's `forks`): the summary."""
    run = forks.run(cells + [probe_cell(**overrides)], timeout=300, report=[REPORT], keep_going=keep_going)
    if not keep_going:
        assert run["error"] is None, f"the cells did not run clean: {run['error']}"
    return summary_of(run["report"][REPORT])


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


def test_the_check_catches_a_failing_setting(forks):
    for path in NOTEBOOK_PATHS:  # the first lesson whose widget call can be read
        nb = nbformat.read(path, as_version=4)
        try:
            callback, name, value = plant_failure(nb)
            break
        except LookupError:
            continue
    else:
        pytest.fail("no lesson has a `widgets.interactive(callback, name=Control(...))` whose values can be read")
    # Only the lesson up to its widget cell runs (what comes after is not needed for the check, and costs time);
    # the plain cells that call the callback with that value would fail too, so errors are allowed.
    last = max(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and any(
        (m.group(1) or m.group(2)) == callback for m in WIDGET_RE.finditer(c.source)))
    nb.cells = nb.cells[:last + 1]
    # A smaller sweep than a lesson's (every control's ends kept, the 2^k corners, a few random settings): what
    # is checked here is that the planted value, and only it, is reported.
    summary = run_probe(forks, [c.source for c in nb.cells if c.cell_type == "code"], keep_going=True,
                        DENSE_MAX=12, EDGE_GRID_MAX=16, RANDOM_COMBOS=4)
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
    """def sound(n=2, x=0.5, flag=False, word="hi", kind="a", mode="fast", c=3):
    if n == 0:
        print("⚠ n = 0: choose at least 1.")
        return None
    print(f"n={n} x={x} flag={flag} word={word!r} kind={kind} mode={mode} c={c}")
    plt.plot(torch.randn(n))
    plt.title(f"$x_{{{n}}}$")
    plt.show()
    return {"n": n}


def odd(span=(1, 3)):
    print("span", span)
    return {}


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
    kind=widgets.Dropdown(options={"A": "a", "B": "b"}), mode=widgets.ToggleButtons(options=["fast", "slow"]),
    c=widgets.fixed(3))
odd_ui = widgets.interactive(odd, span=widgets.IntRangeSlider(value=(1, 3), min=0, max=4))  # a kind no lesson uses
broken_ui = widgets.interactive(broken, n=widgets.IntSlider(value=1, min=0, max=9))
invalid_ui = widgets.interactive(starts_invalid, p=widgets.IntSlider(value=0, min=0, max=3))


@widgets.interact(m=(0, 2))
def via_interact(m=0):
    print("m =", m)
    return {"m": m}""",
]


def test_the_check_reports_each_kind_of_problem(forks):
    summary = run_probe(forks, SYNTHETIC, CALL_TIMEOUT_S=2.0, RANDOM_COMBOS=10)
    calls = {w["callback"]: w["calls"] for w in summary["widgets"]}
    assert calls.keys() == {"sound", "broken", "starts_invalid", "via_interact", "odd"}, calls
    assert calls["broken"] == 10 and calls["starts_invalid"] == 4 and calls["via_interact"] == 3, calls
    assert calls["sound"] > 60, calls  # sweep + edge grid + random
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
        "odd(span=…)": {"unsupported control"},
    }, json.dumps(summary["failures"], indent=1, ensure_ascii=False)
    details = {f["call"]: f["detail"] for f in summary["failures"]}
    assert "ValueError: two is wrong" in details["broken(n=2)"] and "broken line" in details["broken(n=2)"]
    assert details["broken(n=6)"].startswith("drawing the figure it left open: ValueError"), details["broken(n=6)"]
    assert details["broken(n=9)"].startswith("Timeout")
