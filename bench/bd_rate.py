#!/usr/bin/env python3
"""BD-rate of one R-D curve against another (the JSON that `nacre bench rd --json` writes).

Same convention as `BjontegaardDelta` in the codec: log10(bpp) fitted as a cubic in PSNR over
each curve's points, both fits averaged over the PSNR range the curves share.

    python3 bench/bd_rate.py TEST.json REFERENCE.json
"""
import json
import sys

import numpy as np


def mean_of_fit(psnr, bpp, low, high):
    antiderivative = np.polyint(np.polyfit(psnr, np.log10(bpp), 3))
    return (np.polyval(antiderivative, high) - np.polyval(antiderivative, low)) / (high - low)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    test, reference = (json.load(open(path)) for path in sys.argv[1:3])
    low = max(min(test["psnr"]), min(reference["psnr"]))
    high = min(max(test["psnr"]), max(reference["psnr"]))
    if high <= low:
        sys.exit("the curves share no PSNR range; measure more qualities")
    delta = mean_of_fit(test["psnr"], test["bpp"], low, high) - mean_of_fit(reference["psnr"], reference["bpp"], low, high)
    print(f"BD-rate of {sys.argv[1]} against {sys.argv[2]}: {(10 ** delta - 1) * 100:+.2f} % over {low:.3f}..{high:.3f} dB")


if __name__ == "__main__":
    main()
