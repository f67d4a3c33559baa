import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from harness import Server  # noqa: E402


@pytest.fixture(scope="module")
def server():
    s = Server().start()
    yield s
    s.close()


RGW_DIR = os.path.join(os.path.dirname(__file__), "..", "testing", "rgw")


@pytest.fixture(scope="session")
def rgw():
    """One RADOS Gateway (single-node Ceph) for the whole test session, torn down at its end."""
    import shutil

    if not shutil.which("radosgw"):
        pytest.fail("radosgw is not installed (scripts/install-deps.sh installs it)")
    sys.path.insert(0, RGW_DIR)
    from rgw import Rgw

    g = Rgw().start()
    print("\n[rgw] up at %s in %.2f s (%s)" % (
        g.endpoint, g.start_seconds,
        ", ".join("%s %.2f" % kv for kv in g.phases.items())))
    yield g
    g.close()
