//! The built-in fixtures of engine spec §9, by name, for `{"fixture": "…"}` requests.

use serde_json::Value;

/// The fixture names, in spec order.
pub const NAMES: [&str; 4] = ["london-dc-alpha", "small", "medium", "large"];

/// A fixture's document ({project, ranges | preset, seed, topn}), parsed.
pub fn get(name: &str) -> Option<Value> {
    let text = match name {
        "london-dc-alpha" => include_str!("../../../fixtures/london-dc-alpha.json"),
        "small" => include_str!("../../../fixtures/small.json"),
        "medium" => include_str!("../../../fixtures/medium.json"),
        "large" => include_str!("../../../fixtures/large.json"),
        _ => return None,
    };
    serde_json::from_str(text).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_fixture_parses() {
        for name in super::NAMES {
            assert!(super::get(name).is_some_and(|v| v.is_object()), "{name}");
        }
        assert!(super::get("nope").is_none());
    }
}
