/* SPDX-License-Identifier: Apache-2.0 */
/* One binary ready to symbolize: its symbols, its DWARF and the answers given so far. */
#ifndef PF_SYMFILE_H
#define PF_SYMFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pf_debuginfod;

struct pf_symfile_opts {
	bool lines;			  /* read DWARF for file:line and inlined frames */
	bool demangle;			  /* demangle C++ and Rust names */
	const char *debug_root;		  /* "/usr/lib/debug" */
	struct pf_debuginfod *debuginfod; /* where missing debug files come from; NULL: nowhere */
};

/* A frame as the symbolizer reports it; strings owned by the symfile. */
struct pf_sym_frame {
	const char *name;	 /* demangled when asked and possible */
	const char *system_name; /* as in the binary (mangled) */
	const char *file;	 /* source file, or NULL */
	int64_t line;
	int64_t start_line;
};

/* The frames of one address, innermost inlined first. */
struct pf_sym_result {
	uint32_t n;
	struct pf_sym_frame frames[];
};

struct pf_symfile;

/*
 * Opens <root><filename> (root "" or "/proc/PID/root"). When build_id_hex is
 * given and non-empty, the file must carry that build ID (-ESTALE
 * otherwise). Reads the symbol table and finds separate debug info; DWARF
 * itself is read on first use. Returns 0 with *out, or a negative errno.
 */
int pf_symfile_open(const char *root, const char *filename, const char *build_id_hex,
		    const struct pf_symfile_opts *opts, struct pf_symfile **out);

/* Same for the binary open on fd (which f owns from then on, and which is
 * closed on failure too), e.g. from pf_host_open_mapped(); root and filename
 * only find its separate debug info. */
int pf_symfile_open_fd(int fd, const char *root, const char *filename, const char *build_id_hex,
		       const struct pf_symfile_opts *opts, struct pf_symfile **out);

/* Takes NULL. */
void pf_symfile_close(struct pf_symfile *f);

/* The frames at file offset `offset` (NULL when no symbol covers it). The
 * result lives as long as f. Repeated offsets are answered from memory. */
const struct pf_sym_result *pf_symfile_resolve(struct pf_symfile *f, uint64_t offset);

/* Same for a virtual address of the file, for tools and tests that hold
 * link-time addresses. */
const struct pf_sym_result *pf_symfile_resolve_vaddr(struct pf_symfile *f, uint64_t vaddr);

/* The file offset where the function holding file offset `offset`
 * starts, by the FDE that covers it (the file's CFI, read on first use
 * and kept with f), for code no symbol names. False when no FDE covers
 * it or the CFI cannot be read (not asked again). */
bool pf_symfile_function_start(struct pf_symfile *f, uint64_t offset, uint64_t *start);

/* Forgets the answers given so far (their memory goes; results returned
 * before are invalid after), keeping symbols and DWARF indexes. */
void pf_symfile_forget(struct pf_symfile *f);

/* The build ID in lowercase hex, "" when none. */
const char *pf_symfile_build_id(const struct pf_symfile *f);

/* True once the file's DWARF (it has some) could not be read: cut or
 * rewritten since it was opened, or corrupt. Its symbols still answer. */
bool pf_symfile_dwarf_failed(const struct pf_symfile *f);

/* True when f found no debug file on the host and asked debuginfod for
 * one: once pf_debuginfod_lookup() gives it, opening the binary again
 * reads it. */
bool pf_symfile_wants_debuginfod(const struct pf_symfile *f);

/* Estimated bytes held, for the cache budget. */
size_t pf_symfile_memory_size(const struct pf_symfile *f);

#endif
