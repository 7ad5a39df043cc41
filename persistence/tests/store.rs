//! The store's behaviour, written once and run against SQLite and against the real
//! PostgreSQL at `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`;
//! each test gets its own schema). Without PostgreSQL the `_postgres` tests fail.

mod common;

use persistence::{
    Backend, ChatScope, NewChatMessage, NewSpace, Position, Role, Store, StoreConfig, StoreError,
};

/// Generates `<name>_sqlite` and `<name>_postgres` tests running `check(store)`.
macro_rules! both_backends {
    ($($name:ident => $check:ident ( $chat:expr );)*) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, _dir) = crate::common::sqlite($chat).await;
                    assert_eq!(store.backend(), persistence::Backend::Sqlite);
                    crate::$check(store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let db = crate::common::postgres(stringify!($name), $chat).await;
                    assert_eq!(db.store.backend(), persistence::Backend::Postgres);
                    crate::$check(db.store.clone()).await;
                    db.drop().await;
                }
            )*
        }
    };
}

both_backends! {
    accounts => check_accounts(200);
    spaces => check_spaces(200);
    memberships_and_positions => check_memberships(200);
    chat_is_bounded => check_chat(5);
    region_snapshots => check_snapshots(200);
    ready => check_ping(200);
}

async fn check_ping(store: Store) {
    store.ping().await.expect("ping");
}

async fn check_accounts(store: Store) {
    let guest = store.create_guest("Ada").await.unwrap();
    assert_eq!(guest.role, Role::Guest);
    assert_eq!(guest.username, None);
    assert_eq!(guest.display_name, "Ada");
    assert!(guest.id > 0);
    assert_eq!(store.account(guest.id).await.unwrap(), Some(guest.clone()));
    assert_eq!(store.account(guest.id + 1000).await.unwrap(), None);

    let bob = store
        .create_user("Bob", "$argon2id$fake", "Bobby", Role::User)
        .await
        .unwrap();
    assert_eq!(bob.username.as_deref(), Some("bob"));
    assert_ne!(bob.id, guest.id);

    // Usernames are unique regardless of case.
    let taken = store
        .create_user("BOB", "$argon2id$other", "Other", Role::User)
        .await;
    assert!(
        matches!(taken, Err(StoreError::Conflict("username"))),
        "{taken:?}"
    );

    // A registered account cannot be a guest.
    let bad = store.create_user("carol", "h", "Carol", Role::Guest).await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");

    let creds = store
        .credentials("bOb")
        .await
        .unwrap()
        .expect("credentials");
    assert_eq!(creds.account, bob);
    assert_eq!(creds.password_hash, "$argon2id$fake");
    assert!(
        !format!("{creds:?}").contains("fake"),
        "hash must not be logged"
    );
    assert!(store.credentials("nobody").await.unwrap().is_none());

    let renamed = store
        .update_profile(bob.id, Some("Robert"), None)
        .await
        .unwrap();
    assert_eq!(renamed.display_name, "Robert");
    assert_eq!(renamed.avatar, "");
    let avatar = store
        .update_profile(bob.id, None, Some("cat"))
        .await
        .unwrap();
    assert_eq!(avatar.display_name, "Robert");
    assert_eq!(avatar.avatar, "cat");
    let missing = store.update_profile(99_999, Some("x"), None).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound("account"))),
        "{missing:?}"
    );

    let admin = store.set_role(bob.id, Role::Admin).await.unwrap();
    assert_eq!(admin.role, Role::Admin);
    assert_eq!(
        store.account(bob.id).await.unwrap().unwrap().role,
        Role::Admin
    );
}

async fn check_spaces(store: Store) {
    let ada = store.create_guest("Ada").await.unwrap();
    let bob = store.create_guest("Bob").await.unwrap();
    let cy = store.create_guest("Cy").await.unwrap();

    let office = store
        .create_space(&NewSpace::new("Office", "office", ada.id))
        .await
        .unwrap();
    assert_eq!(office.name, "Office");
    assert_eq!(office.map, "office");
    assert_eq!(office.owner, ada.id);
    assert_eq!(office.max_players, 50);
    assert!(!office.public);
    assert_eq!(office.id.len(), 12);
    assert_eq!(store.space(&office.id).await.unwrap(), Some(office.clone()));
    assert_eq!(store.space("nope").await.unwrap(), None);
    // The owner is the first member.
    assert!(store.is_member(&office.id, ada.id).await.unwrap());

    let mut campus = NewSpace::new("Campus", "campus", bob.id);
    campus.public = true;
    campus.max_players = 500;
    let campus = store.create_space(&campus).await.unwrap();
    assert!(campus.public);
    assert_eq!(campus.max_players, 500);
    let bobs_private = store
        .create_space(&NewSpace::new("Bob's", "office", bob.id))
        .await
        .unwrap();

    // Mine + public, never someone else's private space.
    let ids = |spaces: Vec<persistence::Space>| {
        let mut ids: Vec<String> = spaces.into_iter().map(|s| s.id).collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        ids(store.spaces_for(ada.id, 100).await.unwrap()),
        sorted(vec![office.id.clone(), campus.id.clone()])
    );
    assert_eq!(
        ids(store.spaces_for(bob.id, 100).await.unwrap()),
        sorted(vec![campus.id.clone(), bobs_private.id.clone()])
    );
    assert_eq!(store.spaces_for(cy.id, 100).await.unwrap().len(), 1);
    assert_eq!(store.spaces_for(bob.id, 1).await.unwrap().len(), 1);
    // Joining a private space (by link) lists it.
    store.join_space(&office.id, cy.id).await.unwrap();
    assert_eq!(
        ids(store.spaces_for(cy.id, 100).await.unwrap()),
        sorted(vec![office.id.clone(), campus.id.clone()])
    );

    let orphan = store
        .create_space(&NewSpace::new("Ghost", "office", 987_654))
        .await;
    assert!(
        matches!(orphan, Err(StoreError::NotFound("account"))),
        "{orphan:?}"
    );
    let mut zero = NewSpace::new("Zero", "office", ada.id);
    zero.max_players = 0;
    assert!(matches!(
        store.create_space(&zero).await,
        Err(StoreError::Invalid(_))
    ));

    // Deleting removes memberships too.
    assert!(store.delete_space(&office.id).await.unwrap());
    assert!(!store.delete_space(&office.id).await.unwrap());
    assert_eq!(store.space(&office.id).await.unwrap(), None);
    assert!(!store.is_member(&office.id, cy.id).await.unwrap());
}

async fn check_memberships(store: Store) {
    let ada = store.create_guest("Ada").await.unwrap();
    let bob = store.create_guest("Bob").await.unwrap();
    let space = store
        .create_space(&NewSpace::new("Office", "office", ada.id))
        .await
        .unwrap();

    assert!(!store.is_member(&space.id, bob.id).await.unwrap());
    let m = store.join_space(&space.id, bob.id).await.unwrap();
    assert_eq!(m.account_id, bob.id);
    assert_eq!(m.space_id, space.id);
    assert_eq!(m.last_position, None);
    assert_eq!(store.last_position(&space.id, bob.id).await.unwrap(), None);

    store
        .save_position(&space.id, bob.id, Position { x: 7, y: -2 })
        .await
        .unwrap();
    assert_eq!(
        store.last_position(&space.id, bob.id).await.unwrap(),
        Some(Position { x: 7, y: -2 })
    );
    // Joining again keeps the membership and the position.
    let again = store.join_space(&space.id, bob.id).await.unwrap();
    assert_eq!(again.joined_at, m.joined_at);
    assert_eq!(again.last_position, Some(Position { x: 7, y: -2 }));

    // Batch save (what the periodic flush and shutdown do); creates missing memberships.
    let cy = store.create_guest("Cy").await.unwrap();
    store
        .save_positions(
            &space.id,
            &[
                (ada.id, Position { x: 1, y: 1 }),
                (bob.id, Position { x: 2, y: 3 }),
                (cy.id, Position { x: 4, y: 5 }),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        store.last_position(&space.id, bob.id).await.unwrap(),
        Some(Position { x: 2, y: 3 })
    );
    assert_eq!(
        store.last_position(&space.id, cy.id).await.unwrap(),
        Some(Position { x: 4, y: 5 })
    );
    let members = store.members(&space.id).await.unwrap();
    let mut member_ids: Vec<_> = members.iter().map(|m| m.account_id).collect();
    member_ids.sort();
    assert_eq!(member_ids, vec![ada.id, bob.id, cy.id]);
    store.save_positions(&space.id, &[]).await.unwrap();

    // Unknown space or account.
    let r = store.join_space("missing", bob.id).await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    let r = store.join_space(&space.id, 123_456).await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    let r = store
        .save_position("missing", bob.id, Position { x: 0, y: 0 })
        .await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    assert_eq!(store.last_position("missing", bob.id).await.unwrap(), None);
}

async fn check_chat(store: Store) {
    assert_eq!(store.chat_history_limit(), 5);
    let ada = store.create_guest("Ada").await.unwrap();
    let a = store
        .create_space(&NewSpace::new("A", "office", ada.id))
        .await
        .unwrap();
    let b = store
        .create_space(&NewSpace::new("B", "office", ada.id))
        .await
        .unwrap();
    for i in 0..8 {
        let scope = if i % 2 == 0 {
            ChatScope::Space
        } else {
            ChatScope::Nearby
        };
        let line = store
            .append_chat(
                &a.id,
                &NewChatMessage {
                    account_id: ada.id,
                    sender_name: "Ada".into(),
                    scope,
                    body: format!("line {i}"),
                },
            )
            .await
            .unwrap();
        assert_eq!(line.body, format!("line {i}"));
        assert_eq!(line.scope, scope);
        assert_eq!(line.space_id, a.id);
    }
    store
        .append_chat(
            &b.id,
            &NewChatMessage {
                account_id: ada.id,
                sender_name: "Ada".into(),
                scope: ChatScope::Space,
                body: "other space".into(),
            },
        )
        .await
        .unwrap();

    // Only the last 5 are kept, oldest first; the other space is untouched.
    let history = store.chat_history(&a.id, 100).await.unwrap();
    let bodies: Vec<_> = history.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["line 3", "line 4", "line 5", "line 6", "line 7"]);
    assert!(history.windows(2).all(|w| w[0].id < w[1].id));
    let last_two = store.chat_history(&a.id, 2).await.unwrap();
    let bodies: Vec<_> = last_two.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["line 6", "line 7"]);
    assert_eq!(store.chat_history(&b.id, 100).await.unwrap().len(), 1);
    assert!(store.chat_history("missing", 10).await.unwrap().is_empty());

    let r = store
        .append_chat(
            "missing",
            &NewChatMessage {
                account_id: ada.id,
                sender_name: "Ada".into(),
                scope: ChatScope::Space,
                body: "x".into(),
            },
        )
        .await;
    assert!(matches!(r, Err(StoreError::NotFound("space"))), "{r:?}");
}

async fn check_snapshots(store: Store) {
    let ada = store.create_guest("Ada").await.unwrap();
    let s = store
        .create_space(&NewSpace::new("A", "campus", ada.id))
        .await
        .unwrap();
    assert_eq!(store.region_snapshot(&s.id, 0, 0).await.unwrap(), None);
    assert!(
        store
            .put_region_snapshot(&s.id, 0, 0, 1, b"one")
            .await
            .unwrap()
    );
    assert!(
        store
            .put_region_snapshot(&s.id, 1, 0, 1, &[0, 255, 7])
            .await
            .unwrap()
    );
    assert!(
        store
            .put_region_snapshot(&s.id, 0, 0, 2, b"two")
            .await
            .unwrap()
    );
    // An older epoch never replaces a newer one; the same epoch may rewrite.
    assert!(
        !store
            .put_region_snapshot(&s.id, 0, 0, 1, b"stale")
            .await
            .unwrap()
    );
    assert!(
        store
            .put_region_snapshot(&s.id, 0, 0, 2, b"two'")
            .await
            .unwrap()
    );
    let snap = store.region_snapshot(&s.id, 0, 0).await.unwrap().unwrap();
    assert_eq!((snap.col, snap.row, snap.epoch), (0, 0, 2));
    assert_eq!(snap.data, b"two'");
    let all = store.region_snapshots(&s.id).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].data, vec![0, 255, 7]);
    let r = store.put_region_snapshot("missing", 0, 0, 1, b"x").await;
    assert!(matches!(r, Err(StoreError::NotFound("space"))), "{r:?}");
}

#[tokio::test]
async fn sqlite_file_survives_reopen_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite:{}",
        dir.path().join("nested/dir/plaza.db").display()
    );
    let config = StoreConfig::new(url);
    let (ada, space) = {
        let store = Store::connect(&config).await.unwrap();
        let ada = store.create_guest("Ada").await.unwrap();
        let space = store
            .create_space(&NewSpace::new("Office", "office", ada.id))
            .await
            .unwrap();
        store
            .save_position(&space.id, ada.id, Position { x: 9, y: 8 })
            .await
            .unwrap();
        store.close().await;
        (ada, space)
    };
    let store = Store::connect(&config).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    assert_eq!(store.account(ada.id).await.unwrap(), Some(ada.clone()));
    assert_eq!(
        store.last_position(&space.id, ada.id).await.unwrap(),
        Some(Position { x: 9, y: 8 })
    );
}

#[tokio::test]
async fn sqlite_in_memory_works() {
    let store = Store::connect(&StoreConfig::new("sqlite::memory:"))
        .await
        .unwrap();
    let ada = store.create_guest("Ada").await.unwrap();
    assert!(store.account(ada.id).await.unwrap().is_some());
}

#[tokio::test]
async fn unsupported_url_is_a_typed_error() {
    let r = Store::connect(&StoreConfig::new("mysql://root:hunter2@db/x")).await;
    match r {
        Err(StoreError::UnsupportedUrl(u)) => assert!(!u.contains("hunter2"), "{u}"),
        other => panic!("expected UnsupportedUrl, got {other:?}"),
    }
}

#[tokio::test]
async fn postgres_schema_name_is_validated() {
    let mut config = StoreConfig::new(common::database_url());
    config.pg_schema = Some("x; DROP TABLE y".into());
    let r = Store::connect(&config).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
}

#[tokio::test]
async fn postgres_store_is_shared_between_clones() {
    let db = common::postgres("clones", 200).await;
    let other = db.store.clone();
    let ada = db.store.create_guest("Ada").await.unwrap();
    assert_eq!(
        other.account(ada.id).await.unwrap().unwrap().display_name,
        "Ada"
    );
    db.drop().await;
}
