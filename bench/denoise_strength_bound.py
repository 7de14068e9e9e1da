#!/usr/bin/env python3
"""Upper bound of encoder-chosen denoising strength (issue 7, denoiser): how much PSNR a
restore would gain if the encoder, which has the original, picked per image or per block how
much of the denoiser's correction to apply (x̂ + α·(denoised − x̂), α in 0, 0.25 … 2).

Packs the folder at each quality with the model's stored denoiser, restores it plain and
denoised, and reports, over the images, the mean PSNR of the plain restores and the gain of the
denoiser as is, with the best α per image, per 64-pixel block and per 32-pixel block. The
side information (α per block) is not counted: the numbers are a ceiling.

Usage: bench/denoise_strength_bound.py [--data ../shared/data/kodak] [--qualities 15,43,86]
"""
import argparse
import os
import subprocess
import tempfile

import numpy as np
from PIL import Image

ALPHAS = np.arange(0, 2.01, 0.25)


def psnr(mse):
    return 10 * np.log10(255 ** 2 / mse)


def blended_error(plain, residual, original):
    """Smallest squared error over the α grid, with the 8-bit rounding a restore does."""
    return min(((np.clip(np.round(plain + a * residual), 0, 255) - original) ** 2).sum() for a in ALPHAS)


def block_psnr(plain, residual, original, side):
    error = 0.0
    for y in range(0, original.shape[0], side):
        for x in range(0, original.shape[1], side):
            window = (slice(y, y + side), slice(x, x + side))
            error += blended_error(plain[window], residual[window], original[window])
    return psnr(error / original.size)


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.join(repo, "../shared/data/kodak"))
    p.add_argument("--qualities", default="15,43,86")
    p.add_argument("--nacre", default=os.path.join(repo, ".build/release/nacre"))
    a = p.parse_args()
    work = tempfile.mkdtemp(prefix="nacre-strength-")
    print("quality  plain dB  denoiser  best α/image  best α/64 px  best α/32 px")
    for quality in [int(q) for q in a.qualities.split(",")]:
        archive = os.path.join(work, f"q{quality}.nacre")
        subprocess.run([a.nacre, "pack", "--quality", str(quality), "-o", archive, a.data], check=True, capture_output=True)
        for mode, extra in [("plain", []), ("denoised", ["--denoise"])]:
            subprocess.run([a.nacre, "unpack", archive, "-o", os.path.join(work, f"{mode}{quality}")] + extra,
                           check=True, capture_output=True)
        rows = []
        for name in sorted(os.listdir(os.path.join(work, f"plain{quality}"))):
            load = lambda path: np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
            original = load(os.path.join(a.data, name))
            plain = load(os.path.join(work, f"plain{quality}", name))
            denoised = load(os.path.join(work, f"denoised{quality}", name))
            residual = denoised - plain
            rows.append([psnr(((plain - original) ** 2).mean()), psnr(((denoised - original) ** 2).mean()),
                         psnr(blended_error(plain, residual, original) / original.size),
                         block_psnr(plain, residual, original, 64), block_psnr(plain, residual, original, 32)])
        mean = np.mean(rows, axis=0)
        print(f"{quality:7d}  {mean[0]:8.3f}  " + "  ".join(f"{g - mean[0]:+.3f}".rjust(12) for g in mean[1:]))


if __name__ == "__main__":
    main()
