"""The tiered index through the real server: the switch from exact search to the IVF-PQ
tier keeps results identical to exact search, deleted images never come back, and a
server SIGKILLed while its index trains/merges restarts with exactly the acknowledged
images, searchable. Small thresholds (--index-exact-max 64) make the dev set's ~400
photos (originals, distractors, queries) cross the tiers."""
import os
import signal
import time

from harness import DEV_DIR, Server, b64_file

TIERED = ["--index-exact-max", "64", "--index-merge-rows", "8"]
EXACT = ["--index-exact-max", "1000000"]


def photos():
    out = []
    for sub in ("originals", "distractors", "queries"):
        d = os.path.join(DEV_DIR, sub)
        out += [os.path.join(d, f) for f in sorted(os.listdir(d))]
    return out


def queries(n):
    d = os.path.join(DEV_DIR, "queries")
    return [os.path.join(d, f) for f in sorted(os.listdir(d))[:n]]


def index_info(s):
    st, out, _ = s.request("GET", "/gal/index")
    assert st == 200, out
    return out["index"]


def wait_for(s, pred, what, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = index_info(s)
        if pred(info):
            return info
        time.sleep(0.2)
    raise AssertionError("index never reached: %s (last %s)" % (what, index_info(s)))


def results(s, qfiles):
    out = []
    for q in qfiles:
        st, body, _ = s.search("gal", file=b64_file(q), limit=10)
        assert st == 200, body
        out.append([(h["path"], h["sim"]) for h in body["result"]])
    return out


def same(a, b):
    """Identical ranking; a swap only between sims equal to 1e-5."""
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        assert len(ra) == len(rb), (ra, rb)
        for (pa, sa), (pb, sb) in zip(ra, rb):
            assert abs(sa - sb) < 1e-5, (ra, rb)
            if pa != pb:
                assert any(p == pa and abs(x - sa) < 1e-5 for p, x in rb), (ra, rb)


def test_tiers_deletes_and_sigkill_through_http():
    files = photos()
    assert len(files) >= 300, "needs the dev set's photos"
    qfiles = queries(12)
    s = Server(extra_args=EXACT).start()
    try:
        assert s.create("gal", ["half"])[0] == 200
        for i, f in enumerate(files):
            st, out, _ = s.add("gal", "p/%03d.jpg" % i, file_path=f,
                               tags={"half": str(i % 2)})
            assert st == 200, out
        assert index_info(s)["tier"] == "exact"
        exact = results(s, qfiles)
        exact_tagged = [s.search("gal", file=b64_file(q), tags={"half": "1"}, limit=5)[1]
                        for q in qfiles[:4]]

        # Same data, tiered settings: the index restores, trains the ANN tier in the
        # background, and answers exactly as before.
        s.stop()
        s.extra_args = TIERED
        s.start()
        info = wait_for(s, lambda i: i["tier"] == "ivf-pq" and i["buffer_rows"] < 8, "ivf-pq")
        assert info["restored"] is True and info["vectors"] == len(files), info
        assert info["preloaded_bytes"] >= len(files) * 576 * 2, info
        same(results(s, qfiles), exact)
        for q, want in zip(qfiles[:4], exact_tagged):
            st, got, _ = s.search("gal", file=b64_file(q), tags={"half": "1"}, limit=5)
            assert st == 200 and got == want, (got, want)

        # Deletes never come back: searching with a deleted photo's own pixels.
        deleted = list(range(0, len(files), 5))
        for i in deleted:
            st, out, _ = s.request("DELETE", "/gal/image", {"path": "p/%03d.jpg" % i})
            assert st == 200, out
        for i in deleted[:10]:
            st, out, _ = s.search("gal", file=b64_file(files[i]), limit=20)
            assert st == 200
            assert "p/%03d.jpg" % i not in [h["path"] for h in out["result"]], out

        # Re-add some under new paths, then SIGKILL while the index is busy (the adds
        # cross merge_rows, deletes cross the compaction share).
        for j, i in enumerate(deleted[:12]):
            st, out, _ = s.add("gal", "re/%03d.jpg" % i, file_path=files[i])
            assert st == 200, out
        s.stop(signal.SIGKILL)
        live = len(files) - len(deleted) + 12
        s.start()
        info = wait_for(s, lambda i: i["vectors"] == live and i["buffer_rows"] < 8, "settled")
        assert info["tier"] == "ivf-pq", info
        for i in deleted[:12]:
            st, out, _ = s.search("gal", file=b64_file(files[i]), limit=3)
            paths = [h["path"] for h in out["result"]]
            assert "re/%03d.jpg" % i in paths and "p/%03d.jpg" % i not in paths, paths
        tiered_after = results(s, qfiles)

        # And the exact tier over the same store agrees with it.
        s.stop()
        s.extra_args = EXACT
        s.start()
        wait_for(s, lambda i: i["tier"] == "exact", "exact")
        same(results(s, qfiles), tiered_after)
    except Exception:
        with open(s.log_path, "rb") as f:
            lines = f.read().decode(errors="replace").splitlines()
        print("\n".join(l for l in lines if " /v1/" not in l)[-6000:])
        raise
    finally:
        s.close()


def test_eight_bit_vector_file_answers_like_sixteen_bits():
    """index.vector_bits = 8 (a 30M instance's page cache): switching an existing instance
    rebuilds its index from the catalog, and answers carry the same paths and sims as the
    16-bit file (its 16-bit twin re-scores the best candidates)."""
    files = photos()[:300]  # the tier trains from 256 vectors on
    qfiles = queries(8)
    s = Server(extra_args=TIERED).start()
    try:
        assert s.create("gal")[0] == 200
        for i, f in enumerate(files):
            st, out, _ = s.add("gal", "p/%03d.jpg" % i, file_path=f)
            assert st == 200, out
        wait_for(s, lambda i: i["tier"] == "ivf-pq" and i["buffer_rows"] < 8, "ivf-pq")
        sixteen = results(s, qfiles)
        s.stop()
        s.extra_args = TIERED + ["--index-vector-bits", "8"]
        s.start()
        info = wait_for(s, lambda i: i["tier"] == "ivf-pq" and i["vectors"] == len(files)
                        and i["buffer_rows"] < 8, "rebuilt at 8 bits")
        assert info["restored"] is False, info  # the 16-bit snapshot was discarded
        assert info["disk_bytes"] >= len(files) * (580 + 1156), info
        same(results(s, qfiles), sixteen)
        s.stop()
        s.start()  # and the 8-bit snapshot restores
        info = wait_for(s, lambda i: i["vectors"] == len(files), "restored")
        assert info["restored"] is True, info
        same(results(s, qfiles), sixteen)
    finally:
        s.close()
