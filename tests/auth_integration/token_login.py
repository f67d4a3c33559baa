"""ISS_TEST_AUTH_MODULE for tests/integration: runs a suite with auth on.

prepare(): `imagesearchd admin bootstrap` on the fresh data dir (the operator's first step).
login(): POST /v3/auth/tokens with the bootstrap password, scoped to its project by name;
every request of the suite then carries X-Auth-Token.
"""
import json
import subprocess

import requests

_identity = {}


def prepare(bin_path, data_dir):
    out = subprocess.run([bin_path, "admin", "bootstrap", "--data-dir", data_dir],
                         check=True, capture_output=True, text=True).stdout
    _identity.update(json.loads(out))


def login(base):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": _identity["user"], "password": _identity["password"],
        "domain": {"name": _identity["domain"]}}}},
        "scope": {"project": {"name": _identity["project_name"]}}}}
    r = requests.post(base + "/v3/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return _identity["project_id"], {"X-Auth-Token": r.headers["X-Subject-Token"]}
