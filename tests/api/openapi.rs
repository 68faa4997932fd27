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
