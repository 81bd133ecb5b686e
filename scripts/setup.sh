#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian 12 package proflow's build, tests and benchmarks need.
set -euo pipefail

packages=(
	# build
	build-essential cmake ninja-build pkg-config clang llvm-14
	libclang-rt-14-dev libfuzzer-14-dev clang-format
	# libraries
	libuv1-dev libyaml-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
	zlib1g-dev libdeflate-dev libzstd-dev libcurl4-openssl-dev libmicrohttpd-dev libxxhash-dev
	libcmocka-dev libbpf-dev bpftool libelf-dev libdw-dev libiberty-dev
	libgrpc-dev libgnutls28-dev libjson-c-dev
	# test peers and independent decoders
	golang-go golang-github-google-pprof-dev curl python3 procps util-linux
	golang-google-grpc-dev golang-google-protobuf-dev protoc-gen-go
	elfutils binutils nodejs chromium libxml2-utils openssl strace
	libpython3.11 # unit.unwind_table compiles its CFI
	openjdk-17-jdk-headless
	# benchmarks
	time valgrind linux-perf bpftrace
)

if [ "$(id -u)" -ne 0 ]; then
	echo "setup.sh: run as root (it calls apt-get install)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${packages[@]}"
