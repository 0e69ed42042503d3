"""Shared pieces of the corio-ftpd tests: start a server on a free loopback
port with a temporary root, talk to it with ftplib or raw sockets, stop it
and check it exited cleanly (under ASan, a leak makes the exit status
non-zero). Run directly, it is a smoke test of its own."""

import ftplib
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("CIO_BIN", os.path.join(os.getcwd(), "build", "bin"))
FTPD = os.path.join(BIN, "corio-ftpd")
SAN = os.environ.get("SAN", "0") == "1"


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class Server:
    """A corio-ftpd on 127.0.0.1:<free port> serving a fresh directory."""

    def __init__(self, *args, root=None, users=(("alice", "wonder"),),
                 wrap=None, login_delay=10, host="127.0.0.1"):
        self.host = host
        self.tmp = tempfile.mkdtemp(prefix="ftpdtest.")
        self.root = root or os.path.join(self.tmp, "root")
        os.makedirs(self.root, exist_ok=True)
        self.log = os.path.join(self.tmp, "events.log")
        self.xferlog = os.path.join(self.tmp, "xferlog")
        cmd = [FTPD, "--root", self.root, "--listen", host, "-p", "0",
               "--log-file", self.log, "--xferlog", self.xferlog,
               "--login-delay", str(login_delay), "--fsync", "none"]
        for name, pw in users:
            cmd += ["--user", "%s:%s" % (name, pw)]
        cmd += list(args)
        cmd += os.environ.get("FTPD_TEST_ARGS", "").split()
        if wrap:
            cmd = wrap + cmd
        self.stderr_path = os.path.join(self.tmp, "stderr")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=open(self.stderr_path, "w"),
                                     text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (\S+):(\d+)$", line.strip())
        if not m:
            self.proc.wait(5)
            raise RuntimeError("server did not start: %r\n%s" %
                               (line, self.stderr()))
        self.port = int(m.group(2))

    def stderr(self):
        with open(self.stderr_path) as f:
            return f.read()

    def events(self):
        try:
            with open(self.log) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_events(self, pred, timeout=10):
        """Waits, at most timeout seconds (thrice under sanitizers), until
        pred(event log) holds; returns whether it does."""
        deadline = time.time() + timeout * (3 if SAN else 1)
        while not pred(self.events()):
            if time.time() > deadline:
                return False
            time.sleep(0.02)
        return True

    def sessions_ended(self, timeout=10):
        """Waits until every session logged as connected has ended."""
        def ended(ev):
            lines = ev.splitlines()
            return (sum(ln.endswith(": connect") for ln in lines) ==
                    sum(": disconnect (" in ln for ln in lines))
        return self.wait_events(ended, timeout)

    def ftp(self, user="alice", password="wonder", timeout=30):
        f = ftplib.FTP()
        f.connect(self.host, self.port, timeout=timeout)
        if user:
            f.login(user, password)
        return f

    def raw(self, timeout=10):
        """A raw control connection, greeting already read."""
        return Raw(self.port, timeout, self.host)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def write(self, name, data):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stops the server and checks a clean exit; returns stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout * (3 if SAN else 1))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("server did not stop\n" + self.stderr())
        err = self.stderr()
        assert rc == 0, "server exit status %d\n%s" % (rc, err)
        assert "ERROR: AddressSanitizer" not in err, err
        assert "runtime error" not in err, err
        return err

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.stop()
        finally:
            if exc_type is not None:
                sys.stderr.write("--- server stderr:\n" + self.stderr())
                sys.stderr.write("--- events:\n" + self.events())
            self.cleanup()


class Raw:
    """A control connection driven byte by byte."""

    def __init__(self, port, timeout=10, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout)
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; buffered %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        """A whole reply, multi-line ones included; returns its text."""
        first = self.line()
        lines = [first]
        if len(first) > 3 and first[3] == "-":
            while True:
                ln = self.line()
                lines.append(ln)
                if ln[:3] == first[:3] and ln[3:4] == " ":
                    break
        return "\n".join(lines)

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def closed(self, timeout=5):
        """True once the server has closed the connection."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def pasv_port(reply):
    m = re.search(r"\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)", reply)
    return int(m.group(5)) * 256 + int(m.group(6))


def epsv_port(reply):
    return int(re.search(r"\(\|\|\|(\d+)\|\)", reply).group(1))


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def upload_start(srv, cmd, user="alice", password="wonder", rest=0):
    """Logs in on a raw control connection, opens a passive data connection
    and sends cmd ("STOR name", "APPE name"), after REST rest if given;
    returns (control, data, first reply)."""
    r = srv.raw()
    r.cmd("USER " + user)
    expect(r.cmd("PASS " + password).startswith("230"), "login " + user)
    r.cmd("TYPE I")
    port = pasv_port(r.cmd("PASV"))
    d = socket.create_connection((srv.host, port), 10)
    if rest:
        expect(r.cmd("REST %d" % rest).startswith("350"), "REST")
    r.send(cmd + "\r\n")
    return r, d, r.reply()


def wait_until(cond, what, timeout=10):
    """Polls cond() until true; AssertionError naming what after timeout
    seconds (tripled under sanitizers)."""
    deadline = time.monotonic() + timeout * (3 if SAN else 1)
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


def main():
    with Server("--anonymous") as srv:
        f = srv.ftp()
        expect(f.pwd() == "/", "pwd")
        f.quit()
        f = srv.ftp("anonymous", "guest@example.org")
        expect(f.nlst() == [], "empty root")
        f.quit()
    print("ok")


if __name__ == "__main__":
    main()
