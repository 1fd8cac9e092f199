"""Lesson 06 (06_lstm.ipynb): what the generic tests need to know about this lesson.

MUTATIONS: (original text, broken text, the mistake) - each edits the scratch code the way a learner might;
    the original must appear exactly once in the notebook's code cells, and the broken notebook must fail on
    one of its own assertions (tests/test_mutations.py).
STAND_IN_SIZES: (old, new) replacements that shrink a GPU cell when the CPU stands in for the GPU.
CHECKER_CASES: (checker, source defining `answer`, True if it must be accepted, else the hint it must print).
"""

STEP_GATES = 'i, f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, -1)'

MUTATIONS = [
    (STEP_GATES,
     STEP_GATES.replace('i, f, g, o =', 'i, f, o, g ='),
     "read the gate blocks in CS231n's order i, f, o, g (cell and layer share lstm_step)"),
    (STEP_GATES,
     STEP_GATES.replace('i, f, g, o =', 'i, g, f, o ='),
     'swap the f and g gate blocks'),
    ('c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)',
     'c = torch.sigmoid(f) * torch.tanh(c) + torch.sigmoid(i) * g',
     "put the tanh of c' on the old cell state instead of the candidate g"),
    ('h = torch.sigmoid(o) * torch.tanh(c)',
     'h = torch.tanh(torch.sigmoid(o) * c)',
     'apply tanh after the output gate'),
    ('F.linear(h, w_hh, b_hh)',
     'F.linear(h, w_hh)',
     'drop b_hh'),
    ('F.linear(x, w_ih, b_ih)',
     'F.linear(x, w_ih)',
     'drop b_ih'),
    ('return (h if w_hr is None else F.linear(h, w_hr)), c',
     'return h, c',
     'forget the projection (h not multiplied by weight_hr)'),
    ('h, c = lstm_step(x_t, h, c, *w)\n                out.append(h)',
     'h_full, c = lstm_step(x_t, h, c, *w[:4])\n                h = h_full if w[4] is None else F.linear(h_full, w[4])\n'
     '                out.append(h_full)',
     "project only the recurrence and h_n, not every step's output (pytorch#139582)"),
    ('x, (h, c), unbatched = check_input(self, input, hx, layer=False)',
     'x, (c, h), unbatched = check_input(self, input, hx, layer=False)',
     'take hx as (c, h) in the cell'),
    ('h, c = h0[k], c0[k]',
     'h, c = h0[0], c0[0]',
     'start every layer from h0[0], c0[0]'),
    ('k < self.num_layers - 1',
     'k < self.num_layers',
     'apply dropout after the last layer too'),
    ('d_k = input_size if k == 0 else h_out',
     'd_k = input_size if k == 0 else hidden_size',
     'give layers k > 0 hidden_size inputs instead of the projected size'),
    ('nn.Parameter(torch.empty(4 * hidden_size, h_out, **kw))',
     'nn.Parameter(torch.empty(4 * hidden_size, hidden_size, **kw))',
     'make weight_hh [4h, h] when proj_size > 0'),
    ('bound = 1.0 / math.sqrt(hidden_size)',
     'bound = 1.0 / math.sqrt(proj_size or hidden_size)',
     'initialise from 1/sqrt(proj_size) instead of 1/sqrt(hidden_size)'),
    ('setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(4 * hidden_size, d_k, **kw)))\n            setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(4 * hidden_size, h_out, **kw)))',
     'setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(4 * hidden_size, h_out, **kw)))\n            setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(4 * hidden_size, d_k, **kw)))',
     "register the layer's parameters in another order than torch"),
    ('self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size, **kw))  # [W_ii; W_if; W_ig; W_io]\n        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size, **kw))  # [W_hi; W_hf; W_hg; W_ho]',
     'self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size, **kw))  # [W_hi; W_hf; W_hg; W_ho]\n        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size, **kw))  # [W_ii; W_if; W_ig; W_io]',
     "register the cell's parameters in another order than torch"),
]

STAND_IN_SIZES = []


def _step(preacts, split="i, f, g, o = {a}.chunk(4, -1)", c_line="c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)",
          h_line="h2 = torch.sigmoid(o) * torch.tanh(c2)", ret="return h2, c2"):
    """Source of a my_lstm_step answer: the pre-activations, the split, the two updates, the return."""
    return ("def answer(x, h, c, w_ih, w_hh, b_ih, b_hh):\n"
            f"    a = {preacts}\n    {split.format(a='a')}\n    {c_line}\n    {h_line}\n    {ret}")


RIGHT = "x @ w_ih.T + b_ih + h @ w_hh.T + b_hh"

CHECKER_CASES = [
    # exercise 1: the LSTM step (build the core)
    ("check_lstm_step", _step(RIGHT), True),
    ("check_lstm_step", _step("torch.einsum('nd,gd->ng', x, w_ih) + torch.einsum('nk,gk->ng', h, w_hh) + b_ih + b_hh"),
     True),
    ("check_lstm_step", _step("F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)",
                              split="i, f, g, o = {a}.view(x.shape[0], 4, -1).unbind(1)"), True),
    ("check_lstm_step", "def answer(x, h, c, *params):\n"
                        "    w_ih, w_hh, b_ih, b_hh = (p.chunk(4) for p in params)  # four row blocks each\n"
                        "    i, f, g, o = (torch.tensordot(x, w_ih[k], dims=([1], [1])) + b_ih[k] + h @ w_hh[k].T + b_hh[k]"
                        " for k in range(4))\n"
                        "    c2 = f.sigmoid() * c + i.sigmoid() * g.tanh()\n"
                        "    return o.sigmoid() * c2.tanh(), c2", True),
    ("check_lstm_step", "answer = lambda x, h, c, *w: None", "not done yet"),
    ("check_lstm_step", _step(RIGHT, split="i, f, o, g = {a}.chunk(4, -1)"), "torch's is i, f, g, o"),
    ("check_lstm_step", _step(RIGHT, split="i, g, f, o = {a}.chunk(4, -1)"), "torch's is i, f, g, o"),
    ("check_lstm_step", _step("x @ w_ih.T + b_ih + h @ w_hh.T"), "bias_hh is missing"),
    ("check_lstm_step", _step(RIGHT, split="i, f, g, o = {a}.chunk(4, 0)"), "splits the batch"),
    ("check_lstm_step", _step("x @ w_ih + b_ih + h @ w_hh + b_hh"), "multiply by weight_ih.T"),
    ("check_lstm_step", _step(RIGHT, c_line="c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * g"), "needs a tanh"),
    ("check_lstm_step", _step(RIGHT, h_line="h2 = torch.sigmoid(o) * torch.tanh(c)"), "NEW cell state"),
    ("check_lstm_step", _step(RIGHT, ret="return c2, h2"), "swapped"),
    ("check_lstm_step", _step(RIGHT, ret="return torch.cat([h2, c2], -1)"), "return a pair"),
    # exercise 2: the forget-gate bias of every layer
    ("check_set_forget_bias", "def answer(lstm, value):\n    H = lstm.hidden_size\n    with torch.no_grad():\n"
                              "        for k in range(lstm.num_layers):\n"
                              "            getattr(lstm, f'bias_ih_l{k}')[H:2 * H] = value\n"
                              "            getattr(lstm, f'bias_hh_l{k}')[H:2 * H] = 0.0", True),
    ("check_set_forget_bias", "def answer(lstm, value):\n    H = lstm.hidden_size\n"
                              "    for name, q in lstm.named_parameters():\n"
                              "        if name.startswith('bias_'):\n"
                              "            q.data[H:2 * H].fill_(value / 2)", True),
    ("check_set_forget_bias", "def answer(lstm, value):\n    H = lstm.hidden_size\n    with torch.no_grad():\n"
                              "        for name, q in lstm.named_parameters():\n"
                              "            if name.startswith('bias_ih'):\n                q[H:2 * H] = value\n"
                              "            elif name.startswith('bias_hh'):\n                q[H:2 * H].zero_()", True),
    ("check_set_forget_bias", "def answer(lstm, value):\n    pass", "not done yet"),
    ("check_set_forget_bias", "def answer(lstm, value):\n    H = lstm.hidden_size\n    with torch.no_grad():\n"
                              "        for k in range(lstm.num_layers):\n"
                              "            getattr(lstm, f'bias_ih_l{k}')[H:2 * H] = value\n"
                              "            getattr(lstm, f'bias_hh_l{k}')[H:2 * H] = value", "2·value"),
    ("check_set_forget_bias", "def answer(lstm, value):\n    H = lstm.hidden_size\n    with torch.no_grad():\n"
                              "        lstm.bias_ih_l0[H:2 * H] = value\n        lstm.bias_hh_l0[H:2 * H] = 0.0",
     "set every layer"),
    ("check_set_forget_bias", "def answer(lstm, value):\n    H = lstm.hidden_size\n    with torch.no_grad():\n"
                              "        for k in range(lstm.num_layers):\n"
                              "            getattr(lstm, f'bias_ih_l{k}')[:H] = value\n"
                              "            getattr(lstm, f'bias_hh_l{k}')[:H] = 0.0", "second block"),
    ("check_set_forget_bias", "def answer(lstm, value):\n    H = lstm.hidden_size\n"
                              "    for k in range(lstm.num_layers):\n"
                              "        getattr(lstm, f'bias_ih_l{k}')[H:2 * H] = value", "torch.no_grad"),
    ("check_set_forget_bias", "def answer(lstm, value):\n    H = lstm.hidden_size\n    with torch.no_grad():\n"
                              "        for k in range(lstm.num_layers):\n"
                              "            getattr(lstm, f'bias_ih_l{k}')[H:2 * H] = value", "the other still its initial"),
    ("check_set_forget_bias", "def answer(lstm, value):\n    H = lstm.hidden_size\n"
                              "    for k in range(lstm.num_layers):\n"
                              "        b = getattr(lstm, f'bias_ih_l{k}').detach().clone()\n        b[H:2 * H] = value\n"
                              "        setattr(lstm, f'bias_ih_l{k}', torch.nn.Parameter(b))\n"
                              "        getattr(lstm, f'bias_hh_l{k}').data[H:2 * H] = 0.0", "replaced by a new object"),
]
