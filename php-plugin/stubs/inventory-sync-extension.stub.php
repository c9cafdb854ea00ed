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
