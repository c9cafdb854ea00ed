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
		 * Opens (creating and migrating if needed) the ledger file. Options: busy_timeout_ms.
		 *
		 * @param array{busy_timeout_ms?: int}|null $options
		 */
		public function __construct( string $path, ?array $options = null ) {}

		/** The path the ledger was opened on. */
		public function path(): string {}

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

	/** Signature missing, malformed or not matching. Code 2. */
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
