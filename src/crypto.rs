//! Channel credentials at rest: sealed with an AEAD before they reach the options table, opened
//! only when an adapter is built.
//!
//! * Cipher: XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`), a fresh random 24-byte nonce per
//!   seal from the operating system (`OsRng`, i.e. `getrandom`). The extended nonce makes random
//!   nonces safe for any number of seals under one key.
//! * Key: [`CredentialKey::derive`], HKDF-SHA256 over site-specific material with the fixed info
//!   string [`KEY_INFO`]. The plugin passes the constant `INVENTORY_SYNC_SECRET_KEY` when the
//!   owner defined one, else WordPress's `AUTH_KEY . SECURE_AUTH_SALT`, so the key itself is never
//!   stored next to the data.
//! * Format ([`seal`]): `v1.` + base64url without padding of `nonce ‖ ciphertext ‖ tag` — text,
//!   safe in an option, a URL or JSON. The version prefix lets a later format coexist.
//! * Binding: the associated data is [`AAD_PREFIX`] followed by `context` (the channel key), so a
//!   blob copied to another channel's option does not open there.
//!
//! Every failure to open — wrong key (the salts changed), a tampered or truncated blob, the wrong
//! context — is the same [`Error::Validation`] on field `credentials` saying
//! "cannot decrypt credentials": nothing tells an attacker which part was wrong, and no message
//! ever quotes the blob or the plaintext.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::rand_core::RngCore as _;
use chacha20poly1305::aead::{Aead, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The version prefix of the current sealed format.
pub const SEALED_PREFIX: &str = "v1.";

/// HKDF `info`: fixes what the derived key is for, so the same site material used elsewhere
/// yields an unrelated key.
pub const KEY_INFO: &[u8] = b"inventory-sync/credentials/v1";

/// Associated data prefix; the context follows it.
pub const AAD_PREFIX: &[u8] = b"inventory-sync/credentials/v1\0";

/// Fewest bytes of key material accepted (WordPress's keys and salts are 64 characters each).
pub const MIN_MATERIAL_LEN: usize = 16;

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// The one message for every failure to open a sealed credential.
const CANNOT_DECRYPT: &str = "cannot decrypt credentials";

/// The key credentials are sealed with. Its `Debug` output is redacted; the key bytes are wiped
/// from memory when it is dropped (the cipher zeroizes its key).
#[derive(Clone)]
pub struct CredentialKey {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for CredentialKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialKey(<redacted>)")
    }
}

impl CredentialKey {
    /// Derives the key from site-specific secret `material` with HKDF-SHA256 (no salt, info
    /// [`KEY_INFO`]). The same material always gives the same key. Material shorter than
    /// [`MIN_MATERIAL_LEN`] bytes is refused (`Validation` on `credential_key`): an empty or
    /// trivial constant would make the encryption decorative.
    pub fn derive(material: &[u8]) -> Result<Self> {
        if material.len() < MIN_MATERIAL_LEN {
            return Err(Error::validation(
                "credential_key",
                format!("the key material must be at least {MIN_MATERIAL_LEN} bytes"),
            ));
        }
        let mut okm = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(None, material)
            .expand(KEY_INFO, okm.as_mut())
            .map_err(|_| Error::validation("credential_key", "key derivation failed"))?;
        let cipher = XChaCha20Poly1305::new_from_slice(okm.as_ref())
            .map_err(|_| Error::validation("credential_key", "key derivation failed"))?;
        Ok(CredentialKey { cipher })
    }
}

fn aad(context: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_PREFIX.len() + context.len());
    aad.extend_from_slice(AAD_PREFIX);
    aad.extend_from_slice(context.as_bytes());
    aad
}

/// Seals `plaintext` for `context` (the channel key): `v1.` + base64url(nonce ‖ ciphertext ‖ tag).
/// Two seals of the same plaintext differ (fresh nonce). Fails only when the operating system's
/// random source does (`Validation` on `credentials`; nothing is sealed with a weak nonce).
pub fn seal(key: &CredentialKey, plaintext: &[u8], context: &str) -> Result<String> {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng
        .try_fill_bytes(&mut nonce)
        .map_err(|_| Error::validation("credentials", "no random source to encrypt credentials"))?;
    let aad = aad(context);
    let ciphertext = key
        .cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| Error::validation("credentials", "cannot encrypt credentials"))?;
    let mut blob = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&ciphertext);
    Ok(format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(blob)))
}

/// Opens a blob made by [`seal`] for the same `context` under the same key. An unknown format
/// version, bad encoding, truncation, tampering, another key or another context all fail with the
/// same `Validation` error: "credentials: cannot decrypt credentials".
pub fn open(key: &CredentialKey, sealed: &str, context: &str) -> Result<Vec<u8>> {
    let fail = || Error::validation("credentials", CANNOT_DECRYPT);
    let encoded = sealed.trim().strip_prefix(SEALED_PREFIX).ok_or_else(fail)?;
    let blob = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| fail())?;
    if blob.len() < NONCE_LEN + TAG_LEN {
        return Err(fail());
    }
    let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
    let aad = aad(context);
    key.cipher
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .map_err(|_| fail())
}

/// Whether `value` looks like a sealed blob (starts with a known version prefix), so the plugin
/// can tell a stored credential that still needs sealing (saved before encryption existed).
pub fn is_sealed(value: &str) -> bool {
    value.trim().starts_with(SEALED_PREFIX)
}

/// A credential for display: `••••` and its last 4 characters when it has at least 12, else
/// `••••` alone (a short secret's last 4 characters give too much of it away). An empty secret
/// gives an empty string, so the page can say "not set". The length is never revealed.
pub fn mask(secret: &str) -> String {
    const DOTS: &str = "••••";
    let count = secret.chars().count();
    if count == 0 {
        return String::new();
    }
    if count < 12 {
        return DOTS.to_string();
    }
    let tail: String = secret.chars().skip(count - 4).collect();
    format!("{DOTS}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MATERIAL: &[u8] = b"auth-key-from-wp-config.php+secure-auth-salt";

    fn key() -> CredentialKey {
        CredentialKey::derive(MATERIAL).expect("key")
    }

    fn refused(result: Result<Vec<u8>>) {
        match result {
            Err(error) => assert_eq!(error.to_string(), "credentials: cannot decrypt credentials"),
            Ok(plain) => panic!("opened: {plain:?}"),
        }
    }

    #[test]
    fn seal_then_open_round_trips_and_is_versioned_text() {
        let sealed = seal(&key(), b"cs_0123456789abcdef", "shopify:main").expect("seal");
        assert!(sealed.starts_with("v1."), "{sealed}");
        assert!(is_sealed(&sealed));
        assert!(!is_sealed("cs_0123456789abcdef"));
        assert!(sealed[3..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        // nonce 24 + plaintext 19 + tag 16 = 59 bytes → 79 base64url characters.
        assert_eq!(sealed.len(), 3 + 79);
        assert!(!sealed.contains("cs_0123"));
        // The same key derived again (another PHP request) opens it.
        let again = CredentialKey::derive(MATERIAL).expect("key");
        assert_eq!(
            open(&again, &sealed, "shopify:main").expect("open"),
            b"cs_0123456789abcdef"
        );
        assert_eq!(
            open(&again, &format!(" {sealed}\n"), "shopify:main").expect("open"),
            b"cs_0123456789abcdef"
        );
        // Empty plaintext works too.
        let empty = seal(&key(), b"", "x").expect("seal");
        assert_eq!(open(&key(), &empty, "x").expect("open"), b"");
    }

    #[test]
    fn nonces_are_fresh() {
        let a = seal(&key(), b"same", "ctx").expect("seal");
        let b = seal(&key(), b"same", "ctx").expect("seal");
        assert_ne!(a, b);
    }

    #[test]
    fn tampering_is_refused() {
        let sealed = seal(&key(), b"shpat_secret_token", "shopify:main").expect("seal");
        let blob = URL_SAFE_NO_PAD.decode(&sealed[3..]).expect("base64");
        for position in [0, NONCE_LEN, blob.len() / 2, blob.len() - 1] {
            let mut bytes = blob.clone();
            bytes[position] ^= 0x01;
            refused(open(
                &key(),
                &format!("v1.{}", URL_SAFE_NO_PAD.encode(&bytes)),
                "shopify:main",
            ));
        }
        refused(open(
            &key(),
            &format!("v1.{}", URL_SAFE_NO_PAD.encode(&blob[..blob.len() - 1])),
            "shopify:main",
        ));
        refused(open(
            &key(),
            &format!("v1.{}", URL_SAFE_NO_PAD.encode(&blob[..NONCE_LEN + TAG_LEN - 1])),
            "shopify:main",
        ));
        refused(open(&key(), "v1.", "shopify:main"));
        refused(open(&key(), "v1.not base64!", "shopify:main"));
    }

    #[test]
    fn wrong_context_and_wrong_key_are_refused() {
        let sealed = seal(&key(), b"shpat_secret_token", "shopify:main").expect("seal");
        refused(open(&key(), &sealed, "shopify:outlet"));
        refused(open(&key(), &sealed, ""));
        let other = CredentialKey::derive(b"another-site-auth-key+salt").expect("key");
        refused(open(&other, &sealed, "shopify:main"));
    }

    #[test]
    fn unknown_versions_and_plain_text_are_refused() {
        let sealed = seal(&key(), b"token", "c").expect("seal");
        refused(open(&key(), &sealed.replacen("v1.", "v2.", 1), "c"));
        refused(open(&key(), &sealed[3..], "c"));
        refused(open(&key(), "token", "c"));
        refused(open(&key(), "", "c"));
    }

    #[test]
    fn short_key_material_is_refused() {
        let error = CredentialKey::derive(b"short").err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("credential_key: the key material must be at least 16 bytes")
        );
        assert!(CredentialKey::derive(&[7u8; 16]).is_ok());
    }

    #[test]
    fn key_debug_is_redacted() {
        assert_eq!(format!("{:?}", key()), "CredentialKey(<redacted>)");
    }

    #[test]
    fn masking_shows_at_most_the_last_four() {
        fn check(secret: &str, expected: &str) {
            assert_eq!(mask(secret), expected, "{secret}");
        }
        check("", "");
        check("a", "••••");
        check("abcdefghijk", "••••");
        check("abcdefghijkl", "••••ijkl");
        check("shpat_0123456789abcdef", "••••cdef");
        check("ключ-очень-длинный-секрет", "••••крет");
    }
}
