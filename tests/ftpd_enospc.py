"""corio-ftpd on a full disk: the server runs in a mount namespace over a
4 MiB tmpfs; an upload that does not fit gets 452 and leaves no file (and
no temporary file: the space comes back), an APPE that does not fit gives
the file back its old size. Skipped where namespaces are not allowed.
CIO_TEST_TIMEOUT=60"""

import ftplib
import io
import os
import shutil
import subprocess

from ftpd_common import Server, expect, skip

MiB = 1 << 20


def upload(f, cmd, data):
    """Sends data; the server may reset the data connection when the disk
    fills, so the answer is read from the control connection either way.
    Returns the final reply."""
    conn = f.transfercmd(cmd)
    try:
        conn.sendall(data)
    except (ConnectionResetError, BrokenPipeError):
        pass
    conn.close()
    try:
        return f.getresp()
    except (ftplib.error_temp, ftplib.error_perm) as e:
        return str(e)


def main():
    if not shutil.which("unshare"):
        skip("unshare not installed")
    probe = subprocess.run(["unshare", "-rm", "sh", "-c",
                            "mount -t tmpfs -o size=1m tmpfs /mnt"],
                           capture_output=True)
    if probe.returncode != 0:
        skip("cannot mount a tmpfs in a user namespace here")
    mount = 'mount -t tmpfs -o size=4m tmpfs "$0" && exec "$@"'
    srv = Server(wrap=None)  # to learn the root path first
    root = srv.root
    srv.stop()
    srv.cleanup()
    srv = Server(root=root, wrap=["unshare", "-rm", "sh", "-c", mount, root])
    try:
        os.makedirs(root, exist_ok=True)
        f = srv.ftp()
        for attempt in range(2):  # twice: the first left no space behind
            r = upload(f, "STOR huge.bin", os.urandom(6 * MiB))
            expect(r.startswith("452"), r)
            expect(f.nlst() == [], "left behind: %s" % f.nlst())
        data = os.urandom(3 * MiB)
        f.storbinary("STOR fits.bin", io.BytesIO(data))
        got = io.BytesIO()
        f.retrbinary("RETR fits.bin", got.write)
        expect(got.getvalue() == data, "3 MiB file after the failures")
        r = upload(f, "APPE fits.bin", os.urandom(2 * MiB))
        expect(r.startswith("452"), r)
        expect(f.size("fits.bin") == 3 * MiB, "APPE rolled back")
        f.quit()
        srv.stop()
    finally:
        srv.cleanup()
    print("ok")


if __name__ == "__main__":
    main()
