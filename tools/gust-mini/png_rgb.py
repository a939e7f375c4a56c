"""Minimal PNG writer for H x W x 3 uint8 images (8-bit RGB, no interlace, filter 0), standard library + numpy."""
import base64, struct, zlib
import numpy as np

def png_bytes(img):
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w, c = img.shape
    assert c == 3
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))

def data_url(img):
    return "data:image/png;base64," + base64.b64encode(png_bytes(img)).decode("ascii")
