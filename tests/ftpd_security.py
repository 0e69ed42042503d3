"""corio-ftpd security rules: the path jail (.., absolute paths, symlinks
out, NUL bytes, overlong names), anonymous read-only access and its upload
directory, per-user roots and permissions from a users file written by
`corio-ftpd passwd`, PORT/EPRT bounce refusal, passive connections only from
the client's address, EPSV ALL, line length, idle timeouts, session limits
and failed-login handling. CIO_TEST_TIMEOUT=60"""

import ftplib
import io
import os
import socket
import subprocess
import time

from ftpd_common import (FTPD, Server, expect, pasv_port, epsv_port)


def refused(f, cmd, code="550"):
    try:
        r = f.sendcmd(cmd)
    except ftplib.error_perm as e:
        r = str(e)
    expect(r.startswith(code), "%s: expected %s, got %s" % (cmd, code, r))


def retr_refused(f, name):
    try:
        f.retrbinary("RETR " + name, lambda b: None)
    except ftplib.error_perm as e:
        return str(e)
    raise AssertionError("RETR %s worked" % name)


def jail(srv):
    outside = os.path.join(srv.tmp, "outside")
    os.makedirs(outside)
    with open(os.path.join(outside, "secret"), "w") as fh:
        fh.write("secret")
    os.symlink(outside, srv.path("out"))
    os.symlink("/etc/passwd", srv.path("passwd"))
    srv.write("in/ok.txt", b"fine")
    os.symlink("in/ok.txt", srv.path("inside-link"))
    f = srv.ftp()
    for name in ("../outside/secret", "/../outside/secret",
                 "../../../../etc/passwd", "out/secret", "passwd",
                 "/out/secret", "in/../../outside/secret"):
        r = retr_refused(f, name)
        expect(r.startswith("550"), "%s: %s" % (name, r))
    got = io.BytesIO()
    f.retrbinary("RETR inside-link", got.write)
    expect(got.getvalue() == b"fine", "symlink inside the root")
    f.cwd("..")
    expect(f.pwd() == "/", ".. stops at the root")
    refused(f, "CWD out")
    refused(f, "CWD /out")
    refused(f, "SIZE /etc/passwd")
    refused(f, "MKD out/newdir")
    refused(f, "DELE out/secret")
    refused(f, "RNFR out/secret")
    refused(f, "SITE CHMOD 777 out/secret")
    try:
        f.storbinary("STOR out/planted", io.BytesIO(b"x"))
        raise AssertionError("STOR through a symlink out")
    except ftplib.error_perm:
        pass
    expect(not os.path.exists(os.path.join(outside, "planted")), "planted")
    try:
        f.retrlines("LIST out", lambda l: None)
        raise AssertionError("LIST through a symlink out")
    except ftplib.error_perm:
        pass
    refused(f, "CWD " + "a" * 300)  # component over NAME_MAX
    refused(f, "SIZE " + "/a" * 2100, "500")  # over the 4 KiB line limit
    refused(f, "STOR " + "b" * 256)  # one byte over NAME_MAX
    expect(os.path.exists(os.path.join(outside, "secret")), "secret kept")
    f.quit()
    # NUL bytes and control characters in arguments: 501.
    r = srv.raw()
    r.cmd("USER alice")
    r.cmd("PASS wonder")
    expect(r.cmd("RETR in/ok.txt\0../../x").startswith("501"), "NUL")
    expect(r.cmd("CWD in\0").startswith("501"), "NUL at the end")
    expect(r.cmd("MKD a\x01b").startswith("501"), "control character")
    expect(r.cmd("NO\0OP").startswith("500"), "NUL in the verb")
    # A 5000-byte line: 500, and the session stays usable.
    r.send("NOOP " + "x" * 5000 + "\r\n")
    expect(r.reply().startswith("500"), "long line")
    expect(r.cmd("NOOP").startswith("200"), "NOOP after a long line")
    r.send(b"\xff\xfb\x01NOOP\r\n")  # Telnet option bytes are ignored
    expect(r.reply().startswith("200"), "Telnet WILL ignored")
    r.cmd("QUIT")


def bounce(srv):
    srv.write("f.txt", b"data")
    r = srv.raw()
    r.cmd("USER alice")
    r.cmd("PASS wonder")
    for cmd in ("PORT 127,0,0,2,200,1", "PORT 10,1,2,3,200,1",
                "PORT 127,0,0,1,0,80", "PORT 127,0,0,1,3,255",
                "EPRT |1|127.0.0.2|51200|", "EPRT |2|::1|51200|",
                "EPRT |1|127.0.0.1|21|"):
        rep = r.cmd(cmd)
        expect(rep.startswith("504"), "%s -> %s" % (cmd, rep))
        expect(r.cmd("RETR f.txt").startswith("425"), "no target after " + cmd)
    # A passive connection from another address is refused, ours accepted.
    rep = r.cmd("EPSV")
    port = epsv_port(rep)
    intruder = socket.socket()
    intruder.bind(("127.0.0.2", 0))
    intruder.connect(("127.0.0.1", port))
    expect(r.cmd("RETR f.txt").startswith("150"), "150")
    intruder.settimeout(5)
    try:
        stolen = intruder.recv(100)
    except ConnectionResetError:
        stolen = b""
    expect(stolen == b"", "data sent to another address: %r" % stolen)
    d = socket.create_connection(("127.0.0.1", port))
    expect(d.recv(100) == b"data", "data to the client")
    d.close()
    expect(r.reply().startswith("226"), "226")
    intruder.close()
    r.cmd("QUIT")


def anonymous(srv):
    srv.write("pub/file.txt", b"public")
    os.makedirs(srv.path("incoming"), exist_ok=True)
    f = srv.ftp("anonymous", "guest@example.org")
    got = io.BytesIO()
    f.retrbinary("RETR pub/file.txt", got.write)
    expect(got.getvalue() == b"public", "anonymous download")
    for cmd in ("MKD x", "DELE pub/file.txt", "RNFR pub/file.txt",
                "SITE CHMOD 777 pub/file.txt", "RMD pub",
                "MFMT 20200101000000 pub/file.txt"):
        refused(f, cmd)
    try:
        f.storbinary("STOR pub/new.txt", io.BytesIO(b"x"))
        raise AssertionError("anonymous STOR outside the upload dir")
    except ftplib.error_perm as e:
        expect(str(e).startswith("550"), str(e))
    f.storbinary("STOR /incoming/drop.txt", io.BytesIO(b"dropped"))
    expect(srv.read("incoming/drop.txt") == b"dropped", "anonymous upload")
    for verb in ("STOR", "APPE"):
        try:
            f.storbinary(verb + " /incoming/drop.txt", io.BytesIO(b"evil"))
            raise AssertionError("anonymous %s replaced a file" % verb)
        except ftplib.error_perm as e:
            expect(str(e)[:3] in ("550", "553"), str(e))
    expect(srv.read("incoming/drop.txt") == b"dropped", "not replaced")
    f.quit()


def users_file(srv_root_parent):
    """Per-user roots and rights; the users file comes from `passwd`."""
    root = os.path.join(srv_root_parent, "uroot")
    os.makedirs(os.path.join(root, "home", "reader"))
    with open(os.path.join(root, "home", "reader", "r.txt"), "w") as fh:
        fh.write("readable")
    lines = []
    for name, pw, uroot, perms in (
            ("reader", "pw1", os.path.join(root, "home", "reader"), "lr"),
            ("writer", "pw2", "", "lrwm")):
        out = subprocess.run([FTPD, "passwd", name, uroot, perms],
                             input=pw + "\n", capture_output=True, text=True,
                             timeout=30)
        expect(out.returncode == 0, out.stderr)
        line = out.stdout.strip()
        expect(line.startswith(name + ":$") and line.endswith(":" + perms),
               line)
        lines.append(line)
    users = os.path.join(srv_root_parent, "users")
    with open(users, "w") as fh:
        fh.write("# test users\n" + "\n".join(lines) + "\n")
    with Server("--users-file", users, root=root, users=()) as srv:
        f = srv.ftp("reader", "pw1")
        expect(f.nlst() == ["r.txt"], "reader's root: %s" % f.nlst())
        try:
            f.storbinary("STOR x.txt", io.BytesIO(b"x"))
            raise AssertionError("reader may not write")
        except ftplib.error_perm as e:
            expect(str(e).startswith("550"), str(e))
        refused(f, "MKD d")
        refused(f, "DELE r.txt")
        f.quit()
        f = srv.ftp("writer", "pw2")
        f.storbinary("STOR w.txt", io.BytesIO(b"w"))
        f.mkd("d")
        refused(f, "DELE w.txt")
        refused(f, "RNFR w.txt")
        f.quit()
        try:
            srv.ftp("reader", "wrong")
            raise AssertionError("wrong password accepted")
        except ftplib.error_perm as e:
            expect(str(e).startswith("530"), str(e))
        try:
            srv.ftp("anonymous", "x")
            raise AssertionError("anonymous is off by default")
        except ftplib.error_perm as e:
            expect(str(e).startswith("530"), str(e))


def limits():
    with Server("--idle-timeout", "1", "--data-timeout", "1",
                "--max-sessions", "3", "--max-per-ip", "2",
                "--max-login-failures", "2", "--login-delay", "300") as srv:
        # Idle control connection: 421 and closed.
        r = srv.raw()
        t0 = time.time()
        rep = r.reply()
        expect(rep.startswith("421"), rep)
        expect(r.closed(), "closed after idle timeout")
        expect(0.5 < time.time() - t0 < 10, "idle timeout timing")
        # Data connection never opened: 425 after the data timeout.
        r = srv.raw()
        r.cmd("USER alice")
        r.cmd("PASS wonder")
        r.cmd("PASV")
        expect(r.cmd("LIST").startswith("150"), "150")
        expect(r.reply().startswith("425"), "425 after data timeout")
        r.close()
        expect(srv.sessions_ended(), "sessions still open")
        # Per-IP limit (2), while another address still gets in.
        a, b = srv.raw(), srv.raw()
        c = srv.raw()
        expect(c.greeting.startswith("421"), c.greeting)
        expect(c.closed(), "closed after 421")
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.connect(("127.0.0.1", srv.port))
        s.settimeout(5)
        g = s.recv(200).decode()
        expect(g.startswith("220"), "other address: " + g)
        # Total limit (3): a fourth session is refused.
        s2 = socket.socket()
        s2.bind(("127.0.0.3", 0))
        s2.connect(("127.0.0.1", srv.port))
        s2.settimeout(5)
        g = s2.recv(200).decode()
        expect(g.startswith("421"), "over max-sessions: " + g)
        for x in (a, b):
            x.close()
        s.close()
        s2.close()
        expect(srv.sessions_ended(), "sessions still open")
        # Failed logins: each waits, the second disconnects.
        r = srv.raw()
        r.cmd("USER alice")
        t0 = time.time()
        expect(r.cmd("PASS bad").startswith("530"), "530")
        expect(time.time() - t0 >= 0.25, "no delay after a failed login")
        r.cmd("USER alice")
        expect(r.cmd("PASS bad").startswith("421"), "421 after 2 failures")
        expect(r.closed(), "closed after failed logins")


def main():
    with Server("--anonymous", "--anon-upload-dir", "/incoming") as srv:
        jail(srv)
        bounce(srv)
        anonymous(srv)
        users_file(srv.tmp)
    limits()
    print("ok")


if __name__ == "__main__":
    main()
