<?php
/**
 * Channel allocation in plain PHP 8.2: the baseline `InventorySync\allocate_many()` is measured
 * against, and the reference its quantities are checked against.
 *
 * A faithful port of `src/stock/allocation.rs` (product.md, "Stock rules"), quantities only:
 * - available = Σ max(0, on_hand − reserved) over the channel's eligible, active locations
 *   (no list = every active location); + incoming and + supplier stock when the rule opts in;
 *   never below 0;
 * - shared: − buffer, or floor(× percent / 100) in percent mode; then clamp to 0, 0 at or below
 *   the zero threshold, cap at max;
 * - partitioned: one pool (the union of the partitioned channels' locations) split by weight with
 *   largest-remainder rounding, ties by channel priority, then channel id, then rule order; each
 *   share limited to what the channel's own locations hold; then buffer, clamp, zero threshold,
 *   cap as for shared.
 * Like the Rust code, the rules are checked and arranged once (prepare_rules) and then applied to
 * every SKU. Unlike it, nothing saturates: PHP integers would turn into floats near PHP_INT_MAX,
 * which the benchmark's quantities never approach.
 *
 * @package InventorySync
 */

declare(strict_types=1);

namespace InventorySync\Bench;

/**
 * Rules with their defaults filled in, plus what every SKU needs from them: the partitioned
 * rules, the locations their pool covers and the pool's opt-ins.
 *
 * @param list<array<string, mixed>> $rules as for Ledger::allocate() / allocate_many()
 * @return array{rules: list<array<string, mixed>>, partitioned: list<int>, pool_eligible: array<string, true>, pool_incoming: bool, pool_supplier: bool}
 */
function prepare_rules(array $rules): array
{
    $prepared = [];
    $partitioned = [];
    $all = false;
    $union = [];
    foreach ($rules as $i => $rule) {
        $mode = $rule['mode'] ?? 'shared';
        $eligible = [];
        foreach ($rule['locations'] ?? [] as $code) {
            $eligible[(string) $code] = true;
        }
        $prepared[] = [
            'channel_id' => $rule['channel_id'],
            'priority' => $rule['priority'] ?? 0,
            'partitioned' => $mode === 'partitioned',
            'weight' => $rule['weight'] ?? 0,
            'buffer' => $rule['buffer'] ?? 0,
            'max' => $rule['max'] ?? null,
            'zero_threshold' => $rule['zero_threshold'] ?? 0,
            'percent' => $rule['percent'] ?? null,
            'include_incoming' => $rule['include_incoming'] ?? false,
            'include_supplier' => $rule['include_supplier'] ?? false,
            'eligible' => $eligible,
        ];
        if ($mode === 'partitioned') {
            $partitioned[] = $i;
            if ($eligible === []) {
                $all = true;
            }
            $union += $eligible;
        }
    }
    $first = $partitioned === [] ? null : $prepared[$partitioned[0]];
    return [
        'rules' => $prepared,
        'partitioned' => $partitioned,
        'pool_eligible' => $all ? [] : $union,
        'pool_incoming' => $first['include_incoming'] ?? false,
        'pool_supplier' => $first['include_supplier'] ?? false,
    ];
}

/**
 * What each channel is shown for one SKU, in rule order.
 *
 * @param array<string|int, array{0: int, 1: int, 2: int}> $levels location => [on_hand, reserved, incoming]
 * @param array<string|int, array{priority?: int, active?: bool}> $locations unknown = active
 * @param array<string, mixed> $prepared from prepare_rules()
 * @return list<int>
 */
function allocate_quantities(array $levels, array $locations, array $prepared, int $supplier): array
{
    $pool = 0;
    if ($prepared['partitioned'] !== []) {
        $pool = promise($levels, $locations, $prepared['pool_eligible'], $prepared['pool_incoming'], $prepared['pool_supplier'] ? $supplier : 0);
    }
    $claims = [];
    foreach ($prepared['partitioned'] as $i) {
        $rule = $prepared['rules'][$i];
        $claims[] = [$rule['weight'], $rule['priority'], $rule['channel_id']];
    }
    $shares = split($pool, $claims);

    $quantities = [];
    $next = 0;
    foreach ($prepared['rules'] as $rule) {
        $own = promise($levels, $locations, $rule['eligible'], $rule['include_incoming'], $rule['include_supplier'] ? $supplier : 0);
        if ($rule['partitioned']) {
            $value = min($shares[$next++], $own);
        } else {
            $value = $own;
            if ($rule['percent'] !== null && $rule['percent'] !== 100) {
                $value = intdiv($value * $rule['percent'], 100);
            }
        }
        $quantities[] = limits($value, $rule);
    }
    return $quantities;
}

/**
 * Available to promise over the eligible active locations (none listed = all).
 *
 * @param array<string|int, array{0: int, 1: int, 2: int}> $levels
 * @param array<string|int, array{priority?: int, active?: bool}> $locations
 * @param array<string, true> $eligible
 */
function promise(array $levels, array $locations, array $eligible, bool $incoming, int $supplier): int
{
    $available = 0;
    $arriving = 0;
    foreach ($levels as $code => [$onHand, $reserved, $in]) {
        if (!($locations[$code]['active'] ?? true)) {
            continue;
        }
        if ($eligible !== [] && !isset($eligible[$code])) {
            continue;
        }
        $available += max(0, $onHand - $reserved);
        $arriving += $in;
    }
    return max(0, $available + ($incoming ? $arriving : 0) + $supplier);
}

/**
 * Largest-remainder split of $pool by weight: the shares sum to exactly $pool (all 0 when every
 * weight is 0 or the pool is empty).
 *
 * @param list<array{0: int, 1: int, 2: int}> $claims [weight, channel priority, channel id]
 * @return list<int>
 */
function split(int $pool, array $claims): array
{
    $total = 0;
    foreach ($claims as [$weight]) {
        $total += $weight;
    }
    $shares = array_fill(0, count($claims), 0);
    if ($total === 0 || $pool <= 0) {
        return $shares;
    }
    $remainders = [];
    $given = 0;
    foreach ($claims as $i => [$weight]) {
        $exact = $pool * $weight;
        $shares[$i] = intdiv($exact, $total);
        $remainders[$i] = $exact % $total;
        $given += $shares[$i];
    }
    $leftOver = $pool - $given;
    if ($leftOver > 0) {
        $order = array_keys($claims);
        usort($order, static fn (int $a, int $b): int => $remainders[$b] <=> $remainders[$a]
            ?: $claims[$a][1] <=> $claims[$b][1]
            ?: $claims[$a][2] <=> $claims[$b][2]
            ?: $a <=> $b);
        foreach (array_slice($order, 0, $leftOver) as $i) {
            $shares[$i]++;
        }
    }
    return $shares;
}

/**
 * Buffer, clamp to 0, zero threshold, cap.
 *
 * @param array<string, mixed> $rule
 */
function limits(int $value, array $rule): int
{
    if ($rule['buffer'] > 0) {
        $value -= $rule['buffer'];
    }
    if ($value < 0) {
        $value = 0;
    }
    if ($value > 0 && $value <= $rule['zero_threshold']) {
        $value = 0;
    }
    if ($rule['max'] !== null && $value > $rule['max']) {
        $value = $rule['max'];
    }
    return $value;
}

/**
 * allocate_quantities() over a whole catalogue, in the shape allocate_many() returns.
 *
 * @param array<string|int, array<string|int, array{0: int, 1: int, 2: int}>> $stock
 * @param list<array<string, mixed>> $rules
 * @param array{locations?: array<string|int, array{priority?: int, active?: bool}>, supplier_stock?: array<string|int, int>} $options
 * @return array<string|int, list<int>>
 */
function allocate_many(array $stock, array $rules, array $options = []): array
{
    $prepared = prepare_rules($rules);
    $locations = $options['locations'] ?? [];
    $supplier = $options['supplier_stock'] ?? [];
    $out = [];
    foreach ($stock as $sku => $levels) {
        $out[$sku] = allocate_quantities($levels, $locations, $prepared, $supplier[$sku] ?? 0);
    }
    return $out;
}
