<?php
/**
 * Where the ledger lives and the one accessor to it.
 *
 * The ledger is a SQLite file owned by the extension. Its path is, in order:
 * 1. the constant INVENTORY_SYNC_DB in wp-config.php;
 * 2. `<parent of the WordPress directory>/inventory-sync-data/ledger.sqlite` when that can be
 *    created (outside the web root in the usual layouts);
 * 3. `wp-content/inventory-sync-<24 random hex digits>/ledger.sqlite`: a directory protected by
 *    deny files (Apache, IIS) whose name cannot be guessed (nginx reads no deny files; the
 *    status page's download check says so, with the rule to add).
 * The choice is remembered in an option so it never moves by itself.
 *
 * With INVENTORY_SYNC_LEDGER set to 'mysql' in wp-config.php, or once the file was moved there
 * (Settings → Ledger, `wp inventory-sync ledger migrate --to=mysql`), the ledger is kept in a
 * MariaDB/MySQL database instead (tables named $wpdb->base_prefix . 'inventory_sync_…'), which
 * every web server of the site reaches: the site's own database (DB_HOST, DB_USER, DB_PASSWORD,
 * DB_NAME), or the one INVENTORY_SYNC_MYSQL_URL names.
 *
 * @package InventorySync
 */

namespace InventorySync;

defined( 'ABSPATH' ) || exit;

/**
 * The ledger file's path (its directory exists when this returns, unless set by constant).
 */
function ledger_path(): string {
	if ( defined( 'INVENTORY_SYNC_DB' ) && is_string( INVENTORY_SYNC_DB ) && '' !== INVENTORY_SYNC_DB ) {
		return INVENTORY_SYNC_DB;
	}
	$remembered = get_option( OPTION_LEDGER_PATH, '' );
	if ( is_string( $remembered ) && '' !== $remembered && is_dir( dirname( $remembered ) ) ) {
		return $remembered;
	}
	$outside = dirname( untrailingslashit( ABSPATH ) ) . '/' . LEDGER_DIR_OUTSIDE;
	if ( is_dir( $outside ) || ( wp_is_writable( dirname( $outside ) ) && wp_mkdir_p( $outside ) ) ) {
		$path = $outside . '/' . LEDGER_FILE;
	} else {
		$inside = WP_CONTENT_DIR . '/' . LEDGER_DIR_INSIDE . '-' . bin2hex( random_bytes( 12 ) );
		wp_mkdir_p( $inside );
		protect_directory( $inside );
		$path = $inside . '/' . LEDGER_FILE;
	}
	update_option( OPTION_LEDGER_PATH, $path, true );
	return $path;
}

/**
 * Deny files for the web servers that read them (Apache, IIS), and an empty index.
 */
function protect_directory( string $dir ): void {
	$files = array(
		'.htaccess'  => "# Inventory Sync: the stock ledger is never served over HTTP.\n<IfModule mod_authz_core.c>\n\tRequire all denied\n</IfModule>\n<IfModule !mod_authz_core.c>\n\tDeny from all\n</IfModule>\n",
		'web.config' => "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<configuration><system.webServer><authorization><deny users=\"*\" /></authorization></system.webServer></configuration>\n",
		'index.php'  => "<?php\n// Silence is golden.\n",
	);
	foreach ( $files as $name => $content ) {
		if ( ! file_exists( $dir . '/' . $name ) ) {
			file_put_contents( $dir . '/' . $name, $content ); // phpcs:ignore WordPress.WP.AlternativeFunctions -- plain local files.
		}
	}
}

/**
 * The ledger, opened once per request.
 *
 * @throws \InventorySync\Exception\LedgerException When the file cannot be opened.
 */
function ledger(): \InventorySync\Ledger {
	static $ledger = null;
	if ( null === $ledger ) {
		$options  = array();
		$material = Sync\credential_key_material();
		if ( null !== $material ) {
			$options['credential_key'] = $material;
		}
		if ( defined( CONSTANT_RETRY_BASE_SECONDS ) && is_int( constant( CONSTANT_RETRY_BASE_SECONDS ) ) && constant( CONSTANT_RETRY_BASE_SECONDS ) > 0 ) {
			$options['retry'] = array( 'base_seconds' => constant( CONSTANT_RETRY_BASE_SECONDS ) );
		}
		// Where the ledger is can change under a running request only by a move, which retires
		// the file: a request still holding it then fails its writes (503) instead of losing them.
		if ( ledger_in_database() ) {
			list( $location, $options['mysql'] ) = ledger_database();
		} else {
			$location = ledger_path();
		}
		$ledger = new \InventorySync\Ledger( $location, array() === $options ? null : $options );
		if ( array() === $ledger->locations() ) {
			// Movements without a location go to the default location: make sure there is one.
			$ledger->upsertLocation(
				array(
					'code'     => DEFAULT_LOCATION,
					'name'     => __( 'Main warehouse', 'inventory-sync' ),
					'priority' => 0,
				)
			);
		}
	}
	return $ledger;
}

/**
 * Whether the ledger is in a MariaDB/MySQL database: as INVENTORY_SYNC_LEDGER in wp-config.php
 * says, else since the file was moved there (move_ledger_to_database()).
 */
function ledger_in_database(): bool {
	if ( defined( CONSTANT_LEDGER ) ) {
		return LEDGER_IN_DATABASE === constant( CONSTANT_LEDGER );
	}
	return LEDGER_IN_DATABASE === get_option( OPTION_LEDGER_BACKEND, '' );
}

/**
 * Moves the ledger file into the database ledger_database() names, for a site about to run on
 * several web servers: the extension copies it under the file's write lock into empty tables,
 * checks the copy (row counts, largest ids, stock sums) and retires the file (readable, no more
 * writes); only then does the site switch, for every web server at once (an option in the
 * site's database). The file stays where it was, as the ledger at the moment of the move.
 *
 * @return array{rows: array<string, int>, seconds: float, target: string}
 * @throws \RuntimeException When the ledger is in a database already, INVENTORY_SYNC_LEDGER pins it to the file, or there is no file.
 * @throws \InventorySync\Exception\SyncException When the copy is refused (the database holds a ledger) or fails (nothing switches).
 */
function move_ledger_to_database(): array {
	if ( ledger_in_database() ) {
		throw new \RuntimeException( __( 'The ledger is in the database already.', 'inventory-sync' ) );
	}
	if ( defined( CONSTANT_LEDGER ) ) {
		throw new \RuntimeException( __( 'INVENTORY_SYNC_LEDGER in wp-config.php keeps the ledger in its file: remove that line first.', 'inventory-sync' ) );
	}
	$path = ledger_path();
	if ( ! is_file( $path ) ) {
		throw new \RuntimeException( __( 'There is no ledger file to move.', 'inventory-sync' ) );
	}
	list( $url, $settings ) = ledger_database();
	$file                   = new \InventorySync\Ledger( $path );
	$report                 = $file->copyTo( $url, array( 'mysql' => $settings ) );
	update_option( OPTION_LEDGER_BACKEND, LEDGER_IN_DATABASE, true );
	if ( LEDGER_IN_DATABASE !== get_option( OPTION_LEDGER_BACKEND ) ) {
		throw new \RuntimeException( __( 'The ledger was copied into the database, but the switch could not be saved: add define( \'INVENTORY_SYNC_LEDGER\', \'mysql\' ); to wp-config.php now.', 'inventory-sync' ) );
	}
	return $report;
}

/**
 * Where the ledger's database is: the location given to the extension (a mysql:// URL) and its
 * mysql option (the site's connection settings as WordPress reads DB_HOST, TLS, table prefix).
 *
 * @return array{0: string, 1: array<string, mixed>}
 */
function ledger_database(): array {
	global $wpdb;
	$settings = array( 'table_prefix' => $wpdb->base_prefix . LEDGER_TABLE_PREFIX );
	foreach ( array( 'tls' => CONSTANT_MYSQL_TLS, 'ca_file' => CONSTANT_MYSQL_CA ) as $key => $constant ) {
		if ( defined( $constant ) && is_string( constant( $constant ) ) && '' !== constant( $constant ) ) {
			$settings[ $key ] = constant( $constant );
		}
	}
	if ( defined( CONSTANT_MYSQL_URL ) && is_string( constant( CONSTANT_MYSQL_URL ) ) && '' !== constant( CONSTANT_MYSQL_URL ) ) {
		return array( constant( CONSTANT_MYSQL_URL ), $settings );
	}
	// DB_HOST as WordPress itself reads it: host, host:port, host:/socket, [IPv6]:port.
	$parsed = $wpdb->parse_db_host( DB_HOST );
	list( $host, $port, $socket ) = false === $parsed ? array( DB_HOST, null, null ) : $parsed;
	$host = '' === $host ? 'localhost' : $host;
	if ( 'localhost' === $host && null === $socket ) {
		// As mysqli: "localhost" is the server's Unix socket.
		$default = ini_get( 'mysqli.default_socket' );
		$socket  = is_string( $default ) && '' !== $default ? $default : null;
	}
	$settings += array(
		'host'     => $host,
		'user'     => DB_USER,
		'password' => DB_PASSWORD,
		'database' => DB_NAME,
	);
	if ( null !== $port ) {
		$settings['port'] = $port;
	}
	if ( null !== $socket ) {
		$settings['socket'] = $socket;
	}
	return array( 'mysql://', $settings );
}

/**
 * Whether the ledger file can be downloaded over HTTP: 'outside' (not under the web root),
 * 'protected' (under it, and a request for it is refused) or 'exposed' (it was served).
 */
function ledger_exposure(): string {
	$path = ledger_path();
	$root = trailingslashit( wp_normalize_path( ABSPATH ) );
	$file = wp_normalize_path( $path );
	if ( ! str_starts_with( $file, $root ) ) {
		return 'outside';
	}
	$url      = site_url( '/' . ltrim( substr( $file, strlen( $root ) ), '/' ) );
	$response = wp_remote_get(
		$url,
		array(
			'timeout'             => 5,
			'redirection'         => 0,
			'limit_response_size' => 64,
		)
	);
	if ( is_wp_error( $response ) ) {
		return 'protected';
	}
	$status = (int) wp_remote_retrieve_response_code( $response );
	$body   = (string) wp_remote_retrieve_body( $response );
	return ( 200 === $status && str_starts_with( $body, 'SQLite format 3' ) ) ? 'exposed' : 'protected';
}
