# alertrelay: alertrelayd (daemon/), alertctl (client/) and alertconsole
# (console/), sharing common/.
#
#   make            build the programs into build/
#   make test       install dependencies, build, run every test
#   make demo       install dependencies, build, run the alert path on loopback
#   make asan       build with AddressSanitizer + UBSan into build-asan/
#   make test-asan  the whole test suite against the sanitizer build
#   make bench      install dependencies, build, measure against the targets
#   make format     apply clang-format

PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   ?= $(PREFIX)/bin
SBINDIR  ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR  ?= $(PREFIX)/lib/systemd/system
USERUNITDIR ?= $(PREFIX)/lib/systemd/user
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
DOCDIR   ?= $(PREFIX)/share/doc/alertrelay
DATADIR  ?= $(PREFIX)/share
LIBDIR   ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
LOCALEDIR ?= $(DATADIR)/locale
CONSOLE_STATIC := console/static/index.html console/static/app.js \
	console/static/style.css console/static/map.js console/static/history.js \
	console/static/login.html \
	console/static/login.js console/static/alert.html \
	console/static/alert.js console/static/api.js console/static/header.js \
	console/static/alarm.js console/static/duress.js console/static/notice.js \
	console/static/expired.js console/static/loader.js \
	console/static/stream.js \
	console/static/i18n.js console/static/alarm.wav
CONSOLE_LANG := console/static/lang/nl.json console/static/lang/en.json
BUILD    ?= build
CC       ?= cc
PKGS      = libevent libevent_openssl openssl libsodium hiredis libcurl jansson inih

OPTFLAGS ?= -O2 -g -D_FORTIFY_SOURCE=2
WFLAGS    = -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	    -Wno-format-nonliteral -fstack-protector-strong
ALL_CFLAGS = $(OPTFLAGS) $(WFLAGS) -Icommon $(PKG_CFLAGS) $(CFLAGS)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Only alertconsole keeps state in SQLite: the others do not link it.
CONSOLE_PKGS = sqlite3
CONSOLE_CFLAGS := $(shell pkg-config --cflags $(CONSOLE_PKGS) 2>/dev/null)
CONSOLE_LIBS   := $(shell pkg-config --libs $(CONSOLE_PKGS) 2>/dev/null)
# Only alertctl drives GPIO lines (client/button_gpio.c) and reads gpsd
# (client/follow_gps.c).
CLIENT_PKGS = libgpiod libgps
CLIENT_LIBS := $(shell pkg-config --libs $(CLIENT_PKGS) 2>/dev/null)

COMMON_SRC := $(sort $(wildcard common/*.c))
DAEMON_SRC := $(sort $(wildcard daemon/*.c))
CLIENT_SRC := $(sort $(wildcard client/*.c))
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(BUILD)/%.o)
CLIENT_OBJ := $(CLIENT_SRC:%.c=$(BUILD)/%.o)
CONSOLE_SRC := $(sort $(wildcard console/*.c))
CONSOLE_OBJ := $(CONSOLE_SRC:%.c=$(BUILD)/%.o)
# What alertconsole shares with `alertctl receive` (the same objects, not
# copies): the webhook checks, the keys, what was seen and shown; and
# alertrelayd's dropping of privileges and its HTTP client (the relay's
# ack).  The limits of the HTTP listeners are in common/http_guard.c
# (console/console_guard.c supplies the console's hooks).
CONSOLE_SHARED := daemon/http_client.c daemon/strindex.c client/hook.c client/hook_keys.c client/hook_parse.c \
	client/hook_print.c client/shown.c client/seen.c client/afile.c \
	client/alert.c client/alert_open.c client/seckey.c daemon/privdrop.c \
	client/cardtime.c client/out.c client/receipt.c client/ack_sign.c \
	client/ack_conflict.c client/notice_verify.c client/signed_cancel.c
CONSOLE_SHARED_OBJ := $(CONSOLE_SHARED:%.c=$(BUILD)/%.o)
# libalertclient (lib/): the ar_ API over the client's core.  The core
# (common/, client/) is compiled -fPIC -fvisibility=hidden so that the
# same objects make the shared library, whose version script exports only
# ar_*, and alertctl, which links them statically.
LIB_SRC := $(sort $(wildcard lib/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB_SONAME := libalertclient.so.1
LIB_VERSION := 1.0.0
# What the library links.  alertclient.pc names none of them: no static
# library is shipped, and the header needs none of their headers.
LIB_PKGS = libevent libevent_openssl openssl libsodium jansson inih libcurl
LIB_PKG_LIBS := $(shell pkg-config --libs $(LIB_PKGS) 2>/dev/null)
BENCH_SRC  := $(sort $(wildcard bench/*.c))
BENCH_OBJ  := $(BENCH_SRC:%.c=$(BUILD)/%.o)

PY := /usr/bin/python3

# Translations (gettext): po/<lang>.po compiled into
# $(BUILD)/locale/<lang>/LC_MESSAGES/alertrelay.mo, where a program run
# from $(BUILD) finds them (common/i18n.c).
PO_LANGS := $(basename $(notdir $(wildcard po/*.po)))
MO_FILES := $(PO_LANGS:%=$(BUILD)/locale/%/LC_MESSAGES/alertrelay.mo)

FUZZ_TARGETS := $(patsubst fuzz/%.c,build-fuzz/%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60

.PHONY: install uninstall all pot deps test bench demo asan test-asan fuzz fuzz-run format check-format clean

all: $(BUILD)/alertrelayd $(BUILD)/alertctl $(BUILD)/alertconsole $(MO_FILES) \
	$(BUILD)/libalertclient.so $(BUILD)/alertclient.pc

$(BUILD)/common/i18n.o $(BUILD)/lib/ar_client.o: ALL_CFLAGS += -DLOCALEDIR='"$(LOCALEDIR)"'
$(COMMON_OBJ) $(CLIENT_OBJ) $(LIB_OBJ): ALL_CFLAGS += -fPIC -fvisibility=hidden
$(LIB_OBJ): ALL_CFLAGS += -Ilib -Iclient
$(CLIENT_OBJ): ALL_CFLAGS += -Ilib

# The core as an archive: the library and alertctl take what they use.
$(BUILD)/libalertcore.a: $(CLIENT_OBJ) $(COMMON_OBJ)
	@echo "  AR      $@"
	@rm -f $@
	@ar rcs $@ $(filter-out $(BUILD)/client/alertctl.o,$^)

$(BUILD)/$(LIB_SONAME): $(LIB_OBJ) $(BUILD)/libalertcore.a lib/alertclient.map
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) $(LDFLAGS) -pthread -shared -Wl,-soname,$(LIB_SONAME) \
	    -Wl,--version-script=lib/alertclient.map -Wl,--no-undefined \
	    -Wl,--as-needed -o $@ $(LIB_OBJ) $(BUILD)/libalertcore.a \
	    $(LIB_PKG_LIBS) -lm

$(BUILD)/libalertclient.so: $(BUILD)/$(LIB_SONAME)
	@ln -sf $(LIB_SONAME) $@

# libdir and includedir relative to ${prefix}, so that
# `pkg-config --define-prefix` finds a copy installed with DESTDIR.
PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|' \
	    -e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
	    -e 's|@VERSION@|$(LIB_VERSION)|'
$(BUILD)/alertclient.pc: lib/alertclient.pc.in Makefile
	@$(PC_SED) $< > $@

$(BUILD)/locale/%/LC_MESSAGES/alertrelay.mo: po/%.po
	@mkdir -p $(dir $@)
	@echo "  MSGFMT  $<"
	@msgfmt --check -o $@ $<

# The template translators start from; po/*.po are merged with it by
# msgmerge when messages change.
pot:
	xgettext --from-code=UTF-8 --keyword=_ --keyword=N_ --add-comments=TRANSLATORS: \
	    --package-name=alertrelay -o po/alertrelay.pot \
	    $(sort $(wildcard client/*.[ch] common/*.[ch] console/*.[ch] lib/*.[ch]))
	for l in $(PO_LANGS); do msgmerge --update --backup=none po/$$l.po po/alertrelay.pot; done

$(BUILD)/%.o: %.c $(wildcard common/*.h daemon/*.h client/*.h console/*.h bench/*.h lib/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/alertrelayd: $(DAEMON_OBJ) $(COMMON_OBJ)
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/alertctl: $(CLIENT_OBJ) $(COMMON_OBJ) $(LIB_OBJ)
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) $(LDFLAGS) -pthread -o $@ $^ $(PKG_LIBS) $(CLIENT_LIBS)

$(CONSOLE_OBJ): ALL_CFLAGS += -Iclient -Idaemon $(CONSOLE_CFLAGS)

$(BUILD)/alertconsole: $(CONSOLE_OBJ) $(CONSOLE_SHARED_OBJ) $(COMMON_OBJ)
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CONSOLE_LIBS)

$(BUILD)/alertrelay-loadgen: $(BENCH_OBJ) $(COMMON_OBJ)
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

deps:
	@sh scripts/install-deps.sh

# TEST_ARGS: more pytest arguments (.ci/run gives each suite its own
# --basetemp, so that two can run side by side).
test: deps
	$(MAKE) all
	ALERTRELAY_BUILD=$(CURDIR)/$(BUILD) sh tests/run tests/ $(TEST_ARGS)

# Measurements, not tests: bench/run.py says what is measured and against
# which targets.  Takes a few minutes; starts and stops its own processes.
bench: deps
	$(MAKE) all $(BUILD)/alertrelay-loadgen
	ALERTRELAY_BUILD=$(CURDIR)/$(BUILD) $(PY) bench/run.py

demo: deps
	$(MAKE) all
	ALERTRELAY_BUILD=$(CURDIR)/$(BUILD) sh scripts/demo.sh

asan:
	$(MAKE) BUILD=build-asan OPTFLAGS="-O1 -g -fno-omit-frame-pointer \
	    -fsanitize=address,undefined -fno-sanitize-recover=all" all

# Without test_debian_package.py: it builds, installs and checks the
# Debian packages (not build-asan's programs), which make test does; two
# suites installing them side by side would undo each other.
test-asan: deps asan
	ALERTRELAY_BUILD=$(CURDIR)/build-asan \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 sh tests/run \
	    tests/ --ignore=tests/test_debian_package.py $(TEST_ARGS)

# Installs programs, man pages, the systemd unit (paths rewritten for
# SBINDIR and SYSCONFDIR), sysusers/tmpfiles snippets and the example
# configuration, which never overwrites an existing one.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(USERUNITDIR) \
	    $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
	    $(DESTDIR)$(DOCDIR) $(DESTDIR)$(DATADIR)/alertconsole/static
	install -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/alertrelay \
	    $(DESTDIR)$(SYSCONFDIR)/alertconsole
	install -m 0755 $(BUILD)/alertrelayd $(DESTDIR)$(SBINDIR)/alertrelayd
	install -m 0755 $(BUILD)/alertctl $(DESTDIR)$(BINDIR)/alertctl
	install -m 0755 $(BUILD)/alertconsole $(DESTDIR)$(SBINDIR)/alertconsole
	install -m 0644 $(CONSOLE_STATIC) $(DESTDIR)$(DATADIR)/alertconsole/static/
	install -d -m 0755 $(DESTDIR)$(DATADIR)/alertconsole/static/lang
	install -m 0644 $(CONSOLE_LANG) $(DESTDIR)$(DATADIR)/alertconsole/static/lang/
	install -m 0644 man/alertconsole.8 $(DESTDIR)$(MANDIR)/man8/alertconsole.8
	for l in $(PO_LANGS); do \
	    install -d $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES && \
	    install -m 0644 $(BUILD)/locale/$$l/LC_MESSAGES/alertrelay.mo \
	        $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/alertrelay.mo || exit 1; done
	install -m 0644 man/alertctl.1 $(DESTDIR)$(MANDIR)/man1/alertctl.1
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man3
	install -m 0644 $(BUILD)/$(LIB_SONAME) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libalertclient.so
	install -m 0644 lib/alertclient.h $(DESTDIR)$(INCLUDEDIR)/alertclient.h
	$(PC_SED) lib/alertclient.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/alertclient.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/alertclient.pc
	install -m 0644 man/libalertclient.3 $(DESTDIR)$(MANDIR)/man3/libalertclient.3
	install -m 0644 man/alertrelayd.conf.5 $(DESTDIR)$(MANDIR)/man5/alertrelayd.conf.5
	install -m 0644 man/alertrelayd.8 $(DESTDIR)$(MANDIR)/man8/alertrelayd.8
	install -m 0644 conf/alertrelay-rules.yml $(DESTDIR)$(DOCDIR)/alertrelay-rules.yml
	sed -e 's|/usr/local/sbin/|$(SBINDIR)/|g' \
	    -e 's|/etc/alertrelay/|$(SYSCONFDIR)/alertrelay/|g' \
	    systemd/alertrelayd.service > $(DESTDIR)$(UNITDIR)/alertrelayd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/alertrelayd.service
	sed -e 's|/usr/local/sbin/|$(SBINDIR)/|g' \
	    systemd/alertconsole.service > $(DESTDIR)$(UNITDIR)/alertconsole.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/alertconsole.service
	sed -e 's|/usr/local/bin/|$(BINDIR)/|g' \
	    systemd/alertctl-watch.service > $(DESTDIR)$(USERUNITDIR)/alertctl-watch.service
	chmod 0644 $(DESTDIR)$(USERUNITDIR)/alertctl-watch.service
	sed -e 's|/usr/local/bin/|$(BINDIR)/|g' \
	    systemd/alertctl-button.service > $(DESTDIR)$(UNITDIR)/alertctl-button.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/alertctl-button.service
	install -m 0644 systemd/alertrelay.sysusers $(DESTDIR)$(SYSUSERSDIR)/alertrelay.conf
	install -m 0644 systemd/alertrelay.tmpfiles $(DESTDIR)$(TMPFILESDIR)/alertrelay.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/alertrelay/alertrelayd.conf || \
	    install -m 0640 conf/alertrelayd.conf $(DESTDIR)$(SYSCONFDIR)/alertrelay/alertrelayd.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/alertconsole/console.conf || { \
	    sed -e 's|/usr/local/share/|$(DATADIR)/|g' conf/alertconsole.conf \
	        > $(DESTDIR)$(SYSCONFDIR)/alertconsole/console.conf && \
	    chmod 0640 $(DESTDIR)$(SYSCONFDIR)/alertconsole/console.conf; }

# Removes what install put there, except the configuration.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/alertrelayd $(DESTDIR)$(BINDIR)/alertctl \
	    $(DESTDIR)$(MANDIR)/man1/alertctl.1 \
	    $(DESTDIR)$(MANDIR)/man5/alertrelayd.conf.5 \
	    $(DESTDIR)$(MANDIR)/man8/alertrelayd.8 \
	    $(DESTDIR)$(UNITDIR)/alertrelayd.service \
	    $(DESTDIR)$(SYSUSERSDIR)/alertrelay.conf \
	    $(DESTDIR)$(TMPFILESDIR)/alertrelay.conf \
	    $(DESTDIR)$(DOCDIR)/alertrelay-rules.yml \
	    $(DESTDIR)$(SBINDIR)/alertconsole \
	    $(DESTDIR)$(MANDIR)/man8/alertconsole.8 \
	    $(DESTDIR)$(UNITDIR)/alertconsole.service \
	    $(DESTDIR)$(USERUNITDIR)/alertctl-watch.service \
	    $(DESTDIR)$(UNITDIR)/alertctl-button.service \
	    $(DESTDIR)$(LIBDIR)/$(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libalertclient.so \
	    $(DESTDIR)$(INCLUDEDIR)/alertclient.h \
	    $(DESTDIR)$(PKGCONFIGDIR)/alertclient.pc \
	    $(DESTDIR)$(MANDIR)/man3/libalertclient.3
	rm -rf $(DESTDIR)$(DATADIR)/alertconsole
	for l in $(PO_LANGS); do \
	    rm -f $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/alertrelay.mo; done

# libFuzzer harnesses, one per parser; `make fuzz-run` runs each for
# FUZZ_SECONDS and keeps what it finds in fuzz/corpus/<name>.
fuzz: $(FUZZ_TARGETS)

# A harness of a parser outside common/ names the files it needs here:
#   FUZZ_SRC_fuzz_<name> := daemon/x.c client/y.c
FUZZ_SRC_fuzz_ack_request := daemon/ack_parse.c daemon/admin_auth.c \
    daemon/sms_report.c
FUZZ_SRC_fuzz_webhook := client/hook_parse.c
FUZZ_SRC_fuzz_outbox := client/outbox.c client/alert_seal.c client/alert.c
FUZZ_SRC_fuzz_inner_alert := client/alert.c
FUZZ_SRC_fuzz_bundle := client/bundle.c client/seckey.c client/afile.c
FUZZ_SRC_fuzz_shown := client/shown.c client/seen.c client/afile.c
FUZZ_SRC_fuzz_spool := daemon/spool_record.c
FUZZ_SRC_fuzz_deadletter := daemon/deadletter_parse.c
FUZZ_SRC_fuzz_sms_template := daemon/sms_template.c daemon/sms_text.c
FUZZ_SRC_fuzz_history := console/console_history_args.c
FUZZ_SRC_fuzz_checkin_state := client/checkin_state.c client/outbox.c \
    client/alert_seal.c client/alert.c client/afile.c
FUZZ_SRC_fuzz_console_text := console/console_cookie.c
FUZZ_SRC_fuzz_out_text := client/out.c client/receipt.c
FUZZ_SRC_fuzz_console_device := console/console_device.c \
    console/console_cookie.c client/seckey.c
FUZZ_SRC_fuzz_button_input := client/button_input.c
FUZZ_SRC_fuzz_audit_record := client/audit_verify.c
FUZZ_SRC_fuzz_pinfile := client/pinfile.c client/afile.c
FUZZ_SRC_fuzz_ack_statement := daemon/ack_signed.c
FUZZ_SRC_fuzz_admin_request := daemon/lifecycle_parse.c
FUZZ_SRC_fuzz_client_config := client/client_config.c client/afile.c
FUZZ_SRC_fuzz_cp_config := client/cp_config.c client/client_config.c \
    client/afile.c
FUZZ_SRC_fuzz_button_config := client/button_config.c client/alert.c
FUZZ_SRC_fuzz_console_request := console/console_req.c console/console_users.c
FUZZ_SRC_fuzz_console_config := console/console_config.c console/console_host.c \
    console/console_map.c console/console_retention_conf.c
# The relay's configuration checks its gateways, policies, templates and
# directory as it loads, so those come along (none of them is started).
FUZZ_SRC_fuzz_relay_config := daemon/relay_config.c daemon/relay_config_check.c \
    daemon/relay_directory.c daemon/conn_dirframe.c daemon/policy.c \
    daemon/redis_conn.c daemon/redis_sentinel.c daemon/sms_gateway.c \
    daemon/sms_template.c daemon/sms_text.c daemon/sms_http.c \
    daemon/sms_kannel.c daemon/sms_request.c daemon/sms_twilio.c \
    daemon/http_client.c daemon/strindex.c
FUZZ_SRC_fuzz_notice := client/notice_verify.c client/signed_cancel.c \
    client/cancel_receipt.c client/hook_keys.c client/seckey.c
# ... and the libraries beyond PKG_LIBS it needs:
#   FUZZ_LIBS_fuzz_<name> := $(CONSOLE_LIBS)
FUZZ_LIBS_fuzz_console_request := $(CONSOLE_LIBS)
FUZZ_LIBS_fuzz_console_config := $(CONSOLE_LIBS)
FUZZ_LIBS_fuzz_console_device := $(CONSOLE_LIBS)
.SECONDEXPANSION:
build-fuzz/%: fuzz/%.c $(COMMON_SRC) $$(FUZZ_SRC_$$*) \
	    $(wildcard common/*.h daemon/*.h client/*.h console/*.h fuzz/*.h)
	@mkdir -p build-fuzz
	clang -g -O1 -fsanitize=fuzzer,address,undefined $(WFLAGS) -Icommon \
	    -Idaemon -Iclient -Iconsole $(PKG_CFLAGS) -o $@ $< $(COMMON_SRC) \
	    $(FUZZ_SRC_$*) $(PKG_LIBS) $(FUZZ_LIBS_$*)

fuzz-run: fuzz
	for t in $(FUZZ_TARGETS); do n=$${t#build-fuzz/fuzz_}; \
	    mkdir -p fuzz/corpus/$$n; \
	    $$t -max_total_time=$(FUZZ_SECONDS) fuzz/corpus/$$n || exit 1; done

format:
	clang-format -i common/*.[ch] daemon/*.[ch] client/*.[ch] console/*.[ch] fuzz/*.c bench/*.[ch] lib/*.[ch] examples/*.c tests/*.c

check-format:
	clang-format --dry-run -Werror common/*.[ch] daemon/*.[ch] client/*.[ch] console/*.[ch] fuzz/*.c bench/*.[ch] lib/*.[ch] examples/*.c tests/*.c

clean:
	rm -rf build build-asan build-fuzz
