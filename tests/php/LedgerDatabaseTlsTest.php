<?php

declare(strict_types=1);

namespace InventorySync\Tests\Extension;

use InventorySync\Exception\LedgerException;
use InventorySync\Ledger;
use InventorySync\Tests\Harness\MariaDb;
use InventorySync\Tests\Harness\Process;
use PHPUnit\Framework\TestCase;

/**
 * The ledger's connection to a database server that takes TLS only (`require_secure_transport`)
 * with a certificate for 127.0.0.1 signed by a CA made for the test (`openssl req`): each TLS
 * mode connects or refuses as the MySQL client's `--ssl-mode` would.
 */
final class LedgerDatabaseTlsTest extends TestCase
{
    private static ?MariaDb $server = null;
    private static string $dir = '';

    public static function setUpBeforeClass(): void
    {
        self::$dir = sys_get_temp_dir() . '/inventory-sync-ledger-tls-' . bin2hex(random_bytes(4));
        mkdir(self::$dir);
        $ca = self::$dir . '/ca';
        $other = self::$dir . '/other-ca';
        self::makeCa($ca);
        self::makeCa($other);
        $server = self::$dir . '/server';
        file_put_contents(self::$dir . '/server.ext', "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
        self::openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$server.key", '-out', "$server.csr", '-subj', '/CN=127.0.0.1']);
        self::openssl(['x509', '-req', '-in', "$server.csr", '-CA', "$ca.pem", '-CAkey', "$ca.key", '-CAcreateserial',
            '-out', "$server.pem", '-days', '2', '-extfile', self::$dir . '/server.ext']);
        self::$server = MariaDb::start(self::$dir . '/db', [
            "--ssl-ca=$ca.pem", "--ssl-cert=$server.pem", "--ssl-key=$server.key", '--require-secure-transport=ON',
        ]);
        self::$server->createDatabase('ledger');
        $mysqli = new \mysqli('localhost', 'root', '', '', 0, self::$server->socket);
        $mysqli->query("CREATE USER 'shop'@'%' IDENTIFIED BY 'tls-only-pw'");
        $mysqli->query("GRANT ALL ON `ledger`.* TO 'shop'@'%'");
        $mysqli->close();
    }

    public static function tearDownAfterClass(): void
    {
        self::$server?->stop();
        self::$server = null;
        exec('rm -rf ' . escapeshellarg(self::$dir));
    }

    private static function makeCa(string $base): void
    {
        self::openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$base.key", '-out', "$base.pem",
            '-days', '2', '-subj', '/CN=Inventory Sync test CA ' . basename($base),
            '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    }

    /** @param list<string> $args */
    private static function openssl(array $args): void
    {
        [$code, $out, $err] = Process::run(['openssl', ...$args]);
        if ($code !== 0) {
            throw new \RuntimeException('openssl ' . implode(' ', $args) . " failed:\n$out\n$err");
        }
    }

    /** @param array<string, mixed> $more */
    private function open(string $host, array $more): Ledger
    {
        return new Ledger('mysql://', ['mysql' => [
            'host' => $host,
            'port' => self::$server->port,
            'user' => 'shop',
            'password' => 'tls-only-pw',
            'database' => 'ledger',
            'table_prefix' => 'tls_',
        ] + $more]);
    }

    public function test_the_tls_modes_connect_or_refuse_as_the_mysql_client_s_ssl_mode(): void
    {
        $ca = self::$dir . '/ca.pem';
        $connects = [
            'preferred (the default)' => ['127.0.0.1', []],
            'required' => ['127.0.0.1', ['tls' => 'required']],
            'verify_ca with the CA that signed the certificate' => ['127.0.0.1', ['tls' => 'verify_ca', 'ca_file' => $ca]],
            'verify_identity: the certificate names 127.0.0.1' => ['127.0.0.1', ['tls' => 'verify_identity', 'ca_file' => $ca]],
        ];
        foreach ($connects as $what => [$host, $more]) {
            $ledger = $this->open($host, $more);
            $ledger->upsertItem(['sku' => 'TLS-' . md5($what), 'name' => $what]);
            self::assertNotNull($ledger->item('TLS-' . md5($what)), $what);
        }

        $refused = [
            // MariaDB refuses a plain connection under require_secure_transport as "access denied".
            'disabled: the server takes TLS only' => ['127.0.0.1', ['tls' => 'disabled'], 'access denied'],
            'verify_ca with another CA' => ['127.0.0.1', ['tls' => 'verify_ca', 'ca_file' => self::$dir . '/other-ca.pem'], 'invalid peer certificate: UnknownIssuer'],
            'verify_identity for a name the certificate does not carry' => ['localhost', ['tls' => 'verify_identity', 'ca_file' => $ca, 'socket' => ''], 'not valid for name "localhost"'],
        ];
        foreach ($refused as $what => [$host, $more, $message]) {
            try {
                $this->open($host, $more);
                self::fail("$what: expected a refusal");
            } catch (LedgerException $e) {
                self::assertStringContainsStringIgnoringCase($message, $e->getMessage(), $what);
                self::assertStringNotContainsString('tls-only-pw', $e->getMessage(), $what);
            }
        }
    }
}
