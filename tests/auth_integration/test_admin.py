"""The operator API (/admin/v1) and its CLI (`imagesearch admin`) against the real server with
auth on, while the server serves traffic: every admin operation, credential rotation without
a failed request, online backup under concurrent writes and its restore into a fresh server
(counts and search results identical), and CORS as an option."""
import json
import os
import subprocess
import sys
import threading
import time

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from test_auth import py_sign  # noqa: E402

CLI = os.environ.get("ISS_CLI_BIN", "")
ADMIN = "/admin/v1"


def login(s, user, password, project, domain="admin"):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "password": password, "domain": {"name": domain}}}},
        "scope": {"project": {"name": project}}}}
    return requests.post(s.base + "/v3/auth/tokens", json=body, timeout=30)


def admin(s, method, path, body=None, headers=None):
    h = dict(headers if headers is not None else s.headers)
    r = requests.request(method, s.base + ADMIN + path, headers=h,
                         data=None if body is None else json.dumps(body), timeout=60)
    try:
        return r.status_code, r.json()
    except ValueError:
        return r.status_code, r.text


def signed(s, method, path, ak, sk, body=b""):
    url = s.base + path
    h = py_sign(method, url, {"Content-Type": "application/json"}, body, ak, sk)
    return requests.request(method, url, headers=h, data=body, timeout=60)


class Traffic:
    """Searches and adds against one instance from another thread; every failure is kept."""

    def __init__(self, s, inst, image):
        self.s, self.inst, self.image = s, inst, image
        self.failures, self.calls, self.stop = [], 0, threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        i = 0
        while not self.stop.is_set():
            i += 1
            if i % 2:
                st, body, _ = self.s.search(self.inst, file=self.image, limit=3)
            else:
                st, body, _ = self.s.add(self.inst, "traffic-%d.jpg" % i, file_b64=self.image)
            self.calls += 1
            if st != 200:
                self.failures.append((st, body))

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.t.join(60)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    backups = str(tmp_path_factory.mktemp("backups"))
    s = harness.Server(extra_args=["--backup-dirs", backups,
                                   "--cors-origins", "https://app.example.com"]).start()
    with open(os.path.join(s.data_dir, "bootstrap.json")) as f:
        s.ident = json.load(f)
    s.backups = backups
    yield s
    s.close()


def test_operators_only(server):
    s = server
    st, body = admin(s, "GET", "/users", headers={})
    assert st == 401, body
    st, body = admin(s, "POST", "/users", {"name": "plain", "password": "plain-pass-1"})
    assert st == 200, body
    st, _ = admin(s, "PUT", "/users/admin/plain/projects/default")
    assert st == 200
    r = login(s, "plain", "plain-pass-1", "default")
    assert r.status_code == 201
    h = {"X-Auth-Token": r.headers["X-Subject-Token"]}
    st, body = admin(s, "GET", "/users", headers=h)
    assert st == 403 and body["error_code"] == "APIG.0302", body  # valid, not an operator
    st, body = admin(s, "POST", "/backups", {"target": s.backups + "/x"}, headers=h)
    assert st == 403 and not os.path.exists(s.backups + "/x")
    assert admin(s, "DELETE", "/users/admin/plain")[0] == 200


def test_every_admin_operation_while_serving(server):
    s = server
    img = harness.b64_file(harness.originals(1)[0])
    assert s.create("live")[0] == 200
    with Traffic(s, "live", img) as traffic:
        st, body = admin(s, "POST", "/projects", {"name": "team-b"})
        assert st == 200, body
        pid = body["project_id"]
        assert admin(s, "POST", "/projects", {"name": "team-b"})[1]["project_id"] == pid
        st, projects = admin(s, "GET", "/projects")
        assert pid in [p["id"] for p in projects["projects"]]

        # Bad input changes nothing.
        for bad in [{"name": "bob"}, {"name": "bob", "password": 12345678},
                    {"name": "bob", "password": "short"}, {"password": "long-enough"},
                    {"name": "bob", "password": "long-enough", "operator": "yes"}]:
            st, body = admin(s, "POST", "/users", bad)
            assert st == 400 and body["error_code"].startswith("IS.0"), (bad, body)
        st, users = admin(s, "GET", "/users")
        assert "bob" not in [u["name"] for u in users["users"]]

        st, body = admin(s, "POST", "/users", {"name": "bob", "password": "bob-password-1"})
        assert st == 200, body
        assert admin(s, "POST", "/users", {"name": "bob", "password": "x" * 9})[1][
            "error_code"] == "IS.3000"
        assert login(s, "bob", "bob-password-1", "team-b").status_code == 403  # no grant yet
        assert admin(s, "PUT", "/users/admin/bob/projects/team-b")[0] == 200
        r = login(s, "bob", "bob-password-1", "team-b")
        assert r.status_code == 201
        bob = {"X-Auth-Token": r.headers["X-Subject-Token"]}
        r = requests.post(s.base + "/v1/%s/service" % pid, headers=bob,
                          json={"name": "bobs", "model": "common-search"}, timeout=30)
        assert r.status_code == 200, r.text

        st, key = admin(s, "POST", "/users/admin/bob/keys", {})
        assert st == 200 and key["ak"] and key["sk"]
        assert signed(s, "GET", "/v1/%s/service/bobs" % pid, key["ak"], key["sk"]).status_code \
            == 200
        st, keys = admin(s, "GET", "/users/admin/bob/keys")
        assert [k["ak"] for k in keys["keys"]] == [key["ak"]]
        st, users = admin(s, "GET", "/users")
        bob_row = [u for u in users["users"] if u["name"] == "bob"][0]
        assert bob_row["keys"] == [key["ak"]] and bob_row["operator"] is False
        assert {"id": pid, "name": "team-b"} in bob_row["projects"]
        assert "hash" not in json.dumps(users) and key["sk"] not in json.dumps(users)

        # A password change ends the old tokens at once; the new password works.
        assert admin(s, "PUT", "/users/admin/bob/password", {"password": "bob-password-2"})[0] \
            == 200
        r = requests.get(s.base + "/v1/%s/service/bobs" % pid, headers=bob, timeout=30)
        assert r.status_code == 401, r.text
        assert login(s, "bob", "bob-password-1", "team-b").status_code == 401
        r = login(s, "bob", "bob-password-2", "team-b")
        assert r.status_code == 201
        bob = {"X-Auth-Token": r.headers["X-Subject-Token"]}

        # Operator on and off.
        assert admin(s, "GET", "/stats", headers=bob)[0] == 403
        assert admin(s, "PUT", "/users/admin/bob/operator", {"operator": True})[0] == 200
        assert admin(s, "GET", "/stats", headers=bob)[0] == 200
        assert admin(s, "PUT", "/users/admin/bob/operator", {"operator": False})[0] == 200
        assert admin(s, "GET", "/stats", headers=bob)[0] == 403

        # Revoking the project ends access to it.
        assert admin(s, "DELETE", "/users/admin/bob/projects/team-b")[0] == 200
        r = requests.get(s.base + "/v1/%s/service/bobs" % pid, headers=bob, timeout=30)
        assert r.status_code in (401, 403), r.text
        assert signed(s, "GET", "/v1/%s/service/bobs" % pid, key["ak"], key["sk"]).status_code \
            in (401, 403)

        # Instances, jobs and stats of every project.
        st, inst = admin(s, "GET", "/instances")
        names = {(i["project_id"], i["name"]) for i in inst["instances"]}
        assert (pid, "bobs") in names and (s.project, "live") in names
        st, jobs = admin(s, "GET", "/jobs")
        assert st == 200 and jobs["jobs"] == []
        st, stats = admin(s, "GET", "/stats")
        assert stats["instances"] >= 2 and stats["images"] >= 1

        # The last operator cannot lock everyone out.
        st, body = admin(s, "DELETE", "/users/admin/admin")
        assert st == 400, body
        assert admin(s, "PUT", "/users/admin/admin/operator", {"operator": False})[0] == 400
        st, body = admin(s, "DELETE", "/users/admin/bob")
        assert st == 200
        assert admin(s, "DELETE", "/users/admin/bob")[1]["error_code"] == "IS.3007"
        assert signed(s, "GET", "/v1/%s/service/bobs" % pid, key["ak"], key["sk"]).status_code \
            == 401
    assert traffic.calls > 5 and traffic.failures == [], traffic.failures


def test_credential_rotation_without_downtime(server):
    s = server
    old = {"ak": s.ident["ak"], "sk": s.ident["sk"]}
    current = dict(old)
    failures, calls, stop = [], [0], threading.Event()
    path = "/v1/%s/service/live" % s.project  # made by the test before

    def client():
        while not stop.is_set():
            k = dict(current)  # what the client is configured with right now
            r = signed(s, "GET", path, k["ak"], k["sk"])
            calls[0] += 1
            if r.status_code != 200:
                failures.append((k["ak"], r.status_code, r.text))

    t = threading.Thread(target=client, daemon=True)
    t.start()
    time.sleep(0.5)
    st, new = admin(s, "POST", "/users/admin/admin/keys", {})
    assert st == 200
    time.sleep(0.5)
    current.update(new)  # the client switches to the new key
    time.sleep(0.5)
    assert admin(s, "DELETE", "/keys/" + old["ak"])[0] == 200  # then the old one is retired
    time.sleep(0.5)
    stop.set()
    t.join(30)
    assert calls[0] > 10 and failures == [], failures[:3]
    r = signed(s, "GET", path, old["ak"], old["sk"])
    assert r.status_code == 401 and r.json()["error_code"] == "APIG.0301", r.text
    # The bootstrap file no longer shows the retired key (nor its secret).
    with open(os.path.join(s.data_dir, "bootstrap.json")) as f:
        text = f.read()
    assert old["ak"] not in text and old["sk"] not in text and "password" in json.loads(text)
    s.ident.update(new)


def cli(s, *args, stdin=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGESEARCH_")}
    env.update(HOME=os.path.dirname(s.data_dir), IMAGESEARCH_ENDPOINT=s.base,
               IMAGESEARCH_AK=s.ident["ak"], IMAGESEARCH_SK=s.ident["sk"])
    r = subprocess.run([CLI] + list(args), env=env, input=stdin, capture_output=True, text=True,
                       timeout=300)
    return r.returncode, r.stdout, r.stderr


def test_cli_admin_commands(server):
    s = server
    assert CLI, "ISS_CLI_BIN is not set"
    rc, out, err = cli(s, "admin", "user-add", "carol", "--password-file", "-",
                       stdin="carol-password\n")
    assert rc == 0, err
    assert "carol-password" not in out
    rc, out, err = cli(s, "admin", "grant", "carol", "default")
    assert rc == 0, err
    assert login(s, "carol", "carol-password", "default").status_code == 201
    rc, out, err = cli(s, "admin", "key-add", "carol")
    assert rc == 0 and json.loads(out)["sk"], err
    rc, out, err = cli(s, "admin", "users", "--json")
    carol = [u for u in json.loads(out)["users"] if u["name"] == "carol"][0]
    assert len(carol["keys"]) == 1
    rc, out, err = cli(s, "admin", "key-del", carol["keys"][0])
    assert rc == 0, err
    rc, out, err = cli(s, "admin", "user-del", "carol")
    assert rc == 0, err
    rc, out, err = cli(s, "admin", "user-del", "carol")
    assert rc == 1 and "IS.3007" in err
    rc, out, err = cli(s, "admin", "user-add", "dave")  # no password source: usage
    assert rc == 2
    rc, out, err = cli(s, "admin", "frobnicate")
    assert rc == 2


def paths_present(s, inst, paths):
    present = set()
    for p in paths:
        st, body, _ = s.check(inst, p)
        assert st == 200, body
        if body["exist"] in ("true", True):
            present.add(p)
    return present


def searches(s, inst, queries):
    out = []
    for q in queries:
        st, body, _ = s.search(inst, file=q, limit=100)  # the whole ranking
        assert st == 200, body
        # Ties (the same photo under several paths) may come in either order.
        out.append(sorted((-round(r["sim"], 5), r["path"]) for r in body["result"]))
    return out


def restore_and_start(s, backup, tmp):
    data = os.path.join(str(tmp), "restored")
    r = subprocess.run([harness.BIN, "admin", "restore", "--from", backup, "--data-dir", data],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["verified"] is True
    return harness.Server(data_dir=data).start()


def test_backup_restore_round_trip_under_writes(server, tmp_path):
    s = server
    photos = harness.originals(12)
    imgs = [harness.b64_file(p) for p in photos]
    assert s.create("bk")[0] == 200
    for i, b in enumerate(imgs):
        assert s.add("bk", "base-%d.jpg" % i, file_b64=b)[0] == 200
    s.stop()  # a clean stop writes the index snapshot a backup copies
    s.start()

    acked, sent, stop = [], [], threading.Event()  # (path, when acknowledged / sent)

    def writer():
        i = 0
        while not stop.is_set():
            p = "w-%d.jpg" % i
            sent.append((p, time.time()))
            if s.add("bk", p, file_b64=imgs[i % len(imgs)])[0] == 200:
                acked.append((p, time.time()))
            i += 1

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    time.sleep(1.0)
    started = time.time()
    rc, out, err = cli(s, "admin", "backup", s.backups + "/live", "--json")
    finished = time.time()
    time.sleep(0.5)
    stop.set()
    t.join(60)
    assert rc == 0, err
    info = json.loads(out)
    assert info["state"] == "done" and info["index_snapshots"] >= 1, info
    before = {p for p, at in acked if at < started}
    during = {p for p, at in sent if at <= finished}
    assert before, "no write was acknowledged before the backup"
    st, listed = admin(s, "GET", "/backups/" + info["id"])
    assert st == 200 and listed["state"] == "done"

    r = restore_and_start(s, s.backups + "/live", tmp_path / "a")
    try:
        got = paths_present(r, "bk", [p for p, _ in sent])
        # Everything acknowledged before the backup began is there; nothing sent after it
        # ended is, and every base image is.
        assert before <= got <= during, (len(before), len(got), len(during))
        assert paths_present(r, "bk", ["base-%d.jpg" % i for i in range(len(imgs))]) == {
            "base-%d.jpg" % i for i in range(len(imgs))}
        assert r.search("bk", file=imgs[3], limit=1)[1]["result"][0]["path"] in (
            {"base-3.jpg"} | {p for p in got if int(p[2:-4]) % len(imgs) == 3})
    finally:
        r.close()

    # Quiescent: a second backup restores to the same counts and the same search answers.
    st, b2 = admin(s, "POST", "/backups", {"target": s.backups + "/quiet"})
    assert st == 202 and b2["state"] == "running", b2
    deadline = time.time() + 120
    while b2["state"] == "running" and time.time() < deadline:
        time.sleep(0.2)
        b2 = admin(s, "GET", "/backups/" + b2["id"])[1]
    assert b2["state"] == "done", b2
    assert admin(s, "POST", "/backups", {"target": s.backups + "/quiet"})[0] == 400  # exists
    assert admin(s, "POST", "/backups", {"target": "/tmp/elsewhere"})[0] == 400
    assert admin(s, "POST", "/backups", {"target": s.backups + "/../escape"})[0] == 400
    r = restore_and_start(s, s.backups + "/quiet", tmp_path / "b")
    try:
        want = s.request("GET", "/service/bk")[1]
        got = r.request("GET", "/service/bk")[1]
        assert got == want
        assert searches(r, "bk", imgs[:4]) == searches(s, "bk", imgs[:4])
        assert r.search("bk", file=imgs[0], limit=1)[1]["result"][0]["sim"] > 0.99
    finally:
        r.close()


def test_damaged_backup_is_refused(server, tmp_path):
    s = server
    backup = s.backups + "/quiet"
    victim = None
    for root, _, files in os.walk(os.path.join(backup, "db")):
        for f in files:
            if f.endswith(".sst"):
                victim = os.path.join(root, f)
    assert victim
    copy = str(tmp_path / "damaged")
    subprocess.run(["cp", "-a", backup, copy], check=True)
    target = victim.replace(backup, copy)
    with open(target, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    r = subprocess.run([harness.BIN, "admin", "restore", "--from", copy, "--data-dir",
                        str(tmp_path / "never")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "differs from the manifest" in r.stderr, r.stderr
    assert not os.path.exists(str(tmp_path / "never" / "db"))


def test_cors_is_an_option(server):
    s = server
    url = s.base + "/v1/%s/service/live" % s.project
    pre = requests.options(url, headers={"Origin": "https://app.example.com",
                                         "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": "x-auth-token"},
                           timeout=30)
    assert pre.status_code == 204
    assert pre.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "X-Auth-Token" in pre.headers["Access-Control-Allow-Headers"]
    r = requests.get(url, headers=dict(s.headers, Origin="https://app.example.com"), timeout=30)
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    other = requests.get(url, headers=dict(s.headers, Origin="https://evil.example"), timeout=30)
    assert "Access-Control-Allow-Origin" not in other.headers
    pre = requests.options(url, headers={"Origin": "https://evil.example",
                                         "Access-Control-Request-Method": "POST"}, timeout=30)
    assert "Access-Control-Allow-Origin" not in pre.headers
