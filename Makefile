# madoguchi - plain make. `make` builds bin/; `make run` starts a demo desk;
# `make test` installs what is missing, builds, and runs every test.

CC	?= cc
PKGS	:= libevent libcurl libcjson libpq openssl libargon2 \
	   liboath libqrencode xlsxwriter libzip
CFLAGS	?= -O2 -g
WARN	:= -std=c11 -Wall -Wextra -Werror -Wmissing-prototypes \
	   -Wstrict-prototypes -Wshadow -Wpointer-arith -Wformat=2
DEFS	:= -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
INCS	:= -Ilib -Istorage -Iwebhook -Iautoreply -Ioutbox -Ioperator-console \
	   -Ioperator-console/terminal -Idaemon -Icli -Icrisis -Iwebchat -Ireport -Itests
# Sanitizer builds live apart so they never mix objects with the plain one.
BUILD	?= build
BIN	?= bin
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = $(WARN) $(DEFS) $(INCS) $(PKG_CFLAGS) $(CFLAGS) $(SAN)
LDLIBS	= $(PKG_LIBS) -lunistring -lm -pthread
# The terminal console's curses: its files and bin/madoguchi only.
TUI_CFLAGS = $(shell pkg-config --cflags ncursesw 2>/dev/null) -DNCURSES_WIDECHAR=1
TUI_LIBS   = $(shell pkg-config --libs ncursesw 2>/dev/null)

LIB_SRC	:= lib/log.c lib/clock.c lib/config.c lib/seal.c lib/metrics.c \
	   lib/json_write.c lib/http_reply.c lib/http_client.c \
	   lib/password.c lib/totp.c lib/qr_svg.c lib/offload.c \
	   lib/mail.c lib/secret_token.c lib/http_static.c
STORAGE_SRC := storage/db.c storage/ingest.c storage/migrate.c storage/pg_array.c
WEBHOOK_SRC := webhook/signature.c webhook/line_parse.c webhook/webhook.c
AUTOREPLY_SRC := autoreply/calendar.c autoreply/jp_holidays.c \
	   autoreply/desk.c autoreply/desk_load.c autoreply/render.c \
	   autoreply/worker.c autoreply/decide.c
OUTBOX_SRC := outbox/split.c outbox/outbox.c outbox/sender.c
CONSOLE_SRC := operator-console/console.c operator-console/session.c \
	   operator-console/auth.c operator-console/mfa.c \
	   operator-console/settings.c \
	   operator-console/sse.c operator-console/queue.c \
	   operator-console/conversation.c operator-console/staff.c \
	   operator-console/closing.c operator-console/deadline.c \
	   operator-console/case_record.c operator-console/assign.c \
	   operator-console/restriction.c operator-console/crisis.c \
	   operator-console/exception.c operator-console/report.c \
	   operator-console/escalation.c
CRISIS_SRC := crisis/normalize.c crisis/lexicon.c crisis/detect.c \
	   crisis/live.c crisis/alert.c crisis/index.c crisis/model.c
# Training the crisis model (liblinear, in C++): bin/madoguchi only, so the
# daemon does not carry it.
CRISIS_TRAIN_SRC := crisis/train.c
LINEAR_LIBS := -llinear
WEBCHAT_SRC := webchat/webchat.c webchat/link.c webchat/chat.c webchat/stream.c \
	   webchat/notice.c
# Pure layout and SSE parsing first: the unit tests link only those.
TERMINAL_PURE_SRC := operator-console/terminal/term_text.c \
	   operator-console/terminal/term_sse.c \
	   operator-console/terminal/term_edit.c
TERMINAL_SRC := $(TERMINAL_PURE_SRC) operator-console/terminal/terminal.c \
	   operator-console/terminal/term_words.c \
	   operator-console/terminal/term_api.c \
	   operator-console/terminal/term_model.c \
	   operator-console/terminal/term_data.c \
	   operator-console/terminal/term_live.c \
	   operator-console/terminal/term_signin.c \
	   operator-console/terminal/term_keys.c \
	   operator-console/terminal/term_actions.c \
	   operator-console/terminal/term_draw.c
REPORT_SRC := report/period.c report/doc.c report/stats.c \
	   report/line_use.c report/worklog.c report/render.c
DAEMON_SRC  := daemon/main.c daemon/health.c
CLI_SRC	:= cli/madoguchi.c cli/calendar.c cli/settings.c cli/user.c \
	   cli/crisis.c cli/audit.c cli/report.c cli/keys.c
SIM_SRC	:= $(wildcard simulator/*.c)
MIGRATIONS := $(sort $(wildcard storage/migrations/*.sql))
GEN_SRC	:= $(BUILD)/gen/migrations.c
UNIT_SRC := $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
CORE_OBJ := $(call obj,$(LIB_SRC) $(STORAGE_SRC) $(WEBHOOK_SRC) \
	    $(AUTOREPLY_SRC) $(OUTBOX_SRC) $(CONSOLE_SRC) $(CRISIS_SRC) \
	    $(WEBCHAT_SRC) $(REPORT_SRC)) \
	    $(BUILD)/gen/migrations.o
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TERMINAL_OBJ := $(call obj,$(TERMINAL_SRC))
$(TERMINAL_OBJ): ALL_CFLAGS += $(TUI_CFLAGS)

.PHONY: all deps run test test-unit test-integration test-asan test-valgrind \
	bench clean check-tools
all: $(BIN)/madoguchid $(BIN)/madoguchi $(BIN)/linesim $(UNIT_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The folder too: a migration removed or renamed changes no file left in
# it, only the folder's time, and the binaries must not keep the old one.
$(GEN_SRC): $(MIGRATIONS) storage/migrations scripts/embed-migrations.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-migrations.sh $@ $(MIGRATIONS)

$(BIN)/madoguchid: $(call obj,$(DAEMON_SRC)) $(CORE_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

$(BIN)/madoguchi: $(call obj,$(CLI_SRC) $(CRISIS_TRAIN_SRC)) $(TERMINAL_OBJ) \
	    $(CORE_OBJ)
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS) $(TUI_LIBS) $(LINEAR_LIBS)

$(BIN)/linesim: $(call obj,$(SIM_SRC))
	@mkdir -p $(BIN)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_terminal_%: $(BUILD)/tests/unit/test_terminal_%.o \
	    $(call obj,$(TERMINAL_PURE_SRC)) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

deps:
	@sh scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/run.sh

# The whole suite, then again built with ASan+UBSan, then the daemon
# under valgrind on the integration path.
test: deps
	@$(MAKE) --no-print-directory all
	@bash tests/run.sh

test-asan: deps
	@bash tests/run.sh --asan

test-valgrind: deps
	@bash tests/run.sh --valgrind

bench: deps
	@$(MAKE) --no-print-directory all
	@bash bench/run.sh

clean:
	rm -rf build build-asan bin bin-asan

# Keep intermediate objects (tests), so a rebuild does not redo them.
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
