# %% [markdown]
# # 03 · Training an RNN: backpropagation through time
#
# Lessons 01–02 built the recurrent step and ran it over a sequence. Now we **train** it. The gradient of a loss
# reaches every weight through every step of the unrolled chain, backwards in time: *backpropagation through
# time* (BPTT). In this lesson you train a character-level language model on a nursery rhyme in a few seconds,
# with `ScratchRNN` and `nn.RNN` side by side from the same weights, and watch their loss curves coincide; you
# write the backward pass by hand and check it against autograd and against finite differences; you see where
# vanishing and exploding gradients come from, clip gradients by their norm, and carry the state across batches
# with truncated BPTT and `detach`.
#
# **You should know:** lesson 02 (`ScratchRNN`, `output` and `h_n`, torch's weight layout `weight_hh_l0` =
# $W_{hh}^\top$), the chain rule, and a training loop (`loss.backward()`, `optimizer.step()`).
#
# **Contents:** 1 · the task: a rhyme, one character at a time · 2 · recap: `ScratchRNN` · 3 · training side by
# side · 4 · BPTT by hand · 5 · vanishing and exploding gradients (play) · 6 · clipping by norm · 7 · carrying the
# state: truncated BPTT and `detach` · 8 · exercises · 9 · on a GPU · 10 · summary · solutions

# %% [markdown]
# ## Setup
# Imports, a fixed seed, four decimals when printing tensors, and the device, used only by the GPU cell near
# the end. Everything that is compared or printed after many steps runs in **float64**, so that the printed
# digits do not depend on the machine.

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
# A **character-level language model** reads a text one character at a time and, at every step, predicts the
# next character. The text is two verses of Jane Taylor's *The Star* (1806, public domain). Each character is a
# one-hot vector of size V (the vocabulary); a training batch is N random windows of T characters, the input
# `x` [T, N, V], and the targets `y` [T, N]: the same windows shifted by one character.

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
# ## 2 · Recap: `ScratchRNN`
#
# Lesson 02's one-layer `ScratchRNN`, compactly: it takes `nn.RNN`'s arguments but supports only one layer with
# biases and sequence-first input (T, N, d) (it says so if asked for more), with torch's parameter
# names, shapes, order and initialisation, so that `load_state_dict` copies weights either way.
# The model on top, `CharRNN`, adds an output layer (lesson 02, section 7) that turns each state into V scores
# (logits), one per character: many-to-many. It takes either RNN, so the two models differ only inside it.

# %%
class ScratchRNN(nn.Module):
    """One layer: H_t = φ(X_t W_xh + H_{t-1} W_hh + b); weight_ih_l0 = W_xhᵀ, weight_hh_l0 = W_hhᵀ."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):  # nn.RNN's arguments, so a drop-in
        super().__init__()
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
        H = X.new_zeros(X.shape[1], self.hidden_size) if hx is None else hx[0]
        phi = torch.tanh if self.nonlinearity == "tanh" else torch.relu
        states = []
        for x_t in X:
            H = phi(x_t @ self.weight_ih_l0.T + self.bias_ih_l0 + H @ self.weight_hh_l0.T + self.bias_hh_l0)
            states.append(H)
        return torch.stack(states), H.unsqueeze(0)  # output [T, N, h], h_n [1, N, h]


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
# The recap is checked before we rely on it: the same outputs and gradients as `nn.RNN`, both nonlinearities.

# %%
for nonlinearity in ("tanh", "relu"):
    t_rnn = nn.RNN(5, 7, nonlinearity=nonlinearity, dtype=F64)
    s_rnn = ScratchRNN(5, 7, nonlinearity=nonlinearity, dtype=F64)
    s_rnn.load_state_dict(t_rnn.state_dict())
    X, h0 = torch.randn(6, 3, 5, dtype=F64), torch.randn(1, 3, 7, dtype=F64)
    (out_t, hn_t), (out_s, hn_s) = t_rnn(X, h0), s_rnn(X, h0)
    torch.testing.assert_close(out_s, out_t, atol=1e-12, rtol=0.0)
    torch.testing.assert_close(hn_s, hn_t, atol=1e-12, rtol=0.0)
    (out_t.sum() + hn_t.sum()).backward()
    (out_s.sum() + hn_s.sum()).backward()
    for (name, p_s), p_t in zip(s_rnn.named_parameters(), t_rnn.parameters()):
        torch.testing.assert_close(p_s.grad, p_t.grad, atol=1e-12, rtol=0.0, msg=f"gradient of {name} differs")
    print(f"✓ {nonlinearity}: ScratchRNN equals nn.RNN, output, h_n and 4 gradients, |Δ| ≤ 1e-12")

# %% [markdown]
# ## 3 · Training side by side
#
# The loss at step $t$ of window $n$ is the cross-entropy of the logits against the true next character,
# averaged over all T·N predictions (`F.cross_entropy` wants [T·N, V] logits and [T·N] targets). Before training,
# with random weights, it is about $\ln V$ (a uniform guess), and the model writes nonsense. `generate` feeds a
# prefix, then feeds back its own most likely character (greedy: no randomness).

# %%
def loss_fn(model, x, y, h0=None):
    """Mean cross-entropy of the next-character predictions; also returns h_n."""
    logits, h_n = model(x, h0)
    return F.cross_entropy(logits.reshape(-1, V), y.reshape(-1)), h_n


def generate(model, prefix, n_chars):
    """Greedy continuation of prefix by n_chars characters."""
    with torch.no_grad():
        p = next(model.parameters())
        logits, h = model(one_hot(torch.tensor([vocab.index(c) for c in prefix]))[:, None].to(p.device))
        text = prefix
        for _ in range(n_chars):
            c = int(logits[-1, 0].argmax())  # the most likely next character
            text += vocab[c]
            logits, h = model(one_hot(torch.tensor([[c]])).to(p.device), h)
    return text


torch.manual_seed(1)
torch_model = CharRNN(nn.RNN(V, 32, dtype=F64))
scratch_model = CharRNN(ScratchRNN(V, 32, dtype=F64))
scratch_model.load_state_dict(torch_model.state_dict())  # the same initial weights, head included
print(f"ln V = {math.log(V):.4f}   loss before training: {loss_fn(torch_model, x0, y0)[0].item():.4f}")
print("before:", repr(generate(torch_model, "Twinkle", 20)))

# %% [markdown]
# `train` runs Adam on a list of batches and returns the loss of every step. Both models get the **same
# initial weights** (the `load_state_dict` above), the **same batches** in the same order and the **same
# optimizer settings**. If `ScratchRNN` computes what `nn.RNN` computes, forward *and* backward, the two runs are
# the same run, and their losses must agree at every step.

# %%
def train(model, batches, lr=0.02, max_norm=None):
    """Adam on each batch in turn (optionally clipping the gradient norm); the loss of every step, float64."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for x, y in batches:
        loss, _ = loss_fn(model, x, y)
        opt.zero_grad()
        loss.backward()
        if max_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        opt.step()
        losses.append(loss.item())
    return torch.tensor(losses, dtype=F64)


batches = make_batches(150)
losses_torch = train(torch_model, batches)
losses_scratch = train(scratch_model, batches)

# %% [markdown]
# **How close must they be?** Both compute the same sums in a slightly different order (lesson 02, section 5),
# so in float64 each loss and gradient differs from torch's by rounding, ~1e-16 relative. Adam feeds those
# differences into 150 updates, where they could grow, but the training is not chaotic: the cell below measures
# the largest gap between the two curves (and asserts it is below 1e-13). We assert |Δ| ≤ 1e-10 at every step: 100 000 times the rounding we saw,
# and yet a mistake in the forward or backward pass of `ScratchRNN` (a wrong gradient of 1e-6 is plenty) would
# break it at the first steps. In float32 the rounding is ~1e-7 and the tolerance would have to be far looser.

# %%
torch.testing.assert_close(losses_scratch, losses_torch, atol=1e-10, rtol=0.0,
                           msg=lambda m: f"the loss curves of ScratchRNN and nn.RNN differ: {m}")
for name, p in scratch_model.named_parameters():  # and the trained weights are the same too
    torch.testing.assert_close(p, torch_model.state_dict()[name], atol=1e-10, rtol=0.0)
gap = (losses_scratch - losses_torch).abs().max().item()
assert gap < 1e-13
print("✓ 150 steps: ScratchRNN's loss equals nn.RNN's at every step, |Δ| ≤ 1e-10; trained weights too")
print("  largest gap between the two loss curves: below 1e-13 (float64 rounding, not drift)")
for step in (0, 25, 50, 100, 149):
    print(f"step {step:>3}   loss  nn.RNN {losses_torch[step]:.4f}   ScratchRNN {losses_scratch[step]:.4f}")
print("after: ", repr(generate(scratch_model, "Twinkle", 40)))

# %% [markdown]
# One plot, two curves: the dashed scratch curve lies exactly on torch's.

# %%
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
# Autograd did the backward pass above. Now we do it ourselves, for a tanh RNN in the row-vector convention of
# lessons 01–02, one batch of N sequences:
#
# $$a_t = X_t W_{xh} + H_{t-1} W_{hh} + b, \qquad H_t = \tanh(a_t), \qquad t = 1 \dots T$$
#
# with $X_t$ [N, d], $H_t, a_t$ [N, h], $W_{xh}$ [d, h], $W_{hh}$ [h, h], $b$ [h]. A loss $L$ reads the states; as
# an example $L = \tfrac12 \sum_t \lVert H_t - Y_t \rVert^2$, whose **direct** gradient is $G_t = H_t - Y_t$ [N, h].
# But $H_t$ also feeds $H_{t+1}$, so its **total** gradient $\delta_t = \partial L / \partial H_t$ [N, h] has
# a second term, coming back from the future. Going backwards, $t = T, T-1, \dots, 1$, starting from
# $\delta_T = G_T$. (For the character model of section 3, $G_t$ would come back from the cross-entropy through
# the linear head, $G_t = (\mathrm{softmax}(O_t) - \mathrm{onehot}(y_t))\, W_{hq}^\top / \text{count}$, and torch's two
# biases `bias_ih_l0`, `bias_hh_l0` both get the gradient of $b$, while `weight_ih_l0` gets $(\partial L/\partial W_{xh})^\top$. The
# toy loss keeps the derivation about the recurrence itself.)
#
# | step | formula | shape |
# |---|---|---|
# | through tanh ($\tanh' = 1 - \tanh^2$) | $\partial L/\partial a_t = \delta_t \odot (1 - H_t^2)$ | [N, h] |
# | into the previous state | $\delta_{t-1} = G_{t-1} + (\partial L/\partial a_t)\, W_{hh}^\top$ | [N, h] |
# | weights, summed over steps | $\partial L/\partial W_{hh} \mathrel{+}= H_{t-1}^\top (\partial L/\partial a_t)$, $\;\partial L/\partial W_{xh} \mathrel{+}= X_t^\top (\partial L/\partial a_t)$ | [h, h], [d, h] |
# | bias, summed over steps and rows | $\partial L/\partial b \mathrel{+}= \sum_{\text{rows}} \partial L/\partial a_t$ | [h] |
#
# The weights get a **sum over time** because the same $W_{hh}$ is used at every step; the loop ends with
# $\delta_0 = \partial L/\partial H_0$. In code, `H[t]` is $H_t$ with `H[0]` $= H_0$, and `X[t - 1]` is $X_t$.

# %%
def forward_states(X, H0, W_xh, W_hh, b):
    """The states H_0 … H_T as a list of T + 1 tensors [N, h] (H[0] = H_0)."""
    H = [H0]
    for t in range(1, X.shape[0] + 1):
        H.append(torch.tanh(X[t - 1] @ W_xh + H[t - 1] @ W_hh + b))
    return H


def bptt_backward(X, H, G, W_hh):
    """BPTT by hand. G[t] = ∂L/∂H_t from the loss directly (t = 1 … T; G[0] unused).
    Returns ∂L/∂W_xh [d, h], ∂L/∂W_hh [h, h], ∂L/∂b [h], ∂L/∂H_0 [N, h]."""
    T = X.shape[0]
    dW_xh, dW_hh, db = X.new_zeros(X.shape[2], W_hh.shape[0]), torch.zeros_like(W_hh), X.new_zeros(W_hh.shape[0])
    delta = G[T]  # δ_T: nothing comes back from the future
    for t in range(T, 0, -1):
        dA = delta * (1 - H[t] ** 2)  # ∂L/∂a_t = δ_t ⊙ tanh'(a_t)
        dW_xh += X[t - 1].T @ dA
        dW_hh += H[t - 1].T @ dA
        db += dA.sum(0)
        delta = (G[t - 1] if t > 1 else 0) + dA @ W_hh.T  # δ_{t−1}: direct part + what flows back through W_hh
    return dW_xh, dW_hh, db, delta

# %% [markdown]
# Checked against autograd in float64, on a small case with four different sizes (T = 5, N = 3, d = 4, h = 6),
# so that a transpose in the wrong place shows as a shape error or a wrong number, not as luck. Tolerance
# |Δ| ≤ 1e-12: both do the same arithmetic up to the order of the sums.

# %%
torch.manual_seed(2)
T_, N_, d_, h_ = 5, 3, 4, 6
Xs, Ys = torch.randn(T_, N_, d_, dtype=F64), torch.randn(T_, N_, h_, dtype=F64)
params = {"W_xh": torch.randn(d_, h_, dtype=F64) * 0.5, "W_hh": torch.randn(h_, h_, dtype=F64) * 0.5,
          "b": torch.randn(h_, dtype=F64) * 0.1, "H0": torch.randn(N_, h_, dtype=F64) * 0.5}


def bptt_loss(p):
    H = forward_states(Xs, p["H0"], p["W_xh"], p["W_hh"], p["b"])
    return 0.5 * sum(((H[t] - Ys[t - 1]) ** 2).sum() for t in range(1, T_ + 1)), H


leaves = {k: v.clone().requires_grad_() for k, v in params.items()}
loss, H = bptt_loss(leaves)
loss.backward()
H = [s.detach() for s in H]
G = [None] + [H[t] - Ys[t - 1] for t in range(1, T_ + 1)]  # G_t = ∂L/∂H_t, direct part
ours = dict(zip(("W_xh", "W_hh", "b", "H0"), bptt_backward(Xs, H, G, params["W_hh"])))
for k in ours:
    torch.testing.assert_close(ours[k], leaves[k].grad, atol=1e-12, rtol=0.0,
                               msg=lambda m, k=k: f"hand-written ∂L/∂{k} differs from autograd: {m}")
    print(f"✓ ∂L/∂{k:<5} {str(list(ours[k].shape)):<7} by hand equals autograd, |Δ| ≤ 1e-12")

# %% [markdown]
# A third, independent check, which needs neither our formula nor autograd: **central differences**,
# $\partial L/\partial w \approx (L(w + \varepsilon) - L(w - \varepsilon)) / 2\varepsilon$. With
# $\varepsilon = 10^{-6}$ in float64 its error is ~ε² (the Taylor remainder) plus ~1e-16/ε (rounding), about 1e-10,
# so we ask for |Δ| ≤ 1e-7 on a few entries of each weight.

# %%
eps = 1e-6
for k, index in [("W_xh", (1, 2)), ("W_xh", (3, 0)), ("W_hh", (0, 5)), ("W_hh", (4, 4)), ("b", (2,)), ("H0", (1, 3))]:
    plus, minus = ({n: v.clone() for n, v in params.items()} for _ in range(2))
    plus[k][index] += eps
    minus[k][index] -= eps
    numeric = (bptt_loss(plus)[0] - bptt_loss(minus)[0]) / (2 * eps)
    torch.testing.assert_close(ours[k][index], numeric, atol=1e-7, rtol=0.0)
    print(f"✓ ∂L/∂{k}{list(index)}: by hand {ours[k][index].item():+.6f}, central difference {numeric.item():+.6f}")

# %% [markdown]
# **Where the product of Jacobians comes from.** Keep only the loss at the last step ($G_t = 0$ for $t < T$).
# Then each step back multiplies δ by the same kind of matrix. For **one sequence** (δ_t and H_t are then rows
# [1, h], and diag(v) is the [h, h] matrix with v on its diagonal, so multiplying by it is the same as ⊙ v):
# $\delta_{t-1} = \delta_t \operatorname{diag}(1 - H_t^2)\, W_{hh}^\top$, so
#
# $$\delta_t = \delta_T \prod_{k=T}^{t+1} \operatorname{diag}(1 - H_k^2)\, W_{hh}^\top \qquad \text{(factors for } k = T, T-1, \dots, t+1 \text{, left to right)}$$
#
# one factor per step between $t$ and $T$: that matrix product is the Jacobian $\partial H_T / \partial H_t$
# (written for row vectors, hence the transposes). The cell builds it explicitly for one sequence and checks it against our backward pass.

# %%
n = 0  # one sequence: diag(1 − H_k²) needs the row of sequence n
G_last = [None] + [torch.zeros_like(H[1])] * (T_ - 1) + [G[T_]]  # the loss only at the last step
delta_0 = bptt_backward(Xs, H, G_last, params["W_hh"])[3]
product = torch.eye(h_, dtype=F64)
for k in range(T_, 0, -1):  # k = T, T−1, …, 1
    product = product @ torch.diag(1 - H[k][n] ** 2) @ params["W_hh"].T
torch.testing.assert_close(G[T_][n] @ product, delta_0[n], atol=1e-12, rtol=0.0)
print(f"✓ δ_0 = δ_T · ∏ diag(1 − H_k²) W_hhᵀ over {T_} steps, as the backward pass computes it")
print(f"  ‖δ_T‖ = {G[T_][n].norm():.4f}   ‖δ_0‖ = {delta_0[n].norm():.4f}   ‖product‖₂ = {torch.linalg.matrix_norm(product, 2):.4f}")

# %% [markdown]
# ## 5 · Vanishing and exploding gradients
#
# Each factor $\operatorname{diag}(\varphi'(a_k))\, W_{hh}^\top$ scales what passes through it. If its size is
# below 1 (tanh' ≤ 1 and small weights), a product of many shrinks geometrically: the gradient from step T barely
# reaches early steps (**vanishing**), and the network cannot learn long-range dependencies. If it is above 1 —
# large weights, and a nonlinearity that does not squash, like relu — the product grows geometrically
# (**exploding**), and one gradient step can wreck the weights (section 6). The size of $W_{hh}$ is set by its
# **spectral radius** ρ, the largest |eigenvalue|.
#
# `gradient_flow` draws a random $W_{hh}$ [16, 16] rescaled to spectral radius ρ, runs a sequence of random inputs,
# and plots $\lVert \partial H_T / \partial H_t \rVert_2$ (the matrix 2-norm of the product) for every t, on a log scale.

# %%
def jacobian_norms(radius, nonlinearity, seq_len, hidden=16):
    """‖∂H_T/∂H_t‖₂ for t = 0 … T (float64), for a seeded random W_hh of spectral radius `radius`."""
    with torch.random.fork_rng():  # private random numbers: the notebook's seed is left alone
        torch.manual_seed(0)
        W = torch.randn(hidden, hidden, dtype=F64)
        W_rec = W * radius / torch.linalg.eigvals(W).abs().max()  # W_hh with spectral radius `radius`
        W_xh, X = torch.randn(4, hidden, dtype=F64) * 0.5, torch.randn(seq_len, 1, 4, dtype=F64)
    phi = torch.tanh if nonlinearity == "tanh" else torch.relu
    H, dphi = torch.zeros(1, hidden, dtype=F64), []
    for x in X:
        a = x @ W_xh + H @ W_rec
        H = phi(a)
        dphi.append((1 - H**2)[0] if nonlinearity == "tanh" else (a > 0).to(F64)[0])  # φ'(a_k)
    J, norms = torch.eye(hidden, dtype=F64), [1.0]  # ∂H_T/∂H_T = I
    for k in range(seq_len, 0, -1):  # multiply in one factor per step back
        J = J @ torch.diag(dphi[k - 1]) @ W_rec.T  # diag(φ'(a_k)) W_hhᵀ
        norms.append(torch.linalg.matrix_norm(J, 2).item())
    return norms[::-1]  # index t: ‖∂H_T/∂H_t‖, t = 0 … T

# %% [markdown]
# The widget's callback: it checks its arguments, computes the norms, names what happens and plots. Labels use
# plain Unicode (ρ, ‖·‖), not `$…$`, which has failed intermittently inside widget callbacks.

# %%
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
    print(f"ρ = {radius:.2f}, {nonlinearity}, T = {seq_len}:  ‖∂H_T/∂H_0‖ = {first:.2e}  → {verdict}")
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

# %%
# NBVAL_IGNORE_OUTPUT
flow_ui = widgets.interactive(
    gradient_flow,
    radius=widgets.FloatSlider(value=0.9, min=0.1, max=2.0, step=0.1, description="ρ(W_hh)"),
    nonlinearity=widgets.Dropdown(options=["tanh", "relu"], value="tanh", description="φ"),
    seq_len=widgets.IntSlider(value=30, min=1, max=50, description="length T"),
)
display(flow_ui)

# %% [markdown]
# The same callback in plain cells. Defaults: small weights and tanh, the gradient from the end of the sequence
# has all but vanished 30 steps back. The endpoint t = T is always 1 (the identity).

# %%
result = gradient_flow()
assert result["verdict"] == "vanishing" and result["norms"][-1] == 1.0 and len(result["norms"]) == 31

# %% [markdown]
# The extremes: a large radius with relu explodes; the same radius with tanh does not, because saturated units
# have tanh' ≈ 0 and cut the product; a single step is just one factor.

# %%
assert gradient_flow(2.0, "relu", 50)["verdict"] == "exploding"
assert gradient_flow(2.0, "tanh", 50)["verdict"] != "exploding"
assert len(gradient_flow(0.1, "tanh", 1)["norms"]) == 2

# %% [markdown]
# And invalid settings give a message, not a traceback:

# %%
assert gradient_flow(0.9, "sigmoid", 30) is None
assert gradient_flow(0.9, "tanh", 0) is None
assert gradient_flow(-1.0, "tanh", 30) is None

# %% [markdown]
# ## 6 · Gradient clipping by norm
#
# The usual cure for exploding gradients: before the optimizer step, treat all gradients as one long vector
# $g$; if its norm $\lVert g \rVert_2$ exceeds `max_norm`, scale every gradient by `max_norm / ‖g‖`. The
# direction is kept, only the step length is capped. torch's `clip_grad_norm_` does exactly this (with 1e-6 added
# to the norm against division by zero) and returns the total norm **before** clipping.

# %%
def clip_by_norm(parameters, max_norm):
    """Scale all .grad in place so their joint 2-norm is at most max_norm. Returns the norm before clipping."""
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)  # 1 when already short enough
    for g in grads:
        g.mul_(scale)
    return total

# %% [markdown]
# Checked against `clip_grad_norm_` on two copies of the same gradients, once clipping (max_norm below the norm)
# and once leaving them alone:

# %%
loss, _ = loss_fn(torch_model, *batches[0])
torch_model.zero_grad()
loss.backward()
grads = [p.grad.clone() for p in torch_model.parameters()]
for max_norm in (0.05, 100.0):
    a = [nn.Parameter(g.clone()) for g in grads]
    b = [nn.Parameter(g.clone()) for g in grads]
    for p, g in zip(a + b, grads + grads):
        p.grad = g.clone()
    ours, theirs = clip_by_norm(a, max_norm), nn.utils.clip_grad_norm_(b, max_norm)
    torch.testing.assert_close(ours, theirs, atol=1e-12, rtol=0.0)
    for pa, pb in zip(a, b):
        torch.testing.assert_close(pa.grad, pb.grad, atol=1e-12, rtol=0.0)
    after = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in a]))
    print(f"max_norm {max_norm:>6.2f}: norm before {ours:.4f}, after {after:.4f}   ✓ equals clip_grad_norm_")

# %% [markdown]
# **A run that explodes, and the same run clipped.** A relu RNN (h = 8) learns the running mean of 30 random
# numbers, with $W_{hh} = 1.2\,I$ at the start (spectral radius 1.2, and relu does not squash) and plain SGD with
# a learning rate of 0.1. Without clipping, the first gradient is enormous and one step throws the weights far
# away: after one step the loss is around 1e50, and it never recovers in 20 steps. With `clip_by_norm(…, 1.0)`,
# the same run, from the same weights on the same data, trains.

# %%
def running_mean_run(max_norm, steps=20, lr=0.1):
    """SGD on the running-mean task from a fixed start; the loss of every step (float64)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        rnn, head = ScratchRNN(1, 8, nonlinearity="relu", dtype=F64), nn.Linear(8, 1, dtype=F64)
        x_all = torch.rand(steps, 30, 16, 1, dtype=F64)
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
            clip_by_norm(params, max_norm)
        opt.step()
        losses.append(loss.item())
    return losses

# %%
plain, clipped = running_mean_run(None), running_mean_run(1.0)
for label, L in (("no clipping  ", plain), ("clip at 1.0  ", clipped)):
    print(label + "  ".join(f"step {s}: {L[s]:.3g}" for s in (0, 1, 5, 19)))
assert max(plain) > 1e9 and plain[-1] > 1e4, "expected the unclipped run to explode"
assert clipped[-1] < 0.1 and max(clipped) <= clipped[0], "expected the clipped run to train"
print("✓ without clipping the loss explodes; clipped, the same run trains")

# %% [markdown]
# ## 7 · Carrying the state: truncated BPTT and `detach`
#
# So far every batch started from $H_0 = 0$. To read a long text in order, we cut it into consecutive chunks
# and **carry** the last state of one chunk into the next, so the model remembers across the cut. But the
# carried state is the end of the previous chunk's graph. After `loss.backward()` that graph is freed, and the
# next backward tries to go through it again:

# %%
def text_chunks(T=16):
    """The text in order, as consecutive chunks (x [T, 1, V], y [T, 1]) of one long sequence."""
    return [(one_hot(ids[s:s + T])[:, None], ids[s + 1:s + T + 1][:, None]) for s in range(0, len(ids) - T - 1, T)]


chunks = text_chunks()
torch.manual_seed(3)
model = CharRNN(ScratchRNN(V, 32, dtype=F64))
opt, h = torch.optim.Adam(model.parameters(), lr=0.02), None
try:
    for x, y in chunks[:2]:
        loss, h = loss_fn(model, x, y, h)  # h carried as it is: still attached to the last chunk's graph
        opt.zero_grad()
        loss.backward()
        opt.step()
except RuntimeError as err:
    print("RuntimeError:", str(err).splitlines()[0].split(". ")[0] + ".")  # the first sentence of the message

# %% [markdown]
# `retain_graph=True` is not a fix: it keeps every earlier chunk's graph alive, so each step would backpropagate
# through *all* previous chunks (ever slower), through weights the optimizer has since changed in place, which
# autograd refuses with yet another error ("modified by an inplace operation"). The fix is `h.detach()`: the same
# **values** carried forward, cut from the old graph. The gradient then flows back at most T steps — BPTT
# **truncated** to the chunk — while the forward pass still sees the whole history. Three passes over the text:

# %%
def train_truncated(model, chunks, epochs, lr=0.02):
    """Truncated BPTT: read chunks in order, carry the state detached; mean loss per epoch."""
    opt, means = torch.optim.Adam(model.parameters(), lr=lr), []
    for _ in range(epochs):
        h, total = None, 0.0  # each epoch starts the text afresh
        for x, y in chunks:
            loss, h = loss_fn(model, x, y, h)
            opt.zero_grad()
            loss.backward()
            opt.step()
            h = h.detach()  # keep the values, drop the graph
            total += loss.item()
        means.append(total / len(chunks))
    return means


torch.manual_seed(3)
model = CharRNN(ScratchRNN(V, 32, dtype=F64))
means = train_truncated(model, chunks, epochs=3)
print(f"{len(chunks)} chunks of 16 characters; mean loss per epoch: " + ", ".join(f"{m:.4f}" for m in means))
assert means[-1] < means[0]

# %% [markdown]
# ## 8 · Exercises
#
# Each exercise has a checker that runs your function and says what is wrong. Replace `...` with your code and
# run the cell and the checker below it.
#
# **Exercise 1: one step of BPTT.** Given $\delta_t$ [N, h] (the total gradient of the loss with respect to
# $H_t$), the state $H_t$ [N, h] and $W_{hh}$ [h, h] of a tanh RNN (row convention), return the pair
# $(\partial L/\partial a_t,\ \delta_{t-1}^{\text{back}})$, where $\delta_{t-1}^{\text{back}}$ is the part of
# $\delta_{t-1}$ that flows back through the recurrence (without $G_{t-1}$).

# %%
def backward_step(delta_t, H_t, W_hh):
    ...  # your code here: return (dA_t [N, h], delta_prev [N, h])

# %% hidden
def check_backward_step(fn):
    """Compare fn with autograd on one tanh step (N = 3, h = 5, float64); say what is wrong. True/False."""
    with torch.random.fork_rng():
        torch.manual_seed(11)
        a, H_prev, W, delta = (torch.randn(3, 5, dtype=F64), torch.randn(3, 5, dtype=F64),
                               torch.randn(5, 5, dtype=F64), torch.randn(3, 5, dtype=F64))
    a, H_prev = a.requires_grad_(), H_prev.requires_grad_()
    H_t = torch.tanh(a + H_prev @ W)
    H_t.backward(delta)
    want_dA, want_prev = a.grad, H_prev.grad
    try:
        got = fn(delta.clone(), H_t.detach().clone(), W.clone())
    except Exception as err:  # report the learner's error instead of raising it
        print(f"✗ backward_step raised {type(err).__name__}: {err}")
        return False
    if got is None:
        print("✗ not done yet: backward_step returned None.")
        return False
    if not (isinstance(got, (tuple, list)) and len(got) == 2 and all(isinstance(g, torch.Tensor) for g in got)):
        print(f"✗ backward_step returned a {type(got).__name__}: return a pair of tensors (dA_t, delta_prev).")
        return False
    dA, prev = got
    if tuple(dA.shape) != (3, 5) or tuple(prev.shape) != (3, 5):
        print(f"✗ shapes {tuple(dA.shape)} and {tuple(prev.shape)}; both should be [N, h] = (3, 5).")
        return False

    def close(u, v):
        return torch.allclose(u, v, rtol=0.0, atol=1e-10)

    Hd = H_t.detach()
    if not close(dA, want_dA):
        hint = ("you left out tanh': multiply δ_t by (1 − H_t²)" if close(dA, delta) else
                "tanh'(a) is 1 − H_t², not 1 − H_t" if close(dA, delta * (1 - Hd)) else
                "∂L/∂a_t = δ_t ⊙ (1 − H_t²), elementwise")
        print(f"✗ dA_t is wrong: {hint}.")
        return False
    if not close(prev, want_prev):
        hint = ("use W_hh transposed: dA_t W_hhᵀ, W.T in code" if close(prev, want_dA @ W) else
                "start from dA_t, not δ_t (the gradient must go through tanh first)" if close(prev, delta @ W.T) else
                "δ_{t−1} = dA_t W_hhᵀ")
        print(f"✗ delta_prev is wrong: {hint}.")
        return False
    print("✓ backward_step matches autograd: ∂L/∂a_t and δ_{t−1}.")
    return True


exercise_1_passed = check_backward_step(backward_step)

# %% [markdown]
# **Exercise 2: clip by norm.** Write `clip_grads(parameters, max_norm)` as section 6 describes: scale all
# gradients in place by one common factor so their joint 2-norm is at most `max_norm` (leave them alone if
# it already is), and return the norm before clipping. Match `clip_grad_norm_`, including its `+ 1e-6`.

# %%
def clip_grads(parameters, max_norm):
    ...  # your code here: clip every p.grad in place; return the total norm before clipping

# %% hidden
def check_clip_grads(fn):
    """Compare fn with nn.utils.clip_grad_norm_ on three gradients, clipping and not. True/False."""
    with torch.random.fork_rng():
        torch.manual_seed(12)
        grads = [torch.randn(4, 3, dtype=F64) * 3, torch.randn(5, dtype=F64), torch.randn(2, 2, dtype=F64) * 0.1]
    for max_norm in (1.0, 1000.0):
        mine, ref = [nn.Parameter(torch.zeros_like(g)) for g in grads], [nn.Parameter(torch.zeros_like(g)) for g in grads]
        for p, q, g in zip(mine, ref, grads):
            p.grad, q.grad = g.clone(), g.clone()
        want = nn.utils.clip_grad_norm_(ref, max_norm)
        try:
            got = fn(mine, max_norm)
        except Exception as err:  # report the learner's error instead of raising it
            print(f"✗ clip_grads raised {type(err).__name__}: {err}")
            return False
        if got is None:
            print("✗ clip_grads returned None: return the total norm before clipping (not done yet?).")
            return False
        try:
            got_value = float(got)
        except (TypeError, ValueError, RuntimeError):
            print(f"✗ clip_grads returned a {type(got).__name__}: return the total norm, one number.")
            return False
        if abs(got_value - want.item()) > 1e-9:
            per_tensor = max(g.norm().item() for g in grads)
            hint = ("that is one tensor's norm: the total norm is over ALL gradients together"
                    if abs(got_value - per_tensor) < 1e-9 else "return the norm BEFORE clipping")
            print(f"✗ returned norm {got_value:.4f}, expected {want.item():.4f}: {hint}.")
            return False
        for i, (p, q) in enumerate(zip(mine, ref)):
            if not torch.allclose(p.grad, q.grad, rtol=0.0, atol=1e-12):
                hint = ("the norm was below max_norm: leave the gradients alone (never scale up)" if max_norm > 100 else
                        "scale every gradient by the same factor max_norm / (total + 1e-6)")
                print(f"✗ max_norm = {max_norm}: gradient {i} differs from clip_grad_norm_'s: {hint}.")
                return False
    print("✓ clip_grads matches clip_grad_norm_: the returned norm and the clipped gradients.")
    return True


exercise_2_passed = check_clip_grads(clip_grads)

# %% [markdown]
# **Exercise 3: carry the state.** `carry(h_n)` returns what the next chunk should start from: the same
# values, without the old graph. The checker trains on three chunks with it.

# %%
def carry(h_n):
    ...  # your code here: return the state to pass to the next chunk

# %% hidden
def check_carry(fn):
    """Run truncated BPTT over three chunks with fn carrying the state. True/False."""
    with torch.random.fork_rng():
        torch.manual_seed(13)
        m = CharRNN(ScratchRNN(V, 8, dtype=F64))
    opt, h = torch.optim.SGD(m.parameters(), lr=0.1), None
    for step, (x, y) in enumerate(text_chunks()[:3]):
        try:
            loss, h_n = loss_fn(m, x, y, h)
            opt.zero_grad()
            loss.backward()
            opt.step()
            h = fn(h_n)
        except RuntimeError as err:
            first = str(err).splitlines()[0]
            hint = " Cut the graph: h_n.detach()." if "second time" in first else ""
            print(f"✗ chunk {step}: RuntimeError: {first}{hint}")
            return False
        except Exception as err:  # report the learner's error instead of raising it
            print(f"✗ chunk {step}: {type(err).__name__}: {err}")
            return False
        if h is None:
            print("✗ carry returned None: return the state for the next chunk (not done yet?).")
            return False
        if not isinstance(h, torch.Tensor) or h.shape != h_n.shape:
            print(f"✗ carry returned {type(h).__name__} {tuple(getattr(h, 'shape', ()))}: return a tensor shaped like h_n.")
            return False
        if not torch.equal(h, h_n.detach()):
            print("✗ carry changed the values: the next chunk must start from the state where this one ended "
                  "(zeros would forget the text so far).")
            return False
        if h.requires_grad:
            print("✗ the carried state is still part of the graph: detach it.")
            return False
    print("✓ carry keeps the values and cuts the graph: truncated BPTT runs.")
    return True


exercise_3_passed = check_carry(carry)

# %% [markdown]
# ## 9 · On a GPU
#
# The side-by-side training of section 3 on CUDA (reusing `train`, `CharRNN` and the CPU batches), in float64,
# where `nn.RNN` runs on cuDNN. TF32 is switched off for the comparison and the settings restored afterwards.
# The models are built on the CPU with section 3's seed and then moved (seeded CUDA random numbers differ from the
# CPU's), so the GPU run must also equal the CPU run. This cell's printout is not compared (it names the GPU).
# Without a GPU it prints one line.

# %%
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    saved_tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(1)  # built on the CPU as in section 3, then moved: the CPU run's initial weights
    gpu_torch = CharRNN(nn.RNN(V, 32, dtype=F64)).to(DEVICE)
    gpu_scratch = CharRNN(ScratchRNN(V, 32, dtype=F64)).to(DEVICE)
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
# ## 10 · Summary
#
# | | |
# |---|---|
# | the task | next-character prediction: logits = head(output) [T, N, V], `F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))` |
# | side by side | same initial weights (`load_state_dict`), same batches, same optimizer → `ScratchRNN` and `nn.RNN` give the same loss at every step (float64, ≤ 1e-10) |
# | BPTT | δ_T = G_T; going back: ∂L/∂a_t = δ_t ⊙ (1 − H_t²), δ_{t−1} = G_{t−1} + (∂L/∂a_t) W_hhᵀ |
# | weight gradients | sums over time: ∂L/∂W_hh = Σ_t H_{t−1}ᵀ ∂L/∂a_t, ∂L/∂W_xh = Σ_t X_tᵀ ∂L/∂a_t, ∂L/∂b = Σ_t Σ_rows ∂L/∂a_t |
# | checked by | autograd (≤ 1e-12) and central differences (ε = 1e-6, ≤ 1e-7) |
# | vanishing / exploding | ∂H_T/∂H_t = ∏_{k=T}^{t+1} diag(φ'(a_k)) W_hhᵀ: shrinks or grows geometrically with T − t |
# | clipping | `nn.utils.clip_grad_norm_(model.parameters(), max_norm)` after `backward`, before `step`: one common scale max_norm / (‖g‖ + 1e-6) when ‖g‖ > max_norm; returns ‖g‖ |
# | truncated BPTT | carry `h = h_n.detach()` between chunks; without it: "Trying to backward through the graph a second time" |
#
# **Next:** lesson 04 stacks layers.

# %% [markdown]
# ## Solutions
#
# Collapsed so they stay out of the way: click the cell to expand. Each solution is passed through its checker
# (and must pass); then a deliberately wrong answer shows what the checker says.

# %% solution
def backward_step_solution(delta_t, H_t, W):
    dA = delta_t * (1 - H_t**2)  # through tanh
    return dA, dA @ W.T  # back through the recurrence


def clip_grads_solution(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    scale = min(1.0, max_norm / (total.item() + 1e-6))
    for g in grads:
        g.mul_(scale)
    return total


def carry_solution(h_n):
    return h_n.detach()


assert check_backward_step(backward_step_solution)
assert check_clip_grads(clip_grads_solution)
assert check_carry(carry_solution)

# %% solution
# What the checkers say to three common mistakes:
assert not check_backward_step(lambda delta_t, H_t, W: (delta_t * (1 - H_t**2), delta_t * (1 - H_t**2) @ W))
assert not check_clip_grads(lambda ps, m: max(p.grad.norm() for p in ps))
assert not check_carry(lambda h_n: h_n)
