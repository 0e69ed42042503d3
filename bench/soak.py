"""The fault-and-soak run's driver (started by bench/soak.sh, which builds
the programs and prepares the directories). It runs corio-ftpd (an
ASan+UBSan build) for a given time under a mixed load on loopback and
faults, checks every byte that moves, and prints one RESULT line.

Load, each in its own thread, all the time:
  ftpload   the project's C load generator: login+LIST+QUIT loops, RETR,
            STOR (uploads of zeros, checked on disk)
  ftplib    RETR of seed files and STOR of random data read back, sha256
  curl      RETR and STOR, sha256; and clients killed (SIGKILL) mid-transfer
  lftp      get and put, sha256
  abort     ABOR during RETR and during STOR (urgent data, as ftplib sends)
  loris     slow-loris clients sending a byte a second
  nodata    PASV + RETR whose data connection is never opened (425)
  tmpfs     uploads into a 4 MiB tmpfs until it is full, then DELE
  login     a probe timing connect+USER+PASS every 0.2 s (p99)
Faults: SIGHUP every 3 s with a good and a broken config in turn, and one
kill -9 of the server plus a restart on the same port.

Must be zero: corrupted transfers, partial files under a final name,
sanitizer reports. Must be flat: open fds within 10%, server RSS within 10% + 4 MiB,
measured while the load is paused, after warm-up and at the end."""

import argparse
import ftplib
import hashlib
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time

MiB = 1 << 20


def sha(data):
    return hashlib.sha256(data).hexdigest()


def file_sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MiB), b""):
            h.update(chunk)
    return h.hexdigest()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.n = {}
        self.notes = []

    def add(self, key, k=1):
        with self.lock:
            self.n[key] = self.n.get(key, 0) + k

    def get(self, key):
        with self.lock:
            return self.n.get(key, 0)

    def note(self, text):
        with self.lock:
            if len(self.notes) < 40:
                self.notes.append(text)
        print("soak: " + text, flush=True)


class Soak:
    def __init__(self, a):
        self.a = a
        self.st = Stats()
        self.root = os.path.join(a.work, "root")
        self.conf = os.path.join(a.work, "ftpd.conf")
        self.log = os.path.join(a.work, "events.log")
        self.errpath = os.path.join(a.work, "server.stderr")
        self.local = os.path.join(a.work, "local")
        self.expected = {}  # relative path -> shas a complete upload has
        self.exp_lock = threading.Lock()
        self.stop = threading.Event()
        self.gate = threading.Event()  # set: load runs; clear: pause
        self.gate.set()
        self.busy = 0
        self.busy_lock = threading.Lock()
        self.srv_lock = threading.Lock()
        self.proc = None
        self.port = 0
        self.logins = []  # login times, seconds
        self.seq = 0

    # ---- the server ----

    def write_conf(self, n, broken=False):
        text = ("root = %s\nuser = alice:wonder\nlisten = 127.0.0.1\n"
                "idle_timeout = 5\ndata_timeout = 3\nmax_sessions = 2000\n"
                "max_per_ip = 0\nlogin_delay = 200\nmax_login_failures = 5\n"
                "fsync = none\ngrace = 2\nbanner = soak %d\n" % (self.root, n))
        if broken:
            text += "idle_timeout = never\n"
        tmp = self.conf + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.conf)

    def start_server(self):
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = ("detect_leaks=1:quarantine_size_mb=8:"
                               "malloc_context_size=8:abort_on_error=0")
        env["UBSAN_OPTIONS"] = "print_stacktrace=1"
        cmd = [self.a.ftpd, "--config", self.conf, "-p", str(self.port),
               "--log-file", self.log]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=open(self.errpath, "a"),
                                     env=env, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        line = self.proc.stdout.readline() if ready else ""
        m = re.search(r"listening on \S+:(\d+)", line)
        if not m:
            raise SystemExit("soak: the server did not start: %r" % line)
        self.port = int(m.group(1))

    def restart(self):
        with self.srv_lock:
            self.proc.kill()
            self.proc.wait()
            # As an operator would: a restart reads the file, which the
            # hupper may have left broken (a reload then keeps the old
            # settings, but a start refuses the file).
            self.write_conf(0)
            self.st.note("kill -9 of the server; restarting on port %d"
                         % self.port)
            for _ in range(50):
                try:
                    self.start_server()
                    break
                except SystemExit:
                    time.sleep(0.2)
            self.st.add("restarts")

    def hupper(self):
        n = 0
        while not self.stop.wait(3):
            n += 1
            with self.srv_lock:
                self.write_conf(n, broken=n % 2 == 0)
                self.proc.send_signal(signal.SIGHUP)
            self.st.add("sighup")

    def rss_fds(self):
        pid = self.proc.pid
        with open("/proc/%d/status" % pid) as f:
            rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        return rss, len(os.listdir("/proc/%d/fd" % pid))

    def sessions_open(self):
        with open(self.log, errors="replace") as f:
            lines = f.read().splitlines()
        # Sessions of the running server only: from its last start line.
        start = max((i for i, ln in enumerate(lines) if " serving " in ln),
                    default=0)
        lines = lines[start:]
        return (sum(ln.endswith(": connect") for ln in lines) -
                sum(": disconnect (" in ln for ln in lines))

    def quiet_sample(self, what):
        """Pauses the load, waits for the server to be idle, samples."""
        self.gate.clear()
        end = time.time() + 60
        while time.time() < end:
            with self.busy_lock:
                if self.busy == 0:
                    break
            time.sleep(0.05)
        while time.time() < end and self.sessions_open() > 0:
            time.sleep(0.05)
        # Idle stacks go back after the server's shrink delay (1 s); then
        # fds must be steady and RSS within 1% over three samples.
        time.sleep(1.2)
        samples = [self.rss_fds()]
        while time.time() < end:
            time.sleep(0.3)
            samples.append(self.rss_fds())
            last = samples[-3:]
            if len(last) == 3 and len(set(s[1] for s in last)) == 1 and \
                    max(s[0] for s in last) <= min(s[0] for s in last) * 1.01:
                break
        rss, fds = samples[-1]
        self.st.note("%s: %d sessions open, RSS %d KiB, %d fds"
                     % (what, self.sessions_open(), rss, fds))
        self.gate.set()
        return rss, fds

    # ---- helpers for the load ----

    def next_name(self, prefix):
        with self.exp_lock:
            self.seq += 1
            return "%s-%d" % (prefix, self.seq)

    def expect(self, rel, digest):
        with self.exp_lock:
            self.expected.setdefault(rel, set()).add(digest)

    def check_final(self, rel, must_exist=False):
        """A file under its final name holds a whole upload, or is absent."""
        path = os.path.join(self.root, rel)
        if not os.path.exists(path):
            if must_exist:
                self.st.add("corrupted")
                self.st.note("upload %s reported complete but missing" % rel)
            return None
        digest = file_sha(path)
        with self.exp_lock:
            ok = digest in self.expected.get(rel, ())
        if not ok:
            self.st.add("partial")
            self.st.note("partial file under a final name: %s (%d bytes)"
                         % (rel, os.path.getsize(path)))
        return ok

    def ftp(self, timeout=20):
        f = ftplib.FTP()
        f.connect("127.0.0.1", self.port, timeout=timeout)
        f.login("alice", "wonder")
        return f

    def loop(self, name, body, pause=0.0):
        """Runs body() until the end, counting its failures as errors (the
        restart and the broken pieces of the load make some)."""
        rnd = random.Random(hash(name))
        while not self.stop.is_set():
            self.gate.wait()
            if self.stop.is_set():
                break
            with self.busy_lock:
                self.busy += 1
            try:
                body(rnd)
            except (OSError, EOFError, ftplib.Error,
                    subprocess.SubprocessError) as e:
                self.st.add("errors")
                self.st.add("errors_" + name)
                if self.st.get("errors_" + name) <= 3:
                    self.st.note("%s: %s: %s" % (name, type(e).__name__, e))
                self.stop.wait(0.1)  # the server may be restarting
            finally:
                with self.busy_lock:
                    self.busy -= 1
            if pause:
                self.stop.wait(pause)

    # ---- the load ----

    def seeds(self):
        os.makedirs(os.path.join(self.root, "dl"), exist_ok=True)
        os.makedirs(os.path.join(self.root, "up"), exist_ok=True)
        os.makedirs(self.local, exist_ok=True)
        self.seed = {}
        rnd = random.Random(1)
        for name, size in (("s1", 1000), ("s2", 300000), ("s3", 3 * MiB),
                           ("big", 24 * MiB)):
            data = rnd.randbytes(size)
            with open(os.path.join(self.root, "dl", name), "wb") as f:
                f.write(data)
            self.seed[name] = sha(data)
        self.upfile = os.path.join(self.local, "up.bin")
        with open(self.upfile, "wb") as f:
            f.write(rnd.randbytes(2 * MiB))
        self.upsha = file_sha(self.upfile)

    def ftplib_body(self, rnd):
        f = self.ftp()
        try:
            for _ in range(5):
                name = rnd.choice(["s1", "s2", "s3"])
                buf = bytearray()
                f.retrbinary("RETR dl/" + name, buf.extend)
                self.count_retr(bytes(buf), self.seed[name])
                data = rnd.randbytes(rnd.randint(1, 2 * MiB))
                rel = self.next_name("up/py")
                self.expect(rel, sha(data))
                f.storbinary("STOR " + rel, _Reader(data))
                back = bytearray()
                f.retrbinary("RETR " + rel, back.extend)
                self.count_retr(bytes(back), sha(data))
                if self.check_final(rel, must_exist=True):
                    self.st.add("transfers")
                f.delete(rel)
            f.quit()
        finally:
            f.close()

    def count_retr(self, data, want):
        if sha(data) == want:
            self.st.add("transfers")
        else:
            self.st.add("corrupted")
            self.st.note("corrupted download: %d bytes" % len(data))

    def url(self, rel):
        return "ftp://alice:wonder@127.0.0.1:%d/%s" % (self.port, rel)

    def curl_body(self, rnd):
        out = os.path.join(self.local, "curl.out")
        name = rnd.choice(["s2", "s3"])
        subprocess.run(["curl", "-sS", "--fail", "--max-time", "60", "-o",
                        out, self.url("dl/" + name)], check=True,
                       capture_output=True, timeout=90)
        self.count_retr(open(out, "rb").read(), self.seed[name])
        rel = self.next_name("up/curl")
        self.expect(rel, self.upsha)
        subprocess.run(["curl", "-sS", "--fail", "--max-time", "60", "-T",
                        self.upfile, self.url(rel)], check=True,
                       capture_output=True, timeout=90)
        if self.check_final(rel, must_exist=True):
            self.st.add("transfers")
            os.remove(os.path.join(self.root, rel))

    def lftp_body(self, rnd):
        out = os.path.join(self.local, "lftp.out")
        rel = self.next_name("up/lftp")
        self.expect(rel, self.upsha)
        script = ("set net:max-retries 1; set net:timeout 20; "
                  "set xfer:clobber on; open -u alice,wonder -p %d 127.0.0.1; "
                  "get dl/s3 -o %s; put %s -o %s"
                  % (self.port, out, self.upfile, rel))
        subprocess.run(["lftp", "-c", script], check=True,
                       capture_output=True, timeout=120)
        self.count_retr(open(out, "rb").read(), self.seed["s3"])
        if self.check_final(rel, must_exist=True):
            self.st.add("transfers")
            os.remove(os.path.join(self.root, rel))

    def killer_body(self, rnd):
        """curl killed with SIGKILL half a second into a RETR or a STOR."""
        if rnd.random() < 0.5:
            cmd = ["curl", "-s", "--limit-rate", "200k", "-o", os.devnull,
                   self.url("dl/big")]
            rel = None
        else:
            rel = self.next_name("up/killed")
            self.expect(rel, self.upsha)
            cmd = ["curl", "-s", "--limit-rate", "200k", "-T", self.upfile,
                   self.url(rel)]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.3, 1.0))
        p.kill()
        p.wait()
        self.st.add("killed_clients")
        if rel:
            with self.exp_lock:
                self.killed.append(rel)
                self.killed_curl.add(rel)

    def abort_body(self, rnd):
        f = self.ftp()
        try:
            # ABOR while the server sends.
            conn = f.transfercmd("RETR dl/big")
            conn.recv(65536)
            resp = f.abort()
            conn.close()
            if resp.startswith("426"):
                resp = f.getresp()
            self.abor_check(resp, f)
            # ABOR while the server receives: nothing under the name.
            rel = self.next_name("up/abor")
            f.voidcmd("TYPE I")
            conn = f.transfercmd("STOR " + rel)
            conn.sendall(rnd.randbytes(256 * 1024))
            f.sock.sendall(b"\xff\xf4\xff", socket.MSG_OOB)
            f.sock.sendall(b"\xf2ABOR\r\n")
            resp = f.getline()
            conn.close()
            if resp.startswith("426"):
                resp = f.getline()
            self.abor_check(resp, f)
            with self.exp_lock:
                self.killed.append(rel)
            f.quit()
        finally:
            f.close()

    def abor_check(self, resp, f):
        if resp[:3] in ("225", "226") and f.voidcmd("NOOP").startswith("200"):
            self.st.add("aborts")
        else:
            self.st.add("abort_failures")
            self.st.note("ABOR answered %r" % resp)

    def loris_body(self, rnd):
        """A client sending one byte a second of a command line for 8 s:
        whether the server cuts it or not, it must not stall the others."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            s.recv(200)
            for b in b"USER " + b"a" * 7:
                s.sendall(bytes([b]))
                if select.select([s], [], [], 1.0)[0] and not s.recv(200):
                    self.st.add("loris_cut")
                    return
            self.st.add("loris_held")
        except ConnectionResetError:
            self.st.add("loris_cut")
        finally:
            s.close()

    def nodata_body(self, rnd):
        f = self.ftp()
        try:
            f.voidcmd("TYPE I")
            f.sendcmd("PASV")
            resp = f.sendcmd("RETR dl/s1")
            if resp.startswith("150"):
                resp = f.getline()
            if resp.startswith("425"):
                self.st.add("nodata_425")
            else:
                self.st.add("nodata_other")
                self.st.note("unopened data connection: %r" % resp)
            f.quit()
        finally:
            f.close()

    def tmpfs_body(self, rnd):
        f = self.ftp()
        try:
            f.voidcmd("TYPE I")
            for _ in range(8):
                data = rnd.randbytes(rnd.randint(200000, 1200000))
                rel = self.next_name("small/t")
                self.expect(rel, sha(data))
                conn = f.transfercmd("STOR " + rel)
                try:  # a full disk resets the data connection
                    conn.sendall(data)
                except OSError:
                    pass
                conn.close()
                try:
                    f.voidresp()
                    self.check_final(rel, must_exist=True)
                    continue
                except (ftplib.error_temp, ftplib.error_perm) as e:
                    self.st.add("tmpfs_full")  # 452 or 552
                    if self.st.get("tmpfs_full") <= 1:
                        self.st.note("tmpfs full: %s" % e)
                self.check_final(rel)
                for n in f.nlst("small"):
                    f.delete("small/" + os.path.basename(n))
                f.voidcmd("TYPE I")  # nlst left it at ASCII
            f.quit()
        finally:
            f.close()

    def ftpload_body(self, rnd):
        load = self.a.ftpload
        mode = rnd.choice(["sessions", "retr", "stor"])
        base = [load, mode, "-p", str(self.port), "-u", "alice", "-w",
                "wonder"]
        if mode == "sessions":
            cmd = base + ["-n", "6", "-t", "3"]
        elif mode == "retr":
            cmd = base + ["-n", "3", "-f", "dl/s3"]
        else:
            prefix = self.next_name("up/fl")
            cmd = base + ["-n", "3", "-s", str(MiB), "-x", prefix]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        kv = dict(re.findall(r"(\w+)=([\d.]+)", r.stdout))
        errors = int(kv.get("errors", "1"))
        if mode == "sessions":
            self.st.add("ftpload_sessions", int(kv.get("sessions", 0)))
        elif mode == "retr":
            self.st.add("transfers", 3 - min(errors, 3))
        else:
            for name in os.listdir(os.path.join(self.root, "up")):
                if not name.startswith(os.path.basename(prefix) + "-"):
                    continue
                rel = "up/" + name
                self.expect(rel, self.zeros)
                if self.check_final(rel):
                    self.st.add("transfers")
                os.remove(os.path.join(self.root, rel))
        if r.returncode != 0:
            self.st.add("errors")
            self.st.add("errors_ftpload")

    def login_probe(self):
        while not self.stop.wait(0.2):
            self.gate.wait()
            t0 = time.time()
            try:
                f = ftplib.FTP()
                f.connect("127.0.0.1", self.port, timeout=20)
                f.login("alice", "wonder")
                took = time.time() - t0
                f.quit()
                with self.exp_lock:
                    self.logins.append(took)
            except (OSError, EOFError, ftplib.Error):
                self.st.add("login_failures")

    # ---- the run ----

    def run(self):
        a = self.a
        self.killed = []
        self.killed_curl = set()
        self.zeros = sha(bytes(MiB))
        self.seeds()
        small = os.path.join(self.root, "small")
        os.makedirs(small, exist_ok=True)
        self.write_conf(0)
        self.start_server()
        print("soak: corio-ftpd on 127.0.0.1:%d for %d s%s" %
              (self.port, a.seconds,
               "" if a.tmpfs else " (tmpfs part skipped: %s)" % a.tmpfs_why),
              flush=True)
        bodies = [("ftpload", self.ftpload_body, 0),
                  ("ftpload2", self.ftpload_body, 0),
                  ("ftplib", self.ftplib_body, 0),
                  ("curl", self.curl_body, 0),
                  ("lftp", self.lftp_body, 0.5),
                  ("killer", self.killer_body, 0.5),
                  ("abort", self.abort_body, 0.5),
                  ("loris", self.loris_body, 0),
                  ("nodata", self.nodata_body, 1)]
        if a.tmpfs:
            bodies.append(("tmpfs", self.tmpfs_body, 0))
        threads = [threading.Thread(target=self.loop, args=b, daemon=True)
                   for b in bodies]
        threads.append(threading.Thread(target=self.hupper, daemon=True))
        threads.append(threading.Thread(target=self.login_probe,
                                        daemon=True))
        t0 = time.time()
        for t in threads:
            t.start()
        # One kill -9 and restart at a fifth of the run; the warm-up
        # sample at two fifths (a fresh server has to warm up again).
        time.sleep(a.seconds * 0.2)
        self.restart()
        time.sleep(max(0, t0 + a.seconds * 0.4 - time.time()))
        warm = self.quiet_sample("after warm-up")
        # The trend in between, under load: a line per tenth of the run.
        for i in range(5, 10):
            time.sleep(max(0, t0 + a.seconds * i / 10 - time.time()))
            with self.srv_lock:
                rss, fds = self.rss_fds()
            print("soak: %4d s: RSS %d KiB, %d fds, %d transfers" %
                  (time.time() - t0, rss, fds, self.st.get("transfers")),
                  flush=True)
        time.sleep(max(0, t0 + a.seconds - time.time()))
        end = self.quiet_sample("at the end")
        self.gate.clear()
        self.stop.set()
        self.gate.set()
        for t in threads:
            t.join(150)
        # Uploads cut by a kill or an ABOR: whole or absent, never partial.
        time.sleep(0.5)
        # A client killed during an upload closes its data connection with
        # a FIN: when that reaches the server before the end of the control
        # connection, the upload is complete as far as FTP can tell (stream
        # mode ends a file with the connection). Such a file must be a
        # prefix of what was sent; it is counted apart, not as partial.
        with open(self.upfile, "rb") as f:
            updata = f.read()
        for rel in self.killed:
            path = os.path.join(self.root, rel)
            if rel in self.killed_curl and os.path.exists(path):
                with open(path, "rb") as f:
                    got = f.read()
                if got != updata and updata.startswith(got):
                    self.st.add("killed_prefix")
                    continue
            self.check_final(rel)
        # Every other file under a final name is a whole upload too.
        for d in ("up", "small"):
            for name in os.listdir(os.path.join(self.root, d)):
                rel = d + "/" + name
                if not name.startswith(".") and rel not in self.killed:
                    self.check_final(rel)
        leftovers = [n for d in ("up", "small")
                     for n in os.listdir(os.path.join(self.root, d))
                     if n.startswith(".")]
        with self.srv_lock:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = -9
        with open(self.errpath, errors="replace") as f:
            err = f.read()
        san = len(re.findall(r"ERROR: (AddressSanitizer|LeakSanitizer)|"
                             r"runtime error:|WARNING: ThreadSanitizer", err))
        with open(self.log, errors="replace") as f:
            ev = f.read()
        logins = sorted(self.logins)
        p99 = logins[min(len(logins) - 1, int(len(logins) * 0.99))] \
            if logins else 0
        st = self.st
        res = {
            "seconds": int(time.time() - t0),
            "transfers": st.get("transfers"),
            "corrupted": st.get("corrupted"),
            "partial": st.get("partial"),
            "sanitizer": san,
            "rss_warm_kb": warm[0], "rss_end_kb": end[0],
            "fds_warm": warm[1], "fds_end": end[1],
            "login_p99_ms": int(p99 * 1000),
            "logins": len(logins),
            "ftpload_sessions": st.get("ftpload_sessions"),
            "aborts": st.get("aborts"),
            "abort_failures": st.get("abort_failures"),
            "killed_clients": st.get("killed_clients"),
            "killed_prefix": st.get("killed_prefix"),
            "loris_cut": st.get("loris_cut"),
            "loris_held": st.get("loris_held"),
            "nodata_425": st.get("nodata_425"),
            "tmpfs_full": st.get("tmpfs_full") if a.tmpfs else "skipped",
            "sighup": st.get("sighup"),
            "reloaded": ev.count("reloaded"),
            "reload_failed": ev.count("reload failed"),
            "restarts": st.get("restarts"),
            "temp_leftovers": len(leftovers),
            "errors": st.get("errors"),
            "exit": rc,
        }
        bad = []
        for k in ("corrupted", "partial", "sanitizer"):
            if res[k]:
                bad.append("%s=%d" % (k, res[k]))
        if res["transfers"] == 0:
            bad.append("no transfer completed")
        # Leaks are LeakSanitizer's to report; this looks for growth that
        # it cannot see (caches, queues). The 4 MiB allow for the allocator's
        # arenas and ASan's quarantine, which fill at their own pace.
        if end[0] > warm[0] * 1.10 + 4096:
            bad.append("RSS grew %d -> %d KiB" % (warm[0], end[0]))
        if end[1] > warm[1] * 1.10:
            bad.append("fds grew %d -> %d" % (warm[1], end[1]))
        if rc != 0:
            bad.append("server exit status %d" % rc)
        if san:
            print(err[-6000:])
        for k, v in sorted(st.n.items()):
            if k.startswith("errors_"):
                print("soak: %s=%d" % (k, v))
        print("RESULT " + " ".join("%s=%s" % kv for kv in res.items()),
              flush=True)
        if bad:
            print("soak: FAIL: " + ", ".join(bad))
            return 1
        return 0


class _Reader:
    """A file-like object over bytes for storbinary."""

    def __init__(self, data):
        self.data = memoryview(data)
        self.pos = 0

    def read(self, n):
        chunk = self.data[self.pos:self.pos + n]
        self.pos += len(chunk)
        return bytes(chunk)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ftpd", required=True)
    ap.add_argument("--ftpload", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--seconds", type=int, default=120)
    ap.add_argument("--tmpfs", type=int, default=0)
    ap.add_argument("--tmpfs-why", default="")
    a = ap.parse_args()
    return Soak(a).run()


if __name__ == "__main__":
    sys.exit(main())
