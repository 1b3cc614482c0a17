//! The sandbox of the end-to-end tests: a temp HOME, bare repositories served by git's
//! `git http-backend`, a local template, and the fake GitHub's request and response helpers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use httpmock::Method::{GET, POST};
use httpmock::{HttpMockRequest, Mock, MockServer};
use serde_json::{Value, json};

use crate::Result;
use crate::fixtures::{TOKEN, pull_json};
use crate::git_http::{GitServer, bare_repo, git_ok};

pub(crate) const GROUP: &str = "tmpl";
pub(crate) const BRANCH: &str = "chore/sync-files-tmpl";

/// One scenario's sandbox: a temp HOME, the served bare repositories and a local template.
pub(crate) struct World {
    pub(crate) tmp: tempfile::TempDir,
    pub(crate) home: PathBuf,
    pub(crate) root: PathBuf,
    pub(crate) git: GitServer,
    pub(crate) source: PathBuf,
}

impl World {
    pub(crate) fn new(source_files: &[(&str, &str)]) -> Result<World> {
        let tmp = tempfile::Builder::new()
            .prefix("broadcast-e2e-")
            .tempdir()?;
        let home = tmp.path().join("home");
        let root = tmp.path().join("srv");
        std::fs::create_dir_all(&home)?;
        std::fs::create_dir_all(&root)?;
        let git = GitServer::start(&root)?;
        let source = tmp.path().join("template");
        std::fs::create_dir_all(&source)?;
        git_ok(&home, &source, None, &["init", "-q", "-b", "main"])?;
        let w = World {
            tmp,
            home,
            root,
            git,
            source,
        };
        w.commit(&w.source, source_files, "template")?;
        Ok(w)
    }

    /// Writes `files` into the work tree `dir` and commits them on its current branch.
    pub(crate) fn commit(&self, dir: &Path, files: &[(&str, &str)], msg: &str) -> Result<String> {
        for (p, text) in files {
            let path = dir.join(p);
            std::fs::create_dir_all(path.parent().ok_or("parent")?)?;
            std::fs::write(path, text)?;
        }
        git_ok(&self.home, dir, None, &["add", "-A"])?;
        git_ok(&self.home, dir, None, &["commit", "-q", "-m", msg])?;
        Ok(git_ok(&self.home, dir, None, &["rev-parse", "HEAD"])?
            .trim()
            .to_owned())
    }

    /// A served repository `owner/name` whose `main` holds `files` (pushed on disk, not over HTTP).
    pub(crate) fn target(
        &self,
        owner: &str,
        name: &str,
        files: &[(&str, &str)],
    ) -> Result<PathBuf> {
        let bare = bare_repo(&self.home, &self.root, owner, name)?;
        let work = self.tmp.path().join(format!("work-{owner}-{name}"));
        std::fs::create_dir_all(&work)?;
        git_ok(&self.home, &work, None, &["init", "-q", "-b", "main"])?;
        self.commit(&work, files, "initial")?;
        let url = bare.to_str().ok_or("utf-8 path")?;
        git_ok(&self.home, &work, None, &["push", "-q", url, "main"])?;
        Ok(bare)
    }

    pub(crate) fn config(&self, targets: &str) -> Result<PathBuf> {
        self.config_with("", targets)
    }

    /// A config with `top` (top-level YAML lines) before the group.
    pub(crate) fn config_with(&self, top: &str, targets: &str) -> Result<PathBuf> {
        let yaml = format!(
            "version: 1\n{top}groups:\n  - name: Template\n    id: {GROUP}\n    source: {{repo: \"{}\", branch: main}}\n    targets:\n{targets}",
            self.source.display()
        );
        let path = self.tmp.path().join("sync.yaml");
        std::fs::write(&path, yaml)?;
        Ok(path)
    }

    /// `broadcast sync --config CONFIG --json EXTRA` with REST on `api` and git on the git
    /// server; returns the exit code and the JSON report.
    pub(crate) fn sync(
        &self,
        config: &Path,
        api: &MockServer,
        extra: &[&str],
    ) -> Result<(i32, Value)> {
        report_of(&self.run(config, api, extra, &[])?)
    }

    /// `broadcast sync --config CONFIG --json EXTRA` with the token in `GH_ENTERPRISE_TOKEN` (the
    /// servers are not github.com), then `env` (a `None` value removes the variable).
    pub(crate) fn run(
        &self,
        config: &Path,
        api: &MockServer,
        extra: &[&str],
        env: &[(&str, Option<&str>)],
    ) -> Result<std::process::Output> {
        self.run_command("sync", config, api, extra, env)
    }

    /// The message of a commit broadcast wrote for group `tmpl` (its trailers), with an all-zero
    /// source commit.
    pub(crate) fn own_commit_message() -> String {
        format!(
            "sync: update README.md from template\n\nBroadcast-Source: template\nBroadcast-Source-Commit: {}\nBroadcast-Group: {GROUP}\n",
            "0".repeat(40)
        )
    }

    /// On served repository `acme/{name}`: a colleague's commit on an older main, broadcast's
    /// commit on top of it (`README.md` set to `readme`, so the fetched tip alone looks like
    /// broadcast's) as the sync branch, and main moved on since. Returns the colleague's commit.
    pub(crate) fn colleague_under_own_commit(&self, name: &str, readme: &str) -> Result<String> {
        let bare = self.root.join("acme").join(format!("{name}.git"));
        let url = bare.to_str().ok_or("utf-8 path")?;
        let work = self.tmp.path().join(format!("work-acme-{name}"));
        git_ok(&self.home, &work, None, &["checkout", "-q", "-b", BRANCH])?;
        let theirs = self.commit(&work, &[("fix.txt", "fix\n")], "fix the lint config")?;
        std::fs::write(work.join("README.md"), readme)?;
        git_ok(&self.home, &work, None, &["add", "-A"])?;
        git_ok(
            &self.home,
            &work,
            None,
            &["commit", "-q", "-m", &Self::own_commit_message()],
        )?;
        git_ok(&self.home, &work, None, &["checkout", "-q", "main"])?;
        self.commit(&work, &[("other.txt", "moved on\n")], "main moves")?;
        git_ok(
            &self.home,
            &work,
            None,
            &["push", "-q", url, "main", BRANCH],
        )?;
        Ok(theirs)
    }

    /// [`World::run`] with another subcommand (`cancel`, `status`).
    pub(crate) fn run_command(
        &self,
        subcommand: &str,
        config: &Path,
        api: &MockServer,
        extra: &[&str],
        env: &[(&str, Option<&str>)],
    ) -> Result<std::process::Output> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_broadcast"));
        cmd.arg(subcommand)
            .arg("--config")
            .arg(config)
            .arg("--json")
            .args(["--github-api-url", &api.base_url()])
            .args(["--github-url", &self.git.base_url])
            .args(extra)
            .current_dir(self.tmp.path())
            .env("HOME", &self.home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_AUTHOR_NAME", "Sync Bot")
            .env("GIT_AUTHOR_EMAIL", "sync-bot@example.com")
            .env("GIT_COMMITTER_NAME", "Sync Bot")
            .env("GIT_COMMITTER_EMAIL", "sync-bot@example.com")
            .env("GH_ENTERPRISE_TOKEN", TOKEN);
        for var in [
            "GH_TOKEN",
            "GITHUB_TOKEN",
            "GITHUB_ENTERPRISE_TOKEN",
            "GH_HOST",
            "XDG_CACHE_HOME",
            "GITHUB_API_URL",
            "GITHUB_SERVER_URL",
            "GIT_CONFIG_GLOBAL",
            "GIT_CONFIG_COUNT",
            "GIT_CONFIG_PARAMETERS",
            "GIT_DIR",
            "RUST_LOG",
            "http_proxy",
            "https_proxy",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "all_proxy",
        ] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        Ok(cmd.output()?)
    }

    /// `refname -> oid` of every ref of a bare repository.
    pub(crate) fn refs(&self, bare: &Path) -> Result<BTreeMap<String, String>> {
        let out = git_ok(
            &self.home,
            bare,
            None,
            &["for-each-ref", "--format=%(refname) %(objectname)"],
        )?;
        Ok(out
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(r, o)| (r.to_owned(), o.to_owned()))
            .collect())
    }

    pub(crate) fn git(&self, bare: &Path, args: &[&str]) -> Result<String> {
        Ok(git_ok(&self.home, bare, None, args)?.trim().to_owned())
    }
}

/// The report entry of `repo`.
pub(crate) fn target_report<'a>(report: &'a Value, repo: &str) -> Result<&'a Value> {
    report["targets"]
        .as_array()
        .ok_or("report has no targets")?
        .iter()
        .find(|t| t["target"] == repo)
        .ok_or_else(|| format!("no report for {repo}: {report:#}").into())
}

/// Every file under `dir` with its bytes.
pub(crate) fn snapshot(dir: &Path) -> Result<BTreeMap<PathBuf, Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            if e.file_type()?.is_dir() {
                stack.push(e.path());
            } else {
                out.insert(e.path(), std::fs::read(e.path())?);
            }
        }
    }
    Ok(out)
}

/// A pull request as "List pull requests" and "Create a pull request" return it (the fields the
/// forge reads plus a few it ignores).
pub(crate) fn pull(repo: &str, number: u64, title: &str, body: &str, labels: &[&str]) -> Value {
    // The shared fixture describes `acme/api`; point its URLs and labels at `repo`.
    let owner = repo.split('/').next().unwrap_or(repo);
    let mut pr = pull_json(number, BRANCH, title, body, labels, &[]);
    pr["url"] = json!(format!(
        "https://api.github.com/repos/{repo}/pulls/{number}"
    ));
    pr["html_url"] = json!(format!("https://github.com/{repo}/pull/{number}"));
    pr["head"]["label"] = json!(format!("{owner}:{BRANCH}"));
    pr["base"]["label"] = json!(format!("{owner}:main"));
    pr
}

/// JSON bodies of the requests one mock matched, kept by an `is_true` matcher.
pub(crate) type Bodies = Arc<Mutex<Vec<Value>>>;

/// A matcher that always agrees and keeps the JSON body of `method path` requests (it may be
/// asked about other requests too, which it ignores).
pub(crate) fn keep_body(
    method: &'static str,
    path: String,
) -> (
    Bodies,
    impl Fn(&HttpMockRequest) -> bool + Send + Sync + 'static,
) {
    let bodies: Bodies = Arc::default();
    let kept = bodies.clone();
    let matcher = move |req: &HttpMockRequest| {
        if req.method_str() == method
            && req.uri().path() == path
            && let Ok(v) = serde_json::from_slice::<Value>(req.body_ref())
        {
            kept.lock().expect("test mutex").push(v);
        }
        true
    };
    (bodies, matcher)
}

pub(crate) fn last(bodies: &Bodies) -> Result<Value> {
    Ok(bodies
        .lock()
        .expect("test mutex")
        .last()
        .cloned()
        .ok_or("no request body kept")?)
}

/// Any write method (registered first, so it wins over later mocks).
pub(crate) fn any_write(api: &MockServer) -> Mock<'_> {
    api.mock(|when, then| {
        when.is_true(|req: &HttpMockRequest| {
            matches!(req.method_str(), "POST" | "PATCH" | "PUT" | "DELETE")
        });
        then.status(500)
            .json_body(json!({"message": "no write expected"}));
    })
}

/// Anything no other mock answered (registered last).
pub(crate) fn unexpected(api: &MockServer) -> Mock<'_> {
    api.mock(|when, then| {
        when.any_request();
        then.status(501)
            .json_body(json!({"message": "unexpected request"}));
    })
}

/// `GET /rate_limit` as documented ("Get rate limit status for the authenticated user").
pub(crate) fn rate_limit(api: &MockServer) -> Mock<'_> {
    api.mock(|when, then| {
        when.method(GET).path("/rate_limit");
        then.status(200).json_body(json!({
            "resources": {
                "core": {"limit": 5000, "used": 1, "remaining": 4999, "reset": 4_102_444_800_u64},
                "search": {"limit": 30, "used": 0, "remaining": 30, "reset": 4_102_444_800_u64}
            },
            "rate": {"limit": 5000, "used": 1, "remaining": 4999, "reset": 4_102_444_800_u64}
        }));
    })
}

/// `GET /repos/{owner}/{repo}` ("Get a repository"), trimmed.
pub(crate) fn repository<'a>(api: &'a MockServer, repo: &str) -> Mock<'a> {
    let name = repo.split('/').nth(1).unwrap_or(repo).to_owned();
    api.mock(|when, then| {
        when.method(GET).path(format!("/repos/{repo}"));
        then.status(200).json_body(json!({
            "id": 1296269,
            "name": name,
            "full_name": repo,
            "private": false,
            "default_branch": "main",
            "archived": false,
            "disabled": false
        }));
    })
}

/// `GET /repos/{owner}/{repo}/pulls?head={owner}:{BRANCH}&state=open` answering `pulls`.
pub(crate) fn list_pulls<'a>(api: &'a MockServer, repo: &str, pulls: Value) -> Mock<'a> {
    let owner = repo.split('/').next().unwrap_or(repo).to_owned();
    api.mock(|when, then| {
        when.method(GET)
            .path(format!("/repos/{repo}/pulls"))
            .query_param("head", format!("{owner}:{BRANCH}"))
            .query_param("state", "open");
        then.status(200).json_body(pulls);
    })
}

/// `POST /repos/{owner}/{repo}/issues/{n}/labels` ("Add labels to an issue") with exactly `labels`.
pub(crate) fn add_labels<'a>(
    api: &'a MockServer,
    repo: &str,
    number: u64,
    labels: &[&str],
) -> Mock<'a> {
    api.mock(|when, then| {
        when.method(POST)
            .path(format!("/repos/{repo}/issues/{number}/labels"))
            .json_body(json!({ "labels": labels }));
        then.status(200).json_body(
            labels
                .iter()
                .map(|l| json!({"id": 1, "name": l, "color": "ededed", "default": false}))
                .collect::<Vec<_>>(),
        );
    })
}

/// The exit code and JSON report of a `--json` run, after checking that stderr does not hold
/// the token.
pub(crate) fn report_of(out: &std::process::Output) -> Result<(i32, Value)> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(TOKEN), "token on stderr: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "{e}: stdout={} stderr={stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    })?;
    Ok((out.status.code().unwrap_or(-1), report))
}
