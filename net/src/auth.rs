//! Tokens and passwords.
//!
//! [`Auth`] issues and verifies HS256 JWTs whose expiry, audience and issuer are all
//! checked; a verified token becomes an [`Identity`] (account id, display name, role).
//! Passwords are hashed with argon2id ([`hash_password`], [`verify_password`]); both are
//! CPU-heavy, so async callers run them on the blocking pool.
//!
//! The WebSocket gateway verifies the token of `Hello{token}` with
//! `state.auth.verify(&token)`.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use persistence::{Account, AccountId, Role};
use serde::{Deserialize, Serialize};

/// The `iss` claim of Plaza tokens.
pub const ISSUER: &str = "plaza";
/// The `aud` claim of Plaza tokens (the web client and bots present them).
pub const AUDIENCE: &str = "plaza-client";
/// Seconds of clock skew tolerated on `exp`.
pub const LEEWAY_SECS: u64 = 30;

/// Who a verified token belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The account id (the sim's `PlayerInfo::account`, as `u64`).
    pub account: AccountId,
    /// Display name when the token was issued.
    pub name: String,
    /// Guest, user or admin.
    pub role: Role,
}

impl Identity {
    /// Whether the account may use admin endpoints.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// The JWT claims of a Plaza token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The account id, as a decimal string.
    pub sub: String,
    /// Display name.
    pub name: String,
    /// `guest`, `user` or `admin`.
    pub role: Role,
    /// Issuer: [`ISSUER`].
    pub iss: String,
    /// Audience: [`AUDIENCE`].
    pub aud: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Expires at (Unix seconds).
    pub exp: u64,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No token was presented.
    #[error("missing bearer token")]
    Missing,
    /// The token has expired.
    #[error("token expired")]
    Expired,
    /// The signature does not match (forged, or signed with another secret).
    #[error("bad token signature")]
    BadSignature,
    /// The token is for another audience.
    #[error("token has the wrong audience")]
    WrongAudience,
    /// The token is from another issuer.
    #[error("token has the wrong issuer")]
    WrongIssuer,
    /// The token is not a well-formed Plaza token.
    #[error("malformed token")]
    Malformed,
    /// Signing failed (never caused by client input).
    #[error("cannot sign token: {0}")]
    Sign(String),
}

impl AuthError {
    /// A stable machine-readable code (`token_expired`, `token_invalid`, …).
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing_token",
            AuthError::Expired => "token_expired",
            AuthError::BadSignature => "token_invalid",
            AuthError::WrongAudience => "token_wrong_audience",
            AuthError::WrongIssuer => "token_wrong_issuer",
            AuthError::Malformed => "token_invalid",
            AuthError::Sign(_) => "internal",
        }
    }
}

/// Issues and verifies tokens with one HS256 secret.
pub struct Auth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: u64,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Auth {
    /// An issuer/verifier for `secret`, issuing tokens valid for `ttl_secs`.
    pub fn new(secret: &[u8], ttl_secs: u64) -> Auth {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        validation.leeway = LEEWAY_SECS;
        Auth {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs,
        }
    }

    /// Signs a token for `account`.
    pub fn issue(&self, account: &Account) -> Result<String, AuthError> {
        let now = unix_now();
        self.sign(&Claims {
            sub: account.id.to_string(),
            name: account.display_name.clone(),
            role: account.role,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now + self.ttl_secs,
        })
    }

    /// Signs arbitrary claims (tests use it for expired or foreign tokens).
    pub fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AuthError::Sign(e.to_string()))
    }

    /// Checks signature, expiry, audience and issuer, and returns who the token is for.
    pub fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        use jsonwebtoken::errors::ErrorKind;
        let data = jsonwebtoken::decode::<Claims>(token.trim(), &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::InvalidSignature => AuthError::BadSignature,
            ErrorKind::InvalidAudience => AuthError::WrongAudience,
            ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
            _ => AuthError::Malformed,
        })?;
        let claims = data.claims;
        let account = claims
            .sub
            .parse::<AccountId>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or(AuthError::Malformed)?;
        Ok(Identity {
            account,
            name: claims.name,
            role: claims.role,
        })
    }

    /// Lifetime of issued tokens, in seconds.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }
}

/// Reads the JWT secret from `data_dir/jwt_secret`, creating it (32 random bytes, hex,
/// mode 0600) the first time.
pub fn load_or_create_secret(data_dir: &Path) -> std::io::Result<Vec<u8>> {
    let path = data_dir.join("jwt_secret");
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 32 => return Ok(text.trim().as_bytes().to_vec()),
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} is shorter than 32 characters", path.display()),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(data_dir)?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut file) => {
            use std::io::Write;
            file.write_all(hex.as_bytes())?;
            file.sync_all()?;
            Ok(hex.into_bytes())
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_secret(data_dir),
        Err(e) => Err(e),
    }
}

/// Hashes a password with argon2id and a random salt (PHC string). CPU-heavy.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks `password` against a stored PHC string. CPU-heavy. A malformed hash is a mismatch.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Burns the time of one verification, so unknown usernames answer as slowly as wrong
/// passwords.
pub fn verify_dummy_password(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("plaza-dummy-password").unwrap_or_default());
    let _ = verify_password(password, hash);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account {
            id: 42,
            username: None,
            display_name: "Ada".into(),
            avatar: String::new(),
            role: Role::Guest,
            created_at: 0,
        }
    }

    #[test]
    fn round_trip() {
        let auth = Auth::new(b"0123456789abcdef0123456789abcdef", 3600);
        let token = auth.issue(&account()).unwrap();
        let id = auth.verify(&token).unwrap();
        assert_eq!(
            id,
            Identity {
                account: 42,
                name: "Ada".into(),
                role: Role::Guest
            }
        );
    }

    #[test]
    fn refusals_are_typed() {
        let auth = Auth::new(b"0123456789abcdef0123456789abcdef", 3600);
        let other = Auth::new(b"another secret, another server!!", 3600);
        let forged = other.issue(&account()).unwrap();
        assert_eq!(auth.verify(&forged), Err(AuthError::BadSignature));
        let now = unix_now();
        let base = Claims {
            sub: "42".into(),
            name: "Ada".into(),
            role: Role::User,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + 600,
        };
        let expired = Claims {
            iat: now - 7200,
            exp: now - 3600,
            ..base.clone()
        };
        assert_eq!(
            auth.verify(&auth.sign(&expired).unwrap()),
            Err(AuthError::Expired)
        );
        let aud = Claims {
            aud: "someone-else".into(),
            ..base.clone()
        };
        assert_eq!(
            auth.verify(&auth.sign(&aud).unwrap()),
            Err(AuthError::WrongAudience)
        );
        let iss = Claims {
            iss: "evil".into(),
            ..base.clone()
        };
        assert_eq!(
            auth.verify(&auth.sign(&iss).unwrap()),
            Err(AuthError::WrongIssuer)
        );
        let sub = Claims {
            sub: "-3".into(),
            ..base
        };
        assert_eq!(
            auth.verify(&auth.sign(&sub).unwrap()),
            Err(AuthError::Malformed)
        );
        assert_eq!(auth.verify("garbage"), Err(AuthError::Malformed));
        assert_eq!(auth.verify(""), Err(AuthError::Malformed));
    }

    #[test]
    fn passwords() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn secret_is_generated_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_secret(dir.path()).unwrap();
        let b = load_or_create_secret(dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
    }
}
