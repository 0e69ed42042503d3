"""corio-ftpd protocol details: passive ports chosen at random within the
range (RFC 2577 section 7) and still found when most are taken.
CIO_TEST_TIMEOUT=60"""

import random
import socket

from ftpd_common import Server, expect, pasv_port, epsv_port


def login(srv):
    r = srv.raw()
    r.cmd("USER alice")
    expect(r.cmd("PASS wonder").startswith("230"), "login")
    return r


def free_base():
    """A random range start below the ephemeral ports (32768 and up), which
    the test's own connections use."""
    return random.randint(10000, 30000)


def random_passive_ports():
    base = free_base()
    with Server("--pasv-ports", "%d-%d" % (base, base + 999)) as srv:
        r = login(srv)
        ports = []
        for i in range(24):
            rep = r.cmd("PASV" if i % 2 else "EPSV")
            expect(rep[:3] in ("227", "229"), rep)
            ports.append(pasv_port(rep) if i % 2 else epsv_port(rep))
        expect(all(base <= p <= base + 999 for p in ports), ports)
        steps = [b - a for a, b in zip(ports, ports[1:])]
        # Random picks in 1000 ports: a step of +1 has odds of 1/1000.
        expect(sum(1 for d in steps if d == 1) <= 3,
               "consecutive ports: %r" % ports)
        expect(len(set(steps)) > len(steps) // 2, "a pattern: %r" % ports)
        r.cmd("QUIT")
    # Four ports, three of them taken: every PASV finds the free one, and
    # with all four taken the answer is 425.
    base = free_base()
    taken = []
    try:
        for p in range(base, base + 3):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", p))
            s.listen(1)
            taken.append(s)
    except OSError:
        for s in taken:
            s.close()
        return random_passive_ports()  # a port of the range was in use
    with Server("--pasv-ports", "%d-%d" % (base, base + 3)) as srv:
        r = login(srv)
        for _ in range(6):
            rep = r.cmd("EPSV")
            expect(rep.startswith("229") and epsv_port(rep) == base + 3, rep)
        # The session's own listener holds the last port now.
        r2 = login(srv)
        rep = r2.cmd("EPSV")
        expect(rep.startswith("425"), "all ports taken: %r" % rep)
        r2.cmd("QUIT")
        r.cmd("QUIT")
    for s in taken:
        s.close()


def main():
    random_passive_ports()
    print("ok")


if __name__ == "__main__":
    main()
