"""corio-ftpd shutdown while a transfer's final reply is stuck: a client with
a small receive buffer starts RETR of a big file, floods NOOP without reading
a reply (so the control connection fills up in both directions), drains the
data connection, then the server gets SIGTERM with a short grace period. The
transfer's final reply is then blocked on the full control connection when
the grace period ends, and the session is torn down around it. The server
must exit cleanly (status 0, and no sanitizer report under SAN=1).
CIO_TEST_TIMEOUT=90"""

import os
import socket
import threading
import time

from ftpd_common import Server, expect, pasv_port


def flood(sock, stop):
    """NOOPs until the server stops reading them (send blocks) or stop."""
    sock.setblocking(False)
    line = b"NOOP\r\n" * 512
    while not stop.is_set():
        try:
            sock.send(line)
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:
            return


def stuck_final_reply(workers):
    srv = Server("--grace", "2", "--workers", str(workers))
    try:
        path = srv.path("big.bin")
        with open(path, "wb") as f:
            f.truncate(64 << 20)
        r = srv.raw()
        r.cmd("USER alice")
        r.cmd("PASS wonder")
        r.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        d = socket.socket()
        d.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        d.connect(("127.0.0.1", pasv_port(r.cmd("PASV"))))
        expect(r.cmd("RETR big.bin").startswith("150"), "150")
        stop = threading.Event()
        t = threading.Thread(target=flood, args=(r.sock, stop), daemon=True)
        t.start()
        # Drain the data: the transfer ends and wants to send 226 on a
        # control connection whose replies nobody reads.
        got = 0
        d.settimeout(60)
        while True:
            b = d.recv(1 << 20)
            if not b:
                break
            got += len(b)
        expect(got == 64 << 20, "data drained (%d bytes)" % got)
        d.close()
        t0 = time.time()
        srv.stop(timeout=20)
        expect(time.time() - t0 < 15, "grace period not enforced")
        stop.set()
        t.join(5)
        r.close()
    finally:
        srv.cleanup()


def main():
    for workers in (1, 2):
        stuck_final_reply(workers)
    print("ok")


if __name__ == "__main__":
    main()
