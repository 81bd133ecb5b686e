// SPDX-License-Identifier: Apache-2.0
/* Fuzzes folding and drawing: any decodable pprof, and samples of extreme values, give consistent folded text and well-formed SVG. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exporters/flamegraph/fold.h"
#include "exporters/flamegraph/svg.h"
#include "formats/pprof/pprof.h"

static void die(const char *what, const char *doc, size_t at)
{
	fprintf(stderr, "%s at byte %zu: %.80s\n", what, at, doc + (at > 40 ? at - 40 : 0));
	abort();
}

/* Length of the valid UTF-8 character at s, 0 if invalid or not allowed in XML. */
static size_t xml_char(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		return s[0] >= 0x20 || s[0] == '\t' || s[0] == '\n' ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
		return 0;
	return len;
}

static bool entity_at(const char *s)
{
	static const char *const ok[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strncmp(s, ok[i], strlen(ok[i])) == 0)
			return true;
	return false;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == ':' || c == '-' || c == '_' || c == '.';
}

/* A small well-formedness check of what svg.c writes: characters, entities,
 * quoted attributes, balanced tags, one root. */
static void check_xml(const char *doc, size_t n)
{
	const char *stack[64];
	size_t len[64], depth = 0, roots = 0;

	for (size_t i = 0; i < n;) {
		size_t l = xml_char((const unsigned char *)doc + i, n - i);

		if (!l)
			die("invalid character", doc, i);
		if (doc[i] == '&' && !entity_at(doc + i))
			die("bare &", doc, i);
		if (doc[i] == '>')
			die("bare >", doc, i);
		if (doc[i] != '<') {
			i += l;
			continue;
		}
		if (strncmp(doc + i, "<?", 2) == 0) {
			const char *end = strstr(doc + i, "?>");

			if (!end || i != 0)
				die("bad declaration", doc, i);
			i = (size_t)(end - doc) + 2;
		} else if (strncmp(doc + i, "<![CDATA[", 9) == 0) {
			const char *end = strstr(doc + i, "]]>");

			if (!end || depth == 0)
				die("bad CDATA", doc, i);
			i = (size_t)(end - doc) + 3;
		} else if (doc[i + 1] == '/') {
			size_t k = i + 2;

			while (k < n && name_char(doc[k]))
				k++;
			if (depth == 0 || k - i - 2 != len[depth - 1] ||
			    memcmp(doc + i + 2, stack[depth - 1], len[depth - 1]) != 0 ||
			    doc[k] != '>')
				die("mismatched end tag", doc, i);
			depth--;
			i = k + 1;
		} else {
			size_t k = i + 1, start = k, name_len;

			while (k < n && name_char(doc[k]))
				k++;
			if (k == start)
				die("empty tag name", doc, i);
			name_len = k - start;
			/* attributes: name="value" */
			for (;;) {
				while (k < n && doc[k] == ' ')
					k++;
				if (k >= n)
					die("unterminated tag", doc, i);
				if (doc[k] == '>' || (doc[k] == '/' && doc[k + 1] == '>'))
					break;
				size_t a = k;

				while (k < n && name_char(doc[k]))
					k++;
				if (k == a || doc[k] != '=' || doc[k + 1] != '"')
					die("bad attribute", doc, k);
				for (k += 2; k < n && doc[k] != '"'; k++)
					if (doc[k] == '<' || (doc[k] == '&' && !entity_at(doc + k)))
						die("bad attribute value", doc, k);
				k++;
			}
			if (doc[k] == '/') {
				if (depth == 0)
					roots++;
				i = k + 2;
				continue;
			}
			if (depth == 0)
				roots++;
			if (depth == 64)
				die("too deep", doc, i);
			stack[depth] = doc + start;
			len[depth++] = name_len;
			i = k + 1;
		}
	}
	if (depth != 0 || roots != 1)
		die("unbalanced document", doc, n);
}

/* Every line "frame;...;frame value" with value > 0 and no empty frame;
 * returns the sum of the values. */
static int64_t check_folded(const char *text, size_t n)
{
	int64_t sum = 0;

	for (const char *p = text; p < text + n;) {
		const char *nl = memchr(p, '\n', (size_t)(text + n - p)), *sp;
		char *end;
		long long v;

		if (!nl)
			die("unterminated line", text, (size_t)(p - text));
		sp = nl;
		while (sp > p && sp[-1] != ' ')
			sp--;
		v = strtoll(sp, &end, 10);
		if (sp == p || end != nl || v <= 0 || p[0] == ';' || sp[-2] == ';')
			die("bad folded line", text, (size_t)(p - text));
		for (const char *q = p; q < sp - 1; q++)
			if (q[0] == ';' && q[1] == ';')
				die("empty frame", text, (size_t)(p - text));
		if (__builtin_add_overflow(sum, v, &sum))
			sum = INT64_MAX;
		p = nl + 1;
	}
	return sum;
}

static void check_graph(struct pf_flame *f, double min_width)
{
	struct pf_flame_svg_options opt = {
		.title = "fuzz <&>", .width = 1200, .min_width = min_width};
	char *text = NULL;
	size_t n = 0;
	int64_t sum;

	if (pf_flame_sort(f) != 0)
		return;
	if (pf_flame_folded(f, &text, &n) == 0) {
		sum = check_folded(text, n);
		if (f->nodes[0].total != INT64_MAX && sum != INT64_MAX &&
		    sum != f->nodes[0].total - f->nodes[0].self) {
			fprintf(stderr, "folded sum %lld != total %lld - self %lld\n",
				(long long)sum, (long long)f->nodes[0].total,
				(long long)f->nodes[0].self);
			abort();
		}
		free(text);
	}
	if (pf_flame_svg(f, &opt, &text, &n) == 0) {
		check_xml(text, n);
		free(text);
	}
}

/* Folds b every way and checks each graph, pruned and not. */
static void check_batch(const struct pf_batch *b)
{
	for (int g = 0; g < 3; g++) {
		struct pf_flame f;

		if (pf_flame_init(&f) != 0)
			break;
		if (pf_flame_pick_type(&f, b, g == 2 ? "samples" : NULL) == 0 &&
		    pf_flame_fold(&f, b, (enum pf_flame_group)g) >= 0) {
			check_graph(&f, g == 1 ? 0 : 0.1);
			if (pf_flame_prune(&f, f.nodes[0].total / 16 + 1) == 0)
				check_graph(&f, 0.1);
		}
		pf_flame_free(&f);
	}
}

/* Values a decoded pprof seldom carries: the extremes, and halves and
 * thirds whose sums overflow int64_t. */
static const int64_t extremes[] = {
	INT64_MAX, INT64_MAX - 1, INT64_MAX / 2 + 1, INT64_MAX / 3 * 2, (int64_t)1 << 62, 1, 0,
	-1,	   INT64_MIN,	  -(INT64_MAX / 2),
};
#define N_EXTREMES (sizeof(extremes) / sizeof(extremes[0]))
#define N_FUNCS	   8

/* A batch whose samples come straight from the input, 3 bytes each: a stack
 * of 1-4 frames over 8 functions, and a value from `extremes` or a byte
 * shifted anywhere into 64 bits. NULL when out of memory. */
static struct pf_batch *extreme_batch(const uint8_t *data, size_t size)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_profile_desc d = {0};
	uint32_t locs[N_FUNCS], p;

	if (!b)
		return NULL;
	d.sample_type.type = pf_batch_cstring(b, "cpu");
	d.sample_type.unit = pf_batch_cstring(b, "nanoseconds");
	p = pf_batch_add_profile(b, &d);
	for (unsigned i = 0; i < N_FUNCS; i++) {
		char name[8] = {'f', (char)('0' + i), '\0'};
		struct pf_function fn = {.name = pf_batch_cstring(b, name)};
		struct pf_line line = {.function = pf_batch_function(b, &fn)};
		struct pf_location loc = {0};

		locs[i] = pf_batch_location(b, &loc, &line, 1);
	}
	for (size_t i = 0; i + 3 <= size && i < 3 * 512; i += 3) {
		uint8_t shape = data[i], pick = data[i + 1], bits = data[i + 2];
		size_t depth = 1 + (shape & 3);
		uint32_t stack[4];
		int64_t v = pick < 128 ? extremes[pick % N_EXTREMES]
				       : (int64_t)((uint64_t)bits << (pick & 63));

		for (size_t k = 0; k < depth; k++)
			stack[k] = locs[(shape >> (2 * k + 1)) & 7];
		if (pf_batch_add_sample(b, p, pf_batch_stack(b, stack, depth), 0, 0, &v, 1, NULL,
					0) < 0)
			break;
	}
	return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pf_batch *b = pf_batch_new();
	struct pf_error err;

	if (!b)
		return 0;
	pf_error_clear(&err);
	if (pf_pprof_decode(b, NULL, data, size, 16 << 20, &err) > 0)
		check_batch(b);
	pf_batch_unref(b);
	b = extreme_batch(data, size);
	if (b) {
		check_batch(b);
		pf_batch_unref(b);
	}
	return 0;
}
