"""Student copies of the lessons: each notebook without its solution cells, ready to hand out.

    python ci/build.py --student          # every lesson, into student/ (git-ignored)
    python ci/build.py --student 03 05    # some lessons
    python ci/build.py --student --out DIR

A student copy is the committed notebook (notebooks/NN_topic.ipynb) less every cell tagged "solution" (with its
stored outputs) and less the "Solutions" heading those cells sat under when nothing else is left in its section.
Everything else stays as the learner would get it from notebooks/: the exercise stubs, the hidden checker cells
(so the learner's work is still checked: exercise_N_passed = check_x(answer) prints the verdict), the stored outputs
of the other cells (from a run with the exercises unanswered), collapsed sections and embedded figures. Execution
counts stay 1..n: the solution cells come last, after every other code cell, in each lesson.
"""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
STUDENT = ROOT / "student"
SOLUTION_TAG = "solution"
SOLUTIONS_HEADING = re.compile(r"^#{1,6}\s+.*\bsolutions?\b", re.I)


def is_solution(cell) -> bool:
    return cell.cell_type == "code" and SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def heading_level(cell) -> int | None:
    if cell.cell_type != "markdown":
        return None
    m = re.match(r"(#{1,6})\s", cell.source.lstrip())
    return len(m.group(1)) if m else None


def student_copy(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """nb without its solution cells (and an emptied "Solutions" section's heading cell)."""
    nb = copy.deepcopy(nb)
    keep = [not is_solution(c) for c in nb.cells]
    for i, cell in enumerate(nb.cells):
        level = heading_level(cell)
        if level is None or not SOLUTIONS_HEADING.match(cell.source.lstrip()):
            continue
        section = []  # the cells under this heading, down to the next heading of the same or a higher level
        for later in nb.cells[i + 1:]:
            lv = heading_level(later)
            if lv is not None and lv <= level:
                break
            section.append(later)
        if section and all(is_solution(c) for c in section):
            keep[i] = False
    removed = {c.id for c, k in zip(nb.cells, keep) if not k and "id" in c}
    nb.cells = [c for c, k in zip(nb.cells, keep) if k]
    colab = nb.metadata.get("colab")
    if colab and "collapsed_sections" in colab:
        colab["collapsed_sections"] = [i for i in colab["collapsed_sections"] if i not in removed]
    return nb


def main(prefixes: list[str] | None = None, out: Path | None = None) -> int:
    out = out or STUDENT
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if prefixes:
        paths = [p for p in paths if any(p.name.startswith(x) for x in prefixes)]
    if not paths:
        print("no lesson notebook matched", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        copy_ = student_copy(nb)
        nbformat.write(copy_, out / path.name)
        gone = len(nb.cells) - len(copy_.cells)
        print(f"{out / path.name}: {gone} solution cell(s) removed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
