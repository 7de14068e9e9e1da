"""Writes photo-crop-64.rgb: a 64x64 crop of /work/shared/data/photos/001.png as raw 8-bit RGB
(row-major, 12,288 bytes), the real-photo fixture of the engine's end-to-end training test.
Run: python3 Tests/NacreEngineTests/Fixtures/make_photo_crop.py"""
import os
from PIL import Image

src = os.environ.get("NACRE_PHOTO", "/work/shared/data/photos/001.png")
img = Image.open(src).convert("RGB")
w, h = img.size
left, top = w // 2 - 32, h // 2 - 32
crop = img.crop((left, top, left + 64, top + 64))
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "photo-crop-64.rgb")
with open(out, "wb") as f:
    f.write(crop.tobytes())
print(out, crop.size, len(crop.tobytes()))
