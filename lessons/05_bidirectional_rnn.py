# %% [markdown]
# # 05 · Bidirectional RNNs and variable-length batches
#
# Fill in the blank (an example from *Dive into Deep Learning*, section "Bidirectional Recurrent Neural Networks"):
#
# - "I am \_\_\_."  (happy?)
# - "I am \_\_\_ hungry."  (very? not?)
# - "I am \_\_\_ hungry, and I can eat half a pig."  (very!)
#
# The words **after** the blank decide. An RNN that reads left to right reaches the blank having read "I am"
# and nothing else. A **bidirectional** RNN adds a second RNN that reads the sentence backwards, so every
# position sees both sides: `nn.RNN(..., bidirectional=True)`.
#
# You will build the reverse pass, learn which slice of `output` is the final state (a confusion reported again
# and again to PyTorch), batch sentences of different lengths, and write the reverse pass over such a batch
# yourself. **You should know** lessons 02 (`output`, `h_n`, the parity check) and 04 (stacked layers).

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
# ## 1 · Recap
#
# The step $H_t = \varphi(X_t W_{xh} + H_{t-1} W_{hh} + b)$ is `rnn_step` with torch's weights
# (`weight_ih_l0` = $W_{xh}^\top$), and `parity(scratch, twin, *inputs)` asserts that two modules agree, outputs
# and gradients; `**EXACT` makes a comparison demand |Δ| ≤ 1e-12 (float64: equal up to rounding). All three are
# re-stated, as in lessons 01–04, in the collapsed cell below. We use different sizes everywhere (T = 5 steps,
# N = 3 sequences, d = 7 features, h = 6 units), so a mix-up of two axes raises an error.

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


EXACT = {"atol": 1e-12, "rtol": 0.0}  # float64: equal up to rounding

# %%
T, N, d, h = 5, 3, 7, 6
X = torch.randn(T, N, d, dtype=torch.float64)  # [T, N, d]

# %% [markdown]
# ## 2 · Two directions
#
# The forward RNN reads $X_1 \to X_T$; the reverse one, with its own weights, reads $X_T \to X_1$. We index the
# reverse state by the input it has just read, so $\overleftarrow{H}_t$ sits next to $\overrightarrow{H}_t$:
#
# $$\overrightarrow{H}_t = \varphi(X_t \overrightarrow{W}_{xh} + \overrightarrow{H}_{t-1} \overrightarrow{W}_{hh} + \overrightarrow{b}),
# \qquad \overleftarrow{H}_t = \varphi(X_t \overleftarrow{W}_{xh} + \overleftarrow{H}_{t+1} \overleftarrow{W}_{hh} + \overleftarrow{b})$$
#
# The output at step $t$ is the pair side by side, $[\overrightarrow{H}_t, \overleftarrow{H}_t]$: `output` is
# [T, N, 2h], forward half first. (Maths step $t$ is Python index $t-1$.)

# %% hidden
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
# By hand with two one-direction RNNs: the reverse pass is the forward loop on the **flipped** sequence,
# `X.flip(0)`, whose outputs we flip back. torch's bidirectional layer holds the same two RNNs; the reverse
# one's parameters end in `_reverse`.

# %%
torch.manual_seed(1)
fwd_rnn, rev_rnn = nn.RNN(d, h, dtype=torch.float64), nn.RNN(d, h, dtype=torch.float64)
bi = nn.RNN(d, h, bidirectional=True, dtype=torch.float64)
bi.load_state_dict({**fwd_rnn.state_dict(), **{k + "_reverse": v for k, v in rev_rnn.state_dict().items()}})
with torch.no_grad():
    fwd_out, fwd_last = fwd_rnn(X)  # reads X_1 → X_T
    rev_read, rev_last = rev_rnn(X.flip(0))  # reads X_T → X_1, outputs in reading order
    output, h_n = bi(X)
torch.testing.assert_close(output, torch.cat([fwd_out, rev_read.flip(0)], -1), **EXACT)
torch.testing.assert_close(h_n, torch.cat([fwd_last, rev_last]), **EXACT)
print(f"output {list(output.shape)} = [forward, reverse flipped back] ✓   h_n {list(h_n.shape)} = [forward, reverse] ✓")

# %% [markdown]
# ## 3 · Which slice is the final state?
#
# With one direction, `output[-1]` **is** `h_n[-1]`. With two it is not: the issue pytorch/pytorch#3587 asks
# about it, a popular tutorial got it wrong (yunjey/pytorch-tutorial#149), and PR pytorch/pytorch#74291 added a
# note to torch's docs. The forward direction ends at the last step: `h_n[-2]` is the first half of `output[-1]`.
# The reverse direction ends at step 1, **index 0**: `h_n[-1]` is the second half of `output[0]`.

# %%
assert torch.equal(output[-1, :, :h], h_n[-2])
assert torch.equal(output[0, :, h:], h_n[-1])
gap = (output[-1, :, h:] - h_n[-1]).abs().max().item()
assert gap > 1e-3
print("output[-1, :, :h] == h_n[-2]  ✓ forward, last step")
print("output[0, :, h:]  == h_n[-1]  ✓ reverse, its last step is index 0")
print(f"output[-1, :, h:] != h_n[-1]  ✗ reverse after ONE input (max |Δ| = {gap:.4f})")

# %% [markdown]
# So a sentence classifier takes `torch.cat([h_n[-2], h_n[-1]], -1)`, [N, 2h]. `output[-1]` alone would give it
# a reverse state that has read one word.
#
# ## 4 · Deep and bidirectional
#
# Stacked (lesson 04), layer k > 0 reads **2h** features, both halves of the layer below, and `h_n` has
# 2·num_layers rows in the order **layer·2 + direction**: `h_n.view(num_layers, 2, N, h)`.

# %%
deep_bi = nn.RNN(d, h, num_layers=2, bidirectional=True, dtype=torch.float64)
print("layer 1:", {n: tuple(p.shape) for n, p in deep_bi.named_parameters() if n.startswith("weight_ih_l1")})
with torch.no_grad():
    out_deep, hn_deep = deep_bi(X)
by_layer = hn_deep.view(2, 2, N, h)  # [layer, direction, N, h]
assert torch.equal(by_layer[1, 0], out_deep[-1, :, :h]) and torch.equal(by_layer[1, 1], out_deep[0, :, h:])
print(f"h_n {list(hn_deep.shape)}: top layer forward = h_n[2], reverse = h_n[3] ✓")

# %% [markdown]
# ## 5 · Sentences of different lengths
#
# A batch needs one T, so short sentences get **padded** with zeros. An RNN that reads the padding is wrong:
# a 3-word sentence's forward state would be its state after 5 steps, and its reverse pass would start in the
# padding instead of at its last word. Our three sequences are real for 3, 5 and 2 steps:

# %%
LENGTHS = torch.tensor([3, 5, 2])  # unsorted; the longest = T
x_pad = X.clone()
for b, L_b in enumerate(LENGTHS.tolist()):
    x_pad[L_b:, b] = 0.0  # the padding

# %% [markdown]
# `pack_padded_sequence(x, lengths)` tells the RNN the lengths (a CPU int64 tensor, even for GPU data). By
# default (`enforce_sorted=True`) it wants the batch sorted longest first; `enforce_sorted=False` sorts it for you
# and gives everything back in your order.

# %%
try:
    pack_padded_sequence(x_pad, LENGTHS)
except RuntimeError as err:
    print(f"enforce_sorted=True → RuntimeError: {str(err)[:95]}…")
packed = pack_padded_sequence(x_pad, LENGTHS, enforce_sorted=False)
print(f"packed: data {list(packed.data.shape)} = {int(LENGTHS.sum())} real steps, batch_sizes {packed.batch_sizes.tolist()}")

# %% [markdown]
# With packed input, `h_n` holds **each sequence's own** last state: forward at index length − 1, reverse at
# index 0. Fed the padded tensor instead, nothing complains, but `h_n` is wrong for every short sequence.

# %%
with torch.no_grad():
    out_packed, hn_packed = bi(packed)
    out_unpacked, _ = pad_packed_sequence(out_packed)  # [T, N, 2h], zeros after each length
    hn_naive = bi(x_pad)[1]  # the trap: the padded tensor, not packed
for b, L_b in enumerate(LENGTHS.tolist()):
    assert torch.equal(hn_packed[0, b], out_unpacked[L_b - 1, b, :h]) and torch.equal(hn_packed[1, b], out_unpacked[0, b, h:])
print("packed: h_n[0, b] = output[length_b − 1, b, :h], h_n[1, b] = output[0, b, h:] for every b ✓")
gap = (hn_naive - hn_packed).abs().amax(dim=(0, 2))
assert gap[1] < 1e-12 and (gap[[0, 2]] > 1e-3).all()
print("not packed: h_n off by " + ", ".join(f"{g:.4f}" for g in gap.tolist()) + " (sequence 1 has no padding)")

# %% [markdown]
# ## 6 · From scratch: one direction with a mask
#
# Run the padded batch, but where step t is padding (t ≥ length) a sequence **keeps its old state**:
# `torch.where`. For the forward pass this freezes the state at the last real step. Checked at once against the
# forward half of `bi` on the packed batch, at the real steps (torch pads its output with zeros).

# %%
def forward_pass(X, H, w_ih, w_hh, b_ih, b_hh, lengths):
    """X [T, N, d] padded, H [N, h], lengths [N] → out [T, N, h], final state [N, h]."""
    out = []
    for t in range(X.shape[0]):
        H_new = rnn_step(X[t], H, w_ih, w_hh, b_ih, b_hh)
        H = torch.where((t < lengths)[:, None], H_new, H)  # past its length: keep the state
        out.append(H)
    return torch.stack(out), H


def weights(sfx):  # one direction's (weight_ih, weight_hh, bias_ih, bias_hh) of bi
    return [getattr(bi, f"{n}_l0{sfx}").detach() for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


real = torch.arange(T)[:, None] < LENGTHS  # [T, N]: True at real steps
out_f, H_f = forward_pass(x_pad, torch.zeros(N, h, dtype=torch.float64), *weights(""), LENGTHS)
torch.testing.assert_close(out_f[real], out_unpacked[..., :h][real], **EXACT)
torch.testing.assert_close(H_f, hn_packed[0], **EXACT)
print("forward_pass = nn.RNN's forward direction on packed input: output at real steps and h_n ✓")

# %% [markdown]
# ### Exercise 1: the reverse pass with a mask
#
# Write `reverse_pass`, with `forward_pass`'s arguments. It runs t = T−1, …, 0 and puts the state it computes at
# index t at **position t** of `out`. A short sequence's reverse pass must start at its own last real step, from
# H: where t ≥ length, keep the state. (Section 2's `X.flip(0)` fails here: it puts a short sequence's padding
# first.) The final state is the one after index 0.
#
# Replace `...` and run the cell, then the checker below it: it compares your `out` at the real steps, and your
# final state, with torch's reverse direction on a packed batch, and says what is wrong. It uses sizes of its own
# (T = 6, N = 4, h = 3): take them from the arguments (`X.shape`, `w_hh.shape[0]`). Solutions are at the end.

# %%
def reverse_pass(X, H, w_ih, w_hh, b_ih, b_hh, lengths):
    ...  # your code here: return out [T, N, h], final state [N, h]

# %% hidden
def check_reverse_pass(fn):
    """Compare fn with the reverse direction of a packed bidirectional nn.RNN (T = 6, N = 4, d = 5, h = 3,
    lengths [4, 6, 1, 3], float64); say what is wrong. Returns True/False."""
    with torch.random.fork_rng():
        torch.manual_seed(12)
        r = nn.RNN(5, 3, bidirectional=True, dtype=torch.float64)
        x, h0 = torch.randn(6, 4, 5, dtype=torch.float64), torch.randn(2, 4, 3, dtype=torch.float64)
    lens = torch.tensor([4, 6, 1, 3])
    real_ = torch.arange(6)[:, None] < lens  # [T, N]
    x[~real_] = 0.0  # a padded batch
    with torch.no_grad():
        out_p, hn = r(pack_padded_sequence(x, lens, enforce_sorted=False), h0)
    want_out, want_h = pad_packed_sequence(out_p)[0][..., 3:], hn[1]
    w = [getattr(r, f"{n}_l0_reverse").detach() for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]

    def run(ts, masked=True, b_ih=True, b_hh=True):  # the typical variants, to name a mistake
        H, out = h0[1], torch.zeros(6, 4, 3, dtype=torch.float64)
        for t in ts:
            H_new = rnn_step(x[t], H, w[0], w[1], w[2] if b_ih else None, w[3] if b_hh else None)
            H = torch.where((t < lens)[:, None], H_new, H if masked != "zero" else 0 * H) if masked else H_new
            out[t] = H
        return out

    try:
        got = fn(x.clone(), h0[1].clone(), *w, lens.clone())
    except Exception as err:  # report the learner's error instead of raising it
        hint = ("\n  Hint: t < lengths is [N]; to mask the rows of H [N, h] use (t < lengths)[:, None]."
                if "must match the size" in str(err) else "")
        print(f"✗ reverse_pass raised {type(err).__name__}: {err}{hint}")
        return False
    if got is None:
        print("✗ not done yet: reverse_pass returned None.")
        return False
    if not (isinstance(got, (tuple, list)) and len(got) == 2 and all(torch.is_tensor(g) for g in got)):
        print("✗ return a pair of tensors: (out [T, N, h], final state [N, h]).")
        return False
    out, H = got
    if tuple(out.shape) != (6, 4, 3) or tuple(H.shape) != (4, 3):
        print(f"✗ shapes {tuple(out.shape)} and {tuple(H.shape)}; expected out (T, N, h) = (6, 4, 3), final (N, h) = (4, 3).")
        return False
    out, H = out.detach(), H.detach()

    def same(a):
        return torch.allclose(out[real_], a[real_], rtol=0.0, atol=1e-10)

    if same(want_out):
        if torch.allclose(H, want_h, rtol=0.0, atol=1e-10):
            print("✓ reverse_pass equals torch's reverse direction on a packed batch: every real step and h_n.")
            return True
        print("✗ out is right, the final state is not: the reverse pass ends at index 0, so it is out[0].")
    elif same(run(range(6))):
        print("✗ you read forwards: the reverse direction runs t = T−1, T−2, …, 0.")
    elif torch.allclose(out.flip(0)[real_], want_out[real_], rtol=0.0, atol=1e-10):
        print("✗ your outputs are in reading order (←H_T first): store the state computed at index t at position t.")
    elif same(run(range(5, -1, -1), masked=False)):
        print("✗ you ran over the padding: a short sequence's reverse pass must start at its own last real step. "
              "Keep the state where t ≥ length: torch.where((t < lengths)[:, None], H_new, H).")
    elif same(run(range(5, -1, -1), masked="zero")):
        print("✗ you set the state to zero in the padding, so a short sequence starts from zeros, not from H. "
              "Keep the old state there: torch.where((t < lengths)[:, None], H_new, H).")
    elif same(run(range(5, -1, -1), b_hh=False)):
        print("✗ you left out b_hh.")
    elif same(run(range(5, -1, -1), b_ih=False)):
        print("✗ you left out b_ih.")
    else:
        print("✗ the states differ from torch's at the real steps: ←H_t = φ(X_t W_ihᵀ + b_ih + ←H_{t+1} W_hhᵀ + b_hh).")
    return False


# %%
exercise_1_passed = check_reverse_pass(reverse_pass)

# %% [markdown]
# ## 7 · `ScratchRNN`, complete
#
# The module puts the passes together as `nn.RNN` does: per layer the forward and the reverse pass, each from its
# own row of `h0`, outputs concatenated forward first, `h_n` rows in the order layer·2 + direction; dropout
# between layers (lesson 04); parameters with torch's names and order, so `load_state_dict` works both ways; and
# batched, unbatched or packed input (unpacked, masked as above, re-packed). The helpers are collapsed:
# `run_direction`, one direction of one layer, contains the answer to exercise 1 (try it first), and the rest
# checks and converts the inputs, with clear errors.

# %% hidden
def run_direction(X, H, weights, phi, lengths=None, reverse=False):
    """One layer, one direction. X [T, N, d_k], H [N, h] → out [T, N, h], final state [N, h].
    lengths [N, 1] (packed input): at steps t ≥ length a sequence keeps its state."""
    w_ih, w_hh, b_ih, b_hh = weights
    out = [None] * X.shape[0]
    for t in (range(X.shape[0] - 1, -1, -1) if reverse else range(X.shape[0])):
        H_new = phi(F.linear(X[t], w_ih, b_ih) + F.linear(H, w_hh, b_hh))
        H = H_new if lengths is None else torch.where(t < lengths, H_new, H)  # past its length: keep the state
        out[t] = H  # position t, whichever direction
    return torch.stack(out), H


def check_args(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout, bidirectional, proj_size):
    """nn.RNN's argument rules, as clear errors (lesson 08 does the full job)."""
    for name, value, kind in (("input_size", input_size, int), ("hidden_size", hidden_size, int),
                              ("num_layers", num_layers, int), ("bias", bias, bool),
                              ("batch_first", batch_first, bool), ("bidirectional", bidirectional, bool)):
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError(f"{name} should be of type {kind.__name__}, got {value!r} ({type(value).__name__})")
        if kind is int and value <= 0:
            raise ValueError(f"{name} must be greater than zero, got {value}")
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
        raise ValueError(f"dropout should be a number in range [0, 1], got {dropout!r}")
    if proj_size != 0:
        raise ValueError(f"proj_size argument is only supported for LSTM, not RNN or GRU (got proj_size={proj_size!r})")
    if dropout > 0 and num_layers == 1:  # torch's warning, word for word (lesson 04)
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                      f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}")


def rnn_inputs(rnn, input, hx):
    """→ X [T, N, d], H0 [D·L, N, h], lengths (CPU int64 [N], packed input only), unbatched. Clear errors."""
    D, L, h_, w = 2 if rnn.bidirectional else 1, rnn.num_layers, rnn.hidden_size, rnn.weight_ih_l0
    lengths, unbatched = None, False
    if isinstance(input, PackedSequence):
        X, lengths = pad_packed_sequence(input)  # [T, N, d], original batch order
    elif torch.is_tensor(input) and input.dim() in (2, 3):
        unbatched = input.dim() == 2  # batch_first is ignored for unbatched input, as in torch
        X = input.unsqueeze(1) if unbatched else input.transpose(0, 1) if rnn.batch_first else input
    else:
        raise ValueError(f"expected input (T, d), {'(N, T, d)' if rnn.batch_first else '(T, N, d)'} or a "
                         f"PackedSequence, got {tuple(input.shape) if torch.is_tensor(input) else type(input).__name__}")
    if X.dtype != w.dtype:
        raise ValueError(f"RNN input dtype ({X.dtype}) does not match weight dtype ({w.dtype})")
    if X.shape[-1] != rnn.input_size:
        raise RuntimeError(f"input has {X.shape[-1]} features in its last dimension, expected input_size={rnn.input_size}")
    if X.shape[0] == 0:
        raise RuntimeError("the sequence is empty (T = 0 steps): no step to run, no last state to return")
    if hx is None:
        return X, X.new_zeros(D * L, X.shape[1], h_), lengths, unbatched
    if not torch.is_tensor(hx):
        raise TypeError(f"hx must be a tensor (an RNN's h0, not an LSTM's (h0, c0)), got a {type(hx).__name__}")
    if hx.dtype != w.dtype:
        raise ValueError(f"hx dtype ({hx.dtype}) does not match weight dtype ({w.dtype})")
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


def dropout_between_layers(X, p, lengths, like):
    """F.dropout on a layer's output [T, N, ·]; for packed input on the packed data, as torch draws it."""
    if like is None:
        return F.dropout(X, p, training=True)
    packed_ = pack_like(X, lengths, like)
    dropped = PackedSequence(F.dropout(packed_.data, p, training=True), *packed_[1:])
    return pad_packed_sequence(dropped, total_length=X.shape[0])[0]

# %% [markdown]
# The module: torch's parameters in torch's order, then the loop over layers and directions.

# %%
class ScratchRNN(nn.Module):
    """nn.RNN from scratch: layers × directions of H_t = φ(X_t W_xh + H_prev W_hh + b), stored as torch stores it."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        check_args(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout, bidirectional, proj_size)
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

    def forward(self, input, hx=None):
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

# %% hidden
def twin(torch_rnn):
    """A ScratchRNN with torch_rnn's settings, dtype, device and a copy of its weights (torch → scratch)."""
    w = torch_rnn.weight_ih_l0
    s = ScratchRNN(torch_rnn.input_size, torch_rnn.hidden_size, torch_rnn.num_layers, torch_rnn.nonlinearity,
                   torch_rnn.bias, torch_rnn.batch_first, torch_rnn.dropout, torch_rnn.bidirectional,
                   device=w.device, dtype=w.dtype)
    s.load_state_dict(torch_rnn.state_dict())
    return s

# %% [markdown]
# `ScratchRNN` beside `bi` on the packed batch, with an `h0`: outputs and every gradient (`twin` makes a
# `ScratchRNN` with a torch module's settings and a copy of its weights).

# %%
h0 = torch.randn(2, N, h, dtype=torch.float64)
n = parity(twin(bi), bi, packed, h0, **EXACT)
print(f"ScratchRNN = nn.RNN(bidirectional=True) on packed input: {n} tensors match (|Δ| ≤ 1e-12) ✓")

# %% [markdown]
# The same for every combination, in the collapsed cell: 144 settings, num_layers 1–3 × one or two directions ×
# `batch_first` × `bias` × batched, unbatched or packed input × with or without `h0`, at sizes where no two axes
# have the same length; then relu, dropout and float32.

# %% hidden
for kwargs in ({}, {"num_layers": 2, "bidirectional": True}, {"num_layers": 3, "bidirectional": True, "bias": False}):
    torch.manual_seed(2)
    t_init = nn.RNN(d, h, **kwargs)
    torch.manual_seed(2)
    s_init = ScratchRNN(d, h, **kwargs)
    assert [(n_, p.shape) for n_, p in s_init.named_parameters()] == [(n_, p.shape) for n_, p in t_init.named_parameters()]
    assert all(torch.equal(a, b) for a, b in zip(s_init.parameters(), t_init.parameters()))
t_init.load_state_dict(s_init.state_dict())  # scratch → torch (twin() goes torch → scratch)
print("✓ parameters: torch's names, shapes, order and initial values; load_state_dict both ways")
# The grid's own sizes: all different, and none equals a row count D·num_layers (1, 2, 3, 4 or 6), so that
# a mix-up of two axes raises an error in every setting (the lesson's N = 3 and h = 6 would not, at 3 layers).
T_G, N_G, d_G, h_G = 5, 8, 7, 9
LENGTHS_G = torch.tensor([3, 5, 1, 4, 5, 2, 4, 3])  # unsorted; the longest = T_G
runs = 0
for L in (1, 2, 3):
    for bidir in (False, True):
        for batch_first in (False, True):
            for bias in (True, False):
                t_rnn = nn.RNN(d_G, h_G, num_layers=L, bias=bias, batch_first=batch_first, bidirectional=bidir,
                               dtype=torch.float64)
                s_rnn, DL = twin(t_rnn), (2 if bidir else 1) * L
                assert len({T_G, N_G, d_G, h_G, DL}) == 5
                x_b = torch.randn(*((N_G, T_G, d_G) if batch_first else (T_G, N_G, d_G)), dtype=torch.float64)
                for x, h0_ in [(x_b, torch.randn(DL, N_G, h_G, dtype=torch.float64)),
                               (torch.randn(T_G, d_G, dtype=torch.float64), torch.randn(DL, h_G, dtype=torch.float64)),
                               (pack_padded_sequence(x_b, LENGTHS_G, batch_first=batch_first, enforce_sorted=False),
                                torch.randn(DL, N_G, h_G, dtype=torch.float64))]:
                    parity(s_rnn, t_rnn, x, h0_, **EXACT)
                    parity(s_rnn, t_rnn, x, **EXACT)
                    runs += 2
assert runs == 144
print(f"✓ {runs} settings (layers, directions, batch_first, bias, batched/unbatched/packed, h0 or not): "
      "outputs and gradients equal, |Δ| ≤ 1e-12")
relu = nn.RNN(d, h, num_layers=2, nonlinearity="relu", bidirectional=True, dtype=torch.float64)
parity(twin(relu), relu, packed, **EXACT)
for L, lengths in ((2, None), (3, LENGTHS)):
    drop = nn.RNN(d, h, num_layers=L, dropout=0.5, bidirectional=True, dtype=torch.float64)
    x, s_drop = X if lengths is None else pack_padded_sequence(x_pad, lengths, enforce_sorted=False), twin(drop)
    with torch.random.fork_rng():  # the same random numbers for both: the same dropout masks
        torch.manual_seed(7)
        out_t = drop(x)[0]
        torch.manual_seed(7)
        out_s = s_drop(x)[0]
    torch.testing.assert_close(out_s if lengths is None else out_s.data, out_t if lengths is None else out_t.data, **EXACT)
drop.eval()
s_drop.eval()
parity(s_drop, drop, x, **EXACT)  # eval mode: no dropout
rnn32 = nn.RNN(d, h, num_layers=2, bidirectional=True)
parity(twin(rnn32), rnn32, pack_padded_sequence(x_pad.float(), LENGTHS, enforce_sorted=False), torch.randn(4, N, h))
print("✓ relu; dropout in training mode (same masks) and in eval mode; float32 within assert_close's defaults")

# %% hidden
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":  # cuDNN runs nn.RNN here; the lengths stay a CPU tensor
    saved_tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # cuDNN's RNN would otherwise use TF32 for float32
    torch.backends.cuda.matmul.allow_tf32 = False  # ScratchRNN's matmuls: full float32 (the default)
    for dtype, tol in [(torch.float64, EXACT), (torch.float32, {})]:
        t_rnn = nn.RNN(d, h, num_layers=2, bidirectional=True, device=DEVICE, dtype=dtype)
        xg, hg = torch.randn(T, N, d, device=DEVICE, dtype=dtype), torch.randn(4, N, h, device=DEVICE, dtype=dtype)
        n = parity(twin(t_rnn), t_rnn, xg, hg, **tol)
        n += parity(twin(t_rnn), t_rnn, pack_padded_sequence(xg, LENGTHS, enforce_sorted=False), hg, **tol)
        print(f"✓ {torch.cuda.get_device_name()} {dtype}: batched and packed, {n} tensors match"
              f" ({'|Δ| ≤ 1e-12' if tol else 'float32 defaults, TF32 off'})")
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved_tf32
else:
    print("No GPU here: skipped (this cell repeats the parity check against cuDNN when a GPU is present).")

# %% [markdown]
# ## 8 · Where a bidirectional net may be used
#
# The reverse half of `output[t]` has read the **future** $X_T, \dots, X_t$. Fine when the whole sequence exists
# before you answer (tagging words, classifying a recording, encoding a sentence to translate); wrong when you
# must answer before $X_{t+1}$ exists: streaming, or a language model, whose reverse half would read the answer.
# Change the inputs after index 1 and look at `output[:2]`:

# %%
x_future = X.clone()
x_future[2:] = torch.randn(T - 2, N, d, dtype=torch.float64)  # other future inputs
with torch.no_grad():
    out_a, out_b = bi(X)[0], bi(x_future)[0]
assert torch.equal(out_a[:2, :, :h], out_b[:2, :, :h])
moved = (out_a[:2, :, h:] - out_b[:2, :, h:]).abs().max().item()
assert moved > 1e-3
print(f"forward half of output[:2]: unchanged ✓   reverse half: moved by up to {moved:.4f} (it read the future)")

# %% [markdown]
# ## 9 · Play: the lengths of a batch
#
# Three sequences padded to 8 steps; each slider sets one length. The grid shows real steps (green), padding
# (grey), and where each `h_n` comes from. Each setting is packed and run through `nn.RNN` and `ScratchRNN`,
# asserted equal. Try decreasing lengths, equal lengths, and a length of 0.

# %% hidden
def draw_lengths(ax, lengths, T_max):
    """The padded output grid: real steps green, padding grey; where h_n's two directions come from."""
    for b, L_b in enumerate(lengths):
        for t in range(T_max):
            real_step = t < L_b
            ax.add_patch(plt.Rectangle((t, b), 1, 1, fc="#d9ead3" if real_step else "#eeeeee", ec="#999999", lw=0.5))
            if not real_step:
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


T_W = 8
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


def show_lengths(len_0=8, len_1=3, len_2=5):
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

# %%
# NBVAL_IGNORE_OUTPUT
lengths_ui = widgets.interactive(
    show_lengths,
    len_0=widgets.IntSlider(value=8, min=0, max=T_W, description="seq 0 length"),
    len_1=widgets.IntSlider(value=3, min=0, max=T_W, description="seq 1 length"),
    len_2=widgets.IntSlider(value=5, min=0, max=T_W, description="seq 2 length"),
)
display(lengths_ui)

# %% [markdown]
# The same callback in plain cells (an error inside a widget would hide): the defaults, the extremes and an
# invalid length.

# %%
result = show_lengths()
assert result["forward_h_n_step"] == [7, 2, 4] and result["enforce_sorted_ok"] is False

# %% hidden
assert show_lengths(1, 1, 1)["batch_sizes"] == [3]
assert show_lengths(T_W, T_W, T_W)["batch_sizes"] == [3] * T_W
assert show_lengths(8, 4, 1)["enforce_sorted_ok"] is True
assert show_lengths(0, 3, 5) is None and show_lengths(8, 3, 0) is None

# %% [markdown]
# ### Exercise 2: a sentence summary from a packed batch's output
#
# A model often has only the padded `output` of a packed bidirectional run, [T, N, 2h] (zeros past each length).
# Return the summary a classifier needs, [N, 2h]: for each sequence b, the forward final state next to the
# reverse final state, taken from `output` and `lengths`. The checker compares it with
# `torch.cat([h_n[-2], h_n[-1]], -1)`, with h = 7 and N = 4: take h and N from `output.shape`, not the lesson's.
# Hint: `output[idx_t, torch.arange(N)]` picks row `idx_t[b]` of sequence b.

# %%
def packed_summary(output, lengths):
    ...  # your code here: return a tensor [N, 2h]

# %% hidden
def check_packed_summary(fn):
    """Run a packed bidirectional nn.RNN (T = 6, N = 4, d = 5, h = 7, lengths [4, 6, 1, 3]); compare fn's answer
    with torch.cat([h_n[-2], h_n[-1]], -1). Says what is wrong. Returns True/False."""
    with torch.random.fork_rng():
        torch.manual_seed(13)
        r, x = nn.RNN(5, 7, bidirectional=True, dtype=torch.float64), torch.randn(6, 4, 5, dtype=torch.float64)
    lens = torch.tensor([4, 6, 1, 3])
    with torch.no_grad():
        out_p, hn = r(pack_padded_sequence(x, lens, enforce_sorted=False))
        out = pad_packed_sequence(out_p)[0]
    want = torch.cat([hn[-2], hn[-1]], -1)
    try:
        got = fn(out.clone(), lens.clone())
    except IndexError as err:
        print(f"✗ packed_summary raised IndexError: {err}\n  Hint: the last real step of sequence b is index "
              "lengths[b] − 1 (Python counts from 0).")
        return False
    except Exception as err:  # report the learner's error instead of raising it
        hint = ("\n  Hint: output[lengths − 1] takes whole steps, [N, N, 2h]: pair each time index with its sequence, "
                "output[lengths − 1, torch.arange(N)]." if "dimension" in str(err) else "")
        print(f"✗ packed_summary raised {type(err).__name__}: {err}{hint}")
        return False
    if got is None:
        print("✗ not done yet: packed_summary returned None.")
        return False
    if not torch.is_tensor(got):
        print(f"✗ packed_summary returned a {type(got).__name__}: return a tensor [N, 2h].")
        return False
    if tuple(got.shape) != (4, 14):
        hint = (" output[lengths − 1] takes whole steps for every sequence: pair each time index with its sequence, "
                "output[lengths − 1, torch.arange(N)]" if got.dim() == 3 else "")
        print(f"✗ the result has shape {tuple(got.shape)}, expected (N, 2h) = (4, 14).{hint}")
        return False

    def same(a, b):
        return torch.allclose(a, b, rtol=0.0, atol=1e-12)

    fwd, rev = got[:, :7], got[:, 7:]
    h_lesson = globals().get("h")  # the lesson's h = 6, a tempting global
    h_lesson = h_lesson if isinstance(h_lesson, int) and 0 < h_lesson < 14 else 7
    wrong_h = torch.cat([out[lens - 1, torch.arange(4), :h_lesson], out[0, :, h_lesson:]], -1)
    if same(got, want):
        print("✓ packed_summary = [h_n[-2], h_n[-1]]: forward at index length − 1, reverse at index 0.")
        return True
    if same(got, out[-1]):
        print("✗ that is output[-1], the last PADDED step: zeros for every sequence shorter than T.")
    elif h_lesson != 7 and same(got, wrong_h):
        print(f"✗ you split at the lesson's h = {h_lesson}; here h = 7. Take it from the output: output.shape[-1] // 2.")
    elif same(fwd, hn[-1]) and same(rev, hn[-2]):
        print("✗ the halves are swapped: the forward direction is the first h columns, the reverse the last h.")
    elif same(fwd, out[-1, :, :7]):
        print("✗ the forward half at output[-1] is padding for every sequence shorter than T: "
              "take index lengths[b] − 1.")
    elif not same(fwd, hn[-2]):
        print("✗ the forward half is not each sequence's state at index lengths[b] − 1.")
    elif same(rev, out[lens - 1, torch.arange(4), 7:]):
        print("✗ the reverse direction ends at index 0 for every sequence (it reads backwards): output[0, :, h:].")
    else:
        print("✗ the reverse half is not the reverse direction's final state, output[0, :, h:].")
    return False


# %%
exercise_2_passed = check_packed_summary(packed_summary)

# %% [markdown]
# ## 10 · Summary
#
# | | |
# |---|---|
# | two directions | $\overrightarrow{H}_t$ reads $X_1 \to X_T$, $\overleftarrow{H}_t$ reads $X_T \to X_1$, each with its own weights (`…_reverse`) |
# | shapes | output (T, N, 2h) = $[\overrightarrow{H}_t, \overleftarrow{H}_t]$; h_n (2·L, N, h), row layer·2 + direction |
# | final states | forward `h_n[-2]` = `output[-1, :, :h]`; reverse `h_n[-1]` = `output[0, :, h:]`; **not** `output[-1, :, h:]` |
# | deep | layer k > 0 reads 2h features |
# | different lengths | `pack_padded_sequence(x, lengths, enforce_sorted=False)`, lengths on the CPU; `h_n` = each sequence's own last state; unpacked padding gives a wrong `h_n` |
# | from scratch | `H = torch.where((t < lengths)[:, None], H_new, H)`; the reverse pass runs t = T−1 … 0 with the same mask |
# | when | the whole sequence is known; never for streaming or next-step prediction |
#
# **Next:** lesson 06 (LSTM): a cell with a memory and gates, which keeps information over many more steps.

# %% [markdown] collapsed
# ## Going deeper: inside a `PackedSequence`

# %% [markdown]
# `data` holds the real steps **time-major**: every sequence's index 0, then index 1 of those that have one, and
# so on; `batch_sizes[t]` counts the sequences still running at index t. `sorted_indices` is the batch order
# longest first, `unsorted_indices` its inverse, the way back to your order. Sorting the batch yourself gives the
# same data and no index tensors.

# %%
print(f"data {list(packed.data.shape)}, batch_sizes {packed.batch_sizes.tolist()}, "
      f"sorted_indices {packed.sorted_indices.tolist()}, unsorted_indices {packed.unsorted_indices.tolist()}")
assert torch.equal(packed.sorted_indices[packed.unsorted_indices], torch.arange(N))
sorted_lengths, order = LENGTHS.sort(descending=True)
packed_sorted = pack_padded_sequence(x_pad[:, order], sorted_lengths)  # enforce_sorted=True: sorted already
assert torch.equal(packed_sorted.data, packed.data) and packed_sorted.sorted_indices is None
print("sorted_indices[unsorted_indices] == arange(N) ✓   sorted by hand: same data, no index tensors ✓")

# %% [markdown] collapsed
# ## Going deeper: clear errors

# %% [markdown]
# The usual mistakes with `h0`, and arguments `nn.RNN` refuses, side by side: what torch says and what
# `ScratchRNN` says. A deep bidirectional net needs **2·num_layers** rows of `h0`, and `h0` is never batch-first.

# %%
scratch_deep = twin(deep_bi)
# torch's own messages, printed as they are: their wording changes between torch versions.
calls = [("h0 with num_layers rows", lambda m: m(X, torch.zeros(2, N, h, dtype=torch.float64))),
         ("h0 batch-first (N, 2·L, h)", lambda m: m(X, torch.zeros(N, 4, h, dtype=torch.float64))),
         ("float32 input, float64 weights", lambda m: m(X.float())),
         ("empty sequence (T = 0)", lambda m: m(X[:0]))]
for label, call in calls:
    print(label)
    for module in (deep_bi, scratch_deep):
        try:
            call(module)
        except (RuntimeError, ValueError, TypeError) as err:
            print(f"  {type(module).__name__:<10} {type(err).__name__}: {str(err).split('. Convert')[0]}")
for kwargs in ({"bias": 0}, {"num_layers": 0}, {"nonlinearity": "sigmoid"}, {"proj_size": 2}):
    for cls in (nn.RNN, ScratchRNN):
        try:
            cls(d, h, **kwargs)
        except (RuntimeError, ValueError, TypeError) as err:
            print(f"{str(kwargs):<28} {cls.__name__:<10} {type(err).__name__}: {err}")

# %% [markdown]
# ## Solutions
#
# Collapsed: click to expand. Each solution passes its checker; a wrong answer shows what the checker says.

# %% solution
def reverse_pass_solution(X, H, w_ih, w_hh, b_ih, b_hh, lengths):
    out = [None] * X.shape[0]
    for t in reversed(range(X.shape[0])):  # t = T−1, …, 0
        H_new = rnn_step(X[t], H, w_ih, w_hh, b_ih, b_hh)
        H = torch.where((t < lengths)[:, None], H_new, H)  # before its last real step: still H0
        out[t] = H  # position t
    return torch.stack(out), H


def packed_summary_solution(output, lengths):
    h_ = output.shape[-1] // 2
    forward_final = output[lengths - 1, torch.arange(output.shape[1]), :h_]  # index length_b − 1 of sequence b
    return torch.cat([forward_final, output[0, :, h_:]], -1)  # reverse: index 0 for all


assert check_reverse_pass(reverse_pass_solution)
assert check_packed_summary(packed_summary_solution)

# %% solution
# What the checkers say to two common mistakes:
assert not check_reverse_pass(lambda X, H, *w_and_lengths: forward_pass(X, H, *w_and_lengths))
assert not check_packed_summary(lambda output, lengths: output[-1])
