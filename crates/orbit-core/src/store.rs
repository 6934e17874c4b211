//! Storage traits owned by the domain. Adapters (orbit-storage) implement them; nothing here
//! knows which database is underneath.

use crate::clock::Millis;
use crate::model::*;
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("storage failure: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait InstanceStore: Send + Sync {
    async fn create_application(&self, app: &Application) -> StoreResult<()>;
    async fn list_applications(&self) -> StoreResult<Vec<Application>>;
    async fn create_instance(&self, instance: &Instance) -> StoreResult<()>;
    async fn instance(&self, id: &str) -> StoreResult<Option<Instance>>;
    async fn list_instances(&self) -> StoreResult<Vec<Instance>>;
    async fn update_settings(
        &self,
        instance_id: &str,
        settings: &InstanceSettings,
    ) -> StoreResult<()>;

    /// Fails with `Conflict` when the name or FAPI host is taken in the deployment.
    async fn add_domain(&self, domain: &Domain) -> StoreResult<()>;
    async fn domains(&self, instance_id: &str) -> StoreResult<Vec<Domain>>;
    async fn domain(&self, id: &str) -> StoreResult<Option<Domain>>;
    async fn domain_by_name(&self, name: &str) -> StoreResult<Option<Domain>>;
    async fn domain_by_fapi_host(&self, fapi_host: &str) -> StoreResult<Option<Domain>>;
    async fn set_domain_verification(
        &self,
        id: &str,
        verified: bool,
        error: Option<&str>,
        at: Millis,
    ) -> StoreResult<()>;
    /// Returns false when there was no such domain.
    async fn remove_domain(&self, id: &str) -> StoreResult<bool>;

    async fn add_secret_key(&self, key: &StoredSecretKey) -> StoreResult<()>;
    async fn secret_keys(&self, instance_id: &str) -> StoreResult<Vec<StoredSecretKey>>;
    async fn instance_by_secret_hash(&self, hash: &str) -> StoreResult<Option<Instance>>;

    /// Adds `key` and marks every other current key of its instance retired at `key.created_at`.
    async fn add_signing_key(&self, key: &StoredSigningKey) -> StoreResult<()>;
    async fn signing_keys(&self, instance_id: &str) -> StoreResult<Vec<StoredSigningKey>>;
    /// Forgets retired keys whose last token has expired.
    async fn delete_signing_keys_retired_before(
        &self,
        instance_id: &str,
        before: Millis,
    ) -> StoreResult<u64>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Fails with `Conflict` when the email is taken in the instance.
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    async fn user(&self, instance_id: &str, id: &str) -> StoreResult<Option<User>>;
    async fn user_by_email(&self, instance_id: &str, email: &str) -> StoreResult<Option<User>>;
    /// Newest first.
    async fn list_users(
        &self,
        instance_id: &str,
        limit: u32,
        offset: u32,
    ) -> StoreResult<Vec<User>>;
    async fn count_users(&self, instance_id: &str) -> StoreResult<u64>;
    /// Writes every mutable field (names, email, password hash, timestamps).
    async fn update_user(&self, user: &User) -> StoreResult<()>;
    /// Deletes the user with their sessions. Returns false when there was no such user.
    async fn delete_user(&self, instance_id: &str, id: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_client(&self, client: &Client) -> StoreResult<()>;
    async fn client(&self, id: &str) -> StoreResult<Option<Client>>;
    async fn touch_client(&self, id: &str, at: Millis) -> StoreResult<()>;
    /// Binds a new token (its hash) for `fapi_host` to the client, replacing any older token of
    /// the client for that host (rotation).
    async fn set_client_token(
        &self,
        client_id: &str,
        fapi_host: &str,
        token_hash: &str,
        at: Millis,
    ) -> StoreResult<()>;
    async fn client_by_token(
        &self,
        fapi_host: &str,
        token_hash: &str,
    ) -> StoreResult<Option<Client>>;

    async fn create_session(&self, session: &Session) -> StoreResult<()>;
    async fn session(&self, instance_id: &str, id: &str) -> StoreResult<Option<Session>>;
    async fn sessions_for_client(&self, client_id: &str) -> StoreResult<Vec<Session>>;
    async fn sessions_for_user(
        &self,
        instance_id: &str,
        user_id: &str,
    ) -> StoreResult<Vec<Session>>;
    /// Moves an active session to `status`. Returns false when it was not active.
    async fn end_session(&self, id: &str, status: SessionStatus, at: Millis) -> StoreResult<bool>;
    async fn touch_session(&self, id: &str, at: Millis) -> StoreResult<()>;
}

/// Failed sign-in attempts, keyed by the normalised identifier so that unknown and known
/// accounts are limited alike.
#[async_trait]
pub trait AttemptStore: Send + Sync {
    async fn record_failed_sign_in(
        &self,
        instance_id: &str,
        identifier: &str,
        at: Millis,
    ) -> StoreResult<()>;
    /// Timestamps of failures strictly after `since`, oldest first.
    async fn failed_sign_ins_since(
        &self,
        instance_id: &str,
        identifier: &str,
        since: Millis,
    ) -> StoreResult<Vec<Millis>>;
    async fn prune_failed_sign_ins(&self, before: Millis) -> StoreResult<u64>;
}

/// Short-lived, single-use handshake state. Every `take_*` consumes atomically: of any number
/// of concurrent calls for one key, exactly one gets the row, and a consumed row stays consumed
/// across restarts.
#[async_trait]
pub trait HandshakeStore: Send + Sync {
    async fn put_pending_sync(&self, pending: &PendingSync) -> StoreResult<()>;
    /// Consumes the pending sync if it exists and has not expired at `now`.
    async fn take_pending_sync(&self, id: &str, now: Millis) -> StoreResult<Option<PendingSync>>;
    /// Reads the pending sync if it exists and has not expired at `now`, without consuming it.
    async fn pending_sync(&self, id: &str, now: Millis) -> StoreResult<Option<PendingSync>>;
    async fn put_sync_token(&self, token: &SyncToken) -> StoreResult<()>;
    async fn take_sync_token(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> StoreResult<Option<SyncToken>>;
    async fn put_handshake_nonce(
        &self,
        instance_id: &str,
        nonce_hash: &str,
        directives: &[String],
        expires_at: Millis,
    ) -> StoreResult<()>;
    async fn take_handshake_nonce(
        &self,
        instance_id: &str,
        nonce_hash: &str,
        now: Millis,
    ) -> StoreResult<Option<Vec<String>>>;
    /// A development browser token (`__clerk_db_jwt`) standing for a client.
    async fn put_dev_browser(
        &self,
        instance_id: &str,
        token_hash: &str,
        client_id: &str,
        at: Millis,
    ) -> StoreResult<()>;
    /// The client a development browser stands for and when the development browser was last
    /// used, if it was last used after `used_after`.
    async fn dev_browser_client(
        &self,
        instance_id: &str,
        token_hash: &str,
        used_after: Millis,
    ) -> StoreResult<Option<(Client, Millis)>>;
    /// Records that the development browser was used at `at`.
    async fn touch_dev_browser(&self, token_hash: &str, at: Millis) -> StoreResult<()>;
    /// Deletes development browsers last used at or before `used_before`. Returns how many.
    async fn prune_dev_browsers(&self, used_before: Millis) -> StoreResult<u64>;
    /// Deletes expired pending syncs, sync tokens and nonces.
    async fn prune_handshakes(&self, now: Millis) -> StoreResult<u64>;
}

/// Sign-ups waiting for their emailed code (docs/design/accounts.md "Email verification").
#[async_trait]
pub trait SignUpStore: Send + Sync {
    async fn put_pending_sign_up(&self, pending: &PendingSignUp) -> StoreResult<()>;
    /// Counts one code attempt against the pending sign-up and returns it, atomically: only
    /// while it exists, has not expired at `now` and has had fewer than `max_attempts` tries.
    async fn claim_sign_up_attempt(
        &self,
        instance_id: &str,
        token_hash: &str,
        now: Millis,
        max_attempts: u32,
    ) -> StoreResult<Option<PendingSignUp>>;
    /// Consumes the pending sign-up; of concurrent calls exactly one gets true.
    async fn take_pending_sign_up(&self, instance_id: &str, token_hash: &str) -> StoreResult<bool>;
    /// Deletes pending sign-ups that expired at or before `now`. Returns how many.
    async fn prune_pending_sign_ups(&self, now: Millis) -> StoreResult<u64>;
}

pub trait Store:
    InstanceStore + UserStore + SessionStore + AttemptStore + HandshakeStore + SignUpStore
{
}
impl<T: InstanceStore + UserStore + SessionStore + AttemptStore + HandshakeStore + SignUpStore>
    Store for T
{
}
