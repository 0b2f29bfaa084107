"""Reference outputs of PIL's ImageOps / ImageEnhance for the strong photometric ops.

Made with Debian's python3-pil 9.4.0:  python3 pil_ops.py > pil_ops.txt
Input: a 32x16 RGB image, pixel i (row-major) = ((i*i*7 + 3) % 200, ((i*53) % 256) // 2, 255 - 2*(i % 64)),
chosen with a skewed histogram so that equalisation is not the identity.
Each output line: name, then the result's bytes (row-major RGB) in hex.
"""
from PIL import Image, ImageOps, ImageEnhance

w, h = 32, 16
im = Image.new("RGB", (w, h))
im.putdata([((i * i * 7 + 3) % 200, ((i * 53) % 256) // 2, 255 - 2 * (i % 64)) for i in range(w * h)])

def hexof(img):
    return bytes(v for p in img.getdata() for v in p).hex()

ops = {
    "autocontrast": ImageOps.autocontrast(im),
    "equalize": ImageOps.equalize(im),
    "solarize128": ImageOps.solarize(im, 128),
    "posterize3": ImageOps.posterize(im, 3),
    "sharpness1.7": ImageEnhance.Sharpness(im).enhance(1.7),
    "colour0.3": ImageEnhance.Color(im).enhance(0.3),
    "contrast1.5": ImageEnhance.Contrast(im).enhance(1.5),
    "brightness0.6": ImageEnhance.Brightness(im).enhance(0.6),
}
for name, out in ops.items():
    print(name, hexof(out))
