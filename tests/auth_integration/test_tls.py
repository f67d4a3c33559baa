"""HTTPS and the SDK's own way in, through the real server: a certificate made by the test
(openssl CLI), TLS 1.2+ only, reload on SIGHUP, plain HTTP kept beside it; the cloud's Node
SDK core with BasicCredentials(ak, sk) and no project id (it finds the project itself with
a signed GET /v3/projects), over HTTPS and over HTTP; the token catalog."""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
from test_auth import admin, node_sign  # noqa: E402

SDK_CALL = os.path.join(HERE, "..", "node", "sdk_call.js")
os.environ["ISS_TEST_AUTH_MODULE"] = os.path.join(HERE, "token_login.py")


def make_cert(d, name, cn="127.0.0.1"):
    cert, key = os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


def peer_cert(port):
    """The DER certificate the server presents on a new connection."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return s.getpeercert(binary_form=True)


def pem_to_der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


@pytest.fixture(scope="module")
def tls_server():
    d = tempfile.mkdtemp(prefix="iss-tls-")
    cert, key = make_cert(d, "a")
    live_cert, live_key = os.path.join(d, "live.pem"), os.path.join(d, "live.key")
    shutil.copy(cert, live_cert)
    shutil.copy(key, live_key)
    port_file = os.path.join(d, "tls-port")
    s = harness.Server(extra_args=["--tls-listen", "127.0.0.1:0", "--tls-cert-file", live_cert,
                                   "--tls-key-file", live_key, "--tls-port-file", port_file])
    s.ident = admin(harness.BIN, s.data_dir, "bootstrap")
    s.start()
    with open(port_file) as f:
        s.tls_port = int(f.read())
    s.tls_base = "https://127.0.0.1:%d" % s.tls_port
    s.dir, s.cert, s.live_cert, s.live_key = d, cert, live_cert, live_key
    yield s
    s.close()
    shutil.rmtree(d, ignore_errors=True)


def sdk(server, endpoint, calls, region="default"):
    spec = {"endpoint": endpoint, "iam_endpoint": endpoint, "region": region,
            "ak": server.ident["ak"], "sk": server.ident["sk"], "calls": calls}
    env = dict(os.environ, NODE_EXTRA_CA_CERTS=server.cert)
    out = subprocess.run(["node", SDK_CALL, json.dumps(spec)], check=True, capture_output=True,
                         text=True, env=env, timeout=120).stdout
    return json.loads(out.rsplit("@@SDK-RESULT@@", 1)[1])


def test_https_serves_the_api_and_plain_http_stays(tls_server):
    s = tls_server
    r = requests.get(s.tls_base + "/health", verify=s.cert, timeout=30)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = requests.get(s.base + "/health", timeout=30)  # plain HTTP on its own port
    assert r.status_code == 200
    # a token over HTTPS, and its catalog names this server's HTTPS endpoint
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "password": s.ident["password"], "domain": {"name": "admin"}}}},
        "scope": {"project": {"name": "default"}}}}
    r = requests.post(s.tls_base + "/v3/auth/tokens", json=body, verify=s.cert, timeout=30)
    assert r.status_code == 201, r.text
    catalog = r.json()["token"]["catalog"]
    assert catalog and catalog[0]["type"] == "imagesearch", catalog
    ep = catalog[0]["endpoints"][0]
    assert ep["url"] == s.tls_base and ep["region"] == "default" and ep["interface"] == "public"
    tok = r.headers["X-Subject-Token"]
    r = requests.post(s.tls_base + "/v1/%s/service" % s.ident["project_id"], verify=s.cert,
                      json={"name": "overtls", "model": "common-search"},
                      headers={"X-Auth-Token": tok}, timeout=30)
    assert r.status_code == 200, r.text


def test_only_tls_12_and_newer(tls_server):
    s = tls_server
    for version, ok in [(ssl.TLSVersion.TLSv1, False), (ssl.TLSVersion.TLSv1_1, False),
                        (ssl.TLSVersion.TLSv1_2, True), (ssl.TLSVersion.TLSv1_3, True)]:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_ciphers("ALL:@SECLEVEL=0")  # the client would offer the old versions
        ctx.minimum_version = ctx.maximum_version = version
        try:
            with socket.create_connection(("127.0.0.1", s.tls_port), timeout=10) as raw:
                with ctx.wrap_socket(raw) as conn:
                    conn.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    answered = b"200 OK" in conn.recv(4096)
        except (ssl.SSLError, ConnectionError, OSError):
            answered = False
        assert answered == ok, version
    # plain HTTP on the TLS port is refused, not served
    with socket.create_connection(("127.0.0.1", s.tls_port), timeout=10) as raw:
        raw.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        raw.settimeout(10)
        try:
            data = raw.recv(4096)
        except OSError:
            data = b""
        assert b"200 OK" not in data


def test_sdk_without_project_id_over_https(tls_server):
    """BasicCredentials(ak, sk) without project_id: the SDK signs GET /v3/projects?name=REGION
    itself, then calls v1 with the id it found, all over HTTPS with a verified certificate."""
    s = tls_server
    out = sdk(s, s.tls_base, [
        {"method": "POST", "url": "/v1/{project_id}/service",
         "data": {"name": "sdk-tls", "model": "common-search"}},
        {"method": "GET", "url": "/v1/{project_id}/service/sdk-tls"},
        {"method": "POST", "url": "/v1/{project_id}/sdk-tls/image/check",
         "data": {"path": "nothing"}}])
    assert out["project_id"] == s.ident["project_id"], out
    assert [c.get("status") for c in out["calls"]] == [200, 200, 200], out
    assert out["calls"][1]["body"]["instanceName"] == "sdk-tls"
    assert out["calls"][2]["body"] == {"exist": "false"}


def test_sdk_without_project_id_over_http_and_signed_iam_reads(tls_server):
    s = tls_server
    out = sdk(s, s.base, [{"method": "GET", "url": "/v1/{project_id}/service/sdk-tls"}])
    assert out["project_id"] == s.ident["project_id"], out
    assert out["calls"][0]["status"] == 200, out
    # a region with no project of that name: the SDK finds none (IAM's empty list)
    out = sdk(s, s.base, [{"method": "GET", "url": "/v1/{project_id}/service/sdk-tls"}],
              region="nowhere")
    assert out["project_id"] is None and "error" in out["calls"][0], out
    # the signed reads directly, signed by the cloud's signer (query included)
    ak, sk = s.ident["ak"], s.ident["sk"]
    for path, key in [("/v3/projects", "projects"), ("/v3/auth/projects", "projects"),
                      ("/v3/auth/domains", "domains")]:
        spec_headers = {"Content-Type": "application/json"}
        hdrs, _ = node_sign(s.base + path, "GET", None, ak, sk, spec_headers)
        r = requests.get(s.base + path, headers=hdrs, timeout=30)
        assert r.status_code == 200, (path, r.text)
        items = r.json()[key]
        if key == "projects":
            assert [p["id"] for p in items] == [s.ident["project_id"]], items
        else:
            assert items[0]["name"] == "admin", items
        # a tampered signature is refused
        bad = dict(hdrs, Authorization=hdrs["Authorization"][:-4] + "0000")
        r = requests.get(s.base + path, headers=bad, timeout=30)
        assert r.status_code == 401 and r.json()["error_code"] == "APIG.0301", r.text
    r = requests.get(s.base + "/v3/projects", timeout=30)
    assert r.status_code == 401


def test_sighup_reloads_the_certificate(tls_server):
    s = tls_server
    assert peer_cert(s.tls_port) == pem_to_der(s.cert)
    new_cert, new_key = make_cert(s.dir, "b", cn="localhost")
    shutil.copy(new_cert, s.live_cert)
    shutil.copy(new_key, s.live_key)
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while peer_cert(s.tls_port) != pem_to_der(new_cert) and time.time() < deadline:
        time.sleep(0.1)
    assert peer_cert(s.tls_port) == pem_to_der(new_cert)
    assert s.proc.poll() is None, "SIGHUP must not stop the server"
    # a broken file: the reload fails, the server keeps the certificate it has
    with open(s.live_cert, "w") as f:
        f.write("not a certificate")
    s.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert s.proc.poll() is None
    assert peer_cert(s.tls_port) == pem_to_der(new_cert)
    assert "SIGHUP" in s.logs()
    shutil.copy(s.cert, s.live_cert)  # put the first one back for the other tests
    shutil.copy(s.cert.replace(".pem", ".key"), s.live_key)
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while peer_cert(s.tls_port) != pem_to_der(s.cert) and time.time() < deadline:
        time.sleep(0.1)
    assert peer_cert(s.tls_port) == pem_to_der(s.cert)


def test_bad_certificate_refuses_to_start(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("nope")
    r = subprocess.run([harness.BIN, "--data-dir", str(tmp_path / "data"), "--listen",
                        "127.0.0.1:0", "--tls-listen", "127.0.0.1:0", "--tls-cert-file",
                        str(bad), "--tls-key-file", str(bad)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "TLS" in r.stderr, r.stderr
