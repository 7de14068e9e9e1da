#!/usr/bin/env python3
"""BD-rate of training validation passes against one reference pass (development tool).

`nacre train` prints one line per validation pass ("validation @STEP: q0 BPP bpp PSNR dB | …", the
model's estimated bpp and PSNR on the held-back crops at every level). This compares every pass
in the given logs with the reference pass, by `bench/bd_rate.py`'s convention.

    python3 bench/validation_bd.py REFERENCE_LOG STEP LOG...
    python3 bench/validation_bd.py bench/results/mean-scale-s10-validation/scale-only.log 34205 \\
        bench/results/mean-scale-s10-validation/m3.log
"""
import re
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from bd_rate import mean_of_fit  # noqa: E402


def passes(path):
    for line in open(path):
        if line.startswith("validation @"):
            step = line.split()[1].strip("@:")
            points = re.findall(r"q\d+ ([\d.]+) bpp ([\d.]+) dB", line)
            yield step, [float(b) for b, _ in points], [float(p) for _, p in points]


def bd_rate(test, reference):
    (bpp, psnr), (ref_bpp, ref_psnr) = test, reference
    low, high = max(min(psnr), min(ref_psnr)), min(max(psnr), max(ref_psnr))
    delta = mean_of_fit(psnr, bpp, low, high) - mean_of_fit(ref_psnr, ref_bpp, low, high)
    return (10 ** delta - 1) * 100


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    reference = {step: (bpp, psnr) for step, bpp, psnr in passes(sys.argv[1])}
    if sys.argv[2] not in reference:
        sys.exit(f"no validation pass at step {sys.argv[2]} in {sys.argv[1]}")
    for path in sys.argv[3:]:
        for step, bpp, psnr in passes(path):
            print(f"{path} @{step}: {bd_rate((np.array(bpp), np.array(psnr)), reference[sys.argv[2]]):+.2f} %")


if __name__ == "__main__":
    main()
