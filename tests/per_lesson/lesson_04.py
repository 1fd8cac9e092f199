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
    (' + getattr(self, f"bias_hh_l{k}")',
     '',
     'drop b_hh'),
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
