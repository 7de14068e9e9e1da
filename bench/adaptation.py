#!/usr/bin/env python3
"""Per-collection adaptation (issue 7): gain against extra encode time and decoder bytes, per
batch size.

For each batch (Kodak's 24 images; the first 100 and 500 BSDS500 images as PNG), packs the batch
twice with the same model and quality: plainly, and with `--adapt-seconds S` (the decoder
fine-tuned on up to `--adapt-images` of the batch's images, then stored in the archive instead
of the base decoder; bitstreams are the same). Reports mean PSNR, archive bytes (latents plus
decoder) and wall time of both. Neither archive carries a denoiser (`--no-denoiser`, where the
build has that flag), so only the decoder differs.

BSDS500 is part of the base model's training data, so the 100/500 batches understate what a new
collection gains; Kodak is never trained on.

Usage: bench/adaptation.py [--seconds 120] [--quality 55] [--sizes 24,100,500] [--json OUT]
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingest_throughput import make_crops  # noqa: E402


def batch_folder(work, size, kodak, bsds):
    if size == 24:
        return kodak
    folder = os.path.join(work, f"batch-{size}")
    make_crops(bsds, folder, size, 0)  # the first `size` photos, whole, as PNG
    return folder


def pack(nacre, folder, out, quality, seconds, images, no_denoiser):
    if os.path.exists(out):
        os.remove(out)
    args = [nacre, "pack", "--quality", str(quality), "--json", "-o", out, folder]
    if no_denoiser:
        args.insert(2, "--no-denoiser")
    if seconds > 0:
        args[2:2] = ["--adapt-seconds", str(seconds), "--adapt-images", str(images)]
    t0 = time.monotonic()
    run = subprocess.run(args, check=True, capture_output=True, text=True)
    wall = time.monotonic() - t0
    report = json.loads(run.stdout)
    return {
        "seconds": round(wall, 1),
        "mean_psnr": round(report["meanPSNR"], 4),
        "archive_bytes": os.path.getsize(out),
        "stderr": run.stderr.strip().splitlines()[-1:] if run.stderr.strip() else [],
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--quality", type=int, default=55)
    p.add_argument("--adapt-images", type=int, default=64)
    p.add_argument("--sizes", default="24,100,500")
    p.add_argument("--nacre", default=os.path.join(repo, ".build/release/nacre"))
    p.add_argument("--kodak", default=os.path.join(repo, "../shared/data/kodak"))
    p.add_argument("--bsds", default=os.path.join(repo, "../shared/data/train/bsds500"))
    p.add_argument("--work", default="/tmp/nacre-adaptation-bench")
    p.add_argument("--json")
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    help_text = subprocess.run([a.nacre, "pack", "--help"], capture_output=True, text=True).stdout
    no_denoiser = "--no-denoiser" in help_text
    rows = []
    for size in [int(s) for s in a.sizes.split(",")]:
        folder = batch_folder(a.work, size, a.kodak, a.bsds)
        plain = pack(a.nacre, folder, os.path.join(a.work, f"plain-{size}.nacre"), a.quality, 0, a.adapt_images, no_denoiser)
        adapted = pack(a.nacre, folder, os.path.join(a.work, f"adapted-{size}.nacre"), a.quality, a.seconds, a.adapt_images, no_denoiser)
        row = {"images": size, "quality": a.quality, "adapt_seconds": a.seconds, "adapt_images": min(a.adapt_images, size),
               "plain": plain, "adapted": adapted,
               "psnr_gain_db": round(adapted["mean_psnr"] - plain["mean_psnr"], 4),
               "extra_bytes": adapted["archive_bytes"] - plain["archive_bytes"],
               "extra_seconds": round(adapted["seconds"] - plain["seconds"], 1)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("| images | plain PSNR | adapted PSNR | gain | archive bytes plain → adapted | pack time plain → adapted |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['images']} | {r['plain']['mean_psnr']:.3f} dB | {r['adapted']['mean_psnr']:.3f} dB | **{r['psnr_gain_db']:+.3f} dB** | "
              f"{r['plain']['archive_bytes']:,} → {r['adapted']['archive_bytes']:,} ({r['extra_bytes']:+,}) | "
              f"{r['plain']['seconds']} s → {r['adapted']['seconds']} s |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
