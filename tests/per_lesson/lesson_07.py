"""Lesson 07 (07_gru.ipynb): what the generic tests need to know about this lesson.

MUTATIONS: (original text, broken text, the mistake) - each edits the scratch code the way a learner might;
    the original must appear exactly once in the notebook's code cells, and the broken notebook must fail on
    one of its own assertions (tests/test_mutations.py).
STAND_IN_SIZES: (old, new) replacements that shrink a GPU cell when the CPU stands in for the GPU.
"""

MUTATIONS = [
    ('n = torch.tanh(gi_n + r * gh_n)',
     'n = torch.tanh(gi_n + (r * H) @ w_hh.chunk(3)[2].T + gh_n - H @ w_hh.chunk(3)[2].T)',
     "use the paper's GRU formula W_hn (r ⊙ h) + b_hn"),
    ('gi, gh = gi + b_ih, gh + b_hh',
     'gi, gh = gi + b_ih + b_hh, gh',
     'fold b_hh into b_ih (b_hn added outside r)'),
    ('gi, gh = gi + b_ih, gh + b_hh',
     'gi, gh = gi + b_ih, gh',
     'drop b_hh'),
    ('(gi_r, gi_z, gi_n), (gh_r, gh_z, gh_n) = gi.chunk(3, -1), gh.chunk(3, -1)',
     '(gi_z, gi_r, gi_n), (gh_z, gh_r, gh_n) = gi.chunk(3, -1), gh.chunk(3, -1)',
     'chunk the gates in the order z, r, n instead of r, z, n'),
    ('return (1 - z) * n + z * H',
     'return z * n + (1 - z) * H',
     'swap the z convention (z = 1 takes the candidate)'),
    ('self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size, **kw))  # [W_ir; W_iz; W_in]\n        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size, **kw))  # [W_hr; W_hz; W_hn]',
     'self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size, **kw))  # [W_hr; W_hz; W_hn]\n        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size, **kw))  # [W_ir; W_iz; W_in]',
     "register the cell's parameters in another order than torch"),
    ('setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(3 * hidden_size, d_k, **kw)))\n            setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(3 * hidden_size, hidden_size, **kw)))',
     'setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(3 * hidden_size, hidden_size, **kw)))\n            setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(3 * hidden_size, d_k, **kw)))',
     "register the layer's parameters in another order than torch"),
    ('H, states = H0[k], []',
     'H, states = H0[0], []',
     'start every layer from h0[0]'),
    ('k < self.num_layers - 1',
     'k < self.num_layers',
     'apply dropout after the last layer too'),
    ('(X.transpose(0, 1) if self.batch_first else X), h_n',
     'X, h_n',
     'forget to transpose a batch_first output'),
    ('d_k = input_size if k == 0 else hidden_size',
     'd_k = input_size',
     'give layers k > 0 d inputs instead of h'),
]

STAND_IN_SIZES = []
