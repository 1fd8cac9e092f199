"""The same outputs on any CPU: every notebook re-run on other CPU kernel paths must give the stored outputs.

torch (and oneDNN, MKL) pick their kernels by the CPU's instruction set, and kernels round differently in the last
bits; a training run amplifies those bits into other printed numbers, and a float32 check that asserts bitwise
equality between two kernels fails on another CPU. nbval re-runs each notebook on this machine's best path; the
lesson-alone run in test_widget_callbacks.py takes the generic path (ATEN_CPU_CAPABILITY=default); this test
takes AVX2 with oneDNN and MKL held to AVX2 and two threads. Each run must take the path it asked for, raise
nothing, and give every output nbval compares, after the same sanitize rules (ci/output_compare.py). The run
goes through ci/nbtools.py's runner, the one the build uses.
"""

from __future__ import annotations

import copy

import nbformat
import pytest
from conftest import CPU_PATHS, NOTEBOOK_PATHS
from output_compare import differences
from nbtools import run_in_fresh_kernel
from test_widget_callbacks import check_cpu_path

PATH = "avx2-2-threads"


def cpu_has_avx2() -> bool:
    try:
        return " avx2 " in open("/proc/cpuinfo").read().replace("\n", " ")  # noqa: SIM115
    except OSError:
        return False


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=[p.name for p in NOTEBOOK_PATHS])
def test_same_outputs_on_another_cpu_path(path):
    if not cpu_has_avx2():
        pytest.skip("this CPU has no AVX2: the AVX2 path cannot be taken here")
    stored = nbformat.read(path, as_version=4)
    nb = copy.deepcopy(stored)
    run = run_in_fresh_kernel(nb, cell_timeout=120, env=CPU_PATHS[PATH])
    run["notebook"] = nb
    check_cpu_path(path, stored, run, PATH)


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
