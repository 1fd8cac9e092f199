"""Build the lesson notebooks from their sources in ci/lessons/ and execute each once, top to bottom.

    python ci/build.py              # every lesson
    python ci/build.py 02           # lessons whose file name starts with 02
    python ci/build.py --no-execute # write the notebooks without outputs (quick look at the layout)

Each notebook runs in a fresh kernel of this Python, in an empty temporary folder (as Colab opens it), so the
stored outputs come from one in-order run (execution counts 1..n). Run `python figures/make_figures.py` first
when a diagram changed: the build embeds the committed figures as markdown attachments.
"""

from __future__ import annotations

import argparse
import sys

import nbformat

from nbtools import LESSONS, build_notebook, execute, notebook_for


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("prefix", nargs="*", help="build only lessons whose file name starts with one of these")
    ap.add_argument("--no-execute", action="store_true")
    args = ap.parse_args()
    sources = sorted(LESSONS.glob("[0-9][0-9]_*.py"))
    if args.prefix:
        sources = [s for s in sources if any(s.name.startswith(p) for p in args.prefix)]
    if not sources:
        print("no lesson source matched", file=sys.stderr)
        return 1
    for src in sources:
        nb = build_notebook(src)
        if not args.no_execute:
            seconds = execute(nb)
            print(f"{src.stem}: executed in {seconds:.1f} s")
        nbformat.write(nb, notebook_for(src))
    return 0


if __name__ == "__main__":
    sys.exit(main())
