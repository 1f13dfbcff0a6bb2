//! Property tests: the engine never panics on any template text or data,
//! and text without actions comes out exactly as written.

use proptest::prelude::*;
use serde_json::{json, Value as Json};

use super::{Data, Template};

/// Template text made of the pieces templates are made of, in any order,
/// so the parser sees half-finished actions, stray `end`s, pipelines,
/// variables, literals and functions more often than random bytes give.
fn template_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{{".to_string()),
        Just("}}".to_string()),
        Just("{{- ".to_string()),
        Just(" -}}".to_string()),
        Just("{{/* c */}}".to_string()),
        Just(".".to_string()),
        Just(".Name".to_string()),
        Just(".Items".to_string()),
        Just(".Labels.a".to_string()),
        Just(".N".to_string()),
        Just("$".to_string()),
        Just("$x := ".to_string()),
        Just(" | ".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just(" range ".to_string()),
        Just(" if ".to_string()),
        Just(" else ".to_string()),
        Just(" with ".to_string()),
        Just(" end ".to_string()),
        Just(" define \"t\" ".to_string()),
        Just(" template \"t\" ".to_string()),
        Just(" block \"b\" . ".to_string()),
        Just(" break ".to_string()),
        Just(" continue ".to_string()),
        Just("printf \"%5.2f|%q|%v|%x|%-3d|%*d\" ".to_string()),
        Just("index ".to_string()),
        Just("slice ".to_string()),
        Just("len ".to_string()),
        Just("json ".to_string()),
        Just("join ".to_string()),
        Just("truncate ".to_string()),
        Just("pad ".to_string()),
        Just(" eq 1 2 ".to_string()),
        Just(" lt \"a\" 1 ".to_string()),
        Just(" and ".to_string()),
        Just(" not ".to_string()),
        Just("\"str\\n\"".to_string()),
        Just("`raw`".to_string()),
        Just("'x'".to_string()),
        Just("1e3".to_string()),
        Just("-0x1F".to_string()),
        Just("nil".to_string()),
        Just("true".to_string()),
        "\\PC{0,6}",
    ];
    prop::collection::vec(piece, 0..16).prop_map(|p| p.concat())
}

fn json_value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
        "\\PC{0,8}".prop_map(Json::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::from),
            prop::collection::btree_map("[A-Za-z]{1,5}", inner, 0..4)
                .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_template_over_any_data_never_panics(text in template_text(), data in json_value()) {
        let doc = json!({"Name": "n", "Items": [1, "two", {"Name": "x"}], "Labels": {"a": "1"}, "N": data.clone()});
        if let Ok(t) = Template::new("t", &text) {
            let _ = t.execute(Data::One(&doc));
            let _ = t.execute(Data::One(&data));
            let rows = [doc.clone(), data.clone()];
            let _ = t.execute(Data::Rows(&rows));
            let _ = t.execute(Data::MapRows(&rows));
        }
    }

    #[test]
    fn text_without_actions_is_copied_verbatim(text in "\\PC{0,60}", data in json_value()) {
        prop_assume!(!text.contains("{{"));
        let t = Template::new("t", &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let out = t.execute(Data::One(&data)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(out, text);
    }
}
