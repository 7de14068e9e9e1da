#!/usr/bin/env python3
"""Re-training from the shipped model on new photos (issue 7: "200 new photos, 30-minute budget").

One daemon (release build, built-in base model, quality 50) ingests every PNG of --photos in one
batch; its crop reservoir keeps one 256-px crop per image and holds back --holdout percent of the
images (by source SHA-256) for the gate. Then `nacre ctl retrain budget_minutes=--budget` runs the
daemon's own re-training (fine-tune, int8 export, gate on the held-back crops), and the script
waits for the verdict. While the run is gating, it copies the challenger (and its denoiser, and
the children's log) out of the run's folder (a rejected challenger is deleted with the folder), and
with --kodak it also judges that challenger against the built-in model on Kodak, which neither
model trained on (`nacre gate --data kodak`: BD-rate over 5 qualities), with each model's denoiser
and without.

Prints one JSON line and a Markdown row for BENCHMARKS.md.

Usage: bench/retrain_new_photos.py --photos DIR [--budget 30] [--holdout 20] [--threads 2]
       [--kodak ../shared/data/kodak] [--nacre .build/release/nacre] [--work /tmp/nacre-retrain-new]
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingest_throughput import prepare_daemon, request, start_daemon  # noqa: E402


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    p = argparse.ArgumentParser()
    p.add_argument("--photos", required=True, help="folder of new PNG photos (never trained on)")
    p.add_argument("--budget", type=float, default=30, help="re-training budget in minutes")
    p.add_argument("--holdout", type=int, default=20, help="percent of images whose crops the gate judges on")
    p.add_argument("--threads", type=int, default=2, help="re-training threads")
    p.add_argument("--kodak", default=os.path.join(repo, "../shared/data/kodak"), help="'' to skip the Kodak gate")
    p.add_argument("--nacre", default=os.path.join(repo, ".build/release/nacre"))
    p.add_argument("--work", default="/tmp/nacre-retrain-new")
    a = p.parse_args()

    names = sorted(n for n in os.listdir(a.photos) if n.lower().endswith(".png"))
    if not names:
        sys.exit(f"no PNG in {a.photos}")
    d = os.path.join(a.work, "daemon")
    shutil.rmtree(a.work, ignore_errors=True)
    prepare_daemon(d, len(names) + 1, f"""encode: {{quality: 50, threads: 0}}
retrain: {{schedule: "off", budget_minutes: {a.budget}, reservoir_crops: 4096, crop_side: 256, holdout_percent: {a.holdout}, threads: {a.threads}}}
log_level: info
""")
    for n in names:
        shutil.copyfile(os.path.join(a.photos, n), os.path.join(d, "staging", n))
    daemon, sock = start_daemon(a.nacre, d)

    def status():
        return request(sock, "status", 30)["result"]

    challenger = os.path.join(a.work, "challenger.nxcm")
    challenger_denoiser = os.path.join(a.work, "challenger.nxdn")
    try:
        t0 = time.monotonic()
        for n in names:
            os.rename(os.path.join(d, "staging", n), os.path.join(d, "inbox", n))
        def quarantined():
            return sum(1 for n in os.listdir(os.path.join(d, "quarantine")) if not n.endswith(".reason"))
        while (status().get("open_batch") or {}).get("images", 0) + quarantined() < len(names):
            time.sleep(0.5)
        reply = request(sock, "seal")
        if not reply.get("ok"):
            sys.exit(f"seal failed: {reply}")
        ingest_s = time.monotonic() - t0
        reservoir = status()["retrain"]["reservoir"]
        print(f"ingested {len(names)} images in {ingest_s:.1f} s; reservoir {reservoir}", file=sys.stderr)

        reply = request(sock, "retrain", 60, args={"budget_minutes": a.budget})
        if not reply.get("ok") or not reply["result"].get("started"):
            sys.exit(f"retrain did not start: {reply}")
        run_id = reply["result"]["run"]["id"]
        run_folder = os.path.join(d, "state", "retrain", f"run-{run_id}")
        t1 = time.monotonic()
        last_print = 0
        while True:
            st = status()["retrain"]
            if st["state"] == "gating" and not os.path.exists(challenger):
                for name in ("challenger.nxdn", "children.log", "challenger.nxcm"):
                    try:
                        shutil.copyfile(os.path.join(run_folder, name), os.path.join(a.work, name))
                    except OSError as error:
                        print(f"could not copy {name}: {error}", file=sys.stderr)
            last = st.get("last_run")
            if last and last["id"] == run_id and last["state"] in ("finished", "failed"):
                break
            if time.monotonic() - last_print > 60:
                last_print = time.monotonic()
                print(f"{(time.monotonic() - t1) / 60:.1f} min: {st['state']} step {st.get('step')}", file=sys.stderr)
            time.sleep(1)
        run_s = time.monotonic() - t1
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(300)

    def kodak_gate(extra):
        base = os.path.join(os.path.dirname(os.path.abspath(a.nacre)), "Nacre_NacreStore.resources", "base.nxcm")
        out = subprocess.run([a.nacre, "gate", "--champion", base, "--challenger", challenger, "--data", a.kodak, "--json"] + extra,
                             capture_output=True, text=True)
        try:
            return json.loads(out.stdout)
        except ValueError:
            return {"error": out.stderr[-500:]}

    kodak = kodak_denoised = None
    if a.kodak and os.path.exists(challenger):
        kodak = kodak_gate([])
        if os.path.exists(challenger_denoiser):
            base_denoiser = os.path.join(os.path.dirname(os.path.abspath(a.nacre)), "Nacre_NacreStore.resources", "base.nxdn")
            kodak_denoised = kodak_gate(["--champion-denoiser", base_denoiser, "--challenger-denoiser", challenger_denoiser])

    result = {
        "images": len(names), "photos": os.path.abspath(a.photos), "budget_minutes": a.budget, "holdout_percent": a.holdout,
        "retrain_threads": a.threads, "ingest_seconds": round(ingest_s, 1), "reservoir": reservoir,
        "run_seconds": round(run_s, 1), "run": last, "quarantined": quarantined(),
        "kodak_gate": {k: v for k, v in kodak.items() if k not in ("champion", "challenger")} if kodak else None,
        "kodak_gate_denoised": kodak_denoised,
    }
    print(json.dumps(result))
    print(f"| {len(names)} new photos | {reservoir['training']} / {reservoir['held_back']} crops | {a.budget:g} min | "
          f"{last.get('steps')} steps | {last.get('result') or last['state']} | "
          f"{(kodak or {}).get('bd_rate_percent', 'n/a')} | {(kodak_denoised or {}).get('bd_rate_percent', 'n/a')} |")


if __name__ == "__main__":
    main()
