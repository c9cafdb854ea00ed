<?php
/**
 * A throw-away MariaDB server as a child process on a free loopback port and its own socket.
 */

declare(strict_types=1);

namespace InventorySync\Tests\Harness;

final class MariaDb
{
    public readonly string $socket;
    public readonly int $port;
    private int $pgid = 0;

    private function __construct(public readonly string $dir)
    {
        $this->socket = $dir . '/mysqld.sock';
        $this->port = Process::freePort();
    }

    /**
     * Installs a fresh data directory under $dir and starts the server.
     *
     * @param list<string> $options more server options (TLS certificates, say)
     */
    public static function start(string $dir, array $options = []): self
    {
        $db = new self($dir);
        @mkdir($dir . '/data', 0700, true);
        [$code, $out, $err] = Process::run([
            'mariadb-install-db', '--no-defaults', '--user=root', '--datadir=' . $dir . '/data',
            '--auth-root-authentication-method=normal', '--skip-test-db',
        ]);
        if ($code !== 0) {
            throw new \RuntimeException("mariadb-install-db failed:\n$out\n$err");
        }
        $log = $dir . '/mariadb.log';
        $db->pgid = Process::start([
            self::server(), '--no-defaults', '--user=root', '--datadir=' . $dir . '/data',
            '--socket=' . $db->socket, '--port=' . $db->port, '--bind-address=127.0.0.1',
            '--pid-file=' . $dir . '/mariadb.pid', '--skip-log-bin', '--innodb-buffer-pool-size=64M',
            '--innodb-flush-log-at-trx-commit=2', '--max-connections=200', ...$options,
        ], $log);
        Process::waitForPort($db->port, 30, 'MariaDB', $log);
        return $db;
    }

    private static function server(): string
    {
        foreach (['/usr/sbin/mariadbd', '/usr/sbin/mysqld'] as $path) {
            if (is_executable($path)) {
                return $path;
            }
        }
        throw new \RuntimeException('mariadbd not found: run ./build.sh deps');
    }

    public function pgid(): int
    {
        return $this->pgid;
    }

    /** Creates an empty database and returns its name. */
    public function createDatabase(string $name): string
    {
        $mysqli = new \mysqli('localhost', 'root', '', '', 0, $this->socket);
        $mysqli->query('DROP DATABASE IF EXISTS `' . $name . '`');
        $mysqli->query('CREATE DATABASE `' . $name . '` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci');
        $mysqli->close();
        return $name;
    }

    public function stop(): void
    {
        Process::stop($this->pgid, 20);
        $this->pgid = 0;
    }
}
