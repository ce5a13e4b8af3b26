/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The exporters' promise about their text, checked on their output by the
 * unit tests (written here on its own, not with util.c's escaping, so a bug
 * there cannot hide itself): valid UTF-8 with no control character but tab
 * and newline.
 */
#ifndef LAYERPROF_TEST_CLEAN_UTF8_H
#define LAYERPROF_TEST_CLEAN_UTF8_H

#include <stdbool.h>
#include <stddef.h>

static inline bool clean_utf8(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		unsigned c = u[i];
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (!n || i + n > len)
			return false;
		for (size_t k = 1; k < n; k++)
			if ((u[i + k] & 0xc0) != 0x80)
				return false;
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			return false;
		i += n;
	}
	return true;
}

#endif
