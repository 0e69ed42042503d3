"""corio-ftpd sessions waiting for a command have no task (a watch on the
control connection starts one when the client sends): what must still
hold. Pipelined commands more than one read takes (10,000 NOOPs in one
send, the first read ending at a line's end) are all answered, as are commands cut into single bytes; idle
timeouts end each session at its own time (one that sent a command later
lives longer) and follow a SIGHUP that shortens them; SIGTERM answers 421
to 200 idle sessions at once and the server exits; clients that hang up
while idle are all ended. CIO_TEST_TIMEOUT=90"""

import os
import signal
import socket
import tempfile
import time

from ftpd_common import Server, expect, SAN

SLOW = 3 if SAN else 1


def login(srv):
    r = srv.raw()
    expect(r.cmd("USER anonymous").startswith("331"), "USER")
    expect(r.cmd("PASS x@y").startswith("230"), "PASS")
    return r


def pipelined(srv):
    r = login(srv)
    # 60 KB at once, the first 4 KiB (the command buffer) whole lines: a
    # read ends at a line's end with more waiting in the socket, which no
    # watch would announce again.
    block = b"NOOP\r\n" * 678 + b"NOOP \r\n" * 4
    expect(len(block) == 4096, "block of 4 KiB")
    n = 10000
    r.send(block + b"NOOP\r\n" * (n - 682))
    for i in range(n):
        line = r.line()
        expect(line.startswith("200"), "NOOP %d: %r" % (i, line))
    # A command a byte at a time, with pauses: the session waits with a
    # part of a line, then answers.
    for b in b"PWD\r\n":
        r.send(bytes([b]))
        time.sleep(0.02)
    expect(r.reply().startswith('257 "/"'), "PWD sent byte by byte")
    expect(r.cmd("NOOP").startswith("200"), "NOOP after")
    r.close()


def timeouts():
    with Server("--anonymous", "--idle-timeout", "2") as srv:
        a = login(srv)
        b = login(srv)
        t0 = time.time()
        time.sleep(1)
        expect(b.cmd("NOOP").startswith("200"), "b NOOP")  # b idles from here
        expect(a.reply().startswith("421"), "a timed out")
        ta = time.time() - t0
        expect(1.5 < ta < 2 + 1.5 * SLOW, "a ended after %.1f s" % ta)
        expect(b.reply().startswith("421"), "b timed out")
        tb = time.time() - t0
        expect(tb - ta > 0.5, "b ended %.1f s after a" % (tb - ta))
        expect(a.closed() and b.closed(), "both closed")
        expect(srv.sessions_ended(), "sessions ended")


def timeout_reload():
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "ftpd.conf")
        with open(conf, "w") as f:
            f.write("idle_timeout = 60\n")
        with Server("--anonymous", "--config", conf) as srv:
            rs = [login(srv) for _ in range(5)]
            with open(conf, "w") as f:
                f.write("idle_timeout = 1\n")
            srv.proc.send_signal(signal.SIGHUP)
            t0 = time.time()
            for r in rs:
                expect(r.reply().startswith("421"), "timed out after reload")
            took = time.time() - t0
            expect(took < 4 * SLOW, "the shorter timeout took %.1f s" % took)


def shutdown():
    srv = Server("--anonymous", "--max-per-ip", "0", "--grace", "30")
    try:
        rs = [login(srv) for _ in range(200)]
        t0 = time.time()
        srv.proc.send_signal(signal.SIGTERM)
        for r in rs:
            expect(r.reply().startswith("421"), "421 on SIGTERM")
        srv.stop()  # checks the exit status (and leaks under ASan)
        took = time.time() - t0
        expect(took < 5 * SLOW, "stopped after %.1f s" % took)
    finally:
        srv.cleanup()


def hangups():
    with Server("--anonymous", "--max-per-ip", "0") as srv:
        rs = [login(srv) for _ in range(100)]
        for r in rs:
            r.sock.shutdown(socket.SHUT_WR)
        for r in rs:
            expect(r.closed(), "closed after the client's end")
        expect(srv.sessions_ended(), "every session ended")
        expect(login(srv).cmd("NOOP").startswith("200"), "a new one works")


def main():
    with Server("--anonymous") as srv:
        pipelined(srv)
    timeouts()
    timeout_reload()
    shutdown()
    hangups()
    print("ok")


if __name__ == "__main__":
    main()
