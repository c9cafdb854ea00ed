//! OAuth 1.0a request signing (RFC 5849 §3.4), **pure**: method, URL, parameters, secrets,
//! timestamp and nonce in; a signature out. No clock, no randomness: the caller passes both.
//!
//! WooCommerce over plain HTTP uses it "one-legged": no token, signing key `consumer_secret&`,
//! the parameters in the query string, the body not signed (`channel-apis.md` §2.1; WooCommerce's
//! `check_oauth_signature` builds the same base string: sorted, each `key=value` encoded once
//! per part and once more when joined).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// RFC 3986 unreserved characters stay as they are; everything else is `%XX` (upper-case hex).
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The HMAC used for the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMethod {
    /// `HMAC-SHA1` (RFC 5849).
    HmacSha1,
    /// `HMAC-SHA256` (accepted by WooCommerce).
    HmacSha256,
}

impl SignatureMethod {
    /// The `oauth_signature_method` value.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureMethod::HmacSha1 => "HMAC-SHA1",
            SignatureMethod::HmacSha256 => "HMAC-SHA256",
        }
    }
}

/// Percent-encodes `value` as RFC 5849 §3.6 requires (RFC 3986 unreserved kept, UTF-8 bytes).
pub fn encode(value: &str) -> String {
    utf8_percent_encode(value, RFC3986).to_string()
}

/// The signature base string (RFC 5849 §3.4.1): `METHOD&enc(base_url)&enc(normalized params)`.
/// `base_url` is scheme, host (with a non-default port) and path, without query string;
/// `params` are the raw (decoded) query, body and `oauth_*` parameters, `oauth_signature` excluded.
pub fn base_string(method: &str, base_url: &str, params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = params.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    encoded.sort();
    let normalized = encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(base_url),
        encode(&normalized)
    )
}

/// The base64 signature of `base_string` under `enc(consumer_secret)&enc(token_secret)`.
pub fn sign(base_string: &str, consumer_secret: &str, token_secret: &str, method: SignatureMethod) -> String {
    let key = format!("{}&{}", encode(consumer_secret), encode(token_secret));
    let tag = match method {
        SignatureMethod::HmacSha1 => mac::<Hmac<sha1::Sha1>>(key.as_bytes(), base_string.as_bytes()),
        SignatureMethod::HmacSha256 => mac::<Hmac<sha2::Sha256>>(key.as_bytes(), base_string.as_bytes()),
    };
    STANDARD.encode(tag)
}

fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length, so `new_from_slice` cannot fail here.
    match <M as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The one-legged request parameters WooCommerce expects, in the order they are sent.
#[derive(Debug, Clone, Copy)]
pub struct OneLegged<'a> {
    /// The consumer key (`ck_…`).
    pub consumer_key: &'a str,
    /// The consumer secret (`cs_…`); only used to sign, never sent.
    pub consumer_secret: &'a str,
    /// Unix seconds (WooCommerce refuses timestamps more than 15 minutes off).
    pub timestamp: u64,
    /// A value unique per consumer key.
    pub nonce: &'a str,
    /// The HMAC.
    pub method: SignatureMethod,
}

/// The query string (without `?`) for a one-legged request to `base_url` carrying `query`: the
/// request's own parameters, then the `oauth_*` ones with `oauth_signature` last.
pub fn signed_query(http_method: &str, base_url: &str, query: &[(String, String)], auth: OneLegged<'_>) -> String {
    let mut params: Vec<(String, String)> = query.to_vec();
    params.push(("oauth_consumer_key".into(), auth.consumer_key.into()));
    params.push(("oauth_nonce".into(), auth.nonce.into()));
    params.push(("oauth_signature_method".into(), auth.method.as_str().into()));
    params.push(("oauth_timestamp".into(), auth.timestamp.to_string()));
    let base = base_string(http_method, base_url, &params);
    let signature = sign(&base, auth.consumer_secret, "", auth.method);
    params.push(("oauth_signature".into(), signature));
    params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// The worked example of Twitter's "Creating a signature" page (developer.x.com, OAuth 1.0a,
    /// HMAC-SHA1), for its `/1/statuses/update.json` edition.
    #[test]
    fn twitter_documentation_vector() {
        let params = pairs(&[
            ("status", "Hello Ladies + Gentlemen, a signed OAuth request!"),
            ("include_entities", "true"),
            ("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
            ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "1318622958"),
            ("oauth_token", "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
            ("oauth_version", "1.0"),
        ]);
        let base = base_string("post", "https://api.twitter.com/1/statuses/update.json", &params);
        assert_eq!(
            base,
            "POST&https%3A%2F%2Fapi.twitter.com%2F1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26\
             oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26\
             oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26\
             oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26\
             status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521"
        );
        let signature = sign(
            &base,
            "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
            "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
            SignatureMethod::HmacSha1,
        );
        assert_eq!(signature, "tnnArxj06cWHq44gCs1OSKk/jLY=");
    }

    #[test]
    fn encoding_follows_rfc3986() {
        let cases = [
            ("abc-._~XYZ019", "abc-._~XYZ019"),
            ("a b+c", "a%20b%2Bc"),
            ("A,B", "A%2CB"),
            ("é", "%C3%A9"),
            ("*", "%2A"),
        ];
        for (raw, encoded) in cases {
            assert_eq!(encode(raw), encoded, "{raw}");
        }
    }

    #[test]
    fn one_legged_query_is_signed_with_consumer_secret_and_ampersand() {
        let query = pairs(&[("sku", "A,B"), ("per_page", "100")]);
        let auth = OneLegged {
            consumer_key: "ck_1",
            consumer_secret: "cs_2",
            timestamp: 1_700_000_000,
            nonce: "n1",
            method: SignatureMethod::HmacSha256,
        };
        let base_url = "http://127.0.0.1:8080/wp-json/wc/v3/products";
        let signed = signed_query("GET", base_url, &query, auth);
        let mut all = query.clone();
        all.extend(pairs(&[
            ("oauth_consumer_key", "ck_1"),
            ("oauth_nonce", "n1"),
            ("oauth_signature_method", "HMAC-SHA256"),
            ("oauth_timestamp", "1700000000"),
        ]));
        let expected = sign(
            &base_string("GET", base_url, &all),
            "cs_2",
            "",
            SignatureMethod::HmacSha256,
        );
        assert!(signed.starts_with("sku=A%2CB&per_page=100&oauth_consumer_key=ck_1&oauth_nonce=n1&"));
        assert!(signed.ends_with(&format!("&oauth_signature={}", encode(&expected))));
        assert!(!signed.contains("cs_2"));
    }
}
