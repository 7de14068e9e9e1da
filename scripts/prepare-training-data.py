#!/usr/bin/env python3
"""Build the extra training set from Debian's wallpaper packages (development tool, not product).

The packages ship JPEG photos, several sizes of each. This keeps the largest JPEG of each
wallpaper, skips screenshots and tiny files, downscales 2-4x (which also hides JPEG artefacts,
so the codec does not learn to spend bits on them) and writes 8-bit RGB PNGs.

    apt-get install -y --no-install-recommends lomiri-wallpapers-16.04 \
        plasma-workspace-wallpapers mate-backgrounds lxqt-themes
    python3 scripts/prepare-training-data.py --out var/data/debian
    python3 scripts/prepare-training-data.py --bsds ../shared/data/train/bsds500 --out var/data/bsds500

With --bsds it instead converts BSDS500's JPEGs (quality 95) to PNG at full size (Nacre reads PNG
only); 481×321 is already small, so they are not downscaled.
"""
import argparse
import math
import os
import subprocess
import sys

PACKAGES = ["lomiri-wallpapers-16.04", "plasma-workspace-wallpapers", "mate-backgrounds", "lxqt-themes"]
MIN_SHORT_SIDE_AFTER = 480


def package_jpegs():
    out = subprocess.run(["dpkg", "-L", *PACKAGES], capture_output=True, text=True, check=True).stdout
    return [p for p in out.split("\n") if p.lower().endswith((".jpg", ".jpeg")) and "screenshot" not in p.lower()]


def group_key(path):
    # Plasma ships one folder per wallpaper with many resolutions of the same photo.
    parts = path.split("/")
    if "wallpapers" in parts and "contents" in parts:
        return "/".join(parts[: parts.index("contents")])
    return path


def main():
    from PIL import Image

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="var/data/debian")
    ap.add_argument("--bsds", help="convert this folder of JPEGs to PNG instead")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.bsds:
        names = sorted(n for n in os.listdir(args.bsds) if n.lower().endswith((".jpg", ".jpeg")))
        for name in names:
            with Image.open(os.path.join(args.bsds, name)) as im:
                im.convert("RGB").save(os.path.join(args.out, os.path.splitext(name)[0] + ".png"))
        print(f"converted {len(names)} images to {args.out}")
        return

    best = {}
    for path in package_jpegs():
        if not os.path.isfile(path):
            continue
        with Image.open(path) as im:
            area = im.size[0] * im.size[1]
        key = group_key(path)
        if key not in best or area > best[key][0]:
            best[key] = (area, path)

    written = 0
    for key, (_, path) in sorted(best.items()):
        with Image.open(path) as im:
            im = im.convert("RGB")
            long_side = max(im.size)
            factor = min(4, max(2, round(long_side / 1280)))
            size = (im.size[0] // factor, im.size[1] // factor)
            if min(size) < MIN_SHORT_SIDE_AFTER:
                continue
            small = im.resize(size, Image.LANCZOS)
        name = key.strip("/").replace("/", "_").replace(" ", "_")
        name = os.path.splitext(name)[0] + ".png"
        small.save(os.path.join(args.out, name), optimize=False)
        written += 1
        print(f"{written:3d} {size[0]}x{size[1]} /{factor} {path}", file=sys.stderr)
    print(f"wrote {written} images to {args.out}")


if __name__ == "__main__":
    main()
