// SPDX-License-Identifier: Apache-2.0

// Command otlp_go_peer is a grpc-go OTLP profiles peer, built by build.sh.
//
// As a server it is bench/gateway's baseline: the least a Go gateway in the
// OpenTelemetry Collector's position pays per request. It is a grpc-go
// server for
// opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export
// that accepts gzip, decompresses and unmarshals every
// ExportProfilesServiceRequest with google.golang.org/protobuf, counts its
// Sample messages and events (sum of each Sample's first value), and replies
// with an empty ExportProfilesServiceResponse. It neither aggregates nor
// exports, so it is a lower bound of the Collector's cost.
//
// run.sh builds it offline from Debian's packages (golang-google-grpc-dev,
// golang-google-protobuf-dev, protoc-gen-go) in GOPATH mode; the message types
// are generated at bench time by protoc --go_out from the project's proto/
// files, with go_package given by --go_opt=M flags, into the import path
// proflowbench/otlp/... . grpc-go 1.33's own "proto" codec goes through
// github.com/golang/protobuf 1.3 (Debian's), which predates
// google.golang.org/protobuf, so this program registers a "proto" codec that
// calls google.golang.org/protobuf/proto directly (as newer grpc-go does).
// The service is registered by hand with a grpc.ServiceDesc, so no
// protoc-gen-go-grpc is needed.
//
//	otlp_go_peer 127.0.0.1:PORT
//
// On SIGTERM or SIGINT it prints requests, Sample messages and events
// received, then exits.
//
// As a client it checks that proflow's otlp receiver understands grpc-go:
//
//	otlp_go_peer send 127.0.0.1:PORT REQUESTS gzip|none
//
// sends REQUESTS small requests (3 samples, values 5, 7 and 11, in one
// profile) and prints what it sent; it exits 1 on the first error.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // accepts grpc-encoding: gzip
	"google.golang.org/protobuf/proto"

	collector "proflowbench/otlp/collector/profiles/v1development"
	profiles "proflowbench/otlp/profiles/v1development"
)

// codec marshals and unmarshals with google.golang.org/protobuf.
type codec struct{}

func (codec) Marshal(v interface{}) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("codec: %T is not a proto.Message", v)
	}
	return proto.Marshal(m)
}

func (codec) Unmarshal(data []byte, v interface{}) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("codec: %T is not a proto.Message", v)
	}
	return proto.Unmarshal(data, m)
}

func (codec) Name() string { return "proto" }

// exporter is the service's handler type, checked by RegisterService.
type exporter interface {
	Export(context.Context, *collector.ExportProfilesServiceRequest) (*collector.ExportProfilesServiceResponse, error)
}

type server struct {
	requests, samples, events int64
}

func (s *server) Export(_ context.Context, req *collector.ExportProfilesServiceRequest) (*collector.ExportProfilesServiceResponse, error) {
	var samples, events int64
	for _, rp := range req.GetResourceProfiles() {
		for _, sp := range rp.GetScopeProfiles() {
			for _, p := range sp.GetProfiles() {
				for _, smp := range p.GetSamples() {
					samples++
					if v := smp.GetValues(); len(v) > 0 {
						events += v[0]
					}
				}
			}
		}
	}
	atomic.AddInt64(&s.requests, 1)
	atomic.AddInt64(&s.samples, samples)
	atomic.AddInt64(&s.events, events)
	return &collector.ExportProfilesServiceResponse{}, nil
}

func exportHandler(srv interface{}, ctx context.Context, dec func(interface{}) error, icpt grpc.UnaryServerInterceptor) (interface{}, error) {
	req := new(collector.ExportProfilesServiceRequest)
	if err := dec(req); err != nil {
		return nil, err
	}
	if icpt == nil {
		return srv.(exporter).Export(ctx, req)
	}
	info := &grpc.UnaryServerInfo{
		Server:     srv,
		FullMethod: "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export",
	}
	handler := func(ctx context.Context, r interface{}) (interface{}, error) {
		return srv.(exporter).Export(ctx, r.(*collector.ExportProfilesServiceRequest))
	}
	return icpt(ctx, req, info, handler)
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: "opentelemetry.proto.collector.profiles.v1development.ProfilesService",
	HandlerType: (*exporter)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Export", Handler: exportHandler}},
	Streams:     []grpc.StreamDesc{},
	Metadata:    "opentelemetry/proto/collector/profiles/v1development/profiles_service.proto",
}

// request is a small valid request: two functions, two one-line locations,
// the stacks [f1] and [f1 f2] (leaf first), and samples of 5, 7 and 11.
func request() *collector.ExportProfilesServiceRequest {
	line := func(fn int32) []*profiles.Line { return []*profiles.Line{{FunctionIndex: fn, Line: 10}} }
	dict := &profiles.ProfilesDictionary{
		StringTable:    []string{"", "samples", "count", "cpu", "nanoseconds", "go_leaf", "go_main"},
		MappingTable:   []*profiles.Mapping{{}},
		FunctionTable:  []*profiles.Function{{}, {NameStrindex: 5}, {NameStrindex: 6}},
		LocationTable:  []*profiles.Location{{}, {Address: 0x1000, Lines: line(1)}, {Address: 0x2000, Lines: line(2)}},
		StackTable:     []*profiles.Stack{{}, {LocationIndices: []int32{1}}, {LocationIndices: []int32{1, 2}}},
		LinkTable:      []*profiles.Link{{}},
		AttributeTable: []*profiles.KeyValueAndUnit{{}},
	}
	prof := &profiles.Profile{
		SampleType:   &profiles.ValueType{TypeStrindex: 1, UnitStrindex: 2},
		PeriodType:   &profiles.ValueType{TypeStrindex: 3, UnitStrindex: 4},
		Period:       10000000,
		TimeUnixNano: uint64(time.Now().UnixNano()),
		DurationNano: 1e9,
		Samples: []*profiles.Sample{
			{StackIndex: 1, Values: []int64{5}},
			{StackIndex: 2, Values: []int64{7}},
			{StackIndex: 2, Values: []int64{11}},
		},
	}
	return &collector.ExportProfilesServiceRequest{
		ResourceProfiles: []*profiles.ResourceProfiles{{
			ScopeProfiles: []*profiles.ScopeProfiles{{Profiles: []*profiles.Profile{prof}}},
		}},
		Dictionary: dict,
	}
}

// send is the client mode: n requests to addr, compressed or not.
func send(addr string, n int, compression string) error {
	opts := []grpc.DialOption{grpc.WithInsecure(), grpc.WithBlock()}
	if compression == "gzip" {
		opts = append(opts, grpc.WithDefaultCallOptions(grpc.UseCompressor("gzip")))
	} else if compression != "none" {
		return fmt.Errorf("compression %q: gzip or none", compression)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(ctx, addr, opts...)
	if err != nil {
		return err
	}
	defer conn.Close()
	req := request()
	for i := 0; i < n; i++ {
		resp := new(collector.ExportProfilesServiceResponse)
		err := conn.Invoke(ctx, "/"+serviceDesc.ServiceName+"/Export", req, resp)
		if err != nil {
			return fmt.Errorf("request %d: %v", i, err)
		}
		if ps := resp.GetPartialSuccess(); ps != nil && ps.GetRejectedProfiles() != 0 {
			return fmt.Errorf("request %d: %d samples rejected: %s", i,
				ps.GetRejectedProfiles(), ps.GetErrorMessage())
		}
	}
	fmt.Printf("otlp_go_peer: sent requests=%d samples=%d events=%d compression=%s\n",
		n, 3*n, 23*n, compression)
	return nil
}

func main() {
	addr := "127.0.0.1:4317"
	encoding.RegisterCodec(codec{})
	if len(os.Args) == 5 && os.Args[1] == "send" {
		n, err := strconv.Atoi(os.Args[3])
		if err == nil {
			err = send(os.Args[2], n, os.Args[4])
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "otlp_go_peer:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "otlp_go_peer:", err)
		os.Exit(1)
	}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(256 << 20))
	s := &server{}
	gs.RegisterService(&serviceDesc, s)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		gs.Stop()
	}()
	fmt.Fprintf(os.Stderr, "otlp_go_peer: listening on %s\n", addr)
	if err := gs.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, "otlp_go_peer:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "otlp_go_peer: requests=%d samples=%d events=%d\n",
		atomic.LoadInt64(&s.requests), atomic.LoadInt64(&s.samples), atomic.LoadInt64(&s.events))
}
