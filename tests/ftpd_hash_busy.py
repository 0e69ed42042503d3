"""corio-ftpd's HASH never holds up a login: eight sessions hash a big
(sparse) file while another client logs in with a password, which must
complete within a bound. HASH is cancelled by ABOR and QUIT (the reply comes
at once, not when the hash would end), and stops at --hash-timeout.
CIO_TEST_TIMEOUT=120"""

import socket
import threading
import time

from ftpd_common import Server, expect, skip

BIG = 16 << 30  # sparse: reading it costs CPU, not disk


def hashing(srv, n):
    """n sessions, each with a HASH of big.bin under way."""
    conns = []
    for _ in range(n):
        r = srv.raw(timeout=120)
        r.cmd("USER alice")
        expect(r.cmd("PASS wonder").startswith("230"), "login")
        r.send("HASH big.bin\r\n")
        conns.append(r)
    return conns


def busy_login(srv):
    conns = hashing(srv, 8)
    time.sleep(0.5)  # let the hashes start reading (a lower bound only)
    t0 = time.time()
    f = srv.ftp(timeout=60)
    took = time.time() - t0
    f.quit()
    expect(took < 3.0, "login took %.2f s while HASH ran" % took)
    for r in conns:
        r.close()


def abort_and_quit(srv):
    r = srv.raw(timeout=30)
    r.cmd("USER alice")
    r.cmd("PASS wonder")
    r.send("HASH big.bin\r\n")
    time.sleep(0.2)
    t0 = time.time()
    r.send(b"\xff\xf4\xff\xf2ABOR\r\n")  # IAC IP IAC DM, as clients send it
    rep = r.reply()
    expect(rep.startswith("451") and time.time() - t0 < 5,
           "HASH after ABOR: %r" % rep)
    expect(r.reply()[:1] == "2", "ABOR answered")
    expect(r.cmd("NOOP").startswith("200"), "session usable after ABOR")
    r.send("HASH big.bin\r\nQUIT\r\n")
    t0 = time.time()
    rep = r.reply()
    expect(rep.startswith("451") and time.time() - t0 < 5,
           "HASH after QUIT: %r" % rep)
    expect(r.reply().startswith("221"), "QUIT answered")
    expect(r.closed(), "closed after QUIT")
    # A client that leaves mid-HASH: its hash stops, others are served.
    conns = hashing(srv, 4)
    for c in conns:
        c.close()
    f = srv.ftp(timeout=30)
    expect(f.sendcmd("HASH small.txt").startswith("213"), "small HASH")
    # Abandoned hashes and finished ones in turn: the fds of each HASH are
    # closed by their owners, so a later HASH never waits on a stale one.
    for _ in range(5):
        for c in hashing(srv, 1):
            c.close()
        expect(f.sendcmd("HASH small.txt").startswith("213"), "small HASH")
    f.quit()


def timeout():
    with Server("--hash-timeout", "1") as srv:
        with open(srv.path("big.bin"), "wb") as f:
            f.truncate(BIG)
        r = srv.raw(timeout=30)
        r.cmd("USER alice")
        r.cmd("PASS wonder")
        t0 = time.time()
        rep = r.cmd("HASH big.bin")
        expect(rep.startswith("451") and time.time() - t0 < 10,
               "HASH past its limit: %r after %.1f s" % (rep, time.time() - t0))
        r.cmd("QUIT")


def main():
    with Server() as srv:
        f = srv.ftp()
        if "HASH" not in f.sendcmd("FEAT"):
            f.quit()
            skip("built without libcrypto: no HASH")
        f.quit()
        with open(srv.path("big.bin"), "wb") as f:
            f.truncate(BIG)
        srv.write("small.txt", b"abc")
        busy_login(srv)
        abort_and_quit(srv)
    timeout()
    print("ok")


if __name__ == "__main__":
    main()
