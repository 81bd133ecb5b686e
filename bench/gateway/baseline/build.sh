#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the Go OTLP profiles peer (main.go: bench/gateway's baseline server,
# and a client for interoperability tests) offline from Debian's Go sources:
# the OTLP types are generated from proto/ (go_package only through
# --go_opt=M, proto/ is untouched), then built in GOPATH mode.
#
#   bench/gateway/baseline/build.sh OUT_DIR     (prints the binary's path)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)

for tool in go protoc protoc-gen-go; do
	if ! command -v $tool >/dev/null; then
		echo "build.sh: no $tool for the Go OTLP peer (scripts/setup.sh installs it)" >&2
		exit 1
	fi
done
for pkg in google.golang.org/grpc google.golang.org/protobuf; do
	if [ ! -d "/usr/share/gocode/src/$pkg" ]; then
		echo "build.sh: no /usr/share/gocode/src/$pkg for the Go OTLP peer (scripts/setup.sh installs it)" >&2
		exit 1
	fi
done
rm -rf "$out/gopath/src/proflowbench"
mkdir -p "$out/gopath/src" "$out/gocache"
otlp=opentelemetry/proto
set -- common/v1/common.proto resource/v1/resource.proto \
	profiles/v1development/profiles.proto \
	collector/profiles/v1development/profiles_service.proto
mflags='' files=''
for f in "$@"; do
	mflags="$mflags --go_opt=M$otlp/$f=proflowbench/otlp/$(dirname "$f")"
	files="$files $root/proto/$otlp/$f"
done
# shellcheck disable=SC2086
protoc -I "$root/proto" --go_out="$out/gopath/src" $mflags $files
(cd "$here" && GO111MODULE=off GOPATH="$out/gopath:/usr/share/gocode" GOFLAGS='' \
	GOCACHE="$out/gocache" GOTELEMETRY=off GOPROXY=off \
	go build -o "$out/otlp_go_peer" main.go)
echo "$out/otlp_go_peer"
