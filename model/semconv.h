/* SPDX-License-Identifier: Apache-2.0 */
/* Attribute names and values shared by components: OpenTelemetry semantic conventions. */
#ifndef PF_SEMCONV_H
#define PF_SEMCONV_H

/*
 * How a host profile looks in a batch (the ebpf receiver writes it, the
 * symbolize processor completes it, exporters read it):
 *
 *  - One resource per process: host.name, process.pid, process.executable.name,
 *    process.executable.path, process.command_line, container.id when known.
 *  - Two profiles per process and interval: samples/count and cpu/nanoseconds,
 *    period type cpu/nanoseconds, period 1e9 / frequency.
 *  - Sample attributes thread.id (int) and thread.name.
 *  - Every location carries profile.frame.type.
 *  - Kernel frames: the mapping named PF_KERNEL_MAPPING (memory 0..UINT64_MAX),
 *    address = the kernel instruction pointer.
 *  - Native frames: the process's mapping as in /proc/PID/maps (memory_start,
 *    memory_limit, file_offset, filename = the path in the process's mount
 *    namespace), with process.executable.build_id.gnu (lowercase hex) when the
 *    file has one; address = the virtual address in the process (as pprof).
 *    The file offset of an address is address - memory_start + file_offset.
 *  - Native frames of a process gone before its maps were read (the kernel
 *    gave build ID + file offset at sample time): a mapping of the file alone,
 *    memory_start 0 and file_offset 0, so address = the file offset; filename
 *    the path seen for that build ID in another process (else empty), with
 *    its build ID.
 *  - Frames in anonymous executable memory (JIT code): mapping filename
 *    PF_ANON_MAPPING, frame type "jit" until a perf map names them.
 *  - A location with no lines is unsymbolized; symbolize adds lines and
 *    functions and may re-type the frame (e.g. "jit" frames it named).
 */

#define PF_ATTR_HOST_NAME		"host.name"
#define PF_ATTR_SERVICE_NAME		"service.name"
#define PF_ATTR_PROCESS_PID		"process.pid"
#define PF_ATTR_PROCESS_EXECUTABLE_NAME "process.executable.name"
#define PF_ATTR_PROCESS_EXECUTABLE_PATH "process.executable.path"
#define PF_ATTR_PROCESS_COMMAND_LINE	"process.command_line"
#define PF_ATTR_CONTAINER_ID		"container.id"
#define PF_ATTR_THREAD_ID		"thread.id"
#define PF_ATTR_THREAD_NAME		"thread.name"
#define PF_ATTR_FRAME_TYPE		"profile.frame.type"
/* proflow's: how a frame's caller was found when not by its file's unwind
 * table (value PF_UNWIND_FRAME_POINTER: code without CFI). */
#define PF_ATTR_FRAME_UNWIND	 "proflow.frame.unwind"
#define PF_UNWIND_FRAME_POINTER	 "frame_pointer"
#define PF_ATTR_BUILD_ID_GNU	 "process.executable.build_id.gnu"
#define PF_ATTR_BUILD_ID_GO	 "process.executable.build_id.go"
#define PF_ATTR_BUILD_ID_HTLHASH "process.executable.build_id.htlhash"

/* profile.frame.type values. */
#define PF_FRAME_KERNEL	 "kernel"
#define PF_FRAME_NATIVE	 "native"
#define PF_FRAME_JIT	 "jit"
#define PF_FRAME_JVM	 "jvm"
#define PF_FRAME_V8JS	 "v8js"
#define PF_FRAME_CPYTHON "cpython"
/* The outermost frame of a stack that could not be unwound to its root
 * (the OpenTelemetry eBPF profiler's name for it); its function names why. */
#define PF_FRAME_ABORT "abort-marker"

/* Mapping file names that are not files. */
#define PF_KERNEL_MAPPING "[kernel.kallsyms]"
#define PF_ANON_MAPPING	  "[anon]"

#endif
