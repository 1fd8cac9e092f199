"""Run a notebook's code cells many times, fast: each run in a fork of a process that has already imported torch.

The mutation tests run a lesson once per mutation. Through a Jupyter kernel, each run pays ~2.5 s (start a kernel,
import torch, matplotlib, ipywidgets) before its first cell; with ~60 mutations that was most of the suite's time.
Here one server process per pytest worker imports those once and builds an IPython shell; each run is a fork of it
that executes the cells in order with `InteractiveShell.run_cell` (the same code path an IPython kernel uses for a
cell, minus the messaging), in an empty temporary folder, and reports the first cell that raised: its index and
exception type and message. matplotlib draws with Agg (as the inline backend does), widgets are built without a
front end (ipywidgets' dummy comm), `display` prints.

The same cells must run clean here unmutated (test_mutations.py checks that for every lesson), so a mutation that
fails here fails because of the mutation, not because of this runner.

Protocol: the server reads one JSON line {"cells": [...], "timeout": s, "report": [names]} per run from stdin and
answers one JSON line {"error": null | {"cell": i, "ename": ..., "evalue": ...}, "seconds": s, "report": {name: str}}:
after the cells ran clean, `report` holds str() of each named variable of the namespace (None when undefined).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time


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
    cfg = Config()
    cfg.HistoryManager.enabled = False  # no sqlite file, no saving thread: safe to fork
    shell = InteractiveShell.instance(config=cfg)
    out = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
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
                warnings.simplefilter("ignore")
                for i, src in enumerate(request["cells"]):
                    r = shell.run_cell(src, store_history=False)
                    err = r.error_before_exec or r.error_in_exec
                    if err is not None:
                        result["error"] = {"cell": i, "ename": type(err).__name__, "evalue": str(err)[:6000]}
                        break
                if result["error"] is None:
                    result["report"] = {k: (str(shell.user_ns[k]) if k in shell.user_ns else None)
                                        for k in request.get("report", [])}
                result["seconds"] = time.perf_counter() - t0
            except BaseException as exc:  # noqa: BLE001 - reported, not hidden
                result["error"] = {"cell": -1, "ename": type(exc).__name__, "evalue": str(exc)[:6000]}
            os.write(write_fd, json.dumps(result).encode())
            os._exit(0)
        os.close(write_fd)
        chunks = []
        with os.fdopen(read_fd, "rb") as pipe:
            ready, _, _ = select.select([pipe], [], [], request.get("timeout", 300))
            if ready:
                chunks.append(pipe.read())
        if not chunks:
            os.kill(pid, 9)
        os.waitpid(pid, 0)
        data = b"".join(chunks)
        answer = json.loads(data) if data else {"error": {"cell": -1, "ename": "Timeout", "evalue": "no answer"}}
        out.write(json.dumps(answer) + "\n")
        out.flush()


class ForkServer:
    """A warm process (torch and friends imported) that runs lists of cells in forks of itself."""

    def __init__(self) -> None:
        env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )

    def run(self, cells: list[str], timeout: float = 300, report: list[str] = ()) -> dict:
        assert self.proc.poll() is None, "the fork server died"
        self.proc.stdin.write(json.dumps({"cells": cells, "timeout": timeout, "report": list(report)}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the fork server closed its output"
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


if __name__ == "__main__":
    serve()
