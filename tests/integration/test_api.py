"""The eight v1 operations and every validation rule, over HTTP against the real binary."""
import http.client
import json
import os
import socket
import threading
import time

import pytest

from harness import BAD_DIR, Server, b64_file, error_code, originals

GOOD = originals(6)


def expect_error(result, code, status=400):
    st, body, resp = result
    assert st == status and error_code(body) == code, (st, body)
    assert body["error_msg"]
    assert resp.headers.get("X-Request-Id")


def test_instance_lifecycle(server):
    st, body, resp = server.create("life", ["color", "size"])
    assert st == 200, body
    assert resp.headers["X-Request-Id"]
    assert body["instanceName"] == "life" and body["domain"] == "common-search"
    assert body["expiredDate"] == -1 and body["level"] == 30000000
    assert body["status"] == "NORMAL" and body["tags"] == ["color", "size"]
    assert abs(body["registerDate"] - time.time() * 1000) < 60000
    st, got, _ = server.request("GET", "/service/life")
    assert st == 200 and got == body
    expect_error(server.create("life"), "IS.3000")
    # delete-instance accepts no body, an empty body and {}
    st, out, _ = server.request("DELETE", "/service/life", raw="{}")
    assert st == 200 and out == {"result": "success"}
    st, out, _ = server.request("GET", "/service/life")
    assert st == 400 and error_code(out) in ("IS.2019", "IS.4004", "IS.1001")
    st, out, _ = server.request("DELETE", "/service/life")
    assert st == 400 and error_code(out) in ("IS.2019", "IS.4004", "IS.1001")


@pytest.mark.parametrize("body,code", [
    ({"model": "common-search"}, "IS.0001"),
    ({"name": "", "model": "common-search"}, "IS.0003"),
    ({"name": 5, "model": "common-search"}, "IS.0002"),
    ({"name": "Upper", "model": "common-search"}, "IS.0007"),
    ({"name": "1abc", "model": "common-search"}, "IS.0007"),
    ({"name": "a" * 17, "model": "common-search"}, "IS.0007"),
    ({"name": "a.b", "model": "common-search"}, "IS.0007"),
    ({"name": "service", "model": "common-search"}, "IS.0007"),
    ({"name": "vx"}, "IS.0001"),
    ({"name": "vx", "model": "no-such-model"}, "IS.3014"),
    ({"name": "vx", "model": "common-search", "description": "d" * 513}, "IS.3036"),
    ({"name": "vx", "model": "common-search", "description": 3}, "IS.0002"),
    ({"name": "vx", "model": "common-search", "level": 2000000}, "IS.3035"),
    ({"name": "vx", "model": "common-search", "level": "30000000"}, "IS.0002"),
    ({"name": "vx", "model": "common-search", "level": 3e7}, "IS.0002"),
    ({"name": "vx", "model": "common-search", "tags": ["t%d" % i for i in range(11)]}, "IS.3024"),
    ({"name": "vx", "model": "common-search", "tags": ["Color"]}, "IS.3026"),
    ({"name": "vx", "model": "common-search", "tags": "color"}, "IS.0002"),
    ({"name": "vx", "model": "common-search", "tags": [1]}, "IS.0002"),
])
def test_create_validation(server, body, code):
    expect_error(server.request("POST", "/service", body), code)
    st, out, _ = server.request("GET", "/service/vx")
    assert st == 400, "a refused create must change nothing"


def test_create_limits_accepted(server):
    body = {"name": "a" + "-_9" * 5, "model": "common-search", "description": "d" * 512,
            "level": 30000000, "tags": ["t%d" % i for i in range(10)]}
    st, out, _ = server.request("POST", "/service", body)
    assert st == 200, out
    assert len(out["desc"]) == 512 and len(out["tags"]) == 10


@pytest.mark.parametrize("raw", ["not json", "[1,2]", "\"s\"", "{\"name\":", "", "[" * 100000])
def test_body_not_a_json_object(server, raw):
    expect_error(server.request("POST", "/service", raw=raw), "IS.0008")


def test_routes_and_methods(server):
    expect_error(server.request("GET", "//nope"), "APIG.0101", 404)
    expect_error(server.request("GET", "//v1"), "APIG.0101", 404)
    # a known path with another method: the reference's IS.0010 (400), not the gateway's 404
    expect_error(server.request("PATCH", "/service"), "IS.0010", 400)
    expect_error(server.request("GET", "/service"), "IS.0010", 400)
    expect_error(server.request("PUT", "/service/x"), "IS.0010", 400)
    expect_error(server.request("GET", "/any/image"), "IS.0010", 400)  # POST/PUT/DELETE only
    expect_error(server.request("GET", "/any/nope"), "APIG.0101", 404)
    # percent-encoded path segments are decoded before routing
    server.create("pct")
    st, out, _ = server.request("GET", "/servic%65/p%63t")
    assert st == 200 and out["instanceName"] == "pct"


@pytest.fixture(scope="module")
def gallery(server):
    st, body, _ = server.create("gal", ["color", "kind"])
    assert st == 200, body
    colors = ["red", "blue", "red", "green", "blue", "red"]
    for i, p in enumerate(GOOD):
        st, out, _ = server.add("gal", "img/%d.jpg" % i, p, {"color": colors[i], "kind": "photo"})
        assert st == 200 and out == {"result": "Success"}, out
    return server


def test_add_check_search(gallery):
    s = gallery
    st, out, _ = s.check("gal", "img/0.jpg")
    assert st == 200 and out == {"exist": "true"}
    st, out, _ = s.check("gal", "img/none.jpg")
    assert st == 200 and out == {"exist": "false"}
    st, out, resp = s.search("gal", file=b64_file(GOOD[2]), limit=3)
    assert st == 200, out
    # count: the total the query ranks (all 6 images), result: this page
    assert out["count"] == 6 and len(out["result"]) == 3
    top = out["result"][0]
    assert top["path"] == "img/2.jpg" and top["tags"] == {"color": "red", "kind": "photo"}
    assert '"sim":' in resp.text and isinstance(top["sim"], float)
    sims = [h["sim"] for h in out["result"]]
    assert sims == sorted(sims, reverse=True) and all(0.0 <= x <= 1.0 for x in sims)
    assert sims[0] > 0.99
    # `sim` is always written with a fraction, even when it is exactly 1
    assert '"sim":1,' not in resp.text and '"sim":0,' not in resp.text


def test_search_variants(gallery):
    s = gallery
    st, out, _ = s.search("gal", path="img/3.jpg", limit=1)
    assert st == 200 and out["result"][0]["path"] == "img/3.jpg", out
    st, out, _ = s.search("gal", file=b64_file(GOOD[0]), tags={"color": "red"}, limit=100)
    assert st == 200 and {h["path"] for h in out["result"]} == {"img/0.jpg", "img/2.jpg", "img/5.jpg"}
    st, out, _ = s.search("gal", tags={"color": "blue"}, limit=100)  # tag-only search
    assert st == 200 and sorted(h["path"] for h in out["result"]) == ["img/1.jpg", "img/4.jpg"]
    # paging is consistent: offset 2 continues where offset 0 / limit 2 stopped
    st, full, _ = s.search("gal", file=b64_file(GOOD[0]), limit=6)
    st, page, _ = s.search("gal", file=b64_file(GOOD[0]), limit=2, offset=2)
    assert [h["path"] for h in page["result"]] == [h["path"] for h in full["result"][2:4]]
    # file wins over path
    st, out, _ = s.search("gal", file=b64_file(GOOD[4]), path="img/0.jpg", limit=1)
    assert out["result"][0]["path"] == "img/4.jpg"
    # crop box
    st, out, _ = s.search("gal", file=b64_file(GOOD[1]), is_crop=True,
                          box={"x": 0, "y": 0, "width": 100, "height": 100}, limit=1)
    assert st == 200, out


def test_modify_and_delete_image(gallery):
    s = gallery
    st, out, _ = s.add("gal", "tmp.jpg", GOOD[0], {"color": "red"})
    assert st == 200
    st, out, _ = s.request("PUT", "/gal/image", {"path": "tmp.jpg", "tags": {"color": "black"}})
    assert st == 200 and out == {"result": "Success"}, out
    st, out, _ = s.search("gal", tags={"color": "black"})
    assert [h["path"] for h in out["result"]] == ["tmp.jpg"]
    expect_error(s.request("PUT", "/gal/image", {"path": "tmp.jpg", "tags": {"nokey": "x"}}),
                 "IS.1004")
    expect_error(s.request("PUT", "/gal/image", {"path": "tmp.jpg"}), "IS.2009")
    st, out, _ = s.request("DELETE", "/gal/image", {"path": "tmp.jpg"})
    assert st == 200 and out == {"result": "Success"}
    assert s.check("gal", "tmp.jpg")[1] == {"exist": "false"}
    # re-adding an existing path replaces it
    s.add("gal", "again.jpg", GOOD[0], {"color": "red"})
    s.add("gal", "again.jpg", GOOD[1], {"color": "green"})
    st, out, _ = s.search("gal", path="again.jpg", tags={"color": "green"}, limit=100)
    assert "again.jpg" in [h["path"] for h in out["result"]]
    st, out, _ = s.search("gal", tags={"color": "red"}, limit=100)
    assert "again.jpg" not in [h["path"] for h in out["result"]]
    s.request("DELETE", "/gal/image", {"path": "again.jpg"})


@pytest.mark.parametrize("method,sub,body,code", [
    ("POST", "/image", {"file": "aGVsbG8="}, "IS.0003"),
    ("POST", "/image", {"path": ""}, "IS.0003"),
    ("POST", "/image", {"path": 7}, "IS.0002"),
    ("POST", "/image", {"path": "x.jpg"}, "IS.2015"),
    ("POST", "/image", {"path": "x.jpg", "file": ""}, "IS.2015"),
    ("POST", "/image", {"path": "x.jpg", "file": 12}, "IS.0002"),
    ("POST", "/image", {"path": "x.jpg", "file": "a*b="}, "IS.2007"),
    ("POST", "/image", {"path": "x.jpg", "file": "@", "tags": {}}, "IS.2007"),
    ("POST", "/image", {"path": "x.jpg", "tags": {"k%d" % i: "v" for i in range(11)}}, "IS.1003"),
    ("POST", "/image", {"path": "x.jpg", "tags": {"color": 1}}, "IS.0002"),
    ("POST", "/image", {"path": "x.jpg", "tags": ["color"]}, "IS.0002"),
    ("POST", "/image", {"path": "p" * 2049, "file": "aGVsbG8="}, "IS.0016"),
    ("POST", "/image/check", {}, "IS.0003"),
    ("POST", "/image/check", {"path": ["a"]}, "IS.0002"),
    ("DELETE", "/image", {}, "IS.0003"),
    ("PUT", "/image", {"tags": {"color": "x"}}, "IS.0003"),
    ("PUT", "/image", {"path": "img/0.jpg", "tags": "x"}, "IS.0002"),
    ("POST", "/image/search", {}, "IS.2015"),
    ("POST", "/image/search", {"tags": {"color": "red"}, "limit": 0}, "IS.1010"),
    ("POST", "/image/search", {"tags": {"color": "red"}, "limit": 101}, "IS.1010"),
    ("POST", "/image/search", {"tags": {"color": "red"}, "limit": "10"}, "IS.0002"),
    ("POST", "/image/search", {"tags": {"color": "red"}, "limit": 1.5}, "IS.0002"),
    ("POST", "/image/search", {"tags": {"color": "red"}, "offset": -1}, "IS.1011"),
    ("POST", "/image/search", {"tags": {"color": "red"}, "offset": "0"}, "IS.0002"),
    ("POST", "/image/search", {"tags": {"k%d" % i: "v" for i in range(11)}}, "IS.1003"),
    ("POST", "/image/search", {"tags": {"color": "red"}, "is_crop": "yes"}, "IS.0002"),
    ("POST", "/image/search", {"path": "img/0.jpg", "is_crop": True}, "IS.0001"),
    ("POST", "/image/search", {"path": "img/0.jpg", "is_crop": True,
                               "box": {"x": -1, "y": 0, "width": 10, "height": 10}}, "IS.0002"),
    ("POST", "/image/search", {"path": "img/0.jpg", "is_crop": True,
                               "box": {"x": 0, "y": 0, "width": 0, "height": 10}}, "IS.0002"),
    ("POST", "/image/search", {"path": "img/0.jpg", "is_crop": True,
                               "box": {"x": "0", "y": 0, "width": 5, "height": 10}}, "IS.0002"),
])
def test_image_validation(gallery, method, sub, body, code):
    before = gallery.search("gal", tags={"kind": "photo"}, limit=100)[1]
    expect_error(gallery.request(method, "/gal" + sub, body), code)
    assert gallery.search("gal", tags={"kind": "photo"}, limit=100)[1] == before


def test_unknown_instance(gallery):
    s = gallery
    for r in (s.add("nosuch", "a.jpg", GOOD[0]), s.check("nosuch", "a"),
              s.search("nosuch", tags={"a": "b"}),
              s.request("DELETE", "/nosuch/image", {"path": "a"}),
              s.request("PUT", "/nosuch/image", {"path": "a", "tags": {"a": "b"}}),
              s.check("Bad.Name", "a")):
        assert r[0] == 400 and error_code(r[1]) == "IS.2019", r[1]


# Every hostile file of eval/bad-inputs sent as `file`: the exact answer, nothing stored.
BAD_EXPECT = {
    "empty.jpg": "IS.2015", "truncated.jpg": "IS.2002", "truncated_header.jpg": "IS.2002",
    "truncated.png": "IS.2002", "corrupt_huffman.jpg": "IS.2002", "bad_crc.png": "IS.2002",
    "bomb_60000x60000.png": "IS.2106", "header_60000x60000_only.png": "IS.2106",
    "header_60000x60000.jpg": "IS.2106", "size_99x500.jpg": "IS.2107",
    "size_2049x10.jpg": "IS.2106", "size_99x99.jpg": "IS.2107", "size_2049x2049.jpg": "IS.2106",
    "unsupported.svg": "IS.2001", "text_renamed.jpg": "IS.2001",
    "random_bytes.jpg": "IS.2001", "jpeg_magic_only.jpg": "IS.2002",
    "b64_bad_padding.txt": "IS.2007", "b64_urlsafe.txt": "IS.2007",
    "b64_invalid_chars.txt": "IS.2007", "b64_empty.txt": "IS.2015",
    "b64_of_text.txt": "IS.2001", "b64_truncated.txt": "IS.2002",
}
BAD_ACCEPT = ["size_100x100.jpg", "size_2048x2048.jpg", "size_100x2048.jpg", "size_2048x100.jpg",
              "bitdepth1.bmp", "rgb16_or_gray16.png", "rgb16.png", "cmyk.jpg", "progressive.jpg",
              "grayscale.jpg", "alpha.png", "palette.png", "png_renamed.jpg", "animated.png",
              "exif_orientation6.jpg", "b64_valid.txt", "b64_no_padding.txt",
              "unsupported.gif", "unsupported.webp", "unsupported.tiff", "gif_renamed.jpg",
              "b64_newlines.txt", "b64_whitespace.txt", "b64_data_url.txt"]


def test_bad_inputs_cover_the_folder():
    files = {f for f in os.listdir(BAD_DIR) if f != "MANIFEST.md"}
    assert files == set(BAD_EXPECT) | set(BAD_ACCEPT)


@pytest.mark.parametrize("name", sorted(BAD_EXPECT) + BAD_ACCEPT)
def test_bad_inputs(server, name):
    inst = "bad"
    if server.request("GET", "/service/" + inst)[0] != 200:
        server.create(inst)
    path = os.path.join(BAD_DIR, name)
    file_b64 = open(path).read() if name.endswith(".txt") else b64_file(path)
    st, out, _ = server.add(inst, "bad/" + name, file_b64=file_b64)
    if name in BAD_EXPECT:
        assert st == 400 and error_code(out) == BAD_EXPECT[name], out
        assert server.check(inst, "bad/" + name)[1] == {"exist": "false"}
        # also as a search query: same answer, server still up
        st, out, _ = server.search(inst, file=file_b64)
        assert st == 400 and error_code(out) in (BAD_EXPECT[name], "IS.2015"), out
    else:
        assert st == 200, out
        assert server.check(inst, "bad/" + name)[1] == {"exist": "true"}
    assert server.proc.poll() is None


def test_keep_alive(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    socks = set()
    for i in range(5):
        conn.request("POST", "/v1/%s/gal/image/check" % server.project,
                     body=json.dumps({"path": "img/%d.jpg" % i}),
                     headers=dict(server.headers, **{"Content-Type": "application/json"}))
        r = conn.getresponse()
        assert r.status == 200 and json.loads(r.read())["exist"] in ("true", "false")
        assert r.getheader("X-Request-Id")
        socks.add(id(conn.sock))
    assert len(socks) == 1 and conn.sock is not None
    conn.close()


def test_oversized_body_refused_before_reading(server):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    s.sendall(("POST /v1/%s/gal/image HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\n\r\n" % (server.project, 64 << 20)).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    assert b" 413 " in data.split(b"\r\n")[0], data
    assert server.proc.poll() is None


def test_access_log_has_request_ids(server):
    st, out, resp = server.check("gal", "img/0.jpg")
    rid = resp.headers["X-Request-Id"]
    deadline = time.time() + 10  # the log line is written as the answer goes out: poll
    while rid not in server.logs() and time.time() < deadline:
        time.sleep(0.02)
    assert rid in server.logs()


def test_sigterm_drains_in_flight_requests():
    s = Server().start()
    try:
        s.create("drain")
        big = os.path.join(BAD_DIR, "size_2048x2048.jpg")
        results = []

        def slow_adds():
            for i in range(3):
                results.append(s.add("drain", "d%d" % i, big)[0])

        t = threading.Thread(target=slow_adds)
        t.start()
        deadline = time.time() + 30  # stop once the first add has been answered: the next runs
        while not results and time.time() < deadline:
            time.sleep(0.01)
        code = s.stop()
        t.join()
        assert code == 0, s.logs()
        # every request that got an answer succeeded; the ones after the stop were refused
        assert results and results[0] == 200, results
        acked = [i for i, c in enumerate(results) if c == 200]
        s.start()
        for i in acked:
            assert s.check("drain", "d%d" % i)[1] == {"exist": "true"}
    except Exception:
        print(s.logs())
        raise
    finally:
        s.close()


def test_help_and_bad_usage():
    import subprocess
    from harness import BIN
    r = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    for word in ("--data-dir", "--listen", "--fetch-allowed-hosts", "ISS_FETCH_ALLOWED_HOSTS",
                 "--auth-enabled", "--max-body-bytes", "--config"):
        assert word in r.stdout, word
    r = subprocess.run([BIN, "--listen", "nonsense"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "listen" in r.stderr


def test_health_needs_no_credentials(server):
    import requests
    r = requests.get(server.base + "/health", timeout=10)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert r.headers.get("X-Request-Id")


def parse_metrics(text):
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_count_requests_by_route_without_names(server):
    import requests

    def scrape():
        r = requests.get(server.base + "/metrics", timeout=10)  # no credentials
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse_metrics(r.text), r.text

    assert server.create("zq7gallery")[0] == 200
    assert server.add("zq7gallery", "zq7/a.jpg", GOOD[0])[0] == 200
    before, _ = scrape()
    for _ in range(3):
        st, out, _ = server.request("POST", "/zq7gallery/image/check", {"path": "zq7/a.jpg"})
        assert st == 200, out
    assert server.request("GET", "//no/such/route")[0] == 404
    after, text = scrape()

    route = "/v1/{project_id}/{instance_name}/image/check"
    ok = 'imagesearch_http_requests_total{method="POST",route="%s",status="200"}' % route
    assert after[ok] - before.get(ok, 0) == 3
    miss = 'imagesearch_http_requests_total{method="GET",route="(unmatched)",status="404"}'
    assert after[miss] - before.get(miss, 0) == 1
    hist = "imagesearch_http_request_duration_seconds"
    labels = 'method="POST",route="%s"' % route
    buckets = [v for k, v in after.items() if k.startswith(hist + "_bucket{" + labels)]
    assert len(buckets) == 13 and buckets == sorted(buckets)  # cumulative
    les = [k.split('le="')[1].split('"')[0] for k in after if k.startswith(hist + "_bucket{" + labels)]
    assert les == ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
                   "1", "2.5", "10", "+Inf"], les  # the bounds as written, no float noise
    count = after[hist + "_count{" + labels + "}"]
    assert buckets[-1] == count and count - before.get(hist + "_count{" + labels + "}", 0) == 3
    assert 0 < after[hist + "_sum{" + labels + "}"] < count * 10
    assert after["imagesearch_instances"] >= 1 and after["imagesearch_images"] >= 1
    assert after["imagesearch_index_disk_bytes"] > 0 and after["imagesearch_index_ram_bytes"] > 0
    # Route patterns only: no project id, instance name or image path.
    for secret in (server.project, "zq7gallery", "zq7/a.jpg"):
        assert secret not in text, secret
    assert server.request("DELETE", "/service/zq7gallery")[0] == 200


def _convert(src, dst, fmt):
    """`src` (a JPEG) re-encoded as a phone or web photo: PIL for WebP/TIFF/GIF, libheif's
    own encoder (heif-enc: x265 for HEIC, aom for AVIF) for the others."""
    if fmt in ("HEIC", "AVIF"):
        cmd = ["heif-enc", "-q", "85", src, "-o", dst] + (["-A"] if fmt == "AVIF" else [])
        import subprocess
        subprocess.run(cmd, check=True, capture_output=True)
        return
    from PIL import Image
    img = Image.open(src).convert("RGB")
    if fmt == "GIF":
        img = img.convert("P", palette=Image.ADAPTIVE, colors=256)
    img.save(dst, fmt)


def test_phone_and_web_photo_formats(server, tmp_path):
    """WebP, TIFF, GIF, HEIC and AVIF: each is stored and searched like a JPEG; a copy in
    another format finds the JPEG original; the size limits hold from the header."""
    inst = "formats"
    server.create(inst)
    for i, o in enumerate(GOOD[:3]):
        assert server.add(inst, "jpeg-%d" % i, file_path=o)[0] == 200
    for fmt in ("WEBP", "TIFF", "GIF", "HEIC", "AVIF"):
        for i, o in enumerate(GOOD[:3]):
            f = str(tmp_path / ("%d.%s" % (i, fmt.lower())))
            _convert(o, f, fmt)
            st, out, _ = server.search(inst, file=b64_file(f), limit=1)
            assert st == 200, (fmt, out)
            assert out["result"][0]["path"] == "jpeg-%d" % i, (fmt, out)
            assert out["result"][0]["sim"] > 0.9, (fmt, out)
        st, out, _ = server.add(inst, "as-" + fmt, file_path=f)
        assert st == 200, (fmt, out)
        st, out, _ = server.search(inst, file=b64_file(GOOD[2]), limit=2)
        assert {h["path"] for h in out["result"]} == {"jpeg-2", "as-" + fmt}, (fmt, out)
        assert server.request("DELETE", "/%s/image" % inst, {"path": "as-" + fmt})[0] == 200
    # The service's limits, from the header: a 3000 x 2000 GIF and a 99 px HEIC.
    from PIL import Image
    big = str(tmp_path / "big.gif")
    Image.new("P", (3000, 2000)).save(big, "GIF")
    expect_error(server.add(inst, "big", file_path=big), "IS.2106")
    small_jpg, small = str(tmp_path / "small.jpg"), str(tmp_path / "small.heic")
    Image.open(GOOD[0]).convert("RGB").resize((160, 99)).save(small_jpg, "JPEG")
    _convert(small_jpg, small, "HEIC")
    expect_error(server.add(inst, "small", file_path=small), "IS.2107")
    # A damaged HEIC (its second half gone): IS.2002, nothing stored.
    damaged = str(tmp_path / "damaged.heic")
    data = open(str(tmp_path / "0.heic"), "rb").read()
    open(damaged, "wb").write(data[:len(data) // 2])
    expect_error(server.add(inst, "damaged", file_path=damaged), "IS.2002")
    for p in ("big", "small", "damaged"):
        assert server.check(inst, p)[1] == {"exist": "false"}


def test_phone_size_photos_are_refused_unless_downscaling_is_on(server, tmp_path):
    from PIL import Image
    photo = str(tmp_path / "phone.jpg")
    Image.open(GOOD[0]).convert("RGB").resize((4032, 3024)).save(photo, "JPEG", quality=90)
    server.create("phone")
    expect_error(server.add("phone", "p.jpg", file_path=photo), "IS.2106")  # as the reference
    s = Server(extra_args=["--downscale-large-images", "true"]).start()
    try:
        assert s.create("phone")[0] == 200
        st, out, _ = s.add("phone", "p.jpg", file_path=photo)
        assert st == 200, out
        assert s.add("phone", "other.jpg", file_path=GOOD[1])[0] == 200
        st, out, _ = s.search("phone", file=b64_file(GOOD[0]), limit=1)  # the 640 px original
        assert st == 200 and out["result"][0]["path"] == "p.jpg" and out["result"][0]["sim"] > 0.9
        # a box in the big file's pixels: its left half
        st, out, _ = s.search("phone", file=b64_file(photo), limit=1,
                              box={"x": 0, "y": 0, "width": 2016, "height": 3024})
        assert st == 200, out
        huge = str(tmp_path / "huge.png")
        Image.new("RGB", (17000, 200)).save(huge, "PNG")
        expect_error(s.add("phone", "huge", file_path=huge), "IS.2106")  # past 16384 px
    finally:
        s.close()
