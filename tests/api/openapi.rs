//! The served OpenAPI document tells the truth about its parameters and errors:
//! every path parameter it declares is in its path (and every `{x}` in a path is
//! declared), query parameters are `in: query`, and every operation documents the
//! error answers every route gives. (`scripts/e2e` also runs it through
//! openapi-spec-validator.) `/api/docs` renders that same document.

use reqwest::Method;

use crate::common::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_and_error_answers_are_declared_truthfully() {
    let s = TestServer::start().await;
    let (_, api) = s
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    let mut wrong = Vec::new();
    let mut operations = 0;
    let mut ids = std::collections::HashSet::new();
    for (path, ops) in api["paths"].as_object().unwrap() {
        let in_path: Vec<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|p| p.split('}').next())
            .collect();
        for (method, op) in ops.as_object().unwrap() {
            operations += 1;
            if let Some(id) = op["operationId"].as_str()
                && !ids.insert(id.to_string())
            {
                wrong.push(format!("{method} {path}: operationId `{id}` is not unique"));
            }
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let declared: Vec<&str> = params
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            for d in &declared {
                if !in_path.contains(d) {
                    wrong.push(format!(
                        "{method} {path}: `{d}` is declared in: path but is not in the path"
                    ));
                }
            }
            for p in &in_path {
                if !declared.contains(p) {
                    wrong.push(format!("{method} {path}: `{{{p}}}` is not declared"));
                }
            }
            let responses = &op["responses"];
            if responses.get("400").is_none() {
                wrong.push(format!("{method} {path}: 400 not documented"));
            }
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if secured && responses.get("401").is_none() {
                wrong.push(format!("{method} {path}: 401 not documented"));
            }
        }
    }
    assert!(operations > 40, "only {operations} operations");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(api["components"]["schemas"]["ErrorBody"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_page_renders_the_served_document() {
    let s = TestServer::start().await;
    let (_, api) = s
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    let res = s
        .http
        .get(format!("{}/api/docs", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let kind = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("text/html"), "{kind}");
    let page = res.text().await.unwrap();
    assert!(page.contains("<title>Switchboard API reference</title>"));
    assert!(page.contains(r#"href="/api/v1/openapi.json""#), "{page}");
    // The document the page renders is the one served as JSON, whole.
    let embedded = page
        .split(r#"<script id="api-reference" type="application/json">"#)
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("the embedded document");
    let embedded: serde_json::Value = serde_json::from_str(embedded.trim()).unwrap();
    assert_eq!(embedded, api);
    assert!(embedded["paths"]["/api/v1/chat/conversations"].is_object());
}

/// The seed documents' own paths are listed in the document (`x-aliases`) and each
/// serves exactly what it names: every parameterless GET under the prefix it serves
/// answers the same under the alias.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listed_alias_serves_what_it_names() {
    let s = TestServer::start().await;
    let ann = s.signup("ann@acme.test").await;
    let (_, api) = s
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    let aliases = api["x-aliases"].as_array().expect("x-aliases").clone();
    let prefixes: Vec<&str> = aliases
        .iter()
        .filter_map(|a| a["prefix"].as_str())
        .collect();
    assert_eq!(prefixes, ["/auth", "/v1/chat", "/v1/messaging"]);
    let described = api["info"]["description"].as_str().unwrap();
    let mut compared = 0;
    for alias in &aliases {
        let (prefix, serves) = (
            alias["prefix"].as_str().unwrap(),
            alias["serves"].as_str().unwrap(),
        );
        assert!(described.contains(&format!("`{prefix}/…`")), "{described}");
        for (path, ops) in api["paths"].as_object().unwrap() {
            let Some(rest) = path.strip_prefix(serves) else {
                continue;
            };
            if path.contains('{') || ops.get("get").is_none() {
                continue;
            }
            let canonical = s.get(path, &ann.access).await;
            let aliased = s.get(&format!("{prefix}{rest}"), &ann.access).await;
            assert_eq!(aliased, canonical, "GET {prefix}{rest} vs {path}");
            compared += 1;
        }
    }
    assert!(compared >= 3, "only {compared} operations compared");
    // Not an alias: a path the table does not name is no route.
    let (st, body) = s.get("/v1/meetings", &ann.access).await;
    assert_eq!(st, reqwest::StatusCode::NOT_FOUND, "{body}");
}
