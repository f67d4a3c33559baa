"""Crash safety: clients add (and delete and modify) images concurrently while the server is
SIGKILLed again and again. After each restart every acknowledged change is there, no refused
change is, and an unacknowledged one (the server died under it) is either there or not.
The loop runs SOAK_ROUNDS_DEFAULT rounds by default; ISS_SOAK=1 makes it 50 (or
ISS_SOAK_ROUNDS), as docs/reliability.md ("Crash loops") describes."""
import os
import random
import signal
import threading
import time

import requests

from harness import Server, b64_file, originals

ROUNDS = 3
CLIENTS = 3


def enumerate_gallery(s):
    """All paths, by tag-only search (every image carries run=crash and its client), paged
    per client (a search reaches at most 1000 results: docs/api.md, "Limits")."""
    seen = []
    for cid in range(CLIENTS):
        offset = 0
        while True:
            st, out, _ = s.search("crash", tags={"run": "crash", "client": str(cid)},
                                  limit=100, offset=offset)
            assert st == 200, out
            seen += [h["path"] for h in out["result"]]
            if len(out["result"]) < 100:
                break
            offset += 100
            assert offset < 1000, "a client added more images than one search can list"
    return seen


def test_sigkill_loses_nothing_acknowledged():
    files = [b64_file(p) for p in originals(8)]
    s = Server().start()
    acked, attempted = set(), set()
    lock = threading.Lock()
    try:
        assert s.create("crash", ["run", "client"])[0] == 200
        for rnd in range(ROUNDS):
            stop = threading.Event()

            def client(cid):
                session = requests.Session()
                i = 0
                while not stop.is_set():
                    path = "r%d/c%d/%d.jpg" % (rnd, cid, i)
                    with lock:
                        attempted.add(path)
                    try:
                        st, _, _ = s.add("crash", path, file_b64=files[(cid + i) % len(files)],
                                         tags={"run": "crash", "client": str(cid)},
                                         session=session, timeout=30)
                    except requests.RequestException:
                        return  # the server died under us: this one is unacknowledged
                    if st == 200:
                        with lock:
                            acked.add(path)
                    i += 1

            threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
            for t in threads:
                t.start()
            time.sleep(1.0 + random.random())
            s.stop(signal.SIGKILL)
            stop.set()
            for t in threads:
                t.join()
            s.start()
            for path in sorted(acked):
                st, out, _ = s.check("crash", path)
                assert out == {"exist": "true"}, (rnd, path, out)
            present = set(enumerate_gallery(s))
            assert acked <= present, sorted(acked - present)[:5]
            assert present <= attempted, sorted(present - attempted)[:5]
            # and image search finds an acknowledged image by its own pixels
            some = sorted(acked)[-1]
            st, out, _ = s.search("crash", path=some, limit=100)
            assert st == 200 and out["result"][0]["sim"] > 0.99, out
            hits = [h["path"] for h in out["result"]]
            # the same pixels were added under many paths: it is there unless 100 ties hide it
            assert some in hits or all(h["sim"] > 0.99 for h in out["result"]), hits
            print("round %d: %d acknowledged, %d attempted" % (rnd, len(acked), len(attempted)))
        assert len(acked) >= ROUNDS, "the clients got too few images in to test anything"
    except Exception:
        print(s.logs())
        raise
    finally:
        s.close()


SOAK_ROUNDS_DEFAULT = 5
PATHS_PER_CLIENT = 30  # each client's images stay well under one search's 1000 results


def soak_rounds():
    if os.environ.get("ISS_SOAK_ROUNDS"):
        return int(os.environ["ISS_SOAK_ROUNDS"])
    return 50 if os.environ.get("ISS_SOAK") == "1" else SOAK_ROUNDS_DEFAULT


def client_state(s, cid):
    """path -> its tag `v` for every image of client `cid` (tag-only search)."""
    st, out, _ = s.search("loop", tags={"client": str(cid)}, limit=100)
    assert st == 200, out
    assert len(out["result"]) < 100
    return {h["path"]: h["tags"]["v"] for h in out["result"]}


def test_sigkill_loop_under_adds_deletes_and_modifies():
    """Each client owns its paths and changes them one at a time: add (put) with a new `v`,
    modify the tags to a new `v`, or delete. The model per path: its acknowledged state
    (a `v`, or None for absent) and, when the server died during a request, that request's
    result as the only other possible state. A 400 changes nothing."""
    rounds = soak_rounds()
    files = [b64_file(p) for p in originals(6)]
    s = Server().start()
    acked = {}    # path -> v or None
    pending = {}  # path -> v or None: a request that got no answer
    lock = threading.Lock()
    counts = {"200": 0, "400": 0, "lost": 0}
    errors = []
    try:
        assert s.create("loop", ["client", "v"])[0] == 200
        for rnd in range(rounds):
            stop = threading.Event()

            def client(cid):
                try:
                    run_client(cid)
                except BaseException as e:  # a failed check in a thread fails the test
                    with lock:
                        errors.append(repr(e))

            def run_client(cid):
                import requests
                rng = random.Random(rnd * 1000 + cid)
                session = requests.Session()
                n = 0
                while not stop.is_set():
                    path = "c%d/%d.jpg" % (cid, rng.randrange(PATHS_PER_CLIENT))
                    n += 1
                    v = "r%d-%d" % (rnd, n)
                    op = rng.choice(["add", "add", "modify", "delete"])
                    with lock:
                        before = acked.get(path)
                    if op == "add":
                        result = v
                        call = lambda: s.add("loop", path, file_b64=files[n % len(files)],
                                             tags={"client": str(cid), "v": v},
                                             session=session, timeout=30)
                    elif op == "modify":
                        result = v if before is not None else None
                        call = lambda: s.request("PUT", "/loop/image",
                                                 {"path": path,
                                                  "tags": {"client": str(cid), "v": v}},
                                                 session=session, timeout=30)
                    else:
                        result = None
                        call = lambda: s.request("DELETE", "/loop/image", {"path": path},
                                                 session=session, timeout=30)
                    try:
                        st, out, _ = call()
                    except requests.RequestException:
                        with lock:
                            pending[path] = result
                            counts["lost"] += 1
                        return  # the server died under it: this change is unacknowledged
                    with lock:
                        if st == 200:
                            acked[path] = result
                            counts["200"] += 1
                        else:
                            counts["400"] += 1
                            # refused: only "no such image" for a modify or delete of an
                            # absent path; nothing changes
                            assert op != "add", (path, out)
                            assert out.get("error_code") == "IS.2006", (op, path, out)

            threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
            for t in threads:
                t.start()
            time.sleep(0.5 + random.random())
            s.stop(signal.SIGKILL)
            stop.set()
            for t in threads:
                t.join()
            assert not errors, errors
            s.start()
            for cid in range(CLIENTS):
                seen = client_state(s, cid)
                for i in range(PATHS_PER_CLIENT):
                    path = "c%d/%d.jpg" % (cid, i)
                    got = seen.get(path)
                    allowed = {acked.get(path)}
                    if path in pending:
                        allowed.add(pending.pop(path))
                    assert got in allowed, (rnd, path, got, allowed)
                    acked[path] = got  # an unacknowledged change resolved either way
                    exists = s.check("loop", path)[1]
                    assert exists == {"exist": "true" if got is not None else "false"}, path
            assert not pending
            # image search agrees with the catalog: a present image finds itself
            present = [p for p, v in acked.items() if v is not None]
            if present:
                some = sorted(present)[-1]
                st, out, _ = s.search("loop", path=some, limit=100)
                assert st == 200 and out["result"][0]["sim"] > 0.99, out
            print("round %d: %s, %d present" % (rnd, counts, len(present)))
        assert counts["200"] >= rounds, ("too few changes got in to test anything", counts)
    except Exception:
        print(s.logs())
        raise
    finally:
        s.close()
