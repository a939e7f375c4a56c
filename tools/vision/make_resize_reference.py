#!/usr/bin/python3
"""Reference outputs of OpenCV's INTER_CUBIC resize (and of mistral-common's whole image transform) for
test/vision/resize-parity.test.ts.

Run with Debian's packages (apt-get install -y python3-opencv python3-pil):

    /usr/bin/python3 tools/vision/make_resize_reference.py

Writes test/vision/data/resize-reference.json (the cases) and resize-reference.f32 (float32 little-endian
outputs, concatenated). Inputs are not stored: they are made by a 32-bit integer hash that
test/vision/reference-data.ts computes identically, so the data stays small. Large cases store a sample of
output values at hashed positions instead of the whole output.

It also writes test/vision/data/grid-reference.json: mistral-common's size rule evaluated with Python's own
round() on a sweep of sizes (random, extreme aspect ratios, and sizes whose scaled side lands exactly on .5,
where banker's rounding differs from rounding half up), as [w, h, cols, rows] rows; cols = rows = 0 marks a size
mistral-common would reject (a side rounds to 0).

And it writes test/vision/data/pipeline/*: a few small encoded images (PNG RGBA / LA / palette with
transparency / grey, GIF, JPEG) with the float32 result of mistral-common's transform before normalisation:
`cv2.resize(np.array(_convert_to_rgb(img), np.float32), new_size, interpolation=cv2.INTER_CUBIC)`.
"""
import io
import json
import os
import sys

import cv2
import numpy as np
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "test", "vision", "data")
M32 = 0xFFFFFFFF
SAMPLES = 4096  # output values kept for a sampled case


def hash32(idx: np.ndarray, seed: int) -> np.ndarray:
    """A 32-bit integer mix (lowbias32-style). Mirrored in reference-data.ts; uint64 arithmetic masked to 32 bits."""
    v = (idx.astype(np.uint64) * np.uint64(2654435761) + np.uint64((seed * 0x9E3779B9 + 1) & M32)) & np.uint64(M32)
    v ^= v >> np.uint64(16)
    v = (v * np.uint64(0x7FEB352D)) & np.uint64(M32)
    v ^= v >> np.uint64(15)
    v = (v * np.uint64(0x846CA68B)) & np.uint64(M32)
    v ^= v >> np.uint64(16)
    return v


def make_input(w: int, h: int, kind: str, seed: int) -> np.ndarray:
    """uint8 HxWx3. noise: hashed bytes; ramp: integer gradients; checker: hard edges (worst overshoot)."""
    if kind == "noise":
        return (hash32(np.arange(w * h * 3), seed) >> np.uint64(24)).astype(np.uint8).reshape(h, w, 3)
    y, x = np.mgrid[0:h, 0:w]
    if kind == "ramp":
        r = (x * 255) // max(w - 1, 1)
        g = (y * 255) // max(h - 1, 1)
        b = ((x + y) * 255) // max(w + h - 2, 1)
        return np.stack([r, g, b], axis=-1).astype(np.uint8)
    if kind == "checker":
        v = ((x // 3 + y // 2) % 2) * 255
        return np.stack([v, 255 - v, (v // 2)], axis=-1).astype(np.uint8)
    raise ValueError(kind)


def py_round(x: float) -> int:
    return round(x)  # banker's rounding, exactly what mistral-common calls


def mistral_size(w: int, h: int, max_size: int = 1540, cell: int = 28):
    ratio = max(h / max_size, w / max_size)
    if ratio > 1:
        w = py_round(w / ratio)
        h = py_round(h / ratio)
    return ((w - 1) // cell + 1) * cell, ((h - 1) // cell + 1) * cell


def cases():
    out = []
    seed = 1
    # 1. Arbitrary (not multiple-of-28) targets: the resampler alone, both directions, odd ratios, 1-pixel edges.
    generic = [(1, 1, 3, 2), (2, 1, 5, 7), (3, 3, 1, 1), (4, 4, 2, 2), (5, 3, 17, 4), (7, 9, 3, 4), (10, 10, 7, 13),
               (13, 5, 26, 10), (16, 16, 8, 8), (16, 16, 5, 5), (17, 11, 51, 33), (29, 31, 28, 28), (40, 10, 13, 47),
               (64, 48, 21, 16), (97, 61, 30, 19), (100, 100, 33, 33), (120, 90, 119, 91), (200, 3, 40, 9),
               (3, 200, 9, 40), (255, 128, 64, 32)]
    for (sw, sh, dw, dh) in generic:
        for kind in ("noise", "checker"):
            out.append(dict(src=[sw, sh], dst=[dw, dh], kind=kind, seed=seed, mode="full"))
            seed += 1
    # 2. The mistral-common rule on small images (upscaling to the next multiple of 28), full outputs.
    for (sw, sh) in [(1, 1), (4, 4), (27, 27), (28, 28), (29, 28), (55, 57), (56, 84), (100, 30), (83, 41), (111, 113)]:
        dw, dh = mistral_size(sw, sh)
        out.append(dict(src=[sw, sh], dst=[dw, dh], kind="noise", seed=seed, mode="full"))
        seed += 1
    # 3. Downscaling to small targets (big ratios: OpenCV keeps 4 taps, no antialiasing).
    for (sw, sh, dw, dh) in [(300, 200, 56, 28), (500, 97, 84, 28), (640, 480, 112, 84), (1000, 30, 112, 28)]:
        for kind in ("noise", "ramp"):
            out.append(dict(src=[sw, sh], dst=[dw, dh], kind=kind, seed=seed, mode="full"))
            seed += 1
    # 4. Realistic photos through the mistral-common rule (model-spec §4.4 examples and a rounding edge case):
    #    too big to store whole, so a hashed sample of output values.
    for (sw, sh, kind) in [(1000, 750, "noise"), (1920, 1080, "ramp"), (4032, 3024, "noise"), (1541, 421, "noise"),
                           (3000, 200, "checker"), (800, 1600, "noise"), (1540, 1540, "ramp")]:
        dw, dh = mistral_size(sw, sh)
        out.append(dict(src=[sw, sh], dst=[dw, dh], kind=kind, seed=seed, mode="sampled"))
        seed += 1
    return out


def sample_positions(n_values: int, seed: int) -> np.ndarray:
    return (hash32(np.arange(SAMPLES), seed ^ 0x5BD1E995) % np.uint64(n_values)).astype(np.int64)


def convert_to_rgb(img: Image.Image) -> Image.Image:
    """mistral-common's _convert_to_rgb (image.py): non-RGB goes through RGBA and is pasted onto white."""
    if img.mode == "RGB":
        return img
    if img.mode != "RGBA":
        img = img.convert("RGBA")
    bg = Image.new("RGBA", img.size, "WHITE")
    bg.paste(img, (0, 0), img)
    return bg.convert("RGB")


def pipeline_cases():
    """Small encoded images covering each alpha/palette path, and mistral-common's float32 result."""
    rng_img = make_input(37, 23, "noise", 901)
    alpha = (hash32(np.arange(37 * 23), 902) >> np.uint64(24)).astype(np.uint8).reshape(23, 37)
    alpha[0, :8] = 0  # fully transparent and fully opaque runs too
    alpha[1, :8] = 255
    rgba = Image.fromarray(np.dstack([rng_img, alpha]), "RGBA")
    grey = Image.fromarray(rng_img[:, :, 0], "L")
    la = Image.fromarray(np.dstack([rng_img[:, :, 0], alpha]), "LA")
    pal = Image.fromarray(rng_img).quantize(16)
    pal.info["transparency"] = 3  # palette entry 3 fully transparent
    out = []
    for name, img, fmt in [("rgba.png", rgba, "PNG"), ("grey.png", grey, "PNG"), ("la.png", la, "PNG"),
                           ("palette-trns.png", pal, "PNG"), ("rgb.gif", Image.fromarray(rng_img).quantize(64), "GIF"),
                           ("rgb.jpg", Image.fromarray(rng_img), "JPEG"), ("rgb.png", Image.fromarray(rng_img), "PNG")]:
        buf = io.BytesIO()
        kw = {"quality": 90} if fmt == "JPEG" else {}
        if name == "palette-trns.png":
            kw["transparency"] = 3
        img.save(buf, fmt, **kw)
        data = buf.getvalue()
        decoded = Image.open(io.BytesIO(data))  # as mistral-common does: from the bytes
        w, h = decoded.size
        nw, nh = mistral_size(w, h)
        res = cv2.resize(np.array(convert_to_rgb(decoded), dtype=np.float32), (nw, nh), interpolation=cv2.INTER_CUBIC)
        out.append((name, data, dict(name=name, mode=decoded.mode, src=[w, h], dst=[nw, nh]), res))
    return out


def grid_sweep():
    rows = []
    sizes = [(1000, 750), (1920, 1080), (4032, 3024), (100, 30), (1541, 421), (4, 4), (1, 1), (28, 28), (29, 29),
             (1540, 1540), (1541, 1541), (1540, 1), (1, 1540), (40000, 10), (20000, 10), (3080, 1541), (3080, 1543),
             (3080, 57), (4620, 2311), (6160, 3082), (1541, 770), (7700, 4003)]
    # halves: w = 2·1540 makes ratio exactly 2, so an odd h lands on .5
    sizes += [(3080, h) for h in range(1, 3080, 97) if h % 2 == 1]
    r = np.random.default_rng(7)
    sizes += [(int(a), int(b)) for a, b in r.integers(1, 8001, size=(1500, 2))]
    sizes += [(int(a), int(b)) for a, b in r.integers(1, 200, size=(300, 2))]
    for w, h in sizes:
        ratio = max(h / 1540, w / 1540)
        ww, hh = (py_round(w / ratio), py_round(h / ratio)) if ratio > 1 else (w, h)
        cols, rs = (ww - 1) // 28 + 1, (hh - 1) // 28 + 1
        rows.append([w, h, cols, rs] if cols > 0 and rs > 0 else [w, h, 0, 0])
    return rows


def main():
    os.makedirs(os.path.join(OUT, "pipeline"), exist_ok=True)
    manifest = {"opencv": cv2.__version__, "pillow": Image.__version__, "samples": SAMPLES, "cases": []}
    blobs = []
    offset = 0
    for c in cases():
        (sw, sh), (dw, dh) = c["src"], c["dst"]
        src = make_input(sw, sh, c["kind"], c["seed"]).astype(np.float32)
        res = cv2.resize(src, (dw, dh), interpolation=cv2.INTER_CUBIC)
        assert res.shape == (dh, dw, 3) and res.dtype == np.float32
        flat = res.reshape(-1)
        vals = flat if c["mode"] == "full" else flat[sample_positions(flat.size, c["seed"])]
        c["offset"], c["count"] = offset, int(vals.size)
        offset += vals.size
        blobs.append(vals.astype("<f4").tobytes())
        manifest["cases"].append(c)
    with open(os.path.join(OUT, "resize-reference.f32"), "wb") as fh:
        fh.write(b"".join(blobs))
    pipe = []
    for name, data, meta, res in pipeline_cases():
        with open(os.path.join(OUT, "pipeline", name), "wb") as fh:
            fh.write(data)
        with open(os.path.join(OUT, "pipeline", name + ".f32"), "wb") as fh:
            fh.write(res.astype("<f4").tobytes())
        pipe.append(meta)
    manifest["pipeline"] = pipe
    with open(os.path.join(OUT, "grid-reference.json"), "w") as fh:
        json.dump({"patch": 14, "merge": 2, "max_image_size": 1540, "rows": grid_sweep()}, fh, separators=(",", ":"))
        fh.write("\n")
    with open(os.path.join(OUT, "resize-reference.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
        fh.write("\n")
    print(f"{len(manifest['cases'])} resize cases, {offset * 4} bytes; {len(pipe)} pipeline images", file=sys.stderr)


if __name__ == "__main__":
    main()
