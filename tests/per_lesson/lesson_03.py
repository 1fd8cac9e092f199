"""Lesson 03 (03_training_bptt.ipynb): what the generic tests need to know about this lesson.

MUTATIONS: (original text, broken text, the mistake) - each edits the scratch code the way a learner might;
    the original must appear exactly once in the notebook's code cells, and the broken notebook must fail on
    one of its own assertions (tests/test_mutations.py).
STAND_IN_SIZES: (old, new) replacements that shrink a GPU cell when the CPU stands in for the GPU.
"""

MUTATIONS = [
    ('@ W_hh.T',
     '@ W_hh',
     'pass delta back through W_hh untransposed'),
    ('(1 - H[t] ** 2)',
     '(1 - H[t])',
     'use a wrong tanh derivative'),
]

STAND_IN_SIZES = []
