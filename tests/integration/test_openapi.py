"""docs/openapi.json against the real server, with auth on (tokens, an AK/SK signature, no
credentials), so that every route is served, IAM included.

- GET /openapi.json is a valid OpenAPI 3.0 document: the OpenAPI Initiative's meta-schema
  (Debian's openapi-specification) checked with python3-jsonschema, every $ref resolves,
  every path parameter is declared, operation ids are unique.
- A real request for every documented operation, successes and typical errors: each
  answer's status must be listed for that path and method, and its body must match the
  listed schema (and media type, and required headers). Each request body sent is checked
  against the operation's request schema too: the ones meant to be valid must match, the
  ones meant to break a documented limit must not (so the document states that limit).
- The last test fails naming every documented operation no request answered with success.

tests/server/openapi_routes_test.cc checks the document's paths against the route table.
"""
import copy
import http.client
import json
import os
import re
import sys
import time

import jsonschema
import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
AUTH_DIR = os.path.join(HERE, "..", "auth_integration")
sys.path.insert(0, AUTH_DIR)
# Auth on whatever ctest says: without credentials the IAM routes are not even registered.
os.environ["ISS_TEST_AUTH_MODULE"] = os.path.join(AUTH_DIR, "token_login.py")
import harness  # noqa: E402
from test_auth import admin, py_sign  # noqa: E402  (the admin CLI; the AK/SK signer)

DOC_PATH = os.path.join(HERE, "..", "..", "docs", "openapi.json")
META_SCHEMA = "/usr/share/openapi-specification/schemas/v3.0/schema.json"
GOLDEN = os.path.join(HERE, "..", "data", "golden.jpg")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
LOGIN_BURST = 10
# Requests per source address on authenticated routes: far above what the suite sends from
# 127.0.0.1, reached from another loopback address in a fraction of a second.
ADDRESS_RATE, ADDRESS_BURST = 20, 300
BOB_PASSWORD = "bob-password-1"


class Spec:
    """The document, with OpenAPI 3.0's `nullable` turned into JSON Schema types so that
    jsonschema's draft-4 validator (3.0's dialect) checks answers against it."""

    def __init__(self, doc):
        self.doc = doc
        self.schema_doc = self._nullable(copy.deepcopy(doc))
        self.resolver = jsonschema.RefResolver.from_schema(self.schema_doc)
        self.templates = []  # (regex, literal weight, template)
        for template in doc["paths"]:
            segs = template.strip("/").split("/")
            weight = sum(1 << (len(segs) - i) for i, s in enumerate(segs) if "{" not in s)
            rx = "^/" + "/".join("[^/]+" if "{" in s else re.escape(s) for s in segs) + "$"
            self.templates.append((re.compile(rx), weight, template))
        self.seen = {}  # (template, method) -> statuses answered

    @classmethod
    def _nullable(cls, node):
        if isinstance(node, dict):
            if node.pop("nullable", False) and "type" in node:
                node["type"] = [node["type"], "null"]
            for v in node.values():
                cls._nullable(v)
        elif isinstance(node, list):
            for v in node:
                cls._nullable(v)
        return node

    def deref(self, node):
        while "$ref" in node:
            node = self.resolver.resolve(node["$ref"])[1]
        return node

    def template(self, path):
        """The documented path a URL path matches (literal segments win, as in the router)."""
        hits = [(w, t) for rx, w, t in self.templates if rx.match(path)]
        assert hits, "%s matches no documented path" % path
        return max(hits)[1]

    def operation(self, template, method):
        op = self.schema_doc["paths"][template].get(method.lower())
        assert op is not None, "%s %s is not documented" % (method, template)
        return op

    def errors(self, schema, value):
        v = jsonschema.Draft4Validator(schema, resolver=self.resolver)
        return ["%s: %s" % ("/".join(map(str, e.absolute_path)), e.message[:200])
                for e in v.iter_errors(value)]

    def check_request(self, template, method, body, valid):
        op = self.operation(template, method)
        rb = self.deref(op.get("requestBody", {}))
        schema = rb.get("content", {}).get("application/json", {}).get("schema")
        where = "%s %s request" % (method, template)
        assert schema is not None, where + ": the document has no request body schema"
        errs = self.errors(schema, body)
        if valid:
            assert not errs, "%s does not match its schema: %s" % (where, errs)
        else:
            assert errs, "%s breaks a limit the document does not state: %s" % (
                where, json.dumps(body)[:300])

    def check_response(self, template, method, status, content_type, headers, text):
        op = self.operation(template, method)
        where = "%s %s -> %d" % (method, template, status)
        listed = op["responses"]
        assert str(status) in listed, "%s: status not documented (%s): %s" % (
            where, sorted(listed), text[:300])
        resp = self.deref(listed[str(status)])
        for name, h in resp.get("headers", {}).items():
            if self.deref(h).get("required"):
                assert name.lower() in headers, "%s: header %s missing" % (where, name)
        media = resp.get("content", {})
        mt = (content_type or "").split(";")[0].strip()
        assert mt in media, "%s: media type %r not documented (%s)" % (where, mt, list(media))
        if mt == "application/json":
            answer = json.loads(text)
            errs = self.errors(media[mt]["schema"], answer)
            assert not errs, "%s: the body does not match its schema: %s\n%s" % (
                where, errs, text[:500])
            if status == 400:  # the codes an operation answers are listed in its 400
                assert answer["error_code"] in resp["description"], (
                    "%s: %s is not among the codes its 400 lists" % (where, answer["error_code"]))
        self.seen.setdefault((template, method.lower()), set()).add(status)


@pytest.fixture(scope="module")
def spec():
    with open(DOC_PATH) as f:
        return Spec(json.load(f))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    photos = tmp_path_factory.mktemp("photos")
    with open(GOLDEN, "rb") as f:
        jpeg = f.read()
    for name in ("a.jpg", "b/c.jpg"):
        os.makedirs(os.path.dirname(str(photos / name)), exist_ok=True)
        (photos / name).write_bytes(jpeg)
    (photos / "notes.txt").write_bytes(b"not an image")  # a row of the failure report
    backups = tmp_path_factory.mktemp("backups")
    s = harness.Server(extra_args=[
        "--backup-dirs", str(backups), "--jobs-import-dirs", str(photos), "--auth-login-rate", "1", "--auth-login-burst",
        str(LOGIN_BURST), "--auth-address-rate", str(ADDRESS_RATE), "--auth-address-burst",
        str(ADDRESS_BURST)])
    # A user who is not an operator (before the start: the admin CLI opens the database).
    admin(harness.BIN, s.data_dir, "user-add", "--user", "bob", "--password-file", "-",
          stdin=BOB_PASSWORD + "\n")
    admin(harness.BIN, s.data_dir, "grant", "--user", "bob", "--project", "default")
    s.start()
    s.photos = str(photos)
    s.backups = str(backups)
    s.ident = s.auth._identity
    yield s
    s.close()


def call(spec, s, method, path, body=None, raw=None, headers=None, creds=True, valid=True,
         status=None, code=None):
    """One real request, checked against the document (see the module's comment). `path`
    is the URL's path (and query); `creds`: send the suite's token. `valid`: the body is
    meant to match the request schema (None: do not check, e.g. not JSON)."""
    url_path = path.split("?")[0]
    template = spec.template(url_path)
    if body is not None and valid is not None:
        spec.check_request(template, method, body, valid)
    h = dict(s.headers) if creds else {}
    h.update(headers or {})
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    if data is not None:
        h.setdefault("Content-Type", "application/json")
    r = requests.request(method, s.base + path, data=data, headers=h, timeout=60)
    spec.check_response(template, method, r.status_code, r.headers.get("Content-Type"),
                        r.headers, r.text)
    if status is not None:
        assert r.status_code == status, (method, path, r.status_code, r.text[:300])
    if code is not None:
        assert r.json().get("error_code") == code, (method, path, r.text[:300])
    return r.json() if "json" in r.headers.get("Content-Type", "") else r.text


def test_the_served_document_is_valid_openapi_3(spec, server):
    r = requests.get(server.base + "/openapi.json", timeout=30)  # public: no credentials
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    served = r.json()
    assert served == spec.doc, "the server answers another document than docs/openapi.json"
    with open(META_SCHEMA) as f:
        meta = json.load(f)
    errs = list(jsonschema.Draft4Validator(meta).iter_errors(served))
    assert not errs, ["%s: %s" % (list(e.absolute_path), e.message[:300]) for e in errs[:10]]
    # what the meta-schema does not check: references, path parameters, unique ids
    refs = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(served)
    for ref in refs:
        assert ref.startswith("#/"), ref
        spec.resolver.resolve(ref)  # raises when it does not resolve
    ids = []
    for template, item in served["paths"].items():
        names = set(re.findall(r"{([^}]+)}", template))
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            ids.append(op["operationId"])
            params = [spec.deref(p) for p in item.get("parameters", []) + op.get("parameters",
                                                                                  [])]
            declared = {p["name"] for p in params if p["in"] == "path"}
            assert declared == names, (method, template, declared, names)
            assert op.get("x-auth-policy") in ("public", "project", "identity", "operator")
            assert op["responses"], (method, template)
    assert len(ids) == len(set(ids)), "operationIds repeat"


def test_v1_instances_and_images(spec, server):
    s, p = server, "/v1/%s" % server.ident["project_id"]
    img = harness.b64_file(GOLDEN)
    c = lambda *a, **k: call(spec, s, *a, **k)
    new = {"name": "oa", "model": "common-search", "description": "d", "level": 1000000,
           "tags": ["color"]}
    assert c("POST", p + "/service", new, status=200)["instanceName"] == "oa"
    c("POST", p + "/service", new, status=400, code="IS.3000")
    for bad, code in [({"name": "Bad!", "model": "common-search"}, "IS.0007"),
                      ({"name": "service", "model": "common-search"}, "IS.0007"),
                      ({"name": "x" * 17, "model": "common-search"}, "IS.0007"),
                      ({"name": "oc"}, "IS.0001"),
                      ({"name": "oc", "model": "common-search", "level": 7}, "IS.3035"),
                      ({"name": "oc", "model": "common-search", "tags": ["Up"]}, "IS.3026"),
                      ({"name": "oc", "model": "common-search", "description": "d" * 513},
                       "IS.3036")]:
        c("POST", p + "/service", bad, valid=False, status=400, code=code)
    c("POST", p + "/service", {"name": "oc", "model": "no-such-model"}, status=400,
      code="IS.3014")
    c("POST", p + "/service", raw="not json", valid=None, status=400, code="IS.0008")
    c("POST", p + "/service", {"name": "ob", "model": "common-search", "tags": ["color"]},
      status=200)
    c("GET", p + "/service/oa", status=200)
    c("GET", p + "/service/nope", status=400, code="IS.4004")

    c("POST", p + "/oa/image", {"path": "g.jpg", "file": img, "tags": {"color": "red"}},
      status=200)
    c("POST", p + "/ob/image", {"path": "h.jpg", "file": img}, status=200)
    c("POST", p + "/nope/image", {"path": "g.jpg", "file": img}, status=400, code="IS.2019")
    c("POST", p + "/oa/image", {"path": "g.jpg", "file": img, "tags": {"size": "1"}},
      status=400, code="IS.1004")
    c("POST", p + "/oa/image", {"path": "g.jpg", "file": "%%%"}, status=400, code="IS.2007")
    c("POST", p + "/oa/image", {"path": "g.jpg"}, status=400, code="IS.2015")
    c("POST", p + "/oa/image", {"path": "x" * 2049, "file": img}, valid=False, status=400,
      code="IS.0016")
    c("POST", p + "/oa/image", {"path": "g.jpg", "file": img, "tags": {"color": "v" * 65}},
      valid=False, status=400, code="IS.1003")
    c("POST", p + "/oa/image", {"path": 5}, valid=False, status=400, code="IS.0002")

    assert c("POST", p + "/oa/image/check", {"path": "g.jpg"}, status=200)["exist"] == "true"
    assert c("POST", p + "/oa/image/check", {"path": "no"}, status=200)["exist"] == "false"
    c("POST", p + "/oa/image/check", {"path": ""}, valid=False, status=400, code="IS.0003")

    page = c("POST", p + "/oa/image/search", {"file": img, "limit": 5}, status=200)
    assert page["count"] == 1 and page["result"][0]["path"] == "g.jpg", page
    c("POST", p + "/oa/image/search", {"tags": {"color": "red"}, "limit": 10, "offset": 0},
      status=200)
    c("POST", p + "/oa/image/search", {"file": img, "is_crop": True,
                                       "box": {"x": 0, "y": 0, "width": 100, "height": 100}},
      status=200)
    for bad, code in [({"file": img, "limit": 0}, "IS.1010"),
                      ({"file": img, "limit": 101}, "IS.1010"),
                      ({"file": img, "offset": -1}, "IS.1011"),
                      ({"file": img, "box": {"x": 0, "y": 0, "width": 0, "height": 9}},
                       "IS.0002"),
                      ({"file": img, "is_crop": True, "box": {"x": 0}}, "IS.0001")]:
        c("POST", p + "/oa/image/search", bad, valid=False, status=400, code=code)
    c("POST", p + "/oa/image/search", {"limit": 3}, status=400, code="IS.2015")
    c("POST", p + "/oa/image/search", {"path": "g.jpg"}, status=200)  # its stored features
    c("POST", p + "/oa/image/search", {"path": "not-stored.jpg"}, status=400)  # a download
    c("POST", p + "/oa/image/search", {"path": "g.jpg", "box": {"x": 0, "y": 0, "width": 9,
                                                                "height": 9}},
      status=400, code="IS.0016")  # a crop needs the pixels

    cross = {"source_instance": "oa", "target_instance": "ob", "paths": ["g.jpg"], "limit": 3}
    assert c("POST", p + "/image/cross-search", cross, status=200)["count"] == 1
    c("POST", p + "/image/cross-search", dict(cross, paths=["g.jpg"] * 11), valid=False,
      status=400, code="IS.0002")
    c("POST", p + "/image/cross-search", {"source_instance": "oa", "target_instance": "ob"},
      valid=False, status=400, code="IS.0001")
    c("POST", p + "/image/cross-search", dict(cross, paths=["none.jpg"]), status=400,
      code="IS.2006")

    c("PUT", p + "/oa/image", {"path": "g.jpg", "tags": {"color": "blue"}}, status=200)
    c("PUT", p + "/oa/image", {"path": "g.jpg"}, valid=False, status=400, code="IS.2009")
    c("PUT", p + "/oa/image", {"path": "none.jpg", "tags": {}}, status=400, code="IS.2006")
    assert c("GET", p + "/oa/index", status=200)["index"]["vectors"] == 1
    c("GET", p + "/nope/index", status=400, code="IS.2019")
    c("DELETE", p + "/oa/image", {"path": "g.jpg"}, status=200)
    c("DELETE", p + "/oa/image", {"path": "g.jpg"}, status=400, code="IS.2006")
    c("DELETE", p + "/service/oa", {}, status=200)
    c("DELETE", p + "/service/ob", status=200)
    c("DELETE", p + "/service/oa", status=400, code="IS.4004")


def wait_job(spec, s, path, done=("done", "failed", "cancelled")):
    deadline = time.time() + 30
    while True:
        j = call(spec, s, "GET", path, status=200)
        if j["state"] in done or time.time() > deadline:
            return j
        time.sleep(0.1)


def test_import_jobs(spec, server):
    s, p = server, "/v1/%s" % server.ident["project_id"]
    c = lambda *a, **k: call(spec, s, *a, **k)
    jobs = p + "/image-search/import-jobs"
    c("POST", p + "/service", {"name": "oj", "model": "common-search", "tags": ["folder"]},
      status=200)
    src = "file://%s/" % s.photos
    j = c("POST", jobs, {"instance_name": "oj", "source": src, "folder_tag": "folder"},
          status=200)
    one = "%s/%s" % (jobs, j["id"])
    j = wait_job(spec, s, one)
    assert j["state"] == "done" and j["progress"]["failed"] == 1, j
    assert c("GET", jobs, status=200)["count"] == 1
    assert c("GET", one + "/failures", status=200)["count"] == 1
    for action in ("pause", "resume", "cancel"):
        c("POST", one + "/" + action, status=400, code="IS.0011")  # the job is done
    c("POST", one + "/rerun", status=200)
    wait_job(spec, s, one)
    c("DELETE", one, status=200)
    c("GET", one, status=400, code="IS.3033")
    c("DELETE", one, status=400, code="IS.3033")

    sync = c("POST", jobs, {"instance_name": "oj", "source": src, "mode": "sync",
                            "interval_ms": 600000}, status=200)
    one = "%s/%s" % (jobs, sync["id"])
    c("DELETE", one, status=400, code="IS.0011")  # still running
    c("POST", sync["events_path"], {}, creds=False, status=200)  # the store's push
    c("POST", one + "/events?token=" + "0" * 32, {}, creds=False, status=401,
      code="APIG.0301")
    assert c("POST", one + "/pause", status=200)["state"] == "paused"
    assert c("POST", one + "/resume", status=200)["state"] == "running"
    assert c("POST", one + "/cancel", status=200)["state"] == "cancelled"
    c("DELETE", one, status=200)

    for bad, code in [({"instance_name": "oj", "source": src, "mode": "bogus"}, "IS.0002"),
                      ({"source": src}, "IS.0001"),
                      ({"instance_name": "oj", "source": src, "interval_ms": 0}, "IS.0002"),
                      ({"instance_name": "oj", "source": ""}, "IS.0003")]:
        c("POST", jobs, bad, valid=False, status=400, code=code)
    c("POST", jobs, {"instance_name": "nope", "source": src}, status=400, code="IS.2019")
    c("POST", jobs, {"instance_name": "oj", "manifest": []}, status=400, code="IS.3052")
    c("DELETE", p + "/service/oj", status=200)


def token_body(s, user, password):
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "password": password, "domain": {"name": s.ident["domain"]}}}},
        "scope": {"project": {"name": s.ident["project_name"]}}}}


def test_iam(spec, server):
    s = server
    c = lambda *a, **k: call(spec, s, *a, **k)
    c("POST", "/v3/auth/tokens", token_body(s, s.ident["user"], s.ident["password"]),
      creds=False, status=201)
    c("POST", "/v3/auth/tokens", token_body(s, s.ident["user"], "wrong"), creds=False,
      status=401, code="APIG.0301")
    c("POST", "/v3/auth/tokens", {"auth": {"identity": {"methods": ["token"]}}}, valid=False,
      creds=False, status=400, code="IS.0003")
    projects = c("GET", "/v3/projects?name=default", status=200)["projects"]
    assert [x["id"] for x in projects] == [s.ident["project_id"]], projects
    c("GET", "/v3/auth/projects", status=200)
    c("GET", "/v3/auth/domains", status=200)
    # token requests are limited by source address: another loopback address runs out
    statuses = []
    for _ in range(LOGIN_BURST + 2):
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30,
                                          source_address=("127.0.0.77", 0))
        conn.request("POST", "/v3/auth/tokens", body="x",
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        text = r.read().decode()
        spec.check_response("/v3/auth/tokens", "POST", r.status, r.getheader("Content-Type"),
                            {k.lower(): v for k, v in r.getheaders()}, text)
        statuses.append(r.status)
        conn.close()
    assert statuses[0] == 400 and statuses[-1] == 429, statuses


def test_admin_and_operations(spec, server):
    s = server
    c = lambda *a, **k: call(spec, s, *a, **k)
    assert "instances" in c("GET", "/admin/v1/instances", status=200)
    c("GET", "/admin/v1/stats", status=200)
    c("GET", "/health", creds=False, status=200)
    assert "imagesearch_http_requests_total" in c("GET", "/metrics", creds=False, status=200)
    c("GET", "/openapi.json", creds=False, status=200)
    # answers outside any operation (info.description): another method on a documented
    # path, an unknown path; both in the error body
    error = spec.schema_doc["components"]["schemas"]["Error"]
    for method, path, status, code in [("PATCH", "/health", 400, "IS.0010"),
                                       ("GET", "/v1/nope", 404, "APIG.0101")]:
        r = requests.request(method, s.base + path, headers=s.headers, timeout=30)
        assert (r.status_code, r.json()["error_code"]) == (status, code), r.text
        assert not spec.errors(error, r.json()), r.text


def test_operator_api(spec, server):
    """The operator API's identity, job and backup routes, on users of this test's own."""
    s = server
    c = lambda *a, **k: call(spec, s, *a, **k)
    assert "instances" in c("GET", "/v1/%s/image-search/instances" % s.project, status=200)
    assert "jobs" in c("GET", "/admin/v1/jobs", status=200)
    proj = c("POST", "/admin/v1/projects", {"name": "oa-proj"}, status=200)
    assert proj["project_name"] == "oa-proj"
    assert any(p["name"] == "oa-proj" for p in c("GET", "/admin/v1/projects",
                                                  status=200)["projects"])
    c("POST", "/admin/v1/users", {"name": "oa-user"}, valid=False, status=400, code="IS.0001")
    c("POST", "/admin/v1/users", {"name": "oa-user", "password": 12345678}, valid=False,
      status=400, code="IS.0002")
    c("POST", "/admin/v1/users", raw=b"[1]", valid=None, status=400, code="IS.0008")
    made = c("POST", "/admin/v1/users", {"name": "oa-user", "password": "oa-password-1"},
             status=200)
    assert made["name"] == "oa-user"
    c("POST", "/admin/v1/users", {"name": "oa-user", "password": "oa-password-1"},
      status=400, code="IS.3000")
    user = "/admin/v1/users/admin/oa-user"
    c("PUT", user + "/projects/oa-proj", status=200)
    key = c("POST", user + "/keys", status=200)
    assert [k["ak"] for k in c("GET", user + "/keys", status=200)["keys"]] == [key["ak"]]
    assert any(u["name"] == "oa-user" for u in c("GET", "/admin/v1/users", status=200)["users"])
    c("PUT", user + "/password", {"password": "oa-password-2"}, status=200)
    c("PUT", user + "/operator", {"operator": True}, status=200)
    c("PUT", user + "/operator", {"operator": False}, status=200)
    c("PUT", user + "/operator", {"operator": "yes"}, valid=False, status=400, code="IS.0002")
    c("DELETE", user + "/projects/oa-proj", status=200)
    c("DELETE", "/admin/v1/keys/" + key["ak"], status=200)
    c("DELETE", user, status=200)
    c("DELETE", user, status=400, code="IS.3007")
    # A backup: 202, then polled to its end; a target outside backup.dirs is refused.
    c("POST", "/admin/v1/backups", {"target": "/elsewhere/b"}, status=400, code="IS.0001")
    b = c("POST", "/admin/v1/backups", {"target": s.backups + "/b1"}, status=202)
    deadline = time.time() + 120
    while b["state"] == "running" and time.time() < deadline:
        time.sleep(0.2)
        b = c("GET", "/admin/v1/backups/" + b["id"], status=200)
    assert b["state"] == "done", b
    assert [x["id"] for x in c("GET", "/admin/v1/backups", status=200)["backups"]] == [b["id"]]
    c("GET", "/admin/v1/backups/bk-0", status=400, code="IS.2010")


def test_security_requirements(spec, server):
    """What each scheme promises: no credentials 401, another project's or a non-operator's
    credentials 403, an AK/SK signature instead of a token."""
    s, pid = server, server.ident["project_id"]
    c = lambda *a, **k: call(spec, s, *a, **k)
    for method, path, body in [("POST", "/v1/%s/service" % pid, {"name": "x", "model": "m"}),
                               ("GET", "/v1/%s/image-search/import-jobs" % pid, None),
                               ("GET", "/v3/auth/projects", None),
                               ("GET", "/admin/v1/stats", None)]:
        c(method, path, body, creds=False, status=401, code="APIG.0301")
    c("GET", "/v1/someone-else/service/x", status=403, code="APIG.0302")
    r = requests.post(s.base + "/v3/auth/tokens", json=token_body(s, "bob", BOB_PASSWORD),
                      timeout=30)
    assert r.status_code == 201, r.text
    bob = {"X-Auth-Token": r.headers["X-Subject-Token"]}
    c("GET", "/admin/v1/instances", creds=False, headers=bob, status=403, code="APIG.0302")
    c("GET", "/v1/%s/image-search/import-jobs" % pid, creds=False, headers=bob, status=200)
    for path in ["/v3/projects?name=default", "/v1/%s/image-search/import-jobs" % pid]:
        signed = py_sign("GET", s.base + path, {}, b"", s.ident["ak"], s.ident["sk"])
        c("GET", path, creds=False, headers=signed, status=200)
    signed = py_sign("GET", s.base + "/v3/auth/domains", {}, b"", s.ident["ak"], "wrong")
    c("GET", "/v3/auth/domains", creds=False, headers=signed, status=401, code="APIG.0301")
    # a body over the token route's limit (64 KiB), refused from its headers
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    conn.putrequest("POST", "/v3/auth/tokens")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(1 << 20))
    conn.endheaders()
    r = conn.getresponse()
    spec.check_response("/v3/auth/tokens", "POST", r.status, r.getheader("Content-Type"),
                        {k.lower(): v for k, v in r.getheaders()}, r.read().decode())
    conn.close()
    assert r.status == 413
    # one address runs out of its requests on a project route (refused before the token)
    path = "/v1/%s/image-search/import-jobs" % pid
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30,
                                      source_address=("127.0.0.78", 0))
    for _ in range(2 * ADDRESS_BURST):
        conn.request("GET", path)
        r = conn.getresponse()
        text = r.read().decode()
        if r.status != 401:
            break
    conn.close()
    assert r.status == 429, (r.status, text)
    spec.check_response(spec.template(path), "GET", r.status, r.getheader("Content-Type"),
                        {k.lower(): v for k, v in r.getheaders()}, text)


def test_every_documented_operation_was_answered_with_success(spec, server):
    missing = []
    for template, item in spec.doc["paths"].items():
        for method in METHODS:
            if method in item and not any(
                    200 <= st < 300 for st in spec.seen.get((template, method), ())):
                missing.append("%s %s" % (method.upper(), template))
    assert not missing, "documented operations no request of this suite answered with " \
        "success (exercise them in tests/integration/test_openapi.py): %s" % missing
    print("\n[openapi] %d operations, statuses answered: %s" % (
        len(spec.seen), sorted({st for sts in spec.seen.values() for st in sts})))
