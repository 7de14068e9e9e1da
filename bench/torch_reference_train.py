#!/usr/bin/env python3
"""Reference training run: CompressAI's scale hyperprior, trained here on the same data.

A diagnostic for `nacre train`: train the same architecture (N, M) at one λ for the same number
of steps, crop and batch, then measure it on a test folder with the model's own rate estimate
(rounded latents) and 8-bit PSNR. Compare with a `nacre train --levels 1` run measured by
`nacre bench rd` on the same folder. A large gap at equal steps points at the trainer, not at
the amount of training.

    python3 bench/torch_reference_train.py --data ../shared/data/photos … --steps 3000 \
        --crop 128 --batch 8 --lambda 0.013 --test ../shared/data/kodak --threads 1

CompressAI is used as an outside reference only; none of its code is part of Nacre.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
from PIL import Image


def load_images(folders, minimum_side):
    images = []
    for folder in folders:
        for root, _, files in os.walk(folder):
            for name in sorted(files):
                if not name.lower().endswith(".png"):
                    continue
                with Image.open(os.path.join(root, name)) as image:
                    array = np.asarray(image.convert("RGB"))
                if min(array.shape[:2]) >= minimum_side:
                    images.append(array)
    return images


def random_batch(images, crop, batch, rng):
    out = np.empty((batch, crop, crop, 3), dtype=np.uint8)
    for i in range(batch):
        image = images[rng.randrange(len(images))]
        top = rng.randrange(image.shape[0] - crop + 1)
        left = rng.randrange(image.shape[1] - crop + 1)
        patch = image[top:top + crop, left:left + crop]
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        out[i] = patch
    return torch.from_numpy(out).permute(0, 3, 1, 2).float().div(255)


def evaluate(model, folder):
    model.eval()
    bits = pixels = 0.0
    psnrs = []
    with torch.no_grad():
        for name in sorted(os.listdir(folder)):
            if not name.lower().endswith(".png"):
                continue
            with Image.open(os.path.join(folder, name)) as image:
                array = np.asarray(image.convert("RGB"))
            h, w = (array.shape[0] // 64) * 64, (array.shape[1] // 64) * 64
            x = torch.from_numpy(array[:h, :w].copy()).permute(2, 0, 1)[None].float().div(255)
            out = model(x)
            image_bits = sum(float(-torch.log2(l).sum()) for l in out["likelihoods"].values())
            bits += image_bits
            pixels += h * w
            x_hat = out["x_hat"].clamp(0, 1).mul(255).round()
            mse = float(((x_hat - x.mul(255)) ** 2).mean())
            psnrs.append(10 * math.log10(255 * 255 / mse))
    model.train()
    return bits / pixels, sum(psnrs) / len(psnrs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--data", nargs="+", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lambda", dest="lmbda", type=float, default=0.013)
    parser.add_argument("-N", type=int, default=64)
    parser.add_argument("-M", type=int, default=192)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--clip", type=float, default=5.0)
    parser.add_argument("--evaluate-every", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="write the evaluations here")
    args = parser.parse_args()

    from compressai.models import ScaleHyperprior

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    images = load_images(args.data, args.crop)
    print(f"{len(images)} training images", file=sys.stderr)
    model = ScaleHyperprior(args.N, args.M)
    main_parameters = [p for n, p in model.named_parameters() if not n.endswith(".quantiles")]
    aux_parameters = [p for n, p in model.named_parameters() if n.endswith(".quantiles")]
    optimizer = torch.optim.Adam(main_parameters, lr=args.lr)
    aux_optimizer = torch.optim.Adam(aux_parameters, lr=1e-3)
    evaluations = []
    start = time.time()
    for step in range(1, args.steps + 1):
        x = random_batch(images, args.crop, args.batch, rng)
        out = model(x)
        pixels = x.shape[0] * x.shape[2] * x.shape[3]
        bpp = sum(-torch.log2(l).sum() for l in out["likelihoods"].values()) / pixels
        mse = torch.mean((out["x_hat"] - x) ** 2) * 255 * 255
        loss = bpp + args.lmbda * mse
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(main_parameters, args.clip)
        optimizer.step()
        aux_optimizer.zero_grad()
        model.aux_loss().backward()
        aux_optimizer.step()
        if step % 100 == 0:
            print(f"step {step}  {step / (time.time() - start):.2f} steps/s  loss {float(loss):.4f}  "
                  f"bpp {float(bpp):.3f}  PSNR {10 * math.log10(255 * 255 / float(mse)):.2f}", file=sys.stderr)
        if step % args.evaluate_every == 0 or step == args.steps:
            model.update(force=True)
            test_bpp, test_psnr = evaluate(model, args.test)
            evaluations.append({"step": step, "bpp": test_bpp, "psnr": test_psnr})
            print(f"evaluation at step {step}: {test_bpp:.4f} bpp, {test_psnr:.3f} dB", file=sys.stderr)
            if args.json:
                with open(args.json, "w") as f:
                    json.dump({"settings": vars(args), "evaluations": evaluations}, f, indent=1)


if __name__ == "__main__":
    main()
