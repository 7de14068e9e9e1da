#!/usr/bin/env python3
"""PyTorch peer for `nacre bench engine`: times the same workload with CompressAI's
ScaleHyperprior(64, 96) on 2 threads and prints one JSON line.

  training step: forward + rate-distortion loss + backward + Adam (main and aux optimizers),
                 batch 8 of 256x256 crops
  inference:     g_s only, latent 1x96x32x48 (a 768x512 image), no_grad
  peak RSS:      ru_maxrss of this process
  CPU time:      process CPU seconds per training step (robust to other load on the machine
                 when OMP_WAIT_POLICY=passive, which `nacre bench engine` sets for both)

Needs `pip install torch compressai` (PyPI). Benchmark script only, never part of the product.
"""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn.functional as F
from compressai.models import ScaleHyperprior


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--infer-runs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = ScaleHyperprior(64, 96)
    main_params = [p for n, p in net.named_parameters() if not n.endswith(".quantiles")]
    aux_params = [p for n, p in net.named_parameters() if n.endswith(".quantiles")]
    opt = torch.optim.Adam(main_params, lr=1e-4)
    aux_opt = torch.optim.Adam(aux_params, lr=1e-3)
    lmbda = 0.013
    x = torch.rand(8, 3, 256, 256)
    num_pixels = 8 * 256 * 256

    def train_step():
        opt.zero_grad()
        aux_opt.zero_grad()
        out = net(x)
        bpp = sum(torch.log(l).sum() / (-math.log(2) * num_pixels) for l in out["likelihoods"].values())
        mse = F.mse_loss(out["x_hat"], x)
        loss = lmbda * 255 ** 2 * mse + bpp
        loss.backward()
        torch.nn.utils.clip_grad_norm_(main_params, 1.0)
        opt.step()
        aux = net.aux_loss()
        aux.backward()
        aux_opt.step()

    net.train()
    for _ in range(args.warmup):
        train_step()
    times = []
    cpu0 = time.process_time()
    for _ in range(args.steps):
        t = time.perf_counter()
        train_step()
        times.append(time.perf_counter() - t)
    cpu_per_step = (time.process_time() - cpu0) / args.steps

    net.eval()
    y = torch.randn(1, 96, 32, 48)
    infer = []
    with torch.no_grad():
        for _ in range(2):
            net.g_s(y)
        for _ in range(args.infer_runs):
            t = time.perf_counter()
            net.g_s(y)
            infer.append(time.perf_counter() - t)

    print(json.dumps({
        "peer": "pytorch-compressai",
        "torch": torch.__version__,
        "threads": args.threads,
        "train_step_s_median": statistics.median(times),
        "train_step_s_min": min(times),
        "train_step_cpu_s": cpu_per_step,
        "infer_s_median": statistics.median(infer),
        "infer_s_min": min(infer),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
