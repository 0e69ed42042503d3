"""corio-ftpd --workers 2: sessions spread over two worker threads share
the per-address limit, transfers stay intact under load, SIGHUP reaches
every worker and SIGTERM stops the group cleanly. CIO_TEST_TIMEOUT=60"""

import ftplib
import hashlib
import io
import os
import shutil
import signal
import tempfile
import threading
import time

from ftpd_common import Server, expect


def main():
    conf_dir = tempfile.mkdtemp(prefix="ftpdconf.")
    conf = os.path.join(conf_dir, "ftpd.conf")
    with open(conf, "w") as fh:
        fh.write("banner = before\n")
    with Server("--workers", "2", "--max-per-ip", "6", "--config", conf,
                "--max-sessions", "100") as srv:
        # The per-address limit holds across both workers.
        conns = [srv.raw() for _ in range(6)]
        for c in conns:
            expect(c.greeting.startswith("220"), c.greeting)
        extra = srv.raw()
        expect(extra.greeting.startswith("421"), extra.greeting)
        for c in conns:
            c.close()
        time.sleep(0.3)
        # Concurrent transfers, every byte checked.
        errors = []

        def client(i):
            try:
                data = os.urandom(200000 + i)
                f = srv.ftp()
                f.storbinary("STOR w%d" % i, io.BytesIO(data))
                got = io.BytesIO()
                f.retrbinary("RETR w%d" % i, got.write)
                if hashlib.sha256(got.getvalue()).digest() != \
                        hashlib.sha256(data).digest():
                    errors.append("client %d: data differs" % i)
                f.quit()
            except Exception as e:
                errors.append("client %d: %r" % (i, e))

        threads = [threading.Thread(target=client, args=(i,))
                   for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        expect(not errors, "\n".join(errors))
        # SIGHUP: every worker takes the new settings.
        with open(conf, "w") as fh:
            fh.write("banner = after\n")
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while "reloaded" not in srv.events() and time.time() < deadline:
            time.sleep(0.1)
        expect("reloaded" in srv.events(), srv.events())
        for _ in range(8):  # new connections land on both workers
            f = srv.ftp()
            expect(f.getwelcome() == "220 after", f.getwelcome())
            f.quit()
    shutil.rmtree(conf_dir)
    print("ok")


if __name__ == "__main__":
    main()
