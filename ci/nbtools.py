"""Shared helpers for building and checking the lesson notebooks.

A lesson's source is a py:percent file in lessons/ (reviewable, lintable); `python ci/build.py` turns it
into notebooks/NN_topic.ipynb and executes it once, top to bottom, in a fresh kernel in an empty folder.

Cell markers in a source file (before the first one: nothing, or a docstring for contributors):
    # %% [markdown]      a markdown cell; each line starts with "# " (or is a bare "#")
    # %%                 a code cell
    # %% solution        a code cell whose source is collapsed in JupyterLab and Colab (exercise solutions)
    # %% hidden          a code cell whose source is collapsed (exercise checkers: the learner reads the verdict)
    # %% [markdown] collapsed
    #                    a markdown heading cell whose section starts collapsed ("Going deeper"): JupyterLab's
    #                    jp-MarkdownHeadingCollapsed and Colab's collapsed_sections; the heading stays visible

A markdown cell that refers to `attachment:NAME.png` gets figures/NAME.png embedded, so the diagram shows
wherever the notebook is opened alone (JupyterLab, Colab, GitHub).

The notebook runner (KernelRun, run_in_fresh_kernel, execute) is the one way a notebook is run in a fresh kernel:
by the build, by tests/test_template.py (the template built and run alone) and ci/check_torch.py (a kernel of
another Python). nbval runs the lessons in the suite with its own kernel. The mutation, checker, Scratch-probe,
widget-probe and student-copy runs take the fast path instead, tests/forked_runs.py: forks of one warm process that
has imported torch (~1 s a run instead of ~4 s through a fresh kernel), for running a lesson many times where the
kernel's messaging is not what is tested.
"""

from __future__ import annotations

import base64
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
NOTEBOOKS = ROOT / "notebooks"
FIGURES = ROOT / "figures"

ATTACHMENT_RE = re.compile(r"attachment:([A-Za-z0-9_.-]+\.(?:png|svg))")
MARKER_RE = re.compile(r"^# %%(?: \[markdown\](?: collapsed)?| solution| hidden)?\s*$")


def parse_source(text: str) -> list[dict]:
    """Split a py:percent lesson source into cells:
    [{'kind': 'markdown'|'collapsed'|'code'|'solution'|'hidden', 'source': str}].

    A source may open with a docstring (notes for contributors, e.g. lessons/TEMPLATE.py's): it is not part of
    the notebook."""
    cells: list[dict] = []
    current = None
    stripped = text.lstrip()
    if stripped.startswith(('"""', 'r"""')):
        start = stripped.index('"""') + 3
        end = stripped.find('"""', start)
        if end < 0:
            raise ValueError("the opening docstring is never closed")
        text = stripped[end + 3:]
    for line in text.splitlines():
        if MARKER_RE.match(line):
            kind = {"[markdown]": "markdown", "[markdown] collapsed": "collapsed"}.get(line[5:].strip(),
                                                                                    line[5:].strip() or "code")
            current = {"kind": kind, "lines": []}
            cells.append(current)
            continue
        if current is None:
            if line.strip():
                raise ValueError(f"text before the first '# %%' marker: {line!r}")
            continue
        if current["kind"] in ("markdown", "collapsed"):
            if line.strip() and not (line == "#" or line.startswith("# ")):
                raise ValueError(f"markdown line without '# ' prefix: {line!r}")
            line = line[2:] if line.startswith("# ") else ""
        current["lines"].append(line)
    out = []
    for c in cells:
        lines = c["lines"]
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        out.append({"kind": c["kind"], "source": "\n".join(lines)})
    return out


def figure_attachment(name: str) -> dict:
    path = FIGURES / name
    mime = "image/svg+xml" if name.endswith(".svg") else "image/png"
    data = path.read_bytes()
    return {mime: data.decode() if mime == "image/svg+xml" else base64.b64encode(data).decode("ascii")}


def build_notebook(source_path: Path) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "colab": {"provenance": [], "toc_visible": True},
    }
    collapsed = []
    for cell in parse_source(source_path.read_text()):
        if cell["kind"] in ("markdown", "collapsed"):
            c = nbformat.v4.new_markdown_cell(cell["source"])
            if cell["kind"] == "collapsed":
                if not re.match(r"#{1,6} ", cell["source"]):
                    raise ValueError(f"a collapsed markdown cell must start with a heading: {cell['source'][:60]!r}")
                c.metadata = {"jp-MarkdownHeadingCollapsed": True}
                collapsed.append(c)
            names = sorted(set(ATTACHMENT_RE.findall(cell["source"])))
            if names:
                c.attachments = {n: figure_attachment(n) for n in names}
        else:
            c = nbformat.v4.new_code_cell(cell["source"])
            if cell["kind"] == "solution":
                c.metadata = {"jupyter": {"source_hidden": True}, "cellView": "form", "tags": ["solution"]}
            elif cell["kind"] == "hidden":
                c.metadata = {"jupyter": {"source_hidden": True}, "cellView": "form"}
        nb.cells.append(c)
    # Stable cell ids, so a rebuild without changes gives the same file.
    for i, c in enumerate(nb.cells):
        c.id = f"cell-{i:03d}"
    for c in collapsed:  # Colab keeps its own list of collapsed sections, by cell id
        c.metadata["id"] = c.id
        nb.metadata["colab"].setdefault("collapsed_sections", []).append(c.id)
    return nb


# ---- the notebook runner ---------------------------------------------------------------------------------------
#
# One way to run a notebook in a fresh kernel, used by the build (execute), the template's test
# (tests/test_template.py) and ci/check_torch.py (a kernel of another Python). The mutation runs do not come here: they fork one warm process per run (tests/forked_runs.py,
# ~1 s a run instead of ~4 s through a fresh kernel), the fast path for running a lesson many times.
#
# Why not nbclient's NotebookClient.execute: its asyncio polling sometimes misses the reply to a cell that creates
# widgets and then sits out the whole cell timeout (jupyter/nbclient#312; seen here: a widget cell of 0.2 s took
# 66 s, one build 305 s). jupyter_client's blocking client reads the sockets directly, as nbval does, and has no
# such stall. What the build stores must not change, though: the outputs, the widget state (metadata.widgets,
# with the Output widget's contents, which GitHub and Colab show before anything runs) and language_info. So each
# message still goes through nbclient's public `process_message` (outputs, clear_output, display ids, widget
# comms, the Output-widget emulation) and `set_widgets_metadata`, exactly as NotebookClient.execute would; nothing
# private of nbclient is overridden. tests/test_build.py fails clearly if those methods change (and
# requirements-test.txt bounds nbclient from above).

KERNEL_START_S = 60


def _kernel_spec_manager(python: str):
    """A KernelSpecManager whose every kernel is `python -m ipykernel_launcher`: no kernelspec lookup, so a stale
    user-level 'python3' kernel can never win (as nbval's --nbval-current-env), and any Python can be the kernel."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class OnePythonKernelSpecManager(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(argv=[python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                              display_name="Python 3", language="python", metadata={"debugger": True})

    return OnePythonKernelSpecManager()


class CellTimeout(TimeoutError):
    pass


class CellError(AssertionError):
    pass


class KernelRun:
    """A fresh kernel of `python` (default: this very Python) in `cwd`, with `env` added to its environment.

        with KernelRun(cwd=tmp, env={...}) as k:
            k.run_notebook(nb)            # every code cell in order, outputs stored in nb (as the build stores them)
            outputs = k.run_cell("print(1)")
    """

    def __init__(self, python: str | None = None, cwd: str | None = None, env: dict | None = None,
                 startup_timeout: float = KERNEL_START_S):
        import os

        from jupyter_client.manager import KernelManager

        self.python = os.path.abspath(python or sys.executable)  # the kernel starts in cwd: no relative path
        self.km = KernelManager(kernel_name="python3", kernel_spec_manager=_kernel_spec_manager(self.python))
        self.km.start_kernel(cwd=cwd, extra_arguments=["--HistoryManager.hist_file=:memory:"],
                             env={**os.environ, **(env or {})})
        self.kc = self.km.blocking_client()
        try:
            self.kc.start_channels()
            self.kc.wait_for_ready(timeout=startup_timeout)
            self.language_info = self.kc.kernel_info(reply=True, timeout=startup_timeout)["content"].get(
                "language_info")
        except BaseException:
            self.close()
            raise
        self._client = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        try:
            self.kc.stop_channels()
        finally:
            self.km.shutdown_kernel(now=True)

    def processor(self, nb: nbformat.NotebookNode):
        """nbclient's message handling for nb (outputs, widget state), bound to this kernel; one per notebook."""
        if self._client is None or self._client.nb is not nb:
            from nbclient import NotebookClient

            self._client = NotebookClient(nb, km=self.km, record_timing=False)
            self._client.kc = self.kc  # the Output-widget emulation answers the kernel through it
        return self._client

    def run_cell(self, source: str, timeout: float = 600, cell: nbformat.NotebookNode | None = None,
                 index: int = 0, nb: nbformat.NotebookNode | None = None) -> list:
        """Execute one cell's source and return its outputs once the kernel is idle again (and has replied).
        `cell`: the cell whose outputs and execution count this run sets (default: a new one)."""
        from queue import Empty

        from nbclient.exceptions import CellExecutionComplete

        if cell is None:
            cell = nbformat.v4.new_code_cell(source)
        nb = nb if nb is not None else nbformat.v4.new_notebook(cells=[cell])
        client = self.processor(nb)
        cell.outputs = []
        client.clear_before_next_output = False
        msg_id = self.kc.execute(source, store_history=True, allow_stdin=False, stop_on_error=False)
        t0 = time.monotonic()
        for channel, done in ((self.kc.get_iopub_msg, "idle"), (self.kc.get_shell_msg, "reply")):
            while True:
                left = timeout - (time.monotonic() - t0)
                if left <= 0:
                    raise CellTimeout(f"cell {index} still running after {time.monotonic() - t0:.1f} s "
                                      f"(limit {timeout:g} s):\n{source[:500]}")
                try:
                    msg = channel(timeout=min(left, 1.0))
                except Empty:
                    if not self.km.is_alive():
                        raise RuntimeError(f"the kernel died while running cell {index} "
                                           f"(after {time.monotonic() - t0:.1f} s):\n{source[:500]}") from None
                    continue
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if done == "reply":
                    break
                try:
                    client.process_message(msg, cell, index)
                except CellExecutionComplete:
                    break
        return cell.outputs

    def run_notebook(self, nb: nbformat.NotebookNode, cell_timeout: float = 600, allow_errors: bool = False,
                     stop_at: int | None = None, on_stop=None) -> None:
        """Execute nb's code cells in order, in place, as the build stores them: outputs, execution counts 1..n,
        language_info and the widget state in nb.metadata. A cell that raises stops the run (CellError) unless
        allow_errors. `on_stop()` is called just before cell `stop_at` runs (what the lesson itself took, before
        cells a test appended)."""
        client = self.processor(nb)
        if self.language_info:
            nb.metadata["language_info"] = self.language_info
        count = 0
        for i, cell in enumerate(nb.cells):
            if i == stop_at and on_stop is not None:
                on_stop()
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            count += 1
            self.run_cell(cell.source, cell_timeout, cell=cell, index=i, nb=nb)
            cell.execution_count = count
            errors = [o for o in cell.outputs if o.output_type == "error"]
            if errors and not allow_errors:
                raise CellError(f"cell {i} raised {errors[0].ename}: {errors[0].evalue}\n{cell.source[:500]}")
        if stop_at is not None and stop_at >= len(nb.cells) and on_stop is not None:
            on_stop()
        client.set_widgets_metadata()
        coalesce_streams(nb)

    def cpu_capability(self) -> str:
        """The CPU kernel path torch takes in this kernel (DEFAULT, AVX2, AVX512, ...)."""
        out = self.run_cell("import torch; print(torch.backends.cpu.get_cpu_capability())", 60)
        return "".join(o.get("text", "") for o in out).strip()


def run_in_fresh_kernel(nb: nbformat.NotebookNode, cell_timeout: float = 600, allow_errors: bool = False,
                        lesson_cells: int | None = None, env: dict | None = None, python: str | None = None) -> dict:
    """Execute nb's code cells in order (outputs stored in nb, as the build stores them) in a fresh kernel of
    `python` (default: this one), in an empty temporary folder, with `env` added to the kernel's environment (e.g.
    one of tests/conftest.CPU_PATHS). Return {"seconds": how long the first `lesson_cells` cells took, kernel start
    included (all of them by default), "files": what was in the folder then, "cpu_capability": the CPU kernel path
    torch took}."""
    import os

    with tempfile.TemporaryDirectory(prefix="rnn-lesson-") as tmp:
        t0 = time.perf_counter()
        lesson = {"seconds": None, "files": None}

        def lesson_done():
            lesson.update(seconds=time.perf_counter() - t0, files=sorted(os.listdir(tmp)))

        with KernelRun(python=python, cwd=tmp, env=env) as k:
            k.run_notebook(nb, cell_timeout=cell_timeout, allow_errors=allow_errors,
                           stop_at=len(nb.cells) if lesson_cells is None else lesson_cells, on_stop=lesson_done)
            lesson["cpu_capability"] = k.cpu_capability()
    return lesson


def execute(nb: nbformat.NotebookNode, cwd: str | None = None, timeout: int = 300,
            allow_errors: bool = False, python: str | None = None, env: dict | None = None) -> float:
    """Execute nb in place in a fresh kernel (in an empty temporary folder unless cwd is given); return seconds."""
    with tempfile.TemporaryDirectory(prefix="rnn-lesson-") as tmp:
        t0 = time.perf_counter()
        with KernelRun(python=python, cwd=cwd or tmp, env=env) as k:
            k.run_notebook(nb, cell_timeout=timeout, allow_errors=allow_errors)
        return time.perf_counter() - t0


def coalesce_streams(nb: nbformat.NotebookNode) -> None:
    """Merge consecutive stream outputs of one name into one (a loaded kernel may send one print as two messages:
    the text, then "\\n"), so what is stored does not depend on the machine's load."""
    for cell in nb.cells:
        merged = []
        for out in cell.get("outputs", []):
            if (out.output_type == "stream" and merged and merged[-1].output_type == "stream"
                    and merged[-1].name == out.name):
                merged[-1].text += out.text
            else:
                merged.append(out)
        if "outputs" in cell:
            cell.outputs = merged


def notebook_for(source_path: Path) -> Path:
    return NOTEBOOKS / (source_path.stem + ".ipynb")


if __name__ == "__main__":  # pragma: no cover
    print(parse_source(Path(sys.argv[1]).read_text()))
