"""Offline import jobs and bucket sync through the real server and a real RADOS Gateway
(tests/testing/rgw): /v1/{project}/image-search/import-jobs (docs/api.md)."""
import concurrent.futures
import os
import re
import signal
import time

import cv2
import numpy as np
import pytest

from harness import Server, error_code

BIG = 5000  # objects in the kill -9 test


def jpeg(seed, side=112):
    """A small distinct JPEG: random 8x8 colour blocks scaled up (>= 100 px, the decoder's
    minimum)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    img = cv2.resize(small, (side, side), interpolation=cv2.INTER_NEAREST)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return buf.tobytes()


def upload(rgw, bucket, items, threads=12):
    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        list(ex.map(lambda kv: rgw.owner.put(bucket, kv[0], kv[1], content_type="image/jpeg"),
                    items))


BUCKETS = ["import-big", "import-small", "import-empty", "import-watch", "import-pr",
           "import-notify", "import-meta", "import-del", "missing-bucket"]


@pytest.fixture(scope="module")
def conf(rgw, tmp_path_factory):
    ak, sk = rgw.owner_keys
    path = os.path.join(str(tmp_path_factory.mktemp("jobsconf")), "storage.toml")
    with open(path, "w") as f:
        f.write("""
[[storage.profiles]]
name = "denied"
buckets = ["import-denied"]
endpoint = "http://127.0.0.1:%(p)d"
access_key = "%(ak)s"
secret_key = "not-the-secret"
allow_private = true

[[storage.profiles]]
name = "rgw"
hosts = ["127.0.0.1:%(p)d"]
buckets = [%(buckets)s]
endpoint = "http://127.0.0.1:%(p)d"
access_key = "%(ak)s"
secret_key = "%(sk)s"
allow_private = true
""" % {"p": rgw.port, "ak": ak, "sk": sk,
       "buckets": ", ".join('"%s"' % b for b in BUCKETS + ["import-denied"])})
    for b in ("import-big", "import-small", "import-empty", "import-watch", "import-pr",
              "import-notify", "import-meta", "import-del", "import-denied"):
        rgw.owner.create_bucket(b)
    return path


@pytest.fixture(scope="module")
def server(conf):
    s = Server(extra_args=["--config", conf]).start()
    yield s
    s.close()


def jobs(s, method, suffix="", body=None):
    return s.request(method, "/image-search/import-jobs" + suffix, body)


def create_job(s, **body):
    st, out, _ = jobs(s, "POST", "", body)
    assert st == 200, out
    return out


def get_job(s, job_id):
    st, out, _ = jobs(s, "GET", "/" + job_id)
    assert st == 200, out
    return out


def wait_job(s, job_id, pred, timeout=240, every=0.2):
    deadline = time.time() + timeout
    while True:
        j = get_job(s, job_id)
        if pred(j):
            return j
        assert time.time() < deadline, j
        assert j["state"] in ("running", "paused", "done"), j
        time.sleep(every)


def finished(j):
    return j["state"] in ("done", "failed", "cancelled")


def tag_count(s, inst, tags):
    st, out, _ = s.search(inst, tags=tags, limit=1)
    assert st == 200, out
    return out["count"]


def tag_paths(s, inst, tags, n):
    paths = []
    while len(paths) < n:
        st, out, _ = s.search(inst, tags=tags, limit=100, offset=len(paths))
        assert st == 200, out
        if not out["result"]:
            break
        paths += [r["path"] for r in out["result"]]
    return paths


def exists(s, inst, path):
    st, out, _ = s.check(inst, path)
    assert st == 200, out
    return out["exist"] == "true"


def test_an_import_of_5000_objects_survives_two_kill9(rgw, conf):
    t0 = time.time()
    keys = ["img/%05d.jpg" % i for i in range(BIG)]
    upload(rgw, "import-big", [(k, jpeg(i)) for i, k in enumerate(keys)], threads=16)
    # something beside the prefix, which must not be imported
    rgw.owner.put("import-big", "other/x.jpg", jpeg(99999))
    t_up = time.time()
    s = Server(extra_args=["--config", conf]).start()
    try:
        assert s.create("big", tags=["src"])[0] == 200
        job = create_job(s, instance_name="big", source="s3://import-big/img/",
                         tags={"src": "big"})
        jid = job["id"]
        assert job["state"] == "running" and job["mode"] == "import"
        seen = []
        for kill_at in (BIG // 4, BIG * 3 // 5):
            j = wait_job(s, jid, lambda j: j["progress"]["done"] >= kill_at or finished(j))
            assert j["state"] == "running", j  # the kill must land while the job runs
            seen.append(j["progress"])
            s.stop(signal.SIGKILL)
            s.start()
            # the job resumes by itself: still running, and it moves on
            j = get_job(s, jid)
            assert j["state"] in ("running", "done"), j
            before = j["progress"]["done"]
            j = wait_job(s, jid, lambda j: j["progress"]["done"] > before or finished(j))
        j = wait_job(s, jid, finished, timeout=300)
        t_end = time.time()
        p = j["progress"]
        assert j["state"] == "done", j
        assert p["listed"] == BIG and p["done"] == BIG, p
        assert p["failed"] == 0 and p["skipped"] == 0 and p["listing_complete"], p
        assert p["eta_s"] == 0 and p["images_per_s"] > 0, p
        # every object exactly once, and nothing else
        assert tag_count(s, "big", {"src": "big"}) == BIG
        st, out, _ = s.request("GET", "/big/index")
        assert st == 200 and out["index"]["vectors"] == BIG, out
        sample = tag_paths(s, "big", {"src": "big"}, 300)
        expected = {"s3://import-big/" + k for k in keys}
        assert len(sample) == len(set(sample)) == 300
        assert set(sample) <= expected
        rng = np.random.default_rng(7)
        for i in rng.choice(BIG, 40, replace=False):
            assert exists(s, "big", "s3://import-big/" + keys[i])
        assert not exists(s, "big", "s3://import-big/other/x.jpg")
        # the progress moved forward between the kills
        assert seen[0]["done"] < seen[1]["done"] < BIG
        # long before the import's own listing ends (it lists only as fast as it imports),
        # the objects were counted and the ETA is known
        assert not seen[0]["listing_complete"] and seen[0]["listed"] < BIG, seen[0]
        assert seen[0]["total"] == BIG and seen[0]["eta_s"] > 0, seen[0]
        assert p["total"] == BIG, p
        print("\n[import] %d objects: upload %.1f s, import with 2 kill -9 %.1f s (%.0f images/s)"
              % (BIG, t_up - t0, t_end - t_up, BIG / (t_end - t_up)))
    finally:
        s.close()


@pytest.fixture(scope="module")
def small(rgw, conf):
    good = [("s/%03d.jpg" % i, jpeg(1000 + i)) for i in range(30)]
    corrupt = jpeg(5)[:200] + os.urandom(300)  # a JPEG header, then garbage
    upload(rgw, "import-small", good + [("s/bad-corrupt.jpg", corrupt),
                                        ("s/bad-tiny.jpg", jpeg(6, side=40))])
    return good


def test_progress_failures_and_a_rerun_that_skips_unchanged_objects(rgw, server, small):
    s = server
    assert s.create("small", tags=["src"])[0] == 200
    jid = create_job(s, instance_name="small", source="s3://import-small/s/",
                     tags={"src": "s"})["id"]
    j = wait_job(s, jid, finished)
    p = j["progress"]
    assert j["state"] == "done", j  # failing objects never fail the job
    assert (p["listed"], p["done"], p["failed"], p["skipped"]) == (32, 30, 2, 0), p
    assert p["listing_complete"] and p["pass"] == 1
    st, rep, _ = jobs(s, "GET", "/%s/failures" % jid)
    assert st == 200 and rep["count"] == 2, rep
    byp = {f["path"]: f for f in rep["failures"]}
    assert byp["s3://import-small/s/bad-corrupt.jpg"]["error_code"] in ("IS.2002", "IS.2001")
    assert byp["s3://import-small/s/bad-tiny.jpg"]["error_code"] == "IS.2107"
    assert tag_count(s, "small", {"src": "s"}) == 30
    assert not exists(s, "small", "s3://import-small/s/bad-tiny.jpg")

    # a re-run skips the unchanged objects (ETag and size), retries the failed ones
    st, j, _ = jobs(s, "POST", "/%s/rerun" % jid)
    assert st == 200 and j["state"] == "running", j
    j = wait_job(s, jid, finished)
    p = j["progress"]
    assert (p["pass"], p["done"], p["skipped"], p["failed"]) == (2, 0, 30, 2), p
    # one overwritten object, one image deleted from the gallery: both come back
    rgw.owner.put("import-small", "s/003.jpg", jpeg(424242), content_type="image/jpeg")
    st, out, _ = s.request("DELETE", "/small/image", {"path": "s3://import-small/s/007.jpg"})
    assert st == 200, out
    jobs(s, "POST", "/%s/rerun" % jid)
    j = wait_job(s, jid, finished)
    p = j["progress"]
    assert (p["pass"], p["done"], p["skipped"], p["failed"]) == (3, 2, 28, 2), p
    assert tag_count(s, "small", {"src": "s"}) == 30
    st, out, _ = s.search("small", file=__import__("base64").b64encode(jpeg(424242)).decode(),
                          limit=1)
    assert out["result"][0]["path"] == "s3://import-small/s/003.jpg" and \
        out["result"][0]["sim"] > 0.99, out
    # the job list shows it; a finished job can be deleted, then it is gone (IS.3033)
    st, out, _ = jobs(s, "GET")
    assert st == 200 and jid in [x["id"] for x in out["jobs"]]
    assert jobs(s, "DELETE", "/" + jid)[0] == 200
    st, out, _ = jobs(s, "GET", "/" + jid)
    assert error_code(out) == "IS.3033", out


def test_pause_resume_cancel_and_no_delete_while_an_import_runs(rgw, server):
    s = server
    upload(rgw, "import-pr", [("p/%04d.jpg" % i, jpeg(20000 + i)) for i in range(400)])
    assert s.create("pr")[0] == 200
    jid = create_job(s, instance_name="pr", source="s3://import-pr/p/")["id"]
    # IS.3038: the instance cannot be deleted while its import runs
    st, out, _ = s.request("DELETE", "/service/pr")
    assert error_code(out) == "IS.3038", out
    st, j, _ = jobs(s, "POST", "/%s/pause" % jid)
    assert st == 200 and j["state"] == "paused", j
    done = j["progress"]["done"]
    assert done < 400, j
    time.sleep(1.5)
    j = get_job(s, jid)
    assert j["state"] == "paused" and j["progress"]["done"] == done, j
    st, out, _ = s.request("DELETE", "/service/pr")
    assert error_code(out) == "IS.3038", out  # paused is unfinished: still held
    # pausing twice is refused, resuming goes on from where it stopped
    assert error_code(jobs(s, "POST", "/%s/pause" % jid)[1]) == "IS.0011"
    st, j, _ = jobs(s, "POST", "/%s/resume" % jid)
    assert st == 200 and j["state"] == "running", j
    wait_job(s, jid, lambda j: j["progress"]["done"] > done or finished(j))
    st, j, _ = jobs(s, "POST", "/%s/cancel" % jid)
    assert st == 200 and j["state"] == "cancelled", j
    n = j["progress"]["done"]
    time.sleep(1)
    assert get_job(s, jid)["progress"]["done"] == n
    assert error_code(jobs(s, "POST", "/%s/resume" % jid)[1]) == "IS.0011"
    # cancelled: the instance is free again
    assert s.request("DELETE", "/service/pr")[0] == 200


def test_objects_deleted_while_an_import_runs(rgw, server):
    """Objects deleted from the bucket while their job is paused: a prefix job (it lists
    again on resume) and a manifest job (its entries stay, their downloads answer IS.2003)
    both finish; no deleted object appears, every other one does."""
    s = server
    keys = ["d/%04d.jpg" % i for i in range(300)]
    upload(rgw, "import-del", [(k, jpeg(30000 + i)) for i, k in enumerate(keys)])
    gone = keys[-30:]
    assert s.create("del-prefix", tags=["src"])[0] == 200
    assert s.create("del-manifest", tags=["src"])[0] == 200
    pj = create_job(s, instance_name="del-prefix", source="s3://import-del/d/",
                    tags={"src": "p"})["id"]
    mj = create_job(s, instance_name="del-manifest", bucket="s3://import-del/",
                    manifest=[{"key": k} for k in keys], tags={"src": "m"})["id"]
    for jid in (pj, mj):
        st, j, _ = jobs(s, "POST", "/%s/pause" % jid)
        assert st == 200 and j["state"] == "paused", j
        assert j["progress"]["done"] < 270, j  # the last 30 are not imported yet
    for k in gone:
        rgw.owner.delete("import-del", k)
    for jid in (pj, mj):
        assert jobs(s, "POST", "/%s/resume" % jid)[0] == 200
    jp = wait_job(s, pj, finished)
    jm = wait_job(s, mj, finished)
    assert jp["state"] == "done" and jm["state"] == "done", (jp, jm)
    assert jm["progress"]["done"] == 270 and jm["progress"]["failed"] == 30, jm
    st, rep, _ = jobs(s, "GET", "/%s/failures" % mj)
    assert sorted((f["path"], f["error_code"]) for f in rep["failures"]) == \
        [("s3://import-del/" + k, "IS.2003") for k in gone], rep
    # the prefix job saw the deletions in its new listing, or failed them the same way
    st, rep, _ = jobs(s, "GET", "/%s/failures" % pj)
    assert all(f["error_code"] == "IS.2003" for f in rep["failures"]), rep
    assert jp["progress"]["done"] == 270, jp
    for inst, src in (("del-prefix", "p"), ("del-manifest", "m")):
        assert tag_count(s, inst, {"src": src}) == 270
        for k in gone[::7] + keys[:3]:
            assert exists(s, inst, "s3://import-del/" + k) == (k not in gone), (inst, k)


def test_job_creation_errors_change_nothing(rgw, server, small):
    s = server
    assert s.create("errs", tags=["src"])[0] == 200
    before = jobs(s, "GET")[1]["count"]
    cases = [
        (dict(instance_name="nope", source="s3://import-small/s/"), "IS.2019"),
        (dict(instance_name="errs"), "IS.0001"),
        (dict(instance_name="errs", source=""), "IS.0003"),
        (dict(source="s3://import-small/s/"), "IS.0001"),
        (dict(instance_name="errs", source="s3://missing-bucket/"), "IS.2004"),
        (dict(instance_name="errs", source="s3://import-empty/"), "IS.4001"),
        (dict(instance_name="errs", source="s3://import-small/no-such-folder/"), "IS.3053"),
        (dict(instance_name="errs", source="s3://import-denied/"), "IS.2011"),
        (dict(instance_name="errs", source="s3://unmapped-bucket/"), "IS.2016"),
        (dict(instance_name="errs", source="s3://import-small/s/", tags={"color": "x"}),
         "IS.1004"),
        (dict(instance_name="errs", source="s3://import-small/s/", folder_tag="color"),
         "IS.1004"),
        (dict(instance_name="errs", source="s3://import-small/s/", mode="later"), "IS.0002"),
        (dict(instance_name="errs", manifest=""), "IS.3052"),
        (dict(instance_name="errs", manifest="{\"url\": \"s3://import-small/s/000.jpg\"}\n{oops"),
         "IS.0008"),
        (dict(instance_name="errs", manifest=[{"key": "s/000.jpg"}]), "IS.3051"),
        (dict(instance_name="errs", manifest=[{"tags": {"src": "a"}}]), "IS.0001"),
    ]
    for body, code in cases:
        st, out, _ = jobs(s, "POST", "", body)
        assert st == 400 and error_code(out) == code, (body, st, out)
    assert jobs(s, "GET")[1]["count"] == before
    assert error_code(jobs(s, "GET", "/job-nope")[1]) == "IS.3033"
    assert error_code(jobs(s, "POST", "/job-nope/pause")[1]) == "IS.3033"
    assert s.request("DELETE", "/service/errs")[0] == 200  # no job holds it


def test_manifest_import(rgw, server, small):
    s = server
    assert s.create("man", tags=["src", "kind"])[0] == 200
    lines = [
        '{"key": "s/000.jpg", "tags": {"kind": "a"}}',
        '{"key": "s/001.jpg"}',
        '',
        '{"url": "s3://import-small/s/002.jpg", "path": "my-own-id-2", "tags": {"kind": "b"}}',
        '{"url": "http://127.0.0.1:%d/import-small/s/004.jpg"}' % rgw.port,
        '{"key": "s/bad-tiny.jpg"}',
    ]
    jid = create_job(s, instance_name="man", bucket="s3://import-small/",
                     manifest="\n".join(lines), tags={"src": "m"})["id"]
    j = wait_job(s, jid, finished)
    p = j["progress"]
    assert j["state"] == "done" and j["manifest_entries"] == 5, j
    assert (p["listed"], p["done"], p["failed"]) == (5, 4, 1), p
    assert tag_count(s, "man", {"src": "m"}) == 4
    assert tag_count(s, "man", {"kind": "a"}) == 1
    for path in ("s3://import-small/s/000.jpg", "s3://import-small/s/001.jpg", "my-own-id-2",
                 "http://127.0.0.1:%d/import-small/s/004.jpg" % rgw.port):
        assert exists(s, "man", path), path
    assert not exists(s, "man", "s3://import-small/s/002.jpg")
    st, rep, _ = jobs(s, "GET", "/%s/failures" % jid)
    assert [f["path"] for f in rep["failures"]] == ["s3://import-small/s/bad-tiny.jpg"]

    # a re-run HEADs each entry's object: unchanged ETag and size -> skipped, not downloaded
    # (the failed one is tried again)
    jobs(s, "POST", "/%s/rerun" % jid)
    p = wait_job(s, jid, finished)["progress"]
    assert (p["pass"], p["done"], p["skipped"], p["failed"]) == (2, 0, 4, 1), p
    # an overwritten object is imported again; an image deleted from the instance comes back
    rgw.owner.put("import-small", "s/001.jpg", jpeg(515151), content_type="image/jpeg")
    st, out, _ = s.request("DELETE", "/man/image", {"path": "my-own-id-2"})
    assert st == 200, out
    jobs(s, "POST", "/%s/rerun" % jid)
    p = wait_job(s, jid, finished)["progress"]
    assert (p["pass"], p["done"], p["skipped"], p["failed"]) == (3, 2, 2, 1), p
    assert exists(s, "man", "my-own-id-2")
    st, out, _ = s.search("man", file=__import__("base64").b64encode(jpeg(515151)).decode(),
                          limit=1)
    assert out["result"][0]["path"] == "s3://import-small/s/001.jpg" and \
        out["result"][0]["sim"] > 0.99, out
    assert tag_count(s, "man", {"src": "m"}) == 4


def test_csv_manifest(rgw, server, small):
    """A manifest as a spreadsheet exports it: a header row (key/url, path, tag columns),
    quoted cells with commas, quotes and line breaks, CRLF; bad CSV changes nothing."""
    s = server
    assert s.create("man-csv", tags=["kind", "note"])[0] == 200
    csv = ('key,path,kind,note\r\n'
           's/010.jpg,,a,plain\r\n'
           's/011.jpg,"csv, id ""11""",b,\r\n'
           '\r\n'
           '"s/012.jpg",,,"two\nlines, one cell"\r\n')
    jid = create_job(s, instance_name="man-csv", bucket="s3://import-small/", manifest=csv)["id"]
    j = wait_job(s, jid, finished)
    assert j["state"] == "done" and j["manifest_entries"] == 3, j
    assert j["progress"]["done"] == 3, j
    for path in ("s3://import-small/s/010.jpg", 'csv, id "11"', "s3://import-small/s/012.jpg"):
        assert exists(s, "man-csv", path), path
    assert tag_paths(s, "man-csv", {"kind": "a"}, 10) == ["s3://import-small/s/010.jpg"]
    assert tag_paths(s, "man-csv", {"kind": "b"}, 10) == ['csv, id "11"']
    assert tag_paths(s, "man-csv", {"note": "two\nlines, one cell"}, 10) == \
        ["s3://import-small/s/012.jpg"]
    st, out, _ = jobs(s, "GET")
    before = len(out["jobs"])
    for bad, code in (('key,kind\ns/010.jpg,"open\n', "IS.0002"),   # a quote left open
                      ('key,kind\ns/010.jpg,a,b\n', "IS.0002"),     # a field too many
                      ('key,kind\ns/0"1.jpg,a\n', "IS.0002"),       # a quote inside a field
                      ('key,key\ns/010.jpg,s/011.jpg\n', "IS.0002"),  # a column twice
                      ('key,nosuch\ns/010.jpg,z\n', "IS.1004"),     # not an instance tag
                      ('path,kind\nx,a\n', "IS.0001"),             # neither url nor key
                      ('key,kind\n', "IS.3052")):                  # a header, no entry
        st, out, _ = jobs(s, "POST", "", dict(instance_name="man-csv", bucket="s3://import-small/",
                                              manifest=bad))
        assert st == 400 and error_code(out) == code, (bad, out)
    st, out, _ = jobs(s, "GET")
    assert len(out["jobs"]) == before, out


def test_tags_from_object_metadata(rgw, server):
    """metadata_tags: an object's x-amz-meta-<name> becomes tag <name> when the instance has
    that tag; over the job's tags and the folder tag, under a manifest entry's own tags."""
    s = server
    objs = [("m/red/1.jpg", 7001, {"color": "red", "shade": "dark"}),
            ("m/blue/2.jpg", 7002, {"color": "blue"}),
            ("m/plain/3.jpg", 7003, {}),
            ("m/plain/4.jpg", 7004, {"folder": "renamed"}),
            ("m/plain/5.jpg", 7005, {"color": "x" * 65})]  # longer than a tag value may be
    for key, seed, meta in objs:
        rgw.owner.put("import-meta", key, jpeg(seed), content_type="image/jpeg", metadata=meta)
    url = {key: "s3://import-meta/" + key for key, _, _ in objs}

    def tags_of(inst):
        out = {}
        for t in ({"src": "meta"}, {"src": "plain"}):
            st, res, _ = s.search(inst, tags=t, limit=100)
            assert st == 200, res
            out.update({r["path"]: r["tags"] for r in res["result"]})
        return out

    for inst, on in (("meta-on", True), ("meta-off", False)):
        assert s.create(inst, tags=["src", "color", "folder"])[0] == 200
        jid = create_job(s, instance_name=inst, source="s3://import-meta/m/",
                         tags={"src": "meta", "color": "none"}, folder_tag="folder",
                         metadata_tags=on)["id"]
        j = wait_job(s, jid, finished)
        p = j["progress"]
        assert j["state"] == "done" and (p["done"], p["failed"]) == ((4, 1) if on else (5, 0)), j
        assert j["metadata_tags"] is on, j
        if on:
            st, rep, _ = jobs(s, "GET", "/%s/failures" % jid)
            assert [(f["path"], f["error_code"]) for f in rep["failures"]] == \
                [(url["m/plain/5.jpg"], "IS.1003")], rep
            assert "x" * 65 not in str(rep), rep  # the value is not echoed
    got = tags_of("meta-on")
    assert got == {
        url["m/red/1.jpg"]: {"src": "meta", "color": "red", "folder": "red"},  # no "shade"
        url["m/blue/2.jpg"]: {"src": "meta", "color": "blue", "folder": "blue"},
        url["m/plain/3.jpg"]: {"src": "meta", "color": "none", "folder": "plain"},
        url["m/plain/4.jpg"]: {"src": "meta", "color": "none", "folder": "renamed"},
    }, got
    assert tag_count(s, "meta-on", {"color": "red"}) == 1
    # off (the default): the metadata is not read as tags
    got = tags_of("meta-off")
    assert {p: t["color"] for p, t in got.items()} == {u: "none" for u in url.values()}, got
    assert got[url["m/plain/4.jpg"]]["folder"] == "plain", got
    assert tag_count(s, "meta-off", {"color": "red"}) == 0

    # a manifest: an entry's own tags win over the object's metadata
    assert s.create("meta-man", tags=["src", "color"])[0] == 200
    jid = create_job(s, instance_name="meta-man", bucket="s3://import-meta/",
                     manifest=[{"key": "m/red/1.jpg", "tags": {"color": "green"}},
                               {"key": "m/blue/2.jpg"}],
                     tags={"src": "plain"}, metadata_tags=True)["id"]
    j = wait_job(s, jid, finished)
    assert j["state"] == "done" and j["progress"]["done"] == 2, j
    got = tags_of("meta-man")
    assert got == {url["m/red/1.jpg"]: {"src": "plain", "color": "green"},
                   url["m/blue/2.jpg"]: {"src": "plain", "color": "blue"}}, got
    # a wrong type is refused and creates nothing
    st, out, _ = jobs(s, "POST", "", dict(instance_name="meta-man", source="s3://import-meta/m/",
                                          metadata_tags="yes"))
    assert st == 400 and error_code(out) == "IS.0002", out


def test_a_sync_job_follows_adds_overwrites_and_deletes(rgw, server):
    s = server
    upload(rgw, "import-watch", [("w/%02d.jpg" % i, jpeg(30000 + i)) for i in range(5)])
    assert s.create("watch", tags=["src"])[0] == 200
    j = create_job(s, instance_name="watch", source="http://127.0.0.1:%d/import-watch/w/"
                   % rgw.port, mode="sync", interval_ms=300, tags={"src": "w"})
    jid = j["id"]
    assert j["mode"] == "sync" and j["interval_ms"] == 300
    url = "http://127.0.0.1:%d/import-watch/w/%%02d.jpg" % rgw.port
    j = wait_job(s, jid, lambda j: j["progress"]["last_pass_ms"] is not None)
    assert tag_count(s, "watch", {"src": "w"}) == 5 and exists(s, "watch", url % 0)
    # a second sync of the same instance: a bucket event exists (IS.3037)
    st, out, _ = jobs(s, "POST", "", dict(instance_name="watch", mode="sync",
                                          source="s3://import-watch/w/"))
    assert error_code(out) == "IS.3037", out

    def settle(pred):
        deadline = time.time() + 60
        while not pred():
            assert time.time() < deadline
            time.sleep(0.2)

    upload(rgw, "import-watch", [("w/%02d.jpg" % i, jpeg(30000 + i)) for i in (5, 6)])
    settle(lambda: tag_count(s, "watch", {"src": "w"}) == 7)
    assert exists(s, "watch", url % 6)
    rgw.owner.put("import-watch", "w/02.jpg", jpeg(777777), content_type="image/jpeg")
    b64 = __import__("base64").b64encode(jpeg(777777)).decode()

    def overwritten():
        out = s.search("watch", file=b64, limit=1)[1]
        return out["result"][0]["path"] == url % 2 and out["result"][0]["sim"] > 0.99
    settle(overwritten)
    rgw.owner.delete("import-watch", "w/00.jpg")
    rgw.owner.delete("import-watch", "w/05.jpg")
    settle(lambda: tag_count(s, "watch", {"src": "w"}) == 5)
    assert not exists(s, "watch", url % 0) and not exists(s, "watch", url % 5)
    j = get_job(s, jid)
    assert j["state"] == "running" and j["progress"]["lag_s"] is not None, j
    assert j["progress"]["lag_s"] < 30, j
    assert j["progress"]["pass"] >= 3, j
    import requests
    metrics = requests.get(s.base + "/metrics", timeout=30).text
    running = re.search(r"^imagesearch_import_jobs_running ([0-9.]+)$", metrics, re.M)
    lag = re.search(r"^imagesearch_sync_lag_seconds_max ([0-9.e+-]+)$", metrics, re.M)
    assert running and float(running.group(1)) >= 1 and lag and float(lag.group(1)) < 30, metrics
    st, out, _ = s.request("DELETE", "/service/watch")
    assert error_code(out) == "IS.3038", out
    assert jobs(s, "POST", "/%s/cancel" % jid)[1]["state"] == "cancelled"
    assert s.request("DELETE", "/service/watch")[0] == 200


def sns_post(rgw, form):
    """An SNS-style request to RGW (CreateTopic): a form POST to /, signed (SigV4) with the
    body's own SHA-256 (RGW checks it for these; the S3 helper signs UNSIGNED-PAYLOAD)."""
    import datetime
    import hashlib
    import hmac
    import http.client
    ak, sk = rgw.owner_keys
    now = datetime.datetime.utcnow()
    amz, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    digest = hashlib.sha256(form).hexdigest()
    h = {"host": "127.0.0.1:%d" % rgw.port, "x-amz-date": amz,
         "x-amz-content-sha256": digest,
         "content-type": "application/x-www-form-urlencoded"}
    names = sorted(h)
    creq = "\n".join(["POST", "/", "", "".join("%s:%s\n" % (k, h[k]) for k in names),
                      ";".join(names), digest])
    scope = "%s/us-east-1/sns/aws4_request" % day
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + sk).encode()
    for part in (day, "us-east-1", "sns", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    h["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        ak, scope, ";".join(names), hmac.new(k, sts.encode(), hashlib.sha256).hexdigest())
    c = http.client.HTTPConnection("127.0.0.1", rgw.port, timeout=30)
    try:
        c.request("POST", "/", body=form, headers=h)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def test_bucket_notifications_start_a_sync_pass_at_once(rgw, server):
    """RGW pushes an event (SNS topic with a push-endpoint, bucket notification
    configuration) to the job's events URL: the sync job lists at once instead of waiting
    for its (here: one hour) interval. Events are only a trigger; a wrong token is refused."""
    import urllib.parse
    s = server
    upload(rgw, "import-notify", [("n/00.jpg", jpeg(40000))])
    assert s.create("notify", tags=["src"])[0] == 200
    j = create_job(s, instance_name="notify", source="s3://import-notify/n/", mode="sync",
                   interval_ms=3600000, tags={"src": "n"})
    jid, events = j["id"], j["events_path"]
    assert "token=" in events
    wait_job(s, jid, lambda j: j["progress"]["last_pass_ms"] is not None)
    assert tag_count(s, "notify", {"src": "n"}) == 1
    # a forged event (wrong token) is refused and starts nothing
    st, out, _ = s.request("POST", "/" + events.split("?")[0] + "?token=" + "0" * 32, body={})
    assert st == 401 and error_code(out) == "APIG.0301", (st, out)
    # the topic pushes to our events URL; the bucket notifies it of creations and removals
    form = urllib.parse.urlencode({
        "Action": "CreateTopic", "Name": "iss-notify",
        "Attributes.entry.1.key": "push-endpoint",
        "Attributes.entry.1.value": s.base + events}).encode()
    st, body = sns_post(rgw, form)
    assert st == 200, body
    arn = re.search(rb"<TopicArn>([^<]+)</TopicArn>", body).group(1).decode()
    conf = ("<NotificationConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            "<TopicConfiguration><Id>iss</Id><Topic>%s</Topic>"
            "<Event>s3:ObjectCreated:*</Event><Event>s3:ObjectRemoved:*</Event>"
            "</TopicConfiguration></NotificationConfiguration>" % arn).encode()
    st, body, _ = rgw.owner.request("PUT", "import-notify", query={"notification": ""},
                                    body=conf, headers={"content-length": str(len(conf))})
    assert st == 200, body
    passes = get_job(s, jid)["progress"]["pass"]
    rgw.owner.put("import-notify", "n/01.jpg", jpeg(40001), content_type="image/jpeg")
    deadline = time.time() + 30
    while tag_count(s, "notify", {"src": "n"}) != 2:
        assert time.time() < deadline, get_job(s, jid)
        time.sleep(0.2)
    rgw.owner.delete("import-notify", "n/00.jpg")
    while tag_count(s, "notify", {"src": "n"}) != 1:
        assert time.time() < deadline, get_job(s, jid)
        time.sleep(0.2)
    assert exists(s, "notify", "s3://import-notify/n/01.jpg")
    assert get_job(s, jid)["progress"]["pass"] > passes
    jobs(s, "POST", "/%s/cancel" % jid)
    print("\n[notify] %s" % urllib.parse.urlsplit(s.base + events).path)


def test_job_routes_take_the_v1_credentials(server):
    """Same authentication as v1: with auth on (integration_import_jobs_with_auth) a request
    without credentials is refused, and a token of one project cannot touch another's."""
    import requests
    s = server
    url = s.base + "/v1/%s/image-search/import-jobs"
    r = requests.get(url % s.project, timeout=30)
    if s.auth is None:
        assert r.status_code == 200, r.text
        return
    assert r.status_code == 401 and r.json()["error_code"] == "APIG.0301", r.text
    assert requests.get(url % s.project, headers=s.headers, timeout=30).status_code == 200
    r = requests.post(url % "someone-elses-project", headers=s.headers, timeout=30,
                      json={"instance_name": "x", "source": "s3://import-small/s/"})
    assert r.status_code in (401, 403), r.text


def test_directory_import_is_off_by_default_and_stays_inside_its_roots(tmp_path, server):
    """Server-side directories (jobs.import_dirs, operator-enabled): a file:// prefix is
    listed recursively; symbolic links are skipped, paths outside the roots refused."""
    root = tmp_path / "photos"
    (root / "a").mkdir(parents=True)
    (root / "b" / "c").mkdir(parents=True)
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(jpeg(50000))
    for i in range(6):
        (root / "a" / ("%d.jpg" % i)).write_bytes(jpeg(50001 + i))
        (root / "b" / "c" / ("%d.jpg" % i)).write_bytes(jpeg(50101 + i))
    (root / "a" / "notes.txt").write_bytes(b"not an image")
    os.symlink(str(outside), str(root / "a" / "link.jpg"))
    os.symlink(str(tmp_path), str(root / "b" / "up"))
    src = "file://%s/" % root
    # off by default: the module's server has no import_dirs
    st, out, _ = jobs(server, "POST", "", dict(instance_name="x", source=src))
    assert error_code(out) in ("IS.2011", "IS.2019"), out
    server.create("dirs-off")
    st, out, _ = jobs(server, "POST", "", dict(instance_name="dirs-off", source=src))
    assert error_code(out) == "IS.2011", out
    s = Server(extra_args=["--jobs-import-dirs", str(root)]).start()
    try:
        assert s.create("dirs", tags=["src", "folder"])[0] == 200
        for bad, code in [("file://%s/" % tmp_path, "IS.2011"),        # outside the root
                          ("file://%s/b/up/" % root, "IS.2011"),       # a link out of it
                          ("file://%s/nope/" % root, "IS.3053")]:      # no such directory
            st, out, _ = jobs(s, "POST", "", dict(instance_name="dirs", source=bad))
            assert error_code(out) == code, (bad, out)
        st, out, _ = s.add("dirs", "file://%s" % outside)
        assert error_code(out) == "IS.2011", out
        jid = create_job(s, instance_name="dirs", source=src, tags={"src": "d"},
                         folder_tag="folder")["id"]
        j = wait_job(s, jid, finished)
        p = j["progress"]
        assert j["state"] == "done" and (p["listed"], p["done"], p["failed"]) == (13, 12, 1), j
        assert tag_count(s, "dirs", {"src": "d"}) == 12
        # tags from the key's folders: the folder holding each file
        assert tag_count(s, "dirs", {"folder": "a"}) == 6
        assert tag_count(s, "dirs", {"folder": "c"}) == 6
        assert exists(s, "dirs", "file://%s/b/c/3.jpg" % root)
        assert not exists(s, "dirs", "file://%s/a/link.jpg" % root)
        st, rep, _ = jobs(s, "GET", "/%s/failures" % jid)
        assert [f["path"] for f in rep["failures"]] == ["file://%s/a/notes.txt" % root], rep
        # a re-run skips what is unchanged (modification time and size)
        (root / "a" / "0.jpg").write_bytes(jpeg(59999))
        jobs(s, "POST", "/%s/rerun" % jid)
        p = wait_job(s, jid, finished)["progress"]
        assert (p["done"], p["skipped"], p["failed"]) == (1, 11, 1), p
    finally:
        s.close()
