// Command echo is the book's plain echo server (The Go Programming Language, section 8.3:
// handleConn with io.Copy(c, c)), for `cargo bench --bench plain -- --go` to measure in the same
// runs as echoctl's `serve --mode plain`. Between two TCP connections Go's io.Copy moves the
// bytes with splice(2) on Linux; over a Unix socket it copies.
//
// Build it on its own (it shares the directory with reverb.go): go build -o echo echo.go
package main

import (
	"flag"
	"io"
	"log"
	"net"
	"strings"
)

func handleConn(c net.Conn) {
	io.Copy(c, c) // NOTE: ignoring errors
	c.Close()
}

func main() {
	listen := flag.String("listen", "localhost:8000", "address: HOST:PORT, or unix:PATH")
	flag.Parse()
	network, address := "tcp", *listen
	if strings.HasPrefix(address, "unix:") {
		network, address = "unix", strings.TrimPrefix(address, "unix:")
	}
	listener, err := net.Listen(network, address)
	if err != nil {
		log.Fatal(err)
	}
	for {
		conn, err := listener.Accept()
		if err != nil {
			log.Print(err) // e.g., connection aborted
			continue
		}
		go handleConn(conn)
	}
}
