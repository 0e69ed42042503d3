"""corio-ftp against corio-ftpd on loopback: get, put, ls, mirror both ways
with -j 16 (sha256 of every file), resume of a truncated file, active mode,
IPv6, bad password and missing file. Skips when corio-ftpd is not built.
CIO_TEST_TIMEOUT=60"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftp_client_util import (FTPD, Workspace, check, have_ipv6, leftovers,
                             need_client, run, sha256, skip, tree_sums,
                             write_file)


def main():
    need_client()
    if not os.path.exists(FTPD):
        skip("corio-ftpd is not built (%s)" % FTPD)
    with Workspace() as ws:
        root = ws.path("srv")
        tree = os.path.join(root, "tree")
        for i in range(60):
            write_file(os.path.join(tree, "d%d" % (i % 3), "f%02d.dat" % i), 50 + i * 911)
        write_file(os.path.join(tree, "big.bin"), 8 << 20)
        write_file(os.path.join(tree, "empty"), 0)
        srv = ws.server("corio-ftpd", root=root)
        want = tree_sums(tree)

        p = run(["get", srv.url("tree/big.bin"), srv.url("tree/d1/f01.dat"), "-o", ws.path("get")])
        check(p.returncode == 0 and sha256(ws.path("get", "big.bin")) == want["big.bin"]
              and sha256(ws.path("get", "f01.dat")) == want["d1/f01.dat"], "get two files", p)
        p = run(["ls", srv.url("tree/")])
        check(p.returncode == 0 and "big.bin" in p.stdout and "d2" in p.stdout, "ls", p)
        p = run(["ls", srv.url("tree/d0/")])
        names = [line.split()[-1] for line in p.stdout.splitlines() if line.startswith("-")]
        check(p.returncode == 0 and len(names) == 20 and names == sorted(names),
              "ls sorts by name (the server sends directory order)", p)
        p = run(["--sort", "size,reverse", "ls", srv.url("tree/d0/")])
        sizes = [int(line.split()[4]) for line in p.stdout.splitlines() if line.startswith("-")]
        check(p.returncode == 0 and len(sizes) == 20 and sizes == sorted(sizes),
              "--sort size,reverse: smallest first", p)
        p = run(["--sort", "colour", "ls", srv.url("tree/d0/")])
        check(p.returncode == 2 and "--sort" in p.stderr, "a bad --sort key is a usage error", p)

        p = run(["-j", "16", "mirror", srv.url("tree"), ws.path("down")], timeout=40)
        check(p.returncode == 0 and tree_sums(ws.path("down")) == want, "mirror -j 16 down", p)
        p = run(["-j", "16", "mirror", "-R", ws.path("down"), srv.url("up/new/deeper")], timeout=40)
        check(p.returncode == 0 and tree_sums(os.path.join(root, "up", "new", "deeper")) == want,
              "mirror -R -j 16 into new nested directories", p)
        p = run(["put", ws.path("get", "f01.dat"), srv.url("up/")])
        check(p.returncode == 0 and sha256(os.path.join(root, "up", "f01.dat")) == want["d1/f01.dat"],
              "put into a directory", p)

        # resume a truncated copy with -c
        os.makedirs(ws.path("resume"))
        part = ws.path("resume", "big.bin")
        shutil.copy(ws.path("get", "big.bin"), part)
        os.truncate(part, 3 << 20)
        p = run(["-c", "get", srv.url("tree/big.bin"), "-o", ws.path("resume")])
        check(p.returncode == 0 and sha256(part) == want["big.bin"] and "resumed" in p.stderr,
              "-c resumes a truncated file", p)

        p = run(["--active", "get", srv.url("tree/d0/f00.dat"), "-o", ws.path("active")])
        check(p.returncode == 0 and sha256(ws.path("active", "f00.dat")) == want["d0/f00.dat"],
              "active mode", p)
        if have_ipv6():
            srv6 = ws.server("corio-ftpd", root=root, host="::1")
            p = run(["get", srv6.url("tree/d2/f02.dat"), "-o", ws.path("v6")])
            check(p.returncode == 0 and sha256(ws.path("v6", "f02.dat")) == want["d2/f02.dat"],
                  "IPv6", p)

        p = run(["get", srv.url("tree/missing"), "-o", ws.path("miss")])
        check(p.returncode != 0 and "550" in p.stderr and not os.listdir(ws.path("miss")),
              "a missing file fails with the server's reply and leaves nothing", p)
        p = run(["get", srv.url("tree/big.bin", password="wrong"), "-o", ws.path("bad")])
        check(p.returncode != 0 and "530" in p.stderr, "a bad password fails with 530", p)
        check(not leftovers(ws.dir), "no temporary files left")


main()
