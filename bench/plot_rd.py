#!/usr/bin/env python3
"""Draws a rate-distortion plot (PSNR vs bpp) of Nacre's curve with the Kodak anchors.

Usage: plot_rd.py --curve OURS.json --out PLOT.png ANCHOR.json...
Curve files use the anchors' format: {"method", "bpp", "psnr"} or a map name -> curve.
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def curves(path):
    with open(path) as f:
        data = json.load(f)
    if "bpp" in data:
        return [(data.get("method", os.path.basename(path)), data)]
    return [(name, c) for name, c in sorted(data.items()) if isinstance(c, dict) and "bpp" in c]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--curve", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-bpp", type=float, default=2.0)
    parser.add_argument("anchors", nargs="*")
    args = parser.parse_args()

    fig, ax = plt.subplots(figsize=(8, 6), dpi=120)
    for path in args.anchors:
        if not os.path.exists(path):
            continue
        for name, c in curves(path):
            if name == "png":
                continue
            ax.plot(c["bpp"], c["psnr"], marker=".", linewidth=1, alpha=0.8, label=c.get("method", name))
    for name, c in curves(args.curve):
        ax.plot(c["bpp"], c["psnr"], marker="o", linewidth=2.5, color="black", label=c.get("method", name))
    ax.set_xlim(0, args.max_bpp)
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel("RGB PSNR (dB)")
    ax.set_title("Kodak rate-distortion")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(args.out)


if __name__ == "__main__":
    main()
