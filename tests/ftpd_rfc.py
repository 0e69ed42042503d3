"""corio-ftpd protocol details: passive ports chosen at random within the
range (RFC 2577 section 7) and still found when most are taken; RFC 3659's
MLSD on a file (501) and OPTS MLST choosing the facts of MLST and MLSD
(with ftplib's mlsd(facts=...)), which FEAT lists with a * on the chosen
ones. CIO_TEST_TIMEOUT=60"""

import ftplib
import os
import random
import re
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


ALL_FACTS = ["modify", "perm", "size", "type", "unique", "UNIX.mode"]


def feat_facts(f):
    feat = f.sendcmd("FEAT")
    m = re.search(r"^ MLST (\S+)$", feat, re.M)
    expect(m, feat)
    return m.group(1)


def mlst_facts(f, path):
    """The fact names of MLST path's entry line."""
    lines = f.sendcmd("MLST " + path).splitlines()
    expect(len(lines) == 3 and lines[1].startswith(" "), lines)
    facts, _, name = lines[1][1:].partition(" ")
    expect(name == "/" + path, lines[1])
    return [kv.split("=")[0] for kv in facts.split(";") if kv]


def answer(f, cmd):
    """The reply to cmd, an error reply included."""
    try:
        return f.sendcmd(cmd)
    except ftplib.Error as e:
        return str(e)


def mlst_options():
    with Server() as srv:
        srv.write("file.txt", b"hello")
        os.mkdir(srv.path("sub"))
        f = srv.ftp()
        # MLSD on a file is a syntax error, with or without PASV first.
        for pasv in (False, True):
            if pasv:
                f.sendcmd("PASV")
            rep = answer(f, "MLSD file.txt")
            expect(rep.startswith("501"), "MLSD on a file: %r" % rep)
        f.sendcmd("ABOR")
        expect(feat_facts(f) == "".join(n + "*;" for n in ALL_FACTS),
               feat_facts(f))
        expect(mlst_facts(f, "file.txt") == ALL_FACTS,
               mlst_facts(f, "file.txt"))
        # ftplib sends OPTS MLST itself; entries carry just those facts.
        entries = dict(f.mlsd("/", facts=["type", "size"]))
        expect(set(entries) == {"file.txt", "sub"}, entries)
        expect(entries["file.txt"] == {"type": "file", "size": "5"},
               entries["file.txt"])
        expect(entries["sub"] == {"type": "dir"}, entries["sub"])
        expect(feat_facts(f) == "modify;perm;size*;type*;unique;UNIX.mode;",
               feat_facts(f))
        expect(mlst_facts(f, "file.txt") == ["size", "type"], "MLST")
        # Names are case-insensitive, unknown ones ignored; the reply lists
        # what is selected.
        rep = f.sendcmd("OPTS MLST UNIX.MODE;nosuch;Modify;")
        expect(rep == "200 MLST OPTS modify;UNIX.mode;", rep)
        expect(mlst_facts(f, "file.txt") == ["modify", "UNIX.mode"], "MLST")
        rep = f.sendcmd("OPTS MLST")
        expect(rep == "200 MLST OPTS ", rep)
        expect(mlst_facts(f, "file.txt") == [], "no facts")
        f.quit()


def main():
    random_passive_ports()
    mlst_options()
    print("ok")


if __name__ == "__main__":
    main()
