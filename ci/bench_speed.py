"""The speed lesson's full benchmark: every rung of lesson 11's ladder beside nn.LSTM, at three sizes.

    python ci/bench_speed.py                    # CPU, 1 thread and all cores: figures/speed_cpu.json and
                                                #   ci/bench/speed_cpu.png (a few minutes)
    python ci/bench_speed.py --device cuda      # GPU: figures/speed_cuda.json and ci/bench/speed_cuda.png
    python ci/bench_speed.py --quick            # shorter timings, to try the script (not for committing)

Not part of the test suite. The rungs are the lesson's own functions: their definitions (imports, functions,
classes and the FORWARD/TRAINING tables) are taken from lessons/11_speed.py, so the benchmark times exactly
what the lesson checks. Timings: torch.utils.benchmark.Timer, blocked_autorange, median, the best of 3 interleaved rounds; on a GPU,
CUDA events.
Compare rungs as ratios to nn.LSTM measured in the same run: shared machines are noisy (the load average before
and after is recorded). Lesson 11 shows the committed CPU results as constants ("measured on ...").
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "lessons" / "11_speed.py"
SIZES = [(1, 128, 256), (16, 256, 128), (64, 512, 64)]  # (batch N, hidden H = input d, steps T)
KEEP = {"F64", "EXACT", "F32", "ONEDNN", "FORWARD", "CALLS", "TRAINING", "THREADS"}


def is_literal(node) -> bool:
    try:
        ast.literal_eval(node)
        return True
    except ValueError:
        return False


def lesson_definitions() -> dict:
    """The lesson's definitions, without running its checks or timings."""
    src = LESSON.read_text()
    keep = []
    for node in ast.parse(src).body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
            keep.append(node)
        elif isinstance(node, ast.Assign) and (
                all(isinstance(t, ast.Name) and t.id in KEEP for t in node.targets) or is_literal(node.value)):
            keep.append(node)
    namespace: dict = {}
    exec(compile(ast.Module(body=keep, type_ignores=[]), str(LESSON), "exec"), namespace)
    return namespace


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def cpu_timer(threads, min_run_time):
    from torch.utils import benchmark

    def run(fn):
        return benchmark.Timer("fn()", globals={"fn": fn}, num_threads=threads).blocked_autorange(
            min_run_time=min_run_time).median * 1e3
    return run


def cuda_timer(reps):
    def run(fn):
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        times = []
        for _ in range(reps):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        return sorted(times)[len(times) // 2]
    return run


def roof(ns, n, h, device, ms):
    """GFLOP/s of a step's product [n, h] @ [h, 4h] through @ (BLAS) and through oneDNN (CPU), µs per tiny call."""
    a, w, tiny = torch.randn(n, h, device=device), torch.randn(4 * h, h, device=device), torch.randn(1, 8, device=device)
    flop = 2 * n * h * 4 * h
    out = {"blas_gflops": flop / ms(lambda: a @ w.T) / 1e6, "call_us": ms(lambda: tiny.sigmoid_()) * 1e3}
    if device == "cpu" and ns["ONEDNN"]:
        packed = torch.ops.mkldnn._reorder_linear_weight(w, n)
        out["onednn_gflops"] = flop / ms(lambda: torch.ops.mkldnn._linear_pointwise(a, packed, None, "none", [], "")) / 1e6
    return {k: round(v, 2) for k, v in out.items()}


def cuda_extras(ns, lstm, x, z, w, ms):
    """GPU-only rungs: the in-place loop captured as one CUDA graph; cuDNN in float16."""
    graph, stream = torch.cuda.CUDAGraph(), torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        ns["lean"](x, z, z, *w)
    torch.cuda.current_stream().wait_stream(stream)
    with torch.cuda.graph(graph):
        y = ns["lean"](x, z, z, *w)[0]
    graph.replay()
    torch.testing.assert_close(y, lstm(x)[0], atol=1e-4, rtol=1e-4)
    half = nn.LSTM(lstm.input_size, lstm.hidden_size, device="cuda", dtype=torch.float16)
    xh = x.half()
    out = {"4 fewer calls, in place, CUDA graph": ms(graph.replay), "nn.LSTM cuDNN float16": ms(lambda: half(xh))}
    try:  # the pointwise cell fused by torch.compile (compiled once per size), eager and inside one CUDA graph
        fused = torch.compile(fused_cell, dynamic=False)

        def loop():
            G = torch.nn.functional.linear(x, w[0], w[2] + w[3])
            h, c, ys = z, z, []
            for g_t in G.unbind(0):
                h, c = fused(g_t, h, c, w[1])
                ys.append(h)
            return torch.stack(ys)

        torch.testing.assert_close(loop(), lstm(x)[0], atol=1e-4, rtol=1e-4)
        out["3 hoisted + fused cell (torch.compile)"] = ms(loop)
        graph2 = torch.cuda.CUDAGraph()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            loop()
        torch.cuda.current_stream().wait_stream(stream)
        with torch.cuda.graph(graph2):
            loop()
        out["3 hoisted + fused cell, CUDA graph"] = ms(graph2.replay)
    except Exception as err:  # noqa: BLE001 - report, do not lose the other figures
        print(f"  torch.compile rung skipped: {type(err).__name__}: {str(err)[:200]}")
    return out


def fused_cell(g_t, h, c, w_hh):
    """One LSTM step after the hoisted input product, for torch.compile to fuse its pointwise part."""
    i, f, g, o = (g_t + h @ w_hh.T).chunk(4, -1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


ROUNDS = 3


def rounds(calls, ms):
    """{name: ms}: each call timed ROUNDS times, the rounds interleaved, the fastest round kept (a burst of load
    from other processes then spoils one round of one variant, not the comparison)."""
    best = {}
    for _ in range(ROUNDS):
        for name, fn in calls.items():
            best[name] = min(best.get(name, float("inf")), ms(fn))
    return best


def bench(ns, device, ms, sizes, threads):
    rows = []
    forward = {k: v for k, v in ns["FORWARD"].items() if device == "cpu" or "oneDNN" not in k}
    for n, h, steps in sizes:
        torch.manual_seed(0)
        lstm = nn.LSTM(h, h, device=device)
        x, z = torch.randn(steps, n, h, device=device), torch.zeros(n, h, device=device)
        w = [p.detach() for p in lstm.parameters()]
        with torch.no_grad():
            ref = lstm(x)[0]
            calls = {"nn.LSTM": lambda: lstm(x)}
            for name, fn in forward.items():
                torch.testing.assert_close(fn(x, z, z, *w)[0], ref, atol=1e-4, rtol=1e-4)
                calls[name] = lambda fn=fn: fn(x, z, z, *w)
            fwd = rounds(calls, ms)
            if device == "cuda":
                fwd.update(cuda_extras(ns, lstm, x, z, w, ms))
        xg, dy, params = x.clone().requires_grad_(), torch.randn_like(x), list(lstm.parameters())

        def train(fn):
            lstm.zero_grad(set_to_none=True)
            xg.grad = None
            fn(xg, z, z, *params)[0].backward(dy)

        calls = {"nn.LSTM": lambda: train(lambda x, h, c, *p: lstm(x))}
        for name, fn in ns["TRAINING"].items():
            calls[name] = lambda fn=fn: train(fn)
        trn = rounds(calls, ms)
        r = roof(ns, n, h, device, ms)
        print(f"{threads} thread(s), N={n} H={h} T={steps}  roof {r}", flush=True)
        for name in dict.fromkeys([*fwd, *trn]):
            row = {"variant": name, "threads": threads, "batch": n, "hidden": h, "input": h, "steps": steps,
                   "forward_ms": round(fwd[name], 3) if name in fwd else None,
                   "training_ms": round(trn[name], 3) if name in trn else None}
            row["forward_ratio"] = round(fwd[name] / fwd["nn.LSTM"], 3) if name in fwd else None
            row["training_ratio"] = round(trn[name] / trn["nn.LSTM"], 3) if name in trn else None
            rows.append(row)
            print(f"  {name:<38} forward {row['forward_ms'] or '-':>9} ms ({row['forward_ratio'] or '-'}×)   "
                  f"training {row['training_ms'] or '-':>9} ms ({row['training_ratio'] or '-'}×)", flush=True)
        rows.append({"variant": "roof", "threads": threads, "batch": n, "hidden": h, "input": h, "steps": steps, **r})
    return rows


def plot(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result["rows"] if r["variant"] not in ("roof", "nn.LSTM") and r["threads"] == result["threads"][0]]
    sizes = list(dict.fromkeys((r["batch"], r["hidden"], r["steps"]) for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    for ax, key, title in ((axes[0], "forward_ratio", "forward"), (axes[1], "training_ratio", "training")):
        names = list(dict.fromkeys(r["variant"] for r in rows if r[key] is not None))
        width = 0.8 / max(1, len(names))
        for k, name in enumerate(names):
            vals = [next((r[key] for r in rows if r["variant"] == name and (r["batch"], r["hidden"], r["steps"]) == s),
                         float("nan")) for s in sizes]
            ax.bar([i + k * width for i in range(len(sizes))], vals, width, label=name)
        ax.axhline(1, color="black", lw=1)
        ax.set_yscale("log")
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(sizes))], [f"N={b} H={h} T={t}" for b, h, t in sizes])
        ax.set_title(f"{title}: time ÷ nn.LSTM's", fontsize=10)
        ax.legend(fontsize=7)
    fig.suptitle(f"{result['device_name']}, torch {result['torch']}, {result['threads'][0]} thread(s), {result['date']}",
                 fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, nargs="+", default=sorted({1, torch.get_num_threads()}),
                    help="thread counts to measure (default: 1 and all cores); the first is the lesson's table")
    ap.add_argument("--quick", action="store_true", help="short timings; writes under /tmp, not figures/")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device here: nothing measured")
        return 0
    ns = lesson_definitions()
    load_before, t0 = load_average(), time.time()
    rows = []
    if args.device == "cpu":
        name = cpu_model()
        for threads in args.threads:
            torch.set_num_threads(threads)
            rows += bench(ns, "cpu", cpu_timer(threads, 0.1 if args.quick else 0.4), SIZES, threads)
    else:
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
        name = torch.cuda.get_device_name()
        rows = bench(ns, "cuda", cuda_timer(5 if args.quick else 20), SIZES, torch.get_num_threads())
    result = {"machine": platform.node(), "device": args.device, "device_name": name, "cpu_model": cpu_model(),
              "cores": os.cpu_count(), "torch": torch.__version__,
              "threads": args.threads if args.device == "cpu" else [torch.get_num_threads()],
              "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "load_average_before": load_before, "load_average_after": load_average(),
              "seconds": round(time.time() - t0), "float": "float32" + (", TF32 off" if args.device == "cuda" else ""),
              "timing": f"torch.utils.benchmark.Timer blocked_autorange median, best of {ROUNDS} interleaved rounds"
              if args.device == "cpu"
              else "CUDA events, median of 20 after warm-up",
              "cudnn": torch.backends.cudnn.version() if args.device == "cuda" else None, "rows": rows}
    out = Path("/tmp/speed_bench") if args.quick else ROOT / "figures"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"speed_{args.device}.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(result, (Path("/tmp/speed_bench") if args.quick else ROOT / "ci" / "bench") / f"speed_{args.device}.png")
    print(f"wrote {out / f'speed_{args.device}.json'} in {result['seconds']} s; load {load_before} → {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
