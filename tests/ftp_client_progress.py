"""corio-ftp's progress display through a pseudo-terminal (bars redrawn in
place at most ~10 times a second, a total line), the plain form without
one, and the interactive shell: scripted through a pipe, and typed on a
terminal (name and password prompts).
CIO_TEST_TIMEOUT=60"""
import os
import pty
import re
import select
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftp_client_util import (CLIENT, PASSWORD, USER, Workspace, check,
                             need_client, need_pyftpdlib, run, sha256,
                             write_file)


def pty_run(args, cwd, feed=(), limit=20):
    """Runs the client on a new terminal; feed is a list of (expected text,
    reply) pairs answered in turn. Returns (status, output, seconds)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        env = {k: v for k, v in os.environ.items() if k != "CORIO_FTP_PASSWORD"}
        env["TERM"] = "xterm"
        os.execve(CLIENT, [CLIENT] + args, env)
    out, t0, pending = b"", time.monotonic(), list(feed)
    while time.monotonic() - t0 < limit:
        if pending and pending[0][0].encode() in out:
            os.write(fd, pending.pop(0)[1].encode())
            continue
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        out += data
    took = time.monotonic() - t0
    try:
        _, status = os.waitpid(pid, os.WNOHANG)
        if not os.WIFEXITED(status):
            os.kill(pid, 9)
            _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        status = 0
    os.close(fd)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
    return code, out.decode(errors="replace"), took


def main():
    need_client()
    need_pyftpdlib()
    with Workspace() as ws:
        root = ws.path("srv")
        for name in ("one.bin", "two.bin"):
            write_file(os.path.join(root, name), 3 << 18)
        write_file(os.path.join(root, "notes.txt"), 500)
        write_file(os.path.join(root, "dir", "x.txt"), 600)
        write_file(os.path.join(root, "dir", "y.txt"), 700)
        slow = ws.server(root=root, rate=256 << 10)
        fast = ws.server(root=root)

        # the bars, on a terminal
        os.makedirs(ws.path("tty"))
        code, out, took = pty_run(["-j", "2", "get", slow.url("one.bin"), slow.url("two.bin")],
                                  ws.path("tty"))
        frames = out.count("total:")
        check(code == 0 and all(sha256(ws.path("tty", n)) == sha256(os.path.join(root, n))
                                for n in ("one.bin", "two.bin")), "download under a terminal")
        check("\x1b[" in out and re.search(r"\[=+>? *\]", out) and "%" in out,
              "bars drawn with cursor movement (%d frames)" % frames)
        # the two transfers start in either order: accept both
        check(re.search(r"(one|two)\.bin.*\n.*(?!\1)(one|two)\.bin.*\n.*total:", out) is not None,
              "one bar per active transfer, then the total line")
        check(re.search(r"total: \d+/2 files .*/s +ETA", out) is not None,
              "the total line has files, bytes, rate and ETA")
        check(3 <= frames <= took * 10 + 3, "redrawn at most ~10 times a second "
              "(%d frames in %.1f s)" % (frames, took))
        check(" bytes in " not in out, "no plain lines on a terminal")

        # one transfer: its bar and the total show the same rate and ETA
        os.makedirs(ws.path("tty-one"))
        code, out, _ = pty_run(["get", slow.url("one.bin")], ws.path("tty-one"))
        pairs = re.findall(r"one\.bin +\[[^]]*\] +\d+% +\S+ \S+ / \S+ \S+ +(\S+ \S+/s) +ETA +(\S+)\r?\n"
                           r"total: \d+/1 files +\S+ \S+ / \S+ \S+ +(\S+ \S+/s) +ETA +(\S+)", out)
        check(code == 0 and len(pairs) >= 3 and all(p[:2] == p[2:] for p in pairs),
              "bar and total agree on rate and ETA in %d frames" % len(pairs))
        check(re.search(r"one\.bin  768\.0 KiB  [0-9.]+ s  [0-9.]+ KiB/s\r?\n", out) and
              re.search(r"total: 1 files, 768\.0 KiB in [0-9.]+ s \([0-9.]+ KiB/s\)", out),
              "a line for the finished file, then elapsed time and mean rate")

        # without a terminal: plain lines, no escapes
        p = run(["get", fast.url("one.bin"), "-o", ws.path("plain")])
        check(p.returncode == 0 and "\x1b" not in p.stderr and
              re.search(r"one\.bin: %d bytes in [0-9.]+ s" % (3 << 18), p.stderr),
              "a plain line per file without a terminal", p)

        # mirror lists the tree first: the total's size never grows
        tree = ws.path("tree")
        write_file(os.path.join(tree, "a-big.bin"), 1 << 20)
        for i in range(40):
            write_file(os.path.join(tree, "d%03d" % i, "f"), 1024)
        slow_tree = ws.server(root=tree, rate=256 << 10)
        os.makedirs(ws.path("tty-mirror"))
        code, out, _ = pty_run(["-j", "4", "mirror", slow_tree.url(), "m"], ws.path("tty-mirror"))
        totals = set(re.findall(r"total: \d+/(\d+) files +\S+ \S+ / (\S+ \S+)", out))
        check(code == 0 and totals == {("41", "1.0 MiB")},
              "the mirror's total knows its files and bytes from the start: %s" % totals)

        # fast transfers still have a rate; an empty file shows none
        write_file(os.path.join(root, "tiny"), 10)
        write_file(os.path.join(root, "empty"), 0)
        p = run(["get", fast.url("tiny"), fast.url("empty"), fast.url("one.bin"), "-o", ws.path("fast")])
        check(p.returncode == 0 and "(0 B/s)" not in p.stderr and
              re.search(r"tiny: 10 bytes in [0-9.]+ s \([0-9.]+ [KMG]?i?B/s\)", p.stderr) and
              re.search(r"empty: 0 bytes in [0-9.]+ s\n", p.stderr),
              "no (0 B/s) for a fast transfer", p)

        # the shell, scripted through a pipe, forgiving about mistakes
        work = ws.path("shell")
        os.makedirs(work)
        write_file(os.path.join(work, "up1.dat"), 1000)
        write_file(os.path.join(work, "up2.dat"), 2000)
        script = "\n".join([
            "open 127.0.0.1 %d" % fast.port,
            "user %s \"%s\"" % (USER, PASSWORD),
            "pwd", "ls", "frobnicate", "cd dir", "get x.txt", "mget *.txt",
            "mkdir new", "cd new", "mput up*.dat", "cd ..", "dir new",
            "get nothing-here", "bye", ""])
        p = run([], cwd=work, input=script, timeout=30)
        check(sha256(os.path.join(work, "x.txt")) == sha256(os.path.join(root, "dir", "x.txt"))
              and sha256(os.path.join(work, "y.txt")) == sha256(os.path.join(root, "dir", "y.txt")),
              "shell get and mget", p)
        check(all(sha256(os.path.join(root, "dir", "new", n)) == sha256(os.path.join(work, n))
                  for n in ("up1.dat", "up2.dat")), "shell mkdir, cd and mput", p)
        check("?Invalid command." in p.stdout and "230" in p.stdout and "221" in p.stdout
              and "up1.dat" in p.stdout, "shell replies, listings and mistakes", p)
        check(p.returncode == 1 and "nothing-here" in p.stderr and "550" in p.stderr,
              "a failed command is reported and sets the exit status", p)

        # the shell on a terminal: prompts for the name and the password
        os.makedirs(ws.path("tty-shell"))
        code, out, _ = pty_run(["127.0.0.1:%d" % fast.port], ws.path("tty-shell"),
                               feed=[("Name (127.0.0.1): ", USER + "\n"),
                                     ("Password", PASSWORD + "\n"),
                                     ("230", "ls\n"), ("notes.txt", "bye\n")])
        check(code == 0 and "ftp> " in out and "notes.txt" in out and PASSWORD not in out,
              "interactive login with prompts, the password not echoed")


main()
