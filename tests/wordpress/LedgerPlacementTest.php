<?php

declare(strict_types=1);

namespace InventorySync\Tests\WordPress;

use InventorySync\Tests\Harness\Harness;
use InventorySync\Tests\Harness\Site;
use PHPUnit\Framework\TestCase;

/**
 * Where the plugin puts the ledger file, and the status page's check that it cannot be
 * downloaded: outside the web root by default; inside wp-content behind deny files, in a directory
 * whose name cannot be guessed, when outside is impossible (on nginx, which reads no deny files,
 * flagged with the rule to add); and a loud warning when a configured path is reachable over HTTP.
 */
final class LedgerPlacementTest extends TestCase
{
    private const STATUS_PAGE = '/wp-admin/admin.php?page=inventory-sync';

    public function test_default_ledger_lives_outside_the_web_root(): void
    {
        $site = Harness::site('ledger-outside');
        try {
            $path = $site->eval('return \InventorySync\ledger_path();');
            self::assertSame(dirname($site->root) . '/inventory-sync-data/ledger.sqlite', $path);
            self::assertFileExists($path, 'activation created the ledger');
            self::assertSame('SQLite format 3', substr((string) file_get_contents($path, false, null, 0, 15), 0, 15));
            self::assertSame(['MAIN'], $site->eval("return array_column(\\InventorySync\\ledger()->locations(), 'code');"));

            $site->login();
            $page = $site->request('GET', self::STATUS_PAGE, [], null, true);
            self::assertStringContainsString(htmlspecialchars($path), $page->body);
            self::assertStringContainsString('outside the web root — cannot be downloaded', $page->body);
            self::assertSame('', $site->errorLog());
        } finally {
            $site->stop();
        }
    }

    public function test_fallback_inside_wp_content_is_protected_by_deny_files(): void
    {
        // Make the outside directory impossible: a plain file already has its name.
        $site = Harness::site('ledger-inside', ['prepare' => static function (string $dir): void {
            file_put_contents($dir . '/inventory-sync-data', 'not a directory');
        }]);
        try {
            $path = $site->eval('return \InventorySync\ledger_path();');
            self::assertSame(1, preg_match('#^' . preg_quote($site->root, '#') . '/wp-content/(inventory-sync-[0-9a-f]{24})/ledger\.sqlite$#', $path, $m), "$path: a directory name that cannot be guessed");
            self::assertSame($path, $site->eval('return \InventorySync\ledger_path();'), 'remembered: it never moves by itself');
            foreach (['.htaccess', 'web.config', 'index.php'] as $guard) {
                self::assertFileExists(dirname($path) . '/' . $guard);
            }
            self::assertStringContainsString('Require all denied', (string) file_get_contents(dirname($path) . '/.htaccess'));
            $download = $site->request('GET', "/wp-content/{$m[1]}/ledger.sqlite");
            self::assertSame(403, $download->status);
            self::assertStringNotContainsString('SQLite format 3', $download->body);

            $site->login();
            $page = $site->request('GET', self::STATUS_PAGE, [], null, true);
            self::assertStringContainsString('inside the web root, but a download attempt was refused', $page->body);
            self::assertSame('', $site->errorLog());
        } finally {
            $site->stop();
        }
    }

    public function test_on_nginx_the_fallback_inside_wp_content_is_flagged_with_the_rule_to_add(): void
    {
        // nginx reads no deny files: whoever knows the path could download the ledger. The
        // directory's name cannot be guessed, and the status page says what to add.
        $site = Harness::site('ledger-inside-nginx', ['server' => 'fpm', 'prepare' => static function (string $dir): void {
            file_put_contents($dir . '/inventory-sync-data', 'not a directory');
        }]);
        try {
            $path = (string) $site->eval('return \InventorySync\ledger_path();');
            self::assertSame(1, preg_match('#/wp-content/inventory-sync-[0-9a-f]{24}/ledger\.sqlite$#', $path), $path);
            $guessed = $site->request('GET', '/wp-content/inventory-sync/ledger.sqlite');
            self::assertNotSame(200, $guessed->status, 'the guessable path holds nothing');
            self::assertStringNotContainsString('SQLite format 3', $guessed->body);
            self::assertSame('exposed', $site->eval('return \InventorySync\ledger_exposure();'));
            $site->login();
            $page = $site->request('GET', self::STATUS_PAGE, [], null, true);
            self::assertStringContainsString('WARNING: the ledger file can be downloaded over HTTP', $page->body);
            self::assertStringContainsString('location ~* /inventory-sync- { deny all; }', html_entity_decode($page->body));
            self::assertSame('', $site->errorLog());
        } finally {
            $site->stop();
        }
    }

    public function test_a_downloadable_ledger_is_flagged_on_the_status_page(): void
    {
        $site = Harness::site('ledger-exposed', ['prepare' => static function (string $dir): void {
            mkdir($dir . '/wordpress/wp-content/uploads', 0755, true);
        }, 'constants' => ['INVENTORY_SYNC_DB' => '{site}/wordpress/wp-content/uploads/ledger.sqlite']]);
        try {
            $exposed = $site->root . '/wp-content/uploads/ledger.sqlite';
            self::assertSame($exposed, $site->eval('return \InventorySync\ledger_path();'));
            self::assertFileExists($exposed, 'activation created the ledger where the constant says');

            $site->login();
            $page = $site->request('GET', self::STATUS_PAGE, [], null, true);
            self::assertStringContainsString('WARNING: the ledger file can be downloaded over HTTP', $page->body);
            self::assertSame('', $site->errorLog());
        } finally {
            $site->stop();
        }
    }
}
