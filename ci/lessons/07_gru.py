# %% [markdown]
# # 07 · The GRU: `ScratchGRU` beside `nn.GRU`
#
# The LSTM of lesson 06 keeps a memory over many steps with a separate cell state and four gate blocks. The
# **gated recurrent unit** (GRU, Cho et al. 2014) gets much of that with less: **one** state, **three** gate blocks,
# a quarter fewer parameters. One gate, the **update gate** $z$, decides per unit how much of the old state is kept;
# the other, the **reset gate** $r$, decides how much of it feeds the new candidate.
#
# In this lesson you write the step in torch's exact form, build `ScratchGRUCell` and `ScratchGRU` (one direction,
# any number of layers) beside `nn.GRUCell` and `nn.GRU`, and assert that they agree in float64, values and every
# gradient. Then the three things that make a GRU copied from a paper or a textbook disagree with `nn.GRU`: where
# the reset gate sits (torch's form is **not** the paper's), why its second bias cannot be folded into the first,
# and which way round $z$ works. (Lesson 08 builds the complete drop-in layers: two directions, packed input.)
#
# **You should know:** lessons 01–02 (the step, `weight_ih` = $W_{xh}^\top$, the two biases, the parity check),
# 04 (stacked layers, dropout between them) and 06 (the LSTM's gates); the recap below repeats what this lesson needs.
#
# **Contents:** 1 · recap: the LSTM, and why a lighter cell · 2 · the GRU step, torch's form · 3 · one step by hand ·
# 4 · `ScratchGRUCell` · 5 · `ScratchGRU` · 6 · torch's form vs the paper's · 7 · the bias that cannot be folded ·
# 8 · z = 1 keeps the old state · 9 · LSTM and GRU side by side · 10 · play with the update gate · 11 · the traps in
# one place · 12 · exercises · 13 · on a GPU · 14 · summary · solutions

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
from matplotlib.ticker import MaxNLocator
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # only the GPU cell uses it

# %% [markdown]
# ## 1 · Recap: the LSTM, and why a lighter cell
#
# Lesson 06's LSTM step, in torch's form: one product for the four gate blocks, chunked in the order **i, f, g, o**.
#
# | | shape | what it is |
# |---|---|---|
# | $X_t$, $H_{t-1}$, $C_{t-1}$ | [N, d], [N, h], [N, h] | the inputs of step t, the hidden state, the cell state |
# | $A = X_t W_{ih}^\top + b_{ih} + H_{t-1} W_{hh}^\top + b_{hh}$ | [N, 4h] | `weight_ih` [4h, d], `weight_hh` [4h, h] |
# | $C_t = \sigma(f) \odot C_{t-1} + \sigma(i) \odot \tanh(g)$ | [N, h] | forget some of the old memory, write some new |
# | $H_t = \sigma(o) \odot \tanh(C_t)$ | [N, h] | what the cell shows outside |
#
# The GRU asks: do we need the forget gate **and** the input gate, and a cell state **and** a hidden state? It ties
# "keep" and "write" into one gate ($z$ and $1 - z$), drops the output gate, and keeps one state. Three gate blocks
# instead of four: a quarter fewer parameters and products per step.
#
# Sizes for the whole lesson, all **different** so that a mix-up of dimensions fails loudly: T = 5 steps, N = 3
# sequences, d = 4 inputs, h = 6 hidden units, and L = 2 layers where there are layers. `check` asserts and prints
# a one-line verdict (lesson 02). The recap is checked too:

# %%
T, N, d, h, L = 5, 3, 4, 6, 2
EXACT = {"atol": 1e-12, "rtol": 0.0}  # float64: equal up to rounding
F64 = torch.float64


def check(label, ours, theirs, **tol):
    """Assert that ours equals theirs within tolerance, then print a one-line verdict."""
    torch.testing.assert_close(ours, theirs, **tol)
    how = "within float32 defaults" if not tol else f"|Δ| ≤ {tol.get('atol', 0):.0e}"
    print(f"✓ {label:<50} matches, {how}")


def lstm_step(X, H, C, w_ih, w_hh, b_ih, b_hh):
    """Lesson 06: X [N, d], H, C [N, h] → H', C' [N, h]. Chunks in torch's order i, f, g, o."""
    i, f, g, o = (X @ w_ih.T + b_ih + H @ w_hh.T + b_hh).chunk(4, dim=-1)  # [N, h] each
    C = torch.sigmoid(f) * C + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(C), C


lstm_cell = nn.LSTMCell(d, h, dtype=F64)
X1, H1, C1 = torch.randn(N, d, dtype=F64), torch.randn(N, h, dtype=F64), torch.randn(N, h, dtype=F64)
with torch.no_grad():
    check("recap: lstm_step vs nn.LSTMCell (H', C')", lstm_step(X1, H1, C1, *lstm_cell.parameters()),
          lstm_cell(X1, (H1, C1)), **EXACT)

# %% [markdown]
# ## 2 · The GRU step, torch's form
#
# Two products, one for the input and one for the state, each [N, 3h], chunked in the order **r, z, n**
# (reset, update, new). The biases stay with their product: $b_{ih}$ with the input part, $b_{hh}$ with the state part.
#
# $$g_i = X_t W_{ih}^\top + b_{ih}, \qquad g_h = H_{t-1} W_{hh}^\top + b_{hh}, \qquad \text{both [N, 3h], chunked } (r, z, n)$$
#
# $$r = \sigma(g_{i,r} + g_{h,r}), \qquad z = \sigma(g_{i,z} + g_{h,z}), \qquad
# n = \tanh\big(g_{i,n} + r \odot g_{h,n}\big), \qquad H_t = (1 - z) \odot n + z \odot H_{t-1}$$
#
# | | shape | what it is |
# |---|---|---|
# | `weight_ih` = $[W_{ir}; W_{iz}; W_{in}]$ | [3h, d] | the input weights of the three blocks, stacked in the order r, z, n |
# | `weight_hh` = $[W_{hr}; W_{hz}; W_{hn}]$ | [3h, h] | the state weights, same order |
# | `bias_ih`, `bias_hh` | [3h], [3h] | $[b_{ir}; b_{iz}; b_{in}]$ and $[b_{hr}; b_{hz}; b_{hn}]$ |
# | $r$, $z$ | [N, h] | gates in (0, 1): $r$ = how much of the old state feeds the candidate, $z$ = how much of it is kept |
# | $n$ | [N, h] | the candidate, in (−1, 1): $\tanh(X_t W_{in}^\top + b_{in} + r \odot (H_{t-1} W_{hn}^\top + b_{hn}))$ |
# | $H_t$ | [N, h] | a per-unit mix of the candidate and the old state: **z = 1 keeps the old state** |
#
# Note where $r$ sits: it multiplies $H_{t-1} W_{hn}^\top + b_{hn}$, the state's **product plus its bias**, not
# $H_{t-1}$ itself. Sections 6 and 7 show why that matters. The drawing is made by the function below, so it cannot
# drift from the equations.

# %%
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")  # Unicode subscripts (no $…$ mathtext in drawings)


def draw_gru_cell(ax):
    """The GRU step as torch computes it: two products, chunked r | z | n, three gates, one mix."""
    boxes = {"x": (0.6, 0.4, "Xₜ  [N, d]", "#cfe2f3"), "H": (0.6, 3.7, "Hₜ₋₁  [N, h]", "#cfe2f3"),
             "gi": (3.0, 0.4, "gi = Xₜ W_ihᵀ + b_ih\n[N, 3h] = gi_r | gi_z | gi_n", "#eeeeee"),
             "gh": (3.0, 3.7, "gh = Hₜ₋₁ W_hhᵀ + b_hh\n[N, 3h] = gh_r | gh_z | gh_n", "#eeeeee"),
             "z": (7.0, 3.7, "z = σ(gi_z + gh_z)", "#d9ead3"), "r": (7.0, 2.05, "r = σ(gi_r + gh_r)", "#fce5cd"),
             "n": (7.0, 0.4, "n = tanh(gi_n + r ⊙ gh_n)", "#fff2cc"),
             "out": (10.3, 2.05, "Hₜ = (1 − z) ⊙ n\n     + z ⊙ Hₜ₋₁", "#d9d2e9")}
    art = {k: ax.text(x, y, text, ha="center", va="center", fontsize=9, bbox={"fc": fc, "ec": "#666666"})
           for k, (x, y, text, fc) in boxes.items()}
    color = {"z": "#38761d", "r": "#b45f06", "n": "#1155cc"}  # an arrow takes the colour of the gate it feeds (or leaves)
    edges = [("x", "gi", (1, .5), (0, .5)), ("H", "gh", (1, .5), (0, .5)), ("gh", "z", (1, .75), (0, .5)),
             ("gi", "z", (1, .9), (0, .15)), ("gh", "r", (1, .45), (0, .8)), ("gi", "r", (1, .65), (0, .2)),
             ("gh", "n", (1, .15), (0, .85)), ("gi", "n", (1, .3), (0, .4)), ("r", "n", (.5, 0), (.5, 1)),
             ("z", "out", (1, .5), (.35, 1)), ("n", "out", (1, .5), (.35, 0))]
    for a, b, from_, to in edges:
        ax.annotate("", xy=to, xycoords=art[b], xytext=from_, textcoords=art[a],
                    arrowprops={"arrowstyle": "->", "color": color.get(b, color.get(a, "#555555")), "shrinkA": 1, "shrinkB": 1})
    for x, y, label, c in ((5.1, 3.95, "gh_z", "z"), (4.9, 3.1, "gh_r", "r"), (4.2, 2.75, "gh_n (b_hn inside)", "n"),
                           (5.45, 2.6, "gi_z", "z"), (5.5, 1.55, "gi_r", "r"), (4.9, 0.2, "gi_n", "n"),
                           (7.15, 1.25, "r", "r"), (8.9, 3.1, "z", "z"), (8.9, 1.05, "n", "n")):
        ax.text(x, y, label, fontsize=8, color=color[c], ha="center", va="center", bbox={"fc": "white", "ec": "none", "pad": 0.3})
    ax.annotate("", xy=(0.8, 1), xycoords=art["out"], xytext=(0.5, 1), textcoords=art["H"],
                arrowprops={"arrowstyle": "->", "color": "#38761d", "lw": 1.5, "connectionstyle": "arc3,rad=-0.3"})
    ax.text(5.6, 5.45, "Hₜ₋₁ itself: kept where z ≈ 1", color="#38761d", fontsize=9, ha="center")
    ax.set_xlim(-0.3, 11.5)
    ax.set_ylim(-0.1, 5.8)
    ax.axis("off")
    ax.set_title("one GRU step in torch's form: r multiplies gh_n = Hₜ₋₁ W_hnᵀ + b_hn, not Hₜ₋₁", fontsize=11)


fig, ax = plt.subplots(figsize=(11, 4.6))
draw_gru_cell(ax)
plt.show()

# %% [markdown]
# ## 3 · One step by hand
#
# The equations as two functions: `gru_gates` returns the three blocks, `gru_step` mixes them. Every later piece of
# the lesson (the cell, the layer, the widget) calls these two, so the formula is written once.

# %%
def gru_gates(X, H, w_ih, w_hh, b_ih=None, b_hh=None):
    """torch's GRU gates. X [N, d], H [N, h], w_ih [3h, d], w_hh [3h, h], b_ih, b_hh [3h] or None (bias=False).
    Returns r, z, n, each [N, h]."""
    gi, gh = X @ w_ih.T, H @ w_hh.T  # [N, 3h] each: the input part and the state part
    if b_ih is not None:
        gi, gh = gi + b_ih, gh + b_hh  # b_hh stays with gh: its n third must sit inside r ⊙ (…)
    (gi_r, gi_z, gi_n), (gh_r, gh_z, gh_n) = gi.chunk(3, -1), gh.chunk(3, -1)  # torch's order: r, z, n
    r = torch.sigmoid(gi_r + gh_r)  # reset gate [N, h]
    z = torch.sigmoid(gi_z + gh_z)  # update gate [N, h]
    n = torch.tanh(gi_n + r * gh_n)  # candidate [N, h]: r multiplies H W_hnᵀ + b_hn, not H
    return r, z, n


def gru_step(X, H, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step: X [N, d], H [N, h] → H' [N, h]."""
    _, z, n = gru_gates(X, H, w_ih, w_hh, b_ih, b_hh)  # r has done its work inside n
    return (1 - z) * n + z * H  # z = 1 keeps the old state, z = 0 takes the candidate

# %% [markdown]
# `nn.GRUCell(d, h)` holds exactly these four tensors. One step with its weights, against the cell itself:

# %%
gru_cell = nn.GRUCell(d, h, dtype=F64)
for name, p in gru_cell.named_parameters():
    print(f"  {name:<10} {tuple(p.shape)}")
r1, z1, n1 = gru_gates(X1, H1, *gru_cell.parameters())
print(f"r {list(r1.shape)}, z {list(z1.shape)}, n {list(n1.shape)}; z in ({z1.min():.4f}, {z1.max():.4f})")
with torch.no_grad():
    check("gru_step vs nn.GRUCell, one step", gru_step(X1, H1, *gru_cell.parameters()), gru_cell(X1, H1), **EXACT)

# %% [markdown]
# ## 4 · `ScratchGRUCell` beside `nn.GRUCell`
#
# A module with `nn.GRUCell`'s constructor (`input_size, hidden_size, bias=True, device=None, dtype=None`) and
# torch's parameters: names, shapes, **order**, and torch's initialisation $U(-1/\sqrt{h}, 1/\sqrt{h})$ drawn in
# registration order, so that the same seed gives the same weights. With `bias=False`, `nn.GRUCell` keeps the
# names `bias_ih`, `bias_hh` as `None` (they are not parameters); `register_parameter(name, None)` does the same.
#
# `forward(input, hx=None)` takes a batch (N, d) with `hx` (N, h), or one unbatched sample (d,) with `hx` (h,).
# Its checks say what is wrong, and a tuple `(h, c)`, an LSTM's state, gets a message that says so (torch's
# GRU cell says `'tuple' object has no attribute 'dim'`: section 11).

# %%
def check_gru_hx(hx, want, axes):
    """A GRU's state is one tensor: refuse an LSTM-style (h, c) tuple clearly, and a wrong shape.
    want: the expected shape; axes: its names, e.g. ("num_layers", "N", "h")."""
    layout = f"({', '.join(axes)}) = {want}"
    if isinstance(hx, (tuple, list)):
        raise TypeError(f"a GRU has one state h, not a pair (h, c) as an LSTM: got a {type(hx).__name__} of "
                        f"{len(hx)}; pass the hidden state alone, a tensor {layout}")
    got = tuple(hx.shape)
    if got != want:
        hint = (f"the leading axis, {axes[0]}, is missing" if got == want[1:] else
                "h0 is never batch-first" if len(got) == 3 and sorted(got) == sorted(want) else
                "one state per sequence in the batch" if got[-1] == want[-1] else f"each state holds h = {want[-1]} values")
        raise RuntimeError(f"expected the hidden state {layout}, got {got}: {hint}")


class ScratchGRUCell(nn.Module):
    """One GRU step, stored as nn.GRUCell stores it: weight_ih [3h, d], weight_hh [3h, h], biases [3h]."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size, **kw))  # [W_ir; W_iz; W_in]
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size, **kw))  # [W_hr; W_hz; W_hn]
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size, **kw))
            self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size, **kw))
        else:  # as nn.GRUCell: the attributes exist and are None
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        for p in self.parameters():
            nn.init.uniform_(p, -1.0 / math.sqrt(hidden_size), 1.0 / math.sqrt(hidden_size))

    def forward(self, input, hx=None):
        if input.dim() not in (1, 2):
            raise ValueError(f"ScratchGRUCell: expected input (N, d) or (d,), got a {input.dim()}-D tensor {tuple(input.shape)}")
        X = input if input.dim() == 2 else input.unsqueeze(0)  # [N, d]
        if X.shape[1] != self.input_size:
            raise RuntimeError(f"input has {X.shape[1]} features, expected input_size={self.input_size}")
        batched = input.dim() == 2
        want, axes = ((X.shape[0], self.hidden_size), ("N", "h")) if batched else ((self.hidden_size,), ("h",))
        if hx is None:
            hx = X.new_zeros(want)
        check_gru_hx(hx, want, axes)
        H = gru_step(X, hx.reshape(X.shape[0], self.hidden_size), self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return H if batched else H.squeeze(0)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

# %% [markdown]
# Same names, shapes, order and initial values as `nn.GRUCell` from the same seed, with and without bias; then
# `load_state_dict` both ways.

# %%
for bias in (True, False):
    torch.manual_seed(1)
    t_init = nn.GRUCell(d, h, bias=bias)
    torch.manual_seed(1)
    s_init = ScratchGRUCell(d, h, bias=bias)
    names = [(n_, tuple(p.shape)) for n_, p in t_init.named_parameters()]
    assert [(n_, tuple(p.shape)) for n_, p in s_init.named_parameters()] == names
    assert all(torch.equal(a, b) for a, b in zip(s_init.parameters(), t_init.parameters()))
    assert (s_init.bias_ih is None) == (t_init.bias_ih is None) == (not bias)
    print(f"✓ bias={str(bias):<5} {s_init}: same parameters and initial values as nn.GRUCell: "
          + ", ".join(n_ for n_, _ in names))
scratch_cell = ScratchGRUCell(d, h, dtype=F64)
scratch_cell.load_state_dict(gru_cell.state_dict())  # torch → scratch
nn.GRUCell(d, h, dtype=F64).load_state_dict(ScratchGRUCell(d, h, dtype=F64).state_dict())  # scratch → torch
print("✓ load_state_dict works both ways")

# %% [markdown]
# **Parity, values and gradients.** `parity` runs a torch module and its scratch twin forward on the same input and
# state, then backward with random upstream gradients (lesson 02: a random `g` weighs every entry differently, so a
# mistake anywhere shows), and asserts that everything matches: the outputs, and the gradients with respect to the
# input, the initial state and every parameter. It works for cells (one output) and layers (`output`, `h_n`).

# %%
def parity(torch_mod, scratch_mod, x, hx=None, **tol):
    """Forward and backward through both; assert outputs and every gradient match. Return how many tensors."""
    x_t, x_s = x.clone().requires_grad_(), x.clone().requires_grad_()
    h_t, h_s = (hx.clone().requires_grad_(), hx.clone().requires_grad_()) if hx is not None else (None, None)
    out_t, out_s = torch_mod(x_t, h_t), scratch_mod(x_s, h_s)
    out_t, out_s = (out_t, out_s) if isinstance(out_t, tuple) else ((out_t,), (out_s,))  # a cell: one output
    pairs = [(name, o_s, o_t) for name, o_s, o_t in zip(("output", "h_n"), out_s, out_t)]
    for name, ours, theirs in pairs:  # values (and shapes) first, then the backward pass
        torch.testing.assert_close(ours, theirs, **tol, msg=lambda m, name=name: f"{name} differs: {m}")
    gs = [torch.randn_like(o) for o in out_t]  # random upstream gradients
    sum((o * g).sum() for o, g in zip(out_t, gs)).backward()
    sum((o * g).sum() for o, g in zip(out_s, gs)).backward()
    pairs.append(("grad input", x_s.grad, x_t.grad))
    if hx is not None:
        pairs.append(("grad h0", h_s.grad, h_t.grad))
    torch_params = dict(torch_mod.named_parameters())
    pairs += [(f"grad {n_}", p.grad, torch_params[n_].grad) for n_, p in scratch_mod.named_parameters()]
    for name, ours, theirs in pairs[len(out_t):]:
        torch.testing.assert_close(ours, theirs, **tol, msg=lambda m, name=name: f"{name} differs: {m}")
    return len(pairs)

# %% [markdown]
# The cell, in float64 with |Δ| ≤ 1e-12: with and without bias, batched and unbatched, `hx` given and omitted
# (zeros). Each entry: how many tensors were asserted equal (the output, the gradients of the input, of `hx` if
# given, and of every parameter).

# %%
for bias in (True, False):
    marks = []
    for batched in (True, False):
        for give_hx in (True, False):
            t_cell = nn.GRUCell(d, h, bias=bias, dtype=F64)
            s_cell = ScratchGRUCell(d, h, bias=bias, dtype=F64)
            s_cell.load_state_dict(t_cell.state_dict())
            x = torch.randn(*((N, d) if batched else (d,)), dtype=F64)
            hx = torch.randn(*((N, h) if batched else (h,)), dtype=F64) if give_hx else None
            marks.append(f"{'batched' if batched else 'unbatched'}, hx {'given' if give_hx else 'None'}: "
                         f"{parity(t_cell, s_cell, x, hx, **EXACT)} ✓")
    print(f"bias={str(bias):<5}  " + "   ".join(marks))
print("✓ ScratchGRUCell equals nn.GRUCell: output and all gradients, |Δ| ≤ 1e-12")

# %% [markdown]
# The usual wrong calls of a cell, side by side: what `nn.GRUCell` says and what `ScratchGRUCell` says.

# %%
bad_cell_calls = [("wrong feature size", torch.randn(N, d + 1, dtype=F64), None),
                  ("hx for another batch size", X1, torch.zeros(N + 1, h, dtype=F64)),
                  ("a sequence (T, N, d) given to a cell", torch.randn(T, N, d, dtype=F64), None)]
for label, x_bad, hx in bad_cell_calls:
    print(label)
    for module in (gru_cell, scratch_cell):
        try:
            module(x_bad, hx)
        except (RuntimeError, ValueError) as err:
            print(f"  {type(module).__name__:<15} {type(err).__name__}: {err}")

# %% [markdown]
# ## 5 · `ScratchGRU` beside `nn.GRU`
#
# The layer loops the step over time (lesson 02) and stacks layers (lesson 04): layer k > 0 reads the h outputs
# of layer k − 1, so `weight_ih_l1` is [3h, h]; dropout acts on the output of every layer but the last, in training
# mode only. The constructor takes every argument of `nn.GRU` with its default; this lesson's layer runs **one
# direction** and refuses `bidirectional=True` and packed input with a message: **lesson 08** builds the complete
# drop-in layer. As before, one function checks the call and brings the input to one layout, X [T, N, d], H0 [L, N, h].

# %%
def gru_inputs(gru, input, hx):
    """Check gru(input, hx). Returns X [T, N, d], H0 [L, N, h] (zeros if hx is None), unbatched."""
    if isinstance(input, PackedSequence):
        raise NotImplementedError("packed input: ScratchGRU of lesson 07 takes tensors; lesson 08 adds PackedSequence")
    if input.dim() not in (2, 3):
        raise ValueError(f"expected input (T, d) or {'(N, T, d)' if gru.batch_first else '(T, N, d)'}, "
                         f"got a {input.dim()}-D tensor {tuple(input.shape)}")
    unbatched = input.dim() == 2  # batch_first is ignored for unbatched input, as in torch
    X = input.unsqueeze(1) if unbatched else input.transpose(0, 1) if gru.batch_first else input
    if X.shape[-1] != gru.input_size:
        raise RuntimeError(f"input has {X.shape[-1]} features in its last dimension, expected input_size={gru.input_size}")
    if X.shape[0] == 0:
        raise RuntimeError("the sequence is empty (T = 0 steps): no step to run, no last state to return")
    want = (gru.num_layers, gru.hidden_size) if unbatched else (gru.num_layers, X.shape[1], gru.hidden_size)
    if hx is None:
        return X, X.new_zeros(gru.num_layers, X.shape[1], gru.hidden_size), unbatched
    check_gru_hx(hx, want, ("num_layers", "h") if unbatched else ("num_layers", "N", "h"))  # never batch-first
    return X, (hx.unsqueeze(1) if unbatched else hx), unbatched

# %% [markdown]
# The module. Per layer torch registers `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}`, in that
# order, layer by layer; we do the same. `forward` is the loop over layers and steps around `gru_step`.

# %%
class ScratchGRU(nn.Module):
    """nn.GRU from scratch, one direction, num_layers ≥ 1: H_t = (1 − z) ⊙ n + z ⊙ H_{t−1} per layer."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__()
        if bidirectional:
            raise NotImplementedError("bidirectional=True: this lesson's ScratchGRU runs one direction; lesson 08 adds the reverse one")
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        if not 0 <= dropout <= 1:
            raise ValueError(f"dropout should be a number in range [0, 1], got {dropout}")
        if dropout > 0 and num_layers == 1:  # torch's warning, word for word (lesson 04)
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                          f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}")
        self.input_size, self.hidden_size, self.num_layers, self.bias = input_size, hidden_size, num_layers, bias
        self.batch_first, self.dropout, self.bidirectional = batch_first, float(dropout), False
        kw = {"device": device, "dtype": dtype}
        for k in range(num_layers):
            d_k = input_size if k == 0 else hidden_size  # layer k > 0 reads layer k − 1's outputs
            setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(3 * hidden_size, d_k, **kw)))
            setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(3 * hidden_size, hidden_size, **kw)))
            if bias:
                setattr(self, f"bias_ih_l{k}", nn.Parameter(torch.empty(3 * hidden_size, **kw)))
                setattr(self, f"bias_hh_l{k}", nn.Parameter(torch.empty(3 * hidden_size, **kw)))
        for p in self.parameters():  # torch's init, in registration order: U(-1/√h, 1/√h)
            nn.init.uniform_(p, -1.0 / math.sqrt(hidden_size), 1.0 / math.sqrt(hidden_size))

    def weights(self, k):
        """(weight_ih, weight_hh, bias_ih, bias_hh) of layer k; the biases None when bias=False."""
        names = [f"{n_}_l{k}" for n_ in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        return tuple(getattr(self, n_) if self.bias or n_.startswith("weight") else None for n_ in names)

    def forward(self, input, hx=None):
        X, H0, unbatched = gru_inputs(self, input, hx)  # X [T, N, d], H0 [L, N, h]
        finals = []
        for k in range(self.num_layers):
            H, states = H0[k], []
            for t in range(X.shape[0]):
                H = gru_step(X[t], H, *self.weights(k))  # [N, h]
                states.append(H)
            X = torch.stack(states)  # [T, N, h]: layer k's output, layer k + 1's input
            finals.append(H)
            if self.training and self.dropout > 0 and k < self.num_layers - 1:  # never after the top layer
                X = F.dropout(X, self.dropout, training=True)
        h_n = torch.stack(finals)  # [L, N, h]
        if unbatched:
            return X.squeeze(1), h_n.squeeze(1)  # (T, h) and (L, h)
        return (X.transpose(0, 1) if self.batch_first else X), h_n  # h_n is never batch-first

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"

# %% [markdown]
# Same parameters as `nn.GRU`, from the same seed, and `load_state_dict` both ways:

# %%
for kwargs in ({}, {"num_layers": 3}, {"num_layers": 2, "bias": False}):
    torch.manual_seed(2)
    t_init = nn.GRU(d, h, **kwargs)
    torch.manual_seed(2)
    s_init = ScratchGRU(d, h, **kwargs)
    names = [(n_, tuple(p.shape)) for n_, p in t_init.named_parameters()]
    assert [(n_, tuple(p.shape)) for n_, p in s_init.named_parameters()] == names
    assert all(torch.equal(a, b) for a, b in zip(s_init.parameters(), t_init.parameters()))
    print(f"✓ {str(kwargs or 'defaults'):<34} {len(names):>2} parameters: same names, shapes, initial values")
print(f"  e.g. weight_ih_l0 {tuple(s_init.weight_ih_l0.shape)} = [3h, d], weight_ih_l1 "
      f"{tuple(s_init.weight_ih_l1.shape)} = [3h, h]")
scratch_gru, torch_gru = ScratchGRU(d, h, num_layers=L, dtype=F64), nn.GRU(d, h, num_layers=L, dtype=F64)
torch_gru.load_state_dict(scratch_gru.state_dict())  # scratch → torch
scratch_gru.load_state_dict(nn.GRU(d, h, num_layers=L, dtype=F64).state_dict())  # torch → scratch
print("✓ load_state_dict works both ways")

# %% [markdown]
# The grid, in **float64** with |Δ| ≤ 1e-12: one and two layers × bias × `batch_first` × batched and unbatched
# input × `h0` given and omitted, 32 runs. Each entry is the number of tensors asserted equal: `output`, `h_n`, the
# gradients of the input, of `h0` if given, and of every parameter.

# %%
print(f"{'L':<3}{'bias':<7}{'batch_first':<13}" + "".join(f"{c:<14}" for c in ("batched h0", "batched None",
                                                                                 "unbatched h0", "unbatched None")).rstrip())
for num_layers in (1, L):
    for bias in (True, False):
        for batch_first in (False, True):
            kw = {"num_layers": num_layers, "bias": bias, "batch_first": batch_first, "dtype": F64}
            marks = []
            for batched in (True, False):
                for give_h0 in (True, False):
                    s_gru, t_gru = ScratchGRU(d, h, **kw), nn.GRU(d, h, **kw)
                    t_gru.load_state_dict(s_gru.state_dict())  # scratch → torch
                    x = torch.randn(*(((N, T, d) if batch_first else (T, N, d)) if batched else (T, d)), dtype=F64)
                    h0 = torch.randn(*((num_layers, N, h) if batched else (num_layers, h)), dtype=F64)
                    marks.append(f"{parity(t_gru, s_gru, x, h0 if give_h0 else None, **EXACT)} ✓")
            print(f"{num_layers:<3}{str(bias):<7}{str(batch_first):<13}" + "".join(f"{m:<14}" for m in marks).rstrip())
print("✓ = output, h_n and every gradient asserted equal to nn.GRU's, |Δ| ≤ 1e-12")

# %% [markdown]
# Three more: **dropout** between layers in training mode (the same seed before each call, so both draw the same
# masks), and in evaluation mode, where it does nothing; and **float32** on the example sizes of PyTorch's
# documentation, within `assert_close`'s float32 defaults (not bit for bit: the same sums in another order).

# %%
drop = nn.GRU(d, h, num_layers=3, dropout=0.5, dtype=F64)
s_drop = ScratchGRU(d, h, num_layers=3, dropout=0.5, dtype=F64)
s_drop.load_state_dict(drop.state_dict())
x = torch.randn(T, N, d, dtype=F64)
with torch.random.fork_rng():
    torch.manual_seed(7)
    out_t = drop(x)[0]
    torch.manual_seed(7)
    out_s = s_drop(x)[0]
check("dropout=0.5, train mode, 3 layers", out_s, out_t, **EXACT)
drop.eval()
s_drop.eval()
with torch.no_grad():
    no_drop = nn.GRU(d, h, num_layers=3, dtype=F64)
    no_drop.load_state_dict(drop.state_dict())
    check("dropout=0.5, eval mode = no dropout", s_drop(x)[0], no_drop(x)[0], **EXACT)
gru32 = nn.GRU(10, 20, num_layers=2)  # the docs' example
s32 = ScratchGRU(10, 20, num_layers=2)
s32.load_state_dict(gru32.state_dict())
n32 = parity(gru32, s32, torch.randn(5, 3, 10), torch.randn(2, 3, 20))
print(f"✓ float32, nn.GRU(10, 20, num_layers=2): {n32} tensors match within the float32 defaults")

# %% [markdown]
# The refusals and the wrong calls, side by side with `nn.GRU` where it has a message:

# %%
for kwargs in ({"bidirectional": True}, {"dropout": 1.5}):
    try:
        ScratchGRU(d, h, **kwargs)
    except (NotImplementedError, ValueError) as err:
        print(f"ScratchGRU(d, h, {', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) → {type(err).__name__}: {err}")
try:
    scratch_gru(pack_padded_sequence(torch.randn(T, N, d, dtype=F64), [5, 4, 2]))
except NotImplementedError as err:
    print(f"ScratchGRU(packed input) → NotImplementedError: {err}")
bad_calls = [("h0 without the layer axis", torch.randn(T, N, d, dtype=F64), torch.zeros(N, h, dtype=F64)),
             ("h0 batch-first (N, L, h)", torch.randn(T, N, d, dtype=F64), torch.zeros(N, L, h, dtype=F64)),
             ("wrong feature size", torch.randn(T, N, d + 1, dtype=F64), None)]
for label, x_bad, hx in bad_calls:
    print(label)
    for module in (torch_gru, scratch_gru):
        try:
            module(x_bad, hx)
        except (RuntimeError, ValueError) as err:
            print(f"  {type(module).__name__:<10} {type(err).__name__}: {err}")

# %% [markdown]
# ## 6 · torch's form vs the paper's form
#
# The GRU of Cho et al. (2014, arXiv:1406.1078v3), and the from-scratch GRU of *Dive into Deep Learning*, apply the
# reset gate to the state **before** the product:
#
# $$n_{\text{paper}} = \tanh\big(X_t W_{in}^\top + b_{in} + (r \odot H_{t-1}) W_{hn}^\top + b_{hn}\big)
# \qquad\text{vs torch:}\qquad n = \tanh\big(X_t W_{in}^\top + b_{in} + r \odot (H_{t-1} W_{hn}^\top + b_{hn})\big)$$
#
# Both are GRUs, and both train. torch computes the second, as cuDNN does (Keras too, with its default
# `reset_after=True`). One advantage of that form: the state's three products need nothing from $r$, so
# $H_{t-1} W_{hh}^\top$ is **one** [N, 3h] product, done before any gate is known, while the paper's form must wait
# for $r$ before the product with $W_{hn}$. They are different functions of the same weights, so a formula copied
# from the paper or from d2l cannot match `nn.GRU` (a much reported confusion:
# pytorch/pytorch#8153, #99531, #100646). Here is the paper's step, written gate by gate, run with `nn.GRU`'s weights:

# %%
def gru_step_paper(X, H, w_ih, w_hh, b_ih, b_hh):
    """Cho et al. (2014, arXiv v3), d2l: the reset gate acts on H before the product with W_hn. Shapes as gru_step."""
    W_ir, W_iz, W_in = w_ih.chunk(3)  # [h, d] each
    W_hr, W_hz, W_hn = w_hh.chunk(3)  # [h, h] each
    b_ir, b_iz, b_in = b_ih.chunk(3)
    b_hr, b_hz, b_hn = b_hh.chunk(3)
    r = torch.sigmoid(X @ W_ir.T + b_ir + H @ W_hr.T + b_hr)
    z = torch.sigmoid(X @ W_iz.T + b_iz + H @ W_hz.T + b_hz)
    n_paper = torch.tanh(X @ W_in.T + b_in + (r * H) @ W_hn.T + b_hn)  # W_hn (r ⊙ H): the paper's form
    return (1 - z) * n_paper + z * H


def run_steps(step, X, H, weights):
    """Loop a step function over X [T, N, d] from H [N, h]; return the states [T, N, h]."""
    states = []
    for t in range(X.shape[0]):
        H = step(X[t], H, *weights)
        states.append(H)
    return torch.stack(states)

# %% [markdown]
# The same weights, the same input and initial state, both forms over T steps. torch's form matches `nn.GRU`; the
# paper's form does not, and `assert_close` says so:

# %%
torch.manual_seed(3)
gru1 = nn.GRU(d, h, dtype=F64)
w1 = tuple(gru1.parameters())  # weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0
X, H0 = torch.randn(T, N, d, dtype=F64), torch.randn(N, h, dtype=F64)
with torch.no_grad():
    out_torch = gru1(X, H0[None])[0]
    out_ours, out_paper = run_steps(gru_step, X, H0, w1), run_steps(gru_step_paper, X, H0, w1)
check("torch's form (gru_step) vs nn.GRU", out_ours, out_torch, **EXACT)
gap_paper = (out_paper - out_torch).abs().max().item()
try:
    torch.testing.assert_close(out_paper, out_torch)
except AssertionError as err:
    print("✗ paper's form vs nn.GRU: assert_close says", str(err).splitlines()[0])
print(f"  max |paper − torch| over {T} steps = {gap_paper:.4f}")
assert gap_paper > 0.05

# %% [markdown]
# When do the two agree? Only where $r$ does not matter, for example $r \equiv 1$ (the reset gate fully open): then
# $(1 \odot H) W_{hn}^\top + b_{hn} = 1 \odot (H W_{hn}^\top + b_{hn})$. A bias of +40 on the r block of `bias_hh`
# pins $r$ to 1 (to float64 rounding), and the two forms meet:

# %%
b_open = w1[3].detach().clone()
b_open[:h] += 40.0  # r = σ(… + 40) = 1 to rounding: the reset gate fully open
w_open = (w1[0], w1[1], w1[2], b_open)
with torch.no_grad():
    check("r ≡ 1: paper's form = torch's form", run_steps(gru_step_paper, X, H0, w_open),
          run_steps(gru_step, X, H0, w_open), **EXACT)

# %% [markdown]
# ## 7 · The bias that cannot be folded
#
# In an RNN or an LSTM, $b_{ih}$ and $b_{hh}$ are simply added together: only their sum matters, so two biases are
# one too many, and "folding" $b_{hh}$ into $b_{ih}$ (new $b_{ih} = b_{ih} + b_{hh}$, new $b_{hh} = 0$) changes
# nothing. In a GRU it does for one third: $b_{hn}$ sits **inside** $r \odot (H W_{hn}^\top + b_{hn})$, so it is scaled
# by $r$ while $b_{in}$ is not. Folding the r and z thirds is harmless; folding the n third changes the output.
# `fold` makes a copy of a module with (some of) `bias_hh_l0` moved into `bias_ih_l0`:

# %%
def fold(module, rows=slice(None)):
    """A copy of a one-layer nn.RNN/LSTM/GRU with bias_hh_l0[rows] added to bias_ih_l0[rows] and set to 0."""
    folded = type(module)(module.input_size, module.hidden_size, dtype=F64)
    sd = {k: v.clone() for k, v in module.state_dict().items()}
    sd["bias_ih_l0"][rows] += sd["bias_hh_l0"][rows]
    sd["bias_hh_l0"][rows] = 0.0
    folded.load_state_dict(sd)
    return folded


def max_gap(a, b, x):
    with torch.no_grad():
        return (a(x)[0] - b(x)[0]).abs().max().item()


torch.manual_seed(4)
rnn_, lstm_, gru_ = nn.RNN(d, h, dtype=F64), nn.LSTM(d, h, dtype=F64), nn.GRU(d, h, dtype=F64)
x = torch.randn(T, N, d, dtype=F64)
for label, module in (("nn.RNN", rnn_), ("nn.LSTM", lstm_)):
    gap = max_gap(module, fold(module), x)
    assert gap < 1e-14
    print(f"{label:<8} all of b_hh folded into b_ih:        max |Δ| < 1e-14 ✓  (rounding only: b_ih + b_hh is all that acts)")
gap_rz = max_gap(gru_, fold(gru_, slice(0, 2 * h)), x)
assert gap_rz < 1e-14
print(f"{'nn.GRU':<8} the r and z thirds folded:           max |Δ| < 1e-14 ✓  (r, z see b_ih + b_hh)")
gap_gru = max_gap(gru_, fold(gru_), x)
assert gap_gru > 0.02
print(f"{'nn.GRU':<8} all of b_hh folded (b_hn included):  max |Δ| = {gap_gru:.4f} ✗  (b_hn is scaled by r)")

# %% [markdown]
# So of a GRU's six stored bias blocks (each [h]) four act independently: $b_{ir} + b_{hr}$, $b_{iz} + b_{hz}$,
# $b_{in}$ and $b_{hn}$. (Of an LSTM's eight, only the four sums act.) A from-scratch GRU with one bias per gate, as
# d2l's, cannot represent every `nn.GRU`; one with torch's two biases but the paper's form cannot either (section 6).

# %% [markdown]
# ## 8 · z = 1 keeps the old state
#
# In torch, $H_t = (1 - z) \odot n + z \odot H_{t-1}$: where $z$ is 1, the unit **keeps its old value**; where it is 0,
# it takes the candidate (as in Cho et al. 2014 and d2l). Other texts write it the other way round,
# $H_t = z \odot n + (1 - z) \odot H_{t-1}$ (e.g. Chung et al. 2014, arXiv:1412.3555, and colah's blog post on LSTMs;
# see pytorch/pytorch#20129): the same family of models, but the meaning of $z$, and the sign of its weights, are
# flipped. `nn.GRUCell` itself shows it: a bias of ±40 on the z block of `bias_hh` pins $z$ to 1 or to 0.

# %%
def with_z_bias(cell, shift):
    """A copy of an nn.GRUCell with `shift` added to the z block of bias_hh (rows h … 2h)."""
    copy = nn.GRUCell(cell.input_size, cell.hidden_size, dtype=F64)
    sd = {k: v.clone() for k, v in cell.state_dict().items()}
    sd["bias_hh"][cell.hidden_size:2 * cell.hidden_size] += shift
    copy.load_state_dict(sd)
    return copy


with torch.no_grad():
    keep = with_z_bias(gru_cell, +40.0)  # z = 1
    check("nn.GRUCell with z = 1: H' = H (the old state)", keep(X1, H1), H1, **EXACT)
    take = with_z_bias(gru_cell, -40.0)  # z = 0
    n_take = gru_gates(X1, H1, *take.parameters())[2]
    check("nn.GRUCell with z = 0: H' = n (the candidate)", take(X1, H1), n_take, **EXACT)

# %% [markdown]
# The other convention is torch's with $z$ replaced by $1 - z$. Since $1 - \sigma(a) = \sigma(-a)$, a model written
# that way equals an `nn.GRU` whose z rows (weights and both biases) are **negated**: the same models, different
# weights. A step in the other convention, and the conversion, checked:

# %%
def gru_step_z_swapped(X, H, w_ih, w_hh, b_ih, b_hh):
    """The other convention: H' = z ⊙ n + (1 − z) ⊙ H, z = 1 takes the candidate."""
    _, z, n = gru_gates(X, H, w_ih, w_hh, b_ih, b_hh)
    return z * n + (1 - z) * H


def negate_z_rows(*tensors):
    """Negate the z block (rows h … 2h) of each stacked tensor [3h, …]."""
    flipped = [t.detach().clone() for t in tensors]
    for t in flipped:
        t[h:2 * h] *= -1
    return flipped


with torch.no_grad():
    swapped = gru_step_z_swapped(X1, H1, *gru_cell.parameters())
    print(f"same weights, other convention: max |Δ| vs nn.GRUCell = {(swapped - gru_cell(X1, H1)).abs().max():.4f}")
    check("other convention, z rows negated = nn.GRUCell", gru_step_z_swapped(X1, H1, *negate_z_rows(*gru_cell.parameters())),
          gru_cell(X1, H1), **EXACT)

# %% [markdown]
# ## 9 · LSTM and GRU side by side
#
# **Parameters.** Per layer, with G gate blocks, $d_k$ inputs (d for layer 0, h above) and two bias vectors:
# $G \cdot h \cdot (d_k + h) + 2 \cdot G \cdot h$. G = 1 for `nn.RNN`, 3 for `nn.GRU`, 4 for `nn.LSTM`: a GRU has
# exactly **3/4** of an LSTM's parameters. The formula, against the modules' own parameters:

# %%
def param_count(G, d_in, hidden, layers=1, bias=True):
    return sum(G * hidden * ((d_in if k == 0 else hidden) + hidden) + (2 * G * hidden if bias else 0) for k in range(layers))


print(f"{'':<28}{'nn.RNN':>8}{'nn.GRU':>8}{'nn.LSTM':>9}   GRU/LSTM")
for d_in, hidden, layers in ((d, h, 1), (10, 20, 1), (d, h, L), (64, 128, 2)):
    counts = []
    for G, cls in ((1, nn.RNN), (3, nn.GRU), (4, nn.LSTM)):
        n_params = sum(p.numel() for p in cls(d_in, hidden, num_layers=layers).parameters())
        assert n_params == param_count(G, d_in, hidden, layers)
        counts.append(n_params)
    print(f"d={d_in:<3} h={hidden:<4} layers={layers:<8}{counts[0]:>8}{counts[1]:>8}{counts[2]:>9}   {counts[1] / counts[2]:.4f}")
print("✓ every count equals Σ_k G·h·(d_k + h) + 2·G·h")

# %% [markdown]
# **Gates.** What each piece of one cell does in the other:
#
# | job | LSTM (lesson 06) | GRU (this lesson) |
# |---|---|---|
# | keep some of the old memory | forget gate $f$, on the cell state $C$ | update gate $z$, on $H$ itself |
# | write some of the candidate | input gate $i$, free of $f$ | $1 - z$: **tied** to $z$ (what is kept is not written) |
# | the candidate | $\tanh(X W_{ig}^\top + H W_{hg}^\top + b)$, reads all of $H$ | $n = \tanh(X W_{in}^\top + b_{in} + r \odot (H W_{hn}^\top + b_{hn}))$ |
# | how much of the old state feeds the candidate | (always all of it) | reset gate $r$ |
# | what is shown outside | output gate $o$: $H = o \odot \tanh(C)$ | nothing extra: the state is the output |
# | states | two, $H$ and $C$ (`hx = (h0, c0)`) | one, $H$ (`hx = h0`) |
# | gate blocks, chunk order | 4: i, f, g, o | 3: r, z, n |
#
# The tie is the GRU's main economy: an LSTM can keep all of $C$ **and** add a lot ($f = i = 1$), a GRU cannot. The
# LSTM's $C$ is an unsquashed sum; the GRU's state is a convex mix of values in (−1, 1), so it stays in (−1, 1) when
# it starts there. Which works better depends on the task (lesson 09 compares their memory).

# %% [markdown]
# ## 10 · Play with the update gate
#
# How long does a GRU remember its initial state? Where $z \approx 1$ the unit passes its old value on unchanged, so
# the memory of $H_0$ decays roughly like the product of the $z$'s over time. The widget runs one fixed GRU cell
# (h = 8 units) twice on the same inputs, once from a random $H_0$ and once from zeros; the difference between the
# two runs is what is left of $H_0$. You choose a **bias added to z's pre-activation** (the z block of `bias_hh`),
# the **sequence length** and the **input pattern**. Left: ‖H_t(H_0) − H_t(0)‖ / ‖H_0‖ over time, and dashed, the
# part carried straight through by the gates alone, ‖(z_1 ⊙ … ⊙ z_t) ⊙ H_0‖ / ‖H_0‖. Right: z of every unit at every
# step. First the computation, then the callback that draws it.

# %%
H_W, T_MAX = 8, 40
torch.manual_seed(5)
cell_w = nn.GRUCell(d, H_W, dtype=F64)
x_w = torch.randn(T_MAX, 1, d, dtype=F64)  # one sequence, fixed inputs
h0_w = torch.randn(1, H_W, dtype=F64)
PATTERNS = {"random inputs": x_w, "zeros": torch.zeros_like(x_w),
            "one pulse at step 1": torch.cat([3 * x_w[:1], torch.zeros_like(x_w[1:])])}


def memory_of_h0(z_bias, steps, pattern):
    """Run cell_w with z_bias added to z's pre-activation, from h0_w and from zeros.
    Returns survival [steps], the straight-through part [steps], z [steps, H_W] (of the run from h0_w)."""
    w_ih, w_hh, b_ih, b_hh = (p.detach() for p in cell_w.parameters())
    b_hh = b_hh.clone()
    b_hh[H_W:2 * H_W] += z_bias  # the z block
    X_p, H, H_zero, kept = PATTERNS[pattern], h0_w, torch.zeros_like(h0_w), torch.ones_like(h0_w)
    survival, direct, zs = [], [], []
    for t in range(steps):
        z = gru_gates(X_p[t], H, w_ih, w_hh, b_ih, b_hh)[1]  # [1, H_W]
        H, H_zero, kept = gru_step(X_p[t], H, w_ih, w_hh, b_ih, b_hh), gru_step(X_p[t], H_zero, w_ih, w_hh, b_ih, b_hh), kept * z
        survival.append(((H - H_zero).norm() / h0_w.norm()).item())
        direct.append(((kept * h0_w).norm() / h0_w.norm()).item())
        zs.append(z[0])
    return survival, direct, torch.stack(zs)

# %% [markdown]
# The callback. It returns a dict of what it computed; a pattern it does not know gets a "⚠" message and `None`.

# %%
def show_update_gate(z_bias=2.0, steps=20, pattern="random inputs"):
    """Widget callback: how much of H_0 survives, and z over time. Returns a dict, or None."""
    if pattern not in PATTERNS or not 1 <= steps <= T_MAX:
        print(f"⚠ choose a pattern among {list(PATTERNS)} and 1 ≤ steps ≤ {T_MAX} (got {pattern!r}, {steps})")
        return None
    with torch.no_grad():
        survival, direct, zs = memory_of_h0(z_bias, steps, pattern)
    n_steps = f"{steps} step" + ("s" if steps > 1 else "")
    print(f"z bias {z_bias:+.1f}, {n_steps}, {pattern}: mean z = {zs.mean():.4f}; "
          f"left of H₀ after {n_steps}: {survival[-1]:.4f} (straight through: {direct[-1]:.4f})")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.2))
    ts = list(range(1, steps + 1))
    ax1.plot(ts, survival, "o-", ms=3, label="‖Hₜ(H₀) − Hₜ(0)‖ / ‖H₀‖")
    ax1.plot(ts, direct, "x--", ms=4, color="#38761d", label="‖(z₁ ⊙ … ⊙ zₜ) ⊙ H₀‖ / ‖H₀‖")
    ax1.set_ylim(0, max(1.05, 1.05 * max(survival + direct)))
    ax1.set_xlim(0.5, steps + 0.5)
    ax1.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax1.set_xlabel("step t")
    ax1.set_title("what is left of the initial state")
    ax1.legend(fontsize=8)
    ax2.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    im = ax2.imshow(zs.T, aspect="auto", vmin=0, vmax=1, cmap="viridis", extent=(0.5, steps + 0.5, H_W - 0.5, -0.5))
    fig.colorbar(im, ax=ax2, label="z (1 = keep the old value)")
    ax2.set_xlabel("step t")
    ax2.set_ylabel("unit")
    ax2.set_title(f"update gate z of each unit, bias {z_bias:+.1f}")
    plt.tight_layout()
    plt.show()
    return {"mean_z": zs.mean().item(), "survival": survival[-1], "straight_through": direct[-1], "steps": steps}

# %% [markdown]
# The widget (move the sliders; it redraws each time). Try a bias of +4 (z ≈ 0.98: about 40 % of $H_0$ is still
# there after 40 steps) and −4 (z ≈ 0: the state is replaced by the candidate at every step; only the candidate's own dependence
# on the old state, through $r \odot (H W_{hn}^\top + b_{hn})$, carries a trace of it, and that fades within a few steps).

# %%
# NBVAL_IGNORE_OUTPUT
gate_ui = widgets.interactive(
    show_update_gate,
    z_bias=widgets.FloatSlider(value=2.0, min=-4.0, max=4.0, step=0.5, description="bias on z"),
    steps=widgets.IntSlider(value=20, min=1, max=T_MAX, step=1, description="steps"),
    pattern=widgets.Dropdown(options=list(PATTERNS), value="random inputs", description="inputs"),
)
display(gate_ui)

# %% [markdown]
# The same callback in plain cells, so that an error inside it cannot hide in the widget: the defaults, the extremes,
# and an invalid call. With z ≈ 0.98 (bias +4) about 40 % of $H_0$ is left after 40 steps, nearly all of it
# carried straight through by the z's (the dashed line); with z ≈ 0.02 (bias −4) nothing is. The input pattern
# changes these numbers little (try it in the widget): for this cell, how long $H_0$ lasts is set mostly by the bias on z.

# %%
result = show_update_gate()
assert 0.0 < result["mean_z"] < 1.0 and result["steps"] == 20

# %%
held = show_update_gate(4.0, T_MAX, "zeros")
gone = show_update_gate(-4.0, T_MAX, "random inputs")
assert held["mean_z"] > 0.9 and held["survival"] > 0.3 and gone["survival"] < 1e-3
assert show_update_gate(0.0, 1, "one pulse at step 1")["steps"] == 1

# %%
assert show_update_gate(0.0, 0, "zeros") is None
assert show_update_gate(0.0, 5, "sawtooth") is None

# %% [markdown]
# ## 11 · The traps in one place
#
# | trap | what happens | shown in |
# |---|---|---|
# | the paper's formula, $W_{hn}(r \odot H)$ (Cho et al., d2l) | a different function of the same weights: far from `nn.GRU` | section 6 |
# | one bias per gate (folding $b_{hh}$ into $b_{ih}$) | harmless in RNN and LSTM, changes a GRU: $b_{hn}$ is scaled by $r$ | section 7 |
# | the other $z$ convention, $z \odot n + (1 - z) \odot H$ | the z weights have the opposite sign | section 8 |
# | chunk order | torch's is **r, z, n** (an LSTM's is i, f, g, o): another order is another model | below |
# | an LSTM state `(h0, c0)` given to a GRU | torch: an unclear `AttributeError` | below |
#
# **Chunk order.** Reading torch's stacked weights as z, r, n (or any other order) runs a different GRU. Permuting the
# row blocks of all four tensors from r, z, n to z, r, n and running `gru_step` shows how far off that is:

# %%
zrn = torch.cat([torch.arange(h, 2 * h), torch.arange(h), torch.arange(2 * h, 3 * h)])  # row blocks z, r, n
with torch.no_grad():
    gap_order = (gru_step(X1, H1, *(p[zrn] for p in gru_cell.parameters())) - gru_cell(X1, H1)).abs().max().item()
assert gap_order > 0.01
print(f"weights read in the order z, r, n instead of r, z, n: max |Δ| vs nn.GRUCell = {gap_order:.4f}")

# %% [markdown]
# **An LSTM's state.** Code moved from an LSTM to a GRU often keeps `hx = (h0, c0)`. `nn.GRU` and `nn.GRUCell` answer with an
# `AttributeError` about a tuple having no `dim`, which does not say what to do; the scratch modules say it:

# %%
h0_pair = (torch.zeros(L, N, h, dtype=F64), torch.zeros(L, N, h, dtype=F64))  # an LSTM's (h0, c0)
x = torch.randn(T, N, d, dtype=F64)
for module, args in ((torch_gru, (x, h0_pair)), (scratch_gru, (x, h0_pair)),
                     (gru_cell, (X1, (H1, H1))), (scratch_cell, (X1, (H1, H1)))):
    try:
        module(*args)
    except (AttributeError, TypeError) as err:
        print(f"{type(module).__name__:<15} {type(err).__name__}: {err}")

# %% [markdown]
# ## 12 · Exercises
#
# Each exercise has a function to fill in and a checker (collapsed) that runs it and says **what** is wrong. Replace
# `...` by your code and run the cell and the checker again.
#
# **Exercise 1: the step from stacked weights.** Write torch's GRU step from the four stacked tensors of an
# `nn.GRUCell`: `weight_ih` [3h, d], `weight_hh` [3h, h], `bias_ih` [3h], `bias_hh` [3h]; `x` [N, d], `H` [N, h] →
# H' [N, h]. The checker compares with `nn.GRUCell` and recognises the paper's form, a folded bias, another chunk
# order and the other z convention.

# %%
def gru_step_from_stacked(x, H, weight_ih, weight_hh, bias_ih, bias_hh):
    ...  # your code here: return H' [N, h]

# %% hidden
def _gru_variant(x, H, w_ih, w_hh, b_ih, b_hh, order="rzn", paper=False, folded=False, z_keeps=True, drop_hh=False):
    """Reference GRU step with one mistake switched on (for the checker's diagnosis)."""
    b_hh_used = torch.zeros_like(b_hh) if drop_hh else b_hh
    gi = x @ w_ih.T + b_ih + (b_hh_used if folded else 0)
    gh = H @ w_hh.T + (0 if folded else b_hh_used)
    blocks_i, blocks_h = dict(zip(order, gi.chunk(3, -1))), dict(zip(order, gh.chunk(3, -1)))
    r = torch.sigmoid(blocks_i["r"] + blocks_h["r"])
    z = torch.sigmoid(blocks_i["z"] + blocks_h["z"])
    W_hn = dict(zip(order, w_hh.chunk(3)))["n"]
    if paper:
        b_hn = 0 if folded else dict(zip(order, b_hh_used.chunk(3)))["n"]
        cand = torch.tanh(blocks_i["n"] + (r * H) @ W_hn.T + b_hn)
    else:
        cand = torch.tanh(blocks_i["n"] + r * blocks_h["n"])
    return (1 - z) * cand + z * H if z_keeps else z * cand + (1 - z) * H


def check_gru_step(fn):
    """Compare fn with nn.GRUCell (N = 2, d = 5, h = 4, float64). Returns True/False."""
    with torch.random.fork_rng():
        torch.manual_seed(11)
        cell = nn.GRUCell(5, 4, dtype=F64)
        xs, Hs = torch.randn(2, 5, dtype=F64), torch.randn(2, 4, dtype=F64)
    w = [p.detach().clone() for p in cell.parameters()]
    try:
        got = fn(xs, Hs, *[t.clone() for t in w])
    except Exception as err:  # report the learner's error instead of raising it
        hint = ("\n  Hint: weight_ih is [3h, d]: x @ weight_ih.T is [N, 3h]." if "shape" in str(err) else "")
        print(f"✗ gru_step_from_stacked raised {type(err).__name__}: {err}{hint}")
        return False
    if got is None:
        print("✗ not done yet: gru_step_from_stacked returned None.")
        return False
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != (2, 4):
        print(f"✗ expected a tensor [N, h] = (2, 4), got {tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}.")
        return False
    with torch.no_grad():
        want = cell(xs, Hs)
    if torch.allclose(got, want, rtol=0.0, atol=1e-12):
        print("✓ gru_step_from_stacked equals nn.GRUCell: order r, z, n; r ⊙ (H W_hnᵀ + b_hn); H' = (1 − z) ⊙ n + z ⊙ H.")
        return True
    diagnoses = [({"paper": True}, "that is the paper's form, W_hn (r ⊙ H): torch puts r outside, r ⊙ (H W_hnᵀ + b_hn)"),
                 ({"folded": True}, "b_hh was added to the input part: b_hn must stay inside r ⊙ (H W_hnᵀ + b_hn)"),
                 ({"paper": True, "folded": True}, "the paper's form with one bias: use r ⊙ (H W_hnᵀ + b_hn)"),
                 ({"order": "zrn"}, "the chunks are in the order r, z, n, not z, r, n"),
                 ({"order": "nrz"}, "the chunks are in the order r, z, n: the candidate's block is the last"),
                 ({"z_keeps": False}, "z is the other way round: H' = (1 − z) ⊙ n + z ⊙ H (z = 1 keeps the old state)"),
                 ({"drop_hh": True}, "bias_hh is missing")]
    for kwargs, message in diagnoses:
        if torch.allclose(got, _gru_variant(xs, Hs, *w, **kwargs), rtol=0.0, atol=1e-12):
            print(f"✗ {message}.")
            return False
    print(f"✗ the result differs from nn.GRUCell by up to {(got - want).abs().max():.4f}: check each gate against section 2.")
    return False


exercise_1_passed = check_gru_step(gru_step_from_stacked)

# %% [markdown]
# **Exercise 2: count a GRU's parameters.** Return the number of parameters (an int) of
# `nn.GRU(input_size, hidden_size, num_layers, bias=bias)`, one direction, without building it. The checker tries
# many sizes against the module.

# %%
def gru_param_count(input_size, hidden_size, num_layers=1, bias=True):
    ...  # your code here: return an int

# %% hidden
def check_gru_param_count(fn):
    """Compare fn with sum(p.numel()) of nn.GRU over a grid of settings. Returns True/False."""
    for d_in, hidden, layers, bias in ((10, 20, 1, True), (3, 7, 1, False), (5, 4, 2, True), (6, 9, 3, False), (1, 1, 4, True)):
        call = f"gru_param_count({d_in}, {hidden}, num_layers={layers}, bias={bias})"
        try:
            got = fn(d_in, hidden, layers, bias)
        except Exception as err:  # report the learner's error instead of raising it
            print(f"✗ {call} raised {type(err).__name__}: {err}")
            return False
        if got is None:
            print("✗ not done yet: gru_param_count returned None.")
            return False
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, bool) or not hasattr(got, "__index__"):
            print(f"✗ {call} returned {got!r} ({type(got).__name__}): return an int.")
            return False
        want = sum(p.numel() for p in nn.GRU(d_in, hidden, num_layers=layers, bias=bias).parameters())
        if got.__index__() != want:
            hints = {param_count(4, d_in, hidden, layers, bias): "that is an LSTM's count: a GRU has 3 gate blocks, not 4",
                     param_count(3, d_in, hidden, 1, bias) * layers: "layers k > 0 read h inputs (the layer below), not d",
                     param_count(3, d_in, hidden, layers, False) + 3 * hidden * layers * bias:
                         "two bias vectors per layer, b_ih and b_hh, each [3h]",
                     param_count(1, d_in, hidden, layers, bias): "each of the weight and bias tensors is stacked for 3 gates"}
            hint = hints.get(got.__index__(), "per layer: 3h·(d_k + h) weights + 2·3h biases")
            print(f"✗ {call} returned {got}, nn.GRU has {want}. Hint: {hint}.")
            return False
    print("✓ gru_param_count matches nn.GRU for every size tried: Σ_k 3h·(d_k + h) + 6h·[bias].")
    return True


exercise_2_passed = check_gru_param_count(gru_param_count)

# %% [markdown]
# **Exercise 3: weights from the other convention.** A GRU from a text that writes $H' = z \odot n + (1 - z) \odot H$
# (section 8) was trained; you get its four stacked tensors, in torch's layout and order r, z, n. Return the four
# tensors `(weight_ih, weight_hh, bias_ih, bias_hh)` that make `nn.GRUCell` compute the same function. Do not change
# the tensors you are given. (Hint: $1 - \sigma(a) = \sigma(-a)$.)

# %%
def to_torch_convention(weight_ih, weight_hh, bias_ih, bias_hh):
    ...  # your code here: return (weight_ih, weight_hh, bias_ih, bias_hh) for nn.GRUCell

# %% hidden
def check_to_torch_convention(fn):
    """Convert random other-convention weights with fn, load them into nn.GRUCell, compare. Returns True/False."""
    with torch.random.fork_rng():
        torch.manual_seed(12)
        w = [p.detach().clone() for p in nn.GRUCell(3, 5, dtype=F64).parameters()]
        xs, Hs = torch.randn(4, 3, dtype=F64), torch.randn(4, 5, dtype=F64)
    given = [t.clone() for t in w]
    try:
        got = fn(*given)
    except Exception as err:  # report the learner's error instead of raising it
        print(f"✗ to_torch_convention raised {type(err).__name__}: {err}")
        return False
    if got is None:
        print("✗ not done yet: to_torch_convention returned None.")
        return False
    if not all(torch.equal(a, b) for a, b in zip(given, w)):
        print("✗ the tensors you were given changed: work on copies (t.clone()).")
        return False
    if not (isinstance(got, (tuple, list)) and len(got) == 4 and all(isinstance(t, torch.Tensor) for t in got)):
        print("✗ return four tensors: (weight_ih, weight_hh, bias_ih, bias_hh).")
        return False
    if [tuple(t.shape) for t in got] != [tuple(t.shape) for t in w]:
        print(f"✗ shapes {[tuple(t.shape) for t in got]}, expected {[tuple(t.shape) for t in w]} (torch's layout, unchanged).")
        return False
    cell = nn.GRUCell(3, 5, dtype=F64)
    cell.load_state_dict(dict(zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), got)))
    with torch.no_grad():
        want, ours = _gru_variant(xs, Hs, *w, z_keeps=False), cell(xs, Hs)
    if torch.allclose(ours, want, rtol=0.0, atol=1e-12):
        print("✓ nn.GRUCell with your weights computes the other-convention GRU: the z rows negated, σ(−a) = 1 − σ(a).")
        return True
    z_rows = slice(5, 10)
    signs = [bool((a[z_rows] == -b[z_rows]).all()) for a, b in zip(got, w)]
    if all(torch.equal(a, b) for a, b in zip(got, w)):
        print("✗ the weights are unchanged: in torch z = 1 keeps the old state, in the other convention it takes n.")
    elif any(bool((a[:5] == -b[:5]).all()) for a, b in zip(got, w)) and not any(signs):
        print("✗ you changed rows 0 … h: that is the r block. z is the second block, rows h … 2h.")
    elif any(signs) and not all(signs):
        print("✗ only some of the four tensors have their z rows negated: z = σ(x W_izᵀ + b_iz + H W_hzᵀ + b_hz) needs all four.")
    else:
        print("✗ nn.GRUCell with these weights differs from the other-convention GRU: negate the z rows, don't subtract from 1.")
    return False


exercise_3_passed = check_to_torch_convention(to_torch_convention)

# %% [markdown]
# ## 13 · On a GPU
#
# The same `parity` check, on CUDA when there is one, where `nn.GRU` runs on **cuDNN**: in float64 as tight as on
# the CPU; in float32 with **TF32** switched off (cuDNN would use it by default: forward errors up to ~1e-3, weight
# gradients off by up to ~6e-2 against float64 in a test: far outside the float32 defaults) and the settings
# restored afterwards. On a machine without a GPU it prints one line and steps aside.

# %%
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    saved_tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # cuDNN's GRU would otherwise use TF32 for float32
    torch.backends.cuda.matmul.allow_tf32 = False  # ScratchGRU's matmuls: full float32 (the default)
    for dtype, tol in [(torch.float64, EXACT), (torch.float32, {})]:
        t_gpu = nn.GRU(d, h, num_layers=L, device=DEVICE, dtype=dtype)
        s_gpu = ScratchGRU(d, h, num_layers=L, device=DEVICE, dtype=dtype)
        s_gpu.load_state_dict(t_gpu.state_dict())
        xg, hg = torch.randn(T, N, d, device=DEVICE, dtype=dtype), torch.randn(L, N, h, device=DEVICE, dtype=dtype)
        n_gpu = parity(t_gpu, s_gpu, xg, hg, **tol)
        print(f"✓ {torch.cuda.get_device_name()} {dtype}: {n_gpu} tensors match "
              f"({'|Δ| ≤ 1e-12' if tol else 'float32 defaults, TF32 off'})")
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved_tf32
else:
    print("No GPU here: skipped (this cell repeats the parity check against cuDNN's GRU when a GPU is present).")

# %% [markdown]
# ## 14 · Summary
#
# | | |
# |---|---|
# | the step | $g_i = X_t W_{ih}^\top + b_{ih}$, $g_h = H_{t-1} W_{hh}^\top + b_{hh}$ [N, 3h], chunks **r, z, n**; $r = \sigma(g_{i,r} + g_{h,r})$, $z = \sigma(g_{i,z} + g_{h,z})$ |
# | candidate, new state | $n = \tanh(g_{i,n} + r \odot g_{h,n})$; $H_t = (1 - z) \odot n + z \odot H_{t-1}$: **z = 1 keeps the old state** |
# | torch | `nn.GRUCell(d, h)`: (N, d), (N, h) → (N, h). `nn.GRU(d, h, num_layers=L, batch_first=…)`: `output, h_n = gru(x, h0)` |
# | shapes | `weight_ih_l{k}` [3h, d_k], `weight_hh_l{k}` [3h, h], biases [3h] each; output (T, N, h), h_n (L, N, h), h0 never batch-first |
# | parameters | $\sum_k 3h(d_k + h) + 6h$: 3/4 of an LSTM's; `nn.GRU(10, 20)` has 1920, `nn.LSTM(10, 20)` 2560 |
# | not the paper | torch: $r \odot (H W_{hn}^\top + b_{hn})$; Cho et al. (arXiv v3) and d2l: $(r \odot H) W_{hn}^\top$; pytorch#8153 |
# | biases | $b_{hn}$ cannot be folded into $b_{in}$ (it is scaled by r); the r and z thirds can, as in RNN and LSTM |
# | vs LSTM | z ↔ f with i tied to 1 − f; r decides how much of H feeds the candidate; no cell state, no output gate; `hx` is `h0`, not `(h0, c0)` |
# | parity checked | `ScratchGRUCell`, `ScratchGRU` (one direction, L ≥ 1): output, h_n, every gradient, float64 ≤ 1e-12; dropout (train and eval): output; `load_state_dict` both ways |
#
# **Next:** lesson 08 builds the complete drop-in layers (both directions, packed input) for RNN, LSTM and GRU.

# %% [markdown]
# ## Solutions
#
# Collapsed so they stay out of the way: click the cell to expand. Each solution is passed through its checker (and
# must pass); then a deliberately wrong answer shows what the checker says.

# %% solution
def gru_step_from_stacked_solution(x, H, weight_ih, weight_hh, bias_ih, bias_hh):
    i_r, i_z, i_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=1)  # [N, h] each, order r, z, n
    s_r, s_z, s_n = (H @ weight_hh.T + bias_hh).chunk(3, dim=1)  # b_hh stays with the state's product
    reset, update = torch.sigmoid(i_r + s_r), torch.sigmoid(i_z + s_z)
    candidate = torch.tanh(i_n + reset * s_n)  # r ⊙ (H W_hnᵀ + b_hn)
    return candidate + update * (H - candidate)  # = (1 − z) ⊙ n + z ⊙ H


def gru_param_count_solution(input_size, hidden_size, num_layers=1, bias=True):
    total = 0
    for k in range(num_layers):
        inputs_k = input_size if k == 0 else hidden_size  # layer k > 0 reads the layer below
        total += 3 * hidden_size * (inputs_k + hidden_size) + (6 * hidden_size if bias else 0)
    return total


def to_torch_convention_solution(weight_ih, weight_hh, bias_ih, bias_hh):
    out = [t.clone() for t in (weight_ih, weight_hh, bias_ih, bias_hh)]
    hid = bias_ih.shape[0] // 3
    for t in out:
        t[hid:2 * hid] = -t[hid:2 * hid]  # σ(−a) = 1 − σ(a): z becomes 1 − z
    return tuple(out)


assert check_gru_step(gru_step_from_stacked_solution)
assert check_gru_param_count(gru_param_count_solution)
assert check_to_torch_convention(to_torch_convention_solution)

# %% solution
# What the checkers say to three common mistakes:
assert not check_gru_step(lambda x, H, w_ih, w_hh, b_ih, b_hh: _gru_variant(x, H, w_ih, w_hh, b_ih, b_hh, paper=True))
assert not check_gru_param_count(lambda input_size, hidden_size, num_layers=1, bias=True:
                                 param_count(4, input_size, hidden_size, num_layers, bias))
assert not check_to_torch_convention(lambda *ws: tuple(ws))
