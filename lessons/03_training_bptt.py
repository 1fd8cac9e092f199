# %% [markdown]
# # 03 · Training an RNN: backpropagation through time
#
# Give a model the start of a line, *"Twinkle, twinkle, little st"*, and it should go on with *"ar"*. To learn
# that, the error it makes on "a" must travel back through every step, to where it read "T" 26 steps earlier.
# That is **backpropagation through time** (BPTT).
#
# In this lesson you:
# - train a character model on a nursery rhyme with `ScratchRNN` and `nn.RNN` side by side: equal losses;
# - **write BPTT yourself** and check it against autograd;
# - see why gradients vanish or explode over many steps, and cap them by clipping;
# - carry the state across chunks of a long text with `detach` (truncated BPTT).
#
# **You should know:** lesson 02 (`ScratchRNN`, `output`, `h_n`; torch stores `weight_hh_l0` $= W_{hh}^\top$),
# the chain rule, and a training loop (`loss.backward()`, `optimizer.step()`).

# %% [markdown]
# ## Setup
# Everything whose digits are printed runs in **float64**, so they are the same on every machine.

# %%
import math

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

# %% [markdown]
# ## 1 · The task: a rhyme, one character at a time
#
# A **character-level language model** reads a text one character at a time and predicts the next one. Our
# text: two verses of Jane Taylor's *The Star* (1806). Each character is a one-hot vector of size V. A batch is
# N random windows of T characters: input `x` [T, N, V], targets `y` [T, N], the same windows shifted by one.

# %%
TEXT = ("Twinkle, twinkle, little star,\nHow I wonder what you are!\nUp above the world so high,\n"
        "Like a diamond in the sky.\nWhen the blazing sun is gone,\nWhen he nothing shines upon,\n"
        "Then you show your little light,\nTwinkle, twinkle, all the night.\n")
vocab = sorted(set(TEXT))
V = len(vocab)
ids = torch.tensor([vocab.index(c) for c in TEXT])  # the text as integers, [len(TEXT)]


def one_hot(idx):
    """Integer ids of any shape → one-hot float64 vectors, [..., V]."""
    return F.one_hot(idx, V).to(F64)


def make_batches(n_batches, T=16, N=8, seed=0):
    """n_batches pairs (x [T, N, V], y [T, N]) of random windows: y is x shifted by one character."""
    g = torch.Generator().manual_seed(seed)  # its own generator: the same batches whatever ran before
    batches = []
    for _ in range(n_batches):
        start = torch.randint(0, len(ids) - T - 1, (N,), generator=g)
        idx = start + torch.arange(T)[:, None]  # [T, N]: window n reads characters start[n] … start[n] + T − 1
        batches.append((one_hot(ids[idx]), ids[idx + 1]))
    return batches


x0, y0 = make_batches(1)[0]
print(f"{len(TEXT)} characters, vocabulary V = {V}; one batch: x {list(x0.shape)}, y {list(y0.shape)}")
print(f"window 0 reads {''.join(vocab[i] for i in x0[:, 0].argmax(-1))!r}")
print(f"and predicts   {''.join(vocab[i] for i in y0[:, 0])!r}")

# %% [markdown]
# ## 2 · Recap: `ScratchRNN`, and a model on top
#
# Lesson 02's `ScratchRNN` is re-stated in the collapsed cell below (with the course's `rnn_step` and `parity`).
# This recap handles one layer and batched, sequence-first input [T, N, d]; anything else gets a clear error,
# never a wrong answer. It is checked against `nn.RNN` before we rely on it.

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


def check_input(rnn, X, hx):
    """Refuse clearly what this recap does not handle, rather than return a wrong answer."""
    w = rnn.weight_ih_l0
    if not torch.is_tensor(X):
        raise TypeError(f"ScratchRNN takes a tensor [T, N, d], not a {type(X).__name__} (packing is lesson 05's)")
    if X.dim() != 3 or X.shape[0] == 0 or X.shape[2] != w.shape[1]:
        raise ValueError(f"ScratchRNN (recap) takes batched input [T ≥ 1, N, d = {w.shape[1]}], got "
                         f"{tuple(X.shape)} (an unbatched sequence (T, d): pass X[:, None])")
    if X.dtype != w.dtype:
        raise ValueError(f"input dtype {X.dtype} does not match weight dtype {w.dtype}")
    want = (1, X.shape[1], rnn.hidden_size)
    if hx is not None and (not torch.is_tensor(hx) or tuple(hx.shape) != want or hx.dtype != w.dtype):
        got = f"{hx.dtype} {tuple(hx.shape)}" if torch.is_tensor(hx) else type(hx).__name__
        raise ValueError(f"hx must be a {w.dtype} tensor of shape {want}, got {got}")


class ScratchRNN(nn.Module):
    """One layer: H_t = rnn_step(X_t, H_{t-1}, …); weight_ih_l0 = W_xhᵀ, weight_hh_l0 = W_hhᵀ."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):  # nn.RNN's arguments, so a drop-in
        super().__init__()
        for name, flag in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(flag).__name__}")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity {nonlinearity!r}. Select from 'tanh' or 'relu'.")
        if min(input_size, hidden_size, num_layers) <= 0:
            raise ValueError(f"input_size, hidden_size, num_layers must be > 0: {input_size, hidden_size, num_layers}")
        if (num_layers, bias, batch_first, dropout, bidirectional) != (1, True, False, 0.0, False):
            raise NotImplementedError("this recap is one layer with biases, sequence-first: lessons 04–05 add the rest")
        self.input_size, self.hidden_size, self.nonlinearity = input_size, hidden_size, nonlinearity
        kw = {"device": device, "dtype": dtype}
        self.weight_ih_l0 = nn.Parameter(torch.empty(hidden_size, input_size, **kw))
        self.weight_hh_l0 = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))
        self.bias_ih_l0 = nn.Parameter(torch.empty(hidden_size, **kw))
        self.bias_hh_l0 = nn.Parameter(torch.empty(hidden_size, **kw))
        for p in self.parameters():
            nn.init.uniform_(p, -1.0 / math.sqrt(hidden_size), 1.0 / math.sqrt(hidden_size))

    def forward(self, X, hx=None):  # X [T, N, d], hx [1, N, h] or None (zeros)
        check_input(self, X, hx)
        H = X.new_zeros(X.shape[1], self.hidden_size) if hx is None else hx[0]
        states = []
        for x_t in X:
            H = rnn_step(x_t, H, self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0,
                         self.nonlinearity)
            states.append(H)
        return torch.stack(states), H.unsqueeze(0)  # output [T, N, h], h_n [1, N, h]


for nonlinearity in ("tanh", "relu"):  # T = 6, N = 3, d = 5, h = 7: all different
    t_rnn = nn.RNN(5, 7, nonlinearity=nonlinearity, dtype=F64)
    s_rnn = ScratchRNN(5, 7, nonlinearity=nonlinearity, dtype=F64)
    s_rnn.load_state_dict(t_rnn.state_dict())
    n = parity(s_rnn, t_rnn, torch.randn(6, 3, 5, dtype=F64), torch.randn(1, 3, 7, dtype=F64), atol=1e-12, rtol=0.0)
try:
    s_rnn(torch.randn(6, 5, dtype=F64))  # an unbatched sequence: refused, not misread as a batch of 6
except ValueError as err:
    refusal = str(err)
print(f"✓ ScratchRNN (recap) equals nn.RNN, tanh and relu: {n} tensors each (outputs and gradients), |Δ| ≤ 1e-12")
print(f"  and refuses what it does not handle, e.g. ValueError: {refusal}")

# %% [markdown]
# `CharRNN` puts a linear head on the RNN (as in lesson 02): each state [N, h] becomes V scores (logits),
# one per character. It takes either RNN, so the two models differ only inside it.

# %%
class CharRNN(nn.Module):
    """An RNN (ScratchRNN or nn.RNN) and a linear head: x [T, N, V] → logits [T, N, V], h_n [1, N, h]."""

    def __init__(self, rnn):
        super().__init__()
        w = rnn.weight_ih_l0
        self.rnn, self.head = rnn, nn.Linear(rnn.hidden_size, V, device=w.device, dtype=w.dtype)

    def forward(self, x, h0=None):
        output, h_n = self.rnn(x, h0)
        return self.head(output), h_n

# %% [markdown]
# ## 3 · Training side by side
#
# The loss is the cross-entropy of the logits against the true next characters, averaged over all T·N
# predictions. With random weights it is about $\ln V$ (a uniform guess). `generate` continues a prefix with the
# most likely character, again and again.

# %%
def loss_fn(model, x, y, h0=None):
    """Mean cross-entropy of the next-character predictions; also returns h_n."""
    logits, h_n = model(x, h0)
    return F.cross_entropy(logits.reshape(-1, V), y.reshape(-1)), h_n


def generate(model, prefix, n_chars):
    """Greedy continuation of prefix by n_chars characters."""
    with torch.no_grad():
        dev = next(model.parameters()).device
        logits, h = model(one_hot(torch.tensor([vocab.index(c) for c in prefix]))[:, None].to(dev))
        text = prefix
        for _ in range(n_chars):
            c = int(logits[-1, 0].argmax())  # the most likely next character
            text += vocab[c]
            logits, h = model(one_hot(torch.tensor([[c]])).to(dev), h)
    return text


torch.manual_seed(2)
torch_model = CharRNN(nn.RNN(V, 44, dtype=F64))  # h = 44 ≠ V = 32 ≠ T = 16 ≠ N = 8
scratch_model = CharRNN(ScratchRNN(V, 44, dtype=F64))
scratch_model.load_state_dict(torch_model.state_dict())  # the same initial weights, head included
print(f"ln V = {math.log(V):.4f}   loss before training: {loss_fn(torch_model, x0, y0)[0].item():.4f}")
print("before:", repr(generate(torch_model, "Twinkle", 20)))

# %% [markdown]
# `train` runs Adam over a list of batches. Both models get the same initial weights, the same batches and the
# same settings. If `ScratchRNN` computes what `nn.RNN` computes, forward *and* backward, the two runs are one run.

# %%
def train(model, batches, lr=0.02, max_norm=None):
    """Adam on each batch in turn (optionally clipping the gradient norm); the loss of every step, float64."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for x, y in batches:
        loss, _ = loss_fn(model, x, y)
        opt.zero_grad()
        loss.backward()
        if max_norm is not None:  # section 6: after backward, before step
            nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        opt.step()
        losses.append(loss.item())
    return torch.tensor(losses, dtype=F64)


batches = make_batches(150)
losses_torch = train(torch_model, batches)
losses_scratch = train(scratch_model, batches)

# %% [markdown]
# **How close must they be?** The two sum in a slightly different order, so each loss differs by float64
# rounding (~1e-16). We allow 1e-10 at every one of the 150 steps: a million times that rounding, yet far below
# what a wrong gradient would cause.

# %%
torch.testing.assert_close(losses_scratch, losses_torch, atol=1e-10, rtol=0.0,
                           msg=lambda m: f"the loss curves of ScratchRNN and nn.RNN differ: {m}")
for name, p in scratch_model.named_parameters():  # and the trained weights are the same too
    torch.testing.assert_close(p, torch_model.state_dict()[name], atol=1e-10, rtol=0.0)
print("✓ 150 steps: ScratchRNN's loss equals nn.RNN's at every step (|Δ| ≤ 1e-10), and so do the trained weights")
for step in (0, 25, 50, 100, 149):
    print(f"step {step:>3}   loss  nn.RNN {losses_torch[step]:.4f}   ScratchRNN {losses_scratch[step]:.4f}")
print("after: ", repr(generate(scratch_model, "Twinkle", 40)))

# %% hidden
fig, ax = plt.subplots(figsize=(7, 3))
ax.plot(losses_torch, lw=4, alpha=0.4, label="nn.RNN")
ax.plot(losses_scratch, "k--", lw=1, label="ScratchRNN (same weights, same batches)")
ax.axhline(math.log(V), color="gray", lw=0.8, ls=":", label="ln V: a uniform guess")
ax.set_xlabel("training step")
ax.set_ylabel("cross-entropy loss")
ax.set_title("Training side by side: the two curves coincide")
ax.legend()
plt.show()

# %% [markdown]
# ## 4 · Backpropagation through time, by hand
#
# Autograd did the backward pass above. Now you write it, for a tanh RNN in the row convention of lessons 01–02,
# one batch of N sequences:
#
# $$a_t = X_t W_{xh} + H_{t-1} W_{hh} + b, \qquad H_t = \tanh(a_t), \qquad t = 1 \dots T$$
#
# with $X_t$ [N, d], $H_t$ and $a_t$ [N, h], $W_{xh}$ [d, h], $W_{hh}$ [h, h], $b$ [h].
#
# The loss L is computed from the states. Its **direct** gradient at step t is $G_t = \partial L/\partial H_t$ from the loss
# alone. But $H_t$ also feeds $H_{t+1}$, so the **total** gradient $\delta_t$ has a second part, coming back from
# the future. Start at $\delta_T = G_T$ and go backwards, $t = T, \dots, 1$:
#
# | step | formula | shape |
# |---|---|---|
# | through tanh ($\tanh' = 1 - \tanh^2$) | $\partial L/\partial a_t = \delta_t \odot (1 - H_t^2)$ | [N, h] |
# | into the previous state | $\delta_{t-1} = G_{t-1} + (\partial L/\partial a_t)\, W_{hh}^\top$ | [N, h] |
# | weights: a sum over steps | $\partial L/\partial W_{hh} \mathrel{+}= H_{t-1}^\top\, \partial L/\partial a_t$, $\;\partial L/\partial W_{xh} \mathrel{+}= X_t^\top\, \partial L/\partial a_t$ | [h, h], [d, h] |
# | bias: a sum over steps and rows | $\partial L/\partial b \mathrel{+}= \sum_{\text{rows}} \partial L/\partial a_t$ | [h] |
#
# The weights get a **sum over time**, because the same $W_{hh}$ acts at every step. The loop ends with
# $\delta_0 = \partial L/\partial H_0$. In code, `H[t]` is $H_t$ (`H[0]` $= H_0$) and `X[t - 1]` is $X_t$:

# %%
def forward_states(X, H0, W_xh, W_hh, b):
    """The states H_0 … H_T of a tanh RNN, stacked: [T + 1, N, h] (H[0] = H_0)."""
    H = [H0]
    for t in range(1, X.shape[0] + 1):
        H.append(torch.tanh(X[t - 1] @ W_xh + H[t - 1] @ W_hh + b))
    return torch.stack(H)

# %% hidden
def bptt_reference(X, H, G, W_hh, mistake=None):
    """The checker's BPTT (and, with `mistake`, the usual wrong versions, to name them)."""
    T = X.shape[0]
    dW_xh, dW_hh, db = X.new_zeros(X.shape[2], W_hh.shape[0]), torch.zeros_like(W_hh), X.new_zeros(W_hh.shape[0])
    delta = G[T]  # δ_T: nothing comes back from the future
    for t in range(T, 1 if mistake == "stop early" else 0, -1):
        dA = delta * (1 - H[t] ** 2)  # ∂L/∂a_t = δ_t ⊙ tanh'(a_t)
        if mistake == "no tanh'":
            dA = delta
        elif mistake == "1 - H":
            dA = delta * (1 - H[t])
        elif mistake == "H_{t-1} in tanh'":
            dA = delta * (1 - H[t - 1] ** 2)
        if mistake == "overwrite":
            dW_xh, dW_hh, db = X[t - 1].T @ dA, H[t - 1].T @ dA, dA.sum(0)
        else:
            dW_xh, db = dW_xh + X[t - 1].T @ dA, db + dA.sum(0)
            dW_hh = dW_hh + (H[t] if mistake == "H_t" else H[t - 1]).T @ dA
            if mistake == "dW_hh transposed":
                dW_hh = dW_hh - H[t - 1].T @ dA + dA.T @ H[t - 1]
        back = dA @ W_hh.T  # what flows back through the recurrence
        if mistake == "untransposed":
            back = dA @ W_hh
        delta = (0 if mistake == "no G" else G[t - 1]) + (0 if mistake == "no recurrence" else back)
    return dW_xh, dW_hh, db, (dA if mistake == "dA" else delta)


MISTAKES = {  # mistake → what the checker says
    "no tanh'": "you left out tanh': ∂L/∂a_t = δ_t ⊙ (1 − H_t²)",
    "1 - H": "tanh'(a_t) is 1 − H_t², not 1 − H_t",
    "untransposed": "send the gradient back through W_hhᵀ: δ_{t−1} = G_{t−1} + ∂L/∂a_t W_hhᵀ (W_hh.T in code)",
    "no G": "δ_{t−1} also gets G_{t−1}, the loss's own gradient at step t − 1",
    "no recurrence": "δ_{t−1} also gets what comes back from step t: ∂L/∂a_t W_hhᵀ",
    "H_t": "∂L/∂W_hh sums H_{t−1}ᵀ ∂L/∂a_t: the state that went INTO step t",
    "overwrite": "the weights act at every step: add up (+=) the contributions of all T steps",
    "H_{t-1} in tanh'": "tanh'(a_t) is 1 − H_t², with H_t = H[t], the state step t produced (not H[t − 1])",
    "dW_hh transposed": "∂L/∂W_hh is H_{t−1}ᵀ ∂L/∂a_t (H[t - 1].T @ dA), not its transpose",
    "stop early": "go back all the way, t = T, …, 1: the last step back (t = 1) gives δ_0 = ∂L/∂H_0",
    "dA": "dH0 is δ_0 = G_0 + ∂L/∂a_1 W_hhᵀ, one step further back than ∂L/∂a_1",
}
NAMES = ("dW_xh", "dW_hh", "db", "dH0")


def bptt_data():
    """Fixed float64 data, all sizes different: T = 5, N = 3, d = 4, h = 6."""
    with torch.random.fork_rng():
        torch.manual_seed(2)
        X, Y = torch.randn(5, 3, 4, dtype=F64), torch.randn(5, 3, 6, dtype=F64)
        W_xh, W_hh = torch.randn(4, 6, dtype=F64) * 0.5, torch.randn(6, 6, dtype=F64) * 0.5
        b, H0 = torch.randn(6, dtype=F64) * 0.1, torch.randn(3, 6, dtype=F64) * 0.5
    return {"X": X, "Y": Y, "W_xh": W_xh, "W_hh": W_hh, "b": b, "H0": H0}


def toy_loss(p):
    """L = ½ Σ_t ‖H_t − Y_t‖² and the states H [T + 1, N, h]."""
    H = forward_states(p["X"], p["H0"], p["W_xh"], p["W_hh"], p["b"])
    return 0.5 * ((H[1:] - p["Y"]) ** 2).sum(), H


def bptt_case():
    """X, H, G (G[t] = ∂L/∂H_t, direct part; G[0] = 0), W_hh, and autograd's four gradients (the truth)."""
    p = bptt_data()
    leaves = {k: p[k].clone().requires_grad_() for k in ("W_xh", "W_hh", "b", "H0")}
    L, H = toy_loss({**p, **leaves})
    L.backward()
    H = H.detach()
    G = torch.cat([torch.zeros_like(H[:1]), H[1:] - p["Y"]])
    return p["X"], H, G, p["W_hh"], [leaves[k].grad for k in ("W_xh", "W_hh", "b", "H0")]


def check_bptt(fn):
    """Run fn(X, H, G, W_hh) on fixed data; compare with autograd; name the mistake. True/False, never raises."""
    X, H, G, W_hh, want = bptt_case()
    try:
        got = fn(X.clone(), H.clone(), G.clone(), W_hh.clone())
    except Exception as err:  # report the learner's error instead of raising it
        print(f"✗ bptt_backward raised {type(err).__name__}: {err}\n  Hint: X [T, N, d] holds X_1 … X_T, so X_t is "
              "X[t - 1]; H and G [T + 1, N, h] start at step 0, so H_t is H[t]; W_hh is [h, h] as in the formula.")
        return False
    if got is None:
        print("✗ not done yet: bptt_backward returned None.")
        return False
    if not (isinstance(got, (tuple, list)) and len(got) == 4 and all(torch.is_tensor(g) for g in got)):
        print(f"✗ bptt_backward returned a {type(got).__name__}: return four tensors (dW_xh, dW_hh, db, dH0).")
        return False
    for name, g, w in zip(NAMES, got, want):
        if g.shape != w.shape:
            hint = ("sum ∂L/∂a_t over the batch rows too" if name == "db" and g.shape == (3, 6) else
                    "that is torch's layout (weight_ih_l0); here ∂L/∂W_xh = Σ X_tᵀ ∂L/∂a_t" if g.shape == (6, 4) else
                    f"it should be {tuple(w.shape)}")
            print(f"✗ {name} has shape {tuple(g.shape)}, expected {tuple(w.shape)}: {hint}.")
            return False
    for i in (3, 1, 0, 2):  # dH0 first: a mistake in the loop over δ shows there
        if not torch.allclose(got[i].to(F64), want[i], rtol=0.0, atol=1e-10):
            hint = next((MISTAKES[m] for m in MISTAKES
                         if torch.allclose(got[i].to(F64), bptt_reference(X, H, G, W_hh, m)[i], rtol=0.0, atol=1e-10)),
                        None)
            print(f"✗ {NAMES[i]} differs from autograd: {hint or 'go back through the table above, step by step'}.")
            return False
    print("✓ bptt_backward matches autograd: ∂L/∂W_xh, ∂L/∂W_hh, ∂L/∂b and ∂L/∂H_0, over all T steps.")
    return True


_X, _H, _G, _W, _want = bptt_case()  # the checker's own reference must be right: checked against autograd
for _ours, _theirs in zip(bptt_reference(_X, _H, _G, _W), _want):
    torch.testing.assert_close(_ours, _theirs, atol=1e-12, rtol=0.0)

# %% [markdown]
# **Exercise 1 (the core of this lesson): BPTT over all T steps.** Write `bptt_backward`. It gets the inputs
# `X` [T, N, d], the states `H` [T + 1, N, h] from `forward_states`, the direct gradients `G` [T + 1, N, h]
# (`G[0]` is zero: the loss does not read $H_0$; the checker's loss is $\tfrac12 \sum_t \lVert H_t - Y_t \rVert^2$,
# so $G_t = H_t - Y_t$) and $W_{hh}$ [h, h], in the formula's layout (`H @ W_hh`), not torch's. It returns
# $(\partial L/\partial W_{xh}, \partial L/\partial W_{hh}, \partial L/\partial b, \partial L/\partial H_0)$.
# The checker compares them with autograd and names the mistake if there is one.

# %%
def bptt_backward(X, H, G, W_hh):
    ...  # your code here: return (dW_xh [d, h], dW_hh [h, h], db [h], dH0 [N, h])

# %%
exercise_1_passed = check_bptt(bptt_backward)

# %% [markdown] collapsed
# ### Going deeper: a third check, and the gradient of the character model

# %% [markdown]
# Central differences need neither our formula nor autograd:
# $\partial L/\partial w \approx (L(w + \varepsilon) - L(w - \varepsilon)) / 2\varepsilon$. With
# $\varepsilon = 10^{-6}$ in float64 the error is ~ε² plus ~1e-16/ε, about 1e-10; we ask for 1e-7. The cell uses
# your `bptt_backward` once it passes, else the checker's reference.
#
# For the character model of section 3, $G_t$ comes back from the cross-entropy through the head:
# $G_t = (\mathrm{softmax}(O_t) - \mathrm{onehot}(y_t))\, W_{hq}^\top / (T N)$. torch's two biases `bias_ih_l0`
# and `bias_hh_l0` both get $\partial L/\partial b$, and `weight_ih_l0` gets $(\partial L/\partial W_{xh})^\top$.

# %%
bptt = bptt_backward if exercise_1_passed else bptt_reference
X_, H_, G_, W_hh_, _ = bptt_case()  # the checker's data: T = 5, N = 3, d = 4, h = 6
ours = dict(zip(("W_xh", "W_hh", "b", "H0"), bptt(X_, H_, G_, W_hh_)))
eps = 1e-6
for k, index in [("W_xh", (1, 2)), ("W_hh", (0, 5)), ("W_hh", (4, 4)), ("b", (2,)), ("H0", (1, 3))]:
    plus, minus = bptt_data(), bptt_data()
    plus[k][index] += eps
    minus[k][index] -= eps
    numeric = (toy_loss(plus)[0] - toy_loss(minus)[0]) / (2 * eps)
    torch.testing.assert_close(ours[k][index], numeric, atol=1e-7, rtol=0.0)
    print(f"✓ ∂L/∂{k}{list(index)}: by hand {ours[k][index].item():+.6f}, central difference {numeric.item():+.6f}")

# %% [markdown]
# ## 5 · Vanishing and exploding gradients
#
# Keep only the loss at the last step. Then each step back multiplies δ by one factor, and for one sequence
#
# $$\frac{\partial H_T}{\partial H_t} = \prod_{k=T}^{t+1} \operatorname{diag}(\varphi'(a_k))\, W_{hh}^\top \qquad \text{(row convention, } k = T, \dots, t+1\text{)}$$
#
# One factor stretches a vector by at most $\sigma_{\max}(W_{hh}) \cdot \max \varphi'$, where $\sigma_{\max}$ is
# the largest singular value (never below ρ, the largest |eigenvalue|). Over many steps the powers of $W_{hh}$
# grow or shrink like $\rho^k$, so the **spectral radius** ρ is the usual dial; the $\varphi'$ factors change the
# rate:
#
# - small weights: the product shrinks geometrically (certain when $\sigma_{\max} < 1$ and $\varphi' \le 1$).
#   Early steps get almost no gradient (**vanishing**): the network cannot learn long-range dependencies;
# - ρ > 1: it can grow geometrically (**exploding**), and one update can wreck the weights (section 6).
#
# `jacobian_norms` builds the product for a random $W_{hh}$ [16, 16] scaled to spectral radius ρ, one factor
# per step back, and records $\lVert \partial H_T / \partial H_t \rVert_2$.

# %%
def jacobian_norms(radius, nonlinearity, seq_len, hidden=16, seed=0):
    """‖∂H_T/∂H_t‖₂ for t = 0 … T (float64), for a seeded random W_hh of spectral radius `radius`."""
    with torch.random.fork_rng():  # private random numbers: the notebook's seed is left alone
        torch.manual_seed(seed)
        W = torch.randn(hidden, hidden, dtype=F64)
        W_rec = W * radius / torch.linalg.eigvals(W).abs().max()  # W_hh with spectral radius `radius`
        W_xh, X = torch.randn(4, hidden, dtype=F64) * 0.5, torch.randn(seq_len, 1, 4, dtype=F64)
    H, dphi = torch.zeros(1, hidden, dtype=F64), []
    for x in X:
        a = x @ W_xh + H @ W_rec
        H = torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)
        dphi.append((1 - H**2)[0] if nonlinearity == "tanh" else (a > 0).to(F64)[0])  # φ'(a_k)
    J, norms = torch.eye(hidden, dtype=F64), [1.0]  # ∂H_T/∂H_T = I
    for k in range(seq_len, 0, -1):  # one factor per step back
        J = J @ torch.diag(dphi[k - 1]) @ W_rec.T  # diag(φ'(a_k)) W_hhᵀ
        norms.append(torch.linalg.matrix_norm(J, 2).item())
    return norms[::-1]  # index t: ‖∂H_T/∂H_t‖, t = 0 … T

# %% hidden
def gradient_flow(radius=0.9, nonlinearity="tanh", seq_len=30):
    """Widget callback: plot ‖∂H_T/∂H_t‖ against t. Returns a dict (norms, verdict), or None with a message."""
    if nonlinearity not in ("tanh", "relu"):
        print(f"⚠ nonlinearity {nonlinearity!r}: nn.RNN knows only 'tanh' and 'relu'.")
        return None
    if not (isinstance(seq_len, int) and seq_len >= 1):
        print(f"⚠ seq_len = {seq_len!r}: a sequence needs at least one step.")
        return None
    if not (isinstance(radius, (int, float)) and 0 < radius <= 10):
        print(f"⚠ radius = {radius!r}: choose a spectral radius in (0, 10].")
        return None
    norms = jacobian_norms(float(radius), nonlinearity, seq_len)
    first = norms[0]
    verdict = "exploding" if first > 1e3 else "vanishing" if first < 1e-3 else "roughly stable"
    mag = f"≈ 1e{round(math.log10(first))}" if first > 0 else "= 0"
    print(f"ρ = {radius:.2f}, {nonlinearity}, T = {seq_len}:  ‖∂H_T/∂H_0‖ {mag}  → {verdict}")
    shown = [(t, v) for t, v in enumerate(norms) if v > 0]  # log scale: exact zeros (dead relu units) left out
    if len(shown) < len(norms):
        print(f"  {len(norms) - len(shown)} value(s) exactly 0 (every relu unit switched off on the way): not drawn")
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.semilogy([t for t, _ in shown], [v for _, v in shown], "o-", ms=3)
    ax.set_xlabel("step t")
    ax.set_ylabel("‖∂H_T / ∂H_t‖₂")
    ax.set_title(f"ρ(W_hh) = {radius:.2f}, {nonlinearity}: {verdict}")
    ax.grid(True, which="major", alpha=0.3)
    plt.show()
    return {"norms": norms, "verdict": verdict}

# %% [markdown]
# Play: move ρ past 1, switch to relu, lengthen the sequence.

# %%
# NBVAL_IGNORE_OUTPUT
flow_ui = widgets.interactive(
    gradient_flow,
    radius=widgets.FloatSlider(value=0.9, min=0.1, max=4.0, step=0.1, description="ρ(W_hh)"),
    nonlinearity=widgets.Dropdown(options=["tanh", "relu"], value="tanh", description="φ"),
    seq_len=widgets.IntSlider(value=30, min=1, max=50, description="length T"),
)
display(flow_ui)

# %% [markdown]
# The widget's starting point, in a plain cell: small weights and tanh. Thirty steps back, the gradient has all
# but vanished.

# %%
result = gradient_flow()
assert result["verdict"] == "vanishing" and result["norms"][-1] == 1.0 and len(result["norms"]) == 31

# %% hidden
assert len(jacobian_norms(0.1, "tanh", 1)) == 2  # one step: one factor
assert gradient_flow(0.9, "sigmoid", 30) is None  # invalid settings: a message, not a traceback
assert gradient_flow(0.9, "tanh", 0) is None
assert gradient_flow(-1.0, "tanh", 30) is None

# %% [markdown]
# Does tanh protect against exploding? Its saturated units have $\tanh' \approx 0$ and damp the product; relu
# does not squash. Ten random $W_{hh}$ each, T = 50:

# %%
def count_exploding(radius, nonlinearity, seeds=range(10)):
    return sum(jacobian_norms(radius, nonlinearity, 50, seed=s)[0] > 1e3 for s in seeds)


counts = {(r, phi): count_exploding(r, phi) for r in (2.0, 3.0) for phi in ("tanh", "relu")}
for (r, phi), c in counts.items():
    print(f"ρ = {r}, {phi}: {c} of 10 explode")
assert counts[2.0, "relu"] >= 8 and counts[2.0, "tanh"] <= 2 and counts[3.0, "tanh"] >= 5
print("✓ tanh damps the growth at ρ = 2, but does not prevent it: at ρ = 3 most runs explode")

# %% [markdown]
# ## 6 · Gradient clipping by norm
#
# **A run that explodes.** A relu RNN (h = 8) learns the running mean of 30 random numbers. It starts from
# $W_{hh} = 1.2\,I$ (ρ = 1.2; relu does not squash) and uses plain SGD. The first gradient is enormous and one step
# throws the weights far away.
#
# **The cure:** before the optimizer step, treat all gradients as one long vector $g$. If
# $\lVert g \rVert_2 >$ `max_norm`, scale every gradient by `max_norm / ‖g‖`: the direction is kept, the step
# length capped. torch's `nn.utils.clip_grad_norm_` does this (adding 1e-6 to ‖g‖) and returns ‖g‖ before clipping.

# %%
def running_mean_run(max_norm, steps=20, lr=0.1):
    """SGD on the running-mean task from a fixed start, clipping at max_norm (None: never); the loss of every step."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        rnn, head = ScratchRNN(1, 8, nonlinearity="relu", dtype=F64), nn.Linear(8, 1, dtype=F64)
        x_all = torch.rand(steps, 30, 16, 1, dtype=F64)  # T = 30, N = 16, d = 1
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(1.2 * torch.eye(8, dtype=F64))
    params = list(rnn.parameters()) + list(head.parameters())
    opt, losses = torch.optim.SGD(params, lr=lr), []
    for x in x_all:
        y = x.cumsum(0) / torch.arange(1, 31, dtype=F64)[:, None, None]  # the mean of x_1 … x_t
        loss = ((head(rnn(x)[0]) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        if max_norm is not None:
            nn.utils.clip_grad_norm_(params, max_norm)
        opt.step()
        losses.append(loss.item())
    return losses


def magnitude(v):
    return f"{v:.3f}" if v < 1e3 else f"~1e{round(math.log10(v))}"


plain, clipped = running_mean_run(None), running_mean_run(1.0)
for label, L in (("no clipping ", plain), ("clip at 1.0 ", clipped)):
    print(label + "  ".join(f"step {s}: {magnitude(L[s])}" for s in (0, 1, 5, 19)))
assert max(plain) > 1e9 and plain[-1] > 1e4, "expected the unclipped run to explode"
assert clipped[-1] < 0.1 and max(clipped) <= clipped[0], "expected the clipped run to train"
print("✓ without clipping the loss explodes; clipped, the same run trains")

# %% hidden
def check_clip_grads(fn):
    """Compare fn with nn.utils.clip_grad_norm_, given a generator of parameters (as model.parameters() is),
    clipping and not; one parameter has no gradient. True/False, never raises."""
    with torch.random.fork_rng():
        torch.manual_seed(12)
        grads = [torch.randn(4, 3, dtype=F64) * 3, torch.randn(5, dtype=F64), None, torch.randn(2, 2, dtype=F64) * 0.1]
    for max_norm in (1.0, 1000.0):
        mine, ref = ([nn.Parameter(torch.zeros(3, dtype=F64) if g is None else torch.zeros_like(g)) for g in grads]
                     for _ in range(2))
        for p, q, g in zip(mine, ref, grads):
            p.grad, q.grad = (None, None) if g is None else (g.clone(), g.clone())
        want = nn.utils.clip_grad_norm_(ref, max_norm)
        try:
            got = fn((p for p in mine), max_norm)  # a generator, like model.parameters(): it can be read only once
        except Exception as err:  # report the learner's error instead of raising it
            hint = " (one parameter has no gradient: skip p.grad None)" if "NoneType" in str(err) else ""
            print(f"✗ clip_grads raised {type(err).__name__}: {err}{hint}")
            return False
        if got is None:
            print("✗ not done yet: clip_grads returned None (return the total norm before clipping).")
            return False
        try:
            got_value = float(got)
        except (TypeError, ValueError, RuntimeError):
            print(f"✗ clip_grads returned a {type(got).__name__}: return the total norm, one number.")
            return False
        if abs(got_value - want.item()) > 1e-9:
            per_tensor = max(g.norm().item() for g in grads if g is not None)
            hint = ("that is one tensor's norm: the total norm is over ALL gradients together"
                    if abs(got_value - per_tensor) < 1e-9 else
                    "it is 0: `parameters` may be a generator (model.parameters()), which runs out after one pass; "
                    "make a list first" if got_value == 0 else
                    "the total norm is the length of all gradients as ONE vector: the square root of the sum of "
                    "every squared entry, not a sum of norms" if got_value > want.item() else
                    "return the norm BEFORE clipping")
            print(f"✗ returned norm {got_value:.4f}, expected {want.item():.4f}: {hint}.")
            return False
        for i, (p, q) in enumerate(zip(mine, ref)):
            if q.grad is None:
                continue
            if not (torch.is_tensor(p.grad) and p.grad.shape == q.grad.shape):
                print(f"✗ gradient {i} is now {type(p.grad).__name__} {tuple(getattr(p.grad, 'shape', ()))}: "
                      "scale each p.grad in place (g.mul_(scale)), keeping its shape.")
                return False
            if not torch.allclose(p.grad, q.grad, rtol=0.0, atol=1e-12):
                no_eps = torch.allclose(p.grad, grads[i] * (max_norm / want), rtol=0.0, atol=1e-12)
                hint = ("the norm was below max_norm: leave the gradients alone (never scale up)" if max_norm > 100 else
                        "nothing was clipped: change each p.grad in place (p.grad.mul_(scale)), not a copy; and "
                        "`parameters` may be a generator (model.parameters()), which runs out after one pass: make a "
                        "list first" if torch.equal(p.grad, grads[i]) else
                        "add clip_grad_norm_'s 1e-6 to the norm: max_norm / (total + 1e-6)" if no_eps else
                        "scale every gradient by the same factor max_norm / (total + 1e-6)")
                print(f"✗ max_norm = {max_norm}: gradient {i} differs from clip_grad_norm_'s: {hint}.")
                return False
    print("✓ clip_grads matches clip_grad_norm_: the returned norm and the clipped gradients.")
    return True

# %% [markdown]
# **Exercise 2: clip by norm.** Write `clip_grads(parameters, max_norm)`: scale all gradients in place by one
# common factor, `max_norm / (‖g‖ + 1e-6)`, when $\lVert g \rVert_2 >$ `max_norm` (leave them alone otherwise),
# and return $\lVert g \rVert_2$ before clipping. Skip parameters without a gradient. `parameters` may be a
# generator, like `model.parameters()`.

# %%
def clip_grads(parameters, max_norm):
    ...  # your code here: clip every p.grad in place; return the total norm before clipping

# %%
exercise_2_passed = check_clip_grads(clip_grads)

# %% [markdown]
# ## 7 · Carrying the state: truncated BPTT and `detach`
#
# So far every batch started from $H_0 = 0$. To read a long text in order, cut it into consecutive chunks and
# **carry** each chunk's last state into the next. But that state is the end of the previous chunk's graph,
# freed by `loss.backward()`. The next backward tries to go through it again:

# %%
def text_chunks(T=16):
    """The text in order, as consecutive chunks (x [T, 1, V], y [T, 1]) of one long sequence."""
    return [(one_hot(ids[s:s + T])[:, None], ids[s + 1:s + T + 1][:, None]) for s in range(0, len(ids) - T - 1, T)]


def train_truncated(model, chunks, epochs, lr=0.02, detach=True):
    """Truncated BPTT: read the chunks in order, carrying the state; mean loss per epoch."""
    opt, means = torch.optim.Adam(model.parameters(), lr=lr), []
    for _ in range(epochs):
        h, total = None, 0.0  # each epoch starts the text afresh
        for x, y in chunks:
            loss, h = loss_fn(model, x, y, h)
            opt.zero_grad()
            loss.backward()
            opt.step()
            h = h.detach() if detach else h  # keep the values, drop the graph
            total += loss.item()
        means.append(total / len(chunks))
    return means


chunks = text_chunks()
try:
    train_truncated(CharRNN(ScratchRNN(V, 44, dtype=F64)), chunks[:2], epochs=1, detach=False)
except RuntimeError as err:
    print("RuntimeError:", str(err).splitlines()[0].split(". ")[0] + ".")  # the first sentence of the message

# %% [markdown]
# `retain_graph=True` is no fix: each step would go back through *all* earlier chunks, through weights the
# optimizer has since changed in place (autograd refuses that too). The fix is `h.detach()`: the same **values**,
# cut from the old graph. The gradient then flows back at most T steps (BPTT **truncated** to the chunk), while
# the forward pass still sees the whole history. Three passes over the text:

# %%
torch.manual_seed(3)
model = CharRNN(ScratchRNN(V, 44, dtype=F64))
means = train_truncated(model, chunks, epochs=3)
print(f"{len(chunks)} chunks of 16 characters; mean loss per epoch: " + ", ".join(f"{m:.4f}" for m in means))
assert means[-1] < means[0]

# %% [markdown]
# ## 8 · On a GPU
#
# The collapsed cell repeats section 3's side-by-side training on CUDA, in float64 with TF32 off, where `nn.RNN`
# runs on cuDNN; it must also equal the CPU run. Without a GPU it prints one line.

# %% hidden
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    saved_tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(2)  # built on the CPU as in section 3, then moved: the CPU run's initial weights
    gpu_torch = CharRNN(nn.RNN(V, 44, dtype=F64)).to(DEVICE)
    gpu_scratch = CharRNN(ScratchRNN(V, 44, dtype=F64)).to(DEVICE)
    gpu_scratch.load_state_dict(gpu_torch.state_dict())
    gpu_batches = [(x.to(DEVICE), y.to(DEVICE)) for x, y in batches[:50]]
    l_t, l_s = train(gpu_torch, gpu_batches), train(gpu_scratch, gpu_batches)
    torch.testing.assert_close(l_s, l_t, atol=1e-10, rtol=0.0)
    torch.testing.assert_close(l_t, losses_torch[:50], atol=1e-8, rtol=0.0)  # and the same run as on the CPU
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved_tf32
    print(f"✓ {torch.cuda.get_device_name()}: 50 steps, ScratchRNN = nn.RNN (cuDNN) = CPU run, |Δloss| ≤ 1e-10")
else:
    print("No GPU here: skipped (this cell repeats the side-by-side training on CUDA when a GPU is present).")

# %% [markdown]
# ## 9 · Summary
#
# | | |
# |---|---|
# | the task | next character: logits = head(output) [T, N, V]; `F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))` |
# | side by side | same weights (`load_state_dict`), batches and optimizer → the same loss at every step (float64, ≤ 1e-10) |
# | BPTT | δ_T = G_T; going back: ∂L/∂a_t = δ_t ⊙ (1 − H_t²), δ_{t−1} = G_{t−1} + (∂L/∂a_t) W_hhᵀ |
# | weight gradients | sums over time: ∂L/∂W_hh = Σ_t H_{t−1}ᵀ ∂L/∂a_t, ∂L/∂W_xh = Σ_t X_tᵀ ∂L/∂a_t, ∂L/∂b = Σ_t Σ_rows ∂L/∂a_t |
# | vanishing / exploding | ∂H_T/∂H_t = ∏_{k=T}^{t+1} diag(φ'(a_k)) W_hhᵀ: one factor's gain ≤ σ_max(W_hh)·max φ'; the long-run rate follows ρ(W_hh) |
# | clipping | `nn.utils.clip_grad_norm_(model.parameters(), max_norm)` after `backward`, before `step`: scale by max_norm / (‖g‖ + 1e-6) when ‖g‖ > max_norm; returns ‖g‖ |
# | truncated BPTT | carry `h = h_n.detach()` between chunks; without it: "Trying to backward through the graph a second time" |
#
# **Next:** lesson 04 stacks layers.

# %% [markdown] collapsed
# ## Going deeper: the product of Jacobians, built explicitly

# %% [markdown]
# The backward pass never forms $\partial H_T/\partial H_0$; it multiplies δ by one factor at a time. Built
# explicitly for one sequence (loss at the last step only), the product gives the same $\delta_0$:

# %%
X5, H5, G5, W5, _ = bptt_case()  # T = 5, N = 3, d = 4, h = 6
G_last = torch.zeros_like(G5)
G_last[-1] = G5[-1]  # the loss at the last step only
delta_0 = bptt_reference(X5, H5, G_last, W5)[3]
n = 0  # one sequence: diag(1 − H_k²) needs the row of sequence n
product = torch.eye(W5.shape[0], dtype=F64)
for k in range(X5.shape[0], 0, -1):  # k = T, T−1, …, 1
    product = product @ torch.diag(1 - H5[k][n] ** 2) @ W5.T
torch.testing.assert_close(G_last[-1][n] @ product, delta_0[n], atol=1e-12, rtol=0.0)
print(f"✓ δ_0 = δ_T · ∏ diag(1 − H_k²) W_hhᵀ over {X5.shape[0]} steps, as the backward pass computes it")

# %% [markdown]
# ## Solutions
#
# Collapsed: click to expand. Each solution passes its checker; then a wrong answer shows what the checker says.

# %% solution
def bptt_backward_solution(X, H, G, W_hh):
    dW_xh, dW_hh, db = 0, 0, 0
    delta = G[-1]  # δ_T
    for t in reversed(range(1, len(X) + 1)):
        dA = delta * (1 - H[t].pow(2))  # through tanh
        dW_xh = dW_xh + X[t - 1].mT @ dA  # sums over time
        dW_hh = dW_hh + H[t - 1].mT @ dA
        db = db + dA.sum(dim=0)
        delta = G[t - 1] + torch.mm(dA, W_hh.mT)  # back through the recurrence
    return dW_xh, dW_hh, db, delta


def clip_grads_solution(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]  # a list: `parameters` may be a generator
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    scale = min(1.0, max_norm / (total.item() + 1e-6))
    for g in grads:
        g.mul_(scale)
    return total


assert check_bptt(bptt_backward_solution)
assert check_clip_grads(clip_grads_solution)

# %% solution
# What the checkers say to two common mistakes:
assert not check_bptt(lambda X, H, G, W_hh: bptt_reference(X, H, G, W_hh, mistake="untransposed"))


def clip_twice(parameters, max_norm):  # reads `parameters` twice: a generator is empty the second time
    total = torch.sqrt(sum((p.grad**2).sum() for p in parameters if p.grad is not None))
    for p in parameters:
        p.grad.mul_(min(1.0, max_norm / (total.item() + 1e-6)))
    return total


assert not check_clip_grads(clip_twice)
