<?php
/**
 * Plugin Name: WooCommerce stand-in (tests only)
 * Description: Implements exactly the WooCommerce functions, classes and hooks that Inventory Sync uses, with WooCommerce's semantics, so end-to-end tests can run where WooCommerce cannot be installed. Never shipped.
 * Version:     0.2.0
 * Requires PHP: 8.1
 *
 * THE SURFACE (keep this list and the code in step; add only what the plugin calls or what the
 * tests need to drive WooCommerce the way a store does). Semantics: shared/docs/woocommerce.md.
 *
 *   Capability  manage_woocommerce, given to administrators on activation (as WooCommerce does)
 *   Option      woocommerce_manage_stock = 'yes', set on activation (WooCommerce's default)
 *   Class       WooCommerce (with ->version) and function WC()
 *   Class       Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility()
 *               (records declarations; test helper inventory_sync_stand_in_declarations())
 *   Action      before_woocommerce_init, fired on plugins_loaded (priority 10, as WooCommerce)
 *   Action      woocommerce_init, fired on init
 *
 *   Products — stored as WooCommerce stores them: posts of type product / product_variation,
 *   meta _sku, _manage_stock ('yes'|'no'), _stock (the stand-in keeps the product type in
 *   _stand_in_type where WooCommerce uses a taxonomy).
 *   Class       WC_Product: get_id, get_name, get_sku, get_type, is_type, get_parent_id,
 *               get_manage_stock, managing_stock, get_stock_quantity, get_stock_managed_by_id,
 *               get_children, set_name, set_sku, set_manage_stock, set_stock_quantity, save.
 *               Objects hold what was read when they were made (like WooCommerce's).
 *               A product that does not manage stock has no stock quantity (validate_props).
 *   Class       WC_Product_Simple, WC_Product_Variable, WC_Product_Variation (set_parent_id;
 *               without its own stock management, a variation whose parent manages stock reports
 *               manage_stock 'parent', the parent's quantity, and the parent as stock holder)
 *   Function    wc_get_product( id ), wc_get_product_id_by_sku( sku ) (0 when none; SKUs compare
 *               as the database collation does, i.e. case-insensitively, as in WooCommerce),
 *               wc_get_products( limit, page, return ids|objects, status, orderby, order ) —
 *               top-level products only, as WooCommerce's default types
 *   Function    wc_update_product_stock( product, qty, set|increase|decrease, updating ): the stock
 *               holder (get_stock_managed_by_id), the before hook, ONE SQL statement (set writes
 *               the value; increase/decrease run meta_value = meta_value ± n), the cache cleared,
 *               the holder given the level computed from a read made before the write (stale
 *               under concurrency, as WooCommerce's), the after hook, that level returned.
 *               No floor: stock can go negative.
 *   Actions     woocommerce_product_before_set_stock / woocommerce_variation_before_set_stock,
 *               woocommerce_product_set_stock / woocommerce_variation_set_stock (product object) —
 *               also fired by a CRUD save() that changes stock_quantity
 *
 *   Orders — not in wp_posts (as with HPOS): one option per order, so only order CRUD works.
 *   Class       WC_Order: get_id, get_status, set_status, update_status, save, add_product,
 *               get_items (line items, read when the order object was made: two objects of one
 *               order reduce stock twice, WooCommerce's known race), get_data_store()
 *               ->get_stock_reduced() / ->set_stock_reduced()
 *   Class       WC_Order_Item_Product: get_id, get_order_id, get_product, get_product_id,
 *               get_variation_id, get_quantity, get_name, get_type, is_type, get_meta,
 *               add_meta_data, update_meta_data, delete_meta_data, save
 *   Order notes as WooCommerce keeps them: comments of type order_note on the order's id.
 *   Method      WC_Order::add_order_note( note, is_customer_note, added_by_user ) → comment id
 *   Function    wc_get_order_notes( {order_id} ) → newest first, objects {id, content,
 *               customer_note, added_by}
 *   Function    wc_create_order() (status pending, no transition), wc_get_order( id )
 *   Function    wc_maybe_reduce_stock_levels, wc_maybe_increase_stock_levels,
 *               wc_reduce_stock_levels, wc_increase_stock_levels — wired as WooCommerce wires them:
 *               reduce on woocommerce_payment_complete and the processing / completed / on-hold
 *               statuses, restore on cancelled / pending
 *   Actions     woocommerce_order_status_{to} (id, order), woocommerce_order_status_{from}_to_{to},
 *               woocommerce_order_status_changed (id, from, to, order), after a saved status change
 *   Filters     woocommerce_payment_complete_reduce_order_stock (bool, order id),
 *               woocommerce_can_reduce_order_stock / woocommerce_can_restore_order_stock (bool, order)
 *   Actions     woocommerce_reduce_order_item_stock (item, {product, from, to}, order),
 *               woocommerce_reduce_order_stock (order),
 *               woocommerce_restore_order_item_stock (item, new stock, old stock, order),
 *               woocommerce_restore_order_stock (order)
 *   Item meta   _reduced_stock (the quantity reduced; set before the item hook, deleted on restore)
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

	// ---------------------------------------------------------------------------------------------
	// Products
	// ---------------------------------------------------------------------------------------------

	/**
	 * A product: the data read when the object was made, plus unsaved changes.
	 */
	class WC_Product {
		/** @var string The product type. */
		protected $type = 'simple';

		/** @var int 0 until saved. */
		protected $id = 0;

		/** @var array<string, mixed> What was read (or last saved). */
		protected $data = array(
			'name'           => '',
			'sku'            => '',
			'manage_stock'   => false,
			'stock_quantity' => null,
			'parent_id'      => 0,
		);

		/** @var array<string, mixed> Props set since. */
		protected $changes = array();

		/**
		 * @param int|WC_Product $product A product id (or object) to read; 0 for a new product.
		 * @throws Exception When the id is not a product (as WooCommerce's data store).
		 */
		public function __construct( $product = 0 ) {
			$id = $product instanceof WC_Product ? $product->get_id() : (int) $product;
			if ( $id > 0 ) {
				$this->read( $id );
			}
		}

		/**
		 * Reads the product from its post and meta.
		 *
		 * @throws Exception When there is no such product.
		 */
		protected function read( int $id ): void {
			$post = get_post( $id );
			if ( ! $post || ! in_array( $post->post_type, array( 'product', 'product_variation' ), true ) ) {
				throw new Exception( 'Invalid product.' );
			}
			$this->id   = $id;
			$stock      = get_post_meta( $id, '_stock', true );
			$this->data = array(
				'name'           => $post->post_title,
				'sku'            => (string) get_post_meta( $id, '_sku', true ),
				'manage_stock'   => 'yes' === get_post_meta( $id, '_manage_stock', true ),
				'stock_quantity' => '' === $stock || null === $stock ? null : (int) $stock,
				'parent_id'      => (int) $post->post_parent,
			);
		}

		/** @return mixed */
		protected function get_prop( string $prop ) {
			return array_key_exists( $prop, $this->changes ) ? $this->changes[ $prop ] : $this->data[ $prop ];
		}

		/** @param mixed $value */
		protected function set_prop( string $prop, $value ): void {
			if ( array_key_exists( $prop, $this->changes ) || $value !== $this->data[ $prop ] ) {
				$this->changes[ $prop ] = $value;
			}
		}

		public function get_id(): int {
			return $this->id;
		}

		public function get_type(): string {
			return $this->type;
		}

		/** @param string|string[] $type */
		public function is_type( $type ): bool {
			return is_array( $type ) ? in_array( $this->type, $type, true ) : $this->type === $type;
		}

		public function get_name(): string {
			return (string) $this->get_prop( 'name' );
		}

		public function get_sku(): string {
			return (string) $this->get_prop( 'sku' );
		}

		public function get_parent_id(): int {
			return (int) $this->get_prop( 'parent_id' );
		}

		/** @return bool|string */
		public function get_manage_stock() {
			return (bool) $this->get_prop( 'manage_stock' );
		}

		/** @return bool|string True (or 'parent' for a variation) when stock is managed here. */
		public function managing_stock() {
			return 'yes' === get_option( 'woocommerce_manage_stock' ) ? $this->get_manage_stock() : false;
		}

		public function get_stock_quantity(): ?int {
			return $this->get_prop( 'stock_quantity' );
		}

		/** The id of the product whose stock this product uses. */
		public function get_stock_managed_by_id(): int {
			return $this->get_id();
		}

		/** @return int[] */
		public function get_children(): array {
			return array();
		}

		public function set_name( string $name ): void {
			$this->set_prop( 'name', $name );
		}

		public function set_sku( string $sku ): void {
			$this->set_prop( 'sku', trim( $sku ) );
		}

		/** @param bool|string $manage 'yes'/'no' or a bool. */
		public function set_manage_stock( $manage ): void {
			$this->set_prop( 'manage_stock', true === $manage || 'yes' === $manage );
		}

		/** @param int|string|null $quantity '' or null for none. */
		public function set_stock_quantity( $quantity ): void {
			$this->set_prop( 'stock_quantity', null === $quantity || '' === $quantity ? null : (int) $quantity );
		}

		/**
		 * Test-side of wc_update_product_stock(): the level it wrote, as data (not a change).
		 *
		 * @internal
		 */
		public function stand_in_read_stock_quantity( int $quantity ): void {
			$this->data['stock_quantity'] = $quantity;
			unset( $this->changes['stock_quantity'] );
		}

		/**
		 * Saves the product (post and meta). Fires the *_set_stock action when the stock quantity
		 * changed, as WooCommerce's data store does.
		 *
		 * @throws Exception When the post cannot be written.
		 */
		public function save(): int {
			if ( ! $this->get_prop( 'manage_stock' ) ) {
				$this->set_prop( 'stock_quantity', null ); // WooCommerce's validate_props().
			}
			$post = array(
				'post_type'   => $this->is_type( 'variation' ) ? 'product_variation' : 'product',
				'post_title'  => $this->get_name(),
				'post_parent' => $this->get_parent_id(),
				'post_status' => 'publish',
			);
			if ( 0 === $this->id ) {
				$id = wp_insert_post( $post, true );
				if ( is_wp_error( $id ) ) {
					throw new Exception( $id->get_error_message() );
				}
				$this->id = (int) $id;
				update_post_meta( $this->id, '_stand_in_type', $this->type );
				$changed = array_keys( $this->changes + $this->data );
			} else {
				if ( array_intersect( array( 'name', 'parent_id' ), array_keys( $this->changes ) ) ) {
					wp_update_post( array( 'ID' => $this->id ) + $post );
				}
				$changed = array_keys( $this->changes );
			}
			$values = array_merge( $this->data, $this->changes );
			foreach ( $changed as $prop ) {
				if ( 'sku' === $prop ) {
					update_post_meta( $this->id, '_sku', $values['sku'] );
				} elseif ( 'manage_stock' === $prop ) {
					update_post_meta( $this->id, '_manage_stock', $values['manage_stock'] ? 'yes' : 'no' );
				} elseif ( 'stock_quantity' === $prop ) {
					update_post_meta( $this->id, '_stock', null === $values['stock_quantity'] ? '' : (string) $values['stock_quantity'] );
				}
			}
			$stock_changed = array_key_exists( 'stock_quantity', $this->changes ) || ( in_array( 'stock_quantity', $changed, true ) && null !== $values['stock_quantity'] );
			$this->data    = $values;
			$this->changes = array();
			if ( $stock_changed ) {
				do_action( $this->is_type( 'variation' ) ? 'woocommerce_variation_set_stock' : 'woocommerce_product_set_stock', $this );
			}
			return $this->id;
		}
	}

	/** A simple product. */
	class WC_Product_Simple extends WC_Product {
		/** @var string */
		protected $type = 'simple';
	}

	/** A variable product: its variations are its children. */
	class WC_Product_Variable extends WC_Product {
		/** @var string */
		protected $type = 'variable';

		/** @return int[] The variations' ids, oldest first. */
		public function get_children(): array {
			if ( 0 === $this->id ) {
				return array();
			}
			return array_map(
				'intval',
				get_posts(
					array(
						'post_type'   => 'product_variation',
						'post_parent' => $this->id,
						'post_status' => 'any',
						'numberposts' => -1,
						'orderby'     => 'ID',
						'order'       => 'ASC',
						'fields'      => 'ids',
					)
				)
			);
		}
	}

	/** A variation: inherits stock management (and the stock) from its parent when it has none. */
	class WC_Product_Variation extends WC_Product {
		/** @var string */
		protected $type = 'variation';

		/** @var array{manage_stock: bool, stock_quantity: ?int} The parent's, read with the variation. */
		protected $parent_data = array(
			'manage_stock'   => false,
			'stock_quantity' => null,
		);

		protected function read( int $id ): void {
			parent::read( $id );
			$parent_id = $this->data['parent_id'];
			if ( $parent_id > 0 ) {
				$stock             = get_post_meta( $parent_id, '_stock', true );
				$this->parent_data = array(
					'manage_stock'   => 'yes' === get_post_meta( $parent_id, '_manage_stock', true ),
					'stock_quantity' => '' === $stock || null === $stock ? null : (int) $stock,
				);
			}
		}

		public function set_parent_id( int $parent_id ): void {
			$this->set_prop( 'parent_id', $parent_id );
		}

		/** @return bool|string 'parent' when the parent manages this variation's stock. */
		public function get_manage_stock() {
			$own = (bool) $this->get_prop( 'manage_stock' );
			return ! $own && $this->parent_data['manage_stock'] ? 'parent' : $own;
		}

		public function get_stock_quantity(): ?int {
			return 'parent' === $this->get_manage_stock() ? $this->parent_data['stock_quantity'] : parent::get_stock_quantity();
		}

		public function get_stock_managed_by_id(): int {
			return 'parent' === $this->get_manage_stock() ? $this->get_parent_id() : $this->get_id();
		}
	}

	/**
	 * The product with this id (or the object itself), or false.
	 *
	 * @param mixed $the_product Id or product.
	 * @return WC_Product|false
	 */
	function wc_get_product( $the_product = false ) {
		$id = $the_product instanceof WC_Product ? $the_product->get_id() : ( is_numeric( $the_product ) ? (int) $the_product : 0 );
		$post = $id > 0 ? get_post( $id ) : null;
		if ( ! $post ) {
			return false;
		}
		if ( 'product_variation' === $post->post_type ) {
			return new WC_Product_Variation( $id );
		}
		if ( 'product' !== $post->post_type ) {
			return false;
		}
		return 'variable' === get_post_meta( $id, '_stand_in_type', true ) ? new WC_Product_Variable( $id ) : new WC_Product_Simple( $id );
	}

	/**
	 * The id of the product or variation with this SKU, or 0.
	 *
	 * @param string $sku SKU.
	 */
	function wc_get_product_id_by_sku( $sku ): int {
		global $wpdb;
		if ( '' === (string) $sku ) {
			return 0;
		}
		return (int) $wpdb->get_var(
			$wpdb->prepare(
				"SELECT p.ID FROM {$wpdb->posts} p INNER JOIN {$wpdb->postmeta} m ON m.post_id = p.ID AND m.meta_key = '_sku'
				 WHERE p.post_type IN ( 'product', 'product_variation' ) AND p.post_status != 'trash' AND m.meta_value = %s
				 ORDER BY p.ID LIMIT 1",
				(string) $sku
			)
		);
	}

	/**
	 * Top-level products (not variations), as WooCommerce's default product query.
	 *
	 * @param array<string, mixed> $args limit, page, return (objects|ids), status, orderby, order.
	 * @return array<int, WC_Product|int>
	 */
	function wc_get_products( $args = array() ): array {
		$args = wp_parse_args(
			$args,
			array(
				'status'  => array( 'draft', 'pending', 'private', 'publish' ),
				'limit'   => (int) get_option( 'posts_per_page' ),
				'page'    => 1,
				'return'  => 'objects',
				'orderby' => 'date',
				'order'   => 'DESC',
			)
		);
		$ids  = array_map(
			'intval',
			get_posts(
				array(
					'post_type'        => 'product',
					'post_status'      => $args['status'],
					'posts_per_page'   => (int) $args['limit'],
					'paged'            => max( 1, (int) $args['page'] ),
					'orderby'          => $args['orderby'],
					'order'            => $args['order'],
					'fields'           => 'ids',
					'suppress_filters' => true,
				)
			)
		);
		return 'ids' === $args['return'] ? $ids : array_values( array_filter( array_map( 'wc_get_product', $ids ) ) );
	}

	/**
	 * Changes a product's stock as WooCommerce does (see the header).
	 *
	 * @param int|WC_Product $product        Product or id.
	 * @param int|null       $stock_quantity Quantity.
	 * @param string         $operation      set, increase or decrease.
	 * @param bool           $updating       WooCommerce skips its own save then; nothing to skip here.
	 * @return int|null|false The new level; false without a product.
	 */
	function wc_update_product_stock( $product, $stock_quantity = null, $operation = 'set', $updating = false ) {
		global $wpdb;
		unset( $updating );
		if ( ! $product instanceof WC_Product ) {
			$product = wc_get_product( $product );
		}
		if ( ! $product ) {
			return false;
		}
		if ( null === $stock_quantity || ! $product->managing_stock() ) {
			return $product->get_stock_quantity();
		}
		$holder_id = $product->get_stock_managed_by_id();
		$holder    = $holder_id !== $product->get_id() ? wc_get_product( $holder_id ) : $product;
		do_action( $holder->is_type( 'variation' ) ? 'woocommerce_variation_before_set_stock' : 'woocommerce_product_before_set_stock', $holder );

		add_post_meta( $holder_id, '_stock', 0, true );
		$amount = (int) $stock_quantity;
		if ( 'set' === $operation ) {
			$new_stock = $amount;
			$wpdb->query( $wpdb->prepare( "UPDATE {$wpdb->postmeta} SET meta_value = %d WHERE post_id = %d AND meta_key = '_stock'", $amount, $holder_id ) );
		} else {
			// The read before the write: the returned level is computed from it.
			$current   = (int) $wpdb->get_var( $wpdb->prepare( "SELECT meta_value FROM {$wpdb->postmeta} WHERE post_id = %d AND meta_key = '_stock'", $holder_id ) );
			$sign      = 'increase' === $operation ? '+' : '-';
			$new_stock = 'increase' === $operation ? $current + $amount : $current - $amount;
			$wpdb->query( $wpdb->prepare( "UPDATE {$wpdb->postmeta} SET meta_value = meta_value {$sign} %d WHERE post_id = %d AND meta_key = '_stock'", $amount, $holder_id ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- a fixed sign.
		}
		wp_cache_delete( $holder_id, 'post_meta' );
		$holder->stand_in_read_stock_quantity( $new_stock );

		do_action( $holder->is_type( 'variation' ) ? 'woocommerce_variation_set_stock' : 'woocommerce_product_set_stock', $holder );
		return $holder->get_stock_quantity();
	}

	// ---------------------------------------------------------------------------------------------
	// Orders
	// ---------------------------------------------------------------------------------------------

	/**
	 * Where orders live: one option per order, ids from a counter (not wp_posts, as with HPOS).
	 *
	 * @internal
	 */
	final class WC_Stand_In_Order_Store {
		private const PREFIX  = 'woocommerce_stand_in_order_';
		private const COUNTER = 'woocommerce_stand_in_last_id';

		/** A new id for an order or an item. */
		public static function next_id(): int {
			$id = (int) get_option( self::COUNTER, 1000 ) + 1;
			update_option( self::COUNTER, $id, false );
			return $id;
		}

		/** @return array{status: string, stock_reduced: bool, items: array<int, array>}|null */
		public static function get( int $id ): ?array {
			$record = get_option( self::PREFIX . $id, null );
			return is_array( $record ) ? $record : null;
		}

		/** @param array{status: string, stock_reduced: bool, items: array<int, array>} $record */
		public static function put( int $id, array $record ): void {
			update_option( self::PREFIX . $id, $record, false );
		}
	}

	/**
	 * The order data store's stock flag (WooCommerce: `_order_stock_reduced`).
	 */
	final class WC_Stand_In_Order_Data_Store {
		public function get_stock_reduced( $order_id ): bool {
			$record = WC_Stand_In_Order_Store::get( (int) $order_id );
			return (bool) ( $record['stock_reduced'] ?? false );
		}

		public function set_stock_reduced( $order_id, $set ): void {
			$record = WC_Stand_In_Order_Store::get( (int) $order_id );
			if ( null !== $record ) {
				$record['stock_reduced'] = (bool) $set;
				WC_Stand_In_Order_Store::put( (int) $order_id, $record );
			}
		}
	}

	/**
	 * An order line for a product or variation, with meta read when the object was made.
	 */
	class WC_Order_Item_Product {
		/** @var int */
		private $id;
		/** @var int */
		private $order_id;
		/** @var array{product_id: int, variation_id: int, quantity: int, name: string, meta: array<string, mixed>} */
		private $data;
		/** @var array<string, mixed> Meta set since (null: deleted). */
		private $meta_changes = array();

		/**
		 * @param array{product_id: int, variation_id: int, quantity: int, name: string, meta: array<string, mixed>} $data
		 * @internal Made by WC_Order.
		 */
		public function __construct( int $id, int $order_id, array $data ) {
			$this->id       = $id;
			$this->order_id = $order_id;
			$this->data     = $data;
		}

		public function get_id(): int {
			return $this->id;
		}

		public function get_order_id(): int {
			return $this->order_id;
		}

		public function get_type(): string {
			return 'line_item';
		}

		/** @param string|string[] $type */
		public function is_type( $type ): bool {
			return is_array( $type ) ? in_array( 'line_item', $type, true ) : 'line_item' === $type;
		}

		public function get_product_id(): int {
			return $this->data['product_id'];
		}

		public function get_variation_id(): int {
			return $this->data['variation_id'];
		}

		public function get_quantity(): int {
			return $this->data['quantity'];
		}

		public function get_name(): string {
			return $this->data['name'];
		}

		/** @return WC_Product|false */
		public function get_product() {
			return wc_get_product( $this->data['variation_id'] ?: $this->data['product_id'] );
		}

		/**
		 * A meta value ('' when absent, as WooCommerce's single get).
		 *
		 * @return mixed
		 */
		public function get_meta( string $key, bool $single = true ) {
			unset( $single );
			$meta = array_merge( $this->data['meta'], $this->meta_changes );
			return $meta[ $key ] ?? '';
		}

		/** @param mixed $value */
		public function add_meta_data( string $key, $value, bool $unique = false ): void {
			unset( $unique );
			$this->meta_changes[ $key ] = $value;
		}

		/** @param mixed $value */
		public function update_meta_data( string $key, $value ): void {
			$this->meta_changes[ $key ] = $value;
		}

		public function delete_meta_data( string $key ): void {
			$this->meta_changes[ $key ] = null;
		}

		/** Writes the meta changed through this object into the stored order. */
		public function save(): int {
			$record = WC_Stand_In_Order_Store::get( $this->order_id );
			if ( null === $record || ! isset( $record['items'][ $this->id ] ) ) {
				return 0;
			}
			foreach ( $this->meta_changes as $key => $value ) {
				if ( null === $value ) {
					unset( $record['items'][ $this->id ]['meta'][ $key ], $this->data['meta'][ $key ] );
				} else {
					$record['items'][ $this->id ]['meta'][ $key ] = $value;
					$this->data['meta'][ $key ]                   = $value;
				}
			}
			$this->meta_changes = array();
			WC_Stand_In_Order_Store::put( $this->order_id, $record );
			return $this->id;
		}
	}

	/**
	 * An order: a status and line items, read when the object was made.
	 */
	class WC_Order {
		/** @var int */
		private $id;
		/** @var string */
		private $status;
		/** @var array<int, WC_Order_Item_Product> */
		private $items = array();

		/**
		 * @param int $id An existing order's id.
		 * @throws Exception When there is no such order.
		 */
		public function __construct( int $id ) {
			$record = WC_Stand_In_Order_Store::get( $id );
			if ( null === $record ) {
				throw new Exception( 'Invalid order.' );
			}
			$this->id           = $id;
			$this->status       = $record['status'];
			foreach ( $record['items'] as $item_id => $item ) {
				$this->items[ (int) $item_id ] = new WC_Order_Item_Product( (int) $item_id, $id, $item );
			}
		}

		public function get_id(): int {
			return $this->id;
		}

		public function get_status(): string {
			return $this->status;
		}

		public function set_status( string $status ): void {
			$this->status = str_starts_with( $status, 'wc-' ) ? substr( $status, 3 ) : $status;
		}

		/** Sets the status and saves (firing the transition). */
		public function update_status( string $status, string $note = '' ): bool {
			unset( $note );
			$this->set_status( $status );
			$this->save();
			return true;
		}

		/**
		 * Adds a note (a comment of type order_note, as WooCommerce stores them); a system note
		 * is added by "WooCommerce".
		 *
		 * @return int The note's comment id.
		 */
		public function add_order_note( string $note, $is_customer_note = 0, $added_by_user = false ): int {
			unset( $added_by_user );
			$id = wp_insert_comment(
				array(
					'comment_post_ID'      => $this->id,
					'comment_author'       => 'WooCommerce',
					'comment_author_email' => '',
					'comment_content'      => $note,
					'comment_agent'        => 'WooCommerce',
					'comment_type'         => 'order_note',
					'comment_approved'     => 1,
				)
			);
			if ( $id && $is_customer_note ) {
				add_comment_meta( $id, 'is_customer_note', 1 );
			}
			return (int) $id;
		}

		public function get_data_store(): WC_Stand_In_Order_Data_Store {
			return new WC_Stand_In_Order_Data_Store();
		}

		/**
		 * Adds a line for $product (a variation keeps its parent as product id) and saves it.
		 *
		 * @return int The item id.
		 */
		public function add_product( WC_Product $product, int $qty = 1 ): int {
			$item_id = WC_Stand_In_Order_Store::next_id();
			$data    = array(
				'product_id'   => $product->is_type( 'variation' ) ? $product->get_parent_id() : $product->get_id(),
				'variation_id' => $product->is_type( 'variation' ) ? $product->get_id() : 0,
				'quantity'     => $qty,
				'name'         => $product->get_name(),
				'meta'         => array(),
			);
			$record                     = WC_Stand_In_Order_Store::get( $this->id );
			$record['items'][ $item_id ] = $data;
			WC_Stand_In_Order_Store::put( $this->id, $record );
			$this->items[ $item_id ] = new WC_Order_Item_Product( $item_id, $this->id, $data );
			return $item_id;
		}

		/**
		 * The line items as this object read them.
		 *
		 * @return array<int, WC_Order_Item_Product>
		 */
		public function get_items( $types = 'line_item' ): array {
			unset( $types );
			return $this->items;
		}

		/** Saves the status; a change fires WooCommerce's status transition actions. */
		public function save(): int {
			$record = WC_Stand_In_Order_Store::get( $this->id );
			$from   = $record['status'];
			$record['status'] = $this->status;
			WC_Stand_In_Order_Store::put( $this->id, $record );
			if ( $from !== $this->status ) {
				do_action( 'woocommerce_order_status_' . $this->status, $this->id, $this );
				do_action( 'woocommerce_order_status_' . $from . '_to_' . $this->status, $this->id, $this );
				do_action( 'woocommerce_order_status_changed', $this->id, $from, $this->status, $this );
			}
			return $this->id;
		}
	}

	/**
	 * An order's notes, newest first.
	 *
	 * @param array{order_id?: int} $args Which order.
	 * @return list<stdClass>
	 */
	function wc_get_order_notes( $args ): array {
		$comments = get_comments(
			array(
				'post_id' => (int) ( $args['order_id'] ?? 0 ),
				'type'    => 'order_note',
				'orderby' => 'comment_ID',
				'order'   => 'DESC',
				'status'  => 'approve',
			)
		);
		return array_map(
			static fn ( WP_Comment $c ) => (object) array(
				'id'            => (int) $c->comment_ID,
				'content'       => $c->comment_content,
				'customer_note' => (bool) get_comment_meta( (int) $c->comment_ID, 'is_customer_note', true ),
				'added_by'      => $c->comment_author,
			),
			$comments
		);
	}

	/**
	 * A new pending order (no transition fires).
	 *
	 * @param array<string, mixed> $args Ignored.
	 */
	function wc_create_order( $args = array() ): WC_Order {
		unset( $args );
		$id = WC_Stand_In_Order_Store::next_id();
		WC_Stand_In_Order_Store::put(
			$id,
			array(
				'status'        => 'pending',
				'stock_reduced' => false,
				'items'         => array(),
			)
		);
		return new WC_Order( $id );
	}

	/**
	 * The order with this id, or false.
	 *
	 * @param mixed $order Id or order.
	 * @return WC_Order|false
	 */
	function wc_get_order( $order = false ) {
		$id = $order instanceof WC_Order ? $order->get_id() : ( is_numeric( $order ) ? (int) $order : 0 );
		return $id > 0 && null !== WC_Stand_In_Order_Store::get( $id ) ? new WC_Order( $id ) : false;
	}

	/**
	 * Payment complete / processing / completed / on-hold: reduces stock once per order.
	 *
	 * @param int $order_id Order id.
	 */
	function wc_maybe_reduce_stock_levels( $order_id ): void {
		$order = wc_get_order( $order_id );
		if ( ! $order ) {
			return;
		}
		$reduced = $order->get_data_store()->get_stock_reduced( $order->get_id() );
		if ( ! apply_filters( 'woocommerce_payment_complete_reduce_order_stock', ! $reduced, $order->get_id() ) ) {
			return;
		}
		wc_reduce_stock_levels( $order );
		$order->get_data_store()->set_stock_reduced( $order->get_id(), true );
	}

	/**
	 * Cancelled / pending: restores stock when it was reduced.
	 *
	 * @param int $order_id Order id.
	 */
	function wc_maybe_increase_stock_levels( $order_id ): void {
		$order = wc_get_order( $order_id );
		if ( ! $order || ! $order->get_data_store()->get_stock_reduced( $order->get_id() ) ) {
			return;
		}
		wc_increase_stock_levels( $order );
		$order->get_data_store()->set_stock_reduced( $order->get_id(), false );
	}

	/**
	 * Reduces stock for every line not reduced yet (by its `_reduced_stock` meta).
	 *
	 * @param int|WC_Order $order_id Order or id.
	 */
	function wc_reduce_stock_levels( $order_id ): void {
		$order = $order_id instanceof WC_Order ? $order_id : wc_get_order( $order_id );
		if ( ! $order || 'yes' !== get_option( 'woocommerce_manage_stock' ) || ! apply_filters( 'woocommerce_can_reduce_order_stock', true, $order ) ) {
			return;
		}
		foreach ( $order->get_items() as $item ) {
			if ( ! $item->is_type( 'line_item' ) ) {
				continue;
			}
			$product = $item->get_product();
			if ( $item->get_meta( '_reduced_stock', true ) || ! $product || ! $product->managing_stock() ) {
				continue;
			}
			$qty       = $item->get_quantity();
			$new_stock = wc_update_product_stock( $product, $qty, 'decrease' );
			$item->add_meta_data( '_reduced_stock', $qty, true );
			$item->save();
			$change = array(
				'product' => $product,
				'from'    => $new_stock + $qty,
				'to'      => $new_stock,
			);
			do_action( 'woocommerce_reduce_order_item_stock', $item, $change, $order );
		}
		do_action( 'woocommerce_reduce_order_stock', $order );
	}

	/**
	 * Restores the stock of every reduced line and clears its `_reduced_stock` meta.
	 *
	 * @param int|WC_Order $order_id Order or id.
	 */
	function wc_increase_stock_levels( $order_id ): void {
		$order = $order_id instanceof WC_Order ? $order_id : wc_get_order( $order_id );
		if ( ! $order || 'yes' !== get_option( 'woocommerce_manage_stock' ) || ! apply_filters( 'woocommerce_can_restore_order_stock', true, $order ) ) {
			return;
		}
		foreach ( $order->get_items() as $item ) {
			if ( ! $item->is_type( 'line_item' ) ) {
				continue;
			}
			$product = $item->get_product();
			$reduced = $item->get_meta( '_reduced_stock', true );
			if ( ! $reduced || ! $product || ! $product->managing_stock() ) {
				continue;
			}
			$new_stock = wc_update_product_stock( $product, $reduced, 'increase' );
			$old_stock = $new_stock - $reduced;
			$item->delete_meta_data( '_reduced_stock' );
			$item->save();
			do_action( 'woocommerce_restore_order_item_stock', $item, $new_stock, $old_stock, $order );
		}
		do_action( 'woocommerce_restore_order_stock', $order );
	}

	add_action( 'woocommerce_payment_complete', 'wc_maybe_reduce_stock_levels' );
	add_action( 'woocommerce_order_status_completed', 'wc_maybe_reduce_stock_levels' );
	add_action( 'woocommerce_order_status_processing', 'wc_maybe_reduce_stock_levels' );
	add_action( 'woocommerce_order_status_on-hold', 'wc_maybe_reduce_stock_levels' );
	add_action( 'woocommerce_order_status_cancelled', 'wc_maybe_increase_stock_levels' );
	add_action( 'woocommerce_order_status_pending', 'wc_maybe_increase_stock_levels' );

	// ---------------------------------------------------------------------------------------------
	// Lifecycle
	// ---------------------------------------------------------------------------------------------

	register_activation_hook(
		__FILE__,
		static function (): void {
			$admin = get_role( 'administrator' );
			if ( $admin ) {
				$admin->add_cap( 'manage_woocommerce' );
			}
			add_option( 'woocommerce_manage_stock', 'yes' );
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
