"""Lesson 08 (08_complete_layers.ipynb): what the generic tests need to know about this lesson.

MUTATIONS: (original text, broken text, the mistake) - each edits the scratch code the way a learner might;
    the original must appear exactly once in the notebook's code cells, and the broken notebook must fail on
    one of its own assertions (tests/test_mutations.py).
STAND_IN_SIZES: (old, new) replacements that shrink a GPU cell when the CPU stands in for the GPU.
CHECKER_CASES: (checker, source defining `answer`, True if it must be accepted, else the hint it must print).
"""

MUTATIONS = [
    ('i, f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, -1)',
     'i, f, o, g = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, -1)',
     'chunk the LSTM gates in the order i, f, o, g'),
    ('n = torch.tanh(x_n + r * h_n)',
     'n = torch.tanh(x_n + F.linear(r * h, w_hh.chunk(3)[2], None if b_hh is None else b_hh.chunk(3)[2]))',
     "the paper's GRU: r multiplies h before the product"),
    ('n = torch.tanh(x_n + r * h_n)',
     'b_n = 0.0 if b_hh is None else b_hh.chunk(3)[2]\n    n = torch.tanh(x_n + b_n + r * (h_n - b_n))',
     "fold the GRU's b_hn outside r"),
    ('return (1 - z) * n + z * h',
     'return z * n + (1 - z) * h',
     'swap z and 1 - z in the GRU update'),
    ('return (h if w_hr is None else F.linear(h, w_hr)), c',
     'return h, c',
     'leave out the LSTM projection'),
    ('"LSTM": (4, 2, lambda x, s, w: lstm_step(x, *s, *w)),',
     '"LSTM": (4, 2, lambda x, s, w: lstm_step(x, *s, *w[:4])),',
     'apply the projection only to the returned h_n (the recurrence reads the unprojected h)'),
    ('torch.cat(outs, dim=-1)',
     'torch.cat(outs[::-1], dim=-1)',
     'swap the directions in output'),
    ('loop_kw = {"lengths": lengths.to(X.device)[:, None]}',
     'loop_kw = {}',
     'no masking for packed input'),
    ('state = new if lengths is None else tuple(torch.where(t < lengths, a, b) for a, b in zip(new, state))',
     'state = new if lengths is None else (torch.where(t < lengths, new[0], state[0]), *new[1:])',
     "keep updating the LSTM cell state past a sequence's length"),
    ('k < self.num_layers - 1',
     'k < self.num_layers',
     'apply dropout after the last layer too'),
    ('tuple(torch.stack(s) for s in zip(*finals))',
     'tuple(torch.stack(s[::-1]) for s in zip(*finals))',
     'stack h_n in the wrong order'),
    ('i = k * D + j',
     'i = k',
     'start each layer-direction from the wrong row of h0'),
    ('reverse=j == 1',
     'reverse=False',
     'run the reverse direction forwards'),
    ('X = X.transpose(0, 1)  # output only: h_n is never batch-first',
     'X, finals = X.transpose(0, 1), tuple(s.transpose(0, 1) for s in finals)',
     'make h_n batch-first too'),
    ('shapes = {"weight_ih": (GH, self.input_size if k == 0 else D * H_out), "weight_hh": (GH, H_out)}',
     'shapes = {"weight_hh": (GH, H_out), "weight_ih": (GH, self.input_size if k == 0 else D * H_out)}',
     'register weight_hh before weight_ih'),
    ('self.input_size if k == 0 else D * H_out',
     'self.input_size if k == 0 else D * self.hidden_size',
     'give layers k > 0 D*hidden_size inputs even with proj_size'),
    ('"weight_ih": (GH, self.input_size if k == 0 else D * H)',
     '"weight_ih": (GH, self.input_size if k == 0 else H)',
     'let a layer above read one direction of the layer below (H inputs, not D*H)'),
    ('sizes = (self.proj_size or self.hidden_size, self.hidden_size)',
     'sizes = (self.hidden_size, self.hidden_size)',
     'zeros of hidden_size columns for h0 (hx=None) even with proj_size'),
    ('nn.init.uniform_(p, -1.0 / math.sqrt(hidden_size), 1.0 / math.sqrt(hidden_size))',
     'nn.init.uniform_(p, -1.0 / hidden_size, 1.0 / hidden_size)',
     'initialise from another range than torch'),
    ('raise ValueError(f"{name}: expected input (T, d)',
     'raise RuntimeError(f"{name}: expected input (T, d)',
     'raise another exception type than torch for 4-D input'),
    ('if kind is int and value <= 0:',
     'if kind is int and value <= 0 and name != "input_size":',
     "skip torch's input_size > 0 check"),
    # added with the rebuilt core
    ('lambda self: [[getattr(self, name) for name in names] for names in self._all_weights]',
     'lambda self: [list(self.parameters())]',
     'all_weights as one flat list instead of one list per layer-direction'),
    ('X = input.unsqueeze(1) if unbatched else',
     'X = input if unbatched else',
     'read an unbatched (T, d) input as a batch'),
    ('if tuple(state.shape) != want:',
     'if False:',
     'let an h0 of the wrong batch through (it broadcasts)'),
    ('if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):',
     'if not isinstance(value, (kind, int)):',
     'accept bias=0 as a flag'),
]

STAND_IN_SIZES = []

_FINAL = "def answer(output, lengths):\n"
_COUNT = "def answer(mode, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False, proj_size=0):\n"
_CIFG = "def answer(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):\n"

CHECKER_CASES = [
    # Exercise 1: the final states from the padded output of packed input
    ("check_final_states", "answer = final_states_solution", True),
    ("check_final_states", _FINAL +
     "    H_out = output.shape[2] // 2\n"
     "    fwd = torch.stack([output[int(n) - 1, i, :H_out] for i, n in enumerate(lengths)])\n"
     "    return fwd, output[0, :, H_out:]", True),
    ("check_final_states", _FINAL +
     "    fwd_half, rev_half = output.chunk(2, dim=-1)\n"
     "    idx = (lengths - 1).view(1, -1, 1).expand(1, -1, fwd_half.shape[-1])\n"
     "    return fwd_half.gather(0, idx).squeeze(0), rev_half[0]", True),
    ("check_final_states", "answer = final_states_last_row", "output[-1] is padding (zeros)"),
    ("check_final_states", _FINAL +
     "    H_out, n = output.shape[-1] // 2, torch.arange(output.shape[1])\n"
     "    return output[lengths - 1, n, :H_out], output[-1, :, H_out:]", "it ends at index 0"),
    ("check_final_states", _FINAL +
     "    H_out, n = output.shape[-1] // 2, torch.arange(output.shape[1])\n"
     "    return output[lengths - 1, n, :H_out], output[lengths - 1, n, H_out:]",
     "starts at lengths[n] − 1 and ends at index 0"),
    ("check_final_states", _FINAL +
     "    H_out, n = output.shape[-1] // 2, torch.arange(output.shape[1])\n"
     "    return output[lengths - 1, n, H_out:], output[0, :, :H_out]", "the first half of the features"),
    ("check_final_states", _FINAL +
     "    H_out = output.shape[-1] // 2\n"
     "    return output[lengths - 1, :, :H_out], output[0, :, H_out:]", "each [N, H_out]"),
    ("check_final_states", _FINAL +
     "    H_out, n = output.shape[-1] // 2, torch.arange(output.shape[1])\n"
     "    return output[lengths, n, :H_out], output[0, :, H_out:]", "is lengths[n] − 1"),
    ("check_final_states", _FINAL +
     "    H_out = output.shape[-1] // 2\n"
     "    return output[0, :, :H_out], output[0, :, H_out:]", "ends at the last real step"),
    # Exercise 2: count the parameters
    ("check_count_parameters", "answer = count_parameters_solution", True),
    ("check_count_parameters", _COUNT +
     "    import torch\n    G = {'RNN_TANH': 1, 'RNN_RELU': 1, 'LSTM': 4, 'GRU': 3}[mode]\n"
     "    D, H_out, n = 1 + int(bidirectional), proj_size or hidden_size, 0\n"
     "    for k in range(num_layers):\n        for _ in range(D):\n"
     "            shapes = [(G * hidden_size, input_size if k == 0 else D * H_out), (G * hidden_size, H_out)]\n"
     "            shapes += [(G * hidden_size,)] * 2 * bias + [(proj_size, hidden_size)] * (proj_size > 0)\n"
     "            n += sum(torch.Size(s).numel() for s in shapes)\n    return torch.tensor(n)", True),
    ("check_count_parameters", "answer = count_one_direction", "the reverse direction has its own weights"),
    ("check_count_parameters", _COUNT +
     "    G, D, H_out = CELLS[mode][0], (2 if bidirectional else 1), proj_size or hidden_size\n"
     "    return sum(D * (G * hidden_size * (input_size + H_out) + 2 * G * hidden_size * bias\n"
     "               + proj_size * hidden_size) for k in range(num_layers))",
     "layers k > 0 read the layer below"),
    ("check_count_parameters", _COUNT +
     "    G, D, H_out = CELLS[mode][0], (2 if bidirectional else 1), proj_size or hidden_size\n"
     "    return sum(D * (G * hidden_size * ((input_size if k == 0 else D * H_out) + H_out)\n"
     "               + 2 * G * hidden_size * bias) for k in range(num_layers))",
     "adds weight_hr"),
    ("check_count_parameters", _COUNT +
     "    G, D, H_out = CELLS[mode][0], (2 if bidirectional else 1), proj_size or hidden_size\n"
     "    return sum(D * (G * hidden_size * ((input_size if k == 0 else D * H_out) + H_out)\n"
     "               + G * hidden_size * bias + proj_size * hidden_size) for k in range(num_layers))",
     "two bias vectors"),
    ("check_count_parameters", _COUNT +
     "    G, D, H_out = CELLS[mode][0], (2 if bidirectional else 1), proj_size or hidden_size\n"
     "    return sum(D * (G * hidden_size * ((input_size if k == 0 else D * H_out) + hidden_size)\n"
     "               + 2 * G * hidden_size * bias + proj_size * hidden_size) for k in range(num_layers))",
     "weight_hh reads the projected state"),
    # Exercise 3 (build the core): the coupled input-forget gate LSTM step
    ("check_cifg_step", "answer = cifg_step_solution", True),
    ("check_cifg_step", _CIFG +
     "    pre = x @ w_ih.T + h @ w_hh.T\n"
     "    if b_ih is not None:\n        pre = pre + b_ih\n"
     "    if b_hh is not None:\n        pre = pre + b_hh\n"
     "    H = h.shape[1]\n"
     "    f, g, o = torch.sigmoid(pre[:, :H]), torch.tanh(pre[:, H:2 * H]), torch.sigmoid(pre[:, 2 * H:])\n"
     "    c_new = torch.lerp(g, c, f)\n"
     "    return o * torch.tanh(c_new), c_new", True),
    ("check_cifg_step", _CIFG +
     "    a = torch.einsum('nd,gd->ng', x, w_ih) + torch.einsum('nh,gh->ng', h, w_hh)\n"
     "    a = a + sum(b for b in (b_ih, b_hh) if b is not None)\n"
     "    f, g, o = a.chunk(3, dim=1)\n"
     "    c = torch.sigmoid(f) * c + torch.sigmoid(-f) * torch.tanh(g)\n"
     "    return torch.sigmoid(o) * torch.tanh(c), c", True),
    ("check_cifg_step", "answer = cifg_step_input_gate_f", "the input gate is 1 − σ(f)"),
    ("check_cifg_step", _CIFG +
     "    g, f, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(3, -1)\n"
     "    f = torch.sigmoid(f)\n    c = f * c + (1 - f) * torch.tanh(g)\n"
     "    return torch.sigmoid(o) * torch.tanh(c), c", "the blocks are in the order f, g, o"),
    ("check_cifg_step", _CIFG +
     "    f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh)).chunk(3, -1)\n"
     "    f = torch.sigmoid(f)\n    c = f * c + (1 - f) * torch.tanh(g)\n"
     "    return torch.sigmoid(o) * torch.tanh(c), c", "you left out b_hh"),
    ("check_cifg_step", _CIFG +
     "    f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(3, -1)\n"
     "    f = torch.sigmoid(f)\n    c_new = f * c + (1 - f) * torch.tanh(g)\n"
     "    return torch.sigmoid(o) * torch.tanh(c), c_new", "h' reads the new cell state"),
    ("check_cifg_step", _CIFG +
     "    f, g, o = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(3, -1)\n"
     "    f = torch.sigmoid(f)\n    c = f * c + (1 - f) * torch.tanh(g)\n"
     "    return torch.sigmoid(o) * torch.tanh(c), c", "bias=False"),
    ("check_cifg_step", _CIFG +
     "    f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(3, -1)\n"
     "    f = torch.sigmoid(f)\n    c = f * c + (1 - f) * torch.tanh(g)\n"
     "    return torch.sigmoid(o) * torch.tanh(c)", "return the pair (h_new, c_new)"),
]

# Complete drop-in layers: the probe also checks `all_weights` against torch (tests/probes/scratch_probe.py).
COMPLETE_LAYERS = ("ScratchRNN", "ScratchLSTM", "ScratchGRU")
