"""corio-ftpd transfers: binary integrity (sha256) for 0 B, 1 B, 1 MiB and
100 MiB in passive and active mode, ASCII line endings both ways, REST for
downloads and uploads, APPE, STOU, ABOR while the client does not read
(with and without Telnet signals), STAT during a transfer, interrupted
uploads and the xferlog. CIO_TEST_TIMEOUT=90"""

import ftplib
import io
import os
import select
import socket
import time

from ftpd_common import (Server, expect, pasv_port, sha256, SAN)

MiB = 1 << 20


def download(f, name, rest=None):
    b = io.BytesIO()
    f.retrbinary("RETR " + name, b.write, blocksize=1 << 16, rest=rest)
    return b.getvalue()


def integrity(srv):
    sizes = [0, 1, MiB, 100 * MiB]
    for passive in (True, False):
        f = srv.ftp()
        f.set_pasv(passive)
        for size in sizes:
            if size == 100 * MiB and not passive:
                continue  # once is enough: the disk is the slow part
            data = os.urandom(size)
            name = "bin_%d_%s" % (size, passive)
            f.storbinary("STOR " + name, io.BytesIO(data), blocksize=1 << 20)
            expect(sha256(srv.read(name)) == sha256(data), "upload " + name)
            got = download(f, name)
            expect(len(got) == size and sha256(got) == sha256(data),
                   "download %s: %d bytes" % (name, len(got)))
            expect(f.size(name) == size, "size")
            os.unlink(srv.path(name))
        f.quit()
    expect(not [n for n in os.listdir(srv.root) if n.endswith(".part")],
           "temporary files left: %s" % os.listdir(srv.root))


def ascii_mode(srv):
    f = srv.ftp()
    srv.write("unix.txt", b"one\ntwo\n\nthree\r\nlone\rcr\n")
    lines = []
    f.retrlines("RETR unix.txt", lines.append)  # universal newlines
    expect(lines[:3] == ["one", "two", ""], lines)
    f.sendcmd("TYPE A")
    raw = []
    conn = f.transfercmd("RETR unix.txt")
    while True:
        b = conn.recv(65536)
        if not b:
            break
        raw.append(b)
    conn.close()
    f.voidresp()
    expect(b"".join(raw) == b"one\r\ntwo\r\n\r\nthree\r\r\nlone\rcr\r\n",
           b"".join(raw))
    # Upload in ASCII: CRLF -> LF, including a CR at a block boundary and
    # a lone CR that must stay.
    block = 256 * 1024
    text = b"x" * (block - 1) + b"\r\n" + b"a\rb\r\n" + b"y" * 1000 + b"\r"
    conn = f.transfercmd("STOR up.txt")
    for i in range(0, len(text), 4093):
        conn.sendall(text[i:i + 4093])
    conn.close()
    f.voidresp()
    want = b"x" * (block - 1) + b"\n" + b"a\rb\n" + b"y" * 1000 + b"\r"
    expect(srv.read("up.txt") == want, "ascii upload")
    f.sendcmd("TYPE I")
    f.quit()


def resume(srv):
    data = os.urandom(3 * MiB + 17)
    srv.write("r.bin", data)
    f = srv.ftp()
    got = download(f, "r.bin", rest=MiB + 5)
    expect(got == data[MiB + 5:], "REST download")
    got = download(f, "r.bin", rest=len(data))
    expect(got == b"", "REST at the end")
    for bad in ("REST abc", "REST -1", "REST 1x", "REST"):
        try:
            f.sendcmd(bad)
            raise AssertionError(bad)
        except ftplib.error_perm as e:
            expect(str(e).startswith("501"), str(e))
    f.sendcmd("REST %d" % (len(data) + 1))
    try:
        download(f, "r.bin")
        raise AssertionError("REST beyond the end")
    except ftplib.error_perm as e:
        expect(str(e).startswith("554"), str(e))
    # Upload resume: half, then REST + STOR the rest.
    half = len(data) // 2
    f.storbinary("STOR w.bin", io.BytesIO(data[:half]))
    expect(f.size("w.bin") == half, "half")
    f.storbinary("STOR w.bin", io.BytesIO(data[half:]), rest=half)
    expect(srv.read("w.bin") == data, "REST upload")
    # REST + STOR onto a longer file gives exactly the uploaded content.
    f.storbinary("STOR w.bin", io.BytesIO(b"tail"), rest=10)
    expect(srv.read("w.bin") == data[:10] + b"tail", "REST shortens")
    # APPE to an existing and to a new file.
    f.storbinary("APPE w.bin", io.BytesIO(b"more"))
    expect(srv.read("w.bin") == data[:10] + b"tailmore", "APPE")
    f.storbinary("APPE new.bin", io.BytesIO(b"fresh"))
    expect(srv.read("new.bin") == b"fresh", "APPE new")
    # STOU never replaces.
    names = []
    for i in range(2):
        conn, _ = f.ntransfercmd("STOU w.bin")
        conn.sendall(b"unique%d" % i)
        conn.close()
        f.voidresp()
    for n in os.listdir(srv.root):
        if n.startswith("w.bin."):
            names.append(n)
    expect(srv.read("w.bin") == data[:10] + b"tailmore", "STOU kept w.bin")
    expect(sorted(srv.read(n) for n in names) == [b"unique0", b"unique1"],
           names)
    f.quit()


def start_unread_retr(srv, r, name):
    rep = r.cmd("PASV")
    d = socket.create_connection(("127.0.0.1", pasv_port(rep)))
    d.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    rep = r.cmd("RETR " + name)
    expect(rep.startswith("150"), rep)
    # The transfer runs once its first bytes arrive.
    expect(select.select([d], [], [], 10)[0], "no data after 150")
    return d


def abort(srv):
    srv.write("big.bin", os.urandom(64 * MiB))
    r = srv.raw()
    r.cmd("USER alice")
    r.cmd("PASS wonder")
    # STAT during a transfer, then a plain ABOR while nobody reads.
    d = start_unread_retr(srv, r, "big.bin")
    st = r.cmd("STAT")
    expect(st.startswith("213 Status: RETR") and "bytes so far" in st, st)
    t0 = time.time()
    rep = r.cmd("ABOR")
    expect(rep.startswith("426"), rep)
    expect(r.reply().startswith("226"), "226 after 426")
    expect(time.time() - t0 < 5, "ABOR took %.1fs" % (time.time() - t0))
    d.close()
    expect(r.cmd("NOOP").startswith("200"), "session sane after ABOR")
    # ABOR with Telnet IP and Synch (DM sent urgent), as RFC 959 says.
    d = start_unread_retr(srv, r, "big.bin")
    r.send(b"\xff\xf4\xff")
    r.sock.send(b"\xf2", socket.MSG_OOB)
    r.send(b"ABOR\r\n")
    expect(r.reply().startswith("426"), "426 with Telnet")
    expect(r.reply().startswith("226"), "226 with Telnet")
    d.close()
    r.cmd("QUIT")
    # ftplib's abort() sends ABOR as urgent data.
    f = srv.ftp()
    conn = f.transfercmd("RETR big.bin")
    conn.recv(1000)
    resp = f.abort()
    expect(resp[:3] in ("426", "225", "226"), resp)
    conn.close()
    if resp.startswith("426"):
        expect(f.getresp().startswith("226"), "226 after abort()")
    expect(f.sendcmd("NOOP").startswith("200"), "NOOP after abort()")
    f.quit()


def interrupted_upload(srv):
    old = b"old content\n" * 100
    srv.write("keep.bin", old)
    # 1: the data connection is reset halfway.
    r = srv.raw()
    r.cmd("USER alice")
    r.cmd("PASS wonder")
    d = socket.create_connection(("127.0.0.1", pasv_port(r.cmd("PASV"))))
    expect(r.cmd("STOR keep.bin").startswith("150"), "150")
    d.sendall(os.urandom(2 * MiB))
    d.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    d.close()
    rep = r.reply()
    expect(rep.startswith("426"), rep)
    expect(srv.read("keep.bin") == old, "old file kept after reset")
    # 2: the client vanishes (control closed) in the middle.
    d = socket.create_connection(("127.0.0.1", pasv_port(r.cmd("PASV"))))
    expect(r.cmd("STOR keep.bin").startswith("150"), "150")
    d.sendall(os.urandom(MiB))
    r.close()
    expect(srv.sessions_ended(), "session kept after its control closed")
    d.close()
    # 3: a new file that never completes leaves nothing.
    r = srv.raw()
    r.cmd("USER alice")
    r.cmd("PASS wonder")
    d = socket.create_connection(("127.0.0.1", pasv_port(r.cmd("PASV"))))
    expect(r.cmd("STOR never.bin").startswith("150"), "150")
    d.sendall(b"partial")
    r.close()
    expect(srv.sessions_ended(), "session kept after its control closed")
    d.close()
    deadline = time.time() + 5
    while time.time() < deadline:
        left = [n for n in os.listdir(srv.root) if ".part" in n]
        if not left:
            break
        time.sleep(0.1)
    expect(srv.read("keep.bin") == old, "old file kept after client left")
    expect(not os.path.exists(srv.path("never.bin")), "no partial new file")
    expect(not left, "temporary files left: %s" % left)


def xferlog(srv):
    with open(srv.xferlog) as f:
        lines = f.read().splitlines()
    expect(len(lines) >= 10, "xferlog has %d lines" % len(lines))
    ok = [l for l in lines if " b _ i r alice ftp 0 * c" in l]
    expect(ok, "no completed upload line in xferlog:\n" + "\n".join(lines))
    expect([l for l in lines if l.endswith(" i")], "no incomplete line")


def main():
    with Server() as srv:
        integrity(srv)
        ascii_mode(srv)
        resume(srv)
        abort(srv)
        interrupted_upload(srv)
        xferlog(srv)
    print("ok")


if __name__ == "__main__":
    main()
