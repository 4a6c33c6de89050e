# cbp2p — top-level GNU Makefile.
#
#	make		build everything into obj/
#	make check	install missing packages, build, run every test (Kyua)
#	make demo	install, build, run a local mesh in network namespaces
#	make bench	cbp2pd against current and bookworm wireguard-go, and
#			relayed (BENCH_FLAGS="-n 3 -t 5"; -p: a profile even
#			when the goals are met); then one node with 1,000
#			peers (SCALE_FLAGS="-n 1000 -t 10 -w 256")
#	make install	install programs, man pages, units and the _cbp2p user
#	make deb	the Debian package, built from a copy of the tree in
#			obj/deb/src, into obj/deb/ (debian/)
#	make fuzz	run each fuzz target for FUZZ_SECONDS (default 60)
#	make testdebs	fetch the Debian packages end-to-end tests install in
#			overlays (never on the machine) into obj/testdebs/

PREFIX		?= /usr/local
SBINDIR		?= $(PREFIX)/sbin
LIBEXECDIR	?= $(PREFIX)/libexec/cbp2p
MANDIR		?= $(PREFIX)/share/man
SYSCONFDIR	?= /etc/cbp2p
CBP2P_USER	?= _cbp2p
SYSTEMDDIR	?= $(PREFIX)/lib/systemd/system

OBJ		:= obj
PKGS		:= libevent libevent_openssl libbsd-overlay libsodium openssl \
		   libjwt jansson yaml-0.1 libseccomp

# Recursive (=) so pkg-config runs only after 'deps' installed the packages.
PKG_CFLAGS	= $(shell pkg-config --cflags $(PKGS))
PKG_LIBS	= $(shell pkg-config --libs $(PKGS))
ATF_CFLAGS	= $(shell pkg-config --cflags atf-c)
ATF_LIBS	= $(shell pkg-config --libs atf-c)

WARN		:= -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
		   -Wmissing-prototypes -Wstrict-prototypes -Wno-unused-parameter
CFLAGS		?= -O2 -g
# Everything but the optimisation flags, which the fuzz build sets itself.
BASE_CFLAGS	= -std=c99 -D_GNU_SOURCE $(WARN) -Ilib $(PKG_CFLAGS) \
		  -DLIBEXECDIR='"$(LIBEXECDIR)"' -DSYSCONFDIR='"$(SYSCONFDIR)"' \
		  -DCBP2P_USER='"$(CBP2P_USER)"' -MMD -MP
ALL_CFLAGS	= $(BASE_CFLAGS) $(CPPFLAGS) $(CFLAGS)
SAN_FLAGS	:= -fsanitize=address,undefined -fno-omit-frame-pointer \
		   -fno-sanitize-recover=all

# lib/ is one static library; every lib/*.c belongs to it.
LIB_SRCS	:= $(wildcard lib/*.c)
LIB_OBJS	:= $(LIB_SRCS:%.c=$(OBJ)/%.o)
LIB_SAN_OBJS	:= $(LIB_SRCS:%.c=$(OBJ)/san/%.o)
LIBA		:= $(OBJ)/libcbp2p.a
LIBA_SAN	:= $(OBJ)/san/libcbp2p.a

# One folder per program; every .c in it belongs to that program.
SBIN_PROGS	:= cbp2pd cbp2pctl cbedged
LIBEXEC_PROGS	:= cbdiscod cbmeshd cbrelayd
PROGS		:= $(SBIN_PROGS) $(LIBEXEC_PROGS)
BIN		:= $(OBJ)/bin
PROG_BINS	:= $(PROGS:%=$(BIN)/%)
# systemd units, from etc/*.service.in with this build's paths.
UNITS		:= $(OBJ)/etc/cbp2pd.service $(OBJ)/etc/cbedged.service
DEB_DIR		:= $(OBJ)/deb
# make check builds the package once, again only when what it holds changed.
DEB_STAMP	:= $(DEB_DIR)/built
DEB_DEPS	:= Makefile $(wildcard lib/*.[ch] cbp2pd/* cbdiscod/* cbmeshd/* \
		   cbrelayd/* cbp2pctl/* cbedged/* etc/* debian/* debian/source/*)
# Debian packages the end-to-end tests install inside overlays in a
# private mount namespace (t_dns: resolvconf, systemd-resolved), fetched
# once, each into a folder of its own with its dependencies this machine
# lacks.
TESTDEBS	:= resolvconf systemd-resolved
TESTDEB_DIR	:= $(OBJ)/testdebs
TESTDEB_STAMP	:= $(TESTDEB_DIR)/fetched
# cbp2pd called by another name: the drop-in for wireguard-go.
DROPIN		:= cbp2p-wg
MAN8		:= $(wildcard */*.8)
MAN5		:= $(wildcard */*.5)

# Unit tests: regress/lib/t_*.c, built twice (plain and sanitized).
UNIT_SRCS	:= $(wildcard regress/lib/t_*.c)
UNIT_BINS	:= $(UNIT_SRCS:%.c=%)
SAN_BINS	:= $(UNIT_SRCS:regress/lib/%.c=regress/san/%)
# The leak canary: a deliberately leaking program built like SAN_BINS,
# and the atf-sh test that requires its leak to fail the run.
CANARY_BINS	:= regress/san/lsan_canary regress/san/t_lsan_canary
E2E_SRCS	:= $(wildcard regress/e2e/t_*.sh)
E2E_BINS	:= $(E2E_SRCS:%.sh=%)
# C programs the end-to-end tests run in place of a daemon's child.
E2E_HELPERS	:= regress/e2e/hostile_disco regress/e2e/hostile_relay
# C programs make bench runs: allowed-IPs lookups, a handshake load.
BENCH_BINS	:= bench/aip_bench bench/hs_load
KYUAFILES	:= regress/lib/Kyuafile regress/san/Kyuafile regress/e2e/Kyuafile \
		   regress/fuzz/Kyuafile

# Fuzz targets: regress/fuzz/fuzz_NAME.c, libFuzzer under clang with ASan
# and UBSan, linked against lib/ compiled the same way into obj/fuzz/
# (coverage needs the library instrumented too).  Each replays its seed
# corpus, regress/fuzz/corpus/NAME, in make check; make fuzz runs each.
FUZZ_CC		?= clang
FUZZ_CFLAGS	?= -O1 -g
FUZZ_SECONDS	?= 60
FUZZ_SAN	:= -fsanitize=address,undefined -fno-omit-frame-pointer \
		   -fno-sanitize-recover=all
FUZZ_ALL_CFLAGS	= $(BASE_CFLAGS) $(FUZZ_CFLAGS) $(FUZZ_SAN)
FUZZ_SRCS	:= $(wildcard regress/fuzz/fuzz_*.c)
FUZZ_BINS	:= $(FUZZ_SRCS:%.c=%)
FUZZ_NAMES	:= $(FUZZ_SRCS:regress/fuzz/fuzz_%.c=%)
FUZZ_TARGETS	?= $(FUZZ_NAMES)
FUZZ_LIB_OBJS	:= $(LIB_SRCS:%.c=$(OBJ)/fuzz/%.o)
FUZZ_LIBA	:= $(OBJ)/fuzz/libcbp2p.a
# Daemon files a target compiles in: parsers that live outside lib/.
FUZZ_DAEMON_OBJS := $(OBJ)/fuzz/cbdiscod/registry.o $(OBJ)/fuzz/cbedged/parse.o \
		    $(OBJ)/fuzz/cbedged/request.o

.PHONY: all deps check test unit install uninstall clean demo demo-down bench \
	lint fuzz progs deb testdebs

all: $(PROG_BINS) $(BIN)/$(DROPIN) $(UNITS) $(UNIT_BINS) $(SAN_BINS) $(CANARY_BINS) $(E2E_BINS) \
	$(E2E_HELPERS) $(FUZZ_BINS) regress/fuzz/t_fuzz_replay \
	$(KYUAFILES)

deps:
	@./scripts/deps.sh

# The programs alone, with their units: what the package ships.
progs: $(PROG_BINS) $(BIN)/$(DROPIN) $(UNITS)

# Sub-makes keep the order: packages first, then the build that needs them.
check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory $(DEB_STAMP)
	@$(MAKE) --no-print-directory $(TESTDEB_STAMP)
	@$(MAKE) --no-print-directory test

# Results go to one known file so .ci/run can summarise them.  Two
# test programs run at once (TEST_JOBS): the end-to-end tests spend most
# of their time waiting on timers in namespaces of their own, and each
# names its namespaces, links and sockets after its own pid.  The user
# the daemons run as is made first, not by two tests at once.
TEST_JOBS	?= 2
test:
	@mkdir -p $(OBJ)
	rm -f $(OBJ)/kyua-results.db
	./scripts/mkuser.sh $(CBP2P_USER)
	cd regress && kyua -v parallelism=$(TEST_JOBS) test \
	    --kyuafile Kyuafile \
	    --results-file=$(CURDIR)/$(OBJ)/kyua-results.db

unit: $(UNIT_BINS) $(SAN_BINS) $(CANARY_BINS) regress/lib/Kyuafile \
	regress/san/Kyuafile
	cd regress && kyua test lib san

lint:
	mandoc -Tlint -Wwarning $(MAN8) $(MAN5)

# Each target for FUZZ_SECONDS, one at a time; new inputs go to
# obj/fuzz/corpus, crashes to obj/fuzz/artifacts.
fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=regress/fuzz/fuzz_%)
	./scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(OBJ)/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(LIBA_SAN): $(LIB_SAN_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(OBJ)/fuzz/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIBA): $(FUZZ_LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

define prog_rule
$(1)_OBJS := $$(patsubst %.c,$(OBJ)/%.o,$$(wildcard $(1)/*.c))
$(BIN)/$(1): $$($(1)_OBJS) $(LIBA)
	@mkdir -p $(BIN)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$($(1)_OBJS) $(LIBA) $$(PKG_LIBS)
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))

$(BIN)/$(DROPIN): $(BIN)/cbp2pd
	ln -sf cbp2pd $@

regress/lib/t_%: regress/lib/t_%.c $(LIBA)
	$(CC) $(ALL_CFLAGS) $(ATF_CFLAGS) -o $@ $< $(LIBA) $(ATF_LIBS) $(PKG_LIBS)

# libatf-c leaks its test list on "-l"; the header tells LeakSanitizer.
SAN_LINK	= $(CC) $(ALL_CFLAGS) $(SAN_FLAGS) $(ATF_CFLAGS) \
		  -include regress/lib/lsan_atf.h -o $@ $< $(LIBA_SAN) \
		  $(ATF_LIBS) $(PKG_LIBS)
regress/san/t_%: regress/lib/t_%.c $(LIBA_SAN)
	@mkdir -p $(@D)
	$(SAN_LINK)

regress/san/lsan_canary: regress/lib/lsan_canary.c $(LIBA_SAN)
	@mkdir -p $(@D)
	$(SAN_LINK)

regress/san/t_lsan_canary: regress/lib/t_lsan_canary.sh
	@mkdir -p $(@D)
	install -m 0755 $< $@

regress/e2e/t_%: regress/e2e/t_%.sh
	install -m 0755 $< $@

$(E2E_HELPERS) $(BENCH_BINS): %: %.c $(LIBA)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBA) $(PKG_LIBS)

# Extra objects a target needs are listed as its prerequisites below.
regress/fuzz/fuzz_%: regress/fuzz/fuzz_%.c $(FUZZ_LIBA)
	$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) $(FUZZ_INC) -fsanitize=fuzzer -o $@ $< \
	    $(filter %.o,$^) $(FUZZ_LIBA) $(PKG_LIBS)

regress/fuzz/fuzz_regreply: $(OBJ)/fuzz/cbdiscod/registry.o
regress/fuzz/fuzz_regreply: FUZZ_INC := -Icbdiscod
regress/fuzz/fuzz_regack: $(OBJ)/fuzz/cbdiscod/registry.o
regress/fuzz/fuzz_regack: FUZZ_INC := -Icbdiscod
regress/fuzz/fuzz_yaml: $(OBJ)/fuzz/cbedged/parse.o
regress/fuzz/fuzz_yaml: FUZZ_INC := -Icbedged
regress/fuzz/fuzz_httpreq: $(OBJ)/fuzz/cbedged/request.o
regress/fuzz/fuzz_httpreq: FUZZ_INC := -Icbedged

regress/fuzz/t_fuzz_replay: regress/fuzz/t_fuzz_replay.sh
	install -m 0755 $< $@

# Kyuafiles list whatever tests exist, so adding a test is adding a file.
regress/lib/Kyuafile: $(UNIT_SRCS) Makefile
	@mkdir -p $(@D)
	@{ echo 'syntax(2)'; echo 'test_suite("cbp2p")'; \
	  for t in $(notdir $(UNIT_BINS)); do \
	    echo "atf_test_program{name=\"$$t\"}"; done; } > $@

regress/san/Kyuafile: $(UNIT_SRCS) Makefile
	@mkdir -p $(@D)
	@{ echo 'syntax(2)'; echo 'test_suite("cbp2p")'; \
	  for t in $(notdir $(UNIT_BINS)) t_lsan_canary; do \
	    echo "atf_test_program{name=\"$$t\"}"; done; } > $@

regress/fuzz/Kyuafile: Makefile
	@mkdir -p $(@D)
	@{ echo 'syntax(2)'; echo 'test_suite("cbp2p")'; \
	  echo 'atf_test_program{name="t_fuzz_replay"}'; } > $@

regress/e2e/Kyuafile: $(E2E_SRCS) Makefile
	@mkdir -p $(@D)
	@{ echo 'syntax(2)'; echo 'test_suite("cbp2p")'; \
	  for t in $(notdir $(E2E_BINS)); do \
	    echo "atf_test_program{name=\"$$t\", required_user=\"root\"}"; \
	  done; } > $@

demo: deps
	@$(MAKE) --no-print-directory $(PROG_BINS)
	./scripts/demo.sh up

demo-down:
	./scripts/demo.sh down

bench: deps
	@$(MAKE) --no-print-directory $(PROG_BINS) $(BIN)/$(DROPIN) $(BENCH_BINS)
	./bench/throughput.sh $(BENCH_FLAGS)
	./bench/scale.sh $(SCALE_FLAGS)

install: $(PROG_BINS) $(UNITS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(SYSCONFDIR)
	install -m 0755 $(SBIN_PROGS:%=$(BIN)/%) $(DESTDIR)$(SBINDIR)
	ln -f $(DESTDIR)$(SBINDIR)/cbp2pd $(DESTDIR)$(SBINDIR)/$(DROPIN)
	install -m 0755 $(LIBEXEC_PROGS:%=$(BIN)/%) $(DESTDIR)$(LIBEXECDIR)
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5
	install -d $(DESTDIR)$(SYSTEMDDIR)
	install -m 0644 $(UNITS) $(DESTDIR)$(SYSTEMDDIR)
	@# A package (DESTDIR set) makes its user in postinst.
	[ -n "$(DESTDIR)" ] || ./scripts/mkuser.sh $(CBP2P_USER)

$(OBJ)/etc/%.service: etc/%.service.in Makefile
	@mkdir -p $(@D)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    $< > $@

# dpkg-buildpackage in a copy of the tree, so that its clean step never
# touches this tree's obj/; the .deb lands in obj/deb/.
deb: deps
	rm -rf $(DEB_DIR)/src
	mkdir -p $(DEB_DIR)/src
	tar -cf - --exclude=./$(OBJ) --exclude=./.git \
	    . | tar -C $(DEB_DIR)/src -xf -
	rm -f $(DEB_DIR)/*.deb
	cd $(DEB_DIR)/src && dpkg-buildpackage -b -us -uc -j2
	@ls -l $(DEB_DIR)/*.deb
	touch $(DEB_STAMP)

$(DEB_STAMP): $(DEB_DEPS)
	@$(MAKE) --no-print-directory deb

testdebs: deps
	@$(MAKE) --no-print-directory $(TESTDEB_STAMP)

$(TESTDEB_STAMP): scripts/fetch-debs.sh Makefile
	./scripts/fetch-debs.sh $(TESTDEB_DIR) $(TESTDEBS)
	touch $@

uninstall:
	rm -f $(SBIN_PROGS:%=$(DESTDIR)$(SBINDIR)/%) \
	    $(DESTDIR)$(SBINDIR)/$(DROPIN)
	rm -rf $(DESTDIR)$(LIBEXECDIR)
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(MAN5)))
	rm -f $(DESTDIR)$(SYSTEMDDIR)/cbp2pd.service \
	    $(DESTDIR)$(SYSTEMDDIR)/cbedged.service

clean:
	rm -rf $(OBJ) regress/san $(UNIT_BINS) $(E2E_BINS) $(E2E_HELPERS) \
	    $(FUZZ_BINS) regress/fuzz/t_fuzz_replay $(KYUAFILES)
	rm -rf regress/.kyua

-include $(LIB_OBJS:.o=.d) $(LIB_SAN_OBJS:.o=.d) \
	$(foreach p,$(PROGS),$($(p)_OBJS:.o=.d)) \
	$(UNIT_BINS:=.d) $(SAN_BINS:=.d) regress/san/lsan_canary.d \
	$(E2E_HELPERS:=.d) $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_DAEMON_OBJS:.o=.d) \
	$(FUZZ_BINS:=.d)
