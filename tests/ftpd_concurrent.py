"""corio-ftpd under load: 200 clients at once, each uploading and then
downloading its own file (sizes from 0 B to 256 KiB), every byte checked by
sha256, in passive and active mode. CIO_TEST_TIMEOUT=90"""

import hashlib
import io
import os
import threading

from ftpd_common import Server, expect

CLIENTS = 200


def client(srv, i, errors, barrier):
    try:
        size = [0, 1, 4096, 65536, 256 << 10][i % 5] + (i if i % 5 else 0)
        data = os.urandom(size)
        name = "c%03d.bin" % i
        f = srv.ftp(timeout=60)
        f.set_pasv(i % 4 != 0)  # a quarter in active mode
        barrier.wait(30)  # all sessions are open at the same time
        f.storbinary("STOR " + name, io.BytesIO(data), blocksize=1 << 16)
        got = io.BytesIO()
        f.retrbinary("RETR " + name, got.write)
        if hashlib.sha256(got.getvalue()).digest() != \
                hashlib.sha256(data).digest():
            errors.append("client %d: download differs" % i)
        with open(srv.path(name), "rb") as fh:
            if hashlib.sha256(fh.read()).digest() != \
                    hashlib.sha256(data).digest():
                errors.append("client %d: stored file differs" % i)
        f.quit()
    except Exception as e:  # reported below, with the client's number
        errors.append("client %d: %r" % (i, e))
        barrier.abort()


def main():
    with Server("--max-per-ip", "0", "--max-sessions", "1000") as srv:
        errors = []
        barrier = threading.Barrier(CLIENTS)
        threads = [threading.Thread(target=client,
                                    args=(srv, i, errors, barrier))
                   for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        expect(not errors, "\n".join(errors[:10]))
        files = [n for n in os.listdir(srv.root) if n.endswith(".bin")]
        expect(len(files) == CLIENTS, "%d files" % len(files))
        expect(not [n for n in os.listdir(srv.root) if ".part" in n],
               "temporary files left")
    print("ok")


if __name__ == "__main__":
    main()
