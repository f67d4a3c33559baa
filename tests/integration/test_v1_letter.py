"""v1 to the letter (issue 13): the differences from the reference and the official SDK that
a client would notice, each through the real server."""
import os
import shutil
import tempfile

import pytest

from harness import Server, b64_file, error_code, originals

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "..", "models")
IMGS = originals(4)


def paths(out):
    return [h["path"] for h in out["result"]]


def test_ties_page_in_one_total_order(server):
    """Three identical images: every page of one is a different one, a, b, c."""
    assert server.create("ties")[0] == 200
    for p in ("c", "b", "a"):
        assert server.add("ties", p, IMGS[0])[0] == 200
    assert server.add("ties", "other", IMGS[1])[0] == 200
    seen = []
    for offset in range(4):
        st, out, _ = server.search("ties", file=b64_file(IMGS[0]), limit=1, offset=offset)
        assert st == 200, out
        assert len(out["result"]) == 1 and out["count"] == 4, out
        seen += paths(out)
    assert seen == ["a", "b", "c", "other"], seen
    # by the stored path, and by tags alone: the same rule
    st, out, _ = server.search("ties", path="b", limit=2, offset=1)
    assert st == 200 and paths(out) == ["b", "c"], out
    for offset in range(3):
        st, out, _ = server.search("ties", path="c", limit=1, offset=offset)
        assert paths(out) == [["a", "b", "c"][offset]], (offset, out)


def test_count_is_the_total_the_query_ranks(server):
    assert server.create("cnt", tags=["color"])[0] == 200
    colors = ["red", "blue", "red", "red"]
    for i, p in enumerate(IMGS):
        assert server.add("cnt", "img/%d" % i, p, {"color": colors[i]})[0] == 200
    # tags alone: every matching image, whatever the page
    st, out, _ = server.search("cnt", tags={"color": "red"}, limit=1, offset=1)
    assert st == 200 and out["count"] == 3 and paths(out) == ["img/2"], out
    st, out, _ = server.search("cnt", tags={"color": "red"}, limit=10, offset=5)
    assert st == 200 and out["count"] == 3 and out["result"] == [], out
    # by image: every image of the instance is ranked (with some score)
    st, out, _ = server.search("cnt", file=b64_file(IMGS[0]), limit=2)
    assert st == 200 and out["count"] == 4 and len(out["result"]) == 2, out
    # by image within a filter: the images the filter matches
    st, out, _ = server.search("cnt", file=b64_file(IMGS[0]), tags={"color": "blue"}, limit=5)
    assert st == 200 and out["count"] == 1 and paths(out) == ["img/1"], out
    st, out, _ = server.search("cnt", tags={"color": "green"})
    assert st == 200 and out == {"count": 0, "result": []}, out


def test_abnormal_instance_answers_is0014_on_every_image_operation():
    """An instance whose model went missing: check, modify, delete, add, search: IS.0014."""
    models = tempfile.mkdtemp(prefix="iss-models-")
    try:
        for f in ("common-search.toml", "common-search.onnx", "common-search.pca"):
            os.symlink(os.path.abspath(os.path.join(MODELS, f)), os.path.join(models, f))
        with open(os.path.join(MODELS, "common-search.toml")) as f:
            spare = f.read().replace('name = "common-search"', 'name = "spare"')
        spare = spare.replace('onnx = "common-search.onnx"', 'onnx = "spare.onnx"')
        with open(os.path.join(models, "spare.toml"), "w") as f:
            f.write(spare)
        os.symlink(os.path.abspath(os.path.join(MODELS, "common-search.onnx")),
                   os.path.join(models, "spare.onnx"))
        s = Server(extra_args=["--model-dir", models]).start()
        try:
            st, out, _ = s.request("POST", "/service", {"name": "ab", "model": "spare",
                                                        "tags": ["k"]})
            assert st == 200, out
            assert s.add("ab", "x", IMGS[0], {"k": "v"})[0] == 200
            assert s.create("norm")[0] == 200
            assert s.add("norm", "n", IMGS[1])[0] == 200
            # cross-search needs one model on both sides
            st, out, _ = s.request("POST", "/image/cross-search", {
                "source_instance": "ab", "target_instance": "norm", "paths": ["x"]})
            assert st == 400 and error_code(out) == "IS.3004", out
            s.stop()
            os.unlink(os.path.join(models, "spare.onnx"))
            s.start()
            st, out, _ = s.request("GET", "/service/ab")
            assert st == 200 and out["status"] == "ABNORMAL", out
            for method, sub, body in [
                    ("POST", "/ab/image/check", {"path": "x"}),
                    ("POST", "/ab/image/check", {"path": "missing"}),
                    ("PUT", "/ab/image", {"path": "x", "tags": {"k": "w"}}),
                    ("DELETE", "/ab/image", {"path": "x"}),
                    ("DELETE", "/ab/image", {"path": "missing"}),
                    ("POST", "/ab/image", {"path": "y", "file": b64_file(IMGS[1])}),
                    ("POST", "/ab/image/search", {"file": b64_file(IMGS[1])}),
                    ("POST", "/ab/image/search", {"tags": {"k": "v"}}),
                    ("POST", "/image/cross-search", {"source_instance": "ab",
                                                      "target_instance": "ab", "paths": ["x"]})]:
                st, out, _ = s.request(method, sub, body)
                assert st == 400 and error_code(out) == "IS.0014", (method, sub, out)
            # the instance itself can still be read and deleted
            st, out, _ = s.request("DELETE", "/service/ab")
            assert st == 200, out
        finally:
            s.close()
    finally:
        shutil.rmtree(models)


def test_levels_of_the_sdk_and_their_limit():
    s = Server(extra_args=["--max-images-per-instance", "2"]).start()
    try:
        for i, level in enumerate([1000000, 5000000, 10000000, 30000000, 50000000, 100000000]):
            st, out, _ = s.request("POST", "/service", {"name": "lv%d" % i,
                                                        "model": "common-search",
                                                        "level": level})
            assert st == 200 and out["level"] == level, out
            st, out, _ = s.request("GET", "/service/lv%d" % i)
            assert st == 200 and out["level"] == level, out
        for bad in (0, 2000000, 30000001, 200000000, -1):
            st, out, _ = s.request("POST", "/service", {"name": "bad", "model": "common-search",
                                                        "level": bad})
            assert st == 400 and error_code(out) == "IS.3035", (bad, out)
        # an instance holds min(level, limits.max_images_per_instance) images
        assert s.add("lv0", "a", IMGS[0])[0] == 200
        assert s.add("lv0", "b", IMGS[1])[0] == 200
        st, out, _ = s.add("lv0", "c", IMGS[2])
        assert st == 400 and error_code(out) == "IS.1015", out
        assert s.add("lv0", "a", IMGS[2])[0] == 200  # replacing is not a new image
    finally:
        s.close()


def test_cross_search(server):
    """POST /v1/{project_id}/image/cross-search: one instance searched with another's images."""
    assert server.create("xsrc")[0] == 200
    assert server.create("xdst")[0] == 200
    assert server.add("xsrc", "q0", IMGS[0])[0] == 200
    assert server.add("xsrc", "q1", IMGS[1])[0] == 200
    for i, p in enumerate(IMGS):
        assert server.add("xdst", "t%d" % i, p)[0] == 200
    st, out, _ = server.request("POST", "/image/cross-search", {
        "source_instance": "xsrc", "target_instance": "xdst", "paths": ["q0"], "limit": 2})
    assert st == 200 and out["count"] == 4 and len(out["result"]) == 2, out
    assert out["result"][0]["path"] == "t0" and out["result"][0]["sim"] > 0.99, out
    # several paths: an image scores its best against any of them
    st, out, _ = server.request("POST", "/image/cross-search", {
        "source_instance": "xsrc", "target_instance": "xdst", "paths": ["q0", "q1"],
        "limit": 2})
    assert st == 200 and sorted(paths(out)) == ["t0", "t1"], out
    st, out2, _ = server.request("POST", "/image/cross-search", {
        "source_instance": "xsrc", "target_instance": "xdst", "paths": ["q0", "q1"],
        "limit": 1, "offset": 1})
    assert st == 200 and paths(out2) == paths(out)[1:], (out, out2)
    # the same answer as a search of the target with the source's image
    st, direct, _ = server.search("xdst", file=b64_file(IMGS[0]), limit=4)
    st, cross, _ = server.request("POST", "/image/cross-search", {
        "source_instance": "xsrc", "target_instance": "xdst", "paths": ["q0"], "limit": 4})
    assert paths(cross) == paths(direct), (cross, direct)
    base = {"source_instance": "xsrc", "target_instance": "xdst", "paths": ["q0"]}
    for body, code in [
            ({k: v for k, v in base.items() if k != "source_instance"}, "IS.0001"),
            ({k: v for k, v in base.items() if k != "target_instance"}, "IS.0001"),
            ({k: v for k, v in base.items() if k != "paths"}, "IS.0001"),
            (dict(base, paths=[]), "IS.0003"),
            (dict(base, paths=["q0"] * 11), "IS.0002"),
            (dict(base, paths="q0"), "IS.0002"),
            (dict(base, paths=["nope"]), "IS.2006"),
            (dict(base, source_instance="nosuch"), "IS.2019"),
            (dict(base, target_instance="nosuch"), "IS.2019"),
            (dict(base, limit=0), "IS.1010"),
            (dict(base, offset=-1), "IS.1011")]:
        st, out, _ = server.request("POST", "/image/cross-search", body)
        assert st == 400 and error_code(out) == code, (body, out)
    st, out, _ = server.request("GET", "/image/cross-search")
    assert st == 400 and error_code(out) == "IS.0010", out


def _three_checks(s, forwarded):
    out = []
    for addr in forwarded:
        st, body, _ = s.request("POST", "/nosuch/image/check", {"path": "x"},
                                headers={"X-Forwarded-For": addr})
        out.append(st)
    return out


def test_x_forwarded_for_only_from_trusted_proxies():
    """Rate limits and the access log use the client address, which a trusted proxy reports
    in X-Forwarded-For; anyone else's X-Forwarded-For is ignored."""
    limits = ["--auth-address-rate", "1", "--auth-address-burst", "2"]
    s = Server(extra_args=limits + ["--trusted-proxies", "127.0.0.1,10.0.0.0/8"]).start()
    try:
        # the client is the right-most address that is not a trusted proxy
        assert _three_checks(s, ["198.51.100.7", "198.51.100.7, 10.1.2.3",
                                 "1.2.3.4, 198.51.100.7"]) == [400, 400, 429]
        assert _three_checks(s, ["198.51.100.8"]) == [400]  # another client, its own budget
        assert "client=198.51.100.7" in s.logs() and "client=198.51.100.8" in s.logs()
    finally:
        s.close()
    s = Server(extra_args=limits).start()
    try:
        # no trusted proxies: the header is ignored, every request is 127.0.0.1's
        assert _three_checks(s, ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) == [400, 400,
                                                                                      429]
        assert "client=127.0.0.1" in s.logs() and "client=198.51.100" not in s.logs()
    finally:
        s.close()


def test_sighup_does_not_stop_a_server_without_tls(server):
    import signal
    import time
    server.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    assert server.proc.poll() is None
    st, out, _ = server.request("GET", "//health")
    assert st == 200


def test_sighup_reloads_the_log_level_from_the_config_file():
    import signal
    import tempfile
    import time
    d = tempfile.mkdtemp(prefix="iss-hup-")
    conf = os.path.join(d, "c.toml")
    with open(conf, "w") as f:
        f.write('[server]\nlog_level = "warn"\n')
    s = Server(extra_args=["--config", conf]).start()
    try:
        s.request("GET", "//health")
        s.request("GET", "/v1/%s/service/nope" % s.project)
        assert "/service/nope" not in s.logs()  # warn: no access log lines
        with open(conf, "w") as f:
            f.write('[server]\nlog_level = "info"\n')
        s.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while "SIGHUP: log level info" not in s.logs() and time.time() < deadline:
            time.sleep(0.05)
        assert "SIGHUP: log level info" in s.logs()
        s.request("GET", "/v1/%s/service/again" % s.project)
        time.sleep(0.2)
        assert "/service/again" in s.logs()  # info: the access line is there
        with open(conf, "w") as f:
            f.write('[server]\nlog_level = "shouting"\n')  # a bad file keeps the level
        s.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while "settings not reloaded" not in s.logs() and time.time() < deadline:
            time.sleep(0.05)
        assert "settings not reloaded" in s.logs()
        assert s.proc.poll() is None
        s.request("GET", "/v1/%s/service/third" % s.project)
        time.sleep(0.2)
        assert "/service/third" in s.logs()
    finally:
        s.close()
