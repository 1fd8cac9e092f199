"""Lesson 09 (09_long_range_memory.ipynb): what the generic tests need to know about this lesson.

MUTATIONS: (original text, broken text, the mistake) - each edits the scratch code the way a learner might;
    the original must appear exactly once in the notebook's code cells, and the broken notebook must fail on
    one of its own assertions (tests/test_mutations.py).
STAND_IN_SIZES: (old, new) replacements that shrink a GPU cell when the CPU stands in for the GPU.
CHECKER_CASES: (checker, source defining `answer`, True if it must be accepted, else the hint it must print).
"""

MUTATIONS = [
    ('i, f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, -1)',
     'i, g, f, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, -1)',
     'read the LSTM gate blocks in the order i, g, f, o'),
    ('h = torch.sigmoid(o) * torch.tanh(c)',
     'h = torch.sigmoid(o) * c',
     'forget tanh on the LSTM cell state'),
    ('n = torch.tanh(x_n + r * h_n)',
     'n = torch.tanh(x_n + F.linear(r * h, w_hh.chunk(3)[2], b_hh.chunk(3)[2]))',
     "use the paper's GRU candidate, W_hn (r * h)"),
    ('return (1 - z) * n + z * h',
     'return z * n + (1 - z) * h',
     "swap the GRU's z convention"),
    ('tokens = torch.cat([y[None], noise])',
     'tokens = torch.cat([noise, y[None]])',
     'put the class token last: the answer depends on the last token'),
    ('rnn.bias_ih_l0[h:2 * h] = keep',
     'rnn.bias_ih_l0[2 * h:3 * h] = keep',
     'open the third gate block instead of the forget/update gate'),
    ('rnn.bias_hh_l0[h:2 * h] = 0.0',
     'pass',
     "set bias_ih but leave bias_hh's block: the gate sees their sum"),
    ('rnn.bias_ih_l0[0:h] = -keep',
     'rnn.bias_ih_l0[0:h] = keep',
     'open the LSTM input gate as wide as the forget gate'),
    ('keep = torch.log(tau - 1)  # σ(keep) = 1 − 1/τ',
     'keep = tau',
     'use τ itself as the gate bias instead of ln(τ − 1)'),
]

STAND_IN_SIZES = [('for T in (100, 200):', 'for T in (5,):'), ('steps=1000', 'steps=2'),
                  ('for seed in range(3)]', 'for seed in range(1)]')]

_GRAD_RIGHT = [
    "def answer(model, x, y):\n    x = x.to(torch.float64).requires_grad_()\n"
    "    F.cross_entropy(model(x), y).backward()\n    return x.grad.norm(dim=(1, 2))",
    "def answer(model, x, y):\n    x = x.double().requires_grad_(True)\n"
    "    g, = torch.autograd.grad(F.cross_entropy(model(x), y), [x])\n    return g.pow(2).sum(dim=(1, 2)).sqrt()",
    "def answer(model, x, y):\n    x64 = x.to(next(model.parameters()).dtype).requires_grad_()\n"
    "    loss = F.cross_entropy(model(x64), y)\n    loss.backward()\n"
    "    return torch.stack([torch.linalg.vector_norm(x64.grad[t]) for t in range(x64.shape[0])])",
]
_GRAD_WRONG = [
    ("def answer(model, x, y):\n    x = x.requires_grad_()\n"
     "    F.cross_entropy(model(x), y).backward()\n    return x.grad.norm(dim=(1, 2))", "the model is float64"),
    ("def answer(model, x, y):\n    x.requires_grad_()\n    x64 = x.to(torch.float64)\n"
     "    F.cross_entropy(model(x64), y).backward()\n    return x64.grad.norm(dim=(1, 2))", "x.grad is None"),
    ("def answer(model, x, y):\n    x = x.to(torch.float64).requires_grad_()\n"
     "    F.cross_entropy(model(x), y).backward()\n    return x.grad.norm()", "one number for all steps"),
    ("def answer(model, x, y):\n    x = x.to(torch.float64).requires_grad_()\n"
     "    F.cross_entropy(model(x), y).backward()\n    return x.grad.norm(dim=-1)", "take the norm over the batch too"),
    ("def answer(model, x, y):\n    x = x.to(torch.float64).requires_grad_()\n"
     "    F.cross_entropy(model(x), y, reduction='sum').backward()\n    return x.grad.norm(dim=(1, 2))",
     "N times too large"),
    ("def answer(model, x, y):\n    x = x.to(torch.float64).requires_grad_()\n"
     "    F.cross_entropy(model(x), y).backward()\n    return x.grad", "that is the gradient itself"),
    ("def answer(model, x, y):\n    x = x.to(torch.float64).requires_grad_()\n"
     "    F.cross_entropy(model(x), y).backward()\n    return x.grad.pow(2).sum(dim=(1, 2))", "squared norm"),
]

_CHRONO_RIGHT = [
    "def answer(rnn, T):\n    h = rnn.hidden_size\n    with torch.no_grad():\n"
    "        tau = torch.empty(h).uniform_(2, T)\n        b = torch.log(tau - 1)\n"
    "        rnn.bias_ih_l0[h:2 * h] = b\n        rnn.bias_hh_l0[h:2 * h] = 0.0\n"
    "        if isinstance(rnn, nn.LSTM):\n            rnn.bias_ih_l0[:h] = -b\n            rnn.bias_hh_l0[:h] = 0.0",
    "def answer(rnn, T):\n    h = rnn.hidden_size\n    with torch.no_grad():\n"
    "        tau = 2 + (T - 2) * torch.rand(h)\n        b = torch.logit(1 - 1 / tau)\n"
    "        rnn.bias_ih_l0[h:2 * h].copy_(b - rnn.bias_hh_l0[h:2 * h])  # the sum is what counts\n"
    "        if rnn.mode == 'LSTM':\n            rnn.bias_ih_l0[:h].copy_(-b - rnn.bias_hh_l0[:h])",
    "def answer(rnn, T):\n    blocks = rnn.bias_ih_l0.data.chunk(4 if isinstance(rnn, torch.nn.LSTM) else 3)\n"
    "    hh = rnn.bias_hh_l0.data.chunk(len(blocks))\n"
    "    b = (torch.empty(rnn.hidden_size).uniform_(2, T) - 1).log()\n"
    "    blocks[1][:] = b\n    hh[1].zero_()\n    if len(blocks) == 4:\n        blocks[0][:] = -b\n        hh[0].zero_()",
]
_CHRONO_WRONG = [
    ("def answer(rnn, T):\n    h = rnn.hidden_size\n    tau = torch.empty(h).uniform_(2, T)\n"
     "    rnn.bias_ih_l0[h:2 * h] = torch.log(tau - 1)", "with torch.no_grad()"),
    ("def answer(rnn, T):\n    h = rnn.hidden_size\n    with torch.no_grad():\n"
     "        b = torch.log(torch.empty(h).uniform_(2, T) - 1)\n        rnn.bias_ih_l0[h:2 * h] = b\n"
     "        if isinstance(rnn, nn.LSTM):\n            rnn.bias_ih_l0[:h] = -b",
     "set bias_hh's block to 0"),
    ("def answer(rnn, T):\n    h = rnn.hidden_size\n    with torch.no_grad():\n"
     "        tau = torch.empty(h).uniform_(2, T)\n        rnn.bias_ih_l0[h:2 * h] = tau\n"
     "        rnn.bias_hh_l0[h:2 * h] = 0.0\n        if isinstance(rnn, nn.LSTM):\n"
     "            rnn.bias_ih_l0[:h] = -tau\n            rnn.bias_hh_l0[:h] = 0.0",
     "the bias is ln(τ − 1), not τ"),
    ("def answer(rnn, T):\n    h = rnn.hidden_size\n    with torch.no_grad():\n"
     "        b = torch.log(torch.empty(h).uniform_(2, T) - 1)\n"
     "        rnn.bias_ih_l0[2 * h:3 * h] = b\n        rnn.bias_hh_l0[2 * h:3 * h] = 0.0",
     "you changed block 2"),
    ("def answer(rnn, T):\n    h = rnn.hidden_size\n    with torch.no_grad():\n"
     "        b = torch.log(torch.empty(h).uniform_(2, T) - 1)\n"
     "        rnn.bias_ih_l0[:h] = b\n        rnn.bias_hh_l0[:h] = 0.0",
     "did not change"),
    ("def answer(rnn, T):\n    h = rnn.hidden_size\n    with torch.no_grad():\n"
     "        b = torch.log(torch.full((h,), T / 2) - 1)\n        rnn.bias_ih_l0[h:2 * h] = b\n"
     "        rnn.bias_hh_l0[h:2 * h] = 0.0\n        if isinstance(rnn, nn.LSTM):\n"
     "            rnn.bias_ih_l0[:h] = -b\n            rnn.bias_hh_l0[:h] = 0.0",
     "every unit got the same τ"),
    ("def answer(rnn, T):\n    h = rnn.hidden_size\n    with torch.no_grad():\n"
     "        b = torch.empty(h).uniform_(0, math.log(T - 1))\n        rnn.bias_ih_l0[h:2 * h] = b\n"
     "        rnn.bias_hh_l0[h:2 * h] = 0.0\n        if isinstance(rnn, nn.LSTM):\n"
     "            rnn.bias_ih_l0[:h] = -b\n            rnn.bias_hh_l0[:h] = 0.0",
     "draw τ uniformly in [2, T]"),
    ("def answer(rnn, T):\n    h = rnn.hidden_size\n    with torch.no_grad():\n"
     "        rnn.bias_ih_l0[h:2 * h] = torch.log(torch.empty(h).uniform_(2, T) - 1)\n"
     "        rnn.bias_hh_l0[h:2 * h] = 0.0",
     "the input gate i (block 0"),
]

CHECKER_CASES = (
    [("check_input_grad_norms", src, True) for src in _GRAD_RIGHT]
    + [("check_input_grad_norms", src, hint) for src, hint in _GRAD_WRONG]
    + [("check_chrono_init", src, True) for src in _CHRONO_RIGHT]
    + [("check_chrono_init", src, hint) for src, hint in _CHRONO_WRONG]
)
