"""Transport: what reaches the server before (or instead of) a well-formed request must get
a clear answer and must not take the server down (docs/reliability.md, "Transport")."""
import os
import resource
import socket
import threading
import time

import pytest
import requests

from harness import Server, error_code


@pytest.fixture(scope="module")
def server():
    s = Server().start()
    yield s
    s.close()


def raw_exchange(port, data, timeout=5, source=None):
    """Sends `data` on a fresh connection, returns everything the server sends back until
    it closes (or `timeout`)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if source:
        sock.bind((source, 0))
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", port))
    sock.sendall(data)
    out = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
    except socket.timeout:
        pass
    finally:
        sock.close()
    return out


def healthy(s):
    return requests.get(s.base + "/health", timeout=10).status_code == 200


# --- invalid UTF-8 in a path segment ---------------------------------------------------

@pytest.mark.parametrize("path", [
    "/v1/%FF%FE/service",                 # the project id
    "/v1/p1/service/%C3%28",              # an instance name (truncated 2-byte sequence)
    "/v1/p1/%ED%A0%80/image/search",      # a UTF-16 surrogate
    "/v1/p1/%C0%AF/image",                # an overlong '/'
])
def test_invalid_utf8_in_path_is_refused(server, path):
    routed = 0
    for method, body in (("POST", {"name": "x", "model": "common-search"}), ("GET", None),
                         ("DELETE", None)):
        r = requests.request(method, server.base + path, json=body, timeout=10)
        if (r.status_code, error_code(r.json())) in ((404, "APIG.0101"), (400, "IS.0010")):
            continue  # no route for this shape of path, or none for this method (IS.0010)
        assert r.status_code == 400, (method, path, r.status_code, r.text)
        assert error_code(r.json()) == "IS.0001", r.text
        assert "UTF-8" in r.json()["error_msg"]
        routed += 1
    assert routed, "no method has a route for " + path
    assert server.proc.poll() is None, server.logs()
    assert healthy(server)


def test_valid_utf8_in_path_still_routes(server):
    # A well-formed non-ASCII project id is text: it reaches the handler (an instance
    # name with it is simply missing).
    r = requests.get(server.base + "/v1/%C3%A9t%C3%A9/service/nothing-here", timeout=10)
    assert r.status_code != 400 or "UTF-8" not in r.text, r.text
    assert server.proc.poll() is None


# --- malformed HTTP ----------------------------------------------------------------------

@pytest.mark.parametrize("request_bytes", [
    b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n",                            # bad version
    b"GET /health HTTX/1.1\r\nHost: x\r\n\r\n",                            # bad protocol
    b"POST /v1/p1/service HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
    b"POST /v1/p1/service HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}",
    b"POST /v1/p1/service HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
    b"Content-Length: 3\r\n\r\n{}",                                        # two lengths
    b"POST /v1/p1/service HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",              # CL + TE
    b"POST /v1/p1/service HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"zz\r\n{}\r\n0\r\n\r\n",                                              # bad chunk size
    b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n",           # bad field name
])
def test_malformed_http_gets_400_then_close(server, request_bytes):
    out = raw_exchange(server.port, request_bytes)
    assert out.startswith(b"HTTP/1.1 400 "), out[:200]
    head, _, body = out.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower(), head
    assert b'"IS.0001"' in body, body
    assert server.proc.poll() is None, server.logs()
    assert healthy(server)


def test_well_formed_request_after_malformed_ones(server):
    out = raw_exchange(server.port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 "), out[:200]


# --- file descriptors ----------------------------------------------------------------------

def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_idle(port, n, source="127.0.0.1"):
    socks = []
    for _ in range(n):
        s = socket.socket()
        if source:
            s.bind((source, 0))
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        socks.append(s)
    return socks


def closed_by_server(sock, wait=1.0):
    sock.settimeout(wait)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def test_descriptor_shortage_is_contained():
    limit = 512
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # for our own sockets
    s = Server(extra_args=["--max-connections-per-address", "0"],
               preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit)))
    s.start()
    try:
        assert "max_connections lowered from 1024" in s.logs(), s.logs()
        created = {}
        for i in range(3):
            created["before%d" % i] = s.create("before%d" % i)[0]
        log_before = os.path.getsize(s.log_path)
        cpu_before = cpu_seconds(s.proc.pid)
        socks = open_idle(s.port, 2 * limit)  # far more than the server may hold
        time.sleep(3)
        cpu = cpu_seconds(s.proc.pid) - cpu_before
        grown = os.path.getsize(s.log_path) - log_before
        assert cpu < 1.0, "accept loop spun: %.2f s of CPU in 3 s" % cpu
        assert grown < 64 << 10, "log grew %d bytes in 3 s" % grown
        # leave one slot: requests through it still work (the store's descriptors are kept)
        for sock in socks[:2]:
            sock.close()
        socks = socks[2:]
        time.sleep(0.5)
        for i in range(3):
            try:
                created["during%d" % i] = s.create("during%d" % i)[0]
            except requests.RequestException:
                created["during%d" % i] = None
        st = s.request("DELETE", "/service/before0")[0]
        deleted = st == 200
        for sock in socks:
            sock.close()
        time.sleep(0.5)
        assert healthy(s)
        s.stop()
        s.start()
        for name, status in created.items():
            exists = s.request("GET", "/service/" + name)[0] == 200
            if name == "before0" and deleted:
                assert not exists
            else:
                assert exists == (status == 200), (name, status, exists)
        assert any(st == 200 for n, st in created.items() if n.startswith("during")), created
    finally:
        s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_too_few_descriptors_refuse_to_start():
    s = Server(preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200)))
    try:
        with pytest.raises(RuntimeError) as e:
            s.start()
        assert "file-descriptor limit" in str(e.value)
    finally:
        s.close()


# --- one address cannot hold every slot ------------------------------------------------------

def test_one_address_cannot_hold_every_connection():
    s = Server(extra_args=["--max-connections", "30", "--max-connections-per-address", "20"])
    s.start()
    try:
        socks = open_idle(s.port, 40, source="127.0.0.1")
        time.sleep(0.5)
        refused = sum(closed_by_server(sock, 0.2) for sock in socks[20:])
        assert refused == 20, refused
        assert not any(closed_by_server(sock, 0.05) for sock in socks[:20])
        out = raw_exchange(s.port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                           source="127.0.0.2")
        assert out.startswith(b"HTTP/1.1 200 "), out[:200]
        for sock in socks:
            sock.close()
    finally:
        s.close()


# --- SSRF: IPv6 spellings of internal IPv4 addresses ------------------------------------------

def test_ipv6_forms_of_loopback_are_refused():
    s = Server(extra_args=["--fetch-allowed-hosts", "*"]).start()
    try:
        assert s.create("ssrf")[0] == 200
        for host in ("[::127.0.0.1]", "[64:ff9b::7f00:1]", "[::ffff:127.0.0.1]",
                     "[2002:7f00:1::1]"):
            st, out, _ = s.add("ssrf", "http://%s:%d/x.jpg" % (host, s.port))
            assert st == 400 and error_code(out) == "IS.2011", (host, st, out)
    finally:
        s.close()


# --- slow downloads do not hold the server ----------------------------------------------------

class Trickle:
    """An HTTP server that answers every request with headers, then one byte a second."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn):
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n"
                         b"Content-Length: 100000\r\n\r\n")
            while not self.stop.is_set():
                conn.sendall(b"\xff")
                time.sleep(1)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.sock.close()


def test_slow_downloads_do_not_block_health_or_other_requests():
    t = Trickle()
    s = Server(extra_args=["--fetch-allowed-hosts", "127.0.0.1:%d" % t.port,
                           "--fetch-allow-private", "true", "--fetch-timeout-ms", "8000",
                           "--worker-threads", "2"]).start()
    try:
        assert s.create("slow")[0] == 200
        results = []
        threads = [threading.Thread(target=lambda: results.append(
            s.add("slow", "http://127.0.0.1:%d/x.jpg" % t.port, timeout=30)[:2]))
            for _ in range(4)]
        for th in threads:
            th.start()
        time.sleep(1)
        t0 = time.time()
        assert healthy(s)
        assert time.time() - t0 < 1.0, "health waited %.1f s" % (time.time() - t0)
        t0 = time.time()
        assert s.request("GET", "/service/slow", timeout=10)[0] == 200
        assert time.time() - t0 < 2.0, "a request waited %.1f s" % (time.time() - t0)
        for th in threads:
            th.join()
        # every download failed (timed out or refused as one too many), none hung
        assert all(st != 200 for st, _ in results), results
        assert any(error_code(out) == "IS.2000" for _, out in results), results
    finally:
        s.close()
        t.close()
