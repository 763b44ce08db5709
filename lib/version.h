/* version.h: what dockmux says it is (leaf header). */
#ifndef DOCKMUX_LIB_VERSION_H
#define DOCKMUX_LIB_VERSION_H

#define DOCKMUX_VERSION		"0.1.0"
#ifndef DOCKMUX_COMMIT
#define DOCKMUX_COMMIT		"unknown"
#endif
#define DOCKMUX_BUILD_TIME	"n/a"

#endif
