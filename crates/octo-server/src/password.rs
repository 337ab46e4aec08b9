//! Password hashing (argon2id) and the bearer-token secrets.
//!
//! Hashing is deliberately slow, so it runs on the blocking pool, never on the
//! async workers that serve everyone else.

use crate::error::ApiError;
use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(format!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("hashing task: {e}")))?
}

/// Checks `password` against `hash`. With `hash = None` (no such user) it still
/// does the same work against a throwaway hash, so a wrong email and a wrong
/// password take the same time and give the same answer.
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let argon = Argon2::default();
        match hash {
            Some(hash) => {
                let parsed = PasswordHash::new(&hash).map_err(|e| {
                    ApiError::Internal(format!("stored password hash is unreadable: {e}"))
                })?;
                Ok(argon.verify_password(password.as_bytes(), &parsed).is_ok())
            }
            None => {
                let salt = SaltString::generate(&mut OsRng);
                let _ = argon.hash_password(password.as_bytes(), &salt);
                Ok(false)
            }
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("verifying task: {e}")))?
}

/// Prefix that makes Octo tokens recognisable to secret scanners and people.
pub const TOKEN_PREFIX: &str = "octo_";

/// A new random bearer token: 256 bits, URL-safe.
pub fn new_token_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// What the store keeps of a token. A fast hash is right here: the secret has
/// 256 bits of entropy, so there is nothing to brute-force.
pub fn token_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_reject() {
        let hash = hash_password("correct horse".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            verify_password("correct horse".into(), Some(hash.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !verify_password("wrong horse".into(), Some(hash))
                .await
                .expect("verify")
        );
        assert!(
            !verify_password("anything".into(), None)
                .await
                .expect("verify")
        );
    }

    #[test]
    fn token_secrets_are_unique_and_prefixed() {
        let a = new_token_secret();
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_ne!(a, new_token_secret());
        assert_eq!(token_hash(&a).len(), 32);
    }
}
