# %% [markdown]
# # 07 · The GRU: `ScratchGRU` beside `nn.GRU`
#
# **Why this lesson.** You trained an `nn.GRU` and want to run it where torch is not: numpy on a server, C on a
# microcontroller, another framework. You copy the GRU equations from the paper or from a textbook, load torch's
# weights, and the outputs are wrong in the first decimal. Nothing is broken: you wrote a *different* GRU. Here you
# write the step torch computes, check it number for number, and see where the others differ.
#
# The **gated recurrent unit** (GRU, Cho et al. 2014) does an LSTM's job (lesson 06) with **one** state and **three**
# gate blocks instead of four: 3/4 of the parameters.
#
# **You build:** the GRU step in torch's form (exercise 1), then `ScratchGRU`, checked against `nn.GRU` in float64,
# values and every gradient. **You should know:** lessons 02 (the loop, `parity`), 04 (stacked layers) and 06 (gates).

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
F64 = torch.float64
EXACT = {"atol": 1e-12, "rtol": 0.0}  # float64: equal up to rounding
T, N, d, h, L = 5, 3, 4, 6, 2  # steps, batch, inputs, hidden units, layers: all different

# %% [markdown]
# ## 1 · The step, torch's form
#
# Two products, one of the input and one of the state, each [N, 3h] and each with **its own** bias, cut into three
# blocks in the order **r, z, n** (reset, update, new):
#
# $$[x_r \mid x_z \mid x_n] = X_t W_{ih}^\top + b_{ih}, \qquad [h_r \mid h_z \mid h_n] = H_{t-1} W_{hh}^\top + b_{hh}
# \qquad \text{(each block [N, h])}$$
#
# $$r = \sigma(x_r + h_r), \quad z = \sigma(x_z + h_z), \quad n = \tanh(x_n + r \odot h_n), \quad
# H_t = (1 - z) \odot n + z \odot H_{t-1}$$
#
# | | shape | what it is |
# |---|---|---|
# | `weight_ih`, `weight_hh` | [3h, d], [3h, h] | three blocks stacked: $W_{ih} = [W_i^{(r)}; W_i^{(z)}; W_i^{(n)}]$, $W_{hh} = [W_h^{(r)}; W_h^{(z)}; W_h^{(n)}]$ |
# | `bias_ih`, `bias_hh` | [3h], [3h] | $b_{ih} = [b_i^{(r)}; b_i^{(z)}; b_i^{(n)}]$, $b_{hh}$ likewise |
# | $r$, $z$ | [N, h] | gates in (0, 1): how much of the old state feeds the candidate; how much of it is **kept** |
# | $n$ | [N, h] | the candidate, in (−1, 1) |
# | $H_t$ | [N, h] | a per-unit mix: **z = 1 keeps the old state**, z = 0 takes the candidate |
#
# Two things to notice. $r$ multiplies $h_n = H_{t-1} W_h^{(n)\top} + b_h^{(n)}$, the state's **product plus its
# bias**, not $H_{t-1}$ itself (section 3). And $h_n$ here is a block, not the layer's final state `h_n`.
#
# *Names.* torch's documentation calls the blocks $W_{ir}, W_{hr}, \dots$, and `weight_hr` is also the name of the
# LSTM's projection (written $W_{proj}$ in lessons 06 and 08). To keep the two apart, a GRU block carries its gate
# on top: $W_h^{(r)}$ is the r block of `weight_hh`.

# %% hidden
def draw_gru_cell(ax):
    """The GRU step as torch computes it: two products, chunked r | z | n, three gates, one mix."""
    boxes = {"x": (0.6, 0.4, "Xₜ  [N, d]", "#cfe2f3"), "H": (0.6, 3.7, "Hₜ₋₁  [N, h]", "#cfe2f3"),
             "gi": (3.0, 0.4, "Xₜ W_ihᵀ + b_ih\n[N, 3h] = x_r | x_z | x_n", "#eeeeee"),
             "gh": (3.0, 3.7, "Hₜ₋₁ W_hhᵀ + b_hh\n[N, 3h] = h_r | h_z | h_n", "#eeeeee"),
             "z": (7.0, 3.7, "z = σ(x_z + h_z)", "#d9ead3"), "r": (7.0, 2.05, "r = σ(x_r + h_r)", "#fce5cd"),
             "n": (7.0, 0.4, "n = tanh(x_n + r ⊙ h_n)", "#fff2cc"),
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
    for x, y, label, c in ((5.1, 3.95, "h_z", "z"), (4.9, 3.1, "h_r", "r"), (4.2, 2.75, "h_n (b_hh's n block inside)", "n"),
                           (5.45, 2.6, "x_z", "z"), (5.5, 1.55, "x_r", "r"), (4.9, 0.2, "x_n", "n"),
                           (7.15, 1.25, "r", "r"), (8.9, 3.1, "z", "z"), (8.9, 1.05, "n", "n")):
        ax.text(x, y, label, fontsize=8, color=color[c], ha="center", va="center", bbox={"fc": "white", "ec": "none", "pad": 0.3})
    ax.annotate("", xy=(0.8, 1), xycoords=art["out"], xytext=(0.5, 1), textcoords=art["H"],
                arrowprops={"arrowstyle": "->", "color": "#38761d", "lw": 1.5, "connectionstyle": "arc3,rad=-0.3"})
    ax.text(5.6, 5.45, "Hₜ₋₁ itself: kept where z ≈ 1", color="#38761d", fontsize=9, ha="center")
    ax.set_xlim(-0.3, 11.5)
    ax.set_ylim(-0.1, 5.8)
    ax.axis("off")
    ax.set_title("one GRU step in torch's form: r multiplies h_n = Hₜ₋₁ W_h⁽ⁿ⁾ᵀ + b_h⁽ⁿ⁾, not Hₜ₋₁", fontsize=11)


fig, ax = plt.subplots(figsize=(11, 4.6))
draw_gru_cell(ax)
plt.show()

# %% [markdown]
# ## 2 · Exercise 1: write the step
#
# Write the step above from the four tensors an `nn.GRUCell` holds: `w_ih` [3h, d], `w_hh` [3h, h], `b_ih`, `b_hh`
# [3h]; `x` [N, d], `h` [N, h] → the new state [N, h]. Any form works (`@`, `F.linear`, `einsum`, slices or `chunk`).
# The checker (collapsed) compares values and gradients with `nn.GRUCell` and names the usual mistakes.

# %% hidden
def _gru_variant(x, H, w_ih, w_hh, b_ih, b_hh, order="rzn", paper=False, folded=False, z_keeps=True,
                 drop_hh=False, drop_ih=False, no_r=False):
    """Reference GRU step with one mistake switched on (for the checkers' diagnoses); defaults: torch's form."""
    b_ih_used = torch.zeros_like(b_ih) if drop_ih else b_ih
    b_hh_used = torch.zeros_like(b_hh) if drop_hh else b_hh
    gi = x @ w_ih.T + b_ih_used + (b_hh_used if folded else 0)
    gh = H @ w_hh.T + (0 if folded else b_hh_used)
    blocks_i, blocks_h = dict(zip(order, gi.chunk(3, -1))), dict(zip(order, gh.chunk(3, -1)))
    r = torch.sigmoid(blocks_i["r"] + blocks_h["r"])
    z = torch.sigmoid(blocks_i["z"] + blocks_h["z"])
    W_hn = dict(zip(order, w_hh.chunk(3)))["n"]
    if paper:
        b_hn = 0 if folded else dict(zip(order, b_hh_used.chunk(3)))["n"]
        cand = torch.tanh(blocks_i["n"] + (r * H) @ W_hn.T + b_hn)
    else:
        cand = torch.tanh(blocks_i["n"] + (1 if no_r else r) * blocks_h["n"])
    return (1 - z) * cand + z * H if z_keeps else z * cand + (1 - z) * H


def never_raises(checker):
    """A checker reports; it never raises, whatever the answer returns (a wrong dtype, a broken graph, ...)."""
    def wrapped(fn):
        try:
            return checker(fn)
        except Exception as err:  # noqa: BLE001 - reported to the learner
            print(f"✗ your answer could not be checked: {type(err).__name__}: {err}")
            return False
    wrapped.__doc__ = checker.__doc__
    return wrapped


@never_raises
def check_gru_step(fn):
    """Run fn(x, h, w_ih, w_hh, b_ih, b_hh) on fixed float64 data (N = 2, d = 5, h = 4) against nn.GRUCell,
    values and gradients. Prints what is wrong; returns True/False; never raises."""
    with torch.random.fork_rng():
        torch.manual_seed(11)
        cell = nn.GRUCell(5, 4, dtype=F64)
        xs, hs = torch.randn(2, 5, dtype=F64), torch.randn(2, 4, dtype=F64)
    w = [p.detach().clone() for p in cell.parameters()]
    ins = [t.clone().requires_grad_() for t in (xs, hs, *w)]
    try:
        got = fn(*ins)  # outside no_grad: the gradients are checked too
    except Exception as err:  # report the learner's error instead of raising it
        msg = str(err)
        hint = ("\n  Hint: chunk the last axis, .chunk(3, -1): axis 0 is the batch." if "unpack" in msg else
                "\n  Hint: w_ih is [3h, d]: x @ w_ih.T (or F.linear(x, w_ih)) is [N, 3h]." if "mat" in msg or "size" in msg
                else "")
        print(f"✗ your step raised {type(err).__name__}: {msg}{hint}")
        return False
    if got is None:
        print("✗ not done yet: the function returned None.")
        return False
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != (2, 4):
        what = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
        print(f"✗ expected the new state, a tensor [N, h] = (2, 4); got {what}.")
        return False
    if got.dtype != F64:
        print(f"✗ your step returned {got.dtype}: keep the inputs' dtype (float64).")
        return False
    want = cell(xs, hs).detach()
    if not torch.allclose(got.detach(), want, rtol=0.0, atol=1e-12):
        diagnoses = [({"paper": True}, "that is arXiv v3's (and d2l's) form, (r ⊙ h) W_h⁽ⁿ⁾ᵀ: torch (v1) puts r outside, "
                                       "r ⊙ (h W_h⁽ⁿ⁾ᵀ + b_h⁽ⁿ⁾)"),
                     ({"folded": True}, "b_hh was added to the input part: its n block must stay inside r ⊙ (…)"),
                     ({"paper": True, "folded": True}, "v3's form with one bias: use r ⊙ (h W_h⁽ⁿ⁾ᵀ + b_h⁽ⁿ⁾)"),
                     ({"z_keeps": False}, "z is the other way round: h' = (1 − z) ⊙ n + z ⊙ h (z = 1 keeps the old state)"),
                     ({"drop_hh": True}, "you left out b_hh"),
                     ({"drop_ih": True}, "you left out b_ih"),
                     ({"no_r": True}, "r is unused: the candidate is tanh(x_n + r ⊙ h_n)")]
        diagnoses += [({"order": o}, f"the blocks are in torch's order r, z, n, not {', '.join(o)}")
                      for o in ("zrn", "nrz", "rnz", "znr", "nzr")]
        for kwargs, message in diagnoses:
            if torch.allclose(got.detach(), _gru_variant(xs, hs, *w, **kwargs), rtol=0.0, atol=1e-12):
                print(f"✗ {message}.")
                return False
        print(f"✗ the new state differs from nn.GRUCell's by up to {(got.detach() - want).abs().max():.4f}: "
              "check each block against section 1.")
        return False
    if not got.requires_grad:
        print("✗ the values are right, but no gradient reaches the weights: no .detach(), .data or numpy inside.")
        return False
    ref = [t.clone().requires_grad_() for t in (xs, hs, *w)]
    grads_ref = torch.autograd.grad(_gru_variant(*ref).square().sum(), ref)
    try:
        grads = torch.autograd.grad(got.square().sum(), ins, allow_unused=True)
    except RuntimeError as err:
        print(f"✗ the values are right, but backward fails (an in-place change of a tensor autograd needs?): {err}")
        return False
    for name, g, g_ref in zip(("x", "h", "w_ih", "w_hh", "b_ih", "b_hh"), grads, grads_ref):
        if g is None or not torch.allclose(g, g_ref, rtol=0.0, atol=1e-10):
            print(f"✗ the values are right, but the gradient of {name} is not: did a step modify a tensor in place?")
            return False
    print("✓ your step equals nn.GRUCell, values and gradients: blocks r, z, n; r ⊙ (h W_h⁽ⁿ⁾ᵀ + b_h⁽ⁿ⁾); "
          "h' = (1 − z) ⊙ n + z ⊙ h.")
    return True

# %%
def my_gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    """x [N, d], h [N, h] → h' [N, h]. Blocks r, z, n; r multiplies (h W_h^(n)ᵀ + b_h^(n))."""
    ...  # your code here

# %%
exercise_1_passed = check_gru_step(my_gru_step)

# %% [markdown]
# The course's own step, `gru_step`, is in the collapsed cell below (expand it to compare with yours). The rest of the
# lesson calls it. One check against `nn.GRUCell` first:

# %% hidden
def gru_step(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """x [N, d], h [N, H] → h'. Blocks r, z, n; r multiplies (h W_hnᵀ + b_hn), as torch does."""
    x_r, x_z, x_n = F.linear(x, w_ih, b_ih).chunk(3, -1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, -1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


gru_cell = nn.GRUCell(d, h, dtype=F64)
X1, H1 = torch.randn(N, d, dtype=F64), torch.randn(N, h, dtype=F64)
with torch.no_grad():
    torch.testing.assert_close(gru_step(X1, H1, *gru_cell.parameters()), gru_cell(X1, H1), **EXACT)
    torch.testing.assert_close(_gru_variant(X1, H1, *gru_cell.parameters()), gru_cell(X1, H1), **EXACT)  # the checker's
print("✓ gru_step = nn.GRUCell on one step, |Δ| ≤ 1e-12")

# %% [markdown]
# ## 3 · torch's form is not every GRU
#
# Cho et al.'s paper (arXiv 1406.1078) changed between versions. **v1** applies the reset gate **after** the
# product, $r \odot (H W^\top)$: torch's form, with cuDNN's extra bias $b_h^{(n)}$ inside. **v3** applies it
# **before**, $(r \odot H) W^\top$, and so does *Dive into Deep Learning* (with one bias per gate). Keras offers both:
# `reset_after=True` (its default, cuDNN's) and `False`. Both forms train, but they are different functions of the
# same weights: a much reported confusion (pytorch/pytorch#8153, #99531, #100646).
#
# torch's form has a speed reason: the state's three products need nothing from $r$, so $H W_{hh}^\top$ is one
# [N, 3h] product, done before any gate is known. Here is v3's step, run over T steps with `nn.GRU`'s weights:

# %%
def gru_step_v3(x, h, w_ih, w_hh, b_ih, b_hh):
    """Cho et al. arXiv v3, d2l: r acts on h BEFORE the product with the n block of w_hh."""
    x_r, x_z, x_n = F.linear(x, w_ih, b_ih).chunk(3, -1)
    h_r, h_z, _ = F.linear(h, w_hh, b_hh).chunk(3, -1)  # the n block is recomputed below
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + F.linear(r * h, w_hh.chunk(3)[2], b_hh.chunk(3)[2]))  # (r ⊙ h) W_h⁽ⁿ⁾ᵀ + b_h⁽ⁿ⁾
    return z * h + (1 - z) * n


def run_steps(step, X, H, weights):
    """Loop a step over X [T, N, d] from H [N, h]; return the states [T, N, h]."""
    states = []
    for x_t in X:
        H = step(x_t, H, *weights)
        states.append(H)
    return torch.stack(states)


torch.manual_seed(3)
gru1 = nn.GRU(d, h, dtype=F64)
w1 = [p.detach() for p in gru1.parameters()]  # weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0
X_seq, H_start = torch.randn(T, N, d, dtype=F64), torch.randn(N, h, dtype=F64)
with torch.no_grad():
    out_torch = gru1(X_seq, H_start[None])[0]
torch.testing.assert_close(run_steps(gru_step, X_seq, H_start, w1), out_torch, **EXACT)
gap_v3 = (run_steps(gru_step_v3, X_seq, H_start, w1) - out_torch).abs().max().item()
assert gap_v3 > 0.05
print(f"✓ gru_step over {T} steps = nn.GRU;  ✗ v3's step: max |Δ| = {gap_v3:.4f}")

# %% [markdown]
# ## 4 · `ScratchGRU` beside `nn.GRU`
#
# The layer loops the step over time (lesson 02) and stacks layers (lesson 04): layer k > 0 reads layer k − 1's
# outputs, so `weight_ih_l1` is [3h, h]; dropout acts between layers, in training mode only. It registers torch's
# parameters (names, shapes, order, initialisation), so `load_state_dict` is the whole weight copy. It runs **one
# direction**; lesson 08 adds the other and packed input. Collapsed helpers check the arguments and the input, and
# refuse clearly what this layer does not do.

# %% hidden
def check_gru_args(input_size, hidden_size, bias, num_layers=1, batch_first=False, dropout=0.0, bidirectional=False):
    """Refuse, as torch does (or more clearly), what nn.GRU refuses; and what this lesson's layer does not do."""
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int greater than zero, got {value!r}")
    for name, value in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} should be of type bool, got {type(value).__name__} {value!r}")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
        raise ValueError(f"dropout should be a number in range [0, 1], got {dropout!r}")
    if bidirectional:
        raise NotImplementedError("bidirectional=True: this lesson's ScratchGRU runs one direction; lesson 08 adds the other")
    if dropout > 0 and num_layers == 1:  # torch's warning, word for word (lesson 04)
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                      f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}")


def check_state(hx, want, dtype):
    """A GRU's state is one tensor of shape `want` and the weights' dtype."""
    if isinstance(hx, (tuple, list)):
        raise TypeError(f"a GRU has one state h, not a pair (h, c) as an LSTM: pass a tensor of shape {want}")
    if not torch.is_tensor(hx):
        raise TypeError(f"the hidden state must be a tensor of shape {want}, got {type(hx).__name__}")
    if hx.dtype != dtype:
        raise ValueError(f"hidden state dtype ({hx.dtype}) does not match weight dtype ({dtype})")
    if tuple(hx.shape) != tuple(want):
        raise RuntimeError(f"Expected hidden size {tuple(want)}, got {list(hx.shape)} "
                           "(a layer's h0 is (num_layers, N, h), never batch-first; a cell's hx is (N, h))")


def gru_inputs(gru, input, hx):
    """Check gru(input, hx). Returns X [T, N, d], H0 [L, N, h] (zeros if hx is None) and whether input was unbatched."""
    if isinstance(input, PackedSequence):
        raise NotImplementedError("packed input: this lesson's ScratchGRU takes tensors; lesson 08 adds PackedSequence")
    if not torch.is_tensor(input) or input.dim() not in (2, 3):
        raise ValueError(f"GRU: expected input to be 2D or 3D, got {getattr(input, 'shape', type(input).__name__)}")
    if input.dtype != gru.weight_ih_l0.dtype:
        raise ValueError(f"GRU input dtype ({input.dtype}) does not match weight dtype ({gru.weight_ih_l0.dtype})")
    unbatched = input.dim() == 2  # (T, d): batch_first does not apply, as in torch
    X = input.unsqueeze(1) if unbatched else input.transpose(0, 1) if gru.batch_first else input
    if X.shape[-1] != gru.input_size:
        raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {gru.input_size}, got {X.shape[-1]}")
    if X.shape[0] == 0:
        raise ValueError("the sequence is empty (T = 0 steps): there is no last state to return")
    if hx is None:
        return X, X.new_zeros(gru.num_layers, X.shape[1], gru.hidden_size), unbatched
    want = (gru.num_layers, gru.hidden_size) if unbatched else (gru.num_layers, X.shape[1], gru.hidden_size)
    check_state(hx, want, X.dtype)
    return X, (hx.unsqueeze(1) if unbatched else hx), unbatched

# %%
class ScratchGRU(nn.Module):
    """nn.GRU from scratch, one direction, num_layers ≥ 1."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__()
        check_gru_args(input_size, hidden_size, bias, num_layers, batch_first, dropout, bidirectional)
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

    def forward(self, input, hx=None):
        X, H0, unbatched = gru_inputs(self, input, hx)  # X [T, N, d], H0 [L, N, h]
        finals = []
        for k in range(self.num_layers):
            w = [getattr(self, f"{name}_l{k}", None) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            H, states = H0[k], []
            for x_t in X:
                H = gru_step(x_t, H, *w)  # [N, h]
                states.append(H)
            X = torch.stack(states)  # [T, N, h]: layer k's output, layer k + 1's input
            finals.append(H)
            if self.training and self.dropout > 0 and k < self.num_layers - 1:  # never after the top layer
                X = F.dropout(X, self.dropout, training=True)
        h_n = torch.stack(finals)  # [L, N, h]
        if unbatched:
            return X[:, 0], h_n[:, 0]  # (T, h) and (L, h)
        return (X.transpose(0, 1) if self.batch_first else X), h_n  # h_n is never batch-first

# %% hidden
for kwargs in ({}, {"num_layers": 3}, {"num_layers": 2, "bias": False}):
    torch.manual_seed(2)
    t_init = nn.GRU(d, h, **kwargs)
    torch.manual_seed(2)
    s_init = ScratchGRU(d, h, **kwargs)
    assert [(n_, p.shape) for n_, p in s_init.named_parameters()] == [(n_, p.shape) for n_, p in t_init.named_parameters()]
    assert all(torch.equal(a, b) for a, b in zip(s_init.parameters(), t_init.parameters()))
print("✓ same parameter names, shapes, order and initial values as nn.GRU from the same seed")

# %% [markdown]
# torch's weights into the scratch layer, then `parity` (lesson 02): both run forward and backward on the same input
# and `h0`, and every output and gradient is asserted equal.

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

# %%
torch_gru = nn.GRU(d, h, num_layers=L, dtype=F64)
scratch_gru = ScratchGRU(d, h, num_layers=L, dtype=F64)
scratch_gru.load_state_dict(torch_gru.state_dict())  # same names, shapes and order: the whole weight copy
X, H0 = torch.randn(T, N, d, dtype=F64), torch.randn(L, N, h, dtype=F64)
n_checked = parity(scratch_gru, torch_gru, X, H0, **EXACT)
print(f"✓ ScratchGRU = nn.GRU: {n_checked} tensors (output, h_n, 2 input gradients, 8 parameter gradients), |Δ| ≤ 1e-12")

# %% [markdown]
# The collapsed cell below runs the rest: `load_state_dict` both ways, 32 settings (1 or 2 layers × bias ×
# `batch_first` × unbatched × `h0` or not), dropout, and float32 at a stated tolerance.

# %% hidden
nn.GRU(d, h, num_layers=L).load_state_dict(ScratchGRU(d, h, num_layers=L).state_dict())  # scratch → torch
runs = 0
for num_layers in (1, L):
    for bias in (True, False):
        for batch_first in (False, True):
            kw = {"num_layers": num_layers, "bias": bias, "batch_first": batch_first, "dtype": F64}
            for batched in (True, False):
                for give_h0 in (True, False):
                    s_gru, t_gru = ScratchGRU(d, h, **kw), nn.GRU(d, h, **kw)
                    t_gru.load_state_dict(s_gru.state_dict())
                    x = torch.randn(*(((N, T, d) if batch_first else (T, N, d)) if batched else (T, d)), dtype=F64)
                    h0 = torch.randn(*((num_layers, N, h) if batched else (num_layers, h)), dtype=F64)
                    parity(s_gru, t_gru, *((x, h0) if give_h0 else (x,)), **EXACT)
                    runs += 1
drop, s_drop = nn.GRU(d, h, num_layers=3, dropout=0.5, dtype=F64), ScratchGRU(d, h, num_layers=3, dropout=0.5, dtype=F64)
s_drop.load_state_dict(drop.state_dict())
x = torch.randn(T, N, d, dtype=F64)
with torch.random.fork_rng():
    torch.manual_seed(7)
    out_t = drop(x)[0]
    torch.manual_seed(7)  # the same seed: both draw the same dropout masks
    out_s = s_drop(x)[0]
torch.testing.assert_close(out_s, out_t, **EXACT)
drop.eval()
s_drop.eval()
with torch.no_grad():
    torch.testing.assert_close(s_drop(x)[0], drop(x)[0], **EXACT)
gru32, s32 = nn.GRU(10, 20, num_layers=2), ScratchGRU(10, 20, num_layers=2)  # float32: another order of the same sums
s32.load_state_dict(gru32.state_dict())
n32 = parity(s32, gru32, torch.randn(7, 3, 10), torch.randn(2, 3, 20))  # assert_close's float32 defaults
print(f"✓ {runs} settings in float64, |Δ| ≤ 1e-12; dropout in train and eval mode; "
      f"float32 within assert_close's defaults ({n32} tensors)")

# %% hidden
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    saved_tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # cuDNN's GRU would otherwise use TF32 for float32 (errors ~1e-3)
    torch.backends.cuda.matmul.allow_tf32 = False  # ScratchGRU's matmuls: full float32 (the default)
    for dtype, tol in [(torch.float64, EXACT), (torch.float32, {})]:
        t_gpu = nn.GRU(d, h, num_layers=L, device=DEVICE, dtype=dtype)
        s_gpu = ScratchGRU(d, h, num_layers=L, device=DEVICE, dtype=dtype)
        s_gpu.load_state_dict(t_gpu.state_dict())
        xg, hg = torch.randn(T, N, d, device=DEVICE, dtype=dtype), torch.randn(L, N, h, device=DEVICE, dtype=dtype)
        n_gpu = parity(s_gpu, t_gpu, xg, hg, **tol)
        print(f"✓ {torch.cuda.get_device_name()} {dtype}: {n_gpu} tensors match cuDNN's GRU "
              f"({'|Δ| ≤ 1e-12' if tol else 'float32 defaults, TF32 off'})")
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved_tf32
else:
    print("No GPU here: skipped (on a GPU this cell repeats the parity check against cuDNN's GRU).")

# %% [markdown]
# ## 5 · Play: how long does a GRU remember?
#
# Where $z \approx 1$ a unit passes its old value on, so the memory of $H_0$ fades roughly like the product of the
# $z$'s. The widget runs one GRU cell (h = 8) twice on the same inputs, from a random $H_0$ and from zeros: the
# difference is what is left of $H_0$, measured as $\lVert H_t(H_0) - H_t(0) \rVert / \lVert H_0 \rVert$ (1: all of it).
# Choose a **bias added to z's pre-activation**, the length and the inputs. Left: what is left, and dashed, the part
# the z's carry straight through, $\lVert (z_1 \odot \dots \odot z_t) \odot H_0 \rVert / \lVert H_0 \rVert$.
# Right: z of every unit at every step. Try +4 (z ≈ 0.98) and −4 (z ≈ 0.02).

# %% hidden
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
    zb = slice(H_W, 2 * H_W)
    X_p, H, H_zero, kept = PATTERNS[pattern], h0_w, torch.zeros_like(h0_w), torch.ones_like(h0_w)
    survival, direct, zs = [], [], []
    for t in range(steps):
        z = torch.sigmoid(F.linear(X_p[t], w_ih[zb], b_ih[zb]) + F.linear(H, w_hh[zb], b_hh[zb]))  # [1, H_W]
        H, H_zero, kept = gru_step(X_p[t], H, w_ih, w_hh, b_ih, b_hh), gru_step(X_p[t], H_zero, w_ih, w_hh, b_ih, b_hh), kept * z
        survival.append(((H - H_zero).norm() / h0_w.norm()).item())
        direct.append(((kept * h0_w).norm() / h0_w.norm()).item())
        zs.append(z[0])
    return survival, direct, torch.stack(zs)


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
    fig.subplots_adjust(left=0.06, right=0.97, bottom=0.17, top=0.9, wspace=0.25)  # cheaper than tight_layout
    plt.show()
    return {"mean_z": zs.mean().item(), "survival": survival[-1], "straight_through": direct[-1], "steps": steps}

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
# The same callback in plain cells (an error in it cannot hide in the widget): with bias +4 and zero inputs about
# 40 % of $H_0$ is left after 40 steps, nearly all carried straight through by the z's; with bias −4 nothing is.

# %% hidden
held = show_update_gate(4.0, T_MAX, "zeros")
gone = show_update_gate(-4.0, T_MAX, "random inputs")
assert held["mean_z"] > 0.9 and held["survival"] > 0.3 and gone["survival"] < 1e-3
assert 0.0 < show_update_gate()["mean_z"] < 1.0 and show_update_gate(0.0, 1, "one pulse at step 1")["steps"] == 1
assert show_update_gate(0.0, 0, "zeros") is None and show_update_gate(0.0, 5, "sawtooth") is None

# %% [markdown]
# ## 6 · Exercise 2: weights from the other convention
#
# Some texts write $H_t = z \odot n + (1 - z) \odot H_{t-1}$: there $z = 1$ takes the candidate (Chung et al. 2014,
# colah's blog post). A GRU trained that way gives you its four stacked tensors, in torch's layout and order r, z, n.
# Return the four tensors `(w_ih, w_hh, b_ih, b_hh)` that make `nn.GRUCell` compute the same function, without
# changing the ones you are given. Hint: $1 - \sigma(a) = \sigma(-a)$.

# %% hidden
@never_raises
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
        print(f"✗ your function raised {type(err).__name__}: {err}")
        return False
    if got is None:
        print("✗ not done yet: the function returned None.")
        return False
    if not all(torch.equal(a, b) for a, b in zip(given, w)):
        print("✗ the tensors you were given changed: work on copies (t.clone()).")
        return False
    if not (isinstance(got, (tuple, list)) and len(got) == 4 and all(isinstance(t, torch.Tensor) for t in got)):
        print("✗ return four tensors: (w_ih, w_hh, b_ih, b_hh).")
        return False
    if [tuple(t.shape) for t in got] != [tuple(t.shape) for t in w]:
        print(f"✗ shapes {[tuple(t.shape) for t in got]}, expected {[tuple(t.shape) for t in w]} (torch's layout, unchanged).")
        return False
    cell = nn.GRUCell(3, 5, dtype=F64)
    cell.load_state_dict(dict(zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), [t.detach() for t in got])))
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
        print("✗ only some of the four tensors have their z rows negated: z's pre-activation uses all four.")
    elif all(signs):
        print("✗ the z rows are right, but you changed other rows too: leave the r rows (0 … h) and n rows (2h … 3h) as given.")
    else:
        print("✗ nn.GRUCell with these weights differs from the other-convention GRU: negate the z rows, don't subtract from 1.")
    return False

# %%
def to_torch_convention(w_ih, w_hh, b_ih, b_hh):
    ...  # your code here: return (w_ih, w_hh, b_ih, b_hh) for nn.GRUCell

# %%
exercise_2_passed = check_to_torch_convention(to_torch_convention)

# %% [markdown]
# ## 7 · Summary
#
# | | |
# |---|---|
# | the step | $[x_r \mid x_z \mid x_n] = X_t W_{ih}^\top + b_{ih}$, $[h_r \mid h_z \mid h_n] = H_{t-1} W_{hh}^\top + b_{hh}$; $r = \sigma(x_r + h_r)$, $z = \sigma(x_z + h_z)$ |
# | candidate, new state | $n = \tanh(x_n + r \odot h_n)$; $H_t = (1 - z) \odot n + z \odot H_{t-1}$: **z = 1 keeps the old state** |
# | torch | `nn.GRUCell(d, h)`: (N, d), (N, h) → (N, h). `nn.GRU(d, h, num_layers=L)`: `output, h_n = gru(x, h0)`, `h0` not `(h0, c0)` |
# | shapes | `weight_ih_l{k}` [3h, d_k], `weight_hh_l{k}` [3h, h], biases [3h]; output (T, N, h), h_n (L, N, h), h0 never batch-first |
# | parameters | $\sum_k 3h(d_k + h) + 6h$: 3/4 of an LSTM's (`nn.GRU(10, 20)`: 1920, `nn.LSTM(10, 20)`: 2560) |
# | other GRUs | Cho et al. arXiv v1 = torch's (reset after the product); v3 and d2l: $(r \odot H) W_h^{(n)\top}$, a different function |
# | names | $W_h^{(r)}$ = the r block of `weight_hh` (torch's docs: $W_{hr}$; the LSTM's projection `weight_hr` is $W_{proj}$) |
#
# **Next:** lesson 08 builds the complete drop-in layers (both directions, packed input) for RNN, LSTM and GRU.
# The collapsed sections below go deeper; open one when you want it.

# %% [markdown] collapsed
# ## Going deeper: `ScratchGRUCell` beside `nn.GRUCell`

# %% [markdown]
# One step as a module, with `nn.GRUCell`'s constructor and parameters (`weight_ih`, `weight_hh`, `bias_ih`,
# `bias_hh`; with `bias=False` the two biases are `None`). It takes a batch (N, d) with `hx` (N, h), or one sample
# (d,) with `hx` (h,), and checks them with the helpers of section 4.

# %%
class ScratchGRUCell(nn.Module):
    """One GRU step, stored as nn.GRUCell stores it: weight_ih [3h, d], weight_hh [3h, h], biases [3h]."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        check_gru_args(input_size, hidden_size, bias)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size, **kw))  # r, z, n blocks of the input
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size, **kw))  # r, z, n blocks of the state
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size, **kw))
            self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size, **kw))
        else:  # as nn.GRUCell: the attributes exist and are None
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        for p in self.parameters():
            nn.init.uniform_(p, -1.0 / math.sqrt(hidden_size), 1.0 / math.sqrt(hidden_size))

    def forward(self, input, hx=None):
        if not torch.is_tensor(input) or input.dim() not in (1, 2):
            raise ValueError(f"GRUCell: expected input (N, d) or (d,), got {getattr(input, 'shape', type(input).__name__)}")
        if input.dtype != self.weight_ih.dtype:
            raise ValueError(f"GRUCell input dtype ({input.dtype}) does not match weight dtype ({self.weight_ih.dtype})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} expected {self.input_size}")
        X = input if input.dim() == 2 else input.unsqueeze(0)  # [N, d]
        want = (X.shape[0], self.hidden_size) if input.dim() == 2 else (self.hidden_size,)
        hx = X.new_zeros(want) if hx is None else hx
        check_state(hx, want, X.dtype)
        H = gru_step(X, hx.reshape(X.shape[0], self.hidden_size), self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return H if input.dim() == 2 else H[0]

# %% [markdown]
# Same names, shapes, order and initial values as `nn.GRUCell` from the same seed; `load_state_dict` both ways; then
# `parity` with and without bias, batched and unbatched, `hx` given or not:

# %%
for bias in (True, False):
    torch.manual_seed(1)
    t_init = nn.GRUCell(d, h, bias=bias)
    torch.manual_seed(1)
    s_init = ScratchGRUCell(d, h, bias=bias)
    assert [(n_, p.shape) for n_, p in s_init.named_parameters()] == [(n_, p.shape) for n_, p in t_init.named_parameters()]
    assert all(torch.equal(a, b) for a, b in zip(s_init.parameters(), t_init.parameters()))
    assert (s_init.bias_ih is None) == (t_init.bias_ih is None) == (not bias)
scratch_cell = ScratchGRUCell(d, h, dtype=F64)
scratch_cell.load_state_dict(gru_cell.state_dict())  # torch → scratch
nn.GRUCell(d, h, dtype=F64).load_state_dict(ScratchGRUCell(d, h, dtype=F64).state_dict())  # scratch → torch
counts = []
for bias in (True, False):
    for batched in (True, False):
        for give_hx in (True, False):
            t_cell, s_cell = nn.GRUCell(d, h, bias=bias, dtype=F64), ScratchGRUCell(d, h, bias=bias, dtype=F64)
            s_cell.load_state_dict(t_cell.state_dict())
            x = torch.randn(*((N, d) if batched else (d,)), dtype=F64)
            hx = torch.randn(*((N, h) if batched else (h,)), dtype=F64)
            counts.append(parity(s_cell, t_cell, *((x, hx) if give_hx else (x,)), **EXACT))
print(f"✓ same parameters and initial values as nn.GRUCell; {len(counts)} settings: output and every gradient, |Δ| ≤ 1e-12")

# %% [markdown] collapsed
# ## Going deeper: when v3's form and torch's agree

# %% [markdown]
# Only where $r$ does not matter, e.g. $r \equiv 1$ (the reset gate fully open): then
# $(1 \odot H) W^\top + b = 1 \odot (H W^\top + b)$. A bias of +40 on the r block of `bias_hh` pins $r$ to 1 (to
# float64 rounding), and the two forms meet:

# %%
b_open = w1[3].clone()
b_open[:h] += 40.0  # r = σ(… + 40) = 1 to rounding: the reset gate fully open
w_open = (w1[0], w1[1], w1[2], b_open)
torch.testing.assert_close(run_steps(gru_step_v3, X_seq, H_start, w_open), run_steps(gru_step, X_seq, H_start, w_open),
                           **EXACT)
print("✓ r ≡ 1: v3's form = torch's form, |Δ| ≤ 1e-12")

# %% [markdown] collapsed
# ## Going deeper: the bias that cannot be folded

# %% [markdown]
# In an RNN or an LSTM only $b_{ih} + b_{hh}$ acts, so "folding" $b_{hh}$ into $b_{ih}$ changes nothing. In a GRU
# it does for one block: $b_h^{(n)}$ sits **inside** $r \odot (\dots)$, scaled by $r$, while $b_i^{(n)}$ is not.
# Folding the r and z blocks is harmless; folding the n block changes the output. So of a GRU's six bias blocks four
# act independently ($b_i^{(r)} + b_h^{(r)}$, $b_i^{(z)} + b_h^{(z)}$, $b_i^{(n)}$, $b_h^{(n)}$), and a GRU with
# one bias per gate, as d2l's, cannot represent every `nn.GRU`.

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
    assert max_gap(module, fold(module), x) < 1e-14
    print(f"{label:<8} all of b_hh folded into b_ih:       max |Δ| < 1e-14 ✓")
assert max_gap(gru_, fold(gru_, slice(0, 2 * h)), x) < 1e-14
print(f"{'nn.GRU':<8} the r and z blocks folded:          max |Δ| < 1e-14 ✓")
gap_gru = max_gap(gru_, fold(gru_), x)
assert gap_gru > 0.02
print(f"{'nn.GRU':<8} all of b_hh folded (n block too):   max |Δ| = {gap_gru:.4f} ✗  (b_hh's n block is scaled by r)")

# %% [markdown] collapsed
# ## Going deeper: z = 1 keeps the old state

# %% [markdown]
# In torch, where $z = 1$ a unit **keeps its old value**, where $z = 0$ it takes the candidate (as in Cho et al.
# and d2l). Chung et al. (2014, arXiv:1412.3555) and colah's blog post write it the other way round (see
# pytorch/pytorch#20129): the same models, with the z weights of opposite sign (exercise 2). `nn.GRUCell` itself
# shows torch's way: a bias of ±40 on the z block of `bias_hh` pins $z$ to 1 or to 0.

# %%
def with_z_bias(cell, shift):
    """A copy of an nn.GRUCell with `shift` added to the z block of bias_hh (rows h … 2h)."""
    copy = nn.GRUCell(cell.input_size, cell.hidden_size, dtype=F64)
    sd = {k: v.clone() for k, v in cell.state_dict().items()}
    sd["bias_hh"][cell.hidden_size:2 * cell.hidden_size] += shift
    copy.load_state_dict(sd)
    return copy


with torch.no_grad():
    torch.testing.assert_close(with_z_bias(gru_cell, +40.0)(X1, H1), H1, **EXACT)
    take = with_z_bias(gru_cell, -40.0)
    w_ih, w_hh, b_ih, b_hh = take.parameters()
    r = torch.sigmoid(F.linear(X1, w_ih[:h], b_ih[:h]) + F.linear(H1, w_hh[:h], b_hh[:h]))
    n_take = torch.tanh(F.linear(X1, w_ih[2 * h:], b_ih[2 * h:]) + r * F.linear(H1, w_hh[2 * h:], b_hh[2 * h:]))
    torch.testing.assert_close(take(X1, H1), n_take, **EXACT)
print("✓ nn.GRUCell with z = 1: H' = H, the old state;  with z = 0: H' = n, the candidate")

# %% [markdown] collapsed
# ## Going deeper: LSTM and GRU side by side

# %% [markdown]
# Per layer, with G gate blocks and $d_k$ inputs (d for layer 0, h above): $G h (d_k + h) + 2 G h$ parameters.
# G = 1 for `nn.RNN`, 3 for `nn.GRU`, 4 for `nn.LSTM`: a GRU has exactly **3/4** of an LSTM's.
#
# | job | LSTM (lesson 06) | GRU |
# |---|---|---|
# | keep some of the old memory | forget gate $f$, on the cell state $C$ | update gate $z$, on $H$ itself |
# | write some of the candidate | input gate $i$, free of $f$ | $1 - z$: **tied** to $z$ |
# | how much of the old state feeds the candidate | all of it | reset gate $r$ |
# | what is shown outside | output gate $o$: $H = o \odot \tanh(C)$ | the state itself |
# | states; chunk order | $H$ and $C$ (`hx = (h0, c0)`); i, f, g, o | $H$ (`hx = h0`); r, z, n |
#
# The tie is the GRU's economy: an LSTM can keep all of $C$ **and** add a lot ($f = i = 1$); a GRU cannot. The
# GRU's state is a convex mix of values in (−1, 1), so it stays there. Lesson 09 compares their memory.

# %%
def param_count(G, d_in, hidden, layers=1, bias=True):
    return sum(G * hidden * ((d_in if k == 0 else hidden) + hidden) + (2 * G * hidden if bias else 0) for k in range(layers))


print(f"{'':<26}{'nn.RNN':>8}{'nn.GRU':>8}{'nn.LSTM':>9}   GRU/LSTM")
for d_in, hidden, layers in ((d, h, 1), (10, 20, 1), (d, h, L), (64, 128, 2)):
    counts = []
    for G, cls in ((1, nn.RNN), (3, nn.GRU), (4, nn.LSTM)):
        n_params = sum(p.numel() for p in cls(d_in, hidden, num_layers=layers).parameters())
        assert n_params == param_count(G, d_in, hidden, layers)
        counts.append(n_params)
    print(f"d={d_in:<3} h={hidden:<4} layers={layers:<6}{counts[0]:>8}{counts[1]:>8}{counts[2]:>9}   {counts[1] / counts[2]:.4f}")

# %% [markdown] collapsed
# ## Going deeper: traps and clear refusals

# %% [markdown]
# **Chunk order.** Reading torch's stacked weights as z, r, n (or any other order) runs another GRU:

# %%
zrn = torch.cat([torch.arange(h, 2 * h), torch.arange(h), torch.arange(2 * h, 3 * h)])  # row blocks z, r, n
with torch.no_grad():
    gap_order = (gru_step(X1, H1, *(p[zrn] for p in gru_cell.parameters())) - gru_cell(X1, H1)).abs().max().item()
assert gap_order > 0.01
print(f"weights read in the order z, r, n instead of r, z, n: max |Δ| vs nn.GRUCell = {gap_order:.4f}")

# %% [markdown]
# **What the scratch modules refuse**, and what `nn.GRU` / `nn.GRUCell` say to the same call. An LSTM's state
# `(h0, c0)` given to a GRU gets an `AttributeError` from torch; the scratch modules say what to do.

# %%
def says(make):
    try:
        make()
        return "accepted"
    except (AttributeError, NotImplementedError, RuntimeError, TypeError, ValueError) as err:
        return f"{type(err).__name__}: {err}"


x = torch.randn(T, N, d, dtype=F64)
# torch's own messages, printed as they are: their wording changes between torch versions, and torch
# 2.6 accepts bias=0 (an int where a bool belongs), which newer versions refuse.
calls = {"num_layers=0": lambda cls: cls(d, h, num_layers=0), "hidden_size=0": lambda cls: cls(d, 0),
         "bias=0": lambda cls: cls(d, h, bias=0), "bidirectional=True": lambda cls: cls(d, h, bidirectional=True),
         "float32 input": lambda cls: cls(d, h, dtype=F64)(x.float()),
         "h0 batch-first (N, L, h)": lambda cls: cls(d, h, num_layers=L, dtype=F64)(x, torch.zeros(N, L, h, dtype=F64)),
         "an LSTM's (h0, c0)": lambda cls: cls(d, h, dtype=F64)(x, (torch.zeros(1, N, h, dtype=F64),) * 2),
         "packed input": lambda cls: cls(d, h, dtype=F64)(pack_padded_sequence(x, [5, 4, 2]))}
for label, make in calls.items():
    print(f"{label}\n  nn.GRU      {says(lambda: make(nn.GRU))}\n  ScratchGRU  {says(lambda: make(ScratchGRU))}")
print(f"cell: an LSTM's (h, c)\n  nn.GRUCell      {says(lambda: gru_cell(X1, (H1, H1)))}"
      f"\n  ScratchGRUCell  {says(lambda: scratch_cell(X1, (H1, H1)))}")

# %% [markdown]
# ## Solutions
#
# Collapsed: click to expand. Each solution passes its checker; then a wrong answer shows what the checker says.

# %% solution
def my_gru_step_solution(x, h, w_ih, w_hh, b_ih, b_hh):
    i_r, i_z, i_n = (x @ w_ih.T + b_ih).chunk(3, dim=1)  # [N, h] each, order r, z, n
    s_r, s_z, s_n = (h @ w_hh.T + b_hh).chunk(3, dim=1)  # b_hh stays with the state's product
    reset, update = torch.sigmoid(i_r + s_r), torch.sigmoid(i_z + s_z)
    candidate = torch.tanh(i_n + reset * s_n)  # r ⊙ (h W_h⁽ⁿ⁾ᵀ + b_h⁽ⁿ⁾)
    return candidate + update * (h - candidate)  # = (1 − z) ⊙ n + z ⊙ h


def to_torch_convention_solution(w_ih, w_hh, b_ih, b_hh):
    out = [t.clone() for t in (w_ih, w_hh, b_ih, b_hh)]
    hid = b_ih.shape[0] // 3
    for t in out:
        t[hid:2 * hid] = -t[hid:2 * hid]  # σ(−a) = 1 − σ(a): z becomes 1 − z
    return tuple(out)


assert check_gru_step(my_gru_step_solution)
assert check_to_torch_convention(to_torch_convention_solution)

# %% solution
# What the checkers say to two common mistakes:
assert not check_gru_step(lambda x, h, w_ih, w_hh, b_ih, b_hh: _gru_variant(x, h, w_ih, w_hh, b_ih, b_hh, paper=True))
assert not check_to_torch_convention(lambda *ws: tuple(ws))
