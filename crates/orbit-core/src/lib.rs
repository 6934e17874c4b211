//! Orbit's domain: applications, instances, domains, users, clients, sessions, keys and the
//! policies around them. No HTTP, no SQL, no cookies (see ARCHITECTURE.md).

pub mod cache;
pub mod clock;
pub mod domain_name;
pub mod email;
pub mod error;
pub mod keys;
pub mod limits;
pub mod mail;
pub mod model;
pub mod orbit;
pub mod password;
pub mod random;
pub mod redirect;
pub mod satellite;
pub mod store;
pub mod text;
pub mod user_agent;

pub use clock::{Clock, Millis, DAY, HOUR, MINUTE, SECOND};
pub use error::{Error, Result};
pub use orbit::{
    Actor, AuditAction, BrowserContext, HostContext, InstanceCredentials, NewSignIn, NewUser,
    OperatorSignIn, Orbit, OrbitSettings, Round, SecretKeyInfo, SessionBrowser, SessionOwner,
    SessionStart, SignUpOutcome, SignedIn, SignedInOperator, CLIENT_IDLE_LIFETIME, DEVICE_LIFETIME,
    SIGN_IN_LIFETIME, SIGN_UP_CODE_LIFETIME,
};
pub use random::Random;
