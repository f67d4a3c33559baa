"""The `imagesearch` CLI against the real server with auth on, as a user drives it: a profile
written by `configure` (secret key from stdin, file 0600, never on argv), AK/SK-signed v1
calls, a folder added with a progress count and resumed, search as a table and as JSON, and
exit codes a script can branch on (refused 1, usage 2, unreachable 3, absent 4, some failed 5)."""
import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402

CLI = os.environ.get("ISS_CLI_BIN", "")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    assert CLI, "ISS_CLI_BIN is not set"
    s = harness.Server().start()
    with open(os.path.join(s.data_dir, "bootstrap.json")) as f:
        ident = json.load(f)
    home = str(tmp_path_factory.mktemp("cli-home"))
    e = dict(os.environ, HOME=home)
    for k in list(e):
        if k.startswith("IMAGESEARCH_"):
            del e[k]
    yield s, ident, e, home
    s.close()


def run(e, *args, stdin=None):
    r = subprocess.run([CLI] + list(args), env=e, input=stdin, capture_output=True, text=True,
                       timeout=300)
    return r.returncode, r.stdout, r.stderr


def test_configure_then_every_operation(env, tmp_path):
    s, ident, e, home = env
    rc, out, err = run(e, "configure", "--endpoint", s.base, "--project", ident["project_id"],
                       "--ak", ident["ak"], stdin=ident["sk"] + "\n")
    assert rc == 0, err
    conf = os.path.join(home, ".config", "imagesearch", "config.toml")
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o600
    assert ident["sk"] in open(conf).read()

    rc, out, err = run(e, "instance", "create", "cli", "--tags", "color,size")
    assert rc == 0, err
    assert json.loads(out)["instanceName"] == "cli"
    rc, out, err = run(e, "instance", "create", "cli")
    assert rc == 1 and "IS.3000" in err  # exists: the server's code, exit 1

    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    good = harness.originals(4)
    for i, o in enumerate(good[:3]):
        shutil.copy(o, str(folder / ("%d.jpg" % i)))
    shutil.copy(good[3], str(folder / "sub" / "3.jpg"))
    (folder / "notes.txt").write_text("not an image")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    rc, out, err = run(e, "add", "cli", str(folder), "--tag", "color=red")
    assert rc == 5, (out, err)  # one failed
    assert "added 4, skipped 0, failed 1 of 5" in out
    assert "broken.jpg: IS.2002" in err
    (folder / "broken.jpg").unlink()
    rc, out, err = run(e, "add", "cli", str(folder), "--skip-existing")  # a resumed run
    assert rc == 0 and "added 0, skipped 4, failed 0 of 4" in out, (out, err)

    rc, out, err = run(e, "check", "cli", "sub/3.jpg")
    assert rc == 0 and out.strip() == "true"
    rc, out, err = run(e, "check", "cli", "nothing.jpg")
    assert rc == 4 and out.strip() == "false"

    rc, out, err = run(e, "search", "cli", good[1], "--limit", "2")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[1].split()[2] == "1.jpg" and "color=red" in lines[1]
    assert float(lines[1].split()[1]) > 0.9
    rc, out, err = run(e, "--json", "search", "cli", "--tag", "color=red", "--limit", "10")
    assert rc == 0, err
    answer = json.loads(out)
    assert answer["count"] == 4
    assert {h["path"] for h in answer["result"]} == {"0.jpg", "1.jpg", "2.jpg", "sub/3.jpg"}

    rc, out, err = run(e, "tags", "cli", "0.jpg", "color=blue", "size=l")
    assert rc == 0, err
    rc, out, err = run(e, "--json", "search", "cli", "--tag", "color=blue")
    assert [h["path"] for h in json.loads(out)["result"]] == ["0.jpg"]
    rc, out, err = run(e, "delete", "cli", "0.jpg")
    assert rc == 0, err
    assert run(e, "check", "cli", "0.jpg")[0] == 4
    # one file with its own path; a bad tag name is the server's IS code
    rc, out, err = run(e, "add", "cli", good[0], "--path", "first", "--tag", "shape=x")
    assert rc == 1 and "IS.1004" in err, err
    rc, out, err = run(e, "add", "cli", good[0], "--path", "first")
    assert rc == 0 and "added first" in out, err
    rc, out, err = run(e, "instance", "delete", "cli")
    assert rc == 0, err
    assert run(e, "instance", "get", "cli")[0] == 1


def test_credentials_and_failures_have_their_exit_codes(env, tmp_path):
    s, ident, e, home = env
    base = ["--endpoint", s.base, "--project", ident["project_id"], "--ak", ident["ak"]]
    wrong = tmp_path / "wrong-sk"
    wrong.write_text("not-the-secret\n")
    rc, out, err = run(e, *base, "--sk-file", str(wrong), "check", "x", "y")
    assert rc == 1 and "APIG" in err, err  # the signature is refused
    right = tmp_path / "sk"
    right.write_text(ident["sk"] + "\n")
    rc, out, err = run(e, *base, "--sk-file", str(right), "instance", "get", "nope")
    assert rc == 1 and "IS." in err, err  # signed fine; the instance does not exist
    env_sk = dict(e, IMAGESEARCH_SK=ident["sk"])
    rc, out, err = run(env_sk, *base, "instance", "get", "nope")
    assert rc == 1 and "IS." in err, err
    rc, out, err = run(e, "--endpoint", "http://127.0.0.1:%d" % harness.free_port(), "--project",
                       "p", "check", "x", "y")
    assert rc == 3 and "cannot reach" in err
    assert run(e, "search")[0] == 2  # usage
    assert run(e, "--profile", "nosuch", "check", "x", "y")[0] == 2
    rc, out, _ = run(e, "--version")
    assert rc == 0 and out.startswith("imagesearch ")


def test_import_a_folder_as_a_server_side_job_with_progress(env, tmp_path):
    """`imagesearch import` of a folder the server may read (jobs.import_dirs): the job is
    created, followed to its end with progress, its failure report printed (exit 5); `jobs`
    lists it, and a re-run skips every unchanged file."""
    _, ident, e, _ = env
    folder = tmp_path / "srv"
    folder.mkdir()
    for i, o in enumerate(harness.originals(5)):
        shutil.copy(o, str(folder / ("%d.jpg" % i)))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    s = harness.Server(extra_args=["--jobs-import-dirs", str(tmp_path)]).start()
    try:
        with open(os.path.join(s.data_dir, "bootstrap.json")) as f:
            me = json.load(f)
        base = ["--endpoint", s.base, "--project", me["project_id"], "--ak", me["ak"]]
        e2 = dict(e, IMAGESEARCH_SK=me["sk"])
        assert run(e2, *base, "instance", "create", "imp", "--tags", "folder")[0] == 0
        rc, out, err = run(e2, *base, "import", "imp", str(folder))
        assert rc == 5, (out, err)  # done, one failure
        job = json.loads(out)
        assert job["state"] == "done" and job["progress"]["done"] == 5, job
        assert job["progress"]["failed"] == 1 and "broken.jpg" in err and "IS.2002" in err
        assert "[done] listed 6" in err  # the progress line
        rc, out, err = run(e2, *base, "--json", "search", "imp", harness.originals(5)[3],
                           "--limit", "1")
        assert json.loads(out)["result"][0]["path"].endswith("/srv/3.jpg")
        rc, out, err = run(e2, *base, "jobs", "list")
        assert rc == 0 and json.loads(out)["count"] == 1
        rc, out, err = run(e2, *base, "jobs", "rerun", job["id"])
        again = json.loads(out)
        assert again["progress"]["skipped"] == 5 and again["progress"]["done"] == 0, again
        rc, out, err = run(e2, *base, "jobs", "get", "no-such-job")
        assert rc == 1 and "IS.3033" in err, err
    finally:
        s.close()
