"""Lesson 05 (05_bidirectional_rnn.ipynb): what the generic tests need to know about this lesson.

MUTATIONS: (original text, broken text, the mistake) - each edits the scratch code the way a learner might;
    the original must appear exactly once in the notebook's code cells, and the broken notebook must fail on
    one of its own assertions (tests/test_mutations.py).
STAND_IN_SIZES: (old, new) replacements that shrink a GPU cell when the CPU stands in for the GPU.
CHECKER_CASES: (checker, source defining `answer`, True if it must be accepted, else the hint it must print).
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
    ('H = torch.where((t < lengths)[:, None], H_new, H)  # past its length',
     'H = H_new  # past its length',
     'forward_pass: read the padding'),
    ('for t in range(X.shape[0]):',
     'for t in reversed(range(X.shape[0])):',
     'forward_pass: read backwards'),
]

STAND_IN_SIZES = []

_LOOP_EINSUM = '''def answer(X, H, w_ih, w_hh, b_ih, b_hh, lengths):
    out = torch.zeros(X.shape[0], X.shape[1], w_hh.shape[0], dtype=X.dtype)
    for t in range(X.shape[0] - 1, -1, -1):
        H_new = torch.tanh(torch.einsum("nd,hd->nh", X[t], w_ih) + b_ih + torch.einsum("nk,hk->nh", H, w_hh) + b_hh)
        H = torch.where((t >= lengths).unsqueeze(1), H, H_new)
        out[t] = H
    return out, H'''

_HOISTED = '''def answer(X, H, w_ih, w_hh, b_ih, b_hh, lengths):
    P = X @ w_ih.T + b_ih  # the input term of every step at once
    outs = []
    for t in reversed(range(len(X))):
        m = (t < lengths).to(X.dtype)[:, None]
        H = m * torch.tanh(P[t] + H @ w_hh.T + b_hh) + (1 - m) * H
        outs.append(H)
    return torch.stack(outs{order}), H'''

_PER_SEQUENCE = '''def answer(X, H, w_ih, w_hh, b_ih, b_hh, lengths):
    out, finals = torch.zeros(X.shape[0], X.shape[1], w_hh.shape[0], dtype=X.dtype), []
    for b in range(X.shape[1]):
        hb = H[b]
        for t in range(int(lengths[b]) - 1, -1, -1):
            hb = torch.tanh(F.linear(X[t, b], w_ih, b_ih) + F.linear(hb, w_hh, b_hh))
            out[t, b] = hb
        finals.append(hb)
    return out, torch.stack(finals)'''

_REVERSE_LOOP = '''def answer(X, H, w_ih, w_hh, b_ih, b_hh, lengths):
    out = [None] * len(X)
    for t in reversed(range(len(X))):
        H_new = rnn_step(X[t], H, w_ih, w_hh, {biases})
        H = {update}
        out[t] = H
    return torch.stack(out), {final}'''

_WHERE = "torch.where((t < lengths)[:, None], H_new, H)"

CHECKER_CASES = [
    ("check_reverse_pass", _LOOP_EINSUM, True),
    ("check_reverse_pass", _HOISTED.format(order="[::-1]"), True),
    ("check_reverse_pass", _PER_SEQUENCE, True),
    ("check_reverse_pass", _REVERSE_LOOP.format(biases="b_ih, b_hh", update=_WHERE, final="H"), True),
    ("check_reverse_pass", "answer = lambda X, H, *rest: forward_pass(X, H, *rest)", "you read forwards"),
    ("check_reverse_pass", _HOISTED.format(order=""), "reading order"),
    ("check_reverse_pass", _REVERSE_LOOP.format(biases="b_ih, b_hh", update="H_new", final="H"),
     "you ran over the padding"),
    ("check_reverse_pass", _REVERSE_LOOP.format(biases="b_ih", update=_WHERE, final="H"), "you left out b_hh"),
    ("check_reverse_pass", _REVERSE_LOOP.format(biases="b_ih, b_hh", update=_WHERE, final="out[-1]"),
     "the final state is not"),
    ("check_reverse_pass", _REVERSE_LOOP.format(biases="b_ih, b_hh", update="torch.where(t < lengths, H_new, H)",
                                                final="H"), "(t < lengths)[:, None]"),
    ("check_reverse_pass", _REVERSE_LOOP.format(biases="b_ih, b_hh", update="H_new * (t < lengths)[:, None]",
                                                final="H"), "starts from zeros, not from H"),
    ("check_packed_summary", "def answer(output, lengths):\n    h = output.shape[-1] // 2\n"
                             "    fwd = output[lengths - 1, torch.arange(output.shape[1]), :h]\n"
                             "    return torch.cat([fwd, output[0, :, h:]], dim=-1)", True),
    ("check_packed_summary", "def answer(output, lengths):\n    h = output.shape[-1] // 2\n"
                             "    return torch.stack([torch.cat([output[L - 1, b, :h], output[0, b, h:]])\n"
                             "                        for b, L in enumerate(lengths.tolist())])", True),
    ("check_packed_summary", "def answer(output, lengths):\n    T, N, two_h = output.shape\n"
                             "    idx = (lengths - 1).view(1, N, 1).expand(1, N, two_h // 2)\n"
                             "    fwd = output[..., : two_h // 2].gather(0, idx)[0]\n"
                             "    return torch.cat([fwd, output[0, :, two_h // 2:]], -1)", True),
    ("check_packed_summary", "answer = lambda output, lengths: output[-1]", "the last PADDED step"),
    ("check_packed_summary", "def answer(output, lengths):\n    h = output.shape[-1] // 2\n"
                             "    fwd = output[lengths - 1, torch.arange(output.shape[1]), :h]\n"
                             "    return torch.cat([output[0, :, h:], fwd], dim=-1)", "the halves are swapped"),
    ("check_packed_summary", "def answer(output, lengths):\n    h = output.shape[-1] // 2\n"
                             "    return torch.cat([output[lengths - 1, :, :h], output[0, :, h:]], -1)",
     "pair each time index with its sequence"),
    ("check_packed_summary", "def answer(output, lengths):\n    h = output.shape[-1] // 2\n"
                             "    return torch.cat([output[-1, :, :h], output[0, :, h:]], -1)",
     "padding for every sequence shorter than T"),
    ("check_packed_summary", "def answer(output, lengths):\n    h = output.shape[-1] // 2\n"
                             "    return output[lengths - 1, torch.arange(output.shape[1])]",
     "the reverse direction ends at index 0"),
    ("check_packed_summary", "def answer(output, lengths):\n    h = output.shape[-1] // 2\n"
                             "    fwd = output[lengths, torch.arange(output.shape[1]), :h]\n"
                             "    return torch.cat([fwd, output[0, :, h:]], dim=-1)", "lengths[b] − 1"),
    ("check_packed_summary", "def answer(output, lengths):  # the lesson's global h = 6, not the checker's 7\n"
                             "    fwd = output[lengths - 1, torch.arange(output.shape[1]), :h]\n"
                             "    return torch.cat([fwd, output[0, :, h:]], dim=-1)", "the lesson's h = 6"),
]
