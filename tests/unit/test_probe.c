/* SPDX-License-Identifier: BSD-2-Clause */
/* lp_btf_find_id: the in-place BTF walk record's fentry probe uses. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/btf.h>
#include <stdint.h>
#include <string.h>

#include "probe.h"

/* A blob: header, then types 1.. in order, then strings. */
struct blob {
	uint8_t b[1024];
	size_t types, nstr;
	char str[256];
	uint8_t t[512];
};

static uint32_t name_of(struct blob *x, const char *s)
{
	uint32_t off = (uint32_t)x->nstr;
	memcpy(x->str + off, s, strlen(s) + 1);
	x->nstr += strlen(s) + 1;
	return off;
}

static void put32(struct blob *x, uint32_t v)
{
	memcpy(x->t + x->types, &v, 4);
	x->types += 4;
}

static void type(struct blob *x, const char *name, int kind, uint32_t vlen, uint32_t size_type)
{
	put32(x, name ? name_of(x, name) : 0);
	put32(x, ((uint32_t)kind << 24) | vlen);
	put32(x, size_type);
}

static size_t finish(struct blob *x)
{
	struct btf_header h = { .magic = BTF_MAGIC, .version = 1, .hdr_len = sizeof(h) };
	h.type_off = 0;
	h.type_len = (uint32_t)x->types;
	h.str_off = (uint32_t)x->types;
	h.str_len = (uint32_t)x->nstr;
	memcpy(x->b, &h, sizeof(h));
	memcpy(x->b + sizeof(h), x->t, x->types);
	memcpy(x->b + sizeof(h) + x->types, x->str, x->nstr);
	return sizeof(h) + x->types + x->nstr;
}

static size_t sample(struct blob *x)
{
	memset(x, 0, sizeof(*x));
	x->nstr = 1; /* offset 0: the empty name */
	type(x, "int", BTF_KIND_INT, 0, 4); /* 1 */
	put32(x, 32);                        /* INT's extra word */
	type(x, "pair", BTF_KIND_STRUCT, 2, 8); /* 2, two members of 12 bytes */
	for (int m = 0; m < 2; m++) {
		put32(x, name_of(x, m ? "b" : "a"));
		put32(x, 1);
		put32(x, (uint32_t)m * 32);
	}
	type(x, NULL, BTF_KIND_FUNC_PROTO, 1, 1); /* 3, one param of 8 bytes */
	put32(x, 0);
	put32(x, 1);
	type(x, "vfs_read", BTF_KIND_FUNC, 0, 3); /* 4 */
	type(x, "vfs_read", BTF_KIND_TYPEDEF, 0, 1); /* 5: same name, other kind */
	return finish(x);
}

Test(btf_find_id, finds_by_name_and_kind_past_variable_length_types)
{
	struct blob x;
	size_t n = sample(&x);
	cr_assert_eq(lp_btf_find_id(x.b, n, "int", BTF_KIND_INT), 1);
	cr_assert_eq(lp_btf_find_id(x.b, n, "pair", BTF_KIND_STRUCT), 2);
	cr_assert_eq(lp_btf_find_id(x.b, n, "vfs_read", BTF_KIND_FUNC), 4);
	cr_assert_eq(lp_btf_find_id(x.b, n, "vfs_read", BTF_KIND_TYPEDEF), 5);
}

Test(btf_find_id, absent_names_and_prefixes_are_not_found)
{
	struct blob x;
	size_t n = sample(&x);
	cr_assert_eq(lp_btf_find_id(x.b, n, "vfs_rea", BTF_KIND_FUNC), -ENOENT);
	cr_assert_eq(lp_btf_find_id(x.b, n, "a", BTF_KIND_FUNC), -ENOENT); /* a member, not a type */
	cr_assert_eq(lp_btf_find_id(x.b, n, "pair", BTF_KIND_FUNC), -ENOENT);
}

Test(btf_find_id, rejects_what_is_not_btf)
{
	struct blob x;
	size_t n = sample(&x);
	cr_assert_eq(lp_btf_find_id(x.b, 10, "int", BTF_KIND_INT), -EINVAL);
	x.b[0] = 0;
	cr_assert_eq(lp_btf_find_id(x.b, n, "int", BTF_KIND_INT), -EINVAL);
	n = sample(&x);
	/* a string section that overruns the blob */
	cr_assert_eq(lp_btf_find_id(x.b, n - 1, "int", BTF_KIND_INT), -EINVAL);
}

Test(btf_find_id, an_unknown_kind_stops_the_walk)
{
	struct blob x;
	memset(&x, 0, sizeof(x));
	x.nstr = 1;
	type(&x, "odd", 31, 0, 0);
	type(&x, "later", BTF_KIND_FUNC, 0, 0);
	size_t n = finish(&x);
	cr_assert_eq(lp_btf_find_id(x.b, n, "later", BTF_KIND_FUNC), -ENOTSUP);
}
