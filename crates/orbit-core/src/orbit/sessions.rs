//! Clients and sessions: the `__client` token, starting and ending sessions, and minting
//! session tokens.

use super::{Orbit, SessionBrowser, SessionStart};
use crate::clock::{Millis, MINUTE};
use crate::error::{Error, Result};
use crate::keys::{token_hash, SESSION_TOKEN_LIFETIME_SECS};
use crate::model::*;
use crate::store::StoreError;
use orbit_proto::SessionClaims;

/// Who a session must belong to for an operation on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionOwner<'a> {
    /// A browser's client (FAPI: the session is on this browser).
    Client(&'a str),
    /// A user (the profile page: any of the user's devices).
    User(&'a str),
}

impl Orbit {
    /// The session `id` if it is active now and belongs to `owner`; `None` whether it is
    /// someone else's, ended or unknown, so callers answer all three alike.
    pub async fn owned_session(
        &self,
        instance: &Instance,
        owner: SessionOwner<'_>,
        id: &str,
    ) -> Result<Option<Session>> {
        let session = match self.session(instance, id).await {
            Ok(s) => s,
            Err(Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let owned = match owner {
            SessionOwner::Client(c) => session.client_id == c,
            SessionOwner::User(u) => session.user_id == u,
        };
        Ok((owned && session.status == SessionStatus::Active).then_some(session))
    }

    /// Records activity on an active session of the client `client_id` (clerk-js touches the
    /// current session when a tab gets focus or the session is made current), written at most
    /// once per `session_touch_interval` like a token mint. `None` when the session is not an
    /// active one of that client.
    pub async fn touch_client_session(
        &self,
        instance: &Instance,
        client_id: &str,
        id: &str,
    ) -> Result<Option<Session>> {
        let Some(mut s) = self
            .owned_session(instance, SessionOwner::Client(client_id), id)
            .await?
        else {
            return Ok(None);
        };
        let now = self.now();
        if now - s.last_active_at >= self.settings.session_touch_interval {
            self.store.touch_session(&s.id, now).await?;
            s.last_active_at = now;
            s.updated_at = now;
        }
        Ok(Some(s))
    }

    /// The client a `__client` cookie on `fapi_host` stands for.
    pub async fn client_for_token(&self, fapi_host: &str, token: &str) -> Result<Option<Client>> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        Ok(self
            .store
            .client_by_token(fapi_host, &token_hash(token))
            .await?)
    }

    /// A new client (one browser) of `instance` at `now`, not stored yet. Clients are created
    /// lazily, only by `begin_session` (sign-in, sign-up): a browser that merely visits gets
    /// none (docs/design/storage.md "What anonymous requests store").
    fn client_of(&self, instance: &Instance, now: Millis) -> Client {
        Client {
            id: self.random.id("client"),
            instance_id: instance.id.clone(),
            created_at: now,
            updated_at: now,
        }
    }

    /// Starts a session for `user` on a fresh client for this browser (docs/design/
    /// sessions-and-tokens.md "Clients"). The browser's earlier client, if any, is retired: its
    /// sessions end (one signed-in user per browser) and every credential it had — its token on
    /// each FAPI host, the tokens linked satellites got, its development browsers — stops
    /// working. So a client planted in the browser before sign-in (session fixation) never
    /// carries the new session, on this host or any other.
    pub async fn start_session(
        &self,
        instance: &Instance,
        client: Option<Client>,
        user: &User,
        fapi_host: &str,
        user_agent: Option<String>,
    ) -> Result<SessionStart> {
        let browser = SessionBrowser {
            client,
            fapi_host: fapi_host.to_owned(),
            user_agent,
        };
        self.begin_session(instance, user, false, browser).await
    }

    /// A new account's first session, as `start_session`: `user` is created in the same write,
    /// so a sign-up leaves the account with its session or nothing at all, whatever happens to
    /// the database meanwhile (`EmailTaken` when the address has an account).
    pub(super) async fn start_first_session(
        &self,
        instance: &Instance,
        user: &User,
        browser: SessionBrowser,
    ) -> Result<SessionStart> {
        self.begin_session(instance, user, true, browser).await
    }

    async fn begin_session(
        &self,
        instance: &Instance,
        user: &User,
        new_user: bool,
        browser: SessionBrowser,
    ) -> Result<SessionStart> {
        let (retired, start) =
            self.new_session_start(instance, browser.client, user, browser.user_agent);
        // One write: the earlier client is retired and the new one starts with its session and
        // token together (with its user, for a sign-up), or none of it happens.
        let started = self
            .store
            .start_session(
                retired.as_ref().map(|c| c.id.as_str()),
                new_user.then_some(user),
                &start.client,
                &start.session,
                &browser.fapi_host,
                &token_hash(&start.client_token),
            )
            .await;
        match started {
            Ok(()) => Ok(start),
            Err(StoreError::Conflict(_)) if new_user => Err(Error::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// What a session start writes, not written yet: the browser's client to retire (of this
    /// instance), and a fresh client with the session and a new client token.
    pub(super) fn new_session_start(
        &self,
        instance: &Instance,
        client: Option<Client>,
        user: &User,
        user_agent: Option<String>,
    ) -> (Option<Client>, SessionStart) {
        let now = self.now();
        let retired = client.filter(|c| c.instance_id == instance.id);
        let client = self.client_of(instance, now);
        let session = Session {
            id: self.random.id("sess"),
            instance_id: instance.id.clone(),
            client_id: client.id.clone(),
            user_id: user.id.clone(),
            status: SessionStatus::Active,
            created_at: now,
            updated_at: now,
            last_active_at: now,
            abandon_at: now + instance.settings.session_lifetime_ms,
            user_agent: user_agent.map(|ua| ua.chars().take(256).collect()),
        };
        let start = SessionStart {
            client,
            session,
            client_token: self.random.token(32),
        };
        (retired, start)
    }

    /// A session for `user_id` on a new client, for test tooling (BAPI `POST /v1/sessions`).
    pub async fn create_session_for_user(
        &self,
        instance: &Instance,
        user_id: &str,
    ) -> Result<Session> {
        let user = self.user(&instance.id, user_id).await?;
        if user.banned {
            return Err(Error::UserBanned);
        }
        let client_host = format!("bapi:{}", self.random.token(8));
        let session = self
            .start_session(instance, None, &user, &client_host, None)
            .await?
            .session;
        self.refuse_if_banned_meanwhile(instance, &session).await?;
        Ok(session)
    }

    /// Ends `session`, just started, if its user was banned since the start checked: the ban
    /// writes its flag before it sweeps the sessions, so a session written after the sweep is
    /// seen here, and one written before it is swept (`Orbit::ban_user`). `UserBanned` then.
    pub(super) async fn refuse_if_banned_meanwhile(
        &self,
        instance: &Instance,
        session: &Session,
    ) -> Result<()> {
        let banned = self
            .store
            .user(&instance.id, &session.user_id)
            .await?
            // A user deleted meanwhile took the session with them.
            .is_some_and(|u| u.banned);
        if banned {
            let now = self.now();
            self.store
                .end_session(&session.id, SessionStatus::Revoked, now)
                .await?;
            self.store.touch_client(&session.client_id, now).await?;
            return Err(Error::UserBanned);
        }
        Ok(())
    }

    pub async fn session(&self, instance: &Instance, id: &str) -> Result<Session> {
        let mut s = self
            .store
            .session(&instance.id, id)
            .await?
            .ok_or_else(|| Error::NotFound {
                resource: "session",
                id: id.to_owned(),
            })?;
        s.status = s.status_at(self.now(), &instance.settings);
        Ok(s)
    }

    /// The session `id` if it is active now; `SessionNotActive` otherwise.
    async fn active_session(&self, instance: &Instance, id: &str) -> Result<Session> {
        let s = self.session(instance, id).await?;
        if s.status != SessionStatus::Active {
            return Err(Error::SessionNotActive {
                status: s.status.as_str(),
            });
        }
        Ok(s)
    }

    /// Sessions of the client that are still active now.
    pub async fn active_sessions(
        &self,
        instance: &Instance,
        client_id: &str,
    ) -> Result<Vec<Session>> {
        let now = self.now();
        Ok(self
            .store
            .sessions_for_client(client_id)
            .await?
            .into_iter()
            .filter(|s| {
                s.instance_id == instance.id
                    && s.status_at(now, &instance.settings) == SessionStatus::Active
            })
            .collect())
    }

    /// All sessions of a user, with their status as of now.
    pub async fn user_sessions(&self, instance: &Instance, user_id: &str) -> Result<Vec<Session>> {
        let now = self.now();
        let mut v = self.store.sessions_for_user(&instance.id, user_id).await?;
        for s in &mut v {
            s.status = s.status_at(now, &instance.settings);
        }
        Ok(v)
    }

    /// The instance's active sessions with their users' addresses, most recently active
    /// first (the dashboard's list).
    pub async fn instance_sessions(
        &self,
        instance: &Instance,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<ListedSession>> {
        let now = self.now();
        Ok(self
            .store
            .active_sessions_of_instance(
                &instance.id,
                now,
                now - instance.settings.session_inactivity_ms,
                limit,
                offset,
            )
            .await?)
    }

    /// Ends one session (`Ended` by its user, `Revoked` by the backend, `Removed` from another
    /// device). Returns the session as it is now.
    pub async fn end_session(
        &self,
        instance: &Instance,
        id: &str,
        status: SessionStatus,
    ) -> Result<Session> {
        let s = self.active_session(instance, id).await?;
        let now = self.now();
        self.store.end_session(id, status, now).await?;
        self.store.touch_client(&s.client_id, now).await?;
        Ok(Session {
            status,
            updated_at: now,
            ..s
        })
    }

    /// Signs the whole client out: every active session on it ends.
    pub async fn sign_out_client(&self, instance: &Instance, client_id: &str) -> Result<usize> {
        let now = self.now();
        let mut n = 0;
        for s in self.active_sessions(instance, client_id).await? {
            if self
                .store
                .end_session(&s.id, SessionStatus::Ended, now)
                .await?
            {
                n += 1;
            }
        }
        self.store.touch_client(client_id, now).await?;
        Ok(n)
    }

    /// Mints a 60-second session token (docs/protocol.md "Session token claims (contract)") and
    /// records activity.
    pub async fn mint_session_token(
        &self,
        instance: &Instance,
        session_id: &str,
        azp: Option<&str>,
    ) -> Result<String> {
        let primary = self.primary_domain(&instance.id).await?;
        self.mint_session_token_as(
            instance,
            session_id,
            azp,
            &Orbit::fapi_url(instance, &primary),
        )
        .await
    }

    /// Like `mint_session_token`, with `iss` set to the FAPI URL that answers for the app's
    /// domain (a satellite's tokens name the satellite's FAPI host, which the SDKs check).
    pub async fn mint_session_token_as(
        &self,
        instance: &Instance,
        session_id: &str,
        azp: Option<&str>,
        issuer: &str,
    ) -> Result<String> {
        let session = self.active_session(instance, session_id).await?;
        let now = self.now();
        if now - session.last_active_at >= self.settings.session_touch_interval {
            self.store.touch_session(&session.id, now).await?;
        }
        let keys = self.instance_keys(&instance.id).await?;
        let iat = now.div_euclid(1000);
        let fva_minutes = (now - session.created_at).div_euclid(MINUTE);
        let claims = SessionClaims {
            iss: issuer.to_owned(),
            sub: session.user_id.clone(),
            sid: session.id.clone(),
            iat,
            nbf: iat - 10,
            exp: iat + SESSION_TOKEN_LIFETIME_SECS,
            azp: azp.map(str::to_owned),
            jti: self.random.token(15),
            v: 2,
            sts: "active".into(),
            fva: [fva_minutes, -1],
        };
        Ok(keys.current.sign_jwt(&claims)?)
    }
}
