// SPDX-License-Identifier: Apache-2.0
/* Lays out a flame graph tree and writes it as SVG with its script, colours and tooltips. */
#include "svg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_H	    16
#define FONT_SIZE   12
#define CHAR_W	    (FONT_SIZE * 0.59)
#define PAD_X	    10
#define TOP_H	    (FRAME_H * 4)  /* title, subtitle, legend */
#define BOTTOM_H    (FRAME_H * 2)  /* details */
#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* ---- text ---- */

/* Length of the valid UTF-8 sequence at s (n bytes left) with its code
 * point in *cp; 0 when invalid (overlong, surrogate, beyond U+10FFFF,
 * truncated). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, *cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, *cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, *cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && *cp < 0x800) || (len == 4 && *cp < 0x10000) || *cp > 0x10ffff ||
	    (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return len;
}

/* Bytes of the character at s as the escaper steps (an invalid byte is one). */
static size_t char_len(const char *s, size_t n)
{
	uint32_t cp;
	size_t l = utf8_decode((const unsigned char *)s, n, &cp);

	return l ? l : 1;
}

/* Characters of s as the escaper counts them (an invalid byte is one). */
static size_t char_count(const char *s, size_t n)
{
	size_t count = 0;

	for (size_t i = 0; i < n; count++) {
		i += char_len(s + i, n - i);
	}
	return count;
}

/* Byte length of the first k characters of s. */
static size_t char_prefix(const char *s, size_t n, size_t k)
{
	size_t i = 0;

	while (i < n && k-- > 0)
		i += char_len(s + i, n - i);
	return i;
}

int pf_flame_svg_escape(FILE *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp = 0;
		size_t l = utf8_decode((const unsigned char *)s + i, n - i, &cp);

		if (l == 0 || cp == 0xfffe || cp == 0xffff) /* not allowed in XML */
			fputs(REPLACEMENT, out);
		else if (cp == '&')
			fputs("&amp;", out);
		else if (cp == '<')
			fputs("&lt;", out);
		else if (cp == '>')
			fputs("&gt;", out);
		else if (cp == '"')
			fputs("&quot;", out);
		else if (cp == '\'')
			fputs("&apos;", out);
		else if (cp < 0x20 && cp != '\t' && cp != '\n')
			fputc(' ', out);
		else
			fwrite(s + i, 1, l, out);
		i += l ? l : 1;
	}
	return ferror(out) ? -EIO : 0;
}

/* 1234567 -> "1,234,567". */
static const char *group_digits(int64_t v, char *buf, size_t size)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v), lead = v < 0 ? 1 : 0, digits = n - lead;
	size_t o = 0;

	for (int i = 0; i < n && o + 1 < size; i++) {
		buf[o++] = tmp[i];
		if (i >= lead && i < n - 1 && (digits - (i - lead) - 1) % 3 == 0 && o + 1 < size)
			buf[o++] = ',';
	}
	buf[o] = '\0';
	return buf;
}

const char *pf_flame_svg_value(int64_t value, const char *type, const char *unit, char *buf,
			       size_t size)
{
	double v = (double)value;
	char num[40];

	if (strcmp(unit, "nanoseconds") == 0) {
		if (v >= 1e9)
			snprintf(buf, size, "%.2f s", v / 1e9);
		else if (v >= 1e6)
			snprintf(buf, size, "%.2f ms", v / 1e6);
		else if (v >= 1e3)
			snprintf(buf, size, "%.2f \xc2\xb5s", v / 1e3);
		else
			snprintf(buf, size, "%" PRId64 " ns", value);
	} else if (strcmp(unit, "bytes") == 0) {
		if (v >= 1073741824.0)
			snprintf(buf, size, "%.2f GiB", v / 1073741824.0);
		else if (v >= 1048576.0)
			snprintf(buf, size, "%.2f MiB", v / 1048576.0);
		else if (v >= 1024.0)
			snprintf(buf, size, "%.2f KiB", v / 1024.0);
		else
			snprintf(buf, size, "%" PRId64 " B", value);
	} else if (strcmp(unit, "count") == 0 || unit[0] == '\0') {
		snprintf(buf, size, "%s %s", group_digits(value, num, sizeof(num)),
			 type[0] ? type : "samples");
	} else {
		snprintf(buf, size, "%s %s", group_digits(value, num, sizeof(num)), unit);
	}
	return buf;
}

/* ---- colours ---- */

struct rgb {
	int r, g, b;
};

/* Two numbers in [0, 1) from the name, so a function keeps its colour. */
static void name_hash(const char *name, double *a, double *b)
{
	uint32_t h = 2166136261u;

	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	*a = (double)(h & 0xffff) / 65536.0;
	*b = (double)(h >> 16) / 65536.0;
}

static struct rgb frame_colour(const struct pf_flame_node *n, const char *name)
{
	double a, b;
	struct rgb c;

	name_hash(name, &a, &b);
	switch (n->kind) {
	case PF_FLAME_ROOT: c = (struct rgb){200, 200, 205}; break;
	case PF_FLAME_GROUP: c = (struct rgb){175 + (int)(30 * a), 175 + (int)(30 * a), 215}; break;
	case PF_FLAME_KERNEL:
		c = (struct rgb){240 + (int)(15 * a), 170 + (int)(45 * b), (int)(50 * a)};
		break;
	case PF_FLAME_JIT:
		c = (struct rgb){50 + (int)(60 * a), 180 + (int)(50 * b), 50 + (int)(50 * a)};
		break;
	case PF_FLAME_INTERPRETED:
		c = (struct rgb){60 + (int)(60 * a), 150 + (int)(50 * b), 215 + (int)(35 * a)};
		break;
	default: c = (struct rgb){210 + (int)(45 * a), 50 + (int)(60 * b), 40 + (int)(40 * a)};
	}
	if (n->inlined) /* lighter: a third of the way to white */
		c = (struct rgb){c.r + (255 - c.r) / 3, c.g + (255 - c.g) / 3,
				 c.b + (255 - c.b) / 3};
	return c;
}

/* ---- layout and output ---- */

struct svg_ctx {
	const struct pf_flame *f;
	const struct pf_flame_svg_options *opt;
	FILE *out;
	int64_t *x;  /* per node: offset from the left in sample units */
	double unit; /* px per sample unit */
	double min_width;
	int max_depth; /* of the frames drawn */
	int height;
	int64_t total;
};

static bool drawn(const struct svg_ctx *c, uint32_t i)
{
	return (double)c->f->nodes[i].total * c->unit >= c->min_width && c->f->nodes[i].total > 0;
}

/* Assigns x to every node drawn (children left to right in name order,
 * leaving the parent's self value on the right) and finds the depth. */
static void place_nodes(struct svg_ctx *c)
{
	const struct pf_flame *f = c->f;

	c->x[0] = 0;
	c->max_depth = 0;
	/* Parents come before children in index order, but sibling offsets
	 * need the name order: walk each parent's child list. */
	for (size_t p = 0; p < f->n_nodes; p++) {
		int64_t off;

		if (!drawn(c, (uint32_t)p))
			continue;
		if (f->nodes[p].depth > c->max_depth)
			c->max_depth = f->nodes[p].depth;
		off = c->x[p];
		for (uint32_t k = f->nodes[p].child; k != PF_FLAME_NONE; k = f->nodes[k].sibling) {
			c->x[k] = off;
			/* Totals saturate at INT64_MAX while folding, so the
			 * children of a saturated parent may sum past it. */
			if (__builtin_add_overflow(off, f->nodes[k].total, &off))
				off = INT64_MAX;
		}
	}
}

/* What the tooltip says about a frame's kind (native goes without saying). */
static const char *kind_note(uint8_t kind)
{
	switch (kind) {
	case PF_FLAME_KERNEL: return ", kernel";
	case PF_FLAME_JIT: return ", JIT";
	case PF_FLAME_INTERPRETED: return ", interpreted";
	default: return "";
	}
}

/* A value for people; its unit comes from the input, so it is escaped. */
static void put_value(struct svg_ctx *c, int64_t v)
{
	char buf[160];

	pf_flame_svg_value(v, c->f->type, c->f->unit, buf, sizeof(buf));
	pf_flame_svg_escape(c->out, buf, strlen(buf));
}

static void write_frame(struct svg_ctx *c, uint32_t i)
{
	const struct pf_flame_node *n = &c->f->nodes[i];
	const char *name = pf_flame_name(c->f, i);
	size_t len = strlen(name), chars;
	double x = PAD_X + (double)c->x[i] * c->unit, w = (double)n->total * c->unit;
	double y = c->height - BOTTOM_H - (double)(n->depth + 1) * FRAME_H;
	long fit = (long)((w - 6) / CHAR_W);
	struct rgb rgb = frame_colour(n, name);

	fprintf(c->out, "<g class=\"f\" pf:x=\"%" PRId64 "\" pf:w=\"%" PRId64 "\"><title>", c->x[i],
		n->total);
	pf_flame_svg_escape(c->out, name, len);
	fputs(" (", c->out);
	put_value(c, n->total);
	fprintf(c->out, ", %.2f%%%s%s)</title>", 100.0 * (double)n->total / (double)c->total,
		kind_note(n->kind), n->inlined ? ", inlined" : "");
	fprintf(c->out,
		"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"rgb(%d,%d,%d)\" "
		"rx=\"2\" ry=\"2\"/><text x=\"%.1f\" y=\"%.1f\">",
		x, y, w, FRAME_H - 1, rgb.r, rgb.g, rgb.b, x + 3, y + FRAME_H - 4.5);
	if (fit >= 3) {
		chars = char_count(name, len);
		if (chars <= (size_t)fit) {
			pf_flame_svg_escape(c->out, name, len);
		} else {
			pf_flame_svg_escape(c->out, name, char_prefix(name, len, (size_t)fit - 2));
			fputs("..", c->out);
		}
	}
	fputs("</text></g>\n", c->out);
}

static const char style[] =
	"<style type=\"text/css\">\n"
	"text { font-family: Verdana, 'DejaVu Sans', sans-serif; font-size: 12px; fill: #000; }\n"
	"#title { font-size: 17px; text-anchor: middle; }\n"
	"#subtitle { text-anchor: middle; fill: #555; }\n"
	"#matched { text-anchor: end; }\n"
	".button { cursor: pointer; fill: #1a4f9c; }\n"
	".button:hover { text-decoration: underline; }\n"
	"#frames .f { cursor: pointer; }\n"
	"#frames .f:hover rect { stroke: #000; stroke-width: 0.5; }\n"
	"#frames text { pointer-events: none; }\n"
	"#frames .m rect { fill: rgb(230,0,230); }\n"
	"#frames .parent { opacity: 0.55; }\n"
	".hide { display: none; }\n"
	"</style>\n";

static void write_legend(struct svg_ctx *c, double y)
{
	static const struct {
		uint8_t kind;
		bool inlined;
		const char *label;
	} items[] = {
		{PF_FLAME_NATIVE, false, "native"},
		{PF_FLAME_KERNEL, false, "kernel"},
		{PF_FLAME_JIT, false, "JIT"},
		{PF_FLAME_INTERPRETED, false, "interpreted"},
		{PF_FLAME_NATIVE, true, "inlined (lighter)"},
	};
	double x = PAD_X;

	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
		struct pf_flame_node n = {.kind = items[i].kind, .inlined = items[i].inlined};
		struct rgb rgb = frame_colour(&n, "legend");

		fprintf(c->out,
			"<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" "
			"fill=\"rgb(%d,%d,%d)\" rx=\"2\" ry=\"2\"/>"
			"<text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
			x, y - 10, rgb.r, rgb.g, rgb.b, x + 16, y, items[i].label);
		x += 16 + (double)strlen(items[i].label) * CHAR_W + 18;
	}
}

static void write_document(struct svg_ctx *c)
{
	const struct pf_flame_svg_options *opt = c->opt;
	const char *title = opt->title ? opt->title : "Flame Graph";
	int64_t width = opt->width;

	fprintf(c->out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" "
		"xmlns:pf=\"urn:proflow:flamegraph\" width=\"%" PRId64 "\" height=\"%d\" "
		"viewBox=\"0 0 %" PRId64 " %d\" pf:fh=\"%d\" pf:pad=\"%d\" pf:minw=\"%g\">\n",
		width, c->height, width, c->height, FRAME_H, PAD_X, c->min_width);
	fputs(style, c->out);
	fprintf(c->out, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n",
		pf_flame_svg_script);
	fprintf(c->out,
		"<rect x=\"0\" y=\"0\" width=\"%" PRId64 "\" height=\"%d\" fill=\"#f8f8f4\"/>\n",
		width, c->height);
	fprintf(c->out, "<text id=\"title\" x=\"%.1f\" y=\"24\">", (double)width / 2);
	pf_flame_svg_escape(c->out, title, strlen(title));
	fprintf(c->out, "</text>\n<text id=\"subtitle\" x=\"%.1f\" y=\"42\">", (double)width / 2);
	if (opt->subtitle) {
		pf_flame_svg_escape(c->out, opt->subtitle, strlen(opt->subtitle));
	} else {
		pf_flame_svg_escape(c->out, c->f->type, strlen(c->f->type));
		if (c->f->unit[0]) {
			fputs(" (", c->out);
			pf_flame_svg_escape(c->out, c->f->unit, strlen(c->f->unit));
			fputs(")", c->out);
		}
		fputs(", total ", c->out);
		put_value(c, c->total);
	}
	fputs("</text>\n", c->out);
	write_legend(c, 58);
	fprintf(c->out,
		"<text id=\"unzoom\" class=\"button hide\" x=\"%d\" y=\"24\">Reset Zoom</text>\n"
		"<text id=\"search\" class=\"button\" x=\"%.1f\" y=\"24\" "
		"text-anchor=\"end\">Search</text>\n"
		"<text id=\"matched\" class=\"hide\" x=\"%.1f\" y=\"%d\"> </text>\n"
		"<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n",
		PAD_X, (double)(width - PAD_X), (double)(width - PAD_X), c->height - 12, PAD_X,
		c->height - 12);
	fputs("<g id=\"frames\">\n", c->out);
	for (size_t i = 0; i < c->f->n_nodes; i++)
		if (drawn(c, (uint32_t)i))
			write_frame(c, (uint32_t)i);
	fputs("</g>\n</svg>\n", c->out);
}

int pf_flame_svg(const struct pf_flame *f, const struct pf_flame_svg_options *opt, char **out,
		 size_t *len)
{
	struct svg_ctx c = {.f = f, .opt = opt};
	char *buf = NULL;
	size_t size = 0;
	int err = 0;

	*out = NULL;
	*len = 0;
	c.x = calloc(f->n_nodes, sizeof(*c.x));
	if (!c.x)
		return -ENOMEM;
	c.total = f->nodes[0].total;
	c.unit = c.total > 0 ? (double)(opt->width - 2 * PAD_X) / (double)c.total : 0;
	c.min_width = opt->min_width > 0 ? opt->min_width : 1e-9;
	place_nodes(&c);
	c.height = TOP_H + (c.max_depth + 1) * FRAME_H + BOTTOM_H;
	c.out = open_memstream(&buf, &size);
	if (!c.out) {
		err = -ENOMEM;
		goto out_free_x;
	}
	write_document(&c);
	if (ferror(c.out))
		err = -ENOMEM;
	if (fclose(c.out) != 0)
		err = -ENOMEM;
	if (err) {
		free(buf);
		goto out_free_x;
	}
	*out = buf;
	*len = size;
out_free_x:
	free(c.x);
	return err;
}
