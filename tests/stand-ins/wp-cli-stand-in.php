<?php
/**
 * Plugin Name: WP-CLI stand-in (tests only, must-use)
 * Description: WP-CLI cannot be installed here; this implements exactly the WP-CLI surface the
 * plugin's command uses, for PHP run from the command line (Site::eval) and never for web
 * requests. Never shipped.
 *
 * THE SURFACE (keep in step with includes/class-cli-command.php):
 *
 *   Constant  WP_CLI (true)
 *   Class     WP_CLI: add_command(), line(), log(), success(), warning(), error() (throws
 *             WP_CLI\ExitException, as the real one exits)
 *   Function  WP_CLI\Utils\format_items( 'table'|'json', $items, $fields )
 *   Test helper WP_CLI::run_stand_in( $args, $assoc_args ): array{ok, output, error}: runs
 *             "wp <args…> --<assoc>" against the registered commands and returns what it printed.
 *
 * @package InventorySync\Tests
 */

namespace WP_CLI {
	/** What WP_CLI::error() throws (the real WP-CLI exits). */
	final class ExitException extends \RuntimeException {
	}
}

namespace WP_CLI\Utils {
	/**
	 * Prints items as a table (tab-separated, a header line first) or JSON.
	 *
	 * @param string                     $format table or json.
	 * @param array<array<string,mixed>> $items  Rows.
	 * @param string[]|string            $fields Columns.
	 */
	function format_items( $format, $items, $fields ): void {
		$fields = is_string( $fields ) ? explode( ',', $fields ) : $fields;
		$rows   = array();
		foreach ( $items as $item ) {
			$row = array();
			foreach ( $fields as $field ) {
				$row[ $field ] = $item[ $field ] ?? null;
			}
			$rows[] = $row;
		}
		if ( 'json' === $format ) {
			\WP_CLI::line( (string) json_encode( $rows ) );
			return;
		}
		\WP_CLI::line( implode( "\t", $fields ) );
		foreach ( $rows as $row ) {
			\WP_CLI::line( implode( "\t", array_map( static fn ( $v ) => is_bool( $v ) ? ( $v ? 'true' : 'false' ) : (string) $v, $row ) ) );
		}
	}
}

namespace {
	if ( PHP_SAPI === 'cli' && ! defined( 'WP_CLI' ) ) {
		define( 'WP_CLI', true );
	}

	/**
	 * The WP_CLI class, reduced to what the plugin calls.
	 */
	final class WP_CLI {
		/** @var array<string, string|callable> Registered commands. */
		public static array $commands = array();
		/** @var list<string> Lines printed by the running command. */
		private static array $output = array();

		public static function add_command( string $name, $callable ): bool {
			self::$commands[ $name ] = $callable;
			return true;
		}

		public static function line( string $message = '' ): void {
			self::$output[] = $message;
		}

		public static function log( string $message ): void {
			self::$output[] = $message;
		}

		public static function success( string $message ): void {
			self::$output[] = 'Success: ' . $message;
		}

		public static function warning( string $message ): void {
			self::$output[] = 'Warning: ' . $message;
		}

		/** @return never */
		public static function error( string $message ): void {
			throw new \WP_CLI\ExitException( 'Error: ' . $message );
		}

		/**
		 * Runs `wp <command> <subcommand> [args…]` with $assoc_args as --options.
		 *
		 * @param string[]             $args       Command, subcommand, positional arguments.
		 * @param array<string, mixed> $assoc_args Options.
		 * @return array{ok: bool, output: list<string>, error: ?string}
		 */
		public static function run_stand_in( array $args, array $assoc_args = array() ): array {
			$name = array_shift( $args );
			$sub  = array_shift( $args );
			if ( ! isset( self::$commands[ $name ] ) ) {
				return array( 'ok' => false, 'output' => array(), 'error' => "'$name' is not a registered wp command." );
			}
			$class = self::$commands[ $name ];
			if ( ! is_string( $class ) || ! method_exists( $class, (string) $sub ) ) {
				return array( 'ok' => false, 'output' => array(), 'error' => "'$sub' is not a subcommand of $name." );
			}
			self::$output = array();
			try {
				( new $class() )->$sub( $args, $assoc_args );
				return array( 'ok' => true, 'output' => self::$output, 'error' => null );
			} catch ( \WP_CLI\ExitException $e ) {
				return array( 'ok' => false, 'output' => self::$output, 'error' => $e->getMessage() );
			}
		}
	}
}
