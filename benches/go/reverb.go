// Command reverb is the book's reverb1 and reverb2 (The Go Programming Language, section 8.3),
// for the benchmark harness to measure in the same runs as echoctl: `cargo bench --bench reverb
// -- --go` builds it with the machine's `go` and drives it through the same scenarios.
//
// echo and handleConn are the book's, unchanged but for the delay and the choice between
// reverb1 (echo in line) and reverb2 (`go echo`). Flags replace the book's fixed localhost:8000
// and one-second delay, so each run gets a free port and the delay its scenario needs. With
// -tls it serves Go's crypto/tls with a certificate made at start-up, as `echoctl serve --tls`
// does (self-signed ECDSA P-256), for the harness's tls- scenarios.
package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"strings"
	"time"
)

// selfSigned makes the certificate -tls serves: ECDSA P-256, for localhost and 127.0.0.1.
func selfSigned() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	template := x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "reverb"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(7 * 24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, &template, &template, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

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
	useTLS := flag.Bool("tls", false, "serve TLS with a certificate made at start-up")
	flag.Parse()
	if *mode != "sequential" && *mode != "concurrent" {
		log.Fatalf("-mode must be sequential or concurrent, not %q", *mode)
	}
	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if *useTLS {
		config := &tls.Config{Certificates: []tls.Certificate{selfSigned()}}
		listener = tls.NewListener(listener, config)
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
