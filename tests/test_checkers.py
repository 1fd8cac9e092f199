"""Every exercise checker accepts every correct form of an answer and names the mistake in a wrong one.

A checker that rejects a correct `einsum` answer discourages a learner who got it right; one that accepts a wrong
answer teaches the mistake. For each lesson, tests/per_lesson/lesson_NN.py lists CHECKER_CASES: for every checker
an exercise calls (`exercise_N_passed = check_x(answer)`), at least two different correct answers it must accept
and at least three typical wrong ones it must reject, each with the hint it must print. The lesson's cells run in a
fork of a warm process (forked_runs.py), then tests/probes/checker_probe.py feeds the checkers in that namespace.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from conftest import LESSONS, ROOT, lesson_data, notebook_name
from forked_runs import ForkServer

PROBE = (Path(__file__).parent / "probes" / "checker_probe.py").read_text()
MIN_RIGHT, MIN_WRONG = 2, 3


@pytest.fixture(scope="module")
def forks():
    server = ForkServer()
    yield server
    server.close()


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


@pytest.mark.parametrize("lesson", LESSONS)
def test_checkers_accept_right_answers_and_name_wrong_ones(lesson, forks):
    name = notebook_name(lesson)
    cases = getattr(lesson_data(lesson), "CHECKER_CASES", [])
    if not cases:
        pytest.fail(f"{name}: no CHECKER_CASES in tests/per_lesson/lesson_{lesson}.py")
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    cells.append(PROBE + f"\n\nprobe_checkers({cases!r}, globals())\n")
    result = forks.run(cells)
    assert result["error"] is None, (
        f"{name}: code cell {result['error']['cell']} ({'the probe' if result['error']['cell'] == len(cells) - 1 else 'the lesson'}) "
        f"raised {result['error']['ename']}: {result['error']['evalue']}"
    )
