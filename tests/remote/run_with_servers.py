#!/usr/bin/env python3
"""Starts loopback HTTP servers for the remote-file tests, runs a command, stops them.

    run_with_servers.py TESTDATA NPM_CACHE -- COMMAND [ARGS...]

Under a fresh temporary directory it writes the fixtures (www/): pattern.bin
(random bytes), empty.bin, slow.safetensors (two 512 KiB tensors), sparse.bin
(5 GiB, sparse, with known bytes past 4 GiB) and testdata/ (a link to
TESTDATA, the io fixtures), then starts on
127.0.0.1, each on a free port of its own:

  nginx              (its own config, pid and logs under the temp dir)
  python3 -m http.server   (answers every GET with 200 and the whole file)
  fault_server.py    (tests/remote/fault_server.py, serving pattern.bin)
  s3rver             (npm; installed once into NPM_CACHE), bucket halio-test
                     holding www's files under the same names

COMMAND sees HALIO_TEST_WWW and, per server, HALIO_TEST_<NAME>_URL or, when
the server cannot be had (binary or npm missing), HALIO_TEST_<NAME>_SKIP with
the reason; NAME is NGINX, NGINX_TLS (https, certificate in HALIO_TEST_TLS_CA),
PYHTTP, FAULT, S3. A server that is present but
fails to start fails the run. Exits with COMMAND's status.
"""
import fcntl
import os
import pathlib
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
S3RVER_VERSION = "3.7.1"
SPARSE_SIZE = 5 << 30
SPARSE_DATA_OFFSET = (4 << 30) + 12345  # past 4 GiB: 64-bit offsets in Range headers


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, name, log):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"run_with_servers: {name} exited with {process.returncode} at start:\n"
                     + pathlib.Path(log).read_text(errors="replace")[-2000:])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"run_with_servers: {name} did not listen on port {port} within 30 s")


def write_fixtures(www, testdata):
    www.mkdir()
    rng = random.Random(13)
    (www / "pattern.bin").write_bytes(rng.randbytes((8 << 20) + 4321))
    (www / "empty.bin").write_bytes(b"")
    with open(www / "sparse.bin", "wb") as f:
        f.truncate(SPARSE_SIZE)
        f.seek(SPARSE_DATA_OFFSET)
        f.write(rng.randbytes(65536))
    (www / "testdata").symlink_to(pathlib.Path(testdata).resolve())
    # Two 512 KiB U8 tensors, "slow" then "slow_too", after a header padded
    # to 4 KiB (the fault server's slow-tensors mode serves the header at
    # once and the tensors slowly).
    tensor = 512 << 10
    header = ('{"slow":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]},'
              '"slow_too":{"dtype":"U8","shape":[%d],"data_offsets":[%d,%d]}}'
              % (tensor, tensor, tensor, tensor, 2 * tensor))
    header = header.ljust(4096 - 8).encode()
    (www / "slow.safetensors").write_bytes(struct.pack("<Q", len(header)) + header
                                           + rng.randbytes(2 * tensor))


class Servers:
    def __init__(self, root):
        self.root = root
        self.processes = []
        self.env = {}

    def start(self, name, argv, port, cwd=None):
        log = self.root / f"{name.lower()}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                       stdin=subprocess.DEVNULL)
        self.processes.append(process)
        wait_for_port(port, process, name, log)
        self.env[f"HALIO_TEST_{name}_URL"] = f"http://127.0.0.1:{port}"

    def skip(self, name, reason):
        self.env[f"HALIO_TEST_{name}_SKIP"] = reason

    def stop(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_nginx(servers, www):
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.path.exists(p)), None)
    if nginx is None:
        for name in ("NGINX", "NGINX_TLS"):
            servers.skip(name, "nginx not installed (Debian: apt-get install nginx)")
        return
    port = free_port()
    prefix = servers.root / "nginx"
    prefix.mkdir()
    tls = tls_server_block(servers, prefix, www)
    # master_process off: one process as the current user, which can read
    # the temp dir (a root master would hand requests to user nobody).
    (prefix / "nginx.conf").write_text(f"""
daemon off;
master_process off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  default_type application/octet-stream;
  sendfile on;
  keepalive_requests 100000;
  server {{
    listen 127.0.0.1:{port};
    root {www};
  }}
  {tls}
}}
""")
    servers.start("NGINX", [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                            "-e", str(prefix / "error.log")], port)


def tls_server_block(servers, prefix, www):
    """An https server block for nginx with a fresh self-signed certificate for
    127.0.0.1 (HALIO_TEST_NGINX_TLS_URL, the certificate HALIO_TEST_TLS_CA), or
    "" with HALIO_TEST_NGINX_TLS_SKIP when openssl is missing."""
    openssl = shutil.which("openssl")
    if openssl is None:
        servers.skip("NGINX_TLS", "openssl not installed, needed for a test certificate")
        return ""
    cert, key = prefix / "cert.pem", prefix / "key.pem"
    made = subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                           "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                           "-keyout", str(key), "-out", str(cert)], capture_output=True, text=True)
    if made.returncode != 0:
        sys.exit("run_with_servers: openssl could not make a test certificate:\n" + made.stderr)
    port = free_port()
    servers.env["HALIO_TEST_NGINX_TLS_URL"] = f"https://127.0.0.1:{port}"
    servers.env["HALIO_TEST_TLS_CA"] = str(cert)
    return f"""server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    root {www};
  }}"""


def start_s3rver(servers, www, cache):
    npm = shutil.which("npm")
    node = shutil.which("node")
    if npm is None or node is None:
        return servers.skip("S3", "npm/node not installed (Debian: apt-get install npm), "
                                  "needed for s3rver")
    binary = cache / "node_modules" / "s3rver" / "bin" / "s3rver.js"
    cache.mkdir(parents=True, exist_ok=True)
    # Test runs in parallel share the cache: one installs, the others wait.
    with open(cache / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.exists():
            installed = subprocess.run(
                [npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund",
                 f"s3rver@{S3RVER_VERSION}"], capture_output=True, text=True)
            if installed.returncode != 0 or not binary.exists():
                return servers.skip("S3", f"npm install s3rver@{S3RVER_VERSION} failed: "
                                          + installed.stderr.strip()[-300:])
    port = free_port()
    data = servers.root / "s3"
    data.mkdir()
    servers.start("S3", [node, str(binary), "-d", str(data), "-a", "127.0.0.1",
                         "-p", str(port), "--silent", "--configure-bucket", "halio-test"], port)
    url = servers.env["HALIO_TEST_S3_URL"]
    uploads = [("pattern.bin", www / "pattern.bin"), ("empty.bin", www / "empty.bin")]
    uploads += [(f"testdata/{p.name}", p) for p in sorted((www / "testdata").iterdir())
                if p.suffix in (".safetensors", ".gguf", ".json") and "_bad_" not in p.name]
    for key, path in uploads:
        request = urllib.request.Request(f"{url}/halio-test/{key}", data=path.read_bytes(),
                                         method="PUT")
        with urllib.request.urlopen(request, timeout=30) as response:
            if response.status != 200:
                sys.exit(f"run_with_servers: s3rver refused PUT {key}: {response.status}")


def main(argv):
    if len(argv) < 5 or argv[3] != "--":
        print(__doc__)
        return 2
    testdata, cache, command = argv[1], pathlib.Path(argv[2]).resolve(), argv[4:]
    with tempfile.TemporaryDirectory(prefix="halio-remote-") as scratch:
        root = pathlib.Path(scratch)
        www = root / "www"
        write_fixtures(www, testdata)
        servers = Servers(root)
        try:
            start_nginx(servers, www)
            port = free_port()
            servers.start("PYHTTP", [PYTHON, "-m", "http.server", str(port), "--bind",
                                     "127.0.0.1", "--directory", str(www)], port)
            port = free_port()
            servers.start("FAULT", [PYTHON, str(HERE / "fault_server.py"), str(port),
                                    str(www / "pattern.bin"), str(www / "slow.safetensors")],
                          port)
            start_s3rver(servers, www, cache)
            env = dict(os.environ, HALIO_TEST_WWW=str(www),
                       HALIO_TEST_SPARSE_OFFSET=str(SPARSE_DATA_OFFSET), **servers.env)
            # No proxy may stand between the tests and loopback, and the
            # caller's AWS settings must not reach the tests' S3 requests.
            for name in [n for n in env if n.startswith("AWS_") or n.lower().endswith("_proxy")]:
                env.pop(name)
            return subprocess.call(command, env=env)
        finally:
            servers.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
