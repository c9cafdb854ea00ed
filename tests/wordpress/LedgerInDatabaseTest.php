<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Paths;
use InventorySync\Tests\Harness\Response;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * With INVENTORY_SYNC_LEDGER = 'mysql' in wp-config.php the ledger lives in the site's own
 * MariaDB database (reached as WordPress reaches it, here DB_HOST 'localhost:/…socket'), in
 * tables carrying the site's prefix, and no ledger file is made; the status page names the
 * database without the password. A site on the file moves its ledger there from Settings →
 * Ledger or `wp inventory-sync ledger migrate --to=mysql`: copied, checked, the file retired,
 * the site switched.
 */
final class LedgerInDatabaseTest extends TestCase
{
    private const STATUS_PAGE = '/wp-admin/admin.php?page=inventory-sync';
    private const LEDGER_TAB = '/wp-admin/admin.php?page=inventory-sync-settings&tab=ledger';
    private const MOVE_ACTION = 'inventory_sync_move_ledger';
    /** Stock on the file before a move: received 9, sold 2, a cart holding 3. */
    private const STOCK_ON_FILE = <<<'PHP'
        $l = \InventorySync\ledger();
        $l->upsertItem(['sku' => 'MOVE-MUG', 'name' => 'Mug']);
        $l->record(['event_id' => 'po-move', 'sku' => 'MOVE-MUG', 'kind' => 'receive', 'quantity' => 9]);
        $l->record(['event_id' => 'order-move', 'sku' => 'MOVE-MUG', 'kind' => 'sale', 'quantity' => 2]);
        $l->reserve(['event_id' => 'cart-move', 'sku' => 'MOVE-MUG', 'quantity' => 3]);
        return \InventorySync\ledger_path();
        PHP;
    /** What the site's ledger says about MOVE-MUG, and where it is. */
    private const LEDGER_STATE = <<<'PHP'
        $l = \InventorySync\ledger();
        $s = $l->stock('MOVE-MUG');
        $again = $l->record(['event_id' => 'order-move', 'sku' => 'MOVE-MUG', 'kind' => 'sale', 'quantity' => 2]);
        return ['path' => $l->path(), 'stock' => [$s['on_hand'], $s['reserved']], 'replayed' => $again['replayed'], 'in_database' => \InventorySync\ledger_in_database()];
        PHP;

    /** A site keeping its ledger in a file (whatever INVENTORY_SYNC_TEST_LEDGER says). */
    private static function siteOnFile(string $name, array $options = []): Site
    {
        return Harness::site($name, $options + ['constants' => ['INVENTORY_SYNC_LEDGER' => null]]);
    }

    /** A sale ($event) written to the old file: the error it gets, or 'written'. */
    private static function writeToFile(Site $site, string $path, string $event): string
    {
        return (string) $site->eval(sprintf(<<<'PHP'
            try {
                (new \InventorySync\Ledger(%s))->record(['event_id' => %s, 'sku' => 'MOVE-MUG', 'kind' => 'sale', 'quantity' => 1]);
                return 'written';
            } catch (\InventorySync\Exception\LedgerException $e) {
                return $e->getMessage();
            }
            PHP, var_export($path, true), var_export($event, true)));
    }

    /** @param array<string, string> $fields */
    private static function post(Site $site, array $fields): Response
    {
        return $site->request('POST', '/wp-admin/admin-post.php', ['Content-Type' => 'application/x-www-form-urlencoded'], http_build_query($fields), true);
    }

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

    public function test_settings_move_the_ledger_file_into_the_database_once_checked(): void
    {
        $site = self::siteOnFile('ledger-move-button');
        try {
            $path = (string) $site->eval(self::STOCK_ON_FILE);
            $site->eval("wp_insert_user(['user_login' => 'subscriber', 'user_pass' => 'subscriber-password', 'user_email' => 'sub@example.test', 'role' => 'subscriber']); return true;");
            $site->login();
            $tab = $site->request('GET', self::LEDGER_TAB, [], null, true);
            self::assertSame(200, $tab->status);
            self::assertStringContainsString('Move the ledger into the database', $tab->body);
            self::assertSame(1, preg_match('/' . self::MOVE_ACTION . '.*?name="_wpnonce" value="([0-9a-f]+)"/s', $tab->body, $m), 'the move form and its nonce');
            $nonce = $m[1];

            // A forged nonce and a subscriber move nothing.
            self::assertSame(403, self::post($site, ['action' => self::MOVE_ACTION, '_wpnonce' => 'deadbeef00'])->status);
            $site->login('subscriber', 'subscriber-password');
            self::assertSame(403, self::post($site, ['action' => self::MOVE_ACTION, '_wpnonce' => $nonce])->status);
            $site->login();
            // A new session: its own nonce.
            $tab = $site->request('GET', self::LEDGER_TAB, [], null, true);
            self::assertSame(1, preg_match('/' . self::MOVE_ACTION . '.*?name="_wpnonce" value="([0-9a-f]+)"/s', $tab->body, $m));
            $nonce = $m[1];
            self::assertSame('written', self::writeToFile($site, $path, 'late-sale'), 'the file is still the ledger');
            self::assertSame([], $site->eval("global \$wpdb; return \$wpdb->get_col( \"SHOW TABLES LIKE 'wp\\\\_inventory\\\\_sync\\\\_%'\" );"));

            $moved = self::post($site, ['action' => self::MOVE_ACTION, '_wpnonce' => $nonce]);
            self::assertSame(302, $moved->status);
            self::assertStringEndsWith('page=inventory-sync-settings&tab=ledger', (string) $moved->header('location'));
            $tab = $site->request('GET', self::LEDGER_TAB, [], null, true);
            self::assertMatchesRegularExpression('#The ledger moved into the database: \d+ rows copied to mysql://root@localhost/wp_[0-9a-f]+\?socket=\S+ and checked in [0-9.]+ s\.#', $tab->body);
            self::assertStringContainsString('The ledger was moved into a MariaDB/MySQL database', $tab->body);
            self::assertStringNotContainsString('name="action" value="' . self::MOVE_ACTION . '"', $tab->body, 'no second move');

            // Every request now uses the database: the same stock, the old sale a replay; the
            // file is kept but refuses writes.
            $state = $site->eval(self::LEDGER_STATE);
            self::assertStringStartsWith('mysql://', $state['path']);
            self::assertSame([6, 3], $state['stock'], 'received 9, sold 2, the late sale once; 3 held');
            self::assertTrue($state['replayed']);
            self::assertTrue($state['in_database']);
            self::assertFileExists($path);
            self::assertStringContainsString('the ledger moved to a database', self::writeToFile($site, $path, 'after-move'));
            self::assertSame(1, (int) $site->eval("global \$wpdb; return \$wpdb->get_var( \"SELECT COUNT(*) FROM wp_inventory_sync_movements WHERE event_id = 'late-sale'\" );"));

            // The button again (a second tab left open): refused, nothing changed.
            self::assertSame(302, self::post($site, ['action' => self::MOVE_ACTION, '_wpnonce' => $nonce])->status);
            self::assertStringContainsString('The ledger was not moved: The ledger is in the database already.', $site->request('GET', self::LEDGER_TAB, [], null, true)->body);
            self::assertSame('', $site->errorLog());
        } finally {
            $site->stop();
        }
    }

    public function test_wp_cli_moves_the_ledger_and_refuses_what_it_cannot_do(): void
    {
        $site = self::siteOnFile('ledger-move-cli', [
            'prepare' => static function (string $dir): void {
                @mkdir($dir . '/wordpress/wp-content/mu-plugins', 0755, true);
                copy(Paths::repo() . '/tests/stand-ins/wp-cli-stand-in.php', $dir . '/wordpress/wp-content/mu-plugins/wp-cli-stand-in.php');
            },
        ]);
        $wp = static fn (array $args, array $assoc = []): array => $site->eval(sprintf('return WP_CLI::run_stand_in(%s, %s);', var_export($args, true), var_export($assoc, true)));
        try {
            $path = (string) $site->eval(self::STOCK_ON_FILE);
            self::assertSame('Error: Usage: wp inventory-sync ledger migrate --to=mysql', $wp(['inventory-sync', 'ledger', 'move'], ['to' => 'mysql'])['error']);
            self::assertSame('Error: The ledger can move --to=mysql only.', $wp(['inventory-sync', 'ledger', 'migrate'], ['to' => 'sqlite'])['error']);
            // A database already holding a ledger is refused; the site stays on its file.
            $site->eval("\$l = new \\InventorySync\\Ledger('mysql://', ['mysql' => \\InventorySync\\ledger_database()[1]]); \$l->upsertItem(['sku' => 'IN-THE-WAY', 'name' => 'x']); return true;");
            $refused = $wp(['inventory-sync', 'ledger', 'migrate'], ['to' => 'mysql']);
            self::assertFalse($refused['ok']);
            self::assertStringContainsString('the target ledger is not empty: table wp_inventory_sync_items has rows', (string) $refused['error']);
            self::assertFalse($site->eval('return \InventorySync\ledger_in_database();'));
            self::assertSame('written', self::writeToFile($site, $path, 'late-sale'));
            $site->eval("global \$wpdb; \$wpdb->query( 'DELETE FROM wp_inventory_sync_items' ); return true;");

            $moved = $wp(['inventory-sync', 'ledger', 'migrate'], ['to' => 'mysql']);
            self::assertTrue($moved['ok'], (string) $moved['error']);
            self::assertMatchesRegularExpression('#^Success: The ledger moved to mysql://root@localhost/\S+ \(\d+ rows, checked, in [0-9.]+ s\)\. The file is kept, read-only\.$#', end($moved['output']));
            self::assertContains('movements 4', array_map(static fn (string $line): string => (string) preg_replace('/\s+/', ' ', trim($line, " |\t")), $moved['output']), 'the table of rows per table');
            $state = $site->eval(self::LEDGER_STATE);
            self::assertSame([6, 3], $state['stock']);
            self::assertTrue($state['replayed']);
            self::assertStringContainsString('the ledger moved to a database', self::writeToFile($site, $path, 'after-move'));

            self::assertSame('Error: The ledger is in the database already.', $wp(['inventory-sync', 'ledger', 'migrate'], ['to' => 'mysql'])['error']);
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
