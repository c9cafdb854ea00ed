<?php
/**
 * PHPUnit bootstrap: the harness, and a clear failure when the extension is not loaded.
 */

declare(strict_types=1);

require_once __DIR__ . '/harness/Harness.php';

if (!extension_loaded('inventory_sync')) {
    fwrite(STDERR, "The inventory_sync extension is not loaded. Run the tests with ./build.sh test\n"
        . "(or php -d extension=target/release/libinventory_sync.so /usr/bin/phpunit -c tests/phpunit.xml).\n");
    exit(2);
}
