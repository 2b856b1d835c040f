//! Placeholder: filled in by the contract test writer.
