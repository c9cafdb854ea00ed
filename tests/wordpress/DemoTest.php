<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Browser;
use InventorySync\Tests\Harness\Paths;
use InventorySync\Tests\Harness\Process;
use PHPUnit\Framework\TestCase;

/**
 * `./build.sh demo`'s main job (tests/harness/bin/demo.php) run as a newcomer runs it: it must end
 * with exit 0, every channel at the ledger's allocation after the full sync, the REST sale and the
 * store order, and every wp-admin page of the plugin showing figures read from the ledger at the
 * end of the run (the demo checks them itself and fails otherwise); the store it leaves running
 * answers in Chromium; its processes are stopped by their recorded process groups.
 */
final class DemoTest extends TestCase
{
    public function test_the_demo_runs_the_main_job_and_every_admin_page_shows_its_data(): void
    {
        $dir = Paths::output() . '/demo-test';
        [$code, $out, $err] = Process::run([PHP_BINARY, '-d', 'extension=' . Paths::extension(), Paths::harness() . '/bin/demo.php', $dir]);
        $pgids = is_file("$dir/pgids") ? array_map('intval', array_filter(explode("\n", (string) file_get_contents("$dir/pgids")))) : [];
        try {
            file_put_contents(Paths::output() . '/demo-test.log', $out . $err);
            self::assertSame(0, $code, "the demo failed:\n" . $out . $err);
            self::assertCount(3, $pgids, 'MariaDB, the web server and the fake channels, recorded for ./build.sh stop');
            self::assertStringContainsString("wp-admin: 9 of 9 pages show the demo's data; PHP/WordPress log: empty", $out);
            self::assertStringNotContainsString('DIFF', $out, 'a channel showed another number than the ledger allocates');
            self::assertStringNotContainsString('MISSING', $out);
            self::assertMatchesRegularExpression('/every channel showed it \d+\.\d s after the sale was answered/', $out);
            self::assertMatchesRegularExpression('/every channel showed it \d+\.\d s after the order was placed/', $out);
            self::assertSame(1, preg_match('#URL:\s+(http://127\.0\.0\.1:\d+)/wp-admin/admin\.php\?page=inventory-sync#', $out, $m), 'the store URL is printed');
            self::assertSame(1, preg_match('#Login:\s+(\S+) / (\S+)#', $out, $login));

            // The store is left running: log in with the printed credentials and look at the dashboard.
            $result = Browser::run($m[1], [
                ['goto' => '/wp-admin/admin.php?page=inventory-sync'],
                ['expect' => ['Sync activity, last 7 days', 'CAP-BLACK', 'Drift: 0 listings']],
                ['fitsWidth' => true],
                ['screenshot' => 'demo-dashboard'],
            ], ['name' => 'demo', 'user' => $login[1], 'password' => $login[2]]);
            self::assertSame([], $result['consoleErrors']);
        } finally {
            foreach ($pgids as $pgid) {
                Process::stop($pgid);
            }
        }
        foreach ($pgids as $pgid) {
            self::assertSame([], Process::members($pgid), "process group $pgid is gone");
        }
        // Its output is kept in demo-test.log; the store itself (WordPress copy, database) goes.
        Process::run(['rm', '-rf', $dir]);
        self::assertDirectoryDoesNotExist($dir);
    }
}
