// SPDX-License-Identifier: Apache-2.0
/* ExportProfilesServiceResponse (partial success) and google.rpc.Status bodies. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/otlp/internal.h"
#include "formats/otlp/otlp.h"
#include "formats/pb_wire.h"

#define RESP_DESC                                                                                  \
	opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__descriptor
#define PARTIAL                                                                                    \
	Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesPartialSuccess
#define RESP	       Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceResponse
#define RETRY_INFO_URL "type.googleapis.com/google.rpc.RetryInfo"

int pf_otlp_encode_response(int64_t rejected, const char *message, bool json, uint8_t **out,
			    size_t *out_size)
{
	RESP resp;
	PARTIAL partial;

	opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__init(
		&resp);
	opentelemetry__proto__collector__profiles__v1development__export_profiles_partial_success__init(
		&partial);
	if (rejected != 0 || (message && *message)) {
		partial.rejected_profiles = rejected;
		partial.error_message = (char *)(message ? message : "");
		resp.partial_success = &partial;
	}
	if (json)
		return pf_otlp_json_write(&resp.base, (char **)out, out_size);
	size_t n = protobuf_c_message_get_packed_size(&resp.base);
	*out = calloc(n ? n : 1, 1);
	if (!*out)
		return -ENOMEM;
	*out_size = protobuf_c_message_pack(&resp.base, *out);
	return 0;
}

static void copy_message(char *dst, size_t size, const char *src, size_t len)
{
	if (!dst || !size)
		return;
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

int pf_otlp_decode_response(const void *data, size_t size, bool json, int64_t *rejected,
			    char *message, size_t message_size, struct pf_error *err)
{
	struct pf_pb_arena arena;
	RESP *resp = NULL;
	int rc = 0;

	*rejected = 0;
	copy_message(message, message_size, "", 0);
	pf_pb_arena_init(&arena, 4096);
	if (json) {
		rc = pf_otlp_json_read(&RESP_DESC, data, size, &arena, (ProtobufCMessage **)&resp,
				       err);
	} else {
		rc = pf_otlp_wire_check(&RESP_DESC, data, size, err);
		if (rc == 0) {
			resp = (RESP *)protobuf_c_message_unpack(&RESP_DESC, &arena.allocator, size,
								 data);
			if (!resp)
				rc = pf_error_set(err, "", "not an ExportProfilesServiceResponse");
		}
	}
	if (rc == 0 && resp->partial_success) {
		const PARTIAL *p = resp->partial_success;
		*rejected = p->rejected_profiles;
		if (p->error_message)
			copy_message(message, message_size, p->error_message,
				     strlen(p->error_message));
		rc = 1;
	}
	pf_pb_arena_fini(&arena);
	return rc;
}

/* Appends a key and a length-delimited value to a protobuf buffer. */
static uint8_t *put_len(uint8_t *p, uint32_t field, const void *data, size_t len)
{
	p += pf_pb_put_varint(p, (uint64_t)field << 3 | PF_PB_LEN);
	p += pf_pb_put_varint(p, len);
	memcpy(p, data, len);
	return p + len;
}

static int status_json(int code, const char *message, int64_t retry_delay_ms, uint8_t **out,
		       size_t *out_size)
{
	struct json_object *o = json_object_new_object();
	int rc = -ENOMEM;

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "code", json_object_new_int(code));
	json_object_object_add(o, "message", json_object_new_string(message ? message : ""));
	if (retry_delay_ms > 0) {
		char delay[48];
		struct json_object *arr = json_object_new_array();
		struct json_object *d = json_object_new_object();
		snprintf(delay, sizeof(delay), "%lld.%03llds", (long long)(retry_delay_ms / 1000),
			 (long long)(retry_delay_ms % 1000));
		json_object_object_add(d, "@type", json_object_new_string(RETRY_INFO_URL));
		json_object_object_add(d, "retryDelay", json_object_new_string(delay));
		json_object_array_add(arr, d);
		json_object_object_add(o, "details", arr);
	}
	size_t len;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	if (s) {
		*out = calloc(len + 1, 1);
		if (*out) {
			memcpy(*out, s, len);
			*out_size = len;
			rc = 0;
		}
	}
	json_object_put(o);
	return rc;
}

int pf_otlp_encode_status(int code, const char *message, int64_t retry_delay_ms, bool json,
			  uint8_t **out, size_t *out_size)
{
	uint8_t dur[32], info[40], any[96];
	size_t msg_len = message ? strlen(message) : 0;
	uint8_t *p;

	if (json)
		return status_json(code, message, retry_delay_ms, out, out_size);
	*out = calloc(msg_len + sizeof(any) + 32, 1);
	if (!*out)
		return -ENOMEM;
	p = *out;
	if (code) {
		p += pf_pb_put_varint(p, 1 << 3 | PF_PB_VARINT);
		p += pf_pb_put_varint(p, (uint64_t)(int64_t)code);
	}
	if (msg_len)
		p = put_len(p, 2, message, msg_len);
	if (retry_delay_ms > 0) {
		/* Any{type_url, value = RetryInfo{retry_delay = Duration{seconds, nanos}}} */
		uint8_t *d = dur;
		d += pf_pb_put_varint(d, 1 << 3 | PF_PB_VARINT);
		d += pf_pb_put_varint(d, (uint64_t)(retry_delay_ms / 1000));
		if (retry_delay_ms % 1000) {
			d += pf_pb_put_varint(d, 2 << 3 | PF_PB_VARINT);
			d += pf_pb_put_varint(d, (uint64_t)(retry_delay_ms % 1000) * 1000000);
		}
		uint8_t *i = put_len(info, 1, dur, (size_t)(d - dur));
		uint8_t *a = put_len(any, 1, RETRY_INFO_URL, strlen(RETRY_INFO_URL));
		a = put_len(a, 2, info, (size_t)(i - info));
		p = put_len(p, 3, any, (size_t)(a - any));
	}
	*out_size = (size_t)(p - *out);
	return 0;
}

/* RetryInfo's delay in ms from an Any's bytes, or -1. */
static int64_t retry_delay(const uint8_t *data, size_t size)
{
	struct pf_pb_cursor c = {data, data + size};
	const uint8_t *url = NULL, *val = NULL, *sub;
	size_t url_len = 0, val_len = 0, len;
	uint32_t field;
	unsigned wire;
	uint64_t v;

	while (c.p < c.end) {
		if (!pf_pb_read_key(&c, &field, &wire))
			return -1;
		if (wire == PF_PB_LEN && (field == 1 || field == 2)) {
			if (!pf_pb_read_len(&c, &sub, &len))
				return -1;
			if (field == 1) {
				url = sub;
				url_len = len;
			} else {
				val = sub;
				val_len = len;
			}
		} else if (!pf_pb_skip(&c, wire)) {
			return -1;
		}
	}
	if (!url || url_len != strlen(RETRY_INFO_URL) || memcmp(url, RETRY_INFO_URL, url_len))
		return -1;
	/* RetryInfo{1: Duration{1: seconds, 2: nanos}} */
	struct pf_pb_cursor ri = {val, val + val_len};
	int64_t ms = 0;
	while (val && ri.p < ri.end) {
		if (!pf_pb_read_key(&ri, &field, &wire))
			return -1;
		if (field != 1 || wire != PF_PB_LEN) {
			if (!pf_pb_skip(&ri, wire))
				return -1;
			continue;
		}
		if (!pf_pb_read_len(&ri, &sub, &len))
			return -1;
		struct pf_pb_cursor du = {sub, sub + len};
		while (du.p < du.end) {
			if (!pf_pb_read_key(&du, &field, &wire))
				return -1;
			if (wire != PF_PB_VARINT) {
				if (!pf_pb_skip(&du, wire))
					return -1;
				continue;
			}
			if (!pf_pb_read_varint(&du, &v))
				return -1;
			if (field == 1 && v < (uint64_t)INT64_MAX / 1000)
				ms += (int64_t)v * 1000;
			else if (field == 2 && v < 1000000000)
				ms += (int64_t)(v / 1000000);
		}
	}
	return ms;
}

int pf_otlp_decode_status(const void *data, size_t size, int *code, char *message,
			  size_t message_size, int64_t *retry_delay_ms)
{
	struct pf_pb_cursor c = {data, (const uint8_t *)data + size};
	uint32_t field;
	unsigned wire;
	uint64_t v;
	const uint8_t *sub;
	size_t len;

	*code = 0;
	*retry_delay_ms = -1;
	copy_message(message, message_size, "", 0);
	while (c.p < c.end) {
		if (!pf_pb_read_key(&c, &field, &wire))
			return -EINVAL;
		if (field == 1) {
			if (wire != PF_PB_VARINT || !pf_pb_read_varint(&c, &v))
				return -EINVAL;
			*code = (int)(int32_t)v;
		} else if (field == 2 || field == 3) {
			if (wire != PF_PB_LEN || !pf_pb_read_len(&c, &sub, &len))
				return -EINVAL;
			if (field == 2) {
				if (memchr(sub, 0, len))
					return -EINVAL;
				copy_message(message, message_size, (const char *)sub, len);
			} else {
				int64_t ms = retry_delay(sub, len);
				if (ms >= 0)
					*retry_delay_ms = ms;
			}
		} else if (!pf_pb_skip(&c, wire)) {
			return -EINVAL;
		}
	}
	return 0;
}
