// SPDX-License-Identifier: Apache-2.0

// Command bench_gateway_baseline is bench/gateway's baseline: the least a Go
// gateway in the OpenTelemetry Collector's position pays per request. It is a
// grpc-go server for
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
//	bench_gateway_baseline 127.0.0.1:PORT
//
// On SIGTERM or SIGINT it prints requests, Sample messages and events
// received, then exits.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // accepts grpc-encoding: gzip
	"google.golang.org/protobuf/proto"

	collector "proflowbench/otlp/collector/profiles/v1development"
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

func main() {
	addr := "127.0.0.1:4317"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	encoding.RegisterCodec(codec{})
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench_gateway_baseline:", err)
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
	fmt.Fprintf(os.Stderr, "bench_gateway_baseline: listening on %s\n", addr)
	if err := gs.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, "bench_gateway_baseline:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "bench_gateway_baseline: requests=%d samples=%d events=%d\n",
		atomic.LoadInt64(&s.requests), atomic.LoadInt64(&s.samples), atomic.LoadInt64(&s.events))
}
