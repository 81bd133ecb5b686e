// SPDX-License-Identifier: Apache-2.0
/* gRPC core's own log lines (TLS handshake failures, lost connections) in proflow's log format. */
#include "grpc_log.h"

#include <grpc/support/log.h>

static const struct pf_logger grpc_logger = {.id = "grpc", .level = PF_LOG_DEBUG};

static enum pf_log_level our_level(gpr_log_severity severity)
{
	switch (severity) {
	case GPR_LOG_SEVERITY_ERROR: return PF_LOG_WARN;
	case GPR_LOG_SEVERITY_INFO:
	case GPR_LOG_SEVERITY_DEBUG: break;
	}
	return PF_LOG_DEBUG;
}

static void write_line(gpr_log_func_args *args)
{
	pf_log_write(&grpc_logger, our_level(args->severity), "%s (%s:%d)", args->message,
		     args->file, args->line);
}

static void discard_line(gpr_log_func_args *args)
{
	(void)args;
}

void pf_grpc_log_route(enum pf_log_level level)
{
	/* grpc filters before formatting; its debug lines are a firehose. */
	gpr_set_log_verbosity(level >= PF_LOG_DEBUG ? GPR_LOG_SEVERITY_INFO
						    : GPR_LOG_SEVERITY_ERROR);
	gpr_set_log_function(level >= PF_LOG_WARN ? write_line : discard_line);
}
