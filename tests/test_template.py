"""lessons/TEMPLATE.py, the template of a lesson source, passes every rule a lesson must pass.

It is built (as `python ci/build.py --source lessons/TEMPLATE.py` would) and run once in a fresh kernel on nbval's
CPU path, in an empty folder, within a lesson's budget; then every per-notebook check of
tests/test_notebook_rules.py (each function taking `notebook`, found by name, so a new rule applies here too) runs
on the result. Its code then runs in forks of one warm process (tests/forked_runs.py) as a lesson's does in
tests/test_mutations.py: with the Scratch-class probe, the widget probe and the checker probe (the per-lesson data
example in the template's docstring gives the checker cases) all passing, and each mutation of that example making
the template fail one of its assertions.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

import nbformat
import pytest
import test_notebook_rules as rules
import test_widget_callbacks as widget_test
from conftest import CPU_PATHS, LESSON_BUDGET_S, NBVAL_PATH, ROOT, load
from nbtools import LESSONS, build_notebook, run_in_fresh_kernel
from test_mutations import with_probes

TEMPLATE = ROOT / "lessons" / "TEMPLATE.py"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(path, notebook as stored, the run: seconds, files left, CPU path) of the template, built and run."""
    nb = build_notebook(TEMPLATE)
    lesson = run_in_fresh_kernel(nb, env=CPU_PATHS[NBVAL_PATH])
    path = tmp_path_factory.mktemp("template") / "99_template.ipynb"
    nbformat.write(nb, path)
    return path, load(path), lesson


def per_lesson_example() -> dict:
    """The tests/per_lesson/lesson_NN.py example in the template's docstring, run."""
    doc = ast.get_docstring(ast.parse(TEMPLATE.read_text()))
    block = doc.split("For this template it would be:", 1)[1]
    ns: dict = {}
    exec(textwrap.dedent(block), ns)  # noqa: S102 - the repository's own example
    return ns


def test_the_template_is_not_a_lesson():
    assert TEMPLATE.parent == LESSONS and not TEMPLATE.match("[0-9][0-9]_*.py")


def test_the_template_runs_alone(built):
    path, nb, lesson = built
    assert lesson["files"] == [], f"the template wrote files: {lesson['files']}"
    assert lesson["seconds"] <= LESSON_BUDGET_S


RULES = [f for name, f in sorted(vars(rules).items())
         if name.startswith("test_") and callable(f) and "notebook" in inspect.signature(f).parameters]


@pytest.mark.parametrize("rule", RULES, ids=[f.__name__ for f in RULES])
def test_the_template_follows_the_rule(built, rule):
    path, nb, _ = built
    marks = [m for m in getattr(rule, "pytestmark", []) if m.name == "parametrize"]
    if not marks:
        rule((path, nb))
        return
    [mark] = marks  # test_runs_alone(notebook, pattern, why)
    names = [n.strip() for n in mark.args[0].split(",")]
    for values in mark.args[1]:
        rule((path, nb), **dict(zip(names, values if len(names) > 1 else [values])))


@pytest.fixture(scope="module")
def forked(built, forks):
    """The template's code run as test_mutations.py runs a lesson's: probes around it, in a fork."""
    path, nb, _ = built
    cells = [rules.source(c) for c in rules.code_cells(nb)]
    data = per_lesson_example()
    run = forks.run(with_probes(cells, checker_cases=data["CHECKER_CASES"])[0], timeout=120,
                    report=["scratch_report", "checker_report", widget_test.REPORT])
    return cells, data, run


def test_the_template_widget_survives_every_setting(built, forked):
    path, _, _ = built
    _, _, run = forked
    assert run["error"] is None, f"the template does not run clean in the forked runner: {run['error']}"
    widget_test.check_widgets(path.name, nbformat.reads(path.read_text(), 4), run["report"][widget_test.REPORT])


def test_the_docstring_example_holds(forked, forks):
    cells, data, run = forked
    assert run["error"] is None, f"the template does not run clean in the forked runner: {run['error']}"
    for report in ("scratch_report", "checker_report"):
        assert run["report"][report].startswith("ok: "), run["report"][report]
    mutations = []
    for original, broken, mistake in data["MUTATIONS"]:
        hits = [i for i, s in enumerate(cells) if original in s]
        assert len(hits) == 1 and cells[hits[0]].count(original) == 1, f"{original!r} must appear once"
        mutations.append((hits[0], cells[hits[0]].replace(original, broken), mistake))
    answer = forks.run_mutations(cells, [(i, src) for i, src, _ in mutations], timeout=120)
    assert answer["error"] is None, answer["error"]
    for (_, _, mistake), result in zip(mutations, answer["mutations"]):
        error = result["error"]
        assert error is not None and error["ename"] == "AssertionError", \
            f"the template does not catch the mistake {mistake!r}: {error}"
