// SPDX-License-Identifier: Apache-2.0
/* Checks an HTTP/1.x request line before the connection reaches libmicrohttpd, so that garbage gets 400 at once. */
#include <stdbool.h>
#include <string.h>

#include "http_server.h"

/* RFC 9110 5.6.2 token characters. */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

enum pf_http_line pf_http_request_line_check(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf, *end = p + len;
	size_t n;

	/* RFC 9112 2.2: empty lines before the request line are ignored. */
	for (int i = 0; i < 2 && p < end && (*p == '\r' || *p == '\n'); i++) {
		if (*p == '\r')
			p++;
		if (p == end)
			return PF_HTTP_LINE_MORE;
		if (*p++ != '\n')
			return PF_HTTP_LINE_BAD;
	}
	/* method SP */
	for (n = 0; p < end && is_tchar(*p); p++)
		if (++n > PF_HTTP_METHOD_MAX)
			return PF_HTTP_LINE_BAD;
	if (p == end)
		return PF_HTTP_LINE_MORE;
	if (n == 0 || *p++ != ' ')
		return PF_HTTP_LINE_BAD;
	/* request-target SP: visible ASCII */
	for (n = 0; p<end && * p> 0x20 && *p < 0x7f; p++)
		n++;
	if (p == end)
		return PF_HTTP_LINE_MORE;
	if (n == 0 || *p++ != ' ')
		return PF_HTTP_LINE_BAD;
	/* HTTP-version CRLF (a bare LF is tolerated, as RFC 9112 2.2 allows) */
	static const char version[] = "HTTP/d.d";
	for (size_t i = 0; i < sizeof(version) - 1; i++, p++) {
		if (p == end)
			return PF_HTTP_LINE_MORE;
		if (version[i] == 'd' ? !(*p >= '0' && *p <= '9') : *p != (unsigned char)version[i])
			return PF_HTTP_LINE_BAD;
	}
	if (p < end && *p == '\r')
		p++;
	if (p == end)
		return PF_HTTP_LINE_MORE;
	return *p == '\n' ? PF_HTTP_LINE_OK : PF_HTTP_LINE_BAD;
}
