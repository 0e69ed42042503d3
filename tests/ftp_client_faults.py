"""corio-ftp when things go wrong, against pyftpdlib: resume (-c, REST)
after a killed download, Ctrl-C without -c, a server that disappears in
the middle of a transfer, a server that stops answering (--timeout), and a
refused connection. A failed download never leaves a file under its final
name, except with -c.
CIO_TEST_TIMEOUT=60"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftp_client_util import (CLIENT, Workspace, check, leftovers,
                             need_client, need_pyftpdlib, run, sha256,
                             write_file)

SIZE = 4 << 20
RATE = 512 << 10  # bytes a second from the throttled server


def start(args):
    env = dict(os.environ)
    env.pop("CORIO_FTP_PASSWORD", None)
    return subprocess.Popen([CLIENT] + args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def wait_for_bytes(directory, least, limit=10.0, final=None):
    """Waits until a file in directory (final, or a temporary one) holds
    at least `least` bytes; returns its size."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        names = [final] if final else os.listdir(directory) if os.path.isdir(directory) else []
        for name in names:
            path = os.path.join(directory, name)
            if os.path.exists(path) and os.path.getsize(path) >= least:
                return os.path.getsize(path)
        time.sleep(0.05)
    return -1


def finish(proc, limit=15):
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += "\n(killed after %ss)" % limit
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def main():
    need_client()
    need_pyftpdlib()
    with Workspace() as ws:
        root = ws.path("srv")
        write_file(os.path.join(root, "big.bin"), SIZE)
        want = sha256(os.path.join(root, "big.bin"))
        slow = ws.server(root=root, rate=RATE)
        fast = ws.server(root=root)

        # resume: kill a -c download half way, then continue it
        out = ws.path("resume")
        proc = start(["-c", "get", slow.url("big.bin"), "-o", out])
        got = wait_for_bytes(out, 300 << 10, final="big.bin")
        proc.kill()
        proc.wait()
        partial = os.path.getsize(os.path.join(out, "big.bin")) if got > 0 else -1
        check(0 < partial < SIZE, "a killed -c download keeps its partial file (%d bytes)" % partial)
        p = run(["-c", "get", fast.url("big.bin"), "-o", out])
        check(p.returncode == 0 and sha256(os.path.join(out, "big.bin")) == want,
              "-c completes the file", p)
        check("REST" in fast.commands() and "resumed" in p.stderr,
              "the rest came with REST, not from the start", p)
        p = run(["-c", "get", fast.url("big.bin"), "-o", out])
        check(p.returncode == 0 and sha256(os.path.join(out, "big.bin")) == want,
              "-c on a complete file changes nothing", p)

        # Ctrl-C without -c: nothing under the final name, no temp file
        out = ws.path("interrupt")
        proc = start(["get", slow.url("big.bin"), "-o", out])
        wait_for_bytes(out, 100 << 10)
        proc.send_signal(signal.SIGINT)
        p = finish(proc)
        check(p.returncode != 0 and not os.path.exists(os.path.join(out, "big.bin"))
              and not leftovers(out), "Ctrl-C leaves neither a partial nor a temporary file", p)

        # the server disappears in the middle of a download
        doomed = ws.server(root=root, rate=RATE)
        out = ws.path("vanish")
        proc = start(["get", doomed.url("big.bin"), "-o", out])
        wait_for_bytes(out, 100 << 10)
        t0 = time.monotonic()
        doomed.stop(signal.SIGKILL)
        p = finish(proc)
        check(p.returncode != 0 and time.monotonic() - t0 < 10,
              "a vanished server fails the download promptly", p)
        check("big.bin" in p.stderr and len(p.stderr.strip().splitlines()) >= 1,
              "with one line naming the file: " + p.stderr.strip().splitlines()[-1:][0] if p.stderr.strip() else "", p)
        check(not os.path.exists(os.path.join(out, "big.bin")) and not leftovers(out),
              "and no partial file", p)

        # ... and in the middle of an upload
        doomed = ws.server(root=ws.path("upload-root"), rate=RATE)
        proc = start(["put", os.path.join(root, "big.bin"), doomed.url("big.bin")])
        wait_for_bytes(ws.path("upload-root"), 100 << 10, final="big.bin")
        doomed.stop(signal.SIGKILL)
        p = finish(proc)
        check(p.returncode != 0 and "big.bin" in p.stderr, "a vanished server fails the upload", p)

        # a server that stops answering: --timeout gives up
        frozen = ws.server(root=root, rate=RATE)
        out = ws.path("frozen")
        proc = start(["--timeout", "1", "get", frozen.url("big.bin"), "-o", out])
        wait_for_bytes(out, 100 << 10)
        os.kill(frozen.proc.pid, signal.SIGSTOP)
        t0 = time.monotonic()
        p = finish(proc)
        took = time.monotonic() - t0
        os.kill(frozen.proc.pid, signal.SIGCONT)
        check(p.returncode != 0 and "timed out" in p.stderr and took < 8,
              "--timeout 1 gives up on a silent server (%.1f s)" % took, p)
        check(not os.path.exists(os.path.join(out, "big.bin")) and not leftovers(out),
              "and leaves no partial file", p)

        # nobody listening
        port = frozen.port
        frozen.stop()
        p = run(["get", "ftp://127.0.0.1:%d/big.bin" % port, "-o", ws.path("refused")])
        check(p.returncode != 0 and "connect" in p.stderr, "a refused connection is reported", p)


main()
