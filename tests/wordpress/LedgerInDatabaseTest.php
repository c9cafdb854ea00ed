<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * With INVENTORY_SYNC_LEDGER = 'mysql' in wp-config.php the ledger lives in the site's own
 * MariaDB database (reached as WordPress reaches it, here DB_HOST 'localhost:/…socket'), in
 * tables carrying the site's prefix, and no ledger file is made; the status page names the
 * database without the password.
 */
final class LedgerInDatabaseTest extends TestCase
{
    private const STATUS_PAGE = '/wp-admin/admin.php?page=inventory-sync';

    public function test_the_ledger_lives_in_the_site_s_database_when_wp_config_says_so(): void
    {
        $site = Harness::site('ledger-in-database', ['constants' => ['INVENTORY_SYNC_LEDGER' => 'mysql']]);
        try {
            $where = (string) $site->eval('return \InventorySync\ledger()->path();');
            self::assertMatchesRegularExpression('#^mysql://root@localhost/[a-z0-9_]+\?socket=/.+\.sock$#', $where);
            $tables = $site->eval("global \$wpdb; return \$wpdb->get_col( \"SHOW TABLES LIKE 'wp\\\\_inventory\\\\_sync\\\\_%'\" );");
            self::assertContains('wp_inventory_sync_movements', $tables);
            self::assertContains('wp_inventory_sync_stock_levels', $tables);
            self::assertFileDoesNotExist(dirname($site->root) . '/inventory-sync-data/ledger.sqlite', 'no ledger file');

            // Stock recorded through the plugin's ledger is in those tables, counted once.
            $site->eval("\\InventorySync\\ledger()->upsertItem(['sku' => 'DB-MUG', 'name' => 'Mug']); return null;");
            foreach ([1, 2] as $delivery) {
                $site->eval("return \\InventorySync\\ledger()->record(['event_id' => 'po-9', 'sku' => 'DB-MUG', 'kind' => 'receive', 'quantity' => 4]);");
            }
            self::assertSame(4, $site->eval("return \\InventorySync\\ledger()->stock('DB-MUG')['on_hand'];"));
            self::assertSame('1', (string) $site->eval("global \$wpdb; return \$wpdb->get_var( \"SELECT COUNT(*) FROM wp_inventory_sync_movements WHERE event_id = 'po-9'\" );"));

            $site->login();
            $page = $site->request('GET', self::STATUS_PAGE, [], null, true);
            self::assertSame(200, $page->status);
            self::assertStringContainsString('Ledger database', $page->body);
            self::assertStringContainsString(htmlspecialchars($where), $page->body);
            self::assertStringNotContainsString('Ledger file', $page->body);
            $settings = $site->request('GET', '/wp-admin/admin.php?page=inventory-sync-settings&tab=ledger', [], null, true);
            self::assertStringContainsString('The ledger is kept in a MariaDB/MySQL database', $settings->body);
            self::assertStringContainsString(htmlspecialchars($where), $settings->body);
            self::assertSame('', $site->errorLog());
        } finally {
            $site->stop();
        }
    }

    public function test_uninstall_keeps_the_tables_unless_the_owner_opted_in(): void
    {
        $site = Harness::site('ledger-in-database-uninstall', ['constants' => ['INVENTORY_SYNC_LEDGER' => 'mysql']]);
        try {
            $plugin = var_export(Site::PLUGIN, true);
            $tables = "global \$wpdb; return \$wpdb->get_col( \"SHOW TABLES LIKE 'wp\\\\_inventory\\\\_sync\\\\_%'\" );";
            self::assertContains('wp_inventory_sync_movements', $site->eval($tables));
            $site->eval("deactivate_plugins($plugin); uninstall_plugin($plugin); return true;");
            self::assertContains('wp_inventory_sync_movements', $site->eval($tables), 'the stock history stays unless the owner opted in');

            self::assertNull($site->eval("\$r = activate_plugin($plugin); return is_wp_error(\$r) ? \$r->get_error_message() : \$r;"));
            $site->eval("update_option(\\InventorySync\\OPTION_DELETE_LEDGER_ON_UNINSTALL, true); deactivate_plugins($plugin); uninstall_plugin($plugin); return true;");
            self::assertSame([], $site->eval($tables), 'every ledger table is dropped');
            self::assertContains('wp_options', $site->eval("global \$wpdb; return \$wpdb->get_col( 'SHOW TABLES' );"), "WordPress's own tables stay");
            self::assertSame('', $site->errorLog());
        } finally {
            $site->stop();
        }
    }
}
