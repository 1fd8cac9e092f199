"""The rules of a lesson notebook (README.md, "Contributing a lesson") that nbval itself cannot check."""

from __future__ import annotations

import ast
import re
import sys

import pytest
from conftest import NOTEBOOK_PATHS, ROOT, code_cells, load, source

MARKERS = ("NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP", "NBVAL_RAISES_EXCEPTION", "NBVAL_CHECK_OUTPUT")
# Import names that requirements.txt provides (IPython is the kernel that every Jupyter and Colab runs).
ALLOWED_IMPORTS = {"torch", "numpy", "matplotlib", "ipywidgets", "IPython"}


def test_there_are_lessons():
    assert NOTEBOOK_PATHS, "expected the lesson notebooks in notebooks/"


def test_file_names_are_numbered_and_unique():
    numbers = []
    for p in NOTEBOOK_PATHS:
        assert re.fullmatch(r"\d\d_[a-z0-9]+(_[a-z0-9]+)*\.ipynb", p.name), f"{p.name}: name it NN_topic.ipynb"
        numbers.append(p.name[:2])
    assert len(numbers) == len(set(numbers)), f"two lessons share a number: {numbers}"
    assert not [p for p in (ROOT / "notebooks").iterdir() if p.suffix not in (".ipynb",)], \
        "notebooks/ holds only lesson notebooks (a lesson reads no data file)"


def test_outputs_stored_from_one_in_order_run(notebook):
    path, nb = notebook
    counts = [c["execution_count"] for c in code_cells(nb)]
    assert None not in counts, f"{path.name}: {counts.count(None)} code cell(s) never executed: run ci/build.py"
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: execution counts are not 1..n in order"
    assert any(c["outputs"] for c in code_cells(nb)), f"{path.name}: no code cell has stored output"


def test_no_stored_errors_or_stderr(notebook):
    path, nb = notebook
    for i, c in enumerate(code_cells(nb)):
        for o in c["outputs"]:
            assert o["output_type"] != "error", f"{path.name} code cell {i}: stored error: Run All would stop here"
            assert not (o["output_type"] == "stream" and o["name"] == "stderr"), \
                f"{path.name} code cell {i}: stored stderr (a warning?): {''.join(o['text'])[:200]}"


def test_kernel_is_plain_python3(notebook):
    path, nb = notebook
    assert nb["metadata"]["kernelspec"]["name"] == "python3", f"{path.name}: kernelspec must be python3"


def test_imports_only_requirements_and_stdlib(notebook):
    path, nb = notebook
    stdlib = set(sys.stdlib_module_names)
    for i, c in enumerate(code_cells(nb)):
        src = source(c)
        assert not re.search(r"^\s*[!%]", src, re.M), f"{path.name} code cell {i}: shell or magic command"
        for node in ast.walk(ast.parse(src)):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path.name}: relative import"
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in ALLOWED_IMPORTS or top in stdlib, \
                    f"{path.name} code cell {i}: imports {name}, which is neither in requirements.txt nor stdlib"


@pytest.mark.parametrize("pattern, why", [
    (r"\bopen\(", "reads or writes a file"),
    (r"\b(urllib|requests|http\.client|socket)\b", "uses the network"),
    (r"\b(torch|np|numpy)\.(load|save|hub)\b|\bloadtxt\b|\bfrom_pretrained\b", "loads data or weights from disk or a hub"),
    (r"\bsys\.path\b|\b__file__\b", "depends on where the repository is"),
    (r"\bsavefig\(", "writes a figure file"),
])
def test_runs_alone(notebook, pattern, why):
    path, nb = notebook
    for i, c in enumerate(code_cells(nb)):
        assert not re.search(pattern, source(c)), f"{path.name} code cell {i} {why}: a lesson must run alone"


def test_setup_is_deterministic(notebook):
    path, nb = notebook
    setup = source(code_cells(nb)[0])
    assert "torch.manual_seed(" in setup, f"{path.name}: the setup cell must seed torch"
    assert "set_printoptions(precision=4" in setup, f"{path.name}: the setup cell must fix print precision"
    all_src = "\n".join(source(c) for c in code_cells(nb))
    assert "torch.testing.assert_close" in all_src, f"{path.name}: parity must be asserted with assert_close"


def test_nbval_markers_are_alone_on_their_line(notebook):
    path, nb = notebook
    for i, c in enumerate(code_cells(nb)):
        for line in source(c).splitlines():
            if any(m in line for m in MARKERS):
                assert line.strip() in {f"# {m}" for m in MARKERS}, \
                    f"{path.name} code cell {i}: {line.strip()!r}: nbval ignores a marker with anything else on its line"


def test_gpu_cells_are_guarded_and_ignored(notebook):
    """Every cell that touches CUDA (beyond picking DEVICE in the setup cell) is guarded and output-ignored."""
    path, nb = notebook
    cells = code_cells(nb)
    assert "DEVICE = " in source(cells[0]), f"{path.name}: pick the device once, in the setup cell"
    gpu_cells = 0
    for i, c in enumerate(cells[1:], start=1):
        src = source(c)
        if re.search(r"\bcuda\b|\bDEVICE\b", src):
            gpu_cells += 1
            assert src.startswith("# NBVAL_IGNORE_OUTPUT\n"), f"{path.name} code cell {i}: GPU cell needs NBVAL_IGNORE_OUTPUT"
            assert 'if DEVICE.type == "cuda":' in src and "else:" in src, \
                f"{path.name} code cell {i}: GPU cell must be guarded and print a skip line on CPU"
            skip = [o for o in c["outputs"] if o.get("name") == "stdout"]
            assert skip and "".join(skip[0]["text"]).count("\n") == 1, \
                f"{path.name} code cell {i}: on CPU a GPU cell prints exactly one line"
    assert gpu_cells <= 3, f"{path.name}: keep GPU work to a few cells"


WIDGET_RE = re.compile(r"widgets\.interactive\(\s*(\w+)|\binteract(?:_manual)?\(\s*(\w+)")


def test_widgets_have_a_plain_cell_twin(notebook):
    """A widget cell's output is ignored (it changes on every render); its callback must also be called in a
    plain, output-checked cell, because nbval never sees an exception raised inside a widget."""
    path, nb = notebook
    cells = [source(c) for c in code_cells(nb)]
    callbacks = []
    for i, src in enumerate(cells):
        for m in WIDGET_RE.finditer(src):
            name = m.group(1) or m.group(2)
            callbacks.append(name)
            assert src.startswith("# NBVAL_IGNORE_OUTPUT\n"), f"{path.name} code cell {i}: widget cell needs NBVAL_IGNORE_OUTPUT"
            twins = [s for s in cells[i + 1:] if re.search(rf"\b{name}\(", s) and "NBVAL_IGNORE_OUTPUT" not in s]
            assert twins, f"{path.name}: widget callback {name} is never called in a plain cell"
            edge_calls = sum(len(re.findall(rf"\b{name}\(", s)) for s in twins)
            assert edge_calls >= 3, f"{path.name}: call {name} with defaults, extreme and invalid values ({edge_calls} calls)"
    assert callbacks, f"{path.name}: each lesson has at least one widget"


def test_solutions_are_collapsed_and_checked(notebook):
    path, nb = notebook
    sols = [c for c in code_cells(nb) if "solution" in c.get("metadata", {}).get("tags", [])]
    assert sols, f"{path.name}: exercises need solutions (cells tagged 'solution')"
    for c in sols:
        assert c["metadata"].get("jupyter", {}).get("source_hidden") is True, f"{path.name}: solution not collapsed"
    src = "\n".join(source(c) for c in sols)
    assert re.search(r"assert check_\w+\(", src), f"{path.name}: solutions must pass their checkers (asserted)"
    assert re.search(r"assert not check_\w+\(", src), f"{path.name}: checkers must be shown rejecting a wrong answer"


def test_notebooks_match_their_sources():
    """notebooks/NN.ipynb is built from lessons/NN.py: the two must not drift apart."""
    from nbtools import LESSONS, build_notebook, notebook_for

    sources = sorted(LESSONS.glob("[0-9][0-9]_*.py"))
    assert [notebook_for(s) for s in sources] == NOTEBOOK_PATHS, "every notebook needs a source in lessons/"
    for src in sources:
        built = build_notebook(src)
        stored = load(notebook_for(src))
        assert [(c.cell_type, c.source) for c in built.cells] == \
            [(c["cell_type"], source(c)) for c in stored["cells"]], \
            f"{notebook_for(src).name} differs from {src.name}: run python ci/build.py {src.name[:2]}"


# nn.RNN, nn.LSTM and nn.GRU take (*args, **kwargs): their documented constructor arguments, in order. (Checked
# against nn.RNNBase's real signature below, so this table cannot drift from torch.)
DOCUMENTED = {
    "RNN": ["input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first", "dropout",
            "bidirectional", "device", "dtype"],
    "LSTM": ["input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional",
             "proj_size", "device", "dtype"],
    "GRU": ["input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional",
            "device", "dtype"],
}
# Keyword arguments torch accepts beyond the documented ones (nn.GRU(…, proj_size=0) is fine; > 0 raises).
ACCEPTED_EXTRA = {"RNN": {"proj_size": 0}, "GRU": {"proj_size": 0}}


def twin_signature(name: str) -> list[tuple[str, object]]:
    """[(argument, default or REQUIRED)] of torch.nn.<name>'s constructor, without self."""
    import inspect

    import torch.nn as nn

    def params(cls):
        return [(p.name, "REQUIRED" if p.default is inspect.Parameter.empty else p.default)
                for p in list(inspect.signature(cls.__init__).parameters.values())[1:]]

    if name not in DOCUMENTED:
        return params(getattr(nn, name))
    base = dict(params(nn.RNNBase))
    base["nonlinearity"] = "tanh"  # nn.RNN's own keyword (RNNBase gets it through **kwargs)
    return [(a, base[a]) for a in DOCUMENTED[name]]


def scratch_classes(nb: dict):
    """(class name, twin name, [(argument, default)]) of every `class Scratch<Twin>` with an __init__."""
    import torch.nn as nn

    for src in (source(c) for c in code_cells(nb)):
        src = "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in src.splitlines())
        for node in ast.walk(ast.parse(src)):
            if not (isinstance(node, ast.ClassDef) and node.name.startswith("Scratch")):
                continue
            twin = node.name[len("Scratch"):]
            init = [f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"]
            if not hasattr(nn, twin) or not init:
                continue
            a = init[0].args
            assert not (a.vararg or a.kwarg), f"{node.name}.__init__: spell out the twin's arguments, no *args/**kwargs"
            names = [x.arg for x in a.args[1:] + a.kwonlyargs]
            defaults = ["REQUIRED"] * (len(a.args) - 1 - len(a.defaults)) + [ast.literal_eval(d) for d in a.defaults]
            defaults += ["REQUIRED" if d is None else ast.literal_eval(d) for d in a.kw_defaults]
            yield node.name, twin, list(zip(names, defaults))


def test_documented_signatures_match_torch():
    import torch.nn as nn

    for name in DOCUMENTED:
        module = getattr(nn, name)(3, 2)  # the documented defaults are what the module stores
        for arg, default in twin_signature(name)[2:]:
            if arg not in ("device", "dtype"):
                assert getattr(module, arg) == default, f"nn.{name}.{arg} defaults to {getattr(module, arg)!r}"


def test_scratch_modules_take_their_twins_arguments(notebook):
    """Rule 6: `ScratchX` takes nn.X's constructor arguments, same names, same defaults, same order (a scratch
    layer is a drop-in for its twin: code written for one runs with the other)."""
    path, nb = notebook
    for cls, twin, got in scratch_classes(nb):
        want = twin_signature(twin)
        extra = [(a, d) for a, d in got if (a, d) not in want]
        assert all(ACCEPTED_EXTRA.get(twin, {}).get(a, object()) == d for a, d in extra), \
            f"{path.name}: {cls} has arguments nn.{twin} does not take: {extra}"
        assert [x for x in got if x in want] == want, (
            f"{path.name}: {cls}({', '.join(f'{a}={d!r}' for a, d in got)}) must take nn.{twin}'s arguments "
            f"({', '.join(f'{a}={d!r}' for a, d in want)}), same names, defaults and order"
        )


MAIN_PATH_WORDS, MAIN_PATH_CODE_LINES = 1800, 220  # about 45 minutes with the exercises (README rule 9)


def main_path_size(nb: dict) -> tuple[int, int]:
    """(visible words of prose, visible lines of code): what a learner sees without expanding anything. Hidden:
    code cells whose source is collapsed (metadata jupyter.source_hidden) and every cell under a heading collapsed
    in JupyterLab (jp-MarkdownHeadingCollapsed) down to the next heading of the same or a higher level. Words are
    runs of letters, digits, _ and '; a $…$ formula counts as one word."""
    words = lines = 0
    collapsed_at = None
    for c in nb["cells"]:
        src = source(c)
        if c["cell_type"] == "markdown":
            m = re.match(r"^(#{1,6})\s", src.lstrip())
            level = len(m.group(1)) if m else None
            if level is not None and collapsed_at is not None and level <= collapsed_at:
                collapsed_at = None
            hidden = collapsed_at is not None
            if level is not None and not hidden and c.get("metadata", {}).get("jp-MarkdownHeadingCollapsed"):
                collapsed_at = level  # the heading itself stays visible
            if not hidden:
                words += len(re.findall(r"[A-Za-z0-9_']+", re.sub(r"\$[^$]*\$", " x ", src)))
        elif c["cell_type"] == "code":
            if collapsed_at is None and not c.get("metadata", {}).get("jupyter", {}).get("source_hidden"):
                lines += len([ln for ln in src.splitlines() if ln.strip()])
    return words, lines


def test_main_path_fits_the_budget(notebook):
    path, nb = notebook
    words, lines = main_path_size(nb)
    assert words <= MAIN_PATH_WORDS and lines <= MAIN_PATH_CODE_LINES, (
        f"{path.name}: the main path has {words} visible words and {lines} visible code lines (budget "
        f"{MAIN_PATH_WORDS} and {MAIN_PATH_CODE_LINES}): move what is not the learner's path into a collapsed "
        "section (# %% [markdown] collapsed) or a collapsed cell (# %% hidden)")


def test_main_path_size_counts_only_what_is_visible():
    md = lambda text, **meta: {"cell_type": "markdown", "source": text, "metadata": meta}  # noqa: E731
    code = lambda text, **meta: {"cell_type": "code", "source": text, "metadata": meta}  # noqa: E731
    nb = {"cells": [md("# Title\n\nfour words here $x_t$"), code("a = 1\n\nb = 2"),
                    code("hidden = 1", jupyter={"source_hidden": True}),
                    md("## Going deeper", **{"jp-MarkdownHeadingCollapsed": True}), md("not counted at all"),
                    code("c = 3"), md("### a sub-heading stays hidden"), md("## Back on the path"), code("d = 4")]}
    assert main_path_size(nb) == (1 + 3 + 1 + 2 + 4, 3)  # Title; four words here; $x_t$; Going deeper; Back on the path
