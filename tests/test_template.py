"""lessons/TEMPLATE.py, the template of a lesson source, passes every rule a lesson must pass.

It is built (as `python ci/build.py --source lessons/TEMPLATE.py` would) and run once in a fresh kernel on the
generic CPU path, with the widget probe after it (as tests/test_widget_callbacks.py runs a lesson); then every
per-notebook check of tests/test_notebook_rules.py (each function taking `notebook`, found by name, so a new rule
applies here too) runs on the result. The per-lesson data example in the template's docstring is run as well:
each mutation must make the template fail one of its assertions and each checker case must get its verdict (in
forks of one warm process, tests/forked_runs.py), and the Scratch-class probe must pass.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

import nbformat
import pytest
import test_notebook_rules as rules
import test_widget_callbacks as widget_test
from conftest import CPU_PATHS, ROOT, load
from forked_runs import ForkServer
from nbtools import LESSONS, build_notebook
from test_checkers import checker_cells
from test_scratch_refusals import probed_cells

TEMPLATE = ROOT / "lessons" / "TEMPLATE.py"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(path, notebook as stored, widget probe summary, the lesson-alone run) of the template, built and run."""
    nb = build_notebook(TEMPLATE)
    summary, _, lesson = widget_test.run_checker(nb, env=CPU_PATHS[widget_test.ALONE_PATH])
    executed = lesson["notebook"]
    executed.cells.pop()  # the widget probe's cell
    path = tmp_path_factory.mktemp("template") / "99_template.ipynb"
    nbformat.write(executed, path)
    return path, load(path), summary, lesson


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
    path, nb, summary, lesson = built
    assert lesson["files"] == [], f"the template wrote files: {lesson['files']}"
    assert lesson["seconds"] <= widget_test.ALONE_BUDGET_S


RULES = [f for name, f in sorted(vars(rules).items())
         if name.startswith("test_") and callable(f) and "notebook" in inspect.signature(f).parameters]


@pytest.mark.parametrize("rule", RULES, ids=[f.__name__ for f in RULES])
def test_the_template_follows_the_rule(built, rule):
    path, nb, _, _ = built
    marks = [m for m in getattr(rule, "pytestmark", []) if m.name == "parametrize"]
    if not marks:
        rule((path, nb))
        return
    [mark] = marks  # test_runs_alone(notebook, pattern, why)
    names = [n.strip() for n in mark.args[0].split(",")]
    for values in mark.args[1]:
        rule((path, nb), **dict(zip(names, values if len(names) > 1 else [values])))


def test_the_template_widget_survives_every_setting(built):
    path, nb, summary, _ = built
    assert summary["widgets"] and not summary["n_failures"], widget_test.describe(summary) + str(summary["failures"])
    tested = {w["callback"] for w in summary["widgets"]}
    assert set(widget_test.widget_callbacks_in_source(nbformat.reads(path.read_text(), 4))) <= tested


def test_the_docstring_example_holds(built):
    path, nb, _, _ = built
    data = per_lesson_example()
    cells = [rules.source(c) for c in rules.code_cells(nb)]
    server = ForkServer()
    try:
        probed, _ = probed_cells(list(cells))
        run = server.run(probed + checker_cells(data["CHECKER_CASES"]), timeout=120,
                         report=["scratch_report", "checker_report"])
        assert run["error"] is None, f"the template does not run clean in the forked runner: {run['error']}"
        for report in ("scratch_report", "checker_report"):
            assert run["report"][report].startswith("ok: "), run["report"][report]
        for original, broken, mistake in data["MUTATIONS"]:
            hits = [i for i, s in enumerate(cells) if original in s]
            assert len(hits) == 1 and cells[hits[0]].count(original) == 1, f"{original!r} must appear once"
            mutated = list(cells)
            mutated[hits[0]] = mutated[hits[0]].replace(original, broken)
            error = server.run(mutated, timeout=120)["error"]
            assert error is not None and error["ename"] == "AssertionError", \
                f"the template does not catch the mistake {mistake!r}: {error}"
    finally:
        server.close()
