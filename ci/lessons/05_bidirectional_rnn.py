# %% [markdown]
# # 05 · Bidirectional RNNs and variable-length batches
#
# The RNNs so far read a sequence in one direction: the state at step $t$ knows $X_1 \dots X_t$ and nothing
# after. When the whole sequence is there before you start (a sentence to tag, a recording to classify), a
# second RNN can read it **backwards**, from $X_T$ to $X_1$, and each step gets both halves: what came before
# and what comes after. That is a **bidirectional** RNN, `nn.RNN(..., bidirectional=True)`.
#
# In this lesson you build the reverse pass and the concatenation, find out which slice of `output` equals which
# row of `h_n` (a much reported confusion about `nn.RNN`, e.g. pytorch/pytorch#3587, #7669), and then batch sequences of **different lengths**
# with `pack_padded_sequence`. At the end `ScratchRNN` is complete: every argument of `nn.RNN`'s constructor (with
# lesson 04's checks and warning), batched, unbatched and packed input, and checked equal to torch, values and gradients, in every combination.
#
# **You should know:** lessons 01–02 (the step, `nn.RNN`'s `output` and `h_n`, `batch_first`, the parity check)
# and lesson 04 (stacked layers, dropout between them); the recap below repeats what this lesson needs.
#
# **Contents:** 1 · recap · 2 · the reverse pass · 3 · which slice is the final state? · 4 · deep and
# bidirectional · 5 · `ScratchRNN`, complete · 6 · parity, every combination · 7 · variable-length batches ·
# 8 · where a bidirectional net may be used · 9 · play with the lengths · 10 · exercises · 11 · on a GPU ·
# 12 · summary · solutions

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
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # only the GPU cell uses it

# %% [markdown]
# ## 1 · Recap: lessons 02 and 04
#
# | | shape | what it is |
# |---|---|---|
# | X | [T, N, d] | T steps of a batch of N sequences, d features each (`batch_first=True`: [N, T, d]) |
# | the step | $H_t = \varphi(X_t W_{xh} + H_{t-1} W_{hh} + b)$ | $W_{xh}$ = `weight_ih_l0.T` [d, h], $W_{hh}$ = `weight_hh_l0.T` [h, h], $b$ = `bias_ih_l0 + bias_hh_l0` |
# | output | [T, N, h] | the top layer's states $H_1 \dots H_T$: maths step t is `output[t-1]` (index 0 is step 1) |
# | h_n | [num_layers, N, h] | the last state of every layer; `h_n[-1]` is the top layer's; never batch-first |
# | layer k > 0 | input [T, N, h] | takes the outputs of layer k − 1 as its inputs (`weight_ih_l1` is [h, h]) |
# | dropout | between layers | on the output of every layer but the last, in training mode only |
#
# We use four **different** sizes, T = 5, N = 3, d = 4, h = 3, so that a mix-up of dimensions shows up as a shape
# error instead of hiding; `check` (lesson 02) asserts closeness and prints a one-line verdict. One convention
# for the whole lesson: the maths counts steps 1 … T, Python indexes from 0, so **maths step t is `output[t-1]`**
# (index 0 is step 1, index T−1 is step T).

# %%
T, N, d, h = 5, 3, 4, 3
EXACT = {"atol": 1e-12, "rtol": 0.0}  # float64: equal up to rounding


def check(label, ours, theirs, **tol):
    """Assert that ours equals theirs within tolerance, then print a one-line verdict."""
    torch.testing.assert_close(ours, theirs, **tol)
    how = ("within float32 defaults" if not tol else "bit for bit" if tol.get("atol") == tol.get("rtol") == 0
           else f"|Δ| ≤ {tol.get('atol', 0):.0e}")
    print(f"✓ {label:<48} matches, {how}")


X = torch.randn(T, N, d, dtype=torch.float64)
uni = nn.RNN(d, h, dtype=torch.float64)  # one layer, one direction, as in lesson 02
with torch.no_grad():
    out_uni, hn_uni = uni(X)
print(f"X {list(X.shape)} → output {list(out_uni.shape)}, h_n {list(hn_uni.shape)}")

# %% [markdown]
# ## 2 · The reverse pass
#
# A bidirectional layer holds **two** RNNs with their own weights. The forward one reads $X_1 \to X_T$ as before.
# The reverse one reads $X_T \to X_1$: its first step takes $X_T$ and its initial state, its last step takes $X_1$.
# We write its states with a left arrow, $\overleftarrow{H}_t$, indexed by the step **of the input** it has just
# read, so that $\overleftarrow{H}_t$ sits at position $t$ next to $\overrightarrow{H}_t$:
#
# $$\overrightarrow{H}_t = \varphi(X_t \overrightarrow{W}_{xh} + \overrightarrow{H}_{t-1} \overrightarrow{W}_{hh} + \overrightarrow{b}),
# \qquad \overleftarrow{H}_t = \varphi(X_t \overleftarrow{W}_{xh} + \overleftarrow{H}_{t+1} \overleftarrow{W}_{hh} + \overleftarrow{b})$$
#
# and the output at step $t$ is the two side by side: $O_t = [\overrightarrow{H}_t,\ \overleftarrow{H}_t]$, [N, 2h].
# So `output` is [T, N, 2h]: the first h columns are the forward direction, the last h the reverse one. The
# reverse direction's **final** state is the one it reaches after reading $X_1$: step 1, index **0**, `output[0]`.
#
# The drawing is made by the function below, so it cannot drift from the code.

# %%
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")  # Unicode subscripts (no $…$ mathtext in drawings)


def draw_bidirectional(ax, steps=4):
    """Inputs at the bottom, the forward chain (→), the reverse chain (←), the output [→H_t, ←H_t] on top."""
    green, orange, arrow = "#38761d", "#b45f06", {"arrowstyle": "->"}
    for t in range(1, steps + 1):
        i = str(t).translate(SUB)
        ax.text(t, 0, f"X{i}", ha="center", va="center", bbox={"fc": "#cfe2f3"})
        ax.text(t, 1, f"→H{i}", ha="center", va="center", bbox={"fc": "#d9ead3"})
        ax.text(t, 2, f"←H{i}", ha="center", va="center", bbox={"fc": "#fce5cd"})
        ax.text(t, 3.1, f"output[{t - 1}]\n[→H{i}, ←H{i}]", ha="center", va="center", fontsize=8, bbox={"fc": "#eeeeee"})
        ax.annotate("", (t, 0.75), (t, 0.25), arrowprops=arrow)  # X_t → forward cell
        bend = {**arrow, "connectionstyle": "arc3,rad=0.35"}  # curved, around the other chain's cell
        ax.annotate("", (t + 0.16, 1.8), (t + 0.16, 0.2), arrowprops={**bend, "color": orange})  # X_t → reverse cell
        ax.annotate("", (t - 0.2, 2.9), (t - 0.16, 1.2), arrowprops={**bend, "color": green})  # →H_t to output
        ax.annotate("", (t, 2.75), (t, 2.25), arrowprops={**arrow, "color": orange})  # ←H_t to output
        if t < steps:
            ax.annotate("", (t + 0.74, 1), (t + 0.26, 1), arrowprops={**arrow, "color": green})  # →H_t to →H_t+1
            ax.annotate("", (t + 0.26, 2), (t + 0.74, 2), arrowprops={**arrow, "color": orange})  # ←H_t+1 to ←H_t
    ax.text(steps + 0.5, 1, "final → h_n[-2]\n= output[-1, :, :h]", va="center", color=green, fontsize=9)
    ax.text(0.5, 2, "final → h_n[-1]\n= output[0, :, h:]", va="center", ha="right", color=orange, fontsize=9)
    ax.set_xlim(-0.9, steps + 1.9)
    ax.set_ylim(-0.5, 3.6)
    ax.axis("off")
    ax.set_title("bidirectional: the forward chain reads left to right, the reverse chain right to left")


fig, ax = plt.subplots(figsize=(10, 3.6))
draw_bidirectional(ax)
plt.show()

# %% [markdown]
# Now by hand, with two one-direction `nn.RNN`s. The reverse pass is the forward loop run on the **flipped**
# sequence, `X.flip(0)`; its outputs come out in reading order ($\overleftarrow{H}_T$ first), so we flip them back to
# put $\overleftarrow{H}_t$ at position $t$. Then `nn.RNN(bidirectional=True)` with the same weights: the reverse
# direction's parameters carry the suffix `_reverse`.

# %%
torch.manual_seed(1)
fwd_rnn, rev_rnn = nn.RNN(d, h, dtype=torch.float64), nn.RNN(d, h, dtype=torch.float64)
bi = nn.RNN(d, h, bidirectional=True, dtype=torch.float64)
bi.load_state_dict({**fwd_rnn.state_dict(), **{k + "_reverse": v for k, v in rev_rnn.state_dict().items()}})
with torch.no_grad():
    fwd_out, fwd_last = fwd_rnn(X)  # reads X_1 → X_T
    rev_read, rev_last = rev_rnn(X.flip(0))  # reads X_T → X_1
    rev_out = rev_read.flip(0)  # back to input order: position t holds ←H_t
    by_hand = torch.cat([fwd_out, rev_out], -1)  # [T, N, 2h]: forward half first
    output, h_n = bi(X)
print(f"nn.RNN(bidirectional=True): output {list(output.shape)}, h_n {list(h_n.shape)}")
check("output = [forward, reverse (flipped back)]", by_hand, output, **EXACT)
check("h_n = [forward final, reverse final]", torch.cat([fwd_last, rev_last]), h_n, **EXACT)

# %% [markdown]
# ## 3 · Which slice is the final state?
#
# With one direction, `output[-1]` **is** `h_n[-1]`. With two, it is not, and this confusion is reported again and
# again on PyTorch's issue tracker (pytorch/pytorch#3587, #7669). The forward direction ends at the last step, so its final state is the
# first half of `output[-1]` and it is `h_n[-2]`. The reverse direction ends at step **1**, index 0: its final state is
# the second half of `output[0]`, and it is `h_n[-1]`. The second half of `output[-1]` is the reverse direction after
# reading **one** input, $X_T$: its *first* state, not its last.

# %%
assert torch.equal(output[-1, :, :h], h_n[-2])
print("output[-1, :, :h] == h_n[-2]   ✓ forward direction, last step (bit for bit)")
assert torch.equal(output[0, :, h:], h_n[-1])
print("output[0, :, h:]  == h_n[-1]   ✓ reverse direction, its last step is step 1 = index 0 (bit for bit)")
assert not torch.allclose(output[-1, :, h:], h_n[-1])
gap = (output[-1, :, h:] - h_n[-1]).abs().max().item()
print(f"output[-1, :, h:] != h_n[-1]   ✗ the reverse direction after one step only (max |Δ| = {gap:.4f})")

# %% [markdown]
# So for a sequence classifier the final summary of a bidirectional layer is
# `torch.cat([h_n[-2], h_n[-1]], dim=-1)`, [N, 2h], or the same numbers from `output`:
# `torch.cat([output[-1, :, :h], output[0, :, h:]], dim=-1)`. `output[-1]` alone gives you the forward summary and
# a reverse state that has seen one input.

# %%
summary_from_h_n = torch.cat([h_n[-2], h_n[-1]], dim=-1)
summary_from_output = torch.cat([output[-1, :, :h], output[0, :, h:]], dim=-1)
assert torch.equal(summary_from_h_n, summary_from_output)
print(f"sequence summary [N, 2h] = {list(summary_from_h_n.shape)}: from h_n and from output, bit for bit ✓")

# %% [markdown]
# ## 4 · Deep and bidirectional
#
# Stack bidirectional layers (lesson 04) and two things change:
#
# - **layer k > 0 reads 2h features**: its input is the previous layer's output $[\overrightarrow{H}_t, \overleftarrow{H}_t]$,
#   so `weight_ih_l1` is [h, 2h], for both directions of layer 1;
# - **h_n has 2·num_layers rows**, ordered **layer·2 + direction**: `h_n[0]` layer 0 forward, `h_n[1]` layer 0
#   reverse, `h_n[2]` layer 1 forward, … `h_n.view(num_layers, 2, N, h)[k, j]` is layer k, direction j.
#   The top layer's two final states are `h_n[-2]` (forward) and `h_n[-1]` (reverse).
#
# The parameters are registered layer by layer, the forward direction's four before the reverse direction's:

# %%
deep_bi = nn.RNN(d, h, num_layers=2, bidirectional=True, dtype=torch.float64)
for name, p in deep_bi.named_parameters():
    print(f"  {name:<22} {tuple(p.shape)}")
with torch.no_grad():
    out_deep, hn_deep = deep_bi(X)
by_layer = hn_deep.view(2, 2, N, h)  # [layer, direction, N, h]
assert torch.equal(by_layer[1, 0], out_deep[-1, :, :h]) and torch.equal(by_layer[1, 1], out_deep[0, :, h:])
assert torch.equal(by_layer[1, 0], hn_deep[2]) and torch.equal(by_layer[1, 1], hn_deep[-1])
print(f"output {list(out_deep.shape)} (top layer only), h_n {list(hn_deep.shape)}")
print("h_n.view(num_layers, 2, N, h)[1, 0] = h_n[2] = output[-1, :, :h]   ✓ top layer, forward")
print("h_n.view(num_layers, 2, N, h)[1, 1] = h_n[3] = output[0, :, h:]    ✓ top layer, reverse")

# %% [markdown]
# ## 5 · `ScratchRNN`, complete
#
# We build it from small pieces, as PyTorch's own reference code does (`benchmarks/fastrnns/custom_lstms.py`):
# one direction of one layer, which can run reversed; a bidirectional layer is two of them and a concatenation;
# the stack loops over layers. The parameters stay on `ScratchRNN` itself, with torch's names, so
# `load_state_dict` works both ways.
#
# The pieces also take **packed input**, introduced next.

# %% [markdown]
# **A first look at `PackedSequence`.** A batch of sequences of different lengths is padded to one T and packed with
# `pack_padded_sequence(padded, lengths, enforce_sorted=False)`. The result keeps only the real steps: `data`
# [real steps, d], time-major; `batch_sizes[i]`, how many sequences still run at index i; `sorted_indices`, the
# batch order longest first, and `unsorted_indices`, the way back. The scratch layer handles it in three moves:
# **unpad** it (`pad_packed_sequence`), run the padded batch while **masking** the update past each length with
# `torch.where` (a sequence keeps its old state there), and **re-pack** the output. Section 7 explains packing and
# its traps.

# %%
lengths_demo = torch.tensor([2, 5, 3])  # the N = 3 sequences of X are real for 2, 5 and 3 steps
pk = pack_padded_sequence(X, lengths_demo, enforce_sorted=False)
assert pk.data.shape[0] == int(lengths_demo.sum())
print(f"padded X {list(X.shape)}, lengths {lengths_demo.tolist()} → PackedSequence: data {list(pk.data.shape)}, "
      f"batch_sizes {pk.batch_sizes.tolist()},\n  sorted_indices {pk.sorted_indices.tolist()}, "
      f"unsorted_indices {pk.unsorted_indices.tolist()}")
X_back, lengths_back = pad_packed_sequence(pk)  # unpad: original order, zeros past each length
assert torch.equal(lengths_back, lengths_demo) and torch.equal(X_back[:2, 0], X[:2, 0]) and (X_back[2:, 0] == 0).all()
print(f"unpadded {list(X_back.shape)}, lengths {lengths_back.tolist()} ✓ (real steps equal X, padding zero)")

# %% [markdown]
# In the loop, a step at index $t \ge$ length keeps the old state. For the forward direction that freezes the
# state at its last real step; for the reverse direction, which starts at index $T-1$, the state stays at $H_0$
# until the sequence's own last real step, where its pass starts.
#
# First the piece that runs one direction. The input term of all steps is one product (lesson 02, section 5);
# the loop runs over the indices $t = 0 \dots T-1$, or $T-1 \dots 0$ when `reverse`.

# %%
def run_direction(X, H, weights, phi, lengths=None, reverse=False):
    """One layer, one direction. X [T, N, d_k], H = its initial state [N, h] → out [T, N, h], final state [N, h].
    weights: (weight_ih, weight_hh, bias_ih, bias_hh), biases None when bias=False.
    lengths [N, 1] (packed input): at steps t ≥ length a sequence keeps its state."""
    w_ih, w_hh, b_ih, b_hh = weights
    P = X @ w_ih.T + (b_ih if b_ih is not None else 0.0)  # X_t W_xh + b_ih for all steps: [T, N, h]
    b = b_hh if b_hh is not None else 0.0
    out = [None] * X.shape[0]
    for t in (range(X.shape[0] - 1, -1, -1) if reverse else range(X.shape[0])):
        H_new = phi(P[t] + H @ w_hh.T + b)  # H_t = φ(X_t W_xh + b_ih + H_prev W_hh + b_hh)
        H = H_new if lengths is None else torch.where(t < lengths, H_new, H)  # past its length: keep the state
        out[t] = H  # position t, whichever direction: the reverse state ←H_t sits next to →H_t
    return torch.stack(out), H

# %% [markdown]
# The inputs, checked as `nn.RNN` checks them and brought to one layout: **X [T, N, d]** and **H0 [D·L, N, h]**
# (D = 2 directions or 1, L = num_layers). A `PackedSequence` is unpacked with `pad_packed_sequence`, which returns
# the padded batch in the **original** order and the lengths (a CPU int64 tensor); torch keeps `hx` and `h_n` in
# that order too. `pack_like` packs our padded output again with torch's `sorted_indices`, so the returned
# `PackedSequence` is laid out exactly as torch's.

# %%
def rnn_inputs(rnn, input, hx):
    """→ X [T, N, d], H0 [D·L, N, h], lengths (CPU int64 [N], packed input only), unbatched."""
    D, L, h_ = 2 if rnn.bidirectional else 1, rnn.num_layers, rnn.hidden_size
    lengths, unbatched = None, False
    if isinstance(input, PackedSequence):
        X, lengths = pad_packed_sequence(input)  # [T, N, d], original batch order
    elif input.dim() in (2, 3):
        unbatched = input.dim() == 2  # batch_first is ignored for unbatched input, as in torch
        X = input.unsqueeze(1) if unbatched else input.transpose(0, 1) if rnn.batch_first else input
    else:
        raise ValueError(f"expected input (T, d), {'(N, T, d)' if rnn.batch_first else '(T, N, d)'} or a "
                         f"PackedSequence, got a {input.dim()}-D tensor {tuple(input.shape)}")
    if X.shape[-1] != rnn.input_size:
        raise RuntimeError(f"input has {X.shape[-1]} features in its last dimension, expected input_size={rnn.input_size}")
    if X.shape[0] == 0:
        raise RuntimeError("the sequence is empty (T = 0 steps): no step to run, no last state to return")
    if hx is None:
        return X, X.new_zeros(D * L, X.shape[1], h_), lengths, unbatched
    check_hx(rnn, hx, (D * L, h_) if unbatched else (D * L, X.shape[1], h_))
    return X, (hx.unsqueeze(1) if unbatched else hx), lengths, unbatched


def check_hx(rnn, hx, want):
    """Raise a RuntimeError that says what is wrong unless hx has the shape want = (D·L, [N,] h)."""
    got = tuple(hx.shape)
    if got == want:
        return
    hint = ("h0 is never batch-first, even with batch_first=True" if sorted(got) == sorted(want) else
            f"bidirectional: two directions per layer, so 2·num_layers = {want[0]} rows"
            if rnn.bidirectional and got[0] == rnn.num_layers else f"one row per layer and direction, {want[0]} in all")
    raise RuntimeError(f"Expected hidden size {want}, got {got}: {hint}")


def pack_like(padded, lengths, like):
    """Pack padded [T, N, ·] (original order) exactly as the PackedSequence `like` was packed."""
    order = like.sorted_indices  # None when the batch came sorted (enforce_sorted=True)
    if order is not None:
        padded, lengths = padded.index_select(1, order), lengths[order.cpu()]
    data = pack_padded_sequence(padded, lengths).data
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)

# %% [markdown]
# Dropout between layers (lesson 04): on the output of every layer but the last, in training mode only. torch
# draws the mask for packed input on the packed data (one row per real step), so we do the same: same seed, same
# mask. Then the module. Per layer: the forward direction, the reverse one, their outputs concatenated
# **forward first** (`torch.cat([out_fwd, out_rev], dim=-1)`), their final states appended in the order
# layer·2 + direction.

# %%
def dropout_between_layers(X, p, lengths, like):
    """F.dropout on a layer's output [T, N, ·]; for packed input, on the packed data, as torch does."""
    if like is None:
        return F.dropout(X, p, training=True)
    packed = pack_like(X, lengths, like)
    dropped = PackedSequence(F.dropout(packed.data, p, training=True), *packed[1:])
    return pad_packed_sequence(dropped, total_length=X.shape[0])[0]

# %% [markdown]
# The module's constructor takes `nn.RNN`'s arguments, with the same names and defaults, and registers torch's
# parameters in torch's order: per layer, the forward direction's four, then the reverse direction's four.

# %%
class ScratchRNN(nn.Module):
    """nn.RNN from scratch: layers × directions of H_t = φ(X_t W_xh + H_prev W_hh + b), stored as torch stores it."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__()
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        if not 0 <= dropout <= 1:
            raise ValueError(f"dropout should be a number in range [0, 1], got {dropout}")
        if dropout > 0 and num_layers == 1:  # torch's warning, word for word (lesson 04)
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                          f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}")
        self.input_size, self.hidden_size, self.num_layers, self.nonlinearity = input_size, hidden_size, num_layers, nonlinearity
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, float(dropout), bidirectional
        D, kw = 2 if bidirectional else 1, {"device": device, "dtype": dtype}
        for k in range(num_layers):
            for sfx in ("", "_reverse")[:D]:  # per layer: forward direction first, then reverse
                d_k = input_size if k == 0 else D * hidden_size  # layer k > 0 reads both directions of k - 1
                setattr(self, f"weight_ih_l{k}{sfx}", nn.Parameter(torch.empty(hidden_size, d_k, **kw)))
                setattr(self, f"weight_hh_l{k}{sfx}", nn.Parameter(torch.empty(hidden_size, hidden_size, **kw)))
                if bias:
                    setattr(self, f"bias_ih_l{k}{sfx}", nn.Parameter(torch.empty(hidden_size, **kw)))
                    setattr(self, f"bias_hh_l{k}{sfx}", nn.Parameter(torch.empty(hidden_size, **kw)))
        for p in self.parameters():  # torch's init, in registration order: U(-1/√h, 1/√h)
            nn.init.uniform_(p, -1.0 / math.sqrt(hidden_size), 1.0 / math.sqrt(hidden_size))

    def weights(self, k, sfx):
        names = [f"{n}_l{k}{sfx}" for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        return tuple(getattr(self, n) if self.bias or n.startswith("weight") else None for n in names)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, bidirectional={self.bidirectional}"

# %% [markdown]
# `forward` puts the pieces together: the stack over layers, two directions per layer, and the output in the
# form the input came in (packed, unbatched, batch-first or not).

# %%
def scratch_forward(self, input, hx=None):
    X, H0, lengths, unbatched = rnn_inputs(self, input, hx)  # X [T, N, d], H0 [D·L, N, h]
    like = input if lengths is not None else None
    mask = None if lengths is None else lengths.to(X.device)[:, None]  # [N, 1]
    phi = torch.tanh if self.nonlinearity == "tanh" else torch.relu
    D, h_n = (2 if self.bidirectional else 1), []
    for k in range(self.num_layers):
        out_fwd, h_fwd = run_direction(X, H0[k * D], self.weights(k, ""), phi, mask)
        if self.bidirectional:
            out_rev, h_rev = run_direction(X, H0[k * D + 1], self.weights(k, "_reverse"), phi, mask, reverse=True)
            X = torch.cat([out_fwd, out_rev], dim=-1)  # [T, N, 2h]: forward half first
            h_n += [h_fwd, h_rev]  # h_n index layer·2 + direction: forward (0) before reverse (1)
        else:
            X, h_n = out_fwd, h_n + [h_fwd]
        if self.training and self.dropout > 0 and k < self.num_layers - 1:  # never after the top layer
            X = dropout_between_layers(X, self.dropout, lengths, like)
    h_n = torch.stack(h_n)  # [D·L, N, h]
    if like is not None:
        return pack_like(X, lengths, like), h_n
    if unbatched:
        return X.squeeze(1), h_n.squeeze(1)  # (T, D·h) and (D·L, h)
    return (X.transpose(0, 1) if self.batch_first else X), h_n  # h_n is never batch-first


ScratchRNN.forward = scratch_forward

# %% [markdown]
# Same names, shapes and order as `nn.RNN`, and the same initial values from the same seed, for every stack
# tried; with `bias=False` the biases are absent from both. Then `load_state_dict` both ways.

# %%
for kwargs in ({}, {"num_layers": 2, "bidirectional": True}, {"num_layers": 3, "bidirectional": True, "bias": False}):
    torch.manual_seed(2)
    t_init = nn.RNN(d, h, **kwargs)
    torch.manual_seed(2)
    s_init = ScratchRNN(d, h, **kwargs)
    names = [(n, tuple(p.shape)) for n, p in t_init.named_parameters()]
    assert [(n, tuple(p.shape)) for n, p in s_init.named_parameters()] == names
    assert all(torch.equal(a, b) for a, b in zip(s_init.parameters(), t_init.parameters()))
    print(f"✓ {str(kwargs or 'defaults'):<58} {len(names):>2} parameters: same names, shapes, initial values")
print(f"  e.g. layer 1 reverse: weight_ih_l1_reverse {tuple(s_init.weight_ih_l1_reverse.shape)} = [h, 2h]")
scratch, torch_twin = ScratchRNN(d, h, num_layers=2, bidirectional=True), nn.RNN(d, h, num_layers=2, bidirectional=True)
torch_twin.load_state_dict(scratch.state_dict())  # scratch → torch
scratch.load_state_dict(nn.RNN(d, h, num_layers=2, bidirectional=True).state_dict())  # torch → scratch
print("✓ load_state_dict works both ways")

# %% [markdown]
# The usual mistakes with `h0`, side by side: what `nn.RNN` says and what `ScratchRNN` says. A deep bidirectional
# net needs **2·num_layers** initial states, and `h0` is never batch-first. Then lesson 04's two checks: an empty
# sequence, and `dropout` with one layer (torch's warning, caught here so it prints instead of going to stderr).

# %%
bad_calls = [("h0 with num_layers rows, not 2·num_layers", X.float(), torch.zeros(2, N, h)),
             ("h0 batch-first (N, 2·L, h)", X.float(), torch.zeros(N, 4, h)),
             ("wrong feature size", torch.randn(T, N, d + 1), None)]
for label, x, hx in bad_calls:
    print(label)
    for module in (torch_twin, scratch):
        try:
            module(x, hx)
        except (RuntimeError, ValueError) as err:
            print(f"  {type(module).__name__:<10} {type(err).__name__}: {err}")
try:
    scratch(torch.randn(0, N, d))
except RuntimeError as err:
    print(f"empty sequence (T = 0)\n  ScratchRNN RuntimeError: {err}")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    nn.RNN(d, h, dropout=0.5), ScratchRNN(d, h, dropout=0.5)
assert len(caught) == 2 and str(caught[0].message) == str(caught[1].message)
print(f"dropout=0.5 with one layer: both warn, word for word\n  {caught[1].category.__name__}: {caught[1].message}")

# %% [markdown]
# ## 6 · Parity: every combination
#
# `parity` runs torch's module and ours on the same input and state, forward and backward, and asserts that
# everything matches: the output (for packed input: the packed `.data`, its index tensors and the padded,
# unpacked output), `h_n`, and the gradients with respect to the input, `h0` and every parameter. As in lesson 02,
# random upstream gradients `g1`, `g2` weigh every entry differently, so a mistake anywhere shows. `lengths`
# given means: pack the input with them (unsorted, so `enforce_sorted=False`) and feed the `PackedSequence`.

# %%
def parity(torch_rnn, scratch_rnn, x, hx=None, lengths=None, **tol):
    """Run both forward and backward; assert outputs, h_n and every gradient match. Return the count."""
    x_t, x_s = x.clone().requires_grad_(), x.clone().requires_grad_()
    h_t, h_s = (hx.clone().requires_grad_(), hx.clone().requires_grad_()) if hx is not None else (None, None)
    in_t, in_s = x_t, x_s
    if lengths is not None:  # x is padded, in the module's layout: pack it (the same way for both)
        in_t, in_s = [pack_padded_sequence(v, lengths, batch_first=torch_rnn.batch_first, enforce_sorted=False)
                      for v in (x_t, x_s)]
    (out_t, hn_t), (out_s, hn_s) = torch_rnn(in_t, h_t), scratch_rnn(in_s, h_s)
    pairs = []
    if lengths is not None:
        for name in ("batch_sizes", "sorted_indices", "unsorted_indices"):
            assert torch.equal(getattr(out_s, name), getattr(out_t, name)), f"packed output: {name} differs"
        pairs.append(("padded output", pad_packed_sequence(out_s)[0], pad_packed_sequence(out_t)[0]))
        out_t, out_s = out_t.data, out_s.data  # the packed data: one row per real step
    pairs += [("output", out_s, out_t), ("h_n", hn_s, hn_t)]
    g1, g2 = torch.randn_like(out_t), torch.randn_like(hn_t)  # random upstream gradients
    ((out_t * g1).sum() + (hn_t * g2).sum()).backward()
    ((out_s * g1).sum() + (hn_s * g2).sum()).backward()
    pairs.append(("grad input", x_s.grad, x_t.grad))
    if hx is not None:
        pairs.append(("grad h0", h_s.grad, h_t.grad))
    torch_params = dict(torch_rnn.named_parameters())
    pairs += [(f"grad {n}", p.grad, torch_params[n].grad) for n, p in scratch_rnn.named_parameters()]
    for name, ours, theirs in pairs:
        torch.testing.assert_close(ours, theirs, **tol, msg=lambda m, name=name: f"{name} differs: {m}")
    return len(pairs)

# %% [markdown]
# `twin` makes a `ScratchRNN` with a torch module's settings and a copy of its weights (torch → scratch), and
# `LENGTHS` are the lengths used for packed input below: unsorted, the longest equal to T.

# %%
def twin(torch_rnn):
    """A ScratchRNN with torch_rnn's settings, dtype, device and a copy of its weights (torch → scratch)."""
    w = torch_rnn.weight_ih_l0
    s = ScratchRNN(torch_rnn.input_size, torch_rnn.hidden_size, torch_rnn.num_layers, torch_rnn.nonlinearity,
                   torch_rnn.bias, torch_rnn.batch_first, torch_rnn.dropout, torch_rnn.bidirectional,
                   device=w.device, dtype=w.dtype)
    s.load_state_dict(torch_rnn.state_dict())
    return s


LENGTHS = torch.tensor([3, 5, 2])  # for packed input: unsorted, the longest = T

# %% [markdown]
# The grid, in **float64** with |Δ| ≤ 1e-12: num_layers 1–3 × one or two directions × `batch_first` × bias,
# and for each, six runs: batched, unbatched and packed input, each with `h0` given and omitted. 144 runs; each
# entry is the number of tensors asserted equal. The weights go scratch → torch here (`twin` goes the other way).

# %%
KINDS = [(kind, give_h0) for kind in ("batched", "unbatched", "packed") for give_h0 in (True, False)]
print(f"{'':<35}" + "".join(f"{k:<16}" for k in ("batched", "unbatched", "packed")).rstrip())
print(f"{'L':<3}{'bidir':<7}{'batch_first':<13}{'bias':<12}" + "".join(f"{c:<8}" for c in ("h0", "None") * 3).rstrip())
for L in (1, 2, 3):
    for bidir in (False, True):
        for batch_first in (False, True):
            for bias in (True, False):
                kw = {"num_layers": L, "bidirectional": bidir, "batch_first": batch_first, "bias": bias,
                      "dtype": torch.float64}
                marks = []
                for kind, give_h0 in KINDS:
                    s_rnn, t_rnn = ScratchRNN(d, h, **kw), nn.RNN(d, h, **kw)
                    t_rnn.load_state_dict(s_rnn.state_dict())  # scratch → torch
                    shape = (T, d) if kind == "unbatched" else (N, T, d) if batch_first else (T, N, d)
                    x = torch.randn(*shape, dtype=torch.float64)
                    D = 2 if bidir else 1
                    h0 = torch.randn(*((D * L, h) if kind == "unbatched" else (D * L, N, h)), dtype=torch.float64)
                    n = parity(t_rnn, s_rnn, x, h0 if give_h0 else None, LENGTHS if kind == "packed" else None, **EXACT)
                    marks.append(f"{n} ✓")
                print(f"{L:<3}{str(bidir):<7}{str(batch_first):<13}{str(bias):<12}" + "".join(f"{m:<8}" for m in marks).rstrip())
print("L = num_layers; h0 / None: h0 given / omitted (zeros). Each entry: how many tensors were compared (output,")
print("h_n, for packed also the padded output; gradients of the input, h0 if given, every parameter); ✓ = all of")
print("them asserted equal to nn.RNN's, |Δ| ≤ 1e-12, and for packed input the index tensors equal too.")

# %% [markdown]
# Three more settings: `nonlinearity="relu"`; **dropout** between layers in training mode (same seed before each
# call, so torch and we draw the same masks), and in evaluation mode, where dropout does nothing; and **float32**
# on a deep bidirectional packed run, within `assert_close`'s float32 defaults.

# %%
relu = nn.RNN(d, h, num_layers=2, nonlinearity="relu", bidirectional=True, dtype=torch.float64)
n = parity(relu, twin(relu), torch.randn(T, N, d, dtype=torch.float64), None, LENGTHS, **EXACT)
print(f"✓ relu, 2 layers, bidirectional, packed: {n} tensors match, |Δ| ≤ 1e-12")
for L, lengths in ((2, None), (3, LENGTHS)):
    drop = nn.RNN(d, h, num_layers=L, dropout=0.5, bidirectional=True, dtype=torch.float64)
    x, s_drop = torch.randn(T, N, d, dtype=torch.float64), twin(drop)
    with torch.random.fork_rng():  # the same random numbers for both: torch.manual_seed(7) inside each call
        torch.manual_seed(7)
        out_t = drop(x if lengths is None else pack_padded_sequence(x, lengths, enforce_sorted=False))[0]
        torch.manual_seed(7)
        out_s = s_drop(x if lengths is None else pack_padded_sequence(x, lengths, enforce_sorted=False))[0]
    how = "batched" if lengths is None else "packed"
    check(f"dropout=0.5, train, {L} layers, {how}", out_s if lengths is None else out_s.data,
          out_t if lengths is None else out_t.data, **EXACT)
drop.eval()
s_drop.eval()
no_drop = nn.RNN(d, h, num_layers=3, bidirectional=True, dtype=torch.float64)
no_drop.load_state_dict(drop.state_dict())
with torch.no_grad():
    check("dropout=0.5, eval mode = no dropout", s_drop(x)[0], no_drop(x)[0], **EXACT)
rnn32 = nn.RNN(d, h, num_layers=2, bidirectional=True)
n = parity(rnn32, twin(rnn32), torch.randn(T, N, d), torch.randn(4, N, h), LENGTHS)
print(f"✓ float32, 2 layers, bidirectional, packed: {n} tensors match within the float32 defaults")

# %% [markdown]
# ## 7 · Variable-length batches
#
# Real sequences have different lengths: sentences of 3, 5, 2 and 4 words. A tensor needs one T, so we **pad** the
# short ones (with zeros) to the longest. But an RNN that reads the padding keeps updating its state on
# meaningless zeros: the forward state of a 3-word sentence would be its state after 5 steps, and the reverse
# direction would start reading at the padding instead of at the sentence's last word.
#
# `pack_padded_sequence(x, lengths)` tells the RNN the lengths. It stores only the real steps, **time-major**:
# all sequences' index 0, then the index 1 of those that have one, …; `batch_sizes[t]` says how many sequences are
# still running at index t. For that the sequences must be sorted longest first. By default
# (`enforce_sorted=True`) torch insists that *you* sort them; with `enforce_sorted=False` it sorts them itself
# and remembers the permutation in `sorted_indices` (original positions, longest first) and `unsorted_indices`,
# its **inverse** (`sorted_indices[unsorted_indices] == arange(N)`), so that everything you get back is in your
# original order. `lengths` must be a CPU int64 tensor (or a list), even when `x` is on a GPU.

# %%
LENGTHS_4 = torch.tensor([3, 5, 2, 4])  # a batch of 4 sequences for this section
x_pad = torch.randn(T, 4, d, dtype=torch.float64)  # [T, 4, d]; sequence b is real for t < LENGTHS_4[b]
for b, L_b in enumerate(LENGTHS_4.tolist()):
    x_pad[L_b:, b] = 0.0  # the padding
try:
    pack_padded_sequence(x_pad, LENGTHS_4)  # enforce_sorted=True: lengths [3, 5, 2, 4] are not sorted
except (RuntimeError, ValueError) as err:
    print(f"enforce_sorted=True  → {type(err).__name__}: {err}")
packed = pack_padded_sequence(x_pad, LENGTHS_4, enforce_sorted=False)
print(f"enforce_sorted=False → data {list(packed.data.shape)} = {int(LENGTHS_4.sum())} real steps of [d]; "
      f"batch_sizes {packed.batch_sizes.tolist()}")
print(f"  sorted_indices {packed.sorted_indices.tolist()} (longest first), unsorted_indices {packed.unsorted_indices.tolist()}")
assert not torch.equal(packed.sorted_indices, packed.unsorted_indices)
assert torch.equal(packed.sorted_indices[packed.unsorted_indices], torch.arange(4))
print("  sorted_indices[unsorted_indices] == arange(4) ✓ unsorted_indices is the inverse permutation")
sorted_lengths, order = LENGTHS_4.sort(descending=True)
packed_sorted = pack_padded_sequence(x_pad[:, order], sorted_lengths)  # or sort them yourself
assert torch.equal(packed_sorted.data, packed.data) and packed_sorted.sorted_indices is None
print("sorting the batch yourself gives the same data (and no index tensors) ✓")

# %% [markdown]
# Feed the `PackedSequence` to the bidirectional `bi` of section 2. The output comes back packed;
# `pad_packed_sequence` pads it again (zeros after each length) and returns the lengths. And `h_n` now holds
# **each sequence's own last state**: the forward direction's at index length − 1 (its last real step), the reverse
# direction's at index 0 (step 1), where its reverse pass ended after starting at its own last real step.

# %%
with torch.no_grad():
    out_packed, hn_packed = bi(packed)
    out_unpacked, lengths_back = pad_packed_sequence(out_packed)  # [T, N, 2h], original order
assert torch.equal(lengths_back, LENGTHS_4) and lengths_back.dtype == torch.int64
for b, L_b in enumerate(LENGTHS_4.tolist()):
    assert torch.equal(hn_packed[-2, b], out_unpacked[L_b - 1, b, :h])  # forward: its last real step
    assert torch.equal(hn_packed[-1, b], out_unpacked[0, b, h:])  # reverse: index 0 (step 1)
    assert (out_unpacked[L_b:, b] == 0).all()  # padding stays zero
    print(f"sequence {b} (length {L_b}): h_n[-2] = output[{L_b - 1}, {b}, :h] ✓   h_n[-1] = output[0, {b}, h:] ✓")

# %% [markdown]
# **The trap: forgetting to pack.** The padded tensor is a perfectly valid input, so nothing complains; but the
# RNN reads the padding. The forward `h_n` of the short sequences is their state after T steps, and the reverse
# pass of every short sequence starts in the padding, so its output is wrong at every step.

# %%
with torch.no_grad():
    out_naive, hn_naive = bi(x_pad)  # the padded tensor, not packed
gap = (hn_naive - hn_packed).abs().amax(dim=(0, 2))
print("max |h_n(padded) − h_n(packed)| per sequence: " + ", ".join(f"{g:.4f}" for g in gap.tolist()) +
      "   (sequence 1 has no padding)")
try:
    torch.testing.assert_close(hn_naive, hn_packed)
except AssertionError as err:
    print("caught by assert_close:", str(err).splitlines()[0])
assert gap[1] < 1e-12 and gap[0] > 1e-3 and gap[2] > 1e-3 and gap[3] > 1e-3

# %% [markdown]
# `ScratchRNN` on the same `PackedSequence`: its output is a `PackedSequence` laid out exactly as torch's (same
# data, same `batch_sizes` and index tensors), and its `h_n` holds each sequence's own last state. The masking
# line of `run_direction` is what does it (the grid of section 6 asserted the gradients too).

# %%
s_bi = twin(bi)
with torch.no_grad():
    s_out_packed, s_hn_packed = s_bi(packed)
assert isinstance(s_out_packed, PackedSequence)
for name in ("batch_sizes", "sorted_indices", "unsorted_indices"):
    assert torch.equal(getattr(s_out_packed, name), getattr(out_packed, name))
print("✓ ScratchRNN returns a PackedSequence with torch's batch_sizes, sorted_indices, unsorted_indices")
check("packed output .data: ScratchRNN vs nn.RNN", s_out_packed.data, out_packed.data, **EXACT)
check("padded output: ScratchRNN vs nn.RNN", pad_packed_sequence(s_out_packed)[0], out_unpacked, **EXACT)
check("h_n of packed input: ScratchRNN vs nn.RNN", s_hn_packed, hn_packed, **EXACT)
with torch.no_grad():  # a batch sorted by hand, packed with enforce_sorted=True: no index tensors
    check("h_n, batch sorted by hand: ScratchRNN vs nn.RNN", s_bi(packed_sorted)[1], bi(packed_sorted)[1], **EXACT)
    assert s_bi(packed_sorted)[0].sorted_indices is None

# %% [markdown]
# ## 8 · Where a bidirectional net may be used, and where not
#
# The reverse half of `output[t]` has read $X_T, \dots, X_t$: **the future** of step t. That is fine when the whole
# sequence exists before you need an answer: tagging every word of a sentence, classifying a finished recording,
# encoding a sentence to translate. It is not fine when you must answer at step t before $X_{t+1}$ exists:
# streaming (speech recognised while it is spoken), next-step prediction, a language model trained to predict
# the next character, where the reverse half would simply read the answer. The cell changes the inputs after
# index 1 (steps 3 … T) and looks at `output[:2]` (steps 1, 2): the forward half does not move, the reverse half does.

# %%
t_now = 1
x_future = X.clone()
x_future[t_now + 1:] = torch.randn(T - t_now - 1, N, d, dtype=torch.float64)  # other future inputs
with torch.no_grad():
    out_a, out_b = bi(X)[0], bi(x_future)[0]
assert torch.equal(out_a[: t_now + 1, :, :h], out_b[: t_now + 1, :, :h])
moved = (out_a[: t_now + 1, :, h:] - out_b[: t_now + 1, :, h:]).abs().max().item()
assert moved > 1e-3
print(f"inputs after index {t_now} changed:")
print(f"  forward half of output[:{t_now + 1}]: unchanged, bit for bit ✓ (it has only read the past)")
print(f"  reverse half of output[:{t_now + 1}]: moved by up to {moved:.4f} (it has read the future)")

# %% [markdown]
# ## 9 · Play: the lengths of a batch
#
# Three sequences padded to T = 6 steps; a slider sets each one's length. The drawing shows the padded
# `output` as a grid (time across, sequences down): real steps in green, padding in grey, and the two cells each
# sequence's `h_n` comes from: the forward direction's last real step (→, green frame) and the reverse direction's
# index 0, step 1 (←, orange frame). The printout says whether `enforce_sorted=True` would accept these lengths, and checks
# `ScratchRNN` against `nn.RNN` on the packed batch. Try equal lengths, decreasing lengths, and a length of 0.

# %%
def draw_lengths(ax, lengths, T_max):
    """The padded output grid: real steps green, padding grey; where h_n's two directions come from."""
    for b, L_b in enumerate(lengths):
        for t in range(T_max):
            real = t < L_b
            ax.add_patch(plt.Rectangle((t, b), 1, 1, fc="#d9ead3" if real else "#eeeeee", ec="#999999", lw=0.5))
            if not real:
                ax.text(t + 0.5, b + 0.5, "pad", ha="center", va="center", fontsize=8, color="#999999")
        if L_b > 0:
            ax.add_patch(plt.Rectangle((L_b - 1 + 0.06, b + 0.06), 0.88, 0.88, fill=False, ec="#38761d", lw=2.5))
            ax.add_patch(plt.Rectangle((0.14, b + 0.14), 0.72, 0.72, fill=False, ec="#b45f06", lw=2.5))
            ax.text(L_b - 0.5, b + 0.68, "→ h_n", ha="center", va="center", fontsize=8, color="#38761d")
            ax.text(0.5, b + 0.34, "← h_n", ha="center", va="center", fontsize=8, color="#b45f06")
    ax.set_xlim(0, T_max)
    ax.set_ylim(len(lengths), 0)
    ax.set_aspect("equal")
    ax.set_xticks([t + 0.5 for t in range(T_max)], [f"[{t}]" for t in range(T_max)])
    ax.set_yticks([b + 0.5 for b in range(len(lengths))], [f"seq {b} (len {L_b})" for b, L_b in enumerate(lengths)])
    ax.set_title("padded output: green = real step, grey = padding\n"
                 "→ h_n: forward final (index len − 1)   ← h_n: reverse final (index 0)", fontsize=10)


# %% [markdown]
# The batch of the widget (fixed inputs, a fixed bidirectional `nn.RNN`), and `run_lengths`, which packs it with
# the chosen lengths, runs torch and `ScratchRNN`, and asserts that they agree and where each `h_n` comes from.

# %%
T_W = 6
torch.manual_seed(4)
bi_w = nn.RNN(d, h, bidirectional=True, dtype=torch.float64)
x_w = torch.randn(T_W, 3, d, dtype=torch.float64)


def run_lengths(lengths):
    """Pack x_w with these lengths, run nn.RNN and ScratchRNN; assert they agree and where h_n comes from."""
    packed_w = pack_padded_sequence(x_w, lengths, enforce_sorted=False)  # raises for a length of 0
    with torch.no_grad():
        out_w, hn_w = bi_w(packed_w)
        s_out_w, s_hn_w = twin(bi_w)(packed_w)
    torch.testing.assert_close(s_out_w.data, out_w.data, **EXACT)
    torch.testing.assert_close(s_hn_w, hn_w, **EXACT)
    padded_w = pad_packed_sequence(out_w, total_length=T_W)[0]
    for b, L_b in enumerate(lengths.tolist()):
        assert torch.equal(hn_w[0, b], padded_w[L_b - 1, b, :h]) and torch.equal(hn_w[1, b], padded_w[0, b, h:])
    return out_w

# %% [markdown]
# The callback: it calls `run_lengths` (catching torch's refusal), asks `pack_padded_sequence` whether the lengths
# are sorted, prints what it found and draws the grid. It returns a dict, or `None` (with a message) when the
# lengths are invalid.

# %%
def show_lengths(len_0=6, len_1=3, len_2=5):
    """Widget callback: a batch of 3 sequences with these lengths, packed and run. Returns a dict, or None."""
    lengths = torch.tensor([len_0, len_1, len_2])
    try:
        out_w = run_lengths(lengths)
    except (RuntimeError, ValueError) as err:
        print(f"⚠ lengths {lengths.tolist()}: pack_padded_sequence refuses them:\n  {type(err).__name__}: {err}")
        print("  Every sequence needs at least one real step: leave an empty sequence out of the batch.")
        return None
    try:
        pack_padded_sequence(x_w, lengths)  # would enforce_sorted=True accept them?
        sorted_ok = True
    except (RuntimeError, ValueError):
        sorted_ok = False
    print(f"lengths {lengths.tolist()}: {int(lengths.sum())} real steps, {3 * T_W - int(lengths.sum())} padding; "
          f"batch_sizes {out_w.batch_sizes.tolist()}")
    print("enforce_sorted=True: " + ("accepted (lengths do not increase)" if sorted_ok else
                                     "refused (lengths not decreasing): pass enforce_sorted=False or sort the batch"))
    print("forward h_n from indices " + str([L_b - 1 for L_b in lengths.tolist()]) + ", reverse h_n from index 0   "
          "✓ asserted   ScratchRNN equals nn.RNN ✓")
    fig, ax = plt.subplots(figsize=(7, 2.8))
    draw_lengths(ax, lengths.tolist(), T_W)
    plt.tight_layout()
    plt.show()
    return {"lengths": lengths.tolist(), "enforce_sorted_ok": sorted_ok,
            "forward_h_n_step": [L_b - 1 for L_b in lengths.tolist()], "reverse_h_n_step": [0, 0, 0],
            "batch_sizes": out_w.batch_sizes.tolist()}

# %% [markdown]
# The widget (move the sliders; it redraws each time):

# %%
# NBVAL_IGNORE_OUTPUT
lengths_ui = widgets.interactive(
    show_lengths,
    len_0=widgets.IntSlider(value=6, min=0, max=T_W, description="seq 0 length"),
    len_1=widgets.IntSlider(value=3, min=0, max=T_W, description="seq 1 length"),
    len_2=widgets.IntSlider(value=5, min=0, max=T_W, description="seq 2 length"),
)
display(lengths_ui)

# %% [markdown]
# The same callback in plain cells, so that an error inside it cannot hide in the widget: the defaults, the
# extremes (all of length 1, all full, sorted), and invalid lengths.

# %%
result = show_lengths()
assert result["forward_h_n_step"] == [5, 2, 4] and result["reverse_h_n_step"] == [0, 0, 0]
assert result["enforce_sorted_ok"] is False and result["batch_sizes"] == [3, 3, 3, 2, 2, 1]

# %%
assert show_lengths(1, 1, 1)["batch_sizes"] == [3]
full = show_lengths(T_W, T_W, T_W)
assert full["enforce_sorted_ok"] is True and full["batch_sizes"] == [3] * T_W
assert show_lengths(6, 4, 1)["enforce_sorted_ok"] is True

# %%
assert show_lengths(0, 3, 5) is None
assert show_lengths(6, 3, 0) is None

# %% [markdown]
# ## 10 · Exercises
#
# Each exercise has a function to fill in and a checker (collapsed) that runs it and says **what** is wrong. Replace
# `...` by your code and run the cell and the checker again.
#
# **Exercise 1: the final states from `output`.** For a (possibly deep) bidirectional `nn.RNN` with
# `batch_first=False`, `output` is the top layer's [T, N, 2h]. Return the pair `(forward_final, reverse_final)`,
# each [N, h]: the top layer's final state in each direction, taken from `output` alone (the checker compares them
# with `h_n`).

# %%
def final_states(output, hidden_size):
    ...  # your code here: return (forward_final [N, h], reverse_final [N, h])

# %% hidden
def check_final_states(fn):
    """Compare fn's answer with h_n[-2], h_n[-1] of a 2-layer bidirectional nn.RNN. Returns True/False."""
    with torch.random.fork_rng():
        torch.manual_seed(11)
        r, x = nn.RNN(4, 3, num_layers=2, bidirectional=True, dtype=torch.float64), torch.randn(5, 2, 4, dtype=torch.float64)
    with torch.no_grad():
        out, hn = r(x)
    try:
        got = fn(out, 3)
    except Exception as err:  # report the learner's error instead of raising it
        print(f"✗ final_states raised {type(err).__name__}: {err}")
        return False
    if got is None:
        print("✗ not done yet: final_states returned None.")
        return False
    if not (isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(g, torch.Tensor) for g in got)):
        print(f"✗ final_states returned a {type(got).__name__}: return a pair of tensors (forward_final, reverse_final).")
        return False
    f, r_ = got
    for name, g in (("forward_final", f), ("reverse_final", r_)):
        if tuple(g.shape) != (2, 3):
            print(f"✗ {name} has shape {tuple(g.shape)}, expected (N, h) = (2, 3): one state per sequence, h numbers.")
            return False
    def same(a, b):
        return torch.allclose(a, b, rtol=0.0, atol=1e-12)
    if same(f, hn[-1]) and same(r_, hn[-2]):
        print("✗ the two are swapped: the forward direction is the first h columns of output, the reverse the last h.")
    elif not same(f, hn[-2]):
        hint = " (that is output[0]: the forward direction's FIRST step)" if same(f, out[0, :, :3]) else ""
        print(f"✗ forward_final is not h_n[-2]{hint}: the forward direction ends at the last step, output[-1, :, :h].")
    elif same(r_, out[-1, :, 3:]):
        print("✗ reverse_final is output[-1, :, h:]: the reverse direction after reading ONE input. "
              "It ends at step 1, index 0: output[0, :, h:].")
    elif not same(r_, hn[-1]):
        print("✗ reverse_final is not h_n[-1]: the reverse direction's final state is at index 0, in the last h columns.")
    else:
        print("✓ final_states gives h_n[-2] (forward, last step) and h_n[-1] (reverse, index 0).")
        return True
    return False


exercise_1_passed = check_final_states(final_states)

# %% [markdown]
# **Exercise 2: where is a final state in `h_n`?** Return the index into `h_n` (an int) of the final state of
# layer `layer` (0 = bottom), direction `direction` (0 = forward, 1 = reverse) of a bidirectional `nn.RNN` with
# `num_layers` layers. The checker tries every layer and direction for 1 to 4 layers, against torch's `h_n`.

# %%
def hn_index(layer, direction, num_layers):
    ...  # your code here: return an int

# %% hidden
def check_hn_index(fn):
    """Compare fn with the index that torch uses, for every (layer, direction, num_layers ≤ 4). Returns True/False."""
    for L in range(1, 5):
        for layer in range(L):
            for direction in (0, 1):
                call = f"hn_index({layer}, {direction}, num_layers={L})"
                try:
                    got = fn(layer, direction, L)
                except Exception as err:  # report the learner's error instead of raising it
                    print(f"✗ {call} raised {type(err).__name__}: {err}")
                    return False
                if got is None:
                    print("✗ not done yet: hn_index returned None.")
                    return False
                if isinstance(got, torch.Tensor) and got.numel() == 1:
                    got = got.item()
                if isinstance(got, bool) or not hasattr(got, "__index__"):  # int, or a numpy integer
                    print(f"✗ {call} returned {got!r} ({type(got).__name__}): return an int index.")
                    return False
                got = got.__index__()
                want = layer * 2 + direction
                if got != want:
                    hint = ("you ordered h_n direction-major (all forward layers first); torch orders it "
                            "layer-major: layer·2 + direction" if got == direction * L + layer else
                            "h_n.view(num_layers, 2, N, h)[layer, direction] is h_n[layer·2 + direction]")
                    print(f"✗ {call} returned {got}, expected {want}. Hint: {hint}.")
                    return False
    print("✓ hn_index is right for every layer and direction, 1 to 4 layers (h_n index = layer·2 + direction).")
    return True


exercise_2_passed = check_hn_index(hn_index)

# %% [markdown]
# **Before exercise 3: one time step per sequence.** Indexing with two integer tensors pairs them up:
# `out[idx_t, torch.arange(N)]` takes, for each sequence b, its row at index `idx_t[b]`.

# %%
out_demo = torch.arange(T * N).view(T, N, 1)  # [T, N, 1]: the entry at (t, b) is t·N + b
idx_t = torch.tensor([4, 0, 2])  # one time index per sequence
picked = out_demo[idx_t, torch.arange(N)]  # [N, 1]: (4, 0), (0, 1), (2, 2)
assert picked.flatten().tolist() == [4 * N + 0, 0 * N + 1, 2 * N + 2]
print(f"out[{idx_t.tolist()}, arange({N})] → {picked.flatten().tolist()}: one entry per sequence, shape {list(picked.shape)}")

# %% [markdown]
# **Exercise 3: the last real output of each sequence.** You ran a one-direction `nn.RNN` on a padded batch (packed
# with its lengths) and padded the output again: `output` [T, N, h], with zeros after each sequence's length.
# Return [N, h]: for every sequence b, its output at its own last real step, index `lengths[b] − 1`. (That is `h_n[-1]`,
# which the checker compares with; in a model you may only have `output`, e.g. after a layer on top of it.)
# Hint: index with two integer tensors at once, one for the time step and one for the sequence.

# %%
def last_real_outputs(output, lengths):
    ...  # your code here: return a tensor [N, h]

# %% hidden
def check_last_real_outputs(fn):
    """Run a packed nn.RNN (T = 6, N = 4, lengths [4, 6, 1, 3]), compare fn's answer with h_n[-1]. Returns True/False."""
    with torch.random.fork_rng():
        torch.manual_seed(12)
        r, x = nn.RNN(4, 3, dtype=torch.float64), torch.randn(6, 4, 4, dtype=torch.float64)
    lens = torch.tensor([4, 6, 1, 3])
    with torch.no_grad():
        out_p, hn = r(pack_padded_sequence(x, lens, enforce_sorted=False))
        out = pad_packed_sequence(out_p)[0]
    try:
        got = fn(out, lens)
    except IndexError as err:
        print(f"✗ last_real_outputs raised IndexError: {err}\n  Hint: the last real step of sequence b is "
              "lengths[b] − 1 (Python counts from 0); step lengths[b] may not exist.")
        return False
    except Exception as err:  # report the learner's error instead of raising it
        print(f"✗ last_real_outputs raised {type(err).__name__}: {err}")
        return False
    if got is None:
        print("✗ not done yet: last_real_outputs returned None.")
        return False
    if not isinstance(got, torch.Tensor):
        print(f"✗ last_real_outputs returned a {type(got).__name__}: return a tensor [N, h].")
        return False
    if tuple(got.shape) != (4, 3):
        hint = (" output[lengths − 1] picks whole steps for every sequence: pair each time index with its sequence, "
                "output[lengths − 1, torch.arange(N)]" if tuple(got.shape) == (4, 4, 3) else "")
        print(f"✗ the result has shape {tuple(got.shape)}, expected (N, h) = (4, 3).{hint}")
        return False
    if torch.allclose(got, out[-1], rtol=0.0, atol=1e-12):
        print("✗ that is output[-1], the last PADDED step: zeros for every sequence shorter than T. "
              "Use each sequence's own length.")
    elif not torch.allclose(got, hn[-1], rtol=0.0, atol=1e-12):
        print("✗ the values differ from each sequence's output at step lengths[b] − 1.")
    else:
        print("✓ last_real_outputs picks each sequence's last real step (equal to h_n[-1] of the packed run).")
        return True
    return False


exercise_3_passed = check_last_real_outputs(last_real_outputs)

# %% [markdown]
# ## 11 · On a GPU
#
# The same `parity` check, on CUDA when there is one, where `nn.RNN` runs on **cuDNN**, for a deep bidirectional
# net with batched and packed input. For packed input the data moves to the GPU but the **lengths stay on the CPU**
# (`pack_padded_sequence` refuses CUDA lengths). In float64 the comparison is as tight as on the CPU; in float32
# cuDNN would by default use **TF32** (errors ~1e-3), so the cell switches TF32 off and restores the settings
# afterwards. On a machine without a GPU it prints one line and steps aside.

# %%
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    saved_tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # cuDNN's RNN would otherwise use TF32 for float32
    torch.backends.cuda.matmul.allow_tf32 = False  # ScratchRNN's matmuls: full float32 (the default)
    for dtype, tol in [(torch.float64, EXACT), (torch.float32, {})]:
        for lengths in (None, LENGTHS):  # LENGTHS stays a CPU int64 tensor
            t_rnn = nn.RNN(d, h, num_layers=2, bidirectional=True, device=DEVICE, dtype=dtype)
            xg, hg = torch.randn(T, N, d, device=DEVICE, dtype=dtype), torch.randn(4, N, h, device=DEVICE, dtype=dtype)
            n = parity(t_rnn, twin(t_rnn), xg, hg, lengths, **tol)
            print(f"✓ {torch.cuda.get_device_name()} {dtype} {'packed' if lengths is not None else 'batched'}: "
                  f"{n} tensors match ({'|Δ| ≤ 1e-12' if tol else 'float32 defaults, TF32 off'})")
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved_tf32
else:
    print("No GPU here: skipped (this cell repeats the parity check against cuDNN when a GPU is present).")

# %% [markdown]
# ## 12 · Summary
#
# | | |
# |---|---|
# | the two directions | $\overrightarrow{H}_t = \varphi(X_t \overrightarrow{W}_{xh} + \overrightarrow{H}_{t-1} \overrightarrow{W}_{hh} + \overrightarrow{b})$ for t = 1 … T; $\overleftarrow{H}_t = \varphi(X_t \overleftarrow{W}_{xh} + \overleftarrow{H}_{t+1} \overleftarrow{W}_{hh} + \overleftarrow{b})$ for t = T … 1 |
# | torch | `nn.RNN(d, h, num_layers=L, bidirectional=True)`; reverse parameters `weight_ih_l{k}_reverse`, …, registered after the forward ones of layer k |
# | shapes | output (T, N, 2h) = $[\overrightarrow{H}_t, \overleftarrow{H}_t]$, forward half first; h_n (2·L, N, h), index layer·2 + direction: `h_n.view(L, 2, N, h)` |
# | final states | forward `h_n[-2]` = `output[-1, :, :h]`; reverse `h_n[-1]` = `output[0, :, h:]`; **not** `output[-1, :, h:]` |
# | deep | layer k > 0 reads 2h features: `weight_ih_l1` is [h, 2h]; dropout between layers, training mode only |
# | variable lengths | `pack_padded_sequence(x, lengths, enforce_sorted=True)`: sorted lengths or `enforce_sorted=False`; lengths a CPU int64 tensor; `pad_packed_sequence` back |
# | packed h_n | each sequence's own last state: forward at index length − 1, reverse at index 0 (step 1); the padded tensor unpacked gives a wrong h_n |
# | from scratch | mask: `H = torch.where(t < lengths, H_new, H)`; the reverse pass runs over indices T−1 … 0 with the same mask |
# | when to use | the whole sequence is known (tagging, classifying, encoding); never for streaming or next-step prediction |
# | parity checked | 144 settings in float64 (≤ 1e-12): output, h_n, all gradients; relu, dropout, float32; `load_state_dict` both ways |
#
# **Next:** lesson 06 (LSTM): a cell with a memory and gates, which keeps information over many more steps.

# %% [markdown]
# ## Solutions
#
# Collapsed so they stay out of the way: click the cell to expand. Each solution is passed through its
# checker (and must pass); then a deliberately wrong answer shows what the checker says.

# %% solution
def final_states_solution(output, hidden_size):
    return output[-1, :, :hidden_size], output[0, :, hidden_size:]  # forward at the last step, reverse at index 0 (step 1)


def hn_index_solution(layer, direction, num_layers):
    return layer * 2 + direction  # h_n.view(num_layers, 2, N, h)[layer, direction]


def last_real_outputs_solution(output, lengths):
    return output[lengths - 1, torch.arange(output.shape[1])]  # step lengths[b] − 1 of sequence b


assert check_final_states(final_states_solution)
assert check_hn_index(hn_index_solution)
assert check_last_real_outputs(last_real_outputs_solution)

# %% solution
# What the checkers say to three common mistakes:
assert not check_final_states(lambda output, hidden_size: (output[-1, :, :hidden_size], output[-1, :, hidden_size:]))
assert not check_hn_index(lambda layer, direction, num_layers: direction * num_layers + layer)
assert not check_last_real_outputs(lambda output, lengths: output[-1])
