"""corio-ftpd's upload temporary files (`.NAME.XXXXXX.part`): those left by
a server killed with SIGKILL during STOR are removed when a server starts
on the tree (in the background; only regular files of that exact pattern
older than the server's start); clients can neither create nor touch names
of that pattern (553). CIO_TEST_TIMEOUT=60"""

import ftplib
import io
import os
import signal

from ftpd_common import Server, expect, upload_start, wait_until


def temps(root):
    found = []
    for d, _, files in os.walk(root):
        found += [os.path.join(d, f) for f in files if f.endswith(".part")
                  and not os.path.islink(os.path.join(d, f))]
    return sorted(found)


def killed_upload(srv):
    """SIGKILL while a STOR runs leaves its temporary file behind."""
    r, d, first = upload_start(srv, "STOR sub/big.bin")
    expect(first.startswith("150"), first)
    d.sendall(b"x" * 300000)
    wait_until(lambda: [t for t in temps(srv.root) if "big.bin" in t],
             "the upload's temporary file")
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(10)
    d.close()
    r.close()


def client_names(srv):
    f = srv.ftp()
    srv.write("sub/.held.txt.Ab12Cd.part", b"not yours")
    srv.write("sub/plain.txt", b"plain")
    names = ("/.up.bin.Ab12Cd.part", "sub/.held.txt.Ab12Cd.part",
             ".dir.ABCDEF.part/x", "sub/.x.abcdef.part")
    for name in names:
        for cmd in ("RETR", "STOR", "APPE"):
            try:
                if cmd == "RETR":
                    f.retrbinary("RETR " + name, lambda b: None)
                else:
                    f.storbinary("%s %s" % (cmd, name), io.BytesIO(b"x"))
                raise AssertionError("%s %s worked" % (cmd, name))
            except ftplib.error_perm as e:
                expect(str(e).startswith("553"), "%s %s: %s" % (cmd, name, e))
        for cmd in ("DELE", "MKD", "CWD", "SIZE", "RNFR", "MLST"):
            try:
                r = f.sendcmd("%s %s" % (cmd, name))
            except ftplib.error_perm as e:
                r = str(e)
            expect(r.startswith("553"), "%s %s: %s" % (cmd, name, r))
    f.sendcmd("RNFR sub/plain.txt")
    try:
        f.sendcmd("RNTO sub/.plain.txt.QWERTY.part")
        raise AssertionError("RNTO onto a temporary name")
    except ftplib.error_perm as e:
        expect(str(e).startswith("553"), "RNTO: %s" % e)
    expect(srv.read("sub/.held.txt.Ab12Cd.part") == b"not yours", "kept")
    expect(srv.read("sub/plain.txt") == b"plain", "not renamed")
    # Names that only look alike are ordinary files.
    for name in ("sub/.a.part", "sub/a.Ab12Cd.part", "sub/.a.Ab12C.part"):
        f.storbinary("STOR " + name, io.BytesIO(b"ok"))
        expect(srv.read(name) == b"ok", name)
    f.quit()


def main():
    # Named users' uploads go to kept data (ftpd_resume.py) unless keeping
    # is off: then they use the temporary files tested here.
    srv = Server("--resume-lifetime", "0")
    try:
        os.makedirs(srv.path("sub", "deeper"))
        killed_upload(srv)
        left = temps(srv.root)
        expect(len(left) == 1, "SIGKILL left its temporary file: %r" % left)
        # More leftovers, and look-alikes that must stay.
        srv.write("sub/deeper/.old.iso.zZ9yY8.part", b"stale")
        srv.write(".top.txt.aaaaaa.part", b"stale")
        srv.write("sub/.keep.part", b"user file")
        srv.write("sub/keep.Ab12Cd.part", b"user file")
        os.symlink("nowhere", srv.path("sub", ".link.txt.Ab12Cd.part"))
        root, tmp = srv.root, srv.tmp
    finally:
        srv.proc.poll() is None and srv.proc.kill()
    with Server("--resume-lifetime", "0", root=root) as srv2:
        wait_until(lambda: temps(root) == sorted(
            [os.path.join(root, "sub", ".keep.part"),
             os.path.join(root, "sub", "keep.Ab12Cd.part")]),
            "stale temporary files to go (left: %r)" % temps(root))
        expect(os.path.islink(srv2.path("sub", ".link.txt.Ab12Cd.part")),
               "a symlink is not a temporary file")
        client_names(srv2)
    srv.cleanup()
    print("ok")


if __name__ == "__main__":
    main()
