<?php

declare(strict_types=1);

namespace InventorySync\Tests\Extension;

use InventorySync\Tests\Harness\Paths;
use PHPUnit\Framework\TestCase;

/**
 * Every translatable string of the plugin uses its text domain and is in the shipped template
 * (php-plugin/languages/inventory-sync.pot, made by `./build.sh pot`; the build and the test
 * command also check that it is current).
 */
final class TranslationsTest extends TestCase
{
    /** Gettext function => the position (0-based) of its text-domain argument. */
    private const DOMAIN_ARGUMENT = [
        '__' => 1, '_e' => 1, 'esc_html__' => 1, 'esc_html_e' => 1, 'esc_attr__' => 1, 'esc_attr_e' => 1,
        '_x' => 2, '_ex' => 2, 'esc_html_x' => 2, 'esc_attr_x' => 2, '_n' => 3, '_nx' => 4,
    ];

    /**
     * Each gettext call of the plugin: [file:line, function, its arguments as source text].
     *
     * @return list<array{string, string, list<string>}>
     */
    private static function calls(): array
    {
        $calls = [];
        $files = new \RecursiveIteratorIterator(new \RecursiveDirectoryIterator(Paths::plugin(), \FilesystemIterator::SKIP_DOTS));
        foreach ($files as $file) {
            if ($file->getExtension() !== 'php' || str_contains($file->getPathname(), '/stubs/')) {
                continue;
            }
            $tokens = token_get_all((string) file_get_contents($file->getPathname()));
            foreach ($tokens as $i => $token) {
                if (!is_array($token) || $token[0] !== T_STRING || !isset(self::DOMAIN_ARGUMENT[$token[1]])) {
                    continue;
                }
                // The next meaningful token must open the call (not a definition or a constant).
                $j = $i + 1;
                while (is_array($tokens[$j] ?? null) && $tokens[$j][0] === T_WHITESPACE) {
                    $j++;
                }
                $previous = $tokens[$i - 1] ?? null;
                if (($tokens[$j] ?? null) !== '(' || (is_array($previous) && in_array($previous[0], [T_FUNCTION, T_OBJECT_OPERATOR, T_DOUBLE_COLON], true))) {
                    continue;
                }
                $args = [''];
                $depth = 0;
                for ($k = $j + 1; $k < count($tokens); $k++) {
                    $t = $tokens[$k];
                    $text = is_array($t) ? $t[1] : $t;
                    if ($depth === 0 && $text === ')') {
                        break;
                    }
                    if ($depth === 0 && $text === ',') {
                        $args[] = '';
                        continue;
                    }
                    $depth += in_array($text, ['(', '[', '{'], true) ? 1 : (in_array($text, [')', ']', '}'], true) ? -1 : 0);
                    $args[count($args) - 1] .= $text;
                }
                $calls[] = [substr($file->getPathname(), strlen(Paths::plugin()) + 1) . ':' . $token[2], $token[1], array_map('trim', $args)];
            }
        }
        return $calls;
    }

    public function test_every_string_uses_the_plugin_text_domain(): void
    {
        $calls = self::calls();
        self::assertGreaterThan(200, count($calls), 'the admin pages alone have hundreds');
        $wrong = [];
        foreach ($calls as [$where, $function, $args]) {
            $domain = $args[self::DOMAIN_ARGUMENT[$function]] ?? '(none)';
            if ($domain !== "'inventory-sync'") {
                $wrong[] = "$where $function(): text domain $domain";
            }
        }
        self::assertSame([], $wrong);
    }

    public function test_the_shipped_template_holds_the_strings(): void
    {
        $pot = (string) file_get_contents(Paths::plugin() . '/languages/inventory-sync.pot');
        self::assertStringContainsString('"Content-Type: text/plain; charset=UTF-8\n"', $pot);
        $strings = [];
        foreach (self::calls() as [, , $args]) {
            // Literal first arguments (single-quoted, no concatenation) must be in the template.
            if (preg_match("/^'((?:[^'\\\\]|\\\\.)*)'$/s", $args[0], $m)) {
                $strings[] = stripcslashes(str_replace("\\'", "'", $m[1]));
            }
        }
        self::assertGreaterThan(150, count($strings));
        $missing = [];
        foreach (array_unique($strings) as $string) {
            $msgid = 'msgid "' . addcslashes($string, "\"\\") . '"';
            if (!str_contains($pot, $msgid) && !str_contains(str_replace("\"\n\"", '', $pot), $msgid)) {
                $missing[] = $string;
            }
        }
        self::assertSame([], array_slice($missing, 0, 10), 'run ./build.sh pot');
    }
}
