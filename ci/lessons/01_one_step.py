# %% [markdown]
# # 01 · One step of a recurrent network
#
# A recurrent neural network (RNN) reads a sequence one element at a time and carries a **hidden state**
# from one step to the next: a vector that summarises what it has seen so far. Everything an RNN does is
# one small formula, applied again and again:
#
# $$H_t = \varphi\left(X_t W_{xh} + H_{t-1} W_{hh} + b\right)$$
#
# In this lesson you build that one step from scratch, then build `ScratchRNNCell`, a drop-in twin of
# PyTorch's `nn.RNNCell`, and check, with assertions that would fail if you were wrong, that the two agree
# number for number: same outputs, same gradients, weights moving freely between them with `load_state_dict`.
#
# **You should know:** matrix products and their shapes, PyTorch tensors, and what `loss.backward()` does.
# Nothing about RNNs yet.
#
# **Contents:** 1 · the formula and its shapes · 2 · the step from scratch · 3 · torch's `nn.RNNCell` and its
# weight layout · 4 · `ScratchRNNCell` · 5 · parity, values and gradients · 6 · one matmul instead
# of two · 7 · why tanh · 8 · play with the shapes · 9 · counting parameters · 10 · traps · 11 · exercises ·
# 12 · on a GPU · 13 · summary · solutions

# %% [markdown]
# ## Setup
# Every lesson starts the same way: imports, a fixed seed (so your numbers match the ones printed here),
# four decimals when printing tensors, and the device, used only by the GPU cell near the end.

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
# ## 1 · The formula, with every shape
#
# A sequence is a list of vectors read in order: a sentence read word by word (each word turned into a vector of
# $d$ numbers), a sensor giving $d$ readings every second, a melody note by note. We process $N$ sequences at
# once (a **batch**). At step $t$ each of them gives one input vector of $d$ features, so the inputs of the
# step form a matrix $X_t$ with one row per sequence. The hidden state has $h$ numbers per sequence.
#
# | symbol | shape | what it is |
# |---|---|---|
# | $X_t$ | [N, d] | the inputs at step $t$, one row per sequence in the batch |
# | $H_{t-1}$ | [N, h] | the hidden state from the previous step (zeros before the first step) |
# | $W_{xh}$ | [d, h] | input-to-hidden weights |
# | $W_{hh}$ | [h, h] | hidden-to-hidden weights: how the past feeds the present |
# | $b$ | [h] | a bias, added to every row (broadcast) |
# | $\varphi$ | — | a nonlinearity applied element by element: tanh (default) or ReLU |
# | $H_t$ | [N, h] | the new hidden state |
#
# The shapes fit together like this:
#
# $$\underbrace{X_t}_{[N,d]}\,\underbrace{W_{xh}}_{[d,h]} \;+\; \underbrace{H_{t-1}}_{[N,h]}\,\underbrace{W_{hh}}_{[h,h]}
# \;+\; \underbrace{b}_{[h]} \;\longrightarrow\; [N,h] \xrightarrow{\;\varphi\;} \underbrace{H_t}_{[N,h]}$$
#
# ![One RNN step: X_t and H_{t-1} are multiplied by their weights, summed with the bias, passed through tanh to give H_t, which feeds the next step](attachment:rnn_step.png)
#
# The same weights are used at every step; only $X_t$ and $H_{t-1}$ change. That reuse is what makes it
# *recurrent*.

# %% [markdown]
# ## 2 · The step from scratch
#
# We pick three **different** sizes, N = 3, d = 4, h = 5, so that any mix-up of dimensions shows up as a shape
# error instead of hiding. `check_shape` stops us the moment a tensor has the wrong shape. The weights are small
# random numbers (× 0.5 keeps tanh away from its flat ends; section 7 shows why that matters).

# %%
N, d, h = 3, 4, 5


def check_shape(tensor, shape):
    assert tuple(tensor.shape) == tuple(shape), f"expected shape {tuple(shape)}, got {tuple(tensor.shape)}"


def rnn_step(X, H_prev, W_xh, W_hh, b, phi=torch.tanh):
    """H_t = φ(X_t W_xh + H_{t-1} W_hh + b).  X [N, d], H_prev [N, h], W_xh [d, h], W_hh [h, h], b [h]."""
    return phi(X @ W_xh + H_prev @ W_hh + b)


X = torch.randn(N, d)
H_prev = torch.zeros(N, h)  # before the first step the state is all zeros
W_xh, W_hh, b = torch.randn(d, h) * 0.5, torch.randn(h, h) * 0.5, torch.zeros(h)

for name, term in [("X_t W_xh", X @ W_xh), ("H_{t-1} W_hh", H_prev @ W_hh), ("b", b)]:
    print(f"{name:<14} {tuple(term.shape)}")
H_t = rnn_step(X, H_prev, W_xh, W_hh, b)
check_shape(H_t, (N, h))
print(f"{'H_t':<14} {tuple(H_t.shape)}")
print(H_t)

# %% [markdown]
# Nothing magic happens in the matrix products. One entry of $H_t$, say row 0 and column 2, is a weighted sum
# written out with plain Python loops; it must equal the same entry of the matrix version.

# %%
H_prev = torch.randn(N, h)  # a non-zero state, so the W_hh term counts too
i, j = 0, 2
pre = sum(X[i, k] * W_xh[k, j] for k in range(d)) + sum(H_prev[i, m] * W_hh[m, j] for m in range(h)) + b[j]
by_hand = torch.tanh(pre)
by_matrix = rnn_step(X, H_prev, W_xh, W_hh, b)[i, j]
torch.testing.assert_close(by_hand, by_matrix)
print(f"H_t[{i}, {j}] by loops: {by_hand:.4f}   by matrices: {by_matrix:.4f}   ✓ equal")

# %% [markdown]
# The state is the network's **memory**. Feed the *same* input after two different histories (two different
# $H_{t-1}$) and the step gives two different results: what the network saw earlier changes how it reads the
# present. Three steps in a row, each feeding its $H_t$ to the next, are exactly what lesson 02 automates.

# %%
H_after_a = rnn_step(X, torch.zeros(N, h), W_xh, W_hh, b)  # history A: nothing seen yet
H_after_b = rnn_step(X, torch.ones(N, h), W_xh, W_hh, b)  # history B: a different past
print("same X_t, different H_{t-1} → same H_t?", torch.allclose(H_after_a, H_after_b))
H = torch.zeros(N, h)
for t, X_t in enumerate([X, 2 * X, -X], start=1):  # three steps: H_1, H_2, H_3
    H = rnn_step(X_t, H, W_xh, W_hh, b)
    print(f"H_{t}[0] = {H[0]}")

# %% [markdown]
# ## 3 · torch's `nn.RNNCell` and how it stores the weights
#
# `nn.RNNCell(input_size, hidden_size)` computes exactly one step. Let us look at its parameters. (It also keeps
# its settings as attributes: `cell.input_size`, `cell.hidden_size`, `cell.nonlinearity`.)

# %%
cell = nn.RNNCell(input_size=d, hidden_size=h)
print(cell)
for name, p in cell.named_parameters():
    print(f"  {name:<10} {tuple(p.shape)}")

# %% [markdown]
# Two differences from our formula, both only bookkeeping:
#
# 1. **Weights are stored transposed.** `weight_ih` is [h, d], the transpose of our $W_{xh}$ [d, h]; likewise
#    `weight_hh` is $W_{hh}^\top$. torch computes `x @ weight_ih.T` (the layout of `nn.Linear`: one row per output).
# 2. **Two biases.** torch adds `bias_ih` and `bias_hh`. Mathematically they are one bias $b$ = `bias_ih + bias_hh`;
#    torch keeps two so its layout matches cuDNN's (NVIDIA's library of fast GPU kernels for neural networks).
#
# | our name | shape | in torch | torch parameter's shape |
# |---|---|---|---|
# | $W_{xh}$ | [d, h] | `weight_ih.T` | `weight_ih`: [h, d] |
# | $W_{hh}$ | [h, h] | `weight_hh.T` | `weight_hh`: [h, h] |
# | $b$ | [h] | `bias_ih + bias_hh` | [h] and [h] |
#
# With that mapping our `rnn_step` reproduces `nn.RNNCell`. The comparison is an assertion
# (`torch.testing.assert_close`), so a wrong formula stops the notebook instead of printing a hopeful message.

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
    print(f"✓ {label:<40} matches, {how}")


with torch.no_grad():
    ours = rnn_step(X, H_prev, cell.weight_ih.T, cell.weight_hh.T, cell.bias_ih + cell.bias_hh)
    check("rnn_step with torch's weights", ours, cell(X, H_prev))
    check("hx omitted means zeros", cell(X), cell(X, torch.zeros(N, h)), atol=0.0, rtol=0.0)

# %% [markdown]
# ## 4 · `ScratchRNNCell`: a drop-in twin of `nn.RNNCell`
#
# Now the real thing: an `nn.Module` that takes the **same constructor arguments** as `nn.RNNCell`
# (`input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None`) and registers its
# parameters with **torch's names, shapes and order**. That is what lets `load_state_dict` copy weights in
# either direction: it matches parameters by name and checks their shapes.
#
# What each part does:
# - `nn.Parameter(...)` assigned to `self.weight_ih` registers a trainable tensor under the name `weight_ih`.
# - With `bias=False` torch *registers the biases as `None`*: they then appear in neither `parameters()` nor
#   `state_dict()`. `register_parameter("bias_ih", None)` does the same.
# - `reset_parameters` initialises like torch: every parameter drawn from the **uniform** distribution on
#   $[-1/\sqrt{h},\; 1/\sqrt{h}]$, a range that shrinks as the state grows, so the sums in the step stay of
#   moderate size and tanh starts out of its flat ends.
# - `forward(input, hx=None)` (torch's argument names) accepts what `nn.RNNCell` accepts: a batch [N, d] or a
#   single vector [d] (unbatched, with `hx` [h]), and `hx=None` meaning a zero state; it checks shapes and
#   says clearly what is wrong.
# - `extra_repr` only makes `print(module)` look like torch's.

# %%
class ScratchRNNCell(nn.Module):
    """H_t = φ(X_t W_xh + b_ih + H_{t-1} W_hh + b_hh), stored as torch stores it: weight_ih = W_xhᵀ [h, d]."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        super().__init__()
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.input_size, self.hidden_size, self.bias, self.nonlinearity = input_size, hidden_size, bias, nonlinearity
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(hidden_size, **kw))
            self.bias_hh = nn.Parameter(torch.empty(hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0  # (h = 0: nothing to draw)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, input, hx=None):
        if input.dim() not in (1, 2):
            raise ValueError(f"ScratchRNNCell: Expected input to be 1D or 2D, got {input.dim()}D instead")
        unbatched = input.dim() == 1
        X = input.unsqueeze(0) if unbatched else input  # [N, d]
        if X.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {X.shape[1]} expected {self.input_size}")
        if hx is None:
            H = torch.zeros(X.shape[0], self.hidden_size, dtype=X.dtype, device=X.device)
        else:
            expected = (self.hidden_size,) if unbatched else (X.shape[0], self.hidden_size)
            if tuple(hx.shape) != expected:
                kind = "an unbatched input [d]" if unbatched else f"a batch of {X.shape[0]}"
                raise RuntimeError(f"hx must have shape {expected} for {kind}, got {tuple(hx.shape)}")
            H = hx.unsqueeze(0) if unbatched else hx  # [N, h]
        pre = X @ self.weight_ih.T + H @ self.weight_hh.T  # X W_xh + H W_hh
        if self.bias:
            pre = pre + self.bias_ih + self.bias_hh
        H_new = torch.tanh(pre) if self.nonlinearity == "tanh" else torch.relu(pre)
        return H_new.squeeze(0) if unbatched else H_new

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        return s + (", bias=False" if not self.bias else "") + (", nonlinearity=relu" if self.nonlinearity == "relu" else "")

# %%
scratch = ScratchRNNCell(d, h)
print(scratch)
for name, p in scratch.named_parameters():
    print(f"  {name:<10} {tuple(p.shape)}")
assert [(n, p.shape) for n, p in scratch.named_parameters()] == [(n, p.shape) for n, p in cell.named_parameters()]
print("✓ same parameter names, shapes and order as nn.RNNCell")
for bias in (True, False):  # same seed → same initial numbers: same distribution, drawn in the same order
    torch.manual_seed(1)
    t_init = nn.RNNCell(d, h, bias=bias)
    torch.manual_seed(1)
    s_init = ScratchRNNCell(d, h, bias=bias)
    assert all(torch.equal(a, b) for a, b in zip(s_init.parameters(), t_init.parameters()))
print("✓ same seed, same initial values as nn.RNNCell, bit for bit: torch's initialisation")

# %% [markdown]
# ## 5 · Parity: values and gradients
#
# Copy torch's weights into the scratch cell with `load_state_dict` (the whole copy is one line, because the
# names match), run both on the same input and state, then backpropagate the same upstream gradient through
# both. We compare the output **and** the gradient with respect to the input, the state and every parameter:
# a forward pass can agree while a backward pass is wrong (for instance after an in-place edit).
#
# We use **float64**, where the two should agree to rounding (we ask for |Δ| ≤ 1e-12). `parity` returns how
# many tensors it compared.
#
# About `out.backward(upstream)`: `loss.backward()` needs a single number. Our output is a whole [N, h] matrix,
# so we pass an **upstream gradient** of the same shape, the gradient a loss further downstream would send back.
# `out.backward(upstream)` gives exactly the gradients of `(out * upstream).sum().backward()`. A random
# `upstream` weighs every output entry differently, so a mistake in any one of them shows.
#
# Why check gradients when the outputs agree? Our cell computes its gradients through its *own* operations
# (matmuls, additions, tanh), not torch's RNN kernel. A layer can be right forward and wrong backward, for
# example if it overwrites a tensor in place that autograd still needs, or detaches something by mistake.

# %%
def parity(torch_cell, scratch_cell, X, hx=None, **tol):
    """Run both cells forward and backward; assert the output and every gradient match. Return the count."""
    x_t, x_s = X.clone().requires_grad_(), X.clone().requires_grad_()
    h_t = h_s = None
    if hx is not None:
        h_t, h_s = hx.clone().requires_grad_(), hx.clone().requires_grad_()
    out_t, out_s = torch_cell(x_t, h_t), scratch_cell(x_s, h_s)
    torch.testing.assert_close(out_s, out_t, **tol, msg=lambda m: f"output differs: {m}")
    upstream = torch.randn_like(out_t)  # a random upstream gradient exercises every path
    out_t.backward(upstream)
    out_s.backward(upstream)
    pairs = [("input", x_s.grad, x_t.grad)] + ([("hx", h_s.grad, h_t.grad)] if hx is not None else [])
    torch_params = dict(torch_cell.named_parameters())
    pairs += [(name, p.grad, torch_params[name].grad) for name, p in scratch_cell.named_parameters()]
    for name, g_s, g_t in pairs:
        torch.testing.assert_close(g_s, g_t, **tol, msg=lambda m, name=name: f"gradient of {name} differs: {m}")
    return 1 + len(pairs)


EXACT = {"atol": 1e-12, "rtol": 0.0}  # float64: equal up to rounding
cell64 = nn.RNNCell(d, h, dtype=torch.float64)
scratch64 = ScratchRNNCell(d, h, dtype=torch.float64)
scratch64.load_state_dict(cell64.state_dict())  # torch -> scratch
X64, H64 = torch.randn(N, d, dtype=torch.float64), torch.randn(N, h, dtype=torch.float64)
n = parity(cell64, scratch64, X64, H64, **EXACT)
print(f"✓ float64: output and {n - 1} gradients (input, hx, 4 parameters) match nn.RNNCell, |Δ| ≤ 1e-12")

# %% [markdown]
# One configuration proves little. Here is every combination the constructor and the forward pass allow:
# both nonlinearities, with and without bias, batched [N, d] and unbatched [d] input, and `hx` given or
# omitted. For each, fresh random weights go **the other way too**: from the scratch cell into torch's.

# %%
print(f"{'nonlinearity':<13}{'bias':<7}{'input':<9}{'hx':<8}{'tensors compared':>17}")
for nonlinearity in ("tanh", "relu"):
    for bias in (True, False):
        for batched in (True, False):
            for give_hx in (True, False):
                kw = {"bias": bias, "nonlinearity": nonlinearity, "dtype": torch.float64}
                t_cell, s_cell = nn.RNNCell(d, h, **kw), ScratchRNNCell(d, h, **kw)
                t_cell.load_state_dict(s_cell.state_dict())  # scratch -> torch this time
                x = torch.randn(N, d, dtype=torch.float64) if batched else torch.randn(d, dtype=torch.float64)
                hx = torch.randn(*x.shape[:-1], h, dtype=torch.float64) if give_hx else None
                n = parity(t_cell, s_cell, x, hx, **EXACT)
                shape = str(list(x.shape))
                print(f"{nonlinearity:<13}{str(bias):<7}{shape:<9}{'given' if give_hx else 'zeros':<8}{n:>15} ✓")

# %% [markdown]
# And in **float32**, the dtype you train in, the two agree within `assert_close`'s float32 defaults
# (rtol 1.3e-6, atol 1e-5): not bit for bit, because the two compute the same sums in a different order.

# %%
cell32, scratch32 = nn.RNNCell(d, h), ScratchRNNCell(d, h)
scratch32.load_state_dict(cell32.state_dict())
n = parity(cell32, scratch32, torch.randn(N, d), torch.randn(N, h))
print(f"✓ float32: output and {n - 1} gradients match within the float32 defaults")

# %% [markdown]
# ## 6 · One matrix product instead of two
#
# The two products can be done as one: put $X_t$ and $H_{t-1}$ side by side, and stack $W_{xh}$ on top of
# $W_{hh}$:
#
# $$X_t W_{xh} + H_{t-1} W_{hh} = \underbrace{[X_t,\; H_{t-1}]}_{[N,\, d+h]}\;
# \underbrace{\begin{bmatrix} W_{xh} \\ W_{hh} \end{bmatrix}}_{[d+h,\, h]}$$
#
# Notation: $[A,\; B]$ puts matrices side by side (`torch.cat([A, B], dim=1)`); $[A;\; B]$, or the column
# above, stacks them on top of each other (`torch.cat([A, B], dim=0)`).
#
# Many textbooks write the RNN this way with column vectors, $h_t = \tanh(W\,[x_t; h_{t-1}] + b)$: their $W$ is
# [h, d + h], the transpose of our stacked matrix, and it is exactly torch's `torch.cat([weight_ih, weight_hh],
# dim=1)`. Rows or columns, it is the same step.

# %%
with torch.no_grad():
    W = torch.cat([cell.weight_ih.T, cell.weight_hh.T], dim=0)  # [d + h, h]
    XH = torch.cat([X, H_prev], dim=1)  # [N, d + h]
    check_shape(W, (d + h, h))
    check_shape(XH, (N, d + h))
    one_matmul = torch.tanh(XH @ W + cell.bias_ih + cell.bias_hh)
    check("[X, H] @ [W_xh; W_hh]", one_matmul, cell(X, H_prev))
    check("stacked W = cat([weight_ih, weight_hh], 1).T", W, torch.cat([cell.weight_ih, cell.weight_hh], dim=1).T,
          atol=0.0, rtol=0.0)

# %% [markdown]
# ## 7 · Why tanh?
#
# The state is fed back into the cell at every step. tanh keeps it in (−1, 1), whatever happens, so it cannot
# grow without bound. The price: where |x| is large, tanh is flat (it **saturates**), its slope is near zero,
# and gradients that pass through it almost vanish. ReLU never saturates for x > 0, but nothing stops the state
# from growing. (Sigmoid is drawn for comparison: it squashes into (0, 1). `nn.RNNCell` does not offer it; the
# LSTM and GRU of lessons 06–07 use it for their *gates*, numbers between 0 and 1 that act like valves.)

# %%
x = torch.linspace(-5, 5, 401, requires_grad=True)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for name, f in [("tanh", torch.tanh), ("sigmoid", torch.sigmoid), ("relu", torch.relu)]:
    y = f(x)
    (slope,) = torch.autograd.grad(y.sum(), x)
    axes[0].plot(x.detach(), y.detach(), label=name)
    axes[1].plot(x.detach(), slope, label=name)
for ax, title in zip(axes, ["φ(x)", "slope φ'(x)"]):
    ax.axvspan(-5, -2, color="grey", alpha=0.15)
    ax.axvspan(2, 5, color="grey", alpha=0.15)
    ax.set_title(title)
    ax.set_xlabel("x")
    ax.grid(alpha=0.3)
    ax.legend()
axes[0].set_ylim(-1.2, 2.2)
axes[1].text(3.5, 0.5, "tanh\nsaturated", ha="center", fontsize=9)
plt.tight_layout()
plt.show()
for v in (0.0, 1.0, 2.0, 3.0, 5.0):
    print(f"tanh'({v:.0f}) = 1 - tanh({v:.0f})² = {1 - math.tanh(v) ** 2:.4f}")

# %% [markdown]
# What bounded vs unbounded means over many steps: feed a state through the same $W_{hh}$ thirty times
# (no input, no bias). $W_{hh}$ is scaled so that its largest |eigenvalue| (its **spectral radius**) is 1.5: a
# purely linear recurrence $H \leftarrow H W_{hh}$ would then grow roughly like $1.5^t$. The tanh state stays
# inside (−1, 1); the ReLU state, which only clips negative entries, still grows geometrically. Lesson 03 shows
# the same effect on gradients.

# %%
torch.manual_seed(1)
W_big = torch.randn(h, h, dtype=torch.float64)
W_big *= 1.5 / torch.linalg.eigvals(W_big).abs().max()  # spectral radius 1.5
H_tanh = H_relu = torch.rand(1, h, dtype=torch.float64)
for step in range(1, 31):
    H_tanh, H_relu = torch.tanh(H_tanh @ W_big), torch.relu(H_relu @ W_big)
    if step == 20:
        H_relu_20 = H_relu
    if step % 10 == 0:
        print(f"step {step:>2}: max|H| tanh = {H_tanh.abs().max():.4f}   relu = {H_relu.abs().max():.3e}")
assert H_tanh.abs().max() < 1 and H_relu.abs().max() > 100
print(f"ReLU growth per step over the last 10 steps: ×{(H_relu.norm() / H_relu_20.norm()) ** 0.1:.2f}")

# %% [markdown]
# ## 8 · Play: the shapes of one step
#
# Change the batch size, input size, hidden size and nonlinearity. The drawing shows every matrix of the step
# **to scale** (one square per number), and the printout lists each shape, the parameter count, and a check
# that `nn.RNNCell` and `ScratchRNNCell` agree at that size. Try to predict each shape before you look. Try a
# size of 0, and `sigmoid`, too.

# %%
def draw_step(N, d, h):
    """Draw X [N,d]·W_xh [d,h] + H [N,h]·W_hh [h,h] + b [h] → H_t [N,h], one small square per number."""
    # Labels use Unicode subscripts, not $…$ mathtext: matplotlib's mathtext parser has failed intermittently
    # inside widget callbacks (ValueError: ParseException), seen in this course's browser test.
    parts = [("Xₜ", N, d, "#cfe2f3"), "·", ("Wₓₕ", d, h, "#fce5cd"), "+", ("Hₜ₋₁", N, h, "#d9ead3"), "·",
             ("Wₕₕ", h, h, "#fce5cd"), "+", ("b", 1, h, "#fce5cd"), "→", ("Hₜ", N, h, "#d9ead3")]
    top = max(N, d, h)
    gap = max(1.8, 0.22 * top)
    fig, ax = plt.subplots(figsize=(11, 3.2))
    x = 0.0
    for part in parts:
        if isinstance(part, str):  # an operator between two matrices
            ax.text(x + gap / 2, top / 2, part, ha="center", va="center", fontsize=16)
            x += gap
            continue
        label, rows, cols, color = part
        y = (top - rows) / 2
        ax.add_patch(plt.Rectangle((x, y), cols, rows, fc=color, ec="black", lw=1))
        for k in range(1, cols):  # the grid: one square per number
            ax.plot([x + k, x + k], [y, y + rows], color="grey", lw=0.3)
        for k in range(1, rows):
            ax.plot([x, x + cols], [y + k, y + k], color="grey", lw=0.3)
        shape = f"[{cols}]" if label == "b" else f"[{rows}, {cols}]"
        ax.text(x + cols / 2, y - 0.08 * top, f"{label}\n{shape}", ha="center", va="top")
        x += cols
    ax.set_xlim(-0.5, x + 0.5)
    ax.set_ylim(-0.5 * top, top * 1.05)
    ax.set_aspect("equal")
    ax.axis("off")
    plt.show()


def show_step(batch=3, input_size=4, hidden_size=5, nonlinearity="tanh"):
    """Widget callback: print the shapes of one step and draw them. Returns the shapes, or None if invalid."""
    for name, value in [("batch", batch), ("input_size", input_size), ("hidden_size", hidden_size)]:
        if value < 1:
            print(f"⚠ {name} = {value}: torch accepts a size of 0, but then there is nothing to compute "
                  f"(an empty {'batch' if name == 'batch' else 'vector'}). Choose at least 1.")
            return None
    try:
        torch_cell = nn.RNNCell(input_size, hidden_size, nonlinearity=nonlinearity)
        torch_cell(torch.zeros(batch, input_size))  # torch only checks the nonlinearity when it runs
    except RuntimeError as err:
        print(f"⚠ nn.RNNCell(nonlinearity={nonlinearity!r}) fails on its first call with: {err}")
        print("  nn.RNNCell supports only 'tanh' and 'relu' (sigmoid lives in the gates of LSTM and GRU).")
        return None
    scratch_cell = ScratchRNNCell(input_size, hidden_size, nonlinearity=nonlinearity)
    scratch_cell.load_state_dict(torch_cell.state_dict())
    x, hx = torch.randn(batch, input_size), torch.randn(batch, hidden_size)
    with torch.no_grad():
        out = scratch_cell(x, hx)
        torch.testing.assert_close(out, torch_cell(x, hx))
    shapes = {"X_t": (batch, input_size), "W_xh = weight_ih.T": (input_size, hidden_size),
              "H_{t-1}": (batch, hidden_size), "W_hh = weight_hh.T": (hidden_size, hidden_size),
              "b = bias_ih + bias_hh": (hidden_size,), "H_t": tuple(out.shape)}
    for name, shape in shapes.items():
        print(f"{name:<22} {list(shape)}")
    params = sum(p.numel() for p in torch_cell.parameters())
    print(f"parameters: {params} (h·d + h·h + 2h)   ✓ ScratchRNNCell equals nn.RNNCell ({nonlinearity})")
    draw_step(batch, input_size, hidden_size)
    return {**shapes, "params": params}

# %% [markdown]
# The widget (move the sliders; it redraws each time):

# %%
# NBVAL_IGNORE_OUTPUT
step_ui = widgets.interactive(
    show_step,
    batch=widgets.IntSlider(value=3, min=0, max=16, description="batch N"),
    input_size=widgets.IntSlider(value=4, min=0, max=24, description="input d"),
    hidden_size=widgets.IntSlider(value=5, min=0, max=24, description="hidden h"),
    nonlinearity=widgets.Dropdown(options=["tanh", "relu", "sigmoid"], value="tanh", description="φ"),
)
display(step_ui)

# %% [markdown]
# The same callback, called in ordinary cells: an error inside a widget only shows in the widget's output
# area, where it can hide; in a plain cell it stops the notebook. The defaults, the smallest and largest
# sizes, and the invalid settings.

# %%
result = show_step()
assert result["H_t"] == (3, 5) and result["params"] == 55

# %%
assert show_step(1, 1, 1, "relu")["params"] == 4
assert show_step(16, 24, 24, "tanh")["H_t"] == (16, 24)
assert show_step(3, 0, 5) is None
assert show_step(3, 4, 5, "sigmoid") is None

# %% [markdown]
# ## 9 · Counting parameters
#
# $W_{xh}$ has $h\cdot d$ numbers, $W_{hh}$ has $h\cdot h$, and the two biases $2h$:
#
# $$\#\text{params} = h\,d + h^2 + 2h = h\,(d + h + 2) \qquad (\text{without bias: } h\,(d + h))$$
#
# The formula is checked against `sum(p.numel() for p in module.parameters())` for both cells.

# %%
def rnn_cell_params(d, h, bias=True):
    return h * (d + h + (2 if bias else 0))


for d_, h_, bias in [(4, 5, True), (10, 20, True), (10, 20, False), (1027, 256, True)]:
    counts = {sum(p.numel() for p in m.parameters()) for m in (nn.RNNCell(d_, h_, bias=bias), ScratchRNNCell(d_, h_, bias=bias))}
    assert counts == {rnn_cell_params(d_, h_, bias)}, counts
    print(f"d={d_:<5} h={h_:<4} bias={str(bias):<6} → {rnn_cell_params(d_, h_, bias):>7,} parameters ✓")

# %% [markdown]
# ## 10 · Traps
#
# Each of these has caught real people. Each cell shows the trap happening.
#
# **Trap 1: forgetting that torch stores the transpose.** Using `weight_ih` as if it were $W_{xh}$ fails loudly
# when d ≠ h …

# %%
try:
    X @ cell.weight_ih  # wrong on purpose: [N, d] @ [h, d]
except RuntimeError as err:
    print("RuntimeError:", err)

# %% [markdown]
# … but when d = h it runs and gives **wrong numbers** silently. Only a comparison with torch catches it:

# %%
square = nn.RNNCell(5, 5)
x5, h5 = torch.randn(N, 5), torch.randn(N, 5)
with torch.no_grad():
    wrong = torch.tanh(x5 @ square.weight_ih + h5 @ square.weight_hh + square.bias_ih + square.bias_hh)
    try:
        torch.testing.assert_close(wrong, square(x5, h5))
    except AssertionError as err:
        print("caught by assert_close:", str(err).splitlines()[0])

# %% [markdown]
# **Trap 2: `nonlinearity` is only checked when the cell runs.** `nn.RNNCell(…, nonlinearity="sigmoid")` is
# built without complaint and fails at its first call. `ScratchRNNCell` refuses at construction, where the
# mistake is.

# %%
bad = nn.RNNCell(d, h, nonlinearity="sigmoid")
print("nn.RNNCell built:", bad)
for make in (lambda: bad(X), lambda: ScratchRNNCell(d, h, nonlinearity="sigmoid")):
    try:
        make()
    except (RuntimeError, ValueError) as err:
        print(f"{type(err).__name__}: {err}")

# %% [markdown]
# **Trap 3: one bias is the same maths, but not the same module.** A cell with a single bias `b = bias_ih +
# bias_hh` computes the same outputs, yet torch's weights will not load into it: `load_state_dict` matches by
# **name**.

# %%
class OneBiasCell(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.weight_ih, self.weight_hh = nn.Parameter(torch.empty(h, d)), nn.Parameter(torch.empty(h, h))
        self.bias = nn.Parameter(torch.empty(h))

    def forward(self, x, hx):
        return torch.tanh(x @ self.weight_ih.T + hx @ self.weight_hh.T + self.bias)


one_bias = OneBiasCell(d, h)
with torch.no_grad():  # copy by hand, folding the two biases into one
    one_bias.weight_ih.copy_(cell.weight_ih), one_bias.weight_hh.copy_(cell.weight_hh)
    one_bias.bias.copy_(cell.bias_ih + cell.bias_hh)
    check("one bias, same outputs", one_bias(X, H_prev), cell(X, H_prev))
try:
    OneBiasCell(d, h).load_state_dict(cell.state_dict())
except RuntimeError as err:
    print(str(err).replace("\n\t", " "))

# %% [markdown]
# **Trap 4: unbatched input gives unbatched output, and `hx` must match it.** A single vector [d] gives a state
# [h] (not [1, h]), and its `hx` must be [h] too; a batched `hx` with an unbatched input is an error. Compare
# torch's message with the scratch cell's.

# %%
x1 = torch.randn(d)
print("input", list(x1.shape), "with hx", [h], "→ output", list(cell(x1, torch.zeros(h)).shape))
for module in (cell, scratch):
    try:
        module(x1, torch.zeros(2, h))
    except RuntimeError as err:
        print(f"{type(module).__name__}: {err}")

# %% [markdown]
# ## 11 · Exercises
#
# Each exercise has a checker that runs your code against torch and says **what** is wrong, not just that
# something is. Replace the `...`, run the cell, then run the checker cell below it (its code is collapsed, so
# you read only its verdict; click the cell to see how it checks). Solutions are at the very end of the
# notebook, collapsed too; try first.
#
# **Exercise 1: three steps by hand.** Given an `nn.RNNCell` and three inputs `xs` of shape [3, N, d] (step,
# batch, features), return the state after the third step, $H_3$, starting from a zero state. Call `cell` once
# per step; what does each step need from the one before?

# %%
def three_steps(cell, xs):
    ...  # your code here: return H_3 of shape [N, h]

# %% hidden
def check_three_steps(fn):
    """Compare fn with a correct unrolling; diagnose the usual mistakes. Returns True/False."""
    with torch.random.fork_rng():  # private random numbers: your own seed is left alone
        torch.manual_seed(3)
        c, xs = nn.RNNCell(4, 3), torch.randn(3, 2, 4)
    with torch.no_grad():
        states = [torch.zeros(2, 3)]
        for x_t in xs:
            states.append(c(x_t, states[-1]))
        try:
            got = fn(c, xs)
        except Exception as err:  # show the learner's error instead of raising it
            print(f"✗ three_steps raised {type(err).__name__}: {err}")
            return False
        if got is None:
            print("✗ not done yet: three_steps returned None.")
            return False
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != (2, 3):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            print(f"✗ expected H_3 of shape (2, 3) = [N, h], got {shape}. Return only the last state.")
            return False
        hints = [(c(xs[2]), "each step must get the previous state: cell(x_t, H), not cell(x_t)"),
                 (states[1], "that is H_1: loop over all three steps"),
                 (states[2], "that is H_2: one step is missing"),
                 (c(xs[0], c(xs[1], c(xs[2]))), "the steps run in order x_1, x_2, x_3, not backwards")]
        if not torch.allclose(got, states[3], atol=1e-6):
            hint = next((msg for wrong, msg in hints if torch.allclose(got, wrong, atol=1e-6)), "feed each H_t to the next step")
            print(f"✗ wrong values. Hint: {hint}.")
            return False
    print("✓ three_steps returns H_3: you have unrolled an RNN (lesson 02 does this for whole sequences).")
    return True


exercise_1_passed = check_three_steps(three_steps)

# %% [markdown]
# **Exercise 2: torch's cell by hand.** Compute `nn.RNNCell`'s output using only its parameters (`cell.weight_ih`,
# `cell.weight_hh`, `cell.bias_ih`, `cell.bias_hh`), its setting `cell.nonlinearity` and plain tensor
# operations; do not call `cell`.

# %%
def step_with_torch_weights(cell, X, H):
    ...  # your code here: return H_t of shape [N, h]

# %% hidden
def check_step(fn):
    """Compare fn with nn.RNNCell for tanh and relu; diagnose the usual mistakes. Returns True/False."""
    for nonlinearity in ("tanh", "relu"):
        with torch.random.fork_rng():
            torch.manual_seed(5)
            c, x, hx = nn.RNNCell(4, 3, nonlinearity=nonlinearity), torch.randn(2, 4), torch.randn(2, 3)
        with torch.no_grad():
            want = c(x, hx)
            try:
                got = fn(c, x, hx)
            except Exception as err:
                hint = "\n  Hint: weight_ih is stored as [h, d]: use weight_ih.T." if "shape" in str(err) else ""
                print(f"✗ ({nonlinearity}) your step raised {type(err).__name__}: {err}{hint}")
                return False
            if got is None:
                print("✗ not done yet: step_with_torch_weights returned None.")
                return False
            if tuple(got.shape) != tuple(want.shape):
                print(f"✗ ({nonlinearity}) shape {tuple(got.shape)}, expected {tuple(want.shape)}.")
                return False
            pre = x @ c.weight_ih.T + hx @ c.weight_hh.T
            act = torch.tanh if nonlinearity == "tanh" else torch.relu
            hints = [(act(pre + c.bias_ih), "you left out bias_hh: torch adds both biases"),
                     (act(pre + c.bias_hh), "you left out bias_ih: torch adds both biases"),
                     (act(pre), "you left out both biases"),
                     (act(x @ c.weight_ih.T + hx @ c.weight_hh + c.bias_ih + c.bias_hh), "weight_hh needs .T too"),
                     (torch.tanh(pre + c.bias_ih + c.bias_hh), "use the cell's nonlinearity (cell.nonlinearity), not always tanh")]
            if not torch.allclose(got, want, atol=1e-5):
                hint = next((msg for wrong, msg in hints if torch.allclose(got, wrong, atol=1e-5)), "compare with section 3")
                print(f"✗ ({nonlinearity}) values differ from nn.RNNCell. Hint: {hint}.")
                return False
    print("✓ your step matches nn.RNNCell, with tanh and with relu.")
    return True


exercise_2_passed = check_step(step_with_torch_weights)

# %% [markdown]
# **Exercise 3: read a model's size backwards.** A colleague's `nn.RNNCell` has `hidden_size=32` and, says
# `sum(p.numel() …)`, 2,176 parameters. What is its `input_size`? Write the general answer: given the
# parameter count, the hidden size and whether it has biases, return the input size (an `int`). Start from the
# formula of section 9 and solve it for $d$.

# %%
def input_size_from(num_params, hidden_size, bias=True):
    ...  # your code here: return an int

# %% hidden
def check_input_size(fn):
    """Try fn on real cells of several sizes; diagnose the usual algebra slips. Returns True/False."""
    for d_, h_, bias in [(32, 32, True), (4, 5, True), (1027, 256, True), (10, 20, False), (1, 1, True)]:
        count = sum(p.numel() for p in nn.RNNCell(d_, h_, bias=bias).parameters())
        try:
            got = fn(count, h_, bias=bias)
        except Exception as err:
            print(f"✗ input_size_from({count}, {h_}, bias={bias}) raised {type(err).__name__}: {err}")
            return False
        if got is None:
            print("✗ not done yet: input_size_from returned None.")
            return False
        if got != d_:
            slips = {count // h_ - h_: "you forgot the two bias vectors (2h numbers)",
                     count // h_ - h_ - 1: "there are two bias vectors, not one",
                     count // h_ - 2: "weight_hh is [h, h]: subtract h as well"}
            hint = slips.get(got, "count = h·(d + h + 2) with biases, h·(d + h) without; solve for d") if bias else \
                "without bias, count = h·(d + h)"
            print(f"✗ input_size_from({count}, {h_}, bias={bias}) = {got}, expected {d_}. Hint: {hint}.")
            return False
        if not isinstance(got, int):
            print(f"✗ right value, but return an int (got {type(got).__name__}): nn.RNNCell needs an int.")
            return False
    print("✓ input_size_from is right for every size tried (the colleague's cell takes 32 inputs).")
    return True


exercise_3_passed = check_input_size(input_size_from)

# %% [markdown]
# ## 12 · On a GPU
#
# The same parity check, on CUDA when there is one. In float64 the comparison is as tight as on the CPU. In
# float32 we state the precision: plain CUDA matmuls use full float32 by default
# (`torch.backends.cuda.matmul.allow_tf32 = False`); with TF32 switched on they would differ by ~1e-3. On a
# machine without a GPU this cell prints one line and steps aside.

# %%
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    saved_tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False  # compare in full float32
    for dtype, tol in [(torch.float64, EXACT), (torch.float32, {})]:
        t_cell = nn.RNNCell(d, h, device=DEVICE, dtype=dtype)
        s_cell = ScratchRNNCell(d, h, device=DEVICE, dtype=dtype)
        s_cell.load_state_dict(t_cell.state_dict())
        xg = torch.randn(64, d, device=DEVICE, dtype=dtype)
        n = parity(t_cell, s_cell, xg, torch.randn(64, h, device=DEVICE, dtype=dtype), **tol)
        print(f"✓ {torch.cuda.get_device_name()} {dtype}: output and {n - 1} gradients match "
              f"({'|Δ| ≤ 1e-12' if tol else 'float32 defaults, TF32 off'})")
    torch.backends.cuda.matmul.allow_tf32 = saved_tf32
else:
    print("No GPU here: skipped (this cell repeats the parity check on CUDA when a GPU is present).")

# %% [markdown]
# ## 13 · Summary
#
# | | |
# |---|---|
# | the step | $H_t = \varphi(X_t W_{xh} + H_{t-1} W_{hh} + b)$, φ = tanh (or ReLU) |
# | shapes | $X_t$ [N, d] · $W_{xh}$ [d, h] + $H_{t-1}$ [N, h] · $W_{hh}$ [h, h] + b [h] → $H_t$ [N, h] |
# | torch | `nn.RNNCell(input_size=d, hidden_size=h, bias=True, nonlinearity="tanh")`, called as `cell(X, hx)` |
# | torch's layout | `weight_ih` = $W_{xh}^\top$ [h, d], `weight_hh` = $W_{hh}^\top$ [h, h], $b$ = `bias_ih + bias_hh` |
# | inputs | batched [N, d] or unbatched [d]; `hx` omitted = zeros |
# | one matmul | $[X_t, H_{t-1}]\,[W_{xh}; W_{hh}]$, with the stacked matrix `cat([weight_ih, weight_hh], 1).T` |
# | parameters | $h\,(d + h + 2)$; without bias $h\,(d + h)$ |
# | why tanh | bounded state in (−1, 1); saturates (slope → 0) for large inputs |
# | parity check | `load_state_dict` both ways; `assert_close` on outputs and all gradients, float64 |
#
# **Next:** lesson 02 runs this step over a whole sequence: `nn.RNN` and `ScratchRNN`.

# %% [markdown]
# ## Solutions
#
# Collapsed so they stay out of the way: click the cell to expand. Each solution is passed through its
# checker (and must pass); then a deliberately wrong answer shows what the checker says.

# %% solution
def three_steps_solution(cell, xs):
    H = torch.zeros(xs.shape[1], cell.hidden_size)
    for x_t in xs:  # each step feeds its state to the next
        H = cell(x_t, H)
    return H


def step_solution(cell, X, H):
    pre = X @ cell.weight_ih.T + H @ cell.weight_hh.T + cell.bias_ih + cell.bias_hh
    return torch.tanh(pre) if cell.nonlinearity == "tanh" else torch.relu(pre)


def input_size_from_solution(num_params, hidden_size, bias=True):
    # num_params = h·(d + h + 2) with biases  →  d = num_params / h − h − 2
    return num_params // hidden_size - hidden_size - (2 if bias else 0)


assert check_three_steps(three_steps_solution)
assert check_step(step_solution)
assert check_input_size(input_size_from_solution)

# %% solution
# What the checkers say to three common mistakes:
assert not check_three_steps(lambda c, xs: c(xs[2]))
assert not check_step(lambda c, X, H: torch.tanh(X @ c.weight_ih.T + H @ c.weight_hh.T + c.bias_ih))
assert not check_input_size(lambda n, h, bias=True: n // h - h)
