#!/usr/bin/env bash
# Builds the large distractor set for `imagesearch-bench quality DIR --distractors OUT_DIR`:
# >= 10,000 JPEGs cut from the photos that Debian 12 packages ship, none of them a copy of a
# dev-set original.
#   OUT_DIR/x_NNNNN.jpg   a tile (one cell of a rows x cols grid, 2x2 up to 8x8) or a crop
#                         (deterministic offset, 30-70 % of each side) of one source photo,
#                         longest side <= 640 px, JPEG q88; flat cuts (grey-level standard
#                         deviation < 12: night sky, transparent areas) and slivers
#                         (shortest side < 128 px once scaled) are skipped
#   OUT_DIR/SOURCES.tsv   file, package, path in package, cut
# Sources: every JPEG/PNG of >= 480 x 360 px under /usr/share and /usr/lib/python3 that a
# photo-carrying package below ships, except
#   - the packages the whitening was learned from (scripts/learn-whitening.sh: ukui-wallpapers,
#     gnome-backgrounds, lomiri-wallpapers-20.04), so the calibration is not scored on its
#     own training photos;
#   - every path that ../shared/eval/dev/SOURCES.md names, every other size of a Plasma
#     wallpaper it names, and any photo whose 16x16 difference hash is within 40 bits of a dev
#     original's (the same photo at another size or encoding);
#   - a second copy of a photo already taken (same difference-hash rule);
#   - the package images that show a dev original inside them (DERIVED below: an edited
#     copy, a matching demo, a blend), which no hash of the whole image catches.
# Installs the packages if missing (apt-get; root). Deterministic and idempotent: the same
# packages give the same files, stale x_* files are removed.
# Usage: scripts/make-distractors.sh OUT_DIR [EVAL_DEV_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?usage: scripts/make-distractors.sh OUT_DIR [EVAL_DEV_DIR]}
DEV=${2:-$ROOT/../shared/eval/dev}
PKGS=(plasma-workspace-wallpapers mate-backgrounds lomiri-wallpapers lomiri-wallpapers-16.04
      lxqt-themes sway-backgrounds opencv-doc python3-skimage python3-sklearn
      python-matplotlib-data stellarium-data darknet mypaint-data-extras)
bash "$ROOT/scripts/ensure-packages.sh" make-distractors "${PKGS[@]}"
mkdir -p "$OUT"
/usr/bin/python3 - "$OUT" "$DEV" "${PKGS[@]}" <<'EOF'
import os, re, subprocess, sys, zlib
import warnings
from PIL import Image, ImageOps, ImageStat

warnings.simplefilter("ignore")  # PIL's palette-transparency notes

Image.MAX_IMAGE_PIXELS = 200_000_000
out, dev, pkgs = sys.argv[1], sys.argv[2], sys.argv[3:]
EXCLUDED_PKGS = {"ukui-wallpapers", "gnome-backgrounds", "lomiri-wallpapers-20.04"}
# Copies of dev originals: image-copyright verified tiles of these against dev queries at
# sim >= 0.9 on earlier runs of this script, and a look confirmed each one.
DERIVED = {
    "/usr/share/doc/opencv-doc/examples/data/ela_modified.jpg",  # o_010 with a penguin
    "/usr/share/doc/opencv-doc/opencv4/html/Feature_FlannMatcher_Result_ratio_test.jpg",  # o_039
    "/usr/share/doc/opencv-doc/opencv4/html/orapple.jpg",  # o_028, half an orange
}
# OpenCV's feature-matching tutorial results draw on o_039 (box_in_scene): every one goes.
DERIVED_PREFIX = "/usr/share/doc/opencv-doc/opencv4/html/Feature_"
TARGET = 10_500

dev_paths = set(re.findall(r"\| (/[^|]+?) \|", open(f"{dev}/SOURCES.md", encoding="utf-8").read()))
plasma = re.compile(r"^(/usr/share/wallpapers/[^/]+)/contents/")
dev_plasma = {m.group(1) for p in dev_paths if (m := plasma.match(p))}


def dhash(im):  # 16x16 difference hash of the whole photo, as an int of 256 bits
    g = im.convert("L").resize((17, 16), Image.BILINEAR)
    px = list(g.getdata())
    bits = 0
    for r in range(16):
        for c in range(16):
            bits = (bits << 1) | (px[r * 17 + c] > px[r * 17 + c + 1])
    return bits


def near(h, hashes):
    return any(bin(h ^ o).count("1") <= 40 for o in hashes)


dev_hashes = []
for f in sorted(os.listdir(f"{dev}/originals")):
    with Image.open(f"{dev}/originals/{f}") as im:
        dev_hashes.append(dhash(ImageOps.exif_transpose(im)))

files = []
for p in pkgs:
    listing = subprocess.run(["dpkg", "-L", p], capture_output=True, text=True).stdout.split("\n")
    for f in listing:
        if (f.startswith("/usr/share/") or f.startswith("/usr/lib/python3")) and \
                f.lower().endswith((".jpg", ".jpeg", ".png")) and os.path.isfile(f) and \
                not os.path.islink(f):
            files.append((p, f))
files = sorted(set(files), key=lambda t: t[1])

# Plasma wallpapers: one size per wallpaper (variant dir), the largest; none the dev set uses.
best = {}
for p, f in files:
    m = plasma.match(f)
    if not m or m.group(1) in dev_plasma:
        continue
    key, size = os.path.dirname(f), os.path.getsize(f)
    if key not in best or size > best[key][0]:
        best[key] = (size, f)
plasma_keep = {f for _, f in best.values()}

sources, kept_hashes = [], []
for p, f in files:
    if p in EXCLUDED_PKGS or f in dev_paths or f in DERIVED or f.startswith(DERIVED_PREFIX):
        continue
    if plasma.match(f) and f not in plasma_keep:
        continue
    try:
        with Image.open(f) as im:
            if min(im.size) < 360 or max(im.size) < 480:
                continue
            im = ImageOps.exif_transpose(im)
            im.draft("RGB", (1600, 1600))
            im = im.convert("RGB")
    except Exception:
        continue
    h = dhash(im)
    if near(h, dev_hashes) or near(h, kept_hashes):
        continue
    kept_hashes.append(h)
    sources.append((p, f, im.size))

# Cuts per source in proportion to its area (at least 4), so that the total reaches TARGET.
areas = [w * h for _, _, (w, h) in sources]
scale = TARGET / sum(areas)
plan = [max(4, round(a * scale)) for a in areas]


def cuts(n, w, h, seed):
    """n cuts of a w x h photo: the cells of the smallest square grid with >= n/6 cells (at
    most 8x8), then deterministic crops of 30-70 % of each side for the rest."""
    g = 2
    while g * g < n // 6 and g < 8:
        g += 1
    res = []
    for r in range(g):
        for c in range(g):
            if len(res) < n:
                res.append(((c * w // g, r * h // g, (c + 1) * w // g, (r + 1) * h // g),
                            f"tile r{r}c{c} of {g}x{g}"))
    x = seed
    while len(res) < n:
        vals = []
        for _ in range(4):
            x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
            vals.append((x >> 33) / float(1 << 31))
        cw, ch = int(w * (0.3 + 0.4 * vals[0])), int(h * (0.3 + 0.4 * vals[1]))
        x0, y0 = int((w - cw) * vals[2]), int((h - ch) * vals[3])
        res.append(((x0, y0, x0 + cw, y0 + ch), f"crop {x0},{y0} {cw}x{ch}"))
    return res


rows, keep, n = [], set(), 0
for (p, f, _), k in zip(sources, plan):
    with Image.open(f) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
    taken = 0
    for box, what in cuts(3 * k, im.width, im.height, zlib.crc32(f.encode())):
        if taken == k:
            break
        bw, bh = box[2] - box[0], box[3] - box[1]
        if min(bw, bh) * min(1.0, 640 / max(bw, bh)) < 128:
            continue  # a sliver of a panorama: the service refuses sides under 100 px
        t = im.crop(box)
        if ImageStat.Stat(t.convert("L")).var[0] < 12 * 12:
            continue  # flat (night sky, transparent area, plain colour): no content to match
        taken += 1
        n += 1
        name = f"x_{n:05d}.jpg"
        fct = 640 / max(t.size)
        if fct < 1:
            t = t.resize((max(1, round(t.width * fct)), max(1, round(t.height * fct))),
                         Image.LANCZOS)
        dst = f"{out}/{name}"
        t.save(dst + ".tmp", "JPEG", quality=88)
        os.replace(dst + ".tmp", dst)
        keep.add(name)
        rows.append(f"{name}\t{p}\t{f}\t{what}")
for f in os.listdir(out):
    if f.startswith("x_") and f not in keep:
        os.remove(f"{out}/{f}")
with open(f"{out}/SOURCES.tsv", "w", encoding="utf-8") as o:
    o.write("file\tpackage\tpath\tcut\n" + "\n".join(rows) + "\n")
print(f"make-distractors: {n} distractors from {len(sources)} photos of "
      f"{len({p for p, _, _ in sources})} packages -> {out}")
EOF
