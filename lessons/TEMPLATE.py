r"""The template of a lesson source: every part a lesson needs, each named by a one-line comment.

Copy it to lessons/NN_topic.py (NN: the next number; topic: lower-case words joined by _), replace the text and
the code, keep the parts. `python ci/build.py NN` builds and runs it into notebooks/NN_topic.ipynb. This docstring
is not part of the notebook (the build skips a source's opening docstring). tests/test_template.py builds this file,
runs it, checks it against every notebook rule and runs the mutations and checker cases below on it.

Then write tests/per_lesson/lesson_NN.py, the lesson's data for the generic tests. For this template it would be:

    MUTATIONS = [  # (original text, broken text, the mistake): each must make the notebook fail an assertion
        ("pre = pre + self.bias_ih + self.bias_hh", "pre = pre + self.bias_ih", "drop b_hh"),
        ("hx @ self.weight_hh.T", "hx @ self.weight_hh", "use W_hh untransposed"),
        ('torch.tanh(pre) if self.nonlinearity == "tanh" else torch.relu(pre)', "torch.tanh(pre)",
         "ignore nonlinearity='relu'"),
    ]

    STAND_IN_SIZES = []  # (old, new): smaller sizes for a GPU cell when the CPU stands in for the GPU

    CHECKER_CASES = [  # (checker, source defining `answer`, True or the hint it must print when rejecting)
        ("check_two_steps", "def answer(cell, xs):\n    return cell(xs[1], cell(xs[0]))", True),
        ("check_two_steps", "def answer(cell, xs):\n    h = None\n    for x in xs[:2]:\n"
                            "        h = cell(x) if h is None else cell(x, h)\n    return h", True),
        ("check_two_steps", "answer = lambda c, xs: c(xs[1])", "each step must get the previous state"),
        ("check_two_steps", "answer = lambda c, xs: c(xs[0], c(xs[1]))", "feed H_1 to the second step"),
        ("check_two_steps", "answer = lambda c, xs: c(xs[0])", "feed H_1 to the second step"),
    ]
"""

# %% [markdown]
# # NN · Title of the lesson
#
# One paragraph: what the learner builds, and which `torch.nn` module is its twin. (This file is the template of
# a lesson source: copy it to `lessons/NN_topic.py`, keep every part a comment below names, replace the rest.
# tests/test_template.py builds it, runs it and checks it against every notebook rule.)
#
# **You should know:** what the learner needs before starting.

# %% [markdown]
# ## Setup
# Imports, a fixed seed, four decimals when printing, and the device (only the GPU cell uses it).

# %%
# Setup cell (the first code cell): seed, print precision and DEVICE, picked once, here.
import math

import ipywidgets as widgets
import torch
import torch.nn as nn
from IPython.display import display
from IPython.utils.capture import capture_output

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")

# %% [markdown]
# ## 1 · The layer from scratch
#
# The maths with every shape: $H_t = \tanh(X_t W_{ih}^\top + b_{ih} + H_{t-1} W_{hh}^\top + b_{hh})$, with
# $X_t$ [N, d] and $H_{t-1}$ [N, h].

# %%
# A Scratch class: the twin's name with a "Scratch" prefix, the twin's constructor arguments (names, defaults,
# order), torch's parameter names, shapes and order; what it does not support it refuses with a clear error.
class ScratchRNNCell(nn.Module):
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__()
        for name, size in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(size, int) or isinstance(size, bool) or size < 1:
                raise ValueError(f"{name} must be an int of at least 1, got {size!r}")
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.input_size, self.hidden_size, self.bias, self.nonlinearity = input_size, hidden_size, bias, nonlinearity
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(hidden_size, **kw))
            self.bias_hh = nn.Parameter(torch.empty(hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        bound = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, input, hx=None):
        if input.dim() not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(f"input must be [N, {self.input_size}] or [{self.input_size}], got {list(input.shape)}")
        if input.dtype != self.weight_ih.dtype:
            raise TypeError(f"input is {input.dtype} but the parameters are {self.weight_ih.dtype}: convert one")
        unbatched = input.dim() == 1
        x = input.unsqueeze(0) if unbatched else input
        if hx is None:
            hx = torch.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
        elif unbatched:
            hx = hx.unsqueeze(0)
        if hx.dtype != x.dtype:
            raise TypeError(f"hx is {hx.dtype} but input is {x.dtype}: convert one")
        if tuple(hx.shape) != (x.shape[0], self.hidden_size):
            raise ValueError(f"hx must be [{x.shape[0]}, {self.hidden_size}], got {list(hx.shape)}")
        pre = x @ self.weight_ih.T + hx @ self.weight_hh.T
        if self.bias:
            pre = pre + self.bias_ih + self.bias_hh
        h = torch.tanh(pre) if self.nonlinearity == "tanh" else torch.relu(pre)
        return h[0] if unbatched else h

# %% [markdown]
# ## 2 · Parity with the twin

# %%
# Parity: torch's weights loaded in, outputs and gradients asserted equal with assert_close, in float64.
x = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
h0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
for nonlinearity in ("tanh", "relu"):
    twin = nn.RNNCell(4, 3, nonlinearity=nonlinearity, dtype=torch.float64)
    scratch = ScratchRNNCell(4, 3, nonlinearity=nonlinearity, dtype=torch.float64)
    scratch.load_state_dict(twin.state_dict())
    torch.testing.assert_close(scratch(x, h0), twin(x, h0), rtol=0.0, atol=1e-12)
    grads_scratch = torch.autograd.grad(scratch(x, h0).sum(), [x, h0, *scratch.parameters()])
    grads_twin = torch.autograd.grad(twin(x, h0).sum(), [x, h0, *twin.parameters()])
    torch.testing.assert_close(grads_scratch, grads_twin, rtol=0.0, atol=1e-12)
print("✓ ScratchRNNCell equals nn.RNNCell in float64, tanh and relu: values and gradients")

# %% [markdown]
# ## 3 · Play with it

# %%
# A widget callback: prints what it shows, returns a dict when the setting is valid, None after a message when not.
def show_cell(batch=2, hidden_size=3):
    if batch < 1 or hidden_size < 1:
        print(f"⚠ batch = {batch}, hidden_size = {hidden_size}: choose at least 1 for each.")
        return None
    cell = ScratchRNNCell(4, hidden_size)
    out = cell(torch.randn(batch, 4))
    print(f"H_t: {list(out.shape)}, parameters: {sum(p.numel() for p in cell.parameters())}")
    return {"shape": tuple(out.shape)}

# %%
# NBVAL_IGNORE_OUTPUT
# The widget cell: output ignored (it changes on every render), the callback tested by the plain cell below.
cell_ui = widgets.interactive(show_cell, batch=widgets.IntSlider(value=2, min=0, max=8, description="batch N"),
                              hidden_size=widgets.IntSlider(value=3, min=0, max=8, description="hidden h"))
display(cell_ui)

# %% hidden
# The widget's plain-cell twin: the callback with its defaults, extreme and invalid values (at least 3 calls).
with capture_output():
    assert show_cell()["shape"] == (2, 3)
    assert show_cell(8, 8)["shape"] == (8, 8)
    assert show_cell(0, 3) is None and show_cell(2, 0) is None
print("✓ widget callback checked: defaults, the largest sizes, a size of 0")

# %% [markdown]
# ## 4 · On a GPU

# %%
# NBVAL_IGNORE_OUTPUT
# A GPU cell: output ignored, guarded by DEVICE.type == "cuda", exactly one skip line on a CPU.
if DEVICE.type == "cuda":
    cell = ScratchRNNCell(4, 3, device=DEVICE)
    print("on", torch.cuda.get_device_name(), list(cell(torch.randn(2, 4, device=DEVICE)).shape))
else:
    print("no GPU here: skipped (switch to a GPU runtime to run this cell)")

# %% [markdown]
# ## 5 · Exercise
#
# **Exercise 1.** Return the state after two steps, $H_2$, from a zero state: call `cell` once per step.

# %% hidden
# An exercise checker (a hidden cell): never raises, says "not done yet" to the stub and names the mistake.
def check_two_steps(fn):
    with torch.random.fork_rng():  # private random numbers: the learner's own seed is left alone
        torch.manual_seed(1)
        c, xs = nn.RNNCell(4, 3), torch.randn(2, 5, 4)
    with torch.no_grad():
        h1 = c(xs[0])
        want = c(xs[1], h1)
        try:
            got = fn(c, xs)
        except Exception as err:  # show the learner's error instead of raising it
            print(f"✗ two_steps raised {type(err).__name__}: {err}")
            return False
        if got is None:
            print("✗ not done yet: two_steps returned None.")
            return False
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            print(f"✗ expected H_2 of shape {list(want.shape)}.")
            return False
        if not torch.allclose(got, want, atol=1e-6):
            hint = "each step must get the previous state" if torch.allclose(got, c(xs[1]), atol=1e-6) else \
                "feed H_1 to the second step"
            print(f"✗ wrong values. Hint: {hint}.")
            return False
    print("✓ two_steps returns H_2.")
    return True

# %%
# The exercise stub: the learner's code goes here.
def two_steps(cell, xs):
    ...  # your code here: return H_2 of shape [N, h]

# %%
# The verdict cell: exercise_N_passed = check_x(answer), a one-line verdict the learner reads.
exercise_1_passed = check_two_steps(two_steps)

# %% [markdown] collapsed
# ## Going deeper
#
# Material off the main path: collapsed in JupyterLab and Colab, still run (and checked) by the tests.

# %%
print("parameters of nn.RNNCell(4, 3):", sum(p.numel() for p in nn.RNNCell(4, 3).parameters()))

# %% [markdown]
# ## Solutions
#
# Collapsed: click a cell to expand it.

# %% solution
# A solution (collapsed, tagged "solution"): asserted to pass its checker.
def two_steps_solution(cell, xs):
    return cell(xs[1], cell(xs[0]))


assert check_two_steps(two_steps_solution)

# %% solution
# The checker shown rejecting a typical wrong answer.
assert not check_two_steps(lambda c, xs: c(xs[1]))
