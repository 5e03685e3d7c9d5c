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

mod releases {
    use super::open;

    sync_server::release_conformance_tests!(open().await);
}
