"""A real S3-compatible object store for tests: Ceph's RADOS Gateway (Debian's radosgw) over a
single-node cluster (one monitor, one memstore OSD, no manager), started as plain background
processes on free loopback ports in a temp dir, and torn down with it.

    from rgw import Rgw
    with Rgw() as g:                       # ~2-4 s on a small machine; g.start_seconds says
        g.owner.create_bucket("b")         # an S3 client with the owner's keys (SigV4)
        g.owner.put("b", "k.jpg", data)
        g.endpoint                         # "http://127.0.0.1:PORT"
        g.owner_keys, g.other_keys         # (access key, secret key); `other` owns nothing

What each setting is for: /work/shared/docs/object-storage.md (facts learnt on this machine).
Auth between the daemons is off (loopback only, the test's own cluster); S3 requests are
signed and checked by RGW as in production.

Thread contract: an Rgw is driven by one thread; S3 clients may be used from many threads
(each request opens its own connection).
"""
import datetime
import hashlib
import hmac
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import uuid

REGION = "us-east-1"


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _free_range(n):
    """A base port with n consecutive free ports above it (best effort: checked, not held)."""
    for _ in range(200):
        base = _free_port()
        if base + n > 65000:
            continue
        ok = True
        for p in range(base, base + n):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                ok = False
            finally:
                s.close()
            if not ok:
                break
        if ok:
            return base
    raise RuntimeError("no free port range")


def _wait_port(port, deadline, proc, what, log):
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited %s: %s" % (what, proc.returncode, _tail(log)))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("%s did not listen on %d: %s" % (what, port, _tail(log)))


def _tail(path, n=3000):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")[-n:]
    except OSError:
        return "(no log)"


class S3:
    """A minimal S3 client (AWS SigV4, path-style, UNSIGNED-PAYLOAD) over http.client."""

    def __init__(self, endpoint, access_key, secret_key, region=REGION):
        u = urllib.parse.urlparse(endpoint)
        self.host, self.port = u.hostname, u.port
        self.access_key, self.secret_key, self.region = access_key, secret_key, region

    def _sign(self, method, path, query, headers, host_header):
        now = datetime.datetime.utcnow()
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        day = now.strftime("%Y%m%d")
        headers = dict(headers)
        headers["host"] = host_header
        headers["x-amz-date"] = amz_date
        headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
        canon_q = "&".join(
            "%s=%s" % (urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
            for k, v in sorted(query.items()))
        names = sorted(k.lower() for k in headers)
        lower = {k.lower(): str(v).strip() for k, v in headers.items()}
        canon_h = "".join("%s:%s\n" % (k, lower[k]) for k in names)
        signed = ";".join(names)
        creq = "\n".join([method, urllib.parse.quote(path, safe="/-_.~"), canon_q, canon_h,
                          signed, "UNSIGNED-PAYLOAD"])
        scope = "%s/%s/s3/aws4_request" % (day, self.region)
        sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
        k = ("AWS4" + self.secret_key).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                                    "Signature=%s" % (self.access_key, scope, signed, sig))
        return headers, canon_q

    def request(self, method, bucket, key="", body=b"", query=None, headers=None):
        """Returns (status, body bytes, headers dict with lower-case names)."""
        path = "/" + bucket + ("/" + key if key else "")
        h, q = self._sign(method, path, query or {}, headers or {},
                          "%s:%d" % (self.host, self.port))
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            url = urllib.parse.quote(path, safe="/-_.~") + ("?" + q if q else "")
            conn.request(method, url, body=body or None, headers=h)
            r = conn.getresponse()
            data = r.read()
            return r.status, data, {k.lower(): v for k, v in r.getheaders()}
        finally:
            conn.close()

    def _ok(self, res, what):
        if res[0] // 100 != 2:
            raise RuntimeError("%s: HTTP %d %s" % (what, res[0], res[1][:300]))
        return res

    def create_bucket(self, bucket):
        return self._ok(self.request("PUT", bucket), "create bucket " + bucket)

    def put(self, bucket, key, data, content_type="application/octet-stream", metadata=None):
        h = {"content-type": content_type, "content-length": str(len(data))}
        for k, v in (metadata or {}).items():
            h["x-amz-meta-" + k] = v
        return self._ok(self.request("PUT", bucket, key, body=data, headers=h), "put " + key)

    def get(self, bucket, key):
        return self.request("GET", bucket, key)

    def delete(self, bucket, key):
        return self._ok(self.request("DELETE", bucket, key), "delete " + key)


class Rgw:
    """One cluster + gateway; close() (or leaving the `with`) stops it and removes its dir."""

    def __init__(self, keep_dir=False, memstore_bytes=2 << 30):
        self.dir = tempfile.mkdtemp(prefix="iss-rgw-")
        self.keep_dir = keep_dir
        self.memstore_bytes = memstore_bytes  # the OSD keeps every object in RAM
        self.procs = {}  # name -> Popen, in start order
        self.start_seconds = None
        self.phases = {}  # phase -> seconds since start, for the start-time report
        self.owner_keys = ("ISSOWNERKEY0000000001", "owner-secret-" + uuid.uuid4().hex)
        self.other_keys = ("ISSOTHERKEY0000000002", "other-secret-" + uuid.uuid4().hex)

    # --- lifecycle ---
    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def start(self):
        t0 = time.time()
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        self.start_seconds = time.time() - t0
        return self

    def _conf_text(self):
        d = self.dir
        return """[global]
fsid = %(fsid)s
mon host = v2:127.0.0.1:%(mon)d
public addr = 127.0.0.1
cluster addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
ms bind msgr1 = false
ms bind port min = %(pmin)d
ms bind port max = %(pmax)d
run dir = %(d)s/run
admin socket = %(d)s/run/$name.asok
pid file = %(d)s/run/$name.pid
log file = %(d)s/log/$name.log
log to stderr = false
err to stderr = true
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
mon warn on pool no redundancy = false
osd objectstore = memstore
memstore device bytes = %(memstore)d
[mon]
mon data = %(d)s/mon/$cluster-$id
paxos propose interval = 0.01
mon allow pool delete = true
[osd]
osd data = %(d)s/osd/$cluster-$id
osd mon shutdown timeout = 1
[client]
ms mon client mode = crc
[client.rgw.test]
rgw frontends = beast endpoint=127.0.0.1:%(rgw)d
rgw dns name = localhost
rgw data = %(d)s/rgw
rgw thread pool size = 64
""" % {"fsid": self.fsid, "mon": self.mon_port, "pmin": self.pmin, "pmax": self.pmax,
       "d": d, "rgw": self.port, "memstore": self.memstore_bytes}

    def _run(self, args, timeout=60):
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (" ".join(args), r.returncode,
                                                       r.stdout.decode(errors="replace")[-2000:]))
        return r.stdout.decode(errors="replace")

    def _spawn(self, name, args):
        log = os.path.join(self.dir, "log", name + ".out")
        out = open(log, "ab")
        self.procs[name] = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        out.close()
        return self.procs[name], log

    def _start(self):
        t0 = time.time()
        d = self.dir
        for sub in ("run", "log", "mon", "osd/ceph-0", "rgw"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        self.fsid = str(uuid.uuid4())
        base = _free_range(12)
        self.mon_port = base
        self.port = base + 1
        self.pmin, self.pmax = base + 2, base + 11
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.conf = os.path.join(d, "ceph.conf")
        with open(self.conf, "w") as f:
            f.write(self._conf_text())
        c = ["-c", self.conf]
        monmap = os.path.join(d, "monmap")
        self._run(["monmaptool", "--create", "--fsid", self.fsid, "--addv", "a",
                   "[v2:127.0.0.1:%d]" % self.mon_port, monmap])
        self._run(["ceph-mon"] + c + ["--mkfs", "-i", "a", "--monmap", monmap])
        mon, mon_log = self._spawn("mon", ["ceph-mon"] + c + ["-f", "-i", "a"])
        _wait_port(self.mon_port, time.time() + 30, mon, "ceph-mon", mon_log)
        self.phases["mon"] = time.time() - t0
        osd_uuid = str(uuid.uuid4())
        osd_id = self._run(["ceph"] + c + ["osd", "create", osd_uuid]).strip()
        assert osd_id == "0", osd_id
        self._run(["ceph-osd"] + c + ["-i", "0", "--mkfs", "--osd-uuid", osd_uuid])
        self._spawn("osd", ["ceph-osd"] + c + ["-f", "-i", "0"])
        deadline = time.time() + 60
        while True:
            st = self._run(["ceph"] + c + ["osd", "stat"])
            if "1 up" in st:
                break
            if self.procs["osd"].poll() is not None or time.time() > deadline:
                raise RuntimeError("ceph-osd did not come up: " + st +
                                   _tail(os.path.join(d, "log", "osd.0.log")))
            time.sleep(0.1)
        self.phases["osd"] = time.time() - t0
        rgw, rgw_log = self._spawn("rgw", ["radosgw"] + c + ["-f", "-n", "client.rgw.test"])
        _wait_port(self.port, time.time() + 60, rgw, "radosgw",
                   os.path.join(d, "log", "client.rgw.test.log"))
        self.phases["rgw"] = time.time() - t0
        for uid, (ak, sk) in (("owner", self.owner_keys), ("other", self.other_keys)):
            self._run(["radosgw-admin"] + c + ["-n", "client.rgw.test", "user", "create",
                                               "--uid", uid, "--display-name", uid,
                                               "--access-key", ak, "--secret-key", sk])
        self.owner = S3(self.endpoint, *self.owner_keys)
        self.other = S3(self.endpoint, *self.other_keys)
        self.phases["users"] = time.time() - t0

    def close(self):
        # rgw -> osd -> mon: an OSD waits for its monitor, RGW for both.
        for name in ("rgw", "osd", "mon"):
            p = self.procs.pop(name, None)
            if p is None:
                continue
            if p.poll() is None:
                # The cluster is throwaway (memstore): no graceful shutdown to wait for.
                p.send_signal(signal.SIGKILL)
            p.wait(10)  # reaped: no zombie left behind
        if not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


if __name__ == "__main__":
    g = Rgw().start()
    print("rgw up at %s in %.2f s %s" % (g.endpoint, g.start_seconds, g.phases))
    g.owner.create_bucket("probe")
    g.owner.put("probe", "a/b.txt", b"hello")
    print(g.owner.get("probe", "a/b.txt")[:2], g.other.get("probe", "a/b.txt")[0])
    t = time.time()
    g.close()
    print("down in %.2f s" % (time.time() - t))
