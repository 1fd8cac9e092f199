"""Probe every Scratch class of a lesson against its torch twin on inputs it may not support (run in the lesson's
namespace by tests/test_scratch_refusals.py).

The rule: a `ScratchX` either gives what `nn.X` gives or raises a clear error. It never returns a wrong answer
(an unbatched input taken for a batch, an h0 of batch 1 broadcast over a batch of 3, bias=0 read as True, ...).

For each class (every version the lesson defines, collected after the cell that defines it), each constructor
variant below is built for the twin and for the scratch class (warnings off):
  * the twin refuses it           -> the scratch class must refuse it too, at construction, with a clear error;
  * the scratch class refuses it  -> fine (a partial class), if the error is clear;
  * both build it                 -> the scratch class takes the twin's state_dict (same names and shapes), both go
                                     to float64 and eval mode, and each input below is fed to both: when the twin
                                     refuses the input, the scratch class must refuse it clearly; when the scratch
                                     class refuses it, clearly, fine; otherwise every output tensor must match.
A clear error is a ValueError, TypeError, RuntimeError or NotImplementedError whose message is not one of the raw
messages that leak from deeper code (a failed matrix product, a broadcast, a missing attribute, an unpacking).
"""

import re
import warnings

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

_RAW = re.compile(
    r"mat1 and mat2|must match the size|expected scalar type|Expected all tensors|size mismatch|cannot be multiplied"
    r"|division by zero|not iterable|has no attribute|values to unpack|is invalid for input of size"
    r"|Dimension out of range|expected m1 and m2|Sizes of tensors must match|The size of tensor a"
    r"|found at least two devices|doesn't match the broadcast shape|Expected size for first two dimensions"
    r"|expected both vectors|inconsistent tensor size|out of bounds|index \d+ is out of"
)
_CLEAR = (ValueError, TypeError, RuntimeError, NotImplementedError)
D_IN, HID, T, N = 3, 4, 5, 2  # all different, so a mix-up of two axes cannot pass unnoticed


class ScratchProbe:
    found = []  # (cell index, class)

    @classmethod
    def collect(cls, namespace, cell):
        for name, obj in list(namespace.items()):
            if (name.startswith("Scratch") and isinstance(obj, type) and issubclass(obj, nn.Module)
                    and name[len("Scratch"):] in ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell")
                    and all(obj is not known for _, known in cls.found)):
                cls.found.append((cell, obj))

    COMPLETE = ()  # names of classes that must be complete drop-ins (all_weights included); set by the test

    @staticmethod
    def all_weights_problems(ours, ref, where):
        """torch's all_weights: one list per layer-direction of its parameters, in registration order."""
        try:
            got = [[p.shape for p in group] for group in ours.all_weights]
            same = all(a is b for group, names in zip(ours.all_weights, ref._all_weights)
                       for a, b in zip(group, (getattr(ours, n) for n in names)))
        except Exception as exc:  # noqa: BLE001
            return [f"{where}: all_weights fails: {type(exc).__name__}: {exc}"]
        want = [[p.shape for p in group] for group in ref.all_weights]
        if got != want:
            return [f"{where}: all_weights shapes {got}, torch's {want}"]
        if not same:
            return [f"{where}: all_weights must hold the parameters themselves, in torch's order"]
        return []

    @staticmethod
    def clear(exc):
        return isinstance(exc, _CLEAR) and not isinstance(exc, (IndexError, KeyError)) \
            and bool(str(exc).strip()) and not _RAW.search(str(exc))

    @staticmethod
    def tensors(x):
        if torch.is_tensor(x):
            return [x]
        if isinstance(x, (tuple, list)):
            return [t for y in x for t in ScratchProbe.tensors(y)]
        return []

    @staticmethod
    def variants(twin):
        cell = twin.__name__.endswith("Cell")
        out = [{}, {"bias": False}, {"bias": 0}, {"bias": "True"}, {"input_size": 0}, {"hidden_size": 0}]
        if twin in (nn.RNN, nn.RNNCell):
            out += [{"nonlinearity": "relu"}, {"nonlinearity": "sigmoid"}]
        if not cell:
            out += [{"num_layers": 2}, {"num_layers": 0}, {"bidirectional": True}, {"batch_first": True},
                    {"num_layers": 2, "dropout": 0.3}, {"num_layers": 2, "bidirectional": True, "batch_first": True}]
            if twin is nn.LSTM:
                out += [{"proj_size": 2}, {"proj_size": 2, "num_layers": 2, "bidirectional": True}]
        return out

    @staticmethod
    def inputs(twin, kw):
        """(label, positional args) fed to both modules, in float64."""
        g = torch.Generator().manual_seed(0)

        def r(*shape, dtype=torch.float64):
            return torch.randn(*shape, generator=g, dtype=dtype)

        lstm = twin in (nn.LSTM, nn.LSTMCell)
        if twin.__name__.endswith("Cell"):
            state = (lambda *s: (r(*s), r(*s))) if lstm else (lambda *s: r(*s))
            cases = [("batched input", (r(N, D_IN),)), ("batched input with hx", (r(N, D_IN), state(N, HID))),
                     ("unbatched input", (r(D_IN),)), ("unbatched input with hx", (r(D_IN), state(HID))),
                     ("hx of batch 1 for a batch of 2", (r(N, D_IN), state(1, HID))),
                     ("hx one column too wide", (r(N, D_IN), state(N, HID + 1))),
                     ("a float32 input to a float64 module", (r(N, D_IN, dtype=torch.float32),)),
                     ("an input with one feature too many", (r(N, D_IN + 1),)),
                     ("3-D input", (r(T, N, D_IN),))]
            if lstm:
                cases.append(("c one column too wide", (r(N, D_IN), (r(N, HID), r(N, HID + 1)))))
            return cases
        D = 2 if kw.get("bidirectional") else 1
        L = kw.get("num_layers", 1)
        H_out = kw.get("proj_size") or HID
        bf = kw.get("batch_first", False)
        x = r(N, T, D_IN) if bf else r(T, N, D_IN)

        def state(batch, width=H_out, cwidth=HID):
            if lstm:
                return (r(D * L, *batch, width), r(D * L, *batch, cwidth))
            return r(D * L, *batch, width)

        cases = [("batched input", (x,)), ("batched input with hx", (x, state((N,)))),
                 ("unbatched (T, d) input", (r(T, D_IN),)), ("unbatched input with hx", (r(T, D_IN), state(()))),
                 ("a PackedSequence", (pack_padded_sequence(x, torch.tensor([T, T - 2]), batch_first=bf),)),
                 ("an unsorted PackedSequence",
                  (pack_padded_sequence(x, torch.tensor([T - 2, T]), batch_first=bf, enforce_sorted=False),)),
                 ("hx of batch 1 for a batch of 2", (x, state((1,)))),
                 ("hx one column too wide", (x, state((N,), H_out + 1))),
                 ("a float32 input to a float64 module", (x.float(),)),
                 ("an input with one feature too many", (r(T, N, D_IN + 1),)),
                 ("4-D input", (r(T, N, 1, D_IN),))]
        if lstm:
            cases.append(("c one column too wide", (x, state((N,), H_out, HID + 1))))
        return cases

    @classmethod
    def probe(cls, scratch_cls):
        twin = getattr(nn, scratch_cls.__name__[len("Scratch"):])
        name = scratch_cls.__name__
        problems, compared = [], 0
        for variant in cls.variants(twin):
            kw = {"input_size": D_IN, "hidden_size": HID, **variant}
            args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    ref = twin(**kw)
                except Exception:  # noqa: BLE001 - torch refuses this configuration
                    ref = None
                try:
                    ours = scratch_cls(**kw)
                except Exception as exc:  # noqa: BLE001
                    if not cls.clear(exc):
                        problems.append(f"{name}({args}) raised an unclear {type(exc).__name__}: {exc}")
                    elif not variant:
                        problems.append(f"{name}({args}) refuses the basic configuration: {exc}")
                    continue
            if ref is None:
                problems.append(f"{name}({args}) was built, but nn.{twin.__name__} refuses it")
                continue
            try:
                ours.load_state_dict(ref.state_dict())
            except Exception as exc:  # noqa: BLE001
                problems.append(f"{name}({args}): nn.{twin.__name__}'s state_dict does not load: {exc}")
                continue
            if hasattr(ours, "all_weights") or name in cls.COMPLETE:
                problems += cls.all_weights_problems(ours, ref, f"{name}({args})")
            ref, ours = ref.double().eval(), ours.double().eval()
            for label, inputs in cls.inputs(twin, kw):
                where = f"{name}({args}) on {label}"
                try:
                    with torch.no_grad():
                        want = cls.tensors(ref(*inputs))
                except Exception:  # noqa: BLE001 - torch refuses this input
                    want = None
                try:
                    with torch.no_grad(), warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        got = cls.tensors(ours(*inputs))
                except Exception as exc:  # noqa: BLE001
                    if not cls.clear(exc):
                        problems.append(f"{where}: an unclear {type(exc).__name__}: {str(exc)[:200]}")
                    elif not variant and label == "batched input":
                        problems.append(f"{where}: refuses the basic case: {exc}")
                    continue
                if want is None:
                    problems.append(f"{where}: returned a result where nn.{twin.__name__} raises")
                    continue
                if [t.shape for t in got] != [t.shape for t in want]:
                    problems.append(f"{where}: shapes {[tuple(t.shape) for t in got]}, "
                                    f"nn.{twin.__name__} gives {[tuple(t.shape) for t in want]}")
                    continue
                try:
                    for a, b in zip(got, want):
                        torch.testing.assert_close(a, b)
                    compared += 1
                except AssertionError as exc:
                    problems.append(f"{where}: values differ from nn.{twin.__name__}: {str(exc).splitlines()[0]}")
        return problems, compared

    @classmethod
    def report(cls):
        assert cls.found, "no Scratch class with a torch.nn twin in this lesson"
        problems, lines = [], []
        for cell, scratch_cls in cls.found:
            found, compared = cls.probe(scratch_cls)
            lines.append(f"{scratch_cls.__name__} (cell {cell}): {compared} inputs equal to torch's")
            problems += [f"[{scratch_cls.__name__} of code cell {cell}] {p}" for p in found]
        assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)
        return lines
