<?php

declare(strict_types=1);

namespace InventorySync\Tests\Extension;

use InventorySync\Tests\Harness\Paths;
use InventorySync\Tests\Harness\Process;
use PHPUnit\Framework\TestCase;

require_once dirname(__DIR__) . '/harness/describe-api.php';

/**
 * The plugin's stub file declares exactly what the extension exports, with the same signatures.
 */
final class StubsTest extends TestCase
{
    public function test_stub_file_matches_reflection_of_the_extension(): void
    {
        $stub = Paths::plugin() . '/stubs/inventory-sync-extension.stub.php';
        // The stub cannot be loaded next to the extension (names would clash): describe it from a
        // PHP process that has no extensions beyond the defaults.
        [$code, $out, $err] = Process::run(['php', '-n', '-r', sprintf(
            'require %s; require %s; echo json_encode(inventory_sync_describe_api(get_defined_functions()["user"], get_declared_classes()));',
            var_export($stub, true),
            var_export(Paths::harness() . '/describe-api.php', true)
        )]);
        self::assertSame(0, $code, $err . $out);
        $fromStub = json_decode($out, true);

        $extension = new \ReflectionExtension('inventory_sync');
        $fromExtension = inventory_sync_describe_api(array_keys($extension->getFunctions()), $extension->getClassNames());

        self::assertNotEmpty($fromExtension['functions']);
        self::assertNotEmpty($fromExtension['classes']);
        self::assertSame($fromExtension, $fromStub);
    }
}
