"""Run every lesson under another Python environment (another torch) and report what changes.

    python ci/check_torch.py /path/to/other/venv [NN ...]

Each notebook runs top to bottom in a fresh kernel of that environment's Python (ci/nbtools.py's runner, the one
the build uses, given that Python), in an empty folder, with errors allowed so that one failing cell does not hide
the next. The report lists, per lesson: the torch version, the cells that raised (a lesson must never raise: Run
All would stop there) and the cells whose compared outputs differ from the stored ones (as nbval compares them,
ci/output_compare.py). Differences are allowed between torch versions only where the cell says why; errors are
not. The environment needs ipykernel and the lessons' requirements; nothing is installed anywhere.
"""

from __future__ import annotations

import argparse
import copy
import subprocess
import sys
from pathlib import Path

import nbformat
from nbtools import NOTEBOOKS, run_in_fresh_kernel
from output_compare import differences


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("venv", type=Path)
    ap.add_argument("lessons", nargs="*")
    args = ap.parse_args()
    python = str(args.venv.absolute() / "bin" / "python")
    version = subprocess.run([python, "-c", "import torch; print(torch.__version__)"], capture_output=True,
                             text=True, check=True).stdout.strip()
    failed = 0
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        if args.lessons and not any(path.name.startswith(n) for n in args.lessons):
            continue
        stored = nbformat.read(path, as_version=4)
        nb = copy.deepcopy(stored)
        run_in_fresh_kernel(nb, cell_timeout=300, allow_errors=True, python=python)
        errors = [(i, o.ename, o.evalue) for i, c in enumerate(c for c in nb.cells if c.cell_type == "code")
                  for o in c.outputs if o.output_type == "error"]
        diffs = differences(stored.cells, nb.cells, limit=20)
        failed += bool(errors)
        print(f"{path.name} under torch {version}: {len(errors)} cell(s) raised, {len(diffs)} output difference(s)")
        for i, name, value in errors:
            print(f"  ERROR code cell {i}: {name}: {value[:300]}")
        for d in diffs:
            print(f"  differs: {d[:400]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
