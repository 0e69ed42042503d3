"""echo_server: a task per connection. Many clients at once, large and
pipelined messages, a client that leaves mid-stream, -p 0, bad flags, and
a clean exit (status 0) on SIGTERM and SIGINT with connections open.
CIO_TEST_ALL_BACKENDS"""
import os
import select
import signal
import socket
import subprocess
import sys
import time

BIN = os.path.join(os.environ.get("CIO_BIN", "build/bin"), "echo_server")


def start(*args):
    p = subprocess.Popen([BIN, "-p", "0", *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([p.stdout], [], [], 10)
    assert ready, "no listening line"
    line = p.stdout.readline().strip()
    assert line.startswith("listening on 127.0.0.1:"), line
    return p, int(line.rsplit(":", 1)[1])


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        assert chunk, "early EOF"
        data += chunk
    return data


def echo_big(c, mib=1, pause=0.0):
    """Echoes mib MiB through c, sending and reading as the socket allows;
    with a pause, nothing is read until sending has stalled that long."""
    big = bytes(range(256)) * 4096 * mib
    got = bytearray()
    c.setblocking(False)
    sent = 0
    deadline = time.time() + 20
    idle_since = time.time()
    while len(got) < len(big):
        assert time.time() < deadline, "big echo stalled"
        reading = time.time() - idle_since >= pause
        r, w, _ = select.select([c] if reading else [],
                                [c] if sent < len(big) else [], [], 0.1)
        if w:
            try:
                sent += c.send(big[sent:sent + 65536])
                idle_since = time.time()
            except BlockingIOError:
                pass
        if r:
            try:
                got += c.recv(65536)
            except BlockingIOError:
                pass
    assert bytes(got) == big
    c.setblocking(True)


def check_many(port):
    clients = [socket.create_connection(("127.0.0.1", port), timeout=10)
               for _ in range(50)]
    for rnd in range(5):
        for i, c in enumerate(clients):
            c.sendall(b"hello %d %d\n" % (i, rnd))
        for i, c in enumerate(clients):
            msg = b"hello %d %d\n" % (i, rnd)
            assert recv_exact(c, len(msg)) == msg
    echo_big(clients[0])
    # A client that stops reading until every buffer on the way is full:
    # the server's replies go out in parts, the rest from the task's own
    # copy (more bytes than the socket buffers on both sides hold).
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    slow.connect(("127.0.0.1", port))
    echo_big(slow, mib=8, pause=0.5)
    slow.close()
    # a client that sends and leaves without reading
    rude = socket.create_connection(("127.0.0.1", port), timeout=10)
    rude.sendall(b"x" * 100000)
    rude.close()
    return clients


def main():
    if not os.access(BIN, os.X_OK):
        print("FAIL: %s missing" % BIN)
        return 1
    backend = os.environ.get("CIO_BACKEND", "epoll")
    for sig in (signal.SIGTERM, signal.SIGINT):
        p, port = start("-b", backend)
        clients = check_many(port)
        p.send_signal(sig)
        rc = p.wait(timeout=10)
        err = p.stderr.read()
        assert rc == 0, "exit %d after %s: %s" % (rc, sig, err)
        for c in clients:  # the server closed every connection
            c.settimeout(5)
            assert c.recv(1) == b""
            c.close()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            raise AssertionError("still listening after exit")
        except ConnectionRefusedError:
            pass
    # -v logs connections
    p, port = start("-v")
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"v")
    assert recv_exact(c, 1) == b"v"
    c.close()
    out = b""  # the server logs the close before it is stopped
    deadline = time.time() + 10
    while b"closing fd" not in out and time.time() < deadline:
        if select.select([p.stdout], [], [], 0.1)[0]:
            out += os.read(p.stdout.fileno(), 4096)
    p.send_signal(signal.SIGTERM)
    out = out.decode() + p.stdout.read()
    assert p.wait(timeout=10) == 0
    assert "connection from 127.0.0.1" in out and "closing fd" in out, out
    # bad flags
    for args in (["-p", "x"], ["-p", "70000"], ["-z"], ["extra"]):
        r = subprocess.run([BIN, *args], capture_output=True, timeout=10)
        assert r.returncode == 2, (args, r.returncode)
    r = subprocess.run([BIN, "-p", "0", "-b", "nosuch"], capture_output=True,
                       timeout=10)
    assert r.returncode == 1, r.returncode
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
