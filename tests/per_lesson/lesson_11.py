"""Lesson 11 (11_speed.ipynb): what the generic tests need to know about this lesson.

MUTATIONS: (original text, broken text, the mistake) - each edits the scratch code the way a learner might;
    the original must appear exactly once in the notebook's code cells, and the broken notebook must fail on
    one of its own assertions (tests/test_mutations.py).
STAND_IN_SIZES: (old, new) replacements that shrink a GPU cell when the CPU stands in for the GPU.
CHECKER_CASES: (checker, source defining `answer`, True if it must be accepted, else the hint it must print).
"""

MUTATIONS = [
    ('f = torch.sigmoid(x_t @ W_if.T + h @ W_hf.T + b_f)',
     'f = torch.sigmoid(x_t @ W_if.T + h @ W_hf.T + b_i)',
     "rung 1: give the forget gate the input gate's bias"),
    ('i, f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, -1)',
     'i, f, o, g = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, -1)',
     "rung 2: read the gate blocks in CS231n's order i, f, o, g"),
    ('G = F.linear(x, w_ih, b_ih + b_hh)  # [T, N, 4H]',
     'G = F.linear(x, w_ih, b_ih)  # [T, N, 4H]',
     'rung 3: drop b_hh from the hoisted input product'),
    ('torch.addmm(g_t, h, w_hh.T).chunk(4, -1)',
     'torch.addmm(g_t, h.detach(), w_hh.T).chunk(4, -1)',
     'rung 3: detach h in the recurrence (gradients stop at each step)'),
    ('return torch.cat([i, f, o, g_scale * g])',
     'return torch.cat([i, f, g_scale * g, o])',
     'rung 4: reorder the row blocks to i, f, g, o instead of i, f, o, g'),
    ('sig, (i, f, o, g) = Z[:, :3 * H_], Z.split(H_, 1)',
     'sig, (i, f, o, g) = Z[:, :2 * H_], Z.split(H_, 1)',
     "rung 4: the in-place sigmoid misses the output gate's block"),
    ('c.mul_(f).addcmul_(i, g)  # c = f c + i g',
     'c.addcmul_(i, g)  # c = f c + i g',
     'rung 4: forget the forget gate in the in-place update'),
    ('c.mul_(f).addcmul_(i, s, value=2).sub_(i)',
     'c.mul_(f).addcmul_(i, s, value=2)',
     'rung 5: tanh(g) = 2σ(2g) − 1 without the − 1'),
    ('torch.mul(c, 2, out=tc).sigmoid_()  # σ(2c)',
     'torch.mul(c, 1, out=tc).sigmoid_()  # σ(2c)',
     'rung 5: tanh(c) from σ(c) instead of σ(2c)'),
    ('A = torch.addcmul(so, so, tc * tc, value=-1)',
     'A = torch.addcmul(so, so, tc, value=-1)',
     'backward: the derivative of tanh taken as 1 − tanh instead of 1 − tanh²'),
    ('C_prev * d_sigmoid(sf)',
     'C * d_sigmoid(sf)',
     'backward: the forget gate multiplies the new cell state instead of the previous one'),
    ('dc = dc * sf[t]',
     'dc = dc * 1',
     "backward: dc passes to the previous step without the forget gate"),
    ('dw_hh = onednn(H_prev.T, dG2.T).T',
     'dw_hh = onednn(Y.reshape(T_ * N_, H_).T, dG2.T).T',
     "backward: W_hh's gradient from h_t instead of h_{t-1}"),
    ('db = dG2.sum(0)',
     'db = dG2.mean(0)',
     'backward: the bias gradient averaged instead of summed over steps and batch'),
]

STAND_IN_SIZES = [
    ("[(1, 256, 256), (64, 512, 256)]", "[(1, 16, 8), (9, 32, 8)]"),
    ("reps=20", "reps=2"),
]

_LOOP = ("    out = []\n    for g_t in {G}:\n"
         "        i, f, g, o = (g_t + {rec}).chunk(4, -1)\n"
         "        c = f.sigmoid() * c + i.sigmoid() * g.tanh()\n"
         "        h = o.sigmoid() * c.tanh()\n        out.append(h)\n    return {ret}, (h, c)")


def _hoisted(first, G="G.unbind(0)", rec="h @ w_hh.T", ret="torch.stack(out)"):
    return "def answer(x, h, c, w_ih, w_hh, b_ih, b_hh):\n" + first + "\n" + _LOOP.format(G=G, rec=rec, ret=ret)


def _backward(dc_line="dc = dc + dh * so * (1 - tc**2)", di="dc * tg * si * (1 - si)", df="dc * c_prev * sf * (1 - sf)",
              dg="dc * si * (1 - tg**2)", do="dh * tc * so * (1 - so)", ret="return d_pre, dc * sf", tc="c.tanh()"):
    return ("def answer(dh, dc, gates, c_prev, c):\n    si, sf, tg, so = gates.chunk(4, -1)\n"
            f"    tc = {tc}\n    {dc_line}\n    d_pre = torch.cat([{di}, {df}, {dg}, {do}], -1)\n    {ret}")


CHECKER_CASES = [
    # exercise 1: the hoisted loop (build the core)
    ("check_hoisted", _hoisted("    G = x @ w_ih.T + b_ih + b_hh"), True),
    ("check_hoisted", _hoisted("    G = torch.einsum('tnd,gd->tng', x, w_ih) + (b_ih + b_hh)",
                               G="(G[t] for t in range(len(G)))"), True),
    ("check_hoisted", _hoisted("    G = F.linear(x, w_ih, b_ih + b_hh)", rec="F.linear(h, w_hh)"), True),
    ("check_hoisted", _hoisted("    G = torch.tensordot(x, w_ih, dims=([2], [1])) + b_ih + b_hh",
                               rec="torch.mm(h, w_hh.t())"), True),
    ("check_hoisted", "def answer(x, h, c, w_ih, w_hh, b_ih, b_hh):\n    ...", "not done yet"),
    ("check_hoisted", _hoisted("    G = x @ w_ih.T + b_ih"), "bias_hh is missing"),
    ("check_hoisted", _hoisted("    G = x @ w_ih.T + b_ih + b_hh", rec="h @ w_hh.T + b_ih + b_hh"), "added twice"),
    ("check_hoisted", _hoisted("    G = x @ w_ih.T + b_ih + b_hh", ret="out"), "stack the steps"),
    ("check_hoisted", _hoisted("    G = [x_t @ w_ih.T + b_ih + b_hh for x_t in x]", G="G"), "still inside"),
    ("check_hoisted", "def answer(x, h, c, w_ih, w_hh, b_ih, b_hh):\n    G = x @ w_ih + b_ih + b_hh\n    return G, (h, c)",
     "multiply by its transpose"),
    ("check_hoisted", _hoisted("    G = x @ w_ih.T + b_ih + b_hh").replace("i, f, g, o =", "i, f, o, g ="),
     "i, f, g, o"),
    # exercise 2: the LSTM step's backward pass (build the core)
    ("check_step_backward", _backward(), True),
    ("check_step_backward", _backward(dc_line="dc = torch.addcmul(dc, dh, so * (1 - tc * tc))",
                                      di="dc * tg * (si - si * si)", dg="dc * si * (1 - tg * tg)",
                                      ret="return d_pre, torch.mul(dc, sf)"), True),
    ("check_step_backward", "def answer(dh, dc, gates, c_prev, c):\n"
                            "    pre = torch.cat([gates[:, :8].logit(), gates[:, 8:12].atanh(), gates[:, 12:].logit()], -1)\n"
                            "    pre, c0 = pre.detach().requires_grad_(), c_prev.detach().requires_grad_()\n"
                            "    i, f, g, o = pre.chunk(4, -1)\n"
                            "    c2 = f.sigmoid() * c0 + i.sigmoid() * g.tanh()\n"
                            "    h2 = o.sigmoid() * c2.tanh()\n"
                            "    d_pre, dc0 = torch.autograd.grad((h2 * dh).sum() + (c2 * dc).sum(), (pre, c0))\n"
                            "    return d_pre, dc0", True),
    ("check_step_backward", "def answer(dh, dc, gates, c_prev, c):\n    pass", "not done yet"),
    ("check_step_backward", _backward(dc_line="dc = dc"), "path through h"),
    ("check_step_backward", _backward(dg="dc * si * tg * (1 - tg)"), "1 − tanh²(g)"),
    ("check_step_backward", _backward(ret="return d_pre, dc"), "dc ⊙ σ(f)"),
    ("check_step_backward", _backward(tc="c_prev.tanh()"), "NEW cell state"),
    ("check_step_backward", _backward().replace("[{}, ".format("dc * tg * si * (1 - si)"), "[XX, ")
     .replace("dc * c_prev * sf * (1 - sf), ", "dc * tg * si * (1 - si), ").replace("XX", "dc * c_prev * sf * (1 - sf)"),
     "out of order"),
    ("check_step_backward", _backward(ret="return d_pre"), "return a pair"),
]

MUTATIONS += [
    ('x = input.transpose(0, 1) if self.batch_first else input  # [T, N, d]',
     'x = input  # [T, N, d]',
     'ScratchLSTM: ignore batch_first'),
    ('(by_hand if training else fast)(x, hx[0][0], hx[1][0], *w)',
     '(by_hand if training else fast)(x, hx[1][0], hx[0][0], *w)',
     'ScratchLSTM: take hx as (c0, h0)'),
]
