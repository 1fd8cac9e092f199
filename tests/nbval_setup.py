"""What pytest must do for nbval's notebook items too (loaded by the repository's top-level conftest.py: a conftest in
tests/ reaches only the items under tests/, and `pytest notebooks/01_one_step.ipynb` never loads it).

- nbval's kernels run on torch's generic CPU kernel path (CPU_PATHS["generic"]: ATEN_CPU_CAPABILITY=default, one
  thread), put into this process's environment, which nbval's kernels inherit, unless the variables are set
  already: the stored outputs come from the build on the machine's best path (AVX-512 here), so nbval's run is also
  a check that another CPU gives the same outputs (tests/test_cpu_paths.py; the browser test runs a third path).
- Each notebook is followed by one more item, "runs within 30 s": the sum of its cells' times under nbval, kernel
  start included (README rule 11).
- The heaviest test classes first (tests/test_browser.py, tests/test_mutations.py: a lesson each, 10-45 s; the
  biggest lessons first), so that `--dist loadscope` (with --no-loadscope-reorder, as ci/test.sh runs it) fills the
  end with short tests instead of leaving one worker alone with a long class.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

LESSON_SOURCES = Path(__file__).resolve().parent.parent / "lessons"

# Other CPU kernel paths than the machine's best one (on which the build stores the outputs): each notebook is
# re-run under these and must give the stored outputs. nbval runs "generic" (set below, for its kernels), the
# browser test (tests/test_browser.py) "avx2-2-threads". torch picks its vectorised kernels by ATEN_CPU_CAPABILITY;
# oneDNN and MKL have their own switches.
CPU_PATHS = {
    "generic": {"ATEN_CPU_CAPABILITY": "default", "OMP_NUM_THREADS": "1"},
    "avx2-2-threads": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
                       "OMP_NUM_THREADS": "2"},
}
NBVAL_PATH = "generic"
# What this module put into the environment for nbval's kernels (a variable the user set is left as it is); the
# fork server (forked_runs.py) takes it out again: its runs check errors, not digits, and run 10% faster on the
# machine's best path.
NBVAL_ENV = {k: v for k, v in CPU_PATHS[NBVAL_PATH].items() if k not in os.environ}
os.environ.update(NBVAL_ENV)  # nbval starts its kernels with this process's environment
# README rule 11: a lesson, kernel start included, on the 2-core machine, on nbval's path. (RNN_LESSON_BUDGET_S is
# for tests/test_nbval_setup.py, which shows that the item fails over its budget.)
LESSON_BUDGET_S = float(os.environ.get("RNN_LESSON_BUDGET_S", "30"))


_cell_seconds: dict[str, list[float]] = {}


class LessonBudget(pytest.Item):
    """Appended after a notebook's last nbval cell (same parent, so the same xdist worker and the same kernel's
    session): the notebook ran in its budget, kernel start included: the sum of its cells' setup, call and
    teardown times in this session (the first cell's setup starts the kernel)."""

    def runtest(self):
        seconds = _cell_seconds.get(self.parent.nodeid)
        if not seconds or len(seconds) != self.n_cells:
            pytest.skip(f"not every cell of {self.parent.name} ran in this session: its time is unknown")
        total = sum(seconds)
        self.user_properties.append(("seconds", round(total, 1)))
        print(f"{self.parent.name}: {total:.1f} s on the CPU path {NBVAL_PATH} ({CPU_PATHS[NBVAL_PATH]}), "
              "kernel start included")
        assert total <= LESSON_BUDGET_S, (
            f"{self.parent.name} took {total:.1f} s under nbval (kernel start included, CPU path {NBVAL_PATH}), "
            f"over its {LESSON_BUDGET_S:.0f} s budget (README rule 11)")

    def reportinfo(self):
        return self.path, None, f"{self.parent.name}: runs within {LESSON_BUDGET_S:.0f} s"


def pytest_runtest_logreport(report):
    nb, sep, cell = report.nodeid.partition("::Cell ")
    if sep and nb.endswith(".ipynb"):
        times = _cell_seconds.setdefault(nb, [])
        if report.when == "setup":
            times.append(0.0)
        if times:
            times[-1] += report.duration


def pytest_collection_modifyitems(session, config, items):
    """After each notebook's last cell, its LessonBudget item; then the heaviest scopes first, so that
    `--dist loadscope` does not leave one worker running a long class while the other has finished."""
    out, cells = [], {}
    for i, item in enumerate(items):
        out.append(item)
        if type(item).__name__ == "IPyNbCell":
            cells[item.parent.nodeid] = cells.get(item.parent.nodeid, 0) + 1
            nxt = items[i + 1] if i + 1 < len(items) else None
            if nxt is None or nxt.parent is not item.parent:
                budget = LessonBudget.from_parent(item.parent, name=f"runs within {LESSON_BUDGET_S:.0f} s")
                budget.n_cells = cells[item.parent.nodeid]
                out.append(budget)
    # The longest classes, by measurement (a lesson each, 10-45 s), first: the browser lessons (kept together: each
    # worker starts JupyterLab and Chromium once for them), then the forked runs; in each, the biggest lesson first
    # (the size of its source in lessons/ follows its run time: 10, 08, 09 are the longest). Then the notebooks under
    # nbval, the same way; the rest after.
    weight = {"test_browser.py": 0, "test_mutations.py": 1}

    def order(item):
        module = item.nodeid.split("::")[0].rsplit("/", 1)[-1]
        if module.endswith(".ipynb"):  # then the notebooks under nbval, the biggest first too
            rank, lesson = 2, module[:2]
        else:
            rank = weight.get(module, 3)
            lesson = item.nodeid.split("::TestLesson")[1][:2] if "::TestLesson" in item.nodeid else None
        sources = sorted(LESSON_SOURCES.glob(f"{lesson}_*.py")) if lesson else []
        return rank, -(sources[0].stat().st_size if sources else 0)

    items[:] = sorted(out, key=order)  # stable: each scope's items stay together and in order
