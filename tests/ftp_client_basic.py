"""corio-ftp against pyftpdlib on loopback: get, put, ls, mirror both ways
(sha256 of every file), globs, -o, netrc, the password variable, active
mode, IPv6, bad password, missing file, and the plain progress lines.
CIO_TEST_TIMEOUT=60"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftp_client_util import (PASSWORD, USER, Workspace, check, have_ipv6,
                             leftovers, need_client, need_pyftpdlib, run,
                             sha256, tree_sums, write_file)


def make_tree(root):
    write_file(os.path.join(root, "a.txt"), 1000)
    write_file(os.path.join(root, "b.txt"), 10)
    write_file(os.path.join(root, "empty"), 0)
    write_file(os.path.join(root, "big.bin"), 3 << 20)
    write_file(os.path.join(root, "dir", "c.bin"), 70000)
    write_file(os.path.join(root, "dir", "sub", "d.bin"), 123457)
    write_file(os.path.join(root, "with space.txt"), 77)


def main():
    need_client()
    need_pyftpdlib()
    with Workspace() as ws:
        srv_root = ws.path("srv")
        make_tree(srv_root)
        srv = ws.server(root=srv_root)
        want = tree_sums(srv_root)

        # get: one file, then several into -o DIR, a glob, spaces in names
        out = ws.path("get1")
        os.makedirs(out)
        p = run(["get", srv.url("big.bin")], cwd=out)
        check(p.returncode == 0 and sha256(os.path.join(out, "big.bin")) == want["big.bin"],
              "get one file", p)
        check("big.bin: %d bytes" % (3 << 20) in p.stderr,
              "a plain line for the completed file", p)
        p = run(["get", srv.url("a.txt"), srv.url("dir/c.bin"), srv.url("empty"),
                 srv.url("with%20space.txt"), "-o", ws.path("get2")])
        got = tree_sums(ws.path("get2"))
        check(p.returncode == 0 and got == {k: want[k2] for k, k2 in
              [("a.txt", "a.txt"), ("c.bin", "dir/c.bin"), ("empty", "empty"),
               ("with space.txt", "with space.txt")]}, "get several into -o DIR", p)
        p = run(["get", srv.url("*.txt"), "-o", ws.path("glob")])
        check(p.returncode == 0 and sorted(os.listdir(ws.path("glob"))) ==
              ["a.txt", "b.txt", "with space.txt"], "get with a glob", p)

        # failures: one line each, with the server's reply, nothing left
        p = run(["get", srv.url("a.txt"), srv.url("missing.bin"), "-o", ws.path("miss")])
        check(p.returncode != 0 and "missing.bin" in p.stderr and "550" in p.stderr,
              "a missing file fails with the server's reply", p)
        check(os.listdir(ws.path("miss")) == ["a.txt"],
              "the missing file leaves nothing behind, the other file arrives", p)
        p = run(["get", srv.url("a.txt", password="wrong"), "-o", ws.path("badpw")])
        check(p.returncode != 0 and "530" in p.stderr, "a bad password fails with 530", p)
        check(not os.path.exists(ws.path("badpw", "a.txt")) and not leftovers(ws.dir),
              "a bad password leaves no file", p)

        # put: into a directory, and under a new name
        p = run(["put", ws.path("get2", "c.bin"), ws.path("get1", "big.bin"),
                 srv.url("dir/")])
        check(p.returncode == 0 and sha256(os.path.join(srv_root, "dir", "big.bin")) == want["big.bin"],
              "put two files into a directory", p)
        p = run(["put", ws.path("get2", "a.txt"), srv.url("dir/renamed.txt")])
        check(p.returncode == 0 and sha256(os.path.join(srv_root, "dir", "renamed.txt")) == want["a.txt"],
              "put one file under a new name", p)
        p = run(["put", ws.path("nonexistent"), srv.url("dir/")])
        check(p.returncode != 0 and "nonexistent" in p.stderr, "put of a missing local file fails", p)

        # ls
        p = run(["ls", srv.url("dir/")])
        check(p.returncode == 0 and "c.bin" in p.stdout and "sub" in p.stdout, "ls a directory", p)
        p = run(["ls", srv.url("nowhere/")])
        check(p.returncode != 0 and "550" in p.stderr, "ls of a missing directory fails", p)

        # mirror down, again (nothing to do), then up into a new directory
        want = tree_sums(srv_root)
        p = run(["mirror", srv.url(), ws.path("m")])
        check(p.returncode == 0 and tree_sums(ws.path("m")) == want, "mirror downloads the tree", p)
        p = run(["mirror", srv.url(), ws.path("m")])
        check(p.returncode == 0 and "bytes in" not in p.stderr.replace("total", "").split("\n")[0],
              "a second mirror transfers nothing", p)
        p = run(["mirror", "-R", ws.path("m"), srv.url("up")])
        check(p.returncode == 0 and tree_sums(os.path.join(srv_root, "up")) == want,
              "mirror -R uploads the tree", p)

        # logins without the password on the command line
        home = ws.path("home")
        os.makedirs(home)
        with open(os.path.join(home, ".netrc"), "w") as f:
            f.write("machine other.example login x password y\n"
                    "machine 127.0.0.1\n  login %s\n  password \"%s\"\n" % (USER, PASSWORD))
        p = run(["get", srv.url("b.txt", user=None), "-o", ws.path("netrc")],
                env={"HOME": home})
        check(p.returncode == 0 and os.path.exists(ws.path("netrc", "b.txt")),
              "the login comes from ~/.netrc", p)
        with open(os.path.join(home, ".netrc"), "w") as f:
            f.write("default login %s password \"%s\"\n" % (USER, PASSWORD))
        p = run(["get", srv.url("b.txt", user=None), "-o", ws.path("netrc2")],
                env={"HOME": home})
        check(p.returncode == 0 and os.path.exists(ws.path("netrc2", "b.txt")),
              "a netrc default entry is used", p)
        p = run(["get", srv.url("b.txt", password=None), "-o", ws.path("env")],
                env={"CORIO_FTP_PASSWORD": PASSWORD, "HOME": ws.path("nohome")})
        check(p.returncode == 0 and os.path.exists(ws.path("env", "b.txt")),
              "the password comes from CORIO_FTP_PASSWORD", p)
        p = run(["get", srv.url("b.txt", password=None), "-o", ws.path("nopw")],
                env={"HOME": ws.path("nohome")}, stdin=open(os.devnull))
        check(p.returncode != 0 and "no password" in p.stderr,
              "no password anywhere is a clear error", p)

        # active mode, quiet, IPv6
        p = run(["--active", "-q", "get", srv.url("dir/sub/d.bin"), "-o", ws.path("act")])
        check(p.returncode == 0 and p.stderr == "" and
              sha256(ws.path("act", "d.bin")) == want["dir/sub/d.bin"],
              "active mode, and -q prints nothing", p)
        p = run(["--active", "put", ws.path("act", "d.bin"), srv.url("act.bin")])
        check(p.returncode == 0 and sha256(os.path.join(srv_root, "act.bin")) == want["dir/sub/d.bin"],
              "active mode upload", p)
        if have_ipv6():
            srv6 = ws.server(root=srv_root, host="::1")
            for mode in ([], ["--active"]):
                p = run(mode + ["get", srv6.url("dir/c.bin"), "-o", ws.path("v6" + "".join(mode))])
                check(p.returncode == 0 and sha256(ws.path("v6" + "".join(mode), "c.bin")) == want["dir/c.bin"],
                      "IPv6 [::1] %s" % (mode[0] if mode else "passive"), p)
        else:
            print("ok - IPv6 skipped: no ::1 on this machine")

        # usage errors
        p = run(["get"])
        check(p.returncode == 2 and "usage" in p.stderr, "a missing argument prints usage", p)
        p = run(["get", "http://example.com/x"])
        check(p.returncode == 2 and "ftp://" in p.stderr, "a non-ftp URL is refused", p)
        check(not leftovers(ws.dir), "no temporary files anywhere")


main()
