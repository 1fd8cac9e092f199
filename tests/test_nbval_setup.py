"""tests/nbval_setup.py does what it says: nbval's kernels take the CPU path put into the environment, and the
"runs within" item after a notebook's cells fails when the notebook runs over its budget.

One nbval run, in a subprocess, of a made-up two-cell notebook in a temporary folder, with nbval_setup loaded as
a plugin (`-p nbval_setup`, as the top-level conftest.py loads it for the repository): one cell prints the CPU
path torch took (stored: the path this environment asks for), one sleeps 1.5 s under a budget of 1 s.
"""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat
from conftest import CPU_PATHS, NBVAL_PATH, ROOT


def test_nbval_takes_the_path_and_the_budget_item_fails_over_budget(tmp_path):
    want = os.environ.get("ATEN_CPU_CAPABILITY", "")
    assert want, "nbval_setup did not set ATEN_CPU_CAPABILITY for nbval's kernels"
    if want == CPU_PATHS[NBVAL_PATH]["ATEN_CPU_CAPABILITY"]:
        assert os.environ["OMP_NUM_THREADS"] == CPU_PATHS[NBVAL_PATH]["OMP_NUM_THREADS"]
    path = nbformat.v4.new_code_cell("import torch\nprint(torch.backends.cpu.get_cpu_capability())", execution_count=1)
    path.outputs = [nbformat.v4.new_output("stream", name="stdout", text=want.upper() + "\n")]
    slow = nbformat.v4.new_code_cell("import time\ntime.sleep(1.5)", execution_count=2)
    nbformat.write(nbformat.v4.new_notebook(cells=[path, slow]), tmp_path / "made_up.ipynb")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests"), "RNN_LESSON_BUDGET_S": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-p", "nbval_setup", "-p", "no:xdist",
         "-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", str(tmp_path), "-rA", "made_up.ipynb"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    out = run.stdout
    assert "PASSED made_up.ipynb::Cell 0" in out, f"nbval's kernel did not take the path {want!r}:\n{out[-3000:]}"
    assert "PASSED made_up.ipynb::Cell 1" in out, out[-3000:]
    assert "FAILED made_up.ipynb::runs within 1 s" in out and "over its 1 s budget" in out, out[-3000:]
