/* SPDX-License-Identifier: Apache-2.0 */
/* The shared `tls` option section: rows, cross-field checks and reading PEM files. */
#include "tls.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/read_file.h"

static const char *const tls_versions[] = {"1.2", "1.3", NULL};

const struct pf_option pf_tls_options[] = {
	{.name = "insecure",
	 .type = PF_OPT_BOOL,
	 .def = "false",
	 .offset = offsetof(struct pf_tls_config, insecure),
	 .doc = "Client: plaintext, no TLS (gRPC; HTTP follows the URL scheme)."},
	{.name = "ca_file",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct pf_tls_config, ca_file),
	 .doc = "PEM CA certificates that verify the peer; system roots when unset."},
	{.name = "cert_file",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct pf_tls_config, cert_file),
	 .doc = "PEM certificate: the server's, or the client's for mTLS."},
	{.name = "key_file",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct pf_tls_config, key_file),
	 .doc = "PEM private key of cert_file."},
	{.name = "client_ca_file",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct pf_tls_config, client_ca_file),
	 .doc = "Server: require client certificates signed by these CAs (mTLS)."},
	{.name = "server_name_override",
	 .type = PF_OPT_STRING,
	 .offset = offsetof(struct pf_tls_config, server_name_override),
	 .doc = "Client: server name expected in the certificate and sent as SNI."},
	{.name = "insecure_skip_verify",
	 .type = PF_OPT_BOOL,
	 .def = "false",
	 .offset = offsetof(struct pf_tls_config, insecure_skip_verify),
	 .doc = "Client: do not verify the server's certificate."},
	{.name = "min_version",
	 .type = PF_OPT_ENUM,
	 .def = "1.2",
	 .choices = tls_versions,
	 .offset = offsetof(struct pf_tls_config, min_version),
	 .doc = "Lowest TLS version accepted."},
	PF_OPTION_END,
};

static int check_pair(const struct pf_tls_config *cfg, struct pf_error *err)
{
	if (!cfg->cert_file != !cfg->key_file)
		return pf_error_set(err, "", "tls: cert_file and key_file must be given together");
	return 0;
}

int pf_tls_validate_client(const struct pf_tls_config *cfg, struct pf_error *err)
{
	int ret = check_pair(cfg, err);

	if (ret < 0)
		return ret;
	if (cfg->insecure && (cfg->ca_file || cfg->cert_file))
		return pf_error_set(
			err, "",
			"tls: insecure (plaintext) excludes ca_file, cert_file and key_file");
	if (cfg->client_ca_file)
		return pf_error_set(err, "", "tls: client_ca_file is a server setting");
	return 0;
}

int pf_tls_validate_server(const struct pf_tls_config *cfg, struct pf_error *err)
{
	int ret = check_pair(cfg, err);

	if (ret < 0)
		return ret;
	if (cfg->client_ca_file && !cfg->cert_file)
		return pf_error_set(err, "", "tls: client_ca_file needs cert_file and key_file");
	return 0;
}

bool pf_tls_server_enabled(const struct pf_tls_config *cfg)
{
	return cfg->cert_file && cfg->key_file;
}

#define PEM_MAX (1u << 20)

int pf_tls_read_pem(const char *path, const char *what, char **out, struct pf_error *err)
{
	size_t len;
	int ret;

	*out = NULL;
	ret = pf_host_read_file(path, PEM_MAX, 0, out, &len);
	if (ret == -EFBIG)
		pf_error_set(err, "", "tls.%s: %s: larger than 1 MiB", what, path);
	else if (ret < 0)
		pf_error_set(err, "", "tls.%s: %s: %s", what, path, strerror(-ret));
	return ret;
}
