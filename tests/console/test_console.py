"""The web console (/console/) end to end: the real imagesearchd with auth on, driven in
Debian's headless Chromium (tests/node/console_e2e.mjs, playwright-core) as a user would:
sign in, create an instance, add photos by the file picker and by a drop, search with a
crop box drawn on the query (the top hit is the query's own image, with its score), narrow
by a tag filter, import a server-side folder as a job and watch it finish, read the metrics,
search an instance the CLI filled, delete the instance, sign out. Also the serving itself:
security headers, Content-Types, no path traversal, and `console.enabled = false`.

ISS_CONSOLE_SHOTS=DIR keeps the screenshots there (docs/console/ holds the committed ones).
"""
import http.client
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402

NODE_DIR = os.path.join(HERE, "..", "node")
CLI = os.environ.get("ISS_CLI_BIN", "")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data: "
       "http: https:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; "
       "base-uri 'none'")


def raw_get(server, target):
    """GET with the target sent exactly as written (no client-side '..' folding)."""
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    c.request("GET", target)
    r = c.getresponse()
    body = r.read()
    headers = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, headers, body


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("console")
    photos = harness.originals(16)
    for sub, picked in (("srv", photos[8:12]), ("cli", photos[12:16])):
        (root / sub).mkdir()
        for p in picked:
            shutil.copy(p, str(root / sub / os.path.basename(p)))
    s = harness.Server(extra_args=["--jobs-import-dirs", str(root)]).start()
    with open(os.path.join(s.data_dir, "bootstrap.json")) as f:
        ident = json.load(f)
    yield s, ident, root, photos
    s.close()


def test_console_is_served_with_strict_headers_and_nothing_else(setup):
    s = setup[0]
    st, h, _ = raw_get(s, "/")
    assert st == 302 and h["location"] == "/console/"
    st, h, body = raw_get(s, "/console/")
    assert st == 200 and h["content-type"] == "text/html; charset=utf-8"
    assert h["content-security-policy"] == CSP
    assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"
    html = body.decode()
    # no inline script or style, nothing loaded from elsewhere
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html and "<style" not in html and not re.search(r"\son[a-z]+=", html)
    for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert ref.startswith("/console/"), ref
        st, h, _ = raw_get(s, ref)
        assert st == 200 and h["content-security-policy"] == CSP, ref
    st, h, _ = raw_get(s, "/console/main.js")
    assert h["content-type"] == "text/javascript; charset=utf-8"
    assert raw_get(s, "/console/style.css")[1]["content-type"] == "text/css; charset=utf-8"
    for bad in ["/console/../CMakeLists.txt", "/console/..%2Fconsole.cc", "/console/%2e%2e",
                "/console/x/main.js", "/console/nope.js", "/console/embed.cmake",
                "/console/console.cc", "/console/.."]:
        st, h, _ = raw_get(s, bad)
        assert st in (400, 404), (bad, st)
        assert "main.js" not in h.get("content-type", "")


def test_the_instance_listing_needs_the_projects_credentials(setup):
    s = setup[0]
    st, _, body = raw_get(s, "/v1/%s/image-search/instances" % s.project)
    assert st == 401 and b"APIG.0301" in body
    st, out, _ = s.request("GET", "/image-search/instances")
    assert st == 200 and out["count"] == len(out["instances"])


def test_console_can_be_turned_off():
    s = harness.Server(extra_args=["--console-enabled", "false"]).start()
    try:
        assert raw_get(s, "/console/")[0] == 404
        assert raw_get(s, "/")[0] == 404
        assert raw_get(s, "/health")[0] == 200
    finally:
        s.close()


def test_a_user_drives_the_console_in_chromium(setup, tmp_path):
    s, ident, root, photos = setup
    assert os.path.exists("/usr/bin/chromium"), "chromium is missing: bash scripts/install-deps.sh"
    assert os.path.isdir(os.path.join(NODE_DIR, "node_modules", "playwright-core")), \
        "playwright-core is missing: (cd tests/node && npm ci)"
    # The newcomer's path first: the CLI imports a folder (a server-side job with progress).
    assert CLI, "ISS_CLI_BIN is not set"
    e = {k: v for k, v in os.environ.items() if not k.startswith("IMAGESEARCH_")}
    e.update(HOME=str(tmp_path), IMAGESEARCH_SK=ident["sk"])
    base = ["--endpoint", s.base, "--project", ident["project_id"], "--ak", ident["ak"]]
    run = lambda *a: subprocess.run([CLI] + base + list(a), env=e, capture_output=True,  # noqa
                                    text=True, timeout=120)
    r = run("instance", "create", "cli")
    assert r.returncode == 0, r.stderr
    r = run("import", "cli", str(root / "cli"))
    assert r.returncode == 0 and "[done] listed 4" in r.stderr, (r.stdout, r.stderr)

    shots = os.environ.get("ISS_CONSOLE_SHOTS") or str(tmp_path / "shots")
    os.makedirs(shots, exist_ok=True)
    spec = {"base": s.base, "domain": ident["domain"], "user": ident["user"],
            "password": ident["password"], "project": ident["project_name"],
            "red": photos[0:3], "blue": photos[3:5], "query": photos[1],
            "query_name": os.path.basename(photos[1]),
            "import_source": "file://%s/" % (root / "srv"), "import_count": 4,
            "cli_instance": "cli", "cli_query": photos[13],
            "cli_expect": "/cli/" + os.path.basename(photos[13]), "shots": shots}
    r = subprocess.run(["node", os.path.join(NODE_DIR, "console_e2e.mjs"), json.dumps(spec)],
                       cwd=NODE_DIR, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-6000:] + "\nserver log:\n" + s.logs()
    seen = json.loads(r.stdout)
    assert seen["landing_url"].endswith("/console/")
    assert re.match(r"Sign-in failed: [A-Z]+\.\d{4} ", seen["bad_signin"]), seen["bad_signin"]
    assert ident["user"] in seen["who"] and ident["project_id"] in seen["who"]
    assert seen["details_desc"] == "console test <b>not bold</b>"  # shown as text
    assert float(seen["top_sim"].split()[1]) > 0.5, seen
    assert seen["filtered_hits"] == 2 and seen["upload_ok"] == 2
    assert seen["metric_requests"] > 10 and seen["metric_routes"] > 3
    for name in ("signin", "instances", "search", "import-progress", "metrics"):
        assert os.path.getsize(os.path.join(shots, name + ".png")) > 1000
    # What the console did, as the API sees it.
    st, out, _ = s.request("GET", "/service/photos")
    assert harness.error_code(out) == "IS.4004", out  # deleted from the console
    st, out, _ = s.request("GET", "/image-search/instances")
    assert st == 200 and [(i["instanceName"], i["images"]) for i in out["instances"]] == \
        [("cli", 4)], out
    st, out, _ = s.request("GET", "/image-search/import-jobs")
    states = sorted((j["instance_name"], j["mode"], j["state"]) for j in out["jobs"])
    assert states == [("cli", "import", "done"), ("photos", "import", "done"),
                      ("photos", "sync", "cancelled")], states
