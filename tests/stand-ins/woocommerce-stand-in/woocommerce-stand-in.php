<?php
/**
 * Plugin Name: WooCommerce stand-in (tests only)
 * Description: Implements exactly the WooCommerce functions, classes and hooks that Inventory Sync uses, with WooCommerce's semantics, so end-to-end tests can run where WooCommerce cannot be installed. Never shipped.
 * Version:     0.1.0
 * Requires PHP: 8.1
 *
 * THE SURFACE (keep this list and the code in step; add only what the plugin calls):
 *
 *   Capability  manage_woocommerce, given to administrators on activation (as WooCommerce does)
 *   Class       WooCommerce (with ->version) and function WC()
 *   Class       Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility()
 *               (records declarations; test helper inventory_sync_stand_in_declarations())
 *   Action      before_woocommerce_init, fired on plugins_loaded (priority 10, as WooCommerce)
 *   Action      woocommerce_init, fired on init
 *
 * Later issues add products, variations, wc_update_product_stock() with its hooks, and orders
 * that reduce and restore stock — see shared/docs/woocommerce.md.
 *
 * @package InventorySync\Tests
 */

namespace {
	defined( 'ABSPATH' ) || exit;

	/**
	 * The stand-in's main class, like WooCommerce's.
	 */
	final class WooCommerce {
		/** Version the stand-in claims to be (the latest we checked against a real store). */
		public $version = '8.9.1';

		/** @var WooCommerce|null */
		private static $instance = null;

		/** The single instance. */
		public static function instance(): self {
			return self::$instance ??= new self();
		}
	}

	/** WooCommerce's accessor for its main instance. */
	function WC(): WooCommerce { // phpcs:ignore WordPress.NamingConventions.ValidFunctionName -- WooCommerce's name.
		return WooCommerce::instance();
	}

	/**
	 * Test helper: the feature compatibility declarations made so far, as
	 * [feature => [plugin_file => bool]].
	 *
	 * @return array<string, array<string, bool>>
	 */
	function inventory_sync_stand_in_declarations(): array {
		return \Automattic\WooCommerce\Utilities\FeaturesUtil::declarations();
	}

	register_activation_hook(
		__FILE__,
		static function (): void {
			$admin = get_role( 'administrator' );
			if ( $admin ) {
				$admin->add_cap( 'manage_woocommerce' );
			}
		}
	);

	add_action(
		'plugins_loaded',
		static function (): void {
			do_action( 'before_woocommerce_init' );
		}
	);
	add_action(
		'init',
		static function (): void {
			do_action( 'woocommerce_init' );
		}
	);
}

namespace Automattic\WooCommerce\Utilities {
	/**
	 * WooCommerce's feature registry, reduced to the declaration call.
	 */
	final class FeaturesUtil {
		/** @var array<string, array<string, bool>> */
		private static $declarations = array();

		/**
		 * Records that $plugin_file is (in)compatible with $feature_id. Like WooCommerce, it only
		 * accepts declarations while before_woocommerce_init runs.
		 */
		public static function declare_compatibility( string $feature_id, string $plugin_file, bool $positive_compatibility = true ): bool {
			if ( ! doing_action( 'before_woocommerce_init' ) ) {
				_doing_it_wrong( __METHOD__, 'declare_compatibility must be called inside before_woocommerce_init', '8.9.1' );
				return false;
			}
			self::$declarations[ $feature_id ][ plugin_basename( $plugin_file ) ] = $positive_compatibility;
			return true;
		}

		/**
		 * Test helper: what was declared.
		 *
		 * @return array<string, array<string, bool>>
		 */
		public static function declarations(): array {
			return self::$declarations;
		}
	}
}
