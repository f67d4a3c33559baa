#!/usr/bin/python3
"""Import speed from a local object store vs the model's best, in the same run (issue 12).

Starts a RADOS Gateway (tests/testing/rgw), uploads N objects (the dev set's photos
re-encoded at 1024 px, quality 90: the speed benchmark's images), runs
`imagesearch-bench speed` for the model's best images/s before and after, imports the
bucket with one import job on a fresh imagesearchd, and prints the import's images/s, its
ratio to the mean of the two speed runs, the server's peak RSS and each process's share of
the CPU during the import (the store runs on the same cores).

  /usr/bin/python3 bench/import_speed.py --bin build/bin/imagesearchd \
      --bench build/bin/imagesearch-bench --n 2000
  # the 100,000-object run (~25 min; RGW's memstore keeps objects in RAM: use 512 px)
  /usr/bin/python3 bench/import_speed.py ... --n 100000 --side 512

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


def photos(folder, n=40, side=1024):
    out = []
    for name in sorted(os.listdir(folder)):
        img = cv2.imread(os.path.join(folder, name), cv2.IMREAD_COLOR)
        if img is None:
            continue
        s = float(side) / max(img.shape[:2])
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


def cpu_seconds(pid):
    """user + system CPU seconds of a process (its threads included)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def speed_best(bench):
    out = subprocess.run([bench, "speed", "--n", "40", "--rounds", "6"], stdout=subprocess.PIPE,
                         check=True, text=True).stdout
    return max(float(x) for x in re.findall(r"images_per_s=([0-9.]+)", out))


def status_mb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def peak_rss_mb(pid):
    return status_mb(pid, "VmHWM")


def rss_mb(pid):
    return status_mb(pid, "VmRSS")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--server-args", default="", help="extra imagesearchd flags (one string)")
    ap.add_argument("--side", type=int, default=1024,
                    help="longer side of the uploaded JPEGs (the speed benchmark uses 1024)")
    ap.add_argument("--rgw-gb", type=float, default=0,
                    help="RAM of RGW's memstore OSD; default: what the objects need + 1 GB")
    ap.add_argument("--images", default=os.path.join(HERE, "..", "..", "shared", "eval", "dev",
                                                     "originals"))
    args = ap.parse_args()
    jpegs = photos(args.images, side=args.side)
    avg = sum(map(len, jpegs)) / len(jpegs)
    print("machine: %s, %d cores, load average %.2f; %d objects of %d distinct %d-px JPEGs "
          "(%.0f KB avg)" % (os.uname().machine, os.cpu_count(), os.getloadavg()[0], args.n,
                             len(jpegs), args.side, avg / 1024))
    rgw_bytes = int(args.rgw_gb * (1 << 30)) if args.rgw_gb else int(args.n * avg * 1.3) + (1 << 30)
    with Rgw(memstore_bytes=max(rgw_bytes, 2 << 30)) as rgw, \
            tempfile.TemporaryDirectory(prefix="iss-import-bench-") as tmp:
        rgw.owner.create_bucket("bench")
        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            list(ex.map(lambda i: rgw.owner.put("bench", "img/%06d.jpg" % i,
                                                jpegs[i % len(jpegs)]), range(args.n)))
        print("upload: %.1f s" % (time.time() - t0))

        best_before = speed_best(args.bench)
        print("speed benchmark before the import: best %.1f images/s" % best_before)

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
            procs = {"imagesearchd": [srv.pid]}
            for name, proc in rgw.procs.items():  # radosgw, ceph-osd, ceph-mon
                procs.setdefault(name, []).append(proc.pid)
            cpu0 = {n: sum(cpu_seconds(q) for q in pids) for n, pids in procs.items()}
            t0 = time.time()
            job = call(base, "POST", "/image-search/import-jobs",
                       {"instance_name": "bench", "source": "s3://bench/img/"})
            last = 0
            while job["state"] == "running":
                time.sleep(0.5)
                job = call(base, "GET", "/image-search/import-jobs/" + job["id"])
                if args.n >= 20000 and time.time() - last > 60:
                    last = time.time()
                    q = job["progress"]
                    print("  %5.0f s: done %d, %.1f images/s, eta %s s, RSS %.0f MB" % (
                        last - t0, q["done"], q["images_per_s"], q["eta_s"],
                        rss_mb(srv.pid)), flush=True)
            secs = time.time() - t0
            cpu = {n: sum(cpu_seconds(q) for q in pids) - cpu0[n] for n, pids in procs.items()}
            p = job["progress"]
            assert job["state"] == "done" and p["done"] == args.n, job
            rate = args.n / secs
            peak = peak_rss_mb(srv.pid)
        finally:
            srv.send_signal(signal.SIGTERM)
            srv.wait(60)
        best_after = speed_best(args.bench)
        print("speed benchmark after the import: best %.1f images/s" % best_after)
        best = (best_before + best_after) / 2
        print("import: %d images in %.1f s = %.1f images/s, %.2f of the model's best (mean of "
              "before and after: %.1f), peak RSS %.0f MB" % (args.n, secs, rate, rate / best,
                                                             best, peak))
        total = secs * os.cpu_count()
        print("CPU during the import (of %.0f core-seconds): %s" % (total, ", ".join(
            "%s %.0f s (%.0f%%)" % (n, c, 100 * c / total) for n, c in sorted(cpu.items()))))


if __name__ == "__main__":
    main()
