"""Lesson 10 (10_language_model.ipynb): what the generic tests need to know about this lesson.

MUTATIONS: (original text, broken text, the mistake) - each edits the scratch code the way a learner might;
    the original must appear exactly once in the notebook's code cells, and the broken notebook must fail on
    one of its own assertions (tests/test_mutations.py).
STAND_IN_SIZES: (old, new) replacements that shrink a GPU cell when the CPU stands in for the GPU.
CHECKER_CASES: (checker, source defining `answer`, True if it must be accepted, else the hint it must print).
"""

STEP_GATES = 'i, f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, -1)'

MUTATIONS = [
    # the scratch LSTM (caught by its parity with nn.LSTM, float64)
    (STEP_GATES, STEP_GATES.replace('i, f, g, o =', 'i, f, o, g ='),
     "read the gate blocks in CS231n's order i, f, o, g"),
    ('h = torch.sigmoid(o) * torch.tanh(c)', 'h = torch.sigmoid(o) * c', "forget the tanh of the new cell state"),
    ('F.linear(h, w_hh, b_hh)', 'F.linear(h, w_hh)', 'drop b_hh'),
    ('return torch.stack(out), (h[None], c[None])', 'return torch.stack(out), (c[None], h[None])',
     'return the state as (c, h)'),
    ('return X, (hx[0][0], hx[1][0])', 'return X, (X.new_zeros(X.shape[1], H), X.new_zeros(X.shape[1], H))',
     'ignore the state passed in (every window would start from zeros)'),
    ('for x in X:  # one step per character position', 'for x in X.flip(0):  # one step per character position',
     'read the sequence backwards'),
    # the streams (caught by exercise 1's check on the lesson's own text_windows)
    ('X = ids[:N * S].view(N, S)  # row n = stream n', 'X = ids[:N * S].view(S, N).T  # row n = stream n',
     'interleave the streams (every N-th character) instead of contiguous stretches'),
    ('Y = ids[1:N * S + 1].view(N, S)  # the next', 'Y = ids[:N * S].view(N, S)  # the next',
     'targets not shifted by one character'),
    # the sampler (caught by exercise 3's check on the lesson's own next_char, and by the temperature assertion)
    ('scaled = logits / temperature', 'scaled = logits * temperature', 'multiply the logits by the temperature'),
    ('return int(torch.multinomial(probs, 1, generator=generator))', 'return int(probs.argmax())',
     'take the most likely character instead of sampling'),
    ('scaled = scaled.masked_fill(scaled < kth_largest, -math.inf)',
     'scaled = scaled.masked_fill(scaled < kth_largest, 0.0)', 'top-k: set the other logits to 0 instead of -inf'),
    ('kth_largest = scaled.topk(top_k).values[-1]', 'kth_largest = scaled.topk(top_k).values[0]',
     'top-k: keep only the largest logit'),
    ('else int(pick_next(z, temperature, gen, top_k))', 'else int(pick_next(z, 1.0, gen, top_k))',
     'generate ignores the temperature'),
    ('return len(set(found)) / max(len(found), 1)', 'return len(found) / max(len(found), 1)',
     'the distinct-word share counts repeated words as distinct (greedy loops go unseen)'),
    # the measurement (caught by exercise 2's check on the lesson's own pooled_perplexity, and by the carried-state
    # read of the held-out text)
    ('return math.exp((losses * counts).sum().item() / counts.sum().item())',
     'return math.exp(losses.mean().item())', "perplexity: the batches' losses not weighted by their counts"),
    ('logits, state = model(xs.to(p0.device), state if carry else None)',
     'logits, state = model(xs.to(p0.device), None)', 'the held-out reading never carries the state'),
    # the counting baseline (caught by its distributions summing to 1, float64)
    ('+ d * kinds[k][ctx] * prob) / total[k][ctx]', '+ d * prob) / total[k][ctx]',
     'Kneser-Ney: the freed mass not scaled by the number of distinct next characters'),
    ('max(grams[k][ctx + c] - d, 0)', 'grams[k][ctx + c]', 'Kneser-Ney: the freed mass given, the counts not discounted'),
    ('prob = 1 / V  # order 0: uniform', 'prob = 0.0  # order 0: uniform',
     'Kneser-Ney: nothing below letter frequencies (a character never seen would be impossible)'),
]

STAND_IN_SIZES = [('nn.LSTM(64, 512, num_layers=2', 'nn.LSTM(64, 24, num_layers=2'),
                  ('lr=0.002), 60, time.perf_counter()', 'lr=0.002), 0.5, time.perf_counter()'),
                  ('text_windows(train_ids, 32, 128)', 'text_windows(train_ids[:4000], 8, 64)'),
                  ('generate(big, "MENENIUS:", 300,', 'generate(big, "MENENIUS:", 30,')]

_STREAMS_RIGHT = [
    "def answer(ids, N, T):\n    S = (len(ids) - 1) // N\n    X = ids[:N * S].view(N, S)\n"
    "    Y = ids[1:N * S + 1].view(N, S)\n    return [(X[:, k:k + T].T, Y[:, k:k + T].T) for k in range(0, S - T + 1, T)]",
    "def answer(ids, N, T):\n    S = (len(ids) - 1) // N\n    X = ids[:N * S].reshape(N, S).unfold(1, T, T)  # [N, W, T]\n"
    "    Y = ids[1:N * S + 1].reshape(N, S).unfold(1, T, T)\n"
    "    return [(X[:, k].T, Y[:, k].T) for k in range(X.shape[1])]",
    "def answer(ids, N, T):\n    S = (len(ids) - 1) // N\n    out = []\n    for k in range(S // T):\n"
    "        idx = torch.arange(N)[None, :] * S + k * T + torch.arange(T)[:, None]  # [T, N]\n"
    "        out.append((ids[idx], ids[idx + 1]))\n    return out",
    "def answer(ids, N, T):\n    S = (len(ids) - 1) // N\n    streams = torch.stack([ids[n * S:n * S + S + 1] for n in range(N)])\n"
    "    for k in range(S // T):\n        w = streams[:, k * T:k * T + T + 1].T\n        yield w[:-1], w[1:]",
]
_STREAMS_WRONG = [
    ("def answer(ids, N, T):\n    ...", "not done yet"),
    ("def answer(ids, N, T):\n    S = (len(ids) - 1) // N\n    X, Y = ids[:N * S].view(S, N), ids[1:N * S + 1].view(S, N)\n"
     "    return [(X[k:k + T], Y[k:k + T]) for k in range(0, S - T + 1, T)]", "one contiguous stretch"),
    ("def answer(ids, N, T):\n    S = (len(ids) - 1) // N\n    X, Y = ids[:N * S].view(N, S), ids[1:N * S + 1].view(N, S)\n"
     "    return [(X[:, k:k + T], Y[:, k:k + T]) for k in range(0, S - T + 1, T)]", "sequence first"),
    ("def answer(ids, N, T):\n    S = (len(ids) - 1) // N\n    X = ids[:N * S].view(N, S)\n"
     "    return [(X[:, k:k + T].T, X[:, k:k + T].T) for k in range(0, S - T + 1, T)]", "NEXT character"),
    ("def answer(ids, N, T):\n    S = (len(ids) - 1) // N\n    X, Y = ids[:N * S].view(N, S), ids[1:N * S + 1].view(N, S)\n"
     "    return [(X[:, k:k + T].T, Y[:, k:k + T].T) for k in range(0, S, T)]", "drop the last window"),
    ("def answer(ids, N, T):\n    S = len(ids) // N\n    X, Y = ids[:N * S].view(N, S), ids[1:N * S + 1].view(N, S)\n"
     "    return [(X[:, k:k + T].T, Y[:, k:k + T].T) for k in range(0, S - T + 1, T)]", "one character more"),
    ("def answer(ids, N, T):\n    S = (len(ids) - 1) // N\n    X, Y = ids[:N * S].view(N, S), ids[1:N * S + 1].view(N, S)\n"
     "    return [(X[:, k:k + T].T, Y[:, k:k + T].T) for k in range(S - T + 1)]", "whole windows"),
]

_PPL_RIGHT = [
    "def answer(losses, counts):\n    return torch.exp((losses * counts).sum() / counts.sum()).item()",
    "def answer(losses, counts):\n    total = sum(l * n for l, n in zip(losses.tolist(), counts.tolist()))\n"
    "    return math.exp(total / sum(counts.tolist()))",
    "def answer(losses, counts):\n    return torch.exp(torch.dot(losses, counts.to(losses.dtype)) / counts.sum())",
    "def answer(losses, counts):\n    return (losses * counts / counts.sum()).sum().exp()",
]
_PPL_WRONG = [
    ("def answer(losses, counts):\n    pass", "not done yet"),
    ("def answer(losses, counts):\n    return ((losses.exp() * counts).sum() / counts.sum()).item()",
     "average the losses first"),
    ("def answer(losses, counts):\n    return losses.exp().mean()", "average the losses first, then take exp"),
    ("def answer(losses, counts):\n    return math.exp(losses.mean())", "weight each batch's loss"),
    ("def answer(losses, counts):\n    return 2 ** ((losses * counts).sum() / counts.sum()).item()", "not 2 **"),
    ("def answer(losses, counts):\n    return ((losses * counts).sum() / counts.sum()).item()", "that is the mean loss"),
    ("def answer(losses, counts):\n    return torch.exp((losses * counts).sum()).item()", "exp of the total loss"),
]

_SAMPLE_RIGHT = [
    "def answer(logits, temperature, generator, top_k=None):\n    z = logits / temperature\n"
    "    if top_k is not None:\n        z = z.masked_fill(z < z.topk(top_k).values[-1], float('-inf'))\n"
    "    return int(torch.multinomial(F.softmax(z, dim=-1), 1, generator=generator))",
    "def answer(logits, temperature, generator, top_k=None):\n    p = torch.softmax(logits, 0) ** (1 / temperature)\n"
    "    if top_k:\n        keep = torch.zeros_like(p)\n        keep[p.topk(top_k).indices] = 1\n        p = p * keep\n"
    "    return torch.multinomial(p / p.sum(), 1, generator=generator)",
    "def answer(logits, temperature, generator, top_k=None):\n    z = logits / temperature\n    if top_k:\n"
    "        v, i = torch.topk(z, top_k)\n        z = torch.full_like(z, float('-inf')).scatter(0, i, v)\n"
    "    cdf = torch.cumsum(torch.softmax(z, 0), 0)\n    u = torch.rand(1, generator=generator)\n"
    "    return int(torch.searchsorted(cdf, u * cdf[-1]).clamp(max=len(z) - 1))",
]
_SAMPLE_WRONG = [
    ("def answer(logits, temperature, generator, top_k=None):\n    return None", "not done yet"),
    ("def answer(logits, temperature, generator, top_k=None):\n    return int((logits / temperature).argmax())",
     "greedy decoding"),
    ("def answer(logits, temperature, generator, top_k=None):\n"
     "    return int(torch.multinomial(torch.softmax(logits * temperature, -1), 1, generator=generator))",
     "multiplied the logits"),
    ("def answer(logits, temperature, generator, top_k=None):\n"
     "    return int(torch.multinomial(torch.softmax(logits, -1) / temperature, 1, generator=generator))",
     "changed nothing"),
    ("def answer(logits, temperature, generator, top_k=None):\n    z = logits / temperature\n    if top_k:\n"
     "        z = z.masked_fill(z < z.topk(top_k).values[-1], 0.0)\n"
     "    return int(torch.multinomial(torch.softmax(z, -1), 1, generator=generator))", "−inf"),
    ("def answer(logits, temperature, generator, top_k=None):\n    z = logits / temperature\n    if top_k:\n"
     "        z = z.masked_fill(z > z.topk(top_k, largest=False).values[-1], float('-inf'))\n"
     "    return int(torch.multinomial(torch.softmax(z, -1), 1, generator=generator))", "LARGEST"),
    ("def answer(logits, temperature, generator, top_k=None):\n"
     "    return int(torch.multinomial(torch.softmax(logits / temperature, -1), 1))", "generator=generator"),
]

CHECKER_CASES = (
    [("check_stream_windows", src, True) for src in _STREAMS_RIGHT]
    + [("check_stream_windows", src, hint) for src, hint in _STREAMS_WRONG]
    + [("check_perplexity", src, True) for src in _PPL_RIGHT]
    + [("check_perplexity", src, hint) for src, hint in _PPL_WRONG]
    + [("check_sample_next", src, True) for src in _SAMPLE_RIGHT]
    + [("check_sample_next", src, hint) for src, hint in _SAMPLE_WRONG]
)
