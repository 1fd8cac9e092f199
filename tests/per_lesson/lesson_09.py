"""Lesson 09 (09_long_range_memory.ipynb): what the generic tests need to know about this lesson.

MUTATIONS: (original text, broken text, the mistake) - each edits the scratch code the way a learner might;
    the original must appear exactly once in the notebook's code cells, and the broken notebook must fail on
    one of its own assertions (tests/test_mutations.py).
STAND_IN_SIZES: (old, new) replacements that shrink a GPU cell when the CPU stands in for the GPU.
"""

MUTATIONS = [
    ('i, f, g, o = (P_t + H @ self.weight_hh_l0.T + self.bias_hh_l0).chunk(4, -1)',
     'i, g, f, o = (P_t + H @ self.weight_hh_l0.T + self.bias_hh_l0).chunk(4, -1)',
     'read the LSTM gate blocks in the order i, g, f, o'),
    ('H = torch.sigmoid(o) * torch.tanh(C)',
     'H = torch.sigmoid(o) * C',
     'forget tanh on the LSTM cell state'),
    ('n = torch.tanh(i_n + r * h_n)',
     'n = torch.tanh(i_n + (r * H) @ self.weight_hh_l0[2 * self.hidden_size:].T + self.bias_hh_l0[2 * self.hidden_size:])',
     "use the paper's GRU candidate, W_hn (r * h)"),
    ('H = (1 - z) * n + z * H',
     'H = z * n + (1 - z) * H',
     "swap the GRU's z convention"),
    ('tokens = torch.cat([y[None], noise])',
     'tokens = torch.cat([noise, y[None]])',
     'put the class token last: the answer depends on the last token'),
    ('rnn.bias_ih_l0[h:2 * h] = keep',
     'rnn.bias_ih_l0[2 * h:3 * h] = keep',
     'open the third gate block instead of the forget/update gate'),
    ('rnn.bias_hh_l0[h:2 * h] = 0.0',
     'pass',
     "set bias_ih but leave bias_hh's block: the gate sees their sum"),
    ('rnn.bias_ih_l0[0:h] = -keep',
     'rnn.bias_ih_l0[0:h] = keep',
     'open the LSTM input gate as wide as the forget gate'),
]

STAND_IN_SIZES = [('for T in (100, 200):', 'for T in (5,):'), ('steps=1000', 'steps=2'), ('for seed in range(3)]', 'for seed in range(1)]')]
