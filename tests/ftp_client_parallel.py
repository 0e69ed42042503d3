"""corio-ftp -j 16 against pyftpdlib: 200 small files and a few large ones,
mirrored down and up again with sha256 checks, and many URLs in one get.
CIO_TEST_TIMEOUT=60"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftp_client_util import (Workspace, check, leftovers, need_client,
                             need_pyftpdlib, run, tree_sums, write_file)


def main():
    need_client()
    need_pyftpdlib()
    with Workspace() as ws:
        root = ws.path("srv", "tree")
        for i in range(200):
            write_file(os.path.join(root, "small%d" % (i % 4), "f%03d.dat" % i), 100 + i * 37)
        for i in range(3):
            write_file(os.path.join(root, "large", "big%d.bin" % i), (6 + i) << 20)
        srv = ws.server(root=ws.path("srv"))
        want = tree_sums(root)

        p = run(["-j", "16", "mirror", srv.url("tree"), ws.path("down")], timeout=40)
        check(p.returncode == 0 and tree_sums(ws.path("down")) == want,
              "mirror -j 16 downloads 203 files intact", p)
        check(p.stderr.count(" bytes in ") == 203, "one plain line per file", p)

        p = run(["-j", "16", "mirror", "-R", ws.path("down"), srv.url("up/tree")], timeout=40)
        check(p.returncode == 0 and tree_sums(ws.path("srv", "up", "tree")) == want,
              "mirror -R -j 16 uploads 203 files intact", p)

        urls = [srv.url("tree/small%d/f%03d.dat" % (i % 4, i)) for i in range(0, 200, 2)]
        p = run(["-j", "16", "get"] + urls + ["-o", ws.path("flat")], timeout=40)
        sums = tree_sums(ws.path("flat"))
        check(p.returncode == 0 and len(sums) == 100 and all(
              sums["f%03d.dat" % i] == want["small%d/f%03d.dat" % (i % 4, i)]
              for i in range(0, 200, 2)), "get -j 16 with 100 URLs", p)
        check(not leftovers(ws.dir), "no temporary files left")


main()
