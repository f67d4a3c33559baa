"""The v1 API with auth on (the default): who may call what, as the gateway answers."""
import os

import pytest
import requests

import auth_token
from harness import Server, error_code


@pytest.fixture(scope="module")
def secured():
    os.environ["ISS_TEST_AUTH_MODULE"] = auth_token.__file__
    try:
        s = Server().start()
    finally:
        del os.environ["ISS_TEST_AUTH_MODULE"]
    yield s
    s.close()


def test_token_opens_its_project(secured):
    st, out, _ = secured.create("sec")
    assert st == 200, out
    assert secured.request("GET", "/service/sec")[0] == 200


def bare(server, path, headers=None):
    """A request without the harness's credentials."""
    r = requests.get(server.base + "/v1/%s%s" % (server.project, path), headers=headers or {},
                     timeout=10)
    return r.status_code, r.json(), r


@pytest.mark.parametrize("headers", [
    {},
    {"X-Auth-Token": ""},
    {"X-Auth-Token": "ISS1.forged.token"},
    {"Authorization": "SDK-HMAC-SHA256 Access=NOPE, SignedHeaders=host, Signature=00",
     "X-Sdk-Date": "20260101T000000Z"},
])
def test_bad_credentials(secured, headers):
    st, out, resp = bare(secured, "/service/sec", headers)
    assert st == 401 and error_code(out) == "APIG.0301", out
    assert resp.headers.get("X-Request-Id")


def test_other_project_is_forbidden(secured):
    st, out, _ = secured.request("GET", "//v1/someoneelse/service/sec")
    assert st == 403 and error_code(out) == "APIG.0302", out


def test_nothing_leaks_before_auth(secured):
    # without credentials, an existing and a missing instance look the same
    a = bare(secured, "/service/sec")
    b = bare(secured, "/service/none")
    assert a[0] == b[0] == 401 and a[1] == b[1]
