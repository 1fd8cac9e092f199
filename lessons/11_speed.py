# %% [markdown]
# # 11 · Speed: from a Python loop to the library's kernel
#
# The language model of lesson 10 spends almost all its time in the LSTM. Swap `nn.LSTM` for the loop you wrote in
# lesson 06 and an epoch takes several times longer, for the same numbers. Where does the time go, and how close can
# a loop written in Python get?
#
# You will **count** the work of an LSTM before timing it, climb a **ladder** of small changes from the textbook
# loop to `nn.LSTM` (each rung checked equal to `nn.LSTM` before it is timed), write a **backward pass by hand**,
# and learn **why the library wins and where it does not**. Everything runs on the CPU; a collapsed section does
# the same on a GPU when there is one. **You should know** lessons 02 (the hoisted input product) and 06 (the LSTM
# step, gate order i, f, g, o).

# %%
import contextlib
import io
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F
from IPython.display import display

# A CUDA build of torch on a machine without the CUDA toolkit prints "No CUDA runtime is found" when the benchmark
# module loads: harmless here (nothing is compiled), so that one line is kept off the screen.
with contextlib.redirect_stderr(io.StringIO()):
    from torch.utils import benchmark

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # only the GPU cell uses it
F64 = torch.float64
EXACT = {"atol": 1e-12, "rtol": 0.0}  # float64: equal up to rounding
F32 = {"atol": 1e-5, "rtol": 1e-4}  # float32, two different kernels: a stated tolerance
T, N, d, H = 7, 3, 5, 6  # steps, batch, input features, hidden units: all different
THREADS = 1  # the notebook times on one thread: steadier on a shared machine (the benchmark states its own)


def check(label, ours, theirs, **tol):
    """Assert that ours equals theirs within tolerance, then print a one-line verdict."""
    torch.testing.assert_close(ours, theirs, **tol)
    print(f"✓ {label:<44} equals nn.LSTM, " + ("|Δ| ≤ 1e-12" if tol == EXACT else "float32 tolerance"))


# %% [markdown]
# ## 1 · Count first
#
# One LSTM step multiplies $X_t$ [N, d] by $W_{ih}^\top$ [d, 4H] and $H_{t-1}$ [N, H] by $W_{hh}^\top$ [H, 4H]: about
# $8NH(d + H)$ floating-point operations (FLOPs), plus ~20NH for the gates. Over T steps the forward pass does
#
# $$\text{FLOPs} \approx 8\,T N H (d + H), \qquad \text{training (forward + backward)} \approx 3\times \text{that}.$$
#
# The fewest bytes it must touch are the inputs, the outputs and the weights: $4\,[T N (d + H) + 4H(d + H)]$ in
# float32. At N = 16, H = d = 256, T = 128 that is 2.1 GFLOP for 6.3 MB: about 340 FLOPs per byte, so the
# **products** set the floor, not memory. A machine's roof for them is measured, not guessed: time one `torch.mm` of
# the step's shapes. The other cost is **per operation**: each call of a torch function from Python costs about a
# microsecond whatever its size, and a loop makes ~10 calls per step.

# %%
def timer(fn, min_run_time=0.05):
    """Median seconds of fn() by torch.utils.benchmark: warm-up, repeated blocks, THREADS threads."""
    return benchmark.Timer("fn()", globals={"fn": fn}, num_threads=THREADS).blocked_autorange(
        min_run_time=min_run_time).median


def roof(n, h):
    """GFLOP/s of one torch.mm of a step's recurrent shapes [n, h] @ [h, 4h], and µs per tiny pointwise op."""
    a, w, tiny = torch.randn(n, h), torch.randn(h, 4 * h), torch.randn(1, 8)
    return 2 * n * h * 4 * h / timer(lambda: a @ w) / 1e9, timer(lambda: tiny.sigmoid_()) * 1e6

# %%
# NBVAL_IGNORE_OUTPUT
gflops, op_us = roof(16, 128)
print(f"this machine, {THREADS} thread(s): torch.mm [16, 128] @ [128, 512] at {gflops:.0f} GFLOP/s; "
      f"a tiny op costs {op_us:.1f} µs")

# %% [markdown]
# Keep those two numbers: each rung below gets a prediction from them before it is timed.

# %% [markdown]
# ## 2 · The ladder, forward
#
# Every rung has the same signature as a step loop: `x` [T, N, d], `h`, `c` [N, H] and `nn.LSTM`'s four
# parameters; it returns `output, (h_n, c_n)`. Each is checked equal to `nn.LSTM` in float64 before anyone times it.
# The course's `lstm_step` and `parity` (lessons 02 and 06) are collapsed below.

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


class Rung(nn.Module):
    """A rung as a module holding its own copy of an nn.LSTM's weights, for parity(): (x, (h0, c0)) like nn.LSTM."""

    def __init__(self, fn, lstm):
        super().__init__()
        self.fn = fn
        for name, p in lstm.named_parameters():
            self.register_parameter(name, nn.Parameter(p.detach().clone()))

    def forward(self, x, hx):
        y, (h_n, c_n) = self.fn(x, hx[0][0], hx[1][0], *self.parameters())
        return y, (h_n[None], c_n[None])


torch.manual_seed(1)
ref = nn.LSTM(d, H, dtype=F64)
X, H0, C0 = torch.randn(T, N, d, dtype=F64), torch.randn(1, N, H, dtype=F64), torch.randn(1, N, H, dtype=F64)
W = [p.detach() for p in ref.parameters()]  # weight_ih [4H, d], weight_hh [4H, H], bias_ih, bias_hh [4H]
with torch.no_grad():
    want = ref(X, (H0, C0))
want = (want[0], (want[1][0][0], want[1][1][0]))  # output [T, N, H], (h_n, c_n) [N, H] each


def forward_check(label, fn, dtype=F64, batch=N):
    """Assert fn(x, h, c, *weights) equals nn.LSTM (no gradients), in float64 exactly or float32 at F32."""
    torch.manual_seed(2)
    twin = nn.LSTM(d, H, dtype=dtype)
    x, h0, c0 = (torch.randn(*s, dtype=dtype) for s in ((T, batch, d), (1, batch, H), (1, batch, H)))
    with torch.no_grad():
        y, (h_n, c_n) = twin(x, (h0, c0))
        check(label, fn(x, h0[0], c0[0], *twin.parameters()), (y, (h_n[0], c_n[0])), **(EXACT if dtype == F64 else F32))

# %% [markdown]
# **Rung 1, one weight per gate.** Textbooks write four gates with two matrices each: **8 products** per step, each
# a separate call.

# %%
def per_gate(x, h, c, w_ih, w_hh, b_ih, b_hh):
    (W_ii, W_if, W_ig, W_io), (W_hi, W_hf, W_hg, W_ho) = w_ih.chunk(4), w_hh.chunk(4)
    b_i, b_f, b_g, b_o = (b_ih + b_hh).chunk(4)
    out = []
    for x_t in x:
        i = torch.sigmoid(x_t @ W_ii.T + h @ W_hi.T + b_i)
        f = torch.sigmoid(x_t @ W_if.T + h @ W_hf.T + b_f)
        g = torch.tanh(x_t @ W_ig.T + h @ W_hg.T + b_g)
        o = torch.sigmoid(x_t @ W_io.T + h @ W_ho.T + b_o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        out.append(h)
    return torch.stack(out), (h, c)


def stacked(x, h, c, w_ih, w_hh, b_ih, b_hh):
    out = []
    for x_t in x:
        h, c = lstm_step(x_t, h, c, w_ih, w_hh, b_ih, b_hh)
        out.append(h)
    return torch.stack(out), (h, c)


forward_check("rung 1: one weight per gate", per_gate)
forward_check("rung 2: gates stacked (lstm_step)", stacked)

# %% [markdown]
# **Rung 2, gates stacked**, is lesson 06's loop: the four blocks live in one [4H, ·] matrix, so **2 products** per
# step, each 4 times larger. Larger products run closer to the roof, and there are fewer calls.
#
# **Rung 3, the input product hoisted.** $X_t W_{ih}^\top$ does not depend on the state: compute it for all T steps
# at once, before the loop, as one product of [T·N, d] by [d, 4H] (lesson 02 did this for the RNN). The loop keeps
# one product per step, and `torch.addmm(G_t, h, W_hhᵀ)` adds it to $G_t$ in the same call.
#
# **Exercise 1 (build the core).** Write the hoisted loop. Both biases go into $G$ once. The checker compares with
# `nn.LSTM` and says if the input product still sits inside the loop.

# %% hidden
def hoisted_variant(x, h, c, w_ih, w_hh, b_ih, b_hh, biases="ih hh", in_loop=False, order="ifgo", stack=True):
    """A (possibly wrong) hoisted loop, for the checker."""
    b = (b_ih if "ih" in biases else 0) + (b_hh if "hh" in biases else 0)
    G = F.linear(x, w_ih) + b
    out = []
    for g_t in G.unbind(0):
        z = dict(zip(order, (g_t + h @ w_hh.T + (b if in_loop else 0)).chunk(4, -1)))
        c = z["f"].sigmoid() * c + z["i"].sigmoid() * z["g"].tanh()
        h = z["o"].sigmoid() * c.tanh()
        out.append(h)
    return (torch.stack(out) if stack else out), (h, c)


def check_hoisted(fn):
    """Compare fn with nn.LSTM(5, 4) on 12 steps of a batch of 2; name the slip; check the input product is hoisted."""
    with torch.random.fork_rng():
        torch.manual_seed(31)
        lstm = nn.LSTM(5, 4, dtype=F64)
        x_, h_, c_ = torch.randn(12, 2, 5, dtype=F64), torch.randn(2, 4, dtype=F64), torch.randn(2, 4, dtype=F64)
    w = [p.detach() for p in lstm.parameters()]
    with torch.no_grad():
        y, (h_n, c_n) = lstm(x_, (h_[None], c_[None]))
    touches = []

    class CountReads(torch.overrides.TorchFunctionMode):  # counts the calls that read x's storage
        def __torch_function__(self, func, types, args=(), kwargs=None):
            flat = list(args) + list((kwargs or {}).values())
            if any(torch.is_tensor(a) and a.untyped_storage().data_ptr() == x_.untyped_storage().data_ptr()
                   for a in flat):
                touches.append(func)
            return func(*args, **(kwargs or {}))

    try:
        with CountReads():
            got = fn(x_, h_, c_, *w)
    except Exception as err:  # report the learner's error instead of raising it
        hint = ("weight_ih is [4H, d]: multiply by its transpose (F.linear(x, w_ih) or x @ w_ih.T)"
                if "shape" in str(err) or "size" in str(err) else "")
        print(f"✗ lstm_hoisted raised {type(err).__name__}: {err}" + (f"\n  Hint: {hint}." if hint else ""))
        return False
    if got is None:
        print("✗ not done yet: lstm_hoisted returned None.")
        return False
    if not (isinstance(got, tuple) and len(got) == 2 and isinstance(got[1], tuple) and len(got[1]) == 2):
        print("✗ return output, (h_n, c_n), as nn.LSTM does (h_n and c_n [N, H] here).")
        return False
    if not torch.is_tensor(got[0]):
        print(f"✗ output is a {type(got[0]).__name__}: stack the steps' h into one tensor [T, N, H] (torch.stack).")
        return False

    def same(a, b):
        return all(torch.allclose(p.detach().to(F64), q, rtol=0.0, atol=1e-10) for p, q in zip(a, b)) and \
            all(p.shape == q.shape for p, q in zip(a, b))

    if not same([got[0], *got[1]], [y, h_n[0], c_n[0]]):
        slips = {"bias_hh is missing: G = x W_ihᵀ + b_ih + b_hh": {"biases": "ih"},
                 "bias_ih is missing: G = x W_ihᵀ + b_ih + b_hh": {"biases": "hh"},
                 "the biases are added twice, in G and again in the loop: add them to G only": {"in_loop": True},
                 "the gate blocks are in torch's order i, f, g, o": {"order": "ifog"}}
        for message, kw in slips.items():
            v = hoisted_variant(x_, h_, c_, *w, **kw)
            if same([got[0], *got[1]], [v[0], *v[1]]):
                print(f"✗ {message}.")
                return False
        print("✗ output differs from nn.LSTM's: G = x W_ihᵀ + b_ih + b_hh for all steps, then per step "
              "i, f, g, o = G_t + h W_hhᵀ.")
        return False
    if len(touches) > 8:
        print(f"✗ right numbers, but x is read {len(touches)} times for 12 steps: the input product is still inside "
              "the loop. Compute G = x W_ihᵀ + b for all steps once, before it.")
        return False
    print("✓ lstm_hoisted equals nn.LSTM, and the input product is done once, before the loop.")
    return True

# %%
def lstm_hoisted(x, h, c, w_ih, w_hh, b_ih, b_hh):
    ...  # your code here: return output [T, N, H], (h_n, c_n)


exercise_1_passed = check_hoisted(lstm_hoisted)

# %% [markdown]
# The course's version. `G.unbind(0)` hands out the T slices at once; in training it matters (section 4).

# %%
def hoisted(x, h, c, w_ih, w_hh, b_ih, b_hh):
    G = F.linear(x, w_ih, b_ih + b_hh)  # [T, N, 4H]: every step's input product, one call
    out = []
    for g_t in G.unbind(0):
        i, f, g, o = torch.addmm(g_t, h, w_hh.T).chunk(4, -1)  # G_t + h W_hhᵀ in one call
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        out.append(h)
    return torch.stack(out), (h, c)


forward_check("rung 3: input product hoisted", hoisted)

# %% [markdown]
# **Rung 4, fewer calls.** Per step, rung 3 makes about 10 calls, each allocating a new tensor. Three changes cut
# that: reorder the weights' row blocks once to **i, f, o, g**, so **one** `sigmoid_` covers three gates; work **in
# place** (`mul_`, `addcmul_`, `out=`) in buffers made before the loop; write each h straight into a preallocated
# output. In-place work does not record gradients: this rung is for inference (`torch.no_grad`).

# %%
def regate(w, g_scale=1):
    """Row blocks i, f, g, o → i, f, o, g_scale·g (a weight [4H, ·] or a bias [4H])."""
    i, f, g, o = w.chunk(4)
    return torch.cat([i, f, o, g_scale * g])


def lean(x, h, c, w_ih, w_hh, b_ih, b_hh):
    T_, N_, H_ = x.shape[0], x.shape[1], w_hh.shape[1]
    G = F.linear(x, regate(w_ih), regate(b_ih + b_hh))  # [T, N, 4H], blocks i, f, o, g
    w_hhT = regate(w_hh).T.contiguous() if N_ == 1 else regate(w_hh).T  # (a vector product reads rows faster)
    Y, Z, c, tc = x.new_empty(T_, N_, H_), x.new_empty(N_, 4 * H_), c.clone(), torch.empty_like(c)
    sig, (i, f, o, g) = Z[:, :3 * H_], Z.split(H_, 1)  # views of Z, made once
    for g_t, y_t in zip(G.unbind(0), Y.unbind(0)):
        torch.addmm(g_t, h, w_hhT, out=Z)
        sig.sigmoid_()
        g.tanh_()
        c.mul_(f).addcmul_(i, g)  # c = f c + i g
        h = torch.mul(o, torch.tanh(c, out=tc), out=y_t)
    return Y, (h.clone(), c)


forward_check("rung 4: one sigmoid, in place, preallocated", lean)

# %% [markdown]
# **Rung 5, the library's own product.** `@` calls the BLAS library (MKL on most x86 builds); `nn.LSTM` runs on
# **oneDNN**, which packs $W_{hh}$ once into the layout its kernel streams fastest and uses the CPU's widest vector
# instructions. On this course's CPU (an AMD EPYC) oneDNN's product runs about twice as fast as `@`'s (section 5).
# The loop can call oneDNN too, through the private operators that `torch.compile` uses on CPUs
# (`torch.ops.mkldnn`, float32 only; they may change between torch versions). Two more tricks: `tanh` is several
# times slower than `sigmoid` in torch's CPU kernels, and $\tanh(z) = 2\sigma(2z) - 1$, so scaling the g rows by 2
# lets one `sigmoid_` cover all four gates. At small batches a oneDNN call costs more than it saves: rung 5 is
# rung 4 there.

# %%
ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def big(x):
    """Where a oneDNN call pays: float32 products of at least 8 rows on the CPU (a call costs ~10 µs)."""
    return ONEDNN and x.dtype == torch.float32 and x.shape[0] >= 8 and x.device.type == "cpu"


def pack(w, n):
    """w packed once by oneDNN for products of n rows, where oneDNN is used for them (else w itself)."""
    if ONEDNN and w.dtype == torch.float32 and n >= 8 and w.device.type == "cpu":  # where big() picks oneDNN
        return torch.ops.mkldnn._reorder_linear_weight(w, n)
    return w


def onednn(x, w, b=None, add=None):
    """x wᵀ + b (+ add): through oneDNN where big(x) (w may be packed), else through F.linear / addmm."""
    if big(x):
        if add is not None:
            return torch.ops.mkldnn._linear_pointwise.binary(x, add, w, b, "add")
        return torch.ops.mkldnn._linear_pointwise(x, w, b, "none", [], "")
    return F.linear(x, w, b) if add is None else torch.addmm(add, x, w.T)


def fast(x, h, c, w_ih, w_hh, b_ih, b_hh):
    T_, N_, H_ = x.shape[0], x.shape[1], w_hh.shape[1]
    if N_ < 8:
        return lean(x, h, c, w_ih, w_hh, b_ih, b_hh)
    G = onednn(x.reshape(T_ * N_, -1), regate(w_ih, 2), regate(b_ih + b_hh, 2)).view(T_, N_, 4 * H_)
    w_rec = pack(regate(w_hh, 2), N_)  # blocks i, f, o, 2g, packed once for batches of N_ rows
    Y, c, tc = x.new_empty(T_, N_, H_), c.clone(), torch.empty_like(c)
    for g_t, y_t in zip(G.unbind(0), Y.unbind(0)):
        i, f, o, s = onednn(h, w_rec, add=g_t).sigmoid_().split(H_, 1)  # s = σ(2g): tanh(g) = 2s − 1
        c.mul_(f).addcmul_(i, s, value=2).sub_(i)  # c = f c + i (2s − 1)
        torch.mul(c, 2, out=tc).sigmoid_()  # σ(2c)
        h = torch.mul(o, tc, out=y_t).mul_(2).sub_(o)  # o tanh(c) = o (2σ(2c) − 1)
    return Y, (h.clone(), c)


forward_check("rung 5: oneDNN product, all gates one sigmoid", fast, batch=9)
forward_check("rung 5 in float32 (oneDNN where available)", fast, dtype=torch.float32, batch=9)

# %% [markdown]
# ## 3 · Timing done right
#
# `torch.utils.benchmark.Timer` runs a warm-up, repeats the call in blocks until `min_run_time` is spent, and
# reports the **median**; the thread count is stated. Machines are shared and noisy, so compare rungs as
# **ratios** to `nn.LSTM` measured in one run. The cell below times the ladder at a small size (so that the lesson
# stays fast) and puts each rung beside its **prediction**: T steps of its products at the roof measured in
# section 1, plus its calls at the measured cost per call.

# %% hidden
FORWARD = {"1 one weight per gate": per_gate, "2 gates stacked": stacked, "3 input product hoisted": hoisted,
           "4 fewer calls, in place": lean, "5 oneDNN product": fast}
CALLS = {"1 one weight per gate": 33, "2 gates stacked": 13, "3 input product hoisted": 12,
         "4 fewer calls, in place": 7, "5 oneDNN product": 11}  # torch calls per step (.T and chunk count too)


def time_forward(n, h, steps, rungs, min_run_time=0.05):
    """{name: ms} of each rung and of nn.LSTM, forward in float32 under no_grad, input size = h."""
    torch.manual_seed(3)
    lstm, x = nn.LSTM(h, h), torch.randn(steps, n, h)
    h0, c0, w = torch.zeros(n, h), torch.zeros(n, h), [p.detach() for p in lstm.parameters()]
    with torch.no_grad():
        ms = {"nn.LSTM": timer(lambda: lstm(x), min_run_time) * 1e3}
        for name, fn in rungs.items():
            ms[name] = timer(lambda fn=fn: fn(x, h0, c0, *w), min_run_time) * 1e3
    return ms

# %%
# NBVAL_IGNORE_OUTPUT
n_, h_, t_ = 16, 128, 32
gflops, op_us = roof(n_, h_)
ms = time_forward(n_, h_, t_, FORWARD)
product_ms = 8 * t_ * n_ * h_ * (2 * h_) / 1e9 / gflops * 1e3  # the two products of every step at the roof
print(f"forward, N = {n_}, H = d = {h_}, T = {t_}, {THREADS} thread(s): ms (ratio to nn.LSTM) vs predicted ms")
for name, t in ms.items():
    guess = "" if name == "nn.LSTM" else f"   predicted {product_ms + t_ * CALLS[name] * op_us / 1e3:6.2f}"
    print(f"  {name:<26} {t:7.2f} ({t / ms['nn.LSTM']:4.1f}×){guess}")

# %% [markdown]
# The prediction is a floor, and each rung lands a little above it: the loop also pays for its pointwise passes
# over memory, and rung 1's products are a quarter of the size the roof was measured on, so they run below it.
# `nn.LSTM` lands far below every loop's prediction: its product is faster than the `@` we measured (section 5
# says why) and its whole loop is one call.

# %% [markdown]
# ## 4 · Training: forward and backward
#
# Autograd records every call of the loop and replays it backwards: twice the calls, each a little kernel. Rung 3
# with autograd is lesson 02's loop made trainable. One trap: indexing `G[t]` instead of `G.unbind(0)` makes the
# backward pass build a zero gradient the size of all of G **at every step** (in a measured case 191 → 100 ms).
#
# The next rung writes the backward pass **by hand**, as a `torch.autograd.Function`: the forward loop saves the
# gates; the backward loop walks the steps in reverse. For one step, with the saved gates σ(i), σ(f), tanh(g),
# σ(o) and the incoming gradients dh (of $H_t$) and dc (of $C_t$, from step t + 1):
#
# $$dc \mathrel{+}= dh \odot \sigma(o) \odot (1 - \tanh^2 C_t), \qquad d_o = dh \odot \tanh C_t \odot \sigma'(o),$$
# $$d_i = dc \odot \tanh g \odot \sigma'(i), \quad d_f = dc \odot C_{t-1} \odot \sigma'(f), \quad
#   d_g = dc \odot \sigma(i) \odot (1 - \tanh^2 g), \quad dc_{t-1} = dc \odot \sigma(f),$$
#
# with $\sigma'(z) = \sigma(z)(1 - \sigma(z))$, and $dh_{t-1} = [d_i \mid d_f \mid d_g \mid d_o]\, W_{hh}$.
#
# **Exercise 2 (build the core).** Write that step: return the gradient of the four pre-activation blocks
# [N, 4H] in torch's order and $dc_{t-1}$. The checker compares with autograd through `lstm_step`.

# %% hidden
def step_backward_variant(dh, dc, gates, c_prev, c, h_path=True, g_sigmoid=False, keep_f=True, old_c=False):
    """A (possibly wrong) one-step LSTM backward, for the checker."""
    si, sf, tg, so = gates.chunk(4, -1)
    tc = torch.tanh(c_prev if old_c else c)
    dc = dc + (dh * so * (1 - tc**2) if h_path else 0)
    d_g = dc * si * (tg * (1 - tg) if g_sigmoid else 1 - tg**2)
    d_pre = torch.cat([dc * tg * si * (1 - si), dc * c_prev * sf * (1 - sf), d_g, dh * tc * so * (1 - so)], -1)
    return d_pre, (dc * sf if keep_f else dc)


def check_step_backward(fn):
    """Compare fn with autograd through lstm_step on a batch of 3, H = 4; name the slip. Returns True/False."""
    with torch.random.fork_rng():
        torch.manual_seed(32)
        x_, h_, c_ = torch.randn(3, 5, dtype=F64), torch.randn(3, 4, dtype=F64), torch.randn(3, 4, dtype=F64)
        w = [torch.randn(16, 5, dtype=F64), torch.randn(16, 4, dtype=F64), torch.randn(16, dtype=F64)]
        dh, dc = torch.randn(3, 4, dtype=F64), torch.randn(3, 4, dtype=F64)
    pre = (x_ @ w[0].T + h_ @ w[1].T + w[2]).requires_grad_()
    c_prev = c_.clone().requires_grad_()
    i, f, g, o = pre.chunk(4, -1)
    c_new = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    h_new = torch.sigmoid(o) * torch.tanh(c_new)
    ((h_new * dh).sum() + (c_new * dc).sum()).backward()
    want = (pre.grad, c_prev.grad)
    gates = torch.cat([i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()], -1).detach()
    args = (dh, dc, gates, c_, c_new.detach())
    try:
        got = fn(*args)
    except Exception as err:  # report the learner's error instead of raising it
        print(f"✗ lstm_step_backward raised {type(err).__name__}: {err}")
        return False
    if got is None:
        print("✗ not done yet: lstm_step_backward returned None.")
        return False
    if not (isinstance(got, tuple) and len(got) == 2 and all(torch.is_tensor(v) for v in got)):
        print("✗ return a pair of tensors: (d_pre [N, 4H], dc_prev [N, H]).")
        return False
    if tuple(got[0].shape) != (3, 16) or tuple(got[1].shape) != (3, 4):
        print(f"✗ shapes {tuple(got[0].shape)} and {tuple(got[1].shape)}: expected d_pre (N, 4H) = (3, 16) and "
              "dc_prev (N, H) = (3, 4); concatenate the four blocks along the last dimension.")
        return False

    def same(a, b):
        return all(torch.allclose(p.detach().to(F64), q, rtol=0.0, atol=1e-10) for p, q in zip(a, b))

    if same(got, want):
        print("✓ lstm_step_backward equals autograd: all four gate gradients and dc_prev.")
        return True
    slips = {"dc misses the path through h: add dh ⊙ σ(o) ⊙ (1 − tanh²(c)) to dc first": {"h_path": False},
             "g goes through tanh, not σ: its derivative is 1 − tanh²(g)": {"g_sigmoid": True},
             "dc_prev = dc ⊙ σ(f): the old cell state reaches c through the forget gate": {"keep_f": False},
             "h = σ(o) ⊙ tanh(c) uses the NEW cell state c, not c_prev": {"old_c": True}}
    for message, kw in slips.items():
        if same(got, step_backward_variant(*args, **kw)):
            print(f"✗ {message}.")
            return False
    blocks, wanted = got[0].detach().to(F64).chunk(4, -1), want[0].chunk(4, -1)
    if all(any(torch.allclose(b, w_) for w_ in wanted) for b in blocks):
        print("✗ the four blocks are right but out of order: torch's is i, f, g, o.")
    elif same([got[1]], [want[1]]):
        print("✗ dc_prev is right, d_pre is not: check each block against the formulas above, in the order i, f, g, o.")
    else:
        print("✗ differs from autograd: first dc += dh ⊙ σ(o) ⊙ (1 − tanh²(c)), then the four blocks and dc ⊙ σ(f).")
    return False

# %%
def lstm_step_backward(dh, dc, gates, c_prev, c):
    """gates [N, 4H] = [σ(i) | σ(f) | tanh(g) | σ(o)]; dh, dc, c_prev, c [N, H] → (d_pre [N, 4H], dc_prev [N, H])."""
    ...  # your code here


exercise_2_passed = check_step_backward(lstm_step_backward)

# %% [markdown]
# The `Function` below does exactly that, with two speed-ups: the factors that do not depend on the recurrence
# (σ′, 1 − tanh², …) are computed **for all steps at once** before the loop, so each backward step is five small
# calls and one product; and the weight gradients are **three large products after the loop**, not T small ones.
# `gradcheck` compares it with finite differences, and `parity` with `nn.LSTM`, gradients included.

# %%
class LSTMFunction(torch.autograd.Function):
    """The hoisted LSTM loop with its backward pass by hand: x [T, N, d], h0, c0 [N, H] → output, h_n, c_n."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        T_, N_, H_ = x.shape[0], x.shape[1], w_hh.shape[1]
        gates = onednn(x.reshape(T_ * N_, -1), w_ih, b_ih + b_hh).view(T_, N_, 4 * H_)  # activated in place below
        w_rec = pack(w_hh, N_)
        Y, C, TC, h, c = x.new_empty(T_, N_, H_), x.new_empty(T_, N_, H_), x.new_empty(T_, N_, H_), h0, c0
        for z, y_t, c_t, tc_t in zip(gates.unbind(0), Y.unbind(0), C.unbind(0), TC.unbind(0)):
            a = onednn(h, w_rec, add=z)  # z + h W_hhᵀ
            i, f, g, o = a.split(H_, 1)
            i.sigmoid_(), f.sigmoid_(), g.tanh_(), o.sigmoid_()
            z.copy_(a)  # the activated gates, saved for the backward pass
            c = torch.mul(f, c, out=c_t).addcmul_(i, g)
            h = torch.mul(o, torch.tanh(c, out=tc_t), out=y_t)
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, gates, C, TC, Y)
        return Y, Y[-1].clone(), C[-1].clone()

    @staticmethod
    def backward(ctx, dY, dh, dc):
        x, h0, c0, w_ih, w_hh, gates, C, tc, Y = ctx.saved_tensors
        T_, N_, H_ = Y.shape
        si, sf, tg, so = gates.chunk(4, -1)  # [T, N, H] each
        C_prev = torch.cat([c0[None], C[:-1]])

        def d_sigmoid(s):  # σ' = σ − σ², in one call
            return torch.addcmul(s, s, s, value=-1)

        A = torch.addcmul(so, so, tc * tc, value=-1)  # σ(o) (1 − tanh² c): dc += dh ⊙ A
        K = torch.cat([tg * d_sigmoid(si), C_prev * d_sigmoid(sf), torch.addcmul(si, si, tg * tg, value=-1),
                       tc * d_sigmoid(so)], -1)  # [d_i | d_f | d_g] = dc ⊙ K[:, :, :3H], d_o = dh ⊙ K[:, :, 3H:]
        w_back = pack(w_hh.T.contiguous(), N_)  # dh_{t−1} = d_pre W_hh = d_pre (W_hhᵀ)ᵀ
        dG = torch.empty_like(gates)
        for t in range(T_ - 1, -1, -1):
            dh = dY[t] + dh
            dc = torch.addcmul(dc, dh, A[t])
            torch.mul(torch.cat([dc, dc, dc, dh], 1), K[t], out=dG[t])  # [d_i | d_f | d_g | d_o]
            dc = dc * sf[t]
            dh = onednn(dG[t], w_back)
        dG2, H_prev = dG.view(T_ * N_, 4 * H_), torch.cat([h0[None], Y[:-1]]).view(T_ * N_, H_)
        dx = onednn(dG2, w_ih.T).view(x.shape)
        dw_ih = onednn(x.reshape(T_ * N_, -1).T, dG2.T).T  # (xᵀ d_pre)ᵀ: the faster order for oneDNN
        dw_hh = onednn(H_prev.T, dG2.T).T
        db = dG2.sum(0)
        return dx, dh, dc, dw_ih, dw_hh, db, db


def by_hand(x, h, c, w_ih, w_hh, b_ih, b_hh):
    y, h_n, c_n = LSTMFunction.apply(x, h, c, w_ih, w_hh, b_ih, b_hh)
    return y, (h_n, c_n)


small = [torch.randn(s, dtype=F64, requires_grad=True) for s in ((3, 2, 5), (2, 4), (2, 4), (16, 5), (16, 4), (16,), (16,))]
assert torch.autograd.gradcheck(lambda *a: by_hand(*a)[0], small, raise_exception=False), "gradcheck failed"
for name, fn in [("rung 2 with autograd", stacked), ("rung 3 with autograd", hoisted), ("backward by hand", by_hand)]:
    n = parity(Rung(fn, ref), ref, X, (H0, C0), **EXACT)
    print(f"✓ {name:<22} equals nn.LSTM: {n} tensors (output, h_n, c_n, every gradient), |Δ| ≤ 1e-12")
ref32 = nn.LSTM(d, H)
ref32.load_state_dict(ref.state_dict())
parity(Rung(by_hand, ref32), ref32, X.float(), (H0.float(), C0.float()), **F32)
print("✓ backward by hand in float32 (oneDNN where available) equals nn.LSTM within the float32 tolerance")

# %% hidden
TRAINING = {"2 gates stacked": stacked, "3 input product hoisted": hoisted, "6 backward by hand": by_hand}


def time_training(n, h, steps, rungs, min_run_time=0.05):
    """{name: ms} of forward + backward of each rung and of nn.LSTM, float32, input size = h."""
    torch.manual_seed(4)
    lstm, x, dy = nn.LSTM(h, h), torch.randn(steps, n, h, requires_grad=True), torch.randn(steps, n, h)
    h0, c0, w = torch.zeros(n, h), torch.zeros(n, h), list(lstm.parameters())

    def step(fn):
        lstm.zero_grad(set_to_none=True)
        x.grad = None
        fn(x, h0, c0, *w)[0].backward(dy)

    ms = {"nn.LSTM": timer(lambda: step(lambda x, h, c, *w: lstm(x)), min_run_time) * 1e3}
    for name, fn in rungs.items():
        ms[name] = timer(lambda fn=fn: step(fn), min_run_time) * 1e3
    return ms

# %%
# NBVAL_IGNORE_OUTPUT
ms = time_training(16, 128, 32, TRAINING)
print(f"training (forward + backward), N = 16, H = d = 128, T = 32, {THREADS} thread(s): ms (ratio to nn.LSTM)")
for name, t in ms.items():
    print(f"  {name:<26} {t:7.2f} ({t / ms['nn.LSTM']:4.1f}×)")

# %% [markdown]
# ## 5 · The full benchmark, measured once
#
# `python ci/bench_speed.py` times the same rungs at three sizes, each the best of three interleaved rounds (a
# burst of load from another program spoils one round, not the comparison). Its results are copied here as
# constants: a lesson reads no file.

# %% hidden
# The committed results of `python ci/bench_speed.py` (figures/speed_cpu.json), copied as constants.
BENCH_NOTE = ("measured on AMD EPYC (2 cores), torch 2.13.0+cpu, 2026-12-02 19:53 UTC, float32; Timer medians, best of 3\n"
              "interleaved rounds; load average 0.0 at the start (1 thread), rising to 2.4 during the 2-thread rows")
BENCH = {  # threads: {(N, H = d, T): {rung: (forward ms, training ms)}}
    1: {
        (1, 128, 256): {
            'nn.LSTM': (0.846, 2.312),
            '1 one weight per gate': (10.355, None),
            '2 gates stacked': (6.126, 32.925),
            '3 input product hoisted': (4.726, 23.284),
            '4 fewer calls, in place': (2.873, None),
            '5 oneDNN product': (2.853, None),
            '6 backward by hand': (None, 11.278),
        },
        (16, 256, 128): {
            'nn.LSTM': (10.324, 31.637),
            '1 one weight per gate': (34.403, None),
            '2 gates stacked': (31.975, 98.099),
            '3 input product hoisted': (29.523, 87.317),
            '4 fewer calls, in place': (28.729, None),
            '5 oneDNN product': (18.995, None),
            '6 backward by hand': (None, 47.136),
        },
        (64, 512, 64): {
            'nn.LSTM': (73.704, 256.21),
            '1 one weight per gate': (179.806, None),
            '2 gates stacked': (177.134, 579.839),
            '3 input product hoisted': (182.62, 556.554),
            '4 fewer calls, in place': (183.556, None),
            '5 oneDNN product': (93.757, None),
            '6 backward by hand': (None, 291.501),
        },
    },
    2: {
        (1, 128, 256): {
            'nn.LSTM': (0.627, 1.875),
            '1 one weight per gate': (10.273, None),
            '2 gates stacked': (6.363, 26.709),
            '3 input product hoisted': (4.898, 47.35),
            '4 fewer calls, in place': (3.037, None),
            '5 oneDNN product': (3.044, None),
            '6 backward by hand': (None, 17.245),
        },
        (16, 256, 128): {
            'nn.LSTM': (5.131, 56.653),
            '1 one weight per gate': (24.048, None),
            '2 gates stacked': (160.948, 407.029),
            '3 input product hoisted': (120.49, 274.45),
            '4 fewer calls, in place': (17.655, None),
            '5 oneDNN product': (45.071, None),
            '6 backward by hand': (None, 137.311),
        },
        (64, 512, 64): {
            'nn.LSTM': (40.614, 157.221),
            '1 one weight per gate': (105.211, None),
            '2 gates stacked': (103.358, 376.97),
            '3 input product hoisted': (107.869, 338.134),
            '4 fewer calls, in place': (119.415, None),
            '5 oneDNN product': (57.667, None),
            '6 backward by hand': (None, 179.431),
        },
    },
}
BENCH_ROOF = {'onednn_gflops': 181.02, 'blas_gflops': 83.98, 'call_us': 0.57}  # 1 thread(s), N = 16, H = 256: GFLOP/s of a step's product, µs a call

# %% hidden
GOALS = {(1, 128, 256): 3.0, (16, 256, 128): 1.5, (64, 512, 64): 1.1}  # forward; training at (16, 256, 128): 1.3


def show_bench(threads):
    """The committed benchmark at one thread count: ratios to nn.LSTM per rung and size, and a plot."""
    runs = BENCH[threads]
    sizes = list(runs)
    print(f"{threads} thread(s):")
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4), sharey=True)
    for ax, (kind, col) in zip(axes, (("forward", 0), ("training", 1))):
        print(f"{kind + ': time ÷ nn.LSTM':<34}" + "".join(f"{f'N={n} H={h} T={t}':>17}" for n, h, t in sizes))
        names = [k for k in runs[sizes[0]] if runs[sizes[0]][k][col] is not None]
        for j, name in enumerate(names):
            ratios = [runs[s][name][col] / runs[s]["nn.LSTM"][col] for s in sizes]
            cells = [f"{runs[s]['nn.LSTM'][col]:.1f} ms" for s in sizes] if name == "nn.LSTM" else \
                [f"{r:.2f}×" for r in ratios]
            print(f"  {name:<32}" + "".join(f"{c:>17}" for c in cells))
            if name != "nn.LSTM":
                ax.bar([i + 0.8 * j / len(names) for i in range(len(sizes))], ratios, 0.8 / len(names), label=name)
        ax.axhline(1, color="black", lw=1)
        ax.set(yscale="log", title=f"{kind}, {threads} thread(s): time ÷ nn.LSTM's (1 = as fast)")
        ax.set_xticks([i + 0.3 for i in range(len(sizes))], [f"N={n} H={h} T={t}" for n, h, t in sizes], fontsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    plt.show()


def show_goals():
    """The best loop against the goals set for this lesson, at every thread count measured."""
    for threads, runs in BENCH.items():
        verdicts = []
        for s, goal in GOALS.items():
            best = min(v[0] for k, v in runs[s].items() if k != "nn.LSTM" and v[0] is not None) / runs[s]["nn.LSTM"][0]
            verdicts.append(f"N={s[0]}: {best:.2f}× (≤ {goal}× {'✓' if best <= goal else '✗'})")
        train = runs[(16, 256, 128)]["6 backward by hand"][1] / runs[(16, 256, 128)]["nn.LSTM"][1]
        verdicts.append(f"training N=16: {train:.2f}× (≤ 1.3× {'✓' if train <= 1.3 else '✗'})")
        print(f"{threads} thread(s), best loop ÷ nn.LSTM, forward " + "; ".join(verdicts))

# %%
print(BENCH_NOTE)
show_bench(1)
show_goals()

# %% [markdown]
# ## 6 · Why the library wins, and where it does not
#
# Read against the table above (one thread; two threads in the last line):
#
# - **Batch 1: calls, not arithmetic.** At N = 1, H = 128 a step's product takes a few µs, about as long as
#   three or four calls from Python. The best loop makes 7 calls a step; `nn.LSTM` makes one call for the whole
#   sequence. Fewer calls is all the ladder can do there: 3.4× (goal ≤ 3×).
# - **Batch 16: first the product's kernel.** `@` goes to this CPU's BLAS, which runs the step's product at
#   84 GFLOP/s; oneDNN runs it at 181. Rungs 1–4 cannot beat that, whatever else they do. Rung 5 calls
#   oneDNN and reaches 1.84× (goal ≤ 1.5×): its T separate products still lose to `nn.LSTM`'s one oneDNN call,
#   and its ~10 pointwise calls a step cost the rest.
# - **Batch 64, H = 512: the products are everything.** On the same kernel the loop reaches 1.27× (goal ≤ 1.1×).
# - **Training.** The backward by hand reaches 1.49× at N = 16 (goal ≤ 1.3×) and 1.14× at N = 64: it makes
#   ~6 passes over memory per step where oneDNN fuses them in one.
# - **On a GPU**, each call also costs a kernel launch (~10 µs), and cuDNN's persistent kernels keep $W_{hh}$ on
#   chip across all T steps (collapsed section below).
#
# So: train with the library unless you need a cell it lacks; then hoist, stack, cut calls, and write the backward
# pass by hand.

# %% [markdown]
# ## 7 · Play: predict before you time
#
# Set the batch, hidden size and steps; the model of section 1 predicts the forward time on the benchmark's machine
# from its measured roof and call cost, and shows which of the two dominates.

# %% hidden
def predict(batch=16, hidden=256, steps=128, calls_per_step=7):
    """Widget callback: FLOPs, bytes and the predicted forward time of a loop. Returns a dict, or None with a message."""
    for name, v, hi in (("batch", batch, 4096), ("hidden", hidden, 8192), ("steps", steps, 100_000),
                        ("calls_per_step", calls_per_step, 100)):
        if not (isinstance(v, int) and 1 <= v <= hi):
            print(f"⚠ {name} = {v!r}: choose a whole number from 1 to {hi}.")
            return None
    flops = 8 * steps * batch * hidden * (2 * hidden)
    mbytes = 4 * (steps * batch * 2 * hidden + 4 * hidden * 2 * hidden) / 1e6
    compute_ms = flops / BENCH_ROOF["onednn_gflops"] / 1e6
    calls_ms = steps * calls_per_step * BENCH_ROOF["call_us"] / 1e3
    print(f"N = {batch}, H = d = {hidden}, T = {steps}: {flops / 1e9:.3f} GFLOP, {mbytes:.1f} MB, "
          f"{flops / mbytes / 1e6:.0f} FLOP/byte; predicted ≥ {compute_ms:.2f} ms of products + {calls_ms:.2f} ms of "
          f"calls → {'calls' if calls_ms > compute_ms else 'products'} dominate")
    fig, ax = plt.subplots(figsize=(6, 1.6))
    ax.barh([0], [compute_ms], color="#4a86c5", label="products at the roof")
    ax.barh([0], [calls_ms], left=[compute_ms], color="#e69138", label=f"{calls_per_step} calls per step")
    ax.set(yticks=[], xlabel="predicted ms (the benchmark's machine)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    plt.show()
    return {"gflop": flops / 1e9, "compute_ms": compute_ms, "calls_ms": calls_ms}

# %%
# NBVAL_IGNORE_OUTPUT
display(widgets.interactive(predict, batch=widgets.IntSlider(value=16, min=1, max=256, description="batch N"),
                            hidden=widgets.IntSlider(value=256, min=16, max=1024, step=16, description="hidden H"),
                            steps=widgets.IntSlider(value=128, min=1, max=512, description="steps T"),
                            calls_per_step=widgets.IntSlider(value=7, min=1, max=30, description="calls/step")))

# %% [markdown]
# The same callback in plain cells: batch 1 is all calls; batch 64 at H = 512 is all products; a bad value gets a
# message.

# %%
assert predict(1, 128, 256)["calls_ms"] > predict(1, 128, 256)["compute_ms"]
assert predict(64, 512, 64)["compute_ms"] > predict(64, 512, 64)["calls_ms"]
assert predict(0) is None and predict(16, 256, 128, 2.5) is None

# %% [markdown]
# ## 8 · Summary
#
# | | |
# |---|---|
# | count | forward ≈ 8·T·N·H·(d + H) FLOPs, training ≈ 3×; bytes ≈ 4·[T·N·(d + H) + 4H·(d + H)] |
# | the ladder | one weight per gate → gates stacked (2 products/step) → input product hoisted (1/step) → one sigmoid, in place, preallocated → the library's product (oneDNN, packed weights) → `nn.LSTM` |
# | training | hoisted loop with `G.unbind(0)`, not `G[t]`; a backward by hand (`autograd.Function`, `gradcheck`) with the step-independent factors and the weight gradients out of the loop |
# | timing | `torch.utils.benchmark.Timer(...).blocked_autorange()`: warm-up, median, threads stated; ratios from one run |
# | why the library wins | batch 1: one C++ call vs ~10 Python calls per step; large batches: a faster product and fused gate arithmetic; GPU: persistent kernels |
#
# **Next:** back to the models: the library's layers, which you now understand to the last call.

# %% [markdown] collapsed
# ## Going deeper: the fast loop as a drop-in `ScratchLSTM`

# %% [markdown]
# The top rungs packed as a layer with `nn.LSTM`'s constructor and parameters: the backward-by-hand `Function` when
# gradients are needed, rung 5 otherwise. It runs one layer in one direction and refuses, with a message, what it
# does not build (lesson 08 builds the rest).

# %% hidden
class ScratchLSTM(nn.Module):
    """nn.LSTM (one layer, one direction) on the ladder's top rungs: by_hand when training, fast otherwise."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        for name, v in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
            if not isinstance(v, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(v).__name__}")
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"{name} must be an integer greater than zero, got {v!r}")
        if num_layers != 1 or bidirectional or proj_size != 0 or not bias or dropout != 0:
            raise NotImplementedError("lesson 11's ScratchLSTM runs one layer, one direction, with both biases, "
                                      "no proj_size and no dropout (lesson 08's ScratchLSTM has them all)")
        self.input_size, self.hidden_size, self.batch_first = input_size, hidden_size, batch_first
        kw = {"device": device, "dtype": dtype}
        self.weight_ih_l0 = nn.Parameter(torch.empty(4 * hidden_size, input_size, **kw))
        self.weight_hh_l0 = nn.Parameter(torch.empty(4 * hidden_size, hidden_size, **kw))
        self.bias_ih_l0 = nn.Parameter(torch.empty(4 * hidden_size, **kw))
        self.bias_hh_l0 = nn.Parameter(torch.empty(4 * hidden_size, **kw))
        for p in self.parameters():
            nn.init.uniform_(p, -1 / math.sqrt(hidden_size), 1 / math.sqrt(hidden_size))

    def forward(self, input, hx=None):
        w = list(self.parameters())
        if not torch.is_tensor(input):
            raise TypeError(f"ScratchLSTM takes a tensor, got a {type(input).__name__} (packed input: lesson 08)")
        if input.dim() != 3 or input.shape[-1] != self.input_size or input.numel() == 0:
            raise ValueError(f"ScratchLSTM expects a batched, non-empty 3-D input with {self.input_size} features, "
                             f"got shape {tuple(input.shape)} (unbatched input: add a batch dimension)")
        if input.dtype != w[0].dtype:
            raise ValueError(f"input dtype {input.dtype} does not match the weights' dtype {w[0].dtype}")
        x = input.transpose(0, 1) if self.batch_first else input  # [T, N, d]
        want = (1, x.shape[1], self.hidden_size)
        if hx is None:
            hx = (x.new_zeros(want), x.new_zeros(want))
        if not (isinstance(hx, tuple) and len(hx) == 2 and all(torch.is_tensor(s) and tuple(s.shape) == want
                                                               and s.dtype == x.dtype for s in hx)):
            raise ValueError(f"hx must be the pair (h0, c0), each of shape {want} and dtype {x.dtype}")
        training = torch.is_grad_enabled() and (input.requires_grad or any(t.requires_grad for t in [*w, *hx]))
        y, (h_n, c_n) = (by_hand if training else fast)(x, hx[0][0], hx[1][0], *w)
        return (y.transpose(0, 1) if self.batch_first else y), (h_n[None], c_n[None])

# %%
torch.manual_seed(5)
s_lstm = ScratchLSTM(d, H, dtype=F64)
s_lstm.load_state_dict(ref.state_dict())
n = parity(s_lstm, ref, X, (H0, C0), **EXACT)
ref_bf, s_bf = nn.LSTM(d, H, batch_first=True, dtype=F64), ScratchLSTM(d, H, batch_first=True, dtype=F64)
s_bf.load_state_dict(ref_bf.state_dict())
parity(s_bf, ref_bf, X.transpose(0, 1), **EXACT)
with torch.no_grad():
    check("ScratchLSTM without gradients (rung 5)", s_lstm(X, (H0, C0)), ref(X, (H0, C0)), **EXACT)
print(f"✓ ScratchLSTM equals nn.LSTM with gradients (by hand): {n} tensors; batch_first too, |Δ| ≤ 1e-12")

# %% [markdown] collapsed
# ## Going deeper: on a GPU

# %% [markdown]
# On a GPU the same ladder meets two new rungs. A **CUDA graph** records the whole loop once and replays it as one
# launch, removing the ~10 µs of CPU time each kernel launch costs; `nn.LSTM` runs on **cuDNN**, in float32 (with
# TF32 off here, stated) and float16. GPU work is asynchronous, so the cell times with **CUDA events** after a
# warm-up. Without a GPU it prints one line.
#
# For reference, measured elsewhere (one NVIDIA H100 80GB HBM3, torch 2.11.0+cu130, cuDNN 9.19, float32, TF32 off,
# median of 7 runs; not this notebook's run), forward, ms, T = 256:
#
# | rung | N=1, H=256 | N=64, H=512 | N=256, H=1024 |
# |---|---|---|---|
# | one weight per gate | 99.7 | 115.6 | 82.1 |
# | gates stacked | 44.9 | 41.4 | 42.1 |
# | input product hoisted | 39.8 | 35.2 | 47.5 |
# | hoisted loop in one CUDA graph | 4.43 | 8.60 | 32.9 |
# | fused cell + CUDA graph | 1.49 | 4.86 | 28.4 |
# | nn.LSTM cuDNN float32 | 4.01 | 5.66 | 28.1 |
# | nn.LSTM cuDNN float16 | 6.62 | 2.03 | 4.71 |
#
# A graph-captured loop beat cuDNN float32 at batch 1; cuDNN's float16 persistent kernels win at large sizes.

# %%
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    import time

    real_gpu = torch.cuda.is_available()  # False when the tests open this branch on a CPU

    def gpu_ms(fn, reps=20):
        """Median ms of fn(): CUDA events after a warm-up on a GPU, perf_counter on a CPU."""
        fn()
        times = []
        for _ in range(reps):
            if real_gpu:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end))
            else:
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1e3)
        return sorted(times)[len(times) // 2]

    saved_tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False  # full float32, stated
    with torch.no_grad():
        lstm64 = nn.LSTM(d, H, dtype=F64, device=DEVICE)
        xg = torch.randn(T, N, d, dtype=F64, device=DEVICE)
        for name, fn in [("stacked", stacked), ("hoisted", hoisted), ("lean", lean)]:
            torch.testing.assert_close(fn(xg, xg.new_zeros(N, H), xg.new_zeros(N, H), *lstm64.parameters())[0],
                                       lstm64(xg)[0], **EXACT)
        rows = []
        for n_g, h_g, t_g in [(1, 256, 256), (64, 512, 256)]:
            lstm_g = nn.LSTM(h_g, h_g, device=DEVICE)
            x_g, z = torch.randn(t_g, n_g, h_g, device=DEVICE), torch.zeros(n_g, h_g, device=DEVICE)
            w_g = [p.detach() for p in lstm_g.parameters()]
            ms_g = {name: gpu_ms(lambda fn=fn: fn(x_g, z, z, *w_g)) for name, fn in
                    [("per_gate", per_gate), ("stacked", stacked), ("hoisted", hoisted), ("lean", lean)]}
            if real_gpu:  # the hoisted loop captured once as a CUDA graph, then replayed
                graph, stream = torch.cuda.CUDAGraph(), torch.cuda.Stream()
                stream.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(stream):
                    lean(x_g, z, z, *w_g)
                torch.cuda.current_stream().wait_stream(stream)
                with torch.cuda.graph(graph):
                    y_graph = lean(x_g, z, z, *w_g)[0]
                ms_g["lean, CUDA graph"] = gpu_ms(graph.replay)
                torch.testing.assert_close(y_graph, lstm_g(x_g)[0], atol=1e-4, rtol=1e-4)
                half = nn.LSTM(h_g, h_g, device=DEVICE, dtype=torch.float16)
                ms_g["nn.LSTM cuDNN float16"] = gpu_ms(lambda: half(x_g.half()))
            ms_g["nn.LSTM float32"] = gpu_ms(lambda: lstm_g(x_g))
            rows.append(f"N={n_g} H={h_g} T={t_g}: " + ", ".join(f"{k} {v:.2f}" for k, v in ms_g.items()))
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved_tf32
    print(f"✓ {torch.cuda.get_device_name()}, torch {torch.__version__}, TF32 off; every rung equals nn.LSTM; "
          "forward ms, median of 20: " + " | ".join(rows))
else:
    print("No GPU here: skipped (this cell times the ladder, a CUDA graph and cuDNN float32/float16 on a GPU).")

# %% [markdown] collapsed
# ## Going deeper: `torch.compile`

# %% [markdown]
# `torch.compile` can fuse the pointwise part of the step into one generated kernel. On the 2-core machine it made
# the batch-1 CPU loop slower (11.5 → 20.2 ms at N = 1, H = 128, T = 256, torch 2.13, measured offline): its compile
# time and per-call guards outweigh the fusion at these sizes, so this lesson does not compile in the notebook.
# Compiling the whole T-step loop is worse: compile time grows with T (16–23 s at T = 64 on a GPU). On a GPU the
# compiled cell pays: see the reference table above.

# %% [markdown]
# ## Solutions
#
# Collapsed so they stay out of the way. Each solution passes its checker; then a wrong answer shows what the
# checker says.

# %% solution
def lstm_hoisted_solution(x, h, c, w_ih, w_hh, b_ih, b_hh):
    G = x @ w_ih.T + b_ih + b_hh  # [T, N, 4H], once
    out = []
    for g_t in G.unbind(0):
        i, f, g, o = (g_t + h @ w_hh.T).chunk(4, -1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        out.append(h)
    return torch.stack(out), (h, c)


def lstm_step_backward_solution(dh, dc, gates, c_prev, c):
    si, sf, tg, so = gates.chunk(4, -1)
    tc = c.tanh()
    dc = dc + dh * so * (1 - tc**2)  # the path through h first
    d_pre = torch.cat([dc * tg * si * (1 - si), dc * c_prev * sf * (1 - sf), dc * si * (1 - tg**2),
                       dh * tc * so * (1 - so)], -1)
    return d_pre, dc * sf


assert check_hoisted(lstm_hoisted_solution)
assert check_step_backward(lstm_step_backward_solution)

# %% solution
# What the checkers say to two common mistakes:
assert not check_hoisted(lambda x, h, c, w_ih, w_hh, b_ih, b_hh: stacked(x, h, c, w_ih, w_hh, b_ih, b_hh))  # not hoisted
assert not check_step_backward(lambda *a: step_backward_variant(*a, h_path=False))  # forgot the path through h
