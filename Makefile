# devmail build. `make` builds build/devmail; `make test` installs missing
# Debian packages, builds, and runs every test (unit, sanitizers, fuzz
# corpora, end-to-end); `make run` starts the server with zero config.

CC       ?= cc
PKGS     := libevent libevent_openssl libevent_pthreads gmime-3.0 libcjson sqlite3 openssl libcrypt gdk-pixbuf-2.0 gumbo libical
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN     := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wformat=2 -Wno-format-nonliteral
CFLAGS   ?= -O2 -g
ALL_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) -Isrc -Ibuild/gen $(PKG_CFLAGS) $(CFLAGS)
LDLIBS   := $(PKG_LIBS) -lpthread -lm

LIB_SRCS := $(sort $(wildcard src/*/*.c))
WEB_FILES := $(sort $(wildcard web/*))
# Debian's libjs-highlight.js (BSD-3-Clause), served as /highlight.min.js
# for the syntax-highlighted source views (web/view.js)
HLJS := /usr/share/javascript/highlight.js/highlight.min.js
# The page's stylesheets and scripts, each joined into one file in the
# order index.html loads them (page.css, page.js): two requests instead of
# eight before the first paint. The parts stay served under their own names.
PAGE_CSS := web/style.css web/view.css web/list.css web/attach.css
PAGE_JS := web/app.js web/list.js web/attach.js web/view.js
PAGE_BUNDLES := build/gen/web/page.css build/gen/web/page.js
GEN_SRCS := build/gen/web_assets.c build/gen/caniemail_data.c
GEN_OBJS = $(patsubst build/gen/%.c,$(1)/gen/%.o,$(GEN_SRCS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))

OBJ_DIR  := build/obj
LIB_OBJS := $(patsubst src/%.c,$(OBJ_DIR)/%.o,$(LIB_SRCS)) $(call GEN_OBJS,$(OBJ_DIR))
UNIT_BINS := $(patsubst tests/unit/%.c,build/tests/%,$(UNIT_SRCS))

ASAN_DIR := build/asan
ASAN_FLAGS := -DDEVMAIL_DEBUG -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_OBJS := $(patsubst src/%.c,$(ASAN_DIR)/obj/%.o,$(LIB_SRCS)) $(call GEN_OBJS,$(ASAN_DIR)/obj)
ASAN_UNIT_BINS := $(patsubst tests/unit/%.c,$(ASAN_DIR)/tests/%,$(UNIT_SRCS))

FUZZ_DIR := build/fuzz
FUZZ_CC  := clang
FUZZ_OBJS := $(patsubst src/%.c,$(FUZZ_DIR)/obj/%.o,$(LIB_SRCS)) $(call GEN_OBJS,$(FUZZ_DIR)/obj)
FUZZ_BINS := $(patsubst fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRCS))

.PHONY: all deps test-deps run test test-unit test-asan test-fuzz test-e2e fuzz bench clean check-clang install

PREFIX  ?= /usr/local
DESTDIR ?=

all: build/devmail

deps:
	@sh scripts/deps.sh build

test-deps:
	@sh scripts/deps.sh test

build/gen/web/page.css: $(PAGE_CSS)
	@mkdir -p $(dir $@)
	cat $(PAGE_CSS) > $@

build/gen/web/page.js: $(PAGE_JS)
	@mkdir -p $(dir $@)
	cat $(PAGE_JS) > $@

build/gen/web_assets.c: scripts/embed.sh $(WEB_FILES) $(HLJS) $(PAGE_BUNDLES)
	@mkdir -p $(dir $@)
	sh scripts/embed.sh $@ $(WEB_FILES) $(HLJS) $(PAGE_BUNDLES)

build/gen/caniemail_data.c: scripts/gen_caniemail.py data/caniemail/caniemail.json
	@mkdir -p $(dir $@)
	python3 scripts/gen_caniemail.py data/caniemail/caniemail.json $@

$(OBJ_DIR)/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(OBJ_DIR)/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

build/libdevmail.a: $(filter-out $(OBJ_DIR)/main/%,$(LIB_OBJS))
	@rm -f $@
	ar rcs $@ $^

build/devmail: src/main.c build/libdevmail.a
	$(CC) $(ALL_CFLAGS) -o $@ src/main.c build/libdevmail.a $(LDLIBS)

build/tests/%: tests/unit/%.c tests/unit/unit_dir.h build/libdevmail.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< build/libdevmail.a $(LDLIBS) -lcmocka

build/bench/%: bench/html/%.c build/libdevmail.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< build/libdevmail.a $(LDLIBS)

# --- sanitizer build: same sources, ASan + UBSan -------------------------
$(ASAN_DIR)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -O1 -MMD -MP -c $< -o $@

$(ASAN_DIR)/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -O1 -c $< -o $@

$(ASAN_DIR)/libdevmail.a: $(ASAN_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(ASAN_DIR)/devmail: src/main.c $(ASAN_DIR)/libdevmail.a
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -O1 -o $@ src/main.c $(ASAN_DIR)/libdevmail.a $(LDLIBS)

$(ASAN_DIR)/tests/%: tests/unit/%.c tests/unit/unit_dir.h $(ASAN_DIR)/libdevmail.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -O1 -o $@ $< $(ASAN_DIR)/libdevmail.a $(LDLIBS) -lcmocka

# --- fuzz targets: clang + libFuzzer -------------------------------------
FUZZ_FLAGS := -DDEVMAIL_DEBUG -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -O1 -g
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -Isrc -Ibuild/gen $(PKG_CFLAGS)

$(FUZZ_DIR)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_FLAGS) -c $< -o $@

$(FUZZ_DIR)/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_FLAGS) -c $< -o $@

$(FUZZ_DIR)/libdevmail.a: $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_DIR)/libdevmail.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -O1 -g -o $@ $< $(FUZZ_DIR)/libdevmail.a $(LDLIBS)

# --- entry points ---------------------------------------------------------
run: deps build/devmail
	./build/devmail $(ARGS)

test: test-deps
	@$(MAKE) --no-print-directory -j$$(nproc) all $(UNIT_BINS) $(ASAN_UNIT_BINS) $(ASAN_DIR)/devmail $(FUZZ_BINS)
	@sh tests/run_all.sh

test-unit: all $(UNIT_BINS)
	@sh tests/run_unit.sh build/tests

test-asan: $(ASAN_UNIT_BINS) $(ASAN_DIR)/devmail
	@sh tests/run_unit.sh $(ASAN_DIR)/tests

test-fuzz: $(FUZZ_BINS)
	@sh tests/run_fuzz.sh replay

test-e2e: all
	@python3 tests/e2e/run.py build/devmail

fuzz: $(FUZZ_BINS)
	@sh tests/run_fuzz.sh fuzz $(FUZZ_SECONDS)

bench: all
	@sh bench/run.sh

install: build/devmail
	install -D -m 0755 build/devmail $(DESTDIR)$(PREFIX)/bin/devmail
	install -D -m 0644 contrib/devmail.service $(DESTDIR)/etc/systemd/system/devmail.service
	install -d -m 0755 $(DESTDIR)/etc/devmail

check-clang:
	@$(MAKE) --no-print-directory clean
	@$(MAKE) --no-print-directory CC=clang all

clean:
	rm -rf build

-include $(shell find build/obj build/asan/obj -name '*.d' -type f 2>/dev/null)
