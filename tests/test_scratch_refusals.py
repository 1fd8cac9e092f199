"""Nothing silently wrong: every Scratch class of every lesson gives what its torch twin gives, or refuses clearly.

Each lesson's code cells run once in a fork of a warm process (the unmutated run of tests/test_mutations.py, which
also probes the checkers: one run serves both); after each cell that defines a `class Scratch…`, the class is
collected (so an early, partial version is probed too, not only the last one); at the end
tests/probes/scratch_probe.py feeds every collected class the constructor arguments and inputs listed there,
beside its twin (test_mutations.py::TestLessonNN::test_scratch_classes_match_torch_or_refuse_clearly). The tests
below show that the probe passes a correct class and reports silently wrong ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest

PROBE = (Path(__file__).parent / "probes" / "scratch_probe.py").read_text()


def probed_cells(cells: list[str], complete: tuple = ()) -> tuple[list[str], list[int | None]]:
    """The cells with the probe around them, and for each the index of the lesson's own cell (None: the probe's).
    The verdict is left in `scratch_report` ("ok: …" or "FAILED: …") rather than raised, so that the cells after it
    (another probe) still run. `complete`: names of classes that must be complete drop-ins, `all_weights` included
    (COMPLETE_LAYERS in tests/per_lesson/lesson_NN.py)."""
    # The probe's module runs in a namespace of its own (a lesson's `N = 3` must not change the probe's N).
    out = [f"_scratch_probe = {{}}\nexec({PROBE!r}, _scratch_probe)\nScratchProbe = _scratch_probe['ScratchProbe']\n"
           f"ScratchProbe.COMPLETE = {tuple(complete)!r}"]
    origin: list[int | None] = [None]
    for i, src in enumerate(cells):
        out.append(src)
        origin.append(i)
        if "class Scratch" in src:
            out.append(f"ScratchProbe.collect(globals(), {i})")
            origin.append(None)
    out.append("try:\n    scratch_report = 'ok: ' + '; '.join(ScratchProbe.report())\n"
               "except AssertionError as _probe_error:\n    scratch_report = f'FAILED: {_probe_error}'")
    origin.append(None)
    return out, origin


def run_probe(forks, cells):
    result = forks.run(probed_cells(cells)[0], report=["scratch_report"])
    assert result["error"] is None, result["error"]
    return result["report"]["scratch_report"]


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
    report = run_probe(forks, [CORRECT_CELL])
    assert report.startswith("ok: ScratchRNNCell (cell 0): ") and "inputs equal to torch's" in report, report


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
    report = run_probe(forks, [cell])
    assert report.startswith("FAILED: ") and expected in report, report


def test_a_complete_layer_needs_torchs_all_weights(forks):
    cell = ("import torch\nfrom torch import nn\n\nclass ScratchGRU(nn.GRU):\n"
            "    @property\n    def all_weights(self):\n        raise AttributeError('all_weights')\n")
    cells, _ = probed_cells([cell], complete=("ScratchGRU",))
    report = forks.run(cells, report=["scratch_report"])["report"]["scratch_report"]
    assert report.startswith("FAILED: ") and "all_weights fails" in report, report
    cells, _ = probed_cells([cell.replace("raise AttributeError('all_weights')", "return super().all_weights")],
                            complete=("ScratchGRU",))
    report = forks.run(cells, report=["scratch_report"])["report"]["scratch_report"]
    assert report.startswith("ok: "), report
