//! The replay memory and guessing limits shared by server instances (`sync_server::shared`).
//!
//! - `memory::…` and `postgres::…`: the same checks on [`SharedState::memory`] (one process:
//!   both "instances" are the one object) and on [`SharedState::postgres`] (two objects, each
//!   with its own pool, over one throwaway schema: two instances of the server). The rules are
//!   those of the in-memory modules' unit tests; what is checked across instances is what two
//!   in-memory instances would get wrong.
//! - `postgres_only::…`: the guards on the store's own pool, sweeps a batch at a time, and a
//!   database that does not answer admitting nothing.
//! - `two_servers::…`: two HTTP servers on one store and one PostgreSQL schema, a booth or a
//!   browser going back and forth between them as behind a load balancer; and what the pages
//!   answer when the limits' database does not.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use sync_protocol::signing::{self, MAX_SKEW_SECS, RequestParts};
use sync_server::api::rate_limit::EnrollLimits;
use sync_server::settings::Settings;
use sync_server::shared::SharedState;
use sync_server::staff::login_limit::{LoginLimits, Refused};
use sync_server::store::postgres::testing::TestSchema;

/// Two instances' guards, and the schema they share (none in memory).
struct Instances {
    a: SharedState,
    b: SharedState,
    _schema: Option<TestSchema>,
}

impl Instances {
    /// Where the `n`th request lands: each instance in turn, as a round-robin balancer sends.
    fn pick(&self, n: u64) -> &SharedState {
        if n.is_multiple_of(2) {
            &self.a
        } else {
            &self.b
        }
    }
}

/// Where a race's `n`th attempt goes.
type Race = fn(u64) -> (String, Option<IpAddr>, bool);

#[derive(Debug, Clone, Copy)]
enum Backend {
    Memory,
    Postgres,
}

impl Backend {
    async fn instances(self, settings: &Settings) -> Instances {
        match self {
            Self::Memory => {
                let one = SharedState::memory(settings);
                Instances {
                    a: one.clone(),
                    b: one,
                    _schema: None,
                }
            }
            Self::Postgres => {
                let schema = TestSchema::create().await;
                let a = SharedState::postgres(schema.pool(4).await, settings);
                let b = SharedState::postgres(schema.pool(4).await, settings);
                Instances {
                    a,
                    b,
                    _schema: Some(schema),
                }
            }
        }
    }
}

/// Runs each check on both backends: `memory::NAME` and `postgres::NAME`.
macro_rules! on_both {
    ($($check:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(super::Backend::Memory).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

on_both!(
    a_nonce_is_used_once_per_kiosk_while_remembered,
    a_request_is_accepted_once_at_every_pair_of_first_use_and_replay_times,
    a_nonce_raced_at_both_instances_is_accepted_once,
    enroll_failures_per_address_run_out_and_successes_are_refunded,
    enroll_the_global_limit_holds_across_addresses,
    enroll_attempts_at_both_instances_share_one_budget,
    enroll_concurrent_attempts_never_pass_the_limit,
    enroll_attempts_leave_the_window,
    login_one_machine_is_stopped_per_name_and_overall,
    login_a_name_guessed_from_everywhere_stays_open_to_its_own_browser,
    login_a_right_password_forgets_this_machine_s_failures_for_that_name,
    login_failures_at_both_instances_share_every_budget,
    login_a_device_remembered_by_one_instance_is_known_to_the_other,
    login_an_attempt_not_checked_counts_for_nothing,
    login_concurrent_attempts_never_pass_the_limits,
    login_failures_leave_the_window,
);

fn at(last: u8) -> Option<IpAddr> {
    Some(IpAddr::from([10, 0, 0, last]))
}

// ── nonces ──

async fn a_nonce_is_used_once_per_kiosk_while_remembered(backend: Backend) {
    let i = backend.instances(&Settings::default()).await;
    let (a, b) = (&i.a.nonces, &i.b.nonces);
    assert!(a.first_use("k1", "n1", 1300, 1000).await.unwrap());
    assert!(
        !b.first_use("k1", "n1", 1300, 1300).await.unwrap(),
        "the last second, at the other instance"
    );
    assert!(!a.first_use("k1", "n1", 1300, 1300).await.unwrap());
    assert!(b.first_use("k2", "n1", 1300, 1000).await.unwrap());
    assert!(
        b.first_use("k1", "n1", 1600, 1301).await.unwrap(),
        "forgotten after it"
    );
    assert!(
        !a.first_use("k1", "n1", 1600, 1302).await.unwrap(),
        "and remembered again through its new last second"
    );
}

async fn a_request_is_accepted_once_at_every_pair_of_first_use_and_replay_times(backend: Backend) {
    const CREATED: i64 = 1_000_000;
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let parts = RequestParts {
        method: "GET",
        path: "/api/v1/feeds/catalog",
        query: "",
        body: b"",
    };
    let headers = signing::sign(&key, "k1", &parts, CREATED, "n0nce-0123");
    let signature = signing::parse(
        Some(&headers.content_digest),
        Some(&headers.signature_input),
        Some(&headers.signature),
    )
    .unwrap();
    // What the server does with a request at `now`: the time check, then the nonce.
    let accepted = async |guards: &SharedState, now: i64| {
        signature.check_time(now).is_ok()
            && guards
                .nonces
                .first_use("k1", &signature.nonce, signature.accepted_until(), now)
                .await
                .unwrap()
    };
    let window = CREATED - MAX_SKEW_SECS..=CREATED + MAX_SKEW_SECS;
    for first in [
        *window.start(),
        window.start() + 1,
        CREATED,
        window.end() - 1,
        *window.end(),
    ] {
        // A fresh memory per first use; the replays alternate between the instances.
        let i = backend.instances(&Settings::default()).await;
        assert!(accepted(&i.a, first).await, "first use at {first}");
        for replay in first..=window.end() + 2 {
            let other = i.pick(replay.unsigned_abs());
            assert!(
                !accepted(other, replay).await,
                "first used at {first}, replayed at {replay}"
            );
        }
    }
}

async fn a_nonce_raced_at_both_instances_is_accepted_once(backend: Backend) {
    let i = backend.instances(&Settings::default()).await;
    let tasks: Vec<_> = (0..50)
        .map(|n| {
            let nonces = Arc::clone(&i.pick(n).nonces);
            tokio::spawn(async move { nonces.first_use("k1", "raced", 2000, 1000).await })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        accepted += usize::from(task.await.unwrap().unwrap());
    }
    assert_eq!(accepted, 1);
}

// ── enrollment attempts ──

fn enroll_settings(per_address: usize, global: usize, window: Duration) -> Settings {
    Settings {
        enroll_limits: EnrollLimits {
            per_address,
            global,
            window,
        },
        ..Settings::default()
    }
}

async fn enroll_failures_per_address_run_out_and_successes_are_refunded(backend: Backend) {
    let i = backend
        .instances(&enroll_settings(2, 100, Duration::from_secs(3600)))
        .await;
    let limiter = &i.a.enroll;
    let me = at(1);
    let first = limiter.admit(me).await.unwrap().unwrap();
    limiter.succeeded(first).await;
    limiter.admit(me).await.unwrap().unwrap();
    limiter.admit(me).await.unwrap().unwrap();
    let wait = limiter.admit(me).await.unwrap().unwrap_err();
    assert!((1..=3601).contains(&wait), "{wait}");
    assert!(limiter.admit(at(2)).await.unwrap().is_ok());
}

async fn enroll_the_global_limit_holds_across_addresses(backend: Backend) {
    let i = backend
        .instances(&enroll_settings(10, 3, Duration::from_secs(3600)))
        .await;
    for last in 1..=3 {
        i.a.enroll.admit(at(last)).await.unwrap().unwrap();
    }
    assert!(i.a.enroll.admit(at(9)).await.unwrap().is_err());
    // The refused attempt took nothing from its address.
    assert!(i.a.enroll.admit(at(9)).await.unwrap().is_err());
}

async fn enroll_attempts_at_both_instances_share_one_budget(backend: Backend) {
    let i = backend
        .instances(&enroll_settings(4, 7, Duration::from_secs(3600)))
        .await;
    // Alternating between the instances, one address gets its 4, not 4 at each.
    for n in 0..4 {
        let limiter = &i.pick(n).enroll;
        limiter.admit(at(1)).await.unwrap().unwrap();
    }
    assert!(i.a.enroll.admit(at(1)).await.unwrap().is_err());
    assert!(i.b.enroll.admit(at(1)).await.unwrap().is_err());
    // A success at one instance is refunded for both.
    let attempt = i.b.enroll.admit(at(2)).await.unwrap().unwrap();
    i.b.enroll.succeeded(attempt).await;
    // Everybody together: 7, counted where each attempt landed.
    i.a.enroll.admit(at(3)).await.unwrap().unwrap();
    i.b.enroll.admit(at(4)).await.unwrap().unwrap();
    i.a.enroll.admit(at(5)).await.unwrap().unwrap();
    let wait = i.b.enroll.admit(at(6)).await.unwrap().unwrap_err();
    assert!((1..=3601).contains(&wait), "{wait}");
}

async fn enroll_concurrent_attempts_never_pass_the_limit(backend: Backend) {
    let i = backend
        .instances(&enroll_settings(5, 12, Duration::from_secs(3600)))
        .await;
    // 50 at once from one address, then 50 from many: 5, then the 7 left of the global 12.
    for addresses in [[1u8; 50], std::array::from_fn(|n| 10 + n as u8)] {
        let tasks: Vec<_> = addresses
            .iter()
            .enumerate()
            .map(|(n, last)| {
                let limiter = Arc::clone(&i.pick(n as u64).enroll);
                let address = at(*last);
                tokio::spawn(async move { limiter.admit(address).await.map(|r| r.is_ok()) })
            })
            .collect();
        let mut admitted = 0;
        for task in tasks {
            admitted += usize::from(task.await.unwrap().unwrap());
        }
        let expected = if addresses[0] == addresses[1] { 5 } else { 7 };
        assert_eq!(admitted, expected, "from {:?}…", &addresses[..2]);
    }
}

async fn enroll_attempts_leave_the_window(backend: Backend) {
    let i = backend
        .instances(&enroll_settings(1, 100, Duration::from_millis(1500)))
        .await;
    i.a.enroll.admit(at(1)).await.unwrap().unwrap();
    let wait = i.b.enroll.admit(at(1)).await.unwrap().unwrap_err();
    assert!((1..=2).contains(&wait), "{wait}");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    i.b.enroll.admit(at(1)).await.unwrap().unwrap();
}

// ── staff logins ──

fn login_settings(window: Duration) -> Settings {
    Settings {
        login_limits: LoginLimits {
            window,
            per_address: 6,
            per_name_and_address: 2,
            per_name: 4,
            per_device: 2,
            device_lifetime: Duration::from_secs(3600),
        },
        ..Settings::default()
    }
}

async fn login_one_machine_is_stopped_per_name_and_overall(backend: Backend) {
    let i = backend
        .instances(&login_settings(Duration::from_secs(3600)))
        .await;
    let limiter = &i.a.login;
    limiter.admit("li", at(1), None).await.unwrap().unwrap();
    limiter.admit("li", at(1), None).await.unwrap().unwrap();
    assert!(matches!(
        limiter.admit("li", at(1), None).await.unwrap(),
        Err(Refused::Name { .. })
    ));
    // Another name from the same machine, and the same name from another, still go.
    for name in ["a", "b", "c", "d"] {
        limiter.admit(name, at(1), None).await.unwrap().unwrap();
    }
    assert!(matches!(
        limiter.admit("e", at(1), None).await.unwrap(),
        Err(Refused::Address { .. })
    ));
    limiter.admit("li", at(2), None).await.unwrap().unwrap();
}

async fn login_a_name_guessed_from_everywhere_stays_open_to_its_own_browser(backend: Backend) {
    let i = backend
        .instances(&login_settings(Duration::from_secs(3600)))
        .await;
    let limiter = &i.a.login;
    let device = limiter.remember_device("li").await.unwrap();
    for last in 1..=4 {
        limiter.admit("li", at(last), None).await.unwrap().unwrap();
    }
    assert!(matches!(
        limiter.admit("li", at(9), None).await.unwrap(),
        Err(Refused::Name { .. })
    ));
    // Its own browser, even from a guessing address; not for another name.
    let attempt = limiter
        .admit("li", at(1), Some(&device))
        .await
        .unwrap()
        .unwrap();
    limiter.succeeded(attempt).await;
    assert!(
        limiter
            .admit("wang", at(1), Some(&device))
            .await
            .unwrap()
            .is_ok()
    );
    assert!(
        limiter
            .admit("li", at(9), Some("made-up"))
            .await
            .unwrap()
            .is_err()
    );
    // The device has its own small budget.
    limiter
        .admit("li", at(1), Some(&device))
        .await
        .unwrap()
        .unwrap();
    limiter
        .admit("li", at(1), Some(&device))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        limiter.admit("li", at(1), Some(&device)).await.unwrap(),
        Err(Refused::Name { .. })
    ));
}

async fn login_a_right_password_forgets_this_machine_s_failures_for_that_name(backend: Backend) {
    let i = backend
        .instances(&login_settings(Duration::from_secs(3600)))
        .await;
    // The failure at one instance, the success at the other.
    i.a.login.admit("li", at(1), None).await.unwrap().unwrap();
    let attempt = i.b.login.admit("li", at(1), None).await.unwrap().unwrap();
    i.b.login.succeeded(attempt).await;
    i.a.login.admit("li", at(1), None).await.unwrap().unwrap();
    i.b.login.admit("li", at(1), None).await.unwrap().unwrap();
    // The pair's budget is used up again. The failure before the success still counts for
    // the name: with one more from elsewhere, li has its 4.
    assert!(i.a.login.admit("li", at(1), None).await.unwrap().is_err());
    i.a.login.admit("li", at(2), None).await.unwrap().unwrap();
    assert!(matches!(
        i.b.login.admit("li", at(3), None).await.unwrap(),
        Err(Refused::Name { .. })
    ));
}

async fn login_failures_at_both_instances_share_every_budget(backend: Backend) {
    let i = backend
        .instances(&login_settings(Duration::from_secs(3600)))
        .await;
    let instance = |n: u64| &i.pick(n).login;
    // Per (name, address): 2 in all, not 2 at each instance.
    instance(0).admit("li", at(1), None).await.unwrap().unwrap();
    instance(1).admit("li", at(1), None).await.unwrap().unwrap();
    for n in 0..2 {
        assert!(matches!(
            instance(n).admit("li", at(1), None).await.unwrap(),
            Err(Refused::Name { .. })
        ));
    }
    // Per address, over all names: 6.
    for (n, name) in (0..).zip(["a", "b", "c", "d"]) {
        instance(n).admit(name, at(1), None).await.unwrap().unwrap();
    }
    for n in 0..2 {
        assert!(matches!(
            instance(n).admit("e", at(1), None).await.unwrap(),
            Err(Refused::Address { .. })
        ));
    }
    // Per name, from everywhere: 4 (two from 10.0.0.1 already).
    instance(0).admit("li", at(2), None).await.unwrap().unwrap();
    instance(1).admit("li", at(3), None).await.unwrap().unwrap();
    for n in 0..2 {
        let refused = instance(n).admit("li", at(4), None).await.unwrap();
        let Err(Refused::Name { wait_s }) = refused else {
            panic!("{refused:?}")
        };
        assert!((1..=3600).contains(&wait_s), "{wait_s}");
    }
}

async fn login_a_device_remembered_by_one_instance_is_known_to_the_other(backend: Backend) {
    let i = backend
        .instances(&login_settings(Duration::from_secs(3600)))
        .await;
    let device = i.a.login.remember_device("li").await.unwrap();
    for last in 1..=4 {
        i.a.login
            .admit("li", at(last), None)
            .await
            .unwrap()
            .unwrap();
    }
    assert!(i.b.login.admit("li", at(9), None).await.unwrap().is_err());
    // The other instance knows the browser, and counts its budget with the first's.
    i.b.login
        .admit("li", at(9), Some(&device))
        .await
        .unwrap()
        .unwrap();
    i.a.login
        .admit("li", at(9), Some(&device))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        i.b.login.admit("li", at(9), Some(&device)).await.unwrap(),
        Err(Refused::Name { .. })
    ));
    // A right password at one instance clears the device's failures for both.
    let other = i.b.login.remember_device("li").await.unwrap();
    let _first =
        i.a.login
            .admit("li", at(9), Some(&other))
            .await
            .unwrap()
            .unwrap();
    let second =
        i.b.login
            .admit("li", at(9), Some(&other))
            .await
            .unwrap()
            .unwrap();
    i.a.login.succeeded(second).await;
    for n in 0..2 {
        let instance = &i.pick(n).login;
        instance
            .admit("li", at(9), Some(&other))
            .await
            .unwrap()
            .unwrap();
    }
    assert!(
        i.a.login
            .admit("li", at(9), Some(&other))
            .await
            .unwrap()
            .is_err()
    );
}

async fn login_an_attempt_not_checked_counts_for_nothing(backend: Backend) {
    let i = backend
        .instances(&login_settings(Duration::from_secs(3600)))
        .await;
    for _ in 0..5 {
        let attempt = i.a.login.admit("li", at(1), None).await.unwrap().unwrap();
        i.b.login.not_checked(attempt).await;
    }
    i.a.login.admit("li", at(1), None).await.unwrap().unwrap();
    i.b.login.admit("li", at(1), None).await.unwrap().unwrap();
    assert!(i.a.login.admit("li", at(1), None).await.unwrap().is_err());
}

async fn login_concurrent_attempts_never_pass_the_limits(backend: Backend) {
    let i = backend
        .instances(&login_settings(Duration::from_secs(3600)))
        .await;
    let device = i.a.login.remember_device("zhao").await.unwrap();
    // 50 at once for each budget, half through each instance: the pair's 2, the address's 6
    // (over many names), the name's 4 (from many addresses), the device's 2.
    let races: [(usize, Race); 4] = [
        (2, |_| ("li".into(), at(1), false)),
        (6, |n| (format!("name{n}"), at(2), false)),
        (4, |n| ("wang".into(), at(100 + n as u8), false)),
        (2, |_| ("zhao".into(), at(3), true)),
    ];
    for (limit, attempt) in races {
        let tasks: Vec<_> = (0..50)
            .map(|n| {
                let limiter = Arc::clone(&i.pick(n).login);
                let (name, address, with_device) = attempt(n);
                let device = with_device.then(|| device.clone());
                tokio::spawn(async move {
                    limiter
                        .admit(&name, address, device.as_deref())
                        .await
                        .map(|r| r.is_ok())
                })
            })
            .collect();
        let mut admitted = 0;
        for task in tasks {
            admitted += usize::from(task.await.unwrap().unwrap());
        }
        assert_eq!(admitted, limit, "{:?}", attempt(0));
    }
}

async fn login_failures_leave_the_window(backend: Backend) {
    let i = backend
        .instances(&login_settings(Duration::from_millis(1500)))
        .await;
    i.a.login.admit("li", at(1), None).await.unwrap().unwrap();
    i.b.login.admit("li", at(1), None).await.unwrap().unwrap();
    let refused = i.a.login.admit("li", at(1), None).await.unwrap();
    assert_eq!(refused.unwrap_err(), Refused::Name { wait_s: 1 });
    tokio::time::sleep(Duration::from_millis(1600)).await;
    i.b.login.admit("li", at(1), None).await.unwrap().unwrap();
}

// ── PostgreSQL only: the store's pool, sweeping, a database that does not answer ──

mod postgres_only {
    use sync_server::shared::postgres::{PgEnrollLimiter, PgLoginLimiter, PgNonces};
    use sync_server::store::postgres::testing::TestSchema;

    use super::*;

    async fn count(pool: &deadpool_postgres::Pool, table: &str) -> i64 {
        let client = pool.get().await.unwrap();
        client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap()
            .get(0)
    }

    /// What `serve` does with a PostgreSQL store: the guards ride on the store's own pool,
    /// whose opening migrated their tables.
    #[tokio::test]
    async fn the_store_s_pool_serves_the_guards() {
        let schema = TestSchema::create().await;
        let keys = Arc::new(sync_server::store::sealing::KeyRing::generate());
        let store = schema.open(keys).await;
        let guards = SharedState::postgres(store.pool(), &Settings::default());
        let other = SharedState::postgres(schema.pool(2).await, &Settings::default());
        assert!(
            guards
                .nonces
                .first_use("k1", "n1", 2000, 1000)
                .await
                .unwrap()
        );
        assert!(
            !other
                .nonces
                .first_use("k1", "n1", 2000, 1000)
                .await
                .unwrap()
        );
        guards.enroll.admit(at(1)).await.unwrap().unwrap();
        guards
            .login
            .admit("li", at(1), None)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn expired_nonces_go_a_batch_at_a_time_and_the_rest_stay() {
        let schema = TestSchema::create().await;
        let pool = schema.pool(2).await;
        let client = pool.get().await.unwrap();
        client
            .execute(
                "INSERT INTO replay_nonces (kiosk_id, nonce, remember_until)
                 SELECT 'k1', 'old' || n, 4000 FROM generate_series(1, 1500) AS n",
                &[],
            )
            .await
            .unwrap();
        let nonces = PgNonces::new(pool.clone());
        use sync_server::api::nonces::Nonces as _;
        assert!(nonces.first_use("k1", "kept", 5000, 4000).await.unwrap());
        assert_eq!(
            nonces.sweep(4000).await.unwrap(),
            0,
            "4000 is still accepted"
        );
        assert_eq!(nonces.sweep(4001).await.unwrap(), 1000, "one batch");
        assert_eq!(nonces.sweep(4001).await.unwrap(), 500);
        assert_eq!(nonces.sweep(4001).await.unwrap(), 0);
        assert_eq!(count(&pool, "replay_nonces").await, 1);
        assert!(!nonces.first_use("k1", "kept", 5000, 5000).await.unwrap());
    }

    #[tokio::test]
    async fn attempts_out_of_the_window_and_expired_devices_are_swept() {
        let schema = TestSchema::create().await;
        let pool = schema.pool(2).await;
        let settings = login_settings(Duration::from_secs(60));
        let enroll = PgEnrollLimiter::new(pool.clone(), settings.enroll_limits);
        let login = PgLoginLimiter::new(pool.clone(), settings.login_limits);
        use sync_server::api::rate_limit::EnrollLimit as _;
        use sync_server::staff::login_limit::LoginLimit as _;
        enroll.admit(at(1)).await.unwrap().unwrap();
        login.admit("li", at(1), None).await.unwrap().unwrap();
        login.remember_device("li").await.unwrap();
        assert_eq!(enroll.sweep().await.unwrap(), 0);
        assert_eq!(login.sweep().await.unwrap(), 0);
        let client = pool.get().await.unwrap();
        client
            .batch_execute(
                "UPDATE enroll_attempts SET at = at - interval '2 hours';
                 UPDATE login_attempts SET at = at - interval '2 hours';
                 UPDATE login_devices SET valid_until = now() - interval '1 second';",
            )
            .await
            .unwrap();
        assert_eq!(enroll.sweep().await.unwrap(), 1);
        assert_eq!(
            login.sweep().await.unwrap(),
            2,
            "the attempt and the device"
        );
        for table in ["enroll_attempts", "login_attempts", "login_devices"] {
            assert_eq!(count(&pool, table).await, 0, "{table}");
        }
    }

    /// A pool whose every connection is refused: the limits' database is down.
    pub(crate) fn unreachable_pool() -> deadpool_postgres::Pool {
        let config: tokio_postgres::Config =
            "postgres://postgres@127.0.0.1:1/nothing".parse().unwrap();
        let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
        deadpool_postgres::Pool::builder(manager)
            .max_size(1)
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn a_database_that_does_not_answer_admits_nothing() {
        let down = SharedState::postgres(unreachable_pool(), &Settings::default());
        assert!(down.nonces.first_use("k1", "n1", 2000, 1000).await.is_err());
        assert!(down.enroll.admit(at(1)).await.is_err());
        assert!(down.login.admit("li", at(1), None).await.is_err());
        assert!(down.login.remember_device("li").await.is_err());
    }
}

// ── two HTTP servers on one store and one PostgreSQL schema ──

mod two_servers {
    use reqwest::{Method, StatusCode};
    use sync_protocol::ErrorCode;
    use sync_protocol::enroll::EnrollRequest;
    use sync_protocol::feed::{Feed, FeedPage, StatusChange, SubmissionStatus};
    use sync_protocol::paths;
    use sync_protocol::submission::{BatchRequest, BatchResponse, Outcome};
    use sync_server::api::enroll_codes::{self, CodeSecret};
    use sync_server::data_dir::DataDir;
    use sync_server::domain::access::Role;
    use sync_server::key_file::ServerKeys;
    use sync_server::server;
    use sync_server::settings::StoreChoice;
    use sync_server::state::AppState;
    use sync_server::store::Store;
    use sync_server::store::SubmissionRef;
    use sync_server::store::postgres::testing::TestSchema;

    use super::*;
    use crate::common::{TestKiosk, TestServer, new_key, refusal, test_settings};
    use crate::staff_client::{PASSWORD, StaffClient, add_account};

    /// Two servers on one SQLite store (one process stands for two hosts: the store is shared
    /// anyway), each with the guards `guards` gives it.
    async fn pair(
        settings: Settings,
        guards: impl Fn(&Settings) -> SharedState,
    ) -> (TestServer, TestServer) {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::create(dir.path()).unwrap();
        let keys = ServerKeys::generate();
        let store = server::open_store(&data, Arc::clone(&keys.ring), &StoreChoice::Sqlite)
            .await
            .unwrap();
        let instances = [
            (Arc::clone(&store), guards(&settings)),
            (store, guards(&settings)),
        ];
        serve_pair(settings, instances, &keys, dir, &data).await
    }

    /// Two servers as two hosts would run them on PostgreSQL: each with its own store (its own
    /// pool) on one schema, and the guards over that pool.
    async fn postgres_pair(settings: Settings) -> (TestServer, TestServer, TestSchema) {
        let schema = TestSchema::create().await;
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::create(dir.path()).unwrap();
        let keys = ServerKeys::generate();
        let instance = async || {
            let store = Arc::new(schema.open(Arc::clone(&keys.ring)).await);
            let guards = SharedState::postgres(store.pool(), &settings);
            (store as Arc<dyn Store>, guards)
        };
        let instances = [instance().await, instance().await];
        let (a, b) = serve_pair(settings, instances, &keys, dir, &data).await;
        (a, b, schema)
    }

    async fn serve_pair(
        settings: Settings,
        instances: [(Arc<dyn Store>, SharedState); 2],
        keys: &ServerKeys,
        dir: tempfile::TempDir,
        data: &DataDir,
    ) -> (TestServer, TestServer) {
        let secret = data.code_secret().unwrap();
        let [(store_a, guards_a), (store_b, guards_b)] = instances;
        let state = async |store, guards| {
            AppState::new(
                store,
                Arc::clone(&keys.county),
                settings.clone(),
                CodeSecret::new(secret),
                guards,
            )
            .await
            .unwrap()
        };
        // The first keeps the data directory.
        let a = TestServer::serve_state(dir, state(store_a, guards_a).await).await;
        let b =
            TestServer::serve_state(tempfile::tempdir().unwrap(), state(store_b, guards_b).await)
                .await;
        (a, b)
    }

    /// The same booth, talking to `server`.
    fn at_server(kiosk: &TestKiosk, server: &TestServer) -> TestKiosk {
        TestKiosk {
            key: kiosk.key.clone(),
            enrolled: kiosk.enrolled.clone(),
            base: server.url.clone(),
            client: reqwest::Client::new(),
        }
    }

    #[tokio::test]
    async fn a_request_used_at_one_instance_is_refused_at_the_other() {
        let (a, b, _schema) = postgres_pair(test_settings()).await;
        let kiosk = a.enroll("石门村").await;
        let path = paths::feed(Feed::Catalog);
        let headers = kiosk.sign("GET", &path, "", b"");
        let first = kiosk
            .send_signed(Method::GET, &path, "", Vec::new(), &headers)
            .await;
        assert_eq!(first.status(), StatusCode::OK);
        let replay = at_server(&kiosk, &b)
            .send_signed(Method::GET, &path, "", Vec::new(), &headers)
            .await;
        let (status, body) = refusal(replay).await;
        assert_eq!(
            (status, body.code),
            (StatusCode::UNAUTHORIZED, ErrorCode::ReplayedNonce)
        );
        // A fresh request is served by either.
        let fresh = at_server(&kiosk, &b).get(&path, "").await;
        assert_eq!(fresh.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_status_set_through_one_instance_is_in_the_booths_feed_through_the_other() {
        let (a, b, _schema) = postgres_pair(test_settings()).await;
        let kiosk = a.enroll("石门村").await;
        let sent = crate::common::submission(kiosk.number(), 1);
        let answer: BatchResponse = kiosk
            .post_json(
                paths::SUBMISSIONS,
                &BatchRequest {
                    submissions: vec![sent.clone()],
                },
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(answer.results[0].outcome, Outcome::Accepted);
        let changed = b
            .store()
            .set_status(
                &SubmissionRef::Id(sent.id),
                SubmissionStatus::Accepted,
                None,
                chrono::Utc::now(),
            )
            .await
            .unwrap()
            .expect("the other instance finds the submission");
        // The booth's next pull, through either instance, has it: no instance caches feeds.
        for server in [&a, &b] {
            let page: FeedPage<StatusChange> = at_server(&kiosk, server)
                .feed(Feed::Statuses, None, 100)
                .await;
            assert_eq!(page.items.last(), Some(&changed));
        }
    }

    #[tokio::test]
    async fn guessing_codes_at_both_instances_uses_one_budget() {
        let (a, b, _schema) = postgres_pair(test_settings()).await;
        let per_address = test_settings().enroll_limits.per_address;
        let guess = async |server: &TestServer| {
            let code = enroll_codes::generate().unwrap();
            reqwest::Client::new()
                .post(format!("{}{}", server.url, paths::ENROLL))
                .json(&EnrollRequest::new(&code, &new_key(), "0.1"))
                .send()
                .await
                .unwrap()
        };
        for n in 0..per_address {
            let response = guess(if n % 2 == 0 { &a } else { &b }).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "guess {n}");
        }
        for server in [&a, &b] {
            let response = guess(server).await;
            let retry_after: u64 = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .expect("Retry-After in seconds");
            assert!(retry_after >= 1);
            let (status, body) = refusal(response).await;
            assert_eq!(
                (status, body.code),
                (StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited)
            );
        }
    }

    fn limited(per_name_and_address: usize, per_name: usize) -> Settings {
        Settings {
            login_limits: LoginLimits {
                per_name_and_address,
                per_name,
                per_address: 100,
                window: Duration::from_secs(3600),
                ..LoginLimits::default()
            },
            ..test_settings()
        }
    }

    fn loopback(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([127, 0, 0, last]))
    }

    #[tokio::test]
    async fn password_guesses_at_both_instances_share_one_budget() {
        let (a, b, _schema) = postgres_pair(limited(3, 30)).await;
        add_account(a.store(), "li", Role::Handler, "示范县").await;
        let mut at_a = StaffClient::from_address(&a.url, loopback(7));
        let mut at_b = StaffClient::from_address(&b.url, loopback(7));
        let mut statuses = Vec::new();
        for n in 0..6 {
            let client = if n % 2 == 0 { &mut at_a } else { &mut at_b };
            statuses.push(client.login("li", "a guess").await.status);
        }
        assert_eq!(
            statuses,
            [
                StatusCode::UNAUTHORIZED,
                StatusCode::UNAUTHORIZED,
                StatusCode::UNAUTHORIZED,
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::TOO_MANY_REQUESTS,
            ]
        );
        let page = at_b.login("li", PASSWORD).await;
        assert_eq!(
            page.status,
            StatusCode::TOO_MANY_REQUESTS,
            "even the password"
        );
        page.assert_contains("已暂时锁定");
    }

    #[tokio::test]
    async fn a_browser_that_logged_in_at_one_instance_is_known_at_the_other() {
        let (a, b, _schema) = postgres_pair(limited(3, 6)).await;
        add_account(a.store(), "li", Role::Handler, "示范县").await;
        // The owner logs in at A; the cookie jar then goes to B with the browser.
        let mut owner = StaffClient::from_address(&a.url, loopback(1));
        assert_eq!(
            owner.login("li", PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        owner.post("/staff/logout", &[]).await;
        // Three machines guess li's password at both instances until the name is locked.
        for last in 10..13 {
            for server in [&a, &b] {
                let mut attacker = StaffClient::from_address(&server.url, loopback(last));
                attacker.login("li", "guess").await;
            }
        }
        let mut stranger = StaffClient::from_address(&b.url, loopback(50));
        assert_eq!(
            stranger.login("li", PASSWORD).await.status,
            StatusCode::TOO_MANY_REQUESTS
        );
        owner.base.clone_from(&b.url);
        assert_eq!(
            owner.login("li", PASSWORD).await.status,
            StatusCode::SEE_OTHER,
            "B honours the device A remembered"
        );
    }

    #[tokio::test]
    async fn when_the_limits_database_is_down_no_password_is_checked() {
        let down = |settings: &Settings| {
            SharedState::postgres(super::postgres_only::unreachable_pool(), settings)
        };
        let (a, _b) = pair(test_settings(), down).await;
        add_account(a.store(), "li", Role::Handler, "示范县").await;
        let runs = a.state.password_gate().runs();
        let mut client = StaffClient::from_address(&a.url, loopback(1));
        let page = client.login("li", PASSWORD).await;
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            page.headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("5")
        );
        page.assert_contains("无法统计密码尝试次数");
        assert_eq!(a.state.password_gate().runs(), runs, "no argon2 run");
        // Enrollment and signed requests are refused too, as failures of the server.
        let code = a.code("石门村").await;
        let response = reqwest::Client::new()
            .post(format!("{}{}", a.url, paths::ENROLL))
            .json(&EnrollRequest::new(&code, &new_key(), "0.1"))
            .send()
            .await
            .unwrap();
        let (status, body) = refusal(response).await;
        assert_eq!(
            (status, body.code),
            (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal)
        );
        assert!(a.store().list_kiosks().await.unwrap().is_empty());
    }
}
