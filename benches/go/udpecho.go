// Command udpecho is the obvious UDP echo in Go (RFC 862), for the benchmark harness to measure
// in the same runs as `echoctl serve --mode plain --listen udp:...`: `cargo bench --bench reverb
// -- --go` builds it with the machine's `go` beside the book's reverb.
//
// ReadFrom and WriteTo in a loop on one socket, as most UDP echo servers in Go are written; the
// socket's buffers are the system's defaults.
package main

import (
	"flag"
	"log"
	"net"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:7000", "address to listen on")
	flag.Parse()
	conn, err := net.ListenPacket("udp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 65536)
	for {
		n, addr, err := conn.ReadFrom(buf)
		if err != nil {
			continue
		}
		conn.WriteTo(buf[:n], addr)
	}
}
