//! One contract suite for every adapter: each test takes a fresh store and checks the behaviour
//! orbit-core relies on. The PostgreSQL adapter will run the same functions.

use orbit_core::clock::Millis;
use orbit_core::model::*;
use orbit_core::store::*;
use std::sync::Arc;

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
        banned: false,
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
        dns_failures: 0,
        dns_failing_since: None,
        suspended_at: None,
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
    let checked = Domain {
        verified: false,
        verification_error: Some("no CNAME".into()),
        checked_at: Some(77),
        ..store.domain("dmn_s1").await.unwrap().unwrap()
    };
    store.record_domain_check(&checked).await.unwrap();
    assert_eq!(store.domain("dmn_s1").await.unwrap().unwrap(), checked);
    assert!(store.remove_domain("dmn_s1").await.unwrap());
    assert!(!store.remove_domain("dmn_s1").await.unwrap());
    assert!(store
        .domain_by_name("localhost:3001")
        .await
        .unwrap()
        .is_none());
}

/// A DNS check writes its outcome, the run of failures and the suspension, and nothing else.
pub async fn domain_dns_checks(store: &dyn Store) {
    let (instance, _) = fixture(store).await;
    let primary = Domain {
        id: "dmn_primary".into(),
        instance_id: instance.id.clone(),
        name: "primary.test".into(),
        is_satellite: false,
        fapi_host: Some("clerk.primary.test".into()),
        verified: true,
        created_at: 2,
        ..Domain::default()
    };
    store.add_domain(&primary).await.unwrap();
    let satellite = Domain {
        id: "dmn_sat".into(),
        name: "satellite.test".into(),
        is_satellite: true,
        fapi_host: Some("clerk.satellite.test".into()),
        verified: false,
        ..primary.clone()
    };
    store.add_domain(&satellite).await.unwrap();
    let failing = Domain {
        verified: true,
        verification_error: Some("clerk.satellite.test does not exist in DNS".into()),
        checked_at: Some(500),
        dns_failures: 3,
        dns_failing_since: Some(100),
        ..satellite.clone()
    };
    store.record_domain_check(&failing).await.unwrap();
    assert_eq!(store.domain("dmn_sat").await.unwrap().unwrap(), failing);
    let suspended = Domain {
        verified: false,
        dns_failures: 4,
        checked_at: Some(900),
        suspended_at: Some(900),
        // Not a check's to change: stays as stored.
        name: "renamed.test".into(),
        ..failing.clone()
    };
    store.record_domain_check(&suspended).await.unwrap();
    assert_eq!(
        store.domain("dmn_sat").await.unwrap().unwrap(),
        Domain {
            name: "satellite.test".into(),
            ..suspended.clone()
        }
    );
    let restored = Domain {
        verified: true,
        verification_error: None,
        checked_at: Some(1000),
        dns_failures: 0,
        dns_failing_since: None,
        suspended_at: None,
        ..satellite.clone()
    };
    store.record_domain_check(&restored).await.unwrap();
    assert_eq!(store.domain("dmn_sat").await.unwrap().unwrap(), restored);
    // The primary is untouched.
    assert_eq!(store.domain(&primary.id).await.unwrap().unwrap(), primary);
}

/// A development browser stands for its client until it goes unused past a bound.
pub async fn dev_browsers_expire_by_last_use(store: &dyn Store) {
    let (instance, _) = fixture(store).await;
    let c = client(&instance, "client_1");
    store.create_client(&c).await.unwrap();
    store
        .put_dev_browser(&instance.id, "dvb_h", Some(&c.id), 100)
        .await
        .unwrap();
    assert_eq!(
        store
            .dev_browser_client(&instance.id, "dvb_h", 99)
            .await
            .unwrap(),
        Some((Some(c.clone()), 100)),
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
        Some((Some(c.clone()), 500))
    );
    store
        .put_dev_browser(&instance.id, "dvb_old", Some(&c.id), 200)
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

/// A handshake nonce is read, not consumed: bound to its instance, the same directives to every
/// read until it expires, then nothing; housekeeping deletes it after that.
pub async fn handshake_nonces_are_read_until_they_expire(store: &dyn Store) {
    let (instance, _) = fixture(store).await;
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
            .handshake_nonce_directives("other_instance", "nh", 10)
            .await
            .unwrap()
            .is_none(),
        "bound to its instance"
    );
    // Read, not consumed: every read before expiry gets the same directives.
    for now in [10, 10, 4_999] {
        assert_eq!(
            store
                .handshake_nonce_directives(&instance.id, "nh", now)
                .await
                .unwrap(),
            Some(directives.clone()),
            "readable at {now}"
        );
    }
    assert!(
        store
            .handshake_nonce_directives(&instance.id, "nh", 5_000)
            .await
            .unwrap()
            .is_none(),
        "unreadable from its expiry on"
    );
    assert!(store
        .handshake_nonce_directives(&instance.id, "unknown", 10)
        .await
        .unwrap()
        .is_none());

    assert_eq!(store.prune_handshakes(4_999).await.unwrap(), 0);
    assert_eq!(store.prune_handshakes(5_000).await.unwrap(), 1);
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
        client_id: Some(c.id.clone()),
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
    // A browser signed out on the primary: the token links the satellite to no client.
    let signed_out = SyncToken {
        token_hash: "th_none".into(),
        client_id: None,
        ..token.clone()
    };
    store.put_sync_token(&signed_out).await.unwrap();
    assert_eq!(
        store.take_sync_token("th_none", 10).await.unwrap(),
        Some(signed_out)
    );

    store
        .put_dev_browser(&instance.id, "dvb_h", Some(&c.id), 1)
        .await
        .unwrap();
    assert_eq!(
        store
            .dev_browser_client(&instance.id, "dvb_h", 0)
            .await
            .unwrap()
            .unwrap()
            .0
            .map(|c| c.id),
        Some(c.id.clone())
    );
    assert!(store
        .dev_browser_client("other", "dvb_h", 0)
        .await
        .unwrap()
        .is_none());
    // A development browser of a browser that only visited stands for no client yet.
    store
        .put_dev_browser(&instance.id, "dvb_none", None, 1)
        .await
        .unwrap();
    assert_eq!(
        store
            .dev_browser_client(&instance.id, "dvb_none", 0)
            .await
            .unwrap(),
        Some((None, 1))
    );

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
    assert_eq!(
        store.secret_keys(&instance.id).await.unwrap(),
        vec![k.clone()]
    );
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

    // Revocation: never the last key, never another instance's.
    assert_eq!(
        store.delete_secret_key(&instance.id, "sk_1").await.unwrap(),
        SecretKeyDeletion::LastKey
    );
    let k2 = StoredSecretKey {
        id: "sk_2".into(),
        hash: "h2".into(),
        created_at: 6,
        ..k.clone()
    };
    store.add_secret_key(&k2).await.unwrap();
    assert_eq!(
        store.delete_secret_key("ins_other", "sk_1").await.unwrap(),
        SecretKeyDeletion::NotFound
    );
    assert_eq!(
        store.delete_secret_key(&instance.id, "sk_1").await.unwrap(),
        SecretKeyDeletion::Deleted
    );
    assert!(store.instance_by_secret_hash("h1").await.unwrap().is_none());
    assert_eq!(store.secret_keys(&instance.id).await.unwrap(), vec![k2]);
    assert_eq!(
        store.delete_secret_key(&instance.id, "sk_1").await.unwrap(),
        SecretKeyDeletion::NotFound
    );
    assert_eq!(
        store.delete_secret_key(&instance.id, "sk_2").await.unwrap(),
        SecretKeyDeletion::LastKey
    );
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
    assert_eq!(store.count_users(&instance.id, None).await.unwrap(), 2);
    let page = store.list_users(&instance.id, None, 1, 0).await.unwrap();
    assert_eq!(page[0].id, "user_3", "newest first");
    assert_eq!(
        store.list_users(&instance.id, None, 10, 1).await.unwrap()[0].id,
        "user_1"
    );
    // The email search: a part of the address, taken literally (`%` and `_` match themselves).
    let mut odd = user(&instance, "user_5", "a_b%c@example.org");
    odd.created_at = 5;
    store.create_user(&odd).await.unwrap();
    for (search, expected) in [
        ("bob", vec!["user_3"]),
        ("@example.", vec!["user_3", "user_1", "user_5"]),
        ("example.org", vec!["user_5"]),
        ("_b%", vec!["user_5"]),
        ("a_", vec!["user_5"]),
        ("%", vec!["user_5"]),
        ("ann@example.com", vec!["user_1"]),
        ("nobody", vec![]),
    ] {
        let found = store
            .list_users(&instance.id, Some(search), 10, 0)
            .await
            .unwrap();
        let ids: Vec<&str> = found.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, expected, "{search}");
        assert_eq!(
            store.count_users(&instance.id, Some(search)).await.unwrap(),
            expected.len() as u64,
            "{search}"
        );
    }
    let paged = store
        .list_users(&instance.id, Some("example"), 1, 1)
        .await
        .unwrap();
    assert_eq!(paged[0].id, "user_1", "the search pages too");
    // Another instance's users are never found.
    assert_eq!(
        store
            .list_users("ins_other", Some("example"), 10, 0)
            .await
            .unwrap(),
        vec![]
    );
    assert!(store.delete_user(&instance.id, "user_5").await.unwrap());
    // A ban writes its flag and `updated_at`, nothing else.
    assert!(store
        .set_user_banned(&instance.id, "user_1", true, 30)
        .await
        .unwrap());
    let banned = store.user(&instance.id, "user_1").await.unwrap().unwrap();
    assert_eq!(
        banned,
        User {
            banned: true,
            updated_at: 30,
            ..ann.clone()
        }
    );
    assert!(store
        .set_user_banned(&instance.id, "user_1", false, 31)
        .await
        .unwrap());
    assert!(
        !store
            .user(&instance.id, "user_1")
            .await
            .unwrap()
            .unwrap()
            .banned
    );
    assert!(!store
        .set_user_banned("ins_other", "user_1", true, 32)
        .await
        .unwrap());
    assert!(!store
        .set_user_banned(&instance.id, "user_9", true, 32)
        .await
        .unwrap());
    // Each update writes its own fields and leaves the others as they are in the store.
    assert!(store
        .set_user_names(&instance.id, "user_3", Some("Robert"), None, 50)
        .await
        .unwrap());
    assert!(!store
        .set_user_names(&instance.id, "user_9", Some("X"), None, 50)
        .await
        .unwrap());
    store
        .record_sign_in(&instance.id, "user_3", 99)
        .await
        .unwrap();
    // A compare-and-swap over a stale hash writes nothing.
    assert!(!store
        .swap_password_hash(
            &instance.id,
            "user_3",
            Some("$argon2id$stale"),
            "$argon2id$lost",
            60
        )
        .await
        .unwrap());
    assert!(store
        .swap_password_hash(
            &instance.id,
            "user_3",
            Some("$argon2id$x"),
            "$argon2id$new",
            120
        )
        .await
        .unwrap());
    bob.first_name = Some("Robert".into());
    bob.last_name = None;
    bob.password_hash = Some("$argon2id$new".into());
    bob.last_sign_in_at = Some(99);
    bob.updated_at = 120;
    assert_eq!(
        store.user(&instance.id, "user_3").await.unwrap().unwrap(),
        bob
    );
    // A user without a password: the swap compares the absent hash too.
    let mut carol = user(&instance, "user_4", "carol@example.com");
    carol.password_hash = None;
    store.create_user(&carol).await.unwrap();
    assert!(!store
        .swap_password_hash(
            &instance.id,
            "user_4",
            Some("$argon2id$x"),
            "$argon2id$c",
            5
        )
        .await
        .unwrap());
    assert!(store
        .swap_password_hash(&instance.id, "user_4", None, "$argon2id$c", 5)
        .await
        .unwrap());
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
    // The instance's active sessions, most recently active first, with their users' addresses:
    // not an ended one, one past its absolute end, one idle too long, or another instance's.
    let bob = user(&instance, "user_2", "bob@example.com");
    store.create_user(&bob).await.unwrap();
    for (id, user_id, last_active_at, abandon_at) in [
        ("sess_a", &ann.id, 300, 1_000_000),
        ("sess_b", &bob.id, 400, 1_000_000),
        ("sess_c", &ann.id, 200, 1_000_000),
        ("sess_old", &ann.id, 100, 1_000_000),
        ("sess_abandoned", &bob.id, 450, 500),
    ] {
        store
            .create_session(&Session {
                last_active_at,
                abandon_at,
                ..session(&instance, id, "client_1", user_id)
            })
            .await
            .unwrap();
    }
    let listed = store
        .active_sessions_of_instance(&instance.id, 600, 150, 10, 0)
        .await
        .unwrap();
    let rows: Vec<(&str, &str)> = listed
        .iter()
        .map(|l| (l.session.id.as_str(), l.user_email.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("sess_b", "bob@example.com"),
            ("sess_a", "ann@example.com"),
            ("sess_c", "ann@example.com")
        ]
    );
    assert_eq!(
        listed[1].session,
        Session {
            last_active_at: 300,
            ..session(&instance, "sess_a", "client_1", &ann.id)
        }
    );
    let second_page = store
        .active_sessions_of_instance(&instance.id, 600, 150, 2, 2)
        .await
        .unwrap();
    assert_eq!(second_page.len(), 1);
    assert_eq!(second_page[0].session.id, "sess_c");
    assert!(store
        .active_sessions_of_instance("ins_other", 600, 150, 10, 0)
        .await
        .unwrap()
        .is_empty());
    for id in ["sess_a", "sess_b", "sess_c", "sess_old", "sess_abandoned"] {
        store
            .end_session(id, SessionStatus::Ended, 700)
            .await
            .unwrap();
    }
    assert!(store
        .active_sessions_of_instance(&instance.id, 600, 150, 10, 0)
        .await
        .unwrap()
        .is_empty());
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
    let start = |identifier: &'static str, source: &'static str, at: Millis, since: Millis| {
        let id = instance.id.clone();
        async move {
            store
                .start_sign_in_attempt(&id, identifier, source, at, since)
                .await
                .unwrap()
        }
    };
    let seen = |v: &[FailedSignIn]| -> Vec<(Millis, String)> {
        v.iter().map(|f| (f.at, f.source.clone())).collect()
    };
    let (_, before) = start("ann@example.com", "192.0.2.1", 10, 0).await;
    assert!(before.is_empty());
    start("ann@example.com", "192.0.2.2", 20, 0).await;
    start("bob@example.com", "192.0.2.1", 25, 0).await;
    // An attempt sees the ones before it (after `since`), oldest first, not itself.
    let (third, before) = start("ann@example.com", "192.0.2.1", 30, 19).await;
    assert_eq!(seen(&before), [(20, "192.0.2.2".to_owned())]);
    // A forgotten attempt (a success) no longer counts.
    store.forget_sign_in_attempt(third).await.unwrap();
    let (_, before) = start("ann@example.com", "192.0.2.3", 40, 0).await;
    assert_eq!(
        seen(&before),
        [(10, "192.0.2.1".to_owned()), (20, "192.0.2.2".to_owned())]
    );
    assert_eq!(store.prune_failed_sign_ins(21).await.unwrap(), 2);
    let (_, before) = start("ann@example.com", "192.0.2.1", 50, 0).await;
    assert_eq!(seen(&before), [(40, "192.0.2.3".to_owned())]);
}

/// A model of the store's token buckets: `RateLimit::take` on the arrival time it returned.
#[derive(Default)]
struct BucketModel(std::collections::HashMap<(&'static str, &'static str), i64>);

impl BucketModel {
    /// Takes from the store and from the model; they must agree.
    async fn take(
        &mut self,
        store: &dyn Store,
        limit: orbit_core::limits::RateLimit,
        (instance, bucket): (&'static str, &'static str),
        at_ms: Millis,
    ) -> orbit_core::limits::Admission {
        use orbit_core::limits::Admission;
        let now = at_ms * 1000;
        let expected = match limit.take(self.0.get(&(instance, bucket)).copied(), now) {
            Ok(next) => {
                self.0.insert((instance, bucket), next);
                Admission::Admitted
            }
            Err(wait) => Admission::Wait(wait),
        };
        let got = store
            .take_token(instance, bucket, limit, now)
            .await
            .unwrap();
        assert_eq!(got, expected, "{instance} {bucket} at {at_ms} ms");
        got
    }
}

/// Token buckets answer as `RateLimit::take` does on the arrival time it returns, per instance
/// and bucket; pruning forgets only full buckets, which answers nothing differently.
pub async fn rate_limit_buckets(store: &dyn Store) {
    use orbit_core::limits::{Admission, RateLimit};
    let limit = RateLimit::new(3, 60);
    let mut model = BucketModel::default();
    let busy = ("ins_1", "ip 192.0.2.1");
    let t0 = 1_700_000_000_000;
    for _ in 0..3 {
        assert_eq!(
            model.take(store, limit, busy, t0).await,
            Admission::Admitted
        );
    }
    assert_eq!(
        model.take(store, limit, busy, t0).await,
        Admission::Wait(1000)
    );
    // Another bucket, or the same bucket of another instance, is its own.
    let other = ("ins_1", "ip 192.0.2.2");
    assert_eq!(
        model.take(store, limit, other, t0).await,
        Admission::Admitted
    );
    let elsewhere = ("ins_2", "ip 192.0.2.1");
    assert_eq!(
        model.take(store, limit, elsewhere, t0).await,
        Admission::Admitted
    );
    for at in [
        t0 + 400,
        t0 + 1000,
        t0 + 1000,
        t0 + 2500,
        t0 + 2600,
        t0 + 9000,
    ] {
        model.take(store, limit, busy, at).await;
    }
    // At t0 + 5 s the two buckets taken once at t0 are full again; the busy one is not.
    assert_eq!(store.prune_limits(t0 + 5000).await.unwrap(), 2);
    model.0.retain(|k, _| *k == busy);
    assert_eq!(
        model.take(store, limit, other, t0 + 5000).await,
        Admission::Admitted
    );
    for _ in 0..4 {
        model.take(store, limit, busy, t0 + 9000).await;
    }
    assert_eq!(store.prune_limits(t0 + 60_000).await.unwrap(), 2);
    assert_eq!(store.prune_limits(t0 + 60_000).await.unwrap(), 0);
}

/// A model of the store's account pacing: `AccountPace::admit` on the state it keeps.
#[derive(Default)]
struct PaceModel(std::collections::HashMap<&'static str, orbit_core::limits::AccountPace>);

const PACE: Millis = 36_000;

impl PaceModel {
    /// Admits from the store and from the model; they must agree.
    async fn admit(
        &mut self,
        store: &dyn Store,
        account: &'static str,
        source: &str,
        newest: Millis,
        now: Millis,
    ) -> orbit_core::limits::Admission {
        let expected = self
            .0
            .entry(account)
            .or_default()
            .admit(source, newest, PACE, now);
        let got = store
            .pace_account_attempt("ins_1", account, source, newest, PACE, now)
            .await
            .unwrap();
        assert_eq!(got, expected, "{account} from {source} at {now}");
        got
    }
}

/// Account pacing answers as `AccountPace::admit` does on the state it keeps, per account;
/// pruning forgets drained paces only.
pub async fn account_pacing(store: &dyn Store) {
    use orbit_core::limits::Admission;
    let t0 = 1_700_000_000_000;
    let mut m = PaceModel::default();
    assert_eq!(
        m.admit(store, "ann", "x1", t0, t0).await,
        Admission::Wait(PACE)
    );
    assert_eq!(
        m.admit(store, "ann", "x2", t0, t0).await,
        Admission::Wait(2 * PACE)
    );
    assert_eq!(
        m.admit(store, "ann", "owner", t0, t0).await,
        Admission::Wait(3 * PACE)
    );
    assert_eq!(
        m.admit(store, "bob", "x1", t0 - PACE, t0).await,
        Admission::Admitted
    );
    assert_eq!(
        m.admit(store, "ann", "x1", t0, t0 + PACE).await,
        Admission::Admitted
    );
    assert_eq!(
        m.admit(store, "ann", "owner", t0 + PACE, t0 + 3 * PACE)
            .await,
        Admission::Admitted
    );
    // Held slots of many sources survive the round trip through the store.
    for i in 0..50 {
        m.admit(store, "cy", &format!("2001:db8:{i:x}::/64"), t0, t0)
            .await;
    }
    assert_eq!(
        m.admit(store, "cy", "2001:db8:7::/64", t0, t0 + 8 * PACE)
            .await,
        Admission::Admitted
    );
    // bob's pace drained a pace after its one attempt; ann's not until her queue moved on.
    assert_eq!(store.prune_limits(t0 + PACE).await.unwrap(), 1);
    m.0.remove("bob");
    assert_eq!(
        m.admit(store, "bob", "x1", t0, t0 + PACE).await,
        Admission::Admitted
    );
    let drained = m.0["ann"].drained_at(PACE).max(m.0["bob"].drained_at(PACE));
    assert!(drained < m.0["cy"].drained_at(PACE));
    assert_eq!(store.prune_limits(drained).await.unwrap(), 2);
    m.0.retain(|k, _| *k == "cy");
    assert_eq!(
        m.admit(store, "ann", "x9", t0, drained).await,
        Admission::Admitted
    );
}

/// `start_session` is one write: it retires the browser's earlier client (sessions ended,
/// every credential deleted, another client's kept), starts the new client with its session and
/// token together, and a failure leaves everything as it was.
pub async fn start_session_is_one_write(store: &dyn Store) {
    let (instance, ann) = fixture(store).await;
    let first = session(&instance, "sess_1", "client_1", &ann.id);
    store
        .start_session(
            None,
            None,
            &client(&instance, "client_1"),
            &first,
            "h.test",
            "t1",
        )
        .await
        .unwrap();
    assert!(store
        .client_by_token("h.test", "t1")
        .await
        .unwrap()
        .is_some());
    // More credentials of client_1: a linked satellite's token and a development browser;
    // and another browser's client, which must not be touched.
    store
        .set_client_token("client_1", "sat.test", "t4", 4)
        .await
        .unwrap();
    store
        .put_dev_browser(&instance.id, "dvb1", Some("client_1"), 4)
        .await
        .unwrap();
    store
        .create_client(&client(&instance, "client_x"))
        .await
        .unwrap();
    store
        .set_client_token("client_x", "h.test", "tx", 4)
        .await
        .unwrap();

    let second = Session {
        created_at: 200,
        ..session(&instance, "sess_2", "client_2", &ann.id)
    };
    store
        .start_session(
            Some("client_1"),
            None,
            &client(&instance, "client_2"),
            &second,
            "h.test",
            "t2",
        )
        .await
        .unwrap();
    let ins = instance.id.as_str();
    let status =
        |id: &'static str| async move { store.session(ins, id).await.unwrap().unwrap().status };
    let token = |host, t| store.client_by_token(host, t);
    // After the second start: sess_2 active on client_2 with token t2; client_1 retired at 200.
    let second_started = || async {
        assert_eq!(status("sess_1").await, SessionStatus::Ended);
        assert_eq!(status("sess_2").await, SessionStatus::Active);
        for (host, t) in [("h.test", "t1"), ("sat.test", "t4"), ("h.test", "t3")] {
            assert!(token(host, t).await.unwrap().is_none(), "{host} {t}");
        }
        assert_eq!(token("h.test", "t2").await.unwrap().unwrap().id, "client_2");
        assert_eq!(token("h.test", "tx").await.unwrap().unwrap().id, "client_x");
        assert!(store
            .dev_browser_client(&instance.id, "dvb1", 0)
            .await
            .unwrap()
            .is_none());
        let retired = store.client("client_1").await.unwrap().unwrap();
        assert_eq!(retired.updated_at, 200, "the retired client stays, touched");
        assert!(store.client("client_3").await.unwrap().is_none());
    };
    second_started().await;
    // A session id that exists: nothing of the start happens, not even the retirement.
    let clash = Session {
        created_at: 300,
        ..session(&instance, "sess_1", "client_3", &ann.id)
    };
    assert!(store
        .start_session(
            Some("client_2"),
            None,
            &client(&instance, "client_3"),
            &clash,
            "h.test",
            "t3",
        )
        .await
        .is_err());
    second_started().await;
}

/// A sign-up's `start_session` creates the account in the same write: the user with its client,
/// session and token, or none of them. An email that is taken is `Conflict`, and then nothing of
/// the start happens, not even the retirement of the browser's earlier client.
pub async fn sign_up_session_is_one_write(store: &dyn Store) {
    let (instance, ann) = fixture(store).await;
    let first = session(&instance, "sess_1", "client_1", &ann.id);
    store
        .start_session(
            None,
            None,
            &client(&instance, "client_1"),
            &first,
            "h.test",
            "t1",
        )
        .await
        .unwrap();
    let ins = instance.id.as_str();

    let bob = user(&instance, "user_2", "bob@example.com");
    let bobs = session(&instance, "sess_2", "client_2", &bob.id);
    store
        .start_session(
            Some("client_1"),
            Some(&bob),
            &client(&instance, "client_2"),
            &bobs,
            "h.test",
            "t2",
        )
        .await
        .unwrap();
    assert_eq!(store.user(ins, "user_2").await.unwrap().unwrap(), bob);
    assert_eq!(
        store.session(ins, "sess_2").await.unwrap().unwrap().user_id,
        "user_2"
    );
    let bobs_client = store.client_by_token("h.test", "t2").await.unwrap();
    assert_eq!(bobs_client.unwrap().id, "client_2");
    assert_eq!(
        store.session(ins, "sess_1").await.unwrap().unwrap().status,
        SessionStatus::Ended
    );

    // Another account for bob's address, from bob's browser.
    let again = user(&instance, "user_3", "bob@example.com");
    let clash = session(&instance, "sess_3", "client_3", &again.id);
    let e = store
        .start_session(
            Some("client_2"),
            Some(&again),
            &client(&instance, "client_3"),
            &clash,
            "h.test",
            "t3",
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
    assert!(store.user(ins, "user_3").await.unwrap().is_none());
    assert!(store.session(ins, "sess_3").await.unwrap().is_none());
    assert!(store.client("client_3").await.unwrap().is_none());
    assert!(store
        .client_by_token("h.test", "t3")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.session(ins, "sess_2").await.unwrap().unwrap().status,
        SessionStatus::Active,
        "bob's browser stays signed in"
    );
    assert!(store
        .client_by_token("h.test", "t2")
        .await
        .unwrap()
        .is_some());
}

fn new_instance(id: &str, primary: &str) -> NewInstance {
    let instance = Instance {
        id: id.into(),
        application_id: format!("app_{id}"),
        kind: InstanceKind::Production,
        settings: InstanceSettings::default(),
        created_at: 1,
    };
    NewInstance {
        application: Some(Application {
            id: format!("app_{id}"),
            name: "New".into(),
            created_at: 1,
        }),
        primary: Domain {
            id: format!("dmn_{id}"),
            instance_id: id.into(),
            name: primary.into(),
            is_satellite: false,
            fapi_host: Some(format!("clerk.{primary}")),
            verified: true,
            created_at: 1,
            ..Domain::default()
        },
        secret_key: StoredSecretKey {
            id: format!("sk_{id}"),
            instance_id: id.into(),
            hash: format!("hash_{id}"),
            sealed: vec![1],
            created_at: 1,
        },
        signing_key: StoredSigningKey {
            kid: format!("kid_{id}"),
            instance_id: id.into(),
            sealed_pkcs8: vec![1],
            public_n: vec![2],
            public_e: vec![3],
            created_at: 1,
            retired_at: None,
        },
        instance,
    }
}

/// An instance is created whole or not at all; `only_if_first` creates only the first one.
pub async fn instance_creation_is_one_write(store: &dyn Store) {
    assert!(store
        .create_instance_with(&new_instance("ins_a", "a.example"), true)
        .await
        .unwrap());
    let a = store.instance("ins_a").await.unwrap().unwrap();
    assert_eq!(store.domains(&a.id).await.unwrap().len(), 1);
    assert_eq!(store.secret_keys(&a.id).await.unwrap().len(), 1);
    assert_eq!(store.signing_keys(&a.id).await.unwrap().len(), 1);
    assert!(!store
        .create_instance_with(&new_instance("ins_b", "b.example"), true)
        .await
        .unwrap());
    assert!(store.instance("ins_b").await.unwrap().is_none());
    // A primary domain that is taken fails the whole creation.
    assert!(matches!(
        store
            .create_instance_with(&new_instance("ins_c", "a.example"), false)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(store.instance("ins_c").await.unwrap().is_none());
    assert_eq!(store.list_applications().await.unwrap().len(), 1);
    assert!(store.secret_keys("ins_c").await.unwrap().is_empty());
    assert!(store
        .create_instance_with(&new_instance("ins_d", "d.example"), false)
        .await
        .unwrap());
    assert_eq!(store.list_instances().await.unwrap().len(), 2);
}

/// Pruning clients takes those idle and without a live session or development browser, with
/// their tokens and sessions.
pub async fn idle_clients_are_pruned(store: &dyn Store) {
    let (instance, ann) = fixture(store).await;
    let live_until = InstanceSettings::default().session_inactivity_ms;
    for id in ["c_idle", "c_live", "c_recent", "c_dev", "c_ended"] {
        store.create_client(&client(&instance, id)).await.unwrap();
        store.set_client_token(id, "h.test", id, 1).await.unwrap();
    }
    store.touch_client("c_recent", 500).await.unwrap();
    store
        .create_session(&session(&instance, "s_live", "c_live", &ann.id))
        .await
        .unwrap();
    store
        .create_session(&session(&instance, "s_ended", "c_ended", &ann.id))
        .await
        .unwrap();
    store
        .end_session("s_ended", SessionStatus::Ended, 101)
        .await
        .unwrap();
    store
        .put_dev_browser(&instance.id, "db", Some("c_dev"), 1)
        .await
        .unwrap();
    let now = 200;
    assert_eq!(store.prune_clients(100, now).await.unwrap(), 2);
    for (id, kept) in [
        ("c_idle", false),
        ("c_ended", false),
        ("c_live", true),
        ("c_recent", true),
        ("c_dev", true),
    ] {
        assert_eq!(store.client(id).await.unwrap().is_some(), kept, "{id}");
        assert_eq!(
            store.client_by_token("h.test", id).await.unwrap().is_some(),
            kept,
            "{id}"
        );
    }
    assert!(store
        .session(&instance.id, "s_ended")
        .await
        .unwrap()
        .is_none());
    // Once its session has expired (inactivity), the client goes too.
    assert_eq!(store.prune_clients(100, 100 + live_until).await.unwrap(), 1);
    assert!(store.client("c_live").await.unwrap().is_none());
}

pub fn pending_sign_up(instance: &Instance, token_hash: &str, expires_at: i64) -> PendingSignUp {
    PendingSignUp {
        id: format!("sua_{token_hash}"),
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
        assert_eq!(claimed.id, p.id);
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
    // Read back expired or not; renewed (new code, tries reset, new expiry) only while alive.
    assert_eq!(
        store
            .pending_sign_up(&instance.id, "h2")
            .await
            .unwrap()
            .unwrap()
            .expires_at,
        50
    );
    assert!(store
        .pending_sign_up("ins_other", "h1")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .renew_pending_sign_up(&instance.id, "h2", "new", 50, 700)
        .await
        .unwrap()
        .is_none());
    let renewed = store
        .renew_pending_sign_up(&instance.id, "h1", "new", 10, 100)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((renewed.code_hash.as_str(), renewed.attempts), ("new", 0));
    assert_eq!(renewed.email, p.email);
    // An address with an account keeps its empty code hash: no code ever matches.
    let taken = PendingSignUp {
        code_hash: String::new(),
        ..pending_sign_up(&instance, "h3", 100)
    };
    store.put_pending_sign_up(&taken).await.unwrap();
    let renewed = store
        .renew_pending_sign_up(&instance.id, "h3", "new", 10, 100)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renewed.code_hash, "");
    assert!(store
        .take_pending_sign_up(&instance.id, "h3")
        .await
        .unwrap());
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

pub fn sign_in_attempt(instance: &Instance, id: &str, expires_at: i64) -> SignInAttempt {
    SignInAttempt {
        id: id.into(),
        instance_id: instance.id.clone(),
        browser_hash: "b".into(),
        identifier: "ann@example.com".into(),
        status: SignInStatus::NeedsFirstFactor,
        created_session_id: None,
        created_at: 1,
        expires_at,
    }
}

/// Sign-in attempts: read back as stored, completed once with their session in one write (or
/// not at all when expired, already complete or another instance's), pruned once expired.
pub async fn sign_in_attempts(store: &dyn Store) {
    let (instance, user) = fixture(store).await;
    let a = sign_in_attempt(&instance, "sia_1", 1_000);
    store.put_sign_in(&a).await.unwrap();
    store
        .put_sign_in(&sign_in_attempt(&instance, "sia_2", 50))
        .await
        .unwrap();
    assert_eq!(
        store.sign_in_attempt(&instance.id, "sia_1").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        store.sign_in_attempt("ins_other", "sia_1").await.unwrap(),
        None
    );

    // The browser came with a client, which the completion retires.
    let old = client(&instance, "client_old");
    store
        .start_session(
            None,
            None,
            &old,
            &session(&instance, "sess_old", &old.id, &user.id),
            "h.test",
            "t_old",
        )
        .await
        .unwrap();
    let new = client(&instance, "client_new");
    let s = Session {
        created_at: 200,
        ..session(&instance, "sess_new", &new.id, &user.id)
    };
    let instance_id = instance.id.as_str();
    let complete = |id: &'static str, at: i64| {
        let (new, s) = (&new, &s);
        async move {
            store
                .complete_sign_in(
                    instance_id,
                    id,
                    at,
                    Some("client_old"),
                    new,
                    s,
                    "h.test",
                    "t_new",
                )
                .await
                .unwrap()
        }
    };
    assert!(!complete("sia_2", 200).await, "expired");
    assert!(!complete("sia_none", 200).await, "unknown");
    assert!(
        store
            .session(&instance.id, "sess_new")
            .await
            .unwrap()
            .is_none(),
        "nothing of a refused completion is written"
    );
    assert_eq!(
        store
            .session(&instance.id, "sess_old")
            .await
            .unwrap()
            .unwrap()
            .status,
        SessionStatus::Active
    );
    assert!(complete("sia_1", 200).await);
    let done = store
        .sign_in_attempt(&instance.id, "sia_1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, SignInStatus::Complete);
    assert_eq!(done.created_session_id.as_deref(), Some("sess_new"));
    assert_eq!(
        store
            .client_by_token("h.test", "t_new")
            .await
            .unwrap()
            .unwrap()
            .id,
        "client_new"
    );
    assert!(store
        .client_by_token("h.test", "t_old")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .session(&instance.id, "sess_old")
            .await
            .unwrap()
            .unwrap()
            .status,
        SessionStatus::Ended
    );
    assert!(!complete("sia_1", 201).await, "complete already");

    assert_eq!(store.prune_sign_ins(50).await.unwrap(), 1);
    assert_eq!(
        store.sign_in_attempt(&instance.id, "sia_2").await.unwrap(),
        None
    );
    assert!(store
        .sign_in_attempt(&instance.id, "sia_1")
        .await
        .unwrap()
        .is_some());
}

/// Racing completions of one sign-in attempt (two tabs, a double click): exactly one starts a
/// session.
pub async fn racing_sign_in_completions_start_one_session(store: Arc<dyn Store>) {
    let (instance, user) = fixture(store.as_ref()).await;
    store
        .put_sign_in(&sign_in_attempt(&instance, "sia_1", i64::MAX))
        .await
        .unwrap();
    let (instance_id, user_id) = (instance.id.clone(), user.id.clone());
    let wins = race(&store, 20, |s, i| {
        let c = client(&instance, &format!("client_{i}"));
        let session = session(&instance, &format!("sess_{i}"), &c.id, &user_id);
        let instance_id = instance_id.clone();
        async move {
            s.complete_sign_in(
                &instance_id,
                "sia_1",
                10,
                None,
                &c,
                &session,
                "h.test",
                &format!("t{i}"),
            )
            .await
            .unwrap()
        }
    })
    .await;
    assert_eq!(wins.iter().filter(|w| **w).count(), 1);
    let sessions = store
        .sessions_for_user(&instance.id, &user.id)
        .await
        .unwrap();
    assert_eq!(sessions.len(), 1);
    let done = store
        .sign_in_attempt(&instance.id, "sia_1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        done.created_session_id.as_deref(),
        Some(sessions[0].id.as_str())
    );
}

/// Runs `task` `n` times at once on `store`, each on its own tokio task, and collects the
/// results in the order the tasks were started.
async fn race<T, F, Fut>(store: &Arc<dyn Store>, n: usize, task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Arc<dyn Store>, usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let tasks: Vec<_> = (0..n)
        .map(|i| tokio::spawn(task(store.clone(), i)))
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    results
}

/// Many concurrent readers of one nonce (an app's loaders resolving it at once) all get its
/// directives.
pub async fn concurrent_nonce_readers_all_get_the_directives(store: Arc<dyn Store>) {
    let directives = vec!["x=1".to_owned(), "y=2".to_owned()];
    store
        .put_handshake_nonce("ins", "n", &directives, i64::MAX)
        .await
        .unwrap();
    let reads = race(&store, 50, |s, _| async move {
        s.handshake_nonce_directives("ins", "n", 0).await.unwrap()
    })
    .await;
    assert_eq!(reads.len(), 50);
    assert!(
        reads.iter().all(|r| r.as_ref() == Some(&directives)),
        "{reads:?}"
    );
}

/// Racing sign-in attempts on one account: each sees every attempt that started before it, so
/// their counts are 0, 1, 2, ... with none repeated, and no two can both pass a limit.
pub async fn racing_sign_in_attempts_count_atomically(store: Arc<dyn Store>) {
    let mut counts = race(&store, 40, |s, i| async move {
        let source = format!("192.0.2.{i}");
        s.start_sign_in_attempt("ins", "ann@example.com", &source, 100, 0)
            .await
            .unwrap()
            .1
            .len()
    })
    .await;
    counts.sort_unstable();
    assert_eq!(counts, (0..40).collect::<Vec<_>>());
}

/// Racing takes on one bucket (as from several nodes): a burst of 5 admits exactly 5 of 20.
pub async fn racing_token_takes_admit_exactly_the_burst(store: Arc<dyn Store>) {
    use orbit_core::limits::{Admission, RateLimit};
    // One a minute: nothing comes back while the race runs.
    let limit = RateLimit::new(5, 1);
    let now = 1_700_000_000_000_000;
    let answers = race(&store, 20, |s, _| async move {
        s.take_token("ins", "ip 192.0.2.1", limit, now)
            .await
            .unwrap()
    })
    .await;
    let admitted = answers
        .iter()
        .filter(|a| **a == Admission::Admitted)
        .count();
    assert_eq!(admitted, 5, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|a| matches!(a, Admission::Admitted | Admission::Wait(60_000))),
        "each refused take waits for the next token: {answers:?}"
    );
}

/// Racing attempts on a paced account from 20 sources: one takes the free slot, every other
/// gets a slot of its own, one pace apart.
pub async fn racing_paced_attempts_get_one_slot_each(store: Arc<dyn Store>) {
    use orbit_core::limits::Admission;
    let (pace, now) = (36_000, 1_700_000_000_000);
    let mut answers = race(&store, 20, |s, i| async move {
        let source = format!("192.0.2.{i}");
        match s
            .pace_account_attempt("ins", "ann@example.com", &source, now - pace, pace, now)
            .await
            .unwrap()
        {
            Admission::Admitted => 0,
            Admission::Wait(wait) => wait,
        }
    })
    .await;
    answers.sort_unstable();
    let expected: Vec<Millis> = (0..20).map(|k| k * pace).collect();
    assert_eq!(answers, expected);
}

/// Racing first starts (several nodes bootstrapping one empty database): one instance.
pub async fn racing_first_instance_creation_creates_one(store: Arc<dyn Store>) {
    let created = race(&store, 8, |s, i| async move {
        let new = new_instance(&format!("ins_{i}"), &format!("p{i}.example"));
        s.create_instance_with(&new, true).await.unwrap()
    })
    .await;
    assert_eq!(created.iter().filter(|c| **c).count(), 1);
    assert_eq!(store.list_instances().await.unwrap().len(), 1);
}

/// Racing rotations of one instance's signing key: each retires the one before, so exactly one
/// key is current afterwards.
pub async fn racing_key_rotations_leave_one_current(store: Arc<dyn Store>) {
    let (instance, _) = fixture(store.as_ref()).await;
    let instance_id = instance.id.clone();
    race(&store, 20, |s, i| {
        let key = StoredSigningKey {
            kid: format!("k{i}"),
            instance_id: instance_id.clone(),
            sealed_pkcs8: vec![9],
            public_n: vec![1],
            public_e: vec![1, 0, 1],
            created_at: 100 + i64::try_from(i).unwrap(),
            retired_at: None,
        };
        async move { s.add_signing_key(&key).await.unwrap() }
    })
    .await;
    let keys = store.signing_keys(&instance.id).await.unwrap();
    assert_eq!(keys.len(), 20);
    assert_eq!(keys.iter().filter(|k| k.retired_at.is_none()).count(), 1);
}

/// Racing revocations of every secret key of an instance (two operators, two nodes): one key
/// is left.
pub async fn racing_secret_key_revocations_leave_one(store: Arc<dyn Store>) {
    let (instance, _) = fixture(store.as_ref()).await;
    for i in 0..8 {
        store
            .add_secret_key(&StoredSecretKey {
                id: format!("sk_{i}"),
                instance_id: instance.id.clone(),
                hash: format!("h{i}"),
                sealed: vec![1],
                created_at: i,
            })
            .await
            .unwrap();
    }
    let instance_id = instance.id.clone();
    let outcomes = race(&store, 8, |s, i| {
        let instance_id = instance_id.clone();
        async move {
            s.delete_secret_key(&instance_id, &format!("sk_{i}"))
                .await
                .unwrap()
        }
    })
    .await;
    let deleted = outcomes
        .iter()
        .filter(|o| **o == SecretKeyDeletion::Deleted)
        .count();
    assert_eq!(deleted, 7, "{outcomes:?}");
    assert_eq!(store.secret_keys(&instance.id).await.unwrap().len(), 1);
}

pub fn operator(id: &str, email: &str) -> Operator {
    Operator {
        id: id.into(),
        email: email.into(),
        password_hash: "$argon2id$x".into(),
        created_at: 10,
        last_sign_in_at: None,
    }
}

pub fn audit(id: &str, at: Millis, action: &str) -> AuditEntry {
    AuditEntry {
        id: id.into(),
        seq: 0,
        at,
        operator_id: Some("op_1".into()),
        operator_email: Some("root@example.com".into()),
        action: action.into(),
        target: "op_1".into(),
        instance_id: None,
        detail: "{}".into(),
    }
}

fn operator_session(id: &str, operator_id: &str, token_hash: &str) -> OperatorSession {
    OperatorSession {
        id: id.into(),
        operator_id: operator_id.into(),
        token_hash: token_hash.into(),
        created_at: 100,
        last_active_at: 100,
        expires_at: 1_000,
        ended_at: None,
        user_agent: Some("Chrome on Linux".into()),
    }
}

/// Operators, their sessions (a revoked or expired one is refused) and the audit log.
pub async fn operators_and_their_sessions(store: &dyn Store) {
    assert_eq!(store.count_operators().await.unwrap(), 0);
    let root = operator("op_1", "root@example.com");
    store
        .create_operator(&root, &audit("aud_1", 10, "operator.created"))
        .await
        .unwrap();
    // The address is taken: nothing of the second write happens, its audit entry included.
    assert!(matches!(
        store
            .create_operator(
                &operator("op_2", "root@example.com"),
                &audit("aud_2", 11, "operator.created")
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.count_operators().await.unwrap(), 1);
    assert_eq!(store.audit_log(None, 10).await.unwrap().len(), 1);
    assert_eq!(store.operator("op_1").await.unwrap().unwrap(), root);
    assert_eq!(
        store
            .operator_by_email("root@example.com")
            .await
            .unwrap()
            .unwrap(),
        root
    );
    assert!(store
        .operator_by_email("x@example.com")
        .await
        .unwrap()
        .is_none());
    let second = operator("op_3", "second@example.com");
    store
        .create_operator(&second, &audit("aud_3", 12, "operator.created"))
        .await
        .unwrap();
    assert_eq!(store.list_operators().await.unwrap(), vec![root, second]);
    store.record_operator_sign_in("op_1", 50).await.unwrap();
    assert_eq!(
        store
            .operator("op_1")
            .await
            .unwrap()
            .unwrap()
            .last_sign_in_at,
        Some(50)
    );

    let s1 = operator_session("opsess_1", "op_1", "h1");
    let s2 = OperatorSession {
        created_at: 200,
        ..operator_session("opsess_2", "op_1", "h2")
    };
    let theirs = operator_session("opsess_3", "op_3", "h3");
    for s in [&s1, &s2, &theirs] {
        store.create_operator_session(s).await.unwrap();
    }
    assert_eq!(
        store.live_operator_session("h1", 500).await.unwrap(),
        Some(s1.clone())
    );
    assert!(store
        .live_operator_session("nope", 500)
        .await
        .unwrap()
        .is_none());
    // Past its absolute end.
    assert!(store
        .live_operator_session("h1", 1_000)
        .await
        .unwrap()
        .is_none());
    store.touch_operator_session("opsess_1", 300).await.unwrap();
    assert_eq!(
        store
            .live_operator_session("h1", 500)
            .await
            .unwrap()
            .unwrap()
            .last_active_at,
        300
    );
    let listed: Vec<String> = store
        .operator_sessions("op_1", 500)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        listed,
        ["opsess_2", "opsess_1"],
        "newest first, theirs apart"
    );
    // Another operator's session is not one to end.
    assert!(!store
        .end_operator_session("op_1", "opsess_3", 400)
        .await
        .unwrap());
    assert!(store
        .end_operator_session("op_1", "opsess_1", 400)
        .await
        .unwrap());
    assert!(
        !store
            .end_operator_session("op_1", "opsess_1", 401)
            .await
            .unwrap(),
        "ended once"
    );
    assert!(
        store
            .live_operator_session("h1", 500)
            .await
            .unwrap()
            .is_none(),
        "a revoked session is refused"
    );
    assert_eq!(
        store.operator_sessions("op_1", 500).await.unwrap(),
        vec![s2]
    );
    assert!(store
        .live_operator_session("h3", 500)
        .await
        .unwrap()
        .is_some());

    // Ended or expired before the cut: gone; the live one stays.
    assert_eq!(store.prune_operator_state(999).await.unwrap(), 1);
    assert_eq!(store.prune_operator_state(2_000).await.unwrap(), 2);
    assert!(store
        .live_operator_session("h3", 500)
        .await
        .unwrap()
        .is_none());
}

/// The audit log pages newest first in the order its entries were written (whatever their
/// ids, and within one millisecond too), without gaps or repeats.
pub async fn audit_log_pages(store: &dyn Store) {
    for i in 0..7 {
        // Two entries per millisecond, ids that sort the other way.
        let at = 100 + i / 2;
        store
            .record_audit(&AuditEntry {
                instance_id: (i == 3).then(|| "ins_1".to_owned()),
                detail: format!("{{\"n\":{i}}}"),
                ..audit(&format!("aud_{}", 9 - i), at, "operator.signed_in")
            })
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = store.audit_log(before, 3).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        before = Some(page.last().unwrap().seq);
        seen.extend(page);
    }
    let ids: Vec<&str> = seen.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        ["aud_3", "aud_4", "aud_5", "aud_6", "aud_7", "aud_8", "aud_9"]
    );
    assert!(seen.windows(2).all(|w| w[0].seq > w[1].seq), "{seen:?}");
    assert_eq!(seen[3].instance_id.as_deref(), Some("ins_1"));
    assert_eq!(seen[3].detail, "{\"n\":3}");
    assert_eq!(seen[0].operator_email.as_deref(), Some("root@example.com"));
    // By page number, newest first, and about one instance.
    for i in 0..2 {
        store
            .record_audit(&AuditEntry {
                instance_id: Some("ins_1".to_owned()),
                ..audit(&format!("aud_x{i}"), 200, "user.banned")
            })
            .await
            .unwrap();
    }
    let ids =
        |entries: Vec<AuditEntry>| -> Vec<String> { entries.into_iter().map(|e| e.id).collect() };
    assert_eq!(
        ids(store.audit_log_of(None, 0, 3).await.unwrap()),
        ["aud_x1", "aud_x0", "aud_3"]
    );
    assert_eq!(
        ids(store.audit_log_of(None, 8, 3).await.unwrap()),
        ["aud_9"]
    );
    assert_eq!(
        ids(store.audit_log_of(Some("ins_1"), 0, 10).await.unwrap()),
        ["aud_x1", "aud_x0", "aud_6"]
    );
    assert_eq!(
        ids(store.audit_log_of(Some("ins_1"), 1, 1).await.unwrap()),
        ["aud_x0"]
    );
    assert!(store
        .audit_log_of(Some("ins_2"), 0, 10)
        .await
        .unwrap()
        .is_empty());
}

/// A setup link creates the first operator once, before it expires, and only while there is
/// no operator.
pub async fn setup_tokens(store: &dyn Store) {
    let token = |hash: &str, expires_at| OperatorSetupToken {
        token_hash: hash.into(),
        expires_at,
        used_at: None,
    };
    store.put_setup_token(&token("t1", 1_000)).await.unwrap();
    store.put_setup_token(&token("t2", 1_000)).await.unwrap();
    assert_eq!(
        store.setup_token("t1").await.unwrap(),
        Some(token("t1", 1_000))
    );
    let first = operator("op_1", "root@example.com");
    let created = audit("aud_1", 10, "operator.created");
    assert!(
        !store
            .redeem_setup_token("t1", 1_000, &first, &created)
            .await
            .unwrap(),
        "expired"
    );
    assert!(!store
        .redeem_setup_token("nope", 10, &first, &created)
        .await
        .unwrap());
    assert_eq!(store.count_operators().await.unwrap(), 0);
    assert!(store
        .redeem_setup_token("t1", 999, &first, &created)
        .await
        .unwrap());
    assert_eq!(
        store.setup_token("t1").await.unwrap().unwrap().used_at,
        Some(999)
    );
    assert_eq!(store.list_operators().await.unwrap(), vec![first]);
    let logged = store.audit_log(None, 10).await.unwrap();
    assert_eq!(logged.len(), 1);
    assert_eq!(
        AuditEntry {
            seq: 0,
            ..logged[0].clone()
        },
        created
    );
    // Used, and an operator exists: neither link creates another.
    let again = operator("op_2", "again@example.com");
    for t in ["t1", "t2"] {
        assert!(!store
            .redeem_setup_token(t, 10, &again, &audit("aud_2", 10, "operator.created"))
            .await
            .unwrap());
    }
    assert_eq!(store.count_operators().await.unwrap(), 1);
    assert_eq!(
        store.setup_token("t2").await.unwrap().unwrap().used_at,
        None
    );
    assert_eq!(store.prune_operator_state(2_000).await.unwrap(), 2);
    assert!(store.setup_token("t1").await.unwrap().is_none());
}

/// Racing redemptions of one setup link (a double click, two tabs), and of a second link
/// printed by another start: one operator.
pub async fn racing_setup_redemptions_create_one_operator(store: Arc<dyn Store>) {
    for t in ["t1", "t2"] {
        store
            .put_setup_token(&OperatorSetupToken {
                token_hash: t.into(),
                expires_at: 1_000,
                used_at: None,
            })
            .await
            .unwrap();
    }
    let wins = race(&store, 20, |s, i| async move {
        let op = operator(&format!("op_{i}"), &format!("op{i}@example.com"));
        let token = if i % 4 == 0 { "t2" } else { "t1" };
        s.redeem_setup_token(
            token,
            10,
            &op,
            &audit(&format!("aud_{i}"), 10, "operator.created"),
        )
        .await
        .unwrap()
    })
    .await;
    assert_eq!(wins.iter().filter(|w| **w).count(), 1, "{wins:?}");
    assert_eq!(store.count_operators().await.unwrap(), 1);
    assert_eq!(store.audit_log(None, 100).await.unwrap().len(), 1);
}

/// One `#[tokio::test]` per race, each on a fresh store from `$make` (which returns whatever
/// must outlive the test, and the store).
/// A migrated store is ready, and a round claimed on it is claimed.
pub async fn ready_and_rounds(store: &dyn Store) {
    use orbit_core::store::Readiness;
    assert_eq!(store.readiness().await.unwrap(), Readiness::Ready);
    let round = store.try_round("orbit round: test").await.unwrap();
    assert!(round.is_some(), "nobody else works this round");
    drop(round);
    // Dropping the round releases it, on PostgreSQL once its connection's rollback has run in
    // the background: the round is free again shortly after, never later than a few seconds.
    let mut again = None;
    for _ in 0..50 {
        again = store.try_round("orbit round: test").await.unwrap();
        if again.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "the round was not released within 5 s");
}

macro_rules! race_tests {
    ($make:expr) => {
        race_tests!(
            $make;
            concurrent_nonce_readers_all_get_the_directives,
            racing_sign_in_attempts_count_atomically,
            racing_token_takes_admit_exactly_the_burst,
            racing_paced_attempts_get_one_slot_each,
            racing_first_instance_creation_creates_one,
            racing_key_rotations_leave_one_current,
            racing_secret_key_revocations_leave_one,
            racing_sign_in_completions_start_one_session,
            racing_setup_redemptions_create_one_operator,
        );
    };
    ($make:expr; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (_keep, store) = $make.await;
                crate::contract::$name(store).await
            }
        )+
    };
}

/// A store under test, with whatever must outlive it.
pub trait UnderTest {
    fn store(&self) -> &dyn Store;
}

impl UnderTest for crate::SqliteStore {
    fn store(&self) -> &dyn Store {
        self
    }
}

/// One `#[tokio::test]` per contract function, each on a fresh store from `$make`; the list is
/// written once and run against every adapter.
macro_rules! contract_tests {
    ($make:expr) => {
        contract_tests!(
            $make;
            instances_and_settings,
            secret_keys,
            signing_key_rotation,
            users,
            clients_and_sessions,
            handshake_state_is_single_use,
            handshake_nonces_are_read_until_they_expire,
            pending_sync_read_does_not_consume,
            dev_browsers_expire_by_last_use,
            failed_sign_ins,
            rate_limit_buckets,
            account_pacing,
            domain_dns_checks,
            start_session_is_one_write,
            sign_up_session_is_one_write,
            instance_creation_is_one_write,
            idle_clients_are_pruned,
            pending_sign_ups,
            sign_in_attempts,
            ready_and_rounds,
            operators_and_their_sessions,
            audit_log_pages,
            setup_tokens,
        );
    };
    ($make:expr; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                use crate::contract::UnderTest;
                crate::contract::$name($make.await.store()).await
            }
        )+
    };
}

mod sqlite {
    use crate::SqliteStore;
    use orbit_core::store::Store;
    use std::sync::Arc;

    contract_tests!(async { SqliteStore::in_memory().await.unwrap() });

    /// Races need many connections: a database file, not the one in-memory connection.
    async fn file_store() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("o.db")).await.unwrap();
        (dir, Arc::new(store))
    }

    race_tests!(file_store());

    #[tokio::test]
    async fn file_database_survives_reopen_and_migrates_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orbit.db");
        let store = SqliteStore::open(&path).await.unwrap();
        crate::contract::fixture(&store).await;
        store.close().await;
        let again = SqliteStore::open(&path).await.unwrap();
        use orbit_core::store::UserStore;
        assert_eq!(again.count_users("ins_1", None).await.unwrap(), 1);
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&again.pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
    }
}

mod postgres {
    use crate::postgres::scratch::ScratchSchema;
    use crate::postgres::{PgSettings, PgStore};
    use orbit_core::store::{NodeStore, Store, UserStore};
    use std::sync::Arc;

    /// A store in a schema of its own, dropped after the store.
    struct TestDb {
        store: PgStore,
        _schema: ScratchSchema,
    }

    impl crate::contract::UnderTest for TestDb {
        fn store(&self) -> &dyn Store {
            &self.store
        }
    }

    fn settings() -> PgSettings {
        PgSettings {
            pool_size: 4,
            ..PgSettings::default()
        }
    }

    async fn fresh() -> TestDb {
        let schema = ScratchSchema::create().await.unwrap();
        let store = PgStore::open(&schema.url(), settings()).await.unwrap();
        TestDb {
            store,
            _schema: schema,
        }
    }

    contract_tests!(fresh());

    async fn shared() -> (ScratchSchema, Arc<dyn Store>) {
        let schema = ScratchSchema::create().await.unwrap();
        let store = PgStore::open(&schema.url(), settings()).await.unwrap();
        (schema, Arc::new(store))
    }

    race_tests!(shared());

    /// Nodes starting together on a fresh database: every one opens, the schema is built once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_migrators_on_a_fresh_database_migrate_once() {
        let schema = ScratchSchema::create().await.unwrap();
        let nodes: Vec<_> = (0..4)
            .map(|_| {
                let url = schema.url();
                tokio::spawn(async move { PgStore::open(&url, settings()).await })
            })
            .collect();
        let mut stores = Vec::new();
        for n in nodes {
            stores.push(n.await.unwrap().unwrap());
        }
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
                .fetch_all(&stores[0].pool)
                .await
                .unwrap();
        let expected: Vec<i64> = crate::postgres::migrations::MIGRATIONS
            .iter()
            .map(|(v, _)| *v)
            .collect();
        assert_eq!(versions, expected);
        crate::contract::fixture(&stores[1]).await;
        assert_eq!(stores[3].count_users("ins_1", None).await.unwrap(), 1);
    }

    /// Two nodes on one database: while one works a round the other cannot claim it, under
    /// another name it can, and the round is free again once the guard is dropped.
    #[tokio::test]
    async fn a_round_is_worked_by_one_node_at_a_time() {
        let schema = ScratchSchema::create().await.unwrap();
        let a = PgStore::open(&schema.url(), settings()).await.unwrap();
        let b = PgStore::open(&schema.url(), settings()).await.unwrap();
        let held = a.try_round("orbit round: pruning").await.unwrap();
        assert!(held.is_some());
        assert!(b.try_round("orbit round: pruning").await.unwrap().is_none());
        assert!(
            a.try_round("orbit round: pruning").await.unwrap().is_none(),
            "not reentrant"
        );
        assert!(b
            .try_round("orbit round: DNS checks")
            .await
            .unwrap()
            .is_some());
        drop(held);
        // The rollback runs when the connection returns to the pool, in the background.
        let mut claimed = None;
        for _ in 0..100 {
            claimed = b.try_round("orbit round: pruning").await.unwrap();
            if claimed.is_some() {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(claimed.is_some(), "released with the guard");
    }

    /// A database behind this build's migrations is not ready (`/ready` says so).
    #[tokio::test]
    async fn a_database_missing_a_migration_is_not_ready() {
        use orbit_core::store::Readiness;
        let schema = ScratchSchema::create().await.unwrap();
        let store = PgStore::open(&schema.url(), settings()).await.unwrap();
        // Versions may leave gaps (a number taken by another branch): the newest and the one
        // before it, as listed.
        let versions: Vec<i64> = crate::postgres::migrations::MIGRATIONS
            .iter()
            .map(|(v, _)| *v)
            .collect();
        let known = versions[versions.len() - 1];
        let before = versions[versions.len() - 2];
        sqlx::query("DELETE FROM schema_migrations WHERE version = $1")
            .bind(known)
            .execute(&store.pool)
            .await
            .unwrap();
        assert_eq!(
            store.readiness().await.unwrap(),
            Readiness::MigrationsPending {
                applied: before,
                known
            }
        );
    }

    /// The data outlives the pool: a second start finds it and migrates nothing.
    #[tokio::test]
    async fn database_survives_reopen() {
        let schema = ScratchSchema::create().await.unwrap();
        let store = PgStore::open(&schema.url(), settings()).await.unwrap();
        crate::contract::fixture(&store).await;
        store.close().await;
        let again = PgStore::open(&schema.url(), settings()).await.unwrap();
        assert_eq!(again.count_users("ins_1", None).await.unwrap(), 1);
        let counts = again.row_counts().await.unwrap();
        assert_eq!(counts["users"], 1);
        // Every migration recorded once: the second start applied none again.
        assert_eq!(
            counts["schema_migrations"],
            crate::postgres::migrations::MIGRATIONS.len() as i64
        );
    }
}
