//! The seed catalogue as the store returns it, for the flows' unit tests.

use sync_protocol::feed::CatalogItem;

pub fn catalogue() -> Vec<CatalogItem> {
    let mut seed: serde_json::Value =
        serde_json::from_str(include_str!("../../../sync-server/seed/catalog.json"))
            .expect("the seed catalogue is JSON");
    // The server assigns versions on import; the seed file leaves them out.
    for item in seed["items"].as_array_mut().into_iter().flatten() {
        item["version"] = serde_json::json!(1);
    }
    serde_json::from_value(seed["items"].take()).expect("the seed catalogue has items")
}
