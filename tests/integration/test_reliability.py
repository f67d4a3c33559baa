"""Issue 11, the data side: limits that bound a request's cost, corrupt files, disk full.
Each test drives the real binary (harness.Server) and fails without the fix it names."""
import os
import signal
import time

import pytest

from harness import Server, b64_file, error_code, originals

GOOD = originals(3)


@pytest.fixture(scope="module")
def gallery():
    s = Server().start()
    assert s.create("rel", ["color"])[0] == 200
    for i, p in enumerate(GOOD):
        st, out, _ = s.add("rel", "img/%d.jpg" % i, p, {"color": "red"})
        assert st == 200, out
    yield s
    s.close()


def expect_error(result, code):
    st, body, _ = result
    assert st == 400 and error_code(body) == code, (st, body)


# --- offset + limit (docs/api.md "Limits": offset + limit <= 1000) ---

@pytest.mark.parametrize("offset,limit", [(991, 10), (901, 100), (1000, 1), (10 ** 9, 10),
                                          (2 ** 62, 1), (995, None)])
def test_search_window_above_1000_is_refused(gallery, offset, limit):
    body = {"offset": offset}
    if limit is not None:
        body["limit"] = limit
    t0 = time.monotonic()
    # by image (the index path) and by tags alone
    expect_error(gallery.search("rel", file=b64_file(GOOD[0]), **body), "IS.1011")
    expect_error(gallery.search("rel", tags={"color": "red"}, **body), "IS.1011")
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("offset,limit", [(990, 10), (900, 100), (999, 1), (0, 100)])
def test_search_window_up_to_1000_is_answered(gallery, offset, limit):
    st, out, _ = gallery.search("rel", file=b64_file(GOOD[0]), offset=offset, limit=limit)
    assert st == 200, out
    # count is the total the query ranks (3 images), result the page (docs/api.md)
    assert out["count"] == 3 and len(out["result"]) == (3 if offset == 0 else 0), out
    st, out, _ = gallery.search("rel", tags={"color": "red"}, offset=offset, limit=limit)
    assert st == 200 and out["count"] == 3, out
    assert len(out["result"]) == (3 if offset == 0 else 0), out


# --- progressive JPEG repeating its scans (docs/api.md "Limits": at most 100 scans) ---

# A flat grey 2048x2048 progressive JPEG written by libjpeg with two scans (DC, then AC
# 1..63 without successive approximation); the AC scan decodes to all zeros, so repeating
# it is valid JPEG that libjpeg decodes without a warning, each repeat a pass over 65536
# blocks for 16 bytes of input.
_JPEG_HEAD = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb0043000302020302020303030304030304050805"
    "050404050a070706080c0a0c0c0b0a0b0b0d0e12100d0e110e0b0b1016101113141515150c0f17181614"
    "1812141514ffc2000b080800080001011100ffc40014000100000000000000000000000000000000ffda"
    "0008010100000000") + bytes(8192)
_JPEG_AC_TABLE = bytes.fromhex("ffc400151001010000000000000000000000000000e010")
_JPEG_AC_SCAN = bytes.fromhex("ffda0008010100013f007ffeff00fe7f")


def progressive_jpeg(ac_scans):
    """The file with its AC scan written `ac_scans` times (1 + ac_scans scans in all)."""
    return _JPEG_HEAD + _JPEG_AC_TABLE + _JPEG_AC_SCAN * ac_scans + b"\xff\xd9"


def b64(data):
    import base64
    return base64.b64encode(data).decode()


def test_progressive_jpeg_with_100_scans_is_accepted(gallery):
    for n in (1, 99):
        st, out, _ = gallery.add("rel", "prog/%d.jpg" % n, file_b64=b64(progressive_jpeg(n)))
        assert st == 200, (n, out)


def test_progressive_jpeg_repeating_its_scans_is_refused_fast(gallery):
    import threading
    import requests
    # 30000 scans: ~0.5 MB, ~35 s of one worker before the limit
    results = {}

    def send(name, n):
        t0 = time.monotonic()
        results[name] = (gallery.add("rel", "prog/%s.jpg" % name,
                                     file_b64=b64(progressive_jpeg(n))),
                         time.monotonic() - t0)

    threads = [threading.Thread(target=send, args=(name, n))
               for name, n in (("a", 30000), ("b", 30000), ("c", 100))]
    for t in threads:
        t.start()
    # /health answers while they are in flight
    t0 = time.monotonic()
    r = requests.get(gallery.base + "/health", timeout=10)
    assert r.status_code == 200 and time.monotonic() - t0 < 2
    for t in threads:
        t.join()
    for name in ("a", "b", "c"):
        (st, out, _), took = results[name]
        assert st == 400 and error_code(out) == "IS.2002", (name, st, out)
        assert "scans" in out["error_msg"], out
        assert took < 5, (name, took)
    # nothing of them was stored
    for name in ("a", "b", "c"):
        assert gallery.check("rel", "prog/%s.jpg" % name)[1] == {"exist": "false"}
    # and a search with such a file as the query is refused the same way
    expect_error(gallery.search("rel", file=b64(progressive_jpeg(30000))), "IS.2002")


# --- tag and path lengths (docs/api.md "Limits": 64 characters, path 2048) ---

def test_instance_tag_names_are_at_most_64_characters():
    s = Server().start()
    try:
        st, out, _ = s.create("t64", ["k" * 64, "\u00e9" * 64])  # code points, not bytes
        assert st == 200, out
        expect_error(s.create("t65", ["k" * 65]), "IS.3026")
        # a long array is refused at its 11th distinct name, not de-duplicated for minutes
        t0 = time.monotonic()
        expect_error(s.create("many", ["t%d" % i for i in range(200000)]), "IS.3024")
        assert time.monotonic() - t0 < 10
        st, out, _ = s.request("GET", "/service/t65")
        assert st == 400  # nothing was created
        big = "v" * (1 << 20)  # a megabyte is refused without being stored or echoed
        st, out, resp = s.create("tbig", [big])
        assert st == 400 and error_code(out) == "IS.3026" and len(resp.content) < 1000
    finally:
        s.close()


def test_tag_values_and_keys_are_at_most_64_characters(gallery):
    s = gallery
    ok = "v" * 64
    st, out, _ = s.add("rel", "len/ok.jpg", GOOD[0], {"color": ok})
    assert st == 200, out
    st, out, _ = s.add("rel", "len/uni.jpg", GOOD[0], {"color": "\u732b" * 64})
    assert st == 200, out
    for body_tags, code in (({"color": "v" * 65}, "IS.1003"),
                            ({"color": "v" * (4 << 20)}, "IS.1003"),
                            ({"k" * 65: "x"}, "IS.1004")):
        st, out, resp = s.add("rel", "len/bad.jpg", GOOD[0], body_tags)
        assert st == 400 and error_code(out) == code, (st, out)
        assert len(resp.content) < 1000  # the value is not echoed
        # modify and the search filter follow the same rule
        expect_error(s.request("PUT", "/rel/image",
                               {"path": "len/ok.jpg", "tags": body_tags}), code)
        expect_error(s.search("rel", tags=body_tags), code)
    assert s.check("rel", "len/bad.jpg")[1] == {"exist": "false"}
    st, out, _ = s.search("rel", tags={"color": ok})
    assert st == 200 and [h["path"] for h in out["result"]] == ["len/ok.jpg"], out


def test_paths_are_at_most_2048_characters(gallery):
    s = gallery
    st, out, _ = s.add("rel", "p" * 2048, GOOD[0])
    assert st == 200, out
    expect_error(s.add("rel", "p" * 2049, GOOD[0]), "IS.0016")
    expect_error(s.check("rel", "p" * 2049), "IS.0016")


# --- disk full through the real server (a small tmpfs the test mounts; root only) ---

def _mount_tmpfs(path, size):
    import subprocess
    os.makedirs(path, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): " + r.stderr.strip())


def _umount(path):
    import subprocess
    subprocess.run(["umount", "-l", path], capture_output=True)


def _fill(path, slack=0):
    """Writes zeros to `path` until the file system is full, then gives back `slack` bytes;
    returns the bytes written."""
    n = 0
    chunk = bytes(1 << 16)
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                n += f.write(chunk)
        except OSError:
            pass
        # the last few KB too, so not even a small write fits
        try:
            while True:
                n += f.write(bytes(512))
        except OSError:
            pass
    if slack:
        os.truncate(path, max(0, n - slack))
    return n


def test_disk_full_refuses_writes_cleanly_keeps_reads_and_resumes(tmp_path):
    mnt = str(tmp_path / "mnt")
    _mount_tmpfs(mnt, "96m")
    s = None
    try:
        s = Server(data_dir=os.path.join(mnt, "data")).start()
        # Filled before the first write: RocksDB preallocates its WAL (~70 MB) at the first
        # write, which would leave it room for thousands of adds; with 512 KB left that
        # fails (harmlessly) and the WAL grows into what is left.
        filler = os.path.join(mnt, "filler")
        _fill(filler, slack=512 << 10)
        assert s.create("full", ["run"])[0] == 200
        files = [b64_file(p) for p in GOOD]
        acked, refused = set(), set()
        for i in range(3):
            st, out, _ = s.add("full", "before/%d.jpg" % i, file_b64=files[i], tags={"run": "x"})
            assert st == 200, out
            acked.add("before/%d.jpg" % i)
        # Writes fail with a clear storage error once the space is gone (long paths fill it
        # faster), and never take the server down.
        codes = set()
        for i in range(1000):
            path = "full/%d/" % i + "p" * 2000
            st, out, _ = s.add("full", path, file_b64=files[i % 3], tags={"run": "x"})
            if st == 200:
                acked.add(path)
                continue
            refused.add(path)
            codes.add(error_code(out))
            assert "space" in out["error_msg"].lower() or "full" in out["error_msg"].lower(), out
            if len(refused) >= 3:
                break
        assert refused, "the disk never filled up"
        assert codes == {"IS.0009"}, codes
        assert s.proc.poll() is None, s.logs()
        # reads keep working: check, search by image, by stored path, by tags; health
        for path in sorted(acked)[:3]:
            assert s.check("full", path)[1] == {"exist": "true"}
        for path in refused:
            assert s.check("full", path)[1] == {"exist": "false"}
        st, out, _ = s.search("full", file=files[0], limit=5)
        assert st == 200 and out["result"][0]["sim"] > 0.99, out
        st, out, _ = s.search("full", tags={"run": "x"}, limit=100)
        assert st == 200 and {h["path"] for h in out["result"]} == acked, out
        import requests
        assert requests.get(s.base + "/health", timeout=10).status_code == 200
        # deletes and modifies fail cleanly too (or succeed); none crashes the server
        st, out, _ = s.request("PUT", "/full/image",
                               {"path": "before/0.jpg", "tags": {"run": "x"}})
        assert st in (200, 400), out
        # Space comes back: writes resume without a restart.
        os.unlink(filler)
        deadline = time.time() + 30
        while True:
            st, out, _ = s.add("full", "after/0.jpg", file_b64=files[0], tags={"run": "x"})
            if st == 200:
                acked.add("after/0.jpg")
                break
            assert time.time() < deadline, ("writes did not resume", out)
            time.sleep(0.5)
        for i in range(1, 5):
            st, out, _ = s.add("full", "after/%d.jpg" % i, file_b64=files[i % 3],
                               tags={"run": "x"})
            assert st == 200, out
            acked.add("after/%d.jpg" % i)
        # Nothing acknowledged is lost, nothing refused appears, after a hard restart.
        s.stop(signal.SIGKILL)
        s.start()
        st, out, _ = s.search("full", tags={"run": "x"}, limit=100)
        assert st == 200, out
        assert {h["path"] for h in out["result"]} == acked
        for path in refused:
            assert s.check("full", path)[1] == {"exist": "false"}
        st, out, _ = s.search("full", file=files[1], limit=1)
        assert st == 200 and out["result"][0]["sim"] > 0.99, out
    finally:
        if s:
            s.close()
        _umount(mnt)


# --- a damaged vector file (docs/reliability.md "Corruption") ---

def test_damaged_vector_file_is_rebuilt_from_the_catalog():
    import glob
    s = Server().start()
    try:
        assert s.create("vec")[0] == 200
        for i, p in enumerate(GOOD):
            assert s.add("vec", "v/%d.jpg" % i, p)[0] == 200
        assert s.stop() == 0  # SIGTERM: the final snapshot covers every row
        files = glob.glob(os.path.join(s.data_dir, "index", "**", "vectors-*.q16"),
                          recursive=True)
        assert len(files) == 1, files
        size = os.path.getsize(files[0])
        rows = 3
        row = size // rows
        with open(files[0], "r+b") as f:
            f.seek(0)
            f.write(b"\x00\x00\xc0\x7f")  # row 0's scale: NaN
            f.seek(row + 40)
            f.write(os.urandom(row - 40))  # row 1: random values
        s.start()
        for i, p in enumerate(GOOD):
            st, out, resp = s.search("vec", file=b64_file(p), limit=3)
            assert st == 200, out
            assert out["result"][0]["path"] == "v/%d.jpg" % i, out
            assert out["result"][0]["sim"] > 0.99, out
            for h in out["result"]:
                assert isinstance(h["sim"], float) and 0.0 <= h["sim"] <= 1.0, out
            assert "null" not in resp.text
    finally:
        s.close()


def test_corrupt_snapshot_row_count_rebuilds_instead_of_aborting():
    """snapshot.meta's row count (offset 16, format 3) set to 2^40: the server starts and
    rebuilds the index from the catalog (it used to abort every start with bad_alloc)."""
    import glob
    import struct
    s = Server().start()
    try:
        assert s.create("snap")[0] == 200
        for i, p in enumerate(GOOD):
            assert s.add("snap", "s/%d.jpg" % i, p)[0] == 200
        assert s.stop() == 0
        metas = glob.glob(os.path.join(s.data_dir, "index", "**", "snapshot.meta"),
                          recursive=True)
        assert len(metas) == 1, metas
        with open(metas[0], "r+b") as f:
            f.seek(16)
            f.write(struct.pack("<Q", 1 << 40))
        s.start()
        for i, p in enumerate(GOOD):
            st, out, _ = s.search("snap", file=b64_file(p), limit=1)
            assert st == 200 and out["result"][0]["path"] == "s/%d.jpg" % i, out
            assert out["result"][0]["sim"] > 0.99
        assert "snapshot discarded" in s.logs()
    finally:
        s.close()


def test_damaged_wal_refuses_to_start_loudly():
    """A flipped byte in the middle of RocksDB's WAL: the server refuses to start, says why
    in its log, and never serves the writes before the damage without those after it."""
    import glob
    s = Server().start()
    try:
        assert s.create("wal")[0] == 200
        for i in range(3):
            assert s.add("wal", "w/%d.jpg" % i, GOOD[i])[0] == 200
        s.stop(signal.SIGKILL)  # no flush at close: the writes live only in the WAL
        logs = glob.glob(os.path.join(s.data_dir, "db", "*.log"))
        logs = [p for p in logs if os.path.getsize(p) > 0]
        assert logs, os.listdir(os.path.join(s.data_dir, "db"))
        wal = max(logs, key=os.path.getsize)
        size = os.path.getsize(wal)
        with open(wal, "r+b") as f:
            f.seek(size // 2)
            b = f.read(1)
            f.seek(size // 2)
            f.write(bytes([b[0] ^ 0x40]))
        with pytest.raises(RuntimeError) as failed:
            s.start()
        text = str(failed.value).lower()
        assert "corrupt" in text or "checksum" in text, text
        # a bad checksum is not a torn tail: refused with the tolerant setting too
        s.extra_args = ["--wal-recovery", "tolerate-torn-tail"]
        with pytest.raises(RuntimeError) as failed:
            s.start()
        assert "corrupt" in str(failed.value).lower()
        s.extra_args = ["--wal-recovery", "lenient"]
        with pytest.raises(RuntimeError) as failed:
            s.start()
        assert "wal_recovery" in str(failed.value)
    finally:
        s.close()


def test_data_dir_format_version_refuses_a_newer_directory():
    """DATA/FORMAT is written on first use; a directory of a newer format (from a later
    imagesearchd) or a damaged FORMAT file is refused at start-up, naming the file, and
    nothing in it is changed; with the version put back the data is all there."""
    s = Server().start()
    try:
        assert s.create("fmt")[0] == 200
        assert s.add("fmt", "a.jpg", originals(1)[0])[0] == 200
    finally:
        s.stop()
    fmt = os.path.join(s.data_dir, "FORMAT")
    assert open(fmt).read() == "imagesearch-data 1\n"
    for text, words in (("imagesearch-data 2\n", "reads up to 1"),
                        ("something else\n", "not an imagesearch data format")):
        with open(fmt, "w") as f:
            f.write(text)
        with pytest.raises(RuntimeError) as e:
            s.start()
        assert words in str(e.value), e.value
        assert open(fmt).read() == text  # left as it was
    with open(fmt, "w") as f:
        f.write("imagesearch-data 1\n")
    s.start()
    try:
        assert s.check("fmt", "a.jpg")[1] == {"exist": "true"}
    finally:
        s.close()
