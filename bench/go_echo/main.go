// go_echo: the goroutine-per-connection echo server most Go programs
// would write, a peer for bench/hub.sh. Each connection gets a goroutine
// and a buffer of -b bytes; the runtime's netpoller (epoll) does the rest.
//
//	go_echo [-p PORT] [-b BYTES]
//
// Prints "listening on 127.0.0.1:PORT" when ready and exits 0 on SIGINT or
// SIGTERM. GOMAXPROCS in the environment sets how many CPUs it runs on.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func serve(c net.Conn, size int) {
	defer c.Close()
	buf := make([]byte, size)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

func main() {
	port := flag.Int("p", 0, "TCP port on 127.0.0.1 (0: any free port)")
	size := flag.Int("b", 512, "read buffer per connection, bytes")
	flag.Parse()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_echo:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		os.Exit(0)
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go serve(c, *size)
	}
}
