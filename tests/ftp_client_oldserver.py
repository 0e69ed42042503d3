"""corio-ftp against an old-fashioned server written here: multi-line
replies, no EPSV (PASV only, with a wrong address in the 227 reply), no
MLSD (LIST in Unix and DOS styles), no SIZE. Mirror must still fetch every
file intact through the fallbacks.
CIO_TEST_TIMEOUT=60"""
import os
import socket
import socketserver
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftp_client_util import Workspace, check, need_client, run, tree_sums

FILES = {
    "readme.txt": b"hello from an old server\n" * 40,
    "with space.bin": bytes(range(256)) * 300,
    "pub/a.dat": os.urandom(70000),
    "pub/b.dat": b"",
    "pub/deep/c.dat": os.urandom(1234),
}

UNIX_ROOT = (
    "total 12\r\n"
    "-rw-r--r--   1 ftp      ftp          1000 Jan  5  2021 readme.txt\r\n"
    "-rw-r--r--   1 ftp      ftp         76800 Mar 14 09:26 with space.bin\r\n"
    "drwxr-xr-x   3 ftp      ftp          4096 Mar 14 09:26 pub\r\n"
    "lrwxrwxrwx   1 ftp      ftp             9 Mar 14 09:26 link -> readme.txt\r\n")
DOS_PUB = (
    "03-14-24  09:26AM                70000 a.dat\r\n"
    "03-14-24  09:26AM                    0 b.dat\r\n"
    "03-14-24  09:27AM       <DIR>          deep\r\n")
UNIX_DEEP = "-rw-r--r-- 1 ftp 1234 Mar 14 09:26 c.dat\r\n"  # no group column


class Handler(socketserver.StreamRequestHandler):
    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")

    def data_conn(self):
        conn, _ = self.pasv.accept()
        self.pasv.close()
        return conn

    def handle(self):
        self.cwd = ""
        self.pasv = None
        self.reply("220-Welcome to a server from another age.\r\n"
                   "220-Second line of the greeting.\r\n220 Ready.")
        for raw in self.rfile:
            line = raw.decode().rstrip("\r\n")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb == "USER":
                self.reply("331 Password required.")
            elif verb == "PASS":
                self.reply("230-Logged in.\r\n230-Be nice.\r\n230 Proceed.")
            elif verb == "TYPE":
                self.reply("200 Type set.")
            elif verb == "PASV":
                self.pasv = socket.socket()
                self.pasv.bind(("127.0.0.1", 0))
                self.pasv.listen(1)
                port = self.pasv.getsockname()[1]
                # a wrong address, as servers behind NAT send
                self.reply("227 Entering Passive Mode (10,255,255,1,%d,%d)." % (port >> 8, port & 255))
            elif verb == "LIST":
                path = arg.strip("/")
                body = {"": UNIX_ROOT, "pub": DOS_PUB, "pub/deep": UNIX_DEEP}.get(path)
                if body is None:
                    self.reply("550 No such directory.")
                    continue
                self.reply("150 Here comes the listing.")
                conn = self.data_conn()
                conn.sendall(body.encode())
                conn.close()
                self.reply("226 Done.")
            elif verb == "RETR":
                data = FILES.get(arg.strip("/"))
                if data is None:
                    self.reply("550 No such file.")
                    continue
                self.reply("150 Opening BINARY mode data connection.")
                conn = self.data_conn()
                conn.sendall(data)
                conn.close()
                self.reply("226-Transfer complete.\r\n226 Bye for now.")
            elif verb == "QUIT":
                self.reply("221 Goodbye.")
                return
            else:  # EPSV, MLSD, SIZE, FEAT...: never heard of them
                self.reply("500 '%s': command not understood." % verb)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    need_client()
    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        with Workspace() as ws:
            src = ws.path("want")
            for name, data in FILES.items():
                os.makedirs(os.path.dirname(os.path.join(src, name)), exist_ok=True)
                with open(os.path.join(src, name), "wb") as f:
                    f.write(data)
            url = "ftp://old:pw@127.0.0.1:%d/" % port
            p = run(["-v", "-j", "3", "mirror", url, ws.path("got")])
            check(p.returncode == 0 and tree_sums(ws.path("got")) == tree_sums(src),
                  "mirror through PASV, LIST (Unix and DOS) and no SIZE", p)
            check("<--- 220 Ready." in p.stderr and "<--- 226 Bye for now." in p.stderr,
                  "multi-line replies are read to their last line", p)
            check("EPSV" in p.stderr and "PASV" in p.stderr and "LIST" in p.stderr,
                  "EPSV and MLSD refused once, then PASV and LIST", p)
            p = run(["get", url + "pub/missing.dat", "-o", ws.path("miss")])
            check(p.returncode != 0 and "550 No such file." in p.stderr,
                  "the reply of a failed RETR is shown", p)
            p = run(["get", url + "pub/*.dat", "-o", ws.path("glob")])
            check(p.returncode == 0 and sorted(os.listdir(ws.path("glob"))) == ["a.dat", "b.dat"],
                  "a glob over a DOS listing", p)
    finally:
        server.shutdown()


main()
