"""Lesson 02 (02_through_time.ipynb): what the generic tests need to know about this lesson.

MUTATIONS: (original text, broken text, the mistake) - each edits the scratch code the way a learner might;
    the original must appear exactly once in the notebook's code cells, and the broken notebook must fail on
    one of its own assertions (tests/test_mutations.py).
STAND_IN_SIZES: (old, new) replacements that shrink a GPU cell when the CPU stands in for the GPU.
CHECKER_CASES: (checker, source defining `answer`, True if it must be accepted, else the hint it must print).
"""

MUTATIONS = [
    ('(self.bias_ih_l0, self.bias_hh_l0) if self.bias',
     '(self.bias_ih_l0, None) if self.bias',
     'drop b_hh'),
    ('self.weight_hh_l0, b_ih, b_hh',
     'self.weight_hh_l0.T, b_ih, b_hh',
     'use W_hh untransposed'),
    ('b_ih, b_hh, self.nonlinearity)',
     'b_ih, b_hh)',
     "ignore nonlinearity='relu'"),
    ('output = output.transpose(0, 1)  # (N, T, h)',
     'output = output  # (N, T, h)',
     'forget to transpose a batch_first output'),
    ('return output, H.unsqueeze(0)',
     'return output, output[:1]',
     'return the first step as h_n'),
    ('self.weight_ih_l0 = nn.Parameter(torch.empty(hidden_size, input_size, **kw))  # W_xh.T\n        self.weight_hh_l0 = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))  # W_hh.T',
     'self.weight_hh_l0 = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))  # W_hh.T\n        self.weight_ih_l0 = nn.Parameter(torch.empty(hidden_size, input_size, **kw))  # W_xh.T',
     'register parameters in another order than torch'),
    ('return X, (hx if unbatched else hx[0]), unbatched',
     'return X, X.new_zeros(N_, rnn.hidden_size), unbatched',
     'ignore h0 and start from zeros'),
    ('return output[:, 0], H  # (T, h)',
     'return output, H  # (T, h)',
     'keep the batch axis of unbatched input'),
    ('nn.init.uniform_(p, -1.0 / math.sqrt(hidden_size), 1.0 / math.sqrt(hidden_size))',
     'nn.init.uniform_(p, -1.0 / hidden_size, 1.0 / hidden_size)',
     'initialise from another range than torch'),
]

STAND_IN_SIZES = []

_LOOP = "    for x_t in x:\n"
CHECKER_CASES = [
    # Exercise 1, the loop through time: rnn_step, @ by hand, a preallocated output, einsum
    ("check_rnn_forward",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    H, states = h0[0], []\n" + _LOOP +
     "        H = rnn_step(x_t, H, w_ih, w_hh, b_ih, b_hh)\n        states.append(H)\n"
     "    return torch.stack(states), H.unsqueeze(0)", True),
    ("check_rnn_forward",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    H = h0.squeeze(0)\n    out = x.new_empty(x.shape[0], x.shape[1], w_hh.shape[0])\n"
     "    for t in range(x.shape[0]):\n        H = torch.tanh(x[t] @ w_ih.T + b_ih + H @ w_hh.T + b_hh)\n        out[t] = H\n"
     "    return out, H[None]", True),
    ("check_rnn_forward",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    states = [h0[0]]\n" + _LOOP +
     "        states.append(torch.tanh(torch.einsum('nd,hd->nh', x_t, w_ih) + b_ih"
     " + torch.einsum('nk,hk->nh', states[-1], w_hh) + b_hh))\n"
     "    return torch.stack(states[1:]), states[-1].unsqueeze(0)", True),
    ("check_rnn_forward",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    return rnn_forward_solution(x, torch.zeros_like(h0), w_ih, w_hh, b_ih, b_hh)",
     "you started from zeros"),
    ("check_rnn_forward",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    return rnn_forward_solution(x, h0, w_ih, w_hh, b_ih, None)",
     "you left out b_hh"),
    ("check_rnn_forward",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    H, states = h0[0], []\n" + _LOOP +
     "        H = torch.tanh(x_t @ w_ih.T + b_ih + H @ w_hh + b_hh)\n        states.append(H)\n"
     "    return torch.stack(states), H.unsqueeze(0)", "w_hh is stored transposed"),
    ("check_rnn_forward",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    H, states = h0[0], [h0[0]]\n" + _LOOP +
     "        H = rnn_step(x_t, H, w_ih, w_hh, b_ih, b_hh)\n        states.append(H)\n"
     "    return torch.stack(states), H.unsqueeze(0)", "output has T + 1 states"),
    ("check_rnn_forward",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    return rnn_forward_solution(x.flip(0), h0, w_ih, w_hh, b_ih, b_hh)",
     "backwards in time"),
    ("check_rnn_forward",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    out, hn = rnn_forward_solution(x, h0, w_ih, w_hh, b_ih, b_hh)\n"
     "    return out, hn[0]", "h_n needs the layer axis"),
    ("check_rnn_forward",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    H, states = h0[0], []\n" + _LOOP +
     "        H = rnn_step(x_t, H, w_ih, w_hh, b_ih, b_hh).detach()\n        states.append(H)\n"
     "    return torch.stack(states), H.unsqueeze(0)", "gradients differ"),
    ("check_rnn_forward",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    H, states = h0[0], []\n" + _LOOP +
     "        H = rnn_step(x_t, h0, w_ih, w_hh, b_ih, b_hh)\n        states.append(H)\n"
     "    return torch.stack(states), H.unsqueeze(0)", "h0 is [1, N, h]"),
    ("check_rnn_forward", "answer = lambda x, h0, *params: None", "not done yet"),
    ("check_rnn_forward",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    out, hn = rnn_forward_solution(x, h0, w_ih, w_hh, b_ih, b_hh)\n"
     "    return torch.cat(list(out)), hn", "torch.stack adds the time axis"),
    # Exercise 2, the input product hoisted out of the loop: F.linear, @, einsum, tensordot, a broadcast multiply
    ("check_hoisted", "answer = rnn_forward_hoisted_solution", True),
    ("check_hoisted",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    P = x @ w_ih.T + b_ih\n    H, states = h0[0], []\n"
     "    for t in range(len(P)):\n        H = torch.tanh(P[t] + H @ w_hh.T + b_hh)\n        states.append(H)\n"
     "    return torch.stack(states), H[None]", True),
    ("check_hoisted",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    P = torch.einsum('tnd,hd->tnh', x, w_ih) + b_ih\n"
     "    H, states = h0[0], []\n    for P_t in P:\n        H = torch.tanh(P_t + torch.einsum('nk,hk->nh', H, w_hh) + b_hh)\n"
     "        states.append(H)\n    return torch.stack(states), H.unsqueeze(0)", True),
    ("check_hoisted",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    P = torch.tensordot(x, w_ih, dims=([2], [1])) + b_ih\n"
     "    H, states = h0[0], []\n    for P_t in P.unbind(0):\n        H = torch.tanh(P_t + F.linear(H, w_hh, b_hh))\n"
     "        states.append(H)\n    return torch.stack(states), H.unsqueeze(0)", True),
    ("check_hoisted",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    P = (x.unsqueeze(-2) * w_ih).sum(-1) + b_ih\n"
     "    H, states = h0[0], []\n    for P_t in P:\n        H = torch.tanh(P_t + H @ w_hh.t() + b_hh)\n"
     "        states.append(H)\n    return torch.stack(states), H.unsqueeze(0)", True),
    ("check_hoisted",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    P = x @ w_ih.T + b_ih\n"
     "    return rnn_forward_solution(x, h0, w_ih, w_hh, b_ih, b_hh)", "w_ih met the input in 7 products"),
    ("check_hoisted", "answer = rnn_forward_solution", "in ONE product before the loop"),
    ("check_hoisted",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n"
     "    return torch.rnn_tanh(x, h0, [w_ih, w_hh, b_ih, b_hh], True, 1, 0.0, False, False, False)",
     "torch's own RNN function ran the loop"),
    ("check_hoisted",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    P = torch.stack([F.linear(x_t, w_ih, b_ih) for x_t in x])\n"
     "    H, states = h0[0], []\n    for P_t in P:\n        H = torch.tanh(P_t + F.linear(H, w_hh, b_hh))\n"
     "        states.append(H)\n    return torch.stack(states), H.unsqueeze(0)", "in ONE product before the loop"),
    ("check_hoisted",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    P = F.linear(x, w_ih, b_ih)\n    H, states = h0[0], []\n"
     "    for P_t in P:\n        H = rnn_step(P_t, H, torch.eye(len(b_ih), dtype=x.dtype), w_hh, b_ih, b_hh)\n"
     "        states.append(H)\n    return torch.stack(states), H.unsqueeze(0)", "you added b_ih twice"),
    ("check_hoisted",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    P = x @ w_ih.T\n    H, states = h0[0], []\n"
     "    for P_t in P:\n        H = torch.tanh(P_t + H @ w_hh.T + b_hh)\n        states.append(H)\n"
     "    return torch.stack(states), H.unsqueeze(0)", "you left out b_ih"),
    ("check_hoisted",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    P = F.linear(x, w_ih, b_ih)\n    H, states = h0[0], []\n"
     "    for P_t in P:\n        H = torch.tanh(P_t + F.linear(H, w_hh, b_hh))\n        states.append(H)\n"
     "    return torch.stack(states), H", "h_n needs the layer axis"),
    ("check_hoisted",
     "def answer(x, h0, w_ih, w_hh, b_ih, b_hh):\n    P = x @ w_ih + b_ih\n"
     "    return rnn_forward_solution(x, h0, w_ih, w_hh, b_ih, b_hh)", "For all steps at once"),
]
