# %% [markdown]
# # 09 · Which cell remembers? RNN, LSTM and GRU over long distances
#
# *"The **keys** to the old cabinet in my grandmother's hall **are** …"*: to write *are* and not *is*, a language
# model must still know, eight words later, that the subject was plural. A negation at the start of a long review, a
# bracket opened a page ago: the same problem. Plain RNNs fail at it; LSTMs and GRUs were built to fix it.
#
# This lesson tests that promise on the purest such task: **say which token a sequence started with**, after T − 1
# tokens of noise. You train an RNN, an LSTM and a GRU of the same size, measure the gradient that reaches the first
# token, and write the fix that makes the gated cells work: **chrono initialisation**, gates that start open.
#
# **You should know:** lesson 03 (training, vanishing gradients), lesson 06 (the LSTM step), lesson 07 (the GRU step).

# %% [markdown]
# ## Setup
# Imports, a seed, four decimals, and the device (only the GPU cell at the end uses it). Everything runs in
# **float64**. In practice you train in float32; float64 here makes the scratch-vs-torch checks exact and runs
# comparable number for number (how far, in the note on reproducibility after section 6).

# %%
import contextlib
import copy
import math
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F
from IPython.display import display
from matplotlib.ticker import FuncFormatter, NullFormatter

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # only the GPU cell uses it
F64 = torch.float64

# %% [markdown]
# ## 1 · The task: recall the first token
#
# A sequence starts with one of K = 4 **class** tokens, A B C D, then T − 1 **noise** tokens from w x y z. After all
# T tokens the model must name the class. Nothing after step 1 helps. Guessing scores **1/K = 0.25**: that is the
# line to beat, not 0.
#
# Tokens are one-hot, d = 8: `x` is [T, N, 8] (sequence first, as in lessons 02–08), `y` [N] holds classes 0…3.
# Each batch comes from its own `torch.Generator`, so a run sees the same data whatever ran before it.

# %%
K, NOISE = 4, 4  # 4 classes (A B C D) and 4 noise symbols (w x y z)
D_IN = K + NOISE  # one-hot input size d = 8
SYMBOLS = "ABCDwxyz"
CHANCE = 1 / K


def make_batch(T, N, gen):
    """x [T, N, D_IN] one-hot float32, y [N]: the class of the first token, then T − 1 noise tokens."""
    y = torch.randint(0, K, (N,), generator=gen)  # [N] the class to remember
    noise = torch.randint(K, K + NOISE, (T - 1, N), generator=gen)  # [T − 1, N] symbols w x y z
    tokens = torch.cat([y[None], noise])  # [T, N]: the class first
    return F.one_hot(tokens, D_IN).float(), y


x_demo, y_demo = make_batch(12, 3, torch.Generator().manual_seed(0))
print(f"x {list(x_demo.shape)} (T, N, d), y {list(y_demo.shape)} (N); chance accuracy 1/K = {CHANCE:.2f}")
for n in range(3):
    print("  " + " ".join(SYMBOLS[i] for i in x_demo[:, n].argmax(-1)), " →  answer", SYMBOLS[y_demo[n]])
tokens_demo = x_demo.argmax(-1)  # [T, N] symbol indices
assert torch.equal(tokens_demo[0], y_demo) and (tokens_demo[1:] >= K).all(), "the class must come first, noise after"

# %% [markdown]
# ## 2 · Recap: the two gated cells
#
# Lessons 06 and 07 in two lines (x [N, d], $H$ and $C$ [N, h], torch's block order):
#
# | cell | one step |
# |---|---|
# | LSTM | $A = x W_{ih}^\top + b_{ih} + H W_{hh}^\top + b_{hh}$ [N, 4h] → blocks $i, f, g, o$; $\;C' = \sigma(f) \odot C + \sigma(i) \odot \tanh(g)$; $\;H' = \sigma(o) \odot \tanh(C')$ |
# | GRU | $[x_r \mid x_z \mid x_n] = x W_{ih}^\top + b_{ih}$, $[h_r \mid h_z \mid h_n] = H W_{hh}^\top + b_{hh}$; $\;r = \sigma(x_r + h_r)$, $z = \sigma(x_z + h_z)$; $\;n = \tanh(x_n + r \odot h_n)$; $\;H' = (1 - z) \odot n + z \odot H$ |
#
# What this lesson needs: at every step the LSTM's memory $C$ is **multiplied by $\sigma(f)$**, and the GRU **keeps
# the fraction $z$** of its state. The collapsed cell re-states lesson 06's `lstm_step`, lesson 07's `gru_step` and
# the course's `parity`, builds one-layer `ScratchLSTM` and `ScratchGRU` on them, and checks them against torch.

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


def lstm_step(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None):
    """x [N, d], h [N, H_out], c [N, H] → (h', c'). Gate blocks in torch's order i, f, g, o."""
    i, f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, -1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return (h if w_hr is None else F.linear(h, w_hr)), c


def gru_step(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """x [N, d], h [N, H] → h'. Blocks r, z, n; r multiplies (h W_hnᵀ + b_hn), as torch does."""
    x_r, x_z, x_n = F.linear(x, w_ih, b_ih).chunk(3, -1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, -1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


def recap_layer(module, gates, input_size, hidden_size, flags, device, dtype):
    """Check the constructor arguments (this recap runs one layer, one direction, biases, sequence first; lesson 08
    does it all) and register torch's four parameters with torch's init U(−1/√h, 1/√h)."""
    name = type(module).__name__
    for arg, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name}: {arg} must be a positive int, got {value!r}")
    for arg, value, supported in flags:
        kind = bool if isinstance(supported, bool) else int if isinstance(supported, int) else (int, float)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise TypeError(f"{name}: {arg} must be a {'bool' if kind is bool else 'an int' if kind is int else 'number'}, got {value!r}")
        if value != supported:
            raise NotImplementedError(f"{name}: {arg}={value!r} is not in this recap (it runs {arg}={supported!r}); "
                                      "lesson 08 builds the complete layer")
    kw = {"device": device, "dtype": dtype}
    module.input_size, module.hidden_size = input_size, hidden_size
    module.weight_ih_l0 = nn.Parameter(torch.empty(gates * hidden_size, input_size, **kw))
    module.weight_hh_l0 = nn.Parameter(torch.empty(gates * hidden_size, hidden_size, **kw))
    module.bias_ih_l0 = nn.Parameter(torch.empty(gates * hidden_size, **kw))
    module.bias_hh_l0 = nn.Parameter(torch.empty(gates * hidden_size, **kw))
    for p in module.parameters():
        nn.init.uniform_(p, -1.0 / math.sqrt(hidden_size), 1.0 / math.sqrt(hidden_size))


def recap_inputs(module, X, hx, n_states):
    """Refuse clearly what the recap does not take; return X [T, N, d] and the n_states initial states [N, h]."""
    name, h, w = type(module).__name__, module.hidden_size, module.weight_ih_l0
    if not torch.is_tensor(X):
        raise TypeError(f"{name}: input must be a tensor [T, N, input_size], got {type(X).__name__} "
                        "(packed input: lesson 08)")
    if X.dim() != 3:
        raise ValueError(f"{name}: input must be 3-D [T, N, input_size], got shape {list(X.shape)} "
                         "(unbatched input: lesson 08)")
    T, N, d = X.shape
    if d != module.input_size or T == 0 or N == 0:
        raise ValueError(f"{name}: input must be [T ≥ 1, N ≥ 1, input_size = {module.input_size}], got {list(X.shape)}")
    if X.dtype != w.dtype:
        raise ValueError(f"{name}: input dtype {X.dtype} does not match the weights' dtype {w.dtype}")
    if hx is None:
        return X, [X.new_zeros(N, h)] * n_states
    states = hx if n_states == 2 else (hx,)
    if not (isinstance(states, tuple) and len(states) == n_states and all(torch.is_tensor(s) for s in states)):
        raise TypeError(f"{name}: hx must be {'the pair (h0, c0)' if n_states == 2 else 'a tensor h0'}, got {type(hx).__name__}")
    for s, s_name in zip(states, ("h0", "c0")):
        if tuple(s.shape) != (1, N, h) or s.dtype != w.dtype:
            raise ValueError(f"{name}: {s_name} must be [1, {N}, {h}] {w.dtype}, got {list(s.shape)} {s.dtype}")
    return X, [s[0] for s in states]


class ScratchLSTM(nn.Module):
    """One layer of nn.LSTM on lstm_step: X [T, N, d] → output [T, N, h], (h_n, c_n) each [1, N, h]."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        flags = (("num_layers", num_layers, 1), ("bias", bias, True), ("batch_first", batch_first, False),
                 ("dropout", dropout, 0.0), ("bidirectional", bidirectional, False), ("proj_size", proj_size, 0))
        recap_layer(self, 4, input_size, hidden_size, flags, device, dtype)

    def forward(self, X, hx=None):
        X, (H, C) = recap_inputs(self, X, hx, 2)
        states = []
        for x in X:
            H, C = lstm_step(x, H, C, self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0)
            states.append(H)
        return torch.stack(states), (H[None], C[None])


class ScratchGRU(nn.Module):
    """One layer of nn.GRU on gru_step: X [T, N, d] → output [T, N, h], h_n [1, N, h]."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__()
        flags = (("num_layers", num_layers, 1), ("bias", bias, True), ("batch_first", batch_first, False),
                 ("dropout", dropout, 0.0), ("bidirectional", bidirectional, False))
        recap_layer(self, 3, input_size, hidden_size, flags, device, dtype)

    def forward(self, X, hx=None):
        X, (H,) = recap_inputs(self, X, hx, 1)
        states = []
        for x in X:
            H = gru_step(x, H, self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0)
            states.append(H)
        return torch.stack(states), H[None]


@contextlib.contextmanager
def one_thread():
    """Inside the block torch computes on one CPU thread (the same sums in the same order anywhere)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def check_recap(device="cpu"):
    """ScratchLSTM = nn.LSTM and ScratchGRU = nn.GRU in float64 (T = 5, N = 3, d = 4, h = 6, all different), given
    h0 (and c0): every output and gradient, |Δ| ≤ 1e-12. Returns the number of tensors compared per cell."""
    counts = []
    for scratch_cls, twin_cls in ((ScratchLSTM, nn.LSTM), (ScratchGRU, nn.GRU)):
        torch.manual_seed(1)
        twin = twin_cls(4, 6, dtype=F64, device=device)
        mine = scratch_cls(4, 6, dtype=F64, device=device)
        mine.load_state_dict(twin.state_dict())
        X, h0, c0 = (torch.randn(*shape, dtype=F64, device=device) for shape in ((5, 3, 4), (1, 3, 6), (1, 3, 6)))
        counts.append(parity(mine, twin, X, (h0, c0) if twin_cls is nn.LSTM else h0, atol=1e-12, rtol=0.0))
    return counts


n_lstm, n_gru = check_recap()
print(f"✓ ScratchLSTM = nn.LSTM ({n_lstm} tensors: output, h_n, c_n and every gradient), ScratchGRU = nn.GRU "
      f"({n_gru}), float64, |Δ| ≤ 1e-12")
try:
    ScratchGRU(8, 6)(torch.zeros(5, 8))  # unbatched [T, d]: the recap refuses instead of guessing
except ValueError as err:
    print(f"✓ what the recap does not do, it refuses: {err}")

# %% [markdown]
# ## 3 · Three models of the same size
#
# The model reads the sequence and puts a linear **head** on the last state $H_T$ [N, h]: K scores, [N, K]. A fair
# comparison gives each cell about the **same number of parameters**, not the same h: an LSTM has 4 blocks of
# weights, a GRU 3, an RNN 1. With h = 27, 12 and 14 each model has about 1,100.

# %%
class Recall(nn.Module):
    """A recurrent layer and a linear head on its last state: x [T, N, d] → logits [N, K]."""

    def __init__(self, rnn):
        super().__init__()
        w = rnn.weight_ih_l0
        self.rnn, self.head = rnn, nn.Linear(rnn.hidden_size, K, device=w.device, dtype=w.dtype)

    def forward(self, x):
        output, _ = self.rnn(x)  # [T, N, h]
        return self.head(output[-1])  # H_T [N, h] → logits [N, K]


CELLS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
HIDDEN = {"RNN": 27, "LSTM": 12, "GRU": 14}  # about the same number of parameters


def n_params(model):
    return sum(p.numel() for p in model.parameters())


for cell, cls in CELLS.items():
    m = Recall(cls(D_IN, HIDDEN[cell]))
    print(f"{cell:<4} h = {HIDDEN[cell]:>2}: {n_params(m.rnn):>5,} in the recurrent layer + {n_params(m.head):>3} "
          f"in the head = {n_params(m):,} parameters")


def make_model(cell, T, seed, memory, hidden=None, dtype=F64):
    """A seeded Recall model around nn.RNN / nn.LSTM / nn.GRU (float64), memory-initialised if asked (section 5)."""
    torch.manual_seed(seed)
    rnn = CELLS[cell](D_IN, hidden or HIDDEN[cell], dtype=dtype)
    return Recall(open_memory_(rnn, T) if memory else rnn)

# %% [markdown]
# ## 4 · Why it is hard: the gradient that reaches the first token
#
# The answer sits in $x_1$, so a model learns to use it only through $\partial L/\partial x_1$. On its way back from
# step T, that gradient is multiplied by one Jacobian per step. For a plain RNN (lesson 03) it is
# $\partial H_k/\partial H_{k-1} = \operatorname{diag}(1 - H_k^2)\, W_{hh}$, with $W_{hh}$ = `weight_hh_l0` as torch
# stores it. For an LSTM the memory adds a direct term, $\partial C_k/\partial C_{k-1} = \operatorname{diag}(\sigma(f_k))
# + \dots$; for a GRU, $\operatorname{diag}(z_k) + \dots$ Products of 59 such factors shrink geometrically unless the
# factors stay near 1.
#
# **Exercise 1: measure it.** Write `input_grad_norms(model, x, y)`: with $L$ = `F.cross_entropy(model(x), y)`,
# return $\lVert\partial L/\partial x_t\rVert$ for t = 1 … T, the norm over the batch and the features: a tensor [T].
# The models are float64 and `make_batch` gives float32: convert `x` first, then ask for its gradient.

# %%
def input_grad_norms(model, x, y):
    ...  # your code here: return ‖∂L/∂x_t‖ for t = 1 … T, a tensor [T]

# %% hidden
def check_input_grad_norms(fn):
    """Compare fn with the reference on a seeded float64 GRU model (T = 7, N = 3, d = 8, h = 5). True/False."""
    with torch.random.fork_rng():
        torch.manual_seed(5)
        model = Recall(nn.GRU(D_IN, 5, dtype=F64))
    x, y = make_batch(7, 3, torch.Generator().manual_seed(6))  # float32, as make_batch gives it
    x64 = x.to(F64).requires_grad_()
    F.cross_entropy(copy.deepcopy(model)(x64), y).backward()
    want = x64.grad.norm(dim=(1, 2))  # [T]
    try:
        with warnings.catch_warnings():  # a non-leaf .grad warns; the verdict below says what happened
            warnings.simplefilter("ignore")
            got = fn(copy.deepcopy(model), x.clone(), y.clone())
    except Exception as err:  # report the learner's error instead of raising it
        hint = (" — the model is float64: feed it x.to(torch.float64)" if "dtype" in str(err) else
                " — x.grad is None: call requires_grad_() on the float64 tensor you feed (a leaf), not before "
                "converting" if "NoneType" in str(err) else "")
        print(f"✗ input_grad_norms raised {type(err).__name__}: {err}{hint}")
        return False
    if got is None:
        print("✗ not done yet: input_grad_norms returned None.")
        return False
    if not torch.is_tensor(got):
        print(f"✗ input_grad_norms returned a {type(got).__name__}: return a tensor [T].")
        return False
    got = got.detach().to(F64)
    shape, (T, N, d) = tuple(got.shape), x.shape
    if shape != (T,):
        hint = {(): "one number for all steps: take the norm per step, over dim=(1, 2)",
                (T, N): "one norm per step and sequence: take the norm over the batch too, dim=(1, 2)",
                (T, N, d): "that is the gradient itself: return its norm per step, .norm(dim=(1, 2))"}
        print(f"✗ the result has shape {shape}, expected [T] = ({T},): {hint.get(shape, 'one norm per step')}.")
        return False
    close = lambda a, b: torch.allclose(a, b, rtol=1e-6, atol=1e-12)  # noqa: E731
    if close(got, want):
        print("✓ input_grad_norms: ‖∂L/∂x_t‖ for every step, as the reference computes it.")
        return True
    hints = [(close(got, N * want), "N times too large: L is the MEAN cross-entropy (F.cross_entropy's default)"),
             (close(got, want**2), "that is the squared norm: take the square root (.norm)"),
             (close(got, want.flip(0)), "in reverse order: entry 0 must be step 1"),
             (close(got, torch.zeros_like(want)), "all zero: is the gradient taken of L, through the model?")]
    hint = next((h for hit, h in hints if hit), "compare with the formula: ‖∂L/∂x_t‖ over the batch and the features")
    steps_1_3 = lambda v: ", ".join(f"{a:.3e}" for a in v[:3].tolist())  # noqa: E731
    print(f"✗ input_grad_norms gives {steps_1_3(got)} … for steps 1–3, expected {steps_1_3(want)} …: {hint}.")
    return False

# %%
exercise_1_passed = check_input_grad_norms(input_grad_norms)

# %% [markdown]
# From here on the lesson measures with your `input_grad_norms` once it passes, else with its own version (in the
# collapsed cell: open it after the exercise). How much of the signal from step 1 reaches the end, relative to the
# last step, for the three models **before training**, at T = 60? For the gated cells, the gate that keeps the memory
# (LSTM $f$, GRU $z$) is printed too, at rest: $\sigma(b_{ih} + b_{hh})$, for a zero input and state.

# %% hidden
def reference_input_grad_norms(model, x, y):
    """‖∂L/∂x_t‖ for t = 1 … T ([T], float64): L the mean cross-entropy, norm over the batch and the features."""
    m = copy.deepcopy(model).to(F64)  # a copy: the model's own .grad stays untouched
    x = x.to(next(m.parameters()).device, F64).requires_grad_()  # convert first: a leaf, so that x.grad is filled
    F.cross_entropy(m(x), y.to(x.device)).backward()
    return x.grad.norm(dim=(1, 2))  # [T]


MEASURE = input_grad_norms if exercise_1_passed else reference_input_grad_norms  # yours once it passes


def grad_norms(model, x, y):
    """‖∂L/∂x_t‖ for t = 1 … T ([T], float64) with MEASURE, on a copy of the model (its own .grad stays untouched)."""
    return MEASURE(copy.deepcopy(model), x, y).detach().to(F64)


def gate_at_rest(rnn, block):
    """σ(b_ih + b_hh) of one gate block: the gate's value for a zero input and a zero state, [h]."""
    h = rnn.hidden_size
    return torch.sigmoid(rnn.bias_ih_l0[block * h:(block + 1) * h] + rnn.bias_hh_l0[block * h:(block + 1) * h]).detach()


print("✓ using your input_grad_norms (exercise 1 passed)" if exercise_1_passed else
      "exercise 1 not passed yet: using the lesson's reference_input_grad_norms")

# %%
T_LONG = 60
x_probe, y_probe = make_batch(T_LONG, 128, torch.Generator().manual_seed(7))  # [60, 128, 8], [128]
profiles = {}  # (cell, memory init?) → ‖∂L/∂x_t‖ / ‖∂L/∂x_T‖ for t = 1 … T, before training
KEEP_GATE = {"LSTM": "forget gate σ(b_f)", "GRU": "update gate σ(b_z)"}  # block 1 of either
for cell in CELLS:
    model = make_model(cell, T_LONG, seed=0, memory=False)
    g = grad_norms(model, x_probe, y_probe)
    profiles[cell, False] = g / g[-1]
    line = f"{cell:<4} torch's init: ‖∂L/∂x_1‖ / ‖∂L/∂x_T‖ = {profiles[cell, False][0]:.0e}"
    if cell in KEEP_GATE:
        keep = gate_at_rest(model.rnn, 1)  # [h]
        line += f";  {KEEP_GATE[cell]} at rest {keep.min():.2f} … {keep.max():.2f}"
    print(line)

# %% [markdown]
# Gates or not, the first token's signal arrives 10¹⁰ to 10¹⁴ times weaker than the last one's. The gates do
# not help **yet**: with torch's init every bias is small, so every gate starts near $\sigma(0) = 0.5$; the LSTM's
# forget gate between 0.45 and 0.60 (printed). The memory keeps that fraction at every step, and the gradient rides
# on the units that keep most: even the most open one keeps only $0.6^{59} \approx 10^{-13}$ after 59 steps. The
# tokens push each gate a little up or down at every step, so the measured ratio is not exactly that, but it is the
# same geometric decay. A gate *can* learn to stay open, but only through a gradient that has already vanished.

# %% [markdown]
# ## 5 · Gates that start open: chrono initialisation
#
# The remedy is old: Gers et al. (2000) started the forget gate open, and Keras sets $b_f = 1$. **Chrono
# initialisation** (Tallec & Ollivier, *Can recurrent neural networks warp time?*, ICLR 2018) derives the biases
# from $T_{max}$, the longest dependency you expect (here the task's T). Each unit j draws a memory time $\tau_j$
# uniformly in [2, $T_{max}$], then:
#
# - LSTM: $b_f = \ln(\tau_j - 1)$, so the forget gate starts at $\sigma(b_f) = 1 - 1/\tau_j$ (keep), and
#   $b_i = -b_f$, so $\sigma(b_i) = 1/\tau_j$ (write little, so noise does not pile up);
# - GRU: $b_z = \ln(\tau_j - 1)$: torch's GRU keeps the fraction $z$ of its old state, so $z$ plays the forget
#   gate's part.
#
# A gate sees the **sum** $b_{ih} + b_{hh}$: put the value in `bias_ih_l0` and set the same block of `bias_hh_l0`
# to 0. The blocks are h rows each: LSTM $i$ = `[0:h]`, $f$ = `[h:2h]`; GRU $z$ = `[h:2h]`.
#
# **Exercise 2 (the core of this lesson): write chrono init.** `chrono_init_(rnn, T)` changes a one-layer
# `nn.LSTM` or `nn.GRU` in place: only the biases named above. `rnn.hidden_size` is h, `isinstance(rnn, nn.LSTM)`
# tells the LSTM from the GRU, and changing a parameter in place needs `with torch.no_grad():`.

# %%
def chrono_init_(rnn, T):
    ...  # your code here: set the gate biases of rnn (an nn.LSTM or nn.GRU) in place

# %% hidden
def check_chrono_init(fn):
    """Apply fn to a seeded nn.LSTM(5, 400) and nn.GRU(5, 400) with T = 40, outside torch.no_grad(); check the
    gates at rest, the τ drawn, and that nothing else changed. True/False."""
    h, T = 400, 40
    for cls, names, keep_block in ((nn.LSTM, "i f g o", 1), (nn.GRU, "r z n", 1)):
        blocks, gate = names.split(), "forget gate f" if cls is nn.LSTM else "update gate z"
        with torch.random.fork_rng():
            torch.manual_seed(4)
            rnn = cls(5, h)
            before = {n: p.detach().clone() for n, p in rnn.named_parameters()}
            try:
                fn(rnn, T)
            except Exception as err:  # report the learner's error instead of raising it
                hint = " — change parameters inside `with torch.no_grad():`" if "leaf" in str(err) else ""
                print(f"✗ chrono_init_ on nn.{cls.__name__} raised {type(err).__name__}: {err}{hint}")
                return False
        after = {n: p.detach() for n, p in rnn.named_parameters()}
        if all(torch.equal(after[n], before[n]) for n in after):
            print(f"✗ not done yet: no parameter of the nn.{cls.__name__} changed.")
            return False
        for name in ("weight_ih_l0", "weight_hh_l0"):
            if not torch.equal(after[name], before[name]):
                print(f"✗ nn.{cls.__name__}: {name} changed: set only biases.")
                return False
        untouched = [k for k in range(len(blocks)) if k != keep_block and not (cls is nn.LSTM and k == 0)]
        for k in untouched:
            for name in ("bias_ih_l0", "bias_hh_l0"):
                if not torch.equal(after[name][k * h:(k + 1) * h], before[name][k * h:(k + 1) * h]):
                    print(f"✗ nn.{cls.__name__}: you changed block {k} ({blocks[k]}) of {name}; the {gate} is "
                          f"block {keep_block} ([h:2h]) in torch's order {', '.join(blocks)}.")
                    return False
        bias = after["bias_ih_l0"] + after["bias_hh_l0"]  # what the gates see: [G·h]
        if torch.equal(bias[h:2 * h], before["bias_ih_l0"][h:2 * h] + before["bias_hh_l0"][h:2 * h]):
            print(f"✗ nn.{cls.__name__}: the {gate} did not change: it is block {keep_block}, [h:2h], in torch's "
                  f"order {', '.join(blocks)}.")
            return False
        keep = torch.sigmoid(bias[h:2 * h].double())  # the gate at rest, σ(b)
        tau = 1 / (1 - keep)  # the memory time it encodes: σ(b) = 1 − 1/τ
        if not (tau.min() >= 2 - 1e-3 and tau.max() <= T + 1e-2):
            hint = ("the gate sees bias_ih + bias_hh: set bias_hh's block to 0" if
                    not torch.equal(after["bias_hh_l0"][h:2 * h], torch.zeros(h)) and
                    torch.equal(after["bias_hh_l0"][h:2 * h], before["bias_hh_l0"][h:2 * h]) else
                    "the bias is ln(τ − 1), not τ" if (bias[h:2 * h] >= 2 - 1e-6).all() else
                    "σ(b) must be 1 − 1/τ with τ in [2, T]: b = ln(τ − 1)")
            print(f"✗ nn.{cls.__name__}: the {gate} at rest spans {keep.min():.3f} … {keep.max():.3f}, expected "
                  f"[0.5, 1 − 1/T = {1 - 1 / T:.3f}]: {hint}.")
            return False
        if tau.max() - tau.min() < 0.5 * (T - 2) or abs(tau.mean().item() - (T + 2) / 2) > 3:
            same = tau.max() - tau.min() < 1e-3
            print(f"✗ nn.{cls.__name__}: the units' memory times τ = 1 / (1 − σ(b)) span {tau.min():.1f} … "
                  f"{tau.max():.1f}, mean {tau.mean():.1f}: " + ("every unit got the same τ: draw one per unit" if same
                  else f"draw τ uniformly in [2, T] (mean {(T + 2) / 2:.0f}), then b = ln(τ − 1)") + ".")
            return False
        if cls is nn.LSTM and not torch.allclose(torch.sigmoid(bias[:h].double()), 1 / tau, atol=1e-5):
            print("✗ nn.LSTM: the input gate i (block 0, [0:h]) should start at σ(b_i) = 1/τ: b_i = −b_f, and the "
                  "block of bias_hh_l0 set to 0.")
            return False
    print(f"✓ chrono_init_: forget / update gates at rest 1 − 1/τ, τ uniform in [2, {T}]; LSTM input gate 1/τ; "
          "nothing else changed.")
    return True

# %%
exercise_2_passed = check_chrono_init(chrono_init_)

# %% [markdown]
# From here on the gated cells start from your `chrono_init_` once it passes, else from the lesson's `memory_init_`
# (collapsed: open it after the exercise). A plain RNN has no gate; `memory_init_` gives it the nearest thing, an
# orthogonal $W_{hh}$ (all eigenvalues on the unit circle), used in "Going deeper". The same untrained models as in
# section 4, with their gates opened:

# %% hidden
def memory_init_(rnn, T):
    """Make rnn start with long memory, in place (chrono init for LSTM and GRU, orthogonal W_hh for RNN)."""
    h = rnn.hidden_size
    gates = rnn.weight_ih_l0.shape[0] // h  # 1 (RNN), 3 (GRU) or 4 (LSTM) blocks
    with torch.no_grad():
        if gates == 1:
            nn.init.orthogonal_(rnn.weight_hh_l0)
            return rnn
        tau = torch.empty(h).uniform_(2.0, max(float(T), 2.0))  # each unit's memory time, in steps
        keep = torch.log(tau - 1)  # σ(keep) = 1 − 1/τ
        rnn.bias_ih_l0[h:2 * h] = keep  # LSTM forget gate f, GRU update gate z: the second block
        rnn.bias_hh_l0[h:2 * h] = 0.0
        if gates == 4:
            rnn.bias_ih_l0[0:h] = -keep  # LSTM input gate i: σ(−keep) = 1/τ
            rnn.bias_hh_l0[0:h] = 0.0
    return rnn


CHRONO = chrono_init_ if exercise_2_passed else None  # yours once it passes


def open_memory_(rnn, T):
    """memory_init_, with your chrono_init_ for the LSTM and the GRU once exercise 2 passes. Returns rnn."""
    if CHRONO is not None and isinstance(rnn, (nn.LSTM, nn.GRU)):
        CHRONO(rnn, T)
        return rnn
    return memory_init_(rnn, T)


print("✓ using your chrono_init_ (exercise 2 passed)" if exercise_2_passed else
      "exercise 2 not passed yet: using the lesson's memory_init_")

# %%
for cell in ("LSTM", "GRU"):
    model = make_model(cell, T_LONG, seed=0, memory=True)
    keep = gate_at_rest(model.rnn, 1)  # σ(b_f) (LSTM) or σ(b_z) (GRU), [h]
    assert 0.5 - 1e-6 <= keep.min() and keep.max() <= 1 - 1 / T_LONG + 1e-6, f"{cell}: gate not in [1/2, 1 − 1/T]"
    if cell == "LSTM":
        torch.testing.assert_close(gate_at_rest(model.rnn, 0), 1 - keep, atol=1e-6, rtol=0)  # σ(b_i) = 1 − σ(b_f)
    g = grad_norms(model, x_probe, y_probe)
    profiles[cell, True] = g / g[-1]
    assert profiles[cell, True][0] > 1e3 * profiles[cell, False][0], f"{cell}: chrono init should open a path"
    print(f"{cell:<4} chrono init: gate at rest {keep.min():.2f} … {keep.max():.2f}; ‖∂L/∂x_1‖ / ‖∂L/∂x_T‖ = "
          f"{profiles[cell, True][0]:.0e} (torch's init: {profiles[cell, False][0]:.0e})")

# %% hidden
fig, ax = plt.subplots(figsize=(7, 3.2))
STYLE = {"RNN": {"color": "#cc4125", "marker": "o"}, "LSTM": {"color": "#3c78d8", "marker": "s"},
         "GRU": {"color": "#6aa84f", "marker": "^"}}
for (cell, memory), profile in profiles.items():
    ax.semilogy(range(1, T_LONG + 1), profile, color=STYLE[cell]["color"], ls="-" if memory or cell == "RNN" else "--",
                label=f"{cell}, {'chrono init' if memory else 'torch init'}")
ax.set(xlabel="step t", ylabel="‖∂L/∂x_t‖ / ‖∂L/∂x_T‖", title=f"Before training, T = {T_LONG}: the signal from each step")
ax.legend(fontsize=8)
plt.show()
print("✓ chrono init: the first token's signal is over 1000× stronger at the start, for the LSTM and the GRU")

# %% [markdown]
# With torch's init (dashed) the LSTM and the GRU are no better off than the RNN. With chrono init the first token
# reaches the end weakened only by a factor of tens: training can use it from the first step.

# %% [markdown]
# ## 6 · Does it learn? Accuracy against length
#
# `train` is lesson 03's loop: Adam (learning rate 0.02), the gradient norm clipped at 1, a fresh seeded batch of
# N = 64 at every step. It stops once 10 batches in a row are all answered right, and records the loss and the
# gradient norm of every step. `run` builds a seeded model, trains it for at most 150 steps and measures its accuracy
# on 512 new sequences. (`one_thread`: see the note on reproducibility at the end of this section.)

# %%
def train(model, T, steps, seed, N=64, lr=0.02, clip=1.0, stop_after=10):
    """Adam on fresh batches from a generator seeded with `seed`; stops after `stop_after` perfect batches in a row.
    Returns {'losses': [...], 'grad_norms': [...]}, one entry per step."""
    p0 = next(model.parameters())
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses, grad_norms, streak = [], [], 0
    with one_thread():
        for _ in range(steps):
            x, y = make_batch(T, N, gen)
            x, y = x.to(p0.device, p0.dtype), y.to(p0.device)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            losses.append(loss.item())
            streak = streak + 1 if bool((logits.argmax(-1) == y).all()) else 0
            if stop_after and streak == stop_after:
                break  # solved: stop before another update can undo it
            opt.zero_grad()
            loss.backward()
            norm = nn.utils.clip_grad_norm_(model.parameters(), clip or math.inf)  # returns the norm before clipping
            opt.step()
            grad_norms.append(norm.item())
    return {"losses": losses, "grad_norms": grad_norms}


def accuracy(model, T, seed, N=512):
    """Accuracy on N new sequences (a test batch of its own, seeded by `seed`)."""
    p0 = next(model.parameters())
    x, y = make_batch(T, N, torch.Generator().manual_seed(10_000 + seed))
    with torch.no_grad():
        return (model(x.to(p0.device, p0.dtype)).argmax(-1).cpu() == y).float().mean().item()


BUILDING = threading.Lock()  # run_all (below) trains two models at once: they are built one at a time


def run(cell, T, seed, memory, steps=150, hidden=None, N=64, lr=0.02, clip=1.0, device="cpu", dtype=F64):
    """Build, train (at most `steps` steps) and test one model; returns a dict with its accuracy and history."""
    with BUILDING:  # make_model seeds torch's global generator
        model = make_model(cell, T, seed, memory, hidden, dtype).to(device)
    history = train(model, T, steps, seed=1_000 + seed, N=N, lr=lr, clip=clip)
    return {"acc": accuracy(model, T, seed), "steps": len(history["losses"]), "model": model, **history}

# %% hidden
for scratch_cls, torch_cls in ((ScratchLSTM, nn.LSTM), (ScratchGRU, nn.GRU)):  # the scratch cells train alike too
    torch.manual_seed(2)
    reference = Recall(memory_init_(torch_cls(D_IN, 6, dtype=F64), 15))
    mine = Recall(scratch_cls(D_IN, 6, dtype=F64))
    mine.load_state_dict(reference.state_dict())
    loss_ref = train(reference, T=15, steps=12, seed=3, N=16, stop_after=None)["losses"]
    loss_mine = train(mine, T=15, steps=12, seed=3, N=16, stop_after=None)["losses"]
    torch.testing.assert_close(torch.tensor(loss_mine, dtype=F64), torch.tensor(loss_ref, dtype=F64),
                               atol=1e-10, rtol=0.0)
    for name, p in mine.named_parameters():
        torch.testing.assert_close(p, reference.state_dict()[name], atol=1e-10, rtol=0.0)
print("✓ ScratchLSTM and ScratchGRU trained beside nn.LSTM and nn.GRU (12 Adam steps, float64): the same loss at "
      "every step and the same trained weights, |Δ| ≤ 1e-10")

# %% hidden
def run_all(*job_sets):
    """For each dict {key: arguments of run}, the dict {key: run(*arguments)}, two runs at a time (the course's
    machines have 2 CPU cores), each on a thread of its own. torch computes each run on its one thread with its own
    generators, and `run` builds one model at a time: every result is the one that run gives alone, bit for bit."""
    jobs = [(i, key, args) for i, job_set in enumerate(job_sets) for key, args in job_set.items()]
    jobs.sort(key=lambda job: -job[2][1])  # the longest sequences (args[1] = T) first: both threads end together
    with one_thread(), ThreadPoolExecutor(max_workers=2) as pool:  # one_thread: torch's own pool stays at 1
        runs = list(pool.map(lambda job: run(*job[2]), jobs))
    out = [dict.fromkeys(job_set) for job_set in job_sets]  # the keys in the order given
    for (i, key, _), r in zip(jobs, runs, strict=True):
        out[i][key] = r
    return out

# %% [markdown]
# The experiment: T = 5, 15 and 60, two seeds (a seed fixes the weights and the batches). The RNN starts from
# torch's init (it has no gate to open), the LSTM and the GRU from chrono init with $T_{max}$ = T. At T = 60 the
# LSTM and the GRU also train from torch's init, for 75 steps (half the budget, to save time): what do the open
# gates buy? About 5 s: `run_all` (collapsed cell above) trains two models at a time, each as it would alone.

# %%
# NBVAL_IGNORE_OUTPUT
LENGTHS, SEEDS = (5, 15, T_LONG), (0, 1)
MEMORY = {"RNN": False, "LSTM": True, "GRU": True}  # torch's init for the RNN, gates open for LSTM and GRU
results, torch_init = run_all(  # (cell, T, seed) → run; (cell, seed) → a gated cell from torch's init, T = 60
    {(cell, T, seed): (cell, T, seed, MEMORY[cell]) for seed in SEEDS for T in LENGTHS for cell in CELLS},
    {(cell, seed): (cell, T_LONG, seed, False, 75) for seed in SEEDS for cell in ("LSTM", "GRU")})  # ≤ 75 steps
show = lambda cell, r: f"   {cell:<4} {r['acc']:.2f} ({r['steps']:>3} steps)"  # noqa: E731
for seed in SEEDS:
    for T in LENGTHS:
        print(f"seed {seed}  T = {T:>2}:" + "".join(show(cell, results[cell, T, seed]) for cell in CELLS))
    controls = "".join(show(cell, torch_init[cell, seed]) for cell in ("LSTM", "GRU"))
    print(f"        T = {T_LONG}, torch's init:".ljust(39) + controls)

# %% [markdown]
# One seed can mislead: a run that does not learn (the RNN at T = 60) wanders, and may end elsewhere on another
# machine (the note on reproducibility below). So the checks are on the means over the seeds, with room to spare.
# For torch's init, 75 steps suffice: by then the open gates' loss has left $\ln K$, theirs has not.

# %%
mean_acc = {(cell, T): sum(results[cell, T, s]["acc"] for s in SEEDS) / len(SEEDS) for cell in CELLS for T in LENGTHS}
assert all(mean_acc[cell, 5] >= 0.9 for cell in CELLS), "T = 5 should be easy for every cell"
assert mean_acc["GRU", T_LONG] >= 0.9 and mean_acc["LSTM", T_LONG] >= 0.7, "open gates should learn T = 60"
assert mean_acc["RNN", T_LONG] < 0.8, "the RNN should not have learned T = 60"
assert min(mean_acc["LSTM", T_LONG], mean_acc["GRU", T_LONG]) >= mean_acc["RNN", T_LONG] + 0.2
mean_torch = {cell: sum(torch_init[cell, s]["acc"] for s in SEEDS) / len(SEEDS) for cell in ("LSTM", "GRU")}
assert max(mean_torch.values()) < 0.6, "with torch's init the gated cells should not learn T = 60 in 75 steps"
assert min(mean_acc["LSTM", T_LONG], mean_acc["GRU", T_LONG]) >= max(mean_torch.values()) + 0.3


def loss_by_75(r):  # mean loss of steps 66–75 (of the last 10 if the run stopped before), in units of ln K
    return sum(r["losses"][:75][-10:]) / 10 / math.log(K)


open_runs = [results[cell, T_LONG, s] for cell in ("LSTM", "GRU") for s in SEEDS]
torch_runs = [torch_init[cell, s] for cell in ("LSTM", "GRU") for s in SEEDS]
open_75, torch_75 = (sum(loss_by_75(r) for r in rs) / len(rs) for rs in (open_runs, torch_runs))  # means
assert torch_75 > 0.95 and open_75 < torch_75 - 0.3, "by step 75 the open gates' loss should have left ln K"
print("✓ T = 5: all three cells learn it (mean accuracy ≥ 0.9)")
print(f"✓ T = {T_LONG}: with open gates the GRU (mean ≥ 0.9) and the LSTM (≥ 0.7) learn it; the RNN (< 0.8) does not")
print(f"✓ T = {T_LONG}: from torch's init the LSTM and the GRU do not (mean < 0.6, ≥ 0.3 below the open gates)")
print("✓ by step 75 the loss from torch's init is still ln K (mean > 0.95 ln K); with open gates it is over "
      "0.3 ln K lower")

# %% hidden
OFFSET = {"RNN": -0.8, "LSTM": 0.0, "GRU": 0.8}  # side by side, so that equal dots do not hide each other
fig, ax = plt.subplots(figsize=(8.5, 3.2))
for cell in CELLS:
    ax.plot([T + OFFSET[cell] for T in LENGTHS], [mean_acc[cell, T] for T in LENGTHS], color=STYLE[cell]["color"],
            label=f"{cell} (h = {HIDDEN[cell]}, {'chrono' if MEMORY[cell] else 'torch'} init)")
    for T in LENGTHS:
        ax.plot([T + OFFSET[cell]] * len(SEEDS), [results[cell, T, s]["acc"] for s in SEEDS], ls="none", alpha=0.6,
                **STYLE[cell])
for cell in ("LSTM", "GRU"):  # hollow: the gated cells from torch's init, T = 60 only
    ax.plot([T_LONG + 2.5 * OFFSET[cell]] * len(SEEDS), [torch_init[cell, s]["acc"] for s in SEEDS], ls="none",
            mfc="none", label=f"{cell}, torch init (75 steps)", **STYLE[cell])
ax.axhline(CHANCE, color="gray", ls=":", lw=1, label="chance = 1/K")
ax.set(xticks=LENGTHS, ylim=(0, 1.05), xlabel="sequence length T (the answer is T − 1 steps back)",
       ylabel="test accuracy", title=f"Recall the first token: ~1,100 parameters each, ≤ 150 steps, {len(SEEDS)} seeds")
ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
plt.show()

# %% [markdown]
# At T = 60, the LSTM and the GRU learn when their gates start open; from torch's init they stay near chance, like
# the RNN. Two seeds are few: over ten (the float64 table in "Going deeper" below, 150 steps each) the GRU with open
# gates learned T = 60 every time, the LSTM 8 times in 10, the RNN never, and the gated cells with torch's init
# never. The gates help **when they start open**.

# %% [markdown] collapsed
# ### A note on reproducibility

# %% [markdown]
# - **float64.** In practice you train in float32. Here float64 makes the scratch-vs-torch checks exact
#   (|Δ| ≤ 1e-12) and runs comparable number for number: the same sums in the same order give the same digits.
# - **One thread.** `train` runs inside `one_thread()`: with two threads torch splits some sums differently, and
#   150 steps turn a difference in the last bit into another run. `run_all` trains two models at a time, each on
#   a thread of its own that torch computes on alone, so that each run gives what it gives by itself: the same
#   numbers as one run after another, in half the time on two cores.
# - **Different CPUs still differ.** Even in float64 on one thread, CPUs with different vector instructions (AVX2,
#   AVX-512) round some sums differently in the last bit. A run that learns ends alike anyway; a run that does not
#   (the RNN at T = 60) wanders, and the last bits send it elsewhere: seed 0's RNN ended at 0.25 on one CPU path and
#   at 0.46 on another. So the course's tests do not compare the training printouts digit for digit
#   (`# NBVAL_IGNORE_OUTPUT`); they check means over the seeds, with a margin, never what one seed does.
# - **The offline tables** in "Going deeper" were measured with this notebook's functions, torch 2.13 on the
#   course's 2-core AMD EPYC CPU: float64 on 2026-12-02, float32 on 2026-11-23.
# - **The GPU cell** stops starting new runs after 60 s, so that it stays within the time the tests give one cell.

# %% [markdown]
# ## 7 · Play
#
# Train one model and look at it: its loss (left; $\ln K$ is a uniform guess) and, after training, how much each
# step matters to the loss (right). For the RNN, "memory" means an orthogonal $W_{hh}$. Settings that would take more
# than about a second are refused with a message.

# %% hidden
COST_MS = {"RNN": 0.12, "LSTM": 0.21, "GRU": 0.23}  # measured on a busy 2-core CPU: ms per step per time step


def train_and_show(cell="GRU", init="memory", T=15, steps=100):
    """Widget callback: train one model, plot its loss and its gradient profile. A dict, or None with a message."""
    if cell not in CELLS:
        print(f"⚠ cell {cell!r}: choose one of {', '.join(CELLS)}.")
        return None
    if init not in ("memory", "torch"):
        print(f"⚠ init {init!r}: choose 'memory' (gates open) or 'torch' (torch's default).")
        return None
    if not (isinstance(T, int) and 2 <= T <= 200) or not (isinstance(steps, int) and 0 <= steps <= 300):
        print(f"⚠ T = {T!r}, steps = {steps!r}: choose T in 2 … 200 and steps in 0 … 300.")
        return None
    seconds = COST_MS[cell] * T * steps / 1000
    if seconds > 1.0:
        print(f"⚠ {cell}, T = {T}, {steps} steps: about {seconds:.1f} s here, too slow for a widget; "
              "lower T or the steps.")
        return None
    r = run(cell, T, seed=0, memory=init == "memory", steps=steps)
    g = grad_norms(r["model"], *make_batch(T, 128, torch.Generator().manual_seed(7)))
    solved = "solved" if r["acc"] >= 0.95 else "not solved"
    init_name = "torch init" if init == "torch" else "orthogonal W_hh" if cell == "RNN" else "chrono init"
    print(f"{cell} (h = {HIDDEN[cell]}, {n_params(r['model']):,} parameters), {init_name}, T = {T}: {r['steps']} steps, "
          f"test accuracy {r['acc']:.2f} (chance {CHANCE:.2f}) → {solved}")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3))
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.16, top=0.9, wspace=0.3)  # fixed margins: quicker to draw
    ax1.plot(range(1, r["steps"] + 1), r["losses"], color=STYLE[cell]["color"])
    if not r["losses"]:
        ax1.set(xlim=(0, 10), ylim=(0, 1.6))
        ax1.text(5, 0.7, "0 steps: the untrained model", ha="center")
    ax1.axhline(math.log(K), color="gray", ls=":", lw=1, label="ln K: a uniform guess")
    ax1.set(xlabel="training step", ylabel="loss", title=f"{cell}, {init_name}, T = {T}: accuracy {r['acc']:.2f}")
    ax1.legend(fontsize=8)
    ax2.semilogy(range(1, T + 1), g / g[-1], color=STYLE[cell]["color"], marker=".")
    ax2.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0e}"))  # "1e-06", not mathtext (fails in widgets)
    ax2.yaxis.set_minor_formatter(NullFormatter())
    ax2.set(xlabel="step t", ylabel="‖∂L/∂x_t‖ / ‖∂L/∂x_T‖", title="how much each step matters to the loss")
    plt.show()
    return {"acc": r["acc"], "steps": r["steps"], "first_over_last": (g[0] / g[-1]).item()}

# %%
# NBVAL_IGNORE_OUTPUT
play_ui = widgets.interactive(
    train_and_show,
    cell=widgets.Dropdown(options=list(CELLS), value="GRU", description="cell"),
    init=widgets.Dropdown(options=[("memory (gates open)", "memory"), ("torch's default", "torch")], value="memory",
                          description="init"),
    T=widgets.Dropdown(options=[5, 15, 30], value=15, description="length T"),
    steps=widgets.Dropdown(options=[0, 100], value=100, description="steps ≤"),
)
display(play_ui)

# %% [markdown]
# The same callback in plain cells: the default (a GRU with open gates at T = 15), an untrained LSTM with torch's
# init at T = 60, a setting too slow for a widget, and invalid ones, each refused with a message.

# %%
assert set(train_and_show()) == {"acc", "steps", "first_over_last"}
assert train_and_show("LSTM", "torch", 60, 0)["first_over_last"] < 1e-6  # untrained: the signal from step 1 dies
assert train_and_show("GRU", "memory", 60, 300) is None
assert train_and_show("Transformer") is None and train_and_show("GRU", "random") is None
assert train_and_show("RNN", "torch", 1, 50) is None

# %% [markdown]
# ## 8 · Summary
#
# | | |
# |---|---|
# | the task | the class of the first of T tokens, then noise: x [T, N, K + 4] one-hot, y [N]; chance 1/K = 0.25 |
# | fair models | `nn.RNN` / `nn.LSTM` / `nn.GRU` + `nn.Linear(h, K)` on `output[-1]`, at equal **parameter counts** (h = 27, 12, 14 ≈ 1,100), not equal h |
# | why it is hard | $\partial L/\partial x_1$ passes one Jacobian per step: RNN $\operatorname{diag}(1 - H_k^2) W_{hh}$; LSTM memory $\operatorname{diag}(\sigma(f_k)) + \dots$; GRU $\operatorname{diag}(z_k) + \dots$ — with torch's init all shrink geometrically (gates start at 0.4–0.6) |
# | chrono init | $\tau \sim U(2, T_{max})$; LSTM $b_f = \ln(\tau - 1)$, $b_i = -b_f$; GRU $b_z = \ln(\tau - 1)$; in `bias_ih_l0` (f, z: `[h:2h]`; i: `[0:h]`), those blocks of `bias_hh_l0` = 0 |
# | the result (T = 60, ≤ 150 steps, lr 0.02, float64) | section 6 (2 seeds): LSTM and GRU with chrono init learn it; the RNN, and the LSTM and the GRU with torch's init (75 steps), stay near chance. The float64 table in "Going deeper" (10 seeds): GRU with chrono init 10/10, LSTM 8/10, RNN 0/10 (mean 0.46), LSTM and GRU with torch's init 0/10; at T = 5 all 10/10 |
# | measure it | `x = x.to(torch.float64).requires_grad_()` (convert first: a leaf), `loss.backward()`, `x.grad.norm(dim=(1, 2))` |
# | read results | against chance, on several seeds, with the budget (steps, lr); assert means with a margin, not one seed |
#
# **Next:** lesson 10, a language model that writes text, built on these layers; lesson 11, speed.

# %% [markdown] collapsed
# ## Going deeper: ten seeds, other budgets

# %% [markdown]
# Measured offline with this notebook's functions and settings (float64; where and when: the note on
# reproducibility), seeds 0–9 of every setting (seeds 0 and 1 are section 6's runs). Each entry: runs that learned
# the task (test accuracy ≥ 0.95) out of 10, and the mean accuracy.
#
# | T | RNN (torch init) | LSTM (chrono init) | GRU (chrono init) | LSTM (torch init) | GRU (torch init) |
# |---|---|---|---|---|---|
# | 5 | 10/10 · 1.00 | 10/10 · 1.00 | 10/10 · 1.00 | 10/10 · 1.00 | 10/10 · 1.00 |
# | 15 | 8/10 · 0.89 | 10/10 · 1.00 | 10/10 · 1.00 | 0/10 · 0.32 | 10/10 · 1.00 |
# | 30 | 5/10 · 0.72 | 8/10 · 0.95 | 10/10 · 1.00 | 0/10 · 0.25 | 4/10 · 0.65 |
# | 60 | 0/10 · 0.46 | 8/10 · 0.95 | 10/10 · 1.00 | 0/10 · 0.25 | 0/10 · 0.25 |
#
# With torch's init, and this budget (≤ 150 steps, learning rate 0.02), the GRU still learns T = 15 (every seed)
# but not T = 60, while the LSTM fails already at T = 15, where the plain RNN learns 8 times in 10. Both cells start
# with the gate that keeps their memory near 0.5 (section 4), so the start alone does not explain the gap; this table
# does not say why, nor whether more steps would close it (torch's init was not run longer at T = 15). With open
# gates the LSTM, when it fails, stalls near 0.75: it tells 3 of the 4 classes apart. The same measurement in
# float32 (an earlier version of this lesson) gave the LSTM 10/10 at T = 60, and 6/10 with the random numbers drawn
# in another order: of the gated cells, the LSTM is the less reliable learner here; the GRU is the safer bet.
#
# **The budget and the settings** (T = 60, seeds 0–9, float64, same machine):
#
# | change from the setting above (lr 0.02, ≤ 150 steps, clip at 1) | RNN | LSTM | GRU |
# |---|---|---|---|
# | none | 0/10 · 0.46 | 8/10 · 0.95 | 10/10 · 1.00 |
# | ≤ 300 steps | 0/10 · 0.48 | 9/10 · 0.97 (the last at step 187) | 10/10 · 1.00 (all by step 98) |
# | ≤ 600 steps | 0/10 · 0.45 | 9/10 · 0.97 | 10/10 · 1.00 |
# | learning rate 0.01 | 1/10 · 0.35 | 3/10 · 0.80 | 10/10 · 1.00 |
# | no clipping | 0/10 · 0.42 | 7/10 · 0.92 | 10/10 · 1.00 |
# | torch's init for the LSTM and the GRU | | 0/10 · 0.25 | 0/10 · 0.25 |
# | orthogonal $W_{hh}$ for the RNN | 4/10 · 0.69 | | |
#
# Four times the steps do not help the RNN; of the two LSTM runs that stalled, one gets there by step 187, the other
# stays at 0.73. A smaller learning rate hurts the LSTM most; without clipping it loses one more run; without chrono
# init the gated cells stay at chance.
#
# **Is the comparison fair to the RNN?** The gated cells got an initialisation made for memory (and $T_{max}$, prior
# knowledge); the RNN's nearest counterpart is an orthogonal $W_{hh}$ (`run("RNN", T, seed, memory=True)`): at T = 60 it learned in 4 of 10
# seeds (mean 0.69, against 0 of 10 with torch's init); in the float32 runs of "on a GPU" below, once in three
# at T = 100 and at T = 200, after many more steps than the GRU.
# An RNN *can* hold a token for 60 steps with the right weights; what a gate adds is a "keep" setting that training
# starts from, with a gradient that survives.

# %% [markdown] collapsed
# ## Going deeper: after training

# %% [markdown]
# Three looks at the models trained in section 6, seed 0 only: one run each, an illustration, not a measured rate.
# The RNN's numbers can differ on your machine (the note on reproducibility in section 6); the text describes the
# run stored here.
#
# **Which steps matter after training.** Both gated cells found a path from step 1: in this run the trained GRU's
# loss responds even more to step 1 than to step T, the LSTM's a fifth as much (another seed gives other ratios).
# The RNN went the other way: its ratio fell from 6·10⁻¹⁴ before training (section 4) to about 10⁻⁴⁶. Training grew
# its $W_{hh}$ and drove most of its states into tanh's flat ends, where the slope $1 - H^2$ is near 0 (printed
# below); the slopes fell more than $W_{hh}$ grew, so each step's Jacobian $\operatorname{diag}(1 - H_k^2) W_{hh}$
# now shrinks the gradient even faster. Step 1 is invisible to it.

# %%
# NBVAL_IGNORE_OUTPUT
for cell in CELLS:
    g = grad_norms(results[cell, T_LONG, 0]["model"], x_probe, y_probe)
    print(f"trained {cell:<4} (accuracy {results[cell, T_LONG, 0]['acc']:.2f}): ‖∂L/∂x_1‖ / ‖∂L/∂x_T‖ = "
          f"{(g[0] / g[-1]).item():.0e}")
rnn_before, rnn_after = make_model("RNN", T_LONG, 0, memory=False).rnn, results["RNN", T_LONG, 0]["model"].rnn
for name, rnn in (("before", rnn_before), ("after", rnn_after)):
    with torch.no_grad():
        H = rnn(x_probe.to(F64))[0]  # [T, N, h]: every state
        sigma_max = torch.linalg.matrix_norm(rnn.weight_hh_l0, 2)  # the largest singular value
    print(f"RNN {name:<6} training: largest singular value of W_hh {sigma_max:.2f}, mean slope 1 − H² "
          f"{(1 - H**2).mean():.2f}, states with |H| > 0.95: {(H.abs() > 0.95).double().mean():.0%}")

# %% [markdown]
# **An accuracy without its chance level.** With K = 4 a guess gets 0.25, so 0.24 is no better than guessing, and
# 0.75 usually means 3 of the 4 classes told apart. The accuracy per class shows it:

# %%
# NBVAL_IGNORE_OUTPUT
x_test, y_test = make_batch(T_LONG, 512, torch.Generator().manual_seed(10_000))  # as `accuracy` draws it for seed 0
with torch.no_grad():
    guesses = {f"{cell}, seed 0": results[cell, T_LONG, 0]["model"](x_test.to(F64)).argmax(-1) for cell in CELLS}
guesses["always 'A'"] = torch.zeros_like(y_test)
for name, pred in guesses.items():
    per_class = [(pred[y_test == k] == k).float().mean().item() for k in range(K)]
    print(f"{name:<12} accuracy {(pred == y_test).float().mean():.2f}   per class: "
          + "  ".join(f"{SYMBOLS[k]} {a:.2f}" for k, a in enumerate(per_class)))

# %% [markdown]
# **Clipping.** `train` recorded every step's loss and gradient norm (before clipping): the plot shows both, seed 0
# at T = 60. In the stored run the gated cells' norms rise as their loss leaves $\ln K$ (steps 35–45), and their
# largest spikes come with a brief jump of the loss (steps 64–69): the steps clipping is for. The RNN, which learned
# nothing, was clipped most often: around step 70 its loss began to fall, then its gradient exploded (norms up to 50,
# lesson 03's other failure), the loss jumped above 4, and the run ended back at chance. `clip_grad_norm_(…, 1.0)`
# caps such steps. With Adam it mattered little here (the table above: no clipping), because Adam already scales
# each update; with plain SGD, as in lesson 03, one such spike can throw the weights far away. Keep the clip: it costs
# nothing.

# %%
# NBVAL_IGNORE_OUTPUT
fig, (ax1, ax2) = plt.subplots(2, 1, sharex=True, figsize=(7, 4.5))
for cell in CELLS:
    r = results[cell, T_LONG, 0]
    ax1.plot(range(1, len(r["losses"]) + 1), r["losses"], color=STYLE[cell]["color"], label=cell)
    ax2.semilogy(range(1, len(r["grad_norms"]) + 1), r["grad_norms"], color=STYLE[cell]["color"], label=cell)
    norms = torch.tensor(r["grad_norms"])
    print(f"{cell:<4} T = {T_LONG}: median gradient norm {norms.median():.2f}, largest {norms.max():.1f} "
          f"at step {norms.argmax().item() + 1}, {int((norms > 1).sum())} of {len(norms)} steps clipped")
ax1.axhline(math.log(K), color="gray", ls=":", lw=1)
ax2.axhline(1.0, color="gray", ls=":", lw=1, label="clip at 1")
ax1.set(ylabel="loss", title=f"Training, seed 0, T = {T_LONG}")
ax2.set(xlabel="training step", ylabel="gradient norm")
ax1.legend(fontsize=8)
ax2.legend(fontsize=8)
plt.show()

# %% [markdown]
# **Asking a tensor that is not a leaf for its gradient** (exercise 1's trap). Call `requires_grad_()` on the float32
# batch and then convert: the tensor you feed is the *result of an operation*, and autograd fills `.grad` only for
# leaves. You get `None` and a warning; the gradient lands on the float32 tensor you no longer look at.

# %%
model64 = copy.deepcopy(results["GRU", T_LONG, 0]["model"])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    x32 = x_probe.clone().requires_grad_()  # a leaf, float32 [60, 128, 8]
    x_fed = x32.to(F64)  # made by an operation: not a leaf
    F.cross_entropy(model64(x_fed), y_probe).backward()
    print(f"x_fed.is_leaf = {x_fed.is_leaf}, x_fed.grad = {x_fed.grad}")
print(f"torch warned: {str(caught[0].message).split('. ')[0]}.")  # the first sentence
print(f"the gradient went to the leaf instead: x32.grad {list(x32.grad.shape)}, {x32.grad.dtype}")

# %% [markdown] collapsed
# ## Going deeper: on a GPU, longer sequences

# %% [markdown]
# The same experiment, bigger: T = 100 and 200, at most 1,000 steps, batches of 128, learning rate 0.01, three
# seeds, six set-ups (the three cells of section 6, the RNN with an orthogonal $W_{hh}$, the gated cells with
# torch's init), in **float32**. The cell starts with the scratch-vs-torch parity on the GPU (float64, TF32 off).
# Models and batches are made on the CPU, then moved, so each run starts as on a CPU; cuDNN's arithmetic differs, so
# single runs may end differently. Without a GPU it prints one line.
#
# **Measured on a 2-core CPU instead (float32, 11.6 minutes)**: accuracy per seed, with the
# steps used in brackets (1000 = the budget ran out). These runs used float32, as the GPU cell does; the notebook's
# own experiment uses float64, so these are not the same runs, only the same settings.
#
# | T | set-up | seed 0 | seed 1 | seed 2 | solved |
# |---|---|---|---|---|---|
# | 100 | RNN, torch init | 0.25 (1000) | 0.27 (1000) | 0.26 (1000) | 0/3 |
# | 100 | RNN, orthogonal $W_{hh}$ | 0.53 (1000) | 1.00 (178) | 0.24 (1000) | 1/3 |
# | 100 | LSTM, chrono init | 1.00 (132) | 1.00 (203) | 1.00 (151) | 3/3 |
# | 100 | GRU, chrono init | 1.00 (106) | 1.00 (105) | 1.00 (97) | 3/3 |
# | 100 | LSTM, torch init | 0.25 (1000) | 0.28 (1000) | 0.26 (1000) | 0/3 |
# | 100 | GRU, torch init | 0.25 (1000) | 0.28 (1000) | 0.26 (1000) | 0/3 |
# | 200 | RNN, torch init | 0.53 (1000) | 0.28 (1000) | 0.25 (1000) | 0/3 |
# | 200 | RNN, orthogonal $W_{hh}$ | 0.28 (1000) | 1.00 (549) | 0.74 (1000) | 1/3 |
# | 200 | LSTM, chrono init | 1.00 (153) | 0.72 (1000) | 1.00 (159) | 2/3 |
# | 200 | GRU, chrono init | 1.00 (126) | 1.00 (141) | 1.00 (146) | 3/3 |
# | 200 | LSTM, torch init | 0.25 (1000) | 0.25 (1000) | 0.22 (1000) | 0/3 |
# | 200 | GRU, torch init | 0.25 (1000) | 0.27 (1000) | 0.23 (1000) | 0/3 |
#
# The picture of T = 60, stretched: with open gates the GRU learns T = 200 in under 150 steps every time, the LSTM
# in 2 runs of 3; the RNN from torch's init never; with an orthogonal $W_{hh}$ once in three runs, after many more
# steps; the gated cells with torch's init stay at chance. Three seeds are few: a picture, not a measured rate.

# %%
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    saved_tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    check_recap(DEVICE)
    print(f"✓ {torch.cuda.get_device_name()}: ScratchLSTM = nn.LSTM, ScratchGRU = nn.GRU (float64, |Δ| ≤ 1e-12)")
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved_tf32
    setups = [("RNN", False), ("RNN", True), ("LSTM", True), ("GRU", True), ("LSTM", False), ("GRU", False)]
    budget_s, t0 = 60, time.perf_counter()  # no new line is started after 60 s
    for T in (100, 200):
        for cell, memory in setups:
            if time.perf_counter() - t0 > budget_s:
                print(f"T = {T:>3}  {cell:<4} not run: this cell stops starting runs after {budget_s} s")
                continue
            runs = [run(cell, T, seed, memory, steps=1000, N=128, lr=0.01, device=DEVICE, dtype=torch.float32)
                    for seed in range(3)]
            init = ("orthogonal W_hh" if cell == "RNN" else "chrono init") if memory else "torch init"
            print(f"T = {T:>3}  {cell:<4} {init:<16} accuracy " + "  ".join(f"{r['acc']:.2f} ({r['steps']:>4} steps)" for r in runs))
else:
    print("No GPU here: skipped (this cell checks parity on CUDA and runs T = 100 and 200; the table above is from a CPU).")

# %% [markdown]
# ## Solutions
#
# Collapsed: click a cell to expand it. Each solution passes its checker; then typical mistakes show what the
# checkers say.

# %% solution
def input_grad_norms_solution(model, x, y):
    x = x.to(torch.float64).requires_grad_()  # convert first, then ask for the gradient: x is a leaf
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y), x)  # leaves the model's own .grad alone
    return grad.norm(dim=(1, 2))  # [T]


def chrono_init_solution(rnn, T):
    h = rnn.hidden_size
    with torch.no_grad():
        tau = torch.empty(h).uniform_(2, T)  # one memory time per unit
        b = torch.log(tau - 1)  # σ(b) = 1 − 1/τ
        rnn.bias_ih_l0[h:2 * h], rnn.bias_hh_l0[h:2 * h] = b, 0.0  # LSTM f, GRU z
        if isinstance(rnn, nn.LSTM):
            rnn.bias_ih_l0[:h], rnn.bias_hh_l0[:h] = -b, 0.0  # LSTM i: σ(−b) = 1/τ


assert check_input_grad_norms(input_grad_norms_solution)
assert check_chrono_init(chrono_init_solution)

# %% solution
# Typical mistakes: the norm over every axis at once, a sum instead of the mean loss, and the reset gate opened
# instead of the update gate.
def norm_of_everything(model, x, y):
    x = x.to(torch.float64).requires_grad_()
    F.cross_entropy(model(x), y).backward()
    return x.grad.norm()


def summed_loss(model, x, y):
    x = x.to(torch.float64).requires_grad_()
    F.cross_entropy(model(x), y, reduction="sum").backward()
    return x.grad.norm(dim=(1, 2))


def reset_gate_opened(rnn, T):
    h = rnn.hidden_size
    with torch.no_grad():
        rnn.bias_ih_l0[:h] = torch.log(torch.empty(h).uniform_(2, T) - 1)


assert not check_input_grad_norms(norm_of_everything)
assert not check_input_grad_norms(summed_loss)
assert not check_chrono_init(reset_gate_opened)
