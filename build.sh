#!/usr/bin/env bash
# Inventory Sync — the one way to build, test and try the project.
#
#   ./build.sh deps    install the Debian packages the project needs (as root), or print the
#                      exact apt-get line; install the browser driver for the tests (npm)
#   ./build.sh build   release extension (.so) and dist/ (plugin zip + extension + INSTALL.txt)
#   ./build.sh test    everything: rustfmt, clippy -D warnings, Rust tests (with a private
#                      MariaDB for the MariaDB store tests), PHP tests against the .so, WordPress
#                      end to end (MariaDB, php -S, WP-Cron, headless Chromium)
#   ./build.sh with-mariadb <command…>
#                      runs the command with that private MariaDB up, e.g.
#                      ./build.sh with-mariadb cargo test --lib mariadb
#   ./build.sh bench   release extension, then every benchmark in bench/ (figures and ratios
#                      against baselines measured in the same run: plain PHP, PDO SQLite, an
#                      empty REST route on a throw-away WordPress, the sync engine with batch
#                      size 1 against loopback fake channels; never pass/fail on time)
#                      into target/bench/
#   ./build.sh pot     php-plugin/languages/inventory-sync.pot from every translatable string
#                      (xgettext with WordPress's keywords; build and test check it is current)
#   ./build.sh demo    a local WordPress with the plugin on a free port; prints URL and login
#   ./build.sh stop    stops what demo started (by recorded process group)
#   ./build.sh fuzz [seconds]
#                      every fuzz target in fuzz/ (the signature header parsers) for that long
#                      each, default 60; installs cargo-fuzz from crates.io if missing
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

SO="$ROOT/target/release/libinventory_sync.so"
DEMO_DIR="$ROOT/.demo"
OUT_DIR="$ROOT/tests/output"

# Debian 12 packages. php8.2-fpm and nginx are listed so that WordPress's "web server + PHP
# module" dependencies are met without pulling in Apache's PHP module, and for load tests.
APT_PACKAGES=(
  php8.2-cli php8.2-dev php8.2-fpm php8.2-mysql php8.2-curl php8.2-mbstring php8.2-xml
  php8.2-zip php8.2-intl php8.2-gd php8.2-sqlite3 clang libclang-dev pkg-config
  mariadb-server mariadb-client wordpress phpunit chromium nginx redis-server php8.2-redis
  zip unzip curl ca-certificates openssl git gettext
)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[31mFAILED: %s\033[0m\n' "$*" >&2; exit 1; }

version() { sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1; }

# ---------------------------------------------------------------------------------------------
# deps
# ---------------------------------------------------------------------------------------------
missing_packages() {
  local pkg missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
  echo "${missing[@]:-}"
}

cmd_deps() {
  local missing
  missing="$(missing_packages)"
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
      say "installing Debian packages: $missing"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -q
      # shellcheck disable=SC2086
      apt-get install -y -q --no-install-recommends $missing
    else
      echo "Missing Debian packages. Install them with:"
      echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends $missing"
      exit 1
    fi
  else
    say "Debian packages: all present"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "Rust is missing. Install it with rustup (https://rustup.rs), then run this again:"
    echo "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt"
    exit 1
  fi
  if ! cargo clippy --version >/dev/null 2>&1 || ! cargo fmt --version >/dev/null 2>&1; then
    say "adding rustup components clippy and rustfmt"
    rustup component add clippy rustfmt
  fi
  browser_driver
}

# playwright-core (pinned in tests/browser/package-lock.json) drives Debian's Chromium.
browser_driver() {
  if [ ! -d tests/browser/node_modules/playwright-core ]; then
    say "installing the browser driver (npm ci in tests/browser)"
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

require_tools() {
  local tool
  for tool in php phpunit mariadb-install-db mariadb chromium node cargo clang xgettext; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed: run ./build.sh deps (as root) first"
  done
  [ -d /usr/share/wordpress ] || die "Debian's wordpress package is not installed: run ./build.sh deps"
}

# ---------------------------------------------------------------------------------------------
# pot: the translation template
# ---------------------------------------------------------------------------------------------
# WordPress's gettext functions as xgettext keywords (what `wp i18n make-pot` looks for; WP-CLI
# is not installable here). The creation date and line numbers are left out (file names stay), so
# the file only changes with the strings.
POT="php-plugin/languages/inventory-sync.pot"
pot_to() { # write the template to $1
  local files
  files="$(cd php-plugin && find . -name '*.php' -not -path './stubs/*' | LC_ALL=C sort)"
  (cd php-plugin && xgettext --language=PHP --from-code=UTF-8 --add-comments=translators: --add-location=file \
    --sort-by-file --package-name="Inventory Sync" --package-version="$(cd .. && version)" \
    -k -k__ -k_e -k_x:1,2c -k_ex:1,2c -k_n:1,2 -k_nx:1,2,4c -k_n_noop:1,2 -k_nx_noop:1,2,3c \
    -kesc_html__ -kesc_html_e -kesc_html_x:1,2c -kesc_attr__ -kesc_attr_e -kesc_attr_x:1,2c \
    --output=- $files) | sed '/^"POT-Creation-Date: /d; s/charset=CHARSET/charset=UTF-8/' > "$1"
}

cmd_pot() {
  mkdir -p "$(dirname "$POT")"
  pot_to "$POT"
  say "$POT: $(grep -c '^msgid "' "$POT") strings"
}

# Fails when the committed template is not what the strings in the code give.
check_pot() {
  local fresh
  fresh="$(mktemp)"
  pot_to "$fresh"
  if ! diff -q "$fresh" "$POT" >/dev/null 2>&1; then
    diff -u "$POT" "$fresh" | head -20 >&2 || true
    rm -f "$fresh"
    die "$POT is out of date: run ./build.sh pot and commit it"
  fi
  rm -f "$fresh"
  say "$POT is current ($(grep -c '^msgid "' "$POT") strings)"
}

# ---------------------------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------------------------
build_extension() {
  say "cargo build --release"
  cargo build --release --locked
  [ -f "$SO" ] || die "$SO was not produced"
}

build_fakes() { # the fake channel servers the end-to-end tests and the demo start
  say "cargo build --release --example fake_channels"
  cargo build --release --locked --example fake_channels
}

cmd_build() {
  build_extension
  check_pot
  local v dist stage
  v="$(version)"
  dist="$ROOT/dist"
  stage="$dist/inventory-sync"
  rm -rf "$dist"
  mkdir -p "$stage"
  cp -r php-plugin/. "$stage/"
  cp "$SO" "$dist/libinventory_sync-$v-php8.2-$(uname -m).so"
  cat > "$dist/INSTALL.txt" <<EOF
Inventory Sync $v

1. Copy the extension somewhere PHP can read it, for example
     cp libinventory_sync-$v-php8.2-$(uname -m).so /usr/lib/php/20220829/libinventory_sync.so
   and load it in every PHP that runs WordPress (php-fpm and the CLI used for WP-Cron):
     echo 'extension=libinventory_sync.so' > /etc/php/8.2/mods-available/inventory_sync.ini
     phpenmod inventory_sync && systemctl reload php8.2-fpm
   Check with: php -m | grep inventory_sync

2. Install the plugin: wp-admin → Plugins → Add New → Upload Plugin →
   inventory-sync-$v.zip, then Activate. Without the extension the plugin shows a notice and
   stays inactive; nothing else breaks.

3. Open wp-admin → Inventory Sync. See README.md for configuration constants and system cron.
EOF
  (cd "$dist" && zip -qr "inventory-sync-$v.zip" inventory-sync && rm -rf inventory-sync)
  say "dist/: $(cd "$dist" && ls | tr '\n' ' ')"
}

# ---------------------------------------------------------------------------------------------
# test
# ---------------------------------------------------------------------------------------------
PASSED=0
FAILED=0

count_cargo() { # sums "test result: ok. N passed; M failed" lines
  local p f
  p=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$1" | awk '{s+=$4} END {print s+0}')
  f=$(grep -Eo '[0-9]+ failed;' "$1" | awk '{s+=$1} END {print s+0}')
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
  echo "   rust: $p passed, $f failed"
}

count_phpunit() { # "OK (N tests, …)" or "Tests: N, Assertions: A, Failures: F, Errors: E"
  local line n f e
  line=$(grep -E '^OK \(|^Tests: ' "$1" | tail -n 1)
  if [[ "$line" =~ ^OK\ \(([0-9]+)\ test ]]; then
    n=${BASH_REMATCH[1]}; f=0
  else
    n=$(sed -n 's/^Tests: \([0-9]*\).*/\1/p' <<<"$line"); n=${n:-0}
    f=$(sed -n 's/.*Failures: \([0-9]*\).*/\1/p' <<<"$line"); f=${f:-0}
    e=$(sed -n 's/.*Errors: \([0-9]*\).*/\1/p' <<<"$line"); f=$((f + ${e:-0}))
  fi
  PASSED=$((PASSED + n - f)); FAILED=$((FAILED + f))
  echo "   $2: $((n - f)) passed, $f failed"
}

# A private MariaDB for `cargo test`: the MariaDB store tests connect to it through
# INVENTORY_SYNC_TEST_MYSQL, and INVENTORY_SYNC_REQUIRE_MARIADB=1 makes them fail rather than skip
# when it is missing. A fresh data directory under target/, a unix socket, no TCP port; the server
# runs in its own process group, recorded in a file, and is stopped by it. (The PHP suites start
# their own servers: tests/harness/MariaDb.php.)
TEST_MARIADB_DIR="$ROOT/target/test-mariadb"

mariadb_server() {
  local path
  for path in /usr/sbin/mariadbd /usr/sbin/mysqld; do
    [ -x "$path" ] && { echo "$path"; return 0; }
  done
  die "mariadbd not found: run ./build.sh deps"
}

stop_test_mariadb() {
  local pgid
  [ -f "$TEST_MARIADB_DIR/pgid" ] || return 0
  pgid="$(cat "$TEST_MARIADB_DIR/pgid")"
  if [ -n "$pgid" ]; then
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for _ in $(seq 1 200); do
      kill -0 -- "-$pgid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pgid" 2>/dev/null || true
  fi
  rm -f "$TEST_MARIADB_DIR/pgid"
  if [ -f "$TEST_MARIADB_DIR/socket-dir" ]; then
    rm -rf "$(cat "$TEST_MARIADB_DIR/socket-dir")"
    rm -f "$TEST_MARIADB_DIR/socket-dir"
  fi
}

start_test_mariadb() {
  local dir="$TEST_MARIADB_DIR" server socket pid
  server="$(mariadb_server)"
  stop_test_mariadb # one left behind by an interrupted run
  rm -rf "$dir"
  mkdir -p "$dir/data"
  socket="$dir/mysqld.sock"
  if [ "${#socket}" -gt 100 ]; then # sun_path holds 108 bytes
    mktemp -d /tmp/inventory-sync-mariadb.XXXXXX > "$dir/socket-dir"
    socket="$(cat "$dir/socket-dir")/mysqld.sock"
  fi
  mariadb-install-db --no-defaults --user=root --datadir="$dir/data" \
    --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 \
    || { cat "$dir/install.log" >&2; die "mariadb-install-db (log: $dir/install.log)"; }
  # Not a process group leader (no job control here), so setsid makes the server one. Each test
  # creates a database and the whole schema: without a file (and its fsyncs) per table and without
  # the doublewrite buffer that takes about half as long (40-60 ms instead of 100-250 ms on an idle
  # 2-core machine). Crash safety is not needed.
  setsid "$server" --no-defaults --user=root --datadir="$dir/data" --socket="$socket" \
    --skip-networking --pid-file="$dir/mariadb.pid" --skip-log-bin --innodb-buffer-pool-size=64M \
    --innodb-flush-log-at-trx-commit=2 --innodb-file-per-table=0 --skip-innodb-doublewrite \
    --max-connections=200 >"$dir/mariadb.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" > "$dir/pgid"
  for _ in $(seq 1 300); do
    mariadb --no-defaults --user=root --socket="$socket" -e 'SELECT 1' >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir/mariadb.log" >&2; die "mariadbd exited (log: $dir/mariadb.log)"; }
    sleep 0.1
  done
  mariadb --no-defaults --user=root --socket="$socket" -e 'SELECT 1' >/dev/null 2>&1 \
    || { stop_test_mariadb; die "mariadbd did not answer within 30 s (log: $dir/mariadb.log)"; }
  export INVENTORY_SYNC_TEST_MYSQL="mysql://root@localhost/?socket=$socket"
  export INVENTORY_SYNC_REQUIRE_MARIADB=1
}

# with_test_mariadb <command…>: runs the command with the test MariaDB up, then stops it (also
# when the command fails or the run is interrupted).
with_test_mariadb() {
  (
    trap stop_test_mariadb EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    start_test_mariadb
    say "test MariaDB: $INVENTORY_SYNC_TEST_MYSQL"
    "$@"
  )
}

run_logged() { # run_logged <log> <description> <command…>: shows output, keeps a copy
  local log="$1" what="$2"
  shift 2
  say "$what"
  if ! "$@" 2>&1 | tee "$log"; then
    die "$what (log: $log)"
  fi
}

phpunit_suite() {
  local suite="$1"
  run_logged "$OUT_DIR/phpunit-$suite.log" "PHPUnit: $suite suite (extension loaded from target/release)" \
    php -d extension="$SO" -d zend.assertions=1 /usr/bin/phpunit -c tests/phpunit.xml --testsuite "$suite"
  count_phpunit "$OUT_DIR/phpunit-$suite.log" "php/$suite"
}

cmd_test() {
  require_tools
  browser_driver
  mkdir -p "$OUT_DIR"
  local started=$SECONDS

  say "cargo fmt --check"
  cargo fmt --all -- --check || die "rustfmt: run cargo fmt"
  check_pot

  run_logged "$OUT_DIR/clippy.log" "cargo clippy -D warnings" \
    cargo clippy --locked --all-targets -- -D warnings

  run_logged "$OUT_DIR/cargo-test.log" "cargo test (Rust unit and integration tests)" \
    with_test_mariadb cargo test --locked
  count_cargo "$OUT_DIR/cargo-test.log"

  build_extension
  build_fakes
  phpunit_suite extension
  phpunit_suite wordpress

  say "done in $((SECONDS - started)) s; screenshots in tests/output/screenshots/"
  echo "summary: $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ] || exit 1
}

# ---------------------------------------------------------------------------------------------
# bench
# ---------------------------------------------------------------------------------------------
cmd_bench() {
  build_extension
  build_fakes
  say "cargo build --release --example bench_sync --example sync_floor"
  cargo build --release --locked --example bench_sync --example sync_floor
  say "benchmarks (bench/run.php; results in target/bench/)"
  php -d extension="$SO" bench/run.php --extension="$SO"
}

# ---------------------------------------------------------------------------------------------
# fuzz
# ---------------------------------------------------------------------------------------------
# cargo-fuzz passes flags only nightly rustc accepts (-Zsanitizer=address, sancov passes). This
# machine has the one stable toolchain, whose rust-std ships the sanitizer runtimes, so
# RUSTC_BOOTSTRAP=1 lets it take those flags. The corpus (fuzz/corpus/<target>) is kept between
# runs; a crash leaves its input in fuzz/artifacts/<target>/ and fails the command.
cmd_fuzz() {
  local seconds="${1:-60}" target log stats execs rate failed=()
  [[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "fuzz: seconds must be a positive integer, got '$seconds'"
  command -v cargo >/dev/null 2>&1 || die "cargo is not installed: run ./build.sh deps"
  if ! cargo fuzz --version >/dev/null 2>&1; then
    say "installing cargo-fuzz (cargo install cargo-fuzz --locked)"
    cargo install cargo-fuzz --locked
  fi
  export RUSTC_BOOTSTRAP=1
  mkdir -p "$OUT_DIR"
  say "cargo fuzz build (fuzz/)"
  cargo fuzz build
  for target in $(cargo fuzz list); do
    log="$OUT_DIR/fuzz-$target.log"
    say "fuzz $target for ${seconds} s (log: $log)"
    if cargo fuzz run "$target" -- -max_total_time="$seconds" -dict="$ROOT/fuzz/signatures.dict" \
      -print_final_stats=1 >"$log" 2>&1; then
      stats=$(sed -n 's/^stat::number_of_executed_units: *//p; s/^stat::average_exec_per_sec: *//p' "$log" | paste -sd ' ')
      read -r execs rate <<<"$stats"
      echo "   $target: ${execs:-?} inputs (${rate:-?}/s), no panic"
    else
      tail -n 30 "$log"
      failed+=("$target")
    fi
  done
  [ "${#failed[@]}" -eq 0 ] || die "fuzz: ${failed[*]} (inputs in fuzz/artifacts/, logs in $OUT_DIR)"
}

# ---------------------------------------------------------------------------------------------
# demo / stop
# ---------------------------------------------------------------------------------------------
cmd_stop() {
  local pgid
  if [ ! -f "$DEMO_DIR/pgids" ]; then
    echo "no demo is running"
    return 0
  fi
  while read -r pgid; do
    [ -n "$pgid" ] || continue
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 -- "-$pgid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pgid" 2>/dev/null || true
  done < "$DEMO_DIR/pgids"
  rm -f "$DEMO_DIR/pgids"
  say "demo stopped"
}

cmd_demo() {
  require_tools
  cmd_stop >/dev/null
  build_extension
  build_fakes
  say "starting the demo store"
  php -d extension="$SO" tests/harness/bin/demo.php "$DEMO_DIR"
}

usage() { # the comment block at the top of this file
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

case "${1:-}" in
  deps) cmd_deps ;;
  build) require_tools; cmd_build ;;
  test) cmd_test ;;
  with-mariadb) shift; [ "$#" -gt 0 ] || die "with-mariadb: name a command"; with_test_mariadb "$@" ;;
  bench) cmd_bench ;;
  pot) cmd_pot ;;
  demo) cmd_demo ;;
  stop) cmd_stop ;;
  fuzz) shift; cmd_fuzz "$@" ;;
  ""|-h|--help|help) usage ;;
  *) usage; exit 2 ;;
esac
