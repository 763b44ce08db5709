# dockmux: dockmuxd (the daemon), dockmux (the admin CLI), their tests.
#   make                 build build/dockmuxd and build/dockmux
#   make check           unit, fuzz smoke, integration, real-engine e2e tests
#   make unit | integration | e2e    one layer
#   make layout          includes point down the floors; no call pairs
#   make check-asan      the same tests, built with ASan + UBSan
#   make valgrind        unit tests under valgrind (CK_FORK=no)
#   make demo            two private dockerd engines behind one dockmuxd
#   make bench           dockmuxd vs the engine reached directly, as ratios
#   make man             the man pages, from man/*.scd (scdoc)
#   make install         see docs/install.md (PREFIX, DESTDIR)
#   make deb             the Debian package, in $(BUILD)/deb/
#   make SANITIZER=address|undefined|thread   sanitizer build in build/$(SANITIZER)
#   make fuzz            every libFuzzer harness (clang) for FUZZ_SECONDS each
#   make fuzz-smoke      each harness for a few seconds, crashers replayed

CC	?= cc
PKGS	 = libmicrohttpd json-c sqlite3 libcurl gnutls
PREFIX	?= /usr/local
DESTDIR	?=

ifeq ($(SANITIZER),)
BUILD	?= build
OPT	?= -O2
else
BUILD	?= build/$(SANITIZER)
OPT	?= -O1 -fno-omit-frame-pointer
SANFLAGS = -fsanitize=$(SANITIZER) -fno-sanitize-recover=all
endif

WARN	 = -Wall -Wextra -Werror -Wformat=2 -Wstrict-prototypes \
	   -Wmissing-prototypes -Wmissing-declarations -Wshadow \
	   -Wpointer-arith -Wsign-compare -Wcast-qual
CFLAGS	+= -std=c17 -D_GNU_SOURCE -g $(OPT) $(WARN) $(SANFLAGS) -MMD -MP -I. \
	   $(shell pkg-config --cflags $(PKGS))
LDFLAGS	+= $(SANFLAGS)
LDLIBS	 = $(shell pkg-config --libs $(PKGS)) -lpthread
CHECKLIBS = $(shell pkg-config --libs check)

# Source groups by floor; arrows point down only (tests/layout/check.sh):
#   lib <- {config, backends, store} <- dispatcher <- api <- main
#   cli -> {config, lib}
LIB_SRCS = lib/log.c lib/dmerr.c lib/hdrs.c lib/util.c lib/lines.c lib/jscan.c \
	lib/jsonkeys.c lib/work.c
CONFIG_SRCS = config/cfg.c config/cfg_detect.c config/cfg_net.c
BACKEND_SRCS = backends/backend.c backends/backend_h1.c backends/backend_http.c \
	backends/backend_raw.c \
	backends/backend_ssh.c backends/backend_hijack.c
STORE_SRCS = store/store.c store/store_routes.c store/store_images.c \
	store/store_index.c
DISP_SRCS = daemon/disp_reply.c daemon/disp_view.c daemon/disp_query.c \
	daemon/disp_rules.c daemon/disp_probe.c daemon/disp_slots.c \
	daemon/disp_routes.c daemon/disp_create.c daemon/disp_reads.c \
	daemon/disp_containers.c daemon/disp_images.c daemon/disp_pull.c \
	daemon/disp_events.c daemon/disp_netvol.c daemon/disp_local.c \
	daemon/disp_admin.c daemon/disp_metrics.c daemon/disp_watch.c \
	daemon/disp_copy.c daemon/disp_access.c daemon/disp_table.c \
	daemon/disp_call.c \
	daemon/disp_life.c
API_SRCS = api/api.c api/api_listen.c api/api_conns.c api/api_tls.c \
	   api/api_loop.c
CORE_SRCS = $(LIB_SRCS) $(CONFIG_SRCS) $(BACKEND_SRCS) $(STORE_SRCS) \
	$(DISP_SRCS) $(API_SRCS)
DAEMON_SRCS = daemon/main.c daemon/main_notify.c daemon/upgrade.c $(CORE_SRCS)
CLI_SRCS = cli/dockmux.c cli/dockmux_lists.c cli/dockmux_explain.c \
	cli/dockmux_cmds.c $(CONFIG_SRCS) $(LIB_SRCS)
FAKE_SRCS = tests/fake/fake_engine.c lib/log.c

UNIT_TESTS = check_cfg check_table check_dmerr check_lib check_rules check_store \
	check_lines check_backend check_api check_work check_events
check_cfg_SRCS = tests/unit/check_cfg.c $(CONFIG_SRCS) $(BACKEND_SRCS) \
	$(LIB_SRCS)
check_table_SRCS = tests/unit/check_table.c $(DISP_SRCS) $(BACKEND_SRCS) \
	$(STORE_SRCS) $(CONFIG_SRCS) $(LIB_SRCS)
check_events_SRCS = tests/unit/check_events.c $(DISP_SRCS) $(BACKEND_SRCS) \
	$(STORE_SRCS) $(CONFIG_SRCS) $(LIB_SRCS)
check_dmerr_SRCS = tests/unit/check_dmerr.c lib/dmerr.c lib/hdrs.c \
	lib/util.c
check_lib_SRCS = tests/unit/check_lib.c $(LIB_SRCS)
check_rules_SRCS = tests/unit/check_rules.c daemon/disp_rules.c lib/dmerr.c \
	lib/util.c
check_lines_SRCS = tests/unit/check_lines.c lib/lines.c
check_backend_SRCS = tests/unit/check_backend.c $(BACKEND_SRCS) $(LIB_SRCS)
check_api_SRCS = tests/unit/check_api.c api/api_listen.c $(LIB_SRCS)
check_work_SRCS = tests/unit/check_work.c api/api_loop.c \
	$(LIB_SRCS)
check_store_SRCS = tests/unit/check_store.c $(STORE_SRCS) $(LIB_SRCS)

# libFuzzer harnesses (tests/fuzz/): clang with ASan + UBSan, objects of
# their own in build/fuzz.  The merges, the plan and the event rewrite run
# the real dispatcher against scripted engines (fuzz_engines.c in place
# of backends/); the hijack head is read by the real backends/.
FUZZ_CC	?= clang
FUZZ_BUILD = build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 2
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=all
# Two warnings clang gives where gcc does not, both on code gcc builds
# clean: v*printf wrappers (log.c, api.c) and the string concatenation of
# a designated initialiser (store.c).
FUZZ_CFLAGS = -std=c17 -D_GNU_SOURCE -gline-tables-only -O1 \
	-fno-omit-frame-pointer $(WARN) -Wno-format-nonliteral \
	-Wno-string-concatenation $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	-MMD -MP -I. $(shell pkg-config --cflags $(PKGS))
FUZZERS = fuzz_target fuzz_query fuzz_cfg fuzz_ps fuzz_images \
	fuzz_netvol fuzz_df fuzz_info fuzz_events fuzz_hijack fuzz_lines \
	fuzz_jsonkeys fuzz_answer
FUZZ_UTIL = tests/fuzz/fuzz_util.c
FUZZ_DISP = tests/fuzz/fuzz_engines.c api/api.c api/api_conns.c api/api_tls.c \
	api/api_loop.c \
	$(DISP_SRCS) $(STORE_SRCS) \
	$(CONFIG_SRCS) $(LIB_SRCS) $(FUZZ_UTIL)
FUZZ_SERVE = tests/fuzz/fuzz_serve.c $(FUZZ_DISP)
fuzz_target_SRCS = tests/fuzz/fuzz_target.c $(FUZZ_DISP)
fuzz_query_SRCS = tests/fuzz/fuzz_query.c $(FUZZ_DISP)
fuzz_events_SRCS = tests/fuzz/fuzz_events.c $(FUZZ_DISP)
fuzz_ps_SRCS = tests/fuzz/fuzz_ps.c $(FUZZ_SERVE)
fuzz_images_SRCS = tests/fuzz/fuzz_images.c $(FUZZ_SERVE)
fuzz_netvol_SRCS = tests/fuzz/fuzz_netvol.c $(FUZZ_SERVE)
fuzz_df_SRCS = tests/fuzz/fuzz_df.c $(FUZZ_SERVE)
fuzz_info_SRCS = tests/fuzz/fuzz_info.c $(FUZZ_SERVE)
fuzz_cfg_SRCS = tests/fuzz/fuzz_cfg.c $(CONFIG_SRCS) $(LIB_SRCS) $(FUZZ_UTIL)
fuzz_lines_SRCS = tests/fuzz/fuzz_lines.c $(LIB_SRCS) $(FUZZ_UTIL)
fuzz_jsonkeys_SRCS = tests/fuzz/fuzz_jsonkeys.c $(LIB_SRCS) $(FUZZ_UTIL)
fuzz_hijack_SRCS = tests/fuzz/fuzz_hijack.c tests/fuzz/fuzz_wire.c \
	$(BACKEND_SRCS) $(LIB_SRCS) $(FUZZ_UTIL)
fuzz_answer_SRCS = tests/fuzz/fuzz_answer.c tests/fuzz/fuzz_wire.c \
	$(BACKEND_SRCS) $(LIB_SRCS) $(FUZZ_UTIL)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
fobj = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(1))
FUZZ_OBJS = $(call fobj,$(sort $(foreach f,$(FUZZERS),$($(f)_SRCS))))
FUZZ_BINS = $(addprefix $(FUZZ_BUILD)/,$(FUZZERS))

all: $(BUILD)/dockmuxd $(BUILD)/dockmux $(BUILD)/fake-engine

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/dockmuxd: $(call obj,$(DAEMON_SRCS))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/dockmux: $(call obj,$(CLI_SRCS))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fake-engine: $(call obj,$(FAKE_SRCS))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

.SECONDEXPANSION:
$(addprefix $(BUILD)/tests/,$(UNIT_TESTS)): $(BUILD)/tests/%: $$(call obj,$$($$*_SRCS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECKLIBS)

# check_api reads the socket file's mode between bind() and chmod().
$(BUILD)/tests/check_api: LDFLAGS += -Wl,--wrap=bind

UNIT_BINS = $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))

$(FUZZ_OBJS): $(FUZZ_BUILD)/obj/%.o: %.c | fuzz-cc
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

# Over scripted engines no thread starts (tests/fuzz/fuzz_engines.c).
FUZZ_NO_THREADS = -Wl,--wrap=pthread_create
$(FUZZ_BINS): $(FUZZ_BUILD)/%: $$(call fobj,$$($$*_SRCS))
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS) \
	    $(if $(filter tests/fuzz/fuzz_engines.c,$($*_SRCS)),$(FUZZ_NO_THREADS))

# No clang, no fuzzing: said and failed, never skipped.
fuzz-cc:
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || { \
	    echo "fuzz: $(FUZZ_CC) not found (make deps installs clang)" >&2; \
	    exit 1; }

fuzz: $(FUZZ_BINS)
	@FUZZ_BUILD=$(FUZZ_BUILD) sh tests/fuzz/run.sh $(FUZZ_SECONDS) \
	    $(FUZZERS)

fuzz-smoke: $(FUZZ_BINS)
	@FUZZ_BUILD=$(FUZZ_BUILD) sh tests/fuzz/run.sh -s \
	    $(FUZZ_SMOKE_SECONDS) $(FUZZERS)

deps:
	@sh scripts/install-deps.sh

unit: $(UNIT_BINS)
	@sh tests/run-unit.sh $(UNIT_BINS)

# Unit tests and every integration case with dockmuxd itself under
# memcheck: a memory error or a definite leak fails the case.
VG_BUILD = build/valgrind
valgrind:
	@$(MAKE) --no-print-directory BUILD=$(VG_BUILD) OPT=-O0 all \
	    $(addprefix $(VG_BUILD)/tests/,$(UNIT_TESTS))
	@VALGRIND=1 sh tests/run-unit.sh $(addprefix $(VG_BUILD)/tests/,$(UNIT_TESTS))
	@DOCKMUXD_REAL=$(CURDIR)/$(VG_BUILD)/dockmuxd \
	    DOCKMUXD=$(CURDIR)/tests/valgrind-dockmuxd.sh \
	    BUILD=$(VG_BUILD) sh tests/integration/run.sh

integration: all
	@BUILD=$(BUILD) sh tests/integration/run.sh

e2e: all
	@BUILD=$(BUILD) sh tests/e2e/run.sh

layout: all
	@sh tests/layout/check.sh $(BUILD)

check: deps all $(UNIT_BINS)
	@sh tests/layout/check.sh $(BUILD)
	@sh tests/run-unit.sh $(UNIT_BINS)
	@$(MAKE) --no-print-directory fuzz-smoke
	@$(MAKE) --no-print-directory valgrind
	@BUILD=$(BUILD) sh tests/integration/run.sh
	@BUILD=$(BUILD) sh tests/e2e/run.sh

ASAN_BUILD = build/asan
check-asan: deps
	$(MAKE) --no-print-directory SANITIZER=address,undefined \
	    BUILD=$(ASAN_BUILD) all $(addprefix $(ASAN_BUILD)/tests/,$(UNIT_TESTS))
	@sh tests/run-unit.sh $(addprefix $(ASAN_BUILD)/tests/,$(UNIT_TESTS))
	@BUILD=$(ASAN_BUILD) sh tests/integration/run.sh
	@BUILD=$(ASAN_BUILD) sh tests/e2e/run.sh

demo: deps all
	@BUILD=$(BUILD) sh scripts/demo.sh

bench: deps all
	@BUILD=$(BUILD) sh tests/bench/bench.sh

clean:
	rm -rf build

# make install [PREFIX=/usr/local] [DESTDIR=]: dockmuxd in sbin and dockmux
# in bin (as dockerd and docker), their man pages, bash and zsh completion
# for dockmux, the systemd units (@SBINDIR@/@DOCDIR@ replaced), an example
# config next to where the real one goes, and the docs.  `make uninstall`
# with the same variables removes exactly those files; it never touches
# /etc/dockmux/dockmux.json.
BINDIR	 = $(PREFIX)/bin
SBINDIR	 = $(PREFIX)/sbin
UNITDIR	 = $(PREFIX)/lib/systemd/system
DOCDIR	 = $(PREFIX)/share/doc/dockmux
MANDIR	 = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
# Debian's zsh reads vendor-completions for packages, site-functions for
# the local admin's (/usr/local).
ifeq ($(PREFIX),/usr)
ZSHCOMPDIR = $(PREFIX)/share/zsh/vendor-completions
else
ZSHCOMPDIR = $(PREFIX)/share/zsh/site-functions
endif
CONFDIR	 = /etc/dockmux
INSTALL	?= install
UNITS	 = dockmux.service dockmux.socket
DOCS	 = $(wildcard docs/*.md)

# Man pages: man/NAME.SECTION.scd, turned into roff by scdoc(1).
SCDOC	?= scdoc
MANS	 = dockmuxd.8 dockmux.1 dockmux.json.5
MAN_OUT	 = $(addprefix $(BUILD)/man/,$(MANS))
# $(MANDIR)/manS/NAME.S for NAME.S
man_path = $(MANDIR)/man$(subst .,,$(suffix $(1)))/$(1)

man: $(MAN_OUT)

$(BUILD)/man/%: man/%.scd
	@mkdir -p $(dir $@)
	$(SCDOC) <$< >$@.tmp && mv -f $@.tmp $@

install: $(BUILD)/dockmuxd $(BUILD)/dockmux $(MAN_OUT)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(CONFDIR) \
	    $(foreach m,$(MANS),$(DESTDIR)$(dir $(call man_path,$(m)))) \
	    $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	$(INSTALL) -m 0755 $(BUILD)/dockmuxd $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 0755 $(BUILD)/dockmux $(DESTDIR)$(BINDIR)/
	$(foreach m,$(MANS),$(INSTALL) -m 0644 $(BUILD)/man/$(m) \
	    $(DESTDIR)$(call man_path,$(m)) &&) true
	$(INSTALL) -m 0644 completion/dockmux.bash \
	    $(DESTDIR)$(BASHCOMPDIR)/dockmux
	$(INSTALL) -m 0644 completion/_dockmux $(DESTDIR)$(ZSHCOMPDIR)/_dockmux
	for u in $(UNITS); do \
		sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
		    systemd/$$u >$(DESTDIR)$(UNITDIR)/$$u.tmp && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.tmp && \
		mv -f $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	$(INSTALL) -m 0644 systemd/dockmux.json.example $(DESTDIR)$(CONFDIR)/
	$(INSTALL) -m 0644 README.md NEWS.md $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/docs/

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/dockmuxd $(DESTDIR)$(BINDIR)/dockmux
	rm -f $(foreach m,$(MANS),$(DESTDIR)$(call man_path,$(m)))
	rm -f $(DESTDIR)$(BASHCOMPDIR)/dockmux $(DESTDIR)$(ZSHCOMPDIR)/_dockmux
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS))
	rm -f $(DESTDIR)$(CONFDIR)/dockmux.json.example
	rm -f $(DESTDIR)$(DOCDIR)/README.md $(DESTDIR)$(DOCDIR)/NEWS.md
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/docs/,$(notdir $(DOCS)))
	rmdir $(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(DOCDIR) $(DESTDIR)$(CONFDIR) \
	    2>/dev/null || true

.PHONY: install uninstall man

# make deb: the Debian package, built by dpkg-buildpackage from a copy of
# this tree in $(DEB_DIR)/src, so that its clean step (make clean) and
# its files beside the source (.deb, .changes, .buildinfo) stay in
# $(DEB_DIR).  The version is lib/version.h's; debian/changelog must
# agree.  No tests run inside (DEB_BUILD_OPTIONS=nocheck): make check
# runs them, and tests/e2e/t_debian_package.sh checks the package.
DEB_DIR	 = $(BUILD)/deb
VERSION	 = $(shell sed -n 's/^\#define DOCKMUX_VERSION[^"]*"\(.*\)"/\1/p' \
	    lib/version.h)
DEB	 = $(DEB_DIR)/dockmux_$(VERSION)_$(shell dpkg-architecture \
	    -qDEB_HOST_ARCH 2>/dev/null).deb

deb:
	@v=$$(dpkg-parsechangelog -S Version) && [ "$$v" = "$(VERSION)" ] || \
	    { echo "deb: debian/changelog is at $$v but lib/version.h at" \
	    "$(VERSION): add an entry (dch -v $(VERSION))" >&2; exit 1; }
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src
	tar -cf - --exclude=./build --exclude-vcs . | tar -xf - -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && DEB_BUILD_OPTIONS="nocheck $(DEB_BUILD_OPTIONS)" \
	    dpkg-buildpackage -us -uc -b --jobs=auto
	@test -f $(DEB) && echo "deb: $(DEB)"

.PHONY: deb

.PHONY: all deps layout unit valgrind integration e2e check check-asan demo bench clean
.PHONY: fuzz fuzz-smoke fuzz-cc

# The compiler's dependency files (ours and the fuzzers'); not the
# package's tree under $(DEB_DIR) (its sysusers.d is a directory, its
# build/ another build's).
-include $(sort $(shell find $(BUILD) $(FUZZ_BUILD) -path $(DEB_DIR) -prune \
    -o -type f -name '*.d' -print 2>/dev/null))
