<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * Activation schedules, deactivation clears, uninstall removes everything the plugin created.
 */
final class LifecycleTest extends TestCase
{
    /** Every scheduled cron event of ours (works while the plugin is inactive). */
    private const OUR_CRON_EVENTS = <<<'PHP'
        $hooks = [];
        foreach (_get_cron_array() ?: [] as $events) {
            foreach (array_keys($events) as $hook) {
                if (str_starts_with($hook, 'inventory_sync_')) { $hooks[] = $hook; }
            }
        }
        return $hooks;
        PHP;

    public function test_deactivate_reactivate_and_uninstall(): void
    {
        $site = Harness::site('lifecycle');
        try {
            $plugin = var_export(Site::PLUGIN, true);
            self::assertIsInt($site->eval("return wp_next_scheduled('inventory_sync_health_check');"));

            $hooks = $site->eval('return array_keys(\InventorySync\cron_hooks());');
            self::assertContains('inventory_sync_retention', $hooks);
            $site->eval("deactivate_plugins($plugin); return true;");
            self::assertFalse($site->eval("return wp_next_scheduled('inventory_sync_health_check');"));
            self::assertSame([], $site->eval(self::OUR_CRON_EVENTS), 'deactivation clears every event');

            self::assertNull($site->eval("\$r = activate_plugin($plugin); return is_wp_error(\$r) ? \$r->get_error_message() : \$r;"));
            self::assertIsInt($site->eval("return wp_next_scheduled('inventory_sync_health_check');"));

            // Create every kind of data the plugin keeps, then uninstall.
            $site->eval(<<<'PHP'
                foreach (\InventorySync\option_names() as $o) {
                    if ($o !== \InventorySync\OPTION_LEDGER_PATH) { update_option($o, 'x'); }
                }
                update_option(\InventorySync\OPTION_DELETE_LEDGER_ON_UNINSTALL, false);
                set_transient(\InventorySync\TRANSIENT_FLASH . '1', ['type' => 'success', 'message' => 'x'], 300);
                // Scheduled events and the state the kick and the alerts keep.
                \InventorySync\Cron\kick_wanted(true);
                \InventorySync\Alerts\check();
                wp_schedule_single_event(time() + 3600, \InventorySync\CRON_RUN_QUEUE);
                return true;
                PHP);
            $left = $site->eval(<<<PHP
                deactivate_plugins($plugin);
                uninstall_plugin($plugin);
                global \$wpdb;
                return [
                    'options' => \$wpdb->get_col("SELECT option_name FROM {\$wpdb->options} WHERE option_name LIKE '%inventory_sync%'"),
                    'cron' => wp_next_scheduled('inventory_sync_health_check'),
                ];
                PHP);
            self::assertSame(['options' => [], 'cron' => false], $left, 'no option or transient is left');
            self::assertSame([], $site->eval(self::OUR_CRON_EVENTS), 'no cron event is left');
            self::assertFileExists(dirname($site->root) . '/inventory-sync-data/ledger.sqlite', 'the stock history stays unless the owner opted in');
            self::assertSame('', $site->errorLog());
        } finally {
            $site->stop();
        }
    }

    public function test_uninstall_deletes_the_ledger_when_the_owner_opted_in(): void
    {
        $site = Harness::site('uninstall-delete');
        try {
            $plugin = var_export(Site::PLUGIN, true);
            $path = $site->eval('return \InventorySync\ledger_path();');
            self::assertFileExists($path);
            $site->eval("update_option(\\InventorySync\\OPTION_DELETE_LEDGER_ON_UNINSTALL, true); deactivate_plugins($plugin); uninstall_plugin($plugin); return true;");
            self::assertFileDoesNotExist($path);
            self::assertDirectoryDoesNotExist(dirname($path));
            self::assertSame('', $site->errorLog());
        } finally {
            $site->stop();
        }
    }
}
