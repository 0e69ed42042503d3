"""corio-ftp over FTPS: ftpes:// and --tls (AUTH TLS), ftps:// (implicit),
against corio-ftpd with tls = required (which refuses a data connection
that does not resume the control session) and against vsftpd with
ssl_enable=YES and require_ssl_reuse=YES: get, put, ls, -j 4, mirror and
resume (-c); verification on by default (--cafile, --insecure).
CIO_TEST_TIMEOUT=90"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

from ftp_client_util import FTPD, check, run, sha256, skip, write_file

VSFTPD = "/usr/sbin/vsftpd"


def make_pair(d):
    crt, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", crt],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    return crt, key


def client(*args):
    return run(["-q"] + list(args), timeout=60)


def corio_ftpd(d, crt, key, root):
    p = subprocess.Popen([FTPD, "--root", root, "--listen", "127.0.0.1",
                          "-p", "0", "--user", "tester:pw", "--login-delay",
                          "0", "--tls", "required", "--tls-cert", crt,
                          "--tls-key", key, "--tls-implicit-port", "0",
                          "--log-file", os.path.join(d, "events")],
                         stdout=subprocess.PIPE, text=True)
    port = int(p.stdout.readline().rsplit(":", 1)[1])
    iport = int(p.stdout.readline().rsplit(":", 1)[1])
    return p, port, iport


def against_corio(d, crt, key):
    root = os.path.join(d, "root")
    os.makedirs(os.path.join(root, "dir"))
    files = ["a.bin", "b.bin", "c.bin", "dir/d.bin", "dir/e.bin"]
    for i, name in enumerate(files):
        write_file(os.path.join(root, name), 700000 + i * 1000, seed=i)
    srv, port, iport = corio_ftpd(d, crt, key, root)
    try:
        es = "ftpes://tester:pw@localhost:%d" % port
        out = os.path.join(d, "out")
        os.makedirs(out)
        p = client("--cafile", crt, "-j", "4", "get", es + "/a.bin",
                   es + "/b.bin", es + "/c.bin", "-o", out)
        check(p.returncode == 0, "get -j 4 over ftpes://", p)
        for n in ("a.bin", "b.bin", "c.bin"):
            check(sha256(os.path.join(out, n)) ==
                  sha256(os.path.join(root, n)), n)
        # Implicit TLS and resume of a partial file.
        with open(os.path.join(root, "a.bin"), "rb") as f:
            head = f.read(300000)
        part = os.path.join(out, "a.bin")
        with open(part, "wb") as f:
            f.write(head)
        p = client("--cafile", crt, "-c", "get",
                   "ftps://tester:pw@localhost:%d/a.bin" % iport, "-o", out)
        check(p.returncode == 0 and
              sha256(part) == sha256(os.path.join(root, "a.bin")),
              "ftps:// resume", p)
        # --tls on an ftp:// URL; upload; listing.
        up = os.path.join(d, "up.bin")
        write_file(up, 1500000, seed=9)
        url = "ftp://tester:pw@localhost:%d" % port
        p = client("--cafile", crt, "--tls", "put", up, url + "/up.bin")
        check(p.returncode == 0 and
              sha256(os.path.join(root, "up.bin")) == sha256(up), "put", p)
        p = client("--cafile", crt, "--tls", "ls", url + "/dir/")
        check(p.returncode == 0 and "d.bin" in p.stdout, "ls", p)
        mirror = os.path.join(d, "mirror")
        p = client("--cafile", crt, "-j", "4", "mirror", es + "/dir/", mirror)
        check(p.returncode == 0 and sorted(os.listdir(mirror)) ==
              ["d.bin", "e.bin"], "mirror", p)
        # Verification is on by default; --insecure turns it off.
        p = client("get", es + "/b.bin", "-o", os.path.join(d, "x"))
        check(p.returncode != 0 and "certificate verify failed" in p.stderr,
              "untrusted certificate refused", p)
        p = client("--insecure", "get", es + "/b.bin", "-o", out)
        check(p.returncode == 0, "--insecure", p)
        p = client("--cafile", crt, "get", url + "/b.bin", "-o", out)
        check(p.returncode != 0 and "530" in p.stderr, "plain refused", p)
        with open(os.path.join(d, "events")) as f:
            events = f.read()
        check("data connection refused" not in events,
              "every data connection resumed the control session")
    finally:
        srv.terminate()
        check(srv.wait(20) == 0, "corio-ftpd exit status")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def against_vsftpd(d, crt, key):
    root = os.path.join(d, "vroot")
    pub = os.path.join(root, "pub")
    os.makedirs(pub)
    os.chmod(root, 0o755)
    os.chmod(pub, 0o777)
    write_file(os.path.join(pub, "v.bin"), 2000000, seed=3)
    port = free_port()
    conf = os.path.join(d, "vsftpd.conf")
    with open(conf, "w") as f:
        f.write("""listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=%d
background=NO
anonymous_enable=YES
local_enable=NO
write_enable=YES
anon_upload_enable=YES
anon_root=%s
no_anon_password=YES
pasv_enable=YES
xferlog_enable=NO
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
secure_chroot_dir=/var/run/vsftpd/empty
ssl_enable=YES
allow_anon_ssl=YES
force_anon_logins_ssl=YES
force_anon_data_ssl=YES
require_ssl_reuse=YES
rsa_cert_file=%s
rsa_private_key_file=%s
""" % (port, root, crt, key))
    os.makedirs("/var/run/vsftpd/empty", exist_ok=True)
    v = subprocess.Popen([VSFTPD, conf], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if time.time() > deadline or v.poll() is not None:
                    skip("vsftpd did not start: %s" % v.stderr.read())
                time.sleep(0.05)
        url = "ftpes://anonymous:x@localhost:%d/pub" % port
        out = os.path.join(d, "vout")
        os.makedirs(out)
        p = client("--cafile", crt, "get", url + "/v.bin", "-o", out)
        check(p.returncode == 0 and sha256(os.path.join(out, "v.bin")) ==
              sha256(os.path.join(pub, "v.bin")), "get from vsftpd", p)
        p = client("--cafile", crt, "put", os.path.join(out, "v.bin"),
                   url + "/up.bin")
        check(p.returncode == 0 and sha256(os.path.join(pub, "up.bin")) ==
              sha256(os.path.join(pub, "v.bin")), "put to vsftpd", p)
        p = client("--cafile", crt, "ls", url + "/")
        check(p.returncode == 0 and "up.bin" in p.stdout, "ls vsftpd", p)
    finally:
        v.terminate()
        v.wait(10)


def main():
    if shutil.which("openssl") is None:
        skip("the openssl command is not installed")
    d = tempfile.mkdtemp(prefix="ftpsclient.")
    try:
        crt, key = make_pair(d)
        against_corio(d, crt, key)
        if os.access(VSFTPD, os.X_OK) and os.geteuid() == 0:
            against_vsftpd(d, crt, key)
        else:
            print("vsftpd part skipped: needs %s and root" % VSFTPD)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
