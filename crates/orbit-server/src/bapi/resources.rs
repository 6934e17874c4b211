//! Domain objects in BAPI's JSON shapes: the shared fields (`crate::resources`) and BAPI's own.

use crate::resources::{session_base, user_base};
use orbit_core::model::{Instance, Session, User};
use orbit_proto::resources as r;
use serde_json::json;

pub fn user_json(u: &User) -> r::User {
    r::User {
        base: user_base(u),
        private_metadata: json!({}),
        delete_self_enabled: true,
    }
}

pub fn session_json(s: &Session, instance: &Instance) -> r::Session {
    r::Session {
        base: session_base(s, instance),
        client_id: s.client_id.clone(),
        user_id: s.user_id.clone(),
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}
