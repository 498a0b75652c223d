/* buf: a growable byte buffer, always NUL-terminated after its bytes. */
#ifndef PALABRE_BUF_H
#define PALABRE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	char *data; /* NULL until the first append */
	size_t len;
	size_t cap;
};

#define BUF_INIT                                                               \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

/* Every function returns 0, or -1 when memory is exhausted. */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *bytes, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends s with the five XML special characters escaped. */
int buf_append_xml_escaped(struct buf *b, const char *s, size_t len);
/* Drops the first n bytes. */
void buf_consume(struct buf *b, size_t n);
void buf_clear(struct buf *b);
/* Frees the bytes; shrinks an idle buffer to nothing. */
void buf_free(struct buf *b);

#endif
