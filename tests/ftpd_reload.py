"""corio-ftpd's SIGHUP applies the settings --help does not mark
"(restart)": umask (new files and directories, with one worker and with
two), and the SIGTERM grace period with several workers (a stalled
transfer is cut at the reloaded grace, not the one at start). Only listen,
port and workers are marked. CIO_TEST_TIMEOUT=90"""

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import io

from ftpd_common import FTPD, Server, expect, pasv_port


def write_conf(path, text):
    with open(path + ".new", "w") as f:
        f.write(text)
    os.replace(path + ".new", path)


def reload_and_wait(srv, count):
    """SIGHUP, then wait for the count-th "reloaded" line."""
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 15
    while srv.events().count("reloaded") < count:
        expect("reload failed" not in srv.events(), srv.events())
        expect(time.time() < deadline, "no reload:\n" + srv.events())
        time.sleep(0.05)


def mode(path):
    return os.stat(path).st_mode & 0o777


def umask_reload(workers):
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "ftpd.conf")
        write_conf(conf, "umask = 022\n")
        with Server("--config", conf, "--workers", str(workers)) as srv:
            f = srv.ftp()
            f.storbinary("STOR a.txt", io.BytesIO(b"a"))
            f.mkd("d1")
            expect(mode(srv.path("a.txt")) == 0o644, oct(mode(srv.path("a.txt"))))
            expect(mode(srv.path("d1")) == 0o755, oct(mode(srv.path("d1"))))
            write_conf(conf, "umask = 077\n")
            reload_and_wait(srv, 1)
            f.storbinary("STOR b.txt", io.BytesIO(b"b"))
            f.mkd("d2")
            f.quit()
            expect(mode(srv.path("b.txt")) == 0o600, oct(mode(srv.path("b.txt"))))
            expect(mode(srv.path("d2")) == 0o700, oct(mode(srv.path("d2"))))


def grace_reload():
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "ftpd.conf")
        write_conf(conf, "grace = 60\n")
        srv = Server("--config", conf, "--workers", "2")
        try:
            with open(srv.path("big.bin"), "wb") as f:
                f.truncate(64 << 20)
            r = srv.raw()
            r.cmd("USER alice")
            r.cmd("PASS wonder")
            data = socket.socket()
            data.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            data.connect(("127.0.0.1", pasv_port(r.cmd("PASV"))))
            expect(r.cmd("RETR big.bin").startswith("150"), "150")
            write_conf(conf, "grace = 1\n")
            reload_and_wait(srv, 1)
            t0 = time.time()
            srv.stop(timeout=30)
            took = time.time() - t0
            expect(took < 15, "grace of 1 s took %.1f s" % took)
            data.close()
        finally:
            srv.cleanup()


def restart_marks():
    out = subprocess.run([FTPD, "--help"], capture_output=True, text=True,
                         timeout=10).stdout
    marked = re.findall(r"^  --(\S+) .*\(restart\)$", out, re.M)
    expect(sorted(marked) == ["listen", "port", "workers"], marked)


def main():
    restart_marks()
    umask_reload(1)
    umask_reload(2)
    grace_reload()
    print("ok")


if __name__ == "__main__":
    main()
