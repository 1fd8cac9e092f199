"""Every exercise checker accepts every correct form of an answer and names the mistake in a wrong one.

A checker that rejects a correct `einsum` answer discourages a learner who got it right; one that accepts a wrong
answer teaches the mistake. For each lesson, tests/per_lesson/lesson_NN.py lists CHECKER_CASES: for every checker
an exercise calls (`exercise_N_passed = check_x(answer)`), at least two different correct answers it must accept
and at least three typical wrong ones it must reject, each with the hint it must print. The lesson's cells run once
in a fork of a warm process (the unmutated run of tests/test_mutations.py, which also probes the Scratch classes),
then tests/probes/checker_probe.py feeds the checkers in that namespace
(test_mutations.py::TestLessonNN::test_checkers_accept_right_answers_and_name_wrong_ones). The test below checks
that every checker has its cases; the last ones show that the probe itself can fail.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from conftest import LESSONS, ROOT, lesson_data, notebook_name

PROBE = (Path(__file__).parent / "probes" / "checker_probe.py").read_text()
MIN_RIGHT, MIN_WRONG = 2, 3


def exercise_checkers(name: str) -> list[str]:
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    src = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return sorted(set(re.findall(r"^exercise_\w+ = (check_\w+)\(", src, re.M)))


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_checker_has_right_and_wrong_answers(lesson):
    name = notebook_name(lesson)
    cases = getattr(lesson_data(lesson), "CHECKER_CASES", [])
    checkers = exercise_checkers(name)
    assert checkers, f"{name}: no exercise checker found (`exercise_N_passed = check_x(answer)`)"
    right = Counter(c for c, _, expected in cases if expected is True)
    wrong = Counter(c for c, _, expected in cases if expected is not True)
    short = [f"{c}: {right[c]} right, {wrong[c]} wrong" for c in checkers
             if right[c] < MIN_RIGHT or wrong[c] < MIN_WRONG]
    assert not short, (f"{name}: each checker needs ≥ {MIN_RIGHT} correct and ≥ {MIN_WRONG} wrong answers in "
                       f"tests/per_lesson/lesson_{lesson}.py CHECKER_CASES: {short}")
    unknown = sorted({c for c, _, _ in cases} - set(checkers))
    assert not unknown, f"CHECKER_CASES name checkers that {name} has no exercise for: {unknown}"


def checker_cells(cases) -> list[str]:
    """The probe as one more cell; its verdict left in `checker_report` ("ok: …" or "FAILED: …")."""
    return [PROBE + "\n\ntry:\n    checker_report = 'ok: ' + str(probe_checkers(" + repr(list(cases)) + ", globals()))"
            " + ' cases'\nexcept AssertionError as _probe_error:\n    checker_report = f'FAILED: {_probe_error}'\n"]


CHECKER = """
def check_double(fn):
    try:
        got = fn(3)
    except Exception as err:
        print(f"✗ raised {err}")
        return False
    if got != 6:
        print("✗ double 3 is 6" + (": you added 2" if got == 5 else ""))
        return False
    print("✓")
    return True
"""


@pytest.mark.parametrize("cases, verdict", [
    ([("check_double", "answer = lambda x: 2 * x", True), ("check_double", "answer = lambda x: x + 2", "added 2")],
     "ok: 2 cases"),
    ([("check_double", "answer = lambda x: x + x + 1", True)], "rejected a correct answer"),
    ([("check_double", "answer = lambda x: x * 2", "added 2")], "accepted a wrong answer"),
    ([("check_double", "answer = lambda x: x + 2", "forgot")], "did not name the mistake"),
])
def test_the_probe_can_fail(cases, verdict, forks):
    result = forks.run([CHECKER] + checker_cells(cases), report=["checker_report"])
    assert result["error"] is None and verdict in result["report"]["checker_report"], result
