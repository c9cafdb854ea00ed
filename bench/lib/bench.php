<?php
/**
 * What every benchmark program shares: timing, medians, the figures it reports and how it prints
 * and hands them to bench/run.php.
 *
 * A benchmark prints figures; it never fails on time. It exits non-zero only when the thing it
 * measures and its baseline disagree about the result (or it cannot run at all).
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

/**
 * Stops with a clear message when the extension is not loaded.
 */
function require_extension(): void
{
    if (!extension_loaded('inventory_sync')) {
        fwrite(STDERR, "The inventory_sync extension is not loaded. Run the benchmarks with ./build.sh bench\n"
            . '(or php -d extension=target/release/libinventory_sync.so ' . ($_SERVER['argv'][0] ?? 'bench/…') . ").\n");
        exit(2);
    }
}

/**
 * Stops with exit code 1: the measured code and its baseline disagree.
 */
function disagree(string $what): never
{
    fwrite(STDERR, "RESULTS DISAGREE: $what\n");
    exit(1);
}

/**
 * Seconds since an arbitrary point, monotonic.
 */
function now(): float
{
    return hrtime(true) / 1e9;
}

/**
 * The median of a non-empty list.
 *
 * @param list<float|int> $values
 */
function median(array $values): float
{
    sort($values);
    $n = count($values);
    $mid = intdiv($n, 2);
    return $n % 2 === 1 ? (float) $values[$mid] : ($values[$mid - 1] + $values[$mid]) / 2;
}

/**
 * The value at percentile $p (0–100) of a non-empty list, nearest rank.
 *
 * @param list<float|int> $values
 */
function percentile(array $values, float $p): float
{
    sort($values);
    $rank = (int) ceil($p / 100 * count($values));
    return (float) $values[max(0, min(count($values) - 1, $rank - 1))];
}

/**
 * A temporary directory for a benchmark's files, removed (with its files) at exit.
 */
function temp_dir(string $name): string
{
    $dir = sys_get_temp_dir() . "/inventory-sync-bench-$name-" . getmypid() . '-' . bin2hex(random_bytes(3));
    if (!mkdir($dir, 0700)) {
        fwrite(STDERR, "cannot create $dir\n");
        exit(2);
    }
    register_shutdown_function(static function () use ($dir): void {
        foreach (glob($dir . '/{,.}*', GLOB_BRACE) ?: [] as $file) {
            if (is_file($file)) {
                unlink($file);
            }
        }
        rmdir($dir);
    });
    return $dir;
}

/**
 * The SQLite settings the ledger opens its file with, read from src/ledger/sqlite.rs so that
 * what is printed is what the code does.
 *
 * @return array{journal_mode: string, synchronous: string, busy_timeout: string}
 */
function ledger_sqlite_settings(): array
{
    $source = (string) @file_get_contents(dirname(__DIR__, 2) . '/src/ledger/sqlite.rs');
    $pragma = static fn (string $name): string => preg_match('/pragma_update(?:_and_check)?\(\s*None,\s*"' . $name . '",\s*"([A-Za-z]+)"/', $source, $m) === 1
        ? strtoupper($m[1])
        : 'unknown';
    $timeout = 'unknown';
    if (preg_match('/busy_timeout:\s*Duration::from_(secs|millis)\((\d+)\)/', $source, $m) === 1) {
        $timeout = $m[1] === 'secs' ? ($m[2] * 1000) . ' ms' : $m[2] . ' ms';
    }
    return ['journal_mode' => $pragma('journal_mode'), 'synchronous' => $pragma('synchronous'), 'busy_timeout' => $timeout];
}

/**
 * The figures of one benchmark program: printed as they come, and written as JSON for
 * bench/run.php when the program was started with --json=PATH.
 */
final class Report
{
    /** @var list<array<string, mixed>> */
    private array $figures = [];

    /** @var list<string> */
    private array $notes = [];

    public function __construct(private readonly string $bench)
    {
        echo "== $bench ==\n";
    }

    /**
     * Something worth knowing next to the figures (setup, settings, context).
     */
    public function note(string $line): void
    {
        $this->notes[] = $line;
        echo "   $line\n";
    }

    /**
     * One figure and its baseline, measured in the same run.
     *
     * @param string $better 'lower' (times) or 'higher' (rates): decides how the ratio is taken,
     *                       so that a ratio above 1 always means better than the baseline.
     * @param list<float> $runs every run's value (median and spread come from them)
     * @param list<float> $baselineRuns every run's baseline value
     * @param array{kind: 'ratio'|'value', min?: float, max?: float, text: string}|null $target
     *        met when the ratio (or the value) is at least min, or at most max
     * @param array<string, float> $extra further numbers (p95 …), reported as they are
     */
    public function figure(
        string $name,
        string $unit,
        string $better,
        array $runs,
        string $baselineName,
        array $baselineRuns,
        ?array $target,
        array $extra = []
    ): void {
        $value = median($runs);
        $baseline = median($baselineRuns);
        $ratio = $better === 'lower' ? $baseline / max($value, PHP_FLOAT_MIN) : $value / max($baseline, PHP_FLOAT_MIN);
        $met = null;
        if ($target !== null) {
            $measured = $target['kind'] === 'ratio' ? $ratio : $value;
            $met = isset($target['max']) ? $measured <= $target['max'] : $measured >= $target['min'];
        }
        $figure = [
            'figure' => $name,
            'unit' => $unit,
            'value' => $value,
            'min' => min($runs),
            'max' => max($runs),
            'runs' => count($runs),
            'baseline' => $baseline,
            'baseline_min' => min($baselineRuns),
            'baseline_max' => max($baselineRuns),
            'baseline_runs' => count($baselineRuns),
            'baseline_name' => $baselineName,
            'ratio' => $ratio,
            'target' => $target['text'] ?? '—',
            'met' => $met,
            'extra' => $extra,
        ];
        $this->figures[] = $figure;
        printf(
            "   %s: %s %s (median of %d, %s–%s)\n     baseline, %s: %s %s (median of %d, %s–%s)\n     ratio %.1f× %s; target %s%s\n",
            $name,
            number($value),
            $unit,
            count($runs),
            number(min($runs)),
            number(max($runs)),
            $baselineName,
            number($baseline),
            $unit,
            count($baselineRuns),
            number(min($baselineRuns)),
            number(max($baselineRuns)),
            $ratio,
            $better === 'lower' ? '(baseline time ÷ ours)' : '(ours ÷ baseline)',
            $target['text'] ?? '—',
            $met === null ? '' : ($met ? ' — met' : ' — NOT met')
        );
        foreach ($extra as $label => $number) {
            printf("     %s: %s\n", $label, number($number));
        }
    }

    /**
     * Writes the figures as JSON when --json=PATH was given.
     */
    public function finish(): void
    {
        foreach ($_SERVER['argv'] ?? [] as $arg) {
            if (str_starts_with($arg, '--json=')) {
                $json = json_encode(['bench' => $this->bench, 'figures' => $this->figures, 'notes' => $this->notes], JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
                file_put_contents(substr($arg, 7), $json . "\n");
            }
        }
    }
}

/**
 * A number as the reports show it: thousands separated, at most three significant decimals.
 */
function number(float $n): string
{
    $abs = abs($n);
    $decimals = $abs >= 100 ? 0 : ($abs >= 10 ? 1 : ($abs >= 1 ? 2 : 3));
    return number_format($n, $decimals, '.', ',');
}

/**
 * Runs a command, passing its output (stdout and stderr, in order) through line by line, and
 * waits for it. Returns its exit code.
 *
 * @param list<string> $command
 */
function run_child(array $command): int
{
    $process = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['redirect', 1]], $pipes);
    if (!is_resource($process)) {
        return 127;
    }
    while (($line = fgets($pipes[1])) !== false) {
        echo $line;
    }
    fclose($pipes[1]);
    return proc_close($process);
}

/** The extension file this process loaded (bench/run.php passes it with -d extension=), for child processes. */
function extension_path(): string
{
    $from = getenv('INVENTORY_SYNC_EXTENSION');
    if (is_string($from) && $from !== '') {
        return $from;
    }
    return dirname(__DIR__, 2) . '/target/release/libinventory_sync.so';
}

/**
 * Times `$read` once per SKU, in order: microseconds per call.
 *
 * @param list<string> $skus
 * @return list<float>
 */
function time_each(array $skus, callable $read): array
{
    $times = [];
    foreach ($skus as $sku) {
        $t = hrtime(true);
        $read($sku);
        $times[] = (hrtime(true) - $t) / 1000;
    }
    return $times;
}

/**
 * Adds what $movements (receipts and sales, each with sku, location, quantity) do to on hand
 * per SKU and location: what a ledger must hold after recording them.
 *
 * @param array<string, array<string, int>> $expected
 * @param list<array<string, mixed>> $movements
 */
function expect(array &$expected, array $movements): void
{
    foreach ($movements as $m) {
        $delta = $m['kind'] === 'sale' ? -$m['quantity'] : $m['quantity'];
        $expected[$m['sku']][$m['location']] = ($expected[$m['sku']][$m['location']] ?? 0) + $delta;
    }
}
