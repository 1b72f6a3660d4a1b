# flowcached - plain Makefile.  make | make test | make run | make bench | make install | make SANITIZER=address|undefined|thread
CC       ?= cc
PY       := /usr/bin/python3
SANITIZER ?=
# The allocator of plain builds: jemalloc (Debian's libjemalloc-dev, as redis-server uses) or libc.
# Sanitizer builds always use libc's, which the sanitizers replace.
MALLOC   ?= jemalloc
ifneq ($(SANITIZER),)
  override MALLOC := libc
endif
BUILD    := build/$(if $(SANITIZER),$(SANITIZER),plain$(if $(filter libc,$(MALLOC)),-libc))

PKGS_CFLAGS := $(shell pkg-config --cflags libndpi libuv hiredis 2>/dev/null)
BASE_LIBS   := $(shell pkg-config --libs libndpi libuv hiredis 2>/dev/null) -lpcap -lpthread -lm
PKGS_LIBS   := $(BASE_LIBS)
ifeq ($(MALLOC),jemalloc)
  # first in the executable's needed list, so its malloc serves every library (nDPI's allocations
  # too); --no-as-needed: with LTO the linker may see no direct use of it and drop it
  PKGS_LIBS := -Wl,--push-state,--no-as-needed -ljemalloc -Wl,--pop-state $(BASE_LIBS)
else ifneq ($(MALLOC),libc)
  $(error MALLOC must be jemalloc or libc, not '$(MALLOC)')
endif

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS   ?= -O2 -g
# Flags the code needs whatever CFLAGS the caller passes.
FC_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -Werror -I. $(PKGS_CFLAGS) -MMD -MP
ifeq ($(SANITIZER),address)
  FC_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  FC_LDFLAGS := -fsanitize=address,undefined
else ifeq ($(SANITIZER),undefined)
  FC_CFLAGS += -fsanitize=undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  FC_LDFLAGS := -fsanitize=undefined
else ifeq ($(SANITIZER),thread)
  FC_CFLAGS += -fsanitize=thread -fno-omit-frame-pointer
  FC_LDFLAGS := -fsanitize=thread
else
  # Plain builds optimise across files (the cache, key and decode helpers
  # inlined into the packet path): -2.2 % instructions on mid.pcap.
  FC_CFLAGS += -flto=auto
  FC_LDFLAGS := -flto=auto
endif
ALL_CFLAGS  = $(CFLAGS) $(FC_CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(FC_LDFLAGS)

# Every C file of the program's folders (sub-folders included), main.c aside.
LIB_SRCS  := $(sort $(shell find capture dissectors resp server -name '*.c'))
LIB_SRCS  := $(filter-out server/main.c,$(LIB_SRCS))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
REPLAY_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/replay/%)

.PHONY: all deps run check layout-check l7-prove bench-tools test unit-test fuzz-replay integration-test bench bench-scaling fuzz fuzz-build clean demo flowcached install

all: flowcached

# ./flowcached always names the plain build; sanitizer builds stay in build/<sanitizer>/,
# a MALLOC=libc build in build/plain-libc/.
flowcached: $(BUILD)/flowcached
ifeq ($(SANITIZER)$(MALLOC),jemalloc)
	@ln -sf $(BUILD)/flowcached flowcached
endif

$(BUILD)/flowcached: $(LIB_OBJS) $(BUILD)/server/main.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKGS_LIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB_OBJS) $(PKGS_LIBS)

$(BUILD)/replay/%: tests/fuzz/%.c tests/fuzz/replay_main.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< tests/fuzz/replay_main.c $(LIB_OBJS) $(PKGS_LIBS)

# Install the Debian 12 packages of every goal (make run, test, bench and fuzz each install only
# their own: tools/deps.sh run|test|bench|fuzz), or print the command to run as root.
deps:
	@./tools/deps.sh all

# make run's arguments (tests/integration/test_readme.py starts flowcached with them too).
RUN_ARGS := conf/flowcached.conf --pcap demo/demo.pcap --pcap-speed 1 --pcap-loop yes --port 6380

# Start flowcached on the bundled demo capture at recorded speed, looping, on 127.0.0.1:6380.
# (A sub-make, so the flags of packages deps.sh just installed are seen.)
run:
	@./tools/deps.sh run
	$(MAKE) --no-print-directory all
	$(BUILD)/flowcached $(RUN_ARGS)

unit-test: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

fuzz-replay: $(REPLAY_BINS)
	@set -e; for t in $(REPLAY_BINS); do n=$$(basename $$t); echo "== replay $$n"; \
	  $$t tests/fuzz/corpus/$${n#fuzz_}; done

# The folder table of ARCHITECTURE.md: allowed includes, no circles, no C file over 800 lines.
layout-check:
	@$(PY) tools/check_layout.py .

# nDPI's answers and flow state after flowcached's shortcuts (capture/flow/l7_quick.c, l7_tcp.c)
# against nDPI alone, packet by packet, in a proof build (build/prove/): any difference fails.
PROVE_CAPTURES := demo/demo.pcap $(sort $(wildcard ../shared/pcaps/*/*.pcap ../shared/pcaps/*/*.pcapng))
l7-prove:
	@$(MAKE) --no-print-directory BUILD=build/prove SANITIZER= CFLAGS='-O2 -g -DL7_PROVE' build/prove/flowcached
	@$(PY) tools/l7_prove.py build/prove/flowcached --gen 3000 $(PROVE_CAPTURES)

# make bench's own C programs (tools/bench.py builds them through this target), with -Werror, so a
# change they build in (the floor includes capture/flow/l7_quick.c) cannot break make bench unseen.
BENCH_TOOLS := $(BUILD)/bench-tools/bench_pcap_loop $(BUILD)/bench-tools/bench_genflows $(BUILD)/bench-tools/bench_ndpi_floor \
               $(BUILD)/bench-tools/bench_event_floor $(BUILD)/bench-tools/bench_lane_split \
               $(BUILD)/bench-tools/bench_pingpong
bench-tools: $(BENCH_TOOLS)
$(BUILD)/bench-tools/bench_pcap_loop: tools/bench_pcap_loop.c
	@mkdir -p $(dir $@)
	cc -O2 -Wall -Wextra -Werror -I . -o $@ $< -lpcap
$(BUILD)/bench-tools/bench_genflows: tools/bench_genflows.c
	@mkdir -p $(dir $@)
	cc -O2 -Wall -Wextra -Werror -I . -o $@ $<
$(BUILD)/bench-tools/bench_ndpi_floor: tools/bench_ndpi_floor.c capture/flow/l7_quick.c capture/flow/l7_quick.h capture/cache/names.h
	@mkdir -p $(dir $@)
	cc -O2 -Wall -Wextra -Werror -I . -o $@ $< -I/usr/include/ndpi -lpcap -lndpi -ljemalloc
$(BUILD)/bench-tools/bench_event_floor: tools/bench_event_floor.c
	@mkdir -p $(dir $@)
	cc -O2 -Wall -Wextra -Werror -I . -o $@ $< -lpcap -pthread
$(BUILD)/bench-tools/bench_pingpong: tools/bench_pingpong.c
	@mkdir -p $(dir $@)
	cc -O2 -Wall -Wextra -Werror -I . -o $@ $< -pthread
# the lane splitter builds in flowcached's own lane of a frame (and the decoder it reads frames with)
LANE_SPLIT_SRCS := capture/source/fanout_lane.c $(wildcard capture/decode/*.c)
$(BUILD)/bench-tools/bench_lane_split: tools/bench_lane_split.c $(LANE_SPLIT_SRCS) capture/source/fanout_lane.h \
                                       $(wildcard capture/decode/*.h) capture/cache/flow_key.h
	@mkdir -p $(dir $@)
	cc -O2 -Wall -Wextra -Werror -I . -o $@ $< $(LANE_SPLIT_SRCS) -lpcap

# What needs no root and no test daemon: the build, unit tests, fuzz-seed replay, the layout, the
# nDPI shortcuts' proof, make bench's programs.
check: all unit-test fuzz-replay layout-check l7-prove bench-tools

integration-test: flowcached
	FLOWCACHED=$(CURDIR)/$(BUILD)/flowcached $(PY) -m pytest -q -p no:cacheprovider tests/integration

# Every test: unit, fuzz-seed replay, integration; then again under ASan+UBSan (CI does both).
test:
	@./tools/deps.sh test
	$(MAKE) check integration-test
ifeq ($(SANITIZER),)
ifneq ($(FC_SKIP_ASAN),1)
	$(MAKE) SANITIZER=address check integration-test
endif
endif

bench:
	@./tools/deps.sh bench
	$(MAKE) --no-print-directory all
	$(MAKE) --no-print-directory MALLOC=libc all
	$(PY) tools/bench.py

# capture-threads 1..cores on the item-1 file and live through a veth pair (tools/bench_scaling.py --help)
bench-scaling:
	@./tools/deps.sh bench
	$(MAKE) --no-print-directory all
	$(PY) tools/bench_scaling.py --live

# libFuzzer targets: make fuzz CC=clang  (binaries in build/fuzz/)
fuzz:
	@./tools/deps.sh fuzz
	$(MAKE) --no-print-directory fuzz-build

fuzz-build:
	@mkdir -p build/fuzz
	@for f in $(FUZZ_SRCS); do n=$$(basename $$f .c); \
	  clang -std=c11 -D_GNU_SOURCE -g -O1 -I. $(PKGS_CFLAGS) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -o build/fuzz/$$n $$f $(LIB_SRCS) $(BASE_LIBS) || exit 1; echo built build/fuzz/$$n; done

# make install [PREFIX=/usr/local] [DESTDIR=]: the plain build's binary, the config file (kept when one
# is there), the man page flowcached(8) and a systemd unit. PREFIX=/usr puts the config in /etc.
PREFIX     ?= /usr/local
BINDIR     := $(PREFIX)/bin
SYSCONFDIR := $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
MANDIR     := $(PREFIX)/share/man
UNITDIR    := $(PREFIX)/lib/systemd/system

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/flowcached $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR)
	install -m 755 $(BUILD)/flowcached $(DESTDIR)$(BINDIR)/flowcached
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/flowcached/flowcached.conf ]; then \
	  echo "keeping $(DESTDIR)$(SYSCONFDIR)/flowcached/flowcached.conf"; \
	else install -m 644 conf/flowcached.conf $(DESTDIR)$(SYSCONFDIR)/flowcached/flowcached.conf; fi
	install -m 644 doc/flowcached.8 $(DESTDIR)$(MANDIR)/man8/flowcached.8
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' conf/flowcached.service.in \
	  > $(DESTDIR)$(UNITDIR)/flowcached.service
	chmod 644 $(DESTDIR)$(UNITDIR)/flowcached.service
	@echo "installed; to run it as a service: set 'interface' in $(SYSCONFDIR)/flowcached/flowcached.conf, then"
	@echo "  systemctl daemon-reload && systemctl enable --now flowcached"

demo:
	$(PY) tools/gen_demo.py --out demo/demo.pcap --truth demo/demo.truth.json

clean:
	rm -rf build flowcached

-include $(shell find build -name '*.d' 2>/dev/null)
