//! The conformance suites on the PostgreSQL backend (each test in its own schema), and what is
//! particular to PostgreSQL: migrations under a lock, several instances on one database.

use std::sync::Arc;

use sync_server::store::Store;
use sync_server::store::postgres::testing::TestSchema;
use sync_server::store::sealing::KeyRing;

/// One ring for the whole test binary, as for SQLite.
fn keys() -> Arc<KeyRing> {
    static KEYS: std::sync::LazyLock<Arc<KeyRing>> =
        std::sync::LazyLock::new(|| Arc::new(KeyRing::generate()));
    Arc::clone(&KEYS)
}

async fn open() -> (Arc<dyn Store>, TestSchema) {
    let schema = TestSchema::create().await;
    let store = schema.open(keys()).await;
    (Arc::new(store), schema)
}

sync_server::store_conformance_tests!(open().await);
sync_server::ratings_conformance_tests!(open().await);

mod content {
    use super::open;

    sync_server::content_conformance_tests!(open().await);
}

mod audit_chain {
    use super::open;

    sync_server::audit_conformance_tests!(open().await);
}

mod attachments {
    use super::open;

    sync_server::attachment_conformance_tests!(open().await);
}

mod supplements {
    use super::open;

    sync_server::supplement_conformance_tests!(open().await);
}

mod phone_uploads {
    use super::open;

    sync_server::phone_upload_conformance_tests!(open().await);
}

mod paging {
    use super::open;

    sync_server::paging_conformance_tests!(open().await);
}

mod releases {
    use super::open;

    sync_server::release_conformance_tests!(open().await);
}

mod instances {
    //! Several server instances on one database: each is a `PostgresStore` of its own (its own
    //! pool) on the same schema, as two processes would be.

    use std::sync::Arc;

    use chrono::Duration;
    use sync_protocol::heartbeat::{DeviceHealth, Heartbeat};
    use sync_protocol::release::{UpdateReport, UpdateState};
    use sync_server::domain::releases::{RolloutState, RolloutTargets};
    use sync_server::store::catalog_cache::CatalogCache;
    use sync_server::store::conformance::releases::new_release;
    use sync_server::store::conformance::{audit_lines, catalog_item, enroll, t0};
    use sync_server::store::postgres::testing::TestSchema;
    use sync_server::store::postgres::{PostgresStore, SCHEMA_VERSION};
    use sync_server::store::releases::NewRollout;
    use sync_server::store::sealing::KeyRing;
    use sync_server::store::staff::AuditEntry;
    use sync_server::store::{Store, StoreError};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn instances_starting_together_on_a_new_database_migrate_it_once() {
        let schema = TestSchema::create().await;
        let url = schema.url();
        let opens = (0..6).map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::open_with(&url, super::keys(), 2).await })
        });
        let mut ids = Vec::new();
        for open in opens {
            let store = open.await.expect("task").expect("every instance opens");
            ids.push(store.server_id().await.expect("server id"));
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "one server id for every instance: {ids:?}");
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        let versions: Vec<i64> = client
            .query(
                "SELECT version FROM schema_migrations ORDER BY version",
                &[],
            )
            .await
            .expect("read versions")
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_key_file_that_is_not_the_databases_is_refused() {
        let schema = TestSchema::create().await;
        drop(schema.open(super::keys()).await);
        let other = PostgresStore::open(&schema.url(), Arc::new(KeyRing::generate())).await;
        assert!(
            matches!(other, Err(StoreError::KeysDoNotMatch { .. })),
            "{other:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_schema_newer_than_this_program_is_refused() {
        let schema = TestSchema::create().await;
        drop(schema.open(super::keys()).await);
        let (client, connection) = tokio_postgres::connect(&schema.url(), tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        client
            .execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[&(SCHEMA_VERSION + 1)],
            )
            .await
            .expect("pretend a newer program migrated");
        let reopened = PostgresStore::open(&schema.url(), super::keys()).await;
        assert!(
            matches!(reopened, Err(StoreError::SchemaTooNew { found, .. }) if found == SCHEMA_VERSION + 1),
            "{reopened:?}"
        );
    }

    fn heartbeat(version: &str, installed: bool) -> Heartbeat {
        let target = version.parse().expect("version");
        let old = "1.0.0".parse().expect("version");
        let running = if installed { target } else { old };
        Heartbeat {
            queue_depth: 0,
            oldest_pending_age_s: None,
            quarantined: 0,
            devices: DeviceHealth::default(),
            app_version: "1.0.0".into(),
            disk_free_bytes: 1,
            uptime_s: 1,
            clock_offset_ms: 0,
            update: Some(UpdateReport {
                running,
                highest_installed: running,
                target: Some(target),
                state: if installed {
                    UpdateState::Installed
                } else {
                    UpdateState::RolledBack
                },
                downloaded_bytes: None,
                last_failure: None,
            }),
        }
    }

    /// Twelve booths report at once, half through each instance: the rollout is settled once
    /// (one state change, one audit line), whichever instance sees the deciding heartbeat.
    async fn booths_report_through_two_instances_at_once(installed: bool) {
        let schema = TestSchema::create().await;
        let a: Arc<dyn Store> = Arc::new(schema.open(super::keys()).await);
        let b: Arc<dyn Store> = Arc::new(schema.open(super::keys()).await);
        a.add_release(
            new_release("1.5.0", 'f'),
            AuditEntry::new(t0(), "cli", "release.upload"),
        )
        .await
        .expect("store")
        .expect("release accepted");
        let mut kiosks = Vec::new();
        for n in 0..12_u8 {
            kiosks.push(enroll(a.as_ref(), &format!("村{n}"), 100 + n).await);
        }
        let rollout = a
            .create_rollout(
                NewRollout {
                    version: "1.5.0".parse().expect("version"),
                    targets: RolloutTargets {
                        percent: 100,
                        ..RolloutTargets::default()
                    },
                    failure_threshold: 20,
                    created_by: "cli".into(),
                    created_at: t0(),
                },
                AuditEntry::new(t0(), "cli", "rollout.create"),
            )
            .await
            .expect("store")
            .expect("rollout accepted");
        let reports = kiosks.iter().enumerate().map(|(i, kiosk)| {
            let store = Arc::clone(if i % 2 == 0 { &a } else { &b });
            let kiosk_id = kiosk.kiosk_id.clone();
            tokio::spawn(async move {
                store
                    .record_heartbeat(
                        &kiosk_id,
                        &heartbeat("1.5.0", installed),
                        t0() + Duration::minutes(1),
                    )
                    .await
            })
        });
        for report in reports {
            report.await.expect("task").expect("heartbeat stored");
        }
        let state = a
            .find_rollout(rollout.id)
            .await
            .expect("store")
            .expect("rollout")
            .state;
        let (expected, action) = if installed {
            (RolloutState::Completed, "rollout.complete")
        } else {
            (RolloutState::Paused, "rollout.auto_pause")
        };
        assert_eq!(state, expected);
        assert_eq!(audit_lines(a.as_ref(), action).await.len(), 1);
    }

    /// Each instance keeps its own catalogue pages; a change made through another instance
    /// shows on the next read all the same, because every read asks the database's version.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_catalogue_change_through_one_instance_shows_in_anothers_cache_at_once() {
        let schema = TestSchema::create().await;
        let a: Arc<dyn Store> = Arc::new(schema.open(super::keys()).await);
        let b: Arc<dyn Store> = Arc::new(schema.open(super::keys()).await);
        let cache = CatalogCache::default();
        a.import_catalog(vec![catalog_item("A", "低保")], t0())
            .await
            .expect("import");
        let codes = async || {
            let cached = cache.page(a.as_ref(), None, 10).await.expect("page");
            let mut codes: Vec<(String, bool)> = cached
                .page
                .items
                .iter()
                .map(|item| (item.code.clone(), item.withdrawn))
                .collect();
            codes.sort();
            codes
        };
        assert_eq!(codes().await, [("A".to_owned(), false)]);
        assert_eq!(codes().await, [("A".to_owned(), false)]);
        assert_eq!(
            cache.counts().hits,
            1,
            "the unchanged page came from memory"
        );

        b.import_catalog(vec![catalog_item("B", "临时救助")], t0())
            .await
            .expect("import through the other instance");
        assert_eq!(
            codes().await,
            [("A".to_owned(), true), ("B".to_owned(), false)],
            "the withdrawal and the new item, on the first read after"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_rollout_completes_once_when_its_booths_report_through_two_instances() {
        booths_report_through_two_instances_at_once(true).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_rollout_pauses_once_when_its_booths_fail_through_two_instances() {
        booths_report_through_two_instances_at_once(false).await;
    }
}
