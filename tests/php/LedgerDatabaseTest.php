<?php

declare(strict_types=1);

namespace InventorySync\Tests\Extension;

use InventorySync\Exception\ConflictException;
use InventorySync\Exception\LedgerException;
use InventorySync\Exception\ValidationException;
use InventorySync\Ledger;
use InventorySync\Tests\Harness\MariaDb;
use PHPUnit\Framework\TestCase;

/**
 * `new Ledger('mysql://…', ['mysql' => …])` opens the ledger in a MariaDB database, reached the
 * ways a WordPress site's settings give (a socket, host and port, a URL), on a throw-away
 * MariaDB server of its own.
 */
final class LedgerDatabaseTest extends TestCase
{
    private const USER = 'shop';
    /** Characters a URL would have to escape: the settings take the password as it is. */
    private const PASSWORD = 'S3cret:p@ss/w#rd';

    private static ?MariaDb $server = null;
    private static string $dir = '';

    public static function setUpBeforeClass(): void
    {
        self::$dir = sys_get_temp_dir() . '/inventory-sync-ledger-db-' . bin2hex(random_bytes(4));
        mkdir(self::$dir);
        self::$server = MariaDb::start(self::$dir);
        $mysqli = new \mysqli('localhost', 'root', '', '', 0, self::$server->socket);
        $mysqli->query("CREATE USER '" . self::USER . "'@'%' IDENTIFIED BY '" . $mysqli->real_escape_string(self::PASSWORD) . "'");
        $mysqli->query("CREATE USER '" . self::USER . "'@'localhost' IDENTIFIED BY '" . $mysqli->real_escape_string(self::PASSWORD) . "'");
        $mysqli->close();
    }

    public static function tearDownAfterClass(): void
    {
        self::$server?->stop();
        self::$server = null;
        exec('rm -rf ' . escapeshellarg(self::$dir));
    }

    /** A new database the shop user may use. */
    private function database(): string
    {
        $name = self::$server->createDatabase('ledger_' . bin2hex(random_bytes(4)));
        $mysqli = new \mysqli('localhost', 'root', '', '', 0, self::$server->socket);
        foreach (['%', 'localhost'] as $host) {
            $mysqli->query("GRANT ALL ON `$name`.* TO '" . self::USER . "'@'$host'");
        }
        $mysqli->close();
        return $name;
    }

    /** @return list<string> the tables of $database whose names start with $prefix */
    private function tables(string $database, string $prefix): array
    {
        $mysqli = new \mysqli('localhost', 'root', '', $database, 0, self::$server->socket);
        $result = $mysqli->query("SHOW TABLES LIKE '" . addcslashes($prefix, '_%') . "%'");
        $names = array_map(static fn (array $row): string => $row[0], $result->fetch_all());
        $mysqli->close();
        return $names;
    }

    public function test_the_site_s_settings_over_a_socket_keep_a_ledger_in_prefixed_tables(): void
    {
        $database = $this->database();
        $settings = [
            'host' => 'localhost',
            'socket' => self::$server->socket,
            'user' => self::USER,
            'password' => self::PASSWORD,
            'database' => $database,
            'table_prefix' => 'wp_inventory_sync_',
        ];
        $ledger = new Ledger('mysql://', ['mysql' => $settings]);
        self::assertSame('mysql://shop@localhost/' . $database . '?socket=' . self::$server->socket, $ledger->path());
        self::assertStringNotContainsString(self::PASSWORD, $ledger->path());

        $ledger->upsertLocation(['code' => 'WH1', 'name' => 'Main']);
        $ledger->upsertItem(['sku' => 'MUG-1', 'name' => 'Mug']);
        $ledger->record(['event_id' => 'po-1', 'sku' => 'MUG-1', 'kind' => 'receive', 'quantity' => 12, 'location' => 'WH1']);
        $first = $ledger->record(['event_id' => 'order-7', 'sku' => 'MUG-1', 'kind' => 'sale', 'quantity' => 5, 'location' => 'WH1']);
        $again = $ledger->record(['event_id' => 'order-7', 'sku' => 'MUG-1', 'kind' => 'sale', 'quantity' => 5, 'location' => 'WH1']);
        self::assertFalse($first['replayed']);
        self::assertTrue($again['replayed'], 'a replayed order counts once');
        self::assertSame(7, $ledger->stock('MUG-1')['on_hand']);

        $tables = $this->tables($database, 'wp_inventory_sync_');
        self::assertContains('wp_inventory_sync_movements', $tables);
        self::assertContains('wp_inventory_sync_stock_levels', $tables);
        self::assertSame([], array_diff($this->tables($database, ''), $tables), 'every table carries the prefix');

        // Another Ledger on the same settings (the next request of the worker) sees the same stock.
        $next = new Ledger('mysql://', ['mysql' => $settings]);
        self::assertSame(7, $next->stock('MUG-1')['on_hand']);
    }

    public function test_tcp_with_tls_preferred_falls_back_to_plain_and_required_refuses(): void
    {
        $database = $this->database();
        $tcp = [
            'host' => '127.0.0.1',
            'port' => self::$server->port,
            'user' => self::USER,
            'password' => self::PASSWORD,
            'database' => $database,
        ];
        // This server offers no TLS: preferred (the default) connects in plain.
        $ledger = new Ledger('mysql://', ['mysql' => $tcp]);
        self::assertSame('mysql://shop@127.0.0.1:' . self::$server->port . '/' . $database, $ledger->path());
        $ledger->upsertItem(['sku' => 'TCP-1', 'name' => 'Over TCP']);
        self::assertNotNull($ledger->item('TCP-1'));

        try {
            new Ledger('mysql://', ['mysql' => $tcp + ['tls' => 'required']]);
            self::fail('a server without TLS must be refused when TLS is required');
        } catch (LedgerException $e) {
            self::assertStringContainsString('requires secure connection', $e->getMessage());
            self::assertStringNotContainsString(self::PASSWORD, $e->getMessage());
        }
    }

    public function test_a_url_carries_everything_and_is_never_shown_with_its_password(): void
    {
        $database = $this->database();
        $url = sprintf('mysql://%s:%s@127.0.0.1:%d/%s', self::USER, rawurlencode(self::PASSWORD), self::$server->port, $database);
        $ledger = new Ledger($url);
        self::assertSame('mysql://shop@127.0.0.1:' . self::$server->port . '/' . $database, $ledger->path());
        $ledger->upsertItem(['sku' => 'URL-1', 'name' => 'By URL']);
        self::assertSame(['URL-1'], array_column($ledger->items()['items'], 'sku'));
    }

    public function test_copy_to_moves_a_ledger_file_into_the_database_and_retires_the_file(): void
    {
        $database = $this->database();
        $settings = [
            'socket' => self::$server->socket,
            'user' => self::USER,
            'password' => self::PASSWORD,
            'database' => $database,
            'table_prefix' => 'wp_inventory_sync_',
        ];
        $file = new Ledger(self::$dir . '/moving-' . bin2hex(random_bytes(4)) . '.sqlite');
        $file->upsertLocation(['code' => 'WH1', 'name' => 'Main']);
        $file->upsertItem(['sku' => 'MUG-1', 'name' => 'Mug']);
        $file->record(['event_id' => 'po-1', 'sku' => 'MUG-1', 'kind' => 'receive', 'quantity' => 12, 'location' => 'WH1']);
        $file->record(['event_id' => 'order-7', 'sku' => 'MUG-1', 'kind' => 'sale', 'quantity' => 5, 'location' => 'WH1']);
        $file->reserve(['event_id' => 'cart-1', 'sku' => 'MUG-1', 'quantity' => 2, 'location' => 'WH1']);

        $report = $file->copyTo('mysql://', ['mysql' => $settings]);
        self::assertSame(3, $report['rows']['movements']);
        self::assertSame(1, $report['rows']['reservations']);
        self::assertSame('mysql://shop@localhost/' . $database . '?socket=' . self::$server->socket, $report['target']);
        self::assertIsFloat($report['seconds']);

        $moved = new Ledger('mysql://', ['mysql' => $settings]);
        $stock = $moved->stock('MUG-1');
        self::assertSame([7, 2, 5], [$stock['on_hand'], $stock['reserved'], $stock['available']]);
        self::assertTrue($moved->record(['event_id' => 'order-7', 'sku' => 'MUG-1', 'kind' => 'sale', 'quantity' => 5, 'location' => 'WH1'])['replayed']);

        // The file still reads, takes no more writes, and says where the ledger went.
        self::assertSame(7, $file->stock('MUG-1')['on_hand']);
        try {
            $file->record(['event_id' => 'order-8', 'sku' => 'MUG-1', 'kind' => 'sale', 'quantity' => 1, 'location' => 'WH1']);
            self::fail('a retired file must refuse a sale');
        } catch (LedgerException $e) {
            self::assertStringContainsString('the ledger moved to a database', $e->getMessage());
            self::assertStringNotContainsString(self::PASSWORD, $e->getMessage());
        }
        self::assertSame(7, $file->stock('MUG-1')['on_hand']);

        // A second copy into the same (now full) database is refused and changes nothing there.
        $other = new Ledger(self::$dir . '/other-' . bin2hex(random_bytes(4)) . '.sqlite');
        $other->upsertItem(['sku' => 'OTHER', 'name' => 'Other']);
        try {
            $other->copyTo('mysql://', ['mysql' => $settings]);
            self::fail('a database holding a ledger must be refused');
        } catch (ConflictException $e) {
            self::assertStringContainsString('not empty', $e->getMessage());
        }
        self::assertNull($moved->item('OTHER'));
        $other->upsertItem(['sku' => 'OTHER', 'name' => 'Still writable']);

        foreach (
            [
                'a file path as target' => [self::$dir . '/x.sqlite', null],
                'an unknown option' => ['mysql://', ['retired' => false]],
            ] as $what => [$url, $options]
        ) {
            try {
                $other->copyTo($url, $options);
                self::fail("$what: expected a refusal");
            } catch (ValidationException $e) {
                self::assertNotSame('', $e->getMessage(), $what);
            }
        }
        try {
            $moved->copyTo('mysql://', ['mysql' => $settings]);
            self::fail('a database ledger is not copied');
        } catch (ValidationException $e) {
            self::assertStringContainsString('in a database', $e->getMessage());
        }
    }

    public function test_wrong_credentials_and_bad_settings_are_clear_errors_without_secrets(): void
    {
        $database = $this->database();
        $wrong = [
            'socket' => self::$server->socket,
            'user' => self::USER,
            'password' => 'not-the-password-42',
            'database' => $database,
        ];
        try {
            new Ledger('mysql://', ['mysql' => $wrong]);
            self::fail('a wrong password must not open the ledger');
        } catch (LedgerException $e) {
            self::assertStringContainsString('cannot connect to the ledger database', $e->getMessage());
            self::assertStringNotContainsString('not-the-password-42', $e->getMessage());
        }
        self::assertSame([], $this->tables($database, ''), 'nothing was created');

        $cases = [
            'no database named' => ['mysql://', ['mysql' => ['socket' => self::$server->socket, 'user' => self::USER, 'password' => self::PASSWORD]]],
            'a port out of range' => ['mysql://', ['mysql' => ['port' => 70000]]],
            'an unknown TLS mode' => ['mysql://', ['mysql' => ['tls' => 'sometimes']]],
            'a bad table prefix' => ['mysql://', ['mysql' => $wrong + ['table_prefix' => 'wp-; DROP']]],
            'an unknown setting' => ['mysql://', ['mysql' => ['hostname' => 'db']]],
            'server settings for a file' => [self::$dir . '/ledger.sqlite', ['mysql' => ['host' => 'db']]],
            'not a MySQL URL, password included' => ['mysql:/u:hunter2@db/x', null],
        ];
        foreach ($cases as $what => [$path, $options]) {
            try {
                new Ledger($path, $options);
                self::fail("$what: expected a refusal");
            } catch (ValidationException | LedgerException $e) {
                self::assertStringNotContainsString(self::PASSWORD, $e->getMessage(), $what);
                self::assertStringNotContainsString('hunter2', $e->getMessage(), $what);
            }
        }
    }
}
