"""Every diagram is drawn by figures/make_figures.py, committed, and embedded in its notebook unchanged.

Both formats the build embeds (ci/nbtools.py figure_attachment) are handled: PNG (base64 in the attachment,
compared by pixels when redrawn) and SVG (text in the attachment, compared as text less matplotlib's date and
generated ids when redrawn)."""

from __future__ import annotations

import base64
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import NOTEBOOK_PATHS, ROOT, load, source

FIGURES = ROOT / "figures"
FORMATS = {".png": "image/png", ".svg": "image/svg+xml"}  # what the build embeds, by file suffix
ATTACH = re.compile(r"attachment:([A-Za-z0-9_.-]+\.(?:png|svg))")


def figure_files():
    return sorted(p for p in FIGURES.iterdir() if p.suffix in FORMATS)


def attachment_bytes(name: str, bundle: dict) -> bytes:
    """The file an attachment holds: PNG is base64, SVG is text (a string or a list of lines, as nbformat allows)."""
    mime = FORMATS[name[name.rindex("."):]]
    assert list(bundle) == [mime], f"{name}: embedded as {sorted(bundle)}, expected {mime}"
    data = bundle[mime]
    if mime == "image/svg+xml":
        return ("".join(data) if isinstance(data, list) else data).encode()
    return base64.b64decode(data)


def embedded(paths=None):
    """(notebook name, attachment name, bytes) for every image attachment of every markdown cell."""
    out = []
    for path in NOTEBOOK_PATHS if paths is None else paths:
        for cell in load(path)["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            refs = set(ATTACH.findall(source(cell)))
            atts = cell.get("attachments", {})
            assert refs == set(atts), f"{path.name}: markdown refers to {sorted(refs)} but embeds {sorted(atts)}"
            for name, bundle in atts.items():
                out.append((path.name, name, attachment_bytes(name, bundle)))
    return out


def check_embedded_copies(found, figures_dir=FIGURES):
    for nb, name, data in found:
        f = figures_dir / name
        assert f.exists(), f"{nb}: embeds {name}, which is not in figures/"
        assert data == f.read_bytes(), f"{nb}: embedded {name} differs from figures/{name}: run python ci/build.py"


def test_lessons_show_diagrams():
    assert embedded(), "the lessons embed their diagrams"
    for path in NOTEBOOK_PATHS:
        text = path.read_text()
        assert "](figures/" not in text and "](../figures/" not in text, \
            f"{path.name}: a figure linked by path does not show when the notebook is opened alone; embed it"


def test_embedded_copy_equals_committed_file():
    check_embedded_copies(embedded())


def test_every_figure_is_used():
    used = {name for _, name, _ in embedded()}
    for f in figure_files():
        assert f.name in used, f"figures/{f.name} is shown by no lesson"


def test_each_embedded_format_is_read_back(tmp_path, monkeypatch):
    """A PNG and an SVG, embedded by the build as it embeds every figure, read back byte for byte; a changed file
    is caught in either format."""
    import nbformat
    import nbtools

    (tmp_path / "dot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))  # bytes are bytes: no need to draw
    svg = tmp_path / "box.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>\n')
    monkeypatch.setattr(nbtools, "FIGURES", tmp_path)
    src = tmp_path / "99_demo.py"
    src.write_text("# %% [markdown]\n# ![a](attachment:dot.png) ![b](attachment:box.svg)\n")
    nb_path = tmp_path / "99_demo.ipynb"
    nbformat.write(nbtools.build_notebook(src), nb_path)
    found = embedded([nb_path])
    assert sorted(name for _, name, _ in found) == ["box.svg", "dot.png"]
    check_embedded_copies(found, tmp_path)
    svg.write_text(svg.read_text().replace('width="4" height="4"/>', 'width="5" height="4"/>'))
    with pytest.raises(AssertionError, match="box.svg differs"):
        check_embedded_copies(found, tmp_path)


def svg_text(path) -> str:
    """An SVG without what matplotlib changes on every save: the date in its metadata, generated ids."""
    text = path.read_text()
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r'\b(id|xlink:href|href|clip-path)="[^"]*"', "", text)
    return re.sub(r"\s+", " ", text)


def _pixels(path):
    import matplotlib.image

    return np.asarray(matplotlib.image.imread(path), dtype=np.float64)


def test_committed_figures_are_what_the_code_draws(tmp_path):
    """Redraw every figure and compare with the committed file (pixels, so a new font renderer is no failure)."""
    subprocess.run([sys.executable, str(FIGURES / "make_figures.py"), "--out", str(tmp_path)], check=True,
                   capture_output=True)
    drawn = sorted(p.name for p in tmp_path.iterdir() if p.suffix in FORMATS)
    assert drawn == [p.name for p in figure_files()], "figures/ and make_figures.py disagree"
    for name in drawn:
        if (tmp_path / name).read_bytes() == (FIGURES / name).read_bytes():
            continue
        if name.endswith(".svg"):
            assert svg_text(tmp_path / name) == svg_text(FIGURES / name), \
                f"figures/{name} is stale: run python figures/make_figures.py"
            continue
        new, old = _pixels(tmp_path / name), _pixels(FIGURES / name)
        assert new.shape == old.shape, f"figures/{name} is stale: run python figures/make_figures.py"
        assert np.abs(new - old).mean() < 0.01, f"figures/{name} is stale: run python figures/make_figures.py"


@pytest.mark.parametrize("name", [p.name for p in figure_files()])
def test_figures_are_small(name):
    assert (FIGURES / name).stat().st_size < 150_000, f"{name}: keep figures small; notebooks embed them"
