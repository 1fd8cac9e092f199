"""The hooks that must reach nbval's notebook items as well as tests/ (a conftest in tests/ reaches only the items
under tests/): nbval's CPU path and each notebook's time budget. The code and why: tests/nbval_setup.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))

from nbval_setup import pytest_collection_modifyitems, pytest_runtest_logreport  # noqa: E402,F401  (hooks)
