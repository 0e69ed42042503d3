"""Both seed servers under a tiny fd limit: more clients than fds, then all
of them leave; the server must neither exit nor spin, and must serve a new
client once fds are free again. CIO_TEST_ALL_BACKENDS"""
import os
import socket
import subprocess
import sys
import time

BIN = os.environ.get("CIO_BIN", os.path.join(os.getcwd(), "build", "bin"))
UPPER = {"select_echo": True, "selectors_echo": False}


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def expect_within(cond, what, timeout=10):
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, what
        time.sleep(0.02)


def check(server):
    cmd = "ulimit -n 16; exec %s -p 0" % os.path.join(BIN, server)
    proc = subprocess.Popen(["sh", "-c", cmd], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1])
        base = open_fds(proc.pid)
        clients = [socket.create_connection(("127.0.0.1", port), timeout=5)
                   for _ in range(40)]
        # Out of fds: every one of the 16 is taken.
        expect_within(lambda: open_fds(proc.pid) >= 16, "fds never ran out")
        busy_from = cpu_seconds(proc.pid)
        time.sleep(1.0)
        spent = cpu_seconds(proc.pid) - busy_from
        assert spent < 0.5, "%s spins while out of fds (%.2fs CPU in 1s)" % (server, spent)
        for c in clients:
            c.close()
        expect_within(lambda: open_fds(proc.pid) <= base,
                      "fds not given back after the clients left")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"still here")
            want = b"STILL HERE" if UPPER[server] else b"still here"
            got = b""
            while len(got) < len(want):
                chunk = c.recv(64)
                assert chunk, "%s closed a new client after running out of fds" % server
                got += chunk
            assert got == want, (server, got)
        assert proc.poll() is None, "%s exited" % server
        proc.terminate()
        assert proc.wait(timeout=10) == 0, "%s: exit status on SIGTERM" % server
        print("ok - %s survives running out of fds" % server)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


for name in UPPER:
    check(name)
