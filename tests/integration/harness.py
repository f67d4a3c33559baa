"""Test harness: start the real imagesearchd on 127.0.0.1:0 and talk HTTP to it.

Environment:
  ISS_BIN            path of the imagesearchd binary (set by ctest)
  ISS_EVAL_DIR       the shared eval folder (set by ctest: ../shared/eval beside the checkout)
  ISS_TEST_AUTH_MODULE  optional: a Python file defining
                        prepare(bin, data_dir) -> None   (e.g. create a user with `admin`)
                        login(base_url) -> (project_id, headers_dict)
                     (tests/auth_integration/token_login.py is the one ctest uses).
                     When set, the server runs with auth on and every request carries the
                     headers login() returns; otherwise auth is switched off explicitly.
"""
import base64
import importlib.util
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

import requests

BIN = os.environ.get("ISS_BIN", "")
EVAL_DIR = os.environ.get("ISS_EVAL_DIR", "/work/shared/eval")
BAD_DIR = os.path.join(EVAL_DIR, "bad-inputs")
DEV_DIR = os.path.join(EVAL_DIR, "dev")


def _auth_module():
    path = os.environ.get("ISS_TEST_AUTH_MODULE")
    if not path:
        return None
    spec = importlib.util.spec_from_file_location("iss_test_auth", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def b64_file(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def originals(n):
    d = os.path.join(DEV_DIR, "originals")
    return [os.path.join(d, f) for f in sorted(os.listdir(d))[:n]]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """One imagesearchd process over a data dir that survives restarts."""

    def __init__(self, data_dir=None, extra_args=(), preexec_fn=None):
        assert BIN, "ISS_BIN is not set"
        self._tmp = tempfile.TemporaryDirectory(prefix="iss-it-")
        self.data_dir = data_dir or os.path.join(self._tmp.name, "data")
        self.extra_args = list(extra_args)
        self.preexec_fn = preexec_fn  # run in the child before exec (e.g. setrlimit)
        self.proc = None
        self.port = None
        self.auth = _auth_module()
        self.project = "p1"
        self.headers = {}
        self.log_path = os.path.join(self._tmp.name, "server.log")
        if self.auth:
            self.auth.prepare(BIN, self.data_dir)

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        port_file = os.path.join(self._tmp.name, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        args = [BIN, "--data-dir", self.data_dir, "--listen", "127.0.0.1:0",
                "--port-file", port_file] + self.extra_args
        if not self.auth:
            args += ["--auth-enabled", "false"]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=self.preexec_fn)
        deadline = time.time() + 60
        while not os.path.exists(port_file):
            if self.proc.poll() is not None:
                raise RuntimeError("server exited %d: %s" % (self.proc.returncode, self.logs()))
            if time.time() > deadline:
                self.stop(signal.SIGKILL)
                raise RuntimeError("server did not start: " + self.logs())
            time.sleep(0.05)
        with open(port_file) as f:
            self.port = int(f.read())
        if self.auth:
            try:
                self.project, self.headers = self.auth.login(self.base)
            except BaseException:
                self.stop(signal.SIGKILL)  # never leave a server behind a failed start
                raise
        return self

    def logs(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout)
        code = self.proc.returncode if self.proc else None
        self.proc = None
        return code

    def close(self):
        self.stop(signal.SIGKILL if self.proc and self.proc.poll() is None else signal.SIGTERM)
        self._tmp.cleanup()

    # --- HTTP ---
    def request(self, method, path, body=None, raw=None, session=None, headers=None, timeout=60):
        """`path` is relative to /v1/{project}; returns (status, parsed JSON or text, response)."""
        url = self.base + ("/v1/%s%s" % (self.project, path) if not path.startswith("//")
                           else path[1:])
        h = dict(self.headers)
        h.update(headers or {})
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        r = (session or requests).request(method, url, data=data, headers=h, timeout=timeout)
        try:
            parsed = r.json()
        except ValueError:
            parsed = r.text
        return r.status_code, parsed, r

    def create(self, name, tags=None, model="common-search"):
        body = {"name": name, "model": model}
        if tags is not None:
            body["tags"] = tags
        return self.request("POST", "/service", body)

    def add(self, inst, path, file_path=None, tags=None, file_b64=None, **kw):
        body = {"path": path}
        if file_path:
            body["file"] = b64_file(file_path)
        if file_b64 is not None:
            body["file"] = file_b64
        if tags is not None:
            body["tags"] = tags
        return self.request("POST", "/%s/image" % inst, body, **kw)

    def check(self, inst, path, **kw):
        return self.request("POST", "/%s/image/check" % inst, {"path": path}, **kw)

    def search(self, inst, **body):
        return self.request("POST", "/%s/image/search" % inst, body)


def error_code(parsed):
    return parsed.get("error_code") if isinstance(parsed, dict) else None
