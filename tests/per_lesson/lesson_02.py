"""Lesson 02 (02_through_time.ipynb): what the generic tests need to know about this lesson.

MUTATIONS: (original text, broken text, the mistake) - each edits the scratch code the way a learner might;
    the original must appear exactly once in the notebook's code cells, and the broken notebook must fail on
    one of its own assertions (tests/test_mutations.py).
STAND_IN_SIZES: (old, new) replacements that shrink a GPU cell when the CPU stands in for the GPU.
"""

MUTATIONS = [
    ('+ self.bias_hh_l0',
     '',
     'drop b_hh'),
    ('H @ self.weight_hh_l0.T',
     'H @ self.weight_hh_l0',
     'use W_hh untransposed'),
    ('phi = torch.tanh if self.nonlinearity == "tanh" else torch.relu',
     'phi = torch.tanh',
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
]

STAND_IN_SIZES = []
