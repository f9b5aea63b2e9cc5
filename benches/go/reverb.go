// Command reverb is the book's reverb1 and reverb2 (The Go Programming Language, section 8.3),
// for the benchmark harness to measure in the same runs as echoctl: `cargo bench --bench reverb
// -- --go` builds it with the machine's `go` and drives it through the same scenarios.
//
// echo and handleConn are the book's, unchanged but for the delay and the choice between
// reverb1 (echo in line) and reverb2 (`go echo`). Flags replace the book's fixed localhost:8000
// and one-second delay, so each run gets a free port and the delay its scenario needs.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"strings"
	"time"
)

func echo(c net.Conn, shout string, delay time.Duration) {
	fmt.Fprintln(c, "\t", strings.ToUpper(shout))
	time.Sleep(delay)
	fmt.Fprintln(c, "\t", shout)
	time.Sleep(delay)
	fmt.Fprintln(c, "\t", strings.ToLower(shout))
}

func handleConn(c net.Conn, delay time.Duration, concurrent bool) {
	input := bufio.NewScanner(c)
	for input.Scan() {
		if concurrent {
			go echo(c, input.Text(), delay) // reverb2
		} else {
			echo(c, input.Text(), delay) // reverb1
		}
	}
	// NOTE: ignoring potential errors from input.Err()
	c.Close()
}

func main() {
	listen := flag.String("listen", "localhost:8000", "address to listen on")
	delay := flag.Duration("delay", time.Second, "time between a shout's echoes")
	mode := flag.String("mode", "concurrent", "sequential (reverb1) or concurrent (reverb2)")
	flag.Parse()
	if *mode != "sequential" && *mode != "concurrent" {
		log.Fatalf("-mode must be sequential or concurrent, not %q", *mode)
	}
	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	for {
		conn, err := listener.Accept()
		if err != nil {
			log.Print(err) // e.g., connection aborted
			continue
		}
		go handleConn(conn, *delay, *mode == "concurrent")
	}
}
