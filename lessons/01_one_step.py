# %% [markdown]
# # 01 · One step of a recurrent network
#
# Type "see you tomo" on a phone and the keyboard offers "tomorrow". For that it must remember the letters it
# has read, in a memory of fixed size, however long the message. A **recurrent neural network** (RNN) reads a
# sequence one element at a time (letters, words, a sensor's readings) and keeps a **hidden state**: a vector
# that sums up everything read so far. Each new element updates it with one small formula, the same at every
# step:
#
# $$H_t = \varphi\left(X_t W_{xh} + H_{t-1} W_{hh} + b\right)$$
#
# You write that step yourself, check it against PyTorch's `nn.RNNCell` number for number, gradients included,
# and wrap it in `ScratchRNNCell`, a drop-in twin of `nn.RNNCell`.
#
# **You should know:** matrix products and their shapes, PyTorch tensors, and what `loss.backward()` does.
# Nothing about RNNs yet.

# %% [markdown]
# ## Setup
# Imports, a fixed seed (so your numbers match the ones printed here), four decimals, and the device.

# %%
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F
from IPython.display import display
from IPython.utils.capture import capture_output

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # only the GPU cell uses it

# %% [markdown]
# ## 1 · The step, with every shape
#
# We read $N$ sequences at once (a **batch**). At step $t$ each gives a vector of $d$ features: together a
# matrix $X_t$, one row per sequence. The state has $h$ numbers per sequence.
#
# | symbol | shape | what it is |
# |---|---|---|
# | $X_t$ | [N, d] | the inputs at step $t$ |
# | $H_{t-1}$ | [N, h] | the state from the step before (zeros before the first step) |
# | $W_{xh}$, $W_{hh}$ | [d, h], [h, h] | input-to-hidden and hidden-to-hidden weights |
# | $b$ | [h] | a bias, added to every row |
# | $\varphi$ | — | tanh (the default) or ReLU, element by element |
# | $H_t$ | [N, h] | the new state |
#
# ![One RNN step: X_t and H_{t-1} are multiplied by their weights, summed with the bias, passed through tanh to give H_t, which feeds the next step](attachment:rnn_step.png)
#
# The same weights serve at every step: that reuse makes it *recurrent*. Here is the step with random weights.
# The sizes are all **different**, so that a mix-up of two axes is a shape error, not a silent bug.

# %%
N, d, h = 3, 4, 5  # batch, input features, state size
X, H_prev = torch.randn(N, d), torch.randn(N, h)
W_xh, W_hh, b = torch.randn(d, h) * 0.5, torch.randn(h, h) * 0.5, torch.zeros(h)
H_t = torch.tanh(X @ W_xh + H_prev @ W_hh + b)
for name, term in [("X_t W_xh", X @ W_xh), ("H_{t-1} W_hh", H_prev @ W_hh), ("b", b), ("H_t", H_t)]:
    print(f"{name:<13} {list(term.shape)}")
print("H_t[0] =", H_t[0])

# %% [markdown]
# The state is the network's **memory**: the same input after another past gives another new state.

# %%
H_other = torch.tanh(X @ W_xh + torch.zeros(N, h) @ W_hh + b)  # the same X_t, after another H_{t-1}
print("same X_t, another H_{t-1}: the same H_t?", torch.allclose(H_t, H_other))

# %% [markdown]
# ## 2 · How `nn.RNNCell` stores the step
#
# `nn.RNNCell(input_size, hidden_size)` computes one step. Its parameters:

# %%
cell = nn.RNNCell(input_size=d, hidden_size=h)
for name, p in cell.named_parameters():
    print(f"{name:<10} {list(p.shape)}")

# %% [markdown]
# Two differences from our formula, both bookkeeping:
#
# 1. **The weights are stored transposed**, one row per output as in `nn.Linear`: `weight_ih` is [h, d], the
#    transpose of $W_{xh}$ [d, h]; `weight_hh` is $W_{hh}^\top$.
# 2. **Two biases.** Their sum is our $b$. torch keeps two so that its layout matches cuDNN's (NVIDIA's library
#    of fast GPU kernels).
#
# | formula | in torch |
# |---|---|
# | $W_{xh}$ [d, h] | `weight_ih.T` |
# | $W_{hh}$ [h, h] | `weight_hh.T` |
# | $b$ [h] | `bias_ih + bias_hh` |
#
# The cell is called as `cell(X, H_prev)`; `cell(X)` without a state starts from zeros. With this table, the
# step in torch's layout is yours to write.

# %% [markdown]
# ## 3 · Your turn: the step in torch's layout
#
# **Exercise 1 (build the core).** Write the step straight from torch's four parameters, as they are stored:
# `x` [N, d] is $X_t$, `h_prev` [N, h] is $H_{t-1}$, `w_ih` [h, d], `w_hh` [h, h], `b_ih` and `b_hh` [h].
# Start from the formula of section 1 and replace $W_{xh}$, $W_{hh}$ and $b$ by what the table says they are.
# Apply tanh, or ReLU when `nonlinearity == "relu"`, and return $H_t$ [N, h]. Any form of product works (`@`,
# `F.linear`, `einsum`, …).
#
# The checker (collapsed) compares your step with `nn.RNNCell` in float64, with both nonlinearities, gradients
# included, and names the usual slips. The solutions are collapsed at the end of the notebook: try first.

# %% hidden
def check_rnn_step(fn):
    """Exercise 1: fn(x, h_prev, w_ih, w_hh, b_ih, b_hh, nonlinearity=…) against nn.RNNCell on fixed float64
    data (N = 2, d = 4, h = 3), tanh and relu, values and gradients (run outside no_grad). Returns True/False."""
    for nonlinearity in ("tanh", "relu"):
        with torch.random.fork_rng():  # private random numbers: the learner's own seed is left alone
            torch.manual_seed(5)
            ref = nn.RNNCell(4, 3, nonlinearity=nonlinearity, dtype=torch.float64)
            x, hx = torch.randn(2, 4, dtype=torch.float64), torch.randn(2, 3, dtype=torch.float64)
        x_ref, h_ref = x.clone().requires_grad_(), hx.clone().requires_grad_()
        want = ref(x_ref, h_ref)
        want_grads = torch.autograd.grad((want**2).sum(), [x_ref, h_ref, *ref.parameters()])
        params = [p.detach().clone().requires_grad_() for p in ref.parameters()]  # w_ih, w_hh, b_ih, b_hh
        x_in, h_in = x.clone().requires_grad_(), hx.clone().requires_grad_()
        try:
            got = fn(x_in, h_in, *params, nonlinearity=nonlinearity)
        except Exception as err:  # report the learner's error instead of raising it
            hint = ("\n  Hint: torch stores w_ih as [h, d] = W_xhᵀ and w_hh as [h, h] = W_hhᵀ: x @ w_ih.T, "
                    "h_prev @ w_hh.T (or F.linear(x, w_ih))." if "shape" in str(err) or "size" in str(err) else
                    "\n  Hint: keep the argument nonlinearity=\"tanh\": the checker passes 'tanh' and 'relu'."
                    if "nonlinearity" in str(err) else "")
            print(f"✗ ({nonlinearity}) your step raised {type(err).__name__}: {err}{hint}")
            return False
        if got is None:
            print("✗ not done yet: my_rnn_step returned None.")
            return False
        if not isinstance(got, torch.Tensor):
            print(f"✗ my_rnn_step returned a {type(got).__name__}: return one tensor, the new state [N, h].")
            return False
        if tuple(got.shape) != (2, 3):
            hint = " one row per sequence: x @ w_ih.T is [N, h]" if tuple(got.shape) == (3, 2) else ""
            print(f"✗ ({nonlinearity}) the new state has shape {tuple(got.shape)}, expected [N, h] = (2, 3):{hint}.")
            return False
        if got.dtype != x.dtype:
            print(f"✗ the inputs are {x.dtype}, your step returned {got.dtype}: keep their dtype (no .float()).")
            return False
        with torch.no_grad():
            w_ih, w_hh, b_ih, b_hh = (p.detach() for p in params)
            act, other = (torch.tanh, torch.relu) if nonlinearity == "tanh" else (torch.relu, torch.tanh)
            pre = x @ w_ih.T + hx @ w_hh.T
            slips = [(act(pre + b_ih), "you left out b_hh: torch adds both biases"),
                     (act(pre + b_hh), "you left out b_ih: torch adds both biases"),
                     (act(pre), "you left out both biases, b_ih and b_hh"),
                     (act(x @ w_ih.T + hx @ w_hh + b_ih + b_hh),
                      "w_hh is stored transposed too ([h, h] = W_hhᵀ): use h_prev @ w_hh.T"),
                     (pre + b_ih + b_hh, "apply φ to the sum: tanh, or relu when nonlinearity == 'relu'"),
                     (torch.sigmoid(pre + b_ih + b_hh), "φ is tanh or relu, not sigmoid"),
                     (other(pre + b_ih + b_hh), "you ignored nonlinearity: relu when it is 'relu', tanh when 'tanh'")]
            got_values = got.detach()
            if not torch.allclose(got_values, want.detach(), rtol=0.0, atol=1e-10):
                hint = next((msg for wrong, msg in slips if torch.allclose(got_values, wrong, rtol=0.0, atol=1e-10)),
                            "H_t = φ(x W_ihᵀ + b_ih + h_prev W_hhᵀ + b_hh)")
                print(f"✗ ({nonlinearity}) values differ from nn.RNNCell's. Hint: {hint}.")
                return False
        try:
            grads = torch.autograd.grad((got**2).sum(), [x_in, h_in, *params], allow_unused=True)
        except RuntimeError:  # nothing in the answer records gradients
            grads = [None]
        if any(g is None or not torch.allclose(g, w, rtol=0.0, atol=1e-10) for g, w in zip(grads, want_grads)):
            print("✗ right numbers, but no gradient (or a wrong one) flows back: no .detach(), .data, .item() or "
                  "torch.no_grad() inside the step.")
            return False
    print("✓ my_rnn_step matches nn.RNNCell in float64, tanh and relu, values and gradients.")
    return True

# %%
def my_rnn_step(x, h_prev, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    ...  # your code here: return H_t [N, h]

# %%
exercise_1_passed = check_rnn_step(my_rnn_step)

# %% [markdown]
# ## 4 · The course's `rnn_step`
#
# First the table itself, on the cell of section 2. The check is an assertion (`torch.testing.assert_close`): a
# wrong formula stops the notebook instead of printing a hopeful message. In float32 the two agree within
# `assert_close`'s default tolerance, not to the last bit.

# %%
with torch.no_grad():
    ours = torch.tanh(X @ cell.weight_ih.T + H_prev @ cell.weight_hh.T + cell.bias_ih + cell.bias_hh)
    torch.testing.assert_close(ours, cell(X, H_prev))  # float32: |Δ| ≤ 1e-5 + 1.3e-6·|cell's|
print("✓ the textbook step with W_xh = weight_ih.T, W_hh = weight_hh.T, b = bias_ih + bias_hh equals nn.RNNCell")

# %% [markdown]
# Here is the step as every later lesson writes it; compare it with yours. `F.linear(x, w, b)` is $x w^\top + b$
# in one call, and leaves out `b` when it is `None`, for a cell built with `bias=False`. In **float64** it
# matches `nn.RNNCell` up to rounding: we ask for |Δ| ≤ 1e-12.

# %%
def rnn_step(x, h_prev, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """H_t = φ(x W_ihᵀ + b_ih + h_prev W_hhᵀ + b_hh).  x [N, d], h_prev [N, h] → H_t [N, h]."""
    a = F.linear(x, w_ih, b_ih) + F.linear(h_prev, w_hh, b_hh)
    return torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)

# %%
EXACT = {"atol": 1e-12, "rtol": 0.0}  # float64: equal up to rounding
x64, h64 = torch.randn(N, d, dtype=torch.float64), torch.randn(N, h, dtype=torch.float64)
for nonlinearity in ("tanh", "relu"):
    for bias in (True, False):
        ref = nn.RNNCell(d, h, bias=bias, nonlinearity=nonlinearity, dtype=torch.float64)
        with torch.no_grad():  # *ref.parameters() = weight_ih, weight_hh (, bias_ih, bias_hh)
            torch.testing.assert_close(rnn_step(x64, h64, *ref.parameters(), nonlinearity=nonlinearity),
                                       ref(x64, h64), **EXACT)
print("✓ rnn_step equals nn.RNNCell in float64 (|Δ| ≤ 1e-12): tanh and relu, with and without bias")

# %% [markdown]
# ## 5 · `ScratchRNNCell`: a drop-in twin of `nn.RNNCell`
#
# A module with `nn.RNNCell`'s constructor arguments (same names, same defaults) and its parameters under
# **torch's names, shapes and order**, so that `load_state_dict` copies weights either way: it matches by name.
#
# - `nn.Parameter` assigned to `self.weight_ih` registers a trainable tensor named `weight_ih`.
# - With `bias=False`, torch registers the biases as `None`: absent from `parameters()` and `state_dict()`.
# - Every parameter starts uniform in $[-1/\sqrt{h},\, 1/\sqrt{h}]$, as in torch.
# - `forward(input, hx=None)` takes a batch [N, d] or one vector [d]; `hx=None` means a zero state.
#
# The validation sits in two helpers in the collapsed cell: `cell_settings` refuses bad constructor arguments (a
# size of 0, `bias=0`, an unknown nonlinearity), `cell_inputs` bad inputs (a wrong shape or dtype, an `hx` that
# does not fit) and turns an unbatched [d] into a batch of one.

# %% hidden
def cell_settings(input_size, hidden_size, bias, nonlinearity):
    """Refuse what nn.RNNCell refuses (its message for nonlinearity), and what it builds but should not: a size
    below 1 (nothing to compute), a bias that is not a bool (bias=0 or bias='True')."""
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{name} must be greater than zero, got {value}")
    if not isinstance(bias, bool):
        raise TypeError(f"bias should be of type bool, got: {type(bias).__name__} ({bias!r})")
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")


def cell_inputs(cell, input, hx):
    """Check cell(input, hx) as nn.RNNCell does. Returns X [N, d], H [N, h] (zeros if hx is None) and whether the
    input was one unbatched vector [d], here run as a batch of N = 1."""
    w = cell.weight_ih
    for name, t in (("input", input), ("hx", hx)):
        if t is not None and not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a tensor, got a {type(t).__name__}: a cell takes one step, [N, d] or [d]")
        if t is not None and (t.dtype != w.dtype or t.device != w.device):
            raise ValueError(f"{name} is {t.dtype} on {t.device}, the weights {w.dtype} on {w.device}: "
                             f"convert one, e.g. {name}.to(cell.weight_ih)")
    if input.dim() not in (1, 2):
        raise ValueError(f"ScratchRNNCell: Expected input to be 1D or 2D, got {input.dim()}D instead")
    unbatched = input.dim() == 1
    X = input.unsqueeze(0) if unbatched else input  # [N, d]
    if X.shape[1] != cell.input_size:
        raise RuntimeError(f"input has inconsistent input_size: got {X.shape[1]} expected {cell.input_size}")
    if hx is None:
        return X, X.new_zeros(X.shape[0], cell.hidden_size), unbatched
    want = (cell.hidden_size,) if unbatched else (X.shape[0], cell.hidden_size)
    if tuple(hx.shape) != want:
        kind = "an unbatched input [d]" if unbatched else f"a batch of N = {X.shape[0]}"
        raise RuntimeError(f"hx for {kind} must have shape {want}, got {tuple(hx.shape)}")
    return X, (hx.unsqueeze(0) if unbatched else hx), unbatched


print("cell_settings (constructor arguments) and cell_inputs (input and hx): defined; 'Going deeper' shows them at "
      "work")

# %%
class ScratchRNNCell(nn.Module):
    """nn.RNNCell from scratch: H_t = φ(x W_ihᵀ + b_ih + h_prev W_hhᵀ + b_hh), parameters stored as torch does."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__()
        cell_settings(input_size, hidden_size, bias, nonlinearity)
        self.input_size, self.hidden_size, self.bias, self.nonlinearity = input_size, hidden_size, bias, nonlinearity
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size, **kw))  # W_xhᵀ [h, d]
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))  # W_hhᵀ [h, h]
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(hidden_size, **kw))
            self.bias_hh = nn.Parameter(torch.empty(hidden_size, **kw))
        else:  # as torch does: registered as None
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():  # torch's initialisation: U(-1/√h, 1/√h)
            nn.init.uniform_(p, -bound, bound)

    def forward(self, input, hx=None):
        X, H, unbatched = cell_inputs(self, input, hx)  # X [N, d], H [N, h]
        H_new = rnn_step(X, H, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, self.nonlinearity)
        return H_new[0] if unbatched else H_new

# %% [markdown]
# The parameter count: $W_{xh}$ has $h\,d$ numbers, $W_{hh}$ has $h^2$, the biases $2h$, so
# $h\,(d + h + 2)$ in all, and $h\,(d + h)$ without bias.

# %%
scratch = ScratchRNNCell(d, h)
for name, p in scratch.named_parameters():
    print(f"{name:<10} {list(p.shape)}")
print("parameters:", sum(p.numel() for p in scratch.parameters()), "= h·(d + h + 2) =", h * (d + h + 2))

# %% [markdown]
# ## 6 · Parity: values and gradients
#
# Copy torch's weights in (`load_state_dict`, one line) and compare. The course's check, `parity(scratch, twin,
# *inputs)` (collapsed cell), runs both modules forward and backward on the same inputs (the loss: the sum of the
# squared outputs) and asserts that every output **and every gradient** match: of the input, of `hx`, of each
# parameter. It returns how many tensors it compared.
#
# Why gradients? Our cell gets them from its *own* operations, not from torch's cell: a layer can be right
# forward and wrong backward (a stray `.detach()` or `.data`, or a step run under `torch.no_grad()`, cuts the
# graph: the numbers stay right, the gradients go missing). In **float64** we ask for |Δ| ≤ 1e-12.

# %% hidden
def parity(scratch, twin, *inputs, **tol):
    """Run scratch and twin on the same inputs, forward and backward. Assert (torch.testing.assert_close, **tol)
    that every output and every gradient (of each floating input and of each parameter) match; return the count."""
    def tensors(x):  # the tensors in x, through tuples (an LSTM's (h, c), a PackedSequence)
        return [x] if torch.is_tensor(x) else [t for y in x for t in tensors(y)] if isinstance(x, tuple) else []

    def fresh(x):  # a copy whose floating tensors are new leaves that record gradients
        if torch.is_tensor(x):
            return x.detach().clone().requires_grad_(x.is_floating_point())
        if isinstance(x, tuple):
            parts = [fresh(y) for y in x]
            return type(x)(*parts) if hasattr(x, "_fields") else tuple(parts)
        return x

    runs = []
    for module in (scratch, twin):
        module.zero_grad(set_to_none=True)
        ins = fresh(inputs)
        outs = tensors(module(*ins))
        sum((o**2).sum() for o in outs if o.is_floating_point()).backward()
        runs.append(outs + [t.grad for t in tensors(ins) if t.requires_grad] + [p.grad for p in module.parameters()])
    for ours, theirs in zip(*runs, strict=True):
        torch.testing.assert_close(ours, theirs, **tol)
    return len(runs[0])


print("parity(scratch, twin, *inputs, **tol): defined (click the cell to read it)")

# %%
cell64 = nn.RNNCell(d, h, dtype=torch.float64)
scratch64 = ScratchRNNCell(d, h, dtype=torch.float64)
scratch64.load_state_dict(cell64.state_dict())  # torch → scratch: the whole weight copy
n = parity(scratch64, cell64, x64, h64, **EXACT)
print(f"✓ float64: {n} tensors match to 1e-12: the output, the gradients of input and hx, and of the 4 parameters")

# %% [markdown]
# One setting proves little. The collapsed cell below checks every combination: both nonlinearities, bias or
# not, batched [N, d] or unbatched [d] input, `hx` given or omitted, with weights copied the other way too
# (scratch → torch). It also checks the parameters' names, order and initial values, and a float32 run, where
# the two agree within `assert_close`'s float32 defaults, not to the last bit.

# %% hidden
for bias in (True, False):  # same names, shapes and order; the same seed gives the same initial values
    torch.manual_seed(1)
    t_init = nn.RNNCell(d, h, bias=bias)
    torch.manual_seed(1)
    s_init = ScratchRNNCell(d, h, bias=bias)
    assert [(k, p.shape) for k, p in s_init.named_parameters()] == [(k, p.shape) for k, p in t_init.named_parameters()]
    assert all(torch.equal(a, b) for a, b in zip(s_init.parameters(), t_init.parameters()))
    counts = {sum(p.numel() for p in m.parameters()) for m in (t_init, s_init)}
    assert counts == {h * (d + h + (2 if bias else 0))}, counts
settings = 0
for nonlinearity in ("tanh", "relu"):
    for bias in (True, False):
        for batched in (True, False):
            for give_hx in (True, False):
                kw = {"bias": bias, "nonlinearity": nonlinearity, "dtype": torch.float64}
                t_cell, s_cell = nn.RNNCell(d, h, **kw), ScratchRNNCell(d, h, **kw)
                t_cell.load_state_dict(s_cell.state_dict())  # scratch → torch this time
                x = torch.randn(*((N, d) if batched else (d,)), dtype=torch.float64)
                hx = (torch.randn(*x.shape[:-1], h, dtype=torch.float64),) if give_hx else ()
                parity(s_cell, t_cell, x, *hx, **EXACT)
                settings += 1
cell32, scratch32 = nn.RNNCell(d, h), ScratchRNNCell(d, h)
scratch32.load_state_dict(cell32.state_dict())
parity(scratch32, cell32, torch.randn(N, d), torch.randn(N, h))
print("✓ names, shapes, order, count and initial values of the parameters: as nn.RNNCell's, with and without bias")
print(f"✓ {settings} settings in float64: output and every gradient match to 1e-12")
print("✓ float32: output and every gradient match within assert_close's float32 defaults")

# %% [markdown]
# ## 7 · Why tanh?
#
# The state goes back into the cell at every step. tanh keeps it in (−1, 1), so it cannot grow without bound.
# The price: for large |x| tanh is flat (it **saturates**), its slope is near 0, and gradients through it almost
# vanish. ReLU never saturates for x > 0, but nothing bounds the state. (Sigmoid, drawn for comparison, is not
# in `nn.RNNCell`; the LSTM and GRU of lessons 06–07 use it for their *gates*.)
#
# Below the plot, a positive state goes thirty times through the same $W_{hh}$ (no input, no bias): $1.5\,I$, then
# $-1.5\,I$, both of spectral radius (largest |eigenvalue|) 1.5. The tanh state stays in (−1, 1) with both. The
# ReLU state grows without bound with the first and dies to 0 at the first step with the second: for ReLU, the
# spectral radius alone does not decide.

# %% hidden
x = torch.linspace(-5, 5, 401, requires_grad=True)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for name, f in [("tanh", torch.tanh), ("sigmoid", torch.sigmoid), ("relu", torch.relu)]:
    y = f(x)
    (slope,) = torch.autograd.grad(y.sum(), x)
    axes[0].plot(x.detach(), y.detach(), label=name)
    axes[1].plot(x.detach(), slope, label=name)
for ax, title in zip(axes, ["φ(x)", "slope φ'(x)"]):
    ax.axvspan(-5, -2, color="grey", alpha=0.15)
    ax.axvspan(2, 5, color="grey", alpha=0.15)
    ax.set_title(title)
    ax.set_xlabel("x")
    ax.grid(alpha=0.3)
    ax.legend()
axes[0].set_ylim(-1.2, 2.2)
axes[1].text(3.5, 0.5, "tanh\nsaturated", ha="center", fontsize=9)
plt.tight_layout()
plt.show()
print("  ".join(f"tanh'({v:.0f}) = {1 - math.tanh(v) ** 2:.4f}" for v in (0.0, 1.0, 2.0, 3.0, 5.0)))

relu_after_30 = []
for label, sign in (("+1.5 I", 1.0), ("-1.5 I", -1.0)):  # both of spectral radius 1.5
    W_big = sign * 1.5 * torch.eye(h, dtype=torch.float64)
    H_tanh = H_relu = torch.rand(1, h, dtype=torch.float64) + 0.1  # positive
    for step in range(1, 31):
        H_tanh, H_relu = torch.tanh(H_tanh @ W_big), torch.relu(H_relu @ W_big)
        if step % 10 == 0:
            print(f"W_hh = {label}, step {step:>2}: max|H| tanh = {H_tanh.abs().max():.4f}   "
                  f"relu = {H_relu.abs().max():.3e}")
    assert H_tanh.abs().max() < 1
    relu_after_30.append(H_relu.abs().max().item())
# any positive start: 1.5³⁰ ≈ 2·10⁵ times larger with +1.5 I; every entry negative, so cut to 0, with −1.5 I
assert relu_after_30[0] > 1e4 and relu_after_30[1] == 0

# %% [markdown]
# ## 8 · Play: the shapes of one step
#
# Change the batch size, input size, hidden size and nonlinearity. The drawing shows every matrix of the step
# **to scale**, one square per number; the printout lists the shapes and the parameter count, and checks that
# `ScratchRNNCell` equals `nn.RNNCell` at that size. Predict each shape before you look. Try a size of 0, and
# `sigmoid`.

# %% hidden
def draw_step(N, d, h):
    """Draw X [N,d]·W_xh [d,h] + H [N,h]·W_hh [h,h] + b [h] → H_t [N,h], one small square per number."""
    # Labels use Unicode subscripts, not $…$ mathtext: matplotlib's mathtext parser has failed intermittently
    # inside widget callbacks (ValueError: ParseException), seen in this course's browser test.
    parts = [("Xₜ", N, d, "#cfe2f3"), "·", ("Wₓₕ", d, h, "#fce5cd"), "+", ("Hₜ₋₁", N, h, "#d9ead3"), "·",
             ("Wₕₕ", h, h, "#fce5cd"), "+", ("b", 1, h, "#fce5cd"), "→", ("Hₜ", N, h, "#d9ead3")]
    top = max(N, d, h)
    gap = max(1.8, 0.22 * top)
    fig, ax = plt.subplots(figsize=(11, 3.2))
    x = 0.0
    for part in parts:
        if isinstance(part, str):  # an operator between two matrices
            ax.text(x + gap / 2, top / 2, part, ha="center", va="center", fontsize=16)
            x += gap
            continue
        label, rows, cols, color = part
        y = (top - rows) / 2
        ax.add_patch(plt.Rectangle((x, y), cols, rows, fc=color, ec="black", lw=1))
        for k in range(1, cols):  # the grid: one square per number
            ax.plot([x + k, x + k], [y, y + rows], color="grey", lw=0.3)
        for k in range(1, rows):
            ax.plot([x, x + cols], [y + k, y + k], color="grey", lw=0.3)
        shape = f"[{cols}]" if label == "b" else f"[{rows}, {cols}]"
        ax.text(x + cols / 2, y - 0.08 * top, f"{label}\n{shape}", ha="center", va="top")
        x += cols
    ax.set_xlim(-0.5, x + 0.5)
    ax.set_ylim(-0.5 * top, top * 1.05)
    ax.set_aspect("equal")
    ax.axis("off")
    plt.show()


def show_step(batch=3, input_size=4, hidden_size=5, nonlinearity="tanh"):
    """Widget callback: print the shapes of one step and draw them. Returns the shapes, or None if invalid."""
    for name, value in [("batch", batch), ("input_size", input_size), ("hidden_size", hidden_size)]:
        if value < 1:
            print(f"⚠ {name} = {value}: torch accepts a size of 0, but then there is nothing to compute "
                  f"(an empty {'batch' if name == 'batch' else 'vector'}). Choose at least 1.")
            return None
    try:
        torch_cell = nn.RNNCell(input_size, hidden_size, nonlinearity=nonlinearity)
        torch_cell(torch.zeros(batch, input_size))  # torch only checks the nonlinearity when it runs
    except RuntimeError as err:
        print(f"⚠ nn.RNNCell(nonlinearity={nonlinearity!r}) fails on its first call with: {err}")
        print("  nn.RNNCell supports only 'tanh' and 'relu' (sigmoid lives in the gates of LSTM and GRU).")
        return None
    scratch_cell = ScratchRNNCell(input_size, hidden_size, nonlinearity=nonlinearity)
    scratch_cell.load_state_dict(torch_cell.state_dict())
    x, hx = torch.randn(batch, input_size), torch.randn(batch, hidden_size)
    with torch.no_grad():
        out = scratch_cell(x, hx)
        torch.testing.assert_close(out, torch_cell(x, hx))
    shapes = {"X_t": (batch, input_size), "W_xh = weight_ih.T": (input_size, hidden_size),
              "H_{t-1}": (batch, hidden_size), "W_hh = weight_hh.T": (hidden_size, hidden_size),
              "b = bias_ih + bias_hh": (hidden_size,), "H_t": tuple(out.shape)}
    for name, shape in shapes.items():
        print(f"{name:<22} {list(shape)}")
    params = sum(p.numel() for p in torch_cell.parameters())
    print(f"parameters: {params} (h·d + h·h + 2h)   ✓ ScratchRNNCell equals nn.RNNCell ({nonlinearity})")
    draw_step(batch, input_size, hidden_size)
    return {**shapes, "params": params}

# %%
# NBVAL_IGNORE_OUTPUT
step_ui = widgets.interactive(
    show_step,
    batch=widgets.IntSlider(value=3, min=0, max=16, description="batch N"),
    input_size=widgets.IntSlider(value=4, min=0, max=24, description="input d"),
    hidden_size=widgets.IntSlider(value=5, min=0, max=24, description="hidden h"),
    nonlinearity=widgets.Dropdown(options=["tanh", "relu", "sigmoid"], value="tanh", description="φ"),
)
display(step_ui)

# %% hidden
# The widget's callback in plain cells: an error inside a widget only shows in its output area, where it can hide.
with capture_output():  # the pictures and printouts, already seen in the widget
    result = show_step()
    assert result["H_t"] == (3, 5) and result["params"] == 55
    assert show_step(1, 1, 1, "relu")["params"] == 4
    assert show_step(16, 24, 24, "tanh")["H_t"] == (16, 24)
    assert show_step(3, 0, 5) is None and show_step(0, 4, 5) is None
    assert show_step(3, 4, 5, "sigmoid") is None
print("✓ widget callback checked: defaults, the smallest and largest sizes, a size of 0, and sigmoid")

# %% [markdown]
# ## 9 · One product instead of two
#
# Put $X_t$ and $H_{t-1}$ side by side and stack $W_{xh}$ on top of $W_{hh}$: the two products become one.
#
# $$X_t W_{xh} + H_{t-1} W_{hh} = \underbrace{[X_t,\; H_{t-1}]}_{[N,\, d+h]}\;
# \underbrace{\begin{bmatrix} W_{xh} \\ W_{hh} \end{bmatrix}}_{[d+h,\, h]}$$
#
# Many textbooks write the step this way, with column vectors stacked on top of each other:
# $h_t = \tanh(W\,[x_t; h_{t-1}] + b)$. Their $W$ [h, d + h] is the transpose of our stacked matrix.
#
# **Exercise 2: the stacked weight.** From torch's `w_ih` [h, d] and `w_hh` [h, h], return the stacked matrix
# W [d + h, h], so that `torch.cat([X, H], dim=1) @ W` equals `X @ w_ih.T + H @ w_hh.T` for inputs X [N, d] and
# a state H [N, h]. `torch.cat(tensors, dim)` joins tensors along an axis they already have.

# %% hidden
def check_stacked_weight(fn):
    """Exercise 2: fn(w_ih, w_hh) → W [d + h, h] with cat([X, H], 1) @ W = X W_ihᵀ + H W_hhᵀ, on fixed float64
    weights (d = 4, h = 3), gradients included (run outside no_grad). Returns True/False."""
    with torch.random.fork_rng():
        torch.manual_seed(6)
        ref = nn.RNNCell(4, 3, dtype=torch.float64)
        x, hx = torch.randn(2, 4, dtype=torch.float64), torch.randn(2, 3, dtype=torch.float64)
    w_ih, w_hh = ref.weight_ih.detach().clone().requires_grad_(), ref.weight_hh.detach().clone().requires_grad_()
    try:
        W = fn(w_ih, w_hh)
    except Exception as err:  # report the learner's error instead of raising it
        hint = ("\n  Hint: w_ih is [h, d] = W_xhᵀ and w_hh is [h, h] = W_hhᵀ: transpose each, then stack them "
                "(dim 0)." if "size" in str(err) or "shape" in str(err) else "")
        print(f"✗ stacked_weight raised {type(err).__name__}: {err}{hint}")
        return False
    if W is None:
        print("✗ not done yet: stacked_weight returned None.")
        return False
    if not isinstance(W, torch.Tensor):
        print(f"✗ stacked_weight returned a {type(W).__name__}: return one tensor W [d + h, h].")
        return False
    if tuple(W.shape) != (7, 3):
        hint = (": that is [h, d + h], the textbook's W for column vectors; ours is its transpose"
                if tuple(W.shape) == (3, 7) else "")
        print(f"✗ W has shape {tuple(W.shape)}, expected [d + h, h] = (7, 3){hint}.")
        return False
    if W.dtype != w_ih.dtype:
        print(f"✗ the weights are {w_ih.dtype}, W is {W.dtype}: keep their dtype (no .float()).")
        return False
    with torch.no_grad():
        a, b_ = w_ih.detach(), w_hh.detach()
        slips = [(torch.cat([b_.T, a.T]), "W_xh goes on top: [X, H] meets the rows of W in that order, X first"),
                 (torch.cat([a.T, b_]), "transpose w_hh too: its block is W_hh = w_hh.T"),
                 (torch.cat([a, b_], 1).reshape(7, 3), "reshape reorders the numbers: transpose with .T instead")]
        Wv = W.detach()
        if not torch.allclose(Wv, torch.cat([a.T, b_.T]), rtol=0.0, atol=1e-12):
            hint = next((msg for wrong, msg in slips if torch.allclose(Wv, wrong, rtol=0.0, atol=1e-12)),
                        "rows 0 … d−1 of W are W_xh = w_ih.T, the next h rows W_hh = w_hh.T")
            print(f"✗ wrong values. Hint: {hint}.")
            return False
    try:
        loss = (torch.cat([x, hx], 1) @ W).pow(2).sum()
        grads = torch.autograd.grad(loss, [w_ih, w_hh], allow_unused=True)
    except RuntimeError:  # W records no gradient
        grads = [None]
    if any(g is None for g in grads):
        print("✗ right numbers, but no gradient reaches w_ih and w_hh through W: no .detach() or .data, or a "
              "model that uses W would not learn.")
        return False
    print("✓ stacked_weight is right: one product [X, H] @ W does the work of two.")
    return True

# %%
def stacked_weight(w_ih, w_hh):
    ...  # your code here: return W [d + h, h]

# %%
exercise_2_passed = check_stacked_weight(stacked_weight)

# %% [markdown]
# ## 10 · Three steps: the state carries the past
#
# **Exercise 3.** Given an `nn.RNNCell` and three inputs `xs` of shape [3, N, d] (step, batch, features), return
# the state after the third step, $H_3$, starting from a zero state. Call `cell` once per step. What does each
# step need from the one before? (Lesson 02 turns this into a loop over whole sequences.)

# %% hidden
def check_three_steps(fn):
    """Exercise 3: compare fn with a correct unrolling (T = 3, N = 2, d = 5, h = 4); diagnose the usual mistakes.
    Returns True/False."""
    with torch.random.fork_rng():  # private random numbers: your own seed is left alone
        torch.manual_seed(3)
        c, xs = nn.RNNCell(5, 4), torch.randn(3, 2, 5)
    with torch.no_grad():
        states = [torch.zeros(2, 4)]
        for x_t in xs:
            states.append(c(x_t, states[-1]))
        try:
            got = fn(c, xs)
        except Exception as err:  # show the learner's error instead of raising it
            print(f"✗ three_steps raised {type(err).__name__}: {err}")
            return False
        if got is None:
            print("✗ not done yet: three_steps returned None.")
            return False
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != (2, 4):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            print(f"✗ expected H_3 of shape (2, 4) = [N, h], got {shape}. Return only the last state.")
            return False
        hints = [(c(xs[2]), "each step must get the previous state: cell(x_t, H), not cell(x_t)"),
                 (states[1], "that is H_1: loop over all three steps"),
                 (states[2], "that is H_2: one step is missing"),
                 (c(xs[0], c(xs[1], c(xs[2]))), "the steps run in order x_1, x_2, x_3, not backwards")]
        if not torch.allclose(got, states[3], atol=1e-6):
            hint = next((msg for wrong, msg in hints if torch.allclose(got, wrong, atol=1e-6)),
                        "feed each H_t to the next step")
            print(f"✗ wrong values. Hint: {hint}.")
            return False
    print("✓ three_steps returns H_3: you have unrolled an RNN (lesson 02 does this for whole sequences).")
    return True

# %%
def three_steps(cell, xs):
    ...  # your code here: return H_3 of shape [N, h]

# %%
exercise_3_passed = check_three_steps(three_steps)

# %% [markdown]
# Back to the phone keyboard of the introduction. Over the alphabet `"mot"`, each letter becomes a **one-hot**
# vector of d = 3 numbers (a 1 at the letter's index). A `ScratchRNNCell` reads "tom" and "mom", one letter per
# step, unbatched (input [3], state [h]). The last two letters are the same, yet the final states differ: the
# first letter is still in the memory, which is what lets a keyboard guess what comes next.

# %%
letters = "mot"
reader = ScratchRNNCell(len(letters), h, dtype=torch.float64)


def read(word):
    state = None  # None: start from zeros
    for ch in word:
        state = reader(F.one_hot(torch.tensor(letters.index(ch)), len(letters)).double(), state)
    return state


for word in ("tom", "mom"):
    print(f"H after {word!r}:", "  ".join(f"{v:+.4f}" for v in read(word).tolist()))
assert not torch.allclose(read("tom"), read("mom"))  # the same last two letters, different states

# %% [markdown]
# ## 11 · On a GPU
#
# The same `parity` check on CUDA, in float64 (to 1e-12) and in float32. Plain CUDA matmuls use full float32 by
# default; the cell makes sure TF32, which rounds to about 1e-3, is off. Without a GPU it prints one line.

# %% hidden
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    saved_tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False  # compare in full float32
    for dtype, tol in [(torch.float64, EXACT), (torch.float32, {})]:
        t_cell = nn.RNNCell(d, h, device=DEVICE, dtype=dtype)
        s_cell = ScratchRNNCell(d, h, device=DEVICE, dtype=dtype)
        s_cell.load_state_dict(t_cell.state_dict())
        xg, hg = torch.randn(64, d, device=DEVICE, dtype=dtype), torch.randn(64, h, device=DEVICE, dtype=dtype)
        n = parity(s_cell, t_cell, xg, hg, **tol)
        print(f"✓ {torch.cuda.get_device_name()} {dtype}: {n} tensors match "
              f"({'|Δ| ≤ 1e-12' if tol else 'float32 defaults of assert_close, TF32 off'})")
    torch.backends.cuda.matmul.allow_tf32 = saved_tf32
else:
    print("No GPU here: skipped (with one, this cell repeats the parity check on CUDA).")

# %% [markdown]
# ## 12 · Summary
#
# | | |
# |---|---|
# | the step | $H_t = \varphi(X_t W_{xh} + H_{t-1} W_{hh} + b)$, φ = tanh (or ReLU) |
# | shapes | $X_t$ [N, d] · $W_{xh}$ [d, h] + $H_{t-1}$ [N, h] · $W_{hh}$ [h, h] + b [h] → $H_t$ [N, h] |
# | torch | `nn.RNNCell(input_size=d, hidden_size=h, bias=True, nonlinearity="tanh")`, called as `cell(X, hx)` |
# | torch's layout | `weight_ih` = $W_{xh}^\top$ [h, d], `weight_hh` = $W_{hh}^\top$ [h, h], $b$ = `bias_ih + bias_hh` |
# | the course's step | `rnn_step(x, h_prev, w_ih, w_hh, b_ih, b_hh)`: `F.linear(x, w_ih, b_ih) + F.linear(h_prev, w_hh, b_hh)`, then φ |
# | inputs | batched [N, d] or unbatched [d]; `hx` omitted = zeros |
# | one product | $[X_t, H_{t-1}]\,[W_{xh}; W_{hh}]$ |
# | parameters | $h\,(d + h + 2)$; without bias $h\,(d + h)$ |
# | why tanh | a bounded state in (−1, 1); it saturates (slope → 0) for large inputs |
# | parity | `load_state_dict` both ways; `parity(scratch, twin, *inputs)`: outputs and all gradients, float64 |
#
# **Next:** lesson 02 runs this step over a whole sequence: `nn.RNN` and `ScratchRNN`.

# %% [markdown] collapsed
# ## Going deeper: one entry by hand

# %% [markdown]
# Nothing magic happens in the matrix products. One entry of $H_t$, row 0 and column 2, written with plain
# Python loops, equals the same entry of the matrix version.

# %%
i, j = 0, 2
pre = sum(X[i, k] * W_xh[k, j] for k in range(d)) + sum(H_prev[i, m] * W_hh[m, j] for m in range(h)) + b[j]
torch.testing.assert_close(torch.tanh(pre), H_t[i, j])
print(f"H_t[{i}, {j}] by loops: {torch.tanh(pre):.4f}   by matrices: {H_t[i, j]:.4f}   ✓ equal")

# %% [markdown] collapsed
# ## Going deeper: four traps

# %% [markdown]
# **Trap 1: forgetting that torch stores the transpose.** Using `weight_ih` as if it were $W_{xh}$ fails loudly
# when d ≠ h, but when d = h it runs and gives **wrong numbers**, silently. Only a comparison with torch catches it.

# %%
try:
    X @ cell.weight_ih  # wrong on purpose: [N, d] @ [h, d]
except RuntimeError as err:
    print("d ≠ h:", err)
square = nn.RNNCell(5, 5)
x5, h5 = torch.randn(N, 5), torch.randn(N, 5)
with torch.no_grad():
    wrong = torch.tanh(x5 @ square.weight_ih + h5 @ square.weight_hh + square.bias_ih + square.bias_hh)
    try:
        torch.testing.assert_close(wrong, square(x5, h5))
    except AssertionError as err:
        print("d = h: no error, but assert_close says:", str(err).splitlines()[0])

# %% [markdown]
# **Trap 2: `nonlinearity` is only checked when the cell runs.** `nn.RNNCell(…, nonlinearity="sigmoid")` is
# built without complaint and fails at its first call. `ScratchRNNCell` refuses at construction, where the
# mistake is.

# %%
bad = nn.RNNCell(d, h, nonlinearity="sigmoid")
print("nn.RNNCell built:", bad)
for make in (lambda: bad(X), lambda: ScratchRNNCell(d, h, nonlinearity="sigmoid")):
    try:
        make()
    except (RuntimeError, ValueError) as err:
        print(f"{type(err).__name__}: {err}")

# %% [markdown]
# **Trap 3: one bias is the same maths, but not the same module.** A cell with a single bias `b = bias_ih +
# bias_hh` computes the same outputs, yet torch's weights will not load into it: `load_state_dict` matches by
# **name**.

# %%
class OneBiasCell(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.weight_ih, self.weight_hh = nn.Parameter(torch.empty(h, d)), nn.Parameter(torch.empty(h, h))
        self.bias = nn.Parameter(torch.empty(h))

    def forward(self, x, hx):
        return torch.tanh(x @ self.weight_ih.T + hx @ self.weight_hh.T + self.bias)


one_bias = OneBiasCell(d, h)
with torch.no_grad():  # copy by hand, folding the two biases into one
    one_bias.weight_ih.copy_(cell.weight_ih), one_bias.weight_hh.copy_(cell.weight_hh)
    one_bias.bias.copy_(cell.bias_ih + cell.bias_hh)
    torch.testing.assert_close(one_bias(X, H_prev), cell(X, H_prev))
print("✓ one bias: the same outputs as nn.RNNCell (float32 defaults)")
try:
    OneBiasCell(d, h).load_state_dict(cell.state_dict())
except RuntimeError as err:
    print(str(err).replace("\n\t", " "))

# %% [markdown]
# **Trap 4: unbatched input gives unbatched output, and `hx` must match it.** A single vector [d] gives a state
# [h] (not [1, h]), and its `hx` must be [h] too.

# %%
x1 = torch.randn(d)
print("input", list(x1.shape), "with hx", [h], "→ output", list(cell(x1, torch.zeros(h)).shape))
for module in (cell, scratch):
    try:
        module(x1, torch.zeros(2, h))
    except RuntimeError as err:
        print(f"{type(module).__name__}: {err}")

# %% [markdown] collapsed
# ## Going deeper: what `ScratchRNNCell` refuses

# %% [markdown]
# A scratch module must never return a wrong answer: what it cannot take, it refuses with a message that names
# the problem. Here are the usual mistakes, side by side: what `nn.RNNCell` says, and what `ScratchRNNCell` says.
# Where torch builds a cell it should not (`bias=0`, a size of 0), the scratch cell refuses at construction.

# %%
bad_calls = [("hx of batch 1 for a batch of 3", X, torch.zeros(1, h)),
             ("hx one column too wide", X, torch.zeros(N, h + 1)),
             ("wrong feature size", torch.randn(N, d + 1), None),
             ("3-D input", torch.randn(2, N, d), None),
             ("float64 input, float32 weights", X.double(), None)]
for label, x, hx in bad_calls:
    print(label)
    for module in (cell, scratch):
        try:
            module(x, hx)
        except (RuntimeError, ValueError) as err:
            print(f"  {type(module).__name__:<15} {type(err).__name__}: {err}")
for kwargs in ({"bias": 0}, {"bias": "True"}, {"hidden_size": 0}, {"input_size": 0}):
    try:
        ScratchRNNCell(**{"input_size": d, "hidden_size": h, **kwargs})
    except (TypeError, ValueError) as err:
        print(f"ScratchRNNCell({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) {type(err).__name__}: {err}")

# %% [markdown]
# ## Solutions
#
# Collapsed so that they stay out of the way: click a cell to expand it. Each solution goes through its checker
# (and must pass); then deliberately wrong answers show what the checkers say.

# %% solution
def my_rnn_step_solution(x, h_prev, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    a = x @ w_ih.T + b_ih + h_prev @ w_hh.T + b_hh  # torch stores W_xhᵀ and W_hhᵀ: .T turns them back
    return torch.relu(a) if nonlinearity == "relu" else torch.tanh(a)


def stacked_weight_solution(w_ih, w_hh):
    return torch.cat([w_ih.T, w_hh.T], dim=0)  # [d + h, h]: W_xh on top of W_hh


def three_steps_solution(cell, xs):
    H = torch.zeros(xs.shape[1], cell.hidden_size)
    for x_t in xs:  # each step feeds its state to the next
        H = cell(x_t, H)
    return H


assert check_rnn_step(my_rnn_step_solution)
assert check_stacked_weight(stacked_weight_solution)
assert check_three_steps(three_steps_solution)

# %% solution
# What the checkers say to three common mistakes:
assert not check_rnn_step(lambda x, h_prev, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh":
                          torch.tanh(x @ w_ih.T + h_prev @ w_hh.T + b_ih))
assert not check_stacked_weight(lambda w_ih, w_hh: torch.cat([w_hh.T, w_ih.T]))
assert not check_three_steps(lambda c, xs: c(xs[2]))
