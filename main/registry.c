// SPDX-License-Identifier: Apache-2.0
/* The registry: the one place besides its own file that names a component type. */
#include "registry.h"

/* One line per component type. */
extern const struct pf_component_def pf_receiver_ebpf;
extern const struct pf_component_def pf_receiver_pprof;
extern const struct pf_component_def pf_receiver_jfr;
extern const struct pf_component_def pf_receiver_otlp;
extern const struct pf_component_def pf_exporter_debug;
extern const struct pf_component_def pf_exporter_flamegraph;
extern const struct pf_component_def pf_exporter_otlp;
extern const struct pf_component_def pf_exporter_otlphttp;
extern const struct pf_component_def pf_exporter_pprof;
extern const struct pf_component_def pf_exporter_pyroscope;
extern const struct pf_component_def pf_processor_aggregate;
extern const struct pf_component_def pf_processor_symbolize;
extern const struct pf_component_def pf_extension_bearertokenauth;
extern const struct pf_component_def pf_extension_headers_setter;
extern const struct pf_component_def pf_extension_health_check;

/* One entry per line, whatever their number. */
/* clang-format off */
const struct pf_component_def *const pf_registry[] = {
	&pf_receiver_ebpf,
	&pf_receiver_jfr,
	&pf_receiver_otlp,
	&pf_receiver_pprof, /* by kind, then type */
	&pf_processor_aggregate,
	&pf_processor_symbolize,
	&pf_exporter_debug,
	&pf_exporter_flamegraph,
	&pf_exporter_otlp,
	&pf_exporter_otlphttp,
	&pf_exporter_pprof,
	&pf_exporter_pyroscope,
	&pf_extension_bearertokenauth,
	&pf_extension_headers_setter,
	&pf_extension_health_check,
	NULL,
};
/* clang-format on */
