"""corio-ftp against a real vsftpd on 127.0.0.1 (anonymous, uploads into
`incoming`): mirror -R into a directory that does not exist yet (vsftpd
lists a missing path as empty, which must not count as "exists"), a second
mirror -R that sends nothing, get and ls back, and put -c resuming a cut
upload with REST + STOR. Skips without vsftpd or without root.
CIO_TEST_TIMEOUT=60"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftp_client_util import (Workspace, check, need_client, run, sha256, skip,
                             tree_sums, vsftpd_missing, write_file)


def main():
    need_client()
    why = vsftpd_missing()
    if why:
        skip(why)
    with Workspace() as ws:
        local = ws.path("local")
        for i in range(12):
            write_file(os.path.join(local, "d%d" % (i % 3), "f%02d.dat" % i), 100 + i * 777)
        write_file(os.path.join(local, "sub", "deeper", "big.bin"), 3 << 20)
        write_file(os.path.join(local, "top.txt"), 10)
        want = tree_sums(local)
        root = ws.path("vroot")
        srv = ws.vsftpd(root)
        incoming = os.path.join(root, "incoming")

        # a missing path lists as empty on vsftpd: existence is asked instead
        p = run(["-j", "4", "mirror", "-R", local, srv.url("incoming/new/tree")], timeout=40)
        check(p.returncode == 0 and tree_sums(os.path.join(incoming, "new", "tree")) == want,
              "mirror -R into a new nested directory creates it and uploads every file", p)
        check("MKD" in srv.commands(), "the directories were made with MKD")
        p = run(["mirror", "-R", local, srv.url("incoming/new/tree")], timeout=40)
        check(p.returncode == 0 and "up to date" in p.stderr and " bytes in " not in p.stderr,
              "a second mirror -R sends nothing", p)
        p = run(["mirror", srv.url("incoming/new/tree"), ws.path("back")], timeout=40)
        check(p.returncode == 0 and tree_sums(ws.path("back")) == want,
              "mirror down what was uploaded", p)

        # an existing file where a directory should be is an error, not a silent skip
        p = run(["mirror", "-R", local, srv.url("incoming/new/tree/top.txt")], timeout=40)
        check(p.returncode != 0 and "top.txt" in p.stderr,
              "mirror -R onto a file fails and says where", p)

        # put -c continues a cut upload: the first part is on the server
        big = os.path.join(local, "sub", "deeper", "big.bin")
        cut = os.path.join(incoming, "resume.bin")
        with open(big, "rb") as f, open(cut, "wb") as out:
            out.write(f.read(1 << 20))
        os.chown(cut, *ftp_ids())
        p = run(["-c", "put", big, srv.url("incoming/resume.bin")])
        check(p.returncode == 0 and sha256(cut) == want["sub/deeper/big.bin"]
              and "resumed" in p.stderr, "put -c resumes a cut upload (REST + STOR)", p)
        check("REST 1048576" in srv.commands(), "the upload restarted at the cut")


def ftp_ids():
    import pwd
    ftp = pwd.getpwnam("ftp")
    return ftp.pw_uid, ftp.pw_gid


main()
