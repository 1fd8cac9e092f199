"""Lesson 06 (06_lstm.ipynb): what the generic tests need to know about this lesson.

MUTATIONS: (original text, broken text, the mistake) - each edits the scratch code the way a learner might;
    the original must appear exactly once in the notebook's code cells, and the broken notebook must fail on
    one of its own assertions (tests/test_mutations.py).
STAND_IN_SIZES: (old, new) replacements that shrink a GPU cell when the CPU stands in for the GPU.
"""

MUTATIONS = [
    ('i, f, g, o = gates.chunk(4, dim=-1)',
     'i, f, o, g = gates.chunk(4, dim=-1)',
     "read the gate blocks in CS231n's order i, f, o, g (cell and layer share lstm_step)"),
    ('i, f, g, o = gates.chunk(4, dim=-1)',
     'i, g, f, o = gates.chunk(4, dim=-1)',
     'swap the f and g gate blocks'),
    ('torch.sigmoid(f) * C + torch.sigmoid(i) * torch.tanh(g)',
     'torch.sigmoid(f) * torch.tanh(C) + torch.sigmoid(i) * g',
     "put the tanh of c' on the old cell state instead of the candidate g"),
    ('return torch.sigmoid(o) * torch.tanh(C), C',
     'return torch.tanh(torch.sigmoid(o) * C), C',
     'apply tanh after the output gate'),
    (' + (b_hh if b_hh is not None else 0.0)',
     '',
     'drop b_hh'),
    ('GX = X @ w_ih.T + (b_ih if b_ih is not None else 0.0)',
     'GX = X @ w_ih.T',
     'drop b_ih in the layer'),
    ('H = H_full @ w_hr.T if w_hr is not None else H_full',
     'H = H_full',
     'forget the projection (h not multiplied by weight_hr)'),
    ('out.append(H)',
     'out.append(H_full)',
     "project only the final state h_n, not every step's output (pytorch#139582)"),
    ('H, C = (s.unsqueeze(0) if unbatched else s for s in hx)',
     'C, H = (s.unsqueeze(0) if unbatched else s for s in hx)',
     'take hx as (c, h) in the cell'),
    ('run_layer(X, H0[k], C0[k], self.weights(k))',
     'run_layer(X, H0[0], C0[0], self.weights(k))',
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
