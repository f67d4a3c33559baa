"""`path` downloads: from a local nginx serving the eval folder, with the allow-list and the
private-address guard (no server-side request forgery)."""
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from harness import EVAL_DIR, Server, error_code, free_port, originals

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.fixture(scope="module")
def nginx():
    if not os.path.exists(NGINX):
        pytest.skip("nginx is not installed")
    d = tempfile.mkdtemp(prefix="iss-nginx-")
    port = free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""
daemon off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %(d)s/body;
  proxy_temp_path %(d)s/proxy;
  fastcgi_temp_path %(d)s/fastcgi;
  uwsgi_temp_path %(d)s/uwsgi;
  scgi_temp_path %(d)s/scgi;
  server {
    listen 127.0.0.1:%(port)d;
    root %(root)s;
    location = /redirect-out { return 302 http://169.254.169.254/latest/meta-data; }
    location = /redirect-in { return 302 http://127.0.0.1:%(port)d/dev/originals/o_002.jpg; }
  }
}
""" % {"d": d, "port": port, "root": EVAL_DIR})
    proc = subprocess.Popen([NGINX, "-c", conf, "-p", d], stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            import socket
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(10)
    shutil.rmtree(d, ignore_errors=True)


def url(port, rel):
    return "http://127.0.0.1:%d/%s" % (port, rel)


def test_downloads_from_allowed_host(nginx):
    s = Server(extra_args=["--fetch-allowed-hosts", "127.0.0.1:%d" % nginx,
                           "--fetch-allow-private", "true"]).start()
    try:
        s.create("dl")
        u = url(nginx, "dev/originals/o_001.jpg")
        st, out, _ = s.add("dl", u)
        assert st == 200, out
        assert s.check("dl", u)[1] == {"exist": "true"}
        st, out, _ = s.add("dl", url(nginx, "redirect-in"))
        assert st == 200, out
        # search with a URL that is not in the gallery downloads it
        st, out, _ = s.search("dl", path=url(nginx, "dev/originals/o_001.jpg"), limit=1)
        assert st == 200 and out["result"][0]["path"] == u
        expect = [
            (url(nginx, "dev/originals/missing.jpg"), "IS.2000"),           # 404
            (url(nginx, "bad-inputs/unsupported.svg"), "IS.2001"),
            (url(nginx, "redirect-out"), "IS.2011"),                         # redirect re-checked
            ("http://localhost:%d/dev/originals/o_003.jpg" % nginx, "IS.2011"),  # not listed
            ("http://example.invalid/a.jpg", "IS.2011"),
        ]
        for u2, code in expect:
            st, out, _ = s.add("dl", u2)
            assert st == 400 and error_code(out) == code, (u2, out)
            assert s.check("dl", u2)[1] == {"exist": "false"}
    finally:
        s.close()


def test_private_address_refused_by_default(nginx):
    # The host is listed, but it is a loopback address and private ones are not allowed.
    s = Server(extra_args=["--fetch-allowed-hosts", "127.0.0.1:%d" % nginx]).start()
    try:
        s.create("dl")
        u = url(nginx, "dev/originals/o_001.jpg")
        st, out, _ = s.add("dl", u)
        assert st == 400 and error_code(out) == "IS.2011", out
        assert s.check("dl", u)[1] == {"exist": "false"}
    finally:
        s.close()


def test_no_allow_list_means_no_downloads(nginx):
    s = Server().start()
    try:
        s.create("dl")
        st, out, _ = s.add("dl", url(nginx, "dev/originals/o_001.jpg"))
        assert st == 400 and error_code(out) == "IS.2011", out
    finally:
        s.close()


def test_crop_with_a_stored_path(nginx):
    """The reference's example 6: `path` (stored) + `box` (no `is_crop`) crops the image
    downloaded from the path; a stored path that is not a URL answers a precise IS.0016."""
    s = Server(extra_args=["--fetch-allowed-hosts", "127.0.0.1:%d" % nginx,
                           "--fetch-allow-private", "true"]).start()
    try:
        s.create("crop")
        u = url(nginx, "dev/originals/o_001.jpg")
        assert s.add("crop", u)[0] == 200
        assert s.add("crop", "plain", originals(2)[1])[0] == 200
        box = {"x": 10, "y": 20, "width": 120, "height": 100}
        for extra in ({}, {"is_crop": True}):
            st, out, _ = s.search("crop", path=u, box=box, limit=5, **extra)
            assert st == 200 and out["count"] == 2 and len(out["result"]) == 2, out
        # the box really is applied to the downloaded pixels: one outside them is refused
        far = {"x": 100000, "y": 0, "width": 10, "height": 10}
        st, out, _ = s.search("crop", path=u, box=far)
        assert st == 400 and error_code(out) == "IS.0002", out
        # ... unless is_crop is false: the whole (stored) image is used
        st, out, _ = s.search("crop", path=u, box=far, is_crop=False, limit=1)
        assert st == 200 and out["result"][0]["path"] == u and out["result"][0]["sim"] > 0.99
        # a stored path that cannot be downloaded: the precise reason, not IS.2015
        st, out, _ = s.search("crop", path="plain", box=box)
        assert st == 400 and error_code(out) == "IS.0016", out
        assert "pixels" in out["error_msg"], out
    finally:
        s.close()
    # no allow-list: the stored URL cannot be downloaded, and the answer says why
    s = Server().start()
    try:
        s.create("crop")
        assert s.add("crop", u, originals(1)[0])[0] == 200
        st, out, _ = s.search("crop", path=u, box=box)
        assert st == 400 and error_code(out) == "IS.2011", out
        assert "allow-list" in out["error_msg"], out
    finally:
        s.close()
