<?php
/**
 * Runs every benchmark program, each in its own PHP process with the extension loaded, prints
 * one table of their figures and writes it to target/bench/results.json and results.md.
 *
 *   ./build.sh bench
 *   php -d extension=target/release/libinventory_sync.so bench/run.php [--extension=PATH] [--readme]
 *
 * --readme also rewrites the README's Performance section (between the performance:start and
 * performance:end markers) from this run: the machine, the date, the commit and the table.
 *
 * The children get the extension from --extension, else $INVENTORY_SYNC_SO, else
 * target/release/libinventory_sync.so, and so does the WordPress site bench/webhook.php starts
 * (through $INVENTORY_SYNC_EXTENSION, which the test harness reads). bench/sync.php runs the
 * compiled example target/release/examples/bench_sync, which ./build.sh bench builds. Exits 1 if
 * any benchmark found that its results and its baseline's disagree (or could not run); never
 * because of a time.
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

require __DIR__ . '/lib/bench.php';

require_extension();

const PROGRAMS = ['allocation.php', 'movements.php', 'backends.php', 'stock-read.php', 'cache.php', 'signature.php', 'webhook.php', 'load-webhook.php', 'load-stock.php', 'sync.php', 'full-sync.php', 'order.php', 'scaling.php'];

$root = dirname(__DIR__);
$so = getenv('INVENTORY_SYNC_SO') ?: "$root/target/release/libinventory_sync.so";
foreach ($argv as $arg) {
    if (str_starts_with($arg, '--extension=')) {
        $so = substr($arg, 12);
    }
}
if (!is_file($so)) {
    fwrite(STDERR, "extension not found: $so (build it with cargo build --release, or pass --extension=PATH)\n");
    exit(2);
}
// bench/webhook.php's site loads the same build (tests/harness/Paths.php reads this).
putenv('INVENTORY_SYNC_EXTENSION=' . realpath($so));
$out = "$root/target/bench";
if (!is_dir($out) && !mkdir($out, 0777, true)) {
    fwrite(STDERR, "cannot create $out\n");
    exit(2);
}

$started = now();
$loadBefore = sys_getloadavg() ?: [];
$figures = [];
$notes = [];
$failed = [];
foreach (PROGRAMS as $program) {
    $json = tempnam(sys_get_temp_dir(), 'inventory-sync-bench-');
    $t = now();
    $code = run_child([PHP_BINARY, '-d', "extension=$so", __DIR__ . "/$program", "--json=$json"]);
    $result = json_decode((string) file_get_contents($json), true);
    unlink($json);
    printf("   (%s: %.1f s, exit %d)\n\n", $program, now() - $t, $code);
    if ($code !== 0 || !is_array($result)) {
        $failed[] = "$program (exit $code)";
        continue;
    }
    $notes[$result['bench']] = $result['notes'];
    foreach ($result['figures'] as $figure) {
        $figures[] = ['bench' => $result['bench']] + $figure;
    }
}

$rows = [['figure', 'unit', 'value', 'baseline', 'ratio', 'target']];
foreach ($figures as $f) {
    $rows[] = [
        $f['figure'],
        $f['unit'],
        sprintf('%s (%s–%s)', number($f['value']), number($f['min']), number($f['max'])),
        sprintf('%s (%s)', number($f['baseline']), $f['baseline_name']),
        sprintf('%.1f×', $f['ratio']),
        $f['target'] . ($f['met'] === null ? '' : ($f['met'] ? ' met' : ' NOT met')),
    ];
}
echo table($rows);
printf("\n%d figures in %.0f s. Values are medians (min–max over the runs); ratio > 1 = better than the baseline.\n", count($figures), now() - $started);

$meta = [
    'date' => gmdate('Y-m-d\TH:i:s\Z'),
    'php' => PHP_VERSION,
    'extension' => phpversion('inventory_sync'),
    'machine' => php_uname('m') . ', ' . cpu_count() . ' CPUs, ' . php_uname('s') . ' ' . php_uname('r'),
    'cpu' => cpu_model(),
    'memory' => memory_total(),
    'commit' => trim((string) shell_exec('git -C ' . escapeshellarg($root) . ' rev-parse --short HEAD 2>/dev/null')),
    'load_before' => $loadBefore,
    'load_after' => sys_getloadavg() ?: [],
    'seconds' => round(now() - $started, 1),
];
file_put_contents("$out/results.json", json_encode($meta + ['figures' => $figures, 'notes' => $notes, 'failed' => $failed], JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES) . "\n");
file_put_contents("$out/results.md", markdown($meta, $rows, $figures, $notes, $failed));
echo "Written: target/bench/results.json, target/bench/results.md\n";
if (in_array('--readme', $argv, true)) {
    if ($failed !== []) {
        fwrite(STDERR, "The README was left as it is: some benchmarks failed.\n");
    } else {
        write_readme("$root/README.md", $meta, $figures);
        echo "Written: README.md (Performance)\n";
    }
}

if ($failed !== []) {
    fwrite(STDERR, 'FAILED (results disagree or the program could not run): ' . implode(', ', $failed) . "\n");
    exit(1);
}

/**
 * A plain-text table with aligned columns.
 *
 * @param list<list<string>> $rows
 */
function table(array $rows): string
{
    $widths = [];
    foreach ($rows as $row) {
        foreach ($row as $i => $cell) {
            $widths[$i] = max($widths[$i] ?? 0, mb_strlen($cell));
        }
    }
    $text = '';
    foreach ($rows as $n => $row) {
        $cells = [];
        foreach ($row as $i => $cell) {
            $cells[] = $cell . str_repeat(' ', $widths[$i] - mb_strlen($cell));
        }
        $text .= rtrim(implode('  ', $cells)) . "\n";
        if ($n === 0) {
            $text .= implode('  ', array_map(static fn (int $w): string => str_repeat('-', $w), $widths)) . "\n";
        }
    }
    return $text;
}

/**
 * The results as Markdown: the table, each figure's further numbers, each benchmark's notes.
 *
 * @param array<string, mixed> $meta
 * @param list<list<string>> $rows
 * @param list<array<string, mixed>> $figures
 * @param array<string, list<string>> $notes per benchmark
 * @param list<string> $failed
 */
function markdown(array $meta, array $rows, array $figures, array $notes, array $failed): string
{
    $cell = static fn (string $s): string => str_replace('|', '\|', $s);
    $md = "# Inventory Sync benchmarks\n\n";
    $md .= sprintf("%s · PHP %s · extension %s · %s · %.0f s\n\n", $meta['date'], $meta['php'], $meta['extension'], $meta['machine'], $meta['seconds']);
    foreach ($rows as $n => $row) {
        $md .= '| ' . implode(' | ', array_map($cell, $row)) . " |\n";
        if ($n === 0) {
            $md .= '|' . str_repeat(' --- |', count($row)) . "\n";
        }
    }
    $md .= "\nValues are medians with the min–max over the runs; every baseline is measured in the same run. "
        . "A ratio above 1 means better than the baseline.\n";
    foreach ($figures as $f) {
        if ($f['extra'] === []) {
            continue;
        }
        $md .= "\n**{$cell($f['figure'])}**\n\n";
        foreach ($f['extra'] as $label => $value) {
            $md .= "- {$cell($label)}: " . number((float) $value) . "\n";
        }
    }
    foreach ($notes as $bench => $lines) {
        $md .= "\n**$bench** (setup and checks)\n\n";
        foreach ($lines as $line) {
            $md .= "- {$cell($line)}\n";
        }
    }
    if ($failed !== []) {
        $md .= "\n**Failed:** " . implode(', ', $failed) . "\n";
    }
    return $md;
}

/** The CPU's model name, from /proc/cpuinfo. */
function cpu_model(): string
{
    $info = (string) @file_get_contents('/proc/cpuinfo');
    return preg_match('/^model name\s*:\s*(.+)$/m', $info, $m) === 1 ? trim($m[1]) : 'unknown CPU';
}

/** The machine's memory, from /proc/meminfo. */
function memory_total(): string
{
    $info = (string) @file_get_contents('/proc/meminfo');
    return preg_match('/^MemTotal:\s*(\d+) kB/m', $info, $m) === 1 ? sprintf('%.0f GiB', $m[1] / 1048576) : 'unknown';
}

/**
 * Rewrites the part of the README between `<!-- performance:start -->` and
 * `<!-- performance:end -->` with this run's figures.
 *
 * @param array<string, mixed> $meta
 * @param list<array<string, mixed>> $figures
 */
function write_readme(string $path, array $meta, array $figures): void
{
    $readme = (string) file_get_contents($path);
    $start = '<!-- performance:start -->';
    $end = '<!-- performance:end -->';
    $from = strpos($readme, $start);
    $to = strpos($readme, $end);
    if ($from === false || $to === false || $to < $from) {
        fwrite(STDERR, "README.md has no performance markers; left as it is\n");
        return;
    }
    $cell = static fn (string $s): string => str_replace('|', '\|', $s);
    $text = sprintf(
        "\nTaken with `./build.sh bench` then `php -d extension=target/release/libinventory_sync.so bench/run.php --readme` on %s (commit %s): %s, %s, %s RAM, PHP %s; load average %s before the run, %s after. Values are medians (min–max over the runs); a ratio above 1× is better than the baseline measured in the same run. Every program also checks its results (quantities, ledgers, signatures) and fails if they disagree.\n\n",
        substr((string) $meta['date'], 0, 10),
        $meta['commit'] !== '' ? $meta['commit'] : 'unknown',
        $meta['cpu'],
        $meta['machine'],
        $meta['memory'],
        $meta['php'],
        implode(' / ', array_map(static fn (float $l): string => sprintf('%.2f', $l), $meta['load_before'])),
        implode(' / ', array_map(static fn (float $l): string => sprintf('%.2f', $l), $meta['load_after']))
    );
    $text .= "| figure | value | baseline | ratio | target |\n|---|---|---|---|---|\n";
    foreach ($figures as $f) {
        $text .= sprintf(
            "| %s | %s %s (%s–%s) | %s %s (%s) | %.1f× | %s |\n",
            $cell($f['figure']),
            number($f['value']),
            $cell($f['unit']),
            number($f['min']),
            number($f['max']),
            number($f['baseline']),
            $cell($f['unit']),
            $cell($f['baseline_name']),
            $f['ratio'],
            $cell($f['target'] . ($f['met'] === null ? '' : ($f['met'] ? ' — met' : ' — **not met**')))
        );
    }
    file_put_contents($path, substr($readme, 0, $from + strlen($start)) . "\n" . $text . "\n" . substr($readme, $to));
}

function cpu_count(): int
{
    $info = @file_get_contents('/proc/cpuinfo');
    return $info === false ? 0 : substr_count($info, "\nprocessor") + (str_starts_with($info, 'processor') ? 1 : 0);
}
