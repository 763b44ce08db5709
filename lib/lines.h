/* lines.h: complete lines out of a byte stream (leaf header). */
#ifndef DOCKMUX_LIB_LINES_H
#define DOCKMUX_LIB_LINES_H

#include <stddef.h>

/*
 * Called once per complete line (text with its '\n', NUL-terminated, len
 * without the NUL), or with whole = 0 for each piece of a line longer
 * than the splitter's max (what was buffered, then every later piece up
 * to and including its '\n').  Return -1 to stop feeding.
 */
typedef int	dm_line_fn(void *arg, const char *text, size_t len,
		    int whole);

struct dm_lines {
	char	*buf;		/* owned: max + 1 bytes */
	size_t	 len;
	size_t	 max;
	int	 too_long;	/* inside a line past max */
};

void	dm_lines_init(struct dm_lines *, size_t max);
/* Forget a partial line (a new stream starts). */
void	dm_lines_reset(struct dm_lines *);
/* Split n bytes; 0, or -1 when fn said stop. */
int	dm_lines_feed(struct dm_lines *, const char *, size_t, dm_line_fn *,
	    void *arg);
/* The bytes after the last '\n' (a last line without one), or NULL. */
const char *dm_lines_rest(struct dm_lines *, size_t *len);
void	dm_lines_free(struct dm_lines *);

#endif
