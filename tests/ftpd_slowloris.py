"""A client that trickles a command line a byte at a time is idle: the idle
timeout counts from its last whole command, not its last byte, so it is
answered 421 and closed in time; a client that sends whole commands stays."""
import time

from ftpd_common import Server, expect, SAN


def main():
    with Server("--idle-timeout", "2") as srv:
        busy = srv.raw()
        loris = srv.raw()
        t0 = time.time()
        limit = 10 * (3 if SAN else 1)
        cut = False
        for b in b"USER " + b"a" * 200:
            if time.time() - t0 > limit:
                break
            try:
                loris.send(bytes([b]))
            except OSError:
                cut = True
                break
            if loris.closed(timeout=0.4):
                cut = True
                break
            # The other client keeps sending whole commands: it stays.
            if int((time.time() - t0) * 2) % 2 == 0:
                expect(busy.cmd("NOOP").startswith("200"), "NOOP")
        took = time.time() - t0
        expect(cut, "a byte at a time held the session %.1f s" % took)
        expect(took >= 1.5, "cut after %.1f s, before the idle timeout" % took)
        expect("421" in loris.buf.decode(errors="replace"),
               "no 421: %r" % loris.buf)
        expect(busy.cmd("NOOP").startswith("200"), "whole commands cut")
        busy.close()
    print("ok")


if __name__ == "__main__":
    main()
