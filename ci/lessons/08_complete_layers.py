# %% [markdown]
# # 08 · Deep, bidirectional, gated: the complete drop-in layers
#
# Lessons 01–07 built the pieces one at a time: the RNN step, the loop through time, stacked layers, the reverse
# direction and packed batches (a complete `ScratchRNN` in lesson 05), then the LSTM and GRU cells. In this lesson
# they become three modules, `ScratchRNN`, `ScratchLSTM` and `ScratchGRU`, that you can put in place of `nn.RNN`,
# `nn.LSTM` and `nn.GRU` in any code: every constructor argument, batched, unbatched and packed input, `hx` given
# or not, the same return types, torch's parameter names (so `load_state_dict` works both ways), torch's
# initialisation, and error messages at least as clear as torch's.
#
# They are not three copies. As in PyTorch itself (`nn.RNN`, `nn.LSTM`, `nn.GRU` are subclasses of
# `nn.RNNBase(mode, ...)`), **one core** runs layers × directions × time and registers the parameters; what
# differs between the three is a step function of four or five lines and the number of gates. Then the
# core is checked against torch in every combination of cell, `num_layers` (1, 2), `bidirectional`, `batch_first`,
# `bias`, input kind and `hx`: 480 settings, in float64 and float32, values and gradients.
#
# **You should know:** lesson 02 (`output`, `h_n`, `batch_first`, the parity check), 04 (stacked layers, dropout
# between them), 05 (bidirectional, packing by masking), 06 (the LSTM cell) and 07 (the GRU cell). The recap below
# repeats what this lesson needs, so the notebook runs on its own.
#
# **Contents:** 1 · recap: three cells · 2 · four step functions · 3 · one parameter layout · 4 · one core,
# `ScratchRNNBase` · 5 · three thin subclasses · 6 · parameters, initialisation, `state_dict` · 7 · parity,
# every combination · 8 · dropout · 9 · bad input, clear errors · 10 · traps · 11 · play: any configuration ·
# 12 · exercises · 13 · on a GPU · 14 · summary · solutions

# %% [markdown]
# ## Setup
# Every lesson starts the same way: imports, a fixed seed (so your numbers match the ones printed here), a fixed
# print format for numbers, and the device, used only by the GPU cell near the end. One more line: torch's CPU
# LSTM with `proj_size` prints a one-time note that the oneDNN library has no projection and that torch uses its
# own implementation instead; it is harmless, and silenced here so that it does not appear in the middle of a table.

# %%
import inspect
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
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # only the GPU cell uses it
warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")

# %% [markdown]
# ## 1 · Recap: three cells, one shape of loop
#
# All three read $x$ [N, d] and the previous $h$ [N, H] and compute a new $h$ (and the LSTM a new $c$). torch writes
# every cell with **two** products, $x W_{ih}^\top + b_{ih}$ and $h W_{hh}^\top + b_{hh}$, where `weight_ih` stacks
# the G gates' weights row-block by row-block, in a fixed order:
#
# | cell | G | gate order | the step (torch's form) |
# |---|---|---|---|
# | RNN | 1 | – | $h' = \tanh \text{ or } \mathrm{relu}(x W_{ih}^\top + b_{ih} + h W_{hh}^\top + b_{hh})$ |
# | LSTM | 4 | i, f, g, o | $i, f, g, o$ = chunks of $x W_{ih}^\top + b_{ih} + h W_{hh}^\top + b_{hh}$; $c' = \sigma(f) \odot c + \sigma(i) \odot \tanh(g)$; $h' = \sigma(o) \odot \tanh(c')$ |
# | LSTM, `proj_size` = P | 4 | i, f, g, o | as above, then $h' \leftarrow h' W_{hr}^\top$ [N, P], at **every** step: the projected $h'$ is what the recurrence reads |
# | GRU | 3 | r, z, n | $r = \sigma(x_r + h_r)$, $z = \sigma(x_z + h_z)$, $n = \tanh(x_n + r \odot h_n)$, $h' = (1 - z) \odot n + z \odot h$ |
#
# where, for the GRU, $x_r, x_z, x_n$ are the chunks of $x W_{ih}^\top + b_{ih}$ and $h_r, h_z, h_n$ those of
# $h W_{hh}^\top + b_{hh}$ (this $h_n$ is a chunk, not the final state `h_n`): $r$ multiplies $(h W_{hn}^\top + b_{hn})$, **not** $h$ (the paper's form differs, lesson 07).
#
# And the layer around the cell (lessons 02–05), with D = 2 if bidirectional else 1, L = `num_layers` and
# $H_{out}$ = `proj_size` or `hidden_size`:
#
# | tensor | shape | note |
# |---|---|---|
# | input | (T, N, d), `batch_first`: (N, T, d); unbatched (T, d) | or a `PackedSequence` |
# | output | (T, N, D·$H_{out}$) | the top layer, both directions side by side, forward first |
# | h_n | (D·L, N, $H_{out}$) | row layer·D + direction; **never** batch-first |
# | c_n (LSTM) | (D·L, N, H) | the cell state is never projected |
#
# Sizes for the whole lesson, all different so that a mix-up shows: T = 4 steps, N = 3 sequences, d = 5 features,
# H = 6 hidden units, P = 2 for `proj_size`.

# %%
T, N, d, H, P = 4, 3, 5, 6, 2
EXACT = {"atol": 1e-12, "rtol": 0.0}  # float64: equal up to rounding
f64 = torch.float64

# %% [markdown]
# ## 2 · Four step functions
#
# The core will compute the input term of all T steps at once, `gi = F.linear(X, weight_ih, bias_ih)` [T, N, G·H]
# (lesson 02's "one product for all inputs"), and call a **step function** at each step with the same five
# arguments for every cell: `step(gi_t, h, c, weight_hh, bias_hh) → (h', c')`, where `c` is `None` for the RNN
# and GRU. `F.linear(h, w, b)` is $h w^\top + b$ and accepts `b = None` (for `bias=False`).

# %%
def rnn_tanh_step(gi, h, c, w_hh, b_hh):
    return torch.tanh(gi + F.linear(h, w_hh, b_hh)), None  # h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)


def rnn_relu_step(gi, h, c, w_hh, b_hh):
    return torch.relu(gi + F.linear(h, w_hh, b_hh)), None


def lstm_step(gi, h, c, w_hh, b_hh):
    i, f, g, o = (gi + F.linear(h, w_hh, b_hh)).chunk(4, -1)  # torch's order: i, f, g, o; each [N, H]
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)  # c' = σ(f)·c + σ(i)·tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c  # h' = σ(o)·tanh(c')


def gru_step(gi, h, c, w_hh, b_hh):
    x_r, x_z, x_n = gi.chunk(3, -1)  # torch's order: r, z, n; each [N, H]
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, -1)  # h_n = h W_hn^T + b_hn, bias included
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h, None  # h' = (1 − z)·n + z·h


CELL_STEPS = {"RNN_TANH": (1, rnn_tanh_step), "RNN_RELU": (1, rnn_relu_step), "LSTM": (4, lstm_step),
              "GRU": (3, gru_step)}  # mode (torch's names) → (G gates, step)

# %% [markdown]
# Each step against torch's cell (`nn.RNNCell`, `nn.LSTMCell`, `nn.GRUCell`) with the same weights, one step in
# float64, with and without bias. A swapped gate or the paper's GRU would fail here already.

# %%
torch_cells = {"RNN_TANH": nn.RNNCell(d, H, dtype=f64), "RNN_RELU": nn.RNNCell(d, H, nonlinearity="relu", dtype=f64),
               "LSTM": nn.LSTMCell(d, H, dtype=f64), "GRU": nn.GRUCell(d, H, dtype=f64)}
x1, h1, c1 = torch.randn(N, d, dtype=f64), torch.randn(N, H, dtype=f64), torch.randn(N, H, dtype=f64)  # [N, d], [N, H]
for mode, cell in torch_cells.items():
    for bias in (True, False):
        b_ih, b_hh = (cell.bias_ih, cell.bias_hh) if bias else (None, None)
        no_bias = type(cell)(d, H, bias=False, dtype=f64, **({"nonlinearity": "relu"} if mode == "RNN_RELU" else {}))
        no_bias.load_state_dict({"weight_ih": cell.weight_ih, "weight_hh": cell.weight_hh})
        ref = cell if bias else no_bias
        with torch.no_grad():
            theirs = ref(x1, (h1, c1)) if mode == "LSTM" else (ref(x1, h1), None)
            ours = CELL_STEPS[mode][1](F.linear(x1, cell.weight_ih, b_ih), h1, c1 if mode == "LSTM" else None,
                                       cell.weight_hh, b_hh)
        torch.testing.assert_close(ours, theirs, **EXACT)
    states = "h' and c'" if mode == "LSTM" else "h'"
    print(f"✓ {CELL_STEPS[mode][1].__name__:<14} equals nn.{type(cell).__name__:<9}(one step, {states}), with and without bias")

# %% [markdown]
# ## 3 · One parameter layout for all three
#
# Per layer k and direction (suffix `_reverse` for the backward one), torch registers, in this order:
#
# | name | shape | |
# |---|---|---|
# | `weight_ih_l{k}` | (G·H, $d_k$) | $d_0$ = d; $d_k$ = D·$H_{out}$ for k > 0 (the layer below, both directions) |
# | `weight_hh_l{k}` | (G·H, $H_{out}$) | reads the (projected) state |
# | `bias_ih_l{k}`, `bias_hh_l{k}` | (G·H,) | absent with `bias=False` |
# | `weight_hr_l{k}` | (P, H) | only with `proj_size` = P > 0 (LSTM) |
#
# layer by layer, forward direction before reverse. All are drawn from $U(-1/\sqrt{H}, 1/\sqrt{H})$, `weight_hr`
# too. So the number of parameters is
# $\sum_{k, \text{dir}} \left[ G H (d_k + H_{out}) + 2 G H \cdot [\text{bias}] + P H \right]$.
# The drawing shows the G row-blocks of `weight_ih` for each cell; a step that chunks them in another order
# (i, f, o, g as in some course notes) computes a different network with the same shapes.

# %%
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
    ax.text(6.4 + 2.3, -2.5, "weight_hr (P, H)\nLSTM with proj_size:\nh' ← h' W_hrᵀ", fontsize=8, va="center")
    ax.set_xlim(-0.2, 10.8)
    ax.set_ylim(-4.3, 0.8)
    ax.axis("off")
    ax.set_title("torch stacks the gates' weights row-block by row-block (weight_hh and the biases alike)", fontsize=10)


fig, ax = plt.subplots(figsize=(10, 2.8))
draw_gate_blocks(ax)
plt.show()

# %% [markdown]
# ## 4 · One core: `ScratchRNNBase`
#
# Built from the same small pieces as lesson 05's `ScratchRNN`, each in its own cell below: one direction of one
# layer; two helpers for packed input and dropout; the checks of the input and of `hx`; the constructor; the
# forward pass over layers and directions. A call `module(input, hx)` goes through them in this order:
#
# ```
# forward ─ layer_input      input → X [T, N, d] (+ lengths if packed), with torch's checks
#         ─ initial_state    hx → h0 [D·L, N, H_out], c0 [D·L, N, H] (zeros if hx is None)
#         ─ for each layer k, direction j:  run_direction(step, X, h0[k·D + j], …) → out, h, c
#                             then X = both directions' out side by side; dropout_between_layers if training
#         ─ pack_like        packed input only: the output packed the way the input was
# ```
#
# **One direction of one layer.** The loop of lesson 05 with the step function plugged in, two additions: the
# LSTM's cell state `c` travels beside `h`, and with `proj_size` the new `h` is projected at every step, before the
# next step reads it. For packed input (`lengths` [N, 1] given) a sequence keeps its state, `h` and `c`, at every
# index t ≥ its length.

# %%
def run_direction(step, X, h, c, weights, lengths=None, reverse=False):
    """One layer, one direction. X [T, N, d_k], h [N, H_out], c [N, H] or None → out [T, N, H_out], final h, c.
    weights = (weight_ih, weight_hh, bias_ih, bias_hh, weight_hr), None for each one that is absent."""
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    gi = F.linear(X, w_ih, b_ih)  # x W_ih^T + b_ih for all steps at once: [T, N, G·H]
    out = [None] * X.shape[0]
    for t in (range(X.shape[0] - 1, -1, -1) if reverse else range(X.shape[0])):
        h_new, c_new = step(gi[t], h, c, w_hh, b_hh)  # [N, H], [N, H] or None
        if w_hr is not None:  # LSTM with proj_size: h' = h' W_hr^T [N, P], fed back into the next step
            h_new = h_new @ w_hr.T
        if lengths is not None:  # packed input: past its length a sequence keeps its old state
            h_new = torch.where(t < lengths, h_new, h)
            c_new = None if c is None else torch.where(t < lengths, c_new, c)
        h, c = h_new, c_new
        out[t] = h  # position t, whichever direction
    return torch.stack(out), h, c

# %% [markdown]
# **Packed input and dropout**, recapped from lesson 05: `pack_like` packs a padded output [T, N, ·] exactly as
# the input `PackedSequence` was packed (same `batch_sizes`, same index tensors); dropout between layers is drawn
# on the packed data for packed input, as torch does, so that the same seed gives the same mask.

# %%
def pack_like(padded, lengths, like):
    """Pack padded [T, N, ·] (original batch order) exactly as the PackedSequence `like` was packed."""
    order = like.sorted_indices  # None when the batch came sorted (enforce_sorted=True)
    if order is not None:
        padded, lengths = padded.index_select(1, order), lengths[order.cpu()]
    data = pack_padded_sequence(padded, lengths).data
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)


def dropout_between_layers(X, p, lengths, like):
    """F.dropout on a layer's output [T, N, ·]; for packed input on the packed data, as torch does."""
    if like is None:
        return F.dropout(X, p, training=True)
    packed = pack_like(X, lengths, like)
    dropped = PackedSequence(F.dropout(packed.data, p, training=True), *packed[1:])
    return pad_packed_sequence(dropped, total_length=X.shape[0])[0]

# %% [markdown]
# **The input**, checked as torch checks it (the same exception types; section 9 compares the messages) and
# brought to one layout, time-major X [T, N, d]. A `PackedSequence` is unpacked in the original batch order,
# which is also the order of `hx` and `h_n` in torch.

# %%
def layer_input(rnn, input):
    """→ X [T, N, d] (time-major), lengths (packed input: CPU int64 [N]) or None, unbatched (input was (T, d))."""
    lengths, unbatched, name = None, False, type(rnn).__name__
    if isinstance(input, PackedSequence):
        X, lengths = pad_packed_sequence(input)  # [T, N, d], original batch order
    elif not isinstance(input, torch.Tensor):
        raise TypeError(f"{name} takes a tensor or a PackedSequence as input, got a {type(input).__name__}")
    elif input.dim() not in (2, 3):
        layout = "(N, T, d)" if rnn.batch_first else "(T, N, d)"
        raise ValueError(f"{name}: expected input (T, d) or {layout}, got a {input.dim()}-D tensor {tuple(input.shape)}")
    else:
        unbatched = input.dim() == 2  # batch_first does not apply to unbatched input
        X = input.unsqueeze(1) if unbatched else input.transpose(0, 1) if rnn.batch_first else input
    w = rnn.weight_ih_l0
    if X.dtype != w.dtype:
        raise ValueError(f"input dtype {X.dtype} does not match the weights' dtype {w.dtype}: convert the input, "
                         f"input.to({w.dtype}), or the model, model.to({X.dtype})")
    if X.shape[-1] != rnn.input_size:
        raise RuntimeError(f"input has {X.shape[-1]} features in its last dimension, expected input_size={rnn.input_size}")
    if X.shape[0] == 0:
        raise RuntimeError("the sequence is empty (0 steps): no step to run, no last state to return")
    return X, lengths, unbatched

# %% [markdown]
# **The initial state.** `hx` is `(h0, c0)` for the LSTM and a single `h0` for the others; each must be
# (D·L, N, size), or (D·L, size) for unbatched input, where size is $H_{out}$ for `h0` and H for `c0`. A wrong
# shape gets a message that names the usual reason.

# %%
def initial_state(rnn, hx, X, unbatched):
    """→ h0 [D·L, N, H_out], c0 [D·L, N, H] (LSTM) or None; zeros where hx is None."""
    D, L, N_, H_ = (2 if rnn.bidirectional else 1), rnn.num_layers, X.shape[1], rnn.hidden_size
    lstm, H_out, name = rnn.mode == "LSTM", rnn.proj_size or H_, type(rnn).__name__
    if hx is None:
        return X.new_zeros(D * L, N_, H_out), (X.new_zeros(D * L, N_, H_) if lstm else None)
    if lstm and not (isinstance(hx, tuple) and len(hx) == 2):
        raise TypeError(f"{name} takes hx = (h0, c0), a tuple of two tensors, got a {type(hx).__name__}")
    if not lstm and not isinstance(hx, torch.Tensor):
        raise TypeError(f"{name} takes hx = h0, one tensor, got a {type(hx).__name__}: only an LSTM has a c0")
    states = []
    for which, state, size in zip(("h0", "c0"), hx if lstm else (hx,), (H_out, H_)):
        want = (D * L, size) if unbatched else (D * L, N_, size)
        if state.dim() != len(want):
            raise RuntimeError(f"{'unbatched 2-D' if unbatched else 'batched 3-D'} input needs a {len(want)}-D {which} "
                               f"{want}, got a {state.dim()}-D {which} {tuple(state.shape)}")
        if tuple(state.shape) != want:
            raise RuntimeError(f"{which} should be {want}, got {tuple(state.shape)}: {shape_hint(rnn, which, tuple(state.shape), want)}")
        if state.dtype != X.dtype:
            raise RuntimeError(f"{which} dtype {state.dtype} does not match the input dtype {X.dtype}")
        states.append(state.unsqueeze(1) if unbatched else state)
    return states[0], (states[1] if lstm else None)

# %% [markdown]
# `shape_hint` turns a wrong shape into its likeliest reason, in words: the mistakes of the traps in section 10.

# %%
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

# %% [markdown]
# **The constructor's checks**: torch's rules (`nn.RNNBase.__init__`), the same exception types, with the values
# in the messages, and torch's warning for `dropout` with a single layer, word for word (it would do nothing:
# dropout sits *between* layers).

# %%
def check_config(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size):
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1:
        raise ValueError(f"dropout should be a number in range [0, 1] (the probability of zeroing an element), got {dropout!r}")
    for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool), ("input_size", input_size, int),
                              ("hidden_size", hidden_size, int), ("num_layers", num_layers, int)):
        if not isinstance(value, kind):
            raise TypeError(f"{name} should be of type {kind.__name__}, got {value!r} ({type(value).__name__})")
        if kind is int and value <= 0:
            raise ValueError(f"{name} must be greater than zero, got {value}")
    if proj_size < 0:
        raise ValueError(f"proj_size should be a positive integer or zero to disable projections, got {proj_size}")
    if proj_size > 0 and mode != "LSTM":
        raise ValueError(f"proj_size argument is only supported for LSTM, not RNN or GRU (got proj_size={proj_size})")
    if proj_size >= hidden_size:
        raise ValueError(f"proj_size has to be smaller than hidden_size, got proj_size={proj_size} ≥ hidden_size={hidden_size}")
    if dropout > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                      f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}")

# %% [markdown]
# **The module.** `mode` uses torch's names (`"RNN_TANH"`, `"RNN_RELU"`, `"LSTM"`, `"GRU"`) and picks G and the
# step. The registration loop is the table of section 3, then torch's initialisation in registration order.
# `layer_weights` hands one layer-direction's five weights to `run_direction`; `flatten_parameters` (cuDNN's
# weight packing, which user code often calls) has nothing to do here; `extra_repr` prints as torch prints.

# %%
class ScratchRNNBase(nn.Module):
    """The core of ScratchRNN, ScratchLSTM and ScratchGRU: parameters and the loop, for G = 1, 4 or 3 gates."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        check_config(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size)
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, float(dropout), bidirectional
        self.proj_size = proj_size
        G, self.cell_step = CELL_STEPS[mode]
        D, H_out, kw = (2 if bidirectional else 1), proj_size or hidden_size, {"device": device, "dtype": dtype}
        for k in range(num_layers):
            for sfx in ("", "_reverse")[:D]:  # per layer: forward direction first, then reverse
                shapes = {"weight_ih": (G * hidden_size, input_size if k == 0 else D * H_out),
                          "weight_hh": (G * hidden_size, H_out)}
                if bias:
                    shapes.update(bias_ih=(G * hidden_size,), bias_hh=(G * hidden_size,))
                if proj_size > 0:
                    shapes.update(weight_hr=(proj_size, hidden_size))
                for name, shape in shapes.items():
                    setattr(self, f"{name}_l{k}{sfx}", nn.Parameter(torch.empty(shape, **kw)))
        for p in self.parameters():  # torch's init, in registration order: U(-1/√H, 1/√H)
            nn.init.uniform_(p, -1.0 / math.sqrt(hidden_size), 1.0 / math.sqrt(hidden_size))

    def layer_weights(self, k, sfx):
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
        return tuple(getattr(self, f"{n}_l{k}{sfx}", None) for n in names)

    def flatten_parameters(self):
        pass  # cuDNN's contiguous weight buffer: nothing to do for a from-scratch loop

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        for name, default in (("proj_size", 0), ("num_layers", 1), ("bias", True), ("batch_first", False),
                              ("dropout", 0.0), ("bidirectional", False)):
            s += f", {name}={getattr(self, name)}" if getattr(self, name) != default else ""
        return s

# %% [markdown]
# **The forward pass**: check the call, then layers × directions, each direction from its own initial state
# (row layer·D + direction of `h0`), the two outputs side by side (forward first), dropout between layers in
# training mode, and the result in the form the input came in. The LSTM returns `(output, (h_n, c_n))`.
# It is written as a plain function and attached to the class afterwards (`ScratchRNNBase.forward = base_forward`),
# only so that it gets a cell of its own; it is the same as a `def forward(self, input, hx=None)` in the class.

# %%
def base_forward(self, input, hx=None):
    X, lengths, unbatched = layer_input(self, input)  # X [T, N, d]
    h0, c0 = initial_state(self, hx, X, unbatched)  # [D·L, N, H_out], [D·L, N, H] or None
    like = input if lengths is not None else None
    mask = None if lengths is None else lengths.to(X.device)[:, None]  # [N, 1], packed input only
    D, h_n, c_n = (2 if self.bidirectional else 1), [], []
    for k in range(self.num_layers):
        outs = []
        for j, sfx in enumerate(("", "_reverse")[:D]):  # j = 0 forward, 1 reverse
            i = k * D + j  # the row of h0 / h_n: layer·D + direction
            out, h, c = run_direction(self.cell_step, X, h0[i], None if c0 is None else c0[i],
                                      self.layer_weights(k, sfx), mask, reverse=j == 1)
            outs.append(out)
            h_n.append(h)
            c_n.append(c)
        X = torch.cat(outs, dim=-1)  # [T, N, D·H_out], forward half first
        if self.training and self.dropout > 0 and k < self.num_layers - 1:  # between layers only
            X = dropout_between_layers(X, self.dropout, lengths, like)
    h_n, c_n = torch.stack(h_n), (torch.stack(c_n) if c0 is not None else None)  # [D·L, N, ·]
    if like is not None:
        output = pack_like(X, lengths, like)
    elif unbatched:
        output, h_n, c_n = X.squeeze(1), h_n.squeeze(1), (c_n.squeeze(1) if c_n is not None else None)
    else:
        output = X.transpose(0, 1) if self.batch_first else X  # h_n is never batch-first
    return output, ((h_n, c_n) if self.mode == "LSTM" else h_n)


ScratchRNNBase.forward = base_forward

# %% [markdown]
# ## 5 · Three thin subclasses
#
# What is left is each class's constructor signature, with torch's argument names, order and defaults.
# `ScratchRNN` turns `nonlinearity` into the mode; the other two name theirs. torch's `nn.RNN` and `nn.GRU`
# refuse a `proj_size` keyword with a `ValueError`; ours take it as a keyword-only argument so that the core
# can refuse a non-zero value with the same error (a plain `TypeError` for an unknown keyword would not be a
# drop-in).

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

# %% [markdown]
# How short is thin? The line counts, read from the source with `inspect`, and the signatures checked against torch's
# documented ones, the first line of each class's docstring (torch's classes take `*args, **kwargs`).

# %%
def source_lines(*objects):
    """Lines of the functions, or of the methods a class defines itself (a notebook class has no source file)."""
    functions = [f for o in objects for f in
                 ([v for v in vars(o).values() if inspect.isfunction(v)] if isinstance(o, type) else [o])]
    return sum(len(inspect.getsource(f).splitlines()) for f in functions)


core_lines = source_lines(run_direction, pack_like, dropout_between_layers, layer_input, initial_state, shape_hint,
                          check_config, ScratchRNNBase)
print(f"the core (ScratchRNNBase's methods and helpers): {core_lines} lines; the four step functions: "
      f"{source_lines(rnn_tanh_step, rnn_relu_step, lstm_step, gru_step)} lines")
for ScratchClass, TorchClass in ((ScratchRNN, nn.RNN), (ScratchLSTM, nn.LSTM), (ScratchGRU, nn.GRU)):
    params = [p for p in inspect.signature(ScratchClass).parameters.values() if p.kind != p.KEYWORD_ONLY]
    ours = "__init__(" + ",".join(p.name + ("" if p.default is p.empty else f"={p.default!r}") for p in params) + ")"
    assert ours == TorchClass.__doc__.strip().splitlines()[0], ours
    print(f"{ScratchClass.__name__:<12} {source_lines(ScratchClass):>2} lines, "
          f"signature = nn.{TorchClass.__name__}'s documented one ✓")
print(f"e.g. ScratchGRU's: {ours}")

# %% [markdown]
# ## 6 · Parameters, initialisation, `state_dict`
#
# For each mode and several stacks: the same **names, shapes and order** as torch's module, the same `repr`, and,
# built after the same `torch.manual_seed`, the **same initial values**, bit for bit. That holds because torch's
# constructor draws nothing but $U(-1/\sqrt{H}, 1/\sqrt{H})$, once per parameter, in registration order, and so
# does ours. It checks the init range too: any other range would give other numbers.

# %%
TWINS = {"RNN_TANH": (nn.RNN, ScratchRNN, {}), "RNN_RELU": (nn.RNN, ScratchRNN, {"nonlinearity": "relu"}),
         "LSTM": (nn.LSTM, ScratchLSTM, {}), "GRU": (nn.GRU, ScratchGRU, {})}  # mode → torch, scratch, extra kwargs
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
        assert repr(s_init) == repr(t_init).replace(TorchClass.__name__ + "(", ScratchClass.__name__ + "(", 1)
    print(f"✓ {mode:<8} {len(STACKS) + (mode == 'LSTM')} stacks: same names, shapes, order, repr and initial values as nn.{TorchClass.__name__}")
example = ScratchLSTM(d, H, 2, bidirectional=True, proj_size=P)
print(f"  e.g. {example}: weight_hh_l1_reverse {tuple(example.weight_hh_l1_reverse.shape)} = (4H, P), "
      f"weight_hr_l1 {tuple(example.weight_hr_l1.shape)} = (P, H)")

# %% [markdown]
# `load_state_dict` both ways, and the number of parameters: ours, torch's, and the formula of section 3, for
# input_size 10, hidden_size 20 (numbers you can check by hand).

# %%
s_lstm, t_lstm = ScratchLSTM(d, H, num_layers=2, bidirectional=True, proj_size=P), nn.LSTM(d, H, 2, bidirectional=True, proj_size=P)
t_lstm.load_state_dict(s_lstm.state_dict())  # scratch → torch
assert all(torch.equal(a, b) for a, b in zip(s_lstm.parameters(), t_lstm.parameters()))
t_new = nn.LSTM(d, H, 2, bidirectional=True, proj_size=P)
s_lstm.load_state_dict(t_new.state_dict())  # torch → scratch
assert all(torch.equal(a, b) for a, b in zip(s_lstm.parameters(), t_new.parameters()))
print("✓ load_state_dict works both ways (scratch → torch, torch → scratch)")
for label, ScratchClass, TorchClass, kw, want in [
        ("RNN(10, 20)", ScratchRNN, nn.RNN, {}, 640), ("GRU(10, 20)", ScratchGRU, nn.GRU, {}, 1920),
        ("LSTM(10, 20)", ScratchLSTM, nn.LSTM, {}, 2560),
        ("LSTM(10, 20, num_layers=2, bidirectional=True, proj_size=5)", ScratchLSTM, nn.LSTM,
         {"num_layers": 2, "bidirectional": True, "proj_size": 5}, 5840)]:
    ours = sum(p.numel() for p in ScratchClass(10, 20, **kw).parameters())
    assert ours == sum(p.numel() for p in TorchClass(10, 20, **kw).parameters()) == want
    print(f"✓ {label:<58} {ours:>5} parameters, as torch and the formula")

# %% [markdown]
# ## 7 · Parity: every combination
#
# `parity` runs a torch module and its scratch twin on the same call and asserts that **everything** matches:
# the output (for packed input its `.data`, index tensors and the padded form), `h_n`, `c_n`, and the gradients
# with respect to the input, `h0`, `c0` and every parameter. It comes in two pieces. First `run_once` runs one
# module and collects all of that in a dict, name → tensor. The gradients are those of a random weighted sum of
# the results, $\sum$ result · upstream: random upstream gradients weigh every entry differently, so a mistake
# anywhere shows. They come from `torch.autograd.grad` (not `.backward()`), so a module can be reused.

# %%
def run_once(rnn, x_leaf, hx_leaves, lengths, enforce_sorted, ups=None):
    """One module's results, name → tensor (gradients included), its return types, and the upstream gradients
    used (drawn here if ups is None, so that the second module gets the same ones)."""
    lstm = rnn.mode == "LSTM"
    inp = x_leaf if lengths is None else pack_padded_sequence(x_leaf, lengths, batch_first=rnn.batch_first,
                                                              enforce_sorted=enforce_sorted)
    out, state = rnn(inp, None if not hx_leaves else tuple(hx_leaves) if lstm else hx_leaves[0])
    kinds = (type(out).__name__, [type(v).__name__ for v in state] if lstm else type(state).__name__)
    named = {"output": out.data if lengths is not None else out, "h_n": state[0] if lstm else state}
    named.update({"c_n": state[1]} if lstm else {})
    if lengths is not None:  # packed: the padded output, and the same index tensors
        named["padded output"], named["lengths"] = pad_packed_sequence(out, batch_first=rnn.batch_first)
        named.update(batch_sizes=out.batch_sizes, sorted_indices=out.sorted_indices,
                     unsorted_indices=out.unsorted_indices)
    ups = ups or [torch.randn_like(v) for v in list(named.values())[:3 if lstm else 2]]  # output, h_n, (c_n)
    loss = sum((v * g).sum() for v, g in zip(named.values(), ups))
    wrt = {"input": x_leaf, **dict(zip(("h0", "c0"), hx_leaves)), **dict(rnn.named_parameters())}
    named.update(zip([f"grad {n}" for n in wrt], torch.autograd.grad(loss, list(wrt.values()))))
    return named, kinds, ups

# %% [markdown]
# Then `parity` calls it for torch's module and ours, on the same input leaves, with the same upstream gradients,
# and compares: the return types, the names, every shape, the integer tensors exactly, and the floating-point
# results in one `assert_close` on their concatenation (fast); when that fails, one by one, so that the message
# names the first tensor that differs. It returns the number of tensors compared.

# %%
def parity(torch_rnn, scratch_rnn, x, hx=None, lengths=None, enforce_sorted=False, **tol):
    """Run both on x (packed with lengths if given) and hx; assert outputs, h_n, c_n and all gradients match."""
    x_leaf = x.clone().requires_grad_()
    hx_leaves = [] if hx is None else [v.clone().requires_grad_() for v in (hx if isinstance(hx, tuple) else (hx,))]
    theirs, kinds_t, ups = run_once(torch_rnn, x_leaf, hx_leaves, lengths, enforce_sorted)
    ours, kinds_s, _ = run_once(scratch_rnn, x_leaf, hx_leaves, lengths, enforce_sorted, ups)
    assert kinds_s == kinds_t, f"return types differ: torch {kinds_t}, scratch {kinds_s}"
    assert list(ours) == list(theirs), f"different results: {list(ours)} vs {list(theirs)}"
    for name in ours:  # shapes, and the integer tensors exactly
        a, b = ours[name], theirs[name]
        assert (a is None) == (b is None) and (a is None or a.shape == b.shape), f"{name}: {a} vs {b}"
        assert a is None or a.is_floating_point() or torch.equal(a, b), f"{name} differs: {a} vs {b}"
    floats = [name for name in ours if ours[name] is not None and ours[name].is_floating_point()]
    try:  # all floating-point results in one comparison (fast); on failure, name the first that differs
        torch.testing.assert_close(torch.cat([ours[n].flatten() for n in floats]),
                                   torch.cat([theirs[n].flatten() for n in floats]), **tol)
    except AssertionError:
        for n in floats:
            torch.testing.assert_close(ours[n], theirs[n], **tol, msg=lambda m, n=n: f"{n} differs: {m}")
        raise
    return len(ours)

# %% [markdown]
# `twin` builds the scratch module with a torch module's settings, dtype and device and copies its weights
# (torch → scratch); `random_call` draws an input and, if asked, an `hx` of the right shapes for a module.
# Packed input uses `LENGTHS`: unsorted, so `enforce_sorted=False`, the longest equal to T.

# %%
def twin(torch_rnn):
    """A ScratchRNN / ScratchLSTM / ScratchGRU with torch_rnn's settings and a copy of its weights."""
    TorchClass, ScratchClass, extra = TWINS[torch_rnn.mode]
    w = torch_rnn.weight_ih_l0
    s = ScratchClass(torch_rnn.input_size, torch_rnn.hidden_size, num_layers=torch_rnn.num_layers,
                     bias=torch_rnn.bias, batch_first=torch_rnn.batch_first, dropout=torch_rnn.dropout,
                     bidirectional=torch_rnn.bidirectional, proj_size=torch_rnn.proj_size,
                     device=w.device, dtype=w.dtype, **extra)
    s.load_state_dict(torch_rnn.state_dict())
    return s


def random_call(rnn, kind, give_hx):
    """x for kind 'batched' / 'unbatched' / 'packed' (padded, in the module's layout) and hx (or None)."""
    w, D, L = rnn.weight_ih_l0, (2 if rnn.bidirectional else 1), rnn.num_layers
    kw = {"dtype": w.dtype, "device": w.device}
    x = torch.randn((T, d) if kind == "unbatched" else (N, T, d) if rnn.batch_first else (T, N, d), **kw)
    if not give_hx:
        return x, None
    sizes = [rnn.proj_size or rnn.hidden_size] + ([rnn.hidden_size] if rnn.mode == "LSTM" else [])
    states = [torch.randn((D * L, s) if kind == "unbatched" else (D * L, N, s), **kw) for s in sizes]
    return x, (tuple(states) if rnn.mode == "LSTM" else states[0])


LENGTHS = torch.tensor([3, 4, 2])  # CPU int64, unsorted, max = T

# %% [markdown]
# **The grid**: mode (RNN tanh, RNN relu, LSTM, LSTM with `proj_size`, GRU) × `num_layers` 1, 2 ×
# `bidirectional` × `batch_first` × `bias` × input (batched, unbatched, packed) × `hx` (given, `None`): 480
# settings, each in float64 (|Δ| ≤ 1e-12) and in float32 (`assert_close`'s defaults). The weights come from a
# torch module of each kind, and one module pair serves the six calls of its row. Settings that fail are
# collected (up to three: enough to see the pattern), so that the verdict says *which* ones, and then asserted.
# Not in the grid, checked on their own:
# sorted packed input (next), `dropout` (section 8), `device` (section 13); `num_layers` = 3 runs in section 8.

# %%
MODES = {"RNN tanh": ("RNN_TANH", {}), "RNN relu": ("RNN_RELU", {}), "LSTM": ("LSTM", {}),
         "LSTM proj_size": ("LSTM", {"proj_size": P}), "GRU": ("GRU", {})}
CALLS = list(itertools.product(("batched", "unbatched", "packed"), (True, False)))  # input kind × hx given


def run_grid(max_failures=3):
    """Every setting, both dtypes; stops at the third failing run (enough to see the pattern, and quick)."""
    counts, failures = {}, []
    for (label, (mode, extra)), dtype in itertools.product(MODES.items(), (torch.float64, torch.float32)):
        TorchClass, _, mode_kw = TWINS[mode]
        tol = EXACT if dtype == torch.float64 else {}
        for L, bidir, batch_first, bias in itertools.product((1, 2), (False, True), (False, True), (True, False)):
            t_rnn = TorchClass(d, H, L, bias=bias, batch_first=batch_first, bidirectional=bidir, dtype=dtype,
                               **mode_kw, **extra)
            s_rnn = twin(t_rnn)
            for kind, give_hx in CALLS:
                setting = f"{label}, L={L}, bidirectional={bidir}, batch_first={batch_first}, bias={bias}, {kind}, hx {'given' if give_hx else 'None'}, {dtype}"
                try:
                    n = parity(t_rnn, s_rnn, *random_call(t_rnn, kind, give_hx), LENGTHS if kind == "packed" else None, **tol)
                    runs, tensors = counts.get((label, dtype), (0, 0))
                    counts[(label, dtype)] = (runs + 1, tensors + n)
                except Exception as err:  # collected: the verdict below names the settings that fail
                    failures.append(f"{setting}: {type(err).__name__}: {str(err).strip().splitlines()[0]}")
                    if len(failures) == max_failures:
                        return counts, failures
    return counts, failures


counts, failures = run_grid()

# %% [markdown]
# The verdict: one line per mode, then the total. Each "tensors" count is the outputs, final states, index
# tensors and gradients that were asserted equal.

# %%
print(f"{'mode':<16}{'settings':>9}   {'float64, |Δ| ≤ 1e-12':<24}float32, defaults")
for label in MODES:
    (r64, n64), (r32, n32) = counts.get((label, torch.float64), (0, 0)), counts.get((label, torch.float32), (0, 0))
    print(f"{label:<16}{r64:>9}   {f'{n64:,} tensors ✓':<24}{n32:,} tensors ✓")
assert not failures, "runs that differ from torch (the grid stops at the third):\n  " + "\n  ".join(failures)
total = sum(runs for runs, _ in counts.values())
assert total == 960
print(f"{total // 2} settings × 2 dtypes: all match (outputs, h_n, c_n, gradients of input, h0, c0, every parameter)")

# %% [markdown]
# The grid packs with `enforce_sorted=False` (its `LENGTHS` are unsorted). One more packed path: lengths already in
# decreasing order with the default `enforce_sorted=True`, where the `PackedSequence` carries no index tensors
# (`sorted_indices` is `None`, the other branch of `pack_like`), and the longest shorter than the padding (3 < T = 4,
# so the output has 3 steps, not 4). Each mode, 2 layers, bidirectional, batch-first, `hx` given, float64.

# %%
for label, (mode, extra) in MODES.items():
    TorchClass, _, mode_kw = TWINS[mode]
    t_sorted = TorchClass(d, H, 2, bidirectional=True, batch_first=True, dtype=f64, **mode_kw, **extra)
    x_sorted, hx_sorted = random_call(t_sorted, "packed", True)  # x (N, T, d) = (3, 4, 5)
    n = parity(t_sorted, twin(t_sorted), x_sorted, hx_sorted, torch.tensor([3, 3, 1]), enforce_sorted=True, **EXACT)
    print(f"✓ {label:<15} lengths [3, 3, 1], enforce_sorted=True: {n} tensors match")

# %% [markdown]
# ## 8 · Dropout
#
# Dropout sits between layers, on the output of every layer but the last, in training mode only (lesson 04).
# torch draws its CPU masks with the same generator as `F.dropout`, one per layer, in order; so with the same seed
# before each call, ours draws the same masks, and the outputs and final states match to rounding (forward values
# only: `parity` cannot reseed between the two modules). Three layers, bidirectional,
# `dropout=0.4`, for each cell and batched, batch-first, packed and unbatched input. Then evaluation mode: **bit for bit**
# the module with `dropout=0`, for torch and for us.

# %%
for label, (mode, extra) in MODES.items():
    TorchClass, _, mode_kw = TWINS[mode]
    for batch_first, kind in ((False, "batched"), (True, "batched"), (False, "packed"), (False, "unbatched")):
        t_drop = TorchClass(d, H, 3, dropout=0.4, bidirectional=True, batch_first=batch_first, dtype=f64, **mode_kw, **extra)
        s_drop, (x, _) = twin(t_drop), random_call(t_drop, kind, False)
        inp = x if kind != "packed" else pack_padded_sequence(x, LENGTHS, batch_first=batch_first, enforce_sorted=False)
        with torch.random.fork_rng():  # the same random numbers for both: the same seed before each call
            torch.manual_seed(7)
            out_t, state_t = t_drop(inp)
            torch.manual_seed(7)
            out_s, state_s = s_drop(inp)
        torch.testing.assert_close((out_s.data, state_s), (out_t.data, state_t), **EXACT)  # .data: packed data or tensor
    no_drop_t = TorchClass(d, H, 3, bidirectional=True, dtype=f64, **mode_kw, **extra)
    no_drop_t.load_state_dict(t_drop.state_dict())
    t_drop.eval(), s_drop.eval()
    with torch.no_grad():
        assert torch.equal(s_drop(x)[0], twin(no_drop_t)(x)[0]) and torch.equal(t_drop(x)[0], no_drop_t(x)[0])
        torch.testing.assert_close(s_drop(x)[0], t_drop(x)[0], **EXACT)
    print(f"✓ {label:<15} train, same seed: output, h_n = torch (batched, batch_first, packed, unbatched); eval = dropout 0 ✓")

# %% [markdown]
# And with one layer, where dropout would do nothing: torch warns, and so does `ScratchRNNBase`, word for word
# (caught here so that it prints instead of going to stderr).

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    nn.GRU(d, H, dropout=0.5), ScratchGRU(d, H, dropout=0.5)
assert len(caught) == 2 and str(caught[0].message) == str(caught[1].message)
print(f"both warn: {caught[1].category.__name__}: {caught[1].message}")

# %% [markdown]
# ## 9 · Bad input, clear errors
#
# A drop-in replacement must fail where torch fails, with the **same exception type** (so that an `except` clause
# written for torch still works), and it may say more. `compare_errors` runs the same bad call on torch and on
# ours, prints both messages, and asserts the type and that our message holds the words that help. Where the
# *structure* of an argument is wrong, ours differ on purpose: a tensor as an LSTM's `hx`, a tuple as a GRU's, a
# list as the input. torch then fails wherever the wrong object first breaks something: an `IndexError` or a
# `RuntimeError` about 3-D hx for an LSTM (depending on the number of rows), an `AttributeError` for the others;
# ours raise a `TypeError` that says what the argument should be. Two of them are shown below.

# %%
def compare_errors(label, torch_call, scratch_call, words, scratch_type=None):
    """Both calls must raise; print the two messages; assert ours has torch's type (or scratch_type) and words."""
    raised = []
    for call in (torch_call, scratch_call):
        try:
            call()
            raised.append(None)
        except Exception as err:  # the point of the cell: show the message
            raised.append(err)
    t_err, s_err = raised
    assert t_err is not None and s_err is not None, f"{label}: {'torch' if t_err is None else 'scratch'} did not raise"
    want = scratch_type or type(t_err)
    assert type(s_err) is want, f"{label}: scratch raised {type(s_err).__name__}, torch {type(t_err).__name__}"
    assert all(w in str(s_err) for w in words), f"{label}: the message should name {words}: {s_err}"
    note = "" if scratch_type is None else f"   (on purpose: torch's {type(t_err).__name__} is an accident)"
    print(f"{label}\n  torch   {type(t_err).__name__}: {t_err}\n  scratch {type(s_err).__name__}: {s_err}{note}")

# %% [markdown]
# First the constructors:

# %%
compare_errors("proj_size ≥ hidden_size", lambda: nn.LSTM(d, H, proj_size=H), lambda: ScratchLSTM(d, H, proj_size=H),
               ["proj_size=6", "hidden_size=6"])
compare_errors("proj_size on a GRU", lambda: nn.GRU(d, H, proj_size=P), lambda: ScratchGRU(d, H, proj_size=P),
               ["only supported for LSTM"])
compare_errors("unknown nonlinearity", lambda: nn.RNN(d, H, nonlinearity="sigmoid"),
               lambda: ScratchRNN(d, H, nonlinearity="sigmoid"), ["'sigmoid'", "'tanh' or 'relu'"])
compare_errors("nonlinearity on an LSTM", lambda: nn.LSTM(d, H, nonlinearity="relu"),
               lambda: ScratchLSTM(d, H, nonlinearity="relu"), ["nonlinearity"])
compare_errors("dropout outside [0, 1]", lambda: nn.GRU(d, H, 2, dropout=1.5), lambda: ScratchGRU(d, H, 2, dropout=1.5),
               ["[0, 1]", "1.5"])
compare_errors("input_size = 0", lambda: nn.RNN(0, H), lambda: ScratchRNN(0, H), ["input_size", "0"])

# %% [markdown]
# Then the calls. `lstm`, `gru`, `rnn` are torch modules (a deep bidirectional LSTM with `proj_size`, a
# 2-layer GRU, a 1-layer RNN), `s_lstm`, `s_gru`, `s_rnn` their twins; the bad inputs are all float32 but one.

# %%
lstm = nn.LSTM(d, H, 2, bidirectional=True, proj_size=P)
gru, rnn = nn.GRU(d, H, 2), nn.RNN(d, H)
s_lstm, s_gru, s_rnn = twin(lstm), twin(gru), twin(rnn)
x = torch.randn(T, N, d)  # [T, N, d]
h0_lstm, c0_lstm = torch.zeros(4, N, P), torch.zeros(4, N, H)  # right: (D·L, N, P) and (D·L, N, H)
bad_calls = [
    ("wrong feature size (d = 4, input_size = 5)", "lstm", (torch.randn(T, N, 4),), ["4", "input_size=5"]),
    ("h0 with num_layers rows, not 2·num_layers", "lstm", (x, (torch.zeros(2, N, P), c0_lstm)), ["(4, 3, 2)", "2·num_layers"]),
    ("c0 with proj_size columns", "lstm", (x, (h0_lstm, torch.zeros(4, N, P))), ["c0", "(4, 3, 6)", "hidden_size"]),
    ("h0 batch-first (N, L, H)", "gru", (x, torch.zeros(N, 2, H)), ["(2, 3, 6)", "never batch-first"]),
    ("dtype mismatch (float64 input)", "gru", (x.double(),), ["torch.float64", "torch.float32"]),
    ("4-D input", "gru", (x[None],), ["4-D", "(T, N, d)"]),
    ("3-D input with a 2-D h0", "rnn", (x, torch.zeros(1, H)), ["3-D", "2-D"]),
]
pairs = {"lstm": (lstm, s_lstm), "gru": (gru, s_gru), "rnn": (rnn, s_rnn)}  # torch module, our twin
for label, name, args, words in bad_calls:
    t_mod, s_mod = pairs[name]
    compare_errors(label, lambda: t_mod(*args), lambda: s_mod(*args), words)
lstm1 = nn.LSTM(d, H)  # one layer: torch's IndexError (with 2·L rows torch misreads hx as (h0, c0) slices)
compare_errors("a tensor as an LSTM's hx", lambda: lstm1(x, torch.zeros(1, N, H)),
               lambda: twin(lstm1)(x, torch.zeros(1, N, H)), ["(h0, c0)"], TypeError)
compare_errors("a tuple as a GRU's hx", lambda: gru(x, (torch.zeros(2, N, H),) * 2),
               lambda: s_gru(x, (torch.zeros(2, N, H),) * 2), ["one tensor", "c0"], TypeError)

# %% [markdown]
# Unsorted lengths with the default `enforce_sorted=True` never reach a module: `pack_padded_sequence` itself
# refuses them, the same for torch's modules and ours. Sort the batch (and reorder it back), or pass
# `enforce_sorted=False`, which sorts internally and returns everything in your order.

# %%
try:
    pack_padded_sequence(x, LENGTHS)  # lengths [3, 4, 2]: not decreasing
except RuntimeError as err:
    print(f"pack_padded_sequence(x, {LENGTHS.tolist()}) → RuntimeError: {err}")
packed = pack_padded_sequence(x, LENGTHS, enforce_sorted=False)
print(f"enforce_sorted=False → sorted_indices {packed.sorted_indices.tolist()}, and both modules accept it:",
      type(s_lstm(packed)[0]).__name__, type(lstm(packed)[0]).__name__)

# %% [markdown]
# ## 10 · Traps
#
# **`output[-1]` is not the final state of a bidirectional layer** (the most reported confusion, pytorch#3587,
# #7669). Its reverse half is the reverse direction after reading **one** input; the reverse direction ends at index
# 0. The same holds for every cell: here a 2-layer bidirectional LSTM with `proj_size`, so the halves are P wide.

# %%
with torch.no_grad():
    out, (h_n, c_n) = s_lstm(x)  # out [T, N, 2P], h_n [4, N, P], c_n [4, N, H]
assert torch.equal(out[-1, :, :P], h_n[-2]) and torch.equal(out[0, :, P:], h_n[-1])
gap, size = (out[-1, :, P:] - h_n[-1]).abs().max().item(), h_n[-1].abs().max().item()
assert gap > 0.1 * size
print("output[-1, :, :P] == h_n[-2]  ✓ forward direction, last step")
print("output[0, :, P:]  == h_n[-1]  ✓ reverse direction: it ends at index 0")
print(f"output[-1, :, P:] != h_n[-1]  ✗ the reverse direction after one step: max |Δ| = {gap:.4f}, "
      f"for values of at most {size:.4f} (projected states are small)")

# %% [markdown]
# **`batch_first` does not apply to `h0`, `h_n`, `c0`, `c_n`** (pytorch#4145, #19675): only the input and the
# output are batch-first. An `h0` given batch-first is refused, and our message says why.

# %%
s_bf = ScratchGRU(d, H, num_layers=2, batch_first=True)
out_bf, h_n_bf = s_bf(torch.randn(N, T, d))
print(f"batch_first=True: input (N, T, d) = {(N, T, d)} → output {tuple(out_bf.shape)} (N, T, H), "
      f"h_n {tuple(h_n_bf.shape)} (L, N, H): not batch-first")
try:
    s_bf(torch.randn(N, T, d), torch.zeros(N, 2, H))
except RuntimeError as err:
    print(f"h0 given as (N, L, H) → RuntimeError: {err}")

# %% [markdown]
# **`proj_size` shapes** (pytorch#65053, #139582): the projection applies to `h` at every step, so `output`, `h0`
# and `h_n` have P columns, `weight_hh` reads P inputs, and layer 1 reads D·P; the cell state keeps H. A quick way
# to see that the projection is inside the recurrence: `weight_hh_l0` is (4H, P); it could not read an unprojected h.

# %%
print(f"ScratchLSTM({d}, {H}, num_layers=2, bidirectional=True, proj_size={P}):")
print(f"  output {tuple(out.shape)} = (T, N, 2P)   h_n {tuple(h_n.shape)} = (2L, N, P)   c_n {tuple(c_n.shape)} = (2L, N, H)")
print(f"  weight_hh_l0 {tuple(s_lstm.weight_hh_l0.shape)} = (4H, P)   weight_hr_l0 {tuple(s_lstm.weight_hr_l0.shape)} = (P, H)"
      f"   weight_ih_l1 {tuple(s_lstm.weight_ih_l1.shape)} = (4H, 2P)")

# %% [markdown]
# **`lengths` must be a CPU tensor** (pytorch#15567, #43227), even when the data is on a GPU: `pack_padded_sequence`
# refuses lengths on any other device. No GPU is needed to see it: the `meta` device (tensors without data) gets
# the same message a CUDA tensor gets (the GPU cell shows the CUDA one). A list of ints works too.

# %%
try:
    pack_padded_sequence(x, torch.tensor([4, 3, 2], device="meta"))
except RuntimeError as err:
    print(f"lengths on another device → RuntimeError: {err}")
assert torch.equal(pack_padded_sequence(x, [3, 4, 2], enforce_sorted=False).data, packed.data)
print("lengths as a list [3, 4, 2] → the same PackedSequence ✓")

# %% [markdown]
# ## 11 · Play: any configuration
#
# Pick a cell and the constructor arguments: the callback builds the scratch module and torch's with the same
# arguments, runs both on a random input (float64), and prints the shapes of `output`, `h_n` and `c_n`, the
# parameters layer by layer, and their number, checked against torch's. Invalid combinations (`proj_size` on an RNN
# or GRU, `proj_size` ≥ `hidden_size`) give a ⚠ message: both modules refuse them.

# %%
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

# %% [markdown]
# The printing part of the callback: the call's shapes with their meaning, then one line per layer and direction.

# %%
def report_config(s_mod, x, out, h_n, c_n, n_ours, n_torch):
    D, G = (2 if s_mod.bidirectional else 1), CELL_STEPS[s_mod.mode][0]
    unbatched, layout = x.dim() == 2, "(N, T, d)" if s_mod.batch_first else "(T, N, d)"
    names = ("(T, d)", "(T, D·H_out)", "(D·L, H_out)", "(D·L, H)") if unbatched else (
        layout, layout.replace("d)", "D·H_out)"), "(D·L, N, H_out)", "(D·L, N, H)")
    print(f"{s_mod}   G = {G} gate{'s' if G > 1 else ''}, D = {D}")
    print(f"  input {tuple(x.shape)} {names[0]} → output {tuple(out.shape)} {names[1]}, h_n {tuple(h_n.shape)} {names[2]}"
          + (f", c_n {tuple(c_n.shape)} {names[3]}" if c_n is not None else ""))
    for k in range(s_mod.num_layers):
        for sfx in ("", "_reverse")[:D]:
            params = [(n.split("_l")[0], tuple(p.shape)) for n, p in s_mod.named_parameters() if n.endswith(f"_l{k}{sfx}")]
            print(f"  l{k}{sfx:<9} " + "  ".join(f"{n} {s}" for n, s in params))
    verdict = "✓ equal" if n_ours == n_torch else "✗ differs from"
    print(f"  {n_ours:,} parameters: {verdict} nn.{s_mod.mode.split('_')[0]}'s {n_torch:,}; output and h_n equal torch's ✓")
    assert n_ours == n_torch
    return {"output": tuple(out.shape), "h_n": tuple(h_n.shape), "c_n": None if c_n is None else tuple(c_n.shape),
            "parameters": n_ours}

# %% [markdown]
# The widget (change anything; it recomputes each time):

# %%
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

# %% [markdown]
# The same callback in plain cells, so that an error inside it cannot hide in the widget: the defaults, extremes
# (one unit, one step, three layers with projection, unbatched batch-first), and the two invalid combinations.

# %%
result = show_config()
assert result == {"output": (4, 3, 12), "h_n": (4, 3, 6), "c_n": (4, 3, 6), "parameters": 1584}

# %%
assert show_config("GRU", 1, 1, 1, False, False, False, 0, 1, 1)["parameters"] == 6
assert show_config("LSTM", 8, 8, 3, True, True, True, 7, 4, 6)["h_n"] == (6, 4, 7)
assert show_config("RNN_RELU", 3, 4, 2, True, True, True, 0, 2, 5, unbatched=True)["output"] == (5, 8)

# %%
assert show_config("GRU", proj_size=2) is None
assert show_config("LSTM", hidden_size=4, proj_size=4) is None

# %% [markdown]
# ## 12 · Exercises
#
# Each exercise has a function to fill in and a checker (collapsed) that runs it and says **what** is wrong.
# Replace `...` by your code, run the cell and the checker again.
#
# **Exercise 1: predict the shapes.** Without running a module, return the shapes of `output`, `h_n` and `c_n`
# (`None` for an RNN or GRU) as tuples, for a call with `T` steps and `N` sequences (`unbatched`: one sequence of
# shape (T, input_size)). The checker compares with torch on many configurations.

# %%
def predict_shapes(mode, T, N, input_size, hidden_size, num_layers=1, bidirectional=False, batch_first=False,
                   proj_size=0, unbatched=False):
    ...  # your code here: return {"output": (...), "h_n": (...), "c_n": (...) or None}

# %% hidden
SHAPE_CASES = [("RNN_TANH", 4, 3, 5, 6, {}), ("GRU", 4, 3, 5, 6, {"num_layers": 2, "bidirectional": True}),
               ("LSTM", 5, 2, 3, 7, {"batch_first": True, "num_layers": 3}),
               ("LSTM", 4, 3, 5, 6, {"proj_size": 2, "num_layers": 2, "bidirectional": True}),
               ("GRU", 6, 4, 2, 3, {"batch_first": True, "bidirectional": True}),
               ("LSTM", 3, 1, 4, 5, {"unbatched": True, "proj_size": 3, "bidirectional": True, "batch_first": True}),
               ("RNN_RELU", 2, 5, 3, 4, {"unbatched": True, "num_layers": 2})]


def check_predict_shapes(fn):
    """Compare fn's shapes with those torch returns for SHAPE_CASES. Returns True/False."""
    for mode, T_, N_, d_, H_, opts in SHAPE_CASES:
        TorchClass, _, extra = TWINS[mode]
        kw = {k: v for k, v in opts.items() if k != "unbatched"}
        unb, bf = opts.get("unbatched", False), opts.get("batch_first", False)
        with torch.random.fork_rng():
            torch.manual_seed(0)
            with torch.no_grad():
                out, st = TorchClass(d_, H_, **kw, **extra)(torch.randn((T_, d_) if unb else (N_, T_, d_) if bf else (T_, N_, d_)))
        h_t, c_t = st if mode == "LSTM" else (st, None)
        want = {"output": tuple(out.shape), "h_n": tuple(h_t.shape), "c_n": None if c_t is None else tuple(c_t.shape)}
        call = f"predict_shapes({mode!r}, T={T_}, N={N_}, input_size={d_}, hidden_size={H_}, " + \
               ", ".join(f"{k}={v}" for k, v in opts.items()) + ")"
        try:
            got = fn(mode, T_, N_, d_, H_, **opts)
        except Exception as err:  # report the learner's error instead of raising it
            print(f"✗ {call} raised {type(err).__name__}: {err}")
            return False
        if got is None:
            print("✗ not done yet: predict_shapes returned None.")
            return False
        if not isinstance(got, dict) or set(got) != {"output", "h_n", "c_n"}:
            print(f"✗ {call} returned {got!r}: return a dict with the keys 'output', 'h_n', 'c_n'.")
            return False
        for key in ("output", "h_n", "c_n"):
            try:
                g = got[key] if got[key] is None else tuple(int(n) for n in got[key])
            except (TypeError, ValueError):
                print(f"✗ {call}: {key} = {got[key]!r}: give a shape as a tuple of ints, or None for c_n.")
                return False
            if g != want[key]:
                print(f"✗ {call}: {key} should be {want[key]}, you said {g}. Hint: {shape_hint_for(key, g, want[key], opts)}")
                return False
    print(f"✓ predict_shapes is right for all {len(SHAPE_CASES)} configurations (batch_first, bidirectional, proj_size, unbatched).")
    return True


def shape_hint_for(key, got, want, opts):
    if want is None or got is None:
        return "only an LSTM has a cell state: c_n is None for an RNN or GRU, a tuple for the LSTM."
    if key != "output" and opts.get("batch_first") and got is not None and sorted(got) == sorted(want):
        return "batch_first does not apply to h_n and c_n: they stay (D·L, N, ·)."
    if key == "c_n" and opts.get("proj_size"):
        return "the cell state is never projected: c_n has hidden_size columns."
    if opts.get("unbatched") and len(got) != len(want):
        return "unbatched input (T, d) gives 2-D results: no batch axis, and batch_first is ignored."
    return "D = 2 if bidirectional; output has D·H_out columns, h_n has D·num_layers rows; H_out = proj_size or hidden_size."


exercise_1_passed = check_predict_shapes(predict_shapes)

# %% [markdown]
# **Exercise 2: the number of parameters.** Return the number of parameters of a module built with these
# arguments, from the formula of section 3 (no module allowed). `mode` is `"RNN_TANH"`, `"RNN_RELU"`, `"LSTM"` or
# `"GRU"`.

# %%
def count_parameters(mode, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False, proj_size=0):
    ...  # your code here: return an int

# %% hidden
COUNT_CASES = [("RNN_TANH", 10, 20, {}), ("GRU", 10, 20, {}), ("LSTM", 10, 20, {}),
               ("GRU", 5, 6, {"bias": False}), ("RNN_RELU", 5, 6, {"num_layers": 3}),
               ("GRU", 4, 3, {"num_layers": 2, "bidirectional": True}),
               ("LSTM", 10, 20, {"num_layers": 2, "bidirectional": True, "proj_size": 5}),
               ("LSTM", 3, 7, {"num_layers": 3, "proj_size": 2, "bias": False})]


def check_count_parameters(fn):
    """Compare fn with the number of parameters of torch's module for COUNT_CASES. Returns True/False."""
    for mode, d_, H_, opts in COUNT_CASES:
        TorchClass, _, extra = TWINS[mode]
        want = sum(p.numel() for p in TorchClass(d_, H_, **opts, **extra).parameters())
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
        if got != want:
            G = CELL_STEPS[mode][0]
            D, H_out = 2 if opts.get("bidirectional") else 1, opts.get("proj_size") or H_
            if opts.get("num_layers", 1) > 1 and got < want:
                hint = f"layers k > 0 read the layer below, D·H_out = {D * H_out} inputs, not input_size."
            elif opts.get("proj_size"):
                hint = "with proj_size: weight_hh is (G·H, P), and every layer-direction adds weight_hr (P, H)."
            elif not opts.get("bias", True):
                hint = "bias=False removes both bias vectors, bias_ih and bias_hh."
            else:
                hint = f"per layer-direction: G·H·(d_k + H_out) weights + 2·G·H biases, with G = {G} for {mode}."
            print(f"✗ {call} returned {got}, torch's module has {want}. Hint: {hint}")
            return False
    print(f"✓ count_parameters matches torch on all {len(COUNT_CASES)} configurations.")
    return True


exercise_2_passed = check_count_parameters(count_parameters)

# %% [markdown]
# **Exercise 3: the GRU step for the core.** Without looking back at section 2, write the GRU's step function from the
# recap's equations, with the core's signature: `gi` [N, 3H] is $x W_{ih}^\top + b_{ih}$ (chunks r, z, n), `h`
# [N, H], `c` is `None`, `w_hh` [3H, H], `b_hh` [3H] or `None`; return `(h', None)`. The checker tries one step
# against `nn.GRUCell`, names the usual mistakes, then plugs your step into the core (a 2-layer bidirectional
# `ScratchGRU` with `bias=False`, so `b_hh` is `None`, on packed input) and runs `parity` against `nn.GRU`,
# gradients included.

# %%
def my_gru_step(gi, h, c, w_hh, b_hh):
    ...  # your code here: return (h_new, None)

# %% hidden
def check_gru_step(fn):
    """One step against nn.GRUCell (with known mistakes named), then the whole core against nn.GRU. True/False."""
    with torch.random.fork_rng():
        torch.manual_seed(21)
        cell, x_, h_ = nn.GRUCell(4, 3, dtype=f64), torch.randn(2, 4, dtype=f64), torch.randn(2, 3, dtype=f64)
        big = nn.GRU(4, 3, 2, bias=False, bidirectional=True, dtype=f64)
        x_big, h_big = torch.randn(5, 3, 4, dtype=f64), torch.randn(4, 3, 3, dtype=f64)
    gi = F.linear(x_, cell.weight_ih, cell.bias_ih)
    w_n, b_n = cell.weight_hh[6:], cell.bias_hh[6:]  # the n block of W_hh, b_hh
    with torch.no_grad():
        want = cell(x_, h_)
        try:
            got = fn(gi, h_, None, cell.weight_hh, cell.bias_hh)
        except Exception as err:  # report the learner's error instead of raising it
            print(f"✗ my_gru_step raised {type(err).__name__}: {err}")
            return False
        if got is None:
            print("✗ not done yet: my_gru_step returned None.")
            return False
        if not (isinstance(got, tuple) and len(got) == 2 and isinstance(got[0], torch.Tensor) and got[1] is None):
            print("✗ return a pair (h_new, None): the core unpacks h, c = step(...), and a GRU has no c.")
            return False
        if tuple(got[0].shape) != (2, 3):
            print(f"✗ h_new has shape {tuple(got[0].shape)}, expected (N, H) = (2, 3).")
            return False
        x_r, x_z, x_n = gi.chunk(3, -1)
        h_r, h_z, h_n = F.linear(h_, cell.weight_hh, cell.bias_hh).chunk(3, -1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        mistakes = {
            "r multiplies h before the product (Cho et al.'s paper form): torch computes n = tanh(x_n + r·(h W_hnᵀ + b_hn))":
                (1 - z) * torch.tanh(x_n + F.linear(r * h_, w_n, b_n)) + z * h_,
            "b_hn is added outside r: it belongs inside, r·(h W_hnᵀ + b_hn)":
                (1 - z) * torch.tanh(x_n + b_n + r * (h_n - b_n)) + z * h_,
            "z and 1 − z are swapped: h' = (1 − z)·n + z·h (z = 1 keeps the old state)":
                z * torch.tanh(x_n + r * h_n) + (1 - z) * h_,
            "r and z are swapped: torch's chunk order is r, z, n":
                (1 - r) * torch.tanh(x_n + z * h_n) + r * h_,
        }
    for hint, wrong in mistakes.items():
        if torch.allclose(got[0], wrong, rtol=0, atol=1e-12):
            print(f"✗ {hint}.")
            return False
    if not torch.allclose(got[0], want, rtol=0, atol=1e-12):
        print("✗ h_new differs from nn.GRUCell's (max |Δ| = "
              f"{(got[0] - want).abs().max().item():.4f}): check each gate against the recap's equations.")
        return False
    s_big = twin(big)
    s_big.cell_step = fn  # plug the learner's step into the core
    try:
        n = parity(big, s_big, x_big, h_big, torch.tensor([5, 2, 4]), **EXACT)
    except Exception as err:  # report what breaks inside the core
        print(f"✗ one step is right, but in the core (2 layers, bidirectional, packed, bias=False so b_hh is None) "
              f"{type(err).__name__}: {str(err).splitlines()[0]}")
        return False
    print(f"✓ my_gru_step equals nn.GRUCell, and in the core it matches nn.GRU (bias=False too): {n} tensors, "
          "gradients included.")
    return True


exercise_3_passed = check_gru_step(my_gru_step)

# %% [markdown]
# ## 13 · On a GPU
#
# The same `parity` on CUDA when there is one, where torch runs **cuDNN**: each cell with 2 layers, bidirectional,
# batched and packed input, in float64 (as tight as on the CPU; float32 would need TF32 switched off, lesson 05).
# The packed input's **lengths stay on the CPU**; the cell shows what CUDA lengths give. Without a GPU it prints
# one line and steps aside.

# %%
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    for label, (mode, extra) in MODES.items():
        TorchClass, _, mode_kw = TWINS[mode]
        t_gpu = TorchClass(d, H, 2, bidirectional=True, device=DEVICE, dtype=f64, **mode_kw, **extra)
        s_gpu = twin(t_gpu)
        for kind in ("batched", "packed"):
            n = parity(t_gpu, s_gpu, *random_call(t_gpu, kind, True), LENGTHS if kind == "packed" else None, **EXACT)
            print(f"✓ {torch.cuda.get_device_name()} float64 {label:<15} {kind:<8}: {n} tensors match (|Δ| ≤ 1e-12)")
    try:
        pack_padded_sequence(torch.randn(T, N, d, device=DEVICE), LENGTHS.to(DEVICE), enforce_sorted=False)
    except RuntimeError as err:
        print(f"lengths on the GPU → RuntimeError: {err}")
else:
    print("No GPU here: skipped (this cell repeats the parity check against cuDNN when a GPU is present).")

# %% [markdown]
# ## 14 · Summary
#
# | | |
# |---|---|
# | the design | one core `ScratchRNNBase(mode, …)` (parameters, layers × directions × time, masking, dropout, checks) + a step function per mode; `ScratchRNN`, `ScratchLSTM`, `ScratchGRU` are constructors only, as `nn.RNN`, `nn.LSTM`, `nn.GRU` subclass `nn.RNNBase` |
# | step signature | `step(gi_t, h, c, weight_hh, bias_hh) → (h', c')`, with `gi = F.linear(X, weight_ih, bias_ih)` for all steps at once; `c = None` for RNN, GRU |
# | the cells | RNN: $h' = \varphi(x W_{ih}^\top + b_{ih} + h W_{hh}^\top + b_{hh})$; LSTM: chunks i, f, g, o, $c' = \sigma(f) c + \sigma(i)\tanh(g)$, $h' = \sigma(o)\tanh(c')$; GRU: chunks r, z, n, $n = \tanh(x_n + r \odot (h W_{hn}^\top + b_{hn}))$, $h' = (1-z) n + z h$ |
# | proj_size (LSTM) | $h' \leftarrow h' W_{hr}^\top$ at every step, inside the recurrence; `h0`, `h_n`, `output` have P columns, `c0`, `c_n` keep H |
# | parameters | per layer k, direction: `weight_ih_l{k}` (G·H, $d_k$), `weight_hh_l{k}` (G·H, $H_{out}$), `bias_ih_l{k}`, `bias_hh_l{k}` (G·H), `weight_hr_l{k}` (P, H), `_reverse` after forward; $d_k$ = D·$H_{out}$ for k > 0; all $U(-1/\sqrt{H}, 1/\sqrt{H})$ |
# | count | $\sum_{k, \text{dir}} G H (d_k + H_{out}) + 2 G H [\text{bias}] + P H$; LSTM(10, 20) = 2560, GRU(10, 20) = 1920, RNN(10, 20) = 640 |
# | shapes | output (T, N, D·$H_{out}$) (`batch_first`: (N, T, ·)); h_n (D·L, N, $H_{out}$), c_n (D·L, N, H): never batch-first; unbatched (T, d) → 2-D everything |
# | final states | `h_n.view(L, D, N, H_out)`; bidirectional: forward `h_n[-2]` = `output[-1, :, :H_out]`, reverse `h_n[-1]` = `output[0, :, H_out:]`, **not** `output[-1]` |
# | packed input | `pack_padded_sequence(x, lengths, enforce_sorted=False)`, lengths on the CPU; from scratch: unpad, mask (`torch.where(t < length, new, old)` for h and c), re-pack as the input was packed |
# | dropout | between layers, training mode only, on the packed data for packed input; eval = dropout 0; with one layer: a warning |
# | parity checked | 480 settings × float64 (≤ 1e-12) and float32: output, h_n, c_n, gradients of input, h0, c0, every parameter; sorted packed input; dropout (output, h_n) with the same seed; init with the same seed; errors of torch's exception types (a clearer `TypeError` on purpose for a wrongly structured `hx` or input) |
#
# **Next:** lesson 09 (long-range memory): the same three layers on a task that needs memory over many steps,
# where the gates make the difference.

# %% [markdown]
# ## Solutions
#
# Collapsed so they stay out of the way: click the cell to expand. Each solution is passed through its checker
# (and must pass); then a deliberately wrong answer shows what the checker says.

# %% solution
def predict_shapes_solution(mode, T, N, input_size, hidden_size, num_layers=1, bidirectional=False,
                            batch_first=False, proj_size=0, unbatched=False):
    D, H_out = (2 if bidirectional else 1), proj_size or hidden_size
    batch = () if unbatched else (N,)
    output = (T, D * H_out) if unbatched else (N, T, D * H_out) if batch_first else (T, N, D * H_out)
    c_n = (D * num_layers, *batch, hidden_size) if mode == "LSTM" else None  # the cell state is not projected
    return {"output": output, "h_n": (D * num_layers, *batch, H_out), "c_n": c_n}  # h_n: never batch-first


def count_parameters_solution(mode, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False, proj_size=0):
    G, D, H_out = CELL_STEPS[mode][0], (2 if bidirectional else 1), proj_size or hidden_size
    total = 0
    for k in range(num_layers):
        d_k = input_size if k == 0 else D * H_out
        total += D * (G * hidden_size * (d_k + H_out) + 2 * G * hidden_size * bias + proj_size * hidden_size)
    return total


def my_gru_step_solution(gi, h, c, w_hh, b_hh):
    x_r, x_z, x_n = gi.chunk(3, -1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, -1)  # h_n includes b_hn: r multiplies it too
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    return (1 - z) * torch.tanh(x_n + r * h_n) + z * h, None


assert check_predict_shapes(predict_shapes_solution)
assert check_count_parameters(count_parameters_solution)
assert check_gru_step(my_gru_step_solution)

# %% solution
# What the checkers say to three common mistakes:
def shapes_batch_first_everywhere(mode, T, N, input_size, hidden_size, num_layers=1, bidirectional=False,
                                  batch_first=False, proj_size=0, unbatched=False):
    right = predict_shapes_solution(mode, T, N, input_size, hidden_size, num_layers, bidirectional, batch_first,
                                    proj_size, unbatched)
    if batch_first and not unbatched:  # the trap: transposing h_n too
        right["h_n"] = (right["h_n"][1], right["h_n"][0], right["h_n"][2])
    return right


def gru_step_paper(gi, h, c, w_hh, b_hh):
    x_r, x_z, x_n = gi.chunk(3, -1)
    h_r, h_z, _ = F.linear(h, w_hh, b_hh).chunk(3, -1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    H_ = h.shape[-1]
    return (1 - z) * torch.tanh(x_n + F.linear(r * h, w_hh[2 * H_:], b_hh[2 * H_:])) + z * h, None


assert not check_predict_shapes(shapes_batch_first_everywhere)
assert not check_count_parameters(lambda mode, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False,
                                  proj_size=0: count_parameters_solution(mode, input_size, hidden_size, 1, bias,
                                                                         bidirectional, proj_size) * num_layers)
assert not check_gru_step(gru_step_paper)
