"""Call every widget callback of a lesson over the settings its controls allow (run in the lesson's kernel by
tests/test_widget_callbacks.py's probe_cell(), after the lesson itself, in the unmutated run of
tests/test_mutations.py; its source is sent as one more cell).

  * finds every `ipywidgets.interactive` (also those made by `interact`), wherever it is kept, and reads its
    callback (`w.f`) and its controls (`w.kwargs_widgets`);
  * the values each control allows: an IntSlider every int from min to max (on its step); a FloatSlider min, max
    and points between on its step; a Dropdown / ToggleButtons / RadioButtons every option's value; a Checkbox
    False and True; a Text box its value, cleared, and a blank; a `fixed` its value. A control with more than
    DENSE_MAX values gives its ends and an even sample; edge values: min, min + one step, max; every option of a
    short list, else the first and the last. Any other kind of control is reported (a lesson that adds one adds
    its values here);
  * calls the callback on the full grid of values when it has at most FULL_GRID_MAX combinations; otherwise on
    the starting settings, every value of each control with the others at their starting values, the grid of
    edge values (or, above EDGE_GRID_MAX combinations, its 2^k corners), and RANDOM_COMBOS seeded random
    combinations;
  * captures, for each call, stdout, stderr, warnings and rich displays; draws every matplotlib figure the call
    leaves open or shows (the inline backend would, so an error at draw time counts) and closes it; reseeds
    random, torch and numpy before each call, so a run is reproducible;
  * returns a summary (calls per widget, how many returned a dict or None, the slowest call, the failures with
    their arguments), JSON-ready.

A call fails when it raises (or runs longer than CALL_TIMEOUT_S); prints and displays nothing; returns None
without a message (no word in what it printed); prints a traceback; writes to stderr or warns; returns something
other than a dict or None. The widget's starting settings must be valid (return a dict).
"""

import contextlib
import gc
import io
import itertools
import math
import random
import re
import signal
import sys
import threading
import time
import traceback
import warnings

# The control kinds the lessons use (Text: the language-model lesson's prompt box). Each maps to a way of listing
# its values in values_of(); anything else is reported as an unsupported control, not silently skipped.
KINDS = ("IntSlider", "FloatSlider", "Dropdown", "ToggleButtons", "RadioButtons", "Checkbox", "Text", "fixed")


def uniq(seq):
    out, keys = [], set()
    for x in seq:
        k = repr(x)
        if k not in keys:
            keys.add(k)
            out.append(x)
    return out


def dense(vals, default, limit):
    """At most ~limit values: the four at each end, an even sample between, and the default."""
    vals = list(vals)
    if len(vals) <= limit:
        return vals
    n = len(vals)
    idx = list(range(4)) + list(range(n - 4, n)) + [round(i * (n - 1) / (limit - 10)) for i in range(limit - 9)]
    return uniq([vals[i] for i in sorted(set(idx))] + [default])


def float_points(lo, hi, step, default, k=8):
    pts = [lo, hi, default]
    for i in range(1, k):
        x = lo + (hi - lo) * i / k
        if step:
            x = lo + round((x - lo) / step) * step
        pts.append(round(min(max(x, lo), hi), 10))
    return uniq(sorted(pts))


def values_of(c, dense_max):
    """(kind, all values, edge values) of one control; kind None: a kind this probe does not know."""
    import ipywidgets as W

    d = c.get_interact_value() if hasattr(c, "get_interact_value") else c.value
    kind = type(c).__name__
    if isinstance(c, W.fixed):
        return "fixed", [d], [d]
    if isinstance(c, (W.Dropdown, W.ToggleButtons, W.RadioButtons)):
        o = uniq(list(c._options_values) + ([d] if d is not None else []))
        return kind, dense(o, d, dense_max), o if len(o) <= 4 else [o[0], o[-1]]
    if isinstance(c, W.Checkbox):
        return kind, [False, True], [False, True]
    if isinstance(c, W.IntSlider):
        s = c.step or 1
        v = uniq(list(range(c.min, c.max + 1, s)) + [c.max, d])
        return kind, dense(sorted(v), d, dense_max), uniq([c.min, min(c.min + s, c.max), c.max])
    if isinstance(c, W.FloatSlider):
        return kind, float_points(c.min, c.max, c.step, d), [c.min, c.max]
    if isinstance(c, W.Text):  # what a learner can type: the default, nothing, a blank
        v = uniq([d, "", " "])
        return kind, v, ["", d]
    return None, [d], [d]


def plan(controls, P):
    """The calls to make: [combination of values], and how they were chosen."""
    vals = [c["values"] for c in controls]
    edges = [c["edges"] for c in controls]
    default = tuple(c["default"] for c in controls)
    combos, keys = [], set()

    def push(combo):
        k = repr(combo)
        if k not in keys:
            keys.add(k)
            combos.append(tuple(combo))

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
        grid, how = edges, f"edge grid ({n_edges})"
    else:  # the 2^k corners: min/max, first/last
        grid = [[e[0], e[-1]] if len(e) > 1 else e for e in edges]
        how = f"{math.prod(len(e) for e in grid)} corners"
    for combo in itertools.product(*grid):
        push(combo)
    rng = random.Random("random " + " ".join(c["name"] for c in controls))
    for _ in range(P["RANDOM_COMBOS"]):
        push(tuple(rng.choice(v) for v in vals))
    return combos, f"defaults + one-at-a-time sweep + {how} + {P['RANDOM_COMBOS']} random"


def find_widgets(ns):
    """Every live `interactive`: the notebook's globals first (named), then the widget registry, then the heap."""
    import ipywidgets
    from ipywidgets import interactive

    found, seen, names = [], set(), {}
    for k, v in list(ns.items()):
        if k.startswith("_"):
            continue
        for cand in (v, getattr(v, "widget", None) if callable(v) else None):
            if isinstance(cand, interactive):
                names.setdefault(id(cand), k)
                if id(cand) not in seen:
                    seen.add(id(cand))
                    found.append(cand)
    registry = getattr(getattr(ipywidgets.widgets, "widget", None), "_instances", None)
    for w in list(registry.values()) if isinstance(registry, dict) else []:
        if isinstance(w, interactive) and id(w) not in seen:
            seen.add(id(w))
            found.append(w)
    rest = [o for o in gc.get_objects() if isinstance(o, interactive) and id(o) not in seen]
    found += sorted(rest, key=lambda w: (getattr(w.f, "__qualname__", ""),
                                         [getattr(c, "_kwarg", "") for c in w.kwargs_widgets]))
    return found, names


class CallTimeout(BaseException):
    pass


def _on_alarm(signum, frame):
    raise CallTimeout()


class Caller:
    """Calls a callback with everything it shows captured (displays, figures, stdout, stderr, warnings)."""

    def __init__(self, ip, timeout_s):
        self.ip, self.timeout_s = ip, timeout_s
        self.plt = sys.modules.get("matplotlib.pyplot")
        self.use_alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
        self.shown = []

    def render_and_close(self):
        if self.plt is None:
            return
        try:
            for n in self.plt.get_fignums():  # the inline backend draws every figure a call leaves: so do we
                self.plt.figure(n).canvas.draw()
        finally:
            self.plt.close("all")

    @contextlib.contextmanager
    def installed(self):
        pub, plt = self.ip.display_pub, self.plt
        saved = {"publish": pub.publish, "clear_output": pub.clear_output, "show": getattr(plt, "show", None)}

        def publish(data, metadata=None, *args, **kwargs):
            data = data or {}
            self.shown.append("" if any(m.startswith("image/") for m in data) else str(data.get("text/plain", "")))

        try:
            pub.publish = publish
            pub.clear_output = lambda *a, **k: None
            if plt is not None:
                plt.show = lambda *a, **k: self.render_and_close()
            if self.use_alarm:
                saved["alarm"] = signal.signal(signal.SIGALRM, _on_alarm)
            yield
        finally:
            pub.publish, pub.clear_output = saved["publish"], saved["clear_output"]
            if self.use_alarm:
                signal.signal(signal.SIGALRM, saved["alarm"] if saved.get("alarm") is not None else signal.SIG_DFL)
            if plt is not None:
                plt.show = saved["show"]
                plt.close("all")

    def __call__(self, f, kwargs, seed):
        random.seed(seed)
        if "torch" in sys.modules:
            sys.modules["torch"].manual_seed(seed)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed(seed)
        out, err = io.StringIO(), io.StringIO()
        del self.shown[:]
        rec = {"exc": None, "result": None}
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            if self.use_alarm:
                signal.setitimer(signal.ITIMER_REAL, self.timeout_s)
            stage = ""
            try:
                rec["result"] = f(**kwargs)
                stage = "drawing the figure it left open: "
                self.render_and_close()
            except CallTimeout:
                rec["exc"] = ("Timeout", f"stopped after {self.timeout_s:.0f} s", "")
            except Exception as e:  # noqa: BLE001 - reported
                tb = traceback.extract_tb(e.__traceback__)[1:]  # the first frame is this method
                mine = [fr for fr in tb if "ipykernel_" in fr.filename or "<ipython-input" in fr.filename]
                frames = mine[-1:] + tb[-1:] if mine and mine[-1] is not tb[-1] else tb[-1:]
                where = "; ".join(f"{fr.name} line {fr.lineno}: {(fr.line or '').strip()}" for fr in frames)
                rec["exc"] = (stage + type(e).__name__, str(e)[:300], where)
            finally:
                if self.use_alarm:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                if self.plt is not None:
                    self.plt.close("all")
        rec["seconds"] = time.perf_counter() - t0
        rec["stdout"], rec["stderr"] = out.getvalue(), err.getvalue()
        rec["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
        rec["displayed"] = list(self.shown)
        return rec


def problems(rec):
    """The failures of one call, as [(kind, detail)]."""
    if rec["exc"]:
        name, msg, where = rec["exc"]
        return [("exception", f"{name}: {msg}" + (f"   [{where}]" if where else ""))]
    text = rec["stdout"].strip()
    found = []
    res = rec["result"]
    if "Traceback (most recent call last)" in rec["stdout"]:
        found.append(("traceback printed", text[-300:]))
    if not text and not rec["displayed"]:
        found.append(("no output", "printed nothing and displayed nothing"))
    if res is None and not re.search(r"[^\W\d_]{3,}", text + " ".join(rec["displayed"])):
        found.append(("None without a message", f"returned None; printed {text[:200]!r}"))
    if res is not None and not isinstance(res, dict):
        found.append(("bad return", f"returned {type(res).__name__}, expected a dict (valid) or None (invalid)"))
    if rec["stderr"].strip():
        found.append(("stderr", rec["stderr"].strip()[:300]))
    for w in rec["warnings"]:
        found.append(("warning", w[:300]))
    return found


def widget_check(P):
    """Check every widget of the notebook in this namespace; return the summary."""
    from IPython import get_ipython

    ip = get_ipython()
    found, names = find_widgets(ip.user_ns)
    caller = Caller(ip, P["CALL_TIMEOUT_S"])
    summary = {"widgets": [], "failures": [], "n_failures": 0}

    def fail(label, call, kwargs, kind, detail):
        summary["n_failures"] += 1
        if len(summary["failures"]) < P["MAX_REPORTED"]:
            summary["failures"].append({"widget": label, "call": call, "kind": kind, "detail": detail,
                                        "kwargs": {k: repr(v) for k, v in kwargs.items()}})

    seed = 0
    with caller.installed():
        for w in found:
            f = w.f
            fname = getattr(f, "__name__", repr(f))
            label = f"{names[id(w)]} = interactive({fname})" if id(w) in names else f"interactive({fname})"
            controls = []
            for c in w.kwargs_widgets:
                kind, vals, edges = values_of(c, P["DENSE_MAX"])
                d = c.get_interact_value() if hasattr(c, "get_interact_value") else c.value
                if kind is None:
                    fail(label, f"{fname}({c._kwarg}=…)", {}, "unsupported control",
                         f"{type(c).__name__} {c._kwarg!r}: the probe knows {', '.join(KINDS)}; add its values to "
                         "tests/probes/widget_probe.py values_of()")
                    kind = type(c).__name__
                controls.append({"name": c._kwarg, "kind": kind, "default": d, "values": vals, "edges": edges})
            combos, strategy = plan(controls, P)
            info = {"label": label, "callback": fname, "strategy": strategy, "calls": 0, "dict": 0, "none": 0,
                    "failing_calls": 0, "seconds": 0.0, "slowest": None,
                    "controls": [{"name": c["name"], "kind": c["kind"], "n_values": len(c["values"]),
                                  "default": repr(c["default"]), "edges": [repr(e) for e in c["edges"]]}
                                 for c in controls]}
            t_widget = time.perf_counter()
            for combo in combos:
                kwargs = {c["name"]: x for c, x in zip(controls, combo)}
                shown_call = "{}({})".format(fname, ", ".join(f"{k}={v!r}" for k, v in kwargs.items()))
                seed += 1
                rec = caller(f, kwargs, seed)
                info["calls"] += 1
                info["dict"] += isinstance(rec["result"], dict)
                info["none"] += rec["result"] is None and rec["exc"] is None
                if info["slowest"] is None or rec["seconds"] > info["slowest"][1]:
                    info["slowest"] = [shown_call, round(rec["seconds"], 3)]
                probs = problems(rec)
                if combo is combos[0] and rec["exc"] is None and not isinstance(rec["result"], dict):
                    probs.append(("defaults invalid", f"the widget's starting settings return {rec['result']!r}: "
                                                      "a learner opens it on a message"))
                info["failing_calls"] += bool(probs)
                for kind, detail in probs:
                    fail(label, shown_call, kwargs, kind, detail)
            info["seconds"] = round(time.perf_counter() - t_widget, 2)
            summary["widgets"].append(info)
    return summary
