"""corio-ftpd idle sessions are small: 1000 logged-in sessions waiting for
a command (without a task) grow the server's anonymous memory by less
than 1 KiB each, right after the last login and past a short --shrink-after,
with shared stacks and with --own-session-stacks (checked in the normal
build; sanitizers add their own per-allocation cost); the sessions then
wake and work: commands, listings and downloads. CIO_TEST_TIMEOUT=90"""

import io
import os
import socket
import time

from ftpd_common import Server, expect, SAN

IDLE = 1000


def anon_kib(pid):
    """The server's anonymous memory (heap, stacks), in KiB: what sessions
    cost. Not PSS, whose share of the libraries' pages moves as other
    processes that map them come and go."""
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Anonymous:"):
                return int(line.split()[1])
    raise AssertionError("no Anonymous in smaps_rollup")


def settled_anon(pid, after):
    """Anonymous memory once the sessions have been idle `after` seconds (the shrink
    delay) and it has stopped moving: three samples 0.2 s apart within
    64 KiB (at most 20 s)."""
    time.sleep(after)
    samples = [anon_kib(pid)]
    deadline = time.time() + 20
    while time.time() < deadline:
        time.sleep(0.2)
        samples.append(anon_kib(pid))
        if len(samples) >= 3 and max(samples[-3:]) - min(samples[-3:]) < 64:
            return samples[-1]
    raise AssertionError("memory never settled: %s" % samples[-10:])


def login_raw(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"USER anonymous\r\n")
    f.readline()
    s.sendall(b"PASS x@y\r\n")
    line = f.readline()
    expect(line.startswith(b"230"), line)
    return s, f


def check(before, now, after, what):
    for t, kib in (("right after", now), ("later", after)):
        per = (kib - before) * 1024 / IDLE
        print("Memory growth per idle session, %s, %s: %.0f bytes" %
              (what, t, per))
        if not SAN:
            expect(per < 1024, "%.0f bytes per idle session" % per)


def main():
    with Server("--anonymous", "--shrink-after", "200", "--max-per-ip", "0",
                "--max-sessions", "5000", "--quiet", "--own-session-stacks"
                ) as srv:
        base = [login_raw(srv.port) for _ in range(100)]
        before = settled_anon(srv.proc.pid, 0.2)
        more = [login_raw(srv.port) for _ in range(IDLE)]
        now = anon_kib(srv.proc.pid)
        check(before, now, settled_anon(srv.proc.pid, 0.2), "own stacks")
        for s, f in base + more:
            s.close()
    with Server("--anonymous", "--shrink-after", "200", "--max-per-ip", "0",
                "--max-sessions", "5000", "--quiet") as srv:
        srv.write("data.bin", os.urandom(300000))
        base = [login_raw(srv.port) for _ in range(100)]
        before = settled_anon(srv.proc.pid, 0.2)
        more = [login_raw(srv.port) for _ in range(IDLE)]
        now = anon_kib(srv.proc.pid)
        after = settled_anon(srv.proc.pid, 0.2)  # past the shrink delay
        check(before, now, after, "shared stacks")
        # Every shrunk session wakes up and answers.
        for s, f in base + more:
            s.sendall(b"NOOP\r\n")
        for s, f in base + more:
            line = f.readline()
            expect(line.startswith(b"200"), line)
        # Full sessions after a long idle: listing and download.
        ftps = [srv.ftp("anonymous", "x@y") for _ in range(5)]
        settled_anon(srv.proc.pid, 0.2)
        for f in ftps:
            expect(f.nlst() == ["data.bin"], "listing after idle")
            got = io.BytesIO()
            f.retrbinary("RETR data.bin", got.write)
            expect(got.getvalue() == srv.read("data.bin"), "download")
            f.quit()
        for s, f in base + more:
            s.close()
    print("ok")


if __name__ == "__main__":
    main()
