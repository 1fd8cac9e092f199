"""Draw every diagram the lessons show, from code, so a figure can never drift from the maths.

    python figures/make_figures.py            # redraw all figures into figures/
    python figures/make_figures.py --out DIR  # draw them elsewhere (the tests use this)

Then `python ci/build.py` re-embeds them in the notebooks (as markdown attachments, so they show wherever a
notebook is opened alone). tests/test_figures.py checks that each embedded copy equals the file here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

HERE = Path(__file__).resolve().parent
BLUE, ORANGE, GREEN, GREY, RED = "#cfe2f3", "#fce5cd", "#d9ead3", "#eeeeee", "#c0392b"


def box(ax, x, y, w, h, text, color, fontsize=12, lw=1.2, edge="black"):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                fc=color, ec=edge, lw=lw))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def arrow(ax, start, end, color="black", style="-|>", lw=1.3, rad=0.0, ls="-"):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=14, color=color, lw=lw,
                                 connectionstyle=f"arc3,rad={rad}", linestyle=ls, shrinkA=2, shrinkB=2))


def save(fig, out: Path, name: str) -> None:
    # No "Software" stamp and a fixed dpi: the same code gives the same bytes.
    fig.savefig(out / name, dpi=100, metadata={"Software": None}, facecolor="white")
    plt.close(fig)


def rnn_step(out: Path) -> None:
    """One step: H_t = φ(X_t W_xh + H_{t-1} W_hh + b), every tensor with its shape."""
    fig, ax = plt.subplots(figsize=(9.0, 4.0))
    ax.set_xlim(0, 9)
    ax.set_ylim(-0.45, 3.6)
    ax.axis("off")
    box(ax, 0.9, 2.6, 1.5, 0.6, "$X_t$\n[N, d]", BLUE)
    box(ax, 0.9, 0.9, 1.5, 0.6, "$H_{t-1}$\n[N, h]", GREEN)
    box(ax, 3.0, 2.6, 1.7, 0.6, r"$\cdot\, W_{xh}$" + "\n[d, h]", ORANGE)
    box(ax, 3.0, 0.9, 1.7, 0.6, r"$\cdot\, W_{hh}$" + "\n[h, h]", ORANGE)
    ax.add_patch(plt.Circle((4.9, 1.75), 0.28, fc="white", ec="black", lw=1.2))
    ax.text(4.9, 1.75, "+", ha="center", va="center", fontsize=16)
    box(ax, 4.9, 3.15, 1.1, 0.45, "$b$  [h]", ORANGE, fontsize=11)
    box(ax, 6.4, 1.75, 1.0, 0.6, r"$\varphi$" + "\ntanh", GREY)
    box(ax, 8.1, 1.75, 1.3, 0.6, "$H_t$\n[N, h]", GREEN, lw=2.0)
    arrow(ax, (1.65, 2.6), (2.15, 2.6))
    arrow(ax, (1.65, 0.9), (2.15, 0.9))
    arrow(ax, (3.85, 2.6), (4.7, 1.95))
    arrow(ax, (3.85, 0.9), (4.7, 1.55))
    arrow(ax, (4.9, 2.92), (4.9, 2.03))
    arrow(ax, (5.18, 1.75), (5.9, 1.75))
    arrow(ax, (6.9, 1.75), (7.45, 1.75))
    arrow(ax, (8.1, 1.45), (0.9, 0.6), color="#555555", rad=-0.3, ls="--")
    ax.text(6.3, -0.2, "next step: $H_t$ becomes $H_{t-1}$", ha="left", fontsize=10, color="#555555")
    ax.text(4.45, 2.45, "[N, h]", ha="center", fontsize=9, color="#555555")
    ax.text(4.45, 0.95, "[N, h]", ha="center", fontsize=9, color="#555555")
    save(fig, out, "rnn_step.png")


def rnn_unrolled(out: Path, steps: int = 4) -> None:
    """The same cell applied at every step; output stacks H_1..H_T, h_n is H_T."""
    fig, ax = plt.subplots(figsize=(10.5, 4.2))
    ax.set_xlim(-0.2, 10.5)
    ax.set_ylim(-0.2, 4.3)
    ax.axis("off")
    # Folded view
    box(ax, 0.8, 2.0, 1.1, 0.7, "cell", GREY)
    box(ax, 0.8, 0.5, 0.9, 0.5, "$X_t$", BLUE)
    box(ax, 0.8, 3.5, 0.9, 0.5, "$H_t$", GREEN)
    arrow(ax, (0.8, 0.75), (0.8, 1.65))
    arrow(ax, (0.8, 2.35), (0.8, 3.25))
    ax.add_patch(FancyArrowPatch((1.35, 2.15), (1.35, 1.85), connectionstyle="arc3,rad=-2.2", arrowstyle="-|>",
                                 mutation_scale=12, lw=1.2))
    ax.text(1.95, 2.0, "=", fontsize=22, ha="center", va="center")
    # Unrolled view
    xs = [3.9 + 1.75 * i for i in range(steps)]
    labels = [str(i + 1) for i in range(steps - 1)] + ["T"]
    box(ax, 2.75, 2.0, 0.7, 0.5, "$H_0$", GREEN, fontsize=11)
    prev = 3.1
    for i, (x, k) in enumerate(zip(xs, labels)):
        last = i == steps - 1
        box(ax, x, 2.0, 1.0, 0.7, "cell", GREY)
        box(ax, x, 0.5, 0.8, 0.5, f"$X_{{{k}}}$", BLUE)
        box(ax, x, 3.5, 0.8, 0.5, f"$H_{{{k}}}$", GREEN, lw=2.4 if last else 1.2, edge=RED if last else "black")
        arrow(ax, (x, 0.75), (x, 1.65))
        arrow(ax, (x, 2.35), (x, 3.25))
        arrow(ax, (prev, 2.0), (x - 0.5, 2.0))
        prev = x + 0.5
        if i == steps - 2:
            ax.text(x + 0.87, 2.25, "…", fontsize=16, ha="center")
    ax.text((xs[0] + xs[-1]) / 2, 4.05, "output = stack($H_1, \\dots, H_T$)   [T, N, h]", ha="center", fontsize=11)
    ax.text(xs[-1] + 0.65, 3.5, "= h_n[0]", fontsize=11, color=RED, va="center")
    ax.text((xs[0] + xs[-1]) / 2, -0.1, "one set of weights, reused at every step", ha="center", fontsize=10,
            color="#555555")
    save(fig, out, "rnn_unrolled.png")


FIGURES = [rnn_step, rnn_unrolled]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for draw in FIGURES:
        draw(args.out)
    print(f"drew {len(FIGURES)} figures into {args.out}")


if __name__ == "__main__":
    main()
