<?php
/**
 * How other systems sign what they send us, computed here with PHP's own hash_hmac so the tests
 * never trust our extension to check itself.
 */

declare(strict_types=1);

namespace InventorySync\Tests\Harness;

final class Senders
{
    /** @return array<string, string> */
    public static function generic(string $body, string $secret): array
    {
        return ['Content-Type' => 'application/json', 'X-Webhook-Signature' => hash_hmac('sha256', $body, $secret)];
    }

    /** A WooCommerce store's delivery headers (base64 HMAC-SHA256 of the body). @return array<string, string> */
    public static function woocommerce(string $body, string $secret, string $source, string $topic = 'product.updated'): array
    {
        return [
            'Content-Type' => 'application/json',
            'User-Agent' => 'WooCommerce/8.9.1 Hookshot (WordPress/6.5)',
            'X-WC-Webhook-Source' => $source,
            'X-WC-Webhook-Topic' => $topic,
            'X-WC-Webhook-Resource' => explode('.', $topic)[0],
            'X-WC-Webhook-Event' => explode('.', $topic)[1] ?? '',
            'X-WC-Webhook-ID' => '7',
            // Not unique across deliveries in the same second, as in WooCommerce.
            'X-WC-Webhook-Delivery-ID' => md5('7' . time()),
            'X-WC-Webhook-Signature' => base64_encode(hash_hmac('sha256', $body, $secret, true)),
        ];
    }

    /** @return array<string, string> */
    public static function shopify(string $body, string $secret, string $topic, string $webhookId, string $shop = 'demo.myshopify.com'): array
    {
        return [
            'Content-Type' => 'application/json',
            'X-Shopify-Topic' => $topic,
            'X-Shopify-Shop-Domain' => $shop,
            'X-Shopify-Webhook-Id' => $webhookId,
            'X-Shopify-API-Version' => '2026-01',
            'X-Shopify-Hmac-Sha256' => base64_encode(hash_hmac('sha256', $body, $secret, true)),
        ];
    }

    /** Standard Webhooks v1 headers; $secret is `whsec_…`. @return array<string, string> */
    public static function standard(string $body, string $secret, string $id, ?int $timestamp = null): array
    {
        $timestamp ??= time();
        $key = base64_decode(substr($secret, strlen('whsec_')), true);
        return [
            'Content-Type' => 'application/json',
            'webhook-id' => $id,
            'webhook-timestamp' => (string) $timestamp,
            'webhook-signature' => 'v1,' . base64_encode(hash_hmac('sha256', "$id.$timestamp.$body", (string) $key, true)),
        ];
    }

    /** A new Standard Webhooks secret. */
    public static function whsec(): string
    {
        return 'whsec_' . base64_encode(random_bytes(32));
    }

    /** Signed API request headers: hex HMAC-SHA256(method + path + timestamp + body). @return array<string, string> */
    public static function signedApi(string $key, string $secret, string $method, string $path, string $body, ?int $timestamp = null): array
    {
        $timestamp ??= time();
        return [
            'X-API-Key' => $key,
            'X-Timestamp' => (string) $timestamp,
            'X-Signature' => hash_hmac('sha256', strtoupper($method) . $path . $timestamp . $body, $secret),
        ];
    }
}
