"""corio-ftpd with a FIFO and a device in the served tree, on one worker:
RETR, APPE, REST+STOR and HASH of them answer 550 at once (the server never
opens them in a way that waits for a peer), and another session keeps
being answered meanwhile. CIO_TEST_TIMEOUT=60"""

import os
import socket
import stat

from ftpd_common import Server, expect, pasv_port


def check(srv, a, b, cmd, name):
    """Sends cmd on a's control connection (data connection set up);
    b must answer NOOP at once and a must answer 550."""
    port = pasv_port(a.cmd("PASV"))
    d = socket.create_connection(("127.0.0.1", port), 5)
    a.send(cmd + "\r\n")
    try:
        rb = b.cmd("NOOP")
    except socket.timeout:
        raise AssertionError("%s %s: another session stopped answering"
                             % (cmd, name))
    expect(rb.startswith("200"), "NOOP: " + rb)
    try:
        ra = a.reply()
    except socket.timeout:
        raise AssertionError("%s: no answer" % cmd)
    expect(ra.startswith("550"), "%s: %s" % (cmd, ra))
    d.close()


def main():
    with Server("--workers", "1") as srv:
        os.mkfifo(srv.path("fifo"))
        os.symlink("fifo", srv.path("link-to-fifo"))
        names = ["fifo", "link-to-fifo"]
        try:
            os.mknod(srv.path("zero"), 0o666 | stat.S_IFCHR, os.makedev(1, 5))
            names.append("zero")
        except OSError as e:
            print("no device node (%s): FIFO only" % e)
        a = srv.raw(timeout=5)
        b = srv.raw(timeout=5)
        for r in (a, b):
            r.cmd("USER alice")
            expect(r.cmd("PASS wonder").startswith("230"), "login")
            r.cmd("TYPE I")
        for name in names:
            for cmd in ("RETR", "APPE", "REST 1\r\nSTOR"):
                if cmd.startswith("REST"):
                    expect(a.cmd("REST 1").startswith("350"), "REST")
                    cmd = "STOR"
                check(srv, a, b, "%s %s" % (cmd, name), name)
            ra = a.cmd("HASH " + name)
            expect(ra.startswith("550"), "HASH %s: %s" % (name, ra))
            expect(stat.S_ISFIFO(os.lstat(srv.path("fifo")).st_mode),
                   "the FIFO is still there")
        expect(a.cmd("NOOP").startswith("200"), "session goes on")
        a.cmd("QUIT")
        b.cmd("QUIT")
    print("ok")


if __name__ == "__main__":
    main()
