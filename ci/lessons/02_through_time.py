# %% [markdown]
# # 02 · Through time: `ScratchRNN` beside `nn.RNN`
#
# Lesson 01 built one step of a recurrent network. A sequence is that step applied again and again, the
# state of each step feeding the next:
#
# $$H_t = \varphi\left(X_t W_{xh} + H_{t-1} W_{hh} + b\right), \qquad t = 1, \dots, T$$
#
# In this lesson you run the step over a whole sequence with a plain Python loop, then build `ScratchRNN`,
# a drop-in twin of PyTorch's `nn.RNN` (one layer for now), and **prove** that the two agree, values and
# gradients, for every setting the constructor and the forward pass allow. Along the way you meet the two
# things that confuse almost everyone who uses `nn.RNN`: what `output` and `h_n` are, and what `batch_first`
# does (and does not) change.
#
# **You should know:** lesson 01 (the step, torch's weight layout `weight_ih` = $W_{xh}^\top$, the two biases,
# `load_state_dict`), matrix products and their shapes, and what `loss.backward()` does.
#
# **Contents:** 1 · from one step to a sequence · 2 · torch's `nn.RNN` · 3 · `ScratchRNN` · 4 · the two
# examples from the docs · 5 · proof of parity · 6 · `batch_first` and its traps · 7 · an output layer on top ·
# 8 · a look ahead: $h_n$ depends on every step · 9 · play with the shapes · 10 · exercises · 11 · on a GPU ·
# 12 · summary · solutions

# %% [markdown]
# ## Setup
# Every lesson starts the same way: imports, a fixed seed (so your numbers match the ones printed here),
# four decimals when printing tensors, and the device, used only by the GPU cell near the end.

# %%
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
from IPython.display import display

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # only the GPU cell uses it

# %% [markdown]
# ## 1 · From one step to a sequence
#
# **Recap of lesson 01.** One step takes the inputs of step $t$ and the previous state, and returns the new state:
#
# | symbol | shape | what it is |
# |---|---|---|
# | $X_t$ | [N, d] | the inputs at step $t$: one row per sequence in the batch of $N$ |
# | $H_{t-1}$, $H_t$ | [N, h] | the state before and after the step ($H_0$: zeros unless given) |
# | $W_{xh}$, $W_{hh}$, $b$ | [d, h], [h, h], [h] | the weights, **the same at every step** |
#
# A sequence of $T$ steps stacks the inputs into one tensor **X** of shape [T, N, d]: `X[t]` is one step's
# [N, d] slice. Running the step $T$ times gives $T$ states, and the network returns two things:
#
# - **output** = all the states $H_1, \dots, H_T$, stacked: [T, N, h] (not $H_0$: it is an input, not a result);
# - **h_n** = the last state $H_T$ alone, with an extra leading axis of size 1: [1, N, h]. That axis counts
#   *layers*: a deep RNN (lesson 04) returns one final state per layer.
#
# ![The RNN unrolled in time: H_0 enters the first copy of the cell, each cell takes X_t and the previous state and gives H_t; output stacks H_1 to H_T, and H_T is also h_n[0]](attachment:rnn_unrolled.png)
#
# We use four **different** sizes, T = 6, N = 3, d = 4, h = 5, so that any mix-up of dimensions shows up as
# a shape error instead of hiding. Python counts from 0: `X[0]` is $X_1$, `output[0]` is $H_1$ and
# `output[-1]` is $H_T$.

# %%
T, N, d, h = 6, 3, 4, 5


def check_shape(tensor, shape):
    assert tuple(tensor.shape) == tuple(shape), f"expected shape {tuple(shape)}, got {tuple(tensor.shape)}"


def rnn_step(X, H_prev, W_xh, W_hh, b, phi=torch.tanh):
    """Lesson 01: H_t = φ(X_t W_xh + H_{t-1} W_hh + b).  X [N, d], H_prev [N, h] → [N, h]."""
    return phi(X @ W_xh + H_prev @ W_hh + b)


def unroll(X, H, W_xh, W_hh, b, phi=torch.tanh):
    """Run rnn_step over X [T, N, d], starting from H = H_0 [N, h]. Return output [T, N, h], h_n [1, N, h]."""
    states = []
    for t in range(X.shape[0]):
        H = rnn_step(X[t], H, W_xh, W_hh, b, phi)  # H_{t+1} from X[t] and the previous state
        states.append(H)
    return torch.stack(states), H.unsqueeze(0)

# %% [markdown]
# Run it on a random sequence and look at the shapes. The last row of `output` *is* `h_n[0]`: the same
# numbers, bit for bit (`torch.equal`), because they are the same state.

# %%
X = torch.randn(T, N, d)
W_xh, W_hh, b = torch.randn(d, h) * 0.5, torch.randn(h, h) * 0.5, torch.randn(h) * 0.1
output, h_n = unroll(X, torch.zeros(N, h), W_xh, W_hh, b)
check_shape(output, (T, N, h))
check_shape(h_n, (1, N, h))
print(f"X      {list(X.shape)}   T steps of [N, d]")
print(f"output {list(output.shape)}   H_1 … H_T, one [N, h] state per step")
print(f"h_n    {list(h_n.shape)}   H_T, with a leading layer axis")
assert torch.equal(output[-1], h_n[0])
print("✓ output[-1] equals h_n[0]: the last state, returned twice")

# %% [markdown]
# ## 2 · torch's `nn.RNN`
#
# `nn.RNN(input_size, hidden_size)` is exactly this loop, with torch's weights. Its parameters are lesson 01's
# four, with a suffix `_l0`: **layer 0**. With `num_layers > 1` (lesson 04) there are `_l1`, `_l2`, … too.

# %%
rnn = nn.RNN(input_size=d, hidden_size=h)
print(rnn)
for name, p in rnn.named_parameters():
    print(f"  {name:<13} {tuple(p.shape)}")

# %% [markdown]
# | our name | torch | shape in torch |
# |---|---|---|
# | $W_{xh}$ | `weight_ih_l0.T` | [h, d] |
# | $W_{hh}$ | `weight_hh_l0.T` | [h, h] |
# | $b$ | `bias_ih_l0 + bias_hh_l0` | [h] + [h] |
#
# Its input is **sequence first** by default: (T, N, d), the layout of our `X`. (`X[t]` is then one step for
# the whole batch; section 6 shows the other layout, `batch_first=True`.) It returns the pair
# `(output, h_n)`, and an initial state `h0` of shape (1, N, h) is optional: omitted, it is zeros.
#
# With that mapping our loop reproduces `nn.RNN`. Each comparison is an assertion, so a wrong formula stops
# the notebook instead of printing a hopeful message; `check` prints a one-line verdict when it passes.

# %%
def check(label, ours, theirs, **tol):
    """Assert that ours equals theirs within tolerance, then print a one-line verdict."""
    torch.testing.assert_close(ours, theirs, **tol)
    if not tol:
        how = "within float32 defaults"
    else:
        how = "bit for bit" if tol["atol"] == tol["rtol"] == 0 else f"|Δ| ≤ {tol['atol']:.0e}"
    print(f"✓ {label:<34} matches, {how}")


with torch.no_grad():
    t_output, t_h_n = rnn(X)  # h0 omitted: zeros
    ours = unroll(X, torch.zeros(N, h), rnn.weight_ih_l0.T, rnn.weight_hh_l0.T, rnn.bias_ih_l0 + rnn.bias_hh_l0)
    check("output: our loop vs nn.RNN", ours[0], t_output)
    check("h_n: our loop vs nn.RNN", ours[1], t_h_n)
    check("h0 omitted means zeros", rnn(X, torch.zeros(1, N, h))[0], t_output, atol=0.0, rtol=0.0)

# %% [markdown]
# ## 3 · `ScratchRNN`: a drop-in twin of `nn.RNN`
#
# A module with **`nn.RNN`'s constructor signature and defaults**, `input_size, hidden_size, num_layers=1,
# nonlinearity="tanh", bias=True, batch_first=False, dropout=0.0, bidirectional=False, device=None,
# dtype=None`, and **torch's parameter names, shapes and order**, so that `load_state_dict` copies weights
# either way. Initialisation follows torch: every parameter from $U(-1/\sqrt{h}, 1/\sqrt{h})$.
#
# Two details that matter for `load_state_dict`: with `bias=False`, `nn.RNN` has **no** bias parameters at all
# (not even `None` placeholders, unlike `nn.RNNCell`), so neither do we. And settings that later lessons add
# (more layers, two directions, dropout between layers) are refused, with a message that names the lesson that adds them.

# %%
class ScratchRNN(nn.Module):
    """One layer, one direction: H_t = φ(X_t W_xh + H_{t-1} W_hh + b), stored as torch stores it."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__()
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        if input_size < 1 or hidden_size < 1:
            raise ValueError(f"input_size and hidden_size must be at least 1, got {input_size} and {hidden_size}")
        if num_layers != 1:
            raise NotImplementedError(f"num_layers={num_layers}: ScratchRNN has one layer for now; lesson 04 stacks layers")
        if dropout != 0:
            raise NotImplementedError(f"dropout={dropout}: dropout acts between stacked layers, which come in lesson 04")
        if bidirectional:
            raise NotImplementedError("bidirectional=True: the reverse direction comes in lesson 05")
        self.input_size, self.hidden_size, self.num_layers, self.nonlinearity = input_size, hidden_size, 1, nonlinearity
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, 0.0, False
        kw = {"device": device, "dtype": dtype}
        self.weight_ih_l0 = nn.Parameter(torch.empty(hidden_size, input_size, **kw))  # W_xh.T
        self.weight_hh_l0 = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))  # W_hh.T
        if bias:  # bias=False: simply absent, as in nn.RNN
            self.bias_ih_l0 = nn.Parameter(torch.empty(hidden_size, **kw))
            self.bias_hh_l0 = nn.Parameter(torch.empty(hidden_size, **kw))
        bound = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

# %% [markdown]
# The refusals, once each (`nn.RNN` checks `nonlinearity` when it is built, too, unlike `nn.RNNCell`):

# %%
for kwargs in ({"num_layers": 2}, {"dropout": 0.2}, {"bidirectional": True}, {"nonlinearity": "sigmoid"}):
    try:
        ScratchRNN(d, h, **kwargs)
    except (NotImplementedError, ValueError) as err:
        print(f"ScratchRNN(d, h, {', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) → {type(err).__name__}: {err}")

# %% [markdown]
# Before the loop, the forward pass checks its inputs and brings them to one layout, **X [T, N, d]** and
# **H [N, h]**, whatever the caller passed: batched (T, N, d), batch-first (N, T, d), or a single unbatched
# sequence (T, d) with `hx` of shape (1, h). Every check says what it expected and what it got.

# %%
def prepare_inputs(self, input, hx):
    """Validate like nn.RNN, with clearer messages. Return X [T, N, d], H_0 [N, h], and whether unbatched."""
    if input.dim() not in (2, 3):
        layout = "(N, T, d)" if self.batch_first else "(T, N, d)"
        raise ValueError(f"expected input (T, d) or {layout}, got a {input.dim()}-D tensor {tuple(input.shape)}")
    unbatched = input.dim() == 2  # batch_first is ignored for unbatched input, as in torch
    X = input.unsqueeze(1) if unbatched else input.transpose(0, 1) if self.batch_first else input
    T_, N_, d_ = X.shape
    if d_ != self.input_size:
        raise RuntimeError(f"input has {d_} features in its last dimension, expected input_size={self.input_size}")
    if T_ == 0:
        raise RuntimeError("the sequence is empty (T = 0 steps): no step to run, no last state to return")
    if hx is None:
        return X, torch.zeros(N_, self.hidden_size, dtype=X.dtype, device=X.device), unbatched
    want = (1, self.hidden_size) if unbatched else (1, N_, self.hidden_size)
    if tuple(hx.shape) != want:
        hint = (" Add the layer axis: hx.unsqueeze(0)." if tuple(hx.shape) == want[1:] else
                " batch_first applies to input and output only: h0 stays (num_layers, N, h)." if self.batch_first else "")
        which = ("hx for unbatched input must be (num_layers, h)" if unbatched
                 else f"hx for a batch of N = {N_} must be (num_layers, N, h)")
        raise RuntimeError(f"{which} = {want}, got {tuple(hx.shape)}.{hint}")
    return X, (hx if unbatched else hx[0]), unbatched

# %% [markdown]
# And the forward pass itself: the loop of section 1, written with torch's parameters. The recurrence is one
# line and reads like the formula; `b` is lesson 01's single bias, `bias_ih_l0 + bias_hh_l0`. (`extra_repr`
# only sets what `print(module)` shows.)

# %%
def scratch_rnn_forward(self, input, hx=None):
    X, H, unbatched = self.prepare_inputs(input, hx)  # X [T, N, d], H = H_0 [N, h]
    phi = torch.tanh if self.nonlinearity == "tanh" else torch.relu
    b = self.bias_ih_l0 + self.bias_hh_l0 if self.bias else 0.0  # b = b_ih + b_hh
    states = []
    for t in range(X.shape[0]):
        H = phi(X[t] @ self.weight_ih_l0.T + H @ self.weight_hh_l0.T + b)  # H_t = φ(X_t W_xh + H_{t-1} W_hh + b)
        states.append(H)
    output = torch.stack(states)  # [T, N, h]: H_1 … H_T
    if unbatched:
        return output.squeeze(1), H  # (T, h) and h_n (1, h)
    if self.batch_first:
        output = output.transpose(0, 1)  # (N, T, h); h_n keeps (1, N, h)
    return output, H.unsqueeze(0)


def scratch_rnn_repr(self):
    flags = [("bias=False", not self.bias), ("batch_first=True", self.batch_first),
             ("nonlinearity=relu", self.nonlinearity == "relu")]
    return ", ".join([f"{self.input_size}, {self.hidden_size}"] + [text for text, on in flags if on])


ScratchRNN.prepare_inputs, ScratchRNN.forward, ScratchRNN.extra_repr = prepare_inputs, scratch_rnn_forward, scratch_rnn_repr

# %% [markdown]
# Same names, shapes and order as `nn.RNN`, with and without bias, and even the same initial values when both
# start from the same seed (torch draws every parameter from $U(-1/\sqrt{h}, 1/\sqrt{h})$, in registration order).
# Then one run with torch's weights copied in.

# %%
scratch = ScratchRNN(d, h)
print(scratch)
for bias in (True, False):
    torch.manual_seed(1)
    t_init = nn.RNN(d, h, bias=bias)
    torch.manual_seed(1)
    s_init = ScratchRNN(d, h, bias=bias)
    names = [(n, tuple(p.shape)) for n, p in t_init.named_parameters()]
    assert [(n, tuple(p.shape)) for n, p in s_init.named_parameters()] == names
    assert list(s_init.state_dict()) == list(t_init.state_dict()) == [n for n, _ in names]
    assert all(torch.equal(a, b) for a, b in zip(s_init.parameters(), t_init.parameters()))
    print(f"✓ bias={str(bias):<5} same parameters as nn.RNN: {', '.join(n for n, _ in names)}")
print("✓ same seed, same initial values, bit for bit: U(-1/√h, 1/√h), drawn in the same order")

scratch.load_state_dict(rnn.state_dict())  # torch -> scratch: the whole copy
with torch.no_grad():
    s_output, s_h_n = scratch(X)
    check("ScratchRNN output vs nn.RNN", s_output, t_output)
    check("ScratchRNN h_n vs nn.RNN", s_h_n, t_h_n)

# %% [markdown]
# A **single, unbatched** sequence (T, d) gives output (T, h) and h_n (1, h): the layer axis stays, only the
# batch axis is gone. An `hx` for it is (1, h) too, not (h,):

# %%
x1 = torch.randn(T, d)
with torch.no_grad():
    out1, hn1 = rnn(x1)
    check("unbatched output: ScratchRNN", scratch(x1)[0], out1)
    check("unbatched h_n: ScratchRNN", scratch(x1)[1], hn1)
print(f"input {list(x1.shape)} → output {list(out1.shape)}, h_n {list(hn1.shape)}")
for module in (rnn, scratch):
    try:
        module(x1, torch.zeros(h))
    except RuntimeError as err:
        print(f"{type(module).__name__:<10} hx of shape ({h},): {err}")

# %% [markdown]
# The usual mistakes, side by side: what `nn.RNN` says and what `ScratchRNN` says.

# %%
bad_calls = [("wrong feature size", torch.randn(T, N, d + 1), None),
             ("h0 without the layer axis", X, torch.zeros(N, h)),
             ("h0 for another batch size", X, torch.zeros(1, N + 1, h)),
             ("1-D input", torch.randn(d), None),
             ("4-D input", torch.randn(2, T, N, d), None),
             ("empty sequence", torch.randn(0, N, d), None)]
for label, x, hx in bad_calls:
    print(label)
    for module in (rnn, scratch):
        try:
            module(x, hx)
        except (RuntimeError, ValueError) as err:
            print(f"  {type(module).__name__:<10} {type(err).__name__}: {err}")
        else:
            print(f"  {type(module).__name__:<10} no error!")

# %% [markdown]
# ## 4 · The two examples from the docs
#
# PyTorch's documentation and tutorials use these two calls (one layer here). Both modules, same weights, same
# shapes, same numbers; and in both, the last step of `output` is `h_n[0]`.

# %%
def twin(torch_rnn):
    """A ScratchRNN with torch_rnn's settings, dtype, device and a copy of its weights."""
    w = torch_rnn.weight_ih_l0
    s = ScratchRNN(torch_rnn.input_size, torch_rnn.hidden_size, nonlinearity=torch_rnn.nonlinearity,
                   bias=torch_rnn.bias, batch_first=torch_rnn.batch_first, device=w.device, dtype=w.dtype)
    s.load_state_dict(torch_rnn.state_dict())
    return s


examples = [(nn.RNN(10, 20), torch.randn(5, 3, 10), torch.randn(1, 3, 20), (5, 3, 20), (1, 3, 20)),
            (nn.RNN(input_size=1027, hidden_size=256), torch.randn(35, 2, 1027), None, (35, 2, 256), (1, 2, 256))]
for torch_rnn, x, h0, out_shape, hn_shape in examples:
    with torch.no_grad():
        (out_t, hn_t), (out_s, hn_s) = torch_rnn(x, h0), twin(torch_rnn)(x, h0)
    for out, hn in ((out_t, hn_t), (out_s, hn_s)):
        check_shape(out, out_shape)
        check_shape(hn, hn_shape)
        assert torch.equal(out[-1], hn[0])
    torch.testing.assert_close(out_s, out_t)
    torch.testing.assert_close(hn_s, hn_t)
    print(f"{torch_rnn}: input {list(x.shape)}, h0 {list(h0.shape) if h0 is not None else 'omitted'}"
          f" → output {list(out_t.shape)}, h_n {list(hn_t.shape)}")
    print("  ✓ output[-1] == h_n[0] for both   ✓ ScratchRNN matches nn.RNN (float32 defaults)")

# %% [markdown]
# ## 5 · Proof of parity: values and gradients
#
# `parity` runs both modules forward on the same input and state, then backward with the same **random
# upstream gradients on both outputs**, `(output * g1).sum() + (h_n * g2).sum()`, so that every path counts:
# through every step's output and through the final state. It compares `output`, `h_n`, and the gradients
# with respect to the input, `h0` and every parameter, and returns how many tensors it compared.
#
# In **float64** the two must agree to rounding: we ask for |Δ| ≤ 1e-12 (`atol=1e-12, rtol=0`).

# %%
def parity(torch_rnn, scratch_rnn, X, hx=None, **tol):
    """Run both forward and backward; assert output, h_n and every gradient match. Return the count."""
    x_t, x_s = X.clone().requires_grad_(), X.clone().requires_grad_()
    h_t = h_s = None
    if hx is not None:
        h_t, h_s = hx.clone().requires_grad_(), hx.clone().requires_grad_()
    (out_t, hn_t), (out_s, hn_s) = torch_rnn(x_t, h_t), scratch_rnn(x_s, h_s)
    torch.testing.assert_close(out_s, out_t, **tol, msg=lambda m: f"output differs: {m}")
    torch.testing.assert_close(hn_s, hn_t, **tol, msg=lambda m: f"h_n differs: {m}")
    g1, g2 = torch.randn_like(out_t), torch.randn_like(hn_t)  # random upstream gradients
    ((out_t * g1).sum() + (hn_t * g2).sum()).backward()
    ((out_s * g1).sum() + (hn_s * g2).sum()).backward()
    pairs = [("input", x_s.grad, x_t.grad)] + ([("h0", h_s.grad, h_t.grad)] if hx is not None else [])
    torch_params = dict(torch_rnn.named_parameters())
    pairs += [(name, p.grad, torch_params[name].grad) for name, p in scratch_rnn.named_parameters()]
    for name, g_s, g_t in pairs:
        torch.testing.assert_close(g_s, g_t, **tol, msg=lambda m, name=name: f"gradient of {name} differs: {m}")
    return 2 + len(pairs)


EXACT = {"atol": 1e-12, "rtol": 0.0}  # float64: equal up to rounding
rnn64 = nn.RNN(d, h, dtype=torch.float64)
X64, H64 = torch.randn(T, N, d, dtype=torch.float64), torch.randn(1, N, h, dtype=torch.float64)
n = parity(rnn64, twin(rnn64), X64, H64, **EXACT)  # twin: torch -> scratch
print(f"✓ float64: output, h_n and {n - 2} gradients (input, h0, 4 parameters) match nn.RNN, |Δ| ≤ 1e-12")

# %% [markdown]
# One configuration proves little. Here is every combination: both nonlinearities, with and without bias,
# `batch_first` off and on, batched and unbatched input, `h0` given or omitted (zeros). This time the weights go
# **the other way**: fresh random weights of the scratch module are loaded into torch's. Each entry is the number
# of tensors compared; each ✓ is an assertion that passed.

# %%
print(f"{'':<36}{'batched':<16}unbatched (T, d)")
print(f"{'φ':<6}{'bias':<7}{'batch_first':<12}{'input':<11}{'h0':<8}{'zeros':<8}{'h0':<8}{'zeros'}")
for nonlinearity in ("tanh", "relu"):
    for bias in (True, False):
        for batch_first in (False, True):
            kw = {"nonlinearity": nonlinearity, "bias": bias, "batch_first": batch_first, "dtype": torch.float64}
            marks = []
            for batched in (True, False):
                for give_h0 in (True, False):
                    s_rnn, t_rnn = ScratchRNN(d, h, **kw), nn.RNN(d, h, **kw)
                    t_rnn.load_state_dict(s_rnn.state_dict())  # scratch -> torch
                    shape = ((N, T, d) if batch_first else (T, N, d)) if batched else (T, d)
                    x = torch.randn(*shape, dtype=torch.float64)
                    h0 = torch.randn(*((1, N, h) if batched else (1, h)), dtype=torch.float64) if give_h0 else None
                    marks.append(f"{parity(t_rnn, s_rnn, x, h0, **EXACT)} ✓")
            layout = "(N, T, d)" if batch_first else "(T, N, d)"
            row = f"{nonlinearity:<6}{str(bias):<7}{str(batch_first):<12}{layout:<11}" + "".join(f"{m:<8}" for m in marks)
            print(row.rstrip())

# %% [markdown]
# And in **float32**, the dtype you train in, the two agree within `assert_close`'s float32 defaults
# (rtol 1.3e-6, atol 1e-5): not bit for bit, because they add the same numbers in a different order.

# %%
rnn32 = nn.RNN(d, h)
n = parity(rnn32, twin(rnn32), torch.randn(T, N, d), torch.randn(1, N, h))
print(f"✓ float32: output, h_n and {n - 2} gradients match within the float32 defaults")

# %% [markdown]
# ## 6 · `batch_first` and its traps
#
# Data often comes as one row per sequence: (N, T, d). `batch_first=True` lets `nn.RNN` take it as it is. It
# changes the layout of **input and output only**: `h0` and `h_n` are always (num_layers, N, h).

# %%
rnn_bf = nn.RNN(d, h, batch_first=True)
rnn_bf.load_state_dict(rnn.state_dict())  # the same weights as `rnn`
X_bf = X.transpose(0, 1)  # the same sequences, batch first: [N, T, d]
with torch.no_grad():
    out_bf, hn_bf = rnn_bf(X_bf)
    check("batch_first output = transposed", out_bf, t_output.transpose(0, 1), atol=0.0, rtol=0.0)
    check("batch_first h_n = the same h_n", hn_bf, t_h_n, atol=0.0, rtol=0.0)
    check("ScratchRNN(batch_first=True)", twin(rnn_bf)(X_bf)[0], out_bf)
for label, t in [("input", X_bf), ("output", out_bf), ("h_n", hn_bf)]:
    note = "(N, T, ·)" if label != "h_n" else "(1, N, h): not batch first!"
    print(f"batch_first=True  {label:<7}{str(list(t.shape)):<11}{note}")

# %% [markdown]
# **Trap 1: a batch-first `h0`.** With `batch_first=True` it is tempting to pass `h0` as (N, 1, h). torch refuses
# with the shape it expected; `ScratchRNN` also says why.

# %%
h0_wrong = torch.zeros(N, 1, h)  # "batch first", but h0 never is
for module in (rnn_bf, twin(rnn_bf)):
    try:
        module(X_bf, h0_wrong)
    except RuntimeError as err:
        print(f"{type(module).__name__:<10} {err}")

# %% [markdown]
# **Trap 2: forgetting `batch_first`.** Feed (N, T, d) data to an RNN built with the default `batch_first=False`
# and nothing complains whenever the feature size fits: the RNN reads N as the number of steps and T as the
# batch. The output even has the shape you expected, (N, T, h), but it is a different computation. The only
# visible clue is `h_n`, whose batch axis is now T.

# %%
with torch.no_grad():
    out_wrong, hn_wrong = rnn(X_bf)  # rnn has batch_first=False: X_bf [N, T, d] is read as [T', N', d]
    print(f"output {list(out_wrong.shape)} (same shape as the right one, {list(out_bf.shape)})   "
          f"h_n {list(hn_wrong.shape)} (should be {list(hn_bf.shape)})")
    try:
        torch.testing.assert_close(out_wrong, out_bf)
    except AssertionError as err:
        print("caught by assert_close:", str(err).splitlines()[0])

# %% [markdown]
# **Trap 3: the last step with `batch_first`.** The time axis is now dim 1, so the last step is `output[:, -1]`.
# `output[-1]` is still valid Python: it is the whole last *sequence* of the batch, (T, h), not what you want.

# %%
assert torch.equal(out_bf[:, -1], hn_bf[0])
print(f"output[:, -1] {list(out_bf[:, -1].shape)} equals h_n[0] {list(hn_bf[0].shape)} ✓")
print(f"output[-1]    {list(out_bf[-1].shape)}: all {T} steps of sequence {N - 1}, not the last step")

# %% [markdown]
# ## 7 · An output layer on top
#
# The states are the RNN's memory, not yet its answer. A linear layer turns each state into $q$ outputs:
#
# $$O_t = H_t W_{hq} + b_q, \qquad H_t\ [N, h],\ W_{hq}\ [h, q] = \texttt{head.weight.T},\ b_q\ [q] \;\to\; O_t\ [N, q]$$
#
# - **many-to-many** (a prediction at every step, e.g. the next character): apply it to all of `output` →
#   (T, N, q). `nn.Linear` works on the last axis, so no loop is needed.
# - **many-to-one** (one prediction per sequence, e.g. a sentiment): apply it to the last state `h_n[-1]` →
#   (N, q). With one layer `h_n[-1]` is `h_n[0]`; the `-1` means *the top layer*, which stays right in lesson 04.
#
# The many-to-one answer is the last step of the many-to-many one.

# %%
q = 2
head = nn.Linear(h, q)
with torch.no_grad():
    O_all = head(t_output)  # many-to-many
    O_last = head(t_h_n[-1])  # many-to-one
    check_shape(O_all, (T, N, q))
    check_shape(O_last, (N, q))
    check("head(output)[-1] vs head(h_n[-1])", O_all[-1], O_last)
    check("O_t = H_t W_hq + b_q", O_all, t_output @ head.weight.T + head.bias)
print(f"many-to-many  head(output)   {list(O_all.shape)}\nmany-to-one   head(h_n[-1])  {list(O_last.shape)}")

# %% [markdown]
# ## 8 · A look ahead: $h_n$ depends on every step
#
# $H_T$ was computed from $H_{T-1}$, which was computed from $H_{T-2}$, … so every input $X_t$ influences
# $h_n$, and a loss on $h_n$ sends gradient back to every step. Below: the size of the gradient of `h_n.sum()`
# with respect to each $X_t$ (both modules give the same, checked). None is zero, and the further a step lies
# from the end, the smaller its gradient tends to be: each step back multiplies by $W_{hh}$ and by $\varphi'$.
# Lesson 03 trains the network with this backpropagation through time and looks at why the gradient shrinks.

# %%
torch.manual_seed(3)
T_long, rnn_long = 10, nn.RNN(d, h, dtype=torch.float64)
x_long = torch.randn(T_long, 64, d, dtype=torch.float64)  # 64 sequences, so that one unusual input does not decide
grads = []
for module in (rnn_long, twin(rnn_long)):
    x_req = x_long.clone().requires_grad_()
    module(x_req)[1].sum().backward()
    grads.append(x_req.grad)
torch.testing.assert_close(grads[1], grads[0], **EXACT)
norms = grads[0].norm(dim=(1, 2))  # one number per step, over the batch
for t, g in enumerate(norms.tolist(), start=1):
    print(f"t = {t:<2} (T - t = {T_long - t})   |∂ h_n.sum() / ∂X_t| = {g:.1e}")
assert (norms > 0).all() and norms[0] < norms[-1]
factor = (norms[-1] / norms[0]).item()
print(f"from X_T back to X_1: {factor:.1e} times smaller, about {factor ** (1 / (T_long - 1)):.1f}× per step")

# %% [markdown]
# ## 9 · Play: the shapes of a sequence
#
# Change the sequence length, batch size, input and hidden sizes, and `batch_first`. The printout gives the
# shapes, which slice of `output` equals `h_n[0]`, and a check that `nn.RNN` and `ScratchRNN` agree at that
# size. The drawing shows the unrolled chain (up to 12 steps) and `output` as a grid of states, one square per
# [h] vector, with the slice equal to `h_n[0]` in red. Predict each shape before you look. Try a length of 0.

# %%
def draw_chain(ax, seq_len, max_steps=12):
    """The unrolled chain H_0 → cell → … → H_T, at most max_steps cells (the middle elided), H_T in red."""
    steps = list(range(1, seq_len + 1)) if seq_len <= max_steps else list(range(1, max_steps - 1)) + [None, seq_len]
    ax.text(0, 1, "$H_0$", ha="center", va="center", bbox={"fc": "#d9ead3"})
    for i, k in enumerate(steps, start=1):
        ax.annotate("", (i - 0.3, 1), (i - 0.7, 1), arrowprops={"arrowstyle": "->"})
        if k is None:
            ax.text(i, 1, "…", ha="center", va="center", fontsize=16)
            continue
        last = k == seq_len
        ax.text(i, 1, "cell", ha="center", va="center", fontsize=8, bbox={"fc": "#eeeeee"})
        ax.text(i, 0, f"$X_{{{k}}}$", ha="center", va="center", fontsize=9, bbox={"fc": "#cfe2f3"})
        ax.text(i, 2, f"$H_{{{k}}}$", ha="center", va="center", fontsize=9,
                bbox={"fc": "#d9ead3", "ec": "#c0392b" if last else "black", "lw": 2 if last else 1})
        for y0, y1 in ((0.25, 0.75), (1.25, 1.75)):
            ax.annotate("", (i, y1), (i, y0), arrowprops={"arrowstyle": "->"})
    ax.text(len(steps) + 0.35, 2, "= h_n[0]", va="center", color="#c0392b")
    ax.set_xlim(-0.6, max(len(steps), 6) + 1.6)
    ax.set_ylim(-0.5, 2.5)
    ax.axis("off")
    ax.set_title(f"unrolled: {seq_len} step{'s' if seq_len > 1 else ''}, the same cell (same weights) at each")

# %% [markdown]
# The grid of `output`: dim 0 down, dim 1 across, as the tensor prints; each square is one state, a vector of
# h numbers. The callback below draws both pictures side by side.

# %%
def draw_output_grid(ax, shape, batch_first):
    """output as a grid of states (dim 0 down, dim 1 across); the last time step, equal to h_n[0], in red."""
    rows, cols = shape[0], shape[1]
    for r in range(rows):
        for c in range(cols):
            red = (c if batch_first else r) == (cols if batch_first else rows) - 1  # the last time step?
            ax.add_patch(plt.Rectangle((c, r), 1, 1, fc="#f4cccc" if red else "#d9ead3",
                                       ec="#c0392b" if red else "black", lw=1.5 if red else 0.5))
    ax.set_xlim(0, cols)
    ax.set_ylim(rows, 0)  # row 0 at the top
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_ylabel("dim 0: " + ("batch n" if batch_first else "time t"))
    ax.set_xlabel("dim 1: " + ("time t" if batch_first else "batch n"))
    last = "output[:, -1]" if batch_first else "output[-1]"
    ax.set_title(f"output {list(shape)}: one square = one state [{shape[2]}]\nred: {last} = h_n[0]", fontsize=10)


# %% [markdown]
# The callback: checks the sizes, runs both modules, asserts they agree, prints and draws.

# %%
def show_sequence(seq_len=6, batch=3, input_size=4, hidden_size=5, batch_first=False):
    """Widget callback: shapes of nn.RNN at this size, checked against ScratchRNN. Returns the shapes, or None."""
    if batch < 1:
        print(f"⚠ batch = {batch}: torch accepts an empty batch, but then there is nothing to compute. Choose at least 1.")
        return None
    try:
        torch_rnn = nn.RNN(input_size, hidden_size, batch_first=batch_first)
        x = torch.randn(batch, seq_len, input_size) if batch_first else torch.randn(seq_len, batch, input_size)
        with torch.no_grad():
            output, h_n = torch_rnn(x)
    except (ValueError, RuntimeError) as err:
        print(f"⚠ nn.RNN refuses this: {err}")
        print("  " + ("A sequence needs at least one step: with T = 0 there is no last state h_n." if isinstance(err, RuntimeError)
                      else "Each step needs at least one input feature and one state number."))
        return None
    with torch.no_grad():
        s_output, s_h_n = twin(torch_rnn)(x)
    torch.testing.assert_close(s_output, output)
    torch.testing.assert_close(s_h_n, h_n)
    last = "output[:, -1]" if batch_first else "output[-1]"
    assert torch.equal(output[:, -1] if batch_first else output[-1], h_n[0])
    shapes = {"input": tuple(x.shape), "output": tuple(output.shape), "h_n": tuple(h_n.shape), "last": last}
    for name in ("input", "output", "h_n"):
        print(f"{name:<7}{list(shapes[name])}")
    print(f"{last} equals h_n[0] ✓   ScratchRNN equals nn.RNN ✓")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.4), gridspec_kw={"width_ratios": [2.4, 1]})
    draw_chain(ax1, seq_len)
    draw_output_grid(ax2, shapes["output"], batch_first)
    plt.tight_layout()
    plt.show()
    return shapes

# %% [markdown]
# The widget (move the sliders; it redraws each time):

# %%
# NBVAL_IGNORE_OUTPUT
sequence_ui = widgets.interactive(
    show_sequence,
    seq_len=widgets.IntSlider(value=6, min=0, max=24, description="length T"),
    batch=widgets.IntSlider(value=3, min=0, max=8, description="batch N"),
    input_size=widgets.IntSlider(value=4, min=0, max=16, description="input d"),
    hidden_size=widgets.IntSlider(value=5, min=0, max=16, description="hidden h"),
    batch_first=widgets.ToggleButtons(options=[("(T, N, d)", False), ("batch_first (N, T, d)", True)],
                                      value=False, description="layout"),
)
display(sequence_ui)

# %% [markdown]
# The same callback, called in ordinary cells, so the test suite checks it too (an error inside a widget never
# reaches the tests): the defaults, both layouts at the extremes, and the invalid settings.

# %%
result = show_sequence()
assert result["output"] == (6, 3, 5) and result["h_n"] == (1, 3, 5) and result["last"] == "output[-1]"

# %%
assert show_sequence(1, 1, 1, 1, batch_first=True) == {"input": (1, 1, 1), "output": (1, 1, 1), "h_n": (1, 1, 1),
                                                        "last": "output[:, -1]"}
result = show_sequence(24, 8, 16, 16, batch_first=True)
assert result["output"] == (8, 24, 16) and result["h_n"] == (1, 8, 16)
assert show_sequence(24, 8, 16, 16)["output"] == (24, 8, 16)

# %%
assert show_sequence(seq_len=0) is None
assert show_sequence(batch=0) is None
assert show_sequence(input_size=0) is None
assert show_sequence(hidden_size=0) is None

# %% [markdown]
# ## 10 · Exercises
#
# Each exercise has a checker that runs your code against torch and says **what** is wrong, not just that
# something is. Replace the `...`, run the cell, then run the checker below it. Solutions are at the very end
# of the notebook (collapsed); try first.
#
# **Exercise 1.** Given the `output` of an `nn.RNN` and its `batch_first` setting, return the slice that equals
# `h_n[0]`, of shape [N, h].

# %%
def last_step(output, batch_first):
    ...  # your code here: return a tensor of shape [N, h]

# %%
def check_last_step(fn):
    """Compare fn with h_n[0] in both layouts (T = 6, N = 2, h = 5); diagnose the usual slips. Returns True/False."""
    torch.manual_seed(7)
    for batch_first in (False, True):
        r = nn.RNN(4, 5, batch_first=batch_first)
        with torch.no_grad():
            output, h_n = r(torch.randn(2, 6, 4) if batch_first else torch.randn(6, 2, 4))
        try:
            got = fn(output, batch_first)
        except Exception as err:  # report the learner's error instead of raising it
            print(f"✗ (batch_first={batch_first}) last_step raised {type(err).__name__}: {err}")
            return False
        if got is None:
            print("✗ not done yet: last_step returned None. Replace the ... with an indexing expression.")
            return False
        if isinstance(got, torch.Tensor) and tuple(got.shape) == (2, 5) and torch.equal(got, h_n[0]):
            continue
        seq = output.transpose(0, 1) if batch_first else output  # [T, N, h], time first
        hints = [(output[-1], "with batch_first=True the time axis is dim 1: output[-1] is the last sequence, output[:, -1] "
                  "the last step") if batch_first else (output[:, -1], "without batch_first the time axis is dim 0: "
                  "output[:, -1] is the last sequence, output[-1] the last step"),
                 (seq[0], "that is the first step, H_1: the last step has index -1"),
                 (output[:, -1:] if batch_first else output[-1:], "a slice (-1:) keeps a time axis of size 1: index with -1")]
        hint = next((m for w, m in hints if isinstance(got, torch.Tensor) and got.shape == w.shape and torch.equal(got, w)),
                    "the result must have shape [N, h] and equal h_n[0], the state after the last step")
        shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
        print(f"✗ (batch_first={batch_first}) got {shape}, expected h_n[0] of shape (2, 5). Hint: {hint}.")
        return False
    print("✓ last_step picks h_n[0] out of output, in both layouts.")
    return True


exercise_1_passed = check_last_step(last_step)

# %% [markdown]
# **Exercise 2.** Predict the shapes without running anything: return the pair `(output shape, h_n shape)`
# as tuples, for a one-layer `nn.RNN` and a batched input.

# %%
def predict_shapes(seq_len, batch, input_size, hidden_size, batch_first):
    ...  # your code here: return (output_shape, h_n_shape), two tuples

# %%
def check_predict_shapes(fn):
    """Compare fn with the real shapes of nn.RNN at several sizes; say which shape is wrong and why."""
    for T_, N_, d_, h_, bf in [(6, 3, 4, 5, False), (6, 3, 4, 5, True), (1, 7, 2, 9, True), (35, 2, 1027, 256, False)]:
        x = torch.zeros(N_, T_, d_) if bf else torch.zeros(T_, N_, d_)
        with torch.no_grad():
            out, hn = nn.RNN(d_, h_, batch_first=bf)(x)
        want = (tuple(out.shape), tuple(hn.shape))
        call = f"predict_shapes({T_}, {N_}, {d_}, {h_}, batch_first={bf})"
        try:
            got = fn(T_, N_, d_, h_, bf)
        except Exception as err:
            print(f"✗ {call} raised {type(err).__name__}: {err}")
            return False
        if got is None:
            print("✗ not done yet: predict_shapes returned None.")
            return False
        try:
            got = (tuple(got[0]), tuple(got[1]))
        except (TypeError, IndexError, KeyError):
            print(f"✗ {call} returned {got!r}: return a pair (output shape, h_n shape), e.g. ((6, 3, 5), (1, 3, 5)).")
            return False
        hints = [("the last axis of output is hidden_size: one state per step" if got[0][-1:] == (d_,) != (h_,) else
                  "output follows batch_first: (N, T, h) with it, (T, N, h) without" if sorted(got[0]) == sorted(want[0])
                  else "one state of size h per step and per sequence"),
                 ("h_n is never batch-first: it is (num_layers, N, h) whatever batch_first says" if got[1] == (N_, 1, h_)
                  else "h_n keeps a leading num_layers axis: (1, N, h)" if got[1] == (N_, h_)
                  else "h_n is the last state of each sequence, with a layer axis in front")]
        for name, g, w, hint in zip(("output", "h_n"), got, want, hints):
            if g != w:
                print(f"✗ {call}: {name} shape {g}, expected {w}. Hint: {hint}.")
                return False
    print("✓ predict_shapes is right for every size and layout tried.")
    return True


exercise_2_passed = check_predict_shapes(predict_shapes)

# %% [markdown]
# **Exercise 3.** Reproduce `nn.RNN` with an `nn.RNNCell` (lesson 01's module, one step) and a loop: given
# `x` [T, N, d] and `h0` [1, N, h], return `(output, h_n)` exactly as `nn.RNN(x, h0)` would. The checker
# builds the cell with the RNN's weights (only the names differ: `weight_ih` ↔ `weight_ih_l0`).

# %%
def rnn_forward_with_cell(cell, x, h0):
    ...  # your code here: return (output [T, N, h], h_n [1, N, h])

# %%
def cell_loop_mistakes(out, hn, want_out, want_hn, from_zeros):
    """The usual mistakes, most specific first: (test, message); a test runs only if those before it passed."""
    return [(lambda: tuple(out.shape) == (7, 2, 5), "output has T + 1 steps: it must hold H_1 … H_T, not H_0"),
            (lambda: tuple(out.shape) != (6, 2, 5), f"output has shape {tuple(out.shape)}, expected (6, 2, 5)"),
            (lambda: torch.allclose(out, from_zeros, atol=1e-5), "you started from zeros: start from h0[0]"),
            (lambda: torch.allclose(out[1:], want_out[:-1], atol=1e-5), "off by one: append the state after each step, not before"),
            (lambda: not torch.allclose(out, want_out, atol=1e-5), "output values differ from nn.RNN: compare with section 1's unroll"),
            (lambda: tuple(hn.shape) == (2, 5), "h_n needs the layer axis: (1, N, h), e.g. H.unsqueeze(0)"),
            (lambda: tuple(hn.shape) != (1, 2, 5), f"h_n has shape {tuple(hn.shape)}, expected (1, 2, 5)"),
            (lambda: torch.allclose(hn[0], want_out[0], atol=1e-5), "h_n is the LAST state (output[-1]), not output[0]"),
            (lambda: not torch.allclose(hn, want_hn, atol=1e-5), "h_n differs from nn.RNN's")]

# %%
def check_cell_loop(fn):
    """Compare fn with nn.RNN (T = 6, N = 2, d = 4, h = 5); diagnose the usual loop mistakes. Returns True/False."""
    torch.manual_seed(8)
    r, c = nn.RNN(4, 5), nn.RNNCell(4, 5)
    c.load_state_dict({name.removesuffix("_l0"): p for name, p in r.state_dict().items()})  # same weights
    x, h0 = torch.randn(6, 2, 4), torch.randn(1, 2, 5)
    with torch.no_grad():
        (want_out, want_hn), from_zeros = r(x, h0), r(x)[0]
        try:
            got = fn(c, x, h0)
        except Exception as err:  # report the learner's error instead of raising it
            print(f"✗ your loop raised {type(err).__name__}: {err}\n  Hint: the cell takes one step, x[t] [N, d], "
                  "and a 2-D state [N, h]: start from h0[0].")
            return False
    if got is None:
        print("✗ not done yet: rnn_forward_with_cell returned None.")
        return False
    if not (isinstance(got, tuple) and len(got) == 2) or isinstance(got[0], (list, tuple)):
        print("✗ return a pair (output, h_n) of tensors" + (": stack the list of states with torch.stack(states)."
              if isinstance(got, tuple) and isinstance(got[0], (list, tuple)) else "."))
        return False
    for wrong, message in cell_loop_mistakes(*got, want_out, want_hn, from_zeros):
        if wrong():
            print(f"✗ {message}.")
            return False
    print("✓ your loop of nn.RNNCell reproduces nn.RNN: output and h_n.")
    return True


exercise_3_passed = check_cell_loop(rnn_forward_with_cell)

# %% [markdown]
# ## 11 · On a GPU
#
# The same `parity` check, on CUDA when there is one. There `nn.RNN` runs on **cuDNN**, a different
# implementation from the CPU one. In float64 the comparison is as tight as on the CPU. In float32, cuDNN
# would by default compute the RNN's products in **TF32** (about 10 bits of mantissa, errors ~1e-3), so we switch
# that off (`torch.backends.cudnn.allow_tf32 = False`); plain CUDA matmuls, which ScratchRNN uses, are full
# float32 by default. On a machine without a GPU this cell prints one line and steps aside.

# %%
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    torch.backends.cudnn.allow_tf32 = False  # cuDNN's RNN would otherwise use TF32 for float32
    torch.backends.cuda.matmul.allow_tf32 = False  # ScratchRNN's matmuls: full float32 (the default)
    for dtype, tol in [(torch.float64, EXACT), (torch.float32, {})]:
        t_rnn = nn.RNN(d, h, device=DEVICE, dtype=dtype)
        xg = torch.randn(T, 16, d, device=DEVICE, dtype=dtype)
        n = parity(t_rnn, twin(t_rnn), xg, torch.randn(1, 16, h, device=DEVICE, dtype=dtype), **tol)
        print(f"✓ {torch.cuda.get_device_name()} {dtype}: output, h_n and {n - 2} gradients match "
              f"({'|Δ| ≤ 1e-12' if tol else 'float32 defaults, TF32 off'})")
else:
    print("No GPU here: skipped (this cell repeats the parity check against cuDNN when a GPU is present).")

# %% [markdown]
# ## 12 · Summary
#
# | | |
# |---|---|
# | the recurrence | $H_t = \varphi(X_t W_{xh} + H_{t-1} W_{hh} + b)$ for $t = 1 \dots T$, the same weights at every step |
# | torch | `nn.RNN(input_size=d, hidden_size=h, nonlinearity="tanh", bias=True, batch_first=False)`, called as `output, h_n = rnn(X, h0)` |
# | torch's layout | `weight_ih_l0` = $W_{xh}^\top$ [h, d], `weight_hh_l0` = $W_{hh}^\top$ [h, h], $b$ = `bias_ih_l0 + bias_hh_l0`; `_l0` = layer 0 |
# | shapes | X (T, N, d) → output (T, N, h) = $H_1 \dots H_T$, h_n (1, N, h) = $H_T$; h0 (1, N, h), omitted = zeros |
# | batch_first=True | input (N, T, d), output (N, T, h); **h0 and h_n unchanged** (1, N, h) |
# | unbatched | input (T, d) → output (T, h), h_n (1, h); h0 (1, h) |
# | the last step | `output[-1]` (`output[:, -1]` with batch_first) equals `h_n[0]` |
# | output layer | `nn.Linear(h, q)`: on `output` → (T, N, q) many-to-many; on `h_n[-1]` → (N, q) many-to-one |
# | proof | `load_state_dict` both ways; `assert_close` on output, h_n and all gradients, float64 |
#
# **Next:** lesson 03 trains this network with backpropagation through time, and looks at why the gradient
# of section 8 shrinks (or explodes) with distance.

# %% [markdown]
# ## Solutions
#
# Collapsed so they stay out of the way: click the cell to expand. Each solution is passed through its
# checker (and must pass); then a deliberately wrong answer shows what the checker says.

# %% solution
def last_step_solution(output, batch_first):
    return output[:, -1] if batch_first else output[-1]


def predict_shapes_solution(seq_len, batch, input_size, hidden_size, batch_first):
    output_shape = (batch, seq_len, hidden_size) if batch_first else (seq_len, batch, hidden_size)
    return output_shape, (1, batch, hidden_size)  # h_n is never batch-first


def rnn_forward_with_cell_solution(cell, x, h0):
    H, states = h0[0], []
    for t in range(x.shape[0]):
        H = cell(x[t], H)
        states.append(H)
    return torch.stack(states), H.unsqueeze(0)


assert check_last_step(last_step_solution)
assert check_predict_shapes(predict_shapes_solution)
assert check_cell_loop(rnn_forward_with_cell_solution)

# %% solution
# What the checkers say to three common mistakes:
def h0_in_output(cell, x, h0):
    states = [h0[0]]
    for t in range(x.shape[0]):
        states.append(cell(x[t], states[-1]))
    return torch.stack(states), states[-1].unsqueeze(0)


assert not check_last_step(lambda output, batch_first: output[-1])
assert not check_predict_shapes(lambda T, N, d, h, bf: ((N, T, h) if bf else (T, N, h), (N, 1, h) if bf else (1, N, h)))
assert not check_cell_loop(h0_in_output)
