"""`path` from S3-compatible object storage: a real RADOS Gateway (tests/testing/rgw), one per
test session, with a private bucket that only its owner's signed requests can read."""
import http.client
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "testing", "rgw"))
from rgw import S3  # noqa: E402

from harness import originals  # noqa: E402


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
