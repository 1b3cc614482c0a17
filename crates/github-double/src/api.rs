//! The double's state and its REST routes.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::http::{Request, Response};
use crate::limits::Rolling;
use crate::{DoubleOptions, Stats};

#[derive(Debug, Clone)]
struct Pull {
    number: u64,
    open: bool,
    title: String,
    body: String,
    head: String,
    base: String,
    draft: bool,
    labels: Vec<String>,
    assignees: Vec<String>,
    reviewers: Vec<String>,
}

pub(crate) struct State {
    options: DoubleOptions,
    stats: Stats,
    /// Pull requests by `owner/name`.
    pulls: BTreeMap<String, Vec<Pull>>,
    primary_start: Instant,
    primary_used: u64,
    minute: Rolling,
    hour: Rolling,
    /// Origin of `Stats::first_write` / `last_write`.
    epoch: Instant,
}

impl State {
    pub(crate) fn new(options: DoubleOptions) -> State {
        let l = options.limits;
        State {
            stats: Stats::default(),
            pulls: BTreeMap::new(),
            primary_start: Instant::now(),
            primary_used: 0,
            minute: Rolling::new(l.per_minute, l.minute),
            hour: Rolling::new(l.per_hour, l.hour),
            epoch: Instant::now(),
            options,
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.peak_per_minute = self.minute.peak as u64;
        s.peak_per_hour = self.hour.peak as u64;
        s
    }

    pub(crate) fn reset_stats(&mut self) {
        self.stats = Stats::default();
        self.epoch = Instant::now();
        self.minute.peak = 0;
        self.hour.peak = 0;
    }

    pub(crate) fn pulls_by_head(&self) -> BTreeMap<(String, String), (u64, u64)> {
        let mut out: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
        for (repo, pulls) in &self.pulls {
            for p in pulls {
                let e = out.entry((repo.clone(), p.head.clone())).or_default();
                if p.open {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
        }
        out
    }

    /// `x-ratelimit-*` headers after rolling the primary window forward to `now`.
    fn rate_headers(&mut self, now: Instant) -> Vec<(String, String)> {
        let window = self.options.limits.primary_window;
        while now.duration_since(self.primary_start) >= window {
            self.primary_start += window;
            self.primary_used = 0;
        }
        let reset_in = (self.primary_start + window).saturating_duration_since(now);
        let reset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_add(reset_in)
            .as_secs()
            + 1;
        let limit = self.options.limits.primary;
        vec![
            ("x-ratelimit-limit".into(), limit.to_string()),
            (
                "x-ratelimit-remaining".into(),
                limit.saturating_sub(self.primary_used).to_string(),
            ),
            ("x-ratelimit-used".into(), self.primary_used.to_string()),
            ("x-ratelimit-reset".into(), reset.to_string()),
            ("x-ratelimit-resource".into(), "core".into()),
        ]
    }

    fn repo_exists(&self, repo: &str) -> bool {
        self.options
            .root
            .as_ref()
            .is_none_or(|root| root.join(format!("{repo}.git")).is_dir())
    }
}

fn json_response(status: u16, v: &Value) -> Response {
    Response {
        status,
        headers: Vec::new(),
        body: serde_json::to_vec(v).expect("json values serialize"),
    }
}

fn message(status: u16, text: &str) -> Response {
    json_response(
        status,
        &json!({"message": text, "documentation_url": "https://docs.github.com/rest", "status": status.to_string()}),
    )
}

/// Percent-decoding of a query component (`+` is a space, RFC 3986 / HTML forms).
fn decode(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
            (b'+', _, _) => out.push(b' '),
            (c, _, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// A strong validator of `body` (64-bit FNV-1a, quoted as RFC 9110 §8.8.3 asks).
fn etag(body: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in body {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}\"")
}

fn pull_json(repo: &str, login: &str, p: &Pull) -> Value {
    let owner = repo.split('/').next().unwrap_or(repo);
    json!({
        "url": format!("https://api.github.com/repos/{repo}/pulls/{}", p.number),
        "id": p.number,
        "html_url": format!("https://github.com/{repo}/pull/{}", p.number),
        "number": p.number,
        "state": if p.open { "open" } else { "closed" },
        "locked": false,
        "title": p.title,
        "body": p.body,
        "draft": p.draft,
        "user": {"login": login, "id": 1, "type": "User"},
        "labels": p.labels.iter().map(|l| json!({"id": 1, "name": l, "color": "ededed", "default": false})).collect::<Vec<_>>(),
        "assignees": p.assignees.iter().map(|a| json!({"login": a, "id": 2})).collect::<Vec<_>>(),
        "requested_reviewers": p.reviewers.iter().map(|r| json!({"login": r, "id": 3})).collect::<Vec<_>>(),
        "requested_teams": [],
        "head": {"label": format!("{owner}:{}", p.head), "ref": p.head, "sha": "0000000000000000000000000000000000000000"},
        "base": {"label": format!("{owner}:{}", p.base), "ref": p.base, "sha": "0000000000000000000000000000000000000000"},
    })
}

/// The route shape of `path` for [`Stats::by_route`] and dispatch.
fn route(path: &str) -> (String, Vec<&str>) {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let shape: Vec<&str> = segs
        .iter()
        .enumerate()
        .map(|(i, s)| match (i, segs.first()) {
            (1 | 2, Some(&"repos")) => "*",
            (4, Some(&"repos")) if s.parse::<u64>().is_ok() => "{n}",
            _ => s,
        })
        .collect();
    (format!("/{}", shape.join("/")), segs)
}

pub(crate) fn handle(state: &Mutex<State>, req: Request) -> Response {
    let now = Instant::now();
    let mut st = state.lock().expect("double state");
    let (path, q) = req.target.split_once('?').unwrap_or((&req.target, ""));
    let (shape, segs) = route(path);
    let method = req.method.to_ascii_uppercase();
    st.stats.requests += 1;
    *st.stats
        .by_route
        .entry(format!("{method} {shape}"))
        .or_default() += 1;
    let write = matches!(method.as_str(), "POST" | "PATCH" | "PUT" | "DELETE");
    if write {
        st.stats.writes += 1;
    }
    let authorised = req.header("authorization").is_some_and(|a| {
        let t = a
            .strip_prefix("Bearer ")
            .or_else(|| a.strip_prefix("token "))
            .unwrap_or("");
        t == st.options.token
    });
    let mut headers = st.rate_headers(now);
    if !authorised {
        st.stats.unauthorized += 1;
        let mut r = message(401, "Bad credentials");
        r.headers = headers;
        return r;
    }
    let free = method == "GET" && shape == "/rate_limit";
    // Primary limit: every authorised request but /rate_limit and 304s counts; when nothing is
    // left GitHub answers 403 with x-ratelimit-remaining: 0.
    if !free && st.primary_used >= st.options.limits.primary {
        st.stats.primary_limited += 1;
        st.stats.counted += 1;
        let mut r = message(403, "API rate limit exceeded for user.");
        r.headers = headers;
        return r;
    }
    if write {
        let wait = st.minute.wait(now).max(st.hour.wait(now));
        if !wait.is_zero() {
            st.stats.secondary_limited += 1;
            st.stats.counted += 1;
            st.primary_used += 1;
            let mut r = message(
                403,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            );
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            headers = st.rate_headers(now);
            headers.push(("retry-after".into(), secs.to_string()));
            r.headers = headers;
            return r;
        }
        st.minute.record(now);
        st.hour.record(now);
        st.stats.writes_admitted += 1;
        let at = now.duration_since(st.epoch);
        st.stats.first_write.get_or_insert(at);
        st.stats.last_write = Some(at);
    }
    let mut resp = dispatch(&mut st, &method, &shape, &segs, &query(q), &req.body);
    if method == "GET" && resp.status == 200 {
        let tag = etag(&resp.body);
        if req.header("if-none-match") == Some(tag.as_str()) {
            st.stats.not_modified += 1;
            resp = Response {
                status: 304,
                headers: Vec::new(),
                body: Vec::new(),
            };
        }
        resp.headers.push(("etag".into(), tag));
    }
    if resp.status != 304 && !free {
        st.primary_used += 1;
        st.stats.counted += 1;
    }
    let mut all = st.rate_headers(now);
    all.append(&mut resp.headers);
    resp.headers = all;
    resp
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn dispatch(
    st: &mut State,
    method: &str,
    shape: &str,
    segs: &[&str],
    q: &BTreeMap<String, String>,
    body: &[u8],
) -> Response {
    if shape.starts_with("/repos/") && !st.repo_exists(&format!("{}/{}", segs[1], segs[2])) {
        return message(404, "Not Found");
    }
    let input: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match (method, shape) {
        ("GET", "/rate_limit") => rate_limit(st),
        ("GET", "/user") => json_response(
            200,
            &json!({"login": st.options.login, "id": 1, "type": "User"}),
        ),
        ("GET", "/repos/*/*") => json_response(
            200,
            &json!({"id": 1, "name": segs[2], "full_name": format!("{}/{}", segs[1], segs[2]), "private": false, "default_branch": "main", "archived": false, "disabled": false}),
        ),
        ("GET", "/repos/*/*/pulls") => list_pulls(st, segs, q),
        ("POST", "/repos/*/*/pulls") => create_pull(st, segs, &input),
        ("PATCH", "/repos/*/*/pulls/{n}") => update_pull(st, segs, &input),
        ("POST", "/repos/*/*/issues/{n}/labels")
        | ("POST", "/repos/*/*/issues/{n}/assignees")
        | ("POST", "/repos/*/*/pulls/{n}/requested_reviewers") => add_to_pull(st, segs, &input),
        _ => message(404, "Not Found"),
    }
}

/// "Get rate limit status for the authenticated user": `resources.core` and `rate`.
fn rate_limit(st: &mut State) -> Response {
    let h = st.rate_headers(Instant::now());
    let get = |k: &str| {
        h.iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let core = json!({"limit": get("x-ratelimit-limit"), "remaining": get("x-ratelimit-remaining"), "used": get("x-ratelimit-used"), "reset": get("x-ratelimit-reset")});
    json_response(200, &json!({"resources": {"core": core}, "rate": core}))
}

/// "List pull requests" with the `head` (`owner:branch`) and `state` filters.
fn list_pulls(st: &State, segs: &[&str], q: &BTreeMap<String, String>) -> Response {
    let r = format!("{}/{}", segs[1], segs[2]);
    let owner = segs[1];
    let head = q.get("head").cloned();
    let state = q.get("state").map_or("open", String::as_str);
    let list: Vec<Value> = st
        .pulls
        .get(&r)
        .into_iter()
        .flatten()
        .filter(|p| match state {
            "open" => p.open,
            "closed" => !p.open,
            _ => true,
        })
        .filter(|p| {
            head.as_deref()
                .is_none_or(|h| h == format!("{owner}:{}", p.head))
        })
        .map(|p| pull_json(&r, &st.options.login, p))
        .collect();
    json_response(200, &Value::Array(list))
}

/// "Create a pull request": 201, or 422 when the head already has an open one.
fn create_pull(st: &mut State, segs: &[&str], input: &Value) -> Response {
    let r = format!("{}/{}", segs[1], segs[2]);
    let head = input["head"].as_str().unwrap_or("").to_owned();
    let login = st.options.login.clone();
    let pulls = st.pulls.entry(r.clone()).or_default();
    if pulls.iter().any(|p| p.open && p.head == head) {
        st.stats.duplicate_creates += 1;
        return json_response(
            422,
            &json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": format!("A pull request already exists for {}:{head}.", segs[1])}]}),
        );
    }
    let p = Pull {
        number: pulls.len() as u64 + 1,
        open: true,
        title: input["title"].as_str().unwrap_or("").to_owned(),
        body: input["body"].as_str().unwrap_or("").to_owned(),
        head,
        base: input["base"].as_str().unwrap_or("main").to_owned(),
        draft: input["draft"].as_bool().unwrap_or(false),
        labels: Vec::new(),
        assignees: Vec::new(),
        reviewers: Vec::new(),
    };
    let v = pull_json(&r, &login, &p);
    pulls.push(p);
    st.stats.pulls_created += 1;
    json_response(201, &v)
}

/// The pull request `segs[4]` of `segs[1]/segs[2]`, if it exists.
fn pull_mut<'a>(st: &'a mut State, segs: &[&str]) -> Option<&'a mut Pull> {
    let n = segs.get(4).and_then(|n| n.parse::<u64>().ok())?;
    st.pulls
        .get_mut(&format!("{}/{}", segs[1], segs[2]))?
        .iter_mut()
        .find(|p| p.number == n)
}

/// "Update a pull request": title, body, `state: closed`.
fn update_pull(st: &mut State, segs: &[&str], input: &Value) -> Response {
    let r = format!("{}/{}", segs[1], segs[2]);
    let login = st.options.login.clone();
    let Some(p) = pull_mut(st, segs) else {
        return message(404, "Not Found");
    };
    if let Some(t) = input["title"].as_str() {
        p.title = t.to_owned();
    }
    if let Some(b) = input["body"].as_str() {
        p.body = b.to_owned();
    }
    if input["state"] == "closed" {
        p.open = false;
    }
    json_response(200, &pull_json(&r, &login, p))
}

/// "Add labels to an issue" (200, the labels), "Add assignees to an issue" and "Request
/// reviewers for a pull request" (201, the pull request).
fn add_to_pull(st: &mut State, segs: &[&str], input: &Value) -> Response {
    let r = format!("{}/{}", segs[1], segs[2]);
    let login = st.options.login.clone();
    let Some(p) = pull_mut(st, segs) else {
        return message(404, "Not Found");
    };
    let (list, key) = match segs[5] {
        "labels" => (&mut p.labels, "labels"),
        "assignees" => (&mut p.assignees, "assignees"),
        _ => (&mut p.reviewers, "reviewers"),
    };
    for s in strings(input, key) {
        if !list.contains(&s) {
            list.push(s);
        }
    }
    if key != "labels" {
        return json_response(201, &pull_json(&r, &login, p));
    }
    let v: Vec<Value> = p
        .labels
        .iter()
        .map(|l| json!({"id": 1, "name": l, "color": "ededed", "default": false}))
        .collect();
    json_response(200, &Value::Array(v))
}

#[cfg(test)]
pub(crate) fn decode_for_tests(s: &str) -> String {
    decode(s)
}
