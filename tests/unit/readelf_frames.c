// SPDX-License-Identifier: Apache-2.0
/* Parses the output of `readelf -W --debug-dump=frames-interp`: CIEs' augmentations and initial rows, FDEs' ranges and tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readelf_frames.h"

#define MAX_COLS 64

struct cie {
	uint64_t off;
	int signal, has_row;
	struct rf_row row;
};

struct parser {
	struct rf_dump *d;
	struct cie *cies;
	size_t n_cies, cap_cies, cap_rows, cap_fdes;
	int debug_frame;
	int in_cie; /* the table being read is the current CIE's */
	int cols_cfa, cols_fp, cols_ra, n_cols;
	struct rf_fde *fde; /* the FDE whose table is being read */
};

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	void *q;

	if (n < *cap)
		return p;
	*cap = *cap ? 2 * *cap : 256;
	q = realloc(p, *cap * size);
	if (!q) {
		perror("realloc");
		abort();
	}
	return q;
}

static struct cie *find_cie(struct parser *ps, uint64_t off)
{
	size_t i;

	for (i = 0; i < ps->n_cies; i++)
		if (ps->cies[i].off == off)
			return &ps->cies[i];
	return NULL;
}

/* Ends the current FDE: with no table of its own it takes its CIE's row. */
static void close_fde(struct parser *ps, struct cie *cie)
{
	struct rf_fde *f = ps->fde;

	if (!f || f->n > 0 || !cie || !cie->has_row)
		return;
	ps->d->rows = grow(ps->d->rows, &ps->cap_rows, ps->d->n_rows, sizeof(struct rf_row));
	ps->d->rows[ps->d->n_rows] = cie->row;
	ps->d->rows[ps->d->n_rows].loc = f->start;
	f->first = ps->d->n_rows++;
	f->n = 1;
}

static int split(char *line, char **tok, int max)
{
	int n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(line, " \t\n", &save); t && n < max; t = strtok_r(NULL, " \t\n", &save)) {
		/* "r1 (rdx)": a register rule printed with its name is one column. */
		if (n > 0 && t[0] == '(')
			continue;
		tok[n++] = t;
	}
	return n;
}

static int parse_line(struct parser *ps, char *line, uint64_t *cie_of_fde)
{
	char *tok[MAX_COLS];
	unsigned long long a, b, c, e, f, g;
	char aug[64];
	int n, i;

	if (strstr(line, "ZERO terminator")) {
		ps->fde = NULL;
		ps->in_cie = 0;
		return 1;
	}
	if (strstr(line, "Contents of the .debug_frame section")) {
		ps->debug_frame = 1;
		ps->n_cies = 0;
		return 1;
	}
	if (strstr(line, "Contents of the .eh_frame section")) {
		ps->debug_frame = 0;
		ps->n_cies = 0;
		return 1;
	}
	if (sscanf(line, "%llx %llx %llx FDE cie=%llx pc=%llx..%llx", &a, &b, &c, &e, &f, &g) ==
	    6) {
		struct rf_fde *fd;

		ps->d->fdes = grow(ps->d->fdes, &ps->cap_fdes, ps->d->n_fdes, sizeof(*fd));
		fd = &ps->d->fdes[ps->d->n_fdes++];
		memset(fd, 0, sizeof(*fd));
		fd->start = f;
		fd->end = g;
		fd->debug_frame = ps->debug_frame;
		fd->signal = find_cie(ps, e) ? find_cie(ps, e)->signal : 0;
		ps->fde = fd;
		ps->in_cie = 0;
		*cie_of_fde = e;
		return 2;
	}
	if (sscanf(line, "%llx %llx %llx CIE", &a, &b, &c) == 3 && strstr(line, " CIE")) {
		const char *q = strchr(line, '"'), *q2 = q ? strchr(q + 1, '"') : NULL;
		struct cie *ci;

		if (!q || !q2 || (size_t)(q2 - q - 1) >= sizeof(aug))
			return -1;
		memcpy(aug, q + 1, (size_t)(q2 - q - 1));
		aug[q2 - q - 1] = '\0';
		ps->cies = grow(ps->cies, &ps->cap_cies, ps->n_cies, sizeof(*ps->cies));
		ci = &ps->cies[ps->n_cies++];
		memset(ci, 0, sizeof(*ci));
		ci->off = a;
		ci->signal = strchr(aug, 'S') != NULL;
		ps->in_cie = 1;
		ps->fde = NULL;
		return 3;
	}
	n = split(line, tok, MAX_COLS);
	if (n >= 2 && !strcmp(tok[0], "LOC")) {
		ps->n_cols = n;
		ps->cols_cfa = ps->cols_fp = ps->cols_ra = -1;
		for (i = 0; i < n; i++) {
			if (!strcmp(tok[i], "CFA"))
				ps->cols_cfa = i;
			else if (!strcmp(tok[i], "rbp"))
				ps->cols_fp = i;
			else if (!strcmp(tok[i], "ra"))
				ps->cols_ra = i;
		}
		return ps->cols_cfa < 0 || ps->cols_ra < 0 ? -1 : 4;
	}
	if (n >= 2 && strlen(tok[0]) >= 8 && strspn(tok[0], "0123456789abcdef") == strlen(tok[0])) {
		struct rf_row r = {.loc = strtoull(tok[0], NULL, 16)};

		if (n != ps->n_cols)
			return -1;
		snprintf(r.cfa, sizeof(r.cfa), "%s", tok[ps->cols_cfa]);
		snprintf(r.ra, sizeof(r.ra), "%s", tok[ps->cols_ra]);
		if (ps->cols_fp >= 0)
			snprintf(r.fp, sizeof(r.fp), "%s", tok[ps->cols_fp]);
		if (ps->in_cie && ps->n_cies) {
			ps->cies[ps->n_cies - 1].row = r;
			ps->cies[ps->n_cies - 1].has_row = 1;
		} else if (ps->fde) {
			ps->d->rows = grow(ps->d->rows, &ps->cap_rows, ps->d->n_rows, sizeof(r));
			if (ps->fde->n == 0)
				ps->fde->first = ps->d->n_rows;
			ps->d->rows[ps->d->n_rows++] = r;
			ps->fde->n++;
		}
		return 5;
	}
	return 0;
}

int rf_load(const char *path, struct rf_dump *d)
{
	struct parser ps = {.d = d};
	char cmd[4200], line[4096];
	uint64_t cie_off = 0, next_cie = 0;
	FILE *p;
	int rc = 0, k;

	memset(d, 0, sizeof(*d));
	snprintf(cmd, sizeof(cmd), "readelf -W -wN --debug-dump=frames-interp '%s' 2>/dev/null",
		 path);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char copy[4096];

		memcpy(copy, line, sizeof(copy));
		/* An FDE's table ends where the next entry or section begins. */
		if (strstr(line, " FDE ") || strstr(line, " CIE") || strstr(line, "Contents of") ||
		    strstr(line, "ZERO terminator"))
			close_fde(&ps, find_cie(&ps, cie_off));
		k = parse_line(&ps, copy, &next_cie);
		if (k < 0) {
			fprintf(stderr, "readelf line not understood: %s", line);
			rc = -1;
			break;
		}
		if (k == 2)
			cie_off = next_cie;
	}
	close_fde(&ps, find_cie(&ps, cie_off));
	/* readelf fails a debug file for what it lacks (no program
	 * interpreter, a NOBITS .eh_frame) but still prints its frames. */
	if (pclose(p) != 0 && d->n_fdes == 0)
		rc = -1;
	free(ps.cies);
	return rc;
}

void rf_free(struct rf_dump *d)
{
	free(d->fdes);
	free(d->rows);
	memset(d, 0, sizeof(*d));
}
