"""Break a scratch layer the way learners do and check that its notebook fails.

A parity claim that cannot fail proves nothing. Each mutation below edits one line of a lesson's scratch code
(the original text must be there exactly once, so the list cannot silently go stale), re-runs the notebook's
code cells (in a fork of a warm process, see forked_runs.py: ~1 s a run instead of ~4 s through a fresh kernel),
and expects an AssertionError from one of the notebook's own parity checks. Each lesson also runs unmutated in
the same runner, and must run clean there, its GPU cells included, run on the CPU (see with_gpu_branches_on_cpu).
"""

from __future__ import annotations

import nbformat
import pytest
from conftest import ROOT
from forked_runs import ForkServer

MUTATIONS = [
    # (notebook, original text, broken text, what the mistake is)
    ("01_one_step.ipynb", "pre = pre + self.bias_ih + self.bias_hh", "pre = pre + self.bias_ih",
     "drop b_hh"),
    ("01_one_step.ipynb", "H @ self.weight_hh.T", "H @ self.weight_hh",
     "use W_hh untransposed"),
    ("01_one_step.ipynb", 'torch.tanh(pre) if self.nonlinearity == "tanh" else torch.relu(pre)', "torch.tanh(pre)",
     "ignore nonlinearity='relu'"),
    ("01_one_step.ipynb", "self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size, **kw))\n"
                          "        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))",
     "self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))\n"
     "        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size, **kw))",
     "register parameters in another order than torch"),
    ("01_one_step.ipynb", "bound = 1.0 / math.sqrt(self.hidden_size)", "bound = 1.0 / self.hidden_size",
     "initialise from another range than torch"),
    ("02_through_time.ipynb", "+ self.bias_hh_l0", "",
     "drop b_hh"),
    ("02_through_time.ipynb", "H @ self.weight_hh_l0.T", "H @ self.weight_hh_l0",
     "use W_hh untransposed"),
    ("02_through_time.ipynb", 'phi = torch.tanh if self.nonlinearity == "tanh" else torch.relu', "phi = torch.tanh",
     "ignore nonlinearity='relu'"),
    ("02_through_time.ipynb", "output = output.transpose(0, 1)  # (N, T, h)", "output = output  # (N, T, h)",
     "forget to transpose a batch_first output"),
    ("02_through_time.ipynb", "return output, H.unsqueeze(0)", "return output, output[:1]",
     "return the first step as h_n"),
    ("02_through_time.ipynb",
     "self.weight_ih_l0 = nn.Parameter(torch.empty(hidden_size, input_size, **kw))  # W_xh.T\n"
     "        self.weight_hh_l0 = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))  # W_hh.T",
     "self.weight_hh_l0 = nn.Parameter(torch.empty(hidden_size, hidden_size, **kw))  # W_hh.T\n"
     "        self.weight_ih_l0 = nn.Parameter(torch.empty(hidden_size, input_size, **kw))  # W_xh.T",
     "register parameters in another order than torch"),
    ("03_training_bptt.ipynb", "@ W_hh.T", "@ W_hh",
     "pass delta back through W_hh untransposed"),
    ("03_training_bptt.ipynb", "(1 - H[t] ** 2)", "(1 - H[t])",
     "use a wrong tanh derivative"),
    ("04_deep_rnn.ipynb", "k < self.num_layers - 1", "k < self.num_layers",
     "apply dropout after the last layer too"),
    ("04_deep_rnn.ipynb", "torch.stack(finals)", "torch.stack(finals[::-1])",
     "stack h_n in reverse layer order"),
    ("04_deep_rnn.ipynb", "layer_in = input_size if k == 0 else hidden_size", "layer_in = input_size",
     "give layers k > 0 d inputs instead of h"),
    ("04_deep_rnn.ipynb", ' + getattr(self, f"bias_hh_l{k}")', "",
     "drop b_hh"),
    ("04_deep_rnn.ipynb", "H, states = H0[k], []", "H, states = H0[0], []",
     "start every layer from h0[0]"),
    ("04_deep_rnn.ipynb", "self.training and self.dropout > 0 and k", "self.dropout > 0 and k",
     "keep dropout on in eval mode"),
    ("04_deep_rnn.ipynb",
     'setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(hidden_size, layer_in, **kw)))  # W_xh^(k+1).T\n'
     '            setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(hidden_size, hidden_size, **kw)))  # W_hh^(k+1).T',
     'setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(hidden_size, hidden_size, **kw)))  # W_hh^(k+1).T\n'
     '            setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(hidden_size, layer_in, **kw)))  # W_xh^(k+1).T',
     "register parameters in another order than torch"),
    ("05_bidirectional_rnn.ipynb", "torch.cat([out_fwd, out_rev], dim=-1)", "torch.cat([out_rev, out_fwd], dim=-1)",
     "swap the directions in output"),
    ("05_bidirectional_rnn.ipynb", "h_n += [h_fwd, h_rev]", "h_n += [h_rev, h_fwd]",
     "swap the directions in h_n"),
    ("05_bidirectional_rnn.ipynb", "torch.where(t < lengths, H_new, H)", "H_new",
     "update past each sequence's length"),
    ("05_bidirectional_rnn.ipynb", "reverse=True", "reverse=False",
     "run the reverse direction forwards"),
    ("05_bidirectional_rnn.ipynb", "k < self.num_layers - 1", "k < self.num_layers",
     "apply dropout after the last layer too"),
    ("05_bidirectional_rnn.ipynb", "H0[k * D + 1]", "H0[k * D]",
     "start the reverse direction from the forward h0"),
    ("05_bidirectional_rnn.ipynb", 'for sfx in ("", "_reverse")[:D]', 'for sfx in ("_reverse", "")[:D]',
     "register the reverse parameters first"),
    ("05_bidirectional_rnn.ipynb", "d_k = input_size if k == 0 else D * hidden_size",
     "d_k = input_size if k == 0 else hidden_size", "give layers k > 0 h inputs instead of 2h"),
    ("07_gru.ipynb", "n = torch.tanh(gi_n + r * gh_n)",
     "n = torch.tanh(gi_n + (r * H) @ w_hh.chunk(3)[2].T + gh_n - H @ w_hh.chunk(3)[2].T)",
     "use the paper's GRU formula W_hn (r ⊙ h) + b_hn"),
    ("07_gru.ipynb", "gi, gh = gi + b_ih, gh + b_hh", "gi, gh = gi + b_ih + b_hh, gh",
     "fold b_hh into b_ih (b_hn added outside r)"),
    ("07_gru.ipynb", "gi, gh = gi + b_ih, gh + b_hh", "gi, gh = gi + b_ih, gh",
     "drop b_hh"),
    ("07_gru.ipynb", "(gi_r, gi_z, gi_n), (gh_r, gh_z, gh_n) = gi.chunk(3, -1), gh.chunk(3, -1)",
     "(gi_z, gi_r, gi_n), (gh_z, gh_r, gh_n) = gi.chunk(3, -1), gh.chunk(3, -1)",
     "chunk the gates in the order z, r, n instead of r, z, n"),
    ("07_gru.ipynb", "return (1 - z) * n + z * H", "return z * n + (1 - z) * H",
     "swap the z convention (z = 1 takes the candidate)"),
    ("07_gru.ipynb", "self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size, **kw))  # [W_ir; W_iz; W_in]\n"
           "        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size, **kw))  # [W_hr; W_hz; W_hn]",
     "self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size, **kw))  # [W_hr; W_hz; W_hn]\n"
     "        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size, **kw))  # [W_ir; W_iz; W_in]",
     "register the cell's parameters in another order than torch"),
    ("07_gru.ipynb", 'setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(3 * hidden_size, d_k, **kw)))\n'
           '            setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(3 * hidden_size, hidden_size, **kw)))',
     'setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(3 * hidden_size, hidden_size, **kw)))\n'
     '            setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(3 * hidden_size, d_k, **kw)))',
     "register the layer's parameters in another order than torch"),
    ("07_gru.ipynb", "H, states = H0[k], []", "H, states = H0[0], []",
     "start every layer from h0[0]"),
    ("07_gru.ipynb", "k < self.num_layers - 1", "k < self.num_layers",
     "apply dropout after the last layer too"),
    ("07_gru.ipynb", "(X.transpose(0, 1) if self.batch_first else X), h_n", "X, h_n",
     "forget to transpose a batch_first output"),
    ("07_gru.ipynb", "d_k = input_size if k == 0 else hidden_size", "d_k = input_size",
     "give layers k > 0 d inputs instead of h"),
    ("06_lstm.ipynb", "i, f, g, o = gates.chunk(4, dim=-1)", "i, f, o, g = gates.chunk(4, dim=-1)",
     "read the gate blocks in CS231n's order i, f, o, g (cell and layer share lstm_step)"),
    ("06_lstm.ipynb", "i, f, g, o = gates.chunk(4, dim=-1)", "i, g, f, o = gates.chunk(4, dim=-1)",
     "swap the f and g gate blocks"),
    ("06_lstm.ipynb", "torch.sigmoid(f) * C + torch.sigmoid(i) * torch.tanh(g)", "torch.sigmoid(f) * torch.tanh(C) + torch.sigmoid(i) * g",
     "put the tanh of c' on the old cell state instead of the candidate g"),
    ("06_lstm.ipynb", "return torch.sigmoid(o) * torch.tanh(C), C", "return torch.tanh(torch.sigmoid(o) * C), C",
     "apply tanh after the output gate"),
    ("06_lstm.ipynb", " + (b_hh if b_hh is not None else 0.0)", "",
     "drop b_hh"),
    ("06_lstm.ipynb", "GX = X @ w_ih.T + (b_ih if b_ih is not None else 0.0)", "GX = X @ w_ih.T",
     "drop b_ih in the layer"),
    ("06_lstm.ipynb", "H = H_full @ w_hr.T if w_hr is not None else H_full", "H = H_full",
     "forget the projection (h not multiplied by weight_hr)"),
    ("06_lstm.ipynb", "out.append(H)", "out.append(H_full)",
     "project only the final state h_n, not every step's output (pytorch#139582)"),
    ("06_lstm.ipynb", "H, C = (s.unsqueeze(0) if unbatched else s for s in hx)", "C, H = (s.unsqueeze(0) if unbatched else s for s in hx)",
     "take hx as (c, h) in the cell"),
    ("06_lstm.ipynb", "run_layer(X, H0[k], C0[k], self.weights(k))", "run_layer(X, H0[0], C0[0], self.weights(k))",
     "start every layer from h0[0], c0[0]"),
    ("06_lstm.ipynb", "k < self.num_layers - 1", "k < self.num_layers",
     "apply dropout after the last layer too"),
    ("06_lstm.ipynb", "d_k = input_size if k == 0 else h_out", "d_k = input_size if k == 0 else hidden_size",
     "give layers k > 0 hidden_size inputs instead of the projected size"),
    ("06_lstm.ipynb", "nn.Parameter(torch.empty(4 * hidden_size, h_out, **kw))", "nn.Parameter(torch.empty(4 * hidden_size, hidden_size, **kw))",
     "make weight_hh [4h, h] when proj_size > 0"),
    ("06_lstm.ipynb", "bound = 1.0 / math.sqrt(hidden_size)", "bound = 1.0 / math.sqrt(proj_size or hidden_size)",
     "initialise from 1/sqrt(proj_size) instead of 1/sqrt(hidden_size)"),
    ("06_lstm.ipynb", 'setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(4 * hidden_size, d_k, **kw)))\n'
         '            setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(4 * hidden_size, h_out, **kw)))',
     'setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(4 * hidden_size, h_out, **kw)))\n'
     '            setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(4 * hidden_size, d_k, **kw)))',
     "register the layer's parameters in another order than torch"),
    ("06_lstm.ipynb", "self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size, **kw))  # [W_ii; W_if; W_ig; W_io]\n"
         "        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size, **kw))  # [W_hi; W_hf; W_hg; W_ho]",
     "self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size, **kw))  # [W_hi; W_hf; W_hg; W_ho]\n"
     "        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size, **kw))  # [W_ii; W_if; W_ig; W_io]",
     "register the cell's parameters in another order than torch"),
    # (notebook, original text, broken text, what the mistake is)
    ("08_complete_layers.ipynb", "i, f, g, o = (gi + F.linear(h, w_hh, b_hh)).chunk(4, -1)",
     "i, f, o, g = (gi + F.linear(h, w_hh, b_hh)).chunk(4, -1)",
     "chunk the LSTM gates in the order i, f, o, g"),
    ("08_complete_layers.ipynb", "n = torch.tanh(x_n + r * h_n)",
     "n = torch.tanh(x_n + F.linear(r * h, w_hh.chunk(3)[2], None if b_hh is None else b_hh.chunk(3)[2]))",
     "the paper's GRU: r multiplies h before the product"),
    ("08_complete_layers.ipynb", "n = torch.tanh(x_n + r * h_n)",
     "b_n = 0.0 if b_hh is None else b_hh.chunk(3)[2]\n    n = torch.tanh(x_n + b_n + r * (h_n - b_n))",
     "fold the GRU's b_hn outside r"),
    ("08_complete_layers.ipynb", "return (1 - z) * n + z * h, None", "return z * n + (1 - z) * h, None",
     "swap z and 1 - z in the GRU update"),
    ("08_complete_layers.ipynb", "h_new = h_new @ w_hr.T", "h_new = h_new",
     "leave out the LSTM projection"),
    ("08_complete_layers.ipynb",
     "        if w_hr is not None:  # LSTM with proj_size: h' = h' W_hr^T [N, P], fed back into the next step\n"
     "            h_new = h_new @ w_hr.T\n"
     "        if lengths is not None:  # packed input: past its length a sequence keeps its old state\n"
     "            h_new = torch.where(t < lengths, h_new, h)\n"
     "            c_new = None if c is None else torch.where(t < lengths, c_new, c)\n"
     "        h, c = h_new, c_new\n"
     "        out[t] = h  # position t, whichever direction\n"
     "    return torch.stack(out), h, c",
     "        if lengths is not None:  # packed input: past its length a sequence keeps its old state\n"
     "            h_new = torch.where(t < lengths, h_new, h)\n"
     "            c_new = None if c is None else torch.where(t < lengths, c_new, c)\n"
     "        h, c = h_new, c_new\n"
     "        out[t] = h  # position t, whichever direction\n"
     "    return torch.stack(out), (h if w_hr is None else h @ w_hr.T), c",
     "apply the projection only to the returned h_n"),
    ("08_complete_layers.ipynb", "X = torch.cat(outs, dim=-1)", "X = torch.cat(outs[::-1], dim=-1)",
     "swap the directions in output"),
    ("08_complete_layers.ipynb", "mask = None if lengths is None else lengths.to(X.device)[:, None]", "mask = None",
     "no masking for packed input"),
    ("08_complete_layers.ipynb", "c_new = None if c is None else torch.where(t < lengths, c_new, c)", "c_new = c_new",
     "keep updating the LSTM cell state past a sequence's length"),
    ("08_complete_layers.ipynb", "k < self.num_layers - 1", "k < self.num_layers",
     "apply dropout after the last layer too"),
    ("08_complete_layers.ipynb", "h_n, c_n = torch.stack(h_n), (", "h_n, c_n = torch.stack(h_n[::-1]), (",
     "stack h_n in the wrong order"),
    ("08_complete_layers.ipynb", "i = k * D + j", "i = k",
     "start each layer-direction from the wrong row of h0"),
    ("08_complete_layers.ipynb", "reverse=j == 1", "reverse=False",
     "run the reverse direction forwards"),
    ("08_complete_layers.ipynb", "output = X.transpose(0, 1) if self.batch_first else X  # h_n is never batch-first",
     "output = X.transpose(0, 1) if self.batch_first else X\n"
     "        h_n = h_n.transpose(0, 1) if self.batch_first else h_n",
     "make h_n batch-first too"),
    ("08_complete_layers.ipynb",
     'shapes = {"weight_ih": (G * hidden_size, input_size if k == 0 else D * H_out),\n'
     '                          "weight_hh": (G * hidden_size, H_out)}',
     'shapes = {"weight_hh": (G * hidden_size, H_out),\n'
     '                          "weight_ih": (G * hidden_size, input_size if k == 0 else D * H_out)}',
     "register weight_hh before weight_ih"),
    ("08_complete_layers.ipynb", "(G * hidden_size, input_size if k == 0 else D * H_out)", "(G * hidden_size, input_size if k == 0 else D * hidden_size)",
     "give layers k > 0 D*hidden_size inputs even with proj_size"),
    ("08_complete_layers.ipynb", "nn.init.uniform_(p, -1.0 / math.sqrt(hidden_size), 1.0 / math.sqrt(hidden_size))",
     "nn.init.uniform_(p, -1.0 / hidden_size, 1.0 / hidden_size)",
     "initialise from another range than torch"),
    ("08_complete_layers.ipynb", 'raise ValueError(f"{name}: expected input (T, d)', 'raise RuntimeError(f"{name}: expected input (T, d)',
     "raise another exception type than torch for 4-D input"),
    ("08_complete_layers.ipynb", "if kind is int and value <= 0:", 'if kind is int and value <= 0 and name != "input_size":',
     "skip torch's input_size > 0 check"),
    ("09_long_range_memory.ipynb", "i, f, g, o = (P_t + H @ self.weight_hh_l0.T + self.bias_hh_l0).chunk(4, -1)",
     "i, g, f, o = (P_t + H @ self.weight_hh_l0.T + self.bias_hh_l0).chunk(4, -1)",
     "read the LSTM gate blocks in the order i, g, f, o"),
    ("09_long_range_memory.ipynb", "H = torch.sigmoid(o) * torch.tanh(C)", "H = torch.sigmoid(o) * C",
     "forget tanh on the LSTM cell state"),
    ("09_long_range_memory.ipynb", "n = torch.tanh(i_n + r * h_n)",
     "n = torch.tanh(i_n + (r * H) @ self.weight_hh_l0[2 * self.hidden_size:].T + self.bias_hh_l0[2 * self.hidden_size:])",
     "use the paper's GRU candidate, W_hn (r * h)"),
    ("09_long_range_memory.ipynb", "H = (1 - z) * n + z * H", "H = z * n + (1 - z) * H",
     "swap the GRU's z convention"),
    ("09_long_range_memory.ipynb", "tokens = torch.cat([y[None], noise])", "tokens = torch.cat([noise, y[None]])",
     "put the class token last: the answer depends on the last token"),
    ("09_long_range_memory.ipynb", "rnn.bias_ih_l0[h:2 * h] = keep", "rnn.bias_ih_l0[2 * h:3 * h] = keep",
     "open the third gate block instead of the forget/update gate"),
    ("09_long_range_memory.ipynb", "rnn.bias_hh_l0[h:2 * h] = 0.0", "pass",
     "set bias_ih but leave bias_hh's block: the gate sees their sum"),
    ("09_long_range_memory.ipynb", "rnn.bias_ih_l0[0:h] = -keep", "rnn.bias_ih_l0[0:h] = keep",
     "open the LSTM input gate as wide as the forget gate"),
]


@pytest.fixture(scope="module")
def forks():
    """One warm process per worker that runs each mutated notebook in a fork of itself (see forked_runs.py)."""
    server = ForkServer()
    yield server
    server.close()


def code_sources(name):
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


GPU_GUARD = 'if DEVICE.type == "cuda":'
# The GPU cells' code has never run where no GPU is lent (most CI machines): the unmutated run below runs it anyway,
# with the CPU standing in for the GPU (the guard forced open, torch.cuda.get_device_name stubbed), so a typo or a
# stale name in a GPU branch fails here. A GPU cell sized for a GPU gets smaller sizes here (each target must be
# found, so this list cannot go stale).
STAND_IN_SIZES = {
    "09_long_range_memory.ipynb": [("for T in (100, 200):", "for T in (5,):"), ("steps=1000", "steps=2"),
                                   ("for seed in range(3)]", "for seed in range(1)]")],
}


def with_gpu_branches_on_cpu(name, cells):
    guarded = [i for i, src in enumerate(cells) if GPU_GUARD in src]
    assert guarded, f"{name}: no GPU cell (`{GPU_GUARD}`) found"
    for i in guarded:
        src = cells[i].replace(GPU_GUARD, "if True:  # the CPU stands in for the GPU")
        for old, new in STAND_IN_SIZES.get(name, []):
            assert old in src, f"{name}: GPU cell size {old!r} not found (update STAND_IN_SIZES)"
            src = src.replace(old, new)
        cells[i] = "torch.cuda.get_device_name = lambda *a, **k: 'CPU standing in for a GPU'\n" + src
    return cells


def check_unmutated(forks, name):
    result = forks.run(with_gpu_branches_on_cpu(name, code_sources(name)))
    assert result["error"] is None, (
        f"{name} does not run clean in the forked runner, unmutated, GPU cells run on the CPU: {result['error']}"
    )


def check_mutation(forks, name, original, broken, mistake):
    cells = code_sources(name)
    hits = [i for i, src in enumerate(cells) if original in src]
    assert len(hits) == 1 and cells[hits[0]].count(original) == 1, \
        f"{name}: mutation target {original!r} must appear exactly once (update MUTATIONS if the lesson changed)"
    cells[hits[0]] = cells[hits[0]].replace(original, broken)
    error = forks.run(cells)["error"]
    assert error is not None, f"{name} with '{mistake}' still ran through: no check caught it"
    assert error["ename"] == "AssertionError", (
        f"{name} with '{mistake}' failed in code cell {error['cell']} with {error['ename']}: {error['evalue']}, "
        "not with a parity assertion"
    )


def lesson_class(lesson: str):
    """One test class per lesson, so that `--dist loadscope` spreads the lessons over the xdist workers."""
    cases = [m for m in MUTATIONS if m[0][:2] == lesson]
    name = cases[0][0]

    class Mutations:
        def test_unmutated_lesson_runs_clean_gpu_cells_included_on_the_cpu(self, forks):
            check_unmutated(forks, name)

        @pytest.mark.parametrize("name, original, broken, mistake", cases, ids=[m[3] for m in cases])
        def test_breaking_the_scratch_layer_fails_the_notebook(self, forks, name, original, broken, mistake):
            check_mutation(forks, name, original, broken, mistake)

    Mutations.__name__ = Mutations.__qualname__ = f"TestLesson{lesson}"
    return Mutations


for _lesson in sorted({m[0][:2] for m in MUTATIONS}):
    globals()[f"TestLesson{_lesson}"] = lesson_class(_lesson)


def test_every_lesson_has_mutations():
    from conftest import NOTEBOOK_PATHS

    missing = sorted({p.name for p in NOTEBOOK_PATHS} - {m[0] for m in MUTATIONS})
    assert not missing, f"no mutation of the scratch code of {missing}: add some to MUTATIONS"
