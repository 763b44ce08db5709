/*
 * jscan.h: JSON text read in place, without building objects: where a
 * value ends, the elements of an array and the members of an object, each
 * as a span of the text.  For answers passed through with a small change
 * (the merged container list), where parsing into json-c objects and
 * printing them again was most of the work (leaf header).
 */
#ifndef DOCKMUX_LIB_JSCAN_H
#define DOCKMUX_LIB_JSCAN_H

#include <stddef.h>

/* Deeper nesting than this is refused (json-c's own default is 32). */
#define DM_JSCAN_DEPTH	128

/* A piece of the text; a string's span is between its quotes, raw. */
struct jscan_span {
	const char	*p;
	size_t		 n;
};

/*
 * The end of the one JSON value at p (white space before it skipped), or
 * NULL when [p, end) does not start with a valid value: strings with
 * valid escapes (raw control characters but NUL let through, as json-c
 * does),
 * numbers as RFC 8259 writes them, true/false/null, nesting up to
 * DM_JSCAN_DEPTH.
 */
const char	*jscan_value(const char *p, const char *end);

/* An array's elements or an object's members, one at a time. */
struct jscan {
	const char	*p, *end;
	char		 close;		/* ']' or '}' */
	int		 n;		/* taken so far */
	int		 depth;		/* of its elements */
};

/*
 * Start on the array (open '[') or object ('{') that is the value at p:
 * 0, or -1 when the value there is something else.  The value is not
 * checked past its opening; jscan_next() checks each element it takes.
 */
int		 jscan_open(struct jscan *, const char *p, const char *end,
		    char open);
/*
 * The next element (key NULL for an array) or member: 1 with its value's
 * span (and its key's, between the quotes, raw), 0 at the closing
 * bracket, -1 when the text is not valid JSON there.  After 0, it->p is
 * just past the closing bracket.
 */
int		 jscan_next(struct jscan *, struct jscan_span *key,
		    struct jscan_span *val);
/* p past the white space at it, at most end. */
const char	*jscan_ws(const char *p, const char *end);
/*
 * The raw string span s (valid, as jscan_next() gives it) decoded into
 * out as UTF-8, at most len - 1 bytes and a NUL (none when len is 0), as
 * snprintf() does: the decoded length, len or more when it was cut.  A
 * lone surrogate becomes U+FFFD, as json-c makes it.
 */
size_t		 jscan_str(const struct jscan_span *s, char *out, size_t len);
/* Is the raw string span s, decoded, exactly the text lit? */
int		 jscan_is(const struct jscan_span *s, const char *lit);
/*
 * A JSON number span as an integer: a plain integer exactly (held at the
 * int64 bounds), a fraction or exponent truncated toward zero; 0 for
 * anything else.
 */
long long	 jscan_int(const struct jscan_span *);

#endif
