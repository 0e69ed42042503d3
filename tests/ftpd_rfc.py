"""corio-ftpd protocol details: passive ports chosen at random within the
range (RFC 2577 section 7) and still found when most are taken; RFC 3659's
MLSD on a file (501) and OPTS MLST choosing the facts of MLST and MLSD
(with ftplib's mlsd(facts=...)), which FEAT lists with a * on the chosen
ones; globs in NLST and LIST (*, ?, [...] in the last component, dot
files only for a leading dot, a name with a * in it listed as it is, at
most 10000 names) with ftplib and tnftp's `mget *.txt` (when installed);
EPRT with the unspecified address (|1|0.0.0.0|, |2|::|) naming the client's
own, over IPv4 and IPv6, and lftp's IPv6 active mode. CIO_TEST_TIMEOUT=90"""

import ftplib
import os
import random
import re
import shutil
import socket
import subprocess
import tempfile

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


def globs():
    with Server() as srv:
        for name in ("a.txt", "b.txt", "c.dat", ".hidden.txt", "ab1", "ab2",
                     "abc", "q[1]", "q1", "sub/d.txt", "sub/e.log", "many/keep"):
            srv.write(name, name.encode())
        f = srv.ftp()
        expect(sorted(f.nlst("*.txt")) == ["a.txt", "b.txt"], f.nlst("*.txt"))
        expect(sorted(f.nlst("ab?")) == ["ab1", "ab2", "abc"], "?")
        expect(sorted(f.nlst("ab[12]")) == ["ab1", "ab2"], "[...]")
        expect(sorted(f.nlst("ab[!12]")) == ["abc"], "[!...]")
        expect(f.nlst(".*.txt") == [".hidden.txt"], "leading dot")
        expect(f.nlst("sub/*.txt") == ["sub/d.txt"], f.nlst("sub/*.txt"))
        expect(f.nlst("/sub/*") == ["/sub/d.txt", "/sub/e.log"] or
               sorted(f.nlst("/sub/*")) == ["/sub/d.txt", "/sub/e.log"],
               f.nlst("/sub/*"))
        expect(f.nlst("*.none") == [], "no match: empty")
        # An existing name is listed as it is (NLST of a file gives its
        # path), not taken for a pattern.
        expect(f.nlst("q[1]") == ["/q[1]"], f.nlst("q[1]"))
        lines = []
        f.retrlines("LIST *.txt", lines.append)
        expect(len(lines) == 2 and lines[0].startswith("-") and
               sorted(ln.split()[-1] for ln in lines) == ["a.txt", "b.txt"],
               lines)
        rep = answer(f, "NLST " + "*a" * 9)
        expect(rep.startswith("501"), "nine stars: %r" % rep)
        f.sendcmd("PASV")
        rep = answer(f, "NLST nodir/*.txt")
        expect(rep.startswith("550"), "no such directory: %r" % rep)
        # A bounded count: 10001 matches list 10000 and say so.
        for i in range(10001):
            open(srv.path("many", "f%05d" % i), "w").close()
        names = []
        end = f.retrlines("NLST many/f*", names.append)
        expect(len(names) == 10000, "%d names" % len(names))
        expect(end.startswith("226") and "first 10000" in end, end)
        f.quit()
        tnftp_mget(srv)


def client(args, what, stdin=None):
    """Runs an optional FTP client; None (with a note) when missing."""
    if not shutil.which(args[0]):
        print("note: %s not installed; %s not run" % (args[0], what))
        return None
    return subprocess.run(args, input=stdin, text=True, capture_output=True,
                          timeout=60)


def tnftp_mget(srv):
    with tempfile.TemporaryDirectory() as local:
        script = ("open 127.0.0.1 %d\nuser alice wonder\nbinary\n"
                  "lcd %s\nmget *.txt\nbye\n" % (srv.port, local))
        r = client(["tnftp", "-n", "-i"], "mget", script)
        if not r:
            return
        got = sorted(os.listdir(local))
        expect(got == ["a.txt", "b.txt"],
               "tnftp mget *.txt: %r\n%s%s" % (got, r.stdout, r.stderr))
        with open(os.path.join(local, "a.txt")) as fh:
            expect(fh.read() == "a.txt", "content")


def eprt_retr(r, fam, host, spec):
    """EPRT spec<port>| to a listener of ours, then RETR f.txt over it."""
    lsn = socket.socket(fam)
    lsn.bind((host, 0))
    lsn.listen(1)
    lsn.settimeout(10)
    port = lsn.getsockname()[1]
    rep = r.cmd("EPRT %s%d|" % (spec, port))
    expect(rep.startswith("200"), "EPRT %s: %r" % (spec, rep))
    expect(r.cmd("RETR f.txt").startswith("150"), "150")
    conn, _ = lsn.accept()
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    conn.close()
    lsn.close()
    expect(data == b"hello eprt", data)
    expect(r.reply().startswith("226"), "226")


def eprt_unspecified():
    cases = [("127.0.0.1", socket.AF_INET, ["|1|0.0.0.0|", "|2|::|"])]
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
        cases.append(("::1", socket.AF_INET6, ["|2|::|"]))
    except OSError:
        print("note: no IPv6 loopback; EPRT |2|::| over IPv6 not run")
    for host, fam, specs in cases:
        with Server("--workers", "1", host=host) as srv:
            srv.write("f.txt", b"hello eprt")
            r = login(srv)
            for spec in specs:
                eprt_retr(r, fam, host, spec)
            # Any other address is still refused (RFC 2577).
            rep = r.cmd("EPRT |1|10.1.2.3|5000|")
            expect(rep.startswith("504"), "other host: %r" % rep)
            r.cmd("QUIT")
            if fam == socket.AF_INET6:
                lftp_active(srv)


def lftp_active(srv):
    r = client(["lftp", "-d", "-e", "set ftp:passive-mode off; "
                "set net:max-retries 1; cat f.txt; bye", "-u", "alice,wonder",
                "ftp://[::1]:%d" % srv.port], "IPv6 active mode")
    if not r:
        return
    expect("hello eprt" in r.stdout, r.stdout + r.stderr)
    expect("EPRT |2|::|" in r.stderr and "200 EPRT" in r.stderr,
           "lftp did not use EPRT |2|::|:\n" + r.stderr)


def main():
    random_passive_ports()
    mlst_options()
    globs()
    eprt_unspecified()
    print("ok")


if __name__ == "__main__":
    main()
