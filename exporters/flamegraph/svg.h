/* SPDX-License-Identifier: Apache-2.0 */
/* Renders a flame graph tree as a self-contained interactive SVG. */
#ifndef PF_FLAMEGRAPH_SVG_H
#define PF_FLAMEGRAPH_SVG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fold.h"

struct pf_flame_svg_options {
	const char *title;    /* escaped on output; NULL: "Flame Graph" */
	const char *subtitle; /* NULL: the sample type, unit and total */
	int64_t width;	      /* px */
	double min_width;     /* px: narrower frames (and so their children) are left out */
};

/*
 * Writes the SVG of a sorted graph: the root at the bottom, callers below
 * callees, children in name order, each frame a <g> with a <title> tooltip
 * ("name (value, percent[, kernel|JIT|interpreted][, inlined])") and its
 * name cut to fit. Colours tell frame kinds
 * apart: native warm red-yellow, kernel orange, JIT green, interpreted blue,
 * inlined frames lighter; the hue within a kind comes from the name, so a
 * function keeps its colour across graphs.
 *
 * The inline ECMAScript zooms on click (Reset Zoom undoes it), searches
 * frame names with a regular expression (the Search button, Ctrl-F, or
 * `?s=<regex>` in the URL), highlights what matched and shows the matched
 * share of the visible graph; `?z=<regex>` zooms on the widest frame that
 * matches. Both make the result readable by a headless browser
 * (`--dump-dom`): the element with id "matched" holds "Matched: P%" and the
 * root element's pf:matched attribute P.
 * Names are escaped for XML and invalid UTF-8 is replaced by U+FFFD, so the
 * document is well-formed whatever the input.
 *
 * Returns 0 and a malloc'd *out (NUL-terminated, *len bytes without the NUL;
 * the caller frees it), or -ENOMEM.
 */
int pf_flame_svg(const struct pf_flame *f, const struct pf_flame_svg_options *opt, char **out,
		 size_t *len);

/* The ECMAScript of the SVG (svg_script.c); holds no "]]>". */
extern const char pf_flame_svg_script[];

/* Writes `s` (n bytes) XML-escaped into `out` (&, <, >, ", ' as entities;
 * control characters other than tab and newline as spaces; invalid UTF-8,
 * U+FFFE and U+FFFF as U+FFFD). Exposed for tests. Returns 0 or -EIO. */
int pf_flame_svg_escape(FILE *out, const char *s, size_t n);

/* Formats `value` of `unit` for people: "1.23 s", "45.0 MiB", "1,234 samples". */
const char *pf_flame_svg_value(int64_t value, const char *type, const char *unit, char *buf,
			       size_t size);

#endif
