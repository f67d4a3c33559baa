"""Identity and access through the real server: IAM tokens, the cloud's own AK/SK signer
(npm @huaweicloud/huaweicloud-sdk-core, tests/node/sign.js) on every operation, and a
security matrix in which every refused request changes nothing."""
import base64
import datetime
import hashlib
import hmac
import json
import os
import subprocess
import sys
import urllib.parse

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402

NODE_SIGNER = os.path.join(HERE, "..", "node", "sign.js")
# Auth on: the harness bootstraps the admin identity and logs in with a token.
os.environ["ISS_TEST_AUTH_MODULE"] = os.path.join(HERE, "token_login.py")
SECOND_USER = ("bob", "bob-password-1")


def admin(bin_path, data_dir, *args, stdin=None):
    out = subprocess.run([bin_path, "admin", *args, "--data-dir", data_dir], input=stdin,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else None


@pytest.fixture(scope="module")
def server():
    s = harness.Server()
    ident = admin(harness.BIN, s.data_dir, "bootstrap")
    # A second user with a project of their own (for cross-project checks).
    admin(harness.BIN, s.data_dir, "user-add", "--user", SECOND_USER[0], "--password-file", "-",
          stdin=SECOND_USER[1] + "\n")
    other = admin(harness.BIN, s.data_dir, "project-add", "--name", "other")
    admin(harness.BIN, s.data_dir, "grant", "--user", SECOND_USER[0], "--project", "other")
    s.start()
    s.ident, s.other_project = ident, other["project_id"]
    yield s
    s.close()


def token(server, user, password, project_name):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "password": password, "domain": {"name": "admin"}}}},
        "scope": {"project": {"name": project_name}}}}
    r = requests.post(server.base + "/v3/auth/tokens", json=body, timeout=30)
    return r


def node_sign(endpoint, method, data, ak, sk, headers=None):
    spec = {"endpoint": endpoint, "method": method, "ak": ak, "sk": sk,
            "headers": headers or {"Content-Type": "application/json"}}
    if data is not None:
        spec["data"] = data
    out = subprocess.run(["node", NODE_SIGNER, json.dumps(spec)], check=True,
                         capture_output=True, text=True).stdout
    signed = json.loads(out)
    hdrs = {k: v for k, v in signed["headers"].items() if k.lower() != "host"}
    return hdrs, signed["body"].encode()


def py_sign(method, url, headers, body, ak, sk, date=None, signed=None):
    """An independent signer written from shared/docs/auth.md (for crafted cases)."""
    u = urllib.parse.urlsplit(url)
    date = date or datetime.datetime.utcnow().strftime("%Y%m%dT%H%M%SZ")
    headers = dict(headers)
    headers["X-Sdk-Date"] = date
    headers["Host"] = u.netloc
    names = signed or sorted(k.lower() for k in headers)
    lower = {k.lower(): v for k, v in headers.items()}
    segs = [urllib.parse.quote(urllib.parse.unquote(s), safe="-_.~") for s in u.path.split("/")]
    uri = "/".join(segs)
    uri = uri if uri.endswith("/") else uri + "/"
    q = sorted(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
    query = "&".join("%s=%s" % (urllib.parse.quote(k, safe="-_.~"),
                                urllib.parse.quote(v, safe="-_.~")) for k, v in q)
    canon = "\n".join([method, uri, query,
                       "".join("%s:%s\n" % (n, lower[n].strip()) for n in names),
                       ";".join(names), hashlib.sha256(body).hexdigest()])
    sts = "SDK-HMAC-SHA256\n%s\n%s" % (date, hashlib.sha256(canon.encode()).hexdigest())
    sig = hmac.new(sk.encode(), sts.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = "SDK-HMAC-SHA256 Access=%s, SignedHeaders=%s, Signature=%s" % (
        ak, ";".join(names), sig)
    del headers["Host"]
    return headers


def test_token_issue_shape_and_project_lookup(server):
    r = token(server, "admin", server.ident["password"], "default")
    assert r.status_code == 201
    t = r.json()["token"]
    assert t["methods"] == ["password"]
    assert t["project"]["id"] == server.ident["project_id"]
    assert t["project"]["domain"]["name"] == "admin"
    assert t["expires_at"].endswith("Z") and t["issued_at"].endswith("Z")
    tok = r.headers["X-Subject-Token"]
    p = requests.get(server.base + "/v3/projects?name=default", headers={"X-Auth-Token": tok})
    assert p.status_code == 200
    assert [x["id"] for x in p.json()["projects"]] == [server.ident["project_id"]]
    assert token(server, "admin", "wrong-password", "default").status_code == 401
    assert token(server, "nobody", "whatever-pw", "default").status_code == 401


def test_every_operation_with_the_official_node_signer(server):
    ak, sk, pid = server.ident["ak"], server.ident["sk"], server.ident["project_id"]
    base = server.base + "/v1/" + pid
    img = harness.b64_file(harness.originals(1)[0])
    steps = [
        ("POST", "/service", {"name": "signed", "model": "common-search", "tags": ["k"]},
         lambda j: j["instanceName"] == "signed"),
        ("POST", "/signed/image", {"path": "a.jpg", "file": img, "tags": {"k": "v"}},
         lambda j: j == {"result": "Success"}),
        ("POST", "/signed/image/check", {"path": "a.jpg"}, lambda j: j == {"exist": "true"}),
        ("POST", "/signed/image/search", {"file": img, "limit": 3},
         lambda j: j["result"][0]["path"] == "a.jpg"),
        ("PUT", "/signed/image", {"path": "a.jpg", "tags": {"k": "w"}},
         lambda j: j == {"result": "Success"}),
        ("GET", "/service/signed", None, lambda j: j["instanceName"] == "signed"),
        ("DELETE", "/signed/image", {"path": "a.jpg"}, lambda j: j == {"result": "Success"}),
        ("DELETE", "/service/signed", None, lambda j: j == {"result": "success"}),
    ]
    for method, path, data, ok in steps:
        headers, body = node_sign(base + path, method, data, ak, sk)
        r = requests.request(method, base + path, data=body or None, headers=headers, timeout=60)
        assert r.status_code == 200, (method, path, r.text)
        assert ok(r.json()), (method, path, r.text)


ENDPOINTS = [
    ("POST", "/service", {"name": "x1", "model": "common-search"}),
    ("GET", "/service/x1", None),
    ("DELETE", "/service/x1", None),
    ("POST", "/inst/image", {"path": "z.jpg", "file": "AAAA"}),
    ("POST", "/inst/image/check", {"path": "z.jpg"}),
    ("POST", "/inst/image/search", {"tags": {"k": "v"}}),
    ("PUT", "/inst/image", {"path": "z.jpg", "tags": {"k": "v"}}),
    ("DELETE", "/inst/image", {"path": "z.jpg"}),
]


def snapshot(server, tok):
    h = {"X-Auth-Token": tok}
    pid = server.ident["project_id"]
    inst = requests.get(server.base + "/v1/%s/service" % pid, headers=h).text
    chk = requests.post(server.base + "/v1/%s/inst/image/check" % pid, headers=h,
                        json={"path": "z.jpg"}).text
    return inst, chk


@pytest.mark.parametrize("method,path,data", ENDPOINTS)
def test_security_matrix(server, method, path, data):
    pid = server.ident["project_id"]
    ak, sk = server.ident["ak"], server.ident["sk"]
    admin_tok = token(server, "admin", server.ident["password"], "default").headers[
        "X-Subject-Token"]
    requests.post(server.base + "/v1/%s/service" % pid, headers={"X-Auth-Token": admin_tok},
                  json={"name": "inst", "model": "common-search", "tags": ["k"]})
    before = snapshot(server, admin_tok)
    url = server.base + "/v1/" + pid + path
    body = json.dumps(data).encode() if data is not None else b""
    ct = {"Content-Type": "application/json"}
    bob = token(server, SECOND_USER[0], SECOND_USER[1], "other").headers["X-Subject-Token"]
    old = (datetime.datetime.utcnow() - datetime.timedelta(minutes=20)).strftime(
        "%Y%m%dT%H%M%SZ")
    future = (datetime.datetime.utcnow() + datetime.timedelta(minutes=20)).strftime(
        "%Y%m%dT%H%M%SZ")
    signed = py_sign(method, url, ct, body, ak, sk)
    cases = {
        "no credentials": (ct, body, url, 401),
        "empty token": (dict(ct, **{"X-Auth-Token": ""}), body, url, 401),
        "garbage token": (dict(ct, **{"X-Auth-Token": "ISS1.abc.def"}), body, url, 401),
        "other project's token": (dict(ct, **{"X-Auth-Token": bob}), body, url, 403),
        "wrong SK": (py_sign(method, url, ct, body, ak, "wrong-secret"), body, url, 401),
        "unknown AK": (py_sign(method, url, ct, body, "NOSUCHKEY", sk), body, url, 401),
        "tampered body": (signed, body + b" ", url, 401),
        "tampered path": (signed, body, url + ("/check" if url.endswith("image") else "x"),
                          None),
        "tampered query": (signed, body, url + "?x=1", 401),
        "stale date": (py_sign(method, url, ct, body, ak, sk, date=old), body, url, 401),
        "future date": (py_sign(method, url, ct, body, ak, sk, date=future), body, url, 401),
        "signed header removed": ({k: v for k, v in signed.items() if k != "Content-Type"},
                                  body, url, 401),
        "host not signed": (py_sign(method, url, ct, body, ak, sk,
                                    signed=["content-type", "x-sdk-date"]), body, url, 401),
    }
    for name, (headers, b, u, want) in cases.items():
        r = requests.request(method, u, data=b or None, headers=headers, timeout=30)
        if want is None:  # a tampered path may route elsewhere: it must still be refused
            # (unknown path 404, or a known path for other methods: IS.0010 before auth)
            refused = r.status_code in (401, 404) or (
                r.status_code == 400 and r.json()["error_code"] == "IS.0010")
            assert refused, (name, r.status_code, r.text)
            continue
        assert r.status_code == want, (name, r.status_code, r.text)
        code = r.json()["error_code"]
        assert code == ("APIG.0302" if want == 403 else "APIG.0301"), (name, r.text)
    # A valid signature still works (the matrix did not lock the key out)...
    ok = requests.request(method, url, data=body or None, headers=signed, timeout=30)
    assert ok.status_code in (200, 400), ok.text
    if ok.status_code == 400:  # refused by validation, never by auth
        assert not ok.json()["error_code"].startswith("APIG"), ok.text
    # ...and nothing the refused requests carried was applied.
    if (method, path) not in (("POST", "/service"), ("DELETE", "/service/x1")):
        assert snapshot(server, admin_tok)[1] == before[1]
    requests.delete(server.base + "/v1/%s/service/x1" % pid,
                    headers={"X-Auth-Token": admin_tok})


def test_replayed_signature_with_a_changed_body_is_refused(server):
    pid, ak, sk = server.ident["project_id"], server.ident["ak"], server.ident["sk"]
    url = server.base + "/v1/%s/service" % pid
    body = json.dumps({"name": "replay1", "model": "common-search"}).encode()
    h = py_sign("POST", url, {"Content-Type": "application/json"}, body, ak, sk)
    assert requests.post(url, data=body, headers=h).status_code == 200
    evil = json.dumps({"name": "replay2", "model": "common-search"}).encode()
    r = requests.post(url, data=evil, headers=h)
    assert r.status_code == 401 and r.json()["error_code"] == "APIG.0301"
    tok = token(server, "admin", server.ident["password"], "default").headers["X-Subject-Token"]
    r = requests.get(server.base + "/v1/%s/service/replay2" % pid, headers={"X-Auth-Token": tok})
    assert r.json()["error_code"] == "IS.4004"


def test_errors_never_reveal_whether_an_instance_exists(server):
    pid = server.ident["project_id"]
    a = requests.get(server.base + "/v1/%s/service/inst" % pid)
    b = requests.get(server.base + "/v1/%s/service/does-not-exist" % pid)
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json()


def test_rate_limit_from_the_config_answers_429_with_retry_after():
    s = harness.Server(extra_args=["--auth-address-rate", "1", "--auth-address-burst", "3"])
    try:
        s.start()
        answers = [requests.get(s.base + "/v1/%s/service/x" % s.project, headers=s.headers)
                   for _ in range(10)]
        limited = [r for r in answers if r.status_code == 429]
        assert len(limited) >= 5, [r.status_code for r in answers]
        assert limited[0].json()["error_code"] == "APIG.0308"
        assert int(limited[0].headers["Retry-After"]) >= 1
    finally:
        s.close()


def test_bootstrap_file_never_shows_a_stale_secret():
    """The first identity's secrets stay in bootstrap.json (and `admin bootstrap`) only while
    they are current: after `passwd` the password is gone, after `key-del` of its key the
    AK/SK are gone; passwords come from a file or stdin, never argv."""
    s = harness.Server()
    try:
        d = s.data_dir
        first = admin(harness.BIN, d, "bootstrap")
        path = os.path.join(d, "bootstrap.json")
        assert {"password", "ak", "sk"} <= set(json.load(open(path)))
        with pytest.raises(subprocess.CalledProcessError):  # the old flag is gone
            admin(harness.BIN, d, "passwd", "--user", "admin", "--password", "x" * 12)
        pw_file = os.path.join(os.path.dirname(d), "pw")
        with open(pw_file, "w") as f:
            f.write("a new long password\n")
        admin(harness.BIN, d, "passwd", "--user", "admin", "--password-file", pw_file)
        now = json.load(open(path))
        assert "password" not in now and now["ak"] == first["ak"] and now["sk"] == first["sk"]
        assert first["password"] not in open(path).read()
        admin(harness.BIN, d, "key-del", "--ak", first["ak"])
        now = json.load(open(path))
        assert not {"password", "ak", "sk"} & set(now), now
        assert first["sk"] not in open(path).read()
        again = admin(harness.BIN, d, "bootstrap")
        assert not {"password", "ak", "sk"} & set(again), again
        assert again["project_id"] == first["project_id"]
        # the new password works, the old one does not (the harness's own login would use
        # the first password: this test logs in itself)
        class OwnLogin:
            @staticmethod
            def login(base):
                return first["project_id"], {}
        s.auth = OwnLogin()
        s.start()
        body = lambda pw: {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "password": pw, "domain": {"name": "admin"}}}},
            "scope": {"project": {"name": "default"}}}}
        assert requests.post(s.base + "/v3/auth/tokens", json=body("a new long password"),
                             timeout=30).status_code == 201
        assert requests.post(s.base + "/v3/auth/tokens", json=body(first["password"]),
                             timeout=30).status_code == 401
    finally:
        s.close()
