#!/usr/bin/python3
"""Import speed from a local object store vs the model's best, in the same run (issue 12).

Starts a RADOS Gateway (tests/testing/rgw), uploads N objects (the dev set's photos
re-encoded at 1024 px, quality 90: the speed benchmark's images), runs
`imagesearch-bench speed` for the model's best images/s, then imports the bucket with one
import job on a fresh imagesearchd and prints both, their ratio and the server's peak RSS.

  /usr/bin/python3 bench/import_speed.py --bin build/bin/imagesearchd \
      --bench build/bin/imagesearch-bench --n 2000

Never part of ctest (minutes of CPU). Needs radosgw (scripts/install-deps.sh) and the
shared eval set (../shared/eval/dev/originals).
"""
import argparse
import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import cv2

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "testing", "rgw"))
from rgw import Rgw  # noqa: E402


def photos(folder, n=40):
    out = []
    for name in sorted(os.listdir(folder)):
        img = cv2.imread(os.path.join(folder, name), cv2.IMREAD_COLOR)
        if img is None:
            continue
        s = 1024.0 / max(img.shape[:2])
        img = cv2.resize(img, None, fx=s, fy=s,
                         interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        out.append(buf.tobytes())
        if len(out) >= n:
            break
    return out


def call(base, method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def peak_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--server-args", default="", help="extra imagesearchd flags (one string)")
    ap.add_argument("--images", default=os.path.join(HERE, "..", "..", "shared", "eval", "dev",
                                                     "originals"))
    args = ap.parse_args()
    jpegs = photos(args.images)
    print("machine: %s, %d cores; %d objects of %d distinct 1024-px JPEGs (%.0f KB avg)" % (
        os.uname().machine, os.cpu_count(), args.n, len(jpegs),
        sum(map(len, jpegs)) / len(jpegs) / 1024))
    with Rgw() as rgw, tempfile.TemporaryDirectory(prefix="iss-import-bench-") as tmp:
        rgw.owner.create_bucket("bench")
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            list(ex.map(lambda i: rgw.owner.put("bench", "img/%06d.jpg" % i,
                                                jpegs[i % len(jpegs)]), range(args.n)))
        print("upload: %.1f s" % (time.time() - t0))

        out = subprocess.run([args.bench, "speed", "--n", "40"], stdout=subprocess.PIPE,
                             check=True, text=True).stdout
        best = max(float(x) for x in re.findall(r"images_per_s=([0-9.]+)", out))
        print("speed benchmark: best %.1f images/s" % best)

        ak, sk = rgw.owner_keys
        conf = os.path.join(tmp, "s.toml")
        with open(conf, "w") as f:
            f.write('[[storage.profiles]]\nbuckets = ["bench"]\nendpoint = "%s"\n'
                    'access_key = "%s"\nsecret_key = "%s"\nallow_private = true\n'
                    % (rgw.endpoint, ak, sk))
        port_file = os.path.join(tmp, "port")
        log = open(os.path.join(tmp, "server.log"), "wb")
        srv = subprocess.Popen([args.bin, "--data-dir", os.path.join(tmp, "data"), "--listen",
                                "127.0.0.1:0", "--port-file", port_file, "--auth-enabled",
                                "false", "--config", conf] + args.server_args.split(), stdout=log, stderr=subprocess.STDOUT)
        try:
            while not os.path.exists(port_file):
                assert srv.poll() is None, "server exited"
                time.sleep(0.05)
            time.sleep(0.1)
            base = "http://127.0.0.1:%s/v1/p1" % open(port_file).read().strip()
            call(base, "POST", "/service", {"name": "bench", "model": "common-search"})
            t0 = time.time()
            job = call(base, "POST", "/image-search/import-jobs",
                       {"instance_name": "bench", "source": "s3://bench/img/"})
            while job["state"] == "running":
                time.sleep(0.5)
                job = call(base, "GET", "/image-search/import-jobs/" + job["id"])
            secs = time.time() - t0
            p = job["progress"]
            assert job["state"] == "done" and p["done"] == args.n, job
            rate = args.n / secs
            print("import: %d images in %.1f s = %.1f images/s (%.0f%% of the model's best), "
                  "peak RSS %.0f MB" % (args.n, secs, rate, 100 * rate / best,
                                        peak_rss_mb(srv.pid)))
        finally:
            srv.send_signal(signal.SIGTERM)
            srv.wait(60)


if __name__ == "__main__":
    main()
