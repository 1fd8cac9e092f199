"""Lesson 04 (04_deep_rnn.ipynb): what the generic tests need to know about this lesson.

MUTATIONS: (original text, broken text, the mistake) - each edits the scratch code the way a learner might;
    the original must appear exactly once in the notebook's code cells, and the broken notebook must fail on
    one of its own assertions (tests/test_mutations.py).
STAND_IN_SIZES: (old, new) replacements that shrink a GPU cell when the CPU stands in for the GPU.
"""

MUTATIONS = [
    ('k < self.num_layers - 1',
     'k < self.num_layers',
     'apply dropout after the last layer too'),
    ('torch.stack(finals)',
     'torch.stack(finals[::-1])',
     'stack h_n in reverse layer order'),
    ('layer_in = input_size if k == 0 else hidden_size',
     'layer_in = input_size',
     'give layers k > 0 d inputs instead of h'),
    ('rnn_step(x_t, H, w_ih, w_hh, b_ih, b_hh, self.nonlinearity)',
     'rnn_step(x_t, H, w_ih, w_hh, b_ih, None, self.nonlinearity)',
     'drop b_hh'),
    ('b_ih, b_hh, self.nonlinearity)',
     'b_ih, b_hh)',
     "ignore nonlinearity='relu'"),
    ('(output.transpose(0, 1) if self.batch_first else output)',
     'output',
     'ignore batch_first for the output'),
    ('H, states = H0[k], []',
     'H, states = H0[0], []',
     'start every layer from h0[0]'),
    ('self.training and self.dropout > 0 and k',
     'self.dropout > 0 and k',
     'keep dropout on in eval mode'),
    ('setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(hidden_size, layer_in, **kw)))  # W_xh^(k+1).T\n            setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(hidden_size, hidden_size, **kw)))  # W_hh^(k+1).T',
     'setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(hidden_size, hidden_size, **kw)))  # W_hh^(k+1).T\n            setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(hidden_size, layer_in, **kw)))  # W_xh^(k+1).T',
     'register parameters in another order than torch'),
]

STAND_IN_SIZES = []

# (checker, source defining `answer`, True if it must be accepted, else the hint it must print when rejecting)
_LAYER_OUTER = """
def answer(x, h0, layers):
    below, last = x, []
    for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(layers):
        H, states = h0[k], []
        for x_t in below:
            H = rnn_step(x_t, H, w_ih, w_hh, b_ih, b_hh)
            states.append(H)
        below = torch.stack(states)
        last.append(H)
    return below, torch.stack(last)
"""
CHECKER_CASES = [
    ("check_stacked_forward", _LAYER_OUTER, True),
    ("check_stacked_forward", """
def answer(x, h0, layers):  # time-outer, einsum
    H, tops = [s for s in h0], []
    for x_t in x:
        below = x_t
        for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(layers):
            H[k] = torch.tanh(torch.einsum('ni,hi->nh', below, w_ih) + b_ih + torch.einsum('nj,hj->nh', H[k], w_hh) + b_hh)
            below = H[k]
        tops.append(below)
    return torch.stack(tops), torch.stack(H)
""", True),
    ("check_stacked_forward", """
def answer(x, h0, layers):  # input products hoisted out of the loop, @ and .T
    seq, last = x, []
    for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(layers):
        P = seq @ w_ih.T + b_ih + b_hh
        H, out = h0[k], []
        for t in range(P.shape[0]):
            H = torch.tanh(P[t] + H @ w_hh.T)
            out.append(H)
        seq = torch.stack(out)
        last.append(H)
    return seq, torch.stack(last)
""", True),
    ("check_stacked_forward", _LAYER_OUTER.replace("torch.stack(last)", "torch.stack(last[::-1])"), "upside down"),
    ("check_stacked_forward", _LAYER_OUTER.replace("H, states = h0[k], []", "H, states = torch.zeros_like(h0[k]), []"),
     "started from zeros"),
    ("check_stacked_forward", _LAYER_OUTER.replace("H, states = h0[k], []", "H, states = h0[0], []"), "h0[0]"),
    ("check_stacked_forward", _LAYER_OUTER.replace("w_ih, w_hh, b_ih, b_hh)\n            states", "w_ih, w_hh, b_ih)\n            states"),
     "you left out b_hh"),
    ("check_stacked_forward", """
def answer(x, h0, layers):  # returns the bottom layer's states as output
    below, last, per_layer = x, [], []
    for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(layers):
        H, states = h0[k], []
        for x_t in below:
            H = rnn_step(x_t, H, w_ih, w_hh, b_ih, b_hh)
            states.append(H)
        below = torch.stack(states)
        per_layer.append(below)
        last.append(H)
    return per_layer[0], torch.stack(last)
""", "output holds the states of layer 0"),
    ("check_stacked_forward", _LAYER_OUTER.replace("for x_t in below:", "for x_t in x:"), "layer k > 0"),
    ("check_stacked_forward", "def answer(x, h0, layers):\n    ...", "not done yet"),
    ("check_stacked_forward", _LAYER_OUTER.replace("torch.stack(last)", "last"), "torch.stack turns a list"),
    ("check_stream_step", """
def answer(x_t, H, layers):
    below, new = x_t, []
    for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(layers):
        below = rnn_step(below, H[k], w_ih, w_hh, b_ih, b_hh)
        new.append(below)
    return torch.stack(new)
""", True),
    ("check_stream_step", """
def answer(x_t, H, layers):  # in place, on a copy, with F.linear
    H = H.clone()
    for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(layers):
        H[k] = torch.tanh(F.linear(x_t if k == 0 else H[k - 1], w_ih, b_ih) + F.linear(H[k], w_hh, b_hh))
    return H
""", True),
    ("check_stream_step", """
def answer(x_t, H, layers):  # a list of the layers' states
    out = []
    for k, w in enumerate(layers):
        out.append(rnn_step(out[-1] if out else x_t, H[k], *w))
    return out
""", True),
    ("check_stream_step", """
def answer(x_t, H, layers):
    new = [rnn_step(x_t, H[0], *layers[0])]
    for k in range(1, len(layers)):
        new.append(rnn_step(H[k - 1], H[k], *layers[k]))
    return torch.stack(new)
""", "NEW state of layer k − 1"),
    ("check_stream_step", """
def answer(x_t, H, layers):
    below, new = x_t, []
    for k, w in enumerate(layers):
        below = rnn_step(below, H[k], *w)
        new.insert(0, below)
    return torch.stack(new)
""", "upside down"),
    ("check_stream_step", """
def answer(x_t, H, layers):
    below, new = x_t, []
    for w in layers:
        below = rnn_step(below, H[0], *w)
        new.append(below)
    return torch.stack(new)
""", "not H[0]"),
    ("check_stream_step", """
def answer(x_t, H, layers):
    below = x_t
    for k, w in enumerate(layers):
        below = rnn_step(below, H[k], *w)
    return below
""", "return every layer's new state"),
    ("check_stream_step", """
def answer(x_t, H, layers):
    below = x_t
    for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(layers):
        below = rnn_step(below, H[k], w_ih, w_hh, b_ih)
    return H
""", "old states"),
]
