"""Lesson 03 (03_training_bptt.ipynb): what the generic tests need to know about this lesson.

MUTATIONS: (original text, broken text, the mistake) - each edits the scratch code the way a learner might;
    the original must appear exactly once in the notebook's code cells, and the broken notebook must fail on
    one of its own assertions (tests/test_mutations.py).
STAND_IN_SIZES: (old, new) replacements that shrink a GPU cell when the CPU stands in for the GPU.
CHECKER_CASES: (checker, source defining `answer`, True if it must be accepted, else the hint it must print).
"""

MUTATIONS = [
    # the checker's reference BPTT (its self-test against autograd must catch these)
    ('@ W_hh.T',
     '@ W_hh',
     'pass delta back through W_hh untransposed'),
    ('(1 - H[t] ** 2)',
     '(1 - H[t])',
     'use a wrong tanh derivative'),
    ('else H[t - 1]).T @ dA',
     'else H[t]).T @ dA',
     'sum H_t instead of H_{t-1} into dL/dW_hh'),
    # the recap ScratchRNN (its parity check against nn.RNN must catch these)
    ('F.linear(h_prev, w_hh, b_hh)',
     'F.linear(h_prev, w_hh)',
     'drop b_hh'),
    ('return torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)',
     'return torch.tanh(a)',
     "ignore nonlinearity='relu'"),
]

STAND_IN_SIZES = []

_BPTT_LOOP = """def answer(X, H, G, W_hh):
    T = X.shape[0]
    dW_xh = torch.zeros(X.shape[2], W_hh.shape[0], dtype=X.dtype)
    dW_hh, db = torch.zeros_like(W_hh), torch.zeros(W_hh.shape[0], dtype=X.dtype)
    delta = G[T]
    for t in range(T, 0, -1):
        dA = delta * (1 - H[t] ** 2)
        dW_xh += X[t - 1].T @ dA
        dW_hh += H[t - 1].T @ dA
        db += dA.sum(0)
        delta = G[t - 1] + dA @ W_hh.T
    return dW_xh, dW_hh, db, delta
"""

# the loop above with one line changed: (old, new)
def _bptt_wrong(old, new):
    assert old in _BPTT_LOOP
    return _BPTT_LOOP.replace(old, new)


CHECKER_CASES = [
    # Exercise 1: BPTT over all T steps (the build-the-core exercise)
    ("check_bptt", _BPTT_LOOP, True),
    ("check_bptt", """def answer(X, H, G, W_hh):
    dAs, delta = [None] * len(X), G[-1]
    for t in range(len(X), 0, -1):
        dAs[t - 1] = delta * (1 - H[t] * H[t])
        delta = G[t - 1] + torch.einsum('nj,ij->ni', dAs[t - 1], W_hh)
    dA = torch.stack(dAs)  # [T, N, h]
    return (torch.einsum('tnd,tnh->dh', X, dA), torch.einsum('tni,tnj->ij', H[:-1], dA),
            dA.sum((0, 1)), delta)
""", True),
    ("check_bptt", """def answer(X, H, G, W_hh):
    dAs, delta = [], G[-1]
    for t in reversed(range(1, X.shape[0] + 1)):
        dA = delta * (1 - H[t].square())
        dAs.insert(0, dA)
        delta = G[t - 1] + torch.nn.functional.linear(dA, W_hh)
    dA = torch.stack(dAs)
    return torch.tensordot(X, dA, ([0, 1], [0, 1])), torch.tensordot(H[:-1], dA, ([0, 1], [0, 1])), \\
        dA.sum(dim=(0, 1)), delta
""", True),
    ("check_bptt", "def answer(X, H, G, W_hh):\n    ...", "not done yet"),
    ("check_bptt", "def answer(X, H, G, W_hh):\n    return X @ W_hh", "raised"),
    ("check_bptt", _bptt_wrong("delta = G[t - 1] + dA @ W_hh.T", "delta = G[t - 1] + dA @ W_hh"), "W_hhᵀ"),
    ("check_bptt", _bptt_wrong("dA = delta * (1 - H[t] ** 2)", "dA = delta"), "you left out tanh'"),
    ("check_bptt", _bptt_wrong("dA = delta * (1 - H[t] ** 2)", "dA = delta * (1 - H[t])"), "not 1 − H_t"),
    ("check_bptt", _bptt_wrong("delta = G[t - 1] + dA @ W_hh.T", "delta = dA @ W_hh.T"), "also gets G_{t−1}"),
    ("check_bptt", _bptt_wrong("dW_hh += H[t - 1].T @ dA", "dW_hh += H[t].T @ dA"), "the state that went INTO"),
    ("check_bptt", _bptt_wrong("dW_hh += H[t - 1].T @ dA", "dW_hh = H[t - 1].T @ dA"), "add up (+=)"),
    ("check_bptt", _bptt_wrong("return dW_xh, dW_hh, db, delta", "return dW_xh.T, dW_hh, db, delta"),
     "torch's layout"),
    ("check_bptt", _bptt_wrong("db += dA.sum(0)", "db = db + dA"), "over the batch rows"),
    ("check_bptt", _bptt_wrong("dA = delta * (1 - H[t] ** 2)", "dA = delta * (1 - H[t - 1] ** 2)"), "not H[t − 1]"),
    ("check_bptt", _bptt_wrong("dW_hh += H[t - 1].T @ dA", "dW_hh += dA.T @ H[t - 1]"), "not its transpose"),
    ("check_bptt", _bptt_wrong("for t in range(T, 0, -1):", "for t in range(T, 1, -1):"), "go back all the way"),
    ("check_bptt", _bptt_wrong("return dW_xh, dW_hh, db, delta", "return dW_xh, dW_hh, db, dA"),
     "one step further back"),
    ("check_bptt", _bptt_wrong("dW_xh += X[t - 1].T @ dA", "dW_xh += X[t].T @ dA"), "X_t is X[t - 1]"),
    # Exercise 2: clip by norm (given a generator of parameters, as model.parameters() is)
    ("check_clip_grads", """def answer(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    scale = min(1.0, max_norm / (total.item() + 1e-6))
    for g in grads:
        g.mul_(scale)
    return total
""", True),
    ("check_clip_grads", """def answer(parameters, max_norm):
    grads = [p.grad for p in list(parameters) if p.grad is not None]
    total = torch.cat([g.flatten() for g in grads]).norm()
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(scale)
    return total.item()
""", True),
    ("check_clip_grads", "def answer(parameters, max_norm):\n"
                         "    return torch.nn.utils.clip_grad_norm_(parameters, max_norm)", True),
    ("check_clip_grads", "def answer(parameters, max_norm):\n    ...", "not done yet"),
    ("check_clip_grads", """def answer(parameters, max_norm):
    total = torch.sqrt(sum((p.grad**2).sum() for p in parameters if p.grad is not None))
    for p in parameters:
        p.grad.mul_(min(1.0, max_norm / (total.item() + 1e-6)))
    return total
""", "runs out after one pass"),
    ("check_clip_grads", """def answer(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    norms = [g.norm() for g in grads]
    for g, n in zip(grads, norms):
        g.mul_(min(1.0, max_norm / (n.item() + 1e-6)))
    return max(norms)
""", "one tensor's norm"),
    ("check_clip_grads", """def answer(parameters, max_norm):
    grads = [p.grad for p in parameters]
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    for g in grads:
        g.mul_(min(1.0, max_norm / (total.item() + 1e-6)))
    return total
""", "skip p.grad None"),
    ("check_clip_grads", """def answer(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    for g in grads:
        g.mul_(max_norm / (total.item() + 1e-6))
    return total
""", "never scale up"),
    ("check_clip_grads", """def answer(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    for g in grads:
        g.mul_(min(1.0, max_norm / total.item()))
    return total
""", "1e-6"),
    ("check_clip_grads", """def answer(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    for g in grads:
        g.mul_(min(1.0, max_norm / (total.item() + 1e-6)))
    return torch.sqrt(sum((g**2).sum() for g in grads))
""", "BEFORE clipping"),
    ("check_clip_grads", """def answer(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.sqrt(sum((g**2).sum() for g in grads))
    for g in grads:
        g = g * min(1.0, max_norm / (total.item() + 1e-6))
    return total
""", "not a copy"),
    ("check_clip_grads", """def answer(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = sum(g.norm() for g in grads)
    for g in grads:
        g.mul_(min(1.0, max_norm / (total.item() + 1e-6)))
    return total
""", "not a sum of norms"),
]
