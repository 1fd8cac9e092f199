# %% [markdown]
# # 04 · Deep RNNs: stacked layers, `nn.RNN(num_layers=L)`
#
# Read a sentence one character at a time. A one-layer RNN has one state vector for every job at once: spot
# letters, group them into words, keep track of the meaning. **Stack** a second RNN on top and the work can be
# split: layer 1 reads the characters, layer 2 reads layer 1's states, step by step. The translation models of
# Sutskever et al. (2014) stacked four LSTM layers; Google's 2016 translation system had eight in its encoder. In
# torch it is one argument: `nn.RNN(d, h, num_layers=L)` (the same for `nn.LSTM` and `nn.GRU`).
#
# You will write the stacked forward yourself, then grow lesson 02's `ScratchRNN` to `num_layers` and `dropout`
# and check that it equals `nn.RNN`, values and gradients. Along the way: which row of `h_n` is which layer, two
# loop orders with one result, and where dropout goes.
#
# **You should know:** lessons 01–02: `rnn_step`, torch's weight layout (`weight_ih_l0` is [h, d]), `output` and
# `h_n`, `batch_first`.

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

# %% hidden
# The course's helpers, unchanged: parity (lesson 02) and rnn_step (lesson 01); check prints a one-line verdict.
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


def check(label, ours, theirs, **tol):
    """torch.testing.assert_close(ours, theirs, **tol), then a one-line verdict."""
    torch.testing.assert_close(ours, theirs, **tol)
    print(f"✓ {label}: equal, " + (f"|Δ| ≤ {tol['atol']:.0e}" if tol else "within float32's default tolerance"))


EXACT = {"atol": 1e-12, "rtol": 0.0}  # float64: equal up to rounding
print("✓ rnn_step (lesson 01), parity (lesson 02) and check are defined: expand this cell to read them")

# %% [markdown]
# ## 1 · The stacked recurrence
#
# Call the input "layer 0": $H_t^{(0)} = X_t$. Layer $l = 1 \dots L$ is lesson 02's RNN with its own weights, and
# its input is the state of the layer below:
#
# $$H_t^{(l)} = \varphi\big(H_t^{(l-1)} W_{xh}^{(l)} + H_{t-1}^{(l)} W_{hh}^{(l)} + b^{(l)}\big)$$
#
# So $H_t^{(l)}$ needs two things: the state **below** it at the same step, and its own state one step **before**.
#
# | | shape | |
# |---|---|---|
# | $X_t = H_t^{(0)}$ | [N, d] | the input at step $t$ |
# | $H_t^{(l)}$ | [N, h] | layer $l$'s state; each layer has its own $H_0^{(l)}$ (zeros by default) |
# | $W_{xh}^{(1)}$ | [d, h] | the bottom layer reads the $d$ input features |
# | $W_{xh}^{(l)}$, $l > 1$ | **[h, h]** | the layers above read the $h$ numbers of the state below |
# | `output` | [T, N, h] | the **top** layer's state at every step |
# | `h_n` | [L, N, h] | every layer's **last** state, bottom layer first |
#
# The sizes are all different, so that most mix-ups of two axes raise an error. float64 makes "equal" mean
# equal up to rounding.

# %%
T, N, d, h, L = 7, 2, 4, 5, 3  # steps, batch, input features, hidden units, layers
X = torch.randn(T, N, d, dtype=torch.float64)
H0 = torch.randn(L, N, h, dtype=torch.float64)  # one initial state per layer

# %% [markdown]
# ## 2 · torch's `nn.RNN(num_layers=L)`
#
# torch registers lesson 02's four parameters **per layer**, with the suffix `_l{k}`. It counts layers from 0:
# torch's layer $k$ is our layer $l = k + 1$, and `weight_ih_l{k}` is $W_{xh}^{(k+1)\top}$.

# %%
rnn = nn.RNN(d, h, num_layers=L, dtype=torch.float64)
for name, p in rnn.named_parameters():
    print(f"{name:<13} {tuple(p.shape)}")

# %% [markdown]
# `weight_ih_l0` is [h, d]; `weight_ih_l1` and `weight_ih_l2` are [h, h]. `rnn.all_weights` holds the same
# tensors grouped per layer, bottom first: `[w_ih, w_hh, b_ih, b_hh]`, exactly what `rnn_step` takes.
#
# Run it and look at the shapes. `h_n[-1]`, the top layer's last state, is `output[-1]`; `h_n[0]` is the
# **bottom** layer's.

# %%
output, h_n = rnn(X, H0)
print(f"X {list(X.shape)}, h0 {list(H0.shape)} → output {list(output.shape)}, h_n {list(h_n.shape)}")
assert torch.equal(output[-1], h_n[-1])
print(f"output[-1] equals h_n[-1]: {torch.equal(output[-1], h_n[-1])}")

# %% [markdown]
# ## 3 · Exercise 1: write the stacked forward
#
# Write what `nn.RNN` computes. `layers` is `rnn.all_weights`. Layer 0 reads `x`; layer k > 0 reads the states of
# layer k − 1; layer k starts from `h0[k]`. Use `rnn_step(x_t, H, w_ih, w_hh, b_ih, b_hh)` for each step. Loop
# over layers outside or over time outside, as you like; `output` and `h_n` are tensors (`torch.stack`). The
# checker compares your answer with `nn.RNN` and says what is wrong.

# %% hidden
def stacked_variants(x, h0, layers):
    """The right answer and the usual wrong ones, each (output, h_n, the hint that names it)."""
    def run(start=lambda k: h0[k], use_b_hh=True, act="tanh", read_x=False):
        below, last, per_layer = x, [], []
        for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(layers):
            H, states = start(k), []
            for x_t in below:
                H = rnn_step(x_t, H, w_ih, w_hh, b_ih, b_hh if use_b_hh else None, act)
                states.append(H)
            per_layer.append(torch.stack(states))
            last.append(H)
            below = per_layer[-1]
        return below, torch.stack(last), per_layer

    out, hn, per_layer = run()
    with torch.no_grad():
        wrong = [(*run(start=lambda k: torch.zeros_like(h0[k]))[:2], "every layer started from zeros: layer k starts from h0[k]"),
                 (*run(start=lambda k: h0[0])[:2], "every layer started from h0[0]: layer k starts from h0[k]"),
                 (*run(use_b_hh=False)[:2], "you left out b_hh: each step adds both biases, b_ih and b_hh"),
                 (*run(act="relu")[:2], "that is relu: nn.RNN uses tanh by default (rnn_step's default)"),
                 (out, hn.flip(0), "h_n is upside down: row 0 is the bottom layer, row L − 1 the top"),
                 (out, torch.stack([s[0] for s in per_layer]), "h_n holds each layer's state after the LAST step"),
                 *[(states, hn, f"output holds the states of layer {k}: it is the TOP layer's states")
                   for k, states in enumerate(per_layer[:-1])]]
    return out.detach(), hn.detach(), wrong


def check_stacked_forward(fn):
    """Compare fn(x, h0, layers) with a 3-layer nn.RNN in float64; name the usual mistakes. Returns True/False."""
    with torch.random.fork_rng():  # private random numbers: your own seed is left alone
        torch.manual_seed(8)
        r = nn.RNN(4, 5, num_layers=3, dtype=torch.float64)
        x, h0 = torch.randn(7, 2, 4, dtype=torch.float64), torch.randn(3, 2, 5, dtype=torch.float64)
    want_out, want_hn = r(x, h0)
    ref_out, ref_hn, wrong = stacked_variants(x, h0, [list(w) for w in r.all_weights])
    torch.testing.assert_close((ref_out, ref_hn), (want_out.detach(), want_hn.detach()), **EXACT)  # the reference
    try:
        got = fn(x.clone(), h0.clone(), [list(w) for w in r.all_weights])
    except Exception as err:  # report the learner's error instead of raising it
        print(f"✗ stacked_forward raised {type(err).__name__}: {err}\n  Hint: layer 0 reads x [T, N, d], layer k > 0 "
              "the states of layer k − 1 [T, N, h]; rnn_step takes the weights as torch stores them.")
        return False
    if got is None:
        print("✗ not done yet: stacked_forward returned None.")
        return False
    if not (isinstance(got, (tuple, list)) and len(got) == 2 and all(torch.is_tensor(g) for g in got)):
        parts = ", ".join(type(g).__name__ for g in got) if isinstance(got, (tuple, list)) else type(got).__name__
        print(f"✗ stacked_forward returned ({parts}): return a pair of tensors (output, h_n); "
              "torch.stack turns a list of states into one tensor.")
        return False
    out, hn = (g.detach() for g in got)
    for name, g, w in (("output", out, ref_out), ("h_n", hn, ref_hn)):
        if g.dtype != w.dtype:
            print(f"✗ {name} is {g.dtype}, the inputs were {w.dtype}: keep the inputs' dtype.")
            return False
        if g.shape != w.shape:
            print(f"✗ {name} has shape {tuple(g.shape)}, expected {tuple(w.shape)}"
                  + (": one row per layer, each layer's last state." if name == "h_n" else ": the top layer's state at every step."))
            return False

    def same(a, b):
        return torch.allclose(a, b, rtol=0.0, atol=1e-10)
    ok = (same(out, ref_out), same(hn, ref_hn))
    if all(ok):
        print("✓ your stacked forward reproduces the 3-layer nn.RNN: output and h_n.")
        return True
    for w_out, w_hn, hint in wrong:
        if all(same(g, w) for g, w, right in ((out, w_out, ok[0]), (hn, w_hn, ok[1])) if not right):
            print(f"✗ {hint}.")
            return False
    wrong_parts = [n for n, right in zip(("output", "h_n"), ok) if not right]
    print(f"✗ {' and '.join(wrong_parts)} {'differ' if len(wrong_parts) > 1 else 'differs'} from nn.RNN's. Hint: layer k "
          "reads the states of layer k − 1 (x for k = 0) and starts from h0[k]; output = the top layer's states.")
    return False

# %%
def stacked_forward(x, h0, layers):
    """x [T, N, d], h0 [L, N, h], layers = rnn.all_weights → output [T, N, h] (top layer), h_n [L, N, h]."""
    ...  # your code here: return (output, h_n)

# %%
exercise_1_passed = check_stacked_forward(stacked_forward)

# %% [markdown]
# ## 4 · `ScratchRNN` with layers
#
# Lesson 02's `ScratchRNN` refused `num_layers > 1` and `dropout`. Now its constructor registers four parameters
# per layer, **layer by layer** as torch does (layer k > 0 reads h features), and draws them from
# $U(-1/\sqrt{h}, 1/\sqrt{h})$. `forward` is the stacked loop, layer by layer. After every layer **but the last**,
# in training mode, it applies dropout to that layer's output (section 7).
#
# Bad arguments and inputs (a `PackedSequence`, `bias=0`, an h0 for the wrong batch, a dtype mismatch) get a clear
# error from two checks, `check_rnn_args` and `rnn_inputs`, in the collapsed cell below.

# %% hidden
def check_rnn_args(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout, bidirectional):
    """Refuse what nn.RNN refuses (with its messages) and what this ScratchRNN does not build yet."""
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{name} must be greater than zero, got {value}")
    for name, value in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} should be of type bool, got: {type(value).__name__} ({value!r})")
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
        raise ValueError("dropout should be a number in range [0, 1] representing the probability of an element "
                         f"being zeroed, got {dropout!r}")
    if bidirectional:
        raise NotImplementedError("bidirectional=True: the reverse direction comes in lesson 05")
    if dropout > 0 and num_layers == 1:  # torch's warning, word for word
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                      f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}")


def rnn_inputs(rnn, input, hx):
    """Check rnn(input, hx) as nn.RNN does, with clearer messages. Returns X [T, N, d], H0 [L, N, h], unbatched."""
    if isinstance(input, nn.utils.rnn.PackedSequence):
        raise NotImplementedError("PackedSequence input: this ScratchRNN takes a padded tensor; lesson 05 adds packing")
    if not torch.is_tensor(input):
        raise TypeError(f"input must be a tensor, got {type(input).__name__}")
    if input.dim() not in (2, 3):
        layout = "(N, T, d)" if rnn.batch_first else "(T, N, d)"
        raise ValueError(f"input must be (T, d) or {layout}, got a {input.dim()}-D tensor {tuple(input.shape)}")
    if input.dtype != rnn.weight_ih_l0.dtype:
        raise ValueError(f"input dtype ({input.dtype}) does not match the weights' dtype ({rnn.weight_ih_l0.dtype}): "
                         f"convert one of them, e.g. input.to({rnn.weight_ih_l0.dtype})")
    unbatched = input.dim() == 2  # batch_first is ignored for unbatched input, as in torch
    X = input.unsqueeze(1) if unbatched else input.transpose(0, 1) if rnn.batch_first else input
    T_, N_, d_ = X.shape
    if d_ != rnn.input_size:
        raise ValueError(f"input has {d_} features in its last dimension, expected input_size = {rnn.input_size}")
    if T_ == 0:
        raise ValueError("input has T = 0 steps: no step to run, no last state to return")
    L_, h_ = rnn.num_layers, rnn.hidden_size
    if hx is None:
        return X, torch.zeros(L_, N_, h_, dtype=X.dtype, device=X.device), unbatched
    if not torch.is_tensor(hx):
        raise TypeError(f"hx must be a tensor (num_layers, N, h), got a {type(hx).__name__}")
    want = (L_, h_) if unbatched else (L_, N_, h_)
    if tuple(hx.shape) != want:
        hint = (f" One initial state per layer: num_layers = {L_}, so hx has {L_} rows, bottom layer first."
                if hx.dim() == len(want) and tuple(hx.shape[1:]) == want[1:] else
                " batch_first applies to input and output only: h0 stays (num_layers, N, h)." if rnn.batch_first else "")
        which = "hx for unbatched input must be (num_layers, h)" if unbatched else f"hx for a batch of N = {N_} must be (num_layers, N, h)"
        raise ValueError(f"{which} = {want}, got {tuple(hx.shape)}.{hint}")
    if hx.dtype != X.dtype:
        raise ValueError(f"hx dtype ({hx.dtype}) does not match the input's ({X.dtype})")
    return X, (hx.unsqueeze(1) if unbatched else hx), unbatched


print("✓ check_rnn_args and rnn_inputs are defined: expand this cell to read the checks")

# %%
class ScratchRNN(nn.Module):
    """nn.RNN from scratch: num_layers stacked layers, dropout between them, one direction."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__()
        check_rnn_args(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout, bidirectional)
        self.input_size, self.hidden_size, self.num_layers, self.nonlinearity = input_size, hidden_size, num_layers, nonlinearity
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, float(dropout), False
        kw = {"device": device, "dtype": dtype}
        for k in range(num_layers):  # layer by layer, torch's order
            layer_in = input_size if k == 0 else hidden_size  # layer 0 reads d features, the others h
            setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(hidden_size, layer_in, **kw)))  # W_xh^(k+1).T
            setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(hidden_size, hidden_size, **kw)))  # W_hh^(k+1).T
            if bias:
                setattr(self, f"bias_ih_l{k}", nn.Parameter(torch.empty(hidden_size, **kw)))
                setattr(self, f"bias_hh_l{k}", nn.Parameter(torch.empty(hidden_size, **kw)))
        for p in self.parameters():  # torch's initialisation, in registration order
            nn.init.uniform_(p, -1.0 / math.sqrt(hidden_size), 1.0 / math.sqrt(hidden_size))

    def forward(self, input, hx=None):
        X, H0, unbatched = rnn_inputs(self, input, hx)  # X [T, N, d], H0 [L, N, h]
        layer_input, finals = X, []
        for k in range(self.num_layers):  # layer k over all T steps, then layer k + 1
            w_ih, w_hh = getattr(self, f"weight_ih_l{k}"), getattr(self, f"weight_hh_l{k}")
            b_ih, b_hh = (getattr(self, f"bias_ih_l{k}"), getattr(self, f"bias_hh_l{k}")) if self.bias else (None, None)
            H, states = H0[k], []
            for x_t in layer_input:
                H = rnn_step(x_t, H, w_ih, w_hh, b_ih, b_hh, self.nonlinearity)
                states.append(H)
            finals.append(H)  # layer k's last state: h_n[k], never dropped
            layer_input = torch.stack(states)  # [T, N, h]: this layer's output, the next layer's input
            if self.training and self.dropout > 0 and k < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)  # between layers only
        output, h_n = layer_input, torch.stack(finals)  # the top layer's states; [L, N, h], bottom first
        if unbatched:
            return output.squeeze(1), h_n.squeeze(1)  # (T, h) and (L, h)
        return (output.transpose(0, 1) if self.batch_first else output), h_n  # h_n is never batch-first

# %% hidden
def twin(torch_rnn):
    """A ScratchRNN with torch_rnn's settings, dtype, device, mode and a copy of its weights."""
    w = torch_rnn.weight_ih_l0
    s = ScratchRNN(torch_rnn.input_size, torch_rnn.hidden_size, num_layers=torch_rnn.num_layers,
                   nonlinearity=torch_rnn.nonlinearity, bias=torch_rnn.bias, batch_first=torch_rnn.batch_first,
                   dropout=torch_rnn.dropout, device=w.device, dtype=w.dtype)
    s.load_state_dict(torch_rnn.state_dict())
    return s.train(torch_rnn.training)


for n_layers in (1, 2, 3):  # same names, shapes, order and initial values as nn.RNN
    for bias in (True, False):
        torch.manual_seed(1)
        t_init = nn.RNN(d, h, num_layers=n_layers, bias=bias)
        torch.manual_seed(1)
        s_init = ScratchRNN(d, h, num_layers=n_layers, bias=bias)
        names = [(n, tuple(p.shape)) for n, p in t_init.named_parameters()]
        assert [(n, tuple(p.shape)) for n, p in s_init.named_parameters()] == names, "names, shapes or order differ"
        assert all(torch.equal(a, b) for a, b in zip(s_init.parameters(), t_init.parameters())), "initial values differ"
print("✓ 1, 2 and 3 layers, with and without bias: the same parameter names, shapes and order as nn.RNN, "
      "and the same initial values from the same seed")

# %% [markdown]
# Copy `nn.RNN`'s weights in with `load_state_dict` and compare, forward and backward, with `parity`; `**EXACT`
# (from the helper cell) demands |Δ| ≤ 1e-12:

# %%
scratch = ScratchRNN(d, h, num_layers=L, dtype=torch.float64)
scratch.load_state_dict(rnn.state_dict())  # torch → scratch: the whole copy
n = parity(scratch, rnn, X, H0, **EXACT)
print(f"✓ ScratchRNN = nn.RNN: output, h_n and {n - 2} gradients (of X, h0 and {n - 4} parameters), |Δ| ≤ 1e-12")

# %% [markdown]
# `h_n[0]` belongs to the bottom layer alone: a one-layer RNN with layer 0's weights gives it by itself.

# %%
bottom = nn.RNN(d, h, dtype=torch.float64)
bottom.load_state_dict({name: p for name, p in rnn.state_dict().items() if name.endswith("_l0")})
check("h_n[0] = the last state of a 1-layer RNN with layer 0's weights", h_n[0], bottom(X, H0[:1])[1][0], **EXACT)

# %% [markdown]
# ## 5 · Two loop orders, one result
#
# $H_t^{(l)}$ needs only its left neighbour $H_{t-1}^{(l)}$ and the state below it, $H_t^{(l-1)}$. So two orders
# work:
#
# - **layer-outer** (`ScratchRNN`, and torch on the CPU): layer 1 over all T steps, then layer 2, … A layer sees
#   its whole input sequence at once, so all its input products fit in one matrix product (lesson 02).
# - **time-outer**: at step t, go up through all layers, then on to step t + 1. You need it when the inputs
#   arrive **one at a time** (live speech, generating text): the top layer's answer for step t is ready before
#   $X_{t+1}$ exists.
#
# A GPU does a third thing. cuDNN overlaps the layers: layer $l + 1$ starts step $t$ as soon as layer $l$ has
# finished it, so a whole diagonal of states (same $t + l$) runs at once, a **wavefront** (Appleyard et al., 2016).
#
# **Exercise 2: one streaming step.** Write `stream_step(x_t, H, layers)`: given one input `x_t` [N, d] and every
# layer's state after the previous step, `H` [L, N, h], return every layer's state after this step, [L, N, h].
# Its last row is the top layer's output for this step. The checker feeds a sequence one step at a time and
# compares with `nn.RNN`.

# %% hidden
def stream_variants(x, h0, layers):
    """nn.RNN's answer and the usual wrong streaming steps, each run over the whole sequence: (tops, H_T, hint)."""
    def step(x_t, H, old_below=False, start=None, use_b_hh=True, act="tanh", flip=False):
        below, new = x_t, []
        for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(layers):
            inp = below if (k == 0 or not old_below) else H[k - 1]
            below = rnn_step(inp, H[k] if start is None else H[start], w_ih, w_hh, b_ih, b_hh if use_b_hh else None, act)
            new.append(below)
        return torch.stack(new[::-1] if flip else new)

    def run(**kw):
        H, tops = h0, []
        for x_t in x:
            H = step(x_t, H, **kw)
            tops.append(H[-1])
        return torch.stack(tops), H

    with torch.no_grad():
        return run(), [(*run(old_below=True), "layer k must read the NEW state of layer k − 1 (this step's "
                                              "H_t^(l−1)), not its state from the step before"),
                       (*run(flip=True), "the rows are upside down: row 0 of H is the bottom layer, the one that reads x_t"),
                       (*run(start=0), "layer k continues from its own previous state H[k], not H[0]"),
                       (*run(use_b_hh=False), "you left out b_hh: each step adds both biases, b_ih and b_hh"),
                       (*run(act="relu"), "that is relu: nn.RNN uses tanh by default (rnn_step's default)")]


def check_stream_step(fn):
    """Feed fn one step at a time and compare with a 3-layer nn.RNN in float64; name the usual mistakes."""
    with torch.random.fork_rng():
        torch.manual_seed(9)
        r = nn.RNN(4, 5, num_layers=3, dtype=torch.float64)
        x, h0 = torch.randn(7, 2, 4, dtype=torch.float64), torch.randn(3, 2, 5, dtype=torch.float64)
    layers = [list(w) for w in r.all_weights]
    with torch.no_grad():
        want_out, want_hn = r(x, h0)
    (ref_tops, ref_H), wrong = stream_variants(x, h0, layers)
    torch.testing.assert_close((ref_tops, ref_H), (want_out, want_hn), **EXACT)  # the reference itself
    H, tops = h0.clone(), []
    for t in range(len(x)):
        try:
            got = fn(x[t].clone(), H.clone(), layers)
        except Exception as err:
            print(f"✗ at step {t}, stream_step raised {type(err).__name__}: {err}\n  Hint: layer 0 reads x_t [N, d], "
                  "layer k > 0 the new state of layer k − 1 [N, h]; layer k continues from H[k].")
            return False
        if got is None:
            print("✗ not done yet: stream_step returned None.")
            return False
        if isinstance(got, (list, tuple)) and len(got) == len(layers) and all(torch.is_tensor(g) and g.shape == H.shape[1:] for g in got):
            got = torch.stack(list(got))  # a list of the layers' states is fine too
        if torch.is_tensor(got) and got.dtype != H.dtype:
            print(f"✗ stream_step returned {got.dtype}, the inputs were {H.dtype}: keep the inputs' dtype.")
            return False
        if not torch.is_tensor(got) or got.shape != H.shape:
            shape = tuple(got.shape) if torch.is_tensor(got) else type(got).__name__
            print(f"✗ stream_step returned {shape}: return every layer's new state, {tuple(H.shape)}; "
                  "the top layer's is the last row.")
            return False
        H = got.detach()
        tops.append(H[-1])
    tops = torch.stack(tops)

    def same(a, b):
        return torch.allclose(a, b, rtol=0.0, atol=1e-10)
    if same(tops, ref_tops) and same(H, ref_H):
        print("✓ step by step, your stream_step reproduces the 3-layer nn.RNN: output and h_n.")
        return True
    if same(H, h0):
        print("✗ you returned the old states: return the new ones.")
        return False
    for w_tops, w_H, hint in wrong:
        if same(tops, w_tops) and same(H, w_H):
            print(f"✗ {hint}.")
            return False
    print("✗ the states differ from nn.RNN's. Hint: go up through the layers; layer 0 reads x_t, layer k > 0 the "
          "new state of layer k − 1, and each layer k continues from H[k].")
    return False

# %%
def stream_step(x_t, H, layers):
    """x_t [N, d], H [L, N, h] (after step t − 1), layers = rnn.all_weights → every layer's state after step t."""
    ...  # your code here: return a tensor [L, N, h]

# %%
exercise_2_passed = check_stream_step(stream_step)

# %% [markdown]
# ## 6 · Parity in every setting
#
# The collapsed cell runs `parity` on a grid: 1, 2 and 3 layers, with and without bias, `batch_first` off and on,
# batched and unbatched input, `h0` given or not, tanh and relu: 48 runs in float64, on a batch of 6 (N = 2 would
# equal num_layers = 2). Modules with more than one layer get `dropout=0.5` and run in eval mode, where dropout
# is off. The weights go from scratch to torch this time. Then torch's documentation example,
# `nn.RNN(10, 20, 2)`, in float32: two different kernels, so within float32's default tolerance, not bit for bit.

# %% hidden
N_G, runs = 6, 0  # the grid's batch: unlike N = 2, it equals no other size (T, d, h or num_layers)
for n_layers in (1, 2, 3):
    for bias in (True, False):
        for batch_first in (False, True):
            kw = {"num_layers": n_layers, "bias": bias, "batch_first": batch_first, "dtype": torch.float64,
                  "nonlinearity": ("tanh", "relu")[(n_layers + batch_first) % 2], "dropout": 0.5 if n_layers > 1 else 0.0}
            for batched in (True, False):
                for give_h0 in (True, False):
                    s_rnn, t_rnn = ScratchRNN(d, h, **kw).eval(), nn.RNN(d, h, **kw).eval()
                    t_rnn.load_state_dict(s_rnn.state_dict())  # scratch → torch
                    x = torch.randn(*((N_G, T, d) if batch_first else (T, N_G, d)) if batched else (T, d), dtype=torch.float64)
                    h0 = torch.randn(*((n_layers, N_G, h) if batched else (n_layers, h)), dtype=torch.float64)
                    n = parity(s_rnn, t_rnn, x, *([h0] if give_h0 else []), **EXACT)
                    assert n == 2 + 1 + give_h0 + (4 if bias else 2) * n_layers
                    runs += 1
print(f"✓ {runs} settings in float64: output, h_n and every gradient equal to nn.RNN's, |Δ| ≤ 1e-12")

rnn32, x32, h32 = nn.RNN(10, 20, 2), torch.randn(5, 3, 10), torch.randn(2, 3, 20)  # torch's documentation example
n = parity(twin(rnn32), rnn32, x32, h32)
back = nn.RNN(10, 20, 2)
back.load_state_dict(twin(rnn32).state_dict())  # and back: torch → scratch → torch
assert all(torch.equal(a, b) for a, b in zip(back.parameters(), rnn32.parameters()))
print(f"✓ float32, nn.RNN(10, 20, 2) on (5, 3, 10): {n} tensors within float32's default tolerance; "
      "torch → scratch → torch keeps the weights bit for bit")

# %% [markdown]
# ## 7 · Dropout between layers
#
# `nn.RNN(..., num_layers=L, dropout=p)` zeroes each number of a layer's output with probability $p$ and scales
# the others by $1/(1-p)$:
#
# - only on the outputs of layers $0 \dots L-2$, the *inputs* of the next layer: never after the top layer;
# - only in training mode (`model.train()`, the default); `model.eval()` switches it off;
# - never on the recurrent connection $H_{t-1} \to H_t$, never on `h_n`.
#
# On the CPU torch draws its masks one layer at a time with the same `dropout` function. So from the same seed,
# `ScratchRNN` draws the same masks and gives the same numbers:

# %%
torch.manual_seed(4)
t_drop = nn.RNN(d, h, num_layers=L, dropout=0.5, dtype=torch.float64)  # training mode by default
s_drop = twin(t_drop)
torch.manual_seed(11)
t_out, t_hn = t_drop(X)
torch.manual_seed(11)
s_out, s_hn = s_drop(X)
check("training mode, same seed: output", s_out, t_out, **EXACT)
check("training mode, same seed: h_n", s_hn, t_hn, **EXACT)
with torch.no_grad():
    eval_out = s_drop.eval()(X)[0]
assert not torch.allclose(s_out, eval_out) and torch.equal(s_out[-1], s_hn[-1]) and torch.equal(t_out[-1], t_hn[-1])
print("✓ training mode differs from eval mode (the masks act), yet output[-1] is h_n[-1]: the top layer is never dropped")

# %% [markdown]
# ## 8 · Play: the time × depth grid
#
# Every state of a stacked RNN in one picture: time runs right (column 0: the initial states), depth runs up (row
# 0: the inputs). Pick a layer $l$ and a step $t$: that state is red, its two direct inputs orange, and everything
# it depends on yellow. Where do `output` and `h_n` sit?

# %% hidden
SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")  # Unicode subscripts, not $…$ mathtext (it fails in widgets)
SUP = str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾")


def state_name(l, t):
    """'H₃⁽²⁾' for H_t^(l); 'X₃' for l = 0."""
    return f"X{t}".translate(SUB) if l == 0 else f"H{t}".translate(SUB) + f"({l})".translate(SUP)


def draw_grid(ax, num_layers, seq_len, layer, step, ancestors):
    """The time × depth grid of states; H_step^(layer) red, its direct inputs orange, its ancestors yellow."""
    cells = [(t, l) for l in range(num_layers + 1) for t in range(seq_len + 1) if (t, l) != (0, 0)]
    direct = {(step, layer - 1), (step - 1, layer)}

    def colour(t, l):
        if (t, l) == (step, layer):
            return "#e06666"
        if (t, l) in direct:
            return "#f6b26b"
        return "#ffe599" if ancestors and t <= step and l <= layer else "#cfe2f3" if l == 0 else "#d9ead3"
    ax.scatter([t for t, _ in cells], [l for _, l in cells], s=900 if seq_len <= 8 else 400, marker="s",
               c=[colour(t, l) for t, l in cells], edgecolors="black", zorder=2)
    inner = [(t, l) for t, l in cells if t > 0 and l > 0]  # each gets an arrow from the left and one from below
    arrows = [(t - 0.72, l, 0.44, 0) for t, l in inner] + [(t, l - 0.7, 0, 0.4) for t, l in inner]
    x0, y0, dx, dy = zip(*arrows)
    ax.quiver(x0, y0, dx, dy, angles="xy", scale_units="xy", scale=1, width=0.003, color="#555555", zorder=3)
    if seq_len <= 8:
        for t, l in cells:
            ax.text(t, l, state_name(l, t), ha="center", va="center", fontsize=7, zorder=3)
    ax.set_xticks(range(seq_len + 1))
    ax.set_yticks(range(num_layers + 1), ["input"] + [f"layer {l}" for l in range(1, num_layers + 1)])
    ax.set_xlabel("time step t (column 0: initial states)")
    ax.set_xlim(-0.6, seq_len + 0.6)
    ax.set_ylim(-0.6, num_layers + 0.6)
    ax.set_title(f"red: {state_name(layer, step)}; orange: its direct inputs" + ("; yellow: all it depends on" if ancestors else "")
                 + "\ntop row (t ≥ 1): output; last column: h_n", fontsize=10)


def show_grid(num_layers=3, seq_len=5, layer=2, step=3, ancestors=True):
    """Widget callback: the grid with H_step^(layer) and what it depends on. Returns a dict, or None if invalid."""
    if num_layers < 1 or seq_len < 1:
        print(f"⚠ num_layers = {num_layers}, T = {seq_len}: a stacked RNN needs at least one layer and one step.")
        return None
    if not (1 <= layer <= num_layers and 1 <= step <= seq_len):
        print(f"⚠ H_t of layer l = {layer} at t = {step} does not exist here: choose 1 ≤ l ≤ {num_layers} and 1 ≤ t ≤ {seq_len}.")
        return None
    with torch.random.fork_rng():  # counting builds a module: leave the notebook's random numbers alone
        n_params = sum(p.numel() for p in nn.RNN(d, h, num_layers=num_layers).parameters())
    below = "X" + f"{step}".translate(SUB) if layer == 1 else state_name(layer - 1, step)
    print(f"{state_name(layer, step)} = φ({below} W_xh + {state_name(layer, step - 1)} W_hh + b), weights weight_*_l{layer - 1}")
    places = ([f"output[{step - 1}]"] if layer == num_layers else []) + ([f"h_n[{layer - 1}]"] if step == seq_len else [])
    print(f"in torch: {' and '.join(places) if places else 'an inner state: neither in output nor in h_n'}")
    n_anc = step * layer - 1 + step + layer  # earlier states, inputs X_1…X_t, initial states of layers 1…l
    print(f"depends on {n_anc} cells: {step} input(s), {layer} initial state(s), {step * layer - 1} earlier state(s)")
    print(f"nn.RNN({d}, {h}, num_layers={num_layers}): {n_params} parameters")
    fig, ax = plt.subplots(figsize=(min(3.5 + 0.9 * seq_len, 11), 1.4 + 0.7 * num_layers))
    draw_grid(ax, num_layers, seq_len, layer, step, ancestors)
    plt.tight_layout()
    plt.show()
    return {"cell": (layer, step), "places": places, "depends_on": n_anc, "params": n_params}

# %%
# NBVAL_IGNORE_OUTPUT
grid_ui = widgets.interactive(
    show_grid,
    num_layers=widgets.IntSlider(value=3, min=0, max=5, description="layers L"),
    seq_len=widgets.IntSlider(value=5, min=0, max=10, description="length T"),
    layer=widgets.IntSlider(value=2, min=0, max=5, description="layer l"),
    step=widgets.IntSlider(value=3, min=0, max=10, description="step t"),
    ancestors=widgets.Checkbox(value=True, description="show all it depends on"),
)
display(grid_ui)

# %% [markdown]
# The same picture in a plain cell, with the defaults. $H_t^{(l)}$ depends on the $t \cdot l - 1$ earlier states
# with $s \le t$ and $k \le l$, the $t$ inputs $X_1 \dots X_t$ and the $l$ initial states below it.

# %%
result = show_grid()
assert result == {"cell": (2, 3), "places": [], "depends_on": 10, "params": 175}

# %% hidden
# The callback at its extremes and with invalid settings (an error inside a widget only shows in the widget).
assert show_grid(1, 1, 1, 1, False) == {"cell": (1, 1), "places": ["output[0]", "h_n[0]"], "depends_on": 2, "params": 55}
result = show_grid(5, 10, 5, 10)
assert result["places"] == ["output[9]", "h_n[4]"] and result["params"] == 295
assert show_grid(3, 5, 1, 5)["places"] == ["h_n[0]"]  # the bottom layer's last state: h_n[0], not in output
assert show_grid(num_layers=0) is None and show_grid(seq_len=0) is None
assert show_grid(layer=4) is None and show_grid(step=0) is None
print("✓ show_grid at its extremes draws; invalid settings get a message, not a traceback")

# %% [markdown]
# ## 9 · Traps
#
# **Trap 1: `h_n[0]` is the bottom layer, not the top.** Put a many-to-one head on the top layer's last state,
# `h_n[-1]` (which is `output[-1]`).

# %%
with torch.no_grad():
    top_ok = torch.equal(h_n[-1], output[-1])
    bottom_is_top = torch.allclose(h_n[0], output[-1])
assert top_ok and not bottom_is_top
print(f"h_n[-1] == output[-1]: {top_ok}    h_n[0] == output[-1]: {bottom_is_top}")
head = nn.Linear(h, 3, dtype=torch.float64)
print(f"many-to-one head on the top layer: head(h_n[-1]) {list(head(h_n[-1]).shape)}")

# %% [markdown]
# **Trap 2: h0 has one row per layer.** An h0 of shape (1, N, h), kept from a one-layer model, is refused. torch
# gives the shape it expected; `ScratchRNN` also says why.

# %%
for module in (rnn, scratch):
    try:
        module(X, torch.zeros(1, N, h, dtype=torch.float64))
    except (RuntimeError, ValueError) as err:
        print(f"{type(module).__name__:<10} {type(err).__name__}: {err}")

# %% [markdown]
# **Trap 3: dropout with one layer does nothing.** There is no layer *between* to drop, so torch warns (caught
# here, so that it prints) and `ScratchRNN` says the same.
#
# **Trap 4: forgetting `model.eval()`.** In training mode the masks change from call to call; in eval mode a
# module built with `dropout=0.5` gives exactly the output of `dropout=0`.

# %%
for cls in (nn.RNN, ScratchRNN):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cls(d, h, dropout=0.5)
    print(f"{cls.__name__:<10} {caught[0].category.__name__}: {caught[0].message}")

no_drop = nn.RNN(d, h, num_layers=L, dtype=torch.float64)
no_drop.load_state_dict(t_drop.state_dict())
with torch.no_grad():
    t_drop.train()
    print(f"training mode, two calls equal: {torch.equal(t_drop(X)[0], t_drop(X)[0])}")
    for module, reference in ((t_drop.eval(), no_drop), (twin(t_drop), twin(no_drop))):
        check(f"{type(module).__name__} in eval mode, dropout=0.5 vs dropout=0", module(X), reference(X), **EXACT)

# %% [markdown]
# ## 10 · On a GPU
#
# The collapsed cell repeats the parity check on CUDA when there is one: a 2-layer `nn.RNN` runs on **cuDNN**
# there, in training mode (cuDNN's backward refuses eval mode). float64 is compared to |Δ| ≤ 1e-12; float32 within
# its default tolerance, with TF32 switched off for the check (cuDNN would use it by default) and then restored.

# %% hidden
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    saved_tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # cuDNN's RNN would otherwise use TF32 for float32
    torch.backends.cuda.matmul.allow_tf32 = False  # ScratchRNN's matmuls: full float32 (the default)
    for dtype, tol in [(torch.float64, EXACT), (torch.float32, {})]:
        t_rnn = nn.RNN(d, h, num_layers=2, device=DEVICE, dtype=dtype)
        xg = torch.randn(T, 16, d, device=DEVICE, dtype=dtype)
        n = parity(twin(t_rnn), t_rnn, xg, torch.randn(2, 16, h, device=DEVICE, dtype=dtype), **tol)
        print(f"✓ {torch.cuda.get_device_name()} {dtype}: output, h_n and {n - 2} gradients match "
              f"({'|Δ| ≤ 1e-12' if tol else 'float32 default tolerance, TF32 off'})")
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved_tf32
else:
    print("No GPU here: skipped (this cell repeats the parity check against cuDNN when a GPU is present).")

# %% [markdown]
# ## 11 · Summary
#
# | | |
# |---|---|
# | the recurrence | $H_t^{(l)} = \varphi(H_t^{(l-1)} W_{xh}^{(l)} + H_{t-1}^{(l)} W_{hh}^{(l)} + b^{(l)})$, $H_t^{(0)} = X_t$, $l = 1 \dots L$ |
# | torch | `output, h_n = nn.RNN(d, h, num_layers=L, dropout=p)(X, h0)` |
# | weights | `weight_ih_l0` [h, d], `weight_ih_l{k}` [h, h] for k > 0, `weight_hh_l{k}` [h, h], `bias_ih_l{k}`, `bias_hh_l{k}` [h]; layer by layer; `all_weights` groups them per layer |
# | shapes | X (T, N, d) → output (T, N, h), the **top** layer's states; h_n (L, N, h), row k = layer k's last state, **bottom first**; h0 (L, N, h) |
# | the last step | `output[-1]` is `h_n[-1]` (top layer); `h_n[0]` is the bottom layer |
# | loop orders | layer-outer (whole sequences; torch on the CPU) = time-outer (streaming), to rounding; cuDNN overlaps layers as a wavefront |
# | dropout | on the outputs of layers 0 … L−2 only, in training mode only; never on $H_{t-1} \to H_t$, `output` or `h_n`; one layer: a warning, no effect |
# | checked | output, h_n and every gradient, 48 settings in float64 (≤ 1e-12), float32 at its default tolerance, dropout masks from the same seed |
#
# **Next:** lesson 05 adds the second direction (`bidirectional=True`) and sequences of different lengths.

# %% [markdown] collapsed
# ## Going deeper: counting parameters

# %% [markdown]
# Layer $k$ (from 0) has $h \cdot \text{in}_k + h \cdot h$ weights and two bias vectors of $h$, with
# $\text{in}_0 = d$ and $\text{in}_k = h$ above:
#
# $$\#\text{params} = \sum_{k=0}^{L-1} \big(h\,(\text{in}_k + h) + 2h\big) = h(d + h) + 2h + (L - 1)\,(2h^2 + 2h)$$
#
# Every layer above the first costs the same, whatever $d$ is. Checked against `nn.RNN`:

# %%
def rnn_param_count(d, h, num_layers, bias=True):
    """Σ_k h·(in_k + h) + 2h·[bias], with in_0 = d and in_k = h for k > 0."""
    return sum(h * ((d if k == 0 else h) + h) + (2 * h if bias else 0) for k in range(num_layers))


for n_layers in (1, 2, 3, 5):
    for bias in (True, False):
        assert rnn_param_count(d, h, n_layers, bias) == sum(p.numel() for p in nn.RNN(d, h, n_layers, bias=bias).parameters())
    print(f"num_layers={n_layers}: {rnn_param_count(d, h, n_layers):>3} parameters "
          f"({rnn_param_count(d, h, n_layers, bias=False):>3} without bias) = sum(p.numel()) ✓")
assert rnn_param_count(10, 20, 2) == 1480  # torch's documentation example, nn.RNN(10, 20, 2)

# %% [markdown] collapsed
# ## Going deeper: the time-outer loop, checked

# %% [markdown]
# The whole sequence streamed through all layers, one step at a time, against `ScratchRNN`'s layer-outer loop and
# against `nn.RNN`. The two orders do the same operations in another sequence, so in float64 they agree to
# rounding. In float32, compare them at a tolerance, never bit for bit: the matrix library may pick another kernel
# for each, and on some CPUs the last bit differs.

# %%
def time_outer(x, h0, layers):
    """x [T, N, d], h0 [L, N, h], layers = all_weights → output [T, N, h], h_n [L, N, h]; step by step."""
    H, tops = list(h0), []
    for x_t in x:
        below = x_t  # H_t^(0) = X_t
        for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(layers):
            H[k] = rnn_step(below, H[k], w_ih, w_hh, b_ih, b_hh)  # from H_t below and H_{t-1} of layer k
            below = H[k]
        tops.append(below)  # the top layer's state at step t
    return torch.stack(tops), torch.stack(H)


with torch.no_grad():
    streamed = time_outer(X, H0, rnn.all_weights)
    check("time-outer (output, h_n) vs ScratchRNN's layer-outer", streamed, scratch(X, H0), **EXACT)
    check("time-outer (output, h_n) vs nn.RNN", streamed, rnn(X, H0), **EXACT)

# %% [markdown] collapsed
# ## Going deeper: dropout by hand

# %% [markdown]
# Where exactly do the zeros go? Rebuild a 2-layer `ScratchRNN` in training mode from its parts: layer 0 alone,
# then `F.dropout` on its output from the same seed, then layer 1 alone. About a fraction $p$ of layer 0's outputs
# are zero (N = 200 sequences, so the fraction is measured on 7000 numbers).

# %%
p = 0.3
s2 = ScratchRNN(d, h, num_layers=2, dropout=p, dtype=torch.float64)
layer0, layer1 = ScratchRNN(d, h, dtype=torch.float64), ScratchRNN(h, h, dtype=torch.float64)
layer0.load_state_dict({n: w for n, w in s2.state_dict().items() if n.endswith("_l0")})
layer1.load_state_dict({n.replace("_l1", "_l0"): w for n, w in s2.state_dict().items() if n.endswith("_l1")})
x_many = torch.randn(T, 200, d, dtype=torch.float64)
with torch.no_grad():
    torch.manual_seed(5)
    out2, hn2 = s2(x_many)
    out0, hn0 = layer0(x_many)
    torch.manual_seed(5)
    dropped0 = F.dropout(out0, p, training=True)
    out1, hn1 = layer1(dropped0)
check("2 layers = layer 0, dropout, layer 1", out2, out1, **EXACT)
check("h_n[0] = layer 0's last state, not dropped", hn2[0], hn0[0], **EXACT)
fraction = (dropped0 == 0).double().mean().item()  # a random draw: another torch version draws other masks
assert abs(fraction - p) < 0.03 and (out0 != 0).all()
print(f"p = {p}: {fraction:.3f} of layer 0's outputs were zeroed; the kept ones scaled by 1/(1-p) = {1 / (1 - p):.4f}")

# %% [markdown] collapsed
# ## Going deeper: what `ScratchRNN` refuses

# %% [markdown]
# Rather than return a wrong answer, `ScratchRNN` raises an error that names the argument or the input. torch
# refuses the first six too; the last two are what `ScratchRNN` cannot do yet (lesson 05 adds them).

# %%
calls = {
    "ScratchRNN(d, h, bias=0)": lambda: ScratchRNN(d, h, bias=0),
    "ScratchRNN(d, h, num_layers=0)": lambda: ScratchRNN(d, h, num_layers=0),
    "ScratchRNN(d, h, nonlinearity='sigmoid')": lambda: ScratchRNN(d, h, nonlinearity="sigmoid"),
    "float32 input, float64 weights": lambda: scratch(X.float()),
    "h0 for a batch of 3, input of 2": lambda: scratch(X, torch.zeros(L, 3, h, dtype=torch.float64)),
    "weight_ih_l0 [h, d] into layer 1": lambda: scratch.load_state_dict({**scratch.state_dict(), "weight_ih_l1": scratch.weight_ih_l0}),
    "ScratchRNN(d, h, bidirectional=True)": lambda: ScratchRNN(d, h, bidirectional=True),
    "a PackedSequence": lambda: scratch(nn.utils.rnn.pack_padded_sequence(X, torch.tensor([T, T - 2]))),
}
for what, call in calls.items():
    try:
        call()
        raise AssertionError(f"{what} was accepted")
    except (TypeError, ValueError, RuntimeError, NotImplementedError) as err:
        print(f"{what:<42} {type(err).__name__}: {str(err).splitlines()[-1].strip()}")

# %% [markdown]
# ## Solutions
#
# Collapsed: click to expand. Each solution passes its checker; then a wrong answer shows what a checker says.

# %% solution
def stacked_forward_solution(x, h0, layers):
    layer_input, last = x, []
    for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(layers):  # layer-outer, as ScratchRNN; time-outer works too
        H, states = h0[k], []
        for x_t in layer_input:
            H = rnn_step(x_t, H, w_ih, w_hh, b_ih, b_hh)
            states.append(H)
        layer_input = torch.stack(states)  # [T, N, h]: the next layer's input
        last.append(H)
    return layer_input, torch.stack(last)


def stream_step_solution(x_t, H, layers):
    below, new = x_t, []
    for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(layers):
        below = rnn_step(below, H[k], w_ih, w_hh, b_ih, b_hh)  # layer k reads layer k − 1's NEW state
        new.append(below)
    return torch.stack(new)


assert check_stacked_forward(stacked_forward_solution)
assert check_stream_step(stream_step_solution)

# %% solution
# What the checkers say to two common mistakes:
def h_n_upside_down(x, h0, layers):
    output, h_n = stacked_forward_solution(x, h0, layers)
    return output, h_n.flip(0)


def old_state_below(x_t, H, layers):  # layer k reads layer k − 1's state from the step before
    new = [rnn_step(x_t, H[0], *layers[0])] + [rnn_step(H[k - 1], H[k], *layers[k]) for k in range(1, len(layers))]
    return torch.stack(new)


assert not check_stacked_forward(h_n_upside_down)
assert not check_stream_step(old_state_below)
