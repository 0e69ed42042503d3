"""corio-ftpd: what an upload right does not include. Anonymous sessions
with an upload directory never change modes or times (SITE CHMOD, MFMT),
not even of files they uploaded; no session sets setuid, setgid or sticky
bits; SITE CHMOD modes are masked by the server's umask; an anonymous
upload never replaces a file that appears under its name while the data
is still coming (the commit refuses with 553). CIO_TEST_TIMEOUT=60"""

import ftplib
import io
import os
import stat

from ftpd_common import Server, expect, upload_start, wait_until


def answer(f, cmd):
    try:
        return f.sendcmd(cmd)
    except ftplib.Error as e:
        return str(e)


def mode_of(srv, name):
    return stat.S_IMODE(os.stat(srv.path(name)).st_mode)


def anonymous_attrs(srv):
    srv.write("incoming/victim.txt", b"someone else's")
    os.chmod(srv.path("incoming/victim.txt"), 0o644)
    before = os.stat(srv.path("incoming/victim.txt"))
    f = srv.ftp("anonymous", "guest@example.org")
    f.storbinary("STOR /incoming/mine.txt", io.BytesIO(b"mine"))
    mine = os.stat(srv.path("incoming/mine.txt"))
    for cmd in ("SITE CHMOD 6777 /incoming/victim.txt",
                "SITE CHMOD 0000 /incoming/victim.txt",
                "SITE CHMOD 0644 /incoming/victim.txt",
                "MFMT 20000101000000 /incoming/victim.txt",
                "SITE CHMOD 0777 /incoming/mine.txt",
                "MFMT 20000101000000 /incoming/mine.txt"):
        r = answer(f, cmd)
        expect(r.startswith("550"), "anonymous %s: %s" % (cmd, r))
    after = os.stat(srv.path("incoming/victim.txt"))
    expect(after.st_mode == before.st_mode, "victim's mode changed")
    expect(after.st_mtime_ns == before.st_mtime_ns, "victim's time changed")
    now = os.stat(srv.path("incoming/mine.txt"))
    expect(now.st_mode == mine.st_mode, "own upload's mode changed")
    expect(now.st_mtime_ns == mine.st_mtime_ns, "own upload's time changed")
    f.quit()


def named_modes(srv, umask):
    srv.write("f.txt", b"x")
    os.chmod(srv.path("f.txt"), 0o640)
    f = srv.ftp()
    for mode in ("4755", "2755", "1777", "6777", "7000"):
        r = answer(f, "SITE CHMOD %s f.txt" % mode)
        expect(r.startswith("550"), "SITE CHMOD %s: %s" % (mode, r))
        expect(mode_of(srv, "f.txt") == 0o640, "mode after %s" % mode)
    for want in (0o666, 0o755, 0o600, 0o777):
        r = answer(f, "SITE CHMOD %o f.txt" % want)
        expect(r.startswith("200"), "SITE CHMOD %o: %s" % (want, r))
        got = mode_of(srv, "f.txt")
        expect(got == want & ~umask,
               "SITE CHMOD %o with umask %o gave %o" % (want, umask, got))
    r = answer(f, "MFMT 20000101000000 f.txt")
    expect(r.startswith("213"), "named MFMT: " + r)
    expect(int(os.stat(srv.path("f.txt")).st_mtime) == 946684800, "mtime")
    f.quit()


def temp_files(srv, name):
    d = srv.path("incoming")
    return [n for n in os.listdir(d) if n.startswith("." + name + ".")]


def race_commit(srv):
    """The final name appears while the upload runs: 553, nothing replaced,
    no temporary file left."""
    os.makedirs(srv.path("incoming"), exist_ok=True)
    for verb in ("STOR", "APPE"):
        name = "race-%s.bin" % verb.lower()
        r, d, first = upload_start(srv, "%s /incoming/%s" % (verb, name),
                                   "anonymous", "guest@example.org")
        expect(first.startswith("150"), first)
        d.sendall(b"a" * 100000)
        wait_until(lambda: temp_files(srv, name), "the upload's temporary file")
        srv.write("incoming/" + name, b"first come")
        d.sendall(b"b" * 100000)
        d.close()
        rep = r.reply()
        expect(rep.startswith("553"), "%s commit onto a new name: %s"
               % (verb, rep))
        expect(srv.read("incoming/" + name) == b"first come",
               "%s replaced the file that appeared" % verb)
        expect(temp_files(srv, name) == [], "temporary file left")
        expect(r.cmd("NOOP").startswith("200"), "session goes on")
        r.cmd("QUIT")


def main():
    with Server("--anonymous", "--anon-upload-dir", "/incoming") as srv:
        anonymous_attrs(srv)
        named_modes(srv, 0o022)
        race_commit(srv)
    with Server("--umask", "077") as srv:
        named_modes(srv, 0o077)
    print("ok")


if __name__ == "__main__":
    main()
