# palabre — see README.md. Two commands: `make run` and `make check`.

CC ?= cc
CFLAGS ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
	  -Wshadow -Wstrict-prototypes -pthread -MMD -MP -I$(B)
LDLIBS = -luv -lcares -lssl -lcrypto -lsasl2 -lexpat -lsqlite3 -lidn \
	 -lldap -llber -lpthread
TEST_LDLIBS = $(LDLIBS) $(shell pkg-config --libs check 2>/dev/null)
PYTHON = /usr/bin/python3
B = build

LIB_SRC = $(wildcard lib/*.c)
AUTH_SRC = $(wildcard auth/*.c)
STORAGE_SRC = $(wildcard storage/*.c)
SERVER_SRC = $(wildcard server/*.c server/*/*.c)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
# Helpers shared by unit tests: every tests/unit/*.c that is not a test.
UNIT_SUPPORT_SRC = $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))

LIB_OBJ = $(LIB_SRC:%.c=$(B)/%.o)
AUTH_OBJ = $(AUTH_SRC:%.c=$(B)/%.o)
STORAGE_OBJ = $(STORAGE_SRC:%.c=$(B)/%.o)
SERVER_OBJ = $(SERVER_SRC:%.c=$(B)/%.o)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
CORE_A = $(B)/libpalabre.a
# The components without main.c: unit tests link them.
SERVER_A = $(B)/libpalabred.a
UNIT_SUPPORT_A = $(B)/libunit.a

.PHONY: all run check check-asan unit interop deps deps-test clean bench-tools bench
.PHONY: fuzz fuzz-bins fuzz-corpus
all: $(B)/palabred $(B)/palabrectl

$(B)/%.o: %.c | $(B)/have.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Optional library APIs, found by try-compiling against what is installed
# (tools/probe.sh); probed again when a probed header changes.
$(B)/have.h: tools/probe.sh $(wildcard /usr/include/expat.h)
	@mkdir -p $(dir $@)
	sh tools/probe.sh $(CC) $(CFLAGS) >$@.tmp && mv $@.tmp $@

# The sm's modules (server/sm/module.h): one SM_MODULE(name) per
# `const struct sm_module sm_module_NAME = …` in server/sm/*.c, for
# module_config.c's table; rewritten only when that list changes.
SM_SRC = $(sort $(wildcard server/sm/*.c))
$(B)/sm_modules.h: $(SM_SRC) server/sm
	@mkdir -p $(dir $@)
	@sed -n 's/^const struct sm_module sm_module_\([a-z0-9_]*\) =.*/SM_MODULE(\1)/p' \
		$(SM_SRC) >$@.tmp
	@if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi
$(B)/server/sm/module_config.o: $(B)/sm_modules.h

# palabre's version, as the server tells it (XEP-0092, server/sm/version.c).
VERSION = 0.1.0
$(B)/server/sm/version.o: override CFLAGS += -DPALABRE_VERSION='"$(VERSION)"'
$(B)/server/sm/version.o: Makefile

$(CORE_A): $(LIB_OBJ) $(AUTH_OBJ) $(STORAGE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(SERVER_A): $(filter-out $(B)/server/main.o,$(SERVER_OBJ))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/palabred: $(SERVER_OBJ) $(CORE_A)
	$(CC) $(CFLAGS) -o $@ $(SERVER_OBJ) $(CORE_A) $(LDLIBS)

$(B)/palabrectl: $(B)/tools/palabrectl.o $(CORE_A)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The load generator (bench/load/README.md), not part of all.
LOAD_OBJ = $(patsubst %.c,$(B)/%.o,$(wildcard bench/load/*.c))
$(B)/xmppload: $(LOAD_OBJ) $(CORE_A)
	$(CC) $(CFLAGS) -o $@ $(LOAD_OBJ) $(CORE_A) $(LDLIBS) -lm
bench-tools: $(B)/xmppload $(B)/archive_write $(B)/affiliation_write
# The storage's cost of archiving (docs/performance.md), not part of all.
$(B)/archive_write: $(B)/bench/storage/archive_write.o $(CORE_A)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
# A room's affiliation change in muc.sqlite (docs/architecture.md).
$(B)/affiliation_write: $(B)/bench/storage/affiliation_write.o $(CORE_A)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The standard benchmark (≤ 10 minutes): a markdown report under
# bench/results/. bench/compare runs it beside Prosody, ejabberd and
# jabberd2 (docs/performance.md).
bench: deps
	@$(MAKE) --no-print-directory all bench-tools
	$(PYTHON) bench/bench.py

$(UNIT_SUPPORT_A): $(UNIT_SUPPORT_SRC:%.c=$(B)/%.o)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/tests/%: $(B)/tests/unit/%.o $(UNIT_SUPPORT_A) $(SERVER_A) $(CORE_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(TEST_LDLIBS)

# Debian packages: build and run, then what the tests add.
deps:
	@sh tools/install-deps.sh build
deps-test:
	@sh tools/install-deps.sh test

run: deps all
	@sh tools/run.sh

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; CK_FORK=yes $$t; done

interop: all
	$(PYTHON) -m pytest -q tests/interop

check: deps-test
	@$(MAKE) --no-print-directory format-check all unit fuzz-corpus check-build
	@$(MAKE) --no-print-directory unit fuzz-corpus B=build-asan CFLAGS="$(ASAN_CFLAGS)"
	@$(MAKE) --no-print-directory interop

# The unit tests above also run under ASan and UBSan; this runs the whole
# interop suite against a sanitizer build of palabred too.
ASAN_CFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	      -fno-sanitize-recover=undefined
check-asan: deps-test
	@$(MAKE) --no-print-directory all unit B=build-asan CFLAGS="$(ASAN_CFLAGS)"
	PALABRE_BUILD=build-asan $(PYTHON) -m pytest -q tests/interop

# The build against an expat without the reparse-deferral API, whatever
# the installed one has (tools/check-build.sh).
.PHONY: check-build
check-build:
	MAKE="$(MAKE)" CC="$(CC)" sh tools/check-build.sh build-expat-fallback

# ---- fuzzing (tests/fuzz/README.md) ----
# Each tests/fuzz/fuzz_NAME.c is a libFuzzer harness. make check builds
# it with the normal compiler and tests/fuzz/driver.c for a main, and runs
# it on its committed corpus, tests/fuzz/corpus/NAME; make fuzz builds it
# with clang's libFuzzer and fuzzes it for FUZZ_SECONDS, one harness
# after the other (or some: make fuzz FUZZ_NAMES=jid FUZZ_SECONDS=600).
FUZZ_NAMES = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS = 60
FUZZ_B = build-fuzz
FUZZ_CFLAGS = -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
	      -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_MAIN = $(B)/tests/fuzz/driver.o
FUZZ_LDFLAGS =
# cyrus-sasl's own leaks, not palabre's (tests/fuzz/lsan.supp says which).
FUZZ_ENV = LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp:print_suppressions=0

$(B)/fuzz/%: $(B)/tests/fuzz/fuzz_%.o $(B)/tests/fuzz/fuzz.o $(FUZZ_MAIN) \
	     $(SERVER_A) $(CORE_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(FUZZ_LDFLAGS) -o $@ $^ $(LDLIBS)

fuzz-bins: $(FUZZ_NAMES:%=$(B)/fuzz/%)
# Kept, not deleted as intermediate: the next build needs them.
.SECONDARY: $(FUZZ_NAMES:%=$(B)/tests/fuzz/fuzz_%.o) \
	    $(B)/tests/fuzz/fuzz.o $(B)/tests/fuzz/driver.o

fuzz-corpus: fuzz-bins
	@set -e; for h in $(FUZZ_NAMES); do \
		$(FUZZ_ENV) $(B)/fuzz/$$h tests/fuzz/corpus/$$h; done

# New inputs go to $(FUZZ_B)/corpus, finds to $(FUZZ_B)/finds; the
# committed corpus is only read. tests/fuzz/NAME.dict, if any, is the
# harness's dictionary of tokens.
fuzz:
	@sh tools/install-deps.sh fuzz
	@$(MAKE) --no-print-directory fuzz-bins B=$(FUZZ_B) CC=clang \
		CFLAGS="$(FUZZ_CFLAGS)" FUZZ_MAIN= FUZZ_LDFLAGS=-fsanitize=fuzzer
	@failed=; for h in $(FUZZ_NAMES); do \
		echo "== fuzz $$h, $(FUZZ_SECONDS) s"; \
		mkdir -p $(FUZZ_B)/corpus/$$h $(FUZZ_B)/finds; \
		dict=; if [ -f tests/fuzz/$$h.dict ]; then \
			dict=-dict=tests/fuzz/$$h.dict; fi; \
		$(FUZZ_ENV) $(FUZZ_B)/fuzz/$$h -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=$(FUZZ_B)/finds/$$h- $$dict \
			$(FUZZ_B)/corpus/$$h tests/fuzz/corpus/$$h || \
			failed="$$failed $$h"; done; \
	if [ -n "$$failed" ]; then \
		echo "fuzz: found in:$$failed (see $(FUZZ_B)/finds)"; exit 1; fi

# One format for every C file: .clang-format, applied by Debian 12's
# clang-format 14 (other versions lay some lines out otherwise). `make
# format` rewrites the files; `make format-check` (run by make check)
# fails naming those that drift.
CLANG_FORMAT = $(shell command -v clang-format-14 || echo clang-format)
FORMAT_SRC = $(shell find lib auth storage server tools tests bench -name '*.[ch]' -not -path '*/build*' | sort)
.PHONY: format format-check
format:
	$(CLANG_FORMAT) -i $(FORMAT_SRC)

format-check:
	@$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRC) 2>&1 | \
	  grep -o '^[^:]*\.[ch]' | sort -u | sed 's/^/format: drifts: /' | \
	  { if read -r first; then echo "$$first"; cat; \
	    echo "run make format (clang-format 14)"; exit 1; fi; }

clean:
	rm -rf $(B) build-asan build-expat-fallback $(FUZZ_B)

-include $(wildcard $(B)/*/*.d $(B)/*/*/*.d $(B)/*/*/*/*.d)
