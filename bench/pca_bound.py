#!/usr/bin/env python3
"""Oracle bound on what a latent of M values per 16×16×3 block can reconstruct (issue 4).

Fits a principal-component basis to the non-overlapping 16×16 RGB blocks of the images themselves
(an oracle: the basis is fitted on the test set), keeps the first M components, and prints the
mean per-image RGB PSNR of the reconstruction. A learned transform differs (overlapping, nonlinear),
but a bound this low marks a dimension bottleneck: base-v1 (M = 96) topped out near it on Kodak.

Usage: bench/pca_bound.py [--data ../shared/data/kodak] [--components 48,96,192,320]
"""
import argparse
import glob
import os

import numpy as np
from PIL import Image


def blocks(image, side=16):
    h, w, _ = image.shape
    h, w = h - h % side, w - w % side
    return image[:h, :w].reshape(h // side, side, w // side, side, 3).transpose(0, 2, 1, 3, 4).reshape(-1, side * side * 3)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.join(here, "../../shared/data/kodak"))
    p.add_argument("--components", default="48,96,192,320")
    a = p.parse_args()
    images = [np.asarray(Image.open(f).convert("RGB"), dtype=np.float64) for f in sorted(glob.glob(os.path.join(a.data, "*.png")))]
    per_image = [blocks(image) for image in images]
    x = np.concatenate(per_image)
    mean = x.mean(0)
    _, vectors = np.linalg.eigh(np.cov((x - mean).T))
    vectors = vectors[:, ::-1]
    for m in (int(c) for c in a.components.split(",")):
        basis = vectors[:, :m]
        psnrs = []
        for b in per_image:
            error = (((b - mean) @ basis @ basis.T + mean - b) ** 2).mean()
            psnrs.append(10 * np.log10(255 ** 2 / error))
        print(f"M = {m:4d}: {np.mean(psnrs):.2f} dB")


if __name__ == "__main__":
    main()
