# %% [markdown]
# # 04 · Deep (stacked) RNNs: `ScratchRNN(num_layers=L, dropout=p)` beside `nn.RNN`
#
# Lesson 02's RNN has one layer: one state $H_t$ per step. A **deep** (stacked) RNN puts several such layers on
# top of each other: the sequence of states of layer 1 is the input sequence of layer 2, and so on. Each layer
# has its own weights and its own state, and the top layer's states are the output. Stacking is how
# `nn.RNN(num_layers=L)` (and `nn.LSTM`, `nn.GRU`) build deeper features of a sequence: each layer transforms the
# sequence the layer below produced (whether depth beats width for a given task is an empirical question).
#
# In this lesson you write the stacked recurrence with every shape, grow lesson 02's `ScratchRNN` to
# `num_layers` and `dropout`, and check with assertions that it equals `nn.RNN`: outputs, final states and all
# gradients, for 1, 2 and 3 layers in every layout. You will see that the two natural loop orders (layer by layer,
# or step by step) compute the same thing, where dropout sits (and where it does not), and which row of `h_n` is
# which layer.
#
# **You should know:** lessons 01 and 02 (the step $H_t = \varphi(X_t W_{xh} + H_{t-1} W_{hh} + b)$, torch's layout
# `weight_ih_l0` = $W_{xh}^\top$, `output` and `h_n`, `batch_first`, `load_state_dict`). Gradients through time
# are lesson 03's subject; here they are only compared.
#
# **Contents:** 1 · the stacked recurrence · 2 · torch's `nn.RNN(num_layers=L)` · 3 · `ScratchRNN` with layers ·
# 4 · two loop orders · 5 · parity, values and gradients · 6 · dropout between layers · 7 · play with the grid ·
# 8 · traps · 9 · exercises · 10 · on a GPU · 11 · summary · solutions

# %% [markdown]
# ## Setup
# Every lesson starts the same way: imports, a fixed seed (so your numbers match the ones printed here), a fixed
# print format for numbers, and the device, used only by the GPU cell near the end.

# %%
import math
import warnings

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F
from IPython.display import display

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # only the GPU cell uses it

# %% [markdown]
# ## 1 · The stacked recurrence
#
# Number the layers $l = 1, \dots, L$ and call the input sequence "layer 0": $H_t^{(0)} = X_t$. Layer $l$ is
# lesson 02's RNN with its own weights, reading the states of the layer below as its inputs:
#
# $$H_t^{(l)} = \varphi\left(H_t^{(l-1)} W_{xh}^{(l)} + H_{t-1}^{(l)} W_{hh}^{(l)} + b^{(l)}\right), \qquad
# O_t = H_t^{(L)} W_{hq} + b_q$$
#
# | symbol | shape | what it is |
# |---|---|---|
# | $X_t = H_t^{(0)}$ | [N, d] | the inputs at step $t$ |
# | $H_t^{(l)}$ | [N, h] | layer $l$'s state after step $t$ ($H_0^{(l)}$: zeros unless given, one per layer) |
# | $W_{xh}^{(1)}$ | [d, h] | the bottom layer reads the $d$ input features |
# | $W_{xh}^{(l)}$, $l > 1$ | **[h, h]** | every higher layer reads the $h$ numbers of the state below |
# | $W_{hh}^{(l)}$, $b^{(l)}$ | [h, h], [h] | the recurrence of layer $l$, as in lesson 02 |
# | $W_{hq}$, $b_q$ | [h, q], [q] | the output layer, on the **top** layer's states only |
#
# A word on names: what `nn.RNN` returns as `output` is the top layer's states $H_t^{(L)}$, not $O_t$. The output
# layer $O_t$ is yours to add (an `nn.Linear(h, q)` on `output`, as in lesson 02).
#
# So $H_t^{(l)}$ needs two things: the state just **below** it at the same step, $H_t^{(l-1)}$, and its own layer's
# state one step **before**, $H_{t-1}^{(l)}$. We keep lesson 02's sizes, all different so that a mix-up shows:
# T = 6, N = 3, d = 4, h = 5, and L = 3 layers. First the recap of lesson 02's loop, unchanged:

# %%
T, N, d, h, L = 6, 3, 4, 5, 3


def check_shape(tensor, shape):
    assert tuple(tensor.shape) == tuple(shape), f"expected shape {tuple(shape)}, got {tuple(tensor.shape)}"


def unroll(X, H, W_xh, W_hh, b, phi=torch.tanh):
    """Lesson 02: one layer over X [T, N, in], from H = H_0 [N, h]. Returns all states [T, N, h] and the last [N, h]."""
    states = []
    for t in range(X.shape[0]):
        H = phi(X[t] @ W_xh + H @ W_hh + b)  # H_t = φ(X_t W_xh + H_{t-1} W_hh + b)
        states.append(H)
    return torch.stack(states), H

# %% [markdown]
# Stacking is then a loop over layers: the whole state sequence of one layer, [T, N, h], is the input sequence of
# the next. The network returns the **top** layer's states as `output`, and the **last state of every layer** as
# `h_n`, one row per layer, bottom first: [L, N, h].

# %%
def stacked(X, H0, weights, phi=torch.tanh):
    """X [T, N, d], H0 [L, N, h], weights: one (W_xh, W_hh, b) per layer. Returns output [T, N, h], h_n [L, N, h]."""
    layer_input, last_states = X, []
    for l, (W_xh, W_hh, b) in enumerate(weights, start=1):
        layer_input, H_T = unroll(layer_input, H0[l - 1], W_xh, W_hh, b, phi)  # layer l over all T steps
        last_states.append(H_T)
    return layer_input, torch.stack(last_states)


X = torch.randn(T, N, d)
weights = [(torch.randn(d if l == 1 else h, h) * 0.5, torch.randn(h, h) * 0.5, torch.randn(h) * 0.1) for l in range(1, L + 1)]
output, h_n = stacked(X, torch.zeros(L, N, h), weights)
check_shape(output, (T, N, h))
check_shape(h_n, (L, N, h))
for l, (W_xh, W_hh, b) in enumerate(weights, start=1):
    print(f"layer {l}: W_xh {list(W_xh.shape)}  W_hh {list(W_hh.shape)}  b {list(b.shape)}")
print(f"X {list(X.shape)} → output {list(output.shape)} (top layer, every step), h_n {list(h_n.shape)} (every layer, last step)")
assert torch.equal(output[-1], h_n[-1])
print("✓ output[-1] equals h_n[-1]: the top layer's last state")

# %% [markdown]
# ## 2 · torch's `nn.RNN(num_layers=L)`
#
# `nn.RNN(d, h, num_layers=L)` registers lesson 02's four parameters **per layer**, with the suffix `_l{k}`,
# where torch counts layers from 0: torch's layer $k$ is our layer $l = k + 1$. They are registered layer by layer,
# in the order below. Note the shape of `weight_ih_l1`: [h, h], not [h, d].

# %%
rnn = nn.RNN(d, h, num_layers=L)
print(rnn)
for name, p in rnn.named_parameters():
    print(f"  {name:<13} {tuple(p.shape)}")
assert rnn.weight_ih_l0.shape == (h, d) and rnn.weight_ih_l1.shape == rnn.weight_ih_l2.shape == (h, h)

# %% [markdown]
# | our name | shape | in torch | torch parameter's shape |
# |---|---|---|---|
# | $W_{xh}^{(l)}$ | [d, h] for $l = 1$, [h, h] above | `weight_ih_l{l-1}.T` | [h, d] for `_l0`, [h, h] above |
# | $W_{hh}^{(l)}$ | [h, h] | `weight_hh_l{l-1}.T` | [h, h] |
# | $b^{(l)}$ | [h] | `bias_ih_l{l-1} + bias_hh_l{l-1}` | [h] and [h] |
# | $H_T^{(l)}$ | [N, h] | `h_n[l-1]` | `h_n`: [L, N, h], bottom layer first |
# | $H_0^{(l)}$ | [N, h] | `h0[l-1]` | `h0`: [L, N, h] |
#
# With that mapping, the `stacked` loop of section 1 reproduces `nn.RNN`. As in lesson 02, `check` asserts and
# then prints a one-line verdict.

# %%
def check(label, ours, theirs, **tol):
    """Assert that ours equals theirs within tolerance, then print a one-line verdict."""
    torch.testing.assert_close(ours, theirs, **tol)
    if not tol:  # assert_close's defaults for float32: |Δ| ≤ 1e-5 + 1.3e-6·|theirs|
        how = "within float32 defaults"
    elif tol.get("atol") == 0 and tol.get("rtol") == 0:
        how = "bit for bit"
    elif not tol.get("rtol"):
        how = f"|Δ| ≤ {tol.get('atol', 0):.0e}"
    else:
        how = f"|Δ| ≤ {tol.get('atol', 0):.0e} + {tol.get('rtol', 0):.0e}·|theirs|"
    print(f"✓ {label:<42} matches, {how}")


def torch_weights(rnn, k):
    """Layer k of a torch RNN (k from 0) as (W_xh, W_hh, b) in the formula's orientation."""
    W_ih, W_hh = getattr(rnn, f"weight_ih_l{k}"), getattr(rnn, f"weight_hh_l{k}")
    return W_ih.T, W_hh.T, getattr(rnn, f"bias_ih_l{k}") + getattr(rnn, f"bias_hh_l{k}")


H0 = torch.randn(L, N, h)
with torch.no_grad():
    t_output, t_h_n = rnn(X, H0)
    ours = stacked(X, H0, [torch_weights(rnn, k) for k in range(L)])
    check("output: stacked loop vs nn.RNN", ours[0], t_output)
    check("h_n: stacked loop vs nn.RNN", ours[1], t_h_n)

# %% [markdown]
# **How many parameters?** Layer $k$ (from 0) has $h \cdot \text{in}_k$ + $h \cdot h$ weights and two bias vectors
# of $h$, where $\text{in}_0 = d$ and $\text{in}_k = h$ above:
#
# $$\#\text{params} = \sum_{k=0}^{L-1} \big(h\,(\text{in}_k + h) + 2h\big) = h(d + h) + 2h + (L - 1)\,(2h^2 + 2h)$$
#
# Every layer above the first costs the same, whatever $d$ is. Checked against `nn.RNN` for several depths:

# %%
def rnn_param_count(d, h, num_layers, bias=True):
    """Σ_k h·(in_k + h) + 2h·[bias], with in_0 = d and in_k = h for k > 0."""
    return sum(h * ((d if k == 0 else h) + h) + (2 * h if bias else 0) for k in range(num_layers))


for n_layers in (1, 2, 3, 5):
    for bias in (True, False):
        counted = sum(p.numel() for p in nn.RNN(d, h, num_layers=n_layers, bias=bias).parameters())
        assert rnn_param_count(d, h, n_layers, bias) == counted
    print(f"num_layers={n_layers}: {rnn_param_count(d, h, n_layers):>3} parameters "
          f"({rnn_param_count(d, h, n_layers, bias=False):>3} without bias) = sum(p.numel()) ✓")
assert rnn_param_count(10, 20, 1) == 640  # the size of torch's documentation example

# %% [markdown]
# ## 3 · `ScratchRNN` with layers
#
# **Recap of lesson 02.** `ScratchRNN` took `nn.RNN`'s constructor arguments and refused `num_layers > 1` and
# `dropout`; its `forward` checked the call with `rnn_inputs`, brought the input to X [T, N, d], ran the loop and
# returned `(output, h_n)`. Now it grows both. First `rnn_inputs`, where only `h0` changes: it is
# **(num_layers, N, h)** (unbatched: (num_layers, h)), and the messages say so.

# %%
def rnn_inputs(rnn, input, hx):
    """Check rnn(input, hx) as nn.RNN does. Returns X [T, N, d], H0 [L, N, h] (zeros if hx is None), unbatched."""
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
    L_, h_ = rnn.num_layers, rnn.hidden_size
    if hx is None:
        return X, torch.zeros(L_, N_, h_, dtype=X.dtype, device=X.device), unbatched
    want = (L_, h_) if unbatched else (L_, N_, h_)
    if tuple(hx.shape) != want:
        hint = (f" One initial state per layer: num_layers = {L_}, so hx has {L_} rows, bottom layer first."
                if hx.shape[1:] == want[1:] else
                " batch_first applies to input and output only: h0 stays (num_layers, N, h)." if rnn.batch_first else "")
        which = "hx for unbatched input must be (num_layers, h)" if unbatched else f"hx for a batch of N = {N_} must be (num_layers, N, h)"
        raise RuntimeError(f"{which} = {want}, got {tuple(hx.shape)}.{hint}")
    return X, (hx.unsqueeze(1) if unbatched else hx), unbatched

# %% [markdown]
# Then the module. The constructor registers the four parameters of each layer, **layer by layer** as torch does,
# with `weight_ih_l0` [h, d] and `weight_ih_l{k}` [h, h] for k > 0, and draws them all from
# $U(-1/\sqrt{h}, 1/\sqrt{h})$ in that order. `dropout > 0` with one layer gives torch's warning (section 6 says
# why). `layer(k)` returns layer k's weights in the formula's orientation.
#
# `forward` is the `stacked` loop: layer by layer, each over all T steps. After every layer **but the last**, in
# training mode, it applies dropout to that layer's output, the input of the next layer. `h_n` collects each
# layer's last state *before* any dropout.

# %%
class ScratchRNN(nn.Module):
    """num_layers stacked layers, one direction: H_t^(l) = φ(H_t^(l-1) W_xh^(l) + H_{t-1}^(l) W_hh^(l) + b^(l))."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__()
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        if input_size < 1 or hidden_size < 1 or num_layers < 1:
            raise ValueError(f"input_size, hidden_size and num_layers must be at least 1, got {input_size}, {hidden_size}, {num_layers}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"dropout should be a number in range [0, 1] representing the probability of an element being zeroed, got {dropout}")
        if bidirectional:
            raise NotImplementedError("bidirectional=True: the reverse direction comes in lesson 05")
        if dropout > 0 and num_layers == 1:  # torch's warning, word for word
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                          f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}")
        self.input_size, self.hidden_size, self.num_layers, self.nonlinearity = input_size, hidden_size, num_layers, nonlinearity
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, float(dropout), False
        kw = {"device": device, "dtype": dtype}
        for k in range(num_layers):  # layer by layer, torch's order
            layer_in = input_size if k == 0 else hidden_size  # layer 0 reads d features, the others h
            setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(hidden_size, layer_in, **kw)))  # W_xh^(k+1).T
            setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(hidden_size, hidden_size, **kw)))  # W_hh^(k+1).T
            if bias:
                setattr(self, f"bias_ih_l{k}", nn.Parameter(torch.empty(hidden_size, **kw)))
                setattr(self, f"bias_hh_l{k}", nn.Parameter(torch.empty(hidden_size, **kw)))
        for p in self.parameters():
            nn.init.uniform_(p, -1.0 / math.sqrt(hidden_size), 1.0 / math.sqrt(hidden_size))

    def layer(self, k):
        """Layer k's (W_xh, W_hh, b): weight_ih_l{k}.T, weight_hh_l{k}.T, bias_ih_l{k} + bias_hh_l{k}."""
        b = getattr(self, f"bias_ih_l{k}") + getattr(self, f"bias_hh_l{k}") if self.bias else 0.0
        return getattr(self, f"weight_ih_l{k}").T, getattr(self, f"weight_hh_l{k}").T, b

    def phi(self, a):
        return torch.tanh(a) if self.nonlinearity == "tanh" else torch.relu(a)

# %% [markdown]
# `forward`, added to the class (it is long enough for a cell of its own):

# %%
def scratch_forward(self, input, hx=None):
    X, H0, unbatched = rnn_inputs(self, input, hx)  # X [T, N, d], H0 [L, N, h]
    layer_input, finals = X, []
    for k in range(self.num_layers):  # layer-outer: layer k over all T steps, then layer k + 1
        W_xh, W_hh, b = self.layer(k)
        H, states = H0[k], []
        for t in range(X.shape[0]):
            H = self.phi(layer_input[t] @ W_xh + H @ W_hh + b)  # H_t = φ(H_t^below W_xh + H_{t-1} W_hh + b)
            states.append(H)
        finals.append(H)  # layer k's last state: h_n[k], never dropped
        layer_input = torch.stack(states)  # [T, N, h]: this layer's output, the next layer's input
        if self.training and self.dropout > 0 and k < self.num_layers - 1:
            layer_input = F.dropout(layer_input, self.dropout, training=True)  # between layers only
    output, h_n = layer_input, torch.stack(finals)  # the top layer's states; [L, N, h], bottom layer first
    if unbatched:
        return output.squeeze(1), h_n.squeeze(1)  # (T, h) and (L, h)
    if self.batch_first:
        output = output.transpose(0, 1)  # (N, T, h); h_n keeps (L, N, h)
    return output, h_n


ScratchRNN.forward = scratch_forward
ScratchRNN.extra_repr = lambda self: ", ".join(
    [f"{self.input_size}, {self.hidden_size}"] + [text for text, on in [
        (f"num_layers={self.num_layers}", self.num_layers > 1), ("bias=False", not self.bias),
        ("batch_first=True", self.batch_first), (f"dropout={self.dropout}", self.dropout > 0),
        ("nonlinearity=relu", self.nonlinearity == "relu")] if on])

# %% [markdown]
# Same names, shapes and order as `nn.RNN` for 1, 2 and 3 layers, with and without bias, and the same initial
# values, bit for bit, when both start from the same seed. Then `bidirectional=True`, refused with a message that
# names the lesson that builds it.

# %%
for n_layers in (1, 2, 3):
    counts = {}
    for bias in (True, False):
        torch.manual_seed(1)
        t_init = nn.RNN(d, h, num_layers=n_layers, bias=bias)
        torch.manual_seed(1)
        s_init = ScratchRNN(d, h, num_layers=n_layers, bias=bias)
        names = [(n, tuple(p.shape)) for n, p in t_init.named_parameters()]
        assert [(n, tuple(p.shape)) for n, p in s_init.named_parameters()] == names, "names, shapes or order differ"
        assert list(s_init.state_dict()) == list(t_init.state_dict())
        assert all(torch.equal(a, b) for a, b in zip(s_init.parameters(), t_init.parameters())), "initial values differ"
        counts[bias] = len(names)
    print(f"✓ num_layers={n_layers}: same {counts[True]} parameter tensors ({counts[False]} without bias) as nn.RNN, "
          "same initial values bit for bit")
print(ScratchRNN(d, h, num_layers=3, dropout=0.2))
try:
    ScratchRNN(d, h, num_layers=2, bidirectional=True)
except NotImplementedError as err:
    print(f"ScratchRNN(d, h, num_layers=2, bidirectional=True) → NotImplementedError: {err}")

# %% [markdown]
# Copy `nn.RNN`'s weights in with `load_state_dict` and run both: `output` and all three rows of `h_n` agree.
# Below, `h_n[-1]` (the top layer) is `output[-1]`, bit for bit; `h_n[0]` is the **bottom** layer's last state,
# which a one-layer RNN with layer 0's weights reproduces by itself.

# %%
scratch = ScratchRNN(d, h, num_layers=L)
scratch.load_state_dict(rnn.state_dict())  # torch -> scratch: the whole copy
with torch.no_grad():
    s_output, s_h_n = scratch(X, H0)
    check("ScratchRNN output vs nn.RNN", s_output, t_output)
    check("ScratchRNN h_n vs nn.RNN", s_h_n, t_h_n)
    bottom = nn.RNN(d, h)
    bottom.load_state_dict({n: p for n, p in rnn.state_dict().items() if n.endswith("_l0")})
    check("h_n[0] = a 1-layer RNN with layer 0", t_h_n[0], bottom(X, H0[:1])[1][0])
assert torch.equal(s_output[-1], s_h_n[-1]) and torch.equal(t_output[-1], t_h_n[-1])
for k in range(L):
    top = "= output[-1], the top layer" if k == L - 1 else "the bottom layer" if k == 0 else "a middle layer"
    print(f"h_n[{k}] = H_T of layer l = {k + 1}   {top}")

# %% [markdown]
# ## 4 · Two loop orders, one result
#
# The grid of states has two axes, time and depth, and $H_t^{(l)}$ needs only its left neighbour $H_{t-1}^{(l)}$ and
# the one below, $H_t^{(l-1)}$. Any order that computes those two first gives the same numbers:
#
# - **layer-outer** (`forward` above): layer 1 over all T steps, then layer 2, … Each layer sees its whole input
#   sequence at once, so its input term $H^{(l-1)} W_{xh}^{(l)} + b$ can be **hoisted** into one big matrix product
#   for all steps (lesson 02, section 5). This is how `nn.RNN` and cuDNN work on whole sequences.
# - **time-outer**: at step t, go up through all layers, then on to step t + 1. This is what you need when the
#   inputs arrive **one at a time** (streaming, online prediction, generating text step by step): the top layer's
#   answer for step t is ready before $X_{t+1}$ exists. Its cells can also run as a **wavefront**: every
#   $H_t^{(l)}$ with the same $t + l$ (a diagonal of the grid) depends only on the previous diagonal, so a whole
#   diagonal can be computed at once, e.g. on a GPU, while layer-outer order would wait for a whole layer.
#
# The time-outer loop, written with the module's own weights, and the assertion that both orders agree:

# %%
def time_outer(rnn, X, H0):
    """X [T, N, d], H0 [L, N, h] → output [T, N, h], h_n [L, N, h]; at each step t, up through all layers."""
    H = list(H0)  # H[k]: layer k's current state
    tops = []
    for t in range(X.shape[0]):
        below = X[t]  # H_t^(0) = X_t
        for k in range(rnn.num_layers):
            W_xh, W_hh, b = rnn.layer(k)
            H[k] = rnn.phi(below @ W_xh + H[k] @ W_hh + b)  # H_t of layer k from H_t below and H_{t-1} of layer k
            below = H[k]
        tops.append(below)  # the top layer's state at step t
    return torch.stack(tops), torch.stack(H)


with torch.no_grad():
    for label, ours, theirs in zip(("output", "h_n"), time_outer(scratch, X, H0), scratch(X, H0)):
        check(f"time-outer {label} vs layer-outer", ours, theirs, atol=0.0, rtol=0.0)
    check("time-outer output vs nn.RNN", time_outer(scratch, X, H0)[0], t_output)

# %% [markdown]
# Bit for bit: the two orders do exactly the same floating-point operations, only in another sequence.
# (torch's own loop hoists the input product, which is why it matches to rounding and not bit for bit.)
#
# ## 5 · Parity: values and gradients
#
# `twin` and `parity` are lesson 02's, with `num_layers` and `dropout` passed along: `parity` runs both modules
# forward and backward, with random upstream gradients on `output` and `h_n`, and asserts that `output`, `h_n` and
# the gradients with respect to the input, `h0` and **every** parameter agree. It returns how many tensors it
# compared.

# %%
def twin(torch_rnn):
    """A ScratchRNN with torch_rnn's settings, dtype, device, mode and a copy of its weights."""
    w = torch_rnn.weight_ih_l0
    s = ScratchRNN(torch_rnn.input_size, torch_rnn.hidden_size, num_layers=torch_rnn.num_layers,
                   nonlinearity=torch_rnn.nonlinearity, bias=torch_rnn.bias, batch_first=torch_rnn.batch_first,
                   dropout=torch_rnn.dropout, device=w.device, dtype=w.dtype)
    s.load_state_dict(torch_rnn.state_dict())
    return s.train(torch_rnn.training)


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
# The grid: 1, 2 and 3 layers, with and without bias, `batch_first` off and on, batched and unbatched input,
# `h0` given or omitted; 48 runs in float64, each asserting every tensor to |Δ| ≤ 1e-12. The deeper modules are
# built with `dropout=0.5` and compared in **eval mode**, where dropout is off (section 6). The weights go from
# scratch to torch here (`twin` copies the other way): `load_state_dict` works in both directions.

# %%
print(f"{'':<33}{'batched input':<22}unbatched (T, d)")
print(f"{'L':<3}{'bias':<7}{'batch_first':<13}{'dropout':<10}" + "".join(f"{c:<11}" for c in ("h0 given", "h0 = None") * 2).rstrip())
for n_layers in (1, 2, 3):
    for bias in (True, False):
        for batch_first in (False, True):
            p = 0.5 if n_layers > 1 else 0.0
            kw = {"num_layers": n_layers, "bias": bias, "batch_first": batch_first, "dropout": p, "dtype": torch.float64}
            marks = []
            for batched in (True, False):
                for give_h0 in (True, False):
                    s_rnn, t_rnn = ScratchRNN(d, h, **kw).eval(), nn.RNN(d, h, **kw).eval()
                    t_rnn.load_state_dict(s_rnn.state_dict())  # scratch -> torch
                    shape = ((N, T, d) if batch_first else (T, N, d)) if batched else (T, d)
                    x = torch.randn(*shape, dtype=torch.float64)
                    h0 = torch.randn(*((n_layers, N, h) if batched else (n_layers, h)), dtype=torch.float64) if give_h0 else None
                    marks.append(f"{parity(t_rnn, s_rnn, x, h0, **EXACT)} ✓")
            print(f"{n_layers:<3}{str(bias):<7}{str(batch_first):<13}{p:<10.1f}" + "".join(f"{m:<11}" for m in marks).rstrip())
print("each entry: how many tensors were compared, output + h_n + the gradients of input, h0 (if given) and every")
print("parameter (4 per layer with bias, 2 without); ✓ = all asserted equal, |Δ| ≤ 1e-12 (eval mode)")

# %% [markdown]
# And in **float32**, on the example of PyTorch's documentation, `nn.RNN(10, 20, 2)` with h0 (2, 3, 20): within
# `assert_close`'s float32 defaults (not bit for bit: torch adds in another order, lesson 02 section 5).

# %%
rnn32, x32, h32 = nn.RNN(10, 20, 2), torch.randn(5, 3, 10), torch.randn(2, 3, 20)  # the docs' example
n = parity(rnn32, twin(rnn32), x32, h32)
out32, hn32 = rnn32(x32, h32)
print(f"{rnn32}: input {list(x32.shape)}, h0 {list(h32.shape)} → output {list(out32.shape)}, h_n {list(hn32.shape)}")
print(f"✓ float32: output, h_n and {n - 2} gradients match within the float32 defaults")
back = nn.RNN(10, 20, 2)
back.load_state_dict(twin(rnn32).state_dict())  # and back: scratch -> torch gives the same module
assert all(torch.equal(a, b) for a, b in zip(back.parameters(), rnn32.parameters()))
print("✓ load_state_dict both ways: torch → ScratchRNN → torch gives the same weights, bit for bit")

# %% [markdown]
# ## 6 · Dropout between layers
#
# `nn.RNN(..., num_layers=L, dropout=p)` zeroes each entry of a layer's output with probability $p$ (and scales
# the others by $1/(1-p)$), **only**
#
# - on the outputs of layers $0 \dots L-2$, i.e. on the *input* of the next layer: never after the top layer;
# - in training mode (`model.train()`, the default); `model.eval()` switches it off;
# - never on the recurrent connection $H_{t-1} \to H_t$, and never on `h_n`.
#
# So `output` (the top layer) and `h_n` are never dropped. On the CPU, torch draws its masks with the same
# `dropout` function, one per layer, in order. Does `ScratchRNN` then reproduce `nn.RNN` exactly, random masks
# included, when both start from the same seed? It does (to float64 rounding; the cell asserts it), and the
# cell checks what holds whatever the masks: train mode differs from eval mode, and even in training mode
# `output[-1]` **is** `h_n[-1]`, bit for bit. A dropout wrongly placed after the last layer would break both.

# %%
torch.manual_seed(4)
t_drop = nn.RNN(d, h, num_layers=L, dropout=0.5, dtype=torch.float64)  # train mode by default
s_drop = twin(t_drop)
x64 = torch.randn(T, N, d, dtype=torch.float64)
torch.manual_seed(11)
t_out, t_hn = t_drop(x64)
torch.manual_seed(11)
s_out, s_hn = s_drop(x64)
check("train mode, same seed: output", s_out, t_out, **EXACT)
check("train mode, same seed: h_n", s_hn, t_hn, **EXACT)
with torch.no_grad():
    eval_out = s_drop.eval()(x64)[0]
s_drop.train()
assert not torch.allclose(s_out, eval_out) and not torch.allclose(t_out, eval_out)
assert torch.equal(s_out[-1], s_hn[-1]) and torch.equal(t_out[-1], t_hn[-1])
print("✓ train mode differs from eval mode (the masks act)")
print("✓ in train mode too, output[-1] == h_n[-1] bit for bit: the top layer's output is never dropped")

# %% [markdown]
# Where exactly do the zeros go? Rebuild the 2-layer case by hand: layer 0 alone (a one-layer RNN), then
# `F.dropout` on its output, drawn from the same seed, then layer 1 alone. That equals the 2-layer `ScratchRNN`
# in training mode, and about a fraction $p$ of layer 0's outputs are zero. (N = 200 sequences, so the
# fraction is measured on 6000 numbers.)

# %%
p = 0.3
s2 = ScratchRNN(d, h, num_layers=2, dropout=p, dtype=torch.float64)
layer0, layer1 = ScratchRNN(d, h, dtype=torch.float64), ScratchRNN(h, h, dtype=torch.float64)
layer0.load_state_dict({n: w for n, w in s2.state_dict().items() if n.endswith("_l0")})
layer1.load_state_dict({n.replace("_l1", "_l0"): w for n, w in s2.state_dict().items() if n.endswith("_l1")})
x_many = torch.randn(T, 200, d, dtype=torch.float64)
with torch.no_grad():
    torch.manual_seed(5)
    out2, hn2 = s2(x_many)
    out0, hn0 = layer0(x_many)
    torch.manual_seed(5)
    dropped0 = F.dropout(out0, p, training=True)
    out1, hn1 = layer1(dropped0)
check("2 layers = layer 0, dropout, layer 1", out2, out1, atol=0.0, rtol=0.0)
check("h_n[0] = layer 0's undropped last state", hn2[0], hn0[0], atol=0.0, rtol=0.0)
fraction = (dropped0 == 0).double().mean().item()
assert abs(fraction - p) < 0.03 and (out0 != 0).all()
print(f"p = {p}: {fraction:.3f} of layer 0's outputs were zeroed; the kept ones scaled by 1/(1-p) = {1 / (1 - p):.4f}")

# %% [markdown]
# ## 7 · Play: the time × depth grid
#
# The drawing shows every state of a stacked RNN: time runs to the right (column 0 holds the initial states $H_0$),
# depth runs up (row 0 holds the inputs $X_t$). Pick a layer $l$ and a step $t$: the chosen state is red, its two
# direct inputs ($H_t^{(l-1)}$ below, $H_{t-1}^{(l)}$ to the left) orange, and, if you tick the box, everything it
# depends on is yellow. The printout gives its torch name and the parameter count of the network for d = 4,
# h = 5. Where do `output` and `h_n` sit in the grid? (Counting the yellow cells: $H_t^{(l)}$ depends on every
# state $H_s^{(k)}$ with $s \le t$ and $k \le l$ except itself, $t\cdot l - 1$ states, plus the $t$ inputs
# $X_1 \dots X_t$ and the $l$ initial states of layers $1 \dots l$. Step $t$ is `output[t - 1]`: index 0 is step 1.)

# %%
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")  # Unicode subscripts, not $…$ mathtext (it fails in widgets)
SUP = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")


def state_name(l, t):
    """'H₃⁽²⁾' for H_t^(l); 'X₃' for l = 0."""
    return f"X{t}".translate(SUB) if l == 0 else f"H{t}".translate(SUB) + f"({l})".translate(SUP)


def draw_grid(ax, num_layers, seq_len, layer, step, ancestors):
    """The time × depth grid of states; H_step^(layer) red, its direct inputs orange, its ancestors yellow."""
    cells = [(t, l) for l in range(num_layers + 1) for t in range(seq_len + 1) if (t, l) != (0, 0)]
    direct = {(step, layer - 1), (step - 1, layer)}

    def colour(t, l):
        if (t, l) == (step, layer):
            return "#e06666"
        if (t, l) in direct:
            return "#f6b26b"
        return "#ffe599" if ancestors and t <= step and l <= layer else "#cfe2f3" if l == 0 else "#d9ead3"
    ax.scatter([t for t, _ in cells], [l for _, l in cells], s=900 if seq_len <= 8 else 400, marker="s",
               c=[colour(t, l) for t, l in cells], edgecolors="black", zorder=2)
    inner = [(t, l) for t, l in cells if t > 0 and l > 0]  # each gets an arrow from the left and one from below
    arrows = [(t - 0.72, l, 0.44, 0) for t, l in inner] + [(t, l - 0.7, 0, 0.4) for t, l in inner]
    x0, y0, dx, dy = zip(*arrows)
    ax.quiver(x0, y0, dx, dy, angles="xy", scale_units="xy", scale=1, width=0.003, color="#555555", zorder=3)
    if seq_len <= 8:
        for t, l in cells:
            ax.text(t, l, state_name(l, t), ha="center", va="center", fontsize=7, zorder=3)
    ax.set_xticks(range(seq_len + 1))
    ax.set_yticks(range(num_layers + 1), ["input"] + [f"layer {l}" for l in range(1, num_layers + 1)])
    ax.set_xlabel("time step t (column 0: initial states)")
    ax.set_xlim(-0.6, seq_len + 0.6)
    ax.set_ylim(-0.6, num_layers + 0.6)
    ax.set_title(f"red: {state_name(layer, step)}; orange: its direct inputs" + ("; yellow: all it depends on" if ancestors else "")
                 + "\ntop row (t ≥ 1): output; last column: h_n", fontsize=10)

# %% [markdown]
# The callback checks the settings, prints what the chosen state is and what it depends on, asserts the
# parameter count against `nn.RNN`, and draws the grid.

# %%
def show_grid(num_layers=3, seq_len=5, layer=2, step=3, ancestors=True):
    """Widget callback: the time × depth grid with H_step^(layer) and its dependencies. Returns a dict, or None."""
    if num_layers < 1 or seq_len < 1:
        print(f"⚠ num_layers = {num_layers}, T = {seq_len}: a stacked RNN needs at least one layer and one step.")
        return None
    if not (1 <= layer <= num_layers and 1 <= step <= seq_len):
        print(f"⚠ H_t of layer l = {layer} at t = {step} does not exist here: choose 1 ≤ l ≤ {num_layers} and 1 ≤ t ≤ {seq_len}.")
        return None
    n_params = rnn_param_count(d, h, num_layers)
    assert n_params == sum(p.numel() for p in nn.RNN(d, h, num_layers=num_layers).parameters())
    below = "X" + f"{step}".translate(SUB) if layer == 1 else state_name(layer - 1, step)
    print(f"{state_name(layer, step)} = φ({below} W_xh + {state_name(layer, step - 1)} W_hh + b), weights weight_*_l{layer - 1}")
    places = ([f"output[{step - 1}]"] if layer == num_layers else []) + ([f"h_n[{layer - 1}]"] if step == seq_len else [])
    print(f"in torch: {' and '.join(places) if places else 'an inner state: neither in output nor in h_n'}")
    n_anc = step * layer - 1 + step + layer  # earlier states, inputs X_1…X_t, initial states of layers 1…l
    print(f"depends on {n_anc} cells: {step} input(s), {layer} initial state(s), {step * layer - 1} earlier state(s)")
    print(f"nn.RNN({d}, {h}, num_layers={num_layers}): {n_params} parameters")
    fig, ax = plt.subplots(figsize=(min(3.5 + 0.9 * seq_len, 11), 1.4 + 0.7 * num_layers))
    draw_grid(ax, num_layers, seq_len, layer, step, ancestors)
    plt.tight_layout()
    plt.show()
    return {"cell": (layer, step), "places": places, "depends_on": n_anc, "params": n_params}

# %% [markdown]
# The widget (move the sliders; it redraws each time):

# %%
# NBVAL_IGNORE_OUTPUT
grid_ui = widgets.interactive(
    show_grid,
    num_layers=widgets.IntSlider(value=3, min=0, max=5, description="layers L"),
    seq_len=widgets.IntSlider(value=5, min=0, max=10, description="length T"),
    layer=widgets.IntSlider(value=2, min=0, max=5, description="layer l"),
    step=widgets.IntSlider(value=3, min=0, max=10, description="step t"),
    ancestors=widgets.Checkbox(value=True, description="show all it depends on"),
)
display(grid_ui)

# %% [markdown]
# The same callback in plain cells (an error inside a widget only shows in the widget's output area): the
# defaults, the extremes, and invalid settings.

# %%
result = show_grid()
assert result == {"cell": (2, 3), "places": [], "depends_on": 10, "params": 175}

# %%
assert show_grid(1, 1, 1, 1, False) == {"cell": (1, 1), "places": ["output[0]", "h_n[0]"], "depends_on": 2, "params": 55}
result = show_grid(5, 10, 5, 10)
assert result["places"] == ["output[9]", "h_n[4]"] and result["params"] == rnn_param_count(d, h, 5) == 295
assert show_grid(3, 5, 1, 5)["places"] == ["h_n[0]"]  # the bottom layer's last state: h_n[0], not in output

# %%
assert show_grid(num_layers=0) is None
assert show_grid(seq_len=0) is None
assert show_grid(layer=4) is None
assert show_grid(step=0) is None

# %% [markdown]
# ## 8 · Traps
#
# **Trap 1: layers above the first take h inputs, not d.** Layer k > 0 reads the state below, so
# `weight_ih_l1` is [h, h]. Copying layer 0's input weights into layer 1 fails, with a shape message:

# %%
two = nn.RNN(d, h, num_layers=2)
print(f"weight_ih_l0 {list(two.weight_ih_l0.shape)} (reads d = {d})   weight_ih_l1 {list(two.weight_ih_l1.shape)} (reads h = {h})")
try:
    two.load_state_dict({**two.state_dict(), "weight_ih_l1": two.weight_ih_l0.detach()})
except RuntimeError as err:
    print("load_state_dict:", str(err).splitlines()[-1].strip())

# %% [markdown]
# **Trap 2: `h_n[0]` is the bottom layer, not the top.** With several layers, the state to put a many-to-one head
# on is the top layer's, `h_n[-1]` (which equals `output[-1]`); `h_n[0]` is the last state of the first layer.

# %%
with torch.no_grad():
    out3, hn3 = rnn(X)
assert torch.equal(hn3[-1], out3[-1]) and not torch.allclose(hn3[0], out3[-1])
print(f"h_n[-1] == output[-1]: {torch.equal(hn3[-1], out3[-1])}   h_n[0] == output[-1]: {torch.allclose(hn3[0], out3[-1])}")
head = nn.Linear(h, 2)
print(f"many-to-one head on the top layer: head(h_n[-1]) {list(head(hn3[-1]).shape)}")

# %% [markdown]
# **Trap 3: dropout with one layer does nothing.** There is no layer *between* to drop, so torch warns (a
# `UserWarning`, caught here so the message prints instead of going to stderr) and `ScratchRNN` says the same.
# In training mode, its output equals the one without dropout.

# %%
for cls in (nn.RNN, ScratchRNN):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.manual_seed(2)
        one = cls(d, h, dropout=0.5)
    print(f"{cls.__name__:<10} {caught[0].category.__name__}: {caught[0].message}")
torch.manual_seed(2)
plain = nn.RNN(d, h)
assert one.training and torch.equal(one(X)[0], twin(plain)(X)[0])
print("✓ in training mode, ScratchRNN(dropout=0.5, num_layers=1) gives exactly the output of dropout=0")

# %% [markdown]
# **Trap 4: dropout in eval mode.** Forgetting `model.eval()` before evaluating leaves the masks on (the numbers
# change from call to call); with it, a module built with `dropout=0.5` gives bit for bit the output of
# `dropout=0`.

# %%
torch.manual_seed(6)
with_drop = nn.RNN(d, h, num_layers=3, dropout=0.5)
no_drop = nn.RNN(d, h, num_layers=3)
no_drop.load_state_dict(with_drop.state_dict())
with torch.no_grad():
    a, b = with_drop(X)[0], with_drop(X)[0]
    print(f"train mode, two calls equal: {torch.equal(a, b)}")
    for module, reference in ((with_drop, no_drop), (twin(with_drop), twin(no_drop))):
        module.eval()
        assert torch.equal(module(X)[0], reference(X)[0]) and torch.equal(module(X)[1], reference(X)[1])
        print(f"✓ {type(module).__name__:<10} eval mode with dropout=0.5 equals dropout=0, bit for bit")

# %% [markdown]
# **Trap 5: h0 has one row per layer.** For a 2-layer RNN, h0 is (2, N, h). A (1, N, h) one, kept from a one-layer
# model, is refused: torch gives the shape it expected, `ScratchRNN` also says why.

# %%
for module in (two, twin(two)):
    try:
        module(X, torch.zeros(1, N, h))
    except RuntimeError as err:
        print(f"{type(module).__name__:<10} {err}")

# %% [markdown]
# ## 9 · Exercises
#
# Each exercise has a checker that runs your code against torch and says **what** is wrong. Replace the `...`,
# run the cell, then run the checker cell below it (collapsed: you read its verdict). Solutions are at the end,
# collapsed too; try first.
#
# **Exercise 1.** Predict the number of parameters of `nn.RNN(input_size, hidden_size, num_layers, bias=bias)`
# without building one. Return an `int`.

# %%
def count_params(input_size, hidden_size, num_layers, bias):
    ...  # your code here: return an int

# %% hidden
def check_count_params(fn):
    """Compare fn with sum(p.numel()) of nn.RNN at several sizes; name the usual slips. Returns True/False."""
    for d_, h_, L_, bias in [(4, 5, 1, True), (4, 5, 3, True), (10, 20, 2, False), (7, 3, 4, True)]:
        call = f"count_params({d_}, {h_}, {L_}, bias={bias})"
        with torch.random.fork_rng():  # private random numbers: your own seed is left alone
            want = sum(p.numel() for p in nn.RNN(d_, h_, L_, bias=bias).parameters())
        try:
            got = fn(d_, h_, L_, bias)
        except Exception as err:  # report the learner's error instead of raising it
            print(f"✗ {call} raised {type(err).__name__}: {err}")
            return False
        if got is None:
            print("✗ not done yet: count_params returned None.")
            return False
        if isinstance(got, bool) or not isinstance(got, (int, torch.Tensor)) or (isinstance(got, torch.Tensor) and got.numel() != 1):
            print(f"✗ {call} returned {type(got).__name__}: return one int.")
            return False
        got = int(got)
        b = 2 * h_ if bias else 0
        slips = [(L_ * (h_ * (d_ + h_) + b), "every layer above the first reads h inputs, not d: in_k = h for k > 0"),
                 (h_ * (d_ + h_) + b, "that is one layer: add one term per layer"),
                 (sum(h_ * ((d_ if k == 0 else h_) + h_) + (h_ if bias else 0) for k in range(L_)),
                  "torch has TWO bias vectors per layer, b_ih and b_hh"),
                 (sum(h_ * ((d_ if k == 0 else h_) + h_) + 2 * h_ for k in range(L_)), "with bias=False there are no biases")]
        if got != want:
            hint = next((m for w, m in slips if w == got and w != want), "count h·(in_k + h) + 2h per layer k")
            print(f"✗ {call} returned {got}, expected {want}. Hint: {hint}.")
            return False
    print("✓ count_params agrees with nn.RNN at every size tried.")
    return True


exercise_1_passed = check_count_params(count_params)

# %% [markdown]
# **Exercise 2.** Given the `output` and `h_n` of a multi-layer `nn.RNN` and its `batch_first` setting, return the
# pair `(top, bottom)`: the last state of the **top** layer and the last state of the **bottom** layer, each [N, h].

# %%
def top_and_bottom(output, h_n, batch_first):
    ...  # your code here: return (top [N, h], bottom [N, h])

# %% hidden
def check_top_and_bottom(fn):
    """Compare fn with h_n[-1], h_n[0] of a 3-layer nn.RNN in both layouts; name the usual slips. Returns True/False."""
    for batch_first in (False, True):
        with torch.random.fork_rng():
            torch.manual_seed(7)
            r = nn.RNN(4, 5, num_layers=3, batch_first=batch_first)
            x = torch.randn(2, 6, 4) if batch_first else torch.randn(6, 2, 4)
        with torch.no_grad():
            output, h_n = r(x)
        try:
            got = fn(output, h_n, batch_first)
        except Exception as err:
            print(f"✗ (batch_first={batch_first}) top_and_bottom raised {type(err).__name__}: {err}")
            return False
        if got is None:
            print("✗ not done yet: top_and_bottom returned None.")
            return False
        if not (isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(g, torch.Tensor) for g in got)):
            print(f"✗ top_and_bottom returned a {type(got).__name__}: return a pair of tensors (top, bottom).")
            return False
        seq = output.transpose(0, 1) if batch_first else output
        for name, g, want in (("top", got[0], h_n[-1]), ("bottom", got[1], h_n[0])):
            if g.shape == want.shape and torch.equal(g, want):
                continue
            hints = [(h_n[0] if name == "top" else h_n[-1], "h_n[0] is the BOTTOM layer, h_n[-1] the top"),
                     (seq[0], "that is the first time step of the top layer, not the last"),
                     (h_n[1], "h_n[1] is the middle layer"),
                     (output[-1] if batch_first else output[:, -1], "with batch_first the time axis is dim 1 (and without it, dim 0)")]
            hint = next((m for w, m in hints if g.shape == w.shape and torch.equal(g, w)),
                        "top = h_n[-1] (also the last step of output); the bottom layer appears only in h_n")
            print(f"✗ (batch_first={batch_first}) {name} is wrong, shape {tuple(g.shape)}. Hint: {hint}.")
            return False
    print("✓ top_and_bottom picks the right layers in both layouts.")
    return True


exercise_2_passed = check_top_and_bottom(top_and_bottom)

# %% [markdown]
# **Exercise 3.** Write the **time-outer** loop with torch's cells: `cells` is a list of `nn.RNNCell`, one per
# layer (`cells[0]` reads d features, the others h), `x` is [T, N, d] and `h0` is [L, N, h]. Return
# `(output, h_n)` exactly as the `nn.RNN` with the same weights would: output [T, N, h], h_n [L, N, h].

# %%
def time_outer_with_cells(cells, x, h0):
    ...  # your code here: return (output [T, N, h], h_n [L, N, h])

# %% hidden
def check_time_outer(fn):
    """Compare fn with a 3-layer nn.RNN (T = 6, N = 2, d = 4, h = 5) in float64; name the usual slips."""
    with torch.random.fork_rng():
        torch.manual_seed(8)
        r = nn.RNN(4, 5, num_layers=3, dtype=torch.float64)
        x, h0 = torch.randn(6, 2, 4, dtype=torch.float64), torch.randn(3, 2, 5, dtype=torch.float64)
        cells = [nn.RNNCell(4 if k == 0 else 5, 5, dtype=torch.float64) for k in range(3)]
    for k, c in enumerate(cells):
        c.load_state_dict({n.removesuffix(f"_l{k}"): p for n, p in r.state_dict().items() if n.endswith(f"_l{k}")})
    with torch.no_grad():
        (want_out, want_hn), from_zeros = r(x, h0), r(x)
        try:
            got = fn(cells, x, h0)
        except Exception as err:
            print(f"✗ time_outer_with_cells raised {type(err).__name__}: {err}\n  Hint: cells[k](input [N, in], state [N, h]); "
                  "layer 0 reads x[t], layer k > 0 the new state of layer k − 1.")
            return False
    if got is None or not (isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(g, torch.Tensor) for g in got)):
        print(f"✗ {'not done yet: it returned None' if got is None else 'return a pair of tensors (output, h_n)'}.")
        return False
    out, hn = got

    def same(a, b):
        return a.shape == b.shape and torch.allclose(a, b, rtol=0.0, atol=1e-10)
    checks = [(out.shape != want_out.shape, f"output has shape {tuple(out.shape)}, expected {tuple(want_out.shape)}"),
              (same(out, from_zeros[0]), "you started from zeros: layer k starts from h0[k]"),
              (not same(out, want_out), "output differs from nn.RNN's: output holds the TOP layer's state at every step"),
              (hn.shape != want_hn.shape, f"h_n has shape {tuple(hn.shape)}, expected {tuple(want_hn.shape)}: one row per layer"),
              (same(hn, want_hn.flip(0)), "h_n is in reverse order: row 0 is the bottom layer"),
              (not same(hn, want_hn), "h_n differs: row k is layer k's state after the last step")]
    for wrong, message in checks:
        if wrong:
            print(f"✗ {message}.")
            return False
    print("✓ your time-outer loop of nn.RNNCells reproduces the 3-layer nn.RNN: output and h_n.")
    return True


exercise_3_passed = check_time_outer(time_outer_with_cells)

# %% [markdown]
# ## 10 · On a GPU
#
# The same `parity` check, on CUDA when there is one, for a 2-layer `nn.RNN`, which runs on **cuDNN** there (in
# training mode: cuDNN's backward refuses eval mode). In float64 the comparison is as tight as on the CPU; in
# float32 this cell switches TF32 off (cuDNN would use it by default) and restores the settings afterwards. On a
# machine without a GPU it prints one line and steps aside.

# %%
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    saved_tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # cuDNN's RNN would otherwise use TF32 for float32
    torch.backends.cuda.matmul.allow_tf32 = False  # ScratchRNN's matmuls: full float32 (the default)
    for dtype, tol in [(torch.float64, EXACT), (torch.float32, {})]:
        t_rnn = nn.RNN(d, h, num_layers=2, device=DEVICE, dtype=dtype)
        xg = torch.randn(T, 16, d, device=DEVICE, dtype=dtype)
        n = parity(t_rnn, twin(t_rnn), xg, torch.randn(2, 16, h, device=DEVICE, dtype=dtype), **tol)
        print(f"✓ {torch.cuda.get_device_name()} {dtype}: output, h_n and {n - 2} gradients match "
              f"({'|Δ| ≤ 1e-12' if tol else 'float32 defaults, TF32 off'})")
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved_tf32
else:
    print("No GPU here: skipped (this cell repeats the parity check against cuDNN when a GPU is present).")

# %% [markdown]
# ## 11 · Summary
#
# | | |
# |---|---|
# | the recurrence | $H_t^{(l)} = \varphi(H_t^{(l-1)} W_{xh}^{(l)} + H_{t-1}^{(l)} W_{hh}^{(l)} + b^{(l)})$, $H_t^{(0)} = X_t$, $l = 1 \dots L$; output layer $O_t = H_t^{(L)} W_{hq} + b_q$ |
# | torch | `nn.RNN(d, h, num_layers=L, dropout=p)`, called as `output, h_n = rnn(X, h0)` |
# | weights | `weight_ih_l0` [h, d], `weight_ih_l{k}` [h, h] for k > 0, `weight_hh_l{k}` [h, h], `bias_ih_l{k}`, `bias_hh_l{k}` [h]; registered layer by layer |
# | parameters | $\sum_k h(\text{in}_k + h) + 2h$, $\text{in}_0 = d$, $\text{in}_k = h$ |
# | shapes | X (T, N, d) → output (T, N, h) = the **top** layer's states; h_n (L, N, h), row k = layer k's last state, **bottom first**; h0 (L, N, h) |
# | the last step | `output[-1]` equals `h_n[-1]` (top layer); `h_n[0]` is the bottom layer |
# | loop orders | layer-outer (whole sequences, hoisted input product, cuDNN) = time-outer (streaming, one step at a time, wavefront), bit for bit |
# | dropout | on the outputs of layers 0 … L−2 only, in training mode only; never on $H_{t-1} \to H_t$, never on h_n or output; num_layers=1: a warning and no effect; eval mode = dropout 0 |
# | parity checked | `load_state_dict` both ways; output, h_n and all gradients for 1–3 layers × bias × batch_first × h0 × batched (48 runs, float64, ≤ 1e-12); float32 within its defaults; train-mode dropout with the same seed |
#
# **Next:** lesson 05 adds the second direction (`bidirectional=True`: a layer that reads the sequence backwards,
# and what `h_n` then holds) and packed sequences of different lengths.

# %% [markdown]
# ## Solutions
#
# Collapsed so they stay out of the way: click the cell to expand. Each solution is passed through its checker
# (and must pass); then deliberately wrong answers show what the checkers say.

# %% solution
def count_params_solution(input_size, hidden_size, num_layers, bias):
    per_bias = 2 * hidden_size if bias else 0  # b_ih and b_hh
    return sum(hidden_size * ((input_size if k == 0 else hidden_size) + hidden_size) + per_bias for k in range(num_layers))


def top_and_bottom_solution(output, h_n, batch_first):
    return h_n[-1], h_n[0]  # h_n is never batch-first; h_n[-1] also equals output[-1] (output[:, -1] with batch_first)


def time_outer_with_cells_solution(cells, x, h0):
    H, tops = list(h0), []
    for x_t in x:
        below = x_t
        for k, cell in enumerate(cells):
            H[k] = cell(below, H[k])
            below = H[k]
        tops.append(below)
    return torch.stack(tops), torch.stack(H)


assert check_count_params(count_params_solution)
assert check_top_and_bottom(top_and_bottom_solution)
assert check_time_outer(time_outer_with_cells_solution)

# %% solution
# What the checkers say to three common mistakes:
def reversed_h_n(cells, x, h0):
    out, hn = time_outer_with_cells_solution(cells, x, h0)
    return out, hn.flip(0)


assert not check_count_params(lambda d_, h_, L_, bias: L_ * (h_ * (d_ + h_) + (2 * h_ if bias else 0)))
assert not check_top_and_bottom(lambda output, h_n, batch_first: (h_n[0], h_n[-1]))
assert not check_time_outer(reversed_h_n)
