<?php
/**
 * Installs WordPress in the site given as argv[1] (no wp-cli here) and activates plugins.
 * Options arrive as JSON on stdin; prints {"installed": true, "activated": [...]}.
 */

declare(strict_types=1);

$options = json_decode((string) stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
$root = rtrim($argv[1], '/');
$url = (string) getenv('INVENTORY_SYNC_SITE_URL');
$_SERVER['HTTP_HOST'] = (string) parse_url($url, PHP_URL_HOST) . ':' . (string) parse_url($url, PHP_URL_PORT);
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';

define('WP_INSTALLING', true);
require $root . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';

$install = wp_install($options['title'], $options['user'], $options['email'], true, '', wp_slash($options['password']));
update_option('permalink_structure', '/%postname%/');
update_option('timezone_string', 'UTC');
flush_rewrite_rules(true);

$activated = [];
foreach ($options['plugins'] as $inventory_sync_plugin) {
    $inventory_sync_result = activate_plugin($inventory_sync_plugin);
    if (is_wp_error($inventory_sync_result)) {
        fwrite(STDERR, $inventory_sync_plugin . ': ' . $inventory_sync_result->get_error_message() . "\n");
        exit(1);
    }
    $activated[] = $inventory_sync_plugin;
}

echo json_encode(['installed' => isset($install['user_id']), 'activated' => $activated]);
