//! Finishing touches on the OpenAPI document poem-openapi generates, applied in one place (every
//! served form of the document — JSON, YAML, Swagger UI, Scalar, ReDoc — goes through
//! [`finish`]) for what poem-openapi 5.1 cannot say itself:
//!
//! - an OAuth2 flow without scopes gets `"scopes": {}`: OpenAPI 3.0 requires the map, and
//!   poem-openapi omits it when empty (spec validators and client generators refuse the document);
//! - an object property that is neither required nor defaulted is `nullable: true`: such a
//!   property is an `Option<T>` (or `MaybeUndefined<T>`), which is written as `null` and read from
//!   `null`, and OpenAPI 3.0 needs `nullable` to say so (poem-openapi only emits it on request,
//!   field by field, so generated clients rejected real responses).
//!
//! - an operation with an `If-Match` header parameter documents its 412, one with
//!   `If-None-Match` its 304 (the responses shared by every operation are declared once, on
//!   `ApiError` and `Tagged`; these belong to a few).
//!
//! The document keeps poem-openapi's key order (the tree below is order-preserving).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

/// Applies the finishing touches to a JSON OpenAPI document; returns it unchanged (pretty
/// printed as poem-openapi does) when it cannot be parsed.
pub(crate) fn finish(raw: &str) -> String {
    let Ok(mut doc) = serde_json::from_str::<Node>(raw) else { return raw.to_owned() };
    add_empty_oauth_scopes(&mut doc);
    document_precondition_failed(&mut doc);
    if let Some(schemas) = doc.get_mut("components").and_then(|c| c.get_mut("schemas")) {
        for (_, schema) in schemas.entries_mut() {
            mark_optional_properties_nullable(schema);
        }
    }
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| raw.to_owned())
}

/// The YAML form of a finished JSON document (`None` if it cannot be converted).
pub(crate) fn to_yaml(json: &str) -> Option<String> {
    let doc: Node = serde_json::from_str(json).ok()?;
    serde_yaml::to_string(&doc).ok()
}

fn add_empty_oauth_scopes(doc: &mut Node) {
    let Some(schemes) = doc.get_mut("components").and_then(|c| c.get_mut("securitySchemes")) else { return };
    for (_, scheme) in schemes.entries_mut() {
        if scheme.get("type").and_then(Node::as_str) != Some("oauth2") {
            continue;
        }
        let Some(flows) = scheme.get_mut("flows") else { continue };
        for (_, flow) in flows.entries_mut() {
            if flow.get("scopes").is_none()
                && let Node::Object(entries) = flow
            {
                entries.push(("scopes".to_owned(), Node::Object(Vec::new())));
            }
        }
    }
}

fn document_precondition_failed(doc: &mut Node) {
    let text = |s: &str| Node::String(s.to_owned());
    let Some(paths) = doc.get_mut("paths") else { return };
    for (_, path) in paths.entries_mut() {
        for (_, operation) in path.entries_mut() {
            let takes = |header: &str| match operation.get("parameters") {
                Some(Node::Array(parameters)) => parameters.iter().any(|p| {
                    p.get("in").and_then(Node::as_str) == Some("header")
                        && p.get("name").and_then(Node::as_str) == Some(header)
                }),
                _ => false,
            };
            let (if_match, if_none_match) = (takes("If-Match"), takes("If-None-Match"));
            let Some(Node::Object(responses)) = operation.get_mut("responses") else { continue };
            if if_match && !responses.iter().any(|(status, _)| status == "412") {
                let schema = Node::Object(vec![("$ref".to_owned(), text("#/components/schemas/KwikError"))]);
                let json = Node::Object(vec![("schema".to_owned(), schema)]);
                responses.push((
                    "412".to_owned(),
                    Node::Object(vec![
                        (
                            "description".to_owned(),
                            text("Precondition failed: the entity changed since the If-Match version"),
                        ),
                        ("content".to_owned(), Node::Object(vec![("application/json".to_owned(), json)])),
                    ]),
                ));
            }
            if if_none_match && !responses.iter().any(|(status, _)| status == "304") {
                let etag = Node::Object(vec![
                    ("description".to_owned(), text("The entity's current version.")),
                    ("required".to_owned(), Node::Bool(true)),
                    ("schema".to_owned(), Node::Object(vec![("type".to_owned(), text("string"))])),
                ]);
                responses.push((
                    "304".to_owned(),
                    Node::Object(vec![
                        (
                            "description".to_owned(),
                            text("Not Modified: the entity still has the If-None-Match version"),
                        ),
                        ("headers".to_owned(), Node::Object(vec![("ETag".to_owned(), etag)])),
                    ]),
                ));
            }
        }
    }
}

fn mark_optional_properties_nullable(schema: &mut Node) {
    let required: Vec<String> = schema
        .get("required")
        .map(|r| match r {
            Node::Array(items) => items.iter().filter_map(Node::as_str).map(str::to_owned).collect(),
            _ => Vec::new(),
        })
        .unwrap_or_default();
    let Some(properties) = schema.get_mut("properties") else { return };
    for (name, property) in properties.entries_mut() {
        if required.contains(name) || property.get("default").is_some() || property.get("nullable").is_some() {
            continue;
        }
        let Node::Object(entries) = property else { continue };
        if let Some(index) = entries.iter().position(|(key, _)| key == "$ref") {
            // OpenAPI 3.0 ignores siblings of `$ref`: wrap it.
            let reference = entries.remove(index);
            entries.insert(index, ("allOf".to_owned(), Node::Array(vec![Node::Object(vec![reference])])));
        }
        entries.push(("nullable".to_owned(), Node::Bool(true)));
    }
}

/// A JSON value whose objects keep their key order (serde_json's `Value` sorts them unless its
/// `preserve_order` feature is on, which would change every JSON body of the workspace).
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    /// The number's literal text (the workspace enables serde_json's `arbitrary_precision`).
    Number(String),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match self {
            Node::Object(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn entries_mut(&mut self) -> impl Iterator<Item = (&String, &mut Node)> {
        let entries = match self {
            Node::Object(entries) => entries.as_mut_slice(),
            _ => &mut [],
        };
        entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(s) => Some(s),
            _ => None,
        }
    }
}

/// serde_json's token for a number under `arbitrary_precision`.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => serializer.serialize_unit(),
            Node::Bool(b) => serializer.serialize_bool(*b),
            Node::Number(text) => match text.parse::<serde_json::Number>() {
                Ok(number) => number.serialize(serializer),
                Err(_) => serializer.serialize_str(text),
            },
            Node::String(s) => serializer.serialize_str(s),
            Node::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Node::Null, |n| Node::Number(n.to_string())))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if entries.is_empty() && key == NUMBER_TOKEN {
                return Ok(Node::Number(map.next_value::<String>()?));
            }
            entries.push((key, map.next_value()?));
        }
        Ok(Node::Object(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_needing_nothing_round_trips_byte_for_byte() {
        let raw = serde_json::to_string_pretty(&serde_json::json!({
            "openapi": "3.0.0",
            "components": {"schemas": {"A": {"type": "object", "required": ["id"],
                "properties": {"id": {"type": "integer", "minimum": 0.0, "maximum": 1000}}}}}
        }))
        .unwrap_or_default();
        assert_eq!(finish(&raw), raw);
    }

    #[test]
    fn optional_properties_become_nullable_and_oauth_flows_get_scopes() {
        let raw = r##"{"components": {
            "schemas": {"A": {"type": "object", "required": ["id"], "properties": {
                "zeta": {"type": "string"}, "id": {"type": "integer"},
                "given": {"type": "boolean", "default": true},
                "other": {"$ref": "#/components/schemas/B"}}}},
            "securitySchemes": {"O": {"type": "oauth2", "flows": {"password": {"tokenUrl": "/t"}}}}}}"##;
        let doc: serde_json::Value = serde_json::from_str(&finish(raw)).unwrap_or_default();
        let props = &doc["components"]["schemas"]["A"]["properties"];
        assert_eq!(props["zeta"]["nullable"], true);
        assert!(props["id"].get("nullable").is_none());
        assert!(props["given"].get("nullable").is_none());
        assert_eq!(
            props["other"],
            serde_json::json!({"allOf": [{"$ref": "#/components/schemas/B"}], "nullable": true})
        );
        assert_eq!(doc["components"]["securitySchemes"]["O"]["flows"]["password"]["scopes"], serde_json::json!({}));
        // Key order is kept.
        let text = finish(raw);
        assert!(text.find("\"zeta\": {") < text.find("\"id\": {"), "{text}");
    }
}
