"""corio-ftpd operation: --help, --version, required --root, bad flags,
the config file and flags overriding it, SIGHUP reloading users and
settings without dropping sessions (and keeping the old ones when the new
file is broken), SIGTERM letting a transfer finish while idle sessions get
421, and the grace period cutting a stalled transfer. CIO_TEST_TIMEOUT=60"""

import ftplib
import io
import os
import re
import select
import signal
import socket
import subprocess
import tempfile
import time

from ftpd_common import FTPD, Server, expect, pasv_port


def run(*args):
    return subprocess.run([FTPD] + list(args), capture_output=True,
                          text=True, timeout=20)


def cli():
    r = run("--help")
    expect(r.returncode == 0 and "--root" in r.stdout and
           "--pasv-ports" in r.stdout and "passwd" in r.stdout, r.stdout)
    r = run("--version")
    expect(r.returncode == 0 and r.stdout.startswith("corio-ftpd "), r.stdout)
    r = run()
    expect(r.returncode == 2 and "--root" in r.stderr, r.stderr)
    r = run("--root", "/nonexistent/dir")
    expect(r.returncode == 2 and "/nonexistent/dir" in r.stderr, r.stderr)
    with tempfile.TemporaryDirectory() as d:
        for bad in (["--port", "abc"], ["--no-such-flag", "1"],
                    ["--pasv-ports", "2000"], ["--pasv-ports", "80-90"],
                    ["--user", "nocolon"], ["--fsync", "sometimes"],
                    ["--pasv-address", "not-an-ip"], ["--workers", "257"],
                    ["--idle-timeout"], ["stray"]):
            r = run("--root", d, *bad)
            expect(r.returncode == 2 and r.stderr, "%s: %s" % (bad, r.stderr))
        r = run("--root", d, "--config", os.path.join(d, "missing.conf"))
        expect(r.returncode == 2 and "missing.conf" in r.stderr, r.stderr)
        conf = os.path.join(d, "bad.conf")
        with open(conf, "w") as f:
            f.write("# comment\n\nport = 0\nthis line is wrong\n")
        r = run("--root", d, "--config", conf)
        expect(r.returncode == 2 and "bad.conf:4" in r.stderr, r.stderr)


def write_conf(path, text):
    with open(path + ".new", "w") as f:
        f.write(text)
    os.replace(path + ".new", path)


def reload():
    with tempfile.TemporaryDirectory() as d:
        root = os.path.join(d, "root")
        os.mkdir(root)
        conf = os.path.join(d, "ftpd.conf")
        write_conf(conf, "root = %s\nuser = ann:one\nbanner = first\n"
                         "login_delay = 0\n" % root)
        with Server("--config", conf, "--max-sessions", "50",
                    users=()) as srv:
            old = srv.ftp("ann", "one")
            expect(old.getwelcome() == "220 first", old.getwelcome())
            write_conf(conf, "root = %s\nuser = bob:two\nbanner = second\n"
                             "login_delay = 0\n" % root)
            srv.proc.send_signal(signal.SIGHUP)
            deadline = time.time() + 10
            while "reloaded" not in srv.events() and time.time() < deadline:
                time.sleep(0.1)
            expect("reloaded" in srv.events(), srv.events())
            expect(old.sendcmd("NOOP").startswith("200"), "session kept")
            new = srv.ftp("bob", "two")
            expect(new.getwelcome() == "220 second", new.getwelcome())
            new.quit()
            try:
                srv.ftp("ann", "one")
                raise AssertionError("old user still accepted")
            except ftplib.error_perm:
                pass
            # A broken file: the server keeps what it has.
            write_conf(conf, "root = %s\nport = many\n" % root)
            srv.proc.send_signal(signal.SIGHUP)
            deadline = time.time() + 10
            while "reload failed" not in srv.events() and \
                    time.time() < deadline:
                time.sleep(0.1)
            expect("reload failed" in srv.events(), srv.events())
            srv.ftp("bob", "two").quit()
            old.quit()


def workers(events):
    """How many workers the server's start line says it runs."""
    m = re.search(r"with (\d+) workers", events)
    return int(m.group(1)) if m else 1


def graceful_stop():
    srv = Server("--grace", "20")
    try:
        data = os.urandom(8 << 20)
        srv.write("big.bin", data)
        idle = srv.ftp()
        r = srv.raw()
        r.cmd("USER alice")
        r.cmd("PASS wonder")
        d = socket.create_connection(("127.0.0.1", pasv_port(r.cmd("PASV"))))
        d.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        expect(r.cmd("RETR big.bin").startswith("150"), "150")
        got = d.recv(65536)
        srv.proc.send_signal(signal.SIGTERM)
        # The idle session hears 421 at once.
        t0 = time.time()
        try:
            resp = idle.getresp()
        except ftplib.error_temp as e:
            resp = str(e)
        expect(resp.startswith("421") and time.time() - t0 < 5, resp)
        # New connections are refused while the transfer goes on, at once:
        # none waits unanswered in a listening socket nobody accepts from,
        # once every worker has begun to stop.
        expect(srv.wait_events(lambda ev: ev.count("stopping:") >= workers(ev)),
               "not every worker stopping:\n" + srv.events())
        try:
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=2)
            g = s.recv(100)
            expect(g == b"" or g.startswith(b"421"), g)
            s.close()
        except (ConnectionRefusedError, ConnectionResetError):
            pass
        # The transfer finishes, byte for byte, then 226 and 421.
        while True:
            b = d.recv(1 << 20)
            if not b:
                break
            got += b
        expect(got == data, "transfer finished during the grace period")
        expect(r.reply().startswith("226"), "226")
        expect(r.reply().startswith("421"), "421 after the transfer")
        srv.stop(timeout=20)
    finally:
        srv.cleanup()
    # A stalled transfer is cut when the grace period ends.
    srv = Server("--grace", "1")
    try:
        srv.write("big.bin", os.urandom(32 << 20))
        r = srv.raw()
        r.cmd("USER alice")
        r.cmd("PASS wonder")
        d = socket.create_connection(("127.0.0.1", pasv_port(r.cmd("PASV"))))
        d.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        expect(r.cmd("RETR big.bin").startswith("150"), "150")
        expect(select.select([d], [], [], 10)[0], "no data before SIGTERM")
        t0 = time.time()
        srv.stop(timeout=15)
        expect(time.time() - t0 < 10, "grace period not enforced")
        d.close()
    finally:
        srv.cleanup()


def pasv_address():
    with Server("--pasv-address", "10.1.2.3", "--pasv-ports",
                "50100-50110") as srv:
        r = srv.raw()
        r.cmd("USER alice")
        r.cmd("PASS wonder")
        for _ in range(3):
            rep = r.cmd("PASV")
            expect(rep.startswith("227 Entering Passive Mode (10,1,2,3,"), rep)
            port = pasv_port(rep)
            expect(50100 <= port <= 50110, "port %d outside the range" % port)
        r.cmd("QUIT")


def main():
    cli()
    pasv_address()
    reload()
    graceful_stop()
    print("ok")


if __name__ == "__main__":
    main()
