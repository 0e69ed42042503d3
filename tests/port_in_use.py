"""A second server on a port another process holds must fail with "address
in use" and a non-zero exit, with several worker threads as with one:
two corio-ftpd and two echo_server processes, each second one started on
the first one's port. The first keeps serving every connection."""
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

BIN = os.environ.get("CIO_BIN", os.path.join(os.getcwd(), "build", "bin"))
SAN = os.environ.get("SAN", "0") == "1"
WAIT = 30 if SAN else 10


def start(cmd):
    """Starts cmd; returns (process, port) once it says it listens."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    ready, _, _ = select.select([p.stdout], [], [], WAIT)
    assert ready, "no listening line from %s" % cmd
    line = p.stdout.readline().strip()
    assert line.startswith("listening on 127.0.0.1:"), line
    return p, int(line.split(":")[1].split()[0])


def refused(cmd):
    """cmd must end by itself, non-zero, saying the address is in use."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        out, err = p.communicate(timeout=WAIT)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError("second server kept running: %r %r" % (out, err))
    assert p.returncode != 0, (out, err)
    assert "listening on" not in out, out
    assert "address already in use" in err.lower(), err


def greets(port, expect):
    """Ten connections in a row all reach the first server."""
    for _ in range(10):
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as c:
            expect(c)


def ftp_greeting(c):
    assert c.makefile("rb").readline().startswith(b"220"), "no greeting"


def echo_reply(c):
    c.sendall(b"ping\n")
    assert c.recv(16) == b"ping\n"


def stop(p):
    p.send_signal(signal.SIGTERM)
    assert p.wait(WAIT * 3) == 0, p.stderr.read()


def ftpd(root, workers, port):
    return [os.path.join(BIN, "corio-ftpd"), "--root", root, "--listen",
            "127.0.0.1", "-p", str(port), "--workers", str(workers),
            "--quiet"]


def echo(workers, port):
    return [os.path.join(BIN, "echo_server"), "-p", str(port), "-w",
            str(workers)]


def main():
    root = tempfile.mkdtemp(prefix="portinuse.")
    try:
        for first_w, second_w in ((4, 4), (1, 4), (4, 1)):
            first, port = start(ftpd(root, first_w, 0))
            try:
                refused(ftpd(root, second_w, port))
                greets(port, ftp_greeting)
            finally:
                stop(first)
            first, port = start(echo(first_w, 0))
            try:
                refused(echo(second_w, port))
                greets(port, echo_reply)
            finally:
                stop(first)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
