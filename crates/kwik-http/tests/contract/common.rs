//! Shared set-up for the contract tests.

use kwik_http::App;
use kwik_http::builtin::Builtin;
use kwik_testing::TestApp;

/// A fresh app with Kwik's built-in API on its own database.
pub async fn app() -> TestApp {
    TestApp::new(|state| App::new(state).module(Builtin)).await
}

/// The same, with settings overrides.
#[allow(dead_code)]
pub async fn app_with(settings: &[(&str, &str)]) -> TestApp {
    TestApp::with_settings(settings, |state| App::new(state).module(Builtin)).await
}
