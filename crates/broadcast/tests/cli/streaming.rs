//! Blobs above the streaming threshold (lowered here through the internal
//! `BROADCAST_STREAM_THRESHOLD_BYTES`, so small files take the large-file paths) give the same
//! bytes as the in-memory path, on both routes: written in place, and pushed (a `pre-receive`
//! hook is present); and whether the source's objects are loose (freshly committed: read from
//! their files) or packed (read through `cat-file`).

use std::path::{Path, PathBuf};

use super::Result;
use super::fixtures::{Sandbox, target, target_entry};

const BRANCH: &str = "chore/sync-files-g";
/// The threshold the streamed runs use.
const THRESHOLD: usize = 1000;
/// Chunk size of the streamed transform (blob_stream.rs): a match placed across it straddles
/// two chunks.
const CHUNK: usize = 64 * 1024;

/// Path, content of the source files.
fn files() -> Vec<(&'static str, Vec<u8>)> {
    // Binary, copied as is (a mapping without transform): NUL, CR, LF, every byte value.
    let binary: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
    // Binary under a transform: sniffed as binary, left alone although it holds a placeholder.
    let mut sniffed = vec![0u8; 3000];
    sniffed.extend_from_slice(b"{{NAME}}");
    // CRLF text with placeholders, several times the threshold.
    let crlf = b"name: {{NAME}}\r\nother: ${NAME}\r\nkeep: {{UNSET}}\r\n".repeat(100);
    // A placeholder straddling the first chunk boundary, on a long line.
    let mut straddle = vec![b'x'; CHUNK - 3];
    straddle.extend_from_slice(b"{{NAME}} tail\nnext {{NAME}}\n");
    // Exactly at the threshold (held in memory) and one byte over (streamed).
    let at_threshold = |extra: usize| {
        let mut v = b"v={{NAME}}\n".to_vec();
        v.resize(THRESHOLD + extra - 1, b'a');
        v.push(b'\n');
        v
    };
    vec![
        ("bin/blob.bin", binary),
        ("sniffed", sniffed),
        ("crlf.txt", crlf),
        ("straddle.txt", straddle),
        ("at.txt", at_threshold(0)),
        ("over.txt", at_threshold(1)),
    ]
}

const MAPPINGS: &str = "        transform: {variables: {NAME: svc}}\n        files:\n          - {src: sniffed, dest: sniffed}\n          - {src: crlf.txt, dest: crlf.txt}\n          - {src: straddle.txt, dest: straddle.txt}\n          - {src: at.txt, dest: at.txt}\n          - {src: over.txt, dest: over.txt}\n        directories:\n          - {src: bin, dest: bin, transform: {}}\n";

/// Syncs the source files into a fresh target (`hook`: with a `pre-receive` hook, so it is
/// pushed; `packed`: the source's objects packed, none loose) with `threshold` in force; returns
/// the sandbox, the target and the report.
fn run(
    threshold: usize,
    hook: bool,
    packed: bool,
) -> Result<(Sandbox, PathBuf, serde_json::Value)> {
    let sb = Sandbox::new();
    let files = files();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (*p, &c[..])).collect();
    let src = sb.work_repo("template", &refs);
    if packed {
        sb.git(&src, &["repack", "-a", "-d", "-q"]);
        sb.git(&src, &["prune-packed"]);
        let mut loose = 0;
        for dir in std::fs::read_dir(src.join(".git/objects"))? {
            let dir = dir?;
            if dir.file_name().len() == 2 {
                loose += std::fs::read_dir(dir.path())?.count();
            }
        }
        assert_eq!(loose, 0, "no loose object left in the source");
    }
    let a = sb.bare_repo("a", &[("keep.txt", b"k\n")]);
    if hook {
        use std::os::unix::fs::PermissionsExt;
        let path = a.join("hooks/pre-receive");
        std::fs::write(&path, "#!/bin/sh\ncat >/dev/null\n")?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    let cfg = sb.one_group_config(&src, &target_entry(&a, MAPPINGS));
    let out = sb
        .broadcast_command(&["sync", "--config", cfg.to_str().ok_or("utf8")?, "--json"])
        .env("BROADCAST_STREAM_THRESHOLD_BYTES", threshold.to_string())
        .output()?;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{e}: stderr={}", String::from_utf8_lossy(&out.stderr)))?;
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(target(&report, "a.git")["status"], "synced", "{report:#}");
    sb.git(&a, &["fsck", "--strict", "--no-progress"]);
    assert!(!a.join("objects/info/alternates").exists());
    Ok((sb, a, report))
}

fn blob(sb: &Sandbox, repo: &Path, path: &str) -> Vec<u8> {
    sb.show(repo, &format!("refs/heads/{BRANCH}:{path}"))
}

fn replaced(content: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(content)
        .replace("{{NAME}}", "svc")
        .replace("${NAME}", "svc")
        .into_bytes()
}

#[cfg(unix)]
#[test]
fn streamed_blobs_equal_the_in_memory_result_on_both_routes() -> Result {
    let files = files();
    for hook in [false, true] {
        let (sb_mem, mem, _) = run(usize::MAX, hook, false)?;
        for packed in [false, true] {
            let route = format!(
                "{}, {} source",
                if hook { "push" } else { "in place" },
                if packed { "packed" } else { "loose" }
            );
            let (sb, streamed, report) = run(THRESHOLD, hook, packed)?;
            for (path, content) in &files {
                let want = match *path {
                    "bin/blob.bin" | "sniffed" => content.clone(),
                    _ => replaced(content),
                };
                let got = blob(&sb, &streamed, path);
                assert!(
                    got == want,
                    "{route}: {path}: {} bytes, want {}",
                    got.len(),
                    want.len()
                );
                assert!(got == blob(&sb_mem, &mem, path), "{route}: {path} differs");
            }
            let row = target(&report, "a.git");
            assert!(
                row["warnings"]
                    .to_string()
                    .contains("crlf.txt: placeholder 'UNSET' has no value"),
                "{route}: {row:#}"
            );
            let size = |p: &str| {
                row["changes"]
                    .as_array()
                    .and_then(|c| c.iter().find(|c| c["path"] == p))
                    .map(|c| c["new_bytes"].clone())
            };
            assert_eq!(size("bin/blob.bin"), Some(5000.into()), "{route}: {row:#}");
        }
    }
    Ok(())
}
