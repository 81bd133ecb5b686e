// SPDX-License-Identifier: Apache-2.0
/* ${env:NAME}, ${NAME}, ${env:NAME:-default} and $$ expansion in scalar values. */
#include "node.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAME   200
#define MAX_REFS   100		       /* ${...} per scalar, as the Collector allows */
#define MAX_RESULT (16u * 1024 * 1024) /* bytes of one expanded scalar */

struct out {
	char *buf;
	size_t len, cap;
};

static int out_add(struct out *o, const char *s, size_t n)
{
	if (n > MAX_RESULT - o->len)
		return -E2BIG;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 64;
		while (cap < o->len + n + 1)
			cap *= 2;
		char *buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
		if (o->len)
			memcpy(buf, o->buf, o->len);
		free(o->buf);
		o->buf = buf;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
	return 0;
}

static bool valid_name(const char *s, size_t n)
{
	if (n == 0 || n > MAX_NAME)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

/*
 * Reports an error at the "${" that caused it. A plain one-line scalar is
 * written as it reads, so the column is exact; otherwise (quotes, escapes,
 * folding) the scalar's own position is used.
 */
static int env_error(struct pf_error *err, const struct pf_cnode *n, const char *at,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int env_error(struct pf_error *err, const struct pf_cnode *n, const char *at,
		     const char *fmt, ...)
{
	char msg[PF_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	int col = n->col;
	if (n->plain && !memchr(n->text, '\n', n->len) && at >= n->text && at <= n->text + n->len)
		col += (int)(at - n->text);
	return pf_error_set_at(err, n->file, n->line, col, "%s", msg);
}

/* Expands one reference, body = text between "${" and "}". */
static int expand_ref(const struct pf_cnode *n, const char *at, const char *body, size_t len,
		      pf_getenv_fn get, void *arg, struct out *o, struct pf_error *err)
{
	/* An optional scheme: only env is a provider here. */
	const char *colon = memchr(body, ':', len);
	if (colon && !(colon + 1 < body + len && colon[1] == '-')) {
		size_t slen = (size_t)(colon - body);
		if (slen != 3 || memcmp(body, "env", 3) != 0)
			return env_error(err, n, at,
					 "unsupported config provider \"%.*s\" in "
					 "\"${%.*s}\"; only env is supported",
					 (int)slen, body, (int)(len < 64 ? len : 64), body);
		len -= slen + 1;
		body = colon + 1;
	}
	const char *def = NULL;
	size_t name_len = len, def_len = 0;
	for (size_t i = 0; i + 1 < len; i++) {
		if (body[i] == ':' && body[i + 1] == '-') {
			name_len = i;
			def = body + i + 2;
			def_len = len - i - 2;
			break;
		}
	}
	if (!valid_name(body, name_len))
		return env_error(err, n, at,
				 "invalid environment variable name \"%.*s\": names match "
				 "[a-zA-Z_][a-zA-Z0-9_]* and have at most %d characters",
				 (int)(name_len < 64 ? name_len : 64), body, MAX_NAME);
	char name[MAX_NAME + 1];
	memcpy(name, body, name_len);
	name[name_len] = '\0';
	const char *value = get(name, arg);
	/* Undefined without a default expands to "", as in the Collector. */
	int rc;
	if (value)
		rc = out_add(o, value, strlen(value));
	else if (def)
		rc = out_add(o, def, def_len);
	else
		rc = 0;
	if (rc == -E2BIG)
		return env_error(err, n, at, "value is too large after environment expansion");
	return rc;
}

/* Expands n's text; *whole tells whether the text was exactly one ${...}. */
static int expand_text(const struct pf_cnode *n, pf_getenv_fn get, void *arg, struct out *o,
		       bool *whole, struct pf_error *err)
{
	const char *s = n->text, *end = n->text + n->len;
	unsigned refs = 0;
	int rc = 0;
	*whole = false;
	while (s < end && rc == 0) {
		const char *dollar = memchr(s, '$', (size_t)(end - s));
		if (!dollar)
			return out_add(o, s, (size_t)(end - s));
		rc = out_add(o, s, (size_t)(dollar - s));
		if (rc < 0)
			break;
		if (dollar + 1 < end && dollar[1] == '$') {
			rc = out_add(o, "$", 1);
			s = dollar + 2;
			continue;
		}
		if (dollar + 1 >= end || dollar[1] != '{') {
			/* A bare $NAME stays literal. */
			rc = out_add(o, "$", 1);
			s = dollar + 1;
			continue;
		}
		const char *body = dollar + 2;
		const char *close = memchr(body, '}', (size_t)(end - body));
		if (!close)
			return env_error(err, n, dollar, "unterminated \"${\" in \"%.*s\"",
					 (int)(n->len < 64 ? n->len : 64), n->text);
		if (++refs > MAX_REFS)
			return env_error(err, n, dollar,
					 "more than %d ${...} references in one value", MAX_REFS);
		rc = expand_ref(n, dollar, body, (size_t)(close - body), get, arg, o, err);
		if (dollar == n->text && close + 1 == end)
			*whole = true;
		s = close + 1;
	}
	if (rc == -E2BIG)
		return env_error(err, n, n->text, "value is too large after environment expansion");
	return rc;
}

static int expand_scalar(struct pf_cnode *n, pf_getenv_fn get, void *arg, struct pf_error *err)
{
	if (!memchr(n->text, '$', n->len))
		return 0;
	struct out o = {0};
	bool whole;
	int rc = expand_text(n, get, arg, &o, &whole, err);
	if (rc == 0)
		rc = pf_cnode_set_text(n, o.buf ? o.buf : "", o.len);
	if (rc == 0)
		/* One whole reference is typed as YAML; anything else is a string. */
		n->plain = whole;
	free(o.buf);
	return rc;
}

int pf_cnode_expand_env(struct pf_cnode *n, pf_getenv_fn get, void *arg, struct pf_error *err)
{
	if (n->kind == PF_CNODE_SCALAR)
		return expand_scalar(n, get, arg, err);
	for (size_t i = 0; i < n->n; i++) {
		int rc = pf_cnode_expand_env(n->items[i], get, arg, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}
