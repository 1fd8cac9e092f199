"""Lesson 05 (05_bidirectional_rnn.ipynb): what the generic tests need to know about this lesson.

MUTATIONS: (original text, broken text, the mistake) - each edits the scratch code the way a learner might;
    the original must appear exactly once in the notebook's code cells, and the broken notebook must fail on
    one of its own assertions (tests/test_mutations.py).
STAND_IN_SIZES: (old, new) replacements that shrink a GPU cell when the CPU stands in for the GPU.
"""

MUTATIONS = [
    ('torch.cat([out_fwd, out_rev], dim=-1)',
     'torch.cat([out_rev, out_fwd], dim=-1)',
     'swap the directions in output'),
    ('h_n += [h_fwd, h_rev]',
     'h_n += [h_rev, h_fwd]',
     'swap the directions in h_n'),
    ('torch.where(t < lengths, H_new, H)',
     'H_new',
     "update past each sequence's length"),
    ('reverse=True',
     'reverse=False',
     'run the reverse direction forwards'),
    ('k < self.num_layers - 1',
     'k < self.num_layers',
     'apply dropout after the last layer too'),
    ('H0[k * D + 1]',
     'H0[k * D]',
     'start the reverse direction from the forward h0'),
    ('for sfx in ("", "_reverse")[:D]',
     'for sfx in ("_reverse", "")[:D]',
     'register the reverse parameters first'),
    ('d_k = input_size if k == 0 else D * hidden_size',
     'd_k = input_size if k == 0 else hidden_size',
     'give layers k > 0 h inputs instead of 2h'),
]

STAND_IN_SIZES = []
