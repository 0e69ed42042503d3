"""put -c after a cut upload: the upload is cut (the data connection reset
after the server has stored part of the file), then corio-ftp -c put
continues it. pyftpdlib with REST + STOR, pyftpdlib refusing REST for STOR
(554: corio-ftp appends with APPE), the shell's `put -c` from a script,
and corio-ftpd, which may or may not keep a cut upload: when SIZE shows
kept data the upload must resume, else it must start again; every result
is checked by sha256.
CIO_TEST_TIMEOUT=90"""
import ftplib
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftp_client_util import (FTPD, PASSWORD, USER, Workspace, check,
                             need_client, need_pyftpdlib, run, sha256,
                             write_file)

SIZE = 6 << 20
CUT = 2 << 20


def largest_file(directory):
    """The size of the largest file in directory, hidden ones included."""
    sizes = [os.path.getsize(os.path.join(directory, n)) for n in os.listdir(directory)
             if os.path.isfile(os.path.join(directory, n))]
    return max(sizes, default=0)


def cut_upload(srv, name, data, served_dir):
    """Sends data[:CUT] with STOR, waits until the server has most of it
    on disk, then resets the data connection and drops the control one: a cut."""
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", srv.port, timeout=10)
    ftp.login(USER, PASSWORD)
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("STOR " + name)
    conn.sendall(data[:CUT])
    deadline = time.monotonic() + 10  # servers buffer a little: CUT / 2
    while time.monotonic() < deadline and largest_file(served_dir) < CUT // 2:
        time.sleep(0.02)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()  # RST: the transfer failed, not ended
    ftp.sock.close()


def kept_size(srv, name):
    """What SIZE says now for name (waiting for the server to notice the
    cut), or None when it has no such file."""
    deadline = time.monotonic() + 5
    last = None
    while time.monotonic() < deadline:
        ftp = ftplib.FTP()
        ftp.connect("127.0.0.1", srv.port, timeout=10)
        ftp.login(USER, PASSWORD)
        ftp.voidcmd("TYPE I")
        try:
            size = ftp.size(name)
        except ftplib.error_perm:
            size = None
        ftp.quit()
        if size == last:
            return size
        last = size
        time.sleep(0.2)
    return last


def main():
    need_client()
    need_pyftpdlib()
    with Workspace() as ws:
        big = ws.path("big.bin")
        write_file(big, SIZE)
        want = sha256(big)
        with open(big, "rb") as f:
            data = f.read()

        # pyftpdlib keeps what it received and takes REST before STOR
        root = ws.path("py")
        srv = ws.server(root=root)
        cut_upload(srv, "big.bin", data, root)
        check(0 < kept_size(srv, "big.bin") < SIZE, "the cut upload left part of the file")
        p = run(["-c", "put", big, srv.url("big.bin")])
        target = os.path.join(root, "big.bin")
        check(p.returncode == 0 and sha256(target) == want and "resumed" in p.stderr,
              "put -c continues it (REST + STOR)", p)
        cmds = srv.commands()
        check("REST" in cmds and cmds.index("SIZE") < len(cmds) - cmds[::-1].index("STOR"),
              "after SIZE, with REST", p)

        # a server that refuses REST for STOR: APPE at the size SIZE gave
        root = ws.path("appe")
        srv = ws.server(root=root, no_rest_stor=True)
        cut_upload(srv, "big.bin", data, root)
        p = run(["-c", "put", big, srv.url("big.bin")])
        check(p.returncode == 0 and sha256(os.path.join(root, "big.bin")) == want
              and "resumed" in p.stderr and "APPE" in srv.commands(),
              "put -c appends with APPE when REST + STOR is refused", p)

        # the shell's put -c, from a script
        root = ws.path("shell")
        srv = ws.server(root=root)
        cut_upload(srv, "big.bin", data, root)
        script = "open 127.0.0.1 %d\nuser %s \"%s\"\nput -c %s big.bin\nbye\n" % (
            srv.port, USER, PASSWORD, big)
        p = run([], input=script)
        check(p.returncode == 0 and sha256(os.path.join(root, "big.bin")) == want
              and "resumed" in p.stderr, "the shell's put -c continues it", p)

        # corio-ftpd: resume when it kept the cut data, else start over
        if not os.path.exists(FTPD):
            print("ok - # SKIP corio-ftpd is not built")
            return
        root = ws.path("ftpd")
        srv = ws.server("corio-ftpd", root=root)
        cut_upload(srv, "big.bin", data, root)
        kept = kept_size(srv, "big.bin")
        p = run(["-c", "put", big, srv.url("big.bin")])
        ok = p.returncode == 0 and sha256(os.path.join(root, "big.bin")) == want
        if kept:
            check(ok and "resumed" in p.stderr,
                  "corio-ftpd kept %d bytes: put -c continues them" % kept, p)
        else:
            check(ok and "resumed" not in p.stderr,
                  "corio-ftpd kept nothing of the cut upload: put -c sends it all", p)


main()
