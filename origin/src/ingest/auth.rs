//! Ingest access control: with a secret configured (`--ingest-secret`, or the channel's
//! own in the configuration file), every ingest request must carry it, as HTTP Basic
//! credentials (any user name, the secret as password: ffmpeg sends them from the URL,
//! `http://weir:SECRET@host/ingest/...` with `-auth_type basic`) or as a bearer token
//! (`-headers "Authorization: Bearer SECRET"`). Anything else is refused with 401
//! before a byte of the body is read, so nothing is created or stored.

use base64::Engine as _;
use http::HeaderMap;
use subtle::ConstantTimeEq as _;

use crate::error::IngestError;

/// The challenge sent with a 401 (RFC 9110 §11.6.1): both schemes are accepted.
pub const CHALLENGE: &str =
    "Basic realm=\"weir ingest\", charset=\"UTF-8\", Bearer realm=\"weir ingest\"";

/// Checks that `headers` carry `secret`.
pub fn check(headers: &HeaderMap, secret: &str) -> Result<(), IngestError> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| IngestError::Unauthorized("this channel needs credentials".into()))?;
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    let offered: Vec<u8> = if scheme.eq_ignore_ascii_case("bearer") {
        rest.trim().as_bytes().to_vec()
    } else if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .map_err(|_| IngestError::Unauthorized("malformed Basic credentials".into()))?;
        // RFC 7617: user-id ":" password; the password is everything after the first colon.
        match decoded.iter().position(|&b| b == b':') {
            Some(i) => decoded[i + 1..].to_vec(),
            None => {
                return Err(IngestError::Unauthorized(
                    "malformed Basic credentials".into(),
                ));
            }
        }
    } else {
        return Err(IngestError::Unauthorized(format!(
            "unsupported authorization scheme '{scheme}'"
        )));
    };
    // Compared in constant time: how much of a guess matched must not show in timing.
    if bool::from(offered.as_slice().ct_eq(secret.as_bytes())) {
        Ok(())
    } else {
        Err(IngestError::Unauthorized("wrong credentials".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, v.parse().unwrap());
        h
    }

    #[test]
    fn basic_and_bearer_carry_the_secret() {
        // "weir:s3cret"
        assert!(check(&with("Basic d2VpcjpzM2NyZXQ="), "s3cret").is_ok());
        assert!(check(&with("bearer s3cret"), "s3cret").is_ok());
        assert!(check(&with("Bearer s3cre"), "s3cret").is_err());
        assert!(check(&with("Bearer s3crett"), "s3cret").is_err());
        assert!(check(&with("Basic !!!"), "s3cret").is_err());
        assert!(check(&with("Digest x"), "s3cret").is_err());
        assert!(check(&HeaderMap::new(), "s3cret").is_err());
        // "weir:wrong"
        assert!(check(&with("Basic d2Vpcjp3cm9uZw=="), "s3cret").is_err());
    }
}
