"""Every diagram is drawn by figures/make_figures.py, committed, and embedded in its notebook unchanged."""

from __future__ import annotations

import base64
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import NOTEBOOK_PATHS, ROOT, load, source

FIGURES = ROOT / "figures"
ATTACH = re.compile(r"attachment:([A-Za-z0-9_.-]+\.png)")


def embedded():
    """(notebook name, attachment name, bytes) for every image attachment of every markdown cell."""
    out = []
    for path in NOTEBOOK_PATHS:
        for cell in load(path)["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            refs = set(ATTACH.findall(source(cell)))
            atts = cell.get("attachments", {})
            assert refs == set(atts), f"{path.name}: markdown refers to {sorted(refs)} but embeds {sorted(atts)}"
            for name, bundle in atts.items():
                out.append((path.name, name, base64.b64decode(bundle["image/png"])))
    return out


def test_lessons_show_diagrams():
    assert embedded(), "the lessons embed their diagrams"
    for path in NOTEBOOK_PATHS:
        text = path.read_text()
        assert "](figures/" not in text and "](../figures/" not in text, \
            f"{path.name}: a figure linked by path does not show when the notebook is opened alone; embed it"


def test_embedded_copy_equals_committed_file():
    for nb, name, data in embedded():
        f = FIGURES / name
        assert f.exists(), f"{nb}: embeds {name}, which is not in figures/"
        assert data == f.read_bytes(), f"{nb}: embedded {name} differs from figures/{name}: run python ci/build.py"


def test_every_figure_is_used():
    used = {name for _, name, _ in embedded()}
    for f in FIGURES.glob("*.png"):
        assert f.name in used, f"figures/{f.name} is shown by no lesson"


def _pixels(path):
    import matplotlib.image

    return np.asarray(matplotlib.image.imread(path), dtype=np.float64)


def test_committed_figures_are_what_the_code_draws(tmp_path):
    """Redraw every figure and compare with the committed file (pixels, so a new font renderer is no failure)."""
    subprocess.run([sys.executable, str(FIGURES / "make_figures.py"), "--out", str(tmp_path)], check=True,
                   capture_output=True)
    drawn = sorted(p.name for p in tmp_path.glob("*.png"))
    assert drawn == sorted(p.name for p in FIGURES.glob("*.png")), "figures/ and make_figures.py disagree"
    for name in drawn:
        if (tmp_path / name).read_bytes() == (FIGURES / name).read_bytes():
            continue
        new, old = _pixels(tmp_path / name), _pixels(FIGURES / name)
        assert new.shape == old.shape, f"figures/{name} is stale: run python figures/make_figures.py"
        assert np.abs(new - old).mean() < 0.01, f"figures/{name} is stale: run python figures/make_figures.py"


@pytest.mark.parametrize("name", sorted(p.name for p in FIGURES.glob("*.png")))
def test_figures_are_small(name):
    assert (FIGURES / name).stat().st_size < 150_000, f"{name}: keep figures small; notebooks embed them"
