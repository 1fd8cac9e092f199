"""Break a scratch layer the way learners do and check that its notebook fails; run each lesson unmutated once,
with the Scratch-class probe, the checker probe and the widget probe (tests/probes/) in the same run.

A parity claim that cannot fail proves nothing. Each mutation (listed per lesson in tests/per_lesson/lesson_NN.py)
edits a lesson's scratch code (the original text must be there exactly once, so the list cannot silently go
stale), runs the notebook's code cells from the mutated cell on, from the state an unmutated run has just before
it (forks of a warm process, see forked_runs.py: a fraction of a second for most mutations instead of a whole run),
and expects an AssertionError from one of the notebook's own parity checks. Each lesson also runs unmutated in
the same runner, alone in an empty folder (nothing of the repository importable), and must run clean there and
leave no file; each GPU cell is run on the CPU too, in a fork from the state before it (see
with_gpu_branches_on_cpu).
"""

from __future__ import annotations

import nbformat
import pytest
from conftest import LESSONS, ROOT, lesson_data, notebook_name
from student import student_copy
from test_checkers import checker_cells
from test_scratch_refusals import probed_cells
from test_student_copy import EXERCISE_RE
from test_widget_callbacks import REPORT as WIDGET_REPORT
from test_widget_callbacks import check_widgets, probe_cell


def code_sources(name):
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


GPU_GUARD = 'if DEVICE.type == "cuda":'
# The GPU cells' code has never run where no GPU is lent (most CI machines): run_lesson runs it anyway, in a fork
# from the state before each GPU cell, with the CPU standing in for the GPU (the guard forced open,
# torch.cuda.get_device_name stubbed), then the rest of the lesson, so a typo or a stale name in a GPU branch
# fails here. A GPU cell sized for a GPU gets smaller sizes here (each target must be
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


def check_unmutated(run: dict, name: str) -> None:
    assert run["error"] is None, f"{name} does not run clean alone in the forked runner, unmutated: {run['error']}"


def student_cut(name) -> tuple[int, list[str], list[str]]:
    """(k, the exercise flags, the student copy's code cells): the student copy (ci/student.py) is the lesson
    without its solution cells, and those come last, so its code is the lesson's first k code cells; the unmutated
    run of the mutation request runs exactly that before it reaches the solutions."""
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    copy_cells = [c.source for c in student_copy(nb).cells if c.cell_type == "code"]
    flags = sorted(set(EXERCISE_RE.findall("\n".join(copy_cells))))
    return len(copy_cells), flags, copy_cells


def with_probes(plain: list[str], complete=(), checker_cases=()) -> tuple[list[str], list[int | None]]:
    """The lesson's code cells with the three probes around them, and for each cell the index of the lesson's own
    cell (None: a probe's): the Scratch-class probe (collects after each cell that defines a Scratch class, checks
    at the end), the widget probe after the lesson's last cell, the checker probe last."""
    cells, origin = probed_cells(list(plain), complete)
    cells.insert(-1, probe_cell())  # after the lesson, before the Scratch probe's verdict
    origin.insert(-1, None)
    return cells + checker_cells(checker_cases), origin + [None]


def run_lesson(forks, name, data, cases) -> dict:
    """One request to the fork server (forked_runs.py) for everything this module checks of a lesson.

    The unmutated run: the lesson's code cells in order, as a CPU machine runs them, in an empty folder, with three
    probes: every Scratch class collected after the cell that defines it and checked against its twin at the end
    (test_scratch_refusals.py), every widget callback over its settings after the lesson's last cell
    (test_widget_callbacks.py), and every exercise checker against right and wrong answers (test_checkers.py).
    The probes only collect until the lesson has run, so the run's state before each lesson cell is what a plain
    run has. Just before each mutated cell it forks once per mutation, and that fork runs the mutated cell and the
    rest of the lesson (no probes), from exactly that state; so does each GPU cell with its guard forced open
    (with_gpu_branches_on_cpu), as a GPU machine would run it. A mutation whose target is not found exactly once
    is not run (its test says so). The unmutated run is also the student copy's: "student" holds its error and the
    exercise flags as they stand when it reaches the solutions (the student copy is the lesson's code cells before
    them, check_student_copy)."""
    plain = code_sources(name)
    on_gpu = with_gpu_branches_on_cpu(name, list(plain), data.STAND_IN_SIZES)
    cells, origin = with_probes(plain, getattr(data, "COMPLETE_LAYERS", ()), getattr(data, "CHECKER_CASES", []))
    at = {i: j for j, i in enumerate(origin) if i is not None}  # a lesson cell's index in the probed run
    cut, flags, _ = student_cut(name)
    cut_at = at.get(cut, len(cells))
    runnable, results = [], {}
    for case in cases:
        original, broken, _ = case
        hits = [i for i, src in enumerate(plain) if original in src]
        if len(hits) == 1 and plain[hits[0]].count(original) == 1:
            runnable.append((case, at[hits[0]], plain[hits[0]].replace(original, broken)))
        else:
            results[tuple(case)] = "target"
    gpu = [(at[i], src) for i, src in enumerate(on_gpu) if src != plain[i]]
    # A fork runs the rest of the lesson as a CPU machine would (no probes): only the lesson's own assertions, as
    # nbval runs them, may catch a mutation.
    rest = [plain[i] if i is not None else "pass" for i in origin]
    answer = forks.run_mutations(cells, [(j, src) for _, j, src in runnable] + gpu, report_before=(cut_at, flags),
                                 report=["scratch_report", "checker_report", WIDGET_REPORT], rest=rest)

    def lesson_cell(error):  # the probed run's cell index → the lesson's code cell (or "a probe")
        if error is not None and isinstance(error.get("cell"), int) and error["cell"] >= 0:
            error = {**error, "at": error["cell"], "cell": "a probe" if origin[error["cell"]] is None
                     else origin[error["cell"]]}
        return error

    forked = answer["mutations"]
    for (case, _, _), result in zip(runnable, forked):
        results[tuple(case)] = {**result, "error": lesson_cell(result["error"])}
    results["gpu"] = [{"cell": origin[j], "error": lesson_cell(r["error"])}
                      for (j, _), r in zip(gpu, forked[len(runnable):])]
    results["unmutated"] = {"error": lesson_cell(answer["error"]), "report": answer.get("report"),
                            "files": answer.get("files")}
    results["student"] = {"error": answer["error"], "cut": cut_at, "flags": answer.get("report_before")}
    return results


def check_student_copy(results, name) -> None:
    cut, flags, copy_cells = student_cut(name)
    assert copy_cells == code_sources(name)[:cut], \
        f"{name}: the student copy must be the lesson minus its solution cells, and those must come last"
    assert flags, f"{name}: no `exercise_N_passed = check_x(...)` cell left: the learner's work is not checked"
    run = results["student"]
    error = run["error"]
    assert error is None or error["cell"] >= run["cut"], \
        f"{name}: the student copy raises with the exercises unanswered: {error}"
    assert run["flags"] is not None, f"{name}: the run never reached the end of the student copy"
    answered = {k: v for k, v in run["flags"].items() if v != "False"}
    assert not answered, f"{name}: unanswered exercises must not pass their checkers: {answered}"


def check_mutation(results, name, original, broken, mistake):
    result = results[(original, broken, mistake)]
    assert result != "target", \
        f"{name}: mutation target {original!r} must appear exactly once (update MUTATIONS if the lesson changed)"
    error = result["error"]
    assert error is not None, f"{name} with '{mistake}' still ran through: no check caught it"
    assert error["ename"] == "AssertionError", (
        f"{name} with '{mistake}' failed in code cell {error['cell']} with {error['ename']}: {error['evalue']}, "
        "not with a parity assertion"
    )


def ascii_id(text: str) -> str:
    """A test id in plain ASCII: pytest writes other characters as escapes (− becomes \\u2212), and then
    `-k 12` would pick a mutation of another lesson."""
    return "".join(ch if ch.isascii() else "?" for ch in text)


def lesson_class(lesson: str):
    """One test class per lesson, so that `--dist loadscope` spreads the lessons over the xdist workers."""
    name = notebook_name(lesson)
    data = lesson_data(lesson)
    cases = list(data.MUTATIONS)

    class Mutations:
        @pytest.fixture(scope="class")
        @classmethod
        def mutated(cls, forks):
            return run_lesson(forks, name, data, cases)

        @pytest.fixture(scope="class")
        @classmethod
        def unmutated(cls, mutated):
            return mutated["unmutated"]

        def test_student_copy_runs_with_the_exercises_unanswered(self, mutated):
            check_student_copy(mutated, name)

        def test_unmutated_lesson_runs_alone_and_clean(self, unmutated):
            check_unmutated(unmutated, name)

        def test_writes_no_file(self, unmutated):
            check_unmutated(unmutated, name)
            assert unmutated["files"] == [], f"{name} left files in its folder: {unmutated['files']}"

        def test_gpu_cells_run_on_the_cpu_standing_in(self, mutated):
            assert mutated["gpu"], f"{name}: no GPU cell was run"
            for run in mutated["gpu"]:
                assert run["error"] is None, (
                    f"{name}: GPU cell (code cell {run['cell']}) run on the CPU standing in for a GPU, then the rest "
                    f"of the lesson: {run['error']}")

        def test_every_widget_callback_survives_every_setting(self, unmutated, record_property):
            check_unmutated(unmutated, name)
            nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
            check_widgets(name, nb, unmutated["report"][WIDGET_REPORT], record_property)

        def test_scratch_classes_match_torch_or_refuse_clearly(self, unmutated):
            check_unmutated(unmutated, name)
            report = unmutated["report"]["scratch_report"]
            assert report.startswith("ok: "), f"{name}: {report}"

        def test_checkers_accept_right_answers_and_name_wrong_ones(self, unmutated):
            check_unmutated(unmutated, name)
            assert getattr(data, "CHECKER_CASES", None), f"{name}: no CHECKER_CASES in tests/per_lesson/"
            report = unmutated["report"]["checker_report"]
            assert report.startswith("ok: "), f"{name}: {report}"

        @pytest.mark.parametrize("original, broken, mistake", cases, ids=[ascii_id(m[2]) for m in cases])
        def test_breaking_the_scratch_layer_fails_the_notebook(self, mutated, original, broken, mistake):
            check_mutation(mutated, name, original, broken, mistake)

    Mutations.__name__ = Mutations.__qualname__ = f"TestLesson{lesson}"
    return Mutations


def test_every_lesson_has_mutations():
    missing = [lesson for lesson in LESSONS if not lesson_data(lesson).MUTATIONS]
    assert not missing, f"no mutation of the scratch code of lessons {missing}: add some to tests/per_lesson/lesson_NN.py"


for _lesson in LESSONS:
    globals()[f"TestLesson{_lesson}"] = lesson_class(_lesson)
