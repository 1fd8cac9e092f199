"""The student copy (`python ci/build.py --student`, ci/student.py): each lesson without its solution cells.

No solution text may be left in it, and its exercise checks must stay. It must also run top to bottom with the
exercises unanswered (no cell raises; the hidden checkers still judge, and say "not done yet": every
`exercise_N_passed` is False): that run is the unmutated run of tests/test_mutations.py's request, which runs the
lesson's code cells in order and reports the flags when it reaches the solutions (the student copy is exactly the
cells before them, which that test checks): test_student_copy_runs_with_the_exercises_unanswered there.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from conftest import NOTEBOOK_PATHS, ROOT
from student import is_solution, student_copy

EXERCISE_RE = re.compile(r"^(exercise_\d+_passed)\s*=\s*check_\w+\(", re.M)


def solution_lines(nb) -> set[str]:
    """Lines of the solution cells (12 characters or more) that no other cell holds: what must not be left in a
    student copy."""
    others = "\n".join(c.source for c in nb.cells if not is_solution(c))
    return {ln.strip() for c in nb.cells if is_solution(c) for ln in c.source.splitlines()
            if len(ln.strip()) >= 12 and ln.strip() not in others}


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=[p.name for p in NOTEBOOK_PATHS])
def test_student_copy_holds_no_solution(path):
    nb = nbformat.read(path, as_version=4)
    copy_ = student_copy(nb)
    assert any(is_solution(c) for c in nb.cells), f"{path.name}: no solution cell to remove"
    assert not any(is_solution(c) for c in copy_.cells), f"{path.name}: a solution cell is left in the student copy"
    text = nbformat.writes(copy_)
    left = sorted(ln for ln in solution_lines(nb) if ln in text)
    assert not left, f"{path.name}: solution text left in the student copy: {left[:5]}"

    cells = [c.source for c in copy_.cells if c.cell_type == "code"]
    assert EXERCISE_RE.search("\n".join(cells)), \
        f"{path.name}: no `exercise_N_passed = check_x(...)` cell left: the learner's work is not checked"


def test_student_command_writes_the_copies(tmp_path):
    """`python ci/build.py --student NN --out DIR` (called in this process: tests/test_build.py shows that the
    command finds the project's environment by itself)."""
    import build

    path = NOTEBOOK_PATHS[0]
    assert build.main(["--student", path.name[:2], "--out", str(tmp_path)]) == 0
    [written] = tmp_path.glob("*.ipynb")
    assert written.name == path.name
    nb = nbformat.read(written, as_version=4)
    assert nb.cells and not any(is_solution(c) for c in nb.cells)
    assert "student/" in (ROOT / ".gitignore").read_text().split(), "student/ must be git-ignored"
