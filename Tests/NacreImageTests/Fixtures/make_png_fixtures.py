#!/usr/bin/env python3
"""Makes the tiny PNG fixtures of NacreImageTests and the pixels they must decode to.

Run from anywhere: python3 make_png_fixtures.py  (needs pypng: pip install pypng)

Every colour type and bit depth PNG allows is written by pypng, a pure-Python encoder
independent of libpng, from seeded random samples at 7x5 pixels (odd sizes exercise row
padding of sub-byte depths and partial Adam7 passes). expected_pixels.json holds, per file,
its source format and the 8-bit RGB / alpha values a correct reader must return:
  n-bit gray level v -> v * 255 / (2^n - 1)    (1/2/4/8 bits, exact)
  16-bit sample v    -> round(v * 255 / 65535)  (i.e. round(v / 257))
  tRNS colour match  -> alpha 0, colour kept; no tRNS match -> alpha 255
Also writes a few hand-made damaged files (zlib + struct): a decompression bomb header,
impossible dimensions and a zlib stream that does not inflate, each with valid CRCs.
"""
import json
import os
import random
import struct
import zlib

import png  # pypng

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "png")
WIDTH, HEIGHT = 7, 5


def to8(value, depth):
    if depth == 16:
        return (value * 255 + 32767) // 65535
    return value * 255 // ((1 << depth) - 1)


def samples(rng, depth, channels):
    """Rows of random samples; the first pixel is all 0 and the last all max."""
    top = (1 << depth) - 1
    rows = []
    for y in range(HEIGHT):
        row = []
        for x in range(WIDTH):
            for _ in range(channels):
                if (x, y) == (0, 0):
                    row.append(0)
                elif (x, y) == (WIDTH - 1, HEIGHT - 1):
                    row.append(top)
                else:
                    row.append(rng.randint(0, top))
        rows.append(row)
    return rows


def direct_fixture(name, color_type, depth, interlace=False, transparent=None, gamma=None, seed=None):
    """Gray / gray+alpha / RGB / RGBA file. `transparent` makes a tRNS chunk, `gamma` a gAMA
    chunk (then the expected values are the raw samples, before any gamma conversion)."""
    rng = random.Random(seed or name)
    channels = {"gray": 1, "grayAlpha": 2, "rgb": 3, "rgba": 4}[color_type]
    rows = samples(rng, depth, channels)
    color = color_type in ("rgb", "rgba")
    has_alpha_channel = color_type in ("grayAlpha", "rgba")
    if transparent is not None:
        # Make sure some pixels match the tRNS colour.
        key = list(transparent) if color else [transparent]
        for x, y in ((1, 0), (3, 2), (5, 4)):
            rows[y][x * channels:(x + 1) * channels] = key
    writer = png.Writer(WIDTH, HEIGHT, greyscale=not color, alpha=has_alpha_channel,
                        bitdepth=depth, interlace=interlace, transparent=transparent, gamma=gamma)
    with open(os.path.join(OUT, name + ".png"), "wb") as f:
        writer.write(f, rows)

    rgb, alpha = [], []
    for row in rows:
        for x in range(WIDTH):
            pixel = row[x * channels:(x + 1) * channels]
            colour = pixel[:3] if color else [pixel[0]] * 3
            rgb += [to8(v, depth) for v in colour]
            if has_alpha_channel:
                alpha.append(to8(pixel[-1], depth))
            elif transparent is not None:
                key = list(transparent) if color else [transparent]
                alpha.append(0 if pixel[:len(key)] == key else 255)
    has_alpha = has_alpha_channel or transparent is not None
    return record(name, color_type, depth, interlace, has_alpha, rgb, alpha if has_alpha else None)


def palette_fixture(name, depth, transparent_entries, interlace=False):
    """Palette file with 2^depth entries (at most 256); the first `transparent_entries`
    entries carry alpha (tRNS), as PNG requires them to come first."""
    rng = random.Random(name)
    entries = 1 << depth
    palette = []
    for i in range(entries):
        rgb = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
        if i < transparent_entries:
            palette.append(rgb + ((0, 128, 255)[i % 3] if i < 3 else rng.randint(0, 255),))
        else:
            palette.append(rgb)
    rows = samples(rng, depth, 1)
    writer = png.Writer(WIDTH, HEIGHT, palette=palette, bitdepth=depth, interlace=interlace)
    with open(os.path.join(OUT, name + ".png"), "wb") as f:
        writer.write(f, rows)
    rgb, alpha = [], []
    for row in rows:
        for index in row:
            entry = palette[index]
            rgb += list(entry[:3])
            alpha.append(entry[3] if len(entry) == 4 else 255)
    has_alpha = transparent_entries > 0
    return record(name, "palette", depth, interlace, has_alpha, rgb, alpha if has_alpha else None)


def record(name, color_type, depth, interlace, has_alpha, rgb, alpha):
    return {
        "file": name + ".png",
        "width": WIDTH,
        "height": HEIGHT,
        "source": {"colorType": color_type, "bitDepth": depth,
                   "isInterlaced": interlace, "hasAlpha": has_alpha},
        "rgb": rgb,
        "alpha": alpha,
    }


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def handmade(name, width, height, idat, bit_depth=8, color_type=0):
    """A PNG with valid chunk CRCs around whatever header values and IDAT bytes are given."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    with open(os.path.join(OUT, name + ".png"), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    fixtures = []
    for depth in (1, 2, 4, 8, 16):
        fixtures.append(direct_fixture(f"gray{depth}", "gray", depth))
    fixtures.append(direct_fixture("gray4_trns", "gray", 4, transparent=5))
    fixtures.append(direct_fixture("gray8_trns", "gray", 8, transparent=77))
    fixtures.append(direct_fixture("gray16_trns", "gray", 16, transparent=4242))
    for depth in (8, 16):
        fixtures.append(direct_fixture(f"grayAlpha{depth}", "grayAlpha", depth))
        fixtures.append(direct_fixture(f"rgb{depth}", "rgb", depth))
        fixtures.append(direct_fixture(f"rgba{depth}", "rgba", depth))
    fixtures.append(direct_fixture("rgb8_trns", "rgb", 8, transparent=(10, 200, 30)))
    fixtures.append(direct_fixture("rgb16_trns", "rgb", 16, transparent=(1000, 20000, 65535)))
    for depth in (1, 2, 4, 8):
        fixtures.append(palette_fixture(f"palette{depth}", depth, 0))
        fixtures.append(palette_fixture(f"palette{depth}_trns", depth, min(3, 1 << depth)))
    # Adam7: a 7x5 image has pixels in every pass but the last column/row ones are partial.
    fixtures.append(direct_fixture("gray2_interlaced", "gray", 2, interlace=True))
    fixtures.append(direct_fixture("rgba8_interlaced", "rgba", 8, interlace=True))
    fixtures.append(direct_fixture("rgb16_interlaced", "rgb", 16, interlace=True))
    fixtures.append(palette_fixture("palette4_trns_interlaced", 4, 3, interlace=True))
    # 16-bit Adam7 takes a separate path in the reader (a libpng bug workaround).
    fixtures.append(direct_fixture("gray16_interlaced", "gray", 16, interlace=True))
    fixtures.append(direct_fixture("gray16_trns_interlaced", "gray", 16, interlace=True, transparent=4242))
    fixtures.append(direct_fixture("grayAlpha16_interlaced", "grayAlpha", 16, interlace=True))
    fixtures.append(direct_fixture("rgba16_interlaced", "rgba", 16, interlace=True))

    # Same samples as rgb8 / rgb16_interlaced, labelled linear (gAMA 1.0): the reader converts
    # the first to sRGB, and takes the second's samples as they are (documented exception).
    gamma_fixtures = [direct_fixture("rgb8_gamma1", "rgb", 8, gamma=1.0, seed="rgb8"),
                      direct_fixture("rgb16_interlaced_gamma1", "rgb", 16, interlace=True, gamma=1.0,
                                     seed="rgb16_interlaced")]
    with open(os.path.join(HERE, "expected_gamma.json"), "w") as f:
        json.dump({"generator": "make_png_fixtures.py", "fixtures": gamma_fixtures}, f, separators=(",", ":"))
        f.write("\n")

    with open(os.path.join(HERE, "expected_pixels.json"), "w") as f:
        json.dump({"generator": "make_png_fixtures.py (pypng %s)" % png.__version__,
                   "fixtures": fixtures}, f, separators=(",", ":"))
        f.write("\n")

    # Damaged files: every chunk CRC is right, so only the values are wrong.
    tiny = zlib.compress(b"\x00" * 64)
    handmade("bomb_60000x60000", 60000, 60000, tiny)           # 3.6 GP of gray from 100 bytes
    handmade("width_2pow31", 1 << 31, 1, tiny)                  # over the spec's 2^31-1 maximum
    handmade("width_zero", 0, 5, tiny)                          # no pixels at all
    handmade("bad_zlib", WIDTH, HEIGHT, b"\x78\x9c" + bytes(range(200, 240)))  # inflate fails
    print(f"wrote {len(fixtures)} decodable fixtures and 4 damaged ones to {OUT}")


if __name__ == "__main__":
    main()
