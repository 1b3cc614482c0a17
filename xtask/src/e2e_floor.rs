//! Reference floors of the e2e scenarios: the least git work that gives each target the same
//! sync branch, one target after another (like the reference workflow).
//!
//! - `inplace-floor`: one `git fast-import` straight into the target's repository (its object
//!   store and its ref), the commit on top of `main` (first sync) or of the sync branch
//!   (update, only the changed files' blobs); a re-run is one `git rev-parse` of the branch.
//! - `blobless-floor`: `git clone --bare --filter=blob:none --depth 1`, the same fast-import in
//!   the clone, `git push --no-thin`; a re-run is the clone alone.
//!
//! Both write blobs from inline data (`M 100644 inline`, git-fast-import(1)), one pack
//! (`fastimport.unpackLimit=0`, as broadcast does).

use std::time::{Duration, Instant};

use anyhow::Context;
use xshell::{Shell, cmd};

use super::{BRANCH, Cell, Sample, file_content, file_path};

impl Cell {
    /// The fast-import stream of one run: every file (`first-sync`) on `main`, or every tenth
    /// at the current generation (`update`) on the sync branch.
    fn floor_stream(&self, run: &str) -> Vec<u8> {
        let generation = self.generation.get();
        let (from, files): (String, Vec<usize>) = if run == "first-sync" {
            ("refs/heads/main".to_owned(), (0..self.files).collect())
        } else {
            (
                format!("refs/heads/{BRANCH}^0"),
                (0..self.files).step_by(10).collect(),
            )
        };
        let msg = "chore: sync files\n";
        let mut s = format!(
            "commit refs/heads/{BRANCH}\ncommitter Bench <bench@example.com> 1704067200 +0000\ndata {}\n{msg}from {from}\n",
            msg.len()
        )
        .into_bytes();
        for i in files {
            let content = file_content(i, generation);
            s.extend_from_slice(
                format!(
                    "M 100644 inline {}\ndata {}\n",
                    file_path(i).display(),
                    content.len()
                )
                .as_bytes(),
            );
            s.extend_from_slice(content.as_bytes());
            s.push(b'\n');
        }
        s.extend_from_slice(b"\ndone\n");
        s
    }

    /// One floor mode (`inplace-floor` or `blobless-floor`) for `run`, every target in turn.
    pub(super) fn floor(&self, fx: &Shell, mode: &str, run: &str) -> anyhow::Result<Sample> {
        let stream = (run != "rerun").then(|| self.floor_stream(run));
        let work_root = self.dir.join("floor");
        let mut wall = Duration::ZERO;
        let mut git_spawns = 0;
        for (i, target) in self.targets.iter().enumerate() {
            let start = Instant::now();
            match (mode, &stream) {
                ("inplace-floor", None) => {
                    cmd!(
                        fx,
                        "git --git-dir={target} rev-parse --verify -q refs/heads/{BRANCH}"
                    )
                    .quiet()
                    .ignore_stdout()
                    .run()?;
                    git_spawns += 1;
                }
                ("inplace-floor", Some(s)) => {
                    cmd!(
                        fx,
                        "git -c fastimport.unpackLimit=0 --git-dir={target} fast-import --quiet"
                    )
                    .stdin(s)
                    .quiet()
                    .run()
                    .context("in-place floor: fast-import")?;
                    git_spawns += 1;
                }
                (_, stream) => {
                    let work = work_root.join(format!("w{i:02}"));
                    let url = format!("file://{}", target.display());
                    let branch = if run == "first-sync" { "main" } else { BRANCH };
                    cmd!(
                        fx,
                        "git clone -q --bare --filter=blob:none --depth 1 --branch {branch} {url} {work}"
                    )
                    .quiet()
                    .run()?;
                    git_spawns += 1;
                    if let Some(s) = stream {
                        cmd!(
                            fx,
                            "git -c fastimport.unpackLimit=0 --git-dir={work} fast-import --quiet"
                        )
                        .stdin(s)
                        .quiet()
                        .run()
                        .context("blob-less floor: fast-import")?;
                        cmd!(
                            fx,
                            "git --git-dir={work} push -q --no-thin --force {url} refs/heads/{BRANCH}"
                        )
                        .quiet()
                        .run()
                        .context("blob-less floor: push")?;
                        git_spawns += 2;
                    }
                    wall += start.elapsed();
                    std::fs::remove_dir_all(&work)?;
                    continue;
                }
            }
            wall += start.elapsed();
        }
        Ok(Sample {
            wall,
            git_spawns,
            peak_rss_bytes: None,
        })
    }
}
