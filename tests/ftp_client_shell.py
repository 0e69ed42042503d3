"""corio-ftp's shell driven through a pseudo-terminal as a person would:
log in at the prompts, type a command with a typo and fix it with the
arrow keys, complete command names and remote paths with Tab, recall
commands with the Up arrow (in the session and after a restart, from the
history file), sort a listing, watch a download's bars and its closing
lines, and leave with Ctrl-D: a failed command on the way does not make
the session exit 1. Skips when corio-ftp is built without libedit.
CIO_TEST_TIMEOUT=90"""
import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftp_client_util import (CLIENT, PASSWORD, USER, Workspace, check,
                             need_client, need_pyftpdlib, run, sha256, skip,
                             write_file)

UP, LEFT, TAB, CTRL_D, CTRL_U = "\x1b[A", "\x1b[D", "\t", "\x04", "\x15"


class Terminal:
    """The client on a new 100x30 terminal; what it writes is kept."""

    def __init__(self, args, cwd, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(cwd)
            os.execve(CLIENT, [CLIENT] + args, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.out, self.mark = "", 0

    def expect(self, pattern, limit=15):
        """Waits until pattern (a regex) shows in what came since the last
        expect; returns that part. Fails the test on a timeout."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            m = re.search(pattern, self.out[self.mark:])
            if m:
                seen = self.out[self.mark:self.mark + m.end()]
                self.mark += m.end()
                return seen
            r, _, _ = select.select([self.fd], [], [], 0.1)
            if r:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    break
                self.out += data.decode(errors="replace")
        check(False, "the terminal shows %r; it shows instead:\n%r"
              % (pattern, self.out[self.mark:][-2000:]))

    def type(self, keys):
        os.write(self.fd, keys.encode())

    def wait(self, limit=15):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1
            try:
                select.select([self.fd], [], [], 0.1)
                os.read(self.fd, 65536)
            except OSError:
                time.sleep(0.05)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self.fd)
        return -1


def wait_for(path, limit=10):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and not os.path.exists(path):
        time.sleep(0.05)
    return os.path.exists(path)


def main():
    need_client()
    need_pyftpdlib()
    if "line editing and completion: libedit" not in run(["--help"]).stdout:
        skip("corio-ftp is built without libedit")
    with Workspace() as ws:
        root = ws.path("srv")
        write_file(os.path.join(root, "notes.txt"), 500)
        write_file(os.path.join(root, "alpha.bin"), 3000)
        write_file(os.path.join(root, "big.bin"), 3 << 20)
        write_file(os.path.join(root, "dir", "x.txt"), 600)
        srv = ws.server(root=root, rate=512 << 10)
        work, state = ws.path("work"), ws.path("state")
        os.makedirs(work)
        env = {k: v for k, v in os.environ.items() if k != "CORIO_FTP_PASSWORD"}
        env.update(TERM="xterm", HOME=ws.path("home"), XDG_STATE_HOME=state)
        history = os.path.join(state, "corio-ftp", "history")

        t = Terminal([], work, env)
        t.expect(r"ftp> ")
        t.type("open 127.0.0.1 %d\r" % srv.port)
        t.expect(r"Name \(127\.0\.0\.1\): ")
        t.type(USER + "\r")
        t.expect(r"Password")
        t.type(PASSWORD + "\r")
        t.expect(r"230.*\n.*ftp> ")
        check(True, "logged in at the name and password prompts")

        # a typo fixed with the arrows: "gt notes.txt", 11 x Left, "e"
        t.type("gt notes.txt" + LEFT * 11 + "e\r")
        check(wait_for(os.path.join(work, "notes.txt")) and
              sha256(os.path.join(work, "notes.txt")) == sha256(os.path.join(root, "notes.txt")),
              "a line edited with the arrow keys runs as corrected")
        t.expect(r"ftp> ")

        # completion: a command name, then a remote directory and a file in it
        t.type("pw" + TAB)
        t.expect(r"d ")
        t.type("\r")
        t.expect(r'257 "/".*\n.*ftp> ')
        check(True, "Tab completes a command name (pw -> pwd)")
        t.type("get di" + TAB)
        t.expect(r"r/")
        t.type("x" + TAB)
        t.expect(r"\.txt")
        t.type("\r")
        check(wait_for(os.path.join(work, "x.txt")) and
              sha256(os.path.join(work, "x.txt")) == sha256(os.path.join(root, "dir", "x.txt")),
              "Tab completes a remote directory and a file in it (get dir/x.txt)")
        t.expect(r"ftp> ")

        # the Up arrow recalls the last command
        os.unlink(os.path.join(work, "x.txt"))
        t.type(UP + "\r")
        check(wait_for(os.path.join(work, "x.txt")), "Up recalls and reruns the last command")
        t.expect(r"ftp> ")

        # a sorted listing, and other orders
        t.type("ls\r")
        seen = t.expect(r"ftp> ")
        names = re.findall(r" (alpha\.bin|big\.bin|dir|notes\.txt)\r?\n", seen)
        check(names == ["alpha.bin", "big.bin", "dir", "notes.txt"],
              "ls lists by name: %s" % names)
        t.type("ls -S\r")
        seen = t.expect(r"ftp> ")
        names = re.findall(r" (alpha\.bin|big\.bin|notes\.txt)\r?\n", seen)
        check(names == ["big.bin", "alpha.bin", "notes.txt"], "ls -S lists by size: %s" % names)

        # the bars of a download: size known, then a line for the file and the total
        t.type("get big.bin\r")
        bars = t.expect(r"big\.bin +\[[= >]*\] +\d+% +[0-9.]+ [KM]iB / 3\.0 MiB +[0-9.]+ [KM]?i?B/s +ETA")
        check(True, "a bar with the file's size, rate and ETA")
        t.expect(r"total: 0/1 files +[0-9.]+ [KM]iB / 3\.0 MiB")
        check(True, "the total line knows the size too")
        t.expect(r"big\.bin  3\.0 MiB  [0-9.]+ s  [0-9.]+ [KM]iB/s\r?\n", limit=30)
        end = t.expect(r"total: 1 files, 3\.0 MiB in [0-9.]+ s \([0-9.]+ [KM]iB/s\)")
        check(True, "the finished file leaves a line; the end gives time and mean rate")
        check(sha256(os.path.join(work, "big.bin")) == sha256(os.path.join(root, "big.bin")),
              "the download is complete")
        t.expect(r"ftp> ")

        # a failed command, then Ctrl-D: exit status 0 for a person
        t.type("get nothing-here\r")
        t.expect(r"550")
        t.expect(r"ftp> ")
        t.type("get dir/x.txt\r")
        t.expect(r"ftp> ")
        t.type(CTRL_D)
        code = t.wait()
        check(code == 0, "an interactive session with a failed command exits 0 (%d)" % code)

        text = open(history, errors="replace").read()
        check(os.stat(history).st_mode & 0o777 == 0o600 and "notes.txt" in text
              and PASSWORD not in text and USER not in text,
              "the history file is private and holds commands, not the login")

        # after a restart the history is there: Up recalls the last command
        os.unlink(os.path.join(work, "x.txt"))
        t = Terminal(["ftp://%s@127.0.0.1:%d/" % (USER, srv.port)], work,
                     dict(env, CORIO_FTP_PASSWORD=PASSWORD))
        t.expect(r"230.*\n.*ftp> ")
        t.type(UP)
        t.expect(r"get dir/x\.txt")
        t.type("\r")
        check(wait_for(os.path.join(work, "x.txt")), "Up after a restart recalls the last session's command")
        t.expect(r"ftp> ")
        t.type("bye\r")
        check(t.wait() == 0, "bye ends the session")

        # a script still fails as a whole when one command fails
        p = run([], cwd=work, input="open 127.0.0.1 %d\nuser %s \"%s\"\nget nothing-here\nbye\n"
                % (srv.port, USER, PASSWORD))
        check(p.returncode == 1 and "550" in p.stderr, "a script with a failed command exits 1", p)


main()
