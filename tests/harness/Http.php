<?php
/**
 * A small HTTP client over curl for the end-to-end tests: real requests on loopback.
 */

declare(strict_types=1);

namespace InventorySync\Tests\Harness;

final class Response
{
    /** @param array<string, string> $headers lower-case names */
    public function __construct(public readonly int $status, public readonly array $headers, public readonly string $body)
    {
    }

    /** The body decoded as JSON (assoc arrays). */
    public function json(): mixed
    {
        return json_decode($this->body, true);
    }

    public function header(string $name): ?string
    {
        return $this->headers[strtolower($name)] ?? null;
    }
}

final class Http
{
    /**
     * @param array<string, string> $headers
     */
    public static function request(string $method, string $url, array $headers = [], ?string $body = null, ?string $cookieJar = null, float $timeout = 30): Response
    {
        $ch = curl_init($url);
        $lines = [];
        foreach ($headers as $name => $value) {
            $lines[] = "$name: $value";
        }
        // No "Expect: 100-continue" round trip for larger bodies.
        $lines[] = 'Expect:';
        $responseHeaders = [];
        curl_setopt_array($ch, [
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_HTTPHEADER => $lines,
            CURLOPT_TIMEOUT_MS => (int) ($timeout * 1000),
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_HEADERFUNCTION => static function ($ch, string $line) use (&$responseHeaders): int {
                $parts = explode(':', $line, 2);
                if (count($parts) === 2) {
                    $responseHeaders[strtolower(trim($parts[0]))] = trim($parts[1]);
                }
                return strlen($line);
            },
        ]);
        if ($body !== null) {
            curl_setopt($ch, CURLOPT_POSTFIELDS, $body);
        }
        if ($cookieJar !== null) {
            curl_setopt($ch, CURLOPT_COOKIEJAR, $cookieJar);
            curl_setopt($ch, CURLOPT_COOKIEFILE, $cookieJar);
        }
        $result = curl_exec($ch);
        if ($result === false) {
            $error = curl_error($ch);
            curl_close($ch);
            throw new \RuntimeException("$method $url failed: $error");
        }
        $status = (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
        curl_close($ch);
        return new Response($status, $responseHeaders, (string) $result);
    }
}
