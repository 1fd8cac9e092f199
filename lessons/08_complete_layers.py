# %% [markdown]
# # 08 · The complete layers: `ScratchRNN`, `ScratchLSTM`, `ScratchGRU` on one core
#
# Say a colleague's tagger reads batches of padded sentences with
# `nn.LSTM(300, 128, num_layers=2, bidirectional=True, batch_first=True)`, and you have its trained `state_dict`.
# Swap in your own layer. Does the checkpoint still load? Are the predictions, the gradients, even the error for a
# wrong input the same? By the end of this lesson they are: you build `ScratchRNN`, `ScratchLSTM` and `ScratchGRU`,
# drop-in replacements for torch's three layers, and test them against torch in 480 settings.
#
# They are not three copies. As torch's three subclass `nn.RNNBase`, here **one core** runs layers × directions ×
# time, and each cell adds only its step. You build a small core, check it against torch at once, then extend it
# one method at a time: `proj_size`, every input form, dropout. At the end you plug in a cell of your own: any
# cell whose weights are G gate blocks of `weight_ih`, `weight_hh` and the two biases fits (not a peephole LSTM:
# its extra weights are parameters the core does not register).
#
# **You should know:** lessons 02–07 (the loop, stacked layers, both directions, packing by masking, the LSTM
# and GRU steps). The recap repeats what this lesson needs.

# %% [markdown]
# ## Setup

# %%
import contextlib
import functools
import inspect
import io
import itertools
import math
import numbers
import warnings

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F
from IPython.display import display
from torch.func import functional_call
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # only the GPU cell uses it
warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")  # a harmless note
f64, EXACT = torch.float64, {"atol": 1e-12, "rtol": 0.0}  # float64 parity: equal up to rounding

# %% [markdown]
# ## 1 · Recap: three steps
#
# Each cell reads $x$ [N, d] and the previous state and returns the new one. torch stacks the weights of the G
# gates in row blocks, in a fixed order:
#
# | cell | G blocks | the step |
# |---|---|---|
# | RNN | 1 | $h' = \tanh \text{ or relu}(x W_{ih}^\top + b_{ih} + h W_{hh}^\top + b_{hh})$ |
# | LSTM | 4: i, f, g, o | i, f, g, o are the four chunks of the pre-activation $x W_{ih}^\top + b_{ih} + h W_{hh}^\top + b_{hh}$; $c' = \sigma(f) \odot c + \sigma(i) \odot \tanh(g)$, $h' = \sigma(o) \odot \tanh(c')$; with `proj_size`: $h' \leftarrow h' W_{proj}^\top$ |
# | GRU | 3: r, z, n | $x_r, x_z, x_n$ and $h_r, h_z, h_n$: the chunks of $x W_{ih}^\top + b_{ih}$ and $h W_{hh}^\top + b_{hh}$; $r = \sigma(x_r + h_r)$, $z = \sigma(x_z + h_z)$, $n = \tanh(x_n + r \odot h_n)$, $h' = (1 - z) \odot n + z \odot h$ |
#
# `lstm_step` below is lesson 06's (`w_hr` = $W_{proj}$, torch's `weight_hr`; exercise 3 imitates it). A hidden
# cell re-states `rnn_step`, `gru_step` and `parity` and checks each step against torch's cell.

# %%
def lstm_step(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None):
    """x [N, d], h [N, H_out], c [N, H] → (h', c'). Gate blocks in torch's order i, f, g, o."""
    i, f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, -1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return (h if w_hr is None else F.linear(h, w_hr)), c

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


def rnn_step(x, h_prev, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """H_t = φ(x W_ihᵀ + b_ih + h_prev W_hhᵀ + b_hh).  x [N, d], h_prev [N, h] → H_t [N, h]."""
    a = F.linear(x, w_ih, b_ih) + F.linear(h_prev, w_hh, b_hh)
    return torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)


def gru_step(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """x [N, d], h [N, H] → h'. Blocks r, z, n; r multiplies (h W_hnᵀ + b_hn), as torch does."""
    x_r, x_z, x_n = F.linear(x, w_ih, b_ih).chunk(3, -1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, -1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


with torch.no_grad():
    g_ = torch.Generator().manual_seed(1)
    x1, h1, c1 = (torch.randn(3, n, generator=g_, dtype=f64) for n in (9, 8, 8))
    for cell, ours in [(nn.RNNCell(9, 8, dtype=f64), lambda m: rnn_step(x1, h1, *m.parameters())),
                       (nn.RNNCell(9, 8, nonlinearity="relu", dtype=f64),
                        lambda m: rnn_step(x1, h1, *m.parameters(), nonlinearity="relu")),
                       (nn.LSTMCell(9, 8, dtype=f64), lambda m: lstm_step(x1, h1, c1, *m.parameters())),
                       (nn.GRUCell(9, 8, dtype=f64), lambda m: gru_step(x1, h1, *m.parameters()))]:
        torch.testing.assert_close(ours(cell), cell(x1, (h1, c1)) if isinstance(cell, nn.LSTMCell) else cell(x1, h1), **EXACT)
print("✓ recap: rnn_step (tanh, relu), lstm_step, gru_step equal nn.RNNCell, nn.LSTMCell, nn.GRUCell (float64)")

# %% [markdown]
# Sizes for the whole lesson, all different so that a mix-up of two axes raises an error: T = 5 steps, N = 3
# sequences, d = 9 features, H = 8 hidden units, P = 7 for `proj_size`. With D = 2 if bidirectional else 1,
# L = `num_layers` and $H_{out}$ = `proj_size` or `hidden_size`, a layer gives:
#
# | tensor | shape |
# |---|---|
# | input | (T, N, d); `batch_first`: (N, T, d); unbatched: (T, d); or a `PackedSequence` |
# | output | (T, N, D·$H_{out}$): the top layer, forward direction first |
# | h_n | (D·L, N, $H_{out}$): row layer·D + direction; **never** batch-first |
# | c_n (LSTM) | (D·L, N, H): the cell state is never projected |

# %%
T, N, d, H, P = 5, 3, 9, 8, 7

# %% [markdown]
# ## 2 · The core
#
# **The parameters.** For layer k and direction (suffix `_reverse` for the backward one), torch registers, in this
# order: `weight_ih_l{k}` (G·H, $d_k$), `weight_hh_l{k}` (G·H, $H_{out}$), `bias_ih_l{k}` and `bias_hh_l{k}`
# (G·H,) unless `bias=False`, and for an LSTM with `proj_size` the projection `weight_hr_l{k}` (P, H; section 3). Layer 0
# reads $d_0$ = d inputs, every layer above reads $d_k$ = D·$H_{out}$, both directions of the layer below. All
# are drawn from $U(-1/\sqrt{H}, 1/\sqrt{H})$. torch also lists them in `all_weights`: one list per
# layer-direction, in registration order.

# %% hidden
def draw_gate_blocks(ax):
    """weight_ih of each cell as G row-blocks of H rows: torch's gate order, top to bottom."""
    layouts = [("RNN", ["h"]), ("LSTM", ["i", "f", "g", "o"]), ("GRU", ["r", "z", "n"])]
    colors = {"h": "#cfe2f3", "i": "#d9ead3", "f": "#fce5cd", "g": "#ead1dc", "o": "#fff2cc", "r": "#d9d2e9",
              "z": "#d0e0e3", "n": "#f4cccc"}
    for col, (name, gates) in enumerate(layouts):
        x0 = col * 3.2
        for row, gate in enumerate(gates):
            ax.add_patch(plt.Rectangle((x0, -row - 1), 2, 1, fc=colors[gate], ec="#666666"))
            rows = "rows 0 … H−1" if len(gates) == 1 else f"rows {row}·H … {row + 1}·H−1"
            ax.text(x0 + 1, -row - 0.5, f"{gate}: {rows}", ha="center", va="center", fontsize=8)
        ax.text(x0 + 1, 0.35, f"{name}  weight_ih ({len(gates)}·H, d)", ha="center", fontsize=9, weight="bold")
    ax.text(6.4 + 2.3, -2.5, "weight_hr (P, H)\nLSTM with proj_size:\nh' ← h' W_projᵀ", fontsize=8, va="center")
    ax.set_xlim(-0.2, 10.8)
    ax.set_ylim(-4.3, 0.8)
    ax.axis("off")
    ax.set_title("torch stacks the gates' weights row-block by row-block (weight_hh and the biases alike)", fontsize=10)


fig, ax = plt.subplots(figsize=(10, 2.8))
draw_gate_blocks(ax)
plt.show()

# %% [markdown]
# **The step and the loop.** `CELLS` says, for each mode (torch's names), how many gate blocks G the weights
# stack, how many state tensors the cell carries (S: `(h,)`, or `(h, c)` for the LSTM) and how to take one step
# with a layer-direction's weights `w = (w_ih, w_hh, b_ih, b_hh, w_hr)` (`None` where missing). `run_direction` is
# lesson 05's loop with the step plugged in.

# %%
CELLS = {  # mode → (G gate blocks, S state tensors, one step: (x [N, d_k], state, w) → new state)
    "RNN_TANH": (1, 1, lambda x, s, w: (rnn_step(x, *s, *w[:4]),)),
    "RNN_RELU": (1, 1, lambda x, s, w: (rnn_step(x, *s, *w[:4], nonlinearity="relu"),)),
    "LSTM": (4, 2, lambda x, s, w: lstm_step(x, *s, *w)),
    "GRU": (3, 1, lambda x, s, w: (gru_step(x, *s, *w[:4]),)),
}


def run_direction(step, X, state, w, reverse=False):
    """One layer, one direction. X [T, N, d_k], state (h [N, H],) or (h, c) → out [T, N, H], final state."""
    out = [None] * len(X)
    for t in (reversed(range(len(X))) if reverse else range(len(X))):
        state = step(X[t], state, w)
        out[t] = state[0]  # position t, whichever direction
    return torch.stack(out), state

# %% [markdown]
# **The module.** The constructor is the parameter list above as a loop (`layer_shapes`: one layer's list).
# `forward` runs layers × directions, each direction from its row layer·D + direction of `h0`, the two outputs side
# by side. For now it takes a time-major tensor (T, N, d) and a given `hx`; section 3 fills in the one-line methods
# at the end. A hidden cell after it adds `all_weights` and torch's checks of arguments and inputs.

# %%
class ScratchRNNBase(nn.Module):
    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, float(dropout), bidirectional
        self.proj_size, self._all_weights = proj_size, []  # _all_weights: per layer-direction, its parameters' names
        for k, sfx in itertools.product(range(num_layers), ("", "_reverse")[:2 if bidirectional else 1]):
            shapes = self.layer_shapes(k)  # layer by layer, forward direction first; both directions alike
            for name, shape in shapes.items():
                setattr(self, f"{name}_l{k}{sfx}", nn.Parameter(torch.empty(shape, device=device, dtype=dtype)))
            self._all_weights.append([f"{name}_l{k}{sfx}" for name in shapes])
        for p in self.parameters():  # torch's init, in registration order: U(-1/√H, 1/√H)
            nn.init.uniform_(p, -1.0 / math.sqrt(hidden_size), 1.0 / math.sqrt(hidden_size))

    run_direction = staticmethod(run_direction)  # the loop above, a method so that section 3 can extend it

    def layer_shapes(self, k):  # layer k's parameters, in torch's order (proj_size: section 3)
        GH, D, H = CELLS[self.mode][0] * self.hidden_size, 2 if self.bidirectional else 1, self.hidden_size
        shapes = {"weight_ih": (GH, self.input_size if k == 0 else D * H), "weight_hh": (GH, H)}
        return shapes | ({"bias_ih": (GH,), "bias_hh": (GH,)} if self.bias else {})

    def forward(self, input, hx=None):
        X, state, loop_kw = self.read(input, hx)  # X [T, N, d] time-major; state (h0 [D·L, N, H],) or (h0, c0)
        D, step, finals = 2 if self.bidirectional else 1, CELLS[self.mode][2], []
        for k in range(self.num_layers):
            outs = []
            for j, sfx in enumerate(("", "_reverse")[:D]):  # j = 0 forward, 1 reverse
                w = tuple(getattr(self, f"{n}_l{k}{sfx}", None) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"))
                i = k * D + j  # the row of h0 / h_n: layer·D + direction
                out, final = self.run_direction(step, X, tuple(s[i] for s in state), w, reverse=j == 1, **loop_kw)
                outs.append(out)
                finals.append(final)
            X = self.between_layers(torch.cat(outs, dim=-1), k, input)  # [T, N, D·H], forward half first
        return self.write_output(X, tuple(torch.stack(s) for s in zip(*finals)), input)

    # Section 3 fills these in; for now: the tensor and hx as they are, no extra loop arguments, no dropout.
    def read(self, input, hx): return input, (hx if isinstance(hx, tuple) else (hx,)), {}
    def between_layers(self, X, k, input): return X
    def write_output(self, X, finals, input): return X, (finals if len(finals) == 2 else finals[0])  # h_n or (h_n, c_n)

# %% hidden
# Plumbing on the main path: torch's checks in front of the core's __init__ and forward, all_weights, torch's repr
# and flatten_parameters (cuDNN's weight packing: nothing to do for a loop). "Going deeper" at the end of section 3
# explains the checks and shows their errors beside torch's. Re-running this cell replaces the checks; it never stacks them.
def checked(method, check):
    """method, preceded by check(self, *args): the check raises on bad input, else the method runs unchanged."""
    method = getattr(method, "__wrapped__", method)  # the unchecked method, if this cell ran before

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        check(self, *args, **kwargs)
        return method(self, *args, **kwargs)
    return run


def check_config(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
    if mode not in CELLS:
        raise ValueError(f"unknown mode {mode!r}: add its (G, S, step) to CELLS first; known: {', '.join(CELLS)}")
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1:
        raise ValueError(f"dropout should be a number in range [0, 1] (the probability of zeroing an element), got {dropout!r}")
    for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool), ("bidirectional", bidirectional, bool),
                              ("input_size", input_size, int), ("hidden_size", hidden_size, int), ("num_layers", num_layers, int)):
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError(f"{name} should be of type {kind.__name__}, got {value!r} ({type(value).__name__})")
        if kind is int and value <= 0:
            raise ValueError(f"{name} must be greater than zero, got {value}")
    if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
        raise ValueError(f"proj_size should be a positive integer or zero to disable projections, got {proj_size!r}")
    if proj_size > 0 and mode != "LSTM":
        raise ValueError(f"proj_size argument is only supported for LSTM, not RNN or GRU (got proj_size={proj_size})")
    if proj_size >= hidden_size:
        raise ValueError(f"proj_size has to be smaller than hidden_size, got proj_size={proj_size} ≥ hidden_size={hidden_size}")
    if dropout > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                      f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}")


def check_input(self, input):
    name = type(self).__name__
    if isinstance(input, PackedSequence):
        X = input.data  # [sum of the lengths, d]
    elif not isinstance(input, torch.Tensor):
        raise TypeError(f"{name} takes a tensor or a PackedSequence as input, got a {type(input).__name__}")
    elif input.dim() not in (2, 3):
        layout = "(N, T, d)" if self.batch_first else "(T, N, d)"
        raise ValueError(f"{name}: expected input (T, d) or {layout}, got a {input.dim()}-D tensor {tuple(input.shape)}")
    else:
        X = input
    w = self.weight_ih_l0
    if X.dtype != w.dtype:
        raise ValueError(f"input dtype {X.dtype} does not match the weights' dtype {w.dtype}: convert the input, "
                         f"input.to({w.dtype}), or the model, model.to({X.dtype})")
    if X.shape[-1] != self.input_size:
        raise RuntimeError(f"input has {X.shape[-1]} features in its last dimension, expected input_size={self.input_size}")
    if X.dim() == 3 and X.shape[1 if self.batch_first else 0] == 0 or X.dim() == 2 and X.shape[0] == 0:
        raise RuntimeError("the sequence is empty (0 steps): no step to run, no last state to return")


def batch_size(rnn, input):
    """N of a batched input: (T, N, d), (N, T, d) with batch_first, or a PackedSequence."""
    if isinstance(input, PackedSequence):
        return int(input.batch_sizes[0])
    return input.shape[0 if rnn.batch_first else 1]


def check_hx(self, hx, input):
    if hx is None:
        return
    S, name, unbatched = CELLS[self.mode][1], type(self).__name__, torch.is_tensor(input) and input.dim() == 2
    if S == 2 and not (isinstance(hx, tuple) and len(hx) == 2 and all(torch.is_tensor(s) for s in hx)):
        raise TypeError(f"{name} takes hx = (h0, c0), a tuple of two tensors, got a {type(hx).__name__}")
    if S == 1 and not torch.is_tensor(hx):
        raise TypeError(f"{name} takes hx = h0, one tensor, got a {type(hx).__name__}: only an LSTM has a c0")
    rows = len(self._all_weights)  # D·L
    for which, state, size in zip(("h0", "c0"), hx if S == 2 else (hx,), (self.proj_size or self.hidden_size, self.hidden_size)):
        want = (rows, size) if unbatched else (rows, batch_size(self, input), size)
        if state.dim() != len(want):
            raise RuntimeError(f"{'unbatched 2-D' if unbatched else 'batched 3-D'} input needs a {len(want)}-D {which} "
                               f"{want}, got a {state.dim()}-D {which} {tuple(state.shape)}")
        if tuple(state.shape) != want:
            raise RuntimeError(f"{which} should be {want}, got {tuple(state.shape)}: {shape_hint(self, which, tuple(state.shape), want)}")
        if state.dtype != self.weight_ih_l0.dtype:
            raise RuntimeError(f"{which} dtype {state.dtype} does not match the input dtype {self.weight_ih_l0.dtype}")


def shape_hint(rnn, which, got, want):
    """The likeliest reason for a wrong h0/c0 shape, in words."""
    if len(want) == 3 and sorted(got) == sorted(want):
        return f"{which} is never batch-first, even with batch_first=True"
    if rnn.bidirectional and got[0] == rnn.num_layers:
        return f"bidirectional: one row per layer and direction, 2·num_layers = {want[0]}"
    if got[-1] != want[-1] and rnn.proj_size:
        return "h0 has proj_size columns (h is projected)" if which == "h0" else "c0 keeps hidden_size columns (only h is projected)"
    if len(want) == 3 and got[1] != want[1]:
        return f"the input holds a batch of N = {want[1]} sequences"
    return f"one row per layer and direction ({want[0]}), then {'N, ' if len(want) == 3 else ''}{want[-1]} columns"


def check_forward(self, input, hx=None):
    check_input(self, input)
    check_hx(self, hx, input)


def extra_repr(self):
    s = f"{self.input_size}, {self.hidden_size}"
    for name, default in (("proj_size", 0), ("num_layers", 1), ("bias", True), ("batch_first", False),
                          ("dropout", 0.0), ("bidirectional", False)):
        s += f", {name}={getattr(self, name)}" if getattr(self, name) != default else ""
    return s


ScratchRNNBase.__init__ = checked(ScratchRNNBase.__init__, check_config)
ScratchRNNBase.forward = checked(ScratchRNNBase.forward, check_forward)
ScratchRNNBase.extra_repr, ScratchRNNBase.flatten_parameters = extra_repr, lambda self: None
ScratchRNNBase.all_weights = property(  # per layer-direction, its parameters in registration order
    lambda self: [[getattr(self, name) for name in names] for names in self._all_weights])
try:
    ScratchRNNBase("GRU", d, H, proj_size=P)
    raise AssertionError("a GRU with proj_size was accepted: the checks are not in front of __init__")
except ValueError as err:
    print(f"✓ checks attached (details: Going deeper, at the end of section 3); e.g. a GRU with proj_size → ValueError: {err}")

# %% [markdown]
# The three layers are constructors only, with torch's argument names, order and defaults. `nn.RNN` and `nn.GRU`
# refuse a `proj_size` keyword with a `ValueError`; ours take it keyword-only, so that the core can refuse it the
# same way. `twin` (hidden cell) builds the scratch module of a torch module, with its settings and weights.

# %%
class ScratchRNN(ScratchRNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None, *, proj_size=0):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_" + nonlinearity.upper(), input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)
        self.nonlinearity = nonlinearity


class ScratchLSTM(ScratchRNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class ScratchGRU(ScratchRNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None, *, proj_size=0):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)

# %% hidden
TWINS = {"RNN_TANH": (nn.RNN, ScratchRNN, {}), "RNN_RELU": (nn.RNN, ScratchRNN, {"nonlinearity": "relu"}),
         "LSTM": (nn.LSTM, ScratchLSTM, {}), "GRU": (nn.GRU, ScratchGRU, {})}  # mode → torch, scratch, extra kwargs
MODES = {"RNN tanh": ("RNN_TANH", {}), "RNN relu": ("RNN_RELU", {}), "LSTM": ("LSTM", {}),
         "LSTM proj_size": ("LSTM", {"proj_size": P}), "GRU": ("GRU", {})}  # label → mode, extra kwargs
LENGTHS = torch.tensor([4, 5, 2])  # CPU int64, unsorted, max = T


def twin(torch_rnn):
    """The scratch module with torch_rnn's settings, device, dtype and a copy of its weights."""
    _, ScratchClass, extra = TWINS[torch_rnn.mode]
    args = {a: getattr(torch_rnn, a) for a in ("num_layers", "bias", "batch_first", "dropout", "bidirectional", "proj_size")}
    w = torch_rnn.weight_ih_l0
    scratch = ScratchClass(torch_rnn.input_size, torch_rnn.hidden_size, **args, **extra, device=w.device, dtype=w.dtype)
    scratch.load_state_dict(torch_rnn.state_dict())
    return scratch


def random_call(rnn, kind, give_hx, lengths=LENGTHS, enforce_sorted=False):
    """The inputs of one call: x for kind 'batched' / 'unbatched' / 'packed' (in the module's layout), and hx."""
    w, D, L = rnn.weight_ih_l0, (2 if rnn.bidirectional else 1), rnn.num_layers
    kw = {"dtype": w.dtype, "device": w.device}
    x = torch.randn((T, d) if kind == "unbatched" else (N, T, d) if rnn.batch_first else (T, N, d), **kw)
    if kind == "packed":
        x = pack_padded_sequence(x, lengths, batch_first=rnn.batch_first, enforce_sorted=enforce_sorted)
    if not give_hx:
        return (x,)
    sizes = [rnn.proj_size or rnn.hidden_size] + ([rnn.hidden_size] if rnn.mode == "LSTM" else [])
    states = [torch.randn((D * L, s) if kind == "unbatched" else (D * L, N, s), **kw) for s in sizes]
    return x, (tuple(states) if rnn.mode == "LSTM" else states[0])


def check_twins(labels, kinds=("batched",), hx=(True,), batch_first=(False,)):
    """parity (float64, |Δ| ≤ 1e-12) of torch's 2-layer bidirectional module and its twin, for each mode label, input
    kind, hx given or None and layout; any failure (a shape error too) is an AssertionError. One line per mode."""
    for label in labels:
        mode, extra = MODES[label]
        TorchClass, _, mode_kw = TWINS[mode]
        n = 0
        for kind, give_hx, bf in itertools.product(kinds, hx, batch_first):
            t_rnn = TorchClass(d, H, 2, bidirectional=True, batch_first=bf, dtype=f64, **mode_kw, **extra)
            try:
                n += parity(twin(t_rnn), t_rnn, *random_call(t_rnn, kind, give_hx), **EXACT)
            except Exception as err:  # a shape mistake fails the check too
                raise AssertionError(f"{label}, {kind}, hx {'given' if give_hx else 'None'}, batch_first={bf}: {err}") from err
        print(f"✓ {label:<15} {', '.join(kinds)}: {n} tensors equal torch's (outputs, states, gradients)")

# %% [markdown]
# **Checked at once**: each cell, 2 layers, bidirectional, float64; `parity` compares the outputs, `h_n`, `c_n`
# and every gradient.

# %%
check_twins(["RNN tanh", "RNN relu", "LSTM", "GRU"])

# %% [markdown]
# And the parameters: the same names, shapes and order as torch's, so `load_state_dict` works both ways, and
# `all_weights` lists them as torch does, per layer-direction.

# %%
t_lstm = nn.LSTM(d, H, num_layers=2, bidirectional=True)
s_lstm = ScratchLSTM(d, H, num_layers=2, bidirectional=True)
t_lstm.load_state_dict(s_lstm.state_dict())  # scratch → torch
shapes = [[tuple(p.shape) for p in layer] for layer in s_lstm.all_weights]
assert shapes == [[tuple(p.shape) for p in layer] for layer in t_lstm.all_weights]
assert all(a is b for a, b in zip([p for layer in s_lstm.all_weights for p in layer], s_lstm.parameters(), strict=True))
print(f"all_weights as torch's: {len(shapes)} layer-directions, e.g. l1_reverse {shapes[-1]}")

# %% [markdown]
# ## 3 · The rest: `proj_size`, every input, dropout
#
# Each step replaces a core method (or the loop) with a fuller one, checked against torch at once; re-running a
# cell just replaces it again.
#
# **`proj_size` (LSTM only).** `lstm_step` projects h to P = `proj_size` features, $h' \leftarrow h' W_{hr}^\top$.
# So `weight_hh` reads P columns, a layer above reads D·P inputs, and each layer-direction gets `weight_hr_l{k}`
# (P, H), last.

# %%
def layer_shapes(self, k):  # section 2's list, with H_out = proj_size or hidden_size, and weight_hr
    GH, D, H_out = CELLS[self.mode][0] * self.hidden_size, 2 if self.bidirectional else 1, self.proj_size or self.hidden_size
    shapes = {"weight_ih": (GH, self.input_size if k == 0 else D * H_out), "weight_hh": (GH, H_out)}
    shapes |= {"bias_ih": (GH,), "bias_hh": (GH,)} if self.bias else {}
    return shapes | ({"weight_hr": (self.proj_size, self.hidden_size)} if self.proj_size > 0 else {})


ScratchRNNBase.layer_shapes = layer_shapes
check_twins(["LSTM proj_size"])
t_lstm = nn.LSTM(d, H, num_layers=2, bidirectional=True, proj_size=P)
s_lstm = twin(t_lstm)  # load_state_dict: the names and shapes match
assert [[p.shape for p in ld] for ld in s_lstm.all_weights] == [[p.shape for p in ld] for ld in t_lstm.all_weights]

# %% [markdown]
# **Every input form.** `read` transposes `batch_first` input (N, T, d), makes unbatched input (T, d) and its
# `hx` a batch of one, gives zeros for `hx = None`, and unpads a `PackedSequence` (original batch order), passing
# its lengths to the loop. `write_output` returns the output in the input's form; `h_n` and `c_n` are **never**
# batch-first. The loop gets one line (lesson 05's mask): a sequence's state stays frozen at the steps $t \geq$ its
# length, so the reverse direction carries its initial state through the padding to the last real step.

# %%
def read(self, input, hx):
    """→ X [T, N, d] time-major, the state (h0,) or (h0, c0) [D·L, N, ·], the loop's extra arguments."""
    loop_kw, unbatched = {}, torch.is_tensor(input) and input.dim() == 2
    if isinstance(input, PackedSequence):
        X, lengths = pad_packed_sequence(input)  # padded [T, N, d], lengths (CPU int64), original batch order
        loop_kw = {"lengths": lengths.to(X.device)[:, None]}  # [N, 1], compared with the step t
    else:  # unbatched (T, d): a batch of one (batch_first does not apply); batch_first (N, T, d): transposed
        X = input.unsqueeze(1) if unbatched else input.transpose(0, 1) if self.batch_first else input
    if hx is None:  # zeros: h has H_out columns, c has H
        sizes = (self.proj_size or self.hidden_size, self.hidden_size)[:CELLS[self.mode][1]]
        return X, tuple(X.new_zeros(len(self._all_weights), X.shape[1], n) for n in sizes), loop_kw
    state = hx if isinstance(hx, tuple) else (hx,)
    return X, (tuple(s.unsqueeze(1) for s in state) if unbatched else state), loop_kw  # unbatched: (D·L, 1, ·)


def pack_like(padded, like):
    """Pack padded [T, N, ·] (original batch order) exactly as the PackedSequence `like` was packed."""
    lengths, order = pad_packed_sequence(like)[1], like.sorted_indices  # order is None if the batch came sorted
    if order is not None:
        padded, lengths = padded.index_select(1, order), lengths[order.cpu()]
    return PackedSequence(pack_padded_sequence(padded, lengths).data, *like[1:])


def write_output(self, X, finals, input):
    if isinstance(input, PackedSequence):
        X = pack_like(X, input)
    elif input.dim() == 2:  # unbatched: drop the batch axis again
        X, finals = X.squeeze(1), tuple(s.squeeze(1) for s in finals)
    elif self.batch_first:
        X = X.transpose(0, 1)  # output only: h_n is never batch-first
    return X, (finals if len(finals) == 2 else finals[0])


def run_direction(step, X, state, w, reverse=False, lengths=None):
    """Section 2's loop; lengths [N, 1] (packed input) freezes each sequence's state at the steps t ≥ its length."""
    out = [None] * len(X)
    for t in (reversed(range(len(X))) if reverse else range(len(X))):
        new = step(X[t], state, w)
        state = new if lengths is None else tuple(torch.where(t < lengths, a, b) for a, b in zip(new, state))
        out[t] = state[0]  # position t, whichever direction
    return torch.stack(out), state


ScratchRNNBase.read, ScratchRNNBase.write_output = read, write_output
ScratchRNNBase.run_direction = staticmethod(run_direction)
check_twins(MODES, ["batched", "unbatched", "packed"], hx=(True, False), batch_first=(False, True))

# %% [markdown]
# **Dropout** between layers (not after the last), in training mode only; for packed input on the packed data,
# as torch does, so that the same seed gives the same mask (checked below: three layers, p = 0.4; eval mode =
# `dropout=0`).

# %%
def between_layers(self, X, k, input):
    if not (self.training and self.dropout > 0 and k < self.num_layers - 1):
        return X
    if not isinstance(input, PackedSequence):
        return F.dropout(X, self.dropout, training=True)
    packed = pack_like(X, input)
    dropped = PackedSequence(F.dropout(packed.data, self.dropout, training=True), *packed[1:])
    return pad_packed_sequence(dropped, total_length=len(X))[0]


ScratchRNNBase.between_layers = between_layers

# %% hidden
# Dropout: three layers, bidirectional, p = 0.4; the same seed before each call gives the same masks.
for label, (mode, extra) in MODES.items():
    TorchClass, _, mode_kw = TWINS[mode]
    for batch_first, kind in ((False, "batched"), (True, "batched"), (False, "packed"), (False, "unbatched")):
        t_drop = TorchClass(d, H, 3, dropout=0.4, bidirectional=True, batch_first=batch_first, dtype=f64,
                            **mode_kw, **extra)
        s_drop, (inp,) = twin(t_drop), random_call(t_drop, kind, False)
        with torch.random.fork_rng():
            torch.manual_seed(7)
            out_t, state_t = t_drop(inp)
            torch.manual_seed(7)
            out_s, state_s = s_drop(inp)
        torch.testing.assert_close((out_s.data, state_s), (out_t.data, state_t), **EXACT)  # .data: packed or tensor
    no_drop_t = TorchClass(d, H, 3, bidirectional=True, dtype=f64, **mode_kw, **extra)
    no_drop_t.load_state_dict(t_drop.state_dict())
    t_drop.eval(), s_drop.eval()
    x = torch.randn(T, N, d, dtype=f64)
    with torch.no_grad():
        assert torch.equal(s_drop(x)[0], twin(no_drop_t)(x)[0]) and torch.equal(t_drop(x)[0], no_drop_t(x)[0])
        torch.testing.assert_close(s_drop(x)[0], t_drop(x)[0], **EXACT)
print("✓ dropout between 3 layers, every mode (batched, batch_first, packed, unbatched: same seed, same output and "
      "h_n); eval mode = dropout 0: all as torch")

# %% [markdown] collapsed
# ### Going deeper: bad input gets a clear error
#
# A drop-in replacement fails where torch fails, with the **same exception type** (so an `except` written for
# torch still works), and it may say more. It never returns a wrong answer instead: an `h0` of the wrong batch
# must not broadcast, `bias=0` must not pass for `True`. Each check raises a clear error on bad arguments, else
# the method runs unchanged.

# %% [markdown]
# Each check is in the hidden cell after the core (click to expand it), in front of one of the core's methods:
#
# - `check_config`, before `__init__`: torch's rules (`nn.RNNBase.__init__`) with the values in the messages, a
#   `TypeError` for a flag that is not a bool, and torch's warning for `dropout` with one layer, word for word.
# - `check_input`, before `forward`: a tensor of 2 or 3 dimensions (or a `PackedSequence`), of the weights' dtype,
#   with `input_size` features and at least one step.
# - `check_hx`, before `forward`: `hx` is `(h0, c0)` for the LSTM, a single `h0` for the others; each (D·L, N,
#   size), or (D·L, size) for unbatched input, where size is $H_{out}$ for `h0` and H for `c0`. `shape_hint` names
#   the usual reason for a wrong shape.
#
# The same cell gives the module torch's `repr` and a `flatten_parameters` that does nothing (code written for
# torch may call both).

# %% [markdown]
# `compare_errors` runs the same bad call on torch and on ours and asserts the same exception type and that our
# message names what helps. Where the *structure* of an argument is wrong (a tensor as an LSTM's `hx`, a tuple as a
# GRU's) torch fails wherever the object first breaks something (`IndexError`, `AttributeError`); ours raise a
# `TypeError` that says what the argument should be, on purpose.

# %% hidden
def compare_errors(label, torch_call, scratch_call, words, scratch_type=None):
    """Both calls must raise; assert ours has torch's type (or scratch_type) and the words; one line: our message."""
    raised = []
    for call in (torch_call, scratch_call):
        try:
            call()
            raised.append(None)
        except Exception as err:  # the point of the cell: show the message
            raised.append(err)
    t_err, s_err = raised
    assert s_err is not None, f"{label}: scratch did not raise"
    if t_err is None:  # torch 2.6 accepts a size of 0 and bias=0; newer versions refuse them
        assert isinstance(s_err, (TypeError, ValueError)) and all(w in str(s_err) for w in words), f"{label}: {s_err}"
        print(f"✓ {label} → {type(s_err).__name__} (torch {torch.__version__} accepts it; newer torch refuses it): {s_err}")
        return
    want = scratch_type or type(t_err)
    assert type(s_err) is want, f"{label}: scratch raised {type(s_err).__name__}, torch {type(t_err).__name__}"
    assert all(w in str(s_err) for w in words), f"{label}: the message should name {words}: {s_err}"
    same = "as torch" if scratch_type is None else f"torch: {type(t_err).__name__}"
    print(f"✓ {label} → {type(s_err).__name__} ({same}): {s_err}")


compare_errors("proj_size ≥ hidden_size", lambda: nn.LSTM(d, H, proj_size=H), lambda: ScratchLSTM(d, H, proj_size=H),
               ["proj_size=8", "hidden_size=8"])
compare_errors("proj_size on a GRU", lambda: nn.GRU(d, H, proj_size=P), lambda: ScratchGRU(d, H, proj_size=P),
               ["only supported for LSTM"])
compare_errors("unknown nonlinearity", lambda: nn.RNN(d, H, nonlinearity="sigmoid"),
               lambda: ScratchRNN(d, H, nonlinearity="sigmoid"), ["'sigmoid'", "'tanh' or 'relu'"])
compare_errors("nonlinearity on an LSTM", lambda: nn.LSTM(d, H, nonlinearity="relu"),
               lambda: ScratchLSTM(d, H, nonlinearity="relu"), ["nonlinearity"])
compare_errors("dropout outside [0, 1]", lambda: nn.GRU(d, H, 2, dropout=1.5), lambda: ScratchGRU(d, H, 2, dropout=1.5),
               ["[0, 1]", "1.5"])
compare_errors("input_size = 0", lambda: nn.RNN(0, H), lambda: ScratchRNN(0, H), ["input_size", "0"])
compare_errors("bias=0", lambda: nn.GRU(d, H, bias=0), lambda: ScratchGRU(d, H, bias=0), ["bias", "bool"])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    nn.GRU(d, H, dropout=0.5), ScratchGRU(d, H, dropout=0.5)
assert len(caught) == 2 and str(caught[0].message) == str(caught[1].message)
print("✓ dropout with one layer: the same UserWarning as torch, word for word")

# %% hidden
lstm = nn.LSTM(d, H, 2, bidirectional=True, proj_size=P)
gru, rnn = nn.GRU(d, H, 2), nn.RNN(d, H)
pairs = {"lstm": (lstm, twin(lstm)), "gru": (gru, twin(gru)), "rnn": (rnn, twin(rnn))}  # torch module, our twin
x = torch.randn(T, N, d)  # [T, N, d]
h0_lstm, c0_lstm = torch.zeros(4, N, P), torch.zeros(4, N, H)  # right: (D·L, N, P) and (D·L, N, H)
bad_calls = [
    ("wrong feature size (4, input_size 9)", "lstm", (torch.randn(T, N, 4),), ["4", "input_size=9"]),
    ("h0 with num_layers rows", "lstm", (x, (torch.zeros(2, N, P), c0_lstm)), ["(4, 3, 7)", "2·num_layers"]),
    ("c0 with proj_size columns", "lstm", (x, (h0_lstm, torch.zeros(4, N, P))), ["c0", "(4, 3, 8)", "hidden_size"]),
    ("h0 batch-first (N, L, H)", "gru", (x, torch.zeros(N, 2, H)), ["(2, 3, 8)", "never batch-first"]),
    ("h0 of batch 1 for N = 3", "gru", (x, torch.zeros(2, 1, H)), ["(2, 3, 8)", "N = 3"]),
    ("dtype mismatch (float64 input)", "gru", (x.double(),), ["torch.float64", "torch.float32"]),
    ("4-D input", "gru", (x[None],), ["4-D", "(T, N, d)"]),
    ("3-D input with a 2-D h0", "rnn", (x, torch.zeros(1, H)), ["3-D", "2-D"]),
]
for label, name, args, words in bad_calls:
    t_mod, s_mod = pairs[name]
    compare_errors(label, lambda: t_mod(*args), lambda: s_mod(*args), words)
lstm1 = nn.LSTM(d, H)  # one layer: torch's IndexError (with 2·L rows torch misreads hx as (h0, c0) slices)
compare_errors("a tensor as an LSTM's hx", lambda: lstm1(x, torch.zeros(1, N, H)),
               lambda: twin(lstm1)(x, torch.zeros(1, N, H)), ["(h0, c0)"], TypeError)
compare_errors("a tuple as a GRU's hx", lambda: gru(x, (torch.zeros(2, N, H),) * 2),
               lambda: pairs["gru"][1](x, (torch.zeros(2, N, H),) * 2), ["one tensor", "c0"], TypeError)

# %% [markdown]
# Two errors come from `pack_padded_sequence` itself, the same for torch's modules and ours: unsorted lengths with
# the default `enforce_sorted=True` (sort the batch, or pass `enforce_sorted=False`), and lengths that are not on
# the CPU (pytorch#15567, #43227), even when the data is on a GPU. The `meta` device (tensors without data) gets
# the message a CUDA tensor gets.

# %% hidden
try:
    pack_padded_sequence(x, LENGTHS)  # lengths [4, 5, 2]: not decreasing
except RuntimeError as err:
    print(f"✓ unsorted lengths → RuntimeError: {str(err).splitlines()[0]}")
try:
    pack_padded_sequence(x, torch.tensor([5, 4, 2], device="meta"))
except RuntimeError as err:
    print(f"✓ lengths on another device → RuntimeError: {err}")
assert torch.equal(pack_padded_sequence(x, [4, 5, 2], enforce_sorted=False).data,
                   pack_padded_sequence(x, LENGTHS, enforce_sorted=False).data)
print("✓ lengths as a list [4, 5, 2] → the same PackedSequence")


# %% [markdown]
# Last, the whole drop-in contract for every mode and several stacks: names, shapes, order, `all_weights`, `repr`,
# the initial values after the same seed, `load_state_dict` both ways, and the documented signatures.

# %% hidden
# For each mode and several stacks: names, shapes, order, all_weights, repr and the initial values (same seed) as torch's.
STACKS = [{}, {"num_layers": 2, "bidirectional": True}, {"num_layers": 3, "bidirectional": True, "bias": False},
          {"num_layers": 2, "batch_first": True, "dropout": 0.3}]
for mode, (TorchClass, ScratchClass, extra) in TWINS.items():
    for stack in STACKS + ([{"num_layers": 2, "bidirectional": True, "proj_size": P}] if mode == "LSTM" else []):
        torch.manual_seed(2)
        t_init = TorchClass(d, H, **extra, **stack)
        torch.manual_seed(2)
        s_init = ScratchClass(d, H, **extra, **stack)
        names = [(n, tuple(p.shape)) for n, p in t_init.named_parameters()]
        assert [(n, tuple(p.shape)) for n, p in s_init.named_parameters()] == names, f"{mode} {stack}: names/order"
        assert all(torch.equal(a, b) for a, b in zip(s_init.parameters(), t_init.parameters())), f"{mode} {stack}: init"
        assert [[tuple(p.shape) for p in ld] for ld in s_init.all_weights] == \
            [[tuple(p.shape) for p in ld] for ld in t_init.all_weights], f"{mode} {stack}: all_weights"
        flat = [p for ld in s_init.all_weights for p in ld]
        assert len(flat) == len(list(s_init.parameters())) and all(a is b for a, b in zip(flat, s_init.parameters()))
        assert repr(s_init) == repr(t_init).replace(TorchClass.__name__ + "(", ScratchClass.__name__ + "(", 1)
s_new = ScratchLSTM(d, H, num_layers=2, bidirectional=True, proj_size=P)
s_new.load_state_dict(t_lstm.state_dict())  # torch → scratch
assert all(torch.equal(a, b) for a, b in zip(s_new.parameters(), t_lstm.parameters()))
for ScratchClass, TorchClass in ((ScratchRNN, nn.RNN), (ScratchLSTM, nn.LSTM), (ScratchGRU, nn.GRU)):
    params = [p for p in inspect.signature(ScratchClass).parameters.values() if p.kind != p.KEYWORD_ONLY]
    ours = "__init__(" + ",".join(p.name + ("" if p.default is p.empty else f"={p.default!r}") for p in params) + ")"
    assert ours == TorchClass.__doc__.strip().splitlines()[0], ours  # torch's documented signature
for ScratchClass, kw, want in [(ScratchRNN, {}, 640), (ScratchGRU, {}, 1920), (ScratchLSTM, {}, 2560),
                               (ScratchLSTM, {"num_layers": 2, "bidirectional": True, "proj_size": 5}, 5840)]:
    assert sum(p.numel() for p in ScratchClass(10, 20, **kw).parameters()) == want  # as exercise 2's solution says
print("✓ every mode, 4–5 stacks: names, shapes, order, all_weights, repr, initial values and signatures as torch's; "
      "load_state_dict both ways")

# %% [markdown]
# ### The grid: all of it at once
#
# Every cell (the LSTM also with `proj_size`) × `num_layers` 1, 2 × `bidirectional` × `batch_first` ×
# `bias` × input (batched, unbatched, packed with unsorted lengths) × `hx` (given, `None`): 480 settings, each in
# float64 (|Δ| ≤ 1e-12) and float32 (`assert_close`'s defaults), with `parity`. Then sorted packed input.

# %% hidden
def run_grid(max_failures=3):
    """Every setting, both dtypes; stops at the third failing run (enough to see the pattern, and quick)."""
    runs, tensors, failures = 0, 0, []
    for (label, (mode, extra)), dtype in itertools.product(MODES.items(), (torch.float64, torch.float32)):
        TorchClass, _, mode_kw = TWINS[mode]
        for L, bidir, batch_first, bias in itertools.product((1, 2), (False, True), (False, True), (True, False)):
            t_rnn = TorchClass(d, H, L, bias=bias, batch_first=batch_first, bidirectional=bidir, dtype=dtype,
                               **mode_kw, **extra)
            s_rnn = twin(t_rnn)
            for kind, give_hx in itertools.product(("batched", "unbatched", "packed"), (True, False)):
                try:
                    tensors += parity(s_rnn, t_rnn, *random_call(t_rnn, kind, give_hx),
                                      **(EXACT if dtype == torch.float64 else {}))
                    runs += 1
                except Exception as err:  # collected: the verdict names the settings that fail
                    failures.append(f"{label}, L={L}, bidirectional={bidir}, batch_first={batch_first}, bias={bias}, "
                                    f"{kind}, hx {'given' if give_hx else 'None'}, {dtype}: "
                                    f"{type(err).__name__}: {str(err).strip().splitlines()[0]}")
                    if len(failures) == max_failures:
                        return runs, tensors, failures
    return runs, tensors, failures


threads = torch.get_num_threads()
torch.set_num_threads(1)  # 960 runs on tiny tensors: one thread is fastest, and a busy CPU cannot stall it
try:
    runs, tensors, failures = run_grid()
finally:
    torch.set_num_threads(threads)
assert not failures, "runs that differ from torch (the grid stops at the third):\n  " + "\n  ".join(failures)
assert runs == 960
print(f"✓ {runs // 2} settings × float64 (|Δ| ≤ 1e-12) and float32: all equal torch's, {tensors:,} tensors "
      "(outputs, h_n, c_n, gradients of input, h0, c0, every parameter)")

# %% hidden
# Sorted lengths with the default enforce_sorted=True (no index tensors; the longest, 4, shorter than the padding).
for label, (mode, extra) in MODES.items():
    TorchClass, _, mode_kw = TWINS[mode]
    t_sorted = TorchClass(d, H, 2, bidirectional=True, batch_first=True, dtype=f64, **mode_kw, **extra)
    parity(twin(t_sorted), t_sorted, *random_call(t_sorted, "packed", True, torch.tensor([4, 4, 1]), True), **EXACT)
print("✓ sorted packed input (enforce_sorted=True), every mode: as torch")

# %% [markdown]
# ## 4 · Drop-in: the tagger
#
# Back to the opening example, in small: a tagger written for `nn.LSTM`, with packed, batch-first input. Build it
# once with torch's layer and once with ours, load the first one's `state_dict` into the second, and compare the
# tag scores (float64, so that "equal" means equal up to rounding).

# %%
class Tagger(nn.Module):
    def __init__(self, rnn_class=nn.LSTM, tags=4):
        super().__init__()
        self.rnn = rnn_class(d, H, num_layers=2, bidirectional=True, batch_first=True, dtype=f64)
        self.out = nn.Linear(2 * H, tags, dtype=f64)

    def forward(self, x, lengths):  # x (N, T, d), padded
        out, _ = self.rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        return self.out(pad_packed_sequence(out, batch_first=True)[0])  # (N, T, tags)


theirs, ours = Tagger(nn.LSTM), Tagger(ScratchLSTM)
ours.load_state_dict(theirs.state_dict())  # the colleague's checkpoint
words, lengths = torch.randn(N, T, d, dtype=f64), torch.tensor([4, 5, 2])
torch.testing.assert_close(ours(words, lengths), theirs(words, lengths), **EXACT)
print("✓ same checkpoint, same tag scores; tags of sentence 0:", ours(words, lengths)[0].argmax(-1).tolist())

# %% [markdown]
# ## 5 · Two traps
#
# **`output[-1]` is not the final state of a bidirectional layer** (the most reported confusion, pytorch#3587).
# Its reverse half is the reverse direction after reading **one** input; that direction ends at index 0.

# %%
with torch.no_grad():
    out, (h_n, c_n) = s_lstm(torch.randn(T, N, d))  # 2 layers, bidirectional, proj_size P: halves P wide
assert torch.equal(out[-1, :, :P], h_n[-2]) and torch.equal(out[0, :, P:], h_n[-1])
gap = (out[-1, :, P:] - h_n[-1]).abs().max().item()
assert gap > 0.01
print("output[-1, :, :P] == h_n[-2]  ✓ forward direction, last step")
print("output[0, :, P:]  == h_n[-1]  ✓ reverse direction: it ends at index 0")
print(f"output[-1, :, P:] != h_n[-1]  ✗ the reverse direction after one step (max |Δ| > 0.01: {gap > 0.01})")

# %% [markdown]
# **`batch_first` does not apply to `h0`, `h_n`, `c0`, `c_n`** (pytorch#4145): only the input and the output are
# batch-first. An `h0` given batch-first is refused, and the message says why.

# %%
s_bf = ScratchGRU(d, H, num_layers=2, batch_first=True)
out_bf, h_n_bf = s_bf(torch.randn(N, T, d))
print(f"input (N, T, d) = {(N, T, d)} → output {tuple(out_bf.shape)}, h_n {tuple(h_n_bf.shape)} (L, N, H)")
try:
    s_bf(torch.randn(N, T, d), torch.zeros(N, 2, H))
except RuntimeError as err:
    print(f"h0 given as (N, L, H) → RuntimeError: {err}")

# %% [markdown]
# ## 6 · Play: any configuration
#
# Pick a cell and the constructor arguments: the widget builds our module and torch's, runs both on a random
# input, and shows the shapes, the parameters of each layer-direction and their number, checked against torch.
# Watch `proj_size`: `output`, `h_n` and `weight_hh` get P columns, `c_n` keeps H.

# %% hidden
def show_config(mode="LSTM", input_size=5, hidden_size=6, num_layers=2, bidirectional=True, batch_first=False,
                bias=True, proj_size=0, batch=3, steps=4, unbatched=False):
    """Widget callback: shapes and parameters of one configuration, checked against torch. Returns a dict or None."""
    TorchClass, ScratchClass, extra = TWINS[mode]
    kw = {"num_layers": num_layers, "bias": bias, "batch_first": batch_first, "bidirectional": bidirectional,
          "dtype": f64, **extra, **({"proj_size": proj_size} if mode == "LSTM" or proj_size else {})}
    try:
        t_mod = TorchClass(input_size, hidden_size, **kw)
    except ValueError as err:
        try:
            ScratchClass(input_size, hidden_size, **kw)
            ours = f"but {ScratchClass.__name__} accepts it: a bug"
        except ValueError:
            ours = f"and so does {ScratchClass.__name__}"
        args = ", ".join(f"{k}={v}" for k, v in kw.items() if k != "dtype")
        shape = f"({steps}, {input_size})" if unbatched else f"N = {batch}, T = {steps}"
        print(f"⚠ nn.{TorchClass.__name__}({input_size}, {hidden_size}, {args}) is refused ({err}), {ours}.\n"
              f"  proj_size needs an LSTM and 0 < proj_size < hidden_size. (Your input, {shape}, waits for a valid one.)")
        return None
    s_mod = twin(t_mod)
    x = torch.randn((steps, input_size) if unbatched else (batch, steps, input_size) if batch_first
                    else (steps, batch, input_size), dtype=f64)
    with torch.no_grad():
        (out_s, st_s), (out_t, st_t) = s_mod(x), t_mod(x)
    torch.testing.assert_close((out_s, st_s), (out_t, st_t), **EXACT)  # output and final states
    h_s, c_s = st_s if mode == "LSTM" else (st_s, None)
    n_ours, n_torch = sum(p.numel() for p in s_mod.parameters()), sum(p.numel() for p in t_mod.parameters())
    return report_config(s_mod, x, out_s, h_s, c_s, n_ours, n_torch)


def report_config(s_mod, x, out, h_n, c_n, n_ours, n_torch):
    D, G = (2 if s_mod.bidirectional else 1), CELLS[s_mod.mode][0]
    unbatched, layout = x.dim() == 2, "(N, T, d)" if s_mod.batch_first else "(T, N, d)"
    names = ("(T, d)", "(T, D·H_out)", "(D·L, H_out)", "(D·L, H)") if unbatched else (
        layout, layout.replace("d)", "D·H_out)"), "(D·L, N, H_out)", "(D·L, N, H)")
    print(f"{s_mod}   G = {G} gate{'s' if G > 1 else ''}, D = {D}")
    print(f"  input {tuple(x.shape)} {names[0]} → output {tuple(out.shape)} {names[1]}, h_n {tuple(h_n.shape)} {names[2]}"
          + (f", c_n {tuple(c_n.shape)} {names[3]}" if c_n is not None else ""))
    for names_, params in zip(s_mod._all_weights, s_mod.all_weights):
        print(f"  {names_[0].split('_', 2)[2]:<11} " + "  ".join(f"{n.split('_l')[0]} {tuple(p.shape)}" for n, p in zip(names_, params)))
    verdict = "✓ equal" if n_ours == n_torch else "✗ differs from"
    print(f"  {n_ours:,} parameters: {verdict} nn.{s_mod.mode.split('_')[0]}'s {n_torch:,}; output and h_n equal torch's ✓")
    assert n_ours == n_torch
    return {"output": tuple(out.shape), "h_n": tuple(h_n.shape), "c_n": None if c_n is None else tuple(c_n.shape),
            "parameters": n_ours}

# %% hidden
# NBVAL_IGNORE_OUTPUT
config_ui = widgets.interactive(
    show_config,
    mode=widgets.Dropdown(options=[("RNN (tanh)", "RNN_TANH"), ("RNN (relu)", "RNN_RELU"), ("LSTM", "LSTM"),
                                   ("GRU", "GRU")], value="LSTM", description="cell"),
    input_size=widgets.IntSlider(value=5, min=1, max=8, description="input_size"),
    hidden_size=widgets.IntSlider(value=6, min=1, max=8, description="hidden_size"),
    num_layers=widgets.IntSlider(value=2, min=1, max=3, description="num_layers"),
    bidirectional=widgets.Checkbox(value=True, description="bidirectional"),
    batch_first=widgets.Checkbox(value=False, description="batch_first"),
    bias=widgets.Checkbox(value=True, description="bias"),
    proj_size=widgets.IntSlider(value=0, min=0, max=7, description="proj_size"),
    batch=widgets.IntSlider(value=3, min=1, max=4, description="batch N"),
    steps=widgets.IntSlider(value=4, min=1, max=6, description="steps T"),
    unbatched=widgets.Checkbox(value=False, description="unbatched"),
)
display(config_ui)

# %% hidden
# The callback in plain cells (an error inside a widget would hide): defaults, extremes, invalid combinations.
assert show_config() == {"output": (4, 3, 12), "h_n": (4, 3, 6), "c_n": (4, 3, 6), "parameters": 1584}
with contextlib.redirect_stdout(io.StringIO()) as said:
    assert show_config("GRU", 1, 1, 1, False, False, False, 0, 1, 1)["parameters"] == 6
    assert show_config("LSTM", 8, 8, 3, True, True, True, 7, 4, 6)["h_n"] == (6, 4, 7)
    assert show_config("RNN_RELU", 3, 4, 2, True, True, True, 0, 2, 5, unbatched=True)["output"] == (5, 8)
    assert show_config("GRU", proj_size=2) is None
    assert show_config("LSTM", hidden_size=4, proj_size=4) is None
assert said.getvalue().count("⚠") == 2 and "a bug" not in said.getvalue()
print("✓ show_config also on one unit, three projected layers, unbatched input, and two refused settings")

# %% [markdown]
# ## 7 · Exercises
#
# Fill in each function, run its cell and the checker below it (collapsed); the checker says **what** is wrong.
#
# **Exercise 1: the final states, from the output alone.** A 2-layer bidirectional RNN, LSTM or GRU reads a
# packed batch; you unpack its output, `output, lengths = pad_packed_sequence(out)`: (T, N, 2·$H_{out}$), zeros
# after each sequence's end. From `output` and `lengths` only, return the top layer's final states
# `(h_n[-2], h_n[-1])`, each [N, $H_{out}$]. Section 5 did it without padding.

# %%
def final_states(output, lengths):
    """output (T, N, 2·H_out), padded; lengths [N] (int64) → (forward final [N, H_out], reverse final [N, H_out])."""
    ...  # your code here: return (h_forward, h_reverse)

# %% hidden
FINAL_CASES = [("LSTM", {"proj_size": 3}, [4, 5, 2]), ("GRU", {}, [1, 3, 3, 2]), ("RNN_TANH", {}, [2, 5, 5])]


def check_final_states(fn):
    """fn(output, lengths) against h_n's top layer, for packed input to 2-layer bidirectional torch modules (float64).
    Names the mistake of a wrong half. Returns True/False; never raises."""
    for mode, extra_kw, lens in FINAL_CASES:
        TorchClass, _, mode_kw = TWINS[mode]
        with torch.random.fork_rng():
            torch.manual_seed(0)
            rnn = TorchClass(4, 5, num_layers=2, bidirectional=True, dtype=f64, **mode_kw, **extra_kw)
            x_ = torch.randn(max(lens), len(lens), 4, dtype=f64)
        lengths_, n_ = torch.tensor(lens), torch.arange(len(lens))
        with torch.no_grad():
            out, state = rnn(pack_padded_sequence(x_, lengths_, enforce_sorted=False))
        output = pad_packed_sequence(out)[0]
        h_n = state[0] if mode == "LSTM" else state
        H_out = h_n.shape[-1]
        call = f"final_states(output {tuple(output.shape)}, lengths=tensor({lens}))"
        try:
            got = fn(output.clone(), lengths_.clone())
        except IndexError as err:  # report the learner's error instead of raising it
            print(f"✗ {call} raised IndexError: {err}. Hint: steps run 0 … T − 1; the last real step of sequence n "
                  "is lengths[n] − 1.")
            return False
        except Exception as err:  # report the learner's error instead of raising it
            print(f"✗ {call} raised {type(err).__name__}: {err}")
            return False
        if got is None:
            print("✗ not done yet: final_states returned None.")
            return False
        want_shape = (len(lens), H_out)
        if not (isinstance(got, (tuple, list)) and len(got) == 2
                and all(torch.is_tensor(t) and tuple(t.shape) == want_shape for t in got)):
            shapes = [tuple(t.shape) if torch.is_tensor(t) else type(t).__name__ for t in got] \
                if isinstance(got, (tuple, list)) else type(got).__name__
            print(f"✗ {call} returned {shapes}: return the pair (forward, reverse), each [N, H_out] = {want_shape}. "
                  "Hint: one (step, sequence) per sequence: index with two index tensors, output[steps, torch.arange(N)].")
            return False
        wrongs = {
            "forward": {"output[-1] is padding (zeros) for a sequence shorter than T: sequence n ends at step "
                        "lengths[n] − 1": output[-1, :, :H_out],
                        "the forward direction ends at the last real step, lengths[n] − 1, not at index 0":
                            output[0, :, :H_out],
                        "the forward direction is the first half of the features, [..., :H_out]":
                            output[lengths_ - 1, n_, H_out:]},
            "reverse": {"the reverse direction reads backwards: it ends at index 0, so its final state is "
                        "output[0, :, H_out:], not output[-1]": output[-1, :, H_out:],
                        "the reverse direction starts at lengths[n] − 1 and ends at index 0: its final state is "
                        "output[0, :, H_out:]": output[lengths_ - 1, n_, H_out:],
                        "the reverse direction is the second half of the features, [..., H_out:]": output[0, :, :H_out]},
        }
        for (name, row), part, want in zip((("forward", -2), ("reverse", -1)), got, (h_n[-2], h_n[-1])):
            part = part.detach().to(f64)
            if torch.allclose(part, want, rtol=0, atol=1e-12):
                continue
            hint = next((h for h, w in wrongs[name].items() if torch.allclose(part, w, rtol=0, atol=1e-12)),
                        "compare each row with the output at the step where that direction ends")
            print(f"✗ {call} ({mode}): the {name} final state is not h_n[{row}]. Hint: {hint}.")
            return False
    print(f"✓ final_states gives h_n's top layer for all {len(FINAL_CASES)} cases (LSTM with proj_size, GRU, RNN; "
          "sequences of 1 to T steps).")
    return True


exercise_1_passed = check_final_states(final_states)

# %% [markdown]
# **Exercise 2: the number of parameters.** Return the number of parameters of a module built with these
# arguments, from the parameter list of section 2 (no module allowed). `mode` is `"RNN_TANH"`, `"RNN_RELU"`,
# `"LSTM"` or `"GRU"`.

# %%
def count_parameters(mode, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False, proj_size=0):
    ...  # your code here: return an int

# %% hidden
COUNT_CASES = [("RNN_TANH", 10, 20, {}), ("GRU", 10, 20, {}), ("LSTM", 10, 20, {}),
               ("GRU", 5, 6, {"bias": False}), ("RNN_RELU", 5, 6, {"num_layers": 3}),
               ("GRU", 4, 3, {"num_layers": 2, "bidirectional": True}),
               ("LSTM", 6, 9, {"num_layers": 2, "bidirectional": True, "proj_size": 4}),
               ("LSTM", 10, 20, {"num_layers": 2, "bidirectional": True, "proj_size": 5}),
               ("LSTM", 3, 7, {"num_layers": 3, "proj_size": 2, "bias": False})]


def count_with(mode, d_, H_, num_layers=1, bias=True, bidirectional=False, proj_size=0, **mistake):
    """The parameter count; a keyword of `mistake` changes one piece of it, to reproduce a learner's mistake."""
    G, D, P = CELLS[mode][0], 2 if bidirectional else 1, proj_size
    G = mistake.get("G", {}).get(mode, G)
    H_out, biases = P or H_, mistake.get("biases", 2 * bias)
    above, hh_cols = mistake.get("above", D * H_out), mistake.get("hh_cols", H_out)
    return sum(mistake.get("dirs", D) * (G * H_ * ((d_ if k == 0 else above) + hh_cols) + biases * G * H_
                                         + (P * H_ if mistake.get("hr", True) else 0)) for k in range(num_layers))


COUNT_MISTAKES = [  # (the piece a learner gets wrong, as a function of (d, H, D, P, bias), the hint)
    (lambda d_, H_, D, P, bias: {"dirs": 1}, "the reverse direction has its own weights: count each layer D = 2 times."),
    (lambda d_, H_, D, P, bias: {"above": d_}, "layers k > 0 read the layer below, D·H_out inputs, not input_size."),
    (lambda d_, H_, D, P, bias: {"above": P or H_}, "layers k > 0 read both directions of the layer below: D·H_out inputs."),
    (lambda d_, H_, D, P, bias: {"above": D * H_}, "layers k > 0 read the projected outputs: D·proj_size inputs, not D·hidden_size."),
    (lambda d_, H_, D, P, bias: {"hh_cols": H_}, "weight_hh reads the projected state: it is (G·H, proj_size)."),
    (lambda d_, H_, D, P, bias: {"hr": False}, "with proj_size, every layer-direction adds weight_hr (proj_size, hidden_size)."),
    (lambda d_, H_, D, P, bias: {"biases": int(bias)}, "each layer-direction has two bias vectors, bias_ih and bias_hh."),
    (lambda d_, H_, D, P, bias: {"biases": 2}, "bias=False removes both bias vectors, bias_ih and bias_hh."),
] + [(lambda d_, H_, D, P, bias, m=m, g=g: {"G": {m: g}}, f"{m} has G = {CELLS[m][0]} gate blocks, not {g}.")
     for m in ("RNN_TANH", "RNN_RELU", "LSTM", "GRU") for g in (1, 3, 4) if g != CELLS[m][0]]


def check_count_parameters(fn):
    """Compare fn with the number of parameters of torch's module for COUNT_CASES; name the mistake: the one whose
    counts match fn's answers on every case (else on the first wrong one). Returns True/False; never raises."""
    answers = []
    for mode, d_, H_, opts in COUNT_CASES:
        call = f"count_parameters({mode!r}, {d_}, {H_}" + "".join(f", {k}={v}" for k, v in opts.items()) + ")"
        try:
            got = fn(mode, d_, H_, **opts)
        except Exception as err:  # report the learner's error instead of raising it
            print(f"✗ {call} raised {type(err).__name__}: {err}")
            return False
        if got is None:
            print("✗ not done yet: count_parameters returned None.")
            return False
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, bool) or not isinstance(got, numbers.Integral):
            print(f"✗ {call} returned {got!r} ({type(got).__name__}): return an int.")
            return False
        answers.append((call, got))
    for (mode, d_, H_, opts), (call, got) in zip(COUNT_CASES, answers):
        TorchClass, _, extra = TWINS[mode]
        want = sum(p.numel() for p in TorchClass(d_, H_, **opts, **extra).parameters())
        if got != want:
            def counts(mistake):
                return [count_with(m, a, b, **o, **mistake(a, b, 2 if o.get("bidirectional") else 1,
                                                          o.get("proj_size", 0), o.get("bias", True)))
                        for m, a, b, o in COUNT_CASES]
            everywhere = [hint for mistake, hint in COUNT_MISTAKES if counts(mistake) == [g for _, g in answers]]
            here = [hint for mistake, hint in COUNT_MISTAKES
                    if counts(mistake)[COUNT_CASES.index((mode, d_, H_, opts))] == got]
            hint = (everywhere or here or ["count, for each layer and direction, every parameter of section 2's list."])[0]
            print(f"✗ {call} returned {got}, torch's module has {want}. Hint: {hint}")
            return False
    print(f"✓ count_parameters matches torch on all {len(COUNT_CASES)} configurations.")
    return True


exercise_2_passed = check_count_parameters(count_parameters)

# %% [markdown]
# **Exercise 3 (build the core): a new cell.** The coupled input-forget gate LSTM (CIFG, in Greff et al. 2017,
# "LSTM: A Search Space Odyssey") saves a gate: it writes exactly as much as it forgets, $i = 1 - \sigma(f)$. Its
# weights stack G = 3 blocks, in the order f, g, o, the chunks of $x W_{ih}^\top + b_{ih} + h W_{hh}^\top + b_{hh}$:
#
# $$c' = \sigma(f) \odot c + (1 - \sigma(f)) \odot \tanh(g), \qquad h' = \sigma(o) \odot \tanh(c')$$
#
# Write its step in `lstm_step`'s form; with `bias=False` the core passes `b_ih = b_hh = None`. The checker tries
# one step, then your step in a 2-layer bidirectional core on packed input against an `nn.LSTM` whose input-gate
# blocks are the negated f blocks, weights and biases alike ($W_{ii} = -W_{if}$, $W_{hi} = -W_{hf}$,
# $b_{ii} = -b_{if}$, $b_{hi} = -b_{hf}$), since $\sigma(-f) = 1 - \sigma(f)$.

# %%
def cifg_step(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    """x [N, d], h [N, H], c [N, H] → (h', c'). Gate blocks f, g, o; the input gate is 1 − σ(f)."""
    ...  # your code here: return (h_new, c_new)

# %% hidden
def as_lstm(w):
    """CIFG blocks f, g, o → an LSTM's i, f, g, o with i = −f, so that σ(i) = 1 − σ(f)."""
    f, g, o = w.chunk(3)
    return torch.cat([-f, f, g, o])


def check_cifg_step(fn):
    """One step against the tied LSTM step (known mistakes named), then fn plugged into the core against nn.LSTM with
    tied weights, forward and backward. Returns True/False; never raises."""
    gen = torch.Generator().manual_seed(21)
    x_, h_, c_, w_ih, w_hh, b_ih, b_hh = (torch.randn(*s, generator=gen, dtype=f64)
                                          for s in ((2, 4), (2, 3), (2, 3), (9, 4), (9, 3), (9,), (9,)))
    try:
        got = fn(x_, h_, c_, w_ih, w_hh, b_ih, b_hh)
    except Exception as err:  # report the learner's error instead of raising it
        print(f"✗ cifg_step raised {type(err).__name__}: {err}")
        return False
    if got is None:
        print("✗ not done yet: cifg_step returned None.")
        return False
    if not (isinstance(got, tuple) and len(got) == 2 and all(torch.is_tensor(t) and t.shape == (2, 3) for t in got)):
        print("✗ return the pair (h_new, c_new), each [N, H]: the core unpacks the LSTM-like state (h, c).")
        return False
    want = lstm_step(x_, h_, c_, as_lstm(w_ih), as_lstm(w_hh), as_lstm(b_ih), as_lstm(b_hh))
    with torch.no_grad():
        def cifg(order="fgo", bias_ih=b_ih, bias_hh=b_hh, write=lambda f: 1 - f, old_c=False, tanh_c=True):
            blocks = dict(zip(order, (F.linear(x_, w_ih, bias_ih) + F.linear(h_, w_hh, bias_hh)).chunk(3, -1)))
            f, g, o = torch.sigmoid(blocks["f"]), torch.tanh(blocks["g"]), torch.sigmoid(blocks["o"])
            c_new = f * c_ + write(f) * g
            c_out = c_ if old_c else c_new
            return o * (torch.tanh(c_out) if tanh_c else c_out), c_new
        mistakes = {
            "the input gate is 1 − σ(f), not σ(f): c' = σ(f)·c + (1 − σ(f))·tanh(g)": cifg(write=lambda f: f),
            "the blocks are in the order f, g, o (you read them as g, f, o)": cifg(order="gfo"),
            "the blocks are in the order f, g, o (you read them as f, o, g)": cifg(order="fog"),
            "you left out b_hh": cifg(bias_hh=None),
            "you left out b_ih": cifg(bias_ih=None),
            "h' reads the new cell state: h' = σ(o)·tanh(c')": cifg(old_c=True),
            "h' = σ(o)·tanh(c'): you left out the tanh": cifg(tanh_c=False),
        }
    pre = (F.linear(x_, w_ih, b_ih) + F.linear(h_, w_hh, b_hh)).chunk(3, -1)
    f_, g_, o_ = torch.sigmoid(pre[0]), torch.tanh(pre[1]), torch.sigmoid(pre[2])
    swapped = (1 - f_) * c_ + f_ * g_
    mistakes["σ(f) multiplies the old c and 1 − σ(f) writes tanh(g); you swapped them"] = (o_ * torch.tanh(swapped), swapped)
    for hint, wrong in mistakes.items():
        if wrong is not None and all(torch.allclose(a, b, rtol=0, atol=1e-12) for a, b in zip(got, wrong)):
            print(f"✗ {hint}.")
            return False
    for name, a, b in (("h'", got[0], want[0]), ("c'", got[1], want[1])):
        if not torch.allclose(a, b, rtol=0, atol=1e-12):
            print(f"✗ {name} differs from the reference (max |Δ| = {(a - b).abs().max().item():.4f}): check each term "
                  "against the equations.")
            return False
    return check_cifg_in_core(fn)


def check_cifg_in_core(fn):
    before = CELLS.get("CIFG")  # the checker's entry is temporary: it leaves CELLS as it found it
    CELLS["CIFG"] = (3, 2, lambda x, s, w: fn(x, *s, *w[:4]))
    try:
        for bias in (True, False):
            with torch.random.fork_rng():
                torch.manual_seed(22)
                ours = ScratchRNNBase("CIFG", 4, 3, num_layers=2, bias=bias, bidirectional=True, dtype=f64)
                ref = nn.LSTM(4, 3, num_layers=2, bias=bias, bidirectional=True, dtype=f64)
                x_, h0, c0 = torch.randn(5, 3, 4, dtype=f64), torch.randn(4, 3, 3, dtype=f64), torch.randn(4, 3, 3, dtype=f64)
            results = []
            for run in (lambda p, hx: ours(p, hx), lambda p, hx: functional_call(  # torch's LSTM, tied weights
                    ref, {n: as_lstm(w) for n, w in ours.named_parameters()}, (p, hx))):
                leaves = [t.clone().requires_grad_() for t in (x_, h0, c0)]
                packed = pack_padded_sequence(leaves[0], torch.tensor([5, 2, 4]), enforce_sorted=False)
                out, (h_n, c_n) = run(packed, tuple(leaves[1:]))
                loss = sum((t**2).sum() for t in (out.data, h_n, c_n))
                results.append([out.data, h_n, c_n, *torch.autograd.grad(loss, leaves + list(ours.parameters()))])
            torch.testing.assert_close(results[0], results[1], **EXACT)
    except Exception as err:  # report what breaks inside the core
        msg = str(err).strip().splitlines()[0]
        hint = (" With bias=False the core passes b_ih = b_hh = None: F.linear(x, w, None) handles it."
                if "NoneType" in msg or "None" in msg else "")
        print(f"✗ one step is right, but in the core (2 layers, bidirectional, packed, bias={bias}) "
              f"{type(err).__name__}: {msg}.{hint}")
        return False
    finally:
        if before is None:
            CELLS.pop("CIFG", None)
        else:
            CELLS["CIFG"] = before
    print("✓ cifg_step is right, and plugged into the core it matches torch's LSTM with tied weights "
          "(packed, 2 layers, bidirectional, bias and no bias): outputs, states, gradients.")
    return True


exercise_3_passed = check_cifg_step(cifg_step)

# %% [markdown]
# Your cell in the core, for good: registered under a mode name, it gets all the other three have (layers, both
# directions, packed input, the checks); its `weight_ih_l0` has 3 gate blocks where the LSTM's has 4.

# %%
def cifg_layer(step):
    CELLS["CIFG"] = (3, 2, lambda x, s, w: step(x, *s, *w[:4]))  # G = 3 blocks f, g, o; S = 2 states (h, c)
    cifg = ScratchRNNBase("CIFG", d, H, num_layers=2, bidirectional=True)
    packed = pack_padded_sequence(torch.randn(T, N, d), torch.tensor([4, 5, 2]), enforce_sorted=False)
    out, (h_n, c_n) = cifg(packed)
    print(f"{cifg}: weight_ih_l0 {tuple(cifg.weight_ih_l0.shape)}, 3·H rows (ScratchLSTM's: 4·H = {4 * H})")
    print(f"packed in → packed out {tuple(out.data.shape)}, h_n {tuple(h_n.shape)}, c_n {tuple(c_n.shape)}")
    return cifg


if exercise_3_passed:
    cifg = cifg_layer(cifg_step)
else:
    print("Exercise 3 not done yet: when cifg_step passes its checker, this cell plugs it into the core.")

# %% [markdown]
# ## 8 · Summary
#
# | | |
# |---|---|
# | the design | one core `ScratchRNNBase(mode, …)`: layers × directions × time; `CELLS[mode]` = (G blocks, S states, step); the three layers are constructors only |
# | parameters | per layer k and direction (`_reverse` second): `weight_ih_l{k}` (G·H, $d_k$), `weight_hh_l{k}` (G·H, $H_{out}$), `bias_ih_l{k}`, `bias_hh_l{k}` (G·H), `weight_hr_l{k}` (P, H); $d_k$ = D·$H_{out}$ for k > 0; all $U(-1/\sqrt{H}, 1/\sqrt{H})$ |
# | shapes | output (T, N, D·$H_{out}$) (`batch_first`: (N, T, ·)); h_n (D·L, N, $H_{out}$), c_n (D·L, N, H): never batch-first; unbatched (T, d) → 2-D results |
# | final states | `h_n.view(L, D, N, H_out)`; bidirectional, no padding: forward `h_n[-2]` = `output[-1, :, :H_out]`, reverse `h_n[-1]` = `output[0, :, H_out:]`, **not** `output[-1]` |
# | packed input | unpad, freeze finished states (`torch.where(t < lengths, new, old)`, h and c), pack as the input was; lengths on the CPU |
# | dropout | between layers, training mode only, on the packed data for packed input; eval = dropout 0 |
# | checked | 480 settings, float64 (≤ 1e-12) and float32, gradients included; same init; torch's exception types |
#
# **Next:** lesson 09 (long-range memory): the three layers on a task that needs memory over many steps.

# %% [markdown] collapsed
# ## Going deeper: on a GPU
#
# The same `parity` on CUDA when there is one, where torch runs **cuDNN**: each cell with 2 layers,
# bidirectional, batched and packed input, in float64 (as tight as on the CPU; float32 would need TF32 switched
# off). The packed input's lengths stay on the CPU. Without a GPU the cell prints one line.

# %% hidden
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    for label, (mode, extra) in MODES.items():
        TorchClass, _, mode_kw = TWINS[mode]
        t_gpu = TorchClass(d, H, 2, bidirectional=True, device=DEVICE, dtype=f64, **mode_kw, **extra)
        s_gpu = twin(t_gpu)
        for kind in ("batched", "packed"):
            n = parity(s_gpu, t_gpu, *random_call(t_gpu, kind, True), **EXACT)
            print(f"✓ {torch.cuda.get_device_name()} float64 {label:<15} {kind:<8}: {n} tensors match (|Δ| ≤ 1e-12)")
    try:
        pack_padded_sequence(torch.randn(T, N, d, device=DEVICE), LENGTHS.to(DEVICE), enforce_sorted=False)
    except RuntimeError as err:
        print(f"lengths on the GPU → RuntimeError: {err}")
else:
    print("No GPU here: skipped (this cell repeats the parity check against cuDNN when a GPU is present).")

# %% [markdown]
# ## Solutions
#
# Collapsed: click to expand. Each solution passes its checker; then a wrong answer shows what the checker says.

# %% solution
def final_states_solution(output, lengths):
    H_out, n = output.shape[-1] // 2, torch.arange(output.shape[1])
    forward = output[lengths - 1, n, :H_out]  # each sequence's last real step (advanced indexing: one per sequence)
    reverse = output[0, :, H_out:]  # the reverse direction ends at index 0, whatever the length
    return forward, reverse


def count_parameters_solution(mode, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False, proj_size=0):
    # Σ over layers k and directions: G·H·(d_k + H_out) weights + 2·G·H biases (if bias) + P·H (weight_hr), with
    # d_0 = input_size, d_k = D·H_out above. E.g. LSTM(10, 20): 2560, GRU(10, 20): 1920, RNN(10, 20): 640.
    G, D, H_out = CELLS[mode][0], (2 if bidirectional else 1), proj_size or hidden_size
    total = 0
    for k in range(num_layers):
        d_k = input_size if k == 0 else D * H_out
        total += D * (G * hidden_size * (d_k + H_out) + 2 * G * hidden_size * bias + proj_size * hidden_size)
    return total


def cifg_step_solution(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(3, -1)
    f = torch.sigmoid(f)
    c = f * c + (1 - f) * torch.tanh(g)  # i = 1 − f: what is forgotten is written
    return torch.sigmoid(o) * torch.tanh(c), c


assert check_final_states(final_states_solution)
assert check_count_parameters(count_parameters_solution)
assert check_cifg_step(cifg_step_solution)
cifg = cifg_layer(cifg_step_solution)  # the cell after exercise 3, with the solution

# %% solution
# What the checkers say to three common mistakes:
def final_states_last_row(output, lengths):
    H_out = output.shape[-1] // 2
    return output[-1, :, :H_out], output[0, :, H_out:]  # the forward half read at T − 1, even for short sequences


def count_one_direction(mode, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False, proj_size=0):
    G, D, H_out = CELLS[mode][0], (2 if bidirectional else 1), proj_size or hidden_size
    return sum(G * hidden_size * ((input_size if k == 0 else D * H_out) + H_out) + 2 * G * hidden_size * bias
               + proj_size * hidden_size for k in range(num_layers))  # the reverse direction's weights forgotten


def cifg_step_input_gate_f(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(3, -1)
    c = torch.sigmoid(f) * c + torch.sigmoid(f) * torch.tanh(g)  # the input gate taken as f itself
    return torch.sigmoid(o) * torch.tanh(c), c


assert not check_final_states(final_states_last_row)
assert not check_count_parameters(count_one_direction)
assert not check_cifg_step(cifg_step_input_gate_f)
