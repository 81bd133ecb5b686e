// SPDX-License-Identifier: Apache-2.0
/* Checks every string field of an unpacked message for well-formed UTF-8, naming the field of the first bad one. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "formats/otlp/internal.h"
#include "formats/utf8.h"

/*
 * protobuf-c does not check that `string` fields are UTF-8, and the part of
 * a request it unpacks (resources, scopes, attribute values, inline keys)
 * is small: a walk over the descriptors finds every string there. The hot
 * string_table is checked as it is read (dict.c).
 */

#define PATH_MAX_LEN 200

static int check_message(const ProtobufCMessage *m, char *path, size_t at, struct pf_error *err);

static int check_string(const char *s, const char *path, struct pf_error *err)
{
	size_t n, bad;

	if (!s)
		return 0;
	n = strlen(s);
	bad = pf_utf8_check(s, n);
	if (bad == n)
		return 0;
	return pf_error_set(err, "", "%s: invalid UTF-8 at byte %zu", path, bad);
}

/* Appends ".name" or ".name[i]" (i < 0: none) to the path at `at`. */
static size_t name(char *path, size_t at, const char *field, long i)
{
	int n = i < 0 ? snprintf(path + at, PATH_MAX_LEN - at, "%s%s", at ? "." : "", field)
		      : snprintf(path + at, PATH_MAX_LEN - at, "%s%s[%ld]", at ? "." : "", field,
				 i);

	if (n < 0 || (size_t)n >= PATH_MAX_LEN - at)
		return PATH_MAX_LEN - 1; /* truncated: still a useful prefix */
	return at + (size_t)n;
}

static int check_value(const ProtobufCFieldDescriptor *fd, const void *v, char *path, size_t at,
		       struct pf_error *err)
{
	if (fd->type == PROTOBUF_C_TYPE_STRING)
		return check_string(*(char *const *)v, path, err);
	if (fd->type == PROTOBUF_C_TYPE_MESSAGE && *(ProtobufCMessage *const *)v)
		return check_message(*(ProtobufCMessage *const *)v, path, at, err);
	return 0;
}

static int check_message(const ProtobufCMessage *m, char *path, size_t at, struct pf_error *err)
{
	const ProtobufCMessageDescriptor *desc = m->descriptor;
	const char *base = (const char *)m;

	for (unsigned f = 0; f < desc->n_fields; f++) {
		const ProtobufCFieldDescriptor *fd = &desc->fields[f];
		int rc = 0;

		if (fd->type != PROTOBUF_C_TYPE_STRING && fd->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + fd->quantifier_offset);
			char *const *arr = *(char *const *const *)(base + fd->offset);
			for (size_t i = 0; rc == 0 && i < n; i++)
				rc = check_value(fd, &arr[i], path,
						 name(path, at, fd->name, (long)i), err);
		} else {
			if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
			    *(const uint32_t *)(base + fd->quantifier_offset) != fd->id)
				continue;
			rc = check_value(fd, base + fd->offset, path, name(path, at, fd->name, -1),
					 err);
		}
		path[at] = '\0';
		if (rc < 0)
			return rc;
	}
	return 0;
}

int pf_otlp_check_strings(const ProtobufCMessage *m, struct pf_error *err)
{
	char path[PATH_MAX_LEN] = "";

	return check_message(m, path, 0, err);
}
