// SPDX-License-Identifier: Apache-2.0
// The Go baseline of bench/pprof: google/pprof's profile.Parse, then Write
// (gzip), of one file.
package main

import (
	"fmt"
	"os"

	"github.com/google/pprof/profile"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: goroundtrip IN OUT")
		os.Exit(2)
	}
	in, err := os.Open(os.Args[1])
	if err != nil {
		panic(err)
	}
	p, err := profile.Parse(in)
	if err != nil {
		panic(err)
	}
	in.Close()
	out, err := os.Create(os.Args[2])
	if err != nil {
		panic(err)
	}
	if err := p.Write(out); err != nil {
		panic(err)
	}
	if err := out.Close(); err != nil {
		panic(err)
	}
	fmt.Printf("samples %d locations %d functions %d\n", len(p.Sample), len(p.Location),
		len(p.Function))
}
