//! Shared fixtures: the test token, a fake clock, forge construction and REST JSON shapes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use broadcast::forge::github::{Clock, GitHubForge, GitHubOptions, Pacing, RetryPolicy, Token};
use httpmock::{Mock, MockServer};
use serde_json::{Value, json};

/// Looks like a classic personal access token so any leak is easy to spot.
pub(crate) const TOKEN: &str = "ghp_TESTtoken0123456789abcdefABCDEF0123";

/// Start of fake time: 2023-11-14T22:13:20Z.
pub(crate) const T0_EPOCH_SECS: u64 = 1_700_000_000;

/// A clock whose `sleep` only advances `now`, records the duration and runs a hook.
pub(crate) struct FakeClock {
    now: Mutex<SystemTime>,
    pub(crate) sleeps: Mutex<Vec<Duration>>,
    hook: Mutex<Option<Box<dyn Fn() + Send>>>,
}

impl FakeClock {
    pub(crate) fn new() -> Arc<FakeClock> {
        Arc::new(FakeClock {
            now: Mutex::new(UNIX_EPOCH + Duration::from_secs(T0_EPOCH_SECS)),
            sleeps: Mutex::new(Vec::new()),
            hook: Mutex::new(None),
        })
    }

    /// Runs `f` on every sleep (e.g. to make a failing mock stop matching).
    pub(crate) fn on_sleep(&self, f: impl Fn() + Send + 'static) {
        *self.hook.lock().expect("test mutex") = Some(Box::new(f));
    }

    pub(crate) fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().expect("test mutex").clone()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().expect("test mutex")
    }
    fn sleep(&self, duration: Duration) {
        *self.now.lock().expect("test mutex") += duration;
        self.sleeps.lock().expect("test mutex").push(duration);
        if let Some(h) = self.hook.lock().expect("test mutex").as_ref() {
            h();
        }
    }
}

/// A flag a sleep hook can set and a mock matcher can read.
pub(crate) fn flag() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

pub(crate) fn is_set(f: &AtomicBool) -> bool {
    f.load(Ordering::SeqCst)
}

pub(crate) fn set(f: &AtomicBool) {
    f.store(true, Ordering::SeqCst);
}

/// Options pointing both base URLs at `base` (the fake server), no pacing, fast fake clock.
pub(crate) fn options(base: &str, clock: Arc<FakeClock>) -> GitHubOptions {
    let mut o = GitHubOptions::new(Token::new(TOKEN));
    o.api_url = base.to_owned();
    o.web_url = base.to_owned();
    o.write_pacing = Pacing::unlimited();
    o.retry = RetryPolicy::default();
    o.timeout = Duration::from_secs(10);
    o.clock = clock;
    o
}

pub(crate) fn forge(base: &str, clock: Arc<FakeClock>) -> GitHubForge {
    GitHubForge::new(options(base, clock)).expect("valid test urls")
}

/// A pull request object as "List pull requests" / "Create a pull request" return it (trimmed to
/// the documented fields the forge reads plus a few it ignores).
pub(crate) fn pull_json(
    number: u64,
    head: &str,
    title: &str,
    body: &str,
    labels: &[&str],
    reviewers: &[&str],
) -> Value {
    json!({
        "url": format!("https://api.github.com/repos/acme/api/pulls/{number}"),
        "id": 1000 + number,
        "node_id": "PR_kwDOAAAB",
        "html_url": format!("https://github.com/acme/api/pull/{number}"),
        "number": number,
        "state": "open",
        "locked": false,
        "title": title,
        "body": body,
        "draft": false,
        "user": {"login": "sync-bot", "id": 7, "type": "User"},
        "labels": labels.iter().map(|l| json!({"id": 1, "name": l, "color": "ededed", "default": false})).collect::<Vec<_>>(),
        "assignees": [],
        "requested_reviewers": reviewers.iter().map(|r| json!({"login": r, "id": 9})).collect::<Vec<_>>(),
        "requested_teams": [],
        "head": {"label": format!("acme:{head}"), "ref": head, "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e"},
        "base": {"label": "acme:main", "ref": "main", "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e"},
        "created_at": "2011-01-26T19:01:12Z",
        "updated_at": "2011-01-26T19:01:12Z"
    })
}

/// Any request whose path mentions `repo` (registered first, so it wins over later mocks).
pub(crate) fn untouched<'a>(api: &'a MockServer, repo: &str) -> Mock<'a> {
    api.mock(|when, then| {
        when.path_includes(format!("/{repo}"));
        then.status(500)
            .json_body(json!({"message": format!("no request about {repo} expected")}));
    })
}
