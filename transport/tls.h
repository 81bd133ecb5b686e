/* SPDX-License-Identifier: Apache-2.0 */
/* The shared `tls` option section for clients (exporters) and servers (receivers). */
#ifndef PF_TLS_H
#define PF_TLS_H

#include <stdbool.h>

#include "core/error.h"
#include "core/option.h"

/*
 * The Collector's configtls settings, one table for both sides.
 *
 * Client (otlp, otlphttp exporters):
 *   insecure              plaintext, no TLS at all (gRPC; for HTTP the URL
 *                         scheme decides: http:// is plaintext)
 *   ca_file               PEM roots to verify the server; system roots if unset
 *   cert_file, key_file   client certificate and key (mTLS); both or neither
 *   server_name_override  name expected in the server's certificate (SNI)
 *   insecure_skip_verify  do not verify the server's certificate
 *   min_version           "1.2" (default) or "1.3" (HTTP clients; grpc core
 *                         offers no setting and negotiates 1.2 or 1.3)
 *
 * Server (otlp receiver): TLS is on when cert_file and key_file are set;
 * client_ca_file makes it require and verify client certificates (mTLS).
 */

enum pf_tls_version {
	PF_TLS_1_2,
	PF_TLS_1_3,
};

struct pf_tls_config {
	bool insecure;
	char *ca_file;
	char *cert_file;
	char *key_file;
	char *client_ca_file;
	char *server_name_override;
	bool insecure_skip_verify;
	int min_version; /* enum pf_tls_version */
};

/* The option rows of `tls`, offsets into struct pf_tls_config. Embed them
 * as a PF_OPT_SECTION row at the offset of a struct pf_tls_config field. */
extern const struct pf_option pf_tls_options[];

/* Cross-field checks for a client: cert_file and key_file both or neither;
 * insecure excludes ca_file, cert_file and client_ca_file. `where` prefixes
 * the message ("tls"). Returns 0 or -EINVAL with err filled. */
int pf_tls_validate_client(const struct pf_tls_config *cfg, struct pf_error *err);

/* Cross-field checks for a server: cert_file and key_file both or neither;
 * client_ca_file needs them. Returns 0 or -EINVAL with err filled. */
int pf_tls_validate_server(const struct pf_tls_config *cfg, struct pf_error *err);

/* True when a server with this config serves TLS (cert and key given). */
bool pf_tls_server_enabled(const struct pf_tls_config *cfg);

/* Reads a whole PEM (or any) file into a NUL-terminated malloc'd string,
 * for libraries that take PEM text rather than a path (grpc). At most 1 MiB.
 * Returns 0 and sets *out (caller frees), or a negative errno with err
 * filled ("tls.ca_file: /x: No such file or directory"). */
int pf_tls_read_pem(const char *path, const char *what, char **out, struct pf_error *err);

#endif
