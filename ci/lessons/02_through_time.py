# %% [markdown]
# # 02 · Through time: `ScratchRNN` beside `nn.RNN`
#
# Lesson 01 built one step of a recurrent network. A sequence is that step applied again and again, the
# state of each step feeding the next:
#
# $$H_t = \varphi\left(X_t W_{xh} + H_{t-1} W_{hh} + b\right), \qquad t = 1, \dots, T$$
#
# In this lesson you run the step over a whole sequence with a plain Python loop, then build `ScratchRNN`,
# a drop-in twin of PyTorch's `nn.RNN` with one layer, and check with assertions that the two agree: outputs
# and all gradients, in float64 and float32, for every combination of the settings this one-layer module has.
# (More layers, dropout, two directions and packed sequences come in lessons 04–05.) Along the way you meet the
# two things that confuse almost everyone who uses `nn.RNN`: what `output` and `h_n` are, and what
# `batch_first` does (and does not) change.
#
# **You should know:** lesson 01 (the step, torch's weight layout `weight_ih` = $W_{xh}^\top$, the two biases,
# `load_state_dict`), matrix products and their shapes, and what `loss.backward()` does.
#
# **Contents:** 1 · from one step to a sequence · 2 · torch's `nn.RNN` · 3 · `ScratchRNN` · 4 · parity, values
# and gradients · 5 · one product for all inputs · 6 · `batch_first` and its traps · 7 · an output layer on top ·
# 8 · a look ahead: $h_n$ depends on every step · 9 · play with the shapes · 10 · exercises · 11 · on a GPU ·
# 12 · summary · solutions

# %% [markdown]
# ## Setup
# Every lesson starts the same way: imports, a fixed seed (so your numbers match the ones printed here), a fixed
# print format for numbers, and the device, used only by the GPU cell near the end.

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
# | our name | shape | in torch | torch parameter's shape |
# |---|---|---|---|
# | $W_{xh}$ | [d, h] | `weight_ih_l0.T` | `weight_ih_l0`: [h, d] |
# | $W_{hh}$ | [h, h] | `weight_hh_l0.T` | `weight_hh_l0`: [h, h] |
# | $b$ | [h] | `bias_ih_l0 + bias_hh_l0` | [h] and [h] |
#
# Its input is **sequence first** by default: (T, N, d), the layout of our `X`. The reason is the loop: each
# step reads `X[t]`, and in a sequence-first tensor that is one contiguous [N, d] block of memory. It is also
# the layout cuDNN, NVIDIA's RNN kernels, works in. (Section 6 shows the other layout, `batch_first=True`.)
# `nn.RNN` returns the pair `(output, h_n)`; an initial state `h0` of shape (1, N, h) is optional: omitted, it
# is zeros.
#
# With that mapping our loop reproduces `nn.RNN`. Each comparison is an assertion, so a wrong formula stops
# the notebook instead of printing a hopeful message; `check` prints a one-line verdict when it passes.

# %%
def check(label, ours, theirs, **tol):
    """Assert that ours equals theirs within tolerance, then print a one-line verdict."""
    torch.testing.assert_close(ours, theirs, **tol)
    if not tol:  # assert_close's defaults for float32: |Δ| ≤ 1e-5 + 1.3e-6·|theirs|
        how = "within float32 defaults"
    elif tol.get("atol") == 0 and tol.get("rtol") == 0:
        how = "bit for bit"
    else:
        how = f"|Δ| ≤ {tol.get('atol', 0):.0e} + {tol.get('rtol', 0):.0e}·|theirs|"
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
# A module with `nn.RNN`'s constructor arguments and defaults, and **torch's parameter names, shapes and
# order**, so that `load_state_dict` copies weights either way. It comes in two pieces.
#
# First a plain function for the inputs. `nn.RNN` accepts a batch (T, N, d), a batch-first (N, T, d), or a
# single unbatched sequence (T, d) with `hx` of shape (1, h). `rnn_inputs` checks the call and brings all three
# to one layout, **X [T, N, d]** and **H_0 [N, h]**; every message says what it expected and what it got.

# %%
def rnn_inputs(rnn, input, hx):
    """Check rnn(input, hx) as nn.RNN does. rnn: a one-layer module (input_size, hidden_size, batch_first).
    Returns X [T, N, d], H_0 [N, h] (zeros if hx is None), and unbatched (input (T, d), here as N = 1)."""
    if input.dim() not in (2, 3):
        layout = "(N, T, d)" if rnn.batch_first else "(T, N, d)"
        raise ValueError(f"expected input (T, d) or {layout}, got a {input.dim()}-D tensor {tuple(input.shape)}")
    unbatched = input.dim() == 2  # batch_first is ignored for unbatched input, as in torch
    X = input.unsqueeze(1) if unbatched else input.transpose(0, 1) if rnn.batch_first else input
    T_, N_, d_ = X.shape
    if d_ != rnn.input_size:
        raise RuntimeError(f"input has {d_} features in its last dimension, expected input_size={rnn.input_size}")
    if T_ == 0:
        raise RuntimeError("the sequence is empty (T = 0 steps): no step to run, no last state to return")
    if hx is None:
        return X, torch.zeros(N_, rnn.hidden_size, dtype=X.dtype, device=X.device), unbatched
    want = (1, rnn.hidden_size) if unbatched else (1, N_, rnn.hidden_size)
    if tuple(hx.shape) != want:
        hint = (" Add the layer axis: hx.unsqueeze(0)." if tuple(hx.shape) == want[1:] else
                " batch_first applies to input and output only: h0 stays (num_layers, N, h)." if rnn.batch_first else "")
        which = ("hx for unbatched input must be (num_layers, h)" if unbatched
                 else f"hx for a batch of N = {N_} must be (num_layers, N, h)")
        raise RuntimeError(f"{which} = {want}, got {tuple(hx.shape)}.{hint}")
    return X, (hx if unbatched else hx[0]), unbatched  # unbatched hx (1, h) is already [N = 1, h]

# %% [markdown]
# Then the module. The constructor registers torch's parameters and draws them as torch does, from
# $U(-1/\sqrt{h}, 1/\sqrt{h})$; settings that later lessons add are refused with a message that names the
# lesson. `forward` is the loop of section 1 with torch's parameters: the recurrence is one line that reads like
# the formula, with $b$ = `bias_ih_l0 + bias_hh_l0`. (`extra_repr` only sets what `print(module)` shows.)

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
        for p in self.parameters():
            nn.init.uniform_(p, -1.0 / math.sqrt(hidden_size), 1.0 / math.sqrt(hidden_size))

    def forward(self, input, hx=None):
        X, H, unbatched = rnn_inputs(self, input, hx)  # X [T, N, d], H = H_0 [N, h]
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

    def extra_repr(self):
        flags = [("bias=False", not self.bias), ("batch_first=True", self.batch_first),
                 ("nonlinearity=relu", self.nonlinearity == "relu")]
        return ", ".join([f"{self.input_size}, {self.hidden_size}"] + [text for text, on in flags if on])

# %% [markdown]
# The refusals, once each (`nn.RNN` checks `nonlinearity` when it is built, too, unlike `nn.RNNCell`):

# %%
for kwargs in ({"num_layers": 2}, {"dropout": 0.2}, {"bidirectional": True}, {"nonlinearity": "sigmoid"}):
    try:
        ScratchRNN(d, h, **kwargs)
    except (NotImplementedError, ValueError) as err:
        print(f"ScratchRNN(d, h, {', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) → {type(err).__name__}: {err}")

# %% [markdown]
# Same names, shapes and order as `nn.RNN`, with and without bias, and even the same initial values when both
# start from the same seed (torch draws every parameter from $U(-1/\sqrt{h}, 1/\sqrt{h})$, in registration order).
# With `bias=False` the biases are absent from `state_dict()`, as in `nn.RNNCell`, so `load_state_dict` treats
# both alike. What differs is **attribute access**: `rnn.bias_ih_l0` raises `AttributeError` on
# `nn.RNN(bias=False)` (and on `ScratchRNN`), while `nn.RNNCell(bias=False).bias_ih` is `None`. Code that reads a
# bias should test `rnn.bias` first, as `forward` does. Then one run with torch's weights copied in.

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
    assert hasattr(t_init, "bias_ih_l0") == hasattr(s_init, "bias_ih_l0") == bias
    print(f"✓ bias={str(bias):<5} same parameters as nn.RNN: {', '.join(n for n, _ in names)}")
print("✓ same seed, same initial values, bit for bit: U(-1/√h, 1/√h), drawn in the same order")
assert nn.RNNCell(d, h, bias=False).bias_ih is None
print("✓ bias=False: no attribute bias_ih_l0 on either module (nn.RNNCell(bias=False).bias_ih is None)")

scratch.load_state_dict(rnn.state_dict())  # torch -> scratch: the whole copy
with torch.no_grad():
    s_output, s_h_n = scratch(X)
    check("ScratchRNN output vs nn.RNN", s_output, t_output)
    check("ScratchRNN h_n vs nn.RNN", s_h_n, t_h_n)

# %% [markdown]
# A **single, unbatched** sequence (T, d) gives output (T, h) and h_n (1, h): the layer axis stays, only the
# batch axis is gone. An `hx` for it is (1, h) too, not (h,) (next cell).

# %%
x1 = torch.randn(T, d)
with torch.no_grad():
    out1, hn1 = rnn(x1)
    check("unbatched output: ScratchRNN", scratch(x1)[0], out1)
    check("unbatched h_n: ScratchRNN", scratch(x1)[1], hn1)
print(f"input {list(x1.shape)} → output {list(out1.shape)}, h_n {list(hn1.shape)}")

# %% [markdown]
# The usual mistakes, side by side: what `nn.RNN` says and what `ScratchRNN` says.

# %%
bad_calls = [("wrong feature size", torch.randn(T, N, d + 1), None),
             ("h0 without the layer axis", X, torch.zeros(N, h)),
             ("h0 for another batch size", X, torch.zeros(1, N + 1, h)),
             ("1-D input", torch.randn(d), None),
             ("4-D input", torch.randn(2, T, N, d), None),
             ("empty sequence", torch.randn(0, N, d), None),
             ("unbatched input (T, d), hx (h,)", x1, torch.zeros(h))]
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
# ## 4 · Parity: values and gradients
#
# `twin` makes a `ScratchRNN` with a torch module's settings and a copy of its weights. `parity` runs the two
# forward on the same input and state and compares `output` and `h_n`; then it runs both backward and compares
# the gradients with respect to the input, `h0` and every parameter. It returns how many tensors it compared.
#
# The backward pass needs a starting gradient for each output, of its shape: an **upstream gradient**, the
# gradient a loss further downstream would send back. As in lesson 01, `out.backward(g)` gives the gradients of
# `(out * g).sum()`, and a random `g` weighs every entry differently, so a mistake anywhere shows. We use one for
# each output, `(output * g1).sum() + (h_n * g2).sum()`, so that every path counts: through every step's output
# and through the final state.

# %%
def twin(torch_rnn):
    """A ScratchRNN with torch_rnn's settings, dtype, device and a copy of its weights."""
    w = torch_rnn.weight_ih_l0
    s = ScratchRNN(torch_rnn.input_size, torch_rnn.hidden_size, nonlinearity=torch_rnn.nonlinearity,
                   bias=torch_rnn.bias, batch_first=torch_rnn.batch_first, device=w.device, dtype=w.dtype)
    s.load_state_dict(torch_rnn.state_dict())
    return s


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

# %% [markdown]
# In **float64** the two must agree to rounding: we ask for |Δ| ≤ 1e-12. The grid below runs every combination
# of the settings this one-layer `ScratchRNN` has: both nonlinearities, with and without bias, `batch_first`
# off and on, batched and unbatched input, `h0` given or omitted (zeros); 32 runs, each comparing the outputs and
# all gradients. The weights go from scratch to torch here: fresh random weights of the scratch module are
# loaded into torch's (`twin` copies the other way).

# %%
print(f"{'':<26}{'batched input':<33}unbatched (T, d)")
header = f"{'φ':<6}{'bias':<7}{'batch_first':<13}{'layout':<11}" + "".join(f"{c:<11}" for c in ("h0 given", "h0 = None") * 2)
print(header.rstrip())
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
            row = f"{nonlinearity:<6}{str(bias):<7}{str(batch_first):<13}{layout:<11}" + "".join(f"{m:<11}" for m in marks)
            print(row.rstrip())
print("each entry: how many tensors were compared, output + h_n + the gradients of input, h0 (if given) and")
print("each parameter (4 with bias, 2 without); ✓ = all of them asserted equal, |Δ| ≤ 1e-12")

# %% [markdown]
# And in **float32**, the dtype you train in, on the example of PyTorch's documentation (with one layer here):
# the two agree within `assert_close`'s float32 defaults (|Δ| ≤ 1e-5 + 1.3e-6·|theirs|), not bit for bit, because
# they add the same numbers in a different order (next section). Longer sequences and larger states need a
# looser tolerance in float32; float64 does not.

# %%
rnn32, x32, h32 = nn.RNN(10, 20), torch.randn(5, 3, 10), torch.randn(1, 3, 20)  # the docs' sizes
n = parity(rnn32, twin(rnn32), x32, h32)
out32, hn32 = rnn32(x32, h32)
print(f"{rnn32}: input {list(x32.shape)}, h0 {list(h32.shape)} → output {list(out32.shape)}, h_n {list(hn32.shape)}")
print(f"✓ float32: output, h_n and {n - 2} gradients match within the float32 defaults")
assert torch.equal(out32[-1], hn32[0])

# %% [markdown]
# The documentation's second example: a large input (1027 features, e.g. a one-hot character vocabulary), 35
# steps, and no initial state. At this size float32 sums of 1027 products differ in more digits, so the parity
# check runs in float64, where it is exact to rounding. Both layers return the last state twice, bit for bit.

# %%
big = nn.RNN(input_size=1027, hidden_size=256, dtype=torch.float64)
x_big = torch.randn(35, 2, 1027, dtype=torch.float64)
n = parity(big, twin(big), x_big, None, **EXACT)  # h0 omitted: zeros
for name, layer in [("nn.RNN", big), ("ScratchRNN", twin(big))]:
    with torch.no_grad():
        out_big, hn_big = layer(x_big)
    assert tuple(out_big.shape) == (35, 2, 256) and tuple(hn_big.shape) == (1, 2, 256)
    assert torch.equal(out_big[-1], hn_big[0])
    print(f"{name:<10} input {list(x_big.shape)}, no h0 → output {list(out_big.shape)}, h_n {list(hn_big.shape)}"
          f"   output[-1] == h_n[0] ✓")
print(f"✓ float64: output, h_n and {n - 2} gradients match, |Δ| ≤ 1e-12")

# %% [markdown]
# ## 5 · One product for all inputs
#
# Look at the recurrence again: only $H_{t-1} W_{hh}$ has to wait for the previous step. The input term
# $X_t W_{xh} + b_{ih}$ does not, so `nn.RNN` (on the CPU and in cuDNN) computes it for **all** steps before
# the loop, in one matrix product of the whole input with $W_{xh}$, which gives [T, N, h]. The loop then only
# adds $H_{t-1} W_{hh} + b_{hh}$ and applies φ. Two consequences:
#
# - **speed:** one large product instead of $T$ small ones is the main speed trick of RNN implementations
#   (lesson 10 measures it); only the $H W_{hh}$ part is truly sequential.
# - **the last bits in float32:** `nn.RNN` adds the same numbers as `ScratchRNN` in another order, and floating-point
#   addition is not associative, so float32 results differ in the last bits. In float64 the difference is far
#   below 1e-12, which is why section 4 can ask for that.
#
# Exercise 4 asks you to write this version yourself. Here is non-associativity with three numbers:

# %%
left, right = (0.1 + 0.2) + 0.3, 0.1 + (0.2 + 0.3)
assert left != right
print(f"(0.1 + 0.2) + 0.3 = {left:.17f}   0.1 + (0.2 + 0.3) = {right:.17f}: same numbers, other order, other last bit")

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
#   **Careful:** with `bidirectional=True` (lesson 05), `h_n[-1]` is the top layer's *backward* direction, which
#   read the sequence from its end to its start; the forward one is `h_n[-2]`.
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
# $h_n$, and a loss on $h_n$ sends gradient back to every step. How much, precisely? Write
# $a_t = X_t W_{xh} + H_{t-1} W_{hh} + b$, so that $H_t = \varphi(a_t)$, and take one sequence, so that $H_t$ and
# $a_t$ are row vectors [1, h]. One step back is the [h, h] Jacobian
# $\partial H_t / \partial H_{t-1} = \operatorname{diag}(\varphi'(a_t))\, W_{hh}^\top$, and by the chain rule
#
# $$\frac{\partial H_T}{\partial X_t} = \underbrace{\Big[\operatorname{diag}(\varphi'(a_T))\, W_{hh}^\top\Big] \cdots
# \Big[\operatorname{diag}(\varphi'(a_{t+1}))\, W_{hh}^\top\Big]}_{T - t \text{ factors}}\;
# \operatorname{diag}(\varphi'(a_t))\, W_{xh}^\top \qquad [h, d]$$
#
# With tanh, $\varphi'(a_t) = 1 - H_t^2 \le 1$, and with small weights each factor tends to shrink what passes through
# it, so the further a step lies from the end, the smaller its gradient tends to be. Lesson 03 derives this
# formula and trains with it (backpropagation through time). Below, for every $t$: the formula checked against
# autograd's Jacobian (one sequence), and the size of the gradient of `h_n.sum()` with respect to $X_t$ over 64
# sequences. None is zero; the early steps get far less.

# %%
def dHT_dXt(rnn, x_seq, t):
    """∂H_T/∂X_t [h, d] by the product formula, for one sequence x_seq [T, 1, d] of a tanh nn.RNN; t from 1."""
    with torch.no_grad():
        dphi = 1 - rnn(x_seq)[0][:, 0] ** 2  # row k - 1 holds φ'(a_k) = 1 - H_k², k = 1 … T
    J = torch.diag(dphi[t - 1]) @ rnn.weight_ih_l0.detach()  # ∂H_t/∂X_t = diag(φ'(a_t)) W_xhᵀ
    for k in range(t + 1, x_seq.shape[0] + 1):  # one factor diag(φ'(a_k)) W_hhᵀ per step back
        J = torch.diag(dphi[k - 1]) @ rnn.weight_hh_l0.detach() @ J
    return J


torch.manual_seed(3)
T_long, rnn_long = 10, nn.RNN(d, h, dtype=torch.float64)
x_long = torch.randn(T_long, 64, d, dtype=torch.float64)  # 64 sequences, so that one unusual input does not decide
x_req = x_long.clone().requires_grad_()
rnn_long(x_req)[1].sum().backward()
norms = x_req.grad.norm(dim=(1, 2))  # |∂ h_n.sum() / ∂X_t|: one number per step, over the batch
J_autograd = torch.autograd.functional.jacobian(lambda x: rnn_long(x)[1][0, 0], x_long[:, :1])  # [h, T, 1, d]
for t in range(1, T_long + 1):
    torch.testing.assert_close(dHT_dXt(rnn_long, x_long[:, :1], t), J_autograd[:, t - 1, 0], **EXACT)
    print(f"t = {t:<2} (T - t = {T_long - t})   |∂ h_n.sum() / ∂X_t| = {norms[t - 1]:.1e}   formula = autograd ✓")
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
    # Unicode subscripts, not $…$ mathtext: mathtext has failed intermittently inside widget callbacks.
    sub = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
    ax.text(0, 1, "H₀", ha="center", va="center", bbox={"fc": "#d9ead3"})
    for i, k in enumerate(steps, start=1):
        ax.annotate("", (i - 0.3, 1), (i - 0.7, 1), arrowprops={"arrowstyle": "->"})
        if k is None:
            ax.text(i, 1, "…", ha="center", va="center", fontsize=16)
            continue
        last = k == seq_len
        ax.text(i, 1, "cell", ha="center", va="center", fontsize=8, bbox={"fc": "#eeeeee"})
        ax.text(i, 0, f"X{k}".translate(sub), ha="center", va="center", fontsize=9, bbox={"fc": "#cfe2f3"})
        ax.text(i, 2, f"H{k}".translate(sub), ha="center", va="center", fontsize=9,
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
# h numbers. Then the callback: it checks the sizes, runs both modules, asserts they agree, prints the shapes
# and draws both pictures side by side.

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
# The same callback, called in plain cells: an error inside a widget only shows in the widget's output area,
# where it can hide; in a plain cell it stops the notebook. The defaults, both layouts at the extremes, and the
# invalid settings.

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
# something is. Replace the `...`, run the cell, then run the checker cell below it (its code is collapsed, so
# you read only its verdict; click the cell to see how it checks). Solutions are at the very end of the
# notebook, collapsed too; try first.
#
# **Exercise 1.** Given the `output` of an `nn.RNN` and its `batch_first` setting, return the slice that equals
# `h_n[0]`, of shape [N, h].

# %%
def last_step(output, batch_first):
    ...  # your code here: return a tensor of shape [N, h]

# %% hidden
def check_last_step(fn):
    """Compare fn with h_n[0] in both layouts (T = 6, N = 2, h = 5); diagnose the usual slips. Returns True/False."""
    for batch_first in (False, True):
        with torch.random.fork_rng():  # private random numbers: your own seed is left alone
            torch.manual_seed(7)
            r, x = nn.RNN(4, 5, batch_first=batch_first), torch.randn(2, 6, 4) if batch_first else torch.randn(6, 2, 4)
        with torch.no_grad():
            output, h_n = r(x)
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
                    "the result must be a tensor of shape [N, h] equal to h_n[0], the state after the last step")
        shape = tuple(got.shape) if isinstance(got, torch.Tensor) else f"a {type(got).__name__}"
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

# %% hidden
def check_predict_shapes(fn):
    """Compare fn with the real shapes of nn.RNN at several sizes; say which shape is wrong and why."""
    for T_, N_, d_, h_, bf in [(6, 3, 4, 5, False), (6, 3, 4, 5, True), (1, 7, 2, 9, True), (35, 2, 1027, 256, False)]:
        x = torch.zeros(N_, T_, d_) if bf else torch.zeros(T_, N_, d_)
        with torch.no_grad(), torch.random.fork_rng():
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
            got = (tuple(int(n) for n in got[0]), tuple(int(n) for n in got[1]))
        except (TypeError, ValueError, IndexError, KeyError):
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

# %% [markdown]
# Exercises 3 and 4 return a pair of tensors, like `nn.RNN`. Their checkers share two helpers: one makes sure
# the answer *is* a pair of tensors, the other names the usual loop mistakes, most specific first.

# %% hidden
def as_pair(got, fn_name, dtype):
    """got as (output, h_n) if it is a pair of tensors of this dtype; otherwise say what is wrong and return None."""
    if got is None:
        print(f"✗ not done yet: {fn_name} returned None.")
    elif not (isinstance(got, (tuple, list)) and len(got) == 2):
        items = f" of {len(got)} items" if isinstance(got, (tuple, list)) else ""
        print(f"✗ {fn_name} returned a {type(got).__name__}{items}: return a pair (output, h_n), as nn.RNN does.")
    elif not isinstance(got[0], torch.Tensor):
        print(f"✗ output is a {type(got[0]).__name__}, not a tensor: stack the states with torch.stack(states).")
    elif not isinstance(got[1], torch.Tensor):
        print(f"✗ h_n is a {type(got[1]).__name__}, not a tensor: it is the last state with a layer axis, H.unsqueeze(0).")
    elif got[0].dtype != dtype or got[1].dtype != dtype:
        print(f"✗ output and h_n are {got[0].dtype} and {got[1].dtype}; expected {dtype}, the dtype of x.")
    else:
        return tuple(got)
    return None


def loop_mistakes(out, hn, ref, T_, N_, h_):
    """(test, message) pairs; a test runs only if those before it passed. ref: what nn.RNN and common slips give."""
    def close(a, b):
        return torch.allclose(a, b, rtol=0.0, atol=1e-10 if a.dtype == torch.float64 else 1e-5)

    return [(lambda: tuple(out.shape) == (T_ + 1, N_, h_), "output has T + 1 steps: it holds H_1 … H_T, not H_0"),
            (lambda: tuple(out.shape) != (T_, N_, h_), f"output has shape {tuple(out.shape)}, expected {(T_, N_, h_)}"),
            *[(lambda w=w: close(out, w), msg) for w, msg in ref["slips"]],
            (lambda: close(out, ref["reversed"]) or close(out, ref["reversed"].flip(0)),
             ("your loop runs backwards in time: go t = 0, 1, …, T − 1 (reading from the end is the backward "
              "direction of a bidirectional RNN, lesson 05)")),
            (lambda: close(out[1:], ref["out"][:-1]), "off by one: append the state after each step, not before"),
            (lambda: not close(out, ref["out"]), "output values differ from nn.RNN's: H = tanh(x_t W_xh + b_ih + H W_hh + b_hh)"),
            (lambda: tuple(hn.shape) == (N_, h_), "h_n needs the layer axis: (1, N, h), e.g. H.unsqueeze(0)"),
            (lambda: tuple(hn.shape) != (1, N_, h_), f"h_n has shape {tuple(hn.shape)}, expected {(1, N_, h_)}"),
            (lambda: close(hn[0], ref["out"][0]), "h_n is the LAST state (output[-1]), not output[0]"),
            (lambda: not close(hn, ref["hn"]), "h_n differs from nn.RNN's")]

# %% hidden
def check_cell_loop(fn):
    """Compare fn with nn.RNN (T = 6, N = 2, d = 4, h = 5); diagnose the usual loop mistakes. Returns True/False."""
    with torch.random.fork_rng():
        torch.manual_seed(8)
        r, c, x, h0 = nn.RNN(4, 5), nn.RNNCell(4, 5), torch.randn(6, 2, 4), torch.randn(1, 2, 5)
    c.load_state_dict({name.removesuffix("_l0"): p for name, p in r.state_dict().items()})  # same weights
    with torch.no_grad():
        (want_out, want_hn), from_zeros = r(x, h0), r(x)[0]
        ref = {"out": want_out, "hn": want_hn, "reversed": r(x.flip(0), h0)[0],
               "slips": [(from_zeros, "you started from zeros: start from h0[0]")]}
        try:
            got = as_pair(fn(c, x, h0), "rnn_forward_with_cell", x.dtype)
        except Exception as err:  # report the learner's error instead of raising it
            print(f"✗ your loop raised {type(err).__name__}: {err}\n  Hint: the cell takes one step, x[t] [N, d], "
                  "and a 2-D state [N, h]: start from h0[0].")
            return False
    if got is None:
        return False
    for wrong, message in loop_mistakes(*got, ref, 6, 2, 5):
        if wrong():
            print(f"✗ {message}.")
            return False
    print("✓ your loop of nn.RNNCell reproduces nn.RNN: output and h_n.")
    return True


exercise_3_passed = check_cell_loop(rnn_forward_with_cell)

# %% [markdown]
# **Exercise 4 (harder): one product for all inputs.** Write the forward pass the way `nn.RNN` organises it
# (section 5). For a one-layer `nn.RNN` with tanh and biases, and `x` [T, N, d] (no `h0`: start from zeros):
#
# 1. compute every step's input term $P_t = X_t W_{xh} + b_{ih}$ in **one** matrix product, before the loop:
#    P [T, N, h];
# 2. loop over time for the recurrence only: $H_t = \tanh(P_t + H_{t-1} W_{hh} + b_{hh})$;
# 3. return `(output, h_n)` as `rnn(x)` would.
#
# The checker works in float64, so your numbers must match torch's to rounding, and it counts the matrix
# products your input takes part in: one is the goal.

# %%
def rnn_forward_hoisted(rnn, x):
    ...  # your code here: return (output [T, N, h], h_n [1, N, h])

# %%
class InputProducts(torch.overrides.TorchFunctionMode):
    """Inside `with InputProducts(d) as p:`, p.count = the matrix products with a tensor that has d in its shape."""
    PRODUCTS = frozenset({"matmul", "__matmul__", "__rmatmul__", "mm", "bmm", "addmm", "baddbmm", "linear", "einsum"})

    def __init__(self, d):
        super().__init__()
        self.d, self.count = d, 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in self.PRODUCTS:
            flat = [t for a in args for t in (a if isinstance(a, (list, tuple)) else [a])]
            self.count += any(isinstance(t, torch.Tensor) and self.d in t.shape for t in flat)
        return func(*args, **(kwargs or {}))

# %% hidden
def check_hoisted(fn):
    """Compare fn with nn.RNN in float64 (T = 6, N = 2, d = 4, h = 5); diagnose the usual slips; count the
    matrix products that the input takes part in. Returns True/False."""
    with torch.random.fork_rng():
        torch.manual_seed(9)
        r, x = nn.RNN(4, 5, dtype=torch.float64), torch.randn(6, 2, 4, dtype=torch.float64)
        slip = nn.RNN(4, 5, dtype=torch.float64)  # loaded below with one bias or both set to zero
    with torch.no_grad():
        def without(*names):  # what forgetting these biases computes
            slip.load_state_dict({k: v * 0 if k in names else v for k, v in r.state_dict().items()})
            return slip(x)[0]
        want_out, want_hn = r(x)
        ref = {"out": want_out, "hn": want_hn, "reversed": r(x.flip(0))[0],
               "slips": [(without("bias_ih_l0", "bias_hh_l0"), "you left out both biases, b_ih and b_hh"),
                         (without("bias_ih_l0"), "you left out b_ih: P = x W_xh + b_ih"),
                         (without("bias_hh_l0"), "you left out b_hh: add it inside the loop, with H W_hh")]}
        try:
            with InputProducts(4) as products:
                got = as_pair(fn(r, x), "rnn_forward_hoisted", x.dtype)
        except Exception as err:  # report the learner's error instead of raising it
            hint = ("\n  Hint: make the zero state with x's dtype and device: x.new_zeros(N, h)."
                    if "dtype" in str(err) or "Double" in str(err) else "")
            print(f"✗ rnn_forward_hoisted raised {type(err).__name__}: {err}{hint}")
            return False
    if got is None:
        return False
    for wrong, message in loop_mistakes(*got, ref, 6, 2, 5):
        if wrong():
            print(f"✗ {message}.")
            return False
    if products.count != 1:
        print("✗ right numbers, but " + ("no matrix product of x was found: compute P = x W_xh + b_ih yourself "
              "(calling rnn(x) does not count)." if products.count == 0 else f"x took part in {products.count} "
              "matrix products (T = 6 steps): compute P for all steps in ONE product before the loop, then use P[t]."))
        return False
    print("✓ rnn_forward_hoisted matches nn.RNN to float64 rounding, with one product for all the inputs.")
    return True


exercise_4_passed = check_hoisted(rnn_forward_hoisted)

# %% [markdown]
# ## 11 · On a GPU
#
# The same `parity` check, on CUDA when there is one, where `nn.RNN` runs on **cuDNN**. In float64 the comparison
# is as tight as on the CPU. In float32 cuDNN would by default use **TF32** (about 10 bits of mantissa, errors
# ~1e-3), so this cell switches TF32 off and restores the settings afterwards. On a machine without a GPU it
# prints one line and steps aside.

# %%
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    saved_tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # cuDNN's RNN would otherwise use TF32 for float32
    torch.backends.cuda.matmul.allow_tf32 = False  # ScratchRNN's matmuls: full float32 (the default)
    for dtype, tol in [(torch.float64, EXACT), (torch.float32, {})]:
        t_rnn = nn.RNN(d, h, device=DEVICE, dtype=dtype)
        xg = torch.randn(T, 16, d, device=DEVICE, dtype=dtype)
        n = parity(t_rnn, twin(t_rnn), xg, torch.randn(1, 16, h, device=DEVICE, dtype=dtype), **tol)
        print(f"✓ {torch.cuda.get_device_name()} {dtype}: output, h_n and {n - 2} gradients match "
              f"({'|Δ| ≤ 1e-12' if tol else 'float32 defaults, TF32 off'})")
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved_tf32
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
# | inside `nn.RNN` | $X W_{xh} + b_{ih}$ for all steps in one product, then a loop for $H_{t-1} W_{hh}$ only |
# | gradient through time | $\partial H_t / \partial H_{t-1} = \operatorname{diag}(\varphi'(a_t))\, W_{hh}^\top$, one factor per step back |
# | parity checked | `load_state_dict` both ways; `assert_close` on output, h_n and all gradients: 32 settings in float64 (≤ 1e-12), float32 within its defaults |
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


def rnn_forward_hoisted_solution(rnn, x):
    P = x @ rnn.weight_ih_l0.T + rnn.bias_ih_l0  # [T, N, h]: X_t W_xh + b_ih for every t, one product
    H, states = x.new_zeros(x.shape[1], rnn.hidden_size), []
    for P_t in P:  # only the recurrence is sequential
        H = torch.tanh(P_t + H @ rnn.weight_hh_l0.T + rnn.bias_hh_l0)
        states.append(H)
    return torch.stack(states), H.unsqueeze(0)


assert check_last_step(last_step_solution)
assert check_predict_shapes(predict_shapes_solution)
assert check_cell_loop(rnn_forward_with_cell_solution)
assert check_hoisted(rnn_forward_hoisted_solution)

# %% solution
# What the checkers say to four common mistakes:
def h0_in_output(cell, x, h0):
    states = [h0[0]]
    for t in range(x.shape[0]):
        states.append(cell(x[t], states[-1]))
    return torch.stack(states), states[-1].unsqueeze(0)


def one_product_per_step(rnn, x):  # right numbers, but x W_xh is computed inside the loop
    H, states = x.new_zeros(x.shape[1], rnn.hidden_size), []
    for x_t in x:
        H = torch.tanh(x_t @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + H @ rnn.weight_hh_l0.T + rnn.bias_hh_l0)
        states.append(H)
    return torch.stack(states), H.unsqueeze(0)


assert not check_last_step(lambda output, batch_first: output[-1])
assert not check_predict_shapes(lambda T, N, d, h, bf: ((N, T, h) if bf else (T, N, h), (N, 1, h) if bf else (1, N, h)))
assert not check_cell_loop(h0_in_output)
assert not check_hoisted(one_product_per_step)
