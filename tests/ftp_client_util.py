"""What the corio-ftp client tests share: FTP servers on loopback
(pyftpdlib through /usr/bin/python3, or corio-ftpd), file trees with
checksums, and a way to run the client with a time limit.

Run on its own it is a smoke test: start pyftpdlib and list it."""
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("CIO_BIN") or os.path.join(os.path.dirname(HERE), "build", "bin")
CLIENT = os.path.join(BIN, "corio-ftp")
FTPD = os.path.join(BIN, "corio-ftpd")
SYSTEM_PYTHON = "/usr/bin/python3"
USER, PASSWORD = "tester", "s3cret pass"

LAUNCHER = r'''
import logging, os, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, ThrottledDTPHandler
from pyftpdlib.servers import FTPServer

root, user, password, host, rate, log = sys.argv[1:7]
rate = int(rate)
logging.basicConfig(level=logging.WARNING)
auth = DummyAuthorizer()
auth.add_user(user, password, root, perm="elradfmwMT")
commands = open(log, "a", buffering=1)

no_rest_stor = os.environ.get("FTP_TEST_NO_REST_STOR") == "1"

class Handler(FTPHandler):
    def pre_process_command(self, line, cmd, arg):
        commands.write(cmd + "\n")
        return super().pre_process_command(line, cmd, arg)

    def ftp_STOR(self, file, mode="w"):
        if no_rest_stor and self._restart_position:
            self._restart_position = 0  # as servers that only append
            self.respond("554 Restart is not supported for uploads.")
            return
        return super().ftp_STOR(file, mode)

Handler.authorizer = auth
Handler.banner = "pyftpdlib ready"
if rate:
    dtp = ThrottledDTPHandler
    dtp.read_limit = rate
    dtp.write_limit = rate
    Handler.dtp_handler = dtp
server = FTPServer((host, 0), Handler)
server.max_cons = 1024
server.max_cons_per_ip = 1024
print("listening on %s:%d" % (host, server.socket.getsockname()[1]), flush=True)
server.serve_forever(timeout=0.5, blocking=True)
'''


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def have_pyftpdlib():
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", "import pyftpdlib"],
                          capture_output=True).returncode == 0


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def stop_process(proc, sig=signal.SIGTERM):
    """Signals proc and waits for it, killing it after 5 s."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Server:
    """An FTP server on loopback serving root, stopped by stop()."""

    def __init__(self, kind, root, workdir, rate=0, host="127.0.0.1", no_rest_stor=False):
        self.kind, self.root, self.host = kind, root, host
        self.log = os.path.join(workdir, "server-%d.log" % time.monotonic_ns())
        if kind == "pyftpdlib":
            launcher = os.path.join(workdir, "launch_pyftpdlib.py")
            with open(launcher, "w") as f:
                f.write(LAUNCHER)
            cmd = [SYSTEM_PYTHON, launcher, root, USER, PASSWORD, host,
                   str(rate), self.log]
        else:
            cmd = [FTPD, "--root", root, "--listen", host, "--port", "0",
                   "--user", "%s:%s" % (USER, PASSWORD)]
        self.errlog = open(self.log + ".stderr", "w")
        env = dict(os.environ, FTP_TEST_NO_REST_STOR="1" if no_rest_stor else "0")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=self.errlog, text=True, env=env)
        deadline = time.monotonic() + 15
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line or "listening on" in line:
                break
        if "listening on" not in line:
            self.stop()
            raise RuntimeError("%s did not start: %r" % (kind, line))
        self.port = int(line.strip().rsplit(":", 1)[1])

    def url(self, path="", user=USER, password=PASSWORD):
        host = "[%s]" % self.host if ":" in self.host else self.host
        auth = ""
        if user is not None:
            auth = user
            if password is not None:
                auth += ":" + quote(password)
            auth += "@"
        return "ftp://%s%s:%d/%s" % (auth, host, self.port, path)

    def commands(self):
        try:
            with open(self.log) as f:
                return f.read().split()
        except OSError:
            return []

    def stop(self, sig=signal.SIGTERM):
        stop_process(self.proc, sig)
        self.errlog.close()


VSFTPD_CONF = """listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=%(port)d
background=NO
anonymous_enable=YES
local_enable=NO
no_anon_password=YES
anon_root=%(root)s
ftp_username=ftp
write_enable=YES
anon_upload_enable=YES
anon_mkdir_write_enable=YES
anon_other_write_enable=YES
anon_umask=022
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
pasv_address=127.0.0.1
xferlog_enable=NO
log_ftp_protocol=YES
vsftpd_log_file=%(log)s
dual_log_enable=YES
secure_chroot_dir=%(empty)s
"""


def vsftpd_missing():
    """Why vsftpd cannot be started here, or None when it can: it needs
    root (it switches to the `ftp` user for anonymous sessions)."""
    import pwd
    if not shutil.which("vsftpd", path=os.environ.get("PATH", "") + ":/usr/sbin"):
        return "vsftpd is not installed"
    if os.geteuid() != 0:
        return "vsftpd needs root to start its anonymous sessions"
    try:
        pwd.getpwnam("ftp")
    except KeyError:
        return "no `ftp` user for vsftpd's anonymous sessions"
    return None


class Vsftpd:
    """vsftpd on 127.0.0.1 with anonymous logins into root, where the
    directory `incoming` (made here) is writable. vsftpd cannot bind port 0
    and report it, so a free port is picked and retried if taken."""

    def __init__(self, root, workdir):
        import pwd
        self.root, self.host, self.proc = root, "127.0.0.1", None
        ftp = pwd.getpwnam("ftp")
        incoming = os.path.join(root, "incoming")
        os.makedirs(incoming, exist_ok=True)
        os.chmod(root, 0o755)  # vsftpd refuses a writable anonymous root
        os.chown(incoming, ftp.pw_uid, ftp.pw_gid)
        empty = os.path.join(workdir, "vsftpd-empty")
        os.makedirs(empty, exist_ok=True)
        self.log = os.path.join(workdir, "vsftpd-%d.log" % time.monotonic_ns())
        for _ in range(5):
            with socket.socket() as s:
                s.bind((self.host, 0))
                self.port = s.getsockname()[1]
            conf = os.path.join(workdir, "vsftpd-%d.conf" % self.port)
            with open(conf, "w") as f:
                f.write(VSFTPD_CONF % {"port": self.port, "root": root,
                                       "log": self.log, "empty": empty})
            os.chmod(conf, 0o600)
            vsftpd = shutil.which("vsftpd", path=os.environ.get("PATH", "") + ":/usr/sbin")
            self.proc = subprocess.Popen([vsftpd, conf], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            if self._greets():
                return
            self.stop()
        raise RuntimeError("vsftpd did not start")

    def _greets(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with socket.create_connection((self.host, self.port), 1) as s:
                    s.settimeout(5)
                    return s.recv(100).startswith(b"220")
            except OSError:
                time.sleep(0.05)
        return False

    def url(self, path=""):
        return "ftp://%s:%d/%s" % (self.host, self.port, path)

    def commands(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM):
        if self.proc:
            stop_process(self.proc, sig)


def quote(s):
    out = []
    for ch in s:
        if ch.isalnum() or ch in "-._~":
            out.append(ch)
        else:
            out.append("%%%02X" % ord(ch))
    return "".join(out)


def run(args, timeout=30, env=None, cwd=None, stdin=None, input=None):
    """Runs the client; returns a CompletedProcess with text output."""
    full_env = dict(os.environ)
    full_env.pop("CORIO_FTP_PASSWORD", None)
    if env:
        full_env.update(env)
    return subprocess.run([CLIENT] + list(args), capture_output=True,
                          text=True, timeout=timeout, env=full_env, cwd=cwd,
                          stdin=stdin if input is None else None, input=input)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def write_file(path, size, seed=0):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        if size < (1 << 16):
            f.write(os.urandom(size))
        else:
            block = os.urandom(1 << 16)
            left = size
            while left > 0:
                f.write(block[: min(left, len(block))])
                block = block[1:] + block[:1]  # not a repeating period
                left -= len(block)


def tree_sums(root):
    """{relative path: sha256} of every regular file below root."""
    sums = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            full = os.path.join(dirpath, name)
            sums[os.path.relpath(full, root)] = sha256(full)
    return sums


def leftovers(root):
    """Temporary download files left anywhere below root."""
    found = []
    for dirpath, _, files in os.walk(root):
        found += [os.path.join(dirpath, n) for n in files if n.endswith(".part")]
    return found


def check(cond, what, proc=None):
    if not cond:
        print("FAIL: " + what)
        if proc is not None:
            print("  exit status %s" % proc.returncode)
            print("  stdout: " + proc.stdout[-3000:])
            print("  stderr: " + proc.stderr[-3000:])
        sys.exit(1)
    print("ok - " + what)


def need_client():
    if not os.path.exists(CLIENT):
        print("FAIL: %s not built" % CLIENT)
        sys.exit(1)


def need_pyftpdlib():
    if not have_pyftpdlib():
        skip("pyftpdlib is not installed for /usr/bin/python3")


class Workspace:
    """A temporary directory removed at exit, plus servers to stop."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="corio-ftp-test-")
        self.servers = []

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def server(self, kind="pyftpdlib", root=None, rate=0, host="127.0.0.1",
               no_rest_stor=False):
        root = root or self.path("srv")
        os.makedirs(root, exist_ok=True)
        s = Server(kind, root, self.dir, rate=rate, host=host, no_rest_stor=no_rest_stor)
        self.servers.append(s)
        return s

    def vsftpd(self, root=None):
        root = root or self.path("vsftpd-root")
        os.makedirs(root, exist_ok=True)
        s = Vsftpd(root, self.dir)
        self.servers.append(s)
        return s

    def close(self):
        for s in self.servers:
            s.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


if __name__ == "__main__":
    need_client()
    need_pyftpdlib()
    with Workspace() as ws:
        srv = ws.server()
        write_file(ws.path("srv", "hello.txt"), 100)
        p = run(["ls", srv.url()], timeout=20)
        check(p.returncode == 0 and "hello.txt" in p.stdout, "ls lists the server", p)
