#!/usr/bin/env python3
"""Ingest throughput of the daemon while a re-training run works (issue 7: "measure the slowdown").

One daemon (release build, built-in base model unless --model, quality 50, encode threads
--threads, re-training threads 1 at nice 19). Steps:
  1. seed: spool --seed images and seal them, so the crop reservoir has training and held-back crops;
  2. baseline: spool --images images at once and time until the `seal` reply (claim, encode, append,
     seal, verify, index, originals deleted, reservoir offers);
  3. `nacre ctl retrain budget_minutes=--budget`; once `status` shows the trainer stepping, the
     same measurement with the run in progress (the run must still be training at the end;
     checked);
  4. wait for the run's verdict, then the baseline again (so a drift in the machine's load shows).
Each measured batch uses the same images under new names (same encode work). Prints one JSON line
and a Markdown row for BENCHMARKS.md.

Usage: bench/retrain_ingest.py [--images 150] [--seed 60] [--side 256] [--budget 4] [--threads 0]
       [--nacre .build/release/nacre] [--source ../shared/data/train/bsds500] [--work /tmp/nacre-retrain-bench]
"""
import argparse
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingest_throughput import make_crops, prepare_daemon, request, start_daemon  # noqa: E402


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    p = argparse.ArgumentParser()
    p.add_argument("--images", type=int, default=150)
    p.add_argument("--seed", type=int, default=60)
    p.add_argument("--side", type=int, default=256)
    p.add_argument("--budget", type=float, default=4, help="re-training budget in minutes")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--nacre", default=os.path.join(repo, ".build/release/nacre"))
    p.add_argument("--model", default=None)
    p.add_argument("--source", default=os.path.join(repo, "../shared/data/train/bsds500"))
    p.add_argument("--work", default="/tmp/nacre-retrain-bench")
    a = p.parse_args()

    crops = os.path.join(a.work, f"crops-{a.side}")
    names = make_crops(a.source, crops, a.seed + a.images, a.side)[: a.seed + a.images]
    seed_names, batch_names = names[: a.seed], names[a.seed:]
    d = os.path.join(a.work, "daemon")
    model = f"model: {os.path.abspath(a.model)}" if a.model else ""
    prepare_daemon(d, a.images + a.seed + 1, f"""encode: {{quality: 50, threads: {a.threads} {"," + model if model else ""}}}
retrain: {{schedule: "off", reservoir_crops: 4096, crop_side: {a.side}, holdout_percent: 10, threads: 1}}
log_level: info
""")
    daemon, sock = start_daemon(a.nacre, d)

    def status():
        return request(sock, "status", 30)["result"]

    def spool_and_seal(batch, prefix):
        for n in batch:
            os.link(os.path.join(crops, n), os.path.join(d, "staging", prefix + n))
        t0 = time.monotonic()
        for n in batch:
            os.rename(os.path.join(d, "staging", prefix + n), os.path.join(d, "inbox", prefix + n))
        while (status().get("open_batch") or {}).get("images") != len(batch):
            time.sleep(0.2)
        reply = request(sock, "seal")
        if not reply.get("ok"):
            sys.exit(f"seal failed: {reply}")
        return time.monotonic() - t0

    try:
        spool_and_seal(seed_names, "seed-")
        reservoir = status()["retrain"]["reservoir"]
        before = spool_and_seal(batch_names, "a-")

        reply = request(sock, "retrain", 60, args={"budget_minutes": a.budget})
        if not reply.get("ok") or not reply["result"].get("started"):
            sys.exit(f"retrain did not start: {reply}")
        run_id = reply["result"]["run"]["id"]
        while (status()["retrain"].get("step") or 0) < 1:
            time.sleep(0.5)
        step_start = status()["retrain"]["step"]
        during = spool_and_seal(batch_names, "b-")
        st = status()["retrain"]
        if st["state"] != "training":
            sys.exit(f"the run left training before the measurement ended ({st}); raise --budget")
        steps_during = st["step"] - step_start

        while True:
            last = status()["retrain"]["last_run"]
            if last and last["id"] == run_id and last["state"] in ("finished", "failed"):
                break
            time.sleep(2)
        after = spool_and_seal(batch_names, "c-")
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(300)

    n = len(batch_names)
    result = {
        "images": n, "side": a.side, "threads": a.threads, "budget_minutes": a.budget, "reservoir": reservoir,
        "before_seconds": round(before, 2), "during_seconds": round(during, 2), "after_seconds": round(after, 2),
        "before_images_per_second": round(n / before, 2), "during_images_per_second": round(n / during, 2),
        "after_images_per_second": round(n / after, 2),
        "slowdown_vs_mean_baseline": round(during / ((before + after) / 2) - 1, 3),
        "trainer_steps_during_measurement": steps_during, "run": last,
        "loadavg_at_end": os.getloadavg(),
    }
    print(json.dumps(result))
    print(f"| {n} × {a.side} px | {result['before_images_per_second']} / {result['after_images_per_second']} img/s | "
          f"{result['during_images_per_second']} img/s ({steps_during} trainer steps meanwhile) | "
          f"{100 * result['slowdown_vs_mean_baseline']:+.0f} % | {last['result'] or last['state']} |")


if __name__ == "__main__":
    main()
