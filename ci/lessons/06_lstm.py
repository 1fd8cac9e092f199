# %% [markdown]
# # 06 · LSTM: a cell state and gates, `ScratchLSTM` beside `nn.LSTM`
#
# Lesson 03 showed why a plain RNN forgets: the gradient from the end of a sequence is multiplied by one Jacobian
# $\operatorname{diag}(\varphi')\,W_{hh}^\top$ per step on its way back, and it shrinks geometrically. The
# **LSTM** (long short-term memory, Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000) adds a
# second state, the **cell state** $C_t$, that passes from step to step through an elementwise product and a sum
# only, and three **gates**, numbers between 0 and 1, that decide what to forget, what to write and what to show.
#
# In this lesson you build `ScratchLSTMCell` beside `nn.LSTMCell` and `ScratchLSTM` beside `nn.LSTM` (stacked
# layers and `proj_size` included), learn torch's stacked weight layout and its gate order (**i, f, g, o**; code
# copied from CS231n or fastbook uses i, f, o, g and does not match), check everything equal to torch in float64,
# gradients included, and watch the gates at work on a sequence you choose. Two directions and packed input (lesson
# 05 built them for the plain RNN) come back in lesson 08, which completes the layer.
#
# **You should know:** lessons 01–02 (the step, torch's layout `weight_ih` = $W_{xh}^\top$, two biases, `output`
# and `h_n`, `load_state_dict`), lesson 03 (vanishing gradients) and lesson 04 (stacked layers, dropout between
# them); the recap below repeats what this lesson needs.
#
# **Contents:** 1 · recap · 2 · why gates: the gradient of a plain RNN vanishes · 3 · the LSTM step, drawn ·
# 4 · torch's stacked weights · 5 · `ScratchLSTMCell` · 6 · the gate-order trap · 7 · `ScratchLSTM` ·
# 8 · `proj_size` · 9 · parity, every combination · 10 · the forget-gate bias · 11 · play: the gates at work ·
# 12 · exercises · 13 · on a GPU · 14 · summary · solutions

# %% [markdown]
# ## Setup
# Every lesson starts the same way: imports, a fixed seed (so your numbers match the ones printed here), a fixed
# print format for numbers, and the device, used only by the GPU cell near the end. The last line silences a
# note torch prints once per process on some CPUs when an LSTM has `proj_size` (section 8): its fast oneDNN kernel
# has no projection, so torch quietly uses its plain kernel instead.

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
F64 = torch.float64
warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")

# %% [markdown]
# ## 1 · Recap: lessons 01–04
#
# | | shape | what it is |
# |---|---|---|
# | X | [T, N, d] | T steps of a batch of N sequences, d features each (`batch_first=True`: [N, T, d]) |
# | the RNN step | $H_t = \tanh(X_t W_{xh} + H_{t-1} W_{hh} + b)$ | $W_{xh}$ = `weight_ih_l0.T` [d, h], $W_{hh}$ = `weight_hh_l0.T` [h, h], $b$ = `bias_ih_l0 + bias_hh_l0` |
# | output, h_n | [T, N, h], [num_layers, N, h] | all top-layer states; the last state of every layer (never batch-first) |
# | BPTT | $\partial H_T/\partial H_t = \prod_{k=T}^{t+1} \operatorname{diag}(\varphi'(a_k))\, W_{hh}^\top$ | one factor per step: shrinks (or grows) geometrically with T − t |
# | layer k > 0 | reads the output of layer k − 1 | dropout on the output of every layer but the last, training mode only |
#
# Sizes, all **different**, so that a mix-up of dimensions fails loudly: T = 5 steps, N = 3 sequences, d = 4
# features, h = 6 hidden units (so 4h = 24 gate rows) and, for section 8, a projection to p = 2. `check` asserts
# closeness and prints a one-line verdict (lesson 02); `EXACT` is the float64 tolerance for "equal up to rounding".

# %%
T, N, d, h, p = 5, 3, 4, 6, 2
EXACT = {"atol": 1e-12, "rtol": 0.0}  # float64: equal up to rounding


def check(label, ours, theirs, **tol):
    """Assert that ours equals theirs within tolerance, then print a one-line verdict."""
    torch.testing.assert_close(ours, theirs, **tol)
    how = "within float32 defaults" if not tol else f"|Δ| ≤ {tol.get('atol', 0):.0e}"
    print(f"✓ {label:<52} matches, {how}")


X = torch.randn(T, N, d, dtype=F64)
print(f"X {list(X.shape)} = [T, N, d]")

# %% [markdown]
# ## 2 · Why gates: the gradient of a plain RNN vanishes
#
# Lesson 03 computed $\lVert \partial H_T / \partial H_t \rVert$ and watched it shrink as t moves back from T.
# Here is the same effect measured the way it hurts training: how much does the **last output** feel each
# **input**? For a sequence of 50 steps we backpropagate the sum of the last output's entries and look at the norm
# of the gradient with respect to each input $X_t$, for `nn.RNN` and `nn.LSTM` with the same sizes (d = 4,
# 16 hidden units), each with torch's default initialisation. Two more LSTMs preview section 10: their
# forget-gate bias is set to 1 and to 3.

# %%
def grad_to_inputs(module, steps=50):
    """‖∂(sum of the last output)/∂X_t‖ for t = 1 … steps: how much the last output feels each input."""
    with torch.random.fork_rng():  # the same inputs for every module
        torch.manual_seed(5)
        x = torch.randn(steps, 1, module.input_size, dtype=F64, requires_grad=True)  # [T, 1, d]
    module(x)[0][-1].sum().backward()
    return x.grad.norm(dim=(1, 2))  # [T]: index t − 1 holds step t


def lstm_with_forget_bias(b_f, hidden=16):
    """An nn.LSTM(4, hidden) whose forget-gate bias (rows hidden:2·hidden of the two biases) sums to b_f."""
    torch.manual_seed(1)
    lstm = nn.LSTM(4, hidden, dtype=F64)
    with torch.no_grad():
        lstm.bias_ih_l0[hidden:2 * hidden], lstm.bias_hh_l0[hidden:2 * hidden] = b_f, 0.0
    return lstm


torch.manual_seed(1)
curves = {"nn.RNN": grad_to_inputs(nn.RNN(4, 16, dtype=F64))}
torch.manual_seed(1)
curves["nn.LSTM"] = grad_to_inputs(nn.LSTM(4, 16, dtype=F64))
for b_f in (1.0, 3.0):
    curves[f"nn.LSTM, forget bias {b_f:.0f}"] = grad_to_inputs(lstm_with_forget_bias(b_f))
for name, g in curves.items():
    print(f"{name:<24} ‖∂Y_50/∂X_50‖ = {g[-1]:.1e}   ‖∂Y_50/∂X_25‖ = {g[24]:.1e}   ‖∂Y_50/∂X_1‖ = {g[0]:.1e}")
assert curves["nn.RNN"][0] < 1e-12 < curves["nn.LSTM"][0] and curves["nn.LSTM, forget bias 3"][0] > 1e-3

# %% [markdown]
# The same numbers for every step, on a log scale:

# %%
fig, ax = plt.subplots(figsize=(7, 3))
for name, g in curves.items():
    ax.semilogy(range(1, len(g) + 1), g, label=name)
ax.set_xlabel("input step t")
ax.set_ylabel("‖∂Y₅₀ / ∂X_t‖")
ax.set_title("how much the last output feels each input (T = 50)")
ax.legend(fontsize=8)
ax.grid(True, alpha=0.3)
plt.show()

# %% [markdown]
# The plain RNN's gradient from 49 steps back is about $10^{-17}$: nothing a gradient step can use. The LSTM's is
# about ten million times larger, and with a forget bias of 3 the first input still gets $5 \cdot 10^{-3}$, about
# 1.5 % of what the last one gets. The reason is the **cell state**. In an RNN
# every path back in time goes through $\operatorname{diag}(\tanh')\,W_{hh}^\top$ at every step. In an LSTM
# (next section) the cell state is updated by
#
# $$C_t = \sigma(f_t) \odot C_{t-1} + \sigma(i_t) \odot \tanh(g_t),$$
#
# so its direct path back, $\partial C_t / \partial C_{t-1} = \operatorname{diag}(\sigma(f_t))$, holds no weight
# matrix and no $\tanh'$: only the forget gate. Over many steps that path multiplies forget gates, and where
# they are close to 1 the gradient (and the memory) passes almost unchanged. The new information is **added**,
# not squashed through a matrix at every step: that is the protected path. (The gates themselves still depend on
# $H_{t-1}$ through $W_{hh}$, so the other paths still shrink; the cell-state path is what carries the long
# memory.)

# %% [markdown]
# ## 3 · The LSTM step, with shapes, and drawn
#
# One step takes $X_t$ [N, d] and **two** states, $H_{t-1}$ [N, h] and $C_{t-1}$ [N, h], and computes four blocks
# of h pre-activations with **one** product each, as torch does:
#
# $$A_t = X_t W_{ih}^\top + b_{ih} + H_{t-1} W_{hh}^\top + b_{hh} \quad [N, 4h], \qquad
# [\,i_t \mid f_t \mid g_t \mid o_t\,] = A_t \ \text{(four blocks of h columns, in this order)}$$
#
# $$C_t = \sigma(f_t) \odot C_{t-1} + \sigma(i_t) \odot \tanh(g_t), \qquad H_t = \sigma(o_t) \odot \tanh(C_t)
# \qquad [N, h] \text{ each}$$
#
# | block | rows of `weight_ih` | after | name | role |
# |---|---|---|---|---|
# | $i$ | 0 : h | σ | input gate | how much of the candidate to write |
# | $f$ | h : 2h | σ | forget gate | how much of the old cell state to keep |
# | $g$ | 2h : 3h | tanh | candidate ("cell gate") | what could be written, in (−1, 1) |
# | $o$ | 3h : 4h | σ | output gate | how much of $\tanh(C_t)$ to show as $H_t$ |
#
# $W_{ih}$ = `weight_ih` is [4h, d] and $W_{hh}$ = `weight_hh` is [4h, h]: torch keeps the four gates' weights
# stacked in one matrix and computes all four with one product. **Notation:** from here on $W_{ih}$ and $W_{hh}$
# are torch's matrices as stored, hence the ᵀ in the formula; the recap's (and lesson 03's) $W_{xh}$, $W_{hh}$
# [d, h], [h, h] were their transposes, one gate's worth. The drawing below is made by the function
# `draw_lstm_cell`, so it cannot drift from the code; `proj=True` adds the projection of section 8.

# %%
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")  # Unicode subscripts (no $…$ mathtext in drawings)


def draw_lstm_cell(ax, proj=False):
    """The LSTM cell: the cell-state line on top, the four gates below, H_t at the right (· W_hrᵀ when proj)."""
    red = "#c00000"

    def box(x, y, text, fc="#ffffff", **kw):
        ax.text(x, y, text, ha="center", va="center", bbox={"fc": fc, "boxstyle": "round,pad=0.3"}, **kw)

    def arr(a, b):
        ax.annotate("", b, a, arrowprops={"arrowstyle": "->", "lw": 1.3})

    ax.plot([0.6, 6.9], [3, 3], color=red, lw=3, zorder=0)  # the cell-state line: ⊙ and + only
    ax.text(4.6, 2.75, "cell state: only ⊙ and +", color=red, fontsize=8)
    for x, y, text in [(0.2, 3, "C(t−1)\n[N, h]"), (7.5, 3, "C(t)\n[N, h]"), (0.2, -0.9, "X(t)\n[N, d]"),
                       (0.2, 0.3, "H(t−1)\n[N, " + ("p" if proj else "h") + "]"),
                       (7.5, 0.3, "H(t)\n[N, " + ("p" if proj else "h") + "]")]:
        box(x, y, text, "#cfe2f3")
    box(3.6, 0.3, "X W_ihᵀ + b_ih + H W_hhᵀ + b_hh  →  [N, 4h] = [ i | f | g | o ]", "#eeeeee", fontsize=9)
    arr((0.8, 0.3), (1.1, 0.3))
    arr((0.6, -0.9), (1.3, 0.1))
    for x, label in [(2, "σ(f)\nforget"), (3.2, "σ(i)\ninput"), (4.4, "tanh(g)\ncandidate"), (5.6, "σ(o)\noutput")]:
        arr((x, 0.55), (x, 1.15))
        box(x, 1.5, label, "#fff2cc", fontsize=8)
    box(2, 3, "⊙", fontsize=13)
    box(4, 3, "+", fontsize=13)
    box(3.8, 2.2, "⊙", fontsize=11)
    box(6.4, 2.2, "tanh", "#fff2cc", fontsize=9)
    box(6.4, 1.5, "⊙", fontsize=11)
    for a, b in [((2, 1.85), (2, 2.78)), ((3.2, 1.85), (3.65, 2.05)), ((4.4, 1.85), (3.95, 2.05)),
                 ((3.8, 2.4), (3.95, 2.8)), ((6.4, 2.95), (6.4, 2.45)), ((6.4, 1.95), (6.4, 1.7)),
                 ((5.85, 1.5), (6.2, 1.5))]:
        arr(a, b)
    if proj:
        box(7.1, 0.95, "· W_hrᵀ", "#d9ead3", fontsize=9)
        arr((6.55, 1.35), (6.85, 1.1))
    arr((7.1, 0.75) if proj else (6.6, 1.35), (7.4, 0.62))
    ax.text(7.5, -0.4, "→ output, next step", ha="center", fontsize=8)
    ax.text(4.2, 3.4, "C(t) = σ(f) ⊙ C(t−1) + σ(i) ⊙ tanh(g)      H(t) = "
            + ("(σ(o) ⊙ tanh(C(t))) · W_hrᵀ" if proj else "σ(o) ⊙ tanh(C(t))"), ha="center", fontsize=9)
    ax.set_xlim(-0.5, 8.2)
    ax.set_ylim(-1.3, 3.6)
    ax.axis("off")


fig, ax = plt.subplots(figsize=(10, 4))
draw_lstm_cell(ax)
plt.show()

# %% [markdown]
# ## 4 · torch's stacked weights
#
# `nn.LSTMCell(d, h)` is one step. Its four parameters hold the four gates stacked along the **rows**, in the order
# i, f, g, o: `weight_ih` [4h, d] = $[W_{ii}; W_{if}; W_{ig}; W_{io}]$, `weight_hh` [4h, h] likewise, and two bias
# vectors [4h]. `chunk(4)` along dim 0 takes them apart.

# %%
torch.manual_seed(2)
cell = nn.LSTMCell(d, h, dtype=F64)
for name, param in cell.named_parameters():
    blocks = ", ".join(f"{g} {list(b.shape)}" for g, b in zip("ifgo", param.chunk(4, dim=0)))
    print(f"{name:<10} {str(list(param.shape)):<8} = {blocks}")

# %% [markdown]
# One step by hand with those blocks: each gate's pre-activation is $X W_{i\cdot}^\top + H W_{h\cdot}^\top$ plus
# its two bias blocks; then the two update equations. It equals `nn.LSTMCell`, which takes `hx` as the **pair**
# `(h, c)` and returns the pair `(h', c')`.

# %%
H0, C0 = torch.randn(N, h, dtype=F64), torch.randn(N, h, dtype=F64)  # [N, h] each
Wi, Wh = cell.weight_ih.chunk(4), cell.weight_hh.chunk(4)  # 4 × [h, d], 4 × [h, h]
bi, bh = cell.bias_ih.chunk(4), cell.bias_hh.chunk(4)  # 4 × [h]
i, f, g, o = (X[0] @ Wi[k].T + bi[k] + H0 @ Wh[k].T + bh[k] for k in range(4))  # [N, h] each
C1 = torch.sigmoid(f) * C0 + torch.sigmoid(i) * torch.tanh(g)
H1 = torch.sigmoid(o) * torch.tanh(C1)
with torch.no_grad():
    H1_torch, C1_torch = cell(X[0], (H0, C0))
check("H_1 by hand (four blocks) vs nn.LSTMCell", H1, H1_torch, **EXACT)
check("C_1 by hand (four blocks) vs nn.LSTMCell", C1, C1_torch, **EXACT)

# %% [markdown]
# ## 5 · `ScratchLSTMCell`
#
# The step as one function, written the way torch computes it: **one** product for all four gates, then
# `chunk(4, dim=-1)` into i, f, g, o. It takes the input term $X_t W_{ih}^\top + b_{ih}$ already computed, because
# the layer of section 7 computes that term for all steps at once (lesson 02). `ScratchLSTMCell` and
# `ScratchLSTM` both call it, so both share one definition of the step.

# %%
def lstm_step(gx, H, C, w_hh, b_hh):
    """One LSTM step. gx = X_t W_ihᵀ + b_ih [N, 4h], H [N, h or p], C [N, h] → (σ(o)⊙tanh(C_t) [N, h], C_t [N, h])."""
    gates = gx + H @ w_hh.T + (b_hh if b_hh is not None else 0.0)  # [N, 4h]
    i, f, g, o = gates.chunk(4, dim=-1)  # torch's order; [N, h] each
    C = torch.sigmoid(f) * C + torch.sigmoid(i) * torch.tanh(g)  # keep some of the old, add some of the new
    return torch.sigmoid(o) * torch.tanh(C), C

# %% [markdown]
# The module has `nn.LSTMCell`'s constructor (same argument names and defaults), registers its four parameters
# with torch's names, shapes and order, and draws them as torch does: $U(-1/\sqrt{h}, 1/\sqrt{h})$. `forward`
# takes `hx = (h, c)` or `None` (zeros), batched [N, d] or unbatched [d] input, and returns `(h', c')`.

# %%
class ScratchLSTMCell(nn.Module):
    """nn.LSTMCell from scratch: one LSTM step, parameters stored as torch stores them."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size, **kw))  # [W_ii; W_if; W_ig; W_io]
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size, **kw))  # [W_hi; W_hf; W_hg; W_ho]
        self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size, **kw)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size, **kw)) if bias else None
        for param in self.parameters():  # torch's init, in registration order
            nn.init.uniform_(param, -1 / math.sqrt(hidden_size), 1 / math.sqrt(hidden_size))

    def forward(self, input, hx=None):
        unbatched = input.dim() == 1
        x = input.unsqueeze(0) if unbatched else input  # [N, d]
        if hx is None:
            H = C = x.new_zeros(x.shape[0], self.hidden_size)
        elif isinstance(hx, (tuple, list)) and len(hx) == 2:
            H, C = (s.unsqueeze(0) if unbatched else s for s in hx)
        else:
            raise TypeError(f"LSTMCell takes hx = (h, c), a pair of tensors [N, {self.hidden_size}], or None; "
                            f"got {type(hx).__name__}")
        gx = x @ self.weight_ih.T + (self.bias_ih if self.bias else 0.0)  # [N, 4h]
        H, C = lstm_step(gx, H, C, self.weight_hh, self.bias_hh)
        return (H.squeeze(0), C.squeeze(0)) if unbatched else (H, C)

# %% [markdown]
# Same names, shapes and initial values as `nn.LSTMCell` from the same seed (with `bias=False` both have no
# biases); then the weights copied both ways with `load_state_dict`.

# %%
for kwargs in ({}, {"bias": False}):
    torch.manual_seed(3)
    t_init = nn.LSTMCell(d, h, **kwargs)
    torch.manual_seed(3)
    s_init = ScratchLSTMCell(d, h, **kwargs)
    names = [(n, tuple(q.shape)) for n, q in t_init.named_parameters()]
    assert [(n, tuple(q.shape)) for n, q in s_init.named_parameters()] == names
    assert all(torch.equal(a, b) for a, b in zip(s_init.parameters(), t_init.parameters()))
    print(f"✓ {str(kwargs or 'defaults'):<16} {names}: same names, shapes, initial values")
s_cell = ScratchLSTMCell(d, h, dtype=F64)
s_cell.load_state_dict(cell.state_dict())  # torch → scratch
nn.LSTMCell(d, h, dtype=F64).load_state_dict(s_cell.state_dict())  # scratch → torch
print("✓ load_state_dict works both ways")

# %% [markdown]
# **Parity, values and gradients.** `parity` runs a torch module and its scratch twin on the same input and state,
# forward and backward, and asserts that everything matches: every returned tensor, and the gradients with
# respect to the input, $h_0$, $c_0$ and every parameter. Random upstream gradients weigh every entry differently
# (lesson 02), so a mistake anywhere shows. It works for the cells, which return `(h', c')`, and for the layers of
# section 7, which return `(output, (h_n, c_n))`.

# %%
def parity(torch_mod, scratch_mod, x, hx=None, **tol):
    """Run both forward and backward; assert every output and every gradient match. Return the count."""
    runs = []
    for module in (torch_mod, scratch_mod):
        leaves = [v.clone().requires_grad_() for v in (x, *(hx or ()))]  # input, h0, c0
        out = module(leaves[0], tuple(leaves[1:]) if hx is not None else None)
        flat = [out[0], *out[1]] if isinstance(out[1], tuple) else list(out)  # layer: output, h_n, c_n
        runs.append((flat, leaves, dict(module.named_parameters())))
    (out_t, leaves_t, params_t), (out_s, leaves_s, params_s) = runs
    upstream = [torch.randn_like(v) for v in out_t]  # random upstream gradients
    for flat in (out_t, out_s):
        sum((v * u).sum() for v, u in zip(flat, upstream)).backward()
    names = ["output", "h_n", "c_n"] if len(out_t) == 3 else ["h'", "c'"]
    pairs = list(zip(names, out_s, out_t))
    pairs += [(f"grad {n}", a.grad, b.grad) for n, a, b in zip(["input", "h0", "c0"], leaves_s, leaves_t)]
    pairs += [(f"grad {n}", q.grad, params_t[n].grad) for n, q in params_s.items()]
    for name, ours, theirs in pairs:
        torch.testing.assert_close(ours, theirs, **tol, msg=lambda m, name=name: f"{name} differs: {m}")
    return len(pairs)

# %% [markdown]
# The cell in float64, with and without `hx`, batched and unbatched, with and without biases:

# %%
for bias in (True, False):
    t_cell = nn.LSTMCell(d, h, bias=bias, dtype=F64)
    s_cell = ScratchLSTMCell(d, h, bias=bias, dtype=F64)
    s_cell.load_state_dict(t_cell.state_dict())
    for label, x, hx in [("batched, hx given", X[0], (H0, C0)), ("batched, hx None", X[0], None),
                         ("unbatched, hx given", X[0, 0], (H0[0], C0[0]))]:
        n = parity(t_cell, s_cell, x, hx, **EXACT)
        print(f"✓ bias={str(bias):<5} {label:<20} {n} tensors match (h', c', gradients), |Δ| ≤ 1e-12")

# %% [markdown]
# ## 6 · The gate-order trap
#
# The four blocks can be stacked in any order, and different sources chose differently. torch (and cuDNN) use
# **i, f, g, o**; CS231n's assignment and fastbook's LSTM use **i, f, o, g**; Keras uses i, f, c, o (= i, f, g, o).
# Nothing fails when you take the blocks in another order: the shapes are all [N, h]. The numbers are simply
# wrong. Below, one step with the blocks read in several orders, against `nn.LSTMCell`:

# %%
def step_in_order(cell, x, H, C, order):
    """One step of cell's weights, reading the four row blocks in `order` (e.g. 'ifog')."""
    blocks = dict(zip(order, (x @ cell.weight_ih.T + cell.bias_ih + H @ cell.weight_hh.T + cell.bias_hh).chunk(4, -1)))
    C = torch.sigmoid(blocks["f"]) * C + torch.sigmoid(blocks["i"]) * torch.tanh(blocks["g"])
    return torch.sigmoid(blocks["o"]) * torch.tanh(C), C


with torch.no_grad():
    for order, who in [("ifgo", "torch, cuDNN, Keras"), ("ifog", "CS231n, fastbook"), ("igfo", "g and f swapped")]:
        H_o, C_o = step_in_order(cell, X[0], H0, C0, order)
        gap = max((H_o - H1_torch).abs().max().item(), (C_o - C1_torch).abs().max().item())
        print(f"order {', '.join(order)}  ({who:<20}): max |Δ| vs nn.LSTMCell = {gap:.4f}" + ("  ✓" if gap < 1e-12 else "  ✗"))
        assert (gap < 1e-12) == (order == "ifgo")

# %% [markdown]
# **Moving weights between conventions.** Weights stored in i, f, o, g order (from another codebase) load into
# torch after permuting the row blocks: view the [4h, ·] matrix as [4, h, ·], reorder the first axis, flatten back.

# %%
def reorder_blocks(w, src="ifog", dst="ifgo"):
    """Permute the four row blocks of a stacked LSTM weight [4h, ·] or bias [4h] from order src to order dst."""
    return w.view(4, -1, *w.shape[1:])[[src.index(g) for g in dst]].reshape(w.shape)


foreign = {n: reorder_blocks(q.detach(), "ifgo", "ifog") for n, q in cell.named_parameters()}  # "their" layout
fixed = nn.LSTMCell(d, h, dtype=F64)
fixed.load_state_dict({n: reorder_blocks(w, "ifog", "ifgo") for n, w in foreign.items()})
with torch.no_grad():
    check("i,f,o,g weights, blocks reordered, in nn.LSTMCell", fixed(X[0], (H0, C0))[0], H1_torch, **EXACT)

# %% [markdown]
# ## 7 · `ScratchLSTM`
#
# `nn.LSTM` runs the step over a sequence, in one or more layers. Compared with `nn.RNN` (lessons 02–04):
#
# | | shape (H_out = `proj_size` if > 0, else `hidden_size`) |
# |---|---|
# | input | (T, N, d), (N, T, d) with `batch_first=True`, or (T, d) unbatched |
# | `hx` | the **pair** `(h0, c0)` or `None` (zeros); h0 (num_layers, N, H_out), c0 (num_layers, N, h); never batch-first |
# | returns | `output, (h_n, c_n)`: output (T, N, H_out), the top layer's $H_t$; h_n (num_layers, N, H_out); c_n (num_layers, N, h) |
# | layer k | `weight_ih_l{k}` (4h, d for k = 0, else H_out), `weight_hh_l{k}` (4h, H_out), `bias_ih_l{k}`, `bias_hh_l{k}` (4h), `weight_hr_l{k}` (p, h) if p > 0 |
#
# The layer of this lesson runs **one direction** (`bidirectional=True` raises and points to lesson 08, which
# adds the reverse direction and packed input), with any `num_layers`, `batch_first`, `dropout` between layers,
# `bias` and `proj_size` (section 8). One layer over time: the input term of all steps is one product [T, N, 4h];
# the loop runs `lstm_step` and, when the layer has a projection, multiplies $H_t$ by $W_{hr}^\top$.

# %%
def run_layer(X, H, C, weights):
    """One layer over time. X [T, N, d_k], H [N, H_out], C [N, h] → output [T, N, H_out], H_T, C_T."""
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    GX = X @ w_ih.T + (b_ih if b_ih is not None else 0.0)  # the input term of every step: [T, N, 4h]
    out = []
    for t in range(X.shape[0]):
        H_full, C = lstm_step(GX[t], H, C, w_hh, b_hh)  # σ(o) ⊙ tanh(C_t): [N, h]
        H = H_full @ w_hr.T if w_hr is not None else H_full  # proj_size > 0: [N, p], fed to the next step
        out.append(H)
    return torch.stack(out), H, C

# %% [markdown]
# The inputs, checked as `nn.LSTM` checks them, but with clearer messages where torch's are obscure (below), and
# brought to one layout: X [T, N, d], h0 [L, N, H_out], c0 [L, N, h].

# %%
def lstm_inputs(lstm, input, hx):
    """→ X [T, N, d], h0 [L, N, H_out], c0 [L, N, h], unbatched (bool). Raises with a message that says what is wrong."""
    if input.dim() not in (2, 3):
        raise ValueError(f"LSTM: Expected input to be 2D or 3D, got {input.dim()}D instead")
    unbatched = input.dim() == 2  # batch_first is ignored for unbatched input, as in torch
    X = input.unsqueeze(1) if unbatched else input.transpose(0, 1) if lstm.batch_first else input
    if X.shape[-1] != lstm.input_size:
        raise RuntimeError(f"input has {X.shape[-1]} features in its last dimension, expected input_size={lstm.input_size}")
    L, N_, h_out = lstm.num_layers, X.shape[1], lstm.proj_size or lstm.hidden_size
    if hx is None:
        return X, X.new_zeros(L, N_, h_out), X.new_zeros(L, N_, lstm.hidden_size), unbatched
    if not (isinstance(hx, (tuple, list)) and len(hx) == 2 and all(isinstance(s, torch.Tensor) for s in hx)):
        got = f"a {type(hx).__name__}" + (f" of shape {tuple(hx.shape)}" if isinstance(hx, torch.Tensor) else "")
        raise TypeError(f"LSTM takes hx = (h0, c0), a pair of tensors, or None for zeros; got {got}. "
                        f"Here h0 is {(L, N_, h_out)} and c0 is {(L, N_, lstm.hidden_size)}.")
    for name, s, cols in (("h0", hx[0], h_out), ("c0", hx[1], lstm.hidden_size)):
        want = (L, cols) if unbatched else (L, N_, cols)
        if tuple(s.shape) != want:
            hint = ("h0 and c0 are never batch-first" if sorted(s.shape) == sorted(want) else
                    f"with proj_size={lstm.proj_size}, h0 has proj_size columns and c0 hidden_size columns"
                    if lstm.proj_size else "one row per layer")
            raise RuntimeError(f"Expected {name} of shape {want}, got {tuple(s.shape)}: {hint}")
    return X, *((s.unsqueeze(1) if unbatched else s) for s in hx), unbatched

# %% [markdown]
# The module: `nn.LSTM`'s constructor, with the same argument names and defaults and torch's checks; per layer
# the parameters `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}`, `weight_hr_l{k}` in that
# order, all drawn from $U(-1/\sqrt{h}, 1/\sqrt{h})$ (`weight_hr` too, with h = `hidden_size`, not p).

# %%
class ScratchLSTM(nn.Module):
    """nn.LSTM from scratch (one direction): layers of the LSTM step, parameters stored as torch stores them."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if bidirectional:
            raise NotImplementedError("this lesson's ScratchLSTM runs one direction; lesson 08 adds bidirectional=True")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if dropout > 0 and num_layers == 1:  # torch's warning, word for word (lesson 04)
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                          f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}")
        self.input_size, self.hidden_size, self.num_layers, self.bias = input_size, hidden_size, num_layers, bias
        self.batch_first, self.dropout, self.bidirectional, self.proj_size = batch_first, float(dropout), False, proj_size
        h_out, kw = proj_size or hidden_size, {"device": device, "dtype": dtype}
        for k in range(num_layers):
            d_k = input_size if k == 0 else h_out  # layer k > 0 reads the (projected) output of layer k − 1
            setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(4 * hidden_size, d_k, **kw)))
            setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(4 * hidden_size, h_out, **kw)))
            if bias:
                setattr(self, f"bias_ih_l{k}", nn.Parameter(torch.empty(4 * hidden_size, **kw)))
                setattr(self, f"bias_hh_l{k}", nn.Parameter(torch.empty(4 * hidden_size, **kw)))
            if proj_size > 0:
                setattr(self, f"weight_hr_l{k}", nn.Parameter(torch.empty(proj_size, hidden_size, **kw)))
        bound = 1.0 / math.sqrt(hidden_size)  # every parameter, weight_hr too
        for param in self.parameters():
            nn.init.uniform_(param, -bound, bound)

    def weights(self, k):
        """(weight_ih, weight_hh, bias_ih, bias_hh, weight_hr) of layer k; None for the absent ones."""
        return tuple(getattr(self, f"{n}_l{k}", None) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"))

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, proj_size={self.proj_size}"

# %% [markdown]
# `forward`: layer after layer, each from its own row of h0 and c0; dropout on the output of every layer but the
# last, in training mode only (lesson 04); the output in the layout the input came in.

# %%
def scratch_lstm_forward(self, input, hx=None):
    X, H0, C0, unbatched = lstm_inputs(self, input, hx)  # X [T, N, d], H0 [L, N, H_out], C0 [L, N, h]
    h_n, c_n = [], []
    for k in range(self.num_layers):
        X, H, C = run_layer(X, H0[k], C0[k], self.weights(k))
        h_n.append(H)
        c_n.append(C)
        if self.training and self.dropout > 0 and k < self.num_layers - 1:  # never after the top layer
            X = F.dropout(X, self.dropout, training=True)
    h_n, c_n = torch.stack(h_n), torch.stack(c_n)  # [L, N, H_out], [L, N, h]
    if unbatched:
        return X.squeeze(1), (h_n.squeeze(1), c_n.squeeze(1))
    return (X.transpose(0, 1) if self.batch_first else X), (h_n, c_n)  # h_n, c_n are never batch-first


ScratchLSTM.forward = scratch_lstm_forward

# %% [markdown]
# Same names, shapes and order as `nn.LSTM`, and the same initial values from the same seed, for every stack tried
# (with and without projection and biases); then `load_state_dict` both ways.

# %%
for kwargs in ({}, {"num_layers": 2, "proj_size": p}, {"num_layers": 3, "bias": False, "proj_size": 1}):
    torch.manual_seed(4)
    t_init = nn.LSTM(d, h, **kwargs)
    torch.manual_seed(4)
    s_init = ScratchLSTM(d, h, **kwargs)
    names = [(n, tuple(q.shape)) for n, q in t_init.named_parameters()]
    assert [(n, tuple(q.shape)) for n, q in s_init.named_parameters()] == names
    assert all(torch.equal(a, b) for a, b in zip(s_init.parameters(), t_init.parameters()))
    print(f"✓ {str(kwargs or 'defaults'):<44} {len(names):>2} parameters: same names, shapes, initial values")
scratch, torch_twin = ScratchLSTM(d, h, num_layers=2, proj_size=p), nn.LSTM(d, h, num_layers=2, proj_size=p)
torch_twin.load_state_dict(scratch.state_dict())  # scratch → torch
scratch.load_state_dict(nn.LSTM(d, h, num_layers=2, proj_size=p).state_dict())  # torch → scratch
print("✓ load_state_dict works both ways")

# %% [markdown]
# A first comparison, without projection: two layers, `hx` given as the pair `(h0, c0)`.

# %%
torch.manual_seed(5)
lstm2 = nn.LSTM(d, h, num_layers=2, dtype=F64)
s_lstm2 = ScratchLSTM(d, h, num_layers=2, dtype=F64)
s_lstm2.load_state_dict(lstm2.state_dict())  # torch → scratch
h0, c0 = torch.randn(2, N, h, dtype=F64), torch.randn(2, N, h, dtype=F64)  # [num_layers, N, h] each
with torch.no_grad():
    out_t, (hn_t, cn_t) = lstm2(X, (h0, c0))
    out_s, (hn_s, cn_s) = s_lstm2(X, (h0, c0))
print(f"output {list(out_t.shape)}, h_n {list(hn_t.shape)}, c_n {list(cn_t.shape)}")
check("output: ScratchLSTM vs nn.LSTM", out_s, out_t, **EXACT)
check("h_n, c_n: ScratchLSTM vs nn.LSTM", torch.stack([hn_s, cn_s]), torch.stack([hn_t, cn_t]), **EXACT)

# %% [markdown]
# **The `hx` traps.** `nn.LSTM` needs the pair `(h0, c0)`. Give a one-layer LSTM a single tensor (the habit from
# `nn.RNN`) and torch answers with an `IndexError` about "index 1", which says nothing about `hx`: it unpacks the
# tensor along its first axis, looking for h0 and c0. With two layers that unpacking *succeeds* (rows 0 and 1 become
# "h0" and "c0") and the error is about dimensions. `ScratchLSTM` says what it expected. Then h0 given batch-first,
# and c0 with the wrong number of rows; last, the part of `nn.LSTM` this lesson leaves out.

# %%
lstm1, s_lstm1 = nn.LSTM(d, h, dtype=F64), ScratchLSTM(d, h, dtype=F64)  # one layer
bad_calls = [("hx = h0 alone, one layer", (lstm1, s_lstm1), h0[:1]), ("hx = h0 alone, two layers", (lstm2, s_lstm2), h0),
             ("h0 batch-first (N, L, h)", (lstm2, s_lstm2), (h0.transpose(0, 1), c0)),
             ("c0 with one row for two layers", (lstm2, s_lstm2), (h0, c0[:1]))]
for label, modules, hx in bad_calls:
    print(label)
    for module in modules:
        try:
            module(X, hx)
        except (IndexError, RuntimeError, TypeError) as err:
            print(f"  {type(module).__name__:<12} {type(err).__name__}: {err}")
try:
    ScratchLSTM(d, h, bidirectional=True)
except NotImplementedError as err:
    print(f"bidirectional=True\n  ScratchLSTM  NotImplementedError: {err}")

# %% [markdown]
# ## 8 · `proj_size`: an LSTM with a projection
#
# With `proj_size = p > 0` (the LSTMP of Sak et al. 2014), each step multiplies the new hidden state by a learned
# matrix $W_{hr}$ = `weight_hr_l{k}` [p, h], without a bias:
#
# $$H_t = \big(\sigma(o_t) \odot \tanh(C_t)\big)\, W_{hr}^\top \quad [N, p], \qquad C_t \text{ stays } [N, h].$$
#
# The projected $H_t$ is what everything downstream sees: the **next step** (so `weight_hh` is [4h, **p**]), the
# **next layer** (so `weight_ih_l1` is [4h, **p**]; the docs once said [4h, h], pytorch#65053), `output` and `h_n`
# ([·, p]). Only the cell state keeps h columns: `c_n` and `c0` are [L, N, **h**]. The projection is applied at
# **every** step, not only to the final state, although the docs' wording suggests that to some readers
# (pytorch#139582). It saves parameters: the recurrent weights shrink from 4h·h to 4h·p + p·h.

# %%
fig, ax = plt.subplots(figsize=(10, 4))
draw_lstm_cell(ax, proj=True)
plt.show()
torch.manual_seed(6)
lstmp = nn.LSTM(d, h, num_layers=2, proj_size=p, dtype=F64)
for name, param in lstmp.named_parameters():
    print(f"  {name:<13} {tuple(param.shape)}")
h0p, c0p = torch.randn(2, N, p, dtype=F64), torch.randn(2, N, h, dtype=F64)  # h0 [L, N, p], c0 [L, N, h]
with torch.no_grad():
    out_p, (hn_p, cn_p) = lstmp(X, (h0p, c0p))
print(f"output {list(out_p.shape)} = [T, N, p], h_n {list(hn_p.shape)} = [L, N, p], c_n {list(cn_p.shape)} = [L, N, h]")

# %% [markdown]
# `ScratchLSTM` with the same weights: first a **single step** (T = 1) of a one-layer LSTM, where the shapes are
# easiest to read, then the two-layer one above over the whole sequence, values and gradients.

# %%
torch.manual_seed(7)
lstmp1, s_lstmp1 = nn.LSTM(d, h, proj_size=p, dtype=F64), ScratchLSTM(d, h, proj_size=p, dtype=F64)  # one layer
s_lstmp1.load_state_dict(lstmp1.state_dict())  # torch → scratch
with torch.no_grad():
    out_1, (hn_1, cn_1) = s_lstmp1(X[:1], (h0p[:1], c0p[:1]))  # one step; h0 [1, N, p], c0 [1, N, h]
    out_1t, (hn_1t, cn_1t) = lstmp1(X[:1], (h0p[:1], c0p[:1]))
print(f"one step: output {list(out_1.shape)}, h_n {list(hn_1.shape)}, c_n {list(cn_1.shape)}")
check("one step, output [1, N, p]: ScratchLSTM vs nn.LSTM", out_1, out_1t, **EXACT)
check("one step, c_n [1, N, h]: ScratchLSTM vs nn.LSTM", cn_1, cn_1t, **EXACT)
s_lstmp = ScratchLSTM(d, h, num_layers=2, proj_size=p, dtype=F64)
s_lstmp.load_state_dict(lstmp.state_dict())
n = parity(lstmp, s_lstmp, X, (h0p, c0p), **EXACT)
print(f"✓ whole sequence, 2 layers, proj_size={p}: {n} tensors match (output, h_n, c_n, all gradients), |Δ| ≤ 1e-12")

# %% [markdown]
# **Projecting only at the end does not give the same network.** Read the docs as "run an ordinary LSTM and
# project its output" and you get a plain `nn.LSTM(d, h)` followed by $W_{hr}$. Its recurrent weights are
# [4h, h], so some choice has to be made for them; with the same input weights, biases and $W_{hr}$ and torch's
# own initial $W_{hh}$, the output differs (the number is printed below). A plain LSTM matches only when its
# recurrent matrix is the rank-p product `weight_hh @ weight_hr` [4h, h], because
# $(H^{full} W_{hr}^\top) W_{hh}^\top = H^{full} (W_{hh} W_{hr})^\top$. That is the projection feeding the recurrence
# at every step, written another way. (The one-layer `lstmp1`, zero initial state, for simplicity.)

# %%
plain = nn.LSTM(d, h, dtype=F64)  # the "ordinary LSTM" of the end-only reading: weight_hh_l0 is [4h, h]
with torch.no_grad():
    for name in ("weight_ih_l0", "bias_ih_l0", "bias_hh_l0"):
        getattr(plain, name).copy_(getattr(lstmp1, name))
    out_proj = lstmp1(X)[0]  # [T, N, p]
    end_only = plain(X)[0] @ lstmp1.weight_hr_l0.T  # [T, N, h] → [T, N, p], projected once at the end
    plain.weight_hh_l0.copy_(lstmp1.weight_hh_l0 @ lstmp1.weight_hr_l0)  # [4h, p] @ [p, h] = [4h, h], rank p
    low_rank = plain(X)[0] @ lstmp1.weight_hr_l0.T
gap = (end_only - out_proj).abs().max().item()
print(f"plain LSTM + projection at the end, its own W_hh: max |Δ| vs proj_size LSTM = {gap:.4f}  ✗")
assert gap > 1e-3
check("plain LSTM with W_hh = weight_hh @ weight_hr, projected", low_rank, out_proj, **EXACT)
print(f"parameters: proj_size LSTM {sum(q.numel() for q in lstmp1.parameters())}, plain LSTM + W_hr "
      f"{sum(q.numel() for q in plain.parameters()) + p * h}")

# %% [markdown]
# ## 9 · Parity: every combination
#
# The grid, in **float64** with |Δ| ≤ 1e-12: one to three layers × projection or not × `batch_first` × bias, and
# for each three runs: batched with `(h0, c0)`, batched with `hx=None`, and unbatched with `(h0, c0)`. Each entry is
# the number of tensors asserted equal (output, h_n, c_n, the gradients of the input, h0, c0 if given, and of
# every parameter). The weights go scratch → torch here; `twin` (below) goes the other way.

# %%
print(f"{'L':<3}{'proj':<6}{'batch_first':<13}{'bias':<7}{'h0,c0':<8}{'None':<8}{'unbatched':<10}")
for L in (1, 2, 3):
    for proj in (0, p):
        for batch_first in (False, True):
            for bias in (True, False):
                kw = {"num_layers": L, "proj_size": proj, "batch_first": batch_first, "bias": bias, "dtype": F64}
                s_m, t_m = ScratchLSTM(d, h, **kw), nn.LSTM(d, h, **kw)
                t_m.load_state_dict(s_m.state_dict())  # scratch → torch
                x = torch.randn(*((N, T, d) if batch_first else (T, N, d)), dtype=F64)
                hx = (torch.randn(L, N, proj or h, dtype=F64), torch.randn(L, N, h, dtype=F64))
                counts = [parity(t_m, s_m, x, hx, **EXACT), parity(t_m, s_m, x, None, **EXACT),
                          parity(t_m, s_m, torch.randn(T, d, dtype=F64), tuple(s[:, 0] for s in hx), **EXACT)]
                print(f"{L:<3}{proj:<6}{str(batch_first):<13}{str(bias):<7}" + "".join(f"{c} ✓".ljust(8) for c in counts))
print("✓ = every tensor asserted equal to nn.LSTM's, |Δ| ≤ 1e-12")

# %% [markdown]
# Three more settings: **dropout** between layers in training mode (the same seed before each call, so torch and
# we draw the same masks) and in evaluation mode, where it does nothing; and **float32**, within `assert_close`'s
# float32 defaults. `twin` makes a `ScratchLSTM` with a torch module's settings and a copy of its weights.

# %%
def twin(lstm):
    """A ScratchLSTM with nn.LSTM lstm's settings, dtype, device and a copy of its weights (torch → scratch)."""
    w = lstm.weight_ih_l0
    s = ScratchLSTM(lstm.input_size, lstm.hidden_size, lstm.num_layers, lstm.bias, lstm.batch_first, lstm.dropout,
                    proj_size=lstm.proj_size, device=w.device, dtype=w.dtype)
    s.load_state_dict(lstm.state_dict())
    return s


drop = nn.LSTM(d, h, num_layers=3, dropout=0.5, proj_size=p, dtype=F64)
s_drop = twin(drop)
with torch.random.fork_rng():
    torch.manual_seed(8)
    out_t = drop(X)[0]
    torch.manual_seed(8)
    out_s = s_drop(X)[0]
check("dropout=0.5, training mode, 3 layers, proj_size=2", out_s, out_t, **EXACT)
drop.eval()
s_drop.eval()
with torch.no_grad():
    check("dropout=0.5, eval mode", s_drop(X)[0], drop(X)[0], **EXACT)
lstm32 = nn.LSTM(d, h, num_layers=2, proj_size=p)
n = parity(lstm32, twin(lstm32), X.float(), (torch.randn(2, N, p), torch.randn(2, N, h)))
print(f"✓ float32, 2 layers, proj_size={p}: {n} tensors match within the float32 defaults")

# %% [markdown]
# ## 10 · The forget-gate bias
#
# At initialisation the forget gate's pre-activation is near 0, so $\sigma(f) \approx 0.5$: the cell state halves at
# every step, and so does the gradient along the protected path (section 2). The remedy, a positive forget-gate
# bias, goes back to Gers et al. (2000); Jozefowicz et al. (2015, "An empirical exploration of recurrent network
# architectures") stressed it again and found that adding a bias of **1** to the forget gate closed the gap
# between the LSTM and the GRU in their experiments. In torch the forget gate's bias is rows **h : 2h** of
# `bias_ih_l{k}` and of `bias_hh_l{k}`; the two are added, so set one of them to the value you want and the other to 0.
#
# How long does the cell state remember? Unroll the update: $C_t = \big(\prod_{k=1}^{t} \sigma(f_k)\big) \odot C_0 +$
# (what was written at steps 1 … t, kept since). The product of the forget gates is the **share of $C_0$ still in
# $C_t$**, and it is also the gradient along the protected path, $\partial C_t / \partial C_0$ through the cell-state
# line. The cell runs an LSTM (8 units, torch's initial weights) on zero input and multiplies up its forget gates,
# for four values of the forget bias $b_f$. If the gates sat exactly at $\sigma(b_f)$, the share would halve every
# $\ln 2 / (-\ln \sigma(b_f))$ steps; they also read $H_{t-1}$, so that is only a guide.

# %%
def kept_share(b_f, steps=60, hidden=8):
    """∏ σ(f_k), k = 1 … t (mean over units), t = 1 … steps: the share of C_0 still in C_t, on zero input."""
    lstm = lstm_with_forget_bias(b_f, hidden)
    w_hh, b = lstm.weight_hh_l0.detach(), (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach()  # [4h, h], [4h]
    H_, C_ = torch.zeros(1, hidden, dtype=F64), torch.zeros(1, hidden, dtype=F64)
    kept, shares = torch.ones(1, hidden, dtype=F64), []
    for _ in range(steps):
        a_i, a_f, a_g, a_o = (H_ @ w_hh.T + b).chunk(4, -1)  # zero input: the X_t W_ihᵀ term is 0
        C_ = a_f.sigmoid() * C_ + a_i.sigmoid() * a_g.tanh()
        H_ = a_o.sigmoid() * C_.tanh()
        kept = kept * a_f.sigmoid()  # one more forget gate on the cell-state line
        shares.append(kept.mean().item())
    return shares


shares = {b_f: kept_share(b_f) for b_f in (0.0, 1.0, 3.0, 5.0)}
for b_f, sh in shares.items():
    s_f = 1 / (1 + math.exp(-b_f))
    half = next((t + 1 for t, v in enumerate(sh) if v < 0.5), None)
    print(f"b_f = {b_f:.0f}: σ(b_f) = {s_f:.4f}, guide {math.log(2) / -math.log(s_f):5.1f} steps; share of C_0 below 1/2 "
          f"after {half if half else '> 60'} steps; left after 60 steps: {sh[-1]:.4f}")
assert shares[5.0][-1] > shares[3.0][-1] > 0.01 > shares[1.0][-1] > shares[0.0][-1]

# %% [markdown]
# The same shares over the 60 steps, on a log scale: with the default (b_f ≈ 0) almost nothing of $C_0$ is left
# after 20 steps; with b_f = 3 about 5 % survives 60 steps, with b_f = 5 two thirds.

# %%
fig, ax = plt.subplots(figsize=(7, 2.8))
for b_f, sh in shares.items():
    ax.semilogy(range(1, 61), sh, label=f"forget bias {b_f:.0f}")
ax.set_xlabel("step t")
ax.set_ylabel("share of C₀ in C_t")
ax.legend(fontsize=8)
ax.grid(True, alpha=0.3)
plt.show()

# %% [markdown]
# ## 11 · Play: the gates at work
#
# A small LSTM (one input, 4 hidden units, fixed random weights, input weights × 4 so that the gates react) reads a
# sequence you choose: a single **pulse**, a **step** that switches on, a **square wave**, or **noise**. The
# heatmaps show, for every unit (rows) and step (columns), the three gates $\sigma(i)$, $\sigma(f)$, $\sigma(o)$
# (0 dark purple to 1 yellow) and the cell state $C_t$. The slider sets the forget-gate bias $b_f$ (it replaces
# the bias of the forget rows): move it and watch $\sigma(f)$ brighten and $C_t$ hold its value for longer. For
# the pulse, the printout says how many steps it takes for the pulse's trace in $C_t$ to halve. Each call checks the
# hand-computed states against `nn.LSTM`.

# %%
torch.manual_seed(9)
gate_lstm = nn.LSTM(1, 4, dtype=F64)
with torch.no_grad():
    gate_lstm.weight_ih_l0.mul_(4.0)  # larger input weights than torch's init: gates that react to the input
PATTERNS = ("pulse", "step", "square wave", "noise")


def make_pattern(kind, length):
    """The widget's input sequence [length, 1, 1]."""
    t = torch.arange(length)
    if kind == "pulse":
        x = (t == 1).to(F64)  # one spike at step 2
    elif kind == "step":
        x = (t >= length // 3).to(F64)
    elif kind == "square wave":
        x = ((t // 4) % 2 == 0).to(F64)  # 4 steps on, 4 off
    else:
        x = torch.randn(length, generator=torch.Generator().manual_seed(3), dtype=F64)
    return x.view(length, 1, 1)

# %% [markdown]
# `gate_trace` runs the step by hand (it needs the gates, which `nn.LSTM` does not return) with the forget bias
# replaced by $b_f$, and checks its final $(H, C)$ against `nn.LSTM` with the same bias.

# %%
def gate_trace(x, b_f):
    """σ(i), σ(f), σ(o) and C over time for input x [T, 1, 1] and forget bias b_f → [T, 4 rows, 4 units]."""
    lstm = nn.LSTM(1, 4, dtype=F64)
    lstm.load_state_dict(gate_lstm.state_dict())
    with torch.no_grad():
        lstm.bias_ih_l0[4:8], lstm.bias_hh_l0[4:8] = b_f, 0.0  # the forget rows h : 2h (here h = 4)
        w_ih, w_hh, b = lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0
        H_, C_, rows = torch.zeros(1, 4, dtype=F64), torch.zeros(1, 4, dtype=F64), []
        for x_t in x:  # x_t [1, 1]
            a_i, a_f, a_g, a_o = (x_t @ w_ih.T + H_ @ w_hh.T + b).chunk(4, -1)  # [1, 4] each
            C_ = a_f.sigmoid() * C_ + a_i.sigmoid() * a_g.tanh()
            H_ = a_o.sigmoid() * C_.tanh()
            rows.append(torch.cat([a_i.sigmoid(), a_f.sigmoid(), a_o.sigmoid(), C_]))  # [4, 4]
        _, (hn, cn) = lstm(x)
    torch.testing.assert_close((H_, C_), (hn[0], cn[0]), **EXACT)
    return torch.stack(rows)

# %% [markdown]
# The callback: it checks its arguments, runs the pattern (and, for the pulse, the same LSTM on zeros, to measure
# the pulse's trace in $C_t$), prints what it found and draws. It returns a small dict, or `None` with a message
# for settings it cannot use. Labels are plain Unicode, not `$…$`, which has failed intermittently in widgets.

# %%
def show_gates(pattern="pulse", length=24, forget_bias=0.0):
    """Widget callback: heatmaps of σ(i), σ(f), σ(o) and C over time. Returns a dict, or None with a message."""
    if pattern not in PATTERNS:
        print(f"⚠ pattern {pattern!r}: choose one of {', '.join(PATTERNS)}.")
        return None
    if not (isinstance(length, int) and 3 <= length <= 200):
        print(f"⚠ length = {length!r}: choose between 3 and 200 steps.")
        return None
    x = make_pattern(pattern, length)
    rows = gate_trace(x, float(forget_bias))  # [T, 4, 4]: σ(i), σ(f), σ(o), C for 4 units
    means = [rows[:, k].mean().item() for k in range(3)]
    print(f"{pattern}, T = {length}, forget bias {forget_bias:+.1f}: mean σ(i) = {means[0]:.4f}, "
          f"σ(f) = {means[1]:.4f}, σ(o) = {means[2]:.4f}   (✓ states equal nn.LSTM's)")
    half = None
    if pattern == "pulse":
        trace = (rows[:, 3] - gate_trace(torch.zeros_like(x), float(forget_bias))[:, 3]).abs().amax(-1)  # [T]
        half = next((t - 1 for t in range(2, length) if trace[t] < trace[1] / 2), None)  # the pulse is at step 2
        print(f"the pulse's trace in C: {trace[1]:.4f} at step 2; "
              + (f"below half of that {half} step(s) later" if half else f"still above half at step {length}"))
    fig, axes = plt.subplots(3, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [1, 3, 1.2]})
    axes[0].stairs(x[:, 0, 0], torch.arange(length + 1) + 0.5, color="black", label="input")  # as wide as the heatmaps
    if pattern == "pulse":
        axes[0].plot(range(1, length + 1), trace / max(trace[1].item(), 1e-12), color="#c00000",
                     label="pulse's trace in C ÷ its value at step 2")
        axes[0].legend(fontsize=7, loc="upper right")
    axes[0].set_ylabel("input")
    extent = (0.5, length + 0.5, 11.5, -0.5)
    axes[1].imshow(rows[:, :3].reshape(length, 12).T, aspect="auto", extent=extent, interpolation="nearest",
                   vmin=0, vmax=1, cmap="viridis")  # 12 rows: σ(i) of units 0-3, then σ(f), then σ(o)
    axes[1].hlines([3.5, 7.5], 0.5, length + 0.5, color="white", lw=2)
    axes[1].set_yticks(range(12), [f"{g}{str(u).translate(SUB)}" for g in ("σ(i)", "σ(f)", "σ(o)") for u in range(4)],
                       fontsize=8)
    lim = max(rows[:, 3].abs().max().item(), 1e-6)
    axes[2].imshow(rows[:, 3].T, aspect="auto", extent=(0.5, length + 0.5, 3.5, -0.5), interpolation="nearest",
                   vmin=-lim, vmax=lim, cmap="coolwarm")
    axes[2].set_yticks(range(4), [f"C{str(u).translate(SUB)}" for u in range(4)], fontsize=8)
    axes[-1].set_xlabel("step t")
    axes[0].set_title(f"a 4-unit LSTM, input: {pattern}, forget bias {forget_bias:+.1f}: "
                      "gates dark 0 → yellow 1; C blue < 0 < red", fontsize=10)
    fig.subplots_adjust(left=0.09, right=0.98, top=0.95, bottom=0.08, hspace=0.12)  # (tight_layout: 2× slower)
    plt.show()
    return {"pattern": pattern, "length": length, "mean_gates": means, "half_life": half}

# %% [markdown]
# The widget (move the controls; it redraws each time):

# %%
# NBVAL_IGNORE_OUTPUT
gates_ui = widgets.interactive(
    show_gates,
    pattern=widgets.Dropdown(options=PATTERNS, value="pulse", description="input"),
    length=widgets.IntSlider(value=24, min=4, max=60, step=4, description="length T"),
    forget_bias=widgets.FloatSlider(value=0.0, min=-3.0, max=6.0, step=0.5, description="forget bias"),
)
display(gates_ui)

# %% [markdown]
# The same callback in plain cells, so that an error inside it cannot hide in the widget. The defaults: the
# pulse's trace halves within a few steps.

# %%
result = show_gates()
assert result["half_life"] is not None and result["half_life"] <= 6

# %% [markdown]
# The extremes: a forget bias of 6 keeps the pulse for the whole sequence; a negative one forgets at once; a long
# square wave and short noise. With b_f = 6 the red trace even grows a little: the pulse also changed $H$, and
# through $H$ the later gates. The $C_t$ heatmap drifts too, pulse or not: with $\sigma(f) \approx 1$ the cell adds
# up what the gates write at every step (their biases act even on zero input), which is why the pulse's own trace
# is drawn as a separate line.

# %%
long_memory = show_gates("pulse", 60, 6.0)
assert long_memory["half_life"] is None
assert show_gates("pulse", 4, -3.0)["half_life"] == 1
assert show_gates("square wave", 60, 0.0)["mean_gates"][1] < show_gates("noise", 4, 6.0)["mean_gates"][1]

# %% [markdown]
# And settings the callback refuses, with a message instead of a traceback:

# %%
assert show_gates("sawtooth") is None
assert show_gates("pulse", 2) is None

# %% [markdown]
# ## 12 · Exercises
#
# Each exercise has a function to fill in and a checker (collapsed) that runs it and says **what** is wrong. Replace
# `...` by your code and run the cell and the checker again.
#
# **Exercise 1: the LSTM step from stacked weights.** Given x [N, d], h [N, h], c [N, h] and `nn.LSTMCell`'s four
# parameters as torch stores them (`weight_ih` [4h, d], `weight_hh` [4h, h], `bias_ih`, `bias_hh` [4h]), return
# the pair `(h', c')`. The checker compares with `nn.LSTMCell` and recognises the usual slips.

# %%
def my_lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    ...  # your code here: return (h_new [N, h], c_new [N, h])

# %% hidden
def lstm_variant(x, h, c, w_ih, w_hh, b_ih, b_hh, order="ifgo", with_b_ih=True, with_b_hh=True, tanh_g=True):
    """A (possibly wrong) LSTM step: the gate blocks read in `order`, a bias left out, or tanh(g) forgotten."""
    z = x @ w_ih.T + h @ w_hh.T + (b_ih if with_b_ih else 0) + (b_hh if with_b_hh else 0)
    blocks = dict(zip(order, z.chunk(4, -1)))
    cand = blocks["g"].tanh() if tanh_g else blocks["g"]
    c_new = blocks["f"].sigmoid() * c + blocks["i"].sigmoid() * cand
    return blocks["o"].sigmoid() * c_new.tanh(), c_new


def check_lstm_step(fn):
    """Compare fn with nn.LSTMCell(5, 3) on a batch of 2; name the slip when it is a known one. Returns True/False."""
    with torch.random.fork_rng():
        torch.manual_seed(21)
        ref = nn.LSTMCell(5, 3, dtype=F64)
        x_, h_, c_ = torch.randn(2, 5, dtype=F64), torch.randn(2, 3, dtype=F64), torch.randn(2, 3, dtype=F64)
    w = [q.detach() for q in ref.parameters()]  # weight_ih [12, 5], weight_hh [12, 3], bias_ih, bias_hh [12]
    with torch.no_grad():
        want = ref(x_, (h_, c_))
    try:
        got = fn(x_, h_, c_, *w)
    except Exception as err:  # report the learner's error instead of raising it
        hint = ("\n  Hint: weight_ih is [4h, d] (torch's layout): multiply by weight_ih.T and weight_hh.T."
                if "cannot be multiplied" in str(err) else "")
        print(f"✗ my_lstm_step raised {type(err).__name__}: {err}{hint}")
        return False
    if got is None:
        print("✗ not done yet: my_lstm_step returned None.")
        return False
    if not (isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(v, torch.Tensor) for v in got)):
        print(f"✗ my_lstm_step returned a {type(got).__name__}: return a pair of tensors (h_new, c_new).")
        return False
    for name, v in zip(("h_new", "c_new"), got):
        if tuple(v.shape) != (2, 3):
            hint = ": that is [N, 4h], all four gates; split them with .chunk(4, dim=-1)" if tuple(v.shape) == (2, 12) else ""
            print(f"✗ {name} has shape {tuple(v.shape)}, expected (N, h) = (2, 3){hint}.")
            return False

    def same(pair, ref_pair):
        return all(torch.allclose(a.to(F64), b, rtol=0.0, atol=1e-10) for a, b in zip(pair, ref_pair))

    if same(got, want):
        print("✓ my_lstm_step matches nn.LSTMCell: the gate order, both biases, c' and h' are right.")
        return True
    if same(got[::-1], want):
        print("✗ h_new and c_new are swapped: return (h', c'), in nn.LSTMCell's order.")
        return False
    slips = {}
    for o in ("ifog", "igfo", "figo", "oifg", "gifo", "ogfi"):  # other orders of the four row blocks
        who = " (CS231n's and fastbook's)" if o == "ifog" else ""
        slips[f"you read the gate blocks in the order {', '.join(o)}{who}; torch's is i, f, g, o: "
              "rows 0:h, h:2h, 2h:3h, 3h:4h"] = {"order": o}
    slips.update({"bias_hh is missing: torch adds both biases, b_ih and b_hh": {"with_b_hh": False},
                  "bias_ih is missing: torch adds both biases, b_ih and b_hh": {"with_b_ih": False},
                  "the candidate g needs a tanh: c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)": {"tanh_g": False}})
    for message, kw in slips.items():
        if same(got, lstm_variant(x_, h_, c_, *w, **kw)):
            print(f"✗ {message}.")
            return False
    if torch.allclose(got[1].to(F64), want[1], rtol=0.0, atol=1e-10):
        print("✗ c_new is right, h_new is not: h' = σ(o) ⊙ tanh(c'), with the NEW cell state c'.")
    else:
        print("✗ c_new differs from nn.LSTMCell's: gates = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh → i, f, g, o; "
              "c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g).")
    return False


exercise_1_passed = check_lstm_step(my_lstm_step)

# %% [markdown]
# **Exercise 2: count the parameters.** Return the number of parameters (entries, not tensors) of
# `nn.LSTM(input_size, hidden_size, num_layers, proj_size=proj_size, bias=bias)`, one direction, from the shapes
# of section 7 (no module allowed in your answer: compute it). The checker compares with torch for several settings.

# %%
def lstm_param_count(input_size, hidden_size, num_layers=1, proj_size=0, bias=True):
    ...  # your code here: return an int

# %% hidden
def check_lstm_param_count(fn):
    """Compare fn with the parameter count of nn.LSTM for several settings; name the part that is off."""
    settings = [(10, 20, 1, 0, True), (10, 20, 2, 0, False), (10, 20, 1, 5, True), (7, 12, 3, 4, True), (3, 8, 2, 2, False)]
    for d_, h_, L, p_, bias in settings:
        call = f"lstm_param_count({d_}, {h_}, num_layers={L}, proj_size={p_}, bias={bias})"
        want = sum(q.numel() for q in nn.LSTM(d_, h_, L, bias=bias, proj_size=p_, device="meta").parameters())
        try:
            got = fn(d_, h_, L, p_, bias)
        except Exception as err:  # report the learner's error instead of raising it
            print(f"✗ {call} raised {type(err).__name__}: {err}")
            return False
        if got is None:
            print("✗ not done yet: lstm_param_count returned None.")
            return False
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if isinstance(got, bool) or not hasattr(got, "__index__"):
            print(f"✗ {call} returned {got!r} ({type(got).__name__}): return an int.")
            return False
        got = got.__index__()
        if got == want:
            continue
        h_out = p_ or h_
        slips = {want - L * p_ * h_: "weight_hr_l{k} [p, h] is missing (one per layer)",
                 want + L * 4 * h_ * (h_ - h_out): "weight_hh is [4h, proj_size] with a projection, not [4h, h]",
                 want + (L - 1) * 4 * h_ * (h_ - h_out): "layer k > 0 reads the projected output: weight_ih_l{k} is [4h, proj_size]",
                 want - L * 4 * h_ * bias: "there are two bias vectors per layer, bias_ih and bias_hh, [4h] each",
                 want + L * 8 * h_ * (not bias): "bias=False: no bias vectors at all"}
        slips.pop(want, None)  # a 'slip' that changes nothing in this setting is no explanation
        hint = slips.get(got, "per layer: 4h·(d_k + H_out) weights, 2·4h biases, p·h projection")
        print(f"✗ {call} returned {got}, nn.LSTM has {want}. Hint: {hint}.")
        return False
    print(f"✓ lstm_param_count matches nn.LSTM for all {len(settings)} settings.")
    return True


exercise_2_passed = check_lstm_param_count(lstm_param_count)

# %% [markdown]
# **Exercise 3: the forget-gate bias.** Set the forget-gate bias of **every layer** of an `nn.LSTM` (one direction,
# any `num_layers`, with or without `proj_size`) so that the forget gate's total bias, `bias_ih` + `bias_hh` on the
# forget rows, equals `value`; leave every other entry unchanged, and keep the parameters themselves (an optimizer
# may already hold them): change their values in place.

# %%
def set_forget_bias(lstm, value):
    ...  # your code here: change lstm's biases in place

# %% hidden
def check_set_forget_bias(fn):
    """Run fn on a 2-layer nn.LSTM(3, 5, proj_size=2) with value 2.5; check every bias row and parameter."""
    with torch.random.fork_rng():
        torch.manual_seed(23)
        m = nn.LSTM(3, 5, num_layers=2, proj_size=2, dtype=F64)
    before = {n: q.detach().clone() for n, q in m.named_parameters()}
    objects = {n: q for n, q in m.named_parameters()}
    try:
        fn(m, 2.5)
    except Exception as err:  # report the learner's error instead of raising it
        hint = ("\n  Hint: a parameter cannot be changed in place while autograd records: wrap it in "
                "`with torch.no_grad():`." if "leaf Variable" in str(err) else "")
        print(f"✗ set_forget_bias raised {type(err).__name__}: {err}{hint}")
        return False
    after = dict(m.named_parameters())
    if after.keys() == before.keys() and all(torch.equal(after[n], before[n]) for n in before):
        print("✗ not done yet: nothing in the LSTM changed (set the forget rows of the biases, in place).")
        return False
    if after.keys() != objects.keys() or any(after[n] is not q for n, q in objects.items()):
        print("✗ a parameter was replaced by a new object: an optimizer made before would not see it. "
              "Change the values in place, under torch.no_grad().")
        return False
    for n in after:
        if n.startswith("weight") and not torch.equal(after[n], before[n]):
            print(f"✗ {n} changed: only the biases' forget rows should.")
            return False
    for k in (0, 1):
        new, old = (torch.stack([src[f"bias_ih_l{k}"], src[f"bias_hh_l{k}"]]).detach() for src in (after, before))
        for gate, rows in (("i", slice(0, 5)), ("g", slice(10, 15)), ("o", slice(15, 20))):
            if not torch.equal(new[:, rows], old[:, rows]):
                print(f"✗ layer {k}: the {gate} rows {rows.start}:{rows.stop} changed. The forget gate is the second "
                      "block, rows h:2h = 5:10 (order i, f, g, o).")
                return False
        total = new[:, 5:10].sum(0)
        if torch.allclose(total, torch.full_like(total, 2.5)):
            continue
        if torch.equal(new[:, 5:10], old[:, 5:10]):
            print(f"✗ layer {k} is unchanged: set every layer, k = 0 … num_layers − 1 (bias_ih_l{k}, bias_hh_l{k}).")
        elif torch.allclose(total, torch.full_like(total, 5.0)):
            print(f"✗ layer {k}: bias_ih + bias_hh = 2·value on the forget rows. torch adds the two biases: set one "
                  "to value and the other to 0.")
        elif any(torch.allclose(new[j, 5:10], torch.full_like(total, 2.5)) and torch.equal(new[1 - j, 5:10], old[1 - j, 5:10])
                 for j in (0, 1)):
            print(f"✗ layer {k}: one bias holds the value on the forget rows, the other still its initial values. torch "
                  "adds the two biases: set the other one to 0 there.")
        else:
            got = ", ".join(f"{v:.4f}" for v in total.tolist())
            print(f"✗ layer {k}: bias_ih + bias_hh on the forget rows 5:10 is [{got}], expected 2.5 each.")
        return False
    print("✓ set_forget_bias: every layer's forget rows sum to the value; nothing else changed.")
    return True


exercise_3_passed = check_set_forget_bias(set_forget_bias)

# %% [markdown]
# ## 13 · On a GPU
#
# The same `parity` check on CUDA when there is one, where `nn.LSTM` runs on **cuDNN** (projection included), for
# two layers with and without `proj_size`, and for the cell. In float64 the comparison is as tight as on the CPU;
# in float32 cuDNN would by default use **TF32** (output errors up to ~1e-3, larger in weight gradients), so the
# cell switches TF32 off and restores the settings afterwards. On a machine without a GPU it prints one line and steps aside.

# %%
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    saved_tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # cuDNN's LSTM would otherwise use TF32 for float32
    torch.backends.cuda.matmul.allow_tf32 = False  # the scratch matmuls: full float32 (the default)
    for dtype, tol in [(F64, EXACT), (torch.float32, {})]:
        for proj in (0, p):
            g_lstm = nn.LSTM(d, h, num_layers=2, proj_size=proj, device=DEVICE, dtype=dtype)
            xg = torch.randn(T, N, d, device=DEVICE, dtype=dtype)
            hg = (torch.randn(2, N, proj or h, device=DEVICE, dtype=dtype), torch.randn(2, N, h, device=DEVICE, dtype=dtype))
            n = parity(g_lstm, twin(g_lstm), xg, hg, **tol)
            print(f"✓ {torch.cuda.get_device_name()} {dtype} nn.LSTM proj_size={proj}: {n} tensors match")
        g_cell, s_g_cell = nn.LSTMCell(d, h, device=DEVICE, dtype=dtype), ScratchLSTMCell(d, h, device=DEVICE, dtype=dtype)
        s_g_cell.load_state_dict(g_cell.state_dict())
        n = parity(g_cell, s_g_cell, xg[0], (hg[1][0], hg[1][1]), **tol)  # h, c [N, h] each
        print(f"✓ {torch.cuda.get_device_name()} {dtype} nn.LSTMCell: {n} tensors match")
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved_tf32
else:
    print("No GPU here: skipped (this cell repeats the parity checks against cuDNN's LSTM when a GPU is present).")

# %% [markdown]
# ## 14 · Summary
#
# | | |
# |---|---|
# | the step | $A = X_t W_{ih}^\top + b_{ih} + H_{t-1} W_{hh}^\top + b_{hh}$ [N, 4h] → i, f, g, o = `A.chunk(4, -1)`; $C_t = \sigma(f) \odot C_{t-1} + \sigma(i) \odot \tanh(g)$; $H_t = \sigma(o) \odot \tanh(C_t)$ |
# | why it remembers | along the cell-state line $\partial C_t / \partial C_{t-1} = \operatorname{diag}(\sigma(f_t))$: no weight matrix, no tanh'; a plain RNN's gradient from 49 steps back was ~1e-17 here |
# | torch layout | `weight_ih` [4h, d], `weight_hh` [4h, H_out], `bias_ih`, `bias_hh` [4h], rows in the order **i, f, g, o** (CS231n / fastbook: i, f, o, g: reorder the blocks to load them) |
# | torch calls | `nn.LSTMCell(d, h)(x, (h, c))` → `(h', c')`; `nn.LSTM(d, h, num_layers, proj_size=p)(x, (h0, c0))` → `output, (h_n, c_n)` |
# | shapes | H_out = p if p > 0 else h; output (T, N, H_out); h0, h_n (L, N, H_out); c0, c_n (L, N, **h**); never batch-first |
# | `hx` | the pair `(h0, c0)` or `None`; a single tensor gives torch's unclear `IndexError: index 1 is out of bounds` |
# | `proj_size` | $H_t = (\sigma(o) \odot \tanh(C_t)) W_{hr}^\top$ at **every** step, feeding the recurrence and the next layer; `weight_hr_l{k}` [p, h]; `weight_hh_l{k}` and `weight_ih_l{k>0}` [4h, p] |
# | parameters | per layer 4h·(d_k + H_out) + 2·4h·[bias] + p·h; LSTM(10, 20) = 2560 |
# | forget bias | rows h : 2h of `bias_ih_l{k}` + `bias_hh_l{k}`; set to 1 or more (Gers 2000, Jozefowicz 2015) so that the cell state and its gradient last |
# | parity checked | `ScratchLSTMCell`, `ScratchLSTM` (1–3 layers, proj, batch_first, bias, unbatched, dropout) vs torch, float64 ≤ 1e-12: outputs, h_n, c_n, gradients of input, h0, c0, every parameter; `load_state_dict` both ways |
#
# **Next:** lesson 07 (GRU): two gates and no separate cell state, and a formula that differs from the paper.
# Lesson 08 completes `ScratchLSTM` with two directions and packed sequences.

# %% [markdown]
# ## Solutions
#
# Collapsed so they stay out of the way: click the cell to expand. Each solution is passed through its
# checker (and must pass); then a deliberately wrong answer shows what the checker says.

# %% solution
def my_lstm_step_solution(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    i_, f_, g_, o_ = (x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=-1)  # torch's order
    c_new = f_.sigmoid() * c + i_.sigmoid() * g_.tanh()
    return o_.sigmoid() * c_new.tanh(), c_new


def lstm_param_count_solution(input_size, hidden_size, num_layers=1, proj_size=0, bias=True):
    h_out, total = proj_size or hidden_size, 0
    for k in range(num_layers):
        in_k = input_size if k == 0 else h_out  # layer k > 0 reads the (projected) output of layer k − 1
        total += 4 * hidden_size * (in_k + h_out) + 2 * 4 * hidden_size * bias + proj_size * hidden_size
    return total


def set_forget_bias_solution(lstm, value):
    h_ = lstm.hidden_size
    with torch.no_grad():  # in place, on the same parameter objects
        for k in range(lstm.num_layers):
            getattr(lstm, f"bias_ih_l{k}")[h_:2 * h_] = value  # the forget rows: second block of four
            getattr(lstm, f"bias_hh_l{k}")[h_:2 * h_] = 0.0


assert check_lstm_step(my_lstm_step_solution)
assert check_lstm_param_count(lstm_param_count_solution)
assert check_set_forget_bias(set_forget_bias_solution)

# %% solution
# What the checkers say to three common mistakes:
assert not check_lstm_step(lambda x, h, c, *w: lstm_variant(x, h, c, *w, order="ifog"))  # CS231n's order
assert not check_lstm_param_count(lambda d_, h_, L, p_, bias: lstm_param_count_solution(d_, h_, L, 0, bias) if p_ == 0
                                  else lstm_param_count_solution(d_, h_, L, p_, bias) - L * p_ * h_)  # no weight_hr


def set_both_biases(lstm, value):  # sets bias_ih AND bias_hh to value: the sum is 2·value
    with torch.no_grad():
        for k in range(lstm.num_layers):
            for name in ("bias_ih", "bias_hh"):
                getattr(lstm, f"{name}_l{k}")[lstm.hidden_size:2 * lstm.hidden_size] = value


assert not check_set_forget_bias(set_both_biases)
