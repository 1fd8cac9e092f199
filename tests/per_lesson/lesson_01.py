"""Lesson 01 (01_one_step.ipynb): what the generic tests need to know about this lesson.

MUTATIONS: (original text, broken text, the mistake) - each edits the scratch code the way a learner might;
    the original must appear exactly once in the notebook's code cells, and the broken notebook must fail on
    one of its own assertions (tests/test_mutations.py).
STAND_IN_SIZES: (old, new) replacements that shrink a GPU cell when the CPU stands in for the GPU.
CHECKER_CASES: (checker, source defining `answer`, True if it must be accepted, else the hint it must print
    when rejecting) - tests/test_checkers.py.
"""

MUTATIONS = [
    ('self.bias_ih, self.bias_hh, self.nonlinearity)',
     'self.bias_ih, None, self.nonlinearity)',
     'drop b_hh'),
    ('F.linear(h_prev, w_hh, b_hh)',
     'F.linear(h_prev, w_hh.T, b_hh)',
     'use W_hh untransposed'),
    ('return torch.tanh(a) if nonlinearity == "tanh" else torch.relu(a)',
     'return torch.tanh(a)',
     "ignore nonlinearity='relu'"),
    ('self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size, **kw))  # W_xhᵀ [h, d]\n'
     '        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))  # W_hhᵀ [h, h]',
     'self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))  # W_hhᵀ [h, h]\n'
     '        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size, **kw))  # W_xhᵀ [h, d]',
     'register parameters in another order than torch'),
    ('bound = 1.0 / math.sqrt(self.hidden_size)',
     'bound = 1.0 / self.hidden_size',
     'initialise from another range than torch'),
    ('return H_new[0] if unbatched else H_new',
     'return H_new',
     'unbatched input [d] gives a [1, h] state'),
    ('X, H, unbatched = cell_inputs(self, input, hx)',
     'X, H, unbatched = cell_inputs(self, input, None)',
     'ignore hx: always start from zeros'),
]

STAND_IN_SIZES = []

_STEP = "def answer(x, h_prev, w_ih, w_hh, b_ih, b_hh, nonlinearity='tanh'):\n"
_PHI = "    return torch.tanh(a) if nonlinearity == 'tanh' else torch.relu(a)"

CHECKER_CASES = [
    # Exercise 1 (build the core): the step from torch's parameters.
    ("check_rnn_step", _STEP + "    a = x @ w_ih.T + b_ih + h_prev @ w_hh.T + b_hh\n" + _PHI, True),
    ("check_rnn_step", _STEP + "    a = F.linear(x, w_ih, b_ih) + F.linear(h_prev, w_hh, b_hh)\n" + _PHI, True),
    ("check_rnn_step", _STEP + "    a = torch.einsum('nd,hd->nh', x, w_ih) + torch.einsum('nk,hk->nh', h_prev, w_hh)"
                               " + b_ih + b_hh\n    return a.clamp(min=0) if nonlinearity == 'relu' else a.tanh()",
     True),
    ("check_rnn_step", _STEP + "    a = torch.addmm(b_ih, x, w_ih.t()) + torch.addmm(b_hh, h_prev, w_hh.t())\n"
                               "    return torch.where(a > 0, a, 0.0) if nonlinearity == 'relu' else torch.tanh(a)",
     True),
    ("check_rnn_step", _STEP + "    a = x @ w_ih.T + h_prev @ w_hh.T + b_ih\n" + _PHI, "you left out b_hh"),
    ("check_rnn_step", _STEP + "    a = x @ w_ih.T + h_prev @ w_hh.T\n" + _PHI, "you left out both biases"),
    ("check_rnn_step", _STEP + "    a = x @ w_ih.T + h_prev @ w_hh + b_ih + b_hh\n" + _PHI,
     "w_hh is stored transposed too"),
    ("check_rnn_step", _STEP + "    a = x @ w_ih + h_prev @ w_hh + b_ih + b_hh\n" + _PHI,
     "torch stores w_ih as [h, d]"),
    ("check_rnn_step", _STEP + "    return torch.tanh(x @ w_ih.T + h_prev @ w_hh.T + b_ih + b_hh)",
     "you ignored nonlinearity"),
    ("check_rnn_step", _STEP + "    return x @ w_ih.T + h_prev @ w_hh.T + b_ih + b_hh", "apply φ to the sum"),
    ("check_rnn_step", _STEP + "    a = w_ih @ x.T + w_hh @ h_prev.T + b_ih[:, None] + b_hh[:, None]\n" + _PHI,
     "one row per sequence"),
    ("check_rnn_step", _STEP + "    a = (x @ w_ih.T + b_ih + h_prev @ w_hh.T + b_hh).detach()\n" + _PHI,
     "no gradient"),
    ("check_rnn_step", "def answer(x, hx, w_ih, w_hh, b_ih, b_hh):\n"
                       "    return torch.tanh(x @ w_ih.T + hx @ w_hh.T + b_ih + b_hh)",
     "keep the argument nonlinearity"),
    ("check_rnn_step", _STEP + "    a = (x @ w_ih.T + b_ih + h_prev @ w_hh.T + b_hh).float()\n" + _PHI,
     "keep their dtype"),
    ("check_rnn_step", "def answer(x, hx, w_ih, w_hh, b_ih, b_hh, nonlinearity='tanh'):\n"
                       "    a = x @ w_ih.T + hx @ w_hh.T + b_ih + b_hh\n" + _PHI, True),
    # Exercise 2: the stacked weight of the one-product step.
    ("check_stacked_weight", "answer = lambda w_ih, w_hh: torch.cat([w_ih.T, w_hh.T], dim=0)", True),
    ("check_stacked_weight", "answer = lambda w_ih, w_hh: torch.cat([w_ih, w_hh], dim=1).T", True),
    ("check_stacked_weight", "answer = lambda w_ih, w_hh: torch.vstack((w_ih.t(), w_hh.t()))", True),
    ("check_stacked_weight", "def answer(w_ih, w_hh):\n    return torch.hstack([w_ih, w_hh]).mT.contiguous()", True),
    ("check_stacked_weight", "answer = lambda w_ih, w_hh: torch.cat([w_hh.T, w_ih.T])", "W_xh goes on top"),
    ("check_stacked_weight", "answer = lambda w_ih, w_hh: torch.cat([w_ih.T, w_hh])", "transpose w_hh too"),
    ("check_stacked_weight", "answer = lambda w_ih, w_hh: torch.cat([w_ih, w_hh], dim=1)", "[h, d + h]"),
    ("check_stacked_weight", "answer = lambda w_ih, w_hh: torch.cat([w_ih, w_hh])", "transpose each"),
    ("check_stacked_weight", "answer = lambda w_ih, w_hh: torch.cat([w_ih, w_hh], 1).reshape(7, 3)",
     "reshape reorders"),
    ("check_stacked_weight", "answer = lambda w_ih, w_hh: torch.cat([w_ih.T, w_hh.T]).detach()", "no gradient"),
    # Exercise 3: three steps of a cell.
    ("check_three_steps", "def answer(cell, xs):\n    H = torch.zeros(xs.shape[1], cell.hidden_size)\n"
                          "    for x in xs:\n        H = cell(x, H)\n    return H", True),
    ("check_three_steps", "def answer(cell, xs):\n    H = None\n    for t in range(len(xs)):\n"
                          "        H = cell(xs[t]) if H is None else cell(xs[t], H)\n    return H", True),
    ("check_three_steps", "answer = lambda c, xs: c(xs[2], c(xs[1], c(xs[0])))", True),
    ("check_three_steps", "answer = lambda c, xs: c(xs[2])", "each step must get the previous state"),
    ("check_three_steps", "answer = lambda c, xs: c(xs[0])", "that is H_1"),
    ("check_three_steps", "answer = lambda c, xs: c(xs[1], c(xs[0]))", "that is H_2"),
    ("check_three_steps", "answer = lambda c, xs: c(xs[0], c(xs[1], c(xs[2])))", "not backwards"),
    ("check_three_steps", "def answer(cell, xs):\n    H, out = torch.zeros(xs.shape[1], cell.hidden_size), []\n"
                          "    for x in xs:\n        H = cell(x, H)\n        out.append(H)\n"
                          "    return torch.stack(out)", "Return only the last state"),
]
