"""Break a scratch layer the way learners do and check that its notebook fails; run each lesson unmutated once,
with the Scratch-class probe and the checker probe (tests/probes/) in the same run.

A parity claim that cannot fail proves nothing. Each mutation (listed per lesson in tests/per_lesson/lesson_NN.py)
edits a lesson's scratch code (the original text must be there exactly once, so the list cannot silently go
stale), re-runs the notebook's code cells (in a fork of a warm process, see forked_runs.py: ~1 s a run instead of ~4 s through a fresh kernel),
and expects an AssertionError from one of the notebook's own parity checks. Each lesson also runs unmutated in
the same runner, and must run clean there, its GPU cells included, run on the CPU (see with_gpu_branches_on_cpu).
"""

from __future__ import annotations

import nbformat
import pytest
from conftest import LESSONS, ROOT, lesson_data, notebook_name
from forked_runs import ForkServer
from test_checkers import checker_cells
from test_scratch_refusals import probed_cells


@pytest.fixture(scope="module")
def forks():
    """One warm process per worker that runs each mutated notebook in a fork of itself (see forked_runs.py)."""
    server = ForkServer()
    yield server
    server.close()


def code_sources(name):
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


GPU_GUARD = 'if DEVICE.type == "cuda":'
# The GPU cells' code has never run where no GPU is lent (most CI machines): the unmutated run below runs it anyway,
# with the CPU standing in for the GPU (the guard forced open, torch.cuda.get_device_name stubbed), so a typo or a
# stale name in a GPU branch fails here. A GPU cell sized for a GPU gets smaller sizes here (each target must be
# found, so the list cannot go stale): STAND_IN_SIZES in tests/per_lesson/lesson_NN.py.


def with_gpu_branches_on_cpu(name, cells, stand_in_sizes=()):
    guarded = [i for i, src in enumerate(cells) if GPU_GUARD in src]
    assert guarded, f"{name}: no GPU cell (`{GPU_GUARD}`) found"
    for i in guarded:
        src = cells[i].replace(GPU_GUARD, "if True:  # the CPU stands in for the GPU")
        for old, new in stand_in_sizes:
            assert old in src, f"{name}: GPU cell size {old!r} not found (update STAND_IN_SIZES)"
            src = src.replace(old, new)
        cells[i] = "torch.cuda.get_device_name = lambda *a, **k: 'CPU standing in for a GPU'\n" + src
    return cells


def run_unmutated(forks, name, data) -> dict:
    """The lesson unmutated, GPU cells run on the CPU, with two probes in the same run: every Scratch class against
    its twin (test_scratch_refusals.py) and every exercise checker against right and wrong answers
    (test_checkers.py). One notebook run in a fork serves all three tests."""
    cells = with_gpu_branches_on_cpu(name, code_sources(name), data.STAND_IN_SIZES)
    cells, origin = probed_cells(cells, getattr(data, "COMPLETE_LAYERS", ()))
    cells += checker_cells(getattr(data, "CHECKER_CASES", []))
    origin.append(None)
    result = forks.run(cells, report=["scratch_report", "checker_report"])
    if result["error"] is not None and result["error"]["cell"] >= 0:
        where = origin[result["error"]["cell"]]
        result["error"]["cell"] = "a probe" if where is None else where
    return result


def check_unmutated(run: dict, name: str) -> None:
    assert run["error"] is None, (
        f"{name} does not run clean in the forked runner, unmutated, GPU cells run on the CPU: {run['error']}"
    )


def check_mutation(forks, name, original, broken, mistake):
    cells = code_sources(name)
    hits = [i for i, src in enumerate(cells) if original in src]
    assert len(hits) == 1 and cells[hits[0]].count(original) == 1, \
        f"{name}: mutation target {original!r} must appear exactly once (update MUTATIONS if the lesson changed)"
    cells[hits[0]] = cells[hits[0]].replace(original, broken)
    error = forks.run(cells)["error"]
    assert error is not None, f"{name} with '{mistake}' still ran through: no check caught it"
    assert error["ename"] == "AssertionError", (
        f"{name} with '{mistake}' failed in code cell {error['cell']} with {error['ename']}: {error['evalue']}, "
        "not with a parity assertion"
    )


def lesson_class(lesson: str):
    """One test class per lesson, so that `--dist loadscope` spreads the lessons over the xdist workers."""
    name = notebook_name(lesson)
    data = lesson_data(lesson)
    cases = list(data.MUTATIONS)

    class Mutations:
        @pytest.fixture(scope="class")
        @classmethod
        def unmutated(cls, forks):
            return run_unmutated(forks, name, data)

        def test_unmutated_lesson_runs_clean_gpu_cells_included_on_the_cpu(self, unmutated):
            check_unmutated(unmutated, name)

        def test_scratch_classes_match_torch_or_refuse_clearly(self, unmutated):
            check_unmutated(unmutated, name)
            report = unmutated["report"]["scratch_report"]
            assert report.startswith("ok: "), f"{name}: {report}"

        def test_checkers_accept_right_answers_and_name_wrong_ones(self, unmutated):
            check_unmutated(unmutated, name)
            assert getattr(data, "CHECKER_CASES", None), f"{name}: no CHECKER_CASES in tests/per_lesson/"
            report = unmutated["report"]["checker_report"]
            assert report.startswith("ok: "), f"{name}: {report}"

        @pytest.mark.parametrize("original, broken, mistake", cases, ids=[m[2] for m in cases])
        def test_breaking_the_scratch_layer_fails_the_notebook(self, forks, original, broken, mistake):
            check_mutation(forks, name, original, broken, mistake)

    Mutations.__name__ = Mutations.__qualname__ = f"TestLesson{lesson}"
    return Mutations


def test_every_lesson_has_mutations():
    missing = [lesson for lesson in LESSONS if not lesson_data(lesson).MUTATIONS]
    assert not missing, f"no mutation of the scratch code of lessons {missing}: add some to tests/per_lesson/lesson_NN.py"


for _lesson in LESSONS:
    globals()[f"TestLesson{_lesson}"] = lesson_class(_lesson)
