<?php
/**
 * Verifying an inbound webhook's signature from PHP: InventorySync\verify_generic() and
 * InventorySync\verify_standard_webhook() on a 1 KiB and a 1 MiB body, against plain PHP doing
 * the same check with hash_hmac() + hash_equals() (for Standard Webhooks: base64 HMAC over
 * "id.timestamp.body", as the reference PHP library does). Both must accept the valid
 * signatures and refuse a tampered body (exit 1 if not).
 *
 *   php -d extension=target/release/libinventory_sync.so bench/signature.php [--json=PATH]
 *
 * Both sides are bound by SHA-256. PHP's hash_hmac() is C too, so the ratio is the difference
 * between two SHA-256 implementations plus the call overhead: the sha2 crate uses the CPU's SHA
 * extensions on x86_64 when it finds them at run time (cpufeatures) and portable code otherwise.
 * Its `asm` feature only replaces that portable fallback on x86_64 (and turns on the SHA-2
 * instructions on aarch64); -C target-cpu=native is not an option for a shipped binary. The note
 * on the CPU says which case this run measured.
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

use InventorySync\Exception\SignatureException;
use Random\Engine\Xoshiro256StarStar;
use Random\Randomizer;

require __DIR__ . '/lib/bench.php';

require_extension();

const RUNS = 7;
/** Body size in bytes => verifications per side per run (about 0.1 s of PHP per run each). */
const SIZES = [1024 => 10_000, 1_048_576 => 20];
const GENERIC_SECRET = 'bench-generic-secret-7f3a9c2e51d04b86';
const MESSAGE_ID = 'msg_2hJ9kWbench0001';
/** A fixed clock: the Standard Webhooks window is checked against it, not against the time of the run. */
const NOW = 1_767_225_600;
const TIMESTAMP = '1767225590';

$report = new Report('signature');
$random = new Randomizer(new Xoshiro256StarStar(20_260_101));
$whsec = 'whsec_' . base64_encode($random->getBytes(32));
$bodies = [];
foreach (SIZES as $size => $_) {
    $bodies[$size] = $random->getBytes($size);
}
$report->note(sprintf(
    'bodies: %s random bytes (seeded, the same every run); generic secret of %d bytes, Standard Webhooks whsec_ secret of 32 bytes; one secret configured (no previous)',
    implode(' and ', array_map(static fn (int $size): string => size_name($size), array_keys(SIZES))),
    strlen(GENERIC_SECRET)
));
$report->note('CPU: ' . cpu_sha_note());
$report->note(sprintf(
    'baselines: hash_equals(hash_hmac(\'sha256\', $body, $secret), $header); Standard Webhooks: decode the whsec_ key, check the timestamp window, hash_equals against each v1 entry of base64(hash_hmac(\'sha256\', "$id.$timestamp.$body", $key, true)); PHP %s',
    PHP_VERSION
));

// Headers as senders make them, with PHP's own hash_hmac (never our extension signing for itself).
$generic = $standard = [];
foreach ($bodies as $size => $body) {
    $generic[$size] = hash_hmac('sha256', $body, GENERIC_SECRET);
    $standard[$size] = 'v1,' . base64_encode(hash_hmac('sha256', MESSAGE_ID . '.' . TIMESTAMP . '.' . $body, standard_key($whsec), true));
}

$extGeneric = static fn (string $body, string $header): bool => \InventorySync\verify_generic($body, $header, GENERIC_SECRET);
$phpGeneric = static fn (string $body, string $header): bool => hash_equals(hash_hmac('sha256', $body, GENERIC_SECRET), $header);
$extStandard = static fn (string $body, string $header): bool => \InventorySync\verify_standard_webhook($body, MESSAGE_ID, TIMESTAMP, $header, $whsec, null, NOW);
$phpStandard = static fn (string $body, string $header): bool => php_verify_standard($body, MESSAGE_ID, TIMESTAMP, $header, $whsec, NOW);

// Agreement: both accept every valid signature and refuse the same body with one bit flipped.
foreach ($bodies as $size => $body) {
    $tampered = $body;
    $tampered[intdiv($size, 2)] = chr(ord($tampered[intdiv($size, 2)]) ^ 0x01);
    foreach ([
        'generic' => [$extGeneric, $phpGeneric, $generic[$size]],
        'Standard Webhooks' => [$extStandard, $phpStandard, $standard[$size]],
    ] as $scheme => [$ext, $php, $header]) {
        $what = "$scheme, " . size_name($size);
        if (!accepts($ext, $body, $header) || !$php($body, $header)) {
            disagree("$what: a valid signature was refused (extension " . json_encode(accepts($ext, $body, $header)) . ', PHP ' . json_encode($php($body, $header)) . ')');
        }
        if (accepts($ext, $tampered, $header) || $php($tampered, $header)) {
            disagree("$what: a tampered body was accepted (extension " . json_encode(accepts($ext, $tampered, $header)) . ', PHP ' . json_encode($php($tampered, $header)) . ')');
        }
    }
}
$report->note('agreement: both accept every valid signature and refuse a body with one bit flipped, for both schemes and both sizes');
$report->note(sprintf(
    'timed: %d runs; in each, per scheme and side, %s; the sides interleaved, alternating which goes first; values are µs per verification',
    RUNS,
    implode(' and ', array_map(static fn (int $size, int $calls): string => number_format($calls) . ' verifications of the ' . size_name($size) . ' body', array_keys(SIZES), SIZES))
));

// Timed runs, interleaved (and alternating which side goes first) so that both sides see the
// same machine. A verification that is not accepted inside a timed run is a disagreement too.
$times = [];
for ($run = 0; $run < RUNS; $run++) {
    foreach (SIZES as $size => $calls) {
        foreach ([
            [$generic[$size], ['verify_generic' => $extGeneric, 'verify_generic_php' => $phpGeneric]],
            [$standard[$size], ['verify_standard' => $extStandard, 'verify_standard_php' => $phpStandard]],
        ] as [$header, $sides]) {
            if ($run % 2 === 1) {
                $sides = array_reverse($sides, true);
            }
            foreach ($sides as $side => $verify) {
                $accepted = 0;
                $t = hrtime(true);
                for ($i = 0; $i < $calls; $i++) {
                    $accepted += (int) $verify($bodies[$size], $header);
                }
                $times[$side][$size][] = (hrtime(true) - $t) / 1000 / $calls;
                if ($accepted !== $calls) {
                    disagree("$side, " . size_name($size) . ": $accepted of $calls valid signatures accepted in timed run $run");
                }
            }
        }
    }
}

$target = ['kind' => 'ratio', 'min' => 5.0, 'text' => '≥ 5× (1 MiB)'];
foreach ([
    ['InventorySync\verify_generic', 'verify_generic', 'verify_generic_php', 'PHP hash_hmac + hash_equals'],
    ['InventorySync\verify_standard_webhook', 'verify_standard', 'verify_standard_php', 'PHP base64 hash_hmac + hash_equals'],
] as [$function, $extName, $phpName, $baselineName]) {
    foreach (SIZES as $size => $_) {
        $ours = median($times[$extName][$size]);
        $theirs = median($times[$phpName][$size]);
        $report->figure(
            sprintf('%s, %s body, per call', $function, size_name($size)),
            'µs',
            'lower',
            $times[$extName][$size],
            $baselineName,
            $times[$phpName][$size],
            $size >= 1_048_576 ? $target : null,
            ['MB/s, extension' => $size / $ours, 'MB/s, PHP' => $size / $theirs]
        );
    }
}
$report->finish();

/**
 * Whether the extension accepts: true, or false when it throws SignatureException.
 *
 * @param callable(string, string): bool $verify
 */
function accepts(callable $verify, string $body, string $header): bool
{
    try {
        return $verify($body, $header);
    } catch (SignatureException) {
        return false;
    }
}

/**
 * The Standard Webhooks check in plain PHP, as the reference PHP library makes it: the signed
 * text "id.timestamp.body", base64 of the HMAC-SHA256, compared with every `v1` entry.
 */
function php_verify_standard(string $body, string $id, string $timestamp, string $header, string $secret, int $now): bool
{
    $key = standard_key($secret);
    if ($key === '' || $id === '' || !ctype_digit($timestamp) || abs($now - (int) $timestamp) > 300) {
        return false;
    }
    $expected = base64_encode(hash_hmac('sha256', "$id.$timestamp.$body", $key, true));
    foreach (explode(' ', $header) as $entry) {
        [$version, $signature] = explode(',', $entry, 2) + [1 => ''];
        if ($version === 'v1' && hash_equals($expected, $signature)) {
            return true;
        }
    }
    return false;
}

/**
 * The key of a `whsec_` secret ('' when it is not base64).
 */
function standard_key(string $secret): string
{
    return (string) base64_decode(str_starts_with($secret, 'whsec_') ? substr($secret, 6) : $secret, true);
}

function size_name(int $bytes): string
{
    return $bytes >= 1_048_576 ? ($bytes / 1_048_576) . ' MiB' : ($bytes / 1024) . ' KiB';
}

/**
 * Whether this CPU has the SHA extensions the sha2 crate uses when it finds them at run time:
 * they decide whether the extension can be several times faster than PHP's hash_hmac().
 */
function cpu_sha_note(): string
{
    $info = (string) @file_get_contents('/proc/cpuinfo');
    $model = preg_match('/^model name\s*:\s*(.+)$/m', $info, $m) === 1 ? trim($m[1]) : php_uname('m');
    if (preg_match('/^flags\s*:.*\bsha_ni\b/m', $info) === 1) {
        return "$model, with SHA extensions (sha_ni): the sha2 crate's SHA-NI code runs";
    }
    if (preg_match('/^Features\s*:.*\bsha2\b/m', $info) === 1) {
        // sha2 0.10 uses them on aarch64 only with its `asm` feature, which Cargo.toml leaves off.
        return "$model, with SHA-2 instructions (sha2), which sha2 0.10 uses only with its asm feature (off): the portable code runs";
    }
    return "$model, without SHA extensions: the sha2 crate's portable code runs (expect a ratio near 1× on 1 MiB)";
}
