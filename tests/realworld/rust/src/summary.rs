use std::collections::BTreeMap;

use serde_json::json;

/// The summary as one JSON object.
pub fn render(counts: &BTreeMap<u64, u64>, bytes: u64) -> String {
    let by_status: serde_json::Map<String, serde_json::Value> =
        counts.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    json!({ "requests": counts.values().sum::<u64>(), "bytes": bytes, "by_status": by_status })
        .to_string()
}
