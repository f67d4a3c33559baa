"""`path` from S3-compatible object storage: a real RADOS Gateway (tests/testing/rgw), one per
test session, with a private bucket that only its owner's signed requests can read."""
import http.client
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "testing", "rgw"))
from rgw import S3  # noqa: E402

from harness import Server, error_code, originals  # noqa: E402


@pytest.fixture(scope="module")
def bucket(rgw):
    rgw.owner.create_bucket("private-gallery")
    for i, p in enumerate(originals(3)):
        with open(p, "rb") as f:
            rgw.owner.put("private-gallery", "image/o_%03d.jpg" % (i + 1), f.read(),
                          content_type="image/jpeg")
    return "private-gallery"


def test_the_store_is_private_and_checks_signatures(rgw, bucket):
    # the owner reads with a signature
    st, data, _ = rgw.owner.get(bucket, "image/o_001.jpg")
    assert st == 200 and data[:2] == b"\xff\xd8"
    # unsigned: refused
    c = http.client.HTTPConnection("127.0.0.1", rgw.port, timeout=10)
    c.request("GET", "/%s/image/o_001.jpg" % bucket)
    assert c.getresponse().status == 403
    c.close()
    # another user's valid keys: refused; the owner's key with a wrong secret: refused
    assert rgw.other.get(bucket, "image/o_001.jpg")[0] == 403
    wrong = S3(rgw.endpoint, rgw.owner_keys[0], "not-the-secret")
    st, body, _ = wrong.get(bucket, "image/o_001.jpg")
    assert st == 403 and b"SignatureDoesNotMatch" in body


def _profiles_toml(rgw, tmp):
    """Storage profiles for one RGW: each way of naming an object and each way to be refused."""
    ak, sk = rgw.owner_keys
    cred = os.path.join(tmp, "owner.keys")
    with open(cred, "w") as f:
        f.write("# owner\naccess_key = %s\nsecret_key = %s\n" % (ak, sk))
    os.environ["ISS_TEST_OTHER_AK"], os.environ["ISS_TEST_OTHER_SK"] = rgw.other_keys
    p = rgw.port
    conf = os.path.join(tmp, "storage.toml")
    with open(conf, "w") as f:
        f.write("""
[[storage.profiles]]
name = "wrong-secret"
buckets = ["third-bucket"]
endpoint = "http://127.0.0.1:%(p)d"
access_key = "%(ak)s"
secret_key = "not-the-secret"
allow_private = true

[[storage.profiles]]
name = "other-user"
buckets = ["second-bucket"]
endpoint = "http://127.0.0.1:%(p)d"
access_key_env = "ISS_TEST_OTHER_AK"
secret_key_env = "ISS_TEST_OTHER_SK"
allow_private = true

[[storage.profiles]]
name = "no-keys"
buckets = ["keyless-bucket"]
endpoint = "http://127.0.0.1:%(p)d"
allow_private = true

[[storage.profiles]]
name = "loopback-not-allowed"
buckets = ["loopback-bucket"]
endpoint = "http://127.0.0.1:%(p)d"
access_key = "%(ak)s"
secret_key = "%(sk)s"

[[storage.profiles]]
name = "rgw-virtual"
hosts = ["*.localhost:%(p)d"]
endpoint = "http://localhost:%(p)d"
addressing = "virtual"
connect_to = "127.0.0.1:%(p)d"
credentials_file = "%(cred)s"
allow_private = true

[[storage.profiles]]
name = "rgw-path"
hosts = ["127.0.0.1:%(p)d"]
buckets = ["*"]
endpoint = "http://127.0.0.1:%(p)d"
access_key = "%(ak)s"
secret_key = "%(sk)s"
allow_private = true
""" % {"p": p, "ak": ak, "sk": sk, "cred": cred})
    return conf


@pytest.fixture(scope="module")
def s3server(rgw, bucket, tmp_path_factory):
    rgw.owner.create_bucket("second-bucket")
    rgw.owner.put("second-bucket", "x.jpg", open(originals(1)[0], "rb").read())
    rgw.owner.create_bucket("third-bucket")
    rgw.owner.put("third-bucket", "x.jpg", open(originals(1)[0], "rb").read())
    conf = _profiles_toml(rgw, str(tmp_path_factory.mktemp("s3conf")))
    s = Server(extra_args=["--config", conf]).start()
    yield s
    s.close()


def test_add_and_search_from_a_private_bucket(rgw, s3server):
    s = s3server
    assert s.create("obs", tags=["src"])[0] == 200
    path_style = "http://127.0.0.1:%d/private-gallery/image/o_001.jpg" % rgw.port
    virtual = "http://private-gallery.localhost:%d/image/o_002.jpg" % rgw.port
    s3url = "s3://private-gallery/image/o_003.jpg"
    for u in (path_style, virtual, s3url):
        st, out, _ = s.add("obs", u, tags={"src": "rgw"})
        assert st == 200, (u, out)
        assert s.check("obs", u)[1] == {"exist": "true"}
    # a search by an object URL that is not in the gallery downloads it (signed) and finds it
    st, out, _ = s.search("obs", path="http://private-gallery.localhost:%d/image/o_001.jpg"
                          % rgw.port, limit=1)
    assert st == 200, out
    assert out["result"][0]["path"] == path_style
    st, out, _ = s.search("obs", path=s3url, limit=1)
    assert st == 200 and out["result"][0]["path"] == s3url
    assert "owner-secret" not in s.logs() and rgw.owner_keys[1] not in s.logs()


@pytest.mark.parametrize("url,code", [
    ("s3://private-gallery/image/missing.jpg", "IS.2003"),            # no such object
    ("http://127.0.0.1:{p}/private-gallery/missing.jpg", "IS.2003"),
    ("http://private-gallery.localhost:{p}/missing.jpg", "IS.2003"),
    ("s3://no-such-bucket/x.jpg", "IS.2004"),                         # no such bucket
    ("http://127.0.0.1:{p}/no-such-bucket/x.jpg", "IS.2004"),
    ("http://no-such-bucket.localhost:{p}/x.jpg", "IS.2004"),
    ("s3://second-bucket/x.jpg", "IS.2011"),     # another user's valid keys: no permission
    ("s3://third-bucket/x.jpg", "IS.2011"),      # the owner's key, a wrong secret
    ("s3://loopback-bucket/x.jpg", "IS.2011"),   # loopback not allowed for that profile
    ("s3://keyless-bucket/x.jpg", "IS.2016"),    # a profile without credentials
])
def test_object_storage_errors(rgw, s3server, url, code):
    s = s3server
    s.create("errs")
    st, out, _ = s.add("errs", url.format(p=rgw.port))
    assert error_code(out) == code, (url, st, out)
    assert st >= 400


def test_no_profile_for_an_s3_bucket_is_a_client_error(rgw):
    """Without a profile for the bucket (here: none at all) the client cannot be created."""
    s = Server().start()
    try:
        s.create("np")
        st, out, _ = s.add("np", "s3://private-gallery/image/o_001.jpg")
        assert error_code(out) == "IS.2016", out
        # a plain URL of the store with no profile is an ordinary download: not allowed
        st, out, _ = s.add("np", "http://127.0.0.1:%d/private-gallery/image/o_001.jpg"
                           % rgw.port)
        assert error_code(out) == "IS.2011", out
    finally:
        s.close()
