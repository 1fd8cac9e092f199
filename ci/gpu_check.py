"""Every lesson on a GPU: run each notebook top to bottom on a CUDA machine, its GPU cells included.

    python ci/gpu_check.py                 # every notebook in notebooks/
    python ci/gpu_check.py 06 11           # the notebooks whose names start with these
    python ci/gpu_check.py --force         # run even where no CUDA device is found (GPU cells then print their
                                           # skip line: a smoke test of this command, not of the GPU cells)

Each notebook is executed with `jupyter nbconvert --to notebook --execute` in a fresh kernel of this Python, in a
temporary folder (as Colab opens it); nothing in the checkout changes. The GPU cells (`if DEVICE.type == "cuda":`)
take their GPU branch because the kernel sees the GPU. Reports pass/fail and the time per notebook, the device,
torch and the date, and each GPU cell's printed line (their verdicts and timings) for the note. Exit status 1 if any
notebook failed. Where no CUDA device is found it says so and exits 0 with nothing run, unless --force.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUARD = 'if DEVICE.type == "cuda":'


def gpu_lines(path: Path) -> list[str]:
    """The stdout of each GPU cell of an executed notebook (one line each on a CPU, the results on a GPU)."""
    nb = json.loads(path.read_text())
    out = []
    for cell in nb["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and GUARD in src:
            text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("name") == "stdout")
            out.append(text.strip())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("prefix", nargs="*", help="only notebooks whose file name starts with one of these")
    ap.add_argument("--force", action="store_true", help="run even without a CUDA device")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per cell (nbconvert's --ExecutePreprocessor.timeout)")
    args = ap.parse_args()
    probe = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__); "
                            "print(torch.cuda.get_device_name() if torch.cuda.is_available() else '')"],
                           capture_output=True, text=True)
    torch_version, device = (probe.stdout.splitlines() + ["?", ""])[:2]
    if not device and not args.force:
        print(f"no CUDA device found (torch {torch_version}): nothing run. On a GPU machine this runs every "
              "notebook with its GPU cells; --force runs them here with the GPU cells skipped.")
        return 0
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.prefix:
        notebooks = [p for p in notebooks if any(p.name.startswith(x) for x in args.prefix)]
    print(f"device: {device or 'none (--force: GPU cells skip)'}; torch {torch_version}; "
          f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}")
    failed = 0
    for nb in notebooks:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp) / nb.name
            shutil.copy(nb, work)
            t0 = time.time()
            run = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                                  "--inplace", f"--ExecutePreprocessor.timeout={args.timeout}",
                                  "--ExecutePreprocessor.kernel_name=python3", str(work)],
                                 capture_output=True, text=True, cwd=tmp)
            seconds = time.time() - t0
            ok = run.returncode == 0
            failed += not ok
            print(f"{'PASS' if ok else 'FAIL'} {nb.name:<34} {seconds:6.1f} s", flush=True)
            if ok:
                for line in gpu_lines(work):
                    print(f"     GPU cell: {line[:600]}")
            else:
                print("     " + "\n     ".join(run.stderr.strip().splitlines()[-8:]))
    print(f"{len(notebooks) - failed} of {len(notebooks)} notebooks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
