"""fetch_many: concurrent connects with a deadline each, on 127.0.0.1 (an
echo server), on localhost (resolved on the offload pool), on a port with
nothing listening (refused at once) and on silent servers (each times out,
all together: the run takes about one deadline, not one per target).
CIO_TEST_ALL_BACKENDS"""
import os
import select
import signal
import socket
import subprocess
import sys
import time

BIN = os.environ.get("CIO_BIN", "build/bin")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    fetch = os.path.join(BIN, "fetch_many")
    echo = subprocess.Popen([os.path.join(BIN, "echo_server"), "-p", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([echo.stdout], [], [], 10)
        assert ready, "echo_server did not start"
        port = int(echo.stdout.readline().strip().rsplit(":", 1)[1])
        silent = []
        for _ in range(5):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen(8)
            silent.append(s)
        # chosen after the listeners: a port just freed can be handed out
        # again to a bind of port 0
        taken = {s.getsockname()[1] for s in silent}
        dead = free_port()
        while dead in taken or dead == port:
            dead = free_port()
        targets = ["127.0.0.1:%d" % port, "localhost:%d" % port,
                   "127.0.0.1:%d" % dead]
        targets += ["127.0.0.1:%d" % s.getsockname()[1] for s in silent]
        start = time.time()
        r = subprocess.run([fetch, "-t", "700", "-s", "hi there", *targets],
                           capture_output=True, text=True, timeout=30)
        took = time.time() - start
        print(r.stdout, r.stderr)
        assert r.returncode == 1, r.returncode
        lines = r.stdout.splitlines()
        assert len(lines) == len(targets) + 1, lines
        assert lines[0].startswith("127.0.0.1:%d ok in " % port), lines[0]
        assert lines[0].endswith(": hi there"), lines[0]
        assert "localhost:%d ok" % port in lines[1] and "hi there" in lines[1]
        assert "failed to connect" in lines[2] and "refused" in lines[2]
        for line in lines[3:3 + len(silent)]:
            assert "failed to receive" in line and "timed out" in line, line
        assert lines[-1].startswith("2 ok, 6 failed in "), lines[-1]
        assert 0.6 < took < 3.0, "took %.2f s: targets not concurrent" % took
        # all good: exit 0
        r = subprocess.run([fetch, "127.0.0.1:%d" % port], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0 and "1 ok, 0 failed" in r.stdout, r.stdout
        # bad arguments
        for args in ([], ["nohost"], ["h:0"], ["h:99999"], ["-t", "x", "h:1"]):
            r = subprocess.run([fetch, *args], capture_output=True, timeout=10)
            assert r.returncode == 2, (args, r.returncode)
        for s in silent:
            s.close()
    finally:
        echo.send_signal(signal.SIGTERM)
        echo.wait(timeout=10)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
