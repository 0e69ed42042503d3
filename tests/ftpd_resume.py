"""corio-ftpd keeps the data of a cut upload, per user and path, hidden, and
a later REST+STOR or APPE by the same user continues it; SIZE tells only
that user the kept size; the final name appears only complete. Cuts at
random points (seeded, printed) with Python's ftplib and raw sockets, curl
(`-C - -T`) and lftp (`put -c`) killed mid-upload; every result checked by
sha256. Then the defined outcomes: other users, quota, a second upload to
the same path meanwhile, expiry, restart (SIGTERM and SIGKILL), keeping
off, ASCII. CIO_TEST_TIMEOUT=120"""

import ftplib
import io
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from ftpd_common import (Server, expect, pasv_port, sha256, upload_start,
                         wait_until)

MiB = 1 << 20
USERS = (("alice", "wonder"), ("bob", "builder"))
SEED = int(os.environ.get("FTPD_RESUME_SEED", random.randrange(1 << 30)))
rnd = random.Random(SEED)


def answer(f, cmd):
    try:
        return f.sendcmd(cmd)
    except ftplib.Error as e:
        return str(e)


def kept_size(srv, path, user="alice", pw="wonder"):
    """What SIZE tells user about path: an int, or None for 550."""
    f = srv.ftp(user, pw)
    f.voidcmd("TYPE I")
    r = answer(f, "SIZE " + path)
    f.quit()
    if r.startswith("550"):
        return None
    expect(r.startswith("213"), "SIZE %s: %s" % (path, r))
    return int(r.split()[1])


def upload_cut(srv, path, data, start, end, how, verb="STOR", user="alice",
               pw="wonder"):
    """Sends data[start:end] (REST start + STOR, or APPE) and cuts: "rst"
    resets the data connection, "abor" sends ABOR, "gone" resets both
    connections (the server may lose what it had not read yet); "fin"
    closes the control connection, then the data connection cleanly (the
    server reads everything, then sees its client gone). Returns the first
    reply to the verb."""
    r, d, first = upload_start(srv, "%s %s" % (verb, path), user, pw,
                               start if verb == "STOR" else 0)
    if not first.startswith("150"):
        d.close()
        r.close()
        return first
    d.sendall(data[start:end])
    if how == "fin":
        r.close()
        d.close()
        return first
    if how == "abor":
        r.send("ABOR\r\n")
        rep = r.reply()
        if rep.startswith("426"):
            rep = r.reply()
        expect(rep.startswith("226") or rep.startswith("225"), "ABOR: " + rep)
    d.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    d.close()
    if how == "rst":
        rep = r.reply()
        expect(rep[:3] in ("426", "451"), "after a reset: " + rep)
    if how == "gone":
        r.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          b"\1\0\0\0\0\0\0\0")
    r.close()
    return first


def resume(srv, path, data, user="alice", pw="wonder", verb=None):
    """Completes the upload with ftplib from where SIZE says; retries
    while the server still finishes a cut upload (450)."""
    for _ in range(50):
        n = kept_size(srv, path, user, pw) or 0
        f = srv.ftp(user, pw)
        try:
            if (verb or rnd.choice(("STOR", "APPE"))) == "APPE" and n:
                f.storbinary("APPE " + path, io.BytesIO(data[n:]))
            else:
                f.storbinary("STOR " + path, io.BytesIO(data[n:]), rest=n)
            f.quit()
            return n
        except ftplib.error_temp as e:
            expect(str(e).startswith("450"), "resume: %s" % e)
            f.close()
            time.sleep(0.05)
    raise AssertionError("resume: still busy")


def kept_files(srv):
    return [n for _, _, ns in os.walk(srv.path(".corio-partial")) for n in ns]


def visible(srv, path):
    return os.path.exists(srv.path(path.lstrip("/")))


def ftplib_random_cuts(srv):
    data = os.urandom(3 * MiB + rnd.randrange(MiB))
    done = most = 0
    for i in range(5):
        end = rnd.randrange(done, len(data))
        how = rnd.choice(("rst", "abor", "gone", "fin"))
        verb = "APPE" if done and rnd.random() < 0.5 else "STOR"
        upload_cut(srv, "cuts.bin", data, done, end, how, verb)
        expect(not visible(srv, "cuts.bin"), "final name before completion")
        wait_until(lambda: (kept_size(srv, "cuts.bin") or 0) >= done,
                   "kept data")
        if how == "fin":  # the server read everything: all of it is kept
            wait_until(lambda: kept_size(srv, "cuts.bin") == end, "kept")
        got = kept_size(srv, "cuts.bin") or 0
        expect(got <= end, "kept %d of %d sent" % (got, end))
        most = max(most, got)
        path = srv.path(".corio-partial")
        kept = [os.path.join(dp, n) for dp, _, ns in os.walk(path) for n in ns]
        expect(len(kept) == (1 if got else 0), "kept files: %r" % kept)
        if got:
            with open(kept[0], "rb") as fh:
                expect(sha256(fh.read()) == sha256(data[:got]),
                       "kept data is a prefix of what was sent")
        done = got
    expect(most > 0, "no cut upload was kept")
    resume(srv, "cuts.bin", data)
    expect(sha256(srv.read("cuts.bin")) == sha256(data), "sha256 after cuts")
    expect(kept_size(srv, "cuts.bin") == len(data), "SIZE of the final file")


def client_kills(srv, name, argv_for):
    """Runs a client (argv_for(src, slow): slow ones limit their rate) and
    kills it at random moments, 3 times, then lets it finish (retrying
    while the server still finishes the last cut); checks sha256."""
    src = os.path.join(srv.tmp, name + ".src")
    data = os.urandom(4 * MiB)
    with open(src, "wb") as fh:
        fh.write(data)
    most = 0
    for attempt in range(12):
        p = subprocess.Popen(argv_for(src, attempt < 3),
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        if attempt < 3:
            # Killed after at least 0.5 s: the server then waits 25 ms or
            # more for the control connection's hangup (docs/ftpd.md).
            time.sleep(rnd.uniform(0.5, 1.1))
            p.kill()
        _, err = p.communicate(timeout=60)
        if attempt < 3 and not visible(srv, name):
            most = max(most, kept_size(srv, name) or 0)
        if visible(srv, name):
            expect(sha256(srv.read(name)) == sha256(data),
                   "%s: final name with other content" % name)
        if attempt >= 3 and p.returncode == 0:
            break
    else:
        raise AssertionError("%s never completed: %s" % (name, err))
    expect(most > 0, "%s: nothing was kept to resume from" % name)
    expect(sha256(srv.read(name)) == sha256(data), "%s sha256" % name)


def curl_kills(srv):
    if not shutil.which("curl"):
        print("SKIP part: curl not installed")
        return
    url = "ftp://alice:wonder@127.0.0.1:%d/curl.bin" % srv.port
    client_kills(srv, "curl.bin", lambda src, slow: [
        "curl", "-sS", "--limit-rate", "1M" if slow else "1G", "-C", "-",
        "-T", src, url])


def lftp_kills(srv):
    if not shutil.which("lftp"):
        print("SKIP part: lftp not installed")
        return
    script = ("set net:max-retries 20; set net:reconnect-interval-base 1; "
              "set net:limit-rate %%d; set cmd:fail-exit yes; "
              "open -u alice,wonder -p %d 127.0.0.1; put -c %%s -o lftp.bin"
              % srv.port)
    client_kills(srv, "lftp.bin", lambda src, slow: [
        "lftp", "-c", script % (1000000 if slow else 0, src)])


def privacy(srv):
    """Bob, anonymous and listings never see alice's kept data."""
    data = os.urandom(2 * MiB)
    upload_cut(srv, "secret.bin", data, 0, MiB, "fin")
    wait_until(lambda: kept_size(srv, "secret.bin") == MiB, "kept 1 MiB")
    wait_until(lambda: "upload of /secret.bin cut: %d bytes kept" % MiB
               in srv.events(), "the event log line")
    expect(kept_size(srv, "secret.bin", "bob", "builder") is None,
           "bob's SIZE of alice's kept data")
    f = srv.ftp("bob", "builder")
    expect("secret.bin" not in f.nlst(), "NLST")
    lines = []
    f.retrlines("LIST -a", lines.append)
    expect(not [l for l in lines if "partial" in l or "secret" in l],
           "LIST -a shows kept data: %r" % lines)
    for cmd in ("CWD /.corio-partial", "SIZE /.corio-partial/alice",
                "MLST .corio-partial", "RNFR .corio-partial",
                "DELE /.corio-partial/alice/x"):
        r = answer(f, cmd)
        expect(r.startswith("553"), "%s: %s" % (cmd, r))
    try:
        f.retrbinary("RETR secret.bin", lambda b: None)
        raise AssertionError("RETR of kept data")
    except ftplib.error_perm:
        pass
    f.quit()
    f = srv.ftp("anonymous", "x@y")
    expect(answer(f, "SIZE secret.bin").startswith("550"), "anonymous SIZE")
    f.quit()
    resume(srv, "secret.bin", data)
    expect(sha256(srv.read("secret.bin")) == sha256(data), "secret sha256")


def second_upload(srv):
    data = os.urandom(2 * MiB)
    other = os.urandom(MiB)
    # The same user, two sessions at once: the second waits its turn (450).
    r, d, first = upload_start(srv, "STOR twice.bin")
    expect(first.startswith("150"), first)
    d.sendall(data[:MiB])
    f = srv.ftp()
    try:
        f.storbinary("STOR twice.bin", io.BytesIO(other))
        raise AssertionError("two uploads of one path by one user")
    except ftplib.error_temp as e:
        expect(str(e).startswith("450"), str(e))
    d.sendall(data[MiB:])
    d.close()
    expect(r.reply().startswith("226"), "the first upload completes")
    expect(sha256(srv.read("twice.bin")) == sha256(data), "first kept")
    r.cmd("QUIT")
    f.quit()
    # Bob completes the path while alice's cut upload is kept: alice's
    # resume then completes and replaces it (the last completed upload wins).
    upload_cut(srv, "both.bin", data, 0, MiB, "fin")
    wait_until(lambda: kept_size(srv, "both.bin") == MiB, "kept")
    f = srv.ftp("bob", "builder")
    f.storbinary("STOR both.bin", io.BytesIO(other))
    f.quit()
    expect(srv.read("both.bin") == other, "bob's upload")
    expect(kept_size(srv, "both.bin") == MiB, "alice still sees her data")
    expect(kept_size(srv, "both.bin", "bob", "builder") == len(other),
           "bob sees the final file")
    resume(srv, "both.bin", data)
    expect(sha256(srv.read("both.bin")) == sha256(data), "alice's resume")
    # A plain STOR by alice starts over, dropping her kept data.
    upload_cut(srv, "over.bin", data, 0, MiB, "fin")
    wait_until(lambda: kept_size(srv, "over.bin") == MiB, "kept")
    f = srv.ftp()
    f.storbinary("STOR over.bin", io.BytesIO(other))
    f.quit()
    expect(srv.read("over.bin") == other, "fresh STOR")
    expect(kept_size(srv, "over.bin") == len(other), "no kept data left")


def quota():
    with Server("--resume-quota", "1", users=USERS) as srv:
        data = os.urandom(3 * MiB)
        upload_cut(srv, "q1.bin", data, 0, 2 * MiB, "fin")
        wait_until(lambda: kept_size(srv, "q1.bin") == MiB,
                   "the kept data trimmed to the quota")
        upload_cut(srv, "q2.bin", data, 0, MiB // 2, "abor")
        expect(kept_size(srv, "q2.bin") is None, "over the quota: not kept")
        expect(len(os.listdir(srv.path(".corio-partial", "alice"))) == 1,
               "only the first cut upload is kept")
        upload_cut(srv, "q3.bin", data, 0, MiB // 2, "fin", user="bob",
                   pw="builder")
        wait_until(lambda: kept_size(srv, "q3.bin", "bob", "builder") ==
                   MiB // 2, "bob's quota is his own")
        n = resume(srv, "q1.bin", data)
        expect(n == MiB, "resumed from the quota")
        expect(sha256(srv.read("q1.bin")) == sha256(data), "q1 sha256")
        # An upload still running is not kept data: it does not count.
        r, d, first = upload_start(srv, "STOR run.bin")
        expect(first.startswith("150"), first)
        d.sendall(data[:2 * MiB])
        wait_until(lambda: kept_size(srv, "run.bin") == 2 * MiB, "running")
        upload_cut(srv, "q4.bin", data, 0, MiB // 2, "fin")
        wait_until(lambda: "upload of /q4.bin cut: %d bytes kept" % (MiB // 2)
                   in srv.events(), "a cut beside a running upload kept")
        d.sendall(data[2 * MiB:])
        d.close()
        expect(r.reply().startswith("226"), "the running upload completes")
        r.cmd("QUIT")
        expect(sha256(srv.read("run.bin")) == sha256(data), "run.bin")


def expiry():
    with Server("--resume-lifetime", "1", users=USERS) as srv:
        data = os.urandom(MiB)
        # Without any request, the expiry thread removes it...
        upload_cut(srv, "old.bin", data, 0, MiB // 2, "fin")
        wait_until(lambda: kept_files(srv) == [], "expiry", 15)
        expect(kept_size(srv, "old.bin") is None, "expired data reported")
        # ...and the owner's SIZE never reports it.
        upload_cut(srv, "old2.bin", data, 0, MiB // 2, "fin")
        wait_until(lambda: kept_size(srv, "old2.bin") is None, "expiry", 15)
        f = srv.ftp()
        r = answer(f, "REST %d" % (MiB // 2))
        try:
            f.storbinary("STOR old.bin", io.BytesIO(data[MiB // 2:]),
                         rest=MiB // 2)
            raise AssertionError("resumed expired data")
        except ftplib.error_perm as e:
            expect(str(e).startswith("554"), str(e))
        f.quit()
        expect(r.startswith("350") and not visible(srv, "old.bin"), "none")


def restart():
    """Kept data outlives the server: SIGTERM, and SIGKILL mid-upload."""
    base = tempfile.mkdtemp(prefix="ftpdresume.")
    root = os.path.join(base, "root")
    os.makedirs(root)
    data = os.urandom(3 * MiB)
    servers = []

    def start():
        servers.append(Server(root=root, users=USERS))
        return servers[-1]

    try:
        srv = start()
        upload_cut(srv, "r1.bin", data, 0, MiB, "fin")
        wait_until(lambda: kept_size(srv, "r1.bin") == MiB, "kept")
        srv.stop()
        srv = start()
        expect(kept_size(srv, "r1.bin") == MiB, "kept across a restart")
        # SIGTERM while an upload stalls: the grace period ends, the upload
        # is cut, and its data kept.
        srv.stop()
        servers.append(Server("--grace", "1", root=root, users=USERS))
        srv = servers[-1]
        r, d, first = upload_start(srv, "STOR r3.bin")
        expect(first.startswith("150"), first)
        d.sendall(data[:MiB])
        wait_until(lambda: (kept_size(srv, "r3.bin") or 0) == MiB, "data")
        srv.stop()
        d.close()
        r.close()
        srv = start()
        expect(kept_size(srv, "r3.bin") == MiB, "kept after SIGTERM")
        resume(srv, "r3.bin", data)
        expect(sha256(srv.read("r3.bin")) == sha256(data), "r3 sha256")
        r, d, first = upload_start(srv, "STOR r2.bin")
        expect(first.startswith("150"), first)
        d.sendall(data[:2 * MiB])
        wait_until(lambda: (kept_size(srv, "r2.bin") or 0) > 0, "data")
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait(10)
        d.close()
        r.close()
        srv = start()
        n = kept_size(srv, "r2.bin")
        expect(n and n <= 2 * MiB, "kept after SIGKILL: %r" % n)
        resume(srv, "r1.bin", data)
        resume(srv, "r2.bin", data)
        for name in ("r1.bin", "r2.bin"):
            expect(sha256(srv.read(name)) == sha256(data), name + " sha256")
        srv.stop()
    finally:
        for srv in servers:
            srv.cleanup()
        shutil.rmtree(base, ignore_errors=True)


def not_kept():
    with Server("--resume-lifetime", "0") as srv:
        data = os.urandom(MiB)
        upload_cut(srv, "off.bin", data, 0, MiB // 2, "rst")
        expect(kept_size(srv, "off.bin") is None, "keeping off")
        expect(not os.path.exists(srv.path(".corio-partial")), "no dir")
    with Server() as srv:
        r = srv.raw()
        r.cmd("USER alice")
        r.cmd("PASS wonder")
        r.cmd("TYPE A")
        port = pasv_port(r.cmd("PASV"))
        d = socket.create_connection(("127.0.0.1", port), 10)
        r.send("STOR text.txt\r\n")
        expect(r.reply().startswith("150"), "150")
        d.sendall(b"line\r\n" * 1000)
        d.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        d.close()
        expect(r.reply().startswith("426"), "cut")
        r.close()
        expect(kept_size(srv, "text.txt") is None, "ASCII uploads not kept")


def disk_full():
    """Resuming into a full disk: 452, the kept data is dropped (its space
    comes back) and a fresh upload that fits works."""
    if not shutil.which("unshare") or subprocess.run(
            ["unshare", "-rm", "true"], capture_output=True).returncode:
        print("SKIP part: no mount namespaces for a small tmpfs")
        return
    base = tempfile.mkdtemp(prefix="ftpdresume.")
    root = os.path.join(base, "root")
    os.makedirs(root)
    mount = 'mount -t tmpfs -o size=4m tmpfs "$0" && exec "$@"'
    try:
        with Server(root=root, users=USERS,
                    wrap=["unshare", "-rm", "sh", "-c", mount, root]) as srv:
            data = os.urandom(6 * MiB)
            upload_cut(srv, "full.bin", data, 0, MiB, "fin")
            wait_until(lambda: kept_size(srv, "full.bin") == MiB, "kept")
            f = srv.ftp()
            conn = f.transfercmd("APPE full.bin")
            try:
                conn.sendall(data[MiB:])
            except (ConnectionResetError, BrokenPipeError):
                pass
            conn.close()
            try:
                r = f.getresp()
            except ftplib.Error as e:
                r = str(e)
            expect(r.startswith("452"), "resume into a full disk: " + r)
            f.quit()
            expect(kept_size(srv, "full.bin") is None, "kept data dropped")
            small = os.urandom(3 * MiB)
            resume(srv, "full.bin", small)
            got = io.BytesIO()
            f = srv.ftp()
            f.retrbinary("RETR full.bin", got.write)
            f.quit()
            expect(sha256(got.getvalue()) == sha256(small), "fits afterwards")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main():
    print("FTPD_RESUME_SEED=%d" % SEED)
    with Server("--anonymous", users=USERS) as srv:
        ftplib_random_cuts(srv)
        privacy(srv)
        second_upload(srv)
        curl_kills(srv)
        lftp_kills(srv)
    quota()
    expiry()
    restart()
    disk_full()
    not_kept()
    print("ok")


if __name__ == "__main__":
    main()
