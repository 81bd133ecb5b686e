// SPDX-License-Identifier: Apache-2.0
// Generates a large, realistic pprof CPU profile for bench/pprof: deep stacks
// (10-60 frames) drawn from a call graph with shared roots, inlined frames,
// several mappings, string and numeric labels.
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run ./gen -o large.pb.gz
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"

	"github.com/google/pprof/profile"
)

func main() {
	out := flag.String("o", "large.pb.gz", "output file")
	nSamples := flag.Int("samples", 1000000, "samples")
	nLocs := flag.Int("locations", 150000, "locations")
	nFuncs := flag.Int("functions", 60000, "functions")
	nStacks := flag.Int("stacks", 250000, "distinct stacks")
	flag.Parse()
	rng := rand.New(rand.NewSource(42))

	libs := []string{"/usr/local/bin/api-server", "/lib/x86_64-linux-gnu/libc.so.6",
		"/lib/x86_64-linux-gnu/libpthread.so.0", "/usr/lib/libssl.so.3",
		"/usr/lib/libcrypto.so.3", "/usr/lib/libz.so.1", "[vdso]", "[kernel.kallsyms]"}
	var maps []*profile.Mapping
	for i, f := range libs {
		start := uint64(0x400000) + uint64(i)<<32
		maps = append(maps, &profile.Mapping{ID: uint64(i + 1), Start: start,
			Limit: start + 0x4000000, Offset: uint64(i) * 0x1000, File: f,
			BuildID:      fmt.Sprintf("%040x", rng.Uint64()),
			HasFunctions: true, HasFilenames: i == 0, HasLineNumbers: i == 0,
			HasInlineFrames: i == 0})
	}
	var fns []*profile.Function
	for i := 0; i < *nFuncs; i++ {
		pkg := i % 900
		name := fmt.Sprintf("github.com/acme/service/internal/pkg%d.(*Handler%d).Method%d",
			pkg, i%37, i)
		fns = append(fns, &profile.Function{ID: uint64(i + 1), Name: name, SystemName: name,
			Filename:  fmt.Sprintf("/src/service/internal/pkg%d/file%d.go", pkg, i%11),
			StartLine: int64(rng.Intn(2000))})
	}
	var locs []*profile.Location
	for i := 0; i < *nLocs; i++ {
		m := maps[0]
		if r := rng.Intn(10); r >= 7 {
			m = maps[1+rng.Intn(len(maps)-1)]
		}
		l := &profile.Location{ID: uint64(i + 1), Mapping: m,
			Address: m.Start + uint64(rng.Intn(0x3ffffff))}
		nLines := 1
		if r := rng.Intn(10); r >= 7 {
			nLines = 2 + rng.Intn(3) // inlined calls
		}
		for j := 0; j < nLines; j++ {
			l.Line = append(l.Line, profile.Line{Function: fns[rng.Intn(len(fns))],
				Line: int64(1 + rng.Intn(3000))})
		}
		locs = append(locs, l)
	}
	// Stacks share their roots: the outer frames come from a small set, the
	// inner ones from everything, like a real call graph.
	roots := locs[:200]
	stacks := make([][]*profile.Location, *nStacks)
	for i := range stacks {
		depth := 10 + rng.Intn(51)
		s := make([]*profile.Location, depth)
		for j := 0; j < depth; j++ {
			if j >= depth-6 {
				s[j] = roots[(i/1000+j)%len(roots)]
			} else {
				s[j] = locs[rng.Intn(len(locs))]
			}
		}
		stacks[i] = s
	}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"},
			{Type: "cpu", Unit: "nanoseconds"}},
		DefaultSampleType: "cpu",
		PeriodType:        &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:            10000000,
		TimeNanos:         1700000000000000000,
		DurationNanos:     60000000000,
		Comments:          []string{"bench/pprof generator"},
		Mapping:           maps,
		Location:          locs,
		Function:          fns,
	}
	threads := make([]string, 64)
	for i := range threads {
		threads[i] = fmt.Sprintf("worker-%d", i)
	}
	for i := 0; i < *nSamples; i++ {
		// Skewed towards hot stacks.
		k := int(float64(len(stacks)) * rng.Float64() * rng.Float64())
		n := int64(1 + rng.Intn(5))
		s := &profile.Sample{Location: stacks[k], Value: []int64{n, n * 10000000},
			Label: map[string][]string{"thread.name": {threads[rng.Intn(len(threads))]}}}
		if i%4 == 0 {
			s.NumLabel = map[string][]int64{"request.bytes": {int64(rng.Intn(1 << 20))}}
			s.NumUnit = map[string][]string{"request.bytes": {"bytes"}}
		}
		p.Sample = append(p.Sample, s)
	}
	f, err := os.Create(*out)
	if err != nil {
		panic(err)
	}
	if err := p.Write(f); err != nil {
		panic(err)
	}
	if err := f.Close(); err != nil {
		panic(err)
	}
}
