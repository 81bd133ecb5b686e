/* SPDX-License-Identifier: Apache-2.0 */
/* gRPC core's own log lines (TLS handshake failures, lost connections) in proflow's log format. */
#ifndef PF_GRPC_LOG_H
#define PF_GRPC_LOG_H

#include "core/log.h"

/* Routes grpc core's log lines through pf_log_write() with the id "grpc",
 * showing them at `level` and above: grpc's errors as warnings (a client's
 * failed handshake is not the collector's error), its info lines at debug.
 * grpc keeps the hook and the verbosity process-wide, so the last call
 * wins; call it before grpc_init(). */
void pf_grpc_log_route(enum pf_log_level level);

#endif
