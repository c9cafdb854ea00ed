<?php
/**
 * Outbound sync: a full sync (plan every SKU, then run the queue until it is empty) of 20,000
 * SKUs to each channel kind's loopback fake, through the production adapter factory and the
 * queue runner, and the runner against a channel rate limit that the fake enforces. The work is
 * done by the compiled example examples/bench_sync.rs (target/release/examples/bench_sync, built
 * by ./build.sh bench); this program runs it, passes its output through and reports its
 * figures like every other benchmark.
 *
 *   php bench/sync.php [--json=PATH] [--runs=N] [bench_sync's options: --skus=N, --rate=R, …]
 *
 * Per channel kind: SKUs pushed per second in the first full sync (remote ids looked up) and in
 * an update of every SKU (remote ids known), against the same engine with batch size 1; the HTTP
 * write calls against the minimum ceil(SKUs / batch). Rate-limited: the calls per second achieved
 * over the span of the admitted calls against the limit, and the 429s answered. The example
 * checks every remote quantity against its allocation after every pass and exits 1 if any
 * disagrees or any job is left open or dead; so does this program.
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

require __DIR__ . '/lib/bench.php';

$root = dirname(__DIR__);
$binary = "$root/target/release/examples/bench_sync";
if (!is_file($binary)) {
    fwrite(STDERR, "$binary is missing: build it with cargo build --release --example bench_sync (./build.sh bench does)\n");
    exit(2);
}
$stale = newer_sources($root, filemtime($binary));
if ($stale !== []) {
    fwrite(STDERR, "$binary is older than " . implode(', ', array_slice($stale, 0, 3)) . ": rebuild it with cargo build --release --example bench_sync (./build.sh bench does)\n");
    exit(2);
}

$runs = 1;
$options = [];
foreach (array_slice($argv, 1) as $arg) {
    if (str_starts_with($arg, '--runs=')) {
        $runs = max(1, (int) substr($arg, 7));
    } elseif (!str_starts_with($arg, '--json=')) {
        // Everything else goes to bench_sync as it is (--skus=2000 for a quick run; bench_sync --help).
        $options[] = $arg;
    }
}

$report = new Report('sync');
$dir = temp_dir('sync');
$results = [];
for ($run = 1; $run <= $runs; $run++) {
    $json = "$dir/figures-$run.json";
    $code = run_child([$binary, ...$options, "--json=$json"]);
    $result = is_file($json) ? json_decode((string) file_get_contents($json), true) : null;
    if ($code === 1) {
        disagree('bench_sync found quantities or jobs that are not what they should be (above)');
    }
    if ($code !== 0 || !is_array($result)) {
        fwrite(STDERR, "bench_sync could not run (exit $code)\n");
        exit(2);
    }
    $results[] = $result;
}
foreach ($results[0]['notes'] as $note) {
    $report->note($note);
}
$report->note(sprintf('bench_sync run %d time(s); each figure is the median over the runs', $runs));

$target = ['kind' => 'value', 'min' => 5000.0, 'text' => '≥ 5,000 SKUs/s'];
foreach ($results[0]['channels'] as $c => $channel) {
    $field = static fn (string $name, string $key): callable => static fn (array $result): float => (float) pass_of($result, $c, $name)[$key];
    [$update, $unbatched] = [pass_of($results[0], $c, 'update'), pass_of($results[0], $c, 'unbatched')];
    $baseline = sprintf('batch size 1 (%s SKUs)', number_format($unbatched['skus']));
    foreach (['first' => 'first full sync', 'update' => 'update'] as $name => $what) {
        $report->figure(
            sprintf('sync %s: %s of %s SKUs (batch %d), SKUs/s', $channel['kind'], $what, number_format($update['skus']), $update['batch']),
            'SKUs/s',
            'higher',
            each_run($results, $field($name, 'per_second')),
            $baseline,
            each_run($results, $field('unbatched', 'per_second')),
            $target,
            [
                'seconds (plan + queue)' => median(each_run($results, $field($name, 'seconds'))),
                'seconds planning' => median(each_run($results, $field($name, 'plan_seconds'))),
                'queue runs' => median(each_run($results, $field($name, 'queue_runs'))),
                'other HTTP calls (look-ups, tokens)' => median(each_run($results, $field($name, 'other_calls'))),
            ]
        );
    }
    $report->figure(
        sprintf('sync %s: HTTP write calls for %s SKUs (update)', $channel['kind'], number_format($update['skus'])),
        'calls',
        'lower',
        each_run($results, $field('update', 'write_calls')),
        sprintf('minimum ceil(%s / %d)', number_format($update['skus']), $update['batch']),
        each_run($results, $field('update', 'minimum_calls')),
        ['kind' => 'ratio', 'min' => 1.0, 'text' => '= the minimum'],
        [
            'write calls, first full sync' => median(each_run($results, $field('first', 'write_calls'))),
            'other calls, first full sync (look-ups, tokens)' => median(each_run($results, $field('first', 'other_calls'))),
            'other calls, update (tokens)' => median(each_run($results, $field('update', 'other_calls'))),
            'calls the runner counted, first full sync' => median(each_run($results, $field('first', 'runner_calls'))),
            'calls the runner counted, update' => median(each_run($results, $field('update', 'runner_calls'))),
        ]
    );
}

foreach ($results[0]['rate_limited'] as $l => $limited) {
    $field = static fn (string $key): callable => static fn (array $result): float => (float) $result['rate_limited'][$l][$key];
    $report->figure(
        sprintf(
            'sync %s at %s requests/s, burst %d (fake %s: burst %d), achieved calls/s',
            $limited['kind'],
            number($limited['rate']),
            $limited['burst'],
            $limited['scenario'],
            $limited['fake_burst']
        ),
        'calls/s',
        'higher',
        each_run($results, $field('achieved_per_second')),
        'the channel\'s limit',
        each_run($results, $field('rate')),
        // The strict fake shows what 429s cost; the target is for a fake that allows for jitter.
        $limited['scenario'] === 'strict' ? null : ['kind' => 'ratio', 'min' => 0.95, 'text' => '≥ 95 % of the limit'],
        [
            '% of the limit' => 100 * median(each_run($results, $field('fraction'))),
            '429s answered (Retry-After), all retried' => median(each_run($results, $field('refused_429'))),
            'jobs retried after a 429' => median(each_run($results, $field('jobs_retried'))),
            'jobs left open or dead' => max(each_run($results, static fn (array $r): float => $r['rate_limited'][$l]['open_after'] + $r['rate_limited'][$l]['dead_after'])),
            'calls admitted' => median(each_run($results, $field('admitted'))),
            'SKUs' => $limited['skus'],
            'seconds, plan to empty queue' => median(each_run($results, $field('wall_seconds'))),
        ]
    );
}
$report->finish();

/**
 * One number of every run: `$pick` reads it from a run's results.
 *
 * @param list<array<string, mixed>> $results
 * @return list<float>
 */
function each_run(array $results, callable $pick): array
{
    return array_map(static fn (array $result): float => (float) $pick($result), $results);
}

/**
 * The figures of one pass ('first', 'update', 'unbatched') of channel number `$c` in a run.
 *
 * @param array<string, mixed> $result
 * @return array<string, mixed>
 */
function pass_of(array $result, int $c, string $name): array
{
    return array_column($result['channels'][$c]['passes'], null, 'pass')[$name];
}

/**
 * The sources of bench_sync changed after it was built (the engine, the fakes, the example).
 *
 * @return list<string>
 */
function newer_sources(string $root, int $built): array
{
    $newer = [];
    foreach (['src', 'tests/fakes', 'examples/bench_sync.rs', 'Cargo.toml', 'Cargo.lock'] as $path) {
        $files = is_dir("$root/$path")
            ? new \RecursiveIteratorIterator(new \RecursiveDirectoryIterator("$root/$path", \FilesystemIterator::SKIP_DOTS))
            : [new \SplFileInfo("$root/$path")];
        foreach ($files as $file) {
            if ($file->isFile() && $file->getMTime() > $built) {
                $newer[] = substr($file->getPathname(), strlen($root) + 1);
            }
        }
    }
    return $newer;
}
