//! Log capture: a minimal tracing subscriber for this test's thread.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// One event: its fields, and the fields of the spans it was emitted in (inner wins).
#[derive(Debug, Clone)]
pub struct Line {
    pub fields: BTreeMap<String, String>,
    pub spans: BTreeMap<String, String>,
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

#[derive(Default)]
struct Inner {
    next: AtomicU64,
    spans: Mutex<HashMap<u64, BTreeMap<String, String>>>,
    stack: Mutex<Vec<u64>>,
    lines: Mutex<Vec<Line>>,
}

#[derive(Default, Clone)]
pub struct Capture(Arc<Inner>);

impl Capture {
    pub fn lines(&self) -> Vec<Line> {
        self.0.lines.lock().unwrap().clone()
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.0.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        self.0.spans.lock().unwrap().insert(id, fields.0);
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut fields = Fields::default();
        values.record(&mut fields);
        if let Some(known) = self.0.spans.lock().unwrap().get_mut(&span.into_u64()) {
            known.extend(fields.0);
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut spans = BTreeMap::new();
        let known = self.0.spans.lock().unwrap();
        for id in self.0.stack.lock().unwrap().iter() {
            if let Some(span_fields) = known.get(id) {
                spans.extend(span_fields.clone());
            }
        }
        self.0.lines.lock().unwrap().push(Line { fields: fields.0, spans });
    }
    fn enter(&self, span: &Id) {
        self.0.stack.lock().unwrap().push(span.into_u64());
    }
    fn exit(&self, span: &Id) {
        let mut stack = self.0.stack.lock().unwrap();
        if let Some(at) = stack.iter().rposition(|id| *id == span.into_u64()) {
            stack.remove(at);
        }
    }
}
