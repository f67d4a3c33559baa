"""ISS_TEST_AUTH_MODULE for harness.py: run the suites with auth on, as a real client would.

prepare(): `imagesearchd admin bootstrap --data-dir DIR` creates (once) the admin identity.
login():   POST /v3/auth/tokens with its password; every request then carries X-Auth-Token
           and uses the identity's project id in the URL.
"""
import json
import subprocess

import requests

_identity = {}


def prepare(bin_path, data_dir):
    out = subprocess.run([bin_path, "admin", "bootstrap", "--data-dir", data_dir],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    _identity[data_dir] = json.loads(out.stdout)


def login(base_url, data_dir):
    ident = _identity[data_dir]
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": ident["user"], "password": ident["password"],
        "domain": {"name": ident["domain"]}}}},
        "scope": {"project": {"id": ident["project_id"]}}}}
    r = requests.post(base_url + "/v3/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return ident["project_id"], {"X-Auth-Token": r.headers["X-Subject-Token"]}
