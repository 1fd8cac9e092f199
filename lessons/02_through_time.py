# %% [markdown]
# # 02 · Through time: `ScratchRNN` beside `nn.RNN`
#
# A review says *"not bad at all"*. Read one word at a time, "bad" means the opposite of what it says, because
# of "not" one word earlier. A recurrent network reads the same way: after each word it updates a **state**, its
# memory of everything read so far, with **the same weights at every step**. So one small set of weights reads
# a review of 4 words or of 400.
#
# Lesson 01 built one step. This lesson runs it through time:
#
# $$H_t = \varphi\left(X_t W_{xh} + H_{t-1} W_{hh} + b\right), \qquad t = 1, \dots, T$$
#
# You write that loop yourself and check it against PyTorch's `nn.RNN`. Then you wrap it in `ScratchRNN`, a
# drop-in twin of `nn.RNN` with one layer, and meet what confuses almost everyone: what `output` and `h_n` are,
# and what `batch_first` changes.
#
# **You should know:** lesson 01 (the step, torch's layout `weight_ih` = $W_{xh}^\top$, the two biases,
# `parity`).

# %% [markdown]
# ## Setup

# %%
import math

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F
from IPython.display import display
from IPython.utils.capture import capture_output

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # only the GPU cell uses it

# %% [markdown]
# ## 1 · From one step to a sequence
#
# A batch of N sequences, each T steps of d features, is one tensor **X** of shape [T, N, d]: `X[t]` is one
# step's [N, d] slice. Running the step T times gives T states of shape [N, h], and `nn.RNN` returns two things:
#
# - **output**: all the states $H_1, \dots, H_T$, stacked: [T, N, h]. Not $H_0$: it is an input, not a result.
# - **h_n**: the last state $H_T$ alone, with a leading axis of size 1: [1, N, h]. That axis counts *layers*
#   (lesson 04 stacks them).
#
# ![The RNN unrolled in time: H_0 enters the first copy of the cell, each cell takes X_t and the previous state and gives H_t; output stacks H_1 to H_T, and H_T is also h_n[0]](attachment:rnn_unrolled.png)
#
# Python counts from 0: `X[0]` is $X_1$ and `output[-1]` is $H_T$. Here is lesson 01's step, in torch's layout
# (`F.linear(x, w, b)` is $x w^\top + b$), and an `nn.RNN` with four **different** sizes, so that a mix-up of two
# axes is a shape error instead of a silent bug.

# %%
def rnn_step(x, h_prev, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """H_t = φ(x W_ihᵀ + b_ih + h_prev W_hhᵀ + b_hh).  x [N, d], h_prev [N, h] → H_t [N, h]."""
    a = F.linear(x, w_ih, b_ih) + F.linear(h_prev, w_hh, b_hh)
    return torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)


T, N, d, h = 6, 3, 4, 5
rnn = nn.RNN(input_size=d, hidden_size=h)
for name, p in rnn.named_parameters():
    print(f"{name:<13} {tuple(p.shape)}")

# %% [markdown]
# These are lesson 01's four parameters with a suffix `_l0`, for **layer 0**:
#
# | formula | in torch |
# |---|---|
# | $W_{xh}$ [d, h] | `weight_ih_l0.T` |
# | $W_{hh}$ [h, h] | `weight_hh_l0.T` |
# | $b$ [h] | `bias_ih_l0 + bias_hh_l0` |
#
# Its input is **sequence first**, (T, N, d), so that each step reads one contiguous [N, d] block. An initial
# state `h0` of shape [1, N, h] is optional: omitted, it is zeros.

# %% hidden
def as_pair(got, fn_name, dtype):
    """got as (output, h_n) if it is a pair of tensors of this dtype; otherwise say what is wrong, return None."""
    if got is None:
        print(f"✗ not done yet: {fn_name} returned None.")
    elif not (isinstance(got, (tuple, list)) and len(got) == 2):
        items = f" of {len(got)} items" if isinstance(got, (tuple, list)) else ""
        print(f"✗ {fn_name} returned a {type(got).__name__}{items}: return a pair (output, h_n), as nn.RNN does.")
    elif not isinstance(got[0], torch.Tensor):
        print(f"✗ output is a {type(got[0]).__name__}, not a tensor: stack the states with torch.stack(states).")
    elif not isinstance(got[1], torch.Tensor):
        print(f"✗ h_n is a {type(got[1]).__name__}, not a tensor: it is the last state with a layer axis.")
    elif got[0].dtype != dtype or got[1].dtype != dtype:
        print(f"✗ output and h_n are {got[0].dtype} and {got[1].dtype}, expected {dtype}: make new tensors with "
              "x's dtype, e.g. x.new_zeros(...).")
    else:
        return tuple(got)
    return None


def loop_slips(x, h0, w_ih, w_hh, b_ih, b_hh):
    """(output, hint) of the usual slips in the loop, in the order they are tested."""
    def run(x, H, w_ih, w_hh, b_ih, b_hh, phi=torch.tanh):
        states = []
        for x_t in x:
            H = phi(F.linear(x_t, w_ih, b_ih) + F.linear(H, w_hh, b_hh))
            states.append(H)
        return torch.stack(states)

    H0 = h0[0]
    return [(run(x, torch.zeros_like(H0), w_ih, w_hh, b_ih, b_hh), "you started from zeros: start from H_0 = h0[0]"),
            (run(x, H0, w_ih, w_hh, None, None), "you left out both biases, b_ih and b_hh"),
            (run(x, H0, w_ih, w_hh, None, b_hh), "you left out b_ih"),
            (run(x, H0, w_ih, w_hh, b_ih, None), "you left out b_hh"),
            (run(x, H0, w_ih, w_hh, 2 * b_ih, b_hh), "you added b_ih twice: P = x W_ihᵀ + b_ih holds it already"),
            (run(x, H0, w_ih, w_hh.T, b_ih, b_hh),
             "w_hh is stored transposed ([h, h] = W_hhᵀ): use h @ w_hh.T or F.linear(h, w_hh)"),
            (run(x, H0, w_ih, w_hh, b_ih, b_hh, torch.relu), "φ is tanh here, not relu"),
            (run(x.flip(0), H0, w_ih, w_hh, b_ih, b_hh), "your loop runs backwards in time: go t = 0, 1, …, T − 1"),
            (run(x.flip(0), H0, w_ih, w_hh, b_ih, b_hh).flip(0), "your loop runs backwards in time: go t = 0, 1, …, T − 1")]


def check_loop(fn, fn_name, products=None):
    """Run fn(x, h0, w_ih, w_hh, b_ih, b_hh) on fixed float64 data (T = 6, N = 2, d = 4, h = 5), outside no_grad;
    compare output, h_n and the gradients with nn.RNN's; name the first slip found. products: see section 5."""
    with torch.random.fork_rng():  # private random numbers: the learner's own seed is left alone
        torch.manual_seed(8)
        r = nn.RNN(4, 5, dtype=torch.float64)
        x, h0 = torch.randn(6, 2, 4, dtype=torch.float64), torch.randn(1, 2, 5, dtype=torch.float64)
    x_ref, h0_ref = x.clone().requires_grad_(), h0.clone().requires_grad_()
    want_out, want_hn = r(x_ref, h0_ref)
    want_grads = torch.autograd.grad((want_out**2).sum() + (want_hn**2).sum(), [x_ref, h0_ref, *r.parameters()])
    params = [p.detach().clone().requires_grad_() for p in r.parameters()]  # w_ih, w_hh, b_ih, b_hh
    x_in, h0_in = x.clone().requires_grad_(), h0.clone().requires_grad_()
    try:
        if products is None:
            got = fn(x_in, h0_in, *params)
        else:
            with products(params) as uses:
                got = fn(x_in, h0_in, *params)
    except Exception as err:  # report the learner's error instead of raising it
        print(f"✗ {fn_name} raised {type(err).__name__}: {err}\n  Hint: x[t] is [N, d] and w_ih [h, d], so "
              "F.linear(x[t], w_ih) or x[t] @ w_ih.T; h0 is [1, N, h], so start from h0[0]."
              + ("\n  For all steps at once: x is [T, N, d], so P = F.linear(x, w_ih, b_ih) or x @ w_ih.T + b_ih "
                 "is [T, N, h]." if products is not None else ""))
        return False
    got = as_pair(got, fn_name, x.dtype)
    if got is None:
        return False
    out, hn = got
    with torch.no_grad():
        def close(a, b):
            return a.shape == b.shape and torch.allclose(a, b, rtol=0.0, atol=1e-10)

        slips = loop_slips(x, h0, *[p.detach() for p in params])
        shape_hints = {(7, 2, 5): "output has T + 1 states: it holds H_1 … H_T, not H_0",
                       (12, 5): "torch.cat joins the states along an axis they have: torch.stack adds the time axis",
                       (6, 1, 2, 5): "h0 is [1, N, h]: start from its one layer, H_0 = h0[0]"}
        tests = [(lambda: tuple(out.shape) in shape_hints, shape_hints.get(tuple(out.shape))),
                 (lambda: tuple(out.shape) != (6, 2, 5), f"output has shape {tuple(out.shape)}, expected (6, 2, 5)"),
                 *[(lambda w=w: close(out, w), hint) for w, hint in slips],
                 (lambda: close(out[1:], want_out[:-1]), "off by one: append the state after each step, not before"),
                 (lambda: not close(out, want_out),
                  "output differs from nn.RNN's: H_t = tanh(x_t W_ihᵀ + b_ih + H_{t-1} W_hhᵀ + b_hh)"),
                 (lambda: tuple(hn.shape) == (2, 5), "h_n needs the layer axis: (1, N, h), e.g. H.unsqueeze(0)"),
                 (lambda: tuple(hn.shape) != (1, 2, 5), f"h_n has shape {tuple(hn.shape)}, expected (1, 2, 5)"),
                 (lambda: close(hn[0], want_out[0]), "h_n is the LAST state, output[-1], not output[0]"),
                 (lambda: not close(hn, want_hn), "h_n differs from nn.RNN's: it is the last state H_T")]
        for wrong, hint in tests:
            if wrong():
                print(f"✗ {hint}.")
                return False
    try:
        grads = torch.autograd.grad((out**2).sum() + (hn**2).sum(), [x_in, h0_in, *params], allow_unused=True)
    except Exception:  # noqa: BLE001 - nothing in the answer records gradients
        grads = [None]
    if any(g is None or not torch.allclose(g, w, rtol=0.0, atol=1e-10) for g, w in zip(grads, want_grads)):
        print("✗ right numbers, but the gradients differ from nn.RNN's: keep every step in the graph (no detach, "
              "no torch.no_grad(), no .item() or .data in the loop).")
        return False
    if products is not None and uses.library:
        print("✗ right numbers, but torch's own RNN function ran the loop: write the loop yourself, with one product "
              "for all the inputs before it.")
        return False
    if products is not None and uses.count != 1:
        print(f"✗ right numbers, but w_ih met the input in {uses.count} products: compute P = x W_ihᵀ + b_ih for "
              "all steps in ONE product before the loop, then use P[t]." if uses.count else
              "✗ right numbers, but w_ih never met the input: compute P = x W_ihᵀ + b_ih yourself, in one product.")
        return False
    print(f"✓ {fn_name} matches nn.RNN in float64: output, h_n and every gradient"
          + (", with one product for all the inputs." if products is not None else "."))
    return True


def check_rnn_forward(fn):
    """Exercise 1: the loop through time, compared with nn.RNN. Returns True/False and says what is wrong."""
    return check_loop(fn, "rnn_forward")

# %% [markdown]
# ## 2 · Your turn: the loop through time
#
# **Exercise 1 (build the core).** Write the forward pass of `nn.RNN` (tanh, one layer). Given `x` [T, N, d],
# `h0` [1, N, h] and torch's four parameters, start from $H_0$ = `h0[0]`, apply `rnn_step` at every step, and
# return `(output, h_n)` with the shapes above. `torch.stack(states)` stacks a list of [N, h] states into
# [T, N, h].
#
# The checker (collapsed above) compares your answer with `nn.RNN` in float64, gradients included, and names the
# usual slips. The solutions are collapsed at the end of the notebook: try first.

# %%
def rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh):
    ...  # your code here: return (output [T, N, h], h_n [1, N, h])

# %%
exercise_1_passed = check_rnn_forward(rnn_forward)

# %% [markdown]
# ## 3 · `ScratchRNN`: the loop inside a module
#
# Here is the loop of Exercise 1 inside a module, a drop-in twin of `nn.RNN`: the same constructor arguments and
# defaults, and torch's **parameter names, shapes and order**, so that `load_state_dict` copies weights either way.
#
# Two checks come first, in the collapsed cell below: `check_settings` refuses what `nn.RNN` refuses and what
# this one-layer module cannot do yet (more layers, dropout, two directions: lessons 04–05); `rnn_inputs` checks
# a call and brings every input to one layout, **X [T, N, d]** and **H_0 [N, h]**. It accepts batch-first
# (N, T, d) input and one unbatched sequence (T, d), as `nn.RNN` does.

# %% hidden
def check_settings(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout, bidirectional):
    """Refuse what nn.RNN refuses (with its messages), and what ScratchRNN cannot do yet (lessons 04 and 05)."""
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{name} must be greater than zero, got {value}")
    for name, value in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
        raise ValueError(f"dropout should be a number in range [0, 1], got {dropout!r}")
    if num_layers != 1:
        raise NotImplementedError(f"num_layers={num_layers}: ScratchRNN has one layer; lesson 04 stacks layers")
    if dropout:
        raise NotImplementedError(f"dropout={dropout}: dropout acts between stacked layers, which come in lesson 04")
    if bidirectional:
        raise NotImplementedError("bidirectional=True: the reverse direction comes in lesson 05")


def rnn_inputs(rnn, input, hx):
    """Check rnn(input, hx) as nn.RNN does. Returns X [T, N, d], H_0 [N, h] (zeros if hx is None), and whether
    the input was one unbatched sequence (T, d), here run as a batch of N = 1."""
    w = rnn.weight_ih_l0
    if isinstance(input, nn.utils.rnn.PackedSequence):
        raise TypeError("ScratchRNN does not take a PackedSequence yet: lesson 05 adds packed input")
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"input must be a tensor, got a {type(input).__name__}")
    if input.dim() not in (2, 3):
        layout = "(N, T, d)" if rnn.batch_first else "(T, N, d)"
        raise ValueError(f"expected input (T, d) or {layout}, got a {input.dim()}-D tensor {tuple(input.shape)}")
    for name, t in (("input", input), ("hx", hx)):
        if t is not None and not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a tensor, got a {type(t).__name__}")
        if t is not None and (t.dtype != w.dtype or t.device != w.device):
            raise ValueError(f"{name} is {t.dtype} on {t.device}, the weights {w.dtype} on {w.device}: "
                             f"convert one, e.g. {name}.to(rnn.weight_ih_l0)")
    unbatched = input.dim() == 2  # batch_first is ignored for unbatched input, as in torch
    X = input.unsqueeze(1) if unbatched else input.transpose(0, 1) if rnn.batch_first else input
    T_, N_, d_ = X.shape
    if d_ != rnn.input_size:
        raise RuntimeError(f"input has {d_} features in its last dimension, expected input_size={rnn.input_size}")
    if T_ == 0:
        raise RuntimeError("the sequence is empty (T = 0 steps): no step to run, no last state to return")
    if hx is None:
        return X, X.new_zeros(N_, rnn.hidden_size), unbatched
    want = (1, rnn.hidden_size) if unbatched else (1, N_, rnn.hidden_size)
    if tuple(hx.shape) != want:
        hint = (" Add the layer axis: hx.unsqueeze(0)." if tuple(hx.shape) == want[1:] else
                " batch_first applies to input and output only: h0 stays (num_layers, N, h)." if rnn.batch_first else "")
        which = ("hx for unbatched input must be (num_layers, h)" if unbatched
                 else f"hx for a batch of N = {N_} must be (num_layers, N, h)")
        raise RuntimeError(f"{which} = {want}, got {tuple(hx.shape)}.{hint}")
    return X, (hx if unbatched else hx[0]), unbatched  # unbatched hx (1, h) is already [N = 1, h]


print("check_settings and rnn_inputs: defined (click the cell to read them; 'Going deeper' shows them at work)")

# %%
class ScratchRNN(nn.Module):
    """nn.RNN with one layer, one direction: H_t = φ(X_t W_xh + H_{t-1} W_hh + b), stored as torch stores it."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__()
        check_settings(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout, bidirectional)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.nonlinearity, self.bias, self.batch_first = nonlinearity, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        kw = {"device": device, "dtype": dtype}
        self.weight_ih_l0 = nn.Parameter(torch.empty(hidden_size, input_size, **kw))  # W_xh.T
        self.weight_hh_l0 = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))  # W_hh.T
        if bias:  # bias=False: simply absent, as in nn.RNN
            self.bias_ih_l0 = nn.Parameter(torch.empty(hidden_size, **kw))
            self.bias_hh_l0 = nn.Parameter(torch.empty(hidden_size, **kw))
        for p in self.parameters():  # torch's initialisation: U(-1/√h, 1/√h)
            nn.init.uniform_(p, -1.0 / math.sqrt(hidden_size), 1.0 / math.sqrt(hidden_size))

    def forward(self, input, hx=None):
        X, H, unbatched = rnn_inputs(self, input, hx)  # X [T, N, d], H = H_0 [N, h]
        b_ih, b_hh = (self.bias_ih_l0, self.bias_hh_l0) if self.bias else (None, None)
        states = []
        for x_t in X:  # H_t = φ(X_t W_xh + b_ih + H_{t-1} W_hh + b_hh)
            H = rnn_step(x_t, H, self.weight_ih_l0, self.weight_hh_l0, b_ih, b_hh, self.nonlinearity)
            states.append(H)
        output = torch.stack(states)  # [T, N, h]: H_1 … H_T
        if unbatched:
            return output[:, 0], H  # (T, h) and h_n (1, h)
        if self.batch_first:
            output = output.transpose(0, 1)  # (N, T, h); h_n keeps (1, N, h)
        return output, H.unsqueeze(0)

# %% [markdown]
# Copy `nn.RNN`'s weights in and run both on the same sequence:

# %%
scratch = ScratchRNN(d, h)
scratch.load_state_dict(rnn.state_dict())  # torch → scratch: the whole weight copy
X = torch.randn(T, N, d)
with torch.no_grad():
    output, h_n = scratch(X)
    t_output, t_h_n = rnn(X)
print(f"X {list(X.shape)} → output {list(output.shape)}, h_n {list(h_n.shape)}")
torch.testing.assert_close(output, t_output)  # float32: within assert_close's defaults, |Δ| ≤ 1e-5 + 1.3e-6·|theirs|
torch.testing.assert_close(h_n, t_h_n)
assert torch.equal(output[-1], h_n[0])
print("✓ ScratchRNN equals nn.RNN (float32 defaults of assert_close); output[-1] is h_n[0], bit for bit")

# %% [markdown]
# ## 4 · Parity: values and gradients
#
# Lesson 01's `parity(scratch, twin, *inputs)` (re-stated in the collapsed cell) runs both modules forward and
# backward on the same inputs and asserts that every output and every gradient match. `twin` makes a
# `ScratchRNN` with a torch module's settings and weights. In **float64** we ask for |Δ| ≤ 1e-12: that is
# `EXACT`, the tolerance `{"atol": 1e-12, "rtol": 0.0}`.

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


def twin(torch_rnn):
    """A ScratchRNN with torch_rnn's settings, dtype, device and a copy of its weights."""
    w = torch_rnn.weight_ih_l0
    s = ScratchRNN(torch_rnn.input_size, torch_rnn.hidden_size, nonlinearity=torch_rnn.nonlinearity,
                   bias=torch_rnn.bias, batch_first=torch_rnn.batch_first, device=w.device, dtype=w.dtype)
    s.load_state_dict(torch_rnn.state_dict())
    return s


EXACT = {"atol": 1e-12, "rtol": 0.0}  # float64: equal up to rounding

# %%
rnn64 = nn.RNN(d, h, dtype=torch.float64)
x64, h0_64 = torch.randn(T, N, d, dtype=torch.float64), torch.randn(1, N, h, dtype=torch.float64)
n = parity(twin(rnn64), rnn64, x64, h0_64, **EXACT)
print(f"✓ float64: {n} tensors match to 1e-12: output, h_n, the gradients of X and h0, and of the 4 parameters")

# %% [markdown]
# The collapsed grid below does the same for every combination of this module's settings: both
# nonlinearities, bias or not, `batch_first` or not, batched or unbatched input, `h0` given or omitted. It also
# checks the parameters' names, order and initial values against `nn.RNN`'s, and a float32 run.

# %% hidden
for bias in (True, False):  # same names, shapes, order, and the same initial values from the same seed
    torch.manual_seed(1)
    t_init = nn.RNN(d, h, bias=bias)
    torch.manual_seed(1)
    s_init = ScratchRNN(d, h, bias=bias)
    assert [(k, p.shape) for k, p in s_init.named_parameters()] == [(k, p.shape) for k, p in t_init.named_parameters()]
    assert all(torch.equal(a, b) for a, b in zip(s_init.parameters(), t_init.parameters()))
settings = 0
for nonlinearity in ("tanh", "relu"):
    for bias in (True, False):
        for batch_first in (False, True):
            for batched in (True, False):
                for give_h0 in (True, False):
                    t_rnn = nn.RNN(d, h, nonlinearity=nonlinearity, bias=bias, batch_first=batch_first,
                                   dtype=torch.float64)
                    x = torch.randn(*((N, T, d) if batch_first else (T, N, d)) if batched else (T, d),
                                    dtype=torch.float64)
                    h0 = (torch.randn(*((1, N, h) if batched else (1, h)), dtype=torch.float64),) if give_h0 else ()
                    parity(twin(t_rnn), t_rnn, x, *h0, **EXACT)
                    settings += 1
rnn32 = nn.RNN(10, 20)  # the sizes of the example in torch's documentation, with one layer
parity(twin(rnn32), rnn32, torch.randn(5, 3, 10), torch.randn(1, 3, 20))
print("✓ names, shapes, order and initial values of the parameters: as nn.RNN's, with and without bias")
print(f"✓ {settings} settings in float64: output, h_n and every gradient match to 1e-12")
print("✓ float32, nn.RNN(10, 20) on (5, 3, 10): every tensor matches within assert_close's float32 defaults")

# %% [markdown]
# ## 5 · One product for all inputs
#
# Only $H_{t-1} W_{hh}$ has to wait for the previous step. The input term $X_t W_{xh} + b_{ih}$ does not, so
# `nn.RNN` computes it for **all** steps at once, one product of the whole [T, N, d] input, before the loop. The
# loop then only adds $H_{t-1} W_{hh} + b_{hh}$ and applies φ. One large product instead of T small ones is the
# main speed trick of RNN implementations (lesson 11 measures it).
#
# It also changes the order in which numbers are added, and floating-point addition is not associative:

# %%
left, right = (0.1 + 0.2) + 0.3, 0.1 + (0.2 + 0.3)
print(f"(0.1 + 0.2) + 0.3 = {left:.17f}\n0.1 + (0.2 + 0.3) = {right:.17f}")

# %% [markdown]
# So `nn.RNN` and `ScratchRNN` differ in the last bits. That is why we compare float32 within a tolerance, and
# ask for agreement to rounding (1e-12) only in float64.
#
# **Exercise 2 (harder): hoist the input product.** Write the loop again, with the same arguments, the way
# `nn.RNN` organises it: first `P = x @ w_ih.T + b_ih` for all steps in **one** product, [T, N, h]; then
# the loop, which adds only `H @ w_hh.T + b_hh` to `P[t]` before the tanh. Any form of product works (`@`,
# `F.linear`, `einsum`, `tensordot`, …). The checker also counts the products in which `w_ih` meets the input:
# one is the goal.

# %% hidden
class WeightUses(torch.overrides.TorchFunctionMode):
    """Inside `with WeightUses([w_ih, w_hh, b_ih, b_hh]) as uses:`, uses.count = the torch calls in which w_ih
    (or a tensor made from the weights alone, such as w_ih.T) meets another tensor: the products of the input
    with W_ih, whatever their form (@, F.linear, einsum, tensordot, a broadcast multiply). A TorchFunctionMode
    sees every torch call made inside the `with` block."""

    def __init__(self, params):
        super().__init__()
        self.weights, self.w_ih, self.keep, self.count = {id(p) for p in params}, {id(params[0])}, list(params), 0
        self.library = False  # torch's own RNN loop was called (torch.rnn_tanh, …): that is not writing the loop

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.library |= getattr(func, "__name__", "") in ("rnn_tanh", "rnn_relu", "rnn_tanh_cell", "rnn_relu_cell")

        def flat(a):
            return ([a] if isinstance(a, torch.Tensor) else [t for b in a for t in flat(b)]
                    if isinstance(a, (list, tuple)) else [t for b in a.values() for t in flat(b)]
                    if isinstance(a, dict) else [])

        ins = flat(args) + flat(kwargs or {})
        if ins and all(id(t) in self.weights for t in ins):  # made from the weights alone: w_ih.T, a copy, …
            for t in flat(out):
                self.keep.append(t)  # kept alive, so that its id stays its own
                self.weights.add(id(t))
                if any(id(i) in self.w_ih for i in ins):
                    self.w_ih.add(id(t))
        elif any(id(t) in self.w_ih for t in ins):
            self.count += 1
        return out


def check_hoisted(fn):
    """Exercise 2: the loop with the input product hoisted out of it. Returns True/False and says what is wrong."""
    return check_loop(fn, "rnn_forward_hoisted", products=WeightUses)

# %%
def rnn_forward_hoisted(x, h0, w_ih, w_hh, b_ih, b_hh):
    ...  # your code here: return (output [T, N, h], h_n [1, N, h])

# %%
exercise_2_passed = check_hoisted(rnn_forward_hoisted)

# %% [markdown]
# ## 6 · `batch_first` and its traps
#
# Data often comes as one row per sequence: (N, T, d). `batch_first=True` makes `nn.RNN` take it as it is. It
# changes the layout of **input and output only**: `h0` and `h_n` stay (num_layers, N, h).

# %%
rnn_bf = nn.RNN(d, h, batch_first=True)
rnn_bf.load_state_dict(rnn.state_dict())  # the same weights as rnn
X_bf = X.transpose(0, 1)  # the same sequences, batch first: [N, T, d]
with torch.no_grad():
    out_bf, hn_bf = rnn_bf(X_bf)
    torch.testing.assert_close(out_bf, t_output.transpose(0, 1))  # the same states, transposed
    torch.testing.assert_close(hn_bf, t_h_n)  # h_n unchanged
    torch.testing.assert_close(twin(rnn_bf)(X_bf)[0], out_bf)  # ScratchRNN(batch_first=True) agrees
print(f"input {list(X_bf.shape)}, output {list(out_bf.shape)}, h_n {list(hn_bf.shape)}: h_n is not batch first")

# %% [markdown]
# Three traps follow. **1:** an `h0` made batch first, (N, 1, h), is refused. **2:** batch-first data fed to an RNN
# built *without* `batch_first` raises nothing: it reads N as the number of steps and T as the batch. The output
# even has the shape you expected, but holds other numbers; only `h_n`'s shape gives it away. **3:** the last step
# is now `output[:, -1]`; `output[-1]` is the whole last *sequence*.

# %%
try:
    rnn_bf(X_bf, torch.zeros(N, 1, h))
except RuntimeError as err:
    print("trap 1:", err)
with torch.no_grad():
    out_wrong, hn_wrong = rnn(X_bf)  # rnn has batch_first=False
print(f"trap 2: output {list(out_wrong.shape)} as expected, h_n {list(hn_wrong.shape)} instead of {list(hn_bf.shape)}")
assert not torch.allclose(out_wrong, out_bf)
assert torch.equal(out_bf[:, -1], hn_bf[0])
print(f"trap 3: output[:, -1] {list(out_bf[:, -1].shape)} is h_n[0]; output[-1] {list(out_bf[-1].shape)} is sequence {N - 1}")

# %% [markdown]
# ## 7 · An output layer on top
#
# The states are the RNN's memory, not yet its answer. A linear layer turns each state into $q$ outputs,
# $O_t = H_t W_{hq} + b_q$ with $W_{hq}$ [h, q] = `head.weight.T`:
#
# - **many-to-many** (a prediction at every step, e.g. the next character): apply it to all of `output` →
#   (T, N, q). `nn.Linear` works on the last axis, so no loop is needed.
# - **many-to-one** (one prediction per sequence, e.g. the review's sentiment): apply it to the last state
#   `h_n[-1]` → (N, q). `-1` means *the top layer*, which stays right when lesson 04 stacks layers. **Careful:**
#   with `bidirectional=True` (lesson 05), `h_n[-1]` is the *backward* direction's state.

# %%
q = 2
head = nn.Linear(h, q)
with torch.no_grad():
    O_all, O_last = head(t_output), head(t_h_n[-1])  # many-to-many, many-to-one
    torch.testing.assert_close(O_all[-1], O_last)  # the many-to-one answer is the last step of the other
print(f"many-to-many  head(output)   {list(O_all.shape)}\nmany-to-one   head(h_n[-1])  {list(O_last.shape)}")

# %% [markdown]
# ## 8 · Play: the shapes of a sequence
#
# Change the length, batch size, input and hidden sizes, and `batch_first`. Predict each shape before you look.
# The drawing shows the unrolled chain and `output` as a grid of states, with the slice equal to `h_n[0]` in red.
# Each setting is also checked: `ScratchRNN` equals `nn.RNN`. Try a length of 0.

# %% hidden
from matplotlib.colors import ListedColormap


def draw_chain(ax, seq_len, max_steps=12):
    """The unrolled chain H_0 → cell → … → H_T, at most max_steps cells (the middle elided), H_T in red."""
    steps = list(range(1, seq_len + 1)) if seq_len <= max_steps else list(range(1, max_steps - 1)) + [None, seq_len]
    # Unicode subscripts, not $…$ mathtext: mathtext has failed intermittently inside widget callbacks.
    sub = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
    ax.text(0, 1, "H₀", ha="center", va="center", bbox={"fc": "#d9ead3"})
    for i, k in enumerate(steps, start=1):
        ax.annotate("", (i - 0.3, 1), (i - 0.7, 1), arrowprops={"arrowstyle": "->"})
        if k is None:
            ax.text(i, 1, "…", ha="center", va="center", fontsize=16)
            continue
        last = k == seq_len
        ax.text(i, 1, "cell", ha="center", va="center", fontsize=8, bbox={"fc": "#eeeeee"})
        ax.text(i, 0, f"X{k}".translate(sub), ha="center", va="center", fontsize=9, bbox={"fc": "#cfe2f3"})
        ax.text(i, 2, f"H{k}".translate(sub), ha="center", va="center", fontsize=9,
                bbox={"fc": "#d9ead3", "ec": "#c0392b" if last else "black", "lw": 2 if last else 1})
        for y0, y1 in ((0.25, 0.75), (1.25, 1.75)):
            ax.annotate("", (i, y1), (i, y0), arrowprops={"arrowstyle": "->"})
    ax.text(len(steps) + 0.35, 2, "= h_n[0]", va="center", color="#c0392b")
    ax.set_xlim(-0.6, max(len(steps), 6) + 1.6)
    ax.set_ylim(-0.5, 2.5)
    ax.axis("off")
    ax.set_title(f"unrolled: {seq_len} step{'s' if seq_len > 1 else ''}, the same cell (same weights) at each")


def draw_output_grid(ax, shape, batch_first):
    """output as a grid of states (dim 0 down, dim 1 across); the last time step, equal to h_n[0], in red."""
    rows, cols = shape[0], shape[1]
    last = [[float((c if batch_first else r) == (cols if batch_first else rows) - 1) for c in range(cols)]
            for r in range(rows)]  # 1 on the last time step
    ax.pcolormesh(last, cmap=ListedColormap(["#d9ead3", "#f4cccc"]), vmin=0, vmax=1, edgecolors="black", linewidth=0.5)
    ax.add_patch(plt.Rectangle((cols - 1, 0) if batch_first else (0, rows - 1), 1 if batch_first else cols,
                               rows if batch_first else 1, fill=False, ec="#c0392b", lw=2))
    ax.set_xlim(0, cols)
    ax.set_ylim(rows, 0)  # row 0 at the top
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_ylabel("dim 0: " + ("batch n" if batch_first else "time t"))
    ax.set_xlabel("dim 1: " + ("time t" if batch_first else "batch n"))
    label = "output[:, -1]" if batch_first else "output[-1]"
    ax.set_title(f"output {list(shape)}: one square = one state [{shape[2]}]\nred: {label} = h_n[0]", fontsize=10)


def show_sequence(seq_len=6, batch=3, input_size=4, hidden_size=5, batch_first=False):
    """Widget callback: shapes of nn.RNN at this size, checked against ScratchRNN. Returns the shapes, or None."""
    if batch < 1:
        print(f"⚠ batch = {batch}: torch accepts an empty batch, but then there is nothing to compute. Choose at least 1.")
        return None
    if input_size < 1 or hidden_size < 1:  # newer torch refuses it in nn.RNN; torch 2.6 builds it
        print(f"⚠ input_size = {input_size}, hidden_size = {hidden_size}: nn.RNN refuses a size of 0.")
        print("  Each step needs at least one input feature and one state number.")
        return None
    try:
        torch_rnn = nn.RNN(input_size, hidden_size, batch_first=batch_first)
        x = torch.randn(batch, seq_len, input_size) if batch_first else torch.randn(seq_len, batch, input_size)
        with torch.no_grad():
            output, h_n = torch_rnn(x)
    except (ValueError, RuntimeError) as err:
        print(f"⚠ nn.RNN refuses this: {err}")
        print("  " + ("A sequence needs at least one step: with T = 0 there is no last state h_n." if isinstance(err, RuntimeError)
                      else "Each step needs at least one input feature and one state number."))
        return None
    with torch.no_grad():
        s_output, s_h_n = twin(torch_rnn)(x)
    torch.testing.assert_close(s_output, output)
    torch.testing.assert_close(s_h_n, h_n)
    last = "output[:, -1]" if batch_first else "output[-1]"
    assert torch.equal(output[:, -1] if batch_first else output[-1], h_n[0])
    shapes = {"input": tuple(x.shape), "output": tuple(output.shape), "h_n": tuple(h_n.shape), "last": last}
    for name in ("input", "output", "h_n"):
        print(f"{name:<7}{list(shapes[name])}")
    print(f"{last} equals h_n[0] ✓   ScratchRNN equals nn.RNN ✓")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.4), gridspec_kw={"width_ratios": [2.4, 1]})
    draw_chain(ax1, seq_len)
    draw_output_grid(ax2, shapes["output"], batch_first)
    fig.subplots_adjust(left=0.01, right=0.97, bottom=0.12, top=0.8, wspace=0.15)
    plt.show()
    return shapes

# %%
# NBVAL_IGNORE_OUTPUT
sequence_ui = widgets.interactive(
    show_sequence,
    seq_len=widgets.IntSlider(value=6, min=0, max=24, description="length T"),
    batch=widgets.IntSlider(value=3, min=0, max=8, description="batch N"),
    input_size=widgets.IntSlider(value=4, min=0, max=16, description="input d"),
    hidden_size=widgets.IntSlider(value=5, min=0, max=16, description="hidden h"),
    batch_first=widgets.ToggleButtons(options=[("(T, N, d)", False), ("batch_first (N, T, d)", True)],
                                      value=False, description="layout"),
)
display(sequence_ui)

# %% hidden
# The widget's callback in plain cells: an error inside a widget only shows in its output area, where it can hide.
with capture_output():  # the pictures and printouts, already seen in the widget
    result = show_sequence()
    assert result["output"] == (6, 3, 5) and result["h_n"] == (1, 3, 5) and result["last"] == "output[-1]"
    assert show_sequence(1, 1, 1, 1, batch_first=True) == {"input": (1, 1, 1), "output": (1, 1, 1),
                                                            "h_n": (1, 1, 1), "last": "output[:, -1]"}
    result = show_sequence(24, 8, 16, 16, batch_first=True)
    assert result["output"] == (8, 24, 16) and result["h_n"] == (1, 8, 16)
    assert show_sequence(24, 8, 16, 16)["output"] == (24, 8, 16)
    assert show_sequence(seq_len=0) is None and show_sequence(batch=0) is None
    assert show_sequence(input_size=0) is None and show_sequence(hidden_size=0) is None
print("✓ widget callback checked: defaults, both layouts at the extremes, and the four invalid settings")

# %% [markdown]
# ## 9 · On a GPU
#
# The same `parity` check on CUDA, where `nn.RNN` runs on **cuDNN**, in float64 and in float32. In float32 cuDNN
# would use TF32 by default, a faster and coarser product (errors ~1e-3), so the cell switches it off and back.
# Without a GPU it prints one line.

# %% hidden
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    saved_tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False  # full float32
    for dtype, tol in [(torch.float64, EXACT), (torch.float32, {})]:
        t_rnn = nn.RNN(d, h, device=DEVICE, dtype=dtype)
        xg, hg = torch.randn(T, 16, d, device=DEVICE, dtype=dtype), torch.randn(1, 16, h, device=DEVICE, dtype=dtype)
        n = parity(twin(t_rnn), t_rnn, xg, hg, **tol)
        print(f"✓ {torch.cuda.get_device_name()} {dtype}: {n} tensors match "
              f"({'|Δ| ≤ 1e-12' if tol else 'float32 defaults of assert_close, TF32 off'})")
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved_tf32
else:
    print("No GPU here: skipped (with one, this cell repeats the parity check against cuDNN).")

# %% [markdown]
# ## 10 · Summary
#
# | | |
# |---|---|
# | the recurrence | $H_t = \varphi(X_t W_{xh} + H_{t-1} W_{hh} + b)$ for $t = 1 \dots T$, the same weights at every step |
# | torch | `nn.RNN(input_size=d, hidden_size=h, nonlinearity="tanh", bias=True, batch_first=False)`, called as `output, h_n = rnn(X, h0)` |
# | torch's layout | `weight_ih_l0` = $W_{xh}^\top$ [h, d], `weight_hh_l0` = $W_{hh}^\top$ [h, h], $b$ = `bias_ih_l0 + bias_hh_l0`; `_l0` = layer 0 |
# | shapes | X (T, N, d) → output (T, N, h) = $H_1 \dots H_T$, h_n (1, N, h) = $H_T$; h0 (1, N, h), omitted = zeros |
# | batch_first=True | input (N, T, d), output (N, T, h); **h0 and h_n unchanged** (1, N, h) |
# | unbatched | input (T, d) → output (T, h), h_n (1, h); h0 (1, h) |
# | the last step | `output[-1]` (`output[:, -1]` with batch_first) equals `h_n[0]` |
# | output layer | `nn.Linear(h, q)`: on `output` → (T, N, q) many-to-many; on `h_n[-1]` → (N, q) many-to-one |
# | inside `nn.RNN` | $X W_{xh} + b_{ih}$ for all steps in one product, then a loop for $H_{t-1} W_{hh}$ only |
# | parity | float64 to 1e-12, outputs and all gradients, 32 settings; float32 within `assert_close`'s defaults |
#
# **Next:** lesson 03 trains this network with backpropagation through time, and shows why the gradient
# reaching early steps shrinks (or explodes).

# %% [markdown] collapsed
# ## Going deeper: what `ScratchRNN` accepts and refuses

# %% [markdown]
# One unbatched sequence (T, d) gives output (T, h) and h_n (1, h): the layer axis stays, only the batch axis
# is gone. Then the usual mistakes, side by side: what `nn.RNN` says and what `ScratchRNN` says.

# %%
x1 = torch.randn(T, d)
with torch.no_grad():
    torch.testing.assert_close(scratch(x1), rnn(x1))
print(f"unbatched: input {list(x1.shape)} → output {list(rnn(x1)[0].shape)}, h_n {list(rnn(x1)[1].shape)} ✓")
# torch's own messages, printed as they are: their wording changes between torch versions.
bad_calls = [("wrong feature size", torch.randn(T, N, d + 1), None),
             ("h0 without the layer axis", X, torch.zeros(N, h)),
             ("h0 for another batch size", X, torch.zeros(1, N + 1, h)),
             ("4-D input", torch.randn(2, T, N, d), None),
             ("empty sequence", torch.randn(0, N, d), None),
             ("float64 input, float32 weights", X.double(), None)]
for label, x, hx in bad_calls:
    print(label)
    for module in (rnn, scratch):
        try:
            module(x, hx)
        except (RuntimeError, ValueError) as err:
            print(f"  {type(module).__name__:<10} {type(err).__name__}: {err}")

# %% [markdown]
# And the settings it refuses: those `nn.RNN` refuses, with torch's message, and those that later lessons add.

# %%
for kwargs in ({"num_layers": 2}, {"dropout": 0.2}, {"bidirectional": True}, {"nonlinearity": "sigmoid"},
               {"bias": 0}, {"hidden_size": 0}):
    try:
        ScratchRNN(**{"input_size": d, "hidden_size": h, **kwargs})
    except (NotImplementedError, ValueError, TypeError) as err:
        print(f"{', '.join(f'{k}={v!r}' for k, v in kwargs.items()):<24} {type(err).__name__}: {err}")

# %% [markdown] collapsed
# ## Going deeper: $h_n$ depends on every step

# %% [markdown]
# $H_T$ was computed from $H_{T-1}$, which was computed from $H_{T-2}$, and so on: every input $X_t$ influences
# $h_n$, and a loss on $h_n$ sends gradient back to every step, through one factor
# $\partial H_t / \partial H_{t-1} = \operatorname{diag}(\varphi'(a_t))\, W_{hh}^\top$ per step. With tanh and small
# weights each factor tends to shrink what passes through it. Below, the size of the gradient of `h_n.sum()`
# with respect to each $X_t$, over 64 sequences of 10 steps: none is zero, the early steps get far less. Lesson 03
# derives this and trains with it.

# %%
torch.manual_seed(3)
rnn_long = nn.RNN(d, h, dtype=torch.float64)
x_long = torch.randn(10, 64, d, dtype=torch.float64, requires_grad=True)
rnn_long(x_long)[1].sum().backward()
norms = x_long.grad.norm(dim=(1, 2))  # |∂ h_n.sum() / ∂X_t|: one number per step, over the batch
print("  ".join(f"t={t}: {g:.0e}" for t, g in enumerate(norms.tolist(), start=1)))
assert (norms > 0).all() and norms[0] < norms[-1]
print(f"from X_T back to X_1: about {(norms[-1] / norms[0]).item():.0e} times smaller")

# %% [markdown]
# ## Solutions
#
# Collapsed so that they stay out of the way: click a cell to expand it. Each solution goes through its checker
# (and must pass); then deliberately wrong answers show what the checkers say.

# %% solution
def rnn_forward_solution(x, h0, w_ih, w_hh, b_ih, b_hh):
    H, states = h0[0], []  # H_0 [N, h]
    for x_t in x:  # x_t = X_t [N, d], t = 1 … T
        H = rnn_step(x_t, H, w_ih, w_hh, b_ih, b_hh)
        states.append(H)
    return torch.stack(states), H.unsqueeze(0)  # output [T, N, h], h_n [1, N, h]


def rnn_forward_hoisted_solution(x, h0, w_ih, w_hh, b_ih, b_hh):
    P = F.linear(x, w_ih, b_ih)  # [T, N, h]: X_t W_ihᵀ + b_ih for every t, in one product
    H, states = h0[0], []
    for P_t in P:  # only the recurrence is sequential
        H = torch.tanh(P_t + F.linear(H, w_hh, b_hh))
        states.append(H)
    return torch.stack(states), H.unsqueeze(0)


assert check_rnn_forward(rnn_forward_solution)
assert check_hoisted(rnn_forward_hoisted_solution)

# %% solution
# What the checkers say to three common mistakes:
def from_zeros(x, h0, w_ih, w_hh, b_ih, b_hh):  # ignores h0
    return rnn_forward_solution(x, torch.zeros_like(h0), w_ih, w_hh, b_ih, b_hh)


def one_product_per_step(x, h0, w_ih, w_hh, b_ih, b_hh):  # right numbers, but x_t W_ihᵀ inside the loop
    return rnn_forward_solution(x, h0, w_ih, w_hh, b_ih, b_hh)


assert not check_rnn_forward(from_zeros)
assert not check_rnn_forward(lambda *args: (rnn_forward_solution(*args)[0], rnn_forward_solution(*args)[1][0]))
assert not check_hoisted(one_product_per_step)
