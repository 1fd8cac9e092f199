"""The fork server's warm-up (forked_runs.warm_up): it must change nothing a lesson sees, and it must take the
first-use costs out of the forks (what it is for: ~0.5 s a mutation, ~30 s of the suite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

PROBE = r"""
import json, os, sys
import matplotlib
matplotlib.use("Agg")
import ipywidgets, matplotlib.pyplot as plt, numpy as np, torch
import forked_runs

def state():
    return {"torch_rng": torch.get_rng_state().tolist(), "numpy_rng": str(np.random.get_state()[1][:8].tolist()),
            "dtype": str(torch.get_default_dtype()), "threads": torch.get_num_threads(),
            "grad": torch.is_grad_enabled(), "figures": plt.get_fignums(), "widgets": len(ipywidgets.Widget.widgets),
            "rc": {k: str(v) for k, v in matplotlib.rcParams.items()}}

before = state()
forked_runs.warm_up()
after = state()
loaded = set(sys.modules)
# What a lesson's first cells do: a check, an optimizer step, a figure drawn.
import torch.nn as nn
torch.testing.assert_close(torch.ones(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64))
lstm = nn.LSTM(3, 4)
lstm(torch.randn(2, 1, 3))[0].sum().backward()
torch.optim.Adam(lstm.parameters(), lr=0.1).step()
fig, ax = plt.subplots()
ax.set_title(r"$\alpha$")
fig.canvas.draw()
plt.close(fig)
print(json.dumps({"before": before, "after": after, "new_modules": sorted(set(sys.modules) - loaded)}))
"""


def test_warm_up_changes_nothing_a_lesson_sees_and_leaves_nothing_to_import():
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE)}
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    before, after = result["before"], result["after"]
    changed = sorted(k for k in before if before[k] != after[k])
    assert not changed, f"the warm-up changed what a lesson sees: {changed}"
    assert not result["new_modules"], (
        "a first check, optimizer step or draw after the warm-up still imports modules (each fork would pay for "
        f"them again): {result['new_modules'][:20]}")
