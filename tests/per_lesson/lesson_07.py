"""Lesson 07 (07_gru.ipynb): what the generic tests need to know about this lesson.

MUTATIONS: (original text, broken text, the mistake) - each edits the scratch code the way a learner might;
    the original must appear exactly once in the notebook's code cells, and the broken notebook must fail on
    one of its own assertions (tests/test_mutations.py).
STAND_IN_SIZES: (old, new) replacements that shrink a GPU cell when the CPU stands in for the GPU.
CHECKER_CASES: (checker, source defining `answer`, True if it must be accepted, else the hint it must print).
"""

# gru_step's two products, as the course writes them (the target of several mutations below)
_PRODUCTS = ('x_r, x_z, x_n = F.linear(x, w_ih, b_ih).chunk(3, -1)\n'
             '    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, -1)')

MUTATIONS = [
    ('n = torch.tanh(x_n + r * h_n)',
     'n = torch.tanh(x_n + F.linear(r * h, w_hh.chunk(3)[2], None if b_hh is None else b_hh.chunk(3)[2]))',
     "use the paper's GRU formula W_hn (r ⊙ h) + b_hn"),
    (_PRODUCTS,
     'x_r, x_z, x_n = F.linear(x, w_ih, None if b_ih is None else b_ih + b_hh).chunk(3, -1)\n'
     '    h_r, h_z, h_n = F.linear(h, w_hh).chunk(3, -1)',
     'fold b_hh into b_ih (b_hn added outside r)'),
    ('h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, -1)',
     'h_r, h_z, h_n = F.linear(h, w_hh).chunk(3, -1)',
     'drop b_hh'),
    (_PRODUCTS,
     'x_z, x_r, x_n = F.linear(x, w_ih, b_ih).chunk(3, -1)\n'
     '    h_z, h_r, h_n = F.linear(h, w_hh, b_hh).chunk(3, -1)',
     'chunk the gates in the order z, r, n instead of r, z, n'),
    ('return (1 - z) * n + z * h',
     'return z * n + (1 - z) * h',
     'swap the z convention (z = 1 takes the candidate)'),
    ('self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size, **kw))  # r, z, n blocks of the input\n'
     '        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size, **kw))  # r, z, n blocks of the state',
     'self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size, **kw))  # r, z, n blocks of the state\n'
     '        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size, **kw))  # r, z, n blocks of the input',
     "register the cell's parameters in another order than torch"),
    ('return H if input.dim() == 2 else H[0]',
     'return H',
     'return an unbatched cell input as a batch of one'),
    ('setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(3 * hidden_size, d_k, **kw)))\n'
     '            setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(3 * hidden_size, hidden_size, **kw)))',
     'setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(3 * hidden_size, hidden_size, **kw)))\n'
     '            setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(3 * hidden_size, d_k, **kw)))',
     "register the layer's parameters in another order than torch"),
    ("for p in self.parameters():  # torch's init, in registration order: U(-1/√h, 1/√h)\n"
     "            nn.init.uniform_(p, -1.0 / math.sqrt(hidden_size), 1.0 / math.sqrt(hidden_size))",
     "for p in self.parameters():  # torch's init, in registration order: U(-1/√h, 1/√h)\n"
     "            nn.init.uniform_(p, -1.0 / hidden_size, 1.0 / hidden_size)",
     "initialise the layer from another range than torch"),
    ('H, states = H0[k], []',
     'H, states = H0[0], []',
     'start every layer from h0[0]'),
    ('k < self.num_layers - 1',
     'k < self.num_layers',
     'apply dropout after the last layer too'),
    ('(X.transpose(0, 1) if self.batch_first else X), h_n',
     'X, h_n',
     'forget to transpose a batch_first output'),
    ('return X[:, 0], h_n[:, 0]',
     'return X, h_n',
     'return an unbatched sequence as a batch of one'),
    ('d_k = input_size if k == 0 else hidden_size',
     'd_k = input_size',
     'give layers k > 0 d inputs instead of h'),
]

STAND_IN_SIZES = []

_STEP_RIGHT_LINEAR = '''
def answer(x, h, w_ih, w_hh, b_ih, b_hh):
    x_r, x_z, x_n = F.linear(x, w_ih, b_ih).chunk(3, -1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, -1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h
'''
_STEP_RIGHT_EINSUM = '''
def answer(x, h, w_ih, w_hh, b_ih, b_hh):
    H = h.shape[1]
    gi = torch.einsum("nd,gd->ng", x, w_ih) + b_ih
    gh = torch.einsum("nk,gk->ng", h, w_hh) + b_hh
    r = torch.sigmoid(gi[:, :H] + gh[:, :H])
    z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return n + z * (h - n)
'''
_STEP_RIGHT_BLOCKS = '''
def answer(x, h, w_ih, w_hh, b_ih, b_hh):
    H = h.shape[-1]
    (W_ir, W_iz, W_in), (W_hr, W_hz, W_hn) = w_ih.split(H), w_hh.split(H)
    (b_ir, b_iz, b_in), (b_hr, b_hz, b_hn) = b_ih.split(H), b_hh.split(H)
    r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n = torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
    return (1 - z) * n + z * h
'''
_STEP_RIGHT_ADDMM = '''
def answer(x, h, w_ih, w_hh, b_ih, b_hh):
    gi = torch.addmm(b_ih, x, w_ih.t()).view(x.shape[0], 3, -1)
    gh = torch.addmm(b_hh, h, w_hh.t()).view(h.shape[0], 3, -1)
    r, z = torch.sigmoid(gi[:, :2] + gh[:, :2]).unbind(1)
    n = torch.tanh(gi[:, 2] + r * gh[:, 2])
    return torch.lerp(n, h, z)
'''


def _step_wrong(old, new):
    src = _STEP_RIGHT_LINEAR.replace(old, new)
    assert src != _STEP_RIGHT_LINEAR, old
    return src


_CONV_RIGHT_CLONE = '''
def answer(w_ih, w_hh, b_ih, b_hh):
    out = [t.clone() for t in (w_ih, w_hh, b_ih, b_hh)]
    H = b_ih.shape[0] // 3
    for t in out:
        t[H:2 * H] = -t[H:2 * H]
    return tuple(out)
'''
_CONV_RIGHT_SIGNS = '''
def answer(w_ih, w_hh, b_ih, b_hh):
    H = b_ih.shape[0] // 3
    s = torch.ones(3 * H, dtype=w_ih.dtype)
    s[H:2 * H] = -1
    return w_ih * s[:, None], w_hh * s[:, None], b_ih * s, b_hh * s
'''
_CONV_RIGHT_CAT = '''
def answer(*tensors):
    out = []
    for t in tensors:
        r_block, z_block, n_block = t.chunk(3)
        out.append(torch.cat([r_block, -z_block, n_block]))
    return out
'''
_CONV_R_ROWS = '''
def answer(w_ih, w_hh, b_ih, b_hh):
    out = [t.clone() for t in (w_ih, w_hh, b_ih, b_hh)]
    H = b_ih.shape[0] // 3
    for t in out:
        t[:H] = -t[:H]
    return tuple(out)
'''
_CONV_WEIGHTS_ONLY = '''
def answer(w_ih, w_hh, b_ih, b_hh):
    H = b_ih.shape[0] // 3
    w_ih, w_hh = w_ih.clone(), w_hh.clone()
    w_ih[H:2 * H] *= -1
    w_hh[H:2 * H] *= -1
    return w_ih, w_hh, b_ih.clone(), b_hh.clone()
'''
_CONV_IN_PLACE = '''
def answer(w_ih, w_hh, b_ih, b_hh):
    H = b_ih.shape[0] // 3
    for t in (w_ih, w_hh, b_ih, b_hh):
        t[H:2 * H] *= -1
    return w_ih, w_hh, b_ih, b_hh
'''
_CONV_ONE_MINUS = '''
def answer(w_ih, w_hh, b_ih, b_hh):
    out = [t.clone() for t in (w_ih, w_hh, b_ih, b_hh)]
    H = b_ih.shape[0] // 3
    for t in out:
        t[H:2 * H] = 1 - t[H:2 * H]
    return tuple(out)
'''

CHECKER_CASES = [
    ("check_gru_step", _STEP_RIGHT_LINEAR, True),
    ("check_gru_step", _STEP_RIGHT_EINSUM, True),
    ("check_gru_step", _STEP_RIGHT_BLOCKS, True),
    ("check_gru_step", _STEP_RIGHT_ADDMM, True),
    ("check_gru_step", "answer = lambda x, h, *w: _gru_variant(x, h, *w, paper=True)", "arXiv v3's (and d2l's) form"),
    ("check_gru_step", _step_wrong("n = torch.tanh(x_n + r * h_n)",
                                   "n = torch.tanh(x_n + (r * h) @ w_hh.chunk(3)[2].T + b_hh.chunk(3)[2])"),
     "arXiv v3's (and d2l's) form"),
    ("check_gru_step", _step_wrong("F.linear(x, w_ih, b_ih)", "F.linear(x, w_ih, b_ih + b_hh)")
     .replace("F.linear(h, w_hh, b_hh)", "F.linear(h, w_hh)"), "b_hh was added to the input part"),
    ("check_gru_step", _step_wrong("F.linear(h, w_hh, b_hh)", "F.linear(h, w_hh)"), "you left out b_hh"),
    ("check_gru_step", _step_wrong("x_r, x_z, x_n", "x_z, x_r, x_n").replace("h_r, h_z, h_n", "h_z, h_r, h_n"),
     "not z, r, n"),
    ("check_gru_step", _step_wrong("return (1 - z) * n + z * h", "return z * n + (1 - z) * h"),
     "z is the other way round"),
    ("check_gru_step", _step_wrong("n = torch.tanh(x_n + r * h_n)", "n = torch.tanh(x_n + h_n)"), "r is unused"),
    ("check_gru_step", _step_wrong(".chunk(3, -1)", ".chunk(3, 0)"), "chunk the last axis"),
    ("check_gru_step", _step_wrong("F.linear(x, w_ih, b_ih)", "(x @ w_ih + b_ih)"), "w_ih is [3h, d]"),
    ("check_gru_step", "def answer(*args):\n    with torch.no_grad():\n        return _gru_variant(*args)",
     "no gradient reaches the weights"),
    ("check_gru_step", "def answer(x, h, *w):\n    return _gru_variant(x, h, *w).float()", "keep the inputs' dtype"),
    ("check_gru_step", _step_wrong("r * h_n", "r.mul_(h_n)"), "backward fails"),
    ("check_to_torch_convention", _CONV_RIGHT_CLONE, True),
    ("check_to_torch_convention", _CONV_RIGHT_SIGNS, True),
    ("check_to_torch_convention", _CONV_RIGHT_CAT, True),
    ("check_to_torch_convention", "answer = lambda *ws: tuple(w.clone() for w in ws)", "the weights are unchanged"),
    ("check_to_torch_convention", _CONV_R_ROWS, "that is the r block"),
    ("check_to_torch_convention", _CONV_WEIGHTS_ONLY, "only some of the four tensors"),
    ("check_to_torch_convention", _CONV_IN_PLACE, "the tensors you were given changed"),
    ("check_to_torch_convention", _CONV_ONE_MINUS, "don't subtract from 1"),
    ("check_to_torch_convention", "answer = lambda *ws: tuple(-w for w in ws)", "you changed other rows too"),
]
