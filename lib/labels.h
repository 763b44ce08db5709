/* labels.h: the container labels dockmux reads and writes (leaf header). */
#ifndef DOCKMUX_LIB_LABELS_H
#define DOCKMUX_LIB_LABELS_H

/*
 * Pins a create to a backend by name ("io.dockmux.backend=vm"), filters
 * lists by backend, and names the backend(s) holding a network or volume.
 */
#define DM_LABEL_BACKEND	"io.dockmux.backend"
/* The default key of isolation_labels: a create asking for isolation. */
#define DM_LABEL_ISOLATION	"io.dockmux.isolation"
/* An image label: a backend whose runtime_markers hold its value. */
#define DM_LABEL_RUNTIME	"io.dockmux.runtime"
/*
 * The uid of the peer that created a container, stamped at create for a
 * peer whose access rule has "scope": "owner"; such a peer sees only the
 * containers carrying its own uid here.
 */
#define DM_LABEL_OWNER		"io.dockmux.owner"

#endif
