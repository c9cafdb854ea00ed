<?php
/**
 * Evaluates PHP code (stdin) inside the WordPress site given as argv[1], like `wp eval`, and
 * prints {"result": <return value>} as JSON. Test-only.
 */

declare(strict_types=1);

$inventory_sync_code = (string) stream_get_contents(STDIN);
$inventory_sync_root = rtrim($argv[1], '/');
$inventory_sync_url = (string) getenv('INVENTORY_SYNC_SITE_URL');
$_SERVER['HTTP_HOST'] = (string) parse_url($inventory_sync_url, PHP_URL_HOST) . ':' . (string) parse_url($inventory_sync_url, PHP_URL_PORT);
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';

require $inventory_sync_root . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';

try {
    $inventory_sync_result = (static function () use ($inventory_sync_code) {
        return eval($inventory_sync_code);
    })();
} catch (\Throwable $inventory_sync_error) {
    // Say what went wrong plainly instead of WordPress's HTML error page.
    echo json_encode(['error' => get_class($inventory_sync_error) . ': ' . $inventory_sync_error->getMessage() . ' at ' . $inventory_sync_error->getFile() . ':' . $inventory_sync_error->getLine()]);
    exit(1);
}
echo json_encode(['result' => $inventory_sync_result]);
