//! A small Backend API client with typed errors: users, sessions, domains, handshake payloads.

use orbit_proto::resources::{DeletedObject, Domain, HandshakePayload, Jwks, Session, Token, User};
use orbit_proto::wire::{header, query, CLERK_API_VERSION};
use orbit_proto::ErrorBody;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// `GET /v1/domains` answer.
pub use orbit_proto::resources::DomainList;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BapiError {
    /// The API answered with an error body (`{errors: [...]}`).
    #[error("Backend API {status}: {}", .errors.first().map(|e| e.long_message.as_str()).unwrap_or("no details"))]
    Api {
        status: u16,
        errors: Vec<orbit_proto::ErrorItem>,
    },
    #[error("cannot reach the Backend API at {url}: {reason}")]
    Network { url: String, reason: String },
    #[error("unexpected Backend API answer: {0}")]
    Decode(String),
}

impl BapiError {
    /// The first error code, e.g. `form_identifier_exists`.
    pub fn code(&self) -> Option<&str> {
        match self {
            BapiError::Api { errors, .. } => errors.first().map(|e| e.code.as_str()),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct BapiClient {
    http: reqwest::Client,
    base: String,
    secret_key: String,
}

impl std::fmt::Debug for BapiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BapiClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl BapiClient {
    pub fn new(api_url: &str, secret_key: &str) -> Self {
        Self::with_client(reqwest::Client::new(), api_url, secret_key)
    }

    pub(crate) fn with_client(http: reqwest::Client, api_url: &str, secret_key: &str) -> Self {
        Self {
            http,
            base: api_url.trim_end_matches('/').to_owned(),
            secret_key: secret_key.to_owned(),
        }
    }

    async fn send<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<T, BapiError> {
        let resp = req
            .bearer_auth(&self.secret_key)
            .header(header::API_VERSION, CLERK_API_VERSION)
            .send()
            .await
            .map_err(|e| BapiError::Network {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| BapiError::Network {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        if !status.is_success() {
            let errors = serde_json::from_slice::<ErrorBody>(&bytes)
                .map(|b| b.errors)
                .unwrap_or_default();
            return Err(BapiError::Api {
                status: status.as_u16(),
                errors,
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| BapiError::Decode(e.to_string()))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, BapiError> {
        let url = format!("{}{path}", self.base);
        self.send(self.http.get(&url), &url).await
    }

    async fn post<T: DeserializeOwned>(&self, path: &str, body: Value) -> Result<T, BapiError> {
        let url = format!("{}{path}", self.base);
        self.send(self.http.post(&url).json(&body), &url).await
    }

    async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, BapiError> {
        let url = format!("{}{path}", self.base);
        self.send(self.http.delete(&url), &url).await
    }

    pub async fn jwks(&self) -> Result<Jwks, BapiError> {
        self.get("/v1/jwks").await
    }

    pub async fn get_user(&self, id: &str) -> Result<User, BapiError> {
        self.get(&format!("/v1/users/{}", enc(id))).await
    }

    pub async fn list_users(&self, limit: u32, offset: u32) -> Result<Vec<User>, BapiError> {
        self.get(&format!("/v1/users?limit={limit}&offset={offset}"))
            .await
    }

    pub async fn create_user(
        &self,
        email: &str,
        password: Option<&str>,
        first_name: Option<&str>,
        last_name: Option<&str>,
    ) -> Result<User, BapiError> {
        self.post("/v1/users", json!({"email_address": [email], "password": password, "first_name": first_name, "last_name": last_name}))
            .await
    }

    pub async fn delete_user(&self, id: &str) -> Result<DeletedObject, BapiError> {
        self.delete(&format!("/v1/users/{}", enc(id))).await
    }

    pub async fn create_session(&self, user_id: &str) -> Result<Session, BapiError> {
        self.post("/v1/sessions", json!({ "user_id": user_id }))
            .await
    }

    pub async fn list_sessions(&self, user_id: &str) -> Result<Vec<Session>, BapiError> {
        self.get(&format!("/v1/sessions?user_id={}", enc(user_id)))
            .await
    }

    pub async fn revoke_session(&self, id: &str) -> Result<Session, BapiError> {
        self.post(&format!("/v1/sessions/{}/revoke", enc(id)), json!({}))
            .await
    }

    pub async fn session_token(&self, session_id: &str) -> Result<Token, BapiError> {
        self.post(
            &format!("/v1/sessions/{}/tokens", enc(session_id)),
            json!({}),
        )
        .await
    }

    pub async fn list_domains(&self) -> Result<DomainList, BapiError> {
        self.get("/v1/domains").await
    }

    pub async fn add_satellite(&self, name: &str) -> Result<Domain, BapiError> {
        self.post("/v1/domains", json!({"name": name, "is_satellite": true}))
            .await
    }

    pub async fn delete_domain(&self, id: &str) -> Result<DeletedObject, BapiError> {
        self.delete(&format!("/v1/domains/{}", enc(id))).await
    }

    /// Redeems a handshake nonce: the directives stored under it.
    pub async fn handshake_payload(&self, nonce: &str) -> Result<Vec<String>, BapiError> {
        let p: HandshakePayload = self
            .get(&format!(
                "/v1/clients/handshake_payload?{}={}",
                query::NONCE,
                enc(nonce)
            ))
            .await?;
        Ok(p.directives)
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_version_header_is_the_one_always_sent() {
        // Header names travel lowercase: `Clerk-API-Version` as the SDK used to spell it.
        assert_eq!(
            http::HeaderName::from_static(header::API_VERSION),
            http::HeaderName::from_bytes(b"Clerk-API-Version").unwrap()
        );
    }
}
