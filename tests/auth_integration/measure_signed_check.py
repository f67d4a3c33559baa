"""Requests/s of `check` through the real server: AK/SK-signed vs token vs auth off.

    /usr/bin/python3 tests/auth_integration/measure_signed_check.py BUILD/bin/imagesearchd \
        [--seconds 3] [--rounds 5] [--connections 32]

Not a test (pytest does not collect it): a measurement for bench/RESULTS.md. One server with
auth on (bootstrapped admin identity) is driven by wrk with a pre-signed request (the
signature stays valid for 15 minutes; the server keeps no nonce, as the cloud) and with an
IAM token; a second server on a fresh data dir with auth off gives the unsigned figure. The
three are interleaved for several rounds (medians), so that a busy shared machine skews
them alike. Prints name=value lines and signed_over_unsigned=<ratio>.
"""
import argparse
import datetime
import hashlib
import hmac
import json
import os
import re
import shutil
import statistics
import sys
import subprocess
import tempfile
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import token_login  # noqa: E402

BODY = '{"path":"seed.jpg"}'


def start(binary, data_dir, auth):
    port_file = os.path.join(data_dir, "port")
    args = [binary, "--data-dir", data_dir, "--listen", "127.0.0.1:0", "--port-file", port_file]
    if not auth:
        args += ["--auth-enabled", "false"]
    log = open(os.path.join(data_dir, "server.log"), "w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(600):
        if os.path.exists(port_file) and open(port_file).read().strip():
            return proc, int(open(port_file).read().strip())
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not start")


def wrk(url, headers, seconds, connections, tmp):
    lua = os.path.join(tmp, "req.lua")
    with open(lua, "w") as f:
        f.write('wrk.method = "POST"\nwrk.body = %s\n' % json.dumps(BODY))
        for k, v in headers.items():
            f.write("wrk.headers[%s] = %s\n" % (json.dumps(k), json.dumps(v)))
    out = subprocess.run(["wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds, "-s", lua,
                          url], capture_output=True, text=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError("refused requests under wrk:\n" + out)
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def sign(method, path, headers, body, ak, sk):
    names = sorted(k.lower() for k in headers)
    lower = {k.lower(): v for k, v in headers.items()}
    canonical = "\n".join([method, path if path.endswith("/") else path + "/", "",
                           "".join("%s:%s\n" % (n, lower[n].strip()) for n in names),
                           ";".join(names), hashlib.sha256(body.encode()).hexdigest()])
    sts = "SDK-HMAC-SHA256\n%s\n%s" % (lower["x-sdk-date"],
                                        hashlib.sha256(canonical.encode()).hexdigest())
    sig = hmac.new(sk.encode(), sts.encode(), hashlib.sha256).hexdigest()
    return "SDK-HMAC-SHA256 Access=%s, SignedHeaders=%s, Signature=%s" % (ak, ";".join(names), sig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--seconds", type=int, default=3, help="per wrk run")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds; medians")
    ap.add_argument("--connections", type=int, default=32)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="iss-signed-check-")
    procs = []
    try:
        on_dir, off_dir = os.path.join(tmp, "on"), os.path.join(tmp, "off")
        os.makedirs(on_dir)
        os.makedirs(off_dir)
        token_login.prepare(a.binary, on_dir)
        ident = token_login._identity
        proc, port = start(a.binary, on_dir, True)
        procs.append(proc)
        base = "http://127.0.0.1:%d" % port
        p, token_header = token_login.login(base)
        r = requests.post("%s/v1/%s/service" % (base, p), timeout=30,
                          json={"name": "bench", "model": "common-search"},
                          headers=token_header)
        assert r.status_code == 200, r.text
        path = "/v1/%s/bench/image/check" % p
        headers = {"Content-Type": "application/json", "Host": "127.0.0.1:%d" % port,
                   "X-Sdk-Date": datetime.datetime.utcnow().strftime("%Y%m%dT%H%M%SZ")}
        headers["Authorization"] = sign("POST", path, headers, BODY, ident["ak"], ident["sk"])
        r = requests.post(base + path, data=BODY, headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        proc, off_port = start(a.binary, off_dir, False)
        procs.append(proc)
        off_base = "http://127.0.0.1:%d" % off_port
        r = requests.post(off_base + "/v1/p/service", timeout=30,
                          json={"name": "bench", "model": "common-search"})
        assert r.status_code == 200, r.text
        runs = {
            "signed": (base + path, headers),
            "token": (base + path, {"Content-Type": "application/json", **token_header}),
            "unsigned": (off_base + "/v1/p/bench/image/check",
                         {"Content-Type": "application/json"}),
        }
        # Interleaved so that load from other processes on the machine hits every mode alike.
        rps = {name: [] for name in runs}
        for _ in range(a.rounds):
            for name, (url, hdrs) in runs.items():
                rps[name].append(wrk(url, hdrs, a.seconds, a.connections, tmp))
        med = {name: statistics.median(v) for name, v in rps.items()}
        for name in runs:
            print("check_%s_rps=%.0f  (runs: %s)" % (name, med[name],
                                                     " ".join("%.0f" % x for x in rps[name])))
        print("signed_over_unsigned=%.3f\ntoken_over_unsigned=%.3f" %
              (med["signed"] / med["unsigned"], med["token"] / med["unsigned"]))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
