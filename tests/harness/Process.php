<?php
/**
 * Starting and stopping background processes by process group.
 *
 * Every process starts as the leader of a new session (`setsid`), so its process id is also its
 * group id; stopping signals the whole group (php -S forks workers that outlive their parent)
 * and waits until no live member is left. Never pkill/killall.
 */

declare(strict_types=1);

namespace InventorySync\Tests\Harness;

final class Process
{
    /**
     * Starts $command in a new session with stdout/stderr appended to $log. Returns the group id.
     *
     * @param list<string>          $command
     * @param array<string, string> $env Extra environment variables.
     */
    public static function start(array $command, string $log, array $env = [], ?string $cwd = null): int
    {
        $spec = [0 => ['file', '/dev/null', 'r'], 1 => ['file', $log, 'a'], 2 => ['file', $log, 'a']];
        // proc_open's child is not a group leader, so setsid(1) calls setsid() in place and execs:
        // the pid we get is the session and group id of the server.
        $proc = proc_open(array_merge(['setsid'], $command), $spec, $pipes, $cwd, array_merge(getenv(), $env));
        if (!is_resource($proc)) {
            throw new \RuntimeException('cannot start ' . implode(' ', $command));
        }
        $status = proc_get_status($proc);
        self::$handles[$status['pid']] = $proc;
        return (int) $status['pid'];
    }

    /** @var array<int, resource> proc_open handles kept so the leader can be reaped. */
    private static array $handles = [];

    /** Live (non-zombie) process ids in group $pgid. */
    public static function members(int $pgid): array
    {
        $live = [];
        foreach (glob('/proc/[0-9]*/stat') ?: [] as $statFile) {
            $stat = @file_get_contents($statFile);
            if ($stat === false) {
                continue;
            }
            // pid (comm) state ppid pgrp ...; comm may contain spaces, so split after the last ')'.
            $rest = explode(' ', substr($stat, strrpos($stat, ')') + 2));
            if ((int) $rest[2] === $pgid && $rest[0] !== 'Z' && $rest[0] !== 'X') {
                $live[] = (int) basename(dirname($statFile));
            }
        }
        return $live;
    }

    /** Stops group $pgid: SIGTERM, then SIGKILL after $graceSeconds. Returns when none is left. */
    public static function stop(int $pgid, float $graceSeconds = 5.0): void
    {
        if ($pgid <= 1) {
            return;
        }
        @posix_kill(-$pgid, SIGTERM);
        $deadline = microtime(true) + $graceSeconds;
        while (self::members($pgid) !== [] && microtime(true) < $deadline) {
            self::reap($pgid);
            usleep(50_000);
        }
        if (self::members($pgid) !== []) {
            @posix_kill(-$pgid, SIGKILL);
            $deadline = microtime(true) + 5;
            while (self::members($pgid) !== [] && microtime(true) < $deadline) {
                self::reap($pgid);
                usleep(50_000);
            }
        }
        self::reap($pgid);
    }

    private static function reap(int $pgid): void
    {
        if (isset(self::$handles[$pgid])) {
            $status = proc_get_status(self::$handles[$pgid]);
            if (!$status['running']) {
                proc_close(self::$handles[$pgid]);
                unset(self::$handles[$pgid]);
            }
        }
    }

    /** A free TCP port on 127.0.0.1, picked by the kernel. */
    public static function freePort(): int
    {
        $server = stream_socket_server('tcp://127.0.0.1:0', $errno, $errstr);
        if ($server === false) {
            throw new \RuntimeException("cannot pick a port: $errstr");
        }
        $name = stream_socket_get_name($server, false);
        fclose($server);
        return (int) substr((string) $name, strrpos((string) $name, ':') + 1);
    }

    /** Waits until something accepts TCP connections on 127.0.0.1:$port. */
    public static function waitForPort(int $port, float $seconds, string $what, string $log): void
    {
        $deadline = microtime(true) + $seconds;
        while (microtime(true) < $deadline) {
            $conn = @stream_socket_client("tcp://127.0.0.1:$port", $errno, $errstr, 0.2);
            if ($conn !== false) {
                fclose($conn);
                return;
            }
            usleep(50_000);
        }
        throw new \RuntimeException("$what did not listen on port $port within {$seconds}s; log:\n" . @file_get_contents($log));
    }

    /**
     * Runs a command to completion and returns [exit code, stdout, stderr].
     *
     * @param list<string>          $command
     * @param array<string, string> $env
     * @return array{0:int, 1:string, 2:string}
     */
    public static function run(array $command, array $env = [], ?string $cwd = null, ?string $stdin = null): array
    {
        $spec = [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']];
        $proc = proc_open($command, $spec, $pipes, $cwd, array_merge(getenv(), $env));
        if (!is_resource($proc)) {
            throw new \RuntimeException('cannot run ' . implode(' ', $command));
        }
        fwrite($pipes[0], $stdin ?? '');
        fclose($pipes[0]);
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        return [proc_close($proc), (string) $out, (string) $err];
    }
}
