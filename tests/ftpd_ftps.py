"""corio-ftpd FTPS (RFC 4217) with Python's ftplib.FTP_TLS, TLS 1.2 and 1.3:
explicit (AUTH TLS) and implicit listeners, FEAT, PBSZ/PROT/CCC, transfers
checked byte for byte, ABOR (also during a HASH) and the idle timeout over
TLS; data connections must resume the control connection's session (stock ftplib, which does not,
is refused unless tls-require-reuse is off; another session's TLS session is
refused); tls = required refuses plaintext USER and PROT C; garbage instead
of a ClientHello; a world-readable key refused at start; certificates
reloaded on SIGHUP without dropping a session. CIO_TEST_TIMEOUT=90"""

import ftplib
import io
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

from ftpd_common import FTPD, Server, expect, skip


def make_pair(d, name):
    crt, key = os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", "/CN=" + name, "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", crt],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    return crt, key


class Reuse(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume a TLS session: the control
    connection's (what vsftpd's and proftpd's users subclass it for), or
    the one in .data_session when a test sets it."""
    data_session = None

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            sess = self.data_session or self.sock.session
            conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                            session=sess)
        return conn, size


class Implicit(Reuse):
    """Implicit FTPS: TLS from the first byte, then the greeting."""

    def connect(self, host, port, timeout=30):
        self.host, self.port = host, port
        raw = socket.create_connection((host, port), timeout)
        self.sock = self.context.wrap_socket(raw, server_hostname=host)
        self.af = self.sock.family
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome


def context(crt, version):
    ctx = ssl.create_default_context(cafile=crt)
    ctx.minimum_version = ctx.maximum_version = version
    return ctx


def login(srv, ctx, cls=Reuse):
    f = cls(context=ctx, timeout=30)
    f.connect("127.0.0.1", srv.port)
    f.login("alice", "wonder")
    f.prot_p()
    return f


def error_of(fn):
    try:
        fn()
    except ftplib.all_errors as e:
        return str(e)
    return ""


def data_refused(f, fn):
    """The reply to a data command whose data connection the server
    refused (ssl may fail first, then the 425 is still to be read)."""
    err = error_of(fn)
    if not err[:3].isdigit():
        err = error_of(f.voidresp)
    return err


def transfers(srv, f, big):
    """RETR, STOR, APPE, REST, LIST over protected data connections."""
    out = io.BytesIO()
    f.retrbinary("RETR big.bin", out.write)
    expect(out.getvalue() == big, "RETR over TLS differs")
    f.storbinary("STOR up.bin", io.BytesIO(big))
    expect(srv.read("up.bin") == big, "STOR over TLS differs")
    f.storbinary("APPE up.bin", io.BytesIO(b"tail"))
    expect(srv.read("up.bin") == big + b"tail", "APPE over TLS")
    out = io.BytesIO()
    f.retrbinary("RETR big.bin", out.write, rest=1000)
    expect(out.getvalue() == big[1000:], "REST+RETR over TLS")
    names = f.nlst()
    expect("big.bin" in names and "up.bin" in names, "NLST: %r" % names)
    f.delete("up.bin")


def abort_and_timeouts(srv, f):
    """ABOR in the middle of a download, then the session goes on."""
    conn = f.transfercmd("RETR huge.bin")
    expect(len(conn.recv(65536)) > 0, "download started")
    f.putcmd("ABOR")
    conn.close()
    replies = [f.getline()[:3], f.getline()[:3]]
    expect("226" in replies or "225" in replies, "ABOR: %r" % replies)
    expect(f.voidcmd("NOOP").startswith("200"), "session after ABOR")


def hash_abort(srv, crt):
    """ABOR during a HASH over TLS: the HASH stops at once and the control
    connection's TLS stream goes on (its watch reads through TLS)."""
    with open(srv.path("sparse.bin"), "wb") as fh:
        fh.truncate(16 << 30)  # reading it costs CPU, not disk
    f = login(srv, context(crt, ssl.TLSVersion.TLSv1_3))
    f.putcmd("HASH sparse.bin")
    time.sleep(0.2)
    t0 = time.time()
    f.putcmd("ABOR")
    rep = f.getline()
    expect(rep.startswith("451") and time.time() - t0 < 5,
           "HASH after ABOR over TLS: %r" % rep)
    expect(f.getline()[:1] == "2", "ABOR over TLS answered")
    expect(f.voidcmd("NOOP").startswith("200"), "session after HASH + ABOR")
    f.quit()
    os.unlink(srv.path("sparse.bin"))


def explicit(srv, crt, version, big):
    ctx = context(crt, version)
    f = login(srv, ctx)
    want = "TLSv1.3" if version == ssl.TLSVersion.TLSv1_3 else "TLSv1.2"
    expect(f.sock.version() == want, f.sock.version())
    feat = f.sendcmd("FEAT")
    for item in ("AUTH TLS", "PBSZ", "PROT"):
        expect(item in feat, "FEAT lacks " + item)
    expect(error_of(lambda: f.sendcmd("CCC")).startswith("534"), "CCC")
    transfers(srv, f, big)
    abort_and_timeouts(srv, f)

    # Another session's TLS session cannot open this one's data connection.
    g = login(srv, ctx)
    g.nlst()  # lets TLS 1.3 tickets arrive on g's control connection
    f.data_session = g.sock.session
    err = data_refused(f, f.nlst)
    expect(err.startswith("425"), "foreign session: %r" % err)
    expect("belongs to another control connection" in srv.events() or
           "not a resumed one" in srv.events(), "refusal logged")
    f.data_session = None
    expect("big.bin" in f.nlst(), "own session still works")
    g.quit()
    f.quit()

    # Stock ftplib does not resume: refused while reuse is required.
    s = ftplib.FTP_TLS(context=ctx, timeout=30)
    s.connect("127.0.0.1", srv.port)
    s.login("alice", "wonder")
    s.prot_p()
    err = data_refused(s, s.nlst)
    expect(err.startswith("425"), "no reuse: %r" % err)
    s.close()


def implicit(srv, crt, version, big):
    f = login(srv, context(crt, version), Implicit)
    out = io.BytesIO()
    f.retrbinary("RETR big.bin", out.write)
    expect(out.getvalue() == big, "implicit RETR")
    f.quit()


def required(srv, crt):
    r = srv.raw()
    reply = r.cmd("USER alice")
    expect(reply.startswith("530") and "TLS" in reply, "plain USER: " + reply)
    r.close()
    f = login(srv, context(crt, ssl.TLSVersion.TLSv1_3))
    expect(error_of(lambda: f.sendcmd("PROT C")).startswith("534"), "PROT C")
    f.sendcmd("PROT P")
    f.nlst()
    f.quit()
    # Logged in over TLS, but PROT C never accepted: no clear data.
    f = Reuse(context=context(crt, ssl.TLSVersion.TLSv1_2), timeout=30)
    f.connect("127.0.0.1", srv.port)
    f.login("alice", "wonder")
    expect(error_of(lambda: f.sendcmd("PASV")).startswith("521"), "PASV")
    f.quit()


def garbage(srv, crt):
    r = srv.raw()
    expect(r.cmd("AUTH TLS").startswith("234"), "AUTH TLS")
    r.send(b"GET / HTTP/1.0\r\n\r\n" * 20)
    expect(r.closed(), "server hangs up on garbage")
    r.close()
    f = login(srv, context(crt, ssl.TLSVersion.TLSv1_3))
    f.nlst()
    f.quit()
    expect("TLS handshake failed" in srv.events(), "logged")


def reload_certs(srv, d, old_crt):
    """SIGHUP with a new pair in place: old sessions go on, new ones get
    the new certificate."""
    f = login(srv, context(old_crt, ssl.TLSVersion.TLSv1_3))
    new_crt, new_key = make_pair(d, "second")
    shutil.copy(new_crt, os.path.join(d, "live.crt"))
    shutil.copy(new_key, os.path.join(d, "live.key"))
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "reloaded" not in srv.events() and time.time() < deadline:
        time.sleep(0.05)
    expect("reloaded" in srv.events(), "reload logged")
    expect("big.bin" in f.nlst(), "old session after reload")
    f.quit()
    g = login(srv, context(new_crt, ssl.TLSVersion.TLSv1_3))
    g.nlst()
    g.quit()
    err = error_of(lambda: login(srv, context(old_crt,
                                              ssl.TLSVersion.TLSv1_3)))
    expect("CERTIFICATE_VERIFY_FAILED" in err, "old cert gone: %r" % err)


def refused_key(crt, key, root):
    os.chmod(key, 0o644)
    p = subprocess.run([FTPD, "--root", root, "-p", "0", "--listen",
                        "127.0.0.1", "--tls-cert", crt, "--tls-key", key],
                       capture_output=True, text=True, timeout=10)
    os.chmod(key, 0o600)
    expect(p.returncode == 2 and "readable by others" in p.stderr,
           "world-readable key: %d %s" % (p.returncode, p.stderr))


def jail_and_data_timeout(srv, crt):
    """The path jail holds over TLS; a data connection that never starts
    its TLS handshake meets the data timeout (425), and the session goes
    on."""
    f = login(srv, context(crt, ssl.TLSVersion.TLSv1_2))
    f.cwd("/../../..")
    expect(f.pwd() == "/", "jail: " + f.pwd())
    err = error_of(lambda: f.retrbinary("RETR ../../etc/passwd",
                                        lambda b: None))
    expect(err.startswith("550"), "escape: %r" % err)
    port = int(f.sendcmd("EPSV").split("|||")[1].rstrip("|)"))
    mute = socket.create_connection(("127.0.0.1", port), 10)
    f.putcmd("NLST")
    replies = [f.getline()[:3], f.getline()[:3]]
    expect(replies == ["150", "425"], "mute data connection: %r" % replies)
    mute.close()
    expect(f.voidcmd("NOOP").startswith("200"), "session goes on")
    f.quit()


def idle_timeout(srv, crt):
    f = login(srv, context(crt, ssl.TLSVersion.TLSv1_3))
    start = time.time()
    err = error_of(lambda: f.getresp())
    expect(err.startswith("421"), "idle timeout over TLS: %r" % err)
    expect(time.time() - start < 10, "timed out in time")


def main():
    if shutil.which("openssl") is None:
        skip("the openssl command is not installed")
    d = tempfile.mkdtemp(prefix="ftpstest.")
    try:
        crt, key = make_pair(d, "first")
        shutil.copy(crt, os.path.join(d, "live.crt"))
        shutil.copy(key, os.path.join(d, "live.key"))
        live = ["--tls-cert", os.path.join(d, "live.crt"),
                "--tls-key", os.path.join(d, "live.key")]
        big = os.urandom(3 << 20)
        with Server(*live, "--tls-implicit-port", "0") as srv:
            srv.write("big.bin", big)
            srv.write("huge.bin", os.urandom(64 << 20))
            iport = int(srv.proc.stdout.readline().rsplit(":", 1)[1])
            for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                explicit(srv, crt, v, big)
                plain = srv.port
                srv.port = iport
                implicit(srv, crt, v, big)
                srv.port = plain
            garbage(srv, crt)
            hash_abort(srv, crt)
            reload_certs(srv, d, crt)
        crt = os.path.join(d, "live.crt")  # the pair the reload put there
        with Server(*live, "--tls", "required", "--idle-timeout", "2",
                    "--data-timeout", "1") as srv:
            srv.write("big.bin", b"x")
            required(srv, crt)
            jail_and_data_timeout(srv, crt)
            idle_timeout(srv, crt)
        with Server(*live, "--tls-require-reuse=no") as srv:
            s = ftplib.FTP_TLS(context=context(crt, ssl.TLSVersion.TLSv1_3))
            s.connect("127.0.0.1", srv.port)
            s.login("alice", "wonder")
            s.prot_p()
            expect(s.nlst() == [], "stock ftplib without the reuse rule")
            s.quit()
        refused_key(crt, key, d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
