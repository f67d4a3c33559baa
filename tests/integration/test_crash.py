"""Crash safety: clients add images concurrently while the server is SIGKILLed several times.
After each restart every acknowledged image is found by check and by search, and no image
that was never sent exists."""
import random
import signal
import threading
import time

import requests

from harness import Server, b64_file, originals

ROUNDS = 3
CLIENTS = 3


def enumerate_gallery(s):
    """All paths, by tag-only search (every image carries run=crash), paged."""
    seen, offset = [], 0
    while True:
        st, out, _ = s.search("crash", tags={"run": "crash"}, limit=100, offset=offset)
        assert st == 200, out
        seen += [h["path"] for h in out["result"]]
        if len(out["result"]) < 100:
            return seen
        offset += 100


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
