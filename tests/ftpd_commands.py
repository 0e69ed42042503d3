"""corio-ftpd: every command of RFC 959/2389/2428/3659 plus HASH and MFMT,
with Python's ftplib and a raw control connection, and the replies' codes
and multi-line forms. CIO_TEST_TIMEOUT=60"""

import ftplib
import hashlib
import io
import os
import socket
import time

from ftpd_common import Server, expect, pasv_port, epsv_port


def codes(text):
    return text[:3]


def login_and_state(srv):
    r = srv.raw()
    expect(r.greeting.startswith("220 "), r.greeting)
    # Before login: only the connection verbs work.
    expect(codes(r.cmd("PWD")) == "530", "PWD before login")
    expect(codes(r.cmd("LIST")) == "530", "LIST before login")
    expect(codes(r.cmd("PASS x")) == "503", "PASS before USER")
    expect(codes(r.cmd("SYST")) == "215", "SYST")
    expect(codes(r.cmd("NOOP")) == "200", "NOOP")
    expect(codes(r.cmd("FOO bar")) == "500", "unknown verb")
    expect(codes(r.cmd("")) == "500", "empty line")
    expect(codes(r.cmd("USER")) == "501", "USER without name")
    feat = r.cmd("FEAT")
    expect(feat.startswith("211-") and feat.endswith("211 End"), feat)
    for f in ("EPSV", "EPRT", "MDTM", "SIZE", "REST STREAM", "MLST", "UTF8",
              "MFMT", "HASH SHA-256"):
        expect(f in feat, "FEAT lacks " + f)
    h = r.cmd("HELP")
    expect(h.startswith("214-") and h.split("\n")[-1].startswith("214 "), h)
    expect(codes(r.cmd("HELP RETR")) == "214", "HELP RETR")
    expect(codes(r.cmd("HELP XYZZY")) == "502", "HELP unknown")
    expect(codes(r.cmd("OPTS UTF8 ON")) == "200", "OPTS UTF8 ON")
    expect(codes(r.cmd("OPTS FOO")) == "501", "OPTS FOO")
    # Wrong password, then the right one; lower-case verbs work.
    expect(codes(r.cmd("USER alice")) == "331", "USER")
    expect(codes(r.cmd("PASS nope")) == "530", "bad password")
    expect(codes(r.cmd("user alice")) == "331", "user")
    expect(codes(r.cmd("pass wonder")) == "230", "good password")
    expect(codes(r.cmd("PASS wonder")) == "230", "PASS when logged in")
    expect(codes(r.cmd("ACCT x")) == "202", "ACCT")
    expect(codes(r.cmd("ALLO 100")) == "202", "ALLO")
    expect(codes(r.cmd("MODE S")) == "200", "MODE S")
    expect(codes(r.cmd("MODE B")) == "504", "MODE B")
    expect(codes(r.cmd("MODE Q")) == "501", "MODE Q")
    expect(codes(r.cmd("STRU F")) == "200", "STRU F")
    expect(codes(r.cmd("STRU R")) == "504", "STRU R")
    expect(codes(r.cmd("TYPE A")) == "200", "TYPE A")
    expect(codes(r.cmd("TYPE A N")) == "200", "TYPE A N")
    expect(codes(r.cmd("TYPE L 8")) == "200", "TYPE L 8")
    expect(codes(r.cmd("TYPE E")) == "504", "TYPE E")
    expect(codes(r.cmd("TYPE Z")) == "501", "TYPE Z")
    expect(codes(r.cmd("TYPE I")) == "200", "TYPE I")
    expect(codes(r.cmd("PWD x")) == "501", "PWD with an argument")
    st = r.cmd("STAT")
    expect(st.startswith("211-") and "alice" in st and
           st.split("\n")[-1].startswith("211 "), st)
    # REIN logs out but keeps the connection.
    expect(codes(r.cmd("REIN")) == "220", "REIN")
    expect(codes(r.cmd("PWD")) == "530", "PWD after REIN")
    expect(codes(r.cmd("USER alice")) == "331", "USER again")
    expect(codes(r.cmd("PASS wonder")) == "230", "PASS again")
    expect(codes(r.cmd("QUIT")) == "221", "QUIT")
    expect(r.closed(), "closed after QUIT")


def navigation(srv):
    srv.write("d1/d2/file.txt", b"abc")
    f = srv.ftp()
    expect(f.pwd() == "/", "pwd")
    expect(f.cwd("d1").startswith("250"), "cwd")
    expect(f.pwd() == "/d1", "pwd d1")
    f.cwd("d2")
    expect(f.pwd() == "/d1/d2", "pwd d2")
    expect(f.sendcmd("CDUP").startswith("250"), "cdup")
    expect(f.pwd() == "/d1", "after cdup")
    expect(f.sendcmd("XPWD").startswith('257 "/d1"'), "XPWD")
    f.cwd("/")
    f.sendcmd("CDUP")
    expect(f.pwd() == "/", "cdup at root stays")
    for bad in ("nosuch", "d1/d2/file.txt"):
        try:
            f.cwd(bad)
            raise AssertionError("cwd %s worked" % bad)
        except ftplib.error_perm as e:
            expect(str(e).startswith("550"), str(e))
    # MKD / RMD / DELE / RNFR / RNTO
    expect(f.mkd("new dir") == "/new dir", "mkd with a space")
    f.mkd('q"uote')
    expect(f.sendcmd('MKD x"y').startswith('257 "/x""y" created'), "quoted")
    f.cwd("/new dir")
    expect(f.pwd() == "/new dir", "pwd with space")
    f.cwd("/")
    f.rmd("new dir")
    f.rmd('q"uote')
    f.rmd('x"y')
    try:
        f.rmd("d1")
        raise AssertionError("rmd of a non-empty dir worked")
    except ftplib.error_perm as e:
        expect(str(e).startswith("550"), str(e))
    srv.write("del.me", b"x")
    f.delete("del.me")
    expect(not os.path.exists(srv.path("del.me")), "deleted")
    try:
        f.delete("d1")
        raise AssertionError("DELE of a dir worked")
    except ftplib.error_perm:
        pass
    srv.write("a.txt", b"A")
    expect(codes(f.sendcmd("RNFR a.txt")) == "350", "RNFR")
    expect(codes(f.sendcmd("RNTO b.txt")) == "250", "RNTO")
    expect(srv.read("b.txt") == b"A", "renamed")
    try:
        f.sendcmd("RNTO c.txt")
        raise AssertionError("RNTO without RNFR")
    except ftplib.error_perm as e:
        expect(str(e).startswith("503"), str(e))
    f.sendcmd("RNFR b.txt")
    f.sendcmd("NOOP")  # anything else cancels the rename
    try:
        f.sendcmd("RNTO c.txt")
        raise AssertionError("RNTO after NOOP")
    except ftplib.error_perm as e:
        expect(str(e).startswith("503"), str(e))
    try:
        f.sendcmd("RNFR nosuch")
        raise AssertionError("RNFR of a missing file")
    except ftplib.error_perm as e:
        expect(str(e).startswith("550"), str(e))
    # SIZE, MDTM, MFMT, SITE CHMOD, HASH, MLST, STAT path
    data = os.urandom(100000)
    srv.write("s.bin", data)
    expect(f.size("s.bin") == 100000, "size")
    try:
        f.size("d1")
        raise AssertionError("SIZE of a dir")
    except ftplib.error_perm:
        pass
    r = f.sendcmd("MFMT 20200102030405 s.bin")
    expect(r == "213 Modify=20200102030405; /s.bin", r)
    expect(f.sendcmd("MDTM s.bin") == "213 20200102030405", "MDTM")
    expect(int(os.stat(srv.path("s.bin")).st_mtime) == 1577934245, "mtime")
    for bad in ("MFMT 2020 s.bin", "MFMT 20201302030405 s.bin", "MFMT x"):
        try:
            f.sendcmd(bad)
            raise AssertionError(bad)
        except ftplib.error_perm as e:
            expect(str(e).startswith("501"), str(e))
    expect(codes(f.sendcmd("SITE CHMOD 600 s.bin")) == "200", "chmod")
    expect(os.stat(srv.path("s.bin")).st_mode & 0o777 == 0o600, "mode")
    for bad in ("SITE CHMOD 99 s.bin", "SITE CHMOD 644"):
        try:
            f.sendcmd(bad)
            raise AssertionError(bad)
        except ftplib.error_perm as e:
            expect(str(e).startswith("501"), str(e))
    expect(f.sendcmd("SITE HELP").startswith("214"), "SITE HELP")
    h = f.sendcmd("HASH s.bin")
    expect(h == "213 SHA-256 0-100000 %s /s.bin" %
           hashlib.sha256(data).hexdigest(), h)
    expect(f.sendcmd("OPTS HASH").startswith("200 SHA-256"), "OPTS HASH")
    m = f.sendcmd("MLST s.bin")
    lines = m.split("\n")
    expect(lines[0].startswith("250-") and lines[-1].startswith("250 "), m)
    expect("size=100000;" in lines[1] and "type=file;" in lines[1] and
           lines[1].startswith(" ") and lines[1].endswith(" /s.bin"), m)
    m = f.sendcmd("MLST")
    expect("type=dir" in m, m)
    st = f.sendcmd("STAT d1")
    expect(st.startswith("213-") and "d2" in st and
           st.split("\n")[-1].startswith("213 "), st)
    f.quit()


def listings(srv):
    srv.write("list/a.txt", b"12345")
    srv.write("list/.hidden", b"h")
    os.mkdir(srv.path("list", "sub"))
    open(srv.path("list", ".up.bin.a1B2c3.part"), "w").close()
    f = srv.ftp()
    lines = []
    f.retrlines("LIST list", lines.append)
    expect(len(lines) == 2, lines)  # dot files only with -a
    a = [l for l in lines if l.endswith(" a.txt")][0]
    expect(a.startswith("-rw") and " 5 " in a, a)
    expect([l for l in lines if l.endswith(" sub")][0].startswith("d"), lines)
    lines = []
    f.retrlines("LIST -la list", lines.append)
    expect(any(l.endswith(" .hidden") for l in lines), lines)
    expect(not any(".part" in l for l in lines), "upload in progress shown")
    lines = []
    f.retrlines("LIST list/a.txt", lines.append)
    expect(len(lines) == 1 and lines[0].endswith(" a.txt"), lines)
    expect(sorted(f.nlst("list")) == ["a.txt", "sub"],
           f.nlst("list"))
    facts = dict(f.mlsd("list"))
    expect(facts["a.txt"]["size"] == "5" and facts["sub"]["type"] == "dir",
           facts)
    try:
        list(f.mlsd("list/a.txt"))
        raise AssertionError("MLSD of a file")
    except ftplib.error_perm as e:
        expect(str(e).startswith("501"), str(e))
    try:
        f.retrlines("LIST nosuch")
        raise AssertionError("LIST of a missing dir")
    except ftplib.error_perm as e:
        expect(str(e).startswith("550"), str(e))
    f.quit()


def data_channel_commands(srv):
    srv.write("p.bin", b"port test")
    r = srv.raw()
    r.cmd("USER alice")
    r.cmd("PASS wonder")
    expect(codes(r.cmd("RETR p.bin")) == "425", "RETR without PASV")
    # PASV then RETR over a raw data connection.
    rep = r.cmd("PASV")
    expect(rep.startswith("227 Entering Passive Mode (127,0,0,1,"), rep)
    d = socket.create_connection(("127.0.0.1", pasv_port(rep)))
    expect(codes(r.cmd("RETR p.bin")) == "150", "150")
    got = b""
    while True:
        c = d.recv(65536)
        if not c:
            break
        got += c
    expect(got == b"port test", got)
    expect(codes(r.reply()) == "226", "226")
    # EPSV with and without a protocol number.
    for arg in ("", " 1"):
        rep = r.cmd("EPSV" + arg)
        expect(rep.startswith("229 "), rep)
        d = socket.create_connection(("127.0.0.1", epsv_port(rep)))
        expect(codes(r.cmd("NLST")) == "150", "NLST")
        d.recv(100)
        d.close()
        expect(codes(r.reply()) == "226", "226 after NLST")
    expect(codes(r.cmd("EPSV 2")) == "522", "EPSV 2 on IPv4")
    expect(codes(r.cmd("EPSV x")) == "501", "EPSV x")
    # Active mode with PORT and EPRT.
    for verb in ("PORT", "EPRT"):
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        p = ls.getsockname()[1]
        if verb == "PORT":
            arg = "127,0,0,1,%d,%d" % (p >> 8, p & 255)
        else:
            arg = "|1|127.0.0.1|%d|" % p
        expect(codes(r.cmd("%s %s" % (verb, arg))) == "200", verb)
        expect(codes(r.cmd("RETR p.bin")) == "150", "150 active")
        c, _ = ls.accept()
        got = b""
        while True:
            b = c.recv(65536)
            if not b:
                break
            got += b
        expect(got == b"port test", got)
        expect(codes(r.reply()) == "226", "226 active")
        c.close()
        ls.close()
    expect(codes(r.cmd("EPRT |3|x|1|")) == "522", "EPRT proto 3")
    expect(codes(r.cmd("EPRT garbage")) == "501", "EPRT garbage")
    expect(codes(r.cmd("PORT 1,2,3")) == "501", "PORT short")
    expect(codes(r.cmd("PORT 127,0,0,1,4,256")) == "501", "PORT 256")
    # ABOR with nothing running.
    expect(codes(r.cmd("ABOR")) == "225", "ABOR idle")
    # EPSV ALL refuses the others.
    expect(codes(r.cmd("EPSV ALL")) == "200", "EPSV ALL")
    for c in ("PASV", "PORT 127,0,0,1,200,1", "EPRT |1|127.0.0.1|51201|"):
        expect(codes(r.cmd(c)) == "503", c + " after EPSV ALL")
    expect(codes(r.cmd("EPSV")) == "229", "EPSV after EPSV ALL")
    r.cmd("QUIT")


def ipv6():
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        print("no IPv6 loopback: IPv6 part skipped")
        return
    with Server(host="::1") as srv:
        srv.write("six.txt", b"over IPv6")
        f = srv.ftp()
        got = io.BytesIO()
        f.retrbinary("RETR six.txt", got.write)  # ftplib uses EPSV on IPv6
        expect(got.getvalue() == b"over IPv6", "EPSV over IPv6")
        f.set_pasv(False)  # EPRT |2|::1|port|
        got = io.BytesIO()
        f.retrbinary("RETR six.txt", got.write)
        expect(got.getvalue() == b"over IPv6", "EPRT over IPv6")
        f.quit()
        r = srv.raw()
        r.cmd("USER alice")
        r.cmd("PASS wonder")
        expect(r.cmd("PASV").startswith("425"), "PASV over IPv6")
        expect(r.cmd("EPSV 1").startswith("522"), "EPSV 1 over IPv6")
        expect(r.cmd("PORT 127,0,0,1,200,1").startswith("504"), "PORT v4")
        r.cmd("QUIT")


def main():
    ipv6()
    with Server("--anonymous") as srv:
        login_and_state(srv)
        navigation(srv)
        listings(srv)
        data_channel_commands(srv)
        f = srv.ftp("anonymous", "me@example.org")
        f.quit()
    print("ok")


if __name__ == "__main__":
    main()
