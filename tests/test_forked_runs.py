"""The fork server (forked_runs.py) as a lesson sees it: its warm-up must change nothing a lesson sees, and must
take the first-use costs out of the forks (what it is for: ~0.5 s a mutation); a cell's error is reported whole."""

from __future__ import annotations

import json

# Run in a fork of the session's server, as a lesson's first cell would be.
STATE = r"""
import gc, json, sys
import ipywidgets, matplotlib, matplotlib.pyplot as plt, torch
# torch seeds its generator at random in a new process; the warm-up draws from it with seed 0 inside fork_rng.
seeded_0 = torch.Generator().manual_seed(0)
visible = json.dumps({
    "torch's generator left as it was": torch.initial_seed() != 0
        and not torch.equal(torch.get_rng_state(), seeded_0.get_state()),
    "torch's default dtype": str(torch.get_default_dtype()),
    "grad mode": torch.is_grad_enabled(),
    "open figures": plt.get_fignums(),
    "live widgets": len(ipywidgets.widgets.widget._instances),
    "interactive objects on the heap": sum(isinstance(o, ipywidgets.interactive) for o in gc.get_objects()),
    # backend, backend_fallback: set by the server's matplotlib.use("Agg"), before the warm-up
    "matplotlib settings changed": sorted(k for k, v in matplotlib.rcParams.items()
                                          if k not in ("backend", "backend_fallback")
                                          and str(v) != str(matplotlib.rcParamsOrig[k])),
})
loaded = set(sys.modules)
"""
FIRST_USES = r"""
import torch.nn as nn
torch.testing.assert_close(torch.ones(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64))
lstm = nn.LSTM(3, 4)
lstm(torch.randn(2, 1, 3))[0].sum().backward()
torch.optim.Adam(lstm.parameters(), lr=0.1).step()
fig, ax = plt.subplots()
ax.set_title(r"$\alpha$")
fig.canvas.draw()
plt.close(fig)
new_modules = sorted(set(sys.modules) - loaded)
"""


def test_warm_up_changes_nothing_a_lesson_sees(forks):
    run = forks.run([STATE], report=["visible"])
    assert run["error"] is None, run["error"]
    assert json.loads(run["report"]["visible"]) == {
        "torch's generator left as it was": True,
        "torch's default dtype": "torch.float32",
        "grad mode": True,
        "open figures": [],
        "live widgets": 0,
        "interactive objects on the heap": 0,
        "matplotlib settings changed": [],
    }


def test_after_the_warm_up_a_lessons_first_steps_import_nothing(forks):
    run = forks.run([STATE, FIRST_USES], report=["new_modules"])
    assert run["error"] is None, run["error"]
    assert run["report"]["new_modules"] == "[]", (
        "a first check, optimizer step or draw in a fork still imports modules (each fork pays for them again; "
        f"add them to forked_runs.warm_up): {run['report']['new_modules'][:2000]}")


def test_an_uncaught_error_is_reported_with_its_message(forks):
    """The server shows no traceback (a fork's output goes nowhere); the error still comes back whole."""
    run = forks.run(["x = 1", "torch = __import__('torch')\ntorch.testing.assert_close(torch.ones(2), torch.zeros(2))",
                     "never = 1"])
    assert run["error"]["cell"] == 1 and run["error"]["ename"] == "AssertionError", run["error"]
    assert "Tensor-likes are not close" in run["error"]["evalue"], run["error"]


def test_the_warm_up_raises_no_warning(forks):
    """A warning torch gives once per process (C++ TORCH_WARN_ONCE), raised by the warm-up, would not be raised
    again by a lesson in a fork: the widget probe, which reports warnings, would miss it."""
    assert forks.warm_up_warnings() == []
