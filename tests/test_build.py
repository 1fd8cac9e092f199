"""The lesson-source format that ci/build.py reads."""

from __future__ import annotations

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


@pytest.mark.parametrize("text", ["x = 1\n# %%\n", "# %% [markdown]\nnot a comment\n"])
def test_malformed_sources_are_refused(text):
    with pytest.raises(ValueError):
        parse_source(text)
