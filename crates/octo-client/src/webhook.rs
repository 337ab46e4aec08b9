//! Checking that a webhook request really comes from Octo.
//!
//! Octo signs `"{timestamp}.{body}"` with HMAC-SHA256 under the webhook's
//! secret and sends `X-Octo-Timestamp` and `X-Octo-Signature: v1=<hex>`. A
//! receiver recomputes the signature over the raw body bytes and refuses old
//! timestamps, so a captured request can't be replayed later.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far a timestamp may be from the receiver's clock (DESIGN: 5 minutes).
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the timestamp header is missing or not a number")]
    BadTimestamp,
    #[error("the request is too old or from the future ({0} s off)")]
    Stale(i64),
    #[error("the signature header is missing or malformed")]
    BadSignatureHeader,
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Verifies one request. `now` is the receiver's clock in Unix seconds.
pub fn verify(
    secret: &str,
    timestamp_header: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let timestamp: i64 = timestamp_header
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    let skew = (now - timestamp).abs();
    if skew > tolerance_secs {
        return Err(VerifyError::Stale(skew));
    }
    let hex = signature_header
        .trim()
        .strip_prefix("v1=")
        .ok_or(VerifyError::BadSignatureHeader)?;
    let given = decode_hex(hex).ok_or(VerifyError::BadSignatureHeader)?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .map_err(|_| VerifyError::Mismatch)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    if expected.as_slice().ct_eq(&given).into() {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, ts: i64, body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("key");
        mac.update(format!("{ts}.").as_bytes());
        mac.update(body);
        let bytes = mac.finalize().into_bytes();
        format!(
            "v1={}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
    }

    #[test]
    fn accepts_the_real_thing_and_refuses_tampering_and_staleness() {
        let body = br#"{"type":"trigger"}"#;
        let sig = sign("whsec_k", 1_000, body);
        assert_eq!(verify("whsec_k", "1000", &sig, body, 1_010, 300), Ok(()));
        assert_eq!(
            verify("whsec_k", "1000", &sig, b"{}", 1_010, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify("other", "1000", &sig, body, 1_010, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify("whsec_k", "1001", &sig, body, 1_010, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify("whsec_k", "1000", &sig, body, 2_000, 300),
            Err(VerifyError::Stale(1_000))
        );
        assert_eq!(
            verify("whsec_k", "soon", &sig, body, 1_000, 300),
            Err(VerifyError::BadTimestamp)
        );
        assert_eq!(
            verify("whsec_k", "1000", "deadbeef", body, 1_000, 300),
            Err(VerifyError::BadSignatureHeader)
        );
        assert_eq!(
            verify("whsec_k", "1000", "v1=zz", body, 1_000, 300),
            Err(VerifyError::BadSignatureHeader)
        );
    }
}
