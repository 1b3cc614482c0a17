//! `--shard K/N` against GitHub: the pacing of one of N jobs sharing a token, as the binary
//! reports it (a dry run: no request is sent).

use httpmock::MockServer;

use crate::Result;
use crate::world::{World, unexpected};

#[test]
fn shards_pace_github_writes_by_their_count_unless_the_interval_is_given() -> Result {
    let w = World::new(&[("README.md", "# template\n")])?;
    w.target("acme", "gamma", &[("README.md", "# gamma\n")])?;
    let target =
        "      - repo: acme/gamma\n        files:\n          - {src: README.md, dest: README.md}\n";
    let k = broadcast::shard::shard_of("github:acme/gamma", 2);
    let spec = format!("{k}/2");
    let api = MockServer::start();
    let other = unexpected(&api);
    let stderr = |config: &std::path::Path, extra: &[&str]| -> Result<String> {
        let mut args = vec!["--dry-run", "--shard", spec.as_str()];
        args.extend_from_slice(extra);
        let out = w.run(config, &api, &args, &[])?;
        assert_eq!(out.status.code(), Some(0));
        Ok(String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let plain = w.config(target)?;
    let e = stderr(&plain, &[])?;
    assert!(
        e.contains(&format!(
            "shard {spec}: GitHub writes 2000 ms apart, at most 250 an hour"
        )),
        "{e}"
    );
    let e = stderr(&plain, &["--write-interval-ms", "300"])?;
    assert!(
        e.contains("GitHub writes 300 ms apart, at most 500 an hour (--write-interval-ms given"),
        "{e}"
    );
    let configured = w.config_with("rate_limit_preflight:\n  write_interval_ms: 400\n", target)?;
    let e = stderr(&configured, &[])?;
    assert!(e.contains("GitHub writes 800 ms apart"), "{e}");
    other.assert_calls(0);
    Ok(())
}
