"""Lesson 01 (01_one_step.ipynb): what the generic tests need to know about this lesson.

MUTATIONS: (original text, broken text, the mistake) - each edits the scratch code the way a learner might;
    the original must appear exactly once in the notebook's code cells, and the broken notebook must fail on
    one of its own assertions (tests/test_mutations.py).
STAND_IN_SIZES: (old, new) replacements that shrink a GPU cell when the CPU stands in for the GPU.
"""

MUTATIONS = [
    ('pre = pre + self.bias_ih + self.bias_hh',
     'pre = pre + self.bias_ih',
     'drop b_hh'),
    ('H @ self.weight_hh.T',
     'H @ self.weight_hh',
     'use W_hh untransposed'),
    ('torch.tanh(pre) if self.nonlinearity == "tanh" else torch.relu(pre)',
     'torch.tanh(pre)',
     "ignore nonlinearity='relu'"),
    ('self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size, **kw))\n        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))',
     'self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))\n        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size, **kw))',
     'register parameters in another order than torch'),
    ('bound = 1.0 / math.sqrt(self.hidden_size)',
     'bound = 1.0 / self.hidden_size',
     'initialise from another range than torch'),
]

STAND_IN_SIZES = []

# (checker, source defining `answer`, True if it must be accepted, else the hint it must print when rejecting)
CHECKER_CASES = [
    ("check_three_steps", "def answer(cell, xs):\n    H = torch.zeros(xs.shape[1], cell.hidden_size)\n"
                          "    for x in xs:\n        H = cell(x, H)\n    return H", True),
    ("check_three_steps", "def answer(cell, xs):\n    H = None\n    for t in range(len(xs)):\n"
                          "        H = cell(xs[t]) if H is None else cell(xs[t], H)\n    return H", True),
    ("check_three_steps", "answer = lambda c, xs: c(xs[2])", "each step must get the previous state"),
    ("check_three_steps", "answer = lambda c, xs: c(xs[0])", "that is H_1"),
    ("check_three_steps", "answer = lambda c, xs: c(xs[1], c(xs[0]))", "that is H_2"),
]
