"""The lesson-source format that ci/build.py reads."""

from __future__ import annotations

import nbformat
import pytest

from nbtools import parse_source


def test_parse_cells_of_each_kind():
    text = "# %% [markdown]\n# # Title\n#\n# text\n\n# %%\nx = 1\n\n\n# %% solution\ny = 2\n# %% hidden\nz = 3\n"
    assert parse_source(text) == [
        {"kind": "markdown", "source": "# Title\n\ntext"},
        {"kind": "code", "source": "x = 1"},
        {"kind": "solution", "source": "y = 2"},
        {"kind": "hidden", "source": "z = 3"},
    ]


def test_collapsed_sections_are_collapsed_in_jupyterlab_and_colab(tmp_path):
    from nbtools import build_notebook

    src = tmp_path / "99_demo.py"
    src.write_text("# %% [markdown]\n# # Title\n\n# %% [markdown] collapsed\n# ## Going deeper\n\n# %%\nx = 1\n")
    nb = build_notebook(src)
    deeper = nb.cells[1]
    assert deeper.metadata["jp-MarkdownHeadingCollapsed"] is True
    assert nb.metadata["colab"]["collapsed_sections"] == [deeper.id]
    assert "jp-MarkdownHeadingCollapsed" not in nb.cells[0].metadata
    src.write_text("# %% [markdown] collapsed\n# not a heading\n")
    with pytest.raises(ValueError):
        build_notebook(src)


def test_an_opening_docstring_is_not_part_of_the_notebook():
    text = '"""Notes for contributors.\n\n    # %% not a marker here\n"""\n\n# %%\nx = 1\n'
    assert parse_source(text) == [{"kind": "code", "source": "x = 1"}]


@pytest.mark.parametrize("text", ["x = 1\n# %%\n", "# %% [markdown]\nnot a comment\n", '"""never closed\n# %%\n'])
def test_malformed_sources_are_refused(text):
    with pytest.raises(ValueError):
        parse_source(text)


# ---- the notebook runner (ci/nbtools.py) ---------------------------------------------------------------------------

NBCLIENT_API = {  # what the runner uses of nbclient: public methods and the Output-widget emulation
    "NotebookClient.process_message": ["self", "msg", "cell", "cell_index"],
    "NotebookClient.set_widgets_metadata": ["self"],
    "NotebookClient.reset_execution_trackers": ["self"],
    "OutputWidget.__init__": ["self", "comm_id", "state", "kernel_client", "executor"],
}


def test_nbclient_still_has_what_the_runner_uses():
    """ci/nbtools.py's KernelRun feeds every message to nbclient's NotebookClient.process_message (outputs, widget
    state, the Output-widget emulation) and stores the widget state with set_widgets_metadata: if nbclient changes
    them, this fails first, by name (requirements-test.txt bounds nbclient from above for the same reason)."""
    import inspect

    import nbclient
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionComplete  # noqa: F401 - raised by process_message at "idle"
    from nbclient.output_widget import OutputWidget

    classes = {"NotebookClient": NotebookClient, "OutputWidget": OutputWidget}
    for name, want in NBCLIENT_API.items():
        cls, meth = name.split(".")
        got = list(inspect.signature(getattr(classes[cls], meth)).parameters)
        assert got == want, (f"nbclient {nbclient.__version__}: {name}{tuple(got)} is not {name}{tuple(want)}, "
                             "which ci/nbtools.py KernelRun relies on: adapt KernelRun (or pin nbclient lower)")
    client = NotebookClient(nbformat.v4.new_notebook())
    for attr in ("output_hook_stack", "widget_state", "kc"):  # (clear_before_next_output: KernelRun sets it per cell)
        assert hasattr(client, attr), f"nbclient {nbclient.__version__}: NotebookClient lost .{attr}, used by KernelRun"


def test_the_runner_stores_what_the_build_stores():
    """One kernel, the runner's every duty: streams coalesced, execution counts 1..n (an empty cell skipped, as
    nbclient skips it), clear_output(wait=True) as a front end does it, display ids updated, a widget's state and its
    Output widget's contents in metadata.widgets, an error stops the run, a timeout says how long it ran."""
    from nbtools import CellError, CellTimeout, KernelRun

    cells = ["import sys\nprint('a', end='')\nprint('b')\nsys.stdout.flush()\nprint('c')",
             "",
             "from IPython.display import clear_output, display\nprint('gone')\nclear_output(wait=True)\nprint('kept')",
             "h = display('old', display_id=True)\nh.update('new')",
             "import ipywidgets as w\nout = w.Output()\nwith out:\n    print('inside')\nout",
             "1 / 0",
             "print('never')"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    with KernelRun() as k:
        with pytest.raises(CellError, match="cell 5 raised ZeroDivisionError"):
            k.run_notebook(nb, cell_timeout=60)
        k.run_notebook(nb, cell_timeout=60, allow_errors=True)
        assert [c.execution_count for c in nb.cells] == [1, None, 2, 3, 4, 5, 6]
        assert [(o.output_type, o.get("text")) for o in nb.cells[0].outputs] == [("stream", "ab\nc\n")]
        assert [o.get("text") for o in nb.cells[2].outputs] == ["kept\n"]
        assert [o.data["text/plain"] for o in nb.cells[3].outputs] == ["'new'"]
        assert nb.cells[5].outputs[0].output_type == "error"
        state = nb.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
        shown = [s["state"]["outputs"] for s in state.values() if s["model_name"] == "OutputModel"]
        assert [{"output_type": "stream", "name": "stdout", "text": "inside\n"}] in shown, shown
        assert nb.metadata.language_info["name"] == "python"
        with pytest.raises(CellTimeout, match=r"still running after 1\.\d s \(limit 1 s\)"):
            k.run_cell("import time\ntime.sleep(3)", timeout=1)


def test_the_runner_takes_any_python():
    from nbtools import _kernel_spec_manager

    spec = _kernel_spec_manager("/some/other/venv/bin/python").get_kernel_spec("python3")
    assert spec.argv[:3] == ["/some/other/venv/bin/python", "-m", "ipykernel_launcher"]


def test_build_finds_the_project_environment(tmp_path):
    """`python ci/build.py` started by another Python runs itself again with the project's (and says so)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    base = Path(sys.base_prefix) / "bin" / "python3"
    if not base.exists() or Path(sys.prefix).resolve() == Path(sys.base_prefix).resolve():
        pytest.skip("the tests do not run in a virtual environment: no other Python to start the build with")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "RNN_COURSE_BUILD_REEXEC")}
    env["VENV"] = sys.prefix
    src = tmp_path / "99_demo.py"
    src.write_text("# %% [markdown]\n# # Demo\n\n# %%\nx = 1\n")
    done = subprocess.run([str(base), str(root / "ci" / "build.py"), "--no-execute", "--source", str(src),
                           "--out", str(tmp_path)], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"running again with {Path(sys.prefix) / 'bin' / 'python'}" in done.stderr
    assert (tmp_path / "99_demo.ipynb").exists()
