<?php
/**
 * Declarations of everything the PHP extension `inventory_sync` exports, for IDEs and static
 * analysis. Never loaded at run time. A test checks this file against
 * ReflectionExtension('inventory_sync'): keep them in step.
 *
 * @package InventorySync
 */

namespace InventorySync {
	/**
	 * The extension's version (same as phpversion('inventory_sync')).
	 */
	function version(): string {}

	/**
	 * Hex HMAC-SHA256 of $body under $secret: the `generic` scheme's X-Webhook-Signature value.
	 *
	 * @throws Exception\ValidationException When $secret is empty.
	 */
	function sign_generic( string $body, string $secret ): string {}

	/**
	 * Verifies a `generic` signature header (hex, optional "sha256=" prefix) on the raw body in
	 * constant time, against $secret and optionally $previous_secret (rotation).
	 *
	 * @return bool Always true; a refusal throws.
	 * @throws Exception\SignatureException Missing, malformed or mismatching signature, or no secret.
	 */
	function verify_generic( string $body, string $signature_header, string $secret, ?string $previous_secret = null ): bool {}

	/**
	 * Verifies WooCommerce's X-WC-Webhook-Signature (base64 HMAC-SHA256 of the raw body under the
	 * webhook's secret) in constant time, against $secret and optionally $previous_secret.
	 * Check is_woocommerce_ping() first: the creation ping is unsigned.
	 *
	 * @return bool Always true; a refusal throws.
	 * @throws Exception\SignatureException Missing, malformed or mismatching signature, or no secret.
	 */
	function verify_woocommerce( string $body, string $signature_header, string $secret, ?string $previous_secret = null ): bool {}

	/**
	 * Whether the request is WooCommerce's unsigned creation ping: the body is exactly
	 * "webhook_id=<positive integer>" (nothing else, no whitespace) and the signature header is
	 * absent or blank. Answer it with 200 and change nothing.
	 */
	function is_woocommerce_ping( string $body, ?string $signature_header = null ): bool {}

	/**
	 * Verifies Shopify's X-Shopify-Hmac-Sha256 (base64 HMAC-SHA256 of the raw body under the app's
	 * client secret) in constant time, against $secret and optionally $previous_secret.
	 *
	 * @return bool Always true; a refusal throws.
	 * @throws Exception\SignatureException Missing, malformed or mismatching signature, or no secret.
	 */
	function verify_shopify( string $body, string $signature_header, string $secret, ?string $previous_secret = null ): bool {}

	/**
	 * Verifies a Standard Webhooks v1 message from its three header values (pass '' for an absent
	 * header): any "v1,<base64>" entry of webhook-signature matching HMAC-SHA256 of
	 * "{id}.{timestamp}.{body}" under the decoded whsec_ key ($secret or $previous_secret; the
	 * prefix is optional), and webhook-timestamp within ±300 s of $now (default: now).
	 *
	 * @return bool Always true; a refusal throws.
	 * @throws Exception\SignatureException Missing header, malformed header, mismatch, expired,
	 *                                      from the future, no secret or an invalid secret.
	 */
	function verify_standard_webhook( string $body, string $webhook_id, string $webhook_timestamp, string $webhook_signature, string $secret, ?string $previous_secret = null, ?int $now = null ): bool {}

	/**
	 * Signs an outbound Standard Webhooks message; with $previous_secret the signature carries
	 * both ("v1,<current> v1,<previous>"). $timestamp defaults to now.
	 *
	 * @return array{'webhook-id': string, 'webhook-timestamp': string, 'webhook-signature': string}
	 * @throws Exception\ValidationException Bad id (1–256 visible ASCII, no '.'), negative
	 *                                       timestamp, empty or invalid secret.
	 */
	function sign_standard_webhook( string $id, string $body, string $secret, ?string $previous_secret = null, ?int $timestamp = null ): array {}

	/**
	 * A new Standard Webhooks secret, "whsec_" + base64 of 24 to 64 random bytes:
	 * standard_webhooks_secret( random_bytes( 32 ) ).
	 *
	 * @throws Exception\ValidationException Fewer than 24 or more than 64 bytes.
	 */
	function standard_webhooks_secret( string $random_bytes ): string {}

	/**
	 * Verifies a signed API request: X-Signature = hex HMAC-SHA256 of strtoupper($method) . $path
	 * . X-Timestamp . $body, no separators, where $path is the request target exactly as sent,
	 * query string included ($_SERVER['REQUEST_URI']); X-Timestamp within ±300 s of $now
	 * (default: now). The caller finds $secret from X-API-Key.
	 *
	 * @return bool Always true; a refusal throws.
	 * @throws Exception\SignatureException Missing, malformed or mismatching signature, expired,
	 *                                      from the future, or no secret.
	 */
	function verify_api_request( string $method, string $path, string $body, string $timestamp_header, string $signature_header, string $secret, ?string $previous_secret = null, ?int $now = null ): bool {}

	/**
	 * Signs an outbound API request (see verify_api_request). $timestamp defaults to now.
	 *
	 * @return array{'X-API-Key': string, 'X-Timestamp': string, 'X-Signature': string}
	 * @throws Exception\ValidationException Bad method, path or API key, negative timestamp,
	 *                                       empty secret.
	 */
	function sign_api_request( string $method, string $path, string $body, string $api_key, string $secret, ?int $timestamp = null ): array {}

	/**
	 * What each channel rule is shown for every SKU of $stock, computed in memory from the stock
	 * passed in (no ledger reads): Ledger::allocate() for a whole catalogue at once, for full
	 * syncs. The same rules and the same numbers; explanations only when asked for.
	 *
	 * $stock is ['SKU-1' => ['WH1' => [on_hand, reserved, incoming], ...], ...]; $rules as for
	 * Ledger::allocate(). Options: locations (code => ['priority' => int, 'active' => bool];
	 * locations not listed are active with priority 0), supplier_stock (sku => int, for rules
	 * with include_supplier; SKUs not in $stock are ignored), explain (default false), threads (the
	 * most threads the call may use, 1–4; by default a large catalogue is worked out on up to 4
	 * cores and written out on the calling thread).
	 *
	 * @param array<string|int, array<string|int, array{0: int, 1: int, 2: int}>> $stock
	 * @param list<array<string, mixed>> $rules
	 * @param array{locations?: array<string|int, array{priority?: int, active?: bool}>, supplier_stock?: array<string|int, int>, explain?: bool, threads?: int<1, 4>}|null $options
	 * @return array<string|int, list<int>|list<array{quantity: int, explanation: string}>> Keyed like $stock, in its
	 *         order; one quantity per rule, in rule order (with explain: quantity and explanation).
	 * @throws Exception\ValidationException Bad stock, rules or options; the message starts with the
	 *         field's name, e.g. "stock[SKU-1][WH1]" or "rules[2].weight".
	 */
	function allocate_many( array $stock, array $rules, ?array $options = null ): array {}

	/**
	 * Every channel kind with the settings and credential fields its adapter reads, in form order
	 * (woocommerce_local has none).
	 *
	 * @return array<string, array{settings: list<string>, credentials: list<string>}>
	 */
	function channel_kinds(): array {}

	/**
	 * The stock ledger (a SQLite file owned by the extension): items, locations, idempotent
	 * movements, reservations, stock, history, allocation, alerts and reorder suggestions.
	 *
	 * Arrays in and out keep their key order. Bad input throws Exception\ValidationException
	 * whose message starts with the field's name; an unknown SKU or location
	 * Exception\NotFoundException; a refused reservation Exception\ConflictException; a storage
	 * failure Exception\LedgerException.
	 */
	class Ledger {
		/**
		 * Opens (creating and migrating if needed) the ledger file, or, when $path is a
		 * mysql:// URL, the ledger in that MariaDB/MySQL database ('mysql://' alone takes it all
		 * from the mysql option; path() then names it without the password). Options:
		 * busy_timeout_ms (on a database server: the row lock wait, rounded up to seconds);
		 * credential_key (the site's secret material, at least 16 bytes: channel credentials and
		 * the source token are sealed with a key derived from it); http_timeout_ms (longest
		 * channel call, default 30000); retry (base_seconds, cap_seconds, max_attempts of the
		 * backoff of failed pushes and messages); mysql (host, port, socket, user, password,
		 * database over the URL's; tls: disabled, preferred (default: TLS when the server offers
		 * it), required, verify_ca, verify_identity; ca_file; table_prefix). Ledgers opened in one
		 * process on the same file (or server) with the same options share one connection, kept
		 * across requests (a php-fpm worker opens the file once); a file removed or replaced
		 * since is opened anew.
		 *
		 * @param array{busy_timeout_ms?: int, credential_key?: string, http_timeout_ms?: int, retry?: array{base_seconds?: int, cap_seconds?: int, max_attempts?: int}, mysql?: array{host?: string, port?: int, socket?: string, user?: string, password?: string, database?: string, tls?: string, ca_file?: string, table_prefix?: string}}|null $options
		 */
		public function __construct( string $path, ?array $options = null ) {}

		/** The path the ledger was opened on. */
		public function path(): string {}

		/**
		 * Copies this ledger file into the empty MariaDB/MySQL ledger at a mysql:// URL (options:
		 * mysql, busy_timeout_ms as for the constructor; retire, default true), holding the file's
		 * write lock, and checks the copy (row counts, largest ids, stock invariants). With retire
		 * the file is read-only afterwards: a later write fails saying the ledger moved.
		 *
		 * @param array<string, mixed>|null $options
		 * @return array{rows: array<string, int>, seconds: float, target: string}
		 * @throws \InventorySync\Exception\ConflictException When the target holds rows, or another copy into it runs.
		 */
		public function copyTo( string $url, ?array $options = null ): array {}

		/**
		 * Creates or updates an item (sku, name, product_id, thresholds{critical,low,warning},
		 * lead_time_days, moq, pack_size, supplier); returns it with oversold, created_at, updated_at.
		 */
		public function upsertItem( array $item ): array {}

		/** The item with this SKU, or null. */
		public function item( string $sku ): ?array {}

		/**
		 * A page of items by SKU: search (SKU or name prefix), after (cursor), limit.
		 *
		 * @return array{items: list<array>, next_after: ?string}
		 */
		public function items( ?array $query = null ): array {}

		/** Creates or updates a location (code, name, priority, active); returns it. */
		public function upsertLocation( array $location ): array {}

		/** Every location, by priority then code. */
		public function locations(): array {}

		/**
		 * Records one movement: event_id, sku, kind (sale, return, receive|restock, adjustment,
		 * reserve, release, commit, transfer, incoming), quantity, location, to_location,
		 * reservation, origin, reference, note, expires_at. An event_id recorded before returns
		 * the original outcome with replayed = true and changes nothing.
		 *
		 * @return array{replayed: bool, oversold: bool, movements: list<array>, levels: list<array>}
		 */
		public function record( array $movement ): array {}

		/**
		 * Records up to 1000 movements in one transaction; one entry per movement, in order:
		 * ['ok' => true, ...outcome] or ['ok' => false, 'error' => ['code', 'field', 'message']].
		 */
		public function recordBatch( array $movements ): array {}

		/** record() with kind reserve (guarded: ConflictException when not available). */
		public function reserve( array $request ): array {}

		/** record() with kind release; reservation = the reserve's event_id. */
		public function release( array $request ): array {}

		/** record() with kind commit; reservation = the reserve's event_id. */
		public function commit( array $request ): array {}

		/** Releases every reservation whose expires_at has passed; returns the outcomes. */
		public function expireReservations(): array {}

		/**
		 * Stock of one SKU.
		 *
		 * @return array{sku: string, on_hand: int, reserved: int, incoming: int, available: int, locations: list<array>}
		 */
		public function stock( string $sku ): array {}

		/**
		 * Movements, newest first: sku, before (a movement id), limit.
		 *
		 * @return array{movements: list<array>, next_before: ?int}
		 */
		public function history( ?array $query = null ): array {}

		/**
		 * SKUs with movements after the cursor (0 = all).
		 *
		 * @return array{skus: list<string>, cursor: int}
		 */
		public function changedSince( int $cursor ): array {}

		/**
		 * What each channel rule (channel_id, name, priority, mode shared|partitioned, weight,
		 * buffer, max, zero_threshold, percent, include_incoming, include_supplier, locations)
		 * is shown for the SKU, in order, each with its one-line explanation.
		 * Options: supplier_stock.
		 *
		 * @return list<array{channel_id: int, quantity: int, base: int, share: ?array, explanation: string}>
		 */
		public function allocate( string $sku, array $rules, ?array $options = null ): array {}

		/**
		 * What each channel rule is shown for every item in the ledger, computed from the ledger's
		 * own stock in one pass (a full sync): Ledger::allocate() for every SKU at once, with the
		 * same rules and the same numbers, without passing stock in. Items come in SKU order
		 * (byte order); an item without stock is allocated from nothing. Explanations only when
		 * asked for.
		 *
		 * $rules as for Ledger::allocate(). Options: supplier_stock (sku => int, for rules with
		 * include_supplier; SKUs that are not items are ignored), explain (default false).
		 *
		 * @param list<array<string, mixed>> $rules
		 * @param array{supplier_stock?: array<string|int, int>, explain?: bool}|null $options
		 * @return array<string|int, list<int>|list<array{quantity: int, explanation: string}>> SKU => one
		 *         quantity per rule, in rule order (with explain: quantity and explanation).
		 * @throws Exception\ValidationException Bad rules or options; the message starts with the
		 *         field's name, e.g. "rules[2].weight" or "supplier_stock[SKU-1]".
		 */
		public function allocateAll( array $rules, ?array $options = null ): array {}

		/**
		 * Alerts for the SKUs given (all levels) or for every item (only those needing attention).
		 * Planning: thresholds{critical,low,warning,critical_days,low_days,warning_days},
		 * velocity_window_days.
		 */
		public function alerts( ?array $skus = null, ?array $planning = null, ?int $now = null ): array {}

		/**
		 * Reorder suggestions for the SKUs given (including zero) or for every item (only those to
		 * order). Planning as for alerts() plus safety_factor, review_days.
		 */
		public function reorderSuggestions( ?array $skus = null, ?array $planning = null, ?int $now = null ): array {}

		/**
		 * Takes a verified webhook body from $provider (generic, woocommerce, shopify, erp) into the
		 * ledger; $headers are the request headers (name => value). Options: auto_create.
		 *
		 * @return array{duplicate: bool, provider: string, topic: string, dedup_key: string, outcome: string, recorded: int, replayed: int, unknown_skus: list<string>, skipped: list<string>, failed: list<array>, drift: list<array>, movements: list<array>}
		 * @throws Exception\ValidationException When the body cannot be read (it is logged as rejected).
		 */
		public function ingest( string $provider, string $body, array $headers, ?array $options = null ): array {}

		/**
		 * Decides on an API request (key, scope, method, path, body, timestamp, signature,
		 * rate_limit, route, remote_addr). Refusals are written to the security log.
		 *
		 * @return array{ok: bool, key?: array, rate?: array, status?: int, code?: string, reason?: string, message?: string, retry_after?: ?int}
		 */
		public function authorize( array $request ): array {}

		/**
		 * SKUs and locations among those given that API key $key_id may not touch.
		 *
		 * @return list<string>
		 */
		public function keyRefuses( int $key_id, array $skus, array $locations ): array {}

		/** Writes a refused request to the security log (route, reason, key_prefix, remote_addr, detail). */
		public function logSecurity( array $entry ): void {}

		/**
		 * Counts one answered request of the inbound API in its hour's counters.
		 *
		 * @param array{route: string, method: string, status: int, duration_ms: int|float} $request route: the route pattern (`/inventory-sync/v1/stock/{sku}`), not the path
		 * @throws Exception\ValidationException Naming the field.
		 */
		public function recordApiRequest( array $request ): void {}

		/**
		 * Inbound API requests per hour, day, week (from Monday) or month, oldest first (empty
		 * buckets too). p95_ms is "at most", from a latency histogram; null without requests.
		 *
		 * @param array{since: int, until: int, bucket: 'hour'|'day'|'week'|'month', offset?: int} $query
		 * @return list<array{start: int, requests: int, client_errors: int, server_errors: int, error_rate: float, avg_ms: float, p95_ms: ?float, max_ms: float}>
		 */
		public function apiActivity( array $query ): array {}

		/**
		 * Inbound API requests per route and method in [$since, $until), busiest first.
		 *
		 * @return list<array{route: string, method: string, requests: int, client_errors: int, server_errors: int, error_rate: float, avg_ms: float, p95_ms: ?float, max_ms: float}>
		 */
		public function apiRoutes( int $since, int $until ): array {}

		/**
		 * Issues an API key (name, scopes, expires_at, supplier, locations, signing_secret) from at
		 * least 32 random bytes; the plaintext is returned once, only its hash is stored.
		 *
		 * @return array{key: string, api_key: array}
		 */
		public function issueApiKey( array $spec, string $random_bytes ): array {}

		/** Every API key (id, name, prefix, scopes, supplier, locations, requires_signing, times). */
		public function apiKeys(): array {}

		/** Revokes an API key; returns it. */
		public function revokeApiKey( int $id ): array {}

		/**
		 * The inbound log, newest first: provider, outcome, before, limit.
		 *
		 * @return array{events: list<array>, next_before: ?int}
		 */
		public function inboundEvents( ?array $query = null ): array {}

		/**
		 * The security log, newest first: reason, before, limit.
		 *
		 * @return array{events: list<array>, next_before: ?int}
		 */
		public function securityEvents( ?array $query = null ): array {}

		/** Sets a channel listing's remote_id and/or the quantity last pushed (pushed) or seen (seen). */
		public function upsertListing( array $listing ): array {}

		/** A channel listing, or null. */
		public function listing( string $channel, string $sku ): ?array {}

		/**
		 * Items with stock totals and alert level: search, supplier, low_stock, after, limit.
		 *
		 * @return array{items: list<array>, next_after: ?string}
		 */
		public function searchStock( ?array $query = null ): array {}

		/**
		 * Creates or updates a channel: key, kind, name, enabled, allocation {mode, weight,
		 * priority, buffer, max, zero_threshold, percent, include_incoming, include_supplier,
		 * locations}, batch_size, rate {per_second, burst}, min_change, low_stock_level, settings,
		 * credentials (checked against the kind, stored encrypted; a blank value keeps the stored
		 * one). Returns the channel, credentials masked.
		 */
		public function saveChannel( array $channel ): array {}

		/** Every channel (credentials masked). */
		public function channels(): array {}

		/** The channel with this key (credentials masked), or null. */
		public function channel( string $key ): ?array {}

		/** Deletes a channel and its listings; Exception\ConflictException while it has open jobs. */
		public function deleteChannel( string $key ): array {}

		/**
		 * Plans the SKUs for every enabled channel; $origin (the channel the change came from) is
		 * not written back.
		 *
		 * @param list<string> $skus
		 * @return array{skus: int, skipped: int, planned: int, first_pushes: int, unchanged: int, echoes: int, held_back: int, enqueued: int}
		 */
		public function syncSkus( array $skus, ?string $origin = null ): array {}

		/**
		 * Plans SKUs for the one enabled channel $channel ("sync now" for a channel); the
		 * allocation still counts every enabled channel. Unknown or disabled channel: not found.
		 *
		 * @param list<string> $skus The SKUs.
		 * @return array{skus: int, skipped: int, planned: int, first_pushes: int, unchanged: int, echoes: int, held_back: int, enqueued: int}
		 */
		public function syncSkusTo( array $skus, string $channel ): array {}

		/** Plans the SKUs changed since the last incremental run; recorded as a sync run. */
		public function syncIncremental(): array {}

		/** Plans every item for every enabled channel; recorded as a sync run. */
		public function syncFull(): array {}

		/**
		 * Pushes due jobs to the channels. Options: owner, budget_ms, job_limit, claim_seconds.
		 *
		 * @return array{run_id: int, pushed: int, accepted: int, failed: int, retried: int, dead: int, calls: int, elapsed_ms: int, channels: array<string, array>}
		 */
		public function runQueue( ?array $options = null ): array {}

		/** Claims jobs of the woocommerce_local channels for $owner (applied in PHP). */
		public function claimLocalJobs( string $owner, ?int $limit = null, ?int $claim_seconds = null ): array {}

		/** Marks a job $owner claimed as pushed. */
		public function completeJob( int $id, string $owner ): array {}

		/** Records a failed push of a claimed job: retried with backoff when $retryable, else dead. */
		public function failJob( int $id, string $owner, string $error, bool $retryable ): array {}

		/** Reads every readable channel, records drift and enqueues repairs; recorded as a run. */
		public function reconcile(): array {}

		/** Saves the primary source (name, url, token, per_page, max_pages, location); token masked. */
		public function saveSource( array $source ): ?array {}

		/** The primary source (token masked), or null. */
		public function source(): ?array {}

		/** Reads the primary source and records its levels as pull $pull_id. */
		public function pullSource( string $pull_id ): array {}

		/**
		 * Records levels a site supplies itself from $source as pull $pull_id.
		 *
		 * @param list<array{sku: string, location: string, quantity: int}> $levels
		 */
		public function pullLevels( string $source, string $pull_id, array $levels ): array {}

		/** Sync runs, newest first: kind, status, before, limit. */
		public function syncRuns( ?array $query = null ): array {}

		/**
		 * Tests a saved channel's connection with its stored settings and credentials: asks it for
		 * a few of the ledger's SKUs (a read; nothing changes).
		 *
		 * @return array{status: 'connected'|'failed'|'not_testable', message: string, asked: list<string>, found: list<array{sku: string, remote_id: string}>}
		 * @throws Exception\NotFoundException An unknown channel.
		 */
		public function testChannel( string $key ): array {}

		/**
		 * Auto-map by SKU: asks the channel for SKUs with no remote id there yet and keeps the ids
		 * it answers (a read on the channel).
		 *
		 * @return array{asked: int, mapped: int, missing: list<string>, more: bool}
		 * @throws Exception\NotFoundException An unknown channel.
		 * @throws Exception\ValidationException A channel without listings to match (webhook, this store).
		 */
		public function autoMap( string $key, ?int $limit = null ): array {}

		/**
		 * A page of the SKUs with no remote id on the channel, by SKU: after, limit.
		 *
		 * @return array{skus: list<string>, next_after: ?string}
		 */
		public function unmappedSkus( string $key, ?array $query = null ): array {}

		/**
		 * What every enabled channel is shown for the SKU, in the channels' order, and why.
		 *
		 * @return list<array{channel: string, name: string, kind: string, quantity: int, explanation: string, shown: ?int, pushed_at: ?int, queued: ?int}>
		 * @throws Exception\NotFoundException An unknown SKU.
		 */
		public function channelStock( string $sku ): array {}

		/**
		 * Sync runs counted per hour, day or week, every bucket oldest first (empty ones too).
		 *
		 * With by_hour (bucket hour): 24 buckets, one per hour of the site's day, start = the hour.
		 *
		 * @param array{since: int, until: int, bucket: 'hour'|'day'|'week'|'month', offset?: int, kind?: string, by_hour?: bool} $query offset: the site's UTC offset in seconds; weeks start on Monday, months on the 1st
		 * @return list<array{start: int, runs: int, done: int, failed: int, pushed: int, push_failures: int, avg_duration_ms: int}>
		 */
		public function syncActivity( array $query ): array {}

		/**
		 * The most frequent error texts of the sync runs started since $since, most frequent first.
		 *
		 * @return list<array{error: string, runs: int, last_at: int}>
		 */
		public function syncErrors( int $since, ?int $limit = null ): array {}

		/** Drift found by reconciliation, newest first: channel, sku, before, limit. */
		public function drift( ?array $query = null ): array {}

		/** Outbox jobs, newest first: channel, status, before, limit. */
		public function jobs( ?array $query = null ): array {}

		/**
		 * The newest feeds (bulk submissions a channel processes later: Amazon's JSON_LISTINGS_FEED),
		 * of one channel or all, newest first; $limit 1–1,000 (default 20). A live feed
		 * (submitting, submitted) holds its jobs under the claim owner "feed:<id>".
		 *
		 * @return list<array{id: int, channel: string, state: 'submitting'|'submitted'|'done'|'failed'|'cancelled'|'abandoned', remote_id: ?string, messages: int, processing_status: ?string, created_at: int, submitted_at: ?int, next_poll_at: int, polls: int, applied: int, refused: int, last_error: ?string, finished_at: ?int}>
		 */
		public function feeds( ?string $channel = null, ?int $limit = null ): array {}

		/** Jobs per status (pending, retrying, running, done, failed, dead), of one channel or all. */
		public function jobCounts( ?string $channel = null ): array {}

		/** Puts a dead or failed job back in line; returns the job carrying the retry. */
		public function retryJob( int $id ): array {}

		/** Retries every dead job, of one channel or all; returns how many. */
		public function retryAll( ?string $channel = null ): int {}

		/** Deletes jobs: status dead, finished or pending (pending needs a channel); returns how many. */
		public function clearJobs( array $filter ): int {}

		/**
		 * Routes a paid order's lines to their suppliers: one signed message per supplier, queued
		 * once per order.
		 *
		 * @param list<array{line_id: string, sku: string, quantity: int}> $lines
		 * @return array{messages: list<array{supplier: string, message_id: int, created: bool}>, unrouted: list<array{sku: string, reason: string}>}
		 */
		public function routeOrder( string $order_id, array $lines ): array {}

		/**
		 * Accepts a supplier's reply about an order it was sent (order.acknowledged or
		 * order.shipped), once per supplier and reply id.
		 *
		 * @param array{id: string, type: string, order_id: string, lines?: list<array{sku: string, quantity: int}>, carrier?: string, tracking_number?: string, tracking_url?: string} $reply
		 * @return array{duplicate: bool, supplier: string, id: string, type: string, order_id: string, lines: list<array{sku: string, quantity: int}>, carrier: ?string, tracking_number: ?string, tracking_url: ?string, summary: string}
		 * @throws Exception\ValidationException A malformed reply, a line not sent to this supplier, more units than it was asked for.
		 * @throws Exception\NotFoundException The order was never sent to this supplier.
		 */
		public function supplierReply( string $supplier, array $reply ): array {}

		/** Saves a supplier's endpoint (URL, whsec_ secret stored encrypted; null keeps the stored one). */
		public function saveSupplierEndpoint( string $supplier, string $url, ?string $secret = null ): void {}

		/** Every supplier endpoint (secret masked). */
		public function supplierEndpoints(): array {}

		/** Sends due supplier messages (options: owner, limit); returns sent, retried, dead, calls. */
		public function sendMessages( ?array $options = null ): array {}

		/** The message log, newest first: destination, status, before, limit. */
		public function messages( ?array $query = null ): array {}

		/** Puts a dead message back in line; returns it. */
		public function retryMessage( int $id ): array {}

		/**
		 * Retention: deletes what is older than $older_than (unix seconds) from the logs and
		 * returns how many of each kind. Movements are never deleted; pending, running and dead
		 * jobs are kept.
		 *
		 * @return array{sync_runs: int, drift: int, jobs: int, inbound: int, security: int, messages: int, api_requests: int}
		 * @throws Exception\ValidationException When $older_than is negative.
		 */
		public function prune( int $older_than ): array {}
	}
}

namespace InventorySync\Exception {
	/** Base of every exception the extension throws. */
	class SyncException extends \Exception {
		/** Thrown by the extension only: constructing it from PHP throws. */
		public function __construct() {}
	}

	/** Bad input; the message names the field. Nothing was changed. Code 1. */
	class ValidationException extends SyncException {
		/** Thrown by the extension only: constructing it from PHP throws. */
		public function __construct() {}
	}

	/** Signature missing, malformed, not matching, expired or from the future; no or invalid secret. Code 2. */
	class SignatureException extends SyncException {
		/** Thrown by the extension only: constructing it from PHP throws. */
		public function __construct() {}
	}

	/** The ledger store failed. Code 3. */
	class LedgerException extends SyncException {
		/** Thrown by the extension only: constructing it from PHP throws. */
		public function __construct() {}
	}

	/** Unknown SKU, location or channel. Code 4. */
	class NotFoundException extends LedgerException {
		/** Thrown by the extension only: constructing it from PHP throws. */
		public function __construct() {}
	}

	/** A guarded request was refused by a stock rule; nothing changed. Code 5. */
	class ConflictException extends LedgerException {
		/** Thrown by the extension only: constructing it from PHP throws. */
		public function __construct() {}
	}

	/** A sales channel failed or refused a request. Code 6. */
	class ChannelException extends SyncException {
		/** Thrown by the extension only: constructing it from PHP throws. */
		public function __construct() {}
	}
}
