#!/usr/bin/env python3
"""Reference PSNR and MS-SSIM values for NacreImageTests, from independent implementations.

Run from anywhere: python3 make_metric_reference.py
Needs: pip install pillow numpy scikit-image torch pytorch-msssim   (CPU torch from PyPI)

Takes top-left crops of three Kodak images (256x256, plus one odd-sized 251x173 crop that
exercises the zero-padded pooling of odd sizes), compresses each with Pillow's JPEG at two
qualities, decodes it back to RGB, and stores the crops and the decoded versions as PNGs in
metrics/. metric_reference.json records, per pair:
  psnr  skimage.metrics.peak_signal_noise_ratio(data_range=255)  (RGB, one MSE over all samples)
  mse   numpy mean of squared differences over all RGB samples
  msssim pytorch_msssim.ms_ssim(data_range=255) on float64 tensors (N=1, C=3, H, W), i.e. the
        per-channel MS-SSIM averaged over channels, as CompressAI reports it
  msssim_float32 the same on float32 tensors (how training code usually calls it), for scale
"""
import io
import json
import os

import numpy as np
import pytorch_msssim
import skimage
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio

HERE = os.path.dirname(os.path.abspath(__file__))
KODAK = os.path.normpath(os.path.join(HERE, "../../../../shared/data/kodak"))
if not os.path.isdir(KODAK):
    KODAK = "/work/shared/data/kodak"
OUT = os.path.join(HERE, "metrics")
CROPS = [("kodim01", 256, 256), ("kodim05", 256, 256), ("kodim23", 256, 256), ("kodim14", 251, 173)]
QUALITIES = (20, 60)


def ms_ssim(a, b, dtype):
    to_tensor = lambda x: torch.from_numpy(x.astype(np.float64)).permute(2, 0, 1).unsqueeze(0).to(dtype)
    return float(pytorch_msssim.ms_ssim(to_tensor(a), to_tensor(b), data_range=255, size_average=True))


def main():
    os.makedirs(OUT, exist_ok=True)
    pairs = []
    for name, width, height in CROPS:
        with Image.open(os.path.join(KODAK, name + ".png")) as image:
            crop = image.convert("RGB").crop((0, 0, width, height))
        base = f"{name}_{width}x{height}"
        crop.save(os.path.join(OUT, base + ".png"), optimize=True)
        original = np.asarray(crop)
        for quality in QUALITIES:
            buffer = io.BytesIO()
            crop.save(buffer, format="JPEG", quality=quality)
            buffer.seek(0)
            decoded_image = Image.open(buffer).convert("RGB")
            distorted_name = f"{base}_jpeg{quality}.png"
            decoded_image.save(os.path.join(OUT, distorted_name), optimize=True)
            decoded = np.asarray(decoded_image)
            difference = original.astype(np.float64) - decoded.astype(np.float64)
            pairs.append({
                "reference": "metrics/" + base + ".png",
                "distorted": "metrics/" + distorted_name,
                "jpegQuality": quality,
                "psnr": float(peak_signal_noise_ratio(original, decoded, data_range=255)),
                "mse": float(np.mean(difference ** 2)),
                "msssim": ms_ssim(original, decoded, torch.float64),
                "msssim_float32": ms_ssim(original, decoded, torch.float32),
            })
    with open(os.path.join(HERE, "metric_reference.json"), "w") as f:
        json.dump({
            "generator": "make_metric_reference.py",
            "libraries": {"scikit-image": skimage.__version__, "pytorch_msssim": getattr(pytorch_msssim, "__version__", "1.0.0"),
                          "torch": torch.__version__, "pillow": Image.__version__ if hasattr(Image, "__version__") else "",
                          "numpy": np.__version__},
            "pairs": pairs,
        }, f, indent=1)
        f.write("\n")
    for pair in pairs:
        print(f'{pair["distorted"]}: PSNR {pair["psnr"]:.4f} dB, MS-SSIM {pair["msssim"]:.6f} '
              f'(float32 {pair["msssim_float32"]:.6f})')


if __name__ == "__main__":
    main()
