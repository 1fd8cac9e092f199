"""Each notebook runs alone in an empty folder (as Colab opens it), without error, within its time budget."""

from __future__ import annotations

import copy
import os

import nbformat
import pytest
from conftest import NOTEBOOK_PATHS

from nbtools import execute

BUDGET_S = 30.0  # per notebook, on the 2-core CI machine (DEVELOPERS.md rule 9)


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=[p.name for p in NOTEBOOK_PATHS])
def test_runs_alone_in_an_empty_folder_within_budget(path, tmp_path, record_property):
    nb = nbformat.read(path, as_version=4)
    fresh = copy.deepcopy(nb)
    seconds = execute(fresh, cwd=str(tmp_path))  # raises CellExecutionError on the first failing cell
    record_property("seconds", round(seconds, 1))
    print(f"{path.name}: {seconds:.1f} s alone in an empty folder")
    assert seconds <= BUDGET_S, f"{path.name} took {seconds:.1f} s, over its {BUDGET_S:.0f} s budget"
    assert os.listdir(tmp_path) == [], f"{path.name} wrote files: {os.listdir(tmp_path)}"
    counts = [c.execution_count for c in fresh.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))
