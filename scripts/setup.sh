#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages proflow needs:
#   scripts/setup.sh          what building the collector needs (README command 1)
#   scripts/setup.sh tests    that, and the test peers, decoders and benchmark tools (command 2)
set -euo pipefail

# Every find_program and pkg_check_modules of a build with BUILD_TESTING=OFF.
collector=(
	build-essential cmake ninja-build pkg-config
	# BPF: clang -target bpf, bpftool (vmlinux.h, skeletons), libbpf, libelf
	clang bpftool libbpf-dev libelf-dev
	# libraries
	libuv1-dev libyaml-dev libprotobuf-c-dev protobuf-c-compiler zlib1g-dev libdeflate-dev
	libcurl4-openssl-dev libmicrohttpd-dev libxxhash-dev libdw-dev libiberty-dev
	libdebuginfod-dev # symbolize's debuginfod client
	libgrpc-dev libgnutls28-dev libjson-c-dev libcap-dev
)

tests=(
	# unit tests, format check, libFuzzer and sanitizer runtimes
	libcmocka-dev clang-format llvm-14 libclang-rt-14-dev libfuzzer-14-dev
	# test peers and independent decoders
	golang-go golang-github-google-pprof-dev curl python3 procps util-linux
	golang-google-grpc-dev golang-google-protobuf-dev protoc-gen-go protobuf-compiler
	elfutils binutils dwz nodejs chromium libxml2-utils openssl strace passwd
	libpython3.11 # unit.unwind_table compiles its CFI
	linux-perf xz-utils gzip # bpf.stack_*: perf's stacks of xz, gzip, python3 are the reference
	debuginfod # it.symbolize_debuginfod serves debug files with the real server
	openjdk-17-jdk-headless
	# benchmarks
	time valgrind bpftrace
)

case ${1:-} in
"") packages=("${collector[@]}") ;;
tests) packages=("${collector[@]}" "${tests[@]}") ;;
*)
	echo "usage: setup.sh [tests]" >&2
	exit 2
	;;
esac
if [ "$(id -u)" -ne 0 ]; then
	echo "setup.sh: run as root (it calls apt-get install)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${packages[@]}"
