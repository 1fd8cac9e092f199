"""Shared fixtures for the checks nbval cannot do."""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "ci"))
sys.path.insert(0, str(ROOT / "tests"))

from nbval_setup import CPU_PATHS, LESSON_BUDGET_S, NBVAL_ENV, NBVAL_PATH  # noqa: E402,F401 (re-exported)

NOTEBOOK_PATHS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def cpu_has_avx2() -> bool:
    try:
        return " avx2 " in open("/proc/cpuinfo").read().replace("\n", " ")  # noqa: SIM115
    except OSError:
        return False


IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


LESSONS = sorted(p.name[:2] for p in NOTEBOOK_PATHS)


def lesson_data(lesson: str):
    """tests/per_lesson/lesson_NN.py: what the generic tests need to know about lesson NN (its mutations, the
    answers its exercise checkers must accept and reject, ...), one file per lesson."""
    return importlib.import_module(f"per_lesson.lesson_{lesson}")


def notebook_name(lesson: str) -> str:
    [path] = [p for p in NOTEBOOK_PATHS if p.name.startswith(lesson + "_")]
    return path.name


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def source(cell: dict) -> str:
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def notebook_params():
    return [pytest.param(p, id=p.name) for p in NOTEBOOK_PATHS]


@pytest.fixture(params=notebook_params())
def notebook(request):
    """(path, parsed notebook) for every lesson."""
    return request.param, load(request.param)


@pytest.fixture(scope="session")
def forks():
    """One warm process per worker that runs lists of cells in forks of itself (see forked_runs.py)."""
    from forked_runs import ForkServer

    server = ForkServer(drop_env=NBVAL_ENV)
    yield server
    server.close()
