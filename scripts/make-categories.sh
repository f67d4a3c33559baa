#!/usr/bin/env bash
# Builds the category-similarity set that `imagesearch-bench quality` scores with
# categoryP@5 (the image-recommend model: "visually similar content") from the Debian
# package photos listed in bench/data/categories.tsv (category, package, path in package).
#   OUT_DIR/originals/o_NNN.jpg  every listed photo, RGB JPEG q90, longest side <= 1024 px
#   OUT_DIR/queries/q_NNN.jpg    one downscaled copy of each (longest side 512 px, JPEG q85),
#                                so the copy metrics (recall@1, mAP) run on the same dir
#   OUT_DIR/truth.json           {"q_NNN.jpg": {"original": "o_NNN.jpg", "transform": "downscale"}}
#   OUT_DIR/categories.json      {"categories": {"flowers": ["originals/o_001.jpg", ...], ...}}
#                                (gallery names as the bench sees them: "originals/<file>")
#   OUT_DIR/SOURCES.tsv          file, category, package, path in package
# Installs the packages the TSV names if missing (apt-get; root). Idempotent: the same TSV
# and packages give the same files; stale o_*/q_* files are removed.
# Usage: scripts/make-categories.sh OUT_DIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?usage: scripts/make-categories.sh OUT_DIR}
TSV=$ROOT/bench/data/categories.tsv
mapfile -t pkgs < <(grep -v '^#' "$TSV" | tail -n +2 | cut -f2 | sort -u)
bash "$ROOT/scripts/ensure-packages.sh" make-categories "${pkgs[@]}"
mkdir -p "$OUT/originals" "$OUT/queries"
/usr/bin/python3 - "$TSV" "$OUT" <<'EOF'
import json, os, subprocess, sys
from PIL import Image, ImageOps

tsv, out = sys.argv[1:]
rows = []
for line in open(tsv, encoding="utf-8"):
    line = line.rstrip("\n")
    if not line or line.startswith("#") or line.startswith("category\t"):
        continue
    cat, pkg, path = line.split("\t")
    rows.append((cat, pkg, path))
missing = sorted({pkg for _, pkg, path in rows if not os.path.isfile(path)})
if missing:
    sys.exit("make-categories: photos missing from their packages: " + " ".join(missing))
owners = {}
try:  # the package column must name the package that ships the file
    res = subprocess.run(["dpkg", "-S"] + [p for _, _, p in rows], capture_output=True, text=True)
    for l in res.stdout.splitlines():
        pk, _, p = l.partition(": ")
        for one in pk.split(", "):
            owners.setdefault(p.strip(), set()).add(one.split(":")[0])
except FileNotFoundError:
    pass
if owners:
    wrong = [p for _, pkg, p in rows if pkg not in owners.get(p, set())]
    if wrong:
        sys.exit("make-categories: package column does not own: " + " ".join(wrong))


def fit(im, side):
    f = side / max(im.size)
    if f >= 1:
        return im
    return im.resize((max(1, round(im.width * f)), max(1, round(im.height * f))), Image.LANCZOS)


keep = set()
cats, truth, sources = {}, {}, []
for i, (cat, pkg, path) in enumerate(rows, 1):
    o, q = f"o_{i:03d}.jpg", f"q_{i:03d}.jpg"
    im = ImageOps.exif_transpose(Image.open(path))
    im = im.convert("RGB")  # alpha (all but opaque in this set) and palettes dropped
    orig = fit(im, 1024)
    orig.save(f"{out}/originals/{o}", "JPEG", quality=90)
    fit(orig, 512).save(f"{out}/queries/{q}", "JPEG", quality=85)
    keep.update({o, q})
    cats.setdefault(cat, []).append("originals/" + o)
    truth[q] = {"original": o, "transform": "downscale", "params": {"longest": 512}}
    sources.append(f"{o}\t{cat}\t{pkg}\t{path}")
for sub in ("originals", "queries"):
    for f in os.listdir(f"{out}/{sub}"):
        if f not in keep:
            os.remove(f"{out}/{sub}/{f}")
json.dump(truth, open(f"{out}/truth.json", "w"), indent=1, sort_keys=True)
json.dump({"categories": cats}, open(f"{out}/categories.json", "w"), indent=1)
open(f"{out}/SOURCES.tsv", "w").write("file\tcategory\tpackage\tpath\n" + "\n".join(sources) + "\n")
print(f"make-categories: {len(rows)} photos in {len(cats)} categories -> {out}")
EOF
