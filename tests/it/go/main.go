// SPDX-License-Identifier: Apache-2.0

// Command pproftarget serves net/http/pprof on a loopback address while one
// goroutine burns CPU in two known functions: main.hotLoop about 80% of the
// time and main.coldLoop about 20%, so a CPU profile has a known shape.
package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
)

// hotLoop and coldLoop do the same work per round; hotLoop is called for four
// rounds for every round of coldLoop, so samples land in them (flat) 4:1.
//
//go:noinline
func hotLoop(x uint64, n int) uint64 {
	for i := 0; i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

//go:noinline
func coldLoop(x uint64, n int) uint64 {
	for i := 0; i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

var sink uint64

func burn() {
	x := uint64(88172645463325252)
	for {
		x = hotLoop(x, 4*200000)
		x = coldLoop(x, 200000)
		sink = x
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pproftarget 127.0.0.1:PORT")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go burn()
	fmt.Println("listening on", ln.Addr())
	if err := http.Serve(ln, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
