"""Compare a fresh run's cell outputs with the stored ones the way nbval does (strict mode).

nbval compares, per cell, each stream by name and each MIME type of rich outputs except images and widget views,
after the sanitize rules of ci/nbval_sanitize.cfg; it coalesces consecutive streams and skips cells marked
NBVAL_IGNORE_OUTPUT / NBVAL_SKIP (comment alone on its line, or the tags). The same rules here let another test
run a notebook in a kernel of its own (another CPU kernel path, another thread count) and ask: would nbval pass?
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

from nbval.plugin import coalesce_streams, get_sanitize_patterns

ROOT = Path(__file__).resolve().parent.parent  # ci/ is one level down
PATTERNS = get_sanitize_patterns((ROOT / "ci" / "nbval_sanitize.cfg").read_text())
SKIP = {"metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
        "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg"}
IGNORE_MARKERS = ("# NBVAL_IGNORE_OUTPUT", "# NBVAL_SKIP")
IGNORE_TAGS = ("nbval-ignore-output", "nbval-skip")


def sanitize(s):
    if not isinstance(s, str):
        return s
    for regex, replace in PATTERNS:
        s = re.sub(regex, replace, s)
    return s


def comparable(outputs) -> dict:
    """{key: [sanitized values]}: stream names and MIME types, in order, as nbval flattens them."""
    out: dict = {}
    for o in coalesce_streams(copy.deepcopy(list(outputs))):
        if o["output_type"] == "stream":
            out.setdefault(o["name"], []).append(sanitize(o["text"]))
            continue
        for key, value in o.items():
            if key in SKIP:
                continue
            items = value.items() if key == "data" else [(key, value)]
            for k, v in items:
                if k not in SKIP:
                    out.setdefault(k, []).append(sanitize(v if isinstance(v, str) else str(v)))
    return out


def compared(cell) -> bool:
    lines = {ln.strip() for ln in cell.source.splitlines()}
    tags = cell.get("metadata", {}).get("tags", [])
    return not (lines & set(IGNORE_MARKERS) or set(tags) & set(IGNORE_TAGS))


def differences(stored_cells, fresh_cells, limit: int = 5) -> list[str]:
    """Readable differences between the stored and the fresh outputs of the compared code cells."""
    found = []
    code = [(s, f) for s, f in zip(stored_cells, fresh_cells) if s.cell_type == "code"]
    for i, (s, f) in enumerate(code):
        if not compared(s):
            continue
        want, got = comparable(s.get("outputs", [])), comparable(f.get("outputs", []))
        if want != got:
            keys = [k for k in sorted(set(want) | set(got)) if want.get(k) != got.get(k)]
            found.append(f"code cell {i}: " + "; ".join(first_difference(k, want.get(k), got.get(k)) for k in keys))
    return found[:limit] + ([f"… and {len(found) - limit} more"] if len(found) > limit else [])


def first_difference(key: str, want: list | None, got: list | None) -> str:
    """The first line that differs, stored vs now (or what is missing)."""
    if want is None or got is None:
        return f"{key}: stored {want!r:.200} vs now {got!r:.200}"
    a, b = "\n".join(want).splitlines(), "\n".join(got).splitlines()
    for x, y in zip(a, b):
        if x != y:
            return f"{key}: stored {x!r:.200} vs now {y!r:.200}"
    return f"{key}: {len(a)} lines stored vs {len(b)} now"
