//! Real names for path-parameter errors. poem-openapi routes path parameters under internal names
//! (`param0`, `param1`, ...), so a bad `/users/abc` would be reported at `["path", "param0"]`;
//! Kwik's clients expect `["path", "user_id"]`. The names are read back from the generated spec.

use std::sync::Arc;

use poem::http::Method;
use poem::{Endpoint, IntoResponse, Request, Response};

use crate::error::ApiError;

#[derive(Clone)]
enum Segment {
    Literal(String),
    Param(String),
}

/// Path templates of the spec, by method.
#[derive(Default)]
pub(crate) struct PathNames {
    routes: Vec<(Method, Vec<Segment>)>,
    /// Each template once, split into segments, for [`PathNames::template`].
    templates: Vec<(String, Vec<Segment>)>,
    /// The `Allow` header value of each template: its methods, upper case, in spec order.
    allow: std::collections::HashMap<String, String>,
}

impl PathNames {
    /// Reads `paths` of an OpenAPI document (templates relative to the API prefix).
    pub(crate) fn from_spec(spec: &str) -> Self {
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(spec) else { return Self::default() };
        let mut routes = Vec::new();
        let mut templates = Vec::new();
        let mut allow = std::collections::HashMap::new();
        if let Some(paths) = doc["paths"].as_object() {
            for (template, operations) in paths {
                let segments: Vec<Segment> = template
                    .split('/')
                    .map(|part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                        Some(name) => Segment::Param(name.to_owned()),
                        None => Segment::Literal(part.to_owned()),
                    })
                    .collect();
                templates.push((template.clone(), segments.clone()));
                let mut methods = Vec::new();
                for method in operations.as_object().into_iter().flat_map(|ops| ops.keys()) {
                    if let Ok(method) = method.to_uppercase().parse::<Method>() {
                        methods.push(method.to_string());
                        routes.push((method, segments.clone()));
                    }
                }
                allow.insert(template.clone(), methods.join(", "));
            }
        }
        // Literal routes win over parameterised ones: try those with more literals first.
        templates.sort_by_key(|(_, segments)| std::cmp::Reverse(literal_count(segments)));
        Self { routes, templates, allow }
    }

    /// The `Allow` value (`GET, POST`) of the route `path` matches: what a 405 must list.
    pub(crate) fn allow(&self, path: &str) -> Option<&str> {
        self.template(path).and_then(|template| self.allow.get(template)).map(String::as_str)
    }

    /// The route template (`/users/{user_id}`, relative to the API prefix) that `path` matches,
    /// for logs and metrics labels. Literal routes win over parameterised ones.
    pub(crate) fn template(&self, path: &str) -> Option<&str> {
        self.templates.iter().find_map(|(template, segments)| {
            let mut parts = path.split('/');
            let all = segments.iter().all(|segment| match (segment, parts.next()) {
                (Segment::Literal(literal), Some(part)) => literal == part,
                (Segment::Param(_), Some(part)) => !part.is_empty(),
                (_, None) => false,
            });
            (all && parts.next().is_none()).then_some(template.as_str())
        })
    }

    /// The path without its trailing slash, when only that form is a route with a path
    /// parameter: `/orders/1/lines/` for `/orders/{id}/lines` (poem-openapi cannot declare a
    /// trailing slash after a path parameter, so nested collections are declared without one
    /// and served with both). A slash is never added (Kwik's contract answers 404 to `/users`,
    /// CONTRACT §1), and routes without parameters keep their one spelling.
    pub(crate) fn other_slash(&self, path: &str) -> Option<String> {
        if path.len() <= 1 || self.template(path).is_some() {
            return None;
        }
        let trimmed = path.strip_suffix('/')?;
        self.template(trimmed).filter(|template| template.contains('{')).map(|_| trimmed.to_owned())
    }

    /// The name and the raw value of the `index`-th path parameter of the route `method path` matches.
    fn name<'p>(&self, method: &Method, path: &'p str, index: usize) -> Option<(&str, &'p str)> {
        let parts: Vec<&str> = path.split('/').collect();
        self.routes.iter().filter(|(m, segments)| m == method && segments.len() == parts.len()).find_map(
            |(_, segments)| {
                let matches = segments.iter().zip(&parts).all(|(segment, part)| match segment {
                    Segment::Literal(literal) => literal == part,
                    Segment::Param(_) => true,
                });
                if !matches {
                    return None;
                }
                segments
                    .iter()
                    .zip(&parts)
                    .filter_map(|(s, part)| match s {
                        Segment::Param(name) => Some((name.as_str(), *part)),
                        Segment::Literal(_) => None,
                    })
                    .nth(index)
            },
        )
    }
}

/// Outermost middleware body: serves `/orders/1/lines/` as `/orders/1/lines` (see
/// [`PathNames::other_slash`]) by rewriting the URI before anything else sees it, so rate limits,
/// logs and metrics count one route under one spelling.
pub(crate) async fn drop_trailing_slash<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    names: Arc<PathNames>,
    prefix: Arc<str>,
) -> poem::Result<Response> {
    let rewritten = req
        .uri()
        .path()
        .strip_prefix(prefix.as_ref())
        .and_then(|path| names.other_slash(path))
        .map(|path| format!("{prefix}{path}{}", req.uri().query().map(|q| format!("?{q}")).unwrap_or_default()));
    if let Some(uri) = rewritten.and_then(|text| text.parse().ok()) {
        *req.uri_mut() = uri;
    }
    // Boxed: the whole app's future sits inside this outermost layer.
    Ok(Box::pin(ep.call(req)).await?.into_response())
}

/// Middleware body: renames `paramN` in path errors to the operation's parameter name, and gives
/// a 405 (a method the route does not declare) the `Allow` header RFC 9110 requires.
pub(crate) async fn rename_path_errors<E: Endpoint>(
    ep: Arc<E>,
    req: Request,
    names: Arc<PathNames>,
    prefix: Arc<str>,
) -> poem::Result<Response> {
    let method = req.method().clone();
    // Inside `Route::nest` the URI is relative to the prefix; strip it anyway in case it is not.
    let full = req.uri().path().to_owned();
    let path = full.strip_prefix(prefix.as_ref()).unwrap_or(&full).to_owned();
    match ep.call(req).await {
        Ok(response) => Ok(response.into_response()),
        Err(err) if err.is::<poem::error::MethodNotAllowedError>() => {
            let mut response = crate::error::error_response(err);
            if let Some(value) = names.allow(&path).and_then(|allow| allow.parse().ok()) {
                response.headers_mut().insert(poem::http::header::ALLOW, value);
            }
            Ok(response)
        }
        Err(err) => {
            let Some(e) = err.downcast_ref::<poem_openapi::error::ParsePathError>() else { return Err(err) };
            let index = e.name.strip_prefix("param").and_then(|n| n.parse::<usize>().ok());
            let (name, input) = index.and_then(|i| names.name(&method, &path, i)).unwrap_or((e.name, ""));
            let issue = kwik_core::ValidationIssue::new(
                "int_parsing",
                &["path", name],
                "Input should be a valid integer, unable to parse string as an integer",
            )
            .with_input(input);
            Err(ApiError(kwik_core::Error::validation(issue)).into())
        }
    }
}

fn literal_count(segments: &[Segment]) -> usize {
    segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_parameter_names_by_position() {
        let spec = r#"{"paths": {"/roles/{role_id}/permissions/{permission_id}": {"delete": {}},
                      "/users/{user_id}": {"get": {}, "put": {}}, "/users/me": {"get": {}}}}"#;
        let names = PathNames::from_spec(spec);
        assert_eq!(names.name(&Method::DELETE, "/roles/1/permissions/x", 1), Some(("permission_id", "x")));
        assert_eq!(names.name(&Method::DELETE, "/roles/x/permissions/1", 0), Some(("role_id", "x")));
        assert_eq!(names.name(&Method::GET, "/users/abc", 0), Some(("user_id", "abc")));
        assert_eq!(names.name(&Method::POST, "/users/abc", 0), None);
        assert_eq!(names.template("/users/42"), Some("/users/{user_id}"));
        assert_eq!(names.template("/users/me"), Some("/users/me"));
        assert_eq!(names.template("/nowhere/1"), None);
    }

    #[test]
    fn the_other_slash_only_when_it_is_the_route() {
        let spec = r#"{"paths": {"/projects/": {"get": {}}, "/orders/{id}/lines": {"get": {}}, "/users/{user_id}": {"get": {}}}}"#;
        let names = PathNames::from_spec(spec);
        assert_eq!(names.other_slash("/projects"), None, "Kwik: /users is a 404");
        assert_eq!(names.other_slash("/projects/"), None);
        assert_eq!(names.other_slash("/orders/7/lines/"), Some("/orders/7/lines".to_owned()));
        assert_eq!(names.other_slash("/orders/7/lines"), None);
        assert_eq!(names.other_slash("/users/5/"), Some("/users/5".to_owned()));
        let login = PathNames::from_spec(r#"{"paths": {"/login/access-token": {"post": {}}}}"#);
        assert_eq!(login.other_slash("/login/access-token/"), None, "no parameter: one spelling");
        assert_eq!(names.other_slash("/nowhere/"), None);
        assert_eq!(names.other_slash("/"), None);
    }
}
