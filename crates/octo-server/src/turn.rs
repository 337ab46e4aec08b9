//! Turn tokens: what a triggered agent acts with for that one turn.
//!
//! A trigger carries a short-lived token scoped to the trigger's channel
//! (DESIGN §2, "confused deputy"): an agent asked in one channel can read only
//! that channel while it answers, whatever it is talked into. The token is
//! stateless — the agent, channel and expiry, signed with HMAC-SHA256 under the
//! deployment's secret — so minting one per trigger costs no write, and every
//! node can check it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use octo_core::{ChannelId, PrincipalId};
use sha2::Sha256;

pub const TURN_PREFIX: &str = "octo_turn_";

#[derive(Clone)]
pub struct TurnKeys {
    secret: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TurnError {
    Malformed,
    BadSignature,
    Expired,
}

/// What a valid turn token says.
#[derive(Debug, PartialEq, Eq)]
pub struct Turn {
    pub agent: PrincipalId,
    pub channel: ChannelId,
    pub expires_at: DateTime<Utc>,
}

impl TurnKeys {
    pub fn new(secret: Vec<u8>) -> Self {
        Self { secret }
    }

    fn mac(&self, body: &[u8]) -> Hmac<Sha256> {
        // HMAC takes keys of any length; this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(body);
        mac
    }

    pub fn mint(
        &self,
        agent: &PrincipalId,
        channel: &ChannelId,
        expires_at: DateTime<Utc>,
    ) -> String {
        let body = format!("{agent}|{channel}|{}", expires_at.timestamp());
        let sig = self.mac(body.as_bytes()).finalize().into_bytes();
        format!(
            "{TURN_PREFIX}{}.{}",
            URL_SAFE_NO_PAD.encode(body),
            URL_SAFE_NO_PAD.encode(sig)
        )
    }

    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Turn, TurnError> {
        let rest = token
            .strip_prefix(TURN_PREFIX)
            .ok_or(TurnError::Malformed)?;
        let (body, sig) = rest.split_once('.').ok_or(TurnError::Malformed)?;
        let body = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| TurnError::Malformed)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| TurnError::Malformed)?;
        // Constant-time comparison, so the signature can't be guessed bytewise.
        self.mac(&body)
            .verify_slice(&sig)
            .map_err(|_| TurnError::BadSignature)?;
        let body = String::from_utf8(body).map_err(|_| TurnError::Malformed)?;
        let mut parts = body.split('|');
        let (Some(agent), Some(channel), Some(exp), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TurnError::Malformed);
        };
        let exp: i64 = exp.parse().map_err(|_| TurnError::Malformed)?;
        let expires_at = DateTime::from_timestamp(exp, 0).ok_or(TurnError::Malformed)?;
        if expires_at <= now {
            return Err(TurnError::Expired);
        }
        Ok(Turn {
            agent: PrincipalId::from_string(agent),
            channel: ChannelId::from_string(channel),
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_untampered_and_unexpired() {
        let keys = TurnKeys::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let agent = PrincipalId::from_string("agent-1");
        let channel = ChannelId::from_string("channel-1");
        let now = Utc::now();
        let exp = now + chrono::Duration::minutes(5);
        let token = keys.mint(&agent, &channel, exp);
        let turn = keys.verify(&token, now).expect("valid");
        assert_eq!((turn.agent, turn.channel), (agent.clone(), channel.clone()));
        assert_eq!(
            keys.verify(&token, exp + chrono::Duration::seconds(1)),
            Err(TurnError::Expired)
        );
        let other = TurnKeys::new(b"another secret entirely, 32 byte".to_vec());
        assert_eq!(other.verify(&token, now), Err(TurnError::BadSignature));
        // Pointing the token at another channel breaks the signature.
        let (body, sig) = token
            .trim_start_matches(TURN_PREFIX)
            .split_once('.')
            .expect("dot");
        let forged_body = String::from_utf8(URL_SAFE_NO_PAD.decode(body).expect("b64"))
            .expect("utf8")
            .replace("channel-1", "channel-2");
        let forged = format!("{TURN_PREFIX}{}.{sig}", URL_SAFE_NO_PAD.encode(forged_body));
        assert_eq!(keys.verify(&forged, now), Err(TurnError::BadSignature));
        assert_eq!(
            keys.verify("octo_turn_nonsense", now),
            Err(TurnError::Malformed)
        );
    }
}
