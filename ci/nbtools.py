"""Shared helpers for building and checking the lesson notebooks.

A lesson's source is a py:percent file in ci/lessons/ (reviewable, lintable); `python ci/build.py` turns it
into notebooks/NN_topic.ipynb and executes it once, top to bottom, in a fresh kernel in an empty folder.

Cell markers in a source file:
    # %% [markdown]      a markdown cell; each line starts with "# " (or is a bare "#")
    # %%                 a code cell
    # %% solution        a code cell whose source is collapsed in JupyterLab and Colab (exercise solutions)
    # %% hidden          a code cell whose source is collapsed (exercise checkers: the learner reads the verdict)
    # %% [markdown] collapsed
    #                    a markdown heading cell whose section starts collapsed ("Going deeper"): JupyterLab's
    #                    jp-MarkdownHeadingCollapsed and Colab's collapsed_sections; the heading stays visible

A markdown cell that refers to `attachment:NAME.png` gets figures/NAME.png embedded, so the diagram shows
wherever the notebook is opened alone (JupyterLab, Colab, GitHub).
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
LESSONS = ROOT / "ci" / "lessons"
NOTEBOOKS = ROOT / "notebooks"
FIGURES = ROOT / "figures"

ATTACHMENT_RE = re.compile(r"attachment:([A-Za-z0-9_.-]+\.(?:png|svg))")
MARKER_RE = re.compile(r"^# %%(?: \[markdown\](?: collapsed)?| solution| hidden)?\s*$")


def parse_source(text: str) -> list[dict]:
    """Split a py:percent lesson source into cells:
    [{'kind': 'markdown'|'collapsed'|'code'|'solution'|'hidden', 'source': str}]."""
    cells: list[dict] = []
    current = None
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


def _current_env_kernel_manager_class():
    """A KernelManager that runs this very Python (as nbval's --nbval-current-env does): no kernelspec
    lookup, so a stale user-level 'python3' kernel can never win."""
    from jupyter_client.manager import AsyncKernelManager
    from nbval.kernel import NbvalKernelspecManager
    from traitlets import default

    class CurrentEnvKernelManager(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self):
            return NbvalKernelspecManager(data_dir=self.data_dir)

    return CurrentEnvKernelManager


def _notebook_client_class():
    """nbclient's NotebookClient, polling for each cell's reply in short waits.

    nbclient can miss the reply to a cell that creates widgets and then sits out the whole cell timeout
    (jupyter/nbclient#312; seen here: 66 s instead of 6 s, one build 305 s). Asking again every second finds it.
    """
    import asyncio
    from queue import Empty

    from jupyter_core.utils import ensure_async
    from nbclient import NotebookClient

    class Client(NotebookClient):
        async def _async_poll_for_reply(self, msg_id, cell, timeout, task_poll_output_msg, task_poll_kernel_alive):
            deadline = None if timeout is None else time.monotonic() + timeout
            while deadline is None or time.monotonic() < deadline:
                wait = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
                try:
                    msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=wait))
                except Empty:
                    continue
                if msg["parent_header"].get("msg_id") == msg_id:
                    try:
                        await asyncio.wait_for(task_poll_output_msg, self.iopub_timeout)
                    except (asyncio.TimeoutError, Empty):
                        self.log.warning("Timeout waiting for IOPub output")
                    task_poll_kernel_alive.cancel()
                    return msg
            # A real timeout: let nbclient report it as it always does.
            return await super()._async_poll_for_reply(msg_id, cell, 0, task_poll_output_msg, task_poll_kernel_alive)

    return Client


def execute(nb: nbformat.NotebookNode, cwd: str | None = None, timeout: int = 300,
            allow_errors: bool = False) -> float:
    """Execute nb in place in a fresh kernel (in an empty temporary folder unless cwd is given); return seconds."""
    NotebookClient = _notebook_client_class()

    with tempfile.TemporaryDirectory(prefix="rnn-lesson-") as tmp:
        from nbval.kernel import CURRENT_ENV_KERNEL_NAME

        client = NotebookClient(
            nb, timeout=timeout, allow_errors=allow_errors, record_timing=False,
            resources={"metadata": {"path": cwd or tmp}},
            kernel_name=CURRENT_ENV_KERNEL_NAME,
            kernel_manager_class=_current_env_kernel_manager_class(),
        )
        t0 = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - t0
    coalesce_streams(nb)
    return seconds


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
