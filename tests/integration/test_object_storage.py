"""`path` from S3-compatible object storage: a real RADOS Gateway (tests/testing/rgw), one per
test session, with a private bucket that only its owner's signed requests can read."""
import concurrent.futures
import hashlib
import http.client
import json
import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "testing", "rgw"))
from rgw import S3  # noqa: E402

from harness import BIN, Server, error_code, originals  # noqa: E402


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
def s3conf(rgw, bucket, tmp_path_factory):
    rgw.owner.create_bucket("second-bucket")
    rgw.owner.put("second-bucket", "x.jpg", open(originals(1)[0], "rb").read())
    rgw.owner.create_bucket("third-bucket")
    rgw.owner.put("third-bucket", "x.jpg", open(originals(1)[0], "rb").read())
    return _profiles_toml(rgw, str(tmp_path_factory.mktemp("s3conf")))


@pytest.fixture(scope="module")
def s3server(s3conf):
    s = Server(extra_args=["--config", s3conf]).start()
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


def _admin(*args):
    r = subprocess.run([BIN, "admin"] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_listing_pages_through_more_than_a_thousand_keys(rgw, s3conf):
    """`imagesearchd admin storage-ls` lists with the server's profiles (signed ListObjectsV2,
    continuation tokens): every key once, in order, odd characters included."""
    rgw.owner.create_bucket("many-keys")
    odd = ["odd/a b.jpg", "odd/x&y<z>.jpg", "odd/\u56fe\u7247.jpg", "odd/q?=%2F.jpg"]
    keys = ["p/%05d.jpg" % i for i in range(2300)] + odd
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        list(ex.map(lambda k: rgw.owner.put("many-keys", k, k.encode()), keys))
    print("\n[rgw] %d PUTs in %.1f s" % (len(keys), time.time() - t0))
    rc, out, err = _admin("storage-ls", "--config", s3conf, "--count", "s3://many-keys/p/")
    assert rc == 0, err
    assert json.loads(out) == {"objects": 2300, "pages": 3}
    rc, out, err = _admin("storage-ls", "--config", s3conf, "--max-keys", "700",
                          "http://127.0.0.1:%d/many-keys/" % rgw.port)
    assert rc == 0, err
    listed = [json.loads(line) for line in out.splitlines()]
    assert [o["key"] for o in listed] == sorted(keys, key=lambda k: k.encode())
    byk = {o["key"]: o for o in listed}
    for k in odd:
        assert byk[k]["size"] == len(k.encode())
        assert byk[k]["etag"] == hashlib.md5(k.encode()).hexdigest()
    # virtual-hosted form of a prefix
    rc, out, err = _admin("storage-ls", "--config", s3conf, "--count",
                          "http://many-keys.localhost:%d/odd/" % rgw.port)
    assert rc == 0 and json.loads(out) == {"objects": 4, "pages": 1}, (out, err)


def test_head_and_listing_errors(rgw, s3conf):
    rc, out, err = _admin("storage-head", "--config", s3conf,
                          "s3://private-gallery/image/o_001.jpg")
    assert rc == 0, err
    info = json.loads(out)
    with open(originals(1)[0], "rb") as f:
        data = f.read()
    assert info == {"key": "image/o_001.jpg", "size": len(data),
                    "etag": hashlib.md5(data).hexdigest()}
    for args, reason in [
        (["storage-head", "s3://private-gallery/image/missing.jpg"], "BlobNotFound"),
        (["storage-ls", "s3://no-such-bucket/"], "BucketNotFound"),
        (["storage-ls", "s3://second-bucket/"], "BlobDenied"),     # another user's keys
        (["storage-ls", "s3://third-bucket/"], "BlobDenied"),      # a wrong secret
        (["storage-ls", "s3://keyless-bucket/"], "BlobClient"),
    ]:
        rc, out, err = _admin(args[0], "--config", s3conf, args[1])
        assert rc == 1 and reason in err, (args, rc, out, err)
        assert rgw.owner_keys[1] not in err
