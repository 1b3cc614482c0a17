//! The double against a real HTTP client (ureq), as broadcast's forge talks to it.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;

const TOKEN: &str = "ghp_doubleTESTtoken";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
}

fn get(a: &ureq::Agent, url: &str, inm: Option<&str>) -> (u16, Option<String>, String) {
    let mut rb = a
        .get(url)
        .header("Authorization", format!("Bearer {TOKEN}"));
    if let Some(e) = inm {
        rb = rb.header("If-None-Match", e);
    }
    let mut r = rb.call().unwrap();
    let etag = r
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        r.status().as_u16(),
        etag,
        r.body_mut().read_to_string().unwrap_or_default(),
    )
}

fn post(a: &ureq::Agent, url: &str, body: Value) -> (u16, Option<String>, Value) {
    let mut r = a
        .post(url)
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send_json(body)
        .unwrap();
    let ra = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        r.status().as_u16(),
        ra,
        r.body_mut().read_json().unwrap_or(Value::Null),
    )
}

#[test]
fn pulls_etags_and_304s_that_do_not_count() {
    let d = GitHubDouble::start(DoubleOptions::new(TOKEN, 1.0)).unwrap();
    let a = agent();
    let base = d.base_url();
    let list =
        format!("{base}/repos/acme/a/pulls?head=acme%3Achore%2Fsync&state=open&per_page=100");
    let (s, e0, body) = get(&a, &list, None);
    assert_eq!((s, body.as_str()), (200, "[]"));
    let e0 = e0.unwrap();
    let (s, _, _) = get(&a, &list, Some(&e0));
    assert_eq!(s, 304);
    let (s, _, pr) = post(
        &a,
        &format!("{base}/repos/acme/a/pulls"),
        json!({"title": "t", "body": "b", "head": "chore/sync", "base": "main"}),
    );
    assert_eq!((s, pr["number"].as_u64()), (201, Some(1)));
    let (s, _, dup) = post(
        &a,
        &format!("{base}/repos/acme/a/pulls"),
        json!({"title": "t", "body": "b", "head": "chore/sync", "base": "main"}),
    );
    assert_eq!(s, 422, "{dup}");
    assert!(dup.to_string().contains("already exists"));
    let (s, _, labels) = post(
        &a,
        &format!("{base}/repos/acme/a/issues/1/labels"),
        json!({"labels": ["sync"]}),
    );
    assert_eq!((s, labels[0]["name"].as_str()), (200, Some("sync")));
    let (s, e1, body) = get(&a, &list, Some(&e0));
    assert_eq!(s, 200, "the list changed");
    assert_ne!(e1.as_deref(), Some(e0.as_str()));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v[0]["labels"][0]["name"], "sync");
    let (s, _, _) = get(&a, &format!("{base}/rate_limit"), None);
    assert_eq!(s, 200);
    let st = d.stats();
    assert_eq!(st.requests, 7);
    assert_eq!(st.not_modified, 1);
    // The 304 and /rate_limit are free: 7 - 2.
    assert_eq!(st.counted, 5);
    assert_eq!(
        (st.pulls_created, st.duplicate_creates, st.writes),
        (1, 1, 3)
    );
    assert_eq!(
        d.pulls_by_head()
            .get(&("acme/a".to_owned(), "chore/sync".to_owned())),
        Some(&(1, 0))
    );
    let mut r = a.get(format!("{base}/user")).call().unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(
        r.body_mut()
            .read_to_string()
            .unwrap()
            .contains("Bad credentials")
    );
}

#[test]
fn secondary_limit_answers_403_with_retry_after_and_primary_headers_count_down() {
    let mut o = DoubleOptions::new(TOKEN, 1.0);
    o.limits.per_minute = 2;
    o.limits.minute = Duration::from_secs(30);
    o.limits.primary = 3;
    let d = GitHubDouble::start(o).unwrap();
    let a = agent();
    let url = format!("{}/repos/acme/b/pulls", d.base_url());
    for head in ["x", "y"] {
        let (s, _, _) = post(
            &a,
            &url,
            json!({"title": "t", "body": "b", "head": head, "base": "main"}),
        );
        assert_eq!(s, 201);
    }
    let (s, retry, body) = post(
        &a,
        &url,
        json!({"title": "t", "body": "b", "head": "z", "base": "main"}),
    );
    assert_eq!(s, 403);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("secondary rate limit")
    );
    let secs: u64 = retry.unwrap().parse().unwrap();
    assert!((29..=30).contains(&secs), "{secs}");
    // Three counted so far (two creates, one rejected): the primary budget is spent.
    let mut r = a
        .get(format!("{}/repos/acme/b", d.base_url()))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(r.headers().get("x-ratelimit-remaining").unwrap(), "0");
    assert!(
        r.body_mut()
            .read_to_string()
            .unwrap()
            .contains("API rate limit exceeded")
    );
    let st = d.stats();
    assert_eq!(
        (st.secondary_limited, st.primary_limited, st.writes_admitted),
        (1, 1, 2)
    );
}

#[test]
fn repositories_exist_only_under_the_root_and_query_decoding() {
    let dir = std::env::temp_dir().join(format!("gh-double-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("acme/there.git")).unwrap();
    let mut o = DoubleOptions::new(TOKEN, 1.0);
    o.root = Some(dir.clone());
    let d = GitHubDouble::start(o).unwrap();
    let a = agent();
    let (s, _, body) = get(&a, &format!("{}/repos/acme/there", d.base_url()), None);
    assert_eq!(s, 200);
    assert!(body.contains("\"default_branch\":\"main\""));
    let (s, _, _) = get(&a, &format!("{}/repos/acme/gone", d.base_url()), None);
    assert_eq!(s, 404);
    std::fs::remove_dir_all(dir).unwrap();
    assert_eq!(api::decode_for_tests("a%3Ab%2Fc+d%zz%4"), "a:b/c d%zz%4");
}
