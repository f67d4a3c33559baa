"""With auth on: token requests under attack (limited by address and by user, and a user is
never locked out from an address that did nothing wrong), the IAM body limits, and large
bodies refused from their headers before they are read (docs/reliability.md, "Transport")."""
import json
import os
import socket
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ["ISS_TEST_AUTH_MODULE"] = os.path.join(HERE, "token_login.py")
import harness  # noqa: E402

RATE, BURST = 1, 5


@pytest.fixture(scope="module")
def server():
    s = harness.Server(extra_args=["--auth-login-rate", str(RATE),
                                   "--auth-login-burst", str(BURST)]).start()
    yield s
    s.close()


def post_from(server, source, body, timeout=10):
    """POST /v3/auth/tokens from `source` (a 127.0.0.0/8 address); returns (status, body)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    sock = socket.socket()
    sock.bind((source, 0))
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(b"POST /v3/auth/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(data) + data)
    out = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
    except OSError:
        pass
    sock.close()
    head, _, payload = out.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]) if head else 0, payload


def login_body(server, user, password):
    ident = server.auth._identity
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "password": password, "domain": {"name": ident["domain"]}}}},
        "scope": {"project": {"name": ident["project_name"]}}}}


def admin_body(server, password=None):
    ident = server.auth._identity
    return login_body(server, ident["user"], password or ident["password"])


def test_guesser_does_not_lock_the_user_out_elsewhere(server):
    stop = threading.Event()
    statuses = []

    def guess():
        while not stop.is_set():
            statuses.append(post_from(server, "127.0.0.1", admin_body(server, "wrong-password"))[0])
            time.sleep(0.01)

    t = threading.Thread(target=guess)
    t.start()
    try:
        time.sleep(2.5)  # the guesser has used its burst and keeps taking each refill
        st, payload = post_from(server, "127.0.0.2", admin_body(server))
    finally:
        stop.set()
        t.join()
    assert st == 201, payload
    assert 401 in statuses and 429 in statuses, statuses[:20]
    # the guesser itself stays limited: a right password from its address is refused now
    assert post_from(server, "127.0.0.1", admin_body(server))[0] == 429


def test_one_address_spraying_names_is_throttled(server):
    statuses = [post_from(server, "127.0.0.3", login_body(server, "user%d" % i, "x"))[0]
                for i in range(3 * BURST)]
    assert statuses[0] == 401, statuses
    assert statuses.count(401) <= BURST + 1, statuses
    assert statuses[-1] == 429, statuses


def test_many_addresses_failing_block_only_themselves(server):
    time.sleep(BURST / RATE + 0.5)  # buckets refill
    failing = ["127.0.0.%d" % i for i in range(10, 10 + 2 * BURST)]
    for a in failing:
        assert post_from(server, a, admin_body(server, "wrong"))[0] == 401
    # the user's failures exceed its bucket: addresses that failed are refused even with
    # the right password, a clean one logs in
    assert post_from(server, failing[0], admin_body(server))[0] == 429
    assert post_from(server, "127.0.0.99", admin_body(server))[0] == 201


def test_token_request_limits(server):
    time.sleep(BURST / RATE + 0.5)
    st, payload = post_from(server, "127.0.0.4", b"{" + b" " * (1 << 20) + b"}")
    assert st == 413 and b"APIG.0201" in payload, payload
    st, payload = post_from(server, "127.0.0.4", b"[" * 20000 + b"]" * 20000)
    assert st == 400 and b"IS.0008" in payload, payload
    assert server.proc.poll() is None


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def test_large_bodies_without_credentials_are_refused_unread(server):
    """Headers of a 4 MiB upload with a forged token: 401 at once, before any body byte is
    sent; many such connections sending their bodies anyway leave the RSS bounded."""
    path = "/v1/%s/inst/image/search" % server.project
    head = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "X-Auth-Token: forged\r\nContent-Length: %d\r\n\r\n" % (path, 4 << 20)).encode()
    rss_before = rss_bytes(server.proc.pid)
    socks = []
    for _ in range(50):
        sock = socket.socket()
        sock.settimeout(5)
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(head)
        socks.append(sock)
    for sock in socks:
        answer = sock.recv(65536)  # no body sent: the answer must not wait for it
        assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
        assert b"APIG.0301" in answer
    chunk = b"x" * (1 << 20)
    for sock in socks:  # the body arrives anyway: discarded, never buffered
        try:
            for _ in range(3):
                sock.sendall(chunk)
        except OSError:
            pass
        sock.close()
    grown = rss_bytes(server.proc.pid) - rss_before
    assert grown < 100 << 20, "RSS grew %d MB" % (grown >> 20)
    assert server.proc.poll() is None


def test_large_body_with_a_valid_token_is_read(server):
    """The early check lets a real client through: the body is read and handled."""
    import requests
    body = json.dumps({"file": "A" * (200 << 10)})
    r = requests.post(server.base + "/v1/%s/none/image/search" % server.project,
                      data=body, headers=dict(server.headers, **{"Content-Type":
                                                                 "application/json"}),
                      timeout=30)
    assert r.status_code != 401, r.text


def test_memory_is_returned_after_a_spike_of_large_bodies(server):
    """50 clients with a valid token each send an 8 MiB body at once (read in full: the
    credentials pass); a few seconds after the last answer the RSS is back near where it
    started, because the server trims the heap after large bodies (malloc_trim) instead of
    keeping the burst's peak in glibc's arenas."""
    path = "/v1/%s/none/image/search" % server.project
    token = server.headers["X-Auth-Token"]
    body = b'{"file": "' + b"A" * (8 << 20) + b'"}'
    head = ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "X-Auth-Token: %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
            % (path, token, len(body))).encode()
    pid = server.proc.pid
    baseline = rss_bytes(pid)
    peak = [baseline]
    statuses = []

    def client():
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
        try:
            sock.sendall(head + body)
            answer = b""
            while b"\r\n" not in answer:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
            statuses.append(int(answer.split(b" ")[1]) if answer else 0)
        except OSError:
            statuses.append(0)
        finally:
            sock.close()

    threads = [threading.Thread(target=client) for _ in range(50)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak[0] = max(peak[0], rss_bytes(pid))
        time.sleep(0.02)
    for t in threads:
        t.join()
    assert len(statuses) == 50 and 0 not in statuses and 401 not in statuses, statuses
    assert server.proc.poll() is None
    # The spike happened (the bodies were read), then the memory goes back: poll up to 10 s.
    assert peak[0] - baseline > 200 << 20, "no spike: peak %d MB over %d MB" % (
        (peak[0] - baseline) >> 20, baseline >> 20)
    limit = baseline + (150 << 20)
    deadline = time.monotonic() + 10
    rss = rss_bytes(pid)
    while rss > limit and time.monotonic() < deadline:
        time.sleep(0.1)
        rss = rss_bytes(pid)
    assert rss <= limit, "RSS %d MB, %d MB after the spike's peak of %d MB (baseline %d MB)" % (
        rss >> 20, (rss - baseline) >> 20, peak[0] >> 20, baseline >> 20)
    import requests
    assert requests.get(server.base + "/health", timeout=10).status_code == 200
