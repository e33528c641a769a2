//! One routing table per function: `(method, path pattern, route)` rows, matched once per
//! request. A path that matches with another method is a 405, no match at all a 404. The
//! same table is what the template and router tests compare with `template.yaml`.

use lambda_http::Request;

use super::{ApiError, route_path};

/// One row of a function's routing table. `path` segments in braces (`{collar_id}`) match
/// any one non-empty segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteSpec<R> {
    pub method: &'static str,
    pub path: &'static str,
    pub route: R,
}

/// Shorthand for a table row.
pub const fn route<R>(method: &'static str, path: &'static str, route: R) -> RouteSpec<R> {
    RouteSpec { method, path, route }
}

/// A matched route and its path parameters, in pattern order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matched<R> {
    pub route: R,
    pub params: Vec<(&'static str, String)>,
}

impl<R> Matched<R> {
    /// A path parameter by name (always present when the pattern names it).
    pub fn param(&self, name: &str) -> &str {
        self.params.iter().find(|(n, _)| *n == name).map_or("", |(_, v)| v.as_str())
    }
}

fn matches(pattern: &'static str, path: &str) -> Option<Vec<(&'static str, String)>> {
    let (mut want, mut got) = (pattern.split('/'), path.split('/'));
    let mut params = Vec::new();
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') && !g.is_empty() => {
                params.push((&w[1..w.len() - 1], g.to_owned()));
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

/// The route `req` asks for, or the 404/405 to answer.
pub fn find<R: Copy>(table: &[RouteSpec<R>], req: &Request) -> Result<Matched<R>, ApiError> {
    find_path(table, req.method().as_str(), &route_path(req))
}

/// [`find`] over a method and a path (without stage prefix or trailing slash).
pub fn find_path<R: Copy>(table: &[RouteSpec<R>], method: &str, path: &str) -> Result<Matched<R>, ApiError> {
    let mut path_known = false;
    for spec in table {
        if let Some(params) = matches(spec.path, path) {
            // HEAD is answered as GET (API Gateway routes HEAD only where it is declared).
            if spec.method.eq_ignore_ascii_case(method) || (spec.method == "GET" && method.eq_ignore_ascii_case("HEAD"))
            {
                return Ok(Matched { route: spec.route, params });
            }
            path_known = true;
        }
    }
    Err(if path_known { ApiError::MethodNotAllowed } else { ApiError::NotFound("no such route".into()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum R {
        List,
        Get,
        Delete,
    }

    const TABLE: &[RouteSpec<R>] = &[
        route("GET", "/v1/collars", R::List),
        route("GET", "/v1/collars/{collar_id}", R::Get),
        route("DELETE", "/v1/collars/{collar_id}", R::Delete),
    ];

    #[test]
    fn routes_params_404_and_405() {
        assert_eq!(find_path(TABLE, "GET", "/v1/collars").unwrap().route, R::List);
        let m = find_path(TABLE, "DELETE", "/v1/collars/AB-123").unwrap();
        assert_eq!((m.route, m.param("collar_id")), (R::Delete, "AB-123"));
        assert!(matches!(find_path(TABLE, "POST", "/v1/collars/AB-123"), Err(ApiError::MethodNotAllowed)));
        assert!(matches!(find_path(TABLE, "GET", "/v1/collars/AB-123/x"), Err(ApiError::NotFound(_))));
        assert!(matches!(find_path(TABLE, "GET", "/v1/collars/"), Err(ApiError::NotFound(_))));
        assert!(matches!(find_path(TABLE, "GET", "/v1/other"), Err(ApiError::NotFound(_))));
    }
}
