//! Storage traits owned by the domain. Adapters (orbit-storage) implement them; nothing here
//! knows which database is underneath.

use crate::clock::Millis;
pub use crate::limits::FailedSignIn;
use crate::limits::{Admission, Micros, RateLimit};
use crate::model::*;
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("storage failure: {0}")]
    Backend(String),
    /// The database cannot be reached or did not answer in time (connection refused or lost,
    /// no pooled connection within the timeout, a statement cancelled by its timeout): the
    /// request may succeed later. The write that failed is not half done: each is one statement
    /// or one transaction, so it happened entirely (a commit whose answer was lost) or not at
    /// all.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An instance with everything it starts with, written by `InstanceStore::create_instance_with`
/// in one transaction: no reader ever sees an instance without its domain or keys.
#[derive(Debug, Clone)]
pub struct NewInstance {
    /// The application, when it is created with its first instance.
    pub application: Option<Application>,
    pub instance: Instance,
    pub primary: Domain,
    pub secret_key: StoredSecretKey,
    pub signing_key: StoredSigningKey,
}

/// What `InstanceStore::delete_secret_key` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKeyDeletion {
    Deleted,
    /// No such key of that instance.
    NotFound,
    /// The key is the instance's only one: nothing was deleted.
    LastKey,
}

#[async_trait]
pub trait InstanceStore: Send + Sync {
    async fn create_application(&self, app: &Application) -> StoreResult<()>;
    async fn list_applications(&self) -> StoreResult<Vec<Application>>;
    async fn create_instance(&self, instance: &Instance) -> StoreResult<()>;
    /// Writes `new` in one transaction. With `only_if_first`, writes nothing (and returns false)
    /// when the deployment already has an instance: of several servers bootstrapping one fresh
    /// data directory at once, one creates the instance.
    async fn create_instance_with(
        &self,
        new: &NewInstance,
        only_if_first: bool,
    ) -> StoreResult<bool>;
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
    /// Writes the outcome of a DNS check: `verified`, `verification_error`, `checked_at`,
    /// `dns_failures`, `dns_failing_since` and `suspended_at` of `domain` (nothing else).
    async fn record_domain_check(&self, domain: &Domain) -> StoreResult<()>;
    /// Returns false when there was no such domain.
    async fn remove_domain(&self, id: &str) -> StoreResult<bool>;

    async fn add_secret_key(&self, key: &StoredSecretKey) -> StoreResult<()>;
    async fn secret_keys(&self, instance_id: &str) -> StoreResult<Vec<StoredSecretKey>>;
    /// Deletes the secret key `id` of `instance_id`, unless it is the instance's last one.
    /// Deletions of one instance's keys queue up, so racing ones never leave it without a key.
    async fn delete_secret_key(
        &self,
        instance_id: &str,
        id: &str,
    ) -> StoreResult<SecretKeyDeletion>;
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
    /// Newest first; with `email_contains`, only users whose address contains it (taken
    /// literally: `%` and `_` are no wildcards; addresses and the search are lower-case).
    async fn list_users(
        &self,
        instance_id: &str,
        email_contains: Option<&str>,
        limit: u32,
        offset: u32,
    ) -> StoreResult<Vec<User>>;
    /// How many users `list_users` lists with this filter.
    async fn count_users(
        &self,
        instance_id: &str,
        email_contains: Option<&str>,
    ) -> StoreResult<u64>;
    /// Sets `banned` (and `updated_at`) and nothing else. Returns false when there was no such
    /// user.
    async fn set_user_banned(
        &self,
        instance_id: &str,
        id: &str,
        banned: bool,
        at: Millis,
    ) -> StoreResult<bool>;
    /// Sets the names (and `updated_at`) and nothing else, so a concurrent sign-in or password
    /// change keeps its own fields. Returns false when there was no such user.
    async fn set_user_names(
        &self,
        instance_id: &str,
        id: &str,
        first_name: Option<&str>,
        last_name: Option<&str>,
        at: Millis,
    ) -> StoreResult<bool>;
    /// Compare-and-swap: sets the password hash to `new` (and `updated_at`) only if it is still
    /// `expected`. Returns false when it was not (a concurrent change won).
    async fn swap_password_hash(
        &self,
        instance_id: &str,
        id: &str,
        expected: Option<&str>,
        new: &str,
        at: Millis,
    ) -> StoreResult<bool>;
    /// Records a sign-in at `at` (`last_sign_in_at`, `updated_at`).
    async fn record_sign_in(&self, instance_id: &str, id: &str, at: Millis) -> StoreResult<()>;
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
    /// Starts `session` on the new `client` in one transaction, or does nothing of it. When
    /// `retired` names the browser's earlier client, that client is retired first: its active
    /// sessions end, every credential it had (its token on each FAPI host, its development
    /// browsers) is deleted and it is touched; the client row and its sessions stay as history.
    /// Then `new_user` (a sign-up's account) is created, `Conflict` if its email is taken;
    /// `client` is created, the session inserted and `token_hash` bound as the client's token
    /// for `fapi_host`.
    async fn start_session(
        &self,
        retired: Option<&str>,
        new_user: Option<&User>,
        client: &Client,
        session: &Session,
        fapi_host: &str,
        token_hash: &str,
    ) -> StoreResult<()>;
    async fn session(&self, instance_id: &str, id: &str) -> StoreResult<Option<Session>>;
    async fn sessions_for_client(&self, client_id: &str) -> StoreResult<Vec<Session>>;
    async fn sessions_for_user(
        &self,
        instance_id: &str,
        user_id: &str,
    ) -> StoreResult<Vec<Session>>;
    /// The instance's sessions that are active at `now` (status active, before `abandon_at`,
    /// last active after `active_after`: now less the instance's inactivity timeout), with
    /// their users' addresses, most recently active first.
    async fn active_sessions_of_instance(
        &self,
        instance_id: &str,
        now: Millis,
        active_after: Millis,
        limit: u32,
        offset: u32,
    ) -> StoreResult<Vec<ListedSession>>;
    /// Moves an active session to `status`. Returns false when it was not active.
    async fn end_session(&self, id: &str, status: SessionStatus, at: Millis) -> StoreResult<bool>;
    async fn touch_session(&self, id: &str, at: Millis) -> StoreResult<()>;
    /// Deletes clients untouched since `idle_before` that have no live session at `now` (active,
    /// before its `abandon_at` and its instance's inactivity timeout) and no development
    /// browser, with their tokens and sessions. Returns how many clients.
    async fn prune_clients(&self, idle_before: Millis, now: Millis) -> StoreResult<u64>;
}

/// Failed sign-in attempts, keyed by the normalised identifier so that unknown and known
/// accounts are limited alike.
#[async_trait]
pub trait AttemptStore: Send + Sync {
    /// Starts a sign-in attempt on `identifier` from `source`: records it at `at` as a failure
    /// and returns, in the same atomic step, the failures recorded before it after `since`
    /// (oldest first). Of racing calls each sees every one recorded before it, so two attempts
    /// can never both pass a limit that only one of them may. The attempt stays a failure until
    /// `forget_sign_in_attempt` removes it (a success, or an attempt a limit refused).
    async fn start_sign_in_attempt(
        &self,
        instance_id: &str,
        identifier: &str,
        source: &str,
        at: Millis,
        since: Millis,
    ) -> StoreResult<(SignInAttemptId, Vec<FailedSignIn>)>;
    async fn forget_sign_in_attempt(&self, id: SignInAttemptId) -> StoreResult<()>;
    async fn prune_failed_sign_ins(&self, before: Millis) -> StoreResult<u64>;
}

/// A sign-in attempt in progress, as the store names it.
pub type SignInAttemptId = i64;

/// The state of the rate limits that must hold across every node sharing the database: token
/// buckets (per source, per instance) and the pacing of accounts past their hourly ceiling
/// (docs/design/sessions-and-tokens.md "Abuse limits"). The arithmetic is orbit-core's
/// (`limits.rs`); the store keeps the state and changes it atomically.
#[async_trait]
pub trait LimitStore: Send + Sync {
    /// Takes one token from the bucket `bucket` of the instance under `limit` at `now`
    /// (`RateLimit::take`), in one atomic step: of racing takes on one bucket, from any node,
    /// no more are admitted than the bucket holds.
    async fn take_token(
        &self,
        instance_id: &str,
        bucket: &str,
        limit: RateLimit,
        now: Micros,
    ) -> StoreResult<Admission>;
    /// Admits an attempt on the account `identifier` from `source` under its pacing
    /// (`AccountPace::admit`), reading and writing the account's pacing state under the
    /// account's lock, so racing attempts on one account each see the slots the others took.
    async fn pace_account_attempt(
        &self,
        instance_id: &str,
        identifier: &str,
        source: &str,
        newest_failure: Millis,
        pace: Millis,
        now: Millis,
    ) -> StoreResult<Admission>;
    /// Deletes the state that limits nothing any more at `now`: buckets full again, paces
    /// drained. Returns how many rows.
    async fn prune_limits(&self, now: Millis) -> StoreResult<u64>;
}

/// Short-lived handshake state. Every `take_*` consumes atomically: of any number of concurrent
/// calls for one key, exactly one gets the row, and a consumed row stays consumed across
/// restarts. Handshake nonces are the exception: several readers of one app request resolve the
/// same nonce (`handshake_nonce_directives`), so they are read, never consumed, and expire.
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
    /// The directives stored under the nonce if it belongs to `instance_id` and has not expired
    /// at `now`. Reading does not consume: every reader within the lifetime gets the same list.
    async fn handshake_nonce_directives(
        &self,
        instance_id: &str,
        nonce_hash: &str,
        now: Millis,
    ) -> StoreResult<Option<Vec<String>>>;
    /// A development browser token (`__clerk_db_jwt`) standing for a client, or for none yet
    /// (a browser that has only visited: clients are created lazily).
    async fn put_dev_browser(
        &self,
        instance_id: &str,
        token_hash: &str,
        client_id: Option<&str>,
        at: Millis,
    ) -> StoreResult<()>;
    /// A development browser that was last used after `used_after`: the client it stands for
    /// (`None` when it stands for none yet) and when it was last used.
    async fn dev_browser_client(
        &self,
        instance_id: &str,
        token_hash: &str,
        used_after: Millis,
    ) -> StoreResult<Option<(Option<Client>, Millis)>>;
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
    /// The pending sign-up whose token hashes to `token_hash`, expired or not (until pruned).
    async fn pending_sign_up(
        &self,
        instance_id: &str,
        token_hash: &str,
    ) -> StoreResult<Option<PendingSignUp>>;
    /// Gives a pending sign-up that has not expired at `now` a new code: `code_hash` (unless
    /// its own is empty: an address with an account never gets a code that matches), no tries
    /// used, and `expires_at`. Returns it as it is now; `None` when there was none to renew.
    async fn renew_pending_sign_up(
        &self,
        instance_id: &str,
        token_hash: &str,
        code_hash: &str,
        now: Millis,
        expires_at: Millis,
    ) -> StoreResult<Option<PendingSignUp>>;
    /// Consumes the pending sign-up; of concurrent calls exactly one gets true.
    async fn take_pending_sign_up(&self, instance_id: &str, token_hash: &str) -> StoreResult<bool>;
    /// Deletes pending sign-ups that expired at or before `now`. Returns how many.
    async fn prune_pending_sign_ups(&self, now: Millis) -> StoreResult<u64>;
}

/// Sign-in attempts of the Frontend API (docs/design/frontend-api.md "Sign-in").
#[async_trait]
pub trait SignInStore: Send + Sync {
    async fn put_sign_in(&self, attempt: &SignInAttempt) -> StoreResult<()>;
    async fn sign_in_attempt(
        &self,
        instance_id: &str,
        id: &str,
    ) -> StoreResult<Option<SignInAttempt>>;
    /// Completes the attempt `id` and starts its session, in one transaction or not at all:
    /// the attempt moves to `complete` (naming `session`) only if it is still
    /// `needs_first_factor` and unexpired at `now`; then, as `SessionStore::start_session`,
    /// the browser's `retired` client is retired and `client` starts with `session` and its
    /// token for `fapi_host`. Of racing calls for one attempt exactly one returns true; the
    /// others write nothing.
    #[allow(clippy::too_many_arguments)]
    async fn complete_sign_in(
        &self,
        instance_id: &str,
        id: &str,
        now: Millis,
        retired: Option<&str>,
        client: &Client,
        session: &Session,
        fapi_host: &str,
        token_hash: &str,
    ) -> StoreResult<bool>;
    /// Deletes attempts that expired at or before `now`. Returns how many.
    async fn prune_sign_ins(&self, now: Millis) -> StoreResult<u64>;
}

/// The dashboard's operators, their sessions, the one-time setup links and the audit log
/// (docs/design/dashboard.md). Deployment-wide: nothing here belongs to an instance, except
/// the instance an audit entry may name.
#[async_trait]
pub trait OperatorStore: Send + Sync {
    /// Creates `operator` and records `audit` in one transaction. `Conflict` when the email is
    /// taken.
    async fn create_operator(&self, operator: &Operator, audit: &AuditEntry) -> StoreResult<()>;
    async fn operator(&self, id: &str) -> StoreResult<Option<Operator>>;
    /// `email` normalised.
    async fn operator_by_email(&self, email: &str) -> StoreResult<Option<Operator>>;
    /// Oldest first.
    async fn list_operators(&self) -> StoreResult<Vec<Operator>>;
    async fn count_operators(&self) -> StoreResult<u64>;
    /// Records a sign-in at `at` (`last_sign_in_at`).
    async fn record_operator_sign_in(&self, id: &str, at: Millis) -> StoreResult<()>;

    async fn create_operator_session(&self, session: &OperatorSession) -> StoreResult<()>;
    /// The session whose token hashes to `token_hash` if it has not ended and has not reached
    /// its `expires_at` at `now` (inactivity is core's to judge).
    async fn live_operator_session(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> StoreResult<Option<OperatorSession>>;
    /// The operator's sessions that have not ended and have not expired at `now`, newest first.
    async fn operator_sessions(
        &self,
        operator_id: &str,
        now: Millis,
    ) -> StoreResult<Vec<OperatorSession>>;
    async fn touch_operator_session(&self, id: &str, at: Millis) -> StoreResult<()>;
    /// Ends the operator's session `id` at `at` if it has not ended. Returns false when there
    /// was no such session of that operator, or it had ended.
    async fn end_operator_session(
        &self,
        operator_id: &str,
        id: &str,
        at: Millis,
    ) -> StoreResult<bool>;

    async fn put_setup_token(&self, token: &OperatorSetupToken) -> StoreResult<()>;
    /// The setup token, used or not, expired or not (until pruned).
    async fn setup_token(&self, token_hash: &str) -> StoreResult<Option<OperatorSetupToken>>;
    /// Redeems a setup token, in one transaction or not at all: marks it used at `now` only if
    /// it is unused, unexpired at `now`, and the deployment has no operator; then creates
    /// `operator` and records `audit`. Of racing redemptions (of this token or any other) at
    /// most one returns true; the others write nothing. `Conflict` leaves the token unused.
    async fn redeem_setup_token(
        &self,
        token_hash: &str,
        now: Millis,
        operator: &Operator,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;

    async fn record_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// At most `limit` entries, newest first (by `seq`), those before the entry `before` when
    /// given: the page after the one that ended there.
    async fn audit_log(&self, before: Option<i64>, limit: u32) -> StoreResult<Vec<AuditEntry>>;
    /// At most `limit` entries newest first, after skipping `offset`; with `instance`, only
    /// those concerning it (the dashboard's numbered pages).
    async fn audit_log_of(
        &self,
        instance: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>>;

    /// Deletes operator sessions that ended or expired before `before`, and setup tokens that
    /// were used or expired before it. Returns how many rows.
    async fn prune_operator_state(&self, before: Millis) -> StoreResult<u64>;
}

/// Held while this node works a cluster-wide round (`NodeStore::try_round`); dropping it lets
/// another node take the next one.
pub trait RoundGuard: Send {}

/// What a server node needs of the database it shares with other nodes.
#[async_trait]
pub trait NodeStore: Send + Sync {
    /// Whether the database answers and has every migration this build knows applied.
    async fn readiness(&self) -> StoreResult<Readiness>;
    /// Claims the round named `round` (pruning, DNS checks) unless another node works it now:
    /// `None` when it does. On a database one process owns (SQLite), always claimed.
    async fn try_round(&self, round: &str) -> StoreResult<Option<Box<dyn RoundGuard>>>;
}

/// The answer of `NodeStore::readiness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// The database is older than this build (migrations not applied yet).
    MigrationsPending {
        applied: i64,
        known: i64,
    },
}

pub trait Store:
    InstanceStore
    + UserStore
    + SessionStore
    + AttemptStore
    + LimitStore
    + HandshakeStore
    + SignUpStore
    + SignInStore
    + OperatorStore
    + NodeStore
{
}
impl<
        T: InstanceStore
            + UserStore
            + SessionStore
            + AttemptStore
            + LimitStore
            + HandshakeStore
            + SignUpStore
            + SignInStore
            + OperatorStore
            + NodeStore,
    > Store for T
{
}
