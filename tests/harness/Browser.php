<?php
/**
 * Headless Chromium through playwright-core (tests/browser/steps.mjs): one session, logged in,
 * running a list of steps — goto, fill, select, check, click, expect / expectNo text, width,
 * screenshot — and collecting the console errors of every page. Screenshots go under the test
 * output folder (`screenshots/`).
 */

declare(strict_types=1);

namespace InventorySync\Tests\Harness;

final class Browser
{
    /** Where screenshots are saved. */
    public static function screenshots(): string
    {
        return Paths::output() . '/screenshots';
    }

    /**
     * Runs $steps in one Chromium session on $site (or a site URL) logged in as `user` (default the site's admin; null:
     * not logged in). Options: user, password, width (default 1280), name (of the failure
     * screenshot). Throws when a step fails, with the step and what the page showed.
     *
     * @param list<array<string, mixed>> $steps See tests/browser/steps.mjs.
     * @param array{user?: string|null, password?: string, width?: int, name?: string} $options
     * @return array{ok: bool, steps: int, screenshots: list<string>, consoleErrors: list<string>, blockedRequests: list<string>, url: string}
     */
    public static function run(Site|string $site, array $steps, array $options = []): array
    {
        $user = array_key_exists('user', $options) ? $options['user'] : Site::ADMIN_USER;
        @unlink(self::screenshots() . '/' . ($options['name'] ?? 'browser') . '-failure.png'); // a stale one would mislead
        foreach ($steps as $step) {
            if (isset($step['screenshot'])) {
                @unlink(self::screenshots() . '/' . $step['screenshot'] . '.png');
            }
        }
        [$code, $stdout, $stderr] = Process::run([
            'node', Paths::repo() . '/tests/browser/steps.mjs', json_encode([
                'url' => is_string($site) ? $site : $site->url,
                'user' => $user,
                'password' => $options['password'] ?? Site::ADMIN_PASSWORD,
                'width' => $options['width'] ?? 1280,
                'screenshots' => self::screenshots(),
                'name' => $options['name'] ?? 'browser',
                'steps' => $steps,
            ], JSON_THROW_ON_ERROR),
        ]);
        $result = json_decode(trim($stdout), true);
        if ($code !== 0 || !is_array($result) || ($result['ok'] ?? false) !== true) {
            throw new \RuntimeException("browser steps failed: $stderr $stdout");
        }
        return $result;
    }

    /**
     * Opens one admin page, checks it shows $expect and does not scroll sideways at $width,
     * saves a screenshot named $name.
     *
     * @param list<string> $expect Texts the page must show.
     * @return string The screenshot's path.
     */
    public static function screenshotAdminPage(Site $site, string $path, array $expect, string $name, int $width = 1280): string
    {
        $steps = [['goto' => $path]];
        if ($expect !== []) {
            $steps[] = ['expect' => $expect];
        }
        $steps[] = ['fitsWidth' => true];
        $steps[] = ['screenshot' => $name];
        return self::run($site, $steps, ['width' => $width, 'name' => $name])['screenshots'][0];
    }
}
