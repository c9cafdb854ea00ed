<?php
/**
 * Headless Chromium through playwright-core (tests/browser): log in, open a page, check text,
 * save a screenshot under the test output folder.
 */

declare(strict_types=1);

namespace InventorySync\Tests\Harness;

final class Browser
{
    /**
     * @param list<string> $expect Texts the page must show.
     * @return string The screenshot's path.
     */
    public static function screenshotAdminPage(Site $site, string $path, array $expect, string $name, int $width = 1280): string
    {
        $out = Paths::output() . '/screenshots';
        @mkdir($out, 0755, true);
        $file = "$out/$name.png";
        @unlink($file);
        [$code, $stdout, $stderr] = Process::run([
            'node', Paths::repo() . '/tests/browser/admin-page.mjs', json_encode([
                'url' => $site->url,
                'user' => Site::ADMIN_USER,
                'password' => Site::ADMIN_PASSWORD,
                'path' => $path,
                'expect' => $expect,
                'screenshot' => $file,
                'width' => $width,
            ], JSON_THROW_ON_ERROR),
        ]);
        if ($code !== 0) {
            throw new \RuntimeException("browser check of $path failed: $stderr $stdout");
        }
        return $file;
    }
}
