//! Known devices: a browser that signed in to an account before carries a sealed token naming
//! the instance, the account and when it was issued (docs/design/sessions-and-tokens.md "Known
//! devices"). Under a flood, an attempt from a known device for its own account skips the
//! instance ceiling and the account's pacing and has a lane of the hash pool to itself, so the
//! owner gets in while strangers are shed. The per-source brake still applies to it.

use super::Orbit;
use crate::clock::{Millis, DAY};
use crate::error::{Error, Result};
use crate::keys::MasterKey;
use crate::model::{Instance, User};
use crate::random::Random;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// How long a device stays known after its last sign-in (each sign-in issues a new token).
pub const DEVICE_LIFETIME: Millis = 90 * DAY;

/// What a device token seals; the label keeps it from ever being taken for another sealed value.
fn claim(instance_id: &str, user_id: &str, issued_at: Millis) -> String {
    format!("orbit-device\n{instance_id}\n{user_id}\n{issued_at}")
}

fn seal(master: &MasterKey, random: &dyn Random, claim: &str) -> Result<String> {
    let sealed = master
        .seal(claim.as_bytes(), random)
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(sealed))
}

/// Whether `token` was issued for this instance and user, and is not older than
/// `DEVICE_LIFETIME` (nor from the future) at `now`.
fn is_known(
    master: &MasterKey,
    token: &str,
    instance_id: &str,
    user_id: &str,
    now: Millis,
) -> bool {
    // A real token is ~120 characters: refuse anything far larger before decoding it.
    if token.len() > 512 {
        return false;
    }
    let Some(plain) = URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| master.open(&b).ok())
        .and_then(|p| String::from_utf8(p).ok())
    else {
        return false;
    };
    let mut parts = plain.split('\n');
    let (Some("orbit-device"), Some(i), Some(u), Some(at), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let Ok(at) = at.parse::<Millis>() else {
        return false;
    };
    i == instance_id && u == user_id && at <= now && now - at <= DEVICE_LIFETIME
}

impl Orbit {
    /// A new device token for a browser that just signed in (or up) as `user`.
    pub fn device_token(&self, instance: &Instance, user: &User) -> Result<String> {
        seal(
            &self.master,
            self.random.as_ref(),
            &claim(&instance.id, &user.id, self.now()),
        )
    }

    /// Whether the browser's device token (if any) was issued to `user_id` of `instance`.
    pub(super) fn is_known_device(
        &self,
        instance: &Instance,
        user_id: &str,
        token: Option<&str>,
    ) -> bool {
        token.is_some_and(|t| is_known(&self.master, t, &instance.id, user_id, self.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SystemRandom;

    #[test]
    fn a_device_token_is_known_only_for_its_account_and_lifetime() {
        let random = SystemRandom;
        let master = MasterKey::from_bytes(&MasterKey::generate(&random)).unwrap();
        let other_master = MasterKey::from_bytes(&MasterKey::generate(&random)).unwrap();
        let t0 = 1_800_000_000_000;
        let token = seal(&master, &random, &claim("ins_1", "user_1", t0)).unwrap();
        assert!(is_known(&master, &token, "ins_1", "user_1", t0));
        assert!(is_known(
            &master,
            &token,
            "ins_1",
            "user_1",
            t0 + DEVICE_LIFETIME
        ));
        for (what, known) in [
            (
                "another user",
                is_known(&master, &token, "ins_1", "user_2", t0),
            ),
            (
                "another instance",
                is_known(&master, &token, "ins_2", "user_1", t0),
            ),
            (
                "expired",
                is_known(&master, &token, "ins_1", "user_1", t0 + DEVICE_LIFETIME + 1),
            ),
            (
                "issued later than now",
                is_known(&master, &token, "ins_1", "user_1", t0 - 1),
            ),
            (
                "another master key",
                is_known(&other_master, &token, "ins_1", "user_1", t0),
            ),
            (
                "not base64",
                is_known(&master, "%%%", "ins_1", "user_1", t0),
            ),
            (
                "oversized",
                is_known(&master, &"A".repeat(10_000), "ins_1", "user_1", t0),
            ),
        ] {
            assert!(!known, "{what}");
        }
        // Any flipped byte breaks the seal.
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = URL_SAFE_NO_PAD.encode(bytes);
        assert!(!is_known(&master, &tampered, "ins_1", "user_1", t0));
        // A sealed value that is not a device claim is refused.
        let other = seal(&master, &random, "ins_1\nuser_1\n0").unwrap();
        assert!(!is_known(&master, &other, "ins_1", "user_1", t0));
    }
}
