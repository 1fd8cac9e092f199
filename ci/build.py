"""Build the lesson notebooks from their sources in lessons/ and execute each once, top to bottom.

    python ci/build.py              # every lesson, into notebooks/
    python ci/build.py 02           # lessons whose file name starts with 02
    python ci/build.py --no-execute # write the notebooks without outputs (quick look at the layout)
    python ci/build.py 02 --out /tmp/nb   # write into another folder (notebooks/ untouched)
    python ci/build.py --source path/to/NN_topic.py --out DIR   # a source from anywhere (e.g. lessons/TEMPLATE.py)
    python ci/build.py --student    # student copies of notebooks/ (no solution cells) into student/

Each notebook runs in a fresh kernel of the project's Python, in an empty temporary folder (as Colab opens it), so
the stored outputs come from one in-order run (execution counts 1..n). Run `python figures/make_figures.py` first
when a diagram changed: the build embeds the committed figures as markdown attachments.

Any Python starts it: when it is not the project's environment (.venv, or $VENV), the build runs itself again
with that environment's Python and says so.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REEXEC_MARK = "RNN_COURSE_BUILD_REEXEC"


def project_python() -> Path:
    """The project environment's Python: $VENV/bin/python, else .venv/bin/python."""
    return Path(os.environ.get("VENV") or ROOT / ".venv") / "bin" / "python"


def ensure_project_env() -> None:
    """Run this script again under the project's Python when started by another one (say so)."""
    python = project_python()
    venv = python.parent.parent
    if os.environ.get(REEXEC_MARK) or not python.exists():
        return
    try:
        if Path(sys.prefix).resolve() == venv.resolve():
            return
    except OSError:
        return
    print(f"build.py: {sys.executable} is not the project's environment; running again with {python}",
          file=sys.stderr, flush=True)
    os.environ[REEXEC_MARK] = "1"
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


def main(argv: list[str] | None = None) -> int:
    import argparse

    import nbformat
    from nbtools import LESSONS, NOTEBOOKS, build_notebook, execute

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("prefix", nargs="*", help="build only lessons whose file name starts with one of these")
    ap.add_argument("--no-execute", action="store_true", help="write the notebooks without running them")
    ap.add_argument("--out", type=Path, help="write the notebooks into this folder instead of notebooks/ "
                    "(with --student: instead of student/)")
    ap.add_argument("--source", type=Path, action="append", default=[],
                    help="build this source file (repeatable) instead of the lessons in lessons/")
    ap.add_argument("--student", action="store_true",
                    help="write student copies of notebooks/ (solution cells removed) into student/")
    args = ap.parse_args(argv)

    if args.student:
        import student

        return student.main(args.prefix, out=args.out)

    sources = args.source or sorted(LESSONS.glob("[0-9][0-9]_*.py"))
    if args.prefix:
        sources = [s for s in sources if any(s.name.startswith(p) for p in args.prefix)]
    if not sources:
        print("no lesson source matched", file=sys.stderr)
        return 1
    out = args.out or NOTEBOOKS
    out.mkdir(parents=True, exist_ok=True)
    for src in sources:
        nb = build_notebook(src)
        if not args.no_execute:
            seconds = execute(nb)
            print(f"{src.stem}: executed in {seconds:.1f} s")
        nbformat.write(nb, out / (src.stem + ".ipynb"))
    return 0


if __name__ == "__main__":
    ensure_project_env()
    sys.exit(main())
