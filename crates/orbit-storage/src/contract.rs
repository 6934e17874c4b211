//! One contract suite for every adapter: each test takes a fresh store and checks the behaviour
//! orbit-core relies on. The PostgreSQL adapter will run the same functions.

use orbit_core::model::*;
use orbit_core::store::*;

pub async fn fixture(store: &dyn Store) -> (Instance, User) {
    let app = Application {
        id: "app_1".into(),
        name: "Test".into(),
        created_at: 1,
    };
    store.create_application(&app).await.unwrap();
    let instance = Instance {
        id: "ins_1".into(),
        application_id: app.id.clone(),
        kind: InstanceKind::Development,
        settings: InstanceSettings::default(),
        created_at: 1,
    };
    store.create_instance(&instance).await.unwrap();
    let user = user(&instance, "user_1", "ann@example.com");
    store.create_user(&user).await.unwrap();
    (instance, user)
}

pub fn user(instance: &Instance, id: &str, email: &str) -> User {
    User {
        id: id.into(),
        instance_id: instance.id.clone(),
        email_id: format!("idn_{id}"),
        email: email.into(),
        first_name: Some("Ann".into()),
        last_name: None,
        password_hash: Some("$argon2id$x".into()),
        created_at: 10,
        updated_at: 10,
        last_sign_in_at: None,
        last_active_at: None,
        email_verification: EmailVerification::Admin,
        email_verified_at: Some(10),
    }
}

pub fn session(instance: &Instance, id: &str, client: &str, user: &str) -> Session {
    Session {
        id: id.into(),
        instance_id: instance.id.clone(),
        client_id: client.into(),
        user_id: user.into(),
        status: SessionStatus::Active,
        created_at: 100,
        updated_at: 100,
        last_active_at: 100,
        abandon_at: 1_000_000,
        user_agent: Some("test".into()),
    }
}

pub fn client(instance: &Instance, id: &str) -> Client {
    Client {
        id: id.into(),
        instance_id: instance.id.clone(),
        created_at: 1,
        updated_at: 1,
    }
}

pub async fn instances_and_settings(store: &dyn Store) {
    let (instance, _) = fixture(store).await;
    assert_eq!(store.instance("ins_1").await.unwrap().unwrap(), instance);
    assert!(store.instance("nope").await.unwrap().is_none());
    let settings = InstanceSettings {
        sign_in_url: Some("https://primary.test/sign-in".into()),
        sign_up_url: None,
        allowed_redirect_origins: vec!["https://a.test".into(), "https://*.b.test".into()],
        session_inactivity_ms: 60_000,
        session_lifetime_ms: 120_000,
        sign_up_email_verification: true,
    };
    store.update_settings("ins_1", &settings).await.unwrap();
    assert_eq!(
        store.instance("ins_1").await.unwrap().unwrap().settings,
        settings
    );
    assert_eq!(store.list_instances().await.unwrap().len(), 1);
    assert_eq!(store.list_applications().await.unwrap().len(), 1);

    let domain = Domain {
        id: "dmn_1".into(),
        instance_id: "ins_1".into(),
        name: "localhost:3000".into(),
        is_satellite: false,
        fapi_host: Some("127.0.0.1:4000".into()),
        verified: true,
        verification_error: None,
        checked_at: None,
        created_at: 1,
    };
    store.add_domain(&domain).await.unwrap();
    assert_eq!(
        store
            .domain_by_fapi_host("127.0.0.1:4000")
            .await
            .unwrap()
            .unwrap(),
        domain
    );
    assert!(store
        .domain_by_fapi_host("127.0.0.1:4001")
        .await
        .unwrap()
        .is_none());
    let dup = Domain {
        id: "dmn_2".into(),
        ..domain.clone()
    };
    assert!(matches!(
        store.add_domain(&dup).await,
        Err(StoreError::Conflict(_))
    ));
    let same_host = Domain {
        id: "dmn_3".into(),
        name: "other.test".into(),
        ..domain.clone()
    };
    assert!(matches!(
        store.add_domain(&same_host).await,
        Err(StoreError::Conflict(_))
    ));

    // Development satellites have no FAPI host of their own; several may coexist.
    let sat = |id: &str, name: &str| Domain {
        id: id.into(),
        name: name.into(),
        is_satellite: true,
        fapi_host: None,
        ..domain.clone()
    };
    store
        .add_domain(&sat("dmn_s1", "localhost:3001"))
        .await
        .unwrap();
    store
        .add_domain(&sat("dmn_s2", "localhost:3002"))
        .await
        .unwrap();
    assert_eq!(store.domains("ins_1").await.unwrap().len(), 3);
    assert_eq!(
        store
            .domain_by_name("localhost:3001")
            .await
            .unwrap()
            .unwrap()
            .id,
        "dmn_s1"
    );
    assert_eq!(
        store.domain("dmn_s2").await.unwrap().unwrap().name,
        "localhost:3002"
    );
    store
        .set_domain_verification("dmn_s1", false, Some("no CNAME"), 77)
        .await
        .unwrap();
    let d = store.domain("dmn_s1").await.unwrap().unwrap();
    assert_eq!(
        (d.verified, d.verification_error.as_deref(), d.checked_at),
        (false, Some("no CNAME"), Some(77))
    );
    assert!(store.remove_domain("dmn_s1").await.unwrap());
    assert!(!store.remove_domain("dmn_s1").await.unwrap());
    assert!(store
        .domain_by_name("localhost:3001")
        .await
        .unwrap()
        .is_none());
}

/// A development browser stands for its client until it goes unused past a bound.
pub async fn dev_browsers_expire_by_last_use(store: &dyn Store) {
    let (instance, _) = fixture(store).await;
    let c = client(&instance, "client_1");
    store.create_client(&c).await.unwrap();
    store
        .put_dev_browser(&instance.id, "dvb_h", &c.id, 100)
        .await
        .unwrap();
    assert_eq!(
        store
            .dev_browser_client(&instance.id, "dvb_h", 99)
            .await
            .unwrap(),
        Some((c.clone(), 100)),
        "last used when created"
    );
    assert!(store
        .dev_browser_client(&instance.id, "dvb_h", 100)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .dev_browser_client("other", "dvb_h", 0)
        .await
        .unwrap()
        .is_none());
    store.touch_dev_browser("dvb_h", 500).await.unwrap();
    assert_eq!(
        store
            .dev_browser_client(&instance.id, "dvb_h", 499)
            .await
            .unwrap(),
        Some((c.clone(), 500))
    );
    store
        .put_dev_browser(&instance.id, "dvb_old", &c.id, 200)
        .await
        .unwrap();
    assert_eq!(store.prune_dev_browsers(200).await.unwrap(), 1);
    assert!(store
        .dev_browser_client(&instance.id, "dvb_old", 0)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .dev_browser_client(&instance.id, "dvb_h", 0)
        .await
        .unwrap()
        .is_some());
}

/// A pending sync of `instance_id` for the satellite `dmn_s`, live until t = 1000.
fn pending_sync(instance_id: &str) -> PendingSync {
    PendingSync {
        id: "p1".into(),
        instance_id: instance_id.to_owned(),
        satellite_domain_id: "dmn_s".into(),
        state_hash: "sh".into(),
        redirect_url: "https://sat.test/x".into(),
        format: HandshakeFormat::Nonce,
        suffixed_cookies: true,
        expires_at: 1_000,
    }
}

/// Reading a pending sync neither consumes it nor returns it once expired.
pub async fn pending_sync_read_does_not_consume(store: &dyn Store) {
    let (instance, _) = fixture(store).await;
    let pending = pending_sync(&instance.id);
    store.put_pending_sync(&pending).await.unwrap();
    for _ in 0..2 {
        assert_eq!(
            store.pending_sync("p1", 999).await.unwrap(),
            Some(pending.clone())
        );
    }
    assert!(store.pending_sync("p1", 1_000).await.unwrap().is_none());
    assert!(store.pending_sync("nope", 0).await.unwrap().is_none());
    assert_eq!(
        store.take_pending_sync("p1", 999).await.unwrap(),
        Some(pending.clone())
    );
    assert!(store.pending_sync("p1", 999).await.unwrap().is_none());
}

pub async fn handshake_state_is_single_use(store: &dyn Store) {
    let (instance, user) = fixture(store).await;
    let pending = pending_sync(&instance.id);
    store.put_pending_sync(&pending).await.unwrap();
    assert!(
        store
            .take_pending_sync("p1", 1_000)
            .await
            .unwrap()
            .is_none(),
        "expired at its expiry"
    );
    store
        .put_pending_sync(&PendingSync {
            id: "p2".into(),
            ..pending.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        store.take_pending_sync("p2", 999).await.unwrap(),
        Some(PendingSync {
            id: "p2".into(),
            ..pending.clone()
        })
    );
    assert!(
        store.take_pending_sync("p2", 999).await.unwrap().is_none(),
        "taken once"
    );

    let c = client(&instance, "client_1");
    store.create_client(&c).await.unwrap();
    let token = SyncToken {
        token_hash: "th".into(),
        instance_id: instance.id.clone(),
        client_id: c.id.clone(),
        satellite_domain_id: "dmn_s".into(),
        pending_sync_id: "p3".into(),
        expires_at: 2_000,
    };
    store.put_sync_token(&token).await.unwrap();
    assert_eq!(
        store.take_sync_token("th", 10).await.unwrap(),
        Some(token.clone())
    );
    assert!(store.take_sync_token("th", 10).await.unwrap().is_none());

    let directives = vec![
        "__session=a; Path=/".to_owned(),
        "__client_uat=1; Path=/".to_owned(),
    ];
    store
        .put_handshake_nonce(&instance.id, "nh", &directives, 5_000)
        .await
        .unwrap();
    assert!(
        store
            .take_handshake_nonce("other_instance", "nh", 10)
            .await
            .unwrap()
            .is_none(),
        "bound to its instance"
    );
    assert_eq!(
        store
            .take_handshake_nonce(&instance.id, "nh", 10)
            .await
            .unwrap(),
        Some(directives)
    );
    assert!(store
        .take_handshake_nonce(&instance.id, "nh", 10)
        .await
        .unwrap()
        .is_none());

    store
        .put_dev_browser(&instance.id, "dvb_h", &c.id, 1)
        .await
        .unwrap();
    assert_eq!(
        store
            .dev_browser_client(&instance.id, "dvb_h", 0)
            .await
            .unwrap()
            .unwrap()
            .0
            .id,
        c.id
    );
    assert!(store
        .dev_browser_client("other", "dvb_h", 0)
        .await
        .unwrap()
        .is_none());

    store
        .put_handshake_nonce(&instance.id, "old", &[], 50)
        .await
        .unwrap();
    store
        .put_sync_token(&SyncToken {
            token_hash: "old".into(),
            expires_at: 50,
            ..token
        })
        .await
        .unwrap();
    assert_eq!(store.prune_handshakes(100).await.unwrap(), 2);
    let _ = user;
}

pub async fn secret_keys(store: &dyn Store) {
    let (instance, _) = fixture(store).await;
    let k = StoredSecretKey {
        id: "sk_1".into(),
        instance_id: instance.id.clone(),
        hash: "h1".into(),
        sealed: vec![1, 2, 3],
        created_at: 5,
    };
    store.add_secret_key(&k).await.unwrap();
    assert_eq!(store.secret_keys(&instance.id).await.unwrap(), vec![k]);
    assert_eq!(
        store
            .instance_by_secret_hash("h1")
            .await
            .unwrap()
            .unwrap()
            .id,
        instance.id
    );
    assert!(store.instance_by_secret_hash("h2").await.unwrap().is_none());
}

pub async fn signing_key_rotation(store: &dyn Store) {
    let (instance, _) = fixture(store).await;
    let key = |kid: &str, at| StoredSigningKey {
        kid: kid.into(),
        instance_id: instance.id.clone(),
        sealed_pkcs8: vec![9],
        public_n: vec![1],
        public_e: vec![1, 0, 1],
        created_at: at,
        retired_at: None,
    };
    store.add_signing_key(&key("k1", 100)).await.unwrap();
    store.add_signing_key(&key("k2", 200)).await.unwrap();
    let keys = store.signing_keys(&instance.id).await.unwrap();
    assert_eq!(keys.len(), 2);
    let k1 = keys.iter().find(|k| k.kid == "k1").unwrap();
    let k2 = keys.iter().find(|k| k.kid == "k2").unwrap();
    assert_eq!(k1.retired_at, Some(200));
    assert_eq!(k2.retired_at, None);
    assert_eq!(
        store
            .delete_signing_keys_retired_before(&instance.id, 200)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .delete_signing_keys_retired_before(&instance.id, 201)
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.signing_keys(&instance.id).await.unwrap().len(), 1);
}

pub async fn users(store: &dyn Store) {
    let (instance, ann) = fixture(store).await;
    assert_eq!(
        store.user(&instance.id, "user_1").await.unwrap().unwrap(),
        ann
    );
    assert_eq!(
        store
            .user_by_email(&instance.id, "ann@example.com")
            .await
            .unwrap()
            .unwrap(),
        ann
    );
    assert!(store
        .user_by_email(&instance.id, "bob@example.com")
        .await
        .unwrap()
        .is_none());
    let dup = user(&instance, "user_2", "ann@example.com");
    assert!(matches!(
        store.create_user(&dup).await,
        Err(StoreError::Conflict(_))
    ));
    let mut bob = user(&instance, "user_3", "bob@example.com");
    bob.created_at = 20;
    bob.email_verification = EmailVerification::Unverified;
    bob.email_verified_at = None;
    store.create_user(&bob).await.unwrap();
    assert_eq!(store.count_users(&instance.id).await.unwrap(), 2);
    let page = store.list_users(&instance.id, 1, 0).await.unwrap();
    assert_eq!(page[0].id, "user_3", "newest first");
    assert_eq!(
        store.list_users(&instance.id, 10, 1).await.unwrap()[0].id,
        "user_1"
    );
    bob.first_name = Some("Robert".into());
    bob.password_hash = Some("$argon2id$new".into());
    bob.last_sign_in_at = Some(99);
    store.update_user(&bob).await.unwrap();
    assert_eq!(
        store.user(&instance.id, "user_3").await.unwrap().unwrap(),
        bob
    );
    assert!(store.delete_user(&instance.id, "user_3").await.unwrap());
    assert!(!store.delete_user(&instance.id, "user_3").await.unwrap());
    assert!(store.user(&instance.id, "user_3").await.unwrap().is_none());
}

pub async fn clients_and_sessions(store: &dyn Store) {
    let (instance, ann) = fixture(store).await;
    let c = client(&instance, "client_1");
    store.create_client(&c).await.unwrap();
    store
        .set_client_token("client_1", "h.test", "t1", 2)
        .await
        .unwrap();
    assert_eq!(
        store
            .client_by_token("h.test", "t1")
            .await
            .unwrap()
            .unwrap()
            .id,
        "client_1"
    );
    assert!(store
        .client_by_token("other.test", "t1")
        .await
        .unwrap()
        .is_none());
    // Rotation replaces the old token for that host.
    store
        .set_client_token("client_1", "h.test", "t2", 3)
        .await
        .unwrap();
    assert!(store
        .client_by_token("h.test", "t1")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .client_by_token("h.test", "t2")
        .await
        .unwrap()
        .is_some());
    store.touch_client("client_1", 50).await.unwrap();
    assert_eq!(
        store.client("client_1").await.unwrap().unwrap().updated_at,
        50
    );

    let s = session(&instance, "sess_1", "client_1", &ann.id);
    store.create_session(&s).await.unwrap();
    assert_eq!(
        store
            .session(&instance.id, "sess_1")
            .await
            .unwrap()
            .unwrap(),
        s
    );
    assert_eq!(
        store.sessions_for_client("client_1").await.unwrap().len(),
        1
    );
    assert_eq!(
        store
            .sessions_for_user(&instance.id, &ann.id)
            .await
            .unwrap()
            .len(),
        1
    );
    store.touch_session("sess_1", 500).await.unwrap();
    assert_eq!(
        store
            .session(&instance.id, "sess_1")
            .await
            .unwrap()
            .unwrap()
            .last_active_at,
        500
    );
    assert!(store
        .end_session("sess_1", SessionStatus::Revoked, 600)
        .await
        .unwrap());
    assert!(
        !store
            .end_session("sess_1", SessionStatus::Ended, 700)
            .await
            .unwrap(),
        "only active sessions end"
    );
    let ended = store
        .session(&instance.id, "sess_1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ended.status, ended.updated_at),
        (SessionStatus::Revoked, 600)
    );
    // Deleting the user removes their sessions.
    store
        .create_session(&session(&instance, "sess_2", "client_1", &ann.id))
        .await
        .unwrap();
    store.delete_user(&instance.id, &ann.id).await.unwrap();
    assert!(store
        .session(&instance.id, "sess_2")
        .await
        .unwrap()
        .is_none());
}

pub async fn failed_sign_ins(store: &dyn Store) {
    let (instance, _) = fixture(store).await;
    for at in [10, 20, 30] {
        store
            .record_failed_sign_in(&instance.id, "ann@example.com", at)
            .await
            .unwrap();
    }
    store
        .record_failed_sign_in(&instance.id, "bob@example.com", 25)
        .await
        .unwrap();
    assert_eq!(
        store
            .failed_sign_ins_since(&instance.id, "ann@example.com", 19)
            .await
            .unwrap(),
        vec![20, 30]
    );
    assert_eq!(store.prune_failed_sign_ins(21).await.unwrap(), 2);
    assert_eq!(
        store
            .failed_sign_ins_since(&instance.id, "ann@example.com", 20)
            .await
            .unwrap(),
        vec![30]
    );
}

pub fn pending_sign_up(instance: &Instance, token_hash: &str, expires_at: i64) -> PendingSignUp {
    PendingSignUp {
        token_hash: token_hash.into(),
        instance_id: instance.id.clone(),
        email: "new@example.com".into(),
        first_name: Some("New".into()),
        last_name: None,
        password_hash: Some("$argon2id$p".into()),
        code_hash: "c0de".into(),
        attempts: 0,
        created_at: 1,
        expires_at,
    }
}

/// Pending sign-ups: attempts are counted up to the limit, expiry holds, consuming is once.
pub async fn pending_sign_ups(store: &dyn Store) {
    let (instance, _) = fixture(store).await;
    let p = pending_sign_up(&instance, "h1", 100);
    store.put_pending_sign_up(&p).await.unwrap();
    store
        .put_pending_sign_up(&pending_sign_up(&instance, "h2", 50))
        .await
        .unwrap();
    for n in 1..=3 {
        let claimed = store
            .claim_sign_up_attempt(&instance.id, "h1", 10, 3)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claimed.attempts, n);
        assert_eq!(claimed.email, p.email);
        assert_eq!(claimed.password_hash, p.password_hash);
    }
    assert!(
        store
            .claim_sign_up_attempt(&instance.id, "h1", 10, 3)
            .await
            .unwrap()
            .is_none(),
        "out of attempts"
    );
    assert!(
        store
            .claim_sign_up_attempt(&instance.id, "h2", 50, 3)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(
        store
            .claim_sign_up_attempt("ins_other", "h2", 10, 3)
            .await
            .unwrap()
            .is_none(),
        "another instance's"
    );
    assert!(!store.take_pending_sign_up("ins_other", "h1").await.unwrap());
    assert!(store
        .take_pending_sign_up(&instance.id, "h1")
        .await
        .unwrap());
    assert!(!store
        .take_pending_sign_up(&instance.id, "h1")
        .await
        .unwrap());
    assert_eq!(store.prune_pending_sign_ups(50).await.unwrap(), 1);
    assert!(!store
        .take_pending_sign_up(&instance.id, "h2")
        .await
        .unwrap());
}

/// One `#[tokio::test]` per contract function, each on a fresh store from `$make`.
macro_rules! contract_tests {
    ($make:expr; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                crate::contract::$name(&$make.await).await
            }
        )+
    };
}

mod sqlite {
    use crate::SqliteStore;

    contract_tests!(
        async { SqliteStore::in_memory().await.unwrap() };
        instances_and_settings,
        secret_keys,
        signing_key_rotation,
        users,
        clients_and_sessions,
        handshake_state_is_single_use,
        pending_sync_read_does_not_consume,
        dev_browsers_expire_by_last_use,
        failed_sign_ins,
        pending_sign_ups,
    );

    /// Of many concurrent redemptions of one nonce, exactly one gets the directives.
    #[tokio::test]
    async fn concurrent_nonce_redemption_has_one_winner() {
        use orbit_core::store::HandshakeStore;
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(SqliteStore::open(&dir.path().join("o.db")).await.unwrap());
        store
            .put_handshake_nonce("ins", "n", &["x=1".to_owned()], i64::MAX)
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                s.take_handshake_nonce("ins", "n", 0)
                    .await
                    .unwrap()
                    .is_some()
            }));
        }
        let mut wins = 0;
        for t in tasks {
            wins += usize::from(t.await.unwrap());
        }
        assert_eq!(wins, 1);
    }

    #[tokio::test]
    async fn file_database_survives_reopen_and_migrates_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orbit.db");
        let store = SqliteStore::open(&path).await.unwrap();
        crate::contract::fixture(&store).await;
        store.close().await;
        let again = SqliteStore::open(&path).await.unwrap();
        use orbit_core::store::UserStore;
        assert_eq!(again.count_users("ins_1").await.unwrap(), 1);
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&again.pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
    }
}
