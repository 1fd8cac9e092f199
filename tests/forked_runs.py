"""Run a notebook's code cells many times, fast: each run in a fork of a process that has already imported torch.

The mutation tests run a lesson once per mutation. Through a Jupyter kernel, each run pays ~2.5 s (start a kernel,
import torch, matplotlib, ipywidgets) before its first cell; with ~60 mutations that was most of the suite's time.
Here one server process per pytest worker imports those once and builds an IPython shell; each run is a fork of it
that executes the cells in order with `InteractiveShell.run_cell` (the same code path an IPython kernel uses for a
cell, minus the messaging), in an empty temporary folder, and reports the first cell that raised: its index and
exception type and message. matplotlib draws with Agg (as the inline backend does), widgets are built without a
front end (ipywidgets' dummy comm), `display` prints. Before its first request the server pays the lessons'
first-use costs (warm_up: ~1.5 s of imports and font loading), which each fork would otherwise pay again.

The same cells must run clean here unmutated (test_mutations.py checks that for every lesson), so a mutation that
fails here fails because of the mutation, not because of this runner.

Protocol: the server reads one JSON line per request from stdin and answers one JSON line.
- A run: {"cells": [...], "timeout": s, "report": [names], "keep_going": bool} → {"error": null | {"cell": i,
  "ename": ..., "evalue": ...}, "seconds": s, "files": [...], "report": {name: str}}: after the cells ran clean (or
  all of them, errors or not, with keep_going), `report` holds str() of each named variable of the namespace (None
  when undefined); `files`, what the run left in its empty folder.
- {"warm_up_warnings": true} → {"warnings": [...]}: the warnings the warm-up raised (answered without a fork).
- Mutations of one notebook: {"cells": [...], "mutations": [[i, source], ...], "timeout": s} → {"error": <the
  unmutated run's error or null>, "seconds": s, "mutations": [{"error": ..., "seconds": s}, ...]}. The fork runs the
  unmutated cells in order; just before cell i it forks again for each mutation of cell i, and that fork runs the
  mutated cell i and the cells after it (or, with "rest": [...] as long as "cells", rest[i + 1:]). So a mutation's run
  starts from exactly the state an unmutated run has before cell i (the same cells ran, in the same order, in the same
  process), without re-running cells 0..i-1: the mutation tests take a fraction of the time of one full run per
  mutation. Cell indices in the answers are the notebook's; "files" as for a run. {"report_before": {"cell": i,
  "names": [...]}} adds "report_before": str() of each name just before cell i of the unmutated run (the student
  copy's verdicts: see test_mutations.py). Everything runs on one thread (OMP_NUM_THREADS=1: a fork of a process whose
  OpenMP pool is running can hang); these runs check for errors, not printed digits.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time


def run_cells(shell, cells: list[str], first: int = 0, keep_going: bool = False) -> dict | None:  # pragma: no cover
    """Run the cells in order; the first error as {"cell": its index (counted from `first`), "ename", "evalue"}.
    keep_going: run every cell even after one raised (as a notebook run that allows errors does)."""
    first_error = None
    for i, src in enumerate(cells, start=first):
        r = shell.run_cell(src, store_history=False)
        err = r.error_before_exec or r.error_in_exec
        if err is not None and first_error is None:
            first_error = {"cell": i, "ename": type(err).__name__, "evalue": str(err)[:6000]}
            if not keep_going:
                break
    return first_error


def wait_for(pid: int, read_fd: int, timeout: float) -> dict:
    """The JSON a fork writes to its pipe before it exits, or a Timeout error (the fork killed) after `timeout` s."""
    t0 = time.perf_counter()
    chunks = []
    with os.fdopen(read_fd, "rb") as pipe:
        ready, _, _ = select.select([pipe], [], [], timeout)
        if ready:
            chunks.append(pipe.read())
    if not chunks:
        os.kill(pid, 9)
    os.waitpid(pid, 0)
    data = b"".join(chunks)
    if data:
        return json.loads(data)
    return {"error": {"cell": -1, "ename": "Timeout",
                      "evalue": f"no answer after {time.perf_counter() - t0:.0f} s (limit {timeout:.0f} s)"}}


def run_mutations(shell, request: dict) -> tuple[list, dict | None, dict | None]:  # pragma: no cover - in a fork
    """See the module docstring: (one result per mutation, the unmutated run's error or None, the report taken
    just before cell report_before["cell"] of the unmutated run: str() of each name in report_before["names"])."""
    cells, timeout = request["cells"], request.get("timeout", 300)
    rest = request.get("rest") or cells  # what a mutation's fork runs after its mutated cell
    results: list = [None] * len(request["mutations"])
    before = request.get("report_before") or {"cell": -1, "names": []}
    report = None
    for i, src in enumerate(cells):
        if i == before["cell"]:
            report = {k: (str(shell.user_ns[k]) if k in shell.user_ns else None) for k in before["names"]}
        for k, (at, mutated) in enumerate(request["mutations"]):
            if at != i:
                continue
            read_fd, write_fd = os.pipe()
            t0 = time.perf_counter()
            pid = os.fork()
            if pid == 0:
                os.close(read_fd)
                os.chdir(tempfile.mkdtemp(prefix="rnn-mutation-"))  # the unmutated run's folder stays its own
                try:
                    out = {"error": run_cells(shell, [mutated] + rest[i + 1:], first=i)}
                except BaseException as exc:  # noqa: BLE001 - reported, not hidden
                    out = {"error": {"cell": -1, "ename": type(exc).__name__, "evalue": str(exc)[:6000]}}
                os.write(write_fd, json.dumps(out).encode())
                os._exit(0)
            os.close(write_fd)
            results[k] = wait_for(pid, read_fd, timeout)
            results[k]["seconds"] = time.perf_counter() - t0
        error = run_cells(shell, [src], first=i)
        if error is not None:  # the unmutated notebook fails here: the mutations after it cannot be run
            for k, (at, _) in enumerate(request["mutations"]):
                if results[k] is None:
                    results[k] = {"error": {"cell": -1, "ename": "NotRun",
                                            "evalue": f"the unmutated run failed: {error}"}}
            return results, error, report
    return results, None, report


def warm_up() -> list[str]:  # pragma: no cover - runs in the server process
    """Pay, once in the server, the first-use costs that every fork would otherwise pay again: the first
    torch.testing.assert_close imports ~500 modules (0.6 s), the first optimizer step ~300 more (0.5 s), the first
    matplotlib draw loads its fonts (0.3 s). A fork runs from the state before its mutated cell; when that cell comes
    before a lesson's first check, each fork paid them all. Nothing the lessons see changes: only modules are
    imported and caches filled (torch's generators are restored, every figure closed, no setting changed). Returns
    the warnings it raised, which must be none: a warning torch gives once per process, given here, would be missing
    from a lesson's run (the widget probe reports warnings)."""
    import gc
    import warnings

    import ipywidgets
    import matplotlib.pyplot as plt
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.func import functional_call
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    with torch.random.fork_rng(), warnings.catch_warnings(record=True) as raised:
        warnings.simplefilter("always")
        torch.manual_seed(0)
        for dtype in (torch.float32, torch.float64):
            x = torch.randn(3, 2, 4, dtype=dtype, requires_grad=True)
            for cls in (nn.RNN, nn.LSTM, nn.GRU):
                rnn = cls(4, 5, dtype=dtype)
                out, _ = rnn(x)
                packed, _ = rnn(pack_padded_sequence(x, [3, 2]))
                pad_packed_sequence(packed)
                functional_call(rnn, dict(rnn.named_parameters()), (x,))
                loss = F.cross_entropy(out[-1], torch.tensor([0, 1]))
                torch.autograd.grad(loss, [x], retain_graph=True)
                loss.backward()
                nn.utils.clip_grad_norm_(rnn.parameters(), 1.0)
                for opt in (torch.optim.Adam, torch.optim.SGD):
                    opt(rnn.parameters(), lr=0.01).step()
            torch.testing.assert_close(x, x)
            try:
                torch.testing.assert_close(x, x.detach() + 1)
            except AssertionError:
                pass
        torch.linalg.eigvals(torch.eye(2))
        registry = ipywidgets.widgets.widget._instances  # what the widget probe searches (Widget.widgets: deprecated)
        before = set(registry)
        ipywidgets.interactive(lambda n=1: n, n=ipywidgets.IntSlider(1, 0, 2))
        for key in set(registry) - before:  # closed: the widget probe must find only the lesson's widgets
            registry[key].close()
        fig, ax = plt.subplots()
        ax.semilogy([1, 2], [1, 10], label=r"$\|\partial L / \partial x_t\|$")
        ax.set(title=r"$\sigma(b_f) = 1 - 1/\tau$", xlabel="t")
        ax.legend()
        fig.tight_layout()
        fig.canvas.draw()
        plt.close("all")
    gc.collect()  # the closed widgets too: the widget probe also searches the heap for live `interactive`s
    return [f"{w.category.__name__}: {w.message}" for w in raised]


def serve() -> None:  # pragma: no cover - runs in the server process
    os.environ.setdefault("MPLBACKEND", "Agg")
    import warnings

    import ipywidgets  # noqa: F401  (imported once, here, for every fork)
    import matplotlib
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import torch  # noqa: F401
    import torch.nn  # noqa: F401
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    matplotlib.use("Agg")
    # The cells run as a notebook opened alone does: nothing of the repository importable (this script's folder,
    # tests/, is first on sys.path when it runs as `python tests/forked_runs.py`).
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    cfg = Config()
    cfg.HistoryManager.enabled = False  # no sqlite file, no saving thread: safe to fork
    shell = InteractiveShell.instance(config=cfg)
    # An error a cell does not catch: run_cell keeps it (error_in_exec, what a run reports) before it shows the
    # traceback, which a fork writes to /dev/null anyway. Formatting it (IPython's ultratb: source lines, colours)
    # cost each fork ~0.1 s, most of a failing mutation's time.
    shell.showtraceback = lambda *args, **kwargs: None
    out = sys.stdout
    saved = os.dup(1)  # the answers' channel: nothing the warm-up writes (a terminal escape, a warning) goes there
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        sys.stdout = devnull
        try:
            warm_up_warnings = warm_up()
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            sys.stdout = out
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("warm_up_warnings"):
            out.write(json.dumps({"warnings": warm_up_warnings}) + "\n")
            out.flush()
            continue
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: run the cells, write the result, exit without cleanup
            os.close(read_fd)
            result = {"error": None}
            try:
                t0 = time.perf_counter()
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
                sys.stdout = sys.stderr = open(os.devnull, "w")
                os.chdir(tempfile.mkdtemp(prefix="rnn-mutation-"))
                if "mutations" in request:
                    result["mutations"], result["error"], result["report_before"] = run_mutations(shell, request)
                else:
                    result["error"] = run_cells(shell, request["cells"], keep_going=request.get("keep_going", False))
                if result["error"] is None or request.get("keep_going"):
                    result["report"] = {k: (str(shell.user_ns[k]) if k in shell.user_ns else None)
                                        for k in request.get("report", [])}
                result["files"] = sorted(os.listdir("."))  # what the run left in its empty folder
                result["seconds"] = time.perf_counter() - t0
            except BaseException as exc:  # noqa: BLE001 - reported, not hidden
                result["error"] = {"cell": -1, "ename": type(exc).__name__, "evalue": str(exc)[:6000]}
            os.write(write_fd, json.dumps(result).encode())
            os._exit(0)
        os.close(write_fd)
        answer = wait_for(pid, read_fd, request.get("timeout", 300) * (1 + len(request.get("mutations", []))))
        out.write(json.dumps(answer) + "\n")
        out.flush()


class ForkServer:
    """A warm process (torch and friends imported) that runs lists of cells in forks of itself."""

    def __init__(self, drop_env: dict | None = None) -> None:
        """drop_env: variables of this environment the server must not inherit (conftest.NBVAL_ENV)."""
        env = {k: v for k, v in os.environ.items() if k not in (drop_env or {})}
        # Every fork's empty folder (tempfile.mkdtemp) goes under this one, removed when the server closes.
        self.tmp = tempfile.TemporaryDirectory(prefix="rnn-forks-")
        env.update(MPLBACKEND="Agg", PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", TMPDIR=self.tmp.name)
        self.proc = subprocess.Popen(
            [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )

    def run(self, cells: list[str], timeout: float = 300, report: list[str] = (), keep_going: bool = False) -> dict:
        """The cells in order in a fork: {"error", "seconds", "files" (left in its empty folder), "report": str() of
        each name in `report` at the end (when no cell raised, or with keep_going)}."""
        return self._ask({"cells": cells, "timeout": timeout, "report": list(report), "keep_going": keep_going})

    def warm_up_warnings(self) -> list[str]:
        """The warnings the server's warm-up raised (see warm_up: there must be none)."""
        return self._ask({"warm_up_warnings": True})["warnings"]

    def _ask(self, request: dict) -> dict:
        assert self.proc.poll() is None, "the fork server died"
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the fork server closed its output"
        return json.loads(line)

    def run_mutations(self, cells: list[str], mutations: list[tuple[int, str]], timeout: float = 300,
                      report_before: tuple[int, list[str]] = (-1, []), report: list[str] = (),
                      rest: list[str] | None = None) -> dict:
        """Each (i, source): cell i replaced by source, run from the unmutated state before cell i (see above);
        the unmutated run also reports str() of the named variables just before cell report_before[0], and of
        those in `report` at its end (when it ran clean)."""
        return self._ask({"cells": cells, "mutations": [list(m) for m in mutations], "timeout": timeout,
                          "report_before": {"cell": report_before[0], "names": list(report_before[1])},
                          "report": list(report), "rest": rest})

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.tmp.cleanup()


if __name__ == "__main__":
    serve()
