# %% [markdown]
# # 06 · LSTM: a cell state and gates, `ScratchLSTM` beside `nn.LSTM`
#
# Read "The **keys** to the cabinet by the old kitchen door **are** …". To choose *are* over *is*, a model must
# carry "plural" from word 2 to word 11. A plain RNN barely can: lesson 03 showed that its gradient usually shrinks
# at every step back, so the error at word 11 hardly reaches word 2. The **LSTM** (Hochreiter & Schmidhuber
# 1997, with the forget gate of Gers et al. 2000) adds a second state, the **cell state**, that passes from step to
# step through a product and a sum only, guarded by **gates**: numbers between 0 and 1 that decide what to forget,
# what to write and what to show.
#
# You will write the LSTM step yourself, build `ScratchLSTMCell` and `ScratchLSTM` beside `nn.LSTMCell` and
# `nn.LSTM`, check them equal in float64 (gradients too), meet torch's gate order **i, f, g, o**, and watch the
# gates work. **You should know** lessons 01–04 (the step, torch's `weight_ih` layout, two biases, stacked layers,
# vanishing gradients).

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
EXACT = {"atol": 1e-12, "rtol": 0.0}  # float64: equal up to rounding
warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")  # see proj_size
T, N, d, h, L = 7, 3, 5, 6, 2  # steps, batch, features, hidden units, layers: all different


def check(label, ours, theirs, **tol):
    """Assert that ours equals theirs within tolerance, then print a one-line verdict."""
    torch.testing.assert_close(ours, theirs, **tol)
    print(f"✓ {label:<48} matches, " + ("within float32 defaults" if not tol else f"|Δ| ≤ {tol['atol']:.0e}"))


X = torch.randn(T, N, d, dtype=F64)  # [T, N, d]

# %% [markdown]
# ## 1 · Why gates: how far back does the gradient reach?
#
# A sequence of 50 steps goes into `nn.RNN` and `nn.LSTM` (16 hidden units each, torch's initial weights). We
# backpropagate the last output and measure how much each input $X_t$ still matters: $\lVert \partial Y_{50} /
# \partial X_t \rVert$.

# %%
def grad_to_inputs(module, steps=50):
    """‖∂(sum of the last output)/∂X_t‖ for t = 1 … steps."""
    x = torch.randn(steps, 1, module.input_size, dtype=F64, generator=torch.Generator().manual_seed(5))
    x.requires_grad_()
    module(x)[0][-1].sum().backward()
    return x.grad.norm(dim=(1, 2))  # [steps]: index t − 1 holds step t


torch.manual_seed(1)
curves = {"nn.RNN": grad_to_inputs(nn.RNN(4, 16, dtype=F64))}
torch.manual_seed(1)
curves["nn.LSTM"] = grad_to_inputs(nn.LSTM(4, 16, dtype=F64))
for name, g in curves.items():
    print(f"{name:<8} ‖∂Y₅₀/∂X₅₀‖ = {g[-1]:.1e}   ‖∂Y₅₀/∂X₂₅‖ = {g[24]:.1e}   ‖∂Y₅₀/∂X₁‖ = {g[0]:.1e}")
assert curves["nn.RNN"][0] < 1e-12 < curves["nn.LSTM"][0]

# %% [markdown]
# From 49 steps back the RNN's gradient is about $10^{-17}$: nothing to learn from. The LSTM's is ten million
# times larger, and section 8 makes it larger still. The reason is the cell-state update (next section):
#
# $$C_t = \sigma(f_t) \odot C_{t-1} + \sigma(i_t) \odot \tanh(g_t).$$
#
# Its direct path back, $\partial C_t / \partial C_{t-1} = \operatorname{diag}(\sigma(f_t))$, holds no weight matrix
# and no $\tanh'$: only the forget gate. Where the forget gates are near 1, memory and gradient pass almost unchanged.
# New information is **added**, not squashed through a matrix at every step. (The gates still read $H_{t-1}$
# through $W_{hh}$, so the other paths back still shrink; this one carries the long memory.)

# %% [markdown]
# ## 2 · The LSTM step
#
# One step takes $X_t$ [N, d] and **two** states, $H_{t-1}$ and $C_{t-1}$ [N, h]. One product gives four blocks of
# h **pre-activations**, in torch's order i, f, g, o:
#
# $$[\,i \mid f \mid g \mid o\,] = X_t W_{ih}^\top + b_{ih} + H_{t-1} W_{hh}^\top + b_{hh} \quad [N, 4h]$$
#
# $$C_t = \sigma(f) \odot C_{t-1} + \sigma(i) \odot \tanh(g), \qquad H_t = \sigma(o) \odot \tanh(C_t) \qquad [N, h]$$
#
# | block | rows of `weight_ih` [4h, d], `weight_hh` [4h, h] | gate | role |
# |---|---|---|---|
# | i | 0 : h | σ(i), input gate | how much of the candidate to write |
# | f | h : 2h | σ(f), forget gate | how much of the old cell state to keep |
# | g | 2h : 3h | tanh(g), candidate | what could be written, in (−1, 1) |
# | o | 3h : 4h | σ(o), output gate | how much of tanh(C_t) to show as H_t |
#
# **Notation.** Here i, f, g, o are the blocks *before* σ or tanh (what `chunk` returns); other texts name the gates
# *after* it:
#
# | | this course | torch docs | d2l (*Dive into Deep Learning*) | Olah's blog (*Understanding LSTMs*) |
# |---|---|---|---|---|
# | input, forget, output gate | σ(i), σ(f), σ(o) | $i_t, f_t, o_t$ | $I_t, F_t, O_t$ | $i_t, f_t, o_t$ |
# | candidate | tanh(g) | $g_t$ | $\tilde C_t$ | $\tilde C_t$ |
# | states | $H_t, C_t$ rows [N, h] | $h_t, c_t$ | $H_t, C_t$ rows | $h_t, C_t$ columns |
# | weights | $W_{ih}$ [4h, d] as stored, $X W_{ih}^\top$ | $W_{ii}, W_{if}, W_{ig}, W_{io}$ | $W_{xi}$ … [d, h], $X W_{xi}$ | $W_f$ on $[h_{t-1}, x_t]$ |
#
# The drawing: the cell state runs along the top, touched only by ⊙ and +.

# %% hidden
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")  # Unicode subscripts (no $…$ mathtext in drawings)


def draw_lstm_cell(ax, proj=False):
    """The LSTM cell: the cell-state line on top, the four gates below, H_t at the right (· W_projᵀ when proj)."""
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
        box(7.1, 0.95, "· W_projᵀ", "#d9ead3", fontsize=9)
        arr((6.55, 1.35), (6.85, 1.1))
    arr((7.1, 0.75) if proj else (6.6, 1.35), (7.4, 0.62))
    ax.text(7.5, -0.4, "→ output, next step", ha="center", fontsize=8)
    ax.text(4.2, 3.4, "C(t) = σ(f) ⊙ C(t−1) + σ(i) ⊙ tanh(g)      H(t) = "
            + ("(σ(o) ⊙ tanh(C(t))) · W_projᵀ" if proj else "σ(o) ⊙ tanh(C(t))"), ha="center", fontsize=9)
    ax.set_xlim(-0.5, 8.2)
    ax.set_ylim(-1.3, 3.6)
    ax.axis("off")


fig, ax = plt.subplots(figsize=(10, 4))
draw_lstm_cell(ax)
plt.show()

# %% [markdown]
# ## 3 · Your turn: write the step
#
# **Exercise 1.** Given x [N, d], h [N, h], c [N, h] and `nn.LSTMCell`'s parameters as torch stores them
# (`weight_ih` [4h, d], `weight_hh` [4h, h], `bias_ih`, `bias_hh` [4h]), return the pair `(h', c')`. Any form
# works: `@`, `einsum`, `F.linear`. The checker (collapsed) compares with `nn.LSTMCell` and names the usual slips.
# The course's version follows in section 4, so try first.

# %% hidden
def lstm_variant(x, h, c, w_ih, w_hh, b_ih, b_hh, order="ifgo", biases="ih hh", tanh_g=True, new_c_in_h=True):
    """A (possibly wrong) LSTM step, for the checker: blocks read in `order`, a bias left out, tanh(g) forgotten…"""
    z = x @ w_ih.T + h @ w_hh.T + (b_ih if "ih" in biases else 0) + (b_hh if "hh" in biases else 0)
    gate = dict(zip(order, z.chunk(4, -1)))
    c_new = gate["f"].sigmoid() * c + gate["i"].sigmoid() * (gate["g"].tanh() if tanh_g else gate["g"])
    return gate["o"].sigmoid() * (c_new if new_c_in_h else c).tanh(), c_new


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
        msg = str(err)
        hint = ("chunk(4, dim=0) of the product [N, 4h] splits the batch, not the gates: split its 4h columns with "
                ".chunk(4, dim=-1) (or the 4h rows of weight_ih and weight_hh with .chunk(4, dim=0))"
                if "values to unpack" in msg else
                "torch stores weight_ih as [4h, d] and weight_hh as [4h, h]: multiply by weight_ih.T and weight_hh.T"
                if "shape" in msg or "size" in msg else "")
        print(f"✗ my_lstm_step raised {type(err).__name__}: {msg}" + (f"\n  Hint: {hint}." if hint else ""))
        return False
    if got is None:
        print("✗ not done yet: my_lstm_step returned None.")
        return False
    if not (isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(v, torch.Tensor) for v in got)):
        print(f"✗ my_lstm_step returned a {type(got).__name__}: return a pair of tensors (h_new, c_new).")
        return False
    for name, v in zip(("h_new", "c_new"), got):
        if tuple(v.shape) != (2, 3):
            hint = ": that is [N, 4h], all four blocks; split them with .chunk(4, dim=-1)" if tuple(v.shape) == (2, 12) else ""
            print(f"✗ {name} has shape {tuple(v.shape)}, expected (N, h) = (2, 3){hint}.")
            return False

    def same(pair, ref_pair):
        return all(torch.allclose(a.detach().to(F64), b, rtol=0.0, atol=1e-10) for a, b in zip(pair, ref_pair))

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
    slips.update({"bias_hh is missing: torch adds both biases, b_ih and b_hh": {"biases": "ih"},
                  "bias_ih is missing: torch adds both biases, b_ih and b_hh": {"biases": "hh"},
                  "both biases are missing: add bias_ih and bias_hh": {"biases": ""},
                  "the candidate g needs a tanh: c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)": {"tanh_g": False},
                  "h' = σ(o) ⊙ tanh(c') uses the NEW cell state c', not the old c": {"new_c_in_h": False}})
    for message, kw in slips.items():
        if same(got, lstm_variant(x_, h_, c_, *w, **kw)):
            print(f"✗ {message}.")
            return False
    if torch.allclose(got[1].detach().to(F64), want[1], rtol=0.0, atol=1e-10):
        print("✗ c_new is right, h_new is not: h' = σ(o) ⊙ tanh(c'), with the NEW cell state c'.")
    else:
        print("✗ c_new differs from nn.LSTMCell's: blocks = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh → i, f, g, o; "
              "c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g).")
    return False

# %%
def my_lstm_step(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    ...  # your code here: return (h_new [N, h], c_new [N, h])


exercise_1_passed = check_lstm_step(my_lstm_step)

# %% [markdown]
# ## 4 · The course's step, checked against `nn.LSTMCell`
#
# Here is the step every later lesson uses. `F.linear(x, W, b)` is $x W^\top + b$; the last argument, `w_hr`, is the
# projection $W_{\text{proj}}$ (torch stores it as `weight_hr`) of the "Going deeper" section; `None` here.

# %%
def lstm_step(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None):
    """x [N, d], h [N, H_out], c [N, H] → (h', c'). Gate blocks in torch's order i, f, g, o."""
    i, f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, -1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return (h if w_hr is None else F.linear(h, w_hr)), c

# %% [markdown]
# `nn.LSTMCell(d, h)` keeps the four blocks stacked along the **rows** of its parameters. We feed them to
# `lstm_step` and compare one step; `hx` is the **pair** `(h, c)`.

# %%
torch.manual_seed(2)
cell = nn.LSTMCell(d, h, dtype=F64)
for name, param in cell.named_parameters():
    print(f"{name:<10} {str(list(param.shape)):<8} = four blocks of {list(param.chunk(4)[0].shape)}: i, f, g, o")
H0, C0 = torch.randn(N, h, dtype=F64), torch.randn(N, h, dtype=F64)  # [N, h] each
with torch.no_grad():
    H1, C1 = cell(X[0], (H0, C0))
check("lstm_step vs nn.LSTMCell, (h', c')", lstm_step(X[0], H0, C0, *cell.parameters()), (H1, C1), **EXACT)

# %% [markdown]
# ## 5 · The gate-order trap
#
# The four blocks can be stacked in any order. torch and cuDNN use **i, f, g, o** (Keras too); CS231n and fastbook
# use **i, f, o, g**. Read the blocks in another order and nothing fails (all shapes are [N, h]); the numbers are
# just wrong. `reorder_blocks` permutes the row blocks; it also converts weights saved in another order.

# %%
def reorder_blocks(w, src, dst="ifgo"):
    """Permute the four row blocks of a stacked weight [4h, ·] or bias [4h] from order src to order dst."""
    return w.view(4, -1, *w.shape[1:])[[src.index(gate) for gate in dst]].reshape(w.shape)


for order, who in [("ifgo", "torch"), ("ifog", "CS231n, fastbook"), ("igfo", "f and g swapped")]:
    misread = [reorder_blocks(q.detach(), order) for q in cell.parameters()]  # blocks read as `order`
    gap = max((a - b).abs().max().item() for a, b in zip(lstm_step(X[0], H0, C0, *misread), (H1, C1)))
    print(f"blocks read as {', '.join(order)} ({who:<16}): max |Δ| vs nn.LSTMCell = {gap:.4f} "
          + ("✓" if gap < 1e-12 else "✗"))
    assert (gap < 1e-12) == (order == "ifgo")

# %% [markdown]
# ## 6 · `ScratchLSTMCell`
#
# A module with `nn.LSTMCell`'s constructor, its parameter names, shapes and order, and its initialisation
# $U(-1/\sqrt{h}, 1/\sqrt{h})$. `forward` takes batched [N, d] or unbatched [d] input and `hx = (h, c)` or `None`
# (zeros). Two small functions (collapsed below), `check_args` and `check_input`, refuse what this lesson's layers
# do not handle, with a message that names the argument, instead of returning a wrong answer.

# %% hidden
def check_args(**args):
    """Refuse constructor arguments that torch refuses or that this lesson's layers do not handle."""
    for name, v in args.items():
        if name in ("bias", "batch_first", "bidirectional"):
            if not isinstance(v, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(v).__name__}")
        elif name == "dropout":
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                raise ValueError(f"dropout should be a number in [0, 1], got {v!r}")
        elif isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name} should be an int, got {type(v).__name__}")
        elif v < 0 or (v == 0 and name != "proj_size"):
            raise ValueError(f"{name} must be greater than zero" + (" (or 0)" if name == "proj_size" else "")
                             + f", got {v}")
    if args.get("proj_size", 0) >= args["hidden_size"]:
        raise ValueError("proj_size has to be smaller than hidden_size")
    if args.get("bidirectional"):
        raise NotImplementedError("bidirectional=True: this lesson's ScratchLSTM runs one direction (lesson 08 adds "
                                  "the reverse one)")


def check_input(module, input, hx, layer):
    """→ x [(T,) N, d], (h, c) [(L,) N, ·], unbatched. Raises a clear error for input the module cannot take."""
    who, w = type(module).__name__, next(module.parameters())
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"{who}: input must be a tensor, got {type(input).__name__}"
                        + (" (packed sequences come in lesson 08)" if type(input).__name__ == "PackedSequence" else ""))
    dims = (2, 3) if layer else (1, 2)
    if input.dim() not in dims:
        raise ValueError(f"{who}: expected input to be {dims[0]}-D or {dims[1]}-D, got {input.dim()}-D")
    if input.shape[-1] != module.input_size:
        raise ValueError(f"{who}: input has {input.shape[-1]} features, expected input_size={module.input_size}")
    if input.numel() == 0:
        raise ValueError(f"{who}: input of shape {tuple(input.shape)} is empty")
    if input.dtype != w.dtype:
        raise ValueError(f"{who}: input dtype {input.dtype} does not match the weights' dtype {w.dtype}")
    unbatched = input.dim() == dims[0]
    x = input.unsqueeze(-2) if unbatched else input.transpose(0, 1) if layer and module.batch_first else input
    lead, n = ((module.num_layers,) if layer else ()), x.shape[-2]
    sizes = ((module.proj_size or module.hidden_size) if layer else module.hidden_size, module.hidden_size)
    if hx is None:
        return x, tuple(x.new_zeros(*lead, n, s) for s in sizes), unbatched
    if not (isinstance(hx, (tuple, list)) and len(hx) == 2 and all(isinstance(s, torch.Tensor) for s in hx)):
        raise TypeError(f"{who}: hx must be the pair (h, c) of tensors, or None; got a {type(hx).__name__}"
                        + (f" of shape {tuple(hx.shape)}" if isinstance(hx, torch.Tensor) else ""))
    for name, s, cols in zip(("h0", "c0") if layer else ("h", "c"), hx, sizes):
        want = (*lead, cols) if unbatched else (*lead, n, cols)
        if tuple(s.shape) != want:
            raise ValueError(f"{who}: {name} has shape {tuple(s.shape)}, expected {want}"
                             + (" (h0 and c0 are never batch-first)" if layer and sorted(s.shape) == sorted(want) else ""))
        if s.dtype != x.dtype:
            raise ValueError(f"{who}: {name} dtype {s.dtype} does not match the input's {x.dtype}")
    return x, tuple(s.unsqueeze(-2) if unbatched else s for s in hx), unbatched

# %%
class ScratchLSTMCell(nn.Module):
    """nn.LSTMCell from scratch: one LSTM step, parameters stored as torch stores them."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        check_args(input_size=input_size, hidden_size=hidden_size, bias=bias)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size, **kw))  # [W_ii; W_if; W_ig; W_io]
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size, **kw))  # [W_hi; W_hf; W_hg; W_ho]
        self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size, **kw)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size, **kw)) if bias else None
        for param in self.parameters():  # torch's init, in registration order
            nn.init.uniform_(param, -1 / math.sqrt(hidden_size), 1 / math.sqrt(hidden_size))

    def forward(self, input, hx=None):
        x, (h, c), unbatched = check_input(self, input, hx, layer=False)  # x [N, d], h and c [N, h]
        h, c = lstm_step(x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)

# %% [markdown]
# The check is the course's `parity` (lesson 02, collapsed here): scratch and twin run forward and backward on the
# same inputs, and every output and every gradient (input, h, c, each parameter) must match. It returns how many
# tensors it compared: with `hx` and biases, 9 (h', c', the gradients of x, h, c and of the four parameters). First
# the initial values from the same seed, then `load_state_dict` and parity, with and without biases and `hx`.

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
for bias in (True, False):
    torch.manual_seed(3)
    t_cell = nn.LSTMCell(d, h, bias=bias, dtype=F64)
    torch.manual_seed(3)
    s_cell = ScratchLSTMCell(d, h, bias=bias, dtype=F64)
    same_init = [(n, q.shape) for n, q in s_cell.named_parameters()] == [(n, q.shape) for n, q in t_cell.named_parameters()]
    assert same_init and all(torch.equal(a, b) for a, b in zip(s_cell.parameters(), t_cell.parameters()))
    s_cell.load_state_dict(t_cell.state_dict())  # torch → scratch (and back: t_cell.load_state_dict(s_cell.state_dict()))
    counts = [parity(s_cell, t_cell, X[0], (H0, C0), **EXACT), parity(s_cell, t_cell, X[0], **EXACT),
              parity(s_cell, t_cell, X[0, 0], (H0[0], C0[0]), **EXACT)]
    print(f"✓ bias={bias!s:<5} same parameters and init; hx given / None / unbatched: {counts} tensors match")

# %% [markdown]
# ## 7 · `ScratchLSTM`
#
# `nn.LSTM` runs the step over a sequence, in one or more layers, like `nn.RNN` in lessons 02–04, with two
# differences: `hx` is the **pair** `(h0, c0)` (each [L, N, h], never batch-first) and it returns
# `output, (h_n, c_n)`. Layer k has `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}`; layer k > 0
# reads the output of layer k − 1, with dropout in between in training mode. This lesson's layer runs one
# direction (lesson 08 adds the reverse one and packed input); `proj_size` is explained in "Going deeper".

# %%
class ScratchLSTM(nn.Module):
    """nn.LSTM from scratch, one direction: layers of lstm_step, parameters stored as torch stores them."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        check_args(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers, bias=bias,
                   batch_first=batch_first, dropout=dropout, bidirectional=bidirectional, proj_size=proj_size)
        if dropout > 0 and num_layers == 1:  # torch's warning, word for word (lesson 04)
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                          f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}")
        self.input_size, self.hidden_size, self.num_layers, self.bias = input_size, hidden_size, num_layers, bias
        self.batch_first, self.dropout, self.bidirectional, self.proj_size = batch_first, float(dropout), False, proj_size
        h_out, kw = proj_size or hidden_size, {"device": device, "dtype": dtype}
        for k in range(num_layers):
            d_k = input_size if k == 0 else h_out  # layer k > 0 reads the output of layer k − 1
            setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(4 * hidden_size, d_k, **kw)))
            setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(4 * hidden_size, h_out, **kw)))
            if bias:
                setattr(self, f"bias_ih_l{k}", nn.Parameter(torch.empty(4 * hidden_size, **kw)))
                setattr(self, f"bias_hh_l{k}", nn.Parameter(torch.empty(4 * hidden_size, **kw)))
            if proj_size > 0:  # see "Going deeper: proj_size"
                setattr(self, f"weight_hr_l{k}", nn.Parameter(torch.empty(proj_size, hidden_size, **kw)))
        bound = 1.0 / math.sqrt(hidden_size)  # every parameter, weight_hr too
        for param in self.parameters():
            nn.init.uniform_(param, -bound, bound)

    def forward(self, input, hx=None):
        x, (h0, c0), unbatched = check_input(self, input, hx, layer=True)  # x [T, N, d], h0 and c0 [L, N, ·]
        h_n, c_n = [], []
        for k in range(self.num_layers):
            w = [getattr(self, f"{n}_l{k}", None) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")]
            h, c = h0[k], c0[k]
            out = []
            for x_t in x:
                h, c = lstm_step(x_t, h, c, *w)
                out.append(h)
            x = torch.stack(out)  # [T, N, H_out]: the next layer's input
            h_n.append(h)
            c_n.append(c)
            if self.training and self.dropout > 0 and k < self.num_layers - 1:  # between layers only
                x = F.dropout(x, self.dropout, training=True)
        h_n, c_n = torch.stack(h_n), torch.stack(c_n)  # [L, N, H_out], [L, N, h]: never batch-first
        if unbatched:
            return x.squeeze(1), (h_n.squeeze(1), c_n.squeeze(1))
        return (x.transpose(0, 1) if self.batch_first else x), (h_n, c_n)

# %% [markdown]
# Two layers, torch's weights loaded into ours, `hx` given as the pair:

# %%
torch.manual_seed(4)
lstm2 = nn.LSTM(d, h, num_layers=L, dtype=F64)
s_lstm2 = ScratchLSTM(d, h, num_layers=L, dtype=F64)
s_lstm2.load_state_dict(lstm2.state_dict())  # torch → scratch
h0, c0 = torch.randn(L, N, h, dtype=F64), torch.randn(L, N, h, dtype=F64)  # [L, N, h] each
output, (h_n, c_n) = s_lstm2(X, (h0, c0))
print(f"output {list(output.shape)} = [T, N, h], h_n {list(h_n.shape)} and c_n {list(c_n.shape)} = [L, N, h]")
n = parity(s_lstm2, lstm2, X, (h0, c0), **EXACT)
print(f"✓ ScratchLSTM vs nn.LSTM, 2 layers: {n} tensors match (output, h_n, c_n, every gradient), |Δ| ≤ 1e-12")

# %% [markdown]
# The rest, in one collapsed cell: the same initial values from the same seed; parity for 1–3 layers × `proj_size` ×
# `batch_first` × `bias` (24 settings), each called three ways (hx given, `None`, unbatched): 72 runs, on a batch of
# 8 so that no layer count equals the batch; dropout in training and eval mode; and float32.

# %% hidden
P = 4  # proj_size in this cell and in "Going deeper": different from every other size
for kwargs in ({}, {"num_layers": 2, "proj_size": P}, {"num_layers": 3, "bias": False, "proj_size": 1}):
    torch.manual_seed(4)
    t_init = nn.LSTM(d, h, **kwargs)
    torch.manual_seed(4)
    s_init = ScratchLSTM(d, h, **kwargs)
    assert [(n, q.shape) for n, q in s_init.named_parameters()] == [(n, q.shape) for n, q in t_init.named_parameters()]
    assert all(torch.equal(a, b) for a, b in zip(s_init.parameters(), t_init.parameters()))
    t_init.load_state_dict(s_init.state_dict())  # scratch → torch works too


def twin(lstm):
    """A ScratchLSTM with nn.LSTM lstm's settings, dtype, device and a copy of its weights (torch → scratch)."""
    w = lstm.weight_ih_l0
    s = ScratchLSTM(lstm.input_size, lstm.hidden_size, lstm.num_layers, lstm.bias, lstm.batch_first, lstm.dropout,
                    proj_size=lstm.proj_size, device=w.device, dtype=w.dtype)
    s.load_state_dict(lstm.state_dict())
    return s


one_step = nn.LSTM(d, h, proj_size=P, dtype=F64)  # one step of one projected layer: the shapes are easiest to read
parity(twin(one_step), one_step, X[:1], (torch.randn(1, N, P, dtype=F64), torch.randn(1, N, h, dtype=F64)), **EXACT)
N_GRID = 8  # the grid's batch: N = 3 would equal num_layers = 3, and a mix-up of the two would pass unnoticed
X_grid = torch.randn(T, N_GRID, d, dtype=F64)  # [T, 8, d]: 7, 8, 5, 6, 4 and 1–3 layers are all different
settings, runs = 0, 0
for layers in (1, L, 3):
    for proj in (0, P):
        for batch_first in (False, True):
            for bias in (True, False):
                t_m = nn.LSTM(d, h, layers, bias, batch_first, proj_size=proj, dtype=F64)
                s_m = twin(t_m)
                x = X_grid.transpose(0, 1) if batch_first else X_grid
                hx = (torch.randn(layers, N_GRID, proj or h, dtype=F64), torch.randn(layers, N_GRID, h, dtype=F64))
                parity(s_m, t_m, x, hx, **EXACT)
                parity(s_m, t_m, x, **EXACT)
                parity(s_m, t_m, X_grid[:, 0], tuple(s[:, 0] for s in hx), **EXACT)  # unbatched (T, d)
                settings, runs = settings + 1, runs + 3
assert (settings, runs) == (24, 72)
drop = nn.LSTM(d, h, num_layers=3, dropout=0.5, proj_size=P, dtype=F64)
s_drop = twin(drop)
for mode in ("train", "eval"):
    getattr(drop, mode)()
    getattr(s_drop, mode)()
    with torch.random.fork_rng():  # the same seed before each call: the same dropout masks
        torch.manual_seed(8)
        out_s = s_drop(X_grid)[0]
        torch.manual_seed(8)
        torch.testing.assert_close(out_s, drop(X_grid)[0], **EXACT)
lstm32 = nn.LSTM(d, h, num_layers=2, proj_size=P)
parity(twin(lstm32), lstm32, X.float(), (torch.randn(2, N, P), torch.randn(2, N, h)))  # float32: default tolerances
print(f"✓ same init as nn.LSTM; {settings} settings × 3 calls = {runs} float64 runs and dropout (train, eval) ≤ 1e-12; "
      "float32 within its defaults")

# %% [markdown]
# ## 8 · The forget-gate bias
#
# At initialisation the forget gate's pre-activation is near 0, so $\sigma(f) \approx 0.5$: the cell state halves at
# every step, and so does the gradient along its path. The remedy is a positive forget bias $b_f$ (Gers et al.
# 2000; in Jozefowicz et al. 2015, $b_f = 1$ closed the gap between the LSTM and the GRU). In torch it is rows
# **h : 2h** of `bias_ih_l{k}` plus those of `bias_hh_l{k}`: set one to $b_f$, the other to 0.
#
# How long does the cell remember? Unrolled, $C_t = \big(\prod_{k \le t} \sigma(f_k)\big) \odot C_0 + \ldots$: the
# product of the forget gates is the share of $C_0$ still in $C_t$, and the gradient $\partial C_t / \partial C_0$
# along the cell-state line. The collapsed cell measures both for four values of $b_f$.

# %% hidden
def lstm_with_forget_bias(b_f, hidden=16):
    """An nn.LSTM(4, hidden), seed 1, whose forget-gate bias (rows hidden:2·hidden of the two biases) sums to b_f."""
    torch.manual_seed(1)
    lstm = nn.LSTM(4, hidden, dtype=F64)
    with torch.no_grad():
        lstm.bias_ih_l0[hidden:2 * hidden], lstm.bias_hh_l0[hidden:2 * hidden] = b_f, 0.0
    return lstm


def gate_trace(lstm, x):
    """σ(i), σ(f), σ(o) and C of a one-layer nn.LSTM over x [T, 1, d] → [T, 4, h], checked against nn.LSTM."""
    w_ih, w_hh, b_ih, b_hh = (q.detach() for q in lstm.parameters())
    h_, c_, rows = torch.zeros(1, lstm.hidden_size, dtype=F64), torch.zeros(1, lstm.hidden_size, dtype=F64), []
    for x_t in x:  # x_t [1, d]
        a_i, a_f, _, a_o = (F.linear(x_t, w_ih, b_ih) + F.linear(h_, w_hh, b_hh)).chunk(4, -1)  # for the picture
        h_, c_ = lstm_step(x_t, h_, c_, w_ih, w_hh, b_ih, b_hh)
        rows.append(torch.cat([a_i.sigmoid(), a_f.sigmoid(), a_o.sigmoid(), c_]))
    with torch.no_grad():
        _, (hn, cn) = lstm(x)
    torch.testing.assert_close((h_, c_), (hn[0], cn[0]), **EXACT)
    return torch.stack(rows)


print("b_f   σ(b_f)   ‖∂Y₅₀/∂X₁‖ (section 1)   share of C₀ left after 60 steps (8 units, zero input)")
shares = {}
for b_f in (0.0, 1.0, 3.0, 5.0):
    curves[f"nn.LSTM, forget bias {b_f:.0f}"] = grad_to_inputs(lstm_with_forget_bias(b_f))
    shares[b_f] = gate_trace(lstm_with_forget_bias(b_f, 8), torch.zeros(60, 1, 4, dtype=F64))[:, 1].cumprod(0).mean(-1)
    print(f"{b_f:<5.0f} {1 / (1 + math.exp(-b_f)):.4f}   {curves[f'nn.LSTM, forget bias {b_f:.0f}'][0]:10.1e}"
          f"               {shares[b_f][-1]:.4f}")
assert shares[5.0][-1] > shares[3.0][-1] > 0.01 > shares[1.0][-1] > shares[0.0][-1]
fig, axes = plt.subplots(1, 2, figsize=(11, 3))
for name, g in curves.items():
    axes[0].semilogy(range(1, 51), g, label=name)
for b_f, sh in shares.items():
    axes[1].semilogy(range(1, 61), sh, label=f"forget bias {b_f:.0f}")
axes[0].set(xlabel="input step t", ylabel="‖∂Y₅₀ / ∂X_t‖", title="how much the last output feels each input")
axes[1].set(xlabel="step t", ylabel="share of C₀ in C_t", title="what the cell state keeps")
for ax in axes:
    ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3)
plt.show()

# %% [markdown]
# With $b_f = 3$ the first input still gets a gradient of about $5 \cdot 10^{-3}$, and 5 % of $C_0$ survives 60
# steps; with $b_f = 5$, two thirds.

# %% [markdown]
# ## 9 · Play: the gates at work
#
# A 4-unit LSTM (one input, fixed random weights) reads a sequence you choose: a **pulse**, a **step**, a **square
# wave** or **noise**. The heatmaps show the gates σ(i), σ(f), σ(o) (dark 0 to yellow 1) and the cell state $C_t$ for
# every unit and step. The slider sets the forget bias: raise it and watch σ(f) brighten and the pulse stay in $C_t$.
# The pulse comes at step 2; its **trace** (red line) is $C_t$ with the pulse minus $C_t$ without it, the largest over
# the units, divided by its value at step 2. Each call checks its states against `nn.LSTM`.

# %% hidden
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


def show_gates(pattern="pulse", length=24, forget_bias=0.0):
    """Widget callback: heatmaps of σ(i), σ(f), σ(o) and C over time. Returns a dict, or None with a message."""
    if pattern not in PATTERNS:
        print(f"⚠ pattern {pattern!r}: choose one of {', '.join(PATTERNS)}.")
        return None
    if not (isinstance(length, int) and 3 <= length <= 200):
        print(f"⚠ length = {length!r}: choose between 3 and 200 steps.")
        return None
    lstm = nn.LSTM(1, 4, dtype=F64)
    lstm.load_state_dict(gate_lstm.state_dict())
    with torch.no_grad():
        lstm.bias_ih_l0[4:8], lstm.bias_hh_l0[4:8] = float(forget_bias), 0.0  # the forget rows h : 2h (h = 4)
    x = make_pattern(pattern, length)
    rows = gate_trace(lstm, x)  # [T, 4, 4]: σ(i), σ(f), σ(o), C for 4 units
    means = [rows[:, k].mean().item() for k in range(3)]
    print(f"{pattern}, T = {length}, forget bias {forget_bias:+.1f}: mean σ(i) = {means[0]:.4f}, "
          f"σ(f) = {means[1]:.4f}, σ(o) = {means[2]:.4f}   (✓ states equal nn.LSTM's)")
    half = None
    if pattern == "pulse":  # the pulse's own trace: C with the pulse minus C on zeros
        trace = (rows[:, 3] - gate_trace(lstm, torch.zeros_like(x))[:, 3]).abs().amax(-1)  # [T]
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
    axes[1].imshow(rows[:, :3].reshape(length, 12).T, aspect="auto", extent=(0.5, length + 0.5, 11.5, -0.5),
                   interpolation="nearest", vmin=0, vmax=1, cmap="viridis")  # σ(i) of units 0-3, then σ(f), σ(o)
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
# The same callback in plain cells (so an error cannot hide in the widget). By default the pulse's trace halves
# within a few steps; a forget bias of 6 keeps it for 60 steps; −3 forgets it at once. With σ(f) ≈ 1 the whole of
# $C_t$ drifts too, pulse or not: the cell adds up what the gates write at every step, which is why the pulse's own
# trace is drawn as a separate line.

# %%
assert show_gates()["half_life"] <= 6
assert show_gates("pulse", 60, 6.0)["half_life"] is None
assert show_gates("pulse", 4, -3.0)["half_life"] == 1
assert show_gates("square wave", 60, 0.0)["mean_gates"][1] < show_gates("noise", 4, 6.0)["mean_gates"][1]
assert show_gates("sawtooth") is None and show_gates("pulse", 2) is None  # refused, with a message

# %% [markdown]
# ## 10 · Exercise 2: set the forget bias
#
# Set the forget-gate bias of **every layer** of an `nn.LSTM` (one direction, any `num_layers`) so that
# `bias_ih` + `bias_hh` on the forget rows equals `value`. Leave every other entry unchanged and keep the parameter
# objects (an optimizer may already hold them): change their values in place.

# %% hidden
def check_set_forget_bias(fn):
    """Run fn on a 2-layer nn.LSTM(3, 5, proj_size=4) with value 2.5; check every bias row and parameter."""
    with torch.random.fork_rng():
        torch.manual_seed(23)
        m = nn.LSTM(3, 5, num_layers=2, proj_size=4, dtype=F64)
    before = {n: q.detach().clone() for n, q in m.named_parameters()}
    objects = dict(m.named_parameters())
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

# %%
def set_forget_bias(lstm, value):
    ...  # your code here: change lstm's biases in place


exercise_2_passed = check_set_forget_bias(set_forget_bias)

# %% [markdown]
# ## 11 · Summary
#
# | | |
# |---|---|
# | the step | $[i \mid f \mid g \mid o] = X_t W_{ih}^\top + b_{ih} + H_{t-1} W_{hh}^\top + b_{hh}$ [N, 4h]; $C_t = \sigma(f) \odot C_{t-1} + \sigma(i) \odot \tanh(g)$; $H_t = \sigma(o) \odot \tanh(C_t)$ |
# | why it remembers | $\partial C_t / \partial C_{t-1} = \operatorname{diag}(\sigma(f_t))$ along the cell-state line: no weight matrix, no tanh′ |
# | torch layout | `weight_ih` [4h, d], `weight_hh` [4h, h], `bias_ih`, `bias_hh` [4h]; row blocks in the order **i, f, g, o** (CS231n, fastbook: i, f, o, g) |
# | torch calls | `nn.LSTMCell(d, h)(x, (h, c))` → `(h', c')`; `nn.LSTM(d, h, num_layers)(x, (h0, c0))` → `output, (h_n, c_n)` |
# | shapes | output [T, N, h]; h0, c0, h_n, c_n [L, N, h], never batch-first |
# | forget bias | rows h : 2h of `bias_ih_l{k}` + `bias_hh_l{k}`; 1 or more keeps the cell state (and its gradient) longer |
# | parameters | per layer 4h·(d_k + h) + 2·4h; LSTM(10, 20) = 2560 |
#
# **Next:** lesson 07, the GRU: two gates, one state. Lesson 08 completes `ScratchLSTM` (two directions, packed
# input, `proj_size` in full).

# %% [markdown] collapsed
# ## Going deeper: `proj_size`, an LSTM with a projection

# %% [markdown]
# With `proj_size = p > 0` (the LSTMP of Sak et al. 2014) each step multiplies the new hidden state by a learned
# matrix $W_{\text{proj}}$ [p, h], without bias. torch stores it as `weight_hr_l{k}` and its docs call it $W_{hr}$;
# this course writes $W_{\text{proj}}$, because lesson 07 uses $W_{hr}$ for the GRU's reset block, as torch's GRU docs do.
#
# $$H_t = \big(\sigma(o) \odot \tanh(C_t)\big)\, W_{\text{proj}}^\top \quad [N, p], \qquad C_t \text{ stays } [N, h].$$
#
# The projected $H_t$ is what everything downstream sees: the **next step** (`weight_hh` is [4h, **p**]), the **next
# layer** (`weight_ih_l1` is [4h, **p**]; the docs once said otherwise, pytorch#65053), `output` and `h_n`. Only the
# cell state keeps h columns: `c0`, `c_n` are [L, N, **h**]. The projection acts at **every** step, not only on the
# final state (pytorch#139582). `lstm_step` does it with its last argument, and `ScratchLSTM` registers
# `weight_hr_l{k}` after the biases, as torch does; the collapsed grid of section 7 already checked it.

# %%
fig, ax = plt.subplots(figsize=(10, 4))
draw_lstm_cell(ax, proj=True)
plt.show()
torch.manual_seed(6)
lstmp = nn.LSTM(d, h, num_layers=L, proj_size=P, dtype=F64)
print(", ".join(f"{n} {tuple(q.shape)}" for n, q in lstmp.named_parameters() if n.endswith("l0")))
h0p, c0p = torch.randn(L, N, P, dtype=F64), torch.randn(L, N, h, dtype=F64)  # h0 [L, N, p], c0 [L, N, h]
out_p, (hn_p, cn_p) = lstmp(X, (h0p, c0p))
print(f"output {list(out_p.shape)} = [T, N, p], h_n {list(hn_p.shape)} = [L, N, p], c_n {list(cn_p.shape)} = [L, N, h]")
n = parity(twin(lstmp), lstmp, X, (h0p, c0p), **EXACT)
print(f"✓ ScratchLSTM vs nn.LSTM, {L} layers, proj_size={P}: {n} tensors match, |Δ| ≤ 1e-12")

# %% [markdown]
# **Projecting only at the end is another network.** A plain `nn.LSTM(d, h)` followed by $W_{\text{proj}}$, with the
# same input weights and biases and its own [4h, h] recurrent matrix, gives another output. One way to make it
# match: give it the rank-p recurrent matrix `weight_hh @ weight_hr` [4h, h], since
# $(H^{full} W_{\text{proj}}^\top) W_{hh}^\top = H^{full} (W_{hh} W_{\text{proj}})^\top$: that is the per-step
# projection written another way. With p small the projection saves parameters: 4h·p + p·h recurrent weights
# instead of 4h·h.

# %%
torch.manual_seed(7)
lstmp1, plain = nn.LSTM(d, h, proj_size=P, dtype=F64), nn.LSTM(d, h, dtype=F64)  # one layer each
with torch.no_grad():
    for name in ("weight_ih_l0", "bias_ih_l0", "bias_hh_l0"):
        getattr(plain, name).copy_(getattr(lstmp1, name))
    out_proj = lstmp1(X)[0]  # [T, N, p]
    end_only = plain(X)[0] @ lstmp1.weight_hr_l0.T  # [T, N, h] → [T, N, p], projected once, at the end
    plain.weight_hh_l0.copy_(lstmp1.weight_hh_l0 @ lstmp1.weight_hr_l0)  # [4h, p] @ [p, h] = [4h, h], rank p
    low_rank = plain(X)[0] @ lstmp1.weight_hr_l0.T
gap = (end_only - out_proj).abs().max().item()
print(f"plain LSTM, its own W_hh, projected at the end: max |Δ| vs proj_size LSTM = {gap:.4f}  ✗")
assert gap > 1e-3
check("plain LSTM with W_hh = weight_hh @ weight_hr", low_rank, out_proj, **EXACT)

# %% [markdown] collapsed
# ## Going deeper: bad input gets a clear error

# %% [markdown]
# `nn.LSTM` needs `hx` as the pair `(h0, c0)`. Give a one-layer LSTM a single tensor (the `nn.RNN` habit) and torch
# answers `IndexError: index 1 is out of bounds`, which says nothing about `hx`. `check_input` and `check_args`
# (section 6) make the scratch layers say what is wrong, and refuse what this lesson does not build, rather than
# return a wrong answer.

# %%
from torch.nn.utils.rnn import pack_padded_sequence  # only this section needs it

lstm1, s_lstm1 = nn.LSTM(d, h, dtype=F64), ScratchLSTM(d, h, dtype=F64)
s_cell = ScratchLSTMCell(d, h, dtype=F64)
# torch's own messages, printed as they are: their wording changes between torch versions.
bad = [("hx = h0 alone", lambda m: m(X, h0[:1]), (lstm1, s_lstm1)),
       ("h0 batch-first", lambda m: m(X, (h0[:1].transpose(0, 1), c0[:1])), (lstm1, s_lstm1)),
       ("float32 input", lambda m: m(X.float()), (lstm1, s_lstm1)),
       ("packed input", lambda m: m(pack_padded_sequence(X, [7, 5, 2])), (s_lstm1,)),
       ("cell: h of batch 1, input of batch 3", lambda m: m(X[0], (H0[:1], C0)), (cell, s_cell)),
       ("cell: c with one column", lambda m: m(X[0], (H0, C0[:, :1])), (cell, s_cell))]
for label, call, modules in bad:
    print(label)
    for module in modules:
        try:
            call(module)
            print(f"  {type(module).__name__:<15} runs")
        except (IndexError, RuntimeError, TypeError, ValueError) as err:
            print(f"  {type(module).__name__:<15} {type(err).__name__}: {err}")
for kwargs in ({"num_layers": 0}, {"bias": 0}, {"bias": "True"}, {"proj_size": h}, {"bidirectional": True}):
    try:
        ScratchLSTM(d, h, **kwargs)
    except (TypeError, ValueError, NotImplementedError) as err:
        print(f"ScratchLSTM(d, h, {', '.join(f'{k}={v!r}' for k, v in kwargs.items())}): {type(err).__name__}: {err}")

# %% [markdown] collapsed
# ## Going deeper: on a GPU

# %% [markdown]
# The same `parity` checks on CUDA when there is one, where `nn.LSTM` runs on **cuDNN** (projection included). In
# float64 they are as tight as on the CPU. In float32 cuDNN would use **TF32** by default (errors up to ~1e-3), so
# the cell switches TF32 off and restores it afterwards. Without a GPU it prints one line.

# %%
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    saved_tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # cuDNN's LSTM would otherwise use TF32 for float32
    torch.backends.cuda.matmul.allow_tf32 = False  # the scratch matmuls: full float32 (the default)
    for dtype, tol in [(F64, EXACT), (torch.float32, {})]:
        for proj in (0, P):
            g_lstm = nn.LSTM(d, h, num_layers=L, proj_size=proj, device=DEVICE, dtype=dtype)
            xg = torch.randn(T, N, d, device=DEVICE, dtype=dtype)
            hg = (torch.randn(L, N, proj or h, device=DEVICE, dtype=dtype), torch.randn(L, N, h, device=DEVICE, dtype=dtype))
            n = parity(twin(g_lstm), g_lstm, xg, hg, **tol)
            print(f"✓ {torch.cuda.get_device_name()} {dtype} nn.LSTM proj_size={proj}: {n} tensors match")
        g_cell, s_g_cell = nn.LSTMCell(d, h, device=DEVICE, dtype=dtype), ScratchLSTMCell(d, h, device=DEVICE, dtype=dtype)
        s_g_cell.load_state_dict(g_cell.state_dict())
        n = parity(s_g_cell, g_cell, xg[0], (hg[1][0], hg[1][1]), **tol)  # h, c [N, h] each
        print(f"✓ {torch.cuda.get_device_name()} {dtype} nn.LSTMCell: {n} tensors match")
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved_tf32
else:
    print("No GPU here: skipped (this cell repeats the parity checks against cuDNN's LSTM when a GPU is present).")

# %% [markdown]
# ## Solutions
#
# Collapsed so they stay out of the way. Each solution passes its checker; then a wrong answer shows what the
# checker says.

# %% solution
def my_lstm_step_solution(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    i, f, g, o = (x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh).chunk(4, dim=-1)  # torch's order
    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c_new.tanh(), c_new


def set_forget_bias_solution(lstm, value):
    h_ = lstm.hidden_size
    with torch.no_grad():  # in place, on the same parameter objects
        for k in range(lstm.num_layers):
            getattr(lstm, f"bias_ih_l{k}")[h_:2 * h_] = value  # the forget rows: second block of four
            getattr(lstm, f"bias_hh_l{k}")[h_:2 * h_] = 0.0


assert check_lstm_step(my_lstm_step_solution)
assert check_set_forget_bias(set_forget_bias_solution)

# %% solution
# What the checkers say to two common mistakes:
assert not check_lstm_step(lambda x, h, c, *w: lstm_variant(x, h, c, *w, order="ifog"))  # CS231n's order


def set_both_biases(lstm, value):  # sets bias_ih AND bias_hh to value: the sum is 2·value
    with torch.no_grad():
        for k in range(lstm.num_layers):
            for name in ("bias_ih", "bias_hh"):
                getattr(lstm, f"{name}_l{k}")[lstm.hidden_size:2 * lstm.hidden_size] = value


assert not check_set_forget_bias(set_both_biases)
