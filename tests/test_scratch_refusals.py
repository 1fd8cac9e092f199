"""Nothing silently wrong: every Scratch class of every lesson gives what its torch twin gives, or refuses clearly.

The lesson's code cells run in a fork of a warm process (forked_runs.py); after each cell that defines a
`class Scratch…`, the class is collected (so an early, partial version is probed too, not only the last one);
at the end tests/probes/scratch_probe.py feeds every collected class the constructor arguments and inputs listed
there, beside its twin. Two more tests show that the probe can fail: a class that broadcasts a wrong-batch h0
and one that reads an unbatched input as a batch are both reported.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import LESSONS, ROOT, notebook_name
from forked_runs import ForkServer

PROBE = (Path(__file__).parent / "probes" / "scratch_probe.py").read_text()


@pytest.fixture(scope="module")
def forks():
    server = ForkServer()
    yield server
    server.close()


def probed_cells(cells: list[str]) -> list[str]:
    # The probe's module runs in a namespace of its own (a lesson's `N = 3` must not change the probe's N).
    out = [f"_scratch_probe = {{}}\nexec({PROBE!r}, _scratch_probe)\nScratchProbe = _scratch_probe['ScratchProbe']"]
    for i, src in enumerate(cells):
        out.append(src)
        if "class Scratch" in src:
            out.append(f"ScratchProbe.collect(globals(), {i})")
    out.append("ScratchProbe.report()")
    return out


def run_probe(forks, cells):
    result = forks.run(probed_cells(cells))
    return result["error"]


@pytest.mark.parametrize("lesson", LESSONS)
def test_scratch_classes_match_torch_or_refuse_clearly(lesson, forks):
    name = notebook_name(lesson)
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    error = run_probe(forks, [c.source for c in nb.cells if c.cell_type == "code"])
    assert error is None, f"{name}: {error['ename']}: {error['evalue']}"


CORRECT_CELL = '''
import torch
from torch import nn
import torch.nn.functional as F

class ScratchRNNCell(nn.Module):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__()
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        cell = nn.RNNCell(input_size, hidden_size, bias, nonlinearity, device, dtype)
        self.weight_ih, self.weight_hh = cell.weight_ih, cell.weight_hh
        self.bias_ih, self.bias_hh = cell.bias_ih, cell.bias_hh
        self.hidden_size, self.nonlinearity = hidden_size, nonlinearity

    def forward(self, x, hx=None):
        if x.dim() not in (1, 2) or x.shape[-1] != self.weight_ih.shape[1] or x.dtype != self.weight_ih.dtype:
            raise ValueError(f"expected input (N, d) or (d,) of d = {self.weight_ih.shape[1]}, got {tuple(x.shape)}")
        unbatched = x.dim() == 1
        x = x[None] if unbatched else x
        hx = x.new_zeros(x.shape[0], self.hidden_size) if hx is None else (hx[None] if unbatched else hx)
        if hx.shape != (x.shape[0], self.hidden_size):
            raise ValueError(f"hx must be {(x.shape[0], self.hidden_size)}, got {tuple(hx.shape)}")
        a = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(hx, self.weight_hh, self.bias_hh)
        h = torch.tanh(a) if self.nonlinearity == "tanh" else torch.relu(a)
        return h[0] if unbatched else h
'''


def test_the_probe_passes_a_correct_class(forks):
    assert run_probe(forks, [CORRECT_CELL]) is None


@pytest.mark.parametrize("broken, expected", [
    ("if hx.shape != (x.shape[0], self.hidden_size):", "hx of batch 1 for a batch of 2: returned a result"),
    ("unbatched = x.dim() == 1", "unbatched input"),
    ("if x.dim() not in (1, 2) or x.shape[-1] != self.weight_ih.shape[1] or x.dtype != self.weight_ih.dtype:",
     "a float32 input to a float64 module"),
])
def test_the_probe_reports_a_silently_wrong_class(forks, broken, expected):
    replacement = {"unbatched = x.dim() == 1": "unbatched = False"}.get(broken, "if False:")
    cell = CORRECT_CELL.replace(broken, replacement)
    assert cell != CORRECT_CELL
    error = run_probe(forks, [cell])
    assert error is not None and error["ename"] == "AssertionError" and expected in error["evalue"], error
