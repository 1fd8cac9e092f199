"""The same outputs on any CPU: every notebook re-run on other CPU kernel paths must give the stored outputs.

torch (and oneDNN, MKL) pick their kernels by the CPU's instruction set, and kernels round differently in the last
bits; a training run amplifies those bits into other printed numbers, and a float32 check that asserts bitwise
equality between two kernels fails on another CPU. The build stores each notebook's outputs from the machine's best
path (AVX-512 where the CPU has it); two full runs of every lesson in the suite take other paths and compare every
output nbval compares, after the same sanitize rules:
- nbval itself: its kernels start with this process's environment, into which conftest.py puts the generic path
  (ATEN_CPU_CAPABILITY=default, one thread) unless the variables are set already;
- the Run All of tests/test_browser.py: AVX2, oneDNN and MKL held to AVX2, two threads (its JupyterLab server and
  so its kernels run with that environment; ci/output_compare.py compares as nbval does, and the test checks the
  path torch took).
Those runs exist anyway (nbval's, the lesson in a browser), so the comparison costs no extra run. This module
checks that the two paths differ from each other and that the comparison can fail (tests/test_nbval_setup.py, that
nbval's kernels do take the path they are given).
"""

from __future__ import annotations

import copy

import nbformat
import test_browser
from conftest import CPU_PATHS, NBVAL_PATH, NOTEBOOK_PATHS
from output_compare import differences


def test_two_other_cpu_paths_are_taken():
    paths = {NBVAL_PATH, test_browser.CPU_PATH}
    assert len(paths) == 2 and paths <= set(CPU_PATHS)
    for env in CPU_PATHS.values():
        assert env["ATEN_CPU_CAPABILITY"] in ("default", "avx2") and "OMP_NUM_THREADS" in env
    assert {env["OMP_NUM_THREADS"] for env in CPU_PATHS.values()} == {"1", "2"}, "one and two threads"


def test_a_changed_number_is_a_difference():
    stored = nbformat.read(NOTEBOOK_PATHS[0], as_version=4)
    fresh = copy.deepcopy(stored)
    assert differences(stored.cells, fresh.cells) == []
    cell = next(c for c in fresh.cells if c.cell_type == "code" and any(
        o.output_type == "stream" and any(ch.isdigit() for ch in o.text) for o in c.outputs)
        and "NBVAL_IGNORE_OUTPUT" not in c.source)
    out = next(o for o in cell.outputs if o.output_type == "stream" and any(ch.isdigit() for ch in o.text))
    digit = next(ch for ch in out.text if ch.isdigit())
    out.text = out.text.replace(digit, str((int(digit) + 1) % 10), 1)
    assert len(differences(stored.cells, fresh.cells)) == 1
    out.text += "12 ms\n"  # a timing is sanitized away, but an extra line is not
    assert len(differences(stored.cells, fresh.cells)) == 1
