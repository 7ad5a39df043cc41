//! [`Tickets`]: the short-lived, single-use tokens a migrating client presents to its new node.
//!
//! A ticket is an HS256 JWT signed with the cluster's shared secret (every node of a cluster
//! runs with the same `--jwt-secret`), for audience [`TICKET_AUDIENCE`] so it can never pass
//! for an access token nor the other way round. Its `jti` is the handoff id; the receiving
//! node consumes it once ([`super::Directory::consume_once`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use persistence::AccountId;
use serde::{Deserialize, Serialize};

use crate::auth::{AuthError, ISSUER};

/// The `aud` claim of migrate tickets.
pub const TICKET_AUDIENCE: &str = "plaza-migrate";

/// How long a ticket is valid.
pub const TICKET_TTL: Duration = Duration::from_secs(15);

#[derive(Debug, Serialize, Deserialize)]
struct TicketClaims {
    sub: String,
    space: String,
    jti: String,
    iss: String,
    aud: String,
    exp: u64,
}

/// What a verified ticket allows: `account` may take over its avatar in `space`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    /// The account.
    pub account: AccountId,
    /// The space.
    pub space: String,
    /// Single-use id (the handoff id).
    pub id: String,
}

/// Issues and verifies migrate tickets.
pub struct Tickets {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Tickets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tickets").finish_non_exhaustive()
    }
}

impl Tickets {
    /// Tickets signed with the cluster's shared `secret`.
    pub fn new(secret: &[u8]) -> Tickets {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[TICKET_AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        validation.leeway = 1;
        Tickets {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// A ticket for `account` in `space`, single use under `id`.
    pub fn issue(&self, account: AccountId, space: &str, id: &str) -> Result<String, AuthError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let claims = TicketClaims {
            sub: account.to_string(),
            space: space.to_owned(),
            jti: id.to_owned(),
            iss: ISSUER.to_owned(),
            aud: TICKET_AUDIENCE.to_owned(),
            exp: now + TICKET_TTL.as_secs(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Sign(e.to_string()))
    }

    /// Checks signature, expiry, audience and issuer (not single use: the caller consumes
    /// the id).
    pub fn verify(&self, token: &str) -> Result<Ticket, AuthError> {
        use jsonwebtoken::errors::ErrorKind;
        let data = jsonwebtoken::decode::<TicketClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::InvalidSignature => AuthError::BadSignature,
                ErrorKind::InvalidAudience => AuthError::WrongAudience,
                ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
                _ => AuthError::Malformed,
            })?;
        let account = data
            .claims
            .sub
            .parse::<AccountId>()
            .ok()
            .filter(|a| *a > 0)
            .ok_or(AuthError::Malformed)?;
        Ok(Ticket {
            account,
            space: data.claims.space,
            id: data.claims.jti,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Auth;

    #[test]
    fn tickets_round_trip_and_are_not_access_tokens() {
        let tickets = Tickets::new(b"0123456789abcdef0123456789abcdef");
        let t = tickets.issue(42, "space1", "h-7").unwrap();
        assert_eq!(
            tickets.verify(&t).unwrap(),
            Ticket {
                account: 42,
                space: "space1".into(),
                id: "h-7".into()
            }
        );
        let auth = Auth::new(b"0123456789abcdef0123456789abcdef", 60);
        assert!(auth.verify(&t).is_err(), "a ticket is not an access token");
        let access = auth
            .sign(&crate::auth::Claims {
                sub: "42".into(),
                name: "x".into(),
                role: persistence::Role::Guest,
                iss: ISSUER.into(),
                aud: crate::auth::AUDIENCE.into(),
                iat: 0,
                exp: u64::MAX / 2,
            })
            .unwrap();
        assert!(
            tickets.verify(&access).is_err(),
            "an access token is not a ticket"
        );
        let other = Tickets::new(b"another secret, 32 bytes long!!!");
        assert_eq!(other.verify(&t), Err(AuthError::BadSignature));
        assert_eq!(tickets.verify("nonsense"), Err(AuthError::Malformed));
    }
}
