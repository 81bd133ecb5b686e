// SPDX-License-Identifier: Apache-2.0
/* The syntax of listen endpoints ("host:port") that PF_OPT_ENDPOINT options take. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define HOST_MAX  253 /* a DNS name's longest text form */
#define LABEL_MAX 63
#define PORT_MAX  65535

static int bad(char *msg, size_t size, const char *text, const char *why)
{
	snprintf(msg, size, "\"%.64s\" is not a valid endpoint: %s", text, why);
	return -EINVAL;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A host name (labels of [A-Za-z0-9_-] between dots) or a dotted IPv4
 * address; `n` bytes of `h`, n > 0. */
static bool valid_host(const char *h, size_t n)
{
	char buf[HOST_MAX + 1];
	size_t label = 0;
	bool numeric = true;
	struct in_addr a4;

	if (n > HOST_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-' && c != '_')
			return false;
		if (++label > LABEL_MAX)
			return false;
		numeric = numeric && c >= '0' && c <= '9';
	}
	if (label == 0)
		return false; /* empty last label: "host." or "a..b" ends here */
	if (!numeric)
		return true;
	memcpy(buf, h, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, &a4) == 1;
}

/* The inside of "[...]": an IPv6 address, optionally with a %zone. */
static bool valid_ipv6(const char *h, size_t n)
{
	char buf[64];
	const char *zone = memchr(h, '%', n);
	size_t addr_len = zone ? (size_t)(zone - h) : n;
	struct in6_addr a6;

	if (addr_len == 0 || addr_len >= sizeof(buf))
		return false;
	if (zone) {
		if (zone + 1 == h + n)
			return false;
		for (const char *z = zone + 1; z < h + n; z++)
			if (!is_alnum(*z) && *z != '-' && *z != '_' && *z != '.')
				return false;
	}
	memcpy(buf, h, addr_len);
	buf[addr_len] = '\0';
	return inet_pton(AF_INET6, buf, &a6) == 1;
}

static int check_port(const char *text, const char *port, char *msg, size_t size)
{
	unsigned long v = 0;
	char why[64];

	if (!port[0])
		return bad(msg, size, text, "the port is missing (host:port)");
	for (const char *p = port; *p; p++) {
		if (*p < '0' || *p > '9')
			return bad(msg, size, text, "the port must be a number");
		if (v <= PORT_MAX)
			v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > PORT_MAX) {
		snprintf(why, sizeof(why), "port %.16s is out of range 0..%d", port, PORT_MAX);
		return bad(msg, size, text, why);
	}
	return 0;
}

int pf_config_check_endpoint(const char *text, bool empty_ok, char *msg, size_t size)
{
	const char *host = text, *colon;
	size_t host_len;

	if (!text || !text[0]) {
		if (empty_ok)
			return 0;
		snprintf(msg, size, "an endpoint must not be empty (host:port)");
		return -EINVAL;
	}
	if (strstr(text, "${"))
		return bad(msg, size, text,
			   "\"${\" was left unexpanded (written as $${...}, or in the value of "
			   "an environment variable)");
	for (const char *p = text; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return bad(msg, size, text,
				   "it holds a space, a control or a non-ASCII character");
	if (text[0] == '[') {
		const char *end = strchr(text, ']');

		if (!end || end[1] != ':')
			return bad(msg, size, text, "expected [ipv6]:port");
		if (!valid_ipv6(text + 1, (size_t)(end - text - 1)))
			return bad(msg, size, text, "the part in brackets is not an IPv6 address");
		return check_port(text, end + 2, msg, size);
	}
	colon = strchr(text, ':');
	if (!colon)
		return bad(msg, size, text,
			   "expected host:port (e.g. 127.0.0.1:4317, [::1]:4317, or :4317 for "
			   "every interface)");
	if (strchr(colon + 1, ':'))
		return bad(msg, size, text, "an IPv6 address must be in brackets ([::1]:4317)");
	host_len = (size_t)(colon - host);
	if (host_len && !valid_host(host, host_len))
		return bad(msg, size, text, "the host is not a host name or an IPv4 address");
	return check_port(text, colon + 1, msg, size);
}
